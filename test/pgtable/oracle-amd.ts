// SPDX-License-Identifier: GPL-2.0-only
// What amd/io_pgtable.c (v1) and amd/io_pgtable_v2.c (6.12) do to a table's
// contents, written from the kernel's rules over a MapTree (levels as the
// drivers number them: 0 holds 4K entries).
//
// v1: the root grows a level when an IOVA or a page size needs it; a map
// replaces whatever is there (a larger leaf above becomes an empty table, a
// replicated series above is cleared, the new leaf's entries are cleared and
// any tables under them freed); pages of non-level sizes are 2^n replicated
// entries; fetch_pte() stops at the first leaf (or, at level 0, at any entry)
// and a replicated entry sends it to the first entry of its series, whatever
// that entry now holds; unmap clears what fetch_pte() found and counts its
// size.
// v2: x86 paging with 4K/2M/1G; a map clears a large page above, tears down
// the new leaf's slot (freeing a table there), and writes; fetch_pte() looks
// at PS on the entries it steps to.
import type { PgtableLayout } from '../../src/pgtable/index.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/index.js';
import type { MapAnswer, TreeEntry } from './oracle.js';
import { EINVAL, MapTree, Oracle } from './oracle.js';

const SZ_4K = 4096;
const SZ_2M = 0x200000;
const SZ_1G = 0x40000000;
const log2 = (v: number) => Math.round(Math.log2(v));
const isPow2 = (v: number) => v > 0 && 2 ** log2(v) === v;
const levelBytes = (level: number) => SZ_4K * 512 ** level;

export class AmdV1Oracle extends Oracle {
  private readonly tree = new MapTree(levelBytes);
  mode = 3;

  constructor(layout: PgtableLayout) {
    super(layout);
    this.tree.addTable(2, 0);
  }

  tableCount(): number {
    return this.tree.tables.size + this.leaked;
  }

  private reach = (mode: number) => 2 ** (12 + 9 * mode) - 1;

  map(iova: number, pa: number, size: number, count: number, prot: number): MapAnswer {
    if (!isPow2(size) || size < SZ_4K || iova % size || pa % size) return { errno: EINVAL, mapped: 0 };
    if (!(prot & (IOMMU_READ | IOMMU_WRITE))) return { errno: EINVAL, mapped: 0 };
    const shift = log2(size);
    const endLvl = Math.floor((shift - 12) / 9);
    const cnt = 2 ** ((shift - 12) % 9);
    const t = this.tree;
    for (let n = 0; n < count; n++) {
      const va = iova + n * size;
      // increase_address_space(): the old root becomes entry 0 of a new one.
      while (va + size - 1 > this.reach(this.mode) || this.mode - 1 < endLvl) {
        t.addTable(this.mode, 0);
        t.set(this.mode, 0, { kind: 'table' });
        this.mode++;
      }
      let level = this.mode - 1;
      while (level > endLvl) {
        const e = t.entry(level, va);
        if (e && e.kind === 'leaf' && e.l7) {
          // The series that entry belongs to: those still equal to it go.
          const c = 2 ** ((log2(e.size) - 12) % 9);
          const first = va - (va % (c * levelBytes(level)));
          for (let i = 0; i < c; i++) {
            const x = first + i * levelBytes(level);
            const o = t.entry(level, x);
            if (o && o.kind === 'leaf' && o.l7 && o.pa === e.pa && o.size === e.size && o.prot === e.prot)
              t.clear(level, x);
          }
          continue;
        }
        if (!e || e.kind === 'leaf') {
          t.set(level, va, { kind: 'table' });
          t.addTable(level - 1, va);
          continue;
        }
        level--;
      }
      for (let i = 0; i < cnt; i++) t.clear(endLvl, va + i * levelBytes(endLvl));
      for (let i = 0; i < cnt; i++)
        t.set(endLvl, va + i * levelBytes(endLvl), {
          kind: 'leaf',
          pa: pa + n * size,
          size,
          prot,
          l7: cnt > 1,
        });
    }
    this.sync();
    return { errno: 0, mapped: count * size };
  }

  /** fetch_pte(): the level and IOVA of the entry found (the first of a series), and the page size. */
  private fetch(va: number): { level: number; at: number; size: number } | null {
    if (va > this.reach(this.mode)) return null;
    let level = this.mode - 1;
    let e = this.tree.entry(level, va);
    while (level > 0) {
      if (!e) return null;
      if (e.kind === 'leaf') break;
      level--;
      e = this.tree.entry(level, va);
    }
    if (e && e.kind === 'leaf' && e.l7) {
      const c = 2 ** ((log2(e.size) - 12) % 9);
      return { level, at: va - (va % (c * levelBytes(level))), size: e.size };
    }
    return { level, at: va - (va % levelBytes(level)), size: levelBytes(level) };
  }

  unmap(iova: number, size: number, count: number): number {
    if (!isPow2(size) || iova % SZ_4K) return 0;
    const total = count * size;
    let unmapped = 0;
    while (unmapped < total) {
      const f = this.fetch(iova);
      if (!f) break;
      const c = 2 ** ((log2(f.size) - 12) % 9);
      for (let i = 0; i < c; i++) {
        const x = f.at + i * levelBytes(f.level);
        // A PDE cleared here leaves its tables allocated and unreachable.
        if (this.tree.entry(f.level, x)?.kind === 'table') this.leaked += this.subtree(f.level - 1, x);
        this.tree.clear(f.level, x);
      }
      iova = iova - (iova % f.size) + f.size;
      unmapped += f.size;
    }
    this.sync();
    return unmapped;
  }

  private subtree(level: number, iova: number): number {
    const t = this.tree.table(level, iova);
    if (!t) return 0;
    let n = 1;
    const base = this.tree.base(level, iova);
    for (const [i, e] of t)
      if (e.kind === 'table') n += this.subtree(level - 1, base + i * levelBytes(level));
    return n;
  }

  override lookup(va: number): number {
    const f = this.fetch(va);
    if (!f) return 0;
    const e: TreeEntry | undefined = this.tree.entry(f.level, f.at);
    if (!e) return 0;
    // The first entry of a series may hold a PDE now: the kernel reads a table's address as the page's.
    if (e.kind === 'table') return NaN;
    // The entry's address bits: a replicated entry's hold ones below its size's top bit.
    const bits = e.l7 ? e.pa + (e.size / 2 - 1) - ((e.pa + (e.size / 2 - 1)) % SZ_4K) : e.pa;
    return bits - (bits % f.size) + (va % f.size);
  }

  private sync(): void {
    this.tree.leaves(this.mode - 1, this.leaves);
  }
}

export class AmdV2Oracle extends Oracle {
  private readonly tree = new MapTree(levelBytes);
  private readonly top: number;

  constructor(layout: PgtableLayout) {
    super(layout);
    this.top = layout.levels.length - 1;
    this.tree.addTable(this.top, 0);
  }

  tableCount(): number {
    return this.tree.tables.size;
  }

  /** The IOVA bits the table reaches (the rest alias). */
  private wrap = (va: number) => va % (levelBytes(this.top) * 512);

  map(iova: number, pa: number, size: number, count: number, prot: number): MapAnswer {
    if (size !== SZ_4K && size !== SZ_2M && size !== SZ_1G) {
      this.warns++;
      return { errno: EINVAL, mapped: 0 };
    }
    if (count === 0 || !(prot & (IOMMU_READ | IOMMU_WRITE))) return { errno: EINVAL, mapped: 0 };
    if (iova % size || pa % size) return { errno: EINVAL, mapped: 0 };
    const end = size === SZ_1G ? 3 : size === SZ_2M ? 2 : 1;
    const t = this.tree;
    for (let n = 0; n < count; n++) {
      const va = this.wrap(iova + n * size);
      let level = this.top;
      while (level >= end) {
        const e = t.entry(level, va);
        if (e && e.kind === 'leaf') {
          t.clear(level, va);
          continue;
        }
        if (!e) {
          t.set(level, va, { kind: 'table' });
          t.addTable(level - 1, va);
          continue;
        }
        level--;
      }
      // The slot: a table there goes (a large page's "table" is not freed: the kernel frees its memory).
      const old = t.entry(level, va);
      if (old && old.kind === 'leaf' && size !== SZ_4K && old.size > SZ_4K) this.warns++;
      t.clear(level, va);
      t.set(level, va, { kind: 'leaf', pa: pa + n * size, size, prot });
    }
    this.sync();
    return { errno: 0, mapped: count * size };
  }

  /** fetch_pte(v2): PS is looked at on the entries stepped to; level 0 entries are returned as they are. */
  private fetch(va: number): { level: number; size: number } | null {
    va = this.wrap(va);
    let level = this.top;
    while (level) {
      if (!this.tree.entry(level, va)) return null;
      const e = this.tree.entry(level - 1, va);
      if (e && e.kind === 'leaf' && e.size > SZ_4K) return { level: level - 1, size: e.size };
      level--;
    }
    return { level: 0, size: SZ_4K };
  }

  unmap(iova: number, size: number, count: number): number {
    if ((size !== SZ_4K && size !== SZ_2M && size !== SZ_1G) || count === 0) {
      this.warns++;
      return 0;
    }
    if (iova % SZ_4K) return 0;
    let unmapped = 0;
    while (unmapped < count * size) {
      const f = this.fetch(iova);
      if (!f) break;
      this.tree.clear(f.level, this.wrap(iova));
      iova = iova - (iova % f.size) + f.size;
      unmapped += f.size;
    }
    this.sync();
    return unmapped;
  }

  override lookup(va: number): number {
    const f = this.fetch(va);
    const e = f && this.tree.entry(f.level, this.wrap(va));
    if (!f || !e || e.kind !== 'leaf') return 0;
    return e.pa + (va % f.size);
  }

  private sync(): void {
    this.tree.leaves(this.top, this.leaves);
  }
}
