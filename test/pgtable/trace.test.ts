// SPDX-License-Identifier: GPL-2.0-only
// Walk traces (level, table, index, PTE, decision at each step), and the
// table memory read the way an emulator would: walkers written here from the
// architecture manuals (the Arm ARM's VMSAv8-64 and VMSAv7 short-descriptor
// translation, VT-d remapping, AMD host and x86-64 paging, and lib/xarray.c
// for the iommufd mock), reading only words by physical address, must
// translate every IOVA as iova_to_phys() does, and so must the engine's own
// hardware walk (access()). Run on every registered format and cfg variant.
import { describe, expect, it } from 'vitest';
import type { PageTable, PgtableRulesName } from '../../src/pgtable/index.js';
import {
  ACCESS_LEAF,
  IOMMU_CACHE,
  IOMMU_READ,
  IOMMU_WRITE,
  createPageTable,
  pgtableFormatNames,
  pgtableFormats,
} from '../../src/pgtable/index.js';

const RW = IOMMU_READ | IOMMU_WRITE;

/** A VMSAv8-64 table walk over raw memory: TTBR, granule, ias and the start level are all it knows. */
function vmsav8Walk(t: PageTable, iova: number): number | null {
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

/** MediaTek's output address bits 32..34 in descriptor bits 9, 4, 5. */
const mtkHigh = (d: number) => ((d >> 9) & 1) * 2 ** 32 + ((d >> 4) & 1) * 2 ** 33 + ((d >> 5) & 1) * 2 ** 34;

/**
 * A VMSAv7 short-descriptor walk (Arm ARM B3.5): TTBCR.N = 0, a level-1 index
 * of VA[31:20] (VA[33:20] with MediaTek's 34-bit IOVAs); 0b01 a page table at
 * [31:10]; 0b1x a section ([31:20]) or with bit 18 a supersection ([31:24]);
 * at level 2, 0b01 a large page ([31:16]) and 0b1x a small page ([31:12]).
 */
function vmsav7Walk(t: PageTable, iova: number): number | null {
  const mtk = t.cfg.ias > 32;
  const l1 = t.memory.read32(t.cfg.ttbr + 4 * (Math.floor(iova / 2 ** 20) % 2 ** (t.cfg.ias - 20)));
  if (l1 === undefined || (l1 & 3) === 0) return null;
  const hi = (d: number) => (mtk ? mtkHigh(d) : 0);
  if ((l1 & 3) !== 1) {
    if (l1 & (1 << 18)) return ((l1 & 0xff000000) >>> 0) + hi(l1) + (iova % 2 ** 24);
    return ((l1 & 0xfff00000) >>> 0) + hi(l1) + (iova % 2 ** 20);
  }
  const l2 = t.memory.read32(((l1 & ~0x3ff) >>> 0) + hi(l1) + 4 * (Math.floor(iova / 4096) % 256));
  if (l2 === undefined || (l2 & 3) === 0) return null;
  if ((l2 & 3) === 1) return ((l2 & 0xffff0000) >>> 0) + hi(l2) + (iova % 0x10000);
  return ((l2 & 0xfffff000) >>> 0) + hi(l2) + (iova % 4096);
}

/** x86-style radix walks: 512 entries a level, the address in [51:12]. */
const addr = (d: bigint) => Number(d & 0x000ffffffffff000n);
const entryAt = (t: PageTable, table: number, iova: number, level: number) =>
  t.memory.read64(table + 8 * (Math.floor(iova / 2 ** (12 + 9 * level)) % 512));

/**
 * VT-d remapping (spec 3.6, 3.7): second stage is present with R or W, first
 * stage with P; bit 7 makes a 2M or 1G leaf; levels from the context's AW.
 */
function vtdWalk(t: PageTable, iova: number): number | null {
  let table = t.cfg.ttbr;
  for (let level = t.layout.levels.length - 1; level >= 0; level--) {
    const d = entryAt(t, table, iova, level);
    if (d === undefined || (d & 3n) === 0n) return null;
    if (level === 0 || d & 0x80n) return addr(d) + (iova % 2 ** (12 + 9 * level));
    table = addr(d);
  }
  return null;
}

/** x86-64 4/5-level paging (AMD v2): P, PS at the PDPT (1G) and PD (2M). */
function x86Walk(t: PageTable, iova: number): number | null {
  let table = t.cfg.ttbr;
  for (let level = t.layout.levels.length - 1; level >= 0; level--) {
    const d = entryAt(t, table, iova, level);
    if (d === undefined || (d & 1n) === 0n) return null;
    if (level === 0 || ((level === 1 || level === 2) && d & 0x80n))
      return addr(d) + (iova % 2 ** (12 + 9 * level));
    table = addr(d);
  }
  return null;
}

/**
 * AMD host translation (IOMMU spec 2.2.3): the DTE's mode gives the levels; a
 * PDE's Next Level is the level it points at; 0 or 7 end the walk, 7 with a
 * page size encoded by the first zero address bit from 12 (2^(bit + 1)).
 */
function amdV1Walk(t: PageTable, iova: number): number | null {
  const mode = t.layout.levels.length - t.top;
  let table = t.cfg.ttbr;
  for (let level = mode - 1; level >= 0; level--) {
    const d = entryAt(t, table, iova, level);
    if (d === undefined || (d & 1n) === 0n) return null;
    const next = Number((d >> 9n) & 7n);
    if (next === 7) {
      let b = 12;
      while ((d >> BigInt(b)) & 1n) b++;
      const size = 2 ** (b + 1);
      const base = addr(d);
      return base - (base % size) + (iova % size);
    }
    if (next === 0 || level === 0) return addr(d) + (iova % 2 ** (12 + 9 * level));
    if (next !== level) return null;
    table = addr(d);
  }
  return null;
}

/** The mock's xarray (lib/xarray.c): node pointers end in 0b10, value entries in 1; 64 slots a node. */
function xarrayWalk(t: PageTable, iova: number): number | null {
  const index = Math.floor(iova / 2048);
  let node = t.cfg.ttbr;
  for (let h = t.layout.levels.length - t.top - 1; h >= 0; h--) {
    const e = t.memory.read64(node + 8 * (Math.floor(index / 64 ** h) % 64));
    if (e === undefined || e === 0n) return null;
    if ((e & 3n) === 2n) {
      node = Number(e & ~3n);
      continue;
    }
    if (h !== 0 || !(e & 1n)) return null;
    return Number((e >> 1n) & ((1n << 53n) - 1n)) * 2048 + (iova % 2048);
  }
  return null;
}

/**
 * The Rockchip IOMMU's walk (the layout rockchip-iommu.c documents): DTE_ADDR
 * points at 1024 DTEs indexed by VA[31:22], a valid one (bit 0) at a page
 * table of 1024 PTEs indexed by VA[21:12]; addresses in [31:12], and on v2
 * bits 35..32 in [11:8] and 39..36 in [7:4].
 */
function rockchipWalk(t: PageTable, iova: number): number | null {
  const v2 = t.cfg.oas > 32;
  const at = (d: number) =>
    ((d & 0xfffff000) >>> 0) + (v2 ? (((d >>> 8) & 0xf) + ((d >>> 4) & 0xf) * 16) * 2 ** 32 : 0);
  const va = iova % 2 ** 32;
  const dte = t.memory.read32(t.cfg.ttbr + 4 * Math.floor(va / 2 ** 22));
  if (dte === undefined || (dte & 1) === 0) return null;
  const pte = t.memory.read32(at(dte) + 4 * (Math.floor(va / 4096) % 1024));
  if (pte === undefined || (pte & 1) === 0) return null;
  return at(pte) + (va % 4096);
}

/**
 * The Tegra SMMU's walk (the SMMU_PDE and SMMU_PTE layout of tegra-smmu.c): the
 * page directory indexed by VA[31:22], a PDE with NEXT (bit 28) points at a
 * page table indexed by VA[21:12]; an entry's frame is its low
 * (address bits - 12) bits, and an entry of 0 maps nothing.
 */
function tegraWalk(t: PageTable, iova: number): number | null {
  const frame = (d: number) => (d % 2 ** (t.cfg.oas - 12)) * 4096;
  const va = iova % 2 ** 32;
  const pde = t.memory.read32(t.cfg.ttbr + 4 * Math.floor(va / 2 ** 22));
  if (pde === undefined || pde === 0 || !(pde & (1 << 28))) return null;
  const pte = t.memory.read32(frame(pde) + 4 * (Math.floor(va / 4096) % 1024));
  if (pte === undefined || pte === 0) return null;
  return frame(pte) + (va % 4096);
}

/**
 * The Exynos System MMU's walk (the entry layout exynos-iommu.c documents):
 * 4096 level-1 entries by VA[31:20], type [1:0] 0b10 a 1M section, 0b01 a
 * level-2 table at [31:6]; 256 level-2 entries by VA[19:12], 0b01 a 64K
 * large page, 0b1x a 4K small page; v5 entries hold the address >> 4.
 */
function exynosWalk(t: PageTable, iova: number): number | null {
  const sh = t.cfg.oas > 32 ? 16 : 1;
  const va = iova % 2 ** 32;
  const l1 = t.memory.read32(t.cfg.ttbr + 4 * Math.floor(va / 2 ** 20));
  if (l1 === undefined) return null;
  const at = (d: number, size: number) => {
    const p = d * sh;
    return p - (p % size) + (va % size);
  };
  if ((l1 & 3) === 2) return at(l1, 2 ** 20);
  if ((l1 & 3) !== 1) return null;
  const l2 = t.memory.read32(((l1 & 0xffffffc0) >>> 0) * sh + 4 * (Math.floor(va / 4096) % 256));
  if (l2 === undefined || (l2 & 3) === 0) return null;
  return (l2 & 3) === 1 ? at(l2, 0x10000) : at(l2, 4096);
}

/**
 * The Apple DART's walk (io-pgtable-dart.c): TTBR i (the L1 tables, one
 * granule each) by the IOVA bits above the L1 index; L1 and L2 entries of
 * 8 bytes, bits_per_level = log2(granule) - 3 each; an entry of 0 maps
 * nothing; the address at [35:12] (APPLE_DART) or PA >> 4 at [37:10]
 * (APPLE_DART2).
 */
function dartWalk(t: PageTable, iova: number): number | null {
  const g = t.cfg.granule;
  const bpl = Math.log2(g) - 3;
  const addrOf = (d: bigint) =>
    t.cfg.fmt === 'APPLE_DART2'
      ? Number((d & (((1n << 28n) - 1n) << 10n)) << 4n)
      : Number(d & (((1n << 24n) - 1n) << 12n));
  const tbl = Math.floor(iova / 2 ** (3 * bpl + 3));
  if (tbl >= t.cfg.regs.n_ttbrs) return null;
  const l1 = t.memory.read64(t.cfg.ttbr + tbl * g + 8 * (Math.floor(iova / 2 ** (2 * bpl + 3)) % 2 ** bpl));
  if (l1 === undefined || l1 === 0n) return null;
  const l2 = t.memory.read64(addrOf(l1) + 8 * (Math.floor(iova / g) % 2 ** bpl));
  if (l2 === undefined || l2 === 0n) return null;
  return addrOf(l2) + (iova % g);
}

const emulators: Readonly<Record<PgtableRulesName, ((t: PageTable, iova: number) => number | null) | null>> =
  {
    'io-pgtable-arm': vmsav8Walk,
    'io-pgtable-arm-v7s': vmsav7Walk,
    'io-pgtable-dart': dartWalk,
    'intel-vtd': vtdWalk,
    'amd-v1': amdV1Walk,
    'amd-v2': x86Walk,
    'iommufd-mock': xarrayWalk,
    'rockchip-iommu': rockchipWalk,
    'tegra-smmu': tegraWalk,
    'exynos-iommu': exynosWalk,
  };

const variantCases = pgtableFormatNames.flatMap((name) =>
  [{}, ...pgtableFormats[name].variants].map((cfg) => [name, cfg] as const),
);

describe.each(variantCases)('%s %o: walks', (name, cfg) => {
  it('a trace, access() and an emulator reading raw memory translate as iova_to_phys does', () => {
    const t = createPageTable(name, cfg);
    const sizes = t.layout.pgsizes.filter((s) => s <= 2 ** 30);
    const small = sizes[0];
    const big = sizes[1] ?? small * 64;
    // As __iommu_map() does: the largest page size the format has, and calls again for what a
    // call left (the SoC drivers map one page per call; Tegra has only 4K pages).
    const map = (iova: number, pa: number, size: number, n: number, prot: number) => {
      const pg = sizes.filter((p) => p <= size && size % p === 0).pop() ?? size;
      const total = (size / pg) * n;
      for (let done = 0; done < total;) {
        const r = t.mapPages(iova + done * pg, pa + done * pg, pg, total - done, prot);
        if (r.errno || !r.mapped) break;
        done += r.mapped / pg;
      }
    };
    map(0, 0x8000_0000, small, 5, RW);
    map(big, 0x1_0000_0000 % 2 ** t.cfg.oas, big, 3, RW | IOMMU_CACHE);
    t.unmapPages(2 * big + 7 * small, small, 2);
    map(5 * big + small, 0x2_0000_0000 % 2 ** t.cfg.oas, small, 1, RW);
    t.unmapPages(5 * big + small, small, 1);
    const emulate = emulators[t.layout.rules] as (t: PageTable, iova: number) => number | null;
    // The mock's iova_to_phys() WARNs inside a page and drops the offset: probe page starts there.
    const off = t.layout.rules === 'iommufd-mock' ? 0 : 0x10;
    let translated = 0;
    for (let b = 0; b < 7; b++)
      for (const k of [0, 1, 4, 6, 7, 8, 9]) {
        const iova = b * big + k * small + off;
        if (iova >= 2 ** t.cfg.ias) continue;
        const tr = t.walkTrace(iova);
        const phys = t.iovaToPhys(iova);
        expect([iova, tr.phys ?? 0]).toEqual([iova, phys]);
        expect([iova, emulate(t, iova) ?? 0]).toEqual([iova, phys]);
        const acc = t.access(iova);
        expect([iova, acc & ACCESS_LEAF ? t.lastPhys : 0]).toEqual([iova, phys]);
        if (tr.phys !== null) translated++;
        // Each step reads the table the previous one pointed at, at the index the IOVA gives.
        tr.steps.forEach((s, i) => {
          if (i > 0) expect(s.table).toBe(tr.steps[i - 1].next);
          expect(s.pteAddress).toBe(s.table + t.layout.pteBytes * s.index);
          const raw =
            t.layout.pteBytes === 8
              ? t.memory.read64(s.pteAddress)
              : BigInt(t.memory.read32(s.pteAddress) ?? -1);
          expect(raw).toBe(s.pte);
        });
      }
    expect(translated).toBeGreaterThan(3);
  });
});

describe.each(pgtableFormatNames.filter((n) => n.startsWith('arm-64-lpae')))('%s', (name) => {
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
