// SPDX-License-Identifier: GPL-2.0-only
// The IVRS parser's values (QEMU, the iasl template, the synthetic tables
// with IVHD 11h/40h, every device entry kind and IVMD 20h-22h), the IVHD
// type the kernel picks, the rlookup/alias/special/ACPI HID/unity results of
// ivrsToDriverTable(), the cases where the kernel's AMD-Vi init fails, and
// the coverage against what real Linux 6.12 gave the groundtruth scenario.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { type Ivhd, type IvhdEntry, parseIvrs } from '../../../src/firmware/acpi/ivrs-parse.js';
import {
  devidName,
  getHighestSupportedIvhdType,
  ivrsToDriverTable,
} from '../../../src/firmware/acpi/ivrs-to-driver.js';
import { acpiTable, e4, hidEntry, ivhd, ivmd, ivrsHeader, special } from './build.js';
import { groundtruthHas, iommuOf, lspciFunctions, tableBytes } from './tables.js';
import { GROUNDTRUTH_DIR } from './iasl.js';

const ivrs = (...blocks: number[][]) => acpiTable('IVRS', 1, [...ivrsHeader(0), ...blocks.flat()]);
const kinds = (h: Ivhd) => h.entries.map((e) => e.kind);

describe('parseIvrs: QEMU and iasl tables', () => {
  it('q35-amdvi-pxb: IVinfo, the IVHD 10h, its entries', () => {
    const p = parseIvrs(tableBytes('q35-amdvi-pxb.IVRS'), 'q35-amdvi-pxb.IVRS.dat');
    expect(p.info).toEqual({
      raw: 0x2800,
      efrSup: false,
      dmaRemap: false,
      gvaSize: 0,
      paSize: 40,
      vaSize: 0,
      htAtsReserved: false,
    });
    expect(p.blocks).toHaveLength(1);
    const h = p.blocks[0] as Ivhd;
    expect(h).toMatchObject({
      kind: 'ivhd',
      type: 0x10,
      flags: 0xd1,
      htTunEn: true,
      passPW: false,
      iotlbSup: true,
      prefSup: true,
      pprSup: true,
      deviceId: 0x0008,
      capabilityOffset: 0x40,
      baseAddress: 0xfed80000n,
      segment: 0,
      info: 0,
      featureReporting: 0x44,
    });
    expect(h.efr).toBeUndefined();
    expect(h.features).toEqual({ xtSup: false, gaSup: true, pcSup: false });
    expect(h.entries).toHaveLength(19);
    expect(h.entries[7]).toMatchObject({
      kind: 'aliasRangeStart',
      deviceId: 0x0300,
      aliasId: 0x0300,
      length: 8,
    });
    expect(h.entries[8]).toMatchObject({ kind: 'rangeEnd', deviceId: 0x03ff });
    expect(h.entries[18]).toMatchObject({ kind: 'special', handle: 0, usedId: 0x00a0, variety: 'ioapic' });
    expect(p.notes).toEqual([]);
  });

  it('iasl template: pad entries, IVMDs between two IVHDs, a special entry of variety 0', () => {
    const p = parseIvrs(tableBytes('iasl-template.IVRS'), 't.dat');
    expect(p.blocks.map((b) => `${b.kind} ${b.type.toString(16)}`)).toEqual([
      'ivhd 10',
      'ivmd 20',
      'ivmd 21',
      'ivhd 10',
    ]);
    expect(kinds(p.blocks[0] as Ivhd)).toEqual(['pad', 'reserved', 'aliasSelect', 'special']);
    expect(p.blocks[1]).toMatchObject({ kind: 'ivmd', exclusion: true, unity: false });
    expect(p.blocks[2]).toMatchObject({ kind: 'ivmd', write: true, read: false });
    expect(p.notes).toEqual([
      'offset 0x5c: special device entry variety 0 is neither IOAPIC (1) nor HPET (2): add_special_device() fails, and AMD-Vi initialisation with it if the kernel uses this IVHD',
    ]);
  });
});

describe('parseIvrs: the synthetic table with IVHD 10h, 11h and 40h', () => {
  const p = parseIvrs(tableBytes('synthetic-types.IVRS'), 'types.IVRS.dat');
  const [h10, h11, h40] = p.blocks as Ivhd[];

  it('IVinfo bits', () => {
    expect(p.info).toEqual({
      raw: p.info.raw,
      efrSup: true,
      dmaRemap: true,
      gvaSize: 2,
      paSize: 0x30,
      vaSize: 0x40,
      htAtsReserved: true,
    });
  });

  it('the three IVHD types with their headers', () => {
    expect([h10.type, h11.type, h40.type]).toEqual([0x10, 0x11, 0x40]);
    expect(h10).toMatchObject({ featureReporting: 0x80048f6e, coherent: true, iotlbSup: true });
    expect(h10.features).toEqual({ xtSup: false, gaSup: true, pcSup: true });
    expect(h40.features).toEqual({ xtSup: false, gaSup: true, pcSup: true });
    expect(h11).toMatchObject({
      info: 0x1f05,
      msiNumber: 5,
      unitId: 0x1f,
      featureReporting: 0x40,
      efr: 0x246577efa2254afan,
      efr2: 1n,
    });
    expect(h40.length).toBe(h40.entries.reduce((n, e) => n + e.length, 40));
  });

  it('every device entry kind, with its DTE settings', () => {
    expect(kinds(h40)).toEqual([
      'select',
      'rangeStart',
      'rangeEnd',
      'aliasSelect',
      'aliasRangeStart',
      'rangeEnd',
      'extSelect',
      'extRangeStart',
      'rangeEnd',
      'special',
      'special',
      'pad',
      'reserved',
      'select',
      'acpiHid',
      'acpiHid',
      'acpiHid',
    ]);
    const e = h40.entries;
    expect(e[0].dte).toEqual({
      initPass: true,
      eintPass: true,
      nmiPass: true,
      sysMgt: 1,
      lint0Pass: true,
      lint1Pass: true,
    });
    expect(e[3]).toMatchObject({ deviceId: 0x0100, aliasId: 0x00f8 });
    expect(e[6]).toMatchObject({ deviceId: 0x0020, extendedData: 0x80000000, atsDisabled: true });
    expect(e[7]).toMatchObject({ extendedData: 0, atsDisabled: false });
    expect(e[9]).toMatchObject({ handle: 0x21, usedId: 0x00a0, variety: 'ioapic', dataSetting: 0xd7 });
    expect(e[10]).toMatchObject({ handle: 0, usedId: 0x00a5, variety: 'hpet' });
    expect(e[12]).toMatchObject({ type: 0x40, length: 8, raw: [0, 0, 0, 0] });
    const hid = e.filter((x): x is Extract<IvhdEntry, { kind: 'acpiHid' }> => x.kind === 'acpiHid');
    expect(
      hid.map(({ hid, cid, uidFormat, uidLength, uid, kernelUid, deviceId, length }) => ({
        hid,
        cid,
        uidFormat,
        uidLength,
        uid,
        kernelUid,
        deviceId,
        length,
      })),
    ).toEqual([
      {
        hid: 'AMDI0020',
        cid: 'PNP0C01',
        uidFormat: 2,
        uidLength: 4,
        uid: 'ID00',
        kernelUid: 'ID00',
        deviceId: 0xa6,
        length: 26,
      },
      {
        hid: 'AMDI0030',
        cid: '',
        uidFormat: 1,
        uidLength: 1,
        uid: '5',
        kernelUid: '5',
        deviceId: 0xa7,
        length: 23,
      },
      {
        hid: 'AMDI0040',
        cid: '',
        uidFormat: 0,
        uidLength: 0,
        uid: null,
        kernelUid: '',
        deviceId: 0xa8,
        length: 22,
      },
    ]);
  });

  it('IVMD 20h, 21h, 22h', () => {
    const m = p.blocks.slice(3);
    expect(m.map((b) => b.kind)).toEqual(['ivmd', 'ivmd', 'ivmd', 'ivmd']);
    expect(m[0]).toMatchObject({
      type: 0x20,
      unity: true,
      read: true,
      write: true,
      startAddress: 0xe0000n,
      memoryLength: 0x1000n,
    });
    expect(m[1]).toMatchObject({ type: 0x21, exclusion: true, deviceId: 0x20, startAddress: 0xabc123n });
    expect(m[2]).toMatchObject({ type: 0x22, deviceId: 0x100, auxData: 0x1ff, segment: 0 });
  });
});

describe('ivrsToDriverTable()', () => {
  it('q35-amdvi-pxb: ranges, the alias range, the IOAPIC, the IOMMU not translating itself', () => {
    const t = ivrsToDriverTable(parseIvrs(tableBytes('q35-amdvi-pxb.IVRS'), 'q.dat'));
    expect(t.initError).toBeNull();
    expect(t.targetIvhdType).toBe(0x10);
    expect(t.ivhds).toHaveLength(1);
    const u = t.ivhds[0];
    expect(u.label).toBe('IVHD 00:01.0');
    expect(u.ranges).toEqual([
      [0x0000, 0x0000],
      [0x0010, 0x0011],
      [0x0018, 0x0018],
      [0x0020, 0x0020],
      [0x0028, 0x0028],
      [0x00a0, 0x00a0],
      [0x00f8, 0x00f8],
      [0x00fa, 0x00fb],
      [0x0100, 0x0200],
      [0x0300, 0x03ff],
      [0x8000, 0x8000],
      [0x8100, 0x81ff],
    ]);
    expect(t.lastBdf).toEqual([{ segment: 0, lastBdf: 0x81ff }]);
    expect(t.aliases).toHaveLength(0xff);
    expect(t.aliases[0]).toEqual({ segment: 0, devid: 0x0301, alias: 0x0300 });
    expect(u.aliases).toHaveLength(0x100);
    expect(t.specialDevices).toEqual([
      { variety: 'ioapic', id: 0, segment: 0, devid: 0xa0, unit: 'IVHD 00:01.0' },
    ]);
    expect(t.unityMaps).toEqual([]);
    expect(t.hypervisor).toBe(false);
    expect(
      ivrsToDriverTable(parseIvrs(tableBytes('q35-amdvi-pxb.IVRS'), 'q.dat'), { hypervisor: true })
        .hypervisor,
    ).toBe(true);
  });

  it('one IOMMU as 10h, 11h and 40h: the kernel uses 40h, with its ACPI HID entries', () => {
    const t = ivrsToDriverTable(parseIvrs(tableBytes('synthetic-types.IVRS'), 'types.dat'));
    expect(t.targetIvhdType).toBe(0x40);
    expect(t.ivhds.map((u) => [u.ivhdType, u.label, u.offset])).toEqual([[0x40, 'IVHD 00:00.2', 0xcc]]);
    expect(t.ivhds[0].ranges).toEqual([
      [0x0000, 0x0000],
      [0x0008, 0x0010],
      [0x0018, 0x0018],
      [0x0020, 0x0020],
      [0x00a0, 0x00a0],
      [0x00a5, 0x00a8],
      [0x00f8, 0x00f8],
      [0x0100, 0x0100],
      [0x0200, 0x030f],
    ]);
    expect(t.lastBdf).toEqual([{ segment: 0, lastBdf: 0x030f }]);
    expect(t.aliases[0]).toEqual({ segment: 0, devid: 0x0100, alias: 0x00f8 });
    expect(t.aliases.slice(1)).toEqual(
      Array.from({ length: 0x100 }, (_, i) => ({ segment: 0, devid: 0x200 + i, alias: 0x18 })),
    );
    expect(t.specialDevices.map((s) => [s.variety, s.id, s.devid])).toEqual([
      ['ioapic', 0x21, 0xa0],
      ['hpet', 0, 0xa5],
    ]);
    expect(t.acpiHidDevices.map((a) => [a.hid, a.uid, a.devid])).toEqual([
      ['AMDI0020', 'ID00', 0xa6],
      ['AMDI0030', '5', 0xa7],
      ['AMDI0040', '', 0xa8],
    ]);
    expect(t.unityMaps).toEqual([
      {
        offset: 0x18f,
        segment: 0,
        devidStart: 0,
        devidEnd: 0x30f,
        addressStart: 0xe0000n,
        addressEnd: 0xe1000n,
        prot: 3,
        exclusion: false,
      },
      {
        offset: 0x1af,
        segment: 0,
        devidStart: 0x20,
        devidEnd: 0x20,
        addressStart: 0xabd000n,
        addressEnd: 0xabe000n,
        prot: 3,
        exclusion: true,
      },
      {
        offset: 0x1cf,
        segment: 0,
        devidStart: 0x100,
        devidEnd: 0x1ff,
        addressStart: 0x1000n,
        addressEnd: 0x3000n,
        prot: 2,
        exclusion: false,
      },
    ]);
    expect(t.notes).toEqual([
      'offset 0x30: IVHD type 0x10 is not used (the kernel uses type 0x40)',
      'offset 0x50: IVHD type 0x11 is not used (the kernel uses type 0x40)',
    ]);
  });

  it('three IOMMUs on two segments: later IVHDs overwrite, own device IDs removed, IVMD for all of segment 1', () => {
    const t = ivrsToDriverTable(parseIvrs(tableBytes('synthetic-multi.IVRS'), 'multi.dat'));
    expect(t.ivhds.map((u) => [u.label, u.segment, u.ranges])).toEqual([
      [
        'IVHD 00:00.2',
        0,
        [
          [0x0000, 0x0001],
          [0x0003, 0x0007],
          [0x0009, 0x00ff],
          [0x0201, 0x020f],
          [0x0211, 0xffff],
        ],
      ],
      [
        'IVHD 00:01.0',
        0,
        [
          [0x0100, 0x0200],
          [0x0210, 0x0210],
        ],
      ],
      ['IVHD 0001:00:00.2', 1, [[0x0010, 0x0010]]],
    ]);
    expect(t.lastBdf).toEqual([
      { segment: 0, lastBdf: 0xffff },
      { segment: 1, lastBdf: 0x10 },
    ]);
    expect(t.aliases).toEqual([{ segment: 0, devid: 0x210, alias: 0x200 }]);
    expect(t.unityMaps).toEqual([
      {
        offset: 0x98,
        segment: 1,
        devidStart: 0,
        devidEnd: 0x10,
        addressStart: 0x100000n,
        addressEnd: 0x101000n,
        prot: 0,
        exclusion: false,
      },
    ]);
  });

  it("get_highest_supported_ivhd_type(): the last type listed for the first IVHD's device ID, IVMDs included", () => {
    const a = parseIvrs(
      ivrs(
        ivhd(0x10, 2, {}, [e4(2, 0x10)]),
        ivhd(0x10, 8, {}, [e4(2, 0x18)]),
        ivhd(0x11, 8, {}, [e4(2, 0x18)]),
      ),
      'a',
    );
    expect(getHighestSupportedIvhdType(a)).toBe(0x10);
    expect(ivrsToDriverTable(a).ivhds.map((u) => u.label)).toEqual(['IVHD 00:00.2', 'IVHD 00:01.0']);
    // The second IOMMU has no 11h: the kernel loses it.
    const b = parseIvrs(
      ivrs(
        ivhd(0x10, 2, {}, [e4(2, 0x10)]),
        ivhd(0x11, 2, {}, [e4(2, 0x10)]),
        ivhd(0x10, 8, {}, [e4(2, 0x18)]),
      ),
      'b',
    );
    expect(ivrsToDriverTable(b).ivhds.map((u) => [u.ivhdType, u.label])).toEqual([[0x11, 'IVHD 00:00.2']]);
    // An IVMD whose device ID is the IOMMU's: its type wins and AMD-Vi init fails.
    const c = parseIvrs(ivrs(ivhd(0x10, 2, {}, [e4(2, 0x10)]), ivmd(0x21, 1, 2, 0, 0, 0n, 0x1000n)), 'c');
    expect(ivrsToDriverTable(c)).toMatchObject({ targetIvhdType: 0x21, ivhds: [] });
    expect(ivrsToDriverTable(c).initError).toMatch(/picks type 0x21, which is not an IVHD type/);
    // A block type above 40h ends the scan.
    const d = parseIvrs(
      ivrs(ivhd(0x10, 2, {}, [e4(2, 0x10)]), [0x50, 0, 8, 0, 2, 0, 0, 0], ivhd(0x11, 2, {}, [e4(2, 0x10)])),
      'd',
    );
    expect(getHighestSupportedIvhdType(d)).toBe(0x10);
    expect(d.notes).toEqual(['offset 0x4c: IVRS block type 0x50 is not IVHD or IVMD: kept raw']);
  });

  it('AMD-Vi init failures: no device ID in an IVHD, a special entry of another variety, no IVHD', () => {
    expect(
      ivrsToDriverTable(parseIvrs(ivrs(ivhd(0x10, 2, {}, [special(0, 0xa0, 1)])), 'x')).initError,
    ).toMatch(/^offset 0x30: the IVHD names no device ID \(find_last_devid_from_ivhd\(\) returns -EINVAL/);
    // The template's second IVHD has no entries: the segment fails before its special entry of variety 0 is seen.
    expect(ivrsToDriverTable(parseIvrs(tableBytes('iasl-template.IVRS'), 't')).initError).toMatch(
      /^offset 0xa4: the IVHD names no device ID/,
    );
    const variety = parseIvrs(ivrs(ivhd(0x10, 2, {}, [e4(2, 0x10), special(0, 0xa0, 3)])), 'v');
    expect(ivrsToDriverTable(variety).initError).toMatch(
      /^offset 0x4c: special device variety 3 \(add_special_device\(\) returns -EINVAL\)/,
    );
    expect(ivrsToDriverTable(parseIvrs(ivrs(), 'e')).initError).toBe('the IVRS has no IVHD');
  });

  it('ACPI HID entries count only in IVHD 40h and with a HID', () => {
    const p = parseIvrs(
      ivrs(
        ivhd(0x10, 2, {}, [e4(2, 0x10), hidEntry(0x20, 0, 'AMDI0020', '', 0, [])]),
        ivhd(0x40, 8, {}, [e4(2, 0x18), hidEntry(0x28, 0, '', '', 0, [])]),
      ),
      'h',
    );
    expect(p.notes).toEqual([
      'offset 0x4c: ACPI HID entry in an IVHD of type 0x10: the kernel skips it ("Invalid IVHD device type")',
      'offset 0x8e: ACPI HID entry with an empty HID: the kernel skips it',
    ]);
    const t = ivrsToDriverTable(p);
    expect(t.targetIvhdType).toBe(0x10);
    expect(t.acpiHidDevices).toEqual([]);
    expect(t.ivhds[0].ranges).toEqual([[0x10, 0x10]]);
  });

  it('entries that would hang the kernel or run past the IVHD are InputErrors', () => {
    expect(() => parseIvrs(ivrs(ivhd(0x10, 2, {}, [e4(0x81, 0)])), 'u.dat')).toThrow(
      'u.dat: offset 0x48: IVHD device entry 0x81 length 0x0: type 0x81 has no length (ivhd_entry_length() returns 0 for types 0x80-0xff other than 0xf0: the kernel would loop forever)',
    );
    const long = hidEntry(0x20, 0, 'AMDI0020', '', 2, [0x41, 0x42]);
    long[21] = 9;
    expect(() => parseIvrs(ivrs(ivhd(0x40, 2, {}, [long])), 'h.dat')).toThrow(
      'h.dat: offset 0x58: IVHD device entry 0xf0 length 0x1f runs past the end of the IVHD at 0x30: only 24 bytes are left before 0x70',
    );
    expect(() => parseIvrs(ivrs(ivhd(0x10, 2, {}, [[0x42, 0, 0, 0]])), 'a.dat')).toThrow(
      'a.dat: offset 0x48: IVHD device entry 0x42 length 0x8 runs past the end of the IVHD at 0x30: only 4 bytes are left before 0x4c',
    );
  });

  it('devidName()', () => {
    expect(devidName(0, 0x00a0)).toBe('00:14.0');
    expect(devidName(1, 0x8101)).toBe('0001:81:00.1');
  });
});

describe('ivrsToDriverTable() against real Linux 6.12 (groundtruth)', () => {
  const scenarios = existsSync(GROUNDTRUTH_DIR)
    ? readdirSync(GROUNDTRUTH_DIR).filter((s) => groundtruthHas(s, 'IVRS.dat'))
    : [];

  for (const s of scenarios)
    it(`${s}: the PCI functions in the IVHD's ranges are those that got ivhd0`, () => {
      const t = ivrsToDriverTable(parseIvrs(tableBytes(`groundtruth-${s}.IVRS`), `${s}/IVRS.dat`));
      expect(t.initError).toBeNull();
      const covered = lspciFunctions(s)
        .filter((f) =>
          t.ivhds.some(
            (u) =>
              u.segment === f.segment &&
              u.ranges.some(([a, b]) => (f.bus << 8) + f.devfn >= a && (f.bus << 8) + f.devfn <= b),
          ),
        )
        .map((f) => f.name);
      expect(covered).toEqual([...iommuOf(s).keys()].sort());
      expect([...iommuOf(s).values()].every((v) => v === 'ivhd0')).toBe(true);
      // The PCIe-to-PCI bridge's bus is an alias range to the bridge (00:09.0): on another bus, so no DMA alias is added.
      expect(t.aliases.every((a) => a.alias === 0x48 && a.devid >> 8 === 1)).toBe(true);
    });
});
