// SPDX-License-Identifier: GPL-2.0-only
/**
 * bus_iommu_probe() and probe_iommu_group() (drivers/iommu/iommu.c): the walk
 * every IOMMU registration makes over each bus. Groups found during the walk
 * get their default domain only afterwards, once all their members are known,
 * so that the type is decided for the whole group and direct mappings for
 * every member exist before the first attach.
 */
import type { BusType } from '../base/bus.js';
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuGroup } from './group.js';
import { bus_for_each_dev } from '../base/bus.js';
import { ENODEV } from '../kernel/errno.js';
import { mutex_lock, mutex_unlock } from '../kernel/mutex.js';
import { __iommu_probe_device } from './probe.js';
import { iommu_setup_default_domain } from './default-domain.js';
import { iommu_setup_dma_ops } from './dma-ops.js';
import { recordKnownBug } from '../checker/known-bugs.js';

/** probe_iommu_group(): -ENODEV ("not mine") is not an error for the walk. */
function probe_iommu_group(k: Kernel, dev: Device, group_list: IommuGroup[]): number {
  mutex_lock(k.printk, k.iommu.probe_device_lock, 'probe_iommu_group');
  let ret = __iommu_probe_device(k, dev, group_list);
  mutex_unlock(k.printk, k.iommu.probe_device_lock, 'probe_iommu_group');
  if (ret === -ENODEV) ret = 0;
  return ret;
}

/** bus_iommu_probe() */
export function bus_iommu_probe(k: Kernel, bus: BusType): number {
  const group_list: IommuGroup[] = [];
  let ret = bus_for_each_dev(bus, (dev) => probe_iommu_group(k, dev, group_list));
  if (ret) {
    // The groups collected so far get no default domain; the failed registration's unwind
    // only releases the devices of its own instance.
    for (const group of group_list)
      for (const gdev of group.devices) recordKnownBug(k, 'bus-probe-strands-groups', gdev.dev.name, []);
    return ret;
  }
  for (const group of group_list) {
    mutex_lock(k.printk, group.mutex, 'bus_iommu_probe');
    group.onGroupList = false; // list_del_init(&group->entry)
    ret = iommu_setup_default_domain(k, group, 0);
    if (ret && k.profile.probeShape === 'v6.4') {
      // v6.4's walk skips a group it cannot give a default domain and carries on.
      recordKnownBug(k, 'group-without-default-domain', group.devices[0]?.dev.name ?? '', []);
      mutex_unlock(k.printk, group.mutex, 'bus_iommu_probe');
      continue;
    }
    if (ret) {
      mutex_unlock(k.printk, group.mutex, 'bus_iommu_probe');
      // The rest of the list stays linked to this dead local list head, as in the kernel:
      // this group and the ones after it keep their members without a default domain.
      for (const g of group_list.slice(group_list.indexOf(group)))
        for (const gdev of g.devices) recordKnownBug(k, 'bus-probe-strands-groups', gdev.dev.name, []);
      return ret;
    }
    for (const gdev of group.devices) iommu_setup_dma_ops(k, gdev.dev);
    mutex_unlock(k.printk, group.mutex, 'bus_iommu_probe');
    // probe_finalize() is called outside group->mutex (the FIXME in the kernel).
    for (const gdev of [...group.devices]) gdev.dev.iommu?.iommu_dev?.ops?.probe_finalize?.(k, gdev.dev);
  }
  return 0;
}
