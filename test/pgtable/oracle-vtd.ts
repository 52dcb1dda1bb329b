// SPDX-License-Identifier: GPL-2.0-only
// What intel/iommu.c (6.12) does to a VT-d table's contents (second or first
// stage: the same functions), written from the kernel's rules over a MapTree:
// intel_iommu_map_pages() takes sizes 4K/2M/1G only and picks its own page
// sizes (hardware_largepage_caps()); a superpage first clears and frees what
// is under it (switch_to_super_page()); a 4K entry already set is a WARN and
// stays; walking to a level under a superpage is the kernel's write into the
// superpage's memory (a WARN here, nothing written). intel_iommu_unmap()
// rounds the size up to the leaf or hole at the IOVA, clears every entry the
// range covers whole (with its tables), recurses into the others, and
// returns the size.
import type { PgtableLayout } from '../../src/pgtable/index.js';
import type { MapAnswer } from './oracle.js';
import { EFAULT, EINVAL, MapTree, Oracle, RW } from './oracle.js';

const SZ_4K = 4096;

export class VtdOracle extends Oracle {
  private readonly tree = new MapTree((level) => SZ_4K * 512 ** (level - 1));
  private readonly total: number;
  private readonly superpage: number;
  private readonly gawLimit: number;
  /** Pages below 2^(agaw width). */
  private readonly agawPages: number;

  constructor(layout: PgtableLayout) {
    super(layout);
    this.total = layout.levels.length;
    this.superpage = layout.pgsizes.length - 1;
    this.gawLimit = 2 ** layout.ias;
    this.agawPages = 512 ** this.total;
    this.tree.addTable(this.total, 0);
  }

  tableCount(): number {
    return this.tree.tables.size + this.leaked;
  }

  /**
   * dma_pte_clear_range() as switch_to_super_page() runs it before freeing
   * the tables: from the leaf it finds (a 4K entry or a superpage) it clears
   * the following entries of that table as leaves, so a table pointer after
   * a superpage is cleared and its tables stay allocated, unreachable.
   */
  private clearRange(start: number, last: number): void {
    const t = this.tree;
    let pfn = start;
    while (pfn <= last) {
      let level = this.total;
      let found = false;
      for (;;) {
        const e = t.entry(level, pfn * SZ_4K);
        if (!e) break;
        if (level === 1 || e.kind === 'leaf') {
          found = true;
          break;
        }
        level--;
      }
      if (!found) {
        const span = this.pages(level + 1);
        pfn = Math.ceil((pfn + 1) / span) * span;
        continue;
      }
      const step = this.pages(level);
      do {
        const x = pfn * SZ_4K;
        if (t.entry(level, x)?.kind === 'table') this.leaked += this.subtree(level - 1, x);
        t.clear(level, x);
        pfn += step;
      } while (pfn <= last && t.idx(level, pfn * SZ_4K) !== 0);
    }
  }

  /** The tables at and under the one at `level` holding iova. */
  private subtree(level: number, iova: number): number {
    const tb = this.tree.table(level, iova);
    if (!tb) return 0;
    let n = 1;
    const base = this.tree.base(level, iova);
    for (const [i, e] of tb)
      if (e.kind === 'table') n += this.subtree(level - 1, base + i * SZ_4K * this.pages(level));
    return n;
  }

  private pages = (level: number) => 512 ** (level - 1);
  private supported = (pfn: number) => pfn >= 0 && pfn < this.agawPages;

  private caps(iv: number, ph: number, n: number): number {
    let level = 1;
    for (let s = this.superpage; s > 0 && iv % 512 === 0 && ph % 512 === 0; s--) {
      n = Math.floor(n / 512);
      if (!n) break;
      iv /= 512;
      ph /= 512;
      level++;
    }
    return level;
  }

  map(iova: number, pa: number, size: number, count: number, prot: number): MapAnswer {
    if (size !== SZ_4K && size !== 0x200000 && size !== 0x40000000) return { errno: EINVAL, mapped: 0 };
    if (iova % size || pa % size) return { errno: EINVAL, mapped: 0 };
    const bytes = count * size;
    if (iova + bytes > this.gawLimit) return { errno: EFAULT, mapped: 0 };
    let nr = bytes / SZ_4K;
    let iv = iova / SZ_4K;
    let ph = pa / SZ_4K;
    if (!this.supported(iv + nr - 1)) return { errno: EINVAL, mapped: 0 };
    if (!(prot & RW)) return { errno: EINVAL, mapped: 0 };
    let warned = false;
    const t = this.tree;
    while (nr > 0) {
      const lvl = this.caps(iv, ph, nr);
      const lp = this.pages(lvl);
      const va = iv * SZ_4K;
      // pfn_to_dma_pte(lvl): tables on the way; a superpage on the way is walked into.
      let blocked = false;
      for (let L = this.total; L > lvl; L--) {
        const e = t.entry(L, va);
        if (!e) {
          t.set(L, va, { kind: 'table' });
          t.addTable(L - 1, va);
        } else if (e.kind === 'leaf') {
          blocked = true;
          break;
        }
      }
      if (blocked) {
        if (!warned) this.warns++;
        warned = true;
        nr -= lp;
        iv += lp;
        ph += lp;
        continue;
      }
      const toPageEnd = 512 - t.idx(lvl, va);
      const n = lvl > 1 ? Math.min(Math.floor(nr / lp), toPageEnd) : Math.min(nr, toPageEnd);
      // switch_to_super_page(): whatever is under each superpage goes first.
      if (lvl > 1)
        for (let k = 0; k < n; k++) {
          const x = va + k * lp * SZ_4K;
          if (t.entry(lvl, x)?.kind === 'table') this.clearRange(x / SZ_4K, x / SZ_4K + lp - 1);
          t.clear(lvl, x);
        }
      for (let k = 0; k < n; k++) {
        const x = va + k * lp * SZ_4K;
        if (t.entry(lvl, x)) this.warns++;
        else t.set(lvl, x, { kind: 'leaf', pa: (ph + k * lp) * SZ_4K, size: lp * SZ_4K, prot });
      }
      nr -= n * lp;
      iv += n * lp;
      ph += n * lp;
    }
    this.sync();
    return { errno: 0, mapped: bytes };
  }

  unmap(iova: number, pgsize: number, count: number): number {
    if (pgsize <= 0) {
      this.warns++;
      return 0;
    }
    if (iova % SZ_4K) return 0;
    let size = count * (pgsize & -pgsize);
    if (!this.supported(iova / SZ_4K)) return 0;
    // pfn_to_dma_pte(level 0): where the lookup stops.
    let level = this.total;
    for (;;) {
      const e = this.tree.entry(level, iova);
      if (!e || e.kind === 'leaf' || level === 1) break;
      level--;
    }
    size = Math.max(size, this.pages(level) * SZ_4K);
    const start = iova / SZ_4K;
    const last = Math.floor((iova + size - 1) / SZ_4K);
    if (!this.supported(last)) {
      this.warns++;
      return size;
    }
    this.clearLevel(this.total, 0, start, last);
    if (start === 0 && last === this.gawLimit / SZ_4K - 1) this.warns++;
    this.sync();
    return size;
  }

  /** dma_pte_clear_level() on the table at `level` covering pfn. */
  private clearLevel(level: number, pfn: number, start: number, last: number): void {
    const lp = this.pages(level);
    pfn = Math.max(start, pfn);
    let i = this.tree.idx(level, pfn * SZ_4K);
    do {
      const levelPfn = pfn - (pfn % lp);
      const x = levelPfn * SZ_4K;
      const e = this.tree.entry(level, x);
      if (e) {
        if (start <= levelPfn && last >= levelPfn + lp - 1) this.tree.clear(level, x);
        else if (level > 1) {
          if (e.kind === 'table') this.clearLevel(level - 1, levelPfn, start, last);
          else this.warns++;
        }
      }
      pfn = levelPfn + lp;
      i++;
    } while (i < 512 && pfn <= last);
  }

  private sync(): void {
    this.tree.leaves(this.total, this.leaves);
  }
}
