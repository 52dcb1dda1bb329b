// SPDX-License-Identifier: GPL-2.0-only
/**
 * The IOMMU-core side of iommufd_device_bind()/unbind()
 * (drivers/iommu/iommufd/device.c): the capability check, the group lookup,
 * MSI isolation and the DMA-ownership claim, in the kernel's order. The
 * scenario runner's iommufd-bind step uses it with any owner cookie; the
 * /dev/iommu object model's bind (device.ts) composes the same checks with
 * its igroup and DEVICE object.
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Allocation } from '../kernel/alloc.js';
import type { IommuCap } from '../iommu/ops.js';
import type { IommuGroup } from '../iommu/group.js';
import { EINVAL, ENODEV, ENOMEM, EPERM } from '../kernel/errno.js';
import { dev_has_iommu } from '../iommu/dev-iommu.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../iommu/ownership.js';
import { iommufd_selftest_is_mock_dev } from '../drivers/iommufd-selftest/mock-dev.js';

export interface IommufdDevice {
  readonly dev: Device;
  readonly ictx: object;
  readonly mem: Allocation;
}

/** device_iommu_capable() (drivers/iommu/iommu.c): false for a device the core did not probe. */
export function device_iommu_capable(k: Kernel, dev: Device, cap: IommuCap): boolean {
  if (!dev_has_iommu(dev)) return false;
  const ops = dev.iommu!.iommu_dev!.ops!;
  return ops.capable?.(k, dev, cap) ?? false;
}

/** iommu_group_has_isolated_msi(): every member's MSIs are isolated (interrupt remapping, ITS). */
export function iommu_group_has_isolated_msi(group: IommuGroup): boolean {
  return group.devices.every((gd) => gd.dev.msiIsolated);
}

/**
 * iommufd_device_bind(): a device the IOMMU core did not probe fails the
 * capability check first (-EINVAL), before the group lookup's -ENODEV.
 */
export function iommufd_device_bind(
  k: Kernel,
  ictx: object,
  dev: Device,
  allow_unsafe_interrupts = false,
): IommufdDevice | number {
  if (!device_iommu_capable(k, dev, 'CACHE_COHERENCY')) return -EINVAL;
  if (!dev.iommu_group) return -ENODEV; // iommufd_get_group()
  if (
    !iommufd_selftest_is_mock_dev(dev) &&
    !iommu_group_has_isolated_msi(dev.iommu_group) &&
    !allow_unsafe_interrupts
  )
    return -EPERM;
  const rc = iommu_device_claim_dma_owner(k, dev, ictx);
  if (rc) return rc;
  const mem = k.alloc.alloc('iommufd_device', dev, 'iommufd_device_bind');
  if (!mem) {
    iommu_device_release_dma_owner(k, dev);
    return -ENOMEM;
  }
  return { dev, ictx, mem };
}

/** iommufd_device_unbind() */
export function iommufd_device_unbind(k: Kernel, idev: IommufdDevice): void {
  iommu_device_release_dma_owner(k, idev.dev);
  k.alloc.free(idev.mem, 'iommufd_device_destroy');
}
