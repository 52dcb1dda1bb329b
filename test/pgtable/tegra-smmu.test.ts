// SPDX-License-Identifier: GPL-2.0-only
// The Tegra SMMU's page directory and tables bit for bit, written from
// tegra-smmu.c (6.12): SMMU_MK_PDE(dma, SMMU_PDE_ATTR | SMMU_PDE_NEXT),
// SMMU_PHYS_PFN(paddr) | SMMU_PTE_NONSECURE | READABLE/WRITABLE, the frame
// read back through smmu->pfn_mask, and the map/unmap rules: one 4K page a
// call, overwrites allowed, a table freed with its last entry.
import { describe, expect, it } from 'vitest';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE, createPageTable } from '../../src/pgtable/index.js';
import { smmuMkPde, smmuMkPte, tegraPfnMask } from '../../src/pgtable/formats/tegra-smmu.js';
import { tegraUseCount } from '../../src/pgtable/rules/tegra-smmu.js';

const RW = IOMMU_READ | IOMMU_WRITE;

describe('descriptors', () => {
  it.each([
    ['R|W', RW, 0xe008_0001],
    ['R', IOMMU_READ, 0xa008_0001],
    ['W', IOMMU_WRITE, 0x6008_0001],
    ['none (CACHE only)', IOMMU_CACHE, 0x2008_0001],
  ])('PTE %s: frame | NONSECURE (29) | READABLE (31) | WRITABLE (30)', (_n, prot, pte) => {
    expect(smmuMkPte(0x8000_1000, prot)).toBe(pte);
    const t = createPageTable('tegra-smmu');
    expect(t.mapPages(0x40_1000, 0x8000_1000, 0x1000, 1, prot)).toEqual({ mapped: 0x1000, errno: 0 });
    const steps = t.walkTrace(0x40_1000).steps;
    expect(steps.map((s) => [s.index, s.kind])).toEqual([
      [1, 'table'],
      [1, 'page'],
    ]);
    expect(Number(steps[1].pte)).toBe(pte);
    expect(Number(steps[0].pte)).toBe(smmuMkPde(steps[0].next!, 0xf000_0000));
  });

  it('PDE: frame | R | W | NS | NEXT; frames above 32 address bits on a 34-bit MC', () => {
    expect(smmuMkPde(0x4000_5000, 0xf000_0000)).toBe(0xf004_0005);
    expect(tegraPfnMask(34)).toBe(0x3f_ffff);
    expect(tegraPfnMask(32)).toBe(0xf_ffff);
    const t = createPageTable('tegra-smmu');
    expect(t.mapPages(0x1000, 0x3_8000_0000, 0x1000, 1, RW).errno).toBe(0);
    expect(Number(t.walkTrace(0x1000).steps[1].pte)).toBe(0xe038_0000);
    expect(t.iovaToPhys(0x1abc)).toBe(0x3_8000_0abc);
    // A Tegra30 MC (32 bits): the frame keeps 20 bits, the read masks the rest away.
    const t30 = createPageTable('tegra-smmu', { oas: 32 });
    t30.mapPages(0x1000, 0x3_8000_0000, 0x1000, 1, RW);
    expect(t30.iovaToPhys(0x1abc)).toBe(0x8000_0abc);
  });
});

describe('tegra_smmu_map() / tegra_smmu_unmap() rules', () => {
  it('one 4K page per call; an entry in use is overwritten; the use count follows', () => {
    const t = createPageTable('tegra-smmu');
    expect(t.mapPages(0, 0x8000_0000, 0x1000, 4, RW)).toEqual({ mapped: 0x1000, errno: 0 });
    expect(t.iovaToPhys(0x1000)).toBe(0);
    expect(t.mapPages(0, 0x9000_0000, 0x1000, 1, IOMMU_READ)).toEqual({ mapped: 0x1000, errno: 0 });
    expect(t.iovaToPhys(0x10)).toBe(0x9000_0010);
    expect(tegraUseCount(t, 0)).toBe(1);
    t.mapPages(0x3000, 0x9000_3000, 0x1000, 1, RW);
    expect(tegraUseCount(t, 0)).toBe(2);
    expect(t.warnings).toEqual([]);
  });

  it('unmap of an empty entry is 0; the last entry frees the table and clears the PDE', () => {
    const t = createPageTable('tegra-smmu');
    expect(t.unmapPages(0x5000, 0x1000, 1)).toBe(0);
    t.mapPages(0x5000, 0x8000_0000, 0x1000, 1, RW);
    t.mapPages(0x6000, 0x8000_1000, 0x1000, 1, RW);
    expect(t.tableCount).toBe(2);
    expect(t.unmapPages(0x7000, 0x1000, 1)).toBe(0);
    expect(t.unmapPages(0x5000, 0x1000, 1)).toBe(0x1000);
    expect(t.tableCount).toBe(2);
    expect(t.unmapPages(0x6000, 0x1000, 1)).toBe(0x1000);
    expect(t.tableCount).toBe(1);
    expect(t.memory.read32(t.cfg.ttbr)).toBe(0);
    expect(t.memory.liveAllocations).toBe(1);
  });

  it('IOVA bits above 31 are dropped (iova_pd_index()); only 4K pages', () => {
    const t = createPageTable('tegra-smmu');
    expect(t.mapPages(2 ** 32 + 0x40_0000, 0x8000_0000, 0x1000, 1, RW).errno).toBe(0);
    expect(t.iovaToPhys(0x40_0000)).toBe(0x8000_0000);
    expect(t.mapPages(0, 0, 0x2000, 1, RW).errno).toBe(-22);
    expect(t.unmapPages(0x40_0000, 0x2000, 1)).toBe(0);
  });
});
