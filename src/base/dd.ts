// SPDX-License-Identifier: GPL-2.0-only
/**
 * Driver binding and deferred probe (drivers/base/dd.c).
 *
 * really_probe() sets dev->driver, then runs bus->dma_configure() (where the
 * IOMMU is configured from firmware and the default-domain use is counted)
 * before the driver's probe(). -EPROBE_DEFER from either puts the device on the
 * deferred list; any successful bind triggers a retry of the whole list, which
 * the model runs to completion at the end of each top-level operation (the
 * kernel's deferred_probe_work_func on its workqueue).
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from './device.js';
import type { DeviceDriver } from './driver.js';
import { device_is_registered } from './device.js';
import { bus_notify } from './bus.js';
import { EBUSY, ENODEV, EPROBE_DEFER, ETIMEDOUT, errnoName } from '../kernel/errno.js';

/** driver_match_device(): the bus's match, by default the driver name the device asks for. */
export function driver_match_device(drv: DeviceDriver, dev: Device): boolean {
  const bus = drv.bus;
  if (bus.match) return bus.match(dev, drv);
  return dev.match_driver === drv.name;
}

/**
 * driver_deferred_probe_check_state(): keep deferring while initcalls run;
 * once the deferred-probe timeout expired, give up with -ETIMEDOUT.
 */
export function driver_deferred_probe_check_state(k: Kernel, dev: Device): number {
  if (k.base.deferredProbeTimedOut) {
    k.printk.log('warn', dev.name, 'deferred probe timeout, ignoring dependency');
    return -ETIMEDOUT;
  }
  return -EPROBE_DEFER;
}

/** driver_deferred_probe_add() */
export function driver_deferred_probe_add(k: Kernel, dev: Device): void {
  if (dev.deferred) return;
  dev.deferred = true;
  k.base.deferred.add(dev);
}

/** driver_deferred_probe_del() */
export function driver_deferred_probe_del(k: Kernel, dev: Device): void {
  dev.deferred = false;
  k.base.deferred.delete(dev);
}

/** driver_deferred_probe_trigger(): the list is re-run by runDeferredProbe(). */
export function driver_deferred_probe_trigger(k: Kernel): void {
  k.base.deferredTriggered = true;
}

/** driver_bound() */
function driver_bound(k: Kernel, dev: Device): void {
  dev.bound = true; // klist_add_tail(&dev->p->knode_driver, &drv->p->klist_devices)
  driver_deferred_probe_del(k, dev);
  driver_deferred_probe_trigger(k);
  bus_notify(k, dev, 'BOUND_DRIVER');
}

/** device_unbind_cleanup(): after a failed probe or an unbind; the driver data goes too. */
function device_unbind_cleanup(dev: Device): void {
  dev.driver = null;
  dev.bound = false;
  dev.driverData = undefined; // dev_set_drvdata(dev, NULL)
}

/**
 * really_probe(): 0 when bound, a negative errno when dma_configure() failed
 * (the bind is abandoned before probe), a positive errno when the driver's own
 * probe() failed (the kernel's "inverted" convention).
 */
export function really_probe(k: Kernel, dev: Device, drv: DeviceDriver): number {
  const bus = drv.bus;
  dev.driver = drv; // device_set_driver()
  if (bus.dma_configure) {
    const ret = bus.dma_configure(k, dev);
    if (ret) {
      k.printk.log('debug', dev.name, `dma_configure for ${drv.name} returned ${errnoName(ret)}`);
      device_unbind_cleanup(dev);
      return ret;
    }
  }
  bus_notify(k, dev, 'BIND_DRIVER'); // from driver_sysfs_add(), after dma_configure()
  let ret = drv.probe(k, dev);
  if (ret) {
    bus_notify(k, dev, 'DRIVER_NOT_BOUND');
    bus.dma_cleanup?.(k, dev);
    device_unbind_cleanup(dev);
    // call_driver_probe(): -ENODEV/-ENXIO just decline the device; anything else is a failure.
    if (ret === -ENODEV || ret === -6) {
      k.printk.log('debug', dev.name, `probe with driver ${drv.name} rejects match ${ret}`);
    } else if (ret !== -EPROBE_DEFER) {
      k.printk.log('warn', dev.name, `probe with driver ${drv.name} failed with error ${ret}`);
    }
    ret = -ret;
    return ret;
  }
  driver_bound(k, dev);
  return 0;
}

/** driver_probe_device() via __driver_probe_device() */
export function driver_probe_device(k: Kernel, drv: DeviceDriver, dev: Device): number {
  if (!device_is_registered(dev)) return -ENODEV;
  if (dev.driver) return -EBUSY;
  const ret = really_probe(k, dev, drv);
  if (ret === -EPROBE_DEFER || ret === EPROBE_DEFER) driver_deferred_probe_add(k, dev);
  return ret;
}

/**
 * __device_attach(): try the bus's drivers in order. A negative result stops
 * the walk; a positive one (the driver's probe failed) moves on to the next.
 */
export function device_attach(k: Kernel, dev: Device): number {
  if (!dev.bus || dev.driver) return 0;
  for (const drv of [...dev.bus.drivers]) {
    if (!driver_match_device(drv, dev)) continue;
    const ret = driver_probe_device(k, drv, dev);
    if (ret < 0) return ret;
    if (ret === 0) return 1;
  }
  return 0;
}

/** __driver_attach() for one device, from driver_register(). */
export function driver_attach_one(k: Kernel, drv: DeviceDriver, dev: Device): void {
  if (dev.driver || !driver_match_device(drv, dev)) return;
  driver_probe_device(k, drv, dev);
}

/** device_release_driver(): unbind, with dma_cleanup after remove(), as __device_release_driver(). */
export function device_release_driver(k: Kernel, dev: Device): void {
  const drv = dev.driver;
  if (!drv) return;
  bus_notify(k, dev, 'UNBIND_DRIVER');
  drv.remove?.(k, dev);
  drv.bus.dma_cleanup?.(k, dev);
  device_unbind_cleanup(dev);
  bus_notify(k, dev, 'UNBOUND_DRIVER');
}

/**
 * deferred_probe_timeout_work_func(): the timeout expired; every device still
 * waiting is retried once more, now told -ETIMEDOUT by
 * driver_deferred_probe_check_state() instead of -EPROBE_DEFER.
 */
export function deferred_probe_timeout(k: Kernel): void {
  k.base.deferredProbeTimedOut = true;
  for (const dev of k.base.deferred)
    k.printk.log('info', dev.name, 'deferred probe pending: waited for the timeout');
  driver_deferred_probe_trigger(k);
  run_deferred_probe(k);
}

/**
 * deferred_probe_work_func(): retry every deferred device while some bind
 * succeeded since the last pass. Bounded: each pass needs a new successful
 * bind to trigger another, and binds are finite.
 */
export function run_deferred_probe(k: Kernel): void {
  let passes = 0;
  while (k.base.deferredTriggered && k.base.deferred.size > 0) {
    k.base.deferredTriggered = false;
    if (++passes > 10_000) {
      k.printk.warn(true, 'deferred_probe_work_func', 'deferred probe did not settle');
      return;
    }
    for (const dev of [...k.base.deferred]) {
      driver_deferred_probe_del(k, dev);
      if (device_is_registered(dev) && !dev.driver) device_attach(k, dev);
    }
  }
  k.base.deferredTriggered = false;
}
