// SPDX-License-Identifier: GPL-2.0-only
/**
 * The page allocator that DMA buffers come from (alloc_pages() and
 * __free_pages() in mm/page_alloc.c, reduced to what DMA needs): naturally
 * aligned blocks of 2^order 4 KiB pages from RAM starting at 2 GiB, freed
 * blocks reused first. Every block is a tracked allocation, so fail-nth can
 * fail it and a buffer never freed is a leak. Page-table pages come from
 * their own pool (table-memory.ts).
 */
import type { Allocation } from '../kernel/alloc.js';
import type { Kernel } from '../kernel/kernel.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** Where DMA buffers start: above the page-table pool. */
export const DMA_RAM_BASE = 0x8000_0000;
/** MAX_PAGE_ORDER (4 MiB blocks with 4K pages). */
export const MAX_PAGE_ORDER = 10;

export class PageAllocator {
  private next = DMA_RAM_BASE;
  private readonly free = Array.from({ length: MAX_PAGE_ORDER + 1 }, () => [] as number[]);
  private readonly live = new Map<number, { order: number; a: Allocation }>();
  /** Pages of split blocks: page -> its block; the block goes back when its last page does. */
  private readonly splitOf = new Map<number, { phys: number; order: number; a: Allocation; left: number }>();

  constructor(private readonly k: Kernel) {}

  /** alloc_pages(): a block's physical address, or -1 (fail-nth, or an order above MAX_PAGE_ORDER). */
  alloc_pages(order: number, owner: string, site: string): number {
    if (!(Number.isInteger(order) && order >= 0 && order <= MAX_PAGE_ORDER)) return -1;
    const a = this.k.alloc.alloc(`pages (order ${order})`, owner, site);
    if (!a) return -1;
    let phys = this.free[order].pop();
    if (phys === undefined) {
      const size = PAGE_SIZE * 2 ** order;
      phys = Math.ceil(this.next / size) * size;
      this.next = phys + size;
    }
    this.live.set(phys, { order, a });
    return phys;
  }

  /** split_page(): a block becomes 2^order pages, each freed on its own with free_pages(page, 0). */
  split_page(phys: number, order: number): void {
    const e = this.live.get(phys);
    if (!e || e.order !== order || order === 0) return;
    this.live.delete(phys);
    const block = { phys, order, a: e.a, left: 2 ** order };
    for (let i = 0; i < block.left; i++) this.splitOf.set(phys + i * PAGE_SIZE, block);
  }

  /** __free_pages(): the block must be live and of that order. */
  free_pages(phys: number, order: number, site: string): void {
    const sp = order === 0 ? this.splitOf.get(phys) : undefined;
    if (sp) {
      this.splitOf.delete(phys);
      if (--sp.left === 0) {
        this.k.alloc.free(sp.a, site);
        this.free[sp.order].push(sp.phys);
      }
      return;
    }
    const e = this.live.get(phys);
    if (!e || e.order !== order) {
      this.k.printk.warn(
        true,
        site,
        `freeing 0x${phys.toString(16)} (order ${order}), which is not an allocated block`,
      );
      return;
    }
    this.live.delete(phys);
    this.k.alloc.free(e.a, site);
    this.free[order].push(phys);
  }

  /** The order of the live block at phys (0 for a page of a split block), or -1. */
  orderOf(phys: number): number {
    if (this.splitOf.has(phys)) return 0;
    return this.live.get(phys)?.order ?? -1;
  }
}

const allocators = new WeakMap<Kernel, PageAllocator>();

export function pageAllocator(k: Kernel): PageAllocator {
  let p = allocators.get(k);
  if (!p) allocators.set(k, (p = new PageAllocator(k)));
  return p;
}

/** get_order(): the order of the smallest block holding `size` bytes. */
export function get_order(size: number): number {
  let order = 0;
  while (PAGE_SIZE * 2 ** order < size) order++;
  return order;
}
