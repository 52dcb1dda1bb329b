// SPDX-License-Identifier: GPL-2.0-only
/**
 * Coherent allocations through iommu-dma (drivers/iommu/dma-iommu.c, 6.12:
 * iommu_dma_alloc(), iommu_dma_alloc_remap(), __iommu_dma_alloc_noncontiguous(),
 * __iommu_dma_alloc_pages(), iommu_dma_alloc_pages(), iommu_dma_free()).
 *
 * A blocking allocation (the usual GFP_KERNEL) needs no physically
 * contiguous memory: pages come in the largest orders the domain's page sizes
 * allow, falling back to smaller ones, are split into single pages, mapped
 * back to back into one IOVA range, and remapped for the CPU.
 * DMA_ATTR_FORCE_CONTIGUOUS (and atomic allocations) take one contiguous
 * block and map it with __iommu_dma_map().
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import type { Allocation } from '../kernel/alloc.js';
import { PAGE_SIZE, MAX_PAGE_ORDER, get_order, pageAllocator } from '../mm/page-alloc.js';
import { physMem } from '../mm/phys-mem.js';
import { iommu_map_sg_runs, lowBit } from '../iommu/map.js';
import {
  DMA_ATTR_ALLOC_SINGLE_PAGES,
  DMA_ATTR_FORCE_CONTIGUOUS,
  __iommu_dma_map,
  __iommu_dma_unmap,
  dma_info_to_prot,
  dmaBitMask,
  iommu_get_dma_domain,
  iommuDmaAllocIova,
  iommuDmaFreeIova,
} from './dma-iommu.js';
import { DMA_MAPPING_ERROR } from './scatterlist.js';

/** A coherent buffer: its DMA handle and the physical pages behind its CPU mapping, in order. */
export interface DmaCoherent {
  readonly dma_handle: number;
  /** The size asked for (what dma_free_coherent() is given back). */
  readonly size: number;
  /** Each 4K page of the buffer's CPU view. */
  readonly pages: readonly number[];
  /** How it was allocated: pages mapped as a list (remap), or one block. */
  readonly kind: 'remap' | 'contiguous';
  /** The pages array kept for the remapped buffer (dma_common_find_pages()). */
  readonly pagesArray: Allocation | null;
  readonly order: number;
}

const PAGE_ALIGN = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/** __iommu_dma_free_pages() */
function freePageList(k: Kernel, pages: readonly number[]): void {
  const pa = pageAllocator(k);
  for (const p of pages) pa.free_pages(p, 0, '__iommu_dma_free_pages');
}

/**
 * __iommu_dma_alloc_pages(): `count` pages, each block the largest order in
 * order_mask that still fits, split into pages. null when a page of the
 * smallest allowed order cannot be had.
 */
function __iommu_dma_alloc_pages(k: Kernel, dev: Device, count: number, order_mask: number): number[] | null {
  order_mask %= 2 ** (MAX_PAGE_ORDER + 1);
  if (!order_mask) return null;
  const pa = pageAllocator(k);
  const pages: number[] = [];
  while (count) {
    let page = -1;
    let order_size = 0;
    // Orders above what is left are no use.
    order_mask %= 2 * 2 ** Math.floor(Math.log2(count));
    while (order_mask) {
      const order = Math.floor(Math.log2(order_mask));
      order_size = 2 ** order;
      page = pa.alloc_pages(order, dev.name, '__iommu_dma_alloc_pages');
      if (page >= 0) {
        if (order) pa.split_page(page, order);
        break;
      }
      order_mask -= order_size;
    }
    if (page < 0) {
      freePageList(k, pages);
      return null;
    }
    count -= order_size;
    for (let i = 0; i < order_size; i++) pages.push(page + i * PAGE_SIZE);
  }
  return pages;
}

/** __iommu_dma_alloc_noncontiguous() + iommu_dma_alloc_remap() */
function iommu_dma_alloc_remap(k: Kernel, dev: Device, asked: number, attrs: number): DmaCoherent | null {
  let size = asked;
  const domain = iommu_get_dma_domain(dev);
  const cookie = domain.iova_cookie!;
  const ioprot = dma_info_to_prot('bidirectional', dev.dma_coherent, attrs);
  let alloc_sizes = domain.pgsize_bitmap;
  let min_size = lowBit(alloc_sizes);
  if (min_size < PAGE_SIZE) {
    min_size = PAGE_SIZE;
    alloc_sizes += alloc_sizes % (2 * PAGE_SIZE) >= PAGE_SIZE ? 0 : PAGE_SIZE;
  } else size = Math.ceil(size / min_size) * min_size;
  if (attrs & DMA_ATTR_ALLOC_SINGLE_PAGES) alloc_sizes = min_size;
  const count = PAGE_ALIGN(size) / PAGE_SIZE;
  const pagesArray = k.alloc.alloc('dma pages array', dev, '__iommu_dma_alloc_pages');
  if (!pagesArray) return null;
  const pages = __iommu_dma_alloc_pages(k, dev, count, Math.floor(alloc_sizes / PAGE_SIZE));
  if (!pages) {
    k.alloc.free(pagesArray, '__iommu_dma_alloc_pages');
    return null;
  }
  const g = cookie.iovad!.granule;
  size = Math.ceil(size / g) * g;
  const iova = iommuDmaAllocIova(k, domain, size, dmaBitMask(dev.coherent_dma_mask_bits), dev);
  let ok = false;
  if (iova) {
    // sg_alloc_table_from_pages(): a temporary table, freed before returning.
    if (k.alloc.attempt('sg_table', dev.name, 'sg_alloc_table_from_pages')) {
      const mapped = iommu_map_sg_runs(
        k,
        domain,
        iova,
        pages.map((p) => ({ phys: p, length: PAGE_SIZE })),
        ioprot,
      );
      ok = mapped >= size;
    }
    if (!ok) iommuDmaFreeIova(k, cookie, iova, size, null);
  }
  // dma_common_pages_remap() would come next: its vmap is not modelled as failing.
  if (!ok) {
    freePageList(k, pages);
    k.alloc.free(pagesArray, '__iommu_dma_alloc_pages');
    return null;
  }
  zero(k, pages);
  return { dma_handle: iova, size: asked, pages, kind: 'remap', pagesArray, order: 0 };
}

function zero(k: Kernel, pages: readonly number[]): void {
  const z = new Uint8Array(PAGE_SIZE);
  for (const p of pages) physMem(k).write(p, z);
}

/**
 * iommu_dma_alloc(): a zeroed buffer mapped for the device, or null.
 * `blocking` is gfpflags_allow_blocking(gfp).
 */
export function iommu_dma_alloc(
  k: Kernel,
  dev: Device,
  size: number,
  attrs: number,
  blocking = true,
): DmaCoherent | null {
  if (blocking && !(attrs & DMA_ATTR_FORCE_CONTIGUOUS)) return iommu_dma_alloc_remap(k, dev, size, attrs);
  // iommu_dma_alloc_pages(): one block (dma_alloc_contiguous() has no CMA area here).
  const order = get_order(PAGE_ALIGN(size));
  const phys = pageAllocator(k).alloc_pages(order, dev.name, 'iommu_dma_alloc_pages');
  if (phys < 0) return null;
  const pages = Array.from({ length: PAGE_ALIGN(size) / PAGE_SIZE }, (_, i) => phys + i * PAGE_SIZE);
  zero(k, pages);
  const handle = __iommu_dma_map(
    k,
    dev,
    phys,
    size,
    dma_info_to_prot('bidirectional', dev.dma_coherent, attrs),
    dmaBitMask(dev.coherent_dma_mask_bits),
  );
  if (handle === DMA_MAPPING_ERROR) {
    pageAllocator(k).free_pages(phys, order, 'iommu_dma_alloc');
    return null;
  }
  return { dma_handle: handle, size, pages, kind: 'contiguous', pagesArray: null, order };
}

/** iommu_dma_free(): unmap, then give the pages back. */
export function iommu_dma_free(k: Kernel, dev: Device, buf: DmaCoherent): void {
  __iommu_dma_unmap(k, dev, buf.dma_handle, buf.size);
  if (buf.kind === 'remap') {
    freePageList(k, buf.pages);
    k.alloc.free(buf.pagesArray, 'dma_common_free_remap');
  } else pageAllocator(k).free_pages(buf.pages[0], buf.order, 'dma_free_contiguous');
}
