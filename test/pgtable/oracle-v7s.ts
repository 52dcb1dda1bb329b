// SPDX-License-Identifier: GPL-2.0-only
// What io-pgtable-arm-v7s.c (6.12) does to a table's contents, as Maps of
// level-1 and level-2 entries written from the kernel's rules:
// arm_v7s_map_pages() and arm_v7s_unmap_pages() go page by page for all of
// pgcount; 64K and 16M leaves are 16 identical entries; unmapping inside such
// a group first rewrites it as 16 ordinary ones (arm_v7s_split_cont());
// unmapping inside a section installs a level-2 table whose piece i maps
// physical i * size (arm_v7s_split_blk_unmap() never ORs in the section's
// address), and that replacement compares against the group's first entry,
// so inside a split supersection it only succeeds in its first MiB.
import type { PgtableLayout } from '../../src/pgtable/index.js';
import {
  IOMMU_CACHE,
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_PRIV,
  IOMMU_READ,
  IOMMU_WRITE,
} from '../../src/pgtable/index.js';
import type { MapAnswer, OracleLeaf } from './oracle.js';
import { EEXIST, EINVAL, ERANGE, Oracle, RW } from './oracle.js';

const SZ_4K = 0x1000;
const SZ_64K = 0x10000;
const SZ_1M = 0x100000;
const SZ_16M = 0x1000000;
const NO_PERMS = 1 << 1;
const MTK_EXT = 1 << 3;

interface Entry {
  /** The output address the descriptor holds (a contiguous group's, for each of its 16). */
  readonly pa: number;
  readonly prot: number;
  readonly cont: boolean;
}

export class V7sOracle extends Oracle {
  /** Level-1 leaf entries by index. */
  private readonly sec = new Map<number, Entry>();
  /** Level-2 tables by level-1 index, their entries by level-2 index. */
  private readonly tbl = new Map<number, Map<number, Entry>>();
  private readonly l1Entries: number;
  private readonly ap: boolean;
  /** Output address bits a descriptor keeps (32, or 35 with MediaTek's). */
  private readonly paBits: number;

  constructor(private readonly layout: PgtableLayout) {
    super(layout);
    this.l1Entries = 2 ** (layout.ias - 20);
    this.ap = !(layout.quirks & NO_PERMS);
    this.paBits = layout.quirks & MTK_EXT ? 35 : 32;
  }

  tableCount(): number {
    return 1 + this.tbl.size;
  }

  private idx1 = (iova: number) => Math.floor(iova / SZ_1M) % this.l1Entries;
  private idx2 = (iova: number) => Math.floor(iova / SZ_4K) % 256;
  /** paddr_to_iopte(): the address bits a descriptor can hold. */
  private keep = (pa: number) => pa % 2 ** this.paBits;

  /** arm_v7s_pte_to_prot(arm_v7s_prot_to_pte(prot)): what a split copies. */
  private norm(p: number): number {
    let out = IOMMU_READ;
    if (!this.ap || p & IOMMU_WRITE) out |= IOMMU_WRITE;
    if (!this.ap || p & IOMMU_PRIV) out |= IOMMU_PRIV;
    if (p & IOMMU_MMIO) out |= IOMMU_MMIO;
    else if (p & IOMMU_CACHE) out |= IOMMU_CACHE;
    if (this.ap && p & IOMMU_NOEXEC) out |= IOMMU_NOEXEC;
    return out;
  }

  map(iova: number, pa: number, size: number, count: number, prot: number): MapAnswer {
    if (!this.layout.pgsizes.includes(size) || iova % size !== 0 || pa % size !== 0)
      return { errno: EINVAL, mapped: 0 };
    if (iova >= 2 ** this.layout.ias || pa >= 2 ** this.layout.oas) {
      this.warns++;
      return { errno: ERANGE, mapped: 0 };
    }
    if ((prot & RW) === 0) return { errno: EINVAL, mapped: 0 };
    let errno = EINVAL;
    let mapped = 0;
    for (let n = 0; n < count; n++) {
      errno = this.map1(iova + n * size, this.keep(pa + n * size), size, prot);
      if (errno) break;
      mapped += size;
    }
    this.sync();
    return { errno, mapped };
  }

  private map1(iova: number, pa: number, size: number, prot: number): number {
    const i1 = this.idx1(iova);
    if (size >= SZ_1M) {
      const n = size / SZ_1M;
      for (let i = 0; i < n; i++) {
        if (this.tbl.has(i1 + i)) this.tbl.delete(i1 + i);
        else if (this.sec.has(i1 + i)) {
          this.warns++;
          return EEXIST;
        }
      }
      for (let i = 0; i < n; i++) this.sec.set(i1 + i, { pa, prot, cont: n > 1 });
      return 0;
    }
    if (this.sec.has(i1)) {
      this.warns++;
      return EEXIST;
    }
    let t = this.tbl.get(i1);
    if (!t) this.tbl.set(i1, (t = new Map()));
    const n = size / SZ_4K;
    const i2 = this.idx2(iova);
    for (let i = 0; i < n; i++)
      if (t.has(i2 + i)) {
        this.warns++;
        return EEXIST;
      }
    for (let i = 0; i < n; i++) t.set(i2 + i, { pa, prot, cont: n > 1 });
    return 0;
  }

  unmap(iova: number, size: number, count: number): number {
    if (!this.layout.pgsizes.includes(size) || iova % size !== 0) return 0;
    if (iova >= 2 ** this.layout.ias) {
      this.warns++;
      return 0;
    }
    let unmapped = 0;
    for (let n = 0; n < count; n++) {
      if (!this.unmap1(iova + n * size, size)) break;
      unmapped += size;
    }
    this.sync();
    return unmapped;
  }

  private unmap1(iova: number, size: number): boolean {
    const i1 = this.idx1(iova);
    const n1 = Math.floor(size / SZ_1M);
    for (let i = 0; i < Math.max(n1, 1); i++)
      if (!this.sec.has(i1 + i) && !this.tbl.has(i1 + i)) {
        this.warns++;
        return false;
      }
    if (this.tbl.has(i1) && n1 === 0) return this.unmap2(this.tbl.get(i1) as Map<number, Entry>, iova, size);
    let first = this.sec.get(i1);
    if (first && n1 <= 1 && first.cont) {
      // arm_v7s_split_cont() of the supersection: 16 sections at consecutive addresses.
      const g = i1 - (i1 % 16);
      for (let k = 0; k < 16; k++)
        this.sec.set(g + k, { pa: first.pa + k * SZ_1M, prot: first.prot, cont: false });
      first = this.sec.get(g) as Entry;
    }
    if (n1 > 0) {
      for (let i = 0; i < n1; i++) {
        this.sec.delete(i1 + i);
        this.tbl.delete(i1 + i);
      }
      return true;
    }
    // arm_v7s_split_blk_unmap(): pieces of the unmap's size at physical i * 4K (entry i), but the one unmapped.
    const here = this.sec.get(i1) as Entry;
    if (!first || here.pa !== first.pa) return false;
    const n2 = size / SZ_4K;
    const skip = this.idx2(iova);
    const t = new Map<number, Entry>();
    const prot = this.norm(first.prot);
    for (let i = 0; i < 256; i += n2) {
      if (i === skip) continue;
      for (let k = 0; k < n2; k++) t.set(i + k, { pa: i * SZ_4K, prot, cont: n2 > 1 });
    }
    this.sec.delete(i1);
    this.tbl.set(i1, t);
    return true;
  }

  private unmap2(t: Map<number, Entry>, iova: number, size: number): boolean {
    const n = size / SZ_4K;
    const i2 = this.idx2(iova);
    for (let i = 0; i < n; i++)
      if (!t.has(i2 + i)) {
        this.warns++;
        return false;
      }
    const e = t.get(i2) as Entry;
    if (n === 1 && e.cont) {
      const g = i2 - (i2 % 16);
      for (let k = 0; k < 16; k++) t.set(g + k, { pa: e.pa + k * SZ_4K, prot: e.prot, cont: false });
    }
    for (let i = 0; i < n; i++) t.delete(i2 + i);
    return true;
  }

  /** The leaves as a walker lists them: a contiguous group once, at its first entry. */
  private sync(): void {
    this.leaves.clear();
    const add = (iova: number, e: Entry, size: number) => {
      const s = e.cont ? size * 16 : size;
      const base = iova - (iova % s);
      if (!this.leaves.has(base))
        this.leaves.set(base, { size: s, pa: e.pa, prot: e.prot } satisfies OracleLeaf);
    };
    for (const [i1, e] of this.sec) add(i1 * SZ_1M, e, SZ_1M);
    for (const [i1, t] of this.tbl) for (const [i2, e] of t) add(i1 * SZ_1M + i2 * SZ_4K, e, SZ_4K);
  }
}

export { SZ_16M, SZ_64K };
