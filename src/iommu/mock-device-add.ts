// SPDX-License-Identifier: GPL-2.0-only
/**
 * iommu_mock_device_add() (drivers/iommu/iommu.c, CONFIG_IOMMUFD_TEST, v6.18
 * 2a918911ed3d): give a mock device a fwspec naming the mock instance, then
 * device_add() it. Its failure path frees only the fwspec and leaves
 * dev->iommu behind: the leak reported in 2026 (fixed by using
 * dev_iommu_free()), which the model reproduces.
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuDevice } from './iommu-device.js';
import { device_add } from '../base/core.js';
import { mutex_lock, mutex_unlock } from '../kernel/mutex.js';
import { iommu_fwspec_free, iommu_fwspec_init } from './fwspec.js';
import { recordKnownBug } from '../checker/known-bugs.js';

export function iommu_mock_device_add(k: Kernel, dev: Device, iommu: IommuDevice): number {
  mutex_lock(k.printk, k.iommu.probe_device_lock, 'iommu_mock_device_add');
  let rc = iommu_fwspec_init(k, dev, iommu.fwnode);
  mutex_unlock(k.printk, k.iommu.probe_device_lock, 'iommu_mock_device_add');
  if (rc) {
    // iommu_fwspec_init() may fail after dev_iommu_get() (its fwspec allocation): nothing frees dev->iommu.
    if (dev.iommu) recordKnownBug(k, 'mock-device-add-fwspec-leak', dev.name, [dev.iommu.mem.id]);
    return rc;
  }
  dev.addHistory(`iommu_mock_device_add(): fwspec for ${iommu.name}'s software node before device_add()`);
  rc = device_add(k, dev);
  if (rc) {
    iommu_fwspec_free(k, dev);
    if (dev.iommu) recordKnownBug(k, 'mock-device-add-leak', dev.name, [dev.iommu.mem.id]);
  }
  return rc;
}
