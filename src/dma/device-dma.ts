// SPDX-License-Identifier: GPL-2.0-only
/**
 * A device doing DMA: reads and writes of physical memory through its IOMMU
 * (src/iommu/translate.ts). A transfer is split at 4 KiB boundaries (at the
 * domain's page size where that is smaller), as translation works per page;
 * the pages before a faulting one complete, as the transactions a device had
 * issued before the abort would.
 *
 *   const r = dmaWrite(k, dev, 0xfffff000, bytes);
 *   if (!r.ok) console.log(r.fault.reason, r.fault.log);   // 'unmapped', [...]
 *   physMem(k).read(phys, n);                                // the data landed here
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import type { IommuFault } from '../iommu/translate.js';
import { iommuTranslate } from '../iommu/translate.js';
import { physMem } from '../mm/phys-mem.js';
import { lowBit } from '../iommu/map.js';

const PAGE = 4096;

export type DmaResult =
  | { readonly ok: true; readonly data: Uint8Array; readonly phys: readonly number[] }
  | { readonly ok: false; readonly fault: IommuFault; readonly done: number; readonly data: Uint8Array };

/** Each page of [iova, iova + length): its physical address, or the first fault. */
function walkPages(
  k: Kernel,
  dev: Device,
  iova: number,
  length: number,
  write: boolean,
  each: (phys: number, done: number, n: number) => void,
): { fault: IommuFault; done: number } | null {
  if (!(Number.isSafeInteger(iova) && iova >= 0 && Number.isSafeInteger(length) && length >= 0))
    throw new RangeError(`DMA of ${length} bytes at ${iova}: addresses and lengths are integers below 2^53`);
  // One translation covers a 4 KiB page, or less where the domain's smallest page is smaller (the iommufd mock's 2 KiB).
  const domain = dev.hwDomain ?? dev.iommu_group?.domain ?? null;
  const span = domain?.pgtable && domain.pgsize_bitmap ? Math.min(PAGE, lowBit(domain.pgsize_bitmap)) : PAGE;
  let done = 0;
  while (done < length) {
    const a = iova + done;
    const n = Math.min(span - (a % span), length - done);
    const t = iommuTranslate(k, dev, a, write);
    if ('fault' in t) return { fault: t.fault, done };
    each(t.phys, done, n);
    done += n;
  }
  return null;
}

/** The device reads `length` bytes at `iova` (memory to device). */
export function dmaRead(k: Kernel, dev: Device, iova: number, length: number): DmaResult {
  const data = new Uint8Array(length);
  const phys: number[] = [];
  const mem = physMem(k);
  const f = walkPages(k, dev, iova, length, false, (p, done, n) => {
    phys.push(p);
    data.set(mem.read(p, n), done);
  });
  if (f) return { ok: false, fault: f.fault, done: f.done, data: data.subarray(0, f.done) };
  return { ok: true, data, phys };
}

/** The device writes `bytes` at `iova` (device to memory). */
export function dmaWrite(k: Kernel, dev: Device, iova: number, bytes: Uint8Array): DmaResult {
  const phys: number[] = [];
  const mem = physMem(k);
  const f = walkPages(k, dev, iova, bytes.length, true, (p, done, n) => {
    phys.push(p);
    mem.write(p, bytes.subarray(done, done + n));
  });
  if (f) return { ok: false, fault: f.fault, done: f.done, data: bytes.subarray(0, f.done) };
  return { ok: true, data: bytes, phys };
}
