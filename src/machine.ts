// SPDX-License-Identifier: GPL-2.0-only
/**
 * A booted machine kept alive, for embedding: where `boot()` returns a
 * snapshot and tears the kernel down, `bootMachine()` hands back the running
 * model so a caller can drive drivers' DMA and devices' memory accesses and
 * read the results (the translation engine with a whole IOMMU stack above
 * it). Addresses are numbers below 2^53.
 *
 *   const m = bootMachine(['arm64-dt-smmuv3-mini']);
 *   const h = m.dmaMap('10000000.ethernet', 0x8000_0000, 4096, 'from-device');
 *   m.dmaWrite('10000000.ethernet', h, Uint8Array.of(1, 2, 3));   // { ok: true, phys: [0x80000000] }
 *   m.dmaUnmap('10000000.ethernet', h, 4096, 'from-device');
 *   m.dmaWrite('10000000.ethernet', h, Uint8Array.of(4));          // { ok: false, fault: { reason: 'unmapped', … } }
 *   m.finish();                                                     // snapshot, DMA record, leaks
 */
import type { Kernel } from './kernel/kernel.js';
import type { Device } from './base/device.js';
import type { BootRunOptions } from './api.js';
import type { InputsOptions } from './platform/firmware.js';
import type { DmaDataDirection } from './dma/dma-iommu.js';
import type { DmaCoherent } from './dma/dma-iommu-alloc.js';
import type { DmaResult } from './dma/device-dma.js';
import type { Snapshot } from './report/snapshot.js';
import type { RunRecord } from './report/run-record.js';
import type { Leak } from './checker/teardown.js';
import { loadInputs } from './api.js';
import { bootPlatform } from './platform/boot.js';
import { DEFAULT_PROFILE } from './profile/profiles.js';
import {
  dma_alloc_attrs,
  dma_free_attrs,
  dma_map_page_attrs,
  dma_mapping_error,
  dma_set_mask_and_coherent,
  dma_unmap_page_attrs,
} from './dma/mapping.js';
import { DMA_MAPPING_ERROR } from './dma/scatterlist.js';
import { dmaRead, dmaWrite } from './dma/device-dma.js';
import { physMem } from './mm/phys-mem.js';
import { snapshot } from './report/snapshot.js';
import { runRecord } from './report/run-record.js';
import { leakReport, teardown } from './checker/teardown.js';
import { InputError } from './input/input-error.js';

export interface Machine {
  /** The running model, for callers who go below this API (src/iommu, src/dma …). */
  readonly kernel: Kernel;
  device(name: string): Device;
  /** dma_set_mask_and_coherent(): 0 or a negative errno. */
  dmaSetMask(dev: string, bits: number): number;
  /** dma_map_page_attrs() and dma_mapping_error(): the DMA address, or null when the map failed. */
  dmaMap(dev: string, phys: number, size: number, dir: DmaDataDirection): number | null;
  dmaUnmap(dev: string, handle: number, size: number, dir: DmaDataDirection): void;
  /** dma_alloc_attrs(): a zeroed coherent buffer (its `dma_handle` and CPU-side `pages`), or null. */
  dmaAlloc(dev: string, size: number): DmaCoherent | null;
  dmaFree(dev: string, buf: DmaCoherent): void;
  /** The device writes / reads memory through its IOMMU. */
  dmaWrite(dev: string, iova: number, bytes: Uint8Array): DmaResult;
  dmaRead(dev: string, iova: number, length: number): DmaResult;
  /** The CPU's view of physical memory. */
  readPhys(phys: number, length: number): Uint8Array;
  writePhys(phys: number, bytes: Uint8Array): void;
  /** Virtual time passes; due timers (the DMA flush queue's) run. */
  advance(ms: number): void;
  /** What user space would see now, with the DMA record so far. */
  snapshot(): Snapshot & RunRecord;
  /** Tear the machine down and list what leaked. The machine is unusable afterwards. */
  finish(): Snapshot & RunRecord & { readonly leaks: Leak[] };
}

/** Boot a built-in platform, a platform file, or firmware files, and keep it running. */
export function bootMachine(inputs: readonly string[], opts: BootRunOptions & InputsOptions = {}): Machine {
  const { desc, file, firmware } = loadInputs(inputs, opts);
  const k = bootPlatform(desc, { ...opts, file, firmware, profile: opts.profile ?? DEFAULT_PROFILE }).k;
  let done = false;
  const live = (): Kernel => {
    if (done) throw new Error('the machine was torn down by finish()');
    return k;
  };
  const device = (name: string): Device => {
    for (const d of live().base.devices) if (d.name === name) return d;
    throw new InputError(file, 'device', `no device named "${name}" on this machine`);
  };
  return {
    kernel: k,
    device,
    dmaSetMask: (dev, bits) => dma_set_mask_and_coherent(device(dev), bits),
    dmaMap(dev, phys, size, dir) {
      const d = device(dev);
      const h = dma_map_page_attrs(k, d, phys, size, dir);
      return dma_mapping_error(k, d, h) || h === DMA_MAPPING_ERROR ? null : h;
    },
    dmaUnmap: (dev, handle, size, dir) => dma_unmap_page_attrs(k, device(dev), handle, size, dir),
    dmaAlloc: (dev, size) => dma_alloc_attrs(k, device(dev), size),
    dmaFree: (dev, buf) => dma_free_attrs(k, device(dev), buf),
    dmaWrite: (dev, iova, bytes) => dmaWrite(k, device(dev), iova, bytes),
    dmaRead: (dev, iova, length) => dmaRead(k, device(dev), iova, length),
    readPhys: (phys, length) => physMem(live()).read(phys, length),
    writePhys: (phys, bytes) => physMem(live()).write(phys, bytes),
    advance: (ms) => live().clock.advance(ms),
    snapshot: () => ({ ...snapshot(live()), ...runRecord(k, opts.failNth) }),
    finish() {
      const snap = { ...snapshot(live()), ...runRecord(k, opts.failNth) };
      teardown(k);
      done = true;
      return { ...snap, leaks: leakReport(k) };
    },
  };
}
