// SPDX-License-Identifier: GPL-2.0-only
/**
 * What arm_smmu_device_hw_probe() (arm-smmu-v3.c) derives from an SMMUv3's
 * ID registers, as data. The model's SMMUs are QEMU's `virt` SMMUv3
 * (hw/arm/smmuv3.c smmuv3_init_regs()): stage 1 only, AArch64 tables, 16-bit
 * ASIDs, range invalidation, 4K/16K/64K granules, a 44-bit output size.
 */

/** VA_BITS of the arm64 kernel the model runs (Debian's arm64 config: 48). */
export const ARM64_VA_BITS = 48;

export interface SmmuV3Hw {
  /** IDR0.S1P / IDR0.S2P: ARM_SMMU_FEAT_TRANS_S1 / _S2 */
  readonly s1: boolean;
  readonly s2: boolean;
  /** IDR0.COHACC: ARM_SMMU_FEAT_COHERENCY */
  readonly coherent: boolean;
  /** IDR0.ASID16 / VMID16 */
  readonly asidBits: 8 | 16;
  readonly vmidBits: 8 | 16;
  /** IDR3.RIL: ARM_SMMU_FEAT_RANGE_INV */
  readonly ril: boolean;
  /** IDR5.VAX == 52-bit: ARM_SMMU_FEAT_VAX */
  readonly vax: boolean;
  /** smmu->pgsize_bitmap from IDR5.GRAN* (and 4TB with a 52-bit OAS) */
  readonly pgsize_bitmap: number;
  /** smmu->oas from IDR5.OAS; smmu->ias = max(ias, oas) (40 for AArch32+64 tables) */
  readonly oas: number;
  readonly ias: number;
}

export interface SmmuV3IdRegs {
  readonly s1p: boolean;
  readonly s2p: boolean;
  /** IDR0.TTF: 'aarch64' or 'aarch32+64' (which sets ias to 40 first) */
  readonly ttf: 'aarch64' | 'aarch32+64';
  readonly cohacc: boolean;
  readonly asid16: boolean;
  readonly vmid16: boolean;
  readonly ril: boolean;
  readonly vax52: boolean;
  readonly gran4k: boolean;
  readonly gran16k: boolean;
  readonly gran64k: boolean;
  /** IDR5.OAS as the output size it encodes: 32, 36, 40, 42, 44, 48 or 52 */
  readonly oasBits: 32 | 36 | 40 | 42 | 44 | 48 | 52;
}

/** QEMU's virt SMMUv3 (stage=1, the default). */
export const QEMU_SMMUV3_IDR: SmmuV3IdRegs = {
  s1p: true,
  s2p: false,
  ttf: 'aarch64',
  cohacc: true,
  asid16: true,
  vmid16: true,
  ril: true,
  vax52: false,
  gran4k: true,
  gran16k: true,
  gran64k: true,
  oasBits: 44,
};

const SZ_4K = 0x1000;
const SZ_16K = 0x4000;
const SZ_64K = 0x10000;
const SZ_2M = 0x200000;
const SZ_32M = 0x2000000;
const SZ_512M = 0x20000000;
const SZ_1G = 0x40000000;

/** arm_smmu_device_hw_probe(), the parts domains use. */
export function smmuV3Hw(idr: SmmuV3IdRegs = QEMU_SMMUV3_IDR): SmmuV3Hw {
  let pgsize = 0;
  if (idr.gran64k) pgsize += SZ_64K + SZ_512M;
  if (idr.gran16k) pgsize += SZ_16K + SZ_32M;
  if (idr.gran4k) pgsize += SZ_4K + SZ_2M + SZ_1G;
  if (idr.oasBits === 52) pgsize += 2 ** 42; // 4TB blocks
  const ias0 = idr.ttf === 'aarch32+64' ? 40 : 0;
  return {
    s1: idr.s1p,
    s2: idr.s2p,
    coherent: idr.cohacc,
    asidBits: idr.asid16 ? 16 : 8,
    vmidBits: idr.vmid16 ? 16 : 8,
    ril: idr.ril,
    vax: idr.vax52,
    pgsize_bitmap: pgsize,
    oas: idr.oasBits,
    ias: Math.max(ias0, idr.oasBits),
  };
}
