// SPDX-License-Identifier: GPL-2.0-only
/**
 * The platform bus (drivers/base/platform.c): platform_device_alloc/add/
 * register/unregister and platform_dma_configure()/platform_dma_cleanup();
 * a platform device's resources as probe routines ask for them:
 * platform_get_resource() of the first MMIO window, its
 * devm_ioremap_resource() check (lib/devres.c) and platform_get_irq().
 */
import type { Kernel } from '../kernel/kernel.js';
import type { BusType } from './bus.js';
import { createBus } from './bus.js';
import { Device } from './device.js';
import { dev_err_probe, device_add, device_del, put_device } from './core.js';
import { EINVAL, ENOMEM, ENXIO, EPROBE_DEFER } from '../kernel/errno.js';
import { firmware_dma_configure } from './dma-configure.js';
import { iommu_device_use_default_domain, iommu_device_unuse_default_domain } from '../iommu/ownership.js';
import { fwnode_property_read_u32 } from './fwnode.js';
import { of_match_node, of_read_number } from '../firmware/of/of-base.js';
import { of_irq_get } from '../firmware/of/of-irq.js';
import { of_translate_reg } from '../firmware/of/of-address.js';
import type { DeviceDriver } from './driver.js';

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

/**
 * platform_match(): a device-tree node matches the driver's of_match_table;
 * otherwise the device's name (without its id) must be the driver's.
 */
export function platform_match(dev: Device, drv: DeviceDriver): boolean {
  if (drv.of_match_table && dev.fwnode?.kind === 'of' && of_match_node(drv.of_match_table, dev.fwnode))
    return true;
  return dev.match_driver === drv.name;
}

export function createPlatformBus(): BusType {
  return createBus('platform', {
    dma_configure: platform_dma_configure,
    dma_cleanup: platform_dma_cleanup,
    match: platform_match,
  });
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

/** platform_devid_ida, per kernel (ids are not given back: the model never removes these devices). */
const autoIds = new WeakMap<Kernel, number>();

/** platform_device_alloc(name, PLATFORM_DEVID_AUTO): named "<name>.<id>.auto". */
export function platform_device_alloc_auto(k: Kernel, name: string): Device | null {
  const id = autoIds.get(k) ?? 0;
  autoIds.set(k, id + 1);
  return platform_device_alloc(k, `${name}.${id}.auto`);
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

// ---- a platform device's resources

export interface MemResource {
  readonly start: bigint;
  /** Inclusive. */
  readonly end: bigint;
}

const mmioResources = new WeakMap<Device, MemResource>();

/**
 * Gives a device its first IORESOURCE_MEM resource, [start, start + size),
 * as ACPI _CRS or DT `reg` would; `size` 0 (the default) records only the
 * start. null removes it.
 */
export function setPlatformMmioBase(dev: Device, start: bigint | null, size = 0n): void {
  if (start === null) mmioResources.delete(dev);
  else mmioResources.set(dev, { start, end: size > 0n ? start + size - 1n : start });
}

/**
 * platform_get_resource(pdev, IORESOURCE_MEM, 0): the resource given by
 * setPlatformMmioBase(), else the first entry of the fwnode's `reg` (its
 * parent's #address-cells and #size-cells, default 2 and 1, as the platform
 * descriptions' `of` trees leave them out at the root), else null.
 */
export function platform_get_mem_resource(dev: Device): MemResource | null {
  const r = mmioResources.get(dev);
  if (r) return r;
  const reg = dev.fwnode?.properties.get('reg');
  if (!Array.isArray(reg)) return null;
  const parent = dev.fwnode?.parent ?? null;
  const ac = fwnode_property_read_u32(parent, '#address-cells') ?? 2;
  const sc = fwnode_property_read_u32(parent, '#size-cells') ?? 1;
  if (ac === 0 || reg.length < ac) return null;
  // of_address_to_resource(): below a bus, the address as the CPU sees it through every bus's
  // `ranges` (an address no bus translates is kept as written, for hand-written platform files).
  const belowBus = dev.fwnode?.kind === 'of' && !!parent?.parent;
  const start = (belowBus ? of_translate_reg(dev.fwnode!) : null) ?? of_read_number(reg, 0, ac);
  const size = reg.length >= ac + sc ? of_read_number(reg, ac, sc) : 0n;
  return { start, end: size > 0n ? start + size - 1n : start };
}

/**
 * devm_ioremap_resource(dev, res) as far as the firmware decides it: no
 * memory resource is dev_err_probe(-EINVAL, "invalid resource %pR") with
 * %pR of NULL. 0 on success.
 */
export function devm_ioremap_resource(k: Kernel, dev: Device, res: MemResource | null): number {
  return res ? 0 : dev_err_probe(k, dev, -EINVAL, 'invalid resource (null)');
}

/** devm_platform_ioremap_resource(pdev, 0): devm_ioremap_resource() of the first memory resource. */
export function devm_platform_ioremap_resource(k: Kernel, dev: Device): number {
  return devm_ioremap_resource(k, dev, platform_get_mem_resource(dev));
}

/**
 * platform_get_irq_optional(pdev, num): of_irq_get() for a device-tree node
 * (of-irq.ts); a device-tree device has no IORESOURCE_IRQ resources to fall
 * back to, and the ACPI paths are not modelled, so anything else is -ENXIO.
 */
export function platform_get_irq_optional(k: Kernel, dev: Device, num: number): number {
  const np = dev.fwnode;
  if (np?.kind === 'of') {
    const ret = of_irq_get(k, np, num);
    if (ret > 0 || ret === -EPROBE_DEFER) return ret;
  }
  return -ENXIO;
}

/** platform_get_irq(pdev, num): platform_get_irq_optional(), a failure logged by dev_err_probe(). */
export function platform_get_irq(k: Kernel, dev: Device, num: number): number {
  const ret = platform_get_irq_optional(k, dev, num);
  return ret < 0 ? dev_err_probe(k, dev, ret, `IRQ index ${num} not found`) : ret;
}

/** dev_is_platform() */
export function dev_is_platform(dev: Device): boolean {
  return dev.bus?.name === 'platform';
}
