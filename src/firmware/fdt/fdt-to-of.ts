// SPDX-License-Identifier: GPL-2.0-only
/**
 * A parsed blob as the OF core holds it after unflatten_device_tree():
 * every node an 'of' Fwnode named by its full path, linked to its parent
 * and children, and every phandle registered for of_find_node_by_phandle().
 *
 * A blob carries no types; the kernel's readers give them
 * (of_property_read_string(), of_property_read_u32_array(), …). The model's
 * Fwnode keeps typed values, so each property is decoded here as its readers
 * will read it: an empty property is a boolean; `compatible`, `status`,
 * `device_type`, `model`, `label` and every `*-names` property are string
 * lists (NUL-separated, as the platform JSON's `of` nodes store them);
 * anything else whose length is a multiple of 4 is big-endian cells; what
 * is left is kept as text (no IOMMU binding reads it).
 */
import type { Kernel } from '../../kernel/kernel.js';
import { type Fdt, type FdtNode, type FdtProperty, beCells } from './fdt.js';
import { Fwnode } from '../../base/fwnode.js';

const STRING_PROPERTIES = new Set(['compatible', 'status', 'device_type', 'model', 'label', 'name']);

function isStringProperty(name: string): boolean {
  return STRING_PROPERTIES.has(name) || name.endsWith('-names');
}

/** One property's value as the Fwnode model stores it. */
export function decodeProperty(p: FdtProperty): readonly number[] | string | boolean {
  const v = p.value;
  if (v.length === 0) return true;
  if (isStringProperty(p.name) || v.length % 4 !== 0) {
    const end = v[v.length - 1] === 0 ? v.length - 1 : v.length;
    return new TextDecoder('latin1').decode(v.subarray(0, end));
  }
  return beCells(v);
}

/** unflatten_device_tree() into the model: path -> node, phandles registered on `k`. */
export function fdtToOfNodes(k: Kernel, fdt: Fdt): Map<string, Fwnode> {
  const byPath = new Map<string, Fwnode>();
  const build = (n: FdtNode, parent: Fwnode | null): Fwnode => {
    const f = new Fwnode('of', n.path);
    f.parent = parent;
    for (const p of n.properties) f.properties.set(p.name, decodeProperty(p));
    byPath.set(n.path, f);
    for (const c of n.children) f.children.push(build(c, f));
    return f;
  };
  build(fdt.root, null);
  // The blob's phandle index already keeps the first node claiming each value.
  for (const [ph, node] of fdt.phandles) k.base.ofPhandles.set(ph, byPath.get(node.path)!);
  return byPath;
}
