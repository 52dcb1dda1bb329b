// SPDX-License-Identifier: GPL-2.0-only
/**
 * The binary ACPI IVRS table (AMD-Vi), as laid out in include/acpi/actbl2.h
 * and read by drivers/iommu/amd/init.c (struct ivhd_header, ivhd_entry,
 * ivmd_header; ivhd_entry_length(), get_ivhd_header_size(),
 * find_last_devid_from_ivhd(), init_iommu_from_acpi(),
 * init_memory_definitions()).
 *
 * The header's IVinfo (EFRSup, DMA remap support, GVA/PA/VA sizes, HT ATS
 * reserved); IVHD blocks 10h (24-byte header), 11h and 40h (40 bytes, with
 * the EFR register images) and their device entries: 4-byte 00h-04h,
 * 8-byte 42h/43h (alias), 46h/47h (extended), 48h (special IOAPIC/HPET),
 * the variable-length F0h ACPI HID entry, each with its DTE settings byte;
 * other 4- and 8-byte types are kept raw as the kernel skips them. IVMD
 * blocks 20h/21h/22h. Other block types are kept raw with a note.
 *
 * An entry type whose ivhd_entry_length() is 0 (80h-FFh except F0h) would
 * make the kernel loop forever: an InputError here, like a zero length, a
 * record past its block and a block past the table. What decides coverage
 * (which IVHD type the kernel uses, rlookup, aliases) is in
 * ivrs-to-driver.ts.
 */
import {
  type ParsedTableBase,
  type TableParseOptions,
  type Layout,
  type RecordFormat,
  type TableBytes,
  hex,
  readAcpiTable,
  trailingNote,
  walkRecords,
} from './acpi-table.js';

/** IVRS_HEADER_LENGTH */
export const IVRS_HEADER_LENGTH = 48;

/** struct acpi_table_ivrs beyond the ACPI header. */
export const IVRS_HEADER_LAYOUT = [
  { name: 'info', label: 'Virtualization Info', offset: 36, size: 4, kind: 'u32' },
  { name: 'reserved', label: 'Reserved', offset: 40, size: 8, kind: 'u64' },
] as const satisfies Layout;

/** struct acpi_ivrs_header: the start of every block. */
const BLOCK_HEADER = [
  { name: 'type', label: 'Subtable Type', offset: 0, size: 1, kind: 'u8' },
  { name: 'flags', label: 'Flags', offset: 1, size: 1, kind: 'u8' },
  { name: 'length', label: 'Length', offset: 2, size: 2, kind: 'u16' },
  { name: 'deviceId', label: 'DeviceId', offset: 4, size: 2, kind: 'u16' },
] as const satisfies Layout;

const BLOCK_HEADER_SIZE = 6;

/** struct ivhd_header for type 10h. */
export const IVHD_10_LAYOUT = [
  { name: 'capabilityOffset', label: 'Capability Offset', offset: 6, size: 2, kind: 'u16' },
  { name: 'baseAddress', label: 'Base Address', offset: 8, size: 8, kind: 'u64' },
  { name: 'segment', label: 'PCI Segment Group', offset: 16, size: 2, kind: 'u16' },
  { name: 'info', label: 'Virtualization Info', offset: 18, size: 2, kind: 'u16' },
  { name: 'featureReporting', label: 'Feature Reporting', offset: 20, size: 4, kind: 'u32' },
] as const satisfies Layout;

/** struct ivhd_header for types 11h and 40h. */
export const IVHD_11_LAYOUT = [
  { name: 'capabilityOffset', label: 'Capability Offset', offset: 6, size: 2, kind: 'u16' },
  { name: 'baseAddress', label: 'Base Address', offset: 8, size: 8, kind: 'u64' },
  { name: 'segment', label: 'PCI Segment Group', offset: 16, size: 2, kind: 'u16' },
  { name: 'info', label: 'Virtualization Info', offset: 18, size: 2, kind: 'u16' },
  { name: 'featureReporting', label: 'Attributes', offset: 20, size: 4, kind: 'u32' },
  { name: 'efr', label: 'EFR Image', offset: 24, size: 8, kind: 'u64' },
  // efr_reg2 in the kernel; "Reserved" in ACPICA 20200925.
  { name: 'efr2', label: 'EFR Register Image 2', offset: 32, size: 8, kind: 'u64' },
] as const satisfies Layout;

/** struct ivmd_header (the kernel reads the PCI segment at 8, inside what ACPICA calls Reserved). */
export const IVMD_LAYOUT = [
  { name: 'auxData', label: 'Auxiliary Data', offset: 6, size: 2, kind: 'u16' },
  { name: 'segment', label: 'PCI Segment Group', offset: 8, size: 2, kind: 'u16' },
  { name: 'reserved', label: 'Reserved', offset: 10, size: 6, kind: 'bytes' },
  { name: 'startAddress', label: 'Start Address', offset: 16, size: 8, kind: 'u64' },
  { name: 'memoryLength', label: 'Memory Length', offset: 24, size: 8, kind: 'u64' },
] as const satisfies Layout;

export const IVHD_TYPES = [0x10, 0x11, 0x40] as const;
export const IVMD_TYPE_ALL = 0x20;
export const IVMD_TYPE_SELECT = 0x21;
export const IVMD_TYPE_RANGE = 0x22;

/** IVHD device entry types (init.c IVHD_DEV_*). */
export const IVHD_DEV_PAD4 = 0x00;
export const IVHD_DEV_ALL = 0x01;
export const IVHD_DEV_SELECT = 0x02;
export const IVHD_DEV_SELECT_RANGE_START = 0x03;
export const IVHD_DEV_RANGE_END = 0x04;
export const IVHD_DEV_ALIAS = 0x42;
export const IVHD_DEV_ALIAS_RANGE = 0x43;
export const IVHD_DEV_EXT_SELECT = 0x46;
export const IVHD_DEV_EXT_SELECT_RANGE = 0x47;
export const IVHD_DEV_SPECIAL = 0x48;
export const IVHD_DEV_ACPI_HID = 0xf0;

/** struct acpi_ivrs_de_header */
const ENTRY_HEADER = [
  { name: 'type', label: 'Entry Type', offset: 0, size: 1, kind: 'u8' },
  { name: 'deviceId', label: 'Device ID', offset: 1, size: 2, kind: 'u16' },
  { name: 'dataSetting', label: 'Data Setting', offset: 3, size: 1, kind: 'u8' },
] as const satisfies Layout;

const ALIAS_LAYOUT = [
  { name: 'reserved1', label: 'Reserved', offset: 4, size: 1, kind: 'u8' },
  { name: 'usedId', label: 'Source Used Device ID', offset: 5, size: 2, kind: 'u16' },
  { name: 'reserved2', label: 'Reserved', offset: 7, size: 1, kind: 'u8' },
] as const satisfies Layout;

const EXT_LAYOUT = [
  { name: 'extendedData', label: 'Extended Data', offset: 4, size: 4, kind: 'u32' },
] as const satisfies Layout;

const SPECIAL_LAYOUT = [
  { name: 'handle', label: 'Handle', offset: 4, size: 1, kind: 'u8' },
  { name: 'usedId', label: 'Source Used Device ID', offset: 5, size: 2, kind: 'u16' },
  { name: 'variety', label: 'Variety', offset: 7, size: 1, kind: 'u8' },
] as const satisfies Layout;

/** struct acpi_ivrs_device_hid, then the UID. */
const HID_LAYOUT = [
  { name: 'hid', label: 'ACPI HID', offset: 4, size: 8, kind: 'ascii' },
  { name: 'cid', label: 'ACPI CID', offset: 12, size: 8, kind: 'ascii' },
  { name: 'uidFormat', label: 'UID Format', offset: 20, size: 1, kind: 'u8' },
  { name: 'uidLength', label: 'UID Length', offset: 21, size: 1, kind: 'u8' },
] as const satisfies Layout;

const HID_UID_LAYOUT = [{ name: 'uid', label: 'UID', offset: 22, size: 'rest', kind: 'bytes' }] as const;

const HID_HEADER_SIZE = 22;

/** The DTE settings byte of a device entry (ACPI_DEVFLAG_*). */
export interface IvhdDteSettings {
  readonly initPass: boolean;
  readonly eintPass: boolean;
  readonly nmiPass: boolean;
  /** Bits 5:4 */
  readonly sysMgt: number;
  readonly lint0Pass: boolean;
  readonly lint1Pass: boolean;
}

interface EntryBase {
  readonly offset: number;
  readonly type: number;
  readonly length: number;
  readonly deviceId: number;
  /** The raw DTE settings byte. */
  readonly dataSetting: number;
  readonly dte: IvhdDteSettings;
}

export type IvhdEntry =
  | (EntryBase & { readonly kind: 'pad' | 'all' | 'select' | 'rangeStart' | 'rangeEnd' })
  | (EntryBase & {
      readonly kind: 'aliasSelect' | 'aliasRangeStart';
      /** The requester ID the devices use (devid_to). */
      readonly aliasId: number;
    })
  | (EntryBase & {
      readonly kind: 'extSelect' | 'extRangeStart';
      readonly extendedData: number;
      /** ACPI_IVHD_ATS_DISABLED, bit 31. */
      readonly atsDisabled: boolean;
    })
  | (EntryBase & {
      readonly kind: 'special';
      /** IOAPIC ID or HPET number. */
      readonly handle: number;
      /** The requester ID the IOAPIC/HPET uses. */
      readonly usedId: number;
      readonly variety: 'ioapic' | 'hpet' | number;
    })
  | (EntryBase & {
      readonly kind: 'acpiHid';
      /** The 8 HID bytes up to the first NUL. */
      readonly hid: string;
      readonly cid: string;
      /** 0 none, 1 integer, 2 string. */
      readonly uidFormat: number;
      readonly uidLength: number;
      readonly uidBytes: readonly number[];
      /** The UID as ACPI means it: a decimal integer, the string, or null. */
      readonly uid: string | null;
      /** The UID as init_iommu_from_acpi() builds it ("%d" of the first byte for integers). */
      readonly kernelUid: string;
    })
  | (EntryBase & {
      readonly kind: 'reserved';
      /** Bytes after the 4-byte entry header. */
      readonly raw: readonly number[];
    });

export type IvhdType = (typeof IVHD_TYPES)[number];

export interface Ivhd {
  readonly kind: 'ivhd';
  readonly offset: number;
  readonly type: IvhdType;
  readonly flags: number;
  /** IVHD flags, bit 0 up. */
  readonly htTunEn: boolean;
  readonly passPW: boolean;
  readonly resPassPW: boolean;
  readonly isoc: boolean;
  readonly iotlbSup: boolean;
  readonly coherent: boolean;
  readonly prefSup: boolean;
  readonly pprSup: boolean;
  readonly length: number;
  /** The IOMMU's own requester ID. */
  readonly deviceId: number;
  readonly capabilityOffset: number;
  readonly baseAddress: bigint;
  readonly segment: number;
  /** IOMMU info: MSI number bits 4:0, UnitID bits 12:8. */
  readonly info: number;
  readonly msiNumber: number;
  readonly unitId: number;
  /** 10h: IOMMU feature reporting; 11h/40h: attributes. */
  readonly featureReporting: number;
  /** 11h/40h: the EFR register image (efr_reg) and EFR2 (efr_reg2). */
  readonly efr?: bigint;
  readonly efr2?: bigint;
  /** The feature bits init_iommu_one() reads, from the feature reporting field (10h) or the EFR image (11h/40h). */
  readonly features: IvhdFeatures;
  readonly entries: readonly IvhdEntry[];
}

/**
 * What init_iommu_one() takes from an IVHD: for 10h the feature reporting
 * field (GASup bit 6, PN counters bits 16:13, PN banks bits 22:17; x2APIC
 * bit 0), for 11h/40h the EFR image (XTSup bit 2, GASup bit 7, PCSup bit 9).
 */
export interface IvhdFeatures {
  readonly xtSup: boolean;
  readonly gaSup: boolean;
  /** 10h: counters and banks both non-zero; 11h/40h: EFR PCSup. The kernel then maps the counter registers. */
  readonly pcSup: boolean;
}

function ivhdFeatures(type: number, featureReporting: number, efr: bigint | undefined): IvhdFeatures {
  if (type === 0x10)
    return {
      xtSup: (featureReporting & 1) !== 0,
      gaSup: (featureReporting & (1 << 6)) !== 0,
      pcSup: (featureReporting & (0xf << 13)) !== 0 && (featureReporting & (0x3f << 17)) !== 0,
    };
  const e = efr ?? 0n;
  return { xtSup: (e & (1n << 2n)) !== 0n, gaSup: (e & (1n << 7n)) !== 0n, pcSup: (e & (1n << 9n)) !== 0n };
}

export interface Ivmd {
  readonly kind: 'ivmd';
  readonly offset: number;
  readonly type: typeof IVMD_TYPE_ALL | typeof IVMD_TYPE_SELECT | typeof IVMD_TYPE_RANGE;
  readonly flags: number;
  readonly unity: boolean;
  readonly read: boolean;
  readonly write: boolean;
  readonly exclusion: boolean;
  readonly length: number;
  readonly deviceId: number;
  /** End of the range for 22h. */
  readonly auxData: number;
  readonly segment: number;
  readonly startAddress: bigint;
  readonly memoryLength: bigint;
}

export interface IvrsUnknownBlock {
  readonly kind: 'unknown';
  readonly offset: number;
  readonly type: number;
  readonly flags: number;
  readonly length: number;
  /** The u16 at +4 (get_highest_supported_ivhd_type() reads it from every block). */
  readonly deviceId: number;
  /** Bytes after the 6-byte block header. */
  readonly raw: readonly number[];
}

export type IvrsBlock = Ivhd | Ivmd | IvrsUnknownBlock;

export interface IvrsInfo {
  readonly raw: number;
  /** Bit 0: EFRSup, the IVHD EFR images are valid. */
  readonly efrSup: boolean;
  /** Bit 1: DMA remap support (IOMMU_IVINFO_DMA_REMAP). */
  readonly dmaRemap: boolean;
  /** Bits 7:5 */
  readonly gvaSize: number;
  /** Bits 14:8 */
  readonly paSize: number;
  /** Bits 21:15 */
  readonly vaSize: number;
  /** Bit 22 */
  readonly htAtsReserved: boolean;
}

export interface ParsedIvrs extends ParsedTableBase {
  readonly info: IvrsInfo;
  /** In table order. */
  readonly blocks: readonly IvrsBlock[];
}

export type IvrsParseOptions = TableParseOptions;

function isIvhdType(type: number): type is IvhdType {
  return (IVHD_TYPES as readonly number[]).includes(type);
}

function isIvmdType(type: number): type is Ivmd['type'] {
  return type === IVMD_TYPE_ALL || type === IVMD_TYPE_SELECT || type === IVMD_TYPE_RANGE;
}

/** get_ivhd_header_size() */
export function ivhdHeaderSize(type: number): number {
  return type === 0x10 ? 24 : type === 0x11 || type === 0x40 ? 40 : 0;
}

function blockName(type: number): string {
  if (isIvhdType(type)) return `IVHD type ${hex(type)}`;
  if (isIvmdType(type)) return `IVMD type ${hex(type)}`;
  return `IVRS block type ${hex(type)}`;
}

const BLOCK_FORMAT: RecordFormat = {
  what: 'IVRS block',
  headerSize: 4,
  header: (t, o) => ({ type: t.u8(o), length: t.u16(o + 2) }),
  minLength: (type) => (isIvhdType(type) ? ivhdHeaderSize(type) : isIvmdType(type) ? 32 : BLOCK_HEADER_SIZE),
  name: blockName,
  zeroLength: () => 'a zero-length block (the kernel walks IVRS blocks by length and would loop forever)',
};

/** ivhd_entry_length() */
export function ivhdEntryLength(type: number, uidLength: number): number {
  if (type < 0x80) return 4 << (type >> 6);
  if (type === IVHD_DEV_ACPI_HID) return HID_HEADER_SIZE + uidLength;
  return 0;
}

const ENTRY_FORMAT: RecordFormat = {
  what: 'IVHD device entry',
  headerSize: 1,
  header: (t, o, end) => {
    const type = t.u8(o);
    if (type === IVHD_DEV_ACPI_HID && end - o < HID_HEADER_SIZE)
      throw t.error(
        o,
        `IVHD device entry 0xf0 (ACPI HID) needs ${HID_HEADER_SIZE} bytes to give its length, only ${end - o} left in the IVHD`,
      );
    return { type, length: ivhdEntryLength(type, type === IVHD_DEV_ACPI_HID ? t.u8(o + 21) : 0) };
  },
  minLength: (type) => (type === IVHD_DEV_ACPI_HID ? HID_HEADER_SIZE : 4),
  name: (type) => `IVHD device entry ${hex(type)}`,
  zeroLength: (type) =>
    `type ${hex(type)} has no length (ivhd_entry_length() returns 0 for types 0x80-0xff other than 0xf0: the kernel would loop forever)`,
};

const ENTRY_KINDS: Readonly<Record<number, IvhdEntry['kind']>> = {
  [IVHD_DEV_PAD4]: 'pad',
  [IVHD_DEV_ALL]: 'all',
  [IVHD_DEV_SELECT]: 'select',
  [IVHD_DEV_SELECT_RANGE_START]: 'rangeStart',
  [IVHD_DEV_RANGE_END]: 'rangeEnd',
  [IVHD_DEV_ALIAS]: 'aliasSelect',
  [IVHD_DEV_ALIAS_RANGE]: 'aliasRangeStart',
  [IVHD_DEV_EXT_SELECT]: 'extSelect',
  [IVHD_DEV_EXT_SELECT_RANGE]: 'extRangeStart',
  [IVHD_DEV_SPECIAL]: 'special',
  [IVHD_DEV_ACPI_HID]: 'acpiHid',
};

export function dteSettings(b: number): IvhdDteSettings {
  return {
    initPass: (b & 0x01) !== 0,
    eintPass: (b & 0x02) !== 0,
    nmiPass: (b & 0x04) !== 0,
    sysMgt: (b >> 4) & 3,
    lint0Pass: (b & 0x40) !== 0,
    lint1Pass: (b & 0x80) !== 0,
  };
}

/** Bytes up to the first NUL, as characters. */
function cString(s: string): string {
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

function parseEntries(t: TableBytes, ivhd: number, start: number, end: number, notes: string[]): IvhdEntry[] {
  const type = t.u8(ivhd);
  return walkRecords(t, start, end, ENTRY_FORMAT, `IVHD at ${hex(ivhd)}`).map((r): IvhdEntry => {
    const eend = r.offset + r.length;
    const what = `IVHD device entry ${hex(r.type)}`;
    const h = t.read(r.offset, eend, ENTRY_HEADER, what);
    const base: EntryBase = {
      offset: r.offset,
      type: r.type,
      length: r.length,
      deviceId: h.deviceId,
      dataSetting: h.dataSetting,
      dte: dteSettings(h.dataSetting),
    };
    const kind = ENTRY_KINDS[r.type] ?? 'reserved';
    switch (kind) {
      case 'pad':
      case 'all':
      case 'select':
      case 'rangeStart':
      case 'rangeEnd':
        return { ...base, kind };
      case 'aliasSelect':
      case 'aliasRangeStart': {
        const v = t.read(r.offset, eend, ALIAS_LAYOUT, what);
        return { ...base, kind, aliasId: v.usedId };
      }
      case 'extSelect':
      case 'extRangeStart': {
        const v = t.read(r.offset, eend, EXT_LAYOUT, what);
        return {
          ...base,
          kind,
          extendedData: v.extendedData,
          atsDisabled: (v.extendedData & 0x80000000) !== 0,
        };
      }
      case 'special': {
        const v = t.read(r.offset, eend, SPECIAL_LAYOUT, what);
        const variety = v.variety === 1 ? 'ioapic' : v.variety === 2 ? 'hpet' : v.variety;
        if (typeof variety === 'number')
          notes.push(
            `offset ${hex(r.offset)}: special device entry variety ${variety} is neither IOAPIC (1) nor HPET (2): add_special_device() fails, and AMD-Vi initialisation with it if the kernel uses this IVHD`,
          );
        return { ...base, kind, handle: v.handle, usedId: v.usedId, variety };
      }
      case 'acpiHid': {
        const v = t.read(r.offset, eend, HID_LAYOUT, what);
        const u = t.read(r.offset, eend, HID_UID_LAYOUT, what);
        const uidBytes = u.uid;
        let uid: string | null = null;
        let kernelUid = '';
        if (v.uidFormat === 1) {
          let n = 0n;
          uidBytes.forEach((b, i) => (n |= BigInt(b) << BigInt(8 * i)));
          uid = n.toString();
          // sprintf(uid, "%d", e->uid): e->uid is the one byte at +22, whatever the UID length.
          const at = r.offset + HID_HEADER_SIZE;
          kernelUid = at < t.bytes.length ? String(t.u8(at)) : '?';
          if (v.uidLength !== 1)
            notes.push(
              `offset ${hex(r.offset)}: integer UID of ${v.uidLength} bytes: the kernel uses only the byte at +22 (${kernelUid})`,
            );
        } else if (v.uidFormat === 2) {
          uid = String.fromCharCode(...uidBytes);
          kernelUid = uid;
        } else if (v.uidFormat === 0 && v.uidLength !== 0)
          notes.push(
            `offset ${hex(r.offset)}: UID format 0 with UID length ${v.uidLength} ("Invalid UID length")`,
          );
        if (type !== 0x40)
          notes.push(
            `offset ${hex(r.offset)}: ACPI HID entry in an IVHD of type ${hex(type)}: the kernel skips it ("Invalid IVHD device type")`,
          );
        const hid = cString(v.hid);
        if (!hid)
          notes.push(`offset ${hex(r.offset)}: ACPI HID entry with an empty HID: the kernel skips it`);
        return {
          ...base,
          kind,
          hid,
          cid: cString(v.cid),
          uidFormat: v.uidFormat,
          uidLength: v.uidLength,
          uidBytes,
          uid,
          kernelUid,
        };
      }
      case 'reserved': {
        // 8-byte entries carry 4 bytes of data, as ACPICA prints them.
        if (r.length === 8) t.read(r.offset, eend, EXT_LAYOUT, what);
        return { ...base, kind, raw: t.slice(r.offset + 4, eend) };
      }
    }
  });
}

/**
 * Parses an IVRS table. `file` names it in errors. Throws InputError for a
 * table that cannot be parsed; never anything else.
 */
export function parseIvrs(bytes: Uint8Array, file: string, opts: IvrsParseOptions = {}): ParsedIvrs {
  const { header, t, trailing } = readAcpiTable(bytes, file, {
    signature: 'IVRS',
    fixedSize: IVRS_HEADER_LENGTH,
    verifyChecksum: opts.verifyChecksum,
    trace: opts.trace,
  });
  const notes: string[] = [];
  if (trailing) notes.push(trailingNote(header.length, trailing));
  const hv = t.read(0, header.length, IVRS_HEADER_LAYOUT, 'IVRS header');
  const i = hv.info;
  const info: IvrsInfo = {
    raw: i,
    efrSup: (i & 1) !== 0,
    dmaRemap: (i & 2) !== 0,
    gvaSize: (i >> 5) & 0x7,
    paSize: (i >> 8) & 0x7f,
    vaSize: (i >> 15) & 0x7f,
    htAtsReserved: (i & (1 << 22)) !== 0,
  };
  const blocks: IvrsBlock[] = [];
  for (const r of walkRecords(t, IVRS_HEADER_LENGTH, header.length, BLOCK_FORMAT, 'IVRS table')) {
    const end = r.offset + r.length;
    const name = blockName(r.type);
    const b = t.read(r.offset, end, BLOCK_HEADER, name);
    if (isIvhdType(r.type)) {
      const v = t.read(r.offset, end, r.type === 0x10 ? IVHD_10_LAYOUT : IVHD_11_LAYOUT, name);
      const entries = parseEntries(t, r.offset, r.offset + ivhdHeaderSize(r.type), end, notes);
      blocks.push({
        kind: 'ivhd',
        offset: r.offset,
        type: r.type,
        flags: b.flags,
        htTunEn: (b.flags & 0x01) !== 0,
        passPW: (b.flags & 0x02) !== 0,
        resPassPW: (b.flags & 0x04) !== 0,
        isoc: (b.flags & 0x08) !== 0,
        iotlbSup: (b.flags & 0x10) !== 0,
        coherent: (b.flags & 0x20) !== 0,
        prefSup: (b.flags & 0x40) !== 0,
        pprSup: (b.flags & 0x80) !== 0,
        length: r.length,
        deviceId: b.deviceId,
        capabilityOffset: v.capabilityOffset,
        baseAddress: v.baseAddress,
        segment: v.segment,
        info: v.info,
        msiNumber: v.info & 0x1f,
        unitId: (v.info >> 8) & 0x1f,
        featureReporting: v.featureReporting,
        ...('efr' in v ? { efr: v.efr, efr2: v.efr2 } : {}),
        features: ivhdFeatures(r.type, v.featureReporting, 'efr' in v ? v.efr : undefined),
        entries,
      });
    } else if (isIvmdType(r.type)) {
      const v = t.read(r.offset, end, IVMD_LAYOUT, name);
      if (r.length !== 32)
        notes.push(
          `offset ${hex(r.offset)}: IVMD length ${hex(r.length)} is not 32; the kernel reads 32 bytes and then skips by the length`,
        );
      blocks.push({
        kind: 'ivmd',
        offset: r.offset,
        type: r.type,
        flags: b.flags,
        unity: (b.flags & 1) !== 0,
        read: (b.flags & 2) !== 0,
        write: (b.flags & 4) !== 0,
        exclusion: (b.flags & 8) !== 0,
        length: r.length,
        deviceId: b.deviceId,
        auxData: v.auxData,
        segment: v.segment,
        startAddress: v.startAddress,
        memoryLength: v.memoryLength,
      });
    } else {
      notes.push(`offset ${hex(r.offset)}: IVRS block type ${hex(r.type)} is not IVHD or IVMD: kept raw`);
      blocks.push({
        kind: 'unknown',
        offset: r.offset,
        type: r.type,
        flags: b.flags,
        length: r.length,
        deviceId: b.deviceId,
        raw: t.slice(r.offset + BLOCK_HEADER_SIZE, end),
      });
    }
  }
  return { file, header, info, blocks, notes };
}
