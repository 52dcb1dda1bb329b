// SPDX-License-Identifier: GPL-2.0-only
// The embedding API: a booted machine kept running, driven through the DMA
// API and device accesses by name, then torn down with its leak report.
import { describe, expect, it } from 'vitest';
import { bootMachine } from '../../src/index.js';

describe('bootMachine()', () => {
  it('maps, lets the device write, faults after unmap, and tears down clean', () => {
    const m = bootMachine(['arm64-dt-smmuv3-mini'], { profile: 'v6.12' });
    expect(m.dmaSetMask('10000000.ethernet', 64)).toBe(0);
    const h = m.dmaMap('10000000.ethernet', 0x8000_0000, 4096, 'from-device');
    expect(h).toBe(2 ** 48 - 4096);
    const w = m.dmaWrite('10000000.ethernet', h!, Uint8Array.of(1, 2, 3));
    expect(w.ok && w.phys).toEqual([0x8000_0000]);
    expect([...m.readPhys(0x8000_0000, 3)]).toEqual([1, 2, 3]);
    m.dmaUnmap('10000000.ethernet', h!, 4096, 'from-device');
    const late = m.dmaWrite('10000000.ethernet', h!, Uint8Array.of(4));
    expect(!late.ok && late.fault.reason).toBe('unmapped');
    const buf = m.dmaAlloc('10100000.usb', 8192);
    expect(buf).not.toBeNull();
    // The device reads what the CPU put in the coherent buffer's first page.
    m.writePhys(buf!.pages[0], Uint8Array.of(0xab));
    const r = m.dmaRead('10100000.usb', buf!.dma_handle, 1);
    expect(r.ok && [...r.data]).toEqual([0xab]);
    m.dmaFree('10100000.usb', buf!);
    const s = m.snapshot();
    expect(s.dma.faults.map((f) => f.reason)).toEqual(['unmapped']);
    const end = m.finish();
    expect(end.leaks).toEqual([]);
    expect(() => m.readPhys(0, 1)).toThrow(/torn down/);
  });

  it('names a missing device in its error', () => {
    const m = bootMachine(['arm64-dt-smmuv3-mini']);
    expect(() => m.dmaMap('nope', 0, 4096, 'to-device')).toThrow(/no device named "nope"/);
  });
});

describe('the README example', () => {
  it('runs as the README says', () => {
    const m = bootMachine(['arm64-dt-smmuv3-mini'], { profile: 'v6.12', cmdline: 'iommu.strict=0' });
    const h = m.dmaMap('10000000.ethernet', 0x8000_0000, 4096, 'from-device');
    expect(h).toBe(0xfffff000);
    expect(m.dmaWrite('10000000.ethernet', h!, Uint8Array.of(1, 2, 3))).toMatchObject({
      ok: true,
      phys: [0x80000000],
    });
    expect([...m.readPhys(0x8000_0000, 3)]).toEqual([1, 2, 3]);
    m.dmaUnmap('10000000.ethernet', h!, 4096, 'from-device');
    expect(m.dmaWrite('10000000.ethernet', h!, Uint8Array.of(4)).ok).toBe(true);
    m.advance(10);
    const f = m.dmaWrite('10000000.ethernet', h!, Uint8Array.of(5));
    expect(!f.ok && f.fault.reason).toBe('unmapped');
    expect(!f.ok && f.fault.log[0]).toBe('event 0x10 received:');
    const end = m.finish();
    expect(end.dma.staleIotlbUses).toHaveLength(1);
    expect(end.iommus[0].iotlb?.hits).toBe(1);
    expect(end.leaks).toEqual([]);
  });
});

describe('physical memory', () => {
  it('refuses addresses that are not integers below 2^53, naming them', () => {
    const m = bootMachine(['arm64-dt-smmuv3-mini']);
    expect(() => m.writePhys(undefined as unknown as number, Uint8Array.of(1))).toThrow(/at undefined/);
    expect(() => m.readPhys(-4096, 4)).toThrow(RangeError);
    expect(() => m.readPhys(2 ** 53 - 2, 4)).toThrow(/below 2\^53/);
    m.writePhys(2 ** 40 + 4094, Uint8Array.of(1, 2, 3, 4)); // across a page boundary, far up
    expect([...m.readPhys(2 ** 40 + 4094, 4)]).toEqual([1, 2, 3, 4]);
  });
});
