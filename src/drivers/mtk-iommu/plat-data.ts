// SPDX-License-Identifier: GPL-2.0-only
/**
 * The per-SoC data of the MediaTek M4U driver (drivers/iommu/mtk_iommu.c,
 * v6.12: struct mtk_iommu_plat_data, the flag bits, the IOVA regions and the
 * larb-port-to-region masks, and mtk_iommu_of_ids), kept as data: the driver
 * reads it through the helpers at the end (MTK_IOMMU_HAS_FLAG,
 * MTK_IOMMU_IS_TYPE, MTK_M4U_TO_LARB/PORT).
 *
 * The one IOVA space of a multi-region M4U (up to 16 GiB, one page table) is
 * cut into regions; each region is an IOMMU group, and a master's region is
 * chosen by its larb and ports. larbid_remap (the fault handler's map from
 * the interrupt ID's common/sub-common IDs to a larb) is kept as the source
 * writes it, row by row with only the entries given; inv_sel_reg (which
 * register selects the TLBs to invalidate) is left out.
 */

// Flag bits (the driver's private #defines).
export const HAS_4GB_MODE = 1 << 0;
export const HAS_BCLK = 1 << 1;
export const HAS_VLD_PA_RNG = 1 << 2;
export const RESET_AXI = 1 << 3;
export const OUT_ORDER_WR_EN = 1 << 4;
export const HAS_SUB_COMM_2BITS = 1 << 5;
export const HAS_SUB_COMM_3BITS = 1 << 6;
export const WR_THROT_EN = 1 << 7;
export const HAS_LEGACY_IVRP_PADDR = 1 << 8;
export const IOVA_34_EN = 1 << 9;
/** Two M4U instances share one page table (and the driver's m4ulist). */
export const SHARE_PGTABLE = 1 << 10;
export const DCM_DISABLE = 1 << 11;
export const STD_AXI_MODE = 1 << 12;
export const MTK_IOMMU_TYPE_MM = 0x0 << 13;
export const MTK_IOMMU_TYPE_INFRA = 0x1 << 13;
export const MTK_IOMMU_TYPE_MASK = 0x3 << 13;
export const PM_CLK_AO = 1 << 15;
export const IFA_IOMMU_PCIE_SUPPORT = 1 << 16;
export const PGTABLE_PA_35_EN = 1 << 17;
export const TF_PORT_TO_ADDR_MT8173 = 1 << 18;
export const INT_ID_PORT_WIDTH_6 = 1 << 19;
export const CFG_IFA_MASTER_IN_ATF = 1 << 20;

/** dt-bindings/memory/mtk-memory-port.h */
export const MTK_LARB_NR_MAX = 32;
/** MTK_M4U_ID(larb, port): the one `iommus` cell. */
export const MTK_M4U_ID = (larb: number, port: number): number => ((larb << 5) | port) >>> 0;
export const MTK_M4U_TO_LARB = (id: number): number => (id >>> 5) & 0x1f;
export const MTK_M4U_TO_PORT = (id: number): number => id & 0x1f;

export const MTK_IOMMU_GROUP_MAX = 8;
/** MTK_INVALID_LARBID */
export const MTK_INVALID_LARBID = MTK_LARB_NR_MAX;
export const MTK_LARB_COM_MAX = 8;
export const MTK_LARB_SUBCOM_MAX = 8;
export const MTK_IOMMU_BANK_MAX = 5;
export const MTK_IOMMU_BANK_SZ = 0x1000n;

export type MtkIommuPlat =
  | 'M4U_MT2712'
  | 'M4U_MT6779'
  | 'M4U_MT6795'
  | 'M4U_MT8167'
  | 'M4U_MT8173'
  | 'M4U_MT8183'
  | 'M4U_MT8186'
  | 'M4U_MT8188'
  | 'M4U_MT8192'
  | 'M4U_MT8195'
  | 'M4U_MT8365';

/** struct mtk_iommu_iova_region, with the kernel source's comment as its name. */
export interface MtkIommuIovaRegion {
  readonly iova_base: bigint;
  readonly size: bigint;
  readonly name: string;
}

export interface MtkIommuPlatData {
  readonly m4u_plat: MtkIommuPlat;
  readonly flags: number;
  /** The INFRA M4U's peripheral-config syscon, found by compatible. */
  readonly pericfg_comp_str?: string;
  /** hw_list = &m4ulist: instances with SHARE_PGTABLE share the driver's global list. */
  readonly sharedHwList: boolean;
  readonly iova_region: readonly MtkIommuIovaRegion[];
  /** [region][larb] = the larb's ports (bit positions) that live in that region. */
  readonly iova_region_larb_msk?: readonly (readonly number[])[];
  readonly banks_num: number;
  readonly banks_enable: readonly boolean[];
  /** [bank] = the ports (bit positions) that bank serves. */
  readonly banks_portmsk: readonly number[];
  /**
   * larbid_remap[MTK_LARB_COM_MAX][MTK_LARB_SUBCOM_MAX]: the entries the
   * source initialises, per common ID; the rest of the C array is 0.
   */
  readonly larbid_remap: readonly (readonly number[])[];
}

const SZ_4G = 0x100000000n;
const SZ_8M = 0x800000n;
/** MTK_IOMMU_IOVA_SZ_4G: 4 GiB less an 8 MiB gap. */
const MTK_IOMMU_IOVA_SZ_4G = SZ_4G - SZ_8M;

/** single_domain[] */
const single_domain: readonly MtkIommuIovaRegion[] = [
  { iova_base: 0n, size: MTK_IOMMU_IOVA_SZ_4G, name: '0 ~ 4G' },
];

/** mt8192_multi_dom[]: six regions, CONFIG_ARCH_DMA_ADDR_T_64BIT being set on arm64. */
const mt8192_multi_dom: readonly MtkIommuIovaRegion[] = [
  { iova_base: 0n, size: MTK_IOMMU_IOVA_SZ_4G, name: '0 ~ 4G' },
  { iova_base: SZ_4G, size: MTK_IOMMU_IOVA_SZ_4G, name: '4G ~ 8G' },
  { iova_base: SZ_4G * 2n, size: MTK_IOMMU_IOVA_SZ_4G, name: '8G ~ 12G' },
  { iova_base: SZ_4G * 3n, size: MTK_IOMMU_IOVA_SZ_4G, name: '12G ~ 16G' },
  { iova_base: 0x240000000n, size: 0x4000000n, name: 'CCU0' },
  { iova_base: 0x244000000n, size: 0x4000000n, name: 'CCU1' },
];

const ALL = 0xffffffff;
const BIT = (n: number): number => (1 << n) >>> 0;
const NOT = (m: number): number => ~m >>> 0;

/** One region's row: MTK_LARB_NR_MAX entries, the listed ones first, sparse ones by index. */
function row(head: readonly number[], at: Readonly<Record<number, number>> = {}): number[] {
  const r = new Array<number>(MTK_LARB_NR_MAX).fill(0);
  head.forEach((v, i) => (r[i] = v >>> 0));
  for (const [i, v] of Object.entries(at)) r[Number(i)] = v >>> 0;
  return r;
}

/** mt8186_larb_region_msk */
const mt8186_larb_region_msk = [
  row([ALL, ALL, ALL]), // larb0/1/2
  row([0, 0, 0, 0, ALL, 0, 0, ALL]), // larb4/7
  row([
    ...[0, 0, 0, 0, 0, 0, 0, 0],
    ...[ALL, ALL, 0, ALL, 0, NOT(BIT(9) | BIT(10)), 0, 0], // larb13: all but port 9/10
    ...[ALL, ALL, 0, ALL, ALL],
  ]),
  row([]),
  row([], { 13: BIT(9) | BIT(10) }), // larb13 port9/10
  row([], { 14: ALL }), // larb14
];

/** mt8188_larb_region_msk */
const mt8188_larb_region_msk = [
  row([ALL, ALL, ALL, ALL]),
  row([], { 21: ALL, 22: ALL, 23: ALL }),
  row([
    ...[0, 0, 0, 0, ALL, ALL, ALL, ALL],
    ...[ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL],
    ...[ALL, ALL, ALL, ALL, ALL, 0, 0, 0],
    ...[0, ALL],
  ]),
  row([]),
  row([], { 24: BIT(0) | BIT(1) }),
  row([], { 24: BIT(2) | BIT(3) }),
];

/** mt8192_larb_region_msk */
const mt8192_larb_region_msk = [
  row([ALL, ALL]), // larb0/1
  row([0, 0, 0, 0, ALL, ALL, 0, ALL]), // larb4/5/7
  row([
    ...[0, 0, ALL, 0, 0, 0, 0, 0],
    ...[0, ALL, 0, ALL, 0, NOT(BIT(9) | BIT(10)), NOT(BIT(4) | BIT(5)), 0],
    ...[ALL, ALL, ALL, ALL, ALL],
  ]),
  row([]),
  row([], { 13: BIT(9) | BIT(10) }), // larb13 port9/10
  row([], { 14: BIT(4) | BIT(5) }), // larb14 port4/5
];

/** mt8195_larb_region_msk */
const mt8195_larb_region_msk = [
  row([ALL, ALL, ALL, ALL]), // all ports of larb0/1/2/3
  row([], { 19: ALL, 20: ALL, 21: ALL, 22: ALL, 23: ALL, 24: ALL }), // larb19..24
  row([
    ...[0, 0, 0, 0, ALL, ALL, ALL, ALL],
    ...[ALL, ALL, ALL, ALL, ALL, ALL, ALL, ALL],
    ...[ALL, ALL, 0, 0, 0, 0, 0, 0],
    ...[0, ALL, ALL, ALL, ALL],
  ]), // the other larbs
  row([]),
  row([], { 18: BIT(0) | BIT(1) }), // only larb18 port0/1
  row([], { 18: BIT(2) | BIT(3) }), // only larb18 port2/3
];

const oneBank = { banks_num: 1, banks_enable: [true], banks_portmsk: [] as number[] };

const mt2712_data: MtkIommuPlatData = {
  larbid_remap: [[0], [1], [2], [3], [4], [5], [6], [7]],
  m4u_plat: 'M4U_MT2712',
  flags: HAS_4GB_MODE | HAS_BCLK | HAS_VLD_PA_RNG | SHARE_PGTABLE | MTK_IOMMU_TYPE_MM,
  sharedHwList: true,
  iova_region: single_domain,
  ...oneBank,
};

const mt6779_data: MtkIommuPlatData = {
  larbid_remap: [[0], [1], [2], [3], [5], [7, 8], [10], [9]],
  m4u_plat: 'M4U_MT6779',
  flags: HAS_SUB_COMM_2BITS | OUT_ORDER_WR_EN | WR_THROT_EN | MTK_IOMMU_TYPE_MM | PGTABLE_PA_35_EN,
  sharedHwList: false,
  iova_region: single_domain,
  ...oneBank,
};

const mt6795_data: MtkIommuPlatData = {
  larbid_remap: [[0], [1], [2], [3], [4]],
  m4u_plat: 'M4U_MT6795',
  flags:
    HAS_4GB_MODE | HAS_BCLK | RESET_AXI | HAS_LEGACY_IVRP_PADDR | MTK_IOMMU_TYPE_MM | TF_PORT_TO_ADDR_MT8173,
  sharedHwList: false,
  iova_region: single_domain,
  ...oneBank,
};

const mt8167_data: MtkIommuPlatData = {
  larbid_remap: [[0], [1], [2]],
  m4u_plat: 'M4U_MT8167',
  flags: RESET_AXI | HAS_LEGACY_IVRP_PADDR | MTK_IOMMU_TYPE_MM,
  sharedHwList: false,
  iova_region: single_domain,
  ...oneBank,
};

const mt8173_data: MtkIommuPlatData = {
  larbid_remap: [[0], [1], [2], [3], [4], [5]],
  m4u_plat: 'M4U_MT8173',
  flags:
    HAS_4GB_MODE | HAS_BCLK | RESET_AXI | HAS_LEGACY_IVRP_PADDR | MTK_IOMMU_TYPE_MM | TF_PORT_TO_ADDR_MT8173,
  sharedHwList: false,
  iova_region: single_domain,
  ...oneBank,
};

const mt8183_data: MtkIommuPlatData = {
  larbid_remap: [[0], [4], [5], [6], [7], [2], [3], [1]],
  m4u_plat: 'M4U_MT8183',
  flags: RESET_AXI | MTK_IOMMU_TYPE_MM,
  sharedHwList: false,
  iova_region: single_domain,
  ...oneBank,
};

const mt8186_data_mm: MtkIommuPlatData = {
  larbid_remap: [
    [0],
    [1, MTK_INVALID_LARBID, 8],
    [4],
    [7],
    [2],
    [9, 11, 19, 20],
    [MTK_INVALID_LARBID, 14, 16],
    [MTK_INVALID_LARBID, 13, MTK_INVALID_LARBID, 17],
  ],
  m4u_plat: 'M4U_MT8186',
  flags: HAS_BCLK | HAS_SUB_COMM_2BITS | OUT_ORDER_WR_EN | WR_THROT_EN | IOVA_34_EN | MTK_IOMMU_TYPE_MM,
  sharedHwList: false,
  iova_region: mt8192_multi_dom,
  iova_region_larb_msk: mt8186_larb_region_msk,
  ...oneBank,
};

const mt8188_data_infra: MtkIommuPlatData = {
  larbid_remap: [],
  m4u_plat: 'M4U_MT8188',
  flags:
    WR_THROT_EN |
    DCM_DISABLE |
    STD_AXI_MODE |
    PM_CLK_AO |
    MTK_IOMMU_TYPE_INFRA |
    IFA_IOMMU_PCIE_SUPPORT |
    PGTABLE_PA_35_EN |
    CFG_IFA_MASTER_IN_ATF,
  sharedHwList: false,
  iova_region: single_domain,
  ...oneBank,
};

const mt8188_mm_flags =
  HAS_BCLK |
  HAS_SUB_COMM_3BITS |
  OUT_ORDER_WR_EN |
  WR_THROT_EN |
  IOVA_34_EN |
  SHARE_PGTABLE |
  PGTABLE_PA_35_EN |
  MTK_IOMMU_TYPE_MM;

const mt8188_data_vdo: MtkIommuPlatData = {
  larbid_remap: [[2], [0], [21], [0], [19], [9, 10, 11, 25], [13, 0, 29, 30, 0], [5]],
  m4u_plat: 'M4U_MT8188',
  flags: mt8188_mm_flags,
  sharedHwList: true,
  iova_region: mt8192_multi_dom,
  iova_region_larb_msk: mt8188_larb_region_msk,
  ...oneBank,
};

const mt8188_data_vpp: MtkIommuPlatData = {
  ...mt8188_data_vdo,
  larbid_remap: [
    [1],
    [3],
    [23],
    [7],
    [MTK_INVALID_LARBID],
    [12, 15, 24],
    [14, MTK_INVALID_LARBID, 16, 17, MTK_INVALID_LARBID, 27, 28, MTK_INVALID_LARBID],
    [4, 6],
  ],
};

const mt8192_data: MtkIommuPlatData = {
  larbid_remap: [[0], [1], [4, 5], [7], [2], [9, 11, 19, 20], [0, 14, 16], [0, 13, 18, 17]],
  m4u_plat: 'M4U_MT8192',
  flags: HAS_BCLK | HAS_SUB_COMM_2BITS | OUT_ORDER_WR_EN | WR_THROT_EN | IOVA_34_EN | MTK_IOMMU_TYPE_MM,
  sharedHwList: false,
  iova_region: mt8192_multi_dom,
  iova_region_larb_msk: mt8192_larb_region_msk,
  ...oneBank,
};

const GENMASK = (h: number, l: number): number => ((0xffffffff >>> (31 - h)) & ~((1 << l) - 1)) >>> 0;

const mt8195_data_infra: MtkIommuPlatData = {
  larbid_remap: [],
  m4u_plat: 'M4U_MT8195',
  flags: WR_THROT_EN | DCM_DISABLE | STD_AXI_MODE | PM_CLK_AO | MTK_IOMMU_TYPE_INFRA | IFA_IOMMU_PCIE_SUPPORT,
  pericfg_comp_str: 'mediatek,mt8195-pericfg_ao',
  sharedHwList: false,
  banks_num: 5,
  banks_enable: [true, false, false, false, true],
  // [0]: PCIe, [4]: USB
  banks_portmsk: [GENMASK(19, 16), 0, 0, 0, GENMASK(31, 20)],
  iova_region: single_domain,
};

const mt8195_data_vdo: MtkIommuPlatData = {
  larbid_remap: [[2, 0], [21], [24], [7], [19], [9, 10, 11], [13, 17, 15, 25], [5]],
  m4u_plat: 'M4U_MT8195',
  flags:
    HAS_BCLK |
    HAS_SUB_COMM_2BITS |
    OUT_ORDER_WR_EN |
    WR_THROT_EN |
    IOVA_34_EN |
    SHARE_PGTABLE |
    MTK_IOMMU_TYPE_MM,
  sharedHwList: true,
  iova_region: mt8192_multi_dom,
  iova_region_larb_msk: mt8195_larb_region_msk,
  ...oneBank,
};

const mt8195_data_vpp: MtkIommuPlatData = {
  ...mt8195_data_vdo,
  // 16: 16a; 29: 16b; 30: CCUtop0; 31: CCUtop1
  larbid_remap: [
    [1],
    [3],
    [22, MTK_INVALID_LARBID, MTK_INVALID_LARBID, MTK_INVALID_LARBID, 23],
    [8],
    [20],
    [12],
    [14, 16, 29, 26, 30, 31, 18],
    [4, MTK_INVALID_LARBID, MTK_INVALID_LARBID, MTK_INVALID_LARBID, 6],
  ],
  flags:
    HAS_BCLK |
    HAS_SUB_COMM_3BITS |
    OUT_ORDER_WR_EN |
    WR_THROT_EN |
    IOVA_34_EN |
    SHARE_PGTABLE |
    MTK_IOMMU_TYPE_MM,
};

const mt8365_data: MtkIommuPlatData = {
  larbid_remap: [[0], [1], [2], [3], [4], [5]],
  m4u_plat: 'M4U_MT8365',
  flags: RESET_AXI | INT_ID_PORT_WIDTH_6,
  sharedHwList: false,
  iova_region: single_domain,
  ...oneBank,
};

/** mtk_iommu_of_ids[]: compatible -> plat_data, in the table's order. */
export const mtk_iommu_of_ids: readonly (readonly [string, MtkIommuPlatData])[] = [
  ['mediatek,mt2712-m4u', mt2712_data],
  ['mediatek,mt6779-m4u', mt6779_data],
  ['mediatek,mt6795-m4u', mt6795_data],
  ['mediatek,mt8167-m4u', mt8167_data],
  ['mediatek,mt8173-m4u', mt8173_data],
  ['mediatek,mt8183-m4u', mt8183_data],
  ['mediatek,mt8186-iommu-mm', mt8186_data_mm],
  ['mediatek,mt8188-iommu-infra', mt8188_data_infra],
  ['mediatek,mt8188-iommu-vdo', mt8188_data_vdo],
  ['mediatek,mt8188-iommu-vpp', mt8188_data_vpp],
  ['mediatek,mt8192-m4u', mt8192_data],
  ['mediatek,mt8195-iommu-infra', mt8195_data_infra],
  ['mediatek,mt8195-iommu-vdo', mt8195_data_vdo],
  ['mediatek,mt8195-iommu-vpp', mt8195_data_vpp],
  ['mediatek,mt8365-m4u', mt8365_data],
];

/** MTK_IOMMU_HAS_FLAG(pdata, x): every bit of x is set. */
export function MTK_IOMMU_HAS_FLAG(pdata: MtkIommuPlatData, x: number): boolean {
  return (pdata.flags & x) === x;
}

/** MTK_IOMMU_IS_TYPE(pdata, type) */
export function MTK_IOMMU_IS_TYPE(pdata: MtkIommuPlatData, type: number): boolean {
  return (pdata.flags & MTK_IOMMU_TYPE_MASK) === type;
}
