// SPDX-License-Identifier: GPL-2.0-only
// Device DMA through the SoC IOMMUs that keep their own page tables (Linux
// 6.12), on the fixture boards their driver tests boot: the bytes land at
// the physical address the driver's descriptors name, the IOTLB is shot down
// the way each driver does it, and a DMA the tables refuse faults with the
// lines the driver's (or, for Tegra, the memory controller's) interrupt
// handler prints. Each expectation names the kernel function it comes from.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadInputs } from '../../src/api.js';
import { bootPlatform } from '../../src/platform/boot.js';
import type { Kconfig } from '../../src/kernel/kconfig.js';
import type { Device } from '../../src/base/device.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import {
  DMA_MAPPING_ERROR,
  dma_map_page_attrs,
  dma_mapping_error,
  dma_unmap_page_attrs,
} from '../../src/dma/mapping.js';
import { dmaRead, dmaWrite } from '../../src/dma/device-dma.js';
import { physMem } from '../../src/mm/phys-mem.js';
import { iommu_iova_to_phys, iommu_map, iommu_unmap } from '../../src/iommu/map.js';
import { iommu_paging_domain_alloc, iommu_domain_free } from '../../src/iommu/domain-alloc.js';
import { iommu_attach_group, iommu_detach_group } from '../../src/iommu/attach.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../../src/iommu/ownership.js';
import { device_release_driver } from '../../src/base/dd.js';
import { IS_ERR } from '../../src/kernel/errno.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/prot.js';
import { leakReport, teardown } from '../../src/checker/teardown.js';
import { dmaDebug } from '../../src/checker/dma-debug.js';
import type { IommuDomain } from '../../src/iommu/domain.js';
import { expectCleanUnwinds, failNthPoints, finishRun } from '../support/fail-nth.js';
import type { TegraSmmu } from '../../src/drivers/tegra-smmu/structs.js';
import { cells, clocks, node, socTree, spi, str, writeDtb } from '../drivers/soc-iommu-dtb.js';

const dtb = (name: string) => fileURLToPath(new URL(`../../../shared/fixtures/dtb/${name}`, import.meta.url));
const RK3399 = dtb('arm64-6.12-rk3399-rockpro64.dtb');

const RW = IOMMU_READ | IOMMU_WRITE;
const bytes = (...v: number[]) => Uint8Array.from(v);
const pad64 = (v: number) => `0x${v.toString(16).padStart(16, '0')}`;

interface Booted {
  readonly k: Kernel;
  dev(name: string): Device;
}

/** Boot a DTB and keep the kernel (no teardown), for DMA. */
function bootDtb(
  path: string,
  opts: { kconfig?: Partial<Kconfig>; cmdline?: string; failNth?: number } = {},
): Booted {
  const { desc, file, firmware } = loadInputs([path], { kconfig: opts.kconfig });
  const bp = bootPlatform(desc, {
    file,
    firmware,
    profile: 'v6.12',
    cmdline: opts.cmdline,
    failNth: opts.failNth,
  });
  return {
    k: bp.k,
    dev(name) {
      const d = [...bp.k.base.devices].find((x) => x.name === name);
      if (!d) throw new Error(`no device ${name}`);
      return d;
    },
  };
}

/** The 32-bit descriptor a walk of the domain's table ends on. */
const leafPte = (domain: IommuDomain, iova: number): number => {
  const steps = domain.pgtable!.walkTrace(iova).steps;
  return Number(steps[steps.length - 1].pte);
};

const tlbOf = (dev: Device) => dev.iommu!.iommu_dev!.iotlb;

describe('rockchip-iommu on the RockPro64 (rk3399): rk_iommu_map() into its own DT/PT tables', () => {
  it('a write lands where the PTE points; the PTE is rk_mk_pte(); the map zaps first and last line', () => {
    const { k, dev } = bootDtb(RK3399);
    const vpu = dev('ff650000.video-codec');
    const domain = vpu.iommu_group!.default_domain!;
    expect(domain.type).toBe(3); // IOMMU_DOMAIN_DMA: no IOMMU_CAP_DEFERRED_FLUSH, so never DMA-FQ
    // rk_iommu_domain_alloc_paging(): aperture DMA_BIT_MASK(32); the core copies RK_IOMMU_PGSIZE_BITMAP.
    expect(domain.geometry).toEqual({ aperture_start: 0, aperture_end: 0xffff_ffff, force_aperture: true });
    expect(domain.pgsize_bitmap).toBe(0x007f_f000);
    expect(domain.pgtable!.cfg.fmt).toBe('ROCKCHIP_IOMMU_V1');
    const tlb = tlbOf(vpu);
    expect([tlb.commands, tlb.pages, tlb.syncs]).toEqual([0, 0, 0]);

    // Two pages of buffer at 0x8000_1ff0, so the mapping is 8 KiB: one rk_iommu_map() call of 8 KiB.
    const h = dma_map_page_attrs(k, vpu, 0x8000_1ff0, 0x20, 'bidirectional');
    expect(dma_mapping_error(k, vpu, h)).toBe(0);
    expect(h).toBe(0xffff_eff0); // top of the 32-bit mask, the buffer's offset kept
    // rk_iommu_zap_iova_first_last(): two ZAP_ONE_LINE writes on the one MMU.
    expect([tlb.commands, tlb.pages, tlb.syncs]).toEqual([2, 2, 0]);
    // rk_mk_pte(): page | READABLE(1) | WRITABLE(2) | VALID(0).
    expect(leafPte(domain, 0xffff_e000)).toBe(0x8000_1007);
    expect(leafPte(domain, 0xffff_f000)).toBe(0x8000_2007);
    // The DTE: rk_mk_dte() of the page table's address, valid.
    const [dteStep] = domain.pgtable!.walkTrace(0xffff_e000).steps;
    expect(dteStep.index).toBe(0x3ff);
    expect(Number(dteStep.pte) & 0xfff).toBe(1);

    const data = Uint8Array.from({ length: 0x20 }, (_, i) => i + 1);
    const w = dmaWrite(k, vpu, h, data);
    expect(w.ok && w.phys).toEqual([0x8000_1ff0, 0x8000_2000]);
    expect([...physMem(k).read(0x8000_1ff0, 0x20)]).toEqual([...data]);
    const r = dmaRead(k, vpu, h + 0x11, 2);
    expect(r.ok && [...r.data]).toEqual([0x12, 0x13]);
    expect(iommu_iova_to_phys(k, domain, h)).toBe(0x8000_1ff0);
    expect([tlb.misses, tlb.hits]).toEqual([2, 1]);

    // rk_iommu_unmap(): the valid bits go, one ZAP_ONE_LINE per page; no sync exists.
    dma_unmap_page_attrs(k, vpu, h, 0x20, 'bidirectional');
    expect([tlb.commands, tlb.pages, tlb.syncs]).toEqual([4, 4, 0]);
    // rk_mk_pte_invalid(): address and flags stay.
    expect(domain.pgtable!.memory.read32(domain.pgtable!.walkTrace(0xffff_e000).steps[1].pteAddress)).toBe(
      0x8000_1006,
    );
    expect(iommu_iova_to_phys(k, domain, h)).toBe(0);
    expect(dmaDebug(k).errors).toEqual([]);
  });

  it('an instance with two MMUs zaps each line on both (rk_iommu_zap_lines())', () => {
    const { k, dev } = bootDtb(RK3399);
    const vdec = dev('ff660000.video-codec');
    const tlb = tlbOf(vdec);
    const h = dma_map_page_attrs(k, vdec, 0x9000_0000, 0x1000, 'from-device');
    expect(dma_mapping_error(k, vdec, h)).toBe(0);
    // One page: only the first line, on both MMUs (iommu@ff660480 has two `reg` windows).
    expect(tlb.commands).toBe(2);
    dma_unmap_page_attrs(k, vdec, h, 0x1000, 'from-device');
    expect(tlb.commands).toBe(4);
  });

  it('DMA after unmap is a page fault: rk_iommu_irq() and log_iova() lines, then a ZAP_CACHE', () => {
    const { k, dev } = bootDtb(RK3399);
    const vpu = dev('ff650000.video-codec');
    const domain = vpu.iommu_group!.default_domain!;
    const h = dma_map_page_attrs(k, vpu, 0x8000_0000, 0x1000, 'from-device');
    expect(dma_mapping_error(k, vpu, h)).toBe(0);
    expect(h).toBe(0xffff_f000);
    expect(leafPte(domain, h)).toBe(0x8000_0005); // from-device: WRITABLE only
    expect(dmaWrite(k, vpu, h, bytes(1, 2, 3)).ok).toBe(true);
    dma_unmap_page_attrs(k, vpu, h, 0x1000, 'from-device');
    const tlb = tlbOf(vpu);
    const before = tlb.commands;

    const w = dmaWrite(k, vpu, h + 0x10, bytes(9));
    expect(w.ok).toBe(false);
    if (w.ok) return;
    expect(w.fault.reason).toBe('unmapped');
    expect(w.fault.iommu).toBe('ff650800.iommu');
    const dt = domain.pgtable!.cfg.ttbr;
    const dteAddr = dt + 4 * 0x3ff;
    const dte = domain.pgtable!.memory.read32(dteAddr)!;
    const pt = dte & 0xffff_f000;
    expect(w.fault.log).toEqual([
      'Page fault at 0x00000000fffff010 of type write',
      'iova = 0x00000000fffff010: dte_index: 0x3ff pte_index: 0x3ff page_offset: 0x10',
      // The PTE still holds the page and WRITABLE, without VALID: page@ and flags stay 0.
      `mmu_dte_addr: ${pad64(dt)} dte@${pad64(dteAddr)}: 0x${dte.toString(16)} valid: 1 pte@${pad64(pt + 4 * 0x3ff)}: 0x80000004 valid: 0 page@0x0000000000000000 flags: 0x0`,
    ]);
    expect(k.printk.lines.slice(-3).map((l) => [l.level, l.source, l.message])).toEqual(
      w.fault.log.map((m) => ['err', 'ff650800.iommu', m]),
    );
    // RK_MMU_CMD_ZAP_CACHE after the fault.
    expect(tlb.commands).toBe(before + 1);
    expect(physMem(k).read(0xffff_f010, 1)[0]).toBe(0);
    expect(physMem(k).read(0x8000_0010, 1)[0]).toBe(0);
  });

  it('a device write through a to-device (READABLE-only) page faults; the read passes', () => {
    const { k, dev } = bootDtb(RK3399);
    const vop = dev('ff8f0000.vop');
    const domain = vop.iommu_group!.default_domain!;
    physMem(k).write(0x9000_0000, bytes(0xaa, 0xbb));
    const h = dma_map_page_attrs(k, vop, 0x9000_0000, 2, 'to-device');
    expect(dma_mapping_error(k, vop, h)).toBe(0);
    expect(leafPte(domain, h)).toBe(0x9000_0003);
    const r = dmaRead(k, vop, h, 2);
    expect(r.ok && [...r.data]).toEqual([0xaa, 0xbb]);
    const w = dmaWrite(k, vop, h, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('permission');
    if (w.ok) return;
    expect(w.fault.log[0]).toBe('Page fault at 0x00000000fffff000 of type write');
    // A valid PTE: page@ the physical address, flags READABLE (0x2).
    expect(w.fault.log[2]).toMatch(
      /valid: 1 pte@0x[0-9a-f]{16}: 0x90000003 valid: 1 page@0x0000000090000000 flags: 0x2$/,
    );
    expect([...physMem(k).read(0x9000_0000, 2)]).toEqual([0xaa, 0xbb]);
  });

  it('identity (iommu.passthrough=1): rk_identity_domain, the device address is physical', () => {
    const { k, dev } = bootDtb(RK3399, { cmdline: 'iommu.passthrough=1' });
    const vpu = dev('ff650000.video-codec');
    expect(vpu.iommu_group!.default_domain!.type).toBe(4); // IOMMU_DOMAIN_IDENTITY
    const w = dmaWrite(k, vpu, 0x8123_4567, bytes(7, 8));
    expect(w.ok && w.phys).toEqual([0x8123_4567]);
    expect([...physMem(k).read(0x8123_4567, 2)]).toEqual([7, 8]);
    expect(vpu.iommu!.iommu_dev!.faults).toEqual([]);
  });

  it('iommu.strict=0 still gives a strict DMA domain: no IOMMU_CAP_DEFERRED_FLUSH, no flush queue', () => {
    const { k, dev } = bootDtb(RK3399, { cmdline: 'iommu.strict=0' });
    const vpu = dev('ff650000.video-codec');
    const domain = vpu.iommu_group!.default_domain!;
    expect(domain.type).toBe(3);
    const h = dma_map_page_attrs(k, vpu, 0x8000_0000, 0x1000, 'bidirectional');
    dma_unmap_page_attrs(k, vpu, h, 0x1000, 'bidirectional');
    // The zap went out with the unmap, not later from a queue.
    expect(tlbOf(vpu).commands).toBe(2);
    expect(domain.iova_cookie!.fq_domain).toBeNull();
  });

  it('a DMA owner puts the group on an empty paging domain (no blocked domain): faults name its empty DT', () => {
    const { k, dev } = bootDtb(RK3399);
    const vpu = dev('ff650000.video-codec');
    device_release_driver(k, vpu);
    expect(iommu_device_claim_dma_owner(k, vpu, 'vfio')).toBe(0);
    const blocking = vpu.iommu_group!.blocking_domain!;
    expect(blocking.pgtable!.cfg.fmt).toBe('ROCKCHIP_IOMMU_V1');
    const r = dmaRead(k, vpu, 0x1000, 4);
    expect(!r.ok && r.fault.reason).toBe('unmapped');
    if (r.ok) return;
    const dt = blocking.pgtable!.cfg.ttbr;
    expect(r.fault.log).toEqual([
      'Page fault at 0x0000000000001000 of type read',
      'iova = 0x0000000000001000: dte_index: 0x0 pte_index: 0x1 page_offset: 0x0',
      `mmu_dte_addr: ${pad64(dt)} dte@${pad64(dt)}: 0x000000 valid: 0 pte@0x0000000000000000: 0x000000 valid: 0 page@0x0000000000000000 flags: 0x0`,
    ]);
    iommu_device_release_dma_owner(k, vpu);
  });

  it('an unmanaged domain: 4 MiB a call, -EADDRINUSE and its pr_err() on a remap, unroll on failure', () => {
    const { k, dev } = bootDtb(RK3399);
    const vop = dev('ff900000.vop');
    device_release_driver(k, vop);
    const domain = iommu_paging_domain_alloc(k, vop);
    if (IS_ERR(domain)) throw new Error('no domain');
    expect(iommu_attach_group(k, domain, vop.iommu_group!)).toBe(0);
    const tlb = tlbOf(vop);
    const c0 = tlb.commands;
    // 8 MiB at a 4 MiB boundary: iommu_pgsize() picks 4 MiB ×2; rk_iommu_map() maps one a call.
    expect(iommu_map(k, domain, 0x0400_0000, 0x1_0000_0000, 0x80_0000, RW)).toBe(0);
    // v1 keeps 32 output bits: 0x1_0000_0000 is written as 0 (rk_mk_pte() masks the page).
    expect(iommu_iova_to_phys(k, domain, 0x0400_0123)).toBe(0x123);
    expect(iommu_iova_to_phys(k, domain, 0x0480_0000 - 1)).toBe(0x7f_ffff);
    // Two calls, each zapping its first and last line.
    expect(tlb.commands - c0).toBe(4);
    expect(domain.pgtable!.tableCount).toBe(3); // the DT and two PTs

    // Free the second-last page, then map 8 KiB over it and the last one: the first entry is
    // written, the second is in the way, the first is invalidated again (rk_iommu_map_iova()).
    expect(iommu_unmap(k, domain, 0x047f_e000, 0x1000)).toBe(0x1000);
    expect(iommu_map(k, domain, 0x047f_e000, 0x7000_0000, 0x2000, RW)).toBe(-98); // -EADDRINUSE
    expect(k.printk.lines.at(-1)?.message).toBe(
      'iova: 0x00000000047ff000 already mapped to 0x00000000007ff000 cannot remap to phys: 0x0000000070001000 prot: 0x3',
    );
    expect(iommu_iova_to_phys(k, domain, 0x047f_e000)).toBe(0);
    expect(iommu_iova_to_phys(k, domain, 0x047f_f000)).toBe(0x7f_f000);
    expect(k.printk.warnings).toEqual([]);

    // rk_iommu_unmap() stops at the first entry that is not valid: the hole at 0x047f_e000.
    expect(iommu_unmap(k, domain, 0x0400_0000, 0x80_0000)).toBe(0x7f_e000);
    const w = dmaWrite(k, vop, 0x0400_0000, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('unmapped');
    iommu_detach_group(k, vop.iommu_group!);
    iommu_domain_free(k, domain);
    expect(k.printk.warnings).toEqual([]);
  });
});

describe('rockchip-iommu v2 (rk3568-style node): 40-bit output addresses', () => {
  const tree = writeDtb(
    socTree([
      node('iommu@10000', {
        compatible: str('rockchip,rk3568-iommu'),
        reg: cells(0x10000, 0x100),
        interrupts: spi(10),
        clocks: clocks(1, 2),
        'clock-names': str('aclk', 'iface'),
        '#iommu-cells': cells(0),
        phandle: cells(10),
      }),
      node('vop@30000', { compatible: str('test,vop'), reg: cells(0x30000, 0x1000), iommus: cells(10) }),
    ]),
  );

  it('rk_mk_pte_v2(): bits 35..32 in [11:8], 39..36 in [7:4]; the write lands above 4 GiB', () => {
    const { k, dev } = bootDtb(tree);
    const vop = dev('30000.vop');
    const domain = vop.iommu_group!.default_domain!;
    expect(domain.pgtable!.cfg.fmt).toBe('ROCKCHIP_IOMMU_V2');
    const h = dma_map_page_attrs(k, vop, 0x9a_2345_6000, 0x1000, 'bidirectional');
    expect(h).not.toBe(DMA_MAPPING_ERROR);
    // 0x9a_2345_6000: bits 35..32 = 0xa, 39..36 = 0x9.
    expect(leafPte(domain, h)).toBe(0x2345_6000 + 0xa00 + 0x90 + 0x7);
    expect(dmaWrite(k, vop, h + 8, bytes(5, 6)).ok).toBe(true);
    expect([...physMem(k).read(0x9a_2345_6008, 2)]).toEqual([5, 6]);
    expect(iommu_iova_to_phys(k, domain, h + 8)).toBe(0x9a_2345_6008);
  });
});

describe('fail-nth over an rk3399 boot with DMA', () => {
  it('each allocation failed in turn (map, write, unmap, teardown): no leak, no invariant broken', () => {
    const run = (failNth?: number) => {
      const { k, dev } = bootDtb(RK3399, { failNth });
      const vpu = dev('ff650000.video-codec');
      const h = dma_map_page_attrs(k, vpu, 0x8000_0000, 0x3000, 'bidirectional');
      if (!dma_mapping_error(k, vpu, h)) {
        const w = dmaWrite(k, vpu, h, bytes(1, 2, 3));
        // Either the mapping translates, or the device is not behind its IOMMU (a failed probe).
        if (w.ok) expect(physMem(k).read(w.phys[0], 3)).toEqual(bytes(1, 2, 3));
        dma_unmap_page_attrs(k, vpu, h, 0x3000, 'bidirectional');
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

const TEGRA210 = dtb('arm64-6.12-tegra210-p3450-0000.dtb');
const MC = '70019000.memory-controller';

/** A Tegra master taken from its driver onto an unmanaged domain, as a DRM or host1x driver does. */
function tegraUnmanaged(b: Booted, name: string) {
  const dev = b.dev(name);
  device_release_driver(b.k, dev);
  const domain = iommu_paging_domain_alloc(b.k, dev);
  if (IS_ERR(domain)) throw new Error('no domain');
  return { dev, domain };
}

describe('tegra-smmu on the Jetson Nano (tegra210): tegra_smmu_map() into the page directory', () => {
  it('def_domain_type() is identity: dma_map_page is the physical address, DMA passes through', () => {
    const { k, dev } = bootDtb(TEGRA210);
    const gpu = dev('57000000.gpu');
    expect(gpu.iommu_group!.default_domain!.type).toBe(4);
    const h = dma_map_page_attrs(k, gpu, 0x8000_0100, 0x10, 'bidirectional');
    expect(h).toBe(0x8000_0100);
    expect(dmaWrite(k, gpu, h, bytes(1, 2)).ok).toBe(true);
    expect([...physMem(k).read(0x8000_0100, 2)]).toEqual([1, 2]);
    expect(tlbOf(gpu).commands).toBe(0);
  });

  it('a PDE and PTEs as tegra-smmu.c writes them, each flushed at once (PTC, TLB group/section, read-back)', () => {
    const b = bootDtb(TEGRA210);
    const { k } = b;
    const { dev: vic, domain } = tegraUnmanaged(b, '54340000.vic');
    // tegra_smmu_domain_alloc_paging(): a 32-bit aperture, 4K pages, a page directory and nothing under it.
    expect(domain.geometry).toEqual({ aperture_start: 0, aperture_end: 0xffff_ffff, force_aperture: true });
    expect(domain.pgsize_bitmap).toBe(0x1000);
    expect(domain.pgtable!.tableCount).toBe(1);
    // dev_iommu_priv_get(): the struct tegra_smmu of_xlate() recorded.
    const smmu = vic.iommu!.priv as TegraSmmu;
    const tlb = tlbOf(vic);
    expect(iommu_attach_group(k, domain, vic.iommu_group!)).toBe(0);
    // tegra_smmu_as_prepare(): the page directory's PTC line, the ASID's TLB entries, the read-back.
    expect([smmu.ptc_flushes, tlb.commands, tlb.syncs]).toEqual([1, 1, 1]);

    expect(iommu_map(k, domain, 0x1000_0000, 0x8000_0000, 0x2000, RW)).toBe(0);
    // One 4K page per tegra_smmu_map() call: a PDE write and a PTE write, then a PTE write.
    expect([smmu.ptc_flushes, tlb.commands, tlb.syncs]).toEqual([4, 4, 4]);
    const steps = domain.pgtable!.walkTrace(0x1000_1000).steps;
    // SMMU_MK_PDE(): the table's frame | READABLE | WRITABLE | NONSECURE | NEXT.
    expect(Number(steps[0].pte)).toBe((0xf000_0000 + steps[0].next! / 0x1000) >>> 0);
    // SMMU_PHYS_PFN(paddr) | NONSECURE | READABLE | WRITABLE.
    expect(Number(steps[1].pte)).toBe(0xe008_0001);
    expect(steps.map((s) => s.kind)).toEqual(['table', 'page']);

    const data = Uint8Array.from({ length: 0x20 }, (_, i) => 0x40 + i);
    const w = dmaWrite(k, vic, 0x1000_0ff0, data);
    expect(w.ok && w.phys).toEqual([0x8000_0ff0, 0x8000_1000]);
    expect([...physMem(k).read(0x8000_0ff0, 0x20)]).toEqual([...data]);

    // The last unmap of the table clears the PDE and frees the table (tegra_smmu_pte_put_use()).
    expect(iommu_unmap(k, domain, 0x1000_0000, 0x2000)).toBe(0x2000);
    expect([smmu.ptc_flushes, tlb.commands, tlb.syncs]).toEqual([7, 7, 7]);
    expect(domain.pgtable!.tableCount).toBe(1);
    const f = dmaWrite(k, vic, 0x1000_0010, bytes(9));
    expect(!f.ok && f.fault.reason).toBe('unmapped');
    if (f.ok) return;
    // tegra30_mc_handle_irq(): the VIC's write client, the IOVA, no page: "[--S]".
    expect(f.fault.log).toEqual([
      'vicswr: write @0x0000000010000010: Page fault (SMMU translation error [--S])',
    ]);
    expect(k.printk.lines.at(-1)).toEqual({ level: 'err', source: MC, message: f.fault.log[0] });
    iommu_detach_group(k, vic.iommu_group!);
    iommu_domain_free(k, domain);
  });

  it('a read-only page written faults "[R--]"; a read of an unmapped page names the read client', () => {
    const b = bootDtb(TEGRA210);
    const { k } = b;
    const { dev: gpu, domain } = tegraUnmanaged(b, '57000000.gpu');
    expect(iommu_attach_group(k, domain, gpu.iommu_group!)).toBe(0);
    physMem(k).write(0x9000_0000, bytes(0x11, 0x22));
    expect(iommu_map(k, domain, 0x2000, 0x9000_0000, 0x1000, IOMMU_READ)).toBe(0);
    const r = dmaRead(k, gpu, 0x2000, 2);
    expect(r.ok && [...r.data]).toEqual([0x11, 0x22]);
    const w = dmaWrite(k, gpu, 0x2004, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('permission');
    expect(!w.ok && w.fault.log).toEqual([
      'gpuswr: write @0x0000000000002004: Page fault (SMMU translation error [R--])',
    ]);
    const u = dmaRead(k, gpu, 0x5000, 1);
    expect(!u.ok && u.fault.log).toEqual([
      'gpusrd: read @0x0000000000005000: Page fault (SMMU translation error [--S])',
    ]);
    // A map over an entry in use overwrites it (no -EEXIST): now writable, elsewhere.
    expect(iommu_map(k, domain, 0x2000, 0xa000_0000, 0x1000, RW)).toBe(0);
    expect(dmaWrite(k, gpu, 0x2004, bytes(7)).ok).toBe(true);
    expect(physMem(k).read(0xa000_0004, 1)[0]).toBe(7);
    expect(k.printk.warnings).toEqual([]);
  });

  it('tegra_smmu_domain_free() leaves the page directory and its tables: the known leak, nothing else', () => {
    const b = bootDtb(TEGRA210);
    const { k } = b;
    const { dev: vic, domain } = tegraUnmanaged(b, '54340000.vic');
    expect(iommu_attach_group(k, domain, vic.iommu_group!)).toBe(0);
    expect(iommu_map(k, domain, 0x1000_0000, 0x8000_0000, 0x1000, RW)).toBe(0);
    iommu_detach_group(k, vic.iommu_group!);
    iommu_domain_free(k, domain);
    teardown(k);
    const leaks = leakReport(k);
    expect(leaks.map((l) => [l.type, l.knownBug])).toEqual([
      ['io-pgtable table', 'tegra-smmu-domain-pd-leak'],
      ['io-pgtable table', 'tegra-smmu-domain-pd-leak'],
    ]);
  });
});

describe('fail-nth over a tegra210 boot with an unmanaged domain and DMA', () => {
  it('each allocation failed in turn: no leak but the known one, no invariant broken', () => {
    const run = (failNth?: number) => {
      const b = bootDtb(TEGRA210, { failNth });
      const { k } = b;
      const vic = [...k.base.devices].find((d) => d.name === '54340000.vic');
      if (vic?.iommu_group) {
        device_release_driver(k, vic);
        const domain = iommu_paging_domain_alloc(k, vic);
        if (!IS_ERR(domain)) {
          if (iommu_attach_group(k, domain, vic.iommu_group) === 0) {
            if (iommu_map(k, domain, 0x1000_0000, 0x8000_0000, 0x3000, RW) === 0) {
              const w = dmaWrite(k, vic, 0x1000_1000, bytes(5));
              expect(w.ok && w.phys).toEqual([0x8000_1000]);
              expect(iommu_unmap(k, domain, 0x1000_0000, 0x3000)).toBe(0x3000);
            }
            iommu_detach_group(k, vic.iommu_group);
          }
          iommu_domain_free(k, domain);
        }
      }
      return finishRun(k);
    };
    const base = run();
    expect(base.leaks.map((l) => l.knownBug)).toEqual(['tegra-smmu-domain-pd-leak']);
    const total = base.k.alloc.attempts;
    const { injected } = expectCleanUnwinds(run, total);
    expect(injected).toBe(failNthPoints(total).length);
  });
});

const EXYNOS5433 = dtb('arm64-6.12-exynos5433-tm2.dtb');
const bootExynos = (opts: { cmdline?: string; failNth?: number } = {}) =>
  bootDtb(EXYNOS5433, { kconfig: { EXYNOS_IOMMU: 'y' }, ...opts });

describe('exynos-iommu on the TM2 (exynos5433, System MMU v5): exynos_iommu_map() into lv1/lv2 tables', () => {
  it('4K pages as v5 entries (address >> 4), a new lv2 table flushes the FLPD cache, each unmap one flush_entry', () => {
    const { k, dev } = bootExynos();
    const scaler = dev('15000000.scaler');
    const domain = scaler.iommu_group!.default_domain!;
    expect(domain.type).toBe(3);
    expect(domain.pgtable!.cfg.fmt).toBe('EXYNOS_SYSMMU_V5');
    // exynos_iommu_domain_alloc_paging(): aperture [0, ~0UL]; the ops' SECT | LPAGE | SPAGE.
    expect(domain.geometry).toEqual({ aperture_start: 0, aperture_end: 2 ** 64 - 1, force_aperture: true });
    expect(domain.pgsize_bitmap).toBe(0x11_1000);
    // Every level-1 entry starts as ZERO_LV2LINK: mk_lv1ent_page(zero_lv2_table).
    const pt = domain.pgtable!;
    const zero = pt.memory.read32(pt.cfg.ttbr)!;
    expect(zero & 3).toBe(1);
    expect(pt.memory.read32(pt.cfg.ttbr + 4 * 4095)).toBe(zero);
    const tlb = tlbOf(scaler);
    expect(tlb.commands).toBe(0);

    const h = dma_map_page_attrs(k, scaler, 0x8000_1ff0, 0x20, 'bidirectional');
    expect(dma_mapping_error(k, scaler, h)).toBe(0);
    expect(h).toBe(0xffff_eff0);
    // mk_lv2ent_spage(): (pa >> 4) | SYSMMU_V5_LV2_PROT[R|W] (3 << 2) | 2.
    expect(leafPte(domain, 0xffff_e000)).toBe(0x0800_010e);
    expect(leafPte(domain, 0xffff_f000)).toBe(0x0800_020e);
    const [l1] = pt.walkTrace(0xffff_e000).steps;
    // mk_lv1ent_page(): the new lv2 table's address >> 4 | 1, in place of ZERO_LV2LINK.
    expect(Number(l1.pte)).toBe(l1.next! / 16 + 1);
    // sysmmu_tlb_invalidate_flpdcache() on v5: one flush_all; mapping itself flushes nothing else.
    expect(tlb.commands).toBe(1);

    const data = Uint8Array.from({ length: 0x20 }, (_, i) => 0x80 + i);
    const w = dmaWrite(k, scaler, h, data);
    expect(w.ok && w.phys).toEqual([0x8000_1ff0, 0x8000_2000]);
    expect([...physMem(k).read(0x8000_1ff0, 0x20)]).toEqual([...data]);
    expect(iommu_iova_to_phys(k, domain, h)).toBe(0x8000_1ff0);
    dma_unmap_page_attrs(k, scaler, h, 0x20, 'bidirectional');
    // Two 4K unmaps, one flush_entry each (num_inv 1 on v5).
    expect([tlb.commands, tlb.syncs]).toEqual([3, 0]);
    expect(iommu_iova_to_phys(k, domain, h)).toBe(0);
    expect(dmaDebug(k).errors).toEqual([]);
  });

  it('DMA after unmap: exynos_sysmmu_irq() prints the PAGE fault, then panics (no fault handler)', () => {
    const { k, dev } = bootExynos();
    const scaler = dev('15000000.scaler');
    const h = dma_map_page_attrs(k, scaler, 0x8000_0000, 0x1000, 'from-device');
    expect(leafPte(scaler.iommu_group!.default_domain!, h)).toBe(0x0800_000a); // WRITE only: 2 << 2
    dma_unmap_page_attrs(k, scaler, h, 0x1000, 'from-device');
    const w = dmaWrite(k, scaler, h + 0x10, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('unmapped');
    if (w.ok) return;
    expect(w.fault.iommu).toBe('15040000.sysmmu');
    expect(w.fault.log).toEqual([
      '15000000.scaler: [WRITE] PAGE FAULT occurred at 0xfffff010',
      'Kernel panic - not syncing: Unrecoverable System MMU Fault!',
    ]);
    expect(k.printk.lines.at(-2)).toEqual({
      level: 'err',
      source: '15040000.sysmmu',
      message: w.fault.log[0],
    });
  });

  it('a write through a read-only page is an ACCESS PROTECTION fault on the AW channel', () => {
    const { k, dev } = bootExynos();
    const codec = dev('15020000.codec');
    physMem(k).write(0x9000_0000, bytes(0x5a));
    const h = dma_map_page_attrs(k, codec, 0x9000_0000, 1, 'to-device');
    expect(leafPte(codec.iommu_group!.default_domain!, h)).toBe(0x0900_0006); // READ only: 1 << 2
    const r = dmaRead(k, codec, h, 1);
    expect(r.ok && [...r.data]).toEqual([0x5a]);
    const w = dmaWrite(k, codec, h, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('permission');
    expect(!w.ok && w.fault.log[0]).toBe(
      '15020000.codec: [WRITE] ACCESS PROTECTION FAULT occurred at 0xfffff000',
    );
  });

  it('a master with two System MMUs: both are clients of its domain, each gets every invalidation', () => {
    const { k, dev } = bootExynos();
    const decon = dev('13800000.decon');
    const domain = decon.iommu_group!.default_domain!;
    const first = decon.iommu!.iommu_dev!;
    const second = [...k.iommu.device_list].find((i) => i.name === '13a10000.sysmmu')!;
    expect(first.name).toBe('13a00000.sysmmu');
    const h = dma_map_page_attrs(k, decon, 0x8000_0000, 0x1000, 'to-device');
    dma_unmap_page_attrs(k, decon, h, 0x1000, 'to-device');
    // The FLPD flush and the unmap's flush_entry, on each.
    expect([first.iotlb.commands, second.iotlb.commands]).toEqual([2, 2]);
    expect(domain.iommu).toBe(first);
  });

  it('sections and their conflicts: -EADDRINUSE with the WARN and pr_err(); a partial unmap is refused', () => {
    const { k, dev } = bootExynos();
    const scaler = dev('15010000.scaler');
    device_release_driver(k, scaler);
    const domain = iommu_paging_domain_alloc(k, scaler);
    if (IS_ERR(domain)) throw new Error('no domain');
    expect(iommu_attach_group(k, domain, scaler.iommu_group!)).toBe(0);
    // 1 MiB aligned both sides: one section, (pa >> 4) | (3 << 4) | 2.
    expect(iommu_map(k, domain, 0x1000_0000, 0x2_4000_0000, 0x10_0000, RW)).toBe(0);
    expect(leafPte(domain, 0x1000_0000)).toBe(0x2400_0032);
    expect(iommu_iova_to_phys(k, domain, 0x1008_1234)).toBe(0x2_4008_1234);
    expect(dmaWrite(k, scaler, 0x100f_fffe, bytes(3, 4)).ok).toBe(true);
    expect([...physMem(k).read(0x2_400f_fffe, 2)]).toEqual([3, 4]);
    // A 4K page inside the section.
    expect(iommu_map(k, domain, 0x1000_1000, 0x8000_0000, 0x1000, RW)).toBe(-98);
    expect(k.printk.warnings.at(-1)?.message).toBe('Trying mapping on 0x10001000 mapped with 1MiB page');
    expect(k.printk.lines.at(-1)?.message).toBe(
      'exynos_iommu_map: Failed(-98) to map 0x1000 bytes @ 0x10001000',
    );
    // Unmapping 4K of it: WARN_ON(size < SECT_SIZE), 0 bytes.
    expect(iommu_unmap(k, domain, 0x1000_0000, 0x1000)).toBe(0);
    expect(k.printk.lines.at(-1)?.message).toBe(
      'exynos_iommu_unmap: Failed: size(0x1000) @ 0x10000000 is smaller than page size 0x100000',
    );
    // The whole section: back to ZERO_LV2LINK; a hole "unmaps" too (min(size, 1M) at level 1).
    expect(iommu_unmap(k, domain, 0x1000_0000, 0x10_0000)).toBe(0x10_0000);
    expect(domain.pgtable!.walkTrace(0x1000_0000).steps[0].kind).toBe('table');
    expect(iommu_unmap(k, domain, 0x2000_0000, 0x20_0000)).toBe(0x20_0000);
    expect(k.printk.warnings).toHaveLength(2);
    iommu_detach_group(k, scaler.iommu_group!);
    iommu_domain_free(k, domain);
  });

  it('identity (iommu.passthrough=1): exynos_identity_domain passes addresses through', () => {
    const { k, dev } = bootExynos({ cmdline: 'iommu.passthrough=1' });
    const scaler = dev('15000000.scaler');
    expect(scaler.iommu_group!.default_domain!.type).toBe(4);
    const w = dmaWrite(k, scaler, 0x8765_4321, bytes(1, 2));
    expect(w.ok && w.phys).toEqual([0x8765_4321]);
    expect(scaler.iommu!.iommu_dev!.faults).toEqual([]);
  });
});

describe('fail-nth over an exynos5433 boot with DMA', () => {
  it('each allocation failed in turn: only the known owner leak, no invariant broken', () => {
    const run = (failNth?: number) => {
      const { k } = bootExynos({ failNth });
      const scaler = [...k.base.devices].find((d) => d.name === '15000000.scaler');
      if (scaler) {
        const h = dma_map_page_attrs(k, scaler, 0x8000_0000, 0x3000, 'bidirectional');
        if (!dma_mapping_error(k, scaler, h)) {
          const w = dmaWrite(k, scaler, h, bytes(1, 2, 3));
          if (w.ok) expect(physMem(k).read(w.phys[0], 3)).toEqual(bytes(1, 2, 3));
          dma_unmap_page_attrs(k, scaler, h, 0x3000, 'bidirectional');
        }
      }
      return finishRun(k);
    };
    const base = run();
    expect(base.leaks.filter((l) => l.knownBug !== 'exynos-owner-leak')).toEqual([]);
    const total = base.k.alloc.attempts;
    for (const n of failNthPoints(total)) {
      const r = run(n);
      expect(r.k.alloc.injected).toBeDefined();
      expect(r.leaks.filter((l) => l.knownBug !== 'exynos-owner-leak')).toEqual([]);
      expect(r.violations.filter((v) => !v.knownBug)).toEqual([]);
    }
  });
});
