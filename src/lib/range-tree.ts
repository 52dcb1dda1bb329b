// SPDX-License-Identifier: GPL-2.0-only
/**
 * An ordered set of non-overlapping closed ranges [start, last] over the
 * 64-bit IOVA space, with the searches iommufd's io_pagetable needs from its
 * area tree (drivers/iommu/iommufd/io_pagetable.c, built on lib/interval_tree.c):
 * the lowest range intersecting [start, last] (interval_tree_iter_first()), an
 * in-order walk, and the holes between ranges (interval_tree_double_span_iter,
 * as iopt_alloc_iova() walks them to place an automatic IOVA).
 *
 * Every node also knows, for its subtree, the lowest start, the highest last
 * and the largest hole between two consecutive ranges inside it, so findHole()
 * skips whole subtrees whose holes are all too short: O(log n) per hole it
 * visits, however many ranges lie between them. The kernel's span iterators
 * step over every hole in turn; the model prunes so that it stays fast at 100k areas.
 *
 * Keys are bigint because the ABI's edge cases sit at U64_MAX. It is written
 * here because no maintained JS library offers an augmented ordered tree with
 * bigint keys and a gap search. The kernel balances an rbtree; this is a treap
 * with priorities from a fixed-seed xorshift generator, so every run builds the
 * same shape. Nothing recurses: the depth is O(log n) but the walks are loops.
 */

const U64_MAX = (1n << 64n) - 1n;

export interface RangeNode<V> {
  readonly start: bigint;
  readonly last: bigint;
  value: V;
}

class TreeNode<V> implements RangeNode<V> {
  left: TreeNode<V> | null = null;
  right: TreeNode<V> | null = null;
  parent: TreeNode<V> | null = null;
  /** The tree the node is in; null once removed. */
  owner: RangeTree<V> | null;
  /** The lowest start in this subtree. */
  min: bigint;
  /** The highest last in this subtree. */
  max: bigint;
  /** The longest hole between two consecutive ranges of this subtree (0n: none). */
  maxGap = 0n;

  constructor(
    readonly start: bigint,
    readonly last: bigint,
    public value: V,
    readonly prio: number,
    owner: RangeTree<V>,
  ) {
    this.min = start;
    this.max = last;
    this.owner = owner;
  }
}

/** A hole found by the gap search: it starts at `start` and ends just before `next`. */
interface Gap<V> {
  readonly start: bigint;
  readonly next: TreeNode<V>;
}

const bigMax = (a: bigint, b: bigint) => (a > b ? a : b);
const bigMin = (a: bigint, b: bigint) => (a < b ? a : b);

function leftmost<V>(n: TreeNode<V>): TreeNode<V> {
  while (n.left) n = n.left;
  return n;
}

function rightmost<V>(n: TreeNode<V>): TreeNode<V> {
  while (n.right) n = n.right;
  return n;
}

/** Recomputes n's subtree fields from its own range and its children's. */
function pull<V>(n: TreeNode<V>): void {
  let gap = 0n;
  n.min = n.start;
  n.max = n.last;
  if (n.left) {
    n.min = n.left.min;
    gap = bigMax(n.left.maxGap, n.start - n.left.max - 1n);
  }
  if (n.right) {
    n.max = n.right.max;
    gap = bigMax(gap, bigMax(n.right.maxGap, n.right.min - n.last - 1n));
  }
  n.maxGap = gap;
}

/** The first hole of at least `len` bytes between two ranges of root's subtree, or null. */
function firstGapIn<V>(root: TreeNode<V> | null, len: bigint): Gap<V> | null {
  if (!root || root.maxGap < len) return null;
  // Invariant: n.maxGap >= len, so the hole is on the left, next to n, or on the right.
  for (let n = root; ;) {
    const l = n.left;
    if (l && l.maxGap >= len) {
      n = l;
      continue;
    }
    if (l && n.start - l.max - 1n >= len) return { start: l.max + 1n, next: n };
    const r = n.right!;
    if (r.min - n.last - 1n >= len) return { start: n.last + 1n, next: leftmost(r) };
    n = r;
  }
}

/** The first hole of at least `len` bytes between n's right subtree and n, or in that subtree. */
function gapAfterOwn<V>(n: TreeNode<V>, len: bigint): Gap<V> | null {
  if (!n.right) return null;
  if (n.right.min - n.last - 1n >= len) return { start: n.last + 1n, next: leftmost(n.right) };
  return firstGapIn(n.right, len);
}

/**
 * The first hole of at least `len` bytes between two consecutive ranges, the
 * lower of them `from` or after it; null if there is none before the last range.
 */
function firstGapFrom<V>(from: TreeNode<V>, len: bigint): Gap<V> | null {
  const own = gapAfterOwn(from, len);
  if (own) return own;
  // Everything from `from` to the end of subtree n is searched; what follows is up the tree.
  for (let n = from; n.parent; n = n.parent) {
    const p = n.parent;
    if (p.left !== n) continue;
    if (p.start - n.max - 1n >= len) return { start: n.max + 1n, next: p };
    const g = gapAfterOwn(p, len);
    if (g) return g;
  }
  return null;
}

export class RangeTree<V> {
  private root: TreeNode<V> | null = null;
  private count = 0;
  private seed = 0x2545f491;

  /** Number of ranges. */
  get size(): number {
    return this.count;
  }

  private nextPrio(): number {
    // xorshift32
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }

  /** The tree's node behind a RangeNode handed back by insert(); throws for any other. */
  private own(node: RangeNode<V>): TreeNode<V> {
    if (!(node instanceof TreeNode) || node.owner !== this)
      throw new Error(`range [${hex(node.start)}, ${hex(node.last)}] is not in this tree`);
    return node as TreeNode<V>;
  }

  private replaceChild(parent: TreeNode<V> | null, old: TreeNode<V>, n: TreeNode<V> | null): void {
    if (!parent) this.root = n;
    else if (parent.left === old) parent.left = n;
    else parent.right = n;
    if (n) n.parent = parent;
  }

  /** Rotates n up over its parent. */
  private rotateUp(n: TreeNode<V>): void {
    const p = n.parent!;
    if (p.left === n) {
      p.left = n.right;
      if (n.right) n.right.parent = p;
      n.right = p;
    } else {
      p.right = n.left;
      if (n.left) n.left.parent = p;
      n.left = p;
    }
    this.replaceChild(p.parent, p, n);
    p.parent = n;
    pull(p);
    pull(n);
  }

  private static pullUp<V>(n: TreeNode<V> | null): void {
    for (; n; n = n.parent) pull(n);
  }

  /**
   * Inserts [start, last] (start <= last, both in 0..2^64-1). Throws RangeError if it overlaps an
   * existing range or the bounds are invalid (a programming error: callers check first).
   */
  insert(start: bigint, last: bigint, value: V): RangeNode<V> {
    if (typeof start !== 'bigint' || typeof last !== 'bigint' || start < 0n || start > last || last > U64_MAX)
      throw new RangeError(`invalid range [${hex(start)}, ${hex(last)}]`);
    // One descent finds both the parent and the neighbours an overlap would be with.
    let parent: TreeNode<V> | null = null;
    let pred: TreeNode<V> | null = null;
    let succ: TreeNode<V> | null = null;
    for (let cur = this.root; cur;) {
      parent = cur;
      if (start < cur.start) {
        succ = cur;
        cur = cur.left;
      } else {
        pred = cur;
        cur = cur.right;
      }
    }
    const hit = pred && pred.last >= start ? pred : succ && succ.start <= last ? succ : null;
    if (hit)
      throw new RangeError(
        `range [${hex(start)}, ${hex(last)}] overlaps [${hex(hit.start)}, ${hex(hit.last)}]`,
      );
    const n = new TreeNode(start, last, value, this.nextPrio(), this);
    n.parent = parent;
    if (!parent) this.root = n;
    else if (start < parent.start) parent.left = n;
    else parent.right = n;
    RangeTree.pullUp(parent);
    // Rotations keep the set of ranges under every node above n, so its ancestors stay right.
    while (n.parent && n.parent.prio < n.prio) this.rotateUp(n);
    this.count++;
    return n;
  }

  /** Removes a node previously returned by insert (throws if it is not in this tree). */
  remove(node: RangeNode<V>): void {
    const n = this.own(node);
    // Rotate the node down until it has at most one child, then splice it out.
    while (n.left && n.right) this.rotateUp(n.left.prio > n.right.prio ? n.left : n.right);
    const p = n.parent;
    this.replaceChild(p, n, n.left ?? n.right);
    RangeTree.pullUp(p);
    n.left = n.right = n.parent = null;
    n.owner = null;
    this.count--;
  }

  /** The lowest range intersecting [start, last] (inclusive), or null. */
  firstIntersecting(start: bigint, last: bigint): RangeNode<V> | null {
    // The ranges are disjoint, so ends rise with starts: the first range ending at or
    // after `start` is the only candidate.
    let found: TreeNode<V> | null = null;
    for (let cur = this.root; cur;) {
      if (cur.last >= start) {
        found = cur;
        cur = cur.left;
      } else cur = cur.right;
    }
    return found && found.start <= last && start <= last ? found : null;
  }

  /** In-order successor / first node / last node. */
  next(node: RangeNode<V>): RangeNode<V> | null {
    let n = this.own(node);
    if (n.right) return leftmost(n.right);
    while (n.parent && n.parent.right === n) n = n.parent;
    return n.parent;
  }

  first(): RangeNode<V> | null {
    return this.root && leftmost(this.root);
  }

  lastNode(): RangeNode<V> | null {
    return this.root && rightmost(this.root);
  }

  /**
   * The holes (maximal sub-ranges of [lo, hi] covered by no range) in ascending order, skipping
   * holes shorter than minLength bytes (minLength >= 1n): calls accept(holeStart, holeLast) for each
   * until it returns true. Returns whether some hole was accepted. Must cost O(log n) per hole
   * visited plus O(log n), by keeping in each node the largest gap between consecutive ranges inside
   * its subtree (and the subtree's min start / max last) and pruning subtrees whose largest gap is < minLength.
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
    const first = this.firstIntersecting(lo, hi) as TreeNode<V> | null;
    if (!first) return offer(lo, hi);
    if (first.start > lo && offer(lo, first.start - 1n)) return true;
    // Clipping to [lo, hi] only shortens a hole, so the ones firstGapFrom() skips stay too short.
    // offer() turns down a hole clipped to nothing (one starting past hi); the walk then ends.
    for (let n = first; n.last < hi;) {
      const gap = firstGapFrom(n, minLength);
      if (!gap) return offer(this.root!.max + 1n, hi); // past the last range
      if (offer(gap.start, bigMin(gap.next.start - 1n, hi))) return true;
      n = gap.next;
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
