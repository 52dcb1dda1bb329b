// SPDX-License-Identifier: GPL-2.0-only
/**
 * Which arm-smmu implementation a node gets, as data
 * (drivers/iommu/arm/arm-smmu/arm-smmu.c arm_smmu_of_match[] and
 * acpi_smmu_get_data(); arm-smmu-impl.c arm_smmu_impl_init();
 * arm-smmu-qcom.c qcom_smmu_impl_init(), qcom_smmu_create()). Of the
 * implementation hooks only what the IOMMU core can see is kept: a
 * def_domain_type opinion (Qualcomm's display, GPU and modem clients want
 * identity) and whether the probe must wait for the Qualcomm secure channel
 * (qcom_scm_is_available()), and the hooks that shape a paging domain:
 * cfg_probe (features an implementation hides, context banks it takes away),
 * init_context (Qualcomm's flush_walk_prefer_tlbiasid and the GPU's TTBR1
 * tables, Cavium's ASID/VMID offset, NVIDIA's PAGE_SIZE-only mappings) and
 * alloc_context_bank (the Adreno SMMU keeps bank 0 for the GPU).
 * Register-level quirks (Marvell's split 64-bit accesses, NVIDIA's mirrored
 * instances, Qualcomm's TLB sync and S2CR bypass emulation) change nothing
 * the core sees and are only named.
 */
import type { Fwnode } from '../../base/fwnode.js';
import { of_device_is_compatible, of_match_node } from '../../firmware/of/of-base.js';

export type ArmSmmuVersion = 'v1' | 'v1-64k' | 'v2';
export type ArmSmmuModel = 'generic' | 'mmu-500' | 'cavium-smmuv2' | 'qcom-smmuv2';

/** struct arm_smmu_match_data, by compatible (arm_smmu_of_match[]). */
export const ARM_SMMU_OF_MATCH: Readonly<Record<string, { version: ArmSmmuVersion; model: ArmSmmuModel }>> = {
  'arm,smmu-v1': { version: 'v1', model: 'generic' },
  'arm,smmu-v2': { version: 'v2', model: 'generic' },
  'arm,mmu-400': { version: 'v1', model: 'generic' },
  'arm,mmu-401': { version: 'v1-64k', model: 'generic' },
  'arm,mmu-500': { version: 'v2', model: 'mmu-500' },
  'cavium,smmu-v2': { version: 'v2', model: 'cavium-smmuv2' },
  'nvidia,smmu-500': { version: 'v2', model: 'mmu-500' },
  'qcom,smmu-v2': { version: 'v2', model: 'qcom-smmuv2' },
};

/** ACPI IORT SMMU model numbers (acpi_smmu_get_data()); others are refused with -ENODEV. */
export const ARM_SMMU_IORT_MODELS: Readonly<
  Record<number, { version: ArmSmmuVersion; model: ArmSmmuModel }>
> = {
  0: { version: 'v1', model: 'generic' }, // ACPI_IORT_SMMU_V1
  1: { version: 'v2', model: 'generic' }, // ACPI_IORT_SMMU_V2
  2: { version: 'v1', model: 'generic' }, // ACPI_IORT_SMMU_CORELINK_MMU400
  3: { version: 'v2', model: 'mmu-500' }, // ACPI_IORT_SMMU_CORELINK_MMU500
  4: { version: 'v1-64k', model: 'generic' }, // ACPI_IORT_SMMU_CORELINK_MMU401
  5: { version: 'v2', model: 'cavium-smmuv2' }, // ACPI_IORT_SMMU_CAVIUM_THUNDERX
};

/** Device-tree compatibles of clients Qualcomm's implementation gives identity domains (qcom_smmu_client_of_match[]). */
const QCOM_IDENTITY_CLIENTS = [
  'qcom,adreno',
  'qcom,adreno-gmu',
  'qcom,mdp4',
  'qcom,mdss',
  'qcom,qcm2290-mdss',
  'qcom,sc7180-mdss',
  'qcom,sc7180-mss-pil',
  'qcom,sc7280-mdss',
  'qcom,sc7280-mss-pil',
  'qcom,sc8180x-mdss',
  'qcom,sc8280xp-mdss',
  'qcom,sdm670-mdss',
  'qcom,sdm845-mdss',
  'qcom,sdm845-mss-pil',
  'qcom,sm6115-mdss',
  'qcom,sm6350-mdss',
  'qcom,sm6375-mdss',
  'qcom,sm8150-mdss',
  'qcom,sm8250-mdss',
  'qcom,sm8450-mdss',
  'qcom,x1e80100-mdss',
];

/** The implementations of qcom_smmu_impl_of_match[]: 'none' for an entry without one (msm8996's MDP SMMU). */
type QcomImpl = 'v2' | '500' | 'sdm845-500' | 'none';
interface QcomMatch {
  readonly impl: QcomImpl;
  /** The implementation for a node that is also `qcom,adreno-smmu`. */
  readonly adreno: QcomImpl;
}
const v2: QcomMatch = { impl: 'v2', adreno: 'v2' };
const impl0: QcomMatch = { impl: '500', adreno: '500' };
const QCOM_SMMU_IMPL_OF_MATCH: Readonly<Record<string, QcomMatch>> = {
  'qcom,msm8996-smmu-v2': { impl: 'none', adreno: 'v2' },
  'qcom,msm8998-smmu-v2': v2,
  'qcom,qcm2290-smmu-500': impl0,
  'qcom,qdu1000-smmu-500': impl0,
  'qcom,sc7180-smmu-500': impl0,
  'qcom,sc7180-smmu-v2': v2,
  'qcom,sc7280-smmu-500': impl0,
  'qcom,sc8180x-smmu-500': impl0,
  'qcom,sc8280xp-smmu-500': impl0,
  'qcom,sdm630-smmu-v2': v2,
  'qcom,sdm670-smmu-v2': v2,
  'qcom,sdm845-smmu-v2': v2,
  'qcom,sdm845-smmu-500': { impl: 'sdm845-500', adreno: 'none' },
  'qcom,sm6115-smmu-500': impl0,
  'qcom,sm6125-smmu-500': impl0,
  'qcom,sm6350-smmu-v2': v2,
  'qcom,sm6350-smmu-500': impl0,
  'qcom,sm6375-smmu-v2': v2,
  'qcom,sm6375-smmu-500': impl0,
  'qcom,sm7150-smmu-v2': v2,
  'qcom,sm8150-smmu-500': impl0,
  'qcom,sm8250-smmu-500': impl0,
  'qcom,sm8350-smmu-500': impl0,
  'qcom,sm8450-smmu-500': impl0,
  'qcom,smmu-500': impl0,
};

/** impl->cfg_probe */
export type ArmSmmuCfgProbeHook = 'cavium' | 'qcom' | 'qcom-adreno-v2' | 'mrvl';
/** impl->init_context */
export type ArmSmmuInitContextHook = 'cavium' | 'qcom' | 'qcom-adreno' | 'nvidia';

export interface ArmSmmuImpl {
  /** For reports: "arm-mmu500", "qcom-smmu-500 (sdm845)", … */
  readonly name: string;
  readonly cfg_probe?: ArmSmmuCfgProbeHook;
  readonly init_context?: ArmSmmuInitContextHook;
  /** impl->alloc_context_bank: qcom_adreno_smmu_alloc_context_bank(). */
  readonly adreno_alloc_context_bank?: boolean;
  /** impl->def_domain_type: Qualcomm's client list. */
  readonly qcomClients: boolean;
  /** qcom_smmu_create() waits for the secure channel (qcom_scm). */
  readonly needsScm: boolean;
  /** A WARN arm_smmu_impl_init() raises (an Adreno SMMU Qualcomm's table misses). */
  readonly warn?: string;
}

/** arm_smmu_impl_init(): the implementation for a node (null for ACPI) of a model. */
export function arm_smmu_impl_init(
  np: Fwnode | null,
  model: ArmSmmuModel,
  qcomEnabled: boolean,
): ArmSmmuImpl {
  // Cavium's implementation is final: no platform quirk is looked at after it.
  if (model === 'cavium-smmuv2')
    return {
      name: 'cavium',
      qcomClients: false,
      needsScm: false,
      cfg_probe: 'cavium',
      init_context: 'cavium',
    };
  let name = model === 'mmu-500' ? 'arm-mmu500' : 'generic';
  if (np && np.properties.get('calxeda,smmu-secure-config-access') !== undefined) name = 'calxeda';
  for (const c of ['nvidia,tegra234-smmu', 'nvidia,tegra194-smmu', 'nvidia,tegra186-smmu'])
    if (of_device_is_compatible(np, c))
      return { name: 'nvidia-smmu', qcomClients: false, needsScm: false, init_context: 'nvidia' };
  let impl: ArmSmmuImpl = { name, qcomClients: false, needsScm: false };
  if (qcomEnabled && np) {
    const hit = of_match_node(Object.keys(QCOM_SMMU_IMPL_OF_MATCH), np);
    if (hit) {
      const m = QCOM_SMMU_IMPL_OF_MATCH[hit];
      const adreno = of_device_is_compatible(np, 'qcom,adreno-smmu');
      const q = adreno ? m.adreno : m.impl;
      if (q !== 'none' && adreno)
        // qcom_adreno_smmu_v2_impl / qcom_adreno_smmu_500_impl (the latter without cfg_probe).
        impl = {
          name: `qcom-adreno-smmu-${q === 'v2' ? 'v2' : '500'} (${hit})`,
          qcomClients: true,
          needsScm: true,
          cfg_probe: q === 'v2' ? 'qcom-adreno-v2' : undefined,
          init_context: 'qcom-adreno',
          adreno_alloc_context_bank: true,
        };
      else if (q !== 'none')
        impl = {
          name: `qcom-smmu-${q} (${hit})`,
          qcomClients: true,
          needsScm: true,
          cfg_probe: 'qcom',
          init_context: 'qcom',
        };
    } else if (of_device_is_compatible(np, 'qcom,adreno-smmu')) {
      impl = { ...impl, warn: 'Missing qcom_smmu_impl_of_match entry' };
    }
  }
  // Marvell's implementation replaces whatever was chosen before (it has no def_domain_type).
  if (of_device_is_compatible(np, 'marvell,ap806-smmu-500'))
    impl = {
      name: 'mrvl-mmu500',
      qcomClients: false,
      needsScm: impl.needsScm,
      warn: impl.warn,
      cfg_probe: 'mrvl',
    };
  return impl;
}

/** qcom_smmu_def_domain_type(): identity for the listed clients, no opinion otherwise. */
export function qcom_smmu_wants_identity(np: Fwnode | null): boolean {
  return of_match_node(QCOM_IDENTITY_CLIENTS, np) !== null;
}
