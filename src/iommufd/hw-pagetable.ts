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
 * Not modelled yet: nested HWPTs (on a paging parent or a vIOMMU) and fault
 * queues (IOMMU_HWPT_FAULT_ID_VALID), which 6.12 rejects for paging HWPTs
 * anyway (-EOPNOTSUPP).
 */
import { EINVAL, EOPNOTSUPP, IS_ERR, PTR_ERR } from '../kernel/errno.js';
import type { IommuDomain } from '../iommu/domain.js';
import { dev_iommu_ops, iommu_domain_free, iommu_paging_domain_alloc } from '../iommu/domain-alloc.js';
import type { IommuUserData } from '../iommu/user-data.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';
import type { IommufdDevice } from './device.js';
import { device_iommu_capable, iommufdHwptAttach, iommufdHwptDetach } from './device.js';
import type { IommufdIoas } from './ioas.js';
import { getDevice } from './device.js';
import type { Handler } from './ucmd.js';
import { NotModelledError, n32, n64 } from './ucmd.js';
import { userPtr } from '../mm/user-mm.js';

/** enum iommufd_hwpt_alloc_flags */
export const IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0;
export const IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;
export const IOMMU_HWPT_FAULT_ID_VALID = 1 << 2;
/** enum iommu_hwpt_data_type */
export const IOMMU_HWPT_DATA_NONE = 0;

/** struct iommufd_hw_pagetable */
export interface IommufdHwpt extends IommufdObject {
  readonly type: 'HWPT_PAGING' | 'HWPT_NESTED';
  domain: IommuDomain | null;
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

/** find_hwpt_paging(): the paging HWPT behind a HWPT (itself; a nested one's parent is not modelled). */
export function findHwptPaging(hwpt: IommufdHwpt | null): HwptPaging | null {
  return hwpt?.type === 'HWPT_PAGING' ? (hwpt as HwptPaging) : null;
}

/** iommufd_hwpt_paging_destroy() (and _abort(), which is the same once nothing runs concurrently). */
function hwptPagingDestroy(ctx: IommufdCtx, hwpt: HwptPaging): void {
  const list = hwpt.ioas.hwptList;
  const i = list.indexOf(hwpt);
  if (i >= 0) {
    list.splice(i, 1);
    hwpt.ioas.iopt.removeDomain(hwpt.domain!);
  }
  // __iommufd_hwpt_destroy()
  if (hwpt.domain) iommu_domain_free(ctx.k, hwpt.domain);
  hwpt.domain = null;
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
): HwptPaging | number {
  const validFlags = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
  const k = ctx.k;
  const ops = dev_iommu_ops(idev.dev);
  if ((flags || data) && !ops.domain_alloc_user) return -EOPNOTSUPP;
  if (flags & ~validFlags) return -EOPNOTSUPP;
  if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING && !device_iommu_capable(k, idev.dev, 'DIRTY_TRACKING'))
    return -EOPNOTSUPP;
  const hwpt = ctx.allocObject((id, mem): HwptPaging => {
    const h: HwptPaging = {
      id,
      type: 'HWPT_PAGING',
      users: 1,
      mem,
      domain: null,
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
    ? ops.domain_alloc_user(k, idev.dev, flags, null, data)
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
    rc = iommufdHwptAttach(hwpt, idev);
    if (rc) {
      ctx.abortAndDestroy(hwpt);
      return rc;
    }
  }
  rc = ioas.iopt.addDomain(domain);
  if (rc) {
    if (immediateAttach) iommufdHwptDetach(idev);
    ctx.abortAndDestroy(hwpt);
    return rc;
  }
  ioas.hwptList.push(hwpt);
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

/** struct iommu_user_data of a command: copy_from_user() of its bytes from the process. */
function userData(ctx: IommufdCtx, type: number, uptr: bigint, len: number): IommuUserData {
  return {
    type,
    len,
    read: (n) => {
      const p = userPtr(uptr);
      return p < 0 ? -14 /* EFAULT */ : ctx.proc.read(p, n);
    },
  };
}

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
      const data = dataLen ? userData(ctx, dataType, n64(c.data_uptr), dataLen) : null;
      const r = hwptPagingAlloc(ctx, pt as IommufdIoas, idev, flags, false, data);
      if (typeof r === 'number') return r;
      hwpt = r;
    } else if (pt.type === 'HWPT_PAGING') {
      throw new NotModelledError('IOMMU_HWPT_ALLOC of a nested HWPT');
    } else {
      return -EINVAL;
    }
    // IOMMU_HWPT_FAULT_ID_VALID: the paging path refused it above (valid_flags), as 6.12 does.
    c.out_hwpt_id = hwpt.id;
    const rc = u.respond();
    if (rc) {
      ctx.abortAndDestroy(hwpt);
      return rc;
    }
    ctx.finalize(hwpt);
    return 0;
  },
};
