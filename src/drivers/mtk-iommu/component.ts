// SPDX-License-Identifier: GPL-2.0-only
/**
 * The component framework (drivers/base/component.c), the parts the M4U uses:
 * the M4U is an aggregate driver whose components are its SMI larbs. The M4U
 * lists its larbs (component_match_add() with component_compare_dev) and
 * registers with component_master_add_with_match(); each larb registers
 * itself with component_add() from its probe. When every listed larb is a
 * component the aggregate binds: the M4U's bind calls component_bind_all(),
 * which binds the larbs in match order. Removing a larb (component_del())
 * takes the whole aggregate down; removing the M4U (component_master_del())
 * unbinds it.
 *
 * `struct component` and `struct aggregate_device` are tracked allocations.
 * Not modelled: the devres groups opened around each bind, and the match
 * array's own allocation (a failed component_match_add() leaves an
 * ERR_PTR(-ENOMEM) match that component_master_add_with_match() then
 * dereferences: v6.12 oopses there, which a model cannot reproduce).
 */
import type { Allocation } from '../../kernel/alloc.js';
import type { Device } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';
import { ENOMEM, EPROBE_DEFER } from '../../kernel/errno.js';

/** struct component_ops */
export interface ComponentOps {
  readonly name: string;
  bind(k: Kernel, dev: Device, master: Device, data: unknown): number;
  unbind(k: Kernel, dev: Device, master: Device, data: unknown): void;
}

/** struct component_master_ops */
export interface ComponentMasterOps {
  readonly name: string;
  bind(k: Kernel, parent: Device): number;
  unbind(k: Kernel, parent: Device): void;
}

interface Component {
  readonly dev: Device;
  readonly ops: ComponentOps;
  readonly mem: Allocation;
  adev: AggregateDevice | null;
  bound: boolean;
}

/** struct component_match_array, one entry */
interface MatchEntry {
  readonly data: Device;
  component: Component | null;
  duplicate: boolean;
}

/** struct component_match */
export interface ComponentMatch {
  readonly entries: MatchEntry[];
}

interface AggregateDevice {
  readonly parent: Device;
  readonly ops: ComponentMasterOps;
  readonly match: ComponentMatch;
  readonly mem: Allocation;
  bound: boolean;
}

interface ComponentState {
  /** component_list */
  readonly components: Component[];
  /** aggregate_devices: list_add() puts new ones first. */
  readonly aggregates: AggregateDevice[];
}

const STATE = 'component (drivers/base/component.c)';

function state(k: Kernel): ComponentState {
  let s = k.driverState.get(STATE) as ComponentState | undefined;
  if (!s) k.driverState.set(STATE, (s = { components: [], aggregates: [] }));
  return s;
}

/** component_match_add(parent, &match, component_compare_dev, dev) */
export function component_match_add(match: ComponentMatch | null, dev: Device): ComponentMatch {
  const m = match ?? { entries: [] };
  m.entries.push({ data: dev, component: null, duplicate: false });
  return m;
}

/** __aggregate_find() */
function aggregate_find(k: Kernel, parent: Device, ops: ComponentMasterOps | null): AggregateDevice | null {
  return state(k).aggregates.find((a) => a.parent === parent && (!ops || a.ops === ops)) ?? null;
}

/** find_component(): compare by device (component_compare_dev) among the free or own components. */
function find_component(k: Kernel, adev: AggregateDevice, mc: MatchEntry): Component | null {
  return state(k).components.find((c) => (!c.adev || c.adev === adev) && c.dev === mc.data) ?? null;
}

/** find_components(): attach every match entry's component; false when one is missing (-ENXIO). */
function find_components(k: Kernel, adev: AggregateDevice): boolean {
  for (const mc of adev.match.entries) {
    if (mc.component) continue;
    const c = find_component(k, adev, mc);
    if (!c) return false;
    mc.duplicate = c.adev !== null;
    mc.component = c;
    c.adev = adev;
  }
  return true;
}

/** remove_component() */
function remove_component(adev: AggregateDevice, c: Component): void {
  for (const mc of adev.match.entries) if (mc.component === c) mc.component = null;
}

/** try_to_bring_up_aggregate_device(): 1 when bound, 0 when not ready, or a negative errno. */
function try_to_bring_up_aggregate_device(
  k: Kernel,
  adev: AggregateDevice,
  component: Component | null,
): number {
  if (!find_components(k, adev)) return 0;
  if (component && component.adev !== adev) return 0;
  const ret = adev.ops.bind(k, adev.parent);
  if (ret < 0) {
    if (ret !== -EPROBE_DEFER) k.printk.log('info', adev.parent.name, `adev bind failed: ${ret}`);
    return ret;
  }
  adev.bound = true;
  return 1;
}

/** try_to_bring_up_masters() */
function try_to_bring_up_masters(k: Kernel, component: Component): number {
  for (const adev of [...state(k).aggregates]) {
    if (adev.bound) continue;
    const ret = try_to_bring_up_aggregate_device(k, adev, component);
    if (ret !== 0) return ret;
  }
  return 0;
}

/** take_down_aggregate_device() */
function take_down_aggregate_device(k: Kernel, adev: AggregateDevice): void {
  if (!adev.bound) return;
  adev.ops.unbind(k, adev.parent);
  adev.bound = false;
}

/** free_aggregate_device() */
function free_aggregate_device(k: Kernel, adev: AggregateDevice, site: string): void {
  const list = state(k).aggregates;
  list.splice(list.indexOf(adev), 1);
  for (const mc of adev.match.entries) if (mc.component) mc.component.adev = null;
  k.alloc.free(adev.mem, site);
}

/** component_master_add_with_match() */
export function component_master_add_with_match(
  k: Kernel,
  parent: Device,
  ops: ComponentMasterOps,
  match: ComponentMatch,
): number {
  const mem = k.alloc.alloc('aggregate_device', parent, 'component_master_add_with_match');
  if (!mem) return -ENOMEM;
  const adev: AggregateDevice = { parent, ops, match, mem, bound: false };
  state(k).aggregates.unshift(adev);
  const ret = try_to_bring_up_aggregate_device(k, adev, null);
  if (ret < 0) free_aggregate_device(k, adev, 'component_master_add_with_match');
  return ret < 0 ? ret : 0;
}

/** component_master_del() */
export function component_master_del(k: Kernel, parent: Device, ops: ComponentMasterOps): void {
  const adev = aggregate_find(k, parent, ops);
  if (!adev) return;
  take_down_aggregate_device(k, adev);
  free_aggregate_device(k, adev, 'component_master_del');
}

/** component_unbind() */
function component_unbind(k: Kernel, c: Component, adev: AggregateDevice, data: unknown): void {
  k.printk.warn(!c.bound, 'component_unbind', 'WARN_ON(!component->bound)', c.dev.name);
  c.ops.unbind(k, c.dev, adev.parent, data);
  c.bound = false;
}

/** component_bind() */
function component_bind(k: Kernel, c: Component, adev: AggregateDevice, data: unknown): number {
  const ret = c.ops.bind(k, c.dev, adev.parent, data);
  if (!ret) {
    c.bound = true;
    k.printk.log('info', adev.parent.name, `bound ${c.dev.name} (ops ${c.ops.name})`);
  } else if (ret !== -EPROBE_DEFER) {
    k.printk.log('err', adev.parent.name, `failed to bind ${c.dev.name} (ops ${c.ops.name}): ${ret}`);
  }
  return ret;
}

/** component_bind_all(): bind in match order; on failure unbind the ones before, in reverse. */
export function component_bind_all(k: Kernel, parent: Device, data: unknown): number {
  const adev = aggregate_find(k, parent, null);
  if (!adev) return -22; // -EINVAL
  const entries = adev.match.entries;
  let i = 0;
  let ret = 0;
  for (; i < entries.length; i++) {
    if (entries[i].duplicate) continue;
    ret = component_bind(k, entries[i].component!, adev, data);
    if (ret) break;
  }
  if (ret) {
    for (; i > 0; i--)
      if (!entries[i - 1].duplicate) component_unbind(k, entries[i - 1].component!, adev, data);
  }
  return ret;
}

/** component_unbind_all(): in reverse match order. */
export function component_unbind_all(k: Kernel, parent: Device, data: unknown): void {
  const adev = aggregate_find(k, parent, null);
  if (!adev) return;
  const entries = adev.match.entries;
  for (let i = entries.length - 1; i >= 0; i--)
    if (!entries[i].duplicate) component_unbind(k, entries[i].component!, adev, data);
}

/** component_add() */
export function component_add(k: Kernel, dev: Device, ops: ComponentOps): number {
  const mem = k.alloc.alloc('component', dev, 'component_add');
  if (!mem) return -ENOMEM;
  const c: Component = { dev, ops, mem, adev: null, bound: false };
  const list = state(k).components;
  list.push(c);
  const ret = try_to_bring_up_masters(k, c);
  if (ret < 0) {
    if (c.adev) remove_component(c.adev, c);
    list.splice(list.indexOf(c), 1);
    k.alloc.free(mem, 'component_add');
  }
  return ret < 0 ? ret : 0;
}

/** component_del(): a bound aggregate using it is taken down first. */
export function component_del(k: Kernel, dev: Device, ops: ComponentOps): void {
  const list = state(k).components;
  const i = list.findIndex((c) => c.dev === dev && c.ops === ops);
  const c = i >= 0 ? list.splice(i, 1)[0] : null;
  if (c?.adev) {
    take_down_aggregate_device(k, c.adev);
    remove_component(c.adev, c);
  }
  k.printk.warn(!c, 'component_del', 'WARN_ON(!component)', dev.name);
  if (c) k.alloc.free(c.mem, 'component_del');
}

/** Whether `parent`'s aggregate is bound (for reports and tests). */
export function component_aggregate_bound(k: Kernel, parent: Device): boolean {
  return aggregate_find(k, parent, null)?.bound ?? false;
}
