// SPDX-License-Identifier: GPL-2.0-only
/**
 * A PgtableLayout compiled for the hot path: every 64-bit constant split into
 * 32-bit halves, per-depth values in typed arrays, prot→PTE bits precomputed
 * for every prot value at every depth. The engine (engine.ts, rules/) and the
 * walker (walk.ts) share it, and the decode helpers below, so a trace reads a
 * PTE exactly as map and unmap wrote it.
 */
import type { DecodedEntry, EntryKind, PgtableLayout, PgtableRulesName, ProtChoice } from './format.js';
import { IOMMU_PROT_BITS } from './prot.js';

export const KIND_EMPTY = 0;
export const KIND_LEAF = 1;
export const KIND_TABLE = 2;
export const KIND_INVALID = 3;
const kindCode: Readonly<Record<EntryKind, number>> = {
  leaf: KIND_LEAF,
  table: KIND_TABLE,
  invalid: KIND_INVALID,
};

const TWO32 = 4294967296;

/** Low and high 32-bit words of a 64-bit constant, as int32. */
export const lo32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
export const hi32 = (v: bigint): number => Number(BigInt.asIntN(32, v >> 32n));

/** Bits of prot_to_pte for one prot value and quirk set: each choice's first matching rule. */
export function protBits(rules: readonly ProtChoice[], prot: number, quirks: number): bigint {
  let bits = 0n;
  for (const choice of rules) {
    const rule = choice.find(
      (r) =>
        ((r.ifAll ?? 0) & prot) === (r.ifAll ?? 0) &&
        ((r.ifNone ?? 0) & prot) === 0 &&
        ((r.ifQuirks ?? 0) & quirks) === (r.ifQuirks ?? 0) &&
        ((r.ifNoQuirks ?? 0) & quirks) === 0,
    );
    if (rule) bits |= rule.set;
  }
  return bits;
}

const KIND_NAMES = ['empty', 'leaf', 'table', 'invalid'] as const;

export class CompiledFormat {
  readonly nLevels: number;
  readonly last: number;
  /** 32-bit words per PTE: 2, or 1 for 4-byte descriptors (the high word then reads 0). */
  readonly pteWords: number;
  readonly rules: PgtableRulesName;
  /** The depth a new table's root is at. */
  readonly topDepth: number;
  /** Tables must start below this physical address. */
  readonly tableLimit: number;
  /** Per depth. */
  readonly shift: Int32Array;
  readonly idxMask: Int32Array;
  readonly blockSize: Float64Array;
  readonly entriesPerPage: Int32Array;
  /** Entries a table at this depth holds (its index range). */
  readonly entries: Int32Array;
  /** Bytes to allocate for a table at this depth (the pgd gets at least one table page). */
  readonly allocBytes: Int32Array;
  readonly leafOk: Uint8Array;
  readonly leafLo: Int32Array;
  readonly leafHi: Int32Array;
  /** Offset mask of a leaf at this depth (iova & (block size - 1)), per word. */
  readonly offLo: Int32Array;
  readonly offHi: Int32Array;
  /** kinds[depth * kindStride + type field value]. */
  readonly kinds: Uint8Array;
  readonly kindStride: number;
  readonly typeShift: number;
  readonly typeMask: number;
  readonly presLo: number;
  readonly presHi: number;
  readonly tblLo: number;
  readonly tblHi: number;
  readonly oaLo: number;
  readonly oaHi: number;
  /** Moved output-address pieces: [paWord, paShift, pteWord, pteShift, mask] each. */
  readonly moved: Int32Array;
  readonly nMoved: number;
  readonly attrLo: number;
  readonly attrHi: number;
  /** prot_to_pte for prot 0 .. 2^IOMMU_PROT_BITS - 1 at each depth: [(depth << IOMMU_PROT_BITS) | prot]. */
  readonly protLo: Int32Array;
  readonly protHi: Int32Array;
  readonly dirty: boolean;
  readonly dMaskLo: number;
  readonly dMaskHi: number;
  readonly dValLo: number;
  readonly dValHi: number;
  readonly dSetLo: number;
  readonly dSetHi: number;
  readonly dClrLo: number;
  readonly dClrHi: number;
  readonly iasLimit: number;
  readonly oasLimit: number;
  /** Per depth, the read and write checks as [maskLo, maskHi, valueLo, valueHi] quadruples. */
  readonly accRead: Int32Array[];
  readonly accWrite: Int32Array[];

  constructor(readonly layout: PgtableLayout) {
    const n = layout.levels.length;
    this.nLevels = n;
    this.last = n - 1;
    this.pteWords = layout.pteBytes >> 2;
    this.rules = layout.rules;
    this.topDepth = layout.topDepth ?? 0;
    this.tableLimit = layout.tableLimit ?? Infinity;
    this.shift = new Int32Array(n);
    this.idxMask = new Int32Array(n);
    this.blockSize = new Float64Array(n);
    this.entriesPerPage = new Int32Array(n);
    this.entries = new Int32Array(n);
    this.allocBytes = new Int32Array(n);
    this.leafOk = new Uint8Array(n);
    this.leafLo = new Int32Array(n);
    this.leafHi = new Int32Array(n);
    this.offLo = new Int32Array(n);
    this.offHi = new Int32Array(n);
    this.typeShift = layout.typeField.lsb;
    this.typeMask = (1 << layout.typeField.width) - 1;
    this.kindStride = this.typeMask + 1;
    this.kinds = new Uint8Array(n * this.kindStride);
    layout.levels.forEach((l, d) => {
      if (l.indexBits > 30) throw new RangeError(`level ${l.level}: ${l.indexBits} index bits`);
      this.shift[d] = l.shift;
      this.idxMask[d] = (1 << l.indexBits) - 1;
      this.blockSize[d] = 2 ** l.shift;
      this.entriesPerPage[d] = l.entriesPerPage;
      this.entries[d] = 2 ** l.indexBits;
      this.allocBytes[d] =
        d === this.topDepth ? Math.max(l.tableBytes, l.entriesPerPage * layout.pteBytes) : l.tableBytes;
      this.leafOk[d] = l.leafSize ? 1 : 0;
      this.leafLo[d] = lo32(l.leafBits);
      this.leafHi[d] = hi32(l.leafBits);
      const off = (1n << BigInt(l.shift)) - 1n;
      this.offLo[d] = lo32(off);
      this.offHi[d] = hi32(off);
      for (let v = 0; v < this.kindStride; v++)
        this.kinds[d * this.kindStride + v] = kindCode[l.kinds[v] ?? 'invalid'];
    });
    this.presLo = lo32(layout.present);
    this.presHi = hi32(layout.present);
    this.tblLo = lo32(layout.tableBits);
    this.tblHi = hi32(layout.tableBits);
    this.oaLo = lo32(layout.oa.direct);
    this.oaHi = hi32(layout.oa.direct);
    this.nMoved = layout.oa.moved.length;
    this.moved = new Int32Array(5 * this.nMoved);
    layout.oa.moved.forEach((m, i) => {
      if (m.paBit >> 5 !== (m.paBit + m.width - 1) >> 5 || m.pteBit >> 5 !== (m.pteBit + m.width - 1) >> 5)
        throw new RangeError('a moved output-address piece must not cross a 32-bit word');
      this.moved.set([m.paBit >> 5, m.paBit & 31, m.pteBit >> 5, m.pteBit & 31, (1 << m.width) - 1], 5 * i);
    });
    this.attrLo = lo32(layout.attrMask);
    this.attrHi = hi32(layout.attrMask);
    const nProt = 1 << IOMMU_PROT_BITS;
    this.protLo = new Int32Array(n * nProt);
    this.protHi = new Int32Array(n * nProt);
    layout.levels.forEach((l, d) => {
      for (let p = 0; p < nProt; p++) {
        const bits = protBits(l.prot ?? layout.prot, p, layout.quirks);
        this.protLo[d * nProt + p] = lo32(bits);
        this.protHi[d * nProt + p] = hi32(bits);
      }
    });
    const dirty = layout.dirty;
    this.dirty = dirty !== null;
    this.dMaskLo = dirty ? lo32(dirty.mask) : 0;
    this.dMaskHi = dirty ? hi32(dirty.mask) : 0;
    this.dValLo = dirty ? lo32(dirty.value) : 0;
    this.dValHi = dirty ? hi32(dirty.value) : 0;
    this.dSetLo = dirty ? lo32(dirty.cleanSet) : 0;
    this.dSetHi = dirty ? hi32(dirty.cleanSet) : 0;
    this.dClrLo = dirty ? lo32(dirty.cleanClear) : 0;
    this.dClrHi = dirty ? hi32(dirty.cleanClear) : 0;
    this.iasLimit = 2 ** layout.ias;
    this.oasLimit = 2 ** layout.oas;
    const quads = (ms: readonly { mask: bigint; value: bigint }[]) =>
      Int32Array.from(ms.flatMap((m) => [lo32(m.mask), hi32(m.mask), lo32(m.value), hi32(m.value)]));
    const always = [{ mask: 0n, value: 0n }];
    this.accRead = layout.levels.map((l) => quads((l.access ?? layout.access)?.read ?? always));
    this.accWrite = layout.levels.map((l) => quads((l.access ?? layout.access)?.write ?? always));
  }

  /** Whether a leaf (lo, hi) matches one of the quadruples. */
  matches(q: Int32Array, lo: number, hi: number): boolean {
    for (let i = 0; i < q.length; i += 4)
      if ((lo & q[i]) === q[i + 2] && (hi & q[i + 1]) === q[i + 3]) return true;
    return false;
  }

  /** The index at depth d of an IOVA given as words (ARM_LPAE_LVL_IDX). */
  index(d: number, iLo: number, iHi: number): number {
    const s = this.shift[d];
    return (s >= 32 ? iHi >>> (s - 32) : (iLo >>> s) | (iHi << (32 - s))) & this.idxMask[d];
  }

  /** EMPTY, LEAF, TABLE or INVALID for a PTE at depth d. */
  kind(d: number, lo: number, hi: number): number {
    if ((lo & this.presLo) === 0 && (hi & this.presHi) === 0) return KIND_EMPTY;
    return this.kinds[d * this.kindStride + ((lo >>> this.typeShift) & this.typeMask)];
  }

  /** iopte_to_paddr(): the output address a PTE holds. */
  oaOf(lo: number, hi: number): number {
    let aLo = lo & this.oaLo;
    let aHi = hi & this.oaHi;
    for (let i = 0; i < this.nMoved; i++) {
      const m = 5 * i;
      const piece = ((this.moved[m + 2] === 0 ? lo : hi) >>> this.moved[m + 3]) & this.moved[m + 4];
      if (this.moved[m] === 0) aLo |= piece << this.moved[m + 1];
      else aHi |= piece << this.moved[m + 1];
    }
    return (aLo >>> 0) + (aHi >>> 0) * TWO32;
  }

  /** paddr_to_iopte(), low word. `aLo`/`aHi` are the address's words. */
  oaToLo(aLo: number, aHi: number): number {
    let lo = aLo & this.oaLo;
    for (let i = 0; i < this.nMoved; i++) {
      const m = 5 * i;
      if (this.moved[m + 2] !== 0) continue;
      lo |=
        (((this.moved[m] === 0 ? aLo : aHi) >>> this.moved[m + 1]) & this.moved[m + 4]) << this.moved[m + 3];
    }
    return lo;
  }

  /** paddr_to_iopte(), high word. */
  oaToHi(aLo: number, aHi: number): number {
    let hi = aHi & this.oaHi;
    for (let i = 0; i < this.nMoved; i++) {
      const m = 5 * i;
      if (this.moved[m + 2] === 0) continue;
      hi |=
        (((this.moved[m] === 0 ? aLo : aHi) >>> this.moved[m + 1]) & this.moved[m + 4]) << this.moved[m + 3];
    }
    return hi;
  }

  /** The prot_to_pte bits of one prot value at a depth (default: the last), as a 64-bit number. */
  protPte(prot: number, d = this.last): bigint {
    const p = (d << IOMMU_PROT_BITS) | (prot & ((1 << IOMMU_PROT_BITS) - 1));
    return (BigInt(this.protHi[p] >>> 0) << 32n) | BigInt(this.protLo[p] >>> 0);
  }

  /** The attribute bits a leaf of pgsize mapped with prot gets (format.leafAttrs, else the prot rules). */
  leafAttrs(prot: number, pgsize: number): bigint {
    if (this.layout.leafAttrs) return this.layout.leafAttrs(prot, pgsize);
    let d = this.last;
    while (d > 0 && this.blockSize[d] < pgsize) d--;
    return this.protPte(prot, d);
  }

  /** The PTE at an index of a table view, as words (the high word 0 for 4-byte PTEs). */
  pteAt(t: Int32Array, idx: number): [number, number] {
    return this.pteWords === 2 ? [t[2 * idx], t[2 * idx + 1]] : [t[idx], 0];
  }

  /** How a walker reads the entry (lo, hi) at depth d: the format's decode(), or the data-driven default. */
  decode(d: number, lo: number, hi: number): DecodedEntry {
    if (this.layout.decode) return this.layout.decode(d, pte64(lo, hi));
    const k = this.kind(d, lo, hi);
    const level = this.layout.levels[d];
    const leaf = k === KIND_LEAF;
    return {
      kind: KIND_NAMES[k],
      oa: k === KIND_LEAF || k === KIND_TABLE ? this.oaOf(lo, hi) : 0,
      size: this.blockSize[d],
      attrs: leaf ? pte64(lo, hi) & this.layout.attrMask : 0n,
      name: leaf ? level.leafName : KIND_NAMES[k],
    };
  }
}

/** Splits an address below 2^53 into its low word. */
export const addrLo = (a: number): number => a >>> 0;
/** … and its high word. */
export const addrHi = (a: number): number => (a - (a >>> 0)) / TWO32;

/** A PTE from its words, as an unsigned 64-bit bigint (for traces and tests, never the hot path). */
export const pte64 = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
