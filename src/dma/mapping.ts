// SPDX-License-Identifier: GPL-2.0-only
/**
 * The DMA API a driver calls (kernel/dma/mapping.c, 6.12): each call goes to
 * iommu-dma when the device's default domain is a DMA domain
 * (dev->dma_iommu, set by iommu_setup_dma_ops()), else to dma-direct.
 * Handles are numbers; DMA_MAPPING_ERROR is -1; sizes are bytes.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import type { DmaCoherent } from './dma-iommu-alloc.js';
import type { Scatterlist } from './scatterlist.js';
import type { DmaDataDirection } from './dma-iommu.js';
import { DMA_MAPPING_ERROR } from './scatterlist.js';
import {
  iommu_dma_map_page,
  iommu_dma_map_resource,
  iommu_dma_map_sg,
  iommu_dma_unmap_page,
  iommu_dma_unmap_sg,
  __iommu_dma_unmap,
} from './dma-iommu.js';
import { iommu_dma_alloc, iommu_dma_free } from './dma-iommu-alloc.js';
import { dma_direct_alloc, dma_direct_free, dma_direct_map_page } from './direct.js';
import { EINVAL, EIO, ENOMEM } from '../kernel/errno.js';
import { dmaDebug } from '../checker/dma-debug.js';

export type { DmaDataDirection, DmaCoherent, Scatterlist };
export { DMA_MAPPING_ERROR };

/** dma_mapping_error(): -ENOMEM for the error handle, else 0 (and dma-debug notes the check). */
export function dma_mapping_error(k: Kernel, dev: Device, handle: number): number {
  dmaDebug(k).mappingError(dev, handle);
  return handle === DMA_MAPPING_ERROR ? -ENOMEM : 0;
}

/** The smallest mask dma-direct can serve (ZONE_DMA: 24 bits). */
const MIN_DIRECT_MASK_BITS = 24;

/** dma_supported() */
function dma_supported(dev: Device, bits: number): boolean {
  return dev.dma_iommu || bits >= MIN_DIRECT_MASK_BITS;
}

/** dma_set_mask(): 0, or -EIO when the mask cannot be served. */
export function dma_set_mask(dev: Device, bits: number): number {
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= 64)) return -EINVAL;
  if (!dma_supported(dev, bits)) return -EIO;
  dev.dma_mask_bits = bits;
  return 0;
}

/** dma_set_coherent_mask() */
export function dma_set_coherent_mask(dev: Device, bits: number): number {
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= 64)) return -EINVAL;
  if (!dma_supported(dev, bits)) return -EIO;
  dev.coherent_dma_mask_bits = bits;
  return 0;
}

/** dma_set_mask_and_coherent() */
export function dma_set_mask_and_coherent(dev: Device, bits: number): number {
  const ret = dma_set_mask(dev, bits);
  return ret || dma_set_coherent_mask(dev, bits);
}

/** dma_map_page_attrs() with phys = page_to_phys(page) + offset. */
export function dma_map_page_attrs(
  k: Kernel,
  dev: Device,
  phys: number,
  size: number,
  dir: DmaDataDirection,
  attrs = 0,
): number {
  if (dir === 'none') {
    k.printk.warn(true, 'dma_map_page_attrs', 'BUG_ON(!valid_dma_direction(dir))', dev.name);
    return DMA_MAPPING_ERROR;
  }
  const h = dev.dma_iommu
    ? iommu_dma_map_page(k, dev, phys, size, dir, attrs)
    : dma_direct_map_page(k, dev, phys, size);
  if (h !== DMA_MAPPING_ERROR) dmaDebug(k).add(dev, 'single', h, size, dir);
  return h;
}

/** dma_unmap_page_attrs() */
export function dma_unmap_page_attrs(
  k: Kernel,
  dev: Device,
  handle: number,
  size: number,
  dir: DmaDataDirection,
  _attrs = 0,
): void {
  dmaDebug(k).unmap(dev, 'single', handle, size, dir);
  if (dev.dma_iommu) iommu_dma_unmap_page(k, dev, handle, size);
}

/** dma_map_sg_attrs(): the DMA segments used, 0 on failure. */
export function dma_map_sg_attrs(
  k: Kernel,
  dev: Device,
  sg: Scatterlist[],
  dir: DmaDataDirection,
  attrs = 0,
): number {
  const ret = __dma_map_sg_attrs(k, dev, sg, dir, attrs);
  return ret < 0 ? 0 : ret;
}

/** dma_map_sgtable(): the segments, or -EINVAL / -ENOMEM / -EIO as __dma_map_sg_attrs() returns. */
export function dma_map_sgtable(
  k: Kernel,
  dev: Device,
  sg: Scatterlist[],
  dir: DmaDataDirection,
  attrs = 0,
): number {
  return __dma_map_sg_attrs(k, dev, sg, dir, attrs);
}

/** __dma_map_sg_attrs(), with debug_dma_map_sg() on the segments mapped. */
function __dma_map_sg_attrs(
  k: Kernel,
  dev: Device,
  sg: Scatterlist[],
  dir: DmaDataDirection,
  attrs: number,
): number {
  const ret = dev.dma_iommu ? iommu_dma_map_sg(k, dev, sg, dir, attrs) : dma_direct_map_sg(k, dev, sg);
  for (let i = 0; i < ret; i++) {
    dmaDebug(k).add(dev, 'scatter-gather', sg[i].dma_address, sg[i].dma_length, dir);
    dmaDebug(k).mappingError(dev, sg[i].dma_address);
  }
  return ret;
}

/** dma_direct_map_sg(): each entry on its own. */
function dma_direct_map_sg(k: Kernel, dev: Device, sg: Scatterlist[]): number {
  let i = 0;
  for (; i < sg.length; i++) {
    const s = sg[i];
    const h = dma_direct_map_page(k, dev, s.page + s.offset, s.length);
    if (h === DMA_MAPPING_ERROR) {
      for (let j = 0; j < i; j++) sg[j].dma_length = 0;
      return -EIO;
    }
    s.dma_address = h;
    s.dma_length = s.length;
  }
  return sg.length;
}

/** dma_unmap_sg_attrs(): `sg` as dma_map_sg() left it. */
export function dma_unmap_sg_attrs(
  k: Kernel,
  dev: Device,
  sg: Scatterlist[],
  dir: DmaDataDirection,
  _attrs = 0,
): void {
  for (const s of sg) {
    if (!s.dma_length) break;
    dmaDebug(k).unmap(dev, 'scatter-gather', s.dma_address, s.dma_length, dir);
  }
  if (dev.dma_iommu) iommu_dma_unmap_sg(k, dev, sg);
}

/** dma_map_resource() */
export function dma_map_resource(
  k: Kernel,
  dev: Device,
  phys: number,
  size: number,
  dir: DmaDataDirection,
  attrs = 0,
): number {
  const h = dev.dma_iommu ? iommu_dma_map_resource(k, dev, phys, size, dir, attrs) : phys;
  if (h !== DMA_MAPPING_ERROR) {
    dmaDebug(k).add(dev, 'resource', h, size, dir);
    dmaDebug(k).mappingError(dev, h);
  }
  return h;
}

/** dma_unmap_resource() */
export function dma_unmap_resource(
  k: Kernel,
  dev: Device,
  handle: number,
  size: number,
  dir: DmaDataDirection,
  _attrs = 0,
): void {
  dmaDebug(k).unmap(dev, 'resource', handle, size, dir);
  if (dev.dma_iommu) __iommu_dma_unmap(k, dev, handle, size);
}

/** dma_alloc_attrs(): a zeroed coherent buffer, or null. `blocking`: the gfp allows sleeping. */
export function dma_alloc_attrs(
  k: Kernel,
  dev: Device,
  size: number,
  attrs = 0,
  blocking = true,
): DmaCoherent | null {
  if (!(size > 0)) return null;
  const buf = dev.dma_iommu ? iommu_dma_alloc(k, dev, size, attrs, blocking) : dma_direct_alloc(k, dev, size);
  if (buf) dmaDebug(k).add(dev, 'coherent', buf.dma_handle, size, 'bidirectional');
  return buf;
}

/** dma_free_attrs() */
export function dma_free_attrs(k: Kernel, dev: Device, buf: DmaCoherent): void {
  dmaDebug(k).unmap(dev, 'coherent', buf.dma_handle, buf.size, null);
  if (dev.dma_iommu) iommu_dma_free(k, dev, buf);
  else dma_direct_free(k, buf);
}
