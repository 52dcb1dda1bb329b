// SPDX-License-Identifier: GPL-2.0-only
/**
 * Importing `lspci -D -xxxx` (with or without -D) output: a
 * header line per function, "SSSS:BB:DD.F <class>: <name>" ("BB:DD.F ..."
 * without -D, segment 0000), then 16-byte hex rows "00: 86 80 ..." from 00
 * up to "f0:" (256 bytes) or "ff0:" (4096 bytes), a blank line between
 * functions. Lines starting with a tab (what -v adds) are skipped. Rows must
 * be whole and in order; anything else is an InputError naming the line.
 *
 * The function's label is lspci's text after the class ("Red Hat, Inc.
 * QEMU PCIe Root port"), with control characters removed and the length
 * bounded.
 */
import { InputError } from '../../input/input-error.js';
import { decodeConfig, formatBdf } from '../config/decode.js';
import { PCI_CFG_SPACE_EXP_SIZE, PCI_CFG_SPACE_SIZE } from '../config/config-regs.js';
import { importPciConfigs, type PciImportOptions, type PciTopologyInput } from './from-config.js';

/** One function as lspci printed it. */
export interface LspciFunction {
  /** "SSSS:BB:DD.F" */
  readonly bdf: string;
  /** lspci's class text ("PCI bridge"), sanitised. */
  readonly className: string;
  /** lspci's text after the class, sanitised ("" when there is none). */
  readonly label: string;
  readonly bytes: Uint8Array;
  /** The header line (1-based). */
  readonly line: number;
  /** The line of each 16-byte row, by row index (offset / 16). */
  readonly rowLines: readonly number[];
}

const HEADER_RE = /^(?:([0-9a-fA-F]{1,8}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])(?:\s+(.*))?$/;
const ROW_RE = /^([0-9a-fA-F]{1,4}):((?: [0-9a-fA-F]{2})*) *$/;
const ROW_BYTES = 16;
/** The most characters kept of lspci's names. */
const MAX_LABEL = 200;

/** lspci's text, made safe to show: no control or format characters, single spaces, bounded. */
export function safeLabel(text: string): string {
  return text
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, MAX_LABEL)
    .trim();
}

/** The functions of an lspci -xxx/-xxxx listing, in the order printed (rows of 256 or 4096 bytes). */
export function parseLspci(text: string, file: string): LspciFunction[] {
  const out: LspciFunction[] = [];
  const lines = text.split('\n');
  let cur: {
    bdf: string;
    className: string;
    label: string;
    line: number;
    rows: number[][];
    rowLines: number[];
  } | null = null;
  const fail = (line: number, problem: string): never => {
    throw new InputError(file, `line ${line}${cur ? ` (${cur.bdf})` : ''}`, problem);
  };
  const finish = () => {
    if (!cur) return;
    if (!cur.rows.length) fail(cur.line, 'no config space rows follow: dump with sudo lspci -D -xxxx');
    out.push({
      bdf: cur.bdf,
      className: cur.className,
      label: cur.label,
      bytes: Uint8Array.from(cur.rows.flat()),
      line: cur.line,
      rowLines: cur.rowLines,
    });
    cur = null;
  };

  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i].replace(/\r$/, '');
    if (line.startsWith('\t')) continue;
    if (!line.trim()) continue;
    const h = HEADER_RE.exec(line);
    if (h) {
      finish();
      const segment = h[1] ? parseInt(h[1], 16) : 0;
      const slot = parseInt(h[3], 16);
      if (segment > 0xffff) fail(n, `PCI domain ${h[1]} is beyond 0xffff (VMD domains are not modelled)`);
      if (slot > 0x1f) fail(n, `device number ${h[3]} is beyond 1f`);
      const rest = h[5] ?? '';
      const sep = rest.indexOf(': ');
      const bdf = formatBdf(segment, parseInt(h[2], 16), (slot << 3) | +h[4]);
      const first = out.find((f) => f.bdf === bdf);
      if (first) fail(n, `${bdf} is listed twice (first at line ${first.line})`);
      cur = {
        bdf,
        className: safeLabel(sep < 0 ? rest : rest.slice(0, sep)),
        label: safeLabel(sep < 0 ? '' : rest.slice(sep + 2)),
        line: n,
        rows: [],
        rowLines: [],
      };
      continue;
    }
    const r = ROW_RE.exec(line);
    if (!r) fail(n, `neither a function header "SSSS:BB:DD.F class: name" nor a hex row "00: 86 80 ..."`);
    if (!cur) fail(n, 'a hex row before any function header');
    const c = cur!;
    const offset = parseInt(r![1], 16);
    const expected = c.rows.length * ROW_BYTES;
    if (offset !== expected)
      fail(
        n,
        offset < expected
          ? `row 0x${offset.toString(16)} again, or out of order (expected 0x${expected.toString(16)})`
          : `row 0x${offset.toString(16)} follows row 0x${(expected - ROW_BYTES).toString(16)}: ` +
              `rows 0x${expected.toString(16)}-0x${(offset - 1).toString(16)} are missing`,
      );
    if (offset >= PCI_CFG_SPACE_EXP_SIZE)
      fail(n, `row 0x${offset.toString(16)} is beyond the 4096 bytes of config space`);
    const bytes = r![2]
      .trim()
      .split(' ')
      .filter((b) => b)
      .map((b) => parseInt(b, 16));
    if (bytes.length !== ROW_BYTES)
      fail(
        n,
        `row 0x${offset.toString(16)} has ${bytes.length} bytes, not ${ROW_BYTES}: the dump is truncated`,
      );
    c.rows.push(bytes);
    c.rowLines.push(n);
  }
  finish();
  if (!out.length)
    throw new InputError(file, '', 'no PCI functions found: expected the output of lspci -D -xxxx');
  return out;
}

/** The place of offset `off` of function `f` ("line 290 (0000:00:06.0 offset 0x148)"). */
export function lspciWhere(f: LspciFunction): (off?: number) => string {
  return (off?: number) => {
    if (off === undefined) return `line ${f.line} (${f.bdf})`;
    const line = f.rowLines[Math.floor(off / ROW_BYTES)] ?? f.line;
    return `line ${line} (${f.bdf} offset 0x${off.toString(16).padStart(2, '0')})`;
  };
}

/**
 * A dump made with -xxx holds 256 bytes of every function, so the PCI
 * Express extended capabilities, ACS among them, are missing, and the groups
 * built from it would be wrong without a word. A function of 256 bytes in a
 * -xxxx dump is the kernel's own answer (pci_cfg_space_size(): no extended
 * space behind it) and stays; a dump where no function has more, though one
 * is PCI Express, is refused. A machine without extended config access
 * dumps the same way; its sysfs copy is the way in, as sysfs files carry
 * the kernel's own sizes.
 */
function refuseWithoutExtendedSpace(functions: readonly LspciFunction[], file: string): void {
  if (functions.some((f) => f.bytes.length > PCI_CFG_SPACE_SIZE)) return;
  for (const f of functions) {
    const where = lspciWhere(f);
    if (!decodeConfig(f.bytes, f.bdf, file, { where }).pcie) continue;
    throw new InputError(
      file,
      where(),
      'a PCI Express function, but no function in the dump has its extended config space (lspci -xxx ' +
        'prints 256 bytes): ACS, which decides the IOMMU groups, lies there. Dump with sudo lspci -D -xxxx; ' +
        'on a machine without extended config access (no MMCONFIG, pci=nommconf) every function has 256 ' +
        'bytes, and a copy of /sys/bus/pci/devices, whose files have the sizes the kernel gave them, is taken as it is',
    );
  }
}

/**
 * lspci -D -xxxx text to PCI topology descriptions, one per segment (a
 * -xxx dump of a PCI Express machine is refused: refuseWithoutExtendedSpace()).
 * Throws InputError naming `file`, the line, the function and the offset.
 */
export function importLspci(text: string, file: string, opts: PciImportOptions = {}): PciTopologyInput[] {
  const functions = parseLspci(text, file);
  refuseWithoutExtendedSpace(functions, file);
  return importPciConfigs(
    functions.map((f) => ({
      bdf: f.bdf,
      bytes: f.bytes,
      file,
      ...(f.label ? { label: f.label } : {}),
      where: lspciWhere(f),
    })),
    opts,
  );
}
