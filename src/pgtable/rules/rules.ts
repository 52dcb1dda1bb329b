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
import { VIEW_SHIFT } from '../memory.js';

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
  /**
   * Freeing every table, where a link is not always a table of this table's
   * own (exynos: ZERO_LV2LINK points at a level-2 table all domains share).
   * Default: the engine's __free_pgtable() from the root.
   */
  freeAll?(e: IoPgtable): void;
}

const TWO32 = 4294967296;

/** An address's low 32-bit word. */
export const wLo = (a: number): number => a >>> 0;
/** An address's high 32-bit word (addresses below 2^53). */
export const wHi = (a: number): number => (a - (a >>> 0)) / TWO32;
/** An address from its words. */
export const fromWords = (lo: number, hi: number): number => (lo >>> 0) + (hi >>> 0) * TWO32;

/*
 * Arithmetic without the C library: in V8's optimised code `2 ** n` and `x % y`
 * on numbers past int32 are calls into C (tens of ns each), where a table
 * look-up, a bit operation or a floor division by a power of two is a few
 * instructions. The helpers below are exact for the integers the rules use.
 */

const POW2 = Float64Array.from({ length: 64 }, (_, n) => 2 ** n);

/** 2^n for an integer n >= 0. */
export const pow2 = (n: number): number => (n < 64 ? POW2[n] : 2 ** n);

/** ALIGN_DOWN() of an integer x to a power of two size (x - x % size for x >= 0). */
export const alignDown = (x: number, size: number): number =>
  size <= 0x80000000 ? x - (x & (size - 1)) : Math.floor(x / size) * size;

/** x % size === 0, for an integer x and a power of two size. */
export const isAligned = (x: number, size: number): boolean =>
  size <= 0x80000000 ? (x & (size - 1)) === 0 : Math.floor(x / size) * size === x;

/** __ffs() of a power-of-two-or-not positive integer below 2^53: the index of its lowest set bit. */
export function ffs(v: number): number {
  const lo = v >>> 0;
  if (lo === v && lo !== 0) return 31 - Math.clz32(lo & -lo);
  let n = 0;
  let x = v;
  while (x % 4294967296 === 0 && x > 0) {
    x /= 4294967296;
    n += 32;
  }
  const l = x >>> 0;
  return n + 31 - Math.clz32(l & -l);
}

/** BIT(__ffs(v)): the lowest set bit of a positive integer, as a value. */
export function lowestBit(v: number): number {
  const lo = v >>> 0;
  if (lo === v && lo !== 0) return (lo & -lo) >>> 0;
  return 2 ** ffs(v);
}

/** A positive integer below 2^53 that is a power of two. */
export function isPow2(v: number): boolean {
  if (!(v > 0) || !Number.isInteger(v)) return false;
  const lo = v >>> 0;
  if (lo === v) return (lo & (lo - 1)) === 0;
  return v === 2 ** ffs(v);
}

/**
 * iopte_deref() for the formats whose output address is only `direct` bits
 * (VT-d, AMD, the mock): the table a table entry (lo, hi) points at. The
 * engine's tableAt() also reassembles moved address bits; this one is small
 * enough for V8 to inline into a walk.
 */
export function tableOf(e: IoPgtable, lo: number, hi: number): Int32Array | undefined {
  const f = e.f;
  const mem = e.memory;
  const off = mem.blockOffset(lo & f.oaLo, hi & f.oaHi);
  return off < 0 ? undefined : mem.views[off >>> VIEW_SHIFT];
}
