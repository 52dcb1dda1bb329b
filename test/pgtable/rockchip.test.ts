// SPDX-License-Identifier: GPL-2.0-only
// The Rockchip IOMMU's DT/PT descriptors bit for bit, written from
// rockchip-iommu.c (6.12): rk_mk_dte()/rk_mk_pte() (v1) and their _v2
// forms that pack address bits 32..39 into [11:4], rk_dte_pt_address*()
// reading them back (the DTE_ADDR_DUMMY check of rk_iommu_force_reset()), and
// the map/unmap rules: one page of pgsize per call, -EADDRINUSE with the
// call's own entries invalidated, unmap clearing only the valid bit, 32-bit
// IOVAs and dropped output bits.
import { describe, expect, it } from 'vitest';
import type { PageTable } from '../../src/pgtable/index.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE, createPageTable } from '../../src/pgtable/index.js';
import {
  rkDtePtAddress,
  rkDtePtAddressV2,
  rkMkDte,
  rkMkDteV2,
  rkMkPte,
  rkMkPteV2,
} from '../../src/pgtable/formats/rockchip.js';
import { rkTakePrinted } from '../../src/pgtable/rules/rockchip-iommu.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const EADDRINUSE = -98;

/** The raw 32-bit entry the walk of iova ends on, and the kinds of its steps. */
const walk = (t: PageTable, iova: number) => {
  const steps = t.walkTrace(iova).steps;
  return { pte: Number(steps[steps.length - 1].pte), kinds: steps.map((s) => s.kind) };
};

describe('descriptors (rk_mk_dte(), rk_mk_pte() and the v2 packing)', () => {
  it.each([
    // page | READABLE (bit 1) | WRITABLE (bit 2) | VALID (bit 0); IOMMU_CACHE sets nothing (a TODO in 6.12)
    ['R|W', RW, 0x8000_1007],
    ['R', IOMMU_READ, 0x8000_1003],
    ['W', IOMMU_WRITE, 0x8000_1005],
    ['no access', 0, 0x8000_1001],
    ['R|W|CACHE', RW | IOMMU_CACHE, 0x8000_1007],
  ])('v1 PTE %s', (_n, prot, pte) => {
    expect(rkMkPte(0x8000_1000, prot)).toBe(pte);
    const t = createPageTable('rockchip-iommu-v1');
    expect(t.mapPages(0x1000, 0x8000_1000, 0x1000, 1, prot)).toEqual({ mapped: 0x1000, errno: 0 });
    expect(walk(t, 0x1000)).toEqual({ pte, kinds: ['table', 'page'] });
  });

  it('v1 DTE: the page table [31:12] | VALID; v1 drops address bits above 31', () => {
    expect(rkMkDte(0x4000_3000)).toBe(0x4000_3001);
    expect(rkMkPte(0x1_2345_6000, RW)).toBe(0x2345_6007);
    const t = createPageTable('rockchip-iommu-v1');
    t.mapPages(0x40_0000, 0x1_2345_6000, 0x1000, 1, RW);
    const [dte] = t.walkTrace(0x40_0000).steps;
    expect(dte.index).toBe(1);
    expect(Number(dte.pte)).toBe(rkMkDte(dte.next!));
    expect(t.iovaToPhys(0x40_0abc)).toBe(0x2345_6abc);
  });

  it('v2: bits 35..32 go to [11:8], 39..36 to [7:4] (rk_mk_dte_v2()), read back by rk_dte_pt_address_v2()', () => {
    expect(rkMkDteV2(0xab_cdef_0000)).toBe(0xcdef_0ba1);
    expect(rkDtePtAddressV2(0xcdef_0ba1)).toBe(0xab_cdef_0000);
    expect(rkMkPteV2(0xab_cdef_0000, RW)).toBe(0xcdef_0ba7);
    expect(rkMkPteV2(0xab_cdef_0000, IOMMU_READ)).toBe(0xcdef_0ba3);
    // rk_iommu_force_reset(): DTE_ADDR_DUMMY reads back as 5 (v1) or 7 (v2) address nybbles.
    expect(rkDtePtAddress(0xcafe_babe)).toBe(0xcafe_b000);
    expect(rkDtePtAddressV2(0xcafe_babe)).toBe(0xba_cafe_b000);
    const t = createPageTable('rockchip-iommu-v2');
    expect(t.cfg.oas).toBe(40);
    t.mapPages(0x2000, 0xab_cdef_0000, 0x1000, 1, RW);
    expect(walk(t, 0x2000).pte).toBe(0xcdef_0ba7);
    expect(t.iovaToPhys(0x2010)).toBe(0xab_cdef_0010);
    // Above 40 bits the packing has no room: bit 40 is lost.
    t.mapPages(0x3000, 2 ** 40 + 0x5000, 0x1000, 1, RW);
    expect(t.iovaToPhys(0x3000)).toBe(0x5000);
    expect(t.leaves().map((l) => [l.iova, l.paddr, l.attrs])).toEqual([
      [0x2000, 0xab_cdef_0000, 0x6n],
      [0x3000, 0x5000, 0x6n],
    ]);
  });
});

describe('rk_iommu_map() / rk_iommu_unmap() rules', () => {
  it('one page of pgsize per call whatever the count; up to 4 MiB as 4 KiB entries of one PT', () => {
    const t = createPageTable('rockchip-iommu-v1');
    expect(t.layout.pgsizes).toEqual(Array.from({ length: 11 }, (_, i) => 0x1000 << i));
    expect(t.mapPages(0, 0x8000_0000, 0x1000, 5, RW)).toEqual({ mapped: 0x1000, errno: 0 });
    expect(t.iovaToPhys(0x1000)).toBe(0);
    expect(t.mapPages(0x40_0000, 0x9000_0000, 0x40_0000, 2, RW)).toEqual({ mapped: 0x40_0000, errno: 0 });
    const l = t.leaves();
    expect(l).toHaveLength(1 + 1024);
    expect(l.every((x) => x.size === 0x1000)).toBe(true);
    expect(t.iovaToPhys(0x7f_ffff)).toBe(0x903f_ffff);
    expect(t.iovaToPhys(0x80_0000)).toBe(0);
    expect(t.tableCount).toBe(3);
  });

  it('a valid entry in the way: -EADDRINUSE, nothing mapped, earlier entries invalidated, the pr_err() line', () => {
    const t = createPageTable('rockchip-iommu-v1');
    t.mapPages(0x3000, 0x7000_0000, 0x1000, 1, IOMMU_READ);
    expect(t.mapPages(0, 0x8000_0000, 0x4000, 1, RW)).toEqual({ mapped: 0, errno: EADDRINUSE });
    expect(rkTakePrinted(t)).toEqual([
      'iova: 0x0000000000003000 already mapped to 0x0000000070000000 cannot remap to phys: 0x0000000080003000 prot: 0x3',
    ]);
    expect(rkTakePrinted(t)).toEqual([]);
    // Entries 0..2 were written then lost their valid bit: raw, they still name their pages.
    const pt = t.memory.tableWords(t.walkTrace(0).steps[0].next!)!;
    expect([...pt.subarray(0, 4)]).toEqual([0x8000_0006, 0x8000_1006, 0x8000_2006, 0x7000_0003]);
    expect(t.iovaToPhys(0)).toBe(0);
    expect(t.warnings).toEqual([]);
  });

  it('unmap clears valid bits up to the first invalid entry; an invalid DTE unmaps 0; PTs stay', () => {
    const t = createPageTable('rockchip-iommu-v1');
    t.mapPages(0, 0x8000_0000, 0x2000, 1, RW);
    expect(t.unmapPages(0, 0x4000, 1)).toBe(0x2000);
    expect(t.unmapPages(0, 0x1000, 1)).toBe(0);
    expect(t.unmapPages(0x40_0000, 0x1000, 1)).toBe(0);
    expect(t.tableCount).toBe(2);
    expect(walk(t, 0x1000).pte).toBe(0x8000_1006);
    // An invalidated entry can be mapped again.
    expect(t.mapPages(0x1000, 0x9000_0000, 0x1000, 1, IOMMU_WRITE).errno).toBe(0);
    expect(t.iovaToPhys(0x1234)).toBe(0x9000_0234);
  });

  it('IOVA bits above 31 are dropped (rk_iova_dte_index()); sizes outside the bitmap and misalignment are refused', () => {
    const t = createPageTable('rockchip-iommu-v1');
    expect(t.mapPages(2 ** 32 + 0x5000, 0x8000_0000, 0x1000, 1, RW).errno).toBe(0);
    expect(t.iovaToPhys(0x5000)).toBe(0x8000_0000);
    expect(t.mapPages(0x80_0000, 0, 0x80_0000, 1, RW).errno).toBe(-22);
    expect(t.mapPages(0x1000, 0, 0x2000, 1, RW).errno).toBe(-22);
    expect(t.unmapPages(0x1000, 0x2000, 1)).toBe(0);
  });
});
