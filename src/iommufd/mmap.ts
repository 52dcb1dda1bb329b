// SPDX-License-Identifier: GPL-2.0-only
/**
 * Driver pages user space can mmap() through /dev/iommu (drivers/iommu/
 * iommufd/main.c, v6.16 on: _iommufd_alloc_mmap(), _iommufd_destroy_mmap(),
 * iommufd_fops_mmap() and its vm_ops).
 *
 * A driver registers a page-aligned physical range for an object it owns (a
 * vIOMMU's doorbell or queue pages) and gets a file offset for it: the
 * lowest free range of the context's mmap tree from PAGE_SIZE (offset 0 is
 * never handed out). mmap() must ask for exactly one registered range,
 * shared and not executable; each mapping holds its owner (so IOMMU_DESTROY
 * of it is -EBUSY until munmap()).
 */
import { EINVAL, ENOMEM, ENXIO, EPERM } from '../kernel/errno.js';
import type { Allocation } from '../kernel/alloc.js';
import type { FileMapping } from '../mm/user-mm.js';
import { USER_PAGE_SIZE } from '../mm/user-mm.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';

/** struct iommufd_mmap */
export interface IommufdMmap {
  readonly owner: IommufdObject;
  /** The file offset (startp) and length, in bytes. */
  readonly offset: number;
  readonly length: number;
  /** The physical range it maps. */
  readonly mmioAddr: number;
  readonly mem: Allocation;
}

/** _iommufd_alloc_mmap(): the offset to mmap() the range at, or an errno. */
export function iommufdAllocMmap(
  ctx: IommufdCtx,
  owner: IommufdObject,
  mmioAddr: number,
  length: number,
): number {
  if (mmioAddr % USER_PAGE_SIZE) return -EINVAL;
  if (!length || length % USER_PAGE_SIZE) return -EINVAL;
  const mem = ctx.k.alloc.alloc('iommufd_mmap', 'iommufd', '_iommufd_alloc_mmap');
  if (!mem) return -ENOMEM;
  // mtree_alloc_range(): the lowest gap from PAGE_SIZE.
  let at = USER_PAGE_SIZE;
  for (const m of ctx.mmaps) {
    if (m.offset - at >= length) break;
    at = Math.max(at, m.offset + m.length);
  }
  const immap: IommufdMmap = { owner, offset: at, length, mmioAddr, mem };
  ctx.mmaps.push(immap);
  ctx.mmaps.sort((a, b) => a.offset - b.offset);
  return at;
}

/** _iommufd_destroy_mmap(): the range is gone from the tree. */
export function iommufdDestroyMmap(ctx: IommufdCtx, offset: number): void {
  const i = ctx.mmaps.findIndex((m) => m.offset === offset);
  if (ctx.k.printk.warn(i < 0, '_iommufd_destroy_mmap', 'WARN_ON_ONCE(immap != mtree_erase())')) return;
  const [m] = ctx.mmaps.splice(i, 1);
  ctx.k.alloc.free(m.mem, '_iommufd_destroy_mmap');
}

/**
 * iommufd_fops_mmap(): a mapping of exactly one registered range (-ENXIO
 * otherwise), shared (-EINVAL) and not executable (-EPERM). Each piece of
 * the mapping holds the owner.
 */
export function iommufdFopsMmap(
  ctx: IommufdCtx,
  pgoff: number,
  length: number,
  shared: boolean,
  exec: boolean,
): FileMapping | number {
  if (length % USER_PAGE_SIZE) return -EINVAL;
  if (!shared) return -EINVAL;
  if (exec) return -EPERM;
  const off = pgoff * USER_PAGE_SIZE;
  const immap = ctx.mmaps.find((m) => off >= m.offset && off < m.offset + m.length);
  if (!immap || immap.offset !== off || immap.length !== length) return -ENXIO;
  immap.owner.users++;
  return {
    // VM_PFNMAP: the pages are the range's, not the process's.
    physOf: (pageIndex) => immap.mmioAddr + pageIndex * USER_PAGE_SIZE,
    open: () => immap.owner.users++,
    close: () => immap.owner.users--,
  };
}
