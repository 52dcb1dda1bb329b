// SPDX-License-Identifier: GPL-2.0-only
// VT-d paging domains translating, on the QEMU q35 machines of
// shared/groundtruth (booted from their DMAR tables and lspci dumps, with the
// command lines they ran with) and on the RMRR platform. Expectations come
// from drivers/iommu/intel/{iommu,cache,dmar}.c in 6.12 and from the unit's
// registers as the ground truth printed them ("cap d2008c22260206 ecap
// f00f4a": SAGAW and MGAW 39 bits, 2M/1G superpages, PSI with MAMV 18, no
// caching mode, no RWBF, queued invalidation, one fault record).
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExpected } from '../support/groundtruth.js';
import { loadInputs, boot } from '../../src/api.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { loadPlatform, parsePlatform } from '../../src/platform/load.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { Device } from '../../src/base/device.js';
import type { IntelIommu } from '../../src/drivers/intel/state.js';
import type { DmarDomain } from '../../src/drivers/intel/domain.js';
import type { DmarTable } from '../../src/drivers/intel/dmar.js';
import {
  dma_map_page_attrs,
  dma_mapping_error,
  dma_set_mask_and_coherent,
  dma_unmap_page_attrs,
} from '../../src/dma/mapping.js';
import { dmaRead, dmaWrite } from '../../src/dma/device-dma.js';
import { physMem } from '../../src/mm/phys-mem.js';
import { pgtableMemory } from '../../src/mm/table-memory.js';
import { dmaJson } from '../../src/report/dma-report.js';
import { iommu_iova_to_phys, iommu_map, iommu_unmap } from '../../src/iommu/map.js';
import { iommu_domain_free, iommu_paging_domain_alloc } from '../../src/iommu/domain-alloc.js';
import { IS_ERR } from '../../src/kernel/errno.js';
import { domainTypeSysfs } from '../../src/iommu/domain.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../../src/iommu/ownership.js';
import { device_release_driver } from '../../src/base/dd.js';
import { iova_ranges } from '../../src/dma/iova.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/prot.js';
import { calculate_psi_aligned_address, ULONG_MAX } from '../../src/drivers/intel/cache.js';
import { intel_iommu_init } from '../../src/drivers/intel/iommu.js';
import { teardown, leakReport } from '../../src/checker/teardown.js';
import { checkInvariants } from '../../src/checker/invariants.js';

const gt = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));
const have = (m: string) => existsSync(join(gt, m));
const RW = IOMMU_READ | IOMMU_WRITE;
const bytes = (...v: number[]) => Uint8Array.from(v);

/** The guests' drivers, all built in here so every NIC is bound when DMA starts. */
const q35Drivers = [
  { name: 'pcieport', bus: 'pci', load: 'builtin' },
  { name: 'virtio-pci', bus: 'pci', load: 'builtin' },
  { name: 'e1000e', bus: 'pci', load: 'builtin', ids: [{ vendor: '8086', device: '10d3' }] },
  { name: 'e1000', bus: 'pci', load: 'builtin', ids: [{ vendor: '8086', device: '100e' }] },
];

interface Booted {
  readonly k: Kernel;
  readonly groupTypes: Map<number, string>;
  dev(name: string): Device;
}

function wrap(k: Kernel, groupTypes = new Map<number, string>()): Booted {
  return {
    k,
    groupTypes,
    dev(name) {
      const d = [...k.base.devices].find((x) => x.name === name);
      if (!d) throw new Error(`no device ${name}`);
      return d;
    },
  };
}

/** A ground-truth q35 VT-d machine, with the command line it booted with unless told otherwise. */
function bootVtd(machine: string, opts: { cmdline?: string; failNth?: number } = {}): Booted {
  const dir = join(gt, machine);
  const want = parseExpected(join(dir, 'expected.txt'));
  const { desc, file, firmware } = loadInputs([join(dir, 'DMAR.dat'), join(dir, 'lspci.txt')], {
    hypervisor: true,
  });
  const platform = parsePlatform(
    { ...JSON.parse(JSON.stringify(desc)), bind: undefined, drivers: q35Drivers },
    file,
  );
  const bp = bootPlatform(platform, {
    file,
    firmware,
    profile: 'v6.12',
    cmdline: opts.cmdline ?? want.cmdline,
    failNth: opts.failNth,
  });
  return wrap(bp.k, new Map([...want.groups].map(([id, g]) => [id, g.type])));
}

function bootRmrr(opts: { failNth?: number } = {}): Booted {
  const { desc, file } = loadPlatform('x86-vtd-rmrr');
  return wrap(bootPlatform(desc, { file, failNth: opts.failNth }).k);
}

const unitOf = (dev: Device): IntelIommu => dev.iommu!.iommu_dev!.priv as IntelIommu;
const domainOf = (dev: Device): DmarDomain => dev.iommu_group!.default_domain! as DmarDomain;
const levels = (d: DmarDomain): number => d.pgtable!.layout.levels.length;
const inv = (u: IntelIommu) => ({ ...u.inv, last: undefined });

describe('calculate_psi_aligned_address() (cache.c)', () => {
  it.each([
    // [start, end] -> one aligned power of two of pages holding both ends
    ['one page', 0x1000_0000n, 0x1000_0fffn, 0x1000_0000n, 1n, 0],
    [
      'three pages from an aligned start: rounded up to four',
      0xffff_c000n,
      0xffff_efffn,
      0xffff_c000n,
      4n,
      2,
    ],
    // pfn 0x1000d and 0x1000e differ in bits 0 and 1: the first shared bit above is bit 2
    ['two pages across a 2-page boundary', 0x1000_d000n, 0x1000_efffn, 0x1000_c000n, 4n, 2],
    ['1 GiB, aligned', 1n << 38n, (1n << 38n) + (1n << 30n) - 1n, 1n << 38n, 1n << 18n, 18],
    ['2 GiB', 1n << 38n, (1n << 38n) + (1n << 31n) - 1n, 1n << 38n, 1n << 19n, 19],
    // the empty gather (start ULONG_MAX, end 0): pfn and end pfn share nothing below bit 53
    ['an empty gather', ULONG_MAX, 0n, 0n, 1n << 53n, 53],
  ])('%s', (_what, start, end, addr, pages, mask) => {
    expect(calculate_psi_aligned_address(start, end)).toEqual({ addr, pages, mask });
  });
});

describe.skipIf(!have('x86-q35-vtd-bridge-strict'))('strict DMA domains (x86-q35-vtd-bridge-strict)', () => {
  const M = 'x86-q35-vtd-bridge-strict';

  it('every group gets the type sysfs showed (DMA), a 39-bit second-stage table with 2M and 1G pages', () => {
    const { k, groupTypes } = bootVtd(M);
    const groups = new Set([...k.base.devices].map((d) => d.iommu_group).filter((g) => g));
    expect(new Map([...groups].map((g) => [g!.id, domainTypeSysfs(g!.default_domain!.type)]))).toEqual(
      groupTypes,
    );
    const dids = new Set<number>();
    for (const g of groups) {
      const d = g!.default_domain as DmarDomain;
      expect(d.use_first_level).toBe(false); // legacy mode: ECAP.SMTS clear
      expect(d.pgtable!.cfg.fmt).toBe('INTEL_VTD_SECOND_STAGE');
      // SAGAW bit 1 only: agaw 1, 3 levels; MGAW 39: gaw 39.
      expect([d.agaw, d.gaw, levels(d)]).toEqual([1, 39, 3]);
      // SLLPS 2M|1G: iommu_superpage 2, ORed into the core's 4K.
      expect(d.pgsize_bitmap).toBe(0x1000 | 0x200000 | 0x40000000);
      expect(d.geometry).toEqual({ aperture_start: 0, aperture_end: 2 ** 39 - 1, force_aperture: true });
      // One domain ID on dmar0 each, never 0 or FLPT_DEFAULT_DID (1).
      const [info] = [...d.iommu_array.values()];
      expect(info.did).toBeGreaterThanOrEqual(2);
      dids.add(info.did);
      expect(d.cache_tags.map((t) => [t.unit.iommu.name, t.did])).toEqual([['dmar0', info.did]]);
    }
    expect(dids.size).toBe(groups.size);
  });

  it('a domain no device is attached to is md_domain_init()s: 57 bits, five levels, 4K only', () => {
    const { k, dev } = bootVtd(M);
    const before = pgtableMemory(k).liveAllocations;
    const d = iommu_paging_domain_alloc(k, dev('0000:02:00.0'));
    if (IS_ERR(d)) throw new Error('alloc failed');
    const dd = d as DmarDomain;
    expect([dd.gaw, dd.agaw, levels(dd), dd.pgsize_bitmap]).toEqual([57, 3, 5, 0x1000]);
    expect(dd.geometry?.aperture_end).toBe(2 ** 57 - 1);
    expect(pgtableMemory(k).liveAllocations).toBe(before + 1); // the pgd
    // No tag: a flush reaches no unit.
    const tlb = unitOf(dev('0000:02:00.0')).iommu.iotlb;
    const c = tlb.commands;
    expect(iommu_map(k, dd, 0x10_0000, 0x8000_0000, 0x1000, RW)).toBe(0);
    expect(iommu_unmap(k, dd, 0x10_0000, 0x1000)).toBe(0x1000);
    expect(tlb.commands).toBe(c);
    iommu_domain_free(k, dd);
    expect(pgtableMemory(k).liveAllocations).toBe(before);
  });

  it('map, device write, unmap: the bytes land; one PSI and one wait; then a read fault with the DMAR lines', () => {
    const { k, dev } = bootVtd(M);
    const nic = dev('0000:02:00.0');
    expect(nic.dma_iommu).toBe(true);
    const unit = unitOf(nic);
    const h = dma_map_page_attrs(k, nic, 0x1234_5000, 0x3000, 'bidirectional');
    expect(dma_mapping_error(k, nic, h)).toBe(0);
    // PCI: below 4G first, three pages size-aligned to four.
    expect(h).toBe(0xffff_c000);
    const data = Uint8Array.from({ length: 0x20 }, (_, i) => i + 1);
    const w = dmaWrite(k, nic, h + 0x1ff0, data);
    expect(w.ok && w.phys).toEqual([0x1234_6ff0, 0x1234_7000]);
    expect([...physMem(k).read(0x1234_6ff0, 0x20)]).toEqual([...data]);
    const before = inv(unit);
    const tlb0 = { commands: unit.iommu.iotlb.commands, syncs: unit.iommu.iotlb.syncs };
    expect(unit.iommu.iotlb.cachedPages(domainOf(nic))).toBe(2);

    dma_unmap_page_attrs(k, nic, h, 0x3000, 'bidirectional');
    // intel_iommu_tlb_sync() -> cache_tag_flush_range(): one PSI (mask 2 from 3 pages), one wait.
    expect(unit.inv.last).toEqual([
      {
        type: 'iotlb',
        gran: 'psi',
        did: domainOf(nic).iommu_array.get(0)!.did,
        addr: 0xffff_c000n,
        am: 2,
        ih: 1,
      },
    ]);
    expect(inv(unit)).toEqual({ ...before, psi: before.psi + 1, waits: before.waits + 1 });
    expect(unit.iommu.iotlb.commands - tlb0.commands).toBe(1);
    expect(unit.iommu.iotlb.syncs - tlb0.syncs).toBe(1);
    expect(unit.iommu.iotlb.cachedPages(domainOf(nic))).toBe(0);

    const r = dmaRead(k, nic, h + 0x1234, 4);
    expect(!r.ok && r.fault.reason).toBe('unmapped');
    // dmar_fault(): the status (PPF, record 0), then the record: a read, the page address, reason 6.
    expect(!r.ok && r.fault.log).toEqual([
      'DRHD: handling fault status reg 2',
      '[DMA Read NO_PASID] Request device [02:00.0] fault addr 0xffffd000 [fault reason 0x06] PTE Read access is not set',
    ]);
    expect(k.printk.lines.map((l) => `${l.source}: ${l.message}`)).toContain(
      'DMAR: [DMA Read NO_PASID] Request device [02:00.0] fault addr 0xffffd000 [fault reason 0x06] PTE Read access is not set',
    );
    expect(dmaJson(k).staleIotlbUses).toEqual([]);
  });

  it('an unaligned range grows the PSI mask; 1 GiB is the largest PSI (MAMV 18), 2 GiB falls back to a DSI', () => {
    const { k, dev } = bootVtd(M);
    const nic = dev('0000:02:00.0');
    const d = domainOf(nic);
    const unit = unitOf(nic);
    const did = d.iommu_array.get(0)!.did;

    expect(iommu_map(k, d, 0x1000_d000, 0x8000_0000, 0x2000, RW)).toBe(0);
    expect(iommu_unmap(k, d, 0x1000_d000, 0x2000)).toBe(0x2000);
    expect(unit.inv.last).toEqual([{ type: 'iotlb', gran: 'psi', did, addr: 0x1000_c000n, am: 2, ih: 1 }]);

    // 1G superpages once attached (domain_update_iommu_cap()): a level-3 leaf in the 3-level table.
    const G = 2 ** 30;
    expect(iommu_map(k, d, 2 ** 38, G, G, RW)).toBe(0);
    const steps = d.pgtable!.walkTrace(2 ** 38 + 0x1234).steps;
    expect(steps.map((s) => s.kind)).toEqual(['superpage']);
    expect(iommu_iova_to_phys(k, d, 2 ** 38 + 0x1234)).toBe(G + 0x1234);
    expect(iommu_unmap(k, d, 2 ** 38, G)).toBe(G);
    expect(unit.inv.last).toEqual([{ type: 'iotlb', gran: 'psi', did, addr: 1n << 38n, am: 18, ih: 1 }]);

    const dsi = unit.inv.dsi;
    expect(iommu_map(k, d, 2 ** 38, G, 2 * G, RW)).toBe(0);
    expect(iommu_unmap(k, d, 2 ** 38, 2 * G)).toBe(2 * G);
    expect(unit.inv.last).toEqual([{ type: 'iotlb', gran: 'dsi', did, addr: 0n, am: 0, ih: 0 }]);
    expect(unit.inv.dsi).toBe(dsi + 1);
  });

  it('the domain cannot map past its 39 bits (intel_iommu_map()); the device gets "Access beyond MGAW" there', () => {
    const { k, dev } = bootVtd(M);
    const nic = dev('0000:02:00.0');
    const d = domainOf(nic);
    expect(iommu_map(k, d, 2 ** 39 - 0x1000, 0x8000_0000, 0x2000, RW)).toBe(-14); // -EFAULT
    expect(k.printk.lines.map((l) => l.message)).toContain(
      'intel_iommu_map: iommu width (39) is not sufficient for the mapped address (8000001000)',
    );
    const r = dmaRead(k, nic, 2 ** 39 + 0x123, 4);
    expect(!r.ok && r.fault.reason).toBe('aperture');
    expect(!r.ok && r.fault.log[1]).toBe(
      '[DMA Read NO_PASID] Request device [02:00.0] fault addr 0x8000000000 [fault reason 0x04] Access beyond MGAW',
    );
  });

  it('a device write through a to-device mapping is reason 5; a from-device mapping is readable (R is always set)', () => {
    const { k, dev } = bootVtd(M);
    const nic = dev('0000:02:00.0');
    physMem(k).write(0x2000_0000, bytes(0xaa, 0xbb));
    const ro = dma_map_page_attrs(k, nic, 0x2000_0000, 2, 'to-device');
    expect(dmaRead(k, nic, ro, 2)).toMatchObject({ ok: true, data: bytes(0xaa, 0xbb) });
    const w = dmaWrite(k, nic, ro, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('permission');
    expect(!w.ok && w.fault.log[1]).toBe(
      `[DMA Write NO_PASID] Request device [02:00.0] fault addr 0x${ro.toString(16)} [fault reason 0x05] PTE Write access is not set`,
    );
    expect([...physMem(k).read(0x2000_0000, 2)]).toEqual([0xaa, 0xbb]);
    // __domain_mapping() ORs DMA_FL_PTE_PRESENT (bit 0, DMA_PTE_READ at second stage) into every leaf.
    const wo = dma_map_page_attrs(k, nic, 0x2000_1000, 2, 'from-device');
    expect(dmaRead(k, nic, wo, 2).ok).toBe(true);
  });

  it('behind the conventional bridge the unit sees the bridge: the fault names 00:09.0', () => {
    const { k, dev } = bootVtd(M);
    const e1000 = dev('0000:01:01.0');
    expect(e1000.iommu_group).toBe(dev('0000:00:09.0').iommu_group);
    const r = dmaWrite(k, e1000, 0x5000_0000, bytes(1));
    expect(!r.ok && r.fault.log[1]).toBe(
      '[DMA Write NO_PASID] Request device [00:09.0] fault addr 0x50000000 [fault reason 0x05] PTE Write access is not set',
    );
    // Its context entries: its own ID and the bridge's, both with the group's domain ID.
    const did = domainOf(e1000).iommu_array.get(0)!.did;
    const u = unitOf(e1000);
    expect(u.context.get(1)!.entries.get(0x08)).toBe(did);
    expect(u.context.get(0)!.entries.get(0x48)).toBe(did);
  });

  it('the blocking domain clears the context entry (a context-cache and a DSI flush); DMA then faults with reason 2', () => {
    const { k, dev } = bootVtd(M);
    const nic = dev('0000:02:00.0');
    const unit = unitOf(nic);
    const did = domainOf(nic).iommu_array.get(0)!.did;
    device_release_driver(k, nic);
    const before = inv(unit);
    expect(iommu_device_claim_dma_owner(k, nic, 'vfio')).toBe(0);
    // device_block_translation(): its one alias, cc then DSI, each waited for; the ID is free again.
    expect(inv(unit)).toEqual({ ...before, cc: before.cc + 1, dsi: before.dsi + 1, waits: before.waits + 2 });
    expect(unit.inv.last).toEqual([{ type: 'iotlb', gran: 'dsi', did, addr: 0n, am: 0, ih: 0 }]);
    expect(unit.domain_ids.has(did)).toBe(false);
    const r = dmaRead(k, nic, 0x1000, 4);
    expect(!r.ok && r.fault.reason).toBe('blocked');
    expect(!r.ok && r.fault.log[1]).toBe(
      '[DMA Read NO_PASID] Request device [02:00.0] fault addr 0x1000 [fault reason 0x02] Present bit in context entry is clear',
    );
    iommu_device_release_dma_owner(k, nic);
    // Back in its default domain: attaching costs nothing without caching mode or RWBF.
    expect(inv(unit)).toEqual({ ...before, cc: before.cc + 1, dsi: before.dsi + 1, waits: before.waits + 2 });
    expect(unitOf(nic).context.get(2)!.entries.get(0)).toBe(domainOf(nic).iommu_array.get(0)!.did);
  });

  it("dmar_fault()'s rate limit: three checks a fault, ten a burst, then the suppressed count after 5 s", () => {
    const { k, dev } = bootVtd(M);
    const nic = dev('0000:02:00.0');
    const logs = [1, 2, 3, 4, 5].map((i) => {
      const r = dmaRead(k, nic, i * 0x1000, 4);
      return r.ok ? null : r.fault.log;
    });
    expect(logs.map((l) => l?.length)).toEqual([2, 2, 2, 1, 0]);
    expect(logs[3]).toEqual(['DRHD: handling fault status reg 2']);
    // Fault 4 missed two checks, fault 5 three.
    k.clock.advance(5001);
    const r = dmaRead(k, nic, 0x6000, 4);
    expect(!r.ok && r.fault.log).toEqual([
      'dmar_fault: 5 callbacks suppressed',
      'DRHD: handling fault status reg 2',
      '[DMA Read NO_PASID] Request device [02:00.0] fault addr 0x6000 [fault reason 0x06] PTE Read access is not set',
    ]);
    // Every fault was recorded by the unit, printed or not.
    expect(unitOf(nic).iommu.faults).toHaveLength(6);
  });
});

describe.skipIf(!have('x86-q35-vtd-switch'))('lazy DMA domains (x86-q35-vtd-switch, DMA-FQ)', () => {
  it('unmap sends nothing; the IOTLB keeps the page until the flush queue flushes the domain with one DSI', () => {
    const { k, dev, groupTypes } = bootVtd('x86-q35-vtd-switch');
    const nic = dev('0000:03:00.0');
    const g = nic.iommu_group!;
    expect(domainTypeSysfs(g.default_domain!.type)).toBe(groupTypes.get(g.id));
    expect(groupTypes.get(g.id)).toBe('DMA-FQ');
    const unit = unitOf(nic);
    dma_set_mask_and_coherent(nic, 64);
    const h = dma_map_page_attrs(k, nic, 0x3000_0000, 0x1000, 'bidirectional');
    expect(dmaWrite(k, nic, h, bytes(1)).ok).toBe(true);
    const before = inv(unit);
    dma_unmap_page_attrs(k, nic, h, 0x1000, 'bidirectional');
    expect(inv(unit)).toEqual(before);
    const late = dmaWrite(k, nic, h, bytes(2));
    expect(late.ok).toBe(true);
    expect(dmaJson(k).staleIotlbUses).toMatchObject([
      { device: '0000:03:00.0', lazyWindow: true, tablePhys: null },
    ]);
    // IOVA_FQ_TIMEOUT: fq_flush_timeout() -> intel_flush_iotlb_all() -> cache_tag_flush_all().
    k.clock.advance(10);
    expect(inv(unit)).toEqual({ ...before, dsi: before.dsi + 1, waits: before.waits + 1 });
    const after = dmaWrite(k, nic, h, bytes(3));
    expect(!after.ok && after.fault.reason).toBe('unmapped');
    expect(physMem(k).read(0x3000_0000, 1)[0]).toBe(2);
  });

  it.skipIf(!have('x86-q35-vtd-multifunction-default'))(
    'with no command line (Debian turns VT-d on) the multifunction machine is DMA-FQ too, second stage',
    () => {
      const { k, groupTypes } = bootVtd('x86-q35-vtd-multifunction-default');
      const groups = new Set([...k.base.devices].map((d) => d.iommu_group).filter((g) => g));
      for (const g of groups) {
        expect(domainTypeSysfs(g!.default_domain!.type)).toBe(groupTypes.get(g!.id));
        expect((g!.default_domain as DmarDomain).pgtable!.cfg.fmt).toBe('INTEL_VTD_SECOND_STAGE');
      }
      expect(groups.size).toBe(groupTypes.size);
    },
  );
});

describe.skipIf(!have('x86-q35-vtd-multifunction-passthrough'))('passthrough (iommu.passthrough=1)', () => {
  it('every group is identity as sysfs showed; DMA addresses are physical; context entries are pass-through', () => {
    const { k, dev, groupTypes } = bootVtd('x86-q35-vtd-multifunction-passthrough');
    const groups = new Set([...k.base.devices].map((d) => d.iommu_group).filter((g) => g));
    expect(new Map([...groups].map((g) => [g!.id, domainTypeSysfs(g!.default_domain!.type)]))).toEqual(
      groupTypes,
    );
    const nic = dev('0000:01:00.0');
    expect(nic.dma_iommu).toBe(false);
    const w = dmaWrite(k, nic, 0x3456_7890, bytes(7, 8));
    expect(w.ok && w.phys).toEqual([0x3456_7890]);
    expect(dmaJson(k).faults).toEqual([]);
    // context_setup_pass_through(): FLPT_DEFAULT_DID, and no paging domain took an ID.
    const u = unitOf(nic);
    expect(u.context.get(1)!.entries.get(0)).toBe(1);
    expect([...u.domain_ids]).toEqual([0, 1]);
    expect(u.iommu.iotlb.commands).toBe(0);
  });
});

describe('RMRR identity mappings (x86-vtd-rmrr)', () => {
  it("each device's RMRR is mapped 1:1 in its DMA domain before the attach, in 4K pages; the other's is not", () => {
    const { k, dev } = bootRmrr();
    const xhci = dev('0000:00:14.0');
    const nic = dev('0000:00:19.0');
    for (const [d, lo, hi] of [
      [xhci, 0x3e2e_0000, 0x3e2f_f000],
      [nic, 0x3f00_0000, 0x3f7f_f000],
    ] as const) {
      const dom = domainOf(d);
      expect(iommu_iova_to_phys(k, dom, lo)).toBe(lo);
      expect(iommu_iova_to_phys(k, dom, hi + 0xfff)).toBe(hi + 0xfff);
      expect(iommu_iova_to_phys(k, dom, lo - 0x1000)).toBe(0);
      // Mapped while the domain had no superpages (iommu_superpage is set at the first attach).
      expect(dom.pgtable!.walkTrace(lo).steps.at(-1)!.kind).toBe('page');
      // The IOVA allocator keeps the region out.
      expect(iova_ranges(dom.iova_cookie!.iovad!)).toContainEqual([lo / 4096, hi / 4096]);
    }
    const w = dmaWrite(k, nic, 0x3f00_0100, bytes(9));
    expect(w.ok && w.phys).toEqual([0x3f00_0100]);
    const x = dmaWrite(k, xhci, 0x3f00_0100, bytes(9));
    expect(!x.ok && x.fault.log[1]).toBe(
      '[DMA Write NO_PASID] Request device [00:14.0] fault addr 0x3f000000 [fault reason 0x05] PTE Write access is not set',
    );
  });

  it('the attach drops the two levels the 39-bit unit cannot walk: the 5-level tables become 3-level, two pages freed', () => {
    const { k, dev } = bootRmrr();
    const nic = domainOf(dev('0000:00:19.0'));
    // 2048 pages: four level-1 tables, one level-2, the level-3 pgd; the 57-bit top two are gone.
    expect([levels(nic), nic.pgtable!.tableCount, nic.agaw]).toEqual([3, 6, 1]);
    expect(nic.pgtable!.walkTrace(0x3f00_0000).steps.map((s) => s.level)).toEqual([3, 2, 1]);
    const xhci = domainOf(dev('0000:00:14.0'));
    expect(xhci.pgtable!.tableCount).toBe(3);
    // Pool: the host bridge's empty pgd, 3 and 6.
    expect(pgtableMemory(k).liveAllocations).toBe(10);
    expect(nic.pgsize_bitmap).toBe(0x40201000);
  });

  it('fail-nth over boot, DMA map/write/unmap and teardown: nothing leaks, no invariant breaks', () => {
    const run = (failNth?: number) => {
      const { k } = bootRmrr({ failNth });
      // A failed allocation may leave the NIC unenumerated or without its IOMMU.
      const nic = [...k.base.devices].find((x) => x.name === '0000:00:19.0');
      if (nic?.dma_iommu) {
        const h = dma_map_page_attrs(k, nic, 0x1000_0000, 0x2000, 'bidirectional');
        if (!dma_mapping_error(k, nic, h)) {
          dmaWrite(k, nic, h, bytes(1, 2, 3));
          dma_unmap_page_attrs(k, nic, h, 0x2000, 'bidirectional');
        }
      }
      if (nic) dmaWrite(k, nic, 0x3f00_0000, bytes(4));
      const violations = checkInvariants(k).filter((v) => !v.knownBug);
      const attempts = k.alloc.attempts;
      const injected = k.alloc.injected;
      teardown(k);
      return { attempts, injected, violations, leaks: leakReport(k).filter((l) => !l.knownBug) };
    };
    const base = run();
    expect(base.leaks).toEqual([]);
    expect(base.violations).toEqual([]);
    expect(base.attempts).toBeGreaterThan(30);
    let injected = 0;
    for (let n = 1; n <= base.attempts; n++) {
      const r = run(n);
      if (r.injected) injected++;
      expect(r.leaks, `fail-nth ${n}`).toEqual([]);
      expect(r.violations, `fail-nth ${n}`).toEqual([]);
    }
    expect(injected).toBe(base.attempts);
  });
});

/** A q35-like machine without DMAR, for VT-d units with other registers (brought up after boot). */
function bootWithUnit(cap: bigint, ecap: bigint, cmdline = ''): Booted {
  const platform = parsePlatform(
    {
      name: 'vtd-regs',
      arch: 'x86_64',
      cmdline,
      pci: {
        root: 0,
        functions: [
          { bdf: '00:00.0', type: 'conventional', vendor: '8086', device: '29c0', class: '060000' },
          { bdf: '00:03.0', type: 'rc-endpoint', vendor: '8086', device: '10d3', class: '020000' },
        ],
      },
      drivers: [],
    },
    'vtd-regs.json',
  );
  const b = wrap(bootPlatform(platform, { file: 'vtd-regs.json' }).k);
  const table: DmarTable = {
    haw: 48,
    drhds: [
      {
        segment: 0,
        reg_base_addr: 0xfed90000n,
        include_all: true,
        devices: [],
        passThrough: true,
        translationPreEnabled: false,
        cap,
        ecap,
      },
    ],
    rmrrs: [],
  };
  expect(intel_iommu_init(b.k, table)).toBe(0);
  return b;
}

const bit = (n: number): bigint => 1n << BigInt(n);
/** QEMU's cap with aw-bits=48: SAGAW 39|48, MGAW 48; PSI, MAMV 18, 2M|1G, ND 6. */
const CAP48 = (6n << 0n) | (0x6n << 8n) | (47n << 16n) | (3n << 34n) | bit(39) | (18n << 48n);
/** QI, PT. */
const ECAP_LEGACY = bit(1) | bit(6);
/** Scalable mode with both stages: SMTS, SLTS, FLTS. */
const ECAP_SM = ECAP_LEGACY | bit(43) | bit(46) | bit(47);

describe('other unit registers (brought up after boot)', () => {
  it('scalable mode with FLTS (intel_iommu=sm_on): DMA domains are first stage, 4-level, aperture gaw - 1 bits', () => {
    const { k, dev } = bootWithUnit(CAP48 | bit(56) /* FL1GP */, ECAP_SM, 'intel_iommu=sm_on');
    const nic = dev('0000:00:03.0');
    const d = domainOf(nic);
    expect(d.use_first_level).toBe(true);
    expect(d.pgtable!.cfg.fmt).toBe('INTEL_VTD_FIRST_STAGE');
    // First stage 4-level (BIT(2)) & SAGAW: agaw 2; gaw 48 (MGAW 48).
    expect([d.agaw, d.gaw, levels(d)]).toEqual([2, 48, 4]);
    expect(d.geometry?.aperture_end).toBe(2 ** 47 - 1);
    expect(d.pgsize_bitmap).toBe(0x40201000);
    // Unmanaged domains stay second stage (first_level_by_default()).
    const um = iommu_paging_domain_alloc(k, nic) as DmarDomain;
    expect(um.use_first_level).toBe(false);
    iommu_domain_free(k, um);
    // Invalidation is PASID-based: a page-selective-within-PASID, then all of the PASID.
    const unit = unitOf(nic);
    expect(iommu_map(k, d, 0x10_0000, 0x8000_0000, 0x3000, RW)).toBe(0);
    expect(dmaWrite(k, nic, 0x10_1000, bytes(5)).ok).toBe(true);
    expect(physMem(k).read(0x8000_1000, 1)[0]).toBe(5);
    iommu_unmap(k, d, 0x10_0000, 0x3000);
    const did = d.iommu_array.get(0)!.did;
    expect(unit.inv.last).toEqual([{ type: 'piotlb', did, pasid: 0, addr: 0x10_0000n, npages: 4n, ih: 1 }]);
    d.ops!.flush_iotlb_all!(k, d);
    expect(unit.inv.last).toEqual([{ type: 'piotlb', did, pasid: 0, addr: 0n, npages: ULONG_MAX, ih: 0 }]);
  });

  it('the same unit without sm_on (the Debian default) is legacy: second stage, 48-bit tables, aperture MGAW', () => {
    const { dev } = bootWithUnit(CAP48 | bit(56), ECAP_SM);
    const d = domainOf(dev('0000:00:03.0'));
    expect(d.use_first_level).toBe(false);
    expect([d.agaw, d.gaw, levels(d)]).toEqual([2, 48, 4]);
    expect(d.geometry?.aperture_end).toBe(2 ** 48 - 1);
  });

  it('caching mode: every map sends a PSI (iotlb_sync_map), every context entry a context-cache flush and a DSI', () => {
    const { k, dev } = bootWithUnit(CAP48 | bit(7) /* CM */, ECAP_LEGACY);
    const nic = dev('0000:00:03.0');
    const unit = unitOf(nic);
    // Boot attached two groups (host bridge, NIC): one context entry each, flushed as non-present was cached.
    expect([unit.inv.cc, unit.inv.dsi]).toEqual([2, 2]);
    const d = domainOf(nic);
    const before = inv(unit);
    expect(iommu_map(k, d, 0x20_0000, 0x8000_0000, 0x1000, RW)).toBe(0);
    expect(inv(unit)).toEqual({ ...before, psi: before.psi + 1, waits: before.waits + 1 });
    expect(unit.inv.last).toMatchObject([{ gran: 'psi', addr: 0x20_0000n, am: 0 }]);
  });

  it('RWBF without caching mode: a map flushes the write buffer instead', () => {
    const { k, dev } = bootWithUnit(CAP48 | bit(4) /* RWBF */, ECAP_LEGACY);
    const nic = dev('0000:00:03.0');
    const unit = unitOf(nic);
    const before = inv(unit);
    expect(iommu_map(k, domainOf(nic), 0x20_0000, 0x8000_0000, 0x1000, RW)).toBe(0);
    expect(inv(unit)).toEqual({ ...before, wbf: before.wbf + 1 });
  });

  it('no PSI capability: every range flush is a DSI; no QI: "Using Register based invalidation"', () => {
    const { k, dev } = bootWithUnit(CAP48 & ~bit(39), bit(6));
    expect(k.printk.lines.map((l) => `${l.source}: ${l.message}`)).toContain(
      'DMAR: dmar0: Using Register based invalidation',
    );
    const nic = dev('0000:00:03.0');
    const unit = unitOf(nic);
    const d = domainOf(nic);
    iommu_map(k, d, 0x20_0000, 0x8000_0000, 0x1000, RW);
    iommu_unmap(k, d, 0x20_0000, 0x1000);
    expect(unit.inv.last).toMatchObject([{ gran: 'dsi' }]);
  });

  it('intel_iommu=sp_off: no superpages, 4K only after the attach', () => {
    const { dev } = bootWithUnit(CAP48, ECAP_LEGACY, 'intel_iommu=sp_off');
    const d = domainOf(dev('0000:00:03.0'));
    expect([d.iommu_superpage, d.pgsize_bitmap]).toEqual([0, 0x1000]);
  });
});

describe('the boot log', () => {
  it.skipIf(!have('x86-q35-vtd-switch'))(
    'prints the unit line and the invalidation interface as the ground truth did',
    () => {
      const dir = join(gt, 'x86-q35-vtd-switch');
      const want = parseExpected(join(dir, 'expected.txt'));
      const { desc, file, firmware } = loadInputs([join(dir, 'DMAR.dat'), join(dir, 'lspci.txt')], {
        hypervisor: true,
      });
      const platform = parsePlatform(
        { ...JSON.parse(JSON.stringify(desc)), bind: undefined, drivers: q35Drivers },
        file,
      );
      const r = boot(platform, { profile: 'v6.12', cmdline: want.cmdline, file, firmware });
      expect(r.log).toContain('DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260206 ecap f00f4a');
      expect(r.log).toContain('DMAR: dmar0: Using Queued invalidation');
    },
  );
});

describe('unit registers from platform files (DMAR does not carry them)', () => {
  it('a dmar DRHD with cap/ecap boots as that unit: scalable mode with FLTS makes DMA domains first stage', () => {
    const platform = parsePlatform(
      {
        name: 'vtd-sm',
        arch: 'x86_64',
        cmdline: 'intel_iommu=on,sm_on',
        pci: {
          root: 0,
          functions: [
            { bdf: '00:00.0', type: 'conventional', vendor: '8086', device: '29c0', class: '060000' },
            { bdf: '00:03.0', type: 'rc-endpoint', vendor: '8086', device: '10d3', class: '020000' },
          ],
        },
        dmar: {
          haw: 48,
          drhds: [
            {
              base: '0xfed90000',
              includePciAll: true,
              ver: 0x10,
              cap: '0x' + (CAP48 | bit(56)).toString(16),
              ecap: '0x' + ECAP_SM.toString(16),
            },
          ],
        },
        drivers: [],
      },
      'vtd-sm.json',
    );
    const { k, dev } = wrap(bootPlatform(platform, { file: 'vtd-sm.json', profile: 'v6.12' }).k);
    const nic = dev('0000:00:03.0');
    expect(unitOf(nic).regs).toEqual({ ver: 0x10, cap: CAP48 | bit(56), ecap: ECAP_SM });
    expect(k.printk.lines.map((l) => `${l.source}: ${l.message}`)).toContain(
      `DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap ${(CAP48 | bit(56)).toString(16)} ecap ${ECAP_SM.toString(16)}`,
    );
    const d = domainOf(nic);
    expect(d.use_first_level).toBe(true);
    expect(d.pgtable!.cfg.fmt).toBe('INTEL_VTD_FIRST_STAGE');
  });

  it('dmarUnits give a binary DMAR’s unit its registers: without ECAP.PT, iommu.passthrough=1 still gets DMA domains', () => {
    const dir = join(gt, 'x86-q35-vtd-multifunction-passthrough');
    const want = parseExpected(join(dir, 'expected.txt'));
    const { desc, file, firmware } = loadInputs([join(dir, 'DMAR.dat'), join(dir, 'lspci.txt')], {
      hypervisor: true,
    });
    const bootWith = (dmarUnits?: unknown) =>
      wrap(
        bootPlatform(
          parsePlatform(
            { ...JSON.parse(JSON.stringify(desc)), bind: undefined, drivers: q35Drivers, dmarUnits },
            file,
          ),
          { file, firmware, profile: 'v6.12', cmdline: want.cmdline },
        ).k,
      );
    // As the machine booted: identity everywhere (the ground truth).
    expect(domainTypeSysfs(domainOf(bootWith().dev('0000:00:07.0')).type)).toBe('identity');
    // The same unit without PT: device_def_domain_type() says DMA for every device.
    const b = bootWith([{ base: '0xfed90000', ecap: '0x' + (ECAP_LEGACY & ~bit(6)).toString(16) }]);
    expect(unitOf(b.dev('0000:00:07.0')).regs.ecap).toBe(ECAP_LEGACY & ~bit(6));
    for (const name of ['0000:00:07.0', '0000:01:00.0'])
      expect(domainTypeSysfs(domainOf(b.dev(name)).type)).toMatch(/^DMA/);
    // A base that names no DRHD is an input error naming the field.
    expect(() => bootWith([{ base: '0xfed80000', ecap: '0x0' }])).toThrow(
      /dmarUnits\[0\]\.base.*0xfed80000 is not the register base of a DRHD/,
    );
  });
});
