// SPDX-License-Identifier: GPL-2.0-only
/**
 * Devices in an iommufd context (drivers/iommu/iommufd/device.c): bind and
 * unbind through the real IOMMU core, and the per-group state.
 *
 * Binding claims DMA ownership of the device's iommu_group for the context
 * (the group moves to its blocking domain) and makes a DEVICE object the
 * binding driver holds (so IOMMU_DESTROY of it is -EBUSY). iommufd keeps
 * one `iommufd_group` per iommu_group per context, with the group's
 * attachments per PASID; attach, replace and detach are device-attach.ts.
 */
import type { Allocation } from '../kernel/alloc.js';
import type { Device } from '../base/device.js';
import type { IommuGroup } from '../iommu/group.js';
import { iommu_group_get, iommu_group_put } from '../iommu/group.js';
import { EINVAL, ENOMEM, ENODEV, EPERM } from '../kernel/errno.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../iommu/ownership.js';
import { iommufd_selftest_is_mock_dev } from '../drivers/iommufd-selftest/mock-dev.js';
import { device_iommu_capable, iommu_group_has_isolated_msi } from './device-bind.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';
import type { IommufdHwpt } from './hw-pagetable.js';
import { iommufdHas } from './features.js';
import type { IommufdVdevice } from './viommu.js';
import { iommufdDeviceRemoveVdev } from './viommu.js';

export { device_iommu_capable };

/** struct iommufd_group */
export interface IommufdGroup {
  /** kref */
  ref: number;
  readonly group: IommuGroup;
  readonly ictx: IommufdCtx;
  /** pasid_attach: the group's attachment per PASID (IOMMU_NO_PASID: the RID), device-attach.ts. */
  readonly attach: Map<number, IommufdAttach>;
  /** The software MSI window's start (IOMMU_RESV_SW_MSI), or null (PHYS_ADDR_MAX). */
  readonly swMsi: { start: bigint | null };
  readonly mem: Allocation;
}

/** struct iommufd_attach: one PASID's attachment of the group. */
export interface IommufdAttach {
  /** The HWPT, once the first device attached it. */
  hwpt: IommufdHwpt | null;
  /** device_array: the devices attached, in attach order. */
  readonly devices: IommufdDevice[];
  /** The iommufd_attach_handle the core holds with the domain (a kzalloc per attach). */
  handle: IommufdAttachHandle | null;
  /** Its kzalloc (v6.15 on; 6.12 kept one attachment inside the igroup): null before. */
  readonly mem: Allocation | null;
}

/** struct iommufd_attach_handle: stored with the group's domain; page faults find the device through it. */
export interface IommufdAttachHandle {
  readonly idev: IommufdDevice;
  readonly mem: Allocation;
}

/** struct iommufd_device */
export interface IommufdDevice extends IommufdObject {
  readonly type: 'DEVICE';
  readonly dev: Device;
  readonly igroup: IommufdGroup;
  /** IOMMU_CAP_ENFORCE_CACHE_COHERENCY: HWPTs allocated for it must snoop. */
  readonly enforceCacheCoherency: boolean;
  /** Attachments to fault-capable HWPTs that turned IOPF on (idev->iopf_enabled). */
  iopfEnabled: number;
  /** Its vDEVICE (v6.16 on: one per device), or null. */
  vdev: IommufdVdevice | null;
  /** Unbinding has begun: no new vDEVICE (v6.16 on). */
  destroying: boolean;
}

/** iommufd_get_device() */
export function getDevice(ctx: IommufdCtx, id: number): IommufdDevice | number {
  return ctx.get(id, 'DEVICE') as IommufdDevice | number;
}

/** iommufd_get_group(): the context's igroup for the device's group, made on first use. */
function iommufdGetGroup(ctx: IommufdCtx, dev: Device): IommufdGroup | number {
  const group = iommu_group_get(dev);
  if (!group) return -ENODEV;
  const cur = ctx.groups.get(group.id);
  if (cur && cur.ref > 0) {
    cur.ref++;
    iommu_group_put(ctx.k, group);
    return cur;
  }
  const mem = ctx.k.alloc.alloc('iommufd_group', 'iommufd', 'iommufd_get_group');
  if (!mem) {
    iommu_group_put(ctx.k, group);
    return -ENOMEM;
  }
  // The group reference moves into the igroup.
  const igroup: IommufdGroup = {
    ref: 1,
    group,
    ictx: ctx,
    attach: new Map(),
    swMsi: { start: null },
    mem,
  };
  ctx.groups.set(group.id, igroup);
  return igroup;
}

/** iommufd_put_group(): the last reference releases it (iommufd_group_release()). */
function iommufdPutGroup(igroup: IommufdGroup): void {
  const k = igroup.ictx.k;
  if (--igroup.ref > 0) return;
  k.printk.warn(igroup.attach.size > 0, 'iommufd_group_release', 'WARN_ON(!xa_empty(&igroup->pasid_attach))');
  const groups = igroup.ictx.groups;
  if (groups.get(igroup.group.id) === igroup) groups.delete(igroup.group.id);
  iommu_group_put(k, igroup.group);
  k.alloc.free(igroup.mem, 'iommufd_group_release');
}

/**
 * iommufd_device_bind(): the capability check (-EINVAL), the igroup
 * (-ENODEV without a group), MSI isolation unless it is a mock device
 * (-EPERM, or a warning with allow_unsafe_interrupts), the DMA-ownership
 * claim, then the DEVICE object, finalized, with the driver's reference.
 */
export function iommufdDeviceBind(
  ctx: IommufdCtx,
  dev: Device,
  allowUnsafeInterrupts = false,
): IommufdDevice | number {
  const k = ctx.k;
  if (!device_iommu_capable(k, dev, 'CACHE_COHERENCY')) return -EINVAL;
  const igroup = iommufdGetGroup(ctx, dev);
  if (typeof igroup === 'number') return igroup;
  if (!iommufd_selftest_is_mock_dev(dev) && !iommu_group_has_isolated_msi(igroup.group)) {
    if (!allowUnsafeInterrupts) {
      iommufdPutGroup(igroup);
      return -EPERM;
    }
    k.printk.log(
      'warn',
      dev.name,
      'MSI interrupts are not secure, they cannot be isolated by the platform. Check that platform features like interrupt remapping are enabled. Use the "allow_unsafe_interrupts" module parameter to override',
    );
  }
  let rc = iommu_device_claim_dma_owner(k, dev, ctx);
  if (rc) {
    iommufdPutGroup(igroup);
    return rc;
  }
  const idev = ctx.allocObject((id, mem): IommufdDevice => {
    const d: IommufdDevice = {
      id,
      type: 'DEVICE',
      users: 1,
      mem,
      dev,
      igroup,
      enforceCacheCoherency: device_iommu_capable(k, dev, 'ENFORCE_CACHE_COHERENCY'),
      iopfEnabled: 0,
      vdev: null,
      destroying: false,
      // iommufd_device_destroy()
      destroy: () => {
        iommu_device_release_dma_owner(k, dev);
        iommufdPutGroup(igroup);
        if (!iommufd_selftest_is_mock_dev(dev)) ctx.filePut();
      },
    };
    return d;
  }, 'device');
  if (typeof idev === 'number') {
    rc = idev;
    iommu_device_release_dma_owner(k, dev);
    iommufdPutGroup(igroup);
    return rc;
  }
  // A real device's driver (VFIO) holds the context; the selftest's mock devices must not, or
  // closing /dev/iommu would never destroy them.
  if (!iommufd_selftest_is_mock_dev(dev)) ctx.fileGet();
  idev.users++; // the binding driver is a user until iommufd_device_unbind()
  ctx.finalize(idev);
  return idev;
}

/**
 * iommufd_device_unbind(): iommufd_object_destroy_user(); from v6.16 its
 * pre_destroy first tombstones the device's vDEVICE.
 */
export function iommufdDeviceUnbind(idev: IommufdDevice): void {
  const ctx = idev.igroup.ictx;
  if (iommufdHas(ctx.k, 'hwQueue')) iommufdDeviceRemoveVdev(idev);
  const rc = ctx.remove(idev.id, idev);
  ctx.k.printk.warn(rc !== 0, 'iommufd_object_destroy_user', 'WARN_ON(ret): the device is still in use');
}
