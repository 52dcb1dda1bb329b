// SPDX-License-Identifier: GPL-2.0-only
// The iommufd selftest's mock paging domain translating a mock device's DMA,
// on a machine where the mock gets its own ops (the arm64 device-tree
// machine under v6.12: nothing else registers without a fwnode, so
// iommu_ops_from_fwnode(NULL) is the mock's; on x86 VT-d's would win, the
// seed bug). The domain is the 'iommufd-mock' xarray format: 2K entries
// with the start/last, dirty and huge flags of selftest.c, the mock
// aperture, no IOTLB; a write marks its entry dirty and the dirty ops read
// and clear it.
import { describe, expect, it } from 'vitest';
import type { Device } from '../../src/base/device.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { IommuDomain } from '../../src/iommu/domain.js';
import { loadPlatform } from '../../src/platform/load.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { iommufd_test_init } from '../../src/drivers/iommufd-selftest/mock.js';
import {
  MOCK_FLAGS_DEVICE_HUGE_IOVA,
  MOCK_FLAGS_DEVICE_NO_DIRTY,
  mock_dev_create,
  mock_dev_destroy,
} from '../../src/drivers/iommufd-selftest/mock-dev.js';
import {
  IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
  MockIommuDomain,
  mock_domain_alloc_user,
  mock_domain_read_and_clear_dirty,
  mock_domain_set_dirty_tracking,
} from '../../src/drivers/iommufd-selftest/mock-domain.js';
import {
  MOCK_APERTURE_LAST,
  MOCK_APERTURE_START,
  MOCK_PFN_DIRTY_IOVA,
  MOCK_PFN_HUGE_IOVA,
  MOCK_PFN_START_IOVA,
} from '../../src/pgtable/formats/iommufd-mock.js';
import { iommu_paging_domain_alloc, iommu_domain_free } from '../../src/iommu/domain-alloc.js';
import { iommu_attach_group, iommu_detach_group } from '../../src/iommu/attach.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../../src/iommu/ownership.js';
import { iommu_iova_to_phys, iommu_map, iommu_unmap } from '../../src/iommu/map.js';
import { IOMMU_DIRTY_NO_CLEAR, IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/prot.js';
import { dmaRead, dmaWrite } from '../../src/dma/device-dma.js';
import { physMem } from '../../src/mm/phys-mem.js';
import { dmaJson } from '../../src/report/dma-report.js';
import { leakReport, teardown } from '../../src/checker/teardown.js';
import { EINVAL, EOPNOTSUPP, IS_ERR, PTR_ERR } from '../../src/kernel/errno.js';
import { expectCleanUnwinds, failNthPoints, finishRun } from '../support/fail-nth.js';

const bytes = (...v: number[]) => Uint8Array.from(v);
const RW = IOMMU_READ | IOMMU_WRITE;
/** A leaf's flags, as the format decodes them from the value entry. */
const START = MOCK_PFN_START_IOVA;
const DIRTY = MOCK_PFN_DIRTY_IOVA;
const HUGE = MOCK_PFN_HUGE_IOVA;

/** arm64-dt-smmuv3-mini under v6.12 with the selftest loaded. */
function bootWithMock(failNth?: number): { k: Kernel; loaded: number } {
  const { desc, file } = loadPlatform('arm64-dt-smmuv3-mini');
  const { k } = bootPlatform(desc, { file, profile: 'v6.12', failNth });
  return { k, loaded: iommufd_test_init(k) };
}

/** A mock device claimed for a DMA owner (iommufd's path) and a paging domain attached to its group. */
function attached(k: Kernel, dev: Device, domain: IommuDomain): void {
  expect(iommu_device_claim_dma_owner(k, dev, 'iommufd')).toBe(0);
  expect(iommu_attach_group(k, domain, dev.iommu_group!)).toBe(0);
}

function mockDev(k: Kernel, flags = 0): Device {
  const d = mock_dev_create(k, flags);
  if (IS_ERR(d)) throw new Error(`mock_dev_create: ${PTR_ERR(d)}`);
  return d;
}

/** iommufd_hwpt_paging_alloc(): the driver's domain_alloc_user(), then domain->owner = ops. */
function hwptAlloc(k: Kernel, dev: Device, flags: number): MockIommuDomain | number {
  const d = mock_domain_alloc_user(k, dev, flags);
  if (IS_ERR(d)) return PTR_ERR(d);
  d.owner = dev.iommu!.iommu_dev!.ops;
  return d as MockIommuDomain;
}

function pagingDomain(k: Kernel, dev: Device): IommuDomain {
  const d = iommu_paging_domain_alloc(k, dev);
  if (IS_ERR(d)) throw new Error(`iommu_paging_domain_alloc: ${PTR_ERR(d)}`);
  return d;
}

describe('the mock paging domain (mock_domain_alloc_paging) on a machine where the mock gets its own ops', () => {
  it('the mock aperture without force_aperture, 2K pages, and 1M as well for a MOCK_FLAGS_DEVICE_HUGE_IOVA device', () => {
    const { k, loaded } = bootWithMock();
    expect(loaded).toBe(0);
    const plain = mockDev(k);
    const huge = mockDev(k, MOCK_FLAGS_DEVICE_HUGE_IOVA);
    expect(plain.iommu?.iommu_dev?.name).toBe('iommufd_selftest_iommu');
    // mock_ops.default_domain: the blocking domain.
    expect(plain.iommu_group!.domain!.label).toBe('mock blocking');
    const d1 = pagingDomain(k, plain);
    const d2 = pagingDomain(k, huge);
    expect(d1).toBeInstanceOf(MockIommuDomain);
    expect(d1.pgsize_bitmap).toBe(0x800);
    expect(d2.pgsize_bitmap).toBe(0x800 | 0x10_0000);
    for (const d of [d1, d2]) {
      expect(d.geometry).toEqual({
        aperture_start: MOCK_APERTURE_START,
        aperture_end: MOCK_APERTURE_LAST,
        force_aperture: false,
      });
      expect(d.pgtable!.cfg.fmt).toBe('IOMMUFD_MOCK');
      expect(d.iommu).toBeNull(); // no IOTLB
    }
    iommu_domain_free(k, d1);
    iommu_domain_free(k, d2);
    mock_dev_destroy(k, plain);
    mock_dev_destroy(k, huge);
    teardown(k);
    expect(leakReport(k)).toEqual([]);
  });

  it('device DMA through the xarray: the two 2K halves of one 4K page go where their own entries say', () => {
    const { k } = bootWithMock();
    const dev = mockDev(k);
    const dom = pagingDomain(k, dev);
    attached(k, dev, dom);
    const iova = MOCK_APERTURE_START + 0x1000;
    expect(iommu_map(k, dom, iova, 0x8000_0000, 0x800, RW)).toBe(0);
    expect(iommu_map(k, dom, iova + 0x800, 0x9000_0000, 0x800, RW)).toBe(0);
    // Each map_pages call's entry is both its start and its last: MOCK_PFN_START_IOVA == MOCK_PFN_LAST_IOVA.
    expect(dom.pgtable!.leaves().map((l) => [l.iova, l.paddr, l.attrs])).toEqual([
      [iova, 0x8000_0000, START],
      [iova + 0x800, 0x9000_0000, START],
    ]);
    const w = dmaWrite(k, dev, iova + 0x7fe, bytes(1, 2, 3, 4));
    expect(w.ok && w.phys).toEqual([0x8000_07fe, 0x9000_0000]);
    expect([...physMem(k).read(0x8000_07fe, 2)]).toEqual([1, 2]);
    expect([...physMem(k).read(0x9000_0000, 2)]).toEqual([3, 4]);
    const r = dmaRead(k, dev, iova + 0x800, 2);
    expect(r.ok && [...r.data]).toEqual([3, 4]);
    // mock_domain_iova_to_phys(): the entry's page.
    expect(iommu_iova_to_phys(k, dom, iova + 0x800)).toBe(0x9000_0000);
    // No IOTLB, nothing to invalidate: nothing is counted, nothing goes stale.
    expect(iommu_unmap(k, dom, iova, 0x1000)).toBe(0x1000);
    expect(dev.iommu!.iommu_dev!.iotlb.commands).toBe(0);
    const late = dmaWrite(k, dev, iova, bytes(9));
    expect(!late.ok && late.fault.reason).toBe('unmapped');
    // No hardware to report it: the fault is recorded, nothing printed.
    expect(!late.ok && late.fault.log).toEqual([]);
    expect(dmaJson(k).staleIotlbUses).toEqual([]);
    iommu_detach_group(k, dev.iommu_group!);
    iommu_domain_free(k, dom);
    iommu_device_release_dma_owner(k, dev);
  });

  it('an IOVA below the aperture is just unmapped (geometry without force_aperture)', () => {
    const { k } = bootWithMock();
    const dev = mockDev(k);
    const dom = pagingDomain(k, dev);
    attached(k, dev, dom);
    const r = dmaRead(k, dev, MOCK_APERTURE_START - 0x1000, 4);
    expect(!r.ok && r.fault.reason).toBe('unmapped');
  });

  it('a huge-IOVA device: a 2M map is two 1M runs of 2K entries, each marked MOCK_PFN_HUGE_IOVA', () => {
    const { k } = bootWithMock();
    const dev = mockDev(k, MOCK_FLAGS_DEVICE_HUGE_IOVA);
    const dom = pagingDomain(k, dev);
    attached(k, dev, dom);
    const iova = MOCK_APERTURE_START; // 16M: 1M aligned
    expect(iommu_map(k, dom, iova, 0x8000_0000, 0x20_0000, RW)).toBe(0);
    const leaves = dom.pgtable!.leaves();
    expect(leaves).toHaveLength(1024);
    expect(leaves.every((l) => (l.attrs & HUGE) !== 0n)).toBe(true);
    // One map_pages call of two 1M pages: its first and its last entry carry START/LAST.
    expect(leaves.filter((l) => l.attrs & START).map((l) => l.iova)).toEqual([
      iova,
      iova + 0x20_0000 - 0x800,
    ]);
    expect(dmaWrite(k, dev, iova + 0x15_0000, bytes(6)).ok).toBe(true);
    expect(physMem(k).read(0x8015_0000, 1)[0]).toBe(6);
    expect(iommu_unmap(k, dom, iova, 0x20_0000)).toBe(0x20_0000);
    expect(k.printk.warnings).toEqual([]);
  });

  it('without the huge page size, unmapping from inside a map call trips the selftest check (WARN_ON: not a start entry)', () => {
    const { k } = bootWithMock();
    const dev = mockDev(k);
    const dom = pagingDomain(k, dev);
    attached(k, dev, dom);
    const iova = MOCK_APERTURE_START;
    expect(iommu_map(k, dom, iova, 0x8000_0000, 0x2000, RW)).toBe(0);
    expect(iommu_unmap(k, dom, iova + 0x800, 0x800)).toBe(0x800);
    expect(k.printk.warnings.map((w) => w.message)).toContain(
      'WARN_ON(ent && !(xa_to_value(ent) & MOCK_PFN_START_IOVA))',
    );
  });

  it('dirty tracking: a device write marks its entry; read_and_clear_dirty reports the page and cleans it', () => {
    const { k } = bootWithMock();
    const dev = mockDev(k);
    const dom = hwptAlloc(k, dev, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
    if (typeof dom === 'number') throw new Error('alloc_user');
    // Reading into a bitmap needs tracking on.
    const seen: [number, number][] = [];
    const record = (iova: number, len: number) => seen.push([iova, len]);
    expect(mock_domain_read_and_clear_dirty(dom, MOCK_APERTURE_START, 0x2000, 0, record)).toBe(-EINVAL);
    expect(mock_domain_set_dirty_tracking(dom, true)).toBe(0);
    attached(k, dev, dom);
    const iova = MOCK_APERTURE_START;
    expect(iommu_map(k, dom, iova, 0x8000_0000, 0x2000, RW)).toBe(0);
    expect(dmaWrite(k, dev, iova + 0x900, bytes(1)).ok).toBe(true);
    expect(dmaRead(k, dev, iova + 0x1800, 1).ok).toBe(true); // a read dirties nothing
    expect(
      dom
        .pgtable!.leaves()
        .filter((l) => l.attrs & DIRTY)
        .map((l) => l.iova),
    ).toEqual([iova + 0x800]);
    expect(mock_domain_read_and_clear_dirty(dom, iova, 0x2000, IOMMU_DIRTY_NO_CLEAR, record)).toBe(0);
    expect(seen).toEqual([[iova + 0x800, 0x800]]);
    expect(mock_domain_read_and_clear_dirty(dom, iova, 0x2000, 0, record)).toBe(0);
    expect(mock_domain_read_and_clear_dirty(dom, iova, 0x2000, 0, record)).toBe(0);
    expect(seen).toEqual([
      [iova + 0x800, 0x800],
      [iova + 0x800, 0x800],
    ]);
    expect(iommu_unmap(k, dom, iova, 0x2000)).toBe(0x2000);
    iommu_detach_group(k, dev.iommu_group!);
    iommu_domain_free(k, dom);
  });

  it('a device created with MOCK_FLAGS_DEVICE_NO_DIRTY gets no dirty domain and cannot join one', () => {
    const { k } = bootWithMock();
    const nodirty = mockDev(k, MOCK_FLAGS_DEVICE_NO_DIRTY);
    const other = mockDev(k);
    expect(hwptAlloc(k, nodirty, IOMMU_HWPT_ALLOC_DIRTY_TRACKING)).toBe(-EOPNOTSUPP);
    expect(hwptAlloc(k, nodirty, 1 << 7)).toBe(-EOPNOTSUPP);
    const dirty = hwptAlloc(k, other, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
    if (typeof dirty === 'number') throw new Error('alloc_user');
    expect(iommu_device_claim_dma_owner(k, nodirty, 'iommufd')).toBe(0);
    // mock_domain_nop_attach()
    expect(iommu_attach_group(k, dirty, nodirty.iommu_group!)).toBe(-EINVAL);
    const plain = hwptAlloc(k, nodirty, 0);
    if (typeof plain === 'number') throw new Error('alloc_user');
    expect(mock_domain_set_dirty_tracking(plain, true)).toBe(-EINVAL);
    expect(iommu_attach_group(k, plain, nodirty.iommu_group!)).toBe(0);
    iommu_detach_group(k, nodirty.iommu_group!);
    iommu_domain_free(k, plain);
    iommu_domain_free(k, dirty);
  });

  it('mock_domain_free() WARNs when entries are left in the xarray', () => {
    const { k } = bootWithMock();
    const dev = mockDev(k);
    const dom = pagingDomain(k, dev);
    expect(iommu_map(k, dom, MOCK_APERTURE_START, 0x8000_0000, 0x800, RW)).toBe(0);
    iommu_domain_free(k, dom);
    expect(k.printk.warnings.map((w) => `${w.site}: ${w.message}`)).toEqual([
      'mock_domain_free: WARN_ON(!xa_empty(&mock->pfns))',
    ]);
  });
});

describe('fail-nth over the mock: load, device, domain, attach, map, DMA, unmap, free', () => {
  it('each allocation failed in turn: no leak, no invariant broken', () => {
    const run = (failNth?: number) => {
      const { k, loaded } = bootWithMock(failNth);
      const dev = loaded ? null : mock_dev_create(k, MOCK_FLAGS_DEVICE_HUGE_IOVA);
      if (dev && !IS_ERR(dev) && dev.iommu_group) {
        const dom = iommu_paging_domain_alloc(k, dev);
        if (!IS_ERR(dom)) {
          if (
            !iommu_device_claim_dma_owner(k, dev, 'iommufd') &&
            !iommu_attach_group(k, dom, dev.iommu_group)
          ) {
            if (!iommu_map(k, dom, MOCK_APERTURE_START, 0x8000_0000, 0x10_2000, RW)) {
              const w = dmaWrite(k, dev, MOCK_APERTURE_START + 0x10_0ffe, bytes(1, 2, 3));
              expect(w.ok && w.phys).toEqual([0x8010_0ffe, 0x8010_1000]);
              expect(iommu_unmap(k, dom, MOCK_APERTURE_START, 0x10_2000)).toBe(0x10_2000);
            }
            iommu_detach_group(k, dev.iommu_group);
          }
          iommu_domain_free(k, dom);
        }
      }
      return finishRun(k);
    };
    const base = run();
    expect(base.leaks).toEqual([]);
    const total = base.k.alloc.attempts;
    const { injected } = expectCleanUnwinds(run, total);
    expect(injected).toBe(failNthPoints(total).length);
  });
});
