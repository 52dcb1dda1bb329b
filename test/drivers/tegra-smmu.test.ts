// SPDX-License-Identifier: GPL-2.0-only
// The Tegra SMMU reached through the memory-controller driver (Linux 6.12
// drivers/memory/tegra/mc.c tegra_mc_probe() -> drivers/iommu/tegra-smmu.c
// tegra_smmu_probe()), booted from the Jetson Nano (tegra210-p3450-0000)
// DTB Debian ships and from variants of it. Expectations come from the
// kernel source, function by function:
//  - tegra_smmu_probe(): iommu_device_sysfs_add(..., dev_name(dev)), so the
//    instance is named after the MC's platform device, and it is registered
//    on that device (fwnode = the MC node);
//  - tegra_smmu_of_xlate(): one cell, the swgroup (dt-bindings
//    tegra210-mc.h: DC 1, DCB 2, HC 6, GPU 17, VIC 22);
//  - tegra_smmu_probe_device(): walks `iommus` again through
//    tegra_smmu_configure() -> of_xlate(), so after 6.12's of_iommu_configure()
//    every swgroup is in the fwspec twice;
//  - tegra_smmu_device_group(): a group per swgroup, except that the swgroups
//    of a named SoC group share one (tegra210_groups: "display" = DC, DCB);
//  - tegra_smmu_def_domain_type(): identity for every device.
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { failNthPoints } from '../support/fail-nth.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boot, bootInputs, loadInputs, scenario } from '../../src/api.js';
import { parsePlatform } from '../../src/platform/load.js';
import { parseScenario } from '../../src/scenario/load.js';
import { parseFdt } from '../../src/firmware/fdt/fdt-parse.js';
import {
  allNodes,
  fdtNodeAvailable,
  nodePhandle,
  propU32s,
  type Fdt,
  type FdtNode,
} from '../../src/firmware/fdt/fdt.js';
import { buildFdt, type TreeSpec } from '../support/fdt-build.js';
import type { ProfileName } from '../../src/profile/profile.js';
import type { Kconfig } from '../../src/kernel/kconfig.js';
import { deviceNamed as dev, groupPartition as partition, type Booted } from '../support/boot-result.js';

const FIXTURE = fileURLToPath(
  new URL('../../../shared/fixtures/dtb/arm64-6.12-tegra210-p3450-0000.dtb', import.meta.url),
);
const MC = '70019000.memory-controller';
const MC_NODE = '/memory-controller@70019000';
const tmp = scratchDir('iommu-lab-tegra-');

const cells = (...v: number[]) => {
  const b = new Uint8Array(v.length * 4);
  v.forEach((x, i) => new DataView(b.buffer).setUint32(i * 4, x));
  return b;
};
const str = (...s: string[]) =>
  Uint8Array.from(s.flatMap((x) => [...x].map((c) => c.charCodeAt(0)).concat(0)));

type NodeEdit = (np: FdtNode, props: Map<string, Uint8Array>) => void;

/** The fixture's tree as a buildFdt() spec, with `edit` applied to each node's properties. */
function specOf(np: FdtNode, edit: NodeEdit = () => {}): TreeSpec {
  const props = new Map(np.properties.map((p) => [p.name, p.value] as [string, Uint8Array]));
  edit(np, props);
  return { name: np.name, props: [...props], children: np.children.map((c) => specOf(c, edit)) };
}

let seq = 0;
function writeDtb(spec: TreeSpec): string {
  const p = join(tmp, `t${seq++}.dtb`);
  writeFileSync(p, buildFdt(spec));
  return p;
}

/** The fixture with `edit` applied to its nodes, written out. */
function fixtureVariant(edit: NodeEdit): string {
  return writeDtb(specOf(parseFdt(readFileSync(FIXTURE), FIXTURE).root, edit));
}

/**
 * host1x's children as devices. The kernel's host1x_probe() populates them
 * (devm_of_platform_populate()); of_platform_default_populate() does not,
 * as host1x is no bus node, and the boot's stand-in for host1x populates
 * nothing. Hoisting them to the root gives the devices the names the kernel
 * gives them ("54200000.dc": host1x's `ranges` map 1:1) while host1x itself
 * keeps its driver.
 */
function host1xPopulated(): string {
  const root = specOf(parseFdt(readFileSync(FIXTURE), FIXTURE).root);
  const host1x = root.children.find((c) => c.name === 'host1x@50000000')!;
  root.children.push(...host1x.children);
  host1x.children = [];
  return writeDtb(root);
}

const groupOf = (r: Booted, name: string) => r.groups.find((g) => g.id === dev(r, name).group);

function bootTegra(
  path: string,
  profile: ProfileName,
  kconfig: Partial<Kconfig> = {},
  arch?: 'arm' | 'arm64',
) {
  return bootInputs([path], { profile, kconfig, ...(arch ? { arch } : {}) });
}

/** Every DT node whose `iommus` names `phandle`, with the cells after it. */
function iommusMasters(fdt: Fdt, phandle: number): { path: string; cells: number[]; available: boolean }[] {
  const out: { path: string; cells: number[]; available: boolean }[] = [];
  for (const np of allNodes(fdt)) {
    const v = propU32s(np, 'iommus');
    if (!v) continue;
    expect(v[0]).toBe(phandle); // every `iommus` in this tree points at the MC, one cell each
    out.push({ path: np.path, cells: v.slice(1), available: fdtNodeAvailable(np) });
  }
  return out;
}

describe('tegra210-p3450-0000: every `iommus` master of the Tegra210 MC', () => {
  const fdt = parseFdt(readFileSync(FIXTURE), FIXTURE);
  const mcNode = [...allNodes(fdt)].find((n) => n.path === MC_NODE)!;

  it('the DTB has five masters, one swgroup cell each, none disabled', () => {
    expect(propU32s(mcNode, '#iommu-cells')).toEqual([1]);
    expect(fdtNodeAvailable(mcNode)).toBe(true);
    // dt-bindings/memory/tegra210-mc.h: TEGRA_SWGROUP_HC 6, DC 1, DCB 2, VIC 22, GPU 17.
    expect(iommusMasters(fdt, nodePhandle(mcNode))).toEqual([
      { path: '/host1x@50000000', cells: [6], available: true },
      { path: '/host1x@50000000/dc@54200000', cells: [1], available: true },
      { path: '/host1x@50000000/dc@54240000', cells: [2], available: true },
      { path: '/host1x@50000000/vic@54340000', cells: [22], available: true },
      { path: '/gpu@57000000', cells: [17], available: true },
    ]);
  });

  it.each(['v6.12', 'v6.15'] as const)(
    '%s: one instance named after the MC device; host1x, VIC and the GPU alone, DC and DCB in "display", all identity',
    (profile) => {
      const r = bootTegra(FIXTURE, profile);
      // tegra_smmu_probe(): sysfs name dev_name(MC), registered on the MC's device.
      expect(r.iommus).toEqual([{ name: MC, driver: 'tegra-smmu', fwnode: MC_NODE }]);
      expect(dev(r, MC)).toMatchObject({ driver: 'tegra-mc', iommu: null, fwspec: null });
      // of_xlate() then tegra_smmu_probe_device()'s own walk: each swgroup twice.
      expect(dev(r, '50000000.host1x')).toMatchObject({
        iommu: MC,
        fwspec: { fwnode: MC_NODE, ids: [6, 6] },
        driver: 'of:nvidia,tegra210-host1x',
      });
      expect(dev(r, '57000000.gpu')).toMatchObject({
        iommu: MC,
        fwspec: { fwnode: MC_NODE, ids: [17, 17] },
        driver: 'of:nvidia,gm20b',
      });
      // dc@54200000, dc@54240000 and vic@54340000 are host1x's children, made by host1x_probe()'s
      // devm_of_platform_populate() (the boot's stand-in for host1x does the same).
      expect(dev(r, '54200000.dc').fwspec).toMatchObject({ fwnode: MC_NODE, ids: [1, 1] });
      expect(dev(r, '54240000.dc').fwspec).toMatchObject({ fwnode: MC_NODE, ids: [2, 2] });
      expect(dev(r, '54340000.vic').fwspec).toMatchObject({ fwnode: MC_NODE, ids: [22, 22] });
      // tegra_smmu_device_group(): DC and DCB are the SoC's "display" group; HC, VIC and the GPU
      // are in none, so one group each.
      expect(partition(r).sort()).toEqual([
        ['50000000.host1x'],
        ['54200000.dc', '54240000.dc'],
        ['54340000.vic'],
        ['57000000.gpu'],
      ]);
      expect(groupOf(r, '54200000.dc')!.name).toBe('display');
      // tegra_smmu_def_domain_type(): identity, whatever the default (Translated on arm64).
      expect(r.groups.map((g) => g.type)).toEqual(['identity', 'identity', 'identity', 'identity']);
      expect(groupOf(r, '50000000.host1x')!.typeWhy.join('\n')).toContain('def_domain_type');
      // 6.12 builds the fwspec when a driver binds; 6.15 at the MC's registration for the devices
      // added before the MC (tree order), at device_add for host1x's children.
      const at = profile === 'v6.12' ? 'replay at driver bind' : `registration of ${MC}`;
      expect(dev(r, '50000000.host1x').probedAt).toBe(at);
      expect(dev(r, '57000000.gpu').probedAt).toBe(at);
      expect(dev(r, '54340000.vic').probedAt).toBe(profile === 'v6.12' ? at : 'device_add');
      expect(r.log).toContain(`${MC}: address bits: 34, PFN mask: 0x3fffff`);
      expect(r.log).toContain(`${MC}: TLB lines: 48, mask: 0x3f`);
      expect(r.warnings).toEqual([]);
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
    },
  );

  it.each(['v6.12', 'v6.15'] as const)(
    '%s: with host1x populated, DC and DCB share the "display" group and VIC has its own',
    (profile) => {
      const r = bootTegra(host1xPopulated(), profile);
      expect(dev(r, '54200000.dc').fwspec).toMatchObject({ fwnode: MC_NODE, ids: [1, 1] });
      expect(dev(r, '54240000.dc').fwspec).toMatchObject({ fwnode: MC_NODE, ids: [2, 2] });
      expect(dev(r, '54340000.vic').fwspec).toMatchObject({ fwnode: MC_NODE, ids: [22, 22] });
      for (const name of ['54200000.dc', '54240000.dc', '54340000.vic', '50000000.host1x', '57000000.gpu'])
        expect(dev(r, name).iommu).toBe(MC);
      // tegra210_groups[]: "display" = { DC, DCB }; every other swgroup alone (VIC is not in
      // it on Tegra210, unlike Tegra124's "drm").
      expect(partition(r)).toEqual([
        ['50000000.host1x'],
        ['54200000.dc', '54240000.dc'],
        ['54340000.vic'],
        ['57000000.gpu'],
      ]);
      const display = groupOf(r, '54200000.dc')!;
      expect(display.why.join('\n')).toContain('SoC group "display"');
      expect(display.type).toBe('identity');
      // The host1x children without `iommus` (dpaux, vi, sor, …) stay out of the IOMMU.
      expect(dev(r, '54040000.dpaux')).toMatchObject({ iommu: null, group: null, fwspec: null });
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
    },
  );
});

describe('Kconfig: TEGRA_IOMMU_SMMU', () => {
  it.each(['v6.12', 'v6.15'] as const)(
    '%s, n: no instance; the masters wait for one until the deferred-probe timeout, then bind without it',
    (profile) => {
      const r = bootTegra(FIXTURE, profile, { TEGRA_IOMMU_SMMU: 'n' });
      expect(r.iommus).toEqual([]);
      expect(r.groups).toEqual([]);
      for (const name of ['50000000.host1x', '57000000.gpu']) {
        expect(dev(r, name)).toMatchObject({ iommu: null, group: null, fwspec: null });
        expect(dev(r, name).driver).not.toBeNull();
        // of_iommu_xlate(): iommu_fwspec_init() finds no instance for the MC's node -> -EPROBE_DEFER.
        expect(r.log).toContain(`${name}: deferred probe timeout, ignoring dependency`);
      }
      expect(r.leaks).toEqual([]);
    },
  );

  it.each(['v6.12', 'v6.15'] as const)(
    '%s, n with tegra-mc itself built (TEGRA_MC=y): the MC binds, still no instance',
    (profile) => {
      const { desc, file, firmware } = loadInputs([FIXTURE], { kconfig: { TEGRA_IOMMU_SMMU: 'n' } });
      const platform = parsePlatform(
        { ...JSON.parse(JSON.stringify(desc)), drivers: [{ name: 'tegra-mc', bus: 'platform' }] },
        file,
      );
      const r = boot(platform, { profile, file, firmware });
      // tegra_mc_probe(): IS_ENABLED(CONFIG_TEGRA_IOMMU_SMMU) is false, so no tegra_smmu_probe().
      expect(dev(r, MC).driver).toBe('tegra-mc');
      expect(r.iommus).toEqual([]);
      expect(r.log.some((l) => l.includes('address bits'))).toBe(false);
      expect(dev(r, '50000000.host1x')).toMatchObject({ iommu: null, fwspec: null });
      expect(dev(r, '50000000.host1x').driver).not.toBeNull();
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
    },
  );

  it('the default arm64 config (y) builds it: the instance registers', () => {
    expect(bootTegra(FIXTURE, 'v6.12').iommus.map((i) => i.name)).toEqual([MC]);
  });
});

describe('tegra_mc_of_match follows ARCH_TEGRA_*_SOC', () => {
  const asTegra124 = () =>
    fixtureVariant((np, props) => {
      if (np.path === MC_NODE) props.set('compatible', str('nvidia,tegra124-mc'));
    });

  it('arm64 builds only Tegra132 and Tegra210: a tegra124-mc node is not bound, the masters time out', () => {
    const r = bootTegra(asTegra124(), 'v6.12');
    expect(dev(r, MC).driver).toBeNull();
    expect(r.iommus).toEqual([]);
    expect(dev(r, '50000000.host1x')).toMatchObject({ iommu: null, fwspec: null });
    expect(r.log).toContain('50000000.host1x: deferred probe timeout, ignoring dependency');
  });

  it('32-bit Arm builds Tegra124: the same node gets an instance, HC is swgroup 6 there too', () => {
    const r = bootTegra(asTegra124(), 'v6.12', {}, 'arm');
    expect(dev(r, MC).driver).toBe('tegra-mc');
    expect(r.iommus.map((i) => i.name)).toEqual([MC]);
    expect(dev(r, '50000000.host1x').fwspec?.ids).toEqual([6, 6]);
    // Tegra124: 34 address bits, 32 TLB lines.
    expect(r.log).toContain(`${MC}: TLB lines: 32, mask: 0x3f`);
  });
});

describe('bad or unusual firmware', () => {
  const mcEdit = (f: (props: Map<string, Uint8Array>) => void) =>
    fixtureVariant((np, props) => {
      if (np.path === MC_NODE) f(props);
    });

  it('a disabled MC: no device, no instance; of_iommu_xlate() refuses at once (no deferral)', () => {
    const r = bootTegra(
      mcEdit((p) => p.set('status', str('disabled'))),
      'v6.12',
    );
    expect(r.devices.some((d) => d.name === MC)).toBe(false);
    expect(r.iommus).toEqual([]);
    for (const name of ['50000000.host1x', '57000000.gpu']) {
      expect(dev(r, name)).toMatchObject({ iommu: null, fwspec: null });
      expect(dev(r, name).driver).not.toBeNull();
      expect(r.log).not.toContain(`${name}: deferred probe timeout, ignoring dependency`);
    }
    expect(r.leaks).toEqual([]);
  });

  it('#iommu-cells = <2>: every one-cell `iommus` is too short, so no master is configured', () => {
    const r = bootTegra(
      mcEdit((p) => p.set('#iommu-cells', cells(2))),
      'v6.12',
    );
    expect(r.iommus.map((i) => i.name)).toEqual([MC]); // the MC itself is fine
    for (const name of ['50000000.host1x', '57000000.gpu']) {
      expect(dev(r, name)).toMatchObject({ iommu: null, fwspec: null, group: null });
      expect(dev(r, name).driver).not.toBeNull();
    }
    // __of_parse_phandle_with_args() reports the short list (pr_err) for each master.
    for (const np of ['/host1x@50000000', '/gpu@57000000'])
      expect(r.log.some((l) => l.startsWith('OF: ') && l.includes(np))).toBe(true);
    expect(r.groups).toEqual([]);
    expect(r.leaks).toEqual([]);
  });

  it('an MC without interrupts: platform_get_irq() fails the probe (-ENXIO), so no SMMU', () => {
    const r = bootTegra(
      mcEdit((p) => p.delete('interrupts')),
      'v6.12',
    );
    expect(r.log).toContain(`${MC}: error -ENXIO: IRQ index 0 not found`);
    expect(dev(r, MC).driver).toBeNull();
    expect(r.iommus).toEqual([]);
    expect(r.log).toContain('50000000.host1x: deferred probe timeout, ignoring dependency');
    expect(r.leaks).toEqual([]);
  });

  it('an MC without reg: devm_platform_ioremap_resource() fails the probe (-EINVAL)', () => {
    const r = bootTegra(
      mcEdit((p) => p.delete('reg')),
      'v6.15',
    );
    // Without `reg`, of_device_make_bus_id() names the device after its node's full name.
    const name = 'memory-controller@70019000';
    expect(r.log).toContain(`${name}: error -EINVAL: invalid resource (null)`);
    expect(r.log).toContain(`${name}: probe with driver tegra-mc failed with error -22`);
    expect(dev(r, name).driver).toBeNull();
    expect(r.iommus).toEqual([]);
    expect(dev(r, '57000000.gpu')).toMatchObject({ iommu: null, fwspec: null });
    expect(r.leaks).toEqual([]);
  });
});

/** A small Tegra210: the MC and masters on a simple-bus, each `iommus` given as swgroup lists. */
function smallTegra210(
  masters: { name: string; iommus: number[][]; status?: string }[],
  iommuCells = 1,
): string {
  const MC_PHANDLE = 0x0d;
  const GIC_PHANDLE = 0x01;
  return writeDtb({
    name: '',
    props: [
      ['compatible', str('nvidia,p3450-0000', 'nvidia,tegra210')],
      ['#address-cells', cells(2)],
      ['#size-cells', cells(2)],
      ['interrupt-parent', cells(GIC_PHANDLE)],
    ],
    children: [
      // The MC's interrupt must parse (of_irq_parse_one()) for platform_get_irq() to find it.
      {
        name: 'interrupt-controller@50041000',
        props: [
          ['compatible', str('arm,gic-400')],
          ['#interrupt-cells', cells(3)],
          ['interrupt-controller', new Uint8Array(0)],
          ['reg', cells(0, 0x50041000, 0, 0x1000)],
          ['phandle', cells(GIC_PHANDLE)],
        ],
        children: [],
      },
      {
        name: 'memory-controller@70019000',
        props: [
          ['compatible', str('nvidia,tegra210-mc')],
          ['reg', cells(0, 0x70019000, 0, 0x1000)],
          ['interrupts', cells(0, 0x4d, 4)],
          ['#iommu-cells', cells(iommuCells)],
          ['phandle', cells(MC_PHANDLE)],
        ],
        children: [],
      },
      {
        name: 'bus@0',
        props: [
          ['compatible', str('simple-bus')],
          ['#address-cells', cells(1)],
          ['#size-cells', cells(1)],
          ['ranges', cells(0, 0, 0, 0x80000000)],
        ],
        children: masters.map((m, i) => ({
          name: m.name,
          props: [
            ['compatible', str(`test,master${i}`)],
            ['reg', cells(parseInt(m.name.split('@')[1], 16), 0x1000)],
            ['iommus', cells(...m.iommus.flatMap((e) => [MC_PHANDLE, ...e]))],
            ...(m.status ? ([['status', str(m.status)]] as [string, Uint8Array][]) : []),
          ],
          children: [],
        })),
      },
    ],
  });
}

describe('swgroups and groups beyond the Jetson Nano', () => {
  it.each(['v6.12', 'v6.15'] as const)(
    '%s: shared swgroups, a master naming DCB first, an unknown swgroup and a disabled master',
    (profile) => {
      const r = bootTegra(
        smallTegra210([
          { name: 'sdhci@1000', iommus: [[18]] }, // SDMMC1A
          { name: 'sdhci@2000', iommus: [[18]] }, // SDMMC1A again: the same group, unnamed
          { name: 'display@3000', iommus: [[2], [1]] }, // DCB then DC: ids[0] = DCB decides
          { name: 'display@4000', iommus: [[1]] }, // DC: joins the "display" group DCB opened
          { name: 'odd@5000', iommus: [[99]] }, // in no table: a group of its own
          { name: 'off@6000', iommus: [[22]], status: 'disabled' }, // never a device
        ]),
        profile,
      );
      expect(dev(r, '1000.sdhci').fwspec?.ids).toEqual([18, 18]);
      expect(dev(r, '3000.display').fwspec?.ids).toEqual([2, 1, 2, 1]);
      expect(dev(r, '4000.display').fwspec?.ids).toEqual([1, 1]);
      expect(dev(r, '5000.odd').fwspec?.ids).toEqual([99, 99]);
      expect(r.devices.some((d) => d.name === '6000.off')).toBe(false);
      expect(partition(r)).toEqual([
        ['1000.sdhci', '2000.sdhci'],
        ['3000.display', '4000.display'],
        ['5000.odd'],
      ]);
      expect(groupOf(r, '2000.sdhci')!.why.join('\n')).toContain('sdmmc1a (18) already has this group');
      expect(groupOf(r, '3000.display')!.why.join('\n')).toContain('opens the SoC group "display"');
      expect(r.groups.every((g) => g.type === 'identity')).toBe(true);
      // The identity default domain never enables a swgroup, so swgroup 99 draws no warning.
      expect(r.log.some((l) => l.includes('not found'))).toBe(false);
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
    },
  );

  it('#iommu-cells = <2>: of_xlate() takes the first cell as the swgroup', () => {
    const r = bootTegra(smallTegra210([{ name: 'dc@1000', iommus: [[1, 0xff]] }], 2), 'v6.12');
    expect(dev(r, '1000.dc').fwspec?.ids).toEqual([1, 1]);
    expect(dev(r, '1000.dc').iommu).toBe(MC);
  });
});

describe('paging domains and ASIDs (Tegra30: four ASIDs)', () => {
  // A Tegra30 (32-bit Arm) MC and six masters; v6.15 configures them at the MC's registration,
  // so no client driver is needed. tegra30 swgroups: DC 1, DCB 2 (both in "drm"), VI 6, AFI 7,
  // AVPC 8, HDA 11, PTC 0 (no ASID register in tegra30_swgroups[]).
  const master = (name: string, swgroup: number) => ({
    path: `/soc/${name}`,
    compatible: `test,${name.split('@')[0]}`,
    props: { reg: [parseInt(name.split('@')[1], 16), 0x1000], iommus: ['&mc', swgroup] },
  });
  const platform = {
    name: 'tegra30-mini',
    arch: 'arm',
    of: [
      {
        path: '/interrupt-controller@50041000',
        label: 'gic',
        compatible: 'arm,cortex-a9-gic',
        props: { '#interrupt-cells': [3], 'interrupt-controller': true },
      },
      {
        path: '/memory-controller@7000f000',
        label: 'mc',
        compatible: 'nvidia,tegra30-mc',
        props: {
          reg: [0, 0x7000f000, 0, 0x400],
          interrupts: [0, 77, 4],
          'interrupt-parent': ['&gic'],
          '#iommu-cells': [1],
        },
      },
      { path: '/soc', compatible: 'simple-bus', props: { '#address-cells': [1], '#size-cells': [1] } },
      master('dc@1000', 1),
      master('dc@2000', 2),
      master('vi@3000', 6),
      master('pcie@4000', 7),
      master('avp@5000', 8),
      master('hda@6000', 11),
      master('ptc@7000', 0),
    ],
    devices: [
      { name: '7000f000.memory-controller', of: '/memory-controller@7000f000' },
      ...['dc@1000', 'dc@2000', 'vi@3000', 'pcie@4000', 'avp@5000', 'hda@6000', 'ptc@7000'].map((n) => ({
        name: `${n.split('@')[1]}.${n.split('@')[0]}`,
        of: `/soc/${n}`,
      })),
    ],
  };
  const run = (steps: unknown[]) =>
    scenario(parseScenario({ name: 'tegra-asids', platform, steps }, 'tegra-asids'), { profile: 'v6.15' });

  it('one ASID per attached domain: the fifth fails with -ENOSPC until one is given back', () => {
    const r = run([
      { op: 'attach-paging-domain', dev: '1000.dc', as: 'drm' }, // the "drm" group: both DCs
      { op: 'attach-paging-domain', dev: '3000.vi', as: 'vi' },
      { op: 'attach-paging-domain', dev: '4000.pcie', as: 'afi' },
      { op: 'attach-paging-domain', dev: '5000.avp', as: 'avpc' },
      { op: 'attach-paging-domain', dev: '6000.hda', as: 'hda' },
      { op: 'detach-domain', dev: '3000.vi', domain: 'vi' },
      { op: 'attach-paging-domain', dev: '6000.hda', as: 'hda2' },
      { op: 'detach-domain', dev: '1000.dc', domain: 'drm' },
      { op: 'detach-domain', dev: '4000.pcie', domain: 'afi' },
      { op: 'detach-domain', dev: '5000.avp', domain: 'avpc' },
      { op: 'detach-domain', dev: '6000.hda', domain: 'hda2' },
    ]);
    expect(partition(r)).toContainEqual(['1000.dc', '2000.dc']);
    expect(r.steps.map((s) => s.result)).toEqual([
      '0',
      '0',
      '0',
      '0',
      '-ENOSPC',
      '0',
      '0',
      '0',
      '0',
      '0',
      '0',
    ]);
    // Back on the identity domain every ASID use was given back: no WARN_ON_ONCE(as->use_count).
    expect(r.warnings).toEqual([]);
    // tegra_smmu_domain_free() never frees the page directory (a page from the page-table
    // pool, with no tables under it here): one per domain freed (six).
    const pd = r.leaks.filter((l) => l.type === 'io-pgtable table');
    expect(pd).toHaveLength(6);
    expect(pd.every((l) => l.knownBug === 'tegra-smmu-domain-pd-leak')).toBe(true);
    expect(r.leaks.filter((l) => !l.knownBug)).toEqual([]);
    expect(r.invariantViolations).toEqual([]);
  });

  it('a swgroup without an ASID register is warned about when a paging domain is attached', () => {
    const r = run([
      { op: 'attach-paging-domain', dev: '7000.ptc', as: 'd' },
      { op: 'detach-domain', dev: '7000.ptc', domain: 'd' },
    ]);
    expect(r.steps.map((s) => s.result)).toEqual(['0', '0']);
    // tegra_smmu_enable() runs once per fwspec ID, and the fwspec holds PTC twice
    // (of_iommu_configure()'s of_xlate() and probe_device()'s own walk).
    expect(r.log.filter((l) => l.includes('tegra_smmu_enable group from swgroup 0 not found'))).toHaveLength(
      2,
    );
  });
});

describe('fail-nth', () => {
  it.each([
    ['v6.12', 'the Jetson Nano DTB'],
    ['v6.15', 'the Jetson Nano DTB'],
    ['v6.12', 'host1x populated'],
    ['v6.15', 'host1x populated'],
  ] as const)(
    '%s, %s: each allocation failed in turn (a spread on big boots: test/support/fail-nth.ts) leaves no leak and no invariant broken',
    (profile, which) => {
      const path = which === 'host1x populated' ? host1xPopulated() : FIXTURE;
      const { desc, file, firmware } = loadInputs([path], {});
      const base = boot(desc, { profile, file, firmware });
      expect(base.allocations).toBeGreaterThan(20);
      let injected = 0;
      for (const n of failNthPoints(base.allocations)) {
        const r = boot(desc, { profile, file, firmware, failNth: n });
        if (r.failNth?.injected) injected++;
        expect(r.leaks.filter((l) => !l.knownBug)).toEqual([]);
        expect(r.invariantViolations.filter((v) => !v.knownBug)).toEqual([]);
      }
      expect(injected).toBe(failNthPoints(base.allocations).length);
    },
  );

  it('the SMMU failing to register is logged and leaves the MC bound without an instance', () => {
    // Find the run in which iommu_device_sysfs_add() is the allocation that fails.
    const { desc, file, firmware } = loadInputs([FIXTURE], {});
    const base = boot(desc, { profile: 'v6.12', file, firmware });
    let seen = false;
    for (let n = 1; n <= base.allocations && !seen; n++) {
      const r = boot(desc, { profile: 'v6.12', file, firmware, failNth: n });
      if (r.failNth?.injected?.site !== 'iommu_device_sysfs_add') continue;
      seen = true;
      expect(r.log).toContain(`${MC}: failed to probe SMMU: -12`);
      expect(dev(r, MC).driver).toBe('tegra-mc');
      expect(r.iommus).toEqual([]);
    }
    expect(seen).toBe(true);
  });
});
