// SPDX-License-Identifier: GPL-2.0-only
/**
 * Device registration (drivers/base/core.c): device_add(), device_del() and
 * the reference count, in the order that matters to the IOMMU core:
 *
 *   device_add:  bus_add_device (joins the bus klist) → BUS_NOTIFY_ADD_DEVICE
 *                (iommu_probe_device) → bus_probe_device (driver match/bind)
 *   device_del:  BUS_NOTIFY_DEL_DEVICE → bus_remove_device (leaves the klist,
 *                driver unbound) → BUS_NOTIFY_REMOVED_DEVICE (iommu_release_device)
 *
 * Nothing an IOMMU notifier returns can make device_add() fail (invariant I8).
 * Also dev_err_probe(), the probe-failure log line drivers share.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from './device.js';
import { bus_notify } from './bus.js';
import { device_attach, device_release_driver, driver_deferred_probe_del } from './dd.js';
import { EINVAL, EEXIST, ENOMEM, EPROBE_DEFER, errnoName } from '../kernel/errno.js';

/** device_add() */
export function device_add(k: Kernel, dev: Device): number {
  if (!dev.name) return -EINVAL;
  if (dev.state !== 'initialized') return -EINVAL;
  const bus = dev.bus;
  if (bus?.deviceNames.has(dev.name)) {
    // sysfs: cannot create duplicate filename (a lookup in the bus's folder, not a walk of its devices)
    k.printk.log('err', 'sysfs', `cannot create duplicate filename '/bus/${bus.name}/devices/${dev.name}'`);
    return -EEXIST;
  }
  if (!dev.p) {
    // device_private_init()
    dev.p = k.alloc.alloc('device_private', dev, 'device_add');
    if (!dev.p) return -ENOMEM;
  }
  dev.state = 'registered'; // kobject_add(): now in sysfs
  if (bus) {
    bus.devices.add(dev); // bus_add_device()
    bus.deviceNames.set(dev.name, dev);
    bus_notify(k, dev, 'ADD_DEVICE');
    device_attach(k, dev); // bus_probe_device() -> device_initial_probe()
  }
  k.base.devices.add(dev);
  return 0;
}

/** device_del() */
export function device_del(k: Kernel, dev: Device): void {
  if (dev.state !== 'registered') {
    k.printk.warn(true, 'device_del', `device ${dev.name} is not registered`);
    return;
  }
  const bus = dev.bus;
  if (bus) {
    bus_notify(k, dev, 'DEL_DEVICE');
    bus.devices.delete(dev); // bus_remove_device(): klist_del, then release the driver
    bus.deviceNames.delete(dev.name);
    device_release_driver(k, dev);
  }
  driver_deferred_probe_del(k, dev);
  if (bus) bus_notify(k, dev, 'REMOVED_DEVICE');
  dev.state = 'deleted'; // kobject_del()
  k.base.devices.delete(dev);
}

/** get_device() */
export function get_device(dev: Device): Device {
  dev.refcount += 1;
  return dev;
}

/** put_device(): the last reference runs dev->release(). */
export function put_device(k: Kernel, dev: Device): void {
  if (dev.refcount <= 0) {
    k.printk.warn(true, 'put_device', `refcount underflow on ${dev.name}`);
    return;
  }
  dev.refcount -= 1;
  if (dev.refcount === 0) {
    // device_release(): the driver core's private part goes first, then the owner's release().
    k.alloc.free(dev.p, 'device_release');
    dev.p = null;
    if (dev.release) dev.release(k, dev);
    else k.printk.warn(true, 'device_release', `Device '${dev.name}' does not have a release() function`);
  }
}

/** device_unregister() */
export function device_unregister(k: Kernel, dev: Device): void {
  device_del(k, dev);
  put_device(k, dev);
}

/**
 * dev_err_probe(): "error <errno>: <message>" at err level; -EPROBE_DEFER is
 * only a debug line (the deferral reason), -ENOMEM prints nothing. Returns err.
 */
export function dev_err_probe(k: Kernel, dev: Device, err: number, message: string): number {
  if (err === -EPROBE_DEFER) k.printk.log('debug', dev.name, `error ${errnoName(err)}: ${message}`);
  else if (err !== -ENOMEM) k.printk.log('err', dev.name, `error ${errnoName(err)}: ${message}`);
  return err;
}
