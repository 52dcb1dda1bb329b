// SPDX-License-Identifier: GPL-2.0-only
// The MediaTek M4U driver (drivers/iommu/mtk_iommu.c, v6.12) with its SMI larb
// companions (drivers/memory/mtk-smi.c) on Debian's mt8195 demo board DTB:
// the three instances (infra, vpp, vdo), every master's instance, fwspec IDs,
// group and reserved regions, and what Debian's config (MTK_IOMMU=m), =n, =y,
// v6.15's probe path, malformed trees and allocation failures change.
//
// The expectations come from the kernel source, rule by rule:
//  - instance names: mtk_iommu_probe() registers "mtk-iommu.%pa" of the first
//    MMIO resource (0x + 16 hex digits);
//  - IDs: mtk_iommu_of_xlate() takes the one cell as is, MTK_M4U_ID(larb, port)
//    = larb << 5 | port (dt-bindings/memory/mtk-memory-port.h);
//  - groups: mtk_iommu_device_group() -> mtk_iommu_get_group_id() ->
//    mtk_iommu_get_iova_region_id(): the first region of mt8195_larb_region_msk
//    holding all the master's ports of its (first) larb: larb 0-3 -> region 0,
//    larb 19-24 -> region 1, larb 4-17 and 25-28 -> region 2, larb 18 ports 0/1
//    -> region 4, ports 2/3 -> region 5. The group array lives in the first data
//    of hw_list, and vdo and vpp (SHARE_PGTABLE) share m4ulist, so one group per
//    region holds the masters of both instances;
//  - reserved regions: mtk_iommu_get_resv_regions() reserves every region of
//    mt8192_multi_dom lying strictly inside the master's: only 8G~12G (region
//    2) holds some, CCU0 [0x2_4000_0000, +64M) and CCU1 [0x2_4400_0000, +64M);
//    the group's sysfs list merges the two adjacent ones
//    (iommu_insert_resv_region()).
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { failNthPoints } from '../support/fail-nth.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boot, bootInputs, loadInputs, type BootResult } from '../../src/api.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { teardown, leakReport, type Leak } from '../../src/checker/teardown.js';
import { checkInvariants } from '../../src/checker/invariants.js';
import { parseFdt } from '../../src/firmware/fdt/fdt-parse.js';
import { getProperty, type FdtNode } from '../../src/firmware/fdt/fdt.js';
import { buildFdt, type TreeSpec } from '../support/fdt-build.js';
import { MtkIommuDomain, mtkIommuData } from '../../src/drivers/mtk-iommu/mtk-iommu.js';
import { device_link_suppliers } from '../../src/drivers/mtk-iommu/device-link.js';
import { component_aggregate_bound } from '../../src/drivers/mtk-iommu/component.js';
import type { MtkSmiLarb } from '../../src/drivers/mtk-iommu/mtk-smi.js';
import type { ProfileName } from '../../src/profile/profile.js';
import { deviceNamed as dev } from '../support/boot-result.js';

const DTB = fileURLToPath(
  new URL('../../../shared/fixtures/dtb/arm64-6.12-mt8195-demo.dtb', import.meta.url),
);

const INFRA = 'mtk-iommu.0x0000000010315000';
const VPP = 'mtk-iommu.0x0000000014018000';
const VDO = 'mtk-iommu.0x000000001c01f000';
const NODE: Record<string, string> = {
  [INFRA]: '/soc/infra-iommu@10315000',
  [VPP]: '/soc/iommu@14018000',
  [VDO]: '/soc/iommu@1c01f000',
};
const PH = { vpp: 0x63, vdo: 0x75, infra: 0x4a, vdoSmiCommon: 0x74 }; // the fixture's phandles

/** MTK_M4U_ID(larb, port) */
const ID = (larb: number, port: number) => (larb << 5) | port;
const ports = (larb: number, ...p: number[]) => p.map((x) => ID(larb, x));

interface Master {
  readonly name: string;
  readonly node: string;
  readonly compatible: string;
  readonly iommu: string;
  readonly ids: number[];
  /** mt8195_larb_region_msk's region for the larb and ports. */
  readonly region: number;
}

/** A master: device name, DT node, compatible (after "mediatek,mt8195-"), instance, IDs, region. */
const M = (
  name: string,
  node: string,
  compat: string,
  iommu: string,
  ids: number[],
  region: number,
): Master => ({
  name,
  node,
  compatible: `mediatek,mt8195-${compat}`,
  iommu,
  ids,
  region,
});

/** Every device the boot populates with `iommus` on the fixture (their children: see below). */
const bootMasters: Master[] = [
  // larb 4 (vpp), larb 5 (vdo), larb 6 (vpp): region 2 (8G ~ 12G)
  M('14001000.dma-controller', '/soc/dma-controller@14001000', 'mdp3-rdma', VPP, [ID(4, 0)], 2),
  M('14009000.display', '/soc/display@14009000', 'mdp3-ovl', VPP, [ID(4, 2)], 2),
  M('1400c000.dma-controller', '/soc/dma-controller@1400c000', 'mdp3-wrot', VPP, [ID(4, 3)], 2),
  M('14f08000.dma-controller', '/soc/dma-controller@14f08000', 'mdp3-rdma', VDO, [ID(5, 0)], 2),
  M('14f09000.dma-controller', '/soc/dma-controller@14f09000', 'mdp3-rdma', VDO, [ID(5, 4)], 2),
  M('14f0a000.dma-controller', '/soc/dma-controller@14f0a000', 'mdp3-rdma', VPP, [ID(6, 0)], 2),
  M('14f1f000.display', '/soc/display@14f1f000', 'mdp3-ovl', VDO, [ID(5, 2)], 2),
  M('14f23000.dma-controller', '/soc/dma-controller@14f23000', 'mdp3-wrot', VDO, [ID(5, 3)], 2),
  M('14f24000.dma-controller', '/soc/dma-controller@14f24000', 'mdp3-wrot', VDO, [ID(5, 6)], 2),
  M('14f25000.dma-controller', '/soc/dma-controller@14f25000', 'mdp3-wrot', VPP, [ID(6, 2)], 2),
  // larb 19, 20, 21: region 1 (4G ~ 8G)
  M('18000000.video-codec', '/soc/video-codec@18000000', 'vcodec-dec', VDO, [ID(21, 0)], 1),
  M(
    '1a020000.video-codec',
    '/soc/video-codec@1a020000',
    'vcodec-enc',
    VDO,
    ports(19, 0, 1, 2, 3, 4, 22, 23, 24, 25),
    1,
  ),
  M('soc:jpgdec-master', '/soc/jpgdec-master', 'jpgdec', VDO, ports(19, 13, 14, 18, 19, 20, 21), 1),
  M('soc:jpgenc-master', '/soc/jpgenc-master', 'jpgenc', VPP, ports(20, 7, 8, 9, 12), 1),
  // larb 0, 2 (vdo), larb 3 (vpp): region 0 (0 ~ 4G)
  M('1c000000.ovl', '/soc/ovl@1c000000', 'disp-ovl', VDO, [ID(0, 2)], 0),
  M('1c002000.rdma', '/soc/rdma@1c002000', 'disp-rdma', VDO, [ID(0, 0)], 0),
  M('1c104000.dma-controller', '/soc/dma-controller@1c104000', 'vdo1-rdma', VDO, [ID(2, 0)], 0),
  M('1c105000.dma-controller', '/soc/dma-controller@1c105000', 'vdo1-rdma', VPP, [ID(3, 0)], 0),
  M('1c106000.dma-controller', '/soc/dma-controller@1c106000', 'vdo1-rdma', VDO, [ID(2, 1)], 0),
  M('1c107000.dma-controller', '/soc/dma-controller@1c107000', 'vdo1-rdma', VPP, [ID(3, 1)], 0),
  M('1c108000.dma-controller', '/soc/dma-controller@1c108000', 'vdo1-rdma', VDO, [ID(2, 2)], 0),
  M('1c109000.dma-controller', '/soc/dma-controller@1c109000', 'vdo1-rdma', VPP, [ID(3, 2)], 0),
  M('1c10a000.dma-controller', '/soc/dma-controller@1c10a000', 'vdo1-rdma', VDO, [ID(2, 3)], 0),
  M('1c10b000.dma-controller', '/soc/dma-controller@1c10b000', 'vdo1-rdma', VPP, [ID(3, 3)], 0),
  M('1c114000.hdr-engine', '/soc/hdr-engine@1c114000', 'disp-ethdr', VPP, ports(3, 4, 5), 0),
];

/**
 * Children of device nodes with `iommus`: the boot does not descend into them; their parent's
 * driver populates them (mtk_vcodec_dec's probe with is_subdev_supported, mtk_jpeg_probe()),
 * and so do the boot's stand-ins for those drivers. Full compatibles: the vcodec cores are not
 * "mediatek,mt8195-…".
 */
const child = (name: string, node: string, compatible: string, iommu: string, ids: number[]): Master => ({
  name,
  node,
  compatible,
  iommu,
  ids,
  region: 1,
});
const populatedChildren: Master[] = [
  child(
    '18002000.video-codec',
    '/soc/video-codec@18000000/video-codec@2000',
    'mediatek,mtk-vcodec-lat-soc',
    VPP,
    ports(23, 0, 1),
  ),
  child(
    '18010000.video-codec',
    '/soc/video-codec@18000000/video-codec@10000',
    'mediatek,mtk-vcodec-lat',
    VDO,
    ports(24, 0, 1, 2, 3, 4, 5),
  ),
  child(
    '18025000.video-codec',
    '/soc/video-codec@18000000/video-codec@25000',
    'mediatek,mtk-vcodec-core',
    VDO,
    ports(21, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
  ),
  child(
    '1a040000.jpgdec',
    '/soc/jpgdec-master/jpgdec@1a040000',
    'mediatek,mt8195-jpgdec-hw',
    VDO,
    ports(19, 13, 14, 18, 19, 20, 21),
  ),
  child(
    '1a050000.jpgdec',
    '/soc/jpgdec-master/jpgdec@1a050000',
    'mediatek,mt8195-jpgdec-hw',
    VDO,
    ports(19, 13, 14, 18, 19, 20, 21),
  ),
  child(
    '1b040000.jpgdec',
    '/soc/jpgdec-master/jpgdec@1b040000',
    'mediatek,mt8195-jpgdec-hw',
    VPP,
    ports(20, 13, 14, 18, 19, 20, 21),
  ),
  child(
    '1a030000.jpgenc',
    '/soc/jpgenc-master/jpgenc@1a030000',
    'mediatek,mt8195-jpgenc-hw',
    VDO,
    ports(19, 7, 8, 9, 12),
  ),
  child(
    '1b030000.jpgenc',
    '/soc/jpgenc-master/jpgenc@1b030000',
    'mediatek,mt8195-jpgenc-hw',
    VPP,
    ports(20, 7, 8, 9, 12),
  ),
];

/** Every master: the boot's, then the children their drivers populate. */
const masters: Master[] = [...bootMasters, ...populatedChildren];

const CCU0 = { start: '0x0000000240000000', end: '0x0000000243ffffff', type: 'reserved' };
const CCU1 = { start: '0x0000000244000000', end: '0x0000000247ffffff', type: 'reserved' };
const resvOf = (region: number) => (region === 2 ? [CCU0, CCU1] : []);
const groupResvOf = (region: number) =>
  region === 2 ? [{ start: '0x0000000240000000', end: '0x0000000247ffffff', type: 'reserved' }] : [];

// ---- the fixture as a tree, for coverage and for malformed variants

const fixture = parseFdt(readFileSync(DTB), DTB);

function* nodes(n: FdtNode): Generator<FdtNode> {
  yield n;
  for (const c of n.children) yield* nodes(c);
}

const cells = (...v: number[]) => {
  const b = new Uint8Array(v.length * 4);
  v.forEach((x, i) => new DataView(b.buffer).setUint32(i * 4, x >>> 0));
  return b;
};
const str = (s: string) => Uint8Array.from([...s].map((c) => c.charCodeAt(0)).concat(0));

type Edit = Record<string, Uint8Array | null>;

/** The fixture with properties set (or, for null, removed) per node path; written to a temporary file. */
function variant(edits: Record<string, Edit>): string {
  const toSpec = (n: FdtNode): TreeSpec => {
    const e = edits[n.path] ?? {};
    const props: [string, Uint8Array][] = n.properties
      .filter((p) => !(p.name in e))
      .map((p) => [p.name, p.value]);
    for (const [k, v] of Object.entries(e)) if (v) props.push([k, v]);
    return { name: n.name, props, children: n.children.map(toSpec) };
  };
  for (const path of Object.keys(edits))
    if (![...nodes(fixture.root)].some((n) => n.path === path)) throw new Error(`no node ${path}`);
  const blob = buildFdt(
    toSpec(fixture.root),
    fixture.memReserve.map((r) => [r.address, r.size]),
  );
  const file = join(scratchDir('mtk-iommu-'), 'mt8195-variant.dtb');
  writeFileSync(file, blob);
  return file;
}

function bootDtb(file: string, profile: ProfileName = 'v6.12', MTK_IOMMU: 'y' | 'm' | 'n' = 'm'): BootResult {
  return bootInputs([file], { profile, kconfig: { MTK_IOMMU } });
}

/**
 * What a boot leaves behind: mtk_iommu never frees the ARM v7s table the first
 * finalised domain of an M4U list allocated (mtk_iommu_domain_free() only
 * kfree()s the domain): its pages, and nothing else, outlive teardown.
 */
function expectSharedTableLeakOnly(leaks: readonly Leak[]): void {
  for (const l of leaks)
    expect(l).toEqual({
      type: 'io-pgtable table',
      origin: 'iommu_alloc_pages_node',
      owner: 'mtk-iommu paging',
      knownBug: 'mtk-iommu-pgtable-never-freed',
    });
}

/** The group partition as sorted lists of device names. */
const partition = (r: BootResult) =>
  r.groups.map((g) => [...g.devices].sort()).sort((a, b) => (a[0] < b[0] ? -1 : 1));
const expectedPartition = () =>
  [0, 1, 2]
    .map((rg) =>
      masters
        .filter((m) => m.region === rg)
        .map((m) => m.name)
        .sort(),
    )
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));

/** The table's masters as expected, and the groups: one per region, plus `others` (sorted names each). */
function expectMasters(r: BootResult, probedAt: (m: Master) => string, others: string[][] = []): void {
  for (const m of masters) {
    const d = dev(r, m.name);
    expect(d.driver, m.name).toBe(`of:${m.compatible}`);
    expect(d.iommu, m.name).toBe(m.iommu);
    expect(d.fwspec, m.name).toMatchObject({ fwnode: NODE[m.iommu], ids: m.ids });
    expect(
      d.reservedRegions.map(({ start, end, type }) => ({ start, end, type })),
      m.name,
    ).toEqual(resvOf(m.region));
    expect(d.probedAt, m.name).toBe(probedAt(m));
  }
  expect(partition(r)).toEqual([...expectedPartition(), ...others].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  for (const g of r.groups.filter((x) => masters.some((m) => m.name === x.devices[0]))) {
    const region = masters.find((m) => m.name === g.devices[0])!.region;
    expect(g.type).toBe('DMA');
    expect(g.reservedRegions).toEqual(groupResvOf(region));
    // m4ulist: each region's group holds masters of both MM instances.
    expect(new Set(g.devices.map((n) => masters.find((m) => m.name === n)!.iommu))).toEqual(
      new Set([VDO, VPP]),
    );
  }
}

describe('mtk-iommu on the mt8195 demo board (v6.12, Debian MTK_IOMMU=m)', () => {
  const r = bootDtb(DTB);

  it('registers the infra, vpp and vdo M4Us as mtk-iommu.<base>, infra first (the vpp and vdo ones wait for their larbs)', () => {
    expect(r.iommus.map(({ name, driver, fwnode }) => ({ name, driver, fwnode }))).toEqual([
      { name: INFRA, driver: 'mtk-iommu', fwnode: NODE[INFRA] },
      { name: VPP, driver: 'mtk-iommu', fwnode: NODE[VPP] },
      { name: VDO, driver: 'mtk-iommu', fwnode: NODE[VDO] },
    ]);
    for (const [name, node] of [
      ['10315000.infra-iommu', INFRA],
      ['14018000.iommu', VPP],
      ['1c01f000.iommu', VDO],
    ])
      expect(dev(r, name).driver, node).toBe('mtk-iommu');
  });

  it("every node with `iommus` is accounted for: the boot populates some, their parents' drivers the rest", () => {
    const withIommus = [...nodes(fixture.root)].filter((n) => getProperty(n, 'iommus')).map((n) => n.path);
    expect(withIommus.sort()).toEqual(masters.map((m) => m.node).sort());
    // The devices with a fwspec are exactly the table's masters.
    expect(
      r.devices
        .filter((d) => d.fwspec)
        .map((d) => d.name)
        .sort(),
    ).toEqual(masters.map((m) => m.name).sort());
  });

  it('each master: its instance, its MTK_M4U_ID cells, its region reservations, probed at the replay of its bind', () => {
    expectMasters(r, () => 'replay at driver bind');
  });

  it("the JSON's objects of a device list what the drivers allocated for it: a master's links to its larbs, a larb-using M4U's aggregate device", () => {
    const link = { type: 'device_link', allocatedBy: 'device_link_add', freedBy: null, times: 1 };
    for (const m of masters) expect(dev(r, m.name).objects, m.name).toContainEqual(link);
    expect(dev(r, '14018000.iommu').objects).toContainEqual({
      type: 'aggregate_device',
      allocatedBy: 'component_master_add_with_match',
      freedBy: null,
      times: 1,
    });
  });

  it('the larbs and SMI commons are bound by mtk-smi-larb / mtk-smi-common, and every larb of `mediatek,larbs` is bound into its M4U', () => {
    for (const n of [...nodes(fixture.root)]) {
      const compat = getProperty(n, 'compatible');
      if (!compat) continue;
      const c = new TextDecoder().decode(compat.value).split('\0')[0];
      const devName = `${n.name.split('@')[1]}.${n.name.split('@')[0]}`;
      if (c === 'mediatek,mt8195-smi-larb') expect(dev(r, devName).driver).toBe('mtk-smi-larb');
      if (/^mediatek,mt8195-smi-(sub-)?common/.test(c)) expect(dev(r, devName).driver).toBe('mtk-smi-common');
    }
    for (const [iommuDev, node] of [
      ['14018000.iommu', NODE[VPP]],
      ['1c01f000.iommu', NODE[VDO]],
    ]) {
      const larbs = getProperty(
        [...nodes(fixture.root)].find((n) => n.path === node)!,
        'mediatek,larbs',
      )!;
      const phandles = new DataView(larbs.value.buffer, larbs.value.byteOffset, larbs.value.byteLength);
      const names: string[] = [];
      for (let i = 0; i < larbs.value.length; i += 4) {
        const larb = fixture.phandles.get(phandles.getUint32(i))!;
        names.push(`${larb.name.split('@')[1]}.larb`);
      }
      expect(names).toHaveLength(14);
      // component_bind_all(): each larb once, in `mediatek,larbs` order.
      const bound = r.log
        .filter((l) => l.startsWith(`${iommuDev}: bound `))
        .map((l) => /bound (\S+) \(ops mtk_smi_larb_component_ops\)/.exec(l)![1]);
      expect(bound).toEqual(names);
    }
  });

  it("nothing leaks but the shared page table's pgd (a known kernel leak), no invariant breaks, no WARN", () => {
    // One table for the m4ulist (vpp and vdo), nothing mapped at boot: its pgd only. The infra M4U has no master.
    expect(r.leaks).toHaveLength(1);
    expectSharedTableLeakOnly(r.leaks);
    expect(r.invariantViolations).toEqual([]);
    expect(r.warnings).toEqual([]);
  });
});

describe('Kconfig and profiles', () => {
  it('MTK_IOMMU=n: no instance, the larbs have no driver, every master binds without an IOMMU after the deferred-probe timeout', () => {
    const r = bootDtb(DTB, 'v6.12', 'n');
    expect(r.iommus).toEqual([]);
    expect(r.groups).toEqual([]);
    expect(dev(r, '14013000.larb').driver).toBeNull();
    for (const m of masters) {
      const d = dev(r, m.name);
      expect(d.iommu, m.name).toBeNull();
      expect(d.fwspec, m.name).toBeNull();
      expect(d.driver, m.name).toBe(`of:${m.compatible}`);
      expect(d.history.at(-1), m.name).toBe('of_iommu_configure(): -ETIMEDOUT');
    }
    expect(r.leaks).toEqual([]);
  });

  it('MTK_IOMMU=y: the same instances, IDs and groups as the module', () => {
    const r = bootDtb(DTB, 'v6.12', 'y');
    expect(r.iommus.map((i) => i.name)).toEqual([INFRA, VPP, VDO]);
    expectMasters(r, () => 'replay at driver bind');
    expectSharedTableLeakOnly(r.leaks);
  });

  it('v6.15 (probe path): the same instances, IDs, groups and regions, but each master is probed by the registration walk of its instance', () => {
    const r = bootDtb(DTB, 'v6.15');
    expect(r.iommus.map((i) => i.name)).toEqual([INFRA, VPP, VDO]);
    // The vcodec and jpeg children appear only once their parent, itself waiting for its M4U,
    // binds and populates them: the IOMMU core probes them at device_add.
    expectMasters(r, (m) => (populatedChildren.includes(m) ? 'device_add' : `registration of ${m.iommu}`));
    expectSharedTableLeakOnly(r.leaks);
    expect(r.invariantViolations).toEqual([]);
  });
});

describe('driver objects (booted kernel, before teardown)', () => {
  const { desc, file, firmware } = loadInputs([DTB], { kconfig: { MTK_IOMMU: 'm' } });
  const bp = bootPlatform(desc, { profile: 'v6.12', file, firmware });
  const k = bp.k;
  const byName = new Map([...k.base.devices].map((d) => [d.name, d]));
  const byNode = new Map([...k.base.devices].map((d) => [d.fwnode?.name, d]));

  it('the vcodec and jpeg children are devices under the parent whose driver populated them', () => {
    for (const m of populatedChildren) {
      const d = byNode.get(m.node);
      expect(d?.name, m.node).toBe(m.name);
      expect(d?.parent?.fwnode?.name, m.node).toBe(m.node.slice(0, m.node.lastIndexOf('/')));
    }
  });

  it('vdo and vpp share m4ulist, vpp first (it probed first); infra has a list of its own', () => {
    const vpp = mtkIommuData(byName.get('14018000.iommu')!)!;
    const vdo = mtkIommuData(byName.get('1c01f000.iommu')!)!;
    const infra = mtkIommuData(byName.get('10315000.infra-iommu')!)!;
    expect(vpp.hw_list).toBe(vdo.hw_list);
    expect(vpp.hw_list).toEqual([vpp, vdo]);
    expect(infra.hw_list).toEqual([infra]);
    // The groups are kept in the first data: regions 0, 1 and 2 are used, the rest never made.
    expect(vpp.m4u_group.map((g) => g?.id ?? null)).toEqual([2, 1, 0, null, null, null, null, null]);
    expect(vdo.m4u_group.every((g) => g === null)).toBe(true);
    // The infra M4U has banks 0 and 4 (mt8195_data_infra.banks_enable) and irqs 0..4.
    expect(infra.bank.map((b) => b?.id ?? null)).toEqual([0, null, null, null, 4]);
    expect(component_aggregate_bound(k, vpp.dev)).toBe(true);
    expect(component_aggregate_bound(k, vdo.dev)).toBe(true);
    expect(component_aggregate_bound(k, infra.dev)).toBe(false);
  });

  it('each master links to its larb; each larb learnt its id at component bind; each domain has its region as aperture', () => {
    for (const m of masters) {
      const d = byName.get(m.name)!;
      const larbs = device_link_suppliers(k, d);
      expect(larbs, m.name).toHaveLength(1);
      const larb = larbs[0].driverData as MtkSmiLarb;
      expect(larb.larbid, m.name).toBe(m.ids[0] >> 5);
      expect(larbs[0].fwnode!.properties.get('mediatek,larb-id'), m.name).toEqual([m.ids[0] >> 5]);
      // mtk_iommu_config(): the ports are enabled in the larb's table, banked by the region's top bits.
      for (const id of m.ids) expect(larb.mmu!.mmu & (1 << (id & 31)), m.name).not.toBe(0);
      expect(larb.mmu!.bank[m.ids[0] & 31], m.name).toBe(m.region);
      const dom = d.iommu_group!.default_domain as MtkIommuDomain;
      expect(dom).toBeInstanceOf(MtkIommuDomain);
      const base = BigInt(m.region) << 32n;
      expect(dom.aperture, m.name).toEqual({ start: base, end: base + 0xff800000n - 1n });
    }
  });

  it('teardown undoes it all', () => {
    expect(checkInvariants(k)).toEqual([]);
    teardown(k);
    expectSharedTableLeakOnly(leakReport(k));
  });
});

describe('malformed and unusual trees', () => {
  it('#iommu-cells = <2> on vpp: a two-cell entry is refused by of_xlate (-EINVAL), one-cell lists no longer parse', () => {
    const r = bootDtb(variant({ [NODE[VPP]]: { '#iommu-cells': cells(2) } }));
    // hdr-engine's <vpp 0x64 vpp 0x65> now reads as one entry with two cells.
    expect(r.log).toContain('1c114000.hdr-engine: invalid #iommu-cells(2) property for IOMMU');
    for (const m of masters.filter((x) => x.iommu === VPP)) {
      expect(dev(r, m.name).iommu, m.name).toBeNull();
      expect(dev(r, m.name).fwspec, m.name).toBeNull();
    }
    for (const m of masters.filter((x) => x.iommu === VDO)) expect(dev(r, m.name).iommu, m.name).toBe(VDO);
    expectSharedTableLeakOnly(r.leaks);
  });

  it('a disabled vdo M4U: its masters carry on without an IOMMU at once (-ENODEV, no deferral)', () => {
    const r = bootDtb(variant({ [NODE[VDO]]: { status: str('disabled') } }));
    expect(r.iommus.map((i) => i.name)).toEqual([INFRA, VPP]);
    for (const m of masters.filter((x) => x.iommu === VDO)) {
      const d = dev(r, m.name);
      expect(d.iommu, m.name).toBeNull();
      expect(d.history, m.name).toEqual(['of_iommu_configure(): -ENODEV']);
    }
    // The vpp masters now have groups of their own per region, and no vdo company.
    expect(r.groups).toHaveLength(3);
    expectSharedTableLeakOnly(r.leaks);
  });

  it('ports of two larbs in one master: probe_device refuses it (-EINVAL, "Can only use one larb")', () => {
    const r = bootDtb(
      variant({ '/soc/dma-controller@14001000': { iommus: cells(PH.vpp, ID(4, 0), PH.vpp, ID(6, 0)) } }),
    );
    expect(r.log).toContain('14001000.dma-controller: Can only use one larb. Fail@larb4-6.');
    expect(dev(r, '14001000.dma-controller').iommu).toBeNull();
    expect(dev(r, '14001000.dma-controller').history).toContain('mtk-iommu probe_device() returned -EINVAL');
  });

  it('a larb the instance does not list: probe_device refuses it silently (-EINVAL)', () => {
    const r = bootDtb(variant({ '/soc/dma-controller@14001000': { iommus: cells(PH.vdo, ID(4, 0)) } }));
    const d = dev(r, '14001000.dma-controller');
    expect(d.iommu).toBeNull();
    expect(d.history).toContain('mtk-iommu probe_device() returned -EINVAL');
  });

  it('larb 18: ports 0/1 are region 4 (CCU0), 2/3 region 5 (CCU1), each its own group; mixing them or port 4 has no region', () => {
    const r = bootDtb(
      variant({
        '/soc/dma-controller@14001000': { iommus: cells(PH.vpp, ID(18, 0), PH.vpp, ID(18, 1)) },
        '/soc/display@14009000': { iommus: cells(PH.vpp, ID(18, 2)) },
        '/soc/dma-controller@1400c000': { iommus: cells(PH.vpp, ID(18, 1), PH.vpp, ID(18, 2)) },
        '/soc/dma-controller@14f0a000': { iommus: cells(PH.vpp, ID(18, 4)) },
      }),
    );
    const ccu0 = dev(r, '14001000.dma-controller');
    const ccu1 = dev(r, '14009000.display');
    expect(ccu0.iommu).toBe(VPP);
    expect(ccu1.iommu).toBe(VPP);
    expect(ccu0.group).not.toBe(ccu1.group);
    for (const d of [ccu0, ccu1]) {
      expect(r.groups.find((g) => g.id === d.group)!.devices).toEqual([d.name]);
      expect(d.reservedRegions).toEqual([]); // nothing lies inside a CCU window
    }
    expect(r.log).toContain('1400c000.dma-controller: Can NOT find the region for larb(18-6).');
    expect(r.log).toContain('14f0a000.dma-controller: Can NOT find the region for larb(18-10).');
    expect(dev(r, '1400c000.dma-controller').iommu).toBeNull();
    expect(dev(r, '14f0a000.dma-controller').iommu).toBeNull();
    expectSharedTableLeakOnly(r.leaks);
  });

  it('a larb missing its clocks never binds: vpp defers for good and its masters time out; vdo is unaffected', () => {
    const r = bootDtb(variant({ '/soc/larb@14013000': { 'clock-names': null } }));
    expect(r.log).toContain("14013000.larb: error -ENOENT: Failed to get clk 'apb'");
    expect(dev(r, '14013000.larb').driver).toBeNull();
    expect(dev(r, '14018000.iommu').driver).toBeNull();
    expect(r.iommus.map((i) => i.name)).toEqual([INFRA, VDO]);
    for (const m of masters.filter((x) => x.iommu === VPP))
      expect(dev(r, m.name).history.at(-1), m.name).toBe('of_iommu_configure(): -ETIMEDOUT');
    for (const m of masters.filter((x) => x.iommu === VDO)) expect(dev(r, m.name).iommu, m.name).toBe(VDO);
    expectSharedTableLeakOnly(r.leaks);
  });

  it("a larb reaching another SMI common: the M4U's dts parse fails (-EINVAL) and it does not register", () => {
    const r = bootDtb(variant({ '/soc/larb@14013000': { 'mediatek,smi': cells(PH.vdoSmiCommon) } }));
    expect(r.log).toContain('14018000.iommu: mediatek,smi property is not right @larb4.');
    expect(r.log).toContain('14018000.iommu: error -EINVAL: mm dts parse fail');
    expect(r.iommus.map((i) => i.name)).toEqual([INFRA, VDO]);
    expectSharedTableLeakOnly(r.leaks);
  });

  it('no `mediatek,larbs` on vdo: -ENOENT from the dts parse', () => {
    const r = bootDtb(variant({ [NODE[VDO]]: { 'mediatek,larbs': null } }));
    expect(r.log).toContain('1c01f000.iommu: error -ENOENT: mm dts parse fail');
    expect(r.log).toContain('1c01f000.iommu: probe with driver mtk-iommu failed with error -2');
    expect(r.iommus.map((i) => i.name)).toEqual([INFRA, VPP]);
  });

  it('an infra M4U whose reg cannot hold its five banks is refused', () => {
    const r = bootDtb(variant({ [NODE[INFRA]]: { reg: cells(0, 0x10315000, 0, 0x1000) } }));
    expect(r.log).toContain('10315000.infra-iommu: banknr 5. res [mem 0x10315000-0x10315fff] is not enough.');
    expect(r.iommus.map((i) => i.name)).toEqual([VPP, VDO]);
  });

  it('infra masters: the group is the bank their ports select (USB ports 20-31: bank 4; else bank 0, the one region)', () => {
    const r = bootDtb(
      variant({
        '/soc/usb@11290000': { iommus: cells(PH.infra, 24) }, // IOMMU_PORT_INFRA_SSUSB_P1_1_R
        '/soc/usb@112a1000': { iommus: cells(PH.infra, 26) }, // IOMMU_PORT_INFRA_SSUSB_P1_0_R
        '/soc/usb@11201000': { iommus: cells(PH.infra, 16) }, // IOMMU_PORT_INFRA_PCIE1
      }),
    );
    const [a, b, c] = ['11290000.usb', '112a1000.usb', '11201000.usb'].map((n) => dev(r, n));
    for (const d of [a, b, c]) {
      expect(d.iommu).toBe(INFRA);
      expect(d.reservedRegions).toEqual([]);
    }
    expect(a.fwspec).toMatchObject({ fwnode: NODE[INFRA], ids: [24] });
    expect(a.group).toBe(b.group);
    expect(c.group).not.toBe(a.group);
    expect(r.groups.find((g) => g.id === c.group)!.devices).toEqual(['11201000.usb']);
    // The MM groups are unchanged.
    expectMasters(r, () => 'replay at driver bind', [['11201000.usb'], ['11290000.usb', '112a1000.usb']]);
  });
});

describe('allocation failures', () => {
  const { desc, file, firmware } = loadInputs([DTB], { kconfig: { MTK_IOMMU: 'm' } });

  it('the group of a region freed with its only device stays in m4u_group[]: the next master of the region hits freed memory (kernel use-after-free)', () => {
    // Find, in a fault-free boot, the allocation that adds the first region-2 master to its group.
    const bp = bootPlatform(desc, { profile: 'v6.12', file, firmware });
    const first = bp.k.alloc.history('14001000.dma-controller').find((a) => a.type === 'group_device')!;
    teardown(bp.k);
    const r = boot(desc, { profile: 'v6.12', file, firmware, failNth: first.id });
    expect(r.failNth?.injected).toMatchObject({ type: 'group_device', owner: '14001000.dma-controller' });
    expect(r.warnings).toEqual([
      {
        site: 'refcount_warn_saturate',
        message: 'refcount_t: addition on 0; use-after-free.',
        device: '14f08000.dma-controller',
      },
    ]);
    // Every later region-2 master fails to join the freed group; the other regions are fine.
    for (const m of masters) {
      const d = dev(r, m.name);
      if (m.region === 2) {
        expect(d.iommu, m.name).toBeNull();
        if (m.name !== '14001000.dma-controller')
          expect(r.log, m.name).toContain(`${m.name}: Failed to add to iommu group 0: -2`);
      } else {
        expect(d.iommu, m.name).toBe(m.iommu);
      }
    }
    expectSharedTableLeakOnly(r.leaks);
    expect(r.invariantViolations).toEqual([]);
  });

  it('fail-nth: each allocation of the boot failed in turn (a spread: test/support/fail-nth.ts) leaves no leak and no invariant broken', () => {
    const base = boot(desc, { profile: 'v6.12', file, firmware });
    expect(base.allocations).toBeGreaterThan(300);
    let injected = 0;
    for (const n of failNthPoints(base.allocations)) {
      const r = boot(desc, { profile: 'v6.12', file, firmware, failNth: n });
      if (r.failNth?.injected) injected++;
      expect(
        r.leaks.filter((l) => !l.knownBug),
        `fail ${n}`,
      ).toEqual([]);
      expect(
        r.invariantViolations.filter((v) => !v.knownBug),
        `fail ${n}`,
      ).toEqual([]);
    }
    expect(injected).toBe(failNthPoints(base.allocations).length);
  }, 300_000);
});
