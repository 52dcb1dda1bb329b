// SPDX-License-Identifier: GPL-2.0-only
// arm-smmu (SMMUv1/v2, MMU-400/401/500, Qualcomm's) on the real device trees
// Debian ships, against expectations written from the 6.12 source:
//  - of_iommu_configure() gives each `iommus` entry to arm_smmu_of_xlate():
//    fwid = SID | mask << 16, the mask from the entry's second cell or the
//    SMMU node's `stream-match-mask`; a disabled SMMU gives -ENODEV;
//  - arm_smmu_master_alloc_smes()/arm_smmu_find_sme(): an entry covered by an
//    existing SMR shares it, a partial overlap is -EINVAL;
//  - arm_smmu_device_group(): masters sharing a stream map entry share the
//    group, others get generic_device_group() / pci_device_group();
//  - the instance is "smmu.%pa" of the SMMU's MMIO base;
//  - qcom_smmu_def_domain_type(): display, GPU and modem clients get identity.
// The oracle below reads the blob itself (the parser is checked byte for byte
// against dtc elsewhere) and predicts each master's instance and IDs without
// the OF or driver code.
import { describe, expect, it } from 'vitest';
import { failNthPoints } from '../support/fail-nth.js';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bootInputs, type BootResult } from '../../src/api.js';
import { parseFdt } from '../../src/firmware/fdt/fdt-parse.js';
import {
  allNodes,
  fdtCompatible,
  fdtNodeAvailable,
  propU32,
  propU32s,
  type Fdt,
  type FdtNode,
} from '../../src/firmware/fdt/fdt.js';
import { ofDeviceBusId } from '../../src/firmware/fdt/of-platform.js';
import {
  arm_smmu_find_sme,
  newStreamMap,
  arm_smmu_master_alloc_smes,
} from '../../src/drivers/arm-smmu/stream-map.js';
import { dtbFile, gic, node, root, spis } from '../support/dt.js';

const fixtures = fileURLToPath(new URL('../../../shared/fixtures/dtb/', import.meta.url));
const groundtruth = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));
const dtb = (name: string) => fixtures + name;

const SMMU_COMPATIBLES = [
  'arm,smmu-v1',
  'arm,smmu-v2',
  'arm,mmu-400',
  'arm,mmu-401',
  'arm,mmu-500',
  'qcom,smmu-v2',
];

interface Predicted {
  /** The master's device name (of_device_make_bus_id()). */
  readonly dev: string;
  /** "smmu.0x…" or null when the SMMU is disabled. */
  readonly iommu: string | null;
  readonly ids: number[];
}

/**
 * of_platform_default_populate() restated: an available node with a compatible
 * whose ancestors up to the root are all available bus nodes (or /firmware).
 * Nodes below a device (a remoteproc's fastrpc context banks, say) are made
 * by that device's driver, not at boot.
 */
function populatedAtBoot(n: FdtNode): boolean {
  if (!fdtNodeAvailable(n) || !n.properties.some((p) => p.name === 'compatible')) return false;
  for (let p = n.parent; p && p.parent; p = p.parent) {
    const top = p.parent.parent === null;
    if (top && p.name === 'firmware') continue;
    if (!fdtNodeAvailable(p) || !fdtCompatible(p, 'simple-bus', 'simple-mfd', 'isa', 'arm,amba-bus'))
      return false;
  }
  return true;
}

/** Every populated master whose `iommus` name an arm-smmu: its instance and fwspec IDs. */
function predict(fdt: Fdt): Predicted[] {
  const out: Predicted[] = [];
  const isSmmu = (n: FdtNode) => fdtCompatible(n, ...SMMU_COMPATIBLES);
  for (const n of allNodes(fdt)) {
    const list = propU32s(n, 'iommus');
    if (!list || !populatedAtBoot(n) || !propU32s(n, 'reg')) continue;
    const ids: number[] = [];
    let smmu: FdtNode | null = null;
    for (let i = 0; i < list.length;) {
      const target = fdt.phandles.get(list[i++])!;
      const cells = propU32(target, '#iommu-cells')!;
      const args = list.slice(i, i + cells);
      i += cells;
      if (!isSmmu(target)) continue;
      smmu = target;
      const mask = cells > 1 ? args[1] : (propU32(target, 'stream-match-mask') ?? 0);
      ids.push(((args[0] & 0xffff) | ((mask & 0xffff) << 16)) >>> 0);
    }
    if (!smmu) continue;
    const reg = propU32s(smmu, 'reg')!;
    const base = (BigInt(reg[0]) << 32n) | BigInt(reg[1]);
    out.push({
      dev: ofDeviceBusId(n),
      iommu: fdtNodeAvailable(smmu) ? `smmu.0x${base.toString(16).padStart(16, '0')}` : null,
      ids: fdtNodeAvailable(smmu) ? ids : [],
    });
  }
  return out;
}

function byName(r: BootResult) {
  return new Map(r.devices.map((d) => [d.name, d]));
}

/** Masters that share an identical stream entry on one SMMU, as sets of names (the groups). */
function predictedSharing(p: Predicted[]): string[][] {
  const parent = new Map(p.map((m) => [m.dev, m.dev]));
  const find = (x: string): string => (parent.get(x) === x ? x : find(parent.get(x)!));
  const seen = new Map<string, string>();
  for (const m of p)
    for (const id of m.ids) {
      const key = `${m.iommu} ${id}`;
      const other = seen.get(key);
      if (other) parent.set(find(m.dev), find(other));
      else seen.set(key, m.dev);
    }
  const sets = new Map<string, string[]>();
  for (const m of p) if (m.iommu) sets.set(find(m.dev), [...(sets.get(find(m.dev)) ?? []), m.dev]);
  return [...sets.values()].map((s) => s.sort()).sort();
}

function actualGroups(r: BootResult, masters: Set<string>): string[][] {
  return r.groups
    .map((g) => g.devices.filter((d) => masters.has(d)).sort())
    .filter((g) => g.length)
    .sort();
}

describe('arm-smmu on Debian 6.12 device trees (v6.12, every device bound)', () => {
  for (const file of [
    'arm64-6.12-juno-r1.dtb',
    'arm64-6.12-amd-overdrive-rev-b1.dtb',
    'arm64-6.12-sdm845-db845c.dtb',
    'arm64-6.12-armada-8040-mcbin.dtb',
  ]) {
    it(`${file}: every master's instance and stream IDs, and the groups shared streams make`, () => {
      const fdt = parseFdt(readFileSync(dtb(file)), file);
      const want = predict(fdt);
      expect(want.length).toBeGreaterThan(0);
      const r = bootInputs([dtb(file)], { profile: 'v6.12' });
      const devs = byName(r);
      for (const m of want) {
        const d = devs.get(m.dev);
        expect(d, m.dev).toBeDefined();
        expect(d!.iommu, m.dev).toBe(m.iommu);
        expect(d!.fwspec?.ids ?? [], m.dev).toEqual(m.ids);
        // Bound either way: with the SMMU, or without it once of_iommu_xlate() said -ENODEV.
        expect(d!.driver, m.dev).not.toBeNull();
      }
      expect(actualGroups(r, new Set(want.map((m) => m.dev)))).toEqual(predictedSharing(want));
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
      expect(r.warnings).toEqual([]);
    });
  }

  it('Juno r1: six MMU-401s register, the disabled MMU-400 does not; OHCI and EHCI share stream 0 of one SMMU', () => {
    const r = bootInputs([dtb('arm64-6.12-juno-r1.dtb')], { profile: 'v6.12' });
    expect(r.iommus.map((i) => i.name).sort()).toEqual([
      'smmu.0x000000002b500000',
      'smmu.0x000000002b600000',
      'smmu.0x000000007fb00000',
      'smmu.0x000000007fb10000',
      'smmu.0x000000007fb20000',
      'smmu.0x000000007fb30000',
    ]);
    const usb = r.groups.find((g) => g.devices.includes('7ffb0000.usb'));
    expect(usb?.devices.sort()).toEqual(['7ffb0000.usb', '7ffc0000.usb']);
    expect(usb?.why.some((w) => w.includes('S2CR 0'))).toBe(true);
    // The software MSI window of arm_smmu_get_resv_regions().
    expect(usb?.reservedRegions).toEqual([
      { start: '0x0000000008000000', end: '0x00000000080fffff', type: 'msi' },
    ]);
  });

  it('Juno r1 PCIe: iommu-map-mask 0 sends every RID to stream 0, so every PCI function shares one group', () => {
    const r = bootInputs(
      [dtb('arm64-6.12-juno-r1.dtb'), groundtruth + 'arm64-virt-smmuv3-dt-bridge/lspci.txt'],
      { profile: 'v6.12' },
    );
    const pci = r.devices.filter((d) => d.bus === 'pci' && d.iommu);
    expect(pci.length).toBeGreaterThanOrEqual(5);
    for (const d of pci) {
      expect(d.iommu).toBe('smmu.0x000000002b500000');
      expect(d.fwspec?.ids.every((id) => id === 0)).toBe(true);
    }
    expect(new Set(pci.map((d) => d.group)).size).toBe(1);
  });

  it('AMD Seattle: two-cell entries carry their SMR mask (SID 0 mask 0x17 covers streams 0-7 and 16-23)', () => {
    const r = bootInputs([dtb('arm64-6.12-amd-overdrive-rev-b1.dtb')], { profile: 'v6.12' });
    const d = byName(r);
    expect(d.get('e0700000.xgmac')?.fwspec?.ids).toEqual([0x170000]);
    expect(d.get('e0300000.sata')?.fwspec?.ids).toEqual([0x1f0000]);
    expect(d.get('e0100000.ccp')?.fwspec?.ids).toEqual([0x0, 0x2, 0x40, 0x42]);
  });

  it('SDM845: Qualcomm clients (MDSS, Adreno GPU and GMU) get identity, the rest DMA; shared SIDs share groups', () => {
    const r = bootInputs([dtb('arm64-6.12-sdm845-db845c.dtb')], { profile: 'v6.12' });
    const groupOf = (dev: string) => r.groups.find((g) => g.devices.includes(dev))!;
    for (const dev of ['ae00000.display-subsystem', '5000000.gpu', '506a000.gmu'])
      expect(groupOf(dev).type, dev).toBe('identity');
    expect(groupOf('1d84000.ufshc').type).toBe('DMA');
    expect(groupOf('1dfa000.crypto').devices.sort()).toEqual(['1dc4000.dma-controller', '1dfa000.crypto']);
    // The GPU's SMMU is qcom,adreno-smmu with the sdm845-smmu-v2 entry of qcom_smmu_impl_of_match[].
    expect(byName(r).get('5000000.gpu')?.iommu).toBe('smmu.0x0000000005040000');
  });

  it('SDM845 with ARM_SMMU_QCOM=n: no Qualcomm implementation, so no identity opinion', () => {
    const r = bootInputs([dtb('arm64-6.12-sdm845-db845c.dtb')], {
      profile: 'v6.12',
      kconfig: { ARM_SMMU_QCOM: false },
    });
    expect(r.groups.find((g) => g.devices.includes('ae00000.display-subsystem'))?.type).toBe('DMA');
  });

  it('Armada 8040: the AP806 SMMU is disabled, so its masters bind without an IOMMU', () => {
    const r = bootInputs([dtb('arm64-6.12-armada-8040-mcbin.dtb')], { profile: 'v6.12' });
    expect(r.iommus).toEqual([]);
    expect(
      byName(r)
        .get('f06e0000.mmc')
        ?.history.some((h) => h.includes('-ENODEV')),
    ).toBe(true);
  });

  it('ARM_SMMU=n (a kernel without the driver): masters wait, then bind without an IOMMU at the deferred-probe timeout', () => {
    const r = bootInputs([dtb('arm64-6.12-juno-r1.dtb')], { profile: 'v6.12', kconfig: { ARM_SMMU: 'n' } });
    expect(r.iommus).toEqual([]);
    const etr = byName(r).get('20070000.etr')!;
    expect(etr.driver).toBe('of:arm,coresight-tmc');
    expect(etr.history).toContain('of_iommu_configure(): -ETIMEDOUT');
  });

  it('v6.15: firmware is configured at device_add, so masters have groups with no driver bound (--bind none)', () => {
    const old = bootInputs([dtb('arm64-6.12-juno-r1.dtb')], { profile: 'v6.12', bind: 'none' });
    const now = bootInputs([dtb('arm64-6.12-juno-r1.dtb')], { profile: 'v6.15', bind: 'none' });
    expect(old.groups).toEqual([]);
    expect(byName(now).get('7ff50000.hdlcd')?.driver).toBeNull();
    expect(byName(now).get('7ff50000.hdlcd')?.iommu).toBe('smmu.0x000000007fb10000');
    expect(now.groups.length).toBe(5);
  });

  it('fail-nth over the Juno boot: each allocation failed in turn (a spread on big boots: test/support/fail-nth.ts) leaves no leak and no invariant broken', () => {
    const base = bootInputs([dtb('arm64-6.12-juno-r1.dtb')], { profile: 'v6.12' });
    let injected = 0;
    for (const n of failNthPoints(base.allocations)) {
      const r = bootInputs([dtb('arm64-6.12-juno-r1.dtb')], { profile: 'v6.12', failNth: n });
      if (r.failNth?.injected) injected++;
      expect(
        r.leaks.filter((l) => !l.knownBug),
        `fail-nth ${n}`,
      ).toEqual([]);
      expect(
        r.invariantViolations.filter((v) => !v.knownBug),
        `fail-nth ${n}`,
      ).toEqual([]);
    }
    expect(injected).toBe(failNthPoints(base.allocations).length);
  });
});

/** An SMMU node and masters for small trees. */
function smmu(name: string, base: number, props: Record<string, number | number[] | string | true> = {}) {
  return node(name, {
    compatible: ['arm,mmu-500'],
    reg: [0, base, 0, 0x10000],
    '#iommu-cells': 2,
    '#global-interrupts': 1,
    interrupts: spis(3),
    phandle: 2,
    ...props,
  });
}
const master = (name: string, base: number, iommus: number[]) =>
  node(name, { compatible: 'test,master', reg: [0, base, 0, 0x1000], iommus });

describe('arm-smmu stream matching, on small trees', () => {
  it('a second master whose SMR partly overlaps the first is refused (-EINVAL), one entirely covered shares', () => {
    const file = dtbFile(
      root([
        gic(),
        smmu('iommu@10000000', 0x10000000),
        master('a@20000000', 0x20000000, [2, 0x10, 0x3]), // streams 0x10-0x13
        master('b@20001000', 0x20001000, [2, 0x12, 0x0]), // stream 0x12: covered, shares
        master('c@20002000', 0x20002000, [2, 0x13, 0x4]), // 0x13 and 0x17: overlaps 0x13 only
      ]),
    );
    const r = bootInputs([file], { profile: 'v6.12' });
    const d = byName(r);
    expect(d.get('20000000.a')?.group).toBe(d.get('20001000.b')?.group);
    expect(d.get('20002000.c')?.iommu).toBeNull();
    expect(d.get('20002000.c')?.fwspec).toBeNull(); // freed by arm_smmu_probe_device()'s unwind
    expect(r.log.some((l) => l.includes('20002000.c: Adding to IOMMU failed: -22'))).toBe(true);
  });

  it('a stream ID wider than the SMMU takes is refused with the kernel message', () => {
    // An SMMUv1 (MMU-401) has no extended stream IDs: 15 bits at most (ID0.NUMSIDB).
    const file = dtbFile(
      root([
        gic(),
        smmu('iommu@10000000', 0x10000000, { compatible: 'arm,mmu-401' }),
        master('a@20000000', 0x20000000, [2, 0x8000, 0]),
      ]),
    );
    const r = bootInputs([file], { profile: 'v6.12' });
    expect(r.log).toContain('20000000.a: stream ID 0x8000 out of range for SMMU (0x7fff)');
    expect(byName(r).get('20000000.a')?.iommu).toBeNull();
    // An SMMUv2 (MMU-500) may have ID0.EXIDS: the model takes the 16-bit stream IDs it allows.
    const v2 = dtbFile(
      root([gic(), smmu('iommu@10000000', 0x10000000), master('a@20000000', 0x20000000, [2, 0x8000, 0])]),
    );
    expect(byName(bootInputs([v2], { profile: 'v6.12' })).get('20000000.a')?.iommu).toBe(
      'smmu.0x0000000010000000',
    );
  });

  it('an SMMU without #global-interrupts, or without context interrupts, does not probe', () => {
    const noGlobal = dtbFile(
      root([gic(), smmu('iommu@10000000', 0x10000000, { '#global-interrupts': [] as number[] })]),
    );
    // An empty #global-interrupts reads as no value at all.
    const r1 = bootInputs([noGlobal], { profile: 'v6.12' });
    expect(r1.iommus).toEqual([]);
    expect(r1.log).toContain('10000000.iommu: missing #global-interrupts property');
    const oneIrq = dtbFile(root([gic(), smmu('iommu@10000000', 0x10000000, { interrupts: spis(1) })]));
    const r2 = bootInputs([oneIrq], { profile: 'v6.12' });
    expect(r2.iommus).toEqual([]);
    expect(r2.log).toContain('10000000.iommu: found 1 interrupts but expected at least 2');
  });

  it('stream-match-mask on the SMMU node supplies the mask for one-cell entries', () => {
    const file = dtbFile(
      root([
        gic(),
        smmu('iommu@10000000', 0x10000000, { '#iommu-cells': 1, 'stream-match-mask': 0x7c00 }),
        master('a@20000000', 0x20000000, [2, 0x5]),
      ]),
    );
    expect(byName(bootInputs([file], { profile: 'v6.12' })).get('20000000.a')?.fwspec?.ids).toEqual([
      0x7c000005,
    ]);
  });
});

describe('the legacy mmu-masters binding', () => {
  const legacy = dtb('synthetic-legacy-mmu-masters.dtb');

  it('without CONFIG_ARM_SMMU_LEGACY_DT_BINDINGS (Debian): the SMMUs register as global instances, no master is found', () => {
    const r = bootInputs([legacy], { profile: 'v6.12' });
    expect(r.log).toContain(
      'arm-smmu: deprecated "mmu-masters" DT property in use; SMMU support unavailable',
    );
    expect(r.iommus.map((i) => i.fwnode)).toEqual([null, null]);
    expect(r.groups).toEqual([]);
  });

  it("with it: a master of an SMMU that was already bound is found at the next SMMU's registration, with identity", () => {
    const r = bootInputs([legacy], { profile: 'v6.12', kconfig: { ARM_SMMU_LEGACY_DT_BINDINGS: true } });
    expect(r.log).toContain(
      'arm-smmu: deprecated "mmu-masters" DT property in use; DMA API support unavailable',
    );
    const eth = byName(r).get('e0700000.ethernet')!;
    expect(eth.iommu).toBe('smmu.0x00000000e0600000');
    expect(eth.fwspec?.ids).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17]);
    expect(eth.probedAt).toBe('registration of smmu.0x00000000e0a00000');
    // arm_smmu_def_domain_type(): the legacy binding always asks for identity.
    expect(r.groups.find((g) => g.devices.includes('e0700000.ethernet'))?.type).toBe('identity');
  });

  it('with it: masters of the last SMMU to register are never found (its walk runs before it is bound)', () => {
    const r = bootInputs([legacy, groundtruth + 'arm64-virt-smmuv3-dt-bridge/lspci.txt'], {
      profile: 'v6.12',
      kconfig: { ARM_SMMU_LEGACY_DT_BINDINGS: true },
    });
    // The PCI host is listed by the second SMMU, the last to register.
    expect(r.devices.filter((d) => d.bus === 'pci' && d.iommu)).toEqual([]);
  });

  it('with it: PCI functions listed through their host take their requester ID as stream ID', () => {
    // The same machine with the PCI host behind the first SMMU instead.
    const tree = root([
      gic(),
      node('pcie@f0000000', {
        compatible: 'pci-host-ecam-generic',
        device_type: 'pci',
        '#address-cells': 3,
        '#size-cells': 2,
        reg: [0, 0xf0000000, 0, 0x10000000],
        '#stream-id-cells': 1,
        phandle: 3,
      }),
      node('iommu@e0600000', {
        compatible: 'arm,mmu-401',
        reg: [0, 0xe0600000, 0, 0x10000],
        '#global-interrupts': 1,
        interrupts: spis(2),
        'mmu-masters': [3, 0x100],
      }),
      node('iommu@e0a00000', {
        compatible: 'arm,mmu-500',
        reg: [0, 0xe0a00000, 0, 0x10000],
        '#global-interrupts': 1,
        interrupts: spis(2),
        'mmu-masters': [],
      }),
    ]);
    const r = bootInputs([dtbFile(tree), groundtruth + 'arm64-virt-smmuv3-dt-bridge/lspci.txt'], {
      profile: 'v6.12',
      kconfig: { ARM_SMMU_LEGACY_DT_BINDINGS: true },
    });
    const d = byName(r);
    expect(d.get('0000:02:00.0')?.fwspec?.ids).toEqual([0x200]);
    // Behind the conventional bridge 00:09.0 the SMMU sees the bridge's ID (the last alias).
    expect(d.get('0000:01:01.0')?.fwspec?.ids).toEqual([0x48]);
    expect(d.get('0000:01:01.0')?.group).toBe(d.get('0000:00:09.0')?.group);
  });

  it('an SMMU with the generic binding after a legacy one is refused: mismatched DT properties', () => {
    const tree = root([
      gic(),
      node('eth@e0700000', {
        compatible: 'test,eth',
        reg: [0, 0xe0700000, 0, 0x1000],
        '#stream-id-cells': 1,
        phandle: 4,
      }),
      node('iommu@e0600000', {
        compatible: 'arm,mmu-401',
        reg: [0, 0xe0600000, 0, 0x10000],
        '#global-interrupts': 1,
        interrupts: spis(2),
        'mmu-masters': [4, 0x7],
      }),
      smmu('iommu@e0a00000', 0xe0a00000),
    ]);
    const r = bootInputs([dtbFile(tree)], { profile: 'v6.12' });
    expect(r.log).toContain('e0a00000.iommu: not probing due to mismatched DT properties');
    expect(r.iommus.map((i) => i.name)).toEqual(['smmu.0x00000000e0600000']);
  });
});

describe('arm_smmu_find_sme() against a brute-force oracle', () => {
  // Streams are 6 bits wide here so every stream can be enumerated.
  const streams = (id: number, mask: number) =>
    new Set(Array.from({ length: 64 }, (_, s) => s).filter((s) => ((s ^ id) & ~mask & 0x3f) === 0));
  const entry = fc.record({ id: fc.integer({ min: 0, max: 63 }), mask: fc.integer({ min: 0, max: 63 }) });

  it('shares an entry exactly when it covers every stream, refuses exactly on a partial overlap', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 6 }), entry, (existing, e) => {
        const map = newStreamMap(16, true);
        const held: { id: number; mask: number }[] = [];
        for (const x of existing) {
          const r = arm_smmu_master_alloc_smes(map, [x.id | (x.mask << 16)]);
          if (typeof r !== 'number') held.push(x);
        }
        const want = streams(e.id, e.mask);
        const idx = arm_smmu_find_sme(map, e.id, e.mask);
        const live = map.smrs!.map((s, i) => ({ ...s, i })).filter((s) => s.valid);
        const covering = live.find((s) => [...want].every((x) => streams(s.id, s.mask).has(x)));
        const firstCovering = live.find((s) => {
          const before = live.filter((t) => t.i < s.i);
          return s === covering && !before.some((t) => [...want].some((x) => streams(t.id, t.mask).has(x)));
        });
        if (firstCovering) expect(idx).toBe(firstCovering.i);
        else if (live.some((s) => [...want].some((x) => streams(s.id, s.mask).has(x)))) expect(idx).toBe(-22);
        else expect(idx).toBe(map.smrs!.findIndex((s) => !s.valid));
        // The live SMRs never overlap: a stream matches one entry at most.
        for (const a of live)
          for (const b of live) {
            if (a === b) continue;
            const sb = streams(b.id, b.mask);
            expect([...streams(a.id, a.mask)].some((x) => sb.has(x))).toBe(false);
          }
        // Every request that was accepted is served by one live entry that covers it.
        for (const h of held)
          expect(
            live.some((s) => [...streams(h.id, h.mask)].every((x) => streams(s.id, s.mask).has(x))),
          ).toBe(true);
      }),
    );
  });

  it('runs out of entries with -ENOSPC and gives back what it took', () => {
    const map = newStreamMap(2, true);
    expect(arm_smmu_master_alloc_smes(map, [1, 2, 3])).toBe(-28);
    expect(map.smrs!.every((s) => !s.valid)).toBe(true);
    expect(map.s2crs.every((s) => s.count === 0)).toBe(true);
  });
});
