// SPDX-License-Identifier: GPL-2.0-only
/**
 * The config-space decoder and the topology import on synthetic functions:
 * the capabilities the groundtruth QEMU machines lack (PASID, ATS, PRI,
 * SR-IOV), the kernel's walk rules, and every refusal naming the function
 * and the offset: lists that cycle, pointers out of range, registers past
 * the end, impossible header and port types and bus numbers.
 */
import { describe, expect, it } from 'vitest';
import { decodeConfig } from '../../../src/pci/config/decode.js';
import { importPciConfigs, type ConfigSource } from '../../../src/pci/import/from-config.js';
import { buildPciTopology } from '../../../src/pci/topology-build.js';
import { newKernel } from '../helpers.js';
import { ConfigBuilder } from './helpers.js';
import { inputError } from '../../support/input-error.js';

/** A root port on bus 00 leading to bus `secondary`. */
const rootPort = (secondary = 1, subordinate = secondary) =>
  new ConfigBuilder(4096, 0x8086, 0x3420, { header: 1, class: 0x060400 })
    .buses(0, secondary, subordinate)
    .pcie(0x40, 0x4);
/** A PCIe endpoint. */
const endpoint = (device = 0x5678) =>
  new ConfigBuilder(4096, 0x8086, device, { class: 0x020000 }).pcie(0x40, 0x0);
const decode = (b: ConfigBuilder | Uint8Array, bdf = '0000:01:00.0') =>
  decodeConfig(b instanceof ConfigBuilder ? b.bytes : b, bdf, 'cfg');
const decodeError = (b: ConfigBuilder | Uint8Array, bdf = '0000:01:00.0') => {
  const e = inputError(() => decode(b, bdf));
  expect(e.file).toBe('cfg');
  return `${e.where}: ${e.problem}`;
};
const src = (bdf: string, b: ConfigBuilder): ConfigSource => ({ bdf, bytes: b.bytes, file: `${bdf}.bin` });

describe('decoding', () => {
  it('reads the IDs, class, header type and the PCI Express port type', () => {
    const c = decode(rootPort(3, 7).w8(0x0e, 0x81), '0000:00:1c.0');
    expect(c).toMatchObject({
      bdf: '0000:00:1c.0',
      vendor: 0x8086,
      device: 0x3420,
      revision: 1,
      classCode: 0x060400,
      headerType: 1,
      multifunction: true,
      bridge: { primary: 0, secondary: 3, subordinate: 7 },
      pcie: { offset: 0x40, version: 2, portType: 4 },
      type: 'root-port',
      acs: null,
    });
  });

  it('ACS, PASID, ATS, PRI and SR-IOV from the extended list', () => {
    const c = decode(
      endpoint()
        .ext(0x100, 0x0d, { 4: 0x5f, 6: 0x1d })
        .ext(0x148, 0x1b, { 4: 20 << 8 })
        .ext(0x158, 0x0f)
        .ext(0x160, 0x13)
        .ext(0x170, 0x10, { 8: 1, 0xe: 8, 0x10: 2, 0x14: 0x80, 0x16: 2, 0x1a: 0x10ed }),
    );
    expect(c.acs).toEqual({ offset: 0x100, cap: 0x5f, ctrl: 0x1d });
    expect(c.pasid).toEqual({ offset: 0x148, maxWidth: 20 });
    expect(c.ats).toEqual({ offset: 0x158 });
    expect(c.pri).toEqual({ offset: 0x160 });
    expect(c.sriov).toEqual({
      offset: 0x170,
      enabled: true,
      totalVFs: 8,
      numVFs: 2,
      vfOffset: 0x80,
      vfStride: 2,
      vfDevice: 0x10ed,
    });
    expect(c.extCapabilities.map((x) => x.name)).toEqual([
      'Access Control Services',
      'Process Address Space ID',
      'Address Translation Services',
      'Page Request Interface',
      'Single Root I/O Virtualization',
    ]);
  });

  it('walks as the kernel does: masked pointers, 0xff ends the list, no list without PCI_STATUS_CAP_LIST', () => {
    const masked = endpoint().w8(0x34, 0x43);
    expect(decode(masked).pcie?.offset).toBe(0x40);
    const ended = endpoint().cap(0x50, 0xff).w8(0x51, 0x07);
    expect(decode(ended).capabilities.map((c) => c.offset)).toEqual([0x40]);
    const noList = endpoint().w16(0x06, 0);
    expect(decode(noList)).toMatchObject({ capabilities: [], pcie: null, type: 'conventional' });
  });

  it('ignores the extended list of a 256-byte dump and of a function without PCI Express', () => {
    const short = new ConfigBuilder(256, 0x8086, 0x1, {}).pcie(0x40, 0);
    expect(decode(short)).toMatchObject({ size: 256, type: 'endpoint', extCapabilities: [] });
    const pciX = new ConfigBuilder(4096, 0x8086, 0x1, {}).cap(0x40, 0x07).ext(0x100, 0x0d, { 4: 0x5f });
    expect(decode(pciX)).toMatchObject({ type: 'conventional', extCapabilities: [], acs: null });
    expect(decode(endpoint().w32(0x100, 0xffffffff)).extCapabilities).toEqual([]);
  });

  it("reads a bridge's subsystem IDs from its SSVID capability", () => {
    const c = decode(rootPort().cap(0x60, 0x0d, { 4: 0xf4, 5: 0x1a, 6: 0x00, 7: 0x11 }), '0000:00:1c.0');
    expect([c.subsystemVendor, c.subsystemDevice]).toEqual([0x1af4, 0x1100]);
  });
});

describe('refusals name the function and the offset', () => {
  it('a standard list that cycles', () => {
    expect(decodeError(endpoint().cap(0x50, 0x05).w8(0x51, 0x40))).toBe(
      '0000:01:00.0 offset 0x51: next capability pointer 0x40 leads back to a capability already listed: the list cycles',
    );
    const self = new ConfigBuilder(256, 0x8086, 1).cap(0x40, 0x01).w8(0x41, 0x41);
    expect(decodeError(self)).toMatch(/^0000:01:00.0 offset 0x41: .* the list cycles$/);
  });

  it('a pointer into the header', () => {
    expect(decodeError(endpoint().w8(0x34, 0x3c))).toBe(
      '0000:01:00.0 offset 0x34: PCI_CAPABILITY_LIST 0x3c points into the header (capabilities start at 0x40)',
    );
    expect(decodeError(endpoint().w8(0x41, 0x08))).toMatch(
      /^0000:01:00.0 offset 0x41: next capability pointer 0x08/,
    );
  });

  it('an extended list that cycles or points below 0x100', () => {
    const cycle = endpoint().ext(0x100, 0x01).ext(0x148, 0x03);
    cycle.w16(0x14a, 0x1000 | (cycle.bytes[0x14a] & 0xf)); // next of 0x148 -> 0x100
    expect(decodeError(cycle)).toBe(
      '0000:01:00.0 offset 0x148: extended capability 0x0003 (Device Serial Number): next pointer 0x100 leads back to a capability already listed: the list cycles',
    );
    const low = endpoint().ext(0x100, 0x0d).w16(0x102, 0x0f01);
    expect(decodeError(low)).toMatch(/^0000:01:00.0 offset 0x100: .*next pointer 0xf0 points below 0x100$/);
  });

  it('a capability whose registers lie past the end', () => {
    expect(decodeError(endpoint().ext(0x100, 0x01).ext(0xffc, 0x0d))).toBe(
      '0000:01:00.0 offset 0xffc: ACS capability: PCI_ACS_CAP at 0x1000 lies beyond the end of the 4096 bytes of config space',
    );
    const ssvid = new ConfigBuilder(256, 0x8086, 1, { header: 1 }).buses(0, 1, 1).cap(0xfc, 0x0d);
    expect(decodeError(ssvid, '0000:00:01.0')).toMatch(
      /offset 0xfc: Subsystem ID capability: PCI_SSVID_VENDOR_ID at 0x100/,
    );
  });

  it('a reserved Max PASID Width', () => {
    expect(decodeError(endpoint().ext(0x100, 0x1b, { 4: 21 << 8 }))).toBe(
      '0000:01:00.0 offset 0x104: PASID capability: Max PASID Width 21 is reserved (at most 20)',
    );
  });

  it('header types and port types that do not fit', () => {
    expect(decodeError(new ConfigBuilder(256, 0x1180, 0x476, { header: 2 }))).toMatch(
      /offset 0x0e: header type 2 \(CardBus/,
    );
    expect(decodeError(new Uint8Array(256).fill(0xff))).toMatch(
      /offset 0x0e: header type 0x7f .*reads all ones/,
    );
    expect(decodeError(endpoint().w8(0x42, 0x22))).toBe(
      '0000:01:00.0 offset 0x42: PCI Express capability: Device/Port Type 0x2 is reserved',
    );
    expect(decodeError(endpoint().w8(0x0e, 1).buses(1, 2, 2))).toMatch(
      /offset 0x0e: header type 1 \(PCI-to-PCI bridge\) does not fit .* \(endpoint, not a bridge\)/,
    );
  });

  it("a bridge's bus numbers", () => {
    const at = (p: number, s: number, sub: number) =>
      decodeError(rootPort().buses(p, s, sub), '0000:02:00.0');
    expect(at(2, 0, 0)).toMatch(/offset 0x19: the bridge has no bus numbers/);
    expect(at(2, 2, 3)).toMatch(/offset 0x19: secondary bus 0x02 is not above the bridge's own bus 0x02/);
    expect(at(2, 4, 3)).toMatch(/offset 0x1a: subordinate bus 0x03 is below the secondary bus 0x04/);
    expect(at(1, 3, 3)).toMatch(/offset 0x18: primary bus 0x01 is not the bus 0x02/);
    // A primary bus number hard-wired to 0 is accepted, as by pci_scan_bridge_extend().
    expect(decode(rootPort().buses(0, 3, 3), '0000:02:00.0').bridge).toEqual({
      primary: 0,
      secondary: 3,
      subordinate: 3,
    });
  });

  it('dumps of the wrong size, and addresses that are not addresses', () => {
    expect(decodeError(new Uint8Array(64))).toMatch(
      /^0000:01:00.0: only the first 64 bytes .*lspci -D -xxxx/,
    );
    expect(decodeError(new Uint8Array(300))).toBe(
      '0000:01:00.0: 300 bytes of config space; expected 256 or 4096',
    );
    expect(inputError(() => decodeConfig(new Uint8Array(256), '01:20.0', 'cfg')).problem).toMatch(
      /not a PCI address/,
    );
  });
});

describe('importing synthetic machines', () => {
  it('PASID, ATS and PRI reach the JSON and the built pci_dev', () => {
    const [topo] = importPciConfigs([
      src('00:1c.0', rootPort().ext(0x100, 0x0d, { 4: 0x1f, 6: 0x11 })),
      src(
        '01:00.0',
        endpoint()
          .ext(0x100, 0x1b, { 4: 20 << 8 })
          .ext(0x108, 0x0f)
          .ext(0x110, 0x13),
      ),
    ]);
    expect(topo.functions[1]).toMatchObject({ bdf: '01:00.0', pasidWidth: 20, ats: true, pri: true });
    expect(topo.functions[0].acs).toEqual({
      cap: '0x001f',
      ctrl: '0x0000',
      offset: 0x100,
      observedCtrl: '0x0011',
    });
    const t = buildPciTopology(newKernel(), topo);
    expect(t.device('01:00.0').pci!.pasidWidth).toBe(20);
    expect(t.device('00:1c.0').pci!.acs_cap).toBe(0x100);
  });

  it('SR-IOV VFs, whose IDs read all ones, hang off their PF', () => {
    const pf = endpoint(0x10fb).ext(0x100, 0x10, {
      8: 1,
      0xe: 4,
      0x10: 2,
      0x14: 0x80,
      0x16: 1,
      0x1a: 0x10ed,
    });
    const vf = () => new ConfigBuilder(4096, 0xffff, 0xffff, { class: 0x020000 }).pcie(0x40, 0);
    const [topo] = importPciConfigs([
      src('00:1c.0', rootPort()),
      src('01:00.0', pf),
      src('01:10.0', vf()),
      src('01:10.1', vf()),
    ]);
    expect(topo.functions.slice(2)).toEqual([
      {
        bdf: '01:10.0',
        type: 'endpoint',
        vendor: '8086',
        device: '10ed',
        class: '020000',
        physfn: '01:00.0',
      },
      {
        bdf: '01:10.1',
        type: 'endpoint',
        vendor: '8086',
        device: '10ed',
        class: '020000',
        physfn: '01:00.0',
      },
    ]);
    const t = buildPciTopology(newKernel(), topo);
    expect(t.device('01:10.1').pci!.is_virtfn).toBe(true);
    // Not a VF of anything: refused.
    const e = inputError(() => importPciConfigs([src('00:1c.0', rootPort()), src('01:00.0', vf())]));
    expect(e.message).toBe(
      '01:00.0.bin: 0000:01:00.0 offset 0x00: vendor ID 0xffff: the function reads as absent, and no PF with SR-IOV enabled has it as a VF',
    );
  });

  it('one topology per segment, each rooted at its lowest bus', () => {
    const topos = importPciConfigs([
      src('0001:80:00.0', new ConfigBuilder(256, 0x8086, 1, { class: 0x060000 })),
      src('0000:00:00.0', new ConfigBuilder(256, 0x8086, 1, { class: 0x060000 })),
    ]);
    expect(topos.map((t) => [t.segment, t.root])).toEqual([
      [0, 0],
      [1, 0x80],
    ]);
  });

  it('refuses what the model cannot hold, naming the function', () => {
    const host = () => new ConfigBuilder(256, 0x8086, 1, { class: 0x060000 });
    expect(inputError(() => importPciConfigs([src('00:00.0', host()), src('40:00.0', host())])).message).toBe(
      '40:00.0.bin: 0000:40:00.0: bus 0x40 is not behind any bridge and is not the root bus 0x00: a segment with several host bridges (root buses) is not modelled',
    );
    expect(
      inputError(() => importPciConfigs([src('00:00.0', host()), src('00:00.1', host())])).problem,
    ).toMatch(/^function 0 is not multifunction .* would not scan 0000:00:00.1$/);
    // The planner's complaints come back naming the function.
    const e = inputError(() => importPciConfigs([src('00:1c.0', rootPort()), src('01:01.0', endpoint())]));
    expect(e.message).toBe(
      '01:01.0.bin: 0000:01:01.0: below 0000:00:1c.0 (a PCIe downstream port) only device 00 is scanned',
    );
    const dup = inputError(() => importPciConfigs([src('00:00.0', host()), src('0000:00:00.0', host())]));
    expect(dup.problem).toMatch(/0000:00:00.0 appears twice/);
  });
});
