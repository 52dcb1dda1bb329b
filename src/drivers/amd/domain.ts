// SPDX-License-Identifier: GPL-2.0-only
/**
 * AMD-Vi protection domains as drivers/iommu/amd/iommu.c (6.12) builds and
 * uses them.
 *
 * Allocation (amd_iommu_domain_alloc() -> do_iommu_domain_alloc() ->
 * protection_domain_alloc(), the core passing no device): a domain ID from
 * the kernel's bitmap (lowest free from 1; none left fails the allocation),
 * then for DMA domains the table amd_iommu_pgtable names (v1 unless
 * amd_iommu=pgtbl_v2 survived init's GIOSup/GT check), for unmanaged ones
 * always v1, for identity none. The domain's page sizes are the table's
 * (v1: amd_iommu_pgsize_bitmap, v2: 4K/2M/1G) and its aperture is
 * [0, dma_max_address()]: ~0 for v1 (the model's addresses end below 2^53,
 * so the aperture ends there), 2^47 - 1 for a 4-level v2 table.
 *
 * Attach (amd_iommu_attach_device(), attach_device(), detach_device()): the
 * domain counts the units its devices sit behind (pdom_attach_iommu(), a
 * tracked pdom_iommu_info each), writes the device table entry and clones it
 * to the device's aliases, then flushes those entries and waits. A v2
 * domain also gives each device a GCR3 table with a domain ID of its own
 * (init_gcr3_table()). Leaving a domain clears the entry and flushes the
 * whole domain.
 *
 * Invalidation (amd_iommu_domain_flush_pages()): one INVALIDATE_IOMMU_PAGES
 * per unit of the domain (v1, by the domain's ID) or per device (v2, by its
 * GCR3 ID, GN set), then a COMPLETION_WAIT per unit. With a unit that caches
 * non-present entries (amd_iommu_np_cache, a virtual IOMMU) a range that is
 * not naturally aligned is sent as its aligned pieces, every map is flushed
 * too (iotlb_sync_map), and the unmap gather syncs before a disjoint range.
 * Growing a v1 table (increase_address_space()) rewrites and flushes every
 * device's entry (amd_iommu_update_and_flush_device_table()). The device
 * IOTLB (ATS) is not modelled: the model's PCI functions have no ATS.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { IommuDomainOps } from '../../iommu/domain.js';
import type { IommuIotlbGather } from '../../iommu/map.js';
import type { AmdIommu, AmdState, DevData } from './state.js';
import {
  IOMMU_DOMAIN_DMA,
  IOMMU_DOMAIN_IDENTITY,
  IOMMU_DOMAIN_SVA,
  IOMMU_DOMAIN_UNMANAGED,
  IommuDomain,
} from '../../iommu/domain.js';
import { iommu_iotlb_gather_add_range, iommu_iotlb_sync } from '../../iommu/map.js';
import { allocPageTable, PageTable } from '../../pgtable/page-table.js';
import { pgtableMemory } from '../../mm/table-memory.js';
import { pci_for_each_dma_alias } from '../../pci/search.js';
import { pci_dev_id } from '../../pci/pci-dev.js';
import { EBUSY, EINVAL, ENOMEM } from '../../kernel/errno.js';
import { amdState, devData } from './state.js';
import {
  CMD_INV_IOMMU_ALL_PAGES_ADDRESS,
  U64,
  iommu_completion_wait,
  iommu_flush_dte,
  queue_inv_iommu_pages,
} from './cmd.js';

/** MAX_DOMAIN_ID */
const MAX_DOMAIN_ID = 65536;
/** PD_MODE_V1 / PD_MODE_V2 (0: no page table, identity) */
export type PdMode = 0 | 1 | 2;
/** The model's v1 tables have five levels (format amd-v1): mode = 5 - the engine's top depth. */
const V1_LEVELS = 5;

/** struct pdom_iommu_info */
interface PdomIommuInfo {
  readonly unit: AmdIommu;
  refcnt: number;
  readonly mem: Allocation;
}

/** struct protection_domain */
export class ProtectionDomain extends IommuDomain {
  /** pd_mode */
  pdMode: PdMode = 0;
  /** iommu_array, by unit index */
  readonly iommuArray = new Map<number, PdomIommuInfo>();
  /** dev_list (list_add(): the newest first) */
  readonly devList: DevData[] = [];
  /** The gather of the unmap in progress (amd_iommu_unmap_pages() hands it to the add_page helper). */
  gather: IommuIotlbGather | null = null;
  /** The root table the device table entries point at. */
  root = 0;

  constructor(
    type: number,
    readonly id: number,
  ) {
    super(type, null, `amd-iommu domain ${id}`);
  }

  /** xa_for_each(&iommu_array): by index. */
  units(): AmdIommu[] {
    return [...this.iommuArray.values()].sort((a, b) => a.unit.index - b.unit.index).map((i) => i.unit);
  }
}

function st(k: Kernel): AmdState {
  const s = amdState(k);
  if (!s) throw new Error('AMD-Vi: no driver state (amd_iommu_init() has not run)');
  return s;
}

/** domain_id_alloc(): the lowest free ID from 1; 0 when all are taken. */
export function domain_id_alloc(s: AmdState): number {
  const id = s.pdIds.alloc();
  if (id > 0 && id < MAX_DOMAIN_ID) return id;
  s.pdIds.free(id);
  return 0;
}

/** domain_id_free() */
export function domain_id_free(s: AmdState, id: number): void {
  if (id > 0 && id < MAX_DOMAIN_ID) s.pdIds.free(id);
}

/** dma_max_address(), for the model's addresses (numbers below 2^53). */
function dma_max_address(s: AmdState): number {
  if (s.pgtable === 'v1') return Number.MAX_SAFE_INTEGER; // ~0ULL
  return 2 ** (12 + 9 * s.gptLevel - 1) - 1;
}

/** The table's root moved (increase_address_space()): the entries follow it. */
function syncRoot(k: Kernel, pdom: ProtectionDomain): void {
  const t = pdom.pgtable;
  if (!t || pdom.pdMode !== 1 || t.cfg.ttbr === pdom.root) return;
  pdom.root = t.cfg.ttbr;
  amd_iommu_update_and_flush_device_table(k, pdom);
}

/**
 * protection_domain_alloc(): the domain, its ID and (paging) its table, or
 * null when an allocation fails, IDs run out or the type is not one of
 * identity, SVA (no table either), DMA, unmanaged.
 */
export function protection_domain_alloc(k: Kernel, type: number): ProtectionDomain | null {
  const s = st(k);
  const mem = k.alloc.alloc('protection_domain', 'amd-iommu', 'protection_domain_alloc');
  if (!mem) return null;
  const id = domain_id_alloc(s);
  if (!id) {
    k.alloc.free(mem, 'protection_domain_alloc');
    return null;
  }
  const pdom = new ProtectionDomain(type, id);
  k.alloc.setOwner(mem, pdom.label);
  pdom.mem = mem;
  const fail = (): null => {
    domain_id_free(s, id);
    k.alloc.free(mem, 'protection_domain_alloc');
    return null;
  };
  const noTable = type === IOMMU_DOMAIN_IDENTITY || type === IOMMU_DOMAIN_SVA;
  if (!noTable && type !== IOMMU_DOMAIN_DMA && type !== IOMMU_DOMAIN_UNMANAGED) return fail();
  // DMA domains take amd_iommu_pgtable; unmanaged ones (handed to users) always v1.
  const v2 = type === IOMMU_DOMAIN_DMA && s.pgtable === 'v2';
  if (!noTable) {
    pdom.pdMode = v2 ? 2 : 1;
    const memory = pgtableMemory(k);
    memory.owner = pdom.label;
    // alloc_io_pgtable_ops(): v1 takes amd_iommu_pgsize_bitmap, v2 its own sizes and the GPT level.
    const t = allocPageTable(v2 ? 'amd-v2' : 'amd-v1', {
      ...(v2 ? { ias: s.gptLevel === 5 ? 57 : 52 } : { pgsize_bitmap: s.options.pgsizeBitmap }),
      memory,
      warn: (w) => k.printk.warn(true, w.site, w.message),
      tlb: {
        // The table's own calls: iommu_v1/v2_map_pages() flushing what a map replaced,
        // amd_iommu_unmap_pages() gathering what an unmap removed.
        tlb_flush_walk: (iova, size) => {
          syncRoot(k, pdom);
          amd_iommu_domain_flush_pages(k, pdom, BigInt(iova), BigInt(size));
        },
        tlb_add_page: (iova, size) => {
          if (pdom.gather) amd_iommu_iotlb_gather_add_page(k, pdom, pdom.gather, iova, size);
        },
      },
    });
    if (!(t instanceof PageTable)) return fail();
    pdom.pgtable = t;
    pdom.root = t.cfg.ttbr;
  }
  s.domids.set(id, pdom);
  return pdom;
}

/** protection_domain_free(): the table, the ID, the domain. */
export function protection_domain_free(k: Kernel, pdom: ProtectionDomain): void {
  const s = st(k);
  k.printk.warn(pdom.devList.length > 0, 'protection_domain_free', 'WARN_ON(!list_empty(&domain->dev_list))');
  if (pdom.pgtable) {
    pgtableMemory(k).owner = pdom.label;
    pdom.pgtable.free();
    pdom.pgtable = null;
  }
  // Nothing of it is cached any more (detach flushed it): its ID may tag another domain next.
  for (const u of s.units) u.iommu.iotlb.drop(pdom);
  if (s.domids.get(pdom.id) === pdom) s.domids.delete(pdom.id);
  domain_id_free(s, pdom.id);
  k.alloc.free(pdom.mem, 'protection_domain_free');
  pdom.mem = null;
}

/** do_iommu_domain_alloc() without a device (amd_iommu_domain_alloc()): the core sets type and ops. */
export function amd_iommu_domain_alloc(k: Kernel, type: number): ProtectionDomain | null {
  const s = st(k);
  const pdom = protection_domain_alloc(k, type);
  if (!pdom) return null;
  pdom.geometry = { aperture_start: 0, aperture_end: dma_max_address(s), force_aperture: true };
  pdom.pgsize_bitmap = pdom.pgtable?.cfg.pgsize_bitmap ?? 0;
  return pdom;
}

/* ---- flushing ---- */

/** __domain_flush_pages(): the domain's units (v1) or its devices' GCR3 IDs (v2). */
function __domain_flush_pages(pdom: ProtectionDomain, address: bigint, size: bigint): void {
  if (pdom.pdMode === 2) {
    for (const dd of pdom.devList)
      queue_inv_iommu_pages(dd.unit.iommu, dd.unit.cmd, pdom, address, size, dd.gcr3?.domid ?? 0, 0);
    return;
  }
  for (const u of pdom.units()) queue_inv_iommu_pages(u.iommu, u.cmd, pdom, address, size, pdom.id, null);
}

/** domain_flush_complete(): wait on every unit of the domain. */
function domain_flush_complete(pdom: ProtectionDomain): void {
  for (const u of pdom.units()) iommu_completion_wait(u.iommu, u.cmd);
}

/** ffs64(x) - 1 for x != 0: the index of the lowest set bit. */
function lowestBit(x: bigint): number {
  let b = 0;
  while (!((x >> BigInt(b)) & 1n)) b++;
  return b;
}

/**
 * amd_iommu_domain_flush_pages(): the range in one command per unit, or with
 * np_cache (below 2^52) as naturally aligned pieces, each the smaller of the
 * address's alignment and the largest power of two in what is left; then
 * the waits.
 */
export function amd_iommu_domain_flush_pages(
  k: Kernel,
  pdom: ProtectionDomain,
  address: bigint,
  size: bigint,
): void {
  const s = st(k);
  if (!s.npCache || size >= 1n << 52n) {
    __domain_flush_pages(pdom, address, size);
    domain_flush_complete(pdom);
    return;
  }
  while (size !== 0n) {
    const sizeAlign = size.toString(2).length - 1;
    const min = address !== 0n ? Math.min(lowestBit(address), sizeAlign) : sizeAlign;
    const flush = 1n << BigInt(min);
    __domain_flush_pages(pdom, address, flush);
    address = (address + flush) & U64;
    size -= flush;
  }
  domain_flush_complete(pdom);
}

/** amd_iommu_domain_flush_all(): every page of the domain, page directories included. */
export function amd_iommu_domain_flush_all(k: Kernel, pdom: ProtectionDomain): void {
  amd_iommu_domain_flush_pages(k, pdom, 0n, CMD_INV_IOMMU_ALL_PAGES_ADDRESS);
}

/** amd_iommu_dev_flush_pasid_pages(): one device's PASID, by its GCR3 ID, then the wait. */
function amd_iommu_dev_flush_pasid_pages(
  dd: DevData,
  pdom: ProtectionDomain,
  pasid: number,
  address: bigint,
  size: bigint,
): void {
  queue_inv_iommu_pages(dd.unit.iommu, dd.unit.cmd, pdom, address, size, dd.gcr3?.domid ?? 0, pasid);
  iommu_completion_wait(dd.unit.iommu, dd.unit.cmd);
}

/** iommu_iotlb_gather_is_disjoint() */
function gather_is_disjoint(g: IommuIotlbGather, iova: number, size: number): boolean {
  const end = iova + size - 1;
  return g.end !== 0 && (end + 1 < g.start || iova > g.end + 1);
}

/** amd_iommu_iotlb_gather_add_page(): one growing range; with np_cache a disjoint one syncs first. */
function amd_iommu_iotlb_gather_add_page(
  k: Kernel,
  pdom: ProtectionDomain,
  g: IommuIotlbGather,
  iova: number,
  size: number,
): void {
  if (st(k).npCache && gather_is_disjoint(g, iova, size)) iommu_iotlb_sync(k, pdom, g);
  iommu_iotlb_gather_add_range(g, iova, size);
}

/* ---- device table ---- */

/** alias_table[devid]: the device's IVRS alias, itself when the IVRS names none. */
export function aliasOf(s: AmdState, dd: DevData): number {
  const seg = dd.dev.pci?.segment ?? 0;
  return s.aliasTable.get(seg)?.get(dd.devid) ?? dd.devid;
}

/** set_dte_entry(): the domain's ID (or the device's GCR3 ID) and table; an old ID is flushed. */
function set_dte_entry(k: Kernel, u: AmdIommu, dd: DevData): void {
  const s = st(k);
  const pdom = dd.domain!;
  const domid = dd.gcr3 ? dd.gcr3.domid : pdom.id;
  const mode = pdom.pdMode === 1 && pdom.pgtable ? V1_LEVELS - pdom.pgtable.top : 0;
  const old = u.dte.get(dd.devid)?.domid ?? 0;
  u.dte.set(dd.devid, { domid, mode });
  // The entry had another domain ID: its translations go (amd_iommu_flush_tlb_domid()).
  if (old) {
    queue_inv_iommu_pages(
      u.iommu,
      u.cmd,
      s.domids.get(old) ?? null,
      0n,
      CMD_INV_IOMMU_ALL_PAGES_ADDRESS,
      old,
      null,
    );
    iommu_completion_wait(u.iommu, u.cmd);
  }
}

/** clear_dte_entry(): valid, no translation, no access, no domain ID. */
function clear_dte_entry(u: AmdIommu, devid: number): void {
  u.dte.set(devid, { domid: 0, mode: 0 });
}

/** clone_aliases(): the entry copied to the IVRS alias and every DMA alias (rlookup follows). */
export function clone_aliases(k: Kernel, u: AmdIommu, dd: DevData): void {
  const s = st(k);
  const pdev = dd.dev.pci;
  if (!pdev) return;
  const devid = pci_dev_id(pdev);
  const clone = (alias: number): number => {
    if (alias === devid) return 0;
    const dte = u.dte.get(devid);
    if (dte) u.dte.set(alias, dte);
    else u.dte.delete(alias);
    // amd_iommu_set_rlookup_table()
    let seg = s.rlookup.get(pdev.segment);
    if (!seg) s.rlookup.set(pdev.segment, (seg = new Map()));
    seg.set(alias, u);
    return 0;
  };
  clone(aliasOf(s, dd));
  pci_for_each_dma_alias(pdev, (_p, alias) => clone(alias));
}

/** device_flush_dte(): INVALIDATE_DEVTAB_ENTRY for each DMA alias, and the IVRS alias. */
function device_flush_dte(k: Kernel, dd: DevData): void {
  const u = dd.unit;
  const pdev = dd.dev.pci;
  if (pdev)
    pci_for_each_dma_alias(pdev, (_p, alias) => {
      iommu_flush_dte(u.cmd, alias);
      return 0;
    });
  else iommu_flush_dte(u.cmd, dd.devid);
  const alias = aliasOf(st(k), dd);
  if (alias !== dd.devid) iommu_flush_dte(u.cmd, alias);
}

/** dev_update_dte(): write or clear the entry, clone it, flush it, wait. */
function dev_update_dte(k: Kernel, dd: DevData, set: boolean): void {
  const u = dd.unit;
  if (set) set_dte_entry(k, u, dd);
  else clear_dte_entry(u, dd.devid);
  clone_aliases(k, u, dd);
  device_flush_dte(k, dd);
  iommu_completion_wait(u.iommu, u.cmd);
}

/** amd_iommu_update_and_flush_device_table(): every device of the domain, after its table grew. */
function amd_iommu_update_and_flush_device_table(k: Kernel, pdom: ProtectionDomain): void {
  for (const dd of pdom.devList) {
    set_dte_entry(k, dd.unit, dd);
    clone_aliases(k, dd.unit, dd);
  }
  for (const dd of pdom.devList) device_flush_dte(k, dd);
  domain_flush_complete(pdom);
}

/* ---- GCR3 tables (v2 page tables, identity with PASIDs) ---- */

/** get_gcr3_levels() */
function get_gcr3_levels(s: AmdState, pasids: number): number {
  if (pasids === -1) return s.maxGlx;
  const levels = pasids <= 1 ? 0 : Math.ceil(Math.log2(pasids)); // get_count_order()
  return levels ? Math.ceil(levels / 9) - 1 : levels;
}

/** setup_gcr3_table(): a per-device domain ID and the root table. */
function setup_gcr3_table(k: Kernel, s: AmdState, dd: DevData, pasids: number): number {
  const levels = get_gcr3_levels(s, pasids);
  if (levels > s.maxGlx) return -EINVAL;
  if (dd.gcr3) return -EBUSY;
  // Not checked against 0: the kernel goes on with whatever domain_id_alloc() gave.
  const domid = domain_id_alloc(s);
  const root = k.alloc.alloc('gcr3 table', dd.dev, 'setup_gcr3_table');
  if (!root) {
    domain_id_free(s, domid);
    return -ENOMEM;
  }
  dd.gcr3 = { domid, glx: levels, root, path: [] };
  return 0;
}

/** free_gcr3_table(): the tables under the root as free_gcr3_tbl_level1/2() free them, the ID, the root. */
function free_gcr3_table(k: Kernel, s: AmdState, dd: DevData): void {
  const g = dd.gcr3;
  if (!g) return;
  if (g.glx === 2) {
    // free_gcr3_tbl_level2(): frees the level-0 tables below each level-1 table, not the level-1 table itself.
    if (g.path.length === 2) k.alloc.free(g.path[1], 'free_gcr3_tbl_level1');
  } else if (g.glx === 1) {
    for (const p of g.path) k.alloc.free(p, 'free_gcr3_tbl_level1');
  } else k.printk.warnOnce(g.glx !== 0, 'free_gcr3_table', 'WARN_ON_ONCE(gcr3_info->glx != 0)');
  if (g.domid) s.domids.delete(g.domid);
  domain_id_free(s, g.domid);
  k.alloc.free(g.root, 'free_gcr3_table');
  dd.gcr3 = null;
}

/** update_gcr3(): PASID 0's entry (its path allocated as needed), then flush that PASID. */
function update_gcr3(k: Kernel, dd: DevData, pdom: ProtectionDomain): number {
  const g = dd.gcr3!;
  // __get_gcr3_pte(..., alloc = true): one table per level above 0 on the way down.
  while (g.path.length < g.glx) {
    const t = k.alloc.alloc('gcr3 table', dd.dev, '__get_gcr3_pte');
    if (!t) return -ENOMEM;
    g.path.push(t);
  }
  amd_iommu_dev_flush_pasid_pages(dd, pdom, 0, 0n, CMD_INV_IOMMU_ALL_PAGES_ADDRESS);
  return 0;
}

/** pdom_is_sva_capable(): v2 tables, or identity. */
function pdom_is_sva_capable(pdom: ProtectionDomain): boolean {
  return pdom.pdMode === 2 || pdom.type === IOMMU_DOMAIN_IDENTITY;
}

/** init_gcr3_table() */
function init_gcr3_table(k: Kernel, dd: DevData, pdom: ProtectionDomain): number {
  const s = st(k);
  if (pdom.type === IOMMU_DOMAIN_IDENTITY && !dd.pasidSup) return 0;
  let ret = setup_gcr3_table(k, s, dd, dd.maxPasids > 0 ? dd.maxPasids : 1);
  if (ret) return ret;
  if (dd.gcr3!.domid) s.domids.set(dd.gcr3!.domid, pdom);
  if (pdom.pdMode !== 2) return 0;
  ret = update_gcr3(k, dd, pdom);
  if (ret) free_gcr3_table(k, s, dd);
  return ret;
}

/** destroy_gcr3_table() */
function destroy_gcr3_table(k: Kernel, dd: DevData, pdom: ProtectionDomain): void {
  if (pdom.pdMode === 2 && dd.gcr3) update_gcr3(k, dd, pdom);
  free_gcr3_table(k, st(k), dd);
}

/* ---- attach and detach ---- */

/** pdom_attach_iommu(): one more device of the domain behind this unit. */
function pdom_attach_iommu(k: Kernel, u: AmdIommu, pdom: ProtectionDomain): number {
  const info = pdom.iommuArray.get(u.index);
  if (info) {
    info.refcnt++;
    return 0;
  }
  const mem = k.alloc.alloc('pdom_iommu_info', pdom.label, 'pdom_attach_iommu');
  if (!mem) return -ENOMEM;
  pdom.iommuArray.set(u.index, { unit: u, refcnt: 1, mem });
  // The instance whose IOTLB the model fills for the domain's translations.
  if (!pdom.iommu) pdom.iommu = u.iommu;
  return 0;
}

/** pdom_detach_iommu() */
function pdom_detach_iommu(k: Kernel, u: AmdIommu, pdom: ProtectionDomain): void {
  const info = pdom.iommuArray.get(u.index);
  if (!info) return;
  if (--info.refcnt > 0) return;
  pdom.iommuArray.delete(u.index);
  k.alloc.free(info.mem, 'pdom_detach_iommu');
  if (pdom.iommu === u.iommu) pdom.iommu = pdom.units()[0]?.iommu ?? null;
}

/** attach_device() */
function attach_device(k: Kernel, dd: DevData, pdom: ProtectionDomain): number {
  if (dd.domain) return -EBUSY;
  let ret = pdom_attach_iommu(k, dd.unit, pdom);
  if (ret) return ret;
  if (pdom_is_sva_capable(pdom)) {
    ret = init_gcr3_table(k, dd, pdom);
    if (ret) {
      pdom_detach_iommu(k, dd.unit, pdom);
      return ret;
    }
  }
  dd.domain = pdom;
  pdom.devList.unshift(dd);
  dev_update_dte(k, dd, true);
  return 0;
}

/** detach_device(): clear and flush the entry, flush the domain, let go of it. */
export function detach_device(k: Kernel, dd: DevData): void {
  const pdom = dd.domain;
  if (k.printk.warn(!pdom, 'detach_device', 'WARN_ON(!dev_data->domain)', dd.dev.name) || !pdom) return;
  dev_update_dte(k, dd, false);
  amd_iommu_domain_flush_all(k, pdom);
  const i = pdom.devList.indexOf(dd);
  if (i >= 0) pdom.devList.splice(i, 1);
  if (pdom_is_sva_capable(pdom)) destroy_gcr3_table(k, dd, pdom);
  dd.domain = null;
  pdom_detach_iommu(k, dd.unit, pdom);
}

/** amd_iommu_attach_device() */
function amd_iommu_attach_device(k: Kernel, domain: IommuDomain, dev: Device): number {
  const dd = devData(dev);
  if (!dd) return -EINVAL;
  const pdom = domain as ProtectionDomain;
  if (dd.domain === pdom) return 0;
  if (dd.domain) detach_device(k, dd);
  return attach_device(k, dd, pdom);
}

/** blocked_domain_attach_device(): out of any domain, the entry cleared. */
export function blocked_domain_attach_device(k: Kernel, _domain: IommuDomain, dev: Device): number {
  const dd = devData(dev);
  if (!dd) return -EINVAL;
  if (dd.domain) detach_device(k, dd);
  dev_update_dte(k, dd, false);
  return 0;
}

/* ---- the domain ops ---- */

export const amd_domain_ops: IommuDomainOps = {
  attach_dev: amd_iommu_attach_device,
  /** amd_iommu_enforce_cache_coherency(): IOMMU_PTE_FC is always set. */
  enforce_cache_coherency: () => true,
  /** amd_iommu_map_pages() -> iommu_v1/v2_map_pages(); a domain without a table has no map_pages: -EINVAL. */
  map_pages(k, domain, iova, paddr, pgsize, pgcount, prot, out) {
    const pdom = domain as ProtectionDomain;
    const t = pdom.pgtable;
    if (!t) return -EINVAL;
    pgtableMemory(k).owner = pdom.label;
    const ret = t.mapPagesTo(out, iova, paddr, pgsize, pgcount, prot);
    syncRoot(k, pdom);
    return ret;
  },
  /** amd_iommu_unmap_pages(): what the table removed joins the gather. */
  unmap_pages(k, domain, iova, pgsize, pgcount, gather) {
    const pdom = domain as ProtectionDomain;
    const t = pdom.pgtable;
    if (!t) return 0;
    pgtableMemory(k).owner = pdom.label;
    pdom.gather = gather;
    try {
      return t.unmapPages(iova, pgsize, pgcount);
    } finally {
      pdom.gather = null;
    }
  },
  /** amd_iommu_iotlb_sync_map() -> domain_flush_np_cache(): only a unit caching non-present entries needs it. */
  iotlb_sync_map(k, domain, iova, size) {
    const pdom = domain as ProtectionDomain;
    if (pdom.pgtable && st(k).npCache) amd_iommu_domain_flush_pages(k, pdom, BigInt(iova), BigInt(size));
    return 0;
  },
  iova_to_phys(_k, domain, iova) {
    return domain.pgtable?.iovaToPhys(iova) ?? 0;
  },
  /**
   * amd_iommu_iotlb_sync(): the gathered range, end - start + 1 in u64 (an
   * empty gather, start ULONG_MAX and end 0, is a 2-byte range at the top).
   */
  iotlb_sync(k, domain, gather) {
    const empty = gather.start > gather.end;
    const start = empty ? U64 : BigInt(gather.start);
    const size = empty ? 2n : BigInt(gather.end - gather.start + 1);
    amd_iommu_domain_flush_pages(k, domain as ProtectionDomain, start, size);
  },
  /** amd_iommu_flush_iotlb_all() */
  flush_iotlb_all(k, domain) {
    amd_iommu_domain_flush_all(k, domain as ProtectionDomain);
  },
  /** amd_iommu_domain_free() */
  free(k, domain) {
    protection_domain_free(k, domain as ProtectionDomain);
  },
};
