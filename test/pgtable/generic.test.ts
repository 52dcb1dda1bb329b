// SPDX-License-Identifier: GPL-2.0-only
// The format-generic suite: the same tests, unchanged, against every
// registered format and each cfg variant drivers create it with (other
// address sizes move the start level and the pgd's size; quirks change the
// descriptors). Random map/unmap/iova_to_phys sequences are checked against
// the oracle of the format's family (oracle*.ts, written from that driver's
// 6.12 rules) after every step: return values, WARNs, the number of tables;
// at the end, every leaf (address, size, output, attributes), and freeing
// leaves no table behind.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PageTable, PgtableCfg, PgtableFormatName } from '../../src/pgtable/index.js';
import {
  IOMMU_CACHE,
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_PRIV,
  IOMMU_READ,
  IOMMU_WRITE,
  TableMemory,
  createPageTable,
  pgtableFormatNames,
  pgtableFormats,
} from '../../src/pgtable/index.js';
import type { Oracle } from './oracle.js';
import { oracleFor } from './oracles.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const cases: [PgtableFormatName, PgtableCfg][] = pgtableFormatNames.flatMap((name) =>
  [{}, ...pgtableFormats[name].variants].map((cfg): [PgtableFormatName, PgtableCfg] => [name, cfg]),
);

/** The page sizes a test maps: the format's, up to 1G (AMD v1 offers every power of two up to 2^51). */
const sizesOf = (t: PageTable) => t.layout.pgsizes.filter((s) => s <= 2 ** 30);

function opsFor(t: PageTable) {
  const sizes = sizesOf(t);
  const per = t.layout.levels[t.layout.levels.length - 1].entriesPerPage;
  // Offsets in units of the chosen size: the first entries of a table page and those around its end.
  const k = fc.constantFrom(0, 1, 2, 3, per - 2, per - 1, per, per + 1);
  const count = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(1, 1, 2, 3) },
    { weight: 1, arbitrary: fc.constantFrom(per - 1, per, per + 1) },
  );
  const s = fc.integer({ min: 0, max: sizes.length - 1 });
  const r = fc.integer({ min: 0, max: 2 });
  const prot = fc.constantFrom(
    RW,
    IOMMU_READ,
    IOMMU_WRITE,
    RW | IOMMU_CACHE,
    IOMMU_READ | IOMMU_NOEXEC,
    RW | IOMMU_MMIO,
    RW | IOMMU_PRIV,
    IOMMU_CACHE,
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('map' as const), r, k, s, count, pr: r, prot }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('unmap' as const), r, k, s, count }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('badsize' as const), r, unmap: fc.boolean() }) },
  );
}

/** Every leaf, as text so that thousands compare at once; attributes from prot unless the oracle knows them. */
function leafLines(t: PageTable, o: Oracle): [string, string] {
  const line = (iova: number, size: number, pa: number, attrs: bigint) =>
    `${iova.toString(16)} ${size.toString(16)} ${pa.toString(16)} ${attrs.toString(16)}`;
  const want = o
    .sortedLeaves()
    .map(([iova, l]) => line(iova, l.size, l.pa, l.attrs ?? t.protToPte(l.prot, l.size)));
  const got = t.leaves().map((l) => line(l.iova, l.size, l.paddr, l.attrs));
  return [got.join('\n'), want.join('\n')];
}

describe.each(cases)('%s %o', (name, cfg) => {
  it('random map/unmap/iova_to_phys sequences match the oracle', () => {
    const arb = opsFor(createPageTable(name, cfg));
    fc.assert(
      fc.property(fc.array(arb, { minLength: 1, maxLength: 20 }), (ops) => {
        const t = createPageTable(name, cfg);
        const o = oracleFor(t);
        const sizes = sizesOf(t);
        const top = sizes[sizes.length - 1];
        const limit = 2 ** t.cfg.ias;
        const check = (iova: number) => {
          if (iova >= limit) return;
          const want = o.lookup(iova);
          const got = t.iovaToPhys(iova);
          // NaN: the kernel reads a table descriptor as a page (AMD v1), at an address the oracle cannot know.
          if (!Number.isNaN(want)) expect(got).toBe(want);
        };
        for (const op of ops) {
          if (op.op === 'badsize') {
            // A size that is not in pgsize_bitmap (or, where every size is, one the format treats specially).
            const bad = sizes[0] * 2;
            if (op.unmap) expect(t.unmapPages(op.r * top, bad, 1)).toBe(o.unmap(op.r * top, bad, 1));
            else expect(t.mapPages(op.r * top, 0, bad, 1, RW)).toEqual(o.map(op.r * top, 0, bad, 1, RW));
          } else {
            const size = sizes[op.s];
            const iova = op.r * top + op.k * size;
            // Keep within ias: one call never writes past the pgd's last entry.
            const count = Math.max(1, Math.min(op.count, Math.floor((limit - iova) / size)));
            if (op.op === 'map') {
              const pa = 0x80000000 * (op.pr + 1) + op.k * size;
              expect(t.mapPages(iova, pa, size, count, op.prot)).toEqual(
                o.map(iova, pa, size, count, op.prot),
              );
            } else {
              expect(t.unmapPages(iova, size, count)).toBe(o.unmap(iova, size, count));
            }
            check(iova);
            check(iova + size - 1);
            check(iova + sizes[0]);
          }
          expect(t.warnings.length).toBe(o.warns);
          expect(t.tableCount).toBe(o.tableCount());
        }
        const [got, want] = leafLines(t, o);
        expect(got).toBe(want);
        const wrong: string[] = [];
        for (const [iova, l] of o.leaves) {
          for (const x of [iova, iova + l.size - 1]) {
            const want = o.lookup(x);
            if (t.iovaToPhys(x) !== want && !Number.isNaN(want)) wrong.push(x.toString(16));
          }
        }
        expect(wrong).toEqual([]);
        expect(t.warnings.length).toBe(o.warns);
        const memory = t.memory;
        t.free();
        // Only tables the kernel itself leaves unreachable stay (AMD v1: an unmap that clears a PDE).
        expect(memory.liveAllocations).toBe(o.leaked);
      }),
      { numRuns: 20 },
    );
  });

  it('scripted overlaps, blocks over tables and partial unmaps agree with the oracle', () => {
    const t = createPageTable(name, cfg);
    const o = oracleFor(t);
    const sizes = sizesOf(t);
    const small = sizes[0];
    const big = sizes[1] ?? small * 64;
    const step = (what: string, got: unknown, want: unknown) =>
      expect({ what, got }).toEqual({ what, got: want });
    const map = (iova: number, pa: number, size: number, n: number, prot = RW) =>
      step(
        `map ${iova.toString(16)} ${size.toString(16)}×${n}`,
        t.mapPages(iova, pa, size, n, prot),
        o.map(iova, pa, size, n, prot),
      );
    const unmap = (iova: number, size: number, n: number) =>
      step(
        `unmap ${iova.toString(16)} ${size.toString(16)}×${n}`,
        t.unmapPages(iova, size, n),
        o.unmap(iova, size, n),
      );
    // Overlaps: the same leaf, a small one inside a big one, a run whose second entry is taken.
    map(big, 0x80000000, big, 1);
    map(big, 0x200000000, big, 1);
    map(big + small, 0x200000000, small, 1);
    map(3 * big + small, 0x300000000, small, 1);
    map(3 * big, 0x200000000, small, 2);
    // A big leaf over a table of small ones.
    map(5 * big + small, 0x10000000, small, 2);
    map(5 * big, 0x80000000, big, 1);
    // Unmapping part of a big leaf, then the rest, then what is no longer there.
    map(7 * big, 0x80000000, big, 1, RW | IOMMU_CACHE);
    unmap(7 * big + 3 * small, small, 2);
    unmap(7 * big, small, 1);
    unmap(7 * big, big, 1);
    unmap(7 * big, big, 1);
    // Small leaves emptied out, then the table above them unmapped at the big size.
    map(9 * big, 0x80000000, small, 1);
    unmap(9 * big, small, 1);
    unmap(9 * big, big, 1);
    unmap(9 * big + small, small, 1);
    for (const x of [
      big,
      big + small,
      3 * big,
      3 * big + small,
      5 * big + small,
      7 * big + 5 * small,
      9 * big,
    ])
      if (x < 2 ** t.cfg.ias) expect([x, t.iovaToPhys(x)]).toEqual([x, o.lookup(x)]);
    expect(t.warnings.length).toBe(o.warns);
    expect(t.tableCount).toBe(o.tableCount());
    const [got, want] = leafLines(t, o);
    expect(got).toBe(want);
    t.free();
  });

  it('freeing the whole table frees every table, shared memory included', () => {
    const memory = new TableMemory();
    const a = createPageTable(name, { ...cfg, memory });
    const b = createPageTable(name, { ...cfg, memory });
    const [small] = sizesOf(a);
    const big = small * a.layout.levels[a.layout.levels.length - 1].entriesPerPage;
    for (let i = 0; i < 3; i++) {
      expect(a.mapPages(i * big, 0x80000000, small, 3, RW).errno).toBe(0);
      expect(b.mapPages(i * big + small, 0x80000000, small, 1, RW).errno).toBe(0);
    }
    expect(memory.liveAllocations).toBe(a.tableCount + b.tableCount);
    a.free();
    expect(memory.liveAllocations).toBe(b.tableCount);
    expect(b.iovaToPhys(2 * big + small)).toBe(0x80000000);
    b.free();
    expect(memory.liveAllocations).toBe(0);
    expect(() => a.iovaToPhys(0)).toThrow(/after free/);
  });
});
