// SPDX-License-Identifier: GPL-2.0-only
/** A fuzz worker thread: fuzzes one target with the seed and count main.ts gives it. */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzz } from './fuzz.js';
import { fuzzTargets } from './targets.js';

const { target, inputs, seed, seedDir } = workerData as {
  target: string;
  inputs: number;
  seed: number;
  seedDir: string;
};
const t = fuzzTargets(seedDir).find((x) => x.name === target);
if (t === undefined) throw new Error(`no fuzz target ${target}`);
parentPort?.postMessage(
  fuzz(t, { inputs, seed, onProgress: (n) => parentPort?.postMessage({ progress: n }) }),
);
