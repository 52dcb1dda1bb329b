// SPDX-License-Identifier: GPL-2.0-only
/**
 * The IOVA allocator of drivers/iommu/iova.c (Linux 6.12): `struct
 * iova_domain`, init_iova_domain(), alloc_iova() with
 * __alloc_and_insert_iova_range(), find_iova(), free_iova(), __free_iova(),
 * reserve_iova() and put_iova_domain(). The per-CPU range caches on top
 * (alloc_iova_fast, free_iova_fast) are in src/dma/iova-rcache.ts.
 *
 * Vocabulary, as in the kernel: addresses are in pfns, units of the domain's
 * granule; an iova is [pfn_lo, pfn_hi] with pfn_hi inclusive; `limit_pfn` as
 * callers pass it is the highest pfn they can use, and inside the search it is
 * one past that. Allocation is top-down: the new range ends as high as it can
 * under the limit, first fit walking down from a cached node (the last
 * allocation, or the successor of the last free below it), then once more
 * from the limit down to where the first walk started.
 *
 * A `struct iova *` is an `Iova`: a node index in the domain's tree
 * (src/dma/iova-tree.ts). It stays valid until the iova is freed; after that
 * the index may be handed out again, like freed memory. All pfns are JS
 * numbers (exact to 2^53); nothing on the allocation and free paths allocates
 * a JS object (only the node pool grows, by doubling) or uses a BigInt.
 *
 * Kernel behaviours kept on purpose: the search is O(1) from the cached node
 * when there is room under it and O(gaps walked) otherwise; the max32_alloc_size
 * shortcut makes a repeated failure below the 32-bit boundary O(1), and the
 * `noMax32Shortcut` option takes it out to reproduce the kernels before commit
 * bee60e94a1e2 ("iommu/iova: Optimise attempts to allocate iova from 32bit
 * address range", v5.1), where every such failure walked all the iovas below 4G.
 */

import { IovaTree, RB_NULL } from './iova-tree.js';
import { free_iova_rcaches, type IovaMemType, type IovaRcaches } from './iova-magazine.js';

/** A `struct iova *`: a node of the domain's tree (see the file comment). */
export type Iova = number & { readonly __iova: unique symbol };

/** IOVA_ANCHOR (~0UL): the anchor node's pfn_lo and pfn_hi, above every real pfn. */
export const IOVA_ANCHOR = 2 ** 64;

export interface IovaDomainOptions {
  /** PAGE_SIZE, which the granule may not exceed (BUG_ON). Default 4096. */
  pageSize?: number;
  /** Possible (and online) CPUs for the per-CPU rcaches. Default 1. */
  nrCpus?: number;
  /** Allocate as kernels before v5.1 did: no max32_alloc_size early failure. */
  noMax32Shortcut?: boolean;
  /** Return true to make that allocation fail as a NULL from the slab would (fault injection). */
  failAlloc?: (what: IovaMemType) => boolean;
  /** Nodes to reserve room for up front (the pool grows by doubling beyond it). */
  initialCapacity?: number;
}

/** struct iova_domain */
export class IovaDomain {
  /** rbroot, with `anchor` in it and every struct iova of the domain. */
  readonly tree: IovaTree;
  /**
   * The node the last lookup or insertion ended at (RB_NULL: none), where
   * private_find_iova() starts its search. Model-side, not kernel state.
   */
  finger: number = RB_NULL;
  /** The anchor node: [IOVA_ANCHOR, IOVA_ANCHOR], always the last node. */
  readonly anchor: number;
  /** Where the next search above dma_32bit_pfn starts: the last node allocated there. */
  cached_node: number;
  /** Same for searches with limit_pfn at or below dma_32bit_pfn. */
  cached32_node: number;
  /** Size of the last allocation that failed below dma_32bit_pfn (dma_32bit_pfn: none). */
  max32_alloc_size: number;
  /** log2(granule): iova_shift() */
  readonly shift: number;
  readonly dma_32bit_pfn: number;
  /** The per-size range caches once iova_domain_init_rcaches() succeeded, else null. */
  rcaches: IovaRcaches | null = null;
  /** WARN_ON()s the IOVA code hit, as "function: condition" (the kernel prints a backtrace). */
  readonly warnings: string[] = [];
  /** Nodes the allocation searches have stepped through so far (instrumentation, not kernel state). */
  search_steps = 0;
  readonly nrCpus: number;
  readonly noMax32Shortcut: boolean;
  readonly failAlloc: ((what: IovaMemType) => boolean) | undefined;

  constructor(
    readonly granule: number,
    readonly start_pfn: number,
    opts: IovaDomainOptions = {},
  ) {
    const pageSize = opts.pageSize ?? 4096;
    // init_iova_domain(): BUG_ON(granule > PAGE_SIZE || !is_power_of_2(granule))
    if (!(Number.isInteger(granule) && granule > 0 && (granule & (granule - 1)) === 0 && granule <= pageSize))
      throw new Error(`BUG: init_iova_domain granule ${granule} (PAGE_SIZE ${pageSize})`);
    if (!Number.isSafeInteger(start_pfn) || start_pfn < 0)
      throw new RangeError(`init_iova_domain: start_pfn ${start_pfn} is not a pfn`);
    this.nrCpus = opts.nrCpus ?? 1;
    if (!Number.isInteger(this.nrCpus) || this.nrCpus < 1) throw new RangeError(`nrCpus ${this.nrCpus}`);
    this.noMax32Shortcut = opts.noMax32Shortcut ?? false;
    this.failAlloc = opts.failAlloc;
    this.shift = 31 - Math.clz32(granule);
    this.dma_32bit_pfn = 2 ** (32 - this.shift);
    this.max32_alloc_size = this.dma_32bit_pfn;
    this.tree = new IovaTree((opts.initialCapacity ?? 63) + 1);
    this.anchor = this.tree.allocNode(IOVA_ANCHOR, IOVA_ANCHOR);
    this.tree.linkNode(this.anchor, RB_NULL, true);
    this.tree.insertColor(this.anchor);
    this.cached_node = this.anchor;
    this.cached32_node = this.anchor;
  }

  /** Live struct iovas (the anchor not counted). */
  get nr_iovas(): number {
    return Math.max(0, this.tree.live - 1); // put_iova_domain() takes the anchor too
  }
}

/** init_iova_domain(): an empty domain of `granule`-byte pfns starting at start_pfn. */
export function init_iova_domain(granule: number, start_pfn: number, opts?: IovaDomainOptions): IovaDomain {
  return new IovaDomain(granule, start_pfn, opts);
}

/** iova->pfn_lo */
export function iova_pfn_lo(iovad: IovaDomain, iova: Iova): number {
  return iovad.tree.f64[4 * iova];
}

/** iova->pfn_hi */
export function iova_pfn_hi(iovad: IovaDomain, iova: Iova): number {
  return iovad.tree.f64[4 * iova + 1];
}

/** iova_size() */
export function iova_size(iovad: IovaDomain, iova: Iova): number {
  return iovad.tree.f64[4 * iova + 1] - iovad.tree.f64[4 * iova] + 1;
}

/** POW2[k] = 2^k for k in 0..64: a table, because `2 ** k` is a pow() call on the hot path. */
const POW2 = Float64Array.from({ length: 65 }, (_, k) => 2 ** k);

/** fls_long(): 1-based index of the highest set bit, 0 for 0. Exact for any safe integer. */
export function fls_long(x: number): number {
  if (x < 0x1_0000_0000) return 32 - Math.clz32(x);
  let n = 0;
  while (x >= 0x1_0000_0000) {
    x = Math.floor(x / 0x1_0000_0000);
    n += 32;
  }
  return n + 32 - Math.clz32(x);
}

/** order_base_2(): the smallest order whose power of two is >= n (0 for 0 and 1). */
export function order_base_2(n: number): number {
  return n > 1 ? fls_long(n - 1) : 0;
}

/** __roundup_pow_of_two() */
export function roundup_pow_of_two(n: number): number {
  return POW2[order_base_2(n)];
}

function warn(iovad: IovaDomain, where: string): void {
  iovad.warnings.push(where);
}

/** __get_cached_rbnode() */
function get_cached_rbnode(iovad: IovaDomain, limit_pfn: number): number {
  return limit_pfn <= iovad.dma_32bit_pfn ? iovad.cached32_node : iovad.cached_node;
}

/** __cached_rbnode_insert_update() */
function cached_rbnode_insert_update(iovad: IovaDomain, nu: number): void {
  if (iovad.tree.f64[4 * nu + 1] < iovad.dma_32bit_pfn) iovad.cached32_node = nu;
  else iovad.cached_node = nu;
}

/**
 * __cached_rbnode_delete_update(): before `free` leaves the tree, a cached
 * node at or below it moves up to its successor, so the next search starts
 * above the hole; freeing anything below 4G forgets the last 32-bit failure.
 */
function cached_rbnode_delete_update(iovad: IovaDomain, free: number): void {
  const t = iovad.tree;
  const F = t.f64;
  const freeLo = F[4 * free];
  const c32 = iovad.cached32_node;
  if (free === c32 || (F[4 * free + 1] < iovad.dma_32bit_pfn && freeLo >= F[4 * c32]))
    iovad.cached32_node = t.next(free);
  if (freeLo < iovad.dma_32bit_pfn) iovad.max32_alloc_size = iovad.dma_32bit_pfn;
  if (freeLo >= F[4 * iovad.cached_node]) iovad.cached_node = t.next(free);
}

/**
 * iova_find_limit(): where the retry's walk starts. Above 4G that is the
 * anchor; below, a descent to the lowest node at or above the limit (or one
 * that straddles it).
 */
function iova_find_limit(iovad: IovaDomain, limit_pfn: number): number {
  if (limit_pfn > iovad.dma_32bit_pfn) return iovad.anchor;
  const L = iovad.tree.i32;
  const F = iovad.tree.f64;
  let node = iovad.tree.root;
  while (F[4 * node + 1] < limit_pfn) node = L[8 * node + 5];
  for (;;) {
    for (let l = L[8 * node + 4]; l !== RB_NULL && F[4 * l] >= limit_pfn; l = L[8 * node + 4]) node = l;
    let next = L[8 * node + 4];
    if (next === RB_NULL) return node;
    let jumped = false;
    for (let r = L[8 * next + 5]; r !== RB_NULL; r = L[8 * next + 5]) {
      next = r;
      if (F[4 * next] >= limit_pfn) {
        node = next;
        jumped = true;
        break;
      }
    }
    if (!jumped) return node;
  }
}

/**
 * iova_insert_rbtree(): descend from `start` (or the root) by pfn_lo and link
 * the node there. Two iovas never share a pfn_lo; if asked to, WARN and leave
 * the node out of the tree (the kernel then leaks it).
 */
function iova_insert_rbtree(iovad: IovaDomain, iova: number, start: number): boolean {
  const t = iovad.tree;
  const L = t.i32;
  const F = t.f64;
  const key = F[4 * iova];
  let cur = start !== RB_NULL ? start : t.root;
  let parent = RB_NULL;
  let asLeft = true;
  while (cur !== RB_NULL) {
    parent = cur;
    const k = F[4 * cur];
    if (key < k) {
      asLeft = true;
      cur = L[8 * cur + 4];
    } else if (key > k) {
      asLeft = false;
      cur = L[8 * cur + 5];
    } else {
      warn(iovad, 'iova_insert_rbtree: two iovas at one pfn_lo');
      return false;
    }
  }
  t.linkNode(iova, parent, asLeft);
  t.insertColor(iova);
  iovad.finger = iova;
  return true;
}

/**
 * __alloc_and_insert_iova_range(): place `nu` (size pfns) as high as it fits
 * below limit_pfn (exclusive) and above start_pfn, size-aligned if asked.
 * Returns false (-ENOMEM) when nothing fits.
 */
function alloc_and_insert_iova_range(
  iovad: IovaDomain,
  size: number,
  limit_pfn: number,
  nu: number,
  size_aligned: boolean,
): boolean {
  const t = iovad.tree;
  const F = t.f64;
  // align_mask = ~0UL << fls_long(size - 1), as a power-of-two step
  const align = size_aligned ? POW2[fls_long(size - 1)] : 1;
  let high_pfn = limit_pfn;
  let low_pfn = iovad.start_pfn;

  if (!iovad.noMax32Shortcut && limit_pfn <= iovad.dma_32bit_pfn && size >= iovad.max32_alloc_size)
    return false;

  let curr = get_cached_rbnode(iovad, limit_pfn);
  const retry_pfn = F[4 * curr + 1];
  let prev: number;
  let new_pfn: number;
  for (;;) {
    // Walk down through the gaps below curr until one holds the range.
    do {
      const lo = F[4 * curr];
      if (lo < high_pfn) high_pfn = lo;
      // (high_pfn - size) & align_mask; negative where the C subtraction wraps,
      // which fails the same tests below as the wrapped value does.
      new_pfn = align === 1 ? high_pfn - size : Math.floor((high_pfn - size) / align) * align;
      prev = curr;
      curr = t.prev(curr);
      iovad.search_steps++;
    } while (curr !== RB_NULL && new_pfn <= F[4 * curr + 1] && new_pfn >= low_pfn);

    if (high_pfn >= size && new_pfn >= low_pfn) break;
    // Nothing below the cached node: once, search the part above it.
    if (low_pfn === iovad.start_pfn && retry_pfn < limit_pfn) {
      high_pfn = limit_pfn;
      low_pfn = retry_pfn + 1;
      curr = iova_find_limit(iovad, limit_pfn);
      continue;
    }
    if (!iovad.noMax32Shortcut) iovad.max32_alloc_size = size;
    return false;
  }

  F[4 * nu] = new_pfn;
  F[4 * nu + 1] = new_pfn + size - 1;
  // prev is the node above the gap: the new node belongs in its subtree.
  iova_insert_rbtree(iovad, nu, prev);
  cached_rbnode_insert_update(iovad, nu);
  return true;
}

/**
 * alloc_iova(): a new iova of `size` pfns ending at or below limit_pfn
 * (inclusive) and starting at or above start_pfn, as high as possible; with
 * size_aligned its pfn_lo is a multiple of size rounded up to a power of two.
 * null when the node cannot be allocated or nothing fits.
 */
export function alloc_iova(
  iovad: IovaDomain,
  size: number,
  limit_pfn: number,
  size_aligned: boolean,
): Iova | null {
  if (!(size >= 1 && Number.isSafeInteger(size))) throw new RangeError(`alloc_iova: size ${size}`);
  if (iovad.failAlloc !== undefined && iovad.failAlloc('iova')) return null; // alloc_iova_mem()
  const nu = iovad.tree.allocNode(0, 0);
  if (!alloc_and_insert_iova_range(iovad, size, limit_pfn + 1, nu, size_aligned)) {
    iovad.tree.freeNode(nu);
    return null;
  }
  return nu as Iova;
}

/**
 * private_find_iova(): the iova holding pfn, or RB_NULL. The kernel descends
 * from the root. The answer does not depend on where a search starts, so this
 * one starts from the finger (the node the last lookup or insertion ended at):
 * it climbs until the subtree it is in must hold pfn if any node does, then
 * descends. That is O(log d) for a pfn d iovas away from the finger, so
 * freeing in (or near) the order of allocation costs O(1) whatever the number
 * of live iovas, instead of a 20-level descent with a cache miss and a
 * mispredicted branch at each level at a million iovas; the worst case is
 * twice the descent.
 */
function private_find_iova(iovad: IovaDomain, pfn: number): number {
  const L = iovad.tree.i32;
  const F = iovad.tree.f64;
  let node = iovad.tree.root;
  let x = iovad.finger;
  if (x !== RB_NULL) {
    if (pfn >= F[4 * x] && pfn <= F[4 * x + 1]) return x;
    const up = pfn > F[4 * x + 1];
    for (let p = L[8 * x + 6]; p !== RB_NULL; x = p, p = L[8 * x + 6]) {
      // Coming up from the side where pfn is not, the parent bounds x's subtree on pfn's side.
      if (up === (L[8 * p + 4] === x)) {
        if (up ? pfn < F[4 * p] : pfn > F[4 * p + 1]) break;
        if (pfn >= F[4 * p] && pfn <= F[4 * p + 1]) return (iovad.finger = p);
      }
    }
    node = x; // the subtree to search (the root when the climb got there)
  }
  while (node !== RB_NULL) {
    if (pfn < F[4 * node]) node = L[8 * node + 4];
    else if (pfn > F[4 * node + 1]) node = L[8 * node + 5];
    else return (iovad.finger = node);
  }
  return RB_NULL;
}

/** remove_iova() + free_iova_mem() (which never frees the anchor). */
function remove_and_free(iovad: IovaDomain, iova: number): void {
  cached_rbnode_delete_update(iovad, iova);
  if (iovad.finger === iova) iovad.finger = RB_NULL;
  iovad.tree.erase(iova);
  if (iovad.tree.f64[4 * iova] !== IOVA_ANCHOR) iovad.tree.freeNode(iova);
}

/** find_iova(): the iova that holds pfn, or null. */
export function find_iova(iovad: IovaDomain, pfn: number): Iova | null {
  const n = private_find_iova(iovad, pfn);
  return n === RB_NULL ? null : (n as Iova);
}

/** __free_iova(): take this iova out of the domain and free it. */
export function __free_iova(iovad: IovaDomain, iova: Iova): void {
  if (iova === iovad.anchor || !iovad.tree.isLive(iova))
    throw new Error(`__free_iova: ${iova} is not a live iova of this domain`);
  remove_and_free(iovad, iova);
}

/** free_iova(): free the iova that holds pfn; nothing when no iova does. */
export function free_iova(iovad: IovaDomain, pfn: number): void {
  const n = private_find_iova(iovad, pfn);
  if (n === RB_NULL) return;
  remove_and_free(iovad, n);
}

/**
 * Frees every pfn a magazine of the rcaches held (iova_magazine_free_pfns()'s
 * tree part): a pfn that no iova holds WARNs and is skipped.
 */
export function free_iova_pfns(iovad: IovaDomain, pfns: Float64Array, from: number, count: number): void {
  for (let i = 0; i < count; i++) {
    const n = private_find_iova(iovad, pfns[from + i]);
    if (n === RB_NULL) {
      warn(iovad, 'iova_magazine_free_pfns: cached pfn without an iova');
      continue;
    }
    remove_and_free(iovad, n);
  }
}

/**
 * put_iova_domain(): free the rcaches (without returning their pfns) and
 * every iova; the domain is empty afterwards and must not be used again.
 */
export function put_iova_domain(iovad: IovaDomain): void {
  if (iovad.rcaches) {
    free_iova_rcaches(iovad.rcaches);
    iovad.rcaches = null;
  }
  iovad.tree.clear();
  iovad.finger = RB_NULL;
  iovad.cached_node = RB_NULL;
  iovad.cached32_node = RB_NULL;
}

/**
 * reserve_iova(): make [pfn_lo, pfn_hi] unavailable. Walking up through the
 * iovas that overlap it, the first one is stretched down to pfn_lo and each
 * later one down to the end of the one before; if the range ends inside one,
 * that iova is returned; otherwise what sticks out above the last overlap (or
 * the whole range, if nothing overlaps) becomes a new iova, which is
 * returned. null for pfns beyond the address space (WARN) or when the node
 * cannot be allocated.
 *
 * The kernel walks from rb_first(); nodes before the first one ending at or
 * above pfn_lo cannot overlap and change nothing, so the walk starts there,
 * found by descent (the result is the same, in O(log n) instead of O(n)).
 */
export function reserve_iova(iovad: IovaDomain, pfn_lo: number, pfn_hi: number): Iova | null {
  const maxPfn = Math.min(2 ** (64 - iovad.shift) - 1, Number.MAX_SAFE_INTEGER);
  if (!(pfn_lo >= 0 && pfn_hi >= 0 && pfn_lo <= maxPfn && pfn_hi <= maxPfn)) {
    warn(iovad, 'reserve_iova: pfn beyond the address space');
    return null;
  }
  const t = iovad.tree;
  const F = t.f64;
  // First node whose pfn_hi >= pfn_lo.
  let node = RB_NULL;
  for (let n = t.root; n !== RB_NULL;) {
    if (F[4 * n + 1] >= pfn_lo) {
      node = n;
      n = t.left(n);
    } else n = t.right(n);
  }
  let overlap = false;
  for (; node !== RB_NULL; node = t.next(node)) {
    const lo = F[4 * node];
    const hi = F[4 * node + 1];
    if (pfn_lo <= hi && pfn_hi >= lo) {
      // __adjust_overlap_range()
      if (pfn_lo < lo) F[4 * node] = pfn_lo;
      if (pfn_hi > hi) pfn_lo = hi + 1;
      if (pfn_lo >= F[4 * node] && pfn_hi <= hi) return node as Iova;
      overlap = true;
    } else if (overlap) break;
  }
  // __insert_new_range()
  if (iovad.failAlloc !== undefined && iovad.failAlloc('iova')) return null;
  const nu = t.allocNode(pfn_lo, pfn_hi);
  if (!iova_insert_rbtree(iovad, nu, RB_NULL)) {
    // The kernel leaves the node allocated and returns it; keep the pool honest instead.
    t.freeNode(nu);
    return null;
  }
  return nu as Iova;
}

/** Every iova of the domain in address order, the anchor left out (for tests and reports; allocates). */
export function iova_ranges(iovad: IovaDomain): [number, number][] {
  const out: [number, number][] = [];
  const t = iovad.tree;
  for (let n = t.first(); n !== RB_NULL; n = t.next(n)) {
    if (n !== iovad.anchor) out.push([t.lo(n), t.hi(n)]);
  }
  return out;
}
