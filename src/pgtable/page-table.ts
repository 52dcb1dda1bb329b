// SPDX-License-Identifier: GPL-2.0-only
/**
 * A page table as an embedder uses it: alloc_io_pgtable_ops() on a format
 * and cfg, then map, unmap, translate, read dirty state, trace and free.
 *
 * Addresses are numbers below 2^53, or bigints converted once where a public
 * method takes them (map, unmap and iova_to_phys are the engine's own, in
 * engine.ts). A value the kernel's unsigned types would hold differently
 * (negative, or 2^53 and above) is out of range; a non-integer is -EINVAL.
 * Past that edge everything works on numbers only.
 */
import { EINVAL } from '../kernel/errno.js';
import { CompiledFormat } from './compiled.js';
import type { Addr, EngineOptions, DirtyRecord } from './engine.js';
import { IoPgtable, addrFromBigint } from './engine.js';
import type { FormatAllocResult, PgtableCfgInput, PgtableFormat, PgtableLayout } from './format.js';
import { pgtableFormats } from './formats/index.js';
import type { PgtableFormatName } from './formats/index.js';
import { TableMemory } from './memory.js';
import type { LeafInfo, WalkTrace } from './walk.js';
import { collectLeaves, formatWalkTrace, walkTrace } from './walk.js';

export interface MapResult {
  /** Bytes mapped, even when an error stopped the call part way. */
  mapped: number;
  /** 0 or a negative errno. */
  errno: number;
}

export interface PgtableCfg extends PgtableCfgInput, EngineOptions {
  /** Memory to allocate tables from (shared between tables if you like); default: a new pool. */
  readonly memory?: TableMemory;
}

/** The cfg as the format left it (struct io_pgtable_cfg after alloc), and the table base. */
export interface ResolvedCfg {
  readonly fmt: string;
  readonly quirks: number;
  readonly pgsize_bitmap: number;
  readonly ias: number;
  readonly oas: number;
  readonly coherent_walk: boolean;
  readonly granule: number;
  /** TTBR / VTTBR (the DTE's or PASID entry's table pointer): the root table's physical address. */
  readonly ttbr: number;
  /** The format's register values (TCR, MAIR, VTCR fields). */
  readonly regs: Readonly<Record<string, number>>;
}

export class PageTable extends IoPgtable {
  readonly format: PgtableFormat;
  readonly layout: PgtableLayout;
  readonly cfg: ResolvedCfg;

  constructor(
    format: PgtableFormat,
    res: FormatAllocResult,
    f: CompiledFormat,
    memory: TableMemory,
    pgdPhys: number,
    opts: EngineOptions,
    /** The pool was made for this table alone (no cfg.memory): free() disposes of it. */
    private readonly ownsMemory = false,
  ) {
    super(f, memory, pgdPhys, opts);
    this.format = format;
    this.layout = res.layout;
    // The root can move (AMD v1 and the iommufd mock grow a level on top): ttbr reads it live.
    const table = this as IoPgtable;
    this.cfg = {
      fmt: res.layout.fmt,
      quirks: res.layout.quirks,
      pgsize_bitmap: res.layout.pgsizes.reduce((a, b) => a + b, 0),
      ias: res.layout.ias,
      oas: res.layout.oas,
      coherent_walk: res.coherent_walk,
      granule: res.layout.granule,
      get ttbr() {
        return table.pgdPhys;
      },
      regs: res.regs,
    };
  }

  /** map_pages: up to pgcount leaves of pgsize, stopping at the end of a table page. */
  mapPages(iova: Addr, paddr: Addr, pgsize: Addr, pgcount: number, prot: number): MapResult {
    const out = { mapped: 0, errno: 0 };
    out.errno = this.mapPagesTo(out, iova, paddr, pgsize, pgcount, prot);
    return out;
  }

  /** read_and_clear_dirty: calls record(iova, length) for each dirty leaf in the range; 0 or a negative errno. */
  readAndClearDirty(iova: Addr, size: Addr, flags: number, record: DirtyRecord): number {
    this.checkLive();
    const v = typeof iova === 'number' ? iova : addrFromBigint(iova);
    const s = typeof size === 'number' ? size : addrFromBigint(size);
    // Addresses and sizes are unsigned long in the kernel: a negative one is refused here.
    if (!Number.isInteger(v) || !Number.isInteger(s) || v < 0 || s < 0) return -EINVAL;
    return this.read_and_clear_dirty(v, s, flags, record);
  }

  /** The walk for one IOVA, step by step. */
  walkTrace(iova: Addr): WalkTrace {
    this.checkLive();
    const v = typeof iova === 'number' ? iova : Number(BigInt.asUintN(this.layout.ias, iova));
    return walkTrace(this.f, this.memory, this.pgdPhys, v, this.top);
  }

  /** walkTrace as text. */
  explain(iova: Addr): string {
    return formatWalkTrace(this.walkTrace(iova));
  }

  /** Every leaf, in IOVA order. */
  leaves(): LeafInfo[] {
    this.checkLive();
    return collectLeaves(this.f, this.memory, this.pgdPhys, this.top);
  }

  /**
   * The attribute bits a leaf mapped with this prot gets (type and address
   * bits excluded but where the format's attributes include them), as
   * leaves() reports them; for a leaf of pgsize where that matters (ARM v7s).
   */
  protToPte(prot: number, pgsize = this.layout.granule): bigint {
    return this.f.leafAttrs(prot, pgsize);
  }

  /** free_io_pgtable_ops(): every table goes back to the memory. The table is unusable afterwards. */
  free(): void {
    this.checkLive();
    this.free_io_pgtable_ops();
    // A pool of its own goes too: its memory to the next pool (TableMemory.dispose()).
    if (this.ownsMemory) this.memory.dispose();
  }
}

function resolveFormat(format: PgtableFormatName | PgtableFormat): PgtableFormat {
  if (typeof format !== 'string') return format;
  const f = (pgtableFormats as Record<string, PgtableFormat>)[format];
  if (f === undefined) throw new RangeError(`unknown page-table format '${format}'`);
  return f;
}

/** alloc_io_pgtable_ops(): the table, or why the kernel's alloc function returns NULL. */
export function allocPageTable(
  format: PgtableFormatName | PgtableFormat,
  cfg: PgtableCfg = {},
): PageTable | { readonly reason: string } {
  const fmt = resolveFormat(format);
  const res = fmt.alloc(cfg);
  if ('reason' in res) return res;
  const memory = cfg.memory ?? new TableMemory();
  const f = new CompiledFormat(res.layout);
  const pgd = memory.alloc(f.allocBytes[f.topDepth]);
  if (pgd < 0) return { reason: 'allocating the pgd failed' };
  if (pgd >= f.tableLimit) {
    memory.free(pgd, f.allocBytes[f.topDepth]);
    return { reason: `the pgd at 0x${pgd.toString(16)} does not fit in a table descriptor` };
  }
  return new PageTable(
    fmt,
    res,
    f,
    memory,
    pgd,
    { tlb: cfg.tlb, warn: cfg.warn, fastPath: cfg.fastPath },
    cfg.memory === undefined,
  );
}

/** alloc_io_pgtable_ops() as the kernel returns it: the table or null. */
export function alloc_io_pgtable_ops(
  format: PgtableFormatName | PgtableFormat,
  cfg: PgtableCfg = {},
): PageTable | null {
  const t = allocPageTable(format, cfg);
  return t instanceof PageTable ? t : null;
}

/** Creates a page table; throws a RangeError with the kernel's reason when its alloc would return NULL. */
export function createPageTable(format: PgtableFormatName | PgtableFormat, cfg: PgtableCfg = {}): PageTable {
  const t = allocPageTable(format, cfg);
  if (t instanceof PageTable) return t;
  const name = typeof format === 'string' ? format : format.name;
  throw new RangeError(`${name}: ${t.reason}`);
}
