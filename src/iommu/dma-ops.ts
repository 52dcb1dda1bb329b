// SPDX-License-Identifier: GPL-2.0-only
/**
 * iommu_setup_dma_ops() (drivers/iommu/dma-iommu.c): a device whose current
 * domain is a DMA-API domain gets iommu-dma; anything else keeps the
 * platform's direct DMA. The IOVA allocator and the DMA API itself are
 * modelled in src/dma (a later layer); here only the switch is recorded.
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import { iommu_is_dma_domain } from './domain.js';

export function iommu_setup_dma_ops(k: Kernel, dev: Device): void {
  const domain = dev.iommu_group?.domain ?? null;
  if (dev.pci && dev.iommu) dev.iommu.pci_32bit_workaround = !k.config.iommu_dma_forcedac;
  dev.dma_iommu = domain !== null && iommu_is_dma_domain(domain);
}
