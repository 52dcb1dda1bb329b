// SPDX-License-Identifier: GPL-2.0-only
/**
 * Mock devices (drivers/iommu/iommufd/selftest.c mock_dev_create(),
 * mock_dev_destroy(), mock_dev_release()), per profile: v6.4 open-codes
 * dev->iommu and the group; v6.6 on plain device_add() on the mock bus;
 * v6.18 iommu_mock_device_add().
 */
import type { Kernel } from '../../kernel/kernel.js';
import { Device } from '../../base/device.js';
import { device_add, device_del, device_unregister, put_device } from '../../base/core.js';
import { EINVAL, ENODEV, ENOMEM, ERR_PTR, type ErrPtr } from '../../kernel/errno.js';
import { DevIommu } from '../../iommu/dev-iommu.js';
import { iommu_group_add_device, iommu_group_alloc, iommu_group_put, IommuGroup } from '../../iommu/group.js';
import { iommu_group_remove_device } from '../../iommu/release.js';
import { iommu_mock_device_add } from '../../iommu/mock-device-add.js';
import { fwnode_create_software_node, fwnode_remove_software_node } from '../../iommu/fwnode-ref.js';
import { mockState, type MockState } from './mock.js';
import type { IommufdViommu } from '../../iommufd/viommu.js';

export const MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0;
export const MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1;
export const MOCK_FLAGS_DEVICE_PASID = 1 << 2;
/** IOMMU_TEST_DEV_CACHE_DEFAULT: every slot of a new mock device's cache. */
export const IOMMU_TEST_DEV_CACHE_DEFAULT = 0xbaddad;
export const MOCK_DEV_CACHE_NUM = 4;
export const MOCK_DEV_CACHE_ID_MAX = MOCK_DEV_CACHE_NUM - 1;

/**
 * The rest of struct mock_dev: its "cache" (four u32 slots a vIOMMU
 * invalidation clears, v6.13 on) and the vIOMMU and virt_id it is attached
 * through (v6.15 on: where its events go).
 */
export interface MockDevState {
  readonly cache: Uint32Array;
  viommu: IommufdViommu | null;
  vdevId: bigint;
  /** pasid_1024_fake_error (mock_domain_set_dev_pasid_nop()). */
  pasid1024FakeError: boolean;
}
const mockDevStates = new WeakMap<Device, MockDevState>();

/** The mock_dev part of a mock device (undefined for any other device). */
export function mock_dev_state(dev: Device): MockDevState | undefined {
  return mockDevStates.get(dev);
}

/** MOCK_PASID_WIDTH: the PASID bits of a mock device created with MOCK_FLAGS_DEVICE_PASID. */
export const MOCK_PASID_WIDTH = 20;

/** The mock device's release(): the id goes back to the IDA, its software node goes, the struct is freed. */
function mock_dev_release(k: Kernel, dev: Device): void {
  if (dev.fwnode?.kind === 'swnode') fwnode_remove_software_node(k, dev.fwnode);
  const st = mockState(k);
  const id = mockIds.get(dev);
  if (st && id !== undefined) {
    if (k.profile.mock.naming === 'atomic-counter') st.devNum--;
    else st.devIds.delete(id);
  }
  k.alloc.free(dev.mem, 'mock_dev_release');
  dev.mem = null;
}

const mockIds = new WeakMap<Device, number>();
/** struct mock_dev.flags: what mock_dev_create() was asked for (MOCK_FLAGS_DEVICE_*). */
const mockFlags = new WeakMap<Device, number>();

/** mock_dev->flags of a mock device; 0 for any other device. */
export function mock_dev_flags(dev: Device): number {
  return mockFlags.get(dev) ?? 0;
}

/** iommufd_selftest_is_mock_dev() */
export function iommufd_selftest_is_mock_dev(dev: Device): boolean {
  return dev.release === mock_dev_release;
}

function lowestFree(ids: Set<number>): number {
  let id = 0;
  while (ids.has(id)) id++;
  return id;
}

/** mock_dev_create(dev_flags) */
export function mock_dev_create(k: Kernel, dev_flags = 0): Device | ErrPtr {
  const st = mockState(k);
  if (!st?.loaded) return ERR_PTR(-ENODEV);
  if (dev_flags & ~k.profile.mock.devFlagsMask) return ERR_PTR(-EINVAL);
  if (!k.profile.mock.isDriver) return mock_dev_create_v6_4(k, st);

  const mem = k.alloc.alloc('mock_dev', 'iommufd-mock', 'mock_dev_create');
  if (!mem) return ERR_PTR(-ENOMEM);
  const dev = new Device('iommufd_mock?'); // device_initialize()
  dev.mem = mem;
  dev.release = mock_dev_release;
  dev.bus = st.bus;
  mockFlags.set(dev, dev_flags);
  mockDevStates.set(dev, {
    cache: new Uint32Array(MOCK_DEV_CACHE_NUM).fill(IOMMU_TEST_DEV_CACHE_DEFAULT),
    viommu: null,
    vdevId: 0n,
    pasid1024FakeError: false,
  });
  let id: number;
  if (k.profile.mock.naming === 'atomic-counter') {
    // v6.6/v6.7: atomic_inc_return(&mock_dev_num), decremented on release: out-of-order
    // destruction reuses a live device's number (fixed by "iommufd/selftest: Fix mock_dev_num bug").
    id = ++st.devNum;
  } else {
    id = lowestFree(st.devIds); // ida_alloc(&mock_dev_ida)
    st.devIds.add(id);
  }
  mockIds.set(dev, id);
  dev.name = `iommufd_mock${id}`;
  k.alloc.setOwner(mem, dev);
  // device_create_managed_software_node(): "pasid-num-bits", what dev_iommu_get_max_pasids() reads.
  if (dev_flags & MOCK_FLAGS_DEVICE_PASID) {
    const sw = fwnode_create_software_node(k, dev.name, 'iommufd-mock');
    if (!sw) {
      put_device(k, dev);
      return ERR_PTR(-ENOMEM);
    }
    sw.properties.set('pasid-num-bits', [MOCK_PASID_WIDTH]);
    dev.fwnode = sw;
  }
  const rc =
    k.profile.mock.registration === 'swnode-fwspec'
      ? iommu_mock_device_add(k, dev, st.iommu)
      : device_add(k, dev);
  if (rc) {
    put_device(k, dev);
    return ERR_PTR(rc);
  }
  return dev;
}

/**
 * v6.4 (65c619ae0680): the group is allocated first and names the device;
 * dev->iommu is allocated by hand and the device joins the group after
 * device_add(). The core never probes it and the group has no default domain.
 */
function mock_dev_create_v6_4(k: Kernel, st: MockState): Device | ErrPtr {
  const mem = k.alloc.alloc('mock_dev', 'iommufd-mock', 'mock_dev_create');
  if (!mem) return ERR_PTR(-ENOMEM);
  const dev = new Device('iommufd_mock?');
  dev.mem = mem;
  dev.release = mock_dev_release;
  dev.bus = st.bus;
  const group = iommu_group_alloc(k);
  if (!(group instanceof IommuGroup)) {
    put_device(k, dev);
    return group;
  }
  group.reasons.push('the v6.4 selftest allocates a group per mock device by hand');
  dev.name = `iommufd_mock${group.id}`;
  k.alloc.setOwner(mem, dev);
  const imem = k.alloc.alloc('dev_iommu', dev, 'mock_dev_create');
  if (!imem) {
    iommu_group_put(k, group);
    put_device(k, dev);
    return ERR_PTR(-ENOMEM);
  }
  dev.iommu = new DevIommu(imem);
  dev.iommu.iommu_dev = st.iommu;
  let rc = device_add(k, dev);
  if (!rc) {
    rc = iommu_group_add_device(k, group, dev);
    if (rc) device_del(k, dev);
  }
  iommu_group_put(k, group);
  if (rc) {
    k.alloc.free(imem, 'mock_dev_create');
    dev.iommu = null;
    put_device(k, dev);
    return ERR_PTR(rc);
  }
  return dev;
}

/** mock_dev_destroy() */
export function mock_dev_destroy(k: Kernel, dev: Device): void {
  if (k.profile.mock.isDriver) {
    device_unregister(k, dev);
    return;
  }
  iommu_group_remove_device(k, dev);
  device_del(k, dev);
  if (dev.iommu) k.alloc.free(dev.iommu.mem, 'mock_dev_destroy');
  dev.iommu = null;
  put_device(k, dev);
}
