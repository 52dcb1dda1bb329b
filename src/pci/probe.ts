// SPDX-License-Identifier: GPL-2.0-only
/**
 * Adding buses and functions (drivers/pci/probe.c pci_create_root_bus(),
 * pci_add_new_bus(), pci_setup_device(), set_pcie_port_type(),
 * pci_device_add(), pci_init_capabilities()), reduced to what the IOMMU
 * grouping depends on: the bus links, the port type correction, the header
 * fixups (DMA alias quirks) and ACS enabling. Reading config space and
 * scanning are the topology builder's job (topology-build.ts).
 */
import type { Kernel } from '../kernel/kernel.js';
import type { PciDev } from './pci-dev.js';
import {
  PCI_EXP_TYPE_DOWNSTREAM,
  PCI_EXP_TYPE_UPSTREAM,
  pci_pcie_type,
  pcie_downstream_port,
  pci_is_pcie,
} from './pci-dev.js';
import { PciBus, pci_upstream_bridge } from './pci-bus.js';
import { pci_core } from './pci-core.js';
import { pci_fixup_header } from './fixups.js';
import { pci_acs_init } from './acs-enable.js';

/** pci_create_root_bus(): a root bus decoding [busnr, subordinate]. */
export function pci_create_root_bus(k: Kernel, segment: number, busnr: number, subordinate = 0xff): PciBus {
  const core = pci_core(k);
  const bus = new PciBus(core, segment, busnr, null, null, subordinate);
  core.addBus(bus);
  return bus;
}

/**
 * pci_add_new_bus(): the bus behind `bridge` (null for an SR-IOV virtual
 * bus), a child of `parent`.
 */
export function pci_add_new_bus(
  parent: PciBus,
  bridge: PciDev | null,
  busnr: number,
  subordinate: number,
): PciBus {
  const bus = new PciBus(parent.core, parent.segment, busnr, parent, bridge, subordinate);
  if (bridge) bridge.subordinate = bus;
  parent.core.addBus(bus);
  return bus;
}

function setPortType(pdev: PciDev, type: number): void {
  pdev.pcie_flags_reg = (pdev.pcie_flags_reg & ~0xf0) | (type << 4);
}

/** set_pcie_port_type(): the correction of switch ports that report the wrong direction. */
export function set_pcie_port_type(pdev: PciDev): void {
  if (!pci_is_pcie(pdev)) return;
  const parent = pci_upstream_bridge(pdev);
  if (!parent) return;
  const log = (msg: string) => pdev.bus.core.k.printk.log('info', pdev.name, msg);
  const type = pci_pcie_type(pdev);
  if (type === PCI_EXP_TYPE_DOWNSTREAM && pcie_downstream_port(parent)) {
    log('claims to be downstream port but is acting as upstream port, correcting type');
    setPortType(pdev, PCI_EXP_TYPE_UPSTREAM);
  } else if (type === PCI_EXP_TYPE_UPSTREAM && pci_pcie_type(parent) === PCI_EXP_TYPE_UPSTREAM) {
    log('claims to be upstream port but is acting as downstream port, correcting type');
    setPortType(pdev, PCI_EXP_TYPE_DOWNSTREAM);
  }
}

/**
 * set_pcie_untrusted(): below an untrusted bridge, or below a port firmware
 * marks external-facing (the x86 arch_pci_dev_is_removable() test), a
 * function is untrusted.
 */
export function set_pcie_untrusted(pdev: PciDev): void {
  const parent = pci_upstream_bridge(pdev);
  if (parent && (parent.untrusted || parent.external_facing)) pdev.untrusted = true;
}

/** pci_setup_device(): the parts after the header was read: port type, trust. */
export function pci_setup_device(pdev: PciDev, bus: PciBus): void {
  pdev.attachBus(bus);
  set_pcie_port_type(pdev);
  set_pcie_untrusted(pdev);
}

/** pci_device_add(): header fixups, capabilities (ACS enabling among them), then onto the bus and global lists. */
export function pci_device_add(pdev: PciDev): void {
  pci_fixup_header(pdev);
  // pci_init_capabilities(): only ACS matters to the grouping.
  pci_acs_init(pdev);
  pdev.bus.core.addDevice(pdev);
}
