// SPDX-License-Identifier: GPL-2.0-only
// arm-smmu paging domains doing DMA (Linux 6.12 drivers/iommu/arm/arm-smmu/
// arm-smmu.c), on Debian's Juno r1 DTB and on small trees. Expectations from
// the source:
//  - arm_smmu_device_cfg_probe() on Juno's MMU-401s (ID values from a Juno
//    boot log, src/drivers/arm-smmu/hw.ts): stage 2 only, 40-bit IPA and PA,
//    page sizes 0x60211000; the lines are the kernel's;
//  - arm_smmu_init_domain_context(): stage 2 (no stage 1), AArch64 context
//    (CONFIG_64BIT and the v1-64K AArch64 granule), ARM_64_LPAE_S2 with
//    ias = ipa_size, oas = pa_size, the 4K granule's sizes (0x40201000), the
//    first free context bank from 0 and VMID = cbndx + 1, -ENOSPC when none;
//    ARM_32_LPAE_S1 (32/40 bits) where only AArch32 formats are left
//    (Marvell's AP806 erratum hides AArch64);
//  - arm_smmu_s2_tlb_ops_v1: TLBIVMID for every unmapped page, a sync at
//    iotlb_sync(); arm_smmu_s1_tlb_ops: TLBIVAL per page (a range
//    invalidation naming the page); DMA-FQ: nothing at unmap, TLBIVMID and a
//    sync when the queue flushes;
//  - arm_smmu_context_fault() / arm_smmu_print_context_fault_info(): the
//    three lines, from smmu->dev; FSR.TF or PF with FORMAT 2 (AArch64) or 1
//    (AArch32 long descriptors), FSYNR0.WNR and PLVL, CBFRSYNRA the SID;
//  - identity: S2CR bypass, no context bank; blocked: S2CR fault.
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
import { iommu_domain_free, iommu_paging_domain_alloc } from '../../src/iommu/domain-alloc.js';
import { iommu_attach_device, iommu_detach_group } from '../../src/iommu/attach.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../../src/iommu/ownership.js';
import { iommu_iova_to_phys, iommu_map, iommu_unmap } from '../../src/iommu/map.js';
import { device_release_driver } from '../../src/base/dd.js';
import { ENOSPC, IS_ERR } from '../../src/kernel/errno.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/prot.js';
import { createPageTable } from '../../src/pgtable/page-table.js';
import { teardown, leakReport } from '../../src/checker/teardown.js';
import { checkInvariants } from '../../src/checker/invariants.js';
import { ArmSmmuDomain } from '../../src/drivers/arm-smmu/context.js';
import type { ArmSmmuDevice } from '../../src/drivers/arm-smmu/arm-smmu.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';
import { dtbFile, gic, node, root, spis } from '../support/dt.js';

const JUNO = fileURLToPath(new URL('../../../shared/fixtures/dtb/arm64-6.12-juno-r1.dtb', import.meta.url));
const bytes = (...v: number[]) => Uint8Array.from(v);
const hex8 = (v: number) => v.toString(16).padStart(8, '0');

interface Booted {
  readonly k: Kernel;
  dev(name: string): Device;
}

function boot(file: string, cmdline = '', failNth?: number): Booted {
  const { desc, file: f, firmware } = loadInputs([file], {});
  const { k } = bootPlatform(desc, { profile: 'v6.12', file: f, firmware, cmdline, failNth });
  return {
    k,
    dev(name) {
      const d = [...k.base.devices].find((x) => x.name === name);
      if (!d) throw new Error(`no device ${name}`);
      return d;
    },
  };
}

const smmuOf = (dev: Device) => dev.iommu!.iommu_dev!.priv as ArmSmmuDevice;
const domainOf = (dev: Device) => dev.iommu_group!.domain as ArmSmmuDomain;
const tlbOf = (dev: Device) => dev.iommu!.iommu_dev!.iotlb;
const counts = (dev: Device) => {
  const t = tlbOf(dev);
  return { commands: t.commands, syncs: t.syncs, pages: t.pages };
};
const delta = (a: ReturnType<typeof counts>, b: ReturnType<typeof counts>) => ({
  commands: b.commands - a.commands,
  syncs: b.syncs - a.syncs,
  pages: b.pages - a.pages,
});
/** The driver's lines for a device (the IOMMU core's own about the SMMU's device left out). */
const linesOf = (k: Kernel, device: string) =>
  k.printk.lines
    .filter((l) => l.source === device && !l.message.startsWith('Adding to IOMMU'))
    .map((l) => l.message);

describe('Juno r1: the MMU-401s as arm_smmu_device_cfg_probe() reads them', () => {
  it("prints the kernel's configuration lines with Juno's ID values", () => {
    const { k } = boot(JUNO);
    // The DMA-330's SMMU: coherent (dma-coherent), 16 SMRs, 4 banks.
    expect(linesOf(k, '7fb00000.iommu')).toEqual([
      'probing hardware configuration...',
      'SMMUv1 with:',
      '\tstage 2 translation',
      '\tcoherent table walk',
      '\tstream matching with 16 register groups',
      '\t4 context banks (4 stage-2 only)',
      '\tSupported page sizes: 0x60211000',
      '\tStage-2: 40-bit IPA -> 40-bit PA',
      '\tpreserved 0 boot mappings',
    ]);
    // HDLCD 0's SMMU has no dma-coherent: the firmware overrides IDR0.CTTW.
    expect(linesOf(k, '7fb10000.iommu').slice(3, 7)).toEqual([
      '\tnon-coherent table walk',
      '\t(IDR0.CTTW overridden by FW configuration)',
      '\tstream matching with 2 register groups',
      '\t1 context banks (1 stage-2 only)',
    ]);
    expect(linesOf(k, '2b500000.iommu')[4]).toBe('\tstream matching with 32 register groups');
  });

  it("the DMA-330's default domain: stage 2, ARM_64_LPAE_S2 40/40 bits, bank 0, VMID 1", () => {
    const { dev } = boot(JUNO);
    const dma = dev('7ff00000.dma-controller');
    const d = domainOf(dma);
    expect(d).toBeInstanceOf(ArmSmmuDomain);
    expect(d.stage).toBe('S2');
    expect(d.cfg).toMatchObject({ fmt: 'AARCH64', cbndx: 0, vmid: 1, cbar: 'S2_TRANS', irptndx: 0 });
    expect(d.pgtable!.cfg).toMatchObject({ fmt: 'ARM_64_LPAE_S2', ias: 40, oas: 40, coherent_walk: true });
    // 0x60211000 keeps the 4K granule's sizes (arm_lpae_restrict_pgsizes(), PAGE_SIZE 4K).
    expect(d.pgsize_bitmap).toBe(0x40201000);
    expect(d.geometry).toEqual({ aperture_start: 0, aperture_end: 2 ** 40 - 1, force_aperture: true });
    // 40 bits with 4K: two level-0 entries concatenate into a level-1 pgd.
    expect(d.pgtable!.layout.levels.map((l) => l.level)).toEqual([1, 2, 3]);
    // Its nine streams all translate through bank 0.
    const smmu = smmuOf(dma);
    const used = smmu.map.s2crs.filter((s) => s.count > 0);
    expect(used).toHaveLength(9);
    expect(used.every((s) => s.type === 'TRANS' && s.cbndx === 0)).toBe(true);
    expect(smmu.context_map).toEqual([true, false, false, false]);
    // HDLCD 0's SMMU walks non-coherently (no dma-coherent in its node).
    expect(domainOf(dev('7ff50000.hdlcd')).pgtable!.cfg.coherent_walk).toBe(false);
  });
});

describe('Juno r1: DMA through the MMU-401s', () => {
  it('a write lands at the mapped physical address; a strict unmap sends TLBIVMID per page and one sync', () => {
    const { k, dev } = boot(JUNO);
    const dma = dev('7ff00000.dma-controller');
    // 0x20 bytes at 0x8000_1ff0: two pages.
    const h = dma_map_page_attrs(k, dma, 0x8000_1ff0, 0x20, 'bidirectional');
    expect(dma_mapping_error(k, dma, h)).toBe(0);
    expect(h % 0x1000).toBe(0xff0);
    expect(h).toBeLessThan(2 ** 32); // the platform device's 32-bit mask
    const data = Uint8Array.from({ length: 0x20 }, (_, i) => 0xa0 + i);
    const w = dmaWrite(k, dma, h, data);
    expect(w.ok && w.phys).toEqual([0x8000_1ff0, 0x8000_2000]);
    expect([...physMem(k).read(0x8000_1ff0, 0x20)]).toEqual([...data]);
    const before = counts(dma);
    dma_unmap_page_attrs(k, dma, h, 0x20, 'bidirectional');
    // arm_smmu_tlb_add_page_s2_v1() per 4K leaf (a whole-VMID command each), then the sync.
    expect(delta(before, counts(dma))).toEqual({ commands: 2, syncs: 1, pages: 0 });
    expect(dmaJson(k).staleIotlbUses).toEqual([]);
  });

  it('DMA after unmap: an unhandled context fault, as arm_smmu_context_fault() prints it', () => {
    const { k, dev } = boot(JUNO);
    const dma = dev('7ff00000.dma-controller');
    const h = dma_map_page_attrs(k, dma, 0x8100_0000, 0x1000, 'from-device');
    expect(dmaWrite(k, dma, h, bytes(1)).ok).toBe(true);
    dma_unmap_page_attrs(k, dma, h, 0x1000, 'from-device');
    const w = dmaWrite(k, dma, h + 0x10, bytes(9));
    expect(!w.ok && w.fault.reason).toBe('unmapped');
    // TF with FORMAT 2 (AArch64), a write at level 3 (the emptied leaf), stream 0, bank 0.
    expect(linesOf(k, '7fb00000.iommu').slice(-3)).toEqual([
      `Unhandled context fault: fsr=0x402, iova=0x${hex8(h + 0x10)}, fsynr=0x13, cbfrsynra=0x0, cb=0`,
      'FSR    = 00000402 [Format=2 TF], SID=0x0',
      'FSYNR0 = 00000013 [S1CBNDX=0 WNR PLVL=3]',
    ]);
    expect(physMem(k).read(0x8100_0010, 1)[0]).toBe(0);
  });

  it('a device write through a to-device mapping is a permission fault (FSR.PF); reads pass', () => {
    const { k, dev } = boot(JUNO);
    const lcd = dev('7ff50000.hdlcd');
    physMem(k).write(0x9000_0000, bytes(0x11, 0x22));
    const h = dma_map_page_attrs(k, lcd, 0x9000_0000, 2, 'to-device');
    expect(dma_mapping_error(k, lcd, h)).toBe(0);
    const r = dmaRead(k, lcd, h, 2);
    expect(r.ok && [...r.data]).toEqual([0x11, 0x22]);
    const w = dmaWrite(k, lcd, h, bytes(0xff));
    expect(!w.ok && w.fault.reason).toBe('permission');
    expect(linesOf(k, '7fb10000.iommu').slice(-3)).toEqual([
      `Unhandled context fault: fsr=0x408, iova=0x${hex8(h)}, fsynr=0x13, cbfrsynra=0x0, cb=0`,
      'FSR    = 00000408 [Format=2 PF], SID=0x0',
      'FSYNR0 = 00000013 [S1CBNDX=0 WNR PLVL=3]',
    ]);
    expect([...physMem(k).read(0x9000_0000, 2)]).toEqual([0x11, 0x22]);
  });

  it('an IPA past the 40-bit input range is a translation fault at level 0', () => {
    const { k, dev } = boot(JUNO);
    const dma = dev('7ff00000.dma-controller');
    const r = dmaRead(k, dma, 2 ** 40, 4);
    expect(!r.ok && r.fault.reason).toBe('aperture');
    expect(linesOf(k, '7fb00000.iommu').slice(-3)).toEqual([
      'Unhandled context fault: fsr=0x402, iova=0x10000000000, fsynr=0x0, cbfrsynra=0x0, cb=0',
      'FSR    = 00000402 [Format=2 TF], SID=0x0',
      'FSYNR0 = 00000000 [S1CBNDX=0 PLVL=0]',
    ]);
  });

  it('context banks: the first free one per finalised domain, -ENOSPC when all four are taken', () => {
    const { k, dev } = boot(JUNO);
    const dma = dev('7ff00000.dma-controller');
    const smmu = smmuOf(dma);
    const alloc = () => {
      const d = iommu_paging_domain_alloc(k, dma);
      if (IS_ERR(d)) throw new Error('no domain');
      return d as ArmSmmuDomain;
    };
    // Bank 0 is the default domain's; each new domain is finalised at its first attach.
    const doms = [alloc(), alloc(), alloc()];
    for (const d of doms) {
      expect(iommu_attach_device(k, d, dma)).toBe(0);
      iommu_detach_group(k, dma.iommu_group!);
    }
    expect(doms.map((d) => [d.cfg.cbndx, d.cfg.vmid])).toEqual([
      [1, 2],
      [2, 3],
      [3, 4],
    ]);
    expect(smmu.context_map).toEqual([true, true, true, true]);
    const extra = alloc();
    expect(iommu_attach_device(k, extra, dma)).toBe(-ENOSPC);
    expect(extra.smmu).toBeNull(); // not finalised: out_clear_smmu
    expect(dma.iommu_group!.domain).toBe(dma.iommu_group!.default_domain);
    // Freeing a domain frees its bank (arm_smmu_destroy_domain_context()).
    iommu_domain_free(k, doms[1]);
    expect(iommu_attach_device(k, extra, dma)).toBe(0);
    expect(extra.cfg.cbndx).toBe(2);
    // The master's S2CRs now point at bank 2, and DMA translates through its table.
    expect(smmu.map.s2crs.filter((x) => x.count > 0).every((x) => x.type === 'TRANS' && x.cbndx === 2)).toBe(
      true,
    );
    expect(iommu_map(k, extra, 0x40000, 0x8800_0000, 0x1000, IOMMU_READ | IOMMU_WRITE)).toBe(0);
    expect(dmaWrite(k, dma, 0x40008, bytes(4)).ok).toBe(true);
    expect(physMem(k).read(0x8800_0008, 1)[0]).toBe(4);
    expect(dmaRead(k, dma, 0x50000, 1).ok).toBe(false);
    expect(linesOf(k, '7fb00000.iommu').at(-3)).toBe(
      'Unhandled context fault: fsr=0x402, iova=0x00050000, fsynr=0x3, cbfrsynra=0x0, cb=2',
    );
    iommu_detach_group(k, dma.iommu_group!);
    for (const d of [doms[0], doms[2], extra]) iommu_domain_free(k, d);
    expect(smmu.context_map).toEqual([true, false, false, false]);
    expect(checkInvariants(k)).toEqual([]);
    teardown(k);
    expect(leakReport(k)).toEqual([]);
  });

  it('a DMA owner puts the group in the blocked domain: S2CR fault, nothing reaches a context bank', () => {
    const { k, dev } = boot(JUNO);
    const lcd = dev('7ff60000.hdlcd');
    const smmu = smmuOf(lcd);
    device_release_driver(k, lcd);
    expect(iommu_device_claim_dma_owner(k, lcd, 'vfio')).toBe(0);
    const s2cr = smmu.map.s2crs.find((x) => x.count > 0)!;
    expect(s2cr.type).toBe('FAULT');
    const r = dmaRead(k, lcd, 0x1000, 4);
    expect(!r.ok && r.fault.reason).toBe('blocked');
    expect(!r.ok && r.fault.log).toEqual([]);
    iommu_device_release_dma_owner(k, lcd);
    expect(s2cr).toMatchObject({ type: 'TRANS', cbndx: 0 });
    // The default domain kept its bank all along.
    expect(smmu.context_map).toEqual([true]);
    expect(checkInvariants(k)).toEqual([]);
  });

  it('identity (iommu.passthrough=1): S2CR bypass, no context bank, the address is physical', () => {
    const { k, dev } = boot(JUNO, 'iommu.passthrough=1');
    const dma = dev('7ff00000.dma-controller');
    expect(dma.iommu_group!.domain!.type).toBe(dma.iommu_group!.default_domain!.type);
    const smmu = smmuOf(dma);
    expect(smmu.context_map).toEqual([false, false, false, false]);
    expect(smmu.map.s2crs.filter((s) => s.count > 0).every((s) => s.type === 'BYPASS')).toBe(true);
    const w = dmaWrite(k, dma, 0x8123_4567, bytes(7, 8));
    expect(w.ok && w.phys).toEqual([0x8123_4567]);
    expect([...physMem(k).read(0x8123_4567, 2)]).toEqual([7, 8]);
    expect(dmaJson(k).faults).toEqual([]);
  });

  it('DMA-FQ (iommu.strict=0): unmap sends nothing, the queue flush sends TLBIVMID and a sync', () => {
    const { k, dev } = boot(JUNO, 'iommu.strict=0');
    const dma = dev('7ff00000.dma-controller');
    const h = dma_map_page_attrs(k, dma, 0x8000_0000, 0x1000, 'bidirectional');
    expect(dmaWrite(k, dma, h, bytes(1)).ok).toBe(true);
    const before = counts(dma);
    dma_unmap_page_attrs(k, dma, h, 0x1000, 'bidirectional');
    expect(delta(before, counts(dma))).toEqual({ commands: 0, syncs: 0, pages: 0 });
    // The stale translation is still used until the queue's 10 ms timer.
    expect(dmaWrite(k, dma, h, bytes(2)).ok).toBe(true);
    expect(dmaJson(k).staleIotlbUses).toHaveLength(1);
    k.clock.advance(10);
    expect(delta(before, counts(dma))).toEqual({ commands: 1, syncs: 1, pages: 0 });
    expect(dmaWrite(k, dma, h, bytes(3)).ok).toBe(false);
  });
});

const smmu500 = (props: Record<string, number | number[] | string | string[] | true> = {}) =>
  node('iommu@10000000', {
    compatible: ['arm,mmu-500'],
    reg: [0, 0x10000000, 0, 0x10000],
    '#iommu-cells': 1,
    '#global-interrupts': 1,
    interrupts: spis(3),
    phandle: 2,
    'dma-coherent': true,
    ...props,
  });
const master = (name: string, base: number, sid: number) =>
  node(name, { compatible: 'test,master', reg: [0, base, 0, 0x1000], iommus: [2, sid] });

describe('stage 1 on SMMUv2 (small trees)', () => {
  it('MMU-500 (assumed IDs): ARM_64_LPAE_S1 48/48, ASID = bank; TLBIVAL per page; AArch64 fault format', () => {
    const file = dtbFile(
      root([
        gic(),
        smmu500(),
        master('a@20000000', 0x20000000, 0x10),
        master('b@20001000', 0x20001000, 0x11),
      ]),
    );
    const { k, dev } = boot(file);
    const a = dev('20000000.a');
    const b = dev('20001000.b');
    expect(linesOf(k, '10000000.iommu').slice(2, 5)).toEqual([
      '\tstage 1 translation',
      '\tstage 2 translation',
      '\tnested translation',
    ]);
    const da = domainOf(a);
    expect(da.stage).toBe('S1');
    expect(da.pgtable!.cfg).toMatchObject({ fmt: 'ARM_64_LPAE_S1', ias: 48, oas: 48 });
    expect([da.cfg.cbndx, da.cfg.asid, domainOf(b).cfg.asid]).toEqual([0, 0, 1]);
    const h = dma_map_page_attrs(k, a, 0x8000_0000, 0x2000, 'bidirectional');
    expect(dmaWrite(k, a, h + 0x1000, bytes(5)).ok).toBe(true);
    expect(physMem(k).read(0x8000_1000, 1)[0]).toBe(5);
    const before = counts(a);
    dma_unmap_page_attrs(k, a, h, 0x2000, 'bidirectional');
    // arm_smmu_tlb_add_page_s1(): TLBIVAL naming each page; arm_smmu_tlb_sync_context().
    expect(delta(before, counts(a))).toEqual({ commands: 2, syncs: 1, pages: 2 });
    const r = dmaRead(k, b, 0x4000, 1);
    expect(!r.ok && r.fault.reason).toBe('unmapped');
    // Nothing mapped in b's table: the walk stops at the empty level-0 entry; a read; stream 0x11, bank 1.
    expect(linesOf(k, '10000000.iommu').slice(-3)).toEqual([
      'Unhandled context fault: fsr=0x402, iova=0x00004000, fsynr=0x0, cbfrsynra=0x11, cb=1',
      'FSR    = 00000402 [Format=2 TF], SID=0x11',
      'FSYNR0 = 00000000 [S1CBNDX=0 PLVL=0]',
    ]);
  });

  it('Marvell AP806 (erratum #582743 hides AArch64): ARM_32_LPAE_S1, 32-bit IOVAs, FSR.FORMAT 1', () => {
    const file = dtbFile(
      root([
        gic(),
        smmu500({ compatible: ['marvell,ap806-smmu-500', 'arm,mmu-500'] }),
        master('a@20000000', 0x20000000, 0x10),
      ]),
    );
    const { k, dev } = boot(file);
    const a = dev('20000000.a');
    // Only the AArch32 formats' sizes are left.
    expect(linesOf(k, '10000000.iommu')).toContain('\tSupported page sizes: 0x41311000');
    const d = domainOf(a);
    expect(d.cfg.fmt).toBe('AARCH32_L');
    expect(d.pgtable!.cfg).toMatchObject({ fmt: 'ARM_32_LPAE_S1', ias: 32, oas: 40 });
    expect(d.pgsize_bitmap).toBe(0x40201000);
    expect(d.geometry!.aperture_end).toBe(2 ** 32 - 1);
    const h = dma_map_page_attrs(k, a, 0x8000_0000, 0x1000, 'to-device');
    const w = dmaWrite(k, a, h, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('permission');
    expect(linesOf(k, '10000000.iommu').slice(-2)[0]).toBe('FSR    = 00000208 [Format=1 PF], SID=0x10');
  });

  it('generic SMMUv2 with address translation ops: iova_to_phys() goes through ATS1PR (PAR has PA[39:12])', () => {
    const file = dtbFile(
      root([gic(), smmu500({ compatible: ['arm,smmu-v2'] }), master('a@20000000', 0x20000000, 0x10)]),
    );
    const { k, dev } = boot(file);
    const a = dev('20000000.a');
    expect(linesOf(k, '10000000.iommu')).toContain('\taddress translation ops');
    const d = iommu_paging_domain_alloc(k, a);
    if (IS_ERR(d)) throw new Error('no domain');
    device_release_driver(k, a);
    expect(iommu_device_claim_dma_owner(k, a, 'test')).toBe(0);
    iommu_detach_group(k, a.iommu_group!); // back to blocking, so the attach below is allowed
    expect(iommu_attach_device(k, d, a)).toBe(0);
    expect(iommu_map(k, d, 0x10000, 0x123_4567_8000, 0x1000, IOMMU_READ | IOMMU_WRITE)).toBe(0);
    // The hardware walk knows the 42-bit address; PAR keeps bits 39:12 of it.
    expect(d.pgtable!.iovaToPhys(0x10abc)).toBe(0x123_4567_8abc);
    expect(iommu_iova_to_phys(k, d, 0x10abc)).toBe(0x23_4567_8abc);
    expect(iommu_iova_to_phys(k, d, 0x20000)).toBe(0);
    expect(linesOf(k, '10000000.iommu').at(-2)).toBe('translation fault!');
    expect(iommu_unmap(k, d, 0x10000, 0x1000)).toBe(0x1000);
    iommu_detach_group(k, a.iommu_group!);
    iommu_domain_free(k, d);
    iommu_device_release_dma_owner(k, a);
    expect(checkInvariants(k)).toEqual([]);
    teardown(k);
    expect(leakReport(k)).toEqual([]);
  });
});

/** Map 2M as 512 single 4K pages, then unmap it at once: io-pgtable-arm frees the level-3 table (tlb_flush_walk). */
function walkFlush(k: Kernel, dev: Device) {
  const d = iommu_paging_domain_alloc(k, dev);
  if (IS_ERR(d)) throw new Error('no domain');
  expect(iommu_attach_device(k, d, dev)).toBe(0);
  for (let i = 0; i < 512; i++)
    expect(iommu_map(k, d, 0x20_0000 + i * 0x1000, 0x9000_0000 + i * 0x1000, 0x1000, IOMMU_READ)).toBe(0);
  const before = counts(dev);
  expect(iommu_unmap(k, d, 0x20_0000, 0x20_0000)).toBe(0x20_0000);
  const got = delta(before, counts(dev));
  iommu_detach_group(k, dev.iommu_group!);
  iommu_domain_free(k, d);
  return { got, d: d as ArmSmmuDomain };
}

describe('a freed table: by range, or by ASID where Qualcomm prefers it', () => {
  it('MMU-500: TLBIVA for each 4K of the 2M the table covered, synced; TLBIVAL for the 2M entry; iotlb_sync()', () => {
    const file = dtbFile(root([gic(), smmu500(), master('a@20000000', 0x20000000, 0x10)]));
    const { k, dev } = boot(file);
    const { got, d } = walkFlush(k, dev('20000000.a'));
    expect(d.cfg.flush_walk_prefer_tlbiasid).toBe(false);
    // __arm_lpae_unmap(): tlb_flush_walk() over the table, then tlb_add_page() for the cleared entry.
    expect(got).toEqual({ commands: 513, syncs: 2, pages: 513 });
  });

  it('DragonBoard 845c apps SMMU (qcom,sdm845-smmu-500): qcom_smmu_init_context() makes it one TLBIASID', () => {
    const db845c = fileURLToPath(
      new URL('../../../shared/fixtures/dtb/arm64-6.12-sdm845-db845c.dtb', import.meta.url),
    );
    const { k, dev } = boot(db845c);
    const ufs = dev('1d84000.ufshc');
    // Its default domain: stage 1, AArch64, the bank after the stage-2-only ones (none).
    const def = domainOf(ufs);
    expect(def.stage).toBe('S1');
    expect(def.pgtable!.cfg).toMatchObject({ fmt: 'ARM_64_LPAE_S1', ias: 48, oas: 48 });
    expect(def.cfg.flush_walk_prefer_tlbiasid).toBe(true);
    const { got } = walkFlush(k, ufs);
    // TLBIASID and its sync for the walk, TLBIVAL for the 2M entry, the sync of iotlb_sync().
    expect(got).toEqual({ commands: 2, syncs: 2, pages: 1 });
    // The GPU and its GMU are Qualcomm identity clients: no bank on the Adreno SMMU.
    expect(smmuOf(dev('5000000.gpu')).context_map.every((b) => !b)).toBe(true);
  });
});

describe('ARM_32_LPAE (the format arm-smmu, qcom_iommu and ipmmu-vmsa pick for AArch32 contexts)', () => {
  it('arm_32_lpae_alloc_pgtable_s1/_s2: the AArch32 limits, then the 64-bit tables', () => {
    // ias > 32 at stage 1, > 40 at stage 2, or oas > 40: alloc_io_pgtable_ops() gives NULL.
    expect(() => createPageTable('arm-32-lpae-s1', { ias: 33 })).toThrow();
    expect(() => createPageTable('arm-32-lpae-s2', { oas: 44 })).toThrow();
    const t = createPageTable('arm-32-lpae-s1', { pgsize_bitmap: 0x1000 | 0x10000 | 0x100000 | 0x1000000 });
    // Only 4K survives 4K | 64K | 1M | 16M (qcom_iommu's page sizes).
    expect(t.cfg.pgsize_bitmap).toBe(0x1000);
    expect(t.cfg.fmt).toBe('ARM_32_LPAE_S1');
    // The descriptors are ARM_64_LPAE_S1's.
    const s64 = createPageTable('arm-64-lpae-s1-4k', { ias: 32, oas: 40 });
    expect(t.protToPte(IOMMU_READ)).toBe(s64.protToPte(IOMMU_READ));
    expect(createPageTable('arm-32-lpae-s2').layout.levels.map((l) => l.level)).toEqual([1, 2, 3]);
    t.free();
    s64.free();
  });
});

describe('fail-nth over the Juno boot and DMA', () => {
  function run(failNth?: number) {
    const { k } = boot(JUNO, '', failNth);
    const find = (name: string) => [...k.base.devices].find((d) => d.name === name && d.iommu_group);
    const dma = find('7ff00000.dma-controller');
    if (dma) {
      const h = dma_map_page_attrs(k, dma, 0x8000_0000, 0x3000, 'bidirectional');
      if (h !== DMA_MAPPING_ERROR) {
        dmaWrite(k, dma, h, bytes(1, 2, 3));
        dma_unmap_page_attrs(k, dma, h, 0x3000, 'bidirectional');
        dmaRead(k, dma, h, 1);
      }
    }
    const lcd = find('7ff60000.hdlcd');
    const um = lcd ? iommu_paging_domain_alloc(k, lcd) : null;
    if (um && !IS_ERR(um)) {
      iommu_attach_device(k, um, lcd!);
      iommu_domain_free(k, um);
    }
    return finishRun(k);
  }

  it('every failed allocation unwinds without leaks or broken invariants', () => {
    const base = run();
    expect(base.leaks).toEqual([]);
    expect(base.violations).toEqual([]);
    expect(base.k.printk.warnings).toEqual([]);
    const { sites } = expectCleanUnwinds(run, base.k.alloc.attempts);
    // The domain's own allocations were among those failed.
    expect([...sites]).toEqual(expect.arrayContaining(['arm_smmu_domain_alloc_paging', 'devm_request_irq']));
  });
});
