// SPDX-License-Identifier: GPL-2.0-only
/**
 * ARM v7 short-descriptor tables (VMSAv7 with TEX remap and the simplified
 * AP[2:1] permission model), as drivers/iommu/io-pgtable-arm-v7s.c (Linux
 * 6.12) builds them for MediaTek IOMMUs: 32-bit descriptors, a level-1 table
 * of 4096 entries (16384 with a 34-bit MediaTek IOVA) mapping 1 MiB sections
 * or pointing at 256-entry, 1 KiB level-2 tables of 4 KiB small pages.
 * Supersections (16 MiB) and large pages (64 KiB) are 16 identical
 * consecutive entries with a "contiguous" encoding.
 *
 * This file is the descriptor data (ARM_V7S_* constants, the Arm ARM's
 * short-descriptor formats), arm_v7s_prot_to_pte() per level as rules,
 * arm_v7s_pte_to_cont()/_cont_to_pte() and _pte_to_prot(), decoding for
 * walks, and arm_v7s_alloc_pgtable()'s checks and registers. The map and
 * unmap algorithm is in rules/arm-v7s.ts.
 *
 * The MediaTek quirks are modelled: IO_PGTABLE_QUIRK_ARM_MTK_EXT puts output
 * address bits 32, 33 and 34 in descriptor bits 9, 4 and 5 (and needs
 * IO_PGTABLE_QUIRK_NO_PERMS, which leaves those bits free);
 * IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT lets tables live above 4 GiB the same way.
 */
import type {
  AccessDesc,
  DecodedEntry,
  FormatAllocResult,
  LevelLayout,
  PgtableCfgInput,
  ProtChoice,
} from '../format.js';
import { ALWAYS, bitmapSizes } from '../format.js';
import { IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE } from '../prot.js';
import { IO_PGTABLE_QUIRK_ARM_NS, IO_PGTABLE_QUIRK_NO_PERMS } from './arm-lpae.js';

export const IO_PGTABLE_QUIRK_ARM_MTK_EXT = 1 << 3;
export const IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT = 1 << 4;

export const ARM_V7S_ADDR_BITS = 32;
export const ARM_V7S_CONT_PAGES = 16;
export const ARM_V7S_TABLE_SHIFT = 10;

/* Descriptor type bits (they share bits [1:0] with XN at level 2). */
export const ARM_V7S_PTE_TYPE_TABLE = 0x1;
export const ARM_V7S_PTE_TYPE_PAGE = 0x2;
export const ARM_V7S_PTE_TYPE_CONT_PAGE = 0x1;

export const ARM_V7S_ATTR_B = 1 << 2;
export const ARM_V7S_ATTR_C = 1 << 3;
export const ARM_V7S_ATTR_NS_TABLE = 1 << 3;
export const ARM_V7S_ATTR_NS_SECTION = 1 << 19;
export const ARM_V7S_CONT_SECTION = 1 << 18;
export const ARM_V7S_CONT_PAGE_XN_SHIFT = 15;
/** XN: bit 4 of a section, bit 0 of a small page (ARM_V7S_ATTR_XN(lvl)). */
export const ARM_V7S_ATTR_XN = (lvl: number): number => 1 << (4 * (2 - lvl));
/** The 8-bit attribute block sits at [17:10] of a level-1 entry and [11:4] of a level-2 one. */
export const ARM_V7S_ATTR_SHIFT = (lvl: number): number => 16 - lvl * 6;
export const ARM_V7S_ATTR_AP0 = 1 << 0;
export const ARM_V7S_ATTR_AP1 = 1 << 1;
export const ARM_V7S_ATTR_AP2 = 1 << 5;
export const ARM_V7S_ATTR_S = 1 << 6;
export const ARM_V7S_ATTR_NG = 1 << 7;
export const ARM_V7S_TEX_SHIFT = 2;
export const ARM_V7S_TEX_MASK = 0x7;
export const ARM_V7S_PTE_AF = ARM_V7S_ATTR_AP0;
export const ARM_V7S_PTE_AP_UNPRIV = ARM_V7S_ATTR_AP1;
export const ARM_V7S_PTE_AP_RDONLY = ARM_V7S_ATTR_AP2;
/** A large page keeps TEX at [14:12] instead of [8:6]. */
export const ARM_V7S_CONT_PAGE_TEX_SHIFT = 6;
export const ARM_V7S_CONT_PAGE_TEX_MASK = ARM_V7S_TEX_MASK << ARM_V7S_CONT_PAGE_TEX_SHIFT;
/* MediaTek: output address bits 32, 33, 34. */
export const ARM_V7S_ATTR_MTK_PA_BIT32 = 1 << 9;
export const ARM_V7S_ATTR_MTK_PA_BIT33 = 1 << 4;
export const ARM_V7S_ATTR_MTK_PA_BIT34 = 1 << 5;

/* Registers. */
const ARM_V7S_RGN_NC = 0;
const ARM_V7S_RGN_WBWA = 1;
const ARM_V7S_PRRR_TYPE_DEVICE = 1;
const ARM_V7S_PRRR_TYPE_NORMAL = 2;
const PRRR_TR = (n: number, type: number) => (type & 3) << (n * 2);
const ARM_V7S_PRRR_DS0 = 1 << 16;
const ARM_V7S_PRRR_DS1 = 1 << 17;
const ARM_V7S_PRRR_NS1 = 1 << 19;
const PRRR_NOS = (n: number) => 2 ** (n + 24);
const NMRR_IR = (n: number, attr: number) => (attr & 3) << (n * 2);
const NMRR_OR = (n: number, attr: number) => (attr & 3) << (n * 2 + 16);
const ARM_V7S_TTBR_S = 1 << 1;
const ARM_V7S_TTBR_NOS = 1 << 5;
const TTBR_ORGN = (attr: number) => (attr & 3) << 3;
const TTBR_IRGN = (attr: number) => ((attr & 1) << 6) | ((attr & 2) >> 1);

const SZ_4K = 0x1000;
const SZ_64K = 0x10000;
const SZ_1M = 0x100000;
const SZ_16M = 0x1000000;

/** ARM_V7S_LVL_SHIFT(lvl). */
export const lvlShift = (lvl: number): number => (lvl === 1 ? 20 : 12);
/** ARM_V7S_LVL_MASK(lvl), as an unsigned 32-bit value. */
export const lvlMask = (lvl: number): number => (~0 << lvlShift(lvl)) >>> 0;

/** arm_v7s_prot_to_pte() at level lvl, as if/else-if chains: the attribute block shifted into place. */
function protRules(lvl: number): ProtChoice[] {
  const at = (bits: number) => BigInt(bits << ARM_V7S_ATTR_SHIFT(lvl));
  const ap = IO_PGTABLE_QUIRK_NO_PERMS;
  return [
    [{ set: at(ARM_V7S_ATTR_NG | ARM_V7S_ATTR_S) }],
    [{ ifNone: IOMMU_MMIO, set: at(1 << ARM_V7S_TEX_SHIFT) }],
    [{ ifNoQuirks: ap, set: at(ARM_V7S_PTE_AF) }],
    [{ ifNoQuirks: ap, ifNone: IOMMU_PRIV, set: at(ARM_V7S_PTE_AP_UNPRIV) }],
    [{ ifNoQuirks: ap, ifNone: IOMMU_WRITE, set: at(ARM_V7S_PTE_AP_RDONLY) }],
    [{ ifNoQuirks: ap, ifAll: IOMMU_NOEXEC, set: BigInt(ARM_V7S_ATTR_XN(lvl)) }],
    [
      { ifAll: IOMMU_MMIO, set: BigInt(ARM_V7S_ATTR_B) },
      { ifAll: IOMMU_CACHE, set: BigInt(ARM_V7S_ATTR_B | ARM_V7S_ATTR_C) },
    ],
    lvl === 1 ? [{ ifQuirks: IO_PGTABLE_QUIRK_ARM_NS, set: BigInt(ARM_V7S_ATTR_NS_SECTION) }] : [],
  ];
}

/** arm_v7s_pte_to_cont(): a section becomes a supersection, a small page a large page. */
export function pteToCont(pte: number, lvl: number): number {
  if (lvl === 1) return (pte | ARM_V7S_CONT_SECTION) >>> 0;
  const xn = pte & ARM_V7S_ATTR_XN(2);
  const tex = pte & ARM_V7S_CONT_PAGE_TEX_MASK;
  const p = pte ^ (xn | tex | ARM_V7S_PTE_TYPE_PAGE);
  return (
    (p |
      (xn << ARM_V7S_CONT_PAGE_XN_SHIFT) |
      (tex << ARM_V7S_CONT_PAGE_TEX_SHIFT) |
      ARM_V7S_PTE_TYPE_CONT_PAGE) >>>
    0
  );
}

/** arm_v7s_cont_to_pte(): the inverse. */
export function contToPte(pte: number, lvl: number): number {
  if (lvl === 1) return (pte & ~ARM_V7S_CONT_SECTION) >>> 0;
  const xn = pte & (1 << ARM_V7S_CONT_PAGE_XN_SHIFT);
  const tex = pte & (ARM_V7S_CONT_PAGE_TEX_MASK << ARM_V7S_CONT_PAGE_TEX_SHIFT);
  const p = pte ^ (xn | tex | ARM_V7S_PTE_TYPE_CONT_PAGE);
  return (
    (p |
      (xn >>> ARM_V7S_CONT_PAGE_XN_SHIFT) |
      (tex >>> ARM_V7S_CONT_PAGE_TEX_SHIFT) |
      ARM_V7S_PTE_TYPE_PAGE) >>>
    0
  );
}

/** ARM_V7S_PTE_IS_TABLE(pte, lvl). */
export const isTable = (pte: number, lvl: number): boolean =>
  lvl === 1 && (pte & 3) === ARM_V7S_PTE_TYPE_TABLE;

/** arm_v7s_pte_is_cont(). */
export function isCont(pte: number, lvl: number): boolean {
  if (lvl === 1) return !isTable(pte, 1) && (pte & ARM_V7S_CONT_SECTION) !== 0;
  return (pte & ARM_V7S_PTE_TYPE_PAGE) === 0;
}

/** arm_v7s_pte_to_prot(): the IOMMU_* prot a leaf's bits stand for (all READ; what a split copies). */
export function pteToProt(pte: number, lvl: number): number {
  let prot = IOMMU_READ;
  const attr = pte >>> ARM_V7S_ATTR_SHIFT(lvl);
  if (!(attr & ARM_V7S_PTE_AP_RDONLY)) prot |= IOMMU_WRITE;
  if (!(attr & ARM_V7S_PTE_AP_UNPRIV)) prot |= IOMMU_PRIV;
  if ((attr & (ARM_V7S_TEX_MASK << ARM_V7S_TEX_SHIFT)) === 0) prot |= IOMMU_MMIO;
  else if (pte & ARM_V7S_ATTR_C) prot |= IOMMU_CACHE;
  if (pte & ARM_V7S_ATTR_XN(lvl)) prot |= IOMMU_NOEXEC;
  return prot;
}

/** The descriptor bits that hold output address bits: the level's mask (×16 when contiguous), plus MediaTek's. */
export function oaMask(pte: number, lvl: number, mtk: boolean): number {
  let mask: number;
  if (isTable(pte, lvl)) mask = (~0 << ARM_V7S_TABLE_SHIFT) >>> 0;
  else if (isCont(pte, lvl)) mask = (lvlMask(lvl) * ARM_V7S_CONT_PAGES) >>> 0;
  else mask = lvlMask(lvl);
  if (mtk) mask |= ARM_V7S_ATTR_MTK_PA_BIT32 | ARM_V7S_ATTR_MTK_PA_BIT33 | ARM_V7S_ATTR_MTK_PA_BIT34;
  return mask >>> 0;
}

/** iopte_to_paddr(). */
export function ioptePaddr(pte: number, lvl: number, mtk: boolean): number {
  const pa = (pte & oaMask(pte, lvl, false)) >>> 0;
  return mtk ? pa + mtkHigh(pte) * 2 ** 32 : pa;
}

/** MediaTek's output address bits 34..32, as a descriptor holds them (a small integer). */
export const mtkHigh = (pte: number): number =>
  (pte & ARM_V7S_ATTR_MTK_PA_BIT32 ? 1 : 0) |
  (pte & ARM_V7S_ATTR_MTK_PA_BIT33 ? 2 : 0) |
  (pte & ARM_V7S_ATTR_MTK_PA_BIT34 ? 4 : 0);

/** to_mtk_iopte(): output address bits 32..34 into a descriptor. */
export function toMtk(pa: number, pte: number): number {
  const high = Math.floor(pa / 2 ** 32);
  if (high & 1) pte |= ARM_V7S_ATTR_MTK_PA_BIT32;
  if (high & 2) pte |= ARM_V7S_ATTR_MTK_PA_BIT33;
  if (high & 4) pte |= ARM_V7S_ATTR_MTK_PA_BIT34;
  return pte >>> 0;
}

function decoder(mtk: boolean): (depth: number, pte64: bigint) => DecodedEntry {
  return (depth, pte64) => {
    const pte = Number(pte64 & 0xffffffffn);
    const lvl = depth + 1;
    if ((pte & 3) === 0) return { kind: 'empty', oa: 0, size: 0, attrs: 0n, name: 'empty' };
    if (isTable(pte, lvl))
      return {
        kind: 'table',
        oa: ioptePaddr(pte, lvl, mtk),
        size: 2 ** lvlShift(lvl),
        attrs: 0n,
        name: 'table',
      };
    const cont = isCont(pte, lvl);
    const names = lvl === 1 ? ['section', 'supersection'] : ['small page', 'large page'];
    return {
      kind: 'leaf',
      oa: ioptePaddr(pte, lvl, mtk),
      size: 2 ** lvlShift(lvl) * (cont ? ARM_V7S_CONT_PAGES : 1),
      attrs: BigInt((pte & ~oaMask(pte, lvl, mtk)) >>> 0),
      name: names[cont ? 1 : 0],
    };
  };
}

/** Simplified access permissions: AP[2] makes a leaf read-only; without permissions (NO_PERMS) all goes. */
function accessAt(lvl: number, quirks: number): AccessDesc {
  if (quirks & IO_PGTABLE_QUIRK_NO_PERMS) return { read: ALWAYS, write: ALWAYS };
  return {
    read: ALWAYS,
    write: [{ mask: BigInt(ARM_V7S_PTE_AP_RDONLY << ARM_V7S_ATTR_SHIFT(lvl)), value: 0n }],
  };
}

/** The working copy of io_pgtable_cfg arm_v7s_alloc_pgtable() checks and restricts. */
interface V7sCfg {
  quirks: number;
  pgsize_bitmap: bigint;
  ias: number;
  oas: number;
  coherent_walk: boolean;
}

/** arm_v7s_alloc_pgtable(): the checks, the page sizes, the layout and TCR/PRRR/NMRR (TTBR once the pgd exists). */
export function armV7sAlloc(
  input: PgtableCfgInput,
  defaults: { pgsize_bitmap: bigint; ias: number; oas: number },
): FormatAllocResult | { reason: string } {
  const cfg: V7sCfg = {
    quirks: input.quirks ?? 0,
    pgsize_bitmap: input.pgsize_bitmap === undefined ? defaults.pgsize_bitmap : BigInt(input.pgsize_bitmap),
    ias: input.ias ?? defaults.ias,
    oas: input.oas ?? defaults.oas,
    coherent_walk: input.coherent_walk ?? true,
  };
  // arm_v7s_is_mtk_enabled(): arm64 has a 64-bit phys_addr_t.
  const mtk = (cfg.quirks & IO_PGTABLE_QUIRK_ARM_MTK_EXT) !== 0;
  if (cfg.ias > (mtk ? 34 : ARM_V7S_ADDR_BITS)) return { reason: `ias ${cfg.ias} > ${mtk ? 34 : 32}` };
  if (cfg.oas > (mtk ? 35 : ARM_V7S_ADDR_BITS)) return { reason: `oas ${cfg.oas} > ${mtk ? 35 : 32}` };
  const allowed =
    IO_PGTABLE_QUIRK_ARM_NS |
    IO_PGTABLE_QUIRK_NO_PERMS |
    IO_PGTABLE_QUIRK_ARM_MTK_EXT |
    IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT;
  if (cfg.quirks & ~allowed) return { reason: `quirks 0x${cfg.quirks.toString(16)} not allowed` };
  if (mtk && !(cfg.quirks & IO_PGTABLE_QUIRK_NO_PERMS))
    return { reason: 'IO_PGTABLE_QUIRK_ARM_MTK_EXT without IO_PGTABLE_QUIRK_NO_PERMS' };
  if (cfg.quirks & IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT && !mtk)
    return { reason: 'IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT without IO_PGTABLE_QUIRK_ARM_MTK_EXT' };
  // The kernel does not check this; below 21 bits its level-1 index has no bits (or a negative count).
  if (cfg.ias <= 20) return { reason: `ias ${cfg.ias} leaves no level-1 index bits (not modelled)` };
  // Supersections only if the driver offers SZ_16M.
  cfg.pgsize_bitmap &= BigInt(SZ_4K | SZ_64K | SZ_1M | SZ_16M);
  const pgsizes = bitmapSizes(cfg.pgsize_bitmap);
  const l1Bits = cfg.ias - 20;
  const levels: LevelLayout[] = [
    {
      level: 1,
      shift: 20,
      indexBits: l1Bits,
      tableBytes: 4 * 2 ** l1Bits,
      // arm_v7s_map_pages() maps page by page from the pgd: no call stops at a table boundary.
      entriesPerPage: 2 ** l1Bits,
      leafSize: pgsizes.includes(SZ_1M),
      leafName: 'section',
      leafBits: BigInt(ARM_V7S_PTE_TYPE_PAGE),
      kinds: ['invalid', 'table', 'leaf', 'leaf'],
      contiguous: pgsizes.includes(SZ_16M) ? ARM_V7S_CONT_PAGES : 0,
      prot: protRules(1),
      access: accessAt(1, cfg.quirks),
    },
    {
      level: 2,
      shift: 12,
      indexBits: 8,
      tableBytes: 1024,
      entriesPerPage: 256,
      leafSize: pgsizes.includes(SZ_4K),
      leafName: 'small page',
      leafBits: BigInt(ARM_V7S_PTE_TYPE_PAGE),
      kinds: ['invalid', 'leaf', 'leaf', 'leaf'],
      contiguous: pgsizes.includes(SZ_64K) ? ARM_V7S_CONT_PAGES : 0,
      prot: protRules(2),
      access: accessAt(2, cfg.quirks),
    },
  ];
  const ttbrExt = (cfg.quirks & IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT) !== 0;
  let tableBits = ARM_V7S_PTE_TYPE_TABLE;
  if (cfg.quirks & IO_PGTABLE_QUIRK_ARM_NS) tableBits |= ARM_V7S_ATTR_NS_TABLE;
  const decode = decoder(mtk);
  const layout = {
    fmt: 'ARM_V7S',
    granule: SZ_4K,
    pteBytes: 4 as const,
    rules: 'io-pgtable-arm-v7s' as const,
    ias: cfg.ias,
    oas: cfg.oas,
    quirks: cfg.quirks,
    pgsizes,
    levels,
    // The table walker's tables must fit the descriptor: below 4 GiB, or 2^oas with TTBR_EXT.
    tableLimit: ttbrExt ? 2 ** cfg.oas : 2 ** 32,
    typeField: { lsb: 0, width: 2 },
    present: 3n,
    tableBits: BigInt(tableBits),
    // A table descriptor's address: [31:10], and with TTBR_EXT bits 32..34 where MTK_EXT puts them.
    oa: {
      direct: 0xfffffc00n,
      moved: mtk
        ? [
            { paBit: 32, pteBit: 9, width: 1 },
            { paBit: 33, pteBit: 4, width: 1 },
            { paBit: 34, pteBit: 5, width: 1 },
          ]
        : [],
    },
    attrMask: 0n,
    prot: protRules(2),
    dirty: null,
    fields: [
      { name: 'XN', lsb: 0, width: 1, on: 'leaf' as const },
      { name: 'B', lsb: 2, width: 1, on: 'leaf' as const },
      { name: 'C', lsb: 3, width: 1, on: 'leaf' as const },
      { name: 'NS', lsb: 3, width: 1, on: 'table' as const },
    ],
    decode,
    // arm_v7s_prot_to_pte() at the level of the size, made contiguous for 64K and 16M.
    leafAttrs: (prot: number, pgsize: number) => {
      const lvl = pgsize >= SZ_1M ? 1 : 2;
      let pte = v7sProtToPte(prot, lvl, cfg.quirks);
      if (pgsize === SZ_16M || pgsize === SZ_64K) pte = pteToCont(pte, lvl);
      return BigInt(pte);
    },
  };
  const prrr =
    PRRR_TR(1, ARM_V7S_PRRR_TYPE_DEVICE) +
    PRRR_TR(4, ARM_V7S_PRRR_TYPE_NORMAL) +
    PRRR_TR(7, ARM_V7S_PRRR_TYPE_NORMAL) +
    ARM_V7S_PRRR_DS0 +
    ARM_V7S_PRRR_DS1 +
    ARM_V7S_PRRR_NS1 +
    PRRR_NOS(7);
  const nmrr = NMRR_IR(7, ARM_V7S_RGN_WBWA) + NMRR_OR(7, ARM_V7S_RGN_WBWA);
  // TTBR = pgd | these; with MTK_EXT the kernel writes pgd | upper_32_bits(pgd) instead.
  const ttbrAttrs = mtk
    ? 0
    : ARM_V7S_TTBR_S |
      (cfg.coherent_walk
        ? ARM_V7S_TTBR_NOS | TTBR_IRGN(ARM_V7S_RGN_WBWA) | TTBR_ORGN(ARM_V7S_RGN_WBWA)
        : TTBR_IRGN(ARM_V7S_RGN_NC) | TTBR_ORGN(ARM_V7S_RGN_NC));
  return {
    layout,
    regs: { tcr: 0, prrr, nmrr, 'ttbr.attrs': ttbrAttrs },
    coherent_walk: cfg.coherent_walk,
  };
}

/** arm_v7s_prot_to_pte() as a 32-bit value (the rules above, evaluated directly). */
export function v7sProtToPte(prot: number, lvl: number, quirks: number): number {
  const ap = !(quirks & IO_PGTABLE_QUIRK_NO_PERMS);
  let pte = ARM_V7S_ATTR_NG | ARM_V7S_ATTR_S;
  if (!(prot & IOMMU_MMIO)) pte |= 1 << ARM_V7S_TEX_SHIFT;
  if (ap) {
    pte |= ARM_V7S_PTE_AF;
    if (!(prot & IOMMU_PRIV)) pte |= ARM_V7S_PTE_AP_UNPRIV;
    if (!(prot & IOMMU_WRITE)) pte |= ARM_V7S_PTE_AP_RDONLY;
  }
  pte <<= ARM_V7S_ATTR_SHIFT(lvl);
  if (prot & IOMMU_NOEXEC && ap) pte |= ARM_V7S_ATTR_XN(lvl);
  if (prot & IOMMU_MMIO) pte |= ARM_V7S_ATTR_B;
  else if (prot & IOMMU_CACHE) pte |= ARM_V7S_ATTR_B | ARM_V7S_ATTR_C;
  pte |= ARM_V7S_PTE_TYPE_PAGE;
  if (lvl === 1 && quirks & IO_PGTABLE_QUIRK_ARM_NS) pte |= ARM_V7S_ATTR_NS_SECTION;
  return pte >>> 0;
}
