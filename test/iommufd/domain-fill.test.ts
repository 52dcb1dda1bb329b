// SPDX-License-Identifier: GPL-2.0-only
// An IOAS with a domain (iopt_table_add_domain()): the alignment and aperture
// it brings, and pinning: every area's user pages pinned (once per pages
// object) and mapped into the domain at their IOVAs, charged to
// RLIMIT_MEMLOCK, -EFAULT for memory the process does not have, undone on
// unmap and when the domain leaves. The domain is the selftest mock's paging
// domain, added through the io_pagetable directly until devices and HWPTs
// exist in the ABI.
import { describe, expect, it } from 'vitest';
import { EADDRINUSE, EFAULT, EINVAL, ENOENT, ENOMEM } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { profiles } from '../../src/profile/profiles.js';
import { UserProcess } from '../../src/mm/user-mm.js';
import { physMem } from '../../src/mm/phys-mem.js';
import { Iommufd } from '../../src/iommufd/api.js';
import type { IommufdIoas } from '../../src/iommufd/main.js';
import { U64_MAX } from '../../src/iommufd/uapi.js';
import { mock_domain_alloc_paging } from '../../src/drivers/iommufd-selftest/mock-domain.js';
import { iommu_iova_to_phys } from '../../src/iommu/map.js';
import { iommu_domain_free } from '../../src/iommu/domain-alloc.js';
import type { IommuDomain } from '../../src/iommu/domain.js';
import { loadPlatform } from '../../src/platform/load.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { iommufd_test_init } from '../../src/drivers/iommufd-selftest/mock.js';
import { MOCK_FLAGS_DEVICE_HUGE_IOVA, mock_dev_create } from '../../src/drivers/iommufd-selftest/mock-dev.js';
import { IS_ERR } from '../../src/kernel/errno.js';

const P = 4096n;
const AS = 1n << 24n;
const AL = (1n << 31n) - 1n;

function setup(failNth?: number) {
  const k = new Kernel({ profile: profiles['v6.12'], failNth });
  const proc = new UserProcess(k);
  const fd = Iommufd.open(k, proc);
  if (typeof fd === 'number') return null;
  const buf = proc.mmap(16 * 4096);
  const ioasOf = (id: number) => fd.file.ctx.peek(id, 'IOAS') as IommufdIoas;
  return { k, proc, fd, buf, ioasOf };
}

describe('a domain on an IOAS', () => {
  it('brings its page size as alignment and reserves outside its aperture', () => {
    const { k, fd, ioasOf } = setup()!;
    const { id } = fd.ioasAlloc();
    const dom = mock_domain_alloc_paging(k, null)!;
    expect(ioasOf(id).iopt.addDomain(dom)).toBe(0);
    expect(fd.iovaRanges(id)).toEqual({ errno: 0, num: 1, alignment: 2048n, ranges: [[AS, AL]] });
    // Lengths must be whole mock pages now; the auto IOVA starts at the aperture.
    expect(fd.ioasMap({ ioasId: id, userVa: 0n, length: 1024n }).errno).toBe(-EINVAL);
    ioasOf(id).iopt.removeDomain(dom);
    expect(fd.iovaRanges(id)).toEqual({ errno: 0, num: 1, alignment: 1n, ranges: [[0n, U64_MAX]] });
    iommu_domain_free(k, dom);
  });

  it('cannot join over an area outside its aperture, or an area its page size does not divide', () => {
    const { k, fd, buf, ioasOf } = setup()!;
    const a = fd.ioasAlloc().id;
    const b = fd.ioasAlloc().id;
    expect(fd.ioasMap({ ioasId: a, userVa: buf, length: P, iova: 0x1000n }).errno).toBe(0);
    expect(
      fd.ioasMap({ ioasId: b, userVa: BigInt(buf) + 0x10n, length: 0x100n, iova: AS + 0x10n }).errno,
    ).toBe(0);
    const dom = mock_domain_alloc_paging(k, null)!;
    expect(ioasOf(a).iopt.addDomain(dom)).toBe(-EADDRINUSE);
    expect(ioasOf(b).iopt.addDomain(dom)).toBe(-EADDRINUSE);
    // Nothing stayed behind: no reservation, no pin.
    expect(fd.iovaRanges(a).ranges).toEqual([[0n, U64_MAX]]);
    expect(ioasOf(a).iopt.domains).toEqual([]);
    iommu_domain_free(k, dom);
  });
});

describe('pinning', () => {
  const withDomain = () => {
    const s = setup()!;
    const { id } = s.fd.ioasAlloc();
    const dom = mock_domain_alloc_paging(s.k, null)!;
    expect(s.ioasOf(id).iopt.addDomain(dom)).toBe(0);
    return { ...s, id, dom };
  };

  it('a map pins the pages, maps them at their IOVA, and charges RLIMIT_MEMLOCK; unmap gives it all back', () => {
    const { k, proc, fd, buf, id, dom } = withDomain();
    proc.write(buf, new TextEncoder().encode('hello'));
    const m = fd.ioasMap({ ioasId: id, userVa: buf, length: 2n * P });
    expect(m).toEqual({ errno: 0, iova: AS });
    // Each 2K mock page points at the process's frame: what the device reads is what the process wrote.
    for (const off of [0, 2048, 4096, 6144]) {
      const pa = iommu_iova_to_phys(k, dom, Number(AS) + off);
      expect(pa).toBe(proc.physOf(buf + off));
    }
    expect(new TextDecoder().decode(physMem(k).read(iommu_iova_to_phys(k, dom, Number(AS)), 5))).toBe(
      'hello',
    );
    expect(proc.accounting).toEqual({ userLockedVm: 2, mmLockedVm: 0, mmPinnedVm: 2 });
    expect(fd.ioasUnmap(id, AS, 2n * P)).toEqual({ errno: 0, length: 2n * P });
    expect(iommu_iova_to_phys(k, dom, Number(AS))).toBe(0);
    expect(proc.accounting).toEqual({ userLockedVm: 0, mmLockedVm: 0, mmPinnedVm: 0 });
  });

  it('memory the process does not have is EFAULT at map time, and nothing stays pinned or mapped', () => {
    const { k, proc, fd, buf, id, dom } = withDomain();
    // The buffer's last page and the one after it (unmapped).
    expect(fd.ioasMap({ ioasId: id, userVa: buf + 15 * 4096, length: 2n * P }).errno).toBe(-EFAULT);
    expect(fd.ioasMap({ ioasId: id, userVa: 1n << 31n, length: P }).errno).toBe(-EFAULT);
    expect(proc.accounting.mmPinnedVm).toBe(0);
    expect(iommu_iova_to_phys(k, dom, Number(AS))).toBe(0);
    // The IOVA was released: the next map gets it.
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: P }).iova).toBe(AS);
  });

  it('the charge comes after pinning: a fault is EFAULT even past the limit, and nothing stays charged', () => {
    const { proc, fd, buf, id } = withDomain();
    proc.rlimitMemlock = 4096;
    // Two pages, the second not mapped: pinning fails before anything is charged.
    expect(fd.ioasMap({ ioasId: id, userVa: buf + 15 * 4096, length: 2n * P }).errno).toBe(-EFAULT);
    expect(proc.accounting).toEqual({ userLockedVm: 0, mmLockedVm: 0, mmPinnedVm: 0 });
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: 2n * P }).errno).toBe(-ENOMEM);
    expect(proc.accounting).toEqual({ userLockedVm: 0, mmLockedVm: 0, mmPinnedVm: 0 });
  });

  it('past RLIMIT_MEMLOCK is ENOMEM; CAP_IPC_LOCK is not charged; RLIMIT_MODE mm charges the mm', () => {
    const { proc, fd, buf, id } = withDomain();
    proc.rlimitMemlock = 3 * 4096;
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: 4n * P }).errno).toBe(-ENOMEM);
    expect(proc.accounting).toEqual({ userLockedVm: 0, mmLockedVm: 0, mmPinnedVm: 0 });
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: 3n * P }).errno).toBe(0);
    proc.capIpcLock = true;
    expect(fd.ioasMap({ ioasId: id, userVa: buf + 4 * 4096, length: 4n * P }).errno).toBe(0);
    expect(proc.accounting).toEqual({ userLockedVm: 3, mmLockedVm: 0, mmPinnedVm: 7 });
  });

  it('a page is pinned once however many areas and domains use it; a second domain maps every area', () => {
    const { k, proc, fd, buf, id, dom, ioasOf } = withDomain();
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: 2n * P }).iova).toBe(AS);
    const other = fd.ioasAlloc().id;
    const dom2 = mock_domain_alloc_paging(k, null)!;
    expect(ioasOf(other).iopt.addDomain(dom2)).toBe(0);
    expect(fd.ioasCopy({ srcIoasId: id, dstIoasId: other, srcIova: AS, length: 2n * P }).iova).toBe(AS);
    expect(proc.accounting.mmPinnedVm).toBe(2);
    expect(iommu_iova_to_phys(k, dom2, Number(AS) + 4096)).toBe(proc.physOf(buf + 4096));
    // A domain joining later gets the areas already there.
    const dom3 = mock_domain_alloc_paging(k, null)!;
    expect(ioasOf(id).iopt.addDomain(dom3)).toBe(0);
    expect(iommu_iova_to_phys(k, dom3, Number(AS))).toBe(proc.physOf(buf));
    expect(proc.accounting.mmPinnedVm).toBe(2);
    // Leaving unmaps it from that domain only; the pages stay pinned for the others.
    ioasOf(id).iopt.removeDomain(dom3);
    expect(iommu_iova_to_phys(k, dom3, Number(AS))).toBe(0);
    expect(iommu_iova_to_phys(k, dom, Number(AS))).toBe(proc.physOf(buf));
    expect(fd.ioasUnmap(id, 0n, U64_MAX).errno).toBe(0);
    expect(proc.accounting.mmPinnedVm).toBe(2);
    expect(fd.ioasUnmap(other, 0n, U64_MAX).errno).toBe(0);
    expect(proc.accounting.mmPinnedVm).toBe(0);
    for (const d of [dom2, dom3]) iommu_domain_free(k, d);
    ioasOf(other).iopt.domains.length = 0;
    ioasOf(id).iopt.removeDomain(dom);
    iommu_domain_free(k, dom);
  });
});

describe('large pages', () => {
  /** arm64-dt-smmuv3-mini with the selftest loaded, a MOCK_FLAGS_DEVICE_HUGE_IOVA device's domain (2K and 1M pages). */
  const hugeSetup = () => {
    const { desc, file } = loadPlatform('arm64-dt-smmuv3-mini');
    const { k } = bootPlatform(desc, { file, profile: 'v6.12' });
    expect(iommufd_test_init(k)).toBe(0);
    const dev = mock_dev_create(k, MOCK_FLAGS_DEVICE_HUGE_IOVA);
    if (IS_ERR(dev)) throw new Error('mock_dev_create');
    const proc = new UserProcess(k);
    const fd = Iommufd.open(k, proc) as Iommufd;
    const { id } = fd.ioasAlloc();
    const ioas = fd.file.ctx.peek(id, 'IOAS') as IommufdIoas;
    const dom = mock_domain_alloc_paging(k, dev)!;
    return { k, proc, fd, id, ioas, dom };
  };
  /** The mock's entry for an IOVA carries MOCK_PFN_HUGE_IOVA (bit 55 of the value, 56 of the xarray word). */
  const huge = (dom: IommuDomain, iova: bigint) => {
    const steps = dom.pgtable!.walkTrace(Number(iova)).steps;
    return ((steps[steps.length - 1].pte >> 1n) & (1n << 55n)) !== 0n;
  };

  it('a physically contiguous run is one iommu_map(): 2 MiB of huge-page memory becomes two 1M mock pages', () => {
    const { proc, fd, id, ioas, dom } = hugeSetup();
    expect(ioas.iopt.addDomain(dom)).toBe(0);
    const buf = proc.mmap(2 * 1024 * 1024, { hugePages: true });
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: 2n * 1024n * 1024n })).toEqual({
      errno: 0,
      iova: AS,
    });
    expect([AS, AS + 0x10_0000n, AS + 0x1f_f800n].map((i) => huge(dom, i))).toEqual([true, true, true]);
  });

  it('with IOMMU_OPTION_HUGE_PAGES off the same map is PAGE_SIZE pieces, so 2K mock pages', () => {
    const { proc, fd, id, ioas, dom } = hugeSetup();
    expect(fd.option(1, 'set', id, 0n).errno).toBe(0);
    expect(ioas.iopt.addDomain(dom)).toBe(0);
    const buf = proc.mmap(2 * 1024 * 1024, { hugePages: true });
    expect(fd.ioasMap({ ioasId: id, userVa: buf, length: 2n * 1024n * 1024n }).errno).toBe(0);
    expect([AS, AS + 0x10_0000n].map((i) => huge(dom, i))).toEqual([false, false]);
    expect(iommu_iova_to_phys(fd.file.ctx.k, dom, Number(AS) + 0x1f_f800)).toBe(proc.physOf(buf + 0x1f_f800));
  });
});

describe('fault injection with a domain', () => {
  // Builds an IOAS with a domain, maps, copies, lets the domain leave; returns the results and the kernel.
  const body = (failNth?: number) => {
    const s = setup(failNth);
    if (!s) return null;
    const { k, fd, buf, ioasOf } = s;
    const results: number[] = [];
    const { id } = fd.ioasAlloc();
    const doms: IommuDomain[] = [];
    const dom = id ? mock_domain_alloc_paging(k, null) : null;
    if (dom) {
      doms.push(dom);
      results.push(ioasOf(id).iopt.addDomain(dom));
    }
    results.push(fd.ioasMap({ ioasId: id, userVa: buf, length: 4n * P }).errno);
    results.push(fd.ioasMap({ ioasId: id, userVa: buf, length: P, iova: AS + 0x100000n }).errno);
    // Across a boundary of the mock's 64-entry xarray nodes (128K): the map allocates part way through.
    results.push(fd.ioasMap({ ioasId: id, userVa: buf, length: 4n * P, iova: AS + 0x40000n - 2n * P }).errno);
    results.push(fd.ioasUnmap(id, AS + 0x100000n, P).errno);
    // The domain maps exactly the areas: a failure part way through a map left nothing behind.
    let stray = 0;
    if (dom && ioasOf(id)?.iopt.domains.includes(dom)) {
      const mapped = dom.pgtable!.leaves().reduce((sum, l) => sum + l.size, 0);
      let areas = 0;
      for (const n of ioasOf(id).iopt.areas) areas += Number(n.last - n.start + 1n);
      stray = mapped - areas;
      ioasOf(id).iopt.removeDomain(dom);
    }
    fd.close();
    for (const d of doms) iommu_domain_free(k, d);
    return { k, results, proc: s.proc, stray };
  };

  it('each allocation failed in turn: an errno the kernel returns there, nothing pinned or live after', () => {
    const base = body()!;
    expect(base.results).toEqual([0, 0, 0, 0, 0]);
    for (let n = 2; n <= base.k.alloc.attempts; n++) {
      const r = body(n)!;
      // EFAULT: iommufd_should_fail() in pfn_reader_user_pin().
      for (const e of r.results) expect([0, -ENOMEM, -ENOENT, -EFAULT], `fail-nth ${n}`).toContain(e);
      expect(r.proc.accounting, `fail-nth ${n}`).toEqual({ userLockedVm: 0, mmLockedVm: 0, mmPinnedVm: 0 });
      expect(r.stray, `fail-nth ${n}: bytes mapped outside any area`).toBe(0);
      expect(
        r.k.alloc.liveAllocations().map((a) => `${a.type} from ${a.site}`),
        `fail-nth ${n}`,
      ).toEqual([]);
    }
  });
});
