// SPDX-License-Identifier: GPL-2.0-only
// What exynos-iommu.c (6.12) does to an exynos_iommu_domain's tables, as a
// Map of level-1 entries (a section, a level-2 table of entries, or
// ZERO_LV2LINK) with the driver's free-entry counters, written from
// exynos_iommu_map()/_unmap(): one page of pgsize per call; anything in the
// way is -EADDRINUSE with a WARN, except an empty level-2 table under a new
// section, which is freed; a large page that meets a used entry clears what
// it wrote; unmapping a hole "unmaps" min(size, 1M) at level 1 or 4K at
// level 2; less than a present section or large page is a WARN and 0; a
// section unmapped becomes ZERO_LV2LINK. IOVAs are 32 bits; entries keep
// 32 (v1) or 36 (v5) address bits.
import type { PgtableLayout } from '../../src/pgtable/index.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/index.js';
import type { MapAnswer } from './oracle.js';
import { EINVAL, Oracle } from './oracle.js';

const EADDRINUSE = -98;
const SZ_4K = 0x1000;
const SZ_64K = 0x10000;
const SZ_1M = 0x10_0000;

interface L2 {
  readonly pa: number;
  readonly prot: number;
  readonly large: boolean;
}
type L1 =
  | { readonly kind: 'section'; readonly pa: number; readonly prot: number }
  | { readonly kind: 'table'; readonly entries: Map<number, L2> }
  | { readonly kind: 'zero' };

export class ExynosOracle extends Oracle {
  private readonly l1 = new Map<number, L1>();
  /** lv2entcnt: free level-2 entries per section. */
  private readonly cnt = new Map<number, number>();
  private readonly paBits: number;

  constructor(private readonly layout: PgtableLayout) {
    super(layout);
    this.paBits = layout.oas;
  }

  tableCount(): number {
    return 1 + [...this.l1.values()].filter((e) => e.kind === 'table').length;
  }

  private ok(size: number, ...a: number[]): boolean {
    return this.layout.pgsizes.includes(size) && a.every((x) => x % size === 0);
  }

  map(l_iova: number, pa: number, size: number, _count: number, prot: number): MapAnswer {
    if (!this.ok(size, l_iova, pa)) return { errno: EINVAL, mapped: 0 };
    const iova = l_iova % 2 ** 32;
    const p = prot & (IOMMU_READ | IOMMU_WRITE);
    const i1 = Math.floor(iova / SZ_1M);
    const kept = pa % 2 ** this.paBits;
    const e = this.l1.get(i1);
    const fail = () => {
      this.warns++;
      this.sync();
      return { errno: EADDRINUSE, mapped: 0 };
    };
    if (size === SZ_1M) {
      if (e?.kind === 'section') return fail();
      if (e?.kind === 'table') {
        if (this.cnt.get(i1) !== 256) return fail();
        this.cnt.set(i1, 0);
      }
      this.l1.set(i1, { kind: 'section', pa: kept, prot: p });
    } else {
      if (e?.kind === 'section') return fail();
      let t: Map<number, L2>;
      if (e?.kind === 'table') t = e.entries;
      else {
        t = new Map();
        this.l1.set(i1, { kind: 'table', entries: t });
        this.cnt.set(i1, 256);
      }
      const i2 = (iova % SZ_1M) / SZ_4K;
      const n = size / SZ_4K;
      for (let i = 0; i < n; i++) {
        if (t.has(i2 + i)) {
          for (let k = 0; k < i; k++) t.delete(i2 + k);
          return fail();
        }
        t.set(i2 + i, { pa: kept, prot: p, large: n > 1 });
      }
      this.cnt.set(i1, (this.cnt.get(i1) ?? 0) - n);
    }
    this.sync();
    return { errno: 0, mapped: size };
  }

  unmap(l_iova: number, size: number): number {
    if (!this.ok(size, l_iova)) return 0;
    const iova = l_iova % 2 ** 32;
    const i1 = Math.floor(iova / SZ_1M);
    const e = this.l1.get(i1);
    let done = size;
    if (e?.kind === 'section') {
      if (size < SZ_1M) {
        this.warns++;
        return 0;
      }
      this.l1.set(i1, { kind: 'zero' });
      done = SZ_1M;
    } else if (e?.kind !== 'table') {
      done = Math.min(size, SZ_1M);
    } else {
      const i2 = (iova % SZ_1M) / SZ_4K;
      const x = e.entries.get(i2);
      if (!x) done = SZ_4K;
      else if (!x.large) {
        e.entries.delete(i2);
        this.cnt.set(i1, (this.cnt.get(i1) ?? 0) + 1);
        done = SZ_4K;
      } else {
        if (size < SZ_64K) {
          this.warns++;
          return 0;
        }
        for (let k = 0; k < 16; k++) e.entries.delete(i2 + k);
        this.cnt.set(i1, (this.cnt.get(i1) ?? 0) + 16);
        done = SZ_64K;
      }
    }
    this.sync();
    return done;
  }

  private sync(): void {
    this.leaves.clear();
    for (const [i1, e] of this.l1) {
      if (e.kind === 'section') this.leaves.set(i1 * SZ_1M, { size: SZ_1M, pa: e.pa, prot: e.prot });
      if (e.kind !== 'table') continue;
      for (const [i2, x] of e.entries) {
        const iova = i1 * SZ_1M + i2 * SZ_4K;
        if (x.large) {
          const base = iova - (iova % SZ_64K);
          if (!this.leaves.has(base)) this.leaves.set(base, { size: SZ_64K, pa: x.pa, prot: x.prot });
        } else this.leaves.set(iova, { size: SZ_4K, pa: x.pa, prot: x.prot });
      }
    }
  }
}
