// SPDX-License-Identifier: GPL-2.0-only
/**
 * Teardown and the leak report. Teardown takes a kernel model back to
 * nothing the way the kernel would: mock devices destroyed and the selftest
 * module unloaded, every remaining device removed (clients before the IOMMUs
 * they use, otherwise in reverse add order, so children go before parents),
 * every IOMMU instance still listed unregistered. Any
 * allocation still live afterwards is a leak, reported by type and origin;
 * leaks a profile reproduces on purpose carry the known bug's id.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { KnownBugId } from './known-bugs.js';
import type { Device } from '../base/device.js';
import { device_del, put_device } from '../base/core.js';
import { iommu_device_sysfs_remove, iommu_device_unregister } from '../iommu/iommu-device.js';
import { iommufd_test_exit, mockState } from '../drivers/iommufd-selftest/mock.js';
import { iommufd_selftest_is_mock_dev, mock_dev_destroy } from '../drivers/iommufd-selftest/mock-dev.js';
import { disposePgtableMemory } from '../mm/table-memory.js';

export interface Leak {
  readonly type: string;
  /** The kernel function that allocated it. */
  readonly origin: string;
  /** The device or object it belonged to. */
  readonly owner: string;
  /** Set when the leak is a kernel bug the profile reproduces. */
  readonly knownBug: KnownBugId | null;
}

/** Bring the model down to nothing, as removal and module unload would. */
export function teardown(k: Kernel): void {
  k.runDeferredProbe();
  const devices = [...k.base.devices].reverse();
  for (const dev of devices) {
    if (dev.state !== 'registered') continue;
    if (iommufd_selftest_is_mock_dev(dev)) mock_dev_destroy(k, dev);
  }
  if (mockState(k)?.loaded) iommufd_test_exit(k);
  // Clients before the IOMMUs they sit behind, then the rest, each in reverse add order:
  // removing an IOMMU's own device first would unregister it under bound clients.
  // An IOMMU's own device and its children (virtio-iommu's virtio device under its PCI function).
  const hw = new Set(k.iommu.device_list.map((i) => i.hwdev).filter((d) => d !== null));
  const provides = (d: Device | null): boolean => d !== null && (hw.has(d) || provides(d.parent));
  const order = [...k.base.devices].reverse();
  for (const dev of [...order.filter((d) => !provides(d)), ...order.filter((d) => provides(d))]) {
    if (dev.state !== 'registered') continue;
    device_del(k, dev);
    put_device(k, dev);
  }
  for (const iommu of [...k.iommu.device_list].reverse()) {
    iommu_device_unregister(k, iommu);
    iommu_device_sysfs_remove(k, iommu);
  }
  for (const hook of k.teardownHooks.splice(0).reverse()) hook();
  disposePgtableMemory(k);
}

/** Every live allocation, as a leak. Call after teardown(). */
export function leakReport(k: Kernel): Leak[] {
  const known = new Map<number, KnownBugId>();
  for (const e of k.knownBugEvents) for (const id of e.allocations) known.set(id, e.bug);
  return k.alloc.liveAllocations().map((a) => ({
    type: a.type,
    origin: a.site,
    owner: a.owner,
    knownBug: known.get(a.id) ?? null,
  }));
}
