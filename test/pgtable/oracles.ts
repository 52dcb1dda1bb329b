// SPDX-License-Identifier: GPL-2.0-only
// The oracle for a page table: the one written from its family's kernel rules.
import type { PageTable, PgtableRulesName } from '../../src/pgtable/index.js';
import type { Oracle } from './oracle.js';
import { ArmLpaeOracle } from './oracle.js';
import { AmdV1Oracle, AmdV2Oracle } from './oracle-amd.js';
import { DartOracle } from './oracle-dart.js';
import { MockOracle } from './oracle-mock.js';
import { RockchipOracle } from './oracle-rockchip.js';
import { TegraOracle } from './oracle-tegra.js';
import { ExynosOracle } from './oracle-exynos.js';
import { V7sOracle } from './oracle-v7s.js';
import { VtdOracle } from './oracle-vtd.js';

const factories: Partial<Record<PgtableRulesName, (t: PageTable) => Oracle>> = {
  'io-pgtable-arm': (t) => new ArmLpaeOracle(t.layout),
  'io-pgtable-arm-v7s': (t) => new V7sOracle(t.layout),
  'intel-vtd': (t) => new VtdOracle(t.layout),
  'amd-v1': (t) => new AmdV1Oracle(t.layout),
  'amd-v2': (t) => new AmdV2Oracle(t.layout),
  'iommufd-mock': (t) => new MockOracle(t.layout),
  'io-pgtable-dart': (t) => new DartOracle(t.layout),
  'rockchip-iommu': (t) => new RockchipOracle(t.layout),
  'tegra-smmu': (t) => new TegraOracle(t.layout),
  'exynos-iommu': (t) => new ExynosOracle(t.layout),
};

/** A new, empty oracle for a new, empty table. */
export function oracleFor(t: PageTable): Oracle {
  const make = factories[t.layout.rules];
  if (!make) throw new Error(`no oracle for ${t.layout.rules}`);
  return make(t);
}
