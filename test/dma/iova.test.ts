// SPDX-License-Identifier: GPL-2.0-only
// The IOVA allocator (src/dma/iova.ts) against drivers/iommu/iova.c (6.12):
// small cases worked by hand from __alloc_and_insert_iova_range(),
// __cached_rbnode_delete_update() and reserve_iova(); the max32_alloc_size
// shortcut and the pre-v5.1 behaviour without it; and fast-check runs
// against the sorted-array oracle in iova-oracle.ts.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  IOVA_ANCHOR,
  __free_iova,
  alloc_iova,
  find_iova,
  fls_long,
  free_iova,
  init_iova_domain,
  iova_pfn_hi,
  iova_pfn_lo,
  iova_ranges,
  iova_size,
  order_base_2,
  put_iova_domain,
  reserve_iova,
  roundup_pow_of_two,
  type Iova,
  type IovaDomain,
} from '../../src/dma/iova.js';
import { IovaOracle } from './iova-oracle.js';

const D32 = 0x10_0000; // dma_32bit_pfn at a 4 KiB granule

function range(d: IovaDomain, i: Iova | null): [number, number] | null {
  return i === null ? null : [iova_pfn_lo(d, i), iova_pfn_hi(d, i)];
}

function lohi(d: IovaDomain, n: number): [number, number] {
  return [d.tree.lo(n), d.tree.hi(n)];
}

describe('helpers', () => {
  it('fls_long, order_base_2 and roundup_pow_of_two as include/linux/bitops.h and log2.h give them', () => {
    expect([0, 1, 2, 3, 4, 0xffff_ffff, 2 ** 32, 2 ** 40 + 5, 2 ** 52].map(fls_long)).toEqual([
      0, 1, 2, 2, 3, 32, 33, 41, 53,
    ]);
    expect([1, 2, 3, 4, 5, 31, 32, 33].map(order_base_2)).toEqual([0, 1, 2, 2, 3, 5, 5, 6]);
    expect([1, 3, 17, 32].map(roundup_pow_of_two)).toEqual([1, 4, 32, 32]);
  });
});

describe('init_iova_domain', () => {
  it('derives dma_32bit_pfn from the granule and starts both cached nodes at the anchor', () => {
    const d = init_iova_domain(4096, 1);
    expect(d.dma_32bit_pfn).toBe(D32);
    expect(d.max32_alloc_size).toBe(D32);
    expect(d.cached_node).toBe(d.anchor);
    expect(d.cached32_node).toBe(d.anchor);
    expect(lohi(d, d.anchor)).toEqual([IOVA_ANCHOR, IOVA_ANCHOR]);
    expect(init_iova_domain(512, 0).dma_32bit_pfn).toBe(2 ** 23);
    expect(init_iova_domain(65536, 0, { pageSize: 65536 }).dma_32bit_pfn).toBe(2 ** 16);
  });

  it('BUGs on a granule above PAGE_SIZE or not a power of two', () => {
    expect(() => init_iova_domain(8192, 0)).toThrow(/BUG/);
    expect(() => init_iova_domain(3072, 0)).toThrow(/BUG/);
  });
});

describe('alloc_iova worked by hand', () => {
  it('goes top-down from the cached node, aligns to the rounded-up size, and reuses a freed hole', () => {
    const d = init_iova_domain(4096, 1);
    const lim = D32 - 1;
    expect(range(d, alloc_iova(d, 1, lim, false))).toEqual([0xfffff, 0xfffff]);
    const a2 = alloc_iova(d, 1, lim, false);
    expect(range(d, a2)).toEqual([0xffffe, 0xffffe]);
    // size 3 aligned: align_mask = ~0 << fls_long(2) → multiples of 4 below 0xffffe - 3
    expect(range(d, alloc_iova(d, 3, lim, true))).toEqual([0xffff8, 0xffffa]);
    expect(range(d, alloc_iova(d, 3, lim, false))).toEqual([0xffff5, 0xffff7]);
    expect(d.cached32_node).toBe(find_iova(d, 0xffff5));
    // Freeing 0xffffe (above the cached node) moves cached32 to its successor, 0xfffff.
    free_iova(d, 0xffffe);
    expect(d.cached32_node).toBe(find_iova(d, 0xfffff));
    expect(range(d, alloc_iova(d, 1, lim, false))).toEqual([0xffffe, 0xffffe]);
    // The 3-pfn hole 0xffffb..0xffffd takes a 2 at its top, then the next 2 goes below everything.
    expect(range(d, alloc_iova(d, 2, lim, false))).toEqual([0xffffc, 0xffffd]);
    expect(range(d, alloc_iova(d, 2, lim, false))).toEqual([0xffff3, 0xffff4]);
    expect(find_iova(d, 0xffffb)).toBeNull();
    // Above 4G the search starts from cached_node (still the anchor), not cached32.
    const lim36 = 2 ** 36 - 1;
    expect(range(d, alloc_iova(d, 1, lim36, false))).toEqual([lim36, lim36]);
    expect(range(d, alloc_iova(d, 16, lim36, true))).toEqual([0xf_ffff_ffe0, 0xf_ffff_ffef]);
    expect(d.tree.validate()).toBeGreaterThan(0);
    expect(d.nr_iovas).toBe(8);
  });

  it('retries from the limit down to the cached node when nothing fits below it', () => {
    // 16 pfns below 0x80000 are full; cached32 is their lowest. A 32-bit request
    // finds nothing under it and retries between it and the limit.
    const d = init_iova_domain(4096, 0x7fff0);
    for (let i = 0; i < 16; i++) expect(iova_pfn_lo(d, alloc_iova(d, 1, 0x7ffff, false)!)).toBe(0x7ffff - i);
    expect(lohi(d, d.cached32_node)).toEqual([0x7fff0, 0x7fff0]);
    expect(range(d, alloc_iova(d, 1, D32 - 1, false))).toEqual([0xfffff, 0xfffff]);
  });

  it('fails with null and remembers the size in max32_alloc_size, which then refuses at once', () => {
    const d = init_iova_domain(4096, 0x7fff0);
    for (let i = 0; i < 16; i++) alloc_iova(d, 1, 0x7ffff, false);
    const live = d.nr_iovas;
    expect(alloc_iova(d, 1, 0x7ffff, false)).toBeNull();
    expect(d.nr_iovas).toBe(live); // the node went back
    expect(d.max32_alloc_size).toBe(1);
    // The kernel's heuristic: any 32-bit request of that size or more now fails
    // without a search, although 0x80000..0xfffff is free.
    const steps = d.search_steps;
    expect(alloc_iova(d, 1, D32 - 1, false)).toBeNull();
    expect(d.search_steps).toBe(steps);
    // Above 4G the shortcut does not apply.
    expect(range(d, alloc_iova(d, 1, D32, false))).toEqual([D32, D32]);
    // Freeing anything below 4G forgets the failure; cached32 moved up to the
    // freed node's successor, so the hole is found first.
    free_iova(d, 0x7fff8);
    expect(d.max32_alloc_size).toBe(D32);
    expect(lohi(d, d.cached32_node)).toEqual([0x7fff9, 0x7fff9]);
    expect(range(d, alloc_iova(d, 1, D32 - 1, false))).toEqual([0x7fff8, 0x7fff8]);
    expect(range(d, alloc_iova(d, 1, D32 - 1, false))).toEqual([0xfffff, 0xfffff]);
  });

  it('noMax32Shortcut (before bee60e94a1e2) searches the whole range on every failure', () => {
    const n = 500;
    const walk = (noMax32Shortcut: boolean): number[] => {
      const d = init_iova_domain(4096, D32 - n, { noMax32Shortcut });
      for (let i = 0; i < n; i++) alloc_iova(d, 1, D32 - 1, false);
      const out: number[] = [];
      for (let k = 0; k < 3; k++) {
        const s = d.search_steps;
        expect(alloc_iova(d, 1, D32 - 1, false)).toBeNull();
        out.push(d.search_steps - s);
      }
      expect(d.max32_alloc_size).toBe(noMax32Shortcut ? D32 : 1);
      return out;
    };
    const [first, ...again] = walk(false);
    expect(first).toBeGreaterThanOrEqual(n);
    expect(again).toEqual([0, 0]);
    for (const s of walk(true)) expect(s).toBeGreaterThanOrEqual(n);
  });

  it('never hands out below start_pfn or above the limit', () => {
    const d = init_iova_domain(4096, 100, { noMax32Shortcut: true });
    expect(alloc_iova(d, 1, 99, false)).toBeNull();
    expect(range(d, alloc_iova(d, 1, 100, false))).toEqual([100, 100]);
    expect(alloc_iova(d, 2, 101, false)).toBeNull();
    expect(range(d, alloc_iova(d, 1, 101, false))).toEqual([101, 101]);
    // With the shortcut, the failure below start_pfn refuses the next size-1 request too.
    const k = init_iova_domain(4096, 100);
    expect(alloc_iova(k, 1, 99, false)).toBeNull();
    expect(alloc_iova(k, 1, 100, false)).toBeNull();
    expect(range(k, alloc_iova(k, 1, D32, false))).toEqual([D32, D32]);
  });

  it('returns null without touching the tree when the node allocation fails', () => {
    let fail = true;
    const d = init_iova_domain(4096, 1, { failAlloc: (what) => fail && what === 'iova' });
    expect(alloc_iova(d, 1, D32 - 1, false)).toBeNull();
    expect(d.max32_alloc_size).toBe(D32);
    fail = false;
    expect(alloc_iova(d, 1, D32 - 1, false)).not.toBeNull();
  });
});

describe('free_iova, __free_iova, find_iova', () => {
  it('find_iova hits any pfn inside a range; free_iova of a pfn no iova holds does nothing', () => {
    const d = init_iova_domain(4096, 1);
    const a = alloc_iova(d, 8, D32 - 1, true)!;
    expect(iova_size(d, a)).toBe(8);
    for (let p = 0xffff8; p <= 0xfffff; p++) expect(find_iova(d, p)).toBe(a);
    expect(find_iova(d, 0xffff7)).toBeNull();
    free_iova(d, 0x1234);
    expect(d.nr_iovas).toBe(1);
    __free_iova(d, a);
    expect(d.nr_iovas).toBe(0);
    expect(() => __free_iova(d, a)).toThrow(/not a live iova/);
    expect(() => __free_iova(d, d.anchor as Iova)).toThrow(/not a live iova/);
  });

  it('find_iova answers as a search from the root would, wherever the last lookup left off', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.boolean()), { minLength: 1, maxLength: 200 }),
        fc.array(fc.integer({ min: D32 - 1400, max: D32 + 10 }), { minLength: 1, maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (allocs, probes, frees) => {
          const d = init_iova_domain(4096, 1);
          for (const [size, aligned] of allocs) alloc_iova(d, size, D32 - 1, aligned);
          // leave some holes
          for (const f of frees) {
            const r = iova_ranges(d);
            if (r.length > 0) free_iova(d, r[f % r.length][0]);
          }
          const ranges = iova_ranges(d);
          for (const pfn of probes) {
            const want = ranges.find(([lo, hi]) => lo <= pfn && pfn <= hi) ?? null;
            expect(range(d, find_iova(d, pfn))).toEqual(want);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('moves cached_node above a freed iova at or above it (__cached_rbnode_delete_update)', () => {
    const d = init_iova_domain(4096, 1);
    const hi = 2 ** 40 - 1;
    const a = alloc_iova(d, 1, hi, false)!;
    const b = alloc_iova(d, 1, hi, false)!;
    const c = alloc_iova(d, 1, hi, false)!;
    expect(d.cached_node).toBe(c);
    __free_iova(d, a); // above the cached node: cached moves to a's successor, the anchor
    expect(d.cached_node).toBe(d.anchor);
    expect(range(d, alloc_iova(d, 1, hi, false))).toEqual([hi, hi]);
    const e = d.cached_node;
    __free_iova(d, c); // below: cached stays
    expect(d.cached_node).toBe(e);
    expect(d.tree.isLive(b)).toBe(true);
  });

  it('put_iova_domain frees every node', () => {
    const d = init_iova_domain(4096, 1);
    for (let i = 0; i < 100; i++) alloc_iova(d, 1 + (i % 5), D32 - 1, i % 2 === 0);
    reserve_iova(d, 10, 20);
    put_iova_domain(d);
    expect(d.tree.live).toBe(0);
  });
});

describe('reserve_iova worked by hand', () => {
  it('splits at existing iovas, stretches the overlapped ones down, and returns the one holding the end', () => {
    const d = init_iova_domain(4096, 1);
    const r1 = reserve_iova(d, 10, 20)!;
    expect(range(d, r1)).toEqual([10, 20]);
    // [15, 25]: 10..20 already reserved, the rest becomes a new iova.
    expect(range(d, reserve_iova(d, 15, 25))).toEqual([21, 25]);
    // [5, 12] ends inside [10, 20], which is stretched down to 5 and returned.
    expect(reserve_iova(d, 5, 12)).toBe(r1);
    expect(iova_ranges(d)).toEqual([
      [5, 20],
      [21, 25],
    ]);
    // [0, 30]: the first overlap takes 0, the tail 26..30 is new.
    expect(range(d, reserve_iova(d, 0, 30))).toEqual([26, 30]);
    expect(iova_ranges(d)).toEqual([
      [0, 20],
      [21, 25],
      [26, 30],
    ]);
    // A gap before a later overlap is given to that later iova.
    const d2 = init_iova_domain(4096, 1);
    reserve_iova(d2, 0, 20);
    const r2 = reserve_iova(d2, 30, 50)!;
    expect(reserve_iova(d2, 10, 45)).toBe(r2);
    expect(iova_ranges(d2)).toEqual([
      [0, 20],
      [21, 50],
    ]);
    expect(d2.tree.validate()).toBeGreaterThan(0);
  });

  it('WARNs and returns null for pfns beyond the address space', () => {
    const d = init_iova_domain(4096, 1);
    expect(reserve_iova(d, 0, 2 ** 52)).toBeNull();
    expect(d.warnings).toEqual(['reserve_iova: pfn beyond the address space']);
    expect(range(d, reserve_iova(d, 2 ** 52 - 1, 2 ** 52 - 1))).toEqual([2 ** 52 - 1, 2 ** 52 - 1]);
  });

  it('keeps allocations out of reserved ranges', () => {
    const d = init_iova_domain(4096, 1);
    reserve_iova(d, 0xfee00, 0xfeeff); // an MSI window
    for (let i = 0; i < 0x110; i++) {
      const a = alloc_iova(d, 1, 0xfef0f, false)!;
      expect(iova_pfn_lo(d, a) < 0xfee00 || iova_pfn_lo(d, a) > 0xfeeff).toBe(true);
    }
  });
});

// ---- properties against the oracle ----

const S = D32 - 200; // start_pfn: 200 pfns below 4G
const LIMITS = [D32 - 1, D32 - 60, S + 90, D32 + 150, D32 + 400];

type Op =
  | { kind: 'alloc'; size: number; limit: number; aligned: boolean }
  | { kind: 'free'; pick: number; offset: number; byHandle: boolean }
  | { kind: 'reserve'; lo: number; len: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('alloc' as const),
      size: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 40 })),
      limit: fc.constantFrom(...LIMITS),
      aligned: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('free' as const),
      pick: fc.nat(),
      offset: fc.nat(),
      byHandle: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      lo: fc.integer({ min: S - 20, max: D32 + 420 }),
      len: fc.integer({ min: 1, max: 24 }),
    }),
  },
);

function runAgainstOracle(ops: Op[], noMax32Shortcut: boolean): void {
  const d = init_iova_domain(4096, S, { noMax32Shortcut, initialCapacity: 4 });
  const o = new IovaOracle(12, S, noMax32Shortcut);
  for (const op of ops) {
    if (op.kind === 'alloc') {
      const got = alloc_iova(d, op.size, op.limit, op.aligned);
      const want = o.alloc(op.size, op.limit, op.aligned);
      expect(got === null ? null : iova_pfn_lo(d, got)).toBe(want);
      if (got !== null) {
        const lo = iova_pfn_lo(d, got);
        expect(lo).toBeGreaterThanOrEqual(S);
        expect(iova_pfn_hi(d, got)).toBe(lo + op.size - 1);
        expect(iova_pfn_hi(d, got)).toBeLessThanOrEqual(op.limit);
        if (op.aligned) expect(lo % roundup_pow_of_two(op.size)).toBe(0);
      }
    } else if (op.kind === 'free') {
      const live = o.list();
      if (live.length === 0) continue;
      const [lo, hi] = live[op.pick % live.length];
      const pfn = lo + (op.offset % (hi - lo + 1));
      if (op.byHandle) __free_iova(d, find_iova(d, pfn)!);
      else free_iova(d, pfn);
      o.free(pfn);
    } else {
      const got = reserve_iova(d, op.lo, op.lo + op.len - 1);
      const want = o.reserve(op.lo, op.lo + op.len - 1);
      expect(range(d, got)).toEqual([want.lo, want.hi]);
    }
    const ranges = iova_ranges(d);
    expect(ranges).toEqual(o.list());
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThan(ranges[i - 1][1]);
    expect(lohi(d, d.cached32_node)).toEqual([o.cached32.lo, o.cached32.hi]);
    expect(lohi(d, d.cached_node)).toEqual([o.cached.lo, o.cached.hi]);
    expect(d.max32_alloc_size).toBe(o.max32);
    d.tree.validate();
  }
}

describe('alloc_iova, free_iova and reserve_iova against the oracle', () => {
  it('agree on every result, range list, cached node and max32_alloc_size', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => runAgainstOracle(ops, false)),
      { numRuns: 250 },
    );
  });

  it('agree without the max32 shortcut too', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => runAgainstOracle(ops, true)),
      { numRuns: 100 },
    );
  });

  it('free makes space reusable: after a fill to failure, a freed range of size s takes an s again', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 60 }),
        fc.constantFrom(D32 - 1, D32 + 150),
        fc.boolean(),
        fc.nat(),
        (sizes, limit, aligned, pick) => {
          const d = init_iova_domain(4096, S);
          const got: Iova[] = [];
          for (let i = 0; ; i++) {
            const a = alloc_iova(d, sizes[i % sizes.length], limit, aligned);
            if (a === null) break;
            got.push(a);
          }
          const victim = got[pick % got.length];
          const [lo, hi] = range(d, victim)!;
          __free_iova(d, victim);
          const again = alloc_iova(d, hi - lo + 1, limit, aligned);
          expect(again).not.toBeNull();
          expect(iova_pfn_hi(d, again!)).toBeLessThanOrEqual(limit);
          d.tree.validate();
        },
      ),
      { numRuns: 150 },
    );
  });
});
