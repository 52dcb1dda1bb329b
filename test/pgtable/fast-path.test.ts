// SPDX-License-Identifier: GPL-2.0-only
// The generated fast path (src/pgtable/fast-path.ts) against the data-driven
// engine it short-cuts: two tables of the same format and cfg, one with the
// fast path and one without, get the same random operations (maps over
// tables and leaves, unaligned and out-of-range arguments, partial block
// unmaps, allocation failures, corrupted descriptors) and must agree on
// every result, every WARN, every flush callback and every byte of table
// memory. Counters on the fast path show that it did handle most calls, so
// the comparison is not between two runs of the engine.
import { firstRegionWords } from '../support/pool-words.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PageTable, PgtableCfg, PgtableFormatName } from '../../src/pgtable/index.js';
import {
  IOMMU_CACHE,
  IOMMU_PRIV,
  IOMMU_READ,
  IOMMU_WRITE,
  createPageTable,
  pgtableFormatNames,
  pgtableFormats,
} from '../../src/pgtable/index.js';
import type { FastPath } from '../../src/pgtable/fast-path.js';
import { FAST_FALLBACK, fastPathEligible } from '../../src/pgtable/fast-path.js';
import type { WasmPath } from '../../src/pgtable/wasm-path.js';

const RW = IOMMU_READ | IOMMU_WRITE;

/** Every cfg of every format the engine drives itself. */
const cases: [PgtableFormatName, PgtableCfg][] = pgtableFormatNames
  .flatMap((name) =>
    [{}, ...pgtableFormats[name].variants].map((cfg): [PgtableFormatName, PgtableCfg] => [name, cfg]),
  )
  .filter(([name, cfg]) => fastPathEligible(createPageTable(name, cfg).f));

interface Pair {
  fast: PageTable;
  slow: PageTable;
  /** Calls the fast path handled, by kind. */
  hits: { map: number; unmap: number; walk: number };
  logs: [string[], string[]];
  /** Per table: allocations until one fails (0: none will). */
  failIn: [number, number];
}

function makePair(name: PgtableFormatName, cfg: PgtableCfg, kind: 'js' | 'wasm'): Pair {
  const logs: [string[], string[]] = [[], []];
  const failIn: [number, number] = [0, 0];
  const table = (i: 0 | 1) => {
    const log = logs[i];
    const t = createPageTable(name, {
      ...cfg,
      fastPath: i === 0 ? kind : false,
      tlb: {
        tlb_flush_all: () => log.push('all'),
        tlb_flush_walk: (iova, size, granule) => log.push(`walk ${iova} ${size} ${granule}`),
        tlb_add_page: (iova, granule) => log.push(`page ${iova} ${granule}`),
      },
      warn: (w) => log.push(`WARN ${w.site}: ${w.message}`),
    });
    t.memory.shouldFail = () => failIn[i] > 0 && --failIn[i] === 0;
    return t;
  };
  const fast = table(0);
  const slow = table(1);
  const hits = { map: 0, unmap: 0, walk: 0 };
  const inner = fast as unknown as { fast: FastPath | null; wasm: WasmPath | null };
  expect(kind === 'js' ? inner.fast : inner.wasm).not.toBeNull();
  expect(kind === 'js' ? inner.wasm : inner.fast).toBeNull();
  const bare = slow as unknown as { fast: FastPath | null; wasm: WasmPath | null };
  expect([bare.fast, bare.wasm]).toEqual([null, null]);
  const fp = inner.fast;
  if (fp !== null) {
    const { map, unmap, iovaToPhys } = fp;
    fp.map = (...a) => {
      const r = map(...a);
      if (r !== FAST_FALLBACK) hits.map++;
      return r;
    };
    fp.unmap = (...a) => {
      const r = unmap(...a);
      if (r >= 0) hits.unmap++;
      return r;
    };
    fp.iovaToPhys = (a) => {
      const r = iovaToPhys(a);
      if (r) hits.walk++;
      return r;
    };
  }
  const wp = inner.wasm;
  if (wp !== null) {
    const { map, unmap, walk } = wp;
    inner.wasm = {
      map: (...a) => {
        const r = map(...a);
        if (r >= 0) hits.map++;
        return r;
      },
      unmap: (...a) => {
        const r = unmap(...a);
        if (r >= 0) hits.unmap++;
        return r;
      },
      walk: (...a) => {
        const r = walk(...a);
        if (r >= 0) hits.walk++;
        return r;
      },
    };
  }
  return { fast, slow, hits, logs, failIn };
}

/** Both tables' memory, byte for byte, as one string per region. */
const memoryOf = (t: PageTable) =>
  t.memory
    .regions()
    .map((r) => Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength).toString('hex'));

function opsFor(t: PageTable) {
  const sizes = t.layout.pgsizes.filter((s) => s <= 2 ** 30);
  const per = t.layout.levels[t.layout.levels.length - 1].entriesPerPage;
  const k = fc.constantFrom(0, 1, 2, per - 1, per, per + 1);
  const count = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(1, 1, 2, 3) },
    { weight: 1, arbitrary: fc.constantFrom(0, per - 1, per + 1, -1, 1.5) },
  );
  const s = fc.integer({ min: 0, max: sizes.length - 1 });
  const r = fc.integer({ min: 0, max: 2 });
  // Mostly good addresses; sometimes unaligned, non-integer, negative or past the IOVA space.
  const skew = fc.oneof(
    { weight: 10, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.constantFrom(8, 0.5, -4096, 2 ** 52) },
  );
  const prot = fc.constantFrom(
    RW,
    IOMMU_READ,
    IOMMU_WRITE,
    RW | IOMMU_CACHE,
    RW | IOMMU_PRIV,
    IOMMU_CACHE,
    0,
  );
  return {
    sizes,
    op: fc.oneof(
      { weight: 6, arbitrary: fc.record({ op: fc.constant('map' as const), r, k, s, count, prot, skew }) },
      { weight: 5, arbitrary: fc.record({ op: fc.constant('unmap' as const), r, k, s, count, skew }) },
      // A map and the unmap of what it mapped, as a DMA mapping's life goes.
      { weight: 3, arbitrary: fc.record({ op: fc.constant('cycle' as const), r, k, s, count, prot, skew }) },
      { weight: 4, arbitrary: fc.record({ op: fc.constant('walk' as const), r, k, s, skew }) },
      {
        weight: 1,
        arbitrary: fc.record({ op: fc.constant('fail' as const), n: fc.integer({ min: 1, max: 3 }) }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          op: fc.constant('corrupt' as const),
          word: fc.nat(),
          value: fc.integer({ min: -2147483648, max: 2147483647 }),
        }),
      },
    ),
  };
}

/** Every case with each fast path: the generated JavaScript and the generated WebAssembly. */
const kinds = cases.flatMap(([name, cfg]) => (['js', 'wasm'] as const).map((k) => [k, name, cfg] as const));

describe.each(kinds)('%s fast path of %s %o', (kind, name, cfg) => {
  it('agrees with the data-driven engine on random operations, byte for byte', () => {
    const { sizes, op } = opsFor(createPageTable(name, cfg));
    const total = { map: 0, unmap: 0, walk: 0 };
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        const p = makePair(name, cfg, kind);
        const top = sizes[sizes.length - 1];
        // Leaf tables in place around each region's first entries, so that maps find their tables.
        const per = p.fast.layout.levels[p.fast.layout.levels.length - 1].entriesPerPage;
        for (const t of [p.fast, p.slow])
          for (let r = 0; r < 3; r++)
            for (const k of [3, per + 2])
              expect(t.mapPages(r * top + k * sizes[0], 0, sizes[0], 1, RW).errno).toBe(0);
        for (const o of ops) {
          if (o.op === 'fail') {
            // The n-th allocation from now fails, in both.
            p.failIn[0] = p.failIn[1] = o.n;
            continue;
          }
          if (o.op === 'corrupt') {
            // The same word of the pool written in both: a descriptor the kernel would follow blindly.
            const words = p.fast.memory.regions()[0].bytes.byteLength >> 2;
            const used = Math.min(words, (p.fast.memory.liveBytes >> 2) + 1024);
            const at = o.word % used;
            for (const t of [p.fast, p.slow]) firstRegionWords(t.memory)[at] = o.value;
            continue;
          }
          const size = sizes[o.s];
          const iova = o.r * top + o.k * size + o.skew;
          if (o.op === 'map' || o.op === 'cycle') {
            const pa = (((o.r + 1) * 2 ** 30 + o.k * size) % 2 ** p.fast.cfg.oas) + (o.skew === 8 ? 8 : 0);
            const res = p.fast.mapPages(iova, pa, size, o.count, o.prot);
            expect(res).toEqual(p.slow.mapPages(iova, pa, size, o.count, o.prot));
            if (o.op === 'cycle' && res.mapped > 0)
              expect(p.fast.unmapPages(iova, size, res.mapped / size)).toBe(
                p.slow.unmapPages(iova, size, res.mapped / size),
              );
          } else if (o.op === 'unmap') {
            expect(p.fast.unmapPages(iova, size, o.count)).toBe(p.slow.unmapPages(iova, size, o.count));
          }
          for (const x of [iova, iova + 4095, iova + size - 1, iova + size])
            expect(p.fast.iovaToPhys(x)).toBe(p.slow.iovaToPhys(x));
          expect(p.logs[0]).toEqual(p.logs[1]);
          expect(p.fast.tableCount).toBe(p.slow.tableCount);
        }
        expect(memoryOf(p.fast)).toEqual(memoryOf(p.slow));
        expect(p.fast.memory.liveAllocations).toBe(p.slow.memory.liveAllocations);
        total.map += p.hits.map;
        total.unmap += p.hits.unmap;
        total.walk += p.hits.walk;
      }),
      { numRuns: 40 },
    );
    // The fast path handled calls of every kind, not only the engine behind it.
    expect(total.map).toBeGreaterThan(0);
    expect(total.unmap).toBeGreaterThan(0);
    expect(total.walk).toBeGreaterThan(200);
  });

  it('handles the bench loop itself: consecutive 4K-granule maps, walks and unmaps', () => {
    const p = makePair(name, cfg, kind);
    const g = p.fast.cfg.granule;
    const pa = p.fast.cfg.oas > 40 ? 0x80_0000_0000 : 0x8000_0000;
    const out = { mapped: 0 };
    // The first map of a table page allocates (the engine's part); the rest are the fast path's.
    for (let i = 0; i < 600; i++) expect(p.fast.mapPagesTo(out, i * g, pa + i * g, g, 1, RW)).toBe(0);
    for (let i = 0; i < 600; i++) expect(p.fast.iovaToPhys(i * g + 8)).toBe(pa + i * g + 8);
    for (let i = 0; i < 600; i++) expect(p.fast.unmapPages(i * g, g, 1)).toBe(g);
    expect(out.mapped).toBe(600 * g);
    expect(p.fast.iovaToPhys(0)).toBe(0);
    expect(p.hits.map).toBeGreaterThanOrEqual(597);
    expect(p.hits.walk).toBe(601);
    expect(p.hits.unmap).toBe(600);
  });

  it("a table descriptor pointing below the pool, or at a live block smaller than a table at the pool's end, is left to the engine", () => {
    const p = makePair(name, cfg, kind);
    const g = p.fast.cfg.granule;
    // The last table descriptor on the walk of IOVA 0, by its word in each pool.
    const at = [p.fast, p.slow].map((t) => {
      expect(t.mapPages(0, 0, g, 2, RW).errno).toBe(0);
      const steps = t.walkTrace(0).steps;
      return (steps[steps.length - 2].pteAddress - t.memory.base) >> 2;
    });
    const point = (to: (t: PageTable) => number) =>
      [p.fast, p.slow].forEach((t, i) => {
        const words = firstRegionWords(t.memory);
        // Keep the type bits, replace the address bits (4K aligned pointers only here).
        words[at[i]] = (words[at[i]] & 0xfff) | (to(t) & ~0xfff);
        words[at[i] + 1] = Math.floor(to(t) / 2 ** 32);
      });
    point((t) => t.memory.base - 0x10_0000);
    for (const x of [0, g, g + 8]) expect(p.fast.iovaToPhys(x)).toBe(p.slow.iovaToPhys(x));
    expect(p.fast.mapPages(2 * g, 0, g, 1, RW)).toEqual(p.slow.mapPages(2 * g, 0, g, 1, RW));
    expect(p.fast.unmapPages(0, g, 1)).toBe(p.slow.unmapPages(0, g, 1));
    // A page allocated at the very end of the pool, as a smaller table of another format sharing the
    // memory would be: a granule's table read from there runs past the pool's end (for 16K and 64K).
    const end = [p.fast, p.slow].map((t) => {
      const last = t.memory.base + t.memory.poolBytes - 4096;
      for (let a = t.memory.alloc(4096); a !== last; a = t.memory.alloc(4096)) expect(a).toBeLessThan(last);
      return last;
    });
    expect(end[0]).toBe(end[1]);
    point(() => end[0]);
    const per = p.fast.layout.levels[p.fast.layout.levels.length - 1].entriesPerPage;
    for (const x of [0, g, (per - 1) * g, (per - 1) * g + 8])
      expect(p.fast.iovaToPhys(x)).toBe(p.slow.iovaToPhys(x));
    expect(p.fast.mapPages((per - 1) * g, 0, g, 1, RW)).toEqual(p.slow.mapPages((per - 1) * g, 0, g, 1, RW));
    expect(p.fast.unmapPages((per - 2) * g, g, 1)).toBe(p.slow.unmapPages((per - 2) * g, g, 1));
    expect(p.logs[0]).toEqual(p.logs[1]);
    expect(memoryOf(p.fast)).toEqual(memoryOf(p.slow));
  });

  it('arguments that are not integers in range go to the engine, with its answers', () => {
    const p = makePair(name, cfg, kind);
    const g = p.fast.cfg.granule;
    for (const t of [p.fast, p.slow]) expect(t.mapPages(0, 0x1000_0000, g, 4, RW).errno).toBe(0);
    const before = { ...p.hits };
    for (const x of [NaN, Infinity, -Infinity, -0, -g, 0.5, g + 0.25, 2 ** 53, 2 ** 64])
      expect(p.fast.iovaToPhys(x)).toBe(p.slow.iovaToPhys(x));
    for (const [iova, pa, count, prot] of [
      [NaN, 0, 1, RW],
      [4 * g, NaN, 1, RW],
      [4 * g, -g, 1, RW],
      [4 * g, 0.5, 1, RW],
      [4 * g, 0, 2 ** 32, RW],
      [4 * g, 0, -1, RW],
      [4 * g, 0, 1.5, RW],
      [4 * g, 0, NaN, RW],
      [4 * g, 0, 1, 0],
      [-0, 0, 1, RW],
    ])
      expect(p.fast.mapPages(iova, pa, g, count, prot)).toEqual(p.slow.mapPages(iova, pa, g, count, prot));
    for (const [iova, count] of [
      [0, 0],
      [0, -1],
      [0, 1.5],
      [0, NaN],
      [g, 2 ** 32],
      [NaN, 1],
      [-0, 1],
    ])
      expect(p.fast.unmapPages(iova, g, count)).toBe(p.slow.unmapPages(iova, g, count));
    expect(p.logs[0]).toEqual(p.logs[1]);
    expect(memoryOf(p.fast)).toEqual(memoryOf(p.slow));
    // -0 is an integer in range: the fast path took it (one walk, the map and the unmap of IOVA 0).
    expect(p.hits.walk - before.walk).toBe(1);
  });

  it('a table descriptor pointing where no table starts is refused the same way by both', () => {
    const p = makePair(name, cfg, kind);
    const g = p.fast.cfg.granule;
    for (const t of [p.fast, p.slow]) {
      expect(t.mapPages(0, 0, g, 2, RW).errno).toBe(0);
      // The last table descriptor on the walk now points 1 MiB further on: pool memory where no table starts.
      const steps = t.walkTrace(0).steps;
      const step = steps[steps.length - 2];
      const words = firstRegionWords(t.memory);
      const at = (step.pteAddress - t.memory.base) >> 2;
      words[at] += 1 << 20;
    }
    for (const x of [0, g, g + 8]) expect(p.fast.iovaToPhys(x)).toBe(0);
    expect(p.fast.iovaToPhys(g)).toBe(p.slow.iovaToPhys(g));
    expect(p.fast.mapPages(2 * g, 0, g, 1, RW)).toEqual(p.slow.mapPages(2 * g, 0, g, 1, RW));
    expect(p.fast.unmapPages(0, g, 1)).toBe(p.slow.unmapPages(0, g, 1));
    expect(p.logs[0]).toEqual(p.logs[1]);
    expect(p.logs[0].filter((l) => l.includes('not a table descriptor'))).toHaveLength(2);
    expect(memoryOf(p.fast)).toEqual(memoryOf(p.slow));
  });
});
