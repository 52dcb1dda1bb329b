// SPDX-License-Identifier: GPL-2.0-only
/**
 * The rules of each page-table family, by the name a layout gives
 * (format.ts PgtableRulesName). io-pgtable-arm's are the engine's own (null).
 */
import type { PgtableRulesName } from '../format.js';
import { amdV1Rules } from './amd-v1.js';
import { amdV2Rules } from './amd-v2.js';
import { appleDartRules } from './apple-dart.js';
import { armV7sRules } from './arm-v7s.js';
import { intelVtdRules } from './intel-vtd.js';
import { iommufdMockRules } from './iommufd-mock.js';
import { rockchipIommuRules } from './rockchip-iommu.js';
import { tegraSmmuRules } from './tegra-smmu.js';
import { exynosIommuRules } from './exynos-iommu.js';
import type { PgtableRules } from './rules.js';

const rules: Readonly<Record<PgtableRulesName, PgtableRules | null>> = {
  'io-pgtable-arm': null,
  'io-pgtable-arm-v7s': armV7sRules,
  'io-pgtable-dart': appleDartRules,
  'intel-vtd': intelVtdRules,
  'amd-v1': amdV1Rules,
  'amd-v2': amdV2Rules,
  'iommufd-mock': iommufdMockRules,
  'rockchip-iommu': rockchipIommuRules,
  'tegra-smmu': tegraSmmuRules,
  'exynos-iommu': exynosIommuRules,
};

export function rulesFor(name: PgtableRulesName): PgtableRules | null {
  return rules[name];
}
