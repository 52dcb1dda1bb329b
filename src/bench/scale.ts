// SPDX-License-Identifier: GPL-2.0-only
/**
 * The scale section of `npm run bench`: generated SR-IOV platforms
 * (scale-platform.ts) of ~8k, ~100k and ~1M PCI functions booted to their
 * groups (PCI enumeration, driver core, IOMMU probe, a group and a default
 * domain per function), each in a fresh node process so that one size's
 * heap and JIT state do not weigh on the next; prints per size the boot
 * time, the peak RSS, both per function, and the 1M/100k ratios (issue 8's
 * target: at most 11x for 10x the functions).
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
  readonly peakRssBytes: number;
  readonly heapBytes: number;
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
  const { k } = bootPlatform(desc, { profile: 'v6.12' });
  const bootMs = performance.now() - t0;
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
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    heapBytes: process.memoryUsage().heapUsed,
  };
}

/**
 * The flags of each size's process: room for ~7 KB of model per function,
 * and a 64 MiB young generation. With V8's default 16 MiB one the
 * collector took 41% of a 100k-function boot and 54% of a 1M one (profiled),
 * and 1M/100k was x14.5 (x10.1 with 64 MiB): everything a boot makes is
 * kept, so every scavenge copies it on, and old-space marking runs over
 * gigabytes.
 */
export const SCALE_NODE_FLAGS = ['--max-old-space-size=16384', '--max-semi-space-size=64'];

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

export function runScaleBench(print: (line: string) => void): void {
  print(
    `Scale: generated SR-IOV platforms booted to their groups (a fresh process each: node ${SCALE_NODE_FLAGS.join(' ')}; iommu=pt)`,
  );
  print(
    `  ${'functions'.padEnd(11)}${'groups'.padStart(9)}${'IOMMUs'.padStart(8)}${'describe'.padStart(11)}${'boot'.padStart(10)}${'boot/fn'.padStart(10)}${'peak RSS'.padStart(11)}${'RSS/fn'.padStart(9)}`,
  );
  const results = SCALE_SIZES.map((o) => {
    const r = measureInChild(o);
    print(
      `  ${count(r.functions).padEnd(11)}${String(r.groups).padStart(9)}${String(r.iommus).padStart(8)}${`${(r.describeMs / 1000).toFixed(1)} s`.padStart(11)}${`${(r.bootMs / 1000).toFixed(1)} s`.padStart(10)}${`${((r.bootMs * 1000) / r.functions).toFixed(1)} µs`.padStart(10)}${`${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`.padStart(11)}${`${(r.peakRssBytes / r.functions / 1024).toFixed(1)} K`.padStart(9)}`,
    );
    return r;
  });
  const [, k100, m1] = results;
  print(
    `  1M/100k: ${(m1.functions / k100.functions).toFixed(1)}x the functions, boot ×${(m1.bootMs / k100.bootMs).toFixed(2)}, peak RSS ×${(m1.peakRssBytes / k100.peakRssBytes).toFixed(2)} (target ≤ 11x)`,
  );
}

// A child process: measure the size given as JSON and print the result.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) {
  console.log(JSON.stringify(measureScale(JSON.parse(process.argv[2]) as ScalePlatformOptions)));
}
