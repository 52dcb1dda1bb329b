// SPDX-License-Identifier: GPL-2.0-only
/**
 * The binary ACPI VIOT table (Virtual I/O Translation Table: virtio-iommu
 * topology), as laid out in include/acpi/actbl3.h (struct acpi_table_viot,
 * acpi_viot_header, acpi_viot_pci_range, acpi_viot_mmio,
 * acpi_viot_virtio_iommu_pci, acpi_viot_virtio_iommu_mmio) and read by
 * drivers/acpi/viot.c (acpi_viot_init(), viot_parse_node(),
 * viot_check_bounds(), viot_get_iommu()).
 *
 * The header's node count and node offset; the nodes, each a "type, length"
 * record: PCI range (1), MMIO endpoint (2), virtio-pci IOMMU (3) and
 * virtio-mmio IOMMU (4). Other types are kept raw with a note, as
 * viot_parse_node() skips them ("Unsupported node"). An endpoint's output
 * node is a byte offset from the start of the table.
 *
 * The kernel is lenient about several of the malformations below: it drops
 * an endpoint whose output node is not an IOMMU node ("No IOMMU node
 * found"), ignores bytes after the node_count-th node, and stops the walk at
 * the first node that fails viot_check_bounds() keeping the endpoints found
 * so far. This parser rejects all of them: every table it returns is one the
 * kernel uses in full, and every problem is an InputError naming the file,
 * the byte offset and the field, with what the kernel would do.
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

/** struct acpi_table_viot beyond the ACPI header. */
export const VIOT_HEADER_LAYOUT = [
  { name: 'nodeCount', label: 'Node Count', offset: 36, size: 2, kind: 'u16' },
  { name: 'nodeOffset', label: 'Node Offset', offset: 38, size: 2, kind: 'u16' },
  { name: 'reserved', label: 'Reserved', offset: 40, size: 8, kind: 'bytes' },
] as const satisfies Layout;

/** sizeof(struct acpi_table_viot): viot_check_bounds() never lets a node start before it. */
export const VIOT_HEADER_SIZE = 48;

/** struct acpi_viot_header */
export const VIOT_NODE_HEADER_LAYOUT = [
  { name: 'type', label: 'Type', offset: 0, size: 1, kind: 'u8' },
  { name: 'reserved', label: 'Reserved', offset: 1, size: 1, kind: 'u8' },
  { name: 'length', label: 'Length', offset: 2, size: 2, kind: 'u16' },
] as const satisfies Layout;

export const VIOT_NODE_HEADER_SIZE = 4;

/** enum acpi_viot_node_type */
export const ACPI_VIOT_NODE_PCI_RANGE = 0x01;
export const ACPI_VIOT_NODE_MMIO = 0x02;
export const ACPI_VIOT_NODE_VIRTIO_IOMMU_PCI = 0x03;
export const ACPI_VIOT_NODE_VIRTIO_IOMMU_MMIO = 0x04;

/** The node types' layouts after the 4-byte node header, and their sizes (the kernel's sizeof checks). */
export const VIOT_NODES = {
  [ACPI_VIOT_NODE_PCI_RANGE]: {
    name: 'PCI range',
    size: 24,
    layout: [
      { name: 'endpointStart', label: 'Endpoint Start', offset: 4, size: 4, kind: 'u32' },
      { name: 'segmentStart', label: 'PCI Segment Start', offset: 8, size: 2, kind: 'u16' },
      { name: 'segmentEnd', label: 'PCI Segment End', offset: 10, size: 2, kind: 'u16' },
      { name: 'bdfStart', label: 'PCI BDF Start', offset: 12, size: 2, kind: 'u16' },
      { name: 'bdfEnd', label: 'PCI BDF End', offset: 14, size: 2, kind: 'u16' },
      { name: 'outputNode', label: 'Output Node', offset: 16, size: 2, kind: 'u16' },
      { name: 'reserved', label: 'Reserved', offset: 18, size: 6, kind: 'bytes' },
    ],
  },
  [ACPI_VIOT_NODE_MMIO]: {
    name: 'MMIO endpoint',
    size: 24,
    layout: [
      { name: 'endpoint', label: 'Endpoint ID', offset: 4, size: 4, kind: 'u32' },
      { name: 'baseAddress', label: 'Base Address', offset: 8, size: 8, kind: 'u64' },
      { name: 'outputNode', label: 'Output Node', offset: 16, size: 2, kind: 'u16' },
      { name: 'reserved', label: 'Reserved', offset: 18, size: 6, kind: 'bytes' },
    ],
  },
  [ACPI_VIOT_NODE_VIRTIO_IOMMU_PCI]: {
    name: 'virtio-pci IOMMU',
    size: 16,
    layout: [
      { name: 'segment', label: 'PCI Segment', offset: 4, size: 2, kind: 'u16' },
      { name: 'bdf', label: 'PCI BDF Number', offset: 6, size: 2, kind: 'u16' },
      { name: 'reserved', label: 'Reserved', offset: 8, size: 8, kind: 'bytes' },
    ],
  },
  [ACPI_VIOT_NODE_VIRTIO_IOMMU_MMIO]: {
    name: 'virtio-mmio IOMMU',
    size: 16,
    layout: [
      { name: 'reserved', label: 'Reserved', offset: 4, size: 4, kind: 'bytes' },
      { name: 'baseAddress', label: 'Base Address', offset: 8, size: 8, kind: 'u64' },
    ],
  },
} as const satisfies Record<number, { name: string; size: number; layout: Layout }>;

interface ViotNodeBase {
  /** Offset of the node from the start of the table (what output nodes name). */
  readonly offset: number;
  readonly type: number;
  readonly length: number;
}

/** Type 1: PCI functions [BDF start, BDF end] of segments [start, end], translated by `outputNode`. */
export interface ViotPciRangeNode extends ViotNodeBase {
  readonly kind: 'pci-range';
  /** The endpoint ID of (segment start, BDF start). */
  readonly endpointStart: number;
  readonly segmentStart: number;
  readonly segmentEnd: number;
  readonly bdfStart: number;
  readonly bdfEnd: number;
  /** Offset of the IOMMU node in the table. */
  readonly outputNode: number;
}

/** Type 2: one platform device, matched by the base of its first MMIO resource. */
export interface ViotMmioNode extends ViotNodeBase {
  readonly kind: 'mmio';
  readonly endpointId: number;
  readonly baseAddress: bigint;
  readonly outputNode: number;
}

/** Type 3: the virtio-iommu is the PCI function (segment, BDF). */
export interface ViotVirtioIommuPciNode extends ViotNodeBase {
  readonly kind: 'virtio-iommu-pci';
  readonly segment: number;
  /** bus << 8 | devfn */
  readonly bdf: number;
}

/** Type 4: the virtio-iommu is the virtio-mmio device at this base address. */
export interface ViotVirtioIommuMmioNode extends ViotNodeBase {
  readonly kind: 'virtio-iommu-mmio';
  readonly baseAddress: bigint;
}

export interface ViotUnknownNode extends ViotNodeBase {
  readonly kind: 'unknown';
  /** The node's bytes after its 4-byte header. */
  readonly raw: readonly number[];
}

export type ViotIommuNode = ViotVirtioIommuPciNode | ViotVirtioIommuMmioNode;
export type ViotEndpointNode = ViotPciRangeNode | ViotMmioNode;
export type ViotNode = ViotEndpointNode | ViotIommuNode | ViotUnknownNode;

export interface ParsedViot extends ParsedTableBase {
  readonly nodeCount: number;
  /** Offset of the first node from the start of the table (48 in QEMU's tables). */
  readonly nodeOffset: number;
  /** In table order. */
  readonly nodes: readonly ViotNode[];
}

export type ViotParseOptions = TableParseOptions;

/** A node type's name for messages. */
export function viotNodeName(type: number): string {
  return type in VIOT_NODES
    ? VIOT_NODES[type as keyof typeof VIOT_NODES].name
    : `VIOT node type ${hex(type)}`;
}

const NODE_FORMAT: RecordFormat = {
  what: 'VIOT node',
  headerSize: VIOT_NODE_HEADER_SIZE,
  header: (t, o) => ({ type: t.u8(o), length: t.u16(o + 2) }),
  // viot_parse_node() refuses a short PCI range or MMIO node ("Invalid ... node size"), and
  // viot_get_iommu() a short IOMMU node; viot_check_bounds() any node shorter than its header.
  minLength: (type) =>
    type in VIOT_NODES ? VIOT_NODES[type as keyof typeof VIOT_NODES].size : VIOT_NODE_HEADER_SIZE,
  name: viotNodeName,
  zeroLength: () =>
    'an empty node (viot_check_bounds(): "Empty node"; the kernel stops parsing the VIOT here)',
};

/** Reads one node, already bounds-checked by walkRecords(). */
function readNode(t: TableBytes, offset: number, type: number, length: number, notes: string[]): ViotNode {
  const end = offset + length;
  const name = viotNodeName(type);
  const base = { offset, type, length };
  t.read(offset, end, VIOT_NODE_HEADER_LAYOUT, name);
  const spec = type in VIOT_NODES ? VIOT_NODES[type as keyof typeof VIOT_NODES] : null;
  if (spec && length > spec.size)
    notes.push(
      `offset ${hex(offset)}: ${name} length ${hex(length)} is more than its ${spec.size} bytes; the kernel ignores the rest`,
    );
  switch (type) {
    case ACPI_VIOT_NODE_PCI_RANGE: {
      const v = t.read(offset, end, VIOT_NODES[ACPI_VIOT_NODE_PCI_RANGE].layout, name);
      if (v.segmentStart > v.segmentEnd || v.bdfStart > v.bdfEnd)
        notes.push(
          `offset ${hex(offset)}: PCI range segments [${hex(v.segmentStart)}-${hex(v.segmentEnd)}] BDFs [${hex(v.bdfStart)}-${hex(v.bdfEnd)}] is empty: it matches no device`,
        );
      return {
        ...base,
        kind: 'pci-range',
        endpointStart: v.endpointStart,
        segmentStart: v.segmentStart,
        segmentEnd: v.segmentEnd,
        bdfStart: v.bdfStart,
        bdfEnd: v.bdfEnd,
        outputNode: v.outputNode,
      };
    }
    case ACPI_VIOT_NODE_MMIO: {
      const v = t.read(offset, end, VIOT_NODES[ACPI_VIOT_NODE_MMIO].layout, name);
      return {
        ...base,
        kind: 'mmio',
        endpointId: v.endpoint,
        baseAddress: v.baseAddress,
        outputNode: v.outputNode,
      };
    }
    case ACPI_VIOT_NODE_VIRTIO_IOMMU_PCI: {
      const v = t.read(offset, end, VIOT_NODES[ACPI_VIOT_NODE_VIRTIO_IOMMU_PCI].layout, name);
      return { ...base, kind: 'virtio-iommu-pci', segment: v.segment, bdf: v.bdf };
    }
    case ACPI_VIOT_NODE_VIRTIO_IOMMU_MMIO: {
      const v = t.read(offset, end, VIOT_NODES[ACPI_VIOT_NODE_VIRTIO_IOMMU_MMIO].layout, name);
      return { ...base, kind: 'virtio-iommu-mmio', baseAddress: v.baseAddress };
    }
    default:
      notes.push(
        `offset ${hex(offset)}: ${name} is not one the kernel knows; viot_parse_node() skips it ("Unsupported node ${type.toString(16)}"), kept raw`,
      );
      return { ...base, kind: 'unknown', raw: t.slice(offset + VIOT_NODE_HEADER_SIZE, end) };
  }
}

/**
 * Parses a VIOT table. `file` names it in errors. Throws InputError for a
 * table that cannot be parsed or that the kernel would use only in part;
 * never anything else.
 */
export function parseViot(bytes: Uint8Array, file: string, opts: ViotParseOptions = {}): ParsedViot {
  const { header, t, trailing } = readAcpiTable(bytes, file, {
    signature: 'VIOT',
    fixedSize: VIOT_HEADER_SIZE,
    verifyChecksum: opts.verifyChecksum,
    trace: opts.trace,
  });
  const notes: string[] = [];
  if (trailing) notes.push(trailingNote(header.length, trailing));
  const h = t.read(0, header.length, VIOT_HEADER_LAYOUT, 'VIOT header');
  const { nodeCount, nodeOffset } = h;

  // viot_check_bounds(): a node before the end of struct acpi_table_viot, or past the table's end,
  // "overflows" and ends the parse with -EINVAL.
  if (nodeOffset < VIOT_HEADER_SIZE)
    throw t.error(
      38,
      `Node Offset ${hex(nodeOffset)} points inside the ${VIOT_HEADER_SIZE}-byte VIOT header (viot_check_bounds(): "Node pointer overflows"; the kernel uses no node)`,
    );
  if (nodeOffset > header.length)
    throw t.error(
      38,
      `Node Offset ${hex(nodeOffset)} points past the table's end at ${hex(header.length)} (viot_check_bounds(): "Node pointer overflows")`,
    );
  if (nodeOffset > VIOT_HEADER_SIZE)
    notes.push(
      `offset ${hex(VIOT_HEADER_SIZE)}: ${nodeOffset - VIOT_HEADER_SIZE} byte${nodeOffset - VIOT_HEADER_SIZE === 1 ? '' : 's'} between the header and Node Offset ${hex(nodeOffset)} ignored`,
    );

  const records = walkRecords(t, nodeOffset, header.length, NODE_FORMAT, 'VIOT table');
  if (records.length !== nodeCount) {
    // acpi_viot_init() reads exactly node_count nodes from node_offset.
    const kernel =
      records.length < nodeCount
        ? `the kernel reads node ${records.length} past the table's end ("Node pointer overflows") and stops there`
        : `the kernel ignores the last ${records.length - nodeCount}`;
    throw t.error(
      36,
      `Node Count ${nodeCount} does not match the ${records.length} node${records.length === 1 ? '' : 's'} between Node Offset ${hex(nodeOffset)} and the table's end ${hex(header.length)}: ${kernel}`,
    );
  }
  const nodes = records.map((r) => readNode(t, r.offset, r.type, r.length, notes));

  // viot_get_iommu(): an endpoint's output node must be a virtio-iommu node, or the kernel
  // warns "No IOMMU node found" and drops the endpoint.
  const byOffset = new Map(nodes.map((n) => [n.offset, n]));
  for (const n of nodes) {
    if (n.kind !== 'pci-range' && n.kind !== 'mmio') continue;
    const target = byOffset.get(n.outputNode);
    if (target?.kind === 'virtio-iommu-pci' || target?.kind === 'virtio-iommu-mmio') continue;
    const what = target
      ? `the ${viotNodeName(target.type)} node at ${hex(target.offset)}, not a virtio-iommu node`
      : `not the offset of any node (nodes start at ${nodes.map((m) => hex(m.offset)).join(', ')})`;
    throw t.error(
      n.offset + 16,
      `${viotNodeName(n.type)} Output Node ${hex(n.outputNode)} is ${what}: viot_get_iommu() finds no IOMMU and the kernel drops this endpoint ("No IOMMU node found")`,
    );
  }

  return { file, header, nodeCount, nodeOffset, nodes, notes };
}

/** The IOMMU node an endpoint node points at (parseViot() guarantees there is one). */
export function viotOutputNode(parsed: ParsedViot, endpoint: ViotEndpointNode): ViotIommuNode {
  const n = parsed.nodes.find((m) => m.offset === endpoint.outputNode);
  if (n?.kind !== 'virtio-iommu-pci' && n?.kind !== 'virtio-iommu-mmio')
    throw new RangeError(
      `${parsed.file}: node ${hex(endpoint.offset)} has no IOMMU node at ${hex(endpoint.outputNode)}`,
    );
  return n;
}
