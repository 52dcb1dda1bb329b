// SPDX-License-Identifier: GPL-2.0-only
// Real DTBs unflattened into the OF model, then read by the kernel's OF
// helpers as of_iommu_configure() would: `iommus` through
// of_parse_phandle_with_args() with the target's #iommu-cells, and PCI RIDs
// through `iommu-map`/`iommu-map-mask` with of_map_id(). Expected values
// come from the dtc output of each blob (quoted next to each case).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseFdt } from '../../../src/firmware/fdt/fdt-parse.js';
import { fdtToOfNodes } from '../../../src/firmware/fdt/fdt-to-of.js';
import { allNodes, nodePhandle, propStrings } from '../../../src/firmware/fdt/fdt.js';
import {
  of_map_id,
  of_parse_phandle_with_args,
  of_device_is_available,
} from '../../../src/firmware/of/of-base.js';
import { Kernel } from '../../../src/kernel/kernel.js';
import { profiles } from '../../../src/profile/profiles.js';
import type { Fwnode } from '../../../src/base/fwnode.js';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/dtb/', import.meta.url));

function load(file: string) {
  const fdt = parseFdt(readFileSync(fixtures + file), file);
  const k = new Kernel({ profile: profiles['v6.12'], arch: 'arm64' });
  const nodes = fdtToOfNodes(k, fdt);
  const find = (pred: (n: Fwnode) => boolean) => [...nodes.values()].filter(pred);
  return { fdt, k, nodes, find };
}
const hasMap = (n: Fwnode) => n.properties.has('iommu-map');
const mapTo = (k: Kernel, np: Fwnode, rid: number) => {
  const r = of_map_id(k, np, rid, 'iommu-map', 'iommu-map-mask');
  return typeof r === 'number' ? r : { target: r.target?.name ?? null, id: r.id_out };
};

describe('unflattened real trees', () => {
  it('keeps every node, property and phandle of the blob', () => {
    const { fdt, k, nodes } = load('arm64-6.12-sdm845-db845c.dtb');
    const all = [...allNodes(fdt)];
    expect(nodes.size).toBe(all.length);
    const withPh = all.filter((n) => nodePhandle(n));
    expect(k.base.ofPhandles.size).toBe(withPh.length);
    for (const n of withPh) expect(k.base.ofPhandles.get(nodePhandle(n))?.name).toBe(n.path);
    const props = all.reduce((s, n) => s + n.properties.length, 0);
    expect([...nodes.values()].reduce((s, n) => s + n.properties.size, 0)).toBe(props);
    // Strings stay strings (12-byte "arm,smmu-v3\0"-like values are not mistaken for cells).
    const root = nodes.get('/')!;
    expect(root.properties.get('compatible')).toBe(propStrings(fdt.root, 'compatible')!.join('\0'));
  });

  it('QEMU virt SMMUv3: iommu-map = <0x0 &smmu 0x0 0x10000>: RID r -> stream r on the SMMU', () => {
    const { k, find } = load('qemu-virt-smmuv3.dtb.gz');
    const [pcie] = find(hasMap);
    const [smmu] = find((n) => String(n.properties.get('compatible')).split('\0').includes('arm,smmu-v3'));
    expect(of_device_is_available(smmu)).toBe(true);
    for (const rid of [0, 0x8, 0x108, 0xffff])
      expect(mapTo(k, pcie, rid)).toEqual({ target: smmu.name, id: rid });
  });

  it('juno: iommu-map-mask = <0x00>, iommu-map = <0x00 &smmu 0x00 0x01>: every RID -> stream 0', () => {
    const { k, find } = load('arm64-6.12-juno-r1.dtb');
    const [pcie] = find(hasMap);
    const targets = new Set([0, 0x100, 0xffff].map((rid) => JSON.stringify(mapTo(k, pcie, rid))));
    expect(targets.size).toBe(1);
    expect(JSON.parse([...targets][0])).toMatchObject({ id: 0 });
  });

  it('armada-8040: three ranges under iommu-map-mask = <0x31f>', () => {
    const { k, find } = load('arm64-6.12-armada-8040-mcbin.dtb');
    const [pcie] = find(hasMap);
    // <0x00 &smmu 0x480 0x20 0x100 &smmu 0x4a0 0x20 0x200 &smmu 0x4c0 0x20>
    expect(mapTo(k, pcie, 0x0005)).toMatchObject({ id: 0x485 });
    expect(mapTo(k, pcie, 0x0105)).toMatchObject({ id: 0x4a5 });
    expect(mapTo(k, pcie, 0x02e1)).toMatchObject({ id: 0x4c1 }); // 0x2e1 & 0x31f = 0x201
    // The mask folds bus 4 onto bus 0 (0x400 & 0x31f = 0); 0x300 falls in no range: no IOMMU.
    expect(mapTo(k, pcie, 0x0400)).toMatchObject({ id: 0x480 });
    expect(mapTo(k, pcie, 0x0300)).toMatchObject({ target: null, id: 0x300 });
  });

  it('rk3399: iommus = <&iommu> with #iommu-cells = <0>; exynos: several sysmmus per master', () => {
    const rk = load('arm64-6.12-rk3399-rockpro64.dtb');
    const masters = rk.find((n) => n.properties.has('iommus'));
    expect(masters.length).toBeGreaterThan(3);
    for (const m of masters) {
      const s = of_parse_phandle_with_args(rk.k, m, 'iommus', '#iommu-cells', 0);
      expect(typeof s === 'number' ? s : s.args).toEqual([]);
    }
    const ex = load('arm64-6.12-exynos5433-tm2.dtb');
    const multi = ex.find((n) => {
      const v = n.properties.get('iommus');
      return Array.isArray(v) && v.length >= 2;
    });
    expect(multi.length).toBeGreaterThan(0);
    const second = of_parse_phandle_with_args(ex.k, multi[0], 'iommus', '#iommu-cells', 1);
    expect(typeof second === 'number' ? second : second.np.name).toMatch(/sysmmu/);
  });
});
