// SPDX-License-Identifier: GPL-2.0-only
/**
 * io-pgtable-arm's common cases compiled per format: the walk of
 * arm_lpae_map_pages(), arm_lpae_unmap_pages() and arm_lpae_iova_to_phys()
 * generated as straight-line JavaScript from a CompiledFormat, with the
 * format's shifts, masks, type-field values and leaf bits written in as
 * literals and the levels unrolled, so that V8 compiles it as a C compiler
 * would compile the hand-written walk of bench/native (issue 5's target:
 * within 2x of native per operation). The data-driven loops of engine.ts run
 * 4-6x slower than that, because every level reloads its constants and
 * branches on them.
 *
 * The generated code is a fast path, never a second implementation: it
 * handles only the cases where the engine's result is a plain write of
 * leaves or of zeroes, and touches nothing unless it handles the call.
 * - map: every table down to the leaf's level exists and every target entry
 *   is empty. Otherwise (a table to allocate, a leaf or table in the way,
 *   any argument the engine would refuse or WARN about) it returns
 *   FAST_FALLBACK before writing anything and the engine does the call.
 * - unmap: every entry to clear is a leaf of the unmapped size under
 *   existing tables; splitting a block, an empty entry (the engine's
 *   WARN_ON(!pte)) and a table in the way go to the engine.
 * - iova_to_phys: every integer IOVA below 2^53 (the engine handles others).
 * test/pgtable/fast-path.test.ts runs random operation sequences on a table
 * with and without it and compares every result and every table word.
 *
 * Only formats the engine drives itself (rules 'io-pgtable-arm', 8-byte
 * PTEs) get one. The
 * generated source depends only on the format's constants, so tables of one
 * format share one compiled function (and V8's optimised code for it); the
 * table memory, root and flush ops are the closure's.
 *
 * Why generated code rather than a library: no JavaScript library compiles
 * page-table walks, and what V8 needs here (constants it can fold, no loop
 * over levels) is specific to this engine's data.
 */
import type { CompiledFormat } from './compiled.js';
import { KIND_LEAF, KIND_TABLE } from './compiled.js';
import type { IommuFlushOps, MappedOut } from './engine.js';
import type { TableMemory } from './memory.js';
import { CHUNK_MASK, CHUNK_SHIFT, VIEW_SHIFT } from './memory.js';
import { IOMMU_PROT_BITS, IOMMU_READ, IOMMU_WRITE } from './prot.js';

/** map()'s result when the engine must do the call (errnos are 0 or negative). */
export const FAST_FALLBACK = 1;

export interface FastPath {
  /** arm_lpae_map_pages() of arg[0..2] (iova, paddr, pgsize): 0, or FAST_FALLBACK untouched. */
  map(arg: Float64Array, pgcount: number, prot: number, out: MappedOut): number;
  /** arm_lpae_unmap_pages() of arg[0..1] (iova, pgsize): the entries cleared, or -1 untouched. */
  unmap(arg: Float64Array, pgcount: number): number;
  /** arm_lpae_iova_to_phys() of arg[0] into arg[1]; false when the engine must do it. */
  iovaToPhys(arg: Float64Array): boolean;
}

type Factory = (
  mem: TableMemory,
  pgdOff: number,
  tlb: IommuFlushOps | null,
  protLo: Int32Array,
  protHi: Int32Array,
) => FastPath;

const factories = new Map<string, Factory>();

/** Whether the engine's own rules drive this format and its PTEs suit the generated walk. */
export function fastPathEligible(f: CompiledFormat): boolean {
  return f.rules === 'io-pgtable-arm' && f.pteWords === 2 && f.topDepth === 0;
}

/** The fast path for a table of format f rooted at pool offset pgdOff, or null when the format has none. */
export function createFastPath(
  f: CompiledFormat,
  mem: TableMemory,
  pgdOff: number,
  tlb: IommuFlushOps | null,
): FastPath | null {
  if (!fastPathEligible(f)) return null;
  const src = generate(f);
  let factory = factories.get(src);
  if (factory === undefined) {
    // The source is built from the format's numbers only (generate() below), never from input text.
    factory = new Function('mem', 'PGD', 'tlb', 'PROT_LO', 'PROT_HI', src) as Factory;
    factories.set(src, factory);
  }
  return factory(mem, pgdOff, tlb, f.protLo, f.protHi);
}

const TWO32 = 4294967296;
/** The smallest block of table memory. */
const SLOT = 1 << VIEW_SHIFT;
const int = (v: number): string => String(v | 0);

/** The index of the IOVA (words iLo, iHi) at depth d, as an expression. */
function indexExpr(f: CompiledFormat, d: number): string {
  const s = f.shift[d];
  const mask = f.idxMask[d];
  if (s >= 32) return `((iHi >>> ${s - 32}) & ${mask})`;
  return `(((iLo >>> ${s}) | (iHi << ${32 - s})) & ${mask})`;
}

/** The type-field values at depth d that mean `kind`. */
export function kindValues(f: CompiledFormat, d: number, kind: number): number[] {
  const vals: number[] = [];
  for (let v = 0; v < f.kindStride; v++) if (f.kinds[d * f.kindStride + v] === kind) vals.push(v);
  return vals;
}

/** The type-field values at depth d that mean `kind`, as a test on `tv`. */
function kindTest(f: CompiledFormat, d: number, kind: number): string {
  const vals = kindValues(f, d, kind).map((v) => `tv === ${v}`);
  return vals.length === 0 ? 'false' : `(${vals.join(' || ')})`;
}

const present = (f: CompiledFormat, lo: string, hi: string): string =>
  `((${lo} & ${int(f.presLo)}) !== 0 || (${hi} & ${int(f.presHi)}) !== 0)`;

const typeOf = (f: CompiledFormat, lo: string): string => `((${lo} >>> ${f.typeShift}) & ${f.typeMask})`;

/** iopte_to_paddr(): statements setting aLo and aHi to the output address the entry (lo, hi) holds. */
function oaOf(f: CompiledFormat): string {
  let s = `aLo = lo & ${int(f.oaLo)};
    aHi = hi & ${int(f.oaHi)};`;
  for (let m = 0; m < f.nMoved; m++) {
    const [paWord, paShift, pteWord, pteShift, mask] = f.moved.subarray(5 * m, 5 * m + 5);
    s += `
    a${paWord === 0 ? 'Lo' : 'Hi'} |= ((${pteWord === 0 ? 'lo' : 'hi'} >>> ${pteShift}) & ${mask}) << ${paShift};`;
  }
  return s;
}

/** paddr_to_iopte(): the PTE bits of the output address (aLo, aHi), as [low word, high word] expressions. */
function pteOfOa(f: CompiledFormat): [string, string] {
  const parts: [string[], string[]] = [[`(aLo & ${int(f.oaLo)})`], [`(aHi & ${int(f.oaHi)})`]];
  for (let m = 0; m < f.nMoved; m++) {
    const [paWord, paShift, pteWord, pteShift, mask] = f.moved.subarray(5 * m, 5 * m + 5);
    parts[pteWord].push(`(((${paWord === 0 ? 'aLo' : 'aHi'} >>> ${paShift}) & ${mask}) << ${pteShift})`);
  }
  return [parts[0].join(' | '), parts[1].join(' | ')];
}

/**
 * Whether every type-field value meaning one of `kinds` at depth d has a
 * present bit set, so that testing the kind also tests presence.
 */
export function kindImpliesPresent(f: CompiledFormat, d: number, kinds: readonly number[]): boolean {
  for (let v = 0; v < f.kindStride; v++)
    if (kinds.includes(f.kinds[d * f.kindStride + v]) && ((v << f.typeShift) & f.presLo) === 0) return false;
  return true;
}

/** Whether every table address the descriptors can hold is 512-byte aligned (no low bits from moved pieces). */
function oaAligned(f: CompiledFormat): boolean {
  if ((f.oaLo & (SLOT - 1)) !== 0) return false;
  for (let m = 0; m < f.nMoved; m++) {
    const [paWord, paShift, , , mask] = f.moved.subarray(5 * m, 5 * m + 5);
    if (paWord === 0 && ((mask << paShift) & (SLOT - 1)) !== 0) return false;
  }
  return true;
}

/** Descend from the entry (lo, hi) into the table it points at, or run `miss`. */
function descend(f: CompiledFormat, miss: string): string {
  // TableMemory.blockOffset(), inlined: the same high word (with the borrow), a live block at the
  // offset (one past the pool reads 0 from orders; a negative one reads undefined), aligned by the mask.
  const align = oaAligned(f) ? '' : ` || (off & ${SLOT - 1}) !== 0`;
  return `${oaOf(f)}
    off = (aLo - BASE_LO) | 0;
    if ((aHi - BASE_HI | 0) !== ((aLo ^ -2147483648) < BASE_FLIP ? 1 : 0) ||
        !(orders[off >>> ${VIEW_SHIFT}] > 0)${align}) ${miss}
    c = chunks[off >>> ${CHUNK_SHIFT}];
    b = (off & ${CHUNK_MASK}) >> 2;`;
}

/** The walk from the root to the table at depth `to` for leaves there; `miss` runs unless every entry on the way is a table. */
function walkTo(f: CompiledFormat, to: number, miss: string): string {
  let s = '';
  for (let d = 0; d < to; d++)
    s += `
    j = b + (${indexExpr(f, d)} << 1);
    lo = c[j];
    hi = c[j + 1];
    tv = ${typeOf(f, 'lo')};
    if (${kindImpliesPresent(f, d, [KIND_TABLE]) ? '' : `!${present(f, 'lo', 'hi')} || `}!${kindTest(f, d, KIND_TABLE)}) ${miss}
    ${descend(f, miss)}`;
  return s;
}

/** Depths whose leaves the fast path writes: leaves allowed, block size below 4 GiB. */
export function leafDepths(f: CompiledFormat): number[] {
  const out: number[] = [];
  for (let d = 0; d < f.nLevels; d++) if (f.leafOk[d] === 1 && f.blockSize[d] < TWO32) out.push(d);
  return out;
}

/** `switch (pgsize)` selecting a block per leaf depth; other sizes run `other`. */
function perLeafDepth(f: CompiledFormat, body: (d: number) => string, other: string): string {
  const cases = leafDepths(f)
    .map((d) => `case ${f.blockSize[d]}: {${body(d)}\n  }`)
    .join('\n  ');
  return `switch (pgsize) {\n  ${cases}\n  default: ${other}\n  }`;
}

export function generate(f: CompiledFormat): string {
  const locals = `const chunks = mem.chunks;
    const iLo = iova >>> 0;
    const iHi = ((iova - iLo) / ${TWO32}) | 0;
    let off = PGD;
    let c = chunks[off >>> ${CHUNK_SHIFT}];
    let b = (off & ${CHUNK_MASK}) >> 2;
    const orders = mem.orders;
    let j = 0, lo = 0, hi = 0, tv = 0, aLo = 0, aHi = 0;`;
  const protMask = (1 << IOMMU_PROT_BITS) - 1;

  const [pteLo, pteHi] = pteOfOa(f);
  const mapLeaf = (d: number) => {
    const per = f.entriesPerPage[d];
    const sz = f.blockSize[d];
    return `
    if (((iova | paddr) & ${sz - 1}) !== 0) return ${FAST_FALLBACK};
    ${locals}
    ${walkTo(f, d, `return ${FAST_FALLBACK};`)}
    const idx = ${indexExpr(f, d)};
    const max = ${per} - (idx & ${per - 1});
    const n = pgcount < max ? pgcount : max;
    const j0 = b + (idx << 1);
    const end = j0 + (n << 1);
    for (let w = j0; w < end; w += 2)
      if ((c[w] & ${int(f.presLo)}) !== 0 || (c[w + 1] & ${int(f.presHi)}) !== 0) return ${FAST_FALLBACK};
    const p = ${d << IOMMU_PROT_BITS} | (prot & ${protMask});
    const pLo = PROT_LO[p] | ${int(f.leafLo[d])};
    const pHi = PROT_HI[p] | ${int(f.leafHi[d])};
    aLo = paddr | 0;
    aHi = ((paddr - (paddr >>> 0)) / ${TWO32}) | 0;
    for (let w = j0; w < end; w += 2) {
      c[w] = pLo | ${pteLo};
      c[w + 1] = pHi | ${pteHi};
      const next = (aLo + ${int(sz)}) | 0;
      if ((next ^ -2147483648) < (aLo ^ -2147483648)) aHi = (aHi + 1) | 0;
      aLo = next;
    }
    out.mapped += n * ${sz};
    return 0;`;
  };

  const unmapLeaf = (d: number) => {
    const per = f.entriesPerPage[d];
    const sz = f.blockSize[d];
    return `
    if ((iova & ${sz - 1}) !== 0) return -1;
    ${locals}
    ${walkTo(f, d, 'return -1;')}
    const idx = ${indexExpr(f, d)};
    const max = ${per} - (idx & ${per - 1});
    const n = pgcount < max ? pgcount : max;
    const j0 = b + (idx << 1);
    const end = j0 + (n << 1);
    for (let w = j0; w < end; w += 2) {
      lo = c[w];
      tv = ${typeOf(f, 'lo')};
      if (!${present(f, 'lo', 'c[w + 1]')} || !${kindTest(f, d, KIND_LEAF)}) return -1;
    }
    for (let w = j0; w < end; w++) c[w] = 0;
    if (tlb !== null && tlb.tlb_add_page)
      for (let m = 0; m < n; m++) tlb.tlb_add_page(iova + m * ${sz}, ${sz});
    return n;`;
  };

  let walk = '';
  for (let d = 0; d < f.nLevels; d++) {
    const leafHere = kindTest(f, d, KIND_LEAF) !== 'false';
    walk += `
    j = b + (${indexExpr(f, d)} << 1);
    lo = c[j];
    hi = c[j + 1];
    tv = ${typeOf(f, 'lo')};`;
    // An empty entry is neither leaf nor table when those kinds' type values have a present bit.
    if (!kindImpliesPresent(f, d, [KIND_LEAF, KIND_TABLE]))
      walk += `
    if (!${present(f, 'lo', 'hi')}) { a[1] = 0; return true; }`;
    if (leafHere)
      walk += `
    if (${kindTest(f, d, KIND_LEAF)}) {
      ${oaOf(f)}
      a[1] = ((aLo | (iLo & ${int(f.offLo[d])})) >>> 0) + ((aHi | (iHi & ${int(f.offHi[d])})) >>> 0) * ${TWO32};
      return true;
    }`;
    walk +=
      d === f.last
        ? `
    a[1] = 0;
    return true;`
        : `
    if (!${kindTest(f, d, KIND_TABLE)}) { a[1] = 0; return true; }
    ${descend(f, '{ a[1] = 0; return true; }')}`;
  }

  return `'use strict';
const BASE_LO = mem.baseLo;
const BASE_HI = mem.baseHi;
const BASE_FLIP = mem.baseLoFlip;
return {
  map(a, pgcount, prot, out) {
    const iova = a[0];
    const paddr = a[1];
    const pgsize = a[2];
    if (!(iova >= 0 && iova < ${f.iasLimit} && paddr >= 0 && paddr < ${f.oasLimit}) ||
        !Number.isInteger(iova) || !Number.isInteger(paddr) ||
        (pgcount >>> 0) !== pgcount || (prot & ${IOMMU_READ | IOMMU_WRITE}) === 0) return ${FAST_FALLBACK};
    ${perLeafDepth(f, mapLeaf, `return ${FAST_FALLBACK};`)}
  },
  unmap(a, pgcount) {
    const iova = a[0];
    const pgsize = a[1];
    if (!(iova >= 0 && iova < ${f.iasLimit}) || !Number.isInteger(iova) ||
        (pgcount >>> 0) !== pgcount || pgcount === 0) return -1;
    ${perLeafDepth(f, unmapLeaf, 'return -1;')}
  },
  iovaToPhys(a) {
    const iova = a[0];
    if (!(iova >= 0 && iova < ${2 ** 53}) || !Number.isInteger(iova)) return false;
    ${locals}
    ${walk}
  },
};`;
}
