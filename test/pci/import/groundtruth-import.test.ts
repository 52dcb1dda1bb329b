// SPDX-License-Identifier: GPL-2.0-only
/**
 * The twelve groundtruth lspci.txt files (real `lspci -D -xxxx` from Linux
 * 6.12 under QEMU 7.2) through the importer: each imports and builds; the
 * decoded facts are those the scenario READMEs and the groundtruth README's
 * "Cross-scenario facts" state (QEMU's pcie-root-port has ACS cap 0x5f at
 * 0x148, enabled to 0x1d by ACPI firmware and left 0 under a device tree;
 * ioh3420/x3130/xio3130, virtio and e1000/e1000e have no ACS); and for the
 * DMAR (and IVRS) scenarios, pci_device_group() on the imported topology,
 * with ACS requested before enumeration and every function probed in bus
 * order, gives the partition and the group numbers of expected.txt.
 */
import { describe, expect, it } from 'vitest';
import { importLspci, parseLspci } from '../../../src/pci/import/lspci.js';
import { decodeConfig } from '../../../src/pci/config/decode.js';
import { buildPciTopology } from '../../../src/pci/topology-build.js';
import type { PciFunctionJson } from '../../../src/pci/topology-schema.js';
import { build, groupIds, newKernel, partition, probeGroups } from '../helpers.js';
import {
  expectedGroupIds,
  expectedPartition,
  lspciPath,
  lspciText,
  readmeDevices,
  scenarios,
} from './helpers.js';

/** What QEMU 7.2's devices are, by vendor:device, as the READMEs describe them. */
const known: Record<string, { type: string; acs?: { cap: number; offset: number } }> = {
  '1b36:000c': { type: 'root-port', acs: { cap: 0x5f, offset: 0x148 } }, // pcie-root-port
  '8086:3420': { type: 'root-port' }, // ioh3420
  '104c:8232': { type: 'upstream-port' }, // x3130-upstream
  '104c:8233': { type: 'downstream-port' }, // xio3130-downstream
  '1b36:0001': { type: 'pci-bridge' }, // pci-bridge (conventional)
  '8086:10d3': { type: 'endpoint' }, // e1000e
  '8086:100e': { type: 'conventional' }, // e1000 behind the conventional bridge
  '8086:29c0': { type: 'conventional' }, // q35 MCH
  '8086:2918': { type: 'conventional' }, // ICH9 LPC
  '8086:2922': { type: 'conventional' }, // ICH9 SATA
  '8086:2930': { type: 'conventional' }, // ICH9 SMBus
  '1b36:0008': { type: 'conventional' }, // arm64 virt host bridge
  '1022:0008': { type: 'conventional' }, // amd-iommu
};

/** ACS is enabled before enumeration by DMAR, IVRS, IORT and VIOT; not by a device tree nor with intel_iommu=off. */
const acsEnabledByKernel = (scenario: string) =>
  !scenario.includes('-dt-') && scenario !== 'x86-q35-vtd-switch-off';

const hexNum = (v: PciFunctionJson['vendor'] | undefined) => (typeof v === 'string' ? parseInt(v, 16) : v);
const id = (f: PciFunctionJson) =>
  `${(hexNum(f.vendor) ?? 0).toString(16).padStart(4, '0')}:${(hexNum(f.device) ?? 0).toString(16).padStart(4, '0')}`;

it('finds the twelve groundtruth scenarios', () => {
  expect(scenarios).toHaveLength(12);
});

describe.each(scenarios)('%s', (scenario) => {
  const text = lspciText(scenario);
  const topos = importLspci(text, lspciPath(scenario));
  const [topo] = topos;
  const fn = (bdf: string) => topo.functions.find((f) => f.bdf === bdf)!;

  it('imports one segment rooted at bus 00 and builds it', () => {
    expect(topos).toHaveLength(1);
    expect(topo.segment).toBe(0);
    expect(topo.root).toBe(0);
    const t = buildPciTopology(newKernel(), topo, { acsRequested: true, file: lspciPath(scenario) });
    expect(t.devices.map((d) => d.name).sort()).toEqual(topo.functions.map((f) => `0000:${f.bdf}`).sort());
  });

  it("has the README's functions, in bus order, labelled with lspci's names", () => {
    const readme = readmeDevices(scenario);
    expect(topo.functions.map((f) => `0000:${f.bdf}`)).toEqual([...readme.keys()].sort());
    for (const l of parseLspci(text, lspciPath(scenario))) {
      expect(readme.get(l.bdf)).toBe(`${l.className}: ${l.label}`);
      expect(fn(l.bdf.slice(5)).label).toBe(l.label);
    }
  });

  it('decodes each QEMU device to its kind, with ACS only on pcie-root-port', () => {
    for (const f of topo.functions) {
      const k = known[id(f)];
      if (k) {
        expect(f.type, f.bdf).toBe(k.type);
        expect(f.acs ? { cap: hexNum(f.acs.cap as string), offset: f.acs.offset } : undefined, f.bdf).toEqual(
          k.acs,
        );
      } else {
        // virtio: a PCIe endpoint behind a PCIe port, conventional on the root bus or behind a PCI bridge.
        expect(id(f), f.bdf).toMatch(/^1af4:/);
        const up = topo.functions.find((b) => b.secondary === parseInt(f.bdf.slice(0, 2), 16));
        expect(f.type, f.bdf).toBe(up && up.type !== 'pci-bridge' ? 'endpoint' : 'conventional');
        expect(f.acs, f.bdf).toBeUndefined();
      }
      expect(f.pasidWidth ?? f.ats ?? f.pri, f.bdf).toBeUndefined();
    }
  });

  it('imports ACS control as 0 and records what the kernel had enabled', () => {
    const ports = topo.functions.filter((f) => f.acs);
    expect(ports.length).toBeGreaterThan(0);
    for (const f of ports) {
      expect(f.acs!.ctrl).toBe('0x0000');
      expect(f.acs!.observedCtrl).toBe(acsEnabledByKernel(scenario) ? '0x001d' : '0x0000');
    }
    const observed = importLspci(text, lspciPath(scenario), { acsControl: 'observed' })[0];
    for (const f of observed.functions.filter((g) => g.acs)) expect(f.acs!.ctrl).toBe(f.acs!.observedCtrl);
    // Without pci_request_acs() the built model keeps what was imported.
    const t = buildPciTopology(newKernel(), observed, { acsRequested: false });
    for (const f of ports)
      expect(t.device(f.bdf).pci!.acsControl).toBe(acsEnabledByKernel(scenario) ? 0x1d : 0);
  });

  it("rebuilds the bus tree from the bridges' bus numbers", () => {
    const t = buildPciTopology(newKernel(), topo);
    for (const f of topo.functions) {
      const up = topo.functions.find((b) => b.secondary === parseInt(f.bdf.slice(0, 2), 16));
      expect(t.device(f.bdf).parent?.name ?? null, f.bdf).toBe(up ? `0000:${up.bdf}` : null);
    }
  });

  it('agrees with decodeConfig on every function', () => {
    for (const l of parseLspci(text, lspciPath(scenario))) {
      const c = decodeConfig(l.bytes, l.bdf, lspciPath(scenario));
      const f = fn(l.bdf.slice(5));
      expect(c.type).toBe(f.type);
      expect(c.multifunction && (c.devfn & 7) === 0).toBe(f.multifunction ?? false);
      expect(c.bridge?.secondary).toBe(f.secondary);
    }
  });
});

describe('x86-q35-vtd-switch in detail', () => {
  const scenario = 'x86-q35-vtd-switch';
  const [topo] = importLspci(lspciText(scenario), lspciPath(scenario));
  const fn = (bdf: string) => topo.functions.find((f) => f.bdf === bdf)!;

  it('00:06.0 is a root port with ACS cap 0x5f at 0x148 and observed control 0x1d', () => {
    expect(fn('00:06.0')).toMatchObject({
      type: 'root-port',
      vendor: '1b36',
      device: '000c',
      secondary: 5,
      subordinate: 5,
      acs: { cap: '0x005f', ctrl: '0x0000', offset: 0x148, observedCtrl: '0x001d' },
      label: 'Red Hat, Inc. QEMU PCIe Root port',
    });
  });

  it('the switch hangs below 00:03.0 with the bus ranges lspci shows', () => {
    expect(
      [fn('00:03.0'), fn('01:00.0'), fn('02:00.0'), fn('02:01.0')].map((f) => [
        f.bdf,
        f.secondary,
        f.subordinate,
      ]),
    ).toEqual([
      ['00:03.0', 1, 4],
      ['01:00.0', 2, 4],
      ['02:00.0', 3, 3],
      ['02:01.0', 4, 4],
    ]);
    expect(fn('00:03.0').acs).toBeUndefined();
    expect(fn('00:1f.0').multifunction).toBe(true);
    expect(fn('00:1f.2').multifunction).toBeUndefined();
  });

  it('builds to what the hand-written groundtruth topology says (ACS enabled to 0x1d under DMAR)', () => {
    const b = build(topo, { acsRequested: true });
    expect(b.topo.device('00:06.0').pci!.acsControl).toBe(0x1d);
    expect(b.topo.device('00:03.0').pci!.acs_cap).toBe(0);
  });
});

/** DMAR and IVRS probe every function they cover, in bus order, at IOMMU init (the IOMMU function itself excepted). */
describe.each([
  ['x86-q35-vtd-switch', []],
  ['x86-q35-vtd-multifunction-default', []],
  ['x86-q35-vtd-multifunction-passthrough', []],
  ['x86-q35-vtd-bridge-strict', []],
  ['x86-q35-amdvi-bridge', ['00:01.0']],
])('pci_device_group on the imported %s', (scenario, notProbed) => {
  const [topo] = importLspci(lspciText(scenario), lspciPath(scenario));
  const b = build(topo, { acsRequested: true });
  const groups = probeGroups(
    b,
    b.topo.devices.filter((d) => !(notProbed as string[]).includes(d.name.slice(5))),
  );

  it("gives expected.txt's partition", () => {
    expect(partition(groups)).toEqual(expectedPartition(scenario));
  });

  it('numbers the groups as Linux did', () => {
    expect(groupIds(groups)).toEqual(expectedGroupIds(scenario));
  });
});
