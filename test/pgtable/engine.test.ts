// SPDX-License-Identifier: GPL-2.0-only
// The engine's edges: arguments as arm_lpae_map_pages()/arm_lpae_unmap_pages()
// check them (and as __iommu_map() guarantees them), bigint addresses,
// allocation failures, the TLB callbacks (struct iommu_flush_ops) at the
// points io-pgtable-arm calls them, and the table memory.
import { describe, expect, it } from 'vitest';
import type { IommuFlushOps } from '../../src/pgtable/index.js';
import {
  IOMMU_CACHE,
  IOMMU_READ,
  IOMMU_WRITE,
  TableMemory,
  createPageTable,
} from '../../src/pgtable/index.js';
import { EEXIST, EINVAL, ENOMEM, ERANGE } from '../../src/kernel/errno.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const SZ_4K = 0x1000;
const SZ_2M = 0x200000;

describe('map_pages and unmap_pages arguments', () => {
  it.each([
    ['a size not in pgsize_bitmap', 0, 0, 0x2000, 1, RW, -EINVAL, 1],
    ['a zero size', 0, 0, 0, 1, RW, -EINVAL, 1],
    ['an IOVA past ias', 2 ** 48, 0, SZ_4K, 1, RW, -ERANGE, 1],
    ['a negative IOVA (a huge unsigned long)', -SZ_4K, 0, SZ_4K, 1, RW, -ERANGE, 1],
    ['a bigint IOVA of 2^53 or more', 2n ** 60n, 0, SZ_4K, 1, RW, -ERANGE, 1],
    ['a paddr past oas', 0, 2 ** 48, SZ_4K, 1, RW, -ERANGE, 1],
    ['neither read nor write', 0, 0, SZ_4K, 1, IOMMU_CACHE, -EINVAL, 0],
    ['an IOVA not aligned to the size (what __iommu_map refuses)', SZ_4K, 0, SZ_2M, 1, RW, -EINVAL, 0],
    ['a paddr not aligned to the size', 0, SZ_4K, SZ_2M, 1, RW, -EINVAL, 0],
    ['a fractional IOVA', 0.5, 0, SZ_4K, 1, RW, -EINVAL, 0],
    ['a fractional count', 0, 0, SZ_4K, 1.5, RW, -EINVAL, 0],
  ] as const)('map: %s', (_what, iova, paddr, size, count, prot, errno, warns) => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    expect(t.mapPages(iova, paddr, size, count, prot)).toEqual({ mapped: 0, errno });
    expect(t.warnings).toHaveLength(warns);
    expect(t.leaves()).toEqual([]);
  });

  it('bigint addresses convert once at the edge', () => {
    const t = createPageTable('arm-64-lpae-s2-4k');
    expect(t.mapPages(0x1_0000_0000n, 0xf_8000_0000n, 4096n, 2, RW)).toEqual({ mapped: 2 * SZ_4K, errno: 0 });
    expect(t.iovaToPhys(0x1_0000_1234n)).toBe(0xf_8000_1234);
    expect(t.unmapPages(0x1_0000_1000n, 4096n, 1)).toBe(SZ_4K);
    expect(t.iovaToPhys(0x1_0000_1234)).toBe(0);
  });

  it('iova_to_phys ignores IOVA bits above ias, as the kernel’s index does', () => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    t.mapPages(0x5000, 0x8000_0000, SZ_4K, 1, RW);
    expect(t.iovaToPhys(2 ** 48 + 0x5010)).toBe(0x8000_0010);
    expect(t.iovaToPhys(2n ** 64n - 2n ** 48n + 0x5010n)).toBe(0x8000_0010);
  });

  it('pgcount stops at the end of the table page, and the mapped bytes add up across calls', () => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    const out = { mapped: 0 };
    expect(t.mapPagesTo(out, 510 * SZ_4K, 0x8000_0000, SZ_4K, 600, RW)).toBe(0);
    expect(out.mapped).toBe(2 * SZ_4K);
    expect(t.mapPagesTo(out, 512 * SZ_4K, 0x8000_2000, SZ_4K, 598, RW)).toBe(0);
    expect(out.mapped).toBe(514 * SZ_4K);
    expect(t.unmapPages(510 * SZ_4K, SZ_4K, 600)).toBe(2 * SZ_4K);
    expect(t.unmapPages(512 * SZ_4K, SZ_4K, 600)).toBe(512 * SZ_4K);
  });

  it('a count of zero maps nothing but still builds the tables on the way (the kernel does)', () => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    expect(t.mapPages(0, 0, SZ_4K, 0, RW)).toEqual({ mapped: 0, errno: 0 });
    expect(t.tableCount).toBe(4);
    expect(t.warnings).toEqual([]);
  });

  it.each([
    ['a size not in pgsize_bitmap', 0, 0x2000, 1, 1],
    ['a zero count', 0, SZ_4K, 0, 1],
    ['an IOVA past ias', 2 ** 48, SZ_4K, 1, 1],
    ['an unaligned IOVA (what __iommu_unmap refuses)', 0x800, SZ_4K, 1, 0],
    ['nothing mapped there', 0, SZ_4K, 1, 1],
  ] as const)('unmap: %s unmaps nothing', (_what, iova, size, count, warns) => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    expect(t.unmapPages(iova, size, count)).toBe(0);
    expect(t.warnings).toHaveLength(warns);
  });

  it('a table that was freed cannot be used', () => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    t.free();
    expect(() => t.mapPages(0, 0, SZ_4K, 1, RW)).toThrow(/after free/);
    expect(() => t.free()).toThrow(/after free/);
  });
});

describe('allocation failures', () => {
  it('map_pages: -ENOMEM, with the tables already installed left in place', () => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    let n = 0;
    t.memory.shouldFail = () => ++n === 2;
    expect(t.mapPages(0, 0, SZ_4K, 1, RW)).toEqual({ mapped: 0, errno: -ENOMEM });
    expect(t.tableCount).toBe(2);
    expect(t.mapPages(0, 0, SZ_4K, 1, RW).errno).toBe(0);
    expect(t.tableCount).toBe(4);
  });

  it('a split that cannot allocate its table unmaps nothing and leaves the block', () => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    t.mapPages(SZ_2M, 0x8000_0000, SZ_2M, 1, RW);
    t.memory.shouldFail = () => true;
    expect(t.unmapPages(SZ_2M + SZ_4K, SZ_4K, 1)).toBe(0);
    expect(t.iovaToPhys(SZ_2M + SZ_4K)).toBe(0x8000_1000);
    expect(t.warnings).toEqual([]);
  });
});

describe('races the kernel settles with cmpxchg (a concurrent writer simulated during the allocation)', () => {
  /** Writes a PTE into the table memory, as another CPU would. */
  const poke = (
    t: ReturnType<typeof createPageTable>,
    table: number,
    index: number,
    lo: number,
    hi: number,
  ) => {
    const w = t.memory.tableWords(table) as Uint32Array;
    w[2 * index] = lo;
    w[2 * index + 1] = hi;
  };

  it('a leaf installed while __arm_lpae_map allocated a table: the table is freed, -EEXIST', () => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    const SZ_1G = 0x40000000;
    let n = 0;
    t.memory.shouldFail = () => {
      if (++n === 2) {
        // The level-1 table is in place; someone maps a 1G block where our level-2 table would go.
        const l1 = t.walkTrace(SZ_1G).steps[1];
        poke(t, l1.table, l1.index, 0x4000_0741, 0);
      }
      return false;
    };
    expect(t.mapPages(SZ_1G, 0, SZ_4K, 1, RW)).toEqual({ mapped: 0, errno: -EEXIST });
    expect(t.warnings.map((w) => w.site)).toEqual(['__arm_lpae_map']);
    expect([t.tableCount, t.memory.liveAllocations]).toEqual([2, 2]);
    expect(t.iovaToPhys(SZ_1G + 5)).toBe(0x4000_0005);
  });

  it('a block unmapped while arm_lpae_split_blk_unmap built its table: nothing unmapped, the table freed', () => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    t.mapPages(SZ_2M, 0x8000_0000, SZ_2M, 1, RW);
    const tables = t.tableCount;
    const blk = t.walkTrace(SZ_2M).steps[2];
    t.memory.shouldFail = () => {
      poke(t, blk.table, blk.index, 0, 0);
      return false;
    };
    expect(t.unmapPages(SZ_2M + SZ_4K, SZ_4K, 1)).toBe(0);
    expect([t.tableCount, t.memory.liveAllocations]).toEqual([tables, tables]);
    expect(t.warnings).toEqual([]);
  });
});

describe('TLB maintenance (struct iommu_flush_ops)', () => {
  const recorder = () => {
    const calls: string[] = [];
    const tlb: IommuFlushOps = {
      tlb_flush_all: () => calls.push('all'),
      tlb_flush_walk: (iova, size, granule) =>
        calls.push(`walk ${iova.toString(16)} ${size.toString(16)} ${granule}`),
      tlb_add_page: (iova, granule) => calls.push(`page ${iova.toString(16)} ${granule.toString(16)}`),
    };
    return { calls, tlb };
  };

  it('leaves are added page by page; a freed table flushes the walk; free flushes everything', () => {
    const { calls, tlb } = recorder();
    const t = createPageTable('arm-64-lpae-s1-4k', { tlb });
    t.mapPages(0, 0, SZ_4K, 2, RW);
    expect(t.unmapPages(0, SZ_4K, 2)).toBe(2 * SZ_4K);
    expect(calls.splice(0)).toEqual(['page 0 1000', 'page 1000 1000']);
    // The (now empty) table of pages goes when its 2M entry is unmapped.
    expect(t.unmapPages(0, SZ_2M, 1)).toBe(SZ_2M);
    expect(calls.splice(0)).toEqual(['walk 0 200000 4096', 'page 0 200000']);
    // A block replacing a table: the walk is flushed, no page is added (no gather).
    t.mapPages(SZ_2M, 0, SZ_4K, 1, RW);
    t.mapPages(SZ_2M, 0, SZ_2M, 1, RW);
    expect(calls.splice(0)).toEqual(['walk 200000 200000 4096']);
    // A split adds the pages it unmapped.
    expect(t.unmapPages(SZ_2M + SZ_4K, SZ_4K, 2)).toBe(2 * SZ_4K);
    expect(calls.splice(0)).toEqual(['page 201000 1000', 'page 202000 1000']);
    t.free();
    expect(calls).toEqual(['all']);
  });
});

describe('table memory', () => {
  it('tables are aligned to their size, and a concatenated pgd to its', () => {
    const memory = new TableMemory({ base: 0x8000_0000 });
    const s2 = createPageTable('arm-64-lpae-s2-4k', { ias: 40, memory });
    expect(s2.layout.levels[0].tableBytes).toBe(0x2000);
    expect(s2.pgdPhys % 0x2000).toBe(0);
    const t = createPageTable('arm-64-lpae-s1-64k', { memory });
    t.mapPages(0, 0, 0x10000, 1, RW);
    const steps = t.walkTrace(0).steps;
    for (const s of steps) expect(s.table % 0x10000).toBe(0);
    expect(steps[0].table).toBeGreaterThanOrEqual(0x8000_0000);
  });

  it('freed tables are reused, zeroed', () => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    t.mapPages(0, 0x8000_0000, SZ_4K, 512, RW);
    const before = t.memory.liveBytes;
    expect(t.unmapPages(0, SZ_2M, 1)).toBe(SZ_2M);
    expect(t.memory.liveBytes).toBe(before - SZ_4K);
    t.mapPages(SZ_2M, 0, SZ_4K, 1, RW);
    expect(t.memory.liveBytes).toBe(before);
    expect(t.leaves().map((l) => l.iova)).toEqual([SZ_2M]);
  });

  it('rejects a base that is not 2 MiB aligned, and a free of something it never allocated', () => {
    expect(() => new TableMemory({ base: 0x1000 })).toThrow(RangeError);
    const m = new TableMemory();
    expect(() => m.free(m.base, 4096)).toThrow(/not a live block/);
    const a = m.alloc(4096);
    expect(m.read64(a)).toBe(0n);
    expect(m.read64(a - 8)).toBeUndefined();
    expect(m.regions()).toHaveLength(1);
  });
});

it('the README example', () => {
  const t = createPageTable('arm-64-lpae-s1-4k', { ias: 48, oas: 48 });
  expect(t.mapPages(0x100000, 0x80000000, 0x1000, 16, IOMMU_READ | IOMMU_WRITE)).toEqual({
    mapped: 65536,
    errno: 0,
  });
  expect(t.iovaToPhys(0x102345n)).toBe(0x80002345);
  expect(t.unmapPages(0x101000, 0x1000, 1)).toBe(4096);
  expect(t.explain(0x102345).split('\n')).toHaveLength(6);
  t.free();
});
