// SPDX-License-Identifier: GPL-2.0-only
// Booted kernels for DMA tests, kept alive (not torn down) so tests can map
// and DMA: the hand-written DT machine with one SMMUv3 and platform masters,
// and the QEMU virt machine of shared/groundtruth with an SMMUv3 and PCIe
// functions (booted from its IORT and lspci dump).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootPlatform, type BootedPlatform } from '../../src/platform/boot.js';
import { loadPlatform } from '../../src/platform/load.js';
import { loadInputs } from '../../src/api.js';
import { parsePlatform } from '../../src/platform/load.js';
import type { Device } from '../../src/base/device.js';
import type { Kernel } from '../../src/kernel/kernel.js';

export const groundtruth = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));
export const smmuV3PciDir = join(groundtruth, 'arm64-virt-smmuv3-acpi-switch');
export const haveSmmuV3Pci = existsSync(smmuV3PciDir);

export interface Booted {
  readonly k: Kernel;
  readonly bp: BootedPlatform;
  dev(name: string): Device;
}

function wrap(bp: BootedPlatform): Booted {
  return {
    k: bp.k,
    bp,
    dev(name) {
      const d = [...bp.k.base.devices].find((x) => x.name === name);
      if (!d) throw new Error(`no device ${name}`);
      return d;
    },
  };
}

/** arm64-dt-smmuv3-mini: 10000000.ethernet (stream 0x10) and 10100000.usb (0x20) behind smmu3.0x0000000009050000. */
export function bootSmmuV3Mini(opts: { cmdline?: string; failNth?: number } = {}): Booted {
  const { desc, file } = loadPlatform('arm64-dt-smmuv3-mini');
  return wrap(bootPlatform(desc, { file, ...opts }));
}

/** The QEMU virt SMMUv3 machine with PCIe functions (0000:05:00.0 is alone in its group). */
export function bootSmmuV3Pci(opts: { cmdline?: string; failNth?: number } = {}): Booted {
  const { desc, file, firmware } = loadInputs(
    [join(smmuV3PciDir, 'IORT.dat'), join(smmuV3PciDir, 'lspci.txt')],
    {},
  );
  const drivers = [
    { name: 'pcieport', bus: 'pci', load: 'builtin' },
    { name: 'virtio-pci', bus: 'pci', load: 'builtin' },
    { name: 'e1000e', bus: 'pci', load: 'builtin', ids: [{ vendor: '8086', device: '10d3' }] },
  ];
  const platform = parsePlatform({ ...JSON.parse(JSON.stringify(desc)), bind: undefined, drivers }, file);
  return wrap(
    bootPlatform(platform, {
      file,
      firmware,
      profile: 'v6.12',
      cmdline: `acpi=force ${opts.cmdline ?? ''}`,
      failNth: opts.failNth,
    }),
  );
}
