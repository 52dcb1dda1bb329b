// SPDX-License-Identifier: GPL-2.0-only
// Every machine in shared/groundtruth booted from its files alone, as
// `iommu-lab boot FILES…` does, with no driver list: the stock drivers the
// model picks (built-in pcieport, shpchp, virtio-pci, intel-agp; a module per
// function) stand in for the guest's. Told which functions the guest had a
// driver for (`bind`), every machine gives exactly what Linux 6.12 printed,
// driver names included. With the default (`all`: every module loaded) the
// Arm machines, whose groups form at driver bind, still match; on x86 the
// DMAR/IVRS machines keep their groups (probed at enumeration) and the VIOT
// machine gains a group for the ICH9 functions whose modules the guest
// never loaded.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootInputs, type BootResult } from '../../src/api.js';
import { expectGroundTruth, parseExpected, type GroundTruth } from '../support/groundtruth.js';

const root = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));
const inputsOrder = ['DMAR.dat', 'IVRS.dat', 'IORT.dat', 'VIOT.dat', 'system.dtb.gz', 'lspci.txt'];
const machines = existsSync(root)
  ? readdirSync(root).filter((d) => existsSync(join(root, d, 'expected.txt')))
  : [];

function run(name: string, bind: 'all' | string[]): { r: BootResult; want: GroundTruth } {
  const dir = join(root, name);
  const want = parseExpected(join(dir, 'expected.txt'));
  const inputs = inputsOrder.filter((f) => existsSync(join(dir, f))).map((f) => join(dir, f));
  const r = bootInputs(inputs, {
    profile: 'v6.12',
    cmdline: want.cmdline,
    hypervisor: name.startsWith('x86-'),
    bind,
  });
  return { r, want };
}

function boundIn(want: GroundTruth): string[] {
  return [...want.driver].filter(([, drv]) => drv !== null).map(([dev]) => dev);
}

describe('ground truth from the machine files alone, with stock drivers', () => {
  it('covers all twelve machines', () => {
    expect(machines.length).toBe(12);
  });

  for (const name of machines) {
    it(`${name}: binding what the guest bound gives exactly what Linux 6.12 gave`, () => {
      const want = parseExpected(join(root, name, 'expected.txt'));
      const { r } = run(name, boundIn(want));
      expectGroundTruth(r, want);
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
    });
  }

  for (const name of machines.filter((m) => m.startsWith('arm64-'))) {
    it(`${name}: the default --bind all gives the same groups and drivers`, () => {
      const { r, want } = run(name, 'all');
      expectGroundTruth(r, want);
    });
  }

  it('x86 DMAR/IVRS machines: binding changes no group (every function is probed at enumeration)', () => {
    for (const name of machines.filter((m) => m.startsWith('x86-') && !m.includes('virtio'))) {
      const listed = run(name, boundIn(parseExpected(join(root, name, 'expected.txt')))).r;
      const all = run(name, 'all').r;
      // The same partition, types and regions; only the default-domain user counts differ.
      const shape = (r: BootResult) =>
        r.groups.map((g) => ({ id: g.id, type: g.type, devices: g.devices, resv: g.reservedRegions }));
      expect(shape(all), name).toEqual(shape(listed));
      if (all.groups.length > 0)
        expect(all.groups.some((g, i) => g.owner.count > listed.groups[i].owner.count)).toBe(true);
      // The modules the guest did not load are bound here: the ICH9 SATA controller, say.
      expect(all.devices.find((d) => d.name === '0000:00:1f.2')?.driver, name).toBe('ahci');
    }
  });

  it('x86 VIOT machine: loading the ICH9 modules gives those functions the group the guest never formed', () => {
    const name = 'x86-q35-virtio-iommu-switch-strict';
    if (!machines.includes(name)) return;
    const { r, want } = run(name, 'all');
    const ich9 = r.groups.find((g) => g.devices.includes('0000:00:1f.2'));
    expect(ich9?.devices.sort()).toEqual(['0000:00:1f.0', '0000:00:1f.2', '0000:00:1f.3']);
    expect(r.groups.length).toBe(want.groups.size + 1);
    const text = readFileSync(join(root, name, 'expected.txt'), 'utf8');
    expect(text).toMatch(/^driver 0000:00:1f\.2 \(none\)$/m);
  });

  it('--bind none leaves only the built-in drivers: an Arm device-tree endpoint gets no group on v6.12', () => {
    const name = 'arm64-virt-smmuv3-dt-bridge';
    if (!machines.includes(name)) return;
    const dir = join(root, name);
    const r = bootInputs([join(dir, 'system.dtb.gz'), join(dir, 'lspci.txt')], {
      profile: 'v6.12',
      bind: 'none',
    });
    const drv = new Map(r.devices.map((d) => [d.name, d.driver]));
    expect(drv.get('0000:00:0a.0')).toBe('pcieport');
    expect(drv.get('0000:02:00.0')).toBeNull();
    expect(r.devices.find((d) => d.name === '0000:02:00.0')?.group).toBeNull();
    // v6.15 configures firmware at device_add: the endpoint has its group without a driver.
    const later = bootInputs([join(dir, 'system.dtb.gz'), join(dir, 'lspci.txt')], {
      profile: 'v6.18',
      bind: 'none',
    });
    expect(later.devices.find((d) => d.name === '0000:02:00.0')?.group).not.toBeNull();
  });

  it('a --bind list naming no device is an input error naming it', () => {
    const name = 'arm64-virt-smmuv3-dt-bridge';
    if (!machines.includes(name)) return;
    expect(() => run(name, ['0000:07:00.0'])).toThrow(/no device 0000:07:00\.0/);
  });
});
