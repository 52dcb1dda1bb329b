// SPDX-License-Identifier: GPL-2.0-only
// virtio-iommu domains that translate, on the QEMU machines of
// shared/groundtruth: domains finalised from the device's config space at
// their first attach (viommu_domain_finalise()), ATTACH/MAP/UNMAP requests
// on the request queue and when the queue is kicked (viommu_sync_req()), the
// device (QEMU 7.2's virtio-iommu) translating a device's DMA with its own
// mapping tree and reporting faults on the event queue, printed by
// viommu_fault_handler(); identity through VIRTIO_IOMMU_F_BYPASS_CONFIG or
// identity mappings; what a VMM's other config values do; fail-nth.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInputs } from '../../src/api.js';
import { parsePlatform } from '../../src/platform/load.js';
import { bootPlatform } from '../../src/platform/boot.js';
import type { Device } from '../../src/base/device.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { IommuDevice } from '../../src/iommu/iommu-device.js';
import {
  DMA_MAPPING_ERROR,
  dma_map_page_attrs,
  dma_map_sg_attrs,
  dma_mapping_error,
  dma_unmap_page_attrs,
} from '../../src/dma/mapping.js';
import { sg_from_buffers } from '../../src/dma/scatterlist.js';
import { iova_ranges } from '../../src/dma/iova.js';
import { dmaRead, dmaWrite } from '../../src/dma/device-dma.js';
import { physMem } from '../../src/mm/phys-mem.js';
import { dmaJson } from '../../src/report/dma-report.js';
import { iommu_iova_to_phys, iommu_map, iommu_unmap } from '../../src/iommu/map.js';
import { iommu_paging_domain_alloc, iommu_domain_free } from '../../src/iommu/domain-alloc.js';
import { iommu_attach_group, iommu_detach_group } from '../../src/iommu/attach.js';
import { iommu_device_claim_dma_owner, iommu_device_release_dma_owner } from '../../src/iommu/ownership.js';
import { IOMMU_DOMAIN_DMA, IOMMU_DOMAIN_DMA_FQ, IOMMU_DOMAIN_IDENTITY } from '../../src/iommu/domain.js';
import { IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/prot.js';
import { device_release_driver, deferred_probe_timeout } from '../../src/base/dd.js';
import { driver_register } from '../../src/base/driver.js';
import { checkInvariants } from '../../src/checker/invariants.js';
import { leakReport, teardown } from '../../src/checker/teardown.js';
import { EINVAL, ENOSPC, IS_ERR } from '../../src/kernel/errno.js';
import {
  type ViommuProbeInfo,
  viommuDevice,
  viommuDomainInfo,
  viommuRequestStats,
  virtioIommuDriver,
} from '../../src/drivers/virtio-iommu/virtio-iommu.js';
import {
  type ViommuDeviceConfig,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_S_INVAL,
  qemuViommuConfig,
} from '../../src/drivers/virtio-iommu/vmm-device.js';
import { IntervalTree, type IntervalNode } from '../../src/drivers/virtio-iommu/interval-tree.js';
import { expectCleanUnwinds, failNthPoints, finishRun } from '../support/fail-nth.js';

const gt = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));
const X86 = join(gt, 'x86-q35-virtio-iommu-switch-strict');
const ARM_ACPI = join(gt, 'arm64-virt-virtio-iommu-acpi-bridge');
const ARM_DT = join(gt, 'arm64-virt-virtio-iommu-dt-multifunction-passthrough');

const bytes = (...v: number[]) => Uint8Array.from(v);

/** QEMU's reserved MSI windows, as its PROBE replies give them (groundtruth READMEs). */
const X86_MSI = { start: '0xfee00000', end: '0xfeefffff', type: 'msi' };
const ARM_MSI = { start: '0x8020000', end: '0x8020fff', type: 'msi' };

/** The Debian guests' drivers (as test/scenario/groundtruth-*.test.ts load them). */
const x86Drivers = (viommu: boolean) => [
  { name: 'pcieport', bus: 'pci', load: 'builtin' },
  { name: 'virtio-pci', bus: 'pci', load: 'builtin' },
  {
    name: 'agpgart-intel',
    bus: 'pci',
    load: 'builtin',
    ids: [{ vendor: '8086', device: '29c0' }],
    probe: '-ENODEV',
  },
  ...(viommu ? [{ name: 'virtio_iommu', bus: 'virtio', load: 'module', probeResv: [X86_MSI] }] : []),
  { name: 'e1000e', bus: 'pci', load: 'module', ids: [{ vendor: '8086', device: '10d3' }] },
  { name: 'e1000', bus: 'pci', load: 'module', ids: [{ vendor: '8086', device: '100e' }] },
];
const armAcpiDrivers = [
  { name: 'pcieport', bus: 'pci', load: 'builtin' },
  { name: 'shpchp', bus: 'pci', load: 'builtin', ids: [{ vendor: '1b36', device: '0001' }] },
  { name: 'virtio-pci', bus: 'pci', load: 'builtin' },
  { name: 'virtio_iommu', bus: 'virtio', load: 'module', probeResv: [ARM_MSI] },
  { name: 'e1000e', bus: 'pci', load: 'module', ids: [{ vendor: '8086', device: '10d3' }] },
  { name: 'e1000', bus: 'pci', load: 'module', ids: [{ vendor: '8086', device: '100e' }] },
];
const armDtDrivers = (viommu: boolean) => [
  { name: 'pcieport', bus: 'pci', load: 'builtin' },
  { name: 'virtio-pci', bus: 'pci', load: 'builtin' },
  ...(viommu ? [{ name: 'virtio_iommu', bus: 'virtio', load: 'module', probeResv: [ARM_MSI] }] : []),
  { name: 'e1000e', bus: 'pci', load: 'module', ids: [{ vendor: '8086', device: '10d3' }] },
];

interface Booted {
  readonly k: Kernel;
  dev(name: string): Device;
  /** The virtio-iommu instance ("0000:00:01.0"). */
  readonly viommu: IommuDevice | null;
}

function boot(
  dir: string,
  inputs: string[],
  drivers: unknown[],
  opts: { cmdline?: string; failNth?: number; deferredProbeTimeout?: boolean } = {},
): Booted {
  const { desc, file, firmware } = loadInputs(
    inputs.map((i) => join(dir, i)),
    { hypervisor: dir === X86 },
  );
  const platform = parsePlatform({ ...JSON.parse(JSON.stringify(desc)), bind: undefined, drivers }, file);
  const { k } = bootPlatform(platform, {
    file,
    firmware,
    profile: 'v6.12',
    cmdline: opts.cmdline ?? '',
    failNth: opts.failNth,
    deferredProbeTimeout: opts.deferredProbeTimeout,
  });
  return {
    k,
    dev(name) {
      const d = [...k.base.devices].find((x) => x.name === name);
      if (!d) throw new Error(`no device ${name}`);
      return d;
    },
    get viommu() {
      return k.iommu.device_list.find((i) => i.name === '0000:00:01.0') ?? null;
    },
  };
}

const bootX86 = (opts: { cmdline?: string; failNth?: number } = {}) =>
  boot(X86, ['VIOT.dat', 'lspci.txt'], x86Drivers(true), { cmdline: 'iommu.strict=1', ...opts });

/**
 * The x86 machine with the virtio-iommu module inserted by hand, its device
 * offering `cfg` instead of QEMU 7.2's defaults (what insmod does while the
 * clients wait in deferred probe).
 */
function bootX86With(cfg: Partial<ViommuDeviceConfig>, cmdline = 'iommu.strict=1'): Booted {
  const b = boot(X86, ['VIOT.dat', 'lspci.txt'], x86Drivers(false), { cmdline, deferredProbeTimeout: false });
  const probe: ViommuProbeInfo = { resv: [{ start: 0xfee00000n, end: 0xfeefffffn, type: 'msi' }] };
  expect(driver_register(b.k, virtioIommuDriver(b.k, probe, cfg))).toBe(0);
  b.k.runDeferredProbe();
  deferred_probe_timeout(b.k);
  return b;
}

/** The kernel's log lines for one source at one level. */
const logOf = (k: Kernel, source: string, level = 'err') =>
  k.printk.lines.filter((l) => l.source === source && l.level === level).map((l) => l.message);

/** The endpoint ID a PCI function's DMA carries (its requester ID; no bridges in the way here). */
const rid = (bdf: string) => {
  const [, bus, dev, fn] = /^0000:([0-9a-f]{2}):([0-9a-f]{2})\.(\d)$/.exec(bdf)!;
  return (parseInt(bus, 16) << 8) | (parseInt(dev, 16) << 3) | Number(fn);
};

describe.skipIf(!existsSync(X86))('virtio-iommu on QEMU q35 (VIOT), iommu.strict=1', () => {
  it('probe reads the config space as Linux printed it; each group gets a domain ID and every endpoint is ATTACHed to it', () => {
    const { k, viommu } = bootX86();
    // viommu_probe()'s two dev_info() lines, as the guest printed them.
    const want = readFileSync(join(X86, 'expected.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('K virtio_iommu virtio0: '))
      .map((l) => l.slice('K virtio_iommu virtio0: '.length));
    expect(want).toHaveLength(2);
    expect(logOf(k, 'virtio0', 'info')).toEqual(want);
    const vmm = viommuDevice(viommu!)!;
    const endpoints = [...k.base.devices].filter((d) => d.iommu?.iommu_dev === viommu);
    // The nine functions the guest linked to 0000:00:01.0: one PROBE (fwspec->ids[0]) and one ATTACH each.
    expect(endpoints).toHaveLength(9);
    expect(viommuRequestStats(viommu!)).toMatchObject({ probe: 9, attach: 9, detach: 0, map: 0, unmap: 0 });
    // ida_alloc_range() from domain_range.start (0): the lowest free IDs, one per group's default domain.
    const groups = [...new Set(endpoints.map((d) => d.iommu_group!))];
    const ids = groups.map((g) => viommuDomainInfo(g.domain!)!.id);
    expect([...ids].sort()).toEqual([0, 1, 2, 3]);
    expect(vmm.domainIds()).toEqual([0, 1, 2, 3]);
    for (const d of endpoints) {
      const dom = d.iommu_group!.domain!;
      expect(dom.type).toBe(IOMMU_DOMAIN_DMA);
      expect(vmm.endpointDomain(rid(d.name))).toEqual({
        id: viommuDomainInfo(dom)!.id,
        bypass: false,
        mappings: 0,
      });
      // viommu_domain_finalise(): page sizes and input range from the config space.
      expect(dom.pgsize_bitmap).toBe(Number(0xfffffffffffff000n));
      expect(dom.geometry).toEqual({
        aperture_start: 0,
        aperture_end: Number(2n ** 64n - 1n),
        force_aperture: true,
      });
    }
  });

  it('dma_map_page: one MAP kicked by iotlb_sync_map, the bytes land; strict unmap: one UNMAP and a sync; then a page fault', () => {
    const { k, dev, viommu } = bootX86();
    const rng = dev('0000:05:00.0');
    const domain = rng.iommu_group!.default_domain!;
    const stats = viommuRequestStats(viommu!)!;
    const tlb = viommu!.iotlb;
    const before = { ...stats, commands: tlb.commands, syncs: tlb.syncs, pages: tlb.pages };

    const h = dma_map_page_attrs(k, rng, 0x8000_1000, 0x2000, 'bidirectional');
    expect(dma_mapping_error(k, rng, h)).toBe(0);
    // 32-bit mask, top down below 4G.
    expect(h).toBe(0xffff_e000);
    // iommu_pgsize(): 4K pages (the buffer is only 4K aligned), both in one map_pages call: one MAP.
    expect(stats.map - before.map).toBe(1);
    expect(stats.kicks - before.kicks).toBe(1);
    expect(tlb.syncs - before.syncs).toBe(1);
    expect(iommu_iova_to_phys(k, domain, h + 0x1234)).toBe(0x8000_2234);
    expect(viommuDevice(viommu!)!.endpointDomain(0x500)!.mappings).toBe(1);

    const w = dmaWrite(k, rng, h + 0xff8, bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    expect(w.ok && w.phys).toEqual([0x8000_1ff8, 0x8000_2000]);
    expect([...physMem(k).read(0x8000_1ff8, 10)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    dma_unmap_page_attrs(k, rng, h, 0x2000, 'bidirectional');
    // One UNMAP for the whole mapping (an invalidation command covering two 4K granules), one sync.
    expect(stats.unmap - before.unmap).toBe(1);
    expect(tlb.commands - before.commands).toBe(1);
    expect(tlb.pages - before.pages).toBe(2);
    expect(tlb.syncs - before.syncs).toBe(2);
    expect(iommu_iova_to_phys(k, domain, h)).toBe(0);
    expect(viommuDevice(viommu!)!.endpointDomain(0x500)!.mappings).toBe(0);

    const late = dmaWrite(k, rng, h + 8, bytes(0xee));
    expect(!late.ok && late.fault.reason).toBe('unmapped');
    // VIRTIO_IOMMU_FAULT_R_MAPPING with only F_ADDRESS: no R/W letters; endpoint 0x500 = 1280.
    const line = `page fault from EP 1280 at 0x${(h + 8).toString(16)} []`;
    expect(!late.ok && late.fault.log).toEqual([line]);
    expect(logOf(k, 'virtio0')).toEqual([line]);
    expect(physMem(k).read(0x8000_1008, 1)[0]).toBe(0); // the late write landed nowhere
    expect(dmaJson(k).staleIotlbUses).toEqual([]);
  });

  it('permission faults: [W] for a device write through a to-device mapping, [R] for a read through a from-device one', () => {
    const { k, dev } = bootX86();
    const nic = dev('0000:03:00.0');
    physMem(k).write(0x9000_0000, bytes(0xaa, 0xbb));
    const h = dma_map_page_attrs(k, nic, 0x9000_0000, 2, 'to-device');
    expect(dma_mapping_error(k, nic, h)).toBe(0);
    const r = dmaRead(k, nic, h, 2);
    expect(r.ok && [...r.data]).toEqual([0xaa, 0xbb]);
    const w = dmaWrite(k, nic, h, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('permission');
    expect(!w.ok && w.fault.log).toEqual([`page fault from EP ${0x300} at 0x${h.toString(16)} [W]`]);
    expect([...physMem(k).read(0x9000_0000, 2)]).toEqual([0xaa, 0xbb]);

    const h2 = dma_map_page_attrs(k, nic, 0x9100_0000, 0x1000, 'from-device');
    expect(dmaWrite(k, nic, h2, bytes(5)).ok).toBe(true);
    const r2 = dmaRead(k, nic, h2 + 0x10, 1);
    expect(!r2.ok && r2.fault.log).toEqual([`page fault from EP 768 at 0x${(h2 + 0x10).toString(16)} [R]`]);
  });

  it('the MSI window the device reported in PROBE passes through untranslated, and iommu-dma never hands it out', () => {
    const { k, dev } = bootX86();
    const rng = dev('0000:05:00.0');
    const w = dmaWrite(k, rng, 0xfee0_0004, bytes(0x41));
    expect(w.ok && w.phys).toEqual([0xfee0_0004]);
    // Just below it: an IOVA nobody mapped.
    const below = dmaWrite(k, rng, 0xfedf_f000, bytes(1));
    expect(!below.ok && below.fault.reason).toBe('unmapped');
    // iova_reserve_iommu_regions(): a hardware MSI window is kept out of the IOVA space (pfns 0xfee00-0xfeeff).
    const iovad = rng.iommu_group!.default_domain!.iova_cookie!.iovad!;
    expect(iovad.granule).toBe(4096);
    expect(iova_ranges(iovad)).toEqual([[0xfee00, 0xfeeff]]);
  });

  it('iommu_map in pieces: one MAP per map_pages call, one UNMAP per unmap_pages call, one sync per iommu_map/iommu_unmap', () => {
    const { k, dev, viommu } = bootX86();
    const rng = dev('0000:05:00.0');
    device_release_driver(k, rng);
    expect(iommu_device_claim_dma_owner(k, rng, 'vfio')).toBe(0);
    // virtio-iommu 6.12 has no blocked domain: the blocking domain is an empty paging domain with its own ID.
    const blocking = rng.iommu_group!.blocking_domain!;
    expect(rng.iommu_group!.domain).toBe(blocking);
    expect(viommuDomainInfo(blocking)!.id).toBe(4);
    const blocked = dmaRead(k, rng, 0x1000, 4);
    expect(!blocked.ok && blocked.fault.log).toEqual(['page fault from EP 1280 at 0x1000 []']);

    const dom = iommu_paging_domain_alloc(k, rng);
    if (IS_ERR(dom)) throw new Error('no domain');
    // Not finalised yet: no map flags, so viommu_map_pages() refuses; __iommu_map()'s unwind then
    // calls iotlb_sync, and viommu_iotlb_sync() dereferences the still-NULL vdomain->viommu. (iommufd
    // attaches such domains before mapping them: its immediate_attach.)
    expect(iommu_map(k, dom, 0x10000, 0x8001_0000, 0x1000, IOMMU_READ)).toBe(-EINVAL);
    expect(k.printk.warnings.map((w) => w.site)).toEqual(['viommu_iotlb_sync']);
    expect(iommu_attach_group(k, dom, rng.iommu_group!)).toBe(0);
    expect(viommuDomainInfo(dom)!.id).toBe(5);
    const stats = viommuRequestStats(viommu!)!;
    const s0 = {
      ...stats,
      syncs: viommu!.iotlb.syncs,
      commands: viommu!.iotlb.commands,
      pages: viommu!.iotlb.pages,
    };
    // 64K + 8K + 4K: iommu_pgsize() cuts 0x13000 at 0x10000 into those three.
    expect(iommu_map(k, dom, 0x10000, 0x8001_0000, 0x13000, IOMMU_READ | IOMMU_WRITE)).toBe(0);
    expect(stats.map - s0.map).toBe(3);
    expect(viommu!.iotlb.syncs - s0.syncs).toBe(1);
    expect(viommuDomainInfo(dom)!.mappings).toBe(3);
    expect(iommu_iova_to_phys(k, dom, 0x22fff)).toBe(0x8002_2fff);
    expect(dmaWrite(k, rng, 0x21ffe, bytes(7, 8, 9)).ok).toBe(true);
    expect([...physMem(k).read(0x8002_1ffe, 3)]).toEqual([7, 8, 9]);

    // Half a MAP cannot be unmapped: viommu_del_mappings() finds the 64K mapping starting below and stops.
    expect(iommu_unmap(k, dom, 0x18000, 0x8000)).toBe(0);
    expect(stats.unmap - s0.unmap).toBe(0);
    expect(iommu_unmap(k, dom, 0x10000, 0x13000)).toBe(0x13000);
    expect(stats.unmap - s0.unmap).toBe(3);
    expect(viommu!.iotlb.commands - s0.commands).toBe(3);
    expect(viommu!.iotlb.pages - s0.pages).toBe(16 + 2 + 1);
    // iommu_unmap()'s iotlb_sync, and the failed one's (viommu_iotlb_sync() kicks unconditionally).
    expect(viommu!.iotlb.syncs - s0.syncs).toBe(3);

    iommu_detach_group(k, rng.iommu_group!);
    iommu_domain_free(k, dom);
    iommu_device_release_dma_owner(k, rng);
    expect(rng.iommu_group!.domain).toBe(rng.iommu_group!.default_domain);
  });

  it('a MAP over a mapped range: the device refuses it (S_INVAL) and the driver never looks at the status', () => {
    const { k, dev, viommu } = bootX86();
    const rng = dev('0000:05:00.0');
    device_release_driver(k, rng);
    expect(iommu_device_claim_dma_owner(k, rng, 'vfio')).toBe(0);
    const dom = iommu_paging_domain_alloc(k, rng);
    if (IS_ERR(dom)) throw new Error('no domain');
    expect(iommu_attach_group(k, dom, rng.iommu_group!)).toBe(0);
    const vmm = viommuDevice(viommu!)!;
    expect(iommu_map(k, dom, 0x40000, 0x8000_0000, 0x1000, IOMMU_READ | IOMMU_WRITE)).toBe(0);
    expect(iommu_map(k, dom, 0x40000, 0x9000_0000, 0x1000, IOMMU_READ | IOMMU_WRITE)).toBe(0);
    expect(vmm.handled.at(-1)).toEqual({ type: 'map', status: VIRTIO_IOMMU_S_INVAL });
    // Both are in the driver's tree; the device kept the first one.
    expect(viommuDomainInfo(dom)!.mappings).toBe(2);
    expect(vmm.endpointDomain(0x500)!.mappings).toBe(1);
    const w = dmaWrite(k, rng, 0x40010, bytes(3));
    expect(w.ok && w.phys).toEqual([0x8000_0010]);
    iommu_unmap(k, dom, 0x40000, 0x1000);
    iommu_detach_group(k, rng.iommu_group!);
    iommu_domain_free(k, dom);
  });

  it('DMA-FQ: an UNMAP waits in the queue, the device keeps translating (a stale use in the lazy window) until the flush queue kicks it', () => {
    const { k, dev, viommu } = bootX86({ cmdline: 'iommu.strict=0' });
    const rng = dev('0000:05:00.0');
    // viommu_capable(): IOMMU_CAP_DEFERRED_FLUSH, so the flush queue is set up.
    expect(rng.iommu_group!.default_domain!.type).toBe(IOMMU_DOMAIN_DMA_FQ);
    const stats = viommuRequestStats(viommu!)!;
    const h = dma_map_page_attrs(k, rng, 0x8000_0000, 0x1000, 'bidirectional');
    expect(dma_mapping_error(k, rng, h)).toBe(0);
    const kicks = stats.kicks;
    dma_unmap_page_attrs(k, rng, h, 0x1000, 'bidirectional');
    expect(stats.unmap).toBe(1);
    expect(stats.kicks).toBe(kicks); // queued, not kicked
    expect(iommu_iova_to_phys(k, rng.iommu_group!.default_domain!, h)).toBe(0);
    const late = dmaWrite(k, rng, h, bytes(2));
    expect(late.ok).toBe(true);
    expect(physMem(k).read(0x8000_0000, 1)[0]).toBe(2);
    expect(dmaJson(k).staleIotlbUses).toEqual([
      expect.objectContaining({
        device: '0000:05:00.0',
        lazyWindow: true,
        tablePhys: null,
        cachedPhys: '0x80000000',
      }),
    ]);
    // IOVA_FQ_TIMEOUT (10 ms): fq_flush_timeout() -> flush_iotlb_all -> viommu_sync_req(): the UNMAP reaches the device.
    k.clock.advance(10);
    expect(stats.kicks).toBe(kicks + 1);
    const after = dmaWrite(k, rng, h, bytes(3));
    expect(!after.ok && after.fault.log).toEqual([`page fault from EP 1280 at 0x${h.toString(16)} []`]);
    expect(physMem(k).read(0x8000_0000, 1)[0]).toBe(2);
  });

  it('DMA-FQ: the next mapping kicks the queue too, closing the window before the flush queue does', () => {
    const { k, dev } = bootX86({ cmdline: 'iommu.strict=0' });
    const rng = dev('0000:05:00.0');
    const h = dma_map_page_attrs(k, rng, 0x8000_0000, 0x1000, 'bidirectional');
    dma_mapping_error(k, rng, h);
    dma_unmap_page_attrs(k, rng, h, 0x1000, 'bidirectional');
    expect(dmaWrite(k, rng, h, bytes(1)).ok).toBe(true);
    const h2 = dma_map_page_attrs(k, rng, 0x8100_0000, 0x1000, 'bidirectional');
    expect(h2).not.toBe(h); // the old IOVA is still in the flush queue
    const w = dmaWrite(k, rng, h, bytes(1));
    expect(!w.ok && w.fault.reason).toBe('unmapped');
  });

  it('viommu_fault_handler() is rate limited: 10 lines per 5 s, then "callbacks suppressed"', () => {
    const { k, dev } = bootX86();
    const rng = dev('0000:05:00.0');
    for (let i = 0; i < 13; i++) expect(dmaRead(k, rng, 0x10_0000 + i * 0x1000, 1).ok).toBe(false);
    expect(logOf(k, 'virtio0')).toHaveLength(10);
    expect(rng.iommu!.iommu_dev!.faults).toHaveLength(13);
    k.clock.advance(5000);
    dmaRead(k, rng, 0x20_0000, 1);
    expect(logOf(k, 'virtio0')).toHaveLength(10); // still inside the interval: it has to be exceeded
    k.clock.advance(1);
    dmaRead(k, rng, 0x30_0000, 1);
    expect(logOf(k, 'viommu_fault_handler', 'warn')).toEqual(['4 callbacks suppressed']);
    expect(logOf(k, 'virtio0').at(-1)).toBe('page fault from EP 1280 at 0x300000 []');
  });

  it('teardown DETACHes every endpoint (release_device), the device is left with no domain, nothing leaks', () => {
    const { k, dev, viommu } = bootX86();
    const rng = dev('0000:05:00.0');
    const h = dma_map_page_attrs(k, rng, 0x8000_0000, 0x4000, 'to-device');
    expect(h).not.toBe(DMA_MAPPING_ERROR);
    const vmm = viommuDevice(viommu!)!;
    const stats = viommuRequestStats(viommu!)!;
    expect(checkInvariants(k)).toEqual([]);
    teardown(k);
    expect(stats.detach).toBe(9);
    expect(vmm.domainIds()).toEqual([]);
    expect(leakReport(k)).toEqual([]);
    expect(k.printk.warnings).toEqual([]);
  });
});

describe.skipIf(!existsSync(X86))(
  'what the VMM offers decides (a virtio-iommu device other than QEMU 7.2 defaults)',
  () => {
    it('page_size_mask 0: viommu_probe() fails with -EINVAL and registers nothing; the clients bind without it', () => {
      const { k, viommu } = bootX86With({ page_size_mask: 0n });
      expect(viommu).toBeNull();
      expect(logOf(k, 'virtio0', 'warn')).toContain('probe with driver virtio_iommu failed with error -22');
      expect([...k.base.devices].filter((d) => d.iommu_group)).toEqual([]);
    });

    it('without VIRTIO_IOMMU_F_MAP_UNMAP the driver does not take the device (-ENODEV)', () => {
      const features = new Set(qemuViommuConfig(null).features);
      features.delete(VIRTIO_IOMMU_F_MAP_UNMAP);
      const { k, viommu } = bootX86With({ features });
      expect(viommu).toBeNull();
      // really_probe(): -ENODEV is "rejects match", at debug level.
      expect(logOf(k, 'virtio0', 'debug')).toContain('probe with driver virtio_iommu rejects match -19');
    });

    it('a 64K granule on a 4K kernel: viommu_domain_finalise() refuses every attach with -ENODEV', () => {
      const { k, viommu } = bootX86With({ page_size_mask: 0xffffffffffff0000n });
      expect(viommu).not.toBeNull();
      expect(logOf(k, '0000:05:00.0')).toContain('granule 0x10000 larger than system page size 0x1000');
      expect(viommuRequestStats(viommu!)!.attach).toBe(0);
      expect(viommuDevice(viommu!)!.domainIds()).toEqual([]);
    });

    it('a domain range of two IDs: the first two groups get IDs 5 and 6; the third attach fails (-ENOSPC) and the core WARNs', () => {
      const { k, dev, viommu } = bootX86With({ domain_range: { start: 5, end: 6 } });
      expect(viommuDevice(viommu!)!.domainIds()).toEqual([5, 6]);
      expect(viommuDomainInfo(dev('0000:00:03.0').iommu_group!.domain!)!.id).toBe(5);
      expect(viommuDomainInfo(dev('0000:00:06.0').iommu_group!.domain!)!.id).toBe(6);
      // iommu_setup_default_domain(): a driver may not fail the first attach; the device's probe fails.
      expect(k.printk.warnings.map((w) => w.message)).toContain(
        `first attach of the default domain failed (${-ENOSPC})`,
      );
      expect(dev('0000:05:00.0').iommu).toBeNull();
      expect(dev('0000:05:00.0').iommu_group).toBeNull();
    });

    it('a queue of two: the third MAP of a scatterlist kicks the queue before iotlb_sync_map does', () => {
      const { k, dev, viommu } = bootX86With({ queue_size: 2 });
      const rng = dev('0000:05:00.0');
      const stats = viommuRequestStats(viommu!)!;
      const k0 = stats.kicks;
      const sg = sg_from_buffers([
        { phys: 0x9000_0000, length: 0x1000 },
        { phys: 0x9100_0000, length: 0x1000 },
        { phys: 0x9200_0000, length: 0x1000 },
      ]);
      expect(dma_map_sg_attrs(k, rng, sg, 'to-device')).toBe(1);
      expect(stats.map).toBe(3);
      // __viommu_add_req(): -ENOSPC on the full queue, sync, retry; then iotlb_sync_map's own kick.
      expect(stats.kicks - k0).toBe(2);
      const r = dmaRead(k, rng, sg[0].dma_address + 0x2000, 1);
      expect(r.ok && r.phys).toEqual([0x9200_0000]);
    });
  },
);

describe.skipIf(!existsSync(ARM_ACPI))(
  'virtio-iommu on the arm64 ACPI machine (VIOT, IORT without SMMU)',
  () => {
    it('the e1000e behind its root port: DMA domain (arm64 strict), bytes land, the ITS doorbell page passes through', () => {
      const { k, dev, viommu } = boot(ARM_ACPI, ['IORT.dat', 'VIOT.dat', 'lspci.txt'], armAcpiDrivers);
      const nic = dev('0000:02:00.0');
      expect(nic.iommu?.iommu_dev).toBe(viommu);
      expect(nic.iommu_group!.default_domain!.type).toBe(IOMMU_DOMAIN_DMA);
      const h = dma_map_page_attrs(k, nic, 0x4000_0000, 0x1000, 'from-device');
      expect(dma_mapping_error(k, nic, h)).toBe(0);
      expect(dmaWrite(k, nic, h + 0x100, bytes(0xde, 0xad)).ok).toBe(true);
      expect([...physMem(k).read(0x4000_0100, 2)]).toEqual([0xde, 0xad]);
      // The MSI window from PROBE (0x8020000-0x8020fff): bypassed by QEMU.
      expect(dmaWrite(k, nic, 0x802_0040, bytes(1)).ok).toBe(true);
      dma_unmap_page_attrs(k, nic, h, 0x1000, 'from-device');
      const f = dmaWrite(k, nic, h, bytes(1));
      // 02:00.0: endpoint 0x200 = 512.
      expect(!f.ok && f.fault.log).toEqual([`page fault from EP 512 at 0x${h.toString(16)} []`]);
      teardown(k);
      expect(leakReport(k)).toEqual([]);
    });
  },
);

describe.skipIf(!existsSync(ARM_DT))(
  'identity on the arm64 device-tree machine (iommu.passthrough=1)',
  () => {
    const cmdline = 'iommu.passthrough=1';

    it('VIRTIO_IOMMU_F_BYPASS_CONFIG: identity domains ATTACH with the bypass flag, no mappings; DMA passes through', () => {
      const { k, dev, viommu } = boot(ARM_DT, ['system.dtb.gz', 'lspci.txt'], armDtDrivers(true), {
        cmdline,
      });
      const nic = dev('0000:01:00.0');
      const domain = nic.iommu_group!.domain!;
      expect(domain.type).toBe(IOMMU_DOMAIN_IDENTITY);
      expect(viommuDomainInfo(domain)).toEqual({
        id: viommuDomainInfo(domain)!.id,
        mappings: 0,
        bypass: true,
      });
      const vmm = viommuDevice(viommu!)!;
      expect(vmm.endpointDomain(rid('0000:01:00.0'))).toMatchObject({ bypass: true, mappings: 0 });
      expect(vmm.translate(rid('0000:01:00.0'), 0x1234_5000)).toEqual({ kind: 'bypass' });
      const w = dmaWrite(k, nic, 0x5678_9abc, bytes(4, 2));
      expect(w.ok && w.phys).toEqual([0x5678_9abc]);
      expect([...physMem(k).read(0x5678_9abc, 2)]).toEqual([4, 2]);
      expect(viommuRequestStats(viommu!)).toMatchObject({ map: 0, unmap: 0 });
    });

    it('without it: identity mappings around the PROBE MSI region, replayed as MAPs at the first attach', () => {
      const b = boot(ARM_DT, ['system.dtb.gz', 'lspci.txt'], armDtDrivers(false), {
        cmdline,
        deferredProbeTimeout: false,
      });
      const probe: ViommuProbeInfo = { resv: [{ start: 0x802_0000n, end: 0x802_0fffn, type: 'msi' }] };
      const features = new Set(qemuViommuConfig(probe).features);
      features.delete(VIRTIO_IOMMU_F_BYPASS_CONFIG);
      expect(
        driver_register(b.k, virtioIommuDriver(b.k, probe, { ...qemuViommuConfig(probe), features })),
      ).toBe(0);
      b.k.runDeferredProbe();
      const viommu = b.viommu!;
      const nic = b.dev('0000:01:00.0');
      const domain = nic.iommu_group!.domain!;
      expect(domain.type).toBe(IOMMU_DOMAIN_IDENTITY);
      // [0, 0x801ffff] and [0x8021000, ULLONG_MAX] in the driver's tree.
      expect(viommuDomainInfo(domain)).toMatchObject({ mappings: 2, bypass: false });
      const groups = new Set([...b.k.base.devices].filter((d) => d.iommu_group).map((d) => d.iommu_group));
      expect(viommuRequestStats(viommu)!.map).toBe(2 * groups.size);
      const vmm = viommuDevice(viommu)!;
      const ep = rid('0000:01:00.0');
      expect(vmm.endpointDomain(ep)).toMatchObject({ bypass: false, mappings: 2 });
      expect(vmm.translate(ep, 0x9000_0000)).toEqual({
        kind: 'map',
        phys: 0x9000_0000,
        flags: 3,
      });
      expect(vmm.translate(ep, 0x802_0010)).toEqual({ kind: 'bypass' });
      expect(vmm.translate(ep, 0x801_fff0)).toMatchObject({ kind: 'map', phys: 0x801_fff0 });
      teardown(b.k);
      expect(leakReport(b.k)).toEqual([]);
    });
  },
);

describe.skipIf(!existsSync(X86))('fail-nth over the x86 machine with DMA', () => {
  it('each allocation failed in turn (boot, map, write, unmap, teardown): no leak, no invariant broken', () => {
    const run = (failNth?: number) => {
      const { k } = bootX86({ failNth });
      // A failed enumeration allocation can leave the function out altogether.
      const rng = [...k.base.devices].find((d) => d.name === '0000:05:00.0');
      const h = rng ? dma_map_page_attrs(k, rng, 0x8000_0000, 0x3000, 'bidirectional') : DMA_MAPPING_ERROR;
      if (rng && !dma_mapping_error(k, rng, h)) {
        const w = dmaWrite(k, rng, h, bytes(1, 2, 3));
        if (w.ok) expect(physMem(k).read(w.phys[0], 3)).toEqual(bytes(1, 2, 3));
        dma_unmap_page_attrs(k, rng, h, 0x3000, 'bidirectional');
      }
      return finishRun(k);
    };
    const base = run();
    expect(base.leaks).toEqual([]);
    const total = base.k.alloc.attempts;
    expect(total).toBeGreaterThan(50);
    const { injected } = expectCleanUnwinds(run, total);
    expect(injected).toBe(failNthPoints(total).length);
  });
});

describe('the mapping trees (interval_tree_iter_first/_next) against a linear scan', () => {
  it('random inserts (overlaps and equal starts too) and removals: every query gives what a scan finds, in order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant('insert' as const),
              start: fc.integer({ min: 0, max: 200 }),
              len: fc.integer({ min: 0, max: 40 }),
            }),
            fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
            fc.record({
              op: fc.constant('query' as const),
              start: fc.integer({ min: -5, max: 250 }),
              len: fc.integer({ min: 0, max: 60 }),
            }),
          ),
          { maxLength: 120 },
        ),
        (ops) => {
          const tree = new IntervalTree<number>();
          // The oracle: insertion order among equal starts, as the kernel's insert puts them to the right.
          const live: IntervalNode<number>[] = [];
          let serial = 0;
          for (const o of ops) {
            if (o.op === 'insert') {
              const n = tree.insert(o.start, o.start + o.len, serial++);
              live.push(n);
            } else if (o.op === 'remove') {
              if (live.length === 0) continue;
              const [n] = live.splice(o.pick % live.length, 1);
              tree.remove(n);
            } else {
              const last = o.start + o.len;
              const want = live
                .filter((n) => n.start <= last && n.last >= o.start)
                .sort((a, b) => a.start - b.start || a.value - b.value)
                .map((n) => n.value);
              const got: number[] = [];
              for (let n = tree.iterFirst(o.start, last); n; n = tree.iterNext(n, o.start, last))
                got.push(n.value);
              expect(got).toEqual(want);
            }
            expect(tree.size).toBe(live.length);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
