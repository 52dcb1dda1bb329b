// SPDX-License-Identifier: GPL-2.0-only
/**
 * Apple DART page tables, as drivers/iommu/io-pgtable-dart.c (Linux 6.12)
 * builds them for apple-dart.c: the APPLE_DART (DART1: t8103, its USB4
 * DART) and APPLE_DART2 (t6000, t8110) descriptor layouts, 64-bit PTEs, a
 * 4 KiB or 16 KiB granule (the DART's own page size, nothing else), two
 * levels below an array of up to DART_MAX_TABLES (4) TTBRs.
 *
 * Geometry (dart_alloc_pgtable()): bits_per_level = log2(granule) - 3, so a
 * table of one granule holds 2^bits_per_level entries; the L2 index is the
 * IOVA above the page offset, the L1 index the next bits_per_level bits, and
 * the IOVA bits above those pick the TTBR: tbl_bits of them, as many as the
 * ias leaves (0 for every shipping DART: 16 KiB pages and ias 32 or 36).
 * Every L1 table exists from the start (one per TTBR), L2 tables come with
 * the first map into their range; L1 entries are only ever table pointers.
 *
 * Model: the n_ttbrs L1 tables are one allocation of n_ttbrs granules, TTBR
 * i being pgd + i * granule. The kernel allocates them one by one; the walk
 * through TTBR i is the same either way (the level-1 index here is
 * tbl_bits + bits_per_level wide), and with one TTBR (every shipping DART)
 * so is the allocation. ttbrsOf() gives the TTBR array
 * (cfg->apple_dart_cfg.ttbr[]).
 *
 * Descriptors (the APPLE_DART* constants): valid bit 0; the output address
 * at [35:12] (DART1) or PA[41:14] at [37:10] (DART2: paddr >> 4); the
 * "no write"/"no read" bits (DART1: 7/8, DART2: 2/3; DART2 also "no cache",
 * bit 1); the subpage protection window [51:40] end and [63:52] start, which
 * the kernel always opens to the whole page (0 .. 0xfff). dart_init_pte()
 * sets APPLE_DART1_PTE_PROT_SP_DIS (bit 1) on every leaf of both formats:
 * on a DART2 that is the "no cache" bit, so every DART2 leaf is uncached,
 * IOMMU_CACHE or not. Kept as 6.12 has it.
 *
 * The map/unmap rules are rules/apple-dart.ts.
 */
import type {
  FormatAllocResult,
  LevelLayout,
  PgtableCfgInput,
  PgtableLayout,
  ProtChoice,
} from '../format.js';
import { BIT, GENMASK } from '../format.js';
import { protBits } from '../compiled.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../prot.js';

export type DartFmt = 'APPLE_DART' | 'APPLE_DART2';

export const DART1_MAX_ADDR_BITS = 36;
export const DART_MAX_TABLES = 4;
export const DART_LEVELS = 2;

export const APPLE_DART_PTE_SUBPAGE_START = GENMASK(63, 52);
export const APPLE_DART_PTE_SUBPAGE_END = GENMASK(51, 40);
export const APPLE_DART1_PADDR_MASK = GENMASK(35, 12);
export const APPLE_DART2_PADDR_MASK = GENMASK(37, 10);
export const APPLE_DART2_PADDR_SHIFT = 4;
export const APPLE_DART1_PTE_PROT_NO_READ = BIT(8);
export const APPLE_DART1_PTE_PROT_NO_WRITE = BIT(7);
export const APPLE_DART1_PTE_PROT_SP_DIS = BIT(1);
export const APPLE_DART2_PTE_PROT_NO_READ = BIT(3);
export const APPLE_DART2_PTE_PROT_NO_WRITE = BIT(2);
export const APPLE_DART2_PTE_PROT_NO_CACHE = BIT(1);
export const APPLE_DART_PTE_VALID = BIT(0);

const SZ_4K = 0x1000;
const SZ_16K = 0x4000;

/** FIELD_PREP(APPLE_DART_PTE_SUBPAGE_END, 0xfff) | FIELD_PREP(..._START, 0): the whole page. */
const SUBPAGE_WHOLE = 0xfffn << 40n;

/** What dart_init_pte() ORs into every leaf besides the prot bits and the address. */
export const DART_LEAF_BITS = SUBPAGE_WHOLE | APPLE_DART1_PTE_PROT_SP_DIS | APPLE_DART_PTE_VALID;

/** dart_prot_to_pte(), as if/else chains. */
const dart1Prot: readonly ProtChoice[] = [
  [{ ifNone: IOMMU_WRITE, set: APPLE_DART1_PTE_PROT_NO_WRITE }],
  [{ ifNone: IOMMU_READ, set: APPLE_DART1_PTE_PROT_NO_READ }],
];
const dart2Prot: readonly ProtChoice[] = [
  [{ ifNone: IOMMU_WRITE, set: APPLE_DART2_PTE_PROT_NO_WRITE }],
  [{ ifNone: IOMMU_READ, set: APPLE_DART2_PTE_PROT_NO_READ }],
  [{ ifNone: IOMMU_CACHE, set: APPLE_DART2_PTE_PROT_NO_CACHE }],
];

/**
 * paddr_to_iopte() / iopte_to_paddr(): DART1 keeps the address in place;
 * DART2 shifts it right by 4, PA[41:14] landing in PTE[37:10], here as the
 * pieces that stay within one 32-bit word on both sides.
 */
const dart1Oa = { direct: APPLE_DART1_PADDR_MASK, moved: [] };
const dart2Oa = {
  direct: 0n,
  moved: [
    { paBit: 14, pteBit: 10, width: 18 },
    { paBit: 32, pteBit: 28, width: 4 },
    { paBit: 36, pteBit: 32, width: 6 },
  ],
};

/** The geometry dart_alloc_pgtable() computes. */
export interface DartGeometry {
  readonly granule: number;
  readonly bits_per_level: number;
  readonly tbl_bits: number;
  /** cfg->apple_dart_cfg.n_ttbrs */
  readonly n_ttbrs: number;
}

/** dart_alloc_pgtable(): null when the TTBR array would need more than DART_MAX_TABLES. */
export function dart_alloc_pgtable(pgsize: number, ias: number): DartGeometry | null {
  const pg_shift = 31 - Math.clz32(pgsize & -pgsize);
  const bits_per_level = pg_shift - 3;
  const va_bits = ias - pg_shift;
  const tbl_bits = Math.max(0, va_bits - bits_per_level * DART_LEVELS);
  if (2 ** tbl_bits > DART_MAX_TABLES) return null;
  return { granule: 2 ** pg_shift, bits_per_level, tbl_bits, n_ttbrs: 2 ** tbl_bits };
}

function layoutOf(fmt: DartFmt, g: DartGeometry, ias: number, oas: number, quirks: number): PgtableLayout {
  const bpl = g.bits_per_level;
  const dart2 = fmt === 'APPLE_DART2';
  const prot = dart2 ? dart2Prot : dart1Prot;
  const oa = dart2 ? dart2Oa : dart1Oa;
  const noRead = dart2 ? APPLE_DART2_PTE_PROT_NO_READ : APPLE_DART1_PTE_PROT_NO_READ;
  const noWrite = dart2 ? APPLE_DART2_PTE_PROT_NO_WRITE : APPLE_DART1_PTE_PROT_NO_WRITE;
  const oaBits = dart2 ? GENMASK(37, 10) : APPLE_DART1_PADDR_MASK;
  const levels: LevelLayout[] = [
    {
      level: 1,
      // dart_get_l1_index(), with dart_get_table() as the bits above it.
      shift: 2 * bpl + 3,
      indexBits: bpl + g.tbl_bits,
      tableBytes: g.n_ttbrs * g.granule,
      entriesPerPage: 2 ** bpl,
      leafSize: false,
      leafName: 'none',
      leafBits: 0n,
      kinds: ['invalid', 'table'],
      contiguous: 0,
    },
    {
      level: 2,
      shift: bpl + 3,
      indexBits: bpl,
      tableBytes: g.granule,
      entriesPerPage: 2 ** bpl,
      leafSize: true,
      leafName: 'page',
      leafBits: DART_LEAF_BITS,
      kinds: ['invalid', 'leaf'],
      contiguous: 0,
    },
  ];
  return {
    fmt,
    granule: g.granule,
    pteBytes: 8,
    rules: 'io-pgtable-dart',
    ias,
    oas,
    quirks,
    pgsizes: [g.granule],
    levels,
    typeField: { lsb: 0, width: 1 },
    // dart_get_l2()/dart_iova_to_phys() test the whole PTE (`if (!pte)`), not the valid bit.
    present: GENMASK(63, 0),
    tableBits: APPLE_DART_PTE_VALID,
    oa,
    // Everything but the address: what a leaf dump shows next to it.
    attrMask: GENMASK(63, 0) & ~oaBits,
    prot,
    dirty: null,
    access: {
      read: [{ mask: noRead, value: 0n }],
      write: [{ mask: noWrite, value: 0n }],
    },
    fields: [
      { name: 'VALID', lsb: 0, width: 1, on: 'leaf' },
      dart2
        ? { name: 'NO_CACHE', lsb: 1, width: 1, on: 'leaf' }
        : { name: 'SP_DIS', lsb: 1, width: 1, on: 'leaf' },
      { name: 'NO_WRITE', lsb: dart2 ? 2 : 7, width: 1, on: 'leaf' },
      { name: 'NO_READ', lsb: dart2 ? 3 : 8, width: 1, on: 'leaf' },
      { name: 'SUBPAGE_END', lsb: 40, width: 12, on: 'leaf' },
      { name: 'SUBPAGE_START', lsb: 52, width: 12, on: 'leaf' },
      { name: 'VALID', lsb: 0, width: 1, on: 'table' },
    ],
    // dart_init_pte(): the prot bits, the whole-page subpage window, SP_DIS and VALID.
    leafAttrs: (p: number) => protBits(prot, p, quirks) | DART_LEAF_BITS,
  };
}

/**
 * apple_dart_alloc_pgtable(): the checks (a coherent walk, an oas of 36 or
 * 42, ias no wider than oas, exactly one page size of 4K or 16K), the
 * geometry, and the TTBR count.
 */
export function appleDartAlloc(
  fmt: DartFmt,
  input: PgtableCfgInput,
  defaults: { pgsize_bitmap: bigint; ias: number; oas: number },
): FormatAllocResult | { reason: string } {
  const coherent = input.coherent_walk ?? true;
  const ias = input.ias ?? defaults.ias;
  const oas = input.oas ?? defaults.oas;
  const bitmap = input.pgsize_bitmap === undefined ? defaults.pgsize_bitmap : BigInt(input.pgsize_bitmap);
  if (!coherent) return { reason: 'the DART walks tables coherently only (!cfg->coherent_walk)' };
  if (oas !== 36 && oas !== 42) return { reason: `oas ${oas} is neither 36 nor 42` };
  if (ias > oas) return { reason: `ias ${ias} > oas ${oas}` };
  if (bitmap !== BigInt(SZ_4K) && bitmap !== BigInt(SZ_16K))
    return { reason: `pgsize_bitmap 0x${bitmap.toString(16)} is not exactly SZ_4K or SZ_16K` };
  const g = dart_alloc_pgtable(Number(bitmap), ias);
  if (!g) return { reason: `ias ${ias} needs more than ${DART_MAX_TABLES} TTBRs (dart_alloc_pgtable)` };
  return {
    layout: layoutOf(fmt, g, ias, oas, input.quirks ?? 0),
    regs: { n_ttbrs: g.n_ttbrs, tbl_bits: g.tbl_bits, bits_per_level: g.bits_per_level },
    coherent_walk: true,
  };
}

/** cfg->apple_dart_cfg.ttbr[]: the L1 table of each TTBR, for a table whose pgd is at `pgd`. */
export function dartTtbrs(pgd: number, regs: Readonly<Record<string, number>>, granule: number): number[] {
  return Array.from({ length: regs.n_ttbrs ?? 1 }, (_, i) => pgd + i * granule);
}
