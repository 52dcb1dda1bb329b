// SPDX-License-Identifier: GPL-2.0-only
// PASID attach through /dev/iommu (v6.15 on), re-expressing the selftest's
// iommufd_device_pasid fixture (iommufd.c: pasid_attach): a PASID-capable
// mock device, HWPTs allocated with IOMMU_HWPT_ALLOC_PASID, the
// compatibility rules between the RID's HWPT and the PASIDs', attach /
// replace / detach on PASIDs checked against the core's pasid_array with
// PASID_CHECK_HWPT, the mock's fake error on PASID 1024, and page faults
// tagged with a PASID reaching that PASID's fault queue.
import { describe, expect, it } from 'vitest';
import { EBUSY, EINVAL, ENOENT, ENOMEM, EOPNOTSUPP } from '../../src/kernel/errno.js';
import {
  IOMMU_HWPT_DATA_SELFTEST,
  IOMMU_TEST_IOTLB_DEFAULT,
} from '../../src/drivers/iommufd-selftest/mock-domain.js';
import { MOCK_FLAGS_DEVICE_PASID } from '../../src/drivers/iommufd-selftest/mock-dev.js';
import type { Iommufd } from '../../src/iommufd/api.js';
import {
  IOMMU_HWPT_ALLOC_NEST_PARENT,
  IOMMU_HWPT_ALLOC_PASID,
  IOMMU_HWPT_FAULT_ID_VALID,
} from '../../src/iommufd/hw-pagetable.js';
import { IOMMU_TEST_OP } from '../../src/iommufd/uapi.js';
import type { ProfileName } from '../../src/profile/profile.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';
import { mockMachine, u32 } from '../support/iommufd.js';

/** _test_cmd_pasid_attach/_replace/_detach and test_cmd_pasid_check_hwpt on a selftest device. */
function pasidOps(fd: Iommufd, stdev: number) {
  return {
    attach: (pasid: number, pt: number) =>
      fd.testCmd('pasid_attach', IOMMU_TEST_OP.PASID_ATTACH, { id: stdev, pasid, pt_id: pt }).errno,
    replace: (pasid: number, pt: number) =>
      fd.testCmd('pasid_replace', IOMMU_TEST_OP.PASID_REPLACE, { id: stdev, pasid, pt_id: pt }).errno,
    detach: (pasid: number) =>
      fd.testCmd('pasid_detach', IOMMU_TEST_OP.PASID_DETACH, { id: stdev, pasid }).errno,
    check: (pasid: number, hwpt: number) =>
      fd.testCmd('pasid_check', IOMMU_TEST_OP.PASID_CHECK_HWPT, { id: stdev, pasid, hwpt_id: hwpt }).errno,
  };
}

/** FIXTURE_SETUP(iommufd_device_pasid): an IOAS and a PASID-capable mock device on it. */
function fixture(profile: ProfileName = 'v6.18', failNth?: number) {
  const m = mockMachine({ profile, failNth });
  if (!m.fd || m.loaded) return { m, f: null };
  const fd = m.fd;
  const ioas = fd.ioasAlloc().id;
  const dev = fd.mockDomain(ioas, MOCK_FLAGS_DEVICE_PASID);
  return { m, f: { ...m, fd, ioas, dev, p: pasidOps(fd, dev.stdevId) } };
}

const data = u32(IOMMU_TEST_IOTLB_DEFAULT);

describe.each(['v6.15', 'v6.18'] as const)('PASID attach on the mock (%s)', (profile) => {
  it('pasid_attach: compatibility with the RID, attach, EBUSY, replace, detach, the fake error, faults', () => {
    const { f } = fixture(profile);
    expect(f?.dev.errno).toBe(0);
    const { fd, ioas, dev, p } = f!;
    const idev = dev.idevId;
    const parent = fd.hwptAlloc(idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT).id;
    const nested0 = fd.hwptAllocData(idev, parent, IOMMU_HWPT_DATA_SELFTEST, data, IOMMU_HWPT_ALLOC_PASID).id;
    const nested1 = fd.hwptAllocData(idev, parent, IOMMU_HWPT_DATA_SELFTEST, data, IOMMU_HWPT_ALLOC_PASID).id;
    const fault = fd.faultAlloc();
    const iopf = fd.hwptAllocData(
      idev,
      parent,
      IOMMU_HWPT_DATA_SELFTEST,
      data,
      IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_PASID,
      fault.id,
    );
    expect(iopf.errno).toBe(0);
    const s2 = fd.hwptAlloc(idev, ioas, IOMMU_HWPT_ALLOC_PASID).id;
    expect([parent, nested0, nested1, s2].every((x) => x > 0)).toBe(true);
    let pasid = 100;

    // The RID on a HWPT that is not PASID-compatible: no PASID can attach.
    expect(fd.mockDomainReplace(dev.stdevId, parent).errno).toBe(0);
    expect(p.attach(pasid, s2)).toBe(-EINVAL);
    // The RID on a compatible one: the PASID attaches, and then the RID cannot go back.
    expect(fd.mockDomainReplace(dev.stdevId, s2).errno).toBe(0);
    expect(p.attach(pasid, nested0)).toBe(0);
    expect(fd.mockDomainReplace(dev.stdevId, parent).errno).toBe(-EINVAL);
    expect(p.detach(pasid)).toBe(0);
    expect(fd.mockDomainReplace(dev.stdevId, parent).errno).toBe(0);
    expect(fd.mockDomainReplace(dev.stdevId, s2).errno).toBe(0);

    // An IOAS gets an automatic HWPT, which is never PASID-compatible.
    expect(p.attach(pasid, ioas)).toBe(-EINVAL);
    expect(p.check(pasid, 0)).toBe(0);
    expect(p.attach(pasid, s2)).toBe(0);
    expect(p.check(pasid, s2)).toBe(0);
    expect(p.check(pasid, 0)).toBe(-EINVAL);
    expect(p.check(pasid, nested0)).toBe(-EINVAL);
    expect(p.check(pasid, 9999)).toBe(-ENOENT);
    // Attach does not overwrite: the device is already there.
    expect(p.attach(pasid, nested0)).toBe(-EBUSY);
    // A HWPT in use by a PASID is held.
    expect(fd.destroy(s2)).toBe(-EBUSY);
    expect(p.detach(pasid)).toBe(0);
    expect(p.check(pasid, 0)).toBe(0);
    // Detaching a PASID that is not attached is fine.
    expect(p.detach(pasid)).toBe(0);
    expect(p.attach(pasid, nested0)).toBe(0);
    expect(p.check(pasid, nested0)).toBe(0);
    expect(p.detach(pasid)).toBe(0);

    // Replace: only an attached PASID.
    pasid = 200;
    expect(p.replace(pasid, s2)).toBe(-EINVAL);
    expect(p.attach(pasid, s2)).toBe(0);
    expect(p.replace(pasid, nested0)).toBe(0);
    expect(p.check(pasid, nested0)).toBe(0);
    expect(p.replace(pasid, nested1)).toBe(0);
    expect(p.check(pasid, nested1)).toBe(0);
    // The old HWPT let go when replaced.
    expect(fd.destroy(nested0)).toBe(0);
    expect(p.replace(pasid, nested1)).toBe(0); // the same HWPT: nothing to do
    expect(p.detach(pasid)).toBe(0);
    expect(p.check(pasid, 0)).toBe(0);

    // PASID 1024: the mock fails every second set_dev_pasid, and the replace leaves the old domain.
    pasid = 1024;
    expect(p.attach(pasid, s2)).toBe(0);
    expect(p.replace(pasid, nested1)).toBe(-ENOMEM);
    expect(p.check(pasid, s2)).toBe(0);
    expect(p.detach(pasid)).toBe(0);
    expect(p.check(pasid, 0)).toBe(0);

    // A fault-capable HWPT on PASID 2048: a page request tagged with it reaches the fault queue.
    pasid = 2048;
    expect(p.attach(pasid, iopf.id)).toBe(0);
    expect(p.check(pasid, iopf.id)).toBe(0);
    expect(fd.triggerIopf(idev, { pasid, grpid: 2, perm: 3, addr: 0xdeadbeaf })).toBe(0);
    const buf = fd.proc.mmap(4096);
    expect(fd.proc.sysRead(fault.fd, buf, 40)).toBe(40); // one struct iommu_hwpt_pgfault
    const rec = new DataView((fd.proc.read(buf, 40) as Uint8Array).buffer);
    expect([rec.getUint32(4, true), rec.getUint32(8, true)]).toEqual([idev, pasid]);
    // Replacing the PASID answers what was not answered.
    expect(p.replace(pasid, parent)).toBe(-EINVAL); // not PASID-compatible
    expect(p.replace(pasid, nested1)).toBe(0);
    expect(p.detach(pasid)).toBe(0);
    expect(fd.destroy(iopf.id)).toBe(0);
    expect(fd.proc.close(fault.fd)).toBe(0);
    expect(fd.destroy(fault.id)).toBe(0);
    expect(fd.destroy(nested1)).toBe(0);
    expect(fd.destroy(parent)).toBe(0);
  });

  it('a device without MOCK_FLAGS_DEVICE_PASID has no PASIDs (-EINVAL); PASIDs left attached keep the device', () => {
    const { f } = fixture(profile);
    const { fd, ioas, dev, p } = f!;
    const s2 = fd.hwptAlloc(dev.idevId, ioas, IOMMU_HWPT_ALLOC_PASID).id;
    const plain = fd.mockDomain(ioas);
    const q = pasidOps(fd, plain.stdevId);
    expect(q.attach(1, s2)).toBe(-EINVAL);
    // The PASID width is 20 bits; the RID must be on a PASID-compatible HWPT first.
    expect(fd.hwInfo(dev.idevId).maxPasidLog2).toBe(20);
    expect(p.attach(1, s2)).toBe(-EINVAL);
    expect(fd.mockDomainReplace(dev.stdevId, s2).errno).toBe(0);
    expect(p.attach(2 ** 20, s2)).toBe(-EINVAL);
    expect(p.attach(2 ** 20 - 1, s2)).toBe(0);
    expect(p.detach(2 ** 20 - 1)).toBe(0);
  });
});

describe('PASID versions', () => {
  it('6.12 has none of it: the flag is -EOPNOTSUPP, the test ops too, and no PASID mock devices', () => {
    const m = mockMachine({ profile: 'v6.12' });
    const fd = m.fd!;
    const ioas = fd.ioasAlloc().id;
    expect(fd.mockDomain(ioas, MOCK_FLAGS_DEVICE_PASID).errno).toBe(-EINVAL);
    const dev = fd.mockDomain(ioas);
    expect(fd.hwptAlloc(dev.idevId, ioas, IOMMU_HWPT_ALLOC_PASID).errno).toBe(-EOPNOTSUPP);
    expect(pasidOps(fd, dev.stdevId).attach(1, ioas)).toBe(-EOPNOTSUPP);
  });
});

describe('PASID fail-nth', () => {
  it("every allocation and lookup of basic_fail_nth.device's PASID part can fail without a leak", () => {
    const body = (failNth?: number) => {
      const { m, f } = fixture('v6.18', failNth);
      if (f && f.dev.errno === 0) {
        const { fd, ioas, dev, p } = f;
        const ioas2 = fd.ioasAlloc().id;
        const s2 = fd.hwptAlloc(dev.idevId, ioas, IOMMU_HWPT_ALLOC_PASID);
        const s2b = fd.hwptAlloc(dev.idevId, ioas2, IOMMU_HWPT_ALLOC_PASID);
        fd.mockDomainReplace(dev.stdevId, s2.id);
        if (p.attach(200, s2.id) === 0) {
          p.replace(200, s2b.id);
          p.detach(200);
        }
        // FIXTURE_TEARDOWN(basic_fail_nth) detaches the PASID with fail-nth off: a PASID still attached
        // when the fd closes keeps the device (the kernel WARNs and leaks it). fail-nth fails one
        // lookup at most, so the second detach stands for that teardown.
        p.detach(200);
        p.detach(200);
        fd.close();
      } else m.fd?.close();
      return m.k;
    };
    const total = body().alloc.attempts;
    const { injected } = expectCleanUnwinds((n) => finishRun(body(n)), total);
    expect(injected).toBeGreaterThan(0);
  });
});
