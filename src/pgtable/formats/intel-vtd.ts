// SPDX-License-Identifier: GPL-2.0-only
/**
 * Intel VT-d DMA remapping tables as drivers/iommu/intel/iommu.c (Linux
 * 6.12) builds them for a paging domain: second-stage tables (struct dma_pte,
 * DMA_PTE_READ/WRITE/SNP, DMA_PTE_LARGE_PAGE superpages) and first-stage
 * tables (x86-64 4- or 5-level paging as the PASID entry's FLPTR points at
 * them: P/RW/US/A/D/PS). 6.12 drives both with the same functions
 * (pfn_to_dma_pte(), __domain_mapping(), domain_unmap()), only the bits
 * differ, and does not use io-pgtable for either: the algorithm is in
 * rules/intel-vtd.ts.
 *
 * Geometry: the domain's address width (gaw, the cfg's ias) gives the agaw
 * (width_to_agaw(guestwidth_to_adjustwidth(gaw)), as md_domain_init() and the
 * SAGAW arithmetic do) and agaw + 2 levels of 512 entries; superpages follow
 * domain->iommu_superpage, which the cfg's pgsize_bitmap stands for (2M: 1,
 * 2M and 1G: 2). First stage has 4 or 5 levels only. Not modelled: a domain
 * whose agaw is wider than its gaw (an IOMMU whose MGAW is below its
 * smallest SAGAW width), and the first stage's canonical-address aperture
 * (the core refuses IOVAs at bit gaw - 1 and up; the table maps them).
 */
import type { FormatAllocResult, LevelLayout, PgtableCfgInput, ProtChoice, PteField } from '../format.js';
import { ALWAYS, BIT, GENMASK, bitmapSizes } from '../format.js';
import { IOMMU_READ, IOMMU_WRITE } from '../prot.js';
import { x86PagingFields } from './x86-paging.js';

export const VTD_PAGE_SHIFT = 12;
export const LEVEL_STRIDE = 9;
export const DEFAULT_DOMAIN_ADDRESS_WIDTH = 57;

export const DMA_PTE_READ = BIT(0);
export const DMA_PTE_WRITE = BIT(1);
export const DMA_PTE_LARGE_PAGE = BIT(7);
export const DMA_PTE_SNP = BIT(11);
export const DMA_FL_PTE_PRESENT = BIT(0);
export const DMA_FL_PTE_US = BIT(2);
export const DMA_FL_PTE_ACCESS = BIT(5);
export const DMA_FL_PTE_DIRTY = BIT(6);
export const DMA_SL_PTE_DIRTY = BIT(9);
/** The x86 execute-disable bit: 6.12 never sets it in first-stage entries. */
export const DMA_FL_PTE_XD = BIT(63);

/**
 * dmar_domain->set_pte_snp, as a cfg quirk: intel_iommu_enforce_cache_coherency()
 * on a second-stage domain makes every later leaf carry DMA_PTE_SNP.
 */
export const INTEL_VTD_QUIRK_FORCE_SNOOP = 1 << 16;

/** width_to_agaw(). */
export const widthToAgaw = (width: number): number => Math.ceil((width - 30) / LEVEL_STRIDE);
/** agaw_to_width(). */
export const agawToWidth = (agaw: number): number => Math.min(30 + agaw * LEVEL_STRIDE, 64);
/** guestwidth_to_adjustwidth(). */
export function guestwidthToAdjustwidth(gaw: number): number {
  const r = (gaw - 12) % 9;
  return Math.min(r === 0 ? gaw : gaw + 9 - r, 64);
}

const SZ_4K = 0x1000;
const SZ_2M = 0x200000;
const SZ_1G = 0x40000000;

export type VtdStage = 'second' | 'first';

const secondProt: readonly ProtChoice[] = [
  [{ ifAll: IOMMU_READ, set: DMA_PTE_READ }],
  [{ ifAll: IOMMU_WRITE, set: DMA_PTE_WRITE }],
  // __domain_mapping() ORs DMA_FL_PTE_PRESENT into every leaf: bit 0 is DMA_PTE_READ at second stage.
  [{ set: DMA_FL_PTE_PRESENT }],
  [{ ifQuirks: INTEL_VTD_QUIRK_FORCE_SNOOP, set: DMA_PTE_SNP }],
];
const firstProt: readonly ProtChoice[] = [
  [{ set: DMA_FL_PTE_PRESENT }],
  [{ ifAll: IOMMU_WRITE, set: DMA_PTE_WRITE }],
  [{ set: DMA_FL_PTE_US | DMA_FL_PTE_ACCESS }],
  [{ ifAll: IOMMU_WRITE, set: DMA_FL_PTE_DIRTY }],
];

const secondFields: readonly PteField[] = [
  { name: 'R', lsb: 0, width: 1, on: 'leaf' },
  { name: 'W', lsb: 1, width: 1, on: 'leaf' },
  { name: 'PS', lsb: 7, width: 1, on: 'leaf' },
  { name: 'D', lsb: 9, width: 1, on: 'leaf' },
  { name: 'SNP', lsb: 11, width: 1, on: 'leaf' },
  { name: 'R', lsb: 0, width: 1, on: 'table' },
  { name: 'W', lsb: 1, width: 1, on: 'table' },
];
const firstFields = x86PagingFields('XD');

/** A VT-d paging domain's table: the checks of paging_domain_alloc()/md_domain_init() and domain_setup_first_level(). */
export function intelVtdAlloc(
  stage: VtdStage,
  input: PgtableCfgInput,
  defaults: { pgsize_bitmap: bigint; ias: number; oas: number },
): FormatAllocResult | { reason: string } {
  const quirks = input.quirks ?? 0;
  const gaw = input.ias ?? defaults.ias;
  const oas = input.oas ?? defaults.oas;
  const bitmap = input.pgsize_bitmap === undefined ? defaults.pgsize_bitmap : BigInt(input.pgsize_bitmap);
  if (quirks & ~INTEL_VTD_QUIRK_FORCE_SNOOP) return { reason: `quirks 0x${quirks.toString(16)} not allowed` };
  if (stage === 'first' && quirks & INTEL_VTD_QUIRK_FORCE_SNOOP)
    return { reason: 'first stage snoops through the PASID entry (PGSNP), not its leaves' };
  if (gaw > DEFAULT_DOMAIN_ADDRESS_WIDTH || gaw < 31)
    return { reason: `address width ${gaw} outside the 3- to 5-level tables (31..57)` };
  const agaw = widthToAgaw(guestwidthToAdjustwidth(gaw));
  const total = agaw + 2;
  // domain_setup_first_level(): first-stage paging is 4- or 5-level.
  if (stage === 'first' && total !== 4 && total !== 5)
    return { reason: `first-stage tables have 4 or 5 levels, not ${total} (domain_setup_first_level)` };
  if (!(bitmap & BigInt(SZ_4K))) return { reason: 'VT-d pages are 4K (VTD_PAGE_SIZE)' };
  // domain->iommu_superpage: 2M (1), 2M and 1G (2); domain_super_pgsize_bitmap() gives the bitmap back.
  const superpage = bitmap & BigInt(SZ_2M) ? (bitmap & BigInt(SZ_1G) ? 2 : 1) : 0;
  const pgsizes = [SZ_4K, SZ_2M, SZ_1G].slice(0, superpage + 1);
  const levels: LevelLayout[] = [];
  for (let level = total; level >= 1; level--) {
    levels.push({
      level,
      shift: VTD_PAGE_SHIFT + (level - 1) * LEVEL_STRIDE,
      indexBits: LEVEL_STRIDE,
      tableBytes: 4096,
      entriesPerPage: 512,
      leafSize: level - 1 <= superpage,
      leafName: level === 1 ? 'page' : 'superpage',
      leafBits: level === 1 ? 0n : DMA_PTE_LARGE_PAGE,
      // dma_pte_superpage(): PS marks a leaf above level 1; at level 1 every present entry is one.
      kinds: level === 1 ? ['leaf', 'leaf'] : ['table', 'leaf'],
      contiguous: 0,
    });
  }
  const first = stage === 'first';
  return {
    layout: {
      fmt: first ? 'INTEL_VTD_FIRST_STAGE' : 'INTEL_VTD_SECOND_STAGE',
      granule: SZ_4K,
      pteBytes: 8,
      rules: 'intel-vtd',
      ias: gaw,
      oas,
      quirks,
      pgsizes: bitmapSizes(pgsizes.reduce((a, b) => a | BigInt(b), 0n)),
      levels,
      typeField: { lsb: 7, width: 1 },
      // dma_pte_present(): (val & 3) != 0, at either stage.
      present: 3n,
      // pfn_to_dma_pte(): a new table is READ | WRITE (| US | ACCESS at first stage).
      tableBits: DMA_PTE_READ | DMA_PTE_WRITE | (first ? DMA_FL_PTE_US | DMA_FL_PTE_ACCESS : 0n),
      // dma_pte_addr(): the bits from 12 up but the first stage's execute-disable bit 63 (the
      // kernel clears it at either stage, as its one helper does).
      oa: { direct: GENMASK(62, 12), moved: [] },
      attrMask: GENMASK(11, 0) & ~DMA_PTE_LARGE_PAGE,
      prot: first ? firstProt : secondProt,
      // Second-stage dirty tracking: hardware sets bit 9; intel_iommu_read_and_clear_dirty() clears it.
      dirty: first
        ? null
        : { mask: DMA_SL_PTE_DIRTY, value: DMA_SL_PTE_DIRTY, cleanSet: 0n, cleanClear: DMA_SL_PTE_DIRTY },
      // Second stage: R and W; first stage: present is readable, RW writable.
      access: first
        ? { read: ALWAYS, write: [{ mask: DMA_PTE_WRITE, value: DMA_PTE_WRITE }] }
        : {
            read: [{ mask: DMA_PTE_READ, value: DMA_PTE_READ }],
            write: [{ mask: DMA_PTE_WRITE, value: DMA_PTE_WRITE }],
          },
      fields: first ? firstFields : secondFields,
    },
    regs: first ? { agaw, flpm: total === 5 ? 1 : 0 } : { agaw, 'context.aw': agaw },
    coherent_walk: input.coherent_walk ?? true,
  };
}
