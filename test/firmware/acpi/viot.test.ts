// SPDX-License-Identifier: GPL-2.0-only
// The VIOT parser and drivers/acpi/viot.c as modelled. iasl 20200925 cannot
// decode a VIOT, so the expected field values of the QEMU tables were read by
// hand from `xxd` dumps (the bytes are embedded below and checked against the
// shared fixtures when those are present) and laid against actbl3.h. Then:
// the kernel's side on a small PCI topology (ACS requested early, the
// virtio-pci IOMMU's fwnode, endpoint IDs for ranges, segments and DMA
// aliases, the IOMMU itself refused, no range, a missing IOMMU, deferral
// until the instance registers, MMIO endpoints), and corrupted tables giving
// InputError and nothing else (fast-check).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InputError } from '../../../src/input/input-error.js';
import { type FieldTrace, acpiChecksum } from '../../../src/firmware/acpi/acpi-table.js';
import {
  type ParsedViot,
  type ViotIommuNode,
  type ViotPciRangeNode,
  parseViot,
  viotOutputNode,
} from '../../../src/firmware/acpi/viot-parse.js';
import {
  acpi_viot_early_init,
  acpi_viot_init,
  makeViotConfigurer,
  viotIommuFwnode,
  viotState,
  viot_iommu_configure,
} from '../../../src/firmware/acpi/viot.js';
import { acpi_iommu_configure_id } from '../../../src/firmware/acpi/acpi-iommu.js';
import { Kernel } from '../../../src/kernel/kernel.js';
import { profiles } from '../../../src/profile/profiles.js';
import { buildPciTopology, type PciTopology } from '../../../src/pci/topology-build.js';
import type { PciTopologyJson } from '../../../src/pci/topology-schema.js';
import { pci_core } from '../../../src/pci/pci-core.js';
import { Device } from '../../../src/base/device.js';
import { setPlatformMmioBase } from '../../../src/base/platform.js';
import { Fwnode } from '../../../src/base/fwnode.js';
import { createPlatformBus } from '../../../src/base/platform.js';
import { IommuDevice } from '../../../src/iommu/iommu-device.js';
import type { IommuOps } from '../../../src/iommu/ops.js';
import { dev_iommu_fwspec_get } from '../../../src/iommu/dev-iommu.js';
import { EINVAL, ENODEV, EPROBE_DEFER } from '../../../src/kernel/errno.js';
import { type Bytes, acpiTable, u16, u32, u64, u8, zeros } from './build.js';
import { FIXTURES_DIR, GROUNDTRUTH_DIR } from './iasl.js';
import { tableBytes } from './tables.js';

const fromHex = (s: string) =>
  new Uint8Array(
    s
      .replace(/\s+/g, '')
      .match(/../g)!
      .map((b) => parseInt(b, 16)),
  );

/** xxd of shared/fixtures/acpi/q35-virtio-iommu-pxb.VIOT.dat (QEMU 7.2, q35 + pxb-pcie). */
const Q35_PXB = fromHex(`
  5649 4f54 7000 0000 0081 424f 4348 5320  4258 5043 2020 2020 0100 0000 4258 5043
  0100 0000 0300 3000 0000 0000 0000 0000  0300 1000 0000 0800 0000 0000 0000 0000
  0100 1800 0000 0000 0000 0000 0000 ff03  3000 0000 0000 0000 0100 1800 0080 0000
  0000 0000 0080 ff81 3000 0000 0000 0000`);
/** xxd of shared/groundtruth/x86-q35-virtio-iommu-switch-strict/VIOT.dat */
const X86_SWITCH = fromHex(`
  5649 4f54 5800 0000 0061 424f 4348 5320  4258 5043 2020 2020 0100 0000 4258 5043
  0100 0000 0200 3000 0000 0000 0000 0000  0300 1000 0000 0800 0000 0000 0000 0000
  0100 1800 0000 0000 0000 0000 0000 ff05  3000 0000 0000 0000`);
/** xxd of shared/groundtruth/arm64-virt-virtio-iommu-acpi-bridge/VIOT.dat */
const ARM64_BRIDGE = fromHex(`
  5649 4f54 5800 0000 0064 424f 4348 5320  4258 5043 2020 2020 0100 0000 4258 5043
  0100 0000 0200 3000 0000 0000 0000 0000  0300 1000 0000 0800 0000 0000 0000 0000
  0100 1800 0000 0000 0000 0000 0000 ff02  3000 0000 0000 0000`);

const FIXTURES = [
  { name: 'q35-virtio-iommu-pxb', bytes: Q35_PXB, path: join(FIXTURES_DIR, 'q35-virtio-iommu-pxb.VIOT.dat') },
  {
    name: 'x86-q35-virtio-iommu-switch-strict',
    bytes: X86_SWITCH,
    path: join(GROUNDTRUTH_DIR, 'x86-q35-virtio-iommu-switch-strict', 'VIOT.dat'),
  },
  {
    name: 'arm64-virt-virtio-iommu-acpi-bridge',
    bytes: ARM64_BRIDGE,
    path: join(GROUNDTRUTH_DIR, 'arm64-virt-virtio-iommu-acpi-bridge', 'VIOT.dat'),
  },
] as const;

// ---- synthetic tables (actbl3.h layouts)

const node = (type: number, body: Bytes): Bytes => [...u8(type), 0, ...u16(4 + body.length), ...body];
const pciRange = (
  ep: number,
  segStart: number,
  segEnd: number,
  bdfStart: number,
  bdfEnd: number,
  out: number,
) =>
  node(1, [
    ...u32(ep),
    ...u16(segStart),
    ...u16(segEnd),
    ...u16(bdfStart),
    ...u16(bdfEnd),
    ...u16(out),
    ...zeros(6),
  ]);
const mmioEp = (ep: number, base: bigint, out: number) =>
  node(2, [...u32(ep), ...u64(base), ...u16(out), ...zeros(6)]);
const viommuPci = (segment: number, bdf: number) => node(3, [...u16(segment), ...u16(bdf), ...zeros(8)]);
const viommuMmio = (base: bigint) => node(4, [...zeros(4), ...u64(base)]);

/** A VIOT whose nodes start at `nodeOffset` (48 unless given; the gap is zeros). */
function viot(nodes: Bytes[], opts: { count?: number; nodeOffset?: number } = {}): Uint8Array {
  const off = opts.nodeOffset ?? 48;
  return acpiTable('VIOT', 0, [
    ...u16(opts.count ?? nodes.length),
    ...u16(off),
    ...zeros(8),
    ...zeros(Math.max(0, off - 48)),
    ...nodes.flat(),
  ]);
}

function fixChecksum(t: Uint8Array): Uint8Array {
  t[9] = 0;
  t[9] = (0x100 - acpiChecksum(t, Math.min(t.length, t[4] | (t[5] << 8)))) & 0xff;
  return t;
}

function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('no InputError');
}

describe('parseViot: the QEMU tables, decoded by hand', () => {
  it('the embedded bytes are the fixtures', () => {
    expect(tableBytes('q35-virtio-iommu-pxb.VIOT')).toEqual(Q35_PXB);
    for (const f of FIXTURES)
      if (existsSync(f.path)) expect(new Uint8Array(readFileSync(f.path)), f.name).toEqual(f.bytes);
  });

  it('q35-virtio-iommu-pxb: one virtio-pci IOMMU at 00:01.0, two PCI ranges (the pxb bus 0x80 with its own endpoints)', () => {
    const v = parseViot(Q35_PXB, 'q35.VIOT.dat');
    expect(v.header).toMatchObject({
      signature: 'VIOT',
      length: 0x70,
      revision: 0,
      checksum: 0x81,
      oemId: 'BOCHS ',
      oemTableId: 'BXPC    ',
      oemRevision: 1,
      creatorId: 'BXPC',
      creatorRevision: 1,
    });
    expect([v.nodeCount, v.nodeOffset]).toEqual([3, 0x30]);
    expect(v.nodes).toEqual([
      { offset: 0x30, type: 3, length: 0x10, kind: 'virtio-iommu-pci', segment: 0, bdf: 0x0008 },
      {
        offset: 0x40,
        type: 1,
        length: 0x18,
        kind: 'pci-range',
        endpointStart: 0,
        segmentStart: 0,
        segmentEnd: 0,
        bdfStart: 0x0000,
        bdfEnd: 0x03ff,
        outputNode: 0x30,
      },
      {
        offset: 0x58,
        type: 1,
        length: 0x18,
        kind: 'pci-range',
        endpointStart: 0x8000,
        segmentStart: 0,
        segmentEnd: 0,
        bdfStart: 0x8000,
        bdfEnd: 0x81ff,
        outputNode: 0x30,
      },
    ]);
    expect(v.notes).toEqual([]);
    expect(viotOutputNode(v, v.nodes[2] as ViotPciRangeNode)).toBe(v.nodes[0]);
  });

  it.each([
    ['x86-q35-virtio-iommu-switch-strict', X86_SWITCH, 0x61, 0x05ff],
    ['arm64-virt-virtio-iommu-acpi-bridge', ARM64_BRIDGE, 0x64, 0x02ff],
  ] as const)('%s: the IOMMU at 00:01.0 and one range 0000-%s', (name, bytes, checksum, bdfEnd) => {
    const v = parseViot(bytes, `${name}/VIOT.dat`);
    expect(v.header).toMatchObject({ length: 0x58, revision: 0, checksum, oemId: 'BOCHS ' });
    expect([v.nodeCount, v.nodeOffset]).toEqual([2, 0x30]);
    expect(v.nodes).toEqual([
      { offset: 0x30, type: 3, length: 0x10, kind: 'virtio-iommu-pci', segment: 0, bdf: 0x0008 },
      {
        offset: 0x40,
        type: 1,
        length: 0x18,
        kind: 'pci-range',
        endpointStart: 0,
        segmentStart: 0,
        segmentEnd: 0,
        bdfStart: 0,
        bdfEnd,
        outputNode: 0x30,
      },
    ]);
  });

  it('the trace reads every byte of the table once, at the actbl3.h offsets', () => {
    const trace: FieldTrace[] = [];
    parseViot(Q35_PXB, 'q35.VIOT.dat', { trace });
    const covered = new Array<number>(Q35_PXB.length).fill(0);
    for (const f of trace) for (let i = 0; i < f.size; i++) covered[f.offset + i]++;
    expect(covered.every((c) => c === 1)).toBe(true);
    const at = (o: number) => trace.find((f) => f.offset === o)!;
    expect([at(0x24).label, at(0x24).value]).toEqual(['Node Count', 3]);
    expect([at(0x26).label, at(0x26).value]).toEqual(['Node Offset', 0x30]);
    expect([at(0x36).label, at(0x36).value]).toEqual(['PCI BDF Number', 8]);
    expect([at(0x4e).label, at(0x4e).value]).toEqual(['PCI BDF End', 0x3ff]);
    expect([at(0x5c).label, at(0x5c).value]).toEqual(['Endpoint Start', 0x8000]);
    expect([at(0x68).label, at(0x68).value]).toEqual(['Output Node', 0x30]);
  });
});

describe('parseViot: every node type, and what the kernel skips', () => {
  it('MMIO endpoint, virtio-mmio IOMMU, an unknown type kept raw, a gap before the nodes', () => {
    const t = viot(
      [
        viommuMmio(0xa000e00n),
        mmioEp(7, 0xa003e00n, 0x40),
        node(5, [1, 2, 3, 4]),
        viommuPci(1, 0x0110),
        pciRange(0x20000, 1, 2, 0x100, 0x1ff, 0x70),
      ],
      { nodeOffset: 0x40 },
    );
    const v = parseViot(t, 'all.dat');
    expect(v.nodeOffset).toBe(0x40);
    expect(v.nodes).toEqual([
      { offset: 0x40, type: 4, length: 16, kind: 'virtio-iommu-mmio', baseAddress: 0xa000e00n },
      {
        offset: 0x50,
        type: 2,
        length: 24,
        kind: 'mmio',
        endpointId: 7,
        baseAddress: 0xa003e00n,
        outputNode: 0x40,
      },
      { offset: 0x68, type: 5, length: 8, kind: 'unknown', raw: [1, 2, 3, 4] },
      { offset: 0x70, type: 3, length: 16, kind: 'virtio-iommu-pci', segment: 1, bdf: 0x110 },
      {
        offset: 0x80,
        type: 1,
        length: 24,
        kind: 'pci-range',
        endpointStart: 0x20000,
        segmentStart: 1,
        segmentEnd: 2,
        bdfStart: 0x100,
        bdfEnd: 0x1ff,
        outputNode: 0x70,
      },
    ]);
  });

  it('notes: the gap, an unknown node, an over-long node, an empty range, trailing bytes', () => {
    const long = viommuPci(0, 8);
    long.push(0, 0, 0, 0);
    long[2] = 20;
    const t = viot([long, node(0x7f, []), pciRange(0, 0, 0, 0x10, 0x0f, 0x38)], { nodeOffset: 0x38 });
    const withTail = new Uint8Array([...t, 0xaa, 0xbb]);
    const v = parseViot(withTail, 'notes.dat');
    expect(v.notes).toEqual([
      "offset 0x68: 2 bytes after the table's length 0x68 ignored",
      'offset 0x30: 8 bytes between the header and Node Offset 0x38 ignored',
      'offset 0x38: virtio-pci IOMMU length 0x14 is more than its 16 bytes; the kernel ignores the rest',
      'offset 0x4c: VIOT node type 0x7f is not one the kernel knows; viot_parse_node() skips it ("Unsupported node 7f"), kept raw',
      'offset 0x50: PCI range segments [0x0-0x0] BDFs [0x10-0xf] is empty: it matches no device',
    ]);
  });

  it('no nodes at all', () => {
    expect(parseViot(viot([]), 'empty.dat').nodes).toEqual([]);
  });
});

describe('parseViot: malformed tables are InputErrors naming file, offset and field', () => {
  const good = () => [viommuPci(0, 8), pciRange(0, 0, 0, 0, 0xff, 0x30)];

  it.each([
    [
      'signature',
      () => acpiTable('VIOX', 0, [...u16(0), ...u16(48), ...zeros(8)]),
      'offset 0x0',
      /Signature "VIOX" is not "VIOT"/,
    ],
    [
      'header cut',
      () => acpiTable('VIOT', 0, [...u16(0), ...u16(48)]),
      'offset 0x4',
      /shorter than the 48-byte fixed part/,
    ],
    [
      'node offset inside the header',
      () => viot(good(), { nodeOffset: 0x2c }),
      'offset 0x26',
      /Node Offset 0x2c points inside the 48-byte VIOT header.*Node pointer overflows/,
    ],
    [
      'node offset past the end',
      () => acpiTable('VIOT', 0, [...u16(0), ...u16(0x40), ...zeros(8)]),
      'offset 0x26',
      /Node Offset 0x40 points past the table's end at 0x30/,
    ],
    [
      'node count too high',
      () => viot(good(), { count: 3 }),
      'offset 0x24',
      /Node Count 3 does not match the 2 nodes.*past the table's end/,
    ],
    [
      'node count too low',
      () => viot(good(), { count: 1 }),
      'offset 0x24',
      /Node Count 1 does not match the 2 nodes.*ignores the last 1/,
    ],
    [
      'node overrun',
      () => viot([viommuPci(0, 8), pciRange(0, 0, 0, 0, 0xff, 0x30).slice(0, 20)]),
      'offset 0x40',
      /PCI range length 0x18 runs past the end of the VIOT table: only 20 bytes are left/,
    ],
    [
      'node header cut',
      () => viot([viommuPci(0, 8), [1, 0]]),
      'offset 0x40',
      /2 bytes left in the VIOT table, less than a 4-byte VIOT node header/,
    ],
    ['empty node', () => viot([viommuPci(0, 8), [9, 0, 0, 0]]), 'offset 0x40', /length 0x0: an empty node/],
    [
      'short PCI range',
      () => viot([viommuPci(0, 8), node(1, zeros(16))]),
      'offset 0x40',
      /PCI range length 0x14 is shorter than its 24-byte header/,
    ],
    [
      'short IOMMU node',
      () => viot([node(3, zeros(4)), pciRange(0, 0, 0, 0, 0xff, 0x30)]),
      'offset 0x30',
      /virtio-pci IOMMU length 0x8 is shorter than its 16-byte header/,
    ],
    [
      'output node is an endpoint',
      () => viot([viommuPci(0, 8), pciRange(0, 0, 0, 0, 0xff, 0x40)]),
      'offset 0x50',
      /Output Node 0x40 is the PCI range node at 0x40, not a virtio-iommu node.*No IOMMU node found/,
    ],
    [
      'output node is no node',
      () => viot([viommuPci(0, 8), mmioEp(0, 0x1000n, 0x34)]),
      'offset 0x50',
      /MMIO endpoint Output Node 0x34 is not the offset of any node \(nodes start at 0x30, 0x40\)/,
    ],
    [
      'output node is an unknown node',
      () => viot([node(9, zeros(12)), pciRange(0, 0, 0, 0, 0xff, 0x30)]),
      'offset 0x50',
      /is the VIOT node type 0x9 node at 0x30/,
    ],
  ] as const)('%s', (_name, make, where, problem) => {
    const e = inputError(() => parseViot(make(), 'bad.VIOT.dat'));
    expect(e.file).toBe('bad.VIOT.dat');
    expect(e.where).toBe(where);
    expect(e.problem).toMatch(problem);
  });

  it('a truncated file and a bad checksum', () => {
    expect(inputError(() => parseViot(Q35_PXB.slice(0, 0x60), 'cut.dat')).problem).toMatch(/truncated/);
    const t = Q35_PXB.slice();
    t[0x4f] = 0x04;
    expect(inputError(() => parseViot(t, 'sum.dat')).problem).toMatch(/^Checksum 0x81 is wrong/);
    expect(parseViot(t, 'sum.dat', { verifyChecksum: false }).nodes[1]).toMatchObject({ bdfEnd: 0x4ff });
  });
});

// ---- the kernel side

/** q35-like: the virtio-iommu at 00:01.0, a root port to an endpoint, a root port to a PCIe-to-PCI bridge. */
const SEG0: PciTopologyJson = {
  root: 0,
  functions: [
    { bdf: '00:00.0', type: 'conventional', vendor: '8086', device: '29c0', class: '060000' },
    { bdf: '00:01.0', type: 'endpoint', vendor: '1af4', device: '1057', driver: 'virtio-pci' },
    { bdf: '00:02.0', type: 'root-port', vendor: '1b36', device: '000c', secondary: 1 },
    { bdf: '01:00.0', type: 'endpoint', vendor: '1af4', device: '1041' },
    { bdf: '00:03.0', type: 'root-port', vendor: '1b36', device: '000c', secondary: 2, subordinate: 3 },
    { bdf: '02:00.0', type: 'pcie-pci-bridge', vendor: '1b36', device: '000e', secondary: 3 },
    { bdf: '03:01.0', type: 'conventional', vendor: '8086', device: '100e' },
  ],
};
const SEG1: PciTopologyJson = {
  segment: 1,
  root: 0,
  functions: [{ bdf: '0001:00:04.0', type: 'rc-endpoint', vendor: '1af4', device: '1041' }],
};

interface Machine {
  readonly k: Kernel;
  readonly topo: PciTopology;
  readonly seg1: PciTopology;
  readonly dev: (bdf: string) => Device;
}

function machine(table: ParsedViot | null): Machine {
  const k = new Kernel({ profile: profiles['v6.12'] });
  acpi_viot_early_init(k, table);
  const topo = buildPciTopology(k, SEG0, { acsRequested: pci_core(k).acs_enable });
  const seg1 = buildPciTopology(k, SEG1, { acsRequested: pci_core(k).acs_enable });
  return { k, topo, seg1, dev: (bdf) => (bdf.startsWith('0001:') ? seg1 : topo).device(bdf) };
}

const testOps = { name: 'virtio-iommu' } as unknown as IommuOps;

/** What virtio-iommu's probe does: an instance keyed by the transport device's fwnode. */
function registerViommu(m: Machine, bdf = '00:01.0'): IommuDevice {
  const hw = m.dev(bdf);
  const iommu = new IommuDevice(hw.name, hw);
  iommu.ops = testOps;
  iommu.fwnode = hw.fwnode;
  iommu.ready = true;
  m.k.iommu.device_list.push(iommu);
  return iommu;
}

const ids = (dev: Device) => dev_iommu_fwspec_get(dev)?.ids ?? null;

describe('acpi_viot_early_init() and acpi_viot_init()', () => {
  it('a VIOT asks for ACS before enumeration; no VIOT does not', () => {
    expect(pci_core(machine(parseViot(Q35_PXB, 'q')).k).acs_enable).toBe(true);
    expect(pci_core(machine(null).k).acs_enable).toBe(false);
  });

  it('the virtio-pci IOMMU gets a static ACPI fwnode, made its primary fwnode; the ranges are listed last node first', () => {
    const v = parseViot(Q35_PXB, 'q');
    const m = machine(v);
    expect(m.dev('00:01.0').fwnode).toBeNull();
    const st = acpi_viot_init(m.k);
    const fw = m.dev('00:01.0').fwnode!;
    expect(fw.kind).toBe('acpi');
    expect(st.viot_iommus).toEqual([
      { kind: 'pci', offset: 0x30, segment: 0, bdf: 8, pdev: m.dev('00:01.0').pci, fwnode: fw },
    ]);
    expect(st.viot_pci_ranges.map((r) => [r.offset, r.bdf_start, r.bdf_end, r.endpoint_id])).toEqual([
      [0x58, 0x8000, 0x81ff, 0x8000],
      [0x40, 0, 0x3ff, 0],
    ]);
    expect(st.viot_pci_ranges.every((r) => r.viommu === st.viot_iommus[0])).toBe(true);
    expect(viotIommuFwnode(m.k, v, v.nodes[0] as ViotIommuNode)).toBe(fw);
    expect(viotIommuFwnode(m.k, v, 0x30)).toBe(fw);
    // Runs once.
    expect(acpi_viot_init(m.k)).toBe(st);
    expect(st.viot_pci_ranges).toHaveLength(2);
  });

  it('an IOMMU function ACPI describes keeps its own fwnode', () => {
    const m = machine(parseViot(Q35_PXB, 'q'));
    const companion = new Fwnode('acpi', '\\_SB.PCI0.S08');
    m.dev('00:01.0').fwnode = companion;
    expect(acpi_viot_init(m.k).viot_iommus[0].fwnode).toBe(companion);
  });

  it('an IOMMU node no endpoint points at gets no viommu and no fwnode', () => {
    const v = parseViot(viot([viommuPci(0, 0x10), viommuPci(0, 8), pciRange(0, 0, 0, 0, 0xff, 0x40)]), 'two');
    const m = machine(v);
    acpi_viot_init(m.k);
    expect(viotIommuFwnode(m.k, v, 0x30)).toBeNull();
    expect(viotIommuFwnode(m.k, v, 0x40)).toBe(m.dev('00:01.0').fwnode);
    expect(m.dev('00:02.0').fwnode).toBeNull();
  });

  it('an IOMMU at a BDF with no function: "Could not find PCI IOMMU", the range is dropped, devices get -ENODEV', () => {
    const v = parseViot(viot([viommuPci(0, 0x00f8), pciRange(0, 0, 0, 0, 0xffff, 0x30)]), 'missing');
    const m = machine(v);
    const st = acpi_viot_init(m.k);
    expect(st.viot_iommus).toEqual([]);
    expect(st.viot_pci_ranges).toEqual([]);
    expect(m.k.printk.lines.map((l) => l.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Could not find PCI IOMMU/),
        expect.stringMatching(/^No IOMMU node found/),
      ]),
    );
    expect(viot_iommu_configure(m.k, m.dev('01:00.0'))).toBe(-ENODEV);
  });
});

describe('viot_iommu_configure()', () => {
  it('before the virtio-iommu registers: -EPROBE_DEFER; after: 0 with the endpoint ID = BDF', () => {
    const m = machine(parseViot(Q35_PXB, 'q'));
    acpi_viot_init(m.k);
    const ep = m.dev('01:00.0');
    expect(viot_iommu_configure(m.k, ep)).toBe(-EPROBE_DEFER);
    expect(ids(ep)).toBeNull();
    const iommu = registerViommu(m);
    expect(viot_iommu_configure(m.k, ep)).toBe(0);
    expect(ids(ep)).toEqual([0x0100]);
    expect(dev_iommu_fwspec_get(ep)!.iommu_fwnode).toBe(iommu.fwnode);
    expect(dev_iommu_fwspec_get(ep)!.sources).toEqual([
      'VIOT PCI range at 0x40: alias 01:00.0 is endpoint 0x100',
    ]);
  });

  it('the virtio-iommu itself: -EINVAL ("We\'re not translating ourself"), even before it registers', () => {
    const m = machine(parseViot(Q35_PXB, 'q'));
    acpi_viot_init(m.k);
    expect(viot_iommu_configure(m.k, m.dev('00:01.0'))).toBe(-EINVAL);
    registerViommu(m);
    expect(viot_iommu_configure(m.k, m.dev('00:01.0'))).toBe(-EINVAL);
    expect(ids(m.dev('00:01.0'))).toBeNull();
  });

  it('a conventional device behind a PCIe-to-PCI bridge: one ID per DMA alias, in alias order', () => {
    const m = machine(parseViot(Q35_PXB, 'q'));
    acpi_viot_init(m.k);
    registerViommu(m);
    expect(viot_iommu_configure(m.k, m.dev('03:01.0'))).toBe(0);
    expect(ids(m.dev('03:01.0'))).toEqual([0x0308, 0x0300]);
  });

  it('endpoint ID = ((segment - segment start) << 16) + BDF - BDF start + endpoint start; the last overlapping range wins', () => {
    const v = parseViot(
      viot([
        viommuPci(0, 8),
        pciRange(0x1000, 0, 1, 0x0000, 0x03ff, 0x30),
        pciRange(0x7000, 0, 0, 0x0300, 0x03ff, 0x30), // later in the table: listed first
      ]),
      'ranges',
    );
    const m = machine(v);
    acpi_viot_init(m.k);
    registerViommu(m);
    for (const bdf of ['01:00.0', '03:01.0', '0001:00:04.0'])
      expect(viot_iommu_configure(m.k, m.dev(bdf))).toBe(0);
    expect(ids(m.dev('01:00.0'))).toEqual([0x1000 + 0x100]);
    expect(ids(m.dev('03:01.0'))).toEqual([0x7000 + 0x08, 0x7000 + 0x00]);
    expect(ids(m.dev('0001:00:04.0'))).toEqual([(1 << 16) + 0x20 + 0x1000]);
  });

  it('endpoint IDs wrap at 32 bits, as u32 arithmetic does', () => {
    const v = parseViot(viot([viommuPci(0, 8), pciRange(0xffffff00, 0, 1, 0, 0xffff, 0x30)]), 'wrap');
    const m = machine(v);
    acpi_viot_init(m.k);
    registerViommu(m);
    expect(viot_iommu_configure(m.k, m.dev('0001:00:04.0'))).toBe(0);
    expect(ids(m.dev('0001:00:04.0'))).toEqual([((1 << 16) + 0x20 + 0xffffff00) % 2 ** 32]);
  });

  it('no range: -ENODEV; an alias outside every range ends the walk with -ENODEV after the IDs before it', () => {
    const v = parseViot(viot([viommuPci(0, 8), pciRange(0, 0, 0, 0x0308, 0x0308, 0x30)]), 'narrow');
    const m = machine(v);
    acpi_viot_init(m.k);
    registerViommu(m);
    expect(viot_iommu_configure(m.k, m.dev('01:00.0'))).toBe(-ENODEV);
    expect(ids(m.dev('01:00.0'))).toBeNull();
    expect(m.dev('01:00.0').history).toContain(
      'viot_iommu_configure(): -ENODEV, no VIOT PCI range holds alias 0000:01:00.0',
    );
    // 03:01.0 is 0x0308 (endpoint 0), then its bridge's alias 0x0300 is in no range.
    expect(viot_iommu_configure(m.k, m.dev('03:01.0'))).toBe(-ENODEV);
    expect(ids(m.dev('03:01.0'))).toEqual([0]);
  });

  it('the pxb table: devices outside 0000-03ff and 8000-81ff get -ENODEV; the other segment too', () => {
    const m = machine(parseViot(Q35_PXB, 'q'));
    acpi_viot_init(m.k);
    registerViommu(m);
    expect(viot_iommu_configure(m.k, m.dev('0001:00:04.0'))).toBe(-ENODEV);
  });

  it('without a VIOT: -ENODEV for every device', () => {
    const m = machine(null);
    expect(acpi_viot_init(m.k).initialized).toBe(false);
    expect(viot_iommu_configure(m.k, m.dev('01:00.0'))).toBe(-ENODEV);
    expect(m.dev('01:00.0').history).toEqual([]);
  });

  it('a device on neither bus: -ENODEV', () => {
    const m = machine(parseViot(Q35_PXB, 'q'));
    acpi_viot_init(m.k);
    expect(viot_iommu_configure(m.k, new Device('virtio0'))).toBe(-ENODEV);
  });

  it('through acpi_iommu_configure_id(): the VIOT configurer runs acpi_viot_init() if the platform did not', () => {
    const v = parseViot(X86_SWITCH, 'x86');
    const m = machine(v);
    m.k.acpiIommuConfigurers.push(makeViotConfigurer(v));
    expect(acpi_iommu_configure_id(m.k, m.dev('01:00.0'), null)).toBe(-EPROBE_DEFER);
    expect(viotState(m.k).initialized).toBe(true);
    registerViommu(m);
    expect(acpi_iommu_configure_id(m.k, m.dev('01:00.0'), null)).toBe(0);
    expect(acpi_iommu_configure_id(m.k, m.dev('00:01.0'), null)).toBe(-EINVAL);
    expect(ids(m.dev('01:00.0'))).toEqual([0x100]);
  });
});

describe('MMIO endpoints', () => {
  const table = () =>
    parseViot(
      viot([viommuMmio(0xa000000n), mmioEp(0x42, 0xa000200n, 0x30), mmioEp(0x43, 0xa000400n, 0x30)]),
      'mmio',
    );

  function platformMachine() {
    const k = new Kernel({ profile: profiles['v6.12'], arch: 'arm64' });
    const bus = createPlatformBus();
    const mk = (name: string, base: bigint | null, acpi = true) => {
      const d = new Device(name);
      d.bus = bus;
      if (acpi) d.fwnode = new Fwnode('acpi', `\\_SB.${name}`);
      if (base !== null) setPlatformMmioBase(d, base, 0x200n);
      k.base.devices.add(d);
      return d;
    };
    return {
      k,
      viommu: mk('VR00', 0xa000000n),
      ep: mk('VR01', 0xa000200n),
      other: mk('VR03', 0xa000600n),
      mk,
    };
  }

  it('the virtio-mmio IOMMU is the ACPI device whose resources hold the base; endpoints match the start of their first resource', () => {
    const p = platformMachine();
    const st = acpi_viot_init(p.k, table());
    expect(st.viot_iommus).toEqual([
      { kind: 'mmio', offset: 0x30, base: 0xa000000n, fwnode: p.viommu.fwnode },
    ]);
    expect(st.viot_mmio_endpoints.map((e) => [e.offset, e.address, e.endpoint_id])).toEqual([
      [0x58, 0xa000400n, 0x43],
      [0x40, 0xa000200n, 0x42],
    ]);
    expect(viot_iommu_configure(p.k, p.ep)).toBe(-EPROBE_DEFER);
    const iommu = new IommuDevice('viommu', p.viommu);
    iommu.ops = testOps;
    iommu.fwnode = p.viommu.fwnode;
    p.k.iommu.device_list.push(iommu);
    expect(viot_iommu_configure(p.k, p.ep)).toBe(0);
    expect(ids(p.ep)).toEqual([0x42]);
    expect(viot_iommu_configure(p.k, p.viommu)).toBe(-ENODEV); // its base is no endpoint's
    expect(viot_iommu_configure(p.k, p.other)).toBe(-ENODEV);
    expect(viot_iommu_configure(p.k, p.mk('VR04', null))).toBe(-ENODEV); // no MMIO resource
  });

  it('a DT-style reg gives the first resource too (parent #address-cells 2)', () => {
    const p = platformMachine();
    acpi_viot_init(p.k, table());
    const d = new Device('virtio_mmio@a000400');
    d.bus = p.ep.bus;
    d.fwnode = new Fwnode('of', '/virtio_mmio@a000400');
    d.fwnode.parent = new Fwnode('of', '/');
    d.fwnode.parent.properties.set('#address-cells', [2]);
    d.fwnode.parent.properties.set('#size-cells', [2]);
    d.fwnode.properties.set('reg', [0, 0xa000400, 0, 0x200]);
    const iommu = new IommuDevice('viommu', p.viommu);
    iommu.ops = testOps;
    iommu.fwnode = p.viommu.fwnode;
    p.k.iommu.device_list.push(iommu);
    expect(viot_iommu_configure(p.k, d)).toBe(0);
    expect(ids(d)).toEqual([0x43]);
  });

  it('a virtio-mmio IOMMU no ACPI device claims: "Could not find MMIO IOMMU", endpoints dropped', () => {
    const k = new Kernel({ profile: profiles['v6.12'], arch: 'arm64' });
    const st = acpi_viot_init(k, table());
    expect([st.viot_iommus, st.viot_mmio_endpoints]).toEqual([[], []]);
    expect(k.printk.lines.some((l) => l.message.startsWith('Could not find MMIO IOMMU'))).toBe(true);
  });

  it('the virtio-mmio IOMMU is refused for itself when a node names its own base', () => {
    const p = platformMachine();
    const v = parseViot(viot([viommuMmio(0xa000000n), mmioEp(1, 0xa000000n, 0x30)]), 'self');
    acpi_viot_init(p.k, v);
    expect(viot_iommu_configure(p.k, p.viommu)).toBe(-EINVAL);
  });
});

describe('corrupted VIOT tables give a parse or an InputError, never anything else', () => {
  /** Parse, and when that works run acpi_viot_init() and configure every device. */
  function run(bytes: Uint8Array): InputError | null {
    let v: ParsedViot;
    try {
      v = parseViot(bytes, 'fuzz.VIOT.dat');
    } catch (e) {
      if (e instanceof InputError) {
        expect(e.file).toBe('fuzz.VIOT.dat');
        expect(e.where).toMatch(/^offset 0x[0-9a-f]+$/);
        return e;
      }
      throw e;
    }
    const m = machine(v);
    const st = acpi_viot_init(m.k);
    for (const vi of st.viot_iommus) {
      const iommu = new IommuDevice(`viommu@${vi.offset}`, null);
      iommu.ops = testOps;
      iommu.fwnode = vi.fwnode;
      m.k.iommu.device_list.push(iommu);
    }
    for (const d of [...m.topo.devices, ...m.seg1.devices]) {
      const ret = viot_iommu_configure(m.k, d);
      expect([0, -ENODEV, -EINVAL, -EPROBE_DEFER]).toContain(ret);
    }
    return null;
  }

  const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
    minLength: 1,
    maxLength: 6,
  });

  it.each(FIXTURES.map((f) => [f.name, f.bytes] as const))(
    '%s: byte changes, checksum fixed',
    (_n, bytes) => {
      fc.assert(
        fc.property(mutation, (changes) => {
          const t = bytes.slice();
          for (const [at, v] of changes) t[10 + (at % (t.length - 10))] = v;
          run(fixChecksum(t));
        }),
        { numRuns: 400 },
      );
    },
  );

  it.each(FIXTURES.map((f) => [f.name, f.bytes] as const))(
    '%s: any byte, checksum left alone',
    (_n, bytes) => {
      fc.assert(
        fc.property(mutation, (changes) => {
          const t = bytes.slice();
          for (const [at, v] of changes) t[at % t.length] = v;
          run(t);
        }),
        { numRuns: 200 },
      );
    },
  );

  it.each(FIXTURES.map((f) => [f.name, f.bytes] as const))('%s: every truncation', (_n, bytes) => {
    for (let n = 0; n < bytes.length; n++) {
      expect(run(bytes.slice(0, n))).toBeInstanceOf(InputError);
      const t = bytes.slice(0, n);
      if (n >= 8) {
        t[4] = n;
        t[5] = 0;
        if (n >= 10) fixChecksum(t);
      }
      run(t); // a shorter table with a consistent length: parse or InputError
    }
  });

  it.each(FIXTURES.map((f) => [f.name, f.bytes] as const))(
    '%s: bytes inserted and removed, length and checksum fixed',
    (_n, bytes) => {
      fc.assert(
        fc.property(
          fc.nat(),
          fc.integer({ min: -8, max: 8 }),
          fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }),
          (at, cut, insert) => {
            const body = Array.from(bytes.subarray(36));
            const pos = at % (body.length + 1);
            if (cut > 0) body.splice(pos, cut);
            else body.splice(pos, 0, ...insert);
            const t = new Uint8Array([...bytes.subarray(0, 36), ...body]);
            t[4] = t.length & 0xff;
            t[5] = (t.length >> 8) & 0xff;
            run(fixChecksum(t));
          },
        ),
        { numRuns: 300 },
      );
    },
  );

  it('random bodies behind a valid header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 160 }), (body) => {
        const t = new Uint8Array(36 + body.length);
        t.set([...'VIOT'].map((c) => c.charCodeAt(0)));
        t[4] = t.length;
        t.set(body, 36);
        run(fixChecksum(t));
      }),
      { numRuns: 500 },
    );
  });

  it('random well-formed node lists parse, and every endpoint points at an IOMMU node', () => {
    const nodeArb = fc.oneof(
      fc.record({
        k: fc.constant('pci' as const),
        seg: fc.integer({ min: 0, max: 1 }),
        bdf: fc.integer({ min: 0, max: 0xffff }),
      }),
      fc.record({
        k: fc.constant('range' as const),
        ep: fc.nat(),
        a: fc.integer({ min: 0, max: 0xffff }),
        b: fc.integer({ min: 0, max: 0xffff }),
      }),
      fc.record({
        k: fc.constant('raw' as const),
        type: fc.integer({ min: 5, max: 255 }),
        len: fc.integer({ min: 0, max: 12 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(nodeArb, { maxLength: 8 }), (spec) => {
        const iommuAt = 48;
        const nodes: Bytes[] = [viommuPci(0, 8)];
        for (const s of spec)
          nodes.push(
            s.k === 'pci'
              ? viommuPci(s.seg, s.bdf)
              : s.k === 'range'
                ? pciRange(s.ep, 0, 0, Math.min(s.a, s.b), Math.max(s.a, s.b), iommuAt)
                : node(s.type, zeros(s.len)),
          );
        const v = parseViot(viot(nodes), 'gen.dat');
        expect(v.nodes.map((n) => n.kind)).toEqual([
          'virtio-iommu-pci',
          ...spec.map((s) =>
            s.k === 'pci' ? 'virtio-iommu-pci' : s.k === 'range' ? 'pci-range' : 'unknown',
          ),
        ]);
        expect(run(viot(nodes))).toBeNull();
      }),
      { numRuns: 200 },
    );
  });
});
