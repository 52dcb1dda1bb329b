// SPDX-License-Identifier: GPL-2.0-only
// What rockchip-iommu.c (6.12) does to a rk_iommu_domain's tables, as Maps of
// page tables by DTE index holding entries by PTE index, written from the
// driver: rk_iommu_map() maps one page of pgsize whatever the count, as 4K
// entries of the IOVA's page table (allocated on first use, never freed);
// an entry already valid gives -EADDRINUSE after the call's own entries are
// invalidated again; rk_iommu_unmap() clears valid bits up to the first
// entry without one (0 when the DTE is not valid); IOVAs are 32 bits and
// output addresses keep 32 (v1) or 40 (v2) bits. No WARNs anywhere.
import type { PgtableLayout } from '../../src/pgtable/index.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/index.js';
import type { MapAnswer } from './oracle.js';
import { EINVAL, Oracle } from './oracle.js';

const EADDRINUSE = -98;
const SZ_4K = 0x1000;
const SZ_4M = 0x400000;
const TWO32 = 2 ** 32;

interface Pte {
  readonly pa: number;
  readonly prot: number;
  valid: boolean;
}

export class RockchipOracle extends Oracle {
  /** Page tables by DTE index, their entries (valid or not, once written) by PTE index. */
  private readonly pts = new Map<number, Map<number, Pte>>();
  private readonly paBits: number;

  constructor(private readonly layout: PgtableLayout) {
    super(layout);
    this.paBits = layout.oas;
  }

  tableCount(): number {
    return 1 + this.pts.size;
  }

  private ok(size: number, ...addrs: number[]): boolean {
    return this.layout.pgsizes.includes(size) && addrs.every((a) => a % size === 0);
  }

  map(iova: number, pa: number, size: number, _count: number, prot: number): MapAnswer {
    if (!this.ok(size, iova, pa)) return { errno: EINVAL, mapped: 0 };
    const v = iova % TWO32;
    const dte = Math.floor(v / SZ_4M);
    let pt = this.pts.get(dte);
    if (!pt) this.pts.set(dte, (pt = new Map()));
    const first = (v % SZ_4M) / SZ_4K;
    const n = size / SZ_4K;
    for (let i = 0; i < n; i++) {
      if (pt.get(first + i)?.valid) {
        for (let j = 0; j < i; j++) (pt.get(first + j) as Pte).valid = false;
        this.sync();
        return { errno: EADDRINUSE, mapped: 0 };
      }
      pt.set(first + i, { pa: (pa + i * SZ_4K) % 2 ** this.paBits, prot, valid: true });
    }
    this.sync();
    return { errno: 0, mapped: size };
  }

  unmap(iova: number, size: number): number {
    if (!this.ok(size, iova)) return 0;
    const v = iova % TWO32;
    const pt = this.pts.get(Math.floor(v / SZ_4M));
    if (!pt) return 0;
    const first = (v % SZ_4M) / SZ_4K;
    let n = 0;
    for (; n < size / SZ_4K; n++) {
      const e = pt.get(first + n);
      if (!e?.valid) break;
      e.valid = false;
    }
    this.sync();
    return n * SZ_4K;
  }

  private sync(): void {
    this.leaves.clear();
    for (const [dte, pt] of this.pts)
      for (const [i, e] of pt)
        if (e.valid)
          this.leaves.set(dte * SZ_4M + i * SZ_4K, {
            size: SZ_4K,
            pa: e.pa,
            prot: e.prot & (IOMMU_READ | IOMMU_WRITE),
          });
  }
}
