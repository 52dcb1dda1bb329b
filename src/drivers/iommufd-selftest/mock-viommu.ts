// SPDX-License-Identifier: GPL-2.0-only
/**
 * The selftest mock's vIOMMU (drivers/iommu/iommufd/selftest.c, v6.13 on:
 * struct mock_viommu, mock_viommu_init(), mock_viommu_destroy(),
 * mock_viommu_alloc_domain_nested(), mock_viommu_cache_invalidate(), and
 * from v6.17 the HW queues mock_hw_queue_init_phys()/_destroy()).
 *
 * A mock vIOMMU nests over a mock paging domain (its "S2"). Its nested
 * domains are the mock's ordinary nested domains that also remember the
 * vIOMMU. Its invalidation requests name a vDEVICE by virt_id and clear
 * slots of that mock device's four-slot "cache". With driver data
 * (v6.16 on) it allocates two pages, puts the user's in_data in the first
 * word, registers them for mmap() through /dev/iommu and returns the offset.
 * It can take two HW queues, the second depending on the first.
 */
import type { Device } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';
import { EEXIST, EINVAL, EIO, ENOMEM, EOPNOTSUPP, ERR_PTR, IS_ERR, type ErrPtr } from '../../kernel/errno.js';
import type { IommuDomain } from '../../iommu/domain.js';
import { iommu_iova_to_phys } from '../../iommu/map.js';
import type { IommuUserData, IommuUserDataArray } from '../../iommu/user-data.js';
import {
  iommu_copy_struct_from_full_user_array,
  iommu_copy_struct_from_user,
  iommu_copy_struct_to_user,
} from '../../iommu/user-data.js';
import { pageAllocator } from '../../mm/page-alloc.js';
import { physMem } from '../../mm/phys-mem.js';
import { USER_PAGE_SIZE } from '../../mm/user-mm.js';
import type { IommufdHwQueue } from '../../iommufd/hw-queue.js';
import { iommufdAllocMmap, iommufdDestroyMmap } from '../../iommufd/mmap.js';
import { iommufdHas } from '../../iommufd/features.js';
import type { IommufdViommu, IommufdViommuOps } from '../../iommufd/viommu.js';
import { iommufd_viommu_find_dev } from '../../iommufd/viommu.js';
import { MOCK_DEV_CACHE_ID_MAX, mock_dev_state } from './mock-dev.js';
import type { MockIommuDomain } from './mock-domain.js';
import { IOMMU_TEST_INVALIDATE_FLAG_ALL, mock_domain_alloc_nested_common } from './mock-domain.js';
import { mockState } from './mock.js';

/** IOMMU_VIOMMU_TYPE_SELFTEST, IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST (iommufd_test.h) */
export const IOMMU_VIOMMU_TYPE_SELFTEST = 0xdeadbeef;
export const IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
/** IOMMU_VEVENTQ_TYPE_SELFTEST */
export const IOMMU_VEVENTQ_TYPE_SELFTEST = 0xbeefbeef;
/** IOMMU_HW_QUEUE_TYPE_SELFTEST and IOMMU_TEST_HW_QUEUE_MAX */
export const IOMMU_HW_QUEUE_TYPE_SELFTEST = 0xdeadbeef;
export const IOMMU_TEST_HW_QUEUE_MAX = 2;
/** IOMMU_HWPT_FAULT_ID_VALID and IOMMU_HWPT_ALLOC_PASID, as the mock accepts them on a vIOMMU's nested domain. */
const NESTED_FLAGS_OK = (1 << 2) | (1 << 3);
/** sizeof(struct iommu_viommu_selftest) { in_data, out_data, out_mmap_offset, out_mmap_length }, through out_data. */
const VIOMMU_DATA_SIZE = 24;
const VIOMMU_DATA_MIN = 8;
/** sizeof(struct iommu_viommu_invalidate_selftest) { flags, vdev_id, cache_id } */
const VIOMMU_INVALIDATE_SIZE = 12;

/** struct mock_viommu, beyond the core's struct iommufd_viommu. */
export interface MockViommu {
  readonly s2Parent: MockIommuDomain;
  /** The two pages of driver data (v6.16 on), and their mmap offset. */
  page: number | null;
  mmapOffset: number;
  readonly hwQueues: (IommufdHwQueue | null)[];
}

/** struct mock_hw_queue, beyond the core's struct iommufd_hw_queue. */
interface MockHwQueue {
  readonly index: number;
  readonly prev: IommufdHwQueue | null;
}

export function mockViommuOf(viommu: IommufdViommu): MockViommu {
  return viommu.driverData as MockViommu;
}

/** get_viommu_size() (mock_get_viommu_size()): only the selftest's type. */
export function mock_get_viommu_size(_dev: Device, type: number): number {
  return type === IOMMU_VIOMMU_TYPE_SELFTEST ? 1 : 0;
}

/** mock_viommu_init() */
export function mock_viommu_init(
  k: Kernel,
  viommu: IommufdViommu,
  parent: IommuDomain,
  data: IommuUserData | null,
): number {
  const mv: MockViommu = {
    s2Parent: parent as MockIommuDomain,
    page: null,
    mmapOffset: 0,
    hwQueues: new Array<IommufdHwQueue | null>(IOMMU_TEST_HW_QUEUE_MAX).fill(null),
  };
  if (data) {
    const cfg = iommu_copy_struct_from_user(
      data,
      IOMMU_VIOMMU_TYPE_SELFTEST,
      VIOMMU_DATA_SIZE,
      VIOMMU_DATA_MIN,
    );
    if (typeof cfg === 'number') return cfg;
    const dv = new DataView(cfg.buffer, cfg.byteOffset, VIOMMU_DATA_SIZE);
    // __get_free_pages(GFP_KERNEL | __GFP_ZERO, 1)
    const page = pageAllocator(k).alloc_pages(1, 'iommufd-mock', 'mock_viommu_init');
    if (page < 0) return -ENOMEM;
    physMem(k).write(page, new Uint8Array(2 * USER_PAGE_SIZE));
    const offset = iommufdAllocMmap(viommu.ictx, viommu, page, 2 * USER_PAGE_SIZE);
    if (offset < 0) {
      pageAllocator(k).free_pages(page, 1, 'mock_viommu_init');
      return offset;
    }
    // Loop-back tests on both the page and out_data.
    const inData = dv.getUint32(0, true);
    physMem(k).write(page, cfg.subarray(0, 4));
    dv.setUint32(4, inData, true);
    dv.setBigUint64(8, BigInt(offset), true);
    dv.setBigUint64(16, BigInt(2 * USER_PAGE_SIZE), true);
    const rc = iommu_copy_struct_to_user(data, cfg, IOMMU_VIOMMU_TYPE_SELFTEST, VIOMMU_DATA_MIN);
    if (rc) {
      iommufdDestroyMmap(viommu.ictx, offset);
      pageAllocator(k).free_pages(page, 1, 'mock_viommu_init');
      return rc;
    }
    mv.page = page;
    mv.mmapOffset = offset;
  }
  const st = mockState(k);
  if (st) st.viommuUsers++; // refcount_inc(&mock_iommu->users)
  viommu.driverData = mv;
  viommu.ops = mockViommuOps(k);
  return 0;
}

/** mock_viommu_destroy(): the instance's user count, the mmap and the pages. */
function mock_viommu_destroy(k: Kernel, viommu: IommufdViommu): void {
  const st = mockState(k);
  if (st) st.viommuUsers--;
  const mv = mockViommuOf(viommu);
  if (mv.page !== null) {
    iommufdDestroyMmap(viommu.ictx, mv.mmapOffset);
    pageAllocator(k).free_pages(mv.page, 1, 'mock_viommu_destroy');
    mv.page = null;
  }
}

/** mock_viommu_alloc_domain_nested(): the mock's nested domain over the vIOMMU's S2. */
function mock_viommu_alloc_domain_nested(
  k: Kernel,
  viommu: IommufdViommu,
  flags: number,
  data: IommuUserData,
): IommuDomain | ErrPtr {
  if (flags & ~NESTED_FLAGS_OK) return ERR_PTR(-EOPNOTSUPP);
  const nested = mock_domain_alloc_nested_common(k, mockViommuOf(viommu).s2Parent, data);
  if (!IS_ERR(nested)) nested.viommu = viommu;
  return nested;
}

/**
 * mock_viommu_cache_invalidate(): a zero-length array of the selftest's
 * type only probes it; otherwise every request { flags, vdev_id, cache_id }
 * is copied in first, then each clears a slot (or with FLAG_ALL every slot)
 * of the cache of the device that virt_id names: an unknown flag is
 * -EOPNOTSUPP, a slot past 3 or an unknown virt_id -EINVAL; entryNum comes
 * back as the requests done.
 */
function mock_viommu_cache_invalidate(k: Kernel, viommu: IommufdViommu, array: IommuUserDataArray): number {
  if (array.entryNum === 0 && array.type === IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST) return 0;
  const mem = k.alloc.alloc(
    'iommu_viommu_invalidate_selftest[]',
    'iommufd-mock',
    'mock_viommu_cache_invalidate',
  );
  if (!mem) return -ENOMEM;
  let done = 0;
  let rc = 0;
  const cmds = iommu_copy_struct_from_full_user_array(
    array,
    VIOMMU_INVALIDATE_SIZE,
    IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
  );
  if (typeof cmds === 'number') rc = cmds;
  else
    for (const cmd of cmds) {
      const dv = new DataView(cmd.buffer, cmd.byteOffset, VIOMMU_INVALIDATE_SIZE);
      const flags = dv.getUint32(0, true);
      const vdevId = dv.getUint32(4, true);
      const cacheId = dv.getUint32(8, true);
      if (flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) {
        rc = -EOPNOTSUPP;
        break;
      }
      if (cacheId > MOCK_DEV_CACHE_ID_MAX) {
        rc = -EINVAL;
        break;
      }
      const dev = iommufd_viommu_find_dev(viommu, BigInt(vdevId));
      const st = dev ? mock_dev_state(dev) : undefined;
      if (!st) {
        rc = -EINVAL;
        break;
      }
      if (flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) st.cache.fill(0);
      else st.cache[cacheId] = 0;
      done++;
    }
  array.entryNum = done;
  k.alloc.free(mem, 'mock_viommu_cache_invalidate');
  return rc;
}

/** mock_hw_queue_destroy(): the slot freed, the dependency on the previous queue dropped. */
function mock_hw_queue_destroy(q: IommufdHwQueue): void {
  const mq = q.driverData as MockHwQueue;
  const mv = mockViommuOf(q.viommu!);
  mv.hwQueues[mq.index] = null;
  if (mq.prev) mq.prev.users--; // iommufd_hw_queue_undepend()
}

/**
 * mock_hw_queue_init_phys(): index below 2 (-EINVAL), a free slot
 * (-EEXIST), the previous slot taken (-EIO); the core's physical address
 * must be what the S2 translates the queue's IOVA to (-EINVAL, which an
 * IOVA that is not 2K aligned gets with a WARN from the mock's
 * iova_to_phys). The queue then depends on the previous one.
 */
function mock_hw_queue_init_phys(k: Kernel, q: IommufdHwQueue, index: number, basePa: number): number {
  const mv = mockViommuOf(q.viommu!);
  if (index >= IOMMU_TEST_HW_QUEUE_MAX) return -EINVAL;
  if (mv.hwQueues[index]) return -EEXIST;
  let prev: IommufdHwQueue | null = null;
  if (index) {
    prev = mv.hwQueues[index - 1];
    if (!prev) return -EIO;
  }
  if (basePa !== iommu_iova_to_phys(k, mv.s2Parent, Number(q.baseAddr))) return -EINVAL;
  if (prev) prev.users++; // iommufd_hw_queue_depend()
  const mq: MockHwQueue = { index, prev };
  q.driverData = mq;
  mv.hwQueues[index] = q;
  q.driverDestroy = mock_hw_queue_destroy;
  return 0;
}

const opsCache = new WeakMap<Kernel, IommufdViommuOps>();

/** mock_viommu_ops: the HW queue ops from v6.17. */
function mockViommuOps(k: Kernel): IommufdViommuOps {
  let ops = opsCache.get(k);
  if (!ops) {
    const hwQueue = iommufdHas(k, 'hwQueue');
    ops = {
      destroy: mock_viommu_destroy,
      alloc_domain_nested: mock_viommu_alloc_domain_nested,
      cache_invalidate: mock_viommu_cache_invalidate,
      get_hw_queue_size: hwQueue ? (_v, type) => (type === IOMMU_HW_QUEUE_TYPE_SELFTEST ? 1 : 0) : undefined,
      hw_queue_init_phys: hwQueue ? mock_hw_queue_init_phys : undefined,
    };
    opsCache.set(k, ops);
  }
  return ops;
}
