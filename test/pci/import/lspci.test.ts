// SPDX-License-Identifier: GPL-2.0-only
/**
 * The lspci text format: the variants lspci prints (without -D, -xxx with
 * 256 bytes, -v lines, CRLF) and what malformed text gives, each error
 * naming the line, the function and, for decoding errors, the offset.
 */
import { describe, expect, it } from 'vitest';
import { importLspci, parseLspci, safeLabel } from '../../../src/pci/import/lspci.js';
import { lspciText, renderLspci } from './helpers.js';
import { inputError } from '../../support/input-error.js';

const text = lspciText('x86-q35-vtd-switch');
const full = importLspci(text, 'lspci.txt');
const lines = text.split('\n');
/** The text with line `n` (1-based) replaced. */
const withLine = (n: number, line: string | null) =>
  [...lines.slice(0, n - 1), ...(line === null ? [] : [line]), ...lines.slice(n)].join('\n');
const problem = (t: string) => {
  const e = inputError(() => importLspci(t, 'l.txt'));
  expect(e.file).toBe('l.txt');
  return `${e.where}: ${e.problem}`;
};

describe('lspci variants', () => {
  it('prints the same bytes back as it parsed', () => {
    expect(renderLspci(parseLspci(text, 'l.txt'))).toBe(text);
  });

  it('without -D the domain is 0000', () => {
    const noDomain = text.replace(/^0000:/gm, '');
    expect(noDomain).not.toBe(text);
    expect(importLspci(noDomain, 'l.txt')).toEqual(full);
  });

  it('lspci -xxx (256 bytes of every function): refused at the first PCI Express function, whose ACS it cannot show', () => {
    const xxx = text
      .split('\n')
      .filter((l) => !/^[0-9a-f]{3}: /.test(l))
      .join('\n');
    expect(parseLspci(xxx, 'l.txt').every((f) => f.bytes.length === 256)).toBe(true);
    // 00:00.0, the q35 host bridge, is conventional PCI; 00:03.0, the root port, is PCI Express.
    expect(problem(xxx)).toBe(
      'line 19 (0000:00:03.0): a PCI Express function, but no function in the dump has its extended config space ' +
        '(lspci -xxx prints 256 bytes): ACS, which decides the IOMMU groups, lies there. Dump with sudo lspci -D -xxxx; ' +
        'on a machine without extended config access (no MMCONFIG, pci=nommconf) every function has 256 bytes, ' +
        'and a copy of /sys/bus/pci/devices, whose files have the sizes the kernel gave them, is taken as it is',
    );
    // A -xxxx dump keeps the 256-byte functions it has (the kernel's cfg_size for them).
    expect(parseLspci(text, 'l.txt').filter((f) => f.bytes.length === 256).length).toBeGreaterThan(0);
    expect(full[0].functions.some((f) => f.acs)).toBe(true);
  });

  it('CRLF line endings, -v lines and extra blank lines', () => {
    const noisy = text
      .replace(
        /^(0000:00:06.0 .*)$/m,
        '$1\n\tSubsystem: Red Hat, Inc. Device 0000\n\tFlags: bus master, fast devsel\n\n',
      )
      .replace(/\n/g, '\r\n');
    expect(importLspci(noisy, 'l.txt')).toEqual(full);
  });

  it('labels are made safe', () => {
    expect(safeLabel('a\u0000b\tc\u202e  d\u2028e')).toBe('a b c d e');
    expect(safeLabel('x'.repeat(500))).toHaveLength(200);
    const odd = text.replace('QEMU PCIe Root port', 'QEMU\u001b[31m PCIe Root port');
    const f = importLspci(odd, 'l.txt')[0].functions.find((g) => g.bdf === '00:06.0')!;
    expect(f.label).toBe('Red Hat, Inc. QEMU [31m PCIe Root port');
  });
});

describe('malformed lspci text', () => {
  it('a truncated row', () => {
    expect(problem(withLine(5, '30: 00 00 00 00 00 00 00'))).toBe(
      'line 5 (0000:00:00.0): row 0x30 has 7 bytes, not 16: the dump is truncated',
    );
  });

  it('missing and repeated rows', () => {
    expect(problem(withLine(5, null))).toBe(
      'line 5 (0000:00:00.0): row 0x40 follows row 0x20: rows 0x30-0x3f are missing',
    );
    expect(problem(withLine(5, lines[3]))).toBe(
      'line 5 (0000:00:00.0): row 0x20 again, or out of order (expected 0x30)',
    );
  });

  it('a dump that stops in the middle', () => {
    const cut = lines.slice(0, 10).join('\n');
    expect(problem(cut)).toBe('line 1 (0000:00:00.0): 144 bytes of config space; expected 256 or 4096');
  });

  it('lspci -x: only 64 bytes', () => {
    const x = lines.filter((l) => !/^[0-9a-f]{2,3}: /.test(l) || /^[0-3]0: /.test(l)).join('\n');
    expect(problem(x)).toMatch(/^line 1 \(0000:00:00.0\): only the first 64 bytes .*sudo lspci -D -xxxx/);
  });

  it('lines that are neither headers nor rows, rows without a header, headers without rows', () => {
    expect(problem(withLine(3, 'lspci: Unable to load libkmod resources'))).toMatch(
      /^line 3 \(0000:00:00.0\): neither a function header/,
    );
    expect(problem(`00: 86 80\n${text}`)).toBe('line 1: a hex row before any function header');
    expect(problem(`0000:00:01.0 Host bridge: nothing\n\n${text}`)).toBe(
      'line 1 (0000:00:01.0): no config space rows follow: dump with sudo lspci -D -xxxx',
    );
    expect(problem('')).toBe(': no PCI functions found: expected the output of lspci -D -xxxx');
  });

  it('functions listed twice, device numbers and domains out of range', () => {
    expect(problem(`${text}\n${lines.slice(0, 17).join('\n')}`)).toBe(
      'line 2137: 0000:00:00.0 is listed twice (first at line 1)',
    );
    expect(problem(withLine(1, '0000:00:20.0 Host bridge: x'))).toBe('line 1: device number 20 is beyond 1f');
    expect(problem(withLine(1, '10000:00:00.0 Host bridge: x'))).toBe(
      'line 1: PCI domain 10000 is beyond 0xffff (VMD domains are not modelled)',
    );
  });

  it('decoding errors name the line of the row holding the offset', () => {
    const functions = parseLspci(text, 'l.txt');
    const rp = functions.find((f) => f.bdf === '0000:00:06.0')!;
    const bytes = rp.bytes.slice();
    bytes[0x41] = 0x54; // the list is 0x54 (PCIe) -> 0x48 (MSI-X) -> 0x40 (SSVID): back to the start
    const bad = renderLspci(functions.map((f) => (f === rp ? { ...f, bytes } : f)));
    const rowLine = parseLspci(bad, 'l.txt').find((f) => f.bdf === rp.bdf)!.rowLines[4];
    expect(rowLine).toBe(rp.line + 5);
    expect(problem(bad)).toBe(
      `line ${rowLine} (0000:00:06.0 offset 0x41): next capability pointer 0x54 leads back to a capability already listed: the list cycles`,
    );
  });

  it('topology errors name the function', () => {
    // 05:00.0 moved to 06:00.0: no bridge leads to bus 06, and it is not the root bus either.
    const moved = text.replace(/^0000:05:00.0 /m, '0000:06:00.0 ');
    expect(problem(moved)).toBe(
      'line 1879 (0000:06:00.0): bus 0x06 is not behind any bridge and is not the root bus 0x00: a segment with several host bridges (root buses) is not modelled',
    );
    // 03:00.0 moved to 03:01.0: below a downstream port only device 00 is scanned.
    expect(problem(text.replace(/^0000:03:00.0 /m, '0000:03:01.0 '))).toBe(
      'line 1363 (0000:03:01.0): below 0000:02:00.0 (a PCIe downstream port) only device 00 is scanned',
    );
  });
});
