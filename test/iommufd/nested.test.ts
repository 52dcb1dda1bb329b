// SPDX-License-Identifier: GPL-2.0-only
// Nested HWPTs through /dev/iommu, re-expressing the selftest's
// iommufd_ioas.hwpt_alloc_nested (iommufd.c): mock nested domains on a
// nest-parent HWPT, their four-slot IOTLB checked with MD_CHECK_IOTLB and
// cleared with IOMMU_HWPT_INVALIDATE (entry_num reports what was handled,
// also on failure), devices replaced between nested and paging HWPTs, and
// who holds whom.
import { describe, expect, it } from 'vitest';
import { EBUSY, EINVAL, ENOENT, EOPNOTSUPP } from '../../src/kernel/errno.js';
import {
  IOMMU_HWPT_DATA_SELFTEST,
  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
  IOMMU_TEST_INVALIDATE_FLAG_ALL,
  IOMMU_TEST_IOTLB_DEFAULT,
  MOCK_NESTED_DOMAIN_IOTLB_ID_MAX,
} from '../../src/drivers/iommufd-selftest/mock-domain.js';
import type { Iommufd } from '../../src/iommufd/api.js';
import type { IommufdDevice } from '../../src/iommufd/device.js';
import {
  IOMMU_HWPT_ALLOC_NEST_PARENT,
  IOMMU_HWPT_DATA_NONE,
  IOMMU_HWPT_FAULT_ID_VALID,
} from '../../src/iommufd/hw-pagetable.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';
import { mockDeviceOnIoas, mockMachine, u32 } from '../support/iommufd.js';

/** struct iommu_hwpt_invalidate_selftest { flags, iotlb_id } */
const inv = (flags: number, iotlbId: number) => {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, flags, true);
  dv.setUint32(4, iotlbId, true);
  return b;
};

const setup = (failNth?: number) => mockMachine({ failNth });

/** The iommufd_ioas fixture with one mock domain: an IOAS and a selftest device attached to it. */
const fixture = mockDeviceOnIoas;

const checkIotlbAll = (fd: Iommufd, hwpt: number, value: number) =>
  [0, 1, 2, 3].map((slot) => fd.checkIotlb(hwpt, slot, value));

describe('nested HWPTs on the mock', () => {
  it('hwpt_alloc_nested: allocation rules, the mock IOTLB, invalidation and replace', () => {
    const { fd, ioas, dev } = fixture();
    const idev = dev.idevId;
    const data = u32(IOMMU_TEST_IOTLB_DEFAULT);
    // A parent without NEST_PARENT cannot take a nested HWPT.
    const notParent = fd.hwptAlloc(idev, ioas, 0);
    expect(notParent.errno).toBe(0);
    expect(fd.hwptAllocData(idev, notParent.id, IOMMU_HWPT_DATA_SELFTEST, data).errno).toBe(-EINVAL);
    // An automatic HWPT is never a parent either.
    expect(fd.hwptAllocData(idev, dev.hwptId, IOMMU_HWPT_DATA_SELFTEST, data).errno).toBe(-EINVAL);

    const parent = fd.hwptAlloc(idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
    expect(parent.errno).toBe(0);
    // Data type NONE with data is EINVAL before anything; another type is the mock's EOPNOTSUPP.
    expect(fd.hwptAllocData(idev, parent.id, IOMMU_HWPT_DATA_NONE, data).errno).toBe(-EINVAL);
    expect(fd.hwptAllocData(idev, parent.id, 0x1234, data).errno).toBe(-EOPNOTSUPP);
    // Flags other than FAULT_ID_VALID; data of the wrong size.
    expect(
      fd.hwptAllocData(idev, parent.id, IOMMU_HWPT_DATA_SELFTEST, data, IOMMU_HWPT_ALLOC_NEST_PARENT).errno,
    ).toBe(-EOPNOTSUPP);
    expect(fd.hwptAllocData(idev, parent.id, IOMMU_HWPT_DATA_SELFTEST, new Uint8Array(8)).errno).toBe(
      -EINVAL,
    );
    expect(fd.hwptAllocData(idev, parent.id, IOMMU_HWPT_DATA_SELFTEST, new Uint8Array(2)).errno).toBe(
      -EINVAL,
    );
    // No fault queue exists to name.
    expect(
      fd.hwptAllocData(idev, parent.id, IOMMU_HWPT_DATA_SELFTEST, data, IOMMU_HWPT_FAULT_ID_VALID).errno,
    ).toBe(-ENOENT);

    const n0 = fd.hwptAllocData(idev, parent.id, IOMMU_HWPT_DATA_SELFTEST, data);
    const n1 = fd.hwptAllocData(idev, parent.id, IOMMU_HWPT_DATA_SELFTEST, data);
    expect([n0.errno, n1.errno]).toEqual([0, 0]);
    expect(checkIotlbAll(fd, n0.id, IOMMU_TEST_IOTLB_DEFAULT)).toEqual([0, 0, 0, 0]);
    expect(checkIotlbAll(fd, n1.id, IOMMU_TEST_IOTLB_DEFAULT)).toEqual([0, 0, 0, 0]);
    expect(fd.checkIotlb(n0.id, 4, IOMMU_TEST_IOTLB_DEFAULT)).toBe(-EINVAL);
    expect(fd.checkIotlb(parent.id, 0, IOMMU_TEST_IOTLB_DEFAULT)).toBe(-ENOENT);
    // No nested HWPT on a nested HWPT; the parent cannot go while it has children.
    expect(fd.hwptAllocData(idev, n0.id, IOMMU_HWPT_DATA_SELFTEST, data).errno).toBe(-EINVAL);
    expect(fd.destroy(parent.id)).toBe(-EBUSY);

    const T = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
    // Only nested HWPTs take invalidations; entry_num comes back 0.
    expect(fd.hwptInvalidate(parent.id, T, [inv(0, 0)], 8)).toEqual({ errno: -ENOENT, num: 0 });
    // A zero-length array checks only the data type.
    expect(fd.hwptInvalidate(n0.id, T, [], 8, 0)).toEqual({ errno: 0, num: 0 });
    expect(fd.hwptInvalidate(n0.id, 0xdadbeef, [], 8, 0)).toEqual({ errno: -EINVAL, num: 0 });
    expect(fd.hwptInvalidate(n0.id, 0xdadbeef, [inv(0, 0)], 8)).toEqual({ errno: -EINVAL, num: 0 });
    // Entry size: larger or smaller than the mock's struct.
    expect(fd.hwptInvalidate(n0.id, T, [new Uint8Array(9)], 9)).toEqual({ errno: -EINVAL, num: 0 });
    expect(fd.hwptInvalidate(n0.id, T, [inv(0, 0)], 1)).toEqual({ errno: -EINVAL, num: 0 });
    // Unknown flag; no pointer or no entry length with entries.
    expect(fd.hwptInvalidate(n0.id, T, [inv(0xffffffff, 0)], 8)).toEqual({ errno: -EOPNOTSUPP, num: 0 });
    expect(fd.hwptInvalidate(n0.id, T, [inv(0, 0)], 8, 1, false)).toEqual({ errno: -EINVAL, num: 0 });
    expect(fd.hwptInvalidate(n0.id, T, [inv(0, 0)], 0)).toEqual({ errno: -EINVAL, num: 0 });
    expect(fd.hwptInvalidate(n0.id, T, [inv(0, MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1)], 8)).toEqual({
      errno: -EINVAL,
      num: 0,
    });
    expect(checkIotlbAll(fd, n0.id, IOMMU_TEST_IOTLB_DEFAULT)).toEqual([0, 0, 0, 0]);
    // The first request handled, the second refused: entry_num 1, slot 0 cleared.
    expect(fd.hwptInvalidate(n0.id, T, [inv(0, 0), inv(0xffffffff, 1)], 8)).toEqual({
      errno: -EOPNOTSUPP,
      num: 1,
    });
    expect([0, 1, 2, 3].map((s) => fd.checkIotlb(n0.id, s, s === 0 ? 0 : IOMMU_TEST_IOTLB_DEFAULT))).toEqual([
      0, 0, 0, 0,
    ]);
    // Two slots, then everything with FLAG_ALL.
    expect(fd.hwptInvalidate(n0.id, T, [inv(0, 1), inv(0, 2)], 8)).toEqual({ errno: 0, num: 2 });
    expect([0, 1, 2, 3].map((s) => fd.checkIotlb(n0.id, s, s === 3 ? IOMMU_TEST_IOTLB_DEFAULT : 0))).toEqual([
      0, 0, 0, 0,
    ]);
    expect(fd.hwptInvalidate(n0.id, T, [inv(IOMMU_TEST_INVALIDATE_FLAG_ALL, 3)], 8)).toEqual({
      errno: 0,
      num: 1,
    });
    expect(checkIotlbAll(fd, n0.id, 0)).toEqual([0, 0, 0, 0]);
    expect(checkIotlbAll(fd, n1.id, IOMMU_TEST_IOTLB_DEFAULT)).toEqual([0, 0, 0, 0]);

    // The device moves onto n0 (which is then busy), then n1, then the parent, then back to the IOAS.
    const group = (fd.file.ctx.peek(idev, 'DEVICE') as IommufdDevice).dev.iommu_group!;
    expect(fd.mockDomainReplace(dev.stdevId, n0.id)).toEqual({ errno: 0, hwptId: n0.id });
    expect(group.domain?.type).toBe(64); // IOMMU_DOMAIN_NESTED
    expect(fd.destroy(n0.id)).toBe(-EBUSY);
    expect(fd.mockDomainReplace(dev.stdevId, n1.id).errno).toBe(0);
    expect(fd.destroy(n0.id)).toBe(0);
    expect(fd.destroy(n1.id)).toBe(-EBUSY);
    expect(fd.mockDomainReplace(dev.stdevId, parent.id).errno).toBe(0);
    expect(fd.destroy(n1.id)).toBe(0);
    expect(fd.mockDomainReplace(dev.stdevId, ioas).errno).toBe(0);
    expect(fd.destroy(parent.id)).toBe(0);
  });

  it('a device attached to a nested HWPT keeps the parent and its IOAS busy; close frees it all', () => {
    const { k, fd, ioas, dev } = fixture();
    const parent = fd.hwptAlloc(dev.idevId, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
    const nested = fd.hwptAllocData(dev.idevId, parent.id, IOMMU_HWPT_DATA_SELFTEST, u32(7));
    const other = fd.mockDomain(nested.id);
    expect(other).toMatchObject({ errno: 0, hwptId: nested.id });
    expect(fd.destroy(nested.id)).toBe(-EBUSY);
    expect(fd.destroy(parent.id)).toBe(-EBUSY);
    expect(fd.destroy(ioas)).toBe(-EBUSY);
    fd.close();
    expect(k.alloc.liveAllocations().filter((x) => /iommufd|mock_iommu|iopt/.test(x.type))).toEqual([]);
  });

  it('every allocation of a nested body can fail without a leak', () => {
    const body = (failNth?: number) => {
      const s = setup(failNth);
      if (s.fd && s.loaded === 0) {
        const fd = s.fd;
        const ioas = fd.ioasAlloc().id;
        const dev = fd.mockDomain(ioas);
        const parent = fd.hwptAlloc(dev.idevId, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
        const nested = fd.hwptAllocData(dev.idevId, parent.id, IOMMU_HWPT_DATA_SELFTEST, u32(7));
        fd.mockDomainReplace(dev.stdevId, nested.id);
        fd.hwptInvalidate(nested.id, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, [inv(0, 1)], 8);
        fd.close();
      } else s.fd?.close();
      return s.k;
    };
    const total = body().alloc.attempts;
    const { injected } = expectCleanUnwinds((n) => finishRun(body(n)), total);
    expect(injected).toBeGreaterThan(0);
  });
});
