// SPDX-License-Identifier: GPL-2.0-only
import type { Kernel } from '../kernel/kernel.js';

/**
 * iommufd_should_fail() (selftest.c): in a CONFIG_IOMMUFD_TEST kernel,
 * iommufd's own fault-injection points, which the task's fail-nth counts
 * together with the allocations (should_fail() on fail_iommufd).
 */
export function iommufdShouldFail(k: Kernel, site: string): boolean {
  return k.kconfig.IOMMUFD_TEST && !k.alloc.attempt('fail_iommufd', 'iommufd', site);
}
