// SPDX-License-Identifier: GPL-2.0-only
// vIOMMUs through /dev/iommu, re-expressing the selftest's iommufd_viommu
// fixture (iommufd.c of v6.13 to v6.17: vdevice_alloc with its vEVENTs,
// vdevice_cache, viommu_alloc_with_data, hw_queue, vdevice_tombstone) on the
// mock driver, under the profiles whose kernels have them (v6.15, v6.18),
// and what is different between those and 6.12.
import { describe, expect, it } from 'vitest';
import {
  E2BIG,
  EBUSY,
  EFAULT,
  EEXIST,
  EINVAL,
  EIO,
  ENOENT,
  ENOTTY,
  ENXIO,
  EOPNOTSUPP,
  EOVERFLOW,
} from '../../src/kernel/errno.js';
import {
  IOMMU_HWPT_DATA_SELFTEST,
  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
  IOMMU_TEST_INVALIDATE_FLAG_ALL,
  IOMMU_TEST_IOTLB_DEFAULT,
} from '../../src/drivers/iommufd-selftest/mock-domain.js';
import {
  IOMMU_HW_QUEUE_TYPE_SELFTEST,
  IOMMU_TEST_HW_QUEUE_MAX,
  IOMMU_VEVENTQ_TYPE_SELFTEST,
  IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST,
  IOMMU_VIOMMU_TYPE_SELFTEST,
} from '../../src/drivers/iommufd-selftest/mock-viommu.js';
import {
  IOMMU_TEST_DEV_CACHE_DEFAULT,
  MOCK_DEV_CACHE_ID_MAX,
} from '../../src/drivers/iommufd-selftest/mock-dev.js';
import { MOCK_APERTURE_START } from '../../src/pgtable/formats/iommufd-mock.js';
import type { Iommufd } from '../../src/iommufd/api.js';
import {
  IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
  IOMMU_HWPT_ALLOC_NEST_PARENT,
} from '../../src/iommufd/hw-pagetable.js';
import { physMem } from '../../src/mm/phys-mem.js';
import { UserProcess } from '../../src/mm/user-mm.js';
import { decode, ioctlNumber, pack, structs } from '../../src/iommufd/uapi.js';
import type { ProfileName } from '../../src/profile/profile.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';
import { mockMachine, u32 } from '../support/iommufd.js';

const P = 4096;
/** struct iommu_viommu_invalidate_selftest { flags, vdev_id, cache_id } */
const vinv = (flags: number, vdevId: number, cacheId: number) => {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, flags, true);
  dv.setUint32(4, vdevId, true);
  dv.setUint32(8, cacheId, true);
  return b;
};
const VT = IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST;

/**
 * FIXTURE_SETUP(iommufd_viommu): a mock device on an IOAS, a nest-parent
 * HWPT, a selftest vIOMMU on it and a nested HWPT on the vIOMMU.
 */
function viommuFixture(profile: ProfileName, failNth?: number) {
  const m = mockMachine({ profile, failNth });
  if (!m.fd || m.loaded) return { m, f: null };
  const fd = m.fd;
  const ioas = fd.ioasAlloc().id;
  const dev = fd.mockDomain(ioas);
  const parent = fd.hwptAlloc(dev.idevId, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
  const viommu = fd.viommuAlloc(dev.idevId, parent.id, IOMMU_VIOMMU_TYPE_SELFTEST);
  const nested = fd.hwptAllocData(
    dev.idevId,
    viommu.id,
    IOMMU_HWPT_DATA_SELFTEST,
    u32(IOMMU_TEST_IOTLB_DEFAULT),
  );
  return { m, f: { ...m, fd, ioas, dev, parent, viommu, nested } };
}

function okFixture(profile: ProfileName) {
  const { f } = viommuFixture(profile);
  expect(f).not.toBeNull();
  expect([f!.dev.errno, f!.parent.errno, f!.viommu.errno, f!.nested.errno]).toEqual([0, 0, 0, 0]);
  return f!;
}

/** _test_cmd_read_vevents(): n records of { header, virt_id }; EOVERFLOW on a loss or a sequence gap. */
function readVevents(fd: Iommufd, qfd: number, n: number, virtId: number, prev: { seq: number }): number {
  const r = fd.readVevents(qfd, n * 12, 4);
  if (r.errno) return r.errno;
  if (r.events.length === 0) return -EINVAL;
  for (let i = 0; i < n; i++) {
    const e = r.events[i];
    if (!e) return -EINVAL;
    const gap = e.sequence - prev.seq;
    prev.seq = e.sequence;
    if (e.flags & 1 || gap > 1) return -EOVERFLOW;
    if (new DataView(e.payload.buffer, e.payload.byteOffset, 4).getUint32(0, true) !== virtId) return -EINVAL;
  }
  return 0;
}

const devCacheAll = (fd: Iommufd, idev: number, v: number) =>
  [0, 1, 2, 3].map((s) => fd.checkDevCache(idev, s, v));

describe.each(['v6.15', 'v6.18'] as const)('vIOMMUs on the mock (%s)', (profile) => {
  it('viommu_alloc: the kernel order of checks, and who holds whom', () => {
    const { fd, ioas, dev, parent, viommu, nested } = okFixture(profile);
    const idev = dev.idevId;
    const notParent = fd.hwptAlloc(idev, ioas, 0);
    expect(fd.viommuAlloc(idev, notParent.id, IOMMU_VIOMMU_TYPE_SELFTEST).errno).toBe(-EINVAL);
    expect(fd.viommuAlloc(idev, parent.id, 0).errno).toBe(-EOPNOTSUPP); // IOMMU_VIOMMU_TYPE_DEFAULT
    expect(fd.viommuAlloc(idev, parent.id, 0x1234).errno).toBe(-EOPNOTSUPP);
    expect(fd.viommuAlloc(9999, parent.id, IOMMU_VIOMMU_TYPE_SELFTEST).errno).toBe(-ENOENT);
    expect(fd.viommuAlloc(idev, 9999, IOMMU_VIOMMU_TYPE_SELFTEST).errno).toBe(-ENOENT);
    // v6.16 asks the driver for the type's size before looking the HWPT up; v6.15's driver refused it after.
    expect(fd.viommuAlloc(idev, 9999, 0x1234).errno).toBe(profile === 'v6.18' ? -EOPNOTSUPP : -ENOENT);
    expect(
      fd.call('IOMMU_VIOMMU_ALLOC', 'viommu_alloc', {
        flags: 1,
        type: IOMMU_VIOMMU_TYPE_SELFTEST,
        dev_id: idev,
        hwpt_id: parent.id,
      }).errno,
    ).toBe(-EOPNOTSUPP);
    // Nested HWPTs on the vIOMMU: selftest data only, no dirty tracking.
    const data = u32(IOMMU_TEST_IOTLB_DEFAULT);
    expect(
      fd.hwptAllocData(idev, viommu.id, IOMMU_HWPT_DATA_SELFTEST, data, IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
        .errno,
    ).toBe(-EOPNOTSUPP);
    expect(fd.hwptAllocData(idev, viommu.id, 0xbad, data).errno).toBe(-EOPNOTSUPP);
    expect([0, 1, 2, 3].map((s) => fd.checkIotlb(nested.id, s, IOMMU_TEST_IOTLB_DEFAULT))).toEqual([
      0, 0, 0, 0,
    ]);
    // The nested HWPT holds the vIOMMU, which holds the parent, which holds the IOAS.
    expect(fd.destroy(viommu.id)).toBe(-EBUSY);
    expect(fd.destroy(parent.id)).toBe(-EBUSY);
    expect(fd.destroy(nested.id)).toBe(0);
    expect(fd.destroy(parent.id)).toBe(-EBUSY);
    expect(fd.destroy(viommu.id)).toBe(0);
    expect(fd.destroy(parent.id)).toBe(0);
  });

  it('viommu_auto_destroy: closing /dev/iommu frees every object and the mock instance is let go', () => {
    const { k, fd } = okFixture(profile);
    fd.close();
    expect(k.alloc.liveAllocations().filter((x) => /iommufd|mock_iommu|iopt|viommu/.test(x.type))).toEqual(
      [],
    );
  });

  it('vdevice_alloc: a vDEVICE before the nested attach, vEVENTs with their virt_id, and the overflow', () => {
    const { fd, dev, viommu, nested, ioas } = okFixture(profile);
    const prev = { seq: -1 };
    // Must allocate a vdevice before attaching to a nested hwpt.
    expect(fd.mockDomainReplace(dev.stdevId, nested.id).errno).toBe(-ENOENT);
    const q = fd.veventqAlloc(viommu.id, IOMMU_VEVENTQ_TYPE_SELFTEST, 2);
    expect(q.errno).toBe(0);
    expect(fd.veventqAlloc(viommu.id, IOMMU_VEVENTQ_TYPE_SELFTEST, 2).errno).toBe(-EEXIST);
    expect(fd.veventqAlloc(viommu.id, IOMMU_VEVENTQ_TYPE_SELFTEST + 1, 0).errno).toBe(-EINVAL);
    expect(fd.veventqAlloc(viommu.id, 0, 2).errno).toBe(-EOPNOTSUPP);
    let vdev = fd.vdeviceAlloc(viommu.id, dev.idevId, 0x99);
    expect(vdev.errno).toBe(0);
    expect(fd.mockDomainReplace(dev.stdevId, nested.id).errno).toBe(0);
    expect(fd.triggerVevent(dev.idevId)).toBe(0);
    expect(readVevents(fd, q.fd, 1, 0x99, prev)).toBe(0);
    expect(fd.vdeviceAlloc(viommu.id, dev.idevId, 0x99).errno).toBe(-EEXIST);
    expect(fd.mockDomainReplace(dev.stdevId, ioas).errno).toBe(0);
    // Off the vIOMMU's nested domain, the device reports nothing.
    expect(fd.triggerVevent(dev.idevId)).toBe(-ENOENT);
    expect(fd.destroy(vdev.id)).toBe(0);
    // Try again with 0x88; three events on a queue of two: the third is lost.
    vdev = fd.vdeviceAlloc(viommu.id, dev.idevId, 0x88);
    expect(vdev.errno).toBe(0);
    expect(fd.mockDomainReplace(dev.stdevId, nested.id).errno).toBe(0);
    for (let i = 0; i < 3; i++) expect(fd.triggerVevent(dev.idevId)).toBe(0);
    expect(readVevents(fd, q.fd, 3, 0x88, prev)).toBe(-EOVERFLOW);
    // The overflow is gone after the read, and the sequence continues from the loss.
    expect(fd.triggerVevent(dev.idevId)).toBe(0);
    expect(readVevents(fd, q.fd, 1, 0x88, prev)).toBe(0);
    // The queue's file holds it.
    expect(fd.destroy(q.id)).toBe(-EBUSY);
    expect(fd.proc.close(q.fd)).toBe(0);
    expect(fd.mockDomainReplace(dev.stdevId, ioas).errno).toBe(0);
    expect(fd.destroy(vdev.id)).toBe(0);
    expect(fd.destroy(q.id)).toBe(0);
    // Without a queue, an event has nowhere to go.
    fd.vdeviceAlloc(viommu.id, dev.idevId, 0x77);
    expect(fd.mockDomainReplace(dev.stdevId, nested.id).errno).toBe(0);
    expect(fd.triggerVevent(dev.idevId)).toBe(-EOPNOTSUPP);
  });

  it('the vEVENT read: whole records only, the loss header takes a sequence number and no payload', () => {
    const { fd, dev, viommu, nested } = okFixture(profile);
    const q = fd.veventqAlloc(viommu.id, IOMMU_VEVENTQ_TYPE_SELFTEST, 1);
    fd.vdeviceAlloc(viommu.id, dev.idevId, 5);
    expect(fd.mockDomainReplace(dev.stdevId, nested.id).errno).toBe(0);
    for (let i = 0; i < 4; i++) fd.triggerVevent(dev.idevId);
    // A buffer smaller than a record reads nothing (and is not an error).
    expect(fd.readVevents(q.fd, 11, 4)).toEqual({ errno: 0, events: [] });
    const r = fd.readVevents(q.fd, 100, 4);
    // One event (seq 0), then a single loss header carrying the last loss's sequence (3).
    expect(r.events.map((e) => [e.flags, e.sequence, e.payload.length])).toEqual([
      [0, 0, 4],
      [1, 3, 0],
    ]);
    expect(fd.readVevents(q.fd, 100, 4).events).toEqual([]);
    expect(fd.proc.sysWrite(q.fd, 0, 4)).toBe(-EINVAL);
  });

  it('vdevice_cache: vIOMMU invalidation of the mock device cache, entry by entry', () => {
    const { fd, dev, viommu } = okFixture(profile);
    const idev = dev.idevId;
    const vdev = fd.vdeviceAlloc(viommu.id, idev, 0x99);
    expect(devCacheAll(fd, idev, IOMMU_TEST_DEV_CACHE_DEFAULT)).toEqual([0, 0, 0, 0]);
    // A zero-length array probes the type.
    expect(fd.hwptInvalidate(viommu.id, VT, [], 12, 0)).toEqual({ errno: 0, num: 0 });
    expect(fd.hwptInvalidate(viommu.id, 0xdadbeef, [vinv(0, 0x99, 0)], 12)).toEqual({
      errno: -EINVAL,
      num: 0,
    });
    // Structure size sanity, with zeroed requests as the selftest sends them: an entry longer than the
    // struct is read as copy_struct_from_user() reads one (non-zero bytes past it: -E2BIG), a shorter one
    // zero-filled; either way virt_id 0 names no vDEVICE.
    const zero = new Uint8Array(12);
    expect(fd.hwptInvalidate(viommu.id, VT, [zero, zero], 13, 1)).toEqual({ errno: -EINVAL, num: 0 });
    expect(fd.hwptInvalidate(viommu.id, VT, [zero], 1)).toEqual({ errno: -EINVAL, num: 0 });
    const long = new Uint8Array(13);
    long.set(vinv(0, 0x99, 0));
    long[12] = 1;
    expect(fd.hwptInvalidate(viommu.id, VT, [long], 13)).toEqual({ errno: -E2BIG, num: 0 });
    expect(fd.hwptInvalidate(viommu.id, VT, [vinv(0xffffffff, 0x99, 0)], 12)).toEqual({
      errno: -EOPNOTSUPP,
      num: 0,
    });
    expect(fd.hwptInvalidate(viommu.id, VT, [vinv(0, 0x99, 0)], 12, 1, false)).toEqual({
      errno: -EINVAL,
      num: 0,
    });
    expect(fd.hwptInvalidate(viommu.id, VT, [vinv(0, 0x99, 0)], 0)).toEqual({ errno: -EINVAL, num: 0 });
    expect(fd.hwptInvalidate(viommu.id, VT, [vinv(0, 0x99, MOCK_DEV_CACHE_ID_MAX + 1)], 12)).toEqual({
      errno: -EINVAL,
      num: 0,
    });
    expect(fd.hwptInvalidate(viommu.id, VT, [vinv(0, 0x9, 0)], 12)).toEqual({ errno: -EINVAL, num: 0 });
    // The first request done, the second refused: entry_num says one.
    expect(fd.hwptInvalidate(viommu.id, VT, [vinv(0, 0x99, 0), vinv(0xffffffff, 0x99, 1)], 12)).toEqual({
      errno: -EOPNOTSUPP,
      num: 1,
    });
    const d = IOMMU_TEST_DEV_CACHE_DEFAULT;
    expect([0, 1, 2, 3].map((s) => fd.checkDevCache(idev, s, s === 0 ? 0 : d))).toEqual([0, 0, 0, 0]);
    expect(fd.hwptInvalidate(viommu.id, VT, [vinv(0, 0x99, 1)], 12)).toEqual({ errno: 0, num: 1 });
    expect(fd.hwptInvalidate(viommu.id, VT, [vinv(0, 0x99, 2), vinv(0, 0x99, 3)], 12)).toEqual({
      errno: 0,
      num: 2,
    });
    expect(devCacheAll(fd, idev, 0)).toEqual([0, 0, 0, 0]);
    expect(fd.hwptInvalidate(viommu.id, VT, [vinv(IOMMU_TEST_INVALIDATE_FLAG_ALL, 0x99, 0)], 12)).toEqual({
      errno: 0,
      num: 1,
    });
    expect(fd.checkDevCache(idev, MOCK_DEV_CACHE_ID_MAX + 1, 0)).toBe(-EINVAL);
    expect(fd.checkDevCache(idev, 0, 1)).toBe(-EINVAL);
    expect(fd.destroy(vdev.id)).toBe(0);
    // A paging HWPT takes no invalidation: -EINVAL since the lookup takes any object (6.12: -ENOENT).
    expect(fd.hwptInvalidate(fd.hwptAlloc(idev, fd.ioasAlloc().id, 0).id, VT, [], 12, 0).errno).toBe(-EINVAL);
  });

  it('vDEVICE rules: same IOMMU, ids per vIOMMU, one per device from v6.16', () => {
    const { fd, dev, viommu } = okFixture(profile);
    const a = fd.vdeviceAlloc(viommu.id, dev.idevId, 1);
    expect(a.errno).toBe(0);
    expect(fd.vdeviceAlloc(viommu.id, 9999, 2).errno).toBe(-ENOENT);
    expect(fd.vdeviceAlloc(9999, dev.idevId, 2).errno).toBe(-ENOENT);
    // Another device on the same vIOMMU cannot take a virt_id in use.
    const other = fd.mockDomain(fd.ioasAlloc().id);
    expect(fd.vdeviceAlloc(viommu.id, other.idevId, 1).errno).toBe(-EEXIST);
    expect(fd.vdeviceAlloc(viommu.id, other.idevId, 2).errno).toBe(0);
    // A second vDEVICE for the same device: v6.15 allows it; v6.16 on keeps one per device.
    expect(fd.vdeviceAlloc(viommu.id, dev.idevId, 3).errno).toBe(profile === 'v6.18' ? -EEXIST : 0);
    expect(fd.destroy(viommu.id)).toBe(-EBUSY);
  });
});

describe('vIOMMU versions', () => {
  it('6.12 has no vIOMMU: the command is -ENOTTY and the test ops -EOPNOTSUPP; invalidating a paging HWPT is -ENOENT', () => {
    const m = mockMachine({ profile: 'v6.12' });
    const fd = m.fd!;
    const ioas = fd.ioasAlloc().id;
    const dev = fd.mockDomain(ioas);
    const parent = fd.hwptAlloc(dev.idevId, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
    expect(fd.viommuAlloc(dev.idevId, parent.id, IOMMU_VIOMMU_TYPE_SELFTEST).errno).toBe(-ENOTTY);
    expect(fd.checkDevCache(dev.idevId, 0, IOMMU_TEST_DEV_CACHE_DEFAULT)).toBe(-EOPNOTSUPP);
    expect(fd.triggerVevent(dev.idevId)).toBe(-EOPNOTSUPP);
    expect(fd.hwptInvalidate(parent.id, IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, [], 8, 0).errno).toBe(-ENOENT);
  });

  it('v6.15 keeps the unbound device behind its vDEVICE; v6.18 tombstones the vDEVICE (vdevice_tombstone)', () => {
    for (const profile of ['v6.15', 'v6.18'] as const) {
      const { k, fd, dev, viommu } = okFixture(profile);
      const vdev = fd.vdeviceAlloc(viommu.id, dev.idevId, 0x99);
      const mockDevs = () => k.alloc.liveAllocations().filter((x) => x.type === 'mock_dev').length;
      expect(mockDevs()).toBe(1);
      expect(fd.destroy(dev.stdevId)).toBe(0);
      if (profile === 'v6.18') {
        expect(mockDevs()).toBe(0);
        expect(fd.destroy(vdev.id)).toBe(-ENOENT);
        // The tombstoned id is not handed out again while the file is open.
        expect(fd.ioasAlloc().id).not.toBe(vdev.id);
      } else {
        // The device is off its bus, but its struct lives on with the vDEVICE's get_device().
        expect(mockDevs()).toBe(1);
        expect(fd.destroy(vdev.id)).toBe(0);
        expect(mockDevs()).toBe(0);
      }
      expect(fd.destroy(viommu.id)).toBe(-EBUSY); // the nested HWPT
      fd.close();
      expect(k.alloc.liveAllocations().filter((x) => /iommufd|mock_dev|viommu/.test(x.type))).toEqual([]);
    }
  });
});

describe('vIOMMU driver data and mmap (v6.16 on)', () => {
  /** struct iommu_viommu_selftest { in_data, out_data, out_mmap_offset, out_mmap_length } */
  const selftestData = (inData: number) => {
    const b = new Uint8Array(24);
    new DataView(b.buffer).setUint32(0, inData, true);
    return b;
  };

  it('viommu_alloc_with_data: out_data loops back, the pages map through /dev/iommu and hold the vIOMMU', () => {
    const { k, fd, dev, parent } = okFixture('v6.18');
    const r = fd.viommuAlloc(dev.idevId, parent.id, IOMMU_VIOMMU_TYPE_SELFTEST, selftestData(0xcafe));
    expect(r.errno).toBe(0);
    const dv = new DataView(r.data!.buffer, r.data!.byteOffset, 24);
    expect(dv.getUint32(4, true)).toBe(0xcafe);
    const offset = Number(dv.getBigUint64(8, true));
    const length = Number(dv.getBigUint64(16, true));
    expect([offset, length]).toEqual([P, 2 * P]);
    const proc = fd.proc;
    // Only exactly the registered range maps.
    expect(proc.mmapFile(fd.file.fd, P, offset)).toBe(-ENXIO);
    expect(proc.mmapFile(fd.file.fd, length, offset + P)).toBe(-ENXIO);
    expect(proc.mmapFile(fd.file.fd, length, 0)).toBe(-ENXIO);
    const at = proc.mmapFile(fd.file.fd, length, offset);
    expect(at).toBeGreaterThan(0);
    // The first word of the driver's page is in_data, as user space reads it.
    expect(proc.read(at, 4)).toEqual(u32(0xcafe));
    // A user write lands in the driver's page.
    expect(proc.write(at + P, u32(0x1234))).toBe(0);
    expect(physMem(k).read(proc.physOf(at + P), 4)).toEqual(u32(0x1234));
    expect(fd.destroy(r.id)).toBe(-EBUSY);
    // A split mapping holds it twice: both pieces must go.
    expect(proc.munmap(at, P)).toBe(0);
    expect(fd.destroy(r.id)).toBe(-EBUSY);
    expect(proc.munmap(at + P, P)).toBe(0);
    expect(fd.destroy(r.id)).toBe(0);
    // Too short for the struct's first version: -EINVAL from the driver's copy.
    expect(fd.viommuAlloc(dev.idevId, parent.id, IOMMU_VIOMMU_TYPE_SELFTEST, new Uint8Array(4)).errno).toBe(
      -EINVAL,
    );
  });

  it('v6.15 has no driver data: the longer struct is -E2BIG', () => {
    const { fd, dev, parent } = okFixture('v6.15');
    expect(fd.viommuAlloc(dev.idevId, parent.id, IOMMU_VIOMMU_TYPE_SELFTEST, selftestData(1)).errno).toBe(
      -E2BIG,
    );
  });
});

describe('HW queues (v6.17 on)', () => {
  it('hw_queue: argument checks, the pinned IOVA locked against unmap, index order and dependency', () => {
    const { fd, viommu, ioas } = okFixture('v6.18');
    const T = IOMMU_HW_QUEUE_TYPE_SELFTEST;
    const V = viommu.id;
    let iova = MOCK_APERTURE_START;
    expect(fd.hwQueueAlloc(V, 0, 0, iova, P).errno).toBe(-EOPNOTSUPP);
    expect(fd.hwQueueAlloc(V, T, 0, iova, 0).errno).toBe(-EINVAL);
    expect(fd.hwQueueAlloc(V, T, 0, 2n ** 64n - 1n, P).errno).toBe(-EOVERFLOW);
    expect(fd.hwQueueAlloc(V, T, 0, iova, P).errno).toBe(-ENOENT);
    const buffer = fd.proc.mmap(2 * P);
    const m1 = fd.ioasMap({ ioasId: ioas, userVa: buffer, length: P });
    const m2 = fd.ioasMap({ ioasId: ioas, userVa: buffer + P, length: P });
    iova = Number(m1.iova);
    expect(fd.hwQueueAlloc(V, T, 1, iova, P).errno).toBe(-EIO);
    expect(fd.hwQueueAlloc(V, T, IOMMU_TEST_HW_QUEUE_MAX, iova, P).errno).toBe(-EINVAL);
    const q0 = fd.hwQueueAlloc(V, T, 0, iova, P);
    expect(q0.errno).toBe(0);
    expect(fd.hwQueueAlloc(V, T, 0, iova, P).errno).toBe(-EEXIST);
    expect(fd.ioasUnmap(ioas, iova, P).errno).toBe(-EBUSY);
    expect(fd.ioasUnmap(ioas, m2.iova, P).errno).toBe(0);
    const q1 = fd.hwQueueAlloc(V, T, 1, iova + P / 2, P / 2);
    expect(q1.errno).toBe(0);
    expect(fd.destroy(q0.id)).toBe(-EBUSY);
    expect(fd.destroy(V)).toBe(-EBUSY);
    expect(fd.destroy(q1.id)).toBe(0);
    expect(fd.destroy(q0.id)).toBe(0);
    expect(fd.ioasUnmap(ioas, iova, P).errno).toBe(0);
  });

  it('the queue memory must be physically contiguous (-EFAULT)', () => {
    const { fd, viommu, ioas } = okFixture('v6.18');
    const a = fd.proc.mmap(P);
    fd.proc.mmap(P); // a page in between, touched so the frames are not adjacent
    const b = fd.proc.mmap(P);
    fd.proc.write(b, u32(1));
    fd.proc.write(b - P, u32(1));
    fd.proc.write(a, u32(1));
    const base = BigInt(MOCK_APERTURE_START);
    expect(fd.ioasMap({ ioasId: ioas, userVa: a, length: P, iova: base }).errno).toBe(0);
    expect(fd.ioasMap({ ioasId: ioas, userVa: b, length: P, iova: base + BigInt(P) }).errno).toBe(0);
    expect(fd.hwQueueAlloc(viommu.id, IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, base, 2 * P).errno).toBe(-EFAULT);
    // Nothing stays locked after the failure.
    expect(fd.ioasUnmap(ioas, base, 2 * P).errno).toBe(0);
  });
});

describe('vIOMMU fail-nth', () => {
  it('every allocation and lookup of a vIOMMU body can fail without a leak or a pin left', () => {
    const body = (failNth?: number) => {
      const { m, f: s } = viommuFixture('v6.18', failNth);
      if (s) {
        const fd = s.fd;
        const v = s.viommu.id;
        const idev = s.dev.idevId;
        fd.viommuAlloc(idev, s.parent.id, IOMMU_VIOMMU_TYPE_SELFTEST, new Uint8Array(24));
        const q = fd.veventqAlloc(v, IOMMU_VEVENTQ_TYPE_SELFTEST, 1);
        fd.vdeviceAlloc(v, idev, 0x99);
        fd.mockDomainReplace(s.dev.stdevId, s.nested.id);
        fd.triggerVevent(idev);
        fd.triggerVevent(idev);
        fd.readVevents(q.fd, 64, 4);
        fd.hwptInvalidate(v, VT, [vinv(0, 0x99, 1)], 12);
        const buf = fd.proc.mmap(P);
        const map = fd.ioasMap({ ioasId: s.ioas, userVa: buf, length: P });
        fd.hwQueueAlloc(v, IOMMU_HW_QUEUE_TYPE_SELFTEST, 0, map.iova, P);
        if (q.fd > 0) fd.proc.close(q.fd);
        fd.close();
      } else m.fd?.close();
      return m.k;
    };
    const total = body().alloc.attempts;
    const { injected } = expectCleanUnwinds((n) => finishRun(body(n)), total);
    expect(injected).toBeGreaterThan(0);
  });
});

describe('file references', () => {
  it('a mapping of /dev/iommu keeps the file: closing the descriptor releases the context only at munmap', () => {
    const { k, fd, dev, parent } = okFixture('v6.18');
    const data = new Uint8Array(24);
    const r = fd.viommuAlloc(dev.idevId, parent.id, IOMMU_VIOMMU_TYPE_SELFTEST, data);
    const dv = new DataView(r.data!.buffer, r.data!.byteOffset, 24);
    const at = fd.proc.mmapFile(
      fd.file.fd,
      Number(dv.getBigUint64(16, true)),
      Number(dv.getBigUint64(8, true)),
    );
    expect(at).toBeGreaterThan(0);
    fd.close();
    expect(fd.file.ctx.isReleased).toBe(false);
    expect(fd.proc.munmap(at, 2 * P)).toBe(0);
    expect(fd.file.ctx.isReleased).toBe(true);
    expect(k.alloc.liveAllocations().filter((x) => /iommufd|viommu|iommufd_mmap/.test(x.type))).toEqual([]);
    expect(k.printk.warnings.filter((w) => w.site === 'iommufd_fops_release')).toEqual([]);
  });

  it('an event descriptor made by another process holding the file is read in that process', () => {
    const { fd, dev, viommu, nested } = okFixture('v6.18');
    const other = new UserProcess(fd.proc.k);
    const b = pack(structs.veventq_alloc, {
      viommu_id: viommu.id,
      type: IOMMU_VEVENTQ_TYPE_SELFTEST,
      veventq_depth: 2,
    });
    expect(fd.file.ioctl(ioctlNumber('IOMMU_VEVENTQ_ALLOC'), b, other)).toBe(0);
    const qfd = Number(decode(structs.veventq_alloc, b).out_veventq_fd);
    // The descriptor is in the calling process's table (its first: 3), not in the opener's.
    expect(other.fget(qfd)?.name).toBe('[iommufd-viommu-event]');
    expect(fd.proc.fget(qfd)?.name).toBe('/dev/iommu');
    fd.vdeviceAlloc(viommu.id, dev.idevId, 0x42);
    expect(fd.mockDomainReplace(dev.stdevId, nested.id).errno).toBe(0);
    expect(fd.triggerVevent(dev.idevId)).toBe(0);
    const buf = other.mmap(P);
    expect(other.sysRead(qfd, buf, 12)).toBe(12);
    expect(other.read(buf + 8, 4)).toEqual(u32(0x42));
  });
});
