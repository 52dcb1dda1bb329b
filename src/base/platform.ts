// SPDX-License-Identifier: GPL-2.0-only
/**
 * The platform bus (drivers/base/platform.c): platform_device_alloc/add/
 * register/unregister and platform_dma_configure()/platform_dma_cleanup().
 */
import type { Kernel } from '../kernel/kernel.js';
import type { BusType } from './bus.js';
import { createBus } from './bus.js';
import { Device } from './device.js';
import { device_add, device_del, put_device } from './core.js';
import { ENOMEM } from '../kernel/errno.js';
import { firmware_dma_configure } from './dma-configure.js';
import { iommu_device_use_default_domain, iommu_device_unuse_default_domain } from '../iommu/ownership.js';

/** platform_dma_configure(): firmware first, then count the driver as a default-domain user. */
export function platform_dma_configure(k: Kernel, dev: Device): number {
  const ret = firmware_dma_configure(k, dev, null);
  if (ret) return ret;
  // From the probe path (v6.15+) there is no driver yet: nothing to count.
  if (!dev.driver || dev.driver.driver_managed_dma) return 0;
  return iommu_device_use_default_domain(k, dev);
}

/** platform_dma_cleanup() */
export function platform_dma_cleanup(k: Kernel, dev: Device): void {
  if (dev.driver && !dev.driver.driver_managed_dma) iommu_device_unuse_default_domain(k, dev);
}

export function createPlatformBus(): BusType {
  return createBus('platform', { dma_configure: platform_dma_configure, dma_cleanup: platform_dma_cleanup });
}

function platform_device_release(k: Kernel, dev: Device): void {
  k.alloc.free(dev.mem, 'platform_device_release');
  dev.mem = null;
}

/** platform_device_alloc(): null on -ENOMEM. */
export function platform_device_alloc(k: Kernel, name: string): Device | null {
  const mem = k.alloc.alloc('platform_object', name, 'platform_device_alloc');
  if (!mem) return null;
  const dev = new Device(name);
  dev.mem = mem;
  dev.release = platform_device_release;
  dev.bus = k.base.buses.get('platform') ?? null;
  return dev;
}

/** platform_device_register_full(): alloc + add; on failure the device is put. */
export function platform_device_register_full(
  k: Kernel,
  name: string,
  setup?: (dev: Device) => void,
): Device | number {
  const dev = platform_device_alloc(k, name);
  if (!dev) return -ENOMEM;
  setup?.(dev);
  const ret = device_add(k, dev);
  if (ret) {
    put_device(k, dev);
    return ret;
  }
  return dev;
}

/** platform_device_unregister() */
export function platform_device_unregister(k: Kernel, dev: Device): void {
  device_del(k, dev);
  put_device(k, dev);
}
