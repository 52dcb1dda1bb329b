// SPDX-License-Identifier: GPL-2.0-only
// The arm64 ACPI machines with an SMMUv3 in shared/groundtruth booted from
// their own IORT (as the guest read it) and `lspci -D -xxxx` dump, with the
// kernel command line and the drivers the Debian guest had: the same groups
// (ids, members, type, reserved regions), the same IOMMU per device and the
// same bound drivers as Linux 6.12.117 printed. What the IORT decides here:
// the SMMUv3 platform device and its instance name, ACS requested before
// enumeration (a root complex maps into an SMMU), and each RID's stream ID.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boot, loadInputs } from '../../src/api.js';
import { parsePlatform } from '../../src/platform/load.js';
import { expectGroundTruth, parseExpected } from '../support/groundtruth.js';

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
      const { desc, file, firmware } = loadInputs([join(dir, 'IORT.dat'), join(dir, 'lspci.txt')], {});
      expect(desc.arch).toBe('arm64');
      const platform = parsePlatform({ ...JSON.parse(JSON.stringify(desc)), drivers: armDrivers }, file);
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
    { name: 'pcieport', bus: 'pci', load: 'builtin' },
    { name: 'shpchp', bus: 'pci', load: 'builtin', ids: [{ vendor: '1b36', device: '0001' }] },
    { name: 'virtio-pci', bus: 'pci', load: 'builtin' },
    {
      name: 'virtio_iommu',
      bus: 'virtio',
      load: 'module',
      probeResv: [{ start: '0x8020000', end: '0x8020fff', type: 'msi' }],
    },
    ...armDrivers.filter((d) => d.load === 'module'),
  ];

  it.skipIf(!existsSync(dir))(
    `${name} gives what Linux 6.12 gave: functions behind the conventional bridge get no group`,
    () => {
      const want = parseExpected(join(dir, 'expected.txt'));
      const { desc, file, firmware } = loadInputs(
        [join(dir, 'IORT.dat'), join(dir, 'VIOT.dat'), join(dir, 'lspci.txt')],
        {},
      );
      const platform = parsePlatform({ ...JSON.parse(JSON.stringify(desc)), drivers }, file);
      const r = boot(platform, { profile: 'v6.12', cmdline: want.cmdline, file, firmware });
      expectGroundTruth(r, want);
      // No SMMU in this IORT: no SMMU platform device, no arm-smmu-v3 driver.
      expect(r.devices.some((d) => d.name.startsWith('arm-smmu'))).toBe(false);
      expect(r.leaks).toEqual([]);
      expect(r.warnings).toEqual([]);
    },
  );
});

describe('fail-nth over an IORT boot', () => {
  it.each(['v6.12', 'v6.15'] as const)(
    '%s: every allocation failed in turn leaves no leak and no invariant broken',
    (profile) => {
      const dir = join(root, 'arm64-virt-smmuv3-acpi-switch');
      if (!existsSync(dir)) return;
      const { desc, file, firmware } = loadInputs([join(dir, 'IORT.dat'), join(dir, 'lspci.txt')], {});
      const platform = parsePlatform({ ...JSON.parse(JSON.stringify(desc)), drivers: armDrivers }, file);
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
