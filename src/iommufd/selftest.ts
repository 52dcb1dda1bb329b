// SPDX-License-Identifier: GPL-2.0-only
/**
 * IOMMU_TEST_CMD (drivers/iommu/iommufd/selftest.c iommufd_test(), 6.12):
 * the selftest's operations on a context. The mock driver itself (its bus,
 * instance, devices and domains) is src/drivers/iommufd-selftest/; what is
 * here is the iommufd side: selftest objects owning a mock device, and the
 * checks the selftests make against the mock domain and the page pins.
 *
 * MOCK_DOMAIN creates a mock device on the mock bus (so the IOMMU core
 * probes it with whatever ops the kernel profile gives it), binds it and
 * attaches it to an IOAS or HWPT; destroying the selftest object undoes it
 * all. The selftest must be loaded (iommufd_test_init(), what loading
 * iommufd.ko does in a CONFIG_IOMMUFD_TEST kernel): otherwise -ENODEV.
 */
import { EFAULT, EINVAL, EIO, ENOMEM, EOPNOTSUPP, EOVERFLOW, IS_ERR, PTR_ERR } from '../kernel/errno.js';
import type { Device } from '../base/device.js';
import { IOMMU_DOMAIN_NESTED, IOMMU_DOMAIN_UNMANAGED } from '../iommu/domain.js';
import { mock_dev_create, mock_dev_destroy } from '../drivers/iommufd-selftest/mock-dev.js';
import type { MockIommuDomain, MockIommuDomainNested } from '../drivers/iommufd-selftest/mock-domain.js';
import {
  MOCK_DIRTY_TRACK,
  MOCK_NESTED_DOMAIN_IOTLB_ID_MAX,
  domain_nested_ops,
  mock_domain_ops,
} from '../drivers/iommufd-selftest/mock-domain.js';
import { ACCESS_LEAF } from '../pgtable/engine.js';
import { MOCK_IO_PAGE_SIZE } from '../pgtable/formats/iommufd-mock.js';
import { USER_PAGE_SIZE, userPtr } from '../mm/user-mm.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';
import type { IommufdDevice } from './device.js';
import { getDevice } from './device.js';
import {
  IOMMU_FAULT_PAGE_REQ,
  IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE,
  IOMMU_FAULT_PAGE_REQUEST_PASID_VALID,
  iommu_report_device_fault,
} from '../iommu/io-pgfault.js';
import { IOMMU_NO_PASID } from '../iommu/attach.js';
import { iommufdDeviceBind, iommufdDeviceUnbind } from './device.js';
import { iommufdDeviceAttach, iommufdDeviceDetach, iommufdDeviceReplace } from './device-attach.js';
import type { HwptNested, HwptPaging } from './hw-pagetable.js';
import { getIoas } from './ioas.js';
import {
  testAccessPages,
  testAccessReplaceIoas,
  testAccessRw,
  testCreateAccess,
  testDestroyAccessPages,
} from './selftest-access.js';
import { ULONG_MAX } from './io-pagetable.js';
import { IOMMU_TEST_OP, decode, encode, testCmds } from './uapi.js';
import type { Ucmd } from './ucmd.js';
import { copyFromUser } from './user-arg.js';
import { n32, n64 } from './ucmd.js';
import { iommufdHas } from './features.js';
import { testDevCheckCache, testTriggerVevent } from './selftest-viommu.js';
import { testPasidAttach, testPasidCheckHwpt, testPasidDetach, testPasidReplace } from './selftest-pasid.js';

/** struct selftest_obj of TYPE_IDEV: the mock device the selftest made, bound and attached. */
export interface SelftestObj extends IommufdObject {
  readonly type: 'SELFTEST';
  idev: IommufdDevice | null;
  mockDev: Device | null;
}

/** iommufd_test_get_selftest_obj(): the selftest object `id` names, with its mock device (-ENOENT, -EINVAL). */
export function getSelftestObj(u: Ucmd): SelftestObj | number {
  const sobj = u.ctx.get(n32(u.cmd.id), 'SELFTEST') as SelftestObj | number;
  if (typeof sobj === 'number') return sobj;
  return sobj.idev ? sobj : -EINVAL;
}

/** iommufd_selftest_destroy(): detach, unbind, delete the mock device. */
function selftestDestroy(ctx: IommufdCtx, sobj: SelftestObj): void {
  if (!sobj.idev || !sobj.mockDev) return;
  iommufdDeviceDetach(sobj.idev);
  iommufdDeviceUnbind(sobj.idev);
  mock_dev_destroy(ctx.k, sobj.mockDev);
}

/** iommufd_test_mock_domain(): ids of the selftest object, the HWPT and the DEVICE come back. */
function testMockDomain(u: Ucmd, op: number): number {
  const ctx = u.ctx;
  const sobj = ctx.allocObject((id, mem): SelftestObj => {
    const o: SelftestObj = {
      id,
      type: 'SELFTEST',
      users: 1,
      mem,
      idev: null,
      mockDev: null,
      destroy: () => selftestDestroy(ctx, o),
    };
    return o;
  }, 'selftest');
  if (typeof sobj === 'number') return sobj;
  const flagsCmd = decode(testCmds.mock_domain_flags, u.bytes);
  const devFlags = op === IOMMU_TEST_OP.MOCK_DOMAIN_FLAGS ? n32(flagsCmd.dev_flags) : 0;
  const mdev = mock_dev_create(ctx.k, devFlags);
  if (IS_ERR(mdev)) {
    ctx.abort(sobj);
    return PTR_ERR(mdev);
  }
  const idev = iommufdDeviceBind(ctx, mdev);
  if (typeof idev === 'number') {
    mock_dev_destroy(ctx.k, mdev);
    ctx.abort(sobj);
    return idev;
  }
  const out = { ptId: n32(u.cmd.id) };
  const rc = iommufdDeviceAttach(idev, out);
  if (rc) {
    iommufdDeviceUnbind(idev);
    mock_dev_destroy(ctx.k, mdev);
    ctx.abort(sobj);
    return rc;
  }
  sobj.idev = idev;
  sobj.mockDev = mdev;
  const c = decode(testCmds.mock_domain, u.bytes);
  c.out_hwpt_id = out.ptId;
  c.out_stdev_id = sobj.id;
  c.out_idev_id = idev.id;
  encode(testCmds.mock_domain, c, u.bytes);
  u.respond();
  ctx.finalize(sobj);
  return 0;
}

/** iommufd_test_mock_domain_replace(): the selftest device moves to another IOAS or HWPT. */
function testMockDomainReplace(u: Ucmd): number {
  const sobj = getSelftestObj(u);
  if (typeof sobj === 'number') return sobj;
  const c = decode(testCmds.mock_domain_replace, u.bytes);
  const out = { ptId: n32(c.pt_id) };
  const rc = iommufdDeviceReplace(sobj.idev!, out);
  if (rc) return rc;
  c.pt_id = out.ptId;
  encode(testCmds.mock_domain_replace, c, u.bytes);
  return u.respond();
}

/** get_md_pagetable(): a paging HWPT whose domain is the mock's (-ENOENT, -EINVAL). */
function getMdPagetable(ctx: IommufdCtx, id: number): HwptPaging | number {
  const hwpt = ctx.get(id, 'HWPT_PAGING') as HwptPaging | number;
  if (typeof hwpt === 'number') return hwpt;
  const d = hwpt.domain!;
  if (d.type !== IOMMU_DOMAIN_UNMANAGED || d.ops !== mock_domain_ops) return -EINVAL;
  return hwpt;
}

/**
 * iommufd_test_md_check_pa(): every 2 KiB of [iova, iova + length) in the
 * mock domain must hold the physical address behind the same offset of the
 * user buffer (-EINVAL otherwise, or for unaligned arguments).
 */
function testMdCheckPa(u: Ucmd): number {
  const c = decode(testCmds.check_map, u.bytes);
  const P = BigInt(MOCK_IO_PAGE_SIZE);
  let iova = n64(c.iova);
  let length = n64(c.length);
  const uptr0 = n64(c.uptr);
  if (iova % P || length % P || uptr0 % P || uptr0 + length > ULONG_MAX) return -EINVAL;
  const hwpt = getMdPagetable(u.ctx, n32(u.cmd.id));
  if (typeof hwpt === 'number') return hwpt;
  const domain = hwpt.domain!;
  let uptr = uptr0;
  for (; length; length -= P, iova += P, uptr += P) {
    const addr = userPtr(uptr);
    const info = addr < 0 ? -EFAULT : u.ctx.proc.pageInfo(addr - (addr % USER_PAGE_SIZE));
    if (typeof info === 'number') return info;
    const want = info.phys + (addr % USER_PAGE_SIZE);
    // The mock's entry holds the 2K page frame; an unmapped IOVA reads as 0, which no user page is.
    const got = iova > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : (domain.pgtable?.iovaToPhys(Number(iova)) ?? 0);
    if (got === 0 || got !== want) return -EINVAL;
  }
  return 0;
}

/** iommufd_test_md_check_refs(): every (non-huge) user page of the range is pinned exactly `refs` times (-EIO). */
function testMdCheckRefs(u: Ucmd): number {
  const c = decode(testCmds.check_refs, u.bytes);
  const P = BigInt(USER_PAGE_SIZE);
  let length = n64(c.length);
  let uptr = n64(c.uptr);
  if (length % P || uptr % P || uptr + length > ULONG_MAX) return -EINVAL;
  const refs = n32(c.refs);
  for (; length; length -= P, uptr += P) {
    const addr = userPtr(uptr);
    const info = addr < 0 ? -EFAULT : u.ctx.proc.pageInfo(addr);
    if (typeof info === 'number') return info;
    if (!info.compound && info.pins !== refs) return -EIO;
  }
  return 0;
}

/**
 * iommufd_test_dirty(): for each set bit i of the user's bitmap, the mock
 * entry is marked dirty as a device write would, and counted. As in 6.12,
 * the entry looked up is xarray index (iova + i * page_size) / page_size,
 * which is that IOVA's entry only when page_size is MOCK_IO_PAGE_SIZE.
 */
function testDirty(u: Ucmd): number {
  const c = decode(testCmds.dirty, u.bytes);
  const iova = n64(c.iova);
  const length = n64(c.length);
  const pageSize = n64(c.page_size);
  const uptr = n64(c.uptr);
  if (!pageSize || !length || iova % pageSize || length % pageSize || !uptr) return -EINVAL;
  const max = length / pageSize;
  if (max > 16n * 1024n * 1024n * 8n) return -EOVERFLOW;
  const hwpt = getMdPagetable(u.ctx, n32(u.cmd.id));
  if (typeof hwpt === 'number') return hwpt;
  const mock = hwpt.domain as MockIommuDomain;
  if (!(mock.flags & MOCK_DIRTY_TRACK)) return -EINVAL;
  const k = u.ctx.k;
  const tmp = k.alloc.alloc('iommufd_test_dirty bitmap', 'iommufd', 'iommufd_test_dirty');
  if (!tmp) return -ENOMEM;
  const n = Number(max);
  const bits = copyFromUser(u.ctx.proc, uptr, Math.ceil(n / 8));
  let count = 0;
  if (typeof bits !== 'number') {
    const t = mock.pgtable!;
    for (let byte = 0; byte < bits.length; byte++) {
      if (!bits[byte]) continue;
      for (let b = 0; b < 8; b++) {
        const i = byte * 8 + b;
        if (i >= n || !(bits[byte] & (1 << b))) continue;
        const cur = iova + BigInt(i) * pageSize;
        const at = (cur / pageSize) * BigInt(MOCK_IO_PAGE_SIZE);
        if (at > BigInt(Number.MAX_SAFE_INTEGER) || !(t.access(Number(at)) & ACCESS_LEAF)) continue;
        t.markDirty(Number(at));
        count++;
      }
    }
  }
  k.alloc.free(tmp, 'iommufd_test_dirty');
  if (typeof bits === 'number') return bits;
  c.out_nr_dirty = BigInt(count);
  encode(testCmds.dirty, c, u.bytes);
  return u.respond();
}

/** iommufd_test_md_check_iotlb(): slot `iotlb_id` of a mock nested HWPT's IOTLB holds `iotlb` (-EINVAL). */
function testMdCheckIotlb(u: Ucmd): number {
  const c = decode(testCmds.check_iotlb, u.bytes);
  const hwpt = u.ctx.get(n32(c.id), 'HWPT_NESTED') as HwptNested | number;
  if (typeof hwpt === 'number') return hwpt;
  const d = hwpt.domain!;
  if (d.type !== IOMMU_DOMAIN_NESTED || d.ops !== domain_nested_ops) return -EINVAL;
  const slot = n32(c.iotlb_id);
  const mock = d as MockIommuDomainNested;
  if (slot > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX || mock.iotlb[slot] !== n32(c.iotlb)) return -EINVAL;
  return 0;
}

/**
 * iommufd_test_trigger_iopf(): the device raises a page request (the last of
 * its group; PASID-tagged unless the PASID is 0), as its IOMMU would report
 * it. Always 0 once the device is found: where the fault went is the core's business.
 */
function testTriggerIopf(u: Ucmd): number {
  const c = decode(testCmds.trigger_iopf, u.bytes);
  const idev = getDevice(u.ctx, n32(c.dev_id));
  if (typeof idev === 'number') return idev;
  const pasid = n32(c.pasid);
  let flags = IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
  if (pasid !== IOMMU_NO_PASID) flags |= IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
  iommu_report_device_fault(u.ctx.k, idev.dev, IOMMU_FAULT_PAGE_REQ, {
    flags,
    pasid,
    grpid: n32(c.grpid),
    perm: n32(c.perm),
    addr: n64(c.addr),
  });
  return 0;
}

/** iommufd_test_add_reserved(): a reservation owned by nobody, kept until the IOAS goes. */
function testAddReserved(u: Ucmd): number {
  const c = decode(testCmds.add_reserved, u.bytes);
  const start = n64(c.start);
  const length = n64(c.length);
  if (length === 0n) return -EINVAL;
  if (start + length - 1n > ULONG_MAX) return -EOVERFLOW;
  const ioas = getIoas(u.ctx, n32(c.id));
  if (typeof ioas === 'number') return ioas;
  return ioas.iopt.reserveIova(start, start + length - 1n, null);
}

/** The selftest's iommufd_test(): the IOMMU_TEST_OP_* the model handles; unknown ops are -EOPNOTSUPP. */
export function iommufdTest(u: Ucmd): number {
  const op = n32(u.cmd.op);
  switch (op) {
    case IOMMU_TEST_OP.ADD_RESERVED:
      return testAddReserved(u);
    case IOMMU_TEST_OP.MOCK_DOMAIN:
    case IOMMU_TEST_OP.MOCK_DOMAIN_FLAGS:
      return testMockDomain(u, op);
    case IOMMU_TEST_OP.MOCK_DOMAIN_REPLACE:
      return testMockDomainReplace(u);
    case IOMMU_TEST_OP.MD_CHECK_MAP:
      return testMdCheckPa(u);
    case IOMMU_TEST_OP.MD_CHECK_REFS:
      return testMdCheckRefs(u);
    case IOMMU_TEST_OP.DIRTY:
      return testDirty(u);
    case IOMMU_TEST_OP.MD_CHECK_IOTLB:
      return testMdCheckIotlb(u);
    case IOMMU_TEST_OP.TRIGGER_IOPF:
      return testTriggerIopf(u);
    case IOMMU_TEST_OP.DEV_CHECK_CACHE:
      return iommufdHas(u.ctx.k, 'viommu') ? testDevCheckCache(u) : -EOPNOTSUPP;
    case IOMMU_TEST_OP.TRIGGER_VEVENT:
      return iommufdHas(u.ctx.k, 'veventq') ? testTriggerVevent(u) : -EOPNOTSUPP;
    case IOMMU_TEST_OP.PASID_ATTACH:
      return iommufdHas(u.ctx.k, 'veventq') ? testPasidAttach(u) : -EOPNOTSUPP;
    case IOMMU_TEST_OP.PASID_REPLACE:
      return iommufdHas(u.ctx.k, 'veventq') ? testPasidReplace(u) : -EOPNOTSUPP;
    case IOMMU_TEST_OP.PASID_DETACH:
      return iommufdHas(u.ctx.k, 'veventq') ? testPasidDetach(u) : -EOPNOTSUPP;
    case IOMMU_TEST_OP.PASID_CHECK_HWPT:
      return iommufdHas(u.ctx.k, 'veventq') ? testPasidCheckHwpt(u) : -EOPNOTSUPP;
    case IOMMU_TEST_OP.CREATE_ACCESS:
      return testCreateAccess(u);
    case IOMMU_TEST_OP.ACCESS_REPLACE_IOAS:
      return testAccessReplaceIoas(u);
    case IOMMU_TEST_OP.ACCESS_PAGES:
      return testAccessPages(u);
    case IOMMU_TEST_OP.DESTROY_ACCESS_PAGES:
      return testDestroyAccessPages(u);
    case IOMMU_TEST_OP.ACCESS_RW:
      return testAccessRw(u);
    case IOMMU_TEST_OP.SET_TEMP_MEMORY_LIMIT: {
      // Only caps the kernel's internal batch buffers; it cannot be below one element.
      const c = decode(testCmds.memory_limit, u.bytes);
      if (n32(c.limit) < 8 + 4) return -EINVAL;
      u.ctx.testMemoryLimit = n32(c.limit);
      return 0;
    }
    default:
      return -EOPNOTSUPP;
  }
}
