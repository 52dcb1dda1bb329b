// SPDX-License-Identifier: GPL-2.0-only
/**
 * Reading a binary ACPI table the way the kernel does before any table
 * parser sees it: the 36-byte header (include/acpi/actbl.h struct
 * acpi_table_header), the length, and the checksum that ACPICA checks when
 * it installs a table (acpi_tb_verify_checksum()) and that amd/init.c checks
 * again for IVRS (check_ivrs_checksum()): every byte of the table summed
 * mod 256 must be 0.
 *
 * Table layouts are data (field name, offset, size, kind) read by one
 * algorithm, readLayout(); every field read can be recorded in a trace
 * (absolute offset, size, name, the label ACPICA prints, value) so that a
 * parse can be compared field by field with `iasl -d`. Subtables are walked
 * by walkRecords(), one loop for every "type, length" record list (DMAR
 * remapping structures and device scopes, IVRS blocks and IVHD device
 * entries) with the guards the kernel's own loops have or lack: a
 * zero-length record (dmar_walk_remapping_entries() "Invalid 0-length
 * structure"; an IVHD entry type whose ivhd_entry_length() is 0 would make
 * init_iommu_from_acpi() loop forever) and a record that runs past its
 * container ("Record passes table end") are InputErrors here.
 *
 * Every problem is an InputError naming the file, the byte offset and the
 * field; nothing else is thrown for any input.
 */
import { InputError } from '../../input/input-error.js';

/** How a field's bytes are read. All integers are little-endian. */
export type FieldKind = 'u8' | 'u16' | 'u24' | 'u32' | 'u64' | 'ascii' | 'bytes' | 'cstring';

/**
 * One field of a table layout. `offset` is from the start of the structure.
 * `size` 'rest' means "up to the end of the structure" (a variable-length
 * tail: a NUL-terminated name, a UID); a cstring's recorded size is then its
 * length including the NUL.
 */
export interface FieldSpec {
  /** The key in the parsed result. */
  readonly name: string;
  /** The name ACPICA (`iasl -d`) prints for the field. */
  readonly label: string;
  readonly offset: number;
  readonly size: number | 'rest';
  readonly kind: FieldKind;
}

export type Layout = readonly FieldSpec[];

export type FieldValue = number | bigint | string | readonly number[];

type ValueOf<K extends FieldKind> = K extends 'u64'
  ? bigint
  : K extends 'ascii' | 'cstring'
    ? string
    : K extends 'bytes'
      ? readonly number[]
      : number;

/** The values a layout reads, keyed by field name. */
export type LayoutValues<L extends Layout> = { readonly [F in L[number] as F['name']]: ValueOf<F['kind']> };

/** One field as read: where in the file, how long, what. */
export interface FieldTrace {
  /** Absolute byte offset in the table. */
  readonly offset: number;
  readonly size: number;
  readonly name: string;
  readonly label: string;
  readonly kind: FieldKind;
  readonly value: FieldValue;
  /** The structure it belongs to ("DRHD", "IVHD device entry 0x02"). */
  readonly structure: string;
}

/** "0x30" */
export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** The table's bytes with the file name, for reads and errors. */
export class TableBytes {
  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
    /** Every field read is appended here when set. */
    readonly trace: FieldTrace[] | null = null,
  ) {}

  /** An InputError at a byte offset. */
  error(offset: number, problem: string): InputError {
    return new InputError(this.file, `offset ${hex(offset)}`, problem);
  }

  u8(o: number): number {
    return this.bytes[o];
  }

  u16(o: number): number {
    return this.bytes[o] | (this.bytes[o + 1] << 8);
  }

  u32(o: number): number {
    return (this.u16(o) | (this.u16(o + 2) << 16)) >>> 0;
  }

  u64(o: number): bigint {
    return BigInt(this.u32(o)) | (BigInt(this.u32(o + 4)) << 32n);
  }

  /** Bytes [from, to) as numbers. */
  slice(from: number, to: number): number[] {
    return Array.from(this.bytes.subarray(from, to));
  }

  /** Bytes as characters, one per byte (what iasl prints between quotes). */
  ascii(from: number, to: number): string {
    let s = '';
    for (let i = from; i < to; i++) s += String.fromCharCode(this.bytes[i]);
    return s;
  }

  /**
   * Reads every field of `layout` for the structure at `base`, which ends at
   * `end` (exclusive). A field that does not fit is an InputError naming it.
   */
  read<const L extends Layout>(base: number, end: number, layout: L, structure: string): LayoutValues<L> {
    const out: Record<string, FieldValue> = {};
    for (const f of layout) {
      const at = base + f.offset;
      let size = f.size === 'rest' ? end - at : f.size;
      if (size < 0 || at + size > end) {
        const want = f.size === 'rest' ? 'at least 1 byte' : `${f.size} byte${f.size === 1 ? '' : 's'}`;
        throw this.error(
          at,
          `${structure} ${f.label} (${want} at +${hex(f.offset)}) does not fit: the ${structure} ends at ${hex(end)}`,
        );
      }
      let value: FieldValue;
      switch (f.kind) {
        case 'u8':
          value = this.u8(at);
          break;
        case 'u16':
          value = this.u16(at);
          break;
        case 'u24':
          value = this.u16(at) | (this.u8(at + 2) << 16);
          break;
        case 'u32':
          value = this.u32(at);
          break;
        case 'u64':
          value = this.u64(at);
          break;
        case 'ascii':
          value = this.ascii(at, at + size);
          break;
        case 'bytes':
          value = this.slice(at, at + size);
          break;
        case 'cstring': {
          const nul = this.bytes.subarray(at, at + size).indexOf(0);
          if (nul < 0)
            throw this.error(
              at,
              `${structure} ${f.label} is not NUL-terminated within the ${size} byte${size === 1 ? '' : 's'} before the end of the ${structure} at ${hex(end)}`,
            );
          value = this.ascii(at, at + nul);
          size = nul + 1;
          break;
        }
      }
      out[f.name] = value;
      this.trace?.push({ offset: at, size, name: f.name, label: f.label, kind: f.kind, value, structure });
    }
    return out as LayoutValues<L>;
  }
}

/** include/acpi/actbl.h struct acpi_table_header */
export const ACPI_TABLE_HEADER_LAYOUT = [
  { name: 'signature', label: 'Signature', offset: 0, size: 4, kind: 'ascii' },
  { name: 'length', label: 'Table Length', offset: 4, size: 4, kind: 'u32' },
  { name: 'revision', label: 'Revision', offset: 8, size: 1, kind: 'u8' },
  { name: 'checksum', label: 'Checksum', offset: 9, size: 1, kind: 'u8' },
  { name: 'oemId', label: 'Oem ID', offset: 10, size: 6, kind: 'ascii' },
  { name: 'oemTableId', label: 'Oem Table ID', offset: 16, size: 8, kind: 'ascii' },
  { name: 'oemRevision', label: 'Oem Revision', offset: 24, size: 4, kind: 'u32' },
  { name: 'creatorId', label: 'Asl Compiler ID', offset: 28, size: 4, kind: 'ascii' },
  { name: 'creatorRevision', label: 'Asl Compiler Revision', offset: 32, size: 4, kind: 'u32' },
] as const satisfies Layout;

export const ACPI_TABLE_HEADER_SIZE = 36;

export type AcpiTableHeader = LayoutValues<typeof ACPI_TABLE_HEADER_LAYOUT>;

export interface AcpiTable {
  readonly header: AcpiTableHeader;
  /** The table: the file's first header.length bytes. */
  readonly t: TableBytes;
  /** Bytes in the file after the table (ignored, as the kernel only sees `length` bytes). */
  readonly trailing: number;
}

export interface AcpiTableOptions {
  /** The signature the caller needs ("DMAR"); another one is an InputError. */
  readonly signature?: string;
  /** The size of the table's fixed part: a shorter table is an InputError. */
  readonly fixedSize?: number;
  /** Check the checksum (default true). */
  readonly verifyChecksum?: boolean;
  /** Every field read is appended here. */
  readonly trace?: FieldTrace[];
}

/** What every table parser takes. */
export interface TableParseOptions {
  /** Every field read is appended here (absolute offsets), for comparison with `iasl -d`. */
  readonly trace?: FieldTrace[];
  /** Verify the checksum (default true). */
  readonly verifyChecksum?: boolean;
}

/** What every parsed table has. */
export interface ParsedTableBase {
  readonly file: string;
  readonly header: AcpiTableHeader;
  /** What the kernel would warn about or ignore, with the offset. */
  readonly notes: readonly string[];
}

/** The note for bytes after Table Length. */
export function trailingNote(length: number, trailing: number): string {
  return `offset ${hex(length)}: ${trailing} byte${trailing === 1 ? '' : 's'} after the table's length ${hex(length)} ignored`;
}

/** The byte sum of bytes[0, length) mod 256. */
export function acpiChecksum(bytes: Uint8Array, length = bytes.length): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum = (sum + bytes[i]) & 0xff;
  return sum;
}

/**
 * The header of the ACPI table in `bytes`, its length checked against the
 * file and, unless told otherwise, its checksum verified.
 */
export function readAcpiTable(bytes: Uint8Array, file: string, opts: AcpiTableOptions = {}): AcpiTable {
  const whole = new TableBytes(bytes, file, null);
  if (bytes.length < ACPI_TABLE_HEADER_SIZE)
    throw whole.error(
      bytes.length,
      `the file ends after ${bytes.length} byte${bytes.length === 1 ? '' : 's'}, inside the ${ACPI_TABLE_HEADER_SIZE}-byte ACPI table header`,
    );
  const signature = whole.ascii(0, 4);
  if (opts.signature !== undefined && signature !== opts.signature)
    throw whole.error(0, `Signature ${JSON.stringify(signature)} is not ${JSON.stringify(opts.signature)}`);
  const length = whole.u32(4);
  if (length < ACPI_TABLE_HEADER_SIZE)
    throw whole.error(
      4,
      `Table Length ${hex(length)} is shorter than the ${ACPI_TABLE_HEADER_SIZE}-byte ACPI table header`,
    );
  if (length > bytes.length)
    throw whole.error(
      4,
      `Table Length ${hex(length)} is more than the ${hex(bytes.length)} bytes in the file: the table is truncated`,
    );
  if (opts.verifyChecksum ?? true) {
    const sum = acpiChecksum(bytes, length);
    if (sum !== 0) {
      const stored = bytes[9];
      const right = (stored - sum) & 0xff;
      throw whole.error(
        9,
        `Checksum ${hex(stored)} is wrong: the table's ${hex(length)} bytes sum to ${hex(sum)} mod 256, not 0 (the checksum that fits is ${hex(right)})`,
      );
    }
  }
  const fixed = opts.fixedSize ?? ACPI_TABLE_HEADER_SIZE;
  if (length < fixed)
    throw whole.error(
      4,
      `Table Length ${hex(length)} is shorter than the ${fixed}-byte fixed part of a ${signature} table`,
    );
  const t = new TableBytes(bytes.subarray(0, length), file, opts.trace ?? null);
  const header = t.read(0, length, ACPI_TABLE_HEADER_LAYOUT, `${signature} header`);
  return { header, t, trailing: bytes.length - length };
}

/** A record's type and length, read from its first bytes. */
export interface RecordHeader {
  readonly type: number;
  readonly length: number;
}

export interface RecordAt extends RecordHeader {
  /** Absolute offset of the record. */
  readonly offset: number;
}

/** How to walk one kind of record list. */
export interface RecordFormat {
  /** What the records are, for errors: "DMAR remapping structure". */
  readonly what: string;
  /** Bytes needed before type and length can be read. */
  readonly headerSize: number;
  /** Type and length of the record at `offset` (at least headerSize bytes are there; the container ends at `end`). */
  readonly header: (t: TableBytes, offset: number, end: number) => RecordHeader;
  /** The smallest valid length for a type (its fixed part). */
  readonly minLength: (type: number) => number;
  /** A record's name for errors: "DRHD", "device scope". */
  readonly name: (type: number) => string;
  /** Why a zero length is fatal, for the error. */
  readonly zeroLength?: (type: number) => string;
}

/**
 * The records in [start, end): each one's offset, type and length, checked:
 * a header that does not fit, a zero length, a length below the type's
 * fixed part and a record running past `end` are InputErrors. The walk
 * always advances, so it always ends.
 */
export function walkRecords(
  t: TableBytes,
  start: number,
  end: number,
  fmt: RecordFormat,
  container: string,
): RecordAt[] {
  const out: RecordAt[] = [];
  let off = start;
  while (off < end) {
    const left = end - off;
    if (left < fmt.headerSize)
      throw t.error(
        off,
        `${left} byte${left === 1 ? '' : 's'} left in the ${container}, less than a ${fmt.headerSize}-byte ${fmt.what} header`,
      );
    const { type, length } = fmt.header(t, off, end);
    const name = fmt.name(type);
    if (length === 0)
      throw t.error(off, `${name} length 0x0${fmt.zeroLength ? `: ${fmt.zeroLength(type)}` : ''}`);
    const min = fmt.minLength(type);
    if (length < min)
      throw t.error(off, `${name} length ${hex(length)} is shorter than its ${min}-byte header`);
    if (length > left)
      throw t.error(
        off,
        `${name} length ${hex(length)} runs past the end of the ${container}: only ${left} byte${left === 1 ? ' is' : 's are'} left before ${hex(end)}`,
      );
    out.push({ offset: off, type, length });
    off += length;
  }
  return out;
}
