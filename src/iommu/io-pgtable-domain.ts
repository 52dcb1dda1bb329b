// SPDX-License-Identifier: GPL-2.0-only
/**
 * A paging domain backed by an io-pgtable (the pattern of the Arm-family
 * drivers: arm_smmu_domain_finalise() and its cousins in qcom_iommu.c,
 * ipmmu-vmsa.c, mtk_iommu.c, apple-dart.c): at finalise the driver allocates
 * the table with its instance's page sizes and address widths, the domain's
 * pgsize_bitmap and aperture come from the table's cfg, and map_pages,
 * unmap_pages and iova_to_phys go straight to the table.
 *
 * What the table asks of the TLB (struct iommu_flush_ops) and what
 * iotlb_sync()/flush_iotlb_all() send differ between drivers; they are data
 * here (IotlbStyle), applied to the instance's Iotlb by one algorithm:
 *  - addPage 'gather': the page joins the caller's gather, invalidated at
 *    iotlb_sync() (arm-smmu-v3 arm_smmu_tlb_inv_page_nosync(), VT-d, DART);
 *    'invalidate': a TLBI per page at once, synced later (arm-smmu
 *    arm_smmu_tlb_add_page_s1(), qcom_iommu_tlb_add_page()); 'none'.
 *  - sync 'range': invalidate the gathered range and wait (arm_smmu_iotlb_sync()
 *    in v3); 'wait': only wait for what was sent (arm-smmu, qcom);
 *    'all': invalidate the whole context (ipmmu_iotlb_sync(), mtk's range
 *    flush modelled as one command).
 *  - addPage 'invalidate-all': a whole-context invalidation per page (arm-smmu
 *    arm_smmu_tlb_add_page_s2_v1(): TLBIVMID on SMMUv1 stage 2).
 *  - walk: a removed table is invalidated by range (tlb_flush_walk), or the
 *    whole context with walk 'all' (ipmmu_tlb_flush(), SMMUv1 stage 2,
 *    Qualcomm's flush_walk_prefer_tlbiasid).
 *  - contexts: a driver that sends every TLB operation to each of several
 *    context banks (qcom_iommu: one per ASID of the domain's first master)
 *    sends each command and sync that many times.
 *  - ranges 'arm-ril': SMMUv3 range invalidation (IDR3.RIL) packs up to 31
 *    pages of one power-of-two size per command (arm_smmu_tlb_inv_range_cmd());
 *    'page': one command per granule.
 * Unmaps under a queued gather (iommu-dma's flush queue) add nothing: the
 * queue flushes the whole domain later, as io-pgtable-arm skips
 * io_pgtable_tlb_add_page() when iommu_iotlb_gather_queued().
 */
import type { Kernel } from '../kernel/kernel.js';
import type { IommuDevice } from './iommu-device.js';
import type { IommuDomain, IommuDomainOps } from './domain.js';
import type { IommuIotlbGather } from './map.js';
import type { PgtableCfgInput } from '../pgtable/format.js';
import type { PgtableFormatName } from '../pgtable/formats/index.js';
import { iommu_iotlb_gather_add_page, lowBit } from './map.js';
import { allocPageTable, PageTable } from '../pgtable/page-table.js';
import { pgtableMemory } from '../mm/table-memory.js';
import { ENODEV, ENOMEM } from '../kernel/errno.js';

export interface IotlbStyle {
  readonly addPage: 'gather' | 'invalidate' | 'invalidate-all' | 'none';
  readonly sync: 'range' | 'wait' | 'all';
  readonly ranges: 'page' | 'arm-ril';
  /** tlb_flush_walk(): the removed table's range (the default) or the whole context. */
  readonly walk?: 'range' | 'all';
}

/** arm-smmu-v3 without range invalidation, DART: gather, invalidate the range page by page, sync. */
export const IOTLB_GATHER_RANGE: IotlbStyle = { addPage: 'gather', sync: 'range', ranges: 'page' };
/** arm-smmu-v3 with IDR3.RIL (QEMU's SMMUv3 has it). */
export const IOTLB_GATHER_RIL: IotlbStyle = { addPage: 'gather', sync: 'range', ranges: 'arm-ril' };
/** arm-smmu v1/v2, qcom: a TLBI per page as it is unmapped, one sync at the end. */
export const IOTLB_PER_PAGE: IotlbStyle = { addPage: 'invalidate', sync: 'wait', ranges: 'page' };
/** ipmmu-vmsa and others that flush the whole context at sync. */
export const IOTLB_CONTEXT: IotlbStyle = { addPage: 'none', sync: 'all', ranges: 'page' };

/** CMDQ_TLBI_RANGE_NUM_MAX */
const RANGE_NUM_MAX = 31;

/**
 * Commands arm_smmu_tlb_inv_range_cmd() sends for `pages` leaf pages with
 * range invalidation: each takes the lowest set bit's power of two as its
 * scale and up to 31 multiples of it.
 */
export function armRilCommands(pages: number): number {
  let n = 0;
  while (pages > 0) {
    const scale = lowBit(pages);
    const num = Math.floor(pages / scale) % (RANGE_NUM_MAX + 1);
    pages -= num * scale;
    n++;
  }
  return n;
}

/** Send a range invalidation the way the style says. */
function invalidate(
  style: IotlbStyle,
  domain: IommuDomain,
  iommu: IommuDevice,
  start: number,
  end: number,
  granule: number,
): void {
  if (style.ranges === 'arm-ril') {
    // The range in leaf pages of the domain's smallest size (tg).
    const tg = lowBit(domain.pgsize_bitmap);
    iommu.iotlb.invalidateRange(
      domain,
      start,
      end,
      granule,
      armRilCommands(Math.ceil((end - start + 1) / tg)),
    );
  } else iommu.iotlb.invalidateRange(domain, start, end, granule);
}

interface DomainTlb {
  readonly style: IotlbStyle;
  /** The gather of the unmap in progress (the kernel passes it to tlb_add_page()). */
  gather: IommuIotlbGather | null;
}

const tlbState = new WeakMap<IommuDomain, DomainTlb>();

export interface IoPgtableDomainCfg extends PgtableCfgInput {
  readonly format: PgtableFormatName;
  readonly style: IotlbStyle;
  /** Context banks each TLB operation of the table goes to (default 1). */
  readonly contexts?: number;
  /**
   * The driver passes no iommu_flush_ops (cfg.tlb NULL: mtk_iommu, apple-dart):
   * the table asks nothing of the TLB, and the driver invalidates only from
   * its own iotlb_sync()/flush_iotlb_all()/iotlb_sync_map().
   */
  readonly noFlushOps?: boolean;
}

/**
 * alloc_io_pgtable_ops() for a domain being finalised on `iommu`: the table
 * comes from the kernel's page-table pool; the domain takes its page sizes
 * and its aperture [0, 2^ias - 1]. 0, or -ENOMEM when the table cannot be
 * allocated (the drivers' answer to a NULL from alloc_io_pgtable_ops()).
 */
export function io_pgtable_domain_init(
  k: Kernel,
  domain: IommuDomain,
  iommu: IommuDevice,
  cfg: IoPgtableDomainCfg,
): number {
  const memory = pgtableMemory(k);
  memory.owner = domain.label;
  const state: DomainTlb = { style: cfg.style, gather: null };
  const contexts = cfg.contexts ?? 1;
  const each = (fn: () => void) => {
    for (let c = 0; c < contexts; c++) fn();
  };
  const t = allocPageTable(cfg.format, {
    ...cfg,
    memory,
    warn: (w) => k.printk.warn(true, w.site, w.message),
    tlb: {
      tlb_flush_all: () => {
        each(() => iommu.iotlb.invalidateAll(domain));
        each(() => iommu.iotlb.sync());
      },
      tlb_flush_walk: (iova, size, granule) => {
        if (state.style.walk === 'all') each(() => iommu.iotlb.invalidateAll(domain));
        else each(() => invalidate(state.style, domain, iommu, iova, iova + size - 1, granule));
        each(() => iommu.iotlb.sync());
      },
      tlb_add_page: (iova, granule) => {
        const g = state.gather;
        if (g === null || g.queued) return;
        const addPage = state.style.addPage;
        if (addPage === 'gather') iommu_iotlb_gather_add_page(k, domain, g, iova, granule);
        else if (addPage === 'invalidate' || addPage === 'invalidate-all') {
          if (addPage === 'invalidate-all') each(() => iommu.iotlb.invalidateAll(domain));
          else each(() => iommu.iotlb.invalidateRange(domain, iova, iova + granule - 1, granule));
          // iommu_iotlb_gather_add_range(): the sync still has to wait for these.
          if (g.start > iova) g.start = iova;
          if (g.end < iova + granule - 1) g.end = iova + granule - 1;
          g.pgsize = granule;
        }
      },
    },
    ...(cfg.noFlushOps ? { tlb: undefined } : {}),
  });
  if (!(t instanceof PageTable)) {
    k.printk.log('err', iommu.name, `failed to allocate pagetable ops: ${t.reason}`);
    return -ENOMEM;
  }
  tlbState.set(domain, state);
  domain.pgtable = t;
  domain.iommu = iommu;
  domain.pgsize_bitmap = t.cfg.pgsize_bitmap;
  domain.geometry = { aperture_start: 0, aperture_end: 2 ** t.cfg.ias - 1, force_aperture: true };
  return 0;
}

/** free_io_pgtable_ops() for a domain: its tables go back to the pool. */
export function io_pgtable_domain_free(k: Kernel, domain: IommuDomain): void {
  const t = domain.pgtable;
  if (!t) return;
  pgtableMemory(k).owner = domain.label;
  t.free();
  domain.pgtable = null;
  domain.iommu?.iotlb.drop(domain);
  tlbState.delete(domain);
}

/** The map/unmap/translate/invalidate half of an io-pgtable driver's iommu_domain_ops. */
export const io_pgtable_domain_ops: Required<
  Pick<IommuDomainOps, 'map_pages' | 'unmap_pages' | 'iova_to_phys' | 'iotlb_sync' | 'flush_iotlb_all'>
> = {
  /** e.g. arm_smmu_map_pages(): -ENODEV before the domain is finalised. */
  map_pages(k, domain, iova, paddr, pgsize, pgcount, prot, out) {
    const t = domain.pgtable;
    if (!t) return -ENODEV;
    pgtableMemory(k).owner = domain.label;
    return t.mapPagesTo(out, iova, paddr, pgsize, pgcount, prot);
  },
  /** e.g. arm_smmu_unmap_pages(): 0 before the domain is finalised. */
  unmap_pages(k, domain, iova, pgsize, pgcount, gather) {
    const t = domain.pgtable;
    const st = tlbState.get(domain);
    if (!t || !st) return 0;
    pgtableMemory(k).owner = domain.label;
    st.gather = gather;
    try {
      return t.unmapPages(iova, pgsize, pgcount);
    } finally {
      st.gather = null;
    }
  },
  iova_to_phys(_k, domain, iova) {
    return domain.pgtable?.iovaToPhys(iova) ?? 0;
  },
  iotlb_sync(_k, domain, gather) {
    const st = tlbState.get(domain);
    const tlb = domain.iommu?.iotlb;
    if (!st || !tlb) return;
    if (st.style.sync === 'all') {
      tlb.invalidateAll(domain);
      tlb.sync();
      return;
    }
    // Nothing gathered, nothing to wait for (arm_smmu_iotlb_sync(): !gather->pgsize).
    if (!gather.pgsize) return;
    if (st.style.sync === 'range')
      invalidate(st.style, domain, domain.iommu!, gather.start, gather.end, gather.pgsize);
    tlb.sync();
  },
  flush_iotlb_all(_k, domain) {
    const tlb = domain.iommu?.iotlb;
    if (!tlb) return;
    tlb.invalidateAll(domain);
    tlb.sync();
  },
};
