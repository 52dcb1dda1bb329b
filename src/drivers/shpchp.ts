// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Standard Hot-Plug Controller driver (drivers/pci/hotplug/shpchp_core.c
 * shpc_probe()): it matches every PCI-to-PCI bridge by class, keeps those
 * with an SHPC capability (shpc_capable()) whose hot-plug the firmware
 * leaves to the OS (acpi_get_hp_hw_control_from_firmware()). The model
 * takes the firmware's answer from `native`: QEMU's x86 ACPI keeps SHPC
 * hot-plug, device trees and QEMU's arm64 ACPI leave it to Linux, as the
 * ground-truth machines show. Like pcieport, its dma_configure runs before
 * its probe declines, so a declined bridge still gets its IOMMU group.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import type { DeviceDriver } from '../base/driver.js';
import { ENODEV } from '../kernel/errno.js';

const PCI_CLASS_BRIDGE_PCI_NORMAL = 0x060400;

export function shpchpDriver(k: Kernel, native: (dev: Device) => boolean, name = 'shpchp'): DeviceDriver {
  const bus = k.base.buses.get('pci');
  if (!bus) throw new Error('shpchp: no pci bus');
  return {
    name,
    bus,
    pci_id_table: [{ class: PCI_CLASS_BRIDGE_PCI_NORMAL }],
    /** shpc_probe() */
    probe(_k, dev) {
      if (!dev.pci?.shpc) return -ENODEV;
      return native(dev) ? 0 : -ENODEV;
    },
  };
}
