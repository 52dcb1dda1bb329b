// SPDX-License-Identifier: GPL-2.0-only
/**
 * iommu_setup_dma_ops() (drivers/iommu/dma-iommu.c, 6.12): a device whose
 * current domain is a DMA-API domain gets iommu-dma, after
 * iommu_dma_init_domain() has set up (or checked) the domain's IOVA space;
 * if that fails it keeps the platform's direct DMA, with a warning. The DMA
 * API itself is in src/dma.
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import { iommu_is_dma_domain } from './domain.js';
import { iommu_dma_init_domain } from '../dma/dma-iommu.js';

export function iommu_setup_dma_ops(k: Kernel, dev: Device): void {
  const domain = dev.iommu_group?.domain ?? null;
  if (dev.pci && dev.iommu) dev.iommu.pci_32bit_workaround = !k.config.iommu_dma_forcedac;
  dev.dma_iommu = domain !== null && iommu_is_dma_domain(domain);
  if (dev.dma_iommu && iommu_dma_init_domain(k, domain!, dev)) {
    k.printk.log(
      'warn',
      'iommu',
      `Failed to set up IOMMU for device ${dev.name}; retaining platform DMA ops`,
    );
    dev.dma_iommu = false;
  }
}
