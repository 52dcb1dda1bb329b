// SPDX-License-Identifier: GPL-2.0-only
// Apple DART page tables as io-pgtable-dart.c (6.12) builds them: leaf and
// table descriptors bit for bit from the C source's constants (paddr_to_iopte(),
// dart_prot_to_pte(), dart_init_pte(), dart_install_table()), the geometry of
// dart_alloc_pgtable() and the TTBR array, apple_dart_alloc_pgtable()'s
// checks, and the map/unmap rules that differ from io-pgtable-arm's.
import { describe, expect, it } from 'vitest';
import type { PageTable } from '../../src/pgtable/index.js';
import {
  IOMMU_CACHE,
  IOMMU_NOEXEC,
  IOMMU_PRIV,
  IOMMU_READ,
  IOMMU_WRITE,
  ACCESS_LEAF,
  ACCESS_READ,
  ACCESS_WRITE,
  TableMemory,
  allocPageTable,
  createPageTable,
} from '../../src/pgtable/index.js';
import { dartTtbrs } from '../../src/pgtable/formats/apple-dart.js';
import { EEXIST, EINVAL, ERANGE } from '../../src/kernel/errno.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const SZ_4K = 0x1000;
const SZ_16K = 0x4000;
const SZ_32M = 0x200_0000;

/* The C source's constants, written out here from io-pgtable-dart.c. */
const VALID = 1n; // APPLE_DART_PTE_VALID BIT(0)
const SP_DIS = 1n << 1n; // APPLE_DART1_PTE_PROT_SP_DIS BIT(1), set on every leaf
const SUBPAGE_END_FFF = 0xfffn << 40n; // FIELD_PREP(GENMASK_ULL(51, 40), 0xfff)
const DART1_NO_WRITE = 1n << 7n;
const DART1_NO_READ = 1n << 8n;
const DART2_NO_WRITE = 1n << 2n;
const DART2_NO_READ = 1n << 3n;
/** APPLE_DART1_PADDR_MASK GENMASK_ULL(35, 12) */
const dart1Pa = (pa: number) => BigInt(pa) & (((1n << 24n) - 1n) << 12n);
/** (paddr >> APPLE_DART2_PADDR_SHIFT) & GENMASK_ULL(37, 10) */
const dart2Pa = (pa: number) => (BigInt(pa) >> 4n) & (((1n << 28n) - 1n) << 10n);

/** The walk's steps for iova: [L1 descriptor, L2 descriptor] as read from table memory. */
const steps = (t: PageTable, iova: number) => t.walkTrace(iova).steps;
const leafPte = (t: PageTable, iova: number) => steps(t, iova).at(-1)!.pte;

describe('APPLE_DART (t8103: 16K pages, ias 32, oas 36)', () => {
  it('geometry: bits_per_level 11, one TTBR, L1 index IOVA[35:25], L2 index IOVA[24:14]', () => {
    const t = createPageTable('apple-dart');
    expect(t.cfg).toMatchObject({
      fmt: 'APPLE_DART',
      pgsize_bitmap: SZ_16K,
      ias: 32,
      oas: 36,
      granule: SZ_16K,
    });
    expect(t.cfg.regs).toEqual({ n_ttbrs: 1, tbl_bits: 0, bits_per_level: 11 });
    expect(dartTtbrs(t.cfg.ttbr, t.cfg.regs, t.cfg.granule)).toEqual([t.cfg.ttbr]);
    // Only the pgd exists: one 16K L1 table (2048 entries).
    expect(t.tableCount).toBe(1);
    expect(t.memory.liveBytes).toBe(SZ_16K);
    const iova = (3 << 25) + (5 << 14) + 0x123;
    expect(t.mapPages(iova - 0x123, 0x8_1234_4000, SZ_16K, 1, RW).errno).toBe(0);
    const [l1, l2] = steps(t, iova);
    expect([l1.index, l2.index]).toEqual([3, 5]);
    expect(l1.pteAddress).toBe(t.cfg.ttbr + 3 * 8);
    expect(t.iovaToPhys(iova)).toBe(0x8_1234_4123);
  });

  it.each([
    ['R|W', RW, 0n],
    ['R (to device)', IOMMU_READ, DART1_NO_WRITE],
    ['W (from device)', IOMMU_WRITE, DART1_NO_READ],
    // dart_prot_to_pte() ignores IOMMU_CACHE, _NOEXEC and _PRIV on DART1.
    ['R|W|CACHE|NOEXEC|PRIV', RW | IOMMU_CACHE | IOMMU_NOEXEC | IOMMU_PRIV, 0n],
  ])('leaf %s: prot bits | subpage window 0..0xfff | SP_DIS | valid | PA[35:12]', (_n, prot, bits) => {
    const t = createPageTable('apple-dart');
    const pa = 0xf_edcb_c000; // 36 bits, 16K aligned
    expect(t.mapPages(0x4000, pa, SZ_16K, 1, prot)).toEqual({ mapped: SZ_16K, errno: 0 });
    expect(leafPte(t, 0x4000)).toBe(bits | SUBPAGE_END_FFF | SP_DIS | VALID | dart1Pa(pa));
    expect(leafPte(t, 0x4000)).toBe(0x000f_ff0f_edcb_c003n | bits);
  });

  it('the L1 entry is the L2 table address | valid (dart_install_table())', () => {
    const t = createPageTable('apple-dart');
    t.mapPages(0, 0x8000_0000, SZ_16K, 1, RW);
    const [l1] = steps(t, 0);
    expect(l1.kind).toBe('table');
    expect(l1.pte).toBe(dart1Pa(l1.next!) | VALID);
    expect(l1.next! % SZ_16K).toBe(0);
  });

  it('what the DART lets through a leaf: "no write" refuses writes, "no read" reads', () => {
    const t = createPageTable('apple-dart');
    t.mapPages(0, 0x8000_0000, SZ_16K, 1, IOMMU_READ);
    t.mapPages(SZ_16K, 0x8000_4000, SZ_16K, 1, IOMMU_WRITE);
    expect(t.access(0x10)).toBe(ACCESS_LEAF | ACCESS_READ);
    expect(t.lastPhys).toBe(0x8000_0010);
    expect(t.access(SZ_16K + 0x10)).toBe(ACCESS_LEAF | ACCESS_WRITE);
    expect(t.access(2 * SZ_16K)).toBe(0);
  });

  it('one page size: any other is a WARN and -EINVAL (map) or 0 (unmap)', () => {
    const t = createPageTable('apple-dart');
    expect(t.mapPages(0, 0x8000_0000, SZ_4K, 1, RW)).toEqual({ mapped: 0, errno: -EINVAL });
    expect(t.unmapPages(0, SZ_32M, 1)).toBe(0);
    expect(t.warnings.map((w) => w.message)).toEqual([
      'WARN_ON(pgsize != cfg->pgsize_bitmap)',
      'WARN_ON(pgsize != cfg->pgsize_bitmap || !pgcount)',
    ]);
    // No R/W: -EINVAL without a WARN; an output address past oas: WARN and -ERANGE.
    expect(t.mapPages(0, 0x8000_0000, SZ_16K, 1, IOMMU_CACHE).errno).toBe(-EINVAL);
    expect(t.mapPages(0, 2 ** 36, SZ_16K, 1, RW).errno).toBe(-ERANGE);
    expect(t.warnings).toHaveLength(3);
    expect(t.tableCount).toBe(1);
  });

  it('a valid entry in the way refuses the whole run: -EEXIST with a WARN, nothing written', () => {
    const t = createPageTable('apple-dart');
    expect(t.mapPages(2 * SZ_16K, 0x9000_0000, SZ_16K, 1, RW).errno).toBe(0);
    expect(t.mapPages(0, 0x8000_0000, SZ_16K, 4, RW)).toEqual({ mapped: 0, errno: -EEXIST });
    expect(t.warnings.map((w) => w.site)).toEqual(['dart_init_pte']);
    expect(t.iovaToPhys(0)).toBe(0);
    expect(t.iovaToPhys(SZ_16K)).toBe(0);
    expect(t.iovaToPhys(2 * SZ_16K)).toBe(0x9000_0000);
  });

  it('one call stops at the end of the L2 table; __iommu_map() calls again for the rest', () => {
    const t = createPageTable('apple-dart');
    const last = SZ_32M - 2 * SZ_16K; // entries 2046 and 2047
    expect(t.mapPages(last, 0x8000_0000, SZ_16K, 5, RW)).toEqual({ mapped: 2 * SZ_16K, errno: 0 });
    expect(t.tableCount).toBe(2);
    expect(t.mapPages(SZ_32M, 0x8000_8000, SZ_16K, 3, RW)).toEqual({ mapped: 3 * SZ_16K, errno: 0 });
    expect(t.tableCount).toBe(3);
    expect(t.iovaToPhys(SZ_32M + 0x10)).toBe(0x8000_8010);
  });

  it('unmap: no L2 table is a WARN and 0; a hole stops the run with a WARN; L2 tables stay until the table goes', () => {
    const memory = new TableMemory();
    const t = createPageTable('apple-dart', { memory });
    expect(t.unmapPages(0, SZ_16K, 1)).toBe(0);
    expect(t.warnings.at(-1)!.message).toBe('WARN_ON(!ptep): no L2 table for this IOVA');
    t.mapPages(0, 0x8000_0000, SZ_16K, 2, RW);
    t.mapPages(3 * SZ_16K, 0x8000_c000, SZ_16K, 1, RW);
    expect(t.unmapPages(0, SZ_16K, 4)).toBe(2 * SZ_16K);
    expect(t.warnings.at(-1)!.message).toBe('WARN_ON(!pte)');
    expect(t.iovaToPhys(3 * SZ_16K)).toBe(0x8000_c000);
    expect(t.unmapPages(3 * SZ_16K, SZ_16K, 1)).toBe(SZ_16K);
    // Empty, but the L2 table is still there.
    expect(t.tableCount).toBe(2);
    expect(steps(t, 0)[0].kind).toBe('table');
    expect(memory.liveAllocations).toBe(2);
    t.free();
    expect(memory.liveAllocations).toBe(0);
  });

  it('no IOVA range check: bits above the L1 index are ignored, so 2^36 + x is x', () => {
    const t = createPageTable('apple-dart');
    expect(t.mapPages(2 ** 36 + SZ_16K, 0x8000_0000, SZ_16K, 1, RW).errno).toBe(0);
    expect(t.iovaToPhys(SZ_16K + 4)).toBe(0x8000_0004);
    expect(t.unmapPages(SZ_16K, SZ_16K, 1)).toBe(SZ_16K);
    expect(t.iovaToPhys(2 ** 36 + SZ_16K)).toBe(0);
  });
});

describe('APPLE_DART2 (t6000: oas 42, paddr >> 4)', () => {
  it.each([
    ['R|W|CACHE', RW | IOMMU_CACHE, 0n],
    ['R|W', RW, 0n],
    ['R', IOMMU_READ, DART2_NO_WRITE],
    ['W', IOMMU_WRITE, DART2_NO_READ],
  ])('leaf %s: PA[41:14] at PTE[37:10]; bit 1 is set on every leaf, cached or not', (_n, prot, bits) => {
    const t = createPageTable('apple-dart2');
    const pa = 0x3a3_2345_4000; // bits 41..32 and 31..14 in use, 16K aligned
    expect(t.mapPages(0x8000, pa, SZ_16K, 1, prot).errno).toBe(0);
    // dart_prot_to_pte() sets NO_CACHE (bit 1) without IOMMU_CACHE; dart_init_pte() ORs in
    // APPLE_DART1_PTE_PROT_SP_DIS, the same bit, regardless.
    expect(leafPte(t, 0x8000)).toBe(bits | SUBPAGE_END_FFF | (1n << 1n) | VALID | dart2Pa(pa));
    expect(t.iovaToPhys(0x8000 + 0x3fff)).toBe(pa + 0x3fff);
  });

  it('the L1 entry holds the L2 table address shifted the same way', () => {
    const t = createPageTable('apple-dart2');
    t.mapPages(0, 0x8000_0000, SZ_16K, 1, RW);
    const [l1] = steps(t, 0);
    expect(l1.pte).toBe(dart2Pa(l1.next!) | VALID);
  });

  it('ias 38 (a T8110 reporting a 38-bit VA): four TTBRs, the IOVA bits above 36 pick one', () => {
    const t = createPageTable('apple-dart2', { ias: 38 });
    expect(t.cfg.regs.n_ttbrs).toBe(4);
    const ttbrs = dartTtbrs(t.cfg.ttbr, t.cfg.regs, t.cfg.granule);
    expect(ttbrs).toEqual([0, 1, 2, 3].map((i) => t.cfg.ttbr + i * SZ_16K));
    const iova = 3 * 2 ** 36 + 7 * SZ_32M;
    expect(t.mapPages(iova, 0x8000_0000, SZ_16K, 1, RW).errno).toBe(0);
    // TTBR 3's table, entry 7.
    expect(steps(t, iova)[0].pteAddress).toBe(ttbrs[3] + 7 * 8);
    expect(t.iovaToPhys(iova + 9)).toBe(0x8000_0009);
  });
});

describe('a 4K DART1: four TTBRs for a 32-bit IOVA', () => {
  it('bits_per_level 9, tbl_bits 2: TTBR i holds the L1 table of IOVA [i GiB, i+1 GiB)', () => {
    const t = createPageTable('apple-dart', { pgsize_bitmap: SZ_4K });
    expect(t.cfg.regs).toEqual({ n_ttbrs: 4, tbl_bits: 2, bits_per_level: 9 });
    // The four L1 tables, 4K each, are there from the start.
    expect(t.memory.liveBytes).toBe(4 * SZ_4K);
    const ttbrs = dartTtbrs(t.cfg.ttbr, t.cfg.regs, t.cfg.granule);
    const iova = 0xc020_3000; // TTBR 3, L1 index 1, L2 index 3
    expect(t.mapPages(iova, 0x8000_0000, SZ_4K, 1, RW).errno).toBe(0);
    const [l1, l2] = steps(t, iova);
    expect(l1.pteAddress).toBe(ttbrs[3] + 1 * 8);
    expect(l2.index).toBe(3);
    expect(leafPte(t, iova)).toBe(SUBPAGE_END_FFF | SP_DIS | VALID | dart1Pa(0x8000_0000));
  });
});

describe('apple_dart_alloc_pgtable() and dart_alloc_pgtable() refuse', () => {
  it.each([
    ['a non-coherent walk', { coherent_walk: false }, /coherent/],
    ['oas 40', { oas: 40 }, /oas 40 is neither 36 nor 42/],
    ['ias wider than oas', { ias: 37 }, /ias 37 > oas 36/],
    ['two page sizes', { pgsize_bitmap: SZ_4K | SZ_16K }, /not exactly SZ_4K or SZ_16K/],
    ['64K pages', { pgsize_bitmap: 0x10000 }, /not exactly/],
    // 4K pages and 36 bits: 24 bits to index, 18 in two levels, 6 left: 64 TTBRs.
    ['more than four TTBRs', { pgsize_bitmap: SZ_4K, ias: 36 }, /more than 4 TTBRs/],
  ])('%s', (_n, cfg, reason) => {
    const t = allocPageTable('apple-dart', cfg);
    expect('reason' in t && t.reason).toMatch(reason);
  });
});
