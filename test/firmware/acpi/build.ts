// SPDX-License-Identifier: GPL-2.0-only
/**
 * Test helper: ACPI tables assembled byte by byte (little-endian), with the
 * header's length and checksum filled in, IORT nodes and ID mappings, and
 * the synthetic DMAR and IVRS tables that exercise what the QEMU tables and
 * iasl templates lack (ANDD, SATC, multi-hop scopes, IVHD 11h/40h, alias and
 * extended entries, ACPI HID entries, IVMD 22h, several IOMMUs and
 * segments). The synthetic tables are committed under synthetic/ so that
 * gen-iasl-expectations.sh can run iasl on them; synthetic.test.ts keeps the
 * files equal to these builders.
 */

export type Bytes = number[];

export const u8 = (v: number): Bytes => [v & 0xff];
export const u16 = (v: number): Bytes => [v & 0xff, (v >> 8) & 0xff];
export const u32 = (v: number): Bytes => [...u16(v & 0xffff), ...u16((v >>> 16) & 0xffff)];
export const u64 = (v: bigint | number): Bytes => {
  const b = BigInt(v);
  return [...u32(Number(b & 0xffffffffn)), ...u32(Number((b >> 32n) & 0xffffffffn))];
};
/** `s` as bytes, NUL-padded (or cut) to n. */
export const ascii = (s: string, n: number): Bytes =>
  Array.from({ length: n }, (_, i) => (i < s.length ? s.charCodeAt(i) : 0));
export const zeros = (n: number): Bytes => new Array<number>(n).fill(0);

/** A whole table: the 36-byte header with length and checksum, then `body`. */
export function acpiTable(signature: string, revision: number, body: Bytes): Uint8Array {
  const length = 36 + body.length;
  const t = new Uint8Array([
    ...ascii(signature, 4),
    ...u32(length),
    ...u8(revision),
    0,
    ...ascii('IOMMUL', 6),
    ...ascii('SYNTHTIC', 8),
    ...u32(1),
    ...ascii('TEST', 4),
    ...u32(0x20261125),
    ...body,
  ]);
  let sum = 0;
  for (const b of t) sum = (sum + b) & 0xff;
  t[9] = (0x100 - sum) & 0xff;
  return t;
}

// ---- IORT

/**
 * An IORT node: the 16-byte header (type, length, revision, identifier 0,
 * mapping count and offset), `body`, padding up to `mappingAt` (default: right
 * after the body), then the ID mappings.
 */
export function iortNode(
  type: number,
  revision: number,
  body: Bytes,
  mappings: Bytes[] = [],
  mappingAt?: number,
): Bytes {
  const at = mappingAt ?? 16 + body.length;
  const pad = zeros(Math.max(0, at - 16 - body.length));
  const length = 16 + body.length + pad.length + mappings.flat().length;
  return [
    ...u8(type),
    ...u16(length),
    ...u8(revision),
    ...u32(0),
    ...u32(mappings.length),
    ...u32(mappings.length ? at : 0),
    ...body,
    ...pad,
    ...mappings.flat(),
  ];
}

/** An IORT ID mapping: input base, ID count, output base, output reference, flags. */
export const iortIdMap = (inBase: number, count: number, outBase: number, ref: number, flags = 0): Bytes => [
  ...u32(inBase),
  ...u32(count),
  ...u32(outBase),
  ...u32(ref),
  ...u32(flags),
];

// ---- DMAR

export function dmarHeader(width: number, flags: number): Bytes {
  return [...u8(width), ...u8(flags), ...zeros(10)];
}

export function dmarStruct(type: number, body: Bytes): Bytes {
  return [...u16(type), ...u16(4 + body.length), ...body];
}

export function dmarScope(type: number, enumId: number, bus: number, path: [number, number][]): Bytes {
  return [...u8(type), ...u8(6 + 2 * path.length), ...u16(0), ...u8(enumId), ...u8(bus), ...path.flat()];
}

export function drhd(flags: number, size: number, segment: number, base: bigint, scopes: Bytes[]): Bytes {
  return dmarStruct(0, [...u8(flags), ...u8(size), ...u16(segment), ...u64(base), ...scopes.flat()]);
}

export function rmrr(segment: number, base: bigint, end: bigint, scopes: Bytes[]): Bytes {
  return dmarStruct(1, [...u16(0), ...u16(segment), ...u64(base), ...u64(end), ...scopes.flat()]);
}

export function atsr(flags: number, segment: number, scopes: Bytes[]): Bytes {
  return dmarStruct(2, [...u8(flags), 0, ...u16(segment), ...scopes.flat()]);
}

export function rhsa(base: bigint, pxm: number): Bytes {
  return dmarStruct(3, [...u32(0), ...u64(base), ...u32(pxm)]);
}

export function andd(deviceNumber: number, name: string): Bytes {
  return dmarStruct(4, [0, 0, 0, ...u8(deviceNumber), ...ascii(name, name.length + 1)]);
}

export function satc(flags: number, segment: number, scopes: Bytes[]): Bytes {
  return dmarStruct(5, [...u8(flags), 0, ...u16(segment), ...scopes.flat()]);
}

// ---- IVRS

export function ivrsHeader(info: number): Bytes {
  return [...u32(info), ...u64(0)];
}

export interface IvhdFields {
  readonly flags?: number;
  readonly cap?: number;
  readonly base?: bigint;
  readonly segment?: number;
  readonly info?: number;
  readonly feature?: number;
  readonly efr?: bigint;
  readonly efr2?: bigint;
}

export function ivhd(type: 0x10 | 0x11 | 0x40, devid: number, f: IvhdFields, entries: Bytes[]): Bytes {
  const tail = [
    ...u16(f.cap ?? 0x40),
    ...u64(f.base ?? 0xfed80000n),
    ...u16(f.segment ?? 0),
    ...u16(f.info ?? 0),
    ...u32(f.feature ?? 0),
    ...(type === 0x10 ? [] : [...u64(f.efr ?? 0n), ...u64(f.efr2 ?? 0n)]),
  ];
  const body = entries.flat();
  const length = 6 + tail.length + body.length;
  return [...u8(type), ...u8(f.flags ?? 0), ...u16(length), ...u16(devid), ...tail, ...body];
}

/** A 4-byte device entry. */
export const e4 = (type: number, devid: number, dte = 0): Bytes => [...u8(type), ...u16(devid), ...u8(dte)];
/** An 8-byte device entry with its 4 data bytes. */
export const e8 = (type: number, devid: number, dte: number, data: Bytes): Bytes => [
  ...e4(type, devid, dte),
  ...data,
];
export const alias = (type: 0x42 | 0x43, devid: number, aliasId: number, dte = 0): Bytes =>
  e8(type, devid, dte, [0, ...u16(aliasId), 0]);
export const ext = (type: 0x46 | 0x47, devid: number, data: number, dte = 0): Bytes =>
  e8(type, devid, dte, u32(data));
export const special = (handle: number, usedId: number, variety: number, dte = 0): Bytes =>
  e8(0x48, 0, dte, [...u8(handle), ...u16(usedId), ...u8(variety)]);
export function hidEntry(
  devid: number,
  dte: number,
  hid: string,
  cid: string,
  uidFormat: number,
  uid: Bytes,
): Bytes {
  return [
    ...e4(0xf0, devid, dte),
    ...ascii(hid, 8),
    ...ascii(cid, 8),
    ...u8(uidFormat),
    ...u8(uid.length),
    ...uid,
  ];
}

export function ivmd(
  type: 0x20 | 0x21 | 0x22,
  flags: number,
  devid: number,
  aux: number,
  segment: number,
  start: bigint,
  length: bigint,
): Bytes {
  return [
    ...u8(type),
    ...u8(flags),
    ...u16(32),
    ...u16(devid),
    ...u16(aux),
    ...u16(segment),
    ...zeros(6),
    ...u64(start),
    ...u64(length),
  ];
}

// ---- The synthetic fixtures

/** Every DMAR structure type, every scope type, a two-hop path, a second segment, a reserved type. */
export function syntheticDmar(): Uint8Array {
  return acpiTable('DMAR', 2, [
    ...dmarHeader(38, 0x07),
    ...drhd(0, 0, 0, 0xfed90000n, [
      dmarScope(1, 0, 0, [[0x02, 0]]),
      dmarScope(2, 0, 0, [[0x1c, 0]]),
      dmarScope(1, 0, 0, [
        [0x1c, 0],
        [0x00, 0],
      ]),
      dmarScope(3, 2, 0xf0, [[0x1f, 0]]),
      dmarScope(4, 0, 0, [[0x1f, 7]]),
      dmarScope(5, 1, 0, [[0x15, 0]]),
    ]),
    ...drhd(1, 2, 0, 0xfed91000n, [dmarScope(3, 8, 0xf0, [[0x1f, 0]])]),
    ...drhd(0, 0, 1, 0xfed92000n, [dmarScope(1, 0, 0, [[0x00, 0]])]),
    ...rmrr(0, 0x7c000000n, 0x7c7fffffn, [
      dmarScope(1, 0, 0, [[0x14, 0]]),
      dmarScope(1, 0, 0, [
        [0x1c, 0],
        [0x00, 0],
      ]),
    ]),
    ...atsr(1, 0, []),
    ...atsr(0, 0, [dmarScope(2, 0, 0, [[0x1c, 0]])]),
    ...rhsa(0xfed90000n, 1),
    ...andd(1, '\\_SB.PCI0.I2C0'),
    ...satc(1, 0, [dmarScope(1, 0, 0, [[0x02, 0]])]),
    ...dmarStruct(7, [0x11, 0x22, 0x33, 0x44]),
  ]);
}

/** One IOMMU described as IVHD 10h, 11h and 40h (the kernel uses 40h), every entry kind, IVMD 20h-22h. */
export function syntheticIvrsTypes(): Uint8Array {
  const common = [
    e4(0x02, 0x0000, 0xd7),
    e4(0x03, 0x0008),
    e4(0x04, 0x0010),
    alias(0x42, 0x0100, 0x00f8),
    alias(0x43, 0x0200, 0x0018),
    e4(0x04, 0x02ff),
    ext(0x46, 0x0020, 0x80000000),
    ext(0x47, 0x0300, 0),
    e4(0x04, 0x030f),
    special(0x21, 0x00a0, 1, 0xd7),
    special(0x00, 0x00a5, 2),
    e4(0x00, 0),
    e8(0x40, 0, 0, u32(0)),
    e4(0x02, 0x0002),
  ];
  const efr = 0x246577efa2254afan;
  return acpiTable('IVRS', 2, [
    ...ivrsHeader(1 | 2 | (2 << 5) | (0x30 << 8) | (0x40 << 15) | (1 << 22)),
    ...ivhd(0x10, 0x0002, { flags: 0xb0, feature: 0x80048f6e }, [e4(0x01, 0), e4(0x02, 0x0002)]),
    ...ivhd(0x11, 0x0002, { flags: 0x90, info: 0x1f05, feature: 0x40, efr, efr2: 1n }, common),
    ...ivhd(0x40, 0x0002, { flags: 0x90, info: 0x1f05, feature: 0x40, efr, efr2: 1n }, [
      ...common,
      hidEntry(0x00a6, 0x40, 'AMDI0020', 'PNP0C01', 2, ascii('ID00', 4)),
      hidEntry(0x00a7, 0, 'AMDI0030', '', 1, [5]),
      hidEntry(0x00a8, 0, 'AMDI0040', '', 0, []),
    ]),
    ...ivmd(0x20, 0x07, 0, 0, 0, 0xe0000n, 0x1000n),
    ...ivmd(0x21, 0x08, 0x0020, 0, 0, 0xabc123n, 0x800n),
    ...ivmd(0x22, 0x05, 0x0100, 0x01ff, 0, 0x1000n, 0x2000n),
    ...ivmd(0x22, 0x02, 0x0300, 0x030f, 0, 0x9000n, 0x1000n),
  ]);
}

/** Three IOMMUs of type 10h on two segments: overlapping coverage, own device IDs, an IVMD for all of segment 1. */
export function syntheticIvrsMulti(): Uint8Array {
  return acpiTable('IVRS', 1, [
    ...ivrsHeader(0x2800),
    ...ivhd(0x10, 0x0002, { flags: 0xd1, base: 0xfed80000n }, [e4(0x01, 0)]),
    ...ivhd(0x10, 0x0008, { flags: 0xd1, base: 0xfed81000n }, [
      e4(0x02, 0x0008),
      e4(0x03, 0x0100),
      e4(0x04, 0x01ff),
      alias(0x42, 0x0210, 0x0200),
    ]),
    ...ivhd(0x10, 0x0002, { flags: 0xd1, base: 0xfed82000n, segment: 1 }, [
      e4(0x02, 0x0010),
      e4(0x02, 0x0002),
    ]),
    ...ivmd(0x20, 0x01, 0, 0, 1, 0x100000n, 0x1000n),
  ]);
}

/** The committed synthetic fixtures: file name under synthetic/ -> bytes. */
export const syntheticTables: Readonly<Record<string, () => Uint8Array>> = {
  'everything.DMAR.dat': syntheticDmar,
  'types.IVRS.dat': syntheticIvrsTypes,
  'multi.IVRS.dat': syntheticIvrsMulti,
};
