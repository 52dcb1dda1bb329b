// SPDX-License-Identifier: GPL-2.0-only
// The DMA API through iommu-dma on an SMMUv3: where IOVAs come from (top
// down under the mask, PCI below 4G first), what unmapping costs in
// invalidations (strict: a range command and a sync per unmap; DMA-FQ:
// nothing until the queue flushes), scatterlists laid out as
// iommu_dma_map_sg() does, coherent buffers, and DMA-API debug findings.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bootSmmuV3Mini, bootSmmuV3Pci, haveSmmuV3Pci } from '../support/dma-platforms.js';
import {
  DMA_MAPPING_ERROR,
  dma_alloc_attrs,
  dma_free_attrs,
  dma_map_page_attrs,
  dma_map_sg_attrs,
  dma_mapping_error,
  dma_set_mask_and_coherent,
  dma_unmap_page_attrs,
  dma_unmap_sg_attrs,
} from '../../src/dma/mapping.js';
import { sg_from_buffers } from '../../src/dma/scatterlist.js';
import { iommu_iova_to_phys } from '../../src/iommu/map.js';
import { dmaDebug } from '../../src/checker/dma-debug.js';
import { teardown, leakReport } from '../../src/checker/teardown.js';
import { device_release_driver } from '../../src/base/dd.js';
import { iova_ranges } from '../../src/dma/iova.js';

const GIB = 2 ** 30;

describe('dma_map_page through iommu-dma (arm64-dt-smmuv3-mini, strict)', () => {
  it('allocates top-down under the mask and maps the page; unmap removes it and invalidates once', () => {
    const { k, dev } = bootSmmuV3Mini();
    const eth = dev('10000000.ethernet');
    const domain = eth.iommu_group!.default_domain!;
    expect(eth.dma_iommu).toBe(true);
    expect(domain.pgtable?.cfg.fmt).toBe('ARM_64_LPAE_S1');
    expect(domain.geometry).toEqual({ aperture_start: 0, aperture_end: 2 ** 48 - 1, force_aperture: true });
    const tlb = eth.iommu!.iommu_dev!.iotlb;
    const before = { commands: tlb.commands, syncs: tlb.syncs };

    const h = dma_map_page_attrs(k, eth, 0x8000_1234, 100, 'bidirectional');
    expect(dma_mapping_error(k, eth, h)).toBe(0);
    // 32-bit default mask: the highest page below 4G, with the buffer's offset.
    expect(h).toBe(0xffff_f234);
    expect(iommu_iova_to_phys(k, domain, h)).toBe(0x8000_1234);

    dma_set_mask_and_coherent(eth, 64);
    const h2 = dma_map_page_attrs(k, eth, 0x8000_3000, 0x2000, 'to-device');
    dma_mapping_error(k, eth, h2);
    // A platform device has no 32-bit-first workaround: straight to the top of the 48-bit aperture.
    expect(h2).toBe(2 ** 48 - 0x2000);
    expect(tlb.commands).toBe(before.commands); // mapping sends no invalidation

    dma_unmap_page_attrs(k, eth, h2, 0x2000, 'to-device');
    expect(iommu_iova_to_phys(k, domain, h2)).toBe(0);
    // QEMU's SMMUv3 has range invalidation: the two pages go in one command, then a CMD_SYNC.
    expect(tlb.commands - before.commands).toBe(1);
    expect(tlb.syncs - before.syncs).toBe(1);
    dma_unmap_page_attrs(k, eth, h, 100, 'bidirectional');
    expect(dmaDebug(k).errors).toEqual([]);
    teardown(k);
    expect(leakReport(k)).toEqual([]);
  });

  it('keeps the reserved MSI window out of the IOVA space (iova_reserve_iommu_regions)', () => {
    const { k, dev } = bootSmmuV3Mini();
    const eth = dev('10000000.ethernet');
    const iovad = eth.iommu_group!.default_domain!.iova_cookie!.iovad!;
    // The software MSI window is iommu-dma's own to hand out: not reserved in the allocator.
    expect(iova_ranges(iovad)).toEqual([]);
    expect(iovad.start_pfn).toBe(1);
    expect(iovad.granule).toBe(4096);
    void k;
  });

  it('a mask too small to hold the buffer fails the mapping with DMA_MAPPING_ERROR', () => {
    const { k, dev } = bootSmmuV3Mini();
    const eth = dev('10000000.ethernet');
    expect(dma_set_mask_and_coherent(eth, 24)).toBe(0);
    // 16 MiB of IOVA space holds 4095 pages (pfn 0 is never used); 8 MiB twice does not fit.
    const a = dma_map_page_attrs(k, eth, 0x9000_0000, 8 << 20, 'bidirectional');
    expect(a).not.toBe(DMA_MAPPING_ERROR);
    const b = dma_map_page_attrs(k, eth, 0xa000_0000, 8 << 20, 'bidirectional');
    expect(b).toBe(DMA_MAPPING_ERROR);
    expect(dma_mapping_error(k, eth, b)).toBe(-12);
  });
});

describe('lazy invalidation: DMA-FQ (iommu.strict=0)', () => {
  it('an unmap sends nothing; the IOVA comes back only after the queue flushed the domain', () => {
    const { k, dev } = bootSmmuV3Mini({ cmdline: 'iommu.strict=0' });
    const eth = dev('10000000.ethernet');
    const domain = eth.iommu_group!.default_domain!;
    expect(domain.type).toBe(11); // IOMMU_DOMAIN_DMA_FQ
    const cookie = domain.iova_cookie!;
    expect(cookie.fq_domain).toBe(domain);
    const tlb = eth.iommu!.iommu_dev!.iotlb;
    const c0 = tlb.commands;

    const h = dma_map_page_attrs(k, eth, 0x8000_0000, 4096, 'from-device');
    dma_mapping_error(k, eth, h);
    dma_unmap_page_attrs(k, eth, h, 4096, 'from-device');
    expect(tlb.commands).toBe(c0);
    expect(iommu_iova_to_phys(k, domain, h)).toBe(0); // the table is already clear
    expect(cookie.fqs[0].length).toBe(1);
    // Not yet reusable: the next mapping gets another IOVA.
    const h2 = dma_map_page_attrs(k, eth, 0x8000_0000, 4096, 'from-device');
    dma_mapping_error(k, eth, h2);
    expect(h2).not.toBe(h);

    k.clock.advance(9);
    expect(tlb.commands).toBe(c0);
    k.clock.advance(1); // IOVA_DEFAULT_FQ_TIMEOUT: 10 ms
    expect(tlb.commands).toBe(c0 + 1); // one invalidation of the whole domain
    expect(cookie.fq_flushes).toBe(1);
    expect(cookie.fqs[0].length).toBe(0);
    dma_unmap_page_attrs(k, eth, h2, 4096, 'from-device');
    // Back in the per-CPU cache: the freed IOVA is handed out again.
    const h3 = dma_map_page_attrs(k, eth, 0x8000_0000, 4096, 'from-device');
    expect(h3).toBe(h);
  });

  it('a full ring flushes at once: 256 entries per CPU queue', () => {
    const { k, dev } = bootSmmuV3Mini({ cmdline: 'iommu.strict=0' });
    const eth = dev('10000000.ethernet');
    const cookie = eth.iommu_group!.default_domain!.iova_cookie!;
    const handles: number[] = [];
    for (let i = 0; i < 300; i++) {
      const h = dma_map_page_attrs(k, eth, 0x8000_0000 + i * 4096, 4096, 'to-device');
      dma_mapping_error(k, eth, h);
      handles.push(h);
    }
    for (const h of handles) dma_unmap_page_attrs(k, eth, h, 4096, 'to-device');
    // The ring holds 255 (one slot stays empty): the 256th unmap flushed and freed them.
    expect(cookie.fq_flushes).toBe(1);
    expect(cookie.fqs[0].length).toBe(300 - 255);
  });
});

describe.skipIf(!haveSmmuV3Pci)('PCI functions behind the SMMUv3 (QEMU virt, IORT)', () => {
  it('try below 4G first, and say "Using 48-bit DMA addresses" once that space is full', () => {
    const { k, dev } = bootSmmuV3Pci();
    const nic = dev('0000:05:00.0');
    expect(nic.dma_iommu).toBe(true);
    expect(dma_set_mask_and_coherent(nic, 64)).toBe(0);
    const a = dma_map_page_attrs(k, nic, 0x1_0000_0000, 2 * GIB, 'bidirectional');
    expect(a).toBeLessThan(2 ** 32);
    // The MSI window at 0x8000000 is reserved: a second 2 GiB cannot fit below 4G.
    const b = dma_map_page_attrs(k, nic, 0x2_0000_0000, 2 * GIB, 'bidirectional');
    expect(b).toBeGreaterThanOrEqual(2 ** 32);
    expect(nic.iommu!.pci_32bit_workaround).toBe(false);
    expect(
      k.printk.lines.some((l) => l.source === nic.name && l.message === 'Using 48-bit DMA addresses'),
    ).toBe(true);
  });

  it('a scatterlist: one IOVA range, entries padded so none crosses a 4G boundary, merged up to 64K segments', () => {
    const { k, dev } = bootSmmuV3Pci();
    const nic = dev('0000:05:00.0');
    const sg = sg_from_buffers([
      { phys: 0x9000_0100, length: 0x1000 }, // starts mid-page: its own segment
      { phys: 0x9001_0000, length: 0xf000 },
      { phys: 0x9002_0000, length: 0x2000 }, // joins the previous one: 0x11000 > 64K, so not
      { phys: 0x9003_0000, length: 0x800 },
    ]);
    const n = dma_map_sg_attrs(k, nic, sg, 'to-device');
    expect(n).toBe(3);
    const segs = sg.slice(0, n).map((s) => [s.dma_address, s.dma_length]);
    const base = segs[0][0] - 0x100;
    expect(segs).toEqual([
      [base + 0x100, 0x1000],
      [base + 0x2000, 0xf000],
      [base + 0x11000, 0x2800],
    ]);
    const domain = nic.iommu_group!.default_domain!;
    expect(iommu_iova_to_phys(k, domain, base + 0x100)).toBe(0x9000_0100);
    expect(iommu_iova_to_phys(k, domain, base + 0x11000)).toBe(0x9002_0000);
    expect(iommu_iova_to_phys(k, domain, base + 0x13000)).toBe(0x9003_0000);
    // The original entries are restored for the caller.
    expect(sg[0].offset).toBe(0x100);
    expect(sg[0].length).toBe(0x1000);
    dma_unmap_sg_attrs(k, nic, sg, 'to-device');
    expect(iommu_iova_to_phys(k, domain, base + 0x2000)).toBe(0);
    expect(dmaDebug(k).errors).toEqual([]);
  });

  it('DMA-API debug: wrong size, unchecked error, and mappings left at unbind (PCI)', () => {
    const { k, dev } = bootSmmuV3Pci();
    const nic = dev('0000:05:00.0');
    const h = dma_map_page_attrs(k, nic, 0x8000_0000, 0x3000, 'from-device');
    dma_unmap_page_attrs(k, nic, h, 0x2000, 'from-device');
    const h2 = dma_map_page_attrs(k, nic, 0x8001_0000, 0x1000, 'to-device');
    dma_mapping_error(k, nic, h2);
    const msgs = () => dmaDebug(k).errors.map((e) => e.message);
    expect(msgs()).toEqual([
      `DMA-API: ${nic.name}: device driver frees DMA memory with different size [device address=0x${h.toString(16).padStart(16, '0')}] [map size=12288 bytes] [unmap size=8192 bytes]`,
      `DMA-API: ${nic.name}: device driver failed to check map error[device address=0x${h.toString(16).padStart(16, '0')}] [size=12288 bytes] [mapped as single]`,
    ]);
    device_release_driver(k, nic);
    expect(msgs()[2]).toContain(
      'device driver has pending DMA allocations while released from device [count=1]',
    );
    expect(msgs()[2]).toContain('[mapped with DMA_TO_DEVICE] [mapped as single]');
  });
});

describe('coherent buffers', () => {
  it('dma_alloc_coherent maps zeroed pages back to back in one IOVA range; free unmaps and returns them', () => {
    const { k, dev } = bootSmmuV3Mini();
    const usb = dev('10100000.usb');
    const domain = usb.iommu_group!.default_domain!;
    const buf = dma_alloc_attrs(k, usb, 3 * 4096 + 5)!;
    expect(buf.pages).toHaveLength(4);
    buf.pages.forEach((p, i) => expect(iommu_iova_to_phys(k, domain, buf.dma_handle + i * 4096)).toBe(p));
    dma_free_attrs(k, usb, buf);
    expect(iommu_iova_to_phys(k, domain, buf.dma_handle)).toBe(0);
    teardown(k);
    expect(leakReport(k)).toEqual([]);
    expect(dmaDebug(k).errors).toEqual([]);
  });

  it('a buffer never freed is a leak of its pages at teardown', () => {
    const { k, dev } = bootSmmuV3Mini();
    dma_alloc_attrs(k, dev('10100000.usb'), 4096);
    teardown(k);
    expect(leakReport(k).map((l) => l.type)).toEqual(['dma pages array', 'pages (order 0)']);
  });
});

describe('property: live mappings translate to their buffers and never overlap (vs a Map oracle)', () => {
  it('random map/unmap sequences under strict and lazy invalidation', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('map' as const),
              pages: fc.integer({ min: 1, max: 40 }),
              off: fc.integer({ min: 0, max: 4095 }),
            }),
            fc.record({ op: fc.constant('unmap' as const), pick: fc.nat() }),
            fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 20 }) }),
          ),
          { maxLength: 60 },
        ),
        (lazy, ops) => {
          const { k, dev } = bootSmmuV3Mini({ cmdline: lazy ? 'iommu.strict=0' : '' });
          const eth = dev('10000000.ethernet');
          const domain = eth.iommu_group!.default_domain!;
          const live = new Map<number, { phys: number; size: number }>();
          let next = 0x1_0000_0000;
          for (const o of ops) {
            if (o.op === 'map') {
              const size = o.pages * 4096 - o.off;
              const phys = next + o.off;
              next += o.pages * 4096 + 4096;
              const h = dma_map_page_attrs(k, eth, phys, size, 'bidirectional');
              expect(dma_mapping_error(k, eth, h)).toBe(0);
              for (const [h2, m] of live) expect(h + size <= h2 || h2 + m.size <= h).toBe(true);
              live.set(h, { phys, size });
            } else if (o.op === 'unmap' && live.size) {
              const h = [...live.keys()][o.pick % live.size];
              dma_unmap_page_attrs(k, eth, h, live.get(h)!.size, 'bidirectional');
              expect(iommu_iova_to_phys(k, domain, h)).toBe(0);
              live.delete(h);
            } else if (o.op === 'wait') k.clock.advance(o.ms);
            for (const [h, m] of live) {
              expect(iommu_iova_to_phys(k, domain, h)).toBe(m.phys);
              expect(iommu_iova_to_phys(k, domain, h + m.size - 1)).toBe(m.phys + m.size - 1);
            }
          }
          expect(dmaDebug(k).errors).toEqual([]);
          for (const [h, m] of live) dma_unmap_page_attrs(k, eth, h, m.size, 'bidirectional');
          teardown(k);
          expect(leakReport(k)).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  });
});
