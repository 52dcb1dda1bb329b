// SPDX-License-Identifier: GPL-2.0-only
/**
 * Stateless device links (drivers/base/core.c device_link_add() and
 * device_link_remove() with DL_FLAG_STATELESS), as the M4U and SMI drivers
 * use them: a master depends on its larb, a larb (or sub-common) on its SMI
 * common, the SMI common on the M4U. A stateless link changes no probe order;
 * what the drivers can observe is whether device_link_add() returned a link
 * (NULL when the supplier is not registered, the two would form a cycle, or
 * the allocation failed). Adding an existing link takes one more reference;
 * device_link_remove() drops one and frees the link with the last.
 *
 * Not modelled: device_links_purge() at device_del() (the links of a deleted
 * device stay until their explicit removal, which every user here makes).
 */
import type { Allocation } from '../../kernel/alloc.js';
import type { Device } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';
import { device_is_registered } from '../../base/device.js';

interface DeviceLink {
  readonly consumer: Device;
  readonly supplier: Device;
  readonly mem: Allocation;
  kref: number;
}

const STATE = 'device_links (drivers/base/core.c)';

function links(k: Kernel): DeviceLink[] {
  let l = k.driverState.get(STATE) as DeviceLink[] | undefined;
  if (!l) k.driverState.set(STATE, (l = []));
  return l;
}

/** device_is_dependent(dev, target): target is dev, a descendant of dev, or (transitively) a consumer of dev. */
function device_is_dependent(k: Kernel, dev: Device, target: Device, depth = 0): boolean {
  if (dev === target || depth > 64) return true;
  for (let p = target.parent; p; p = p.parent) if (p === dev) return true;
  for (const l of links(k))
    if (l.supplier === dev && device_is_dependent(k, l.consumer, target, depth + 1)) return true;
  return false;
}

/** device_link_add(consumer, supplier, DL_FLAG_STATELESS | …): true when a link exists afterwards. */
export function device_link_add(k: Kernel, consumer: Device, supplier: Device): boolean {
  if (consumer === supplier) return false;
  // The supplier must be registered, and must not already depend on the consumer.
  if (!device_is_registered(supplier) || device_is_dependent(k, consumer, supplier)) return false;
  const existing = links(k).find((l) => l.consumer === consumer && l.supplier === supplier);
  if (existing) {
    existing.kref += 1;
    return true;
  }
  const mem = k.alloc.alloc('device_link', consumer, 'device_link_add');
  if (!mem) return false;
  links(k).push({ consumer, supplier, mem, kref: 1 });
  return true;
}

/** device_link_remove(consumer, supplier): drops one reference of the link, if there is one. */
export function device_link_remove(k: Kernel, consumer: Device | null, supplier: Device | null): void {
  const all = links(k);
  const i = all.findIndex((l) => l.consumer === consumer && l.supplier === supplier);
  if (i < 0) return;
  const link = all[i];
  if (--link.kref > 0) return;
  all.splice(i, 1);
  k.alloc.free(link.mem, 'device_link_remove');
}

/** The suppliers a device links to (for reports and tests). */
export function device_link_suppliers(k: Kernel, consumer: Device): Device[] {
  return links(k)
    .filter((l) => l.consumer === consumer)
    .map((l) => l.supplier);
}
