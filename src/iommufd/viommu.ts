// SPDX-License-Identifier: GPL-2.0-only
/**
 * vIOMMUs and vDEVICEs (drivers/iommu/iommufd/viommu.c and the driver API
 * of include/linux/iommufd.h; v6.13 on, see features.ts for the versions).
 *
 * A vIOMMU is the user's view of one physical IOMMU instance for one VM:
 * it wraps a nest-parent paging HWPT (holding it) and the driver's state.
 * Nested HWPTs can be allocated on it (hw-pagetable.ts), its caches
 * invalidated through IOMMU_HWPT_INVALIDATE with its id, events reported on
 * its vEVENT queues (veventq.ts) and, from v6.17, HW queues given to it
 * (hw-queue.ts). A vDEVICE ties a bound device to the vIOMMU under the id the
 * VM knows it by (virt_id: the vSID or vRID), so the driver can translate
 * the VM's per-device invalidations and report events with the VM's id.
 *
 * Until v6.15 a vDEVICE holds the struct device (get_device()) and a device
 * can have one per vIOMMU; from v6.16 it points at the iommufd_device, a
 * device has at most one (-EEXIST), and unbinding the device tombstones it.
 */
import type { Allocation } from '../kernel/alloc.js';
import type { Device } from '../base/device.js';
import { get_device, put_device } from '../base/core.js';
import type { ErrPtr } from '../kernel/errno.js';
import { EEXIST, EINVAL, ENOENT, EOPNOTSUPP, IS_ERR, PTR_ERR } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuDomain } from '../iommu/domain.js';
import type { IommuDevice } from '../iommu/iommu-device.js';
import { dev_iommu_ops } from '../iommu/domain-alloc.js';
import type { IommuUserData, IommuUserDataArray } from '../iommu/user-data.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';
import type { IommufdDevice } from './device.js';
import { getDevice } from './device.js';
import { iommufdHas } from './features.js';
import type { HwptPaging } from './hw-pagetable.js';
import { getHwptPaging } from './hw-pagetable.js';
import type { IommufdHwQueue } from './hw-queue.js';
import type { IommufdVeventq } from './veventq.js';
import type { Handler } from './ucmd.js';
import { n32, n64 } from './ucmd.js';
import { userDataAt } from './user-arg.js';
import { ULONG_MAX } from './io-pagetable.js';

/** IOMMU_VIOMMU_TYPE_DEFAULT: no driver has a vIOMMU of it. */
export const IOMMU_VIOMMU_TYPE_DEFAULT = 0;

/** struct iommufd_viommu_ops: what a driver's vIOMMU does. */
export interface IommufdViommuOps {
  /** destroy(): the driver's part of iommufd_viommu_destroy(). */
  destroy?(k: Kernel, viommu: IommufdViommu): void;
  /** alloc_domain_nested(): a nested domain on the vIOMMU (IOMMU_HWPT_ALLOC with a vIOMMU id). */
  alloc_domain_nested?(
    k: Kernel,
    viommu: IommufdViommu,
    flags: number,
    data: IommuUserData,
  ): IommuDomain | ErrPtr;
  /** cache_invalidate(): the VM's invalidation requests, per vDEVICE; entryNum comes back as those handled. */
  cache_invalidate?(k: Kernel, viommu: IommufdViommu, array: IommuUserDataArray): number;
  /** get_hw_queue_size(): 0 for a queue type the driver does not have (v6.17). */
  get_hw_queue_size?(viommu: IommufdViommu, type: number): number;
  /** hw_queue_init_phys(): the driver takes a queue whose memory starts at physical basePa (v6.17). */
  hw_queue_init_phys?(k: Kernel, q: IommufdHwQueue, index: number, basePa: number): number;
}

/** struct iommufd_viommu */
export interface IommufdViommu extends IommufdObject {
  readonly type: 'VIOMMU';
  readonly ictx: IommufdCtx;
  /** The nest-parent paging HWPT (held). */
  readonly hwpt: HwptPaging;
  /** The physical instance behind it. */
  readonly iommuDev: IommuDevice;
  /** The driver's type (IOMMU_VIOMMU_TYPE_*). */
  readonly viommuType: number;
  /** vdevs: the vDEVICEs by virt_id. */
  readonly vdevs: Map<bigint, IommufdVdevice>;
  /** veventqs: one per event type. */
  readonly veventqs: IommufdVeventq[];
  /** Set by the driver's init. */
  ops: IommufdViommuOps | null;
  /** The driver's own part of the object (struct mock_viommu and friends). */
  driverData: unknown;
}

/** struct iommufd_vdevice */
export interface IommufdVdevice extends IommufdObject {
  readonly type: 'VDEVICE';
  readonly viommu: IommufdViommu;
  /** The device (v6.13-v6.15: a get_device() reference; later reached through idev). */
  readonly dev: Device;
  /** The iommufd_device (v6.16 on), or null. */
  readonly idev: IommufdDevice | null;
  readonly virtId: bigint;
}

/** iommufd_get_viommu() */
export function getViommu(ctx: IommufdCtx, id: number): IommufdViommu | number {
  return ctx.get(id, 'VIOMMU') as IommufdViommu | number;
}

/** __iommu_get_iommu_dev(): the instance that probed the device. */
export function iommuDevOf(dev: Device): IommuDevice | null {
  return dev.iommu?.iommu_dev ?? null;
}

/** iommufd_viommu_find_dev(): the device behind a virt_id of the vIOMMU, or null. */
export function iommufd_viommu_find_dev(viommu: IommufdViommu, virtId: bigint): Device | null {
  return viommu.vdevs.get(virtId)?.dev ?? null;
}

/** iommufd_viommu_get_vdev_id(): the virt_id the device has on the vIOMMU, or -ENOENT. */
export function iommufd_viommu_get_vdev_id(viommu: IommufdViommu, dev: Device): bigint | number {
  for (const v of viommu.vdevs.values()) if (v.dev === dev) return v.virtId;
  return -ENOENT;
}

/** iommufd_viommu_destroy(): the driver's part, then the parent HWPT's hold. */
function viommuDestroy(k: Kernel, viommu: IommufdViommu): void {
  viommu.ops?.destroy?.(k, viommu);
  viommu.hwpt.users--;
  viommu.vdevs.clear();
}

/** iommufd_vdevice_destroy() / _abort(): out of the vIOMMU's table, the holds dropped. */
function vdeviceDestroy(k: Kernel, vdev: IommufdVdevice): void {
  const viommu = vdev.viommu;
  if (viommu.vdevs.get(vdev.virtId) === vdev) viommu.vdevs.delete(vdev.virtId);
  viommu.users--;
  if (vdev.idev) {
    if (vdev.idev.vdev === vdev) vdev.idev.vdev = null;
  } else {
    put_device(k, vdev.dev);
  }
}

/**
 * iommufd_device_remove_vdev() (v6.16 on, iommufd_device_pre_destroy()):
 * the device is going; its vDEVICE is destroyed with its id tombstoned, so
 * the VMM's later IOMMU_DESTROY of it is -ENOENT instead of a stale object.
 */
export function iommufdDeviceRemoveVdev(idev: IommufdDevice): void {
  idev.destroying = true;
  const vdev = idev.vdev;
  if (!vdev) return;
  const ctx = idev.igroup.ictx;
  const rc = ctx.remove(vdev.id, null, true);
  ctx.k.printk.warn(rc !== 0, 'iommufd_object_tombstone_user', 'WARN_ON(ret): the vDEVICE is still in use');
}

/** iommufd_viommu_alloc_ioctl() */
function viommuAlloc(u: Parameters<Handler>[0]): number {
  const c = u.cmd;
  const ctx = u.ctx;
  const k = ctx.k;
  const type = n32(c.type);
  // From v6.16 the driver sizes the vIOMMU first; before, viommu_alloc() refused the type after the HWPT checks.
  const sized = iommufdHas(k, 'hwQueue');
  if (c.flags || type === IOMMU_VIOMMU_TYPE_DEFAULT) return -EOPNOTSUPP;
  const idev = getDevice(ctx, n32(c.dev_id));
  if (typeof idev === 'number') return idev;
  const ops = dev_iommu_ops(idev.dev);
  if (!ops.get_viommu_size || !ops.viommu_init) return -EOPNOTSUPP;
  if (sized && !ops.get_viommu_size(idev.dev, type)) return -EOPNOTSUPP;
  const hwpt = getHwptPaging(ctx, n32(c.hwpt_id));
  if (typeof hwpt === 'number') return hwpt;
  if (!hwpt.nestParent) return -EINVAL;
  if (!sized && !ops.get_viommu_size(idev.dev, type)) return -EOPNOTSUPP;
  const iommuDev = iommuDevOf(idev.dev)!;
  const viommu = ctx.allocObject((id, mem: Allocation): IommufdViommu => {
    const v: IommufdViommu = {
      id,
      type: 'VIOMMU',
      users: 1,
      mem,
      ictx: ctx,
      hwpt,
      iommuDev,
      viommuType: type,
      vdevs: new Map(),
      veventqs: [],
      ops: null,
      driverData: null,
      destroy: () => viommuDestroy(k, v),
    };
    return v;
  }, 'viommu');
  if (typeof viommu === 'number') return viommu;
  hwpt.users++;
  const dataLen = sized ? n32(c.data_len) : 0;
  const data = dataLen ? userDataAt(ctx.proc, type, n64(c.data_uptr), dataLen) : null;
  let rc = ops.viommu_init(k, viommu, hwpt.domain!, data);
  if (!rc && k.printk.warn(!viommu.ops, 'iommufd_viommu_alloc_ioctl', 'WARN_ON_ONCE(!viommu->ops)'))
    rc = -EOPNOTSUPP;
  if (!rc) {
    c.out_viommu_id = viommu.id;
    rc = u.respond();
  }
  if (rc) {
    ctx.abortAndDestroy(viommu);
    return rc;
  }
  ctx.finalize(viommu);
  return 0;
}

/** iommufd_vdevice_alloc_ioctl() */
function vdeviceAlloc(u: Parameters<Handler>[0]): number {
  const c = u.cmd;
  const ctx = u.ctx;
  const k = ctx.k;
  const virtId = n64(c.virt_id);
  if (virtId > ULONG_MAX) return -EINVAL; // it indexes an xarray
  const viommu = getViommu(ctx, n32(c.viommu_id));
  if (typeof viommu === 'number') return viommu;
  const idev = getDevice(ctx, n32(c.dev_id));
  if (typeof idev === 'number') return idev;
  if (viommu.iommuDev !== iommuDevOf(idev.dev)) return -EINVAL;
  const perIdev = iommufdHas(k, 'hwQueue');
  if (perIdev) {
    if (idev.destroying) return -ENOENT;
    if (idev.vdev) return -EEXIST;
  }
  const vdev = ctx.allocObject((id, mem: Allocation): IommufdVdevice => {
    const v: IommufdVdevice = {
      id,
      type: 'VDEVICE',
      users: 1,
      mem,
      viommu,
      dev: perIdev ? idev.dev : get_device(idev.dev),
      idev: perIdev ? idev : null,
      virtId,
      destroy: () => vdeviceDestroy(k, v),
    };
    return v;
  }, 'vdevice');
  if (typeof vdev === 'number') return vdev;
  viommu.users++;
  if (perIdev) idev.vdev = vdev;
  let rc = 0;
  if (viommu.vdevs.has(virtId))
    rc = -EEXIST; // xa_cmpxchg() found one
  else viommu.vdevs.set(virtId, vdev);
  if (!rc) {
    c.out_vdevice_id = vdev.id;
    rc = u.respond();
  }
  if (rc) {
    ctx.abortAndDestroy(vdev);
    return rc;
  }
  ctx.finalize(vdev);
  return 0;
}

export const viommuHandlers: Readonly<Record<string, Handler>> = {
  IOMMU_VIOMMU_ALLOC: viommuAlloc,
  IOMMU_VDEVICE_ALLOC: vdeviceAlloc,
};

/** A driver's nested domain on the vIOMMU, as hw-pagetable.ts asks for it (iommufd_viommu_alloc_hwpt_nested()). */
export function viommuAllocDomainNested(
  k: Kernel,
  viommu: IommufdViommu,
  flags: number,
  data: IommuUserData,
): IommuDomain | number {
  if (!viommu.ops?.alloc_domain_nested) return -EOPNOTSUPP;
  const d = viommu.ops.alloc_domain_nested(k, viommu, flags, data);
  return IS_ERR(d) ? PTR_ERR(d) : d;
}
