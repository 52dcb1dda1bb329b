// SPDX-License-Identifier: GPL-2.0-only
/**
 * The binary ACPI DMAR table (Intel VT-d), as laid out in
 * include/acpi/actbl1.h and walked by drivers/iommu/intel/dmar.c
 * (parse_dmar_table(), dmar_walk_remapping_entries(), dmar_parse_one_drhd(),
 * dmar_parse_one_andd(), dmar_alloc_dev_scope()) and intel/iommu.c
 * (dmar_parse_one_rmrr(), _atsr(), _satc()).
 *
 * The header's host address width and flags (INTR_REMAP, X2APIC_OPT_OUT,
 * DMA_CTRL_PLATFORM_OPT_IN from include/linux/dmar.h); the remapping
 * structures DRHD, RMRR, ATSR, RHSA, ANDD and SATC with their device scopes
 * (type, enumeration ID, start bus, path of (device, function) hops).
 * Structure types 6 and above are kept raw with a note, as the kernel skips
 * them ("Unknown DMAR structure type"). What the kernel would warn about or
 * refuse without it being unparseable (a bad RMRR, a width below 12, an
 * unsupported scope type) is a note; what cannot be parsed (a zero-length
 * structure, a record past the end, an ANDD name without its NUL, which
 * makes the kernel fail the whole table) is an InputError.
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

/** struct acpi_table_dmar beyond the ACPI header. */
export const DMAR_HEADER_LAYOUT = [
  { name: 'width', label: 'Host Address Width', offset: 36, size: 1, kind: 'u8' },
  { name: 'flags', label: 'Flags', offset: 37, size: 1, kind: 'u8' },
  { name: 'reserved', label: 'Reserved', offset: 38, size: 10, kind: 'bytes' },
] as const satisfies Layout;

export const DMAR_HEADER_SIZE = 48;

/** include/linux/dmar.h */
export const DMAR_INTR_REMAP = 0x1;
export const DMAR_X2APIC_OPT_OUT = 0x2;
export const DMAR_PLATFORM_OPT_IN = 0x4;

/** struct acpi_dmar_header */
const STRUCT_HEADER = [
  { name: 'type', label: 'Subtable Type', offset: 0, size: 2, kind: 'u16' },
  { name: 'length', label: 'Length', offset: 2, size: 2, kind: 'u16' },
] as const satisfies Layout;

/** enum acpi_dmar_type */
export const ACPI_DMAR_TYPE_HARDWARE_UNIT = 0;
export const ACPI_DMAR_TYPE_RESERVED_MEMORY = 1;
export const ACPI_DMAR_TYPE_ROOT_ATS = 2;
export const ACPI_DMAR_TYPE_HARDWARE_AFFINITY = 3;
export const ACPI_DMAR_TYPE_NAMESPACE = 4;
export const ACPI_DMAR_TYPE_SATC = 5;

/** The layouts of the structure types, after the 4-byte structure header; `scopes`: device scopes follow. */
export const DMAR_STRUCTURES = {
  [ACPI_DMAR_TYPE_HARDWARE_UNIT]: {
    name: 'DRHD',
    scopes: true,
    layout: [
      { name: 'flags', label: 'Flags', offset: 4, size: 1, kind: 'u8' },
      // Called Reserved before VT-d 3.x and by ACPICA 20200925; dmar_parse_one_drhd() reads it as size.
      { name: 'size', label: 'Size', offset: 5, size: 1, kind: 'u8' },
      { name: 'segment', label: 'PCI Segment Number', offset: 6, size: 2, kind: 'u16' },
      { name: 'address', label: 'Register Base Address', offset: 8, size: 8, kind: 'u64' },
    ],
  },
  [ACPI_DMAR_TYPE_RESERVED_MEMORY]: {
    name: 'RMRR',
    scopes: true,
    layout: [
      { name: 'reserved', label: 'Reserved', offset: 4, size: 2, kind: 'u16' },
      { name: 'segment', label: 'PCI Segment Number', offset: 6, size: 2, kind: 'u16' },
      { name: 'baseAddress', label: 'Base Address', offset: 8, size: 8, kind: 'u64' },
      { name: 'endAddress', label: 'End Address (limit)', offset: 16, size: 8, kind: 'u64' },
    ],
  },
  [ACPI_DMAR_TYPE_ROOT_ATS]: {
    name: 'ATSR',
    scopes: true,
    layout: [
      { name: 'flags', label: 'Flags', offset: 4, size: 1, kind: 'u8' },
      { name: 'reserved', label: 'Reserved', offset: 5, size: 1, kind: 'u8' },
      { name: 'segment', label: 'PCI Segment Number', offset: 6, size: 2, kind: 'u16' },
    ],
  },
  [ACPI_DMAR_TYPE_HARDWARE_AFFINITY]: {
    name: 'RHSA',
    scopes: false,
    layout: [
      { name: 'reserved', label: 'Reserved', offset: 4, size: 4, kind: 'u32' },
      { name: 'baseAddress', label: 'Base Address', offset: 8, size: 8, kind: 'u64' },
      { name: 'proximityDomain', label: 'Proximity Domain', offset: 16, size: 4, kind: 'u32' },
    ],
  },
  [ACPI_DMAR_TYPE_NAMESPACE]: {
    name: 'ANDD',
    scopes: false,
    layout: [
      { name: 'reserved', label: 'Reserved', offset: 4, size: 3, kind: 'u24' },
      { name: 'deviceNumber', label: 'Device Number', offset: 7, size: 1, kind: 'u8' },
      { name: 'deviceName', label: 'Device Name', offset: 8, size: 'rest', kind: 'cstring' },
    ],
  },
  [ACPI_DMAR_TYPE_SATC]: {
    name: 'SATC',
    scopes: true,
    layout: [
      { name: 'flags', label: 'Flags', offset: 4, size: 1, kind: 'u8' },
      { name: 'reserved', label: 'Reserved', offset: 5, size: 1, kind: 'u8' },
      { name: 'segment', label: 'PCI Segment Number', offset: 6, size: 2, kind: 'u16' },
    ],
  },
} as const satisfies Record<number, { name: string; scopes: boolean; layout: Layout }>;

/** The fixed part of each type: the end of its last fixed field (ANDD: the name starts at 8). */
function fixedSize(layout: Layout): number {
  let end = 4;
  for (const f of layout) end = Math.max(end, f.offset + (f.size === 'rest' ? 0 : f.size));
  return end;
}

/** struct acpi_dmar_device_scope */
export const DMAR_SCOPE_LAYOUT = [
  { name: 'type', label: 'Device Scope Type', offset: 0, size: 1, kind: 'u8' },
  { name: 'length', label: 'Entry Length', offset: 1, size: 1, kind: 'u8' },
  { name: 'reserved', label: 'Reserved', offset: 2, size: 2, kind: 'u16' },
  { name: 'enumerationId', label: 'Enumeration ID', offset: 4, size: 1, kind: 'u8' },
  { name: 'bus', label: 'PCI Bus Number', offset: 5, size: 1, kind: 'u8' },
] as const satisfies Layout;

export const DMAR_SCOPE_SIZE = 6;

/** struct acpi_dmar_pci_path (iasl prints the pair as one "PCI Path" field). */
export const DMAR_PCI_PATH_LAYOUT = [
  { name: 'device', label: 'PCI Path', offset: 0, size: 1, kind: 'u8' },
  { name: 'function', label: 'PCI Path', offset: 1, size: 1, kind: 'u8' },
] as const satisfies Layout;

/** enum acpi_dmar_scope_type */
export const DMAR_SCOPE_TYPES: Readonly<Record<number, DmarScopeKind>> = {
  1: 'endpoint',
  2: 'bridge',
  3: 'ioapic',
  4: 'hpet',
  5: 'namespace',
};

export type DmarScopeKind = 'endpoint' | 'bridge' | 'ioapic' | 'hpet' | 'namespace' | 'reserved';

export interface DmarPciPathEntry {
  readonly device: number;
  readonly function: number;
}

export interface DmarDeviceScopeEntry {
  readonly offset: number;
  readonly type: number;
  readonly kind: DmarScopeKind;
  readonly length: number;
  /** IOAPIC ID, HPET number, or ANDD device number. */
  readonly enumerationId: number;
  readonly startBus: number;
  /** One hop per bridge level, from the start bus down. */
  readonly path: readonly DmarPciPathEntry[];
}

interface DmarStructureBase {
  readonly offset: number;
  readonly type: number;
  readonly length: number;
}

export interface DmarDrhd extends DmarStructureBase {
  readonly kind: 'drhd';
  readonly flags: number;
  /** ACPI_DMAR_INCLUDE_ALL */
  readonly includePciAll: boolean;
  /** The raw size field: the register set is 2^size 4 KiB pages. */
  readonly size: number;
  /** 1 << (size + 12), as dmar_parse_one_drhd() computes it. */
  readonly registerSetSize: bigint;
  readonly segment: number;
  readonly registerBase: bigint;
  readonly scopes: readonly DmarDeviceScopeEntry[];
}

export interface DmarRmrr extends DmarStructureBase {
  readonly kind: 'rmrr';
  readonly segment: number;
  readonly baseAddress: bigint;
  /** Inclusive limit. */
  readonly endAddress: bigint;
  readonly scopes: readonly DmarDeviceScopeEntry[];
}

export interface DmarAtsr extends DmarStructureBase {
  readonly kind: 'atsr';
  readonly flags: number;
  /** ACPI_DMAR_ALL_PORTS */
  readonly allPorts: boolean;
  readonly segment: number;
  readonly scopes: readonly DmarDeviceScopeEntry[];
}

export interface DmarRhsa extends DmarStructureBase {
  readonly kind: 'rhsa';
  readonly registerBase: bigint;
  readonly proximityDomain: number;
}

export interface DmarAndd extends DmarStructureBase {
  readonly kind: 'andd';
  readonly deviceNumber: number;
  /** The ACPI object name, "\_SB.PCI0.I2C0". */
  readonly objectName: string;
}

export interface DmarSatc extends DmarStructureBase {
  readonly kind: 'satc';
  readonly flags: number;
  /** Bit 0: ATC_REQUIRED */
  readonly atcRequired: boolean;
  readonly segment: number;
  readonly scopes: readonly DmarDeviceScopeEntry[];
}

export interface DmarUnknownStructure extends DmarStructureBase {
  readonly kind: 'unknown';
  /** The structure's bytes after its 4-byte header. */
  readonly raw: readonly number[];
}

export type DmarStructure =
  DmarDrhd | DmarRmrr | DmarAtsr | DmarRhsa | DmarAndd | DmarSatc | DmarUnknownStructure;

export interface ParsedDmar extends ParsedTableBase {
  /** The raw field: the width is this + 1. */
  readonly widthField: number;
  /** Host address width in bits (dmar->width + 1). */
  readonly hostAddressWidth: number;
  readonly flags: number;
  readonly intrRemap: boolean;
  readonly x2apicOptOut: boolean;
  readonly dmaCtrlPlatformOptIn: boolean;
  /** In table order. */
  readonly structures: readonly DmarStructure[];
}

export type DmarParseOptions = TableParseOptions;

function structureName(type: number): string {
  return type in DMAR_STRUCTURES
    ? DMAR_STRUCTURES[type as keyof typeof DMAR_STRUCTURES].name
    : `DMAR structure type ${type}`;
}

const STRUCTURE_FORMAT: RecordFormat = {
  what: 'DMAR remapping structure',
  headerSize: 4,
  header: (t, o) => ({ type: t.u16(o), length: t.u16(o + 2) }),
  minLength: (type) =>
    type in DMAR_STRUCTURES ? fixedSize(DMAR_STRUCTURES[type as keyof typeof DMAR_STRUCTURES].layout) : 4,
  name: structureName,
  zeroLength: () => 'a zero-length structure (dmar_walk_remapping_entries() stops the walk here)',
};

const SCOPE_FORMAT: RecordFormat = {
  what: 'device scope',
  headerSize: 2,
  header: (t, o) => ({ type: t.u8(o), length: t.u8(o + 1) }),
  minLength: () => DMAR_SCOPE_SIZE,
  name: (type) => `device scope (type ${type})`,
  zeroLength: () => 'a zero-length device scope (dmar_alloc_dev_scope() would loop forever)',
};

function parseScopes(
  t: TableBytes,
  start: number,
  end: number,
  owner: string,
  notes: string[],
): DmarDeviceScopeEntry[] {
  return walkRecords(t, start, end, SCOPE_FORMAT, owner).map((r) => {
    const s = t.read(r.offset, r.offset + r.length, DMAR_SCOPE_LAYOUT, 'device scope');
    const kind = DMAR_SCOPE_TYPES[s.type] ?? 'reserved';
    if (kind === 'reserved')
      notes.push(
        `offset ${hex(r.offset)}: device scope type ${s.type} is reserved (dmar_alloc_dev_scope(): "Unsupported device scope")`,
      );
    const hops = Math.floor((r.length - DMAR_SCOPE_SIZE) / 2);
    if ((r.length - DMAR_SCOPE_SIZE) % 2)
      notes.push(
        `offset ${hex(r.offset)}: device scope length ${hex(r.length)} leaves an odd byte after ${hops} path entr${hops === 1 ? 'y' : 'ies'} (the kernel ignores it)`,
      );
    if (hops === 0 && (kind === 'endpoint' || kind === 'bridge'))
      notes.push(`offset ${hex(r.offset)}: ${kind} device scope has no path: it can match no device`);
    const path: DmarPciPathEntry[] = [];
    for (let i = 0; i < hops; i++) {
      const at = r.offset + DMAR_SCOPE_SIZE + 2 * i;
      path.push(t.read(at, at + 2, DMAR_PCI_PATH_LAYOUT, 'device scope'));
    }
    return {
      offset: r.offset,
      type: s.type,
      kind,
      length: r.length,
      enumerationId: s.enumerationId,
      startBus: s.bus,
      path,
    };
  });
}

/**
 * Parses a DMAR table. `file` names it in errors. Throws InputError for a
 * table that cannot be parsed; never anything else.
 */
export function parseDmar(bytes: Uint8Array, file: string, opts: DmarParseOptions = {}): ParsedDmar {
  const { header, t, trailing } = readAcpiTable(bytes, file, {
    signature: 'DMAR',
    fixedSize: DMAR_HEADER_SIZE,
    verifyChecksum: opts.verifyChecksum,
    trace: opts.trace,
  });
  const notes: string[] = [];
  if (trailing) notes.push(trailingNote(header.length, trailing));
  const d = t.read(0, header.length, DMAR_HEADER_LAYOUT, 'DMAR header');
  // parse_dmar_table(): dmar->width < PAGE_SHIFT - 1
  if (d.width < 11)
    notes.push(
      `offset 0x24: Host Address Width field ${d.width} (width ${d.width + 1}): the kernel refuses the table ("Invalid DMAR haw")`,
    );
  const structures: DmarStructure[] = [];
  let drhds = 0;
  for (const r of walkRecords(t, DMAR_HEADER_SIZE, header.length, STRUCTURE_FORMAT, 'DMAR table')) {
    const end = r.offset + r.length;
    const name = structureName(r.type);
    const base = { offset: r.offset, type: r.type, length: r.length };
    t.read(r.offset, end, STRUCT_HEADER, name);
    if (!(r.type in DMAR_STRUCTURES)) {
      notes.push(
        `offset ${hex(r.offset)}: DMAR structure type ${r.type} is reserved; the kernel skips it ("Unknown DMAR structure type"), kept raw`,
      );
      structures.push({ ...base, kind: 'unknown', raw: t.slice(r.offset + 4, end) });
      continue;
    }
    const spec = DMAR_STRUCTURES[r.type as keyof typeof DMAR_STRUCTURES];
    const scopes = () => parseScopes(t, r.offset + fixedSize(spec.layout), end, name, notes);
    switch (r.type) {
      case ACPI_DMAR_TYPE_HARDWARE_UNIT: {
        const v = t.read(r.offset, end, DMAR_STRUCTURES[ACPI_DMAR_TYPE_HARDWARE_UNIT].layout, name);
        drhds++;
        structures.push({
          ...base,
          kind: 'drhd',
          flags: v.flags,
          includePciAll: (v.flags & 1) !== 0,
          size: v.size,
          registerSetSize: 1n << BigInt(v.size + 12),
          segment: v.segment,
          registerBase: v.address,
          scopes: scopes(),
        });
        break;
      }
      case ACPI_DMAR_TYPE_RESERVED_MEMORY: {
        const v = t.read(r.offset, end, DMAR_STRUCTURES[ACPI_DMAR_TYPE_RESERVED_MEMORY].layout, name);
        // rmrr_sanity_check(): FW_BUG "bad RMRR", the RMRR is used anyway.
        if (
          (v.baseAddress & 0xfffn) !== 0n ||
          ((v.endAddress + 1n) & 0xfffn) !== 0n ||
          v.endAddress <= v.baseAddress
        )
          notes.push(
            `offset ${hex(r.offset)}: RMRR [${hex(v.baseAddress)}-${hex(v.endAddress)}] is not page-aligned or is empty: the kernel warns "Your BIOS is broken; bad RMRR" and uses it anyway`,
          );
        structures.push({
          ...base,
          kind: 'rmrr',
          segment: v.segment,
          baseAddress: v.baseAddress,
          endAddress: v.endAddress,
          scopes: scopes(),
        });
        break;
      }
      case ACPI_DMAR_TYPE_ROOT_ATS: {
        const v = t.read(r.offset, end, DMAR_STRUCTURES[ACPI_DMAR_TYPE_ROOT_ATS].layout, name);
        structures.push({
          ...base,
          kind: 'atsr',
          flags: v.flags,
          allPorts: (v.flags & 1) !== 0,
          segment: v.segment,
          scopes: scopes(),
        });
        break;
      }
      case ACPI_DMAR_TYPE_HARDWARE_AFFINITY: {
        const v = t.read(r.offset, end, DMAR_STRUCTURES[ACPI_DMAR_TYPE_HARDWARE_AFFINITY].layout, name);
        structures.push({
          ...base,
          kind: 'rhsa',
          registerBase: v.baseAddress,
          proximityDomain: v.proximityDomain,
        });
        break;
      }
      case ACPI_DMAR_TYPE_NAMESPACE: {
        // dmar_parse_one_andd(): a name without its NUL fails the whole table (-EINVAL).
        const v = t.read(r.offset, end, DMAR_STRUCTURES[ACPI_DMAR_TYPE_NAMESPACE].layout, name);
        structures.push({ ...base, kind: 'andd', deviceNumber: v.deviceNumber, objectName: v.deviceName });
        break;
      }
      case ACPI_DMAR_TYPE_SATC: {
        const v = t.read(r.offset, end, DMAR_STRUCTURES[ACPI_DMAR_TYPE_SATC].layout, name);
        structures.push({
          ...base,
          kind: 'satc',
          flags: v.flags,
          atcRequired: (v.flags & 1) !== 0,
          segment: v.segment,
          scopes: scopes(),
        });
        break;
      }
    }
  }
  if (drhds === 0) notes.push('no DRHD structure: the kernel warns "No DRHD structure found in DMAR table"');
  return {
    file,
    header,
    widthField: d.width,
    hostAddressWidth: d.width + 1,
    flags: d.flags,
    intrRemap: (d.flags & DMAR_INTR_REMAP) !== 0,
    x2apicOptOut: (d.flags & DMAR_X2APIC_OPT_OUT) !== 0,
    dmaCtrlPlatformOptIn: (d.flags & DMAR_PLATFORM_OPT_IN) !== 0,
    structures,
    notes,
  };
}
