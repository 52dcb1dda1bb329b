// SPDX-License-Identifier: GPL-2.0-only
/**
 * The NVIDIA Tegra SMMU (Tegra30 to Tegra210), reached the kernel's way:
 * the platform driver is the memory controller's, "tegra-mc"
 * (drivers/memory/tegra/mc.c, TEGRA_MC, built in), whose probe calls
 * tegra_smmu_probe() (drivers/iommu/tegra-smmu.c) when
 * CONFIG_TEGRA_IOMMU_SMMU is set (a bool, Debian arm64: y) and the SoC data
 * has an SMMU.
 *
 * Files: mc.ts (the MC driver), smmu.ts (the SMMU's probe and iommu_ops),
 * soc.ts (the SoCs' swgroup and group tables), structs.ts (struct tegra_mc,
 * struct tegra_smmu), devres.ts (the devm allocations both rely on).
 */
import type { IommuDriverEntry } from '../registry.js';
import { tegraMcDriver } from './mc.js';
import { tegraMcSocs } from './soc.js';

/**
 * The registry's entry: the MC driver, built by TEGRA_MC whether or not the
 * SMMU is (its probe asks TEGRA_IOMMU_SMMU), registered at arch_initcall
 * (tegra_mc_init()), for every MC compatible whose SoC has an SMMU; the
 * driver it makes matches only the ones this architecture builds
 * (tegraMcOfMatch()).
 */
export const tegraSmmuEntry: IommuDriverEntry = {
  name: 'tegra-mc',
  config: 'TEGRA_MC',
  of_match_table: tegraMcSocs.map((s) => s.compatible),
  create: tegraMcDriver,
  initcall: 'arch',
};
