// SPDX-License-Identifier: GPL-2.0-only
/**
 * Where a device-tree device's MSIs go, and whether they are isolated
 * (drivers/of/irq.c of_msi_map_id(), of_msi_get_domain(),
 * of_msi_map_get_device_domain(); drivers/pci/msi/irqdomain.c
 * pci_msi_get_device_domain(); drivers/pci/probe.c pci_set_bus_msi_domain();
 * kernel/irq/msi.c msi_device_has_isolated_msi()).
 *
 * A platform device's MSI controller is its node's `msi-parent`. A PCI
 * function's is first the device-specific one: the `msi-map` entry its
 * requester ID falls in (the last ID pci_for_each_dma_alias() reports, as the
 * ITS sees it), which also gives its DeviceID; only when that gives none does
 * it inherit the bus domain, its host bridge's `msi-parent`
 * (pci_set_msi_domain()). Only a GICv3 ITS marks its domain as isolating MSIs
 * (IRQ_DOMAIN_FLAG_ISOLATED_MSI; not when a Socionext pre-ITS fronts it): a
 * GICv2m frame does not, so VFIO and iommufd refuse such devices unless
 * unsafe interrupts are allowed.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { Fwnode } from '../../base/fwnode.js';
import { of_device_is_compatible, of_find_node_by_phandle, of_map_id } from './of-base.js';
import { pci_for_each_dma_alias } from '../../pci/search.js';

export interface MsiTarget {
  /** The MSI controller's node, or null: no MSI domain. */
  readonly controller: Fwnode | null;
  /** The ID the controller sees (an ITS DeviceID), when a map gave one. */
  readonly id: number | null;
  /** IRQ_DOMAIN_FLAG_ISOLATED_MSI on the controller's domain. */
  readonly isolated: boolean;
  /** Where the answer came from, for "explain". */
  readonly source: string;
}

/** Whether a controller's MSI domain isolates MSIs (its_probe_one() sets the flag, the Socionext quirk clears it). */
function isolates(np: Fwnode): boolean {
  return of_device_is_compatible(np, 'arm,gic-v3-its') && !np.properties.has('socionext,synquacer-pre-its');
}

/** The first `msi-parent` phandle of a node, or null. */
function msiParent(k: Kernel, np: Fwnode): Fwnode | null {
  const v = np.properties.get('msi-parent');
  return Array.isArray(v) && v.length > 0 ? of_find_node_by_phandle(k, v[0]) : null;
}

function target(controller: Fwnode | null, id: number | null, source: string): MsiTarget {
  return { controller, id, isolated: controller ? isolates(controller) : false, source };
}

/**
 * Set a device's MSI domain from the tree (of_msi_configure() for platform
 * devices, pci_set_msi_domain() for PCI functions): no MSI domain means no
 * isolation (arch_is_isolated_msi() is false on Arm).
 */
export function of_msi_configure(k: Kernel, dev: Device, node: Fwnode): void {
  const t = of_msi_target(k, dev, node);
  dev.msiIsolated = t?.isolated ?? false;
  dev.msi = t
    ? { controller: t.controller?.name ?? null, id: t.id, source: t.source }
    : { controller: null, id: null, source: `${node.name} has no msi-parent${dev.pci ? ' or msi-map' : ''}` };
}

/**
 * The MSI target of a device described by a device tree: `node` is the
 * device's own node, or (PCI) its host bridge's. null when the tree says
 * nothing about MSIs for it.
 */
export function of_msi_target(k: Kernel, dev: Device, node: Fwnode): MsiTarget | null {
  if (!dev.pci) {
    const parent = msiParent(k, node);
    return parent ? target(parent, null, `${node.name} msi-parent`) : null;
  }
  // pci_msi_get_device_domain(): the msi-map entry, if one gives a controller.
  let missed: string | null = null;
  if (node.properties.has('msi-map')) {
    let rid = dev.pci.devfn | (dev.pci.bus.number << 8);
    pci_for_each_dma_alias(dev.pci, (_p, alias) => {
      rid = alias;
      return 0;
    });
    const m = of_map_id(k, node, rid, 'msi-map', 'msi-map-mask');
    if (typeof m !== 'number' && m.target)
      return target(
        m.target,
        m.id_out,
        `${node.name} msi-map entry ${m.entry}: RID 0x${rid.toString(16)} -> DeviceID 0x${m.id_out.toString(16)}`,
      );
    missed = `${node.name} msi-map: no entry for RID 0x${rid.toString(16)}`;
  }
  // Else the bus domain (pci_host_bridge_of_msi_domain()).
  const bus = msiParent(k, node);
  if (bus) return target(bus, null, `host ${node.name} msi-parent`);
  return missed === null ? null : target(null, null, missed);
}
