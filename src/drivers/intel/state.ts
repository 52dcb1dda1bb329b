// SPDX-License-Identifier: GPL-2.0-only
/**
 * The VT-d driver's objects (drivers/iommu/intel/iommu.h, 6.12): struct
 * intel_iommu (one per DRHD unit) with what the model keeps of its state
 * (domain IDs, context tables, invalidation counts, fault record index),
 * struct device_domain_info (per probed device), and the driver's globals
 * (the unit list in dmar_drhd_units order, intel_iommu_sm,
 * intel_iommu_superpage, dmar_fault()'s rate limit).
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { IommuDevice } from '../../iommu/iommu-device.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { IommuDomain } from '../../iommu/domain.js';
import type { DmarDrhdUnit, DmarTable } from './dmar.js';
import type { VtdRegs } from './hw.js';
import type { Device } from '../../base/device.js';
import type { DmarDomain } from './domain.js';
import { ecap_flts, ecap_slts, ecap_smts } from './hw.js';

/** One queued-invalidation descriptor (struct qi_desc), as the model keeps it. */
export type QiDesc =
  | {
      /** IOTLB invalidation, second stage / legacy: page-selective (with an address mask) or domain-selective. */
      readonly type: 'iotlb';
      readonly gran: 'psi' | 'dsi' | 'global';
      readonly did: number;
      readonly addr: bigint;
      readonly am: number;
      readonly ih: number;
    }
  | {
      /** PASID-based IOTLB invalidation (first stage): npages -1 is PASID-selective. */
      readonly type: 'piotlb';
      readonly did: number;
      readonly pasid: number;
      readonly addr: bigint;
      readonly npages: bigint;
      readonly ih: number;
    }
  | {
      /** Context-cache invalidation, device-selective. */
      readonly type: 'cc';
      readonly did: number;
      readonly sid: number;
    };

/** What a unit was asked to invalidate, by kind, and how often software waited for it. */
export interface VtdInvalidationStats {
  /** Page-selective IOTLB invalidations (PSI), with their address masks. */
  psi: number;
  /** Domain-selective IOTLB invalidations (DSI, also a PSI fallen back). */
  dsi: number;
  /** PASID-based IOTLB invalidations (first-stage domains). */
  piotlb: number;
  /** Context-cache invalidations. */
  cc: number;
  /** qi_submit_sync() calls (each ends in a wait descriptor), or register-based flushes waited for. */
  waits: number;
  /** Write-buffer flushes (GCMD.WBF, only on units with CAP.RWBF). */
  wbf: number;
  /** The descriptors of the last submission, for inspection. */
  last: readonly QiDesc[];
}

/** A context table: one 4K page per bus, allocated on first use (iommu_context_addr(..., 1)). */
export interface ContextTable {
  readonly mem: Allocation;
  /** Present entries: devfn -> domain ID (FLPT_DEFAULT_DID for pass-through). */
  readonly entries: Map<number, number>;
}

/** struct intel_iommu: one DRHD unit's instance. */
export interface IntelIommu {
  readonly seq_id: number;
  /** init_no_remapping_devices() or an unusable SAGAW: never registered. */
  readonly ignored: boolean;
  readonly drhd: DmarDrhdUnit;
  readonly iommu: IommuDevice;
  readonly regs: VtdRegs;
  /** iommu->agaw: the widest table the unit walks, up to DEFAULT_DOMAIN_ADDRESS_WIDTH; -1 if none. */
  readonly agaw: number;
  /** iommu->msagaw */
  readonly msagaw: number;
  /** ecap.QIS: iommu->flush is qi_flush_* (else __iommu_flush_*, register based). */
  readonly qi: boolean;
  /** iommu->domain_ids: the IDs in use (0 and FLPT_DEFAULT_DID are reserved). */
  readonly domain_ids: Set<number>;
  /** Which domain each ID stands for, so that an invalidation reaches the model's IOTLB entries. */
  readonly did_domains: Map<number, IommuDomain>;
  /** Context tables by bus (the root table's present entries). */
  readonly context: Map<number, ContextTable>;
  readonly inv: VtdInvalidationStats;
  /** The fault recording register the next fault goes to (QEMU's next_frcd_reg). */
  next_frcd: number;
}

/** struct device_domain_info */
export interface DeviceDomainInfo {
  readonly unit: IntelIommu;
  readonly mem: Allocation;
  readonly dev: Device;
  /** The requester ID: info->bus, info->devfn. */
  readonly bus: number;
  readonly devfn: number;
  /** The paging domain attached (info->domain), or null (identity, blocked, none). */
  domain: DmarDomain | null;
  /** The context entry is set up (paging or pass-through): info->domain_attached. */
  domain_attached: boolean;
}

/** struct ratelimit_state (DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST). */
export interface RatelimitState {
  begin: number | null;
  printed: number;
  missed: number;
}

export interface IntelState {
  readonly table: DmarTable;
  /**
   * dmar_drhd_units in list order: dmar_register_drhd_unit() puts explicit
   * units at the head (so in reverse table order) and INCLUDE_PCI_ALL units at
   * the tail. Lookups and registration walk this order; names (seq_id) follow
   * the table.
   */
  readonly units: IntelIommu[];
  readonly ops: IommuOps;
  /** intel_iommu_sm: scalable mode wanted (Kconfig default, intel_iommu=sm_on/sm_off). */
  readonly sm: boolean;
  /** intel_iommu_superpage: 0 with intel_iommu=sp_off. */
  readonly superpage: boolean;
  /** dmar_fault()'s static rate limit, shared by every unit. */
  readonly faultRs: RatelimitState;
}

export function intelState(k: Kernel): IntelState | undefined {
  return k.driverState.get('intel-iommu') as IntelState | undefined;
}

/** for_each_active_iommu(): the units not ignored, in list order. */
export function activeUnits(k: Kernel): IntelIommu[] {
  return intelState(k)?.units.filter((u) => !u.ignored) ?? [];
}

/** sm_supported(iommu) */
export function sm_supported(k: Kernel, unit: IntelIommu): boolean {
  return !!intelState(k)?.sm && ecap_smts(unit.regs.ecap);
}

/** scalable_mode_support(): scalable mode wanted and every active unit has it (cap_audit). */
export function scalable_mode_support(k: Kernel): boolean {
  const units = activeUnits(k);
  return !!intelState(k)?.sm && units.length > 0 && units.every((u) => ecap_smts(u.regs.ecap));
}

/** intel_cap_flts_sanity() / intel_cap_slts_sanity(): every active unit has the stage. */
export function intel_cap_flts_sanity(k: Kernel): boolean {
  return activeUnits(k).every((u) => ecap_flts(u.regs.ecap));
}
export function intel_cap_slts_sanity(k: Kernel): boolean {
  return activeUnits(k).every((u) => ecap_slts(u.regs.ecap));
}

/** dev_iommu_priv_get() for a device this driver probed. */
export function devInfo(dev: Device): DeviceDomainInfo | null {
  return (dev.iommu?.priv as DeviceDomainInfo | null | undefined) ?? null;
}
