// SPDX-License-Identifier: GPL-2.0-only
/**
 * The selftest's vIOMMU operations (drivers/iommu/iommufd/selftest.c:
 * iommufd_test_dev_check_cache() from v6.13, iommufd_test_trigger_vevent()
 * from v6.15): check a slot of a mock device's cache (what vIOMMU
 * invalidations clear), and make a mock device raise an event for the VM
 * through the vIOMMU it is attached through.
 */
import { EINVAL, ENOENT } from '../kernel/errno.js';
import { MOCK_DEV_CACHE_ID_MAX, mock_dev_state } from '../drivers/iommufd-selftest/mock-dev.js';
import { IOMMU_VEVENTQ_TYPE_SELFTEST } from '../drivers/iommufd-selftest/mock-viommu.js';
import { getDevice } from './device.js';
import { decode, testCmds } from './uapi.js';
import type { Ucmd } from './ucmd.js';
import { n32 } from './ucmd.js';
import { iommufd_viommu_report_event } from './veventq.js';

/** iommufd_test_dev_check_cache(): slot `id` of the device's cache must hold `cache` (-EINVAL). */
export function testDevCheckCache(u: Ucmd): number {
  const c = decode(testCmds.check_dev_cache, u.bytes);
  const idev = getDevice(u.ctx, n32(c.id));
  if (typeof idev === 'number') return idev;
  const st = mock_dev_state(idev.dev);
  const slot = n32(c.cache_id);
  if (!st || slot > MOCK_DEV_CACHE_ID_MAX || st.cache[slot] !== n32(c.cache)) return -EINVAL;
  return 0;
}

/**
 * iommufd_test_trigger_vevent(): struct iommu_viommu_event_selftest
 * { virt_id } to the vIOMMU's selftest queue, for a device attached to a
 * nested domain of a vIOMMU under a non-zero virt_id (-ENOENT otherwise);
 * the report's own errors (no such queue: -EOPNOTSUPP) come back.
 */
export function testTriggerVevent(u: Ucmd): number {
  const c = decode(testCmds.trigger_vevent, u.bytes);
  const idev = getDevice(u.ctx, n32(c.dev_id));
  if (typeof idev === 'number') return idev;
  const st = mock_dev_state(idev.dev);
  if (!st?.viommu || !st.vdevId) return -ENOENT;
  const payload = new Uint8Array(4);
  new DataView(payload.buffer).setUint32(0, Number(st.vdevId & 0xffffffffn), true);
  return iommufd_viommu_report_event(u.ctx.k, st.viommu, IOMMU_VEVENTQ_TYPE_SELFTEST, payload);
}
