// SPDX-License-Identifier: GPL-2.0-only
/**
 * The scale section of `npm run bench`: generated SR-IOV platforms
 * (scale-platform.ts) of ~8k, ~100k and ~1M PCI functions booted to their
 * groups (PCI enumeration, driver core, IOMMU probe, a group and a default
 * domain per function), each in a fresh node process so that one size's
 * heap and JIT state do not weigh on the next, each size booted in several
 * rounds; prints per size the median boot time and its range, the CPU time,
 * the peak RSS and the heap the booted model keeps, per function too, and
 * the 1M/100k ratios (issue 8's target: at most 11x for 10x the functions).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bootPlatform } from '../platform/boot.js';
import { parsePlatform } from '../platform/load.js';
import type { ScalePlatformOptions } from './scale-platform.js';
import { scaleFunctionCount, scalePlatform } from './scale-platform.js';

export interface ScaleResult {
  readonly functions: number;
  readonly groups: number;
  readonly iommus: number;
  /** Generating and validating the platform description. */
  readonly describeMs: number;
  /** bootPlatform(): enumeration, probe, groups, default domains. */
  readonly bootMs: number;
  /** CPU time of the boot in the process's threads (the collector's helpers too): user and kernel. */
  readonly userMs: number;
  readonly sysMs: number;
  readonly peakRssBytes: number;
  /** The heap in use with the booted kernel held, after full collections: what the model keeps. */
  readonly heapBytes: number;
}

/** Holds the last booted kernel while retainedHeap() collects. */
let _held: unknown;

/** heapUsed after two full collections (gc(), given --expose-gc), with `k` held. */
function retainedHeap(k: unknown): number {
  _held = k;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/**
 * The sizes measured: ~8k, ~100k and ~1M functions, all on 16 segments (16
 * VT-d units): each unit's registration walks every PCI device
 * (bus_iommu_probe()), in the kernel as here, so the unit count stays put
 * for the sizes to compare.
 */
export const SCALE_SIZES: readonly ScalePlatformOptions[] = [
  { segments: 16, rootPorts: 1, busesPerPort: 2 },
  { segments: 16, rootPorts: 6, busesPerPort: 4 },
  { segments: 16, rootPorts: 60, busesPerPort: 4 },
];

/** One size, in this process. */
export function measureScale(o: ScalePlatformOptions): ScaleResult {
  let t0 = performance.now();
  const desc = parsePlatform(scalePlatform(o), 'generated');
  const describeMs = performance.now() - t0;
  t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const { k } = bootPlatform(desc, { profile: 'v6.12' });
  const bootMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const groups = new Set<unknown>();
  const iommus = new Set<unknown>();
  for (const dev of k.base.devices) {
    if (dev.iommu_group) groups.add(dev.iommu_group);
    if (dev.iommu?.iommu_dev) iommus.add(dev.iommu.iommu_dev);
  }
  return {
    functions: scaleFunctionCount(o),
    groups: groups.size,
    iommus: iommus.size,
    describeMs,
    bootMs,
    userMs: cpu.user / 1000,
    sysMs: cpu.system / 1000,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    heapBytes: retainedHeap(k),
  };
}

/**
 * The flags of each size's process: room for ~7 KB of model per function,
 * and a 64 MiB young generation from the start. With V8's default 16 MiB one
 * the collector took 41% of a 100k-function boot and 54% of a 1M one
 * (profiled), and 1M/100k was x14.5 (x10.1 with 64 MiB): everything a boot
 * makes is kept, so every scavenge copies it on, and old-space marking runs
 * over gigabytes. Left to grow from its 1 MiB start (and shrink again after
 * each old-space collection), the young generation cost the 1M boot 7 s more
 * of user time in one measurement and nothing at 100k.
 */
export const SCALE_NODE_FLAGS = [
  '--max-old-space-size=16384',
  '--max-semi-space-size=64',
  '--min-semi-space-size=64',
  '--expose-gc',
];

/** One size in a fresh process. */
function measureInChild(o: ScalePlatformOptions): ScaleResult {
  const r = spawnSync(
    process.execPath,
    [...SCALE_NODE_FLAGS, fileURLToPath(import.meta.url), JSON.stringify(o)],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (r.status !== 0) throw new Error(`scale bench child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ScaleResult;
}

const count = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}k`);

/** The middle value (the mean of the two middle ones for an even count). */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** How many times each size is booted by default: one run's time moves by ±20% on a shared VM. */
export const SCALE_ROUNDS = 3;

/**
 * Boot every size `rounds` times, the sizes taking turns (a slow spell of
 * the machine then weighs on all of them), and print per size the median
 * boot time and the range, the CPU time (user, and system: the kernel's
 * page faults for a growing heap), the peak RSS, and the 1M/100k ratios: of
 * the medians, and the lowest and highest of the rounds' boot times.
 */
export function runScaleBench(print: (line: string) => void, rounds = SCALE_ROUNDS): void {
  print(
    `Scale: generated SR-IOV platforms booted to their groups (a fresh process each: node ${SCALE_NODE_FLAGS.join(' ')}; iommu=pt; ${rounds} round${rounds === 1 ? '' : 's'}, sizes taking turns; median boot time)`,
  );
  const runs: ScaleResult[][] = SCALE_SIZES.map(() => []);
  // Largest first in each round: the process after a multi-gigabyte one may start while the
  // kernel is still taking that memory back, and this way that is the smallest size, outside
  // the ratio.
  const order = [SCALE_SIZES.length - 1, ...SCALE_SIZES.keys()].slice(0, SCALE_SIZES.length);
  for (let r = 0; r < rounds; r++) for (const i of order) runs[i].push(measureInChild(SCALE_SIZES[i]));
  print(
    `  ${'functions'.padEnd(11)}${'groups'.padStart(9)}${'IOMMUs'.padStart(8)}${'describe'.padStart(11)}${'boot'.padStart(10)}${'range'.padStart(14)}${'boot/fn'.padStart(10)}${'user'.padStart(9)}${'sys'.padStart(8)}${'peak RSS'.padStart(11)}${'RSS/fn'.padStart(9)}${'heap/fn'.padStart(9)}`,
  );
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)}`;
  const boots = runs.map((rs) => rs.map((r) => r.bootMs));
  runs.forEach((rs, i) => {
    const r = rs[0];
    const boot = median(boots[i]);
    const rss = median(rs.map((x) => x.peakRssBytes));
    print(
      `  ${count(r.functions).padEnd(11)}${String(r.groups).padStart(9)}${String(r.iommus).padStart(8)}${`${sec(median(rs.map((x) => x.describeMs)))} s`.padStart(11)}${`${sec(boot)} s`.padStart(10)}${`${sec(Math.min(...boots[i]))}-${sec(Math.max(...boots[i]))} s`.padStart(14)}${`${((boot * 1000) / r.functions).toFixed(1)} µs`.padStart(10)}${`${sec(median(rs.map((x) => x.userMs)))} s`.padStart(9)}${`${sec(median(rs.map((x) => x.sysMs)))} s`.padStart(8)}${`${(rss / 2 ** 20).toFixed(0)} MiB`.padStart(11)}${`${(rss / r.functions / 1024).toFixed(1)} K`.padStart(9)}${`${(median(rs.map((x) => x.heapBytes)) / r.functions / 1024).toFixed(1)} K`.padStart(9)}`,
    );
  });
  const [, k100, m1] = runs;
  const perRound = k100.map((r, i) => m1[i].bootMs / r.bootMs);
  const ratio = (f: (r: ScaleResult) => number) => (median(m1.map(f)) / median(k100.map(f))).toFixed(2);
  print(
    `  1M/100k: ${(m1[0].functions / k100[0].functions).toFixed(1)}x the functions, boot ×${(median(boots[2]) / median(boots[1])).toFixed(2)} (rounds ×${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}), CPU user ×${ratio((r) => r.userMs)}, sys ×${ratio((r) => r.sysMs)}, peak RSS ×${ratio((r) => r.peakRssBytes)}, heap ×${ratio((r) => r.heapBytes)} (target ≤ 11x)`,
  );
}

// A child process: measure the size given as JSON and print the result.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) {
  console.log(JSON.stringify(measureScale(JSON.parse(process.argv[2]) as ScalePlatformOptions)));
}
