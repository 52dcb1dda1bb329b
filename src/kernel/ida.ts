// SPDX-License-Identifier: GPL-2.0-only
/**
 * An ID allocator handing out the lowest free id, like lib/idr.c ida_alloc().
 * Freed ids go to a min-heap, so alloc and free are O(log n).
 */
export class Ida {
  private next = 0;
  private readonly freed: number[] = [];
  private readonly used = new Set<number>();

  alloc(): number {
    const id = this.freed.length > 0 ? this.popMin() : this.next++;
    this.used.add(id);
    return id;
  }

  /** Returns false (and changes nothing) for an id that is not allocated. */
  free(id: number): boolean {
    if (!this.used.delete(id)) return false;
    this.push(id);
    return true;
  }

  get size(): number {
    return this.used.size;
  }

  private push(id: number): void {
    this.freed.push(id);
    this.siftUp(this.freed.length - 1);
  }

  private popMin(): number {
    const h = this.freed;
    const min = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      this.siftDown(0);
    }
    return min;
  }

  private siftUp(i: number): void {
    const h = this.freed;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p] <= h[i]) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private siftDown(i: number): void {
    const h = this.freed;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l] < h[m]) m = l;
      if (r < h.length && h[r] < h[m]) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }
}
