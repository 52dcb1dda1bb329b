// SPDX-License-Identifier: GPL-2.0-only
/**
 * The VT-d paging domain (struct dmar_domain) as drivers/iommu/intel/iommu.c
 * (Linux 6.12) builds, attaches, maps and frees it, over the registered
 * page-table formats 'intel-vtd-ss' (second stage) and 'intel-vtd-fs'
 * (first stage), whose rules (src/pgtable/rules/intel-vtd.ts) are the
 * driver's own pfn_to_dma_pte()/__domain_mapping()/domain_unmap().
 *
 * Life of a domain in 6.12, which the core allocates through the legacy
 * ops->domain_alloc() (6.12's VT-d has no domain_alloc_paging):
 *  - intel_iommu_domain_alloc(): alloc_domain() picks the stage
 *    (first_level_by_default(): second stage unless every unit is in
 *    scalable mode with FLTS), md_domain_init() sizes the table for
 *    DEFAULT_DOMAIN_ADDRESS_WIDTH (57 bits: agaw 3, five levels) with no
 *    superpages and allocates the pgd; the aperture is 57 bits and the
 *    core gives the domain ops->pgsize_bitmap (4K). Reserved-region 1:1
 *    mappings (RMRRs) go in now, before any attach, with 4K pages.
 *  - First attach to a unit: prepare_domain_attach_device() narrows gaw to
 *    the unit's width (agaw_to_width(iommu->agaw), at most MGAW) and drops
 *    the table's top levels down to the unit's agaw, the pgd becoming its
 *    entry 0's table (the old top pages are freed); domain_attach_iommu()
 *    takes a domain ID and domain_update_iommu_cap() sets the superpage
 *    level (smallest common to all active units), the aperture (gaw bits,
 *    one less at first stage) and ORs 2M/1G into pgsize_bitmap; the
 *    context entry of each DMA alias points at the pgd (legacy mode), and a
 *    cache tag makes invalidations reach the unit. The model follows a
 *    changed level count or superpage level by re-reading the same tables
 *    with the new geometry (nothing is copied).
 *  - map/unmap follow the format's rules; intel_iommu_map()'s max_addr
 *    check, intel_iommu_unmap()'s gather page, intel_iommu_tlb_sync() and
 *    the flushes of cache.ts.
 *  - Detach (device_block_translation()): the tag goes, the context entry
 *    is cleared with a context-cache and domain-selective IOTLB flush, the
 *    domain ID is released.
 *
 * Scalable mode is modelled as far as the domain's stage, geometry and
 * PASID-based invalidations go; PASID tables and their entries' setup are
 * not (no allocations, no PASID-cache flushes but a stand-in at teardown).
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { Device } from '../../base/device.js';
import type { IommuIotlbGather } from '../../iommu/map.js';
import type { IommuDomainOps } from '../../iommu/domain.js';
import type { CacheTag, QiBatch } from './cache.js';
import type { DeviceDomainInfo, IntelIommu } from './state.js';
import type { IommuFlushOps } from '../../pgtable/engine.js';
import { EFAULT, EINVAL, ENOMEM, ENOSPC } from '../../kernel/errno.js';
import { IOMMU_DOMAIN_DMA, IOMMU_DOMAIN_UNMANAGED, IommuDomain } from '../../iommu/domain.js';
import { iommu_iotlb_gather_add_page } from '../../iommu/map.js';
import { PageTable, allocPageTable } from '../../pgtable/page-table.js';
import { CompiledFormat } from '../../pgtable/compiled.js';
import { pgtableFormats } from '../../pgtable/formats/index.js';
import { INTEL_VTD_QUIRK_FORCE_SNOOP } from '../../pgtable/formats/intel-vtd.js';
import { pgtableMemory } from '../../mm/table-memory.js';
import { pci_for_each_dma_alias } from '../../pci/search.js';
import { pci_real_dma_dev } from '../../pci/dma-alias.js';
import {
  DEFAULT_DOMAIN_ADDRESS_WIDTH,
  FLPT_DEFAULT_DID,
  agaw_to_level,
  agaw_to_width,
  cap_caching_mode,
  cap_fl1gp_support,
  cap_mgaw,
  cap_ndoms,
  cap_rwbf,
  cap_super_page_val,
  ecap_coherent,
  ecap_sc_support,
  ecap_smpwc,
  width_to_agaw,
} from './hw.js';
import {
  ULONG_MAX,
  cache_tag_assign_domain,
  cache_tag_flush_all,
  cache_tag_flush_range,
  cache_tag_flush_range_np,
  cache_tag_unassign_domain,
  flush_context,
  flush_iotlb_dsi,
  iommu_flush_write_buffer,
  qi_submit_sync,
} from './cache.js';
import {
  activeUnits,
  devInfo,
  intelState,
  intel_cap_flts_sanity,
  intel_cap_slts_sanity,
  scalable_mode_support,
  sm_supported,
} from './state.js';

const SZ_4K = 0x1000;
const SZ_2M = 0x200000;
const SZ_1G = 0x40000000;

/** struct iommu_domain_info: the domain on one unit. */
interface IommuDomainInfo {
  readonly unit: IntelIommu;
  readonly did: number;
  refcnt: number;
  readonly mem: Allocation;
}

/** struct dmar_domain */
export class DmarDomain extends IommuDomain {
  /** domain->use_first_level */
  use_first_level = false;
  /** Guest address width and the table's adjusted width (agaw). */
  gaw = 0;
  agaw = 0;
  /** The highest end of a mapping so far (intel_iommu_map()). */
  max_addr = 0;
  /** 0: 4K only; 1: 2M; 2: 2M and 1G. */
  iommu_superpage = 0;
  iommu_coherency = false;
  /** New mappings need cache_tag_flush_range_np() (caching mode, write-buffer flushing). */
  iotlb_sync_map = false;
  /** domain->devices */
  readonly devices: DeviceDomainInfo[] = [];
  /** domain->iommu_array, by unit seq_id */
  readonly iommu_array = new Map<number, IommuDomainInfo>();
  readonly cache_tags: CacheTag[] = [];
  qi_batch: QiBatch | null = null;
  /** dmar_domain->force_snooping (intel_iommu_enforce_cache_coherency()). */
  force_snooping = false;
  /**
   * dmar_domain->set_pte_snp (domain_set_force_snooping() on a second-stage
   * domain): every leaf mapped from then on carries DMA_PTE_SNP (the
   * table's INTEL_VTD_QUIRK_FORCE_SNOOP).
   */
  set_pte_snp = false;
}

/** gather->freelist is not empty: an unmap gathered there freed tables (the flush then drops paging-structure caches). */
const freelist = new WeakMap<IommuIotlbGather, boolean>();
/** The gather of the unmap in progress, and the table pool's count before it. */
const unmapping = new WeakMap<DmarDomain, { gather: IommuIotlbGather; live: number }>();

const super_pgsize_bitmap = (superpage: number): number =>
  superpage === 1 ? SZ_2M : superpage === 2 ? SZ_2M | SZ_1G : 0;

/** __DOMAIN_MAX_ADDR(gaw), as a number (exact up to 53 bits). */
const domainMaxAddr = (gaw: number): number => 2 ** gaw - 1;

function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** domain_id_iommu() */
export function domain_id_iommu(d: DmarDomain, unit: IntelIommu): number {
  return d.iommu_array.get(unit.seq_id)?.did ?? 0;
}

/** What the table asks of the IOTLB (the engine's struct iommu_flush_ops). */
function tlbOps(k: Kernel, d: DmarDomain): IommuFlushOps {
  return {
    // switch_to_super_page(): cache_tag_flush_range(domain, start_pfn << 12, end_pfn << 12, 0).
    tlb_flush_walk: (iova, size) => cache_tag_flush_range(d, BigInt(iova), BigInt(iova + size - SZ_4K), 0),
    // intel_iommu_unmap(): the page joins the gather unless the flush queue takes it.
    tlb_add_page: (iova, size) => {
      const u = unmapping.get(d);
      if (!u) return;
      if (pgtableMemory(k).liveAllocations < u.live) freelist.set(u.gather, true);
      if (!u.gather.queued) iommu_iotlb_gather_add_page(k, d, u.gather, iova, size);
    },
  };
}

/**
 * The domain's table with its current geometry: a new one (md_domain_init()'s
 * pgd), or the existing tables from `pgd` read with a changed level count,
 * superpage level or coherency. null: the pgd could not be allocated.
 */
function vtdTable(k: Kernel, d: DmarDomain, pgd: number | null): PageTable | null {
  const name = d.use_first_level ? 'intel-vtd-fs' : 'intel-vtd-ss';
  const memory = pgtableMemory(k);
  memory.owner = d.label;
  const cfg = {
    // The table's levels come from agaw; gaw (possibly narrower) is enforced by the domain.
    ias: agaw_to_width(d.agaw),
    pgsize_bitmap: SZ_4K | super_pgsize_bitmap(d.iommu_superpage),
    coherent_walk: d.iommu_coherency,
    quirks: d.set_pte_snp ? INTEL_VTD_QUIRK_FORCE_SNOOP : 0,
  };
  const opts = {
    memory,
    tlb: tlbOps(k, d),
    warn: (w: { site: string; message: string }) => k.printk.warn(true, w.site, w.message),
  };
  if (pgd === null) {
    const t = allocPageTable(name, { ...cfg, ...opts });
    return t instanceof PageTable ? t : null;
  }
  const fmt = pgtableFormats[name];
  const res = fmt.alloc(cfg);
  if ('reason' in res) return null;
  const t = new PageTable(fmt, res, new CompiledFormat(res.layout), memory, pgd, opts);
  t.tableCount = d.pgtable!.tableCount;
  return t;
}

/** Re-read the tables after the geometry changed (prepare_domain_attach_device() checked the level count). */
function retable(k: Kernel, d: DmarDomain, pgd: number): void {
  d.pgtable = vtdTable(k, d, pgd) ?? d.pgtable;
}

/** first_level_by_default(): legacy mode has only second stage; with both, DMA domains use first stage. */
function first_level_by_default(k: Kernel, type: number): boolean {
  if (!scalable_mode_support(k)) return false;
  const fl = intel_cap_flts_sanity(k);
  if (fl !== intel_cap_slts_sanity(k)) return fl;
  return type !== IOMMU_DOMAIN_UNMANAGED;
}

/** guestwidth_to_adjustwidth() */
function guestwidth_to_adjustwidth(gaw: number): number {
  const r = (gaw - 12) % 9;
  return Math.min(r === 0 ? gaw : gaw + 9 - r, 64);
}

/** iommu_paging_structure_coherency() */
function iommu_paging_structure_coherency(k: Kernel, unit: IntelIommu): boolean {
  return sm_supported(k, unit) ? ecap_smpwc(unit.regs.ecap) : ecap_coherent(unit.regs.ecap);
}

/** domain_update_iommu_coherency(): every unit it is on, or every active unit when none. */
function domain_update_iommu_coherency(k: Kernel, d: DmarDomain): void {
  const on = [...d.iommu_array.values()].map((i) => i.unit);
  const units = on.length ? on : activeUnits(k);
  d.iommu_coherency = units.every((u) => iommu_paging_structure_coherency(k, u));
}

/** domain_update_iommu_superpage(): the smallest superpage support of all active units. */
function domain_update_iommu_superpage(k: Kernel, d: DmarDomain): number {
  if (!intelState(k)?.superpage) return 0;
  let mask = 0x3;
  for (const unit of activeUnits(k)) {
    if (d.use_first_level) {
      if (!cap_fl1gp_support(unit.regs.cap)) mask = 0x1;
    } else mask &= cap_super_page_val(unit.regs.cap);
    if (!mask) break;
  }
  return fls(mask);
}

/** domain_update_iommu_cap(): coherency, superpages, aperture; page sizes only grow. */
function domain_update_iommu_cap(k: Kernel, d: DmarDomain): void {
  const before = { sp: d.iommu_superpage, coh: d.iommu_coherency };
  domain_update_iommu_coherency(k, d);
  d.iommu_superpage = domain_update_iommu_superpage(k, d);
  // First stage takes canonical addresses only: bit gaw - 1 is the sign.
  const end = domainMaxAddr(d.use_first_level ? d.gaw - 1 : d.gaw);
  d.geometry = { aperture_start: 0, aperture_end: end, force_aperture: true };
  d.pgsize_bitmap |= super_pgsize_bitmap(d.iommu_superpage);
  if (d.pgtable && (before.sp !== d.iommu_superpage || before.coh !== d.iommu_coherency))
    retable(k, d, d.pgtable.pgdPhys);
}

/** alloc_domain() + md_domain_init(): the stage, a 57-bit five-level table, no superpages yet. */
function md_domain_alloc(k: Kernel, type: number): DmarDomain | null {
  const mem = k.alloc.alloc('dmar_domain', 'intel-iommu', 'alloc_domain');
  if (!mem) {
    k.printk.log('err', 'DMAR', "Can't allocate dmar_domain");
    return null;
  }
  const d = new DmarDomain(type, null, 'intel paging');
  d.mem = mem;
  d.use_first_level = first_level_by_default(k, type);
  d.gaw = DEFAULT_DOMAIN_ADDRESS_WIDTH;
  d.agaw = width_to_agaw(guestwidth_to_adjustwidth(d.gaw));
  d.pgtable = vtdTable(k, d, null);
  if (!d.pgtable) {
    k.printk.log('err', 'DMAR', 'Domain initialization failed');
    domain_exit(k, d);
    return null;
  }
  return d;
}

/** intel_iommu_domain_alloc(): DMA and unmanaged domains; the aperture is gaw's until an attach narrows it. */
export function intel_iommu_domain_alloc(k: Kernel, type: number): DmarDomain | null {
  if (type !== IOMMU_DOMAIN_DMA && type !== IOMMU_DOMAIN_UNMANAGED) return null;
  const d = md_domain_alloc(k, type);
  if (!d) return null;
  d.geometry = { aperture_start: 0, aperture_end: domainMaxAddr(d.gaw), force_aperture: true };
  return d;
}

/**
 * domain_exit(): the tables go (domain_unmap() of everything, pgd included),
 * then the batch and the domain; a domain still attached to a device is a
 * WARN and stays (leaked, as the kernel leaks it).
 */
function domain_exit(k: Kernel, d: DmarDomain): void {
  if (d.pgtable) {
    pgtableMemory(k).owner = d.label;
    d.pgtable.free();
    d.pgtable = null;
  }
  if (k.printk.warn(d.devices.length > 0, 'domain_exit', 'WARN_ON(!list_empty(&domain->devices))')) return;
  d.iommu?.iotlb.drop(d);
  if (d.qi_batch) k.alloc.free(d.qi_batch.mem, 'domain_exit');
  d.qi_batch = null;
  k.alloc.free(d.mem, 'domain_exit');
  d.mem = null;
}

/** iommu_context_addr(): the bus's context table, allocated on first use when asked. */
function iommu_context_addr(k: Kernel, unit: IntelIommu, bus: number, alloc: boolean) {
  let ctx = unit.context.get(bus);
  if (ctx || !alloc) return ctx ?? null;
  const mem = k.alloc.alloc('context_table', unit.iommu.name, 'iommu_context_addr');
  if (!mem) return null;
  ctx = { mem, entries: new Map<number, number>() };
  unit.context.set(bus, ctx);
  return ctx;
}

/** context_present_cache_flush(): a unit in caching mode caches non-present entries; others at most flush the write buffer. */
function context_present_cache_flush(unit: IntelIommu, did: number, bus: number, devfn: number): void {
  if (cap_caching_mode(unit.regs.cap)) {
    flush_context(unit, 0, (bus << 8) | devfn);
    flush_iotlb_dsi(unit, did);
  } else iommu_flush_write_buffer(unit);
}

/** dev_is_real_dma_subdevice(): a VMD child, whose DMA carries its parent's ID. */
function dev_is_real_dma_subdevice(dev: Device): boolean {
  return !!dev.pci && pci_real_dma_dev(dev.pci) !== dev.pci;
}

/**
 * The requester IDs the device's DMA arrives with (pci_for_each_dma_alias(),
 * or its own), with the device the walk is at (a bridge for its aliases).
 */
function forEachAlias(
  info: DeviceDomainInfo,
  fn: (bus: number, devfn: number, at: Device) => number,
): number {
  const pdev = info.dev.pci;
  if (!pdev) return fn(info.bus, info.devfn, info.dev);
  return pci_for_each_dma_alias(pdev, (p, alias) => fn(alias >> 8, alias & 0xff, p.dev));
}

/** domain_context_mapping_one(): point the context entry at the domain (an entry already present stays). */
function domain_context_mapping_one(
  k: Kernel,
  d: DmarDomain,
  unit: IntelIommu,
  bus: number,
  devfn: number,
): number {
  const did = domain_id_iommu(d, unit);
  const ctx = iommu_context_addr(k, unit, bus, true);
  if (!ctx) return -ENOMEM;
  if (ctx.entries.has(devfn)) return 0;
  ctx.entries.set(devfn, did);
  context_present_cache_flush(unit, did, bus, devfn);
  return 0;
}

/** context_setup_pass_through(): a pass-through context entry with FLPT_DEFAULT_DID. */
function context_setup_pass_through(k: Kernel, unit: IntelIommu, bus: number, devfn: number): number {
  const ctx = iommu_context_addr(k, unit, bus, true);
  if (!ctx) return -ENOMEM;
  if (ctx.entries.has(devfn)) return 0;
  ctx.entries.set(devfn, FLPT_DEFAULT_DID);
  context_present_cache_flush(unit, FLPT_DEFAULT_DID, bus, devfn);
  return 0;
}

/**
 * domain_context_clear_one(): clear the entry and flush the context cache,
 * then (legacy mode) the IOTLB of the domain ID it held
 * (intel_context_flush_no_pasid()). Without a context table, nothing.
 */
function domain_context_clear_one(k: Kernel, info: DeviceDomainInfo, bus: number, devfn: number): number {
  const unit = info.unit;
  const ctx = iommu_context_addr(k, unit, bus, false);
  if (!ctx) return 0;
  const did = ctx.entries.get(devfn) ?? 0;
  ctx.entries.delete(devfn);
  flush_context(unit, did, (bus << 8) | devfn);
  if (!sm_supported(k, unit)) flush_iotlb_dsi(unit, did);
  return 0;
}

/**
 * intel_pasid_tear_down_entry() for the RID PASID, reduced to its flushes:
 * the PASID cache (counted with the context cache), then the IOTLB by
 * PASID (first stage, pass-through) or by domain (second stage).
 */
function pasid_tear_down(info: DeviceDomainInfo, did: number): void {
  const unit = info.unit;
  const sid = (info.bus << 8) | info.devfn;
  qi_submit_sync(unit, [{ type: 'cc', did, sid }]);
  if (!info.domain || info.domain.use_first_level)
    qi_submit_sync(unit, [{ type: 'piotlb', did, pasid: 0, addr: 0n, npages: ULONG_MAX, ih: 0 }]);
  else flush_iotlb_dsi(unit, did);
}

/** domain_attach_iommu(): the domain's ID on the unit (the lowest free), refcounted. */
function domain_attach_iommu(k: Kernel, d: DmarDomain, unit: IntelIommu): number {
  const mem = k.alloc.alloc('iommu_domain_info', d.label, 'domain_attach_iommu');
  if (!mem) return -ENOMEM;
  const curr = d.iommu_array.get(unit.seq_id);
  if (curr) {
    curr.refcnt++;
    k.alloc.free(mem, 'domain_attach_iommu');
    return 0;
  }
  const ndomains = cap_ndoms(unit.regs.cap);
  let num = 0;
  while (num < ndomains && unit.domain_ids.has(num)) num++;
  if (num >= ndomains) {
    k.printk.log('err', 'DMAR', `${unit.iommu.name}: No free domain ids`);
    k.alloc.free(mem, 'domain_attach_iommu');
    return -ENOSPC;
  }
  unit.domain_ids.add(num);
  unit.did_domains.set(num, d);
  d.iommu_array.set(unit.seq_id, { unit, did: num, refcnt: 1, mem });
  domain_update_iommu_cap(k, d);
  return 0;
}

/** domain_detach_iommu(): the last user on the unit gives the ID back. */
function domain_detach_iommu(k: Kernel, d: DmarDomain, unit: IntelIommu): void {
  const info = d.iommu_array.get(unit.seq_id);
  if (!info || --info.refcnt > 0) return;
  unit.domain_ids.delete(info.did);
  unit.did_domains.delete(info.did);
  d.iommu_array.delete(unit.seq_id);
  domain_update_iommu_cap(k, d);
  k.alloc.free(info.mem, 'domain_detach_iommu');
}

/**
 * device_block_translation(): DMA from the device is blocked: its tag goes,
 * its context (or PASID) entries are cleared and flushed, and the paging
 * domain it was in lets go of the unit.
 */
export function device_block_translation(k: Kernel, dev: Device): void {
  const info = devInfo(dev);
  if (!info || !info.domain_attached) return;
  const unit = info.unit;
  const d = info.domain;
  const did = d ? domain_id_iommu(d, unit) : FLPT_DEFAULT_DID;
  if (d) cache_tag_unassign_domain(k, d, did, dev);
  if (!dev_is_real_dma_subdevice(dev)) {
    if (sm_supported(k, unit)) pasid_tear_down(info, did);
    else forEachAlias(info, (bus, devfn) => domain_context_clear_one(k, info, bus, devfn));
  }
  info.domain_attached = false;
  if (!d) return;
  d.devices.splice(d.devices.indexOf(info), 1);
  domain_detach_iommu(k, d, unit);
  info.domain = null;
}

/**
 * prepare_domain_attach_device(): the unit must reach every address mapped
 * so far; gaw becomes the unit's width and the top levels the unit cannot
 * walk go (the pgd becomes what its first entry points at, or stays when
 * that entry is empty).
 */
function prepare_domain_attach_device(k: Kernel, d: DmarDomain, dev: Device): number {
  const unit = devInfo(dev)!.unit;
  let addr_width = agaw_to_width(unit.agaw);
  if (addr_width > cap_mgaw(unit.regs.cap)) addr_width = cap_mgaw(unit.regs.cap);
  if (d.max_addr > 2 ** addr_width) return -EINVAL;
  // The formats have 3 to 5 levels: a unit walking only 2 (SAGAW 30-bit, reserved since VT-d 3.0) is not modelled.
  if (
    k.printk.warn(
      agaw_to_level(unit.agaw) < 3,
      'prepare_domain_attach_device',
      `model limitation: ${unit.iommu.name} walks ${agaw_to_level(unit.agaw)}-level tables`,
    )
  )
    return -EINVAL;
  d.gaw = addr_width;
  const t = d.pgtable!;
  const memory = pgtableMemory(k);
  memory.owner = d.label;
  let pgd = t.pgdPhys;
  const before = d.agaw;
  while (unit.agaw < d.agaw) {
    const words = memory.view(pgd)!;
    // dma_pte_present(): R or W.
    if (words[0] & 3) {
      const next = t.f.oaOf(words[0], words[1]);
      memory.free(pgd, t.f.allocBytes[0]);
      t.tableCount--;
      pgd = next;
    }
    d.agaw--;
  }
  if (d.agaw !== before) retable(k, d, pgd);
  return 0;
}

/** domain_setup_first_level(): the PASID entry takes 4- or 5-level tables only. */
function domain_setup_first_level(d: DmarDomain): number {
  const level = agaw_to_level(d.agaw);
  return level !== 4 && level !== 5 ? -EINVAL : 0;
}

/** domain_need_iotlb_sync_map() */
function domain_need_iotlb_sync_map(d: DmarDomain, unit: IntelIommu): boolean {
  return (cap_caching_mode(unit.regs.cap) && !d.use_first_level) || cap_rwbf(unit.regs.cap);
}

/** dmar_domain_attach_device(): domain ID, context entries (or PASID entry), cache tag; undone by blocking on failure. */
function dmar_domain_attach_device(k: Kernel, d: DmarDomain, dev: Device): number {
  const info = devInfo(dev)!;
  const unit = info.unit;
  let ret = domain_attach_iommu(k, d, unit);
  if (ret) return ret;
  info.domain = d;
  info.domain_attached = true;
  d.devices.push(info);
  // The first unit the domain is on holds its translations in the model's IOTLB.
  if (!d.iommu || d.iommu_array.size === 1) d.iommu = unit.iommu;
  if (dev_is_real_dma_subdevice(dev)) return 0;
  if (!sm_supported(k, unit)) {
    // domain_context_mapping_cb(): the unit of the device the alias walk is at (a bridge the
    // kernel has no info for would be a NULL dereference; the model stays on the device's unit).
    ret = forEachAlias(info, (bus, devfn, at) =>
      domain_context_mapping_one(k, d, devInfo(at)?.unit ?? unit, bus, devfn),
    );
  } else if (d.use_first_level) ret = domain_setup_first_level(d);
  if (!ret) ret = cache_tag_assign_domain(k, d, domain_id_iommu(d, unit), dev);
  if (ret) {
    device_block_translation(k, dev);
    return ret;
  }
  d.iotlb_sync_map ||= domain_need_iotlb_sync_map(d, unit);
  return 0;
}

/** intel_iommu_attach_device() */
function intel_iommu_attach_device(k: Kernel, domain: IommuDomain, dev: Device): number {
  const d = domain as DmarDomain;
  device_block_translation(k, dev);
  const ret = prepare_domain_attach_device(k, d, dev);
  if (ret) return ret;
  return dmar_domain_attach_device(k, d, dev);
}

/** identity_domain_attach_dev(): pass-through context entries (legacy) or PASID entry (scalable). */
export function identity_domain_attach_dev(k: Kernel, dev: Device): number {
  const info = devInfo(dev);
  if (!info) return -EINVAL;
  device_block_translation(k, dev);
  if (dev_is_real_dma_subdevice(dev)) return 0;
  const ret = sm_supported(k, info.unit)
    ? 0
    : forEachAlias(info, (bus, devfn) => context_setup_pass_through(k, info.unit, bus, devfn));
  if (!ret) info.domain_attached = true;
  return ret;
}

/** blocking_domain_attach_dev() */
export function blocking_domain_attach_dev(k: Kernel, dev: Device): number {
  device_block_translation(k, dev);
  return 0;
}

/** intel_iommu_map(): the domain's width must hold the end of the mapping. */
function intel_iommu_map(k: Kernel, d: DmarDomain, iova: number, size: number): number {
  const max_addr = iova + size;
  if (d.max_addr < max_addr) {
    const end = 2 ** d.gaw;
    if (end < max_addr) {
      k.printk.log(
        'err',
        'DMAR',
        `intel_iommu_map: iommu width (${d.gaw}) is not sufficient for the mapped address (${max_addr.toString(16)})`,
      );
      return -EFAULT;
    }
    d.max_addr = max_addr;
  }
  return 0;
}

/** The paging domain's iommu_domain_ops (intel_iommu_ops.default_domain_ops). */
export const dmar_domain_ops: IommuDomainOps = {
  attach_dev: intel_iommu_attach_device,
  /**
   * intel_iommu_enforce_cache_coherency(): only if every unit of an attached
   * device has snoop control, and a second-stage domain has no mapping yet;
   * a second-stage domain's later leaves then carry the SNP bit (a
   * first-stage one snoops through its PASID entries' PGSNP, not modelled).
   */
  enforce_cache_coherency(k, domain) {
    const d = domain as DmarDomain;
    if (d.force_snooping) return true;
    if (
      !d.devices.every((info) => ecap_sc_support(info.unit.regs.ecap)) ||
      (!d.use_first_level && d.max_addr > 0)
    )
      return false;
    // domain_set_force_snooping()
    if (!d.use_first_level && d.pgtable) {
      d.set_pte_snp = true;
      retable(k, d, d.pgtable.pgdPhys);
    }
    d.force_snooping = true;
    return true;
  },
  /** intel_iommu_map_pages() */
  map_pages(k, domain, iova, paddr, pgsize, pgcount, prot, out) {
    const d = domain as DmarDomain;
    if (pgsize !== SZ_4K && pgsize !== SZ_2M && pgsize !== SZ_1G) return -EINVAL;
    if (iova % pgsize || paddr % pgsize) return -EINVAL;
    const ret = intel_iommu_map(k, d, iova, pgcount * pgsize);
    if (ret) return ret;
    pgtableMemory(k).owner = d.label;
    return d.pgtable!.mapPagesTo(out, iova, paddr, pgsize, pgcount, prot);
  },
  /** intel_iommu_unmap_pages() → intel_iommu_unmap(): at least the leaf at iova goes. */
  unmap_pages(k, domain, iova, pgsize, pgcount, gather) {
    const d = domain as DmarDomain;
    const memory = pgtableMemory(k);
    memory.owner = d.label;
    unmapping.set(d, { gather, live: memory.liveAllocations });
    let size: number;
    try {
      size = d.pgtable!.unmapPages(iova, pgsize, pgcount);
    } finally {
      unmapping.delete(d);
    }
    if (size && d.max_addr === iova + size) d.max_addr = iova;
    return size;
  },
  /** intel_iommu_iotlb_sync_map(): only where new entries may be cached or the write buffer needs a flush. */
  iotlb_sync_map(_k, domain, iova, size) {
    const d = domain as DmarDomain;
    if (d.iotlb_sync_map) cache_tag_flush_range_np(d, BigInt(iova), BigInt(iova + size - 1));
    return 0;
  },
  /** intel_iommu_tlb_sync(): the gathered range (an empty gather is ULONG_MAX..0, which ends in a DSI). */
  iotlb_sync(_k, domain, gather) {
    const d = domain as DmarDomain;
    const empty = gather.pgsize === 0 && gather.end === 0 && gather.start === Number.MAX_SAFE_INTEGER;
    const start = empty ? ULONG_MAX : BigInt(gather.start);
    const ih = freelist.get(gather) ? 0 : 1;
    freelist.delete(gather);
    cache_tag_flush_range(d, start, BigInt(gather.end), ih);
  },
  /** intel_flush_iotlb_all() */
  flush_iotlb_all(_k, domain) {
    cache_tag_flush_all(domain as DmarDomain);
  },
  /** intel_iommu_iova_to_phys() */
  iova_to_phys(_k, domain, iova) {
    return domain.pgtable?.iovaToPhys(iova) ?? 0;
  },
  /** intel_iommu_domain_free() */
  free(k, domain) {
    domain_exit(k, domain as DmarDomain);
  },
};
