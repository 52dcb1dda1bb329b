// SPDX-License-Identifier: GPL-2.0-only
// A Map-based oracle of what Linux 6.12's io-pgtable-arm does to a table's
// contents, written from the kernel's rules rather than from the engine:
// leaves are a Map from base IOVA to { size, pa, prot }; tables below the pgd
// are a Set of "depth:base" keys (only to know whether an entry is a table,
// since an empty table still changes what unmap and map do). It reads only
// the layout's sizes: the size each depth maps and its entries per table page.
import type { PgtableLayout } from '../../src/pgtable/index.js';
import { errnoNames } from '../../src/kernel/errno.js';

export interface OracleLeaf {
  readonly size: number;
  readonly pa: number;
  readonly prot: number;
}

type Entry = 'empty' | 'leaf' | 'table';

export class Oracle {
  readonly leaves = new Map<number, OracleLeaf>();
  readonly tables = new Set<string>();
  /** WARNs the kernel would print so far. */
  warns = 0;
  private readonly size: number[];
  private readonly per: number[];

  constructor(layout: PgtableLayout) {
    this.size = layout.levels.map((l) => 2 ** l.shift);
    this.per = layout.levels.map((l) => l.entriesPerPage);
  }

  depthOf(size: number): number {
    return this.size.indexOf(size);
  }

  /** What the entry at depth d covering iova holds. */
  private entry(d: number, iova: number): Entry {
    const b = this.size[d];
    const base = Math.floor(iova / b) * b;
    if (this.leaves.get(base)?.size === b) return 'leaf';
    return this.tables.has(`${d + 1}:${base}`) ? 'table' : 'empty';
  }

  /** A table entry at depth d for [base, base + size[d]) goes, with every leaf and table under it. */
  private dropTable(d: number, base: number): void {
    const end = base + this.size[d];
    // (Deleting the entry being visited is safe while iterating a Map or Set.)
    for (const k of this.tables) {
      const [depth, b] = k.split(':').map(Number);
      if (depth > d && b >= base && b < end) this.tables.delete(k);
    }
    for (const k of this.leaves.keys()) if (k >= base && k < end) this.leaves.delete(k);
  }

  /** Entries one call handles from iova at depth d: it stops at the end of the table page. */
  private fits(d: number, iova: number, count: number): number {
    const per = this.per[d];
    return Math.min(count, per - (Math.floor(iova / this.size[d]) % per));
  }

  /** map_pages with a valid size, aligned addresses in range and prot with R or W. */
  map(
    iova: number,
    pa: number,
    size: number,
    count: number,
    prot: number,
  ): { errno: number; mapped: number } {
    const dS = this.depthOf(size);
    for (let d = 0; d < dS; d++) {
      const e = this.entry(d, iova);
      if (e === 'leaf') {
        this.warns++;
        return { errno: -errnoNames.EEXIST, mapped: 0 };
      }
      if (e === 'empty') this.tables.add(`${d + 1}:${Math.floor(iova / this.size[d]) * this.size[d]}`);
    }
    const n = this.fits(dS, iova, count);
    for (let i = 0; i < n; i++) {
      const e = this.entry(dS, iova + i * size);
      if (e === 'leaf') {
        this.warns++;
        return { errno: -errnoNames.EEXIST, mapped: 0 };
      }
      // A table in the way of a leaf is unmapped and freed, whatever it maps.
      if (e === 'table') this.dropTable(dS, iova + i * size);
    }
    for (let i = 0; i < n; i++) this.leaves.set(iova + i * size, { size, pa: pa + i * size, prot });
    return { errno: 0, mapped: n * size };
  }

  /** unmap_pages with a valid size and an aligned IOVA in range: the bytes unmapped. */
  unmap(iova: number, size: number, count: number): number {
    for (let d = 0; ; d++) {
      const e = this.entry(d, iova);
      if (e === 'empty') {
        this.warns++;
        return 0;
      }
      if (this.size[d] === size) {
        const n = this.fits(d, iova, count);
        let i = 0;
        for (; i < n; i++) {
          const x = iova + i * size;
          const ei = this.entry(d, x);
          if (ei === 'empty') {
            this.warns++;
            break;
          }
          if (ei === 'table') this.dropTable(d, x);
          else this.leaves.delete(x);
        }
        return i * size;
      }
      if (e === 'leaf') {
        // Split the block into a table of the next level's leaves, minus the
        // unmapped ones if that level has the size being unmapped.
        const b = this.size[d];
        const base = Math.floor(iova / b) * b;
        const blk = this.leaves.get(base) as OracleLeaf;
        this.leaves.delete(base);
        this.tables.add(`${d + 1}:${base}`);
        const s = this.size[d + 1];
        const per = this.per[d + 1];
        let start = -1;
        let n = 0;
        if (s === size) {
          start = (iova - base) / s;
          n = Math.min(count, per - start);
        }
        for (let i = 0; i < per; i++)
          if (i < start || i >= start + n)
            this.leaves.set(base + i * s, { size: s, pa: blk.pa + i * s, prot: blk.prot });
        if (start >= 0) return n * size;
      }
    }
  }

  /** iova_to_phys. */
  lookup(iova: number): number {
    for (const s of this.size) {
      const base = Math.floor(iova / s) * s;
      const l = this.leaves.get(base);
      if (l?.size === s) return l.pa + (iova - base);
    }
    return 0;
  }

  sortedLeaves(): [number, OracleLeaf][] {
    return [...this.leaves].sort((a, b) => a[0] - b[0]);
  }
}
