// SPDX-License-Identifier: GPL-2.0-only
/**
 * intel-agp (drivers/char/agp/intel-agp.c agp_intel_probe()), built into
 * x86 distribution kernels: it matches Intel host bridges by class and keeps
 * one only when intel_gmch_probe() finds integrated graphics behind it; the
 * model looks for an Intel display function (class 03xx) on the host
 * bridge's bus. A declined bind still ran the bus's dma_configure (a VIOT
 * machine's host bridge gets its group that way).
 */
import type { Kernel } from '../kernel/kernel.js';
import type { DeviceDriver } from '../base/driver.js';
import { ENODEV } from '../kernel/errno.js';

const PCI_VENDOR_ID_INTEL = 0x8086;
const PCI_CLASS_BRIDGE_HOST = 0x060000;

export function agpIntelDriver(k: Kernel, name = 'agpgart-intel'): DeviceDriver {
  const bus = k.base.buses.get('pci');
  if (!bus) throw new Error('agpgart-intel: no pci bus');
  return {
    name,
    bus,
    pci_id_table: [{ vendor: PCI_VENDOR_ID_INTEL, class: PCI_CLASS_BRIDGE_HOST, class_mask: 0xffff00 }],
    /** agp_intel_probe(): no integrated graphics, no AGP bridge. */
    probe(_k, dev) {
      const pdev = dev.pci;
      if (!pdev) return -ENODEV;
      const igd = [...pdev.bus.devices].some(
        (f) => f.vendor === PCI_VENDOR_ID_INTEL && f.classCode >>> 16 === 0x03,
      );
      return igd ? 0 : -ENODEV;
    },
  };
}
