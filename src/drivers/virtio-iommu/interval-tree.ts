// SPDX-License-Identifier: GPL-2.0-only
/**
 * An interval tree (include/linux/interval_tree_generic.h, lib/interval_tree.c):
 * closed intervals [start, last] kept in order of start, every node knowing
 * the largest `last` in its subtree, so finding the leftmost interval that
 * overlaps a range, and each next one, costs O(log n). virtio-iommu keeps its
 * mappings in one (struct viommu_domain.mappings); the device side of the
 * model (vmm-device.ts) keeps the VMM's per-domain mapping tree in another.
 *
 * The kernel balances an rbtree; this is a treap with the same search rules
 * (interval_tree_subtree_search(), _iter_first(), _iter_next()). Equal starts
 * go to the right on insert, as the kernel's insert does, and rotations keep
 * the in-order sequence, so iteration order is the kernel's. Priorities come
 * from a fixed-seed generator: every run builds the same shape.
 *
 * Addresses are numbers; a `last` of ULLONG_MAX is carried as 2^64 (the
 * nearest double), which still compares above every IOVA the model uses.
 */

export class IntervalNode<V> {
  left: IntervalNode<V> | null = null;
  right: IntervalNode<V> | null = null;
  parent: IntervalNode<V> | null = null;
  /** ITSUBTREE: the largest `last` in this subtree. */
  subtreeLast: number;

  constructor(
    readonly start: number,
    readonly last: number,
    readonly value: V,
    readonly prio: number,
  ) {
    this.subtreeLast = last;
  }
}

export class IntervalTree<V> {
  private root: IntervalNode<V> | null = null;
  private seed = 0x2545f491;
  /** Nodes in the tree. */
  size = 0;

  private nextPrio(): number {
    // xorshift32
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }

  private static fix<V>(n: IntervalNode<V>): void {
    let m = n.last;
    if (n.left && n.left.subtreeLast > m) m = n.left.subtreeLast;
    if (n.right && n.right.subtreeLast > m) m = n.right.subtreeLast;
    n.subtreeLast = m;
  }

  private replaceChild(
    parent: IntervalNode<V> | null,
    old: IntervalNode<V>,
    n: IntervalNode<V> | null,
  ): void {
    if (!parent) this.root = n;
    else if (parent.left === old) parent.left = n;
    else parent.right = n;
    if (n) n.parent = parent;
  }

  /** Rotate n up over its parent. */
  private rotateUp(n: IntervalNode<V>): void {
    const p = n.parent!;
    const g = p.parent;
    if (p.left === n) {
      p.left = n.right;
      if (n.right) n.right.parent = p;
      n.right = p;
    } else {
      p.right = n.left;
      if (n.left) n.left.parent = p;
      n.left = p;
    }
    p.parent = n;
    this.replaceChild(g, p, n);
    IntervalTree.fix(p);
    IntervalTree.fix(n);
  }

  /** interval_tree_insert(): a node for [start, last]; equal starts go after the ones already there. */
  insert(start: number, last: number, value: V): IntervalNode<V> {
    const n = new IntervalNode(start, last, value, this.nextPrio());
    let parent: IntervalNode<V> | null = null;
    let cur = this.root;
    while (cur) {
      parent = cur;
      if (cur.subtreeLast < last) cur.subtreeLast = last;
      cur = start < cur.start ? cur.left : cur.right;
    }
    n.parent = parent;
    if (!parent) this.root = n;
    else if (start < parent.start) parent.left = n;
    else parent.right = n;
    while (n.parent && n.parent.prio < n.prio) this.rotateUp(n);
    this.size++;
    return n;
  }

  /** interval_tree_remove() */
  remove(n: IntervalNode<V>): void {
    // Rotate the node down until it has at most one child, then splice it out.
    while (n.left && n.right) this.rotateUp(n.left.prio > n.right.prio ? n.left : n.right);
    const child = n.left ?? n.right;
    const p = n.parent;
    this.replaceChild(p, n, child);
    for (let a = p; a; a = a.parent) IntervalTree.fix(a);
    n.left = n.right = n.parent = null;
    this.size--;
  }

  /** interval_tree_subtree_search(): the leftmost node under `node` overlapping [start, last]. */
  private static subtreeSearch<V>(
    node: IntervalNode<V>,
    start: number,
    last: number,
  ): IntervalNode<V> | null {
    for (;;) {
      if (node.left && start <= node.left.subtreeLast) {
        node = node.left;
        continue;
      }
      if (node.start <= last) {
        if (start <= node.last) return node;
        if (node.right) {
          node = node.right;
          if (start <= node.subtreeLast) continue;
        }
      }
      return null;
    }
  }

  /** interval_tree_iter_first(): the first interval (by start) overlapping [start, last]. */
  iterFirst(start: number, last: number): IntervalNode<V> | null {
    const root = this.root;
    if (!root || root.subtreeLast < start) return null;
    let leftmost = root;
    while (leftmost.left) leftmost = leftmost.left;
    if (leftmost.start > last) return null;
    return IntervalTree.subtreeSearch(root, start, last);
  }

  /** interval_tree_iter_next(): the next interval after `node` overlapping [start, last]. */
  iterNext(node: IntervalNode<V>, start: number, last: number): IntervalNode<V> | null {
    let rb = node.right;
    for (;;) {
      if (rb && start <= rb.subtreeLast) return IntervalTree.subtreeSearch(rb, start, last);
      // Up until we come from a left child.
      let prev: IntervalNode<V>;
      do {
        const up = node.parent;
        if (!up) return null;
        prev = node;
        node = up;
        rb = node.right;
      } while (prev === rb);
      if (last < node.start) return null;
      if (start <= node.last) return node;
    }
  }

  /** Every node in order of start. */
  *[Symbol.iterator](): IterableIterator<IntervalNode<V>> {
    for (let n = this.iterFirst(-Infinity, Infinity); n; n = this.iterNext(n, -Infinity, Infinity)) yield n;
  }
}
