// SPDX-License-Identifier: GPL-2.0-only
// The ACPI table reader: header fields, length bounds, the checksum, the
// record walker's guards; and for every table we have, a corrupted checksum
// and a cut at every length give an InputError naming the file, an offset
// and the field, never another exception.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/input/input-error.js';
import {
  type RecordFormat,
  acpiChecksum,
  readAcpiTable,
  TableBytes,
  walkRecords,
} from '../../../src/firmware/acpi/acpi-table.js';
import { parseDmar } from '../../../src/firmware/acpi/dmar-parse.js';
import { acpiTable, dmarHeader, dmarStruct, drhd, u16 } from './build.js';
import { parseAny, tableBytes, tableCases } from './tables.js';
import { inputError } from '../../support/input-error.js';

describe('ACPI table header', () => {
  it('reads the 36-byte header of a QEMU DMAR', () => {
    const { header, trailing } = readAcpiTable(tableBytes('q35-vtd.DMAR'), 'q35-vtd.DMAR.dat');
    expect(header).toEqual({
      signature: 'DMAR',
      length: 0x80,
      revision: 1,
      checksum: header.checksum,
      oemId: 'BOCHS ',
      oemTableId: 'BXPC    ',
      oemRevision: 1,
      creatorId: 'BXPC',
      creatorRevision: 1,
    });
    expect(trailing).toBe(0);
  });

  it('reads the header of every table we have, IORT and VIOT included', () => {
    for (const c of tableCases()) {
      const { header } = readAcpiTable(c.bytes, c.name);
      expect(header.signature).toBe(c.signature);
      expect(header.length).toBe(c.bytes.length);
    }
  });

  it('names a wrong signature', () => {
    const e = inputError(() => parseDmar(tableBytes('q35-amdvi-pxb.IVRS'), 'x.dat'));
    expect(e.message).toBe('x.dat: offset 0x0: Signature "IVRS" is not "DMAR"');
  });

  it('refuses a Table Length below the header and one beyond the file', () => {
    const t = tableBytes('q35-vtd.DMAR').slice();
    t[4] = 0x10;
    expect(inputError(() => readAcpiTable(t, 'x.dat')).message).toBe(
      'x.dat: offset 0x4: Table Length 0x10 is shorter than the 36-byte ACPI table header',
    );
    t[4] = 0x90;
    expect(inputError(() => readAcpiTable(t, 'x.dat')).message).toBe(
      'x.dat: offset 0x4: Table Length 0x90 is more than the 0x80 bytes in the file: the table is truncated',
    );
  });

  it('ignores bytes after Table Length (the kernel sees only the table), and says how many', () => {
    const t = new Uint8Array([...tableBytes('q35-vtd.DMAR'), 0xaa, 0xbb]);
    expect(readAcpiTable(t, 'x.dat').trailing).toBe(2);
    expect(parseDmar(t, 'x.dat').structures).toHaveLength(1);
    expect(parseDmar(t, 'x.dat').notes).toEqual([
      "offset 0x80: 2 bytes after the table's length 0x80 ignored",
    ]);
  });

  it('verifies the checksum and says which byte and what would fit', () => {
    const t = tableBytes('q35-vtd.DMAR').slice();
    const right = t[9];
    t[9] = (right + 5) & 0xff;
    const e = inputError(() => parseDmar(t, 'DMAR.dat'));
    expect(e.file).toBe('DMAR.dat');
    expect(e.where).toBe('offset 0x9');
    expect(e.problem).toBe(
      `Checksum 0x${t[9].toString(16)} is wrong: the table's 0x80 bytes sum to 0x5 mod 256, not 0 (the checksum that fits is 0x${right.toString(16)})`,
    );
    expect(readAcpiTable(t, 'x', { verifyChecksum: false }).header.checksum).toBe(t[9]);
    expect(acpiChecksum(tableBytes('q35-vtd.DMAR'))).toBe(0);
  });

  it('the brief example: a DRHD shorter than its header', () => {
    const t = acpiTable('DMAR', 1, [...dmarHeader(38, 0), ...u16(0), ...u16(4), ...drhd(0, 0, 0, 0n, [])]);
    expect(inputError(() => parseDmar(t, 'DMAR.dat')).message).toBe(
      'DMAR.dat: offset 0x30: DRHD length 0x4 is shorter than its 16-byte header',
    );
  });

  it('a zero-length structure and a structure past the table end', () => {
    const zero = acpiTable('DMAR', 1, [...dmarHeader(38, 0), ...u16(1), ...u16(0), 0, 0, 0, 0]);
    expect(inputError(() => parseDmar(zero, 'z.dat')).message).toBe(
      'z.dat: offset 0x30: RMRR length 0x0: a zero-length structure (dmar_walk_remapping_entries() stops the walk here)',
    );
    const past = acpiTable('DMAR', 1, [...dmarHeader(38, 0), ...dmarStruct(7, [1, 2, 3, 4]).slice(0, 6)]);
    expect(inputError(() => parseDmar(past, 'p.dat')).message).toBe(
      'p.dat: offset 0x30: DMAR structure type 7 length 0x8 runs past the end of the DMAR table: only 6 bytes are left before 0x36',
    );
  });
});

describe('walkRecords()', () => {
  const fmt: RecordFormat = {
    what: 'record',
    headerSize: 2,
    header: (t, o) => ({ type: t.u8(o), length: t.u8(o + 1) }),
    minLength: (type) => (type === 9 ? 4 : 2),
    name: (type) => `record ${type}`,
  };
  const walk = (bytes: number[]) =>
    walkRecords(new TableBytes(new Uint8Array(bytes), 'f'), 0, bytes.length, fmt, 'list');

  it('lists records with offsets, types and lengths', () => {
    expect(walk([1, 2, 9, 4, 0, 0, 3, 3, 0])).toEqual([
      { offset: 0, type: 1, length: 2 },
      { offset: 2, type: 9, length: 4 },
      { offset: 6, type: 3, length: 3 },
    ]);
  });

  it('stops on a zero length, a short length, an overrun, a cut header', () => {
    expect(inputError(() => walk([1, 0])).message).toBe('f: offset 0x0: record 1 length 0x0');
    expect(inputError(() => walk([9, 3, 0])).message).toBe(
      'f: offset 0x0: record 9 length 0x3 is shorter than its 4-byte header',
    );
    expect(inputError(() => walk([1, 2, 1, 5, 0])).message).toBe(
      'f: offset 0x2: record 1 length 0x5 runs past the end of the list: only 3 bytes are left before 0x5',
    );
    expect(inputError(() => walk([1, 2, 1])).message).toBe(
      'f: offset 0x2: 1 byte left in the list, less than a 2-byte record header',
    );
  });
});

describe('every table we have, damaged', () => {
  const cases = tableCases();

  it('a corrupted checksum is an InputError naming the checksum', () => {
    for (const c of cases) {
      const t = c.bytes.slice();
      t[9] ^= 0x40;
      const e = inputError(() => parseAny(c.signature, t, c.name));
      expect(e.where).toBe('offset 0x9');
      expect(e.problem).toMatch(/^Checksum 0x[0-9a-f]+ is wrong/);
    }
  });

  it('a corrupted byte elsewhere is caught by the checksum too', () => {
    for (const c of cases) {
      const t = c.bytes.slice();
      t[t.length - 1] ^= 0x01;
      expect(inputError(() => parseAny(c.signature, t, c.name)).problem).toMatch(/^Checksum/);
    }
  });

  it('cut at every length: an InputError, never another exception', () => {
    for (const c of cases)
      for (let n = 0; n < c.bytes.length; n++) {
        const e = inputError(() => parseAny(c.signature, c.bytes.subarray(0, n), c.name));
        expect(e.file).toBe(c.name);
        expect(e.where).toMatch(/^offset 0x[0-9a-f]+$/);
        expect(e.problem).toMatch(
          n < 36 ? /inside the 36-byte ACPI table header/ : /Table Length .* truncated/,
        );
      }
  });

  it('cut at every length with the length and checksum fixed up: parses or an InputError', () => {
    for (const c of cases) {
      if (c.signature !== 'DMAR' && c.signature !== 'IVRS') continue;
      for (let n = 36; n < c.bytes.length; n++) {
        const t = c.bytes.slice(0, n);
        t[4] = n & 0xff;
        t[5] = n >> 8;
        t[6] = t[7] = 0;
        t[9] = 0;
        t[9] = (0x100 - acpiChecksum(t)) & 0xff;
        try {
          parseAny(c.signature, t, c.name);
        } catch (e) {
          expect(e).toBeInstanceOf(InputError);
          expect((e as InputError).where).toMatch(/^offset 0x[0-9a-f]+$/);
        }
      }
    }
  });
});
