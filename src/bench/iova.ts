// SPDX-License-Identifier: GPL-2.0-only
/**
 * The `iova` benchmark section: the IOVA allocator of src/dma/iova.ts and its
 * range caches (src/dma/iova-rcache.ts) under a steady load of n live
 * mappings, n from 1k to 1M. Each measured op frees the oldest mapping and
 * maps a new one (a ring of DMA buffers), so the live count stays at n:
 *   - rcache: alloc_iova_fast/free_iova_fast of 1 pfn, every alloc a magazine hit;
 *   - tree:   the same API with 64 pfns (order 6, never cached): every op
 *             searches, inserts and erases in the rbtree;
 *   - tree, alloc_iova: alloc_iova/free_iova of 1 pfn, no caches at all.
 * (A random free order is left out on purpose: the kernel's search is first
 * fit down from the cached node, so refilling a hole far below it walks every
 * node in between; that is what the rcache is there to avoid.)
 * The target is a flat time per op (1M within 1.5x of 1k) and no allocation
 * per op; the heap column is the heap growth per op over the measured loop.
 *
 * Then the 32-bit failure case: n pfns below 4G are all taken and a 32-bit
 * allocation fails over and over, with the max32_alloc_size shortcut (6.12)
 * and without it (`noMax32Shortcut`, the kernels before bee60e94a1e2): O(1)
 * against O(n) per failure.
 *
 * Not a test: numbers depend on the machine. Run through the bench runner
 * (npm run bench) or directly: `node dist/bench/iova.js [--quick]`.
 */

import { alloc_iova, free_iova, init_iova_domain, type IovaDomain } from '../dma/iova.js';
import { alloc_iova_fast, free_iova_fast, iova_domain_init_rcaches } from '../dma/iova-rcache.js';

export type Print = (line: string) => void;

export interface IovaBenchOptions {
  /** Live-mapping counts to measure (default 1k, 10k, 100k, 1M). */
  sizes?: number[];
  /** Minimum measured time per figure, in ms (default 300). */
  minMs?: number;
}

/** A 48-bit DMA mask at a 4 KiB granule. */
const LIMIT64 = 2 ** 36 - 1;

interface Figure {
  nsPerOp: number;
  heapPerOp: number;
}

/** Runs `step` in rounds of `batch` until minMs have passed; ns and heap bytes per step. */
function measure(step: (i: number) => void, batch: number, minMs: number): Figure {
  // Warm up until the JIT has settled (at least one batch, at least 100 ms).
  const w0 = performance.now();
  let warm = 0;
  do {
    for (let i = 0; i < batch; i++) step(warm + i);
    warm += batch;
  } while (performance.now() - w0 < 100);
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  let ops = 0;
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < batch; i++) step(warm + ops + i);
    ops += batch;
    t = performance.now();
  }
  const heap1 = process.memoryUsage().heapUsed;
  return { nsPerOp: ((t - t0) * 1e6) / ops, heapPerOp: Math.max(0, heap1 - heap0) / ops };
}

function fastDomain(n: number): IovaDomain {
  const d = init_iova_domain(4096, 1, { initialCapacity: n + 1024 });
  if (iova_domain_init_rcaches(d) !== 0) throw new Error('iova_domain_init_rcaches failed');
  return d;
}

/** A ring of n live mappings of `size` pfns through the _fast API; each op frees the oldest and maps one. */
function ringFast(n: number, size: number, minMs: number): Figure {
  const d = fastDomain(n);
  const ring = new Float64Array(n);
  for (let i = 0; i < n; i++) ring[i] = alloc_iova_fast(d, size, LIMIT64, true);
  return measure(
    (i) => {
      const slot = i % n;
      free_iova_fast(d, ring[slot], size);
      const pfn = alloc_iova_fast(d, size, LIMIT64, true);
      if (pfn === 0) throw new Error('alloc_iova_fast failed');
      ring[slot] = pfn;
    },
    Math.min(n, 65536),
    minMs,
  );
}

/** The same ring with alloc_iova/free_iova of 1 pfn: the tree without the caches in front. */
function ringTree(n: number, minMs: number): Figure {
  const d = init_iova_domain(4096, 1, { initialCapacity: n + 1024 });
  const ring = new Float64Array(n);
  for (let i = 0; i < n; i++) ring[i] = d.tree.lo(alloc_iova(d, 1, LIMIT64, false)!);
  return measure(
    (i) => {
      const slot = i % n;
      free_iova(d, ring[slot]);
      const iova = alloc_iova(d, 1, LIMIT64, false);
      if (iova === null) throw new Error('alloc_iova failed');
      ring[slot] = d.tree.f64[4 * iova];
    },
    Math.min(n, 65536),
    minMs,
  );
}

/** n pfns below 4G all taken; ns and search steps per failing 32-bit alloc_iova. */
function fail32(n: number, noMax32Shortcut: boolean, minMs: number): Figure & { stepsPerOp: number } {
  const d = init_iova_domain(4096, 2 ** 20 - n, { noMax32Shortcut, initialCapacity: n + 16 });
  for (let i = 0; i < n; i++) alloc_iova(d, 1, 2 ** 20 - 1, false);
  let calls = 0;
  const s0 = d.search_steps;
  const f = measure(
    () => {
      calls++;
      if (alloc_iova(d, 1, 2 ** 20 - 1, false) !== null) throw new Error('32-bit space should be full');
    },
    noMax32Shortcut ? Math.max(1, Math.floor(2e6 / n)) : 65536,
    minMs,
  );
  return { ...f, stepsPerOp: (d.search_steps - s0) / calls };
}

function fmtN(n: number): string {
  return n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : `${n}`;
}

function cell(f: Figure, base: Figure): string {
  return `${f.nsPerOp.toFixed(0).padStart(6)} ns ${(f.nsPerOp / base.nsPerOp).toFixed(2)}x ${f.heapPerOp.toFixed(1).padStart(5)} B`;
}

export function runIovaBench(print: Print, opts: IovaBenchOptions = {}): void {
  const sizes = opts.sizes ?? [1e3, 1e4, 1e5, 1e6];
  const minMs = opts.minMs ?? 300;

  print('iova: free oldest + map one, n live (ns per op, ratio to the smallest n, heap growth per op)');
  print(
    `${'live'.padEnd(6)} | ${'rcache hit (1 pfn)'.padEnd(24)} | ${'tree (64 pfns, _fast)'.padEnd(24)} | ${'tree (1 pfn, alloc_iova)'.padEnd(24)}`,
  );
  let base: Figure[] | null = null;
  for (const n of sizes) {
    const row = [ringFast(n, 1, minMs), ringFast(n, 64, minMs), ringTree(n, minMs)];
    base ??= row;
    print(`${fmtN(n).padEnd(6)} | ${row.map((f, i) => cell(f, base![i]).padEnd(24)).join(' | ')}`);
  }

  print('');
  print('iova: a 32-bit alloc_iova that fails, n pfns below 4G all taken (ns and search steps per failure)');
  print(
    `${'live'.padEnd(6)} | ${'max32 shortcut (6.12)'.padEnd(26)} | ${'noMax32Shortcut (< v5.1)'.padEnd(26)}`,
  );
  for (const n of sizes) {
    const a = fail32(n, false, minMs);
    const b = fail32(n, true, minMs);
    const c = (f: Figure & { stepsPerOp: number }): string =>
      `${f.nsPerOp.toFixed(0).padStart(9)} ns ${f.stepsPerOp.toFixed(0).padStart(8)} steps`;
    print(`${fmtN(n).padEnd(6)} | ${c(a).padEnd(26)} | ${c(b).padEnd(26)}`);
  }
}

// Run directly: node dist/bench/iova.js [--quick]
if (process.argv[1] && /[\\/]bench[\\/]iova\.js$/.test(process.argv[1])) {
  const quick = process.argv.includes('--quick');
  runIovaBench((l) => console.log(l), quick ? { sizes: [1e3, 1e4, 1e5], minMs: 100 } : {});
}
