// SPDX-License-Identifier: GPL-2.0-only
/**
 * The rbtree that holds an IOVA domain's `struct iova` nodes: a pool of nodes
 * with lib/rbtree.c's operations on it (rb_link_node, rb_insert_color,
 * rb_erase, rb_next, rb_prev, rb_first, rb_last). drivers/iommu/iova.c does
 * its own descents (where to insert, which node holds a pfn, where the limit
 * is) and so does src/dma/iova.ts; this file only keeps the tree balanced and
 * steps through it in order.
 *
 * Why a tree of our own and not an npm one: iova.c needs more than a sorted
 * map. It walks the tree's shape (iova_find_limit() goes down left and right
 * children), inserts starting below a given node (iova_insert_rbtree() with
 * `start`), keeps node pointers across operations (cached_node, the caller's
 * `struct iova *`) and steps from a node to its neighbours. The sorted-map
 * packages (bintrees, js-sdsl, functional-red-black-tree, …) hide their nodes
 * or allocate an object (or a whole path) per insert. Here a node is an index
 * into one ArrayBuffer, so the hot path allocates nothing and the garbage
 * collector never sees a node.
 *
 * Layout: node n is a 32-byte record at byte 32n, two to a cache line:
 *   f64[4n]     pfn_lo          f64[4n + 1]  pfn_hi
 *   i32[8n + 4] rb_left         i32[8n + 5]  rb_right
 *   i32[8n + 6] parent          i32[8n + 7]  colour (RB_RED, RB_BLACK; FREE in the pool)
 * RB_NULL (-1) is NULL. A free node's rb_left links the pool's free list.
 * pfns are JS numbers: exact up to 2^53, which covers a 64-bit IOVA space at
 * any granule of 2 KiB or more.
 *
 * The rebalancing cases are lib/rbtree.c's (__rb_insert, ____rb_erase_color,
 * and __rb_erase_augmented's choice of the successor), so a sequence of
 * operations gives the kernel's tree shape. Erase relinks the successor node
 * into the erased node's place instead of copying payloads, as the kernel
 * does, so every other node keeps its index.
 */

export const RB_NULL = -1;
const RB_RED = 0;
const RB_BLACK = 1;
const FREE = 2;

const RECORD_BYTES = 32;

export class IovaTree {
  /** pfn_lo / pfn_hi of every node (4 doubles per node, 2 used). Replaced when the pool grows. */
  f64: Float64Array;
  /** Links and colour of every node (8 int32 per node, 4 used). Replaced when the pool grows. */
  i32: Int32Array;
  /** rb_root.rb_node */
  root = RB_NULL;
  /** Nodes in use (allocated and not yet freed). */
  live = 0;
  private capacity: number;
  private freeHead = RB_NULL;
  private used = 0;

  constructor(initialCapacity = 64) {
    this.capacity = Math.max(2, initialCapacity);
    const buf = new ArrayBuffer(this.capacity * RECORD_BYTES);
    this.f64 = new Float64Array(buf);
    this.i32 = new Int32Array(buf);
  }

  /** A node from the pool, detached, with its range set (kmem_cache_zalloc + fill). */
  allocNode(pfnLo: number, pfnHi: number): number {
    let n = this.freeHead;
    if (n !== RB_NULL) {
      this.freeHead = this.i32[8 * n + 4];
    } else {
      if (this.used === this.capacity) this.grow();
      n = this.used++;
    }
    this.live++;
    this.f64[4 * n] = pfnLo;
    this.f64[4 * n + 1] = pfnHi;
    const b = 8 * n + 4;
    this.i32[b] = RB_NULL;
    this.i32[b + 1] = RB_NULL;
    this.i32[b + 2] = RB_NULL;
    this.i32[b + 3] = RB_RED;
    return n;
  }

  /** Back to the pool (kmem_cache_free). The node must already be out of the tree. */
  freeNode(n: number): void {
    const b = 8 * n + 4;
    if (this.i32[b + 3] === FREE) throw new Error(`iova node ${n} freed twice`);
    this.i32[b] = this.freeHead;
    this.i32[b + 3] = FREE;
    this.freeHead = n;
    this.live--;
  }

  /** Whether n is a node handed out by allocNode and not freed since. */
  isLive(n: number): boolean {
    return Number.isInteger(n) && n >= 0 && n < this.used && this.i32[8 * n + 7] !== FREE;
  }

  /** Drop every node at once (put_iova_domain's postorder free). */
  clear(): void {
    this.root = RB_NULL;
    this.freeHead = RB_NULL;
    this.used = 0;
    this.live = 0;
  }

  /** Nodes the pool has room for without growing. */
  get poolCapacity(): number {
    return this.capacity;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const buf = new ArrayBuffer(cap * RECORD_BYTES);
    new Uint8Array(buf).set(new Uint8Array(this.f64.buffer));
    this.f64 = new Float64Array(buf);
    this.i32 = new Int32Array(buf);
    this.capacity = cap;
  }

  lo(n: number): number {
    return this.f64[4 * n];
  }
  hi(n: number): number {
    return this.f64[4 * n + 1];
  }
  left(n: number): number {
    return this.i32[8 * n + 4];
  }
  right(n: number): number {
    return this.i32[8 * n + 5];
  }
  parent(n: number): number {
    return this.i32[8 * n + 6];
  }
  isRed(n: number): boolean {
    return this.i32[8 * n + 7] === RB_RED;
  }

  /** rb_link_node(): hang detached node n under parent (RB_NULL: as the root), on the given side. */
  linkNode(n: number, parent: number, asLeft: boolean): void {
    const L = this.i32;
    L[8 * n + 4] = RB_NULL;
    L[8 * n + 5] = RB_NULL;
    L[8 * n + 6] = parent;
    L[8 * n + 7] = RB_RED;
    if (parent === RB_NULL) this.root = n;
    else L[8 * parent + (asLeft ? 4 : 5)] = n;
  }

  /** __rb_change_child(): whatever pointed at `old` from above now points at `nu`. */
  private changeChild(old: number, nu: number, parent: number): void {
    if (parent === RB_NULL) this.root = nu;
    else if (this.i32[8 * parent + 4] === old) this.i32[8 * parent + 4] = nu;
    else this.i32[8 * parent + 5] = nu;
  }

  /** Left rotation at x (x's right child takes x's place). */
  private rotateLeft(x: number): void {
    const L = this.i32;
    const y = L[8 * x + 5];
    const t = L[8 * y + 4];
    const p = L[8 * x + 6];
    L[8 * x + 5] = t;
    if (t !== RB_NULL) L[8 * t + 6] = x;
    L[8 * y + 4] = x;
    L[8 * y + 6] = p;
    L[8 * x + 6] = y;
    this.changeChild(x, y, p);
  }

  /** Right rotation at x (x's left child takes x's place). */
  private rotateRight(x: number): void {
    const L = this.i32;
    const y = L[8 * x + 4];
    const t = L[8 * y + 5];
    const p = L[8 * x + 6];
    L[8 * x + 4] = t;
    if (t !== RB_NULL) L[8 * t + 6] = x;
    L[8 * y + 5] = x;
    L[8 * y + 6] = p;
    L[8 * x + 6] = y;
    this.changeChild(x, y, p);
  }

  /** rb_insert_color(): restore the red-black rules after linkNode(). */
  insertColor(n: number): void {
    const L = this.i32;
    let node = n;
    let parent = L[8 * node + 6];
    for (;;) {
      if (parent === RB_NULL) {
        L[8 * node + 7] = RB_BLACK; // node is the root
        return;
      }
      if (L[8 * parent + 7] === RB_BLACK) return;
      const g = L[8 * parent + 6]; // a red parent is never the root
      const parentIsLeft = L[8 * g + 4] === parent;
      const uncle = L[8 * g + (parentIsLeft ? 5 : 4)];
      if (uncle !== RB_NULL && L[8 * uncle + 7] === RB_RED) {
        // Case 1: recolour, carry on from the grandparent.
        L[8 * uncle + 7] = RB_BLACK;
        L[8 * parent + 7] = RB_BLACK;
        L[8 * g + 7] = RB_RED;
        node = g;
        parent = L[8 * g + 6];
        continue;
      }
      if (parentIsLeft) {
        if (L[8 * parent + 5] === node) {
          // Case 2: rotate the inner child up first.
          this.rotateLeft(parent);
          parent = node;
        }
        // Case 3
        L[8 * parent + 7] = RB_BLACK;
        L[8 * g + 7] = RB_RED;
        this.rotateRight(g);
      } else {
        if (L[8 * parent + 4] === node) {
          this.rotateRight(parent);
          parent = node;
        }
        L[8 * parent + 7] = RB_BLACK;
        L[8 * g + 7] = RB_RED;
        this.rotateLeft(g);
      }
      return;
    }
  }

  /** rb_erase(): unlink n (which stays allocated) and rebalance. */
  erase(n: number): void {
    const L = this.i32;
    const b = 8 * n + 4;
    const child = L[b + 1];
    const leftChild = L[b];
    const nParent = L[b + 2];
    const nColour = L[b + 3];
    let rebalance = RB_NULL;
    if (leftChild === RB_NULL) {
      // At most a right child: it is red and takes n's place and colour.
      this.changeChild(n, child, nParent);
      if (child !== RB_NULL) {
        L[8 * child + 6] = nParent;
        L[8 * child + 7] = nColour;
      } else if (nColour === RB_BLACK) rebalance = nParent;
    } else if (child === RB_NULL) {
      L[8 * leftChild + 6] = nParent;
      L[8 * leftChild + 7] = nColour;
      this.changeChild(n, leftChild, nParent);
    } else {
      // Two children: n's successor takes n's place.
      let successor = child;
      let parent: number;
      let child2: number;
      let tmp = L[8 * child + 4];
      if (tmp === RB_NULL) {
        parent = successor;
        child2 = L[8 * successor + 5];
      } else {
        do {
          parent = successor;
          successor = tmp;
          tmp = L[8 * tmp + 4];
        } while (tmp !== RB_NULL);
        child2 = L[8 * successor + 5];
        L[8 * parent + 4] = child2;
        L[8 * successor + 5] = child;
        L[8 * child + 6] = successor;
      }
      L[8 * successor + 4] = leftChild;
      L[8 * leftChild + 6] = successor;
      this.changeChild(n, successor, nParent);
      if (child2 !== RB_NULL) {
        L[8 * child2 + 6] = parent;
        L[8 * child2 + 7] = RB_BLACK;
      } else if (L[8 * successor + 7] === RB_BLACK) rebalance = parent;
      L[8 * successor + 6] = nParent;
      L[8 * successor + 7] = nColour;
    }
    if (rebalance !== RB_NULL) this.eraseColor(rebalance);
  }

  /** ____rb_erase_color(): one black is missing on the side of `parent` that lost a node. */
  private eraseColor(p: number): void {
    const L = this.i32;
    let node = RB_NULL;
    let parent = p;
    for (;;) {
      let sibling = L[8 * parent + 5];
      if (node !== sibling) {
        // node is parent's left child
        if (L[8 * sibling + 7] === RB_RED) {
          // Case 1
          L[8 * sibling + 7] = RB_BLACK;
          L[8 * parent + 7] = RB_RED;
          this.rotateLeft(parent);
          sibling = L[8 * parent + 5];
        }
        let far = L[8 * sibling + 5];
        if (far === RB_NULL || L[8 * far + 7] === RB_BLACK) {
          const near = L[8 * sibling + 4];
          if (near === RB_NULL || L[8 * near + 7] === RB_BLACK) {
            // Case 2: recolour the sibling; fix at parent or go up.
            L[8 * sibling + 7] = RB_RED;
            if (L[8 * parent + 7] === RB_RED) L[8 * parent + 7] = RB_BLACK;
            else {
              node = parent;
              parent = L[8 * node + 6];
              if (parent !== RB_NULL) continue;
            }
            return;
          }
          // Case 3: turn the near red nephew into the far one.
          L[8 * near + 7] = RB_BLACK;
          L[8 * sibling + 7] = RB_RED;
          this.rotateRight(sibling);
          far = sibling;
          sibling = near;
        }
        // Case 4
        L[8 * sibling + 7] = L[8 * parent + 7];
        L[8 * parent + 7] = RB_BLACK;
        L[8 * far + 7] = RB_BLACK;
        this.rotateLeft(parent);
        return;
      } else {
        sibling = L[8 * parent + 4];
        if (L[8 * sibling + 7] === RB_RED) {
          L[8 * sibling + 7] = RB_BLACK;
          L[8 * parent + 7] = RB_RED;
          this.rotateRight(parent);
          sibling = L[8 * parent + 4];
        }
        let far = L[8 * sibling + 4];
        if (far === RB_NULL || L[8 * far + 7] === RB_BLACK) {
          const near = L[8 * sibling + 5];
          if (near === RB_NULL || L[8 * near + 7] === RB_BLACK) {
            L[8 * sibling + 7] = RB_RED;
            if (L[8 * parent + 7] === RB_RED) L[8 * parent + 7] = RB_BLACK;
            else {
              node = parent;
              parent = L[8 * node + 6];
              if (parent !== RB_NULL) continue;
            }
            return;
          }
          L[8 * near + 7] = RB_BLACK;
          L[8 * sibling + 7] = RB_RED;
          this.rotateLeft(sibling);
          far = sibling;
          sibling = near;
        }
        L[8 * sibling + 7] = L[8 * parent + 7];
        L[8 * parent + 7] = RB_BLACK;
        L[8 * far + 7] = RB_BLACK;
        this.rotateRight(parent);
        return;
      }
    }
  }

  /** rb_next() */
  next(n: number): number {
    const L = this.i32;
    let x = L[8 * n + 5];
    if (x !== RB_NULL) {
      for (let l = L[8 * x + 4]; l !== RB_NULL; l = L[8 * x + 4]) x = l;
      return x;
    }
    x = n;
    let p = L[8 * x + 6];
    while (p !== RB_NULL && L[8 * p + 5] === x) {
      x = p;
      p = L[8 * x + 6];
    }
    return p;
  }

  /** rb_prev() */
  prev(n: number): number {
    const L = this.i32;
    let x = L[8 * n + 4];
    if (x !== RB_NULL) {
      for (let r = L[8 * x + 5]; r !== RB_NULL; r = L[8 * x + 5]) x = r;
      return x;
    }
    x = n;
    let p = L[8 * x + 6];
    while (p !== RB_NULL && L[8 * p + 4] === x) {
      x = p;
      p = L[8 * x + 6];
    }
    return p;
  }

  /** rb_first() */
  first(): number {
    let x = this.root;
    if (x === RB_NULL) return RB_NULL;
    for (let l = this.i32[8 * x + 4]; l !== RB_NULL; l = this.i32[8 * x + 4]) x = l;
    return x;
  }

  /** rb_last() */
  last(): number {
    let x = this.root;
    if (x === RB_NULL) return RB_NULL;
    for (let r = this.i32[8 * x + 5]; r !== RB_NULL; r = this.i32[8 * x + 5]) x = r;
    return x;
  }

  /**
   * Checks the red-black rules, the parent links and the in-order sort by
   * pfn_lo; returns the tree's black height, or throws naming the broken rule.
   * For tests and debugging: O(n).
   */
  validate(): number {
    const L = this.i32;
    const F = this.f64;
    if (this.root !== RB_NULL) {
      if (L[8 * this.root + 6] !== RB_NULL) throw new Error('root has a parent');
      if (L[8 * this.root + 7] !== RB_BLACK) throw new Error('root is red');
    }
    let count = 0;
    const walk = (n: number, lo: number, hi: number): number => {
      if (n === RB_NULL) return 1;
      count++;
      const c = L[8 * n + 7];
      if (c === FREE) throw new Error(`free node ${n} in the tree`);
      const key = F[4 * n];
      if (!(key > lo && key < hi)) throw new Error(`node ${n} (pfn_lo ${key}) out of order`);
      const l = L[8 * n + 4];
      const r = L[8 * n + 5];
      for (const ch of [l, r]) {
        if (ch === RB_NULL) continue;
        if (L[8 * ch + 6] !== n) throw new Error(`node ${ch} has a wrong parent link`);
        if (c === RB_RED && L[8 * ch + 7] === RB_RED) throw new Error(`red node ${n} has a red child`);
      }
      const bl = walk(l, lo, key);
      const br = walk(r, key, hi);
      if (bl !== br) throw new Error(`black heights differ under node ${n}`);
      return bl + (c === RB_BLACK ? 1 : 0);
    };
    const h = walk(this.root, -Infinity, Infinity);
    if (count !== this.live) throw new Error(`${count} nodes in the tree, ${this.live} live in the pool`);
    return h;
  }
}
