// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Rockchip IOMMU's own two-level page table (drivers/iommu/rockchip-iommu.c,
 * Linux 6.12; not io-pgtable): a 4 KiB directory table (DT) of 1024 32-bit
 * directory entries (DTEs), each pointing at a 4 KiB page table (PT) of 1024
 * 32-bit entries (PTEs) mapping 4 KiB pages. A 32-bit IOVA is DTE index
 * [31:22], PTE index [21:12], page offset [11:0]. There are no larger leaves:
 * the driver's pgsize_bitmap (4 KiB to 4 MiB, RK_IOMMU_PGSIZE_BITMAP) only
 * lets one map_pages call write up to a whole PT of 4 KiB entries.
 *
 * Two descriptor layouts, by the ops variant the compatible selects:
 * - v1 ("rockchip,iommu", iommu_data_ops_v1): address [31:12], flags [8:1]
 *   (bit 2 writable, bit 1 readable, the cache bits never set), valid bit 0;
 *   32-bit output addresses, tables below 4 GiB (GFP_DMA32).
 * - v2 ("rockchip,rk3568-iommu", iommu_data_ops_v2): address bits [31:12] in
 *   place, bits [35:32] in descriptor [11:8], bits [39:36] in [7:4]
 *   (rk_mk_dte_v2(), which rk_mk_pte_v2() reuses), bit 2 writable, bit 1
 *   readable, valid bit 0; 40-bit output addresses.
 * The same encoding holds a DTE's page-table address. Nothing checks that an
 * address fits: bits above 32 (v1) or 40 (v2) are simply dropped, as the
 * kernel's masks drop them.
 *
 * This file is the descriptor data (rk_mk_dte(), rk_mk_pte(), _v2 and
 * rk_*_pt_address() as functions, and the layout for walkers); the map and
 * unmap rules are rules/rockchip-iommu.ts.
 */
import type { FormatAllocResult, LevelLayout, PgtableCfgInput, PgtableLayout } from '../format.js';
import { bitmapSizes } from '../format.js';
import { IOMMU_READ, IOMMU_WRITE } from '../prot.js';

export type RkVariant = 'v1' | 'v2';

/** RK_IOMMU_PGSIZE_BITMAP: 4 KiB to 4 MiB. */
export const RK_IOMMU_PGSIZE_BITMAP = 0x007ff000;
export const NUM_DT_ENTRIES = 1024;
export const NUM_PT_ENTRIES = 1024;
export const SPAGE_SIZE = 0x1000;

export const RK_DTE_PT_ADDRESS_MASK = 0xfffff000;
export const RK_DTE_PT_VALID = 1 << 0;
/** GENMASK_ULL(31, 4): what a v2 descriptor keeps of its address-bearing value. */
export const RK_DTE_PT_ADDRESS_MASK_V2 = 0xfffffff0;
export const RK_PTE_PAGE_ADDRESS_MASK = 0xfffff000;
export const RK_PTE_PAGE_FLAGS_MASK = 0x000001fe;
export const RK_PTE_PAGE_WRITABLE = 1 << 2;
export const RK_PTE_PAGE_READABLE = 1 << 1;
export const RK_PTE_PAGE_VALID = 1 << 0;

const TWO32 = 2 ** 32;

/** rk_iova_dte_index(): IOVA bits [31:22] (bits above 31 are masked off). */
export const rkIovaDteIndex = (iova: number): number => Math.floor((iova % TWO32) / 0x400000);
/** rk_iova_pte_index(): IOVA bits [21:12]. */
export const rkIovaPteIndex = (iova: number): number => Math.floor((iova % 0x400000) / SPAGE_SIZE);
/** rk_iova_page_offset(): IOVA bits [11:0]. */
export const rkIovaPageOffset = (iova: number): number => iova % SPAGE_SIZE;

/** rk_dte_pt_address(): a v1 descriptor's address (also what a v1 PTE's page address reads as). */
export const rkDtePtAddress = (dte: number): number => (dte & RK_DTE_PT_ADDRESS_MASK) >>> 0;

/** rk_dte_pt_address_v2(): [31:12] in place, [11:8] to bits 35..32, [7:4] to bits 39..36. */
export function rkDtePtAddressV2(dte: number): number {
  const hi1 = (dte >>> 8) & 0xf;
  const hi2 = (dte >>> 4) & 0xf;
  return rkDtePtAddress(dte) + (hi1 + hi2 * 16) * TWO32;
}

/** rk_mk_dte(): the table's address [31:12] and the valid bit. */
export const rkMkDte = (ptDma: number): number =>
  (((ptDma % TWO32) & RK_DTE_PT_ADDRESS_MASK) | RK_DTE_PT_VALID) >>> 0;

/** rk_mk_dte_v2(): address bits 35..32 to [11:8] and 39..36 to [7:4], then GENMASK(31, 4) and the valid bit. */
export function rkMkDteV2(ptDma: number): number {
  const hi = Math.floor(ptDma / TWO32);
  const v = ((ptDma % TWO32) & RK_DTE_PT_ADDRESS_MASK) | ((hi & 0xf) << 8) | (((hi >>> 4) & 0xf) << 4);
  return ((v & RK_DTE_PT_ADDRESS_MASK_V2) | RK_DTE_PT_VALID) >>> 0;
}

/** The readable and writable flags of a prot (no cache attributes: "TODO: set cache flags per prot IOMMU_CACHE"). */
const rkFlags = (prot: number): number =>
  (prot & IOMMU_READ ? RK_PTE_PAGE_READABLE : 0) | (prot & IOMMU_WRITE ? RK_PTE_PAGE_WRITABLE : 0);

/** rk_mk_pte(): page [31:12], flags, valid. */
export const rkMkPte = (page: number, prot: number): number =>
  (((page % TWO32) & RK_PTE_PAGE_ADDRESS_MASK) | rkFlags(prot) | RK_PTE_PAGE_VALID) >>> 0;

/** rk_mk_pte_v2(): the v2 address encoding (valid bit included), and the flags. */
export const rkMkPteV2 = (page: number, prot: number): number => (rkMkDteV2(page) | rkFlags(prot)) >>> 0;

/** rk_mk_pte_invalid(): only the valid bit goes; address and flags stay in the entry. */
export const rkMkPteInvalid = (pte: number): number => (pte & ~RK_PTE_PAGE_VALID) >>> 0;

/** struct rk_iommu_ops, the descriptor half: pt_address, mk_dtentries, mk_ptentries. */
export interface RkOps {
  readonly pt_address: (dte: number) => number;
  readonly mk_dtentries: (ptDma: number) => number;
  readonly mk_ptentries: (page: number, prot: number) => number;
  /** dma_bit_mask: the output address width. */
  readonly dma_bits: number;
}

/** iommu_data_ops_v1 and iommu_data_ops_v2. */
export const rkOps: Readonly<Record<RkVariant, RkOps>> = {
  v1: { pt_address: rkDtePtAddress, mk_dtentries: rkMkDte, mk_ptentries: rkMkPte, dma_bits: 32 },
  v2: { pt_address: rkDtePtAddressV2, mk_dtentries: rkMkDteV2, mk_ptentries: rkMkPteV2, dma_bits: 40 },
};

/** A Rockchip layout: the generic data plus which descriptor variant it is. */
export interface RkLayout extends PgtableLayout {
  readonly rkVariant: RkVariant;
}

/**
 * The layout of a rk_iommu_domain's tables for one variant. The cfg can only
 * narrow the page sizes (the driver always offers RK_IOMMU_PGSIZE_BITMAP); the
 * IOVA is 32 bits (the domain's aperture, DMA_BIT_MASK(32)), the output
 * address the variant's dma_bit_mask.
 */
export function rockchipAlloc(
  variant: RkVariant,
  input: PgtableCfgInput,
): FormatAllocResult | { reason: string } {
  const bitmap =
    (input.pgsize_bitmap === undefined ? BigInt(RK_IOMMU_PGSIZE_BITMAP) : BigInt(input.pgsize_bitmap)) &
    BigInt(RK_IOMMU_PGSIZE_BITMAP);
  const pgsizes = bitmapSizes(bitmap);
  if (!pgsizes.includes(SPAGE_SIZE)) return { reason: 'the 4 KiB page is not in pgsize_bitmap' };
  const v2 = variant === 'v2';
  const oas = rkOps[variant].dma_bits;
  const ias = input.ias ?? 32;
  if (ias !== 32) return { reason: `ias ${ias}: the Rockchip IOMMU translates 32-bit IOVAs` };
  const levels: LevelLayout[] = [
    {
      level: 1,
      shift: 22,
      indexBits: 10,
      tableBytes: 4096,
      // rk_iommu_map() writes into one PT per call: a call never crosses a DTE.
      entriesPerPage: NUM_DT_ENTRIES,
      leafSize: false,
      leafName: 'dte',
      leafBits: 0n,
      kinds: ['invalid', 'table'],
      contiguous: 0,
    },
    {
      level: 2,
      shift: 12,
      indexBits: 10,
      tableBytes: 4096,
      entriesPerPage: NUM_PT_ENTRIES,
      leafSize: true,
      leafName: 'page',
      leafBits: BigInt(RK_PTE_PAGE_VALID),
      kinds: ['invalid', 'leaf'],
      contiguous: 0,
    },
  ];
  const layout: RkLayout = {
    fmt: v2 ? 'ROCKCHIP_IOMMU_V2' : 'ROCKCHIP_IOMMU_V1',
    rkVariant: variant,
    granule: SPAGE_SIZE,
    pteBytes: 4,
    rules: 'rockchip-iommu',
    // v1 tables come from GFP_DMA32 and a DTE holds 32 address bits; v2 DTEs hold 40.
    tableLimit: 2 ** oas,
    ias,
    oas,
    quirks: 0,
    pgsizes,
    levels,
    typeField: { lsb: 0, width: 1 },
    present: BigInt(RK_DTE_PT_VALID),
    tableBits: BigInt(RK_DTE_PT_VALID),
    oa: {
      direct: BigInt(RK_DTE_PT_ADDRESS_MASK),
      moved: v2
        ? [
            { paBit: 32, pteBit: 8, width: 4 },
            { paBit: 36, pteBit: 4, width: 4 },
          ]
        : [],
    },
    // A leaf's flags: [8:1] in v1 (readable, writable and the unused cache bits), [3:1] in v2.
    attrMask: v2 ? 0xen : BigInt(RK_PTE_PAGE_FLAGS_MASK),
    prot: [
      [{ ifAll: IOMMU_READ, set: BigInt(RK_PTE_PAGE_READABLE) }],
      [{ ifAll: IOMMU_WRITE, set: BigInt(RK_PTE_PAGE_WRITABLE) }],
    ],
    dirty: null,
    // The MMU raises a page fault for an access the entry's flag does not allow.
    access: {
      read: [{ mask: BigInt(RK_PTE_PAGE_READABLE), value: BigInt(RK_PTE_PAGE_READABLE) }],
      write: [{ mask: BigInt(RK_PTE_PAGE_WRITABLE), value: BigInt(RK_PTE_PAGE_WRITABLE) }],
    },
    fields: [
      { name: 'V', lsb: 0, width: 1, on: 'table' },
      { name: 'V', lsb: 0, width: 1, on: 'leaf' },
      { name: 'R', lsb: 1, width: 1, on: 'leaf' },
      { name: 'W', lsb: 2, width: 1, on: 'leaf' },
      ...(v2 ? [{ name: 'S', lsb: 3, width: 1, on: 'leaf' as const }] : []),
    ],
  };
  // RK_MMU_DTE_ADDR takes mk_dtentries(dt_dma): the DT's address with the valid bit.
  return { layout, regs: {}, coherent_walk: false };
}
