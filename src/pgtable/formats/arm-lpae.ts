// SPDX-License-Identifier: GPL-2.0-only
/**
 * ARM 64-bit LPAE (VMSAv8-64) stage 1 and stage 2 tables with 4K, 16K and
 * 64K granules, as drivers/iommu/io-pgtable-arm.c (Linux 6.12) builds them.
 *
 * The descriptor bits are the kernel's ARM_LPAE_PTE_* constants, which are
 * the Arm ARM's VMSAv8-64 descriptor formats. This file is data plus the
 * kernel's cfg arithmetic: arm_lpae_restrict_pgsizes(), arm_lpae_alloc_pgtable()
 * and the checks and register values of arm_64_lpae_alloc_pgtable_s1/_s2().
 * The map/unmap/walk algorithm is the shared engine's.
 *
 * Not modelled: IO_PGTABLE_QUIRK_ARM_TTBR1 (an upper-half table takes IOVAs
 * at the top of the 64-bit space, above the 2^53 the model's addresses
 * reach), the 32-bit LPAE and Mali variants.
 */
import type {
  FormatAllocResult,
  LevelLayout,
  PgtableCfgInput,
  PgtableLayout,
  ProtChoice,
  PteField,
} from '../format.js';
import { ALWAYS, BIT, GENMASK, bitmapSizes } from '../format.js';
import { IOMMU_CACHE, IOMMU_MMIO, IOMMU_NOEXEC, IOMMU_PRIV, IOMMU_READ, IOMMU_WRITE } from '../prot.js';

export const ARM_LPAE_MAX_ADDR_BITS = 52;
export const ARM_LPAE_S2_MAX_CONCAT_PAGES = 16;
export const ARM_LPAE_MAX_LEVELS = 4;

/* Descriptor bits (io-pgtable-arm.c; Arm ARM D8.3 "Translation table descriptor formats"). */
export const ARM_LPAE_PTE_TYPE_BLOCK = 1n;
export const ARM_LPAE_PTE_TYPE_TABLE = 3n;
export const ARM_LPAE_PTE_TYPE_PAGE = 3n;
export const ARM_LPAE_PTE_ADDR_MASK = GENMASK(47, 12);
export const ARM_LPAE_PTE_NSTABLE = BIT(63);
export const ARM_LPAE_PTE_XN = 3n << 53n;
/** The contiguous hint. io-pgtable-arm never sets it, and a split ignores it. */
export const ARM_LPAE_PTE_CONT = BIT(52);
export const ARM_LPAE_PTE_DBM = BIT(51);
export const ARM_LPAE_PTE_AF = BIT(10);
export const ARM_LPAE_PTE_SH_NS = 0n << 8n;
export const ARM_LPAE_PTE_SH_OS = 2n << 8n;
export const ARM_LPAE_PTE_SH_IS = 3n << 8n;
export const ARM_LPAE_PTE_NS = BIT(5);
export const ARM_LPAE_PTE_VALID = BIT(0);
export const ARM_LPAE_PTE_ATTR_LO_MASK = 0x3ffn << 2n;
export const ARM_LPAE_PTE_ATTR_HI_MASK = ARM_LPAE_PTE_XN | ARM_LPAE_PTE_DBM;
export const ARM_LPAE_PTE_ATTR_MASK = ARM_LPAE_PTE_ATTR_LO_MASK | ARM_LPAE_PTE_ATTR_HI_MASK;
/** Software bit: a non-coherent walker's table entry has been synced. */
export const ARM_LPAE_PTE_SW_SYNC = BIT(55);
/* Stage 1 */
export const ARM_LPAE_PTE_AP_UNPRIV = BIT(6);
export const ARM_LPAE_PTE_AP_RDONLY = BIT(7);
export const ARM_LPAE_PTE_ATTRINDX_SHIFT = 2n;
export const ARM_LPAE_PTE_nG = BIT(11);
/* Stage 2 */
export const ARM_LPAE_PTE_HAP_FAULT = 0n << 6n;
export const ARM_LPAE_PTE_HAP_READ = 1n << 6n;
export const ARM_LPAE_PTE_HAP_WRITE = 2n << 6n;
export const ARM_LPAE_PTE_MEMATTR_OIWB = 0xfn << 2n;
export const ARM_LPAE_PTE_MEMATTR_NC = 0x5n << 2n;
export const ARM_LPAE_PTE_MEMATTR_DEV = 0x1n << 2n;

/* MAIR attribute indices and values (ARM_LPAE_MAIR_ATTR_*). */
export const ARM_LPAE_MAIR_ATTR_DEVICE = 0x04;
export const ARM_LPAE_MAIR_ATTR_NC = 0x44;
export const ARM_LPAE_MAIR_ATTR_INC_OWBRWA = 0xf4;
export const ARM_LPAE_MAIR_ATTR_WBRWA = 0xff;
export const ARM_LPAE_MAIR_ATTR_IDX_NC = 0;
export const ARM_LPAE_MAIR_ATTR_IDX_CACHE = 1;
export const ARM_LPAE_MAIR_ATTR_IDX_DEV = 2;
export const ARM_LPAE_MAIR_ATTR_IDX_INC_OCACHE = 3;

/* io-pgtable-arm.h register fields. */
export const ARM_LPAE_TCR_TG0_4K = 0;
export const ARM_LPAE_TCR_TG0_64K = 1;
export const ARM_LPAE_TCR_TG0_16K = 2;
export const ARM_LPAE_TCR_SH_OS = 2;
export const ARM_LPAE_TCR_SH_IS = 3;
export const ARM_LPAE_TCR_RGN_NC = 0;
export const ARM_LPAE_TCR_RGN_WBWA = 1;
const ARM_LPAE_TCR_PS: Readonly<Record<number, number>> = { 32: 0, 36: 1, 40: 2, 42: 3, 44: 4, 48: 5, 52: 6 };
const ARM_LPAE_VTCR_SL0_MASK = 0x3;

/* struct io_pgtable_cfg quirks. */
export const IO_PGTABLE_QUIRK_ARM_NS = 1 << 0;
export const IO_PGTABLE_QUIRK_NO_PERMS = 1 << 1;
export const IO_PGTABLE_QUIRK_ARM_TTBR1 = 1 << 5;
export const IO_PGTABLE_QUIRK_ARM_OUTER_WBWA = 1 << 6;
export const IO_PGTABLE_QUIRK_ARM_HD = 1 << 7;

const SZ_4K = 1n << 12n;
const SZ_16K = 1n << 14n;
const SZ_64K = 1n << 16n;

/**
 * Per granule: the page sizes arm_lpae_restrict_pgsizes() allows, the widest
 * addresses, where the output address sits, and the contiguous-hint spans.
 * The spans are the CPU's (arch/arm64 ARM64_CONT_PTE_SHIFT / _PMD_SHIFT):
 * the SMMU uses the same descriptors, but io-pgtable-arm never sets the bit.
 */
interface GranuleData {
  readonly pageSizes: bigint;
  readonly maxAddrBits: number;
  readonly oa: PgtableLayout['oa'];
  /** Contiguous entries by level (level 3, level 2). */
  readonly contiguous: Readonly<Record<number, number>>;
}
const granules: Readonly<Record<number, GranuleData>> = {
  [4096]: {
    pageSizes: SZ_4K | (1n << 21n) | (1n << 30n),
    maxAddrBits: 48,
    oa: { direct: ARM_LPAE_PTE_ADDR_MASK, moved: [] },
    contiguous: { 3: 16, 2: 16 },
  },
  [16384]: {
    pageSizes: SZ_16K | (1n << 25n),
    maxAddrBits: 48,
    oa: { direct: ARM_LPAE_PTE_ADDR_MASK, moved: [] },
    contiguous: { 3: 128, 2: 32 },
  },
  // 52-bit output addresses: PA[51:48] is packed into PTE[15:12] (paddr_to_iopte()).
  [65536]: {
    pageSizes: SZ_64K | (1n << 29n),
    maxAddrBits: 52,
    oa: { direct: GENMASK(47, 16), moved: [{ paBit: 48, pteBit: 12, width: 4 }] },
    contiguous: { 3: 32, 2: 32 },
  },
};

/** arm_lpae_prot_to_pte() for ARM_64_LPAE_S1, as if/else-if chains. */
const s1Prot: readonly ProtChoice[] = [
  [{ set: ARM_LPAE_PTE_nG }],
  [
    { ifAll: IOMMU_READ, ifNone: IOMMU_WRITE, set: ARM_LPAE_PTE_AP_RDONLY },
    { ifQuirks: IO_PGTABLE_QUIRK_ARM_HD, set: ARM_LPAE_PTE_DBM },
  ],
  [{ ifNone: IOMMU_PRIV, set: ARM_LPAE_PTE_AP_UNPRIV }],
  [
    { ifAll: IOMMU_MMIO, set: BigInt(ARM_LPAE_MAIR_ATTR_IDX_DEV) << ARM_LPAE_PTE_ATTRINDX_SHIFT },
    { ifAll: IOMMU_CACHE, set: BigInt(ARM_LPAE_MAIR_ATTR_IDX_CACHE) << ARM_LPAE_PTE_ATTRINDX_SHIFT },
  ],
  [{ ifAll: IOMMU_CACHE, set: ARM_LPAE_PTE_SH_IS }, { set: ARM_LPAE_PTE_SH_OS }],
  [{ ifAll: IOMMU_NOEXEC, set: ARM_LPAE_PTE_XN }],
  [{ ifQuirks: IO_PGTABLE_QUIRK_ARM_NS, set: ARM_LPAE_PTE_NS }],
  [{ set: ARM_LPAE_PTE_AF }],
];

/** arm_lpae_prot_to_pte() for ARM_64_LPAE_S2 (no quirks are allowed at stage 2). */
const s2Prot: readonly ProtChoice[] = [
  [{ ifAll: IOMMU_READ, set: ARM_LPAE_PTE_HAP_READ }],
  [{ ifAll: IOMMU_WRITE, set: ARM_LPAE_PTE_HAP_WRITE }],
  [
    { ifAll: IOMMU_MMIO, set: ARM_LPAE_PTE_MEMATTR_DEV },
    { ifAll: IOMMU_CACHE, set: ARM_LPAE_PTE_MEMATTR_OIWB },
    { set: ARM_LPAE_PTE_MEMATTR_NC },
  ],
  [{ ifAll: IOMMU_CACHE, set: ARM_LPAE_PTE_SH_IS }, { set: ARM_LPAE_PTE_SH_OS }],
  [{ ifAll: IOMMU_NOEXEC, set: ARM_LPAE_PTE_XN }],
  [{ set: ARM_LPAE_PTE_AF }],
];

const commonFields: readonly PteField[] = [
  { name: 'SH', lsb: 8, width: 2, on: 'leaf' },
  { name: 'AF', lsb: 10, width: 1, on: 'leaf' },
  { name: 'Contiguous', lsb: 52, width: 1, on: 'leaf' },
  { name: 'SW_SYNC', lsb: 55, width: 1, on: 'table' },
];
const s1Fields: readonly PteField[] = [
  { name: 'AttrIndx', lsb: 2, width: 3, on: 'leaf' },
  { name: 'NS', lsb: 5, width: 1, on: 'leaf' },
  { name: 'AP', lsb: 6, width: 2, on: 'leaf' },
  ...commonFields,
  { name: 'nG', lsb: 11, width: 1, on: 'leaf' },
  { name: 'DBM', lsb: 51, width: 1, on: 'leaf' },
  { name: 'PXN', lsb: 53, width: 1, on: 'leaf' },
  { name: 'UXN', lsb: 54, width: 1, on: 'leaf' },
  { name: 'NSTable', lsb: 63, width: 1, on: 'table' },
];
const s2Fields: readonly PteField[] = [
  { name: 'MemAttr', lsb: 2, width: 4, on: 'leaf' },
  { name: 'S2AP', lsb: 6, width: 2, on: 'leaf' },
  ...commonFields,
  { name: 'XN', lsb: 53, width: 2, on: 'leaf' },
];

type Stage = 1 | 2;

/** The working copy of io_pgtable_cfg the alloc functions restrict. */
interface ArmCfg {
  quirks: number;
  pgsize_bitmap: bigint;
  ias: number;
  oas: number;
  coherent_walk: boolean;
}

/** Index of the highest / lowest set bit (__fls / __ffs). */
const fls = (v: bigint): number => v.toString(2).length - 1;
const ffs = (v: bigint): number => fls(v & -v);

/** arm_lpae_restrict_pgsizes(): pick the granule (the CPU page size if offered), keep its sizes, clamp ias/oas. */
export function arm_lpae_restrict_pgsizes(cfg: ArmCfg, cpuPageSize: number): void {
  const PAGE_SIZE = BigInt(cpuPageSize);
  const PAGE_MASK = ~(PAGE_SIZE - 1n);
  let granule = 0n;
  if (cfg.pgsize_bitmap & PAGE_SIZE) granule = PAGE_SIZE;
  else if (cfg.pgsize_bitmap & ~PAGE_MASK) granule = 1n << BigInt(fls(cfg.pgsize_bitmap & ~PAGE_MASK));
  else if (cfg.pgsize_bitmap & PAGE_MASK) granule = 1n << BigInt(ffs(cfg.pgsize_bitmap & PAGE_MASK));

  const g = granules[Number(granule)];
  let pageSizes = g?.pageSizes ?? 0n;
  // 4TB blocks exist at level 1 of a 64K table only with a 52-bit output.
  if (granule === SZ_64K && cfg.oas > 48) pageSizes |= 1n << 42n;
  const maxAddrBits = g?.maxAddrBits ?? 48;
  cfg.pgsize_bitmap &= pageSizes;
  cfg.ias = Math.min(cfg.ias, maxAddrBits);
  cfg.oas = Math.min(cfg.oas, maxAddrBits);
}

interface ArmGeometry {
  readonly granule: number;
  readonly bits_per_level: number;
  start_level: number;
  pgd_bits: number;
}

/** arm_lpae_alloc_pgtable(): the geometry, or why the kernel refuses. */
function arm_lpae_alloc_pgtable(cfg: ArmCfg, cpuPageSize: number): ArmGeometry | string {
  arm_lpae_restrict_pgsizes(cfg, cpuPageSize);
  if (!(cfg.pgsize_bitmap & (SZ_4K | SZ_16K | SZ_64K)))
    return 'pgsize_bitmap has no 4K, 16K or 64K granule (arm_lpae_alloc_pgtable)';
  if (cfg.ias > ARM_LPAE_MAX_ADDR_BITS) return `ias ${cfg.ias} > ${ARM_LPAE_MAX_ADDR_BITS}`;
  if (cfg.oas > ARM_LPAE_MAX_ADDR_BITS) return `oas ${cfg.oas} > ${ARM_LPAE_MAX_ADDR_BITS}`;
  const pg_shift = ffs(cfg.pgsize_bitmap);
  const bits_per_level = pg_shift - 3;
  const va_bits = cfg.ias - pg_shift;
  // The kernel does not check this; with no index bits its arithmetic gives a table no walk can use.
  if (va_bits <= 0) return `ias ${cfg.ias} leaves no index bits above the ${2 ** pg_shift}-byte granule`;
  const levels = Math.ceil(va_bits / bits_per_level);
  return {
    granule: 2 ** pg_shift,
    bits_per_level,
    start_level: ARM_LPAE_MAX_LEVELS - levels,
    pgd_bits: va_bits - bits_per_level * (levels - 1),
  };
}

/** ARM_LPAE_LVL_SHIFT(l, d). */
const lvlShift = (l: number, g: ArmGeometry) => (ARM_LPAE_MAX_LEVELS - l) * g.bits_per_level + 3;

function layoutOf(stage: Stage, cfg: ArmCfg, g: ArmGeometry): PgtableLayout {
  const gd = granules[g.granule];
  const pgsizes = bitmapSizes(cfg.pgsize_bitmap);
  const levels: LevelLayout[] = [];
  for (let l = g.start_level; l < ARM_LPAE_MAX_LEVELS; l++) {
    const last = l === ARM_LPAE_MAX_LEVELS - 1;
    const shift = lvlShift(l, g);
    const indexBits = l === g.start_level ? g.pgd_bits : g.bits_per_level;
    levels.push({
      level: l,
      shift,
      indexBits,
      tableBytes: 8 * 2 ** indexBits,
      entriesPerPage: g.granule / 8,
      leafSize: pgsizes.includes(2 ** shift),
      leafName: last ? 'page' : 'block',
      leafBits: last ? ARM_LPAE_PTE_TYPE_PAGE : ARM_LPAE_PTE_TYPE_BLOCK,
      // iopte_leaf()/iopte_table(): a page only at level 3, a block or a table above it.
      kinds: last ? ['invalid', 'invalid', 'invalid', 'leaf'] : ['invalid', 'leaf', 'invalid', 'table'],
      contiguous: gd.contiguous[l] ?? 0,
    });
  }
  let tableBits = ARM_LPAE_PTE_TYPE_TABLE;
  // arm_lpae_install_table(): NSTable with the NS quirk, SW_SYNC once a non-coherent walker's entry is synced.
  if (cfg.quirks & IO_PGTABLE_QUIRK_ARM_NS) tableBits |= ARM_LPAE_PTE_NSTABLE;
  if (!cfg.coherent_walk) tableBits |= ARM_LPAE_PTE_SW_SYNC;
  return {
    fmt: stage === 1 ? 'ARM_64_LPAE_S1' : 'ARM_64_LPAE_S2',
    granule: g.granule,
    pteBytes: 8,
    rules: 'io-pgtable-arm',
    ias: cfg.ias,
    oas: cfg.oas,
    quirks: cfg.quirks,
    pgsizes,
    levels,
    typeField: { lsb: 0, width: 2 },
    present: (1n << 64n) - 1n,
    tableBits,
    oa: gd.oa,
    attrMask: ARM_LPAE_PTE_ATTR_MASK,
    prot: stage === 1 ? s1Prot : s2Prot,
    // Only stage 1 reads and clears dirty state (arm_lpae_read_and_clear_dirty()):
    // writeable-dirty is DBM set with AP[2] (read-only) clear; cleaning sets AP[2].
    dirty:
      stage === 1
        ? {
            mask: ARM_LPAE_PTE_AP_RDONLY | ARM_LPAE_PTE_DBM,
            value: ARM_LPAE_PTE_DBM,
            cleanSet: ARM_LPAE_PTE_AP_RDONLY,
            cleanClear: 0n,
          }
        : null,
    // The SMMU lets a write through a read-only stage-1 leaf with DBM (and clears AP[2]: markDirty()).
    access:
      stage === 1
        ? {
            read: ALWAYS,
            write: [
              { mask: ARM_LPAE_PTE_AP_RDONLY, value: 0n },
              {
                mask: ARM_LPAE_PTE_AP_RDONLY | ARM_LPAE_PTE_DBM,
                value: ARM_LPAE_PTE_AP_RDONLY | ARM_LPAE_PTE_DBM,
              },
            ],
          }
        : {
            read: [{ mask: ARM_LPAE_PTE_HAP_READ, value: ARM_LPAE_PTE_HAP_READ }],
            write: [{ mask: ARM_LPAE_PTE_HAP_WRITE, value: ARM_LPAE_PTE_HAP_WRITE }],
          },
    fields: stage === 1 ? s1Fields : s2Fields,
  };
}

const tg0 = (granule: number) =>
  granule === 4096 ? ARM_LPAE_TCR_TG0_4K : granule === 16384 ? ARM_LPAE_TCR_TG0_16K : ARM_LPAE_TCR_TG0_64K;

/** arm_64_lpae_alloc_pgtable_s1(): quirk and cfg checks, TCR and MAIR. */
function alloc_s1(cfg: ArmCfg, cpuPageSize: number): FormatAllocResult | { reason: string } {
  const allowed =
    IO_PGTABLE_QUIRK_ARM_NS |
    IO_PGTABLE_QUIRK_ARM_TTBR1 |
    IO_PGTABLE_QUIRK_ARM_OUTER_WBWA |
    IO_PGTABLE_QUIRK_ARM_HD;
  if (cfg.quirks & ~allowed) return { reason: `quirks 0x${cfg.quirks.toString(16)} not allowed at stage 1` };
  if (cfg.quirks & IO_PGTABLE_QUIRK_ARM_TTBR1)
    return { reason: 'IO_PGTABLE_QUIRK_ARM_TTBR1 is not modelled (upper-half IOVAs exceed 2^53)' };
  const g = arm_lpae_alloc_pgtable(cfg, cpuPageSize);
  if (typeof g === 'string') return { reason: g };
  let sh: number, irgn: number, orgn: number;
  if (cfg.coherent_walk) {
    sh = ARM_LPAE_TCR_SH_IS;
    irgn = orgn = ARM_LPAE_TCR_RGN_WBWA;
    if (cfg.quirks & IO_PGTABLE_QUIRK_ARM_OUTER_WBWA)
      return { reason: 'IO_PGTABLE_QUIRK_ARM_OUTER_WBWA with a coherent walk' };
  } else {
    sh = ARM_LPAE_TCR_SH_OS;
    irgn = ARM_LPAE_TCR_RGN_NC;
    orgn = cfg.quirks & IO_PGTABLE_QUIRK_ARM_OUTER_WBWA ? ARM_LPAE_TCR_RGN_WBWA : ARM_LPAE_TCR_RGN_NC;
  }
  const ips = ARM_LPAE_TCR_PS[cfg.oas];
  if (ips === undefined) return { reason: `oas ${cfg.oas} has no TCR.IPS encoding` };
  const mair =
    (ARM_LPAE_MAIR_ATTR_NC << (8 * ARM_LPAE_MAIR_ATTR_IDX_NC)) +
    ARM_LPAE_MAIR_ATTR_WBRWA * 2 ** (8 * ARM_LPAE_MAIR_ATTR_IDX_CACHE) +
    ARM_LPAE_MAIR_ATTR_DEVICE * 2 ** (8 * ARM_LPAE_MAIR_ATTR_IDX_DEV) +
    ARM_LPAE_MAIR_ATTR_INC_OWBRWA * 2 ** (8 * ARM_LPAE_MAIR_ATTR_IDX_INC_OCACHE);
  return {
    layout: layoutOf(1, cfg, g),
    regs: {
      'tcr.ips': ips,
      'tcr.tg': tg0(g.granule),
      'tcr.sh': sh,
      'tcr.orgn': orgn,
      'tcr.irgn': irgn,
      'tcr.tsz': 64 - cfg.ias,
      mair,
    },
    coherent_walk: cfg.coherent_walk,
  };
}

/** arm_64_lpae_alloc_pgtable_s2(): no quirks, concatenated pgd at level 1 when it fits, VTCR. */
function alloc_s2(cfg: ArmCfg, cpuPageSize: number): FormatAllocResult | { reason: string } {
  if (cfg.quirks) return { reason: 'no quirks are allowed at stage 2' };
  const g = arm_lpae_alloc_pgtable(cfg, cpuPageSize);
  if (typeof g === 'string') return { reason: g };
  // Up to 16 level-0 entries become as many concatenated level-1 tables, one level less to walk.
  if (g.start_level === 0 && 2 ** g.pgd_bits <= ARM_LPAE_S2_MAX_CONCAT_PAGES) {
    g.pgd_bits += g.bits_per_level;
    g.start_level++;
  }
  const sh = cfg.coherent_walk ? ARM_LPAE_TCR_SH_IS : ARM_LPAE_TCR_SH_OS;
  const rgn = cfg.coherent_walk ? ARM_LPAE_TCR_RGN_WBWA : ARM_LPAE_TCR_RGN_NC;
  // SL0 counts differently with a 4K granule.
  const sl = g.start_level + (g.granule === 4096 ? 1 : 0);
  const ps = ARM_LPAE_TCR_PS[cfg.oas];
  if (ps === undefined) return { reason: `oas ${cfg.oas} has no VTCR.PS encoding` };
  return {
    layout: layoutOf(2, cfg, g),
    regs: {
      'vtcr.ps': ps,
      'vtcr.tg': tg0(g.granule),
      'vtcr.sh': sh,
      'vtcr.orgn': rgn,
      'vtcr.irgn': rgn,
      'vtcr.tsz': 64 - cfg.ias,
      'vtcr.sl': ~sl & ARM_LPAE_VTCR_SL0_MASK,
    },
    coherent_walk: cfg.coherent_walk,
  };
}

/** The alloc function of ARM_64_LPAE_S1 or _S2 on a caller's cfg. */
export function armLpaeAlloc(
  stage: Stage,
  input: PgtableCfgInput,
  defaults: { pgsize_bitmap: bigint; ias: number; oas: number },
) {
  const cfg: ArmCfg = {
    quirks: input.quirks ?? 0,
    pgsize_bitmap: input.pgsize_bitmap === undefined ? defaults.pgsize_bitmap : BigInt(input.pgsize_bitmap),
    ias: input.ias ?? defaults.ias,
    oas: input.oas ?? defaults.oas,
    coherent_walk: input.coherent_walk ?? true,
  };
  const cpuPageSize = input.cpu_page_size ?? 4096;
  return stage === 1 ? alloc_s1(cfg, cpuPageSize) : alloc_s2(cfg, cpuPageSize);
}

/**
 * arm_32_lpae_alloc_pgtable_s1() / _s2(): the AArch32 long-descriptor
 * formats (ARM_32_LPAE_S1/S2). The kernel checks the AArch32 limits (ias at
 * most 32 at stage 1 or 40 at stage 2, oas at most 40), keeps only 4K, 2M
 * and 1G pages and then builds the very same tables with the 64-bit alloc
 * function; only the fmt differs, and with it arm_lpae_read_and_clear_dirty(),
 * which refuses everything but ARM_64_LPAE_S1.
 */
export function armLpae32Alloc(
  stage: Stage,
  input: PgtableCfgInput,
  defaults: { pgsize_bitmap: bigint; ias: number; oas: number },
): FormatAllocResult | { reason: string } {
  const ias = input.ias ?? defaults.ias;
  const oas = input.oas ?? defaults.oas;
  const maxIas = stage === 1 ? 32 : 40;
  if (ias > maxIas || oas > 40)
    return { reason: `ARM_32_LPAE_S${stage}: ias ${ias} > ${maxIas} or oas ${oas} > 40` };
  const bitmap = input.pgsize_bitmap === undefined ? defaults.pgsize_bitmap : BigInt(input.pgsize_bitmap);
  const res = armLpaeAlloc(
    stage,
    { ...input, pgsize_bitmap: bitmap & (SZ_4K | (1n << 21n) | (1n << 30n)) },
    defaults,
  );
  if (!('layout' in res)) return res;
  return { ...res, layout: { ...res.layout, fmt: `ARM_32_LPAE_S${stage}`, dirty: null } };
}
