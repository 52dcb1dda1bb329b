// SPDX-License-Identifier: GPL-2.0-only
/**
 * The memory page tables live in: a growable pool of 4 KiB pages at a
 * "physical" base address, as iommu_alloc_pages_node() hands pages to
 * __arm_lpae_alloc_pages(). Tables hold raw little-endian descriptors, so an
 * emulator can walk them by physical address exactly as the hardware would.
 *
 * Storage is a list of 2 MiB chunks (Int32Array), never copied or moved: a
 * view returned for a table stays valid for the table's lifetime. A block of
 * 2^order pages is aligned to its size (a table's address must be aligned to
 * the table), taken from a free list of its order or from the bump pointer.
 * Freed pages go back to their order's list, unmerged. Allocation zeroes
 * (iommu_alloc_pages_node() returns zeroed pages); freeing does not.
 *
 * Several page tables may share one TableMemory, as io_pgtable_cfg's custom
 * allocator lets a driver do.
 */

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;
const CHUNK_SHIFT = 21;
const CHUNK_PAGES = 1 << (CHUNK_SHIFT - PAGE_SHIFT);
const MAX_ORDER = CHUNK_SHIFT - PAGE_SHIFT;
/** The pool stays below 4 GiB so that offsets fit 32-bit arithmetic. */
const MAX_BYTES = 2 ** 32;

export interface TableMemoryOptions {
  /** Physical address of the pool's first byte; 2 MiB aligned, below 2^48 - 4 GiB. Default 0x40000000. */
  readonly base?: number;
}

export class TableMemory {
  readonly base: number;
  /** Live allocations and their bytes. */
  liveAllocations = 0;
  liveBytes = 0;
  /** Called before each allocation; returning true makes it fail (the kernel's allocation failure). */
  shouldFail: ((bytes: number) => boolean) | null = null;

  private readonly chunks: Int32Array[] = [];
  /**
   * pageViews[page]: the view of the block that starts at that page (kept for
   * reuse after a free). The engine's hot path indexes it directly.
   */
  readonly pageViews: (Int32Array | undefined)[] = [];
  /** Bytes of physical address space the pool covers from `base`. */
  poolBytes = 0;
  /** order of the live block starting at a page, or -1. */
  private orders = new Int8Array(0);
  private readonly freeLists: number[][] = Array.from({ length: MAX_ORDER + 1 }, () => []);
  private nextPage = 0;

  constructor(opts: TableMemoryOptions = {}) {
    const base = opts.base ?? 0x4000_0000;
    if (
      !Number.isSafeInteger(base) ||
      base < 0 ||
      base % (1 << CHUNK_SHIFT) !== 0 ||
      base + MAX_BYTES > 2 ** 48
    )
      throw new RangeError(
        `TableMemory base 0x${base.toString(16)} must be 2 MiB aligned and below 2^48 - 4 GiB`,
      );
    this.base = base;
  }

  /** Allocates a zeroed, naturally aligned block of at least `bytes`; returns its physical address or -1. */
  alloc(bytes: number): number {
    let order = 0;
    while (PAGE_SIZE << order < bytes) order++;
    if (order > MAX_ORDER) throw new RangeError(`TableMemory: ${bytes}-byte tables are not supported`);
    if (this.shouldFail !== null && this.shouldFail(bytes)) return -1;
    const pages = 1 << order;
    let page = this.freeLists[order].pop();
    if (page === undefined) {
      while (this.nextPage & (pages - 1)) this.freeLists[0].push(this.nextPage++);
      page = this.nextPage;
      if ((page + pages) * PAGE_SIZE > MAX_BYTES) return -1;
      this.nextPage += pages;
      while (this.chunks.length * CHUNK_PAGES < this.nextPage) this.grow();
    }
    const words = (pages * PAGE_SIZE) >> 2;
    let v = this.pageViews[page];
    if (v === undefined || v.length !== words) {
      const chunk = this.chunks[page >> (CHUNK_SHIFT - PAGE_SHIFT)];
      v = new Int32Array(chunk.buffer, (page & (CHUNK_PAGES - 1)) * PAGE_SIZE, words);
      this.pageViews[page] = v;
    } else {
      v.fill(0);
    }
    this.orders[page] = order;
    this.liveAllocations++;
    this.liveBytes += pages * PAGE_SIZE;
    return this.base + page * PAGE_SIZE;
  }

  /** Frees a block alloc() returned. */
  free(phys: number, bytes: number): void {
    const page = (phys - this.base) / PAGE_SIZE;
    let order = 0;
    while (PAGE_SIZE << order < bytes) order++;
    if (!Number.isInteger(page) || page < 0 || page >= this.nextPage || this.orders[page] !== order)
      throw new Error(
        `TableMemory: free of 0x${phys.toString(16)} (${bytes} bytes) that is not a live block`,
      );
    this.orders[page] = -1;
    this.freeLists[order].push(page);
    this.liveAllocations--;
    this.liveBytes -= PAGE_SIZE << order;
  }

  /**
   * The table at a physical address, as the engine reads it (two int32 words
   * per PTE, low word first); undefined when no block was ever allocated there.
   */
  view(phys: number): Int32Array | undefined {
    const off = phys - this.base;
    if (!(off >= 0 && off < this.poolBytes)) return undefined;
    return this.pageViews[off >>> PAGE_SHIFT];
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

  /** The pool as physical regions, for an emulator's memory map. */
  regions(): { readonly phys: number; readonly bytes: Uint8Array }[] {
    return this.chunks.map((c, i) => ({
      phys: this.base + i * (1 << CHUNK_SHIFT),
      bytes: new Uint8Array(c.buffer),
    }));
  }

  private grow(): void {
    this.chunks.push(new Int32Array(1 << (CHUNK_SHIFT - 2)));
    this.poolBytes = this.chunks.length * (1 << CHUNK_SHIFT);
    const orders = new Int8Array(this.chunks.length * CHUNK_PAGES).fill(-1);
    orders.set(this.orders);
    this.orders = orders;
  }
}
