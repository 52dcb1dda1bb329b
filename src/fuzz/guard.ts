// SPDX-License-Identifier: GPL-2.0-only
/**
 * The hang guard of `npm run fuzz`: a fuzz worker keeps the index of the
 * input it is running in a shared Int32Array (fuzz()'s `current`); this
 * thread looks at it every pollMs, and an input still running after hangMs
 * (an endless loop in a parser, which no time check inside the worker
 * could stop) ends the worker: the input becomes a 'hang' finding and a new
 * worker goes on from the next input of the same sequence. What the stopped
 * worker had done counts as of its last progress report, and its findings
 * all (each is sent as it is found).
 *
 * The worker script is a parameter so that a test can run the guard on a
 * worker that hangs on purpose.
 */
import { Worker } from 'node:worker_threads';
import type { FuzzFinding, FuzzStats } from './fuzz.js';

/** A worker's messages: each finding as it is found, progress every 1024 inputs, then its stats. */
export type FuzzWorkerMessage =
  { finding: FuzzFinding } | { progress: number; sofar: FuzzStats } | { done: FuzzStats };

export interface GuardOptions {
  readonly workerUrl: URL;
  /** What the worker is given, for a run starting at input `from`; `current` is added. */
  readonly workerData: (from: number) => Record<string, unknown>;
  /** The inputs of the sequence (the worker runs from..inputs-1). */
  readonly inputs: number;
  readonly hangMs: number;
  readonly pollMs?: number;
  /** Inputs done so far by this sequence, and the findings among them (kept or not), for a progress line. */
  readonly onProgress?: (done: number, found: number) => void;
  /** Each finding the worker posts, the moment it arrives (to be written before the run ends). */
  readonly onFinding?: (f: FuzzFinding) => void;
  /** An input found hung, by index in the sequence, the moment its worker is stopped. */
  readonly onHang?: (index: number) => void;
}

export interface GuardedRun {
  /** The stats of each worker run (one unless a hang stopped one). */
  readonly parts: FuzzStats[];
  /** The inputs that hung, by index in the sequence. */
  readonly hangs: number[];
}

/** One worker run from `from`: its stats, or the input it hung on with the last stats it reported. */
function runOnce(
  o: GuardOptions,
  from: number,
  doneBefore: number,
  foundBefore: number,
): Promise<{ stats: FuzzStats | null; hung: number | null }> {
  const current = new Int32Array(new SharedArrayBuffer(4)).fill(-1);
  const worker = new Worker(o.workerUrl, { workerData: { ...o.workerData(from), current } });
  return new Promise((resolve, reject) => {
    let last: FuzzStats | null = null;
    let seen = -1;
    let since = performance.now();
    let settled = false;
    const finish = (r: { stats: FuzzStats | null; hung: number | null } | Error) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      if (r instanceof Error) reject(r);
      else resolve(r);
    };
    const timer = setInterval(() => {
      const now = Atomics.load(current, 0);
      if (now !== seen) {
        seen = now;
        since = performance.now();
      } else if (now >= 0 && performance.now() - since > o.hangMs) {
        // What it found after its last progress report came as it was found.
        const sofar: FuzzStats | null = last;
        const none = { rejected: 0, parsed: 0, booted: 0 };
        finish({
          stats:
            sofar || found.length > 0
              ? {
                  ...(sofar ?? { target: '', seeds: 0, inputs: 0, outcomes: none, slowestMs: 0, seconds: 0 }),
                  findings: found,
                  found: Math.max(sofar?.found ?? 0, found.length),
                }
              : null,
          hung: now,
        });
        void worker.terminate();
      }
    }, o.pollMs ?? 250);
    const found: FuzzFinding[] = [];
    worker.on('message', (m: FuzzWorkerMessage) => {
      if ('finding' in m) {
        found.push(m.finding);
        o.onFinding?.(m.finding);
      } else if ('progress' in m) {
        last = m.sofar;
        o.onProgress?.(doneBefore + m.progress, foundBefore + m.sofar.found);
      } else finish({ stats: m.done, hung: null });
    });
    worker.on('error', (e) => finish(e));
    worker.on('exit', (code) => finish(new Error(`fuzz worker exited (code ${code}) before its stats`)));
  });
}

/** Runs a fuzz sequence on a worker, restarting it past any input that hangs. */
export async function runGuarded(o: GuardOptions): Promise<GuardedRun> {
  const parts: FuzzStats[] = [];
  const hangs: number[] = [];
  let done = 0;
  for (let from = 0; from < o.inputs;) {
    // What earlier runs of the sequence found: their findings, and the inputs that hung.
    const found = parts.reduce((a, p) => a + p.found, 0) + hangs.length;
    const r = await runOnce(o, from, done, found);
    if (r.stats !== null) parts.push(r.stats);
    if (r.hung === null) break;
    hangs.push(r.hung);
    o.onHang?.(r.hung);
    done += r.hung + 1 - from;
    from = r.hung + 1;
  }
  return { parts, hangs };
}
