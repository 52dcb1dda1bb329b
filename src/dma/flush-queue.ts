// SPDX-License-Identifier: GPL-2.0-only
/**
 * The flush queue of a DMA-FQ domain (drivers/iommu/dma-iommu.c, 6.12:
 * queue_iova(), fq_ring_free_locked(), fq_flush_iotlb(), fq_flush_timeout(),
 * iommu_dma_init_fq(), iommu_dma_free_fq()).
 *
 * In lazy mode an unmap clears the page table but sends no invalidation; the
 * IOVA waits in a ring, stamped with the count of domain-wide flushes started
 * so far, and is only handed back to the allocator once a flush that started
 * after it has finished. A flush happens when a ring is full, or when the
 * timer (10 ms, 1 s for the single queue) fires. Until then the device may
 * still hit the old translation in its IOTLB: the window DMA-FQ trades for
 * fewer invalidations.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { IommuDmaCookie } from './cookie.js';
import type { IommuDomain } from '../iommu/domain.js';
import { TimerList } from '../kernel/timer.js';
import { free_iova_fast } from './iova-rcache.js';
import { iommu_flush_iotlb_all } from '../iommu/map.js';
import { ENOMEM } from '../kernel/errno.js';

/** struct iova_fq: a ring of (pfn, pages, counter) entries in typed arrays. */
export class IovaFq {
  head = 0;
  tail = 0;
  readonly mod_mask: number;
  readonly pfn: Float64Array;
  readonly pages: Float64Array;
  readonly counter: Float64Array;

  constructor(size: number) {
    this.mod_mask = size - 1;
    this.pfn = new Float64Array(size);
    this.pages = new Float64Array(size);
    this.counter = new Float64Array(size);
  }

  /** Entries waiting. */
  get length(): number {
    return (this.tail - this.head) & this.mod_mask;
  }
}

/** fq_full() */
function fq_full(fq: IovaFq): boolean {
  return ((fq.tail + 1) & fq.mod_mask) === fq.head;
}

/** fq_ring_free_locked(): give back every entry whose flush has finished. */
function fq_ring_free_locked(cookie: IommuDmaCookie, fq: IovaFq): void {
  const done = cookie.fq_flush_finish_cnt;
  while (fq.head !== fq.tail && fq.counter[fq.head] < done) {
    free_iova_fast(cookie.iovad!, fq.pfn[fq.head], fq.pages[fq.head]);
    fq.head = (fq.head + 1) & fq.mod_mask;
  }
}

/** fq_flush_iotlb(): one invalidation of the whole domain. */
function fq_flush_iotlb(k: Kernel, cookie: IommuDmaCookie): void {
  cookie.fq_flush_start_cnt++;
  iommu_flush_iotlb_all(k, cookie.fq_domain!);
  cookie.fq_flushes++;
  cookie.fq_flush_finish_cnt++;
}

/** fq_flush_timeout() */
function fq_flush_timeout(k: Kernel, cookie: IommuDmaCookie): void {
  cookie.fq_timer_on = false;
  fq_flush_iotlb(k, cookie);
  for (const fq of cookie.fqs) fq_ring_free_locked(cookie, fq);
}

/** queue_iova(): defer freeing [pfn, pfn + pages) until the domain has been flushed. */
export function queue_iova(k: Kernel, cookie: IommuDmaCookie, pfn: number, pages: number, cpu = 0): void {
  const fq = cookie.options.qt === 'single' ? cookie.fqs[0] : cookie.fqs[cpu];
  fq_ring_free_locked(cookie, fq);
  if (fq_full(fq)) {
    fq_flush_iotlb(k, cookie);
    fq_ring_free_locked(cookie, fq);
  }
  const idx = fq.tail;
  fq.tail = (fq.tail + 1) & fq.mod_mask;
  fq.pfn[idx] = pfn;
  fq.pages[idx] = pages;
  fq.counter[idx] = cookie.fq_flush_start_cnt;
  if (!cookie.fq_timer_on) {
    cookie.fq_timer_on = true;
    k.clock.mod_timer(cookie.fq_timer!, k.clock.now + cookie.options.fq_timeout);
  }
}

/** iommu_dma_init_fq(): 0, or -ENOMEM when the queue cannot be allocated. */
export function iommu_dma_init_fq(k: Kernel, domain: IommuDomain, nrCpus = 1): number {
  const cookie = domain.iova_cookie!;
  if (cookie.fq_domain) return 0;
  cookie.fq_flush_start_cnt = 0;
  cookie.fq_flush_finish_cnt = 0;
  const single = cookie.options.qt === 'single';
  // vmalloc() of the single queue, __alloc_percpu() of the per-CPU ones.
  if (
    !k.alloc.attempt(
      'iova_fq',
      domain.label,
      single ? 'iommu_dma_init_fq_single' : 'iommu_dma_init_fq_percpu',
    )
  ) {
    k.printk.log('warn', 'iommu', 'iova flush queue initialization failed');
    return -ENOMEM;
  }
  cookie.fqs = Array.from({ length: single ? 1 : nrCpus }, () => new IovaFq(cookie.options.fq_size));
  cookie.fq_timer = new TimerList(() => fq_flush_timeout(k, cookie));
  cookie.fq_timer_on = false;
  cookie.fq_domain = domain;
  return 0;
}

/** iommu_dma_free_fq(): stop the timer; the queued IOVAs go with the IOVA domain. */
export function iommu_dma_free_fq(k: Kernel, cookie: IommuDmaCookie): void {
  if (!cookie.fq_domain) return;
  if (cookie.fq_timer) k.clock.del_timer(cookie.fq_timer);
  cookie.fqs = [];
  cookie.fq_domain = null;
}
