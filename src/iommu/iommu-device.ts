// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommu_device: one IOMMU hardware instance, and the global instance
 * list (drivers/iommu/iommu.c iommu_device_register(), _register_bus(),
 * _unregister(), iommu_ops_from_fwnode(); drivers/iommu/iommu-sysfs.c).
 *
 * The list is in registration order, which is what decides the seed bug:
 * iommu_ops_from_fwnode(NULL) returns the FIRST instance registered without
 * a fwnode, whatever the device.
 */
import { Iotlb } from './iotlb.js';
import type { IommuFault } from './translate.js';
import { IOMMU_DOMAIN_BLOCKED, IommuDomain } from './domain.js';
import type { Allocation } from '../kernel/alloc.js';
import type { BusType, NotifierBlock } from '../base/bus.js';
import type { Device } from '../base/device.js';
import type { Fwnode } from '../base/fwnode.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuOps } from './ops.js';
import type { IommuGroup } from './group.js';
import { bus_for_each_dev, bus_register_notifier, bus_unregister_notifier } from '../base/bus.js';
import { dev_fwnode } from '../base/device.js';
import { EBUSY, ENOMEM } from '../kernel/errno.js';
import { bus_iommu_probe } from './bus-probe.js';
import { iommu_release_device } from './release.js';
import { iommu_group_put } from './group.js';
import { fwnode_create_software_node, fwnode_remove_software_node } from './fwnode-ref.js';
import { withProbeContext } from './subsys.js';

export class IommuDevice {
  ops: IommuOps | null = null;
  /** Set from the hardware device at registration; null for "global" drivers. */
  fwnode: Fwnode | null = null;
  /** generic_single_device_group()'s group, referenced by the instance. */
  singleton_group: IommuGroup | null = null;
  max_pasids = 0;
  /** v6.15+: every bus walk of registration succeeded. */
  ready = false;
  /** On iommu_device_list. */
  listed = false;
  /** When it was put on the list (a per-kernel counter), for invariant I7. */
  registeredSeq = -1;
  /** /sys/class/iommu/<name>, from iommu_device_sysfs_add(). */
  sysfs: Allocation | null = null;
  /** The devices/<dev> links made by iommu_device_link(). */
  readonly links = new Map<Device, Allocation>();
  /** Driver-private data (the driver's own unit structure). */
  priv: unknown = null;
  /** Its translation cache and the invalidations sent to it. */
  readonly iotlb = new Iotlb();
  /** Faults it reported, oldest first. */
  readonly faults: IommuFault[] = [];
  /** How the driver words a fault (its event/fault record); null: a generic line. */
  faultReporter: ((dev: Device, f: Omit<IommuFault, 'log'>) => string[]) | null = null;
  /** The device the driver's fault handler prints with (dev_err()'s device), when it is not the instance's name. */
  faultLogDevice: ((dev: Device) => string) | null = null;
  /** Stands for "no domain attached" in fault reports. */
  readonly noDomain = new IommuDomain(IOMMU_DOMAIN_BLOCKED, null, 'no domain');

  constructor(
    /** The sysfs name: dmar0, ivhd0, smmu3.0x0000000009050000, iommufd_selftest_iommu. */
    readonly name: string,
    /** The device that implements it (a platform device, a PCI function), if any. */
    readonly hwdev: Device | null = null,
  ) {}

  toString(): string {
    return this.name;
  }
}

/** iommu_device_sysfs_add(): the class device under /sys/class/iommu. */
export function iommu_device_sysfs_add(k: Kernel, iommu: IommuDevice): number {
  const mem = k.alloc.alloc('iommu_device sysfs', iommu.name, 'iommu_device_sysfs_add');
  if (!mem) return -ENOMEM;
  iommu.sysfs = mem;
  return 0;
}

/** iommu_device_sysfs_remove() */
export function iommu_device_sysfs_remove(k: Kernel, iommu: IommuDevice): void {
  k.alloc.free(iommu.sysfs, 'iommu_device_sysfs_remove');
  iommu.sysfs = null;
}

/** iommu_device_link(): the device's `iommu` link and the instance's devices/<dev> link. */
export function iommu_device_link(k: Kernel, iommu: IommuDevice, dev: Device): number {
  // The kernel dereferences iommu->dev here; a model instance without a sysfs device has nothing to link.
  if (!iommu.sysfs) return 0;
  const mem = k.alloc.alloc('iommu_device link', dev, 'iommu_device_link');
  if (!mem) return -ENOMEM;
  iommu.links.set(dev, mem);
  return 0;
}

/**
 * iommu_device_unlink(): removes the link from iommu->dev's `devices` group,
 * so an instance whose sysfs device is already gone (a driver that calls
 * iommu_device_sysfs_remove() before iommu_device_unregister() while
 * clients are still probed) dereferences NULL: the kernel oopses, the model
 * WARNs and carries on.
 */
export function iommu_device_unlink(k: Kernel, iommu: IommuDevice, dev: Device): void {
  const mem = iommu.links.get(dev);
  if (!mem) return;
  k.printk.warn(
    !iommu.sysfs,
    'iommu_device_unlink',
    `Unable to handle kernel NULL pointer dereference: ${iommu.name}'s sysfs device was removed before ${dev.name} was released`,
    dev.name,
  );
  iommu.links.delete(dev);
  k.alloc.free(mem, 'iommu_device_unlink');
}

/** iommu_from_fwnode(): the first listed instance whose fwnode matches (NULL matches NULL). */
export function iommu_from_fwnode(k: Kernel, fwnode: Fwnode | null): IommuDevice | null {
  for (const iommu of k.iommu.device_list) if (iommu.fwnode === fwnode) return iommu;
  return null;
}

/** iommu_ops_from_fwnode() */
export function iommu_ops_from_fwnode(k: Kernel, fwnode: Fwnode | null): IommuOps | null {
  return iommu_from_fwnode(k, fwnode)?.ops ?? null;
}

function list_add_tail(k: Kernel, iommu: IommuDevice): void {
  k.iommu.device_list.push(iommu);
  iommu.listed = true;
  iommu.registeredSeq = k.iommu.registrations++;
}

/** iommu_device_register() */
export function iommu_device_register(
  k: Kernel,
  iommu: IommuDevice,
  ops: IommuOps,
  hwdev: Device | null,
): number {
  const buses = k.iommu.buses;
  // v6.1-v6.7: "Temporarily enforce global restriction to a single driver".
  if (k.profile.registerRejectsSecondDriver && buses[0]?.iommu_ops && buses[0].iommu_ops !== ops) {
    return -EBUSY;
  }
  iommu.ops = ops;
  if (hwdev) iommu.fwnode = dev_fwnode(hwdev);
  list_add_tail(k, iommu);
  k.printk.log(
    'info',
    'iommu',
    `registered ${iommu.name} (${ops.name}${iommu.fwnode ? `, fwnode ${iommu.fwnode.name}` : ', no fwnode'})`,
  );

  let err = 0;
  withProbeContext(k, `registration of ${iommu.name}`, () => {
    for (const bus of buses) {
      if (k.profile.opsLookup === 'bus') bus.iommu_ops = ops;
      err = bus_iommu_probe(k, bus);
      if (err) break;
    }
  });
  if (err) {
    iommu_device_unregister(k, iommu);
    return err;
  }
  if (k.profile.ready !== 'none') iommu.ready = true;
  return 0;
}

/** remove_iommu_group(): a full release of every device this instance probed. */
function remove_iommu_group(k: Kernel, iommu: IommuDevice, dev: Device): number {
  if (dev.iommu && dev.iommu.iommu_dev === iommu) iommu_release_device(k, dev);
  return 0;
}

/** iommu_device_unregister(): walks only the iommu_buses[], never a selftest bus. */
export function iommu_device_unregister(k: Kernel, iommu: IommuDevice): void {
  for (const bus of k.iommu.buses) bus_for_each_dev(bus, (dev) => remove_iommu_group(k, iommu, dev));
  const i = k.iommu.device_list.indexOf(iommu);
  if (i >= 0) k.iommu.device_list.splice(i, 1);
  iommu.listed = false;
  iommu.ready = false;
  iommu_group_put(k, iommu.singleton_group);
  iommu.singleton_group = null;
}

/**
 * iommu_device_register_bus(): the selftest's registration against one bus
 * (CONFIG_IOMMUFD_TEST). From the 'swnode-fwspec' mock profile on, the
 * instance gets a software-node fwnode of its own.
 */
export function iommu_device_register_bus(
  k: Kernel,
  iommu: IommuDevice,
  ops: IommuOps,
  bus: BusType,
  nb: NotifierBlock,
): number {
  iommu.ops = ops;
  let err = bus_register_notifier(k, bus, nb);
  if (err) return err;
  if (k.profile.mock.registration === 'swnode-fwspec') {
    const fwnode = fwnode_create_software_node(k, `${iommu.name}-swnode`, iommu.name);
    if (!fwnode) {
      bus_unregister_notifier(k, bus, nb);
      return -ENOMEM;
    }
    iommu.fwnode = fwnode;
  }
  if (k.profile.opsLookup === 'bus') bus.iommu_ops = ops;
  list_add_tail(k, iommu);
  k.printk.log('info', 'iommu', `registered ${iommu.name} (${ops.name}) on bus ${bus.name}`);
  err = withProbeContext(k, `registration of ${iommu.name}`, () => bus_iommu_probe(k, bus));
  if (err) {
    iommu_device_unregister_bus(k, iommu, bus, nb);
    return err;
  }
  if (k.profile.ready === 'register-and-register-bus') iommu.ready = true;
  return 0;
}

/** iommu_device_unregister_bus() */
export function iommu_device_unregister_bus(
  k: Kernel,
  iommu: IommuDevice,
  bus: BusType,
  nb: NotifierBlock,
): void {
  bus_unregister_notifier(k, bus, nb);
  if (iommu.fwnode && iommu.fwnode.kind === 'swnode') {
    const fwnode = iommu.fwnode;
    fwnode_remove_software_node(k, fwnode);
  }
  iommu_device_unregister(k, iommu);
}
