// SPDX-License-Identifier: GPL-2.0-only
/**
 * Reading a page table from its memory, as a hardware walker (or an emulator)
 * would: a step-by-step trace of one translation, which takes the steps
 * the format's walker takes (arm_lpae_iova_to_phys(), arm_v7s_iova_to_phys(),
 * fetch_pte(), pfn_to_dma_pte(), …) and says why at each one, and a dump of
 * every leaf. Both read only the table memory and the compiled format, never the
 * engine's state, so they show what the hardware would see.
 */
import type { CompiledFormat } from './compiled.js';
import { addrHi, addrLo, pte64 } from './compiled.js';
import type { TableMemory } from './memory.js';

/** What a step found: the format's name for a leaf ('page', 'block', 'section', …), or one of these. */
export type StepKind = 'empty' | 'table' | 'invalid' | (string & {});

export interface WalkStep {
  /** The architecture's level number. */
  readonly level: number;
  /** Physical address of the table read at this step. */
  readonly table: number;
  readonly index: number;
  /** Physical address of the descriptor: table + index * PTE bytes. */
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

/** The steps of one translation from the root table at pgdPhys, which is at depth `top`. */
export function walkTrace(
  f: CompiledFormat,
  mem: TableMemory,
  pgdPhys: number,
  iova: number,
  top = f.topDepth,
): WalkTrace {
  const steps: WalkStep[] = [];
  const iLo = addrLo(iova);
  const iHi = addrHi(iova);
  const pteBytes = f.layout.pteBytes;
  let table = pgdPhys;
  for (let d = top; d < f.nLevels; d++) {
    const level = f.layout.levels[d];
    const t = mem.view(table);
    const index = f.index(d, iLo, iHi);
    const pteAddress = table + index * pteBytes;
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
    const [lo, hi] = f.pteAt(t, index);
    const pte = pte64(lo, hi);
    const base = { level: level.level, table, index, pteAddress, pte };
    const e = f.decode(d, lo, hi);
    if (e.kind === 'empty') {
      steps.push({ ...base, kind: 'empty', fields: {}, decision: 'empty: no translation' });
      break;
    }
    if (e.kind === 'leaf') {
      const oa = e.oa;
      // The output address | (iova & (leaf size - 1)), as the iova_to_phys() functions OR them.
      const offset = iova % e.size;
      const phys = oa + offset;
      steps.push({
        ...base,
        kind: e.name,
        fields: fieldsOf(f, pte, 'leaf'),
        next: oa,
        decision: `${e.name} (${sizeName(e.size)}): output ${hex(oa)} + offset ${hex(offset)} = ${hex(phys)}`,
      });
      return { iova, steps, phys, pageSize: e.size };
    }
    if (e.kind !== 'table' || d === f.last) {
      const type = (lo >>> f.typeShift) & f.typeMask;
      const decision = `invalid descriptor at level ${level.level} (type ${type}): no translation`;
      steps.push({ ...base, kind: 'invalid', fields: {}, decision });
      break;
    }
    const next = e.oa;
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

/**
 * Every leaf under the root table, in IOVA order. A leaf made of several
 * replicated or contiguous entries is listed once, at its base, or at its
 * first present entry when a smaller leaf or a table overwrote the entries
 * before it.
 */
export function collectLeaves(
  f: CompiledFormat,
  mem: TableMemory,
  pgdPhys: number,
  top = f.topDepth,
): LeafInfo[] {
  const out: LeafInfo[] = [];
  const visit = (d: number, table: number, base: number) => {
    const t = mem.view(table);
    if (t === undefined) return;
    let skipUntil = -1;
    for (let i = 0; i < f.entries[d]; i++) {
      const [lo, hi] = f.pteAt(t, i);
      const e = f.decode(d, lo, hi);
      const iova = base + i * f.blockSize[d];
      if (e.kind === 'leaf') {
        if (iova < skipUntil) continue;
        const aligned = iova - (iova % e.size);
        // The rest of a series whose first entries a smaller map overwrote (AMD v1) starts where it is left.
        const start = aligned < skipUntil ? iova : aligned;
        skipUntil = aligned + e.size;
        const pte = pte64(lo, hi);
        const level = f.layout.levels[d].level;
        out.push({ iova: start, size: e.size, level, paddr: e.oa, pte, attrs: e.attrs });
      } else if (e.kind === 'table' && d < f.last) {
        visit(d + 1, e.oa, iova);
        // Its span is the table's: the rest of a series it overwrote the start of starts after it.
        skipUntil = iova + f.blockSize[d];
      }
    }
  };
  visit(top, pgdPhys, 0);
  return out;
}
