// SPDX-License-Identifier: GPL-2.0-only
/**
 * A Rockchip paging domain that translates (drivers/iommu/rockchip-iommu.c,
 * Linux 6.12): struct rk_iommu_domain with its directory table and page
 * tables in the kernel's page-table pool (formats/rockchip.ts, the map/unmap
 * rules of rules/rockchip-iommu.ts), the IOTLB shootdowns the driver issues,
 * and the lines rk_iommu_irq() prints for a page fault.
 *
 * - rk_iommu_domain_alloc_paging(): the domain, then one 4 KiB page for the
 *   DT (iommu_alloc_page(GFP_KERNEL | rk_ops->gfp_flags)); aperture
 *   [0, DMA_BIT_MASK(32)], forced; the page sizes are the ops' bitmap, which
 *   the core copies (4 KiB to 4 MiB).
 * - rk_iommu_map(): rk_iommu_zap_iova_first_last() after a successful map:
 *   one RK_MMU_ZAP_ONE_LINE write for the first page and one for the last
 *   (when the size is over 4 KiB), per MMU of every instance on the domain.
 * - rk_iommu_unmap(): rk_iommu_zap_iova() of what was cleared: a
 *   ZAP_ONE_LINE write per 4 KiB page per MMU, nothing when nothing was
 *   cleared. There is no iotlb_sync(), no flush_iotlb_all() and no
 *   IOMMU_CAP_DEFERRED_FLUSH: every DMA domain is strict and each write is
 *   its own invalidation (no completion wait: the model counts no syncs).
 * - rk_iommu_enable(): the DT's mk_dtentries() into RK_MMU_DTE_ADDR and a
 *   RK_MMU_CMD_ZAP_CACHE per MMU, at power-up (not counted, see below);
 *   rk_iommu_disable(): paging off, DTE_ADDR 0.
 * - rk_iommu_irq(): "Page fault at %pad of type %s" and log_iova()'s two
 *   lines walking the tables the instance is on, then RK_MMU_CMD_ZAP_CACHE
 *   on the faulting MMU (the model takes the first).
 *
 * The IOTLB the model caches this domain's walks in is that of the first
 * instance that attached (domain.iommu); the zaps go to every instance.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuDomainOps } from '../../iommu/domain.js';
import type { IommuFault } from '../../iommu/translate.js';
import type { RkIommu } from './rockchip-iommu.js';
import type { RkVariant } from '../../pgtable/formats/rockchip.js';
import { IommuDomain } from '../../iommu/domain.js';
import { PageTable, allocPageTable } from '../../pgtable/page-table.js';
import { pgtableMemory } from '../../mm/table-memory.js';
import { ENODEV } from '../../kernel/errno.js';
import { pgtableFormats } from '../../pgtable/formats/index.js';
import {
  RK_DTE_PT_VALID,
  RK_PTE_PAGE_FLAGS_MASK,
  RK_PTE_PAGE_VALID,
  SPAGE_SIZE,
  rkIovaDteIndex,
  rkIovaPageOffset,
  rkIovaPteIndex,
  rkOps,
} from '../../pgtable/formats/rockchip.js';
import { rkTakePrinted } from '../../pgtable/rules/rockchip-iommu.js';

/** struct rk_iommu_domain: its tables and the instances translating through it. */
export class RkIommuDomain extends IommuDomain {
  /** rk_domain->iommus, in attach order. */
  readonly iommus: RkIommu[] = [];

  constructor(
    readonly variant: RkVariant,
    /** rk_domain->dt and every page table under it. */
    readonly table: PageTable,
  ) {
    super(0, null, 'rockchip-iommu paging');
    this.pgtable = table;
    this.geometry = { aperture_start: 0, aperture_end: 0xffff_ffff, force_aperture: true };
  }

  /** list_add_tail(&iommu->node, &rk_domain->iommus) */
  attach(iommu: RkIommu): void {
    this.iommus.push(iommu);
    if (!this.iommu) this.iommu = iommu.iommu;
  }

  /** list_del_init(&iommu->node) */
  detach(iommu: RkIommu): void {
    const i = this.iommus.indexOf(iommu);
    if (i >= 0) this.iommus.splice(i, 1);
    iommu.iommu.iotlb.drop(this);
    if (this.iommu === iommu.iommu) this.iommu = this.iommus[0]?.iommu ?? null;
  }
}

const asRk = (domain: IommuDomain): RkIommuDomain | null => (domain instanceof RkIommuDomain ? domain : null);

/** rk_iommu_domain_alloc_paging() past the dma_dev check: the domain and its DT. */
export function rk_iommu_paging_domain_alloc(k: Kernel, variant: RkVariant): IommuDomain | null {
  const site = 'rk_iommu_domain_alloc_paging';
  const mem = k.alloc.alloc('rk_iommu_domain', 'rockchip-iommu', site);
  if (!mem) return null;
  const memory = pgtableMemory(k);
  memory.owner = 'rockchip-iommu paging';
  // iommu_alloc_page() for the DT; dma_map_single() of it cannot fail in the model.
  const t = allocPageTable(pgtableFormats[`rockchip-iommu-${variant}`], {
    memory,
    warn: (w) => k.printk.warn(true, w.site, w.message),
  });
  if (!(t instanceof PageTable)) {
    k.alloc.free(mem, site);
    return null;
  }
  const d = new RkIommuDomain(variant, t);
  d.mem = mem;
  return d;
}

/** rk_iommu_domain_free(): WARNs if an instance still translates through it; every table goes. */
export function rk_iommu_domain_free(k: Kernel, domain: IommuDomain): void {
  const rk = asRk(domain);
  if (!rk) return;
  k.printk.warn(
    rk.iommus.length > 0,
    'rk_iommu_domain_free',
    `WARN_ON(!list_empty(&rk_domain->iommus)): still attached to ${rk.iommus.map((i) => i.iommu.name).join(', ')}`,
  );
  for (const i of rk.iommus) i.iommu.iotlb.drop(rk);
  pgtableMemory(k).owner = rk.label;
  rk.table.free();
  rk.pgtable = null;
  k.alloc.free(rk.mem, 'rk_iommu_domain_free');
  rk.mem = null;
}

/** rk_iommu_zap_lines(): a RK_MMU_ZAP_ONE_LINE write per 4 KiB page, on each of the instance's MMUs. */
function rk_iommu_zap_lines(iommu: RkIommu, domain: IommuDomain, iova: number, size: number): void {
  const pages = Math.ceil(size / SPAGE_SIZE);
  if (pages === 0 || iommu.num_mmu === 0) return;
  iommu.iommu.iotlb.invalidateRange(domain, iova, iova + size - 1, SPAGE_SIZE, pages * iommu.num_mmu);
}

/** rk_iommu_zap_iova(): every instance on the domain (each counted as powered on). */
function rk_iommu_zap_iova(domain: RkIommuDomain, iova: number, size: number): void {
  for (const iommu of domain.iommus) rk_iommu_zap_lines(iommu, domain, iova, size);
}

/** rk_iommu_zap_iova_first_last() */
function rk_iommu_zap_iova_first_last(domain: RkIommuDomain, iova: number, size: number): void {
  rk_iommu_zap_iova(domain, iova, SPAGE_SIZE);
  if (size > SPAGE_SIZE) rk_iommu_zap_iova(domain, iova + size - SPAGE_SIZE, SPAGE_SIZE);
}

/**
 * rk_iommu_enable(): the DT goes into RK_MMU_DTE_ADDR and each MMU's IOTLB is
 * zapped whole. It runs when the instance is runtime-active (at attach, or
 * at resume when its master powers up), part of the power-up sequence with
 * the force reset: the model drops what was cached without counting it as
 * an invalidation, so a boot counts none.
 */
export function rk_iommu_enable(iommu: RkIommu, domain: RkIommuDomain): void {
  iommu.iommu.iotlb.drop(domain);
}

/** rk_iommu_disable(): paging off; nothing it cached is used again (the next enable zaps it all). */
export function rk_iommu_disable(iommu: RkIommu, domain: RkIommuDomain): void {
  iommu.iommu.iotlb.drop(domain);
}

/** The map/unmap/translate half of rk_iommu_ops.default_domain_ops. */
export const rk_iommu_domain_ops: Required<
  Pick<IommuDomainOps, 'map_pages' | 'unmap_pages' | 'iova_to_phys'>
> = {
  /** rk_iommu_map() */
  map_pages(k, domain, iova, paddr, pgsize, pgcount, prot, out) {
    const rk = asRk(domain);
    if (!rk) return -ENODEV;
    pgtableMemory(k).owner = rk.label;
    const ret = rk.table.mapPagesTo(out, iova, paddr, pgsize, pgcount, prot);
    for (const line of rkTakePrinted(rk.table)) k.printk.log('err', 'kernel', line);
    if (ret === 0) rk_iommu_zap_iova_first_last(rk, iova, pgsize);
    return ret;
  },
  /** rk_iommu_unmap(): the shootdown covers what was cleared. */
  unmap_pages(k, domain, iova, pgsize, pgcount) {
    const rk = asRk(domain);
    if (!rk) return 0;
    const size = rk.table.unmapPages(iova, pgsize, pgcount);
    rk_iommu_zap_iova(rk, iova, size);
    return size;
  },
  /** rk_iommu_iova_to_phys() */
  iova_to_phys(_k, domain, iova) {
    return asRk(domain)?.table.iovaToPhys(iova) ?? 0;
  },
};

/** %pad / %pa on arm64. */
const pad64 = (v: number): string => `0x${v.toString(16).padStart(16, '0')}`;
/** The kernel's %#0Nx: "0x" counts in the width, and zero still gets its prefix. */
const altHex = (v: number, width: number): string =>
  `0x${v.toString(16).padStart(Math.max(width - 2, 1), '0')}`;

/**
 * rk_iommu_irq() for a page fault on the instance's first MMU: the fault line,
 * log_iova() walking the tables RK_MMU_DTE_ADDR points at (those of the
 * instance's current domain), then RK_MMU_CMD_ZAP_CACHE. The fault address
 * register is 32 bits wide.
 */
export function rk_iommu_irq_lines(iommu: RkIommu, f: Omit<IommuFault, 'log'>): string[] {
  const iova = f.iova % 2 ** 32;
  const lines = [`Page fault at ${pad64(iova)} of type ${f.write ? 'write' : 'read'}`];
  const domain = iommu.domain instanceof RkIommuDomain ? iommu.domain : null;
  if (!domain) {
    // Paging is off on the identity domain, so this never happens; the driver says so if it does.
    lines.push('Page fault while iommu not attached to domain?');
    return lines;
  }
  lines.push(...log_iova(domain, iova));
  iommu.iommu.iotlb.invalidateAll(domain);
  return lines;
}

/** log_iova(): the DTE and PTE the IOVA selects, as the hardware saw them. */
export function log_iova(domain: RkIommuDomain, iova: number): string[] {
  const ops = rkOps[domain.variant];
  const mem = domain.table.memory;
  const dteIndex = rkIovaDteIndex(iova);
  const pteIndex = rkIovaPteIndex(iova);
  const pageOffset = rkIovaPageOffset(iova);
  // RK_MMU_DTE_ADDR holds mk_dtentries(dt_dma); pt_address() takes it back.
  const mmuDteAddrPhys = ops.pt_address(ops.mk_dtentries(domain.table.cfg.ttbr));
  const dteAddrPhys = mmuDteAddrPhys + 4 * dteIndex;
  const dte = mem.read32(dteAddrPhys) ?? 0;
  let pteAddrPhys = 0;
  let pte = 0;
  let pageAddrPhys = 0;
  let pageFlags = 0;
  if (dte & RK_DTE_PT_VALID) {
    pteAddrPhys = ops.pt_address(dte) + pteIndex * 4;
    pte = mem.read32(pteAddrPhys) ?? 0;
    if (pte & RK_PTE_PAGE_VALID) {
      pageAddrPhys = ops.pt_address(pte) + pageOffset;
      pageFlags = pte & RK_PTE_PAGE_FLAGS_MASK;
    }
  }
  return [
    `iova = ${pad64(iova)}: dte_index: ${altHex(dteIndex, 3)} pte_index: ${altHex(pteIndex, 3)} page_offset: ${altHex(pageOffset, 3)}`,
    `mmu_dte_addr: ${pad64(mmuDteAddrPhys)} dte@${pad64(dteAddrPhys)}: ${altHex(dte, 8)} valid: ${dte & RK_DTE_PT_VALID} pte@${pad64(pteAddrPhys)}: ${altHex(pte, 8)} valid: ${pte & RK_PTE_PAGE_VALID} page@${pad64(pageAddrPhys)} flags: ${altHex(pageFlags, 3)}`,
  ];
}
