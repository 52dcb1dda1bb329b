// SPDX-License-Identifier: GPL-2.0-only
// Devices and HW page tables through /dev/iommu, written from the uAPI
// documentation and the selftests' fixtures (iommufd.c's mock_domain
// fixtures): IOMMU_TEST_OP_MOCK_DOMAIN creates a mock device on the mock bus,
// probed by the real IOMMU core, bound (claiming DMA ownership of its group)
// and attached through an automatic HWPT; HWPT_ALLOC makes manual ones;
// MOCK_DOMAIN_REPLACE moves a device; MD_CHECK_MAP / MD_CHECK_REFS look at the
// mock domain and the pins; the mock device really DMAs into the process's
// pages through the domain; close releases everything; every allocation of
// a device body can fail without a leak.
import { describe, expect, it } from 'vitest';
import {
  EADDRINUSE,
  EBUSY,
  EFAULT,
  EINVAL,
  EIO,
  ENODEV,
  ENOENT,
  ENOMEM,
  EOPNOTSUPP,
} from '../../src/kernel/errno.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { ProfileName } from '../../src/profile/profile.js';
import { loadPlatform } from '../../src/platform/load.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { iommufd_test_init, mockState } from '../../src/drivers/iommufd-selftest/mock.js';
import {
  MOCK_FLAGS_DEVICE_HUGE_IOVA,
  MOCK_FLAGS_DEVICE_NO_DIRTY,
} from '../../src/drivers/iommufd-selftest/mock-dev.js';
import { UserProcess } from '../../src/mm/user-mm.js';
import { Iommufd } from '../../src/iommufd/api.js';
import type { IommufdDevice } from '../../src/iommufd/device.js';
import type { HwptPaging } from '../../src/iommufd/hw-pagetable.js';
import {
  IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
  IOMMU_HWPT_ALLOC_NEST_PARENT,
  IOMMU_HWPT_FAULT_ID_VALID,
} from '../../src/iommufd/hw-pagetable.js';
import { U64_MAX } from '../../src/iommufd/uapi.js';
import { dmaRead, dmaWrite } from '../../src/dma/device-dma.js';
import { MOCK_APERTURE_START } from '../../src/pgtable/formats/iommufd-mock.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';

const P = 4096;
const HP = 2 * 1024 * 1024;

/** A booted machine with the selftest loaded, a process, /dev/iommu open and an IOAS. */
function setup(opts: { platform?: string; profile?: ProfileName; failNth?: number } = {}) {
  const { desc, file } = loadPlatform(opts.platform ?? 'arm64-dt-smmuv3-mini');
  const { k } = bootPlatform(desc, { file, profile: opts.profile ?? 'v6.12', failNth: opts.failNth });
  const loaded = iommufd_test_init(k);
  const proc = new UserProcess(k);
  const fd = Iommufd.open(k, proc);
  if (typeof fd === 'number') throw new OpenFailed(k, fd);
  return { k, proc, fd, loaded };
}

/** open() itself failed (fail-nth hit its kzalloc). */
class OpenFailed extends Error {
  constructor(
    readonly k: Kernel,
    readonly errno: number,
  ) {
    super(`open: ${errno}`);
  }
}

/** The selftests' 16-page buffer of 4 KiB pages (not huge: MD_CHECK_REFS skips compound pages). */
function buffer(proc: UserProcess, pages = 16): number {
  const b = proc.mmap(pages * P);
  if (b < 0) throw new Error('mmap');
  return b;
}

const deviceOf = (fd: Iommufd, id: number) => fd.file.ctx.peek(id, 'DEVICE') as IommufdDevice;
const hwptOf = (fd: Iommufd, id: number) => fd.file.ctx.peek(id, 'HWPT_PAGING') as HwptPaging;

describe('IOMMU_TEST_OP_MOCK_DOMAIN: a mock device bound and attached through the IOMMU core', () => {
  it('returns the selftest object, HWPT and DEVICE ids (2, 4, 3 after the IOAS) and attaches the group', () => {
    const { k, fd, loaded } = setup();
    expect(loaded).toBe(0);
    const { id: ioas } = fd.ioasAlloc();
    const r = fd.mockDomain(ioas);
    expect(r).toEqual({ errno: 0, stdevId: 2, hwptId: 4, idevId: 3 });
    const idev = deviceOf(fd, r.idevId);
    const hwpt = hwptOf(fd, r.hwptId);
    // The core probed it on the mock bus, in a group of its own, now owned by this context.
    expect(idev.dev.name).toBe('iommufd_mock0');
    expect(idev.dev.iommu?.iommu_dev).toBe(mockState(k)!.iommu);
    const group = idev.dev.iommu_group!;
    expect(group.owner).toBe(fd.file.ctx);
    expect(group.domain).toBe(hwpt.domain);
    expect(group.pasid_array.get(0)).toBe(hwpt.domain);
    expect(hwpt.autoDomain).toBe(true);
    expect(hwpt.ioas.id).toBe(ioas);
    // The IOAS now has the mock domain's alignment (2 KiB pages) and aperture.
    const ranges = fd.iovaRanges(ioas);
    expect(ranges.ranges[0][0]).toBe(BigInt(MOCK_APERTURE_START));
  });

  it('a second mock device on the same IOAS shares the automatic HWPT; the last one out destroys it', () => {
    const { fd } = setup();
    const { id: ioas } = fd.ioasAlloc();
    const a = fd.mockDomain(ioas);
    const b = fd.mockDomain(ioas);
    expect(b.errno).toBe(0);
    expect(b.hwptId).toBe(a.hwptId);
    expect(b.stdevId).toBe(5);
    expect(b.idevId).toBe(6);
    // Table + two attached devices.
    expect(hwptOf(fd, a.hwptId).users).toBe(3);
    expect(fd.destroy(a.stdevId)).toBe(0);
    expect(hwptOf(fd, a.hwptId).users).toBe(2);
    expect(fd.destroy(b.stdevId)).toBe(0);
    expect(fd.file.ctx.peek(a.hwptId, 'HWPT_PAGING')).toBe(-ENOENT);
    expect(fd.destroy(ioas)).toBe(0);
  });

  it('who holds whom: IOAS and HWPT are busy while used, the DEVICE while its driver holds it', () => {
    const { fd } = setup();
    const { id: ioas } = fd.ioasAlloc();
    const r = fd.mockDomain(ioas);
    expect(fd.destroy(ioas)).toBe(-EBUSY);
    expect(fd.destroy(r.hwptId)).toBe(-EBUSY);
    expect(fd.destroy(r.idevId)).toBe(-EBUSY);
    // The selftest object owns it all.
    const dev = deviceOf(fd, r.idevId).dev;
    const group = dev.iommu_group!;
    expect(fd.destroy(r.stdevId)).toBe(0);
    for (const id of [r.stdevId, r.hwptId, r.idevId]) expect(fd.destroy(id)).toBe(-ENOENT);
    // The device is gone from the bus; its group went back to unowned and was released.
    expect(dev.iommu_group).toBeNull();
    expect(group.owner).toBeNull();
    expect(group.pasid_array.size).toBe(0);
    expect(fd.destroy(ioas)).toBe(0);
  });

  it('attaching to something that is not an IOAS or HWPT is EINVAL, to nothing ENOENT; nothing is left behind', () => {
    const { k, fd } = setup();
    const { id: ioas } = fd.ioasAlloc();
    const first = fd.mockDomain(ioas);
    const live = k.alloc.liveAllocations().length;
    expect(fd.mockDomain(99).errno).toBe(-ENOENT);
    expect(fd.mockDomain(first.idevId).errno).toBe(-EINVAL);
    expect(fd.mockDomain(first.stdevId).errno).toBe(-EINVAL);
    expect(k.alloc.liveAllocations().length).toBe(live);
    // The ids taken by the failed attempts were given back.
    expect(fd.mockDomain(ioas).stdevId).toBe(5);
  });

  it('MOCK_DOMAIN_FLAGS: 6.12 knows NO_DIRTY and HUGE_IOVA only', () => {
    const { fd } = setup();
    const { id: ioas } = fd.ioasAlloc();
    expect(fd.mockDomain(ioas, 1 << 2).errno).toBe(-EINVAL);
    expect(fd.mockDomain(ioas, MOCK_FLAGS_DEVICE_NO_DIRTY).errno).toBe(0);
    const huge = fd.mockDomain(ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA);
    expect(huge.errno).toBe(0);
  });
});

describe('mappings in the mock domain, pins and device DMA', () => {
  it('MD_CHECK_MAP sees the user pages behind each IOVA; the mock device DMAs into the process', () => {
    const { k, proc, fd } = setup();
    const { id: ioas } = fd.ioasAlloc();
    const buf = buffer(proc);
    const r = fd.mockDomain(ioas);
    const { errno, iova } = fd.ioasMap({ ioasId: ioas, userVa: buf, length: 16 * P });
    expect(errno).toBe(0);
    expect(fd.checkMap(r.hwptId, iova, 16 * P, buf)).toBe(0);
    // Off by one page: the domain holds other pages there.
    expect(fd.checkMap(r.hwptId, iova, 4 * P, buf + P)).toBe(-EINVAL);
    // Unaligned arguments, a HWPT id that is not one, an IOAS id.
    expect(fd.checkMap(r.hwptId, iova + 1n, P, buf)).toBe(-EINVAL);
    expect(fd.checkMap(ioas, iova, P, buf)).toBe(-ENOENT);
    expect(fd.checkMap(r.hwptId, iova, P, 8)).toBe(-EINVAL);
    expect(fd.checkMap(r.hwptId, iova, 2048, 0x10_0000_0000)).toBe(-EFAULT);

    // The device writes through its group's domain; the process reads its own memory.
    const dev = deviceOf(fd, r.idevId).dev;
    const w = dmaWrite(k, dev, Number(iova) + 5 * P + 100, Uint8Array.from([1, 2, 3, 4]));
    expect(w.ok).toBe(true);
    expect(proc.read(buf + 5 * P + 100, 4)).toEqual(Uint8Array.from([1, 2, 3, 4]));
    expect(proc.write(buf + 9 * P, Uint8Array.from([9, 8]))).toBe(0);
    expect(dmaRead(k, dev, Number(iova) + 9 * P, 2).data).toEqual(Uint8Array.from([9, 8]));

    // Unmapped again: the same DMA faults.
    expect(fd.ioasUnmap(ioas, 0n, U64_MAX).errno).toBe(0);
    expect(fd.checkMap(r.hwptId, iova, P, buf)).toBe(-EINVAL);
    const f = dmaWrite(k, dev, Number(iova), Uint8Array.from([1]));
    expect(f.ok).toBe(false);
  });

  it('mappings made before the device came are in the new domain too (the domain is filled on attach)', () => {
    const { k, proc, fd } = setup();
    const { id: ioas } = fd.ioasAlloc();
    const buf = buffer(proc);
    const iova = BigInt(MOCK_APERTURE_START);
    expect(fd.ioasMap({ ioasId: ioas, userVa: buf, length: 16 * P, iova }).errno).toBe(0);
    const r = fd.mockDomain(ioas);
    expect(r.errno).toBe(0);
    expect(fd.checkMap(r.hwptId, iova, 16 * P, buf)).toBe(0);
    // An area outside the mock aperture: the domain cannot reserve its outside, the attach fails.
    const other = fd.ioasAlloc().id;
    expect(fd.ioasMap({ ioasId: other, userVa: buf, length: P, iova: 0x1000 }).errno).toBe(0);
    const live = k.alloc.liveAllocations().length;
    expect(fd.mockDomain(other).errno).toBe(-EADDRINUSE);
    expect(k.alloc.liveAllocations().length).toBe(live);
  });

  it('MD_CHECK_REFS: a page is pinned once per pages object, whatever uses it; nothing after unmap or close', () => {
    const { proc, fd } = setup();
    const { id: ioas } = fd.ioasAlloc();
    const buf = buffer(proc);
    // Lazy pinning: an IOAS without a domain pins nothing.
    fd.ioasMap({ ioasId: ioas, userVa: buf, length: 16 * P, iova: MOCK_APERTURE_START });
    expect(fd.checkRefs(buf, 16 * P, 0)).toBe(0);
    const r = fd.mockDomain(ioas);
    expect(fd.checkRefs(buf, 16 * P, 1)).toBe(0);
    expect(fd.checkRefs(buf, 16 * P, 2)).toBe(-EIO);
    // A second device on the same HWPT, a manual HWPT with its own domain: still one pin per page.
    fd.mockDomain(ioas);
    expect(fd.hwptAlloc(r.idevId, ioas).errno).toBe(0);
    expect(fd.checkRefs(buf, 16 * P, 1)).toBe(0);
    // A second map of the same memory is another pages object: a second pin.
    const second = fd.ioasMap({ ioasId: ioas, userVa: buf, length: 4 * P });
    expect(second.errno).toBe(0);
    expect(fd.checkRefs(buf, 4 * P, 2)).toBe(0);
    expect(fd.checkRefs(buf + 4 * P, 12 * P, 1)).toBe(0);
    expect(fd.checkRefs(buf + 1, P, 1)).toBe(-EINVAL);
    fd.close();
    // teardown_iommufd(): a fresh fd sees no pin left.
    const again = Iommufd.open(fd.file.ctx.k, proc) as Iommufd;
    expect(again.checkRefs(buf, 16 * P, 0)).toBe(0);
  });
});

describe('IOMMU_HWPT_ALLOC and MOCK_DOMAIN_REPLACE', () => {
  it('checks in 6.12’s order and errnos', () => {
    const { proc, fd } = setup();
    const { id: ioas } = fd.ioasAlloc();
    const r = fd.mockDomain(ioas);
    const nd = fd.mockDomain(ioas, MOCK_FLAGS_DEVICE_NO_DIRTY);
    const call = (v: Record<string, number | bigint>) => fd.call('IOMMU_HWPT_ALLOC', 'hwpt_alloc', v).errno;
    expect(call({ dev_id: r.idevId, pt_id: ioas, __reserved: 1 })).toBe(-EOPNOTSUPP);
    expect(call({ dev_id: r.idevId, pt_id: ioas, data_len: 8 })).toBe(-EINVAL);
    expect(call({ dev_id: r.idevId, pt_id: ioas, data_type: 0xdead })).toBe(-EINVAL);
    expect(call({ dev_id: 99, pt_id: ioas })).toBe(-ENOENT);
    expect(call({ dev_id: r.stdevId, pt_id: ioas })).toBe(-ENOENT);
    // A missing or wrong-typed pt_id is EINVAL, not ENOENT.
    expect(call({ dev_id: r.idevId, pt_id: 99 })).toBe(-EINVAL);
    expect(call({ dev_id: r.idevId, pt_id: r.idevId })).toBe(-EINVAL);
    expect(call({ dev_id: r.idevId, pt_id: ioas, flags: 1 << 7 })).toBe(-EOPNOTSUPP);
    // 6.12 takes no fault queue for a paging HWPT.
    expect(call({ dev_id: r.idevId, pt_id: ioas, flags: IOMMU_HWPT_FAULT_ID_VALID })).toBe(-EOPNOTSUPP);
    expect(call({ dev_id: nd.idevId, pt_id: ioas, flags: IOMMU_HWPT_ALLOC_DIRTY_TRACKING })).toBe(
      -EOPNOTSUPP,
    );
    // The mock takes no driver data for a paging domain.
    const data = proc.mmap(P);
    expect(
      call({ dev_id: r.idevId, pt_id: ioas, data_type: 0xdead, data_len: 8, data_uptr: BigInt(data) }),
    ).toBe(-EOPNOTSUPP);
    const ok = fd.hwptAlloc(r.idevId, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
    expect(ok.errno).toBe(0);
    expect(hwptOf(fd, ok.id)).toMatchObject({ autoDomain: false, nestParent: true });
    // A manual HWPT holds its IOAS and lives until destroyed.
    expect(fd.destroy(ok.id)).toBe(0);
  });

  it('replace moves the group without going through blocking; an automatic HWPT left unused is destroyed', () => {
    const { proc, fd } = setup();
    const { id: ioas } = fd.ioasAlloc();
    const buf = buffer(proc);
    const r = fd.mockDomain(ioas);
    const { iova } = fd.ioasMap({ ioasId: ioas, userVa: buf, length: 16 * P });
    const manual = fd.hwptAlloc(r.idevId, ioas);
    expect(manual.errno).toBe(0);
    expect(fd.checkMap(manual.id, iova, 16 * P, buf)).toBe(0);
    const dev = deviceOf(fd, r.idevId).dev;
    const domains: unknown[] = [];
    const group = dev.iommu_group!;
    expect(fd.mockDomainReplace(r.stdevId, manual.id)).toEqual({ errno: 0, hwptId: manual.id });
    domains.push(group.domain);
    expect(group.domain).toBe(hwptOf(fd, manual.id).domain);
    expect(fd.file.ctx.peek(r.hwptId, 'HWPT_PAGING')).toBe(-ENOENT);
    // The same HWPT again: nothing happens.
    expect(fd.mockDomainReplace(r.stdevId, manual.id)).toEqual({ errno: 0, hwptId: manual.id });
    // Back to the IOAS: manual HWPTs are never picked automatically, so a new automatic one.
    const back = fd.mockDomainReplace(r.stdevId, ioas);
    expect(back.errno).toBe(0);
    expect(back.hwptId).not.toBe(manual.id);
    expect(hwptOf(fd, back.hwptId).autoDomain).toBe(true);
    expect(hwptOf(fd, manual.id).users).toBe(1);
    expect(fd.destroy(manual.id)).toBe(0);
    // Replacing onto something else than an IOAS or HWPT; an unknown selftest object.
    expect(fd.mockDomainReplace(r.stdevId, r.idevId).errno).toBe(-EINVAL);
    expect(fd.mockDomainReplace(99, ioas).errno).toBe(-ENOENT);
    expect(fd.mockDomainReplace(r.idevId, ioas).errno).toBe(-ENOENT);
  });

  it('a dirty-tracking domain refuses a device without dirty tracking, and the old attachment stays', () => {
    const { fd } = setup();
    const { id: ioas } = fd.ioasAlloc();
    const r = fd.mockDomain(ioas);
    const nd = fd.mockDomain(ioas, MOCK_FLAGS_DEVICE_NO_DIRTY);
    const dirty = fd.hwptAlloc(r.idevId, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
    expect(dirty.errno).toBe(0);
    const group = deviceOf(fd, nd.idevId).dev.iommu_group!;
    const before = group.domain;
    expect(fd.mockDomainReplace(nd.stdevId, dirty.id).errno).toBe(-EINVAL);
    expect(group.domain).toBe(before);
    expect(fd.mockDomain(dirty.id, MOCK_FLAGS_DEVICE_NO_DIRTY).errno).toBe(-EINVAL);
    // A device with dirty tracking attaches to it directly.
    expect(fd.mockDomain(dirty.id).hwptId).toBe(dirty.id);
  });

  it('a huge-IOVA device’s domain takes 1 MiB pages; one without keeps the IOAS at 2 KiB alignment', () => {
    const { proc, fd } = setup();
    const { id: ioas } = fd.ioasAlloc();
    const huge = proc.mmap(2 * HP, { hugePages: true });
    const r = fd.mockDomain(ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA);
    const m = fd.ioasMap({ ioasId: ioas, userVa: huge, length: 2 * HP });
    expect(m.errno).toBe(0);
    expect(fd.checkMap(r.hwptId, m.iova, 2 * HP, huge)).toBe(0);
    expect(fd.iovaRanges(ioas).alignment).toBe(2048n);
  });
});

describe('per kernel version: the seed bug through /dev/iommu', () => {
  // On x86 with Intel VT-d registered first, v6.8–v6.17 probe the mock device with Intel's ops:
  // no group, so iommufd_device_bind()'s capability check fails first (-EINVAL).
  const outcome = (profile: ProfileName) => {
    const { fd, loaded } = setup({ platform: 'x86-q35-vtd-switch', profile });
    expect(loaded).toBe(0);
    const { id: ioas } = fd.ioasAlloc();
    return fd.mockDomain(ioas).errno;
  };
  it.each<[ProfileName, number]>([
    ['v6.7', 0],
    ['v6.8', -EINVAL],
    ['v6.12', -EINVAL],
    ['v6.15', -EINVAL],
    ['v6.18', 0],
  ])('%s: MOCK_DOMAIN returns %i', (profile, errno) => {
    expect(outcome(profile)).toBe(errno);
  });

  it('on arm64 (no global instance before the mock) every version from v6.7 works', () => {
    for (const profile of ['v6.7', 'v6.8', 'v6.12', 'v6.18'] as const) {
      const { fd } = setup({ profile });
      const { id: ioas } = fd.ioasAlloc();
      expect(fd.mockDomain(ioas).errno, profile).toBe(0);
    }
  });
});

describe('close and fail-nth', () => {
  /** A selftest-style body: devices, maps, a manual HWPT, a replace, then close. */
  const body = (failNth?: number) => {
    const { k, proc, fd, loaded } = setup({ failNth });
    const errnos: number[] = [];
    const { errno, id: ioas } = fd.ioasAlloc();
    errnos.push(errno);
    const buf = buffer(proc);
    const a = fd.mockDomain(ioas);
    errnos.push(a.errno);
    errnos.push(fd.ioasMap({ ioasId: ioas, userVa: buf, length: 16 * P, iova: MOCK_APERTURE_START }).errno);
    const b = fd.mockDomain(ioas, MOCK_FLAGS_DEVICE_NO_DIRTY);
    errnos.push(b.errno);
    const h = fd.hwptAlloc(a.idevId, ioas);
    errnos.push(h.errno);
    errnos.push(fd.mockDomainReplace(a.stdevId, h.id).errno);
    errnos.push(fd.mockDomainReplace(a.stdevId, ioas).errno);
    fd.close();
    return { k, proc, errnos, loaded };
  };

  it('close releases every object, pin and group claim', () => {
    const { k, proc, errnos } = body();
    expect(errnos.every((e) => e === 0)).toBe(true);
    expect(proc.accounting).toEqual({ userLockedVm: 0, mmLockedVm: 0, mmPinnedVm: 0 });
    expect(k.alloc.liveAllocations().filter((x) => /iommufd|iopt|mock/.test(x.type))).toEqual([]);
    expect([...k.base.devices].some((d) => d.name.startsWith('iommufd_mock'))).toBe(false);
  });

  it('every allocation of the body can fail: only ENOMEM (or what follows from it) comes back, nothing leaks', () => {
    const total = (() => {
      const { k } = body();
      return k.alloc.attempts;
    })();
    const boot = (() => {
      const { desc, file } = loadPlatform('arm64-dt-smmuv3-mini');
      const { k } = bootPlatform(desc, { file, profile: 'v6.12' });
      return k.alloc.attempts;
    })();
    // ENOENT / EINVAL follow from an earlier failure (a HWPT or device id that was never made);
    // ENODEV when the failure stopped the selftest from loading.
    // EFAULT: iommufd_should_fail() in pfn_reader_user_pin().
    const allowed = new Set([0, -ENOMEM, -ENOENT, -EINVAL, -EFAULT]);
    const { injected } = expectCleanUnwinds((n) => {
      let r: ReturnType<typeof body>;
      try {
        r = body(n);
      } catch (e) {
        if (!(e instanceof OpenFailed)) throw e;
        expect(e.errno).toBe(-ENOMEM);
        return finishRun(e.k);
      }
      if (r.loaded !== 0) expect(r.errnos[1], `fail-nth ${n}`).toBe(-ENODEV);
      else if (n > boot)
        for (const e of r.errnos) expect(allowed.has(e), `fail-nth ${n}: ${r.errnos}`).toBe(true);
      return finishRun(r.k);
    }, total);
    expect(injected).toBeGreaterThan(0);
  });
});
