// SPDX-License-Identifier: GPL-2.0-only
/**
 * The VFIO device character device with iommufd (drivers/vfio/device_cdev.c
 * and iommufd.c, 6.12): open /dev/vfio/devices/vfioN of a device bound to a
 * VFIO driver, VFIO_DEVICE_BIND_IOMMUFD (iommufd_device_bind(): the device's
 * whole group is claimed for the iommufd, so any other member still driven
 * by a kernel driver makes it fail), VFIO_DEVICE_ATTACH_IOMMUFD_PT (attach,
 * or replace when attached), VFIO_DEVICE_DETACH_IOMMUFD_PT, and close,
 * which detaches and unbinds. The VFIO ioctls are typed calls here, not
 * struct bytes: their argument checks (argsz, flags) are the caller's.
 */
import type { Device } from '../base/device.js';
import { EINVAL, ENODEV } from '../kernel/errno.js';
import type { ModelFile, UserProcess } from '../mm/user-mm.js';
import type { IommufdCtx } from '../iommufd/ctx.js';
import type { IommufdDevice } from '../iommufd/device.js';
import { iommufdDeviceBind, iommufdDeviceUnbind } from '../iommufd/device.js';
import { iommufdDeviceAttach, iommufdDeviceDetach, iommufdDeviceReplace } from '../iommufd/device-attach.js';
import type { IommufdFile } from '../iommufd/main.js';

/** struct vfio_device_file with the iommufd state of its vfio_device. */
export class VfioDeviceFile implements ModelFile {
  readonly name: string;
  /** df->iommufd: the context bound through this file (holding a file reference). */
  ictx: IommufdCtx | null = null;
  /** vdev->iommufd_device */
  idev: IommufdDevice | null = null;
  /** vdev->iommufd_attached */
  attached = false;

  constructor(readonly dev: Device) {
    this.name = `/dev/vfio/devices/${dev.name}`;
  }

  /** vfio_df_close() + vfio_iommufd_physical_unbind(): detach, unbind, drop the context. */
  release(): void {
    const ctx = this.ictx;
    if (!ctx || !this.idev) return;
    if (this.attached) iommufdDeviceDetach(this.idev);
    this.attached = false;
    iommufdDeviceUnbind(this.idev);
    this.idev = null;
    this.ictx = null;
    ctx.filePut();
    ctx.flushRelease();
  }
}

/** open("/dev/vfio/devices/vfioN"): only a device a VFIO driver (vfio-pci) drives has one (-ENODEV). */
export function vfioDeviceOpen(proc: UserProcess, dev: Device): number {
  if (!dev.driver?.driver_managed_dma) return -ENODEV;
  return proc.installFd(new VfioDeviceFile(dev));
}

function deviceFile(proc: UserProcess, fd: number): VfioDeviceFile | number {
  const f = proc.fget(fd);
  return f instanceof VfioDeviceFile ? f : -EINVAL;
}

/**
 * VFIO_DEVICE_BIND_IOMMUFD: bind the device to the iommufd (once: -EINVAL
 * again); the iommufd's DEVICE id, or an errno from iommufd_device_bind()
 * (-EINVAL without an IOMMU, -EPERM without MSI isolation or when another
 * owner or a kernel driver uses the group).
 */
export function vfioDeviceBindIommufd(
  proc: UserProcess,
  fd: number,
  iommufd: IommufdFile,
  allowUnsafeInterrupts = false,
): { errno: number; devId: number } {
  const df = deviceFile(proc, fd);
  if (typeof df === 'number') return { errno: df, devId: 0 };
  if (df.ictx) return { errno: -EINVAL, devId: 0 };
  const ctx = iommufd.ctx;
  if (ctx.isReleased) return { errno: -EINVAL, devId: 0 };
  ctx.fileGet(); // iommufd_ctx_from_fd()
  const idev = iommufdDeviceBind(ctx, df.dev, allowUnsafeInterrupts);
  if (typeof idev === 'number') {
    ctx.filePut();
    return { errno: idev, devId: 0 };
  }
  df.ictx = ctx;
  df.idev = idev;
  return { errno: 0, devId: idev.id };
}

/** VFIO_DEVICE_ATTACH_IOMMUFD_PT (vfio_iommufd_physical_attach_ioas()): attach, or replace if attached; the HWPT id. */
export function vfioDeviceAttachPt(
  proc: UserProcess,
  fd: number,
  ptId: number,
): { errno: number; ptId: number } {
  const df = deviceFile(proc, fd);
  if (typeof df === 'number') return { errno: df, ptId };
  if (!df.idev) return { errno: -EINVAL, ptId };
  const out = { ptId };
  const rc = df.attached ? iommufdDeviceReplace(df.idev, out) : iommufdDeviceAttach(df.idev, out);
  if (rc) return { errno: rc, ptId };
  df.attached = true;
  return { errno: 0, ptId: out.ptId };
}

/** VFIO_DEVICE_DETACH_IOMMUFD_PT (vfio_iommufd_physical_detach_ioas()): back to blocked DMA. */
export function vfioDeviceDetachPt(proc: UserProcess, fd: number): number {
  const df = deviceFile(proc, fd);
  if (typeof df === 'number') return df;
  if (!df.idev) return -EINVAL;
  if (df.attached) iommufdDeviceDetach(df.idev);
  df.attached = false;
  return 0;
}
