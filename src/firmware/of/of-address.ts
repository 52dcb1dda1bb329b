// SPDX-License-Identifier: GPL-2.0-only
/**
 * Device-tree addresses and the device names made from them (Linux 6.12):
 * of_n_addr_cells()/of_n_size_cells() (drivers/of/base.c), the translation of
 * a node's first `reg` address up through each parent bus's `ranges`
 * (drivers/of/address.c __of_translate_address() with the default bus), and
 * of_device_make_bus_id() (drivers/of/device.c), which names a platform
 * device "<translated address>.<node name>" or joins node names with ':'.
 *
 * Two node representations read these: the unflattened blob (FdtNode), when
 * a DTB becomes the platform's device list, and the OF Fwnodes of a booted
 * model, when a driver populates its children at run time. Each gives an
 * OfNodeReader; the logic is written once against it.
 *
 * Not modelled: the PCI and ISA bus translators (of_match_bus() picks them
 * for device_type "pci" or an "isa" node; the default bus serves every node
 * the populate code names), and OF_CHECK_COUNTS() refusing a zero size-cell
 * count.
 */
import type { Fwnode } from '../../base/fwnode.js';
import { of_read_number } from './of-base.js';

/** What address translation reads of a node, whichever representation holds it. */
export interface OfNodeReader<N> {
  parent(np: N): N | null;
  /** kbasename(full_name): the name with its unit address ("iommu@1000"). */
  fullName(np: N): string;
  /** The property's u32 cells ([] when empty); undefined when absent or not whole cells. */
  cells(np: N, name: string): readonly number[] | undefined;
}

/** include/linux/of.h: what the root implies when no ancestor says. */
const OF_ROOT_NODE_ADDR_CELLS_DEFAULT = 1;
const OF_ROOT_NODE_SIZE_CELLS_DEFAULT = 1;

/** of_bus_n_addr_cells()/of_bus_n_size_cells(): `name` of `from` or its nearest ancestor that has it. */
function busCells<N>(r: OfNodeReader<N>, from: N | null, name: string, dflt: number): number {
  for (let p = from; p; p = r.parent(p)) {
    const v = r.cells(p, name)?.[0];
    if (v !== undefined) return v;
  }
  return dflt;
}

/** of_n_addr_cells(): #address-cells of the node's parent, else inherited. */
export function ofNAddrCells<N>(r: OfNodeReader<N>, np: N): number {
  return busCells(r, r.parent(np) ?? np, '#address-cells', OF_ROOT_NODE_ADDR_CELLS_DEFAULT);
}

/** of_n_size_cells(): #size-cells of the node's parent, else inherited. */
export function ofNSizeCells<N>(r: OfNodeReader<N>, np: N): number {
  return busCells(r, r.parent(np) ?? np, '#size-cells', OF_ROOT_NODE_SIZE_CELLS_DEFAULT);
}

/**
 * of_translate_address() of the node's first `reg` address: up through each
 * parent bus's `ranges` (empty: 1:1; absent below the root: untranslatable),
 * each range's child address sized by the bus's own cell count (inherited
 * when the bus has none, as of_bus_default_count_cells() reads it). null is
 * OF_BAD_ADDR.
 */
export function ofTranslateReg<N>(r: OfNodeReader<N>, np: N): bigint | null {
  const reg = r.cells(np, 'reg');
  if (!reg || !r.parent(np)) return null;
  const na = ofNAddrCells(r, np);
  if (na === 0 || reg.length < na) return null;
  let addr = of_read_number(reg, 0, na);
  for (let bus = r.parent(np); bus && r.parent(bus); bus = r.parent(bus)) {
    const ranges = r.cells(bus, 'ranges');
    if (ranges === undefined) return null;
    if (ranges.length === 0) continue;
    const cna = busCells(r, bus, '#address-cells', OF_ROOT_NODE_ADDR_CELLS_DEFAULT);
    const cns = busCells(r, bus, '#size-cells', OF_ROOT_NODE_SIZE_CELLS_DEFAULT);
    const pna = ofNAddrCells(r, bus);
    const step = cna + pna + cns;
    let mapped: bigint | null = null;
    for (let i = 0; i + step <= ranges.length; i += step) {
      const child = of_read_number(ranges, i, cna);
      const par = of_read_number(ranges, i + cna, pna);
      const size = of_read_number(ranges, i + cna + pna, cns);
      if (addr >= child && addr < child + size) {
        mapped = par + (addr - child);
        break;
      }
    }
    if (mapped === null) return null;
    addr = mapped;
  }
  return addr;
}

/** %pOFn: the node name without its unit address. */
function nodeName<N>(r: OfNodeReader<N>, np: N): string {
  const full = r.fullName(np);
  const at = full.indexOf('@');
  return at < 0 ? full : full.slice(0, at);
}

/**
 * of_device_make_bus_id(): "<addr>.<name>" ("<addr>.<ffs(mask) - 1>.<name>"
 * with a `mask`) from the first node up the tree whose `reg` translates,
 * after the full names of the nodes below it joined by ':'; only the names
 * when none does.
 */
export function ofMakeBusId<N>(r: OfNodeReader<N>, np: N): string {
  let name = '';
  for (let node: N | null = np; node && r.parent(node); node = r.parent(node)) {
    const addr = ofTranslateReg(r, node);
    if (addr !== null) {
      const mask = r.cells(node, 'mask')?.[0];
      // ffs(mask) - 1, printed with %x (0xffffffff for a zero mask).
      const bit = mask !== undefined ? ((31 - Math.clz32(mask & -mask)) >>> 0).toString(16) : null;
      const head = `${addr.toString(16)}${bit !== null ? `.${bit}` : ''}.${nodeName(r, node)}`;
      return name ? `${head}:${name}` : head;
    }
    const base = r.fullName(node);
    name = name ? `${base}:${name}` : base;
  }
  return name;
}

/** of_node_full_name(): the node's name with its unit address ("iommu-ctx@3000"), the path's last part. */
export function of_node_full_name(np: Fwnode): string {
  return np.name.slice(np.name.lastIndexOf('/') + 1);
}

/** The OF fwnodes of a booted model. */
export const fwnodeReader: OfNodeReader<Fwnode> = {
  parent: (np) => np.parent,
  fullName: of_node_full_name,
  cells(np, name) {
    const v = np.properties.get(name);
    return v === true ? [] : Array.isArray(v) ? v : undefined;
  },
};

/** of_n_addr_cells() */
export function of_n_addr_cells(np: Fwnode): number {
  return ofNAddrCells(fwnodeReader, np);
}

/** of_n_size_cells() */
export function of_n_size_cells(np: Fwnode): number {
  return ofNSizeCells(fwnodeReader, np);
}

/** of_translate_address() of the node's first `reg` entry; null is OF_BAD_ADDR. */
export function of_translate_reg(np: Fwnode): bigint | null {
  return ofTranslateReg(fwnodeReader, np);
}

/** of_device_make_bus_id() for a node of the booted model. */
export function of_device_make_bus_id(np: Fwnode): string {
  return ofMakeBusId(fwnodeReader, np);
}
