// SPDX-License-Identifier: GPL-2.0-only
// ipmmu-vmsa paging domains doing DMA (Linux 6.12 drivers/iommu/ipmmu-vmsa.c)
// on Debian's HiHope RZ/G2M DTB with IPMMU_VMSA=y. ipmmu_device_is_allowed()
// refuses every master on r8a774a1 (soc_denylist), so the blob's root
// compatible is renamed to its RZ/G2N sibling r8a774b1 (same length, bytes
// patched in place): opt-in but not denied, the allowlisted SDHIs get their
// uTLBs on ipmmu_ds1 (e7740000.iommu), one group for the three. From the
// source:
//  - ipmmu_domain_init_context(): a context of the root (0 is reserved on
//    Gen3), then ARM_32_LPAE_S1 with IO_PGTABLE_QUIRK_ARM_NS, 4K/2M/1G pages,
//    ias 32 (the aperture, DMA_BIT_MASK(32)), oas 40, no coherent walk;
//    ipmmu_domain_setup_context() writes IMCTR with FLUSH;
//  - ipmmu_flush_ops: no tlb_add_page; iotlb_sync() and flush_iotlb_all()
//    flush the whole context (IMCTR.FLUSH) and wait; a freed table too;
//    ipmmu_domain_destroy_context() flushes and waits;
//  - ipmmu_domain_irq(): "Unhandled fault: status 0x%08x iova 0x%lx" from
//    the IPMMU the domain was first attached through; IMSTR.TF (bit 0) for a
//    translation fault, IMSTR.PF (bit 1) for a permission fault.
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInputs } from '../../src/api.js';
import { bootPlatform } from '../../src/platform/boot.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { Device } from '../../src/base/device.js';
import {
  DMA_MAPPING_ERROR,
  dma_map_page_attrs,
  dma_mapping_error,
  dma_unmap_page_attrs,
} from '../../src/dma/mapping.js';
import { dmaRead, dmaWrite } from '../../src/dma/device-dma.js';
import { physMem } from '../../src/mm/phys-mem.js';
import { iommu_domain_free, iommu_paging_domain_alloc } from '../../src/iommu/domain-alloc.js';
import { iommu_attach_group, iommu_detach_group } from '../../src/iommu/attach.js';
import { device_release_driver } from '../../src/base/dd.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../../src/iommu/ownership.js';
import { IS_ERR } from '../../src/kernel/errno.js';
import { IOMMU_DOMAIN_IDENTITY } from '../../src/iommu/domain.js';
import { IOMMU_READ } from '../../src/pgtable/prot.js';
import { iommu_map, iommu_unmap } from '../../src/iommu/map.js';
import { teardown, leakReport } from '../../src/checker/teardown.js';
import { checkInvariants } from '../../src/checker/invariants.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';
import { scratchDir } from '../support/scratch.js';

const FIXTURE = fileURLToPath(
  new URL('../../../shared/fixtures/dtb/arm64-6.12-r8a774a1-hihope-rzg2m.dtb', import.meta.url),
);
const Y = { IPMMU_VMSA: 'y' } as const;
const bytes = (...v: number[]) => Uint8Array.from(v);

/** The fixture with its root compatible naming r8a774b1 instead of r8a774a1. */
function rzg2nBlob(): string {
  const blob = readFileSync(FIXTURE);
  const from = Buffer.from('hihope-rzg2m\0renesas,r8a774a1\0');
  const at = blob.indexOf(from);
  if (at < 0) throw new Error('root compatible not found');
  const to = Buffer.from('hihope-rzg2m\0renesas,r8a774b1\0');
  to.copy(blob, at);
  const path = join(scratchDir('iommu-lab-ipmmu-'), 'rzg2n.dtb');
  writeFileSync(path, blob);
  return path;
}
const RZG2N = rzg2nBlob();

function boot(cmdline = '', failNth?: number) {
  const { desc, file, firmware } = loadInputs([RZG2N], { kconfig: Y });
  const { k } = bootPlatform(desc, { profile: 'v6.12', file, firmware, cmdline, failNth });
  const dev = (name: string): Device => {
    const d = [...k.base.devices].find((x) => x.name === name);
    if (!d) throw new Error(`no device ${name}`);
    return d;
  };
  return { k, dev };
}

const counts = (dev: Device) => {
  const t = dev.iommu!.iommu_dev!.iotlb;
  return { commands: t.commands, syncs: t.syncs, pages: t.pages };
};
const delta = (a: ReturnType<typeof counts>, b: ReturnType<typeof counts>) => ({
  commands: b.commands - a.commands,
  syncs: b.syncs - a.syncs,
  pages: b.pages - a.pages,
});
const lines = (k: Kernel, source: string) =>
  k.printk.lines.filter((l) => l.source === source).map((l) => l.message);

describe('RZ/G2 (the HiHope RZ/G2M tree as r8a774b1): ipmmu-vmsa paging domains', () => {
  it("the SDHIs' domain: context 1 of the root, ARM_32_LPAE_S1 with NS, 32-bit aperture", () => {
    const { k, dev } = boot();
    const sd = dev('ee100000.mmc');
    expect(sd.iommu!.iommu_dev!.name).toBe('e7740000.iommu');
    expect(lines(k, 'ee100000.mmc')).toContain('Using IPMMU context 1');
    const d = sd.iommu_group!.domain!;
    expect(dev('ee160000.mmc').iommu_group!.domain).toBe(d);
    expect(d.pgtable!.cfg).toMatchObject({
      fmt: 'ARM_32_LPAE_S1',
      ias: 32,
      oas: 40,
      coherent_walk: false,
      quirks: 1,
    });
    expect(d.pgsize_bitmap).toBe(0x40201000);
    expect(d.geometry).toEqual({ aperture_start: 0, aperture_end: 2 ** 32 - 1, force_aperture: true });
    // The NS quirk marks leaves NS (bit 5) and tables NSTable (bit 63).
    const h = dma_map_page_attrs(k, sd, 0x4_8000_0000, 0x1000, 'bidirectional');
    const steps = d.pgtable!.walkTrace(h).steps;
    expect(steps.slice(0, -1).every((s) => (s.pte >> 63n) & 1n)).toBe(true);
    expect((steps.at(-1)!.pte >> 5n) & 1n).toBe(1n);
  });

  it('DMA lands at the physical address (40-bit output); a strict unmap flushes the whole context once', () => {
    const { k, dev } = boot();
    const sd = dev('ee140000.mmc');
    const h = dma_map_page_attrs(k, sd, 0x4_8000_1ff0, 0x20, 'bidirectional');
    expect(dma_mapping_error(k, sd, h)).toBe(0);
    expect(h).toBeLessThan(2 ** 32);
    const data = Uint8Array.from({ length: 0x20 }, (_, i) => 0x40 + i);
    const w = dmaWrite(k, sd, h, data);
    expect(w.ok && w.phys).toEqual([0x4_8000_1ff0, 0x4_8000_2000]);
    expect([...physMem(k).read(0x4_8000_1ff0, 0x20)]).toEqual([...data]);
    const before = counts(sd);
    dma_unmap_page_attrs(k, sd, h, 0x20, 'bidirectional');
    // No per-page invalidation; ipmmu_iotlb_sync(): IMCTR.FLUSH, then the wait.
    expect(delta(before, counts(sd))).toEqual({ commands: 1, syncs: 1, pages: 0 });
    // Unmapped: "Unhandled fault" with IMSTR.TF from the domain's IPMMU.
    const late = dmaWrite(k, sd, h, bytes(1));
    expect(!late.ok && late.fault.reason).toBe('unmapped');
    expect(lines(k, 'e7740000.iommu').at(-1)).toBe(
      `Unhandled fault: status 0x00000001 iova 0x${h.toString(16)}`,
    );
  });

  it('a write through a to-device mapping is IMSTR.PF; an IOVA past 32 bits is IMSTR.TF', () => {
    const { k, dev } = boot();
    const sd = dev('ee100000.mmc');
    physMem(k).write(0x4_9000_0000, bytes(0x77));
    const h = dma_map_page_attrs(k, sd, 0x4_9000_0000, 1, 'to-device');
    const r = dmaRead(k, sd, h, 1);
    expect(r.ok && [...r.data]).toEqual([0x77]);
    expect(dmaWrite(k, sd, h, bytes(1)).ok).toBe(false);
    expect(lines(k, 'e7740000.iommu').at(-1)).toBe(
      `Unhandled fault: status 0x00000002 iova 0x${h.toString(16)}`,
    );
    expect(dmaRead(k, sd, 2 ** 32 + 0x40, 1).ok).toBe(false);
    expect(lines(k, 'e7740000.iommu').at(-1)).toBe('Unhandled fault: status 0x00000001 iova 0x100000040');
  });

  it('a new domain: context setup flushes, a freed table flushes the context, teardown flushes and waits', () => {
    const { k, dev } = boot();
    const sd = dev('ee100000.mmc');
    for (const name of ['ee100000.mmc', 'ee140000.mmc', 'ee160000.mmc']) device_release_driver(k, dev(name));
    // VFIO's way in: ownership of the group, then the group attach. Without a blocked domain the
    // core blocks with an empty paging domain (__iommu_group_alloc_blocking_domain()): context 2.
    const g = sd.iommu_group!;
    expect(iommu_device_claim_dma_owner(k, sd, 'vfio')).toBe(0);
    const d2 = iommu_paging_domain_alloc(k, sd);
    if (IS_ERR(d2)) throw new Error('no domain');
    const t1 = counts(sd);
    expect(iommu_attach_group(k, d2, g)).toBe(0);
    // Context setup flushes (not waited for).
    expect(lines(k, 'ee100000.mmc').filter((l) => l.startsWith('Using IPMMU'))).toEqual([
      'Using IPMMU context 1',
      'Using IPMMU context 2',
      'Using IPMMU context 3',
    ]);
    expect(delta(t1, counts(sd))).toEqual({ commands: 1, syncs: 0, pages: 0 });
    // A 2M run of 4K pages unmapped at once frees the level-3 table: a context flush for the walk.
    for (let i = 0; i < 512; i++)
      iommu_map(k, d2, 0x20_0000 + i * 0x1000, 0x9000_0000 + i * 0x1000, 0x1000, IOMMU_READ);
    const t2 = counts(sd);
    expect(iommu_unmap(k, d2, 0x20_0000, 0x20_0000)).toBe(0x20_0000);
    // tlb_flush_walk (flush + wait), then iotlb_sync (flush + wait).
    expect(delta(t2, counts(sd))).toEqual({ commands: 2, syncs: 2, pages: 0 });
    iommu_detach_group(k, g);
    const t3 = counts(sd);
    iommu_domain_free(k, d2);
    // ipmmu_domain_destroy_context(): IMCTR = FLUSH, ipmmu_tlb_sync(); then free_io_pgtable_ops()'s
    // tlb_flush_all, which is ipmmu_tlb_invalidate() again.
    expect(delta(t3, counts(sd))).toEqual({ commands: 2, syncs: 2, pages: 0 });
    iommu_device_release_dma_owner(k, sd);
    expect(checkInvariants(k)).toEqual([]);
    teardown(k);
    expect(leakReport(k)).toEqual([]);
  });

  it('identity (iommu.passthrough=1): the uTLBs pass addresses through', () => {
    const { k, dev } = boot('iommu.passthrough=1');
    const sd = dev('ee100000.mmc');
    expect(sd.iommu_group!.domain!.type).toBe(IOMMU_DOMAIN_IDENTITY);
    const w = dmaWrite(k, sd, 0x4_8765_4320, bytes(9));
    expect(w.ok && w.phys).toEqual([0x4_8765_4320]);
    expect(physMem(k).read(0x4_8765_4320, 1)[0]).toBe(9);
  });
});

describe('fail-nth over the RZ/G2 boot and DMA', () => {
  function run(failNth?: number) {
    const { k } = boot('', failNth);
    const sd = [...k.base.devices].find((d) => d.name === 'ee100000.mmc' && d.iommu_group);
    if (sd) {
      const h = dma_map_page_attrs(k, sd, 0x4_8000_0000, 0x2000, 'bidirectional');
      if (h !== DMA_MAPPING_ERROR) {
        dmaWrite(k, sd, h, bytes(1, 2));
        dma_unmap_page_attrs(k, sd, h, 0x2000, 'bidirectional');
        dmaRead(k, sd, h, 1);
      }
      // Last, so that the spread's final points fail these: an owner's domain, mapped and freed.
      for (const d of [...k.base.devices]) if (d.iommu_group === sd.iommu_group) device_release_driver(k, d);
      if (iommu_device_claim_dma_owner(k, sd, 'vfio') === 0) {
        const um = iommu_paging_domain_alloc(k, sd);
        if (!IS_ERR(um)) {
          if (iommu_attach_group(k, um, sd.iommu_group!) === 0) {
            iommu_map(k, um, 0x10000, 0x4_8000_0000, 0x1000, IOMMU_READ);
            dmaRead(k, sd, 0x10000, 1);
            iommu_detach_group(k, sd.iommu_group!);
          }
          iommu_domain_free(k, um);
        }
        iommu_device_release_dma_owner(k, sd);
      }
    }
    return finishRun(k);
  }

  it('every failed allocation unwinds without leaks or broken invariants', () => {
    const base = run();
    expect(base.leaks).toEqual([]);
    expect(base.violations).toEqual([]);
    const { sites } = expectCleanUnwinds(run, base.k.alloc.attempts);
    expect([...sites]).toEqual(
      expect.arrayContaining(['ipmmu_domain_alloc_paging', 'iommu_alloc_pages_node']),
    );
  });
});
