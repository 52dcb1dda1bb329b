// SPDX-License-Identifier: GPL-2.0-only
/**
 * The AMD-Vi driver's per-kernel state (drivers/iommu/amd, 6.12): the units
 * (struct amd_iommu), the PCI segments' rlookup and alias tables, the
 * domain-ID bitmap (amd_iommu_pd_alloc_bitmap) and the globals init.c
 * settles (amd_iommu_efr, amd_iommu_np_cache, amd_iommu_pgtable,
 * amd_iommu_gpt_level, amd_iommu_max_glx_val), and each device's
 * struct iommu_dev_data.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { IommuDevice } from '../../iommu/iommu-device.js';
import type { Ida } from '../../kernel/ida.js';
import type { AmdIommuHw } from './hw.js';
import type { AmdCmdBuf } from './cmd.js';
import type { AmdIommuOptions } from './options.js';
import type { IvhdUnit, UnityMap } from './iommu.js';
import type { ProtectionDomain } from './domain.js';

/** What the model keeps of a device table entry. */
export interface Dte {
  /** DEV_DOMID_MASK: the domain ID tagging the device's translations (0: none). */
  readonly domid: number;
  /** DEV_ENTRY_MODE: the v1 table's levels, 0 for none (passthrough, a GCR3 table, or cleared). */
  readonly mode: number;
}

/** struct ratelimit_state, as ___ratelimit() uses it. */
export interface Ratelimit {
  begin: number | null;
  printed: number;
  missed: number;
}

/** struct amd_iommu: one IVHD unit. */
export interface AmdIommu {
  readonly index: number;
  readonly unit: IvhdUnit;
  readonly iommu: IommuDevice;
  readonly hw: AmdIommuHw;
  readonly cmd: AmdCmdBuf;
  /** The unit's device table, by device ID (entries never written are absent: V, TV, domain 0). */
  readonly dte: Map<number, Dte>;
  /** dev_data->rs by device ID: the kernel keeps dev_data for unplugged devices. */
  readonly rs: Map<number, Ratelimit>;
}

/** gcr3_info: a device's GCR3 table (v2 page tables, PASIDs). */
export interface Gcr3Info {
  readonly domid: number;
  readonly glx: number;
  readonly root: Allocation;
  /** Tables below the root on PASID 0's path, top first (allocated by __get_gcr3_pte()). */
  readonly path: Allocation[];
}

/** struct iommu_dev_data */
export interface DevData {
  readonly unit: AmdIommu;
  readonly devid: number;
  readonly mem: Allocation;
  readonly dev: Device;
  domain: ProtectionDomain | null;
  gcr3: Gcr3Info | null;
  /** AMD_IOMMU_DEVICE_FLAG_PASID_SUP from pdev_get_caps() */
  readonly pasidSup: boolean;
  readonly maxPasids: number;
}

export interface AmdState {
  readonly units: AmdIommu[];
  readonly unityMaps: readonly UnityMap[];
  /** rlookup tables: per segment, device ID -> unit. */
  readonly rlookup: Map<number, Map<number, AmdIommu>>;
  /** alias_table per segment: device ID -> IVRS alias, where they differ. */
  readonly aliasTable: Map<number, Map<number, number>>;
  /** amd_iommu_pd_alloc_bitmap: ID 0 is taken at init. */
  readonly pdIds: Ida;
  /** Domain ID -> the protection domain it tags (its own ID or a device's GCR3 ID). */
  readonly domids: Map<number, ProtectionDomain>;
  readonly options: AmdIommuOptions;
  efr: bigint;
  efr2: bigint;
  /** amd_iommu_np_cache: some unit caches non-present entries (a virtual IOMMU). */
  npCache: boolean;
  /** amd_iommu_pgtable after init's GIOSup/GT check. */
  pgtable: 'v1' | 'v2';
  /** amd_iommu_gpt_level: 5 only with LA57, which the model's CPU lacks. */
  readonly gptLevel: 4 | 5;
  /** amd_iommu_max_glx_val */
  maxGlx: number;
  /** The pr_err_ratelimited() call sites of amd_iommu_report_page_fault(). */
  readonly ratelimits: Map<string, Ratelimit>;
}

export function amdState(k: Kernel): AmdState | undefined {
  return k.driverState.get('amd-iommu') as AmdState | undefined;
}

export function devData(dev: Device): DevData | null {
  return (dev.iommu?.priv as DevData | null | undefined) ?? null;
}
