// SPDX-License-Identifier: GPL-2.0-only
// Accesses through /dev/iommu, re-expressing the selftests' access tests
// (iommufd.c: access_pin, access_pin_unmap, check_access_rw): an access
// pins pages of an IOAS, items are dropped by unmaps, reads and writes go
// through the process's memory, the IOAS alignment follows pinning
// accesses, and closing the descriptors (in any order) releases everything.
import { describe, expect, it } from 'vitest';
import {
  EADDRINUSE,
  EBADE,
  EBADFD,
  EBUSY,
  EFAULT,
  EINVAL,
  ENOENT,
  ENOMEM,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
} from '../../src/kernel/errno.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { loadPlatform } from '../../src/platform/load.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { iommufd_test_init } from '../../src/drivers/iommufd-selftest/mock.js';
import { PROT_READ, UserProcess } from '../../src/mm/user-mm.js';
import { Iommufd } from '../../src/iommufd/api.js';
import {
  MOCK_ACCESS_RW_SLOW_PATH,
  MOCK_ACCESS_RW_WRITE,
  MOCK_FLAGS_ACCESS_SYZ,
  MOCK_FLAGS_ACCESS_WRITE,
} from '../../src/iommufd/selftest-access.js';
import { MOCK_APERTURE_START } from '../../src/pgtable/formats/iommufd-mock.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';

const P = 4096;
const BUFFER_SIZE = 16 * P;
const AS = MOCK_APERTURE_START;

function setup(failNth?: number) {
  const { desc, file } = loadPlatform('arm64-dt-smmuv3-mini');
  const { k } = bootPlatform(desc, { file, profile: 'v6.12', failNth });
  const loaded = iommufd_test_init(k);
  const proc = new UserProcess(k);
  const fd = Iommufd.open(k, proc);
  if (typeof fd === 'number') return { k, proc, fd: null, loaded, ioas: 0, buffer: 0 };
  const buffer = proc.mmap(BUFFER_SIZE);
  // Recognisable contents: byte i of the buffer is i mod 251.
  proc.write(
    buffer,
    Uint8Array.from({ length: BUFFER_SIZE }, (_, i) => i % 251),
  );
  return { k, proc, fd, loaded, ioas: fd.ioasAlloc().id, buffer };
}

type Setup = ReturnType<typeof setup> & { fd: Iommufd };
const ok = () => {
  const s = setup();
  expect(s.loaded).toBe(0);
  return s as Setup;
};

describe('access pins', () => {
  it('access_pin: single and double users, a domain added and removed under a pin, for 1..15 pages', () => {
    const { fd, proc, ioas, buffer } = ok();
    const acc = fd.createAccess(ioas);
    expect(acc.errno).toBe(0);
    expect(acc.fd).toBe(4); // the lowest free descriptor: 3 is /dev/iommu
    for (let npages = 1; npages < BUFFER_SIZE / P; npages++) {
      const len = npages * P;
      expect(fd.ioasMap({ ioasId: ioas, userVa: buffer, length: BUFFER_SIZE, iova: AS }).errno).toBe(0);
      const one = fd.accessPages(acc.fd, AS, len, buffer);
      expect(one.errno).toBe(0);
      expect(fd.checkRefs(buffer, len, 1)).toBe(0);
      expect(fd.destroyAccessPages(acc.fd, one.id)).toBe(0);
      expect(fd.checkRefs(buffer, BUFFER_SIZE, 0)).toBe(0);
      // Double user of the same range: one pin, two items.
      const a = fd.accessPages(acc.fd, AS, len, buffer);
      const b = fd.accessPages(acc.fd, AS, len, buffer);
      expect([a.errno, b.errno]).toEqual([0, 0]);
      expect(b.id).toBe(a.id + 1);
      expect(fd.checkRefs(buffer, len, 1)).toBe(0);
      expect(fd.destroyAccessPages(acc.fd, b.id)).toBe(0);
      expect(fd.destroyAccessPages(acc.fd, a.id)).toBe(0);
      // A domain added and removed while an access holds pages.
      const c = fd.accessPages(acc.fd, AS, len, buffer);
      const dom = fd.mockDomain(ioas);
      expect(dom.errno).toBe(0);
      expect(fd.checkMap(dom.hwptId, AS, BUFFER_SIZE, buffer)).toBe(0);
      expect(fd.checkRefs(buffer, len, 1)).toBe(0);
      expect(fd.destroy(dom.stdevId)).toBe(0);
      expect(fd.checkRefs(buffer, len, 1)).toBe(0);
      expect(fd.destroyAccessPages(acc.fd, c.id)).toBe(0);
      expect(fd.ioasUnmap(ioas, AS, BUFFER_SIZE).errno).toBe(0);
    }
    expect(proc.close(acc.fd)).toBe(0);
    expect(fd.checkRefs(buffer, BUFFER_SIZE, 0)).toBe(0);
    expect(proc.accounting.mmPinnedVm).toBe(0);
  });

  it('access_pin_unmap: an unmap drops the items it covers; their ids are then ENOENT', () => {
    const { fd, ioas, buffer } = ok();
    expect(fd.ioasMap({ ioasId: ioas, userVa: buffer, length: BUFFER_SIZE, iova: AS }).errno).toBe(0);
    const acc = fd.createAccess(ioas);
    const item = fd.accessPages(acc.fd, AS, BUFFER_SIZE, buffer);
    expect(item.errno).toBe(0);
    expect(fd.ioasUnmap(ioas, AS, BUFFER_SIZE)).toEqual({ errno: 0, length: BigInt(BUFFER_SIZE) });
    expect(fd.destroyAccessPages(acc.fd, item.id)).toBe(-ENOENT);
    expect(fd.checkRefs(buffer, BUFFER_SIZE, 0)).toBe(0);
  });

  it('the checks: lengths, flags, descriptors, alignment, permissions, holes, the user pages', () => {
    const { fd, proc, ioas, buffer } = ok();
    const ro = fd.ioasAlloc().id;
    expect(fd.ioasMap({ ioasId: ioas, userVa: buffer, length: BUFFER_SIZE, iova: AS }).errno).toBe(0);
    expect(
      fd.ioasMap({ ioasId: ro, userVa: buffer, length: BUFFER_SIZE, iova: AS, writeable: false }).errno,
    ).toBe(0);
    const acc = fd.createAccess(ioas);
    const nopin = fd.createAccess(ioas, false);
    const roAcc = fd.createAccess(ro);
    expect(fd.accessPages(acc.fd, AS, 16 * 1024 * 1024 + 1).errno).toBe(-ENOMEM);
    expect(fd.accessPages(acc.fd, AS, P, 0, 1 << 3).errno).toBe(-EOPNOTSUPP);
    expect(fd.accessPages(99, AS, P).errno).toBe(-EBADFD);
    expect(fd.accessPages(nopin.fd, AS, P).errno).toBe(-EOPNOTSUPP);
    expect(fd.accessPages(acc.fd, AS, 0).errno).toBe(-EINVAL);
    expect(fd.accessPages(acc.fd, (1n << 64n) - 4096n, 8192).errno).toBe(-EOVERFLOW);
    // Not page aligned in the user memory behind it.
    expect(fd.accessPages(acc.fd, AS + 16, P).errno).toBe(-EINVAL);
    // Past the mapping: a hole.
    expect(fd.accessPages(acc.fd, AS + BUFFER_SIZE - P, 2 * P).errno).toBe(-ENOENT);
    // Writing through a read-only mapping.
    expect(fd.accessPages(roAcc.fd, AS, P, 0, MOCK_FLAGS_ACCESS_WRITE).errno).toBe(-EPERM);
    expect(fd.accessPages(roAcc.fd, AS, P).errno).toBe(0);
    // The user pointer names other pages than those pinned: EBADE, and nothing stays pinned.
    expect(fd.accessPages(acc.fd, AS, P, buffer + P).errno).toBe(-EBADE);
    expect(fd.checkRefs(buffer + P, P, 0)).toBe(0);
    // Unknown item, a descriptor that is not an access.
    expect(fd.destroyAccessPages(acc.fd, 42)).toBe(-ENOENT);
    expect(fd.destroyAccessPages(0, 0)).toBe(-EBADFD);
    expect(proc.close(nopin.fd)).toBe(0);
    expect(fd.accessPages(nopin.fd, AS, P).errno).toBe(-EBADFD);
    expect(fd.createAccess(ioas, true).errno).toBe(0);
    expect(fd.testCmd('create_access', 5, { id: ioas, flags: 2 }).errno).toBe(-EOPNOTSUPP);
    expect(fd.createAccess(99).errno).toBe(-ENOENT);
  });

  it('an access that pins raises the IOAS alignment to a page; one that does not, does not', () => {
    const { fd, proc, ioas, buffer } = ok();
    expect(fd.iovaRanges(ioas).alignment).toBe(1n);
    const plain = fd.createAccess(ioas, false);
    expect(fd.iovaRanges(ioas).alignment).toBe(1n);
    const pin = fd.createAccess(ioas);
    expect(fd.iovaRanges(ioas).alignment).toBe(4096n);
    // An area at a sub-page offset in another IOAS cannot take a pinning access.
    const other = fd.ioasAlloc().id;
    expect(fd.ioasMap({ ioasId: other, userVa: buffer + 16, length: P, iova: AS + 16 }).errno).toBe(0);
    expect(fd.createAccess(other).errno).toBe(-EADDRINUSE);
    expect(fd.accessReplaceIoas(pin.fd, other)).toBe(-EADDRINUSE);
    expect(proc.close(pin.fd)).toBe(0);
    expect(fd.iovaRanges(ioas).alignment).toBe(1n);
    expect(proc.close(plain.fd)).toBe(0);
  });
});

describe('access reads and writes', () => {
  it('check_access_rw: every offset and length around page boundaries, fast and slow path, both ways', () => {
    const { fd, proc, ioas, buffer } = ok();
    expect(fd.ioasMap({ ioasId: ioas, userVa: buffer, length: BUFFER_SIZE, iova: AS }).errno).toBe(0);
    const acc = fd.createAccess(ioas, false);
    const tmp = proc.mmap(4 * P);
    for (const slow of [0, MOCK_ACCESS_RW_SLOW_PATH]) {
      for (const iova of [AS, AS + 1, AS + P - 1, AS + P + 5]) {
        for (const len of [1, 2, P - 1, P, P + 1, 2 * P + 3]) {
          // Read: the IOAS bytes land in tmp.
          expect(proc.write(tmp, new Uint8Array(len))).toBe(0);
          expect(fd.accessRw(acc.fd, iova, len, tmp, slow)).toBe(0);
          expect(proc.read(tmp, len)).toEqual(proc.read(buffer + (iova - AS), len));
          // Write: tmp's bytes land in the buffer behind the IOVA.
          const pattern = Uint8Array.from({ length: len }, (_, i) => (i * 7 + iova) & 0xff);
          expect(proc.write(tmp, pattern)).toBe(0);
          expect(fd.accessRw(acc.fd, iova, len, tmp, MOCK_ACCESS_RW_WRITE | slow)).toBe(0);
          expect(proc.read(buffer + (iova - AS), len)).toEqual(pattern);
        }
      }
    }
  });

  it('the checks: length, flags, descriptor, holes, permissions, user faults', () => {
    const { fd, proc, ioas, buffer } = ok();
    expect(
      fd.ioasMap({ ioasId: ioas, userVa: buffer, length: BUFFER_SIZE, iova: AS, writeable: false }).errno,
    ).toBe(0);
    const acc = fd.createAccess(ioas, false);
    const tmp = proc.mmap(P);
    expect(fd.accessRw(acc.fd, AS, 16 * 1024 * 1024 + 1, tmp)).toBe(-ENOMEM);
    expect(fd.accessRw(acc.fd, AS, 1, tmp, 1 << 1)).toBe(-EOPNOTSUPP);
    expect(fd.accessRw(77, AS, 1, tmp)).toBe(-EBADFD);
    expect(fd.accessRw(acc.fd, AS, 0, tmp)).toBe(-EINVAL);
    expect(fd.accessRw(acc.fd, AS - 1, 2, tmp)).toBe(-ENOENT);
    expect(fd.accessRw(acc.fd, AS, 1, tmp, MOCK_ACCESS_RW_WRITE)).toBe(-EPERM);
    // The user buffer is not there: read copies out after the access read.
    expect(fd.accessRw(acc.fd, AS, 8, 0x10_0000_0000)).toBe(-EFAULT);
    const roBuf = proc.mmap(P, { prot: PROT_READ });
    expect(fd.accessRw(acc.fd, AS, 8, roBuf)).toBe(-EFAULT);
  });
});

describe('replace and teardown', () => {
  it('ACCESS_REPLACE_IOAS moves the access; its pins are dropped first; the old IOAS can then go', () => {
    const { fd, ioas, buffer } = ok();
    const other = fd.ioasAlloc().id;
    for (const id of [ioas, other])
      expect(fd.ioasMap({ ioasId: id, userVa: buffer, length: BUFFER_SIZE, iova: AS }).errno).toBe(0);
    const acc = fd.createAccess(ioas);
    const item = fd.accessPages(acc.fd, AS, P, buffer);
    expect(fd.destroy(ioas)).toBe(-EBUSY);
    expect(fd.accessReplaceIoas(acc.fd, 99)).toBe(-ENOENT);
    expect(fd.accessReplaceIoas(acc.fd, other)).toBe(0);
    expect(fd.destroyAccessPages(acc.fd, item.id)).toBe(-ENOENT);
    expect(fd.checkRefs(buffer, BUFFER_SIZE, 0)).toBe(0);
    expect(fd.destroy(ioas)).toBe(0);
    expect(fd.destroy(other)).toBe(-EBUSY);
    expect(fd.accessPages(acc.fd, AS, P, buffer).errno).toBe(0);
    expect(fd.accessReplaceIoas(33, other)).toBe(-EBADFD);
  });

  it('an open access keeps the context alive after /dev/iommu is closed; closing it releases everything', () => {
    const { k, fd, proc, ioas, buffer } = ok();
    expect(fd.ioasMap({ ioasId: ioas, userVa: buffer, length: BUFFER_SIZE, iova: AS }).errno).toBe(0);
    const acc = fd.createAccess(ioas);
    expect(fd.accessPages(acc.fd, AS, BUFFER_SIZE, buffer).errno).toBe(0);
    fd.close();
    expect(fd.file.ctx.isReleased).toBe(false);
    expect(proc.accounting.mmPinnedVm).toBe(16);
    expect(proc.close(acc.fd)).toBe(0);
    expect(fd.file.ctx.isReleased).toBe(true);
    expect(proc.accounting).toEqual({ userLockedVm: 0, mmLockedVm: 0, mmPinnedVm: 0 });
    expect(k.alloc.liveAllocations().filter((x) => /iommufd|iopt|access/.test(x.type))).toEqual([]);
  });
});

describe('fail-nth', () => {
  const body = (failNth?: number) => {
    const s = setup(failNth);
    const errnos: number[] = [];
    if (s.fd && s.loaded === 0) {
      const { fd, proc, ioas, buffer } = s;
      errnos.push(fd.ioasMap({ ioasId: ioas, userVa: buffer, length: BUFFER_SIZE, iova: AS }).errno);
      const dom = fd.mockDomain(ioas);
      errnos.push(dom.errno);
      const acc = fd.createAccess(ioas);
      errnos.push(acc.errno);
      errnos.push(fd.accessPages(acc.fd, AS, 4 * P, buffer).errno);
      errnos.push(fd.accessRw(acc.fd, AS + 1, 100, buffer + 8 * P));
      errnos.push(fd.ioasUnmap(ioas, AS, BUFFER_SIZE).errno);
      fd.close();
      if (acc.errno === 0) proc.close(acc.fd);
    } else if (s.fd) s.fd.close();
    return { k: s.k as Kernel, proc: s.proc, errnos };
  };

  it('every allocation of an access body can fail without a leak or a pin left', () => {
    const total = body().k.alloc.attempts;
    const { injected } = expectCleanUnwinds((n) => {
      const r = body(n);
      // EINVAL: a failed allocation in the mock device's probe leaves it without an IOMMU, which bind refuses.
      for (const e of r.errnos)
        expect([0, -ENOMEM, -ENOENT, -EBADFD, -EINVAL, -EFAULT], `fail-nth ${n}: ${r.errnos}`).toContain(e);
      expect(r.proc.accounting.mmPinnedVm, `fail-nth ${n}`).toBe(0);
      return finishRun(r.k);
    }, total);
    expect(injected).toBeGreaterThan(0);
  });
});

describe('syzkaller IOVAs (MOCK_FLAGS_ACCESS_SYZ)', () => {
  it('the IOVA is { nth_area, offset }: ACCESS_RW and ACCESS_PAGES reach that offset of that area', () => {
    const { fd, proc, ioas, buffer } = ok();
    proc.write(buffer + 2 * P + 8, new Uint8Array([7, 7]));
    expect(fd.ioasMap({ ioasId: ioas, userVa: buffer, length: P, iova: AS }).errno).toBe(0);
    expect(fd.ioasMap({ ioasId: ioas, userVa: buffer + 2 * P, length: P, iova: AS + 4 * P }).errno).toBe(0);
    const acc = fd.createAccess(ioas);
    const dst = proc.mmap(P);
    const syz = (nth: number, offset: number) => (BigInt(offset) << 32n) | BigInt(nth);
    // Area 1 (the second, at AS + 4P), offset 8: the bytes written at buffer + 2P + 8.
    expect(fd.accessRw(acc.fd, syz(1, 8), 2, dst, MOCK_FLAGS_ACCESS_SYZ)).toBe(0);
    expect(proc.read(dst, 2)).toEqual(new Uint8Array([7, 7]));
    // No third area: the IOVA becomes 0, which nothing maps.
    expect(fd.accessRw(acc.fd, syz(2, 0), 2, dst, MOCK_FLAGS_ACCESS_SYZ)).toBe(-ENOENT);
    const pages = fd.accessPages(acc.fd, syz(0, 0), P, buffer, MOCK_FLAGS_ACCESS_SYZ);
    expect(pages.errno).toBe(0);
    expect(fd.checkRefs(buffer, P, 1)).toBe(0);
    expect(fd.destroyAccessPages(acc.fd, pages.id)).toBe(0);
  });
});
