// SPDX-License-Identifier: GPL-2.0-only
/**
 * Reading a tar archive (POSIX ustar, with the GNU and pax long-name
 * extensions GNU tar and busybox write) in memory, for snapshot archives
 * that come from machines the user may not trust: nothing is written to
 * disk, every header's checksum is verified, a path that is absolute or
 * climbs out with ".." is refused, and the number of entries and the bytes
 * they hold are bounded. Bad input is an InputError naming the archive, the
 * byte offset of the header and the field.
 *
 * Written here rather than taken from npm: node-tar and tar-stream are
 * streaming extractors built around writing to disk (asynchronous), and the
 * small in-memory parsers (nanotar) do not verify checksums, ignore the
 * ustar prefix field and drop a truncated last entry without a word.
 */
import { InputError } from '../input/input-error.js';

/** The ustar header: each field's offset and length in the 512-byte block. */
export const HEADER = {
  name: [0, 100],
  mode: [100, 8],
  size: [124, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  magic: [257, 6],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

type Field = keyof typeof HEADER;

const BLOCK = 512;

export interface TarLimits {
  /** At most this many entries. */
  readonly maxEntries: number;
  /** At most this many bytes of file data in all. */
  readonly maxBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = { maxEntries: 100_000, maxBytes: 256 * 2 ** 20 };

export interface TarEntry {
  /** The path, normalised: no leading "./", no trailing "/". */
  readonly path: string;
  readonly kind: 'file' | 'dir' | 'symlink' | 'other';
  /** A file's bytes (a view into the archive); empty for the other kinds. */
  readonly data: Uint8Array;
  /** The offset of the entry's header in the archive. */
  readonly offset: number;
}

const dec = new TextDecoder('utf-8', { fatal: false });

/** The text of a NUL-terminated field. */
function text(block: Uint8Array, f: Field): string {
  const [off, len] = HEADER[f];
  const b = block.subarray(off, off + len);
  const end = b.indexOf(0);
  return dec.decode(end < 0 ? b : b.subarray(0, end));
}

/** Walks one archive's headers. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
    private readonly limits: TarLimits,
  ) {}

  private fail(offset: number, field: Field | '', problem: string): never {
    throw new InputError(
      this.file,
      `offset 0x${offset.toString(16)}${field ? ` (tar header field ${field})` : ''}`,
      problem,
    );
  }

  /** An octal number field (the base-256 form only ever holds sizes far past the limits). */
  private octal(block: Uint8Array, f: Field, at: number): number {
    const [off] = HEADER[f];
    if (block[off] & 0x80) this.fail(at, f, 'a base-256 number: the entry is too large for a snapshot');
    const s = text(block, f).trim();
    if (!/^[0-7]*$/.test(s)) this.fail(at, f, `"${s}" is not an octal number`);
    return s === '' ? 0 : parseInt(s, 8);
  }

  /**
   * The pax records of an extended header ("path" is the one used). Each record's length counts
   * bytes, so the records are cut on the bytes and only their text is decoded.
   */
  private pax(data: Uint8Array, at: number): Map<string, string> {
    const out = new Map<string, string>();
    for (let i = 0; i < data.length;) {
      let len = 0;
      let j = i;
      while (j < data.length && j - i < 12 && data[j] >= 0x30 && data[j] <= 0x39)
        len = len * 10 + data[j++] - 0x30;
      if (
        j === i ||
        data[j] !== 0x20 ||
        len <= j - i + 1 ||
        i + len > data.length ||
        data[i + len - 1] !== 0x0a
      )
        this.fail(at, '', 'a malformed pax extended header record');
      const rec = dec.decode(data.subarray(j + 1, i + len - 1));
      const eq = rec.indexOf('=');
      if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
      i += len;
    }
    return out;
  }

  read(): TarEntry[] {
    const { bytes } = this;
    const out: TarEntry[] = [];
    let total = 0;
    let longName: string | null = null;
    for (let at = 0; ;) {
      if (at >= bytes.length) {
        // GNU tar ends with two zero blocks; an archive cut at a header boundary is taken as complete.
        return out;
      }
      if (at + BLOCK > bytes.length)
        this.fail(at, '', `truncated: ${bytes.length - at} bytes where a 512-byte header should be`);
      const block = bytes.subarray(at, at + BLOCK);
      if (block.every((b) => b === 0)) return out;
      // The checksum: the header's bytes summed with its own field read as spaces.
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
      const want = this.octal(block, 'chksum', at);
      if (sum !== want)
        this.fail(
          at,
          'chksum',
          `checksum ${want.toString(8)} but the header sums to ${sum.toString(8)}: not a tar archive, or corrupt`,
        );
      const size = this.octal(block, 'size', at);
      const dataAt = at + BLOCK;
      if (dataAt + size > bytes.length)
        this.fail(
          at,
          'size',
          `${size} bytes of data, but the archive ends ${bytes.length - dataAt} bytes after the header`,
        );
      total += size;
      if (total > this.limits.maxBytes)
        this.fail(at, 'size', `more than ${this.limits.maxBytes} bytes of data in all: not a snapshot`);
      const data = bytes.subarray(dataAt, dataAt + size);
      const type = String.fromCharCode(block[HEADER.typeflag[0]] || 0x30);
      const next = dataAt + Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'L') {
        longName = dec.decode(data).replace(/\0+$/, '');
        at = next;
        continue;
      }
      if (type === 'x') {
        longName = this.pax(data, at).get('path') ?? longName;
        at = next;
        continue;
      }
      if (type === 'g' || type === 'K') {
        at = next;
        continue;
      }
      let name = longName ?? text(block, 'name');
      // POSIX ustar keeps a long path's folders in the prefix field (GNU's "ustar " headers use that
      // space for other things, and long names of either kind replace both).
      if (longName === null && text(block, 'magic') === 'ustar') {
        const prefix = text(block, 'prefix');
        if (prefix) name = `${prefix}/${name}`;
      }
      longName = null;
      if (out.length >= this.limits.maxEntries)
        this.fail(at, '', `more than ${this.limits.maxEntries} entries: not a snapshot`);
      const kind =
        type === '0' || type === '7' ? 'file' : type === '5' ? 'dir' : type === '2' ? 'symlink' : 'other';
      out.push({
        path: this.normalise(name, at),
        kind,
        data: kind === 'file' ? data : new Uint8Array(0),
        offset: at,
      });
      at = next;
    }
  }

  /** The path without "./" and trailing slashes; absolute paths and ".." are refused. */
  private normalise(name: string, at: number): string {
    if (name.includes('\0')) this.fail(at, 'name', 'a path with a NUL byte');
    if (name.startsWith('/')) this.fail(at, 'name', `"${name}" is an absolute path`);
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) this.fail(at, 'name', `"${name}" climbs out of the archive with ".."`);
    if (parts.length === 0) this.fail(at, 'name', 'an empty path');
    return parts.join('/');
  }
}

/** Every entry of a tar archive, in order. Throws InputError for anything that is not a sound archive. */
export function readTar(bytes: Uint8Array, file: string, limits: TarLimits = DEFAULT_TAR_LIMITS): TarEntry[] {
  return new Reader(bytes, file, limits).read();
}
