// SPDX-License-Identifier: GPL-2.0-only
// ARM v7s short descriptors as io-pgtable-arm-v7s.c (6.12) builds them:
// descriptors bit for bit against the Arm ARM's VMSAv7 short-descriptor
// formats (B3.5.1: small page, large page, section, supersection, page
// table), the MediaTek extensions, the kernel's own selftest
// (arm_v7s_do_selftests()), the cfg checks and registers of
// arm_v7s_alloc_pgtable(), and the split rules of arm_v7s_split_cont() and
// arm_v7s_split_blk_unmap() as 6.12 has them.
import { describe, expect, it } from 'vitest';
import type { PageTable } from '../../src/pgtable/index.js';
import {
  IOMMU_CACHE,
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_PRIV,
  IOMMU_READ,
  IOMMU_WRITE,
  IO_PGTABLE_QUIRK_ARM_MTK_EXT,
  IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT,
  IO_PGTABLE_QUIRK_ARM_NS,
  IO_PGTABLE_QUIRK_NO_PERMS,
  TableMemory,
  alloc_io_pgtable_ops,
  createPageTable,
} from '../../src/pgtable/index.js';
import { v7sProtToPte } from '../../src/pgtable/formats/arm-v7s.js';
import { ENOMEM } from '../../src/kernel/errno.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const SZ_4K = 0x1000;
const SZ_64K = 0x10000;
const SZ_1M = 0x100000;
const SZ_16M = 0x1000000;
const SZ_1G = 0x40000000;
const MTK = IO_PGTABLE_QUIRK_NO_PERMS | IO_PGTABLE_QUIRK_ARM_MTK_EXT;

/** The descriptor that maps iova (the last step of its walk). */
const pteOf = (t: PageTable, iova: number) => {
  const steps = t.walkTrace(iova).steps;
  return Number(steps[steps.length - 1].pte);
};

describe('descriptors, bit for bit (Arm ARM B3.5.1)', () => {
  // Small page: [0] XN, [1] 1, [2] B, [3] C, [5:4] AP[1:0], [8:6] TEX, [9] AP[2], [10] S, [11] nG, [31:12] base.
  it.each([
    // nG | S | AP[1:0] 0b11 (AF, unprivileged) | TEX 0b001 | C | B | small page
    ['R|W|CACHE small page', RW | IOMMU_CACHE, 0x8000_0c7e],
    // AP[2] read-only, XN (bit 0 at level 2), no cacheability
    ['R|NOEXEC small page', IOMMU_READ | IOMMU_NOEXEC, 0x8000_0e73],
    // TEX 0, B: device (TEX remap index 1)
    ['R|W|MMIO small page', RW | IOMMU_MMIO, 0x8000_0c36],
    // privileged: no AP[1]
    ['R|W|PRIV small page', RW | IOMMU_PRIV, 0x8000_0c52],
  ])('level 2: %s', (_name, prot, pte) => {
    const t = createPageTable('arm-v7s');
    expect(t.mapPages(SZ_1G, 0x8000_0000, SZ_4K, 1, prot).errno).toBe(0);
    expect(pteOf(t, SZ_1G)).toBe(pte);
    expect(t.walkTrace(SZ_1G).steps.map((s) => s.kind)).toEqual(['table', 'small page']);
  });

  it('a large page: 16 identical entries, [1:0] 0b01, TEX at [14:12], XN at bit 15', () => {
    const t = createPageTable('arm-v7s');
    expect(t.mapPages(SZ_1G, 0x8001_0000, SZ_64K, 1, RW | IOMMU_CACHE | IOMMU_NOEXEC).errno).toBe(0);
    // 0x8001_0000 | XN(15) | TEX 001 (12) | nG | S | AP 0b11 | C | B | 0b01
    const want = 0x8001_0000 + 0x8000 + 0x1000 + 0xc00 + 0x30 + 0xc + 0x1;
    for (let i = 0; i < 16; i++) expect(pteOf(t, SZ_1G + i * SZ_4K)).toBe(want);
    expect(t.walkTrace(SZ_1G + 5 * SZ_4K + 7).phys).toBe(0x8001_5007);
    expect(t.leaves()).toEqual([
      {
        iova: SZ_1G,
        size: SZ_64K,
        level: 2,
        paddr: 0x8001_0000,
        pte: BigInt(want),
        attrs: BigInt(want & 0xffff),
      },
    ]);
  });

  // Section: [1:0] 0b10, [2] B, [3] C, [4] XN, [11:10] AP[1:0], [14:12] TEX, [15] AP[2], [16] S, [17] nG, [18] 0, [19] NS.
  it('sections and supersections, with NS (IO_PGTABLE_QUIRK_ARM_NS)', () => {
    const t = createPageTable('arm-v7s', { quirks: IO_PGTABLE_QUIRK_ARM_NS });
    expect(t.mapPages(SZ_1M, 0x8010_0000, SZ_1M, 1, RW | IOMMU_CACHE).errno).toBe(0);
    expect(pteOf(t, SZ_1M)).toBe(0x8010_0000 + 0x8_0000 + 0x2_0000 + 0x1_0000 + 0x1000 + 0xc00 + 0xc + 0x2);
    expect(t.mapPages(SZ_16M, 0x8100_0000, SZ_16M, 1, RW | IOMMU_CACHE).errno).toBe(0);
    // A supersection: bit 18, 16 identical entries.
    for (let i = 0; i < 16; i++) expect(pteOf(t, SZ_16M + i * SZ_1M)).toBe(0x810f_1c0e);
    expect(t.walkTrace(SZ_16M + 0x12_3456).steps.map((s) => [s.kind, s.decision])).toEqual([
      ['supersection', 'supersection (16M): output 0x81000000 + offset 0x123456 = 0x81123456'],
    ]);
    // A page table descriptor: [1:0] 0b01, NS at bit 3, the level-2 table at [31:10].
    t.mapPages(2 * SZ_1G, 0x8000_0000, SZ_4K, 1, RW);
    const l1 = t.walkTrace(2 * SZ_1G).steps[0];
    expect(Number(l1.pte)).toBe((l1.next ?? -1) | 0x8 | 0x1);
    expect((l1.next ?? 1) % 1024).toBe(0);
    // Level-2 entries have no NS bit.
    expect(pteOf(t, 2 * SZ_1G)).toBe(0x8000_0c72);
  });

  it('MediaTek: output address bits 32, 33, 34 in bits 9, 4, 5, and no permission bits', () => {
    const t = createPageTable('arm-v7s', { quirks: MTK, ias: 34, oas: 35 });
    expect(t.layout.levels[0].tableBytes).toBe(0x1_0000);
    // PA 0x5_2345_6000: bits 32 and 34.
    expect(t.mapPages(0x3_0000_0000, 0x5_2345_6000, SZ_4K, 1, RW | IOMMU_CACHE).errno).toBe(0);
    expect(pteOf(t, 0x3_0000_0000)).toBe(0x2345_6000 + 0x200 + 0x20 + 0xc00 + 0x40 + 0xc + 0x2);
    expect(t.iovaToPhys(0x3_0000_0123)).toBe(0x5_2345_6123);
    expect(t.mapPages(SZ_1G, 0x6_0010_0000, SZ_1M, 1, RW).errno).toBe(0);
    expect(t.iovaToPhys(SZ_1G + 5)).toBe(0x6_0010_0005);
    // Without MTK_EXT the same address does not fit.
    expect(createPageTable('arm-v7s').mapPages(0, 0x1_0000_0000, SZ_4K, 1, RW).errno).toBe(-34);
  });

  it('the compiled prot table is arm_v7s_prot_to_pte() for every prot, level and quirk set', () => {
    for (const quirks of [
      0,
      IO_PGTABLE_QUIRK_ARM_NS,
      IO_PGTABLE_QUIRK_NO_PERMS,
      MTK | IO_PGTABLE_QUIRK_ARM_NS,
    ]) {
      const t = createPageTable('arm-v7s', { quirks, ias: quirks & IO_PGTABLE_QUIRK_ARM_MTK_EXT ? 34 : 32 });
      for (let prot = 0; prot < 64; prot++)
        for (const lvl of [1, 2])
          expect([
            quirks,
            prot,
            lvl,
            t.f.protPte(prot, lvl - 1) | t.f.layout.levels[lvl - 1].leafBits,
          ]).toEqual([quirks, prot, lvl, BigInt(v7sProtToPte(prot, lvl, quirks))]);
    }
  });
});

describe('arm_v7s_do_selftests()', () => {
  it('runs as the kernel runs it, every WARN being an overlap it expects', () => {
    const t = createPageTable('arm-v7s', {
      quirks: IO_PGTABLE_QUIRK_ARM_NS,
      pgsize_bitmap: SZ_4K | SZ_64K | SZ_1M | SZ_16M,
      ias: 32,
      oas: 32,
    });
    for (const iova of [42, SZ_1G + 42, 2 * SZ_1G + 42]) expect(t.iovaToPhys(iova)).toBe(0);
    const sizes = [SZ_4K, SZ_64K, SZ_1M, SZ_16M];
    let iova = 0;
    for (const size of sizes) {
      expect(t.mapPages(iova, iova, size, 1, RW | IOMMU_NOEXEC | IOMMU_CACHE).errno).toBe(0);
      expect(t.mapPages(iova, iova + size, size, 1, IOMMU_READ | IOMMU_NOEXEC).errno).not.toBe(0);
      expect(t.iovaToPhys(iova + 42)).toBe(iova + 42);
      iova += SZ_16M;
    }
    // Partial unmap of each larger mapping, and a remap of the hole.
    for (let i = 1; i < sizes.length; i++) {
      const start = i * SZ_16M;
      expect(t.unmapPages(start + SZ_4K, SZ_4K, 1)).toBe(SZ_4K);
      expect(t.mapPages(start + SZ_4K, SZ_4K, SZ_4K, 1, IOMMU_READ).errno).toBe(0);
      expect(t.iovaToPhys(start + SZ_4K + 42)).toBe(SZ_4K + 42);
    }
    iova = 0;
    for (const size of sizes) {
      expect(t.unmapPages(iova, size, 1)).toBe(size);
      expect(t.iovaToPhys(iova + 42)).toBe(0);
      expect(t.mapPages(iova, iova, size, 1, IOMMU_WRITE).errno).toBe(0);
      expect(t.iovaToPhys(iova + 42)).toBe(iova + 42);
      iova += SZ_16M;
    }
    expect(t.warnings.map((w) => w.site)).toEqual([
      'arm_v7s_init_pte',
      'arm_v7s_init_pte',
      'arm_v7s_init_pte',
      'arm_v7s_init_pte',
    ]);
    const memory = t.memory;
    t.free();
    expect(memory.liveAllocations).toBe(0);
  });
});

describe('splits as 6.12 has them', () => {
  it('arm_v7s_split_cont(): a large page becomes 16 small pages at consecutive addresses', () => {
    const t = createPageTable('arm-v7s');
    t.mapPages(SZ_1G, 0x8001_0000, SZ_64K, 1, RW | IOMMU_CACHE);
    expect(t.unmapPages(SZ_1G + 3 * SZ_4K, SZ_4K, 1)).toBe(SZ_4K);
    const leaves = t.leaves();
    expect(leaves).toHaveLength(15);
    expect(leaves.every((l) => l.size === SZ_4K && l.paddr === 0x8001_0000 + (l.iova - SZ_1G))).toBe(true);
    expect(pteOf(t, SZ_1G + 4 * SZ_4K)).toBe(0x8001_4c7e);
  });

  it('arm_v7s_split_blk_unmap(): the pieces keep the attributes but not the address', () => {
    const t = createPageTable('arm-v7s');
    t.mapPages(SZ_1M, 0x8010_0000, SZ_1M, 1, RW | IOMMU_CACHE);
    expect(t.unmapPages(SZ_1M + 3 * SZ_4K, SZ_4K, 1)).toBe(SZ_4K);
    // The level-2 piece i maps physical i * 4K: the section's address is never ORed in.
    expect(t.iovaToPhys(SZ_1M + 5 * SZ_4K + 1)).toBe(5 * SZ_4K + 1);
    expect(pteOf(t, SZ_1M + 5 * SZ_4K)).toBe(5 * SZ_4K + 0xc7e);
    expect(t.leaves()).toHaveLength(255);
    // At 64K, large pages from 0 likewise.
    const u = createPageTable('arm-v7s');
    u.mapPages(SZ_1M, 0x8010_0000, SZ_1M, 1, RW);
    expect(u.unmapPages(SZ_1M + SZ_64K, SZ_64K, 1)).toBe(SZ_64K);
    expect(
      u
        .leaves()
        .map((l) => [l.iova - SZ_1M, l.size, l.paddr])
        .slice(0, 3),
    ).toEqual([
      [0, SZ_64K, 0],
      [2 * SZ_64K, SZ_64K, 2 * SZ_64K],
      [3 * SZ_64K, SZ_64K, 3 * SZ_64K],
    ]);
  });

  it('inside a supersection, past its first MiB, the section split loses its cmpxchg: 0 bytes, 16 sections left', () => {
    const t = createPageTable('arm-v7s');
    t.mapPages(SZ_16M, 0x8100_0000, SZ_16M, 1, RW);
    const tables = t.tableCount;
    expect(t.unmapPages(SZ_16M + SZ_1M + SZ_4K, SZ_4K, 1)).toBe(0);
    expect(t.tableCount).toBe(tables);
    expect(t.warnings).toEqual([]);
    const leaves = t.leaves();
    expect(leaves).toHaveLength(16);
    expect(leaves.every((l) => l.size === SZ_1M && l.paddr === 0x8100_0000 + (l.iova - SZ_16M))).toBe(true);
    // In the first MiB the cmpxchg matches: a table of pieces from 0.
    expect(t.unmapPages(SZ_16M + SZ_4K, SZ_4K, 1)).toBe(SZ_4K);
    expect(t.iovaToPhys(SZ_16M + 2 * SZ_4K)).toBe(2 * SZ_4K);
  });

  it('a section over a table frees the table; pgcount runs past a table’s end', () => {
    const t = createPageTable('arm-v7s');
    t.mapPages(SZ_1M + SZ_4K, 0x8000_0000, SZ_4K, 2, RW);
    expect(t.tableCount).toBe(2);
    expect(t.mapPages(SZ_1M, 0x9000_0000, SZ_1M, 1, RW)).toEqual({ mapped: SZ_1M, errno: 0 });
    expect(t.tableCount).toBe(1);
    expect(t.mapPages(SZ_1G - 2 * SZ_4K, 0, SZ_4K, 4, RW)).toEqual({ mapped: 4 * SZ_4K, errno: 0 });
    expect(t.unmapPages(SZ_1G - 2 * SZ_4K, SZ_4K, 4)).toBe(4 * SZ_4K);
    expect(t.mapPages(0, 0, SZ_4K, 0, RW)).toEqual({ mapped: 0, errno: -22 });
  });
});

describe('arm_v7s_alloc_pgtable()', () => {
  it.each([
    [{ ias: 33 }, /ias 33 > 32/],
    [{ oas: 33 }, /oas 33 > 32/],
    [{ quirks: IO_PGTABLE_QUIRK_ARM_MTK_EXT, ias: 34 }, /without IO_PGTABLE_QUIRK_NO_PERMS/],
    [{ quirks: IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT }, /without IO_PGTABLE_QUIRK_ARM_MTK_EXT/],
    [{ quirks: 1 << 5 }, /not allowed/],
    [{ quirks: MTK, ias: 35 }, /ias 35 > 34/],
  ] as const)('%o: NULL', (cfg, why) => {
    expect(alloc_io_pgtable_ops('arm-v7s', cfg)).toBeNull();
    expect(() => createPageTable('arm-v7s', cfg)).toThrow(why);
  });

  it('page sizes, TEX remap and TTBR attributes', () => {
    const t = createPageTable('arm-v7s', { pgsize_bitmap: SZ_4K | SZ_64K | SZ_1M | 0x200000 });
    expect(t.layout.pgsizes).toEqual([SZ_4K, SZ_64K, SZ_1M]);
    // PRRR: TR1 device, TR4 and TR7 normal, DS0, DS1, NS1, NOS7; NMRR: IR7 and OR7 write-back write-allocate.
    expect(t.cfg.regs).toEqual({ tcr: 0, prrr: 0x800b_8204, nmrr: 0x4000_4000, 'ttbr.attrs': 0x6a });
    expect(createPageTable('arm-v7s', { coherent_walk: false }).cfg.regs['ttbr.attrs']).toBe(0x2);
  });

  it('tables are 16K (level 1, 64K with 34-bit IOVAs) and 1K (level 2), aligned to their size', () => {
    const memory = new TableMemory();
    const t = createPageTable('arm-v7s', { memory });
    for (let i = 0; i < 5; i++) t.mapPages(i * SZ_1M, 0, SZ_4K, 1, RW);
    expect(memory.liveBytes).toBe(0x4000 + 5 * 1024);
    for (let i = 0; i < 5; i++) expect(t.walkTrace(i * SZ_1M).steps[1].table % 1024).toBe(0);
    expect(t.pgdPhys % 0x4000).toBe(0);
  });

  it('a table above 4 GiB does not fit a descriptor: the map fails with -ENOMEM', () => {
    // A pool whose first 2 MiB end at 4 GiB: the pgd and 2032 level-2 tables fit below.
    const memory = new TableMemory({ base: 2 ** 32 - 0x20_0000 });
    const t = createPageTable('arm-v7s', { memory });
    let errno = 0;
    let i = 0;
    for (; i < 4096 && errno === 0; i++) errno = t.mapPages(i * SZ_1M, 0, SZ_4K, 1, RW).errno;
    expect(errno).toBe(-ENOMEM);
    expect(i - 1).toBe((0x20_0000 - 0x4000) / 1024);
    expect(memory.liveAllocations).toBe(t.tableCount);
    // MediaTek's TTBR_EXT lets tables live up to 2^oas.
    const m = createPageTable('arm-v7s', {
      memory: new TableMemory({ base: 2 ** 32 }),
      quirks: MTK | IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT,
      ias: 34,
      oas: 35,
    });
    expect(m.mapPages(0, 0, SZ_4K, 1, RW).errno).toBe(0);
    expect(m.iovaToPhys(5)).toBe(5);
    expect(Number(m.walkTrace(0).steps[0].pte) & 0x200).toBe(0x200);
  });
});
