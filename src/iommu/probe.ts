// SPDX-License-Identifier: GPL-2.0-only
/**
 * Device probe into the IOMMU core (drivers/iommu/iommu.c):
 * iommu_probe_device(), __iommu_probe_device(), iommu_init_device(),
 * iommu_deinit_device().
 *
 * Which iommu_ops a device gets is the question the seed thread is about;
 * probeOps() below is the one place that answers it, per profile.
 * Everything runs under iommu_probe_device_lock, a global mutex, which v6.15's
 * iommu_init_device() drops around bus->dma_configure().
 */
import { flat } from '../lib/flat-string.js';
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuOps } from './ops.js';
import type { IommuGroup } from './group.js';
import { EINVAL, ENODEV, ENOMEM, IS_ERR, PTR_ERR, errnoName } from '../kernel/errno.js';
import { lockdep_assert_held, mutex_lock, mutex_unlock } from '../kernel/mutex.js';
import { dev_is_pci, sharedHistoryLine } from '../base/device.js';
import { fwnode_property_read_u32 } from '../base/fwnode.js';
import { dev_iommu_free, dev_iommu_fwspec_get, dev_iommu_get } from './dev-iommu.js';
import { iommu_fwspec_ops } from './fwspec.js';
import { iommu_ops_from_fwnode, iommu_device_link, iommu_device_unlink } from './iommu-device.js';
import {
  __iommu_group_free_device,
  iommu_group_alloc_device,
  iommu_group_put,
  IommuGroup as GroupClass,
} from './group.js';
import { iommu_domain_free } from './domain-alloc.js';
import { __iommu_device_set_domain } from './attach.js';
import { iommu_create_device_direct_mappings, iommu_setup_default_domain } from './default-domain.js';
import { iommu_setup_dma_ops } from './dma-ops.js';
import { recordKnownBug } from '../checker/known-bugs.js';

/**
 * The ops __iommu_probe_device()/iommu_init_device() probe a device with:
 * the heart of the seed thread, per KernelProfile.opsLookup.
 */
export function probeOps(k: Kernel, dev: Device): IommuOps | null {
  const fwspec = dev_iommu_fwspec_get(dev);
  switch (k.profile.opsLookup) {
    case 'bus':
      return dev.bus?.iommu_ops ?? null;
    case 'fwspec-ops-or-first-global':
      // v6.8-v6.10: the fwspec's ops, else (no fwspec, or an empty one still
      // waiting for its instance) the first instance without a fwnode.
      return fwspec?.ops ?? iommu_ops_from_fwnode(k, null);
    case 'fwnode':
      return iommu_fwspec_ops(k, fwspec);
  }
}

/** The history line of a driver's probe_device() turning a device down. */
const refusalLine = (ops: IommuOps, err: number): string =>
  `${ops.name} probe_device() returned ${errnoName(err)}`;

function note(dev: Device, text: string): void {
  dev.addHistory(text);
}

/** dev_iommu_get_max_pasids() */
function dev_iommu_get_max_pasids(dev: Device): number {
  let max = 0;
  if (dev_is_pci(dev)) {
    max = dev.pci!.maxPasids();
  } else {
    const bits = fwnode_property_read_u32(dev.fwnode, 'pasid-num-bits');
    if (bits !== undefined) max = 2 ** bits;
  }
  return Math.min(max, dev.iommu!.iommu_dev!.max_pasids);
}

/**
 * iommu_init_device(): dev_iommu, the driver's probe_device(), the sysfs
 * link and the group. Every failure after dev_iommu_get() ends in
 * dev_iommu_free(), which frees the fwspec too, including one that bus code
 * set up before device_add() (Jason's objection in the seed thread).
 */
export function iommu_init_device(k: Kernel, dev: Device, opsIn: IommuOps | null): number {
  const param = dev_iommu_get(k, dev);
  if (!param) return -ENOMEM;

  let ops = opsIn;
  if (k.profile.firmwareConfigure === 'probe-path') {
    // v6.15: the firmware parse lives in the probe path, skipped once a driver
    // is bound (dma_configure already ran at bind); 0c8e9c148e29 also skips it
    // for an existing fwspec and re-checks the device afterwards.
    const recheck = k.profile.probePathRecheck;
    if ((!recheck || !param.fwspec) && !dev.driver && dev.bus?.dma_configure) {
      mutex_unlock(k.printk, k.iommu.probe_device_lock, 'iommu_init_device');
      dev.bus.dma_configure(k, dev);
      mutex_lock(k.printk, k.iommu.probe_device_lock, 'iommu_init_device');
      // Another walk finished the job (or a failed parse freed dev->iommu).
      if (recheck && (!dev.iommu || dev.iommu_group)) return -ENODEV;
      if (!dev.iommu) {
        // v6.15.0: nothing re-checks; the kernel would dereference a freed dev->iommu here.
        k.printk.warn(
          true,
          'iommu_init_device',
          'dev->iommu vanished during dma_configure (use after free in v6.15.0)',
          dev.name,
        );
        return -ENODEV;
      }
    }
    ops = iommu_fwspec_ops(k, dev.iommu!.fwspec);
  }
  if (!ops) return err_free(k, dev, -ENODEV);
  if (ops.moduleGoing) return err_free(k, dev, -EINVAL); // !try_module_get(ops->owner)

  const iommu_dev = ops.probe_device(k, dev);
  if (IS_ERR(iommu_dev)) {
    const err = PTR_ERR(iommu_dev);
    note(dev, sharedHistoryLine(ops, err, refusalLine));
    return err_free(k, dev, PTR_ERR(iommu_dev));
  }
  dev.iommu!.iommu_dev = iommu_dev;

  // v6.4 links after the group is set up and ignores the result; v6.6 on, a failed link fails the probe.
  let ret = k.profile.probeShape === 'v6.4' ? 0 : iommu_device_link(k, iommu_dev, dev);
  if (ret) return err_release(k, dev, ops, ret);

  let group = ops.device_group(k, dev);
  if (k.printk.warnOnce(group === null, 'iommu_init_device', 'WARN_ON_ONCE(group == NULL)', dev.name)) {
    group = null;
    ret = -EINVAL;
  } else if (IS_ERR(group)) {
    ret = PTR_ERR(group);
  }
  if (!(group instanceof GroupClass)) {
    iommu_device_unlink(k, iommu_dev, dev);
    return err_release(k, dev, ops, ret);
  }
  dev.iommu_group = group;
  dev.iommu!.max_pasids = dev_iommu_get_max_pasids(dev);
  if (ops.is_attach_deferred) dev.iommu!.attach_deferred = ops.is_attach_deferred(k, dev);
  dev.iommuProbedAt = k.iommu.probeContext;
  note(
    dev,
    flat`probed by ${ops.name} (${k.iommu.probeContext}): instance ${iommu_dev.name}, group ${group.id}`,
  );
  return 0;
}

function err_release(k: Kernel, dev: Device, ops: IommuOps, ret: number): number {
  ops.release_device?.(k, dev);
  return err_free(k, dev, ret);
}

function err_free(k: Kernel, dev: Device, ret: number): number {
  if (dev.iommu) {
    const fwspec = dev.iommu.fwspec;
    if (fwspec) {
      note(dev, `iommu_init_device() failed (${errnoName(ret)}): its fwspec is freed with dev_iommu`);
      if (fwspec.seededByBus) recordKnownBug(k, 'init-device-frees-seeded-fwspec', dev.name, [fwspec.mem.id]);
    }
    dev.iommu.iommu_dev = null;
    dev_iommu_free(k, dev, 'iommu_init_device');
  }
  return ret;
}

/**
 * iommu_deinit_device(): with group->mutex held. Unlink, attach the release
 * domain, release_device(), free the group's domains if it emptied, then
 * dev_iommu_free(). The caller puts the group.
 */
export function iommu_deinit_device(k: Kernel, dev: Device): void {
  const group = dev.iommu_group!;
  const ops = dev.iommu!.iommu_dev!.ops!;
  lockdep_assert_held(k.printk, group.mutex, 'iommu_deinit_device');
  iommu_device_unlink(k, dev.iommu!.iommu_dev!, dev);
  if (k.profile.releaseDomain && !dev.iommu!.attach_deferred && ops.release_domain) {
    ops.release_domain.ops?.attach_dev?.(k, ops.release_domain, dev);
  }
  ops.release_device?.(k, dev);
  if (group.devices.length === 0) {
    if (group.default_domain) {
      iommu_domain_free(k, group.default_domain);
      group.default_domain = null;
    }
    if (group.blocking_domain) {
      iommu_domain_free(k, group.blocking_domain);
      group.blocking_domain = null;
    }
    group.domain = null;
  }
  dev.iommu_group = null;
  const released = k.profile.releaseDomain && !dev.iommu!.attach_deferred && ops.release_domain;
  dev.hwDomain = released ? ops.release_domain! : null;
  dev_iommu_free(k, dev, 'iommu_deinit_device');
  dev.dma_iommu = false;
}

/**
 * __iommu_probe_device(): with iommu_probe_device_lock held. With a group
 * list (the registration walk) the default domain is left to the caller.
 */
export function __iommu_probe_device(k: Kernel, dev: Device, group_list: IommuGroup[] | null): number {
  let ops: IommuOps | null = null;
  if (k.profile.firmwareConfigure !== 'probe-path') {
    // Up to v6.14 the ops are resolved first: no ops, no allocation.
    ops = probeOps(k, dev);
    if (!ops) return -ENODEV;
  }
  lockdep_assert_held(k.printk, k.iommu.probe_device_lock, '__iommu_probe_device');
  if (dev.iommu_group) return 0; // probed already

  let ret = iommu_init_device(k, dev, ops);
  if (ret) return ret;
  if (k.profile.firmwareConfigure === 'probe-path' && dev.driver) {
    k.printk.warn(
      true,
      '__iommu_probe_device',
      'late IOMMU probe at driver bind, something fishy here!',
      dev.name,
    );
  }

  const group = dev.iommu_group!;
  const gdev = iommu_group_alloc_device(k, group, dev);
  mutex_lock(k.printk, group.mutex, '__iommu_probe_device');
  if (IS_ERR(gdev)) {
    ret = PTR_ERR(gdev);
    return err_put_group(k, dev, group, ret);
  }
  group.devices.push(gdev);
  k.printk.warn(
    group.default_domain !== null && group.domain === null,
    '__iommu_probe_device',
    'WARN_ON(group->default_domain && !group->domain)',
    dev.name,
  );
  if (group.default_domain) iommu_create_device_direct_mappings(k, group.default_domain, dev);
  if (k.profile.probeShape === 'v6.4') {
    ret = v6_4_probe_attach(k, group, dev, group_list);
  } else if (group.domain) {
    ret = __iommu_device_set_domain(k, group, dev, group.domain, 0);
  } else if (!group.default_domain && !group_list) {
    ret = iommu_setup_default_domain(k, group, 0);
  } else if (!group.default_domain && group_list && !group.onGroupList) {
    group.onGroupList = true;
    group_list.push(group);
  }
  if (ret) {
    group.devices.splice(group.devices.indexOf(gdev), 1);
    __iommu_group_free_device(k, group, gdev);
    return err_put_group(k, dev, group, ret);
  }
  if (group.default_domain) iommu_setup_dma_ops(k, dev);
  mutex_unlock(k.printk, group.mutex, '__iommu_probe_device');
  return 0;
}

function err_put_group(k: Kernel, dev: Device, group: IommuGroup, ret: number): number {
  note(dev, `__iommu_probe_device() failed with ${errnoName(ret)} after joining group ${group.id}: unwound`);
  iommu_deinit_device(k, dev);
  mutex_unlock(k.printk, group.mutex, '__iommu_probe_device');
  iommu_group_put(k, group);
  return ret;
}

/**
 * v6.4's iommu_probe_device() tail (before the v6.5/v6.6 consolidation): a
 * default domain is allocated for the group if it has none, and a failure is
 * ignored ("some drivers don't support default domains"); the first attach is
 * to the default domain and only if no one owns the group, so a device
 * hot-added into an owned group is attached to nothing (fixed in v6.5 by
 * e7f85dfbbc9c). The registration walk queues the group as later kernels do.
 */
function v6_4_probe_attach(
  k: Kernel,
  group: IommuGroup,
  dev: Device,
  group_list: IommuGroup[] | null,
): number {
  if (group_list) {
    if (!group.default_domain && !group.onGroupList) {
      group.onGroupList = true;
      group_list.push(group);
    }
  } else if (!group.default_domain) {
    if (iommu_setup_default_domain(k, group, 0)) {
      recordKnownBug(k, 'group-without-default-domain', dev.name, []);
      note(dev, 'iommu_alloc_default_domain() failed: v6.4 carries on with no default domain');
    }
    return 0;
  }
  if (group.default_domain && !group.owner)
    return __iommu_device_set_domain(k, group, dev, group.default_domain, 0);
  if (group.owner) note(dev, 'hot-added into an owned group: v6.4 attaches it to no domain');
  return 0;
}

/** iommu_probe_device(): the notifier and replay path; probe_finalize() outside the lock. */
export function iommu_probe_device(k: Kernel, dev: Device): number {
  mutex_lock(k.printk, k.iommu.probe_device_lock, 'iommu_probe_device');
  const ret = __iommu_probe_device(k, dev, null);
  mutex_unlock(k.printk, k.iommu.probe_device_lock, 'iommu_probe_device');
  if (ret) return ret;
  const ops = dev.iommu!.iommu_dev!.ops!;
  ops.probe_finalize?.(k, dev);
  return 0;
}
