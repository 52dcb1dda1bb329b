// SPDX-License-Identifier: GPL-2.0-only
/**
 * What happened to DMA in a run, as plain data: each IOMMU instance's
 * invalidation counts and IOTLB hits, every fault a device took (with the
 * lines the driver printed), and every use of a stale IOTLB entry.
 */
import type { Kernel } from '../kernel/kernel.js';

export interface IotlbJson {
  /** Invalidation commands (per page, per range command, or per domain). */
  readonly commands: number;
  /** Completion waits. */
  readonly syncs: number;
  /** Pages named by range invalidations. */
  readonly pages: number;
  readonly hits: number;
  readonly misses: number;
}

export interface DmaFaultJson {
  readonly device: string;
  readonly iommu: string;
  readonly domain: string;
  readonly domainType: string;
  readonly iova: string;
  readonly access: 'read' | 'write';
  readonly reason: string;
  readonly log: readonly string[];
}

export interface StaleIotlbJson {
  readonly device: string;
  readonly iommu: string;
  readonly domain: string;
  readonly domainType: string;
  readonly iova: string;
  /** Where the stale entry sent the access, and what the page table says now (null: unmapped). */
  readonly cachedPhys: string;
  readonly tablePhys: string | null;
  /** True under DMA-FQ, where the window until the queue flushes is by design. */
  readonly lazyWindow: boolean;
}

export interface DmaJson {
  readonly faults: DmaFaultJson[];
  readonly staleIotlbUses: StaleIotlbJson[];
}

const hex = (v: number): string => `0x${v.toString(16)}`;

export function iotlbJson(k: Kernel, name: string): IotlbJson | null {
  const i = k.iommu.device_list.find((d) => d.name === name);
  if (!i) return null;
  const t = i.iotlb;
  return { commands: t.commands, syncs: t.syncs, pages: t.pages, hits: t.hits, misses: t.misses };
}

export function dmaJson(k: Kernel): DmaJson {
  const faults: DmaFaultJson[] = [];
  const stale: StaleIotlbJson[] = [];
  for (const i of k.iommu.device_list) {
    for (const f of i.faults)
      faults.push({
        device: f.device,
        iommu: f.iommu,
        domain: f.domain,
        domainType: f.domainType,
        iova: hex(f.iova),
        access: f.write ? 'write' : 'read',
        reason: f.reason,
        log: f.log,
      });
    for (const s of i.iotlb.staleUses)
      stale.push({
        device: s.device,
        iommu: i.name,
        domain: s.domain,
        domainType: s.domainType,
        iova: hex(s.iova),
        cachedPhys: hex(s.cachedPhys),
        tablePhys: s.tablePhys === null ? null : hex(s.tablePhys),
        lazyWindow: s.domainType === 'DMA-FQ',
      });
  }
  return { faults, staleIotlbUses: stale };
}
