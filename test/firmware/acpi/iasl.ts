// SPDX-License-Identifier: GPL-2.0-only
/**
 * Test helper: `iasl -d` output as an oracle. The committed disassemblies
 * under iasl/ (made by gen-iasl-expectations.sh) are parsed into their
 * "[offset length] Field name : value" lines and their raw hex dump (so the
 * tests need neither iasl nor the shared fixtures to run), and compared
 * field by field, offsets included, with the parser's trace. The fixture
 * list here and the script's must name files the same way.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FieldTrace } from '../../../src/firmware/acpi/acpi-table.js';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const IASL_DIR = join(HERE, 'iasl');
export const SYNTHETIC_DIR = join(HERE, 'synthetic');
/** The project's shared folder (/work/shared next to the checkout). */
export const SHARED = resolve(HERE, '../../../../shared');
export const FIXTURES_DIR = join(SHARED, 'fixtures', 'acpi');
export const GROUNDTRUTH_DIR = join(SHARED, 'groundtruth');

export interface AcpiFixture {
  /** The expectation's name: iasl/<name>.dsl. */
  readonly name: string;
  /** Where the binary comes from. */
  readonly source: string;
  readonly signature: string;
}

/**
 * Every source table that exists here: shared/fixtures/acpi/*.dat and *.aml,
 * shared/groundtruth/{scenario}/DMAR.dat and IVRS.dat, and synthetic/*.dat.
 */
export function sourceFixtures(): AcpiFixture[] {
  const out: AcpiFixture[] = [];
  const sig = (name: string) => name.slice(name.lastIndexOf('.') + 1);
  if (existsSync(FIXTURES_DIR))
    for (const f of readdirSync(FIXTURES_DIR).sort()) {
      if (!/\.(dat|aml)$/.test(f)) continue;
      const name = f.replace(/\.(dat|aml)$/, '');
      out.push({ name, source: join(FIXTURES_DIR, f), signature: sig(name) });
    }
  if (existsSync(GROUNDTRUTH_DIR))
    for (const d of readdirSync(GROUNDTRUTH_DIR).sort())
      for (const s of ['DMAR', 'IVRS']) {
        const p = join(GROUNDTRUTH_DIR, d, `${s}.dat`);
        if (existsSync(p)) out.push({ name: `groundtruth-${d}.${s}`, source: p, signature: s });
      }
  if (existsSync(SYNTHETIC_DIR))
    for (const f of readdirSync(SYNTHETIC_DIR).sort()) {
      if (!f.endsWith('.dat')) continue;
      const name = `synthetic-${f.replace(/\.dat$/, '')}`;
      out.push({ name, source: join(SYNTHETIC_DIR, f), signature: sig(name) });
    }
  return out;
}

/** The committed expectations' names. */
export function committedNames(): string[] {
  return readdirSync(IASL_DIR)
    .filter((f) => f.endsWith('.dsl'))
    .map((f) => f.replace(/\.dsl$/, ''))
    .sort();
}

export function readCommitted(name: string): string {
  return readFileSync(join(IASL_DIR, `${name}.dsl`), 'utf8');
}

/** The line iasl dates: " * Disassembly of X.dat, Wed Nov 25 15:42:11 2026" loses its date. */
export function normalizeDsl(text: string): string {
  return text.replace(/^( \* Disassembly of [^,\n]+),.*$/m, '$1');
}

/** iasl on PATH? */
export function iaslAvailable(): boolean {
  try {
    execFileSync('iasl', ['-v'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** `iasl -d` on a copy named <name>.dat, normalized as the script does. */
export function runIasl(name: string, source: string | Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'iasl-'));
  try {
    const dat = join(dir, `${name}.dat`);
    if (typeof source === 'string') copyFileSync(source, dat);
    else writeFileSync(dat, source);
    execFileSync('iasl', ['-d', basename(dat)], { cwd: dir, stdio: 'pipe' });
    return normalizeDsl(readFileSync(join(dir, `${name}.dsl`), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface DslField {
  readonly offset: number;
  readonly length: number;
  readonly label: string;
  /** The value without iasl's "[description]" or comment. */
  readonly value: string;
  readonly line: number;
}

export interface Dsl {
  readonly fields: readonly DslField[];
  /** The "Raw Table Data" dump. */
  readonly raw: Uint8Array;
  /** [start, end) regions iasl did not decode ("**** Unknown ..."). */
  readonly unknown: readonly (readonly [number, number])[];
}

const FIELD = /^\[([0-9A-F]+)h (\d+) +(\d+)\] +(.*?) : (.*)$/;
const RAW = /^ +([0-9A-F]{4,}): ((?:[0-9A-F]{2} ?)+)/;

export function parseDsl(text: string): Dsl {
  const fields: DslField[] = [];
  const raw: number[] = [];
  const unknownStarts: number[] = [];
  let inRaw = false;
  let continued: DslField | null = null;
  text.split('\n').forEach((line, i) => {
    if (continued) {
      // A value iasl breaks over lines ends each of them but the last with a backslash.
      const more = line.trim().replace(/\\$/, '').trim();
      const joined = [continued.value, more].filter(Boolean).join(' ');
      fields[fields.length - 1] = continued = { ...continued, value: joined };
      if (!line.trimEnd().endsWith('\\')) continued = null;
      return;
    }
    if (line.startsWith('Raw Table Data')) inRaw = true;
    let m: RegExpExecArray | null;
    if (inRaw) {
      if ((m = RAW.exec(line))) {
        if (parseInt(m[1], 16) !== raw.length) throw new Error(`line ${i + 1}: raw dump out of order`);
        raw.push(
          ...m[2]
            .trim()
            .split(' ')
            .map((b) => parseInt(b, 16)),
        );
      }
      return;
    }
    if ((m = FIELD.exec(line))) {
      const offset = parseInt(m[1], 16);
      if (offset !== Number(m[2])) throw new Error(`line ${i + 1}: hex and decimal offsets differ`);
      let value = m[5].trim();
      if (value.startsWith('"')) value = value.slice(0, value.indexOf('"', 1) + 1);
      else value = value.replace(/\s*\[.*\]$/, '').replace(/\s*\/\*.*\*\/$/, '');
      const field = { offset, length: Number(m[3]), label: m[4], value, line: i + 1 };
      if (value === '\\') continued = { ...field, value: '' };
      fields.push(continued ?? field);
    } else if (line.startsWith('**** Unknown') && fields.length) unknownStarts.push(fields.length);
  });
  const unknown = unknownStarts.map((n): [number, number] => [
    fields[n - 1].offset,
    fields[n]?.offset ?? raw.length,
  ]);
  return { fields, raw: new Uint8Array(raw), unknown };
}

/** Labels ACPICA 20200925 prints differently: the parser's label -> iasl's. */
const OLD_IASL_LABELS: Readonly<Record<string, string>> = {
  // DRHD +5: "Reserved" until VT-d 3.x named it (dmar_parse_one_drhd() reads it as the size).
  Size: 'Reserved',
  // IVHD 11h/40h +32: efr_reg2 in the kernel.
  'EFR Register Image 2': 'Reserved',
  // IORT node +4: the node identifier since IORT E.b.
  Identifier: 'Reserved',
};

const hexN = (v: number | bigint, digits: number) => v.toString(16).toUpperCase().padStart(digits, '0');

/** A traced value as iasl prints it. */
export function formatTrace(f: FieldTrace): string {
  const v = f.value;
  switch (f.kind) {
    case 'ascii':
    case 'cstring':
      return `"${v as string}"`;
    case 'bytes':
      return (v as readonly number[]).map((b) => hexN(b, 2)).join(' ');
    default:
      return hexN(v as number | bigint, 2 * f.size);
  }
}

/**
 * Every iasl field (optionally only those before `limit`) against the
 * trace: the same offset and length, the same name, the same value. A
 * field iasl prints as one that the parser reads as several (a PCI path
 * pair, IVMD "Reserved" holding the kernel's segment) must be tiled exactly
 * by parser fields and is compared byte for byte. And every traced field
 * must lie inside an iasl field, unless iasl did not decode that region.
 * Returns the mismatches, empty when all agree.
 */
export function compareWithIasl(
  dsl: Dsl,
  trace: readonly FieldTrace[],
  bytes: Uint8Array,
  limit = Infinity,
): string[] {
  const problems: string[] = [];
  const traced = trace.filter((f) => f.size > 0).sort((a, b) => a.offset - b.offset);
  for (const d of dsl.fields) {
    if (d.offset >= limit) continue;
    const where = `iasl line ${d.line} [${hexN(d.offset, 3)}h ${d.length}] ${d.label}`;
    const inside = traced.filter((f) => f.offset >= d.offset && f.offset < d.offset + d.length);
    const exact = inside.length === 1 && inside[0].offset === d.offset && inside[0].size === d.length;
    if (exact) {
      const f = inside[0];
      const label = OLD_IASL_LABELS[f.label] ?? f.label;
      if (label !== d.label) problems.push(`${where}: the parser calls it "${f.label}"`);
      const got = formatTrace(f);
      if (got !== d.value) problems.push(`${where}: iasl ${d.value}, parser ${got}`);
      continue;
    }
    let at = d.offset;
    for (const f of inside) {
      if (f.offset !== at) break;
      at += f.size;
    }
    if (inside.length === 0 || at !== d.offset + d.length) {
      problems.push(
        `${where}: no parser field covers it (${inside.map((f) => f.name).join(', ') || 'none'})`,
      );
      continue;
    }
    // A structure iasl names before listing its fields ("Memory Properties : [IORT Memory
    // Access Properties]"): its fields follow as lines of their own and are compared there.
    if (d.value === '') continue;
    const slice = Array.from(bytes.subarray(d.offset, d.offset + d.length));
    if (d.label === 'PCI Path') {
      const got = `${hexN(slice[0], 2)},${hexN(slice[1], 2)}`;
      if (!inside.every((f) => f.label === 'PCI Path') || got !== d.value)
        problems.push(`${where}: parser ${inside.map((f) => `${f.name}=${String(f.value)}`).join(' ')}`);
      continue;
    }
    const got =
      d.length <= 8
        ? hexN(
            slice.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n),
            2 * d.length,
          )
        : slice.map((b) => hexN(b, 2)).join(' ');
    if (d.label !== 'Reserved' || got !== d.value)
      problems.push(
        `${where}: iasl ${d.value}, parser fields ${inside.map((f) => f.name).join(', ')} (${got})`,
      );
  }
  for (const f of traced) {
    if (f.offset >= limit) continue;
    const covered = dsl.fields.some((d) => f.offset >= d.offset && f.offset + f.size <= d.offset + d.length);
    const undecoded = dsl.unknown.some(([s, e]) => f.offset >= s && f.offset < e);
    if (!covered && !undecoded)
      problems.push(
        `parser field ${f.structure} ${f.name} at ${hexN(f.offset, 3)}h (${f.size}) is not an iasl field`,
      );
  }
  return problems;
}
