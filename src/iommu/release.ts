// SPDX-License-Identifier: GPL-2.0-only
/**
 * Device release from the IOMMU core (drivers/iommu/iommu.c
 * iommu_release_device(), __iommu_group_remove_device(),
 * iommu_group_remove_device()), run from BUS_NOTIFY_REMOVED_DEVICE at the end
 * of device_del() and from iommu_device_unregister().
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import { mutex_lock, mutex_unlock } from '../kernel/mutex.js';
import { dev_has_iommu, dev_iommu_free } from './dev-iommu.js';
import { __iommu_group_free_device, iommu_group_put } from './group.js';
import { iommu_deinit_device } from './probe.js';
import { recordKnownBug } from '../checker/known-bugs.js';

/** __iommu_group_remove_device(): leave the group, deinit, and put the membership reference. */
export function __iommu_group_remove_device(k: Kernel, dev: Device): void {
  const group = dev.iommu_group!;
  mutex_lock(k.printk, group.mutex, '__iommu_group_remove_device');
  const i = group.devices.findIndex((g) => g.dev === dev);
  if (i >= 0) {
    const [gdev] = group.devices.splice(i, 1);
    __iommu_group_free_device(k, group, gdev);
    if (dev_has_iommu(dev)) iommu_deinit_device(k, dev);
    else dev.iommu_group = null;
  }
  mutex_unlock(k.printk, group.mutex, '__iommu_group_remove_device');
  iommu_group_put(k, group);
}

/** iommu_group_remove_device(): the driver-side removal. */
export function iommu_group_remove_device(k: Kernel, dev: Device): void {
  const group = dev.iommu_group;
  if (!group) return;
  k.printk.log('info', dev.name, `Removing from iommu group ${group.id}`);
  __iommu_group_remove_device(k, dev);
}

/** iommu_release_device(), per KernelProfile.release. */
export function iommu_release_device(k: Kernel, dev: Device): void {
  const group = dev.iommu_group;
  if (k.profile.release === 'early-return-without-group') {
    // v6.4: a device with dev_iommu (a fwspec, say) but no group keeps both: a leak.
    if (!dev.iommu || !group) {
      if (dev.iommu) {
        dev.addHistory('iommu_release_device() returned early: no group, dev_iommu and fwspec left behind');
        const ids = [dev.iommu.mem.id];
        if (dev.iommu.fwspec) ids.push(dev.iommu.fwspec.mem.id);
        recordKnownBug(k, 'release-without-group-leak', dev.name, ids);
      }
      return;
    }
    __iommu_group_remove_device(k, dev);
    return;
  }
  if (group) __iommu_group_remove_device(k, dev);
  // Free any fwspec if no iommu driver was ever attached.
  if (dev.iommu) dev_iommu_free(k, dev, 'iommu_release_device');
}
