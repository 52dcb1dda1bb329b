// SPDX-License-Identifier: GPL-2.0-only
/**
 * fwnode_handle_get()/fwnode_handle_put() and software nodes
 * (drivers/base/swnode.c fwnode_create_software_node()/fwnode_remove_software_node()).
 * OF and ACPI nodes are static in the model: their count is kept so that an
 * unbalanced put is visible, but they are never freed. A software node is
 * freed when its creator removed it and the last reference is gone.
 */
import type { Kernel } from '../kernel/kernel.js';
import { Fwnode } from '../base/fwnode.js';

export function fwnode_handle_get(f: Fwnode | null): Fwnode | null {
  // ACPI fwnodes have no get/put operations: only OF nodes and software nodes count.
  if (f && f.kind !== 'acpi') f.refcount += 1;
  return f;
}

export function fwnode_handle_put(k: Kernel, f: Fwnode | null): void {
  if (!f || f.kind === 'acpi') return;
  if (f.refcount <= 0) {
    k.printk.warn(true, 'fwnode_handle_put', `refcount underflow on fwnode ${f.name}`);
    return;
  }
  f.refcount -= 1;
  if (f.refcount === 0 && f.kind === 'swnode' && f.mem) {
    k.alloc.free(f.mem, 'software_node_release');
    f.mem = null;
  }
}

/** fwnode_create_software_node(): null on -ENOMEM. */
export function fwnode_create_software_node(k: Kernel, name: string, owner: string): Fwnode | null {
  const mem = k.alloc.alloc('software_node', owner, 'fwnode_create_software_node');
  if (!mem) return null;
  const f = new Fwnode('swnode', name);
  f.mem = mem;
  return f;
}

/** fwnode_remove_software_node(): drops the creator's reference. */
export function fwnode_remove_software_node(k: Kernel, f: Fwnode): void {
  if (f.removed) return;
  f.removed = true;
  fwnode_handle_put(k, f);
}
