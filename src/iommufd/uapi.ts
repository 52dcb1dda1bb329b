// SPDX-License-Identifier: GPL-2.0-only
/**
 * include/uapi/linux/iommufd.h as data: each command's number and struct
 * layout (fields in declaration order with their C types; offsets follow C's
 * natural alignment, computed once by layout()), and one codec that reads a
 * struct from the bytes user space passed and writes the outputs back. u64
 * fields decode to bigint (the ABI's 64-bit edge cases, U64_MAX lengths and
 * IOVAs near the top, must stay exact); narrower fields to numbers.
 *
 * The command table is the one 6.12's drivers/iommu/iommufd/main.c builds
 * (iommufd_ioctl_ops[], indexed by _IOC_NR(cmd) - IOMMUFD_CMD_BASE), each
 * entry with the size of its kernel struct and its min_size: the offset just
 * past the field the IOCTL_OP() names.
 */

export type FieldType = 'u8' | 'u16' | 'u32' | 's32' | 'u64';

const SIZE: Readonly<Record<FieldType, number>> = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8 };

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
}

export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly Field[];
  readonly byName: ReadonlyMap<string, Field>;
}

/** The offset just past a field. */
export const fieldEnd = (f: Field): number => f.offset + SIZE[f.type];

/** A C struct from its fields in order: offsets by natural alignment, size rounded to the largest. */
export function layout(name: string, decl: readonly (readonly [string, FieldType])[]): StructLayout {
  let off = 0;
  let align = 1;
  const fields = decl.map(([n, type]) => {
    const s = SIZE[type];
    off = Math.ceil(off / s) * s;
    const f = { name: n, type, offset: off };
    off += s;
    align = Math.max(align, s);
    return f;
  });
  return {
    name,
    size: Math.ceil(off / align) * align,
    fields,
    byName: new Map(fields.map((f) => [f.name, f])),
  };
}

/**
 * A struct with a union (struct iommu_test_cmd): the header fields, one union
 * member's fields from `unionAt`, and trailing fields at their fixed offsets,
 * `size` bytes in all. Each union member is its own layout over the same bytes.
 */
export function unionLayout(
  name: string,
  size: number,
  head: readonly (readonly [string, FieldType])[],
  unionAt: number,
  member: readonly (readonly [string, FieldType])[],
  tail: readonly (readonly [string, FieldType, number])[],
): StructLayout {
  const h = layout(name, head);
  const m = layout(name, member);
  const fields: Field[] = [
    ...h.fields,
    ...m.fields.map((f) => ({ ...f, offset: f.offset + unionAt })),
    ...tail.map(([n, type, offset]) => ({ name: n, type, offset })),
  ];
  return { name, size, fields, byName: new Map(fields.map((f) => [f.name, f])) };
}

/** A decoded struct: u64 fields as bigint, the others as numbers. */
export type Decoded = Record<string, number | bigint>;

/**
 * The codec of one layout: straight-line functions generated from its
 * fields (new Function, once per layout), so that an ioctl neither walks
 * the field list nor builds its result key by key; the layout stays the
 * data, this is only how it runs. Bytes are read and written one by one:
 * a DataView would need the array's `.buffer`, which for a small fresh
 * Uint8Array costs V8 a microsecond to materialise.
 */
interface Codec {
  readonly decode: (b: Uint8Array) => Decoded;
  readonly encode: (b: Uint8Array, values: Decoded) => void;
}

/** Little-endian u32 at o of b, as an expression. */
const rd32 = (o: number): string =>
  `((b[${o}] | b[${o + 1}] << 8 | b[${o + 2}] << 16 | b[${o + 3}] << 24) >>> 0)`;
const GET: Readonly<Record<FieldType, (o: number) => string>> = {
  u8: (o) => `b[${o}]`,
  u16: (o) => `(b[${o}] | b[${o + 1}] << 8)`,
  u32: rd32,
  s32: (o) => `(b[${o}] | b[${o + 1}] << 8 | b[${o + 2}] << 16 | b[${o + 3}] << 24)`,
  u64: (o) => `(BigInt(${rd32(o + 4)}) << 32n | BigInt(${rd32(o)}))`,
};
/** Statements storing `x` at o of b. */
const wr32 = (o: number, v: string): string =>
  `n = ${v}; b[${o}] = n; b[${o + 1}] = n >>> 8; b[${o + 2}] = n >>> 16; b[${o + 3}] = n >>> 24;`;
const SET: Readonly<Record<FieldType, (o: number) => string>> = {
  u8: (o) => `b[${o}] = Number(x);`,
  u16: (o) => `n = Number(x); b[${o}] = n; b[${o + 1}] = n >>> 8;`,
  u32: (o) => wr32(o, 'Number(x)'),
  s32: (o) => wr32(o, 'Number(x)'),
  u64: (o) =>
    `y = BigInt.asUintN(64, BigInt(x)); ${wr32(o, 'Number(y & 0xffffffffn)')} ${wr32(o + 4, 'Number(y >> 32n)')}`,
};

const codecs = new WeakMap<StructLayout, Codec>();

function codecOf(l: StructLayout): Codec {
  let c = codecs.get(l);
  if (!c) {
    const key = (f: Field) => JSON.stringify(f.name);
    const dec = `return {${l.fields.map((f) => `${key(f)}: ${GET[f.type](f.offset)}`).join(', ')}};`;
    const enc = l.fields.map((f) => `x = o[${key(f)}]; if (x !== undefined) { ${SET[f.type](f.offset)} }`);
    c = {
      decode: new Function('b', dec) as Codec['decode'],
      encode: new Function('b', 'o', `let x, y, n;\n${enc.join('\n')}`) as Codec['encode'],
    };
    codecs.set(l, c);
  }
  return c;
}

/** Reads every field of `l` from `bytes` (which must hold l.size bytes). */
export function decode(l: StructLayout, bytes: Uint8Array): Decoded {
  if (bytes.length < l.size)
    throw new RangeError(`${l.name}: ${bytes.length} bytes for a ${l.size}-byte struct`);
  return codecOf(l).decode(bytes);
}

/** Writes the named fields of `values` into `bytes` (little-endian, as the struct lays them out). */
export function encode(l: StructLayout, values: Decoded, bytes: Uint8Array): void {
  if (bytes.length < l.size)
    throw new RangeError(`${l.name}: ${bytes.length} bytes for a ${l.size}-byte struct`);
  codecOf(l).encode(bytes, values);
}

/** A struct as bytes, from field values (absent fields zero). */
export function pack(l: StructLayout, values: Decoded): Uint8Array {
  const bytes = new Uint8Array(l.size);
  encode(l, { size: l.size, ...values }, bytes);
  return bytes;
}

/** IOMMUFD_TYPE (';') and IOMMUFD_CMD_BASE. */
export const IOMMUFD_TYPE = 0x3b;
export const IOMMUFD_CMD_BASE = 0x80;
/** _IO(IOMMUFD_TYPE, nr): no direction or size bits, as the uAPI defines every iommufd command. */
export const iommufdCmd = (nr: number): number => (IOMMUFD_TYPE << 8) | nr;
/** _IOC_NR() */
export const ioctlNr = (cmd: number): number => cmd & 0xff;

export const U64_MAX = (1n << 64n) - 1n;

export const IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0;
export const IOMMU_IOAS_MAP_WRITEABLE = 1 << 1;
export const IOMMU_IOAS_MAP_READABLE = 1 << 2;
export const IOMMU_OPTION_RLIMIT_MODE = 0;
export const IOMMU_OPTION_HUGE_PAGES = 1;
export const IOMMU_OPTION_OP_SET = 0;
export const IOMMU_OPTION_OP_GET = 1;
export const IOMMU_VFIO_IOAS_GET = 0;
export const IOMMU_VFIO_IOAS_SET = 1;
export const IOMMU_VFIO_IOAS_CLEAR = 2;

/** struct iommu_test_cmd (drivers/iommu/iommufd/iommufd_test.h): its header, then a union at 16, `last` at 64. */
const TEST_CMD_HEAD = [
  ['size', 'u32'],
  ['op', 'u32'],
  ['id', 'u32'],
  ['__reserved', 'u32'],
] as const;
const testCmd = (member: string, fields: readonly (readonly [string, FieldType])[]) =>
  unionLayout(`iommu_test_cmd.${member}`, 72, TEST_CMD_HEAD, 16, fields, [['last', 'u32', 64]]);

export const structs = {
  destroy: layout('iommu_destroy', [
    ['size', 'u32'],
    ['id', 'u32'],
  ]),
  ioas_alloc: layout('iommu_ioas_alloc', [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['out_ioas_id', 'u32'],
  ]),
  iova_range: layout('iommu_iova_range', [
    ['start', 'u64'],
    ['last', 'u64'],
  ]),
  ioas_iova_ranges: layout('iommu_ioas_iova_ranges', [
    ['size', 'u32'],
    ['ioas_id', 'u32'],
    ['num_iovas', 'u32'],
    ['__reserved', 'u32'],
    ['allowed_iovas', 'u64'],
    ['out_iova_alignment', 'u64'],
  ]),
  ioas_allow_iovas: layout('iommu_ioas_allow_iovas', [
    ['size', 'u32'],
    ['ioas_id', 'u32'],
    ['num_iovas', 'u32'],
    ['__reserved', 'u32'],
    ['allowed_iovas', 'u64'],
  ]),
  ioas_map: layout('iommu_ioas_map', [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['ioas_id', 'u32'],
    ['__reserved', 'u32'],
    ['user_va', 'u64'],
    ['length', 'u64'],
    ['iova', 'u64'],
  ]),
  ioas_copy: layout('iommu_ioas_copy', [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['dst_ioas_id', 'u32'],
    ['src_ioas_id', 'u32'],
    ['length', 'u64'],
    ['dst_iova', 'u64'],
    ['src_iova', 'u64'],
  ]),
  ioas_unmap: layout('iommu_ioas_unmap', [
    ['size', 'u32'],
    ['ioas_id', 'u32'],
    ['iova', 'u64'],
    ['length', 'u64'],
  ]),
  option: layout('iommu_option', [
    ['size', 'u32'],
    ['option_id', 'u32'],
    ['op', 'u16'],
    ['__reserved', 'u16'],
    ['object_id', 'u32'],
    ['val64', 'u64'],
  ]),
  vfio_ioas: layout('iommu_vfio_ioas', [
    ['size', 'u32'],
    ['ioas_id', 'u32'],
    ['op', 'u16'],
    ['__reserved', 'u16'],
  ]),
  hwpt_alloc: layout('iommu_hwpt_alloc', [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['dev_id', 'u32'],
    ['pt_id', 'u32'],
    ['out_hwpt_id', 'u32'],
    ['__reserved', 'u32'],
    ['data_type', 'u32'],
    ['data_len', 'u32'],
    ['data_uptr', 'u64'],
    ['fault_id', 'u32'],
    ['__reserved2', 'u32'],
  ]),
  hw_info: layout('iommu_hw_info', [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['dev_id', 'u32'],
    ['data_len', 'u32'],
    ['data_uptr', 'u64'],
    ['out_data_type', 'u32'],
    ['out_max_pasid_log2', 'u8'],
    ['__reserved', 'u8'],
    ['__reserved_1', 'u8'],
    ['__reserved_2', 'u8'],
    ['out_capabilities', 'u64'],
  ]),
  hwpt_set_dirty_tracking: layout('iommu_hwpt_set_dirty_tracking', [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['hwpt_id', 'u32'],
    ['__reserved', 'u32'],
  ]),
  hwpt_get_dirty_bitmap: layout('iommu_hwpt_get_dirty_bitmap', [
    ['size', 'u32'],
    ['hwpt_id', 'u32'],
    ['flags', 'u32'],
    ['__reserved', 'u32'],
    ['iova', 'u64'],
    ['length', 'u64'],
    ['page_size', 'u64'],
    ['data', 'u64'],
  ]),
  hwpt_invalidate: layout('iommu_hwpt_invalidate', [
    ['size', 'u32'],
    ['hwpt_id', 'u32'],
    ['data_uptr', 'u64'],
    ['data_type', 'u32'],
    ['entry_len', 'u32'],
    ['entry_num', 'u32'],
    ['__reserved', 'u32'],
  ]),
  /** The header and `last` of struct iommu_test_cmd; testCmds has each union member. */
  test_cmd: unionLayout('iommu_test_cmd', 72, TEST_CMD_HEAD, 16, [], [['last', 'u32', 64]]),
  fault_alloc: layout('iommu_fault_alloc', [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['out_fault_id', 'u32'],
    ['out_fault_fd', 'u32'],
  ]),
  // The commands after 6.12 (v6.13 on), for the tables of the newer profiles.
  ioas_map_file: layout('iommu_ioas_map_file', [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['ioas_id', 'u32'],
    ['fd', 's32'],
    ['start', 'u64'],
    ['length', 'u64'],
    ['iova', 'u64'],
  ]),
  viommu_alloc: layout('iommu_viommu_alloc', [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['type', 'u32'],
    ['dev_id', 'u32'],
    ['hwpt_id', 'u32'],
    ['out_viommu_id', 'u32'],
    ['data_len', 'u32'],
    ['__reserved', 'u32'],
    ['data_uptr', 'u64'],
  ]),
  vdevice_alloc: layout('iommu_vdevice_alloc', [
    ['size', 'u32'],
    ['viommu_id', 'u32'],
    ['dev_id', 'u32'],
    ['out_vdevice_id', 'u32'],
    ['virt_id', 'u64'],
  ]),
  ioas_change_process: layout('iommu_ioas_change_process', [
    ['size', 'u32'],
    ['__reserved', 'u32'],
  ]),
  veventq_alloc: layout('iommu_veventq_alloc', [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['viommu_id', 'u32'],
    ['type', 'u32'],
    ['veventq_depth', 'u32'],
    ['out_veventq_id', 'u32'],
    ['out_veventq_fd', 'u32'],
    ['__reserved', 'u32'],
  ]),
  hw_queue_alloc: layout('iommu_hw_queue_alloc', [
    ['size', 'u32'],
    ['flags', 'u32'],
    ['viommu_id', 'u32'],
    ['type', 'u32'],
    ['index', 'u32'],
    ['out_hw_queue_id', 'u32'],
    ['nesting_parent_iova', 'u64'],
    ['length', 'u64'],
  ]),
} as const;

/** Each union member of struct iommu_test_cmd that the model handles, as its own layout. */
export const testCmds = {
  add_reserved: testCmd('add_reserved', [
    ['start', 'u64'],
    ['length', 'u64'],
  ]),
  memory_limit: testCmd('memory_limit', [['limit', 'u32']]),
  mock_domain: testCmd('mock_domain', [
    ['out_stdev_id', 'u32'],
    ['out_hwpt_id', 'u32'],
    ['out_idev_id', 'u32'],
  ]),
  mock_domain_flags: testCmd('mock_domain_flags', [
    ['out_stdev_id', 'u32'],
    ['out_hwpt_id', 'u32'],
    ['out_idev_id', 'u32'],
    ['dev_flags', 'u32'],
  ]),
  mock_domain_replace: testCmd('mock_domain_replace', [['pt_id', 'u32']]),
  check_map: testCmd('check_map', [
    ['iova', 'u64'],
    ['length', 'u64'],
    ['uptr', 'u64'],
  ]),
  create_access: testCmd('create_access', [
    ['out_access_fd', 'u32'],
    ['flags', 'u32'],
  ]),
  destroy_access_pages: testCmd('destroy_access_pages', [['access_pages_id', 'u32']]),
  access_pages: testCmd('access_pages', [
    ['flags', 'u32'],
    ['out_access_pages_id', 'u32'],
    ['iova', 'u64'],
    ['length', 'u64'],
    ['uptr', 'u64'],
  ]),
  access_rw: testCmd('access_rw', [
    ['iova', 'u64'],
    ['length', 'u64'],
    ['uptr', 'u64'],
    ['flags', 'u32'],
  ]),
  access_replace_ioas: testCmd('access_replace_ioas', [['ioas_id', 'u32']]),
  dirty: testCmd('dirty', [
    ['flags', 'u32'],
    ['iova', 'u64'],
    ['length', 'u64'],
    ['page_size', 'u64'],
    ['uptr', 'u64'],
    ['out_nr_dirty', 'u64'],
  ]),
  /** check_iotlb { id, iotlb }: the member's `id` (a slot) is named iotlb_id here, apart from the header's. */
  check_iotlb: testCmd('check_iotlb', [
    ['iotlb_id', 'u32'],
    ['iotlb', 'u32'],
  ]),
  trigger_iopf: testCmd('trigger_iopf', [
    ['dev_id', 'u32'],
    ['pasid', 'u32'],
    ['grpid', 'u32'],
    ['perm', 'u32'],
    ['addr', 'u64'],
  ]),
  /** check_dev_cache { id, cache }: the slot is named cache_id here, apart from the header's id. */
  check_dev_cache: testCmd('check_dev_cache', [
    ['cache_id', 'u32'],
    ['cache', 'u32'],
  ]),
  trigger_vevent: testCmd('trigger_vevent', [['dev_id', 'u32']]),
  pasid_attach: testCmd('pasid_attach', [
    ['pasid', 'u32'],
    ['pt_id', 'u32'],
  ]),
  pasid_replace: testCmd('pasid_replace', [
    ['pasid', 'u32'],
    ['pt_id', 'u32'],
  ]),
  pasid_detach: testCmd('pasid_detach', [['pasid', 'u32']]),
  pasid_check: testCmd('pasid_check', [
    ['pasid', 'u32'],
    ['hwpt_id', 'u32'],
  ]),
  check_refs: testCmd('check_refs', [
    ['length', 'u64'],
    ['uptr', 'u64'],
    ['refs', 'u32'],
  ]),
} as const;

/** IOMMU_TEST_CMD is _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32), in the table with CONFIG_IOMMUFD_TEST. */
export const IOMMU_TEST_CMD_NR = IOMMUFD_CMD_BASE + 32;
/** enum of IOMMU_TEST_OP_* (iommufd_test.h). */
export const IOMMU_TEST_OP = {
  ADD_RESERVED: 1,
  MOCK_DOMAIN: 2,
  MD_CHECK_MAP: 3,
  MD_CHECK_REFS: 4,
  CREATE_ACCESS: 5,
  DESTROY_ACCESS_PAGES: 6,
  ACCESS_PAGES: 7,
  ACCESS_RW: 8,
  SET_TEMP_MEMORY_LIMIT: 9,
  MOCK_DOMAIN_REPLACE: 10,
  ACCESS_REPLACE_IOAS: 11,
  MOCK_DOMAIN_FLAGS: 12,
  DIRTY: 13,
  MD_CHECK_IOTLB: 14,
  TRIGGER_IOPF: 15,
  DEV_CHECK_CACHE: 16,
  TRIGGER_VEVENT: 17,
  PASID_ATTACH: 18,
  PASID_REPLACE: 19,
  PASID_DETACH: 20,
  PASID_CHECK_HWPT: 21,
} as const;

export type StructName = keyof typeof structs;

/** One iommufd_ioctl_ops[] entry: IOCTL_OP(ioctl, execute, struct, last field). */
export interface IoctlOp {
  readonly name: string;
  readonly nr: number;
  readonly struct: StructName;
  /** The field IOCTL_OP() names: min_size is the offset just past it. */
  readonly last: string;
  /**
   * The struct grew: in a kernel whose table ends before `untilLastCmd` it
   * was only `size` bytes (the fields past that read as zero there, and a
   * user's non-zero bytes in them are -E2BIG).
   */
  readonly grew?: { readonly untilLastCmd: number; readonly size: number };
}

/** iommufd_ioctl_ops[] of the newest profile (without CONFIG_IOMMUFD_TEST's IOMMU_TEST_CMD); each profile's table ends at its iommufdLastCmd. */
export const IOCTL_OPS: readonly IoctlOp[] = [
  { name: 'IOMMU_DESTROY', nr: 0x80, struct: 'destroy', last: 'id' },
  { name: 'IOMMU_IOAS_ALLOC', nr: 0x81, struct: 'ioas_alloc', last: 'out_ioas_id' },
  { name: 'IOMMU_IOAS_ALLOW_IOVAS', nr: 0x82, struct: 'ioas_allow_iovas', last: 'allowed_iovas' },
  { name: 'IOMMU_IOAS_COPY', nr: 0x83, struct: 'ioas_copy', last: 'src_iova' },
  { name: 'IOMMU_IOAS_IOVA_RANGES', nr: 0x84, struct: 'ioas_iova_ranges', last: 'out_iova_alignment' },
  { name: 'IOMMU_IOAS_MAP', nr: 0x85, struct: 'ioas_map', last: 'iova' },
  { name: 'IOMMU_IOAS_UNMAP', nr: 0x86, struct: 'ioas_unmap', last: 'length' },
  { name: 'IOMMU_OPTION', nr: 0x87, struct: 'option', last: 'val64' },
  { name: 'IOMMU_VFIO_IOAS', nr: 0x88, struct: 'vfio_ioas', last: '__reserved' },
  { name: 'IOMMU_HWPT_ALLOC', nr: 0x89, struct: 'hwpt_alloc', last: '__reserved' },
  // IOCTL_OP(..., __reserved): the u8[3] array ends at 32.
  { name: 'IOMMU_GET_HW_INFO', nr: 0x8a, struct: 'hw_info', last: '__reserved_2' },
  {
    name: 'IOMMU_HWPT_SET_DIRTY_TRACKING',
    nr: 0x8b,
    struct: 'hwpt_set_dirty_tracking',
    last: '__reserved',
  },
  { name: 'IOMMU_HWPT_GET_DIRTY_BITMAP', nr: 0x8c, struct: 'hwpt_get_dirty_bitmap', last: 'data' },
  { name: 'IOMMU_HWPT_INVALIDATE', nr: 0x8d, struct: 'hwpt_invalidate', last: '__reserved' },
  { name: 'IOMMU_FAULT_QUEUE_ALLOC', nr: 0x8e, struct: 'fault_alloc', last: 'out_fault_fd' },
  // Past 6.12: in the tables of the profiles whose iommufdLastCmd reaches them.
  { name: 'IOMMU_IOAS_MAP_FILE', nr: 0x8f, struct: 'ioas_map_file', last: 'iova' },
  // data_len/data_uptr came with v6.16's driver data (and mmap).
  {
    name: 'IOMMU_VIOMMU_ALLOC',
    nr: 0x90,
    struct: 'viommu_alloc',
    last: 'out_viommu_id',
    grew: { untilLastCmd: 0x94, size: 24 },
  },
  { name: 'IOMMU_VDEVICE_ALLOC', nr: 0x91, struct: 'vdevice_alloc', last: 'virt_id' },
  { name: 'IOMMU_IOAS_CHANGE_PROCESS', nr: 0x92, struct: 'ioas_change_process', last: '__reserved' },
  { name: 'IOMMU_VEVENTQ_ALLOC', nr: 0x93, struct: 'veventq_alloc', last: 'out_veventq_fd' },
  { name: 'IOMMU_HW_QUEUE_ALLOC', nr: 0x94, struct: 'hw_queue_alloc', last: 'length' },
];

/** IOCTL_OP(IOMMU_TEST_CMD, iommufd_test, struct iommu_test_cmd, last) */
export const TEST_CMD_OP: IoctlOp = {
  name: 'IOMMU_TEST_CMD',
  nr: IOMMU_TEST_CMD_NR,
  struct: 'test_cmd',
  last: 'last',
};

/** The ioctl number of a command by name. */
export function ioctlNumber(name: string): number {
  if (name === TEST_CMD_OP.name) return iommufdCmd(TEST_CMD_OP.nr);
  const op = IOCTL_OPS.find((o) => o.name === name);
  if (!op) throw new RangeError(`no iommufd command ${name}`);
  return iommufdCmd(op.nr);
}

/** sizeof the op's struct in the kernel whose table ends at lastCmd. */
export function kernelSize(op: IoctlOp, lastCmd: number): number {
  return op.grew && lastCmd < op.grew.untilLastCmd ? op.grew.size : structs[op.struct].size;
}

/** min_size of an op: the end of its `last` field. */
export function minSize(op: IoctlOp): number {
  const l = structs[op.struct];
  const f = l.byName.get(op.last);
  if (!f) throw new Error(`${l.name} has no field ${op.last}`);
  return fieldEnd(f);
}
