// SPDX-License-Identifier: GPL-2.0-only
// Intel VT-d's unit bookkeeping as dmar.c keeps it: names in table order,
// explicit units registered (and looked up) in reverse table order before
// INCLUDE_PCI_ALL units, units with no device in scope ignored.
import { describe, expect, it } from 'vitest';
import { boot } from '../../src/api.js';
import { parsePlatform } from '../../src/platform/load.js';

const pci = {
  root: 0,
  functions: [
    { bdf: '00:00.0', type: 'conventional', vendor: '8086', device: '29c0', class: '060000' },
    { bdf: '00:02.0', type: 'rc-endpoint', vendor: '8086', device: '3e9b', class: '030000' },
    { bdf: '00:14.0', type: 'rc-endpoint', vendor: '8086', device: 'a36d', class: '0c0330' },
  ],
};

function platform(drhds: unknown[]) {
  return parsePlatform(
    { name: 'intel-units', arch: 'x86_64', cmdline: 'intel_iommu=on', pci, dmar: { drhds } },
    't.json',
  );
}

describe('VT-d units', () => {
  it('register explicit units in reverse table order, INCLUDE_PCI_ALL last, named in table order', () => {
    const r = boot(
      platform([
        { base: '0xfed90000', scopes: [{ type: 'endpoint', bdf: '00:02.0' }] },
        { base: '0xfed91000', includePciAll: true },
        { base: '0xfed92000', scopes: [{ type: 'endpoint', bdf: '00:14.0' }] },
      ]),
    );
    expect(r.iommus.map((i) => i.name)).toEqual(['dmar2', 'dmar0', 'dmar1']);
    const of = Object.fromEntries(r.devices.map((d) => [d.name, d.iommu]));
    expect(of).toEqual({ '0000:00:00.0': 'dmar1', '0000:00:02.0': 'dmar0', '0000:00:14.0': 'dmar2' });
  });

  it('ignore a unit with no device in its scope: not registered, its devices nowhere', () => {
    const r = boot(
      platform([
        { base: '0xfed90000', scopes: [{ type: 'ioapic', id: 0 }] },
        { base: '0xfed91000', scopes: [{ type: 'endpoint', bdf: '00:14.0' }] },
      ]),
    );
    expect(r.iommus.map((i) => i.name)).toEqual(['dmar1']);
    expect(r.devices.filter((d) => d.iommu).map((d) => d.name)).toEqual(['0000:00:14.0']);
    expect(r.log).toContain('DMAR: dmar0: no device in its scope: ignored');
  });
});
