// SPDX-License-Identifier: GPL-2.0-only
/**
 * The firmware lookups the MediaTek M4U and SMI drivers make while probing
 * that no other driver shares, reduced to what decides their result
 * (drivers/of/base.c, drivers/mfd/syscon.c, lib/vsprintf.c):
 *  - of_parse_phandle() and of_count_phandle_with_args() without a cells
 *    name (every cell is one phandle);
 *  - the %pR form of a memory resource;
 *  - syscon_regmap_lookup_by_compatible() and _by_phandle(): the node must
 *    exist, be compatible with "syscon" and have a `reg`.
 * The platform-device lookups (of_find_device_by_node(), platform_get_irq(),
 * devm_ioremap_resource(), clk_get()) are the shared ones in src/base and
 * src/firmware/of.
 */
import type { Fwnode } from '../../base/fwnode.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { MemResource } from '../../base/platform.js';
import { EINVAL, ENODEV, ENOENT, ENOMEM } from '../../kernel/errno.js';
import { of_device_is_compatible, of_find_node_by_phandle } from '../../firmware/of/of-base.js';

/** of_parse_phandle(np, name, index) (no argument cells): the node, or null. */
export function of_parse_phandle(k: Kernel, np: Fwnode | null, name: string, index: number): Fwnode | null {
  const v = np?.properties.get(name);
  if (!Array.isArray(v) || index < 0 || index >= v.length) return null;
  const phandle = v[index];
  return phandle ? of_find_node_by_phandle(k, phandle) : null;
}

/**
 * of_count_phandle_with_args(np, name, NULL): with no cells name each 32-bit
 * word is one phandle, so the count is the property's length / 4; -ENOENT
 * when the property is missing.
 */
export function of_count_phandles(np: Fwnode | null, name: string): number {
  const v = np?.properties.get(name);
  if (v === undefined) return -ENOENT;
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'string') return Math.floor((v.length + 1) / 4); // the blob's length, NUL included
  return 0; // an empty property
}

/** %pR of a memory resource: "[mem 0x14018000-0x14018fff]". */
export function formatMemResource(res: MemResource): string {
  const hex = (v: bigint) => '0x' + v.toString(16).padStart(8, '0');
  return `[mem ${hex(res.start)}-${hex(res.end)}]`;
}

/** Every OF node below (and including) `root`, in the tree's order (of_find_compatible_node()'s walk). */
function* allNodes(root: Fwnode): Generator<Fwnode> {
  yield root;
  for (const c of root.children) yield* allNodes(c);
}

function ofRoot(np: Fwnode): Fwnode {
  let n = np;
  while (n.parent) n = n.parent;
  return n;
}

/** syscon_node_to_regmap(): "syscon" compatible and a `reg` (of_syscon_register()'s first check). */
function syscon_node_to_regmap(np: Fwnode): number {
  if (!of_device_is_compatible(np, 'syscon')) return -EINVAL;
  if (!Array.isArray(np.properties.get('reg'))) return -ENOMEM; // of_address_to_resource() failed
  return 0;
}

/** syscon_regmap_lookup_by_compatible(s), searching the tree `from` belongs to. */
export function syscon_regmap_lookup_by_compatible(from: Fwnode | null, s: string | null): number {
  if (!from || !s) return -ENODEV;
  for (const np of allNodes(ofRoot(from)))
    if (of_device_is_compatible(np, s)) return syscon_node_to_regmap(np);
  return -ENODEV;
}

/** syscon_regmap_lookup_by_phandle(np, property) */
export function syscon_regmap_lookup_by_phandle(k: Kernel, np: Fwnode | null, property: string): number {
  const syscon = of_parse_phandle(k, np, property, 0);
  if (!syscon) return -ENODEV;
  return syscon_node_to_regmap(syscon);
}
