// SPDX-License-Identifier: GPL-2.0-only
/**
 * Writing a tar archive in memory (POSIX ustar; a path too long for the
 * name and prefix fields gets a GNU long-name record, as GNU tar writes
 * it): what the fuzzer packs mutated snapshots with, so that a mutation can
 * change one file, a path or an entry's type and still reach the snapshot
 * reader past the tar checks. The field layout is tar.ts's HEADER.
 */
import { HEADER } from './tar.js';

export interface TarWriteEntry {
  readonly path: string;
  /** '0' a file (default), '5' a folder, '2' a symbolic link, or any other type flag. */
  readonly type?: string;
  readonly data?: Uint8Array;
  /** A link's target (the linkname field). */
  readonly link?: string;
}

const BLOCK = 512;
/** The type flags whose entries carry data: files (regular, contiguous) and pax and GNU records. */
const WITH_DATA = new Set(['0', '7', 'x', 'g', 'L', 'K']);
const enc = new TextEncoder();
const LINKNAME: readonly [number, number] = [157, 100];

/** Writes one header block at `b` (zeroed): the fields given, the checksum computed. */
function header(b: Uint8Array, name: string, prefix: string, type: string, size: number, link: string): void {
  const put = ([off, len]: readonly [number, number], s: string) =>
    enc.encodeInto(s, b.subarray(off, off + len));
  put(HEADER.name, name);
  put(HEADER.mode, type === '5' ? '0000755\0' : '0000644\0');
  put(HEADER.size, `${size.toString(8).padStart(11, '0')}\0`);
  put(HEADER.typeflag, type);
  put(LINKNAME, link);
  put(HEADER.magic, 'ustar\0');
  put([263, 2], '00');
  put(HEADER.prefix, prefix);
  put(HEADER.chksum, '        ');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  put(HEADER.chksum, `${sum.toString(8).padStart(6, '0')}\0 `);
}

/** Where a path goes: the name field alone, name and prefix split at a slash, or neither (a long-name record). */
function placePath(path: string): { name: string; prefix: string } | null {
  // ASCII paths (all a snapshot's) are measured without encoding them.
  // eslint-disable-next-line no-control-regex -- the ASCII range, NUL included
  const size = (s: string) => (/^[\x00-\x7f]*$/.test(s) ? s.length : enc.encode(s).length);
  if (size(path) <= HEADER.name[1]) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (size(prefix) <= HEADER.prefix[1] && size(name) <= HEADER.name[1]) return { name, prefix };
  }
  return null;
}

/** One pax extended-header record: its length counts its own digits and bytes, not characters. */
export function paxRecord(key: string, value: string): Uint8Array {
  const body = enc.encode(` ${key}=${value}\n`).length;
  let len = body + 1;
  while (String(len).length + body !== len) len++;
  return enc.encode(`${len} ${key}=${value}\n`);
}

/** The archive of these entries, ended by two zero blocks. */
export function writeTar(entries: readonly TarWriteEntry[]): Uint8Array {
  // Laid out first (headers, long-name records, data), then written into one zeroed buffer.
  const records: { name: string; prefix: string; type: string; data: Uint8Array; link: string }[] = [];
  let bytes = 2 * BLOCK;
  const add = (name: string, prefix: string, type: string, data: Uint8Array, link = '') => {
    records.push({ name, prefix, type, data, link });
    bytes += BLOCK + Math.ceil(data.length / BLOCK) * BLOCK;
  };
  for (const e of entries) {
    const type = e.type ?? '0';
    // Files and the records that carry data (pax headers, GNU long names); other types have none.
    const data = WITH_DATA.has(type) ? (e.data ?? new Uint8Array(0)) : new Uint8Array(0);
    // Folders end in a slash, as GNU tar writes them.
    const path = type === '5' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
    const at = placePath(path);
    if (at === null) {
      add('././@LongLink', '', 'L', enc.encode(`${path}\0`));
      add(path.slice(0, HEADER.name[1]), '', type, data, e.link);
    } else add(at.name, at.prefix, type, data, e.link);
  }
  const out = new Uint8Array(bytes);
  let off = 0;
  for (const r of records) {
    header(out.subarray(off, off + BLOCK), r.name, r.prefix, r.type, r.data.length, r.link);
    out.set(r.data, off + BLOCK);
    off += BLOCK + Math.ceil(r.data.length / BLOCK) * BLOCK;
  }
  return out;
}
