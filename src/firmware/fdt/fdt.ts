// SPDX-License-Identifier: GPL-2.0-only
/**
 * An unflattened device tree: what drivers/of/fdt.c unflatten_device_tree()
 * builds from a blob, before the OF core turns nodes into devices. Nodes
 * keep their properties as raw big-endian bytes in blob order; the readers
 * below interpret them the way drivers/of/base.c and property.c do.
 */
import { type OfNodeReader, ofNAddrCells, ofNSizeCells } from '../of/of-address.js';

export interface FdtProperty {
  readonly name: string;
  readonly value: Uint8Array;
  /** Byte offset of the FDT_PROP token in the blob (for error messages). */
  readonly offset: number;
}

export interface FdtNode {
  /** The full name, unit address included ("pcie@40000000"); "" for the root. */
  readonly name: string;
  /** "/soc/pcie@40000000"; "/" for the root. */
  readonly path: string;
  readonly parent: FdtNode | null;
  /** Properties in blob order. */
  readonly properties: FdtProperty[];
  readonly children: FdtNode[];
  /** Byte offset of the FDT_BEGIN_NODE token in the blob. */
  readonly offset: number;
}

export interface MemReserve {
  readonly address: bigint;
  readonly size: bigint;
}

export interface Fdt {
  /** The file the blob came from, for error messages. */
  readonly file: string;
  readonly version: number;
  readonly lastCompVersion: number;
  readonly bootCpuidPhys: number;
  readonly memReserve: readonly MemReserve[];
  readonly root: FdtNode;
  /** phandle → node, the first node in tree order claiming it (of_find_node_by_phandle()). */
  readonly phandles: ReadonlyMap<number, FdtNode>;
}

export function getProperty(np: FdtNode, name: string): FdtProperty | undefined {
  return np.properties.find((p) => p.name === name);
}

/** of_property_read_u32_array() over the whole property; undefined when absent or not a multiple of 4 bytes. */
export function propU32s(np: FdtNode, name: string): number[] | undefined {
  const p = getProperty(np, name);
  return p && p.value.length % 4 === 0 ? beCells(p.value) : undefined;
}

/** A value's big-endian 32-bit cells (its length a multiple of 4). */
export function beCells(v: Uint8Array): number[] {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= v.length; i += 4) out.push(dv.getUint32(i));
  return out;
}

export function propU32(np: FdtNode, name: string): number | undefined {
  const v = propU32s(np, name);
  return v && v.length >= 1 ? v[0] : undefined;
}

/** of_property_read_string_array(): the NUL-separated strings; undefined when absent or not NUL-terminated. */
export function propStrings(np: FdtNode, name: string): string[] | undefined {
  const p = getProperty(np, name);
  if (!p || p.value.length === 0 || p.value[p.value.length - 1] !== 0) return undefined;
  return new TextDecoder('latin1').decode(p.value.subarray(0, p.value.length - 1)).split('\0');
}

export function propString(np: FdtNode, name: string): string | undefined {
  return propStrings(np, name)?.[0];
}

/** of_device_is_available(): no status, or "okay"/"ok". */
export function fdtNodeAvailable(np: FdtNode): boolean {
  const s = propString(np, 'status');
  return s === undefined || s === 'okay' || s === 'ok';
}

/** of_device_is_compatible() reduced to a yes/no: does any compatible string equal one of these? */
export function fdtCompatible(np: FdtNode, ...compat: string[]): boolean {
  const c = propStrings(np, 'compatible');
  return !!c && c.some((s) => compat.includes(s));
}

/** The node's own phandle ("phandle", or the older "linux,phandle"), 0 when none. */
export function nodePhandle(np: FdtNode): number {
  const v = propU32s(np, 'phandle') ?? propU32s(np, 'linux,phandle');
  return v && v.length === 1 ? v[0] : 0;
}

/** The name without the unit address (of_node_name_eq() compares this part). */
export function nodeBaseName(np: FdtNode): string {
  const at = np.name.indexOf('@');
  return at < 0 ? np.name : np.name.slice(0, at);
}

/** The blob's nodes as address translation reads them (of-address.ts). */
export const fdtNodeReader: OfNodeReader<FdtNode> = {
  parent: (np) => np.parent,
  fullName: (np) => np.name,
  cells: propU32s,
};

/** of_n_addr_cells(): #address-cells of the nearest ancestor that has it. */
export function nAddrCells(np: FdtNode): number {
  return ofNAddrCells(fdtNodeReader, np);
}

/** of_n_size_cells(): #size-cells of the nearest ancestor that has it. */
export function nSizeCells(np: FdtNode): number {
  return ofNSizeCells(fdtNodeReader, np);
}

/**
 * of_find_node_by_path(): an absolute path matched component by component
 * on full names (a component without a unit address matches only a node
 * without one, as __of_find_node_by_path() compares the whole name), or a
 * path starting with an alias from /aliases.
 */
export function findNodeByPath(fdt: Fdt, path: string): FdtNode | null {
  let node: FdtNode | null = fdt.root;
  let rest = path;
  if (!path.startsWith('/')) {
    const slash = path.indexOf('/');
    const alias = slash < 0 ? path : path.slice(0, slash);
    const aliases = fdt.root.children.find((c) => c.name === 'aliases');
    const target = aliases ? propString(aliases, alias) : undefined;
    if (target === undefined || !target.startsWith('/')) return null;
    node = findNodeByPath(fdt, target);
    rest = slash < 0 ? '' : path.slice(slash);
  }
  for (const part of rest.split('/')) {
    if (!part || !node) continue;
    node = node.children.find((c) => c.name === part) ?? null;
  }
  return node;
}

/** Every node in tree order (depth first, parents before children): the kernel's allnodes order. */
export function* allNodes(fdt: Fdt): Generator<FdtNode> {
  const stack: FdtNode[] = [fdt.root];
  while (stack.length) {
    const n = stack.pop()!;
    yield n;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
}
