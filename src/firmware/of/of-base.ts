// SPDX-License-Identifier: GPL-2.0-only
/**
 * The device-tree helpers the IOMMU code uses (drivers/of/base.c):
 * of_device_is_available(), of_parse_phandle_with_args(), of_map_id().
 * Nodes are Fwnodes of kind 'of'; cell properties are arrays of u32.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Fwnode } from '../../base/fwnode.js';
import { EFAULT, EINVAL, ENODEV, ENOENT } from '../../kernel/errno.js';

/** of_read_number(): n big-endian cells from `from` as one number (BigInt: addresses exceed 2^53). */
export function of_read_number(cells: readonly number[], from: number, n: number): bigint {
  let v = 0n;
  for (let i = 0; i < n; i++) v = (v << 32n) | BigInt((cells[from + i] ?? 0) >>> 0);
  return v;
}

function cells(np: Fwnode, name: string): readonly number[] | undefined {
  const v = np.properties.get(name);
  return Array.isArray(v) ? v : undefined;
}

/** of_device_is_available(): no status, "okay" or "ok". */
export function of_device_is_available(np: Fwnode | null): boolean {
  if (!np) return false;
  const status = np.properties.get('status');
  if (status === undefined) return true;
  return status === 'okay' || status === 'ok';
}

/** The node's `compatible` list, most specific first. */
export function of_compatible_list(np: Fwnode | null): string[] {
  const v = np?.properties.get('compatible');
  return typeof v === 'string' ? v.split('\0').filter(Boolean) : [];
}

/** of_device_is_compatible(): the node lists `compat`. */
export function of_device_is_compatible(np: Fwnode | null, compat: string): boolean {
  return of_compatible_list(np).includes(compat);
}

/**
 * of_match_node(): the first of the node's compatibles, in the node's order,
 * that the table lists (the kernel scores the node's entries, most specific
 * first), or null.
 */
export function of_match_node(table: readonly string[], np: Fwnode | null): string | null {
  return of_compatible_list(np).find((c) => table.includes(c)) ?? null;
}

/** of_find_node_by_phandle() */
export function of_find_node_by_phandle(k: Kernel, phandle: number): Fwnode | null {
  return k.base.ofPhandles.get(phandle) ?? null;
}

/** MAX_PHANDLE_ARGS: the cells struct of_phandle_args can hold. */
export const MAX_PHANDLE_ARGS = 16;

export interface PhandleArgs {
  readonly np: Fwnode;
  readonly args: readonly number[];
}

/**
 * of_parse_phandle_with_args(np, list, cells_name, index): the index-th
 * `<&node arg…>` entry, its argument count read from the target's cells_name.
 * Returns -ENOENT past the end, -EINVAL for a malformed list.
 */
export function of_parse_phandle_with_args(
  k: Kernel,
  np: Fwnode,
  list_name: string,
  cells_name: string,
  index: number,
): PhandleArgs | number {
  const list = cells(np, list_name);
  if (!list) return -ENOENT;
  let i = 0;
  let cur = 0;
  while (i < list.length) {
    const phandle = list[i++];
    if (phandle === 0) {
      // An empty entry (phandle 0) takes no arguments.
      if (cur++ === index) return -ENOENT;
      continue;
    }
    const target = of_find_node_by_phandle(k, phandle);
    if (!target) {
      k.printk.log('err', 'OF', `${np.name}: could not find phandle ${phandle}`);
      return -EINVAL;
    }
    const raw = cells(target, cells_name)?.[0];
    if (raw === undefined) {
      k.printk.log('err', 'OF', `${np.name}: could not get ${cells_name} for ${target.name}`);
      return -EINVAL;
    }
    const count = raw >>> 0;
    if (i + count > list.length) {
      k.printk.log('err', 'OF', `${np.name}: ${cells_name} = ${count | 0} found ${list.length - i}`);
      return -EINVAL;
    }
    if (cur++ === index) {
      // of_phandle_iterator_args(): at most MAX_PHANDLE_ARGS cells fit in of_phandle_args.
      if (
        k.printk.warn(
          count > MAX_PHANDLE_ARGS,
          'of_phandle_iterator_args',
          `WARN_ON(${MAX_PHANDLE_ARGS} < ${count})`,
        )
      )
        return { np: target, args: list.slice(i, i + MAX_PHANDLE_ARGS) };
      return { np: target, args: list.slice(i, i + count) };
    }
    i += count;
  }
  return -ENOENT;
}

export interface MapIdResult {
  /** The IOMMU node the id maps to, or null when no entry matched (pass-through). */
  readonly target: Fwnode | null;
  readonly id_out: number;
  /** Which entry matched, for "explain": -1 for none. */
  readonly entry: number;
}

/**
 * of_map_id(np, id, map_name, map_mask_name): translate a requester/stream id
 * through an `iommu-map`-style property of (id-base, phandle, out-base, length)
 * entries. No property: -ENODEV. A malformed map: -EINVAL. An id-base with
 * bits outside the mask: -EFAULT. No matching entry: the id passes through
 * with no target (the caller then finds no IOMMU).
 */
export function of_map_id(
  k: Kernel,
  np: Fwnode,
  id: number,
  map_name: string,
  map_mask_name: string,
): MapIdResult | number {
  const map = cells(np, map_name);
  if (!map) return -ENODEV;
  if (map.length === 0 || map.length % 4 !== 0) {
    k.printk.log('err', 'OF', `${np.name}: Error: Bad ${map_name} length: ${map.length * 4}`);
    return -EINVAL;
  }
  const mask = (cells(np, map_mask_name)?.[0] ?? 0xffffffff) >>> 0;
  const masked_id = (id & mask) >>> 0;
  for (let e = 0; e < map.length; e += 4) {
    const id_base = map[e] >>> 0;
    const phandle = map[e + 1];
    const out_base = map[e + 2] >>> 0;
    const id_len = map[e + 3] >>> 0;
    if (id_base & ~mask) {
      k.printk.log(
        'err',
        'OF',
        `${np.name}: Invalid ${map_name}, ${map_mask_name}: 0x${mask.toString(16)}, id-base: 0x${id_base.toString(16)}, length: 0x${id_len.toString(16)}`,
      );
      return -EFAULT;
    }
    if (masked_id < id_base || masked_id >= id_base + id_len) continue;
    const target = of_find_node_by_phandle(k, phandle);
    if (!target) return -ENODEV;
    return { target, id_out: (masked_id - id_base + out_base) >>> 0, entry: e / 4 };
  }
  k.printk.log(
    'info',
    'OF',
    `${np.name}: no ${map_name} translation for id 0x${id.toString(16)} on ${np.name}`,
  );
  return { target: null, id_out: id >>> 0, entry: -1 };
}

/**
 * of_pci_find_child_device(): the child of a PCI bus's node whose `reg`
 * phys.hi cell holds this devfn (bits 15:8), or null.
 */
export function of_pci_find_child_device(parent: Fwnode, devfn: number): Fwnode | null {
  for (const child of parent.children) {
    const reg = cells(child, 'reg');
    if (reg && reg.length >= 1 && ((reg[0] >>> 8) & 0xff) === devfn) return child;
  }
  return null;
}
