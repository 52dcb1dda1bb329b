// SPDX-License-Identifier: GPL-2.0-only
/**
 * vfio-pci as a VFIO user binds it (drivers/vfio/pci/vfio_pci.c): a PCI
 * driver with driver_managed_dma (it takes no default-domain reference: DMA
 * ownership is claimed when user space binds the device to an iommufd), and
 * `driverctl set-override BDF vfio-pci`, which is what users run: unbind the
 * current driver, set driver_override, probe again.
 */
import type { Device } from '../base/device.js';
import type { DeviceDriver } from '../base/driver.js';
import { driver_register } from '../base/driver.js';
import { device_attach, device_release_driver } from '../base/dd.js';
import { ENODEV } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';

export const VFIO_PCI = 'vfio-pci';

/** The vfio-pci driver, registered on first use (modprobe vfio-pci). */
function vfioPciDriver(k: Kernel): DeviceDriver | number {
  const bus = k.base.buses.get('pci');
  if (!bus) return -ENODEV;
  const have = bus.drivers.find((d) => d.name === VFIO_PCI);
  if (have) return have;
  // vfio_pci_probe() registers the VFIO device; its cdev appears as /dev/vfio/devices/vfioN.
  const drv: DeviceDriver = {
    name: VFIO_PCI,
    bus,
    probe: () => 0,
    driver_managed_dma: true,
    pci_id_table: [],
  };
  const rc = driver_register(k, drv);
  return rc < 0 ? rc : drv;
}

/**
 * driver_override = "vfio-pci" and a reprobe: the device's current driver
 * is unbound (giving back its default-domain reference) and vfio-pci probes
 * it. 0, or an errno (-ENODEV without a PCI bus or for a non-PCI device).
 */
export function vfio_pci_set_override(k: Kernel, dev: Device): number {
  if (!dev.pci) return -ENODEV;
  const drv = vfioPciDriver(k);
  if (typeof drv === 'number') return drv;
  if (dev.driver !== drv) device_release_driver(k, dev);
  dev.match_driver = VFIO_PCI;
  const rc = device_attach(k, dev);
  return rc < 0 ? rc : dev.driver === drv ? 0 : -ENODEV;
}
