// SPDX-License-Identifier: GPL-2.0-only
// The Renesas IPMMU (Linux 6.12 drivers/iommu/ipmmu-vmsa.c), booted from
// Debian's HiHope RZ/G2M (r8a774a1) DTB and from small trees written for the
// cases the fixture cannot show. Expectations come from the kernel source:
//  - ipmmu_probe(): on Gen3 (renesas,ipmmu-r8a774a1: has_cache_leaf_nodes) the
//    IPMMU without `renesas,ipmmu-main` is the root: it needs its IRQ, logs
//    "IPMMU context 0 is reserved" and registers nothing; every other IPMMU
//    defers until some root is bound (ipmmu_find_root()) and registers an
//    instance named dev_name() ("e6740000.iommu");
//  - ipmmu_of_xlate() -> ipmmu_device_is_allowed(): RZ/G2 needs opt-in
//    (soc_needs_opt_in) and r8a774a1 is on soc_denylist, so on the fixture
//    every master is refused with -ENODEV and binds without an IOMMU; on an
//    opt-in SoC that is not denied only PCI devices and the SDHI controllers
//    of devices_allowlist get through;
//  - ipmmu_ops.device_group = generic_single_device_group on arm64 (IOMMU_DMA):
//    one group per IPMMU instance for all its masters;
//  - ipmmu_attach_device(): a paging domain takes a context of the root at its
//    first attach ("Using IPMMU context N", the next device "Reusing ...");
//    a root has number_of_contexts (Gen3: 8, context 0 reserved), then -EBUSY.
// Debian's arm64 config does not build IPMMU_VMSA (it is a bool).
import { describe, expect, it } from 'vitest';
import { failNthPoints } from '../support/fail-nth.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bootInputs } from '../../src/api.js';
import type { BootResult } from '../../src/api.js';
import type { ProfileName } from '../../src/profile/profile.js';
import { parseFdt } from '../../src/firmware/fdt/fdt-parse.js';
import { allNodes, fdtNodeAvailable, getProperty } from '../../src/firmware/fdt/fdt.js';
import { Fwnode } from '../../src/base/fwnode.js';
import { Device } from '../../src/base/device.js';
import { ipmmu_device_is_allowed, renesas_soc } from '../../src/drivers/ipmmu-vmsa/soc-match.js';
import { loadInputs } from '../../src/api.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { iommu_paging_domain_alloc, iommu_domain_free } from '../../src/iommu/domain-alloc.js';
import { iommu_attach_device, iommu_detach_group } from '../../src/iommu/attach.js';
import { IS_ERR } from '../../src/kernel/errno.js';
import { teardown, leakReport } from '../../src/checker/teardown.js';
import { checkInvariants } from '../../src/checker/invariants.js';
import { dtbFile, gic, node, root, spis } from '../support/dt.js';
import type { TreeSpec } from '../support/fdt-build.js';
import { deviceNamed as dev } from '../support/boot-result.js';

const FIXTURE = fileURLToPath(
  new URL('../../../shared/fixtures/dtb/arm64-6.12-r8a774a1-hihope-rzg2m.dtb', import.meta.url),
);
const Y = { IPMMU_VMSA: 'y' } as const;

const logHas = (r: BootResult, re: RegExp) => r.log.some((l) => re.test(l));

// Every node of the fixture with an `iommus` property, from the DTS (all point
// at a cache IPMMU; the PCIe hosts use iommu-map and are disabled).
const POPULATED_MASTERS = [
  'e6700000.dma-controller', // ipmmu_ds0 0..15
  'e7300000.dma-controller', // ipmmu_ds1 0..15
  'e7310000.dma-controller', // ipmmu_ds1 16..31
  'ec700000.dma-controller', // ipmmu_mp 0..15
  'ec720000.dma-controller', // ipmmu_mp 16..31
  'ee100000.mmc', // ipmmu_ds1 32 (an allowlisted SDHI)
  'ee140000.mmc', // ipmmu_ds1 34
  'ee160000.mmc', // ipmmu_ds1 35
  'fe950000.fcp', // ipmmu_vc0 16
  'fe96f000.fcp', // ipmmu_vi0 5
  'fea27000.fcp', // ipmmu_vi0 8
  'fea2f000.fcp', // ipmmu_vi0 9
  'fea37000.fcp', // ipmmu_vi0 10
  'fe9af000.fcp', // ipmmu_vc0 19
];
const DISABLED_MASTERS = ['/soc/ethernet@e6800000', '/soc/mmc@ee120000'];
// Cache IPMMUs in registration order: the DT order, except that the three before the
// root (IPMMU-MM, e67b0000) defer until it is bound and register after the others.
const INSTANCES = [
  'ec670000.iommu',
  'fd800000.iommu',
  'fd950000.iommu',
  'fe6b0000.iommu',
  'febd0000.iommu',
  'e6740000.iommu',
  'e7740000.iommu',
  'e6570000.iommu',
];

describe('HiHope RZ/G2M (r8a774a1) fixture', () => {
  it('the expectation lists cover every node with an iommus binding', () => {
    const fdt = parseFdt(readFileSync(FIXTURE), FIXTURE);
    const withIommus = [...allNodes(fdt)].filter((n) => getProperty(n, 'iommus'));
    const available = withIommus.filter((n) => fdtNodeAvailable(n)).map((n) => n.path);
    const disabled = withIommus.filter((n) => !fdtNodeAvailable(n)).map((n) => n.path);
    expect(disabled.sort()).toEqual([...DISABLED_MASTERS].sort());
    // All available ones sit directly under the simple-bus /soc, so each is populated.
    expect(available.length).toBe(POPULATED_MASTERS.length);
    const r = bootInputs([FIXTURE], { profile: 'v6.12' });
    for (const name of POPULATED_MASTERS) expect(dev(r, name).bus).toBe('platform');
    expect(r.devices.map((d) => d.name)).not.toContain('ee120000.mmc');
  });

  it("Debian's config (IPMMU_VMSA not set): no instance; the masters wait, time out and bind without one", () => {
    const r = bootInputs([FIXTURE], { profile: 'v6.12' });
    expect(r.iommus).toEqual([]);
    expect(r.groups).toEqual([]);
    for (const name of POPULATED_MASTERS) {
      const d = dev(r, name);
      expect(d.driver).toMatch(/^of:/);
      expect(d.iommu).toBeNull();
      expect(d.fwspec).toBeNull();
      expect(d.history.join('\n')).toMatch(/ETIMEDOUT/);
    }
    expect(r.leaks).toEqual([]);
    expect(r.invariantViolations).toEqual([]);
  });

  it.each(['v6.12', 'v6.15'] as const)(
    '%s, IPMMU_VMSA=y: eight cache IPMMUs register, the root does not, and the denied SoC refuses every master',
    (profile: ProfileName) => {
      const r = bootInputs([FIXTURE], { profile, kconfig: Y });
      expect(r.iommus.map((i) => i.name)).toEqual(INSTANCES);
      expect(r.iommus.every((i) => i.driver === 'ipmmu-vmsa')).toBe(true);
      expect(r.iommus.map((i) => i.name)).not.toContain('e67b0000.iommu');
      expect(dev(r, 'e67b0000.iommu').driver).toBe('ipmmu-vmsa');
      expect(logHas(r, /e67b0000\.iommu: IPMMU context 0 is reserved/)).toBe(true);
      // ipmmu_device_is_allowed(): soc_denylist has r8a774a1, even for the allowlisted SDHIs.
      for (const name of POPULATED_MASTERS) {
        const d = dev(r, name);
        expect(d.driver).toMatch(/^of:/);
        expect(d.iommu).toBeNull();
        expect(d.fwspec).toBeNull();
        expect(d.group).toBeNull();
        expect(d.history.join('\n')).not.toMatch(/ETIMEDOUT/);
      }
      expect(r.groups).toEqual([]);
      expect(r.warnings).toEqual([]);
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
    },
  );
});

describe('ipmmu_device_is_allowed() and the SoC the root compatible names', () => {
  const tree = (compatible: string[]) => {
    const rootNode = new Fwnode('of', '/');
    rootNode.properties.set('compatible', compatible.join('\0'));
    const np = new Fwnode('of', '/soc/iommu@e7740000');
    np.parent = rootNode;
    return np;
  };
  const master = (name: string, pci = false) => {
    const d = new Device(name);
    if (pci) d.pci = {} as never;
    return d;
  };

  it('renesas_soc_init(): the family and soc_id of the first root compatible the table lists', () => {
    expect(renesas_soc(tree(['hoperun,hihope-rzg2m', 'renesas,r8a774a1']))).toEqual({
      family: 'RZ/G2',
      soc_id: 'r8a774a1',
    });
    // An H3e-2G board lists its own SoC first: soc_id r8a779m1, which no denylist entry names.
    expect(renesas_soc(tree(['renesas,h3ulcb', 'renesas,r8a779m1', 'renesas,r8a7795']))?.soc_id).toBe(
      'r8a779m1',
    );
    expect(renesas_soc(tree(['renesas,r8a779a0']))?.family).toBe('R-Car Gen4');
    expect(renesas_soc(tree(['renesas,koelsch', 'renesas,r8a7791']))).toBeNull();
  });

  it.each([
    // [root compatible, device, allowed]
    ['renesas,r8a774a1', 'ee100000.mmc', false], // denied SoC
    ['renesas,r8a7796', 'ee100000.mmc', false], // denied SoC (M3-W)
    ['renesas,r8a77961', 'ee100000.mmc', true], // M3-W+: opt-in, SDHI allowlisted
    ['renesas,r8a77961', 'e7300000.dma-controller', false], // opt-in, not allowlisted
    ['renesas,r8a779a0', 'ee140000.mmc', true],
    ['renesas,r8a774e1', 'ee160000.mmc', true], // RZ/G2H
    ['renesas,r8a774e1', 'ee180000.mmc', false],
    // r8a7795 ES2.x is denied by revision; the model has no PRR, so no revision, no match.
    ['renesas,r8a7795', 'ee100000.mmc', true],
    ['renesas,r8a7791', 'e7300000.dma-controller', true], // Gen2: no opt-in
  ] as const)('%s: %s allowed = %s', (soc, name, allowed) => {
    expect(ipmmu_device_is_allowed(master(name), tree([soc]))).toBe(allowed);
  });

  it('PCI devices are allowed on an opt-in SoC, not on a denied one', () => {
    expect(ipmmu_device_is_allowed(master('0000:01:00.0', true), tree(['renesas,r8a77961']))).toBe(true);
    expect(ipmmu_device_is_allowed(master('0000:01:00.0', true), tree(['renesas,r8a774a1']))).toBe(false);
  });
});

// ---- small trees: an IPMMU-MM root and cache IPMMUs under a simple-bus

const MM = 0x10;
const DS0 = 0x11;
const DS1 = 0x12;

interface Ipmmu {
  readonly addr: number;
  readonly phandle: number;
  /** The root's phandle (renesas,ipmmu-main), or undefined for the root itself. */
  readonly main?: number;
  readonly props?: Record<string, number | number[] | string | string[] | true>;
}

function ipmmuNode(compat: string, m: Ipmmu): TreeSpec {
  return node(
    `iommu@${m.addr.toString(16)}`,
    {
      compatible: compat,
      reg: [0, m.addr, 0, 0x1000],
      '#iommu-cells': 1,
      phandle: m.phandle,
      ...(m.main === undefined ? { interrupts: spis(2, 0xc4) } : { 'renesas,ipmmu-main': [m.main, 0] }),
      ...m.props,
    },
    [],
  );
}

function master(name: string, addr: number, iommus: number[], props: Record<string, string> = {}): TreeSpec {
  return node(`${name}@${addr.toString(16)}`, {
    compatible: `test,${name}`,
    reg: [0, addr, 0, 0x2000],
    iommus,
    ...props,
  });
}

/** A board whose root names `soc`, with `children` under a 1:1 simple-bus /soc. */
function socTree(soc: string, children: TreeSpec[]): string {
  return dtbFile(
    root(
      [
        gic(),
        node(
          'soc',
          { compatible: 'simple-bus', '#address-cells': 2, '#size-cells': 2, ranges: true },
          children,
        ),
      ],
      { compatible: ['test,board', soc] },
    ),
  );
}

function renesasTree(
  soc: string,
  ipmmus: Ipmmu[],
  masters: TreeSpec[],
  ipmmuCompat = `renesas,ipmmu-${soc.split(',')[1]}`,
): string {
  return socTree(soc, [...ipmmus.map((m) => ipmmuNode(ipmmuCompat, m)), ...masters]);
}

const GEN3_IPMMUS: Ipmmu[] = [
  { addr: 0xe6740000, phandle: DS0, main: MM },
  { addr: 0xe67b0000, phandle: MM },
  { addr: 0xe7740000, phandle: DS1, main: MM },
];

describe('an opt-in SoC that is not denied (R-Car M3-W+, r8a77961)', () => {
  const file = renesasTree('renesas,r8a77961', GEN3_IPMMUS, [
    master('mmc', 0xee100000, [DS1, 0x20]),
    master('mmc', 0xee140000, [DS1, 0x22]),
    master('dma-controller', 0xe7300000, [DS1, 0, DS1, 1]),
    master('mmc', 0xee160000, [DS0, 0x23]),
    master('mmc', 0xee200000, [DS0, 0x24]), // an SDHI-like name the allowlist does not have
  ]);

  it.each(['v6.12', 'v6.15'] as const)(
    '%s: the SDHIs get their uTLB, one group per cache IPMMU, contexts from the root',
    (profile) => {
      const r = bootInputs([file], { profile, kconfig: Y });
      expect(r.iommus.map((i) => i.name)).toEqual(['e7740000.iommu', 'e6740000.iommu']);
      const a = dev(r, 'ee100000.mmc');
      const b = dev(r, 'ee140000.mmc');
      const c = dev(r, 'ee160000.mmc');
      expect([a.iommu, b.iommu, c.iommu]).toEqual(['e7740000.iommu', 'e7740000.iommu', 'e6740000.iommu']);
      expect([a.fwspec?.ids, b.fwspec?.ids, c.fwspec?.ids]).toEqual([[0x20], [0x22], [0x23]]);
      expect(a.fwspec?.fwnode).toBe('/soc/iommu@e7740000');
      // generic_single_device_group(): both masters of e7740000 share its group; e6740000 has its own.
      expect(a.group).not.toBeNull();
      expect(b.group).toBe(a.group);
      expect(c.group).not.toBe(a.group);
      const groups = r.groups.map((g) => [...g.devices].sort());
      expect(groups.sort()).toEqual([['ee100000.mmc', 'ee140000.mmc'], ['ee160000.mmc']]);
      expect(r.groups.every((g) => g.type === 'DMA' && g.reservedRegions.length === 0)).toBe(true);
      // Not on the allowlist: refused in of_xlate(), bound without an IOMMU.
      for (const name of ['e7300000.dma-controller', 'ee200000.mmc']) {
        expect(dev(r, name).iommu).toBeNull();
        expect(dev(r, name).fwspec).toBeNull();
      }
      // Context 0 is reserved: the first domain takes 1, the group's second device reuses it,
      // the other IPMMU's domain takes the root's next context.
      const ctxLines = r.log.filter((l) => /(Using|Reusing) IPMMU context/.test(l));
      expect(ctxLines).toEqual([
        'ee100000.mmc: Using IPMMU context 1',
        'ee140000.mmc: Reusing IPMMU context 1',
        'ee160000.mmc: Using IPMMU context 2',
      ]);
      // 6.12 configures a master when its driver binds; v6.15 from the registration walk, which
      // works because d9d3cede4167 sets the drvdata before registering (the profile's ipmmuDrvdata).
      expect(a.probedAt).toBe(
        profile === 'v6.12' ? 'replay at driver bind' : 'registration of e7740000.iommu',
      );
      expect(c.probedAt).toBe(
        profile === 'v6.12' ? 'replay at driver bind' : 'registration of e6740000.iommu',
      );
      expect(r.warnings).toEqual([]);
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
    },
  );

  it('a paging domain stays with the IPMMU it was first attached through', () => {
    const two = renesasTree('renesas,r8a77961', GEN3_IPMMUS, [
      master('mmc', 0xee100000, [DS1, 0x20]),
      master('mmc', 0xee160000, [DS0, 0x23]),
    ]);
    const { desc, file: f, firmware } = loadInputs([two], { kconfig: Y });
    const { k, devices } = bootPlatform(desc, { profile: 'v6.12', file: f, firmware });
    const onDs0 = devices.get('ee160000.mmc')!;
    const onDs1 = devices.get('ee100000.mmc')!;
    const d = iommu_paging_domain_alloc(k, onDs0);
    if (IS_ERR(d)) throw new Error('no domain');
    expect(iommu_attach_device(k, d, onDs0)).toBe(0);
    expect(k.printk.lines.at(-1)?.message).toBe('Using IPMMU context 3'); // 1 and 2: the default domains
    // ipmmu_attach_device(): domain->mmu is e6740000's, this device's IPMMU is e7740000.
    expect(iommu_attach_device(k, d, onDs1)).toBe(-22);
    iommu_detach_group(k, onDs0.iommu_group!);
    iommu_domain_free(k, d);
    // The context went back to the root: the next domain takes 3 again.
    const d2 = iommu_paging_domain_alloc(k, onDs1);
    if (IS_ERR(d2)) throw new Error('no domain');
    expect(iommu_attach_device(k, d2, onDs1)).toBe(0);
    expect(k.printk.lines.at(-1)?.message).toBe('Using IPMMU context 3');
    iommu_detach_group(k, onDs1.iommu_group!);
    iommu_domain_free(k, d2);
    expect(checkInvariants(k)).toEqual([]);
    teardown(k);
    expect(leakReport(k)).toEqual([]);
  });
});

describe('Gen4 (r8a779a0) and Gen2 (renesas,ipmmu-vmsa)', () => {
  it('Gen4: the same root/cache split, 16 contexts', () => {
    const file = renesasTree('renesas,r8a779a0', GEN3_IPMMUS, [master('mmc', 0xee140000, [DS1, 0x30])]);
    const r = bootInputs([file], { profile: 'v6.12', kconfig: Y });
    expect(r.iommus.map((i) => i.name)).toEqual(['e7740000.iommu', 'e6740000.iommu']);
    expect(dev(r, 'ee140000.mmc').fwspec?.ids).toEqual([0x30]);
    expect(logHas(r, /ee140000\.mmc: Using IPMMU context 1/)).toBe(true);
  });

  it('Gen2 (r8a7791): no opt-in, every IPMMU is a root and registers, each needs its IRQ', () => {
    const file = renesasTree(
      'renesas,r8a7791',
      [
        { addr: 0xe6740000, phandle: DS0 },
        { addr: 0xe7740000, phandle: DS1 },
      ],
      [master('dma-controller', 0xe6700000, [DS0, 0]), master('mmc', 0xee100000, [DS1, 5])],
      'renesas,ipmmu-vmsa',
    );
    const r = bootInputs([file], { profile: 'v6.12', kconfig: Y });
    expect(r.iommus.map((i) => i.name)).toEqual(['e6740000.iommu', 'e7740000.iommu']);
    expect(dev(r, 'e6700000.dma-controller').fwspec?.ids).toEqual([0]);
    expect(dev(r, 'e6700000.dma-controller').iommu).toBe('e6740000.iommu');
    expect(dev(r, 'ee100000.mmc').iommu).toBe('e7740000.iommu');
    // The default features have one context and do not reserve it.
    expect(logHas(r, /context 0 is reserved/)).toBe(false);
    expect(logHas(r, /e6700000\.dma-controller: Using IPMMU context 0/)).toBe(true);
  });

  it('a SoC the renesas-soc table does not know allows every master; the root runs out of contexts', () => {
    // Gen3 IPMMUs under a root compatible renesas_soc_init() does not list (what a kernel
    // without the SoC's ARCH_R8A* option sees): no soc device, no opt-in, every master allowed.
    const caches = Array.from({ length: 8 }, (_, i) => ({
      addr: 0xe6000000 + i * 0x10000,
      phandle: 0x20 + i,
      main: MM,
    }));
    const file = renesasTree(
      'test,unknown-soc',
      [{ addr: 0xe67b0000, phandle: MM }, ...caches],
      caches.map((c, i) => master('dma-controller', 0xe5000000 + i * 0x10000, [c.phandle, 0])),
      'renesas,ipmmu-r8a77961',
    );
    const r = bootInputs([file], { profile: 'v6.12', kconfig: Y });
    expect(r.iommus).toHaveLength(8);
    const used = r.log
      .filter((l) => /Using IPMMU context/.test(l))
      .map((l) => Number(/context (\d+)/.exec(l)![1]));
    // Eight contexts, 0 reserved: seven DMA domains fit, the eighth attach gets -EBUSY.
    expect(used.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(r.log.filter((l) => /Unable to initialize IPMMU context/.test(l))).toHaveLength(1);
    const grouped = caches.map((_, i) => dev(r, `${(0xe5000000 + i * 0x10000).toString(16)}.dma-controller`));
    expect(grouped.filter((d) => d.group !== null)).toHaveLength(7);
    expect(r.leaks).toEqual([]);
    expect(r.invariantViolations).toEqual([]);
  });
});

describe('malformed and unusual trees', () => {
  const sdhi = master('mmc', 0xee100000, [DS1, 0x20]);

  it('a cache IPMMU whose root is disabled defers for ever; its master times out', () => {
    const file = renesasTree(
      'renesas,r8a77961',
      [
        { addr: 0xe67b0000, phandle: MM, props: { status: 'disabled' } },
        { addr: 0xe7740000, phandle: DS1, main: MM },
      ],
      [sdhi],
    );
    const r = bootInputs([file], { profile: 'v6.12', kconfig: Y });
    expect(r.iommus).toEqual([]);
    expect(dev(r, 'e7740000.iommu').driver).toBeNull();
    expect(dev(r, 'ee100000.mmc').iommu).toBeNull();
    expect(dev(r, 'ee100000.mmc').history.join('\n')).toMatch(/ETIMEDOUT/);
    expect(r.leaks).toEqual([]);
  });

  it('a root without interrupts fails with -ENXIO, so the cache IPMMUs never find a root', () => {
    const file = socTree('renesas,r8a77961', [
      node('iommu@e67b0000', {
        compatible: 'renesas,ipmmu-r8a77961',
        reg: [0, 0xe67b0000, 0, 0x1000],
        '#iommu-cells': 1,
        phandle: MM,
      }),
      ipmmuNode('renesas,ipmmu-r8a77961', { addr: 0xe7740000, phandle: DS1, main: MM }),
      sdhi,
    ]);
    const r = bootInputs([file], { profile: 'v6.12', kconfig: Y });
    expect(logHas(r, /e67b0000\.iommu: error -ENXIO: IRQ index 0 not found/)).toBe(true);
    expect(dev(r, 'e67b0000.iommu').driver).toBeNull();
    expect(dev(r, 'e7740000.iommu').driver).toBeNull();
    expect(r.iommus).toEqual([]);
    expect(dev(r, 'ee100000.mmc').iommu).toBeNull();
    expect(r.leaks).toEqual([]);
  });

  it('an IPMMU without reg: "invalid resource", -EINVAL, no instance', () => {
    const file = socTree('renesas,r8a77961', [
      ipmmuNode('renesas,ipmmu-r8a77961', { addr: 0xe67b0000, phandle: MM }),
      node('iommu@e7740000', {
        compatible: 'renesas,ipmmu-r8a77961',
        'renesas,ipmmu-main': [MM, 1],
        '#iommu-cells': 1,
        phandle: DS1,
      }),
      sdhi,
    ]);
    const r = bootInputs([file], { profile: 'v6.12', kconfig: Y });
    // of_device_make_bus_id() without `reg`: node names up to the root.
    expect(logHas(r, /soc:iommu@e7740000: error -EINVAL: invalid resource \(null\)/)).toBe(true);
    expect(r.iommus).toEqual([]);
    expect(dev(r, 'ee100000.mmc').iommu).toBeNull();
    expect(r.leaks).toEqual([]);
  });

  it('#iommu-cells = <0>: the cell count is not checked (the model reads uTLB 0)', () => {
    const file = renesasTree(
      'renesas,r8a77961',
      [
        { addr: 0xe67b0000, phandle: MM },
        { addr: 0xe7740000, phandle: DS1, main: MM, props: { '#iommu-cells': 0 } },
      ],
      [master('mmc', 0xee100000, [DS1])],
    );
    const r = bootInputs([file], { profile: 'v6.12', kconfig: Y });
    expect(dev(r, 'ee100000.mmc').iommu).toBe('e7740000.iommu');
    expect(dev(r, 'ee100000.mmc').fwspec?.ids).toEqual([0]);
  });

  it('a phandle to a disabled cache IPMMU: of_iommu_xlate() gives -ENODEV, no IOMMU, no wait', () => {
    const file = renesasTree(
      'renesas,r8a77961',
      [
        { addr: 0xe67b0000, phandle: MM },
        { addr: 0xe7740000, phandle: DS1, main: MM, props: { status: 'disabled' } },
      ],
      [sdhi],
    );
    const r = bootInputs([file], { profile: 'v6.12', kconfig: Y });
    expect(r.iommus).toEqual([]);
    const d = dev(r, 'ee100000.mmc');
    expect(d.iommu).toBeNull();
    expect(d.history.join('\n')).not.toMatch(/ETIMEDOUT/);
  });

  it('entries naming two IPMMUs: no check, the IDs pile up under the first one', () => {
    const file = renesasTree('renesas,r8a77961', GEN3_IPMMUS, [
      master('mmc', 0xee100000, [DS1, 0x20, DS0, 0x21]),
    ]);
    const r = bootInputs([file], { profile: 'v6.12', kconfig: Y });
    const d = dev(r, 'ee100000.mmc');
    expect(d.iommu).toBe('e7740000.iommu');
    expect(d.fwspec).toMatchObject({ fwnode: '/soc/iommu@e7740000', ids: [0x20, 0x21] });
  });
});

describe('a registration that fails', () => {
  it('v6.7 (one IOMMU driver per system): -EBUSY after an SMMUv3; 6.12-era code keeps the sysfs device', () => {
    // iommu_device_register() refuses a second set of ops up to v6.7; ipmmu_probe() returns
    // without iommu_device_sysfs_remove() (fixed with d9d3cede4167 in v6.15).
    const file = socTree('renesas,r8a77961', [
      node('iommu@fd000000', {
        compatible: 'arm,smmu-v3',
        reg: [0, 0xfd000000, 0, 0x20000],
        '#iommu-cells': 1,
      }),
      ...GEN3_IPMMUS.map((m) => ipmmuNode('renesas,ipmmu-r8a77961', m)),
      master('mmc', 0xee100000, [DS1, 0x20]),
    ]);
    const r = bootInputs([file], { profile: 'v6.7', kconfig: Y });
    expect(r.iommus.map((i) => i.driver)).toEqual(['arm-smmu-v3']);
    expect(logHas(r, /e7740000\.iommu: probe with driver ipmmu-vmsa failed with error -16/)).toBe(true);
    expect(r.leaks.map((l) => [l.owner, l.knownBug])).toEqual([
      ['e7740000.iommu', 'ipmmu-register-failure-sysfs-leak'],
      ['e6740000.iommu', 'ipmmu-register-failure-sysfs-leak'],
    ]);
    expect(dev(r, 'ee100000.mmc').iommu).toBeNull();
  });
});

describe('fail-nth', () => {
  const allowed = renesasTree('renesas,r8a77961', GEN3_IPMMUS, [
    master('mmc', 0xee100000, [DS1, 0x20]),
    master('mmc', 0xee140000, [DS1, 0x22]),
    master('mmc', 0xee160000, [DS0, 0x23]),
  ]);
  it.each([
    ['fixture', 'v6.12', FIXTURE],
    ['fixture', 'v6.15', FIXTURE],
    ['allowed SoC', 'v6.12', allowed],
    ['allowed SoC', 'v6.15', allowed],
  ] as const)(
    '%s, %s: each allocation failed in turn (a spread on big boots: test/support/fail-nth.ts) leaves no leak and no invariant broken',
    (_n, profile, f) => {
      const base = bootInputs([f], { profile, kconfig: Y });
      expect(base.allocations).toBeGreaterThan(20);
      let injected = 0;
      for (const n of failNthPoints(base.allocations)) {
        const r = bootInputs([f], { profile, kconfig: Y, failNth: n });
        if (r.failNth?.injected) injected++;
        expect(r.leaks.filter((l) => !l.knownBug)).toEqual([]);
        expect(r.invariantViolations.filter((v) => !v.knownBug)).toEqual([]);
      }
      expect(injected).toBe(failNthPoints(base.allocations).length);
    },
  );
});
