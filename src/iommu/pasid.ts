// SPDX-License-Identifier: GPL-2.0-only
/**
 * Domains on a device's PASIDs (drivers/iommu/iommu.c, v6.15:
 * iommu_attach_device_pasid(), iommu_replace_device_pasid(),
 * iommu_detach_device_pasid(), __iommu_set_group_pasid(),
 * __iommu_remove_group_pasid()).
 *
 * A PASID-tagged DMA stream of a device gets its own domain, recorded in
 * the group's pasid_array with the attach handle (which routes its page
 * faults). The driver sets it with its domain's set_dev_pasid(); taking it
 * away is the blocked domain's set_dev_pasid(). Every device of the group
 * must be able to use the PASID (below its max_pasids: -EINVAL); a PASID
 * already taken is -EBUSY; one not taken cannot be replaced (-EINVAL).
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import { EBUSY, EINVAL, ENODEV, EOPNOTSUPP } from '../kernel/errno.js';
import { mutex_lock, mutex_unlock } from '../kernel/mutex.js';
import type { IommuDomain } from './domain.js';
import type { IommuGroup } from './group.js';
import { dev_iommu_ops } from './domain-alloc.js';
import { dev_has_iommu } from './dev-iommu.js';
import { IOMMU_NO_PASID } from './attach.js';

/** The blocked domain's set_dev_pasid(): the PASID's DMA is stopped (iommu_remove_dev_pasid()). */
function removeDevPasid(k: Kernel, dev: Device, pasid: number, old: IommuDomain): void {
  const blocked = dev_iommu_ops(dev).blocked_domain;
  blocked?.ops?.set_dev_pasid?.(k, blocked, dev, pasid, old);
}

/**
 * __iommu_set_group_pasid(): set_dev_pasid() on every device of the group;
 * when one fails, the devices already done go back to `old` (or are
 * blocked when there was none).
 */
function setGroupPasid(
  k: Kernel,
  domain: IommuDomain,
  group: IommuGroup,
  pasid: number,
  old: IommuDomain | null,
): number {
  for (let i = 0; i < group.devices.length; i++) {
    const dev = group.devices[i].dev;
    const ret = domain.ops!.set_dev_pasid!(k, domain, dev, pasid, old);
    if (!ret) continue;
    for (let j = 0; j < i; j++) {
      const done = group.devices[j].dev;
      if (old) {
        const r = old.ops!.set_dev_pasid!(k, old, done, pasid, domain);
        k.printk.warn(r !== 0, '__iommu_set_group_pasid', 'WARN_ON(old->ops->set_dev_pasid())');
      } else {
        removeDevPasid(k, done, pasid, domain);
      }
    }
    return ret;
  }
  return 0;
}

/** The checks iommu_attach_device_pasid() and iommu_replace_device_pasid() share. */
function pasidChecks(domain: IommuDomain, dev: Device, pasid: number): number {
  if (!domain.ops?.set_dev_pasid) return -EOPNOTSUPP;
  if (!dev.iommu_group) return -ENODEV;
  if (!dev_has_iommu(dev) || dev_iommu_ops(dev) !== domain.owner || pasid === IOMMU_NO_PASID) return -EINVAL;
  for (const gdev of dev.iommu_group.devices) if (pasid >= (gdev.dev.iommu?.max_pasids ?? 0)) return -EINVAL;
  return 0;
}

/**
 * The common body of attach and replace: the checks, then under the group
 * mutex `set` decides (0 or an errno) and, on success, the PASID's slot
 * records the domain and its handle.
 */
function setDevicePasid(
  k: Kernel,
  site: string,
  domain: IommuDomain,
  dev: Device,
  pasid: number,
  handle: unknown,
  set: (group: IommuGroup) => number,
): number {
  let ret = pasidChecks(domain, dev, pasid);
  if (ret) return ret;
  const group = dev.iommu_group!;
  mutex_lock(k.printk, group.mutex, site);
  ret = set(group);
  if (!ret) {
    group.pasid_array.set(pasid, domain, handle);
  }
  mutex_unlock(k.printk, group.mutex, site);
  return ret;
}

/** iommu_attach_device_pasid(): the PASID must be free (-EBUSY, xa_insert()); the driver may refuse. */
export function iommu_attach_device_pasid(
  k: Kernel,
  domain: IommuDomain,
  dev: Device,
  pasid: number,
  handle: unknown = null,
): number {
  return setDevicePasid(k, 'iommu_attach_device_pasid', domain, dev, pasid, handle, (group) =>
    group.pasid_array.has(pasid) ? -EBUSY : setGroupPasid(k, domain, group, pasid, null),
  );
}

/** iommu_replace_device_pasid(): only a PASID already attached (-EINVAL); on failure nothing changes. */
export function iommu_replace_device_pasid(
  k: Kernel,
  domain: IommuDomain,
  dev: Device,
  pasid: number,
  handle: unknown = null,
): number {
  return setDevicePasid(k, 'iommu_replace_device_pasid', domain, dev, pasid, handle, (group) => {
    const cur = group.pasid_array.get(pasid);
    if (!cur) return -EINVAL;
    return cur === domain ? 0 : setGroupPasid(k, domain, group, pasid, cur);
  });
}

/** iommu_detach_device_pasid(): every device of the group stops the PASID; the slot is freed. */
export function iommu_detach_device_pasid(k: Kernel, domain: IommuDomain, dev: Device, pasid: number): void {
  const group = dev.iommu_group;
  if (!group) return;
  mutex_lock(k.printk, group.mutex, 'iommu_detach_device_pasid');
  for (const gdev of group.devices) removeDevPasid(k, gdev.dev, pasid, domain);
  group.pasid_array.delete(pasid);
  mutex_unlock(k.printk, group.mutex, 'iommu_detach_device_pasid');
}

/**
 * iommu_attach_handle_get(): what is attached at a PASID of the group (the
 * domain and its handle), or null (-ENOENT).
 */
export function iommu_attach_handle_get(
  group: IommuGroup,
  pasid: number,
): { readonly domain: IommuDomain; readonly handle: unknown } | null {
  return group.pasid_array.entry(pasid);
}
