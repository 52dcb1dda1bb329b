// SPDX-License-Identifier: GPL-2.0-only
// Dirty tracking and IOMMU_GET_HW_INFO through /dev/iommu, re-expressing the
// selftests' iommufd_dirty_tracking fixture and test_mock_dirty_bitmaps()
// (iommufd_utils.h): a dirty-tracking HWPT on the mock, IOMMU_TEST_OP_DIRTY
// marking entries, GET_DIRTY_BITMAP reading them into a user bitmap (and
// clearing them unless NO_CLEAR), and real device writes dirtying pages.
import { describe, expect, it } from 'vitest';
import { EFAULT, EINVAL, ENOENT, EOPNOTSUPP, EOVERFLOW, EPROTO } from '../../src/kernel/errno.js';
import { loadPlatform } from '../../src/platform/load.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { iommufd_test_init } from '../../src/drivers/iommufd-selftest/mock.js';
import {
  MOCK_FLAGS_DEVICE_HUGE_IOVA,
  MOCK_FLAGS_DEVICE_NO_DIRTY,
} from '../../src/drivers/iommufd-selftest/mock-dev.js';
import { UserProcess } from '../../src/mm/user-mm.js';
import { Iommufd } from '../../src/iommufd/api.js';
import type { IommufdDevice } from '../../src/iommufd/device.js';
import { IOMMU_HWPT_ALLOC_DIRTY_TRACKING } from '../../src/iommufd/hw-pagetable.js';
import { IOMMU_HW_CAP_DIRTY_TRACKING } from '../../src/iommufd/hw-info.js';
import { dmaWrite } from '../../src/dma/device-dma.js';
import { MOCK_APERTURE_START } from '../../src/pgtable/formats/iommufd-mock.js';

const MOCK_PAGE_SIZE = 2048;
const HUGE = 1024 * 1024;
const HP = 2 * 1024 * 1024;

/**
 * The iommufd_dirty_tracking fixture: a buffer mapped at MOCK_APERTURE_START,
 * a mock device for an idev, a dirty-tracking HWPT, a second mock device on it.
 */
function fixture(bufferSize: number, devFlags = 0) {
  const { desc, file } = loadPlatform('arm64-dt-smmuv3-mini');
  const { k } = bootPlatform(desc, { file, profile: 'v6.12' });
  expect(iommufd_test_init(k)).toBe(0);
  const proc = new UserProcess(k);
  const fd = Iommufd.open(k, proc) as Iommufd;
  const ioas = fd.ioasAlloc().id;
  const huge = bufferSize >= HP;
  const buffer = proc.mmap(Math.max(bufferSize, huge ? HP : 4096), { hugePages: huge });
  expect(
    fd.ioasMap({ ioasId: ioas, userVa: buffer, length: bufferSize, iova: MOCK_APERTURE_START }).errno,
  ).toBe(0);
  const first = fd.mockDomain(ioas, devFlags);
  expect(first.errno).toBe(0);
  const hwpt = fd.hwptAlloc(first.idevId, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
  expect(hwpt.errno).toBe(0);
  const dev = fd.mockDomain(hwpt.id, devFlags);
  expect(dev.errno).toBe(0);
  const nbits = bufferSize / MOCK_PAGE_SIZE;
  const bitmapBytes = Math.ceil(nbits / 64) * 8;
  const bitmap = proc.mmap(Math.max(4096, bitmapBytes));
  return { k, proc, fd, ioas, hwptId: hwpt.id, dev, bitmap, nbits, bitmapBytes };
}

type Fixture = ReturnType<typeof fixture>;

const bitsOf = (f: Fixture): boolean[] => {
  const bytes = f.proc.read(f.bitmap, f.bitmapBytes) as Uint8Array;
  return Array.from({ length: f.nbits }, (_, i) => (bytes[i >> 3] & (1 << (i & 7))) !== 0);
};
const zero = (f: Fixture) => f.proc.write(f.bitmap, new Uint8Array(f.bitmapBytes));

/** test_mock_dirty_bitmaps(): DIRTY on every pteset-th bit, then read back twice. */
function mockDirtyBitmaps(f: Fixture, pteSize: number, noClear: boolean): void {
  const npte = pteSize / MOCK_PAGE_SIZE;
  const pteset = 2 * npte;
  const nr = Math.max(1, Math.floor(f.nbits / pteset));
  const length = f.nbits * MOCK_PAGE_SIZE;
  zero(f);
  const set = new Uint8Array(f.bitmapBytes);
  for (let i = 0; i < f.nbits; i += pteset) set[i >> 3] |= 1 << (i & 7);
  f.proc.write(f.bitmap, set);
  const d = f.fd.mockDirty({
    hwptId: f.hwptId,
    iova: MOCK_APERTURE_START,
    length,
    pageSize: MOCK_PAGE_SIZE,
    bitmap: f.bitmap,
  });
  expect(d).toEqual({ errno: 0, nrDirty: nr });
  const read = () =>
    f.fd.getDirtyBitmap({
      hwptId: f.hwptId,
      iova: MOCK_APERTURE_START,
      length,
      pageSize: MOCK_PAGE_SIZE,
      data: f.bitmap,
      noClear,
    });
  const pattern = Array.from({ length: f.nbits }, (_, i) => i % pteset < npte);
  zero(f);
  expect(read()).toBe(0);
  expect(bitsOf(f)).toEqual(pattern);
  zero(f);
  expect(read()).toBe(0);
  expect(bitsOf(f)).toEqual(noClear ? pattern : pattern.map(() => false));
}

describe('dirty tracking on a mock HWPT', () => {
  it.each([
    [64 * 1024, false],
    [128 * 1024, true],
    [256 * 1024, false],
  ])('buffer %i bytes, NO_CLEAR %s: every second 2K page reads back dirty', (size, noClear) => {
    const f = fixture(size);
    expect(f.fd.setDirtyTracking(f.hwptId, true)).toBe(0);
    mockDirtyBitmaps(f, MOCK_PAGE_SIZE, noClear);
  });

  it('a huge-IOVA device’s domain reports whole 1 MiB pages', () => {
    const f = fixture(HP, MOCK_FLAGS_DEVICE_HUGE_IOVA);
    expect(f.fd.setDirtyTracking(f.hwptId, true)).toBe(0);
    mockDirtyBitmaps(f, HUGE, false);
  });

  it('a device write dirties its pages; turning tracking on starts from a clean snapshot', () => {
    const f = fixture(64 * 1024);
    const idev = f.fd.file.ctx.peek(f.dev.idevId, 'DEVICE') as IommufdDevice;
    // Written before tracking: cleared when it is turned on.
    expect(dmaWrite(f.k, idev.dev, MOCK_APERTURE_START + 3 * MOCK_PAGE_SIZE, Uint8Array.of(1)).ok).toBe(true);
    expect(f.fd.setDirtyTracking(f.hwptId, true)).toBe(0);
    expect(
      dmaWrite(f.k, idev.dev, MOCK_APERTURE_START + 5 * MOCK_PAGE_SIZE + 7, Uint8Array.of(1, 2)).ok,
    ).toBe(true);
    zero(f);
    const args = {
      hwptId: f.hwptId,
      iova: MOCK_APERTURE_START,
      length: 64 * 1024,
      pageSize: MOCK_PAGE_SIZE,
      data: f.bitmap,
    };
    expect(f.fd.getDirtyBitmap(args)).toBe(0);
    expect(bitsOf(f).flatMap((b, i) => (b ? [i] : []))).toEqual([5]);
    // A 4K bitmap granule: page 5 of 2K is in 4K page 2.
    zero(f);
    expect(dmaWrite(f.k, idev.dev, MOCK_APERTURE_START + 5 * MOCK_PAGE_SIZE, Uint8Array.of(1)).ok).toBe(true);
    expect(f.fd.getDirtyBitmap({ ...args, pageSize: 4096 })).toBe(0);
    expect(bitsOf(f).flatMap((b, i) => (b ? [i] : []))).toEqual([2]);
  });

  it('the checks, in 6.12’s order', () => {
    const f = fixture(64 * 1024);
    const base = {
      hwptId: f.hwptId,
      iova: MOCK_APERTURE_START,
      length: 64 * 1024,
      pageSize: MOCK_PAGE_SIZE,
      data: f.bitmap,
    };
    // Tracking off: the mock refuses to read into a bitmap.
    expect(f.fd.getDirtyBitmap(base)).toBe(-EINVAL);
    expect(f.fd.setDirtyTracking(f.hwptId, true)).toBe(0);
    expect(
      f.fd.call('IOMMU_HWPT_SET_DIRTY_TRACKING', 'hwpt_set_dirty_tracking', { hwpt_id: f.hwptId, flags: 2 })
        .errno,
    ).toBe(-EOPNOTSUPP);
    expect(f.fd.setDirtyTracking(f.ioas, true)).toBe(-ENOENT);
    expect(
      f.fd.call('IOMMU_HWPT_GET_DIRTY_BITMAP', 'hwpt_get_dirty_bitmap', { hwpt_id: f.hwptId, flags: 2 })
        .errno,
    ).toBe(-EOPNOTSUPP);
    expect(f.fd.getDirtyBitmap({ ...base, length: 0 })).toBe(-EINVAL);
    expect(f.fd.getDirtyBitmap({ ...base, iova: (1n << 64n) - 4096n, length: 8192 })).toBe(-EOVERFLOW);
    // Not whole IOAS pages (2K alignment), no page size, not whole bitmap pages.
    expect(f.fd.getDirtyBitmap({ ...base, iova: MOCK_APERTURE_START + 1024 })).toBe(-EINVAL);
    expect(f.fd.getDirtyBitmap({ ...base, pageSize: 0 })).toBe(-EINVAL);
    expect(f.fd.getDirtyBitmap({ ...base, pageSize: 64 * 1024, length: 32 * 1024 })).toBe(-EINVAL);
    // Past the mapped areas: not contiguous.
    expect(f.fd.getDirtyBitmap({ ...base, length: 128 * 1024 })).toBe(-EINVAL);
    // A 1 MiB huge page cannot go into a 2K-page bitmap shorter than it: EPROTO.
    const h = fixture(HP, MOCK_FLAGS_DEVICE_HUGE_IOVA);
    expect(h.fd.setDirtyTracking(h.hwptId, true)).toBe(0);
    const idev = h.fd.file.ctx.peek(h.dev.idevId, 'DEVICE') as IommufdDevice;
    expect(dmaWrite(h.k, idev.dev, MOCK_APERTURE_START, Uint8Array.of(1)).ok).toBe(true);
    expect(
      h.fd.getDirtyBitmap({
        hwptId: h.hwptId,
        iova: MOCK_APERTURE_START,
        length: 64 * 1024,
        pageSize: MOCK_PAGE_SIZE,
        data: h.bitmap,
      }),
    ).toBe(-EPROTO);
    // A bitmap that is not user memory: the bits are dropped, the call succeeds.
    expect(f.fd.getDirtyBitmap({ ...base, data: 0x10_0000_0000 })).toBe(0);
  });

  it('IOMMU_TEST_OP_DIRTY checks its arguments and the tracking state', () => {
    const f = fixture(64 * 1024);
    const d = (over: Partial<Parameters<Iommufd['mockDirty']>[0]>) =>
      f.fd.mockDirty({
        hwptId: f.hwptId,
        iova: MOCK_APERTURE_START,
        length: 64 * 1024,
        pageSize: MOCK_PAGE_SIZE,
        bitmap: f.bitmap,
        ...over,
      }).errno;
    expect(d({})).toBe(-EINVAL); // tracking off
    expect(f.fd.setDirtyTracking(f.hwptId, true)).toBe(0);
    expect(d({ pageSize: 0 })).toBe(-EINVAL);
    expect(d({ length: 0 })).toBe(-EINVAL);
    expect(d({ iova: MOCK_APERTURE_START + 1 })).toBe(-EINVAL);
    expect(d({ bitmap: 0 })).toBe(-EINVAL);
    expect(d({ length: 1n << 40n, pageSize: 1 })).toBe(-EOVERFLOW);
    expect(d({ hwptId: f.ioas })).toBe(-ENOENT);
    expect(d({ bitmap: 0x10_0000_0000 })).toBe(-EFAULT);
    expect(d({})).toBe(0);
  });

  it('dirty-tracking HWPTs need a device that can track; plain HWPTs have no dirty ops', () => {
    const f = fixture(64 * 1024);
    const nd = f.fd.mockDomain(f.ioas, MOCK_FLAGS_DEVICE_NO_DIRTY);
    expect(f.fd.hwptAlloc(nd.idevId, f.ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING).errno).toBe(-EOPNOTSUPP);
    const plain = f.fd.hwptAlloc(nd.idevId, f.ioas);
    expect(plain.errno).toBe(0);
    expect(f.fd.setDirtyTracking(plain.id, true)).toBe(-EOPNOTSUPP);
    expect(f.fd.setDirtyTracking(plain.id, false)).toBe(-EOPNOTSUPP);
  });
});

describe('IOMMU_GET_HW_INFO', () => {
  it('the mock reports its selftest struct, truncated to the user buffer and zero-filled past it', () => {
    const f = fixture(64 * 1024);
    const r = f.fd.hwInfo(f.dev.idevId, 16);
    expect(r).toMatchObject({
      errno: 0,
      type: 0xfeedbeef,
      dataLen: 8,
      capabilities: IOMMU_HW_CAP_DIRTY_TRACKING,
    });
    const dv = new DataView(r.data.buffer, r.data.byteOffset);
    expect(dv.getUint32(0, true)).toBe(0);
    expect(dv.getUint32(4, true)).toBe(0xdeadbeef);
    expect([...r.data.subarray(8)]).toEqual(new Array(8).fill(0));
    // A 4-byte buffer gets the first field; the length says how much the kernel has.
    const short = f.fd.hwInfo(f.dev.idevId, 4);
    expect(short.dataLen).toBe(8);
    expect(short.data.length).toBe(4);
    const nd = f.fd.mockDomain(f.ioas, MOCK_FLAGS_DEVICE_NO_DIRTY);
    expect(f.fd.hwInfo(nd.idevId).capabilities).toBe(0n);
    expect(f.fd.hwInfo(99).errno).toBe(-ENOENT);
    expect(f.fd.call('IOMMU_GET_HW_INFO', 'hw_info', { dev_id: f.dev.idevId, flags: 1 }).errno).toBe(
      -EOPNOTSUPP,
    );
    expect(f.fd.call('IOMMU_GET_HW_INFO', 'hw_info', { dev_id: f.dev.idevId, __reserved_1: 1 }).errno).toBe(
      -EOPNOTSUPP,
    );
    expect(
      f.fd.call('IOMMU_GET_HW_INFO', 'hw_info', {
        dev_id: f.dev.idevId,
        data_len: 8,
        data_uptr: 0x10_0000_0000n,
      }).errno,
    ).toBe(-EFAULT);
  });
});
