// SPDX-License-Identifier: GPL-2.0-only
/**
 * Test helpers for the PCI import: the groundtruth scenarios' files
 * (lspci.txt, the README's device table, expected.txt's groups), lspci text
 * written back from config bytes, and synthetic config spaces built field by
 * field.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LspciFunction } from '../../../src/pci/import/lspci.js';

export const GROUNDTRUTH = '/work/shared/groundtruth';

/** The scenario folders that have an lspci.txt. */
export const scenarios: string[] = existsSync(GROUNDTRUTH)
  ? readdirSync(GROUNDTRUTH)
      .filter((d) => existsSync(join(GROUNDTRUTH, d, 'lspci.txt')))
      .sort()
  : [];

export const lspciPath = (scenario: string) => join(GROUNDTRUTH, scenario, 'lspci.txt');
export const lspciText = (scenario: string) => readFileSync(lspciPath(scenario), 'utf8');

/** The README's device table: BDF -> the lspci column ("PCI bridge: Red Hat, Inc. QEMU PCIe Root port"). */
export function readmeDevices(scenario: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(join(GROUNDTRUTH, scenario, 'README.md'), 'utf8').split('\n')) {
    const m = /^\| ([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) \| (.*?) \| /.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

/** expected.txt's groups as a partition: sorted lists of short BDFs, sorted by first member. */
export function expectedPartition(scenario: string): string[][] {
  const groups: string[][] = [];
  for (const line of readFileSync(join(GROUNDTRUTH, scenario, 'expected.txt'), 'utf8').split('\n')) {
    if (/^group \d+ /.test(line)) groups.push([]);
    const m = /^ {2}dev 0000:(\S+)$/.exec(line);
    if (m) groups[groups.length - 1].push(m[1]);
  }
  return groups.map((g) => g.sort()).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** expected.txt's group numbers by short BDF. */
export function expectedGroupIds(scenario: string): Record<string, number> {
  const out: Record<string, number> = {};
  let id = -1;
  for (const line of readFileSync(join(GROUNDTRUTH, scenario, 'expected.txt'), 'utf8').split('\n')) {
    const g = /^group (\d+) /.exec(line);
    if (g) id = +g[1];
    const m = /^ {2}dev 0000:(\S+)$/.exec(line);
    if (m) out[m[1]] = id;
  }
  return out;
}

const h2 = (v: number) => v.toString(16).padStart(2, '0');

/** lspci -D -xxxx text for the given functions (header, rows, blank line), as lspci prints it. */
export function renderLspci(
  functions: readonly Pick<LspciFunction, 'bdf' | 'className' | 'label' | 'bytes'>[],
): string {
  return functions
    .map((f) => {
      const rows: string[] = [`${f.bdf} ${f.className}: ${f.label}`];
      for (let off = 0; off + 16 <= f.bytes.length; off += 16)
        rows.push(
          `${off.toString(16).padStart(2, '0')}: ${[...f.bytes.subarray(off, off + 16)].map(h2).join(' ')}`,
        );
      return rows.join('\n') + '\n';
    })
    .join('\n');
}

/** A config space under construction. */
export class ConfigBuilder {
  readonly bytes: Uint8Array;
  private lastCap = -1;
  private lastExt = -1;

  constructor(
    size: 256 | 4096,
    vendor: number,
    device: number,
    opts: { header?: number; class?: number } = {},
  ) {
    this.bytes = new Uint8Array(size);
    this.w16(0x00, vendor).w16(0x02, device);
    this.w32(0x08, ((opts.class ?? 0xff0000) << 8) | 0x01);
    this.w8(0x0e, opts.header ?? 0);
  }

  w8(off: number, v: number): this {
    this.bytes[off] = v & 0xff;
    return this;
  }
  w16(off: number, v: number): this {
    return this.w8(off, v).w8(off + 1, v >> 8);
  }
  w32(off: number, v: number): this {
    return this.w16(off, v & 0xffff).w16(off + 2, v >>> 16);
  }

  /** A bridge's bus numbers. */
  buses(primary: number, secondary: number, subordinate: number): this {
    return this.w8(0x18, primary).w8(0x19, secondary).w8(0x1a, subordinate);
  }

  /** Appends a standard capability at `at` (sets PCI_STATUS_CAP_LIST and links it to the previous one). */
  cap(at: number, id: number, body: Record<number, number> = {}): this {
    this.w16(0x06, 0x10);
    this.w8(this.lastCap < 0 ? 0x34 : this.lastCap + 1, at);
    this.w8(at, id).w8(at + 1, 0);
    for (const [off, v] of Object.entries(body)) this.w8(at + +off, v);
    this.lastCap = at;
    return this;
  }

  /** The PCI Express capability with Device/Port Type `type`. */
  pcie(at: number, type: number): this {
    return this.cap(at, 0x10, { 2: (type << 4) | 2 });
  }

  /** Appends an extended capability at `at` with 16-bit registers `regs` (offset -> value). */
  ext(at: number, id: number, regs: Record<number, number> = {}, version = 1): this {
    if (this.lastExt >= 0) {
      const prev =
        this.bytes[this.lastExt] | (this.bytes[this.lastExt + 1] << 8) | (this.bytes[this.lastExt + 2] << 16);
      this.w32(this.lastExt, (prev & 0xfffff) | (at << 20));
    }
    this.w32(at, id | (version << 16));
    for (const [off, v] of Object.entries(regs)) this.w16(at + +off, v);
    this.lastExt = at;
    return this;
  }
}
