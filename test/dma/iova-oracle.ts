// SPDX-License-Identifier: GPL-2.0-only
/**
 * A plain model of drivers/iommu/iova.c's allocation results, for the
 * property tests of src/dma/iova.ts: a sorted array of [lo, hi] ranges (the
 * anchor last) and the domain's cached ranges. The search is stated as what it
 * finds, not how it walks:
 *   1. the highest pfn p (a multiple of the alignment) with [p, p + size)
 *      free, p >= start_pfn and p + size <= min(limit, cached.lo);
 *   2. if none and cached.hi < limit: the highest such p >= cached.hi + 1 and
 *      p + size <= limit;
 *   3. else fail, remembering the size in max32_alloc_size.
 * "cached" is cached32 for limits at or below dma_32bit_pfn, else cached.
 */

export interface ORange {
  lo: number;
  hi: number;
}

export const ANCHOR = 2 ** 64;

export class IovaOracle {
  /** Sorted by lo; the anchor is always the last element. */
  readonly ranges: ORange[];
  readonly anchor: ORange = { lo: ANCHOR, hi: ANCHOR };
  cached: ORange;
  cached32: ORange;
  max32: number;
  readonly d32: number;

  constructor(
    granuleShift: number,
    readonly startPfn: number,
    readonly noShortcut = false,
  ) {
    this.d32 = 2 ** (32 - granuleShift);
    this.max32 = this.d32;
    this.ranges = [this.anchor];
    this.cached = this.anchor;
    this.cached32 = this.anchor;
  }

  private successor(r: ORange): ORange {
    return this.ranges[this.ranges.indexOf(r) + 1];
  }

  /** Highest aligned p in [low, highExcl - size] whose range is free. */
  private highestFit(size: number, align: number, low: number, highExcl: number): number | null {
    // Gaps from the top down: between ranges[i-1] and ranges[i].
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const top = Math.min(highExcl, this.ranges[i].lo);
      const floor = Math.max(low, i > 0 ? this.ranges[i - 1].hi + 1 : 0);
      if (top - size < floor) continue;
      const p = Math.floor((top - size) / align) * align;
      if (p >= floor) return p;
    }
    return null;
  }

  /** alloc_iova(): the new range's pfn_lo, or null. limitIncl is the caller's (inclusive) limit. */
  alloc(size: number, limitIncl: number, aligned: boolean): number | null {
    const limit = limitIncl + 1;
    if (!this.noShortcut && limit <= this.d32 && size >= this.max32) return null;
    const align = aligned ? 2 ** Math.ceil(Math.log2(size)) : 1;
    const c = limit <= this.d32 ? this.cached32 : this.cached;
    let p = this.highestFit(size, align, this.startPfn, Math.min(limit, c.lo));
    if (p === null && c.hi < limit) p = this.highestFit(size, align, c.hi + 1, limit);
    if (p === null) {
      if (!this.noShortcut) this.max32 = size;
      return null;
    }
    const r = { lo: p, hi: p + size - 1 };
    const at = this.ranges.findIndex((x) => x.lo > p);
    this.ranges.splice(at, 0, r);
    if (r.hi < this.d32) this.cached32 = r;
    else this.cached = r;
    return p;
  }

  find(pfn: number): ORange | null {
    return this.ranges.find((r) => r !== this.anchor && r.lo <= pfn && pfn <= r.hi) ?? null;
  }

  /** free_iova(): with the cached-node moves of __cached_rbnode_delete_update(). */
  free(pfn: number): void {
    const r = this.find(pfn);
    if (!r) return;
    if (r === this.cached32 || (r.hi < this.d32 && r.lo >= this.cached32.lo))
      this.cached32 = this.successor(r);
    if (r.lo < this.d32) this.max32 = this.d32;
    if (r.lo >= this.cached.lo) this.cached = this.successor(r);
    this.ranges.splice(this.ranges.indexOf(r), 1);
  }

  /** reserve_iova(), over the array. */
  reserve(lo: number, hi: number): ORange {
    let overlap = false;
    for (const r of this.ranges) {
      if (lo <= r.hi && hi >= r.lo) {
        if (lo < r.lo) r.lo = lo;
        if (hi > r.hi) lo = r.hi + 1;
        if (lo >= r.lo && hi <= r.hi) return r;
        overlap = true;
      } else if (overlap) break;
    }
    const r = { lo, hi };
    this.ranges.splice(
      this.ranges.findIndex((x) => x.lo > lo),
      0,
      r,
    );
    return r;
  }

  list(): [number, number][] {
    return this.ranges.filter((r) => r !== this.anchor).map((r) => [r.lo, r.hi]);
  }
}
