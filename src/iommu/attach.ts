// SPDX-License-Identifier: GPL-2.0-only
/**
 * Attaching domains to devices and groups (drivers/iommu/iommu.c
 * __iommu_attach_device(), __iommu_device_set_domain(),
 * __iommu_group_set_domain_internal(), __iommu_group_set_domain_nofail(),
 * iommu_attach_group(), iommu_group_replace_domain(), iommu_detach_group()).
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuGroup } from './group.js';
import { EBUSY, EINVAL, ENODEV } from '../kernel/errno.js';
import { lockdep_assert_held, mutex_lock, mutex_unlock } from '../kernel/mutex.js';
import { IOMMU_DOMAIN_BLOCKED, type IommuDomain } from './domain.js';
import { iommu_group_first_dev } from './group.js';
import { dev_has_iommu } from './dev-iommu.js';
import { dev_iommu_ops } from './domain-alloc.js';

export const IOMMU_SET_DOMAIN_MUST_SUCCEED = 1 << 0;

/** __iommu_attach_device() */
export function __iommu_attach_device(k: Kernel, domain: IommuDomain, dev: Device): number {
  const attach = domain.ops?.attach_dev;
  if (!attach) return -ENODEV;
  const ret = attach(k, domain, dev);
  if (ret) return ret;
  dev.hwDomain = domain;
  dev.iommu!.attach_deferred = false;
  return 0;
}

/** __iommu_device_set_domain(): refuses a blocking domain for a device that needs its 1:1 map. */
export function __iommu_device_set_domain(
  k: Kernel,
  group: IommuGroup,
  dev: Device,
  new_domain: IommuDomain,
  flags: number,
): number {
  if (
    dev.iommu!.require_direct &&
    (new_domain.type === IOMMU_DOMAIN_BLOCKED || new_domain === group.blocking_domain)
  ) {
    k.printk.log(
      'warn',
      dev.name,
      'Firmware has requested this device have a 1:1 IOMMU mapping, rejecting configuring the device without a 1:1 mapping. Contact your platform vendor.',
    );
    return -EINVAL;
  }
  if (dev.iommu!.attach_deferred) {
    if (new_domain === group.default_domain) return 0;
    dev.iommu!.attach_deferred = false;
  }
  const ret = __iommu_attach_device(k, new_domain, dev);
  if (ret) {
    if (
      flags & IOMMU_SET_DOMAIN_MUST_SUCCEED &&
      group.blocking_domain &&
      group.blocking_domain !== new_domain
    ) {
      __iommu_attach_device(k, group.blocking_domain, dev);
    }
    return ret;
  }
  return 0;
}

/**
 * __iommu_group_set_domain_internal(): attach every member; on failure revert
 * the members already moved, unless MUST_SUCCEED (then carry on and report).
 */
export function __iommu_group_set_domain_internal(
  k: Kernel,
  group: IommuGroup,
  new_domain: IommuDomain | null,
  flags: number,
): number {
  lockdep_assert_held(k.printk, group.mutex, '__iommu_group_set_domain_internal');
  if (group.domain === new_domain) return 0;
  if (!new_domain && k.profile.nullDomainIsPlatformDma) {
    // v6.4: NULL means the platform's DMA ops, set per device by the driver.
    for (const gdev of group.devices) {
      const ops = gdev.dev.iommu?.iommu_dev?.ops;
      if (
        !k.printk.warn(
          !ops?.set_platform_dma_ops,
          '__iommu_group_set_domain',
          'WARN_ON(!ops->set_platform_dma_ops)',
          gdev.dev.name,
        )
      ) {
        ops!.set_platform_dma_ops!(k, gdev.dev);
      }
      gdev.dev.hwDomain = null;
    }
    group.domain = null;
    return 0;
  }
  if (k.printk.warn(!new_domain, '__iommu_group_set_domain_internal', 'WARN_ON(!new_domain)')) return -EINVAL;
  let result = 0;
  for (let i = 0; i < group.devices.length; i++) {
    const ret = __iommu_device_set_domain(k, group, group.devices[i].dev, new_domain!, flags);
    if (ret) {
      result = ret;
      if (flags & IOMMU_SET_DOMAIN_MUST_SUCCEED) continue;
      for (let j = 0; j <= i; j++) {
        if (group.domain) {
          k.printk.warn(
            __iommu_device_set_domain(
              k,
              group,
              group.devices[j].dev,
              group.domain,
              IOMMU_SET_DOMAIN_MUST_SUCCEED,
            ) !== 0,
            '__iommu_group_set_domain_internal',
            'WARN_ON(revert to the old domain failed)',
            group.devices[j].dev.name,
          );
        }
      }
      return ret;
    }
  }
  group.domain = new_domain;
  return result;
}

export function __iommu_group_set_domain(
  k: Kernel,
  group: IommuGroup,
  new_domain: IommuDomain | null,
): number {
  return __iommu_group_set_domain_internal(k, group, new_domain, 0);
}

/** __iommu_group_set_domain_nofail(): a failure here is a driver bug, so a WARN. */
export function __iommu_group_set_domain_nofail(
  k: Kernel,
  group: IommuGroup,
  new_domain: IommuDomain | null,
): void {
  k.printk.warn(
    __iommu_group_set_domain_internal(k, group, new_domain, IOMMU_SET_DOMAIN_MUST_SUCCEED) !== 0,
    '__iommu_group_set_domain_nofail',
    `WARN_ON(attach of ${new_domain?.label ?? 'NULL'} failed)`,
  );
}

/** __iommu_group_set_core_domain(): the blocking domain while owned, else the default. */
export function __iommu_group_set_core_domain(k: Kernel, group: IommuGroup): void {
  __iommu_group_set_domain_nofail(k, group, group.owner ? group.blocking_domain : group.default_domain);
}

/**
 * __iommu_attach_group(): only from a core domain, and only a domain allocated
 * by the members' own driver (a9c362db3920 "iommu: Validate that devices match domains").
 */
function __iommu_attach_group(k: Kernel, domain: IommuDomain, group: IommuGroup): number {
  if (group.domain && group.domain !== group.default_domain && group.domain !== group.blocking_domain)
    return -EBUSY;
  const dev = iommu_group_first_dev(group);
  if (!dev_has_iommu(dev) || dev_iommu_ops(dev) !== domain.owner) return -EINVAL;
  return __iommu_group_set_domain(k, group, domain);
}

/** iommu_attach_group() */
export function iommu_attach_group(k: Kernel, domain: IommuDomain, group: IommuGroup): number {
  mutex_lock(k.printk, group.mutex, 'iommu_attach_group');
  const ret = __iommu_attach_group(k, domain, group);
  mutex_unlock(k.printk, group.mutex, 'iommu_attach_group');
  return ret;
}

/** iommu_attach_device(): only for a device alone in its group. */
export function iommu_attach_device(k: Kernel, domain: IommuDomain, dev: Device): number {
  const group = dev.iommu_group;
  if (!group) return -ENODEV;
  mutex_lock(k.printk, group.mutex, 'iommu_attach_device');
  const ret = group.devices.length !== 1 ? -EINVAL : __iommu_attach_group(k, domain, group);
  mutex_unlock(k.printk, group.mutex, 'iommu_attach_device');
  return ret;
}

/** iommu_group_replace_domain(): switch without going through the blocking domain. */
export function iommu_group_replace_domain(
  k: Kernel,
  group: IommuGroup,
  new_domain: IommuDomain | null,
): number {
  if (!new_domain) return -EINVAL;
  mutex_lock(k.printk, group.mutex, 'iommu_group_replace_domain');
  const ret = __iommu_group_set_domain(k, group, new_domain);
  mutex_unlock(k.printk, group.mutex, 'iommu_group_replace_domain');
  return ret;
}

/** iommu_detach_group() */
export function iommu_detach_group(k: Kernel, group: IommuGroup): void {
  mutex_lock(k.printk, group.mutex, 'iommu_detach_group');
  __iommu_group_set_core_domain(k, group);
  mutex_unlock(k.printk, group.mutex, 'iommu_detach_group');
}

/** IOMMU_NO_PASID: the RID's slot in group->pasid_array. */
export const IOMMU_NO_PASID = 0;

/**
 * iommu_attach_group_handle(): iommufd's attach. The group's RID slot of
 * pasid_array records the domain (-EBUSY when something is there), so a
 * kernel driver cannot take the group's default domain meanwhile.
 */
export function iommu_attach_group_handle(
  k: Kernel,
  domain: IommuDomain,
  group: IommuGroup,
  handle: unknown = null,
): number {
  mutex_lock(k.printk, group.mutex, 'iommu_attach_group_handle');
  let ret = group.pasid_array.has(IOMMU_NO_PASID) ? -EBUSY : 0; // xa_insert()
  if (!ret) {
    group.pasid_array.set(IOMMU_NO_PASID, domain, handle);
    ret = __iommu_attach_group(k, domain, group);
    if (ret) {
      group.pasid_array.delete(IOMMU_NO_PASID);
    }
  }
  mutex_unlock(k.printk, group.mutex, 'iommu_attach_group_handle');
  return ret;
}

/** iommu_detach_group_handle(): back to the core domain (blocking while owned), the slot cleared. */
export function iommu_detach_group_handle(k: Kernel, group: IommuGroup): void {
  mutex_lock(k.printk, group.mutex, 'iommu_detach_group_handle');
  __iommu_group_set_core_domain(k, group);
  group.pasid_array.delete(IOMMU_NO_PASID);
  mutex_unlock(k.printk, group.mutex, 'iommu_detach_group_handle');
}

/** iommu_replace_group_handle(): switch domains directly; on failure nothing changes. */
export function iommu_replace_group_handle(
  k: Kernel,
  group: IommuGroup,
  new_domain: IommuDomain | null,
  handle: unknown = null,
): number {
  if (!new_domain) return -EINVAL;
  mutex_lock(k.printk, group.mutex, 'iommu_replace_group_handle');
  const ret = __iommu_group_set_domain(k, group, new_domain);
  if (!ret) {
    group.pasid_array.set(IOMMU_NO_PASID, new_domain, handle);
  }
  mutex_unlock(k.printk, group.mutex, 'iommu_replace_group_handle');
  return ret;
}
