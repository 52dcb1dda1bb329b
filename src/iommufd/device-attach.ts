// SPDX-License-Identifier: GPL-2.0-only
/**
 * Attaching iommufd devices (drivers/iommu/iommufd/device.c:
 * iommufd_device_attach/_replace/_detach(), iommufd_hw_pagetable_attach/
 * _detach(), iommufd_device_auto_get_domain(), and from v6.15 their PASID
 * forms).
 *
 * A group's attachments are per PASID (struct iommufd_attach in
 * igroup->pasid_attach): for each, the HWPT and the devices attached. Each
 * device attaches on its own (its reserved regions join the IOAS then, for
 * the RID only), but only the group's first device on that PASID moves the
 * domain, and only the last detach moves it back: the RID through
 * iommu_attach/replace/detach_group_handle(), a PASID through
 * iommu_attach/replace/detach_device_pasid(). A device already attached on
 * the PASID is -EBUSY; a group attached to another HWPT there is -EINVAL.
 * A PASID needs a PASID-compatible HWPT (IOMMU_HWPT_ALLOC_PASID), and so
 * does the RID's while PASIDs are attached.
 *
 * Attaching to an IOAS picks an automatic HWPT: the IOAS's automatic ones
 * in order (-EINVAL from the driver means "incompatible, try the next"),
 * else a new one, attached at once. Replacing moves the whole group to
 * another HWPT without passing through the blocking domain; the old HWPT,
 * if automatic and now unused, is destroyed.
 */
import { EBUSY, EINVAL, ENOMEM } from '../kernel/errno.js';
import {
  IOMMU_NO_PASID,
  iommu_attach_group_handle,
  iommu_detach_group_handle,
  iommu_replace_group_handle,
} from '../iommu/attach.js';
import {
  iommu_attach_device_pasid,
  iommu_detach_device_pasid,
  iommu_replace_device_pasid,
} from '../iommu/pasid.js';
import { iommu_get_msi_cookie } from '../dma/cookie.js';
import type { IommufdAttach, IommufdAttachHandle, IommufdDevice, IommufdGroup } from './device.js';
import type { IommufdHwpt, HwptPaging } from './hw-pagetable.js';
import { findHwptPaging, hwptPagingAlloc, hwptPut } from './hw-pagetable.js';
import { iommufdAutoResponseFaults, iommufdFaultIopfDisable, iommufdFaultIopfEnable } from './fault.js';
import { iommufdHas } from './features.js';
import type { IommufdIoas } from './ioas.js';

/** iommufd_group_setup_msi(): the first paging domain of a group with a software MSI window gets the MSI cookie. */
function groupSetupMsi(igroup: IommufdGroup, hwpt: HwptPaging): number {
  if (igroup.swMsi.start !== null && !hwpt.msiCookie) {
    const rc = iommu_get_msi_cookie(igroup.ictx.k, hwpt.domain!, igroup.swMsi.start);
    if (rc) return rc;
    hwpt.msiCookie = true;
  }
  return 0;
}

/** iommufd_device_attach_reserved_iova(): the device's reserved regions in the IOAS; the group's first RID attach sets up MSI. */
function attachReservedIova(idev: IommufdDevice, hwpt: HwptPaging): number {
  const iopt = hwpt.ioas.iopt;
  let rc = iopt.enforceDevResvRegions(idev.dev, idev.igroup.swMsi);
  if (rc) return rc;
  if (!idev.igroup.attach.has(IOMMU_NO_PASID)) {
    rc = groupSetupMsi(idev.igroup, hwpt);
    if (rc) {
      iopt.removeReserved(idev.dev);
      return rc;
    }
  }
  return 0;
}

/**
 * iommufd_hwpt_pasid_compat() (v6.15 on): a PASID takes only a
 * PASID-compatible HWPT, with the RID on one too (or on none); the RID takes
 * an incompatible one only while no PASID is attached.
 */
function pasidCompat(hwpt: IommufdHwpt, idev: IommufdDevice, pasid: number): number {
  const igroup = idev.igroup;
  if (!iommufdHas(igroup.ictx.k, 'veventq')) return 0;
  if (pasid === IOMMU_NO_PASID) {
    if (!hwpt.pasidCompat) for (const p of igroup.attach.keys()) if (p !== IOMMU_NO_PASID) return -EINVAL;
    return 0;
  }
  if (!hwpt.pasidCompat) return -EINVAL;
  const rid = igroup.attach.get(IOMMU_NO_PASID);
  return rid?.hwpt && !rid.hwpt.pasidCompat ? -EINVAL : 0;
}

/** A new iommufd_attach_handle (-ENOMEM). */
function newHandle(idev: IommufdDevice, site: string): IommufdAttachHandle | null {
  const mem = idev.igroup.ictx.k.alloc.alloc('iommufd_attach_handle', 'iommufd', site);
  return mem ? { idev, mem } : null;
}

/**
 * iommufd_hwpt_attach_device(): PASID compatibility, the attach handle,
 * IOPF on for a HWPT with a fault queue, then the core's attach of the
 * group (RID) or of the device's PASID.
 */
function hwptAttachDevice(
  hwpt: IommufdHwpt,
  idev: IommufdDevice,
  pasid: number,
  attach: IommufdAttach,
): number {
  const k = idev.igroup.ictx.k;
  let rc = pasidCompat(hwpt, idev, pasid);
  if (rc) return rc;
  const handle = newHandle(idev, 'iommufd_hwpt_attach_device');
  if (!handle) return -ENOMEM;
  rc = hwpt.fault ? iommufdFaultIopfEnable(idev) : 0;
  if (!rc) {
    rc =
      pasid === IOMMU_NO_PASID
        ? iommu_attach_group_handle(k, hwpt.domain!, idev.igroup.group, handle)
        : iommu_attach_device_pasid(k, hwpt.domain!, idev.dev, pasid, handle);
    if (rc && hwpt.fault) iommufdFaultIopfDisable(idev);
  }
  if (rc) {
    k.alloc.free(handle.mem, 'iommufd_hwpt_attach_device');
    return rc;
  }
  attach.handle = handle;
  return 0;
}

/** iommufd_hwpt_detach_device(): unanswered faults that came through the handle are answered INVALID. */
function hwptDetachDevice(
  hwpt: IommufdHwpt,
  idev: IommufdDevice,
  pasid: number,
  attach: IommufdAttach,
): void {
  const k = idev.igroup.ictx.k;
  const handle = attach.handle;
  if (pasid === IOMMU_NO_PASID) iommu_detach_group_handle(k, idev.igroup.group);
  else iommu_detach_device_pasid(k, hwpt.domain!, idev.dev, pasid);
  if (hwpt.fault) {
    iommufdAutoResponseFaults(hwpt, handle);
    iommufdFaultIopfDisable(idev);
  }
  k.alloc.free(handle?.mem, 'iommufd_hwpt_detach_device');
  attach.handle = null;
}

/**
 * iommufd_hw_pagetable_attach(): the PASID's attachment (made by its first
 * device: an allocation from v6.15), -EBUSY when the device is already on it,
 * -EINVAL when the group is on another HWPT there; the device's reserved
 * regions join the IOAS (RID only); the first device attaches the domain; a
 * reference on the HWPT per device.
 */
export function iommufdHwptAttach(hwpt: IommufdHwpt, idev: IommufdDevice, pasid = IOMMU_NO_PASID): number {
  const igroup = idev.igroup;
  const k = igroup.ictx.k;
  const paging = findHwptPaging(hwpt);
  const attachResv = paging !== null && pasid === IOMMU_NO_PASID;
  let attach = igroup.attach.get(pasid);
  const first = !attach;
  if (!attach) {
    // 6.12 kept one attachment inside the igroup; later kernels kzalloc() one per PASID.
    const mem = iommufdHas(k, 'veventq')
      ? k.alloc.alloc('iommufd_attach', 'iommufd', 'iommufd_hw_pagetable_attach')
      : null;
    if (iommufdHas(k, 'veventq') && !mem) return -ENOMEM;
    attach = { hwpt: null, devices: [], handle: null, mem };
  }
  const free = (rc: number): number => {
    if (first) k.alloc.free(attach.mem, 'iommufd_hw_pagetable_attach');
    return rc;
  };
  // v6.15's device_array catches a device attached twice (-EBUSY); 6.12 had no such check.
  if (iommufdHas(k, 'veventq') && attach.devices.includes(idev)) {
    k.printk.warn(!attach.hwpt, 'iommufd_hw_pagetable_attach', 'WARN_ON(rc == -EBUSY && !old_hwpt)');
    return free(-EBUSY);
  }
  if (attach.hwpt && attach.hwpt !== hwpt) return free(-EINVAL);
  if (attachResv) {
    const rc = attachReservedIova(idev, paging);
    if (rc) return free(rc);
  }
  if (first) {
    const rc = hwptAttachDevice(hwpt, idev, pasid, attach);
    if (rc) {
      if (attachResv) paging.ioas.iopt.removeReserved(idev.dev);
      return free(rc);
    }
    attach.hwpt = hwpt;
    igroup.attach.set(pasid, attach);
  }
  hwpt.users++;
  attach.devices.push(idev);
  return 0;
}

/**
 * iommufd_hw_pagetable_detach(): the device leaves the PASID's attachment;
 * the last one detaches the domain. The HWPT, for the caller to put, or
 * null when nothing was attached there.
 */
export function iommufdHwptDetach(idev: IommufdDevice, pasid = IOMMU_NO_PASID): IommufdHwpt | null {
  const igroup = idev.igroup;
  const attach = igroup.attach.get(pasid);
  if (!attach) return null;
  const hwpt = attach.hwpt!;
  const paging = findHwptPaging(hwpt);
  const i = attach.devices.indexOf(idev);
  if (i >= 0) attach.devices.splice(i, 1);
  if (attach.devices.length === 0) {
    hwptDetachDevice(hwpt, idev, pasid, attach);
    igroup.attach.delete(pasid);
    igroup.ictx.k.alloc.free(attach.mem, 'iommufd_hw_pagetable_detach');
  }
  if (paging && pasid === IOMMU_NO_PASID) paging.ioas.iopt.removeReserved(idev.dev);
  return hwpt;
}

/** A do_attach of iommufd_device_change_pt(): null (nothing to destroy), the HWPT to put, or an errno. */
type AttachFn = (idev: IommufdDevice, pasid: number, hwpt: IommufdHwpt) => IommufdHwpt | null | number;

/** iommufd_device_do_attach() */
const doAttach: AttachFn = (idev, pasid, hwpt) => {
  const rc = iommufdHwptAttach(hwpt, idev, pasid);
  return rc ? rc : null;
};

/** The RID attachment's devices (empty when the RID is not attached). */
const ridDevices = (igroup: IommufdGroup): IommufdDevice[] =>
  igroup.attach.get(IOMMU_NO_PASID)?.devices ?? [];

/** iommufd_group_remove_reserved_iova(): every attached device's reservations leave the IOAS. */
function groupRemoveReservedIova(igroup: IommufdGroup, hwpt: HwptPaging): void {
  for (const cur of ridDevices(igroup)) hwpt.ioas.iopt.removeReserved(cur.dev);
}

/** iommufd_group_do_replace_reserved_iova(): a new IOAS gets every attached device's reserved regions. */
function groupDoReplaceReservedIova(igroup: IommufdGroup, hwpt: HwptPaging): number {
  const old = findHwptPaging(igroup.attach.get(IOMMU_NO_PASID)?.hwpt ?? null);
  let rc = 0;
  if (!old || hwpt.ioas !== old.ioas) {
    for (const cur of ridDevices(igroup)) {
      rc = hwpt.ioas.iopt.enforceDevResvRegions(cur.dev, null);
      if (rc) break;
    }
  }
  if (!rc) rc = groupSetupMsi(igroup, hwpt);
  if (rc) groupRemoveReservedIova(igroup, hwpt);
  return rc;
}

/**
 * iommufd_hwpt_replace_device(): PASID compatibility, a new handle, IOPF on
 * if only the new HWPT has a fault queue, the core's replace; then the old
 * HWPT's unanswered faults through the old handle are answered, and IOPF
 * goes off if only the old one had a queue.
 */
function hwptReplaceDevice(
  idev: IommufdDevice,
  pasid: number,
  hwpt: IommufdHwpt,
  old: IommufdHwpt,
  attach: IommufdAttach,
): number {
  const k = idev.igroup.ictx.k;
  let rc = pasidCompat(hwpt, idev, pasid);
  if (rc) return rc;
  const oldHandle = attach.handle;
  const handle = newHandle(idev, 'iommufd_hwpt_replace_device');
  if (!handle) return -ENOMEM;
  const iopfOn = hwpt.fault !== null && old.fault === null;
  rc = iopfOn ? iommufdFaultIopfEnable(idev) : 0;
  if (!rc) {
    rc =
      pasid === IOMMU_NO_PASID
        ? iommu_replace_group_handle(k, idev.igroup.group, hwpt.domain, handle)
        : iommu_replace_device_pasid(k, hwpt.domain!, idev.dev, pasid, handle);
    if (rc && iopfOn) iommufdFaultIopfDisable(idev);
  }
  if (rc) {
    k.alloc.free(handle.mem, 'iommufd_hwpt_replace_device');
    return rc;
  }
  if (old.fault) {
    iommufdAutoResponseFaults(old, oldHandle);
    if (!hwpt.fault) iommufdFaultIopfDisable(idev);
  }
  k.alloc.free(oldHandle?.mem, 'iommufd_hwpt_replace_device');
  attach.handle = handle;
  return 0;
}

/**
 * iommufd_device_do_replace(): only for an attached device (-EINVAL); the
 * same HWPT is a no-op; otherwise the group moves and every attached
 * device's reference moves with it. Returns the old HWPT for the caller to put.
 */
const doReplace: AttachFn = (idev, pasid, hwpt) => {
  const igroup = idev.igroup;
  const attach = igroup.attach.get(pasid);
  if (!attach) return -EINVAL;
  const old = attach.hwpt!;
  if (!attach.devices.includes(idev)) return -EINVAL;
  if (hwpt === old) return null;
  const paging = findHwptPaging(hwpt);
  const attachResv = paging !== null && pasid === IOMMU_NO_PASID;
  let rc = 0;
  if (attachResv) {
    rc = groupDoReplaceReservedIova(igroup, paging);
    if (rc) return rc;
  }
  rc = hwptReplaceDevice(idev, pasid, hwpt, old, attach);
  if (rc) {
    if (attachResv) groupRemoveReservedIova(igroup, paging);
    return rc;
  }
  const oldPaging = findHwptPaging(old);
  if (oldPaging && pasid === IOMMU_NO_PASID && (!paging || paging.ioas !== oldPaging.ioas))
    groupRemoveReservedIova(igroup, oldPaging);
  attach.hwpt = hwpt;
  const n = attach.devices.length;
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
  pasid: number,
  ioas: IommufdIoas,
  out: { ptId: number },
  attach: AttachFn,
): IommufdHwpt | null | number {
  const ctx = idev.igroup.ictx;
  const immediate = attach === doAttach;
  for (const hwpt of [...ioas.hwptList]) {
    if (!hwpt.autoDomain || hwpt.users === 0) continue;
    const r = attach(idev, pasid, hwpt);
    if (typeof r === 'number') {
      if (r === -EINVAL) continue;
      return r;
    }
    out.ptId = hwpt.id;
    return r;
  }
  const hwpt = hwptPagingAlloc(ctx, ioas, idev, 0, immediate, null, pasid);
  if (typeof hwpt === 'number') return hwpt;
  let r: IommufdHwpt | null | number = null;
  if (!immediate) {
    r = attach(idev, pasid, hwpt);
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
function changePt(idev: IommufdDevice, pasid: number, out: { ptId: number }, attach: AttachFn): number {
  const ctx = idev.igroup.ictx;
  const pt = ctx.get(out.ptId, 'ANY');
  if (typeof pt === 'number') return pt;
  let r: IommufdHwpt | null | number;
  switch (pt.type) {
    case 'HWPT_NESTED':
    case 'HWPT_PAGING':
      r = attach(idev, pasid, pt as IommufdHwpt);
      break;
    case 'IOAS':
      r = autoGetDomain(idev, pasid, pt as IommufdIoas, out, attach);
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
 * HWPT whose id comes back in `out.ptId`, on the RID or (v6.15) a PASID.
 * Holds a reference on the device until iommufd_device_detach().
 */
export function iommufdDeviceAttach(
  idev: IommufdDevice,
  out: { ptId: number },
  pasid = IOMMU_NO_PASID,
): number {
  const rc = changePt(idev, pasid, out, doAttach);
  if (rc) return rc;
  idev.users++;
  return 0;
}

/** iommufd_device_replace(): like detach + attach, but the group never passes through blocking. */
export function iommufdDeviceReplace(
  idev: IommufdDevice,
  out: { ptId: number },
  pasid = IOMMU_NO_PASID,
): number {
  return changePt(idev, pasid, out, doReplace);
}

/** iommufd_device_detach(): back to blocked DMA; the HWPT reference (an unused automatic HWPT) goes. Nothing attached there: nothing to do. */
export function iommufdDeviceDetach(idev: IommufdDevice, pasid = IOMMU_NO_PASID): void {
  const hwpt = iommufdHwptDetach(idev, pasid);
  if (!hwpt) return;
  hwptPut(idev.igroup.ictx, hwpt);
  idev.users--;
}
