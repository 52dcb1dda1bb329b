// SPDX-License-Identifier: GPL-2.0-only
/**
 * Which devices a device tree makes at boot (drivers/of/platform.c
 * of_platform_default_populate() with of_platform_bus_create(), strict):
 * every available child of the root with a `compatible` becomes a platform
 * device (an `arm,primecell` an amba device), and the children of a bus
 * node (simple-bus, simple-mfd, isa, arm,amba-bus) are populated the same
 * way. Names follow of_device_make_bus_id(): the node's translated `reg`
 * address in hex and its name without unit address ("9050000.smmuv3"),
 * else node names joined with ':' up to the first ancestor that has one.
 *
 * The result is the platform description's `devices` list (each pointing at
 * its node by path) and the PCI host bridge node, whose bus the PCI
 * topology (from an lspci dump) hangs under.
 */
import type { Fdt, FdtNode } from './fdt.js';
import { of_read_number } from '../of/of-base.js';
import {
  fdtCompatible,
  fdtNodeAvailable,
  getProperty,
  nAddrCells,
  nodeBaseName,
  propString,
  propStrings,
  propU32,
  propU32s,
} from './fdt.js';

/** of_default_bus_match_table */
const BUS_COMPATIBLES = ['simple-bus', 'simple-mfd', 'isa', 'arm,amba-bus'];

export interface DtDevice {
  readonly name: string;
  readonly bus: 'platform' | 'amba';
  /** The node's path. */
  readonly of: string;
  readonly compatible: readonly string[];
}

export interface DtPopulation {
  readonly devices: DtDevice[];
  /** The first available PCI host bridge node (device_type = "pci"), if any. */
  readonly pciHost: FdtNode | null;
}

/**
 * of_translate_address() for the first `reg` entry: up through each
 * parent bus's `ranges` (empty: identity; absent below the root: not
 * translatable). null is OF_BAD_ADDR.
 */
export function translateReg(np: FdtNode): bigint | null {
  const reg = propU32s(np, 'reg');
  const parent = np.parent;
  if (!reg || !parent) return null;
  const na = nAddrCells(np);
  if (na === 0 || reg.length < na) return null;
  let addr = of_read_number(reg, 0, na);
  for (let bus: FdtNode | null = parent; bus && bus.parent; bus = bus.parent) {
    const ranges = getProperty(bus, 'ranges');
    if (!ranges) return null;
    if (ranges.value.length === 0) continue;
    const r = propU32s(bus, 'ranges') ?? [];
    const cna = propU32(bus, '#address-cells') ?? 2;
    const cns = propU32(bus, '#size-cells') ?? 1;
    const pna = nAddrCells(bus);
    const step = cna + pna + cns;
    let mapped: bigint | null = null;
    for (let i = 0; i + step <= r.length; i += step) {
      const child = of_read_number(r, i, cna);
      const par = of_read_number(r, i + cna, pna);
      const size = of_read_number(r, i + cna + pna, cns);
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

/** of_device_make_bus_id() */
export function ofDeviceBusId(np: FdtNode): string {
  let name = '';
  for (let node: FdtNode | null = np; node && node.parent; node = node.parent) {
    const addr = translateReg(node);
    if (addr !== null) {
      const mask = propU32(node, 'mask');
      const head =
        mask !== undefined
          ? `${addr.toString(16)}.${31 - Math.clz32(mask & -mask)}.${nodeBaseName(node)}`
          : `${addr.toString(16)}.${nodeBaseName(node)}`;
      return name ? `${head}:${name}` : head;
    }
    name = name ? `${node.name}:${name}` : node.name;
  }
  return name;
}

/** of_platform_default_populate() */
export function ofPlatformPopulate(fdt: Fdt): DtPopulation {
  const devices: DtDevice[] = [];
  let pciHost: FdtNode | null = null;
  const create = (np: FdtNode) => {
    if (!getProperty(np, 'compatible') || !fdtNodeAvailable(np)) return;
    const compatible = propStrings(np, 'compatible') ?? [];
    const amba = fdtCompatible(np, 'arm,primecell');
    devices.push({ name: ofDeviceBusId(np), bus: amba ? 'amba' : 'platform', of: np.path, compatible });
    if (!pciHost && propString(np, 'device_type') === 'pci') pciHost = np;
    if (!amba && fdtCompatible(np, ...BUS_COMPATIBLES)) np.children.forEach(create);
  };
  fdt.root.children.forEach(create);
  return { devices, pciHost };
}
