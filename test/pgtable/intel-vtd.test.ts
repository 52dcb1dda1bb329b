// SPDX-License-Identifier: GPL-2.0-only
// Intel VT-d second- and first-stage tables as intel/iommu.c (6.12) builds
// and changes them: descriptors bit for bit against the VT-d spec's formats
// (second-stage R/W/SP/SNP, first-stage x86 P/RW/US/A/D/PS), the agaw
// geometry, hardware_largepage_caps()'s own choice of page sizes, the WARN
// and keep of __domain_mapping(), switch_to_super_page(), intel_iommu_unmap()'s
// rounding up and domain_unmap()'s clearing and freeing, and second-stage
// dirty tracking (intel_iommu_read_and_clear_dirty()).
import { describe, expect, it } from 'vitest';
import type { IommuFlushOps, PageTable } from '../../src/pgtable/index.js';
import {
  ACCESS_DIRTIES,
  ACCESS_LEAF,
  ACCESS_READ,
  ACCESS_WRITE,
  IOMMU_CACHE,
  IOMMU_DIRTY_NO_CLEAR,
  IOMMU_READ,
  IOMMU_WRITE,
  alloc_io_pgtable_ops,
  createPageTable,
} from '../../src/pgtable/index.js';
import { INTEL_VTD_QUIRK_FORCE_SNOOP } from '../../src/pgtable/formats/intel-vtd.js';
import { EFAULT, EINVAL, EOPNOTSUPP } from '../../src/kernel/errno.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const SZ_4K = 0x1000;
const SZ_2M = 0x200000;
const SZ_1G = 0x40000000;

const last = (t: PageTable, iova: number) => {
  const s = t.walkTrace(iova).steps;
  return s[s.length - 1];
};

describe('descriptors, bit for bit', () => {
  it.each([
    // R | W; bit 0 is also DMA_FL_PTE_PRESENT, which __domain_mapping() always sets.
    ['second stage, R|W', 'intel-vtd-ss', {}, RW | IOMMU_CACHE, 0x8000_0003n],
    ['second stage, R', 'intel-vtd-ss', {}, IOMMU_READ, 0x8000_0001n],
    ['second stage, W (R too)', 'intel-vtd-ss', {}, IOMMU_WRITE, 0x8000_0003n],
    ['second stage, snoop forced', 'intel-vtd-ss', { quirks: INTEL_VTD_QUIRK_FORCE_SNOOP }, RW, 0x8000_0803n],
    // P | RW | US | A | D; no XD (6.12 does not set it).
    ['first stage, R|W', 'intel-vtd-fs', {}, RW, 0x8000_0067n],
    ['first stage, R', 'intel-vtd-fs', {}, IOMMU_READ, 0x8000_0025n],
  ] as const)('%s', (_what, name, cfg, prot, pte) => {
    const t = createPageTable(name, cfg);
    expect(t.mapPages(SZ_1G, 0x8000_0000, SZ_4K, 1, prot).errno).toBe(0);
    expect(last(t, SZ_1G).pte).toBe(pte);
    expect(last(t, SZ_1G).kind).toBe('page');
    // Tables: R | W at second stage, P | RW | US | A at first stage.
    const tbl = t.walkTrace(SZ_1G).steps[0];
    expect(tbl.pte).toBe(BigInt(tbl.next ?? -1) | (name === 'intel-vtd-ss' ? 0x3n : 0x27n));
  });

  it('a superpage has PS (bit 7) at level 2 (2M) or 3 (1G)', () => {
    const t = createPageTable('intel-vtd-ss');
    t.mapPages(SZ_2M, 0x8020_0000, SZ_2M, 1, RW);
    t.mapPages(SZ_1G, 0x4000_0000, SZ_1G, 1, RW);
    expect([last(t, SZ_2M).level, last(t, SZ_2M).pte, last(t, SZ_2M).kind]).toEqual([
      2,
      0x8020_0083n,
      'superpage',
    ]);
    expect([last(t, SZ_1G).level, last(t, SZ_1G).pte]).toEqual([3, 0x4000_0083n]);
    expect(t.iovaToPhys(SZ_1G + 0x1234_5678)).toBe(0x5234_5678);
  });
});

describe('geometry: agaw from the address width', () => {
  it.each([
    ['intel-vtd-ss', 39, 3],
    ['intel-vtd-ss', 46, 4],
    ['intel-vtd-ss', 48, 4],
    ['intel-vtd-ss', 57, 5],
    ['intel-vtd-fs', 48, 4],
    ['intel-vtd-fs', 57, 5],
  ] as const)('%s, %d bits: %d levels', (name, ias, levels) => {
    const t = createPageTable(name, { ias });
    expect(t.layout.levels.map((l) => l.level)).toEqual(Array.from({ length: levels }, (_, i) => levels - i));
    expect(t.cfg.regs.agaw).toBe(levels - 2);
  });

  it.each([
    ['intel-vtd-fs', { ias: 39 }, /4 or 5 levels/],
    ['intel-vtd-ss', { ias: 58 }, /outside/],
    ['intel-vtd-fs', { quirks: INTEL_VTD_QUIRK_FORCE_SNOOP }, /PGSNP/],
    ['intel-vtd-ss', { pgsize_bitmap: SZ_2M }, /4K/],
  ] as const)('%s %o: refused', (name, cfg, why) => {
    expect(alloc_io_pgtable_ops(name, cfg)).toBeNull();
    expect(() => createPageTable(name, cfg)).toThrow(why);
  });
});

describe('intel_iommu_map_pages() and __domain_mapping()', () => {
  it('picks superpages itself where alignment and length allow, whatever pgsize says', () => {
    const t = createPageTable('intel-vtd-ss');
    expect(t.mapPages(0, 0x8000_0000, SZ_4K, 1024 + 3, RW)).toEqual({ mapped: (1024 + 3) * SZ_4K, errno: 0 });
    expect(t.leaves().map((l) => l.size)).toEqual([SZ_2M, SZ_2M, SZ_4K, SZ_4K, SZ_4K]);
    // Without superpages (a 4K-only domain), 4K entries.
    const u = createPageTable('intel-vtd-ss', { pgsize_bitmap: SZ_4K });
    u.mapPages(0, 0x8000_0000, SZ_4K, 512, RW);
    expect(u.leaves()).toHaveLength(512);
    // A 1G pgsize on a 2M-only domain: 512 2M superpages.
    const v = createPageTable('intel-vtd-ss', { pgsize_bitmap: SZ_4K | SZ_2M });
    expect(v.mapPages(SZ_1G, SZ_1G, SZ_1G, 1, RW).errno).toBe(0);
    expect(new Set(v.leaves().map((l) => l.size))).toEqual(new Set([SZ_2M]));
  });

  it('a 4K entry already set: pr_crit and WARN, the old entry stays, and the map succeeds', () => {
    const t = createPageTable('intel-vtd-ss');
    t.mapPages(0, 0x8000_0000, SZ_4K, 1, RW);
    expect(t.mapPages(0, 0x9000_0000, SZ_4K, 2, RW)).toEqual({ mapped: 2 * SZ_4K, errno: 0 });
    expect(t.warnings.map((w) => w.site)).toEqual(['__domain_mapping']);
    expect(t.iovaToPhys(0)).toBe(0x8000_0000);
    expect(t.iovaToPhys(SZ_4K)).toBe(0x9000_1000);
  });

  it('a superpage replaces what is under it (switch_to_super_page()), flushing, without a WARN', () => {
    const calls: string[] = [];
    const tlb: IommuFlushOps = {
      tlb_flush_walk: (iova, size) => calls.push(`walk ${iova.toString(16)} ${size.toString(16)}`),
    };
    const t = createPageTable('intel-vtd-ss', { tlb });
    t.mapPages(SZ_2M + SZ_4K, 0x8000_0000, SZ_4K, 3, RW);
    const tables = t.tableCount;
    expect(t.mapPages(SZ_2M, 0x9000_0000, SZ_2M, 1, RW).errno).toBe(0);
    expect(t.tableCount).toBe(tables - 1);
    expect(calls).toEqual(['walk 200000 200000']);
    // A superpage over a superpage: replaced too.
    expect(t.mapPages(SZ_2M, 0xa000_0000, SZ_2M, 1, RW).errno).toBe(0);
    expect(t.iovaToPhys(SZ_2M + 5)).toBe(0xa000_0005);
    expect(t.warnings).toEqual([]);
  });

  it('a 1G superpage over a 2M superpage followed by a table: dma_pte_clear_range() clears the table pointer as a leaf, and the table leaks', () => {
    // Found by the generic suite (seed -1876800995). 513 pages at 2G: a 2M superpage (entry 0) and a
    // table holding the 513th page (entry 1). The clear-range loop goes on from the superpage through
    // the rest of that table, so entry 1's table is never reached by dma_pte_free_level().
    const t = createPageTable('intel-vtd-fs');
    expect(t.mapPages(2 * SZ_1G, 0x8000_0000, SZ_4K, 513, RW).errno).toBe(0);
    expect(t.tableCount).toBe(4); // root, level 3, level 2, and the level-1 table
    expect(t.mapPages(2 * SZ_1G, 0x4000_0000, SZ_1G, 1, RW).errno).toBe(0);
    // The level-2 table is freed; the level-1 table stays allocated, unreachable.
    expect(t.tableCount).toBe(3);
    expect(t.leaves().map((l) => [l.iova, l.size])).toEqual([[2 * SZ_1G, SZ_1G]]);
    const memory = t.memory;
    t.free();
    expect(memory.liveAllocations).toBe(1);
  });

  it('the kernel’s checks: sizes, alignment, the domain’s width, prot', () => {
    const t = createPageTable('intel-vtd-ss', { ias: 39 });
    expect(t.mapPages(0, 0, 0x2000, 1, RW).errno).toBe(-EINVAL);
    expect(t.mapPages(SZ_4K, 0, SZ_2M, 1, RW).errno).toBe(-EINVAL);
    expect(t.mapPages(2 ** 39 - SZ_4K, 0, SZ_4K, 2, RW)).toEqual({ mapped: 0, errno: -EFAULT });
    expect(t.mapPages(0, 0, SZ_4K, 1, IOMMU_CACHE).errno).toBe(-EINVAL);
    expect(t.mapPages(0, 0, SZ_4K, 0, RW).errno).toBe(-EINVAL);
    expect(t.warnings).toEqual([]);
  });
});

describe('intel_iommu_unmap(): rounded up to the leaf or hole, then domain_unmap()', () => {
  it('part of a superpage unmaps all of it, and says so', () => {
    const t = createPageTable('intel-vtd-ss');
    t.mapPages(SZ_2M, 0x8020_0000, SZ_2M, 1, RW);
    expect(t.unmapPages(SZ_2M, SZ_4K, 1)).toBe(SZ_2M);
    expect(t.leaves()).toEqual([]);
  });

  it('a hole unmaps (and reports) the hole’s size, clearing whatever else that range covers', () => {
    const t = createPageTable('intel-vtd-ss');
    t.mapPages(0, 0x8000_0000, SZ_4K, 1, RW);
    // The level-3 entry at 1G is empty: the size becomes 1G.
    expect(t.unmapPages(SZ_1G, SZ_4K, 1)).toBe(SZ_1G);
    // The level-2 entry at 2M is empty: 2M, from 2M + 4K up to 4M + 4K, which takes 4M's page with it.
    t.mapPages(2 * SZ_2M, 0x9000_0000, SZ_4K, 1, RW);
    expect(t.unmapPages(SZ_2M + SZ_4K, SZ_4K, 1)).toBe(SZ_2M);
    expect(t.iovaToPhys(2 * SZ_2M)).toBe(0);
    expect(t.iovaToPhys(0)).toBe(0x8000_0000);
  });

  it('a range covering a table frees it; unmapping 4K entries does not', () => {
    const t = createPageTable('intel-vtd-ss');
    t.mapPages(SZ_2M, 0x8000_0000, SZ_4K, 3, RW);
    const tables = t.tableCount;
    expect(t.unmapPages(SZ_2M, SZ_4K, 3)).toBe(3 * SZ_4K);
    expect(t.tableCount).toBe(tables);
    t.mapPages(SZ_2M, 0x8000_0000, SZ_4K, 1, RW);
    expect(t.unmapPages(SZ_2M, SZ_2M, 1)).toBe(SZ_2M);
    expect(t.tableCount).toBe(tables - 1);
  });

  it('an unaligned unmap across a superpage: the kernel clears inside its memory; the model WARNs', () => {
    const t = createPageTable('intel-vtd-ss');
    t.mapPages(2 * SZ_2M, 0x8000_0000, SZ_2M, 1, RW);
    t.mapPages(SZ_2M + SZ_4K, 0x9000_0000, SZ_4K, 1, RW);
    expect(t.unmapPages(SZ_2M + SZ_4K, SZ_4K, 1)).toBe(SZ_4K);
    t.mapPages(SZ_2M + SZ_4K, 0x9000_0000, SZ_4K, 1, RW);
    // Now the lookup stops at the 4K entry; a 2M unmap from 2M + 4K partly covers the superpage at 4M.
    expect(t.unmapPages(SZ_2M + SZ_4K, SZ_2M, 1)).toBe(SZ_2M);
    expect(t.warnings.map((w) => w.site)).toEqual(['dma_pte_clear_level']);
    expect(t.iovaToPhys(2 * SZ_2M)).toBe(0x8000_0000);
  });
});

describe('hardware access and dirty tracking', () => {
  it('second stage: R and W bits; a write marks bit 9, which read_and_clear_dirty() reports and clears', () => {
    const t = createPageTable('intel-vtd-ss');
    t.mapPages(0, 0x8000_0000, SZ_4K, 1, IOMMU_READ);
    t.mapPages(SZ_4K, 0x8000_1000, SZ_4K, 1, RW);
    expect(t.access(5)).toBe(ACCESS_LEAF | ACCESS_READ);
    expect(t.access(SZ_4K + 5)).toBe(ACCESS_LEAF | ACCESS_READ | ACCESS_WRITE | ACCESS_DIRTIES);
    expect(t.lastPhys).toBe(0x8000_1005);
    t.markDirty(SZ_4K + 5);
    expect(last(t, SZ_4K).pte).toBe(0x8000_1203n);
    expect(t.access(SZ_4K)).toBe(ACCESS_LEAF | ACCESS_READ | ACCESS_WRITE);
    const got: number[][] = [];
    const rec = (iova: number, len: number) => got.push([iova, len]);
    expect(t.readAndClearDirty(0, 4 * SZ_4K, IOMMU_DIRTY_NO_CLEAR, rec)).toBe(0);
    expect(t.readAndClearDirty(0, 4 * SZ_4K, 0, rec)).toBe(0);
    expect(t.readAndClearDirty(0, 4 * SZ_4K, 0, rec)).toBe(0);
    expect(got).toEqual([
      [SZ_4K, SZ_4K],
      [SZ_4K, SZ_4K],
    ]);
    // First stage has no dirty ops (intel_iommu_domain_alloc_user() refuses dirty tracking there).
    expect(createPageTable('intel-vtd-fs').readAndClearDirty(0, SZ_4K, 0, rec)).toBe(-EOPNOTSUPP);
  });
});
