// SPDX-License-Identifier: GPL-2.0-only
/**
 * What the page-table hot path allocates on the JavaScript heap: a million
 * map, iova_to_phys and unmap calls each, warmed up, after a full
 * collection, measured as the heap's growth (or the GCs that hid it).
 *
 * Measured twice by main.ts: in a fresh worker thread per format (what a
 * program using that format sees: its call sites know one table type) and
 * in the bench's own thread, where every format went through the same call
 * sites before. What allocates is JavaScript's calling convention, not the
 * page table: a call V8 does not inline passes an address of 2^31 or more as
 * a heap number, and returns one so. The formats whose map/unmap rules are
 * JavaScript (rules/) have bigger public methods, and a loop making all three
 * calls runs out of TurboFan's inlining budget: mapPagesTo() is then called,
 * boxing its physical address (16 bytes per map: ~5 bytes per call here).
 * The WebAssembly fast path's methods are small enough to stay inlined.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { PageTable, PgtableFormatName } from '../pgtable/index.js';
import { IOMMU_READ, IOMMU_WRITE, createPageTable } from '../pgtable/index.js';
import type { TableMemory } from '../pgtable/memory.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const CALLS = 100_000;

// A full collection on demand, without asking users to start node with --expose-gc.
v8.setFlagsFromString('--expose-gc');
const forceGc = vm.runInNewContext('gc') as () => void;

let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });
// GC entries reach the observer asynchronously.
const settle = () => new Promise((r) => setTimeout(r, 20));

/** A physical address the format can hold: above 2^32 where it can (ARM v7s holds 32 bits). */
export const paFor = (t: PageTable): number => (t.cfg.oas > 40 ? 0x80_0000_0000 : 0x8000_0000);
/** iova_to_phys() probes inside the page, but for the iommufd mock, which WARNs there and drops the offset. */
export const probeOffset = (t: PageTable): number => (t.layout.rules === 'iommufd-mock' ? 0 : 8);

/** Bytes allocated per call, or the GCs that happened in between (then the bytes are unknown). */
export type AllocResult = { readonly bytesPerCall: number } | { readonly gcs: number };

/** The measure, in this thread. */
export async function allocPerCall(name: PgtableFormatName, memory?: TableMemory): Promise<AllocResult> {
  const t = createPageTable(name, { memory });
  const g = t.cfg.granule;
  const pa = paFor(t);
  const o = probeOffset(t);
  const out = { mapped: 0 };
  const loop = () => {
    for (let i = 0; i < CALLS; i++) {
      if (t.mapPagesTo(out, i * g, pa + i * g, g, 1, RW) !== 0) throw new Error(`${name}: map failed`);
      if (t.iovaToPhys(i * g + o) !== pa + i * g + o) throw new Error(`${name}: iova_to_phys failed`);
      if (t.unmapPages(i * g, g, 1) !== g) throw new Error(`${name}: unmap failed`);
    }
  };
  for (let i = 0; i < 5; i++) loop();
  forceGc();
  await settle();
  const before = gcs;
  const heap = process.memoryUsage().heapUsed;
  for (let i = 0; i < 10; i++) loop();
  const grown = process.memoryUsage().heapUsed - heap;
  await settle();
  t.free();
  return gcs === before ? { bytesPerCall: grown / (30 * CALLS) } : { gcs: gcs - before };
}

/** The measure in a fresh worker thread: no call site there has seen another format. */
export function allocPerCallAlone(name: PgtableFormatName): Promise<AllocResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: name });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`allocation worker for ${name} exited (${code})`)));
  });
}

export const allocText = (r: AllocResult): string =>
  'bytesPerCall' in r ? `${r.bytesPerCall.toFixed(3)} bytes/call` : `${r.gcs} GC(s) in between`;

if (!isMainThread && typeof workerData === 'string') {
  const r = await allocPerCall(workerData as PgtableFormatName);
  parentPort?.postMessage(r);
}
