// SPDX-License-Identifier: GPL-2.0-only
// The kernel's own iommufd selftests (tools/testing/selftests/iommu/iommufd.c
// in the 6.12 tree), re-expressed against the model: the iommufd_ioas
// fixture (no_domain and mock_domain variants) and the iommufd_mock_domain
// fixture (one or two mock domains, 4K or huge-page buffers), test by test,
// with the helpers of iommufd_utils.h under their own names. Tests that need
// fork() or file-backed mappings (fork_gone, fork_present, ro_unshare) are
// not here: the modelled process has neither.
import { describe, expect, it } from 'vitest';
import { EADDRINUSE, EBUSY, EFAULT, EINVAL, ENOENT, EOPNOTSUPP } from '../../src/kernel/errno.js';
import type { Iommufd } from '../../src/iommufd/api.js';
import { IOMMU_HWPT_ALLOC_NEST_PARENT } from '../../src/iommufd/hw-pagetable.js';
import { IOMMU_OPTION_HUGE_PAGES, U64_MAX } from '../../src/iommufd/uapi.js';
import type { UserProcess } from '../../src/mm/user-mm.js';
import { MOCK_APERTURE_START } from '../../src/pgtable/formats/iommufd-mock.js';
import { mockMachine } from '../support/iommufd.js';

const PAGE_SIZE = 4096;
const MOCK_PAGE_SIZE = 2048;
const HUGEPAGE_SIZE = 2 * 1024 * 1024;
const BUFFER_SIZE = 16 * PAGE_SIZE;

/** The helpers of iommufd_utils.h, each asserting success as its test_* macro does. */
function utils(fd: Iommufd, proc: UserProcess, ioasId: () => number) {
  return {
    test_ioctl_ioas_alloc: () => {
      const r = fd.ioasAlloc();
      expect(r.errno).toBe(0);
      expect(r.id).not.toBe(0);
      return r.id;
    },
    test_ioctl_ioas_map: (buf: number, len: number) => {
      const r = fd.ioasMap({ ioasId: ioasId(), userVa: buf, length: len });
      expect(r.errno).toBe(0);
      return r.iova;
    },
    test_ioctl_ioas_map_id: (id: number, buf: number, len: number) => {
      const r = fd.ioasMap({ ioasId: id, userVa: buf, length: len });
      expect(r.errno).toBe(0);
      return r.iova;
    },
    test_err_ioctl_ioas_map: (errno: number, buf: number, len: number) =>
      expect(fd.ioasMap({ ioasId: ioasId(), userVa: buf, length: len }).errno).toBe(-errno),
    test_ioctl_ioas_map_fixed: (buf: number, len: number, iova: number) =>
      expect(fd.ioasMap({ ioasId: ioasId(), userVa: buf, length: len, iova }).errno).toBe(0),
    test_err_ioctl_ioas_map_fixed: (errno: number, buf: number, len: number, iova: number) =>
      expect(fd.ioasMap({ ioasId: ioasId(), userVa: buf, length: len, iova }).errno).toBe(-errno),
    test_ioctl_ioas_unmap: (iova: bigint | number, len: number) =>
      expect(fd.ioasUnmap(ioasId(), iova, len).errno).toBe(0),
    test_err_ioctl_ioas_unmap: (errno: number, iova: number, len: number) =>
      expect(fd.ioasUnmap(ioasId(), iova, len).errno).toBe(-errno),
    test_ioctl_destroy: (id: number) => expect(fd.destroy(id)).toBe(0),
    test_cmd_mock_domain: (ptId: number) => {
      const r = fd.mockDomain(ptId);
      expect(r.errno).toBe(0);
      return r;
    },
    test_cmd_mock_domain_replace: (stdev: number, ptId: number) =>
      expect(fd.mockDomainReplace(stdev, ptId).errno).toBe(0),
    test_err_mock_domain_replace: (errno: number, stdev: number, ptId: number) =>
      expect(fd.mockDomainReplace(stdev, ptId).errno).toBe(-errno),
    test_cmd_hwpt_alloc: (dev: number, pt: number, flags: number) => {
      const r = fd.hwptAlloc(dev, pt, flags);
      expect(r.errno).toBe(0);
      return r.id;
    },
    test_cmd_create_access: (ioas: number) => {
      const r = fd.createAccess(ioas, true);
      expect(r.errno).toBe(0);
      return r.fd;
    },
    test_cmd_destroy_access: (accessFd: number) => expect(proc.close(accessFd)).toBe(0),
    test_cmd_destroy_access_pages: (accessFd: number, item: number) =>
      expect(fd.destroyAccessPages(accessFd, item)).toBe(0),
    check_refs: (buf: number, len: number, refs: number) => expect(fd.checkRefs(buf, len, refs)).toBe(0),
  };
}

/** teardown_iommufd(): close, and a new fd sees no page of `buffer` pinned. */
function teardown(fd: Iommufd, proc: UserProcess, buffer: number): void {
  fd.close();
  const again = mockMachineFd(fd, proc);
  expect(again.checkRefs(buffer, BUFFER_SIZE, 0)).toBe(0);
  again.close();
}
const mockMachineFd = (fd: Iommufd, proc: UserProcess): Iommufd =>
  (fd.constructor as typeof Iommufd).open(fd.file.ctx.k, proc) as Iommufd;

describe.each([
  ['no_domain', 0],
  ['mock_domain', 1],
])('iommufd_ioas (%s)', (_variant, mockDomains) => {
  /** FIXTURE_SETUP(iommufd_ioas) */
  const setup = () => {
    const m = mockMachine();
    expect(m.loaded).toBe(0);
    const fd = m.fd!;
    const self = { fd, proc: m.proc, ioas_id: 0, stdev_id: 0, hwpt_id: 0, device_id: 0, base_iova: 0 };
    const u = utils(fd, m.proc, () => self.ioas_id);
    self.ioas_id = u.test_ioctl_ioas_alloc();
    for (let i = 0; i < mockDomains; i++) {
      const r = u.test_cmd_mock_domain(self.ioas_id);
      self.stdev_id = r.stdevId;
      self.hwpt_id = r.hwptId;
      self.device_id = r.idevId;
      self.base_iova = MOCK_APERTURE_START;
    }
    // The selftests' global buffer: BUFFER_SIZE of shared anonymous memory, 2 MiB aligned.
    const buffer = m.proc.mmap(HUGEPAGE_SIZE, { hugePages: true });
    return { ...self, u, buffer };
  };

  it('ioas_auto_destroy', () => {
    const s = setup();
    teardown(s.fd, s.proc, s.buffer);
  });

  it('ioas_destroy', () => {
    const s = setup();
    if (s.stdev_id) expect(s.fd.destroy(s.ioas_id)).toBe(-EBUSY);
    else s.u.test_ioctl_destroy(s.ioas_id);
  });

  it('hwpt_attach', () => {
    const s = setup();
    if (s.stdev_id) s.u.test_cmd_mock_domain(s.hwpt_id);
    else expect(s.fd.mockDomain(s.hwpt_id).errno).toBe(-ENOENT);
  });

  it('ioas_area_destroy', () => {
    const s = setup();
    s.u.test_ioctl_ioas_map_fixed(s.buffer, PAGE_SIZE, s.base_iova);
    if (s.stdev_id) expect(s.fd.destroy(s.ioas_id)).toBe(-EBUSY);
    else s.u.test_ioctl_destroy(s.ioas_id);
  });

  it('ioas_area_auto_destroy', () => {
    const s = setup();
    for (let i = 0; i < 10; i++)
      s.u.test_ioctl_ioas_map_fixed(s.buffer, PAGE_SIZE, s.base_iova + i * PAGE_SIZE);
    teardown(s.fd, s.proc, s.buffer);
  });

  it('unmap_fully_contained_areas', () => {
    const s = setup();
    s.base_iova += 4 * PAGE_SIZE;
    for (let i = 0; i < 4; i++)
      s.u.test_ioctl_ioas_map_fixed(s.buffer, 8 * PAGE_SIZE, s.base_iova + i * 16 * PAGE_SIZE);
    s.u.test_err_ioctl_ioas_unmap(ENOENT, s.base_iova - 4 * PAGE_SIZE, 8 * PAGE_SIZE);
    s.u.test_err_ioctl_ioas_unmap(
      ENOENT,
      s.base_iova + 3 * 16 * PAGE_SIZE + 8 * PAGE_SIZE - 4 * PAGE_SIZE,
      8 * PAGE_SIZE,
    );
    const r = s.fd.ioasUnmap(
      s.ioas_id,
      s.base_iova - 4 * PAGE_SIZE,
      3 * 16 * PAGE_SIZE + 8 * PAGE_SIZE + 4 * PAGE_SIZE,
    );
    expect(r).toEqual({ errno: 0, length: BigInt(32 * PAGE_SIZE) });
  });

  it('access_domain_destory: an unpin across a huge page boundary after the domain went', () => {
    const s = setup();
    const bufSize = 2 * HUGEPAGE_SIZE;
    const buf = s.proc.mmap(bufSize, { hugePages: true });
    s.u.test_ioctl_ioas_map_fixed(buf, bufSize, s.base_iova);
    const access = s.u.test_cmd_create_access(s.ioas_id);
    const item = s.fd.accessPages(access, s.base_iova + PAGE_SIZE, PAGE_SIZE, buf + PAGE_SIZE);
    expect(item.errno).toBe(0);
    if (s.stdev_id) s.u.test_ioctl_destroy(s.stdev_id);
    s.u.test_cmd_destroy_access_pages(access, item.id);
    s.u.test_cmd_destroy_access(access);
    teardown(s.fd, s.proc, s.buffer);
  });

  it('ioas_align_change', () => {
    const s = setup();
    if (mockDomains) return;
    const set = (val: bigint) => s.fd.option(IOMMU_OPTION_HUGE_PAGES, 'set', s.ioas_id, val).errno;
    s.u.test_ioctl_ioas_map_fixed(s.buffer, PAGE_SIZE, MOCK_APERTURE_START);
    expect(set(0n)).toBe(0);
    s.u.test_err_ioctl_ioas_map_fixed(
      EINVAL,
      s.buffer + MOCK_PAGE_SIZE,
      PAGE_SIZE,
      MOCK_APERTURE_START + PAGE_SIZE,
    );
    expect(set(0n)).toBe(0);
    expect(set(1n)).toBe(0);
    s.u.test_ioctl_ioas_map_fixed(s.buffer + MOCK_PAGE_SIZE, PAGE_SIZE, MOCK_APERTURE_START + PAGE_SIZE);
    expect(set(0n)).toBe(-EADDRINUSE);
    s.u.test_ioctl_ioas_unmap(MOCK_APERTURE_START + PAGE_SIZE, PAGE_SIZE);
    s.u.test_ioctl_ioas_unmap(MOCK_APERTURE_START, PAGE_SIZE);
  });
});

describe.each([
  ['one_domain', 1, false],
  ['two_domains', 2, false],
  ['one_domain_hugepage', 1, true],
  ['two_domains_hugepage', 2, true],
])('iommufd_mock_domain (%s)', (_variant, mockDomains, hugepages) => {
  /** FIXTURE_SETUP(iommufd_mock_domain) */
  const setup = () => {
    const m = mockMachine();
    expect(m.loaded).toBe(0);
    const fd = m.fd!;
    const self = {
      ioas_id: 0,
      stdev_ids: [] as number[],
      hwpt_ids: [] as number[],
      idev_ids: [] as number[],
    };
    const u = utils(fd, m.proc, () => self.ioas_id);
    self.ioas_id = u.test_ioctl_ioas_alloc();
    for (let i = 0; i < mockDomains; i++) {
      const r = u.test_cmd_mock_domain(self.ioas_id);
      self.stdev_ids.push(r.stdevId);
      self.hwpt_ids.push(r.hwptId);
      self.idev_ids.push(r.idevId);
    }
    const mmapBufSize = hugepages ? 2 * HUGEPAGE_SIZE : 8 * PAGE_SIZE;
    const mmap = () => m.proc.mmap(mmapBufSize, { hugePages: hugepages });
    const buffer = m.proc.mmap(HUGEPAGE_SIZE, { hugePages: true });
    /** check_mock_iova(): MD_CHECK_MAP on hwpt_ids[0], and on hwpt_ids[1] when there is one. */
    const check_mock_iova = (ptr: number, iova: bigint | number, len: number) => {
      expect(fd.checkMap(self.hwpt_ids[0], iova, len, ptr)).toBe(0);
      if (self.hwpt_ids[1]) expect(fd.checkMap(self.hwpt_ids[1], iova, len, ptr)).toBe(0);
    };
    /**
     * The all_aligns sweep: every start at `step` and every end at 2 KiB steps after it
     * (the hugepage variants start `end` at the buffer size, so their loops are empty).
     */
    const forEachAlign = (fn: (start: number, end: number) => void): number => {
      const step = hugepages ? mmapBufSize / 16 : MOCK_PAGE_SIZE;
      let n = 0;
      for (let start = 0; start < mmapBufSize; start += step)
        for (
          let end = hugepages ? mmapBufSize : start + MOCK_PAGE_SIZE;
          end < mmapBufSize;
          end += MOCK_PAGE_SIZE
        ) {
          fn(start, end);
          n++;
        }
      return n;
    };
    /** check_refs() over the CPU pages fully inside [start, end). */
    const checkRefsIn = (buf: number, start: number, end: number, refs: number) => {
      const first = Math.floor(start / PAGE_SIZE) * PAGE_SIZE;
      u.check_refs(buf + first, Math.floor(end / PAGE_SIZE) * PAGE_SIZE - first, refs);
    };
    return {
      ...self,
      fd,
      proc: m.proc,
      u,
      mmapBufSize,
      mmap,
      buffer,
      check_mock_iova,
      forEachAlign,
      checkRefsIn,
    };
  };

  it('basic: a one-page map; EFAULT half way through and on the first page', () => {
    const s = setup();
    const iova = s.u.test_ioctl_ioas_map(s.buffer, PAGE_SIZE);
    s.check_mock_iova(s.buffer, iova, PAGE_SIZE);
    const buf = s.mmap();
    expect(s.proc.munmap(buf + s.mmapBufSize / 2, s.mmapBufSize / 2)).toBe(0);
    s.u.test_err_ioctl_ioas_map(EFAULT, buf, s.mmapBufSize);
    expect(s.proc.munmap(buf, s.mmapBufSize / 2)).toBe(0);
    s.u.test_err_ioctl_ioas_map(EFAULT, buf, s.mmapBufSize);
  });

  it('all_aligns: every start and length at 2 KiB steps maps, checks, pins once, unmaps', () => {
    const s = setup();
    const buf = s.mmap();
    s.u.check_refs(buf, s.mmapBufSize, 0);
    const maps = s.forEachAlign((start, end) => {
      const length = end - start;
      const iova = s.u.test_ioctl_ioas_map(buf + start, length);
      s.check_mock_iova(buf + start, iova, length);
      s.checkRefsIn(buf, start, end, 1);
      s.u.test_ioctl_ioas_unmap(iova, length);
    });
    s.u.check_refs(buf, s.mmapBufSize, 0);
    expect(maps).toBe(hugepages ? 0 : 120);
  });

  it('all_aligns_copy: the same with a domain added and destroyed while each area exists', () => {
    const s = setup();
    const buf = s.mmap();
    s.forEachAlign((start, end) => {
      const length = end - start;
      const iova = s.u.test_ioctl_ioas_map(buf + start, length);
      const old = s.hwpt_ids[1];
      const r = s.u.test_cmd_mock_domain(s.ioas_id);
      s.hwpt_ids[1] = r.hwptId;
      s.check_mock_iova(buf + start, iova, length);
      s.checkRefsIn(buf, start, end, 1);
      s.u.test_ioctl_destroy(r.stdevId);
      s.hwpt_ids[1] = old;
      s.u.test_ioctl_ioas_unmap(iova, length);
    });
    s.u.check_refs(buf, s.mmapBufSize, 0);
  });

  it('user_copy: pages pinned through an access in a domain-less IOAS, copied into this one', () => {
    const s = setup();
    const ioasId = s.u.test_ioctl_ioas_alloc();
    let srcIova = s.u.test_ioctl_ioas_map_id(ioasId, s.buffer, BUFFER_SIZE);
    const access = s.u.test_cmd_create_access(ioasId);
    expect(s.fd.accessPages(access, srcIova, BUFFER_SIZE, s.buffer).errno).toBe(0);
    const copy = (src: number, from: bigint) =>
      s.fd.ioasCopy({
        srcIoasId: src,
        dstIoasId: s.ioas_id,
        srcIova: from,
        length: BUFFER_SIZE,
        dstIova: MOCK_APERTURE_START,
        readable: false,
      });
    expect(copy(ioasId, srcIova).errno).toBe(0);
    s.check_mock_iova(s.buffer, MOCK_APERTURE_START, BUFFER_SIZE);
    const newIoas = s.u.test_ioctl_ioas_alloc();
    srcIova = s.u.test_ioctl_ioas_map_id(newIoas, s.buffer, BUFFER_SIZE);
    expect(s.fd.accessReplaceIoas(access, newIoas)).toBe(0);
    s.u.test_ioctl_ioas_unmap(MOCK_APERTURE_START, BUFFER_SIZE);
    s.u.test_ioctl_destroy(ioasId);
    const item = s.fd.accessPages(access, srcIova, BUFFER_SIZE, s.buffer);
    expect(item.errno).toBe(0);
    expect(copy(newIoas, srcIova).errno).toBe(0);
    s.check_mock_iova(s.buffer, MOCK_APERTURE_START, BUFFER_SIZE);
    s.u.test_cmd_destroy_access_pages(access, item.id);
    s.u.test_cmd_destroy_access(access);
    s.u.test_ioctl_destroy(newIoas);
  });

  it('replace: onto a fresh IOAS frees the prior automatic HWPT when nothing else uses it', () => {
    const s = setup();
    const ioasId = s.u.test_ioctl_ioas_alloc();
    s.u.test_cmd_mock_domain_replace(s.stdev_ids[0], ioasId);
    if (mockDomains === 1) s.u.test_err_mock_domain_replace(ENOENT, s.stdev_ids[0], s.hwpt_ids[0]);
    s.u.test_cmd_mock_domain_replace(s.stdev_ids[0], ioasId);
    if (mockDomains >= 2) {
      s.u.test_cmd_mock_domain_replace(s.stdev_ids[0], s.hwpt_ids[1]);
      s.u.test_cmd_mock_domain_replace(s.stdev_ids[0], s.hwpt_ids[1]);
      s.u.test_cmd_mock_domain_replace(s.stdev_ids[0], s.hwpt_ids[0]);
    }
    s.u.test_cmd_mock_domain_replace(s.stdev_ids[0], s.ioas_id);
    s.u.test_ioctl_destroy(ioasId);
  });

  it('alloc_hwpt: unknown flags, a hw_pagetable rotation, a device straight onto a HWPT', () => {
    const s = setup();
    for (let i = 0; i < mockDomains; i++) {
      expect(s.fd.hwptAlloc(s.idev_ids[i], s.ioas_id, ~IOMMU_HWPT_ALLOC_NEST_PARENT >>> 0).errno).toBe(
        -EOPNOTSUPP,
      );
      const h0 = s.u.test_cmd_hwpt_alloc(s.idev_ids[i], s.ioas_id, 0);
      const h1 = s.u.test_cmd_hwpt_alloc(s.idev_ids[i], s.ioas_id, IOMMU_HWPT_ALLOC_NEST_PARENT);
      s.u.test_cmd_mock_domain_replace(s.stdev_ids[i], h0);
      expect(s.fd.destroy(h0)).toBe(-EBUSY);
      s.u.test_cmd_mock_domain_replace(s.stdev_ids[i], h1);
      expect(s.fd.destroy(h1)).toBe(-EBUSY);
      s.u.test_cmd_mock_domain_replace(s.stdev_ids[i], s.ioas_id);
      s.u.test_ioctl_destroy(h1);
      const dev = s.u.test_cmd_mock_domain(h0);
      s.u.test_ioctl_destroy(dev.stdevId);
      s.u.test_ioctl_destroy(h0);
    }
    // The fixture's teardown: everything released, nothing pinned.
    s.fd.ioasUnmap(s.ioas_id, 0n, U64_MAX);
    teardown(s.fd, s.proc, s.buffer);
  });
});
