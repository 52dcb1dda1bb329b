// SPDX-License-Identifier: GPL-2.0-only
// A device doing DMA through its SMMUv3: the bytes land where the page table
// says, and every refusal is a fault with its reason and the event record
// arm_smmu_evtq_thread() would print: unmapped after dma_unmap_page, a write
// through a to-device (read-only) mapping, an IOVA past the 48-bit aperture,
// the blocking domain a DMA owner switches the group to; identity passes
// addresses through; under DMA-FQ the IOTLB keeps a translation after unmap
// until the queue is flushed, which the model reports as a stale use.
import { describe, expect, it } from 'vitest';
import { bootSmmuV3Mini } from '../support/dma-platforms.js';
import {
  dma_map_page_attrs,
  dma_mapping_error,
  dma_set_mask_and_coherent,
  dma_unmap_page_attrs,
} from '../../src/dma/mapping.js';
import { dmaRead, dmaWrite } from '../../src/dma/device-dma.js';
import { physMem } from '../../src/mm/phys-mem.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../../src/iommu/ownership.js';
import { dmaJson } from '../../src/report/dma-report.js';
import { device_release_driver } from '../../src/base/dd.js';
import { EPERM } from '../../src/kernel/errno.js';

const bytes = (...v: number[]) => Uint8Array.from(v);

describe('device DMA through an SMMUv3 paging domain (arm64-dt-smmuv3-mini)', () => {
  it('a write lands at the mapped physical address, across a page boundary, and reads back', () => {
    const { k, dev } = bootSmmuV3Mini();
    const eth = dev('10000000.ethernet');
    dma_set_mask_and_coherent(eth, 64);
    // Two pages of buffer at 0x8000_1000.., the mapping starting 0x10 before the page end.
    const h = dma_map_page_attrs(k, eth, 0x8000_1ff0, 0x20, 'bidirectional');
    expect(dma_mapping_error(k, eth, h)).toBe(0);
    const data = Uint8Array.from({ length: 0x20 }, (_, i) => i + 1);
    const w = dmaWrite(k, eth, h, data);
    expect(w.ok).toBe(true);
    if (w.ok) expect(w.phys).toEqual([0x8000_1ff0, 0x8000_2000]);
    expect([...physMem(k).read(0x8000_1ff0, 0x20)]).toEqual([...data]);
    const r = dmaRead(k, eth, h + 4, 4);
    expect(r.ok && [...r.data]).toEqual([5, 6, 7, 8]);
    // The walk filled the IOTLB; the second access to each page hits.
    const tlb = eth.iommu!.iommu_dev!.iotlb;
    expect(tlb.misses).toBe(2);
    expect(tlb.hits).toBe(1);
  });

  it('after a strict unmap the DMA faults "unmapped" with an SMMUv3 translation fault event', () => {
    const { k, dev } = bootSmmuV3Mini();
    const eth = dev('10000000.ethernet');
    const h = dma_map_page_attrs(k, eth, 0x8000_0000, 0x1000, 'from-device');
    dma_mapping_error(k, eth, h);
    expect(dmaWrite(k, eth, h, bytes(1, 2, 3)).ok).toBe(true);
    dma_unmap_page_attrs(k, eth, h, 0x1000, 'from-device');
    const w = dmaWrite(k, eth, h + 8, bytes(9));
    expect(w.ok).toBe(false);
    if (w.ok) return;
    expect(w.fault.reason).toBe('unmapped');
    expect(w.fault.domainType).toBe('DMA');
    // Stream 0x10, event 0x10, a write (RnW clear), the faulting IOVA in dword 2.
    expect(w.fault.log).toEqual([
      'event 0x10 received:',
      '\t0x0000001000000010',
      '\t0x0000020000000000',
      `\t0x${(h + 8).toString(16).padStart(16, '0')}`,
      '\t0x0000000000000000',
    ]);
    expect(physMem(k).read(0x8000_0008, 1)[0]).toBe(0); // nothing landed
    expect(dmaJson(k).faults).toHaveLength(1);
    // Strict: the unmap invalidated the IOTLB, so nothing stale was used.
    expect(dmaJson(k).staleIotlbUses).toEqual([]);
  });

  it('a device write through a to-device mapping is a permission fault (event 0x13); reads pass', () => {
    const { k, dev } = bootSmmuV3Mini();
    const usb = dev('10100000.usb');
    physMem(k).write(0x9000_0000, bytes(0xaa, 0xbb));
    const h = dma_map_page_attrs(k, usb, 0x9000_0000, 2, 'to-device');
    dma_mapping_error(k, usb, h);
    const r = dmaRead(k, usb, h, 2);
    expect(r.ok && [...r.data]).toEqual([0xaa, 0xbb]);
    const w = dmaWrite(k, usb, h, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('permission');
    expect(!w.ok && w.fault.log[0]).toBe('event 0x13 received:');
    // Stream 0x20.
    expect(!w.ok && w.fault.log[1]).toBe('\t0x0000002000000013');
    expect([...physMem(k).read(0x9000_0000, 2)]).toEqual([0xaa, 0xbb]);
  });

  it('Arm stage 1 cannot refuse reads: a read through a from-device mapping passes, walked or cached', () => {
    // arm_lpae_prot_to_pte(): stage 1 has AP[2] (read-only) but no "no read"; the IOTLB entry keeps it.
    const { k, dev } = bootSmmuV3Mini();
    const eth = dev('10000000.ethernet');
    const h = dma_map_page_attrs(k, eth, 0x9100_0000, 0x1000, 'from-device');
    dma_mapping_error(k, eth, h);
    expect(dmaWrite(k, eth, h, bytes(7)).ok).toBe(true); // the walk fills the IOTLB
    const tlb = eth.iommu!.iommu_dev!.iotlb;
    const hits = tlb.hits;
    const r = dmaRead(k, eth, h, 1);
    expect(tlb.hits).toBe(hits + 1);
    expect(r.ok && [...r.data]).toEqual([7]);
  });

  it('an IOVA past the 48-bit aperture is an address size fault (event 0x11)', () => {
    const { k, dev } = bootSmmuV3Mini();
    const eth = dev('10000000.ethernet');
    const r = dmaRead(k, eth, 2 ** 48, 4);
    expect(!r.ok && r.fault.reason).toBe('aperture');
    expect(!r.ok && r.fault.log[0]).toBe('event 0x11 received:');
    // A read: RnW set in dword 1.
    expect(!r.ok && r.fault.log[2]).toBe('\t0x0000020800000000');
  });

  it('a DMA owner puts the group in its blocking domain: every access is aborted, without an event', () => {
    const { k, dev } = bootSmmuV3Mini();
    const usb = dev('10100000.usb');
    // While its driver uses the default domain, the group cannot be claimed; unbound, it can (VFIO's path).
    expect(iommu_device_claim_dma_owner(k, usb, 'vfio')).toBe(-EPERM);
    device_release_driver(k, usb);
    expect(iommu_device_claim_dma_owner(k, usb, 'vfio')).toBe(0);
    const r = dmaRead(k, usb, 0x1000, 4);
    expect(!r.ok && r.fault.reason).toBe('blocked');
    expect(!r.ok && r.fault.domainType).toBe('blocked');
    expect(!r.ok && r.fault.log).toEqual([]);
    iommu_device_release_dma_owner(k, usb);
    // Back in the default domain: now the same address is just unmapped.
    const r2 = dmaRead(k, usb, 0x1000, 4);
    expect(!r2.ok && r2.fault.reason).toBe('unmapped');
  });

  it('identity (iommu.passthrough=1): the device address is the physical address', () => {
    const { k, dev } = bootSmmuV3Mini({ cmdline: 'iommu.passthrough=1' });
    const eth = dev('10000000.ethernet');
    expect(eth.iommu_group!.domain!.type).toBe(eth.iommu_group!.default_domain!.type);
    const w = dmaWrite(k, eth, 0x8123_4567, bytes(7, 8));
    expect(w.ok && w.phys).toEqual([0x8123_4567]);
    expect([...physMem(k).read(0x8123_4567, 2)]).toEqual([7, 8]);
    expect(dmaJson(k).faults).toEqual([]);
  });

  it('DMA-FQ: after unmap the IOTLB still translates until the flush queue empties; then it faults', () => {
    const { k, dev } = bootSmmuV3Mini({ cmdline: 'iommu.strict=0' });
    const eth = dev('10000000.ethernet');
    expect(eth.iommu_group!.default_domain!.type).not.toBe(eth.iommu_group!.blocking_domain?.type);
    const h = dma_map_page_attrs(k, eth, 0x8000_0000, 0x1000, 'bidirectional');
    dma_mapping_error(k, eth, h);
    expect(dmaWrite(k, eth, h, bytes(1)).ok).toBe(true); // fills the IOTLB
    dma_unmap_page_attrs(k, eth, h, 0x1000, 'bidirectional');
    // The table entry is gone, the IOTLB entry is not: the write still lands.
    const late = dmaWrite(k, eth, h, bytes(2));
    expect(late.ok).toBe(true);
    expect(physMem(k).read(0x8000_0000, 1)[0]).toBe(2);
    const stale = dmaJson(k).staleIotlbUses;
    expect(stale).toHaveLength(1);
    expect(stale[0]).toMatchObject({ device: '10000000.ethernet', lazyWindow: true, tablePhys: null });
    // The flush queue's timer (IOVA_FQ_TIMEOUT, 10 ms) invalidates everything.
    k.clock.advance(10);
    const after = dmaWrite(k, eth, h, bytes(3));
    expect(!after.ok && after.fault.reason).toBe('unmapped');
    expect(physMem(k).read(0x8000_0000, 1)[0]).toBe(2);
  });
});
