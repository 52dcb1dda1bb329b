// SPDX-License-Identifier: GPL-2.0-only
// The built-in x86-q35-vtd-switch platform against what real Linux 6.12.117
// printed for the same QEMU machine (shared/groundtruth): every group with its
// number, type, members and reserved regions, every device's IOMMU link and
// bound driver. The platform's firmware and PCI topology are transcribed from
// that folder's DMAR.dat and lspci.txt.
import { describe, expect, it } from 'vitest';
import { parseExpected } from '../support/groundtruth.js';
import { boot, bootByName, loadInputs } from '../../src/api.js';

describe('x86-q35-vtd-switch matches real Linux 6.12', () => {
  const want = parseExpected(
    new URL('../../../shared/groundtruth/x86-q35-vtd-switch/expected.txt', import.meta.url).pathname,
  );
  const got = bootByName('x86-q35-vtd-switch', { profile: 'v6.12' });

  it('has the same groups, numbered the same, with the same types and reserved regions', () => {
    expect(want.groups.size).toBe(5);
    const mine = new Map(
      got.groups.map((g) => [
        g.id,
        {
          type: g.type,
          devices: [...g.devices].sort(),
          resv: g.reservedRegions.map((r) => `${r.start} ${r.end} ${r.type}`),
        },
      ]),
    );
    expect(mine).toEqual(
      new Map([...want.groups].map(([id, g]) => [id, { ...g, devices: [...g.devices].sort() }])),
    );
  });

  it('links every device to the IOMMU real Linux did', () => {
    const mine = new Map(got.devices.filter((d) => d.iommu).map((d) => [d.name, d.iommu!]));
    expect(mine).toEqual(want.iommuOf);
  });

  it('binds the drivers real Linux bound', () => {
    const mine = new Map(got.devices.filter((d) => d.bus === 'pci').map((d) => [d.name, d.driver]));
    expect(mine).toEqual(want.driver);
  });

  it('and the same holds under every later profile, which changed nothing on this machine', () => {
    for (const p of ['v6.15', 'v6.18'] as const) {
      const r = bootByName('x86-q35-vtd-switch', { profile: p });
      expect(r.groups.map((g) => [g.id, g.type, g.devices])).toEqual(
        got.groups.map((g) => [g.id, g.type, g.devices]),
      );
    }
  });

  it('intel_iommu=off leaves no groups, as in x86-q35-vtd-switch-off', () => {
    const off = bootByName('x86-q35-vtd-switch', { profile: 'v6.12', cmdline: 'intel_iommu=off' });
    expect(off.groups).toEqual([]);
    expect(off.iommus).toEqual([]);
    expect(off.log).toContain('DMAR: IOMMU disabled');
  });

  it('iommu.passthrough=1 makes every group identity; iommu.strict=1 makes them DMA', () => {
    const pt = bootByName('x86-q35-vtd-switch', { profile: 'v6.12', cmdline: 'iommu.passthrough=1' });
    expect(new Set(pt.groups.map((g) => g.type))).toEqual(new Set(['identity']));
    const strict = bootByName('x86-q35-vtd-switch', { profile: 'v6.12', cmdline: 'iommu.strict=1' });
    expect(new Set(strict.groups.map((g) => g.type))).toEqual(new Set(['DMA']));
  });
});

describe('ACS request timing as an input', () => {
  it('requesting ACS only after enumeration joins the ACS root port with its endpoint, as a device tree does', () => {
    const early = bootByName('x86-q35-vtd-switch', { profile: 'v6.12' });
    const { desc, file, firmware } = loadInputs(['x86-q35-vtd-switch'], { acsRequest: 'after-enumeration' });
    const late = boot(desc, { profile: 'v6.12', file, firmware });
    expect(early.groups.find((g) => g.devices.includes('0000:05:00.0'))!.devices).toEqual(['0000:05:00.0']);
    expect(late.groups.find((g) => g.devices.includes('0000:05:00.0'))!.devices).toEqual([
      '0000:00:06.0',
      '0000:05:00.0',
    ]);
  });
});
