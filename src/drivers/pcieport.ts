// SPDX-License-Identifier: GPL-2.0-only
/**
 * The PCI Express port driver (drivers/pci/pcie/portdrv.c): it matches every
 * PCI-to-PCI bridge by class and keeps only PCI Express root ports, switch
 * ports and root-complex event collectors (pcie_portdrv_probe() returns
 * -ENODEV for a conventional bridge). As a DMA-API driver its bind counts as
 * a user of the port's group.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { DeviceDriver } from '../base/driver.js';
import { ENODEV } from '../kernel/errno.js';
import {
  PCI_EXP_TYPE_DOWNSTREAM,
  PCI_EXP_TYPE_RC_EC,
  PCI_EXP_TYPE_ROOT_PORT,
  PCI_EXP_TYPE_UPSTREAM,
  pci_is_pcie,
  pci_pcie_type,
} from '../pci/pci-dev.js';

const PCI_CLASS_BRIDGE_PCI_NORMAL = 0x060400;
const PCI_CLASS_BRIDGE_PCI_SUBTRACTIVE = 0x060401;

export function pcieportDriver(k: Kernel, name = 'pcieport'): DeviceDriver {
  const bus = k.base.buses.get('pci');
  if (!bus) throw new Error('pcieport: no pci bus');
  return {
    name,
    bus,
    pci_id_table: [{ class: PCI_CLASS_BRIDGE_PCI_NORMAL }, { class: PCI_CLASS_BRIDGE_PCI_SUBTRACTIVE }],
    // pcie_portdriver.driver_managed_dma (v5.19 on): a port does no DMA of its own, so it takes no
    // default-domain reference and VFIO can claim a group that contains one.
    driver_managed_dma: true,
    /** pcie_portdrv_probe() */
    probe(_k, dev) {
      const pdev = dev.pci;
      if (!pdev || !pci_is_pcie(pdev)) return -ENODEV;
      const type = pci_pcie_type(pdev);
      const port = [
        PCI_EXP_TYPE_ROOT_PORT,
        PCI_EXP_TYPE_UPSTREAM,
        PCI_EXP_TYPE_DOWNSTREAM,
        PCI_EXP_TYPE_RC_EC,
      ];
      return port.includes(type) ? 0 : -ENODEV;
    },
  };
}
