// SPDX-License-Identifier: GPL-2.0-only
// Map-based oracles of what Linux 6.12 does to a page table's contents, one
// per family of map/unmap rules, written from the kernel's rules rather than
// from the engine. Each keeps the leaves as a Map from base IOVA to { size,
// pa, prot } and counts the tables and the WARNs the kernel would have; map,
// unmap and lookup answer as the kernel's map_pages, unmap_pages and
// iova_to_phys do, argument checks included. The engine's tests run random
// operations against both and compare every answer (generic.test.ts).
//
// This file: the shared part and io-pgtable-arm's rules, whose tables are a
// Set of "depth:base" keys (only to know whether an entry is a table, since an
// empty table still changes what unmap and map do). oracle-*.ts hold the
// other families; oracles.ts picks the one for a table.
import type { PgtableLayout } from '../../src/pgtable/index.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/index.js';
import { errnoNames } from '../../src/kernel/errno.js';

export const EINVAL = -errnoNames.EINVAL;
export const EEXIST = -errnoNames.EEXIST;
export const ERANGE = -errnoNames.ERANGE;
export const ENOMEM = -errnoNames.ENOMEM;
export const EFAULT = -errnoNames.EFAULT;
export const RW = IOMMU_READ | IOMMU_WRITE;

export interface OracleLeaf {
  readonly size: number;
  readonly pa: number;
  readonly prot: number;
  /** The leaf's attribute bits when the prot alone does not give them (the iommufd mock's flags). */
  readonly attrs?: bigint;
}

export interface MapAnswer {
  errno: number;
  mapped: number;
}

export abstract class Oracle {
  readonly leaves = new Map<number, OracleLeaf>();
  /** WARNs the kernel would print so far. */
  warns = 0;
  /** Tables the kernel leaves allocated but unreachable, which freeing the table does not free. */
  leaked = 0;
  /** Every size a leaf can have: the page sizes and the levels' sizes. */
  private readonly leafSizes: number[];

  constructor(layout: PgtableLayout) {
    this.leafSizes = [...new Set([...layout.pgsizes, ...layout.levels.map((l) => 2 ** l.shift)])];
  }
  /** Tables the page table holds, its root included. */
  abstract tableCount(): number;
  abstract map(iova: number, pa: number, size: number, count: number, prot: number): MapAnswer;
  abstract unmap(iova: number, size: number, count: number): number;

  /** iova_to_phys: the leaf covering iova, its address plus the offset. */
  lookup(iova: number): number {
    for (const s of this.leafSizes) {
      const base = iova - (iova % s);
      const l = this.leaves.get(base);
      if (l?.size === s) return l.pa + (iova - base);
    }
    return 0;
  }

  sortedLeaves(): [number, OracleLeaf][] {
    return [...this.leaves].sort((a, b) => a[0] - b[0]);
  }
}

const aligned = (v: number, size: number) => v % size === 0;

/**
 * io-pgtable-arm.c: -EEXIST for a leaf in the way, a table in the way of a
 * block freed with what it maps, partial unmaps split blocks, one call stops
 * at the end of a table page, emptied tables stay until a covering unmap.
 */
export class ArmLpaeOracle extends Oracle {
  readonly tables = new Set<string>();
  private readonly size: number[];
  private readonly per: number[];
  private readonly limit: number;
  private readonly oasLimit: number;

  constructor(private readonly layout: PgtableLayout) {
    super(layout);
    this.size = layout.levels.map((l) => 2 ** l.shift);
    this.per = layout.levels.map((l) => l.entriesPerPage);
    this.limit = 2 ** layout.ias;
    this.oasLimit = 2 ** layout.oas;
  }

  tableCount(): number {
    return this.tables.size + 1;
  }

  depthOf(size: number): number {
    return this.layout.pgsizes.includes(size) ? this.size.indexOf(size) : -1;
  }

  /** What the entry at depth d covering iova holds. */
  private entry(d: number, iova: number): 'empty' | 'leaf' | 'table' {
    const b = this.size[d];
    const base = Math.floor(iova / b) * b;
    if (this.leaves.get(base)?.size === b) return 'leaf';
    return this.tables.has(`${d + 1}:${base}`) ? 'table' : 'empty';
  }

  /** A table entry at depth d for [base, base + size[d]) goes, with every leaf and table under it. */
  private dropTable(d: number, base: number): void {
    const end = base + this.size[d];
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

  map(iova: number, pa: number, size: number, count: number, prot: number): MapAnswer {
    const dS = this.depthOf(size);
    if (dS < 0) {
      this.warns++;
      return { errno: EINVAL, mapped: 0 };
    }
    if (!aligned(iova, size) || !aligned(pa, size)) return { errno: EINVAL, mapped: 0 };
    if (iova >= this.limit || pa >= this.oasLimit) {
      this.warns++;
      return { errno: ERANGE, mapped: 0 };
    }
    if ((prot & RW) === 0) return { errno: EINVAL, mapped: 0 };
    for (let d = 0; d < dS; d++) {
      const e = this.entry(d, iova);
      if (e === 'leaf') {
        this.warns++;
        return { errno: EEXIST, mapped: 0 };
      }
      if (e === 'empty') this.tables.add(`${d + 1}:${Math.floor(iova / this.size[d]) * this.size[d]}`);
    }
    const n = this.fits(dS, iova, count);
    for (let i = 0; i < n; i++) {
      const e = this.entry(dS, iova + i * size);
      if (e === 'leaf') {
        this.warns++;
        return { errno: EEXIST, mapped: 0 };
      }
      // A table in the way of a leaf is unmapped and freed, whatever it maps.
      if (e === 'table') this.dropTable(dS, iova + i * size);
    }
    for (let i = 0; i < n; i++) this.leaves.set(iova + i * size, { size, pa: pa + i * size, prot });
    return { errno: 0, mapped: n * size };
  }

  unmap(iova: number, size: number, count: number): number {
    if (this.depthOf(size) < 0 || count === 0) {
      this.warns++;
      return 0;
    }
    if (!aligned(iova, size)) return 0;
    if (iova >= this.limit) {
      this.warns++;
      return 0;
    }
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
}

/** One entry of a MapTree: a table, or a leaf mapping `size` bytes at `pa` (its PTE may encode more: `bits`). */
export type TreeEntry =
  | { readonly kind: 'table' }
  | {
      readonly kind: 'leaf';
      readonly pa: number;
      readonly size: number;
      readonly prot: number;
      /** AMD v1: a next-level-7 (replicated) entry. */
      readonly l7?: boolean;
    };

/**
 * A radix tree of 512-entry tables as Maps, for the oracles of the x86-style
 * families: tables keyed by "level:base" (the level of the entries they hold,
 * the first IOVA they cover), entries by index. levelBytes(level) is what one
 * entry of that level covers.
 */
export class MapTree {
  readonly tables = new Map<string, Map<number, TreeEntry>>();

  constructor(readonly levelBytes: (level: number) => number) {}

  span = (level: number) => this.levelBytes(level) * 512;
  base = (level: number, iova: number) => iova - (iova % this.span(level));
  idx = (level: number, iova: number) => Math.floor(iova / this.levelBytes(level)) % 512;
  table = (level: number, iova: number) => this.tables.get(`${level}:${this.base(level, iova)}`);

  addTable(level: number, iova: number): void {
    this.tables.set(`${level}:${this.base(level, iova)}`, new Map());
  }

  entry(level: number, iova: number): TreeEntry | undefined {
    return this.table(level, iova)?.get(this.idx(level, iova));
  }

  set(level: number, iova: number, e: TreeEntry): void {
    (this.table(level, iova) as Map<number, TreeEntry>).set(this.idx(level, iova), e);
  }

  /** Clears an entry; a table under it goes with every table under that (when `free`), else stays allocated. */
  clear(level: number, iova: number, free = true): void {
    const t = this.table(level, iova);
    const e = t?.get(this.idx(level, iova));
    if (!t || !e) return;
    t.delete(this.idx(level, iova));
    if (e.kind === 'table' && free) this.dropTables(level - 1, iova - (iova % this.levelBytes(level)));
  }

  /** The table of `level` covering iova, and every table under it. */
  dropTables(level: number, iova: number): void {
    const t = this.table(level, iova);
    if (!t) return;
    const base = this.base(level, iova);
    for (const [i, e] of t)
      if (e.kind === 'table') this.dropTables(level - 1, base + i * this.levelBytes(level));
    this.tables.delete(`${level}:${base}`);
  }

  /**
   * The leaves reachable from the root table (rootLevel, base 0), in IOVA
   * order, listed as the engine's walker lists them: an entry whose leaf is
   * bigger than its level is listed once, at its first entry, and the
   * entries it spans are skipped.
   */
  leaves(rootLevel: number, out: Map<number, OracleLeaf>): void {
    out.clear();
    const visit = (level: number, base: number) => {
      const t = this.tables.get(`${level}:${base}`);
      if (!t) return;
      let skipUntil = -1;
      for (const i of [...t.keys()].sort((a, b) => a - b)) {
        const e = t.get(i) as TreeEntry;
        const iova = base + i * this.levelBytes(level);
        if (e.kind === 'table') {
          if (level > 0) visit(level - 1, iova);
          skipUntil = iova + this.levelBytes(level);
          continue;
        }
        if (iova < skipUntil) continue;
        const aligned = iova - (iova % e.size);
        const start = aligned < skipUntil ? iova : aligned;
        skipUntil = aligned + e.size;
        out.set(start, { size: e.size, pa: e.pa, prot: e.prot });
      }
    };
    visit(rootLevel, 0);
  }
}
