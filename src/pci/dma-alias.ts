// SPDX-License-Identifier: GPL-2.0-only
/**
 * DMA aliases that are not topology (drivers/pci/pci.c pci_add_dma_alias(),
 * pci_devs_are_dma_aliases(), pci_real_dma_dev()): devfns on a function's own
 * bus that it also issues DMA as (dma_alias_mask, filled by quirks and by
 * IOMMU drivers from firmware tables), and the platform's "real DMA device"
 * override (x86 VMD), null here unless set.
 */
import type { PciDev } from './pci-dev.js';
import { MAX_NR_DEVFNS, devfnName } from './pci-dev.js';

/** pci_real_dma_dev(): the function whose requester ID stands for pdev (pdev itself by default). */
export function pci_real_dma_dev(pdev: PciDev): PciDev {
  return pdev.real_dma_dev ?? pdev;
}

/** pci_add_dma_alias(): devfns [devfn_from, devfn_from + nr_devfns) on pdev's bus become aliases. */
export function pci_add_dma_alias(pdev: PciDev, devfn_from: number, nr_devfns: number): void {
  const nr = Math.min(nr_devfns, MAX_NR_DEVFNS - devfn_from);
  const mask = new Set(pdev.dma_alias_mask);
  for (let devfn = devfn_from; devfn < devfn_from + nr; devfn++) mask.add(devfn);
  pdev.dma_alias_mask = mask;
  const msg =
    nr === 1
      ? `Enabling fixed DMA alias to ${devfnName(devfn_from)}`
      : nr > 1
        ? `Enabling fixed DMA alias for devfn range from ${devfnName(devfn_from)} to ${devfnName(devfn_from + nr - 1)}`
        : null;
  if (msg && pdev.onBus) pdev.bus.core.k.printk.log('info', pdev.name, msg);
}

/** pci_devs_are_dma_aliases(): one of the two names the other in its mask, or stands in for it. */
export function pci_devs_are_dma_aliases(dev1: PciDev, dev2: PciDev): boolean {
  return (
    dev1.dma_alias_mask.has(dev2.devfn) ||
    dev2.dma_alias_mask.has(dev1.devfn) ||
    pci_real_dma_dev(dev1) === dev2 ||
    pci_real_dma_dev(dev2) === dev1
  );
}
