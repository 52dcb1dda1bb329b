// SPDX-License-Identifier: GPL-2.0-only
/**
 * The /sys/bus/pci/devices importer against the lspci one: a folder built
 * from each groundtruth lspci.txt's bytes (one SSSS:BB:DD.F entry per
 * function with its binary `config`) imports to the same topology, labels
 * aside (sysfs has no names). And what a wrong folder gives.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importLspci, parseLspci } from '../../../src/pci/import/lspci.js';
import { importSysfsPciDir } from '../../../src/pci/import/sysfs.js';
import { lspciPath, lspciText, scenarios } from './helpers.js';
import { inputError } from '../../support/input-error.js';

const tmp = mkdtempSync(join(tmpdir(), 'iommu-lab-sysfs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function sysfsDir(entries: Record<string, Uint8Array | null>): string {
  const dir = join(tmp, `d${n++}`);
  mkdirSync(dir);
  for (const [name, bytes] of Object.entries(entries)) {
    mkdirSync(join(dir, name));
    if (bytes) writeFileSync(join(dir, name, 'config'), bytes);
  }
  return dir;
}

const withoutLabels = <T extends { functions: { label?: string }[] }>(topos: T[]) =>
  topos.map((t) => ({ ...t, functions: t.functions.map(({ label: _label, ...f }) => f) }));

describe.each(scenarios)('%s as a sysfs folder', (scenario) => {
  const functions = parseLspci(lspciText(scenario), lspciPath(scenario));
  const dir = sysfsDir(Object.fromEntries(functions.map((f) => [f.bdf, f.bytes])));

  it('imports to what the lspci text imports to, labels aside', () => {
    expect(importSysfsPciDir(dir)).toEqual(withoutLabels(importLspci(lspciText(scenario), 'lspci.txt')));
    expect(importSysfsPciDir(dir, { acsControl: 'observed' })).toEqual(
      withoutLabels(importLspci(lspciText(scenario), 'lspci.txt', { acsControl: 'observed' })),
    );
  });
});

describe('sysfs folders', () => {
  const [host, rootPort] = parseLspci(lspciText('x86-q35-vtd-switch'), 'lspci.txt').filter((f) =>
    ['0000:00:00.0', '0000:00:06.0'].includes(f.bdf),
  );

  it('follows the links /sys/bus/pci/devices has, and skips dot files', () => {
    const real = sysfsDir({ 'devices-0000:00:00.0': host.bytes });
    const dir = sysfsDir({});
    symlinkSync(join(real, 'devices-0000:00:00.0'), join(dir, '0000:00:00.0'));
    writeFileSync(join(dir, '.DS_Store'), 'x');
    const [topo] = importSysfsPciDir(dir);
    expect(topo.functions.map((f) => f.bdf)).toEqual(['00:00.0']);
  });

  it('a 64-byte config (read without root) is refused with the reason', () => {
    const dir = sysfsDir({ '0000:00:00.0': host.bytes.subarray(0, 64) });
    const e = inputError(() => importSysfsPciDir(dir));
    expect(e.file).toBe(join(dir, '0000:00:00.0', 'config'));
    expect(e.where).toBe('0000:00:00.0');
    expect(e.problem).toMatch(/only the first 64 bytes .* as root/);
  });

  it('a bad offset names the config file, the function and the offset', () => {
    const bytes = rootPort.bytes.slice();
    bytes[0x34] = 0x20; // into the header
    const dir = sysfsDir({ '0000:00:00.0': host.bytes, '0000:00:06.0': bytes });
    const e = inputError(() => importSysfsPciDir(dir));
    expect(e.message).toBe(
      `${join(dir, '0000:00:06.0', 'config')}: 0000:00:06.0 offset 0x34: PCI_CAPABILITY_LIST 0x20 points into the header (capabilities start at 0x40)`,
    );
  });

  it('entries that are not functions, missing config files, missing folders', () => {
    const odd = sysfsDir({ '0000:00:00.0': host.bytes, 'pci0000:00': host.bytes });
    expect(inputError(() => importSysfsPciDir(odd)).file).toBe(join(odd, 'pci0000:00'));
    const missing = sysfsDir({ '0000:00:00.0': null });
    expect(inputError(() => importSysfsPciDir(missing)).problem).toMatch(/cannot read .*ENOENT/);
    expect(inputError(() => importSysfsPciDir(join(tmp, 'nope'))).problem).toMatch(/cannot list .*ENOENT/);
    expect(inputError(() => importSysfsPciDir(sysfsDir({}))).problem).toMatch(/no SSSS:BB:DD.F entries/);
    const vmd = sysfsDir({ '0000:00:00.0': host.bytes, '10000:e0:00.0': host.bytes });
    expect(inputError(() => importSysfsPciDir(vmd)).problem).toMatch(/domain 10000 is beyond 0xffff/);
    const big = sysfsDir({ '0000:00:00.0': new Uint8Array(8192) });
    expect(inputError(() => importSysfsPciDir(big)).problem).toMatch(/8192 bytes/);
  });
});
