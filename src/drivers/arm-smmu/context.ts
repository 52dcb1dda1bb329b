// SPDX-License-Identifier: GPL-2.0-only
/**
 * arm-smmu paging domains (drivers/iommu/arm/arm-smmu/arm-smmu.c, 6.12):
 * a domain is finalised on the SMMU of the first device attached to it
 * (arm_smmu_init_domain_context()), which picks
 *  - the stage: stage 1 unless the SMMU only translates at stage 2;
 *  - the context format: AArch32 long descriptors where the SMMU has them,
 *    AArch64 on a 64-bit kernel when it has any AArch64 granule (AArch32
 *    short descriptors only on a 32-bit kernel without LPAE), -EINVAL when
 *    none is left;
 *  - the io-pgtable format and its sizes: ARM_64_LPAE_S1 (va -> ipa) or _S2
 *    (ipa -> pa), ARM_32_LPAE_S1/S2 clamped to 32/40 and 40/40 bits,
 *    ARM_V7S clamped to 32/32, with the SMMU's page sizes;
 *  - a context bank: the first free one from the stage-2-only banks' end at
 *    stage 1 or from 0 at stage 2 (-ENOSPC when none is), its ASID (the
 *    bank) or VMID (bank + 1), and its fault interrupt.
 * TLB maintenance (iommu_flush_ops) is by stage and version: stage 1 and
 * SMMUv2 stage 2 invalidate each unmapped page (TLBIVAL / TLBIIPAS2L) and
 * sync at iotlb_sync(); SMMUv1 stage 2 has no by-address invalidation and
 * sends TLBIVMID per page; a freed table is invalidated by range, or by
 * ASID where the implementation prefers it (Qualcomm).
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { IotlbStyle } from '../../iommu/io-pgtable-domain.js';
import type { PgtableFormatName } from '../../pgtable/formats/index.js';
import type { IommuFault } from '../../iommu/translate.js';
import type { ArmSmmuDevice } from './arm-smmu.js';
import { EINVAL, ENOMEM, ENOSPC } from '../../kernel/errno.js';
import { IommuDomain } from '../../iommu/domain.js';
import {
  IOTLB_PER_PAGE,
  io_pgtable_domain_free,
  io_pgtable_domain_init,
} from '../../iommu/io-pgtable-domain.js';
import { IO_PGTABLE_QUIRK_ARM_TTBR1 } from '../../pgtable/formats/arm-lpae.js';
import { deviceSid } from '../../iommu/translate.js';
import { dev_iommu_fwspec_get } from '../../iommu/dev-iommu.js';
import { of_device_is_compatible } from '../../firmware/of/of-base.js';
import {
  FEAT_COHERENT_WALK,
  FEAT_FMT_AARCH32_L,
  FEAT_FMT_AARCH32_S,
  FEAT_FMT_AARCH64_16K,
  FEAT_FMT_AARCH64_4K,
  FEAT_FMT_AARCH64_64K,
  FEAT_TRANS_S1,
  FEAT_TRANS_S2,
} from './hw.js';
import { arm_smmu_context_fault_lines, contextFaultInfo, faultLevel } from './fault.js';

/** enum arm_smmu_context_fmt */
export type ContextFmt = 'NONE' | 'AARCH64' | 'AARCH32_L' | 'AARCH32_S';
/** enum arm_smmu_domain_stage */
export type DomainStage = 'S1' | 'S2' | 'NESTED';

/** ARM_SMMU_INVALID_IRPTNDX */
export const INVALID_IRPTNDX = 0xff;

/** struct arm_smmu_cfg */
export interface ArmSmmuCfg {
  fmt: ContextFmt;
  cbndx: number;
  irptndx: number;
  asid: number;
  vmid: number;
  /** CBAR type: stage 1 (stage 2 bypass) or stage 2 translation. */
  cbar: 'S1_TRANS_S2_BYPASS' | 'S2_TRANS';
  /** Qualcomm's init_context: a freed table is flushed by ASID. */
  flush_walk_prefer_tlbiasid: boolean;
}

/** struct arm_smmu_domain */
export class ArmSmmuDomain extends IommuDomain {
  /** Set once finalised (arm_smmu_init_domain_context()). */
  smmu: ArmSmmuDevice | null = null;
  stage: DomainStage = 'S1';
  readonly cfg: ArmSmmuCfg = {
    fmt: 'NONE',
    cbndx: 0,
    irptndx: INVALID_IRPTNDX,
    asid: 0,
    vmid: 0,
    cbar: 'S1_TRANS_S2_BYPASS',
    flush_walk_prefer_tlbiasid: false,
  };
  /** The io-pgtable format alloc_io_pgtable_ops() was asked for. */
  pgtblFmt: PgtableFormatName | null = null;
  /** The context fault interrupt's devres (devm_request_irq()). */
  irq: Allocation | null = null;
}

/** arm_smmu_alloc_context_bank(): the first free bank in [start, count), or -ENOSPC. */
function __arm_smmu_alloc_bitmap(map: boolean[], start: number, end: number): number {
  for (let i = start; i < end; i++)
    if (!map[i]) {
      map[i] = true;
      return i;
    }
  return -ENOSPC;
}

/** qcom_adreno_smmu_is_gpu_device(): the GPU always uses stream 0. */
function qcom_adreno_smmu_is_gpu_device(dev: Device): boolean {
  return (dev_iommu_fwspec_get(dev)?.ids ?? []).some((id) => (id & 0xffff) === 0);
}

function arm_smmu_alloc_context_bank(smmu: ArmSmmuDevice, dev: Device, start: number): number {
  if (smmu.impl.adreno_alloc_context_bank) {
    // Bank 0 is the GPU's, so it can switch page tables itself.
    return qcom_adreno_smmu_is_gpu_device(dev)
      ? __arm_smmu_alloc_bitmap(smmu.context_map, 0, 1)
      : __arm_smmu_alloc_bitmap(smmu.context_map, 1, smmu.hw.num_context_banks);
  }
  return __arm_smmu_alloc_bitmap(smmu.context_map, start, smmu.hw.num_context_banks);
}

/** The registered 64-bit LPAE format whose granule arm_lpae_restrict_pgsizes() will pick (4K CPU pages). */
function lpae64(stage: 1 | 2, pgsize: number): PgtableFormatName {
  const granule = pgsize & 0x1000 ? '4k' : pgsize & 0x4000 ? '16k' : '64k';
  return `arm-64-lpae-s${stage}-${granule}`;
}

/** The TLB maintenance arm_smmu_init_domain_context() picks (arm_smmu_s1_tlb_ops, _s2_tlb_ops_v2, _v1). */
function flushStyle(d: ArmSmmuDomain, smmu: ArmSmmuDevice): IotlbStyle {
  if (d.stage === 'S1')
    return { ...IOTLB_PER_PAGE, walk: d.cfg.flush_walk_prefer_tlbiasid ? 'all' : 'range' };
  if (smmu.version === 'v2') return { ...IOTLB_PER_PAGE, walk: 'range' };
  // SMMUv1 stage 2: TLBIVMID for every page, and for a freed table.
  return { addPage: 'invalidate-all', sync: 'wait', ranges: 'page', walk: 'all' };
}

/** The impl's init_context(): page-table quirks and sizes, the Qualcomm flush preference, Cavium's IDs. */
function impl_init_context(
  smmu: ArmSmmuDevice,
  d: ArmSmmuDomain,
  dev: Device,
  pgtbl: { quirks: number; pgsize_bitmap: number },
): void {
  switch (smmu.impl.init_context) {
    case 'cavium':
      if (d.stage === 'S2') d.cfg.vmid += smmu.cavium_id_base;
      else d.cfg.asid += smmu.cavium_id_base;
      break;
    case 'qcom':
      d.cfg.flush_walk_prefer_tlbiasid = true;
      break;
    case 'qcom-adreno': {
      d.cfg.flush_walk_prefer_tlbiasid = true;
      // Split tables for the GPU (stream 0) where the SMMU can do TTBR1 (not msm8996).
      const np = smmu.dev.fwnode?.kind === 'of' ? smmu.dev.fwnode : null;
      if (
        qcom_adreno_smmu_is_gpu_device(dev) &&
        !of_device_is_compatible(np, 'qcom,msm8996-smmu-v2') &&
        d.stage === 'S1' &&
        d.cfg.fmt === 'AARCH64'
      )
        pgtbl.quirks |= IO_PGTABLE_QUIRK_ARM_TTBR1;
      break;
    }
    case 'nvidia': {
      // Tegra194/234 walk-cache erratum: nothing larger than PAGE_SIZE.
      const np = smmu.dev.fwnode?.kind === 'of' ? smmu.dev.fwnode : null;
      if (
        of_device_is_compatible(np, 'nvidia,tegra234-smmu') ||
        of_device_is_compatible(np, 'nvidia,tegra194-smmu')
      ) {
        smmu.pgsize_bitmap &= 0x1fff; // GENMASK(PAGE_SHIFT, 0)
        pgtbl.pgsize_bitmap = smmu.pgsize_bitmap;
      }
      break;
    }
    default:
      break;
  }
}

/** arm_smmu_init_domain_context(): 0 (also when already finalised) or a negative errno. */
export function arm_smmu_init_domain_context(
  k: Kernel,
  d: ArmSmmuDomain,
  smmu: ArmSmmuDevice,
  dev: Device,
): number {
  if (d.smmu) return 0;
  const features = smmu.hw.features;
  // The stage: what was asked (stage 1) mapped onto what the SMMU has.
  if (!(features & FEAT_TRANS_S1)) d.stage = 'S2';
  if (!(features & FEAT_TRANS_S2)) d.stage = 'S1';
  // The context format: the closest to the rest of the system.
  const cfg = d.cfg;
  const is64 = k.arch !== 'arm';
  cfg.fmt = 'NONE';
  if (features & FEAT_FMT_AARCH32_L) cfg.fmt = 'AARCH32_L';
  // IOMMU_IO_PGTABLE_ARMV7S on a 32-bit kernel without ARM_LPAE (the model's arm32 assumption).
  if (!is64 && features & FEAT_FMT_AARCH32_S && d.stage === 'S1') cfg.fmt = 'AARCH32_S';
  if (
    (is64 || cfg.fmt === 'NONE') &&
    features & (FEAT_FMT_AARCH64_64K | FEAT_FMT_AARCH64_16K | FEAT_FMT_AARCH64_4K)
  )
    cfg.fmt = 'AARCH64';
  if (cfg.fmt === 'NONE') return -EINVAL;

  let start: number;
  let ias: number;
  let oas: number;
  let fmt: PgtableFormatName;
  const pgsize = smmu.pgsize_bitmap;
  if (d.stage === 'S1') {
    cfg.cbar = 'S1_TRANS_S2_BYPASS';
    start = smmu.hw.num_s2_context_banks;
    ias = smmu.hw.va_size;
    oas = smmu.hw.ipa_size;
    if (cfg.fmt === 'AARCH64') fmt = lpae64(1, pgsize);
    else if (cfg.fmt === 'AARCH32_L') {
      fmt = 'arm-32-lpae-s1';
      ias = Math.min(ias, 32);
      oas = Math.min(oas, 40);
    } else {
      fmt = 'arm-v7s';
      ias = Math.min(ias, 32);
      oas = Math.min(oas, 32);
    }
  } else {
    // Stage 2 (a nested request is treated as one).
    cfg.cbar = 'S2_TRANS';
    start = 0;
    ias = smmu.hw.ipa_size;
    oas = smmu.hw.pa_size;
    if (cfg.fmt === 'AARCH64') fmt = lpae64(2, pgsize);
    else {
      fmt = 'arm-32-lpae-s2';
      ias = Math.min(ias, 40);
      oas = Math.min(oas, 40);
    }
  }

  const cbndx = arm_smmu_alloc_context_bank(smmu, dev, start);
  if (cbndx < 0) return cbndx;
  d.smmu = smmu;
  cfg.cbndx = cbndx;
  if (smmu.version !== 'v2') {
    // atomic_inc_return(&smmu->irptndx) % num_context_irqs
    smmu.irptndx++;
    cfg.irptndx = smmu.irptndx % smmu.irqs.length;
  } else {
    cfg.irptndx = cbndx;
  }
  if (d.stage === 'S2') cfg.vmid = cbndx + 1;
  else cfg.asid = cbndx;

  const pgtbl = { quirks: 0, pgsize_bitmap: pgsize };
  impl_init_context(smmu, d, dev, pgtbl);
  const clear = (ret: number): number => {
    smmu.context_map[cbndx] = false;
    d.smmu = null;
    return ret;
  };
  d.pgtblFmt = fmt;
  const ret = io_pgtable_domain_init(k, d, smmu.iommu, {
    format: fmt,
    style: flushStyle(d, smmu),
    pgsize_bitmap: pgtbl.pgsize_bitmap,
    ias,
    oas,
    quirks: pgtbl.quirks,
    coherent_walk: (smmu.hw.features & FEAT_COHERENT_WALK) !== 0,
  });
  // alloc_io_pgtable_ops() returned NULL.
  if (ret) return clear(-ENOMEM);

  // arm_smmu_init_context_bank(), arm_smmu_write_context_bank(): registers. Then the fault IRQ, last.
  const irq = smmu.irqs[cfg.irptndx];
  d.irq = k.alloc.alloc('irqaction (arm-smmu-context-fault)', smmu.dev, 'devm_request_irq');
  if (!d.irq) {
    k.printk.log('err', smmu.dev.name, `failed to request context IRQ ${cfg.irptndx} (${irq})`);
    cfg.irptndx = INVALID_IRPTNDX;
  }
  return 0;
}

/** arm_smmu_destroy_domain_context(): the fault IRQ, the table, the context bank. */
export function arm_smmu_destroy_domain_context(k: Kernel, d: ArmSmmuDomain): void {
  const smmu = d.smmu;
  if (!smmu) return;
  if (d.irq) k.alloc.free(d.irq, 'devm_free_irq');
  d.irq = null;
  io_pgtable_domain_free(k, d);
  smmu.context_map[d.cfg.cbndx] = false;
}

/**
 * arm_smmu_context_fault() for a transaction of `dev` that faulted in its
 * domain: the lines it prints (none without a context interrupt, or for
 * streams an S2CR bypasses or faults, which the context bank never sees).
 */
export function armSmmuFaultLines(dev: Device, f: Omit<IommuFault, 'log'>): string[] {
  const d = dev.hwDomain ?? dev.iommu_group?.domain ?? null;
  if (!(d instanceof ArmSmmuDomain) || !d.smmu || f.reason === 'blocked') return [];
  if (d.cfg.irptndx === INVALID_IRPTNDX) return [];
  const aarch64 = d.cfg.fmt === 'AARCH64';
  const cfi = contextFaultInfo({
    permission: f.reason === 'permission',
    write: f.write,
    format: aarch64 ? 2 : d.cfg.fmt === 'AARCH32_L' ? 1 : 0,
    level: faultLevel(d, f.iova, f.reason, aarch64),
    iova: f.iova,
    sid: deviceSid(dev),
  });
  return arm_smmu_context_fault_lines(cfi, d.cfg.cbndx);
}
