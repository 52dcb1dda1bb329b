// SPDX-License-Identifier: GPL-2.0-only
/**
 * iommu-dma: the DMA API on top of a DMA-API domain (drivers/iommu/
 * dma-iommu.c, 6.12). A device whose default domain is DMA or DMA-FQ gets
 * its DMA addresses from the domain's IOVA allocator and its mappings from
 * iommu_map(); unmapping invalidates before returning (strict) or hands the
 * IOVA to the flush queue (DMA-FQ).
 *
 *  - iommu_dma_init_domain(): the first device sets the IOVA granule (the
 *    smallest page size) and start (the aperture's), the per-CPU caches and,
 *    for DMA-FQ, the flush queue (strict if that fails), and reserves its
 *    reserved regions (software MSI windows excepted: iommu-dma hands those
 *    out itself). Later devices only have to agree on granule and start.
 *  - iommu_dma_alloc_iova(): the device's mask, its bus limit and the
 *    aperture bound the address; PCI devices try below 4G first and, when
 *    that fails once, say "Using N-bit DMA addresses" and stop trying.
 *  - map_page/map_sg/map_resource and their unmaps; the allocation API is in
 *    dma-iommu-alloc.ts.
 *
 * Not modelled: swiotlb bouncing of untrusted devices, PCI host-bridge
 * window reservations (the model has no bridge windows), P2P DMA, the
 * deferred attach of kdump kernels, the MSI-only cookie of VFIO domains.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import type { IommuDomain } from '../iommu/domain.js';
import type { IommuIotlbGather } from '../iommu/map.js';
import type { IommuDmaCookie } from './cookie.js';
import type { Scatterlist } from './scatterlist.js';
import { DMA_MAPPING_ERROR, sg_phys } from './scatterlist.js';
import { IOMMU_DOMAIN_DMA, IOMMU_DOMAIN_DMA_FQ } from '../iommu/domain.js';
import {
  iommu_iotlb_gather_init,
  iommu_iotlb_sync,
  iommu_iova_to_phys,
  iommu_map,
  iommu_map_sg_runs,
  iommu_unmap_fast,
  lowBit,
} from '../iommu/map.js';
import { init_iova_domain, reserve_iova } from './iova.js';
import { alloc_iova_fast, free_iova_fast, iova_domain_init_rcaches } from './iova-rcache.js';
import { iommu_dma_init_fq, queue_iova } from './flush-queue.js';
import { IOVA_SINGLE_FQ_SIZE, IOVA_SINGLE_FQ_TIMEOUT } from './cookie.js';
import { IOMMU_RESV_MSI, IOMMU_RESV_SW_MSI, iommu_get_resv_regions } from '../iommu/resv-regions.js';
import { IOMMU_CACHE, IOMMU_MMIO, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE } from '../pgtable/prot.js';
import { EFAULT, EINVAL, ENOMEM } from '../kernel/errno.js';
import { kernelPageSize } from '../kernel/kconfig.js';

export type DmaDataDirection = 'bidirectional' | 'to-device' | 'from-device' | 'none';

/** DMA_ATTR_* bits the model reads. */
export const DMA_ATTR_SKIP_CPU_SYNC = 1 << 5;
export const DMA_ATTR_FORCE_CONTIGUOUS = 1 << 6;
export const DMA_ATTR_ALLOC_SINGLE_PAGES = 1 << 7;
export const DMA_ATTR_PRIVILEGED = 1 << 9;

/** DMA_BIT_MASK(n) as a number (2^64 - 1 rounds to 2^64; the comparisons below do not care). */
export function dmaBitMask(bits: number): number {
  return 2 ** bits - 1;
}

/** iommu_get_dma_domain(): the group's default domain. */
export function iommu_get_dma_domain(dev: Device): IommuDomain {
  return dev.iommu_group!.default_domain!;
}

/** dma_info_to_prot() */
export function dma_info_to_prot(dir: DmaDataDirection, coherent: boolean, attrs: number): number {
  let prot = coherent ? IOMMU_CACHE : 0;
  if (attrs & DMA_ATTR_PRIVILEGED) prot |= IOMMU_PRIV;
  switch (dir) {
    case 'bidirectional':
      return prot | IOMMU_READ | IOMMU_WRITE;
    case 'to-device':
      return prot | IOMMU_READ;
    case 'from-device':
      return prot | IOMMU_WRITE;
    default:
      return 0;
  }
}

/** iova_offset(), iova_align() */
const iova_offset = (cookie: IommuDmaCookie, a: number): number => a % cookie.iovad!.granule;
const iova_align = (cookie: IommuDmaCookie, a: number): number =>
  Math.ceil(a / cookie.iovad!.granule) * cookie.iovad!.granule;

/** cookie_init_hw_msi_region(): one msi page per granule of a hardware MSI window. */
function cookie_init_hw_msi_region(k: Kernel, domain: IommuDomain, start: number, end: number): number {
  const cookie = domain.iova_cookie!;
  const g = cookie.iovad!.granule;
  for (let a = start - (start % g); a < end; a += g) {
    const mem = k.alloc.alloc('iommu_dma_msi_page', domain.label, 'cookie_init_hw_msi_region');
    if (!mem) return -ENOMEM;
    cookie.msiPages.push({ iova: a, mem });
  }
  return 0;
}

/** iova_reserve_iommu_regions(): everything but software MSI windows is kept out of the allocator. */
function iova_reserve_iommu_regions(k: Kernel, dev: Device, domain: IommuDomain): number {
  const iovad = domain.iova_cookie!.iovad!;
  for (const r of iommu_get_resv_regions(k, dev)) {
    if (r.type === IOMMU_RESV_SW_MSI) continue;
    const start = Number(r.start);
    const last = Number(r.start + r.length - 1n);
    reserve_iova(iovad, Math.floor(start / iovad.granule), Math.floor(last / iovad.granule));
    if (r.type === IOMMU_RESV_MSI) {
      const ret = cookie_init_hw_msi_region(k, domain, start, last + 1);
      if (ret) return ret;
    }
  }
  return 0;
}

/** iommu_dma_init_options() */
function iommu_dma_init_options(cookie: IommuDmaCookie, dev: Device): void {
  // Shadowing IOTLBs (s390) flush better with one big queue.
  if (dev.iommu?.shadow_on_flush)
    cookie.options = { qt: 'single', fq_size: IOVA_SINGLE_FQ_SIZE, fq_timeout: IOVA_SINGLE_FQ_TIMEOUT };
}

/** iommu_dma_init_domain(): 0, -EINVAL without a cookie, -EFAULT for a device that disagrees, -ENOMEM. */
export function iommu_dma_init_domain(k: Kernel, domain: IommuDomain, dev: Device): number {
  const cookie = domain.iova_cookie;
  if (!cookie) return -EINVAL;
  const granule = lowBit(domain.pgsize_bitmap);
  const base_pfn = Math.max(1, Math.floor((domain.geometry?.aperture_start ?? 0) / granule));
  if (cookie.iovad) {
    if (granule !== cookie.iovad.granule || base_pfn !== cookie.iovad.start_pfn) {
      k.printk.log('warn', 'iommu', 'Incompatible range for DMA domain');
      return -EFAULT;
    }
    return 0;
  }
  const owner = domain.label;
  cookie.iovad = init_iova_domain(granule, base_pfn, {
    pageSize: kernelPageSize(k.kconfig),
    failAlloc: (what) =>
      !k.alloc.attempt(what, owner, what === 'iova' ? 'alloc_iova_mem' : 'iova_domain_init_rcaches'),
  });
  const ret = iova_domain_init_rcaches(cookie.iovad);
  if (ret) return ret;
  iommu_dma_init_options(cookie, dev);
  // No flush queue: strict after all.
  if (domain.type === IOMMU_DOMAIN_DMA_FQ) {
    const deferred = dev.iommu?.iommu_dev?.ops?.capable?.(k, dev, 'DEFERRED_FLUSH') ?? false;
    if (!deferred || iommu_dma_init_fq(k, domain)) domain.type = IOMMU_DOMAIN_DMA;
  }
  return iova_reserve_iommu_regions(k, dev, domain);
}

/** A NULL iovad->rcaches dereference (the rcaches could not be allocated at init): the kernel oopses. */
function rcachesMissing(k: Kernel, cookie: IommuDmaCookie, fn: string): boolean {
  return k.printk.warn(
    cookie.iovad!.rcaches === null,
    fn,
    'BUG: kernel NULL pointer dereference: iovad->rcaches (iova_domain_init_rcaches() had failed)',
  );
}

/** iommu_dma_alloc_iova(): the IOVA, or 0 when none fits under the limit. */
function iommu_dma_alloc_iova(
  k: Kernel,
  domain: IommuDomain,
  size: number,
  dma_limit: number,
  dev: Device,
): number {
  const cookie = domain.iova_cookie!;
  const iovad = cookie.iovad!;
  if (rcachesMissing(k, cookie, 'alloc_iova_fast')) return 0;
  const g = iovad.granule;
  const len = size / g;
  if (dev.bus_dma_limit && dev.bus_dma_limit < dma_limit) dma_limit = dev.bus_dma_limit;
  if (domain.geometry?.force_aperture) dma_limit = Math.min(dma_limit, domain.geometry.aperture_end);
  // Below 4G first for PCI devices, until that fails once.
  if (dma_limit > dmaBitMask(32) && dev.iommu?.pci_32bit_workaround) {
    const pfn = alloc_iova_fast(iovad, len, Math.floor(dmaBitMask(32) / g), false);
    if (pfn) return pfn * g;
    dev.iommu.pci_32bit_workaround = false;
    k.printk.log('info', dev.name, `Using ${bitsPer(dma_limit)}-bit DMA addresses`);
  }
  return alloc_iova_fast(iovad, len, Math.floor(dma_limit / g), true) * g;
}

export { iommu_dma_alloc_iova as iommuDmaAllocIova, iommu_dma_free_iova as iommuDmaFreeIova };

/** bits_per(): bits needed to hold n. */
function bitsPer(n: number): number {
  let b = 0;
  while (2 ** b <= n && b < 64) b++;
  return b;
}

/** iommu_dma_free_iova(): back to the caches, or into the flush queue when the unmap was queued. */
function iommu_dma_free_iova(
  k: Kernel,
  cookie: IommuDmaCookie,
  iova: number,
  size: number,
  gather: IommuIotlbGather | null,
): void {
  const iovad = cookie.iovad!;
  if (rcachesMissing(k, cookie, 'free_iova_fast')) return;
  const pfn = iova / iovad.granule;
  const pages = size / iovad.granule;
  if (gather?.queued) queue_iova(k, cookie, pfn, pages);
  else free_iova_fast(iovad, pfn, pages);
}

/** __iommu_dma_unmap() */
export function __iommu_dma_unmap(k: Kernel, dev: Device, dma_addr: number, size: number): void {
  const domain = iommu_get_dma_domain(dev);
  const cookie = domain.iova_cookie!;
  const off = iova_offset(cookie, dma_addr);
  dma_addr -= off;
  size = iova_align(cookie, size + off);
  const gather = iommu_iotlb_gather_init();
  gather.queued = cookie.fq_domain !== null;
  const unmapped = iommu_unmap_fast(k, domain, dma_addr, size, gather);
  k.printk.warn(
    unmapped !== size,
    '__iommu_dma_unmap',
    `WARN_ON(unmapped != size): unmapped 0x${unmapped.toString(16)} of 0x${size.toString(16)} at 0x${dma_addr.toString(16)}`,
    dev.name,
  );
  if (!gather.queued) iommu_iotlb_sync(k, domain, gather);
  iommu_dma_free_iova(k, cookie, dma_addr, size, gather);
}

/** __iommu_dma_map(): the DMA address, or DMA_MAPPING_ERROR. */
export function __iommu_dma_map(
  k: Kernel,
  dev: Device,
  phys: number,
  size: number,
  prot: number,
  dma_mask: number,
): number {
  const domain = iommu_get_dma_domain(dev);
  const cookie = domain.iova_cookie!;
  const off = iova_offset(cookie, phys);
  size = iova_align(cookie, size + off);
  const iova = iommu_dma_alloc_iova(k, domain, size, dma_mask, dev);
  if (!iova) return DMA_MAPPING_ERROR;
  if (iommu_map(k, domain, iova, phys - off, size, prot)) {
    iommu_dma_free_iova(k, cookie, iova, size, null);
    return DMA_MAPPING_ERROR;
  }
  return iova + off;
}

/** iommu_dma_map_page() (phys is page_to_phys(page) + offset) */
export function iommu_dma_map_page(
  k: Kernel,
  dev: Device,
  phys: number,
  size: number,
  dir: DmaDataDirection,
  attrs: number,
): number {
  const prot = dma_info_to_prot(dir, dev.dma_coherent, attrs);
  return __iommu_dma_map(k, dev, phys, size, prot, dmaBitMask(dev.dma_mask_bits));
}

/** iommu_dma_unmap_page() */
export function iommu_dma_unmap_page(k: Kernel, dev: Device, dma_handle: number, size: number): void {
  // An address the domain does not translate (a double unmap, say): WARN and leave everything as it is.
  const phys = iommu_iova_to_phys(k, iommu_get_dma_domain(dev), dma_handle);
  if (k.printk.warn(phys === 0, 'iommu_dma_unmap_page', 'WARN_ON(!phys)', dev.name)) return;
  __iommu_dma_unmap(k, dev, dma_handle, size);
}

/** iommu_dma_map_resource(): MMIO of another device (no IOMMU_CACHE). */
export function iommu_dma_map_resource(
  k: Kernel,
  dev: Device,
  phys: number,
  size: number,
  dir: DmaDataDirection,
  attrs: number,
): number {
  return __iommu_dma_map(
    k,
    dev,
    phys,
    size,
    dma_info_to_prot(dir, false, attrs) | IOMMU_MMIO,
    dmaBitMask(dev.dma_mask_bits),
  );
}

/** dma_get_seg_boundary() as a boundary size (mask + 1), or null for ULONG_MAX (none). */
function segBoundary(dev: Device): number | null {
  return dev.dma_parms ? dev.dma_parms.segment_boundary_mask + 1 : null;
}

/** dma_get_max_seg_size() */
function maxSegSize(dev: Device): number {
  return dev.dma_parms?.max_segment_size || 0x10000;
}

/**
 * __finalise_sg(): turn the IOVA-aligned layout back into the caller's
 * entries and merge what is contiguous in IOVA, not at a segment boundary
 * and short enough. Returns the DMA segments.
 */
function __finalise_sg(dev: Device, sg: Scatterlist[], dma_addr: number): number {
  const boundary = segBoundary(dev);
  const max_len = maxSegSize(dev);
  let cur = -1;
  let cur_len = 0;
  let count = 0;
  for (const s of sg) {
    const s_iova_off = s.dma_address;
    const s_length = s.dma_length;
    const s_iova_len = s.length;
    s.dma_address = DMA_MAPPING_ERROR;
    s.dma_length = 0;
    s.offset += s_iova_off;
    s.length = s_length;
    const atBoundary = boundary === null ? dma_addr === 0 : dma_addr % boundary === 0;
    if (cur_len && !s_iova_off && !atBoundary && max_len - cur_len >= s_length) {
      cur_len += s_length;
    } else {
      cur++;
      cur_len = s_length;
      count++;
      sg[cur].dma_address = dma_addr + s_iova_off;
    }
    sg[cur].dma_length = cur_len;
    dma_addr += s_iova_len;
    if (s_length + s_iova_off < s_iova_len) cur_len = 0;
  }
  return count;
}

/** __invalidate_sg(): restore the entries after a failed mapping. */
function __invalidate_sg(sg: Scatterlist[]): void {
  for (const s of sg) {
    if (s.dma_address !== DMA_MAPPING_ERROR) s.offset += s.dma_address;
    if (s.dma_length) s.length = s.dma_length;
    s.dma_address = DMA_MAPPING_ERROR;
    s.dma_length = 0;
  }
}

/**
 * iommu_dma_map_sg(): one IOVA range for the whole list, each entry padded to
 * the IOVA granule and, where it would cross a segment boundary, pushed to
 * the next one. The number of DMA segments, or -ENOMEM / -EINVAL.
 */
export function iommu_dma_map_sg(
  k: Kernel,
  dev: Device,
  sg: Scatterlist[],
  dir: DmaDataDirection,
  attrs: number,
): number {
  const domain = iommu_get_dma_domain(dev);
  const cookie = domain.iova_cookie!;
  const prot = dma_info_to_prot(dir, dev.dma_coherent, attrs);
  const boundary = segBoundary(dev);
  let iova_len = 0;
  let prev: Scatterlist | null = null;
  for (const s of sg) {
    const s_iova_off = iova_offset(cookie, s.offset);
    let s_length = s.length;
    const pad_len = boundary === null ? 0 : (boundary - (iova_len % boundary)) % boundary;
    s.dma_address = s_iova_off;
    s.dma_length = s_length;
    s.offset -= s_iova_off;
    s_length = iova_align(cookie, s_length + s_iova_off);
    s.length = s_length;
    // Crossing a boundary: pad the previous entry so that this one starts on it.
    if (pad_len && pad_len < s_length - 1 && prev) {
      prev.length += pad_len;
      iova_len += pad_len;
    }
    iova_len += s_length;
    prev = s;
  }
  if (!iova_len) return __finalise_sg(dev, sg, 0);
  const iova = iommu_dma_alloc_iova(k, domain, iova_len, dmaBitMask(dev.dma_mask_bits), dev);
  let ret = -ENOMEM;
  if (iova) {
    const mapped = iommu_map_sg_runs(
      k,
      domain,
      iova,
      sg.map((s) => ({ phys: sg_phys(s), length: s.length })),
      prot,
    );
    if (mapped >= 0 && mapped >= iova_len) return __finalise_sg(dev, sg, iova);
    ret = mapped < 0 ? mapped : -EINVAL;
    iommu_dma_free_iova(k, cookie, iova, iova_len, null);
  }
  __invalidate_sg(sg);
  return ret === -ENOMEM ? ret : -EINVAL;
}

/** iommu_dma_unmap_sg(): the whole range, from the first segment's start to the last one's end. */
export function iommu_dma_unmap_sg(k: Kernel, dev: Device, sg: Scatterlist[]): void {
  let start = 0;
  let end = 0;
  let first = true;
  for (const s of sg) {
    if (s.dma_length === 0) break;
    if (first) start = s.dma_address;
    first = false;
    end = s.dma_address + s.dma_length;
  }
  if (end) __iommu_dma_unmap(k, dev, start, end - start);
}
