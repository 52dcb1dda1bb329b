// SPDX-License-Identifier: GPL-2.0-only
// The Exynos System MMU's lv1/lv2 entries bit for bit, written from
// exynos-iommu.c (6.12): mk_lv1ent_sect(), mk_lv1ent_page(),
// mk_lv2ent_lpage(), mk_lv2ent_spage() with SYSMMU_LV*_PROT (v1..v3,
// PG_ENT_SHIFT 0) and SYSMMU_V5_LV*_PROT (v5+, PG_ENT_SHIFT 4), and the rules
// of exynos_iommu_map()/_unmap(): ZERO_LV2LINK, lv2entcnt, -EADDRINUSE and
// the WARNs, holes that unmap.
import { describe, expect, it } from 'vitest';
import { IOMMU_READ, IOMMU_WRITE, createPageTable } from '../../src/pgtable/index.js';
import type { PageTable } from '../../src/pgtable/index.js';
import { exynosSysmmuFormat } from '../../src/pgtable/formats/index.js';
import { mkLv1entPage } from '../../src/pgtable/formats/exynos-sysmmu.js';
import { exynosLv2entcnt, exynosTakePrinted } from '../../src/pgtable/rules/exynos-iommu.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const SZ_4K = 0x1000;
const SZ_64K = 0x1_0000;
const SZ_1M = 0x10_0000;

const last = (t: PageTable, iova: number) => {
  const s = t.walkTrace(iova).steps;
  return { pte: Number(s[s.length - 1].pte), kind: s[s.length - 1].kind };
};

describe('entries (v1..v3: PG_ENT_SHIFT 0, ARM-style AP bits)', () => {
  it.each([
    // small page: pa | LV2_PROT[prot] | 2; READ only sets AP0 (4) and APX (9); WRITE alone means R/W
    ['small R|W', SZ_4K, RW, 0x8000_1012, 'small page'],
    ['small R', SZ_4K, IOMMU_READ, 0x8000_1212, 'small page'],
    ['small W', SZ_4K, IOMMU_WRITE, 0x8000_1012, 'small page'],
    ['small none', SZ_4K, 0, 0x8000_1002, 'small page'],
    ['large R|W', SZ_64K, RW, 0x8001_0011, 'large page'],
    // section: pa | LV1_PROT[prot] (AP0 10, APX 15) | 2
    ['section R|W', SZ_1M, RW, 0x8010_0402, 'section'],
    ['section R', SZ_1M, IOMMU_READ, 0x8010_8402, 'section'],
  ])('%s', (_n, size, prot, pte, kind) => {
    const t = createPageTable('exynos-sysmmu-v1');
    const pa = size === SZ_4K ? 0x8000_1000 : size === SZ_64K ? 0x8001_0000 : 0x8010_0000;
    expect(t.mapPages(0x40_0000, pa, size, 1, prot)).toEqual({ mapped: size, errno: 0 });
    expect(last(t, 0x40_0000)).toEqual({ pte, kind });
    expect(t.iovaToPhys(0x40_0abc)).toBe(pa + 0xabc);
  });

  it('a large page is 16 identical entries; v1 keeps 32 address bits', () => {
    const t = createPageTable('exynos-sysmmu-v1');
    t.mapPages(SZ_64K, 0x1_8001_0000, SZ_64K, 1, RW);
    for (let i = 0; i < 16; i++) expect(last(t, SZ_64K + i * SZ_4K).pte).toBe(0x8001_0011);
    expect(t.iovaToPhys(SZ_64K + 0x5123)).toBe(0x8001_5123);
    expect(t.leaves().map((l) => [l.iova, l.size, l.paddr, l.attrs])).toEqual([
      [SZ_64K, SZ_64K, 0x8001_0000, 0x10n],
    ]);
  });
});

describe('entries (v5+: PG_ENT_SHIFT 4, read/write bits)', () => {
  it.each([
    ['small R|W', SZ_4K, RW, 0x8000_010e],
    ['small R', SZ_4K, IOMMU_READ, 0x8000_0106],
    ['small W', SZ_4K, IOMMU_WRITE, 0x8000_010a],
    ['large R|W', SZ_64K, RW, 0x8000_100d],
    ['section R|W', SZ_1M, RW, 0x8001_0032],
    ['section W', SZ_1M, IOMMU_WRITE, 0x8001_0022],
  ])('%s: (pa >> 4) | SYSMMU_V5_LV*_PROT | type', (_n, size, prot, pte) => {
    const t = createPageTable('exynos-sysmmu-v5');
    const pa = size === SZ_4K ? 0x8_0000_1000 : size === SZ_64K ? 0x8_0001_0000 : 0x8_0010_0000;
    expect(t.mapPages(0x40_0000, pa, size, 1, prot).errno).toBe(0);
    expect(last(t, 0x40_0000).pte).toBe(pte);
    expect(t.iovaToPhys(0x40_0010)).toBe(pa + 0x10);
  });

  it('a link is mk_lv1ent_page(lv2 table): [31:6] hold its address >> 4', () => {
    const t = createPageTable('exynos-sysmmu-v5');
    t.mapPages(0, 0x8000_0000, SZ_4K, 1, RW);
    const [l1] = t.walkTrace(0).steps;
    expect(Number(l1.pte)).toBe(mkLv1entPage('v5', l1.next!));
    expect(l1.next! % 1024).toBe(0);
    expect(t.layout.levels.map((l) => l.tableBytes)).toEqual([16384, 1024]);
  });
});

describe('exynos_iommu_map() / exynos_iommu_unmap() rules', () => {
  it('lv2entcnt: a section replaces an emptied lv2 table (freed), not one that still maps', () => {
    const t = createPageTable('exynos-sysmmu-v5');
    t.mapPages(0x10_0000, 0x8000_0000, SZ_4K, 1, RW);
    expect(exynosLv2entcnt(t, 1)).toBe(255);
    expect(t.mapPages(0x10_0000, 0x9000_0000, SZ_1M, 1, RW)).toEqual({ mapped: 0, errno: -98 });
    expect(t.warnings.map((w) => w.message)).toEqual(['Trying mapping on 1MiB@0x100000 that is mapped']);
    expect(exynosTakePrinted(t)).toEqual(['exynos_iommu_map: Failed(-98) to map 0x100000 bytes @ 0x100000']);
    expect(t.unmapPages(0x10_0000, SZ_4K, 1)).toBe(SZ_4K);
    expect(exynosLv2entcnt(t, 1)).toBe(256);
    expect(t.tableCount).toBe(2);
    expect(t.mapPages(0x10_0000, 0x9000_0000, SZ_1M, 1, RW).errno).toBe(0);
    expect(t.tableCount).toBe(1);
    expect(exynosLv2entcnt(t, 1)).toBe(0);
  });

  it('a large page over a used entry clears what it wrote; unmapping part of it is refused', () => {
    const t = createPageTable('exynos-sysmmu-v5');
    t.mapPages(5 * SZ_4K, 0x8000_0000, SZ_4K, 1, RW);
    expect(t.mapPages(0, 0x9000_0000, SZ_64K, 1, RW).errno).toBe(-98);
    expect(t.warnings.map((w) => w.message)).toEqual(['WARN_ON(!lv2ent_fault(pent))']);
    expect(t.iovaToPhys(0)).toBe(0);
    expect(exynosLv2entcnt(t, 0)).toBe(255);
    t.mapPages(SZ_64K, 0x9001_0000, SZ_64K, 1, RW);
    expect(t.unmapPages(SZ_64K, SZ_4K, 1)).toBe(0);
    expect(exynosTakePrinted(t).at(-1)).toBe(
      'exynos_iommu_unmap: Failed: size(0x1000) @ 0x10000 is smaller than page size 0x10000',
    );
    expect(t.unmapPages(SZ_64K, SZ_64K, 1)).toBe(SZ_64K);
    expect(exynosLv2entcnt(t, 0)).toBe(255);
  });

  it('holes unmap: min(size, 1M) at a level-1 fault, 4K at a level-2 fault', () => {
    const t = createPageTable('exynos-sysmmu-v1');
    expect(t.unmapPages(0, SZ_1M, 1)).toBe(SZ_1M);
    expect(t.unmapPages(0, SZ_64K, 1)).toBe(SZ_64K);
    t.mapPages(0, 0x8000_0000, SZ_4K, 1, RW);
    expect(t.unmapPages(SZ_64K, SZ_64K, 1)).toBe(SZ_4K);
    expect(t.warnings).toEqual([]);
  });

  it('a section unmapped becomes ZERO_LV2LINK; a page there links a new table; freeing skips the shared one', () => {
    const fmt = exynosSysmmuFormat('v5', 0x1234_0000);
    const t = createPageTable(fmt);
    const zero = mkLv1entPage('v5', 0x1234_0000);
    expect(zero).toBe(0x0123_4001);
    t.mapPages(SZ_1M, 0x8010_0000, SZ_1M, 1, RW);
    expect(t.unmapPages(SZ_1M, SZ_1M, 1)).toBe(SZ_1M);
    expect(last(t, SZ_1M)).toEqual({ pte: 0, kind: 'invalid' });
    expect(t.walkTrace(SZ_1M).steps[0]).toMatchObject({
      pte: BigInt(zero),
      kind: 'table',
      next: 0x1234_0000,
    });
    expect(t.iovaToPhys(SZ_1M)).toBe(0);
    t.mapPages(2 * SZ_1M, 0x8000_0000, SZ_4K, 1, RW);
    const memory = t.memory;
    expect(memory.liveAllocations).toBe(2);
    t.free();
    expect(memory.liveAllocations).toBe(0);
  });

  it('IOVA bits above 31 are dropped (sysmmu_iova_t); only 4K, 64K and 1M', () => {
    const t = createPageTable('exynos-sysmmu-v5');
    expect(t.mapPages(2 ** 32 + SZ_1M, 0x8000_0000, SZ_1M, 1, RW).errno).toBe(0);
    expect(t.iovaToPhys(SZ_1M + 5)).toBe(0x8000_0005);
    expect(t.mapPages(0, 0, 0x2000, 1, RW).errno).toBe(-22);
    expect(t.unmapPages(0, 0x2000, 1)).toBe(0);
  });
});
