// SPDX-License-Identifier: GPL-2.0-only
/**
 * Dirty tracking of a paging HWPT (drivers/iommu/iommufd/io_pagetable.c
 * iopt_set_dirty_tracking(), iopt_read_and_clear_dirty_data(),
 * iommufd_check_iova_range(); hw_pagetable.c's two ioctls;
 * iova_bitmap.c, 6.12).
 *
 * Turning tracking on first clears every dirty bit of the IOAS's areas in
 * the domain, so the first read is a clean snapshot. A read walks the areas
 * covering [iova, iova + length) (a hole is -EINVAL) and the driver reports
 * each dirty range into the user's bitmap: bit i of the u64 words at `data`
 * stands for page_size bytes at iova + i * page_size. A range the bitmap
 * cannot hold (a 1 MiB mock page reported into a shorter window) is
 * -EPROTO at the end, after everything else was read; bitmap bytes the
 * kernel cannot pin (not writable user memory) are skipped without an
 * error, as iova_bitmap_set() does, and their dirty bits are lost.
 *
 * Not modelled: the IOTLB gather a driver's read fills and the sync after
 * it (only the mock has dirty ops in the model, and it has no IOTLB).
 */
import { EINVAL, ENOMEM, EOPNOTSUPP, EOVERFLOW, EPROTO } from '../kernel/errno.js';
import type { IommuDomain } from '../iommu/domain.js';
import { copyFromUser, copyToUser } from './user-arg.js';
import type { IommufdCtx } from './ctx.js';
import type { IoPagetable } from './io-pagetable.js';
import { ULONG_MAX } from './io-pagetable.js';
import { getHwptPaging } from './hw-pagetable.js';
import type { Handler } from './ucmd.js';
import { n32, n64 } from './ucmd.js';

/** enum iommufd_hwpt_set_dirty_tracking_flags / iommufd_hwpt_get_dirty_bitmap_flags */
export const IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1;
export const IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1;

/** struct iommu_hwpt_get_dirty_bitmap's range and bitmap. */
export interface DirtyBitmapArgs {
  readonly iova: bigint;
  readonly length: bigint;
  readonly pageSize: bigint;
  /** The user address of the bitmap's u64 words. */
  readonly data: bigint;
}

/** iommufd_check_iova_range(): the range must be whole pages of the IOAS and of the bitmap. */
export function checkIovaRange(iopt: IoPagetable, b: DirtyBitmapArgs): number {
  const align = iopt.iovaAlignment;
  if (!b.length) return -EINVAL;
  const last = b.iova + b.length - 1n;
  if (last > ULONG_MAX) return -EOVERFLOW;
  if (b.iova & (align - 1n) || (last + 1n) & (align - 1n)) return -EINVAL;
  if (!b.pageSize) return -EINVAL;
  // As the kernel masks with page_size - 1: a size that is not a power of two checks what that mask checks.
  const m = (b.pageSize - 1n) & ULONG_MAX;
  if (b.iova & m || (last + 1n) & ULONG_MAX & m) return -EINVAL;
  return 0;
}

/** struct iova_bitmap: the user's bitmap; bits are set in user memory as ranges come in. */
class IovaBitmap {
  err = 0;
  private readonly shift: bigint;

  constructor(
    private readonly ctx: IommufdCtx,
    private readonly b: DirtyBitmapArgs,
  ) {
    let s = 0n;
    while (!((b.pageSize >> s) & 1n)) s++; // __ffs(page_size)
    this.shift = s;
  }

  /** iova_bitmap_set(): bits for [iova, iova + length), which must lie inside the bitmap's range (else -EPROTO). */
  set(iova: number, length: number): void {
    const b = this.b;
    const i = BigInt(iova);
    const len = BigInt(length);
    if (!len || len > b.length || i < b.iova || i - b.iova > b.length - len) {
      if (!this.err) this.err = -EPROTO;
      return;
    }
    const first = (i - b.iova) >> this.shift;
    const last = (i + len - 1n - b.iova) >> this.shift;
    const proc = this.ctx.proc;
    // A byte at a time: the bits of [first, last] it holds.
    for (let byte = first >> 3n; byte <= last >> 3n; byte++) {
      const lo = byte << 3n > first ? 0n : first & 7n;
      const hi = (byte << 3n) + 7n < last ? 7n : last & 7n;
      const mask = ((1 << Number(hi - lo + 1n)) - 1) << Number(lo);
      const at = copyFromUser(proc, b.data, 1, Number(byte));
      // Not pinnable for writing: iova_bitmap_advance_to() fails and the bits are dropped.
      if (typeof at === 'number') continue;
      copyToUser(proc, b.data, Uint8Array.of(at[0] | mask), Number(byte));
    }
  }
}

/**
 * iommu_read_and_clear_dirty(): the driver's read over each contiguous
 * area of the range, into a bitmap allocated for the call.
 */
function iommuReadAndClearDirty(
  ctx: IommufdCtx,
  domain: IommuDomain,
  iopt: IoPagetable,
  flags: number,
  b: DirtyBitmapArgs,
): number {
  const ops = domain.dirty_ops;
  if (!ops) return -EOPNOTSUPP;
  const k = ctx.k;
  // iova_bitmap_alloc(): the struct and a page for the pinned page pointers.
  const mem = k.alloc.alloc('iova_bitmap', 'iommufd', 'iova_bitmap_alloc');
  if (!mem) return -ENOMEM;
  const pages = k.alloc.alloc('iova_bitmap pages', 'iommufd', 'iova_bitmap_alloc');
  if (!pages) {
    k.alloc.free(mem, 'iova_bitmap_free');
    return -ENOMEM;
  }
  const bitmap = new IovaBitmap(ctx, b);
  const record = (iova: number, length: number) => bitmap.set(iova, length);
  // iova_bitmap_for_each() -> __iommu_read_and_clear_dirty()
  let rc = iopt.forEachContigArea(b.iova, b.iova + b.length - 1n, (cur, last) =>
    ops.read_and_clear_dirty(k, domain, Number(cur), Number(last - cur + 1n), flags, record),
  );
  if (!rc) rc = bitmap.err;
  k.alloc.free(pages, 'iova_bitmap_free');
  k.alloc.free(mem, 'iova_bitmap_free');
  return rc;
}

/** iopt_set_dirty_tracking(): clear the areas' dirty bits before turning it on. */
function ioptSetDirtyTracking(
  ctx: IommufdCtx,
  iopt: IoPagetable,
  domain: IommuDomain,
  enable: boolean,
): number {
  const ops = domain.dirty_ops;
  if (!ops) return -EOPNOTSUPP;
  if (enable) {
    // iopt_clear_dirty_data()
    let rc = 0;
    for (const a of iopt.publishedAreas()) {
      rc = ops.read_and_clear_dirty(ctx.k, domain, Number(a.start), Number(a.last - a.start + 1n), 0, null);
      if (rc) break;
    }
    if (rc) return rc;
  }
  return ops.set_dirty_tracking(ctx.k, domain, enable);
}

export const dirtyHandlers: Readonly<Record<string, Handler>> = {
  /** iommufd_hwpt_set_dirty_tracking() */
  IOMMU_HWPT_SET_DIRTY_TRACKING: (u) => {
    const flags = n32(u.cmd.flags);
    if (flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) return -EOPNOTSUPP;
    const hwpt = getHwptPaging(u.ctx, n32(u.cmd.hwpt_id));
    if (typeof hwpt === 'number') return hwpt;
    return ioptSetDirtyTracking(
      u.ctx,
      hwpt.ioas.iopt,
      hwpt.domain!,
      (flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE) !== 0,
    );
  },

  /** iommufd_hwpt_get_dirty_bitmap() + iopt_read_and_clear_dirty_data() */
  IOMMU_HWPT_GET_DIRTY_BITMAP: (u) => {
    const c = u.cmd;
    const flags = n32(c.flags);
    if (flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR || c.__reserved) return -EOPNOTSUPP;
    const hwpt = getHwptPaging(u.ctx, n32(c.hwpt_id));
    if (typeof hwpt === 'number') return hwpt;
    const b: DirtyBitmapArgs = {
      iova: n64(c.iova),
      length: n64(c.length),
      pageSize: n64(c.page_size),
      data: n64(c.data),
    };
    const iopt = hwpt.ioas.iopt;
    const rc = checkIovaRange(iopt, b);
    if (rc) return rc;
    return iommuReadAndClearDirty(u.ctx, hwpt.domain!, iopt, flags, b);
  },
};
