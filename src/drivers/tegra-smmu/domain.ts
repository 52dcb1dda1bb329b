// SPDX-License-Identifier: GPL-2.0-only
/**
 * A Tegra SMMU paging domain that translates (drivers/iommu/tegra-smmu.c,
 * Linux 6.12): struct tegra_smmu_as with its page directory and page tables
 * in the kernel's page-table pool (formats/tegra-smmu.ts, the map/unmap rules
 * of rules/tegra-smmu.ts), the flushes each table write is followed by, and
 * the lines the memory controller's interrupt handler prints for a fault.
 *
 * - tegra_smmu_domain_alloc_paging(): the domain, the page directory
 *   (__iommu_alloc_pages(GFP_KERNEL | __GFP_DMA, 0)), as->count and as->pts;
 *   aperture [0, 0xffffffff], forced; page size 4 KiB (the ops' SZ_4K).
 * - tegra_smmu_set_pde(): smmu_flush_ptc() of the entry, smmu_flush_tlb_section()
 *   of its 4 MiB under the ASID, smmu_flush() (a read back: the model's sync);
 *   tegra_smmu_set_pte(): the same with smmu_flush_tlb_group() of the 16 KiB
 *   group. There is no iotlb_sync() and no flush queue: every table write is
 *   flushed at once (and no IOMMU_CAP_DEFERRED_FLUSH).
 * - tegra_smmu_as_prepare() for the first user: smmu_flush_ptc() of the page
 *   directory, smmu_flush_tlb_asid() and smmu_flush().
 * - tegra_smmu_domain_free(): "TODO: free page directory and page tables":
 *   the directory and every table still in it stay allocated (known bug
 *   tegra-smmu-domain-pd-leak).
 * - The SMMU has no interrupt of its own: a translation fault is a memory
 *   controller error, printed by tegra30_mc_handle_irq() as
 *   "<client>: <dir> @<address>: Page fault (SMMU translation error [RWS])".
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { IommuDomainOps } from '../../iommu/domain.js';
import type { IommuFault } from '../../iommu/translate.js';
import type { Device } from '../../base/device.js';
import type { TegraSmmu } from './structs.js';
import type { TegraMcSoc } from './soc.js';
import { IommuDomain } from '../../iommu/domain.js';
import { PageTable, allocPageTable } from '../../pgtable/page-table.js';
import { pgtableMemory } from '../../mm/table-memory.js';
import { pgtableFormats } from '../../pgtable/formats/index.js';
import { ENODEV } from '../../kernel/errno.js';
import { deviceSid } from '../../iommu/translate.js';
import { recordKnownBug } from '../../checker/known-bugs.js';
import {
  SMMU_PTE_NONSECURE,
  SMMU_PTE_READABLE,
  SMMU_PTE_WRITABLE,
  iovaPdIndex,
  iovaPtIndex,
  smmuEntryToPhys,
} from '../../pgtable/formats/tegra-smmu.js';

const SZ_4K = 0x1000;

/** struct tegra_smmu_as: a paging domain, with the ASID it holds while attached. */
export class TegraSmmuAs extends IommuDomain {
  smmu: TegraSmmu | null = null;
  use_count = 0;
  id = 0;

  constructor(
    /** as->pd and the page tables under it. */
    readonly table: PageTable,
    /** Who the pool's allocations for these tables belong to (one name per domain). */
    readonly tableOwner: string,
    /** as->count: per page-directory-entry use counts. */
    readonly count: Allocation,
    /** as->pts: the page-table pointers. */
    readonly pts: Allocation,
  ) {
    super(0, null, 'tegra-smmu paging');
    this.pgtable = table;
    this.geometry = { aperture_start: 0, aperture_end: 0xffff_ffff, force_aperture: true };
  }
}

export function to_smmu_as(domain: IommuDomain): TegraSmmuAs | null {
  return domain instanceof TegraSmmuAs ? domain : null;
}

/** smmu_flush_ptc() + a TLB flush + smmu_flush(), on the SMMU the domain is prepared on. */
function flushAfterWrite(as: TegraSmmuAs, start: number, bytes: number): void {
  const smmu = as.smmu;
  if (!smmu) return;
  smmu.ptc_flushes++;
  // One SMMU_TLB_FLUSH write matching the ASID and the VA section (4 MiB) or group (16 KiB).
  smmu.iommu.iotlb.invalidateRange(as, start, start + bytes - 1, SZ_4K, 1);
  smmu.iommu.iotlb.sync();
}

/** tegra_smmu_domain_alloc_paging(): the domain, its page directory, use counts and page-table array. */
export function tegra_smmu_domain_alloc_paging(k: Kernel, oas: number): IommuDomain | null {
  const site = 'tegra_smmu_domain_alloc_paging';
  const mem = k.alloc.alloc('tegra_smmu_as', 'tegra-smmu', site);
  if (!mem) return null;
  const memory = pgtableMemory(k);
  const owner = `tegra_smmu_as ${mem.id}`;
  memory.owner = owner;
  let as: TegraSmmuAs | null = null;
  const t = allocPageTable(pgtableFormats['tegra-smmu'], {
    oas,
    memory,
    warn: (w) => k.printk.warn(true, w.site, w.message),
    tlb: {
      // tegra_smmu_set_pde(): the section flush; tegra_smmu_set_pte(): the group flush.
      tlb_flush_walk: (iova, size) => {
        if (as) flushAfterWrite(as, iova, size);
      },
      tlb_add_page: (iova) => {
        if (as) flushAfterWrite(as, iova - (iova % 0x4000), 0x4000);
      },
    },
  });
  if (!(t instanceof PageTable)) {
    k.alloc.free(mem, site);
    return null;
  }
  const count = k.alloc.alloc('tegra_smmu_as count', 'tegra-smmu', site);
  if (!count) {
    memory.owner = owner;
    t.free();
    k.alloc.free(mem, site);
    return null;
  }
  const pts = k.alloc.alloc('tegra_smmu_as pts', 'tegra-smmu', site);
  if (!pts) {
    k.alloc.free(count, site);
    memory.owner = owner;
    t.free();
    k.alloc.free(mem, site);
    return null;
  }
  as = new TegraSmmuAs(t, owner, count, pts);
  as.mem = mem;
  return as;
}

/** tegra_smmu_domain_free(): the page directory and its tables are never freed (a 6.12 TODO). */
export function tegra_smmu_domain_free(k: Kernel, domain: IommuDomain): void {
  const as = to_smmu_as(domain);
  if (!as) return;
  const site = 'tegra_smmu_domain_free';
  k.printk.warnOnce(as.use_count !== 0, site, 'WARN_ON_ONCE(as->use_count)');
  k.alloc.free(as.count, site);
  k.alloc.free(as.pts, site);
  k.alloc.free(as.mem, site);
  as.mem = null;
  const lost = k.alloc
    .liveAllocations()
    .filter((a) => a.owner === as.tableOwner && a.type === 'io-pgtable table')
    .map((a) => a.id);
  recordKnownBug(k, 'tegra-smmu-domain-pd-leak', as.label, lost);
  as.pgtable = null;
}

/** The domain's SMMU, or the NULL dereference the kernel would take (map/unmap before any attach). */
function attachedSmmu(k: Kernel, as: TegraSmmuAs, fn: string): TegraSmmu | null {
  if (as.smmu) return as.smmu;
  k.printk.warn(
    true,
    fn,
    'Unable to handle kernel NULL pointer dereference: as->smmu (the domain is not attached)',
  );
  return null;
}

/** The map/unmap/translate half of tegra_smmu_ops.default_domain_ops. */
export const tegra_smmu_domain_ops: Required<
  Pick<IommuDomainOps, 'map_pages' | 'unmap_pages' | 'iova_to_phys'>
> = {
  /** tegra_smmu_map() */
  map_pages(k, domain, iova, paddr, pgsize, pgcount, prot, out) {
    const as = to_smmu_as(domain);
    if (!as) return -ENODEV;
    if (!attachedSmmu(k, as, 'tegra_smmu_map')) return -ENODEV;
    pgtableMemory(k).owner = as.tableOwner;
    return as.table.mapPagesTo(out, iova, paddr, pgsize, pgcount, prot);
  },
  /** tegra_smmu_unmap() */
  unmap_pages(k, domain, iova, pgsize, pgcount) {
    const as = to_smmu_as(domain);
    if (!as) return 0;
    // tegra_smmu_pte_lookup() only reaches as->smmu when a page table is there.
    if (!as.smmu && as.table.iovaToPhys(iova) === 0) return 0;
    if (!attachedSmmu(k, as, 'tegra_smmu_unmap')) return 0;
    pgtableMemory(k).owner = as.tableOwner;
    return as.table.unmapPages(iova, pgsize, pgcount);
  },
  /** tegra_smmu_iova_to_phys() */
  iova_to_phys(_k, domain, iova) {
    return to_smmu_as(domain)?.table.iovaToPhys(iova) ?? 0;
  },
};

/** The flushes tegra_smmu_as_prepare() sends when an address space gets its ASID. */
export function tegra_smmu_as_flush_new(smmu: TegraSmmu, as: TegraSmmuAs): void {
  smmu.ptc_flushes++; // smmu_flush_ptc(smmu, as->pd_dma, 0)
  smmu.iommu.iotlb.invalidateAll(as); // smmu_flush_tlb_asid()
  smmu.iommu.iotlb.sync(); // smmu_flush()
}

const pad64 = (v: number): string => `0x${v.toString(16).padStart(16, '0')}`;

/**
 * tegra30_mc_handle_irq() for MC_INT_INVALID_SMMU_PAGE: the client (the
 * device's swgroup's client of that direction, from MC_ERR_STATUS's client
 * ID), "write"/"read", MC_ERR_ADR (the IOVA; the high bits from
 * MC_ERR_STATUS [21:20] are 0 for a 32-bit IOVA), the status name and the
 * error type, with the faulting page's READABLE, WRITABLE and NONSECURE bits
 * as "[RW-]" ('S' where NONSECURE is clear).
 */
export function tegra_mc_fault_lines(
  soc: TegraMcSoc,
  domain: IommuDomain | null,
  dev: Device,
  f: Omit<IommuFault, 'log'>,
): string[] {
  const swgroup = deviceSid(dev);
  const client = soc.clients.find((c) => c.swgroup === swgroup && c.write === f.write)?.name ?? 'unknown';
  let pte = 0;
  const t = domain?.pgtable;
  if (t) {
    const iova = f.iova % 2 ** 32;
    const pd = t.memory.read32(t.cfg.ttbr + 4 * iovaPdIndex(iova)) ?? 0;
    const mask = 2 ** (t.cfg.oas - 12) - 1;
    if (pd !== 0) pte = t.memory.read32(smmuEntryToPhys(pd, mask) + 4 * iovaPtIndex(iova)) ?? 0;
  }
  const perm =
    (pte & SMMU_PTE_READABLE ? 'R' : '-') +
    (pte & SMMU_PTE_WRITABLE ? 'W' : '-') +
    (pte & SMMU_PTE_NONSECURE ? '-' : 'S');
  const addr = f.iova % 2 ** 32;
  return [
    `${client}: ${f.write ? 'write' : 'read'} @${pad64(addr)}: Page fault (SMMU translation error [${perm}])`,
  ];
}
