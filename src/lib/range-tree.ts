// SPDX-License-Identifier: GPL-2.0-only
/**
 * An ordered set of non-overlapping closed ranges [start, last] over the
 * 64-bit IOVA space, with the searches iommufd's io_pagetable needs from its
 * area tree (drivers/iommu/iommufd/io_pagetable.c, built on lib/interval_tree.c):
 * the lowest range intersecting [start, last] (interval_tree_iter_first()), an
 * in-order walk, and the holes between ranges (interval_tree_double_span_iter,
 * as iopt_alloc_iova() walks them to place an automatic IOVA).
 *
 * The kernel balances an rbtree of nodes embedded in its areas. This is a
 * B+tree whose nodes live in typed arrays: each node holds up to `fanout`
 * slots, a slot's bounds stored as 32-bit halves side by side (for a leaf, a
 * range; for an inner node, the lowest start and highest last of a child's
 * subtree), so a lookup reads a few cache lines per level instead of a node
 * object and two bigint keys per level of a binary tree; at 100k ranges a
 * lookup is 4 levels deep. Every node also keeps the longest hole between
 * two consecutive ranges inside its subtree (a float64 rounded from the exact
 * length: rounding is monotonic, so comparing it with the rounded minimum
 * never prunes a subtree that holds a long enough hole; a candidate is then
 * checked exactly), so findHole() skips whole subtrees whose holes are all
 * too short: O(log n) per hole it visits, however many ranges lie between.
 *
 * The caller keeps a RangeNode per range (start, last as bigint: the ABI's
 * edge cases sit at U64_MAX) and hands it back to remove() and next(); the
 * tree finds its slot again by its start. Nodes under a quarter full borrow from or merge with a sibling, so the depth stays O(log n)
 * through any sequence. Deterministic: the shape depends only on the
 * operations. Written here because no maintained JS library offers an
 * augmented ordered tree over u64 keys with a gap search.
 */

const U64_MAX = (1n << 64n) - 1n;
const TWO32 = 4294967296;
const TWO53 = 2 ** 53;

/** A bigint's 32-bit halves without allocating: a BigUint64Array and a Uint32Array over one buffer. */
const conv = new BigUint64Array(1);
const convHalves = new Uint32Array(conv.buffer);
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LE ? 0 : 1;
const HI = LE ? 1 : 0;

const big = (hi: number, lo: number): bigint => (BigInt(hi) << 32n) | BigInt(lo);

export interface RangeNode<V> {
  readonly start: bigint;
  readonly last: bigint;
  value: V;
}

class Entry<V> implements RangeNode<V> {
  constructor(
    readonly start: bigint,
    readonly last: bigint,
    public value: V,
    /** The tree the range is in; null once removed. */
    public owner: RangeTree<V> | null,
  ) {}
}

export interface RangeTreeOptions {
  /** Slots per node (at least 4; default 32). Small values exercise the splits and merges in tests. */
  readonly fanout?: number;
}

export class RangeTree<V> {
  private readonly B: number;
  /** Below this many slots a node (other than the root) borrows from or merges with a sibling. */
  private readonly MIN: number;
  private cap = 0;
  // Per node.
  private cnt = new Int32Array(0);
  private isLeaf = new Uint8Array(0);
  private parent = new Int32Array(0);
  private nextLeaf = new Int32Array(0);
  /** The longest hole between consecutive ranges inside the node's subtree, rounded (0: none). */
  private gap = new Float64Array(0);
  // Per slot (node * B + i): a range in a leaf, a child's lowest start and highest last in an inner node.
  private sHi = new Uint32Array(0);
  private sLo = new Uint32Array(0);
  private lHi = new Uint32Array(0);
  private lLo = new Uint32Array(0);
  private kids = new Int32Array(0);
  private items: (Entry<V> | undefined)[] = [];
  private freeIds: number[] = [];
  private used = 0;
  private root: number;
  /** The leftmost leaf: splits add nodes on the right and merges free the right one, so it never changes. */
  private readonly head: number;
  private count = 0;
  // Results of the position searches (no allocation): a leaf and a slot in it.
  private pl = -1;
  private pk = -1;
  // The end of the range before the hole gapIn()/gapAfter() found.
  private gHi = 0;
  private gLo = 0;

  constructor(opts: RangeTreeOptions = {}) {
    const b = opts.fanout ?? 32;
    if (!Number.isInteger(b) || b < 4) throw new RangeError(`fanout ${b}: at least 4`);
    this.B = b;
    // At least 2, so that every node but the root has a sibling to borrow from or merge with.
    this.MIN = Math.max(2, b >> 2);
    this.root = this.head = this.newNode(true);
  }

  /** Number of ranges. */
  get size(): number {
    return this.count;
  }

  // ---- node storage ----

  private grow(): void {
    const cap = this.cap === 0 ? 4 : this.cap * 2;
    const B = this.B;
    const re = <T extends Int32Array | Uint32Array | Uint8Array | Float64Array>(a: T, n: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.cnt = re(this.cnt, cap);
    this.isLeaf = re(this.isLeaf, cap);
    this.parent = re(this.parent, cap);
    this.nextLeaf = re(this.nextLeaf, cap);
    this.gap = re(this.gap, cap);
    this.sHi = re(this.sHi, cap * B);
    this.sLo = re(this.sLo, cap * B);
    this.lHi = re(this.lHi, cap * B);
    this.lLo = re(this.lLo, cap * B);
    this.kids = re(this.kids, cap * B);
    this.cap = cap;
  }

  private newNode(leaf: boolean): number {
    let id = this.freeIds.pop();
    if (id === undefined) {
      if (this.used === this.cap) this.grow();
      id = this.used++;
    }
    this.cnt[id] = 0;
    this.isLeaf[id] = leaf ? 1 : 0;
    this.parent[id] = -1;
    this.nextLeaf[id] = -1;
    this.gap[id] = 0;
    return id;
  }

  private freeNode(id: number): void {
    const base = id * this.B;
    for (let i = 0; i < this.B; i++) this.items[base + i] = undefined;
    this.freeIds.push(id);
  }

  /** Copies slot `from` of node a to slot `to` of node b (bounds, and the child or the range). */
  private moveSlot(a: number, from: number, b: number, to: number): void {
    const B = this.B;
    const f = a * B + from;
    const t = b * B + to;
    this.sHi[t] = this.sHi[f];
    this.sLo[t] = this.sLo[f];
    this.lHi[t] = this.lHi[f];
    this.lLo[t] = this.lLo[f];
    if (this.isLeaf[a]) {
      this.items[t] = this.items[f];
      this.items[f] = undefined;
    } else {
      const c = this.kids[f];
      this.kids[t] = c;
      this.parent[c] = b;
    }
  }

  // ---- aggregates ----

  /** The rounded length of the hole between a range ending at (pHi, pLo) and one starting at (nHi, nLo). */
  private static holeF(pHi: number, pLo: number, nHi: number, nLo: number): number {
    // One rounding only (both terms are exact), so the result is the exact length rounded, and
    // rounding is monotonic: comparing it with the rounded minimum never rejects a long enough hole.
    return (nHi - pHi) * TWO32 + (nLo - pLo - 1);
  }

  /** Whether that hole is at least minLength bytes (minF: minLength rounded). */
  private static holeFits(
    pHi: number,
    pLo: number,
    nHi: number,
    nLo: number,
    minF: number,
    min: bigint,
  ): boolean {
    const d = RangeTree.holeF(pHi, pLo, nHi, nLo);
    if (d < minF) return false;
    // Below 2^53 both are exact; above, the exact lengths decide.
    if (d < TWO53 && minF < TWO53) return true;
    return big(nHi, nLo) - big(pHi, pLo) - 1n >= min;
  }

  /** Recomputes node x's longest inner hole from its slots (and its children's). */
  private computeGap(x: number): void {
    const B = this.B;
    const base = x * B;
    const n = this.cnt[x];
    let g = 0;
    for (let i = base + 1; i < base + n; i++) {
      const d = RangeTree.holeF(this.lHi[i - 1], this.lLo[i - 1], this.sHi[i], this.sLo[i]);
      if (d > g) g = d;
    }
    if (!this.isLeaf[x])
      for (let i = base; i < base + n; i++) {
        const d = this.gap[this.kids[i]];
        if (d > g) g = d;
      }
    this.gap[x] = g;
  }

  /** p's slot j from its child's first and last slots. */
  private setSlotFromChild(p: number, j: number): void {
    const B = this.B;
    const t = p * B + j;
    const c = this.kids[t];
    const f = c * B;
    const l = f + this.cnt[c] - 1;
    this.sHi[t] = this.sHi[f];
    this.sLo[t] = this.sLo[f];
    this.lHi[t] = this.lHi[l];
    this.lLo[t] = this.lLo[l];
  }

  private indexOfChild(p: number, c: number): number {
    const base = p * this.B;
    for (let i = 0, n = this.cnt[p]; i < n; i++) if (this.kids[base + i] === c) return i;
    throw new Error(`range tree: node ${c} is not a child of ${p}`);
  }

  /** After a change in node x: its hole and its bounds in every ancestor. */
  private refresh(x: number): void {
    for (;;) {
      this.computeGap(x);
      const p = this.parent[x];
      if (p < 0) return;
      this.setSlotFromChild(p, this.indexOfChild(p, x));
      x = p;
    }
  }

  // ---- searches ----

  /** The first slot of node x whose last is >= (kHi, kLo), or its count when none is. */
  private lowerLast(x: number, kHi: number, kLo: number): number {
    const base = x * this.B;
    let lo = 0;
    let hi = this.cnt[x];
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      const h = this.lHi[base + m];
      if (h > kHi || (h === kHi && this.lLo[base + m] >= kLo)) hi = m;
      else lo = m + 1;
    }
    return lo;
  }

  /** The first range whose last is >= (kHi, kLo), into pl/pk; false when there is none. */
  private seek(kHi: number, kLo: number): boolean {
    let x = this.root;
    while (!this.isLeaf[x]) {
      const j = this.lowerLast(x, kHi, kLo);
      if (j === this.cnt[x]) return false;
      x = this.kids[x * this.B + j];
    }
    const k = this.lowerLast(x, kHi, kLo);
    if (k === this.cnt[x]) return false;
    this.pl = x;
    this.pk = k;
    return true;
  }

  /** The range's slot into pl/pk; throws for a range that is not in this tree. */
  private locate(node: RangeNode<V>): void {
    if (node instanceof Entry && node.owner === this) {
      conv[0] = node.start;
      if (this.seek(convHalves[HI], convHalves[LO]) && this.items[this.pl * this.B + this.pk] === node)
        return;
    }
    throw new Error(`range [${hex(node.start)}, ${hex(node.last)}] is not in this tree`);
  }

  /** The leftmost leaf under x, into pl (pk = 0). */
  private leftmost(x: number): void {
    while (!this.isLeaf[x]) x = this.kids[x * this.B];
    this.pl = x;
    this.pk = 0;
  }

  /**
   * The first hole of at least min bytes between two consecutive ranges inside subtree x: the
   * range after it into pl/pk, the end of the one before into gHi/gLo.
   */
  private gapIn(x: number, minF: number, min: bigint): boolean {
    const base = x * this.B;
    const n = this.cnt[x];
    const leaf = this.isLeaf[x] === 1;
    for (let i = 0; i < n; i++) {
      const t = base + i;
      if (
        i > 0 &&
        RangeTree.holeFits(this.lHi[t - 1], this.lLo[t - 1], this.sHi[t], this.sLo[t], minF, min)
      ) {
        this.gHi = this.lHi[t - 1];
        this.gLo = this.lLo[t - 1];
        if (leaf) {
          this.pl = x;
          this.pk = i;
        } else this.leftmost(this.kids[t]);
        return true;
      }
      if (!leaf && this.gap[this.kids[t]] >= minF && this.gapIn(this.kids[t], minF, min)) return true;
    }
    return false;
  }

  /** The first such hole after the range at slot k of leaf x (as gapIn()). */
  private gapAfter(x: number, k: number, minF: number, min: bigint): boolean {
    const B = this.B;
    const base = x * B;
    const n = this.cnt[x];
    for (let t = base + k + 1; t < base + n; t++)
      if (RangeTree.holeFits(this.lHi[t - 1], this.lLo[t - 1], this.sHi[t], this.sLo[t], minF, min)) {
        this.gHi = this.lHi[t - 1];
        this.gLo = this.lLo[t - 1];
        this.pl = x;
        this.pk = t - base;
        return true;
      }
    // Everything up to the end of x's subtree is searched; what follows is in the ancestors' later children.
    let pHi = this.lHi[base + n - 1];
    let pLo = this.lLo[base + n - 1];
    for (let p = this.parent[x]; p >= 0; x = p, p = this.parent[p]) {
      const pb = p * B;
      for (let t = pb + this.indexOfChild(p, x) + 1; t < pb + this.cnt[p]; t++) {
        if (RangeTree.holeFits(pHi, pLo, this.sHi[t], this.sLo[t], minF, min)) {
          this.gHi = pHi;
          this.gLo = pLo;
          this.leftmost(this.kids[t]);
          return true;
        }
        if (this.gap[this.kids[t]] >= minF && this.gapIn(this.kids[t], minF, min)) return true;
        pHi = this.lHi[t];
        pLo = this.lLo[t];
      }
    }
    return false;
  }

  // ---- insert ----

  /**
   * Inserts [start, last] (start <= last, both in 0..2^64-1). Throws RangeError if it overlaps an
   * existing range or the bounds are invalid (a programming error: callers check first).
   */
  insert(start: bigint, last: bigint, value: V): RangeNode<V> {
    if (typeof start !== 'bigint' || typeof last !== 'bigint' || start < 0n || start > last || last > U64_MAX)
      throw new RangeError(`invalid range [${hex(start)}, ${hex(last)}]`);
    const B = this.B;
    conv[0] = start;
    const sHi = convHalves[HI];
    const sLo = convHalves[LO];
    conv[0] = last;
    const lHi = convHalves[HI];
    const lLo = convHalves[LO];
    // Down to the leaf where the first range ending at or after start is (or the last leaf).
    let x = this.root;
    while (!this.isLeaf[x]) {
      const j = this.lowerLast(x, sHi, sLo);
      x = this.kids[x * B + (j === this.cnt[x] ? j - 1 : j)];
    }
    let k = this.lowerLast(x, sHi, sLo);
    // The range before k ends before start; the one at k (if any) is the only one it could overlap.
    if (k < this.cnt[x]) {
      const t = x * B + k;
      if (this.sHi[t] < lHi || (this.sHi[t] === lHi && this.sLo[t] <= lLo)) {
        const hit = this.items[t]!;
        throw new RangeError(
          `range [${hex(start)}, ${hex(last)}] overlaps [${hex(hit.start)}, ${hex(hit.last)}]`,
        );
      }
    }
    if (this.cnt[x] === B) {
      const right = this.split(x);
      if (k > this.cnt[x]) {
        k -= this.cnt[x];
        x = right;
      }
    }
    for (let i = this.cnt[x]; i > k; i--) this.moveSlot(x, i - 1, x, i);
    const t = x * B + k;
    this.sHi[t] = sHi;
    this.sLo[t] = sLo;
    this.lHi[t] = lHi;
    this.lLo[t] = lLo;
    const e = new Entry(start, last, value, this);
    this.items[t] = e;
    this.cnt[x]++;
    this.count++;
    this.refresh(x);
    return e;
  }

  /** Splits the full node x: its upper half moves to a new node after it in its parent. */
  private split(x: number): number {
    const leaf = this.isLeaf[x] === 1;
    const y = this.newNode(leaf);
    const n = this.cnt[x];
    const keep = n >> 1;
    for (let i = keep; i < n; i++) this.moveSlot(x, i, y, i - keep);
    this.cnt[x] = keep;
    this.cnt[y] = n - keep;
    if (leaf) {
      this.nextLeaf[y] = this.nextLeaf[x];
      this.nextLeaf[x] = y;
    }
    this.computeGap(x);
    this.computeGap(y);
    this.insertChildAfter(x, y);
    return y;
  }

  /** Puts node y in x's parent right after x (a new root over both when x is the root). */
  private insertChildAfter(x: number, y: number): void {
    const B = this.B;
    let p = this.parent[x];
    if (p < 0) {
      p = this.newNode(false);
      this.kids[p * B] = x;
      this.parent[x] = p;
      this.cnt[p] = 1;
      this.root = p;
    }
    if (this.cnt[p] === B) {
      const q = this.split(p);
      if (this.parent[x] === q) p = q;
    }
    const j = this.indexOfChild(p, x);
    this.setSlotFromChild(p, j);
    for (let i = this.cnt[p]; i > j + 1; i--) this.moveSlot(p, i - 1, p, i);
    this.kids[p * B + j + 1] = y;
    this.parent[y] = p;
    this.cnt[p]++;
    this.setSlotFromChild(p, j + 1);
    this.computeGap(p);
  }

  // ---- remove ----

  /** Removes a node previously returned by insert (throws if it is not in this tree). */
  remove(node: RangeNode<V>): void {
    this.locate(node);
    const x = this.pl;
    const n = this.cnt[x];
    this.items[x * this.B + this.pk] = undefined;
    for (let i = this.pk + 1; i < n; i++) this.moveSlot(x, i, x, i - 1);
    this.cnt[x] = n - 1;
    (node as Entry<V>).owner = null;
    this.count--;
    this.rebalance(x);
  }

  /** After x lost a slot: borrow from or merge with a sibling while under MIN, then refresh upwards. */
  private rebalance(x: number): void {
    const B = this.B;
    for (;;) {
      const p = this.parent[x];
      if (p < 0) {
        // The root: an inner root with one child hands the tree to it.
        if (!this.isLeaf[x] && this.cnt[x] === 1) {
          this.root = this.kids[x * B];
          this.parent[this.root] = -1;
          this.freeNode(x);
        } else this.computeGap(x);
        return;
      }
      if (this.cnt[x] >= this.MIN) {
        this.refresh(x);
        return;
      }
      const j = this.indexOfChild(p, x);
      const ja = j > 0 ? j - 1 : j;
      const a = this.kids[p * B + ja];
      const b = this.kids[p * B + ja + 1];
      const na = this.cnt[a];
      const nb = this.cnt[b];
      if (na + nb <= B) {
        // Merge b into a; p loses b's slot.
        for (let i = 0; i < nb; i++) this.moveSlot(b, i, a, na + i);
        this.cnt[a] = na + nb;
        this.cnt[b] = 0;
        if (this.isLeaf[a]) this.nextLeaf[a] = this.nextLeaf[b];
        this.freeNode(b);
        for (let i = ja + 2, n = this.cnt[p]; i < n; i++) this.moveSlot(p, i, p, i - 1);
        this.cnt[p]--;
        this.computeGap(a);
        this.setSlotFromChild(p, ja);
        x = p;
        continue;
      }
      // Borrow: even the two out.
      const want = (na + nb) >> 1;
      if (na < want) {
        const move = want - na;
        for (let i = 0; i < move; i++) this.moveSlot(b, i, a, na + i);
        for (let i = move; i < nb; i++) this.moveSlot(b, i, b, i - move);
        this.cnt[a] = want;
        this.cnt[b] = nb - move;
      } else {
        const move = na - want;
        for (let i = nb - 1; i >= 0; i--) this.moveSlot(b, i, b, i + move);
        for (let i = 0; i < move; i++) this.moveSlot(a, want + i, b, i);
        this.cnt[a] = want;
        this.cnt[b] = nb + move;
      }
      this.computeGap(a);
      this.computeGap(b);
      this.setSlotFromChild(p, ja);
      this.setSlotFromChild(p, ja + 1);
      this.refresh(p);
      return;
    }
  }

  // ---- queries ----

  /** The lowest range intersecting [start, last] (inclusive), or null. */
  firstIntersecting(start: bigint, last: bigint): RangeNode<V> | null {
    if (start > last || start > U64_MAX || last < 0n) return null;
    if (start < 0n) start = 0n;
    // The ranges are disjoint, so ends rise with starts: the first range ending at or
    // after `start` is the only candidate.
    conv[0] = start;
    if (!this.seek(convHalves[HI], convHalves[LO])) return null;
    const e = this.items[this.pl * this.B + this.pk]!;
    return e.start <= last ? e : null;
  }

  /** In-order successor / first node / last node. */
  next(node: RangeNode<V>): RangeNode<V> | null {
    this.locate(node);
    const x = this.pl;
    if (this.pk + 1 < this.cnt[x]) return this.items[x * this.B + this.pk + 1]!;
    const y = this.nextLeaf[x];
    return y < 0 ? null : this.items[y * this.B]!;
  }

  first(): RangeNode<V> | null {
    return this.count === 0 ? null : this.items[this.head * this.B]!;
  }

  lastNode(): RangeNode<V> | null {
    if (this.count === 0) return null;
    let x = this.root;
    while (!this.isLeaf[x]) x = this.kids[x * this.B + this.cnt[x] - 1];
    return this.items[x * this.B + this.cnt[x] - 1]!;
  }

  /**
   * The holes (maximal sub-ranges of [lo, hi] covered by no range) in ascending order, skipping
   * holes shorter than minLength bytes (minLength >= 1n): calls accept(holeStart, holeLast) for each
   * until it returns true. Returns whether some hole was accepted. Costs O(log n) per hole
   * visited plus O(log n): subtrees whose longest hole is shorter than minLength are skipped.
   */
  findHole(
    lo: bigint,
    hi: bigint,
    minLength: bigint,
    accept: (start: bigint, last: bigint) => boolean,
  ): boolean {
    if (lo < 0n || hi > U64_MAX || minLength < 1n)
      throw new RangeError(`invalid hole search [${hex(lo)}, ${hex(hi)}] length ${hex(minLength)}`);
    const offer = (s: bigint, l: bigint) => l - s + 1n >= minLength && accept(s, l);
    if (lo > hi) return false;
    const first = this.firstIntersecting(lo, hi);
    if (!first) return offer(lo, hi);
    if (first.start > lo && offer(lo, first.start - 1n)) return true;
    const minF = Number(minLength);
    // Clipping to [lo, hi] only shortens a hole, so the ones gapAfter() skips stay too short.
    // offer() turns down a hole clipped to nothing (one starting past hi); the walk then ends.
    this.locate(first);
    for (let n = first; n.last < hi;) {
      if (!this.gapAfter(this.pl, this.pk, minF, minLength)) return offer(this.lastNode()!.last + 1n, hi);
      const next = this.items[this.pl * this.B + this.pk]!;
      const gapLast = next.start - 1n;
      // offer() may change nothing in the tree, so pl/pk stay next's slot.
      const x = this.pl;
      const k = this.pk;
      if (offer(big(this.gHi, this.gLo) + 1n, gapLast < hi ? gapLast : hi)) return true;
      this.pl = x;
      this.pk = k;
      n = next;
    }
    return false;
  }

  /**
   * Ascending iteration. The node just yielded may be removed before asking for
   * the next one; any other change to the tree during the walk is not allowed.
   */
  *[Symbol.iterator](): IterableIterator<RangeNode<V>> {
    for (let n = this.first(); n;) {
      const succ = this.next(n);
      yield n;
      n = succ;
    }
  }
}

function hex(v: unknown): string {
  return typeof v === 'bigint' ? `0x${v.toString(16)}` : String(v);
}
