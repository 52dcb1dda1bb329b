// SPDX-License-Identifier: GPL-2.0-only
/**
 * Test helper: every table with a committed iasl expectation, its bytes
 * (taken from the expectation's raw dump, so no shared folder is needed),
 * parsed by the parser its signature calls for; and the PCI functions of a
 * groundtruth scenario read from its lspci.txt config dumps (header type,
 * class, secondary and subordinate bus), with the devices the kernel gave
 * an IOMMU (expected.txt "iommu-of").
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { committedNames, GROUNDTRUTH_DIR, parseDsl, readCommitted } from './iasl.js';
import { type FieldTrace, readAcpiTable } from '../../../src/firmware/acpi/acpi-table.js';
import { parseDmar } from '../../../src/firmware/acpi/dmar-parse.js';
import { parseIvrs } from '../../../src/firmware/acpi/ivrs-parse.js';
import { parseIort } from '../../../src/firmware/acpi/iort-parse.js';

export interface TableCase {
  readonly name: string;
  readonly signature: string;
  readonly bytes: Uint8Array;
}

export function tableCases(): TableCase[] {
  return committedNames().map((name) => ({
    name,
    signature: name.slice(name.lastIndexOf('.') + 1),
    bytes: parseDsl(readCommitted(name)).raw,
  }));
}

export function tableBytes(name: string): Uint8Array {
  return parseDsl(readCommitted(name)).raw;
}

/** Parses with the parser for the signature (DMAR, IVRS, IORT; the header only for others). */
export function parseAny(signature: string, bytes: Uint8Array, file: string, trace?: FieldTrace[]): unknown {
  if (signature === 'DMAR') return parseDmar(bytes, file, { trace });
  if (signature === 'IVRS') return parseIvrs(bytes, file, { trace });
  if (signature === 'IORT') return parseIort(bytes, file, { trace });
  return readAcpiTable(bytes, file, { trace }).header;
}

export interface LspciFunction {
  readonly name: string;
  readonly segment: number;
  readonly bus: number;
  readonly devfn: number;
  readonly headerType: number;
  readonly classCode: number;
  readonly secondary?: number;
  readonly subordinate?: number;
}

/** The functions of a groundtruth scenario, from the config space dumps in lspci.txt. */
export function lspciFunctions(scenario: string): LspciFunction[] {
  const out: LspciFunction[] = [];
  let cur: { name: string; bytes: number[] } | null = null;
  const flush = () => {
    if (!cur) return;
    const [seg, bus, df] = cur.name.split(':');
    const [dev, fn] = df.split('.');
    const b = cur.bytes;
    const headerType = b[0x0e] & 0x7f;
    out.push({
      name: cur.name,
      segment: parseInt(seg, 16),
      bus: parseInt(bus, 16),
      devfn: (parseInt(dev, 16) << 3) | Number(fn),
      headerType,
      classCode: (b[0x0b] << 16) | (b[0x0a] << 8) | b[0x09],
      ...(headerType === 1 ? { secondary: b[0x19], subordinate: b[0x1a] } : {}),
    });
  };
  for (const line of readFileSync(join(GROUNDTRUTH_DIR, scenario, 'lspci.txt'), 'utf8').split('\n')) {
    const m = /^([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) /.exec(line);
    if (m) {
      flush();
      cur = { name: m[1], bytes: [] };
      continue;
    }
    const c = /^([0-9a-f]0): ((?:[0-9a-f]{2} ?){16})/.exec(line);
    if (cur && c && parseInt(c[1], 16) === cur.bytes.length)
      cur.bytes.push(
        ...c[2]
          .trim()
          .split(' ')
          .map((x) => parseInt(x, 16)),
      );
  }
  flush();
  return out;
}

/** expected.txt: device -> the IOMMU instance it got. */
export function iommuOf(scenario: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(join(GROUNDTRUTH_DIR, scenario, 'expected.txt'), 'utf8').split('\n')) {
    const m = /^iommu-of (\S+) -> (\S+)/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

export function groundtruthHas(scenario: string, file: string): boolean {
  return existsSync(join(GROUNDTRUTH_DIR, scenario, file));
}
