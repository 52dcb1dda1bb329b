// SPDX-License-Identifier: GPL-2.0-only
/**
 * An Exynos System MMU paging domain that translates
 * (drivers/iommu/exynos-iommu.c, Linux 6.12): struct exynos_iommu_domain with
 * its level-1 table and level-2 tables in the kernel's page-table pool
 * (formats/exynos-sysmmu.ts, the rules of rules/exynos-iommu.ts), the TLB
 * invalidations the driver sends to every System MMU on the domain, and the
 * lines exynos_sysmmu_irq() prints for a fault.
 *
 * - The hardware version each System MMU reports (REG_MMU_VERSION, read by
 *   __sysmmu_get_version()) is data here, by SoC (sysmmuVersion()).
 * - exynos_iommu_init() (core_initcall): the level-2 table kmem_cache and
 *   zero_lv2_table, one shared table of faults every new domain's level-1
 *   entries link to (ZERO_LV2LINK); never freed (the model's teardown does).
 * - exynos_iommu_domain_alloc_paging(): the domain, the 16 KiB level-1 table
 *   (filled with ZERO_LV2LINK), lv2entcnt; aperture [0, ~0UL], forced.
 * - exynos_iommu_unmap(): exynos_iommu_tlb_invalidate_entry() for every
 *   client: sysmmu_tlb_invalidate_entry() on an active System MMU, one
 *   flush_entry write (v2: up to 64, one per 4 KiB). A new level-2 table in
 *   place of ZERO_LV2LINK: sysmmu_tlb_invalidate_flpdcache() on v3.3 and
 *   later (v5+: flush_all, else one flush_entry). No iotlb_sync(), no flush
 *   queue (no IOMMU_CAP_DEFERRED_FLUSH), no completion wait.
 * - A System MMU counts as active (data->active) while it is on a paging
 *   domain: its master is the one doing DMA (runtime PM is not modelled), and
 *   the TLB flush of __sysmmu_enable() at power-up is not counted.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { Device } from '../../base/device.js';
import type { IommuDomainOps } from '../../iommu/domain.js';
import type { IommuFault } from '../../iommu/translate.js';
import type { SysmmuPgEnt } from '../../pgtable/formats/exynos-sysmmu.js';
import type { SysmmuDrvdata } from './exynos-iommu.js';
import { IommuDomain } from '../../iommu/domain.js';
import { PageTable, allocPageTable } from '../../pgtable/page-table.js';
import { pgtableMemory } from '../../mm/table-memory.js';
import { exynosSysmmuFormat } from '../../pgtable/formats/index.js';
import { LV2TABLE_SIZE, NUM_LV1ENTRIES, SPAGE_SIZE } from '../../pgtable/formats/exynos-sysmmu.js';
import type { ExynosLayout } from '../../pgtable/formats/exynos-sysmmu.js';
import { exynosTakePrinted } from '../../pgtable/rules/exynos-iommu.js';
import { ENODEV } from '../../kernel/errno.js';
import { of_compatible_list } from '../../firmware/of/of-base.js';

/** MAKE_MMU_VER(maj, min) */
export const MAKE_MMU_VER = (maj: number, min: number): number => ((maj & 0xf) << 7) | (min & 0x7f);
/** MMU_MAJ_VER() */
export const MMU_MAJ_VER = (v: number): number => v >> 7;

/**
 * What REG_MMU_VERSION reads on each SoC's System MMUs, by the root
 * compatible: Exynos5433 and Exynos7 have v5 (the controllers the v5 support
 * was written for), Exynos850 and ExynosAutoV9 v7 (ExynosAutoV9's with the
 * VM register set, has_vcr). The minor number changes nothing for v5 and v7.
 * A SoC not listed (a test tree) reads as the Exynos5433's.
 */
const SYSMMU_VERSIONS: Readonly<Record<string, number>> = {
  'samsung,exynos5433': MAKE_MMU_VER(5, 0),
  'samsung,exynos7': MAKE_MMU_VER(5, 0),
  'samsung,exynos850': MAKE_MMU_VER(7, 0),
  'samsung,exynosautov9': MAKE_MMU_VER(7, 0),
};

/** __sysmmu_get_version() for a System MMU's device. */
export function sysmmuVersion(dev: Device): number {
  let root = dev.fwnode;
  while (root?.parent) root = root.parent;
  const compat = of_compatible_list(root ?? null).find((c) => c in SYSMMU_VERSIONS);
  return compat ? SYSMMU_VERSIONS[compat] : MAKE_MMU_VER(5, 0);
}

/** struct exynos_iommu_domain: its tables and the System MMUs (clients) translating through it. */
export class ExynosIommuDomain extends IommuDomain {
  readonly clients = new Set<SysmmuDrvdata>();
  constructor(
    mem: Allocation,
    /** domain->pgtable (16 KiB) and the level-2 tables under it. */
    readonly table: PageTable,
    /** The free level-2 entry counters (iommu_alloc_pages order 1). */
    readonly lv2entcnt: Allocation,
  ) {
    super(0, null, 'exynos-iommu paging');
    this.mem = mem;
    this.pgtable = table;
    // ~0UL: the whole 64-bit space (sysmmu_iova_t then keeps 32 bits of it).
    this.geometry = { aperture_start: 0, aperture_end: 2 ** 64 - 1, force_aperture: true };
  }

  /** list_add_tail(&data->domain_node, &domain->clients) */
  addClient(data: SysmmuDrvdata): void {
    this.clients.add(data);
    if (!this.iommu) this.iommu = data.iommu;
  }

  /** list_del_init(&data->domain_node) */
  removeClient(data: SysmmuDrvdata): void {
    this.clients.delete(data);
    data.iommu.iotlb.drop(this);
    if (this.iommu === data.iommu) this.iommu = [...this.clients][0]?.iommu ?? null;
  }
}

export const to_exynos_domain = (d: IommuDomain): ExynosIommuDomain | null =>
  d instanceof ExynosIommuDomain ? d : null;

/** exynos_iommu_init()'s statics: the kmem_cache and zero_lv2_table. */
export interface ExynosInit {
  readonly cache: Allocation;
  /** The zero level-2 table's physical address, in the page-table pool. */
  readonly zeroLv2: number;
}

/**
 * exynos_iommu_init(): the level-2 kmem_cache and the zero level-2 table;
 * null after the pr_err() when either allocation fails (the driver is then
 * not registered). Both stay for the kernel's life; teardown frees them.
 */
export function exynos_iommu_init(k: Kernel): ExynosInit | null {
  const cache = k.alloc.alloc('kmem_cache exynos-iommu-lv2table', 'exynos-iommu', 'exynos_iommu_init');
  if (!cache) {
    k.printk.log('err', 'kernel', 'exynos_iommu_init: Failed to create kmem cache');
    return null;
  }
  const memory = pgtableMemory(k);
  memory.owner = 'exynos-iommu zero_lv2_table';
  const zeroLv2 = memory.alloc(LV2TABLE_SIZE);
  if (zeroLv2 < 0) {
    k.printk.log('err', 'kernel', 'exynos_iommu_init: Failed to allocate zero level2 page table');
    k.alloc.free(cache, 'exynos_iommu_init');
    return null;
  }
  k.teardownHooks.push(() => {
    memory.free(zeroLv2, LV2TABLE_SIZE);
    k.alloc.free(cache, 'teardown');
  });
  return { cache, zeroLv2 };
}

/** exynos_iommu_domain_alloc_paging() past BUG_ON(PG_ENT_SHIFT < 0 || !dma_dev). */
export function exynos_iommu_paging_domain_alloc(
  k: Kernel,
  pgEnt: SysmmuPgEnt,
  init: ExynosInit,
): IommuDomain | null {
  const site = 'exynos_iommu_domain_alloc_paging';
  const mem = k.alloc.alloc('exynos_iommu_domain', 'exynos-iommu', site);
  if (!mem) return null;
  const memory = pgtableMemory(k);
  memory.owner = 'exynos-iommu paging';
  let domain: ExynosIommuDomain | null = null;
  // iommu_alloc_pages(GFP_KERNEL, 2): the level-1 table.
  const t = allocPageTable(exynosSysmmuFormat(pgEnt, init.zeroLv2), {
    memory,
    warn: (w) => k.printk.warn(true, w.site, w.message),
    tlb: {
      tlb_flush_walk: (iova) => {
        if (domain) for (const data of domain.clients) sysmmu_tlb_invalidate_flpdcache(data, domain, iova);
      },
      tlb_add_page: (iova, size) => {
        if (domain) for (const data of domain.clients) sysmmu_tlb_invalidate_entry(data, domain, iova, size);
      },
    },
  });
  if (!(t instanceof PageTable)) {
    k.alloc.free(mem, site);
    return null;
  }
  const lv2entcnt = k.alloc.alloc('exynos_iommu_domain lv2entcnt', 'exynos-iommu', site);
  if (!lv2entcnt) {
    memory.owner = 'exynos-iommu paging';
    t.free();
    k.alloc.free(mem, site);
    return null;
  }
  // Workaround for System MMU v3.3 to prevent caching 1MiB mapping.
  const link = (t.layout as ExynosLayout).zeroLv2Link | 0;
  for (let i = 0; i < NUM_LV1ENTRIES; i++) t.pgd[i] = link;
  domain = new ExynosIommuDomain(mem, t, lv2entcnt);
  return domain;
}

/** exynos_iommu_domain_free(), the tables and counters (the client list is the driver's). */
export function exynos_iommu_domain_free_tables(k: Kernel, d: ExynosIommuDomain): void {
  pgtableMemory(k).owner = d.label;
  d.table.free();
  d.pgtable = null;
  const site = 'exynos_iommu_domain_free';
  k.alloc.free(d.lv2entcnt, site);
  k.alloc.free(d.mem, site);
  d.mem = null;
}

/** sysmmu_tlb_invalidate_flpdcache(): v3.3 and later; v5+ flush the whole TLB, else one entry. */
function sysmmu_tlb_invalidate_flpdcache(data: SysmmuDrvdata, d: ExynosIommuDomain, iova: number): void {
  if (!data.active || data.version < MAKE_MMU_VER(3, 3)) return;
  if (data.version >= MAKE_MMU_VER(5, 0)) data.iommu.iotlb.invalidateAll(d);
  else data.iommu.iotlb.invalidateRange(d, iova, iova + SPAGE_SIZE - 1, SPAGE_SIZE, 1);
}

/** sysmmu_tlb_invalidate_entry(): one flush_entry write, or on v2 one per 4 KiB page up to 64. */
function sysmmu_tlb_invalidate_entry(
  data: SysmmuDrvdata,
  d: ExynosIommuDomain,
  iova: number,
  size: number,
): void {
  if (!data.active) return;
  const num_inv = MMU_MAJ_VER(data.version) === 2 ? Math.min(size / SPAGE_SIZE, 64) : 1;
  data.iommu.iotlb.invalidateRange(d, iova, iova + size - 1, SPAGE_SIZE, num_inv);
}

/** The map/unmap/translate half of exynos_iommu_ops.default_domain_ops. */
export const exynos_iommu_domain_ops: Required<
  Pick<IommuDomainOps, 'map_pages' | 'unmap_pages' | 'iova_to_phys'>
> = {
  /** exynos_iommu_map() */
  map_pages(k, domain, iova, paddr, pgsize, pgcount, prot, out) {
    const d = to_exynos_domain(domain);
    if (!d) return -ENODEV;
    pgtableMemory(k).owner = d.label;
    const ret = d.table.mapPagesTo(out, iova, paddr, pgsize, pgcount, prot);
    for (const line of exynosTakePrinted(d.table)) k.printk.log('err', 'kernel', line);
    return ret;
  },
  /** exynos_iommu_unmap() */
  unmap_pages(k, domain, iova, pgsize, pgcount) {
    const d = to_exynos_domain(domain);
    if (!d) return 0;
    pgtableMemory(k).owner = d.label;
    const size = d.table.unmapPages(iova, pgsize, pgcount);
    for (const line of exynosTakePrinted(d.table)) k.printk.log('err', 'kernel', line);
    return size;
  },
  /** exynos_iommu_iova_to_phys() */
  iova_to_phys(_k, domain, iova) {
    return to_exynos_domain(domain)?.table.iovaToPhys(iova) ?? 0;
  },
};

/**
 * exynos_sysmmu_irq(): the fault as get_fault_info() decodes it, and
 * show_fault_information()'s line (its dev_dbg() lines are off in a
 * distribution kernel). report_iommu_fault() then finds no handler on the
 * domain, so the handler ends in panic("Unrecoverable System MMU Fault!").
 * Names: v1..v3 read an untranslated page as "PAGE" of type READ whatever
 * the access (sysmmu_v1_faults[0]), a denied access as "ACCESS PROTECTION"
 * on the AR or AW channel; v5 report "PAGE" or "ACCESS PROTECTION" on the
 * channel of the access; v7 the same names, the direction from fault_info.
 */
export function exynos_sysmmu_irq_lines(data: SysmmuDrvdata, f: Omit<IommuFault, 'log'>): string[] {
  const major = MMU_MAJ_VER(data.version);
  const name = f.reason === 'permission' ? 'ACCESS PROTECTION' : 'PAGE';
  const write = major < 5 && name === 'PAGE' ? false : f.write;
  const addr = f.iova % 2 ** 32;
  const master = data.master?.name ?? '(null)';
  return [
    `${master}: [${write ? 'WRITE' : 'READ'}] ${name} FAULT occurred at 0x${addr.toString(16)}`,
    'Kernel panic - not syncing: Unrecoverable System MMU Fault!',
  ];
}
