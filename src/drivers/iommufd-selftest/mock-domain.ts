// SPDX-License-Identifier: GPL-2.0-only
/**
 * The iommufd selftest's paging domain (drivers/iommu/iommufd/selftest.c,
 * Linux 6.12: struct mock_iommu_domain, mock_domain_alloc_paging(),
 * mock_domain_alloc_user() without a parent, mock_domain_free(),
 * mock_domain_map_pages(), mock_domain_unmap_pages(),
 * mock_domain_iova_to_phys(), mock_domain_nop_attach() and the dirty ops).
 *
 * The domain's "page table" is the mock's xarray of pfns, the registered
 * 'iommufd-mock' format (src/pgtable/formats/iommufd-mock.ts with
 * rules/iommufd-mock.ts): 2 KiB entries, MOCK_HUGE_PAGE_SIZE runs for a
 * device created with MOCK_FLAGS_DEVICE_HUGE_IOVA, the start/last/dirty/huge
 * flags in each value. Its nodes come from the kernel's page-table pool, so
 * they are tracked allocations. The domain geometry is the mock aperture
 * (MOCK_APERTURE_START..MOCK_APERTURE_LAST) without force_aperture, which
 * iommufd keeps its IOVAs inside. There is no IOTLB and no invalidation op:
 * device DMA walks the xarray each time, and a write marks the entry dirty
 * (MOCK_PFN_DIRTY_IOVA), which is what the selftest's IOMMU_TEST_OP_DIRTY
 * does by hand in the kernel.
 *
 * Nested domains (mock_domain_alloc_user() with a parent) are
 * MockIommuDomainNested with the four-slot mock IOTLB. Not modelled: the
 * IOPF ops. The kernel's xa_init() allocates nothing; the
 * model's empty xarray holds one node, allocated with the domain.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { IommuDirtyOps, IommuDomainOps } from '../../iommu/domain.js';
import type { IommuUserData, IommuUserDataArray } from '../../iommu/user-data.js';
import { iommu_copy_struct_from_user, iommu_copy_struct_from_user_array } from '../../iommu/user-data.js';
import {
  IommuDomain,
  IOMMU_DOMAIN_BLOCKED,
  IOMMU_DOMAIN_NESTED,
  IOMMU_DOMAIN_UNMANAGED,
} from '../../iommu/domain.js';
import { EINVAL, ENODEV, ENOENT, ENOMEM, EOPNOTSUPP, ERR_PTR, type ErrPtr } from '../../kernel/errno.js';
import { iommufdShouldFail } from '../../iommufd/should-fail.js';
import { allocPageTable, PageTable } from '../../pgtable/page-table.js';
import { pgtableMemory } from '../../mm/table-memory.js';
import {
  MOCK_APERTURE_LAST,
  MOCK_APERTURE_START,
  MOCK_HUGE_PAGE_SIZE,
  MOCK_IO_PAGE_SIZE,
} from '../../pgtable/formats/iommufd-mock.js';
import {
  MOCK_FLAGS_DEVICE_HUGE_IOVA,
  MOCK_FLAGS_DEVICE_NO_DIRTY,
  mock_dev_flags,
  mock_dev_state,
} from './mock-dev.js';
import { iommufdHas } from '../../iommufd/features.js';
import type { IommufdViommu } from '../../iommufd/viommu.js';
import { iommufd_viommu_get_vdev_id } from '../../iommufd/viommu.js';

/** mock_iommu_domain.flags: dirty tracking is on. */
export const MOCK_DIRTY_TRACK = 1;

/** enum iommufd_hwpt_alloc_flags (uapi/linux/iommufd.h), as mock_domain_alloc_user() checks them. */
export const IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0;
export const IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;

/** IOMMU_HWPT_ALLOC_PASID, which the mock takes from v6.15. */
const pasidFlag = (k: Kernel): number => (iommufdHas(k, 'veventq') ? 1 << 3 : 0);

/** IOMMU_TEST_PASID_RESERVED: the PASID on which every second attach fails. */
export const IOMMU_TEST_PASID_RESERVED = 1024;

/**
 * mock_domain_set_dev_pasid_nop() (v6.15 on): any domain takes any PASID,
 * except that on PASID 1024 an attach arms a fake error the next non-blocked
 * attach or replace hits (-ENOMEM), so the core's unwind can be tested; the
 * blocked domain disarms it.
 */
export function mock_domain_set_dev_pasid_nop(
  k: Kernel,
  domain: IommuDomain,
  dev: Device,
  pasid: number,
): number {
  if (!iommufdHas(k, 'veventq')) return -EOPNOTSUPP;
  const st = mock_dev_state(dev);
  if (st && pasid === IOMMU_TEST_PASID_RESERVED) {
    if (domain.type === IOMMU_DOMAIN_BLOCKED) st.pasid1024FakeError = false;
    else if (st.pasid1024FakeError) {
      st.pasid1024FakeError = false;
      return -ENOMEM;
    } else st.pasid1024FakeError = true;
  }
  return 0;
}

/** struct mock_iommu_domain */
export class MockIommuDomain extends IommuDomain {
  /** MOCK_DIRTY_TRACK */
  flags = 0;
}

/**
 * mock_domain_nop_attach(): a domain with dirty ops cannot take a device
 * that has none. From v6.15 a nested domain of a vIOMMU needs the device's
 * vDEVICE there (-ENOENT), and the device remembers the vIOMMU and its
 * virt_id (where TRIGGER_VEVENT reports); any other domain forgets them.
 */
export function mock_domain_nop_attach(k: Kernel, domain: IommuDomain, dev: Device): number {
  const dirty = domain instanceof MockIommuDomain && domain.dirty_ops !== null;
  if (dirty && mock_dev_flags(dev) & MOCK_FLAGS_DEVICE_NO_DIRTY) return -EINVAL;
  const st = mock_dev_state(dev);
  if (!st || !iommufdHas(k, 'veventq')) return 0;
  const viommu = domain instanceof MockIommuDomainNested ? domain.viommu : null;
  let vdevId = 0n;
  if (viommu) {
    const id = iommufd_viommu_get_vdev_id(viommu, dev);
    if (typeof id === 'number') return id;
    vdevId = id;
  }
  if (viommu !== st.viommu) {
    st.viommu = viommu;
    st.vdevId = vdevId;
  }
  return 0;
}

/** mock_domain_alloc_paging(): the xarray, the aperture, 2K pages (and 1M for a huge-IOVA device). */
export function mock_domain_alloc_paging(k: Kernel, dev: Device | null): MockIommuDomain | null {
  const mem = k.alloc.alloc('mock_iommu_domain', 'iommufd-mock', 'mock_domain_alloc_paging');
  if (!mem) return null;
  const mock = new MockIommuDomain(IOMMU_DOMAIN_UNMANAGED, mock_domain_ops, 'mock paging');
  mock.mem = mem;
  mock.geometry = {
    aperture_start: MOCK_APERTURE_START,
    aperture_end: MOCK_APERTURE_LAST,
    force_aperture: false,
  };
  mock.pgsize_bitmap = MOCK_IO_PAGE_SIZE;
  if (dev && mock_dev_flags(dev) & MOCK_FLAGS_DEVICE_HUGE_IOVA) mock.pgsize_bitmap += MOCK_HUGE_PAGE_SIZE;
  // xa_init(&mock->pfns)
  const memory = pgtableMemory(k);
  memory.owner = mock.label;
  const t = allocPageTable('iommufd-mock', {
    pgsize_bitmap: mock.pgsize_bitmap,
    memory,
    warn: (w) => k.printk.warn(true, w.site, w.message),
  });
  if (!(t instanceof PageTable)) {
    k.alloc.free(mem, 'mock_domain_alloc_paging');
    return null;
  }
  mock.pgtable = t;
  return mock;
}

/** IOMMU_HWPT_DATA_SELFTEST and IOMMU_TEST_IOTLB_DEFAULT (iommufd_test.h). */
export const IOMMU_HWPT_DATA_SELFTEST = 0xdead;
export const IOMMU_TEST_IOTLB_DEFAULT = 0xbadbeef;
/** IOMMU_HWPT_INVALIDATE_DATA_SELFTEST and IOMMU_TEST_INVALIDATE_FLAG_ALL */
export const IOMMU_HWPT_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
export const IOMMU_TEST_INVALIDATE_FLAG_ALL = 1 << 0;
export const MOCK_NESTED_DOMAIN_IOTLB_NUM = 4;
export const MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = MOCK_NESTED_DOMAIN_IOTLB_NUM - 1;

/**
 * struct mock_iommu_domain_nested: a user-managed stage 1 over a mock
 * paging parent. Its "IOTLB" is four u32 slots the user fills at allocation
 * and clears with IOMMU_HWPT_INVALIDATE; it translates nothing itself.
 */
export class MockIommuDomainNested extends IommuDomain {
  readonly iotlb = new Uint32Array(MOCK_NESTED_DOMAIN_IOTLB_NUM);
  /** The vIOMMU it was allocated on (mock_viommu), or null. */
  viommu: IommufdViommu | null = null;
  constructor(readonly parent: MockIommuDomain) {
    super(IOMMU_DOMAIN_NESTED, domain_nested_ops, 'mock nested');
  }
}

/**
 * mock_domain_cache_invalidate_user(): the selftest's request
 * { flags, iotlb_id } per entry; another data type is -EINVAL, an unknown
 * flag -EOPNOTSUPP, a slot past 3 -EINVAL; FLAG_ALL clears every slot. It
 * stops at the first bad entry; entryNum comes back as those handled.
 */
function mock_domain_cache_invalidate_user(
  _k: Kernel,
  domain: IommuDomain,
  array: IommuUserDataArray,
): number {
  const mock = domain as MockIommuDomainNested;
  let processed = 0;
  let rc = 0;
  if (array.type !== IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) rc = -EINVAL;
  for (let i = 0; !rc && i < array.entryNum; i++) {
    const inv = iommu_copy_struct_from_user_array(array, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, i, 8, 8);
    if (typeof inv === 'number') {
      rc = inv;
      break;
    }
    const dv = new DataView(inv.buffer, inv.byteOffset, 8);
    const flags = dv.getUint32(0, true);
    const id = dv.getUint32(4, true);
    if (flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) {
      rc = -EOPNOTSUPP;
      break;
    }
    if (id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) {
      rc = -EINVAL;
      break;
    }
    if (flags & IOMMU_TEST_INVALIDATE_FLAG_ALL) mock.iotlb.fill(0);
    else mock.iotlb[id] = 0;
    processed++;
  }
  array.entryNum = processed;
  return rc;
}

/** mock_domain_free_nested() */
function mock_domain_free_nested(k: Kernel, domain: IommuDomain): void {
  k.alloc.free(domain.mem, 'mock_domain_free_nested');
  domain.mem = null;
}

/** domain_nested_ops */
export const domain_nested_ops: IommuDomainOps = {
  free: mock_domain_free_nested,
  attach_dev: (k, d, dev) => mock_domain_nop_attach(k, d, dev),
  cache_invalidate_user: mock_domain_cache_invalidate_user,
  set_dev_pasid: (k, d, dev, pasid) => mock_domain_set_dev_pasid_nop(k, d, dev, pasid),
};

/**
 * mock_domain_alloc_user() (6.12): without a parent a paging domain, for
 * the nest-parent and dirty-tracking flags only, no user data, and dirty
 * tracking only for a device that has it. With a parent, a nested domain:
 * selftest data and no flags (-EOPNOTSUPP), a mock paging parent (-EINVAL),
 * struct iommu_hwpt_selftest { iotlb } as the initial value of every slot.
 */
export function mock_domain_alloc_user(
  k: Kernel,
  dev: Device,
  flags: number,
  parent: IommuDomain | null = null,
  data: IommuUserData | null = null,
): IommuDomain | ErrPtr {
  if (!parent) {
    const has_dirty_flag = (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) !== 0;
    const no_dirty_ops = (mock_dev_flags(dev) & MOCK_FLAGS_DEVICE_NO_DIRTY) !== 0;
    if (flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | pasidFlag(k)))
      return ERR_PTR(-EOPNOTSUPP);
    if (data || (has_dirty_flag && no_dirty_ops)) return ERR_PTR(-EOPNOTSUPP);
    const domain = mock_domain_alloc_paging(k, dev);
    if (!domain) return ERR_PTR(-ENOMEM);
    if (has_dirty_flag) domain.dirty_ops = mock_dirty_ops;
    return domain;
  }
  if (!data || data.type !== IOMMU_HWPT_DATA_SELFTEST || flags & ~pasidFlag(k)) return ERR_PTR(-EOPNOTSUPP);
  if (parent.ops !== mock_domain_ops) return ERR_PTR(-EINVAL);
  return mock_domain_alloc_nested_common(k, parent as MockIommuDomain, data);
}

/**
 * __mock_domain_alloc_nested(): struct iommu_hwpt_selftest { iotlb } (the
 * selftest's data type only: -EOPNOTSUPP) as every IOTLB slot's value.
 */
export function mock_domain_alloc_nested_common(
  k: Kernel,
  parent: MockIommuDomain,
  data: IommuUserData,
): MockIommuDomainNested | ErrPtr {
  if (data.type !== IOMMU_HWPT_DATA_SELFTEST) return ERR_PTR(-EOPNOTSUPP);
  const cfg = iommu_copy_struct_from_user(data, IOMMU_HWPT_DATA_SELFTEST, 4, 4);
  if (typeof cfg === 'number') return ERR_PTR(cfg);
  const mem = k.alloc.alloc('mock_iommu_domain_nested', 'iommufd-mock', '__mock_domain_alloc_nested');
  if (!mem) return ERR_PTR(-ENOMEM);
  const nested = new MockIommuDomainNested(parent);
  nested.mem = mem;
  nested.iotlb.fill(new DataView(cfg.buffer, cfg.byteOffset, 4).getUint32(0, true));
  return nested;
}

/** mock_domain_free(): the xarray should be empty by now (the kernel WARNs and leaks what is left). */
function mock_domain_free(k: Kernel, domain: IommuDomain): void {
  const t = domain.pgtable;
  if (t) {
    k.printk.warn(t.leaves().length > 0, 'mock_domain_free', 'WARN_ON(!xa_empty(&mock->pfns))');
    pgtableMemory(k).owner = domain.label;
    t.free();
    domain.pgtable = null;
  }
  k.alloc.free(domain.mem, 'mock_domain_free');
  domain.mem = null;
}

/** mock_domain_map_pages(): 2K value entries, the first and last of the call marked. */
function mock_domain_map_pages(
  k: Kernel,
  domain: IommuDomain,
  iova: number,
  paddr: number,
  pgsize: number,
  pgcount: number,
  prot: number,
  out: { mapped: number },
): number {
  const t = domain.pgtable;
  if (!t) return -ENODEV;
  // The xarray retries its allocations, so the selftest has its own failure point here.
  if (iommufdShouldFail(k, 'mock_domain_map_pages')) return -ENOENT;
  pgtableMemory(k).owner = domain.label;
  return t.mapPagesTo(out, iova, paddr, pgsize, pgcount, prot);
}

/** mock_domain_unmap_pages(): every entry of the range erased; the whole size. */
function mock_domain_unmap_pages(
  k: Kernel,
  domain: IommuDomain,
  iova: number,
  pgsize: number,
  pgcount: number,
): number {
  const t = domain.pgtable;
  if (!t) return 0;
  pgtableMemory(k).owner = domain.label;
  return t.unmapPages(iova, pgsize, pgcount);
}

/** mock_domain_iova_to_phys(): the entry's page, without the offset. */
function mock_domain_iova_to_phys(_k: Kernel, domain: IommuDomain, iova: number): number {
  return domain.pgtable?.iovaToPhys(iova) ?? 0;
}

/** mock_ops.default_domain_ops */
export const mock_domain_ops: IommuDomainOps = {
  free: mock_domain_free,
  attach_dev: mock_domain_nop_attach,
  map_pages: mock_domain_map_pages,
  unmap_pages: mock_domain_unmap_pages,
  iova_to_phys: mock_domain_iova_to_phys,
  set_dev_pasid: (k, d, dev, pasid) => mock_domain_set_dev_pasid_nop(k, d, dev, pasid),
};

/** mock_domain_set_dirty_tracking(): -EINVAL to enable it on a domain without dirty ops. */
export function mock_domain_set_dirty_tracking(domain: MockIommuDomain, enable: boolean): number {
  if (enable && !domain.dirty_ops) return -EINVAL;
  domain.flags = enable ? domain.flags | MOCK_DIRTY_TRACK : domain.flags & ~MOCK_DIRTY_TRACK;
  return 0;
}

/**
 * mock_domain_read_and_clear_dirty(): each dirty page (2K, or the 1M run a
 * huge entry belongs to) in [iova, iova + size) is recorded and, without
 * IOMMU_DIRTY_NO_CLEAR, cleaned. Reading into a bitmap needs tracking on;
 * without a bitmap (iommufd clearing stale bits) it does not.
 */
export function mock_domain_read_and_clear_dirty(
  domain: MockIommuDomain,
  iova: number,
  size: number,
  flags: number,
  bitmap: ((iova: number, length: number) => void) | null,
): number {
  if (!(domain.flags & MOCK_DIRTY_TRACK) && bitmap) return -EINVAL;
  const t = domain.pgtable;
  if (!t) return -EINVAL;
  return t.readAndClearDirty(iova, size, flags, bitmap ?? (() => {}));
}

/** The mock's struct iommu_dirty_ops (dirty_ops in selftest.c). */
export const mock_dirty_ops: IommuDirtyOps = {
  set_dirty_tracking: (_k, d, enable) => mock_domain_set_dirty_tracking(d as MockIommuDomain, enable),
  read_and_clear_dirty: (_k, d, iova, size, flags, record) =>
    mock_domain_read_and_clear_dirty(d as MockIommuDomain, iova, size, flags, record),
};
