// SPDX-License-Identifier: GPL-2.0-only
/**
 * The memory page tables live in: a growable pool at a "physical" base
 * address, handing out 4 KiB pages and runs of them as iommu_alloc_pages_node()
 * hands pages to __arm_lpae_alloc_pages(), and blocks smaller than a page
 * (512 bytes and up) as a kmem_cache does (io-pgtable-arm-v7s's 1 KiB level-2
 * tables, xarray nodes). Tables hold raw little-endian descriptors, so an
 * emulator can walk them by physical address exactly as the hardware would.
 *
 * Storage is one shared WebAssembly.Memory per pool, so that the
 * WebAssembly walks of wasm-path.ts read the same words as the JavaScript
 * engine. Its first ORDERS_BYTES hold a byte per 512-byte slot: the order of
 * the live block starting there plus one, 0 for none (so memory the pool has
 * not reached yet reads "no block" without being filled); then CONST_BYTES
 * of constants the WebAssembly fast paths read (constants()); the pool
 * follows at POOL_START, in 2 MiB chunks the engine indexes as Int32Array
 * views. The
 * memory is shared because growing a shared memory never detaches the views
 * already taken: a view returned for a table stays valid for the table's
 * lifetime. The engine's hot paths skip the views: they turn a descriptor's
 * address words into a pool offset with int32 arithmetic only
 * (blockOffset()) and read the table's words from its chunk, because V8
 * spends more on a double-valued address, and on a different view object per
 * table, than on the walk itself. A block of
 * 2^order slots (a slot is 512 bytes) is aligned to its size (a table's
 * address must be aligned to the table), taken from a free list of its order,
 * split from a larger free block up to a page, or from the bump pointer.
 * Freed blocks go back to their order's list, unmerged. Allocation zeroes
 * (iommu_alloc_pages_node() and kmem_cache_zalloc() return zeroed memory);
 * freeing does not.
 *
 * Several page tables may share one TableMemory, as io_pgtable_cfg's custom
 * allocator lets a driver do.
 */

import type { WasmMemory } from '../lib/wasm-module.js';
import { newSharedMemory } from '../lib/wasm-module.js';

/** log2 of the smallest block, and of the granularity views are looked up at. */
export const VIEW_SHIFT = 9;
/** log2 of a chunk's bytes: the engine finds a table's words at chunks[off >>> CHUNK_SHIFT]. */
export const CHUNK_SHIFT = 21;
/** Pool offset bits inside a chunk. */
export const CHUNK_MASK = (1 << CHUNK_SHIFT) - 1;
const SLOT = 1 << VIEW_SHIFT;
const PAGE_SHIFT = 12;
/** A page is 2^PAGE_ORDER slots. */
const PAGE_ORDER = PAGE_SHIFT - VIEW_SHIFT;
const CHUNK_SLOTS = 1 << (CHUNK_SHIFT - VIEW_SHIFT);
const MAX_ORDER = CHUNK_SHIFT - VIEW_SHIFT;
/** The pool stays below 2 GiB so that offsets are non-negative int32 values. */
const MAX_BYTES = 2 ** 31;
/** Bytes of the orders map at the start of the memory: one per slot of the largest pool. */
export const ORDERS_BYTES = MAX_BYTES >>> VIEW_SHIFT;
/** Where the WebAssembly walk leaves the address it found (an f64), the first 8 bytes of the constants. */
export const WALK_RESULT = ORDERS_BYTES;
/** Where the fast paths' constants start in the memory, and their room. */
export const CONST_START = ORDERS_BYTES;
const CONST_BYTES = 64 * 1024;
/** Where the pool starts in the memory. */
export const POOL_START = CONST_START + CONST_BYTES;
const WASM_PAGE = 65536;
/** The memory's size limit, in WebAssembly pages. */
export const MEMORY_MAX_PAGES = (POOL_START + MAX_BYTES) / WASM_PAGE;

export interface TableMemoryOptions {
  /** Physical address of the pool's first byte; 2 MiB aligned, below 2^48 - 2 GiB. Default 0x40000000. */
  readonly base?: number;
}

export class TableMemory {
  readonly base: number;
  /** Live allocations and their bytes. */
  liveAllocations = 0;
  liveBytes = 0;
  /** Called before each allocation; returning true makes it fail (the kernel's allocation failure). */
  shouldFail: ((bytes: number) => boolean) | null = null;

  /** @internal The memory holding the orders map and the pool (wasm-path.ts imports it). */
  readonly wasmMemory: WasmMemory;
  /** @internal The pool's chunks, each 2^CHUNK_SHIFT bytes; a block never crosses one. */
  readonly chunks: Int32Array[] = [];
  /** @internal The base's words, and its low word with the sign bit flipped (an unsigned compare in int32). */
  readonly baseLo: number;
  /** @internal */
  readonly baseHi: number;
  /** @internal */
  readonly baseLoFlip: number;
  /**
   * views[(phys - base) >> VIEW_SHIFT]: the view of the block that starts at
   * that slot (kept for reuse after a free), undefined elsewhere. The
   * engine's hot path indexes it directly.
   */
  readonly views: (Int32Array | undefined)[] = [];
  /** Bytes of physical address space the pool covers from `base`. */
  poolBytes = 0;
  /**
   * @internal The order + 1 of the live block starting at a slot, 0 where none
   * does; indexed by slot, a view of the memory's first ORDERS_BYTES.
   */
  readonly orders: Int8Array;
  private readonly freeLists: number[][] = Array.from({ length: MAX_ORDER + 1 }, () => []);
  /** The bump pointer, in slots; always page aligned. */
  private nextSlot = 0;
  private disposed = false;
  /** constants() already placed, by key, and the next free byte of their area. */
  private readonly constAt = new Map<string, number>();
  private constNext = CONST_START + 8;
  /** @internal The WebAssembly walk's result slot (WALK_RESULT). */
  readonly walkResult: Float64Array;

  constructor(opts: TableMemoryOptions = {}) {
    const base = opts.base ?? 0x4000_0000;
    if (
      !Number.isSafeInteger(base) ||
      base < 0 ||
      base % (1 << CHUNK_SHIFT) !== 0 ||
      base + MAX_BYTES > 2 ** 48
    )
      throw new RangeError(
        `TableMemory base 0x${base.toString(16)} must be 2 MiB aligned and below 2^48 - 2 GiB`,
      );
    this.base = base;
    this.baseLo = base | 0;
    this.baseHi = (base - (base >>> 0)) / 2 ** 32;
    this.baseLoFlip = this.baseLo ^ -0x80000000;
    this.wasmMemory = spareMemories.pop() ?? poolMemory();
    this.orders = new Int8Array(this.wasmMemory.buffer, 0, ORDERS_BYTES);
    this.walkResult = new Float64Array(this.wasmMemory.buffer, WALK_RESULT, 1);
  }

  /**
   * @internal Places a fast path's constants (8-byte aligned) in the memory,
   * once per key; returns their byte address in the memory, or -1 when the
   * area is full (the caller then goes without).
   */
  constants(key: string, words: Int32Array): number {
    const known = this.constAt.get(key);
    if (known !== undefined) return known;
    const at = this.constNext;
    if (at + words.byteLength > CONST_START + CONST_BYTES) return -1;
    new Int32Array(this.wasmMemory.buffer, at, words.length).set(words);
    this.constNext = at + ((words.byteLength + 7) & ~7);
    this.constAt.set(key, at);
    return at;
  }

  /**
   * The pool is done with (its modelled kernel torn down). When no block is
   * live its memory is zeroed where the pool used it and kept for the next
   * pool: a garbage pool holds its memory until a major GC, and a sweep or
   * fuzz run that boots thousands of kernels would otherwise hold thousands
   * (each ~10 GiB of address space and the pages it touched). A pool with
   * live blocks keeps its memory (a leaked table stays readable). Either
   * way the pool allocates nothing more.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.liveAllocations !== 0 || spareMemories.length >= MAX_SPARE_MEMORIES) return;
    this.orders.fill(0, 0, this.nextSlot);
    new Uint8Array(this.wasmMemory.buffer, CONST_START, this.constNext - CONST_START).fill(0);
    // Only what the bump pointer reached was ever written (zeroing the rest would fault its pages in).
    const used = this.nextSlot * SLOT;
    this.chunks.forEach((c, i) =>
      c.fill(0, 0, Math.max(0, Math.min(c.length, Math.floor((used - i * (1 << CHUNK_SHIFT)) / 4)))),
    );
    spareMemories.push(this.wasmMemory);
  }

  /** Allocates a zeroed, naturally aligned block of at least `bytes`; returns its physical address or -1. */
  alloc(bytes: number): number {
    if (this.disposed) throw new Error('TableMemory: alloc() after dispose()');
    const order = orderOf(bytes);
    if (order > MAX_ORDER) throw new RangeError(`TableMemory: ${bytes}-byte tables are not supported`);
    if (this.shouldFail !== null && this.shouldFail(bytes)) return -1;
    const slot = this.take(order);
    if (slot < 0) return -1;
    const words = (SLOT << order) >> 2;
    let v = this.views[slot];
    if (v === undefined || v.length !== words) {
      const chunk = this.chunks[slot >> (CHUNK_SHIFT - VIEW_SHIFT)];
      v = new Int32Array(chunk.buffer, chunk.byteOffset + (slot & (CHUNK_SLOTS - 1)) * SLOT, words);
      this.views[slot] = v;
    }
    // Zeroed whatever the slot held before: a block freed at one size may come back as part of
    // another (a split page, or a page that held smaller tables), and free() does not clear.
    v.fill(0);
    this.orders[slot] = order + 1;
    this.liveAllocations++;
    this.liveBytes += SLOT << order;
    return this.base + slot * SLOT;
  }

  /** A free block of 2^order slots: from its list, split from a bigger one up to a page, or bumped. */
  private take(order: number): number {
    const slot = this.freeLists[order].pop();
    if (slot !== undefined) return slot;
    if (order < PAGE_ORDER) {
      // Split the next order's block in two, keeping the upper half free.
      const big = this.take(order + 1);
      if (big >= 0) this.freeLists[order].push(big + (1 << order));
      return big;
    }
    const slots = 1 << order;
    // Whole pages up to the block's alignment go on the page list.
    while (this.nextSlot & (slots - 1)) {
      this.freeLists[PAGE_ORDER].push(this.nextSlot);
      this.nextSlot += 1 << PAGE_ORDER;
    }
    const at = this.nextSlot;
    if ((at + slots) * SLOT > MAX_BYTES) return -1;
    this.nextSlot += slots;
    while (this.chunks.length * CHUNK_SLOTS < this.nextSlot) this.grow();
    return at;
  }

  /** Frees a block alloc() returned. */
  free(phys: number, bytes: number): void {
    const slot = (phys - this.base) / SLOT;
    const order = orderOf(bytes);
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.nextSlot || this.orders[slot] !== order + 1)
      throw new Error(
        `TableMemory: free of 0x${phys.toString(16)} (${bytes} bytes) that is not a live block`,
      );
    this.orders[slot] = 0;
    this.freeLists[order].push(slot);
    this.liveAllocations--;
    this.liveBytes -= SLOT << order;
  }

  /**
   * The pool offset of the live block starting at the physical address whose
   * words are (aLo, aHi), or -1 when no live block starts there: int32
   * arithmetic only, for the hot paths. The subtraction borrows from the high
   * word when the low word is below the base's (compared unsigned by
   * flipping the sign bits).
   */
  blockOffset(aLo: number, aHi: number): number {
    const off = (aLo - this.baseLo) | 0;
    const borrow = (aLo ^ -0x80000000) < this.baseLoFlip ? 1 : 0;
    return ((aHi - this.baseHi) | 0) === borrow &&
      off >= 0 &&
      off < this.poolBytes &&
      (off & (SLOT - 1)) === 0 &&
      this.orders[off >>> VIEW_SHIFT] > 0
      ? off
      : -1;
  }

  /** Whether a live block of `bytes` (as alloc() was asked for) starts at this physical address: what free() accepts. */
  isLiveBlock(phys: number, bytes: number): boolean {
    const slot = (phys - this.base) / SLOT;
    return (
      bytes > 0 &&
      Number.isInteger(slot) &&
      slot >= 0 &&
      slot < this.nextSlot &&
      this.orders[slot] === orderOf(bytes) + 1
    );
  }

  /** Whether a live block starts at this physical address. */
  isLive(phys: number): boolean {
    const slot = (phys - this.base) / SLOT;
    return Number.isInteger(slot) && slot >= 0 && slot < this.nextSlot && this.orders[slot] > 0;
  }

  /**
   * The table at a physical address, as the engine reads it (two int32 words
   * per PTE, low word first); undefined when no block was ever allocated there.
   */
  view(phys: number): Int32Array | undefined {
    const off = phys - this.base;
    if (!(off >= 0 && off < this.poolBytes)) return undefined;
    return this.views[off >>> VIEW_SHIFT];
  }

  /** The words of the table at a physical address as unsigned values, for an emulator. */
  tableWords(phys: number): Uint32Array | undefined {
    const v = this.view(phys);
    return v && new Uint32Array(v.buffer, v.byteOffset, v.length);
  }

  /** Reads the 64-bit word at a physical address (8-byte aligned) inside the pool; undefined outside. */
  read64(phys: number): bigint | undefined {
    const off = phys - this.base;
    if (!(off >= 0 && off < this.poolBytes) || off % 8 !== 0) return undefined;
    const chunk = this.chunks[Math.floor(off / (1 << CHUNK_SHIFT))];
    const w = (off % (1 << CHUNK_SHIFT)) >> 2;
    return (BigInt(chunk[w + 1] >>> 0) << 32n) | BigInt(chunk[w] >>> 0);
  }

  /** Reads the 32-bit word at a physical address (4-byte aligned) inside the pool; undefined outside. */
  read32(phys: number): number | undefined {
    const off = phys - this.base;
    if (!(off >= 0 && off < this.poolBytes) || off % 4 !== 0) return undefined;
    const chunk = this.chunks[Math.floor(off / (1 << CHUNK_SHIFT))];
    return chunk[(off % (1 << CHUNK_SHIFT)) >> 2] >>> 0;
  }

  /** The pool as physical regions, for an emulator's memory map. */
  regions(): { readonly phys: number; readonly bytes: Uint8Array }[] {
    return this.chunks.map((c, i) => ({
      phys: this.base + i * (1 << CHUNK_SHIFT),
      bytes: new Uint8Array(c.buffer, c.byteOffset, c.byteLength),
    }));
  }

  private grow(): void {
    const at = POOL_START + this.chunks.length * (1 << CHUNK_SHIFT);
    // Growing a shared memory leaves every view taken before valid; the new bytes read zero.
    const short = at + (1 << CHUNK_SHIFT) - this.wasmMemory.buffer.byteLength;
    if (short > 0) this.wasmMemory.grow(short / WASM_PAGE);
    this.chunks.push(new Int32Array(this.wasmMemory.buffer, at, 1 << (CHUNK_SHIFT - 2)));
    this.poolBytes = this.chunks.length * (1 << CHUNK_SHIFT);
    // Filled, not left with holes, so that the engine's lookups stay on a packed array.
    for (let i = 0; i < CHUNK_SLOTS; i++) this.views.push(undefined);
  }
}

/** Memories of disposed pools, zeroed where used, for the next pools (dispose()). */
const spareMemories: WasmMemory[] = [];
const MAX_SPARE_MEMORIES = 4;

/** The pool bytes a memory starts with: what all but the largest pools need. */
const INITIAL_POOL_BYTES = 64 << 20;
const INITIAL_PAGES = (POOL_START + INITIAL_POOL_BYTES) / WASM_PAGE;

/**
 * A pool's memory, started with room for INITIAL_POOL_BYTES of tables and
 * grown past them chunk by chunk. Growing a shared memory costs V8 time in
 * proportion to the shared memories alive (each grow is broadcast to all of
 * them: 10k pools each grown once took 48 s, 12k created big enough 10 s),
 * while memory never touched costs no RSS: so pools start big. Each memory
 * reserves ~10 GiB of virtual address space whatever its size (V8's guard
 * region), which bounds the pools alive at once to about 12,000 on x86-64:
 * past that, a readable error instead of V8's.
 */
function poolMemory(): WasmMemory {
  try {
    return newSharedMemory(INITIAL_PAGES, MEMORY_MAX_PAGES);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new RangeError(
      'TableMemory: no virtual address space left for another pool (each reserves ~10 GiB, so about ' +
        '12,000 can be alive at once): let page tables share one ({ memory }), or free() unused ones',
    );
  }
}

/** The order (log2 of 512-byte slots) of a block holding `bytes`. */
export function orderOf(bytes: number): number {
  let order = 0;
  while (SLOT << order < bytes) order++;
  return order;
}
