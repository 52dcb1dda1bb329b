// SPDX-License-Identifier: GPL-2.0-only
// Which allocations a fail-nth test fails in turn. Small boots: every one. A
// boot of a whole SoC makes hundreds, each rerun costing a full boot, so the
// suite (2 CPUs in CI) fails a fixed spread instead: the first and last 30
// (probe starts and unwinds, teardown-adjacent allocations) and every k-th in
// between, 150 in all. FAIL_NTH_ALL=1 in the environment runs every point.
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
