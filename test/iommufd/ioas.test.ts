// SPDX-License-Identifier: GPL-2.0-only
// The /dev/iommu ABI for IOAS commands, written from include/uapi/linux/iommufd.h
// and the kernel's checks (main.c, ioas.c, io_pagetable.c, 6.12): struct bytes
// in, errno and struct bytes out; the generic size checks in the kernel's
// order; ids; IOVA allocation, fixed IOVAs, allowed ranges, unmap without
// splitting, copy; the u64 edge cases; close releasing everything; and every
// body re-run failing each of its allocations in turn.
import { describe, expect, it } from 'vitest';
import {
  E2BIG,
  EADDRINUSE,
  EBADF,
  EBUSY,
  EEXIST,
  EFAULT,
  EINVAL,
  EMSGSIZE,
  ENODEV,
  ENOENT,
  ENOMEM,
  ENOSPC,
  ENOTTY,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
} from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { profiles } from '../../src/profile/profiles.js';
import { UserProcess, PROT_READ } from '../../src/mm/user-mm.js';
import { Iommufd } from '../../src/iommufd/api.js';
import { openIommufd } from '../../src/iommufd/main.js';
import {
  IOCTL_OPS,
  IOMMU_OPTION_HUGE_PAGES,
  IOMMU_OPTION_RLIMIT_MODE,
  U64_MAX,
  ioctlNumber,
  iommufdCmd,
  IOMMU_TEST_OP,
  pack,
  structs,
  testCmds,
} from '../../src/iommufd/uapi.js';

const P = 4096n;
const HP = 2n * 1024n * 1024n;

function setup(failNth?: number) {
  const k = new Kernel({ profile: profiles['v6.12'], failNth });
  const proc = new UserProcess(k);
  const fd = Iommufd.open(k, proc);
  if (typeof fd === 'number') throw new Error(`open: ${fd}`);
  // A 2 MiB-aligned buffer, as the selftests' posix_memalign(HUGEPAGE_SIZE) gives.
  const buf = proc.mmap(Number(4n * HP), { hugePages: true });
  return { k, proc, fd, buf: BigInt(buf) };
}

describe('the generic ioctl checks, in the kernel’s order', () => {
  it('size first (EFAULT), then the table slot (ENOTTY), min_size (EINVAL), trailing bytes (E2BIG)', () => {
    const { fd } = setup();
    const f = fd.file;
    const alloc = ioctlNumber('IOMMU_IOAS_ALLOC');
    // Fewer than 4 bytes: the size cannot be read.
    expect(f.ioctl(alloc, new Uint8Array(2))).toBe(-EFAULT);
    // A number outside the table goes to the VFIO compat handler; a gap or a wrong number is ENOTTY.
    expect(f.ioctl(iommufdCmd(0x7f), pack(structs.destroy, {}))).toBe(-ENOTTY);
    expect(f.ioctl(iommufdCmd(0x8f), pack(structs.destroy, {}))).toBe(-ENOTTY);
    expect(f.ioctl(alloc | (12 << 16), pack(structs.ioas_alloc, {}))).toBe(-ENOTTY);
    // size below min_size (out_ioas_id ends at 12).
    const short = pack(structs.ioas_alloc, {});
    new DataView(short.buffer).setUint32(0, 8, true);
    expect(f.ioctl(alloc, short)).toBe(-EINVAL);
    // A longer struct from a newer user space: zeros are fine, anything else is E2BIG.
    const long = new Uint8Array(24);
    new DataView(long.buffer).setUint32(0, 24, true);
    expect(f.ioctl(alloc, long)).toBe(0);
    expect(new DataView(long.buffer).getUint32(8, true)).toBe(1);
    // The bytes past the kernel struct are left alone.
    long[20] = 1;
    expect(f.ioctl(alloc, long)).toBe(-E2BIG);
    // A size claiming more bytes than the buffer holds: the copy faults.
    const lying = pack(structs.ioas_alloc, {});
    new DataView(lying.buffer).setUint32(0, 64, true);
    expect(f.ioctl(alloc, lying)).toBe(-EFAULT);
  });

  it('every command of the newest table answers (none throws NotModelledError)', () => {
    const k = new Kernel({ profile: profiles['v6.18'] });
    const fd = Iommufd.open(k, new UserProcess(k)) as Iommufd;
    for (const op of IOCTL_OPS) {
      const b = pack(structs[op.struct], {});
      new DataView(b.buffer).setUint32(0, structs[op.struct].size, true);
      expect(() => fd.file.ioctl(ioctlNumber(op.name), b), op.name).not.toThrow();
    }
    // Generic checks come first: a size below min_size.
    const b = pack(structs.ioas_change_process, {});
    new DataView(b.buffer).setUint32(0, 4, true);
    expect(fd.file.ioctl(ioctlNumber('IOMMU_IOAS_CHANGE_PROCESS'), b)).toBe(-EINVAL);
  });
});

describe('objects: ids, destroy, close', () => {
  it('ids are the lowest free from 1, reused after destroy; unknown ids are ENOENT', () => {
    const { fd } = setup();
    expect([1, 2, 3].map(() => fd.ioasAlloc())).toEqual([1, 2, 3].map((id) => ({ errno: 0, id })));
    expect(fd.destroy(2)).toBe(0);
    expect(fd.destroy(2)).toBe(-ENOENT);
    expect(fd.destroy(0)).toBe(-ENOENT);
    expect(fd.ioasAlloc()).toEqual({ errno: 0, id: 2 });
    expect(fd.ioasAlloc()).toEqual({ errno: 0, id: 4 });
    expect(fd.call('IOMMU_IOAS_ALLOC', 'ioas_alloc', { flags: 1 }).errno).toBe(-EOPNOTSUPP);
    expect(fd.iovaRanges(99).errno).toBe(-ENOENT);
  });

  it('close destroys every object and frees every allocation; the fd is dead after', () => {
    const { k, fd, buf } = setup();
    const before = k.alloc.liveAllocations().length;
    const { id } = fd.ioasAlloc();
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: P * 4n }).errno).toBe(0);
    expect(fd.allowIovas(id, [[P, 1n << 40n]])).toBe(0);
    expect(k.alloc.liveAllocations().length).toBeGreaterThan(before);
    fd.close();
    expect(k.alloc.liveAllocations().map((a) => a.type)).toEqual([]);
    expect(fd.file.ioctl(ioctlNumber('IOMMU_IOAS_ALLOC'), pack(structs.ioas_alloc, {}))).toBe(-EBADF);
  });
});

describe('IOMMU_VFIO_IOAS', () => {
  it('get/set/clear the compatibility IOAS; destroying it clears it', () => {
    const { fd } = setup();
    const vfio = (op: number, ioas_id = 0, extra: Record<string, number> = {}) =>
      fd.call('IOMMU_VFIO_IOAS', 'vfio_ioas', { op, ioas_id, ...extra });
    expect(vfio(0).errno).toBe(-ENODEV);
    expect(vfio(1, 5).errno).toBe(-ENOENT);
    const { id } = fd.ioasAlloc();
    expect(vfio(1, id).errno).toBe(0);
    expect(vfio(0).out.ioas_id).toBe(id);
    expect(vfio(2).errno).toBe(0);
    expect(vfio(0).errno).toBe(-ENODEV);
    expect(vfio(1, id).errno).toBe(0);
    expect(fd.destroy(id)).toBe(0);
    expect(vfio(0).errno).toBe(-ENODEV);
    expect(vfio(3).errno).toBe(-EOPNOTSUPP);
    expect(vfio(0, 0, { __reserved: 1 }).errno).toBe(-EOPNOTSUPP);
  });
});

describe('IOAS_IOVA_RANGES and IOAS_ALLOW_IOVAS', () => {
  it('a fresh IOAS: one range [0, U64_MAX], alignment 1; too little room is EMSGSIZE with the count', () => {
    const { fd } = setup();
    const { id } = fd.ioasAlloc();
    expect(fd.iovaRanges(id)).toEqual({ errno: 0, num: 1, alignment: 1n, ranges: [[0n, U64_MAX]] });
    const r = fd.call('IOMMU_IOAS_IOVA_RANGES', 'ioas_iova_ranges', { ioas_id: id, num_iovas: 0 });
    expect([r.errno, r.out.num_iovas]).toEqual([-EMSGSIZE, 1]);
    // The ranges pointer is only written when there is room: a bad one with room faults.
    const bad = fd.call('IOMMU_IOAS_IOVA_RANGES', 'ioas_iova_ranges', {
      ioas_id: id,
      num_iovas: 1,
      allowed_iovas: 8n,
    });
    expect(bad.errno).toBe(-EFAULT);
    expect(fd.call('IOMMU_IOAS_IOVA_RANGES', 'ioas_iova_ranges', { ioas_id: id, __reserved: 1 }).errno).toBe(
      -EOPNOTSUPP,
    );
  });

  it('touching allowed ranges are one window for allocation; ranges are checked one by one as they are read', () => {
    const { fd, proc, buf } = setup();
    const { id } = fd.ioasAlloc();
    expect(
      fd.allowIovas(id, [
        [0x10000n, 0x1ffffn],
        [0x20000n, 0x2ffffn],
      ]),
    ).toBe(0);
    expect(fd.ioasMap({ ioasId: id, userVa: buf + 0x10000n, length: 0x20000n })).toEqual({
      errno: 0,
      iova: 0x10000n,
    });
    // Range 0 is bad and range 1 lies on an unmapped page: the bad range is found first (EINVAL, not EFAULT).
    const page = proc.mmap(4096);
    expect(proc.write(page + 4096 - 16, pack(structs.iova_range, { start: 5n, last: 5n }))).toBe(0);
    const r = fd.call('IOMMU_IOAS_ALLOW_IOVAS', 'ioas_allow_iovas', {
      ioas_id: id,
      num_iovas: 2,
      allowed_iovas: BigInt(page + 4096 - 16),
    });
    expect(r.errno).toBe(-EINVAL);
    // A huge count over memory of zeros stops at the first range ({0, 0}: EINVAL), reading nothing more.
    const zeros = fd.call('IOMMU_IOAS_ALLOW_IOVAS', 'ioas_allow_iovas', {
      ioas_id: id,
      num_iovas: 0xffffffff,
      allowed_iovas: BigInt(proc.mmap(1 << 20)),
    });
    expect(zeros.errno).toBe(-EINVAL);
  });

  it('allowed ranges: start < last, no overlaps, from readable user memory; they bound automatic IOVAs', () => {
    const { fd, buf } = setup();
    const { id } = fd.ioasAlloc();
    expect(fd.allowIovas(id, [[P, P]])).toBe(-EINVAL);
    expect(
      fd.allowIovas(id, [
        [P, 3n * P],
        [2n * P, 4n * P],
      ]),
    ).toBe(-EINVAL);
    const r = fd.call('IOMMU_IOAS_ALLOW_IOVAS', 'ioas_allow_iovas', {
      ioas_id: id,
      num_iovas: 1,
      allowed_iovas: 16n,
    });
    expect(r.errno).toBe(-EFAULT);
    expect(fd.allowIovas(id, [[0x1000_0000n, 0x1fff_ffffn]])).toBe(0);
    // Allowed ranges restrict allocation, not what IOVA_RANGES reports.
    expect(fd.iovaRanges(id).ranges).toEqual([[0n, U64_MAX]]);
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: P })).toEqual({ errno: 0, iova: 0x1000_0000n });
    // A fixed IOVA outside them is still fine (they only steer allocation).
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: P, iova: 0x4000_0000n }).errno).toBe(0);
    // Replacing the list with an empty one lifts the restriction.
    expect(fd.allowIovas(id, [])).toBe(0);
    expect(fd.ioasMap({ ioasId: id, userVa: buf + P, length: P }).iova).toBe(P);
  });
});

describe('IOAS_MAP', () => {
  it('argument checks in the kernel’s order', () => {
    const { fd, buf } = setup();
    const { id } = fd.ioasAlloc();
    const map = (v: Record<string, number | bigint>) =>
      fd.call('IOMMU_IOAS_MAP', 'ioas_map', { ioas_id: id, user_va: buf, length: P, flags: 6, ...v }).errno;
    expect(map({ flags: 8 })).toBe(-EOPNOTSUPP);
    expect(map({ __reserved: 1 })).toBe(-EOPNOTSUPP);
    expect(map({ iova: U64_MAX, flags: 7 })).toBe(-EOVERFLOW);
    expect(map({ length: U64_MAX })).toBe(-EOVERFLOW);
    expect(map({ flags: 0 })).toBe(-EINVAL);
    expect(map({ ioas_id: 77 })).toBe(-ENOENT);
    expect(map({ length: 0 })).toBe(-EINVAL);
    // iopt_alloc_pages(): uptr + length wraps.
    expect(map({ user_va: U64_MAX - P + 1n, length: 2n * P })).toBe(-EOVERFLOW);
    // A fixed IOVA whose end wraps.
    expect(map({ flags: 7, iova: U64_MAX - P, length: 2n * P })).toBe(-EOVERFLOW);
  });

  it('automatic IOVAs: first fit from 4K, aligned like the length and the user address, never 0', () => {
    const { fd, buf } = setup();
    const { id } = fd.ioasAlloc();
    const iovas = [0n, 1n, 2n].map((i) => fd.ioasMap({ ioasId: id, userVa: buf + i * P, length: P }).iova);
    expect(iovas).toEqual([P, 2n * P, 3n * P]);
    // 2 pages from a 2 MiB-aligned address: aligned to 8K.
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: 2n * P }).iova).toBe(4n * P);
    // A huge length from a 2 MiB-aligned address: 2 MiB aligned (HPAGE_SIZE caps the alignment).
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: 4n * HP }).iova).toBe(HP);
    // A sub-page user address keeps its page offset in the IOVA.
    const odd = fd.ioasMap({ ioasId: id, userVa: buf + 0x10n, length: 0x100n });
    expect(odd.iova % P).toBe(0x10n);
    // Every allocated IOVA avoids the others.
    expect(fd.ioasUnmap(id, 0n, U64_MAX).errno).toBe(0);
  });

  it('a hole of one byte never fits: __alloc_iova_check_range() wants the aligned start below the hole’s last', () => {
    const { fd } = setup();
    const { id } = fd.ioasAlloc();
    expect(fd.allowIovas(id, [[P, P + 1n]])).toBe(0);
    expect(fd.ioasMap({ ioasId: id, userVa: 0n, length: 1n, iova: P }).errno).toBe(0);
    expect(fd.ioasMap({ ioasId: id, userVa: 0n, length: 1n }).errno).toBe(-ENOSPC);
    // With two bytes free it fits at the first.
    expect(fd.allowIovas(id, [[P, P + 2n]])).toBe(0);
    expect(fd.ioasMap({ ioasId: id, userVa: 0n, length: 1n })).toEqual({ errno: 0, iova: P + 1n });
  });

  it('fixed IOVAs: alignment, reserved, existing areas; any user address is fine without a domain', () => {
    const { fd } = setup();
    const { id } = fd.ioasAlloc();
    // No domain: nothing is pinned, so a user address that maps nothing is accepted (lazy pinning).
    expect(fd.ioasMap({ ioasId: id, userVa: 1n << 31n, length: P, iova: 0x10000n }).errno).toBe(0);
    expect(fd.ioasMap({ ioasId: id, userVa: 1n << 31n, length: P, iova: 0x10000n }).errno).toBe(-EEXIST);
    expect(fd.ioasMap({ ioasId: id, userVa: 1n << 31n, length: 3n * P, iova: 0xe000n }).errno).toBe(-EEXIST);
    expect(fd.ioasMap({ ioasId: id, userVa: 1n << 31n, length: P, iova: 0x11000n }).errno).toBe(0);
    // The top of the IOVA space: [U64_MAX - P + 1, U64_MAX] is a valid fixed mapping.
    expect(fd.ioasMap({ ioasId: id, userVa: 1n << 31n, length: P, iova: U64_MAX - P + 1n }).errno).toBe(0);
    expect(fd.ioasUnmap(id, U64_MAX - P + 1n, P)).toEqual({ errno: 0, length: P });
  });

  it('HUGE_PAGES off makes the IOAS page aligned: sub-page maps are refused, existing ones block it', () => {
    const { fd, buf } = setup();
    const { id } = fd.ioasAlloc();
    expect(fd.option(IOMMU_OPTION_HUGE_PAGES, 'get', id)).toEqual({ errno: 0, val: 1n });
    expect(fd.ioasMap({ ioasId: id, userVa: buf + 0x10n, length: 0x100n }).errno).toBe(0);
    // An existing area that is not page aligned: EADDRINUSE, the flag stays as it was.
    expect(fd.option(IOMMU_OPTION_HUGE_PAGES, 'set', id, 0n).errno).toBe(-EADDRINUSE);
    expect(fd.option(IOMMU_OPTION_HUGE_PAGES, 'get', id).val).toBe(1n);
    expect(fd.ioasUnmap(id, 0n, U64_MAX).errno).toBe(0);
    expect(fd.option(IOMMU_OPTION_HUGE_PAGES, 'set', id, 0n).errno).toBe(0);
    expect(fd.iovaRanges(id).alignment).toBe(P);
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: 0x100n }).errno).toBe(-EINVAL);
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: P, iova: 0x800n }).errno).toBe(-EINVAL);
    expect(fd.option(IOMMU_OPTION_HUGE_PAGES, 'set', id, 2n).errno).toBe(-EINVAL);
    expect(fd.option(IOMMU_OPTION_HUGE_PAGES, 'set', id, 1n).errno).toBe(0);
    expect(fd.iovaRanges(id).alignment).toBe(1n);
    expect(fd.option(77, 'get', id).errno).toBe(-EOPNOTSUPP);
  });

  it('RLIMIT_MODE: the context’s, settable only while it holds no object', () => {
    const { fd } = setup();
    expect(fd.option(IOMMU_OPTION_RLIMIT_MODE, 'get')).toEqual({ errno: 0, val: 0n });
    expect(fd.option(IOMMU_OPTION_RLIMIT_MODE, 'set', 0, 1n).errno).toBe(0);
    expect(fd.option(IOMMU_OPTION_RLIMIT_MODE, 'get').val).toBe(1n);
    expect(fd.option(IOMMU_OPTION_RLIMIT_MODE, 'get', 1).errno).toBe(-EOPNOTSUPP);
    fd.ioasAlloc();
    expect(fd.option(IOMMU_OPTION_RLIMIT_MODE, 'set', 0, 0n).errno).toBe(-EBUSY);
    fd.file.ctx.capSysResource = false;
    expect(fd.option(IOMMU_OPTION_RLIMIT_MODE, 'set', 0, 0n).errno).toBe(-EPERM);
  });
});

describe('IOAS_UNMAP and IOAS_COPY', () => {
  it('unmap never splits: a range cutting an area is ENOENT after removing what fit; nothing is ENOENT', () => {
    const { fd, buf } = setup();
    const { id } = fd.ioasAlloc();
    for (const i of [0n, 1n, 2n]) fd.ioasMap({ ioasId: id, userVa: buf, length: P, iova: 0x100000n + i * P });
    fd.ioasMap({ ioasId: id, userVa: buf, length: 2n * P, iova: 0x200000n });
    expect(fd.ioasUnmap(id, 0x100000n, 2n * P)).toEqual({ errno: 0, length: 2n * P });
    // [0x102000, 0x201000) covers the third page but cuts the 8K area: ENOENT, the page is gone anyway.
    expect(fd.ioasUnmap(id, 0x102000n, 0x200000n - 0x102000n + P).errno).toBe(-ENOENT);
    expect(fd.ioasUnmap(id, 0x102000n, P).errno).toBe(-ENOENT);
    expect(fd.ioasUnmap(id, 0n, 0n).errno).toBe(-EINVAL);
    expect(fd.ioasUnmap(id, U64_MAX - P, 2n * P).errno).toBe(-EOVERFLOW);
    expect(fd.ioasUnmap(id, 0n, U64_MAX)).toEqual({ errno: 0, length: 2n * P });
    // Unmap-all of an empty IOAS succeeds with 0 bytes; a range with nothing is ENOENT.
    expect(fd.ioasUnmap(id, 0n, U64_MAX)).toEqual({ errno: 0, length: 0n });
    expect(fd.ioasUnmap(id, P, P).errno).toBe(-ENOENT);
  });

  it('copy takes the source’s pages for a contiguous range; a write copy of a read-only map is EPERM', () => {
    const { k, fd, buf } = setup();
    const a = fd.ioasAlloc().id;
    const b = fd.ioasAlloc().id;
    fd.ioasMap({ ioasId: a, userVa: buf, length: P, iova: 0x10000n });
    fd.ioasMap({ ioasId: a, userVa: buf + P, length: P, iova: 0x11000n, writeable: false });
    const pagesBefore = k.alloc.liveAllocations().filter((x) => x.type === 'iopt_pages').length;
    // An automatic destination IOVA, aligned as the source's user address and the length allow: 8K.
    expect(
      fd.ioasCopy({ srcIoasId: a, dstIoasId: b, srcIova: 0x10000n, length: 2n * P, writeable: false }),
    ).toEqual({
      errno: 0,
      iova: 2n * P,
    });
    // The pages objects are shared, not copied.
    expect(k.alloc.liveAllocations().filter((x) => x.type === 'iopt_pages').length).toBe(pagesBefore);
    expect(fd.ioasCopy({ srcIoasId: a, dstIoasId: b, srcIova: 0x10000n, length: 2n * P }).errno).toBe(-EPERM);
    expect(fd.ioasCopy({ srcIoasId: a, dstIoasId: b, srcIova: 0x10000n, length: 3n * P }).errno).toBe(
      -ENOENT,
    );
    expect(fd.ioasCopy({ srcIoasId: a, dstIoasId: 99, srcIova: 0x10000n, length: P }).errno).toBe(-ENOENT);
    expect(
      fd.ioasCopy({ srcIoasId: a, dstIoasId: b, srcIova: 0x10000n, length: P, dstIova: 3n * P }).errno,
    ).toBe(-EEXIST);
    // The source can go; the copy keeps the pages alive.
    expect(fd.destroy(a)).toBe(0);
    expect(k.alloc.liveAllocations().filter((x) => x.type === 'iopt_pages').length).toBe(2);
    expect(fd.ioasUnmap(b, 0n, U64_MAX)).toEqual({ errno: 0, length: 2n * P });
    expect(k.alloc.liveAllocations().filter((x) => x.type === 'iopt_pages').length).toBe(0);
  });
});

describe('IOMMU_TEST_CMD: ADD_RESERVED', () => {
  const reserve = (fd: Iommufd, id: number, start: bigint, length: bigint) => {
    const bytes = pack(testCmds.add_reserved, { op: IOMMU_TEST_OP.ADD_RESERVED, id, start, length });
    return fd.file.ioctl(ioctlNumber('IOMMU_TEST_CMD'), bytes);
  };

  it('reserved ranges leave IOVA_RANGES, refuse fixed maps (EINVAL) and are skipped by allocation', () => {
    const { fd, buf } = setup();
    const { id } = fd.ioasAlloc();
    expect(reserve(fd, id, P, 0n)).toBe(-EINVAL);
    expect(reserve(fd, id, U64_MAX, 2n)).toBe(-EOVERFLOW);
    expect(reserve(fd, 99, P, P)).toBe(-ENOENT);
    expect(reserve(fd, id, 0n, 0x10000n)).toBe(0);
    // Reservations may overlap each other.
    expect(reserve(fd, id, 0x8000n, 0x10000n)).toBe(0);
    expect(reserve(fd, id, U64_MAX - P + 1n, P)).toBe(0);
    expect(fd.iovaRanges(id).ranges).toEqual([[0x18000n, U64_MAX - P]]);
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: P, iova: 0x17000n }).errno).toBe(-EINVAL);
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: P })).toEqual({ errno: 0, iova: 0x18000n });
    // Over an area, or over an allowed range: EADDRINUSE; an allowed range over a reservation likewise.
    expect(reserve(fd, id, 0x18000n, 1n)).toBe(-EADDRINUSE);
    expect(fd.allowIovas(id, [[0x100000n, 0x1fffffn]])).toBe(0);
    expect(reserve(fd, id, 0x1ff000n, 0x2000n)).toBe(-EADDRINUSE);
    expect(fd.allowIovas(id, [[0x4000n, 0x7fffn]])).toBe(-EADDRINUSE);
    // The old allowed list stayed: allocation still lands in it.
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: P }).iova).toBe(0x100000n);
  });

  it('IOVA_RANGES with less room than holes: EMSGSIZE, the total, and the first ones written', () => {
    const { fd } = setup();
    const { id } = fd.ioasAlloc();
    expect(reserve(fd, id, 0x10000n, P)).toBe(0);
    expect(reserve(fd, id, 0x20000n, P)).toBe(0);
    const r = fd.iovaRanges(id, 2);
    expect(r).toEqual({
      errno: -EMSGSIZE,
      num: 3,
      alignment: 1n,
      ranges: [
        [0n, 0xffffn],
        [0x11000n, 0x1ffffn],
      ],
    });
    expect(fd.iovaRanges(id, 3).ranges[2]).toEqual([0x21000n, U64_MAX]);
  });

  it('an allocation whose ALIGN_UP would wrap past U64_MAX skips that window (no wrap-around IOVA)', () => {
    const { fd } = setup();
    const { id } = fd.ioasAlloc();
    // A small low window and one at the very top: a 2 MiB map fits neither (the top one's aligned start wraps).
    expect(
      fd.allowIovas(id, [
        [P, 2n * P - 1n],
        [U64_MAX - 0x10_0000n, U64_MAX],
      ]),
    ).toBe(0);
    expect(fd.ioasMap({ ioasId: id, userVa: HP, length: HP }).errno).toBe(-ENOSPC);
    // A page fits in the low window.
    expect(fd.ioasMap({ ioasId: id, userVa: 0n, length: P }).iova).toBe(P);
  });

  it('the other ops: SET_TEMP_MEMORY_LIMIT checks its floor, unknown ops are EOPNOTSUPP, no test command without CONFIG_IOMMUFD_TEST', () => {
    const { fd } = setup();
    const cmd = ioctlNumber('IOMMU_TEST_CMD');
    const limit = (n: number) =>
      fd.file.ioctl(cmd, pack(testCmds.memory_limit, { op: IOMMU_TEST_OP.SET_TEMP_MEMORY_LIMIT, limit: n }));
    expect(limit(11)).toBe(-EINVAL);
    expect(limit(12)).toBe(0);
    expect(fd.file.ctx.testMemoryLimit).toBe(12);
    expect(fd.file.ioctl(cmd, pack(testCmds.memory_limit, { op: 99 }))).toBe(-EOPNOTSUPP);
    // TRIGGER_IOPF needs a device.
    expect(
      fd.file.ioctl(cmd, pack(testCmds.trigger_iopf, { op: IOMMU_TEST_OP.TRIGGER_IOPF, dev_id: 7 })),
    ).toBe(-ENOENT);
    // No mock devices without the selftest loaded (iommufd_test_init()).
    expect(fd.file.ioctl(cmd, pack(testCmds.memory_limit, { op: IOMMU_TEST_OP.MOCK_DOMAIN }))).toBe(-ENODEV);
    // The struct is 72 bytes and min_size runs through `last` (68).
    const short = pack(testCmds.memory_limit, { op: IOMMU_TEST_OP.SET_TEMP_MEMORY_LIMIT, limit: 64 });
    new DataView(short.buffer).setUint32(0, 64, true);
    expect(fd.file.ioctl(cmd, short)).toBe(-EINVAL);
    const k = new Kernel({ profile: profiles['v6.12'], kconfig: { IOMMUFD_TEST: false } });
    const plain = Iommufd.open(k, new UserProcess(k)) as Iommufd;
    expect(plain.file.ioctl(cmd, pack(testCmds.memory_limit, { op: 9, limit: 64 }))).toBe(-ENOTTY);
  });
});

describe('the user address space', () => {
  it('reads of unmapped or write-protected user memory fault; a process’s bytes live in physical memory', () => {
    const k = new Kernel({ profile: profiles['v6.12'] });
    const proc = new UserProcess(k);
    const a = proc.mmap(8192);
    expect(proc.write(a + 4094, Uint8Array.of(1, 2, 3, 4))).toBe(0);
    expect(proc.read(a + 4094, 4)).toEqual(Uint8Array.of(1, 2, 3, 4));
    expect(proc.read(a + 8190, 4)).toBe(-EFAULT);
    const ro = proc.mmap(4096, { prot: PROT_READ });
    expect(proc.write(ro, Uint8Array.of(1))).toBe(-EFAULT);
    expect(proc.munmap(a, 8192)).toBe(0);
    expect(proc.read(a, 1)).toBe(-EFAULT);
  });
});

describe('fault injection', () => {
  const body = (failNth?: number) => {
    const { k, fd, buf } = setup(failNth);
    const results: number[] = [];
    const a = fd.ioasAlloc();
    results.push(a.errno);
    const b = fd.ioasAlloc();
    results.push(b.errno);
    results.push(fd.allowIovas(a.id, [[P, 1n << 32n]]));
    results.push(fd.ioasMap({ ioasId: a.id, userVa: buf, length: 4n * P }).errno);
    results.push(fd.ioasMap({ ioasId: a.id, userVa: buf, length: P, iova: 0x100000n }).errno);
    results.push(fd.ioasCopy({ srcIoasId: a.id, dstIoasId: b.id, srcIova: 0x100000n, length: P }).errno);
    results.push(fd.ioasUnmap(a.id, 0n, U64_MAX).errno);
    fd.close();
    return { k, results };
  };

  it('every allocation of the body failed in turn: ENOMEM where it failed, nothing left after close', () => {
    const base = body();
    expect(base.results).toEqual([0, 0, 0, 0, 0, 0, 0]);
    const total = base.k.alloc.attempts;
    expect(total).toBeGreaterThan(8);
    // The first allocation is open()'s own (tested below).
    for (let n = 2; n <= total; n++) {
      const r = body(n);
      expect(r.k.alloc.injected?.nth, `fail-nth ${n}`).toBe(n);
      // A failed allocation surfaces as ENOMEM (or, downstream of a failed IOAS_ALLOC, ENOENT);
      // iommufd's own injection points (iommufd_should_fail()) as ENOENT from a lookup.
      const own = r.k.alloc.injected?.type === 'fail_iommufd';
      for (const e of r.results) expect([0, -ENOMEM, -ENOENT], `fail-nth ${n}`).toContain(e);
      expect(r.results, `fail-nth ${n}`).toContain(own ? -ENOENT : -ENOMEM);
      expect(
        r.k.alloc.liveAllocations().map((a) => `${a.type} from ${a.site}`),
        `fail-nth ${n}`,
      ).toEqual([]);
    }
  });

  it('opening fails cleanly when its allocation does', () => {
    const k = new Kernel({ profile: profiles['v6.12'], failNth: 1 });
    expect(openIommufd(k, new UserProcess(k))).toBe(-ENOMEM);
  });
});
