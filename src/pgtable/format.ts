// SPDX-License-Identifier: GPL-2.0-only
/**
 * A page-table format as data. A format family (formats/arm-lpae.ts, …) turns
 * an io_pgtable_cfg into a PgtableLayout, as the kernel's alloc functions
 * (arm_64_lpae_alloc_pgtable_s1(), …) turn it into their private geometry;
 * the one engine (engine.ts, with the per-driver map/unmap rules in rules/)
 * and the walker (walk.ts) read nothing else.
 *
 * Vocabulary, used the same way everywhere in src/pgtable:
 * - a *level* is the architecture's number for a table level (ARM: 0..3, the
 *   leaf level last); a *depth* is the engine's index into `levels`, 0 being
 *   the level the walk starts at (the pgd).
 * - a PTE is 64 bits, kept as two 32-bit words: `lo` (bits 31..0) and `hi`
 *   (bits 63..32), or 32 bits (ARM v7s short descriptors: `lo` only, `hi`
 *   reads 0). Descriptor constants are written as bigint in format data and
 *   split once when a table is created.
 * - *rules* are the map/unmap semantics of one kernel driver: 6.12 has one
 *   algorithm per page-table family (io-pgtable-arm, -arm-v7s, -dart, the AMD
 *   and Intel drivers, the iommufd mock), and they differ on overlaps,
 *   partial unmaps and table freeing; a layout names the one it follows.
 * - a *leaf* maps memory (ARM: a block, or a page at the last level); a
 *   *table* entry points at the next level's table.
 */

/** How a present PTE reads at one level, by the value of the format's type field. */
export type EntryKind = 'leaf' | 'table' | 'invalid';

/**
 * One attribute of prot_to_pte: the first rule whose conditions hold gives its
 * bits, like a C if / else-if chain. Rules look at the IOMMU_* prot bits and
 * at the table's quirks.
 */
export interface ProtRule {
  /** All of these prot bits are set. */
  readonly ifAll?: number;
  /** None of these prot bits is set. */
  readonly ifNone?: number;
  /** All of these IO_PGTABLE_QUIRK_* bits are set in the cfg. */
  readonly ifQuirks?: number;
  /** None of these IO_PGTABLE_QUIRK_* bits is set in the cfg. */
  readonly ifNoQuirks?: number;
  readonly set: bigint;
}
export type ProtChoice = readonly ProtRule[];

/**
 * Where the output address (of a leaf, or of the next table) sits in a PTE.
 * `direct` bits hold the same address bits; `moved` pieces hold address bits
 * elsewhere (ARM 64K granule: PA[51:48] in PTE[15:12]).
 */
export interface OaEncoding {
  readonly direct: bigint;
  readonly moved: readonly { readonly paBit: number; readonly pteBit: number; readonly width: number }[];
}

/**
 * Hardware dirty tracking: a leaf is "writeable dirty" when (pte & mask) ==
 * value; cleaning it sets and clears the given bits.
 */
export interface DirtyDesc {
  readonly mask: bigint;
  readonly value: bigint;
  readonly cleanSet: bigint;
  readonly cleanClear: bigint;
}

/** A PTE matches when (pte & mask) === value. */
export interface PteMatch {
  readonly mask: bigint;
  readonly value: bigint;
}

/**
 * What the hardware lets through a leaf: a read, a write, when the leaf
 * matches one of the alternatives (an empty list: never). Used by a walker
 * translating a device's access (IoPgtable.access()), not by map or unmap.
 */
export interface AccessDesc {
  readonly read: readonly PteMatch[];
  readonly write: readonly PteMatch[];
}

/** Reads or writes always allowed. */
export const ALWAYS: readonly PteMatch[] = [{ mask: 0n, value: 0n }];

/** A named PTE field, for traces (the Arm ARM's names). */
export interface PteField {
  readonly name: string;
  readonly lsb: number;
  readonly width: number;
  readonly on: 'leaf' | 'table';
}

/**
 * Which kernel's map/unmap/iova_to_phys rules a format follows. io-pgtable-arm's
 * are the engine's own (engine.ts); the others are in rules/, one file each.
 */
export type PgtableRulesName =
  | 'io-pgtable-arm'
  | 'io-pgtable-arm-v7s'
  | 'io-pgtable-dart'
  | 'intel-vtd'
  | 'amd-v1'
  | 'amd-v2'
  | 'iommufd-mock'
  | 'rockchip-iommu'
  | 'tegra-smmu'
  | 'exynos-iommu';

/** What a walker makes of one entry: decode() of a format, off the hot path (traces, leaf dumps). */
export interface DecodedEntry {
  readonly kind: EntryKind | 'empty';
  /** The next table's address (table) or the output address of the leaf's first byte (leaf). */
  readonly oa: number;
  /** Bytes a leaf maps: more than its level's size when it is one of several replicated entries. */
  readonly size: number;
  /** A leaf's attribute bits (what a split or a dump keeps), 0 otherwise. */
  readonly attrs: bigint;
  /** The architecture's name for this kind of leaf ('page', 'block', 'section', …). */
  readonly name: string;
}

export interface LevelLayout {
  /** The architecture's level number. */
  readonly level: number;
  /** log2 of the size one entry maps (ARM_LPAE_LVL_SHIFT). */
  readonly shift: number;
  /** Width of the index into this level's table (the pgd's can differ). */
  readonly indexBits: number;
  /** Bytes of a table at this level (ARM: PGD_SIZE at the start level, else the granule). */
  readonly tableBytes: number;
  /** Entries per table page: one map_pages/unmap_pages call stops at this boundary (arm_lpae_max_entries). */
  readonly entriesPerPage: number;
  /** A leaf of this size is in pgsize_bitmap. */
  readonly leafSize: boolean;
  /** The architecture's name for a leaf here ('block', 'page', 'section', …). */
  readonly leafName: string;
  /** Type bits of a leaf here (ARM: block 0b01, page 0b11). */
  readonly leafBits: bigint;
  /** How a present PTE reads, indexed by the type field's value. */
  readonly kinds: readonly EntryKind[];
  /**
   * Entries a contiguous (ARM v7s large page / supersection) or replicated
   * (AMD next-level-7) leaf spans at this level; 0: none. For ARM LPAE it is
   * the contiguous hint's span, which io-pgtable-arm never uses.
   */
  readonly contiguous: number;
  /** prot → leaf attribute bits at this level, when they differ from the layout's (ARM v7s). */
  readonly prot?: readonly ProtChoice[];
  /** The hardware's permission check at this level, when it differs from the layout's (ARM v7s). */
  readonly access?: AccessDesc;
}

export interface PgtableLayout {
  /** The kernel's enum io_pgtable_fmt name, e.g. 'ARM_64_LPAE_S1'. */
  readonly fmt: string;
  /** Translation granule in bytes. */
  readonly granule: number;
  readonly pteBytes: 4 | 8;
  /** Whose map/unmap semantics apply. */
  readonly rules: PgtableRulesName;
  /** The depth the root of a new table is at (AMD v1 starts at 3 of its levels and grows; default 0). */
  readonly topDepth?: number;
  /** Tables must start below this physical address, or their allocation fails (ARM v7s: 2^32). */
  readonly tableLimit?: number;
  readonly ias: number;
  readonly oas: number;
  readonly quirks: number;
  /** pgsize_bitmap after the format restricted it, as sizes, smallest first. */
  readonly pgsizes: readonly number[];
  /** Walk order: the start level (pgd) first. */
  readonly levels: readonly LevelLayout[];
  /** The field in the low word that `kinds` is indexed by. */
  readonly typeField: { readonly lsb: number; readonly width: number };
  /** A PTE is empty when none of these bits is set (ARM: the whole PTE is zero). */
  readonly present: bigint;
  /** The bits of a table descriptor besides the next table's address. */
  readonly tableBits: bigint;
  readonly oa: OaEncoding;
  /** The attribute bits a block split copies to its pieces (iopte_prot). */
  readonly attrMask: bigint;
  /** prot → leaf attribute bits, the same at every level. */
  readonly prot: readonly ProtChoice[];
  readonly dirty: DirtyDesc | null;
  /** What the hardware lets through a leaf (default: reads and writes). */
  readonly access?: AccessDesc;
  readonly fields: readonly PteField[];
  /**
   * How a walker reads an entry at a depth, when the data above is not
   * enough (per-level address masks, contiguous or replicated leaves).
   * Default: `kinds`, `oa`, the level's size and `attrMask`.
   */
  readonly decode?: (depth: number, pte: bigint) => DecodedEntry;
  /**
   * The attribute bits a leaf of pgsize mapped with prot gets, when they
   * depend on the size (ARM v7s: per-level positions, contiguous entries).
   * Default: `prot` rules.
   */
  readonly leafAttrs?: (prot: number, pgsize: number) => bigint;
}

/** The configuration a caller passes, mirroring struct io_pgtable_cfg. */
export interface PgtableCfgInput {
  readonly quirks?: number;
  /** Page sizes the IOMMU supports; the format restricts it. */
  readonly pgsize_bitmap?: number | bigint;
  readonly ias?: number;
  readonly oas?: number;
  /** Table walks are coherent with the CPU caches (else the ARM formats mark synced tables). */
  readonly coherent_walk?: boolean;
  /** The CPU's PAGE_SIZE, which arm_lpae_restrict_pgsizes() prefers as the granule (arm64 Debian: 4K). */
  readonly cpu_page_size?: number;
}

/** What a format family's alloc function produces: the layout, and its registers as the kernel fills them in. */
export interface FormatAllocResult {
  readonly layout: PgtableLayout;
  /** Format-specific cfg outputs (TCR/MAIR, VTCR, …) without the table base. */
  readonly regs: Readonly<Record<string, number>>;
  readonly coherent_walk: boolean;
}

/** A registered format: a name, the cfg it is created with by default, and its alloc function. */
export interface PgtableFormat {
  readonly name: string;
  readonly fmt: string;
  readonly description: string;
  readonly defaults: Required<Pick<PgtableCfgInput, 'pgsize_bitmap' | 'ias' | 'oas'>>;
  /** Other cfgs drivers create this format with (other address sizes, quirks); the generic tests run each. */
  readonly variants: readonly PgtableCfgInput[];
  /** Returns the layout, or why the kernel's alloc function returns NULL. */
  alloc(cfg: PgtableCfgInput): FormatAllocResult | { readonly reason: string };
}

/** The sizes set in a page-size bitmap, smallest first. */
export function bitmapSizes(bitmap: bigint): number[] {
  const out: number[] = [];
  for (let b = 0; b < 64; b++) if ((bitmap >> BigInt(b)) & 1n) out.push(2 ** b);
  return out;
}

/** bit(n) as a 64-bit constant. */
export const BIT = (n: number): bigint => 1n << BigInt(n);
/** GENMASK_ULL(h, l). */
export const GENMASK = (h: number, l: number): bigint => ((1n << BigInt(h - l + 1)) - 1n) << BigInt(l);
