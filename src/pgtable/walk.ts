// SPDX-License-Identifier: GPL-2.0-only
/**
 * Reading a page table from its memory, as a hardware walker (or an emulator)
 * would: a step-by-step trace of one translation, which takes the same steps
 * as arm_lpae_iova_to_phys() and says why at each one, and a dump of every
 * leaf. Both read only the table memory and the compiled format, never the
 * engine's state, so they show what the hardware would see.
 */
import type { CompiledFormat } from './compiled.js';
import { KIND_EMPTY, KIND_LEAF, KIND_TABLE, addrHi, addrLo, pte64 } from './compiled.js';
import type { TableMemory } from './memory.js';

export type StepKind = 'empty' | 'table' | 'block' | 'page' | 'invalid';

export interface WalkStep {
  /** The architecture's level number. */
  readonly level: number;
  /** Physical address of the table read at this step. */
  readonly table: number;
  readonly index: number;
  /** Physical address of the descriptor: table + index * 8. */
  readonly pteAddress: number;
  readonly pte: bigint;
  readonly kind: StepKind;
  /** The format's named fields of a table or leaf descriptor. */
  readonly fields: Readonly<Record<string, number>>;
  /** The next table's address (table) or the output address (block, page). */
  readonly next?: number;
  readonly decision: string;
}

export interface WalkTrace {
  readonly iova: number;
  readonly steps: readonly WalkStep[];
  /** The translation, or null when there is none (iova_to_phys() returns 0). */
  readonly phys: number | null;
  /** Size of the leaf that translated it. */
  readonly pageSize: number | null;
}

export interface LeafInfo {
  readonly iova: number;
  readonly size: number;
  readonly level: number;
  readonly paddr: number;
  readonly pte: bigint;
  /** The PTE's attribute bits (the format's attrMask), as a split would copy them. */
  readonly attrs: bigint;
}

const hex = (v: number | bigint) => `0x${v.toString(16)}`;

/** 4096 → "4K", 2 MiB → "2M". */
export function sizeName(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let u = 0;
  while (bytes >= 1024 && bytes % 1024 === 0 && u < units.length - 1) {
    bytes /= 1024;
    u++;
  }
  return `${bytes}${units[u]}`;
}

function fieldsOf(f: CompiledFormat, pte: bigint, on: 'leaf' | 'table'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const fd of f.layout.fields)
    if (fd.on === on) out[fd.name] = Number((pte >> BigInt(fd.lsb)) & ((1n << BigInt(fd.width)) - 1n));
  return out;
}

/** The steps of one translation from the pgd at pgdPhys. */
export function walkTrace(f: CompiledFormat, mem: TableMemory, pgdPhys: number, iova: number): WalkTrace {
  const steps: WalkStep[] = [];
  const iLo = addrLo(iova);
  const iHi = addrHi(iova);
  let table = pgdPhys;
  for (let d = 0; d < f.nLevels; d++) {
    const level = f.layout.levels[d];
    const t = mem.view(table);
    const index = f.index(d, iLo, iHi);
    const pteAddress = table + index * 8;
    if (t === undefined) {
      const decision = `no table memory at ${hex(table)}: no translation`;
      steps.push({
        level: level.level,
        table,
        index,
        pteAddress,
        pte: 0n,
        kind: 'invalid',
        fields: {},
        decision,
      });
      break;
    }
    const lo = t[2 * index];
    const hi = t[2 * index + 1];
    const pte = pte64(lo, hi);
    const base = { level: level.level, table, index, pteAddress, pte };
    const k = f.kind(d, lo, hi);
    if (k === KIND_EMPTY) {
      steps.push({ ...base, kind: 'empty', fields: {}, decision: 'empty: no translation' });
      break;
    }
    if (k === KIND_LEAF) {
      const oa = f.oaOf(lo, hi);
      const offset = iova % f.blockSize[d];
      // iopte_to_paddr(pte) | (iova & (block size - 1)), as arm_lpae_iova_to_phys() ORs them
      const oLo = addrLo(oa);
      const phys = ((oLo | (iLo & f.offLo[d])) >>> 0) + (addrHi(oa) | (iHi & f.offHi[d])) * 4294967296;
      steps.push({
        ...base,
        kind: level.leafName,
        fields: fieldsOf(f, pte, 'leaf'),
        next: oa,
        decision: `${level.leafName} (${sizeName(f.blockSize[d])}): output ${hex(oa)} + offset ${hex(offset)} = ${hex(phys)}`,
      });
      return { iova, steps, phys, pageSize: f.blockSize[d] };
    }
    if (k !== KIND_TABLE || d === f.last) {
      const type = (lo >>> f.typeShift) & f.typeMask;
      const decision = `invalid descriptor at level ${level.level} (type ${type}): no translation`;
      steps.push({ ...base, kind: 'invalid', fields: {}, decision });
      break;
    }
    const next = f.oaOf(lo, hi);
    steps.push({
      ...base,
      kind: 'table',
      fields: fieldsOf(f, pte, 'table'),
      next,
      decision: `table: level ${f.layout.levels[d + 1].level} table at ${hex(next)}`,
    });
    table = next;
  }
  return { iova, steps, phys: null, pageSize: null };
}

/** A trace as text, one line per step. */
export function formatWalkTrace(tr: WalkTrace): string {
  const lines = [`walk ${hex(tr.iova)}`];
  for (const s of tr.steps) {
    const pte = s.pte.toString(16).padStart(16, '0');
    lines.push(
      `  L${s.level} table ${hex(s.table)}[${s.index}] @ ${hex(s.pteAddress)} = 0x${pte}: ${s.decision}`,
    );
  }
  lines.push(
    tr.phys === null ? '  → no translation' : `  → ${hex(tr.phys)} (${sizeName(tr.pageSize ?? 0)} leaf)`,
  );
  return lines.join('\n');
}

/** Every leaf under the pgd, in IOVA order. */
export function collectLeaves(f: CompiledFormat, mem: TableMemory, pgdPhys: number): LeafInfo[] {
  const out: LeafInfo[] = [];
  const attrMask = f.layout.attrMask;
  const visit = (d: number, table: number, base: number) => {
    const t = mem.view(table);
    if (t === undefined) return;
    for (let i = 0; i < f.entries[d]; i++) {
      const lo = t[2 * i];
      const hi = t[2 * i + 1];
      const k = f.kind(d, lo, hi);
      const iova = base + i * f.blockSize[d];
      if (k === KIND_LEAF) {
        const pte = pte64(lo, hi);
        const level = f.layout.levels[d].level;
        out.push({ iova, size: f.blockSize[d], level, paddr: f.oaOf(lo, hi), pte, attrs: pte & attrMask });
      } else if (k === KIND_TABLE && d < f.last) {
        visit(d + 1, f.oaOf(lo, hi), iova);
      }
    }
  };
  visit(0, pgdPhys, 0);
  return out;
}
