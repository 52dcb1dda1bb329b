// SPDX-License-Identifier: GPL-2.0-only
// Which allocations a fail-nth test fails in turn. Small boots: every one. A
// boot of a whole SoC makes hundreds, each rerun costing a full boot, so the
// suite (2 CPUs in CI) fails a fixed spread instead: the first and last 30
// (probe starts and unwinds, teardown-adjacent allocations) and every k-th in
// between, 150 in all. FAIL_NTH_ALL=1 in the environment runs every point.
import { expect } from 'vitest';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { Leak } from '../../src/checker/teardown.js';
import type { InvariantViolation } from '../../src/checker/invariants.js';
import { leakReport, teardown } from '../../src/checker/teardown.js';
import { checkInvariants } from '../../src/checker/invariants.js';

const BUDGET = 150;
const EDGE = 30;

export function failNthPoints(total: number): number[] {
  const all = Array.from({ length: total }, (_, i) => i + 1);
  if (process.env.FAIL_NTH_ALL === '1' || total <= BUDGET) return all;
  const middle = all.slice(EDGE, total - EDGE);
  const step = middle.length / (BUDGET - 2 * EDGE);
  const picked = Array.from({ length: BUDGET - 2 * EDGE }, (_, i) => middle[Math.floor(i * step)]);
  return [...all.slice(0, EDGE), ...picked, ...all.slice(total - EDGE)];
}

/** One run's end state: the invariants checked, then teardown and what it left allocated. */
export interface FailNthRun {
  readonly k: Kernel;
  readonly leaks: Leak[];
  readonly violations: InvariantViolation[];
}

/** Finish a run: check the invariants on the settled kernel, tear it down, list the leaks. */
export function finishRun(k: Kernel): FailNthRun {
  const violations = checkInvariants(k);
  teardown(k);
  return { k, violations, leaks: leakReport(k) };
}

/**
 * Rerun `run` failing each of failNthPoints(total) in turn and expect every
 * run to leave no leak and no broken invariant that is not a known kernel
 * bug. Returns the allocation sites that were failed and how many runs did
 * fail one.
 */
export function expectCleanUnwinds(
  run: (failNth: number) => FailNthRun,
  total: number,
): { sites: Set<string>; injected: number } {
  const sites = new Set<string>();
  let injected = 0;
  for (const n of failNthPoints(total)) {
    const r = run(n);
    const inj = r.k.alloc.injected;
    if (inj) {
      injected++;
      sites.add(inj.site);
    }
    expect(
      r.leaks.filter((l) => !l.knownBug),
      `fail-nth ${n}`,
    ).toEqual([]);
    expect(
      r.violations.filter((v) => !v.knownBug),
      `fail-nth ${n}`,
    ).toEqual([]);
  }
  return { sites, injected };
}
