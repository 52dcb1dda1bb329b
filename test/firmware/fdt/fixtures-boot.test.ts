// SPDX-License-Identifier: GPL-2.0-only
// Every device tree in shared/fixtures booted whole, as `iommu-lab boot
// FILE.dtb` does, under old, current and new kernels: no exception, no leak
// that is not a known kernel bug, no broken invariant, and the IOMMU
// instances the blob describes (each available IOMMU node whose driver the
// Debian config builds registers one). Plus the SMMUv3 trees the driver
// tests do not cover: HiSilicon D05's four SEC engines and the FVP's PCIe
// iommu-map (stream ID = requester ID).
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bootInputs } from '../../../src/api.js';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/dtb/', import.meta.url));
const lspci = fileURLToPath(
  new URL('../../../../shared/groundtruth/arm64-virt-smmuv3-dt-bridge/lspci.txt', import.meta.url),
);
const blobs = readdirSync(fixtures).filter((f) => /\.dtb(\.gz)?$/.test(f));

describe('every fixture device tree boots cleanly', () => {
  it('covers all seventeen blobs', () => {
    expect(blobs.length).toBe(17);
  });

  for (const profile of ['v6.4', 'v6.12', 'v6.18'] as const) {
    it(`under ${profile}: no leak or broken invariant beyond known kernel bugs`, () => {
      for (const f of blobs) {
        const r = bootInputs([fixtures + f], { profile });
        expect(
          r.leaks.filter((l) => !l.knownBug),
          `${f} leaks`,
        ).toEqual([]);
        expect(
          r.invariantViolations.filter((v) => !v.knownBug),
          `${f} invariants`,
        ).toEqual([]);
        // Every registered instance has a driver and, with the generic bindings, a node.
        for (const i of r.iommus) expect(i.driver, `${f} ${i.name}`).not.toBe('?');
      }
    });
  }
});

describe('SMMUv3 device trees', () => {
  it('HiSilicon D05: four SEC engines, each alone behind its own SMMUv3 as stream 0x600', () => {
    const r = bootInputs([fixtures + 'arm64-6.12-hip07-d05.dtb'], { profile: 'v6.12' });
    const sec = r.devices.filter((d) => d.name.endsWith('.crypto'));
    expect(sec.map((d) => [d.name, d.iommu, d.fwspec?.ids])).toEqual([
      ['400d0000000.crypto', 'smmu3.0x00000400d0040000', [0x600]],
      ['408d0000000.crypto', 'smmu3.0x00000408d0040000', [0x600]],
      ['8d0000000.crypto', 'smmu3.0x00000008d0040000', [0x600]],
      ['d0000000.crypto', 'smmu3.0x00000000d0040000', [0x600]],
    ]);
    // One stream ID on four SMMUs is four stream tables: no refusal, four groups.
    expect(new Set(sec.map((d) => d.group)).size).toBe(4);
  });

  it('Arm FVP: the identity iommu-map gives every PCI function its requester ID as stream ID', () => {
    const r = bootInputs([fixtures + 'arm64-6.12-fvp-base-revc.dtb', lspci], { profile: 'v6.12' });
    const rid = (bdf: string) => {
      const [bus, dev, fn] = bdf
        .slice(5)
        .split(/[:.]/)
        .map((x) => parseInt(x, 16));
      return (bus << 8) | (dev << 3) | fn;
    };
    const pci = r.devices.filter((d) => d.bus === 'pci' && d.iommu);
    expect(pci.length).toBeGreaterThan(0);
    for (const d of pci) {
      expect(d.iommu).toBe('smmu3.0x000000002b400000');
      // Functions behind the conventional bridge carry the bridge's ID and are refused as aliases.
      expect(d.fwspec?.ids, d.name).toEqual([rid(d.name)]);
    }
  });
});
