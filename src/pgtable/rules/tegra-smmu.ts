// SPDX-License-Identifier: GPL-2.0-only
/**
 * drivers/iommu/tegra-smmu.c's map/unmap rules (Linux 6.12) over the shared
 * engine: tegra_smmu_map() (__tegra_smmu_map(), as_get_pde_page(),
 * as_get_pte(), tegra_smmu_pte_get_use()), tegra_smmu_unmap()
 * (__tegra_smmu_unmap(), tegra_smmu_pte_put_use()) and
 * tegra_smmu_iova_to_phys(). The descriptors are formats/tegra-smmu.ts.
 * Depth 0 is the page directory, depth 1 the page tables.
 *
 * Where these rules differ from io-pgtable-arm's (engine.ts):
 * - One call maps or unmaps one 4 KiB page whatever the count.
 * - A map over an entry in use overwrites it: no -EEXIST, no WARN.
 * - Each page table counts its entries in use (as->count[pde]); the unmap
 *   that takes the count to 0 clears the PDE and frees the table. Unmapping
 *   an entry that is 0 (or under no table) returns 0.
 * - The IOVA is 32 bits: bits above 31 are dropped from the indexes.
 * - No prot check: a map without IOMMU_READ or IOMMU_WRITE writes an entry
 *   (NONSECURE only) that is in use and allows nothing.
 * - tegra_smmu_set_pde() and tegra_smmu_set_pte() flush the page-table cache
 *   and the TLB at once: the table's flush callbacks carry them, a PDE write
 *   as tlb_flush_walk() of its 4 MiB section, a PTE write as tlb_add_page()
 *   of its page; the driver turns them into its register writes.
 * Sizes other than 4 KiB and unaligned addresses are refused without a WARN,
 * as the other families do.
 */
import { EINVAL, ENOMEM } from '../../kernel/errno.js';
import type { IoPgtable, MappedOut } from '../engine.js';
import type { TegraLayout } from '../formats/tegra-smmu.js';
import {
  SMMU_NUM_PDE,
  SMMU_PDE_ATTR,
  SMMU_PDE_NEXT,
  iovaPdIndex,
  iovaPtIndex,
  smmuEntryToPhys,
  smmuMkPde,
  smmuMkPte,
} from '../formats/tegra-smmu.js';
import type { PgtableRules } from './rules.js';

const SZ_4K = 0x1000;
const SZ_4M = 0x40_0000;

/** as->count: entries in use per page table, by PDE index. */
const useCounts = new WeakMap<IoPgtable, Uint32Array>();

function countsOf(e: IoPgtable): Uint32Array {
  let c = useCounts.get(e);
  if (!c) useCounts.set(e, (c = new Uint32Array(SMMU_NUM_PDE)));
  return c;
}

/** as->count[pde] for a table (what tegra_smmu_pte_get_use()/_put_use() keep). */
export function tegraUseCount(e: IoPgtable, pde: number): number {
  return countsOf(e)[pde];
}

const pfnMaskOf = (e: IoPgtable): number => (e.f.layout as TegraLayout).pfnMask;

/** tegra_smmu_pte_lookup(): the page table under the IOVA's PDE, if there is one. */
function pteLookup(e: IoPgtable, iova: number): Int32Array | undefined {
  const pde = e.pgd[iovaPdIndex(iova)];
  if (pde === 0) return undefined;
  return e.memory.view(smmuEntryToPhys(pde, pfnMaskOf(e)));
}

/** tegra_smmu_map() of arg[0] (iova), arg[1] (paddr), arg[2] (pgsize). */
function map(e: IoPgtable, _pgcount: number, prot: number, out: MappedOut): number {
  const a = e.arg;
  const iova = a[0];
  const paddr = a[1];
  const size = a[2];
  if (!Number.isInteger(iova) || !Number.isInteger(paddr) || iova < 0 || paddr < 0) return -EINVAL;
  if (size !== SZ_4K || iova % SZ_4K !== 0 || paddr % SZ_4K !== 0) return -EINVAL;
  const pdIndex = iovaPdIndex(iova);
  let pt = pteLookup(e, iova);
  if (pt === undefined) {
    // as_get_pde_page(): __iommu_alloc_pages(gfp | __GFP_DMA, 0); as_get_pte(): a frame the
    // SMMU cannot address is freed again (smmu_dma_addr_valid()), both -ENOMEM.
    const phys = e.allocTable(1);
    if (phys < 0) return -ENOMEM;
    // tegra_smmu_set_pde()
    e.pgd[pdIndex] = smmuMkPde(phys, SMMU_PDE_ATTR + SMMU_PDE_NEXT) | 0;
    e.tlb?.tlb_flush_walk?.(iova - (iova % SZ_4M), SZ_4M, SZ_4M);
    pt = e.memory.view(phys) as Int32Array;
  }
  const j = iovaPtIndex(iova);
  // If we aren't overwriting a pre-existing entry, increment use.
  if (pt[j] === 0) countsOf(e)[pdIndex]++;
  // tegra_smmu_set_pte()
  pt[j] = smmuMkPte(paddr, prot) | 0;
  e.tlb?.tlb_add_page?.(iova, SZ_4K);
  out.mapped += size;
  return 0;
}

/** tegra_smmu_unmap() of arg[0] (iova) and arg[1] (pgsize): the bytes into arg[2]. */
function unmap(e: IoPgtable, _pgcount: number): void {
  const a = e.arg;
  const iova = a[0];
  const size = a[1];
  a[2] = 0;
  if (!Number.isInteger(iova) || iova < 0) return;
  if (size !== SZ_4K || iova % SZ_4K !== 0) return;
  const pt = pteLookup(e, iova);
  const j = iovaPtIndex(iova);
  if (pt === undefined || pt[j] === 0) return;
  pt[j] = 0;
  e.tlb?.tlb_add_page?.(iova, SZ_4K);
  // tegra_smmu_pte_put_use(): the last entry takes the table with it.
  const pdIndex = iovaPdIndex(iova);
  const counts = countsOf(e);
  if (--counts[pdIndex] === 0) {
    const ptPhys = smmuEntryToPhys(e.pgd[pdIndex], pfnMaskOf(e));
    e.pgd[pdIndex] = 0;
    e.tlb?.tlb_flush_walk?.(iova - (iova % SZ_4M), SZ_4M, SZ_4M);
    e.freeTable(1, ptPhys);
  }
  a[2] = size;
}

/** tegra_smmu_iova_to_phys() of arg[0] into arg[1]. */
function iovaToPhys(e: IoPgtable): void {
  const a = e.arg;
  let iova = a[0];
  a[1] = 0;
  if (!Number.isInteger(iova)) return;
  if (iova < 0 || iova >= 2 ** 53) iova = Number(BigInt.asUintN(32, BigInt(iova)));
  const pt = pteLookup(e, iova);
  if (pt === undefined) return;
  const pte = pt[iovaPtIndex(iova)];
  if (pte === 0) return;
  a[1] = smmuEntryToPhys(pte, pfnMaskOf(e)) + (iova % SZ_4K);
}

export const tegraSmmuRules: PgtableRules = { map, unmap, iovaToPhys };
