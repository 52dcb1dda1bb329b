// SPDX-License-Identifier: GPL-2.0-only
// Device DMA through an Apple DART (drivers/iommu/apple-dart.c and
// io-pgtable-dart.c, Linux 6.12) on the Mac mini M1 tree (t8103-j274,
// APPLE_DART=y): the SIO DMA controller behind the SIO DART (SID 2), and PCI
// functions behind the PCIe DARTs. Every expectation names the kernel
// function it comes from:
//  - apple_dart_probe(): a t8103 DART has 16K pages (DART_PARAMS1), ias 32,
//    oas 36 (T8020 and apple_dart_hw_t8103), bypass support; on a 4K-page
//    kernel that forces identity (apple_dart_def_domain_type()) and paging
//    domains are -EINVAL (apple_dart_finalize_domain());
//  - apple_dart_finalize_domain(): an APPLE_DART table of the DART's page
//    size, aperture [0, DMA_BIT_MASK(32)];
//  - apple_dart_setup_translation(): TTBR 0 = DART_T8020_TTBR_VALID |
//    pgd >> 12, TTBRs 1-3 cleared, TCR translate, then an invalidation;
//  - invalidation (apple_dart_t8020_hw_invalidate_tlb()): one stream command
//    and one busy poll per stream map, for the whole sidmap: at probe
//    (apple_dart_hw_reset()), at each paging attach, after every map
//    (apple_dart_iotlb_sync_map()), at every unmap's sync (apple_dart_iotlb_sync());
//    the table has no flush ops, so nothing per page;
//  - apple_dart_t8020_irq(): "translation fault: status:0x%x stream:%d
//    code:0x%x (%s) at 0x%llx" with the error register's flag (bit 31),
//    stream (bits 27:24) and code (NO PTE 0x4, NO PMD 0x2, NO TTBR 0x1,
//    WRITE FAULT 0x8, READ FAULT 0x10).
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadInputs } from '../../src/api.js';
import { bootPlatform } from '../../src/platform/boot.js';
import type { Kconfig } from '../../src/kernel/kconfig.js';
import type { Device } from '../../src/base/device.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { dma_map_page_attrs, dma_mapping_error, dma_unmap_page_attrs } from '../../src/dma/mapping.js';
import { dmaRead, dmaWrite } from '../../src/dma/device-dma.js';
import { physMem } from '../../src/mm/phys-mem.js';
import { iommu_iova_to_phys, iommu_map, iommu_unmap } from '../../src/iommu/map.js';
import { iommu_paging_domain_alloc, iommu_domain_free } from '../../src/iommu/domain-alloc.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../../src/iommu/ownership.js';
import { device_release_driver } from '../../src/base/dd.js';
import { EINVAL, IS_ERR, PTR_ERR } from '../../src/kernel/errno.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/prot.js';
import {
  IOMMU_DOMAIN_DMA,
  IOMMU_DOMAIN_IDENTITY,
  IOMMU_DOMAIN_BLOCKED,
  type IommuDomain,
} from '../../src/iommu/domain.js';
import { iotlbJson, dmaJson } from '../../src/report/dma-report.js';
import { AppleDartDomain, appleDartOf, type AppleDart } from '../../src/drivers/apple-dart/apple-dart.js';
import { expectCleanUnwinds, failNthPoints, finishRun } from '../support/fail-nth.js';
import { buildFdt, type TreeSpec } from '../support/fdt-build.js';
import { scratchDir } from '../support/scratch.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const J274 = fileURLToPath(
  new URL('../../../shared/fixtures/dtb/built-6.12-t8103-j274.dtb', import.meta.url),
);
const SIO_DART = 'apple-dart.235004000.iommu';
const PCIE_DART0 = 'apple-dart.681008000.iommu';
const ADMAC = '238200000.dma-controller';
const SZ_16K = 0x4000;
const bytes = (...v: number[]) => Uint8Array.from(v);

/** The t8103 PCIe functions behind the three root ports (Wi-Fi/BT, xHCI, Ethernet on j274). */
const j274Pci = {
  root: 0,
  rootSubordinate: 3,
  functions: [
    { bdf: '00:00.0', type: 'root-port', vendor: '106b', device: '100c', secondary: 1 },
    { bdf: '00:01.0', type: 'root-port', vendor: '106b', device: '100c', secondary: 2 },
    { bdf: '00:02.0', type: 'root-port', vendor: '106b', device: '100c', secondary: 3 },
    { bdf: '01:00.0', type: 'endpoint', vendor: '14e4', device: '4425', class: '028000' },
    { bdf: '01:00.1', type: 'endpoint', vendor: '14e4', device: '5f69', class: '0d1100' },
    { bdf: '02:00.0', type: 'endpoint', vendor: '1b73', device: '1100', class: '0c0330' },
    { bdf: '03:00.0', type: 'endpoint', vendor: '14e4', device: '1686', class: '020000' },
  ],
};

interface Booted {
  readonly k: Kernel;
  dev(name: string): Device;
  dart(name: string): AppleDart;
}

/** Boot j274 with APPLE_DART=y (16K kernel pages unless `pages4k`), keeping the kernel for DMA. */
function bootJ274(
  opts: { pages4k?: boolean; cmdline?: string; failNth?: number; pci?: boolean } = {},
): Booted {
  const kconfig: Partial<Kconfig> = { APPLE_DART: 'y', ARM64_16K_PAGES: !opts.pages4k };
  const { desc, file, firmware } = loadInputs([J274], { kconfig });
  const platform = opts.pci ? { ...desc, pci: j274Pci as unknown as typeof desc.pci } : desc;
  const { k } = bootPlatform(platform, {
    file,
    firmware,
    profile: 'v6.12',
    cmdline: opts.cmdline,
    failNth: opts.failNth,
  });
  const dev = (name: string) => {
    const d = [...k.base.devices].find((x) => x.name === name);
    if (!d) throw new Error(`no device ${name}`);
    return d;
  };
  return {
    k,
    dev,
    dart: (name) => k.iommu.device_list.find((i) => i.name === name)!.priv as AppleDart,
  };
}

const domainOf = (d: Device): IommuDomain => d.iommu_group!.domain!;
const leafPte = (domain: IommuDomain, iova: number) => domain.pgtable!.walkTrace(iova).steps.at(-1)!.pte;
const iotlb = (k: Kernel, name: string) => {
  const t = iotlbJson(k, name)!;
  return { commands: t.commands, syncs: t.syncs, pages: t.pages };
};

describe("Debian's 4K-page kernel: the 16K DART forces bypass", () => {
  it('identity default domain, TCR bypass, DMA at the physical address; paging domains are -EINVAL', () => {
    const { k, dev, dart } = bootJ274({ pages4k: true });
    const admac = dev(ADMAC);
    expect(k.printk.lines.map((l) => `${l.source}: ${l.message}`)).toContain(
      '235004000.iommu: DART [pagesize 4000, 16 streams, bypass support: 1, bypass forced: 1] initialized',
    );
    expect(domainOf(admac).type).toBe(IOMMU_DOMAIN_IDENTITY);
    // apple_dart_attach_dev_identity() -> apple_dart_hw_enable_bypass(): SID 2 only.
    const sio = dart(SIO_DART);
    expect(sio.tcr[2]).toBe('bypass');
    expect(sio.tcr.filter((t) => t === 'disabled')).toHaveLength(15);
    const w = dmaWrite(k, admac, 0x8123_4560, bytes(9, 8, 7));
    expect(w.ok && w.phys).toEqual([0x8123_4560]);
    expect([...physMem(k).read(0x8123_4560, 3)]).toEqual([9, 8, 7]);
    const dom = iommu_paging_domain_alloc(k, admac);
    expect(IS_ERR(dom) && PTR_ERR(dom)).toBe(-EINVAL);
    // Only the reset at probe invalidated: one stream command for all 16 streams, polled.
    expect(iotlb(k, SIO_DART)).toEqual({ commands: 1, syncs: 1, pages: 0 });
    expect(dmaJson(k).faults).toEqual([]);
  });
});

describe('a 16K-page kernel (CONFIG_ARM64_16K_PAGES): the SIO DMA controller translates through its DART', () => {
  it('finalised at boot: APPLE_DART table of 16K pages, ias 32, oas 36; TTBR 0 of SID 2 points at the pgd', () => {
    const { dev, dart } = bootJ274();
    const d = domainOf(dev(ADMAC));
    expect(d).toBeInstanceOf(AppleDartDomain);
    expect(d.type).toBe(IOMMU_DOMAIN_DMA);
    expect(d.pgsize_bitmap).toBe(SZ_16K);
    expect(d.geometry).toEqual({ aperture_start: 0, aperture_end: 0xffff_ffff, force_aperture: true });
    expect(d.pgtable!.cfg).toMatchObject({ fmt: 'APPLE_DART', ias: 32, oas: 36, granule: SZ_16K });
    const sio = dart(SIO_DART);
    const pgd = d.pgtable!.cfg.ttbr;
    // DART_TTBR(dart, sid, idx): four per stream.
    expect(sio.ttbrRegs.slice(2 * 4, 3 * 4)).toEqual([(0x8000_0000 | (pgd / 0x1000)) >>> 0, 0, 0, 0]);
    expect(sio.tcr[2]).toBe('translate');
    expect(sio.tcr.filter((t) => t === 'translate')).toHaveLength(1);
  });

  it('map, device write across the page, bytes in memory, the PTE bit for bit, one stream invalidation per map and per unmap', () => {
    const { k, dev } = bootJ274();
    const admac = dev(ADMAC);
    const d = domainOf(admac);
    // Reset at probe + apple_dart_setup_translation() at the attach.
    expect(iotlb(k, SIO_DART)).toEqual({ commands: 2, syncs: 2, pages: 0 });
    const h = dma_map_page_attrs(k, admac, 0x8000_1ff0, 0x20, 'bidirectional');
    expect(dma_mapping_error(k, admac, h)).toBe(0);
    // One 16K IOVA granule, top-down under the 32-bit mask: 0xffffc000 + the offset in the 16K page.
    expect(h).toBe(0xffff_dff0);
    expect(iotlb(k, SIO_DART)).toEqual({ commands: 3, syncs: 3, pages: 0 });
    const data = Uint8Array.from({ length: 0x20 }, (_, i) => 0x40 + i);
    const w = dmaWrite(k, admac, h, data);
    expect(w.ok && w.phys).toEqual([0x8000_1ff0, 0x8000_2000]);
    expect([...physMem(k).read(0x8000_1ff0, 0x20)]).toEqual([...data]);
    // Valid | SP_DIS | subpage window 0..0xfff | PA[35:12], no "no read"/"no write" bits.
    expect(leafPte(d, h)).toBe(0x000f_ff00_8000_0003n);
    expect(iommu_iova_to_phys(k, d, h)).toBe(0x8000_1ff0);
    dma_unmap_page_attrs(k, admac, h, 0x20, 'bidirectional');
    expect(iotlb(k, SIO_DART)).toEqual({ commands: 4, syncs: 4, pages: 0 });
    expect(iommu_iova_to_phys(k, d, h)).toBe(0);
  });

  it('after unmap the L2 table stays: a DMA there is NO PTE FOR IOVA; where no L2 table exists, NO PMD FOR IOVA', () => {
    const { k, dev } = bootJ274();
    const admac = dev(ADMAC);
    const h = dma_map_page_attrs(k, admac, 0x8000_0000, SZ_16K, 'from-device');
    expect(dmaWrite(k, admac, h, bytes(1)).ok).toBe(true);
    dma_unmap_page_attrs(k, admac, h, SZ_16K, 'from-device');
    const w = dmaWrite(k, admac, h + 8, bytes(2));
    expect(!w.ok && w.fault.reason).toBe('unmapped');
    expect(!w.ok && w.fault.log).toEqual([
      'translation fault: status:0x82000004 stream:2 code:0x4 (NO PTE FOR IOVA) at 0xffffc008',
    ]);
    expect(physMem(k).read(0x8000_0008, 1)[0]).toBe(0);
    const r = dmaRead(k, admac, 0x1000_0000, 4);
    expect(!r.ok && r.fault.log).toEqual([
      'translation fault: status:0x82000002 stream:2 code:0x2 (NO PMD FOR IOVA) at 0x10000000',
    ]);
    // dev_err_ratelimited(dart->dev, ...): the DART's own device prints them.
    expect(k.printk.lines.filter((l) => l.source === '235004000.iommu' && l.level === 'err')).toHaveLength(2);
  });

  it('permissions: a to-device mapping written is WRITE FAULT, a from-device mapping read is READ FAULT', () => {
    const { k, dev } = bootJ274();
    const admac = dev(ADMAC);
    physMem(k).write(0x9000_0000, bytes(0xaa, 0xbb));
    const to = dma_map_page_attrs(k, admac, 0x9000_0000, 2, 'to-device');
    const r = dmaRead(k, admac, to, 2);
    expect(r.ok && [...r.data]).toEqual([0xaa, 0xbb]);
    // APPLE_DART1_PTE_PROT_NO_WRITE (bit 7) in the leaf.
    expect(leafPte(domainOf(admac), to) & 0x180n).toBe(0x80n);
    const w = dmaWrite(k, admac, to, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('permission');
    expect(!w.ok && w.fault.log).toEqual([
      `translation fault: status:0x82000008 stream:2 code:0x8 (WRITE FAULT) at 0x${to.toString(16)}`,
    ]);
    expect([...physMem(k).read(0x9000_0000, 2)]).toEqual([0xaa, 0xbb]);
    // Read before any write: the model's IOTLB entries keep only the write permission.
    const from = dma_map_page_attrs(k, admac, 0x9100_0000, 4, 'from-device');
    const rd = dmaRead(k, admac, from, 1);
    expect(!rd.ok && rd.fault.log).toEqual([
      `translation fault: status:0x82000010 stream:2 code:0x10 (READ FAULT) at 0x${from.toString(16)}`,
    ]);
    expect(dmaWrite(k, admac, from, bytes(3)).ok).toBe(true);
  });

  it('past the 32-bit aperture: TTBR 0 still covers up to 2^36 (NO PMD), beyond it the cleared TTBR 1 (NO TTBR)', () => {
    const { k, dev } = bootJ274();
    const admac = dev(ADMAC);
    const a = dmaRead(k, admac, 2 ** 32 + SZ_16K, 4);
    expect(!a.ok && a.fault.reason).toBe('aperture');
    expect(!a.ok && a.fault.log).toEqual([
      'translation fault: status:0x82000002 stream:2 code:0x2 (NO PMD FOR IOVA) at 0x100004000',
    ]);
    const b = dmaWrite(k, admac, 2 ** 36, bytes(1));
    expect(!b.ok && b.fault.log).toEqual([
      'translation fault: status:0x82000001 stream:2 code:0x1 (NO TTBR FOR IOVA) at 0x1000000000',
    ]);
  });

  it('a DMA owner moves the group to the blocked domain: TCR off, every access dropped without a fault line', () => {
    const { k, dev, dart } = bootJ274();
    const admac = dev(ADMAC);
    device_release_driver(k, admac);
    expect(iommu_device_claim_dma_owner(k, admac, 'vfio')).toBe(0);
    expect(domainOf(admac).type).toBe(IOMMU_DOMAIN_BLOCKED);
    expect(dart(SIO_DART).tcr[2]).toBe('disabled');
    const r = dmaRead(k, admac, 0xffff_c000, 4);
    expect(!r.ok && r.fault.reason).toBe('blocked');
    expect(!r.ok && r.fault.log).toEqual([]);
    iommu_device_release_dma_owner(k, admac);
    // Back to the DMA domain: apple_dart_attach_dev_paging() programs the stream again.
    expect(dart(SIO_DART).tcr[2]).toBe('translate');
  });

  it('iommu.strict=0: still DMA, not DMA-FQ (no IOMMU_CAP_DEFERRED_FLUSH), so each unmap invalidates at once', () => {
    const { k, dev } = bootJ274({ cmdline: 'iommu.strict=0' });
    const admac = dev(ADMAC);
    expect(domainOf(admac).type).toBe(IOMMU_DOMAIN_DMA);
    const h = dma_map_page_attrs(k, admac, 0x8000_0000, SZ_16K, 'bidirectional');
    expect(dmaWrite(k, admac, h, bytes(1)).ok).toBe(true);
    const before = iotlb(k, SIO_DART).commands;
    dma_unmap_page_attrs(k, admac, h, SZ_16K, 'bidirectional');
    expect(iotlb(k, SIO_DART).commands).toBe(before + 1);
    expect(dmaWrite(k, admac, h, bytes(2)).ok).toBe(false);
    expect(dmaJson(k).staleIotlbUses).toEqual([]);
  });

  it('iommu.passthrough=1: the DART supports bypass, so identity: TCR bypass, the address is physical', () => {
    const { k, dev, dart } = bootJ274({ cmdline: 'iommu.passthrough=1' });
    const admac = dev(ADMAC);
    expect(domainOf(admac).type).toBe(IOMMU_DOMAIN_IDENTITY);
    expect(dart(SIO_DART).tcr[2]).toBe('bypass');
    const w = dmaWrite(k, admac, 0x8765_4320, bytes(5));
    expect(w.ok && w.phys).toEqual([0x8765_4320]);
    // No paging attach: only the reset's invalidation.
    expect(iotlb(k, SIO_DART)).toEqual({ commands: 1, syncs: 1, pages: 0 });
  });

  it('an unmanaged domain: tables come with mappings and all go back at iommu_domain_free()', () => {
    const { k, dev } = bootJ274();
    const admac = dev(ADMAC);
    const dom = iommu_paging_domain_alloc(k, admac);
    expect(IS_ERR(dom)).toBe(false);
    if (IS_ERR(dom)) return;
    const tables = () =>
      k.alloc.liveAllocations().filter((a) => a.type === 'io-pgtable table' && a.owner === dom.label).length;
    // Finalised at allocation (the core names the device): the pgd.
    expect(dom.pgtable).not.toBeNull();
    const before = tables();
    expect(iommu_map(k, dom, 0x4000_0000, 0x8000_0000, 2 * SZ_16K, IOMMU_READ | IOMMU_WRITE)).toBe(0);
    expect(tables()).toBe(before + 1);
    expect(iommu_unmap(k, dom, 0x4000_0000, 2 * SZ_16K)).toBe(2 * SZ_16K);
    expect(tables()).toBe(before + 1);
    iommu_domain_free(k, dom);
    expect(tables()).toBe(before - 1);
  });
});

describe('PCI functions behind the PCIe DARTs (iommu-map, mask 0xff00)', () => {
  it('01:00.0 and 01:00.1 share SID 1 of the first PCIe DART: one domain; DMA lands; the fault names stream 1', () => {
    const { k, dev, dart } = bootJ274({ pci: true });
    const wifi = dev('0000:01:00.0');
    const bt = dev('0000:01:00.1');
    expect(wifi.iommu!.iommu_dev!.name).toBe(PCIE_DART0);
    expect(domainOf(wifi)).toBe(domainOf(bt));
    expect(dart(PCIE_DART0).tcr.slice(0, 3)).toEqual(['disabled', 'translate', 'disabled']);
    const h = dma_map_page_attrs(k, wifi, 0x8200_0000, 0x100, 'from-device');
    const w = dmaWrite(k, wifi, h, bytes(7, 7));
    expect(w.ok && w.phys).toEqual([0x8200_0000]);
    dma_unmap_page_attrs(k, wifi, h, 0x100, 'from-device');
    const f = dmaWrite(k, bt, h, bytes(1));
    expect(!f.ok && f.fault.log).toEqual([
      `translation fault: status:0x81000004 stream:1 code:0x4 (NO PTE FOR IOVA) at 0x${h.toString(16)}`,
    ]);
    // The SIO DART saw none of it: its reset and its one attach.
    expect(iotlb(k, SIO_DART)).toEqual({ commands: 2, syncs: 2, pages: 0 });
    expect(appleDartOf(k, wifi.iommu!.iommu_dev!.fwnode!)).toBe(dart(PCIE_DART0));
  });
});

/** A small tree: an AIC, a T8110 DART (phandle 2) and a master on SIDs 5 and 9 of it. */
function t8110Tree(): string {
  const be32 = (...v: number[]) => {
    const b = new Uint8Array(4 * v.length);
    v.forEach((x, i) => new DataView(b.buffer).setUint32(4 * i, x >>> 0));
    return b;
  };
  const str = (v: string) => Uint8Array.from([...v].map((c) => c.charCodeAt(0)).concat(0));
  const node = (name: string, props: [string, Uint8Array][]): TreeSpec => ({ name, props, children: [] });
  const blob = buildFdt({
    name: '',
    props: [
      ['#address-cells', be32(2)],
      ['#size-cells', be32(2)],
      ['interrupt-parent', be32(1)],
    ],
    children: [
      {
        name: 'soc',
        props: [
          ['compatible', str('simple-bus')],
          ['#address-cells', be32(2)],
          ['#size-cells', be32(2)],
          ['ranges', new Uint8Array(0)],
        ],
        children: [
          node('interrupt-controller@23b100000', [
            ['compatible', str('apple,aic')],
            ['reg', be32(2, 0x3b100000, 0, 0x10000)],
            ['#interrupt-cells', be32(3)],
            ['interrupt-controller', new Uint8Array(0)],
            ['phandle', be32(1)],
          ]),
          node('iommu@10000000', [
            ['compatible', str('apple,t8110-dart')],
            ['reg', be32(0, 0x10000000, 0, 0x4000)],
            ['interrupts', be32(0, 0x27b, 4)],
            ['#iommu-cells', be32(1)],
            ['phandle', be32(2)],
          ]),
          node('dma@20000000', [
            ['compatible', str('test,dma')],
            ['reg', be32(0, 0x20000000, 0, 0x1000)],
            ['iommus', be32(2, 5, 2, 9)],
          ]),
        ],
      },
    ],
  });
  const file = join(scratchDir('apple-dart-dma-'), 't8110.dtb');
  writeFileSync(file, blob);
  return file;
}

describe('a T8110 DART (small tree, 16K pages): APPLE_DART2, per-SID TLB commands, its own TTBR and error layouts', () => {
  it('reset: one FLUSH_SID per stream; attach and each sync: one per SID of the master; faults name the stream in bits 27:20', () => {
    const { desc, file, firmware } = loadInputs([t8110Tree()], {
      kconfig: { APPLE_DART: 'y', ARM64_16K_PAGES: true },
    });
    const { k } = bootPlatform(desc, { file, firmware, profile: 'v6.12' });
    const master = [...k.base.devices].find((d) => d.name === '20000000.dma')!;
    const name = 'apple-dart.10000000.iommu';
    const dart = k.iommu.device_list.find((i) => i.name === name)!.priv as AppleDart;
    expect([dart.ias, dart.oas, dart.num_streams]).toEqual([36, 42, 256]);
    // apple_dart_hw_reset(): 256 streams, one command and poll each; the attach: SIDs 5 and 9.
    expect(iotlb(k, name)).toEqual({ commands: 256 + 2, syncs: 256 + 2, pages: 0 });
    const d = domainOf(master);
    expect(d.pgtable!.cfg).toMatchObject({ fmt: 'APPLE_DART2', ias: 36, oas: 42, granule: SZ_16K });
    expect(d.geometry!.aperture_end).toBe(2 ** 36 - 1);
    // One TTBR per stream: DART_T8110_TTBR_VALID (bit 0) | (pgd >> 14) << 2.
    const ttbr = ((d.pgtable!.cfg.ttbr / SZ_16K) << 2) | 1;
    expect([dart.ttbrRegs[5], dart.ttbrRegs[9], dart.ttbrRegs[6]]).toEqual([ttbr, ttbr, 0]);
    expect([dart.tcr[5], dart.tcr[9], dart.tcr[6]]).toEqual(['translate', 'translate', 'disabled']);
    const h = dma_map_page_attrs(k, master, 0x8_0000_0000, SZ_16K, 'from-device');
    expect(iotlb(k, name).commands).toBe(256 + 2 + 2);
    expect(dmaWrite(k, master, h, bytes(1, 2)).ok).toBe(true);
    expect([...physMem(k).read(0x8_0000_0000, 2)]).toEqual([1, 2]);
    // APPLE_DART2: PA >> 4 at [37:10], NO_READ (bit 3) for a from-device mapping, bit 1 always.
    expect(leafPte(d, h)).toBe((0xfffn << 40n) | (0x8_0000_0000n >> 4n) | 0x8n | 0x2n | 0x1n);
    dma_unmap_page_attrs(k, master, h, SZ_16K, 'from-device');
    expect(iotlb(k, name)).toEqual({ commands: 256 + 6, syncs: 256 + 6, pages: 0 });
    const f = dmaWrite(k, master, h, bytes(3));
    // The lowest SID: 5, DART_T8110_ERROR_NO_PTE (bit 3).
    expect(!f.ok && f.fault.log).toEqual([
      `translation fault: status:0x80500008 stream:5 code:0x8 (NO PTE FOR IOVA) at 0x${h.toString(16)}`,
    ]);
  });
});

describe('fail-nth over a j274 boot with DMA (16K pages)', () => {
  it('each allocation failed in turn (boot, map, write, unmap, teardown): no unknown leak, no invariant broken', () => {
    const run = (failNth?: number) => {
      const { k } = bootJ274({ failNth });
      // Absent when its platform device could not be allocated.
      const admac = [...k.base.devices].find((x) => x.name === ADMAC);
      const h = admac ? dma_map_page_attrs(k, admac, 0x8000_0000, 0x8000, 'bidirectional') : 0;
      if (admac && !dma_mapping_error(k, admac, h)) {
        const w = dmaWrite(k, admac, h, bytes(1, 2, 3));
        if (w.ok) expect([...physMem(k).read(w.phys[0], 3)]).toEqual([1, 2, 3]);
        dma_unmap_page_attrs(k, admac, h, 0x8000, 'bidirectional');
      }
      return finishRun(k);
    };
    const base = run();
    expect(base.leaks).toEqual([]);
    const total = base.k.alloc.attempts;
    const { injected } = expectCleanUnwinds(run, total);
    expect(injected).toBe(failNthPoints(total).length);
  }, 300_000);
});
