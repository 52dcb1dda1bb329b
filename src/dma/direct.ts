// SPDX-License-Identifier: GPL-2.0-only
/**
 * dma-direct (kernel/dma/direct.c, 6.12): a device without iommu-dma uses
 * physical addresses as DMA addresses. A mapping the device cannot reach
 * (above its mask or bus limit) would bounce through swiotlb; the model has
 * no swiotlb, so it fails the way a kernel without it does
 * ("DMA addr ... overflow").
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import type { DmaCoherent } from './dma-iommu-alloc.js';
import { DMA_MAPPING_ERROR } from './scatterlist.js';
import { dmaBitMask } from './dma-iommu.js';
import { PAGE_SIZE, get_order, pageAllocator } from '../mm/page-alloc.js';
import { physMem } from '../mm/phys-mem.js';

/** dma_capable(): the whole range is under the mask and the bus limit. */
export function dma_capable(dev: Device, addr: number, size: number, mask: number): boolean {
  if (addr === DMA_MAPPING_ERROR) return false;
  const limit = dev.bus_dma_limit ? Math.min(mask, dev.bus_dma_limit) : mask;
  return addr + size - 1 <= limit;
}

/** dma_direct_map_page() */
export function dma_direct_map_page(k: Kernel, dev: Device, phys: number, size: number): number {
  const mask = dmaBitMask(dev.dma_mask_bits);
  if (!dma_capable(dev, phys, size, mask)) {
    k.printk.warnOnce(
      true,
      'dma_direct_map_page',
      `DMA addr 0x${phys.toString(16)}+${size} overflow (mask ${mask.toString(16)}, bus limit ${dev.bus_dma_limit.toString(16)})`,
    );
    return DMA_MAPPING_ERROR;
  }
  return phys;
}

/** dma_direct_alloc(): one zeroed block below the coherent mask. */
export function dma_direct_alloc(k: Kernel, dev: Device, size: number): DmaCoherent | null {
  const order = get_order(size);
  const phys = pageAllocator(k).alloc_pages(order, dev.name, 'dma_direct_alloc');
  if (phys < 0) return null;
  const n = Math.ceil(size / PAGE_SIZE);
  if (!dma_capable(dev, phys, n * PAGE_SIZE, dmaBitMask(dev.coherent_dma_mask_bits))) {
    pageAllocator(k).free_pages(phys, order, 'dma_direct_alloc');
    return null;
  }
  const pages = Array.from({ length: n }, (_, i) => phys + i * PAGE_SIZE);
  for (const p of pages) physMem(k).write(p, new Uint8Array(PAGE_SIZE));
  return { dma_handle: phys, size, pages, kind: 'contiguous', pagesArray: null, order };
}

/** dma_direct_free() */
export function dma_direct_free(k: Kernel, buf: DmaCoherent): void {
  pageAllocator(k).free_pages(buf.pages[0], buf.order, 'dma_direct_free');
}
