// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommu_group: the unit of isolation (drivers/iommu/iommu.c
 * iommu_group_alloc(), iommu_group_get()/put(), iommu_group_alloc_device(),
 * __iommu_group_free_device(), iommu_group_release(), generic_device_group(),
 * generic_single_device_group(), fsl_mc_device_group()).
 *
 * The reference count is the kobject count of the group's devices_kobj:
 * iommu_group_alloc() returns one reference, which becomes the device's
 * membership reference when device_group() returns it.
 */
import type { Allocation, OwnerHistory } from '../kernel/alloc.js';
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuDomain } from './domain.js';
import { Mutex } from '../kernel/mutex.js';
import { PasidArray } from './pasid-array.js';
import { ENOMEM, ERR_PTR, ErrPtr } from '../kernel/errno.js';

/** struct group_device: a member and its name in the group's devices/ folder. */
export interface GroupDevice {
  readonly dev: Device;
  readonly name: string;
  readonly mem: Allocation;
}

export class IommuGroup {
  readonly devices: GroupDevice[] = [];
  readonly mutex = new Mutex('group->mutex');
  default_domain: IommuDomain | null = null;
  blocking_domain: IommuDomain | null = null;
  /** The domain currently attached to every member. */
  domain: IommuDomain | null = null;
  owner: unknown = null;
  owner_cnt = 0;
  /** What is attached at each PASID, with its attach handle (iommufd's), for routing page faults. */
  readonly pasid_array = new PasidArray();
  /** On a bus_iommu_probe() group list (list_empty(&group->entry) is false). */
  onGroupList = false;
  /** The kref of devices_kobj. */
  refcount = 1;
  released = false;
  /** Members were added by a driver with iommu_group_add_device(), not by the core's probe. */
  driverManaged = false;
  /** Why the devices are together: filled by the device_group() that made or found it. */
  readonly reasons: string[] = [];
  /** iommu_group_set_iommudata(): driver data, and what frees it when the group is released. */
  iommu_data: unknown = null;
  iommu_data_release: ((data: unknown) => void) | null = null;
  /** iommu_group_set_name(): the sysfs `name` attribute (kstrdup()'d), or null. */
  name: string | null = null;
  nameMem: Allocation | null = null;

  /** The devices/ kobject (null only while iommu_group_alloc() makes it). */
  devicesKobj: Allocation | null = null;
  /** What the modelled allocator handed out for this group (Allocator.history()). */
  allocations: OwnerHistory | null = null;

  constructor(
    readonly id: number,
    readonly mem: Allocation,
  ) {}

  toString(): string {
    return `group ${this.id}`;
  }
}

/** iommu_group_alloc(): a new group with the lowest free id, holding one reference. */
export function iommu_group_alloc(k: Kernel): IommuGroup | ErrPtr {
  const mem = k.alloc.alloc('iommu_group', 'iommu core', 'iommu_group_alloc');
  if (!mem) return ERR_PTR(-ENOMEM);
  // kobject_create_and_add("devices"): may fail on its own, after the id is taken.
  const id = k.iommu.group_ida.alloc();
  const group = new IommuGroup(id, mem);
  k.alloc.setOwner(mem, group);
  group.devicesKobj = k.alloc.alloc('iommu_group devices kobject', group, 'iommu_group_alloc');
  if (!group.devicesKobj) {
    k.iommu.group_ida.free(id);
    k.alloc.free(mem, 'iommu_group_release');
    return ERR_PTR(-ENOMEM);
  }
  k.iommu.groups.set(id, group);
  return group;
}

/** iommu_group_ref_get() */
export function iommu_group_ref_get(group: IommuGroup): IommuGroup {
  group.refcount += 1;
  return group;
}

/** iommu_group_get_iommudata() */
export function iommu_group_get_iommudata(group: IommuGroup): unknown {
  return group.iommu_data;
}

/** iommu_group_set_iommudata(): `release` runs when the group is released. */
export function iommu_group_set_iommudata(
  group: IommuGroup,
  data: unknown,
  release: ((data: unknown) => void) | null,
): void {
  group.iommu_data = data;
  group.iommu_data_release = release;
}

/** iommu_group_set_name(): replaces the name; -ENOMEM (the group left unnamed) when kstrdup() fails. */
export function iommu_group_set_name(k: Kernel, group: IommuGroup, name: string): number {
  k.alloc.free(group.nameMem, 'iommu_group_set_name');
  group.name = null;
  group.nameMem = null;
  const mem = k.alloc.alloc('iommu_group name', group, 'iommu_group_set_name');
  if (!mem) return -ENOMEM;
  group.name = name;
  group.nameMem = mem;
  return 0;
}

/** iommu_group_get(): +1 on dev->iommu_group, or null. */
export function iommu_group_get(dev: Device): IommuGroup | null {
  return dev.iommu_group ? iommu_group_ref_get(dev.iommu_group) : null;
}

/** iommu_group_put(): the last reference releases the group. NULL is a no-op. */
export function iommu_group_put(k: Kernel, group: IommuGroup | null): void {
  if (!group) return;
  if (group.refcount <= 0) {
    k.printk.warn(true, 'iommu_group_put', `refcount underflow on group ${group.id}`);
    return;
  }
  group.refcount -= 1;
  if (group.refcount === 0) iommu_group_release(k, group);
}

/** iommu_group_release(): the domains must already be gone (iommu_deinit_device() frees them). */
function iommu_group_release(k: Kernel, group: IommuGroup): void {
  if (group.iommu_data_release) group.iommu_data_release(group.iommu_data);
  k.iommu.group_ida.free(group.id);
  k.iommu.groups.delete(group.id);
  k.printk.warn(group.default_domain !== null, 'iommu_group_release', 'WARN_ON(group->default_domain)');
  k.printk.warn(group.blocking_domain !== null, 'iommu_group_release', 'WARN_ON(group->blocking_domain)');
  group.released = true;
  k.alloc.free(group.nameMem, 'iommu_group_release');
  k.alloc.free(group.devicesKobj, 'iommu_group_release');
  k.alloc.free(group.mem, 'iommu_group_release');
}

/**
 * iommu_group_alloc_device(): the group_device and the two sysfs links;
 * a name already in the group's devices/ folder gets ".N" appended.
 */
export function iommu_group_alloc_device(k: Kernel, group: IommuGroup, dev: Device): GroupDevice | ErrPtr {
  const mem = k.alloc.alloc('group_device', dev, 'iommu_group_alloc_device');
  if (!mem) {
    k.printk.log('err', dev.name, `Failed to add to iommu group ${group.id}: -12`);
    return ERR_PTR(-ENOMEM);
  }
  let name = dev.name;
  for (let i = 0; group.devices.some((g) => g.name === name); i++) name = `${dev.name}.${i}`;
  k.printk.log('info', dev.name, `Adding to iommu group ${group.id}`);
  return { dev, name, mem };
}

/**
 * __iommu_group_free_device(): drop the links; an emptied group must have had
 * its ownership released and its domain set back to the default.
 */
export function __iommu_group_free_device(k: Kernel, group: IommuGroup, gdev: GroupDevice): void {
  if (group.devices.length === 0) {
    k.printk.warn(
      group.owner_cnt !== 0 || group.domain !== group.default_domain,
      '__iommu_group_free_device',
      `WARN_ON(group->owner_cnt || group->domain != group->default_domain) for group ${group.id}` +
        ` (owner_cnt ${group.owner_cnt}, domain ${group.domain?.label ?? 'NULL'}, default ${group.default_domain?.label ?? 'NULL'})`,
      gdev.dev.name,
    );
  }
  k.alloc.free(gdev.mem, '__iommu_group_free_device');
}

/** iommu_group_first_dev() */
export function iommu_group_first_dev(group: IommuGroup): Device {
  return group.devices[0].dev;
}

/** generic_device_group(): a new group for every device. */
export function generic_device_group(k: Kernel, dev: Device): IommuGroup | ErrPtr {
  const group = iommu_group_alloc(k);
  if (group instanceof IommuGroup)
    group.reasons.push(`${dev.name}: a group of its own (generic_device_group)`);
  return group;
}

/** generic_single_device_group(): one group per IOMMU instance, shared by all its devices. */
export function generic_single_device_group(k: Kernel, dev: Device): IommuGroup | ErrPtr {
  const iommu = dev.iommu!.iommu_dev!;
  if (!iommu.singleton_group) {
    const group = iommu_group_alloc(k);
    if (!(group instanceof IommuGroup)) return group;
    group.reasons.push(`every device behind ${iommu.name} shares one group (generic_single_device_group)`);
    iommu.singleton_group = group;
  }
  return iommu_group_ref_get(iommu.singleton_group);
}

/**
 * fsl_mc_device_group(): the DPRC container's group if it has one, else a new
 * group. `container` is fsl_mc_cont_dev(dev): the device itself for a DPRC.
 */
export function fsl_mc_device_group(k: Kernel, dev: Device, container: Device): IommuGroup | ErrPtr {
  const existing = iommu_group_get(container);
  if (existing) {
    existing.reasons.push(
      `${dev.name}: shares its fsl-mc container ${container.name}'s group (fsl_mc_device_group)`,
    );
    return existing;
  }
  const group = iommu_group_alloc(k);
  if (group instanceof IommuGroup)
    group.reasons.push(`${dev.name}: fsl-mc container ${container.name} has no group yet`);
  return group;
}

/**
 * iommu_group_add_device(): a driver (or, in v6.4, the selftest) puts a device
 * in a group by hand; the group gains a reference for it.
 */
export function iommu_group_add_device(k: Kernel, group: IommuGroup, dev: Device): number {
  const gdev = iommu_group_alloc_device(k, group, dev);
  if (gdev instanceof ErrPtr) return gdev.errno;
  iommu_group_ref_get(group);
  dev.iommu_group = group;
  group.driverManaged = true;
  group.devices.push(gdev);
  return 0;
}
