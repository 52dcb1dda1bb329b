// SPDX-License-Identifier: GPL-2.0-only
// Device DMA through the MediaTek M4Us (drivers/iommu/mtk_iommu.c and
// io-pgtable-arm-v7s.c, Linux 6.12) on Debian's mt8195 demo board DTB
// (MTK_IOMMU=m). Every expectation names the kernel function it comes from:
//  - mtk_iommu_domain_finalise(): the first domain finalised on an M4U list
//    allocates ARM_V7S with IO_PGTABLE_QUIRK_ARM_NS | _NO_PERMS | _ARM_MTK_EXT
//    (mt8195 has no PGTABLE_PA_35_EN, so no _MTK_TTBR_EXT), ias 34 (IOVA_34_EN),
//    oas 35 (no HAS_4GB_MODE); vpp and vdo share m4ulist, so every domain of
//    both uses that one table (share_dom) and differs only in its aperture,
//    its IOVA region of mt8192_multi_dom (4 GiB less an 8 MiB gap each);
//  - mtk_iommu_attach_device(): masters of a region above 4G get a 34-bit DMA mask;
//  - the v7s leaf (arm_v7s_prot_to_pte() with NO_PERMS): nG | S | TEX[0] at
//    level 2, no AP bits; C and B only with IOMMU_CACHE; a table descriptor
//    carries NS_TABLE (ARM_NS quirk);
//  - no permission faults (NO_PERMS): a to-device mapping the device writes
//    takes the write;
//  - invalidation: no iommu_flush_ops; iotlb_sync_map after a map and
//    iotlb_sync after an unmap each send mtk_iommu_tlb_flush_range_sync() to
//    every M4U of the list: one range command and one poll of CPE_DONE each;
//  - mtk_iommu_isr(): "fault type=0x%x iova=0x%llx pa=0x%llx
//    master=0x%x(larb=%d port=%d) layer=%d %s", the interrupt ID built from
//    larbid_remap (vdo: 2-bit sub-commons, vpp: 3-bit), then a full TLB
//    flush (mtk_iommu_tlb_flush_all(): one command, no poll).
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInputs } from '../../src/api.js';
import { bootPlatform } from '../../src/platform/boot.js';
import type { Kconfig } from '../../src/kernel/kconfig.js';
import type { Device } from '../../src/base/device.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { dma_map_page_attrs, dma_mapping_error, dma_unmap_page_attrs } from '../../src/dma/mapping.js';
import { dmaRead, dmaWrite } from '../../src/dma/device-dma.js';
import { physMem } from '../../src/mm/phys-mem.js';
import { iommu_iova_to_phys } from '../../src/iommu/map.js';
import {
  IOMMU_DOMAIN_DMA,
  IOMMU_DOMAIN_IDENTITY,
  IOMMU_DOMAIN_UNMANAGED,
  type IommuDomain,
} from '../../src/iommu/domain.js';
import { iommu_device_claim_dma_owner } from '../../src/iommu/ownership.js';
import { device_release_driver } from '../../src/base/dd.js';
import { device_del, put_device } from '../../src/base/core.js';
import { iotlbJson, dmaJson } from '../../src/report/dma-report.js';
import { leakReport, teardown } from '../../src/checker/teardown.js';
import { parseFdt } from '../../src/firmware/fdt/fdt-parse.js';
import type { FdtNode } from '../../src/firmware/fdt/fdt.js';
import { type MtkIommuDomain, mtkIommuData } from '../../src/drivers/mtk-iommu/mtk-iommu.js';
import { buildFdt, type TreeSpec } from '../support/fdt-build.js';
import { scratchDir } from '../support/scratch.js';
import { expectCleanUnwinds, failNthPoints, finishRun } from '../support/fail-nth.js';

const DTB = fileURLToPath(
  new URL('../../../shared/fixtures/dtb/arm64-6.12-mt8195-demo.dtb', import.meta.url),
);
const INFRA = 'mtk-iommu.0x0000000010315000';
const VPP = 'mtk-iommu.0x0000000014018000';
const VDO = 'mtk-iommu.0x000000001c01f000';
/** vdo, larb 0 port 0: region 0 (0 ~ 4G). */
const RDMA = '1c002000.rdma';
/** vdo, larb 21 port 0: region 1 (4G ~ 8G). */
const VDEC = '18000000.video-codec';
/** vpp, larb 4 port 0: region 2 (8G ~ 12G). */
const MDP = '14001000.dma-controller';
const SZ_4G = 2 ** 32;
/** MTK_IOMMU_IOVA_SZ_4G: each region's end, 8 MiB short of the next 4 GiB. */
const REGION_END = SZ_4G - 0x80_0000 - 1;
const bytes = (...v: number[]) => Uint8Array.from(v);

/** The fixture with the USB controller at 0x11290000 behind the infra M4U, port 24 (IOMMU_PORT_INFRA_SSUSB_P1_1_R). */
function infraUsbVariant(): string {
  const fdt = parseFdt(readFileSync(DTB), DTB);
  const be32 = (...v: number[]) => {
    const b = new Uint8Array(4 * v.length);
    v.forEach((x, i) => new DataView(b.buffer).setUint32(4 * i, x >>> 0));
    return b;
  };
  const toSpec = (n: FdtNode): TreeSpec => ({
    name: n.name,
    props: [
      ...n.properties.map((p): [string, Uint8Array] => [p.name, p.value]),
      ...(n.path === '/soc/usb@11290000' ? [['iommus', be32(0x4a, 24)] as [string, Uint8Array]] : []),
    ],
    children: n.children.map(toSpec),
  });
  const file = join(scratchDir('mtk-dma-'), 'mt8195-infra-usb.dtb');
  writeFileSync(
    file,
    buildFdt(
      toSpec(fdt.root),
      fdt.memReserve.map((r) => [r.address, r.size]),
    ),
  );
  return file;
}

interface Booted {
  readonly k: Kernel;
  dev(name: string): Device;
}

/** Boot the board (Debian's MTK_IOMMU=m) and keep the kernel for DMA. */
function bootMt8195(opts: { file?: string; cmdline?: string; failNth?: number } = {}): Booted {
  const kconfig: Partial<Kconfig> = { MTK_IOMMU: 'm' };
  const { desc, file, firmware } = loadInputs([opts.file ?? DTB], { kconfig });
  const { k } = bootPlatform(desc, {
    file,
    firmware,
    profile: 'v6.12',
    cmdline: opts.cmdline,
    failNth: opts.failNth,
  });
  return {
    k,
    dev(name) {
      const d = [...k.base.devices].find((x) => x.name === name);
      if (!d) throw new Error(`no device ${name}`);
      // No `dma-coherent` in the tree: of_dma_configure() leaves the masters non-coherent.
      d.dma_coherent = false;
      return d;
    },
  };
}

const domainOf = (d: Device) => d.iommu_group!.domain as MtkIommuDomain;
const stepsOf = (domain: IommuDomain, iova: number) => domain.pgtable!.walkTrace(iova).steps;
const tlb = (k: Kernel, name: string) => {
  const t = iotlbJson(k, name)!;
  return { commands: t.commands, syncs: t.syncs, pages: t.pages };
};
const delta = (a: ReturnType<typeof tlb>, b: ReturnType<typeof tlb>) => ({
  commands: b.commands - a.commands,
  syncs: b.syncs - a.syncs,
  pages: b.pages - a.pages,
});

describe('one ARM v7s table for vpp and vdo (m4ulist), one aperture per IOVA region', () => {
  it("the first data's share_dom holds it: ias 34, oas 35, NS | NO_PERMS | MTK_EXT; every region's domain uses it", () => {
    const { dev } = bootMt8195();
    const doms = [RDMA, VDEC, MDP].map((n) => domainOf(dev(n)));
    expect(new Set(doms).size).toBe(3);
    const table = doms[0].pgtable!;
    for (const d of doms) expect(d.pgtable).toBe(table);
    expect(table.cfg).toMatchObject({
      fmt: 'ARM_V7S',
      ias: 34,
      oas: 35,
      quirks: 0x1 | 0x2 | 0x8,
      pgsize_bitmap: 0x1000 | 0x10000 | 0x10_0000 | 0x100_0000,
    });
    // m4ulist's first entry is vpp (probed first): its data keeps share_dom; vdo's has none.
    expect(mtkIommuData(dev('14018000.iommu'))!.share_dom!.pgtable).toBe(table);
    expect(mtkIommuData(dev('1c01f000.iommu'))!.share_dom).toBeNull();
    // The regions: [n * 4G, n * 4G + 4G - 8M - 1].
    expect(doms.map((d) => [d.geometry!.aperture_start, d.geometry!.aperture_end])).toEqual(
      [0, 1, 2].map((n) => [n * SZ_4G, n * SZ_4G + REGION_END]),
    );
    for (const d of doms) expect(d.type).toBe(IOMMU_DOMAIN_DMA);
    // Above 4G, mtk_iommu_attach_device() widened the DMA mask to 34 bits.
    expect([RDMA, VDEC, MDP].map((n) => dev(n).dma_mask_bits)).toEqual([32, 34, 34]);
  });

  it('a region-0 master: IOVA under 4G - 8M, the bytes land, the descriptors bit for bit, a range flush on both M4Us per map and per unmap', () => {
    const { k, dev } = bootMt8195();
    const rdma = dev(RDMA);
    const d = domainOf(rdma);
    const before = [tlb(k, VDO), tlb(k, VPP)];
    const h = dma_map_page_attrs(k, rdma, 0x8000_1ff0, 0x20, 'bidirectional');
    expect(dma_mapping_error(k, rdma, h)).toBe(0);
    // Two 4K IOVA pages, top-down under the aperture's end.
    expect(h).toBe(REGION_END + 1 - 0x2000 + 0xff0);
    const afterMap = [tlb(k, VDO), tlb(k, VPP)];
    for (let i = 0; i < 2; i++)
      expect(delta(before[i], afterMap[i])).toEqual({ commands: 1, syncs: 1, pages: 2 });
    const data = Uint8Array.from({ length: 0x20 }, (_, i) => 0x80 + i);
    const w = dmaWrite(k, rdma, h, data);
    expect(w.ok && w.phys).toEqual([0x8000_1ff0, 0x8000_2000]);
    expect([...physMem(k).read(0x8000_1ff0, 0x20)]).toEqual([...data]);
    const [l1, l2] = stepsOf(d, h);
    // Level 1: the level-2 table's address | NS_TABLE (bit 3) | type table (0b01).
    expect(l1.pte).toBe(BigInt(l1.next!) | 0x8n | 0x1n);
    // Level 2, small page: PA | nG (11) | S (10) | TEX 0b001 (6) | 0b10; no AP, no C/B without IOMMU_CACHE.
    expect(l2.pte).toBe(0x8000_1000n | 0x800n | 0x400n | 0x40n | 0x2n);
    expect(iommu_iova_to_phys(k, d, h)).toBe(0x8000_1ff0);
    dma_unmap_page_attrs(k, rdma, h, 0x20, 'bidirectional');
    const afterUnmap = [tlb(k, VDO), tlb(k, VPP)];
    for (let i = 0; i < 2; i++)
      expect(delta(afterMap[i], afterUnmap[i])).toEqual({ commands: 1, syncs: 1, pages: 2 });
    expect(tlb(k, INFRA)).toEqual({ commands: 0, syncs: 0, pages: 0 });
  });

  it("after unmap the master's DMA faults with mtk_iommu_isr()'s line, and the handler flushes the TLB", () => {
    const { k, dev } = bootMt8195();
    const rdma = dev(RDMA);
    const h = dma_map_page_attrs(k, rdma, 0x8000_0000, 0x1000, 'from-device');
    expect(dmaWrite(k, rdma, h, bytes(1)).ok).toBe(true);
    dma_unmap_page_attrs(k, rdma, h, 0x1000, 'from-device');
    const before = tlb(k, VDO);
    const w = dmaWrite(k, rdma, h + 0x10, bytes(2));
    expect(!w.ok && w.fault.reason).toBe('unmapped');
    // larb 0 is larbid_remap[0][1] on vdo: INT_ID = 0 << 9 | 1 << 7 | port 0 << 2; the level-2 table exists.
    expect(!w.ok && w.fault.log).toEqual([
      `fault type=0x1 iova=0x${h.toString(16)} pa=0x0 master=0x80(larb=0 port=0) layer=1 write`,
    ]);
    expect(delta(before, tlb(k, VDO))).toEqual({ commands: 1, syncs: 0, pages: 0 });
    expect(physMem(k).read(0x8000_0010, 1)[0]).toBe(0);
    // No level-2 table at all: layer 0; a read.
    const r = dmaRead(k, rdma, 0x1000, 4);
    expect(!r.ok && r.fault.log).toEqual([
      'fault type=0x1 iova=0x1000 pa=0x0 master=0x80(larb=0 port=0) layer=0 read',
    ]);
    expect(dmaJson(k).faults.map((f) => f.iommu)).toEqual([VDO, VDO]);
    // dev_err_ratelimited(bank->parent_dev, ...): the vdo M4U's device prints them.
    expect(k.printk.lines.filter((l) => l.source === '1c01f000.iommu' && l.level === 'err')).toHaveLength(2);
  });

  it('a region-1 master (vdo larb 21) and a region-2 master (vpp larb 4, 3-bit sub-commons): IOVAs in their regions, their fault lines', () => {
    const { k, dev } = bootMt8195();
    const vdec = dev(VDEC);
    const mdp = dev(MDP);
    const hv = dma_map_page_attrs(k, vdec, 0x8100_0000, 0x1000, 'from-device');
    const hm = dma_map_page_attrs(k, mdp, 0x8200_0000, 0x1000, 'from-device');
    expect(hv).toBe(SZ_4G + REGION_END + 1 - 0x1000);
    expect(hm).toBe(2 * SZ_4G + REGION_END + 1 - 0x1000);
    expect(dmaWrite(k, vdec, hv, bytes(3)).ok).toBe(true);
    expect(dmaWrite(k, mdp, hm, bytes(4)).ok).toBe(true);
    expect(physMem(k).read(0x8100_0000, 1)[0]).toBe(3);
    expect(physMem(k).read(0x8200_0000, 1)[0]).toBe(4);
    // Both in the one shared table.
    expect(stepsOf(domainOf(vdec), hm).at(-1)!.next).toBe(0x8200_0000);
    dma_unmap_page_attrs(k, vdec, hv, 0x1000, 'from-device');
    dma_unmap_page_attrs(k, mdp, hm, 0x1000, 'from-device');
    const fv = dmaWrite(k, vdec, hv, bytes(1));
    const fm = dmaWrite(k, mdp, hm, bytes(1));
    // vdo: larbid_remap[1][0] = 21 -> 1 << 9. vpp (HAS_SUB_COMM_3BITS): larbid_remap[7][0] = 4 -> 7 << 10.
    expect(!fv.ok && fv.fault.log).toEqual([
      `fault type=0x1 iova=0x${hv.toString(16)} pa=0x0 master=0x200(larb=21 port=0) layer=1 write`,
    ]);
    expect(!fm.ok && fm.fault.log).toEqual([
      `fault type=0x1 iova=0x${hm.toString(16)} pa=0x0 master=0x1c00(larb=4 port=0) layer=1 write`,
    ]);
    expect(!fm.ok && fm.fault.iommu).toBe(VPP);
  });

  it('no permissions (IO_PGTABLE_QUIRK_NO_PERMS): a device write through a to-device mapping lands', () => {
    const { k, dev } = bootMt8195();
    const rdma = dev(RDMA);
    physMem(k).write(0x9000_0000, bytes(0xaa, 0xbb));
    const h = dma_map_page_attrs(k, rdma, 0x9000_0000, 2, 'to-device');
    const r = dmaRead(k, rdma, h, 2);
    expect(r.ok && [...r.data]).toEqual([0xaa, 0xbb]);
    const w = dmaWrite(k, rdma, h, bytes(0x11));
    expect(w.ok).toBe(true);
    expect(physMem(k).read(0x9000_0000, 1)[0]).toBe(0x11);
    expect(dmaJson(k).faults).toEqual([]);
  });

  it("outside the region (the 8 MiB gap above region 0) is the model's aperture fault, printed as a translation fault", () => {
    const { k, dev } = bootMt8195();
    const rdma = dev(RDMA);
    const r = dmaRead(k, rdma, REGION_END + 1, 4);
    expect(!r.ok && r.fault.reason).toBe('aperture');
    expect(!r.ok && r.fault.log).toEqual([
      `fault type=0x1 iova=0x${(REGION_END + 1).toString(16)} pa=0x0 master=0x80(larb=0 port=0) layer=0 read`,
    ]);
  });

  it('no blocked_domain: a DMA owner gets an empty paging domain, finalised on the shared table, so what the region still maps translates', () => {
    const { k, dev } = bootMt8195();
    const vdec = dev(VDEC);
    const h = dma_map_page_attrs(k, vdec, 0x8300_0000, 0x1000, 'bidirectional');
    const group = vdec.iommu_group!;
    for (const gd of group.devices) device_release_driver(k, gd.dev);
    expect(iommu_device_claim_dma_owner(k, vdec, 'vfio')).toBe(0);
    const blocking = domainOf(vdec);
    // __iommu_group_alloc_blocking_domain(): an unmanaged paging domain, attached like any other.
    expect(blocking.type).toBe(IOMMU_DOMAIN_UNMANAGED);
    expect(blocking).not.toBe(group.default_domain);
    expect(blocking.pgtable).toBe(group.default_domain!.pgtable);
    const w = dmaWrite(k, vdec, h, bytes(0x5a));
    expect(w.ok && w.phys).toEqual([0x8300_0000]);
    expect(physMem(k).read(0x8300_0000, 1)[0]).toBe(0x5a);
  });

  it('share_dom freed with its group: a domain finalised later still takes the table from it (a use after free)', () => {
    const { k, dev } = bootMt8195();
    const vpp = mtkIommuData(dev('14018000.iommu'))!;
    const share = vpp.share_dom!;
    const table = share.pgtable!;
    const group = [RDMA, VDEC, MDP].map((n) => dev(n).iommu_group!).find((g) => g.default_domain === share)!;
    const other = [RDMA, VDEC, MDP].map((n) => dev(n)).find((d) => d.iommu_group !== group)!;
    for (const gd of [...group.devices]) {
      device_del(k, gd.dev);
      put_device(k, gd.dev);
    }
    // mtk_iommu_domain_free() kfree()d it; data->share_dom still points there.
    expect(share.freed).toBe(true);
    expect(vpp.share_dom).toBe(share);
    for (const gd of other.iommu_group!.devices) device_release_driver(k, gd.dev);
    expect(iommu_device_claim_dma_owner(k, other, 'vfio')).toBe(0);
    expect(domainOf(other).pgtable).toBe(table);
    expect(dev('14018000.iommu').history).toContain(
      'mtk_iommu_domain_finalise(): share_dom was freed: its iop and cfg are read from freed memory',
    );
  });

  it('iommu.passthrough=1: identity domains, DMA at the physical address', () => {
    const { k, dev } = bootMt8195({ cmdline: 'iommu.passthrough=1' });
    const rdma = dev(RDMA);
    expect(domainOf(rdma).type).toBe(IOMMU_DOMAIN_IDENTITY);
    const w = dmaWrite(k, rdma, 0x8765_4320, bytes(5));
    expect(w.ok && w.phys).toEqual([0x8765_4320]);
    // No paging domain was finalised: no table at all.
    expect(mtkIommuData(dev('14018000.iommu'))!.share_dom).toBeNull();
  });

  it('iommu.strict=0: still DMA, not DMA-FQ (no IOMMU_CAP_DEFERRED_FLUSH): the unmap flushes at once', () => {
    const { k, dev } = bootMt8195({ cmdline: 'iommu.strict=0' });
    const rdma = dev(RDMA);
    expect(domainOf(rdma).type).toBe(IOMMU_DOMAIN_DMA);
    const h = dma_map_page_attrs(k, rdma, 0x8000_0000, 0x1000, 'bidirectional');
    expect(dmaWrite(k, rdma, h, bytes(1)).ok).toBe(true);
    const before = tlb(k, VDO);
    dma_unmap_page_attrs(k, rdma, h, 0x1000, 'bidirectional');
    expect(delta(before, tlb(k, VDO))).toEqual({ commands: 1, syncs: 1, pages: 1 });
    expect(dmaWrite(k, rdma, h, bytes(2)).ok).toBe(false);
    expect(dmaJson(k).staleIotlbUses).toEqual([]);
  });
});

describe('the infra M4U: its own table, bank 4 for USB', () => {
  it('ias 32, oas 35, a table apart from the MM one; flushes go to the infra M4U only; no larb in the fault line', () => {
    const { k, dev } = bootMt8195({ file: infraUsbVariant() });
    const usb = dev('11290000.usb');
    expect(usb.iommu!.iommu_dev!.name).toBe(INFRA);
    const d = domainOf(usb);
    expect(d.pgtable!.cfg).toMatchObject({ ias: 32, oas: 35, quirks: 0xb });
    expect(d.pgtable).not.toBe(domainOf(dev(RDMA)).pgtable);
    expect(d.bank!.id).toBe(4);
    const before = { infra: tlb(k, INFRA), vdo: tlb(k, VDO) };
    const h = dma_map_page_attrs(k, usb, 0x8000_0000, 0x1000, 'from-device');
    expect(h).toBe(REGION_END + 1 - 0x1000);
    expect(dmaWrite(k, usb, h, bytes(6)).ok).toBe(true);
    dma_unmap_page_attrs(k, usb, h, 0x1000, 'from-device');
    expect(delta(before.infra, tlb(k, INFRA))).toEqual({ commands: 2, syncs: 2, pages: 2 });
    expect(delta(before.vdo, tlb(k, VDO))).toEqual({ commands: 0, syncs: 0, pages: 0 });
    const f = dmaWrite(k, usb, h, bytes(1));
    // MTK_IOMMU_TYPE_INFRA: fault_larb stays MTK_INVALID_LARBID (32), port 0. mt8195's infra M4U has
    // no IOVA_34_EN, so the handler prints REG_MMU0_FAULT_VA as read: the write (bit 1) and layer (bit 0) bits too.
    expect(!f.ok && f.fault.log).toEqual([
      `fault type=0x1 iova=0x${(h + 0x3).toString(16)} pa=0x0 master=0x0(larb=32 port=0) layer=1 write`,
    ]);
  });
});

describe('teardown and allocation failures', () => {
  it('the shared table outlives everything: each of its pages is the known kernel leak, nothing else', () => {
    const { k, dev } = bootMt8195();
    const rdma = dev(RDMA);
    const vdec = dev(VDEC);
    const a = dma_map_page_attrs(k, rdma, 0x8000_0000, 0x1000, 'bidirectional');
    const b = dma_map_page_attrs(k, vdec, 0x8100_0000, 0x1000, 'bidirectional');
    dma_unmap_page_attrs(k, rdma, a, 0x1000, 'bidirectional');
    dma_unmap_page_attrs(k, vdec, b, 0x1000, 'bidirectional');
    // The pgd and one level-2 table per MiB that was mapped; unmapping frees none (io-pgtable-arm-v7s).
    const tables = domainOf(rdma).pgtable!.tableCount;
    expect(tables).toBe(3);
    teardown(k);
    expect(leakReport(k)).toEqual(
      Array.from({ length: tables }, () => ({
        type: 'io-pgtable table',
        origin: 'iommu_alloc_pages_node',
        owner: 'mtk-iommu paging',
        knownBug: 'mtk-iommu-pgtable-never-freed',
      })),
    );
  });

  it('each allocation failed in turn (boot, map, write, unmap, teardown): no unknown leak, no invariant broken', () => {
    const run = (failNth?: number) => {
      const { k } = bootMt8195({ failNth });
      const rdma = [...k.base.devices].find((x) => x.name === RDMA);
      const h = rdma ? dma_map_page_attrs(k, rdma, 0x8000_0000, 0x3000, 'bidirectional') : 0;
      if (rdma && !dma_mapping_error(k, rdma, h)) {
        const w = dmaWrite(k, rdma, h, bytes(1, 2, 3));
        if (w.ok) expect([...physMem(k).read(w.phys[0], 3)]).toEqual([1, 2, 3]);
        dma_unmap_page_attrs(k, rdma, h, 0x3000, 'bidirectional');
      }
      return finishRun(k);
    };
    const base = run();
    expect(base.leaks.length).toBeGreaterThan(0);
    expect(base.leaks.every((l) => l.knownBug === 'mtk-iommu-pgtable-never-freed')).toBe(true);
    const total = base.k.alloc.attempts;
    const { injected } = expectCleanUnwinds(run, total);
    expect(injected).toBe(failNthPoints(total).length);
  }, 300_000);
});
