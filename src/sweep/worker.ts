// SPDX-License-Identifier: GPL-2.0-only
/** A sweep worker thread: answers each task pool.ts sends (tasks.ts). */
import { parentPort } from 'node:worker_threads';
import { runTask, type SweepTask } from './tasks.js';

parentPort?.on('message', (task: SweepTask) => parentPort?.postMessage(runTask(task)));
