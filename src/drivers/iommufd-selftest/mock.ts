// SPDX-License-Identifier: GPL-2.0-only
/**
 * The iommufd selftest mock IOMMU driver (drivers/iommu/iommufd/selftest.c):
 * the mock bus, the mock instance, mock_ops and module init/exit, per profile.
 *
 *  - v6.4: not an IOMMU driver; mock devices get an open-coded dev->iommu and
 *    a group added by hand (see mock-dev.ts).
 *  - v6.6/v6.7: a real driver registered with iommu_device_register_bus(),
 *    found through the mock bus's iommu_ops.
 *  - v6.8 to v6.17: registered with no fwnode; a mock device without a fwspec
 *    gets the FIRST global instance's ops (Intel's, on x86): the seed bug.
 *  - v6.18: the instance has a software node and mock devices get a fwspec.
 * The paging domain (mock_domain_alloc_paging() and its ops) is mock-domain.ts.
 * Test-only code, as selftest.c is: other code reaches it only through
 * iommufd_selftest_is_mock_dev() (iommufd's bind skips the MSI check for mock
 * devices) and through teardown, which destroys mock devices first.
 */
import type { BusType, NotifierBlock } from '../../base/bus.js';
import type { Device } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuOps } from '../../iommu/ops.js';
import { bus_register, bus_unregister, createBus } from '../../base/bus.js';
import { platform_device_register_full, platform_device_unregister } from '../../base/platform.js';
import { ENODEV, ENOMEM, EOPNOTSUPP, ERR_PTR } from '../../kernel/errno.js';
import { IommuDomain, IOMMU_DOMAIN_BLOCKED } from '../../iommu/domain.js';
import {
  mock_domain_alloc_paging,
  mock_domain_alloc_user,
  mock_domain_nop_attach,
  mock_domain_ops,
  mock_domain_set_dev_pasid_nop,
} from './mock-domain.js';
import { mock_get_viommu_size, mock_viommu_init } from './mock-viommu.js';
import { iommufdHas } from '../../iommufd/features.js';
import { MOCK_FLAGS_DEVICE_NO_DIRTY, MOCK_PASID_WIDTH, mock_dev_flags } from './mock-dev.js';
import {
  IommuDevice,
  iommu_device_register_bus,
  iommu_device_sysfs_add,
  iommu_device_sysfs_remove,
  iommu_device_unregister_bus,
} from '../../iommu/iommu-device.js';
import { generic_device_group } from '../../iommu/group.js';
import type { IommuPageResponse, IopfQueue } from '../../iommu/io-pgfault.js';
import {
  IOMMU_DEV_FEAT_IOPF,
  iopf_queue_add_device,
  iopf_queue_alloc,
  iopf_queue_free,
  iopf_queue_remove_device,
} from '../../iommu/io-pgfault.js';
import { makeIommuBusNotifier } from '../../iommu/subsys.js';

export const MOCK_BUS_NAME = 'iommufd_mock';
/** IOMMU_HW_INFO_TYPE_SELFTEST and IOMMU_HW_INFO_SELFTEST_REGVAL (iommufd_test.h). */
export const IOMMU_HW_INFO_TYPE_SELFTEST = 0xfeedbeef;
export const IOMMU_HW_INFO_SELFTEST_REGVAL = 0xdeadbeef;
/** MOCK_IO_PAGE_SIZE: PAGE_SIZE / 2. */
export const MOCK_IO_PAGE_SIZE = 2048;

/** The driver's static state: what selftest.c keeps in file-scope variables. */
export interface MockState {
  readonly bus: BusType;
  readonly nb: NotifierBlock;
  readonly iommu: IommuDevice;
  readonly ops: IommuOps;
  readonly blocking: IommuDomain;
  platformDev: Device | null;
  /** mock_dev_ida */
  readonly devIds: Set<number>;
  /** mock_dev_num: the v6.6/v6.7 atomic counter names came from. */
  devNum: number;
  loaded: boolean;
  /** mock_iommu_iopf_queue: where mock devices' page requests wait (null if its allocation failed). */
  iopfQueue: IopfQueue | null;
  /** What mock_domain_page_response() was given, in order (it does nothing else with it). */
  readonly pageResponses: { readonly dev: string; readonly resp: IommuPageResponse }[];
  /** mock_iommu.users beyond the module's own: one per live mock vIOMMU. */
  viommuUsers: number;
}

export function mockState(k: Kernel): MockState | undefined {
  return k.driverState.get('iommufd-mock') as MockState | undefined;
}

function makeMockOps(k: Kernel, bus: BusType, iommu: IommuDevice, blocking: IommuDomain): IommuOps {
  return {
    name: 'iommufd-mock',
    owner: 'iommufd',
    pgsize_bitmap: MOCK_IO_PAGE_SIZE,
    default_domain: k.profile.mock.isDriver ? blocking : undefined,
    // v6.4's mock_ops had no static blocked domain (mock_domain_alloc() made one).
    blocked_domain: k.profile.mock.isDriver ? blocking : undefined,
    default_domain_ops: mock_domain_ops,
    /** mock_probe_device(): since 47f2bd2ff382 (v6.8) only devices on the mock bus. */
    probe_device(kk, dev) {
      if (kk.profile.mock.probeChecksBus && dev.bus !== bus) return ERR_PTR(-ENODEV);
      return iommu;
    },
    device_group: generic_device_group,
    /** mock_domain_alloc_paging() (mock-domain.ts) */
    domain_alloc_paging: mock_domain_alloc_paging,
    /** mock_domain_alloc_user() (mock-domain.ts): iommufd's HWPT_ALLOC path; v6.4's mock had none. */
    domain_alloc_user: k.profile.mock.isDriver ? mock_domain_alloc_user : undefined,
    /** mock_domain_hw_info(): struct iommu_test_hw_info { flags 0, test_reg 0xdeadbeef }, IOMMU_HW_INFO_TYPE_SELFTEST. */
    hw_info(kk) {
      const mem = kk.alloc.alloc('iommu_test_hw_info', 'iommufd-mock', 'mock_domain_hw_info');
      if (!mem) return ERR_PTR(-ENOMEM);
      const data = new Uint8Array(8);
      new DataView(data.buffer).setUint32(4, IOMMU_HW_INFO_SELFTEST_REGVAL, true);
      return { data, type: IOMMU_HW_INFO_TYPE_SELFTEST, mem };
    },
    /** mock_domain_page_response(): the mock device takes any answer. */
    page_response: k.profile.mock.iopf
      ? (kk, dev, _evt, resp) => mockState(kk)?.pageResponses.push({ dev: dev.name, resp })
      : undefined,
    /** mock_dev_enable_feat() / mock_dev_disable_feat(): IOPF only, through the mock's queue. */
    dev_enable_feat: k.profile.mock.iopf
      ? (kk, dev, feat) => {
          const q = mockState(kk)?.iopfQueue;
          if (feat !== IOMMU_DEV_FEAT_IOPF || !q) return -ENODEV;
          return iopf_queue_add_device(kk, q, dev);
        }
      : undefined,
    dev_disable_feat: k.profile.mock.iopf
      ? (kk, dev, feat) => {
          const q = mockState(kk)?.iopfQueue;
          if (feat !== IOMMU_DEV_FEAT_IOPF || !q) return -ENODEV;
          iopf_queue_remove_device(kk, q, dev);
          return 0;
        }
      : undefined,
    user_pasid_table: k.profile.mock.iopf,
    /** mock_get_viommu_size() / mock_viommu_init() (mock-viommu.ts), v6.13 on. */
    get_viommu_size: iommufdHas(k, 'viommu') ? mock_get_viommu_size : undefined,
    viommu_init: iommufdHas(k, 'viommu') ? mock_viommu_init : undefined,
    /** mock_domain_capable() */
    capable: (_kk, dev, cap) =>
      cap === 'CACHE_COHERENCY' ||
      (cap === 'DIRTY_TRACKING' && !(mock_dev_flags(dev) & MOCK_FLAGS_DEVICE_NO_DIRTY)),
    // v6.4's mock_ops.set_platform_dma_ops: the group goes back to "no domain".
    set_platform_dma_ops: k.profile.mock.isDriver ? undefined : () => {},
  };
}

/**
 * iommufd_test_init(): the selftest's platform device, the mock bus, the
 * instance's sysfs device and its registration against the mock bus.
 */
export function iommufd_test_init(k: Kernel): number {
  if (mockState(k)?.loaded) return -17; // -EEXIST: the module is already loaded
  if (!k.kconfig.IOMMUFD_TEST) return -EOPNOTSUPP;
  const bus = createBus(MOCK_BUS_NAME);
  const iommu = new IommuDevice('iommufd_selftest_iommu');
  // No hardware behind it: a mock device's DMA fault is reported to nobody and printed nowhere.
  iommu.faultReporter = () => [];
  // mock_iommu.iommu_dev.max_pasids: PASIDs of MOCK_PASID_WIDTH bits (v6.15 on).
  if (iommufdHas(k, 'veventq')) iommu.max_pasids = 2 ** MOCK_PASID_WIDTH;
  // mock_blocking_domain: its attach is mock_domain_nop_attach() too, its set_dev_pasid the mock's.
  const blocking = new IommuDomain(
    IOMMU_DOMAIN_BLOCKED,
    {
      attach_dev: mock_domain_nop_attach,
      set_dev_pasid: (kk, d, dev, pasid) => mock_domain_set_dev_pasid_nop(kk, d, dev, pasid),
    },
    'mock blocking',
  );
  const st: MockState = {
    bus,
    nb: makeIommuBusNotifier(),
    iommu,
    ops: makeMockOps(k, bus, iommu, blocking),
    blocking,
    platformDev: null,
    devIds: new Set(),
    devNum: 0,
    loaded: false,
    iopfQueue: null,
    pageResponses: [],
    viommuUsers: 0,
  };
  k.driverState.set('iommufd-mock', st);

  // The selftest's own platform device came with the real driver (v6.6, 23a1b46f15d5).
  if (k.profile.mock.isDriver) {
    const pdev = platform_device_register_full(k, 'iommufd_selftest_iommu');
    if (typeof pdev === 'number') return pdev;
    st.platformDev = pdev;
  }
  let rc = bus_register(k, bus);
  if (rc) return err_platform(k, st, rc);
  if (!k.profile.mock.isDriver) {
    // v6.4: the bus and the static mock_iommu_device carry the mock ops; nothing is registered.
    bus.iommu_ops = st.ops;
    iommu.ops = st.ops;
    st.loaded = true;
    return 0;
  }
  rc = iommu_device_sysfs_add(k, iommu);
  if (rc) return err_bus(k, st, rc);
  rc = iommu_device_register_bus(k, iommu, st.ops, bus, st.nb);
  if (rc) {
    iommu_device_sysfs_remove(k, iommu);
    return err_bus(k, st, rc);
  }
  // mock_iommu_iopf_queue = iopf_queue_alloc("mock-iopfq"): a failure only leaves the mock without one.
  if (k.profile.mock.iopf) st.iopfQueue = iopf_queue_alloc(k, 'mock-iopfq');
  st.loaded = true;
  k.runDeferredProbe();
  return 0;
}

function err_bus(k: Kernel, st: MockState, rc: number): number {
  bus_unregister(k, st.bus);
  return err_platform(k, st, rc);
}

function err_platform(k: Kernel, st: MockState, rc: number): number {
  if (st.platformDev) platform_device_unregister(k, st.platformDev);
  st.platformDev = null;
  k.driverState.delete('iommufd-mock');
  return rc;
}

/** iommufd_test_exit() */
export function iommufd_test_exit(k: Kernel): number {
  const st = mockState(k);
  if (!st?.loaded) return -ENODEV;
  // iommufd_test_wait_for_users(): a vIOMMU still holding the instance times the wait out.
  k.printk.warn(
    st.viommuUsers > 0,
    'iommufd_test_wait_for_users',
    'WARN_ON(!wait_for_completion_timeout(&mock_iommu.complete))',
  );
  if (st.iopfQueue) iopf_queue_free(k, st.iopfQueue);
  st.iopfQueue = null;
  if (k.profile.mock.isDriver) {
    iommu_device_sysfs_remove(k, st.iommu);
    iommu_device_unregister_bus(k, st.iommu, st.bus, st.nb);
  }
  bus_unregister(k, st.bus);
  if (st.platformDev) platform_device_unregister(k, st.platformDev);
  st.platformDev = null;
  st.loaded = false;
  k.driverState.delete('iommufd-mock');
  return 0;
}
