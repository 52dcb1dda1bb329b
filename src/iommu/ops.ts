// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommu_ops: what an IOMMU driver gives the core (include/linux/iommu.h).
 * Drivers are plain objects implementing this interface, as in the kernel.
 */
import type { IommufdViommu } from '../iommufd/viommu.js';
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { ErrPtr } from '../kernel/errno.js';
import type { IommuDevice } from './iommu-device.js';
import type { IommuGroup } from './group.js';
import type { IommuDomain, IommuDomainOps } from './domain.js';
import type { IommuResvRegion } from './resv-regions.js';
import type { Fwnode } from '../base/fwnode.js';
import type { IommuUserData } from './user-data.js';
import type { Allocation } from '../kernel/alloc.js';
import type { IommuPageResponse, IopfFault } from './io-pgfault.js';

/** struct of_phandle_args: the IOMMU node and the cells of one `iommus` entry. */
export interface OfPhandleArgs {
  readonly np: Fwnode;
  readonly args: readonly number[];
  /** Where the entry came from, in words ("/soc/usb iommus[0]"), kept with the fwspec IDs. */
  readonly source: string;
}

/** enum iommu_cap */
export type IommuCap =
  | 'CACHE_COHERENCY'
  | 'NOEXEC'
  | 'PRE_BOOT_PROTECTION'
  | 'ENFORCE_CACHE_COHERENCY'
  | 'DEFERRED_FLUSH'
  | 'DIRTY_TRACKING';

export interface IommuOps {
  /** The driver's name, as in its module: 'intel-iommu', 'arm-smmu-v3', 'iommufd-mock'. */
  readonly name: string;
  /** ops->owner: the module; null for built-in drivers. */
  readonly owner: string | null;
  /** The module is being unloaded: try_module_get() fails. */
  moduleGoing?: boolean;

  probe_device(k: Kernel, dev: Device): IommuDevice | ErrPtr;
  release_device?(k: Kernel, dev: Device): void;
  probe_finalize?(k: Kernel, dev: Device): void;
  /** device_group(): a referenced group, an ErrPtr, or null (a driver bug the core WARNs on). */
  device_group(k: Kernel, dev: Device): IommuGroup | ErrPtr | null;
  of_xlate?(k: Kernel, dev: Device, args: OfPhandleArgs): number;
  get_resv_regions?(k: Kernel, dev: Device, list: IommuResvRegion[]): void;
  is_attach_deferred?(k: Kernel, dev: Device): boolean;
  /** def_domain_type(): IOMMU_DOMAIN_IDENTITY, IOMMU_DOMAIN_DMA or 0 for no opinion. */
  def_domain_type?(k: Kernel, dev: Device): number;

  /** v6.4: return the device to the platform's DMA ops (a NULL group domain). */
  set_platform_dma_ops?(k: Kernel, dev: Device): void;
  /** capable(): IOMMU_CAP_CACHE_COHERENCY and friends. */
  capable?(k: Kernel, dev: Device, cap: IommuCap): boolean;

  domain_alloc_paging?(k: Kernel, dev: Device | null): IommuDomain | ErrPtr | null;
  /**
   * domain_alloc_user() (v6.7 to v6.14): iommufd's allocator, with the
   * user's IOMMU_HWPT_ALLOC_* flags and data; a nested domain when `parent`
   * is given.
   */
  domain_alloc_user?(
    k: Kernel,
    dev: Device,
    flags: number,
    parent: IommuDomain | null,
    data: IommuUserData | null,
  ): IommuDomain | ErrPtr;
  /**
   * hw_info(): the IOMMU's registers as iommufd's IOMMU_GET_HW_INFO reports
   * them, as the uAPI struct's bytes with its iommu_hw_info_type; `mem` is
   * the kzalloc the caller frees.
   */
  hw_info?(
    k: Kernel,
    dev: Device,
  ): { readonly data: Uint8Array; readonly type: number; readonly mem: Allocation } | ErrPtr;
  /** page_response(): send the answer to a page request to the device. */
  page_response?(k: Kernel, dev: Device, evt: IopfFault, resp: IommuPageResponse): void;
  /** dev_enable_feat() / dev_disable_feat(): IOMMU_DEV_FEAT_IOPF and friends. */
  dev_enable_feat?(k: Kernel, dev: Device, feat: number): number;
  dev_disable_feat?(k: Kernel, dev: Device, feat: number): number;
  /** The user owns the PASID table: faults on any PASID go to the RID's nested domain. */
  readonly user_pasid_table?: boolean;
  /**
   * get_viommu_size() (v6.16 on; v6.13-v6.15: the type check of
   * viommu_alloc()): non-zero for an IOMMU_VIOMMU_TYPE_* the driver has.
   */
  get_viommu_size?(dev: Device, type: number): number;
  /**
   * viommu_init(): the driver's part of a new vIOMMU over the nest parent's
   * domain, with the user's driver data (v6.16 on); sets viommu.ops. 0 or
   * an errno.
   */
  viommu_init?(k: Kernel, viommu: IommufdViommu, parent: IommuDomain, data: IommuUserData | null): number;
  /** The legacy allocator by type. */
  domain_alloc?(k: Kernel, type: number): IommuDomain | ErrPtr | null;

  readonly identity_domain?: IommuDomain;
  readonly blocked_domain?: IommuDomain;
  readonly release_domain?: IommuDomain;
  /** Legacy: forces the default domain (the mock's blocking domain). */
  readonly default_domain?: IommuDomain;
  readonly default_domain_ops?: IommuDomainOps;
  readonly pgsize_bitmap: number;
}
