// SPDX-License-Identifier: GPL-2.0-only
/**
 * AMD IOMMU host page tables as drivers/iommu/amd (Linux 6.12) builds them:
 *
 * - v1 (io_pgtable.c, AMD_IOMMU_V1): the IOMMU's own format. A PDE holds the
 *   next table's address and its level in the "next level" field [11:9]; a
 *   leaf has next level 0 (a page of its level's size), or 7 for a page of
 *   any other power-of-two size, written as 2^n identical entries whose
 *   address field encodes the size (PAGE_SIZE_PTE()). The table starts with
 *   3 levels (PAGE_MODE_3_LEVEL) and grows a level on top when a mapping
 *   needs it (increase_address_space()). The default page sizes are every
 *   power of two from 4K to 2^51 but 512G (AMD_IOMMU_PGSIZES).
 * - v2 (io_pgtable_v2.c, AMD_IOMMU_V2): x86-64 4- or 5-level paging
 *   (amd_iommu_gpt_level), 4K/2M/1G.
 *
 * This file is the descriptor data and decoding; the algorithms, which are
 * each driver's own, are rules/amd-v1.ts and rules/amd-v2.ts. The model's
 * addresses stop below 2^53, so v1 never needs its sixth level.
 */
import type { DecodedEntry, FormatAllocResult, LevelLayout, PgtableCfgInput, PteField } from '../format.js';
import { ALWAYS, BIT, GENMASK, bitmapSizes } from '../format.js';
import { IOMMU_READ, IOMMU_WRITE } from '../prot.js';
import { x86PagingFields } from './x86-paging.js';

/* amd_iommu_types.h */
export const IOMMU_PTE_PR = BIT(0);
export const IOMMU_PTE_HD_BIT = 6;
export const IOMMU_PTE_HD = BIT(IOMMU_PTE_HD_BIT);
export const IOMMU_PTE_U = BIT(59);
export const IOMMU_PTE_FC = BIT(60);
export const IOMMU_PTE_IR = BIT(61);
export const IOMMU_PTE_IW = BIT(62);
export const PM_ADDR_MASK = 0x000ffffffffff000n;
export const PAGE_MODE_3_LEVEL = 3;
export const PAGE_MODE_4_LEVEL = 4;
export const PAGE_MODE_5_LEVEL = 5;
export const PAGE_MODE_7_LEVEL = 7;
export const IOMMU_IN_ADDR_BIT_SIZE = 52;
export const IOMMU_OUT_ADDR_BIT_SIZE = 52;
/** AMD_IOMMU_PGSIZES: GENMASK_ULL(51, 12) ^ SZ_512G. */
export const AMD_IOMMU_PGSIZES = GENMASK(51, 12) ^ (1n << 39n);
/** AMD_IOMMU_PGSIZES_V2 ("amd_iommu=v2_pgsizes_only", and every v2 table). */
export const AMD_IOMMU_PGSIZES_V2 = (1n << 12n) | (1n << 21n) | (1n << 30n);

/* io_pgtable_v2.c */
export const IOMMU_PAGE_PRESENT = BIT(0);
export const IOMMU_PAGE_RW = BIT(1);
export const IOMMU_PAGE_USER = BIT(2);
export const IOMMU_PAGE_ACCESS = BIT(5);
export const IOMMU_PAGE_DIRTY = BIT(6);
export const IOMMU_PAGE_PSE = BIT(7);
export const IOMMU_PAGE_NX = BIT(63);

/** PM_LEVEL_SHIFT(level). */
export const pmLevelShift = (level: number): number => 12 + 9 * level;
/** PAGE_SIZE_LEVEL(pgsize): the level a page of this size is written at. */
export const pageSizeLevel = (shift: number): number => Math.floor((shift - 12) / 9);
/** PAGE_SIZE_PTE_COUNT(pgsize): how many entries it takes. */
export const pageSizePteCount = (shift: number): number => 2 ** ((shift - 12) % 9);

const SZ_4K = 0x1000;

/** The model's v1 tables have levels 4..0 (modes up to 5): every address below 2^53 fits. */
const V1_LEVELS = 5;

const v1Fields: readonly PteField[] = [
  { name: 'PR', lsb: 0, width: 1, on: 'leaf' },
  { name: 'HA', lsb: 5, width: 1, on: 'leaf' },
  { name: 'HD', lsb: 6, width: 1, on: 'leaf' },
  { name: 'NextLevel', lsb: 9, width: 3, on: 'leaf' },
  { name: 'U', lsb: 59, width: 1, on: 'leaf' },
  { name: 'FC', lsb: 60, width: 1, on: 'leaf' },
  { name: 'IR', lsb: 61, width: 1, on: 'leaf' },
  { name: 'IW', lsb: 62, width: 1, on: 'leaf' },
  { name: 'NextLevel', lsb: 9, width: 3, on: 'table' },
  { name: 'IR', lsb: 61, width: 1, on: 'table' },
  { name: 'IW', lsb: 62, width: 1, on: 'table' },
];

/** PTE_PAGE_SIZE(): a next-level-7 entry's page size, from the first zero address bit. */
export function ptePageSize(pte: bigint): number {
  let b = 12;
  while ((pte >> BigInt(b)) & 1n) b++;
  return 2 ** (b + 1);
}

const ATTRS_V1 = ~(PM_ADDR_MASK | (7n << 9n)) & ((1n << 64n) - 1n);

function decodeV1(depth: number, pte: bigint): DecodedEntry {
  const level = V1_LEVELS - 1 - depth;
  if (!(pte & IOMMU_PTE_PR)) return { kind: 'empty', oa: 0, size: 0, attrs: 0n, name: 'empty' };
  const next = Number((pte >> 9n) & 7n);
  const levelSize = 2 ** pmLevelShift(level);
  if (next === PAGE_MODE_7_LEVEL) {
    const size = ptePageSize(pte);
    const oa = Number(pte & PM_ADDR_MASK & ~BigInt(size - 1));
    return { kind: 'leaf', oa, size, attrs: pte & ATTRS_V1, name: 'page (next level 7)' };
  }
  if (level === 0 || next === 0)
    return {
      kind: 'leaf',
      oa: Number(pte & PM_ADDR_MASK),
      size: levelSize,
      attrs: pte & ATTRS_V1,
      name: 'page',
    };
  if (next === level)
    return { kind: 'table', oa: Number(pte & PM_ADDR_MASK), size: levelSize, attrs: 0n, name: 'table' };
  return { kind: 'invalid', oa: 0, size: levelSize, attrs: 0n, name: 'invalid' };
}

/** v1_alloc_pgtable(): the pgsize bitmap is amd_iommu_pgsize_bitmap (the cfg's), ias and oas 52 bits. */
export function amdV1Alloc(
  input: PgtableCfgInput,
  defaults: { pgsize_bitmap: bigint },
): FormatAllocResult | { reason: string } {
  const bitmap = input.pgsize_bitmap === undefined ? defaults.pgsize_bitmap : BigInt(input.pgsize_bitmap);
  if (input.quirks) return { reason: 'AMD v1 tables take no io-pgtable quirks' };
  const pgsizes = bitmapSizes(bitmap & AMD_IOMMU_PGSIZES);
  if (pgsizes.length === 0 || pgsizes[0] !== SZ_4K) return { reason: 'amd_iommu_pgsize_bitmap has no 4K' };
  const levels: LevelLayout[] = [];
  for (let level = V1_LEVELS - 1; level >= 0; level--) {
    const kinds: ('leaf' | 'table' | 'invalid')[] = [];
    // fetch_pte(): next level 0 or 7 is a page; a PDE's next level must be its own level ("no level skipping").
    for (let v = 0; v < 8; v++)
      kinds.push(level === 0 || v === 0 || v === 7 ? 'leaf' : v === level ? 'table' : 'invalid');
    levels.push({
      level,
      shift: pmLevelShift(level),
      indexBits: 9,
      tableBytes: 4096,
      entriesPerPage: 512,
      leafSize: pgsizes.includes(2 ** pmLevelShift(level)),
      leafName: 'page',
      leafBits: 0n,
      kinds,
      contiguous: 0,
    });
  }
  return {
    layout: {
      fmt: 'AMD_IOMMU_V1',
      granule: SZ_4K,
      pteBytes: 8,
      rules: 'amd-v1',
      ias: IOMMU_IN_ADDR_BIT_SIZE,
      oas: IOMMU_OUT_ADDR_BIT_SIZE,
      quirks: 0,
      pgsizes,
      levels,
      // v1_alloc_pgtable(): PAGE_MODE_3_LEVEL, the root at level 2.
      topDepth: V1_LEVELS - PAGE_MODE_3_LEVEL,
      typeField: { lsb: 9, width: 3 },
      present: IOMMU_PTE_PR,
      // PM_LEVEL_PDE() also puts the PDE's own level in [11:9]: the rules add it.
      tableBits: IOMMU_PTE_PR | IOMMU_PTE_IR | IOMMU_PTE_IW,
      oa: { direct: PM_ADDR_MASK, moved: [] },
      attrMask: ATTRS_V1,
      prot: [
        [{ set: IOMMU_PTE_PR | IOMMU_PTE_FC }],
        [{ ifAll: IOMMU_READ, set: IOMMU_PTE_IR }],
        [{ ifAll: IOMMU_WRITE, set: IOMMU_PTE_IW }],
      ],
      // Host dirty: the IOMMU sets HD; iommu_v1_read_and_clear_dirty() tests and clears it.
      dirty: { mask: IOMMU_PTE_HD, value: IOMMU_PTE_HD, cleanSet: 0n, cleanClear: IOMMU_PTE_HD },
      access: {
        read: [{ mask: IOMMU_PTE_IR, value: IOMMU_PTE_IR }],
        write: [{ mask: IOMMU_PTE_IW, value: IOMMU_PTE_IW }],
      },
      fields: v1Fields,
      decode: decodeV1,
    },
    regs: {},
    coherent_walk: true,
  };
}

const v2Fields = x86PagingFields('NX');

/**
 * v2_alloc_pgtable(): 4-level paging (48-bit IOVAs, though cfg->ias says 52)
 * or, with amd_iommu_gpt_level 5 (the cfg's ias 57), 5-level.
 */
export function amdV2Alloc(input: PgtableCfgInput): FormatAllocResult | { reason: string } {
  if (input.quirks) return { reason: 'AMD v2 tables take no io-pgtable quirks' };
  const total = input.ias === 57 ? PAGE_MODE_5_LEVEL : PAGE_MODE_4_LEVEL;
  const levels: LevelLayout[] = [];
  for (let level = total - 1; level >= 0; level--) {
    // fetch_pte() reads PS on the entries it steps to: 1G at PM level 2, 2M at 1; PS elsewhere is "wrongly set"
    // (NULL), but on the root's entries it is not looked at.
    const ps = level === 2 || level === 1 ? 'leaf' : level === total - 1 ? 'table' : 'invalid';
    levels.push({
      level,
      shift: pmLevelShift(level),
      indexBits: 9,
      tableBytes: 4096,
      entriesPerPage: 512,
      leafSize: level <= 2,
      leafName: level === 0 ? 'page' : 'large page',
      leafBits: level === 0 ? 0n : IOMMU_PAGE_PSE,
      kinds: level === 0 ? ['leaf', 'invalid'] : ['table', ps],
      contiguous: 0,
    });
  }
  return {
    layout: {
      fmt: 'AMD_IOMMU_V2',
      granule: SZ_4K,
      pteBytes: 8,
      rules: 'amd-v2',
      ias: total === PAGE_MODE_5_LEVEL ? 57 : IOMMU_IN_ADDR_BIT_SIZE,
      oas: IOMMU_OUT_ADDR_BIT_SIZE,
      quirks: 0,
      pgsizes: bitmapSizes(AMD_IOMMU_PGSIZES_V2),
      levels,
      typeField: { lsb: 7, width: 1 },
      present: IOMMU_PAGE_PRESENT,
      // set_pgtable_attr()
      tableBits: IOMMU_PAGE_PRESENT | IOMMU_PAGE_RW | IOMMU_PAGE_USER | IOMMU_PAGE_ACCESS,
      oa: { direct: PM_ADDR_MASK, moved: [] },
      attrMask: (GENMASK(11, 0) & ~IOMMU_PAGE_PSE) | IOMMU_PAGE_NX,
      // set_pte_attr(): P, US, A and D always, RW for IOMMU_PROT_IW; nothing for reads.
      prot: [
        [{ set: IOMMU_PAGE_PRESENT | IOMMU_PAGE_USER | IOMMU_PAGE_ACCESS | IOMMU_PAGE_DIRTY }],
        [{ ifAll: IOMMU_WRITE, set: IOMMU_PAGE_RW }],
      ],
      dirty: null,
      access: { read: ALWAYS, write: [{ mask: IOMMU_PAGE_RW, value: IOMMU_PAGE_RW }] },
      fields: v2Fields,
    },
    regs: { 'gcr3.glx': total === PAGE_MODE_5_LEVEL ? 1 : 0 },
    coherent_walk: true,
  };
}
