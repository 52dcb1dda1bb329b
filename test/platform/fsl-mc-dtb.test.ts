// SPDX-License-Identifier: GPL-2.0-only
// fsl-mc on a real device tree: the blob gives the fsl-mc bus node and its
// iommu-map, the platform file the DPRC containers and objects with their
// ICIDs (what the MC firmware reports on the running board: restool,
// ls-listni). Rules from the 6.12 source: fsl_mc_dma_configure() maps the
// object's ICID through the fsl-mc node's iommu-map (of_map_id()), the
// arm-smmu stream map shares an SMR between equal stream IDs, and
// fsl_mc_device_group() puts an object in its container's group.
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootByName } from '../../src/api.js';
import { buildFdt } from '../support/fdt-build.js';
import { gic, node, root, spis } from '../support/dt.js';

const fixtures = fileURLToPath(new URL('../../../shared/fixtures/dtb/', import.meta.url));

/** dprc.1 (ICID 0x17) with dpni.0, and dprc.2 (ICID 0x18) inside it with dpni.1. */
const objects = (root: string) => [
  { name: 'dprc.1', bus: 'fsl-mc', parent: root, icid: 0x17, container: true, driver: 'fsl_mc_dprc' },
  { name: 'dpni.0', bus: 'fsl-mc', parent: 'dprc.1', icid: 0x17, driver: 'fsl_dpaa2_eth' },
  { name: 'dprc.2', bus: 'fsl-mc', parent: 'dprc.1', icid: 0x18, container: true, driver: 'fsl_mc_dprc' },
  { name: 'dpni.1', bus: 'fsl-mc', parent: 'dprc.2', icid: 0x18, driver: 'fsl_dpaa2_eth' },
];
const drivers = [
  { name: 'fsl_mc_dprc', bus: 'fsl-mc' },
  { name: 'fsl_dpaa2_eth', bus: 'fsl-mc' },
];

function boardWith(dtb: Uint8Array | string, root: string) {
  const dir = scratchDir('iommu-lab-fslmc-');
  if (typeof dtb === 'string') copyFileSync(dtb, join(dir, 'board.dtb'));
  else writeFileSync(join(dir, 'board.dtb'), dtb);
  writeFileSync(
    join(dir, 'board.json'),
    JSON.stringify({ name: 'fsl-mc board', dtb: 'board.dtb', devices: objects(root), drivers }),
  );
  return bootByName(join(dir, 'board.json'), { profile: 'v6.12' });
}

/** An LS1088A-like tree after U-Boot's fix-up: ICIDs 0x17-0x3f map to the MMU-500 one to one. */
const fixedUp = root([
  gic(),
  node('iommu@5000000', {
    compatible: ['arm,mmu-500'],
    reg: [0, 0x5000000, 0, 0x800000],
    '#iommu-cells': 1,
    'stream-match-mask': 0x7c00,
    '#global-interrupts': 1,
    interrupts: spis(3),
    phandle: 2,
  }),
  node('fsl-mc@80c000000', {
    compatible: 'fsl,qoriq-mc',
    reg: [0x8, 0x0c000000, 0, 0x40, 0, 0x08340000, 0, 0x40000],
    'iommu-map': [0x17, 2, 0x17, 0x29],
  }),
]);

describe('fsl-mc objects on a device tree', () => {
  it("a fixed-up map: each object's ICID is its stream ID (with the SMMU's stream-match-mask); a container's objects share its group", () => {
    const r = boardWith(buildFdt(fixedUp), '80c000000.fsl-mc');
    const d = new Map(r.devices.map((x) => [x.name, x]));
    expect(d.get('80c000000.fsl-mc')?.bus).toBe('platform');
    for (const [name, icid] of [
      ['dprc.1', 0x17],
      ['dpni.0', 0x17],
      ['dprc.2', 0x18],
      ['dpni.1', 0x18],
    ] as const) {
      expect(d.get(name)?.iommu, name).toBe('smmu.0x0000000005000000');
      expect(d.get(name)?.fwspec?.ids, name).toEqual([(0x7c00 << 16) | icid]);
    }
    const groups = r.groups.map((g) => [...g.devices].sort());
    expect(groups).toEqual([
      ['dpni.0', 'dprc.1'],
      ['dpni.1', 'dprc.2'],
    ]);
  });

  it("the LS1088A-RDB blob as Debian ships it: the map's length is 0 until U-Boot fills it, so every object bypasses", () => {
    const r = boardWith(fixtures + 'arm64-6.12-fsl-ls1088a-rdb.dtb', '80c000000.fsl-mc');
    expect(r.iommus.map((i) => i.name)).toEqual(['smmu.0x0000000005000000']);
    for (const name of ['dprc.1', 'dpni.0', 'dprc.2', 'dpni.1']) {
      const dev = r.devices.find((x) => x.name === name)!;
      expect(dev.driver, name).not.toBeNull();
      expect(dev.iommu, name).toBeNull();
    }
    expect(r.log.some((l) => l.includes('no iommu-map translation for id 0x17'))).toBe(true);
  });

  it('an object whose parent is not a device of the tree is an input error naming it', () => {
    expect(() => boardWith(buildFdt(fixedUp), 'fsl-mc@nowhere')).toThrow(
      /devices\[\d+\]\.parent: no device fsl-mc@nowhere/,
    );
  });
});
