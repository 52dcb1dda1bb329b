// SPDX-License-Identifier: GPL-2.0-only
// Every x86 machine in shared/groundtruth booted from its own firmware
// (DMAR.dat, IVRS.dat or VIOT.dat, as the guest read them) and its real
// `lspci -D -xxxx` dump, with the kernel command line and the drivers it
// booted with: the same groups (ids, members, type, reserved regions), the
// same IOMMU per device and the same bound drivers as Linux 6.12.117 printed.
// The guests ran under QEMU TCG: a hypervisor.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectGroundTruth, parseExpected, virtioIommuModule } from '../support/groundtruth.js';
import { boot, loadInputs } from '../../src/api.js';
import { parsePlatform } from '../../src/platform/load.js';

const root = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));

const tables = ['DMAR.dat', 'IVRS.dat', 'VIOT.dat'];
const scenarios = readdirSync(root).filter(
  (d) => d.startsWith('x86-') && tables.some((t) => existsSync(join(root, d, t))),
);

/**
 * The drivers of the Debian guests: built in, pcieport, virtio-pci and agpgart-intel (which
 * declines q35's host bridge after dma_configure); then, as the init script inserted them,
 * virtio-iommu, e1000e and e1000.
 */
const q35Drivers = [
  { name: 'pcieport', bus: 'pci', load: 'builtin' },
  { name: 'virtio-pci', bus: 'pci', load: 'builtin' },
  {
    name: 'agpgart-intel',
    bus: 'pci',
    load: 'builtin',
    ids: [{ vendor: '8086', device: '29c0' }],
    probe: '-ENODEV',
  },
  virtioIommuModule('0xfee00000', '0xfeefffff'),
  { name: 'e1000e', bus: 'pci', load: 'module', ids: [{ vendor: '8086', device: '10d3' }] },
  { name: 'e1000', bus: 'pci', load: 'module', ids: [{ vendor: '8086', device: '100e' }] },
];

describe('x86 groundtruth, booted from firmware files and lspci dumps', () => {
  it('covers every x86 machine: DMAR, IVRS and VIOT', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(7);
  });

  for (const name of scenarios) {
    it(`${name} gives what Linux 6.12 gave`, () => {
      const dir = join(root, name);
      const want = parseExpected(join(dir, 'expected.txt'));
      const table = join(
        dir,
        tables.find((t) => existsSync(join(dir, t)))!,
      );
      const { desc, file, firmware } = loadInputs([table, join(dir, 'lspci.txt')], { hypervisor: true });
      // Only these drivers: no stock ones (bind).
      const platform = parsePlatform(
        { ...JSON.parse(JSON.stringify(desc)), bind: undefined, drivers: q35Drivers },
        file,
      );
      const r = boot(platform, { profile: 'v6.12', cmdline: want.cmdline, file, firmware });
      expectGroundTruth(r, want);
      expect(r.leaks).toEqual([]);
      expect(r.warnings).toEqual([]);
    });
  }
});
