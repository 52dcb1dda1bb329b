// SPDX-License-Identifier: GPL-2.0-only
// The IOVA range caches (src/dma/iova-rcache.ts, iova-magazine.ts) against
// drivers/iommu/iova.c (6.12): alloc_iova_fast()/free_iova_fast() through the
// per-CPU loaded/prev magazines and the depot, the depot's delayed trim, the
// flush-and-retry on failure, CPU hot-unplug, and allocation failures.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  find_iova,
  init_iova_domain,
  iova_pfn_lo,
  iova_size,
  put_iova_domain,
  roundup_pow_of_two,
  type IovaDomain,
  type IovaDomainOptions,
} from '../../src/dma/iova.js';
import {
  alloc_iova_fast,
  free_iova_fast,
  iova_cpuhp_dead,
  iova_depot_run_work,
  iova_domain_init_rcaches,
  iova_rcache_range,
} from '../../src/dma/iova-rcache.js';
import {
  IOVA_MAG_SIZE,
  IOVA_RANGE_CACHE_MAX_SIZE,
  IovaRcaches,
  fill_iova_rcaches,
  type IovaMemType,
} from '../../src/dma/iova-magazine.js';

const D32 = 0x10_0000;
const LIM = D32 - 1;

function domain(start = 1, opts: IovaDomainOptions = {}): IovaDomain {
  const d = init_iova_domain(4096, start, opts);
  expect(iova_domain_init_rcaches(d)).toBe(0);
  return d;
}

/** Sizes of this cpu's loaded and prev magazines for an order. */
function mags(d: IovaDomain, order: number, cpu = 0): [number, number] {
  const rc = d.rcaches!;
  const k = order * rc.nrCpus + cpu;
  return [rc.size(rc.loaded[k]), rc.size(rc.prev[k])];
}

/** pfns held in every magazine and depot of the domain. */
function cachedCount(d: IovaDomain): number {
  const rc = d.rcaches!;
  let n = 0;
  for (let r = 0; r < IOVA_RANGE_CACHE_MAX_SIZE; r++) {
    for (let c = 0; c < rc.nrCpus; c++)
      n += rc.size(rc.loaded[r * rc.nrCpus + c]) + rc.size(rc.prev[r * rc.nrCpus + c]);
    n += rc.depot_size[r] * IOVA_MAG_SIZE;
  }
  return n;
}

describe('alloc_iova_fast / free_iova_fast', () => {
  it('gives a freed range back from the magazine, newest first, without searching the tree', () => {
    const d = domain();
    const p = [0, 1, 2].map(() => alloc_iova_fast(d, 1, LIM, true));
    expect(p).toEqual([0xfffff, 0xffffe, 0xffffd]);
    for (const x of p) free_iova_fast(d, x, 1);
    expect(d.nr_iovas).toBe(3); // cached ranges stay allocated in the tree
    expect(mags(d, 0)).toEqual([3, 0]);
    const steps = d.search_steps;
    expect([0, 1, 2].map(() => alloc_iova_fast(d, 1, LIM, true))).toEqual([0xffffd, 0xffffe, 0xfffff]);
    expect(d.search_steps).toBe(steps);
    expect(mags(d, 0)).toEqual([0, 0]);
  });

  it('rounds sizes under 32 up to a power of two, aligned; larger ones are neither rounded nor cached', () => {
    const d = domain();
    const a = alloc_iova_fast(d, 3, LIM, false);
    expect(a).toBe(0xffffc);
    expect(iova_size(d, find_iova(d, a)!)).toBe(4);
    const b = alloc_iova_fast(d, 17, LIM, false);
    expect(iova_size(d, find_iova(d, b)!)).toBe(32);
    expect(b % 32).toBe(0);
    const c = alloc_iova_fast(d, 33, LIM, false);
    expect(iova_size(d, find_iova(d, c)!)).toBe(33);
    expect(c % 64).toBe(0);
    free_iova_fast(d, c, 33); // order 6: straight to the tree
    expect(find_iova(d, c)).toBeNull();
    free_iova_fast(d, b, 17); // order 5: cached
    expect(find_iova(d, b)).not.toBeNull();
    expect(mags(d, 5)).toEqual([1, 0]);
    free_iova_fast(d, a, 3);
    expect(mags(d, 2)).toEqual([1, 0]);
    expect(alloc_iova_fast(d, 4, LIM, false)).toBe(a);
    expect(iova_rcache_range()).toBe(128 * 1024);
  });

  it('takes the newest cached pfn under the limit, filling its slot with the top one (iova_magazine_pop)', () => {
    const d = domain();
    const hi1 = alloc_iova_fast(d, 1, LIM, false);
    const hi2 = alloc_iova_fast(d, 1, LIM, false);
    const lo = alloc_iova_fast(d, 1, 0x7ffff, false);
    expect([hi1, hi2, lo]).toEqual([0xfffff, 0xffffe, 0x7ffff]);
    for (const x of [hi1, lo, hi2]) free_iova_fast(d, x, 1);
    expect(alloc_iova_fast(d, 1, 0x7ffff, false)).toBe(lo);
    expect(d.rcaches!.pfns(d.rcaches!.loaded[0])).toEqual([hi1, hi2]);
    // Nothing cached fits under 0x7fffe: the tree gives a fresh range, the cache keeps its two.
    expect(alloc_iova_fast(d, 1, 0x7fffe, false)).toBe(0x7fffe);
    expect(mags(d, 0)).toEqual([2, 0]);
  });

  it('checks the whole cached range against the limit, not just its first pfn', () => {
    const d = domain();
    const a = alloc_iova_fast(d, 4, LIM, false);
    expect(a).toBe(0xffffc);
    free_iova_fast(d, a, 4);
    // [0xffffc, 0xfffff] ends above 0xffffe: iova_rcache_get asks for pfn <= limit + 1 - size.
    expect(alloc_iova_fast(d, 4, 0xffffe, false)).toBe(0xffff8);
    expect(mags(d, 2)).toEqual([1, 0]);
    expect(alloc_iova_fast(d, 4, 0xfffff, false)).toBe(a);
  });

  it('keeps caches per CPU', () => {
    const d = domain(1, { nrCpus: 2 });
    const x = alloc_iova_fast(d, 2, LIM, false, 1);
    free_iova_fast(d, x, 2, 1);
    expect(mags(d, 1, 1)).toEqual([1, 0]);
    expect(alloc_iova_fast(d, 2, LIM, false, 0)).not.toBe(x);
    expect(alloc_iova_fast(d, 2, LIM, false, 1)).toBe(x);
    expect(() => alloc_iova_fast(d, 1, LIM, false, 2)).toThrow(RangeError);
  });

  it('swaps loaded and prev, then moves full magazines to the depot and takes them back', () => {
    const d = domain(1, { nrCpus: 2 });
    const rc = d.rcaches!;
    const base = rc.magLive;
    expect(base).toBe(IOVA_RANGE_CACHE_MAX_SIZE * 2 * 2);
    const n = 2 * IOVA_MAG_SIZE + 1;
    const pfns: number[] = [];
    for (let i = 0; i < n; i++) pfns.push(alloc_iova_fast(d, 1, LIM, false));
    for (let i = 0; i < IOVA_MAG_SIZE; i++) free_iova_fast(d, pfns[i], 1);
    expect(mags(d, 0)).toEqual([IOVA_MAG_SIZE, 0]);
    free_iova_fast(d, pfns[IOVA_MAG_SIZE], 1); // loaded full: swap with the empty prev
    expect(mags(d, 0)).toEqual([1, IOVA_MAG_SIZE]);
    for (let i = IOVA_MAG_SIZE + 1; i < n - 1; i++) free_iova_fast(d, pfns[i], 1);
    expect(mags(d, 0)).toEqual([IOVA_MAG_SIZE, IOVA_MAG_SIZE]);
    expect(rc.depot_size[0]).toBe(0);
    free_iova_fast(d, pfns[n - 1], 1); // both full: loaded goes to the depot
    expect(mags(d, 0)).toEqual([1, IOVA_MAG_SIZE]);
    expect(rc.depot_size[0]).toBe(1);
    expect(rc.workPending[0]).toBe(1);
    expect(rc.magLive).toBe(base + 1);
    expect(d.nr_iovas).toBe(n);
    // Back out: loaded (1), then prev swapped in (127), then the depot's magazine.
    expect(alloc_iova_fast(d, 1, LIM, false)).toBe(pfns[n - 1]);
    for (let i = 0; i < IOVA_MAG_SIZE; i++) alloc_iova_fast(d, 1, LIM, false);
    expect(mags(d, 0)).toEqual([0, 0]);
    expect(rc.depot_size[0]).toBe(1);
    expect(alloc_iova_fast(d, 1, LIM, false)).toBe(pfns[2 * IOVA_MAG_SIZE - 1]);
    expect(rc.depot_size[0]).toBe(0);
    expect(mags(d, 0)).toEqual([IOVA_MAG_SIZE - 1, 0]);
    expect(rc.magLive).toBe(base); // the empty loaded magazine was freed
  });

  it('trims the depot to the number of online CPUs, one magazine per delayed-work run', () => {
    const d = domain(1, { nrCpus: 1 });
    const rc = d.rcaches!;
    // 127 fill loaded, 127 more go to prev after a swap, each further 127 push
    // a full loaded to the depot: 3 * 127 + 1 frees leave 2 there.
    const n = 3 * IOVA_MAG_SIZE + 1;
    const pfns: number[] = [];
    for (let i = 0; i < n; i++) pfns.push(alloc_iova_fast(d, 1, LIM, false));
    for (const p of pfns) free_iova_fast(d, p, 1);
    expect(rc.depot_size[0]).toBe(2);
    expect(d.nr_iovas).toBe(n);
    expect(iova_depot_run_work(d)).toBe(1);
    expect(rc.depot_size[0]).toBe(1);
    expect(d.nr_iovas).toBe(n - IOVA_MAG_SIZE);
    // The newest depot magazine (frees 255..381) went back to the tree.
    expect(find_iova(d, pfns[2 * IOVA_MAG_SIZE])).toBeNull();
    expect(find_iova(d, pfns[IOVA_MAG_SIZE])).not.toBeNull();
    expect(iova_depot_run_work(d)).toBe(1); // rescheduled; 1 is not above 1 CPU
    expect(rc.depot_size[0]).toBe(1);
    expect(iova_depot_run_work(d)).toBe(0);
  });

  it('flushes every CPU cache and the depots and retries once when the tree is full', () => {
    const d = domain(D32 - 8, { nrCpus: 2 });
    const held = Array.from({ length: 8 }, () => alloc_iova_fast(d, 1, LIM, false, 0));
    expect(new Set(held).size).toBe(8);
    for (const p of held) free_iova_fast(d, p, 1, 1); // all cached on CPU 1
    expect(alloc_iova_fast(d, 1, LIM, false, 0)).toBe(0);
    const got = alloc_iova_fast(d, 1, LIM, true, 0);
    expect(held).toContain(got);
    expect(mags(d, 0, 1)).toEqual([0, 0]);
    expect(d.nr_iovas).toBe(1);
  });

  it('iova_cpuhp_dead gives a dead CPU’s cached ranges back to the tree', () => {
    const d = domain(1, { nrCpus: 2 });
    const a = alloc_iova_fast(d, 8, LIM, false, 1);
    free_iova_fast(d, a, 8, 1);
    expect(find_iova(d, a)).not.toBeNull();
    expect(iova_cpuhp_dead(d, 1)).toBe(0);
    expect(find_iova(d, a)).toBeNull();
    expect(mags(d, 3, 1)).toEqual([0, 0]);
  });

  it('put_iova_domain frees every magazine and node', () => {
    const d = domain(1, { nrCpus: 2 });
    const rc = d.rcaches!;
    const held = Array.from({ length: 700 }, (_, i) => alloc_iova_fast(d, 1, LIM, false, i % 2));
    held.forEach((p, i) => free_iova_fast(d, p, 1, i % 2));
    expect(rc.depot_size.some((x) => x > 0)).toBe(true);
    put_iova_domain(d);
    expect(rc.magLive).toBe(0);
    expect(d.rcaches).toBeNull();
    expect(d.tree.live).toBe(0);
  });
});

describe('allocation failures', () => {
  it('iova_domain_init_rcaches: each allocation failing in turn gives -ENOMEM and leaves nothing', () => {
    const nrCpus = 2;
    // kcalloc, then per size: the per-CPU area and two magazines per CPU
    const total = 1 + IOVA_RANGE_CACHE_MAX_SIZE * (1 + 2 * nrCpus);
    for (let nth = 1; nth <= total + 1; nth++) {
      let calls = 0;
      const d = init_iova_domain(4096, 1, { nrCpus, failAlloc: () => ++calls === nth });
      const ret = iova_domain_init_rcaches(d);
      // Failing a loaded magazine still tries prev; anything else stops at the failure.
      expect(calls).toBeGreaterThanOrEqual(Math.min(nth, total));
      expect(calls).toBeLessThanOrEqual(nth <= total ? nth + 1 : total);
      expect(ret).toBe(nth <= total ? -12 : 0);
      expect(d.rcaches === null).toBe(nth <= total);
      // The same failure on caches we can look into afterwards: nothing stays allocated.
      if (nth > 1 && nth <= total) {
        let c = 1; // the kcalloc
        const rc = new IovaRcaches(nrCpus);
        expect(fill_iova_rcaches(rc, () => ++c === nth)).toBe(false);
        expect(rc.magLive).toBe(0);
      }
    }
  });

  it('free_iova_fast frees to the tree when the depot needs a magazine it cannot get', () => {
    let failMag = false;
    const d = domain(1, { failAlloc: (w: IovaMemType) => failMag && w === 'iova_magazine' });
    const pfns = Array.from({ length: 2 * IOVA_MAG_SIZE + 1 }, () => alloc_iova_fast(d, 1, LIM, false));
    for (let i = 0; i < 2 * IOVA_MAG_SIZE; i++) free_iova_fast(d, pfns[i], 1);
    failMag = true;
    free_iova_fast(d, pfns[2 * IOVA_MAG_SIZE], 1);
    expect(find_iova(d, pfns[2 * IOVA_MAG_SIZE])).toBeNull();
    expect(d.rcaches!.depot_size[0]).toBe(0);
  });

  it('alloc_iova_fast returns 0 when the iova node cannot be allocated', () => {
    let failIova = false;
    const d = domain(1, { failAlloc: (w: IovaMemType) => failIova && w === 'iova' });
    failIova = true;
    expect(alloc_iova_fast(d, 1, LIM, true)).toBe(0);
    failIova = false;
    expect(alloc_iova_fast(d, 1, LIM, true)).toBe(0xfffff);
  });

  it('needs the rcaches (the kernel dereferences them)', () => {
    const d = init_iova_domain(4096, 1);
    expect(() => alloc_iova_fast(d, 1, LIM, false)).toThrow(/no rcaches/);
  });
});

describe('rcache properties', () => {
  type Op =
    | { kind: 'alloc'; size: number; limit: number; cpu: number }
    | { kind: 'free'; pick: number; cpu: number }
    | { kind: 'cycle'; pick: number; cpu: number }
    | { kind: 'work' };
  const S = D32 - 600;
  const LIMITS = [LIM, D32 - 200, D32 + 300];
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('alloc' as const),
        size: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 40 })),
        limit: fc.constantFrom(...LIMITS),
        cpu: fc.integer({ min: 0, max: 2 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('free' as const),
        pick: fc.nat(),
        cpu: fc.integer({ min: 0, max: 2 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('cycle' as const),
        pick: fc.nat(),
        cpu: fc.integer({ min: 0, max: 2 }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'work' as const }) },
  );

  it('hands out disjoint ranges inside the limits, each backed by a tree iova, and a just-freed size comes straight back', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 300 }), (ops) => {
        const d = domain(S, { nrCpus: 3 });
        const held: { pfn: number; size: number; limit: number }[] = [];
        for (const op of ops) {
          if (op.kind === 'alloc') {
            const pfn = alloc_iova_fast(d, op.size, op.limit, true, op.cpu);
            if (pfn === 0) continue;
            held.push({ pfn, size: op.size, limit: op.limit });
          } else if (op.kind === 'free' || op.kind === 'cycle') {
            if (held.length === 0) continue;
            const [h] = held.splice(op.pick % held.length, 1);
            free_iova_fast(d, h.pfn, h.size, op.cpu);
            if (op.kind === 'cycle') {
              const again = alloc_iova_fast(d, h.size, h.limit, true, op.cpu);
              // Cacheable orders come back from this CPU's magazine; larger ones were freed to the tree.
              if (h.size <= 32) expect(again).toBe(h.pfn);
              else expect(again).not.toBe(0);
              held.push({ pfn: again, size: h.size, limit: h.limit });
            }
          } else iova_depot_run_work(d);
          // Invariants
          const spans = held
            .map((h) => ({ ...h, len: h.size < 32 ? roundup_pow_of_two(h.size) : h.size }))
            .sort((a, b) => a.pfn - b.pfn);
          for (let i = 0; i < spans.length; i++) {
            const s = spans[i];
            expect(s.pfn).toBeGreaterThanOrEqual(S);
            expect(s.pfn + s.len - 1).toBeLessThanOrEqual(s.limit);
            if (i > 0) expect(s.pfn).toBeGreaterThan(spans[i - 1].pfn + spans[i - 1].len - 1);
            const node = find_iova(d, s.pfn)!;
            expect(iova_pfn_lo(d, node)).toBe(s.pfn);
            expect(iova_size(d, node)).toBe(s.len);
          }
          expect(d.nr_iovas).toBe(held.length + cachedCount(d));
          d.tree.validate();
        }
      }),
      { numRuns: 60 },
    );
  });
});
