// SPDX-License-Identifier: GPL-2.0-only
/**
 * Managed allocations (drivers/base/devres.c devm_kzalloc(), devm_kfree(),
 * devres_release_all()), as far as the Tegra MC and SMMU use them: the MC,
 * the SMMU, its ASID bitmap and every tegra_smmu_group are devm allocations
 * on the MC's device, so they live until that device loses its driver (a
 * failed probe, or unbinding), not until the code that made them fails.
 */
import type { Allocation } from '../../kernel/alloc.js';
import type { Device } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';

const devres = new WeakMap<Device, Allocation[]>();

/** devm_kzalloc(): null on -ENOMEM. */
export function devm_kzalloc(k: Kernel, dev: Device, type: string, site: string): Allocation | null {
  const mem = k.alloc.alloc(type, dev, site);
  if (!mem) return null;
  let list = devres.get(dev);
  if (!list) devres.set(dev, (list = []));
  list.push(mem);
  return mem;
}

/** devm_kfree() */
export function devm_kfree(k: Kernel, dev: Device, mem: Allocation, site: string): void {
  const list = devres.get(dev);
  const i = list?.indexOf(mem) ?? -1;
  if (list && i >= 0) list.splice(i, 1);
  k.alloc.free(mem, site);
}

/** devres_release_all(): newest first, as the devres list is unwound. */
export function devres_release_all(k: Kernel, dev: Device, site: string): void {
  const list = devres.get(dev);
  if (!list) return;
  devres.delete(dev);
  for (const mem of list.reverse()) k.alloc.free(mem, site);
}
