// SPDX-License-Identifier: GPL-2.0-only
/**
 * pci_for_each_dma_alias() (drivers/pci/search.c): every requester ID a
 * function's DMA can carry when it reaches the root bus, in order:
 *
 *  1. its own (that of pci_real_dma_dev());
 *  2. each devfn in its dma_alias_mask, on its own bus;
 *  3. walking up, one per bridge that takes the transaction over:
 *     - root ports and switch ports pass IDs through (PCIe keeps the RID);
 *     - a PCIe-to-PCI(-X) bridge: its secondary bus with devfn 00.0;
 *     - a PCI-to-PCIe bridge: the bridge's own ID;
 *     - a conventional PCI bridge: its own ID, or secondary bus 00.0 with
 *       PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS (PCIe bridges hiding their capability);
 *     - buses without a bridge (SR-IOV virtual buses) are skipped;
 *     - a bridge with PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT ends the walk: the
 *       translation unit sits there.
 *
 * The callback's non-zero return stops the walk and is returned.
 */
import type { PciDev } from './pci-dev.js';
import {
  PCI_DEVFN,
  PCI_DEVID,
  PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT,
  PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS,
  PCI_EXP_TYPE_DOWNSTREAM,
  PCI_EXP_TYPE_PCIE_BRIDGE,
  PCI_EXP_TYPE_PCI_BRIDGE,
  PCI_EXP_TYPE_ROOT_PORT,
  PCI_EXP_TYPE_UPSTREAM,
  pci_dev_id,
  pci_is_pcie,
  pci_pcie_type,
} from './pci-dev.js';
import { pci_is_root_bus } from './pci-bus.js';
import { pci_real_dma_dev } from './dma-alias.js';

/** The callback: the function the alias belongs to, and the alias requester ID. */
export type DmaAliasFn = (pdev: PciDev, alias: number) => number;

/** The secondary bus with devfn 00.0, as a requester ID. */
function secondaryBusAlias(bridge: PciDev): number {
  // A bridge without a subordinate bus has nothing behind it, so the walk never reaches it.
  return PCI_DEVID(bridge.subordinate!.number, PCI_DEVFN(0, 0));
}

/** pci_for_each_dma_alias() */
export function pci_for_each_dma_alias(pdev: PciDev, fn: DmaAliasFn): number {
  pdev = pci_real_dma_dev(pdev);

  let ret = fn(pdev, pci_dev_id(pdev));
  if (ret) return ret;

  for (const devfn of [...pdev.dma_alias_mask].sort((a, b) => a - b)) {
    ret = fn(pdev, PCI_DEVID(pdev.busNr, devfn));
    if (ret) return ret;
  }

  for (let bus = pdev.bus; !pci_is_root_bus(bus); bus = bus.parent!) {
    const tmp = bus.self;
    if (!tmp) continue; // a virtual bus

    if (tmp.dev_flags & PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT) return ret;

    if (pci_is_pcie(tmp)) {
      switch (pci_pcie_type(tmp)) {
        case PCI_EXP_TYPE_ROOT_PORT:
        case PCI_EXP_TYPE_UPSTREAM:
        case PCI_EXP_TYPE_DOWNSTREAM:
          continue;
        case PCI_EXP_TYPE_PCI_BRIDGE:
          ret = fn(tmp, secondaryBusAlias(tmp));
          if (ret) return ret;
          continue;
        case PCI_EXP_TYPE_PCIE_BRIDGE:
          ret = fn(tmp, pci_dev_id(tmp));
          if (ret) return ret;
          continue;
      }
    } else {
      ret =
        tmp.dev_flags & PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS
          ? fn(tmp, secondaryBusAlias(tmp))
          : fn(tmp, pci_dev_id(tmp));
      if (ret) return ret;
    }
  }
  return ret;
}
