// SPDX-License-Identifier: GPL-2.0-only
// AMD IOMMU v1 and v2 tables as amd/io_pgtable.c and amd/io_pgtable_v2.c
// (6.12) build and change them: descriptors bit for bit against the AMD
// IOMMU spec's PDE/PTE format (next level, next-level-7 page sizes, IR/IW/FC)
// and x86-64 paging (P/RW/US/A/D/PS), increase_address_space(), the
// replace-don't-refuse map rules, whole-leaf unmaps, and v1 host dirty bits.
import { describe, expect, it } from 'vitest';
import type { IommuFlushOps, PageTable } from '../../src/pgtable/index.js';
import {
  ACCESS_DIRTIES,
  ACCESS_LEAF,
  ACCESS_READ,
  ACCESS_WRITE,
  IOMMU_DIRTY_NO_CLEAR,
  IOMMU_READ,
  IOMMU_WRITE,
  createPageTable,
} from '../../src/pgtable/index.js';
import { EINVAL } from '../../src/kernel/errno.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const SZ_4K = 0x1000;
const SZ_2M = 0x200000;
const SZ_1G = 0x40000000;
/* v1: PR | FC | IR | IW */
const LEAF = 0x7000_0000_0000_0001n;

const stepsOf = (t: PageTable, iova: number) => t.walkTrace(iova).steps;
const pteOf = (t: PageTable, iova: number) => {
  const s = stepsOf(t, iova);
  return s[s.length - 1].pte;
};

describe('AMD v1: descriptors, bit for bit', () => {
  it.each([
    // Next level 0: a page of the level's size.
    ['4K', SZ_4K, 1, [LEAF | 0x8000_0000n]],
    ['2M at level 1', SZ_2M, 1, [LEAF | 0x8000_0000n]],
    // Next level 7: the size is the first zero address bit from 12 (2^(bit + 1)); 2 entries for 8K, 16 for 64K.
    ['8K', 0x2000, 2, [LEAF | 0x8000_0e00n]],
    ['64K', 0x1_0000, 16, [LEAF | 0x8000_7e00n]],
    ['4M at level 1', 0x40_0000, 2, [LEAF | 0x801f_fe00n]],
  ] as const)('%s', (_what, size, entries, [pte]) => {
    const t = createPageTable('amd-v1');
    expect(t.mapPages(SZ_1G, 0x8000_0000, size, 1, RW).errno).toBe(0);
    for (let i = 0; i < entries; i++) {
      const at = SZ_1G + (i * size) / entries;
      expect([i, pteOf(t, at)]).toEqual([i, pte]);
    }
    expect(t.iovaToPhys(SZ_1G + size - 1)).toBe(0x8000_0000 + size - 1);
    expect(t.leaves().map((l) => [l.iova, l.size, l.paddr])).toEqual([[SZ_1G, size, 0x8000_0000]]);
  });

  it('PDEs: the address, their own level in [11:9], PR | IR | IW; a read-only page has no IW', () => {
    const t = createPageTable('amd-v1');
    t.mapPages(0, 0x8000_0000, SZ_4K, 1, IOMMU_READ);
    const s = stepsOf(t, 0);
    expect(s.map((x) => x.level)).toEqual([2, 1, 0]);
    expect(s[0].pte).toBe(0x6000_0000_0000_0000n | BigInt(s[0].next ?? -1) | (2n << 9n) | 1n);
    expect(s[1].pte).toBe(0x6000_0000_0000_0000n | BigInt(s[1].next ?? -1) | (1n << 9n) | 1n);
    expect(s[2].pte).toBe(0x3000_0000_8000_0001n);
    expect(t.access(5)).toBe(ACCESS_LEAF | ACCESS_READ);
  });
});

describe('AMD v1: rules', () => {
  it('the rest of a 4M series whose first entry became a table is listed where it is left, beside the table (CI seed -580563860)', () => {
    const t = createPageTable('amd-v1');
    t.mapPages(0x80000000, 0x80000000, 0x400000, 1, RW);
    t.mapPages(0x7fc00000, 0xbfc00000, 0x200000, 3, RW); // the third overwrites the series' first entry
    t.mapPages(0x80000000, 0x80000000, 0x1000, 1, RW); // and a 4K map makes that 2M entry a table
    expect(t.leaves().map((l) => `${l.iova.toString(16)} ${l.size.toString(16)}`)).toEqual([
      '7fc00000 200000',
      '7fe00000 200000',
      '80000000 1000',
      '80200000 400000',
    ]);
  });

  it('increase_address_space(): the root grows a level on top, the old root at its entry 0', () => {
    const t = createPageTable('amd-v1');
    const root3 = t.cfg.ttbr;
    expect(t.mapPages(2 ** 39, 0x8000_0000, SZ_4K, 1, RW).errno).toBe(0);
    expect(t.cfg.ttbr).not.toBe(root3);
    const s = stepsOf(t, 0);
    expect(s[0].level).toBe(3);
    expect(s[0].pte).toBe(0x6000_0000_0000_0000n | BigInt(root3) | (3n << 9n) | 1n);
    // A page size of level 4 needs mode 5.
    expect(t.mapPages(2 ** 48, 0, 2 ** 48, 1, RW).errno).toBe(0);
    expect(stepsOf(t, 2 ** 48 + 5).map((x) => [x.level, x.kind])).toEqual([[4, 'page']]);
    expect(t.iovaToPhys(2 ** 39 + 7)).toBe(0x8000_0007);
  });

  it('8K over the first half of a 16K series: the rest of the series is listed where it is left, and fetch_pte() reads the series through its first entry', () => {
    // Found by the generic suite (seed 58313078): leaves() listed the two at the same IOVA.
    const t = createPageTable('amd-v1');
    t.mapPages(0, 0x8000_0000, 0x4000, 1, RW);
    expect(t.mapPages(0, 0, 0x2000, 1, RW)).toEqual({ mapped: 0x2000, errno: 0 });
    expect(t.leaves().map((l) => [l.iova, l.size, l.paddr])).toEqual([
      [0, 0x2000, 0],
      [0x2000, 0x4000, 0x8000_0000],
    ]);
    // Entry 2 still says 16K, so the offset mask is 16K's, applied to entry 0's (8K) address.
    expect(t.iovaToPhys(0x2000)).toBe(0x2000);
  });

  it('a map replaces: no -EEXIST, no WARN; a larger page above becomes an empty table', () => {
    const calls: string[] = [];
    const tlb: IommuFlushOps = {
      tlb_flush_walk: (iova, size) => calls.push(`${iova.toString(16)} ${size.toString(16)}`),
    };
    const t = createPageTable('amd-v1', { tlb });
    t.mapPages(SZ_2M, 0x8020_0000, SZ_2M, 1, RW);
    // The same size again: silently, and with nothing to flush (`updated` stays false).
    expect(t.mapPages(SZ_2M, 0x9020_0000, SZ_2M, 1, RW)).toEqual({ mapped: SZ_2M, errno: 0 });
    expect(calls).toEqual([]);
    // 4K inside it: the 2M page gives way to a table holding just the 4K page.
    expect(t.mapPages(SZ_2M + SZ_4K, 0xa000_0000, SZ_4K, 1, RW).errno).toBe(0);
    expect(t.iovaToPhys(SZ_2M)).toBe(0);
    expect(t.iovaToPhys(SZ_2M + SZ_4K)).toBe(0xa000_0000);
    expect(calls).toEqual(['201000 1000']);
    // 2M over the table: the table is freed.
    const tables = t.tableCount;
    expect(t.mapPages(SZ_2M, 0x8020_0000, SZ_2M, 1, RW).errno).toBe(0);
    expect(t.tableCount).toBe(tables - 1);
    expect(t.warnings).toEqual([]);
  });

  it('unmap takes whole leaves and counts them; a 4K hole in a table counts; tables stay', () => {
    const t = createPageTable('amd-v1');
    t.mapPages(SZ_2M, 0x8020_0000, SZ_2M, 1, RW);
    expect(t.unmapPages(SZ_2M + SZ_4K, SZ_4K, 1)).toBe(SZ_2M);
    t.mapPages(0, 0x8000_0000, SZ_4K, 1, RW);
    const tables = t.tableCount;
    expect(t.unmapPages(0, SZ_4K, 3)).toBe(3 * SZ_4K);
    expect(t.tableCount).toBe(tables);
    // A hole above level 0 ends the unmap.
    expect(t.unmapPages(SZ_1G, SZ_4K, 1)).toBe(0);
    expect(t.mapPages(0, 0, 0x3000, 1, RW).errno).toBe(-EINVAL);
  });

  it('host dirty: HD (bit 6) on any entry of a page; read_and_clear_dirty() reports the page and clears them all', () => {
    const t = createPageTable('amd-v1');
    t.mapPages(0x1_0000, 0x8000_0000, 0x1_0000, 1, RW);
    expect(t.access(0x1_3000)).toBe(ACCESS_LEAF | ACCESS_READ | ACCESS_WRITE | ACCESS_DIRTIES);
    t.markDirty(0x1_3000);
    expect(pteOf(t, 0x1_3000)).toBe(LEAF | 0x8000_7e40n);
    const got: number[][] = [];
    const rec = (iova: number, len: number) => got.push([iova, len]);
    t.readAndClearDirty(0, 0x4_0000, IOMMU_DIRTY_NO_CLEAR, rec);
    t.readAndClearDirty(0, 0x4_0000, 0, rec);
    t.readAndClearDirty(0, 0x4_0000, 0, rec);
    expect(got).toEqual([
      [0x1_0000, 0x1_0000],
      [0x1_0000, 0x1_0000],
    ]);
    expect(pteOf(t, 0x1_3000)).toBe(LEAF | 0x8000_7e00n);
  });

  it('read_and_clear_dirty() over a range past the root’s reach ends (the kernel walks it 4K at a time), negative ranges are refused', () => {
    const t = createPageTable('amd-v1');
    t.mapPages(0x1_0000, 0x8000_0000, SZ_4K, 1, RW);
    t.markDirty(0x1_0000);
    const got: number[][] = [];
    // 2^52 bytes from 0: the 3-level table reaches 512G, the rest would be 2^40 steps of 4K.
    expect(t.readAndClearDirty(0, 2 ** 52, 0, (iova, len) => got.push([iova, len]))).toBe(0);
    expect(got).toEqual([[0x1_0000, SZ_4K]]);
    expect(t.readAndClearDirty(2 ** 52, 2 ** 52, 0, () => got.push([]))).toBe(0);
    expect(t.readAndClearDirty(-SZ_4K, SZ_4K, 0, () => got.push([]))).toBe(-EINVAL);
    expect(t.readAndClearDirty(0, -1, 0, () => got.push([]))).toBe(-EINVAL);
    expect(got).toHaveLength(1);
  });
});

describe('AMD v2 (x86-64 paging)', () => {
  it('descriptors: P | US | A | D, RW for writes, PS for 2M and 1G; tables P | RW | US | A', () => {
    const t = createPageTable('amd-v2');
    t.mapPages(0, 0x8000_0000, SZ_4K, 1, RW);
    t.mapPages(SZ_4K, 0x8000_1000, SZ_4K, 1, IOMMU_READ);
    t.mapPages(SZ_2M, 0x8020_0000, SZ_2M, 1, RW);
    t.mapPages(SZ_1G, 0x4000_0000, SZ_1G, 1, RW);
    expect(pteOf(t, 0)).toBe(0x8000_0067n);
    expect(pteOf(t, SZ_4K)).toBe(0x8000_1065n);
    expect(pteOf(t, SZ_2M)).toBe(0x8020_00e7n);
    expect(pteOf(t, SZ_1G)).toBe(0x4000_00e7n);
    const s = stepsOf(t, 0);
    expect(s.map((x) => x.level)).toEqual([3, 2, 1, 0]);
    expect(s[0].pte).toBe(BigInt(s[0].next ?? -1) | 0x27n);
    expect(t.access(SZ_4K)).toBe(ACCESS_LEAF | ACCESS_READ);
    expect(createPageTable('amd-v2', { ias: 57 }).layout.levels).toHaveLength(5);
  });

  it('a map clears a large page above it; over a large page of its size the kernel frees that page (a WARN here)', () => {
    const t = createPageTable('amd-v2');
    t.mapPages(SZ_2M, 0x8020_0000, SZ_2M, 1, RW);
    expect(t.mapPages(SZ_2M + SZ_4K, 0x9000_0000, SZ_4K, 1, RW).errno).toBe(0);
    expect(t.iovaToPhys(SZ_2M)).toBe(0);
    expect(t.iovaToPhys(SZ_2M + SZ_4K)).toBe(0x9000_0000);
    t.mapPages(4 * SZ_2M, 0x8000_0000, SZ_2M, 1, RW);
    expect(t.mapPages(4 * SZ_2M, 0xa000_0000, SZ_2M, 1, RW).errno).toBe(0);
    expect(t.warnings.map((w) => w.site)).toEqual(['v2_alloc_pte']);
    expect(t.iovaToPhys(4 * SZ_2M)).toBe(0xa000_0000);
  });

  it('4-level tables ignore IOVA bits 48..51 (cfg.ias says 52); unmap takes whole leaves', () => {
    const t = createPageTable('amd-v2');
    expect(t.cfg.ias).toBe(52);
    t.mapPages(SZ_2M, 0x8020_0000, SZ_2M, 1, RW);
    expect(t.iovaToPhys(2 ** 48 + SZ_2M + 5)).toBe(0x8020_0005);
    expect(t.unmapPages(SZ_2M + SZ_4K, SZ_4K, 1)).toBe(SZ_2M);
    expect(t.mapPages(0, 0, 0x2000, 1, RW).errno).toBe(-EINVAL);
    expect(t.warnings.map((w) => w.site)).toEqual(['iommu_v2_map_pages']);
  });
});
