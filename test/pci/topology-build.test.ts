// SPDX-License-Identifier: GPL-2.0-only
/** Building PCI topologies from JSON: the objects it makes, and the errors it gives for impossible hierarchies. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { PciFunctionJson, PciTopologyJson } from '../../src/pci/topology-schema.js';
import { buildPciTopology } from '../../src/pci/topology-build.js';
import { PciTopologyError } from '../../src/pci/topology-error.js';
import { InputError } from '../../src/input/input-error.js';
import { describePciTopology, pciTopologyJson } from '../../src/pci/topology-describe.js';
import { pci_get_domain_bus_and_slot, pci_core } from '../../src/pci/pci-core.js';
import { PCI_EXP_TYPE_DOWNSTREAM, PCI_EXP_TYPE_UPSTREAM, pci_pcie_type } from '../../src/pci/pci-dev.js';
import { build, newKernel } from './helpers.js';

const rp = (bdf: string, secondary: number, extra: Partial<PciFunctionJson> = {}): PciFunctionJson => ({
  bdf,
  type: 'root-port',
  vendor: '8086',
  device: '3420',
  secondary,
  ...extra,
});
const ep = (bdf: string, extra: Partial<PciFunctionJson> = {}): PciFunctionJson => ({
  bdf,
  type: 'endpoint',
  vendor: '1234',
  device: '0001',
  ...extra,
});

/** The error a description gives, as "path: message" lines. */
function errorsOf(json: unknown): string[] {
  try {
    buildPciTopology(newKernel(), json);
  } catch (e) {
    expect(e).toBeInstanceOf(PciTopologyError);
    return (e as PciTopologyError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the description to be refused');
}

describe('buildPciTopology', () => {
  it('builds buses, functions and Devices in scan order, with parents and a BDF index', () => {
    const b = build({
      segment: 1,
      root: 0,
      functions: [
        ep('00:1f.3', { type: 'conventional' }),
        rp('00:1c.0', 1, { subordinate: 3 }),
        ep('01:00.0', { driver: 'nvme', class: '010802', pasidWidth: 20 }),
        ep('00:1f.0', { type: 'conventional', multifunction: true }),
      ],
    });
    expect(b.topo.devices.map((d) => d.name)).toEqual([
      '0001:00:1c.0',
      '0001:00:1f.0',
      '0001:00:1f.3',
      '0001:01:00.0',
    ]);
    const nvme = b.topo.device('0001:01:00.0');
    expect(nvme).toBe(b.topo.device('01:00.0'));
    expect(nvme.parent).toBe(b.topo.device('00:1c.0'));
    expect(b.topo.device('00:1c.0').parent).toBeNull();
    expect(nvme.match_driver).toBe('nvme');
    expect(nvme.pci!.classCode).toBe(0x010802);
    expect(nvme.pci!.maxPasids()).toBe(1 << 20);
    expect(b.topo.device('00:1f.3').pci!.multifunction).toBe(true);
    expect(b.topo.device('00:1c.0').pci!.subordinateRange).toEqual([1, 3]);
    expect(pci_get_domain_bus_and_slot(b.k, 1, 1, 0)).toBe(nvme.pci);
    expect(pci_core(b.k).devices.map((p) => p.dev)).toEqual(b.topo.devices);
    expect(() => b.topo.device('02:00.0')).toThrow(RangeError);
  });

  it('corrects switch ports that report the wrong direction (set_pcie_port_type)', () => {
    const b = build({
      root: 0,
      functions: [
        rp('00:01.0', 1),
        { bdf: '01:00.0', type: 'downstream-port', vendor: '1234', device: '0002', secondary: 2 },
        { bdf: '02:00.0', type: 'upstream-port', vendor: '1234', device: '0003', secondary: 3 },
      ],
    });
    expect(pci_pcie_type(b.topo.device('01:00.0').pci!)).toBe(PCI_EXP_TYPE_UPSTREAM);
    expect(pci_pcie_type(b.topo.device('02:00.0').pci!)).toBe(PCI_EXP_TYPE_DOWNSTREAM);
    expect(b.k.printk.lines.map((l) => `${l.source}: ${l.message}`)).toEqual([
      '0000:01:00.0: claims to be downstream port but is acting as upstream port, correcting type',
      '0000:02:00.0: claims to be upstream port but is acting as downstream port, correcting type',
    ]);
  });

  it('describes the hierarchy as a tree and as JSON that rebuilds the same hierarchy', () => {
    const json: PciTopologyJson = {
      root: 0,
      functions: [
        rp('00:1c.0', 1, { acs: { cap: '0x5f' } }),
        { bdf: '01:00.0', type: 'pcie-pci-bridge', vendor: '1b36', device: '000e', secondary: 2 },
        ep('02:01.0', { type: 'conventional', aliases: ['01.1'] }),
        ep('00:02.0', { vendor: '8086', device: '1521', multifunction: true }),
        ep('00:02.1', { vendor: '8086', device: '1521' }),
        ep('00:03.0', { vendor: '8086', device: '1572' }),
        ep('00:03.4', { vendor: '8086', device: '154c', physfn: '00:03.0' }),
      ],
    };
    const b = build(json);
    expect(describePciTopology(b.topo.root)).toBe(
      [
        '0000:00 (root bus)',
        '├─ 00:02.0 endpoint 8086:1521, multifunction',
        '├─ 00:02.1 endpoint 8086:1521, multifunction',
        '├─ 00:03.0 endpoint 8086:1572',
        '├─ 00:1c.0 root-port 8086:3420, ACS cap 0x005f ctrl 0x001d, -> [01-02]',
        '│  └─ 01:00.0 pcie-pci-bridge 1b36:000e, -> [02-02]',
        '│     └─ 02:01.0 conventional 1234:0001, aliases 01.1',
        '└─ 00:03.4 endpoint 8086:154c, VF of 00:03.0',
      ].join('\n'),
    );
    const again = pciTopologyJson(b.topo.root);
    const rebuilt = buildPciTopology(newKernel(), again);
    expect(pciTopologyJson(rebuilt.root)).toEqual(again);
  });

  it('accepts ACS flags as names, hex text or numbers', () => {
    const b = build(
      {
        root: 0,
        functions: [
          rp('00:01.0', 1, { acs: { cap: ['SV', 'RR', 'CR', 'UF'], ctrl: 1 } }),
          rp('00:02.0', 2, { acs: { cap: '1d', ctrl: '0x0' } }),
        ],
      },
      { acsRequested: false },
    );
    expect(b.topo.device('00:01.0').pci!.acsCapability).toBe(0x1d);
    expect(b.topo.device('00:01.0').pci!.acsControl).toBe(1);
    expect(b.topo.device('00:02.0').pci!.acsCapability).toBe(0x1d);
  });
});

describe('buildPciTopology errors', () => {
  it('names the field and the bridge that already owns a secondary bus', () => {
    expect(
      errorsOf({ root: 0, functions: [rp('00:1c.0', 5), rp('00:1c.1', 6), ep('00:02.0'), rp('00:1d.0', 5)] }),
    ).toEqual(['functions[3].secondary: bus 0x05 is already the secondary bus of 0000:00:1c.0']);
  });

  it('refuses schema violations with their JSON path', () => {
    expect(
      errorsOf({ root: 0, functions: [{ bdf: '00:1c.0', type: 'root-port', vendor: 'intel', device: '1' }] }),
    ).toEqual(['functions[0].vendor: vendor: a 16-bit hex number such as "8086"']);
    expect(errorsOf({ root: 0, functions: [ep('00:20.0')] })[0]).toMatch(
      /^functions\[0\]\.bdf: a PCI address/,
    );
    expect(errorsOf({ root: 0, functions: [ep('00:01.0', { vednor: '8086' } as object)] })).toEqual([
      'functions[0]: unknown field "vednor"',
    ]);
    expect(errorsOf({ root: 0, functions: [ep('00:01.0', { type: 'switch' } as object)] })[0]).toMatch(
      /^functions\[0\]\.type:/,
    );
    expect(errorsOf({ functions: [] })[0]).toMatch(/^root:/);
    expect(errorsOf('not a topology')[0]).toMatch(/^: /);
  });

  it('refuses duplicate addresses', () => {
    expect(errorsOf({ root: 0, functions: [ep('00:01.0'), ep('0000:00:01.0')] })).toEqual([
      'functions[1].bdf: 0000:00:01.0 is already functions[0]',
    ]);
  });

  it('refuses functions on a bus no bridge leads to', () => {
    expect(errorsOf({ root: 0, functions: [rp('00:1c.0', 1), ep('02:00.0')] })).toEqual([
      'functions[1].bdf: bus 0x02 is neither the root bus 0x00 nor the secondary bus of any bridge',
    ]);
  });

  it('refuses bridge numbering a real kernel would not accept', () => {
    expect(errorsOf({ root: 0, functions: [rp('00:1c.0', 0)] })).toEqual([
      'functions[0].secondary: bus 0x00 is the root bus',
    ]);
    expect(errorsOf({ root: 0, functions: [rp('00:1c.0', 2), rp('02:00.0', 1)] })).toEqual([
      "functions[1].secondary: bus 0x01 must be greater than the bridge's own bus 0x02",
    ]);
    expect(
      errorsOf({
        root: 0,
        functions: [
          { ...rp('00:1c.0', 1), type: 'pci-bridge' },
          rp('01:00.0', 3),
          ep('03:00.0'),
          { ...rp('00:1d.0', 2), subordinate: 3 },
        ],
      }),
    ).toContain(
      "functions[3].subordinate: bus 0x03 (behind 0000:01:00.0) falls in this bridge's range 0x02-0x03 but is not below it",
    );
    expect(
      errorsOf({ root: 0, functions: [rp('00:1c.0', 1, { subordinate: 1 }), rp('01:00.0', 2)] }),
    ).toEqual(['functions[0].subordinate: 0x01 is below bus 0x02, which is behind this bridge']);
    expect(errorsOf({ root: 0, functions: [rp('00:1c.0', 0x11), ep('00:01.0', { secondary: 3 })] })).toEqual([
      'functions[1].secondary: an endpoint is not a bridge and has no secondary bus',
    ]);
    expect(
      errorsOf({ root: 0, functions: [{ bdf: '00:1c.0', type: 'root-port', vendor: '1', device: '2' }] }),
    ).toEqual(['functions[0].secondary: a root-port needs the number of the bus behind it']);
  });

  it('refuses slots the kernel would not scan', () => {
    expect(errorsOf({ root: 0, functions: [ep('00:05.1')] })).toEqual([
      'functions[0].bdf: 0000:00:05.1 has no function 0 in its slot; the kernel scans a slot from function 0',
    ]);
    expect(
      errorsOf({ root: 0, functions: [ep('00:05.0', { multifunction: false }), ep('00:05.2')] }),
    ).toEqual([
      'functions[0].multifunction: function 0 is single-function, so 0000:00:05.2 would never be scanned',
    ]);
    expect(errorsOf({ root: 0, functions: [rp('00:1c.0', 1), ep('01:01.0')] })).toEqual([
      'functions[1].bdf: below 0000:00:1c.0 (a PCIe downstream port) only device 00 is scanned',
    ]);
  });

  it('refuses capabilities conventional PCI cannot have, and aliases on another bus', () => {
    expect(
      errorsOf({
        root: 0,
        functions: [
          ep('00:01.0', { type: 'conventional', acs: { cap: 1 }, pasidWidth: 8 }),
          ep('00:02.0', { aliases: ['01:02.0'] }),
        ],
      }),
    ).toEqual([
      'functions[0].acs: ACS is a PCI Express extended capability; a conventional PCI function has none',
      'functions[0].pasidWidth: PASID is a PCI Express extended capability; a conventional PCI function has none',
      "functions[1].aliases[0]: DMA aliases are devfns on the function's own bus 0x00, not on bus 0x01",
    ]);
  });

  it('refuses inconsistent VFs', () => {
    expect(
      errorsOf({
        root: 0,
        functions: [
          rp('00:1c.0', 1),
          ep('01:00.0'),
          ep('01:00.2', { physfn: '01:00.7' }),
          ep('01:00.3', { physfn: '01:00.0', type: 'conventional', multifunction: true }),
          ep('00:04.0', { physfn: '01:00.0' }),
        ],
      }),
    ).toEqual([
      'functions[2].physfn: no function 01:00.7 in this topology',
      'functions[3].type: a VF is a PCI Express function that is not a bridge, not a conventional',
      'functions[3].multifunction: a VF is never multifunction',
      "functions[4].bdf: a VF's bus cannot be below its PF's bus 0x01",
    ]);
  });

  it('refuses a second enumeration of the same segment, and prefixes paths and names the file', () => {
    const k = newKernel();
    const json = { root: 0, functions: [ep('00:01.0')] };
    buildPciTopology(k, json);
    expect(() => buildPciTopology(k, json)).toThrow('segment 0000 is already enumerated');
    try {
      buildPciTopology(
        newKernel(),
        { root: 0, functions: [ep('00:01.0'), ep('00:01.0')] },
        { file: 'q35.json', field: 'pci' },
      );
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as PciTopologyError).where).toBe('pci.functions[1].bdf');
      expect((e as Error).message).toBe(
        'q35.json: pci.functions[1].bdf: 0000:00:01.0 is already functions[0]',
      );
      return;
    }
    throw new Error('expected an error');
  });

  it('never throws anything but PciTopologyError on arbitrary input', () => {
    const fnArb = fc.record(
      {
        bdf: fc.oneof(
          fc.constantFrom('00:00.0', '00:01.0', '00:01.1', '01:00.0', '02:00.0', '01:03.0', 'zz'),
          fc.string(),
        ),
        type: fc.constantFrom(
          'endpoint',
          'root-port',
          'upstream-port',
          'downstream-port',
          'pci-bridge',
          'pcie-pci-bridge',
          'conventional',
          'bogus',
        ),
        vendor: fc.oneof(fc.constant('8086'), fc.integer({ min: -1, max: 0x10000 })),
        device: fc.constant('0001'),
        secondary: fc.integer({ min: -1, max: 4 }),
        subordinate: fc.integer({ min: 0, max: 4 }),
        multifunction: fc.boolean(),
        physfn: fc.constantFrom('00:01.0', '01:00.0'),
        aliases: fc.array(fc.constantFrom('00.1', '01:00.0', '1f.7')),
        acs: fc.record({ cap: fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.constant(['SV', 'XX'])) }),
      },
      { requiredKeys: ['bdf', 'type', 'vendor', 'device'] },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.array(fnArb, { maxLength: 6 }), (root, functions) => {
        try {
          buildPciTopology(newKernel(), { root, functions });
        } catch (e) {
          if (!(e instanceof PciTopologyError)) throw e;
          expect(e.issues.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
