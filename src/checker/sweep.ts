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

/** What a run's fail point failed, for its findings: "group_device in iommu_group_alloc_device (dev)". */
function failedAt(r: {
  readonly failNth: { readonly injected: { type: string; site: string; owner: string } | null } | null;
}): string {
  const inj = r.failNth?.injected;
  return inj ? `${inj.type} in ${inj.site} (${inj.owner})` : 'nothing';
}

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
  const at = failedAt(r);
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

/** Runs one fail point of a sweep (nth >= 1) and checks it; null when the run no longer reaches nth. */
function scenarioPoint(
  sc: Scenario,
  opts: SweepOptions,
  baseline: ScenarioResult,
  nth: number,
): SweepFinding[] | null {
  let r: ScenarioResult;
  try {
    r = runOnce(sc, opts, nth);
  } catch (e) {
    return [exceptionFinding(nth, e)];
  }
  if (!r.failNth?.injected) return null;
  const findings: SweepFinding[] = [];
  check(nth, r, baseline, findings);
  return findings;
}

const runOnce = (sc: Scenario, opts: SweepOptions, failNth?: number) =>
  runScenario(sc, {
    profile: opts.profile,
    failNth,
    checkInvariants: true,
    resolvePlatform: opts.resolvePlatform,
  });

function exceptionFinding(nth: number, e: unknown): SweepFinding {
  return {
    nth,
    at: '?',
    kind: 'exception',
    message: e instanceof Error ? (e.stack ?? e.message) : String(e),
  };
}

export function sweepScenario(sc: Scenario, opts: SweepOptions): SweepResult {
  const job = scenarioRunner(sc, opts);
  const findings = [...job.baselineFindings];
  let runs = 1;
  const last = Math.min(job.allocations, opts.limit ?? Infinity);
  for (let nth = 1; nth <= last; nth++) {
    runs++;
    const f = job.point(nth);
    if (f === null) break; // this run no longer reaches N: done
    findings.push(...f);
  }
  return { scenario: sc.name, profile: opts.profile, runs, failPoints: job.allocations, findings };
}

/** A scenario's fault-free run, checked, and its fail points to run one by one. */
function scenarioRunner(sc: Scenario, opts: SweepOptions): JobRunner {
  const baseline = runOnce(sc, opts);
  const baselineFindings: SweepFinding[] = [];
  check(0, baseline, baseline, baselineFindings);
  return {
    allocations: baseline.allocations,
    baselineFindings,
    point: (nth) => scenarioPoint(sc, opts, baseline, nth),
  };
}

/**
 * What a sweep runs: a built-in scenario (or scenario file), a platform boot
 * (built-in or file), or one of iommufd's own fail-nth test bodies.
 */
export interface SweepJob {
  readonly kind: 'scenario' | 'boot' | 'iommufd';
  readonly name: string;
  readonly profile: ProfileName;
}

/**
 * A job ready to run fail points: its fault-free run's allocations and
 * findings, and point(nth) for the rest (null once a run no longer reaches
 * nth). Jobs are plain data, so that worker threads can each start their
 * own from the same description (sweep-pool.ts).
 */
export interface JobRunner {
  readonly allocations: number;
  readonly baselineFindings: SweepFinding[];
  point(nth: number): SweepFinding[] | null;
}

export interface JobLoaders {
  readonly loadScenario: (name: string) => Scenario;
  readonly resolvePlatform: (name: string) => PlatformDesc;
  /** boot() of a platform by name or file, with a fail point. */
  readonly boot: (name: string, profile: ProfileName, failNth?: number) => BootLike;
  /** An iommufd fail-nth test body, failing the nth allocation from its fail_nth_enable(). */
  readonly iommufd: (test: string, profile: ProfileName, nth?: number) => CallsRunLike;
}

/** A run that made calls returning errnos (an iommufd test body), and its teardown's pin check. */
export interface CallsRunLike extends BootLike {
  /** 0 when the body ran to its end; -1 when a call failed (the C body's return value). */
  readonly result: number;
  /** Each call, with the errnos it may return when an allocation fails under it. */
  readonly calls: readonly {
    readonly op: string;
    readonly errno: number;
    readonly unwind: readonly number[];
  }[];
  /** MD_CHECK_REFS after the teardown: 0 when no page is left pinned. */
  readonly refsCheck: number;
}

/** A body's leaks, broken invariants, pins left behind, and errnos no unwinding returns there. */
function callsFindings(nth: number, r: CallsRunLike, baseline: CallsRunLike): SweepFinding[] {
  const out = runFindings(nth, r);
  const at = failedAt(r);
  if (r.refsCheck !== 0)
    out.push({
      nth,
      at,
      kind: 'leak',
      message: `pages still pinned after the teardown (MD_CHECK_REFS ${r.refsCheck})`,
    });
  r.calls.forEach((c, i) => {
    const base = baseline.calls[i];
    if (c.errno !== 0 && c.errno !== base?.errno && !c.unwind.includes(c.errno))
      out.push({
        nth,
        at,
        kind: 'errno',
        message: `call ${i} ${c.op} returned ${c.errno} (without the fault: ${base?.errno ?? 'not made'})`,
      });
  });
  return out;
}

/** What a sweep reads from a boot (api.ts BootResult). */
export interface BootLike {
  readonly allocations: number;
  readonly failNth: { readonly injected: { type: string; site: string; owner: string } | null } | null;
  readonly leaks: readonly { knownBug?: unknown; type: string; owner: string; origin: string }[];
  readonly invariantViolations: readonly { knownBug?: unknown; invariant: string; message: string }[];
}

/** A run's leaks and broken invariants that are not known kernel bugs, as findings (a boot's or a scenario's). */
export function runFindings(nth: number, r: BootLike): SweepFinding[] {
  const at = failedAt(r);
  return [
    ...r.leaks
      .filter((l) => !l.knownBug)
      .map((l): SweepFinding => ({
        nth,
        at,
        kind: 'leak',
        message: `${l.type} of ${l.owner} from ${l.origin}`,
      })),
    ...r.invariantViolations
      .filter((v) => !v.knownBug)
      .map((v): SweepFinding => ({ nth, at, kind: 'invariant', message: `${v.invariant}: ${v.message}` })),
  ];
}

export function startJob(job: SweepJob, load: JobLoaders): JobRunner {
  if (job.kind === 'scenario')
    return scenarioRunner(load.loadScenario(job.name), {
      profile: job.profile,
      resolvePlatform: load.resolvePlatform,
    });
  if (job.kind === 'iommufd') {
    const base = load.iommufd(job.name, job.profile);
    // The harness asserts that the body passes without a fault (ASSERT_EQ(0, test_nth_...())).
    const failing = base.calls.find((c) => c.errno !== 0);
    const stopped: SweepFinding[] =
      base.result === 0
        ? []
        : [
            {
              nth: 0,
              at: 'nothing',
              kind: 'errno',
              message: `without a fault the body stops at ${failing?.op ?? '?'} (${failing?.errno ?? '?'})`,
            },
          ];
    return {
      allocations: base.allocations,
      baselineFindings: [...stopped, ...callsFindings(0, base, base)],
      point: failPoint(
        (nth) => load.iommufd(job.name, job.profile, nth),
        (nth, r) => callsFindings(nth, r, base),
      ),
    };
  }
  const baseline = load.boot(job.name, job.profile);
  return {
    allocations: baseline.allocations,
    baselineFindings: runFindings(0, baseline),
    point: failPoint((nth) => load.boot(job.name, job.profile, nth), runFindings),
  };
}

/** A job's point(): the run failing its nth allocation, checked; an exception is a finding; null once nth is past its end. */
function failPoint<R extends BootLike>(
  run: (nth: number) => R,
  check: (nth: number, r: R) => SweepFinding[],
): (nth: number) => SweepFinding[] | null {
  return (nth) => {
    let r: R;
    try {
      r = run(nth);
    } catch (e) {
      return [exceptionFinding(nth, e)];
    }
    return r.failNth?.injected ? check(nth, r) : null;
  };
}

/** What one job's sweep found. */
export interface JobResult {
  readonly job: SweepJob;
  /** Allocations in the fault-free run: the fail points. */
  readonly failPoints: number;
  /** Runs made, the fault-free one included. */
  readonly runs: number;
  readonly findings: SweepFinding[];
}
