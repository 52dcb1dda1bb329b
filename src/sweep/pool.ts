// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommu-lab sweep` on every core: each job's fault-free run first (it says
 * how many fail points the job has), then its fail points in ranges, handed
 * to worker threads (worker.ts) as they become free. Workers start a job
 * from its description (a name and a profile), so nothing but plain data
 * crosses threads. With one worker, or where the compiled worker is not
 * there (the TypeScript sources run under a test runner), the same tasks
 * run in this thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { JobResult, SweepFinding, SweepJob } from '../checker/sweep.js';
import { runTask, type SweepReply, type SweepTask } from './tasks.js';
import { InputError } from '../input/input-error.js';

export interface SweepRunOptions {
  /** Worker threads (1: this thread only). */
  readonly workers: number;
  /** At most this many fail points per job (default: every one). */
  readonly limit?: number;
  /** Called as work completes: the phase, units done and in all, and the job it was. */
  readonly onProgress?: (phase: 'baseline' | 'points', done: number, total: number, job: SweepJob) => void;
}

interface Executor {
  run(task: SweepTask): Promise<SweepReply>;
  close(): Promise<void>;
}

function inThread(): Executor {
  return {
    // A macrotask between tasks, so that a progress line can be drawn.
    run: (task) => new Promise((resolve) => setImmediate(() => resolve(runTask(task)))),
    close: () => Promise.resolve(),
  };
}

const WORKER = new URL('./worker.js', import.meta.url);

function workerPool(n: number): Executor {
  const idle: Worker[] = [];
  const queue: { task: SweepTask; resolve: (r: SweepReply) => void; reject: (e: unknown) => void }[] = [];
  const all: Worker[] = [];
  const busy = new Map<Worker, (typeof queue)[number]>();
  const next = (w: Worker) => {
    const item = queue.shift();
    if (item === undefined) {
      idle.push(w);
      return;
    }
    busy.set(w, item);
    w.postMessage(item.task);
  };
  for (let i = 0; i < n; i++) {
    const w = new Worker(WORKER);
    w.on('message', (reply: SweepReply) => {
      busy.get(w)?.resolve(reply);
      busy.delete(w);
      next(w);
    });
    w.on('error', (e) => busy.get(w)?.reject(e));
    // A worker gone without an error event (process.exit() in it) must not leave its task waiting.
    w.on('exit', (code) =>
      busy.get(w)?.reject(new Error(`sweep worker exited (code ${code}) during a task`)),
    );
    all.push(w);
    idle.push(w);
  }
  return {
    run: (task) =>
      new Promise((resolve, reject) => {
        queue.push({ task, resolve, reject });
        const w = idle.pop();
        if (w !== undefined) next(w);
      }),
    close: async () => {
      await Promise.all(all.map((w) => w.terminate()));
    },
  };
}

function checked<T extends SweepReply['type']>(r: SweepReply, type: T): Extract<SweepReply, { type: T }> {
  if (r.type === 'error') {
    if (r.input) throw new InputError(r.input.file, r.input.where, r.input.problem);
    throw new Error(r.message);
  }
  if (r.type !== type) throw new Error(`sweep worker answered ${r.type} to a ${type} task`);
  return r as Extract<SweepReply, { type: T }>;
}

/** Fail points per task: a few tasks per worker and job, so that the ends of big jobs spread out. */
function chunkSize(points: number, workers: number): number {
  return Math.max(1, Math.min(64, Math.ceil(points / (workers * 4))));
}

/** What a sweep did: each job's result, in the jobs' order (findings by fail point), and the threads it ran on. */
export interface SweepRun {
  readonly results: JobResult[];
  readonly workers: number;
}

/** Sweeps every job. */
export async function runSweep(jobs: readonly SweepJob[], opts: SweepRunOptions): Promise<SweepRun> {
  const useWorkers = opts.workers > 1 && existsSync(fileURLToPath(WORKER));
  const workers = useWorkers ? Math.min(opts.workers, Math.max(1, jobs.length * 8)) : 1;
  const exec = useWorkers ? workerPool(workers) : inThread();
  try {
    let done = 0;
    const baselines = await Promise.all(
      jobs.map(async (job) => {
        const r = checked(await exec.run({ type: 'baseline', job }), 'baseline');
        opts.onProgress?.('baseline', ++done, jobs.length, job);
        return r;
      }),
    );
    const points = baselines.map((b) => Math.min(b.allocations, opts.limit ?? Infinity));
    const total = points.reduce((a, b) => a + b, 0);
    const findings: SweepFinding[][] = baselines.map((b) => [...b.findings]);
    // The first fail point a run no longer reached, per job (Infinity: none). Ranges run in
    // parallel, so points past it may have run too: they are dropped, as the one-by-one sweep,
    // which stops there, never made them.
    const endAt = jobs.map(() => Infinity);
    const tasks: Promise<void>[] = [];
    done = 0;
    // The biggest jobs first: their ranges are the last to finish otherwise.
    const order = jobs.map((_, i) => i).sort((a, b) => points[b] - points[a]);
    for (const i of order) {
      const size = chunkSize(points[i], useWorkers ? opts.workers : 1);
      for (let from = 1; from <= points[i]; from += size) {
        const to = Math.min(points[i], from + size - 1);
        tasks.push(
          exec.run({ type: 'points', job: jobs[i], from, to }).then((reply) => {
            const r = checked(reply, 'points');
            if (r.ended) endAt[i] = Math.min(endAt[i], from + r.runs - 1);
            findings[i].push(...r.findings);
            done += to - from + 1;
            opts.onProgress?.('points', done, total, jobs[i]);
          }),
        );
      }
    }
    await Promise.all(tasks);
    const results = jobs.map((job, i) => ({
      job,
      failPoints: baselines[i].allocations,
      // The fault-free run, every point swept, and the one that no longer reached its point.
      runs: 1 + Math.min(points[i], endAt[i]),
      findings: findings[i].filter((f) => f.nth < endAt[i]).sort((a, b) => a.nth - b.nth),
    }));
    return { results, workers };
  } finally {
    await exec.close();
  }
}
