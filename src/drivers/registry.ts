// SPDX-License-Identifier: GPL-2.0-only
/**
 * The IOMMU drivers that bind to platform devices, in the kernel's link
 * order (drivers/iommu/Makefile: arm/ first, then the SoC drivers), with the
 * Kconfig option that builds each and the `compatible` strings of its
 * of_match_table. A boot registers every built driver one of whose devices
 * exists: built in ('y') at device_initcall, a module ('m') once the
 * initcalls are done, as udev would load it for the device's modalias.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { DeviceDriver } from '../base/driver.js';
import type { IommuDriverOption } from '../kernel/kconfig.js';
import { armSmmuV3Entry } from './arm-smmu-v3/arm-smmu-v3.js';
import { armSmmuEntry } from './arm-smmu/arm-smmu.js';
import { qcomIommuEntry } from './qcom-iommu/qcom-iommu.js';
import { ipmmuVmsaEntry } from './ipmmu-vmsa/ipmmu-vmsa.js';
import { mtkIommuEntry } from './mtk-iommu/mtk-iommu.js';
import { rockchipIommuEntry } from './rockchip-iommu/rockchip-iommu.js';
import { tegraSmmuEntry } from './tegra-smmu/tegra-smmu.js';
import { exynosIommuEntry } from './exynos-iommu/exynos-iommu.js';
import { appleDartEntry } from './apple-dart/apple-dart.js';

export interface IommuDriverEntry {
  /** The platform driver's name (what sysfs shows as the IOMMU device's driver). */
  readonly name: string;
  /** The Kconfig option that builds it. */
  readonly config: IommuDriverOption;
  /** of_match_table: the IOMMU nodes it binds. */
  readonly of_match_table: readonly string[];
  /** The driver, made for one kernel (its state lives in `k`). */
  create(k: Kernel): DeviceDriver;
  /**
   * Drivers the IOMMU needs beside it (the MediaTek SMI larbs, Qualcomm's
   * context banks), under the same option: registered right after it, or
   * right before it (`before`) when its module init registers them first.
   */
  readonly companions?: readonly CompanionDriver[];
  /**
   * arch_initcall (the Tegra memory controller, tegra_mc_init()): registered
   * before of_platform_default_populate() adds the devices, so it binds as
   * its device is added. Default: device_initcall (module_platform_driver()).
   */
  readonly initcall?: 'arch';
}

export interface CompanionDriver {
  readonly name: string;
  readonly of_match_table: readonly string[];
  create(k: Kernel): DeviceDriver;
  /** Registered before the IOMMU driver itself. */
  readonly before?: boolean;
}

/** Link order (drivers/iommu/Makefile, arm/Makefile). */
export const iommuPlatformDrivers: readonly IommuDriverEntry[] = [
  qcomIommuEntry,
  armSmmuEntry,
  armSmmuV3Entry,
  ipmmuVmsaEntry,
  mtkIommuEntry,
  rockchipIommuEntry,
  tegraSmmuEntry,
  exynosIommuEntry,
  appleDartEntry,
];

/** The entry for a driver name, if the model has that IOMMU driver. */
export function iommuDriverEntry(name: string): IommuDriverEntry | undefined {
  return iommuPlatformDrivers.find((e) => e.name === name);
}
