// SPDX-License-Identifier: GPL-2.0-only
/**
 * The map/unmap rules of one page-table family, over the engine's shared
 * parts (engine.ts: the compiled format, table memory, table allocation and
 * accounting, WARNs, TLB callbacks). io-pgtable-arm's rules are the engine's
 * own; each other family of Linux 6.12 has a file here, because each has its
 * own algorithm with its own answers to the questions that matter to a caller:
 * what a map over an existing mapping does, what unmapping part of a large
 * leaf does, and when a table that became empty is freed.
 *
 * Calling convention, as the engine's own hot functions: addresses travel in
 * the engine's `arg` Float64Array (a number of 2^30 or more passed to a call
 * V8 does not inline is boxed, an allocation), counts and errnos as small
 * integers.
 */
import type { DirtyRecord, IoPgtable, MappedOut } from '../engine.js';

export interface PgtableRules {
  /**
   * map_pages of arg[0] (iova), arg[1] (paddr), arg[2] (pgsize): 0 or a
   * negative errno; the bytes mapped are added to out.mapped as the kernel
   * adds them to *mapped.
   */
  map(e: IoPgtable, pgcount: number, prot: number, out: MappedOut): number;
  /** unmap_pages of arg[0] (iova), arg[1] (pgsize): the bytes unmapped go to arg[2]. */
  unmap(e: IoPgtable, pgcount: number): void;
  /** iova_to_phys of arg[0] into arg[1] (0: no translation). */
  iovaToPhys(e: IoPgtable): void;
  /** read_and_clear_dirty, where the driver has one. */
  readAndClearDirty?(e: IoPgtable, iova: number, size: number, flags: number, record: DirtyRecord): number;
}

const TWO32 = 4294967296;

/** An address's low 32-bit word. */
export const wLo = (a: number): number => a >>> 0;
/** An address's high 32-bit word (addresses below 2^53). */
export const wHi = (a: number): number => (a - (a >>> 0)) / TWO32;
/** An address from its words. */
export const fromWords = (lo: number, hi: number): number => (lo >>> 0) + (hi >>> 0) * TWO32;

/** __ffs() of a power-of-two-or-not positive integer below 2^53: the index of its lowest set bit. */
export function ffs(v: number): number {
  let n = 0;
  let x = v;
  while (x % 4294967296 === 0 && x > 0) {
    x /= 4294967296;
    n += 32;
  }
  const lo = x >>> 0;
  return n + 31 - Math.clz32(lo & -lo);
}

/** A positive integer below 2^53 that is a power of two. */
export const isPow2 = (v: number): boolean => v > 0 && Number.isInteger(v) && v === 2 ** ffs(v);
