// SPDX-License-Identifier: GPL-2.0-only
/**
 * Buses and bus notifiers (drivers/base/bus.c). A bus keeps its devices and
 * drivers in registration order (the klists), and a blocking notifier chain
 * that device_add()/device_del() and driver binding call in the kernel's order.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from './device.js';
import type { DeviceDriver } from './driver.js';
import type { IommuOps } from '../iommu/ops.js';

/** include/linux/device/bus.h BUS_NOTIFY_* */
export type BusNotifyAction =
  | 'ADD_DEVICE'
  | 'DEL_DEVICE'
  | 'REMOVED_DEVICE'
  | 'BIND_DRIVER'
  | 'BOUND_DRIVER'
  | 'UNBIND_DRIVER'
  | 'UNBOUND_DRIVER'
  | 'DRIVER_NOT_BOUND';

export interface NotifierBlock {
  /** Who registered it, for traces: "iommu_bus_notifier". */
  readonly name: string;
  notifier_call(k: Kernel, action: BusNotifyAction, dev: Device): number;
}

export const NOTIFY_DONE = 0;
export const NOTIFY_OK = 1;

export interface BusType {
  readonly name: string;
  /** bus->dma_configure(), run by really_probe() before the driver's probe. */
  dma_configure?: (k: Kernel, dev: Device) => number;
  /** bus->dma_cleanup(), run when binding fails or the driver unbinds. */
  dma_cleanup?: (k: Kernel, dev: Device) => void;
  /** bus->match(); the default matches dev.match_driver against the driver name. */
  match?: (dev: Device, drv: DeviceDriver) => boolean;
  /** Kernels up to v6.7: bus->iommu_ops, set by iommu_device_register(). */
  iommu_ops: IommuOps | null;
  /** The device klist: a Set iterates live, like a klist walk (removals skipped, additions visited). */
  readonly devices: Set<Device>;
  /** The bus's /sys/bus/NAME/devices folder: names in use, for device_add()'s duplicate check. */
  readonly deviceNames: Map<string, Device>;
  readonly drivers: DeviceDriver[];
  readonly notifiers: NotifierBlock[];
  registered: boolean;
}

export function createBus(
  name: string,
  hooks: Pick<BusType, 'dma_configure' | 'dma_cleanup' | 'match'> = {},
): BusType {
  return {
    name,
    ...hooks,
    iommu_ops: null,
    devices: new Set(),
    deviceNames: new Map(),
    drivers: [],
    notifiers: [],
    registered: false,
  };
}

/** bus_register() */
export function bus_register(k: Kernel, bus: BusType): number {
  if (k.base.buses.has(bus.name)) return -17; // -EEXIST from kset registration
  bus.registered = true;
  k.base.buses.set(bus.name, bus);
  return 0;
}

/** bus_unregister() */
export function bus_unregister(k: Kernel, bus: BusType): void {
  k.printk.warn(bus.devices.size > 0, 'bus_unregister', `bus ${bus.name} still has devices`);
  bus.registered = false;
  k.base.buses.delete(bus.name);
}

/** bus_register_notifier(): appended, so notifiers run in registration order. */
export function bus_register_notifier(_k: Kernel, bus: BusType, nb: NotifierBlock): number {
  if (bus.notifiers.includes(nb)) return -17;
  bus.notifiers.push(nb);
  return 0;
}

export function bus_unregister_notifier(_k: Kernel, bus: BusType, nb: NotifierBlock): number {
  const i = bus.notifiers.indexOf(nb);
  if (i < 0) return -2; // -ENOENT
  bus.notifiers.splice(i, 1);
  return 0;
}

/** bus_notify(): the blocking notifier chain; results are ignored by the driver core. */
export function bus_notify(k: Kernel, dev: Device, action: BusNotifyAction): void {
  if (!dev.bus) return;
  for (const nb of [...dev.bus.notifiers]) nb.notifier_call(k, action, dev);
}

/**
 * bus_for_each_dev(): visits devices in klist order and stops at the first
 * non-zero return. Devices that leave the bus during the walk are skipped and
 * devices added behind the cursor are visited, as with a klist.
 */
export function bus_for_each_dev(bus: BusType, fn: (dev: Device) => number): number {
  for (const dev of bus.devices) {
    const ret = fn(dev);
    if (ret !== 0) return ret;
  }
  return 0;
}
