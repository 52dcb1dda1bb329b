// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct dev_iommu: the IOMMU core's per-device data, hung off dev->iommu and
 * allocated lazily (drivers/iommu/iommu.c dev_iommu_get()/dev_iommu_free()).
 * The fwspec always dies with it: dev_iommu_free() drops the fwspec's fwnode
 * reference and frees the fwspec too.
 */
import type { IommuFaultParam } from './io-pgfault.js';
import type { Allocation } from '../kernel/alloc.js';
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuDevice } from './iommu-device.js';
import type { IommuFwspec } from './fwspec.js';
import { lockdep_assert_held } from '../kernel/mutex.js';
import { fwnode_handle_put } from './fwnode-ref.js';

export class DevIommu {
  fwspec: IommuFwspec | null = null;
  /** Set once a driver's probe_device() accepted the device: dev_has_iommu(). */
  iommu_dev: IommuDevice | null = null;
  /** The driver's private data (dev_iommu_priv_set()). */
  priv: unknown = null;
  max_pasids = 0;
  attach_deferred = false;
  require_direct = false;
  pci_32bit_workaround = false;
  /** The IOMMU shadows its IOTLB on flushes (s390): iommu-dma uses one big flush queue. */
  shadow_on_flush = false;
  /** On an IOPF queue: where its page requests wait (iopf_queue_add_device()). */
  fault_param: IommuFaultParam | null = null;

  constructor(readonly mem: Allocation) {}
}

/** dev_iommu_get(): the existing dev_iommu, or a new one; null on -ENOMEM. */
export function dev_iommu_get(k: Kernel, dev: Device): DevIommu | null {
  lockdep_assert_held(k.printk, k.iommu.probe_device_lock, 'dev_iommu_get');
  if (dev.iommu) return dev.iommu;
  const mem = k.alloc.alloc('dev_iommu', dev, 'dev_iommu_get');
  if (!mem) return null;
  dev.iommu = new DevIommu(mem);
  return dev.iommu;
}

/** dev_iommu_free(): clears dev->iommu, frees the fwspec (and its fwnode reference) and the param. */
export function dev_iommu_free(k: Kernel, dev: Device, site = 'dev_iommu_free'): void {
  const param = dev.iommu;
  if (!param) return;
  dev.iommu = null;
  if (param.fwspec) {
    fwnode_handle_put(k, param.fwspec.iommu_fwnode);
    k.alloc.free(param.fwspec.mem, site);
    param.fwspec = null;
  }
  k.alloc.free(param.mem, site);
}

/** dev_has_iommu(): a driver has probed the device. */
export function dev_has_iommu(dev: Device): boolean {
  return dev.iommu !== null && dev.iommu.iommu_dev !== null;
}

/** dev_iommu_fwspec_get() */
export function dev_iommu_fwspec_get(dev: Device): IommuFwspec | null {
  return dev.iommu?.fwspec ?? null;
}
