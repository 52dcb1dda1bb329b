// SPDX-License-Identifier: GPL-2.0-only
/**
 * Mapping into a paging domain (drivers/iommu/iommu.c iommu_pgsize(),
 * __iommu_map(), iommu_map(), __iommu_unmap(), iommu_unmap(),
 * iommu_unmap_fast(), iommu_iova_to_phys(), iommu_flush_iotlb_all();
 * include/linux/iommu.h struct iommu_iotlb_gather and its helpers).
 *
 * A request is cut into runs of the largest page size the domain supports
 * that the addresses' alignment and the remaining size allow, each handed to
 * the driver's map_pages()/unmap_pages(); a failed map unmaps what it had
 * mapped. Unmapped ranges are gathered and invalidated at iommu_iotlb_sync().
 * Addresses are numbers below 2^53 (the API edge converts bigints).
 */
import type { Kernel } from '../kernel/kernel.js';
import type { IommuDomain } from './domain.js';
import { __IOMMU_DOMAIN_PAGING } from './domain.js';
import { EINVAL, ENODEV } from '../kernel/errno.js';

/** struct iommu_iotlb_gather */
export interface IommuIotlbGather {
  start: number;
  end: number;
  pgsize: number;
  /** The flush queue takes the invalidation over (iommu-dma's lazy mode). */
  queued: boolean;
}

/** iommu_iotlb_gather_init() */
export function iommu_iotlb_gather_init(): IommuIotlbGather {
  return { start: Number.MAX_SAFE_INTEGER, end: 0, pgsize: 0, queued: false };
}

function resetGather(g: IommuIotlbGather): void {
  g.start = Number.MAX_SAFE_INTEGER;
  g.end = 0;
  g.pgsize = 0;
  g.queued = false;
}

/** iommu_iotlb_gather_is_disjoint() */
function is_disjoint(g: IommuIotlbGather, iova: number, size: number): boolean {
  const end = iova + size - 1;
  return g.end !== 0 && (end + 1 < g.start || iova > g.end + 1);
}

/** iommu_iotlb_gather_add_range() */
export function iommu_iotlb_gather_add_range(g: IommuIotlbGather, iova: number, size: number): void {
  const end = iova + size - 1;
  if (g.start > iova) g.start = iova;
  if (g.end < end) g.end = end;
}

/**
 * iommu_iotlb_gather_add_page(): a page of another size, or one that does
 * not touch the gathered range, syncs what was gathered first.
 */
export function iommu_iotlb_gather_add_page(
  k: Kernel,
  domain: IommuDomain,
  g: IommuIotlbGather,
  iova: number,
  size: number,
): void {
  if ((g.pgsize && g.pgsize !== size) || is_disjoint(g, iova, size)) iommu_iotlb_sync(k, domain, g);
  g.pgsize = size;
  iommu_iotlb_gather_add_range(g, iova, size);
}

/** iommu_iotlb_sync(): the driver invalidates what was gathered; the gather starts over. */
export function iommu_iotlb_sync(k: Kernel, domain: IommuDomain, g: IommuIotlbGather): void {
  domain.ops?.iotlb_sync?.(k, domain, g);
  resetGather(g);
}

/** iommu_flush_iotlb_all() */
export function iommu_flush_iotlb_all(k: Kernel, domain: IommuDomain): void {
  domain.ops?.flush_iotlb_all?.(k, domain);
}

const TWO32 = 2 ** 32;

/** BIT(__ffs(x)): the lowest set bit of a positive number below 2^53, as a value. */
export function lowBit(x: number): number {
  const lo = x % TWO32;
  if (lo) return (lo & -lo) >>> 0;
  const hi = (x - lo) / TWO32;
  return ((hi & -hi) >>> 0) * TWO32;
}

/** BIT(__fls(x)): the highest set bit of a positive number below 2^53, as a value. */
function highBit(x: number): number {
  if (x < TWO32) return 2 ** (31 - Math.clz32(x));
  return 2 ** (63 - Math.clz32(Math.floor(x / TWO32)));
}

/**
 * iommu_pgsize(): the biggest supported page size that `size` and the
 * alignment of iova and paddr allow, and how many of them to map before a
 * bigger size becomes possible. (GENMASK(n, 0) of a bitmap is the bitmap
 * modulo 2^(n+1); the numbers stay below 2^53.)
 */
export function iommu_pgsize(
  domain: IommuDomain,
  iova: number,
  paddr: number,
  size: number,
): { pgsize: number; count: number } {
  const bitmap = domain.pgsize_bitmap;
  let pgsizes = bitmap % (2 * highBit(size));
  // addr_merge = paddr | iova: its lowest set bit is the lower of the two's.
  const align =
    iova === 0
      ? paddr === 0
        ? 0
        : lowBit(paddr)
      : paddr === 0
        ? lowBit(iova)
        : Math.min(lowBit(iova), lowBit(paddr));
  if (align) pgsizes %= 2 * align;
  // The callers checked the smallest page's alignment, so some size remains (the kernel BUG_ON()s).
  if (!pgsizes) throw new Error('iommu_pgsize: no page size fits (BUG_ON(!pgsizes))');
  const pgsize = highBit(pgsizes);
  const bigger = bitmap - (bitmap % (2 * pgsize));
  if (bigger) {
    const next = lowBit(bigger);
    // A bigger page helps only if iova and paddr sit at the same offset within it.
    if (iova % next === paddr % next) {
      const offset = next - (iova % next);
      if (offset + next <= size) size = offset;
    }
  }
  return { pgsize, count: Math.floor(size / pgsize) };
}

/** __iommu_map() */
function __iommu_map(
  k: Kernel,
  domain: IommuDomain,
  iova: number,
  paddr: number,
  size: number,
  prot: number,
): number {
  const ops = domain.ops;
  if (!(domain.type & __IOMMU_DOMAIN_PAGING)) return -EINVAL;
  if (
    k.printk.warn(
      !ops?.map_pages || domain.pgsize_bitmap === 0,
      '__iommu_map',
      'WARN_ON(!ops->map_pages || domain->pgsize_bitmap == 0UL)',
    )
  )
    return -ENODEV;
  const min = lowBit(domain.pgsize_bitmap);
  if (iova % min || paddr % min || size % min) {
    k.printk.log(
      'err',
      'iommu',
      `unaligned: iova 0x${iova.toString(16)} pa 0x${paddr.toString(16)} size 0x${size.toString(16)} min_pagesz 0x${min.toString(16)}`,
    );
    return -EINVAL;
  }
  const origIova = iova;
  const origSize = size;
  let ret = 0;
  const out = { mapped: 0 };
  while (size) {
    const { pgsize, count } = iommu_pgsize(domain, iova, paddr, size);
    out.mapped = 0;
    ret = ops!.map_pages!(k, domain, iova, paddr, pgsize, count, prot, out);
    // Pages may have been mapped even when an error came back: count them for the unroll.
    size -= out.mapped;
    if (ret) break;
    iova += out.mapped;
    paddr += out.mapped;
  }
  if (ret) iommu_unmap(k, domain, origIova, origSize - size);
  return ret;
}

/** iommu_map(): map, then iotlb_sync_map(); a failure undoes the whole range. */
export function iommu_map(
  k: Kernel,
  domain: IommuDomain,
  iova: number,
  paddr: number,
  size: number,
  prot: number,
): number {
  let ret = __iommu_map(k, domain, iova, paddr, size, prot);
  if (ret === 0 && domain.ops?.iotlb_sync_map) {
    ret = domain.ops.iotlb_sync_map(k, domain, iova, size);
    if (ret) iommu_unmap(k, domain, iova, size);
  }
  return ret;
}

/**
 * iommu_map_sg(): map entries back to back from `iova`, merging those that
 * are physically contiguous into one __iommu_map(); then iotlb_sync_map().
 * The bytes mapped, or a negative errno with everything undone.
 */
export function iommu_map_sg_runs(
  k: Kernel,
  domain: IommuDomain,
  iova: number,
  entries: readonly { phys: number; length: number }[],
  prot: number,
): number {
  let mapped = 0;
  let start = 0;
  let len = 0;
  let ret = 0;
  for (let i = 0; i <= entries.length && ret === 0; i++) {
    // The last round only flushes the pending run.
    const e = entries[Math.min(i, entries.length - 1)];
    if (len && (i === entries.length || e.phys !== start + len)) {
      ret = __iommu_map(k, domain, iova + mapped, start, len, prot);
      if (ret) break;
      mapped += len;
      len = 0;
    }
    if (i === entries.length) break;
    if (len) len += e.length;
    else {
      len = e.length;
      start = e.phys;
    }
  }
  if (ret === 0 && domain.ops?.iotlb_sync_map) ret = domain.ops.iotlb_sync_map(k, domain, iova, mapped);
  if (ret) {
    iommu_unmap(k, domain, iova, mapped);
    return ret;
  }
  return mapped;
}

/** __iommu_unmap(): bytes unmapped, stopping at the first hole. */
function __iommu_unmap(
  k: Kernel,
  domain: IommuDomain,
  iova: number,
  size: number,
  gather: IommuIotlbGather,
): number {
  const ops = domain.ops;
  if (!(domain.type & __IOMMU_DOMAIN_PAGING)) return 0;
  if (
    k.printk.warn(
      !ops?.unmap_pages || domain.pgsize_bitmap === 0,
      '__iommu_unmap',
      'WARN_ON(!ops->unmap_pages || domain->pgsize_bitmap == 0UL)',
    )
  )
    return 0;
  const min = lowBit(domain.pgsize_bitmap);
  if (iova % min || size % min) {
    k.printk.log(
      'err',
      'iommu',
      `unaligned: iova 0x${iova.toString(16)} size 0x${size.toString(16)} min_pagesz 0x${min.toString(16)}`,
    );
    return 0;
  }
  let unmapped = 0;
  while (unmapped < size) {
    const { pgsize, count } = iommu_pgsize(domain, iova, iova, size - unmapped);
    const page = ops!.unmap_pages!(k, domain, iova, pgsize, count, gather);
    if (!page) break;
    iova += page;
    unmapped += page;
  }
  return unmapped;
}

/** iommu_unmap(): unmap and invalidate before returning (the strict path). */
export function iommu_unmap(k: Kernel, domain: IommuDomain, iova: number, size: number): number {
  const gather = iommu_iotlb_gather_init();
  const ret = __iommu_unmap(k, domain, iova, size, gather);
  iommu_iotlb_sync(k, domain, gather);
  return ret;
}

/** iommu_unmap_fast(): unmap, leaving the invalidation to the caller's gather. */
export function iommu_unmap_fast(
  k: Kernel,
  domain: IommuDomain,
  iova: number,
  size: number,
  gather: IommuIotlbGather,
): number {
  return __iommu_unmap(k, domain, iova, size, gather);
}

/** iommu_iova_to_phys(): identity domains translate 1:1; no translation is 0. */
export function iommu_iova_to_phys(k: Kernel, domain: IommuDomain, iova: number): number {
  if (domain.type === 4 /* IOMMU_DOMAIN_IDENTITY */) return iova;
  if (domain.type === 0 /* IOMMU_DOMAIN_BLOCKED */) return 0;
  return domain.ops?.iova_to_phys?.(k, domain, iova) ?? 0;
}
