// SPDX-License-Identifier: GPL-2.0-only
/**
 * Reading a flattened device tree blob (Devicetree Specification ch. 5; the
 * checks of libfdt's fdt_check_header() and the token walk of fdt_next_tag()
 * that unflatten_device_tree() relies on), optionally gzip-compressed as
 * QEMU dumps and distributions ship them.
 *
 * Written here rather than taken from npm: the packages that exist either
 * throw untyped errors, skip the memory-reservation block, or do not bound
 * every offset; we need each problem as an InputError naming the file, the
 * byte offset and the field. The header layout is data; one loop walks the
 * structure block.
 *
 * Versions 16 and 17 are read (every blob dtc has produced since 2007 and
 * every one a kernel has exported in /sys/firmware/fdt); older blobs store
 * full paths in node names and align property values differently, and are
 * refused with a clear error.
 */
import { gunzipSync } from 'node:zlib';
import { InputError } from '../../input/input-error.js';
import { type Fdt, type FdtNode, type FdtProperty, type MemReserve, nodePhandle } from './fdt.js';

export const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const FDT_LAST_SUPPORTED_VERSION = 17;
const FDT_FIRST_READ_VERSION = 16;

/** struct fdt_header, big-endian u32 fields; the two last ones exist from version 3 and 17. */
const HEADER = [
  ['magic', 0],
  ['totalsize', 4],
  ['off_dt_struct', 8],
  ['off_dt_strings', 12],
  ['off_mem_rsvmap', 16],
  ['version', 20],
  ['last_comp_version', 24],
  ['boot_cpuid_phys', 28],
  ['size_dt_strings', 32],
  ['size_dt_struct', 36],
] as const;
type HeaderField = (typeof HEADER)[number][0];
const HEADER_SIZE_V17 = 40;

/** True when the bytes start like a DTB or a gzip stream (for input classification). */
export function looksLikeDtb(bytes: Uint8Array): boolean {
  if (bytes.length >= 4 && readU32(bytes, 0) === FDT_MAGIC) return true;
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * The most a gzipped device tree may unpack to: far above any real one (a
 * few hundred KiB), and low enough that a gzip bomb stops long before it
 * costs memory.
 */
export const MAX_FDT_BYTES = 64 * 2 ** 20;

/** Decompress when gzip; the blob otherwise. */
function unwrap(file: string, bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return new Uint8Array(gunzipSync(bytes, { maxOutputLength: MAX_FDT_BYTES }));
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      throw new InputError(
        file,
        '',
        (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
          ? `unpacks to more than ${MAX_FDT_BYTES} bytes: not a device tree`
          : `not a valid gzip stream (${m})`,
      );
    }
  }
  return bytes;
}

/** Parse a DTB (or a gzip of one) into a tree. Throws InputError for any problem. */
export function parseFdt(input: Uint8Array, file: string): Fdt {
  const b = unwrap(file, input);
  const err = (off: number, field: string, problem: string) =>
    new InputError(file, `offset ${hex(off)}`, `${field}: ${problem}`);

  if (b.length < 4 || readU32(b, 0) !== FDT_MAGIC) {
    // A gzip file is taken for a gzipped blob when it is not a snapshot archive: say what it held.
    const gz =
      b !== input ? ' (in the unpacked gzip: it holds neither a device tree nor a snapshot archive)' : '';
    throw err(0, 'magic', `not a flattened device tree (want ${hex(FDT_MAGIC)})${gz}`);
  }
  if (b.length < 28) throw err(b.length, 'header', `file ends after ${b.length} bytes, inside the header`);
  const h = {} as Record<HeaderField, number>;
  for (const [name, off] of HEADER) h[name] = off + 4 <= b.length ? readU32(b, off) : 0;

  if (h.version < FDT_FIRST_READ_VERSION || h.last_comp_version > FDT_LAST_SUPPORTED_VERSION)
    throw err(
      20,
      'version',
      `version ${h.version} (last compatible ${h.last_comp_version}) is not supported; ` +
        `versions ${FDT_FIRST_READ_VERSION}-${FDT_LAST_SUPPORTED_VERSION} are`,
    );
  const headerSize = h.version >= 17 ? HEADER_SIZE_V17 : 36;
  if (h.totalsize < headerSize) throw err(4, 'totalsize', `${h.totalsize} is smaller than the header`);
  if (b.length < h.totalsize)
    throw err(b.length, 'totalsize', `header says ${h.totalsize} bytes but the file ends after ${b.length}`);
  // The blocks must sit after the header and inside totalsize (fdt_check_header()).
  // The blocks must sit after the header and inside totalsize (fdt_check_header());
  // the error names the offset field, or the size field when only the size is wrong.
  const at = (field: HeaderField) => HEADER.find(([n]) => n === field)![1];
  const block = (offField: HeaderField, sizeField: HeaderField | null, off: number, size: number) => {
    const where = `block ${hex(off)}+${hex(size)} lies outside the blob (header ${headerSize}, totalsize ${h.totalsize})`;
    if (off < headerSize || off > h.totalsize) throw err(at(offField), offField, where);
    if (size > h.totalsize - off) throw err(at(sizeField ?? offField), sizeField ?? offField, where);
  };
  block('off_mem_rsvmap', null, h.off_mem_rsvmap, 0);
  if (h.off_mem_rsvmap % 8 !== 0)
    throw err(16, 'off_mem_rsvmap', `${hex(h.off_mem_rsvmap)} is not 8-byte aligned`);
  block('off_dt_strings', 'size_dt_strings', h.off_dt_strings, h.size_dt_strings);
  const structSize = h.version >= 17 ? h.size_dt_struct : h.totalsize - h.off_dt_struct;
  block('off_dt_struct', h.version >= 17 ? 'size_dt_struct' : null, h.off_dt_struct, structSize);
  if (h.off_dt_struct % 4 !== 0)
    throw err(8, 'off_dt_struct', `${hex(h.off_dt_struct)} is not 4-byte aligned`);

  const memReserve = readMemReserve(b, h.off_mem_rsvmap, h.totalsize, err);
  const strEnd = h.off_dt_strings + h.size_dt_strings;
  const latin1 = new TextDecoder('latin1');
  const cstring = (at: number, end: number, field: string): string => {
    let i = at;
    while (i < end && b[i] !== 0) i++;
    if (i >= end) throw err(at, field, 'string is not NUL-terminated within its block');
    return latin1.decode(b.subarray(at, i));
  };

  const end = h.off_dt_struct + structSize;
  let off = h.off_dt_struct;
  let root: FdtNode | null = null;
  const stack: FdtNode[] = [];
  let ended = false;
  while (!ended) {
    if (off + 4 > end) throw err(off, 'structure block', 'ends without an FDT_END token');
    const tagAt = off;
    const tag = readU32(b, off);
    off += 4;
    switch (tag) {
      case FDT_BEGIN_NODE: {
        if (root && stack.length === 0) throw err(tagAt, 'FDT_BEGIN_NODE', 'a second root node');
        const name = cstring(off, end, 'node name');
        off = align4(off + name.length + 1);
        const parent = stack.at(-1) ?? null;
        if (!parent && name !== '') throw err(tagAt, 'node name', `the root node is named "${name}", not ""`);
        const node: FdtNode = {
          name,
          path: parent ? (parent.parent ? `${parent.path}/${name}` : `/${name}`) : '/',
          parent,
          properties: [],
          children: [],
          offset: tagAt,
        };
        if (parent) parent.children.push(node);
        else root = node;
        stack.push(node);
        break;
      }
      case FDT_END_NODE:
        if (!stack.pop()) throw err(tagAt, 'FDT_END_NODE', 'closes a node that was never opened');
        break;
      case FDT_PROP: {
        if (off + 8 > end) throw err(off, 'FDT_PROP', 'header runs past the structure block');
        const len = readU32(b, off);
        const nameoff = readU32(b, off + 4);
        off += 8;
        const node = stack.at(-1);
        if (!node) throw err(tagAt, 'FDT_PROP', 'a property outside any node');
        if (len > end - off)
          throw err(tagAt + 4, 'len', `property value of ${len} bytes runs past the structure block`);
        if (nameoff >= h.size_dt_strings)
          throw err(
            tagAt + 8,
            'nameoff',
            `${hex(nameoff)} is outside the strings block (size ${hex(h.size_dt_strings)})`,
          );
        const name = cstring(h.off_dt_strings + nameoff, strEnd, 'property name');
        const prop: FdtProperty = { name, value: b.slice(off, off + len), offset: tagAt };
        node.properties.push(prop);
        off = align4(off + len);
        break;
      }
      case FDT_NOP:
        break;
      case FDT_END:
        if (stack.length)
          throw err(tagAt, 'FDT_END', `${stack.length} node(s) still open (innermost ${stack.at(-1)!.path})`);
        ended = true;
        break;
      default:
        throw err(tagAt, 'token', `unknown token ${hex(tag)}`);
    }
  }
  if (!root) throw err(h.off_dt_struct, 'structure block', 'no root node');

  const phandles = new Map<number, FdtNode>();
  const walk: FdtNode[] = [root];
  while (walk.length) {
    const n = walk.pop()!;
    const ph = nodePhandle(n);
    if (ph !== 0 && ph !== 0xffffffff && !phandles.has(ph)) phandles.set(ph, n);
    for (let i = n.children.length - 1; i >= 0; i--) walk.push(n.children[i]);
  }
  return {
    file,
    version: h.version,
    lastCompVersion: h.last_comp_version,
    bootCpuidPhys: h.boot_cpuid_phys,
    memReserve,
    root,
    phandles,
  };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** The memory-reservation block: (address, size) u64 pairs up to a (0, 0) entry. */
function readMemReserve(
  b: Uint8Array,
  start: number,
  totalsize: number,
  err: (off: number, field: string, problem: string) => InputError,
): MemReserve[] {
  const out: MemReserve[] = [];
  const u64 = (at: number) => (BigInt(readU32(b, at)) << 32n) | BigInt(readU32(b, at + 4));
  for (let at = start; ; at += 16) {
    if (at + 16 > totalsize)
      throw err(at, 'memory reservation block', 'runs past the blob without a (0, 0) terminator');
    const address = u64(at);
    const size = u64(at + 8);
    if (address === 0n && size === 0n) return out;
    out.push({ address, size });
  }
}
