// SPDX-License-Identifier: GPL-2.0-only
/**
 * The pages IOMMU page tables are allocated from (iommu_alloc_pages_node(),
 * iommu_free_pages() in drivers/iommu/iommu-pages.h), one pool per modelled
 * kernel. Each table page is a tracked allocation: fail-nth can make any of
 * them fail (the page-table code then unwinds as the kernel's does), and a
 * table still live at teardown is a leak named by the domain that owned it.
 *
 * The pool starts at 1 GiB and stays below 4 GiB, so every format's tables
 * are addressable by its walker (v7s wants them there: ARM_V7S_TABLE_GFP_DMA).
 */
import type { Allocation } from '../kernel/alloc.js';
import type { Kernel } from '../kernel/kernel.js';
import { TableMemory } from '../pgtable/memory.js';

export const PGTABLE_POOL_BASE = 0x4000_0000;

export class TrackedTableMemory extends TableMemory {
  /** Who the next allocations belong to: the domain whose table is being changed. */
  owner = 'io-pgtable';
  private readonly held = new Map<number, Allocation>();

  constructor(private readonly k: Kernel) {
    super({ base: PGTABLE_POOL_BASE });
  }

  override alloc(bytes: number): number {
    const a = this.k.alloc.alloc('io-pgtable table', this.owner, 'iommu_alloc_pages_node');
    if (!a) return -1;
    const phys = super.alloc(bytes);
    if (phys < 0) {
      this.k.alloc.free(a, 'iommu_alloc_pages_node');
      return -1;
    }
    this.held.set(phys, a);
    return phys;
  }

  override free(phys: number, bytes: number): void {
    super.free(phys, bytes);
    this.k.alloc.free(this.held.get(phys), 'iommu_free_pages');
    this.held.delete(phys);
  }
}

const pools = new WeakMap<Kernel, TrackedTableMemory>();

/** The kernel's pool is done with (teardown()): its memory goes to the next kernel's when no table is live. */
export function disposePgtableMemory(k: Kernel): void {
  pools.get(k)?.dispose();
}

/** The kernel's page-table pool. */
export function pgtableMemory(k: Kernel): TrackedTableMemory {
  let m = pools.get(k);
  if (!m) pools.set(k, (m = new TrackedTableMemory(k)));
  return m;
}
