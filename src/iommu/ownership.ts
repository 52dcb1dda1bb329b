// SPDX-License-Identifier: GPL-2.0-only
/**
 * DMA ownership (drivers/iommu/iommu.c iommu_device_use_default_domain(),
 * iommu_device_unuse_default_domain(), iommu_device_claim_dma_owner(),
 * iommu_group_claim_dma_owner(), iommu_device_release_dma_owner(),
 * iommu_group_release_dma_owner()).
 *
 * A kernel driver bound through the DMA API counts as a user of the default
 * domain (owner_cnt with no owner); VFIO/iommufd claim the group with an
 * owner cookie and move it to the blocking domain. The two exclude each other:
 * this is why one bound kernel driver in a group stops VFIO from taking it.
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuGroup } from './group.js';
import { EBUSY, EINVAL, ENODEV, EPERM, EPROBE_DEFER, IS_ERR, PTR_ERR } from '../kernel/errno.js';
import { mutex_lock, mutex_unlock } from '../kernel/mutex.js';
import { IOMMU_DOMAIN_BLOCKED, IOMMU_DOMAIN_UNMANAGED } from './domain.js';
import { __iommu_group_domain_alloc } from './domain-alloc.js';
import { __iommu_group_set_domain, __iommu_group_set_domain_nofail } from './attach.js';

/** iommu_device_use_default_domain(): the driver core, before a DMA-API driver's probe(). */
export function iommu_device_use_default_domain(k: Kernel, dev: Device): number {
  const group = dev.iommu_group;
  if (!group) return 0;
  mutex_lock(k.printk, group.mutex, 'iommu_device_use_default_domain');
  let ret = 0;
  if (k.profile.useDefaultDomainDefers && !group.default_domain) {
    ret = -EPROBE_DEFER; // racing bus_iommu_probe() finalising the group
  } else if (
    group.owner_cnt &&
    (group.domain !== group.default_domain || group.owner !== null || group.pasid_array.size > 0)
  ) {
    ret = -EBUSY;
  } else {
    group.owner_cnt++;
  }
  mutex_unlock(k.printk, group.mutex, 'iommu_device_use_default_domain');
  return ret;
}

/** iommu_device_unuse_default_domain(): after the driver unbinds (bus dma_cleanup). */
export function iommu_device_unuse_default_domain(k: Kernel, dev: Device): void {
  const group = dev.iommu_group;
  if (!group) return;
  mutex_lock(k.printk, group.mutex, 'iommu_device_unuse_default_domain');
  if (
    !k.printk.warn(
      !group.owner_cnt || group.pasid_array.size > 0,
      'iommu_device_unuse_default_domain',
      'WARN_ON(!group->owner_cnt || !xa_empty(&group->pasid_array))',
      dev.name,
    )
  ) {
    group.owner_cnt--;
  }
  mutex_unlock(k.printk, group.mutex, 'iommu_device_unuse_default_domain');
}

/** __iommu_group_alloc_blocking_domain(): the driver's blocked domain, else an empty paging one. */
function __iommu_group_alloc_blocking_domain(k: Kernel, group: IommuGroup): number {
  if (group.blocking_domain) return 0;
  let domain = __iommu_group_domain_alloc(k, group, IOMMU_DOMAIN_BLOCKED);
  if (IS_ERR(domain)) {
    domain = __iommu_group_domain_alloc(k, group, IOMMU_DOMAIN_UNMANAGED);
    if (IS_ERR(domain)) return PTR_ERR(domain);
  }
  group.blocking_domain = domain;
  return 0;
}

/** __iommu_take_dma_ownership() */
function __iommu_take_dma_ownership(k: Kernel, group: IommuGroup, owner: unknown): number {
  if ((group.domain && group.domain !== group.default_domain) || group.pasid_array.size > 0) return -EBUSY;
  let ret = __iommu_group_alloc_blocking_domain(k, group);
  if (ret) return ret;
  ret = __iommu_group_set_domain(k, group, group.blocking_domain);
  if (ret) return ret;
  group.owner = owner;
  group.owner_cnt++;
  return 0;
}

/** iommu_group_claim_dma_owner(): VFIO's group-level claim; -EPERM if anyone uses the group. */
export function iommu_group_claim_dma_owner(k: Kernel, group: IommuGroup, owner: unknown): number {
  if (k.printk.warn(!owner, 'iommu_group_claim_dma_owner', 'WARN_ON(!owner)')) return -EINVAL;
  mutex_lock(k.printk, group.mutex, 'iommu_group_claim_dma_owner');
  const ret = group.owner_cnt ? -EPERM : __iommu_take_dma_ownership(k, group, owner);
  mutex_unlock(k.printk, group.mutex, 'iommu_group_claim_dma_owner');
  return ret;
}

/** iommu_device_claim_dma_owner(): iommufd's per-device claim; the same owner may claim again. */
export function iommu_device_claim_dma_owner(k: Kernel, dev: Device, owner: unknown): number {
  if (k.printk.warn(!owner, 'iommu_device_claim_dma_owner', 'WARN_ON(!owner)')) return -EINVAL;
  const group = dev.iommu_group;
  if (!group) return -ENODEV;
  mutex_lock(k.printk, group.mutex, 'iommu_device_claim_dma_owner');
  let ret = 0;
  if (group.owner_cnt) {
    if (group.owner !== owner) ret = -EPERM;
    else group.owner_cnt++;
  } else {
    ret = __iommu_take_dma_ownership(k, group, owner);
  }
  mutex_unlock(k.printk, group.mutex, 'iommu_device_claim_dma_owner');
  return ret;
}

/** __iommu_release_dma_ownership(): back to the default domain. */
function __iommu_release_dma_ownership(k: Kernel, group: IommuGroup): void {
  if (
    k.printk.warn(
      !group.owner_cnt || !group.owner || group.pasid_array.size > 0,
      '__iommu_release_dma_ownership',
      'WARN_ON(!group->owner_cnt || !group->owner || !xa_empty(&group->pasid_array))',
    )
  )
    return;
  group.owner_cnt = 0;
  group.owner = null;
  __iommu_group_set_domain_nofail(k, group, group.default_domain);
}

export function iommu_group_release_dma_owner(k: Kernel, group: IommuGroup): void {
  mutex_lock(k.printk, group.mutex, 'iommu_group_release_dma_owner');
  __iommu_release_dma_ownership(k, group);
  mutex_unlock(k.printk, group.mutex, 'iommu_group_release_dma_owner');
}

export function iommu_device_release_dma_owner(k: Kernel, dev: Device): void {
  const group = dev.iommu_group;
  if (!group) {
    k.printk.warn(
      true,
      'iommu_device_release_dma_owner',
      'no group (the kernel would dereference NULL here)',
      dev.name,
    );
    return;
  }
  mutex_lock(k.printk, group.mutex, 'iommu_device_release_dma_owner');
  if (group.owner_cnt > 1) group.owner_cnt--;
  else __iommu_release_dma_ownership(k, group);
  mutex_unlock(k.printk, group.mutex, 'iommu_device_release_dma_owner');
}
