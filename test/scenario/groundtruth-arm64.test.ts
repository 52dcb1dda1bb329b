// SPDX-License-Identifier: GPL-2.0-only
// The arm64 machines in shared/groundtruth booted from their own firmware as
// the guest read it (IORT, IORT + VIOT, or the DTB) and their `lspci -D
// -xxxx` dump, with the kernel command line and the drivers the Debian guest
// had: the same groups (ids, members, type, reserved regions), the same
// IOMMU per device and the same bound drivers as Linux 6.12.117 printed.
// What the firmware decides here: the SMMUv3 platform device and its
// instance name, when ACS is requested (IORT/VIOT: before enumeration; DT:
// at the first bind, too late), each RID's stream or endpoint ID, and so
// which functions a duplicate stream or an unknown endpoint leaves out.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boot, loadInputs } from '../../src/api.js';
import { parsePlatform } from '../../src/platform/load.js';
import { expectGroundTruth, parseExpected, virtioIommuModule } from '../support/groundtruth.js';

const root = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));
const machines = existsSync(root)
  ? readdirSync(root).filter(
      (d) =>
        d.startsWith('arm64-') &&
        existsSync(join(root, d, 'IORT.dat')) &&
        !existsSync(join(root, d, 'VIOT.dat')),
    )
  : [];

/**
 * Debian arm64's drivers: arm-smmu-v3 built in (added by the boot itself for an IORT with an
 * SMMUv3), pcieport and virtio-pci built in; then, as the init script inserted them, e1000e and e1000.
 */
const armDrivers = [
  { name: 'pcieport', bus: 'pci', load: 'builtin' },
  { name: 'virtio-pci', bus: 'pci', load: 'builtin' },
  { name: 'e1000e', bus: 'pci', load: 'module', ids: [{ vendor: '8086', device: '10d3' }] },
  { name: 'e1000', bus: 'pci', load: 'module', ids: [{ vendor: '8086', device: '100e' }] },
];

/** Built in, for the machines with a QEMU pci-bridge (which has an SHPC): pcieport, shpchp, virtio-pci. */
const bridgeMachineBuiltins = [
  { name: 'pcieport', bus: 'pci', load: 'builtin' },
  { name: 'shpchp', bus: 'pci', load: 'builtin', ids: [{ vendor: '1b36', device: '0001' }] },
  { name: 'virtio-pci', bus: 'pci', load: 'builtin' },
];

/** The machine's inputs as a platform with these drivers (what `iommu-lab boot` builds, plus drivers). */
function machine(dir: string, inputs: string[], drivers: unknown[]) {
  const { desc, file, firmware } = loadInputs(
    inputs.map((i) => join(dir, i)),
    {},
  );
  // Only these drivers: no stock ones (bind).
  const platform = parsePlatform({ ...JSON.parse(JSON.stringify(desc)), bind: undefined, drivers }, file);
  return { desc, file, firmware, platform };
}

describe('arm64 ACPI groundtruth with SMMUv3, booted from IORT and lspci dumps', () => {
  it('covers both IORT + SMMUv3 machines', () => {
    expect(machines.sort()).toEqual([
      'arm64-virt-smmuv3-acpi-multifunction-lazy',
      'arm64-virt-smmuv3-acpi-switch',
    ]);
  });

  for (const name of machines) {
    it(`${name} gives what Linux 6.12 gave`, () => {
      const dir = join(root, name);
      const want = parseExpected(join(dir, 'expected.txt'));
      const { desc, file, firmware, platform } = machine(dir, ['IORT.dat', 'lspci.txt'], armDrivers);
      expect(desc.arch).toBe('arm64');
      const r = boot(platform, { profile: 'v6.12', cmdline: want.cmdline, file, firmware });
      expectGroundTruth(r, want);
      const smmu = r.devices.find((d) => d.name === 'arm-smmu-v3.0.auto');
      expect(smmu?.driver).toBe('arm-smmu-v3');
      expect(r.leaks).toEqual([]);
      expect(r.warnings).toEqual([]);
    });
  }
});

describe('arm64 ACPI with virtio-iommu (VIOT) and an IORT without SMMU', () => {
  const name = 'arm64-virt-virtio-iommu-acpi-bridge';
  const dir = join(root, name);
  // Debian's built-in pcieport, shpchp (the QEMU pci-bridge has an SHPC) and virtio-pci; the
  // virtio-iommu module reports the ITS doorbell page as its MSI region in PROBE replies.
  const drivers = [
    ...bridgeMachineBuiltins,
    virtioIommuModule('0x8020000', '0x8020fff'),
    ...armDrivers.filter((d) => d.load === 'module'),
  ];

  it.skipIf(!existsSync(dir))(
    `${name} gives what Linux 6.12 gave: functions behind the conventional bridge get no group`,
    () => {
      const want = parseExpected(join(dir, 'expected.txt'));
      const { file, firmware, platform } = machine(dir, ['IORT.dat', 'VIOT.dat', 'lspci.txt'], drivers);
      const r = boot(platform, { profile: 'v6.12', cmdline: want.cmdline, file, firmware });
      expectGroundTruth(r, want);
      // No SMMU in this IORT: no SMMU platform device, no arm-smmu-v3 driver.
      expect(r.devices.some((d) => d.name.startsWith('arm-smmu'))).toBe(false);
      expect(r.leaks).toEqual([]);
      expect(r.warnings).toEqual([]);
    },
  );
});

describe('arm64 device tree with SMMUv3 (booted from the DTB the guest ran with)', () => {
  const name = 'arm64-virt-smmuv3-dt-bridge';
  const dir = join(root, name);
  const drivers = [...bridgeMachineBuiltins, ...armDrivers.filter((d) => d.load === 'module')];

  it.skipIf(!existsSync(dir))(
    `${name} gives what Linux 6.12 gave: no ACS (requested at the first bind), functions behind the bridge refused for a duplicate stream`,
    () => {
      const want = parseExpected(join(dir, 'expected.txt'));
      const { desc, file, firmware, platform } = machine(dir, ['system.dtb.gz', 'lspci.txt'], drivers);
      expect(desc.arch).toBe('arm64');
      const r = boot(platform, { profile: 'v6.12', cmdline: want.cmdline, file, firmware });
      expectGroundTruth(r, want);
      expect(r.devices.find((d) => d.name === '9050000.smmuv3')?.driver).toBe('arm-smmu-v3');
      // The real log has these two (its e1000 line for 01:01.0 is missing; the model prints one).
      for (const dev of ['0000:01:02.0', '0000:01:03.0'])
        expect(r.log).toContain(`${dev}: stream 72 already in tree from dev 0000:00:09.0`);
      expect(r.leaks).toEqual([]);
    },
  );
});

describe('arm64 device tree with virtio-iommu (a PCI function named by a DT node)', () => {
  const name = 'arm64-virt-virtio-iommu-dt-multifunction-passthrough';
  const dir = join(root, name);
  const drivers = [
    { name: 'pcieport', bus: 'pci', load: 'builtin' },
    { name: 'virtio-pci', bus: 'pci', load: 'builtin' },
    virtioIommuModule('0x8020000', '0x8020fff'),
    ...armDrivers.filter((d) => d.load === 'module'),
  ];

  it.skipIf(!existsSync(dir))(
    `${name} gives what Linux 6.12 gave: clients wait for the module, identity domains`,
    () => {
      const want = parseExpected(join(dir, 'expected.txt'));
      const { file, firmware, platform } = machine(dir, ['system.dtb.gz', 'lspci.txt'], drivers);
      const r = boot(platform, { profile: 'v6.12', cmdline: want.cmdline, file, firmware });
      expectGroundTruth(r, want);
      // The virtio-iommu's own RID 0x8 is the hole in iommu-map.
      expect(r.log.some((l) => l.includes('no iommu-map translation for id 0x8'))).toBe(true);
      expect(r.leaks).toEqual([]);
      expect(r.warnings).toEqual([]);
    },
  );
});

describe('the same device-tree machine on later kernels: an aliased stream ID', () => {
  const dir = join(root, 'arm64-virt-smmuv3-dt-bridge');
  const drivers = [...bridgeMachineBuiltins, ...armDrivers.filter((d) => d.load === 'module')];

  it.skipIf(!existsSync(dir))(
    'v6.15: -EINVAL from the duplicate stream aborts the registration bus walk, so the SMMU never registers (the regression b00d24997a11 fixed)',
    () => {
      const { file, firmware, platform } = machine(dir, ['system.dtb.gz', 'lspci.txt'], drivers);
      const r = boot(platform, { profile: 'v6.15', file, firmware });
      expect(r.iommus).toEqual([]);
      expect(r.groups).toEqual([]);
      expect(r.log).toContain('9050000.smmuv3: probe with driver arm-smmu-v3 failed with error -22');
    },
  );

  it.skipIf(!existsSync(dir))(
    'v6.18: the aliasing functions get -ENODEV and a warning; the SMMU and everyone else carry on',
    () => {
      const { file, firmware, platform } = machine(dir, ['system.dtb.gz', 'lspci.txt'], drivers);
      const r = boot(platform, { profile: 'v6.18', file, firmware });
      expect(r.iommus.map((i) => i.name)).toEqual(['smmu3.0x0000000009050000']);
      const groupOf = new Map(r.devices.map((d) => [d.name, d.group]));
      for (const d of ['0000:01:01.0', '0000:01:02.0', '0000:01:03.0']) expect(groupOf.get(d)).toBeNull();
      expect(groupOf.get('0000:02:00.0')).toBe(groupOf.get('0000:00:0a.0'));
      expect(r.log.some((l) => l.includes('Aliasing StreamID 0x48 (from 0000:00:09.0) unsupported'))).toBe(
        true,
      );
    },
  );
});

describe('fail-nth over an IORT boot', () => {
  it.each(['v6.12', 'v6.15'] as const)(
    '%s: every allocation failed in turn leaves no leak and no invariant broken',
    (profile) => {
      const dir = join(root, 'arm64-virt-smmuv3-acpi-switch');
      if (!existsSync(dir)) return;
      const { file, firmware, platform } = machine(dir, ['IORT.dat', 'lspci.txt'], armDrivers);
      const base = boot(platform, { profile, file, firmware });
      expect(base.allocations).toBeGreaterThan(20);
      let injected = 0;
      for (let n = 1; n <= base.allocations; n++) {
        const r = boot(platform, { profile, file, firmware, failNth: n });
        if (r.failNth?.injected) injected++;
        expect(r.leaks.filter((l) => !l.knownBug)).toEqual([]);
        expect(r.invariantViolations.filter((v) => !v.knownBug)).toEqual([]);
      }
      expect(injected).toBe(base.allocations);
    },
  );
});
