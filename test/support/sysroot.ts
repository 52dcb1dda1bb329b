// SPDX-License-Identifier: GPL-2.0-only
// A copy of a machine's /sys and /proc files, as iommu-snapshot.sh reads
// them, rebuilt from a shared/groundtruth folder: its ACPI tables or device
// tree, each function's config space from its lspci -xxxx dump, each
// function's driver, iommu and iommu_group links, and the live
// /sys/kernel/iommu_groups (type, reserved_regions, devices) from
// expected.txt. Links are real symbolic links, pointing where sysfs's do.
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseLspci } from '../../src/pci/import/lspci.js';
import { parseExpected } from './groundtruth.js';

const put = (path: string, data: string | Uint8Array) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, data);
};
const link = (path: string, target: string) => {
  mkdirSync(join(path, '..'), { recursive: true });
  symlinkSync(target, path);
};

/** Builds the machine of groundtruth folder `gt` under `root`; returns its kernel release. */
export function groundTruthSysroot(gt: string, root: string): { release: string } {
  const want = parseExpected(join(gt, 'expected.txt'));
  const head = readFileSync(join(gt, 'expected.txt'), 'utf8').split('\n')[0];
  const release = /Linux (\S+)/.exec(head)![1];
  const x86 = release.endsWith('amd64');
  put(join(root, 'proc/sys/kernel/osrelease'), `${release}\n`);
  put(join(root, 'proc/sys/kernel/arch'), x86 ? 'x86_64\n' : 'aarch64\n');
  put(join(root, 'proc/cmdline'), `${want.cmdline}\n`);
  // QEMU sets the CPUID hypervisor bit on x86 (TCG too); arm64 guests have no such flag.
  put(
    join(root, 'proc/cpuinfo'),
    `processor\t: 0\nflags\t\t: fpu de pse tsc msr${x86 ? ' hypervisor' : ''}\n`,
  );
  for (const f of readdirSync(gt)) {
    const m = /^([A-Z]{4})\.dat$/.exec(f);
    if (m) put(join(root, 'sys/firmware/acpi/tables', m[1]), readFileSync(join(gt, f)));
  }
  if (readdirSync(gt).includes('system.dtb.gz'))
    put(join(root, 'sys/firmware/fdt'), gunzipSync(readFileSync(join(gt, 'system.dtb.gz'))));

  const pciDir = (bdf: string) => join(root, 'sys/devices/pci0000:00', bdf);
  const functions = parseLspci(readFileSync(join(gt, 'lspci.txt'), 'utf8'), 'lspci.txt');
  for (const f of functions) {
    const dir = pciDir(f.bdf);
    put(join(dir, 'config'), f.bytes);
    link(join(root, 'sys/bus/pci/devices', f.bdf), `../../../devices/pci0000:00/${f.bdf}`);
    const drv = want.driver.get(f.bdf);
    if (drv) link(join(dir, 'driver'), `../../../bus/pci/drivers/${drv}`);
  }
  // Every device with an iommu link (PCI functions, and platform devices where there are some).
  const pci = new Set(functions.map((f) => f.bdf));
  const devDir = (name: string) => (pci.has(name) ? pciDir(name) : join(root, 'sys/devices/platform', name));
  for (const [dev, iommu] of want.iommuOf) link(join(devDir(dev), 'iommu'), `../../virtual/iommu/${iommu}`);
  for (const [id, g] of want.groups) {
    const gdir = join(root, 'sys/kernel/iommu_groups', String(id));
    put(join(gdir, 'type'), `${g.type}\n`);
    put(join(gdir, 'reserved_regions'), g.resv.map((r) => `${r}\n`).join(''));
    mkdirSync(join(gdir, 'devices'), { recursive: true });
    for (const d of g.devices) {
      mkdirSync(devDir(d), { recursive: true });
      link(join(gdir, 'devices', d), devDir(d));
      link(join(devDir(d), 'iommu_group'), `../../../kernel/iommu_groups/${id}`);
    }
  }
  return { release };
}
