// SPDX-License-Identifier: GPL-2.0-only
/**
 * The binary ACPI IORT table (IO Remapping Table, Arm DEN 0049), laid out
 * as include/acpi/actbl2.h declares it (struct acpi_table_iort,
 * acpi_iort_node, acpi_iort_id_mapping and the per-type node bodies) and
 * walked by drivers/acpi/arm64/iort.c (iort_scan_node(), iort_node_map_id(),
 * iort_id_map()).
 *
 * Nodes are "type, length" records from Node Offset; each may carry an
 * array of ID mappings at its Mapping Offset, whose Output Reference is the
 * byte offset of the node the IDs go to (an SMMU, an ITS group). Node
 * bodies are layouts (data); one reader walks them.
 *
 * Structural problems (a node or mapping array that does not fit, a node
 * count that disagrees with the nodes present) are InputErrors naming the
 * file, the offset and the field. Things the kernel tolerates with a
 * FW_BUG message (a NULL or dangling output reference, the single-mapping
 * flag with a non-zero count) are kept, with a note saying what the kernel
 * does: the iasl template itself has NULL references everywhere. How IDs
 * are translated (single mappings, the QEMU off-by-one) is iort.c's part.
 */
import {
  type ParsedTableBase,
  type TableParseOptions,
  type Layout,
  type LayoutValues,
  type RecordFormat,
  type TableBytes,
  hex,
  readAcpiTable,
  trailingNote,
  walkRecords,
} from './acpi-table.js';

/** struct acpi_table_iort beyond the ACPI header. */
export const IORT_HEADER_LAYOUT = [
  { name: 'nodeCount', label: 'Node Count', offset: 36, size: 4, kind: 'u32' },
  { name: 'nodeOffset', label: 'Node Offset', offset: 40, size: 4, kind: 'u32' },
  { name: 'reserved', label: 'Reserved', offset: 44, size: 4, kind: 'u32' },
] as const satisfies Layout;
export const IORT_HEADER_SIZE = 48;

/** struct acpi_iort_node (the identifier was "reserved" before IORT E.b). */
export const IORT_NODE_HEADER_LAYOUT = [
  { name: 'type', label: 'Type', offset: 0, size: 1, kind: 'u8' },
  { name: 'length', label: 'Length', offset: 1, size: 2, kind: 'u16' },
  { name: 'revision', label: 'Revision', offset: 3, size: 1, kind: 'u8' },
  { name: 'identifier', label: 'Identifier', offset: 4, size: 4, kind: 'u32' },
  { name: 'mappingCount', label: 'Mapping Count', offset: 8, size: 4, kind: 'u32' },
  { name: 'mappingOffset', label: 'Mapping Offset', offset: 12, size: 4, kind: 'u32' },
] as const satisfies Layout;
export const IORT_NODE_HEADER_SIZE = 16;

/** struct acpi_iort_id_mapping */
export const IORT_ID_MAPPING_LAYOUT = [
  { name: 'inputBase', label: 'Input base', offset: 0, size: 4, kind: 'u32' },
  { name: 'idCount', label: 'ID Count', offset: 4, size: 4, kind: 'u32' },
  { name: 'outputBase', label: 'Output Base', offset: 8, size: 4, kind: 'u32' },
  { name: 'outputReference', label: 'Output Reference', offset: 12, size: 4, kind: 'u32' },
  { name: 'flags', label: 'Flags (decoded below)', offset: 16, size: 4, kind: 'u32' },
] as const satisfies Layout;
export const IORT_ID_MAPPING_SIZE = 20;
/** ACPI_IORT_ID_SINGLE_MAPPING: the mapping gives one output ID whatever the input. */
export const IORT_ID_SINGLE_MAPPING = 1;

/** enum acpi_iort_node_type */
export const ACPI_IORT_NODE_ITS_GROUP = 0;
export const ACPI_IORT_NODE_NAMED_COMPONENT = 1;
export const ACPI_IORT_NODE_PCI_ROOT_COMPLEX = 2;
export const ACPI_IORT_NODE_SMMU = 3;
export const ACPI_IORT_NODE_SMMU_V3 = 4;
export const ACPI_IORT_NODE_PMCG = 5;
export const ACPI_IORT_NODE_RMR = 6;

/** struct acpi_iort_memory_access, as the named-component and root-complex bodies embed it. */
const memoryAccess = (at: number) =>
  [
    { name: 'cacheCoherency', label: 'Cache Coherency', offset: at, size: 4, kind: 'u32' },
    { name: 'hints', label: 'Hints (decoded below)', offset: at + 4, size: 1, kind: 'u8' },
    { name: 'memoryAccessReserved', label: 'Reserved', offset: at + 5, size: 2, kind: 'u16' },
    { name: 'memoryFlags', label: 'Memory Flags (decoded below)', offset: at + 7, size: 1, kind: 'u8' },
  ] as const;

/**
 * The node bodies (offsets from the node's start) and the size of each
 * type's fixed part, below which a node is refused.
 */
export const IORT_NODES = {
  [ACPI_IORT_NODE_ITS_GROUP]: {
    name: 'ITS group',
    size: 20,
    layout: [{ name: 'itsCount', label: 'ItsCount', offset: 16, size: 4, kind: 'u32' }],
  },
  [ACPI_IORT_NODE_NAMED_COMPONENT]: {
    name: 'named component',
    size: 30,
    layout: [
      { name: 'nodeFlags', label: 'Node Flags', offset: 16, size: 4, kind: 'u32' },
      ...memoryAccess(20),
      { name: 'memoryAddressLimit', label: 'Memory Size Limit', offset: 28, size: 1, kind: 'u8' },
    ],
  },
  [ACPI_IORT_NODE_PCI_ROOT_COMPLEX]: {
    name: 'PCI root complex',
    size: 36,
    layout: [
      ...memoryAccess(16),
      { name: 'atsAttribute', label: 'ATS Attribute', offset: 24, size: 4, kind: 'u32' },
      { name: 'pciSegmentNumber', label: 'PCI Segment Number', offset: 28, size: 4, kind: 'u32' },
      { name: 'memoryAddressLimit', label: 'Memory Size Limit', offset: 32, size: 1, kind: 'u8' },
      // pasid_capabilities (u16) and a reserved byte from node revision 4.
      { name: 'tail', label: 'Reserved', offset: 33, size: 3, kind: 'u24' },
    ],
  },
  [ACPI_IORT_NODE_SMMU]: {
    name: 'SMMU',
    size: 60,
    layout: [
      { name: 'baseAddress', label: 'Base Address', offset: 16, size: 8, kind: 'u64' },
      { name: 'span', label: 'Span', offset: 24, size: 8, kind: 'u64' },
      { name: 'model', label: 'Model', offset: 32, size: 4, kind: 'u32' },
      { name: 'flags', label: 'Flags (decoded below)', offset: 36, size: 4, kind: 'u32' },
      { name: 'globalInterruptOffset', label: 'Global Interrupt Offset', offset: 40, size: 4, kind: 'u32' },
      { name: 'contextInterruptCount', label: 'Context Interrupt Count', offset: 44, size: 4, kind: 'u32' },
      { name: 'contextInterruptOffset', label: 'Context Interrupt Offset', offset: 48, size: 4, kind: 'u32' },
      { name: 'pmuInterruptCount', label: 'PMU Interrupt Count', offset: 52, size: 4, kind: 'u32' },
      { name: 'pmuInterruptOffset', label: 'PMU Interrupt Offset', offset: 56, size: 4, kind: 'u32' },
    ],
  },
  [ACPI_IORT_NODE_SMMU_V3]: {
    name: 'SMMUv3',
    size: 68,
    layout: [
      { name: 'baseAddress', label: 'Base Address', offset: 16, size: 8, kind: 'u64' },
      { name: 'flags', label: 'Flags (decoded below)', offset: 24, size: 4, kind: 'u32' },
      { name: 'reserved', label: 'Reserved', offset: 28, size: 4, kind: 'u32' },
      { name: 'vatosAddress', label: 'VATOS Address', offset: 32, size: 8, kind: 'u64' },
      { name: 'model', label: 'Model', offset: 40, size: 4, kind: 'u32' },
      { name: 'eventGsiv', label: 'Event GSIV', offset: 44, size: 4, kind: 'u32' },
      { name: 'priGsiv', label: 'PRI GSIV', offset: 48, size: 4, kind: 'u32' },
      { name: 'gerrGsiv', label: 'GERR GSIV', offset: 52, size: 4, kind: 'u32' },
      { name: 'syncGsiv', label: 'Sync GSIV', offset: 56, size: 4, kind: 'u32' },
      { name: 'pxm', label: 'Proximity Domain', offset: 60, size: 4, kind: 'u32' },
      { name: 'idMappingIndex', label: 'Device ID Mapping Index', offset: 64, size: 4, kind: 'u32' },
    ],
  },
  [ACPI_IORT_NODE_PMCG]: {
    name: 'PMCG',
    size: 40,
    layout: [
      { name: 'page0BaseAddress', label: 'Page 0 Base Address', offset: 16, size: 8, kind: 'u64' },
      { name: 'overflowGsiv', label: 'Overflow Interrupt GSIV', offset: 24, size: 4, kind: 'u32' },
      { name: 'nodeReference', label: 'Node Reference', offset: 28, size: 4, kind: 'u32' },
      { name: 'page1BaseAddress', label: 'Page 1 Base Address', offset: 32, size: 8, kind: 'u64' },
    ],
  },
  [ACPI_IORT_NODE_RMR]: {
    name: 'RMR',
    size: 28,
    layout: [
      { name: 'flags', label: 'Flags (decoded below)', offset: 16, size: 4, kind: 'u32' },
      { name: 'rmrCount', label: 'Number of RMR Descriptors', offset: 20, size: 4, kind: 'u32' },
      { name: 'rmrOffset', label: 'RMR Descriptor Offset', offset: 24, size: 4, kind: 'u32' },
    ],
  },
} as const satisfies Record<number, { name: string; size: number; layout: Layout }>;

/** struct acpi_iort_smmu_gsi, at the SMMU's Global Interrupt Offset. */
const SMMU_GSI_LAYOUT = [
  { name: 'nsgIrpt', label: 'NSgIrpt', offset: 0, size: 4, kind: 'u32' },
  { name: 'nsgIrptFlags', label: 'NSgIrpt Flags (decoded below)', offset: 4, size: 4, kind: 'u32' },
  { name: 'nsgCfgIrpt', label: 'NSgCfgIrpt', offset: 8, size: 4, kind: 'u32' },
  { name: 'nsgCfgIrptFlags', label: 'NSgCfgIrpt Flags (decoded below)', offset: 12, size: 4, kind: 'u32' },
] as const satisfies Layout;

/** A (GSIV, flags) pair of the SMMU's context and PMU interrupt arrays. */
const SMMU_IRQ_LAYOUT = (what: string) =>
  [
    { name: 'gsiv', label: `${what} Interrupt`, offset: 0, size: 4, kind: 'u32' },
    { name: 'flags', label: 'Flags (decoded below)', offset: 4, size: 4, kind: 'u32' },
  ] as const satisfies Layout;

/** struct acpi_iort_rmr_desc */
const RMR_DESC_LAYOUT = [
  { name: 'baseAddress', label: 'Base Address of RMR', offset: 0, size: 8, kind: 'u64' },
  { name: 'length', label: 'Length of RMR', offset: 8, size: 8, kind: 'u64' },
  { name: 'reserved', label: 'Reserved', offset: 16, size: 4, kind: 'u32' },
] as const satisfies Layout;

export type IortIdMapping = LayoutValues<typeof IORT_ID_MAPPING_LAYOUT> & {
  /** Absolute offset of the mapping. */
  readonly offset: number;
};

type Body<T extends keyof typeof IORT_NODES> = LayoutValues<(typeof IORT_NODES)[T]['layout']>;

interface IortNodeBase {
  /** Offset from the start of the table: what output references name. */
  readonly offset: number;
  readonly type: number;
  readonly length: number;
  readonly revision: number;
  readonly identifier: number;
  readonly mappings: readonly IortIdMapping[];
}

export type IortNode = IortNodeBase &
  (
    | { readonly kind: 'its-group'; readonly identifiers: readonly number[] }
    | ({ readonly kind: 'named-component'; readonly deviceName: string } & Body<1>)
    | ({ readonly kind: 'root-complex'; readonly pasidCapabilities: number | null } & Body<2>)
    | ({
        readonly kind: 'smmu';
        readonly contextInterrupts: readonly number[];
        readonly pmuInterrupts: readonly number[];
        readonly globalInterrupts: LayoutValues<typeof SMMU_GSI_LAYOUT>;
      } & Body<3>)
    | ({ readonly kind: 'smmu-v3' } & Body<4>)
    | ({ readonly kind: 'pmcg' } & Body<5>)
    | ({
        readonly kind: 'rmr';
        readonly descriptors: readonly LayoutValues<typeof RMR_DESC_LAYOUT>[];
      } & Body<6>)
    | { readonly kind: 'unknown'; readonly raw: readonly number[] }
  );

export interface ParsedIort extends ParsedTableBase {
  readonly nodeCount: number;
  readonly nodeOffset: number;
  readonly nodes: readonly IortNode[];
  /** The nodes by their table offset: what Output References name. */
  readonly byOffset: ReadonlyMap<number, IortNode>;
}

export type IortParseOptions = TableParseOptions;

export function iortNodeName(type: number): string {
  return type in IORT_NODES
    ? IORT_NODES[type as keyof typeof IORT_NODES].name
    : `IORT node type ${hex(type)}`;
}

const NODE_FORMAT: RecordFormat = {
  what: 'IORT node',
  headerSize: 3,
  header: (t, o) => ({ type: t.u8(o), length: t.u16(o + 1) }),
  minLength: (type) =>
    type in IORT_NODES ? IORT_NODES[type as keyof typeof IORT_NODES].size : IORT_NODE_HEADER_SIZE,
  name: iortNodeName,
  // iort_scan_node() would step onto the same node again and again.
  zeroLength: () => 'an empty node: iort_scan_node() would never move past it',
};

/** Reads `count` records of `size` bytes at `at` inside the node [start, end). */
function readArray<L extends Layout>(
  t: TableBytes,
  start: number,
  end: number,
  at: number,
  count: number,
  layout: L,
  size: number,
  what: string,
  field: string,
): LayoutValues<L>[] {
  if (count === 0) return [];
  const abs = start + at;
  if (at < IORT_NODE_HEADER_SIZE || abs > end || count > Math.floor((end - abs) / size))
    throw t.error(
      abs,
      `${what}: ${count} entr${count === 1 ? 'y' : 'ies'} of ${size} bytes at ${field} ${hex(at)} do not fit in the node at ${hex(start)}, which ends at ${hex(end)}`,
    );
  return Array.from({ length: count }, (_, i) => t.read(abs + i * size, abs + (i + 1) * size, layout, what));
}

function readNode(t: TableBytes, offset: number, type: number, length: number, notes: string[]): IortNode {
  const end = offset + length;
  const name = iortNodeName(type);
  const h = t.read(offset, end, IORT_NODE_HEADER_LAYOUT, name);
  const spec = type in IORT_NODES ? IORT_NODES[type as keyof typeof IORT_NODES] : null;
  const body = spec ? (t.read(offset, end, spec.layout, name) as Record<string, unknown>) : {};
  const base = {
    offset,
    type,
    length,
    revision: h.revision,
    identifier: h.identifier,
    mappings: readArray(
      t,
      offset,
      end,
      h.mappingOffset,
      h.mappingCount,
      IORT_ID_MAPPING_LAYOUT,
      IORT_ID_MAPPING_SIZE,
      `${name} ID mapping`,
      'Mapping Offset',
    ).map((m, i) => ({ ...m, offset: offset + h.mappingOffset + i * IORT_ID_MAPPING_SIZE })),
  };
  if (h.mappingCount && spec && h.mappingOffset < spec.size)
    throw t.error(
      offset + 12,
      `${name} Mapping Offset ${hex(h.mappingOffset)} points inside the node's ${spec.size}-byte fixed part`,
    );
  // Where the variable part ends: the mappings, or the node's end.
  const tailEnd = h.mappingCount ? offset + h.mappingOffset : end;
  switch (type) {
    case ACPI_IORT_NODE_ITS_GROUP: {
      const n = (body as Body<0>).itsCount;
      const ids = readArray(
        t,
        offset,
        tailEnd,
        20,
        n,
        [{ name: 'id', label: 'Identifiers', offset: 0, size: 4, kind: 'u32' }] as const,
        4,
        `${name} ITS identifier`,
        'offset',
      );
      return { ...base, kind: 'its-group', identifiers: ids.map((x) => x.id) };
    }
    case ACPI_IORT_NODE_NAMED_COMPONENT: {
      const nameAt = offset + 29;
      const dn = t.read(
        nameAt,
        tailEnd,
        [{ name: 'deviceName', label: 'Device Name', offset: 0, size: 'rest', kind: 'cstring' }] as const,
        name,
      );
      const padAt = nameAt + dn.deviceName.length + 1;
      if (padAt < tailEnd)
        t.read(
          padAt,
          tailEnd,
          [{ name: 'padding', label: 'Padding', offset: 0, size: 'rest', kind: 'bytes' }] as const,
          name,
        );
      return { ...base, ...(body as Body<1>), kind: 'named-component', deviceName: dn.deviceName };
    }
    case ACPI_IORT_NODE_PCI_ROOT_COMPLEX: {
      const b = body as Body<2>;
      return {
        ...base,
        ...b,
        kind: 'root-complex',
        pasidCapabilities: h.revision >= 4 ? b.tail & 0xffff : null,
      };
    }
    case ACPI_IORT_NODE_SMMU: {
      const b = body as Body<3>;
      const gsi = readArray(
        t,
        offset,
        end,
        b.globalInterruptOffset,
        1,
        SMMU_GSI_LAYOUT,
        16,
        `${name} global interrupts`,
        'Global Interrupt Offset',
      )[0];
      const ctx = readArray(
        t,
        offset,
        end,
        b.contextInterruptOffset,
        b.contextInterruptCount,
        SMMU_IRQ_LAYOUT('Context'),
        8,
        `${name} context interrupt`,
        'Context Interrupt Offset',
      );
      const pmu = readArray(
        t,
        offset,
        end,
        b.pmuInterruptOffset,
        b.pmuInterruptCount,
        SMMU_IRQ_LAYOUT('PMU'),
        8,
        `${name} PMU interrupt`,
        'PMU Interrupt Offset',
      );
      return {
        ...base,
        ...b,
        kind: 'smmu',
        globalInterrupts: gsi,
        contextInterrupts: ctx.map((c) => c.gsiv),
        pmuInterrupts: pmu.map((c) => c.gsiv),
      };
    }
    case ACPI_IORT_NODE_SMMU_V3:
      return { ...base, ...(body as Body<4>), kind: 'smmu-v3' };
    case ACPI_IORT_NODE_PMCG:
      return { ...base, ...(body as Body<5>), kind: 'pmcg' };
    case ACPI_IORT_NODE_RMR: {
      const b = body as Body<6>;
      const descriptors = readArray(
        t,
        offset,
        end,
        b.rmrOffset,
        b.rmrCount,
        RMR_DESC_LAYOUT,
        20,
        `${name} descriptor`,
        'RMR Descriptor Offset',
      );
      return { ...base, ...b, kind: 'rmr', descriptors };
    }
    default:
      notes.push(
        `offset ${hex(offset)}: ${name} is not one the kernel knows; iort.c never matches it, kept raw`,
      );
      return { ...base, kind: 'unknown', raw: t.slice(offset + IORT_NODE_HEADER_SIZE, end) };
  }
}

/** Parses an IORT table. Throws InputError for a table that cannot be parsed; never anything else. */
export function parseIort(bytes: Uint8Array, file: string, opts: IortParseOptions = {}): ParsedIort {
  const { header, t, trailing } = readAcpiTable(bytes, file, {
    signature: 'IORT',
    fixedSize: IORT_HEADER_SIZE,
    verifyChecksum: opts.verifyChecksum,
    trace: opts.trace,
  });
  const notes: string[] = [];
  if (trailing) notes.push(trailingNote(header.length, trailing));
  const { nodeCount, nodeOffset } = t.read(0, header.length, IORT_HEADER_LAYOUT, 'IORT header');
  if (nodeOffset < IORT_HEADER_SIZE || nodeOffset > header.length)
    throw t.error(
      40,
      `Node Offset ${hex(nodeOffset)} is outside the table's nodes area [${hex(IORT_HEADER_SIZE)}, ${hex(header.length)}]`,
    );
  if (nodeOffset > IORT_HEADER_SIZE)
    t.read(
      IORT_HEADER_SIZE,
      nodeOffset,
      [{ name: 'padding', label: 'Optional Padding', offset: 0, size: 'rest', kind: 'bytes' }] as const,
      'IORT header',
    );

  const records = walkRecords(t, nodeOffset, header.length, NODE_FORMAT, 'IORT table');
  if (records.length !== nodeCount)
    throw t.error(
      36,
      `Node Count ${nodeCount} does not match the ${records.length} node${records.length === 1 ? '' : 's'} between Node Offset ${hex(nodeOffset)} and the table's end ${hex(header.length)}: ${
        records.length < nodeCount
          ? 'iort_scan_node() would read past the table ("IORT node pointer overflows, bad table")'
          : `the kernel never looks at the last ${records.length - nodeCount}`
      }`,
    );
  const nodes = records.map((r) => readNode(t, r.offset, r.type, r.length, notes));

  // iort_node_map_id(): references are table offsets of nodes, taken as they are.
  const byOffset = new Map(nodes.map((n) => [n.offset, n]));
  for (const n of nodes)
    for (const m of n.mappings) {
      if (m.outputReference === 0)
        notes.push(
          `offset ${hex(m.offset + 12)}: ${iortNodeName(n.type)} ID mapping has a NULL Output Reference: the kernel ignores it ("ID map has NULL parent reference")`,
        );
      else if (!byOffset.has(m.outputReference))
        throw t.error(
          m.offset + 12,
          `${iortNodeName(n.type)} ID mapping Output Reference ${hex(m.outputReference)} is not the offset of any node (nodes start at ${nodes.map((x) => hex(x.offset)).join(', ')})`,
        );
    }
  return { file, header, nodeCount, nodeOffset, nodes, byOffset, notes };
}
