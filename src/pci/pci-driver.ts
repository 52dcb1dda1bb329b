// SPDX-License-Identifier: GPL-2.0-only
/**
 * The PCI bus type's DMA hooks (drivers/pci/pci-driver.c pci_dma_configure(),
 * pci_dma_cleanup(), pci_bus_type) and the host bridge device
 * (drivers/pci/probe.c pci_register_host_bridge(),
 * pci_get_host_bridge_device()).
 *
 * A PCI function has no firmware node of its own for the IOMMU code, so DMA
 * is configured from its host bridge's: the DT node of the bridge's parent,
 * else the bridge's ACPI companion. The model's host bridge Device carries
 * that node as its fwnode. Then a bound driver that does not manage DMA
 * itself counts as a user of the group's default domain.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { BusType } from '../base/bus.js';
import type { Fwnode } from '../base/fwnode.js';
import type { DeviceDriver } from '../base/driver.js';
import { Device } from '../base/device.js';
import { createBus } from '../base/bus.js';
import { firmware_dma_configure } from '../base/dma-configure.js';
import { iommu_device_unuse_default_domain, iommu_device_use_default_domain } from '../iommu/ownership.js';

/**
 * The host bridge device of a root bus, "pciSSSS:BB", standing for its
 * firmware node: the DT node of the host controller or the ACPI companion.
 * Root bus functions take it as their parent.
 */
export function createHostBridge(segment: number, busnr: number, fwnode: Fwnode | null): Device {
  const hb = new Device(`pci${segment.toString(16).padStart(4, '0')}:${busnr.toString(16).padStart(2, '0')}`);
  hb.fwnode = fwnode;
  return hb;
}

/** pci_get_host_bridge_device(): the first ancestor that is not a PCI function (without the reference). */
export function pci_get_host_bridge_device(dev: Device): Device | null {
  let d: Device | null = dev;
  while (d?.pci) d = d.parent;
  return d;
}

/** pci_dma_configure() */
export function pci_dma_configure(k: Kernel, dev: Device): number {
  const bridge = pci_get_host_bridge_device(dev);
  const node = bridge?.fwnode ?? null;
  const ret = node ? firmware_dma_configure(k, dev, null, node) : 0;
  // The driver is not set yet when called from the IOMMU layer (v6.15 probe path).
  if (!ret && dev.driver && !dev.driver.driver_managed_dma) return iommu_device_use_default_domain(k, dev);
  return ret;
}

/** pci_dma_cleanup() */
export function pci_dma_cleanup(k: Kernel, dev: Device): void {
  if (dev.driver && !dev.driver.driver_managed_dma) iommu_device_unuse_default_domain(k, dev);
}

/** pci_bus_type, as far as the IOMMU code uses it. */
/** pci_match_id()/pci_bus_match(): a name the device asks for wins (driver_override), else the id table. */
export function pci_bus_match(dev: Device, drv: DeviceDriver): boolean {
  if (dev.match_driver !== null) return dev.match_driver === drv.name;
  const pdev = dev.pci;
  if (!pdev || !drv.pci_id_table) return false;
  return drv.pci_id_table.some(
    (id) =>
      (id.vendor === undefined || id.vendor === pdev.vendor) &&
      (id.device === undefined || id.device === pdev.device) &&
      (id.class === undefined || ((id.class ^ pdev.classCode) & (id.class_mask ?? 0xffffff)) === 0),
  );
}

export function createPciBus(): BusType {
  return createBus('pci', {
    dma_configure: pci_dma_configure,
    dma_cleanup: pci_dma_cleanup,
    match: pci_bus_match,
  });
}
