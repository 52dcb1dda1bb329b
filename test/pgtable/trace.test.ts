// SPDX-License-Identifier: GPL-2.0-only
// Walk traces (level, table, index, PTE, decision at each step), and the
// table memory read the way an emulator would: a walker written here from the
// Arm ARM's VMSAv8-64 translation (index bits per granule, descriptor types,
// output-address field), reading only 64-bit words by physical address, must
// translate every IOVA as iova_to_phys() does. Run on every registered format.
import { describe, expect, it } from 'vitest';
import type { PageTable } from '../../src/pgtable/index.js';
import {
  IOMMU_CACHE,
  IOMMU_READ,
  IOMMU_WRITE,
  createPageTable,
  pgtableFormatNames,
} from '../../src/pgtable/index.js';

const RW = IOMMU_READ | IOMMU_WRITE;

/** A VMSAv8-64 table walk over raw memory: TTBR, granule, ias and the start level are all it knows. */
function emulatorWalk(t: PageTable, iova: number): number | null {
  const pgShift = Math.log2(t.cfg.granule);
  const bpl = pgShift - 3;
  const start = t.layout.levels[0].level;
  const va = BigInt(iova);
  let table = BigInt(t.cfg.ttbr);
  for (let level = start; level <= 3; level++) {
    const shift = BigInt(pgShift + (3 - level) * bpl);
    // The start level indexes with every remaining IOVA bit (a concatenated stage-2 pgd has more than bpl).
    const bits = level === start ? BigInt(t.cfg.ias) - shift : BigInt(bpl);
    const index = (va >> shift) & ((1n << bits) - 1n);
    const desc = t.memory.read64(Number(table + index * 8n));
    if (desc === undefined || (desc & 1n) === 0n) return null;
    // Output address: [47:pgShift]; with a 64K granule [15:12] holds PA[51:48].
    let oa = desc & (((1n << 48n) - 1n) & ~((1n << BigInt(pgShift)) - 1n));
    if (pgShift === 16) oa |= ((desc >> 12n) & 0xfn) << 48n;
    const type = desc & 3n;
    if (level === 3) return type === 3n ? Number(oa | (va & ((1n << shift) - 1n))) : null;
    if (type === 1n) return Number(oa | (va & ((1n << shift) - 1n)));
    table = oa;
  }
  return null;
}

describe.each(pgtableFormatNames)('%s', (name) => {
  /** A table with pages, blocks, a split block and an emptied table. */
  const populated = () => {
    const t = createPageTable(name, { ias: 40 });
    const [small, big] = t.layout.pgsizes;
    t.mapPages(0, 0x8000_0000, small, 5, RW);
    t.mapPages(big, 0x1_0000_0000, big, 3, RW | IOMMU_CACHE);
    t.unmapPages(2 * big + 7 * small, small, 2);
    t.mapPages(5 * big + small, 0x2_0000_0000, small, 1, RW);
    t.unmapPages(5 * big + small, small, 1);
    return t;
  };

  it('a trace takes the steps iova_to_phys takes, and an emulator reading raw memory agrees', () => {
    const t = populated();
    const [small, big] = t.layout.pgsizes;
    const probes: number[] = [];
    for (let b = 0; b < 7; b++)
      for (const k of [0, 1, 4, 6, 7, 8, 9]) probes.push(b * big + k * small + 0x10);
    let translated = 0;
    for (const iova of probes) {
      const tr = t.walkTrace(iova);
      const phys = t.iovaToPhys(iova);
      expect(tr.phys ?? 0).toBe(phys);
      expect(emulatorWalk(t, iova) ?? 0).toBe(phys);
      if (tr.phys !== null) translated++;
      // Each step reads the table the previous one pointed at, at the index the IOVA gives.
      tr.steps.forEach((s, i) => {
        if (i > 0) expect(s.table).toBe(tr.steps[i - 1].next);
        expect(s.pteAddress).toBe(s.table + 8 * s.index);
        expect(t.memory.read64(s.pteAddress)).toBe(s.pte);
      });
    }
    // Pages 0, 1 and 4 of the first run, all seven probes of three blocks but the two unmapped from the split one.
    expect(translated).toBe(3 + 3 * 7 - 2);
  });

  it('steps say what they found: tables, then a page or a block, or an empty entry', () => {
    const t = populated();
    const [small, big] = t.layout.pgsizes;
    const levels = t.layout.levels.map((l) => l.level);
    const last = levels[levels.length - 1];
    const page = t.walkTrace(small + 3);
    expect(page.steps.map((s) => [s.level, s.kind])).toEqual(
      levels.map((l) => [l, l === last ? 'page' : 'table']),
    );
    expect(page.phys).toBe(0x8000_0000 + small + 3);
    expect(page.pageSize).toBe(small);
    const out = (0x8000_0000 + small).toString(16);
    expect(page.steps[page.steps.length - 1].decision).toBe(
      `page (${small / 1024}K): output 0x${out} + offset 0x3 = 0x${(0x8000_0003 + small).toString(16)}`,
    );
    const block = t.walkTrace(big + 5);
    const leaf = block.steps[block.steps.length - 1];
    expect([leaf.level, leaf.kind, leaf.next]).toEqual([last - 1, 'block', 0x1_0000_0000]);
    expect(leaf.fields.SH).toBe(3);
    expect(leaf.fields.AF).toBe(1);
    // The emptied table: the walk gets to its level and finds nothing.
    const empty = t.walkTrace(5 * big + small);
    expect(empty.steps.map((s) => s.kind)).toEqual([...levels.slice(0, -1).map(() => 'table'), 'empty']);
    expect(empty.phys).toBeNull();
    expect(t.explain(5 * big + small)).toMatch(/empty: no translation\n {2}→ no translation$/);
  });
});

it('a trace as text', () => {
  const t = createPageTable('arm-64-lpae-s1-4k');
  t.mapPages(0x40_0000_0000, 0x8000_0000, 0x200000, 1, RW | IOMMU_CACHE);
  expect(t.explain(0x40_0012_3456)).toBe(
    [
      'walk 0x4000123456',
      '  L0 table 0x40000000[0] @ 0x40000000 = 0x0000000040001003: table: level 1 table at 0x40001000',
      '  L1 table 0x40001000[256] @ 0x40001800 = 0x0000000040002003: table: level 2 table at 0x40002000',
      '  L2 table 0x40002000[0] @ 0x40002000 = 0x0000000080000f45: block (2M): output 0x80000000 + offset 0x123456 = 0x80123456',
      '  → 0x80123456 (2M leaf)',
    ].join('\n'),
  );
  const s1 = t.walkTrace(0x40_0012_3456).steps[2].fields;
  expect(s1).toEqual({
    AttrIndx: 1,
    NS: 0,
    AP: 1,
    SH: 3,
    AF: 1,
    Contiguous: 0,
    nG: 1,
    DBM: 0,
    PXN: 0,
    UXN: 0,
  });
});
