// SPDX-License-Identifier: GPL-2.0-only
/** A fuzz worker thread: fuzzes one target with the seed, range and count main.ts (guard.ts) gives it. */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzYielding } from './fuzz.js';
import type { FuzzWorkerMessage } from './guard.js';
import { fuzzTargets } from './targets.js';

const { target, inputs, seed, seedDir, from, current } = workerData as {
  target: string;
  inputs: number;
  seed: number;
  seedDir: string;
  from: number;
  current: Int32Array;
};
const t = fuzzTargets(seedDir).find((x) => x.name === target);
if (t === undefined) throw new Error(`no fuzz target ${target}`);
const post = (m: FuzzWorkerMessage) => parentPort?.postMessage(m);
post({
  done: await fuzzYielding(t, {
    inputs,
    seed,
    from,
    current,
    onProgress: (progress, sofar) => post({ progress, sofar }),
    onFinding: (finding) => post({ finding }),
  }),
});
