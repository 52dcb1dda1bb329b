// SPDX-License-Identifier: GPL-2.0-only
/**
 * A VT-d unit's version, capability and extended capability registers
 * (DMAR_VER_REG, DMAR_CAP_REG, DMAR_ECAP_REG) as data, and the fields
 * drivers/iommu/intel/iommu.h (6.12) reads out of them. The model has no
 * register file: a DRHD may carry its own values (DmarDrhdUnit.cap/ecap);
 * otherwise the unit is QEMU's intel-iommu with its default options, as
 * every ground-truth machine printed it (QEMU 7.2: "DMAR: dmar0:
 * reg_base_addr fed90000 ver 1:0 cap d2008c22260206 ecap f00f4a"):
 *
 *  - cap: 65536 domain IDs (ND 6), no write-buffer flushing (RWBF 0), no
 *    caching mode (CM 0), SAGAW 39-bit only, MGAW 39, fault records at
 *    0x220 (one of them), 2M and 1G second-stage superpages, page-selective
 *    invalidation with an address mask up to 18 (MAMV), read/write drain;
 *  - ecap: not coherent (C 0), queued invalidation, interrupt remapping,
 *    pass-through, IOTLB registers at 0xf0; no scalable mode, so no
 *    first-stage tables (QEMU 7.2 has neither x-scalable-mode by default
 *    nor first-stage support at all).
 *
 * A DRHD whose platform description turns pass-through off gets the same
 * ecap without PT.
 */
import type { DmarDrhdUnit } from './dmar.js';

/** QEMU 7.2 intel-iommu's VTD_VER_REG value: 1.0. */
export const QEMU_VTD_VER = 0x10;
/** QEMU 7.2 intel-iommu's CAP_REG with default options (aw-bits 39). */
export const QEMU_VTD_CAP = 0x00d2008c22260206n;
/** QEMU 7.2 intel-iommu's ECAP_REG with default options (intremap on, device-iotlb off). */
export const QEMU_VTD_ECAP = 0x0000000000f00f4an;

const ECAP_PT = 1n << 6n;

/** The registers of one unit: the DRHD's own, else QEMU's. */
export interface VtdRegs {
  readonly ver: number;
  readonly cap: bigint;
  readonly ecap: bigint;
}

/** map_iommu()'s reads of VER, CAP and ECAP, as the model knows them. */
export function vtdRegs(drhd: DmarDrhdUnit): VtdRegs {
  const ecap = drhd.ecap ?? (drhd.passThrough ? QEMU_VTD_ECAP : QEMU_VTD_ECAP & ~ECAP_PT);
  return { ver: drhd.ver ?? QEMU_VTD_VER, cap: drhd.cap ?? QEMU_VTD_CAP, ecap };
}

const field = (v: bigint, shift: number, bits: number): number =>
  Number((v >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));

// CAP_REG fields (iommu.h cap_*()).
export const cap_fl5lp_support = (c: bigint): boolean => field(c, 60, 1) === 1;
export const cap_fl1gp_support = (c: bigint): boolean => field(c, 56, 1) === 1;
export const cap_read_drain = (c: bigint): boolean => field(c, 55, 1) === 1;
export const cap_write_drain = (c: bigint): boolean => field(c, 54, 1) === 1;
export const cap_max_amask_val = (c: bigint): number => field(c, 48, 6);
export const cap_num_fault_regs = (c: bigint): number => field(c, 40, 8) + 1;
export const cap_pgsel_inv = (c: bigint): boolean => field(c, 39, 1) === 1;
export const cap_super_page_val = (c: bigint): number => field(c, 34, 4);
export const cap_fault_reg_offset = (c: bigint): number => field(c, 24, 10) * 16;
export const cap_mgaw = (c: bigint): number => field(c, 16, 6) + 1;
export const cap_sagaw = (c: bigint): number => field(c, 8, 5);
export const cap_caching_mode = (c: bigint): boolean => field(c, 7, 1) === 1;
export const cap_rwbf = (c: bigint): boolean => field(c, 4, 1) === 1;
export const cap_ndoms = (c: bigint): number => 2 ** (4 + 2 * field(c, 0, 3));

// ECAP_REG fields (iommu.h ecap_*()).
export const ecap_smpwc = (e: bigint): boolean => field(e, 48, 1) === 1;
export const ecap_flts = (e: bigint): boolean => field(e, 47, 1) === 1;
export const ecap_slts = (e: bigint): boolean => field(e, 46, 1) === 1;
export const ecap_slads = (e: bigint): boolean => field(e, 45, 1) === 1;
export const ecap_smts = (e: bigint): boolean => field(e, 43, 1) === 1;
export const ecap_coherent = (e: bigint): boolean => field(e, 0, 1) === 1;
export const ecap_qis = (e: bigint): boolean => field(e, 1, 1) === 1;
export const ecap_dev_iotlb_support = (e: bigint): boolean => field(e, 2, 1) === 1;
export const ecap_pass_through = (e: bigint): boolean => field(e, 6, 1) === 1;
export const ecap_sc_support = (e: bigint): boolean => field(e, 7, 1) === 1;

export const DMAR_VER_MAJOR = (v: number): number => (v & 0xf0) >> 4;
export const DMAR_VER_MINOR = (v: number): number => v & 0x0f;

/** DEFAULT_DOMAIN_ADDRESS_WIDTH and MAX_AGAW_WIDTH (iommu.h). */
export const DEFAULT_DOMAIN_ADDRESS_WIDTH = 57;
export const MAX_AGAW_WIDTH = 64;
/** MAX_AGAW_PFN_WIDTH: the mask of a flush that covers everything. */
export const MAX_AGAW_PFN_WIDTH = MAX_AGAW_WIDTH - 12;
/** Domain ID 0 marks "none" (and tags non-present entries under caching mode). */
export const FLPT_DEFAULT_DID = 1;
/** QI_MAX_BATCHED_DESC_COUNT */
export const QI_MAX_BATCHED_DESC_COUNT = 16;

/** width_to_agaw() */
export const width_to_agaw = (width: number): number => Math.ceil((width - 30) / 9);
/** agaw_to_width() */
export const agaw_to_width = (agaw: number): number => Math.min(30 + agaw * 9, MAX_AGAW_WIDTH);
/** agaw_to_level() */
export const agaw_to_level = (agaw: number): number => agaw + 2;

/**
 * __iommu_calculate_sagaw(): the address widths the unit's tables may
 * have: second stage's SAGAW, first stage's 4 (and 5) levels when the
 * domain tables are first stage (scalable mode with FLTS), both when both
 * stages exist.
 */
export function __iommu_calculate_sagaw(regs: VtdRegs, sm: boolean): number {
  const fl = (1 << 2) | (cap_fl5lp_support(regs.cap) ? 1 << 3 : 0);
  const sl = cap_sagaw(regs.cap);
  if (!sm || !ecap_flts(regs.ecap)) return sl;
  if (!ecap_slts(regs.ecap)) return fl;
  return fl & sl;
}

/** __iommu_calculate_agaw(): the widest supported agaw not above max_gaw's, or -1. */
export function __iommu_calculate_agaw(regs: VtdRegs, sm: boolean, max_gaw: number): number {
  const sagaw = __iommu_calculate_sagaw(regs, sm);
  for (let agaw = width_to_agaw(max_gaw); agaw >= 0; agaw--) if (sagaw & (1 << agaw)) return agaw;
  return -1;
}
