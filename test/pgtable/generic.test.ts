// SPDX-License-Identifier: GPL-2.0-only
// The format-generic suite: the same tests, unchanged, against every
// registered format (and a few input-address sizes, which move the start
// level and the pgd's size). Random map/unmap/iova_to_phys sequences are
// checked against the Map-based oracle (oracle.ts) after every step: return
// values, WARNs, the number of tables; at the end, every leaf (address, size,
// output, attributes) and freeing leaves no table behind.
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
} from '../../src/pgtable/index.js';
import { EEXIST, EINVAL, ERANGE } from '../../src/kernel/errno.js';
import { Oracle } from './oracle.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const cases: [PgtableFormatName, PgtableCfg][] = pgtableFormatNames.flatMap((name) => [
  [name, {}],
  [name, { ias: 40 }],
  [name, { ias: 32 }],
]);

function opsFor(t: PageTable) {
  const sizes = t.layout.pgsizes;
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

describe.each(cases)('%s %o', (name, cfg) => {
  it('random map/unmap/iova_to_phys sequences match the oracle', () => {
    const arb = opsFor(createPageTable(name, cfg));
    fc.assert(
      fc.property(fc.array(arb, { minLength: 1, maxLength: 20 }), (ops) => {
        const t = createPageTable(name, cfg);
        const o = new Oracle(t.layout);
        const sizes = t.layout.pgsizes;
        const top = sizes[sizes.length - 1];
        const limit = 2 ** t.cfg.ias;
        const check = (iova: number) => {
          if (iova < limit) expect(t.iovaToPhys(iova)).toBe(o.lookup(iova));
        };
        for (const op of ops) {
          if (op.op === 'badsize') {
            // A size that is not in pgsize_bitmap: the kernel WARNs and refuses.
            const bad = sizes[0] * 2;
            if (op.unmap) expect(t.unmapPages(op.r * top, bad, 1)).toBe(0);
            else expect(t.mapPages(op.r * top, 0, bad, 1, RW).errno).toBe(-EINVAL);
            o.warns++;
          } else {
            const size = sizes[op.s];
            const iova = op.r * top + op.k * size;
            // Keep within ias: one call never writes past the pgd's last entry.
            const count = Math.max(1, Math.min(op.count, Math.floor((limit - iova) / size)));
            if (op.op === 'map') {
              const pa = 0x80000000 * (op.pr + 1) + op.k * size;
              const got = t.mapPages(iova, pa, size, count, op.prot);
              if (iova >= limit) {
                expect(got).toEqual({ mapped: 0, errno: -ERANGE });
                o.warns++;
              } else if ((op.prot & RW) === 0) {
                expect(got).toEqual({ mapped: 0, errno: -EINVAL });
              } else {
                expect(got).toEqual(o.map(iova, pa, size, count, op.prot));
              }
            } else {
              const got = t.unmapPages(iova, size, count);
              if (iova >= limit) {
                expect(got).toBe(0);
                o.warns++;
              } else {
                expect(got).toBe(o.unmap(iova, size, count));
              }
            }
            check(iova);
            check(iova + size - 1);
            check(iova + sizes[0]);
          }
          expect(t.warnings.length).toBe(o.warns);
          expect(t.tableCount).toBe(o.tables.size + 1);
        }
        // Every leaf, as text so that thousands compare at once.
        const line = (iova: number, size: number, pa: number, attrs: bigint) =>
          `${iova.toString(16)} ${size.toString(16)} ${pa.toString(16)} ${attrs.toString(16)}`;
        const want = o.sortedLeaves().map(([iova, l]) => line(iova, l.size, l.pa, t.protToPte(l.prot)));
        const got = t.leaves().map((l) => line(l.iova, l.size, l.paddr, l.attrs));
        expect(got.join('\n')).toBe(want.join('\n'));
        const wrong: string[] = [];
        for (const [iova, l] of o.leaves) {
          if (t.iovaToPhys(iova) !== l.pa || t.iovaToPhys(iova + l.size - 1) !== l.pa + l.size - 1)
            wrong.push(iova.toString(16));
        }
        expect(wrong).toEqual([]);
        const memory = t.memory;
        t.free();
        expect(memory.liveAllocations).toBe(0);
      }),
      { numRuns: 20 },
    );
  });

  it('overlapping maps give -EEXIST and change nothing', () => {
    const t = createPageTable(name, cfg);
    const [small, big] = t.layout.pgsizes;
    expect(t.mapPages(big, 0x80000000, big, 1, RW)).toEqual({ mapped: big, errno: 0 });
    // The same block, and a page inside it (the walk meets the block above the page's level).
    expect(t.mapPages(big, 0x200000000, big, 1, RW)).toEqual({ mapped: 0, errno: -EEXIST });
    expect(t.mapPages(big + small, 0x200000000, small, 1, RW)).toEqual({ mapped: 0, errno: -EEXIST });
    // A run of pages whose second page is taken: all are checked before any is written.
    expect(t.mapPages(3 * big + small, 0x300000000, small, 1, RW).errno).toBe(0);
    expect(t.mapPages(3 * big, 0x200000000, small, 2, RW)).toEqual({ mapped: 0, errno: -EEXIST });
    expect(t.warnings.map((w) => w.site)).toEqual([
      'arm_lpae_init_pte',
      '__arm_lpae_map',
      'arm_lpae_init_pte',
    ]);
    expect(t.iovaToPhys(big + small)).toBe(0x80000000 + small);
    expect(t.iovaToPhys(3 * big)).toBe(0);
    expect(t.iovaToPhys(3 * big + small)).toBe(0x300000000);
    t.free();
  });

  it('a block over a table: the table goes, with the pages it mapped (6.12)', () => {
    const t = createPageTable(name, cfg);
    const [small, big] = t.layout.pgsizes;
    expect(t.mapPages(big + small, 0x1000000 * small, small, 2, RW).errno).toBe(0);
    const tables = t.tableCount;
    expect(t.mapPages(big, 0x80000000, big, 1, RW)).toEqual({ mapped: big, errno: 0 });
    expect(t.tableCount).toBe(tables - 1);
    expect(t.iovaToPhys(big + small)).toBe(0x80000000 + small);
    expect(t.warnings).toEqual([]);
    t.free();
  });

  it('unmapping part of a block splits it (6.12 arm_lpae_split_blk_unmap)', () => {
    const t = createPageTable(name, cfg);
    const [small, big] = t.layout.pgsizes;
    const per = big / small;
    expect(t.mapPages(big, 0x80000000, big, 1, RW | IOMMU_CACHE).errno).toBe(0);
    const tables = t.tableCount;
    // Two pages from the middle: one new table of pages, all the others still mapped.
    expect(t.unmapPages(big + 3 * small, small, 2)).toBe(2 * small);
    expect(t.tableCount).toBe(tables + 1);
    const leaves = t.leaves();
    expect(leaves).toHaveLength(per - 2);
    expect(leaves.every((l) => l.size === small && l.paddr - 0x80000000 === l.iova - big)).toBe(true);
    expect(new Set(leaves.map((l) => l.attrs))).toEqual(new Set([t.protToPte(RW | IOMMU_CACHE)]));
    expect(t.iovaToPhys(big + 3 * small)).toBe(0);
    expect(t.iovaToPhys(big + 5 * small)).toBe(0x80000000 + 5 * small);
    // A count past the table page's end stops there.
    expect(t.unmapPages(big + (per - 1) * small, small, 5)).toBe(small);
    t.free();
  });

  it('unmapping every page leaves an empty table, which a covering unmap then frees', () => {
    const t = createPageTable(name, cfg);
    const [small, big] = t.layout.pgsizes;
    expect(t.mapPages(big, 0x80000000, small, 1, RW).errno).toBe(0);
    expect(t.unmapPages(big, small, 1)).toBe(small);
    const tables = t.tableCount;
    expect(t.leaves()).toEqual([]);
    // The entry above is still a table: unmapping at its size frees it and counts it as unmapped.
    expect(t.unmapPages(big, big, 1)).toBe(big);
    expect(t.tableCount).toBe(tables - 1);
    // Now the entry is empty: the kernel WARNs and unmaps nothing.
    expect(t.unmapPages(big, big, 1)).toBe(0);
    expect(t.warnings.map((w) => w.message)).toEqual(['WARN_ON(!pte)']);
    t.free();
  });

  it('freeing the whole table frees every table, shared memory included', () => {
    const memory = new TableMemory();
    const a = createPageTable(name, { ...cfg, memory });
    const b = createPageTable(name, { ...cfg, memory });
    const [small, big] = a.layout.pgsizes;
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
