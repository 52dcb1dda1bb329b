// SPDX-License-Identifier: GPL-2.0-only
/**
 * The fsl-mc bus, as far as the IOMMU code sees it (drivers/bus/fsl-mc/
 * fsl-mc-bus.c fsl_mc_dma_configure(), fsl_mc_cont_dev()): objects inside a
 * DPRC container, each with an ICID that the fsl-mc node's `iommu-map`
 * translates to a stream ID.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { BusType } from './bus.js';
import type { Device } from './device.js';
import { createBus } from './bus.js';
import { firmware_dma_configure } from './dma-configure.js';
import { iommu_device_unuse_default_domain, iommu_device_use_default_domain } from '../iommu/ownership.js';

/** Per-device fsl-mc data: struct fsl_mc_device's icid and whether it is a DPRC. */
export interface FslMcInfo {
  readonly icid: number;
  readonly isContainer: boolean;
}

const info = new WeakMap<Device, FslMcInfo>();

export function setFslMcInfo(dev: Device, i: FslMcInfo): void {
  info.set(dev, i);
}

export function dev_is_fsl_mc(dev: Device): boolean {
  return dev.bus?.name === 'fsl-mc';
}

/** fsl_mc_cont_dev(): a DPRC is its own container; any other object's container is its parent. */
export function fsl_mc_cont_dev(dev: Device): Device {
  return info.get(dev)?.isContainer ? dev : (dev.parent ?? dev);
}

/** fsl_mc_dma_configure(): the firmware node above the fsl-mc tree, with the ICID as input ID. */
function fsl_mc_dma_configure(k: Kernel, dev: Device): number {
  let dma_dev: Device | null = dev;
  while (dma_dev && dev_is_fsl_mc(dma_dev)) dma_dev = dma_dev.parent;
  const icid = info.get(dev)?.icid ?? 0;
  const ret = firmware_dma_configure(k, dev, icid, dma_dev?.fwnode ?? null);
  if (ret || !dev.driver || dev.driver.driver_managed_dma) return ret;
  return iommu_device_use_default_domain(k, dev);
}

function fsl_mc_dma_cleanup(k: Kernel, dev: Device): void {
  if (dev.driver && !dev.driver.driver_managed_dma) iommu_device_unuse_default_domain(k, dev);
}

export function createFslMcBus(): BusType {
  return createBus('fsl-mc', { dma_configure: fsl_mc_dma_configure, dma_cleanup: fsl_mc_dma_cleanup });
}
