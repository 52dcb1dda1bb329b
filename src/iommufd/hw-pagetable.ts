// SPDX-License-Identifier: GPL-2.0-only
/**
 * HW page tables: iommufd objects owning an iommu_domain
 * (drivers/iommu/iommufd/hw_pagetable.c, 6.12).
 *
 * A paging HWPT belongs to one IOAS (holding a `users` reference on it) and
 * its domain is one of the IOAS's domains: every area is mapped into it
 * (iopt_table_add_domain()). It is automatic (made by attaching a device to
 * an IOAS, destroyed with its last device) or manual (IOMMU_HWPT_ALLOC, kept
 * until IOMMU_DESTROY). Automatic selection only ever reuses automatic ones.
 *
 * A nested HWPT is a user-managed stage 1 on a manual nest-parent paging
 * HWPT (holding a reference on it); devices attached to it take their
 * reserved regions into the parent's IOAS, and IOMMU_HWPT_INVALIDATE hands
 * the user's cache invalidations to its driver.
 *
 * A HWPT allocated with IOMMU_HWPT_FAULT_ID_VALID (a nested one: 6.12 to
 * v6.15 reject the flag for paging HWPTs, -EOPNOTSUPP; the v6.18 profile
 * takes it unless with NEST_PARENT) routes its devices' page
 * faults to that fault queue (fault.ts).
 *
 * From v6.13 a nested HWPT can also be allocated on a vIOMMU (viommu.ts):
 * the vIOMMU's driver makes the domain over the vIOMMU's nest parent, and
 * the HWPT holds the vIOMMU instead of the parent.
 */
import { EFAULT, EINVAL, EOPNOTSUPP, IS_ERR, PTR_ERR } from '../kernel/errno.js';
import type { IommuDomain } from '../iommu/domain.js';
import { dev_iommu_ops, iommu_domain_free, iommu_paging_domain_alloc } from '../iommu/domain-alloc.js';
import type { IommuUserData, IommuUserDataArray } from '../iommu/user-data.js';
import { IOMMU_DOMAIN_NESTED } from '../iommu/domain.js';
import { IOMMU_NO_PASID } from '../iommu/attach.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';
import type { IommufdDevice } from './device.js';
import { device_iommu_capable } from './device.js';
import { iommufdHwptAttach, iommufdHwptDetach } from './device-attach.js';
import type { IommufdIoas } from './ioas.js';
import { getDevice } from './device.js';
import type { Handler } from './ucmd.js';
import type { IommufdFault } from './fault.js';
import { getFault, iommufdFaultIopfHandler } from './fault.js';
import { n32, n64 } from './ucmd.js';
import { copyFromUser, userDataAt } from './user-arg.js';
import { PAGE_SIZE } from './io-pagetable.js';
import { iommufdHas } from './features.js';
import type { IommufdViommu } from './viommu.js';
import { iommuDevOf, viommuAllocDomainNested } from './viommu.js';

/** enum iommufd_hwpt_alloc_flags */
export const IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0;
export const IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
export const IOMMU_HWPT_FAULT_ID_VALID = 1 << 2;
/** IOMMU_HWPT_ALLOC_PASID (v6.15): the HWPT can be attached to PASIDs (and the RID with PASIDs attached). */
export const IOMMU_HWPT_ALLOC_PASID = 1 << 3;
/** enum iommu_hwpt_data_type */
export const IOMMU_HWPT_DATA_NONE = 0;

/** struct iommufd_hw_pagetable */
export interface IommufdHwpt extends IommufdObject {
  readonly type: 'HWPT_PAGING' | 'HWPT_NESTED';
  domain: IommuDomain | null;
  /** The fault queue its devices' page requests go to (IOMMU_HWPT_FAULT_ID_VALID), holding a reference. */
  fault: IommufdFault | null;
  /** Allocated with IOMMU_HWPT_ALLOC_PASID (hwpt->pasid_compat). */
  pasidCompat: boolean;
}

/** struct iommufd_hwpt_paging */
export interface HwptPaging extends IommufdHwpt {
  readonly type: 'HWPT_PAGING';
  readonly ioas: IommufdIoas;
  /** Made by an attach to the IOAS: reused by other attaches, destroyed with its last device. */
  autoDomain: boolean;
  readonly nestParent: boolean;
  enforceCacheCoherency: boolean;
  /** iommu_get_msi_cookie() was done for it (once per domain). */
  msiCookie: boolean;
}

/** struct iommufd_hwpt_nested: a user-managed stage 1 on a nest-parent paging HWPT. */
export interface HwptNested extends IommufdHwpt {
  readonly type: 'HWPT_NESTED';
  readonly parent: HwptPaging;
  /** The vIOMMU it was allocated on (held instead of the parent), or null. */
  readonly viommu: IommufdViommu | null;
}

/** The flags a nested HWPT takes: FAULT_ID_VALID, and PASID from v6.15. */
const nestedFlags = (k: IommufdCtx['k']): number =>
  IOMMU_HWPT_FAULT_ID_VALID | (iommufdHas(k, 'veventq') ? IOMMU_HWPT_ALLOC_PASID : 0);

/** find_hwpt_paging(): the paging HWPT behind a HWPT: itself, or a nested one's parent. */
export function findHwptPaging(hwpt: IommufdHwpt | null): HwptPaging | null {
  if (hwpt?.type === 'HWPT_PAGING') return hwpt as HwptPaging;
  if (hwpt?.type === 'HWPT_NESTED') return (hwpt as HwptNested).parent;
  return null;
}

/** __iommufd_hwpt_destroy(): the domain, and the hold on the fault queue. */
function hwptDestroyCommon(ctx: IommufdCtx, hwpt: IommufdHwpt): void {
  if (hwpt.domain) iommu_domain_free(ctx.k, hwpt.domain);
  hwpt.domain = null;
  if (hwpt.fault) hwpt.fault.users--;
}

/** iommufd_hwpt_paging_destroy() (and _abort(), which is the same once nothing runs concurrently). */
function hwptPagingDestroy(ctx: IommufdCtx, hwpt: HwptPaging): void {
  const list = hwpt.ioas.hwptList;
  const i = list.indexOf(hwpt);
  if (i >= 0) {
    list.splice(i, 1);
    hwpt.ioas.iopt.removeDomain(hwpt.domain!);
  }
  hwptDestroyCommon(ctx, hwpt);
  hwpt.ioas.users--;
}

/** iommufd_hwpt_paging_enforce_cc(): the domain must agree to force snooping. */
function hwptPagingEnforceCc(ctx: IommufdCtx, hwpt: HwptPaging): number {
  if (hwpt.enforceCacheCoherency) return 0;
  const d = hwpt.domain!;
  hwpt.enforceCacheCoherency = d.ops?.enforce_cache_coherency?.(ctx.k, d) ?? false;
  return hwpt.enforceCacheCoherency ? 0 : -EINVAL;
}

/**
 * iommufd_hwpt_paging_alloc(): a domain for the device from its driver
 * (domain_alloc_user() with the user's flags and data, else
 * iommu_paging_domain_alloc()), optionally attached at once, then filled
 * with every area of the IOAS. Not finalized: the caller does that (or
 * aborts).
 */
export function hwptPagingAlloc(
  ctx: IommufdCtx,
  ioas: IommufdIoas,
  idev: IommufdDevice,
  flags: number,
  immediateAttach: boolean,
  data: IommuUserData | null,
  pasid = IOMMU_NO_PASID,
): HwptPaging | number {
  const k = ctx.k;
  // Paging HWPTs take a fault queue in the newest kernels (the v6.18 profile here; v6.15 still refused
  // it), but a nest parent never faults.
  const pagingFaults = iommufdHas(k, 'hwQueue');
  const validFlags =
    IOMMU_HWPT_ALLOC_NEST_PARENT |
    IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
    (iommufdHas(k, 'veventq') ? IOMMU_HWPT_ALLOC_PASID : 0) |
    (pagingFaults ? IOMMU_HWPT_FAULT_ID_VALID : 0);
  const ops = dev_iommu_ops(idev.dev);
  if ((flags || data) && !ops.domain_alloc_user) return -EOPNOTSUPP;
  if (flags & ~validFlags) return -EOPNOTSUPP;
  if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING && !device_iommu_capable(k, idev.dev, 'DIRTY_TRACKING'))
    return -EOPNOTSUPP;
  if (flags & IOMMU_HWPT_FAULT_ID_VALID && flags & IOMMU_HWPT_ALLOC_NEST_PARENT) return -EOPNOTSUPP;
  const hwpt = ctx.allocObject((id, mem): HwptPaging => {
    const h: HwptPaging = {
      id,
      type: 'HWPT_PAGING',
      users: 1,
      mem,
      domain: null,
      fault: null,
      pasidCompat: (flags & IOMMU_HWPT_ALLOC_PASID) !== 0,
      ioas,
      autoDomain: false,
      nestParent: (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) !== 0,
      enforceCacheCoherency: false,
      msiCookie: false,
      destroy: () => hwptPagingDestroy(ctx, h),
    };
    return h;
  }, 'hwpt_paging');
  if (typeof hwpt === 'number') return hwpt;
  ioas.users++;

  const domain = ops.domain_alloc_user
    ? ops.domain_alloc_user(k, idev.dev, flags & ~IOMMU_HWPT_FAULT_ID_VALID, null, data)
    : iommu_paging_domain_alloc(k, idev.dev);
  if (IS_ERR(domain)) {
    ctx.abortAndDestroy(hwpt);
    return PTR_ERR(domain);
  }
  if (ops.domain_alloc_user) domain.owner = ops;
  hwpt.domain = domain;

  let rc = 0;
  if (idev.enforceCacheCoherency) {
    rc = hwptPagingEnforceCc(ctx, hwpt);
    if (k.printk.warn(rc !== 0, 'iommufd_hwpt_paging_alloc', 'WARN_ON(enforce_cache_coherency failed)')) {
      ctx.abortAndDestroy(hwpt);
      return rc;
    }
  }
  if (immediateAttach) {
    rc = iommufdHwptAttach(hwpt, idev, pasid);
    if (rc) {
      ctx.abortAndDestroy(hwpt);
      return rc;
    }
  }
  rc = ioas.iopt.addDomain(domain);
  if (rc) {
    if (immediateAttach) iommufdHwptDetach(idev, pasid);
    ctx.abortAndDestroy(hwpt);
    return rc;
  }
  ioas.hwptList.push(hwpt);
  return hwpt;
}

/**
 * The HWPT_NESTED object, holding its vIOMMU or else its parent (what
 * iommufd_hwpt_nested_destroy() drops again). No domain yet, not finalized.
 */
function allocNestedHwpt(
  ctx: IommufdCtx,
  parent: HwptPaging,
  viommu: IommufdViommu | null,
  flags: number,
): HwptNested | number {
  const holder: IommufdObject = viommu ?? parent;
  const hwpt = ctx.allocObject((id, mem): HwptNested => {
    const h: HwptNested = {
      id,
      type: 'HWPT_NESTED',
      users: 1,
      mem,
      domain: null,
      parent,
      viommu,
      fault: null,
      pasidCompat: (flags & IOMMU_HWPT_ALLOC_PASID) !== 0,
      destroy: () => {
        hwptDestroyCommon(ctx, h);
        holder.users--;
      },
    };
    return h;
  }, 'hwpt_nested');
  if (typeof hwpt !== 'number') holder.users++;
  return hwpt;
}

/**
 * iommufd_hwpt_nested_alloc(): a nested domain from the driver over the
 * parent's (which must be a manual nest parent of the same driver: -EINVAL),
 * with the user's data (none, or other flags: -EOPNOTSUPP). Not finalized.
 */
function hwptNestedAlloc(
  ctx: IommufdCtx,
  parent: HwptPaging,
  idev: IommufdDevice,
  flags: number,
  data: IommuUserData,
): HwptNested | number {
  const k = ctx.k;
  const ops = dev_iommu_ops(idev.dev);
  if (flags & ~nestedFlags(k) || !data.len || !ops.domain_alloc_user) return -EOPNOTSUPP;
  if (parent.autoDomain || !parent.nestParent || parent.domain!.owner !== ops) return -EINVAL;
  const hwpt = allocNestedHwpt(ctx, parent, null, flags);
  if (typeof hwpt === 'number') return hwpt;
  const domain = ops.domain_alloc_user(k, idev.dev, flags & ~IOMMU_HWPT_FAULT_ID_VALID, parent.domain, data);
  if (IS_ERR(domain)) {
    ctx.abortAndDestroy(hwpt);
    return PTR_ERR(domain);
  }
  domain.owner = ops;
  hwpt.domain = domain;
  if (
    k.printk.warn(
      domain.type !== IOMMU_DOMAIN_NESTED || !domain.ops?.cache_invalidate_user,
      'iommufd_hwpt_nested_alloc',
      'WARN_ON_ONCE(domain->type != IOMMU_DOMAIN_NESTED || !domain->ops->cache_invalidate_user)',
    )
  ) {
    ctx.abortAndDestroy(hwpt);
    return -EINVAL;
  }
  return hwpt;
}

/**
 * iommufd_viommu_alloc_hwpt_nested() (v6.13 on): a nested domain from the
 * vIOMMU's driver (flags other than FAULT_ID_VALID, or no data:
 * -EOPNOTSUPP), over the vIOMMU's nest parent. Not finalized.
 */
function viommuAllocHwptNested(
  ctx: IommufdCtx,
  viommu: IommufdViommu,
  flags: number,
  data: IommuUserData,
): HwptNested | number {
  const k = ctx.k;
  if (flags & ~nestedFlags(k) || !data.len) return -EOPNOTSUPP;
  if (!viommu.ops?.alloc_domain_nested) return -EOPNOTSUPP;
  const hwpt = allocNestedHwpt(ctx, viommu.hwpt, viommu, flags);
  if (typeof hwpt === 'number') return hwpt;
  const domain = viommuAllocDomainNested(k, viommu, flags & ~IOMMU_HWPT_FAULT_ID_VALID, data);
  if (typeof domain === 'number') {
    ctx.abortAndDestroy(hwpt);
    return domain;
  }
  domain.owner = viommu.hwpt.domain!.owner;
  hwpt.domain = domain;
  if (
    k.printk.warn(
      domain.type !== IOMMU_DOMAIN_NESTED,
      'iommufd_viommu_alloc_hwpt_nested',
      'WARN_ON_ONCE(domain->type != IOMMU_DOMAIN_NESTED)',
    )
  ) {
    ctx.abortAndDestroy(hwpt);
    return -EINVAL;
  }
  return hwpt;
}

/**
 * iommufd_hw_pagetable_put(): a device's reference dropped. An automatic
 * HWPT nobody else uses is destroyed with it.
 */
export function hwptPut(ctx: IommufdCtx, hwpt: IommufdHwpt): void {
  const paging = findHwptPaging(hwpt);
  if (paging?.autoDomain) {
    ctx.remove(hwpt.id, hwpt); // iommufd_object_put_and_try_destroy()
    return;
  }
  hwpt.users--;
}

/** iommufd_get_hwpt_paging() */
export function getHwptPaging(ctx: IommufdCtx, id: number): HwptPaging | number {
  return ctx.get(id, 'HWPT_PAGING') as HwptPaging | number;
}

/** An arbitrary cap on IOMMU_HWPT_INVALIDATE's entry_num, far above a real batch. */
const INVALIDATE_ENTRY_NUM_MAX = 1 << 19;

export const hwptHandlers: Readonly<Record<string, Handler>> = {
  /** iommufd_hwpt_alloc() */
  IOMMU_HWPT_ALLOC: (u) => {
    const c = u.cmd;
    const ctx = u.ctx;
    if (c.__reserved) return -EOPNOTSUPP;
    const dataType = n32(c.data_type);
    const dataLen = n32(c.data_len);
    if ((dataType === IOMMU_HWPT_DATA_NONE && dataLen) || (dataType !== IOMMU_HWPT_DATA_NONE && !dataLen))
      return -EINVAL;
    const idev = getDevice(ctx, n32(c.dev_id));
    if (typeof idev === 'number') return idev;
    const pt = ctx.get(n32(c.pt_id), 'ANY');
    if (typeof pt === 'number') return -EINVAL;
    const flags = n32(c.flags);
    let hwpt: IommufdHwpt;
    if (pt.type === 'IOAS') {
      const data = dataLen ? userDataAt(ctx.proc, dataType, n64(c.data_uptr), dataLen) : null;
      const r = hwptPagingAlloc(ctx, pt as IommufdIoas, idev, flags, false, data);
      if (typeof r === 'number') return r;
      hwpt = r;
    } else if (pt.type === 'HWPT_PAGING') {
      const r = hwptNestedAlloc(
        ctx,
        pt as HwptPaging,
        idev,
        flags,
        userDataAt(ctx.proc, dataType, n64(c.data_uptr), dataLen),
      );
      if (typeof r === 'number') return r;
      hwpt = r;
    } else if (pt.type === 'VIOMMU') {
      const viommu = pt as IommufdViommu;
      if (viommu.iommuDev !== iommuDevOf(idev.dev)) return -EINVAL;
      const r = viommuAllocHwptNested(
        ctx,
        viommu,
        flags,
        userDataAt(ctx.proc, dataType, n64(c.data_uptr), dataLen),
      );
      if (typeof r === 'number') return r;
      hwpt = r;
    } else {
      return -EINVAL;
    }
    if (flags & IOMMU_HWPT_FAULT_ID_VALID) {
      const fault = getFault(ctx, n32(c.fault_id));
      if (typeof fault === 'number') {
        ctx.abortAndDestroy(hwpt);
        return fault;
      }
      hwpt.fault = fault;
      hwpt.domain!.iopf_handler = iommufdFaultIopfHandler;
      hwpt.domain!.fault_data = hwpt;
      fault.users++;
    }
    c.out_hwpt_id = hwpt.id;
    const rc = u.respond();
    if (rc) {
      ctx.abortAndDestroy(hwpt);
      return rc;
    }
    ctx.finalize(hwpt);
    return 0;
  },

  /**
   * iommufd_hwpt_invalidate(): the driver handles the user's requests on a
   * nested HWPT or (v6.13 on) a vIOMMU; entry_num comes back as the requests
   * handled, even when one failed. 6.12 looked the id up as a nested HWPT
   * (-ENOENT for anything else); later kernels take any object and refuse
   * other types with -EINVAL.
   */
  IOMMU_HWPT_INVALIDATE: (u) => {
    const c = u.cmd;
    const ctx = u.ctx;
    let rc = 0;
    let done = 0;
    const num = n32(c.entry_num);
    const len = n32(c.entry_len);
    if (c.__reserved) rc = -EOPNOTSUPP;
    else if (num && (!c.data_uptr || !len || BigInt(len) > PAGE_SIZE || num > INVALIDATE_ENTRY_NUM_MAX))
      rc = -EINVAL;
    else {
      const anyType = iommufdHas(ctx.k, 'viommu');
      const pt = ctx.get(n32(c.hwpt_id), anyType ? 'ANY' : 'HWPT_NESTED');
      const ptr = n64(c.data_uptr);
      const array: IommuUserDataArray = {
        type: n32(c.data_type),
        entryLen: len,
        entryNum: num,
        read: (offset, n) => copyFromUser(ctx.proc, ptr, n, offset),
      };
      if (typeof pt === 'number') rc = pt;
      else if (pt.type === 'HWPT_NESTED') {
        const d = (pt as HwptNested).domain!;
        if (!d.ops?.cache_invalidate_user) rc = -EOPNOTSUPP;
        else {
          rc = d.ops.cache_invalidate_user(ctx.k, d, array);
          done = array.entryNum;
        }
      } else if (pt.type === 'VIOMMU') {
        const viommu = pt as IommufdViommu;
        if (!viommu.ops?.cache_invalidate) rc = -EOPNOTSUPP;
        else {
          rc = viommu.ops.cache_invalidate(ctx.k, viommu, array);
          done = array.entryNum;
        }
      } else rc = -EINVAL;
    }
    c.entry_num = done;
    if (u.respond()) return -EFAULT;
    return rc;
  },
};
