// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommu_domain and its types (include/linux/iommu.h).
 *
 * A domain is either static (a driver's identity/blocked domain: no free, so
 * iommu_domain_free() on it is a no-op and the model never "frees" it) or
 * allocated through the model's allocator by the driver's domain_alloc_*.
 */
import type { IommuIotlbGather } from './map.js';
import type { PageTable } from '../pgtable/page-table.js';
import type { IommuDevice } from './iommu-device.js';
import type { IommuDmaCookie } from '../dma/cookie.js';
import type { Allocation } from '../kernel/alloc.js';
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuOps } from './ops.js';
import type { IommuUserDataArray } from './user-data.js';
import type { IopfGroup } from './io-pgfault.js';

// Domain feature bits (__IOMMU_DOMAIN_*).
export const __IOMMU_DOMAIN_PAGING = 1 << 0;
export const __IOMMU_DOMAIN_DMA_API = 1 << 1;
export const __IOMMU_DOMAIN_PT = 1 << 2;
export const __IOMMU_DOMAIN_DMA_FQ = 1 << 3;
export const __IOMMU_DOMAIN_SVA = 1 << 4;
export const __IOMMU_DOMAIN_PLATFORM = 1 << 5;
export const __IOMMU_DOMAIN_NESTED = 1 << 6;

export const IOMMU_DOMAIN_BLOCKED = 0;
export const IOMMU_DOMAIN_IDENTITY = __IOMMU_DOMAIN_PT;
export const IOMMU_DOMAIN_UNMANAGED = __IOMMU_DOMAIN_PAGING;
export const IOMMU_DOMAIN_DMA = __IOMMU_DOMAIN_PAGING | __IOMMU_DOMAIN_DMA_API;
export const IOMMU_DOMAIN_DMA_FQ = __IOMMU_DOMAIN_PAGING | __IOMMU_DOMAIN_DMA_API | __IOMMU_DOMAIN_DMA_FQ;
export const IOMMU_DOMAIN_SVA = __IOMMU_DOMAIN_SVA;
export const IOMMU_DOMAIN_PLATFORM = __IOMMU_DOMAIN_PLATFORM;
export const IOMMU_DOMAIN_NESTED = __IOMMU_DOMAIN_NESTED;
/** IOMMU_DOMAIN_ALLOC_FLAGS: the type bits a driver allocates by. */
export const IOMMU_DOMAIN_ALLOC_FLAGS = ~__IOMMU_DOMAIN_DMA_FQ;

/** The group's sysfs `type` file spelling (iommu_group_show_type()). */
export function domainTypeSysfs(type: number): string {
  switch (type) {
    case IOMMU_DOMAIN_BLOCKED:
      return 'blocked';
    case IOMMU_DOMAIN_IDENTITY:
      return 'identity';
    case IOMMU_DOMAIN_UNMANAGED:
      return 'unmanaged';
    case IOMMU_DOMAIN_DMA:
      return 'DMA';
    case IOMMU_DOMAIN_DMA_FQ:
      return 'DMA-FQ';
    default:
      return 'unknown';
  }
}

/** iommu_domain_type_str(), as printed in kernel messages. */
export function iommu_domain_type_str(type: number): string {
  switch (type) {
    case IOMMU_DOMAIN_BLOCKED:
      return 'Blocked';
    case IOMMU_DOMAIN_IDENTITY:
      return 'Passthrough';
    case IOMMU_DOMAIN_UNMANAGED:
      return 'Unmanaged';
    case IOMMU_DOMAIN_DMA:
    case IOMMU_DOMAIN_DMA_FQ:
      return 'Translated';
    case IOMMU_DOMAIN_PLATFORM:
      return 'Platform';
    default:
      return 'Unknown';
  }
}

export interface IommuDomainOps {
  /** attach_dev(): 0 or a negative errno. */
  attach_dev?(k: Kernel, domain: IommuDomain, dev: Device): number;
  /** free(): absent for static domains. */
  free?(k: Kernel, domain: IommuDomain): void;
  /** map_pages(): 0 or a negative errno; adds the bytes mapped to out.mapped (even on error). */
  map_pages?(
    k: Kernel,
    domain: IommuDomain,
    iova: number,
    paddr: number,
    pgsize: number,
    pgcount: number,
    prot: number,
    out: { mapped: number },
  ): number;
  /** unmap_pages(): the bytes unmapped; invalidations go to the gather. */
  unmap_pages?(
    k: Kernel,
    domain: IommuDomain,
    iova: number,
    pgsize: number,
    pgcount: number,
    gather: IommuIotlbGather,
  ): number;
  /** iotlb_sync_map() after a map, for IOMMUs that cache non-present entries. */
  iotlb_sync_map?(k: Kernel, domain: IommuDomain, iova: number, size: number): number;
  /** iotlb_sync(): invalidate what the gather collected. */
  iotlb_sync?(k: Kernel, domain: IommuDomain, gather: IommuIotlbGather): void;
  /** flush_iotlb_all() */
  flush_iotlb_all?(k: Kernel, domain: IommuDomain): void;
  /**
   * cache_invalidate_user(): a nested domain's stage-1 caches invalidated as
   * the user's requests say; array.entryNum comes back as the requests handled.
   */
  cache_invalidate_user?(k: Kernel, domain: IommuDomain, array: IommuUserDataArray): number;
  /**
   * set_dev_pasid(): the domain takes the device's `pasid` (from `old`, or
   * from nothing); the blocked domain's takes it away (iommu/pasid.ts).
   */
  set_dev_pasid?(k: Kernel, domain: IommuDomain, dev: Device, pasid: number, old: IommuDomain | null): number;
  /** enforce_cache_coherency(): make every mapping snoop the CPU caches; false when it cannot. */
  enforce_cache_coherency?(k: Kernel, domain: IommuDomain): boolean;
  /** iova_to_phys(): 0 when unmapped. */
  iova_to_phys?(k: Kernel, domain: IommuDomain, iova: number): number;
  /**
   * Not a kernel op: for a domain whose translations the hardware keeps
   * itself rather than in a page table the model walks (virtio-iommu's
   * device has its own mapping tree), what the hardware finds for `dev`'s
   * access at iova: the physical address and the IOMMU_READ/IOMMU_WRITE it
   * allows, or null for no translation. Device DMA uses it, with
   * permissions, in place of iova_to_phys().
   */
  hw_translate?(
    k: Kernel,
    domain: IommuDomain,
    dev: Device,
    iova: number,
  ): { phys: number; prot: number } | null;
}

/** struct iommu_domain_geometry */
export interface IommuDomainGeometry {
  /** First and last address the domain can map (numbers below 2^53). */
  readonly aperture_start: number;
  readonly aperture_end: number;
  /** DMA outside the aperture is not allowed at all. */
  readonly force_aperture: boolean;
}

/**
 * struct iommu_dirty_ops: a paging domain that can track the pages devices
 * wrote. read_and_clear_dirty() reports each dirty range to `record` (null:
 * only clear, as iommufd does before turning tracking on).
 */
export interface IommuDirtyOps {
  set_dirty_tracking(k: Kernel, domain: IommuDomain, enable: boolean): number;
  read_and_clear_dirty(
    k: Kernel,
    domain: IommuDomain,
    iova: number,
    size: number,
    flags: number,
    record: ((iova: number, length: number) => void) | null,
  ): number;
}

export class IommuDomain {
  /** Set by __iommu_domain_alloc() (the static domains set it themselves). */
  type: number;
  ops: IommuDomainOps | null;
  /** domain->owner: the iommu_ops that allocated it. */
  owner: IommuOps | null = null;
  pgsize_bitmap = 0;
  /** The allocation behind it; null for a driver's static domain. */
  mem: Allocation | null = null;
  /** iommu-dma's cookie (iommu_get_dma_cookie()) for DMA domains. */
  iova_cookie: IommuDmaCookie | null = null;
  /** A readable label for reports: "intel-iommu paging", "mock blocking". */
  readonly label: string;
  /** Identity mappings installed for IOMMU_RESV_DIRECT regions: [start, end] pfn-free byte ranges. */
  readonly directMappings: { start: bigint; end: bigint }[] = [];
  /** domain->geometry, for paging domains whose driver sets it. */
  geometry: IommuDomainGeometry | null = null;
  /** The page table behind a paging domain (io-pgtable drivers), or null. */
  pgtable: PageTable | null = null;
  /** The IOMMU instance whose IOTLB caches this domain's translations (the driver's choice at finalise). */
  iommu: IommuDevice | null = null;
  /** domain->iopf_handler: where page faults on this domain go (iommufd's, for a HWPT with a fault queue). */
  iopf_handler: ((group: IopfGroup) => number) | null = null;
  /** domain->fault_data: the handler's context (iommufd's HWPT). */
  fault_data: unknown = null;
  /** domain->dirty_ops: set by drivers for domains allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING. */
  dirty_ops: IommuDirtyOps | null = null;

  constructor(type: number, ops: IommuDomainOps | null, label: string) {
    this.type = type;
    this.ops = ops;
    this.label = label;
  }

  get isStatic(): boolean {
    return !this.ops?.free;
  }
}

/** iommu_is_dma_domain() */
export function iommu_is_dma_domain(domain: IommuDomain): boolean {
  return (domain.type & __IOMMU_DOMAIN_DMA_API) !== 0;
}

/**
 * A driver's static domain (identity, blocked), as drivers declare them with
 * no ops->free: the core never frees them.
 */
export function staticDomain(
  type: number,
  label: string,
  attach?: IommuDomainOps['attach_dev'],
): IommuDomain {
  return new IommuDomain(type, { attach_dev: attach ?? (() => 0) }, label);
}
