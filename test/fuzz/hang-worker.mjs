// SPDX-License-Identifier: GPL-2.0-only
// A fuzz worker for test/fuzz/guard.test.ts speaking guard.ts's protocol: it
// "runs" inputs from..inputs-1, reporting progress every 4, loops for ever
// on the indices in hangAt, as a parser with an endless loop would, and
// posts a finding for each index in findAt as it gets there.
import { parentPort, workerData } from 'node:worker_threads';

const { inputs, from, current, hangAt, findAt = [] } = workerData;
const stats = (n) => ({
  target: 'planted',
  seeds: 1,
  inputs: n,
  outcomes: { rejected: 0, parsed: n, booted: 0 },
  found: posted,
  findings: [],
  slowestMs: 0,
  seconds: 0,
});
let done = 0;
let posted = 0;
for (let i = from; i < inputs; i++) {
  Atomics.store(current, 0, i);
  if (findAt.includes(i)) {
    posted++;
    parentPort.postMessage({
      finding: {
        target: 'planted',
        seed: 'a',
        rngSeed: 1,
        index: i,
        kind: 'exception',
        message: `planted at ${i}`,
        ms: 0,
        input: Uint8Array.of(i),
      },
    });
  }
  if (hangAt.includes(i)) for (;;);
  Atomics.store(current, 0, -1);
  done++;
  if (done % 4 === 0) parentPort.postMessage({ progress: done, sofar: stats(done) });
}
parentPort.postMessage({ done: stats(done) });
