// SPDX-License-Identifier: GPL-2.0-only
/**
 * The context fault report of arm-smmu (drivers/iommu/arm/arm-smmu/arm-smmu.c
 * arm_smmu_context_fault(), arm_smmu_print_context_fault_info(), 6.12): what
 * the context bank's fault registers hold for one faulting transaction, and
 * the three lines the driver prints when no fault handler takes it
 * (report_iommu_fault() gives -ENOSYS). Field layout from arm-smmu.h
 * (ARM_SMMU_CB_FSR_*, ARM_SMMU_CB_FSYNR0_*).
 *
 * The model fills in what it knows of a transaction: FSR.TF (no translation,
 * or an input address outside the context's range) or FSR.PF (the leaf
 * forbids the access), FSR.FORMAT from the context's table format (0 short
 * descriptors, 1 AArch32 long descriptors, 2 AArch64), FSYNR0.WNR for a
 * write and FSYNR0.PLVL for the level the walk stopped at (level 0 for an
 * out-of-range AArch64 input address, level 1 for AArch32, as VMSA reports
 * it); CBFRSYNRA holds the stream ID. Privilege, NS and instruction
 * attributes of the transaction are not modelled (read as 0).
 */
import type { IommuDomain } from '../../iommu/domain.js';
import type { FaultReason } from '../../iommu/translate.js';

export const ARM_SMMU_CB_FSR_MULTI = 1 << 31;
export const ARM_SMMU_CB_FSR_SS = 1 << 30;
export const ARM_SMMU_CB_FSR_FORMAT_SHIFT = 9;
export const ARM_SMMU_CB_FSR_UUT = 1 << 8;
export const ARM_SMMU_CB_FSR_ASF = 1 << 7;
export const ARM_SMMU_CB_FSR_TLBLKF = 1 << 6;
export const ARM_SMMU_CB_FSR_TLBMCF = 1 << 5;
export const ARM_SMMU_CB_FSR_EF = 1 << 4;
export const ARM_SMMU_CB_FSR_PF = 1 << 3;
export const ARM_SMMU_CB_FSR_AFF = 1 << 2;
export const ARM_SMMU_CB_FSR_TF = 1 << 1;

export const ARM_SMMU_CB_FSYNR0_WNR = 1 << 4;
export const ARM_SMMU_CB_FSYNR0_PNU = 1 << 5;
export const ARM_SMMU_CB_FSYNR0_IND = 1 << 6;
export const ARM_SMMU_CB_FSYNR0_NSATTR = 1 << 8;
export const ARM_SMMU_CB_FSYNR0_PTWF = 1 << 10;
export const ARM_SMMU_CB_FSYNR0_AFR = 1 << 11;

/** struct arm_smmu_context_fault_info */
export interface ContextFaultInfo {
  readonly fsr: number;
  readonly iova: number;
  readonly fsynr: number;
  readonly cbfrsynra: number;
}

/** The context fault registers for a transaction the model saw fault. */
export function contextFaultInfo(f: {
  readonly permission: boolean;
  readonly write: boolean;
  /** FSR.FORMAT: 0 AArch32 short, 1 AArch32 long, 2 AArch64 descriptors. */
  readonly format: number;
  readonly level: number;
  readonly iova: number;
  readonly sid: number;
}): ContextFaultInfo {
  const fsr =
    (f.format << ARM_SMMU_CB_FSR_FORMAT_SHIFT) | (f.permission ? ARM_SMMU_CB_FSR_PF : ARM_SMMU_CB_FSR_TF);
  const fsynr = (f.level & 3) | (f.write ? ARM_SMMU_CB_FSYNR0_WNR : 0);
  return { fsr: fsr >>> 0, iova: f.iova, fsynr, cbfrsynra: f.sid & 0xffff };
}

const hex = (v: number) => v.toString(16);
const hex8 = (v: number) => (v >>> 0).toString(16).padStart(8, '0');
const flag = (v: number, bit: number, s: string) => (v & bit ? s : '');

/** arm_smmu_print_context_fault_info(): three dev_err() lines. */
export function arm_smmu_context_fault_lines(cfi: ContextFaultInfo, idx: number): string[] {
  const { fsr, fsynr } = cfi;
  const format = (fsr >>> ARM_SMMU_CB_FSR_FORMAT_SHIFT) & 3;
  return [
    `Unhandled context fault: fsr=0x${hex(fsr)}, iova=0x${cfi.iova.toString(16).padStart(8, '0')}, fsynr=0x${hex(fsynr)}, cbfrsynra=0x${hex(cfi.cbfrsynra)}, cb=${idx}`,
    `FSR    = ${hex8(fsr)} [` +
      flag(fsr, ARM_SMMU_CB_FSR_MULTI, 'MULTI ') +
      flag(fsr, ARM_SMMU_CB_FSR_SS, 'SS ') +
      `Format=${format}` +
      flag(fsr, ARM_SMMU_CB_FSR_UUT, ' UUT') +
      flag(fsr, ARM_SMMU_CB_FSR_ASF, ' ASF') +
      flag(fsr, ARM_SMMU_CB_FSR_TLBLKF, ' TLBLKF') +
      flag(fsr, ARM_SMMU_CB_FSR_TLBMCF, ' TLBMCF') +
      flag(fsr, ARM_SMMU_CB_FSR_EF, ' EF') +
      flag(fsr, ARM_SMMU_CB_FSR_PF, ' PF') +
      flag(fsr, ARM_SMMU_CB_FSR_AFF, ' AFF') +
      flag(fsr, ARM_SMMU_CB_FSR_TF, ' TF') +
      `], SID=0x${hex(cfi.cbfrsynra)}`,
    `FSYNR0 = ${hex8(fsynr)} [S1CBNDX=${(fsynr >>> 16) & 0xff}` +
      flag(fsynr, ARM_SMMU_CB_FSYNR0_AFR, ' AFR') +
      flag(fsynr, ARM_SMMU_CB_FSYNR0_PTWF, ' PTWF') +
      flag(fsynr, ARM_SMMU_CB_FSYNR0_NSATTR, ' NSATTR') +
      flag(fsynr, ARM_SMMU_CB_FSYNR0_IND, ' IND') +
      flag(fsynr, ARM_SMMU_CB_FSYNR0_PNU, ' PNU') +
      flag(fsynr, ARM_SMMU_CB_FSYNR0_WNR, ' WNR') +
      ` PLVL=${fsynr & 3}]`,
  ];
}

/**
 * FSYNR0.PLVL for a fault in a domain's table: the level of the last entry
 * the walk read (the empty entry, or the leaf that refused the access); an
 * input address outside the table's range faults at the start: level 0 for
 * AArch64 tables, level 1 for AArch32 ones.
 */
export function faultLevel(domain: IommuDomain, iova: number, reason: FaultReason, aarch64: boolean): number {
  const outside = aarch64 ? 0 : 1;
  if (reason === 'aperture' || !domain.pgtable) return outside;
  return domain.pgtable.walkTrace(iova).steps.at(-1)?.level ?? outside;
}
