// SPDX-License-Identifier: GPL-2.0-only
/**
 * The fail-nth sweep: rerun a scenario failing its 1st, 2nd, … Nth
 * allocation until a run no longer reaches N, and check every run: no leak
 * that is not a known kernel bug, no broken invariant, no exception from the
 * model, and every step returning either what it returns without the fault
 * or an errno the kernel's own unwinding produces there (a step may also
 * succeed where it failed: a global driver whose registration failed no
 * longer shadows the mock, say).
 */
import type { Scenario } from '../scenario/schema.js';
import type { ProfileName } from '../profile/profile.js';
import type { PlatformDesc } from '../platform/schema.js';
import { runScenario, type ScenarioResult } from '../scenario/run.js';
import { dmaStepOps } from '../scenario/dma-steps.js';

/** Errnos an allocation failure may surface as, besides a step's fault-free result. */
const UNWIND_ERRNOS = new Set(['-ENOMEM', '-ENODEV', '-EINVAL', '-EPROBE_DEFER']);
/**
 * What a DMA step may see after an earlier failure changed the machine: a
 * buffer an earlier step could not create (-ENOENT), a device access the
 * IOMMU now faults (-EFAULT: the group fell back from DMA-FQ to a strict
 * DMA domain, say) or data that differs (-EIO). The fault itself is in the
 * run's record; leaks and invariants are still checked.
 */
const DMA_OUTCOMES = new Set(['-ENOENT', '-EFAULT', '-EIO']);

export interface SweepFinding {
  readonly nth: number;
  /** What failed at N: "group_device in iommu_group_alloc_device (0000:00:03.0)". */
  readonly at: string;
  readonly kind: 'leak' | 'invariant' | 'exception' | 'errno';
  readonly message: string;
}

export interface SweepResult {
  readonly scenario: string;
  readonly profile: ProfileName;
  /** Runs made, the fault-free one included. */
  readonly runs: number;
  /** Allocations in the fault-free run: the fail points swept. */
  readonly failPoints: number;
  readonly findings: SweepFinding[];
}

export interface SweepOptions {
  readonly profile: ProfileName;
  readonly resolvePlatform: (name: string) => PlatformDesc;
  /** Stop after this many fail points (default: all). */
  readonly limit?: number;
}

function check(nth: number, r: ScenarioResult, baseline: ScenarioResult, out: SweepFinding[]): void {
  const inj = r.failNth?.injected;
  const at = inj ? `${inj.type} in ${inj.site} (${inj.owner})` : 'nothing';
  for (const l of r.leaks) {
    if (!l.knownBug) out.push({ nth, at, kind: 'leak', message: `${l.type} of ${l.owner} from ${l.origin}` });
  }
  for (const v of r.invariantViolations) {
    if (v.knownBug) continue;
    out.push({
      nth,
      at,
      kind: 'invariant',
      message: `after step ${v.afterStep}: ${v.invariant}: ${v.message}`,
    });
  }
  r.steps.forEach((s, i) => {
    const base = baseline.steps[i]?.result;
    const outcome = dmaStepOps.has(s.op) && DMA_OUTCOMES.has(s.result);
    if (s.result !== '0' && s.result !== base && !UNWIND_ERRNOS.has(s.result) && !outcome) {
      out.push({
        nth,
        at,
        kind: 'errno',
        message: `step ${i} ${s.op} returned ${s.result} (without the fault: ${base})`,
      });
    }
  });
}

export function sweepScenario(sc: Scenario, opts: SweepOptions): SweepResult {
  const run = (failNth?: number) =>
    runScenario(sc, {
      profile: opts.profile,
      failNth,
      checkInvariants: true,
      resolvePlatform: opts.resolvePlatform,
    });
  const baseline = run();
  const findings: SweepFinding[] = [];
  check(0, baseline, baseline, findings);
  let runs = 1;
  const last = Math.min(baseline.allocations, opts.limit ?? Infinity);
  for (let nth = 1; nth <= last; nth++) {
    runs++;
    let r: ScenarioResult;
    try {
      r = run(nth);
    } catch (e) {
      findings.push({
        nth,
        at: '?',
        kind: 'exception',
        message: e instanceof Error ? (e.stack ?? e.message) : String(e),
      });
      continue;
    }
    if (!r.failNth?.injected) break; // this run no longer reaches N: done
    check(nth, r, baseline, findings);
  }
  return { scenario: sc.name, profile: opts.profile, runs, failPoints: baseline.allocations, findings };
}
