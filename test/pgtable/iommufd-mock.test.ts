// SPDX-License-Identifier: GPL-2.0-only
// The iommufd selftest mock domain (iommufd/selftest.c, 6.12): its xarray
// entries bit for bit (xa_mk_value(pfn | MOCK_PFN_* flags)), the START/LAST
// and HUGE flags map_pages sets and unmap_pages checks, its WARNs (double
// map, unaligned or missing iova_to_phys), unmap's whole-range answer, the
// xarray's nodes (grown on top, emptied ones freed) and the dirty bits
// mock_domain_read_and_clear_dirty() reads.
import { describe, expect, it } from 'vitest';
import type { PageTable } from '../../src/pgtable/index.js';
import { IOMMU_DIRTY_NO_CLEAR, IOMMU_READ, IOMMU_WRITE, createPageTable } from '../../src/pgtable/index.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const PAGE = 2048;
const HUGE = 0x10_0000;
/** xa_mk_value(v) = v << 1 | 1, v = pfn | flags: START/LAST bit 53, DIRTY 54, HUGE 55. */
const entry = (pa: number, flags: bigint) => ((BigInt(pa / PAGE) | flags) << 1n) | 1n;
const START = 1n << 53n;
const HUGE_F = 1n << 55n;

const entryOf = (t: PageTable, iova: number) => {
  const s = t.walkTrace(iova).steps;
  return s[s.length - 1].pte;
};

describe('mock_domain_map_pages()', () => {
  it('stores pfn | flags per 2K entry: START on the first, LAST (the same bit) on the last', () => {
    const t = createPageTable('iommufd-mock');
    expect(t.mapPages(0x100_0000, 0x8000_0000, PAGE, 3, RW)).toEqual({ mapped: 3 * PAGE, errno: 0 });
    expect(entryOf(t, 0x100_0000)).toBe(entry(0x8000_0000, START));
    expect(entryOf(t, 0x100_0000 + PAGE)).toBe(entry(0x8000_0800, 0n));
    expect(entryOf(t, 0x100_0000 + 2 * PAGE)).toBe(entry(0x8000_1000, START));
    expect(t.walkTrace(0x100_0800).steps.at(-1)?.kind).toBe('value entry');
    // One entry alone is both.
    t.mapPages(0, 0x9000_0000, PAGE, 1, RW);
    expect(entryOf(t, 0)).toBe(entry(0x9000_0000, START));
  });

  it('a huge page is 512 entries marked HUGE, the first and last also START/LAST', () => {
    const t = createPageTable('iommufd-mock', { pgsize_bitmap: PAGE + HUGE });
    expect(t.mapPages(HUGE, 0x8010_0000, HUGE, 1, RW).errno).toBe(0);
    const leaves = t.leaves();
    expect(leaves).toHaveLength(512);
    expect(leaves[0].attrs).toBe(START | HUGE_F);
    expect(leaves[1].attrs).toBe(HUGE_F);
    expect(leaves[511].attrs).toBe(START | HUGE_F);
  });

  it('a double map stores anyway, with WARN_ON(old); no protection is checked', () => {
    const t = createPageTable('iommufd-mock');
    t.mapPages(0, 0x8000_0000, PAGE, 2, RW);
    expect(t.mapPages(PAGE, 0x9000_0000, PAGE, 1, 0)).toEqual({ mapped: PAGE, errno: 0 });
    expect(t.warnings.map((w) => w.message)).toEqual(['WARN_ON(old)']);
    expect(t.iovaToPhys(PAGE)).toBe(0x9000_0000);
  });

  it('a page size that is no integer (NaN, Infinity) is refused with the size WARN instead of looping for ever', () => {
    const t = createPageTable('iommufd-mock');
    for (const bad of [NaN, Infinity, 2 ** 60]) {
      expect(t.mapPages(0, 0x8000_0000, bad, 1, RW)).toEqual({ mapped: 0, errno: -22 });
      expect(t.unmapPages(0, bad, 1)).toBe(0);
    }
    expect(t.warnings).toHaveLength(6);
    expect(t.warnings.every((w) => w.message.startsWith('WARN_ON(pgsize % MOCK_IO_PAGE_SIZE)'))).toBe(true);
    expect(t.tableCount).toBe(1);
  });
});

describe('mock_domain_unmap_pages() and mock_domain_iova_to_phys()', () => {
  it('unmap erases the whole range and says so, WARNing where it does not start or end a map', () => {
    const t = createPageTable('iommufd-mock');
    t.mapPages(0, 0x8000_0000, PAGE, 4, RW);
    expect(t.unmapPages(PAGE, PAGE, 2)).toBe(2 * PAGE);
    expect(t.warnings.map((w) => w.message)).toEqual([
      'WARN_ON(ent && !(xa_to_value(ent) & MOCK_PFN_START_IOVA))',
      'WARN_ON(ent && !(xa_to_value(ent) & MOCK_PFN_LAST_IOVA))',
    ]);
    // Nothing mapped there: no entry, no WARN, the full size.
    expect(t.unmapPages(0x10_0000, PAGE, 3)).toBe(3 * PAGE);
    expect(t.warnings).toHaveLength(2);
    // With the huge page size the checks are off.
    const h = createPageTable('iommufd-mock', { pgsize_bitmap: PAGE + HUGE });
    h.mapPages(0, 0x8000_0000, PAGE, 4, RW);
    expect(h.unmapPages(PAGE, PAGE, 2)).toBe(2 * PAGE);
    expect(h.warnings).toEqual([]);
  });

  it('iova_to_phys: the page’s address without the offset, WARNing inside a page and on no entry', () => {
    const t = createPageTable('iommufd-mock');
    t.mapPages(0, 0x8000_0000, PAGE, 1, RW);
    expect(t.iovaToPhys(0)).toBe(0x8000_0000);
    expect(t.iovaToPhys(5)).toBe(0x8000_0000);
    expect(t.iovaToPhys(PAGE)).toBe(0);
    expect(t.warnings.map((w) => w.message)).toEqual(['WARN_ON(iova % MOCK_IO_PAGE_SIZE)', 'WARN_ON(!ent)']);
    // The hardware view (an access) keeps the offset.
    t.access(5);
    expect(t.lastPhys).toBe(0x8000_0005);
  });
});

describe('the xarray', () => {
  it('64-slot nodes of 512 bytes; the root grows on top (xas_expand()); emptied nodes go (xas_delete_node())', () => {
    const t = createPageTable('iommufd-mock');
    expect([t.tableCount, t.memory.liveBytes]).toEqual([1, 512]);
    t.mapPages(0, 0x8000_0000, PAGE, 1, RW);
    const root1 = t.cfg.ttbr;
    // Index 64 needs a second level: a new root whose slot 0 is the old one.
    t.mapPages(64 * PAGE, 0x8000_0000, PAGE, 1, RW);
    expect(t.cfg.ttbr).not.toBe(root1);
    expect(t.walkTrace(0).steps.map((s) => s.pte)).toEqual([BigInt(root1) | 2n, entry(0x8000_0000, START)]);
    expect(t.tableCount).toBe(3);
    expect(t.unmapPages(64 * PAGE, PAGE, 1)).toBe(PAGE);
    expect(t.tableCount).toBe(2);
    expect(t.memory.liveBytes).toBe(1024);
    t.free();
    expect(t.memory.liveAllocations).toBe(0);
  });

  it('dirty: a "hardware" write sets MOCK_PFN_DIRTY_IOVA; read_and_clear_dirty() reports whole huge pages', () => {
    const t = createPageTable('iommufd-mock', { pgsize_bitmap: PAGE + HUGE });
    t.mapPages(HUGE, 0x8010_0000, HUGE, 1, RW);
    t.mapPages(0, 0x8000_0000, PAGE, 1, RW);
    t.markDirty(HUGE + 7 * PAGE);
    t.markDirty(0);
    const got: number[][] = [];
    const rec = (iova: number, len: number) => got.push([iova, len]);
    t.readAndClearDirty(0, 2 * HUGE, IOMMU_DIRTY_NO_CLEAR, rec);
    t.readAndClearDirty(0, 2 * HUGE, 0, rec);
    t.readAndClearDirty(0, 2 * HUGE, 0, rec);
    expect(got).toEqual([
      [0, PAGE],
      [HUGE, HUGE],
      [0, PAGE],
      [HUGE, HUGE],
    ]);
  });
});
