// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct tegra_mc (include/soc/tegra/mc.h) and struct tegra_smmu,
 * struct tegra_smmu_group (drivers/iommu/tegra-smmu.c): the memory
 * controller's driver data, and the SMMU that lives inside the MC's register
 * space and is registered on the MC's own device.
 */
import type { Allocation } from '../../kernel/alloc.js';
import type { Device } from '../../base/device.js';
import type { IommuGroup } from '../../iommu/group.js';
import type { IommuDevice } from '../../iommu/iommu-device.js';
import type { TegraMcSoc, TegraSmmuGroupSoc, TegraSmmuSoc } from './soc.js';

/** struct tegra_mc: the MC device's drvdata (platform_set_drvdata()). */
export class TegraMc {
  /** Set by tegra_smmu_probe() before it registers, cleared again if it fails. */
  smmu: TegraSmmu | null = null;

  constructor(
    readonly dev: Device,
    readonly soc: TegraMcSoc,
  ) {}
}

/** struct tegra_smmu_group: one IOMMU group per swgroup, or per named SoC group. */
export interface TegraSmmuGroup {
  readonly smmu: TegraSmmu;
  readonly swgroup: number;
  readonly soc: TegraSmmuGroupSoc | null;
  readonly group: IommuGroup;
  /** devm_kzalloc()'d on the MC's device. */
  readonly mem: Allocation;
}

/** struct tegra_smmu */
export class TegraSmmu {
  /** smmu->groups: the groups made so far (tegra_smmu_group_release() unlinks them). */
  readonly groups: TegraSmmuGroup[] = [];
  /** smmu->asids: the ASID bitmap, one entry per ASID, true when taken. */
  readonly asids: boolean[];
  pfn_mask = 0;
  tlb_mask = 0;
  /** SMMU_PTC_FLUSH writes (page-table cache flushes: smmu_flush_ptc()), which are not TLB invalidations. */
  ptc_flushes = 0;

  constructor(
    /** smmu->dev: the MC's device. */
    readonly dev: Device,
    readonly soc: TegraSmmuSoc,
    readonly mc: TegraMc,
    /** smmu->iommu, named after the MC's device. */
    readonly iommu: IommuDevice,
  ) {
    this.asids = new Array<boolean>(soc.num_asids).fill(false);
  }
}
