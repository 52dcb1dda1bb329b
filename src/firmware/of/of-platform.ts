// SPDX-License-Identifier: GPL-2.0-only
/**
 * Platform devices from device-tree nodes at run time (drivers/of/platform.c,
 * Linux 6.12), on the OF fwnodes of a booted model:
 *  - of_find_device_by_node(): the platform device made from a node, with a
 *    reference the caller puts;
 *  - of_platform_populate(np, NULL, NULL, parent), what a driver whose probe
 *    populates its children runs (devm_of_platform_populate() too): each
 *    available child with a `compatible` that no device was made for yet
 *    becomes a platform device under `parent` (an `arm,primecell` an amba
 *    device), named by of_device_make_bus_id(); with no match table nothing
 *    below the children is walked;
 *  - of_platform_depopulate(), which undoes it.
 *
 * The boot-time population of the whole tree, from the blob, is
 * src/firmware/fdt/of-platform.ts; the nodes it made devices for count as
 * populated here (OF_POPULATED) through those devices.
 */
import { of_msi_configure } from './of-msi.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Fwnode } from '../../base/fwnode.js';
import type { Device } from '../../base/device.js';
import { device_add, device_del, get_device, put_device } from '../../base/core.js';
import { platform_device_alloc } from '../../base/platform.js';
import { of_device_is_available, of_device_is_compatible, of_match_node } from './of-base.js';
import { of_device_make_bus_id } from './of-address.js';

/** of_default_bus_match_table: the buses whose children the default population walks. */
export const OF_DEFAULT_BUS_MATCH_TABLE = ['simple-bus', 'simple-mfd', 'isa', 'arm,amba-bus'];

/** of_skipped_node_table: nodes that never get a device. */
export const OF_SKIPPED_NODE_TABLE = ['operating-points-v2'];

/** The first registered device on `bus` made from `np`. */
function deviceOfNode(k: Kernel, bus: string, np: Fwnode): Device | null {
  for (const dev of k.base.buses.get(bus)?.devices ?? []) if (dev.fwnode === np) return dev;
  return null;
}

/** of_find_device_by_node(): bus_find_device_by_of_node() on the platform bus, referenced. */
export function of_find_device_by_node(k: Kernel, np: Fwnode | null): Device | null {
  const dev = np ? deviceOfNode(k, 'platform', np) : null;
  return dev ? get_device(dev) : null;
}

/** The nodes of_platform_populate() made a device for (OF_POPULATED), per kernel. */
const populated = new WeakMap<Kernel, WeakSet<Fwnode>>();
function populatedSet(k: Kernel): WeakSet<Fwnode> {
  let s = populated.get(k);
  if (!s) populated.set(k, (s = new WeakSet()));
  return s;
}

/** OF_POPULATED: made here, or by the boot-time population (a device of the node exists). */
function of_node_populated(k: Kernel, np: Fwnode): boolean {
  return populatedSet(k).has(np) || !!deviceOfNode(k, 'platform', np) || !!deviceOfNode(k, 'amba', np);
}

/**
 * of_platform_device_create_pdata() / of_amba_device_create(): null when the
 * node is unavailable or populated, or the allocation or device_add() fails
 * (the walk goes on). Without an amba bus (no CONFIG_ARM_AMBA) a primecell
 * gets no device.
 */
function of_device_create(
  k: Kernel,
  np: Fwnode,
  busName: 'platform' | 'amba',
  parent: Device,
): Device | null {
  if (!of_device_is_available(np) || of_node_populated(k, np)) return null;
  const bus = k.base.buses.get(busName);
  if (!bus) return null;
  const dev = platform_device_alloc(k, of_device_make_bus_id(np));
  if (!dev) return null;
  dev.bus = bus;
  dev.fwnode = np;
  dev.parent = parent;
  // of_msi_configure(): the device's MSI domain from its node's msi-parent.
  of_msi_configure(k, dev, np);
  const seen = populatedSet(k);
  seen.add(np);
  if (device_add(k, dev)) {
    seen.delete(np);
    put_device(k, dev);
    return null;
  }
  return dev;
}

/**
 * of_platform_populate(np, NULL, NULL, parent): of_platform_bus_create()
 * (strict) on each child of `np`. Returns the devices made, for
 * of_platform_depopulate().
 */
export function of_platform_populate(k: Kernel, np: Fwnode, parent: Device): Device[] {
  const made: Device[] = [];
  for (const child of np.children) {
    if (!child.properties.has('compatible') || of_match_node(OF_SKIPPED_NODE_TABLE, child)) continue;
    const amba = of_device_is_compatible(child, 'arm,primecell');
    const dev = of_device_create(k, child, amba ? 'amba' : 'platform', parent);
    if (dev) made.push(dev);
  }
  return made;
}

/** of_platform_depopulate(): unregister what populate made, last first (already gone: skipped). */
export function of_platform_depopulate(k: Kernel, devices: readonly Device[]): void {
  const seen = populatedSet(k);
  for (const dev of [...devices].reverse()) {
    if (dev.fwnode) seen.delete(dev.fwnode);
    if (dev.state !== 'registered') continue;
    device_del(k, dev);
    put_device(k, dev);
  }
}
