// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct device_driver and driver registration (drivers/base/driver.c).
 */
import type { Kernel } from '../kernel/kernel.js';
import type { BusType } from './bus.js';
import type { Device } from './device.js';
import { bus_for_each_dev } from './bus.js';

/** struct pci_device_id, as far as matching goes: undefined fields match anything. */
export interface PciDeviceId {
  readonly vendor?: number;
  readonly device?: number;
  readonly class?: number;
  readonly class_mask?: number;
}
import { driver_attach_one } from './dd.js';

export interface DeviceDriver {
  readonly name: string;
  readonly bus: BusType;
  /** The driver's probe(): 0, or a negative errno (-EPROBE_DEFER defers). */
  probe(k: Kernel, dev: Device): number;
  remove?(k: Kernel, dev: Device): void;
  /** drv->driver_managed_dma: VFIO-style drivers that own DMA themselves. */
  readonly driver_managed_dma?: boolean;
  /** A PCI driver's id_table (struct pci_device_id): matched by the PCI bus instead of by name. */
  readonly pci_id_table?: readonly PciDeviceId[];
  /** A platform driver's of_match_table: the `compatible` strings it drives. */
  readonly of_match_table?: readonly string[];
  /** A virtio driver's id_table: the virtio device IDs it drives. */
  readonly virtio_ids?: readonly number[];
}

/** driver_register() + bus_add_driver(): then driver_attach() over the bus. */
export function driver_register(k: Kernel, drv: DeviceDriver): number {
  if (drv.bus.drivers.some((d) => d.name === drv.name)) {
    k.printk.log('err', drv.bus.name, `Error: Driver '${drv.name}' is already registered, aborting...`);
    return -16; // -EBUSY, as driver_register() returns
  }
  drv.bus.drivers.push(drv);
  bus_for_each_dev(drv.bus, (dev) => {
    driver_attach_one(k, drv, dev);
    return 0;
  });
  k.runDeferredProbe();
  return 0;
}

/** driver_unregister(): unbinds every device, then leaves the bus. */
export function driver_unregister(k: Kernel, drv: DeviceDriver, unbind: (dev: Device) => void): void {
  for (const dev of [...drv.bus.devices]) if (dev.driver === drv) unbind(dev);
  const i = drv.bus.drivers.indexOf(drv);
  if (i >= 0) drv.bus.drivers.splice(i, 1);
}
