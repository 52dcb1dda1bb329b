// SPDX-License-Identifier: GPL-2.0-only
/**
 * The kernel's iommufd fail-nth selftest (tools/testing/selftests/iommu/
 * iommufd_fail_nth.c, 6.12), its seven TEST_FAIL_NTH bodies re-expressed
 * against the model through the Iommufd API, for `iommu-lab sweep`: a body
 * runs on a booted machine with the selftest module loaded; at the point
 * where the C calls fail_nth_enable() the Nth allocation from there is set
 * to fail (Allocator.armFailNth(), what writing /proc/self/task/TID/fail-nth
 * does); the body stops at its first failing call, as the C returns -1; then
 * fail-nth is disarmed and the fixture's teardown runs (the access
 * descriptor closed, teardown_iommufd(): the iommufd closed, a new one
 * opened, and MD_CHECK_REFS must find the buffer's pages pinned by no one).
 * The machine is torn down and what is still allocated is a leak.
 *
 * What the C harness does with each run's result the sweep does with more:
 * every call's errno is recorded, so that a fault surfacing as an errno the
 * kernel cannot return there is a finding, besides leaks and broken
 * invariants.
 */
import { checkInvariants, type InvariantViolation } from '../checker/invariants.js';
import { leakReport, teardown, type Leak } from '../checker/teardown.js';
import { iommufd_test_init } from '../drivers/iommufd-selftest/mock.js';
import type { Kernel } from '../kernel/kernel.js';
import { UserProcess } from '../mm/user-mm.js';
import { MOCK_APERTURE_START } from '../pgtable/formats/iommufd-mock.js';
import { bootPlatform } from '../platform/boot.js';
import { loadPlatform } from '../platform/load.js';
import { profileNames, type ProfileName } from '../profile/profile.js';
import { Iommufd } from './api.js';
import { MOCK_ACCESS_RW_SLOW_PATH, MOCK_ACCESS_RW_WRITE } from './selftest-access.js';
import { IOMMU_TEST_OP } from './uapi.js';

const PAGE_SIZE = 4096;
/** setup_buffer(): a 2 MiB shared anonymous buffer. */
const BUFFER_SIZE = 2 * 1024 * 1024;
/** The platform the bodies run on: the mock device sits on its own bus, any machine serves. */
const PLATFORM = 'arm64-dt-smmuv3-mini';

/** One call a body made and what it returned (0 or a negative errno). */
export interface FailNthCall {
  readonly op: string;
  readonly errno: number;
  /** What the call may return when an allocation fails under it (UNWIND). */
  readonly unwind: readonly number[];
}

const ENOMEM = -12;
const ENOENT = -2;
const EFAULT = -14;
const EINVAL = -22;

/**
 * The errnos each call may return when an allocation, or one of
 * iommufd_should_fail()'s points, fails under it: -ENOMEM; -ENOENT where the
 * call looks an object up (iommufd_get_object()'s point); -EFAULT where it
 * pins user pages (pfn_reader_user_pin()'s); -EINVAL where a device's
 * reserved regions are enforced (iopt_table_enforce_dev_resv_regions()'s)
 * or a mock device whose probe failed is bound (no IOMMU: not capable).
 */
const UNWIND: Readonly<Record<string, readonly number[]>> = {
  open: [ENOMEM],
  IOMMU_IOAS_ALLOC: [ENOMEM],
  IOMMU_IOAS_IOVA_RANGES: [ENOENT],
  IOMMU_IOAS_ALLOW_IOVAS: [ENOENT, ENOMEM],
  IOMMU_IOAS_MAP: [ENOENT, ENOMEM, EFAULT],
  IOMMU_IOAS_COPY: [ENOENT, ENOMEM],
  IOMMU_IOAS_UNMAP: [ENOENT],
  SET_TEMP_MEMORY_LIMIT: [],
  MOCK_DOMAIN: [ENOMEM, ENOENT, EINVAL, EFAULT],
  IOMMU_DESTROY: [],
  CREATE_ACCESS: [ENOMEM, ENOENT],
  ACCESS_RW: [ENOMEM, EFAULT],
  ACCESS_PAGES: [ENOMEM, EFAULT],
  DESTROY_ACCESS_PAGES: [],
  'close(access)': [],
  IOMMU_GET_HW_INFO: [ENOENT, ENOMEM],
  IOMMU_HWPT_ALLOC: [ENOMEM, ENOENT, EINVAL, EFAULT],
  MOCK_DOMAIN_REPLACE: [ENOMEM, ENOENT, EINVAL, EFAULT],
};

/** What a body works with: the fixture (fd, access_id) and the test's process and buffer. */
interface Fixture {
  readonly k: Kernel;
  readonly proc: UserProcess;
  readonly buffer: number;
  fd: Iommufd | null;
  /** self->access_id: the access's descriptor, 0 when none is open. */
  accessFd: number;
  /** fail_nth_enable() */
  enable(): void;
  /** Records a call; true when it failed (the body then returns -1). */
  failed(op: string, errno: number): boolean;
}

/** _test_ioctl_ioas_map() with the body's usual flags (read and write), at a fixed IOVA when given. */
function map(f: Fixture, ioas: number, length: number, iova?: number): bigint | null {
  const r = f.fd!.ioasMap({ ioasId: ioas, userVa: f.buffer, length, iova });
  return f.failed('IOMMU_IOAS_MAP', r.errno) ? null : r.iova;
}

function ioasAlloc(f: Fixture): number | null {
  const r = f.fd!.ioasAlloc();
  return f.failed('IOMMU_IOAS_ALLOC', r.errno) ? null : r.id;
}

function memoryLimit(f: Fixture, limit: number): boolean {
  const r = f.fd!.testCmd('memory_limit', IOMMU_TEST_OP.SET_TEMP_MEMORY_LIMIT, { limit });
  return !f.failed('SET_TEMP_MEMORY_LIMIT', r.errno);
}

/** The common start of the bodies after `basic`: open, an IOAS, and the test's memory limit of 32. */
function openIoas(f: Fixture): number | null {
  if (!open(f)) return null;
  const ioas = ioasAlloc(f);
  return ioas === null || !memoryLimit(f, 32) ? null : ioas;
}

function mockDomain(f: Fixture, ioas: number): { stdevId: number; hwptId: number; idevId: number } | null {
  const r = f.fd!.mockDomain(ioas);
  return f.failed('MOCK_DOMAIN', r.errno) ? null : r;
}

function destroy(f: Fixture, id: number): boolean {
  return !f.failed('IOMMU_DESTROY', f.fd!.destroy(id));
}

/** open("/dev/iommu") */
function open(f: Fixture): boolean {
  const fd = Iommufd.open(f.k, f.proc);
  if (typeof fd === 'number') {
    f.failed('open', fd);
    return false;
  }
  f.fd = fd;
  return true;
}

function createAccess(f: Fixture, ioas: number, needsPinPages: boolean): boolean {
  const r = f.fd!.createAccess(ioas, needsPinPages);
  if (f.failed('CREATE_ACCESS', r.errno)) return false;
  f.accessFd = r.fd;
  return true;
}

/** _test_cmd_destroy_access(): close the access's descriptor. */
function destroyAccess(f: Fixture): boolean {
  const rc = f.proc.close(f.accessFd);
  if (f.failed('close(access)', rc)) return false;
  f.accessFd = 0;
  return true;
}

/** The ACCESS_PAGES body shared by access_pin and access_pin_domain: pin the buffer, unpin it, close the access. */
function pinAndRelease(f: Fixture, iova: bigint): boolean {
  const r = f.fd!.accessPages(f.accessFd, iova, BUFFER_SIZE, f.buffer);
  if (f.failed('ACCESS_PAGES', r.errno)) return false;
  if (f.failed('DESTROY_ACCESS_PAGES', f.fd!.destroyAccessPages(f.accessFd, r.id))) return false;
  return destroyAccess(f);
}

/** The bodies, each returning 0 when it ran to its end and -1 where a call failed. */
const BODIES: Record<string, (f: Fixture) => number> = {
  /** Cover ioas.c */
  basic(f) {
    f.enable();
    if (!open(f)) return -1;
    const ioas = ioasAlloc(f);
    if (ioas === null) return -1;
    // IOMMU_IOAS_IOVA_RANGES into room for 10 ranges; then IOMMU_IOAS_ALLOW_IOVAS of one.
    if (f.failed('IOMMU_IOAS_IOVA_RANGES', f.fd!.iovaRanges(ioas, 10).errno)) return -1;
    if (
      f.failed(
        'IOMMU_IOAS_ALLOW_IOVAS',
        f.fd!.allowIovas(ioas, [[16 * 1024, BUFFER_SIZE + 16 * 1024 * 600 - 1]]),
      )
    )
      return -1;
    const iova = map(f, ioas, BUFFER_SIZE);
    if (iova === null) return -1;
    // sizeof(ranges): ten struct iommu_iova_range.
    const copy = f.fd!.ioasCopy({ dstIoasId: ioas, srcIoasId: ioas, srcIova: iova, length: 10 * 16 });
    if (f.failed('IOMMU_IOAS_COPY', copy.errno)) return -1;
    if (f.failed('IOMMU_IOAS_UNMAP', f.fd!.ioasUnmap(ioas, iova, BUFFER_SIZE).errno)) return -1;
    // The failure path of no IOVA to unmap: its result is not checked.
    f.fd!.ioasUnmap(ioas, iova, BUFFER_SIZE);
    return 0;
  },

  /** iopt_area_fill_domains() and iopt_area_fill_domain() */
  map_domain(f) {
    const ioas = openIoas(f);
    if (ioas === null) return -1;
    f.enable();
    const dev = mockDomain(f, ioas);
    if (dev === null || map(f, ioas, 262144) === null) return -1;
    if (!destroy(f, dev.stdevId)) return -1;
    return mockDomain(f, ioas) === null ? -1 : 0;
  },

  map_two_domains(f) {
    const ioas = openIoas(f);
    if (ioas === null) return -1;
    const dev = mockDomain(f, ioas);
    if (dev === null) return -1;
    f.enable();
    const dev2 = mockDomain(f, ioas);
    if (dev2 === null || map(f, ioas, 262144) === null) return -1;
    if (!destroy(f, dev.stdevId) || !destroy(f, dev2.stdevId)) return -1;
    if (mockDomain(f, ioas) === null) return -1;
    return mockDomain(f, ioas) === null ? -1 : 0;
  },

  access_rw(f) {
    const ioas = openIoas(f);
    if (ioas === null) return -1;
    const iova = map(f, ioas, 262144);
    if (iova === null) return -1;
    f.enable();
    if (!createAccess(f, ioas, false)) return -1;
    // uint16_t tmp[32] and uint64_t tmp_big[4096], on the test's stack: here in its address space.
    const tmp = f.proc.mmap(64);
    const big = f.proc.mmap(4096 * 8);
    for (const flags of [
      0,
      MOCK_ACCESS_RW_WRITE,
      MOCK_ACCESS_RW_SLOW_PATH,
      MOCK_ACCESS_RW_SLOW_PATH | MOCK_ACCESS_RW_WRITE,
    ])
      if (f.failed('ACCESS_RW', f.fd!.accessRw(f.accessFd, iova, 64, tmp, flags))) return -1;
    if (f.failed('ACCESS_RW', f.fd!.accessRw(f.accessFd, iova, 4096 * 8, big, MOCK_ACCESS_RW_SLOW_PATH)))
      return -1;
    return destroyAccess(f) ? 0 : -1;
  },

  /** pages.c access functions */
  access_pin(f) {
    const ioas = openIoas(f);
    if (ioas === null) return -1;
    const iova = map(f, ioas, BUFFER_SIZE);
    if (iova === null || !createAccess(f, ioas, true)) return -1;
    f.enable();
    return pinAndRelease(f, iova) ? 0 : -1;
  },

  /** iopt_pages_fill_xarray() */
  access_pin_domain(f) {
    const ioas = openIoas(f);
    if (ioas === null) return -1;
    const dev = mockDomain(f, ioas);
    if (dev === null) return -1;
    const iova = map(f, ioas, BUFFER_SIZE);
    if (iova === null || !createAccess(f, ioas, true)) return -1;
    f.enable();
    if (!pinAndRelease(f, iova)) return -1;
    return destroy(f, dev.stdevId) ? 0 : -1;
  },

  /** device.c */
  device(f) {
    if (!open(f)) return -1;
    const ioas = ioasAlloc(f);
    const ioas2 = ioas === null ? null : ioasAlloc(f);
    if (ioas === null || ioas2 === null) return -1;
    if (map(f, ioas, PAGE_SIZE, MOCK_APERTURE_START) === null) return -1;
    if (map(f, ioas2, PAGE_SIZE, MOCK_APERTURE_START) === null) return -1;
    f.enable();
    const dev = mockDomain(f, ioas);
    if (dev === null) return -1;
    // struct iommu_test_hw_info: two u32.
    if (f.failed('IOMMU_GET_HW_INFO', f.fd!.hwInfo(dev.idevId, 8).errno)) return -1;
    const hwpt = f.fd!.hwptAlloc(dev.idevId, ioas, 0);
    if (f.failed('IOMMU_HWPT_ALLOC', hwpt.errno)) return -1;
    if (f.failed('MOCK_DOMAIN_REPLACE', f.fd!.mockDomainReplace(dev.stdevId, ioas2).errno)) return -1;
    return f.failed('MOCK_DOMAIN_REPLACE', f.fd!.mockDomainReplace(dev.stdevId, hwpt.id).errno) ? -1 : 0;
  },
};

/** The bodies, in the C file's order. */
export const iommufdFailNthTests: readonly string[] = Object.keys(BODIES);

/**
 * The oldest profile each body's calls exist in: `device` needs
 * IOMMU_GET_HW_INFO and IOMMU_HWPT_ALLOC (6.6), so 6.4 answers -ENOTTY; the
 * others run on every profile.
 */
const SINCE: Readonly<Record<string, ProfileName>> = { device: 'v6.7' };

/** The profiles a body is meant for (what `sweep --profile all` runs it under). */
export function iommufdFailNthProfiles(test: string): ProfileName[] {
  const since = profileNames.indexOf(SINCE[test] ?? profileNames[0]);
  return profileNames.slice(since);
}

export interface IommufdFailNthRun {
  readonly test: string;
  /** 0 when the body ran to its end, -1 when a call failed. */
  readonly result: number;
  readonly calls: readonly FailNthCall[];
  /** Allocation attempts from fail_nth_enable() to the body's end: the fail points. */
  readonly allocations: number;
  readonly failNth: { readonly injected: { type: string; site: string; owner: string } | null } | null;
  /** MD_CHECK_REFS on a fresh iommufd after the teardown: 0 when no page of the buffer is still pinned. */
  readonly refsCheck: number;
  readonly invariantViolations: readonly InvariantViolation[];
  readonly leaks: readonly Leak[];
}

/** Runs one body (failing the Nth allocation from its fail_nth_enable() when nth is given). */
export function runIommufdFailNth(
  test: string,
  opts: { profile: ProfileName; nth?: number },
): IommufdFailNthRun {
  const body = Object.hasOwn(BODIES, test) ? BODIES[test] : undefined;
  if (body === undefined) throw new RangeError(`no iommufd fail-nth test "${test}"`);
  const { desc, file } = loadPlatform(PLATFORM);
  const { k } = bootPlatform(desc, { file, profile: opts.profile });
  const loaded = iommufd_test_init(k);
  if (loaded !== 0) throw new Error(`iommufd fail-nth ${test}: the selftest module did not load (${loaded})`);
  const proc = new UserProcess(k);
  const buffer = proc.mmap(BUFFER_SIZE);
  const calls: FailNthCall[] = [];
  let enabledAt = -1;
  const f: Fixture = {
    k,
    proc,
    buffer,
    fd: null,
    accessFd: 0,
    enable() {
      enabledAt = k.alloc.attempts;
      if (opts.nth) k.alloc.armFailNth(opts.nth);
    },
    failed(op, errno) {
      calls.push({ op, errno, unwind: UNWIND[op] ?? [] });
      return errno !== 0;
    },
  };
  const result = body(f);
  const allocations = enabledAt < 0 ? 0 : k.alloc.attempts - enabledAt;
  // fail_nth_next() writes 0 before the fixture's teardown.
  k.alloc.armFailNth(0);
  if (f.accessFd !== 0) proc.close(f.accessFd);
  let refsCheck = 0;
  if (f.fd !== null) {
    f.fd.close();
    const again = Iommufd.open(k, proc);
    if (typeof again === 'number') refsCheck = again;
    else {
      refsCheck = again.checkRefs(buffer, BUFFER_SIZE, 0);
      again.close();
    }
  }
  const invariantViolations = checkInvariants(k);
  const injected = k.alloc.injected;
  teardown(k);
  return {
    test,
    result,
    calls,
    allocations,
    failNth: opts.nth
      ? { injected: injected ? { type: injected.type, site: injected.site, owner: injected.owner } : null }
      : null,
    refsCheck,
    invariantViolations,
    leaks: leakReport(k),
  };
}
