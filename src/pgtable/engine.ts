// SPDX-License-Identifier: GPL-2.0-only
/**
 * The one map/unmap engine: io_pgtable_ops for any format a PgtableLayout
 * describes, following drivers/iommu/io-pgtable-arm.c as of Linux 6.12.
 *
 * Design, once:
 * - Tables are blocks of a TableMemory, addressed by their physical address
 *   exactly as a table descriptor holds it; descending a level decodes the
 *   descriptor's output address and looks the table up. Nothing else links
 *   tables together, so what the engine reads is what a walker would read.
 * - A PTE is two int32 words, low word first. IOVAs and physical addresses
 *   are numbers below 2^53, split into 32-bit words once per operation.
 * - The hot path allocates nothing and uses no BigInt: a new table is the
 *   only allocation, and the caller passes the object the mapped byte count
 *   is added to (the kernel's `size_t *mapped`).
 * - Errors are the kernel's: negative errnos from map, 0 bytes from unmap,
 *   and a recorded WARN wherever the kernel has a WARN_ON.
 * - Depth d is the engine's index into the layout's levels (0 = the pgd);
 *   the kernel's `lvl` is `layout.levels[d].level`.
 *
 * Kernel behaviour kept on purpose:
 * - A leaf in the way of a map is -EEXIST (with the kernel's WARN), but a
 *   table in the way of a block is unmapped and freed first, mappings and
 *   all (arm_lpae_init_pte()). With pgcount > 1 the tables before the first
 *   conflicting leaf are already gone when -EEXIST comes back.
 * - Unmapping part of a block splits it, as 6.12's arm_lpae_split_blk_unmap()
 *   does: a table of the next level takes the block's pieces, with their
 *   attribute bits, minus the unmapped ones, recursively down to the size
 *   being unmapped. A split that cannot allocate its table unmaps nothing.
 * - Unmapping never frees a table that became empty; it goes when a larger
 *   unmap or map covers it, or with the whole table.
 * - One map_pages or unmap_pages call stops at the end of the table page
 *   holding the first entry and reports how much it did.
 * Where the kernel would follow a corrupt descriptor (a present entry that is
 * neither leaf nor table) into garbage, the engine stops with a WARN.
 */
import { EEXIST, EINVAL, ENOMEM, EOPNOTSUPP, ERANGE } from '../kernel/errno.js';
import type { CompiledFormat } from './compiled.js';
import type { FastPath } from './fast-path.js';
import { FAST_FALLBACK, createFastPath } from './fast-path.js';
import type { WasmPath } from './wasm-path.js';
import { createWasmPath } from './wasm-path.js';
import { KIND_LEAF, KIND_TABLE } from './compiled.js';
import type { TableMemory } from './memory.js';
import { CHUNK_MASK, CHUNK_SHIFT, VIEW_SHIFT } from './memory.js';
import { IOMMU_DIRTY_NO_CLEAR, IOMMU_PROT_BITS, IOMMU_READ, IOMMU_WRITE } from './prot.js';
import type { PgtableRules } from './rules/rules.js';
import { rulesFor } from './rules/index.js';

const TWO32 = 4294967296;
const PROT_MASK = (1 << IOMMU_PROT_BITS) - 1;

/** struct iommu_flush_ops: what a table change asks of the TLB. All optional. */
export interface IommuFlushOps {
  tlb_flush_all?(): void;
  tlb_flush_walk?(iova: number, size: number, granule: number): void;
  tlb_add_page?(iova: number, granule: number): void;
}

/** A WARN the kernel would print: the function it sits in and its condition. */
export interface PgtableWarning {
  readonly site: string;
  readonly message: string;
}

/** The out-parameter map_pages adds the mapped bytes to. */
export interface MappedOut {
  mapped: number;
}

/** A dirty range, as iommu_dirty_bitmap_record() receives it. */
export type DirtyRecord = (iova: number, length: number) => void;

export interface EngineOptions {
  readonly tlb?: IommuFlushOps;
  readonly warn?: (w: PgtableWarning) => void;
  /**
   * The generated fast path where the format has one: 'wasm' (wasm-path.ts,
   * the default; true means it too), 'js' (fast-path.ts), or false for the
   * data-driven engine alone.
   */
  readonly fastPath?: boolean | 'wasm' | 'js';
}

export type Addr = number | bigint;

/* What access() found: a leaf, and what it lets through. */
export const ACCESS_LEAF = 1 << 0;
export const ACCESS_READ = 1 << 1;
export const ACCESS_WRITE = 1 << 2;
/** A write through this leaf would set its dirty state (hardware dirty tracking; markDirty() does it). */
export const ACCESS_DIRTIES = 1 << 3;

const MAX_ADDR = 2 ** 53;

/** A bigint address as the engine's number: values no number holds exactly become -1 or 2^53, which every range check refuses. */
export const addrFromBigint = (v: bigint): number =>
  v < 0n ? -1 : v >= 9007199254740992n ? MAX_ADDR : Number(v);

export class IoPgtable {
  readonly f: CompiledFormat;
  readonly memory: TableMemory;
  /**
   * Physical address of the root table: what TTBR/VTTBR (the DTE, the PASID
   * entry) holds. Only AMD v1 and the iommufd mock change it, when their
   * address space grows a level.
   */
  pgdPhys: number;
  /** The depth the root table is at (0 but for the growing formats). */
  top: number;
  /** Tables this page table holds, the pgd included. */
  tableCount = 1;
  readonly warnings: PgtableWarning[] = [];
  /** @internal The root table. */
  pgd: Int32Array;
  /** The root's pool offset, for io-pgtable-arm's own walks (its root never moves). */
  private readonly pgdOff: number;
  /** The generated common cases of map, unmap and iova_to_phys in JavaScript (fast-path.ts), or null. */
  private readonly fast: FastPath | null;
  /** The same in WebAssembly (wasm-path.ts), called straight from the public methods; null once freed. */
  private wasm: WasmPath | null;
  /** Where its walk leaves the address it found (the memory's walkResult). */
  private readonly walkResult: Float64Array;
  protected freed = false;
  /** @internal */
  readonly tlb: IommuFlushOps | null;
  private readonly onWarn: ((w: PgtableWarning) => void) | null;
  /** @internal A family's map/unmap rules (rules/), or null for io-pgtable-arm's, which are this class's own. */
  readonly rules: PgtableRules | null;
  /**
   * Address arguments and results handed between the hot functions. Kept in a
   * typed array because V8 boxes a number of 2^30 or more (an allocation)
   * when it passes one to, or returns one from, a call it did not inline. The
   * public methods are small enough to be inlined into a caller's loop and
   * pass only small integers to the bodies that do the work.
   */
  /** @internal */
  readonly arg = new Float64Array(3);
  /** The output address the last access() found. */
  lastPhys = 0;
  private lastT: Int32Array | null = null;
  private lastJ = 0;
  /* struct io_pgtable_walk_data of the dirty walk under way. */
  private walkAddr = 0;
  private walkEnd = 0;
  private walkFlags = 0;
  private walkRecord: DirtyRecord | null = null;

  constructor(f: CompiledFormat, memory: TableMemory, pgdPhys: number, opts: EngineOptions = {}) {
    this.f = f;
    this.memory = memory;
    this.pgdPhys = pgdPhys;
    this.top = f.topDepth;
    this.rules = rulesFor(f.rules);
    const pgd = memory.view(pgdPhys);
    if (pgd === undefined) throw new Error('IoPgtable: the pgd is not in table memory');
    this.pgd = pgd;
    this.pgdOff = pgdPhys - memory.base;
    this.tlb = opts.tlb ?? null;
    this.onWarn = opts.warn ?? null;
    const kind = this.rules !== null ? false : (opts.fastPath ?? 'wasm');
    this.fast = kind === 'js' ? createFastPath(f, memory, this.pgdOff, this.tlb) : null;
    this.wasm = kind === 'wasm' || kind === true ? createWasmPath(f, memory) : null;
    this.walkResult = memory.walkResult;
  }

  /** @internal Records a WARN the kernel would print. */
  warn(site: string, message: string): void {
    const w = { site, message };
    this.warnings.push(w);
    if (this.onWarn !== null) this.onWarn(w);
  }

  protected checkLive(): void {
    if (this.freed) throw new Error(`${this.f.layout.fmt}: page table used after free()`);
  }

  /** The depth whose leaves have this size, if pgsize_bitmap has it; else -1. */
  private leafDepth(pgsize: number): number {
    const f = this.f;
    for (let d = f.last; d >= 0; d--) if (f.blockSize[d] === pgsize) return f.leafOk[d] === 1 ? d : -1;
    return -1;
  }

  /** @internal A zeroed table for depth d (its physical address), or -1. */
  allocTable(d: number): number {
    const phys = this.memory.alloc(this.f.allocBytes[d]);
    if (phys < 0) return -1;
    if (phys >= this.f.tableLimit) {
      // __arm_v7s_alloc_table(): "Page table does not fit in PTE", freed again.
      this.memory.free(phys, this.f.allocBytes[d]);
      return -1;
    }
    this.tableCount++;
    return phys;
  }

  /** @internal */
  freeTable(d: number, phys: number): void {
    if (!this.memory.isLiveBlock(phys, this.f.allocBytes[d])) {
      // Only a corrupt descriptor leads here (the kernel would free whatever it points at).
      this.warn('free table', `0x${phys.toString(16)} is not a live level-${d} table: nothing freed`);
      return;
    }
    this.memory.free(phys, this.f.allocBytes[d]);
    this.tableCount--;
  }

  /**
   * iopte_deref() on the hot path: the pool offset of the table a table
   * descriptor points at, or -1 when no table starts there. Int32 arithmetic
   * only, allocating nothing.
   * @internal
   */
  tableOffset(lo: number, hi: number): number {
    const f = this.f;
    let aLo = lo & f.oaLo;
    let aHi = hi & f.oaHi;
    for (let m = 0, mv = f.moved; m < mv.length; m += 5) {
      const piece = ((mv[m + 2] === 0 ? lo : hi) >>> mv[m + 3]) & mv[m + 4];
      if (mv[m] === 0) aLo |= piece << mv[m + 1];
      else aHi |= piece << mv[m + 1];
    }
    return this.memory.blockOffset(aLo, aHi);
  }

  /** iopte_deref() for the family rules, which index table views. @internal */
  tableAt(lo: number, hi: number): Int32Array | undefined {
    const off = this.tableOffset(lo, hi);
    return off < 0 ? undefined : this.memory.views[off >>> VIEW_SHIFT];
  }

  /** iopte_deref() off the hot path. */
  private deref(lo: number, hi: number): Int32Array | undefined {
    return this.memory.view(this.f.oaOf(lo, hi));
  }

  /**
   * arm_lpae_map_pages(): maps up to pgcount leaves of pgsize from iova to
   * paddr, stopping at the end of the table page; returns 0 or a negative
   * errno and adds the bytes mapped to out.mapped (the kernel's *mapped).
   */
  mapPagesTo(out: MappedOut, iova: Addr, paddr: Addr, pgsize: Addr, pgcount: number, prot: number): number {
    const w = this.wasm;
    if (w !== null && typeof iova === 'number' && typeof paddr === 'number' && typeof pgsize === 'number') {
      const n = w.map(this.pgdOff, iova, paddr, pgsize, pgcount, prot);
      if (n >= 0) {
        out.mapped += n * pgsize;
        return 0;
      }
    }
    const a = this.arg;
    a[0] = typeof iova === 'number' ? iova : addrFromBigint(iova);
    a[1] = typeof paddr === 'number' ? paddr : addrFromBigint(paddr);
    a[2] = typeof pgsize === 'number' ? pgsize : addrFromBigint(pgsize);
    return this.mapDispatch(pgcount, prot, out);
  }

  /** map_pages of arg[0..2]: the family's rules, the fast path, or io-pgtable-arm's. */
  private mapDispatch(pgcount: number, prot: number, out: MappedOut): number {
    if (this.rules !== null) {
      if (this.freed) this.checkLive();
      return this.rules.map(this, pgcount, prot, out);
    }
    if (this.fast !== null && !this.freed) {
      const ret = this.fast.map(this.arg, pgcount, prot, out);
      if (ret !== FAST_FALLBACK) return ret;
    }
    return this.map_pages(pgcount, prot, out);
  }

  /** arm_lpae_map_pages() on arg[0..2]: iova, paddr, pgsize. */
  private map_pages(pgcount: number, prot: number, out: MappedOut): number {
    if (this.freed) this.checkLive();
    const iova = this.arg[0];
    const paddr = this.arg[1];
    const pgsize = this.arg[2];
    if (!Number.isInteger(iova) || !Number.isInteger(paddr) || !Number.isInteger(pgcount) || pgcount < 0)
      return -EINVAL;
    const f = this.f;
    const dLeaf = this.leafDepth(pgsize);
    if (dLeaf < 0) {
      this.warn('arm_lpae_map_pages', 'WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize)');
      return -EINVAL;
    }
    // __iommu_map() and iommu_pgsize() only ever hand io-pgtable addresses aligned to pgsize.
    if (
      pgsize <= 0x40000000
        ? ((iova | paddr) & (pgsize - 1)) !== 0
        : iova % pgsize !== 0 || paddr % pgsize !== 0
    )
      return -EINVAL;
    if (!(iova >= 0 && iova < f.iasLimit && paddr >= 0 && paddr < f.oasLimit)) {
      this.warn('arm_lpae_map_pages', 'WARN_ON(iaext || paddr >> cfg->oas)');
      return -ERANGE;
    }
    if ((prot & (IOMMU_READ | IOMMU_WRITE)) === 0) return -EINVAL;

    // __arm_lpae_map(), its recursion as a loop: find or install tables down to the leaf's depth.
    // A table is its chunk c and the index b of its first word there.
    const chunks = this.memory.chunks;
    const iLo = iova >>> 0;
    const iHi = ((iova - iLo) / TWO32) | 0;
    let off = this.pgdOff;
    let c = chunks[off >>> CHUNK_SHIFT];
    let b = (off & CHUNK_MASK) >> 2;
    for (let d = 0; ; d++) {
      const s = f.shift[d];
      const idx = (s >= 32 ? iHi >>> (s - 32) : (iLo >>> s) | (iHi << (32 - s))) & f.idxMask[d];
      if (d === dLeaf) {
        this.arg[0] = iova;
        this.arg[1] = paddr;
        return this.init_pte(c, b, idx, d, pgcount, prot & PROT_MASK, out);
      }
      // Here d < dLeaf <= the last depth, so the kernel's "no tables at the final level" WARN cannot fire.
      const j = b + (idx << 1);
      let lo = c[j];
      let hi = c[j + 1];
      if ((lo & f.presLo) === 0 && (hi & f.presHi) === 0) {
        off = this.newTable(c, j, d + 1);
        if (off === -ENOMEM) return -ENOMEM;
        if (off >= 0) {
          c = chunks[off >>> CHUNK_SHIFT];
          b = (off & CHUNK_MASK) >> 2;
          continue;
        }
        // Lost the race to install a table: use whatever is there now.
        lo = c[j];
        hi = c[j + 1];
      }
      const k = f.kinds[d * f.kindStride + ((lo >>> f.typeShift) & f.typeMask)];
      if (k === KIND_LEAF) {
        this.warn(
          '__arm_lpae_map',
          'WARN_ON(!selftest_running): -EEXIST, a leaf maps this IOVA (unmap first)',
        );
        return -EEXIST;
      }
      off = k === KIND_TABLE ? this.tableOffset(lo, hi) : -1;
      if (off < 0) {
        this.warn('__arm_lpae_map', 'not a table descriptor');
        return -EINVAL;
      }
      c = chunks[off >>> CHUNK_SHIFT];
      b = (off & CHUNK_MASK) >> 2;
    }
  }

  /**
   * The allocation branch of __arm_lpae_map(), kept out of the walk's line: a
   * new table of depth d installed at c[j]. Returns its pool offset, -ENOMEM,
   * or -1 when another table won the race (the caller rereads the entry).
   */
  private newTable(c: Int32Array, j: number, d: number): number {
    const phys = this.allocTable(d);
    if (phys < 0) return -ENOMEM;
    if (this.install_table(c, j, phys, 0, 0)) return phys - this.memory.base;
    this.freeTable(d, phys);
    return -1;
  }

  /** arm_lpae_init_pte(): refuse leaves in the way, free tables in the way, then write the leaves. */
  private init_pte(
    c: Int32Array,
    b: number,
    idx: number,
    d: number,
    pgcount: number,
    prot: number,
    out: MappedOut,
  ): number {
    const iova = this.arg[0];
    const paddr = this.arg[1];
    const f = this.f;
    const per = f.entriesPerPage[d];
    const max = per - (idx & (per - 1));
    const n = pgcount < max ? pgcount : max;
    const sz = f.blockSize[d];
    for (let i = 0, j = b + (idx << 1); i < n; i++, j += 2) {
      const lo = c[j];
      const hi = c[j + 1];
      if ((lo & f.presLo) === 0 && (hi & f.presHi) === 0) continue;
      const k = f.kinds[d * f.kindStride + ((lo >>> f.typeShift) & f.typeMask)];
      if (k === KIND_LEAF) {
        this.warn(
          'arm_lpae_init_pte',
          'WARN_ON(!selftest_running): -EEXIST, a leaf maps this IOVA (unmap first)',
        );
        return -EEXIST;
      }
      if (k === KIND_TABLE) {
        this.arg[0] = iova + i * sz;
        this.arg[1] = sz;
        if (this.__unmap(c, b, d, 1, false) !== 1) {
          this.warn('arm_lpae_init_pte', 'WARN_ON(1): freeing the table in the way failed');
          return -EINVAL;
        }
      }
    }
    this.arg[1] = paddr;
    const p = (d << IOMMU_PROT_BITS) | prot;
    this.__init_pte(c, b + (idx << 1), d, n, f.protLo[p] | f.leafLo[d], f.protHi[p] | f.leafHi[d]);
    out.mapped += n * sz;
    return 0;
  }

  /**
   * __arm_lpae_init_pte(): n leaves of depth d from word j of c on, mapping
   * from arg[1] on. The output address advances by words while the block
   * size fits one.
   */
  private __init_pte(c: Int32Array, j: number, d: number, n: number, pLo: number, pHi: number): void {
    const f = this.f;
    const paddr = this.arg[1];
    const sz = f.blockSize[d];
    const mv = f.moved;
    let aLo = paddr | 0;
    let aHi = (paddr - (paddr >>> 0)) / TWO32;
    const szLo = sz < TWO32 ? sz | 0 : 0;
    for (let i = 0; i < n; i++, j += 2) {
      if (szLo === 0 && i > 0) {
        const pa = paddr + i * sz;
        aLo = pa | 0;
        aHi = (pa - (pa >>> 0)) / TWO32;
      }
      // paddr_to_iopte()
      let lo = pLo | (aLo & f.oaLo);
      let hi = pHi | (aHi & f.oaHi);
      for (let m = 0; m < mv.length; m += 5) {
        const piece = ((mv[m] === 0 ? aLo : aHi) >>> mv[m + 1]) & mv[m + 4];
        if (mv[m + 2] === 0) lo |= piece << mv[m + 3];
        else hi |= piece << mv[m + 3];
      }
      c[j] = lo;
      c[j + 1] = hi;
      if (szLo !== 0) {
        // aLo += sz with the carry into aHi (compared unsigned by flipping the sign bits).
        const next = (aLo + szLo) | 0;
        if ((next ^ -0x80000000) < (aLo ^ -0x80000000)) aHi = (aHi + 1) | 0;
        aLo = next;
      }
    }
  }

  /** arm_lpae_install_table(): cmpxchg a table descriptor for `child` over the expected PTE. */
  private install_table(t: Int32Array, j: number, child: number, curLo: number, curHi: number): boolean {
    const f = this.f;
    if (t[j] !== curLo || t[j + 1] !== curHi) return false;
    const aLo = child >>> 0;
    const aHi = (child - aLo) / TWO32;
    t[j] = f.tblLo | f.oaToLo(aLo, aHi);
    t[j + 1] = f.tblHi | f.oaToHi(aLo, aHi);
    return true;
  }

  /** arm_lpae_unmap_pages(): unmaps up to pgcount leaves of pgsize; returns the bytes unmapped (0 on error). */
  unmapPages(iova: Addr, pgsize: Addr, pgcount: number): number {
    const w = this.wasm;
    if (w !== null && typeof iova === 'number' && typeof pgsize === 'number') {
      const n = w.unmap(this.pgdOff, iova, pgsize, pgcount);
      if (n > 0) {
        if (this.tlb !== null) this.addPages(iova, pgsize, n);
        return n * pgsize;
      }
    }
    const size = typeof pgsize === 'number' ? pgsize : addrFromBigint(pgsize);
    this.arg[0] = typeof iova === 'number' ? iova : addrFromBigint(iova);
    this.arg[1] = size;
    this.unmapDispatch(pgcount);
    return this.arg[2];
  }

  /** The flush ops' tlb_add_page() for n leaves of pgsize from iova, as __arm_lpae_unmap() adds them. */
  private addPages(iova: number, pgsize: number, n: number): void {
    if (this.tlb !== null && this.tlb.tlb_add_page)
      for (let i = 0; i < n; i++) this.tlb.tlb_add_page(iova + i * pgsize, pgsize);
  }

  /** unmap_pages of arg[0..1] into arg[2] (bytes): the family's rules, the fast path, or io-pgtable-arm's. */
  private unmapDispatch(pgcount: number): void {
    const size = this.arg[1];
    if (this.rules !== null) {
      if (this.freed) this.checkLive();
      this.rules.unmap(this, pgcount);
      return;
    }
    let n = -1;
    if (this.fast !== null && !this.freed) n = this.fast.unmap(this.arg, pgcount);
    if (n < 0) n = this.unmap_pages(pgcount);
    this.arg[2] = n === 0 ? 0 : n * size;
  }

  /** arm_lpae_unmap_pages() on arg[0] (iova) and arg[1] (pgsize): the entries unmapped. */
  private unmap_pages(pgcount: number): number {
    if (this.freed) this.checkLive();
    const iova = this.arg[0];
    const pgsize = this.arg[1];
    if (!Number.isInteger(iova) || !Number.isInteger(pgcount) || pgcount < 0) return 0;
    const dLeaf = this.leafDepth(pgsize);
    if (dLeaf < 0 || pgcount === 0) {
      this.warn(
        'arm_lpae_unmap_pages',
        'WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize || !pgcount)',
      );
      return 0;
    }
    // __iommu_unmap() refuses an unaligned IOVA before io-pgtable sees it (pr_err, no WARN).
    if (pgsize <= 0x40000000 ? (iova & (pgsize - 1)) !== 0 : iova % pgsize !== 0) return 0;
    if (!(iova >= 0 && iova < this.f.iasLimit)) {
      this.warn('arm_lpae_unmap_pages', 'WARN_ON(iaext)');
      return 0;
    }
    const off = this.pgdOff;
    return this.__unmap(this.memory.chunks[off >>> CHUNK_SHIFT], (off & CHUNK_MASK) >> 2, 0, pgcount, true);
  }

  /**
   * __arm_lpae_unmap() from table t at depth d, its recursion as a loop, for
   * arg[0] (iova) and arg[1] (size). Returns the entries unmapped, which the
   * caller multiplies by the size.
   */
  private __unmap(c: Int32Array, b: number, d: number, pgcount: number, gather: boolean): number {
    const iova = this.arg[0];
    const size = this.arg[1];
    const f = this.f;
    const chunks = this.memory.chunks;
    const iLo = iova >>> 0;
    const iHi = ((iova - iLo) / TWO32) | 0;
    for (;;) {
      const s = f.shift[d];
      const idx = (s >= 32 ? iHi >>> (s - 32) : (iLo >>> s) | (iHi << (32 - s))) & f.idxMask[d];
      let j = b + (idx << 1);
      const lo = c[j];
      const hi = c[j + 1];
      if ((lo & f.presLo) === 0 && (hi & f.presHi) === 0) {
        this.warn('__arm_lpae_unmap', 'WARN_ON(!pte)');
        return 0;
      }
      const kb = d * f.kindStride;
      const k = f.kinds[kb + ((lo >>> f.typeShift) & f.typeMask)];
      if (size === f.blockSize[d]) {
        const per = f.entriesPerPage[d];
        const max = per - (idx & (per - 1));
        const n = pgcount < max ? pgcount : max;
        let i = 0;
        for (; i < n; i++, j += 2) {
          const elo = c[j];
          const ehi = c[j + 1];
          if ((elo & f.presLo) === 0 && (ehi & f.presHi) === 0) {
            this.warn('__arm_lpae_unmap', 'WARN_ON(!pte)');
            break;
          }
          const ek = f.kinds[kb + ((elo >>> f.typeShift) & f.typeMask)];
          if (ek !== KIND_LEAF) this.unmapTableEntry(c, j, d, iova + i * size, size, ek);
        }
        for (let w = b + (idx << 1), end = w + (i << 1); w < end; w++) c[w] = 0;
        if (gather && this.tlb !== null && this.tlb.tlb_add_page)
          for (let m = 0; m < i; m++) this.tlb.tlb_add_page(iova + m * size, size);
        return i;
      }
      if (k === KIND_LEAF) {
        this.arg[0] = iova;
        this.arg[1] = size;
        return this.split_blk_unmap(lo, hi, d + 1, c, j, pgcount, gather);
      }
      const off = k === KIND_TABLE && d < f.last ? this.tableOffset(lo, hi) : -1;
      if (off < 0) {
        this.warn('__arm_lpae_unmap', 'not a table descriptor');
        return 0;
      }
      c = chunks[off >>> CHUNK_SHIFT];
      b = (off & CHUNK_MASK) >> 2;
      d++;
    }
  }

  /** __arm_lpae_unmap() on a table (or corrupt) entry where a leaf of its size goes: clear it, flush the walk, free what was under it. */
  private unmapTableEntry(
    c: Int32Array,
    j: number,
    d: number,
    iova: number,
    size: number,
    kind: number,
  ): void {
    const f = this.f;
    const lo = c[j];
    const hi = c[j + 1];
    c[j] = 0;
    c[j + 1] = 0;
    if (this.tlb !== null && this.tlb.tlb_flush_walk) this.tlb.tlb_flush_walk(iova, size, f.layout.granule);
    if (kind === KIND_TABLE && d < f.last) this.__free_pgtable(d + 1, f.oaOf(lo, hi));
  }

  /**
   * arm_lpae_split_blk_unmap(): replace the block at parent[pj] by a table of
   * depth d holding its pieces, minus those being unmapped when the unmap is
   * of that size; a smaller unmap goes on into the new table. Unmaps arg[0]
   * (iova) of size arg[1]; returns the entries unmapped.
   */
  private split_blk_unmap(
    blkLo: number,
    blkHi: number,
    d: number,
    parent: Int32Array,
    pj: number,
    pgcount: number,
    gather: boolean,
  ): number {
    const chunks = this.memory.chunks;
    const iova = this.arg[0];
    const size = this.arg[1];
    const f = this.f;
    if (d === f.nLevels) {
      this.warn('arm_lpae_split_blk_unmap', 'WARN_ON(lvl == ARM_LPAE_MAX_LEVELS)');
      return 0;
    }
    const phys = this.allocTable(d);
    if (phys < 0) return 0;
    let off = phys - this.memory.base;
    let c = chunks[off >>> CHUNK_SHIFT];
    let b = (off & CHUNK_MASK) >> 2;
    const splitSz = f.blockSize[d];
    const per = f.entriesPerPage[d];
    let start = -1;
    let n = 0;
    if (size === splitSz) {
      const iLo = iova >>> 0;
      start = f.index(d, iLo, (iova - iLo) / TWO32);
      const max = per - (start & (per - 1));
      n = pgcount < max ? pgcount : max;
    }
    // The block's attributes (iopte_prot()) on every piece but the unmapped ones.
    const pLo = (blkLo & f.attrLo) | f.leafLo[d];
    const pHi = (blkHi & f.attrHi) | f.leafHi[d];
    const blkPa = f.oaOf(blkLo, blkHi);
    const holeEnd = start < 0 ? per : start + n;
    this.arg[1] = blkPa;
    this.__init_pte(c, b, d, start < 0 ? per : start, pLo, pHi);
    this.arg[1] = blkPa + holeEnd * splitSz;
    this.__init_pte(c, b + (holeEnd << 1), d, per - holeEnd, pLo, pHi);
    if (!this.install_table(parent, pj, phys, blkLo, blkHi)) {
      this.freeTable(d, phys);
      // Someone split it first: carry on in their table; anything else is invalid.
      const lo = parent[pj];
      const hi = parent[pj + 1];
      off = f.kind(d - 1, lo, hi) === KIND_TABLE ? this.tableOffset(lo, hi) : -1;
      if (off < 0) return 0;
      c = chunks[off >>> CHUNK_SHIFT];
      b = (off & CHUNK_MASK) >> 2;
    } else if (start >= 0) {
      if (this.tlb !== null && this.tlb.tlb_add_page)
        for (let i = 0; i < n; i++) this.tlb.tlb_add_page(iova + i * size, size);
      return n;
    }
    this.arg[0] = iova;
    this.arg[1] = size;
    return this.__unmap(c, b, d, pgcount, gather);
  }

  /**
   * arm_lpae_iova_to_phys(): the physical address an IOVA translates to, 0 if
   * none. IOVA bits above ias are ignored, as the kernel's index ignores them.
   */
  iovaToPhys(iova: Addr): number {
    const w = this.wasm;
    if (w !== null && typeof iova === 'number') {
      const found = w.walk(this.pgdOff, iova);
      if (found > 0) return this.walkResult[0];
      if (found === 0) return 0;
    }
    this.arg[0] = typeof iova === 'number' ? iova : Number(BigInt.asUintN(this.f.layout.ias, iova));
    // Kept this small so that V8 inlines it into the caller: a non-inlined call would box the
    // address it returns (a number of 2^30 or more) on the heap.
    this.translate();
    return this.arg[1];
  }

  /** iova_to_phys of arg[0] into arg[1]: the family's rules, the fast path, or io-pgtable-arm's walk. */
  private translate(): void {
    if (this.rules !== null) {
      if (this.freed) this.checkLive();
      this.rules.iovaToPhys(this);
    } else if (this.fast === null || this.freed || !this.fast.iovaToPhys(this.arg)) {
      this.iova_to_phys();
    }
  }

  /** arm_lpae_iova_to_phys() of arg[0], into arg[1]. */
  private iova_to_phys(): void {
    if (this.freed) this.checkLive();
    const f = this.f;
    let iova = this.arg[0];
    this.arg[1] = 0;
    if (!(iova >= 0 && iova < MAX_ADDR && Number.isInteger(iova))) {
      // An integer the kernel's unsigned long holds otherwise (negative, or past 2^53): its low ias bits.
      if (!Number.isInteger(iova)) return;
      iova = Number(BigInt.asUintN(f.layout.ias, BigInt(iova)));
    }
    const mem = this.memory;
    const chunks = mem.chunks;
    const iLo = iova >>> 0;
    const iHi = ((iova - iLo) / TWO32) | 0;
    let off = this.pgdOff;
    let c = chunks[off >>> CHUNK_SHIFT];
    let b = (off & CHUNK_MASK) >> 2;
    for (let d = 0; d < f.nLevels; d++) {
      const s = f.shift[d];
      const j = b + (((s >= 32 ? iHi >>> (s - 32) : (iLo >>> s) | (iHi << (32 - s))) & f.idxMask[d]) << 1);
      const lo = c[j];
      const hi = c[j + 1];
      if ((lo & f.presLo) === 0 && (hi & f.presHi) === 0) return;
      const k = f.kinds[d * f.kindStride + ((lo >>> f.typeShift) & f.typeMask)];
      if (k !== KIND_LEAF && (k !== KIND_TABLE || d === f.last)) return;
      // iopte_to_paddr()
      let aLo = lo & f.oaLo;
      let aHi = hi & f.oaHi;
      for (let m = 0, mv = f.moved; m < mv.length; m += 5) {
        const piece = ((mv[m + 2] === 0 ? lo : hi) >>> mv[m + 3]) & mv[m + 4];
        if (mv[m] === 0) aLo |= piece << mv[m + 1];
        else aHi |= piece << mv[m + 1];
      }
      // A leaf: its output address | (iova & (block size - 1)).
      if (k === KIND_LEAF) {
        this.arg[1] = ((aLo | (iLo & f.offLo[d])) >>> 0) + ((aHi | (iHi & f.offHi[d])) >>> 0) * TWO32;
        return;
      }
      off = mem.blockOffset(aLo, aHi);
      if (off < 0) return;
      c = chunks[off >>> CHUNK_SHIFT];
      b = (off & CHUNK_MASK) >> 2;
    }
  }

  /**
   * The hardware's walk for a device access at iova (not a kernel function):
   * from the root, table by table, to the leaf; returns ACCESS_* bits (0: no
   * translation) and leaves the output address in lastPhys. Reads only the
   * table memory and the format, as the IOMMU would.
   */
  access(iova: number): number {
    if (this.freed) this.checkLive();
    const f = this.f;
    this.lastT = null;
    if (!(iova >= 0 && iova < MAX_ADDR && Number.isInteger(iova))) return 0;
    const iLo = iova >>> 0;
    const iHi = ((iova - iLo) / TWO32) | 0;
    const w = f.pteWords;
    let t = this.pgd;
    for (let d = this.top; d < f.nLevels; d++) {
      const j = f.index(d, iLo, iHi) * w;
      const lo = t[j];
      const hi = w === 2 ? t[j + 1] : 0;
      const k = f.kind(d, lo, hi);
      if (k === KIND_LEAF) {
        if (f.layout.decode) {
          const e = f.decode(d, lo, hi);
          this.lastPhys = e.oa + (iova % e.size);
        } else {
          this.lastPhys = f.oaOf(lo, hi) + (iova % f.blockSize[d]);
        }
        this.lastT = t;
        this.lastJ = j;
        let acc = ACCESS_LEAF;
        if (f.matches(f.accRead[d], lo, hi)) acc |= ACCESS_READ;
        if (f.matches(f.accWrite[d], lo, hi)) {
          acc |= ACCESS_WRITE;
          if (f.dirty && ((lo & f.dMaskLo) !== f.dValLo || (hi & f.dMaskHi) !== f.dValHi))
            acc |= ACCESS_DIRTIES;
        }
        return acc;
      }
      if (k !== KIND_TABLE || d === f.last) return 0;
      const next = this.tableAt(lo, hi);
      if (next === undefined) return 0;
      t = next;
    }
    return 0;
  }

  /** What the hardware does on a write through a writable-clean leaf: mark it dirty (the inverse of a clean). */
  markDirty(iova: number): void {
    const f = this.f;
    if (!(this.access(iova) & ACCESS_LEAF) || !f.dirty || this.lastT === null) return;
    const t = this.lastT;
    const j = this.lastJ;
    t[j] = (t[j] & ~f.dSetLo) | f.dClrLo;
    if (f.pteWords === 2) t[j + 1] = (t[j + 1] & ~f.dSetHi) | f.dClrHi;
  }

  /**
   * arm_lpae_read_and_clear_dirty(): report each writeable-dirty leaf in
   * [iova, iova + size) and clean it unless IOMMU_DIRTY_NO_CLEAR. The walk
   * steps leaf by leaf and fails on an entry that is neither leaf nor table.
   */
  protected read_and_clear_dirty(iova: number, size: number, flags: number, record: DirtyRecord): number {
    if (this.rules !== null) {
      // The drivers without read_and_clear_dirty: iommufd refuses the ioctl.
      if (!this.rules.readAndClearDirty) return -EOPNOTSUPP;
      return this.rules.readAndClearDirty(this, iova, size, flags, record);
    }
    const f = this.f;
    if (size === 0) {
      this.warn('arm_lpae_read_and_clear_dirty', 'WARN_ON(!size)');
      return -EINVAL;
    }
    if (!(iova >= 0 && iova + size - 1 < f.iasLimit)) {
      this.warn('arm_lpae_read_and_clear_dirty', 'WARN_ON((iova + size - 1) & ~(BIT(cfg->ias) - 1))');
      return -EINVAL;
    }
    if (!f.dirty) return -EINVAL;
    if (this.f.pteWords !== 2) return -EOPNOTSUPP;
    this.walkAddr = iova;
    this.walkEnd = iova + size;
    this.walkFlags = flags;
    this.walkRecord = record;
    const ret = this.walk_dirty(this.pgd, 0);
    this.walkRecord = null;
    return ret;
  }

  /** __arm_lpae_iopte_walk_dirty(). */
  private walk_dirty(t: Int32Array, d: number): number {
    const f = this.f;
    const aLo = this.walkAddr >>> 0;
    const max = f.entries[d];
    for (
      let idx = f.index(d, aLo, (this.walkAddr - aLo) / TWO32);
      idx < max && this.walkAddr < this.walkEnd;
      ++idx
    ) {
      const ret = this.visit_dirty(t, idx, d);
      if (ret) return ret;
    }
    return 0;
  }

  /** io_pgtable_visit_dirty(). */
  private visit_dirty(t: Int32Array, idx: number, d: number): number {
    const f = this.f;
    const j = idx << 1;
    const lo = t[j];
    const hi = t[j + 1];
    const k = f.kind(d, lo, hi);
    if (k === KIND_LEAF) {
      const size = f.blockSize[d];
      if ((lo & f.dMaskLo) === f.dValLo && (hi & f.dMaskHi) === f.dValHi) {
        (this.walkRecord as DirtyRecord)(this.walkAddr, size);
        if (!(this.walkFlags & IOMMU_DIRTY_NO_CLEAR)) {
          t[j] = (lo | f.dSetLo) & ~f.dClrLo;
          t[j + 1] = (hi | f.dSetHi) & ~f.dClrHi;
        }
      }
      this.walkAddr += size;
      return 0;
    }
    const next = k === KIND_TABLE && d < f.last ? this.deref(lo, hi) : undefined;
    if (next === undefined) {
      this.warn('io_pgtable_visit_dirty', 'WARN_ON(!iopte_table(pte, lvl))');
      return -EINVAL;
    }
    return this.walk_dirty(next, d + 1);
  }

  /**
   * __arm_lpae_free_pgtable(), and every family's equivalent (arm_v7s_free_pgtable(),
   * free_sub_pt(), free_pgtable(), dma_pte_free_pagetable() of the whole space):
   * free the table at depth d and every table under it.
   * @internal
   */
  __free_pgtable(d: number, phys: number): void {
    const f = this.f;
    if (!this.memory.isLiveBlock(phys, f.allocBytes[d])) {
      // A corrupt descriptor (or one pointing at a table already freed on this walk): the kernel would
      // free whatever is there; the model WARNs and frees nothing.
      this.warn('__arm_lpae_free_pgtable', `0x${phys.toString(16)} is not a level-${d} table: nothing freed`);
      return;
    }
    const t = this.memory.view(phys);
    if (t !== undefined && d !== f.last) {
      const w = f.pteWords;
      for (let i = 0, n = f.entries[d]; i < n; i++) {
        const lo = t[w * i];
        const hi = w === 2 ? t[2 * i + 1] : 0;
        if (f.kind(d, lo, hi) === KIND_TABLE) this.__free_pgtable(d + 1, f.oaOf(lo, hi));
      }
    }
    this.freeTable(d, phys);
  }

  /** free_io_pgtable_ops(): flush the whole TLB context, then free every table (arm_lpae_free_pgtable()). */
  protected free_io_pgtable_ops(): void {
    if (this.tlb !== null && this.tlb.tlb_flush_all) this.tlb.tlb_flush_all();
    if (this.rules?.freeAll) this.rules.freeAll(this);
    else this.__free_pgtable(this.top, this.pgdPhys);
    this.freed = true;
    this.wasm = null;
  }
}
