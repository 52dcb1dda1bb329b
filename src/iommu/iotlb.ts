// SPDX-License-Identifier: GPL-2.0-only
/**
 * An IOMMU instance's translation cache and what invalidating it costs.
 *
 * The hardware caches translations it walked (per domain, by IOVA page) and
 * keeps using them until software invalidates them; the kernel batches
 * invalidations in an iommu_iotlb_gather and issues them at
 * iommu_iotlb_sync() (strict) or later from a flush queue (DMA-FQ). The
 * model counts what a driver sends, in the terms of the common queue-based
 * designs (arm-smmu-v3's CMD_TLBI_NH_VA per page and CMD_SYNC, VT-d's
 * page-selective invalidations and wait descriptors): one command per page
 * of the range at the gather's page size, one per "invalidate all", one
 * sync per batch. A DMA that hits a cached translation whose page-table
 * entry is gone or changed is a stale-IOTLB use, the bug a missed flush
 * causes; it is recorded, and the device uses the stale translation as
 * hardware would.
 */
import type { IommuDomain } from './domain.js';

/** One cached translation: the physical page and whether reads and writes were allowed. */
interface TlbEntry {
  readonly phys: number;
  readonly read: boolean;
  readonly write: boolean;
}

export interface StaleIotlbUse {
  readonly domain: string;
  /** DMA-FQ: the window lazy invalidation allows; anything else: a missing invalidation. */
  readonly domainType: string;
  readonly iova: number;
  /** What the stale entry gave, and what the page table says now (null: unmapped). */
  readonly cachedPhys: number;
  readonly tablePhys: number | null;
  readonly device: string;
}

const PAGE = 4096;

export class Iotlb {
  /** Invalidation commands sent (per page, or one for a whole domain). */
  commands = 0;
  /** Completion waits (CMD_SYNC, wait descriptors). */
  syncs = 0;
  /** Pages named by range invalidations. */
  pages = 0;
  hits = 0;
  misses = 0;
  readonly staleUses: StaleIotlbUse[] = [];
  private readonly cache = new Map<IommuDomain, Map<number, TlbEntry>>();

  /** The cached translation of the 4K page holding `iova`, if any. */
  lookup(domain: IommuDomain, iova: number): TlbEntry | undefined {
    const e = this.cache.get(domain)?.get(Math.floor(iova / PAGE));
    if (e) this.hits++;
    else this.misses++;
    return e;
  }

  /** Remember a walked translation (physical page base of the 4K page holding `iova`). */
  fill(domain: IommuDomain, iova: number, physPage: number, read: boolean, write: boolean): void {
    let m = this.cache.get(domain);
    if (!m) this.cache.set(domain, (m = new Map()));
    m.set(Math.floor(iova / PAGE), { phys: physPage, read, write });
  }

  /**
   * Invalidate [start, end] of a domain at `pgsize` granularity: by default
   * one command per page of that size; a driver with range commands says how
   * many it sent (completion is a separate sync()).
   */
  invalidateRange(domain: IommuDomain, start: number, end: number, pgsize: number, commands?: number): void {
    const n = Math.max(1, Math.ceil((end - start + 1) / Math.max(pgsize, PAGE)));
    this.commands += commands ?? n;
    this.pages += n;
    const m = this.cache.get(domain);
    if (!m) return;
    const first = Math.floor(start / PAGE);
    const last = Math.floor(end / PAGE);
    // Whichever is smaller: the range or the cache.
    if (last - first + 1 < m.size) for (let p = first; p <= last; p++) m.delete(p);
    else for (const p of [...m.keys()]) if (p >= first && p <= last) m.delete(p);
  }

  /** Invalidate everything cached for a domain: one command (a context, ASID or domain invalidation). */
  invalidateAll(domain: IommuDomain): void {
    this.commands++;
    this.cache.delete(domain);
  }

  /** Wait for the commands sent so far to complete (CMD_SYNC, a wait descriptor, TLBSYNC). */
  sync(): void {
    this.syncs++;
  }

  /**
   * Forget a freed domain's entries without counting a command: its tag (ASID,
   * VMID, domain ID) is invalidated when it is handed out again.
   */
  drop(domain: IommuDomain): void {
    this.cache.delete(domain);
  }

  /** Entries cached for a domain. */
  cachedPages(domain: IommuDomain): number {
    return this.cache.get(domain)?.size ?? 0;
  }
}
