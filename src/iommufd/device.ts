// SPDX-License-Identifier: GPL-2.0-only
/**
 * Devices in an iommufd context (drivers/iommu/iommufd/device.c, 6.12):
 * bind, attach, replace, detach, unbind, through the real IOMMU core.
 *
 * Binding claims DMA ownership of the device's iommu_group for the context
 * (the group moves to its blocking domain) and makes a DEVICE object the
 * binding driver holds (so IOMMU_DESTROY of it is -EBUSY). iommufd keeps
 * one `iommufd_group` per iommu_group per context: the devices of a group
 * share one attachment, the group's HWPT. Each device is attached on its
 * own (its reserved regions join the IOAS then), but only the first one
 * moves the group's domain and only the last detach moves it back.
 *
 * Attaching to an IOAS picks an automatic HWPT: the IOAS's automatic ones
 * in order (-EINVAL from the driver means "incompatible, try the next"),
 * else a new one, attached at once. Replacing moves the whole group to
 * another HWPT without passing through the blocking domain; the old HWPT,
 * if automatic and now unused, is destroyed.
 *
 * Not modelled: PASID attach and iommufd_should_fail()'s injected -EINVAL.
 */
import type { Allocation } from '../kernel/alloc.js';
import type { Device } from '../base/device.js';
import type { IommuGroup } from '../iommu/group.js';
import { iommu_group_get, iommu_group_put } from '../iommu/group.js';
import { EINVAL, ENODEV, ENOMEM, EPERM } from '../kernel/errno.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../iommu/ownership.js';
import {
  iommu_attach_group_handle,
  iommu_detach_group_handle,
  iommu_replace_group_handle,
} from '../iommu/attach.js';
import { iommu_get_msi_cookie } from '../dma/cookie.js';
import { iommufd_selftest_is_mock_dev } from '../drivers/iommufd-selftest/mock-dev.js';
import { device_iommu_capable, iommu_group_has_isolated_msi } from './device-bind.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';
import type { IommufdHwpt, HwptPaging } from './hw-pagetable.js';
import { findHwptPaging, hwptPagingAlloc, hwptPut } from './hw-pagetable.js';
import { iommufdAutoResponseFaults, iommufdFaultIopfDisable, iommufdFaultIopfEnable } from './fault.js';
import type { IommufdIoas } from './ioas.js';
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
  /** The HWPT the group is attached to, or null. */
  hwpt: IommufdHwpt | null;
  /** device_list: the attached devices, in attach order. */
  readonly devices: IommufdDevice[];
  /** The software MSI window's start (IOMMU_RESV_SW_MSI), or null (PHYS_ADDR_MAX). */
  readonly swMsi: { start: bigint | null };
  /** The iommufd_attach_handle of the group's attachment (a kzalloc per attach). */
  handle: IommufdAttachHandle | null;
  readonly mem: Allocation;
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
    hwpt: null,
    devices: [],
    swMsi: { start: null },
    handle: null,
    mem,
  };
  ctx.groups.set(group.id, igroup);
  return igroup;
}

/** iommufd_put_group(): the last reference releases it (iommufd_group_release()). */
function iommufdPutGroup(igroup: IommufdGroup): void {
  const k = igroup.ictx.k;
  if (--igroup.ref > 0) return;
  k.printk.warn(
    igroup.hwpt !== null || igroup.devices.length > 0,
    'iommufd_group_release',
    'WARN_ON(igroup->hwpt || !list_empty(&igroup->device_list))',
  );
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

/** iommufd_group_setup_msi(): the first paging domain of a group with a software MSI window gets the MSI cookie. */
function groupSetupMsi(igroup: IommufdGroup, hwpt: HwptPaging): number {
  if (igroup.swMsi.start !== null && !hwpt.msiCookie) {
    const rc = iommu_get_msi_cookie(igroup.ictx.k, hwpt.domain!, igroup.swMsi.start);
    if (rc) return rc;
    hwpt.msiCookie = true;
  }
  return 0;
}

/** iommufd_device_attach_reserved_iova() */
function attachReservedIova(idev: IommufdDevice, hwpt: HwptPaging): number {
  const iopt = hwpt.ioas.iopt;
  let rc = iopt.enforceDevResvRegions(idev.dev, idev.igroup.swMsi);
  if (rc) return rc;
  if (idev.igroup.devices.length === 0) {
    rc = groupSetupMsi(idev.igroup, hwpt);
    if (rc) {
      iopt.removeReserved(idev.dev);
      return rc;
    }
  }
  return 0;
}

/**
 * iommufd_hwpt_attach_device(): the attach handle, IOPF on for a HWPT with a
 * fault queue, then iommu_attach_group_handle().
 */
function hwptAttachDevice(hwpt: IommufdHwpt, idev: IommufdDevice): number {
  const k = idev.igroup.ictx.k;
  const mem = k.alloc.alloc('iommufd_attach_handle', 'iommufd', 'iommufd_hwpt_attach_device');
  if (!mem) return -ENOMEM;
  const handle: IommufdAttachHandle = { idev, mem };
  let rc = hwpt.fault ? iommufdFaultIopfEnable(idev) : 0;
  if (!rc) {
    rc = iommu_attach_group_handle(k, hwpt.domain!, idev.igroup.group, handle);
    if (rc && hwpt.fault) iommufdFaultIopfDisable(idev);
  }
  if (rc) {
    k.alloc.free(mem, 'iommufd_hwpt_attach_device');
    return rc;
  }
  idev.igroup.handle = handle;
  return 0;
}

/** iommufd_hwpt_detach_device(): unanswered faults that came through the handle are answered INVALID. */
function hwptDetachDevice(hwpt: IommufdHwpt, idev: IommufdDevice): void {
  const igroup = idev.igroup;
  const handle = igroup.handle;
  iommu_detach_group_handle(igroup.ictx.k, igroup.group);
  if (hwpt.fault) {
    iommufdAutoResponseFaults(hwpt, handle);
    iommufdFaultIopfDisable(idev);
  }
  igroup.ictx.k.alloc.free(handle?.mem, 'iommufd_hwpt_detach_device');
  igroup.handle = null;
}

/**
 * iommufd_hw_pagetable_attach(): -EINVAL when the group is on another
 * HWPT; the device's reserved regions join the IOAS; the group's first
 * device attaches the domain; a reference on the HWPT per device.
 */
export function iommufdHwptAttach(hwpt: IommufdHwpt, idev: IommufdDevice): number {
  const igroup = idev.igroup;
  if (igroup.hwpt !== null && igroup.hwpt !== hwpt) return -EINVAL;
  const paging = findHwptPaging(hwpt);
  if (paging) {
    const rc = attachReservedIova(idev, paging);
    if (rc) return rc;
  }
  if (igroup.devices.length === 0) {
    const rc = hwptAttachDevice(hwpt, idev);
    if (rc) {
      if (paging) paging.ioas.iopt.removeReserved(idev.dev);
      return rc;
    }
    igroup.hwpt = hwpt;
  }
  hwpt.users++;
  igroup.devices.push(idev);
  return 0;
}

/** iommufd_hw_pagetable_detach(): the device leaves; the last one detaches the group. The caller puts the HWPT. */
export function iommufdHwptDetach(idev: IommufdDevice): IommufdHwpt {
  const igroup = idev.igroup;
  const hwpt = igroup.hwpt!;
  const paging = findHwptPaging(hwpt);
  const i = igroup.devices.indexOf(idev);
  if (i >= 0) igroup.devices.splice(i, 1);
  if (igroup.devices.length === 0) {
    hwptDetachDevice(hwpt, idev);
    igroup.hwpt = null;
  }
  if (paging) paging.ioas.iopt.removeReserved(idev.dev);
  return hwpt;
}

/** A do_attach of iommufd_device_change_pt(): null (nothing to destroy), the HWPT to put, or an errno. */
type AttachFn = (idev: IommufdDevice, hwpt: IommufdHwpt) => IommufdHwpt | null | number;

/** iommufd_device_do_attach() */
const doAttach: AttachFn = (idev, hwpt) => {
  const rc = iommufdHwptAttach(hwpt, idev);
  return rc ? rc : null;
};

/** iommufd_group_remove_reserved_iova(): every attached device's reservations leave the IOAS. */
function groupRemoveReservedIova(igroup: IommufdGroup, hwpt: HwptPaging): void {
  for (const cur of igroup.devices) hwpt.ioas.iopt.removeReserved(cur.dev);
}

/** iommufd_group_do_replace_reserved_iova(): a new IOAS gets every attached device's reserved regions. */
function groupDoReplaceReservedIova(igroup: IommufdGroup, hwpt: HwptPaging): number {
  const old = findHwptPaging(igroup.hwpt);
  let rc = 0;
  if (!old || hwpt.ioas !== old.ioas) {
    for (const cur of igroup.devices) {
      rc = hwpt.ioas.iopt.enforceDevResvRegions(cur.dev, null);
      if (rc) break;
    }
  }
  if (!rc) rc = groupSetupMsi(igroup, hwpt);
  if (rc) groupRemoveReservedIova(igroup, hwpt);
  return rc;
}

/**
 * iommufd_hwpt_replace_device(): a new handle, IOPF on if only the new HWPT
 * has a fault queue, iommu_replace_group_handle(); then the old HWPT's
 * unanswered faults through the old handle are answered, and IOPF goes off
 * if only the old one had a queue.
 */
function hwptReplaceDevice(idev: IommufdDevice, hwpt: IommufdHwpt, old: IommufdHwpt): number {
  const igroup = idev.igroup;
  const k = igroup.ictx.k;
  const oldHandle = igroup.handle;
  const mem = k.alloc.alloc('iommufd_attach_handle', 'iommufd', 'iommufd_hwpt_replace_device');
  if (!mem) return -ENOMEM;
  const handle: IommufdAttachHandle = { idev, mem };
  const iopfOn = hwpt.fault !== null && old.fault === null;
  let rc = iopfOn ? iommufdFaultIopfEnable(idev) : 0;
  if (!rc) {
    rc = iommu_replace_group_handle(k, igroup.group, hwpt.domain, handle);
    if (rc && iopfOn) iommufdFaultIopfDisable(idev);
  }
  if (rc) {
    k.alloc.free(mem, 'iommufd_hwpt_replace_device');
    return rc;
  }
  if (old.fault) {
    iommufdAutoResponseFaults(old, oldHandle);
    if (!hwpt.fault) iommufdFaultIopfDisable(idev);
  }
  k.alloc.free(oldHandle?.mem, 'iommufd_hwpt_replace_device');
  igroup.handle = handle;
  return 0;
}

/**
 * iommufd_device_do_replace(): only for an attached device (-EINVAL); the
 * same HWPT is a no-op; otherwise the group moves and every attached
 * device's reference moves with it. Returns the old HWPT for the caller to put.
 */
const doReplace: AttachFn = (idev, hwpt) => {
  const igroup = idev.igroup;
  if (igroup.hwpt === null) return -EINVAL;
  if (!igroup.devices.includes(idev)) return -EINVAL;
  if (hwpt === igroup.hwpt) return null;
  const old = igroup.hwpt;
  const paging = findHwptPaging(hwpt);
  let rc = 0;
  if (paging) {
    rc = groupDoReplaceReservedIova(igroup, paging);
    if (rc) return rc;
  }
  rc = hwptReplaceDevice(idev, hwpt, old);
  if (rc) {
    if (paging) groupRemoveReservedIova(igroup, paging);
    return rc;
  }
  const oldPaging = findHwptPaging(old);
  if (oldPaging && (!paging || paging.ioas !== oldPaging.ioas)) groupRemoveReservedIova(igroup, oldPaging);
  igroup.hwpt = hwpt;
  const n = igroup.devices.length;
  hwpt.users += n;
  if (n > 1) {
    old.users -= n - 1;
    igroup.ictx.k.printk.warn(
      old.users <= 0,
      'iommufd_device_do_replace',
      'WARN_ON(refcount_sub_and_test())',
    );
  }
  return old;
};

/**
 * iommufd_device_auto_get_domain(): an automatic HWPT of the IOAS that
 * takes the device, else a new one (allocated attached when attaching).
 */
function autoGetDomain(
  idev: IommufdDevice,
  ioas: IommufdIoas,
  out: { ptId: number },
  attach: AttachFn,
): IommufdHwpt | null | number {
  const ctx = idev.igroup.ictx;
  const immediate = attach === doAttach;
  for (const hwpt of [...ioas.hwptList]) {
    if (!hwpt.autoDomain || hwpt.users === 0) continue;
    const r = attach(idev, hwpt);
    if (typeof r === 'number') {
      if (r === -EINVAL) continue;
      return r;
    }
    out.ptId = hwpt.id;
    return r;
  }
  const hwpt = hwptPagingAlloc(ctx, ioas, idev, 0, immediate, null);
  if (typeof hwpt === 'number') return hwpt;
  let r: IommufdHwpt | null | number = null;
  if (!immediate) {
    r = attach(idev, hwpt);
    if (typeof r === 'number') {
      ctx.abortAndDestroy(hwpt);
      return r;
    }
  }
  hwpt.autoDomain = true;
  out.ptId = hwpt.id;
  ctx.finalize(hwpt);
  return r;
}

/** iommufd_device_change_pt(): by the type of the object `ptId` names. */
function changePt(idev: IommufdDevice, out: { ptId: number }, attach: AttachFn): number {
  const ctx = idev.igroup.ictx;
  const pt = ctx.get(out.ptId, 'ANY');
  if (typeof pt === 'number') return pt;
  let r: IommufdHwpt | null | number;
  switch (pt.type) {
    case 'HWPT_NESTED':
    case 'HWPT_PAGING':
      r = attach(idev, pt as IommufdHwpt);
      break;
    case 'IOAS':
      r = autoGetDomain(idev, pt as IommufdIoas, out, attach);
      break;
    default:
      return -EINVAL;
  }
  if (typeof r === 'number') return r;
  if (r) hwptPut(ctx, r);
  return 0;
}

/**
 * iommufd_device_attach(): to a HWPT, or to an IOAS through an automatic
 * HWPT whose id comes back in `out.ptId`. Holds a reference on the device
 * until iommufd_device_detach().
 */
export function iommufdDeviceAttach(idev: IommufdDevice, out: { ptId: number }): number {
  const rc = changePt(idev, out, doAttach);
  if (rc) return rc;
  idev.users++;
  return 0;
}

/** iommufd_device_replace(): like detach + attach, but the group never passes through blocking. */
export function iommufdDeviceReplace(idev: IommufdDevice, out: { ptId: number }): number {
  return changePt(idev, out, doReplace);
}

/** iommufd_device_detach(): back to blocked DMA; the HWPT reference (an unused automatic HWPT) goes. */
export function iommufdDeviceDetach(idev: IommufdDevice): void {
  const hwpt = iommufdHwptDetach(idev);
  hwptPut(idev.igroup.ictx, hwpt);
  idev.users--;
}
