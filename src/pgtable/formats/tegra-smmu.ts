// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Tegra SMMU's own two-level page table (drivers/iommu/tegra-smmu.c,
 * Linux 6.12; not io-pgtable): a page directory (as->pd) of 1024 32-bit
 * PDEs indexed by IOVA [31:22], each pointing at a page table of 1024 32-bit
 * PTEs indexed by [21:12], mapping 4 KiB pages (the driver's pgsize_bitmap is
 * SZ_4K; the hardware's 4 MiB PDE pages are never written).
 *
 * A PDE is SMMU_MK_PDE(dma, SMMU_PDE_ATTR | SMMU_PDE_NEXT): the table's page
 * frame number in the low bits, READABLE (31), WRITABLE (30), NONSECURE (29)
 * and NEXT (28). A PTE is SMMU_PHYS_PFN(paddr) | NONSECURE, plus READABLE
 * and WRITABLE from the prot. The frame number is only as wide as the
 * memory controller's address (smmu->pfn_mask: 22 bits on Tegra114 and
 * later, 34-bit addresses; 20 on Tegra30); nothing checks that a physical
 * address fits (SMMU_PHYS_PFN() is not masked), the reads mask it.
 *
 * This file is the descriptor data and the layout walkers read; the map and
 * unmap rules are rules/tegra-smmu.ts.
 */
import type { FormatAllocResult, LevelLayout, PgtableCfgInput, PgtableLayout } from '../format.js';
import { IOMMU_READ, IOMMU_WRITE } from '../prot.js';

export const SMMU_NUM_PDE = 1024;
export const SMMU_NUM_PTE = 1024;
export const SMMU_PDE_SHIFT = 22;
export const SMMU_PTE_SHIFT = 12;
export const SMMU_SIZE_PT = SMMU_NUM_PTE * 4;

export const SMMU_PDE_READABLE = 2 ** 31;
export const SMMU_PDE_WRITABLE = 1 << 30;
export const SMMU_PDE_NONSECURE = 1 << 29;
export const SMMU_PDE_NEXT = 1 << 28;
export const SMMU_PDE_ATTR = SMMU_PDE_READABLE + SMMU_PDE_WRITABLE + SMMU_PDE_NONSECURE;
export const SMMU_PTE_READABLE = 2 ** 31;
export const SMMU_PTE_WRITABLE = 1 << 30;
export const SMMU_PTE_NONSECURE = 1 << 29;
/** SMMU_PD_READABLE | SMMU_PD_WRITABLE | SMMU_PD_NONSECURE: as->attr, the page directory's own attributes. */
export const SMMU_PD_ATTR = SMMU_PDE_ATTR;

const TWO32 = 2 ** 32;

/** iova_pd_index(): (iova >> 22) & 1023, so IOVA bits above 31 are dropped. */
export const iovaPdIndex = (iova: number): number => Math.floor(iova / 2 ** SMMU_PDE_SHIFT) % SMMU_NUM_PDE;
/** iova_pt_index() */
export const iovaPtIndex = (iova: number): number => Math.floor(iova / 2 ** SMMU_PTE_SHIFT) % SMMU_NUM_PTE;

/** smmu->pfn_mask: BIT_MASK(num_address_bits - SMMU_PTE_SHIFT) - 1. */
export const tegraPfnMask = (addressBits: number): number => 2 ** (addressBits - SMMU_PTE_SHIFT) - 1;

/** SMMU_MK_PDE(): the page table's frame | attributes (a u32: frame bits above 31 are lost). */
export const smmuMkPde = (dma: number, attr: number): number =>
  ((Math.floor(dma / 2 ** SMMU_PTE_SHIFT) % TWO32) | attr) >>> 0;

/** The PTE __tegra_smmu_map() writes: SMMU_PHYS_PFN(paddr) | NONSECURE | READABLE? | WRITABLE?. */
export function smmuMkPte(paddr: number, prot: number): number {
  let attrs = SMMU_PTE_NONSECURE;
  if (prot & IOMMU_READ) attrs |= SMMU_PTE_READABLE;
  if (prot & IOMMU_WRITE) attrs |= SMMU_PTE_WRITABLE;
  return ((Math.floor(paddr / 2 ** SMMU_PTE_SHIFT) % TWO32) | attrs) >>> 0;
}

/** smmu_pde_to_dma() and the frame of a PTE as tegra_smmu_iova_to_phys() reads it: (entry & pfn_mask) << 12. */
export const smmuEntryToPhys = (entry: number, pfnMask: number): number =>
  ((entry >>> 0) % (pfnMask + 1)) * 2 ** SMMU_PTE_SHIFT;

/** A Tegra SMMU layout: the generic data plus the frame-number mask. */
export interface TegraLayout extends PgtableLayout {
  readonly pfnMask: number;
}

/**
 * The layout of a tegra_smmu_as for a memory controller with `oas` address
 * bits (tegra_mc_soc.num_address_bits): 32-bit IOVAs (the domain's aperture,
 * 0xffffffff), 4 KiB pages only, tables that must fit the frame number
 * (smmu_dma_addr_valid(), else the allocation is -ENOMEM).
 */
export function tegraSmmuAlloc(
  input: PgtableCfgInput,
  defaults: { oas: number },
): FormatAllocResult | { reason: string } {
  const oas = input.oas ?? defaults.oas;
  if (oas < 32 || oas > 40)
    return { reason: `oas ${oas}: Tegra memory controllers have 32 to 40 address bits` };
  const ias = input.ias ?? 32;
  if (ias !== 32) return { reason: `ias ${ias}: the Tegra SMMU translates 32-bit IOVAs` };
  if (input.pgsize_bitmap !== undefined && !(BigInt(input.pgsize_bitmap) & 0x1000n))
    return { reason: 'the 4 KiB page is not in pgsize_bitmap' };
  const levels: LevelLayout[] = [
    {
      level: 1,
      shift: SMMU_PDE_SHIFT,
      indexBits: 10,
      tableBytes: 4096,
      entriesPerPage: SMMU_NUM_PDE,
      leafSize: false,
      // A PDE without NEXT is a 4 MiB page to the hardware; the driver never writes one.
      leafName: 'section',
      leafBits: 0n,
      kinds: ['leaf', 'table'],
      contiguous: 0,
    },
    {
      level: 2,
      shift: SMMU_PTE_SHIFT,
      indexBits: 10,
      tableBytes: SMMU_SIZE_PT,
      entriesPerPage: SMMU_NUM_PTE,
      leafSize: true,
      leafName: 'page',
      leafBits: 0n,
      kinds: ['leaf', 'leaf'],
      contiguous: 0,
    },
  ];
  const frameBits = oas - SMMU_PTE_SHIFT;
  const layout: TegraLayout = {
    fmt: 'TEGRA_SMMU',
    pfnMask: tegraPfnMask(oas),
    granule: 4096,
    pteBytes: 4,
    rules: 'tegra-smmu',
    tableLimit: 2 ** oas,
    ias,
    oas,
    quirks: 0,
    pgsizes: [4096],
    levels,
    typeField: { lsb: 28, width: 1 },
    // An entry is in use when it is not 0 (the driver's test: *pte == 0).
    present: 0xffff_ffffn,
    tableBits: BigInt(SMMU_PDE_ATTR + SMMU_PDE_NEXT),
    // The frame number: physical bits [31:12] in [19:0], bits 32 and up in [20] and up.
    oa: {
      direct: 0n,
      moved: [
        { paBit: 12, pteBit: 0, width: 20 },
        ...(frameBits > 20 ? [{ paBit: 32, pteBit: 20, width: frameBits - 20 }] : []),
      ],
    },
    attrMask: BigInt(SMMU_PTE_READABLE + SMMU_PTE_WRITABLE + SMMU_PTE_NONSECURE),
    prot: [
      [{ set: BigInt(SMMU_PTE_NONSECURE) }],
      [{ ifAll: IOMMU_READ, set: BigInt(SMMU_PTE_READABLE) }],
      [{ ifAll: IOMMU_WRITE, set: BigInt(SMMU_PTE_WRITABLE) }],
    ],
    dirty: null,
    access: {
      read: [{ mask: BigInt(SMMU_PTE_READABLE), value: BigInt(SMMU_PTE_READABLE) }],
      write: [{ mask: BigInt(SMMU_PTE_WRITABLE), value: BigInt(SMMU_PTE_WRITABLE) }],
    },
    fields: [
      { name: 'R', lsb: 31, width: 1, on: 'table' },
      { name: 'W', lsb: 30, width: 1, on: 'table' },
      { name: 'NS', lsb: 29, width: 1, on: 'table' },
      { name: 'NEXT', lsb: 28, width: 1, on: 'table' },
      { name: 'R', lsb: 31, width: 1, on: 'leaf' },
      { name: 'W', lsb: 30, width: 1, on: 'leaf' },
      { name: 'NS', lsb: 29, width: 1, on: 'leaf' },
    ],
  };
  // SMMU_PTB_DATA_VALUE(pd_dma, as->attr): the page directory's frame and its attributes.
  return { layout, regs: { 'ptb_data.attr': SMMU_PD_ATTR }, coherent_walk: false };
}
