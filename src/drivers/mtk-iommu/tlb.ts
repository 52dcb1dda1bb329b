// SPDX-License-Identifier: GPL-2.0-only
/**
 * An M4U paging domain's map, unmap and TLB maintenance (drivers/iommu/
 * mtk_iommu.c, Linux 6.12): mtk_iommu_map(), mtk_iommu_unmap(),
 * mtk_iommu_iova_to_phys(), mtk_iommu_iotlb_sync(), mtk_iommu_sync_map(),
 * mtk_iommu_flush_iotlb_all(), and the two TLB operations they use,
 * mtk_iommu_tlb_flush_range_sync() and mtk_iommu_tlb_flush_all().
 *
 * The domain's table is the M4U list's shared ARM v7s table (domain.pgtable,
 * the same object in every domain of the list). It was created without
 * iommu_flush_ops, so unmapping asks nothing of the TLB; mtk_iommu_unmap()
 * adds the whole range to the gather itself, and the sync invalidates it:
 *  - range sync: for every M4U of the list (m4ulist for SHARE_PGTABLE
 *    instances), the same bank as the domain's: one range command
 *    (REG_MMU_INVLD_START_A/END_A, F_MMU_INV_RANGE) and one poll of
 *    REG_MMU_CPE_DONE, counted on that M4U's Iotlb. An M4U whose runtime-PM
 *    status is not in use is skipped (its resume flushes everything) unless
 *    PM_CLK_AO; the model counts an M4U as in use once one of its banks was
 *    initialised for a master.
 *  - flush all (REG_MMU_INVALIDATE F_ALL_INVLD on bank 0): one command, no
 *    poll (a wmb() only).
 * The range command names 4 KiB-granular addresses (MTK_IOMMU_TLB_ADDR()).
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuDomain, IommuDomainOps } from '../../iommu/domain.js';
import { iommu_iotlb_gather_add_range } from '../../iommu/map.js';
import { pgtableMemory } from '../../mm/table-memory.js';
import { ENODEV } from '../../kernel/errno.js';
import type { MtkIommuData, MtkIommuDomain } from './mtk-iommu.js';
import { MTK_IOMMU_HAS_FLAG, PM_CLK_AO } from './plat-data.js';

/** The label of every M4U paging domain, and the owner of the shared table's pages. */
export const MTK_PGTABLE_OWNER = 'mtk-iommu paging';

/** BIT_ULL(32): a 4GB-mode M4U cannot reach the lower remap of DRAM. */
const BIT32 = 2 ** 32;
/** MTK_IOMMU_4GB_MODE_REMAP_BASE */
const MTK_IOMMU_4GB_MODE_REMAP_BASE = 0x1_4000_0000;
const TLB_GRANULE = 0x1000;

/** pm_runtime_get_if_in_use(data->dev) > 0, as the model has it. */
function inUse(data: MtkIommuData): boolean {
  return data.bank.some((b) => b?.m4u_dom !== null && b?.m4u_dom !== undefined);
}

/** mtk_iommu_tlb_flush_all(): one "invalidate all" on the M4U's bank 0, no poll. */
export function mtk_iommu_tlb_flush_all(data: MtkIommuData, domain: IommuDomain | null): void {
  const tlb = data.iommu.iotlb;
  if (domain) tlb.invalidateAll(domain);
  else tlb.commands++;
}

/**
 * mtk_iommu_tlb_flush_range_sync(): [iova, iova + size - 1] on the domain's
 * bank of every M4U on its parent's list, each polled.
 */
export function mtk_iommu_tlb_flush_range_sync(dom: MtkIommuDomain, iova: number, size: number): void {
  const parent = dom.parent;
  if (!parent) return;
  for (const data of parent.hw_list) {
    if (!MTK_IOMMU_HAS_FLAG(data.plat_data, PM_CLK_AO) && !inUse(data)) continue;
    const tlb = data.iommu.iotlb;
    tlb.invalidateRange(dom, iova, iova + size - 1, TLB_GRANULE, 1);
    tlb.sync();
  }
}

/** The driver's half of the M4U's default_domain_ops. */
export const mtk_iommu_domain_ops: Required<
  Pick<
    IommuDomainOps,
    'map_pages' | 'unmap_pages' | 'iova_to_phys' | 'iotlb_sync' | 'iotlb_sync_map' | 'flush_iotlb_all'
  >
> = {
  /** mtk_iommu_map(): dom->bank is NULL before the first attach (the kernel would oops). */
  map_pages(k: Kernel, domain, iova, paddr, pgsize, pgcount, prot, out) {
    const dom = domain as MtkIommuDomain;
    const t = dom.pgtable;
    if (
      k.printk.warn(
        !dom.parent || !t,
        'mtk_iommu_map',
        'NULL pointer dereference: dom->bank before the domain was attached',
      )
    )
      return -ENODEV;
    if (dom.parent!.enable_4GB) paddr += paddr % (2 * BIT32) >= BIT32 ? 0 : BIT32;
    pgtableMemory(k).owner = MTK_PGTABLE_OWNER;
    return t!.mapPagesTo(out, iova, paddr, pgsize, pgcount, prot);
  },
  /** mtk_iommu_unmap(): the range goes to the gather first. */
  unmap_pages(k: Kernel, domain, iova, pgsize, pgcount, gather) {
    iommu_iotlb_gather_add_range(gather, iova, pgsize * pgcount);
    const t = domain.pgtable;
    if (!t) return 0;
    pgtableMemory(k).owner = MTK_PGTABLE_OWNER;
    return t.unmapPages(iova, pgsize, pgcount);
  },
  /** mtk_iommu_iova_to_phys(): a 4GB-mode M4U's remapped addresses lose bit 32 again. */
  iova_to_phys(_k: Kernel, domain, iova) {
    const dom = domain as MtkIommuDomain;
    let pa = dom.pgtable?.iovaToPhys(iova) ?? 0;
    if (dom.parent?.enable_4GB && pa >= MTK_IOMMU_4GB_MODE_REMAP_BASE && pa % (2 * BIT32) >= BIT32)
      pa -= BIT32;
    return pa;
  },
  /** mtk_iommu_iotlb_sync(): the gathered range, end - start + 1 bytes. */
  iotlb_sync(_k: Kernel, domain, gather) {
    mtk_iommu_tlb_flush_range_sync(domain as MtkIommuDomain, gather.start, gather.end - gather.start + 1);
  },
  /** mtk_iommu_sync_map(): the range just mapped. */
  iotlb_sync_map(_k: Kernel, domain, iova, size) {
    mtk_iommu_tlb_flush_range_sync(domain as MtkIommuDomain, iova, size);
    return 0;
  },
  /** mtk_iommu_flush_iotlb_all(): flush all on the domain's M4U, once attached. */
  flush_iotlb_all(_k: Kernel, domain) {
    const dom = domain as MtkIommuDomain;
    if (dom.parent) mtk_iommu_tlb_flush_all(dom.parent, dom);
  },
};
