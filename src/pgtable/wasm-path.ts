// SPDX-License-Identifier: GPL-2.0-only
/**
 * io-pgtable-arm's common cases compiled to WebAssembly per format: the same
 * three walks as fast-path.ts (arm_lpae_map_pages() into existing tables,
 * arm_lpae_unmap_pages() of whole leaves, arm_lpae_iova_to_phys()), with the
 * same rule that they touch nothing unless they handle the call, emitted as
 * a WebAssembly module instead of JavaScript. The module reads the tables in
 * place: TableMemory keeps its orders map and pool in a shared
 * WebAssembly.Memory that the module imports.
 *
 * Why a second fast path: the generated JavaScript walk costs ~23 ns per
 * iova_to_phys against ~5 ns for the C of bench/native, and ~15 ns of that
 * is V8 work no source change removes (typed-array bounds and map checks,
 * int32/double conversions on 32-bit halves). WebAssembly has 64-bit
 * integers and unchecked loads (the memory's guard region bounds them), so
 * the walk is the 4-5 dependent loads it is in C, plus a call of a few ns.
 *
 * Exports (WasmPath below), all taking the root's pool offset first and
 * addresses as f64 (they check that each is an integer in range, so that the
 * engine calls them with its public arguments as they come):
 *   walk(pgd, iova) -> 1 (the output address in TableMemory.walkResult), 0 (none)
 *   map(pgd, iova, paddr, pgsize, pgcount, prot) -> leaves written
 *   unmap(pgd, iova, pgsize, pgcount) -> leaves cleared
 * each returning -1 when the engine must do the call; nothing was written
 * then. The engine adds what the kernel does around them in C: *mapped, and
 * the flush ops' tlb_add_page() per cleared leaf.
 *
 * test/pgtable/fast-path.test.ts runs the differential tests on both fast
 * paths: every result and every table word against the engine alone.
 */
import type { FuncBuilder } from '../lib/wasm-module.js';
import { ModuleBuilder, compileModule, instantiate } from '../lib/wasm-module.js';
import type { CompiledFormat } from './compiled.js';
import { KIND_LEAF, KIND_TABLE } from './compiled.js';
import { fastPathEligible, kindImpliesPresent, kindValues, leafDepths } from './fast-path.js';
import type { TableMemory } from './memory.js';
import { MEMORY_MAX_PAGES, POOL_START, VIEW_SHIFT, WALK_RESULT, orderOf } from './memory.js';
import { IOMMU_PROT_BITS, IOMMU_READ, IOMMU_WRITE } from './prot.js';

const SLOT = 1 << VIEW_SHIFT;
/** Pool offsets are below this (TableMemory's largest pool). */
const POOL_LIMIT = 2 ** 31;

const w64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/** The locals every walk uses. */
interface Walk {
  readonly fn: FuncBuilder;
  readonly iova: number;
  readonly pte: number;
  /** The current table's pool offset (i32). */
  readonly off: number;
  readonly tv: number;
}

/** The walk's locals; `iova` is set by the caller's argument check (notIndex()). */
function newWalk(fn: FuncBuilder): Walk {
  return { fn, iova: fn.local('i64'), pte: fn.local('i64'), off: fn.local('i32'), tv: fn.local('i32') };
}

/** Starts the walk at the root table: off = the pgd parameter (0). */
function atRoot(w: Walk): void {
  w.fn.get(0).set(w.off);
}

/** Pushes the address (i32) of the entry the IOVA indexes at depth d in the current table. */
function entryAddr(f: CompiledFormat, w: Walk, d: number): void {
  w.fn
    .get(w.off)
    .get(w.iova)
    .i64(f.shift[d])
    .op('i64.shr_u')
    .op('i32.wrap_i64')
    .i32(f.idxMask[d])
    .op('i32.and')
    .i32(3)
    .op('i32.shl')
    .op('i32.add');
}

/** pte = the entry at depth d; tv = its type field. */
function loadEntry(f: CompiledFormat, w: Walk, d: number): void {
  entryAddr(f, w, d);
  w.fn.mem('i64.load', POOL_START).tee(w.pte);
  w.fn.op('i32.wrap_i64').i32(f.typeShift).op('i32.shr_u').i32(f.typeMask).op('i32.and').set(w.tv);
}

/** Pushes 1 when tv is one of the values. */
function tvIn(w: Walk, vals: readonly number[]): void {
  if (vals.length === 0) {
    w.fn.i32(0);
    return;
  }
  vals.forEach((v, k) => {
    w.fn.get(w.tv).i32(v).op('i32.eq');
    if (k > 0) w.fn.op('i32.or');
  });
}

/** Pushes 1 when the entry's present bits are all clear. */
function isEmpty(f: CompiledFormat, w: Walk): void {
  w.fn.get(w.pte).i64(w64(f.presLo, f.presHi)).op('i64.and').op('i64.eqz');
}

/**
 * Moves the address bits between a descriptor and an address held in local
 * `src` (i64), pushing the result: the direct bits as they are, each moved
 * piece from its bit in one to its bit in the other. toPa: iopte_to_paddr();
 * otherwise paddr_to_iopte().
 */
function convertOa(f: CompiledFormat, fn: FuncBuilder, src: number, toPa: boolean): void {
  fn.get(src).i64(w64(f.oaLo, f.oaHi)).op('i64.and');
  for (let m = 0; m < f.nMoved; m++) {
    const [paWord, paShift, pteWord, pteShift, mask] = f.moved.subarray(5 * m, 5 * m + 5);
    const paBit = paWord * 32 + paShift;
    const pteBit = pteWord * 32 + pteShift;
    fn.get(src)
      .i64(toPa ? pteBit : paBit)
      .op('i64.shr_u')
      .i64(mask)
      .op('i64.and')
      .i64(toPa ? paBit : pteBit)
      .op('i64.shl')
      .op('i64.or');
  }
}

/** iopte_to_paddr() of local `pte`: pushes the output address. */
const oaOf = (f: CompiledFormat, fn: FuncBuilder, pte: number): void => convertOa(f, fn, pte, true);
/** paddr_to_iopte() of local `pa`: pushes the descriptor's address bits. */
const pteOfOa = (f: CompiledFormat, fn: FuncBuilder, pa: number): void => convertOa(f, fn, pa, false);

/**
 * iopte_deref() with TableMemory.blockOffset()'s checks: off = the pool
 * offset of the table the entry points at, to be read as depth `to`; `miss`
 * when no live block of at least that table's size starts there (outside
 * the pool, misaligned, freed, or smaller: the engine reads past such a block
 * into whatever follows, and only the engine does).
 */
function descend(f: CompiledFormat, base: number, w: Walk, to: number, miss: () => void): void {
  const fn = w.fn;
  const a = w.pte; // reused: the entry is not needed past here
  oaOf(f, fn, w.pte);
  fn.i64(base).op('i64.sub').tee(a);
  fn.i64(POOL_LIMIT).op('i64.ge_u').if();
  miss();
  fn.end();
  fn.get(a).op('i32.wrap_i64').tee(w.off);
  fn.i32(SLOT - 1).op('i32.and');
  fn.get(w.off).i32(VIEW_SHIFT).op('i32.shr_u').mem('i32.load8_u');
  fn.i32(orderOf(f.allocBytes[to]) + 1)
    .op('i32.lt_u')
    .op('i32.or')
    .if();
  miss();
  fn.end();
}

/** Walks from the root to the table holding depth `to`'s entries; `miss` unless every entry on the way is a table. */
function walkTo(f: CompiledFormat, base: number, w: Walk, to: number, miss: () => void): void {
  for (let d = 0; d < to; d++) {
    loadEntry(f, w, d);
    tvIn(w, kindValues(f, d, KIND_TABLE));
    w.fn.op('i32.eqz');
    if (!kindImpliesPresent(f, d, [KIND_TABLE])) {
      isEmpty(f, w);
      w.fn.op('i32.or');
    }
    w.fn.if();
    miss();
    w.fn.end();
    descend(f, base, w, d + 1, miss);
  }
}

/**
 * Pushes 1 unless the f64 local x is an integer in [0, limit) (limit at most
 * 2^63); sets the i64 local `to` to its value. The saturating truncation
 * turns NaN into 0 and a fraction into another number, which the round trip
 * catches; negatives compare above the limit unsigned (-0 passes, as 0: the
 * engine takes it too). Signed conversions, which x86 has as single
 * instructions.
 */
function notIndex(fn: FuncBuilder, x: number, limit: number, to: number): void {
  fn.get(x).op('i64.trunc_sat_f64_s').tee(to).op('f64.convert_i64_s').get(x).op('f64.ne');
  fn.get(to).i64(limit).op('i64.ge_u').op('i32.or');
}

/** Bytes of prot attribute words per depth in the constants: an i64 per prot value. */
const PROT_STRIDE = 8 << IOMMU_PROT_BITS;

/**
 * The module for a format: depends only on its constants, the pool's base
 * and where its prot table sits, so tables of one format on one memory share
 * it. `prot` is the constants' address: per leaf depth d at prot + d *
 * PROT_STRIDE, the leaf's bits for each prot value (prot_to_pte() and the
 * depth's leaf type).
 */
function buildModule(f: CompiledFormat, base: number, depths: readonly number[], prot: number): Uint8Array {
  const mod = new ModuleBuilder({
    module: 'env',
    name: 'memory',
    initial: POOL_START / 65536,
    maximum: MEMORY_MAX_PAGES,
    shared: true,
  });

  // walk(pgd i32, iova f64) -> i32: 1 with the output address at WALK_RESULT, 0 for none, -1.
  {
    const fn = mod.func('walk', ['i32', 'f64'], ['i32']);
    const w = newWalk(fn);
    const engine = () => fn.i32(-1).op('return');
    const zero = () => fn.i32(0).op('return');
    notIndex(fn, 1, 2 ** 53, w.iova);
    onTrue(fn, engine);
    atRoot(w);
    for (let d = 0; d < f.nLevels; d++) {
      loadEntry(f, w, d);
      if (!kindImpliesPresent(f, d, [KIND_LEAF, KIND_TABLE])) {
        isEmpty(f, w);
        onTrue(fn, zero);
      }
      const leaves = kindValues(f, d, KIND_LEAF);
      if (leaves.length > 0) {
        tvIn(w, leaves);
        fn.if();
        fn.i32(0);
        oaOf(f, fn, w.pte);
        fn.get(w.iova)
          .i64(w64(f.offLo[d], f.offHi[d]))
          .op('i64.and')
          .op('i64.or')
          .op('f64.convert_i64_s')
          .mem('f64.store', WALK_RESULT);
        fn.i32(1).op('return');
        fn.end();
      }
      if (d === f.last) {
        zero();
        break;
      }
      tvIn(w, kindValues(f, d, KIND_TABLE));
      fn.op('i32.eqz');
      onTrue(fn, zero);
      descend(f, base, w, d + 1, engine);
    }
    fn.i32(0);
  }

  // map(pgd i32, iova f64, paddr f64, pgsize f64, pgcount f64, prot i32) -> i32
  {
    const fn = mod.func('map', ['i32', 'f64', 'f64', 'f64', 'f64', 'i32'], ['i32']);
    const fallback = () => fn.i32(-1).op('return');
    const w = newWalk(fn);
    const pa = fn.local('i64');
    const count64 = fn.local('i64');
    const count = fn.local('i32');
    const n = fn.local('i32');
    const at = fn.local('i32');
    const end = fn.local('i32');
    const attr = fn.local('i64');
    notIndex(fn, 1, f.iasLimit, w.iova);
    notIndex(fn, 2, f.oasLimit, pa);
    fn.op('i32.or');
    notIndex(fn, 4, 2 ** 32, count64);
    fn.op('i32.or');
    fn.get(5)
      .i32(IOMMU_READ | IOMMU_WRITE)
      .op('i32.and')
      .op('i32.eqz')
      .op('i32.or')
      .if();
    fallback();
    fn.end();
    fn.get(count64).op('i32.wrap_i64').set(count);
    atRoot(w);
    for (const d of depths) {
      const sz = f.blockSize[d];
      leafCase(f, base, w, d, 3, [w.iova, pa], fallback, { count, n, at, end });
      // Every target entry must be empty.
      eachEntry(w, at, end, () => {
        fn.get(w.off).mem('i64.load', POOL_START).i64(w64(f.presLo, f.presHi)).op('i64.and');
        fn.op('i64.eqz').op('i32.eqz');
        onTrue(fn, fallback);
      });
      fn.get(5)
        .i32((1 << IOMMU_PROT_BITS) - 1)
        .op('i32.and')
        .i32(3)
        .op('i32.shl');
      fn.mem('i64.load', prot + d * PROT_STRIDE).set(attr);
      eachEntry(w, at, end, () => {
        fn.get(w.off).get(attr);
        pteOfOa(f, fn, pa);
        fn.op('i64.or').mem('i64.store', POOL_START);
        fn.get(pa).i64(sz).op('i64.add').set(pa);
      });
      fn.get(n).op('return');
      fn.end();
    }
    fn.i32(-1);
  }

  // unmap(pgd i32, iova f64, pgsize f64, pgcount f64) -> i32
  {
    const fn = mod.func('unmap', ['i32', 'f64', 'f64', 'f64'], ['i32']);
    const fallback = () => fn.i32(-1).op('return');
    const w = newWalk(fn);
    const count64 = fn.local('i64');
    const count = fn.local('i32');
    const n = fn.local('i32');
    const at = fn.local('i32');
    const end = fn.local('i32');
    notIndex(fn, 1, f.iasLimit, w.iova);
    notIndex(fn, 3, 2 ** 32, count64);
    fn.op('i32.or');
    fn.get(count64).op('i64.eqz').op('i32.or').if();
    fallback();
    fn.end();
    fn.get(count64).op('i32.wrap_i64').set(count);
    atRoot(w);
    for (const d of depths) {
      leafCase(f, base, w, d, 2, [w.iova], fallback, { count, n, at, end });
      // Every entry to clear must be a leaf of this depth.
      eachEntry(w, at, end, () => {
        fn.get(w.off).mem('i64.load', POOL_START).tee(w.pte);
        fn.op('i32.wrap_i64').i32(f.typeShift).op('i32.shr_u').i32(f.typeMask).op('i32.and').set(w.tv);
        tvIn(w, kindValues(f, d, KIND_LEAF));
        fn.op('i32.eqz');
        isEmpty(f, w);
        fn.op('i32.or');
        onTrue(fn, fallback);
      });
      eachEntry(w, at, end, () => fn.get(w.off).i64(0).mem('i64.store', POOL_START));
      fn.get(n).op('return');
      fn.end();
    }
    fn.i32(-1);
  }
  return mod.bytes();
}

/** For each entry address from local `at` to local `end` (8 bytes apart) in local w.off: body. */
function eachEntry(w: Walk, at: number, end: number, body: () => void): void {
  const fn = w.fn;
  fn.get(at).set(w.off);
  fn.block().loop();
  fn.get(w.off).get(end).op('i32.ge_u').brIf(1);
  body();
  fn.get(w.off).i32(8).op('i32.add').set(w.off).br(0);
  fn.end().end();
}

/** Runs `then` when the condition on the stack is non-zero. */
function onTrue(fn: FuncBuilder, then: () => void): void {
  fn.if();
  then();
  fn.end();
}

/** The locals of a leaf range (leafCase()). */
interface LeafRange {
  /** pgcount, as u32. */
  readonly count: number;
  readonly n: number;
  readonly at: number;
  readonly end: number;
}

/**
 * Opens `if (pgsize == depth d's block size)` (close it with end()): `miss`
 * unless every address local is aligned to the size and the walk finds the
 * table of depth d; then at = the address of the IOVA's entry there, n =
 * min(count, entries left in its table page) (count unsigned), end = at + n
 * entries.
 */
function leafCase(
  f: CompiledFormat,
  base: number,
  w: Walk,
  d: number,
  pgsizeParam: number,
  addrs: readonly number[],
  miss: () => void,
  r: LeafRange,
): void {
  const fn = w.fn;
  const per = f.entriesPerPage[d];
  fn.get(pgsizeParam).f64(f.blockSize[d]).op('f64.eq').if();
  addrs.forEach((a, i) => {
    fn.get(a);
    if (i > 0) fn.op('i64.or');
  });
  fn.i64(f.blockSize[d] - 1)
    .op('i64.and')
    .op('i64.eqz')
    .op('i32.eqz');
  onTrue(fn, miss);
  walkTo(f, base, w, d, miss);
  entryAddr(f, w, d);
  fn.set(r.at);
  fn.i32(per);
  fn.get(w.iova)
    .i64(f.shift[d])
    .op('i64.shr_u')
    .op('i32.wrap_i64')
    .i32(per - 1)
    .op('i32.and');
  fn.op('i32.sub').set(r.n);
  fn.get(r.count).get(r.n).get(r.count).get(r.n).op('i32.lt_u').op('select').set(r.n);
  fn.get(r.at).get(r.n).i32(3).op('i32.shl').op('i32.add').set(r.end);
}

const modules = new Map<string, object>();

/** The compiled module for these bytes, compiled once per process. */
function moduleFor(bytes: Uint8Array): object {
  const key = Buffer.from(bytes).toString('latin1');
  let m = modules.get(key);
  if (m === undefined) {
    m = compileModule(bytes);
    modules.set(key, m);
  }
  return m;
}

/**
 * The fast path's exports, called by the engine with the root's pool offset.
 * Each returns -1 (the walk: a negative number) when the engine must do the
 * call, having written nothing.
 */
export interface WasmPath {
  /**
   * arm_lpae_iova_to_phys(): 1 with the output address in the memory's
   * walkResult, 0 when nothing maps the IOVA. (A number returned by a
   * WebAssembly call that V8 did not inline is boxed on the heap; an i32
   * status and a Float64Array slot never are.)
   */
  walk(pgd: number, iova: number): number;
  /** arm_lpae_map_pages() into existing tables: the leaves written. */
  map(pgd: number, iova: number, paddr: number, pgsize: number, pgcount: number, prot: number): number;
  /** arm_lpae_unmap_pages() of whole leaves: the leaves cleared. */
  unmap(pgd: number, iova: number, pgsize: number, pgcount: number): number;
}

/** The prot table of buildModule(): per depth, each prot value's leaf bits as little-endian words. */
function protTable(f: CompiledFormat): Int32Array {
  const nProt = 1 << IOMMU_PROT_BITS;
  const words = new Int32Array(2 * f.nLevels * nProt);
  for (const d of leafDepths(f))
    for (let p = 0; p < nProt; p++) {
      const i = (d << IOMMU_PROT_BITS) | p;
      words[2 * i] = f.protLo[i] | f.leafLo[d];
      words[2 * i + 1] = f.protHi[i] | f.leafHi[d];
    }
  return words;
}

/** The WebAssembly fast path for tables of format f in this memory, or null when the format has none. */
export function createWasmPath(f: CompiledFormat, mem: TableMemory): WasmPath | null {
  if (!fastPathEligible(f)) return null;
  const words = protTable(f);
  const prot = mem.constants(Buffer.from(words.buffer).toString('base64'), words);
  if (prot < 0) return null;
  const module = moduleFor(buildModule(f, mem.base, leafDepths(f), prot));
  let paths = instances.get(mem.wasmMemory);
  if (paths === undefined) instances.set(mem.wasmMemory, (paths = new Map()));
  let path = paths.get(module);
  if (path === undefined) {
    path = instantiate(module, mem.wasmMemory) as unknown as WasmPath;
    paths.set(module, path);
  }
  return path;
}

/**
 * One instance per module and memory, shared by the pool's tables of a
 * format (the modelled kernel's domains all take their tables from one
 * pool) and by the next pool its memory is recycled to: V8 inlines a call
 * into WebAssembly only where the call site has seen one exported function,
 * so every instance more makes the engine's call sites slower, besides the
 * instantiation itself.
 */
const instances = new WeakMap<object, Map<object, WasmPath>>();
