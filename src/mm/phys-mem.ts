// SPDX-License-Identifier: GPL-2.0-only
/**
 * The machine's physical memory, as devices see it through DMA: sparse, in
 * 4 KiB pages allocated on first write (reads of untouched memory return
 * zeros, as freshly zeroed RAM would). Addresses are numbers below 2^53.
 * One per modelled kernel.
 */
import type { Kernel } from '../kernel/kernel.js';

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;

/** A range the memory can hold: integer addresses from 0, below 2^53 to their end. */
function checkRange(what: string, addr: number, length: number): void {
  if (!(
    Number.isSafeInteger(addr) &&
    addr >= 0 &&
    Number.isSafeInteger(length) &&
    length >= 0 &&
    Number.isSafeInteger(addr + length)
  ))
    throw new RangeError(
      `physical memory ${what} of ${length} bytes at ${addr}: addresses and lengths are integers below 2^53`,
    );
}

export class PhysMemory {
  private readonly pages = new Map<number, Uint8Array>();

  /** Pages that have been written. */
  get pageCount(): number {
    return this.pages.size;
  }

  /** Copy `length` bytes at `addr` into a new array. */
  read(addr: number, length: number): Uint8Array {
    checkRange('read', addr, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const a = addr + done;
      const pfn = Math.floor(a / PAGE_SIZE);
      const off = a - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, length - done);
      const page = this.pages.get(pfn);
      if (page) out.set(page.subarray(off, off + n), done);
      done += n;
    }
    return out;
  }

  /** Write `bytes` at `addr`. */
  write(addr: number, bytes: Uint8Array): void {
    checkRange('write', addr, bytes.length);
    let done = 0;
    while (done < bytes.length) {
      const a = addr + done;
      const pfn = Math.floor(a / PAGE_SIZE);
      const off = a - pfn * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, bytes.length - done);
      let page = this.pages.get(pfn);
      if (!page) this.pages.set(pfn, (page = new Uint8Array(PAGE_SIZE)));
      page.set(bytes.subarray(done, done + n), off);
      done += n;
    }
  }
}

const memories = new WeakMap<Kernel, PhysMemory>();

/** The kernel's physical memory. */
export function physMem(k: Kernel): PhysMemory {
  let m = memories.get(k);
  if (!m) memories.set(k, (m = new PhysMemory()));
  return m;
}
