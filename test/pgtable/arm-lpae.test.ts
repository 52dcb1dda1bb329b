// SPDX-License-Identifier: GPL-2.0-only
// ARM 64-bit LPAE as io-pgtable-arm.c (6.12) builds it: descriptors bit for
// bit (arm_lpae_prot_to_pte(), __arm_lpae_init_pte(), arm_lpae_install_table()
// against the Arm ARM's VMSAv8-64 formats), the cfg arithmetic and checks of
// arm_lpae_restrict_pgsizes(), arm_lpae_alloc_pgtable() and
// arm_64_lpae_alloc_pgtable_s1/_s2(), the kernel's own selftest
// (arm_lpae_run_tests()), and dirty tracking (arm_lpae_read_and_clear_dirty()).
import { describe, expect, it } from 'vitest';
import type { PageTable, PgtableCfg, PgtableFormatName } from '../../src/pgtable/index.js';
import {
  IOMMU_CACHE,
  IOMMU_DIRTY_NO_CLEAR,
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_PRIV,
  IOMMU_READ,
  IOMMU_WRITE,
  IO_PGTABLE_QUIRK_ARM_HD,
  IO_PGTABLE_QUIRK_ARM_NS,
  IO_PGTABLE_QUIRK_ARM_OUTER_WBWA,
  IO_PGTABLE_QUIRK_ARM_TTBR1,
  alloc_io_pgtable_ops,
  allocPageTable,
  createPageTable,
  pgtableFormatNames,
  pgtableFormats,
} from '../../src/pgtable/index.js';
import { EEXIST, EINVAL } from '../../src/kernel/errno.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const SZ_4K = 0x1000;
const SZ_2M = 0x200000;
const SZ_1G = 0x40000000;

/** The descriptor that maps iova (the last step of its walk). */
const pteOf = (t: PageTable, iova: number) => {
  const steps = t.walkTrace(iova).steps;
  return steps[steps.length - 1].pte;
};

describe('descriptors, bit for bit', () => {
  // Stage-1 page/block descriptor (Arm ARM D8.3): [1:0] type, [4:2] AttrIndx, [5] NS, [7:6] AP,
  // [9:8] SH, [10] AF, [11] nG, [47:12] OA, [51] DBM, [52] Contiguous, [53] PXN, [54] UXN.
  it.each([
    // nG | AP[1] (EL0) | AttrIndx 1 (WBRWA) | SH inner | AF | PXN+UXN | page
    ['R|W|NOEXEC|CACHE page', RW | IOMMU_NOEXEC | IOMMU_CACHE, SZ_4K, 0x0060_0000_8000_0f47n],
    // AP[2] read-only, AttrIndx 0 (non-cacheable), SH outer
    ['R page', IOMMU_READ, SZ_4K, 0x8000_0ec3n],
    // AttrIndx 2 (device)
    ['R|W|MMIO page', RW | IOMMU_MMIO, SZ_4K, 0x8000_0e4bn],
    // privileged: no AP[1]
    ['R|W|PRIV page', RW | IOMMU_PRIV, SZ_4K, 0x8000_0e03n],
    // a write-only mapping is not read-only
    ['W page', IOMMU_WRITE, SZ_4K, 0x8000_0e43n],
    // a block: type 0b01
    ['R|W|CACHE 2M block', RW | IOMMU_CACHE, SZ_2M, 0x8000_0f45n],
    ['R|W 1G block', RW, SZ_1G, 0x8000_0e41n],
  ])('stage 1, 4K granule: %s', (_name, prot, size, pte) => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    expect(t.mapPages(SZ_1G * 4, 0x8000_0000, size, 1, prot).errno).toBe(0);
    expect(pteOf(t, SZ_1G * 4)).toBe(pte);
    // No bit the kernel does not set: the contiguous hint stays clear.
    expect(pte & (1n << 52n)).toBe(0n);
  });

  // Stage-2 descriptor: [5:2] MemAttr, [7:6] S2AP, [9:8] SH, [10] AF, [54:53] XN.
  it.each([
    // S2AP rw | MemAttr 0b1111 (outer/inner WB) | SH inner | AF | page
    ['R|W|CACHE page', RW | IOMMU_CACHE, SZ_4K, 0x8000_07ffn],
    // S2AP read | MemAttr 0b0101 (non-cacheable) | SH outer
    ['R page', IOMMU_READ, SZ_4K, 0x8000_0657n],
    // MemAttr 0b0001 (device nGnRE)
    ['R|W|MMIO page', RW | IOMMU_MMIO, SZ_4K, 0x8000_06c7n],
    ['R|W|NOEXEC block', RW | IOMMU_NOEXEC, SZ_2M, 0x0060_0000_8000_06d5n],
    // stage 2 has no privilege bit
    ['R|W|PRIV page', RW | IOMMU_PRIV, SZ_4K, 0x8000_06d7n],
  ])('stage 2, 4K granule: %s', (_name, prot, size, pte) => {
    const t = createPageTable('arm-64-lpae-s2-4k');
    expect(t.mapPages(SZ_1G * 4, 0x8000_0000, size, 1, prot).errno).toBe(0);
    expect(pteOf(t, SZ_1G * 4)).toBe(pte);
  });

  it('table descriptors: next-level address | 0b11; NSTable and NS with the NS quirk', () => {
    const t = createPageTable('arm-64-lpae-s1-4k', { quirks: IO_PGTABLE_QUIRK_ARM_NS });
    t.mapPages(0, 0x8000_0000, SZ_4K, 1, RW);
    const steps = t.walkTrace(0).steps;
    expect(steps.map((s) => s.kind)).toEqual(['table', 'table', 'table', 'page']);
    for (const s of steps.slice(0, 3)) {
      expect(s.pte).toBe((1n << 63n) | BigInt(s.next ?? -1) | 3n);
      expect(s.fields.NSTable).toBe(1);
    }
    expect(steps[3].pte).toBe(0x8000_0e63n);
    expect(steps[3].fields.NS).toBe(1);
  });

  it('a non-coherent walker: installed table descriptors carry SW_SYNC (bit 55), leaves do not', () => {
    const t = createPageTable('arm-64-lpae-s1-4k', { coherent_walk: false });
    t.mapPages(0, 0x8000_0000, SZ_4K, 1, RW);
    const steps = t.walkTrace(0).steps;
    expect(steps[0].pte).toBe((1n << 55n) | BigInt(steps[0].next ?? -1) | 3n);
    expect(steps[3].pte).toBe(0x8000_0e43n);
    expect(t.cfg.regs['tcr.sh']).toBe(2);
    expect(t.cfg.regs['tcr.irgn']).toBe(0);
  });

  it('64K granule, 52-bit output: PA[51:48] sits in PTE[15:12], and 4TB blocks exist', () => {
    const pgsize_bitmap = 0x10000 + 0x2000_0000 + 2 ** 42;
    // 4TB blocks only with a 52-bit output (arm_lpae_restrict_pgsizes()).
    expect(createPageTable('arm-64-lpae-s1-64k', { pgsize_bitmap }).layout.pgsizes).toHaveLength(2);
    const t = createPageTable('arm-64-lpae-s1-64k', { oas: 52, ias: 52, pgsize_bitmap });
    expect(t.layout.pgsizes).toEqual([0x10000, 0x2000_0000, 2 ** 42]);
    const pa = 0x000f_1234_5678_0000;
    expect(t.mapPages(0x10000, pa, 0x10000, 1, RW).errno).toBe(0);
    expect(pteOf(t, 0x10000)).toBe(0x0000_1234_5678_0000n | (0xfn << 12n) | 0xe43n);
    expect(t.iovaToPhys(0x10042)).toBe(pa + 0x42);
    expect(t.mapPages(2 ** 42, 0, 2 ** 42, 1, RW).errno).toBe(0);
    expect(t.walkTrace(2 ** 42 + 5).steps.map((s) => [s.level, s.kind])).toEqual([[1, 'block']]);
  });

  it('with IO_PGTABLE_QUIRK_ARM_HD, writeable stage-1 leaves get DBM (bit 51), read-only ones AP[2]', () => {
    const t = createPageTable('arm-64-lpae-s1-4k', { quirks: IO_PGTABLE_QUIRK_ARM_HD });
    t.mapPages(0, 0x8000_0000, SZ_4K, 1, RW);
    t.mapPages(SZ_4K, 0x8000_0000, SZ_4K, 1, IOMMU_READ);
    expect(pteOf(t, 0)).toBe((1n << 51n) | 0x8000_0e43n);
    expect(pteOf(t, SZ_4K)).toBe(0x8000_0ec3n);
  });
});

describe('cfg: arm_lpae_restrict_pgsizes(), arm_lpae_alloc_pgtable() and the s1/s2 checks', () => {
  const geometry = (name: PgtableFormatName, cfg: PgtableCfg) => {
    const t = createPageTable(name, cfg);
    const l = t.layout.levels;
    return { start: l[0].level, pgdEntries: 2 ** l[0].indexBits, levels: l.length, regs: t.cfg.regs };
  };

  it.each([
    // [format, ias, start level, pgd entries]
    ['arm-64-lpae-s1-4k', 48, 0, 512],
    ['arm-64-lpae-s1-4k', 39, 1, 512],
    ['arm-64-lpae-s1-4k', 32, 1, 4],
    ['arm-64-lpae-s1-16k', 48, 0, 2],
    ['arm-64-lpae-s1-16k', 40, 1, 16],
    ['arm-64-lpae-s1-16k', 36, 2, 2048],
    ['arm-64-lpae-s1-64k', 48, 1, 64],
    ['arm-64-lpae-s1-64k', 42, 2, 8192],
    // Stage 2 concatenates up to 16 level-0 entries into level-1 tables.
    ['arm-64-lpae-s2-4k', 48, 0, 512],
    ['arm-64-lpae-s2-4k', 40, 1, 1024],
    ['arm-64-lpae-s2-4k', 42, 1, 4096],
    // 32 level-0 entries are too many to concatenate.
    ['arm-64-lpae-s2-4k', 44, 0, 32],
    ['arm-64-lpae-s2-16k', 48, 1, 4096],
    ['arm-64-lpae-s2-64k', 48, 1, 64],
  ] as const)('%s, ias %d: start level %d, %d pgd entries', (name, ias, start, pgdEntries) => {
    const g = geometry(name, { ias });
    expect([g.start, g.pgdEntries, g.levels]).toEqual([start, pgdEntries, 4 - start]);
    const tsz = name.includes('s1') ? g.regs['tcr.tsz'] : g.regs['vtcr.tsz'];
    expect(tsz).toBe(64 - ias);
  });

  it('a concatenated pgd is several table pages: one map_pages call stops at the end of each', () => {
    const t = createPageTable('arm-64-lpae-s2-4k', { ias: 40 });
    expect(t.mapPages(511 * SZ_1G, 0, SZ_1G, 3, RW)).toEqual({ mapped: SZ_1G, errno: 0 });
    expect(t.mapPages(512 * SZ_1G, 0, SZ_1G, 3, RW)).toEqual({ mapped: 3 * SZ_1G, errno: 0 });
    expect(t.unmapPages(510 * SZ_1G, SZ_1G, 5)).toBe(0);
    expect(t.unmapPages(511 * SZ_1G, SZ_1G, 5)).toBe(SZ_1G);
    expect(t.iovaToPhys(513 * SZ_1G + 7)).toBe(SZ_1G + 7);
  });

  it('the contiguous hint spans the CPU’s runs (16, 128/32, 32/32 entries) but is never set', () => {
    const spans = (name: PgtableFormatName) =>
      createPageTable(name).layout.levels.map((l) => [l.level, l.contiguous]);
    expect(spans('arm-64-lpae-s1-4k')).toEqual([
      [0, 0],
      [1, 0],
      [2, 16],
      [3, 16],
    ]);
    expect(spans('arm-64-lpae-s2-16k')).toEqual([
      [1, 0],
      [2, 32],
      [3, 128],
    ]);
    expect(spans('arm-64-lpae-s1-64k')).toEqual([
      [1, 0],
      [2, 32],
      [3, 32],
    ]);
  });

  it('VTCR.SL0 counts from level 2 (4K) or from level 3 (16K, 64K)', () => {
    expect(geometry('arm-64-lpae-s2-4k', { ias: 48 }).regs['vtcr.sl']).toBe(2);
    expect(geometry('arm-64-lpae-s2-4k', { ias: 40 }).regs['vtcr.sl']).toBe(1);
    expect(geometry('arm-64-lpae-s2-4k', { ias: 30 }).regs['vtcr.sl']).toBe(0);
    expect(geometry('arm-64-lpae-s2-16k', { ias: 48 }).regs['vtcr.sl']).toBe(2);
    expect(geometry('arm-64-lpae-s2-64k', { ias: 40 }).regs['vtcr.sl']).toBe(1);
  });

  it('TCR and MAIR of a stage-1 table', () => {
    const t = createPageTable('arm-64-lpae-s1-16k', { ias: 40, oas: 40 });
    expect(t.cfg.regs).toEqual({
      'tcr.ips': 2,
      'tcr.tg': 2,
      'tcr.sh': 3,
      'tcr.orgn': 1,
      'tcr.irgn': 1,
      'tcr.tsz': 24,
      mair: 0xf404ff44,
    });
    expect(t.cfg.ttbr).toBe(t.pgdPhys);
  });

  it('the granule follows the CPU page size when offered, else the largest smaller or smallest larger size', () => {
    const bitmap = 0x1000 | 0x4000 | 0x10000 | SZ_2M | 0x2000000;
    expect(createPageTable('arm-64-lpae-s1-4k', { pgsize_bitmap: bitmap }).layout.pgsizes).toEqual([
      0x1000,
      SZ_2M,
    ]);
    const at16k = createPageTable('arm-64-lpae-s1-4k', { pgsize_bitmap: bitmap, cpu_page_size: 0x4000 });
    expect(at16k.layout.pgsizes).toEqual([0x4000, 0x2000000]);
    const below = createPageTable('arm-64-lpae-s1-4k', {
      pgsize_bitmap: 0x1000n | 0x10000n,
      cpu_page_size: 0x4000,
    });
    expect(below.layout.granule).toBe(0x1000);
    const above = createPageTable('arm-64-lpae-s1-4k', { pgsize_bitmap: 0x10000, cpu_page_size: 0x4000 });
    expect(above.layout.granule).toBe(0x10000);
  });

  it('ias and oas are clamped to the granule’s widest addresses', () => {
    expect(createPageTable('arm-64-lpae-s1-4k', { ias: 52, oas: 52 }).cfg).toMatchObject({
      ias: 48,
      oas: 48,
    });
    expect(createPageTable('arm-64-lpae-s1-64k', { ias: 52, oas: 52 }).cfg).toMatchObject({
      ias: 52,
      oas: 52,
    });
  });

  it.each([
    ['arm-64-lpae-s2-4k', { quirks: IO_PGTABLE_QUIRK_ARM_NS }, /no quirks are allowed at stage 2/],
    ['arm-64-lpae-s1-4k', { quirks: 1 << 1 }, /not allowed at stage 1/],
    ['arm-64-lpae-s1-4k', { quirks: IO_PGTABLE_QUIRK_ARM_OUTER_WBWA }, /OUTER_WBWA with a coherent walk/],
    ['arm-64-lpae-s1-4k', { quirks: IO_PGTABLE_QUIRK_ARM_TTBR1 }, /not modelled/],
    ['arm-64-lpae-s1-4k', { oas: 46 }, /oas 46 has no TCR.IPS/],
    ['arm-64-lpae-s2-4k', { oas: 38 }, /oas 38 has no VTCR.PS/],
    ['arm-64-lpae-s1-4k', { pgsize_bitmap: SZ_2M }, /no 4K, 16K or 64K granule/],
    ['arm-64-lpae-s1-4k', { ias: 12 }, /leaves no index bits/],
  ] as const)('%s with %o: the kernel returns NULL', (name, cfg, why) => {
    expect(alloc_io_pgtable_ops(name, cfg)).toBeNull();
    expect(() => createPageTable(name, cfg)).toThrow(why);
  });

  it('a non-coherent walk may ask for outer write-back (IO_PGTABLE_QUIRK_ARM_OUTER_WBWA)', () => {
    const t = createPageTable('arm-64-lpae-s1-4k', {
      coherent_walk: false,
      quirks: IO_PGTABLE_QUIRK_ARM_OUTER_WBWA,
    });
    expect([t.cfg.regs['tcr.irgn'], t.cfg.regs['tcr.orgn']]).toEqual([0, 1]);
  });
});

describe('arm_lpae_run_tests(), the kernel selftest, on every granule and ias it runs', () => {
  const pgsizes = [
    [SZ_4K, SZ_2M, SZ_1G],
    [0x4000, 0x2000000],
    [0x10000, 0x20000000],
  ];
  const cases = (['arm-64-lpae-s1-4k', 'arm-64-lpae-s2-4k'] as const).flatMap((name) =>
    pgsizes.flatMap((sizes) => [32, 36, 40, 42, 44, 48].map((ias) => [name, sizes, ias] as const)),
  );
  it.each(cases)('%s, pgsize_bitmap %j, ias %d', (name, sizes, ias) => {
    const pgsize_bitmap = sizes.reduce((a, b) => a + b, 0);
    const t = createPageTable(name, { pgsize_bitmap, ias, oas: 48 });
    expect(t.layout.pgsizes).toEqual(sizes);
    // Empty tables translate nothing.
    for (const iova of [42, SZ_1G + 42, 2 * SZ_1G + 42]) expect(t.iovaToPhys(iova)).toBe(0);
    // Distinct mappings of each size, 1G apart; mapping over them fails.
    let iova = 0;
    for (const size of sizes) {
      expect(t.mapPages(iova, iova, size, 1, RW | IOMMU_NOEXEC | IOMMU_CACHE)).toEqual({
        mapped: size,
        errno: 0,
      });
      expect(t.mapPages(iova, iova + size, size, 1, IOMMU_READ | IOMMU_NOEXEC).errno).not.toBe(0);
      expect(t.iovaToPhys(iova + 42)).toBe(iova + 42);
      iova += SZ_1G;
    }
    // Partial unmap of the block at 1G, and a remap of the hole.
    const size = sizes[0];
    expect(t.unmapPages(SZ_1G + size, size, 1)).toBe(size);
    expect(t.mapPages(SZ_1G + size, size, size, 1, IOMMU_READ).errno).toBe(0);
    expect(t.iovaToPhys(SZ_1G + size + 42)).toBe(size + 42);
    // Full unmap (the split block is a table now, which goes whole), then remap.
    iova = 0;
    for (const s of sizes) {
      expect(t.unmapPages(iova, s, 1)).toBe(s);
      expect(t.iovaToPhys(iova + 42)).toBe(0);
      expect(t.mapPages(iova, iova, s, 1, IOMMU_WRITE).errno).toBe(0);
      expect(t.iovaToPhys(iova + 42)).toBe(iova + 42);
      iova += SZ_1G;
    }
    // The kernel runs this with selftest_running set; outside it each overlap is a WARN, and nothing else is.
    expect(t.warnings).toHaveLength(sizes.length);
    const memory = t.memory;
    t.free();
    expect(memory.liveAllocations).toBe(0);
  });
});

describe('arm_lpae_read_and_clear_dirty()', () => {
  const dirtyOf = (t: PageTable, iova: number, size: number, flags = 0) => {
    const got: [number, number][] = [];
    const ret = t.readAndClearDirty(iova, size, flags, (a, len) => got.push([a, len]));
    return { ret, got };
  };
  /** What the SMMU does on a write through a DBM leaf: clear AP[2] in memory. */
  const hwWrite = (t: PageTable, iova: number) => {
    const steps = t.walkTrace(iova).steps;
    const last = steps[steps.length - 1];
    const words = t.memory.tableWords(last.table) as Uint32Array;
    words[2 * last.index] &= ~(1 << 7);
  };

  it('reports writeable-dirty leaves, cleans them unless IOMMU_DIRTY_NO_CLEAR, and sees hardware writes', () => {
    const t = createPageTable('arm-64-lpae-s1-4k', { quirks: IO_PGTABLE_QUIRK_ARM_HD });
    t.mapPages(0, 0x8000_0000, SZ_4K, 4, RW);
    t.mapPages(SZ_2M, 0x8000_0000, SZ_2M, 1, RW);
    // DBM with AP[2] clear is writeable-dirty: everything just mapped reads dirty once.
    const pages = [0, 1, 2, 3].map((i) => [i * SZ_4K, SZ_4K]);
    expect(dirtyOf(t, 0, 4 * SZ_4K)).toEqual({ ret: 0, got: pages });
    expect(dirtyOf(t, SZ_2M, SZ_2M)).toEqual({ ret: 0, got: [[SZ_2M, SZ_2M]] });
    expect(pteOf(t, 0)).toBe((1n << 51n) | 0x8000_0ec3n);
    expect(dirtyOf(t, 0, 4 * SZ_4K)).toEqual({ ret: 0, got: [] });
    hwWrite(t, SZ_4K);
    expect(dirtyOf(t, 0, 4 * SZ_4K, IOMMU_DIRTY_NO_CLEAR).got).toEqual([[SZ_4K, SZ_4K]]);
    expect(dirtyOf(t, 0, 4 * SZ_4K).got).toEqual([[SZ_4K, SZ_4K]]);
    expect(dirtyOf(t, 0, 4 * SZ_4K).got).toEqual([]);
    expect(t.warnings).toEqual([]);
  });

  it('a split copies the block’s clean state to its pieces (iopte_prot keeps AP[2] and DBM)', () => {
    const t = createPageTable('arm-64-lpae-s1-4k', { quirks: IO_PGTABLE_QUIRK_ARM_HD });
    t.mapPages(SZ_2M, 0x8000_0000, SZ_2M, 1, RW);
    expect(dirtyOf(t, SZ_2M, SZ_2M).got).toEqual([[SZ_2M, SZ_2M]]);
    expect(t.unmapPages(SZ_2M, SZ_4K, 1)).toBe(SZ_4K);
    expect(dirtyOf(t, SZ_2M + SZ_4K, SZ_2M - SZ_4K)).toEqual({ ret: 0, got: [] });
    expect(pteOf(t, SZ_2M + SZ_4K)).toBe((1n << 51n) | 0x8000_1ec3n);
  });

  it('the kernel’s refusals: stage 2, an empty size, past ias, and an unmapped entry in the range', () => {
    const s2 = createPageTable('arm-64-lpae-s2-4k');
    s2.mapPages(0, 0, SZ_4K, 1, RW);
    expect(dirtyOf(s2, 0, SZ_4K).ret).toBe(-EINVAL);
    expect(s2.warnings).toEqual([]);
    const t = createPageTable('arm-64-lpae-s1-4k', { quirks: IO_PGTABLE_QUIRK_ARM_HD });
    t.mapPages(0, 0, SZ_4K, 1, RW);
    expect(dirtyOf(t, 0, 0).ret).toBe(-EINVAL);
    expect(dirtyOf(t, 2 ** 48 - SZ_4K, 2 * SZ_4K).ret).toBe(-EINVAL);
    // The walk visits leaf after leaf: an empty entry is neither leaf nor table.
    const r = dirtyOf(t, 0, 2 * SZ_4K);
    expect(r).toEqual({ ret: -EINVAL, got: [[0, SZ_4K]] });
    expect(t.warnings.map((w) => w.site)).toEqual([
      'arm_lpae_read_and_clear_dirty',
      'arm_lpae_read_and_clear_dirty',
      'io_pgtable_visit_dirty',
    ]);
  });
});

it('allocPageTable reports why, and a failed pgd allocation is NULL too', () => {
  expect(allocPageTable('arm-64-lpae-s2-4k', { quirks: 1 })).toEqual({
    reason: 'no quirks are allowed at stage 2',
  });
  const t = createPageTable('arm-64-lpae-s1-4k');
  t.memory.shouldFail = () => true;
  expect(allocPageTable('arm-64-lpae-s1-4k', { memory: t.memory })).toEqual({
    reason: 'allocating the pgd failed',
  });
});

// io-pgtable-arm's answers to overlaps, blocks over tables and partial
// unmaps, on every LPAE format and input size (generic.test.ts checks every
// format against its family's oracle; these state the ARM rules outright).
const lpaeCases = pgtableFormatNames
  .filter((n) => n.startsWith('arm-64-lpae'))
  .flatMap((name) => [{}, ...pgtableFormats[name].variants].map((cfg) => [name, cfg] as const));
describe.each(lpaeCases)('io-pgtable-arm rules: %s %o', (name, cfg) => {
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
});
