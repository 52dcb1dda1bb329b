// SPDX-License-Identifier: GPL-2.0-only
// AMD-Vi protection domains translating on the QEMU q35 machine of the
// ground truth (x86-q35-amdvi-bridge: its IVRS and lspci dump), as
// drivers/iommu/amd/iommu.c (6.12) builds and drives them: domain IDs from
// the driver's bitmap, v1 tables with AMD_IOMMU_PGSIZES and an aperture to
// ~0, the device table entries and their INVALIDATE_DEVTAB_ENTRY flushes,
// INVALIDATE_IOMMU_PAGES as build_inv_address() encodes it (split into
// naturally aligned pieces when the IOMMU caches non-present entries, as
// QEMU's does), COMPLETION_WAIT as the sync, DMA-FQ's whole-domain flush,
// IO_PAGE_FAULT lines as amd_iommu_report_page_fault() prints them, and the
// command-line variants (iommu=pt, amd_iommu=pgtbl_v2 / nohugepages /
// v2_pgsizes_only / off). Expected values are worked out from the kernel
// source in the comments.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Device } from '../../src/base/device.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { AmdCommand } from '../../src/drivers/amd/cmd.js';
import type { AmdIommu } from '../../src/drivers/amd/state.js';
import type { PlatformFirmware } from '../../src/platform/firmware.js';
import type { PlatformDesc } from '../../src/platform/schema.js';
import { loadInputs } from '../../src/api.js';
import { parsePlatform } from '../../src/platform/load.js';
import { bootPlatform } from '../../src/platform/boot.js';
import {
  DMA_MAPPING_ERROR,
  dma_map_page_attrs,
  dma_mapping_error,
  dma_unmap_page_attrs,
} from '../../src/dma/mapping.js';
import { dmaRead, dmaWrite } from '../../src/dma/device-dma.js';
import { physMem } from '../../src/mm/phys-mem.js';
import { dmaJson } from '../../src/report/dma-report.js';
import { device_release_driver } from '../../src/base/dd.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../../src/iommu/ownership.js';
import {
  iommu_iotlb_gather_init,
  iommu_iotlb_sync,
  iommu_iova_to_phys,
  iommu_map,
  iommu_unmap,
  iommu_unmap_fast,
} from '../../src/iommu/map.js';
import { iommu_domain_free, iommu_paging_domain_alloc } from '../../src/iommu/domain-alloc.js';
import { IS_ERR, PTR_ERR, ENOMEM } from '../../src/kernel/errno.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/prot.js';
import { AMD_IOMMU_PGSIZES, AMD_IOMMU_PGSIZES_V2 } from '../../src/pgtable/formats/amd.js';
import { amdState } from '../../src/drivers/amd/state.js';
import { build_inv_address, invRange } from '../../src/drivers/amd/cmd.js';
import { domain_id_alloc, domain_id_free } from '../../src/drivers/amd/domain.js';
import { teardown, leakReport } from '../../src/checker/teardown.js';
import { parseIvrs } from '../../src/firmware/acpi/ivrs-parse.js';
import { acpiTable, alias, e4, ivhd, ivrsHeader, special } from '../firmware/acpi/build.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';

const gt = fileURLToPath(new URL('../../../shared/groundtruth/x86-q35-amdvi-bridge/', import.meta.url));
const haveGt = existsSync(gt);

/** The guest's drivers (as the ground-truth x86 tests bind them), built in here so DMA can start at once. */
const q35Drivers = [
  { name: 'pcieport', bus: 'pci', load: 'builtin' },
  { name: 'virtio-pci', bus: 'pci', load: 'builtin' },
  { name: 'e1000e', bus: 'pci', load: 'builtin', ids: [{ vendor: '8086', device: '10d3' }] },
  { name: 'e1000', bus: 'pci', load: 'builtin', ids: [{ vendor: '8086', device: '100e' }] },
];

interface Machine {
  readonly platform: PlatformDesc;
  readonly file: string;
  readonly firmware: PlatformFirmware;
}

/**
 * The ground-truth machine; `hypervisor` (the default, as it ran) makes the
 * IOMMU QEMU's, which caches non-present entries; `ivrs` replaces its table.
 */
function machine(opts: { hypervisor?: boolean; ivrs?: Uint8Array } = {}): Machine {
  const { desc, file, firmware } = loadInputs([join(gt, 'IVRS.dat'), join(gt, 'lspci.txt')], {
    hypervisor: opts.hypervisor ?? true,
  });
  const platform = parsePlatform(
    { ...JSON.parse(JSON.stringify(desc)), bind: undefined, drivers: q35Drivers },
    file,
  );
  const fw = opts.ivrs ? { ...firmware, ivrs: parseIvrs(opts.ivrs, 'IVRS.dat') } : firmware;
  return { platform, file, firmware: fw };
}

interface Booted {
  readonly k: Kernel;
  readonly u: AmdIommu;
  dev(name: string): Device;
}

function boot(m: Machine, cmdline = '', failNth?: number): Booted {
  const { k } = bootPlatform(m.platform, {
    file: m.file,
    firmware: m.firmware,
    profile: 'v6.12',
    cmdline: `console=ttyS0 quiet panic=-1 ${cmdline}`,
    failNth,
  });
  return {
    k,
    get u() {
      return amdState(k)!.units[0];
    },
    dev(name) {
      const d = [...k.base.devices].find((x) => x.name === name);
      if (!d) throw new Error(`no device ${name}`);
      return d;
    },
  };
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;
/** A command as one short string. */
function show(c: AmdCommand): string {
  switch (c.op) {
    case 'COMPLETION_WAIT':
      return 'CW';
    case 'INVALIDATE_DEVTAB_ENTRY':
      return `INV_DTE ${hex(c.devid)}`;
    case 'INVALIDATE_IOMMU_PAGES':
      return `INV_PAGES d${c.domid} ${hex(c.address)}`;
  }
}
/** The commands sent from now on, as strings. */
function commands(u: AmdIommu): () => string[] {
  const from = u.cmd.log.length;
  return () => u.cmd.log.slice(from).map(show);
}
const bytes = (...v: number[]) => Uint8Array.from(v);
const logLine = (k: Kernel, message: string) => k.printk.lines.find((l) => l.message === message);

/** CMD_INV_IOMMU_ALL_PAGES_ADDRESS & PAGE_MASK | S | PDE */
const ALL = '0x7ffffffffffff003';

describe('build_inv_address()', () => {
  it('encodes one page as its address, more as the start with the low bits set and S', () => {
    expect(build_inv_address(0x1234_5000n, 0x1000n)).toBe(0x1234_5000n);
    // Within one page, whatever the offset.
    expect(build_inv_address(0x1234_5678n, 0x10n)).toBe(0x1234_5000n);
    // 0x2000 at 0x4000: the highest bit differing between 0x4000 and 0x5fff is 12: 8K at 0x4000.
    expect(build_inv_address(0x4000n, 0x2000n)).toBe(0x4000n | 1n);
    expect(invRange(0x4001n)).toEqual({ start: 0x4000n, last: 0x5fffn });
    // 0x2000 at 0x1000 (not aligned): 0x1000 ^ 0x2fff = 0x3fff, bit 13: 0x1fff -> 0x1000 | S = 16K at 0.
    expect(build_inv_address(0x1000n, 0x2000n)).toBe(0x1000n | 1n);
    expect(invRange(0x1001n)).toEqual({ start: 0n, last: 0x3fffn });
    // Across bit 51: everything.
    expect(build_inv_address(0n, 0x7fffffffffffffffn)).toBe(0x7ffffffffffff001n);
    expect(invRange(0x7ffffffffffff001n)).toBeNull();
  });
});

describe.skipIf(!haveGt)('protection domains on x86-q35-amdvi-bridge (QEMU amd-iommu, strict)', () => {
  const m = haveGt ? machine() : (null as unknown as Machine);

  it('one v1 domain per group, IDs from 1 in group order, AMD_IOMMU_PGSIZES, aperture to ~0', () => {
    const { k, dev } = boot(m);
    const byGroup = new Map<number, string>();
    for (const d of k.base.devices) {
      const g = d.iommu_group;
      if (g) byGroup.set(g.id, g.default_domain!.label);
    }
    // domain_id_alloc(): find_first_zero_bit() from 1; iommu_setup_default_domain() per group, in order.
    expect([...byGroup].sort((a, b) => a[0] - b[0])).toEqual([
      [0, 'amd-iommu domain 1'],
      [1, 'amd-iommu domain 2'],
      [2, 'amd-iommu domain 3'],
      [3, 'amd-iommu domain 4'],
      [4, 'amd-iommu domain 5'],
    ]);
    const d = dev('0000:02:00.0').iommu_group!.default_domain!;
    // "Using strict mode due to virtualization": DMA, not DMA-FQ.
    expect(d.type).toBe(3);
    expect(d.pgtable?.cfg.fmt).toBe('AMD_IOMMU_V1');
    expect(d.pgtable?.cfg.ias).toBe(52);
    // v1_alloc_pgtable(): cfg->pgsize_bitmap = amd_iommu_pgsize_bitmap (GENMASK(51, 12) ^ SZ_512G).
    expect(d.pgsize_bitmap).toBe(Number(AMD_IOMMU_PGSIZES));
    // dma_max_address() is ~0ULL for v1; the model's addresses end below 2^53.
    expect(d.geometry).toEqual({
      aperture_start: 0,
      aperture_end: Number.MAX_SAFE_INTEGER,
      force_aperture: true,
    });
  });

  it('every device table entry carries its group domain ID and mode 3; the bridge entry is cloned', () => {
    const { u } = boot(m);
    const dte = Object.fromEntries([...u.dte].map(([devid, e]) => [hex(devid), `${e.domid}/${e.mode}`]));
    // v1_alloc_pgtable() starts at PAGE_MODE_3_LEVEL; 0x48 (00:09.0) is written for itself and
    // cloned from each function behind it (its IVRS alias and its DMA alias: clone_aliases()).
    expect(dte).toEqual({
      '0x0': '1/3',
      '0x48': '2/3',
      '0x108': '2/3',
      '0x110': '2/3',
      '0x118': '2/3',
      '0x50': '3/3',
      '0xf8': '4/3',
      '0xfa': '4/3',
      '0xfb': '4/3',
      '0x200': '5/3',
    });
  });

  it('attaching sends INVALIDATE_DEVTAB_ENTRY per alias and one COMPLETION_WAIT per device', () => {
    const { u } = boot(m);
    // device_flush_dte(): one per pci_for_each_dma_alias() ID, plus the IVRS alias when it differs.
    // 00:00.0, 00:09.0, 00:0a.0, 00:1f.{0,2,3}, 02:00.0 (a root port passes the ID): 1 each = 7;
    // 01:0{1,2,3}.0: themselves, the bridge 00:09.0 as DMA alias, 00:09.0 again as IVRS alias: 3 each = 9.
    expect(u.cmd.counts.INVALIDATE_DEVTAB_ENTRY).toBe(16);
    // dev_update_dte() -> iommu_completion_wait(): ten attaches.
    expect(u.cmd.counts.COMPLETION_WAIT).toBe(10);
    // No unit is in a domain when iommu_create_device_direct_mappings() flushes it: nothing sent.
    expect(u.cmd.counts.INVALIDATE_IOMMU_PAGES).toBe(0);
    expect(u.iommu.iotlb.syncs).toBe(10);
    // 00:00.0, 00:09.0, then 01:01.0: its own ID, the bridge as DMA alias, the bridge as IVRS alias.
    expect(u.cmd.log.slice(0, 8).map(show)).toEqual([
      'INV_DTE 0x0',
      'CW',
      'INV_DTE 0x48',
      'CW',
      'INV_DTE 0x108',
      'INV_DTE 0x48',
      'INV_DTE 0x48',
      'CW',
    ]);
  });

  it("prints the ground truth's AMD-Vi lines, in its order and place", () => {
    const { k } = boot(m);
    const want = readFileSync(join(gt, 'expected.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('K '))
      .map((l) => l.slice(2));
    const lines = k.printk.lines.map((l) => `${l.source}: ${l.message}`);
    const amd = lines.filter((l) => l.startsWith('AMD-Vi: '));
    expect(amd).toEqual([
      'AMD-Vi: Using strict mode due to virtualization',
      'AMD-Vi: Extended features (0x29d3, 0x0): PreF PPR GT IA GA HE',
    ]);
    // The guest printed both (besides the IVHD EFR and interrupt-remapping lines the model has not).
    expect(amd.map((l) => want.indexOf(l))).toEqual([3, 14]);
    // As there: iommu_init_pci() makes the driver strict before the unit registers and groups form;
    // print_iommu_info() comes after.
    const firstGroup = lines.findIndex((l) => l.includes('Adding to iommu group'));
    const lastGroup =
      lines.length - 1 - [...lines].reverse().findIndex((l) => l.includes('Adding to iommu group'));
    expect(lines.indexOf(amd[0])).toBeLessThan(firstGroup);
    expect(lines.indexOf(amd[1])).toBeGreaterThan(lastGroup);
  });

  it('a map and an unmap each flush their page and wait; the DMA lands, then faults on the bridge ID', () => {
    const { k, u, dev } = boot(m);
    const nic = dev('0000:01:01.0');
    const tlb = u.iommu.iotlb;
    const before = { commands: tlb.commands, syncs: tlb.syncs, pages: tlb.pages };
    let sent = commands(u);
    const h = dma_map_page_attrs(k, nic, 0x8000_1234, 100, 'bidirectional');
    expect(dma_mapping_error(k, nic, h)).toBe(0);
    // A PCI device's 32-bit mask, top down: the last page below 4G, with the buffer's offset.
    expect(h).toBe(0xffff_f234);
    // amd_iommu_iotlb_sync_map() -> domain_flush_np_cache(): the page, by domain 2, PDE set; then the wait.
    expect(sent()).toEqual(['INV_PAGES d2 0xfffff002', 'CW']);
    const data = Uint8Array.from({ length: 100 }, (_, i) => i ^ 0x5a);
    const w = dmaWrite(k, nic, h, data);
    expect(w.ok && w.phys).toEqual([0x8000_1234]);
    expect([...physMem(k).read(0x8000_1234, 100)]).toEqual([...data]);

    sent = commands(u);
    dma_unmap_page_attrs(k, nic, h, 100, 'bidirectional');
    // amd_iommu_iotlb_sync(): the gathered page, the same command.
    expect(sent()).toEqual(['INV_PAGES d2 0xfffff002', 'CW']);
    expect(tlb.commands - before.commands).toBe(2);
    expect(tlb.syncs - before.syncs).toBe(2);
    expect(tlb.pages - before.pages).toBe(2);

    const late = dmaWrite(k, nic, h + 8, bytes(0xee));
    expect(!late.ok && late.fault.reason).toBe('unmapped');
    // The e1000 sits behind a conventional PCI bridge: its DMA reaches the IOMMU as 00:09.0,
    // whose dev_data is in domain 2: pci_err() on the bridge; a write is RW (0x20), not present.
    expect(!late.ok && late.fault.log).toEqual([
      `Event logged [IO_PAGE_FAULT domain=0x0002 address=${hex(h + 8)} flags=0x0020]`,
    ]);
    expect(k.printk.lines.at(-1)).toEqual({
      level: 'err',
      source: '0000:00:09.0',
      message: `Event logged [IO_PAGE_FAULT domain=0x0002 address=${hex(h + 8)} flags=0x0020]`,
    });
    expect(physMem(k).read(0x8000_123c, 1)[0]).toBe(data[8]);
    expect(dmaJson(k).staleIotlbUses).toEqual([]);
  });

  it('a range that is not naturally aligned is flushed in aligned pieces (np_cache)', () => {
    const { k, u, dev } = boot(m);
    const nic = dev('0000:02:00.0');
    const sent = commands(u);
    const h = dma_map_page_attrs(k, nic, 0x9000_0000, 0x3000, 'from-device');
    // Three pages, size-aligned to four: the highest 16K block below 4G.
    expect(h).toBe(0xffff_c000);
    // amd_iommu_domain_flush_pages(): 8K at 0xffffc000 (alignment 14, fls(0x3000) 13), then 4K at 0xffffe000.
    expect(sent()).toEqual(['INV_PAGES d5 0xffffc003', 'INV_PAGES d5 0xffffe002', 'CW']);
    const unmapSent = commands(u);
    const pages = u.iommu.iotlb.pages;
    dma_unmap_page_attrs(k, nic, h, 0x3000, 'from-device');
    expect(unmapSent()).toEqual(['INV_PAGES d5 0xffffc003', 'INV_PAGES d5 0xffffe002', 'CW']);
    expect(u.iommu.iotlb.pages - pages).toBe(3);
  });

  it('a device write through a to-device mapping: PR | RW | PE on its own ID', () => {
    const { k, dev } = boot(m);
    const nic = dev('0000:02:00.0');
    physMem(k).write(0x9100_0000, bytes(0xaa, 0xbb));
    const h = dma_map_page_attrs(k, nic, 0x9100_0000, 2, 'to-device');
    dma_mapping_error(k, nic, h);
    const r = dmaRead(k, nic, h, 2);
    expect(r.ok && [...r.data]).toEqual([0xaa, 0xbb]);
    const w = dmaWrite(k, nic, h, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('permission');
    expect(!w.ok && w.fault.log).toEqual([
      `Event logged [IO_PAGE_FAULT domain=0x0005 address=${hex(h)} flags=0x0070]`,
    ]);
    expect(k.printk.lines.at(-1)?.source).toBe('0000:02:00.0');
    expect([...physMem(k).read(0x9100_0000, 2)]).toEqual([0xaa, 0xbb]);
  });

  it('the blocked domain: the entry cleared, the old domain flushed, faults "not attached"', () => {
    const { k, u, dev } = boot(m);
    const nic = dev('0000:02:00.0');
    device_release_driver(k, nic);
    const sent = commands(u);
    expect(iommu_device_claim_dma_owner(k, nic, 'vfio')).toBe(0);
    // blocked_domain_attach_device() -> detach_device(): clear and flush the entry and wait, flush all
    // of domain 5 and wait; then dev_update_dte(false) once more: the entry again, the wait.
    expect(sent()).toEqual(['INV_DTE 0x200', 'CW', `INV_PAGES d5 ${ALL}`, 'CW', 'INV_DTE 0x200', 'CW']);
    expect(u.dte.get(0x200)).toEqual({ domid: 0, mode: 0 });
    const r = dmaRead(k, nic, 0x1000, 4);
    expect(!r.ok && r.fault.reason).toBe('blocked');
    expect(!r.ok && r.fault.log).toEqual([
      'Event logged [Device not attached to domain properly]',
      '  device=0000:02:00.0 domain=0x0000',
    ]);
    expect(k.printk.lines.at(-1)?.source).toBe('AMD-Vi');
    iommu_device_release_dma_owner(k, nic);
    expect(u.dte.get(0x200)).toEqual({ domid: 5, mode: 3 });
    const r2 = dmaRead(k, nic, 0x1000, 4);
    expect(!r2.ok && r2.fault.log).toEqual([
      'Event logged [IO_PAGE_FAULT domain=0x0005 address=0x1000 flags=0x0000]',
    ]);
  });

  it('growing the table past 512G rewrites and flushes the device table entries', () => {
    const { k, u, dev } = boot(m);
    const nic = dev('0000:02:00.0');
    const d = nic.iommu_group!.default_domain!;
    const sent = commands(u);
    expect(iommu_map(k, d, 2 ** 40, 0x9200_0000, 0x1000, IOMMU_READ | IOMMU_WRITE)).toBe(0);
    // increase_address_space() -> amd_iommu_update_and_flush_device_table(): set_dte_entry() finds the
    // old ID 5 and flushes it (amd_iommu_flush_tlb_domid()), device_flush_dte(), domain_flush_complete();
    // then iotlb_sync_map flushes the new page.
    expect(sent()).toEqual([
      `INV_PAGES d5 ${ALL}`,
      'CW',
      'INV_DTE 0x200',
      'CW',
      'INV_PAGES d5 0x10000000002',
      'CW',
    ]);
    expect(u.dte.get(0x200)).toEqual({ domid: 5, mode: 4 });
    expect(iommu_iova_to_phys(k, d, 2 ** 40 + 0x10)).toBe(0x9200_0010);
    const w = dmaWrite(k, nic, 2 ** 40 + 0x10, bytes(7));
    expect(w.ok && w.phys).toEqual([0x9200_0010]);
  });

  it('an unmap that finds nothing still syncs: the empty gather is a 2-byte range at ~0', () => {
    const { k, u, dev } = boot(m);
    const d = dev('0000:02:00.0').iommu_group!.default_domain!;
    const sent = commands(u);
    expect(iommu_unmap(k, d, 0x10_0000_0000, 0x1000)).toBe(0);
    // start ULONG_MAX, end 0: size 2. np_cache: 1 byte at ULONG_MAX (its page), then 1 byte at 0.
    expect(sent()).toEqual(['INV_PAGES d5 0xfffffffffffff002', 'INV_PAGES d5 0x2', 'CW']);
  });

  it('with np_cache a disjoint range syncs what the gather holds before it joins', () => {
    const { k, u, dev } = boot(m);
    const d = dev('0000:02:00.0').iommu_group!.default_domain!;
    expect(iommu_map(k, d, 0x1000_0000, 0x9300_0000, 0x1000, IOMMU_READ)).toBe(0);
    expect(iommu_map(k, d, 0x1000_4000, 0x9300_4000, 0x1000, IOMMU_READ)).toBe(0);
    const sent = commands(u);
    const g = iommu_iotlb_gather_init();
    expect(iommu_unmap_fast(k, d, 0x1000_0000, 0x1000, g)).toBe(0x1000);
    expect(iommu_unmap_fast(k, d, 0x1000_4000, 0x1000, g)).toBe(0x1000);
    iommu_iotlb_sync(k, d, g);
    expect(sent()).toEqual(['INV_PAGES d5 0x10000002', 'CW', 'INV_PAGES d5 0x10004002', 'CW']);
  });

  it('IO_PAGE_FAULT lines are rate limited per device: 10 in 5 s, then "callbacks suppressed"', () => {
    const { k, dev } = boot(m);
    const nic = dev('0000:02:00.0');
    const logs = Array.from({ length: 12 }, (_, i) => {
      const r = dmaRead(k, nic, 0x2000 + i * 0x1000, 4);
      return !r.ok ? r.fault.log.length : -1;
    });
    expect(logs).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    k.clock.advance(5001);
    const r = dmaRead(k, nic, 0x2000, 4);
    expect(!r.ok && r.fault.log).toHaveLength(1);
    expect(k.printk.lines.at(-2)).toEqual({
      level: 'warn',
      source: 'kernel',
      message: 'amd_iommu_report_page_fault: 2 callbacks suppressed',
    });
  });

  it('domain IDs: the lowest free one; with none left the allocation fails with -ENOMEM', () => {
    const { k, dev } = boot(m);
    const s = amdState(k)!;
    const nic = dev('0000:02:00.0');
    const a = iommu_paging_domain_alloc(k, nic);
    if (IS_ERR(a)) throw new Error('no domain');
    // Unmanaged domains always get v1 tables.
    expect(a.label).toBe('amd-iommu domain 6');
    expect(a.pgtable?.cfg.fmt).toBe('AMD_IOMMU_V1');
    let taken = 0;
    while (domain_id_alloc(s)) taken++;
    // MAX_DOMAIN_ID is 65536; 0 is never used and 1..6 are taken.
    expect(taken).toBe(65535 - 6);
    const none = iommu_paging_domain_alloc(k, nic);
    expect(IS_ERR(none) && PTR_ERR(none)).toBe(-ENOMEM);
    domain_id_free(s, 4242);
    const b = iommu_paging_domain_alloc(k, nic);
    expect(!IS_ERR(b) && b.label).toBe('amd-iommu domain 4242');
    iommu_domain_free(k, a);
    if (!IS_ERR(b)) iommu_domain_free(k, b);
    teardown(k);
    expect(leakReport(k)).toEqual([]);
  });
});

describe.skipIf(!haveGt)(
  'the same machine on bare metal (no NpCache): DMA-FQ and single range commands',
  () => {
    const m = haveGt ? machine({ hypervisor: false }) : (null as unknown as Machine);

    it('lazy by default: nothing is sent at map or unmap; the flush queue flushes all of the domain', () => {
      const { k, u, dev } = boot(m);
      const nic = dev('0000:02:00.0');
      expect(logLine(k, 'Using strict mode due to virtualization')).toBeUndefined();
      // Bare metal with an IVHD 10h: no EFR known, so no "Extended features" line either.
      expect(k.printk.lines.some((l) => l.message.startsWith('Extended features'))).toBe(false);
      const d = nic.iommu_group!.default_domain!;
      expect(d.type).toBe(11); // IOMMU_DOMAIN_DMA_FQ
      const sent = commands(u);
      const h = dma_map_page_attrs(k, nic, 0x8000_0000, 0x1000, 'bidirectional');
      dma_mapping_error(k, nic, h);
      expect(dmaWrite(k, nic, h, bytes(1)).ok).toBe(true);
      dma_unmap_page_attrs(k, nic, h, 0x1000, 'bidirectional');
      expect(sent()).toEqual([]);
      // The IOTLB still holds the page: the write lands, a stale use in the lazy window.
      expect(dmaWrite(k, nic, h, bytes(2)).ok).toBe(true);
      expect(dmaJson(k).staleIotlbUses).toHaveLength(1);
      k.clock.advance(10);
      // amd_iommu_flush_iotlb_all() -> amd_iommu_domain_flush_all(): one command for all pages, one wait.
      expect(sent()).toEqual([`INV_PAGES d5 ${ALL}`, 'CW']);
      const after = dmaWrite(k, nic, h, bytes(3));
      expect(!after.ok && after.fault.reason).toBe('unmapped');
      expect(physMem(k).read(0x8000_0000, 1)[0]).toBe(2);
    });

    it('strict (iommu.strict=1): an unaligned range goes in one command that covers more', () => {
      const { k, u, dev } = boot(m, 'iommu.strict=1');
      const nic = dev('0000:02:00.0');
      const h = dma_map_page_attrs(k, nic, 0x9000_0000, 0x3000, 'from-device');
      expect(h).toBe(0xffff_c000);
      const sent = commands(u);
      const pages = u.iommu.iotlb.pages;
      dma_unmap_page_attrs(k, nic, h, 0x3000, 'from-device');
      // build_inv_address(0xffffc000, 0x3000): 0xffffc000 ^ 0xffffefff = 0x2fff, bit 13: 0xffffd000 | S,
      // the 16K at 0xffffc000.
      expect(sent()).toEqual(['INV_PAGES d5 0xffffd003', 'CW']);
      expect(u.iommu.iotlb.pages - pages).toBe(4);
      // An unmap of nothing flushes everything: ULONG_MAX + 2 wraps past bit 51.
      const sent2 = commands(u);
      iommu_unmap(k, nic.iommu_group!.default_domain!, 0x10_0000_0000, 0x1000);
      expect(sent2()).toEqual([`INV_PAGES d5 ${ALL}`, 'CW']);
    });

    it('amd_iommu=fullflush: strict, with its warning', () => {
      const { k, dev } = boot(m, 'amd_iommu=fullflush');
      expect(logLine(k, 'amd_iommu=fullflush deprecated; use iommu.strict=1 instead')?.level).toBe('warn');
      expect(dev('0000:02:00.0').iommu_group!.default_domain!.type).toBe(3);
    });
  },
);

describe.skipIf(!haveGt)('command-line variants', () => {
  const m = haveGt ? machine() : (null as unknown as Machine);

  it('iommu=pt: identity protection domains (an ID each, no table); DMA goes straight to memory', () => {
    const { k, u, dev } = boot(m, 'iommu=pt');
    const nic = dev('0000:02:00.0');
    const d = nic.iommu_group!.default_domain!;
    expect(d.type).toBe(4); // IOMMU_DOMAIN_IDENTITY
    expect(d.label).toBe('amd-iommu domain 5');
    expect(d.pgtable).toBeNull();
    // set_dte_entry(): the domain's ID, mode 0 (PAGE_MODE_NONE): no translation.
    expect(u.dte.get(0x200)).toEqual({ domid: 5, mode: 0 });
    const h = dma_map_page_attrs(k, nic, 0x8123_4000, 0x100, 'bidirectional');
    expect(h).toBe(0x8123_4000);
    const w = dmaWrite(k, nic, 0x8123_4567, bytes(7, 8));
    expect(w.ok && w.phys).toEqual([0x8123_4567]);
    expect([...physMem(k).read(0x8123_4567, 2)]).toEqual([7, 8]);
    expect(dmaJson(k).faults).toEqual([]);
  });

  it('amd_iommu=pgtbl_v2 falls back to v1: QEMU has GT but no GIOSup', () => {
    const { k, dev } = boot(m, 'amd_iommu=pgtbl_v2');
    expect(logLine(k, 'Cannot enable v2 page table for DMA-API. Fallback to v1.')?.level).toBe('warn');
    expect(k.printk.lines.some((l) => l.message.startsWith('V2 page table enabled'))).toBe(false);
    expect(dev('0000:02:00.0').iommu_group!.default_domain!.pgtable?.cfg.fmt).toBe('AMD_IOMMU_V1');
  });

  it('amd_iommu=nohugepages and =v2_pgsizes_only restrict the v1 page sizes', () => {
    const small = boot(m, 'amd_iommu=nohugepages');
    expect(logLine(small.k, 'Restricting V1 page-sizes to 4KiB')).toBeDefined();
    expect(small.dev('0000:02:00.0').iommu_group!.default_domain!.pgsize_bitmap).toBe(0x1000);
    const v2 = boot(m, 'amd_iommu=v2_pgsizes_only');
    expect(logLine(v2.k, 'Restricting V1 page-sizes to 4KiB/2MiB/1GiB')).toBeDefined();
    const d = v2.dev('0000:02:00.0').iommu_group!.default_domain!;
    expect(d.pgsize_bitmap).toBe(Number(AMD_IOMMU_PGSIZES_V2));
    expect(d.pgtable?.cfg.fmt).toBe('AMD_IOMMU_V1');
  });

  it('amd_iommu=off: no IOMMU, the device DMAs to physical addresses', () => {
    const { k, dev } = boot(m, 'amd_iommu=off');
    expect(amdState(k)).toBeUndefined();
    const nic = dev('0000:02:00.0');
    expect(nic.iommu_group).toBeNull();
    expect(dmaWrite(k, nic, 0x8000_0000, bytes(1)).ok).toBe(true);
  });

  it('an unknown word is reported with the rest of the option', () => {
    const { k } = boot(m, 'amd_iommu=bogus,pgtbl_v1');
    expect(logLine(k, "Unknown option - 'bogus,pgtbl_v1'")).toBeDefined();
  });
});

/** The machine's IVRS as an IVHD 11h whose EFR image adds GIOSup to QEMU's features. */
function ivrsV2(): Uint8Array {
  const FEATURE_GIOSUP = 1n << 48n;
  return acpiTable('IVRS', 2, [
    ...ivrsHeader(0x2801), // EFRSup
    ...ivhd(0x11, 0x0008, { flags: 0xd1, base: 0xfed80000n, efr: 0x29d3n | FEATURE_GIOSUP }, [
      e4(0x02, 0x0000),
      e4(0x02, 0x0008),
      e4(0x02, 0x0048),
      alias(0x43, 0x0100, 0x0048),
      e4(0x04, 0x01ff),
      e4(0x02, 0x0050),
      e4(0x03, 0x0200),
      e4(0x04, 0x02ff),
      e4(0x02, 0x00f8),
      e4(0x02, 0x00fa),
      e4(0x02, 0x00fb),
      special(0x00, 0x00a0, 1),
    ]),
  ]);
}

describe.skipIf(!haveGt)('v2 page tables (amd_iommu=pgtbl_v2 with GIOSup and GT in the IVHD EFR)', () => {
  const m = haveGt ? machine({ hypervisor: false, ivrs: ivrsV2() }) : (null as unknown as Machine);

  it('DMA domains get 4-level x86 tables, 4K/2M/1G and a 47-bit aperture; each device a GCR3 domain ID', () => {
    const { k, u, dev } = boot(m, 'amd_iommu=pgtbl_v2 iommu.strict=1');
    expect(logLine(k, 'V2 page table enabled (Paging mode : 4 level)')).toBeDefined();
    expect(logLine(k, 'Extended features (0x10000000029d3, 0x0): PreF PPR GT IA GA HE')).toBeDefined();
    const nic = dev('0000:02:00.0');
    const d = nic.iommu_group!.default_domain!;
    expect(d.pgtable?.cfg.fmt).toBe('AMD_IOMMU_V2');
    expect(d.pgsize_bitmap).toBe(Number(AMD_IOMMU_PGSIZES_V2));
    // dma_max_address(): (1 << (PM_LEVEL_SHIFT(4) - 1)) - 1
    expect(d.geometry?.aperture_end).toBe(2 ** 47 - 1);
    // Per group: the domain's ID, then one per device from setup_gcr3_table() as each attaches.
    // Group 4 (02:00.0) comes after 1 + 1, 1 + 4, 1 + 1, 1 + 3 IDs: domain 14, GCR3 ID 15.
    expect(d.label).toBe('amd-iommu domain 14');
    expect(u.dte.get(0x200)).toEqual({ domid: 15, mode: 0 });

    const sent = commands(u);
    const h = dma_map_page_attrs(k, nic, 0x8000_0000, 0x1000, 'bidirectional');
    expect(dma_mapping_error(k, nic, h)).toBe(0);
    expect(sent()).toEqual([]); // no np_cache: nothing at map
    expect(dmaWrite(k, nic, h, bytes(9)).ok).toBe(true);
    dma_unmap_page_attrs(k, nic, h, 0x1000, 'bidirectional');
    // domain_flush_pages_v2(): per device, by its GCR3 ID, GN (0x4) with PASID 0.
    expect(sent()).toEqual([`INV_PAGES d15 ${hex(BigInt(h) | 0x6n)}`, 'CW']);
    const f = dmaWrite(k, nic, h, bytes(1));
    expect(!f.ok && f.fault.log).toEqual([
      `Event logged [IO_PAGE_FAULT domain=0x000f address=${hex(h)} flags=0x0020]`,
    ]);
    // Past the aperture.
    const a = dmaRead(k, nic, 2 ** 47, 4);
    expect(!a.ok && a.fault.reason).toBe('aperture');
    // Unmanaged domains stay v1 (protection_domain_alloc()).
    const um = iommu_paging_domain_alloc(k, nic);
    expect(!IS_ERR(um) && um.pgtable?.cfg.fmt).toBe('AMD_IOMMU_V1');
    if (!IS_ERR(um)) iommu_domain_free(k, um);
    teardown(k);
    expect(leakReport(k)).toEqual([]);
  });

  it('without the option the same IOMMU keeps v1 tables', () => {
    const { dev } = boot(m);
    expect(dev('0000:02:00.0').iommu_group!.default_domain!.pgtable?.cfg.fmt).toBe('AMD_IOMMU_V1');
  });
});

describe.skipIf(!haveGt)('fail-nth over boot and DMA', () => {
  /** Boot, map, DMA, unmap, fault, an unmanaged domain, then tear down. */
  function run(m: Machine, cmdline: string, failNth?: number) {
    const { k } = boot(m, cmdline, failNth);
    // A failed allocation may have cost a device its IOMMU (or its existence): DMA with what is there.
    const find = (name: string) => [...k.base.devices].find((d) => d.name === name && d.iommu_group);
    const nic = find('0000:01:01.0');
    if (nic) {
      const h = dma_map_page_attrs(k, nic, 0x8000_0000, 0x3000, 'bidirectional');
      if (h !== DMA_MAPPING_ERROR) {
        dmaWrite(k, nic, h, bytes(1, 2, 3));
        dma_unmap_page_attrs(k, nic, h, 0x3000, 'bidirectional');
        dmaRead(k, nic, h, 1);
      }
    }
    const other = find('0000:02:00.0');
    const um = other ? iommu_paging_domain_alloc(k, other) : null;
    if (um && !IS_ERR(um)) {
      iommu_map(k, um, 2 ** 40, 0x9000_0000, 0x1000, IOMMU_READ);
      iommu_domain_free(k, um);
    }
    return finishRun(k);
  }

  it.each([
    ['QEMU (strict)', false, ''],
    ['v2 tables', true, 'amd_iommu=pgtbl_v2'],
  ] as const)(
    '%s: every failed allocation unwinds without leaks or broken invariants',
    (_name, v2, cmdline) => {
      const m = machine(v2 ? { hypervisor: false, ivrs: ivrsV2() } : {});
      const base = run(m, cmdline);
      expect(base.leaks).toEqual([]);
      expect(base.violations).toEqual([]);
      expect(base.k.printk.warnings).toEqual([]);
      const { sites } = expectCleanUnwinds((n) => run(m, cmdline, n), base.k.alloc.attempts);
      // The driver's own allocations were among those failed.
      expect([...sites]).toEqual(
        expect.arrayContaining(['protection_domain_alloc', 'pdom_attach_iommu', 'iommu_alloc_pages_node']),
      );
    },
  );
});
