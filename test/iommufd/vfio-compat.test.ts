// SPDX-License-Identifier: GPL-2.0-only
// VFIO type1 container ioctls on /dev/iommu, re-expressing the selftests'
// vfio_compat_mock_domain fixture (iommufd.c: simple_close,
// option_huge_pages, get_info, map, huge_map) for TYPE1 and TYPE1v2, plus
// the compatibility IOAS's life, the extensions, and ioctl arguments given
// as user addresses.
import { describe, expect, it } from 'vitest';
import { E2BIG, EFAULT, EINVAL, ENODEV, ENOENT, ENOTTY } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { profiles } from '../../src/profile/profiles.js';
import { UserProcess } from '../../src/mm/user-mm.js';
import { Iommufd } from '../../src/iommufd/api.js';
import { IOMMU_OPTION_HUGE_PAGES, ioctlNumber, pack, structs } from '../../src/iommufd/uapi.js';
import {
  VFIO_DMA_CC_IOMMU,
  VFIO_GET_API_VERSION,
  VFIO_IOMMU_DIRTY_PAGES,
  VFIO_IOMMU_GET_INFO,
  VFIO_IOMMU_INFO_CAPS,
  VFIO_IOMMU_INFO_PGSIZES,
  VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
  VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
  VFIO_NOIOMMU_IOMMU,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1_NESTING_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  VFIO_UNMAP_ALL,
  VFIO_UPDATE_VADDR,
  vfioStructs,
} from '../../src/iommufd/vfio-compat.js';
import { decode, encode } from '../../src/iommufd/uapi.js';
import { MOCK_APERTURE_START } from '../../src/pgtable/formats/iommufd-mock.js';
import { mockMachine } from '../support/iommufd.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';

const P = 4096;
const BUFFER_SIZE = 16 * P;
const HP = 2 * 1024 * 1024;
const AS = MOCK_APERTURE_START;

/** The fixture: an IOAS with a mock device (what VFIO would call a group), set as the compat IOAS, then SET_IOMMU. */
function fixture(version: number) {
  const m = mockMachine();
  expect(m.loaded).toBe(0);
  const fd = m.fd!;
  const ioas = fd.ioasAlloc().id;
  expect(fd.mockDomain(ioas).errno).toBe(0);
  expect(fd.call('IOMMU_VFIO_IOAS', 'vfio_ioas', { ioas_id: ioas, op: 1 }).errno).toBe(0);
  expect(fd.vfioSetIommu(version)).toBe(0);
  const buffer = m.proc.mmap(BUFFER_SIZE);
  return { ...m, fd, ioas, buffer };
}

/** A fisher-yates shuffle with a fixed seed. */
function shuffle<T>(a: T[], seed = 7): T[] {
  let x = seed;
  for (let i = a.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** VFIO_IOMMU_GET_INFO with `argsz` bytes of buffer (plus slack to catch overruns). */
function getInfo(fd: Iommufd, argsz: number) {
  const l = vfioStructs.info;
  const b = new Uint8Array(argsz + 256).fill(0xa5);
  b.fill(0, 0, Math.max(argsz, 16));
  encode(l, { argsz }, b);
  const errno = fd.file.ioctl(VFIO_IOMMU_GET_INFO, b.subarray(0, Math.max(argsz, 16)));
  const head = new Uint8Array(l.size);
  head.set(b.subarray(0, Math.min(l.size, b.length)));
  return { errno, info: decode(l, head), bytes: b };
}

/** check_vfio_info_cap_chain(): every cap inside argsz, known ids, sane contents. */
function capChain(bytes: Uint8Array, argsz: number, capOffset: number) {
  const caps: { id: number; at: number }[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  for (let at = capOffset; at; at = dv.getUint32(at + 4, true)) {
    expect(at + 8).toBeLessThanOrEqual(argsz);
    const id = dv.getUint16(at, true);
    expect(dv.getUint16(at + 2, true)).toBe(1);
    if (id === VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
      const n = dv.getUint32(at + 8, true);
      expect(at + 16 + 16 * n).toBeLessThanOrEqual(argsz);
      expect(n).toBe(1);
      expect(dv.getBigUint64(at + 16, true)).toBe(BigInt(AS));
    } else expect(id).toBe(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
    caps.push({ id, at });
    expect(caps.length).toBeLessThan(4);
  }
  return caps.map((c) => c.id);
}

describe.each([
  ['TYPE1', VFIO_TYPE1_IOMMU],
  ['TYPE1v2', VFIO_TYPE1v2_IOMMU],
])('vfio_compat_mock_domain (%s)', (_name, version) => {
  it('simple_close', () => {
    const f = fixture(version);
    f.fd.close();
    expect(f.fd.file.ctx.isReleased).toBe(true);
  });

  it('option_huge_pages: TYPE1 turned large pages off', () => {
    const f = fixture(version);
    expect(f.fd.option(IOMMU_OPTION_HUGE_PAGES, 'get', f.ioas).val).toBe(
      version === VFIO_TYPE1_IOMMU ? 0n : 1n,
    );
  });

  it('get_info: the pre-cap ABI, the chain size, and every partial size never corrupts the chain', () => {
    const f = fixture(version);
    const pre = getInfo(f.fd, 16);
    expect(pre.errno).toBe(0);
    expect(pre.info.iova_pgsizes).not.toBe(0n);
    expect(pre.info.flags).toBe(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
    const sized = getInfo(f.fd, vfioStructs.info.size);
    expect(sized.info.flags).toBe(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
    expect(sized.info.cap_offset).toBe(0);
    const caplen = Number(sized.info.argsz);
    expect(caplen).toBe(24 + 16 + 32); // struct, DMA_AVAIL (12 -> 16), IOVA_RANGE with one range
    for (let i = vfioStructs.info.size; i <= caplen; i++) {
      const r = getInfo(f.fd, i);
      expect(r.errno).toBe(0);
      expect(r.info.flags).toBe(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
      // Nothing written past argsz.
      expect([...r.bytes.subarray(i)].every((x) => x === 0xa5)).toBe(true);
      if (!r.info.cap_offset) continue;
      expect(capChain(r.bytes, i, Number(r.info.cap_offset))).toEqual([
        VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
        VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
      ]);
    }
    // The mock's 2K pages become the CPU page; TYPE1 maps by pages anyway.
    expect(pre.info.iova_pgsizes).toBe(BigInt(P));
    expect(getInfo(f.fd, 12).errno).toBe(-EINVAL);
  });

  it('map: simple map/unmap, UNMAP_FLAG_ALL, and page-sized maps unmapped in shuffled order', () => {
    const f = fixture(version);
    const { fd, buffer } = f;
    expect(fd.vfioMapDma({ vaddr: buffer, iova: AS, size: BUFFER_SIZE })).toBe(0);
    expect(fd.vfioUnmapDma(AS, BUFFER_SIZE)).toEqual({ errno: 0, size: BigInt(BUFFER_SIZE) });
    expect(fd.vfioMapDma({ vaddr: buffer, iova: AS, size: BUFFER_SIZE })).toBe(0);
    expect(fd.vfioUnmapDma(AS, BUFFER_SIZE, true).errno).toBe(-EINVAL);
    expect(fd.vfioUnmapDma(0, 0, true)).toEqual({ errno: 0, size: BigInt(BUFFER_SIZE) });
    const iovas: number[] = [];
    for (let i = 0; i < BUFFER_SIZE / P; i++) {
      iovas.push(AS + i * P);
      expect(fd.vfioMapDma({ vaddr: buffer + i * P, iova: AS + i * P, size: P })).toBe(0);
    }
    for (const iova of shuffle(iovas))
      expect(fd.vfioUnmapDma(iova, P)).toEqual({ errno: 0, size: BigInt(P) });
  });

  it('huge_map: TYPE1 can cut a 4 MiB mapping into 16 unmaps; TYPE1v2 refuses (ENOENT)', () => {
    const f = fixture(version);
    const { fd, proc } = f;
    const size = 2 * HP;
    const buf = proc.mmap(size, { hugePages: true });
    expect(fd.vfioMapDma({ vaddr: buf, iova: AS, size })).toBe(0);
    const piece = size / 16;
    const iovas = shuffle(Array.from({ length: 16 }, (_, i) => AS + i * piece));
    for (const iova of iovas) {
      const r = fd.vfioUnmapDma(iova, piece);
      if (version === VFIO_TYPE1_IOMMU) expect(r).toEqual({ errno: 0, size: BigInt(piece) });
      else expect(r.errno).toBe(-ENOENT);
    }
    // Either way nothing is left pinned once it is all gone.
    fd.vfioUnmapDma(0, 0, true);
    expect(proc.accounting.mmPinnedVm).toBe(0);
  });
});

describe('the compatibility IOAS and the container ioctls', () => {
  const bare = () => {
    const k = new Kernel({ profile: profiles['v6.12'] });
    const proc = new UserProcess(k);
    return { k, proc, fd: Iommufd.open(k, proc) as Iommufd };
  };

  it('without a compat IOAS everything but the version and the static extensions is ENODEV', () => {
    const { fd } = bare();
    expect(fd.file.ioctl(VFIO_GET_API_VERSION, 0)).toBe(0);
    expect(fd.vfioCheckExtension(VFIO_TYPE1v2_IOMMU)).toBe(1);
    expect(fd.vfioCheckExtension(VFIO_TYPE1_IOMMU)).toBe(1);
    expect(fd.vfioCheckExtension(VFIO_UNMAP_ALL)).toBe(1);
    expect(fd.vfioCheckExtension(VFIO_NOIOMMU_IOMMU)).toBe(1);
    expect(fd.vfioCheckExtension(VFIO_TYPE1_NESTING_IOMMU)).toBe(0);
    expect(fd.vfioCheckExtension(VFIO_UPDATE_VADDR)).toBe(0);
    expect(fd.vfioCheckExtension(VFIO_DMA_CC_IOMMU)).toBe(-ENODEV);
    expect(fd.vfioSetIommu(VFIO_TYPE1v2_IOMMU)).toBe(-ENODEV);
    expect(fd.vfioSetIommu(VFIO_NOIOMMU_IOMMU)).toBe(-EINVAL);
    expect(fd.vfioMapDma({ vaddr: 0, iova: 0, size: P })).toBe(-ENODEV);
    expect(getInfo(fd, 24).errno).toBe(-ENODEV);
    // Unknown container ioctls, and the dirty-pages one iommufd does not do.
    expect(fd.file.ioctl(VFIO_IOMMU_DIRTY_PAGES, new Uint8Array(16))).toBe(-ENOTTY);
    expect(fd.file.ioctl((0x3b << 8) | 105, 0)).toBe(-ENOTTY);
  });

  it('VFIO_GROUP_SET_CONTAINER makes the compat IOAS once; IOMMU_VFIO_IOAS reads it; destroying it clears it', () => {
    const { fd } = bare();
    expect(fd.call('IOMMU_VFIO_IOAS', 'vfio_ioas', { op: 0 }).errno).toBe(-ENODEV);
    expect(fd.vfioCompatIoasCreate()).toBe(0);
    const got = fd.call('IOMMU_VFIO_IOAS', 'vfio_ioas', { op: 0 });
    expect(got.errno).toBe(0);
    const id = Number(got.out.ioas_id);
    expect(id).toBe(1);
    // A second group keeps the same IOAS (and gives the id it reserved back).
    expect(fd.vfioCompatIoasCreate()).toBe(0);
    expect(fd.ioasAlloc().id).toBe(2);
    expect(fd.vfioSetIommu(VFIO_TYPE1v2_IOMMU)).toBe(0);
    expect(fd.vfioCheckExtension(VFIO_DMA_CC_IOMMU)).toBe(1); // no HWPT refuses coherency
    expect(fd.destroy(id)).toBe(0);
    expect(fd.vfioSetIommu(VFIO_TYPE1v2_IOMMU)).toBe(-ENODEV);
  });

  it('map/unmap checks: argsz, flags, and the struct bytes the caller gave', () => {
    const f = fixture(VFIO_TYPE1v2_IOMMU);
    const { fd, buffer } = f;
    const l = vfioStructs.dma_map;
    const map = (over: Record<string, number | bigint>) => {
      const b = new Uint8Array(l.size);
      encode(
        l,
        { argsz: l.size, flags: 3, vaddr: BigInt(buffer), iova: BigInt(AS), size: BigInt(P), ...over },
        b,
      );
      return fd.file.ioctl(0x3b00 | 113, b);
    };
    expect(map({ argsz: 31 })).toBe(-EINVAL);
    expect(map({ flags: 4 })).toBe(-EINVAL); // VADDR is not supported
    expect(fd.file.ioctl(0x3b00 | 113, new Uint8Array(16))).toBe(-EFAULT);
    expect(map({ flags: 1 })).toBe(0);
    // Read-only into a writable process page is fine; a second map there collides.
    expect(map({})).toBe(-17); // EEXIST from the IOVA check
    const ul = vfioStructs.dma_unmap;
    const ub = new Uint8Array(ul.size);
    encode(ul, { argsz: ul.size, flags: 1, iova: BigInt(AS), size: BigInt(P) }, ub);
    expect(fd.file.ioctl(0x3b00 | 114, ub)).toBe(-EINVAL); // GET_DIRTY_BITMAP is obsolete
  });

  it('ioctl arguments can be user addresses of the process', () => {
    const f = fixture(VFIO_TYPE1v2_IOMMU);
    const { fd, proc, buffer } = f;
    const at = proc.mmap(P);
    const l = vfioStructs.dma_map;
    const b = new Uint8Array(l.size);
    encode(
      l,
      { argsz: l.size, flags: 3, vaddr: BigInt(buffer), iova: BigInt(AS), size: BigInt(BUFFER_SIZE) },
      b,
    );
    proc.write(at, b);
    expect(fd.file.ioctl(0x3b00 | 113, at)).toBe(0);
    // An iommufd command at a user address: IOAS_ALLOC writes the id back into the process.
    proc.write(at, pack(structs.ioas_alloc, {}));
    expect(fd.file.ioctl(ioctlNumber('IOMMU_IOAS_ALLOC'), at)).toBe(0);
    expect(decode(structs.ioas_alloc, proc.read(at, 12) as Uint8Array).out_ioas_id).toBe(5);
    // Unmapped addresses fault; a longer struct needs zeros past the kernel's (read from the process).
    expect(fd.file.ioctl(ioctlNumber('IOMMU_IOAS_ALLOC'), 0x10_0000_0000)).toBe(-EFAULT);
    const long = new Uint8Array(16);
    new DataView(long.buffer).setUint32(0, 16, true);
    long[14] = 1;
    proc.write(at, long);
    expect(fd.file.ioctl(ioctlNumber('IOMMU_IOAS_ALLOC'), at)).toBe(-E2BIG);
  });

  it('every allocation of a compat body can fail without a leak', () => {
    const body = (failNth?: number) => {
      const m = mockMachine({ failNth });
      if (m.fd && m.loaded === 0) {
        const fd = m.fd;
        fd.vfioCompatIoasCreate();
        const id = Number(fd.call('IOMMU_VFIO_IOAS', 'vfio_ioas', { op: 0 }).out.ioas_id);
        fd.mockDomain(id);
        fd.vfioSetIommu(VFIO_TYPE1_IOMMU);
        const buf = m.proc.mmap(BUFFER_SIZE);
        fd.vfioMapDma({ vaddr: buf, iova: AS, size: BUFFER_SIZE });
        fd.vfioUnmapDma(AS + P, P);
        getInfo(fd, 128);
        fd.close();
      } else m.fd?.close();
      return m.k;
    };
    const total = body().alloc.attempts;
    const { injected } = expectCleanUnwinds((n) => finishRun(body(n)), total);
    expect(injected).toBeGreaterThan(0);
  });
});
