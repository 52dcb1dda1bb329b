// SPDX-License-Identifier: GPL-2.0-only
/**
 * A device tree as source text, the way `dtc -I dtb -O dts` (1.6) prints a
 * blob: a blob carries no types, so each value's shape is guessed as dtc
 * guesses it (a string list when every byte is printable or NUL, it ends in
 * NUL and NULs are not the majority; else 32-bit cells when the length is a
 * multiple of 4; else bytes). Used to quote firmware in explanations and,
 * byte for byte, to check the parser against dtc.
 */
import { type Fdt, type FdtNode, type FdtProperty, beCells } from './fdt.js';

type Shape = 'string' | 'cells' | 'bytes';

const ESCAPES: Record<number, string> = {
  0x07: '\\a',
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0b: '\\v',
  0x0c: '\\f',
  0x0d: '\\r',
  0x5c: '\\\\',
  0x22: '\\"',
  0x00: '\\0',
};

function isPrint(c: number): boolean {
  return c >= 0x20 && c < 0x7f;
}

/** dtc's guess_value_type() for a value without type markers. */
function guessShape(v: Uint8Array): Shape {
  let notString = 0;
  let nul = 0;
  for (const c of v) {
    if (!(isPrint(c) || c === 0 || (c >= 0x07 && c <= 0x0d))) notString++;
    if (c === 0) nul++;
  }
  if (v[v.length - 1] === 0 && notString === 0 && nul <= v.length - nul) return 'string';
  return v.length % 4 === 0 ? 'cells' : 'bytes';
}

function hex(n: number, min: number): string {
  return n.toString(16).padStart(min, '0');
}

/** A property's value as dtc writes it after " = " (empty for a boolean property). */
export function formatValue(v: Uint8Array): string {
  if (v.length === 0) return '';
  switch (guessShape(v)) {
    case 'string': {
      let s = '"';
      for (let i = 0; i < v.length - 1; i++) {
        const c = v[i];
        s += ESCAPES[c] ?? (isPrint(c) ? String.fromCharCode(c) : `\\x${hex(c, 2)}`);
      }
      return `${s}"`;
    }
    case 'cells': {
      return `<${beCells(v)
        .map((c) => `0x${hex(c, 2)}`)
        .join(' ')}>`;
    }
    case 'bytes':
      return `[${Array.from(v, (c) => hex(c, 2)).join(' ')}]`;
  }
}

/** One property line without indentation: `name = <0x01>;` or `name;`. */
export function formatProperty(p: FdtProperty): string {
  return p.value.length ? `${p.name} = ${formatValue(p.value)};` : `${p.name};`;
}

function writeNode(np: FdtNode, level: number, out: string[]): void {
  const tabs = '\t'.repeat(level);
  out.push(`${tabs}${np.name || '/'} {\n`);
  for (const p of np.properties) out.push(`${tabs}\t${formatProperty(p)}\n`);
  for (const c of np.children) {
    out.push('\n');
    writeNode(c, level + 1, out);
  }
  out.push(`${tabs}};\n`);
}

/** The whole tree as `dtc -I dtb -O dts` prints it. */
export function fdtToSource(fdt: Fdt): string {
  const out = ['/dts-v1/;\n\n'];
  for (const r of fdt.memReserve)
    out.push(
      `/memreserve/\t0x${r.address.toString(16).padStart(16, '0')} 0x${r.size.toString(16).padStart(16, '0')};\n`,
    );
  writeNode(fdt.root, 0, out);
  return out.join('');
}
