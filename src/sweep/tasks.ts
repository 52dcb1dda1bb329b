// SPDX-License-Identifier: GPL-2.0-only
/**
 * The messages between a sweep and its workers, and the code that answers
 * them, shared by the worker thread (worker.ts) and the in-thread run of
 * `--jobs 1` (pool.ts): a job's fault-free run, or a range of its fail
 * points.
 */
import type { JobRunner, SweepFinding, SweepJob } from '../checker/sweep.js';
import { startJob } from '../checker/sweep.js';
import { sweepLoaders } from './loaders.js';
import { InputError } from '../input/input-error.js';

export type SweepTask =
  | { readonly type: 'baseline'; readonly job: SweepJob }
  | { readonly type: 'points'; readonly job: SweepJob; readonly from: number; readonly to: number };

export type SweepReply =
  | { readonly type: 'baseline'; readonly allocations: number; readonly findings: SweepFinding[] }
  | {
      readonly type: 'points';
      /** Runs made (a run that no longer reached its fail point included). */
      readonly runs: number;
      readonly findings: SweepFinding[];
      /** A run no longer reached its fail point: the job is complete. */
      readonly ended: boolean;
    }
  | {
      readonly type: 'error';
      readonly message: string;
      /** An InputError's parts, so that the other side throws the same (exit 2, not a crash). */
      readonly input?: { readonly file: string; readonly where: string; readonly problem: string };
    };

/** Jobs started in this thread, by key: each worker runs a job's fault-free run once. */
const runners = new Map<string, JobRunner>();

const keyOf = (j: SweepJob) => `${j.kind}\0${j.name}\0${j.profile}`;

function runnerFor(job: SweepJob): JobRunner {
  let r = runners.get(keyOf(job));
  if (r === undefined) {
    r = startJob(job, sweepLoaders);
    runners.set(keyOf(job), r);
  }
  return r;
}

/** Does one task. Errors (a scenario that does not load, say) come back as an 'error' reply. */
export function runTask(task: SweepTask): SweepReply {
  try {
    const r = runnerFor(task.job);
    if (task.type === 'baseline')
      return { type: 'baseline', allocations: r.allocations, findings: r.baselineFindings };
    const findings: SweepFinding[] = [];
    let runs = 0;
    for (let nth = task.from; nth <= task.to; nth++) {
      runs++;
      const f = r.point(nth);
      if (f === null) return { type: 'points', runs, findings, ended: true };
      findings.push(...f);
    }
    return { type: 'points', runs, findings, ended: false };
  } catch (e) {
    if (e instanceof InputError)
      return {
        type: 'error',
        message: e.message,
        input: { file: e.file, where: e.where, problem: e.problem },
      };
    return { type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
}
