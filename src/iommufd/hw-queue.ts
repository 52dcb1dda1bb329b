// SPDX-License-Identifier: GPL-2.0-only
/**
 * HW queues (drivers/iommu/iommufd/viommu.c, v6.17 on:
 * iommufd_hw_queue_alloc_ioctl(), iommufd_hw_queue_alloc_phys(),
 * iommufd_hw_queue_destroy()).
 *
 * A VM's command or event queue the hardware reads directly (a vCMDQ):
 * the guest's queue memory, given as an IOVA of the vIOMMU's nest-parent
 * IOAS, must be physically contiguous, and is pinned by an internal access
 * that locks its areas, so IOAS_UNMAP of them is -EBUSY while the queue
 * lives (the hardware would otherwise keep reading freed pages).
 */
import type { Allocation } from '../kernel/alloc.js';
import { EFAULT, EINVAL, ENOMEM, EOPNOTSUPP, EOVERFLOW, ERANGE } from '../kernel/errno.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';
import type { IommufdAccess } from './access.js';
import {
  iommufdAccessAttachInternal,
  iommufdAccessCreateInternal,
  iommufdAccessDestroyInternal,
  iommufdAccessDetachInternal,
  iommufdAccessPinPages,
  iommufdAccessUnpinPages,
} from './access.js';
import { PAGE_SIZE, ULONG_MAX } from './io-pagetable.js';
import type { IommufdViommu } from './viommu.js';
import { getViommu } from './viommu.js';
import type { Handler } from './ucmd.js';
import { n32, n64 } from './ucmd.js';

/** IOMMU_HW_QUEUE_TYPE_DEFAULT: no driver has a queue of it. */
export const IOMMU_HW_QUEUE_TYPE_DEFAULT = 0;

/** struct iommufd_hw_queue */
export interface IommufdHwQueue extends IommufdObject {
  readonly type: 'HW_QUEUE';
  viommu: IommufdViommu | null;
  access: IommufdAccess | null;
  hwQueueType: number;
  /** The IOVA and length the user gave. */
  baseAddr: bigint;
  length: bigint;
  /** Set by the driver's init: its part of the destroy. */
  driverDestroy: ((q: IommufdHwQueue) => void) | null;
  /** The driver's own part of the object. */
  driverData: unknown;
}

/** iommufd_hw_queue_destroy_access(): unpin the page-aligned range, off the IOAS, gone. */
function destroyAccess(access: IommufdAccess, base: bigint, length: bigint): void {
  const aligned = base & ~(PAGE_SIZE - 1n);
  const offset = base - aligned;
  iommufdAccessUnpinPages(access, aligned, ((length + offset + PAGE_SIZE - 1n) / PAGE_SIZE) * PAGE_SIZE);
  iommufdAccessDetachInternal(access);
  iommufdAccessDestroyInternal(access);
}

/** iommufd_hw_queue_destroy() */
function hwQueueDestroy(q: IommufdHwQueue): void {
  q.driverDestroy?.(q);
  if (q.access) destroyAccess(q.access, q.baseAddr, q.length);
  if (q.viommu) q.viommu.users--;
}

/**
 * iommufd_hw_queue_alloc_phys(): pin [PAGE_ALIGN_DOWN(iova), ...) of the
 * parent IOAS through an internal access; the frames must follow each
 * other (-EFAULT). The access and the queue memory's physical start.
 */
function allocPhys(
  ctx: IommufdCtx,
  viommu: IommufdViommu,
  iova: bigint,
  length: bigint,
): { access: IommufdAccess; basePa: number } | number {
  const aligned = iova & ~(PAGE_SIZE - 1n);
  const offset = iova - aligned;
  let len = offset + length;
  if (len > ULONG_MAX) return -ERANGE;
  len += PAGE_SIZE - 1n;
  if (len > ULONG_MAX) return -ERANGE;
  const npages = len / PAGE_SIZE;
  len = npages * PAGE_SIZE;
  // kvcalloc() of the page array.
  const arr = ctx.k.alloc.alloc('hw_queue pages', 'iommufd', 'iommufd_hw_queue_alloc_phys');
  if (!arr) return -ENOMEM;
  const done = (rc: number): number => {
    ctx.k.alloc.free(arr, 'iommufd_hw_queue_alloc_phys');
    return rc;
  };
  const access = iommufdAccessCreateInternal(ctx);
  if (typeof access === 'number') return done(access);
  let rc = iommufdAccessAttachInternal(access, viommu.hwpt.ioas);
  if (rc) {
    iommufdAccessDestroyInternal(access);
    return done(rc);
  }
  const frames = iommufdAccessPinPages(access, aligned, len, 0);
  if (typeof frames === 'number') rc = frames;
  else if (frames.some((f, i) => i > 0 && f !== frames[i - 1] + Number(PAGE_SIZE))) {
    iommufdAccessUnpinPages(access, aligned, len);
    rc = -EFAULT;
  }
  if (rc) {
    iommufdAccessDetachInternal(access);
    iommufdAccessDestroyInternal(access);
    return done(rc);
  }
  done(0);
  return { access, basePa: (frames as number[])[0] + Number(offset) };
}

export const hwQueueHandlers: Readonly<Record<string, Handler>> = {
  /** iommufd_hw_queue_alloc_ioctl() */
  IOMMU_HW_QUEUE_ALLOC: (u) => {
    const c = u.cmd;
    const ctx = u.ctx;
    const type = n32(c.type);
    const length = n64(c.length);
    const iova = n64(c.nesting_parent_iova);
    if (c.flags || type === IOMMU_HW_QUEUE_TYPE_DEFAULT) return -EOPNOTSUPP;
    if (!length) return -EINVAL;
    if (iova + length - 1n > ULONG_MAX) return -EOVERFLOW;
    const viommu = getViommu(ctx, n32(c.viommu_id));
    if (typeof viommu === 'number') return viommu;
    const ops = viommu.ops;
    if (!ops?.get_hw_queue_size || !ops.hw_queue_init_phys) return -EOPNOTSUPP;
    if (!ops.get_hw_queue_size(viommu, type)) return -EOPNOTSUPP;
    const q = ctx.allocObject((id, mem: Allocation): IommufdHwQueue => {
      const h: IommufdHwQueue = {
        id,
        type: 'HW_QUEUE',
        users: 1,
        mem,
        viommu: null,
        access: null,
        hwQueueType: type,
        baseAddr: 0n,
        length: 0n,
        driverDestroy: null,
        driverData: null,
        destroy: () => hwQueueDestroy(h),
      };
      return h;
    }, 'hw_queue');
    if (typeof q === 'number') return q;
    const phys = allocPhys(ctx, viommu, iova, length);
    if (typeof phys === 'number') {
      ctx.abortAndDestroy(q);
      return phys;
    }
    q.viommu = viommu;
    viommu.users++;
    q.access = phys.access;
    q.length = length;
    q.baseAddr = iova;
    let rc = ops.hw_queue_init_phys(ctx.k, q, n32(c.index), phys.basePa);
    if (!rc) {
      c.out_hw_queue_id = q.id;
      rc = u.respond();
    }
    if (rc) {
      ctx.abortAndDestroy(q);
      return rc;
    }
    ctx.finalize(q);
    return 0;
  },
};
