// SPDX-License-Identifier: GPL-2.0-only
// IOMMU_IOAS_MAP_FILE and IOMMU_IOAS_CHANGE_PROCESS through /dev/iommu
// (v6.13/v6.14 on), re-expressing the selftest's file variants
// (iommufd_mock_domain basic with a memfd: check_mock_iova against the
// memfd's mapping, beyond-EOF and truncated files) and what a live update
// does: a second process takes over the accounting of file mappings.
import { describe, expect, it } from 'vitest';
import { EBADF, EINVAL, ENOMEM, ENOTTY, EOPNOTSUPP, EOVERFLOW } from '../../src/kernel/errno.js';
import { UserProcess } from '../../src/mm/user-mm.js';
import { ioctlNumber, pack, structs } from '../../src/iommufd/uapi.js';
import { MOCK_APERTURE_START } from '../../src/pgtable/formats/iommufd-mock.js';
import { IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_FAULT_ID_VALID } from '../../src/iommufd/hw-pagetable.js';
import type { ProfileName } from '../../src/profile/profile.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';
import { mockMachine } from '../support/iommufd.js';

const P = 4096;
const BUF = 16 * P;

/** The selftest's globals: a memfd of BUF bytes and its shared mapping (mfd, mfd_buffer). */
function withMemfd(profile: ProfileName = 'v6.18') {
  const m = mockMachine({ profile });
  expect(m.loaded).toBe(0);
  const fd = m.fd!;
  const mfd = m.proc.memfdCreate('buffer');
  expect(m.proc.ftruncate(mfd, BUF)).toBe(0);
  const mfdBuffer = m.proc.mmapFile(mfd, BUF, 0);
  expect(mfdBuffer).toBeGreaterThan(0);
  const ioas = fd.ioasAlloc().id;
  return { ...m, fd, mfd, mfdBuffer, ioas };
}

describe('IOMMU_IOAS_MAP_FILE', () => {
  it('basic (file variant): the mock domain maps the memfd pages the process sees; EOF and truncation', () => {
    const { fd, proc, mfd, mfdBuffer, ioas } = withMemfd();
    const dev = fd.mockDomain(ioas);
    expect(dev.errno).toBe(0);
    const m = fd.ioasMapFile({ ioasId: ioas, fd: mfd, start: 0, length: P });
    expect(m.errno).toBe(0);
    expect(fd.checkMap(dev.hwptId, m.iova, P, mfdBuffer)).toBe(0);
    // The pins are on the memfd's pages, as the process's mapping of it sees them.
    expect(fd.checkRefs(mfdBuffer, P, 1)).toBe(0);
    expect(fd.checkRefs(mfdBuffer + P, P, 0)).toBe(0);
    const tmp = proc.memfdCreate('tmp');
    expect(proc.ftruncate(tmp, BUF)).toBe(0);
    expect(fd.ioasMapFile({ ioasId: ioas, fd: tmp, start: 0, length: BUF + 1 }).errno).toBe(-EINVAL);
    expect(proc.ftruncate(tmp, 0)).toBe(0);
    expect(fd.ioasMapFile({ ioasId: ioas, fd: tmp, start: 0, length: BUF }).errno).toBe(-EINVAL);
    expect(fd.ioasUnmap(ioas, m.iova, P).errno).toBe(0);
    expect(fd.checkRefs(mfdBuffer, BUF, 0)).toBe(0);
  });

  it('argument checks in the kernel order; without a domain nothing is pinned until one comes', () => {
    const { fd, proc, mfd, ioas } = withMemfd();
    const call = (v: Record<string, number | bigint>) =>
      fd.call('IOMMU_IOAS_MAP_FILE', 'ioas_map_file', { flags: 3, ioas_id: ioas, fd: mfd, length: P, ...v })
        .errno;
    expect(call({ flags: 1 << 3 })).toBe(-EOPNOTSUPP);
    expect(call({ iova: 2n ** 64n - 1n, flags: 7 })).toBe(-EOVERFLOW);
    expect(call({ flags: 0 })).toBe(-EINVAL);
    expect(call({ ioas_id: 99 })).toBe(-2);
    expect(call({ fd: 99 })).toBe(-EBADF);
    expect(call({ fd: -1 })).toBe(-EBADF);
    expect(call({ length: 0 })).toBe(-EINVAL);
    expect(call({ start: 2n ** 64n - 2n })).toBe(-EOVERFLOW);
    // Lazy: past the end of the file, and a file that is not a memfd, map while no domain needs the pages.
    const A = MOCK_APERTURE_START; // inside the mock's aperture, or the attach would be -EADDRINUSE
    const late = fd.ioasMapFile({ ioasId: ioas, fd: mfd, start: BUF, length: P, iova: A });
    expect(late.errno).toBe(0);
    const notMemfd = fd.ioasMapFile({ ioasId: ioas, fd: fd.file.fd, start: 0, length: P, iova: A + P });
    expect(notMemfd.errno).toBe(0);
    // A domain then cannot pin them.
    expect(fd.mockDomain(ioas).errno).toBe(-EINVAL);
    expect(fd.ioasUnmap(ioas, late.iova, P).errno).toBe(0);
    expect(fd.mockDomain(ioas).errno).toBe(-EINVAL);
    expect(fd.ioasUnmap(ioas, notMemfd.iova, P).errno).toBe(0);
    expect(fd.mockDomain(ioas).errno).toBe(0);
    // The file outlives its descriptor while a mapping holds it.
    const m = fd.ioasMapFile({ ioasId: ioas, fd: mfd, start: 2 * P, length: P });
    expect(proc.close(mfd)).toBe(0);
    expect(fd.ioasMapFile({ ioasId: ioas, fd: mfd, start: 0, length: P }).errno).toBe(-EBADF);
    expect(fd.ioasUnmap(ioas, m.iova, P).errno).toBe(0);
  });

  it('an access reads and writes the file pages that the memfd mapping shows', () => {
    const { fd, proc, mfd, mfdBuffer, ioas } = withMemfd();
    const m = fd.ioasMapFile({ ioasId: ioas, fd: mfd, start: 3 * P, length: 2 * P, iova: 0x10000 });
    expect(m).toEqual({ errno: 0, iova: 0x10000n });
    const acc = fd.createAccess(ioas, false);
    const src = proc.mmap(P);
    proc.write(src, new Uint8Array([1, 2, 3, 4]));
    expect(fd.accessRw(acc.fd, 0x10000 + P - 2, 4, src, 1)).toBe(0); // MOCK_ACCESS_RW_WRITE, across a page
    expect(proc.read(mfdBuffer + 4 * P - 2, 4)).toEqual(new Uint8Array([1, 2, 3, 4]));
    proc.write(mfdBuffer + 3 * P, new Uint8Array([9, 8]));
    const dst = proc.mmap(P);
    expect(fd.accessRw(acc.fd, 0x10000, 2, dst)).toBe(0);
    expect(proc.read(dst, 2)).toEqual(new Uint8Array([9, 8]));
  });

  it('6.12 has no MAP_FILE (-ENOTTY)', () => {
    const { fd, mfd, ioas } = withMemfd('v6.12');
    expect(fd.ioasMapFile({ ioasId: ioas, fd: mfd, start: 0, length: P }).errno).toBe(-ENOTTY);
  });
});

describe('IOMMU_IOAS_CHANGE_PROCESS', () => {
  it('a new process takes over the accounting of file mappings; user mappings refuse the move', () => {
    const { fd, proc, mfd, ioas } = withMemfd();
    expect(fd.mockDomain(ioas).errno).toBe(0);
    const next = new UserProcess(proc.k);
    // Nothing mapped: nothing to move.
    expect(fd.changeProcess(next)).toBe(0);
    expect(fd.ioasMapFile({ ioasId: ioas, fd: mfd, start: 0, length: 4 * P }).errno).toBe(0);
    expect(proc.accounting).toEqual({ userLockedVm: 4, mmLockedVm: 0, mmPinnedVm: 4 });
    // A mapping of user memory ties the IOAS to its address space.
    const buf = proc.mmap(P);
    const user = fd.ioasMap({ ioasId: ioas, userVa: buf, length: P });
    expect(user.errno).toBe(0);
    expect(fd.changeProcess(next)).toBe(-EINVAL);
    expect(fd.ioasUnmap(ioas, user.iova, P).errno).toBe(0);
    // Over the new process's RLIMIT_MEMLOCK: nothing changes.
    next.rlimitMemlock = 3 * P;
    expect(fd.changeProcess(next)).toBe(-ENOMEM);
    expect(proc.accounting).toEqual({ userLockedVm: 4, mmLockedVm: 0, mmPinnedVm: 4 });
    expect(next.accounting).toEqual({ userLockedVm: 0, mmLockedVm: 0, mmPinnedVm: 0 });
    next.rlimitMemlock = 8 << 20;
    expect(fd.changeProcess(next)).toBe(0);
    expect(proc.accounting).toEqual({ userLockedVm: 0, mmLockedVm: 0, mmPinnedVm: 0 });
    expect(next.accounting).toEqual({ userLockedVm: 4, mmLockedVm: 0, mmPinnedVm: 4 });
    // Unpinning now gives back to the new owner.
    fd.close();
    expect(next.accounting).toEqual({ userLockedVm: 0, mmLockedVm: 0, mmPinnedVm: 0 });
  });

  it('__reserved is -EOPNOTSUPP; 6.12 has no such command', () => {
    const { fd } = withMemfd();
    const b = pack(structs.ioas_change_process, { __reserved: 1 });
    expect(fd.file.ioctl(ioctlNumber('IOMMU_IOAS_CHANGE_PROCESS'), b)).toBe(-EOPNOTSUPP);
    const old = withMemfd('v6.12');
    expect(old.fd.changeProcess(new UserProcess(old.k))).toBe(-ENOTTY);
  });
});

describe('MAP_FILE fail-nth', () => {
  it('every allocation and lookup of a file-mapping body can fail without a leak or a pin left', () => {
    const body = (failNth?: number) => {
      const m = mockMachine({ profile: 'v6.18', failNth });
      const fd = m.fd;
      if (fd && m.loaded === 0) {
        const proc = m.proc;
        const mfd = proc.memfdCreate('buf');
        proc.ftruncate(mfd, BUF);
        const ioas = fd.ioasAlloc().id;
        fd.mockDomain(ioas);
        const a = fd.ioasMapFile({ ioasId: ioas, fd: mfd, start: 0, length: 4 * P });
        const acc = fd.createAccess(ioas, true);
        fd.accessPages(acc.fd, a.iova, P, 0);
        fd.changeProcess(new UserProcess(m.k));
        if (acc.fd > 0) proc.close(acc.fd);
        fd.close();
        proc.close(mfd);
        expect(proc.accounting.mmPinnedVm).toBe(0);
      } else fd?.close();
      return m.k;
    };
    const total = body().alloc.attempts;
    const { injected } = expectCleanUnwinds((n) => finishRun(body(n)), total);
    expect(injected).toBeGreaterThan(0);
  });
});

describe('MAP_FILE holds its file', () => {
  it('any file mapped stays open after its descriptor is closed, until the mapping goes', () => {
    const { fd, proc, ioas } = withMemfd();
    const fault = fd.faultAlloc();
    const m = fd.ioasMapFile({ ioasId: ioas, fd: fault.fd, start: 0, length: P });
    expect(m.errno).toBe(0);
    expect(proc.close(fault.fd)).toBe(0);
    // The fault file is still open (the pages object holds it), so it still holds its object.
    expect(fd.destroy(fault.id)).toBe(-16); // -EBUSY
    expect(fd.ioasUnmap(ioas, m.iova, P).errno).toBe(0);
    expect(fd.destroy(fault.id)).toBe(0);
  });
});

describe('paging HWPTs with a fault queue', () => {
  it('v6.18 takes IOMMU_HWPT_FAULT_ID_VALID on a paging HWPT (not with NEST_PARENT); v6.15 refuses it', () => {
    for (const profile of ['v6.15', 'v6.18'] as const) {
      const { fd, ioas } = withMemfd(profile);
      const dev = fd.mockDomain(ioas);
      const fault = fd.faultAlloc();
      const call = (flags: number) =>
        fd.call('IOMMU_HWPT_ALLOC', 'hwpt_alloc', {
          flags,
          dev_id: dev.idevId,
          pt_id: ioas,
          fault_id: fault.id,
        });
      const r = call(IOMMU_HWPT_FAULT_ID_VALID);
      expect(r.errno).toBe(profile === 'v6.18' ? 0 : -EOPNOTSUPP);
      expect(call(IOMMU_HWPT_FAULT_ID_VALID | IOMMU_HWPT_ALLOC_NEST_PARENT).errno).toBe(-EOPNOTSUPP);
      if (profile === 'v6.18') {
        // The HWPT holds the fault queue.
        expect(fd.destroy(fault.id)).toBe(-16);
        expect(fd.destroy(Number(r.out.out_hwpt_id))).toBe(0);
      }
    }
  });
});
