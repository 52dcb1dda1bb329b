// SPDX-License-Identifier: GPL-2.0-only
// What tegra-smmu.c (6.12) does to a tegra_smmu_as's tables, as Maps of page
// tables by PDE index holding entries by PTE index, written from the driver:
// tegra_smmu_map() maps one 4K page whatever the count, overwriting an entry
// in use without complaint, a table made on first use; tegra_smmu_unmap()
// clears one entry (0 when there is none) and frees the table with its last
// entry; IOVAs are 32 bits and a frame keeps (address bits - 12) bits. No
// WARNs.
import type { PgtableLayout } from '../../src/pgtable/index.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/index.js';
import type { MapAnswer } from './oracle.js';
import { EINVAL, Oracle } from './oracle.js';

const SZ_4K = 0x1000;
const SZ_4M = 0x40_0000;

export class TegraOracle extends Oracle {
  private readonly pts = new Map<number, Map<number, { pa: number; prot: number }>>();

  constructor(private readonly layout: PgtableLayout) {
    super(layout);
  }

  tableCount(): number {
    return 1 + this.pts.size;
  }

  map(iova: number, pa: number, size: number, _count: number, prot: number): MapAnswer {
    if (size !== SZ_4K || iova % SZ_4K || pa % SZ_4K) return { errno: EINVAL, mapped: 0 };
    const v = iova % 2 ** 32;
    const pde = Math.floor(v / SZ_4M);
    let pt = this.pts.get(pde);
    if (!pt) this.pts.set(pde, (pt = new Map()));
    pt.set((v % SZ_4M) / SZ_4K, { pa: pa % 2 ** this.layout.oas, prot: prot & (IOMMU_READ | IOMMU_WRITE) });
    this.sync();
    return { errno: 0, mapped: SZ_4K };
  }

  unmap(iova: number, size: number): number {
    if (size !== SZ_4K || iova % SZ_4K) return 0;
    const v = iova % 2 ** 32;
    const pde = Math.floor(v / SZ_4M);
    const pt = this.pts.get(pde);
    if (!pt?.delete((v % SZ_4M) / SZ_4K)) return 0;
    if (pt.size === 0) this.pts.delete(pde);
    this.sync();
    return SZ_4K;
  }

  private sync(): void {
    this.leaves.clear();
    for (const [pde, pt] of this.pts)
      for (const [i, e] of pt)
        this.leaves.set(pde * SZ_4M + i * SZ_4K, { size: SZ_4K, pa: e.pa, prot: e.prot });
  }
}
