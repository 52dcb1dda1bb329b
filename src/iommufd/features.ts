// SPDX-License-Identifier: GPL-2.0-only
/**
 * What the profile's iommufd has, read off its command table: every release
 * that changed iommufd's behaviour also appended commands, so the table's
 * last command (profile.iommufdLastCmd) names the version.
 *
 *  - viommu (v6.13, IOMMU_VIOMMU_ALLOC at 0x90): vIOMMU and vDEVICE objects,
 *    nested HWPTs on a vIOMMU, vIOMMU cache invalidation, HWPT_INVALIDATE
 *    looking its id up as any object (-EINVAL for a paging HWPT, which 6.12
 *    looked up as HWPT_NESTED: -ENOENT), the selftest's DEV_CHECK_CACHE.
 *  - veventq (v6.15, IOMMU_VEVENTQ_ALLOC at 0x93): vEVENT queues, the
 *    selftest's TRIGGER_VEVENT (the mock then needs a vDEVICE to attach a
 *    device to a vIOMMU's nested domain: -ENOENT).
 *  - hwQueue (v6.16/v6.17, IOMMU_HW_QUEUE_ALLOC at 0x94): HW queues; vIOMMUs
 *    sized and initialised by the driver (get_viommu_size()/viommu_init())
 *    with driver data in and out, mmap of driver pages through /dev/iommu;
 *    a vDEVICE per device (idev->vdev: -EEXIST), tombstoned when its device
 *    goes instead of holding it.
 */
import type { Kernel } from '../kernel/kernel.js';

export type IommufdFeature = 'viommu' | 'veventq' | 'hwQueue';

const SINCE: Readonly<Record<IommufdFeature, number>> = {
  viommu: 0x90,
  veventq: 0x93,
  hwQueue: 0x94,
};

export function iommufdHas(k: Kernel, f: IommufdFeature): boolean {
  return k.profile.iommufdLastCmd >= SINCE[f];
}
