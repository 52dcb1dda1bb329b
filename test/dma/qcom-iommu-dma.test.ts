// SPDX-License-Identifier: GPL-2.0-only
// qcom_iommu paging domains doing DMA (Linux 6.12 drivers/iommu/arm/arm-smmu/
// qcom_iommu.c) on Debian's DragonBoard 410c (apq8016-sbc) DTB. Expectations
// from the source:
//  - qcom_iommu_init_domain(): ARM_32_LPAE_S1 with the ops' page sizes
//    (4K | 64K | 1M | 16M, of which the AArch32 LPAE table keeps 4K), ias 32,
//    oas 40, no coherent walk; the domain's context banks are its first
//    master's ASIDs (qcom_domain->fwspec), each secure-initialised once;
//  - qcom_flush_ops: qcom_iommu_tlb_add_page() sends TLBIVAL for the page to
//    every bank of the domain; iotlb_sync() and flush_iotlb_all() are both
//    qcom_iommu_tlb_sync(): a TLBSYNC per bank and no invalidation;
//  - qcom_iommu_fault(): "Unhandled context fault: fsr=..., iova=%016llx,
//    fsynr=..., cb=<asid>" from the context bank's device; the banks are
//    AArch32 long-descriptor contexts (FSR.FORMAT 1);
//  - an identity domain (qcom_iommu_identity_domain), no blocked domain;
//  - masters: 1a01000.display-controller (ASID 4), 1b0ac00.camss (3),
//    1d00000.video-codec (5) on 1ef0000.iommu; 1c00000.gpu (1 and 2) on the
//    GPU's IOMMU.
import { describe, expect, it } from 'vitest';
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
import { dmaJson } from '../../src/report/dma-report.js';
import { iommu_flush_iotlb_all } from '../../src/iommu/map.js';
import { iommu_domain_free, iommu_paging_domain_alloc } from '../../src/iommu/domain-alloc.js';
import { iommu_attach_device } from '../../src/iommu/attach.js';
import { IS_ERR } from '../../src/kernel/errno.js';
import { IOMMU_DOMAIN_IDENTITY } from '../../src/iommu/domain.js';
import { checkInvariants } from '../../src/checker/invariants.js';
import type { QcomIommuDev } from '../../src/drivers/qcom-iommu/qcom-iommu.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';

const APQ8016 = fileURLToPath(
  new URL('../../../shared/fixtures/dtb/arm64-6.12-apq8016-sbc.dtb', import.meta.url),
);
const bytes = (...v: number[]) => Uint8Array.from(v);
const hex16 = (v: number) => v.toString(16).padStart(16, '0');

function boot(cmdline = '', failNth?: number) {
  const { desc, file, firmware } = loadInputs([APQ8016], {});
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
const qcomOf = (dev: Device) => dev.iommu!.iommu_dev!.priv as QcomIommuDev;

describe('DragonBoard 410c (apq8016-sbc): qcom_iommu paging domains', () => {
  it("the display controller's domain: ARM_32_LPAE_S1, 4K pages, 32-bit aperture, bank 4 programmed", () => {
    const { dev } = boot();
    const mdp = dev('1a01000.display-controller');
    const d = mdp.iommu_group!.domain!;
    expect(d.pgtable!.cfg).toMatchObject({ fmt: 'ARM_32_LPAE_S1', ias: 32, oas: 40, coherent_walk: false });
    expect(d.pgsize_bitmap).toBe(0x1000);
    expect(d.geometry).toEqual({ aperture_start: 0, aperture_end: 2 ** 32 - 1, force_aperture: true });
    const ctx = qcomOf(mdp).ctxs[4]!;
    expect(ctx.dev.name).toBe('1e24000.iommu-ctx');
    expect(ctx.domain).toBe(d);
    expect(ctx.secure_init).toBe(true);
    // The other banks of the apps IOMMU belong to their own masters' domains.
    expect(qcomOf(mdp).ctxs[3]!.domain).toBe(dev('1b0ac00.camss').iommu_group!.domain);
  });

  it('DMA lands where the table says; a strict unmap sends TLBIVAL per page and one TLBSYNC', () => {
    const { k, dev } = boot();
    const mdp = dev('1a01000.display-controller');
    const h = dma_map_page_attrs(k, mdp, 0x8000_1ff0, 0x20, 'bidirectional');
    expect(dma_mapping_error(k, mdp, h)).toBe(0);
    const data = Uint8Array.from({ length: 0x20 }, (_, i) => i + 1);
    const w = dmaWrite(k, mdp, h, data);
    expect(w.ok && w.phys).toEqual([0x8000_1ff0, 0x8000_2000]);
    expect([...physMem(k).read(0x8000_1ff0, 0x20)]).toEqual([...data]);
    const before = counts(mdp);
    dma_unmap_page_attrs(k, mdp, h, 0x20, 'bidirectional');
    expect(delta(before, counts(mdp))).toEqual({ commands: 2, syncs: 1, pages: 2 });
    // flush_iotlb_all() only waits: a TLBSYNC, no invalidation.
    const mid = counts(mdp);
    iommu_flush_iotlb_all(k, mdp.iommu_group!.domain!);
    expect(delta(mid, counts(mdp))).toEqual({ commands: 0, syncs: 1, pages: 0 });
  });

  it("the GPU's domain spans two banks: every TLB operation goes to both", () => {
    const { k, dev } = boot();
    const gpu = dev('1c00000.gpu');
    const q = qcomOf(gpu);
    expect([q.ctxs[1]!.domain, q.ctxs[2]!.domain]).toEqual([
      gpu.iommu_group!.domain,
      gpu.iommu_group!.domain,
    ]);
    const h = dma_map_page_attrs(k, gpu, 0x8800_0000, 0x1000, 'bidirectional');
    expect(dmaWrite(k, gpu, h, bytes(0x5a)).ok).toBe(true);
    expect(physMem(k).read(0x8800_0000, 1)[0]).toBe(0x5a);
    const before = counts(gpu);
    dma_unmap_page_attrs(k, gpu, h, 0x1000, 'bidirectional');
    expect(delta(before, counts(gpu))).toEqual({ commands: 2, syncs: 2, pages: 2 });
    // A fault is printed by the bank of the GPU's first ASID.
    expect(dmaWrite(k, gpu, h, bytes(1)).ok).toBe(false);
    expect(lines(k, '1f09000.iommu-ctx').at(-1)).toBe(
      `Unhandled context fault: fsr=0x202, iova=0x${hex16(h)}, fsynr=0x13, cb=1`,
    );
  });

  it('after unmap the DMA faults: qcom_iommu_fault() from the context bank', () => {
    const { k, dev } = boot();
    const mdp = dev('1a01000.display-controller');
    const h = dma_map_page_attrs(k, mdp, 0x8100_0000, 0x1000, 'from-device');
    expect(dmaWrite(k, mdp, h, bytes(1)).ok).toBe(true);
    dma_unmap_page_attrs(k, mdp, h, 0x1000, 'from-device');
    const w = dmaWrite(k, mdp, h + 8, bytes(2));
    expect(!w.ok && w.fault.reason).toBe('unmapped');
    // FSR.TF, FORMAT 1; a write at level 3.
    expect(lines(k, '1e24000.iommu-ctx').at(-1)).toBe(
      `Unhandled context fault: fsr=0x202, iova=0x${hex16(h + 8)}, fsynr=0x13, cb=4`,
    );
    expect(physMem(k).read(0x8100_0008, 1)[0]).toBe(0);
    expect(dmaJson(k).staleIotlbUses).toEqual([]);
  });

  it('a write through a to-device mapping is FSR.PF; an IOVA past 32 bits faults at level 1', () => {
    const { k, dev } = boot();
    const cam = dev('1b0ac00.camss');
    physMem(k).write(0x9000_0000, bytes(0xaa));
    const h = dma_map_page_attrs(k, cam, 0x9000_0000, 1, 'to-device');
    const r = dmaRead(k, cam, h, 1);
    expect(r.ok && [...r.data]).toEqual([0xaa]);
    const w = dmaWrite(k, cam, h, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('permission');
    expect(lines(k, '1e23000.iommu-ctx').at(-1)).toBe(
      `Unhandled context fault: fsr=0x208, iova=0x${hex16(h)}, fsynr=0x13, cb=3`,
    );
    const far = dmaRead(k, cam, 2 ** 32, 1);
    expect(!far.ok && far.fault.reason).toBe('aperture');
    expect(lines(k, '1e23000.iommu-ctx').at(-1)).toBe(
      'Unhandled context fault: fsr=0x202, iova=0x0000000100000000, fsynr=0x1, cb=3',
    );
  });

  it('identity (iommu.passthrough=1): no bank is programmed, addresses are physical', () => {
    const { k, dev } = boot('iommu.passthrough=1');
    const mdp = dev('1a01000.display-controller');
    expect(mdp.iommu_group!.domain!.type).toBe(IOMMU_DOMAIN_IDENTITY);
    expect(qcomOf(mdp).ctxs[4]!.domain).toBeNull();
    const w = dmaWrite(k, mdp, 0x8765_4321, bytes(3));
    expect(w.ok && w.phys).toEqual([0x8765_4321]);
    expect(physMem(k).read(0x8765_4321, 1)[0]).toBe(3);
  });

  it('a domain stays with its IOMMU: the GPU cannot join the display controller’s', () => {
    const { k, dev } = boot();
    const mdp = dev('1a01000.display-controller');
    const d = iommu_paging_domain_alloc(k, mdp);
    if (IS_ERR(d)) throw new Error('no domain');
    expect(iommu_attach_device(k, d, mdp)).toBe(0);
    expect(iommu_attach_device(k, d, dev('1c00000.gpu'))).toBe(-22);
    expect(checkInvariants(k)).toEqual([]);
  });
});

describe('fail-nth over the apq8016-sbc boot and DMA', () => {
  function run(failNth?: number) {
    const { k } = boot('', failNth);
    const find = (name: string) => [...k.base.devices].find((d) => d.name === name && d.iommu_group);
    for (const name of ['1a01000.display-controller', '1c00000.gpu']) {
      const dev = find(name);
      if (!dev) continue;
      const h = dma_map_page_attrs(k, dev, 0x8000_0000, 0x2000, 'bidirectional');
      if (h === DMA_MAPPING_ERROR) continue;
      dmaWrite(k, dev, h, bytes(1, 2));
      dma_unmap_page_attrs(k, dev, h, 0x2000, 'bidirectional');
      dmaRead(k, dev, h, 1);
    }
    const cam = find('1b0ac00.camss');
    const um = cam ? iommu_paging_domain_alloc(k, cam) : null;
    if (um && !IS_ERR(um)) {
      iommu_attach_device(k, um, cam!);
      iommu_domain_free(k, um);
    }
    return finishRun(k);
  }

  it('every failed allocation unwinds without leaks or broken invariants', () => {
    const base = run();
    expect(base.leaks).toEqual([]);
    expect(base.violations).toEqual([]);
    const { sites } = expectCleanUnwinds(run, base.k.alloc.attempts);
    expect([...sites]).toEqual(expect.arrayContaining(['qcom_iommu_domain_alloc_paging']));
  });
});
