// SPDX-License-Identifier: GPL-2.0-only
/**
 * What drivers/iommu/amd/init.c (6.12) reads from an AMD-Vi unit, as data:
 * the PCI capability header (iommu->cap, read in iommu_init_pci()) and the
 * extended feature registers that check_feature() tests (amd_iommu_efr and
 * amd_iommu_efr2, global: the first unit's).
 *
 * The model has no register file, so the values come from where the inputs
 * say them:
 *  - an IVHD of type 11h/40h carries an EFR image, which
 *    early_iommu_features_init() adopts and late_iommu_features_init() then
 *    keeps over the MMIO register;
 *  - otherwise, under a hypervisor, the unit is QEMU's amd-iommu (the
 *    ground-truth machines): its capability header 0x1f03000f (0000:00:01.0
 *    config space at 0x40 in x86-q35-amdvi-bridge/lspci.txt: NpCache, IOTLB,
 *    HT tunnel, EFRSup, FlatExt) and QEMU 7.2's MMIO EFR 0x29d3 (the
 *    guest's "Extended features (0x29d3, 0x0)" line: PreF PPR GT IA GA HE,
 *    HATS and GATS 2);
 *  - on bare metal without an EFR image the model knows no feature: EFR 0,
 *    and QEMU's header without NpCache.
 */
import type { IvhdUnit } from './iommu.js';

/* amd_iommu_types.h: capability header bits (iommu->cap) */
export const IOMMU_CAP_IOTLB = 24;
export const IOMMU_CAP_NPCACHE = 26;
export const IOMMU_CAP_EFR = 27;

/* amd_iommu_types.h: extended features */
const BIT = (n: number): bigint => 1n << BigInt(n);
export const FEATURE_PREFETCH = BIT(0);
export const FEATURE_PPR = BIT(1);
export const FEATURE_GT = BIT(4);
export const FEATURE_GAM_VAPIC = BIT(21);
export const FEATURE_GIOSUP = BIT(48);
export const FEATURE_EPHSUP = BIT(50);
export const FEATURE_HDSUP = BIT(52);
export const FEATURE_SNP = BIT(63);
/** FEATURE_GLX: GENMASK_ULL(15, 14) */
export const featureGlx = (efr: bigint): number => Number((efr >> 14n) & 3n);
/** FEATURE_PASMAX: GENMASK_ULL(36, 32) */
export const featurePasmax = (efr: bigint): number => Number((efr >> 32n) & 0x1fn);

/** QEMU's amd-iommu (hw/i386/amd_iommu.c, 7.2): what the ground truth's guest read. */
export const QEMU_AMDVI_CAP = 0x1f03000f;
export const QEMU_AMDVI_EFR = 0x29d3n;

export interface AmdIommuHw {
  /** iommu->cap: the capability header dword. */
  readonly cap: number;
  /** The unit's EFR and EFR2 as the driver ends up using them. */
  readonly efr: bigint;
  readonly efr2: bigint;
  /** Where the values come from, for reports. */
  readonly source: string;
}

/** The unit's registers (see the file header for where each value comes from). */
export function amdIommuHw(unit: IvhdUnit, hypervisor: boolean): AmdIommuHw {
  const cap = hypervisor ? QEMU_AMDVI_CAP : QEMU_AMDVI_CAP & ~(1 << IOMMU_CAP_NPCACHE);
  if (unit.efr)
    return { cap, efr: unit.efr, efr2: unit.efr2 ?? 0n, source: `the EFR image of the ${unit.label}` };
  if (hypervisor) return { cap, efr: QEMU_AMDVI_EFR, efr2: 0n, source: "QEMU 7.2 amd-iommu's MMIO EFR" };
  return { cap, efr: 0n, efr2: 0n, source: 'no EFR known (bare metal without an IVHD EFR image)' };
}

/** print_iommu_info()'s feature names for EFR bits 0..9. */
const FEAT_STR = ['PreF', 'PPR', 'X2APIC', 'NX', 'GT', '[5]', 'IA', 'GA', 'HE', 'PC'];

/** The "Extended features (...)" line print_iommu_info() prints when amd_iommu_efr is set. */
export function extendedFeaturesLine(efr: bigint, efr2: bigint): string {
  let s = `Extended features (0x${efr.toString(16)}, 0x${efr2.toString(16)}):`;
  FEAT_STR.forEach((name, i) => {
    if (efr & BIT(i)) s += ` ${name}`;
  });
  if (efr & FEATURE_GAM_VAPIC) s += ' GA_vAPIC';
  if (efr & FEATURE_SNP) s += ' SNP';
  return s;
}
