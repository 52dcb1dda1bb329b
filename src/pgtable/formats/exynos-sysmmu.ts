// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Samsung Exynos System MMU's own two-level page table
 * (drivers/iommu/exynos-iommu.c, Linux 6.12; not io-pgtable): a 16 KiB
 * level-1 table of 4096 32-bit entries indexed by IOVA [31:20] (1 MiB
 * sections, or links to level-2 tables), and 1 KiB level-2 tables of 256
 * entries indexed by [19:12] (4 KiB small pages, or 64 KiB large pages
 * written as 16 identical entries). Type bits [1:0]: level 1 0b01 a link,
 * 0b10 a section, 0b00/0b11 a fault; level 2 0b01 a large page, 0b1x a small
 * page, 0b00 a fault.
 *
 * Two encodings, by the System MMU version of the first instance that
 * probes (PG_ENT_SHIFT, LV1_PROT and LV2_PROT are set once):
 * - v1 to v3 (SYSMMU_PG_ENT_SHIFT 0): entries hold the physical address as
 *   is (32 bits); access bits are ARM short-descriptor style: a section's
 *   AP[0] at bit 10 and APX at bit 15, a page's at bits 4 and 9 (read only:
 *   both; write only is not supported and is mapped read/write).
 * - v5 and later (SYSMMU_V5_PG_ENT_SHIFT 4): entries hold the address
 *   shifted right by 4 (36-bit addresses); read and write bits at [5:4]
 *   (level 1) and [3:2] (level 2).
 *
 * Every level-1 entry of a new domain is ZERO_LV2LINK, a link to one shared
 * level-2 table of faults (zero_lv2_table, allocated once by
 * exynos_iommu_init()): a workaround for System MMU v3.3, which caches level-1
 * entries. The driver tells it apart from a real link by value; so does this
 * format (the layout carries the link value). A section unmapped goes back to
 * ZERO_LV2LINK.
 *
 * This file is the descriptor data (mk_lv1ent_sect(), mk_lv1ent_page(),
 * mk_lv2ent_spage(), mk_lv2ent_lpage() and their readers); the map and unmap
 * rules are rules/exynos-iommu.ts.
 */
import type {
  DecodedEntry,
  FormatAllocResult,
  LevelLayout,
  PgtableCfgInput,
  PgtableLayout,
} from '../format.js';
import { IOMMU_READ, IOMMU_WRITE } from '../prot.js';

/** Which entry encoding: PG_ENT_SHIFT 0 (System MMU v1..v3) or 4 (v5 and later). */
export type SysmmuPgEnt = 'v1' | 'v5';

export const SECT_SIZE = 1 << 20;
export const LPAGE_SIZE = 1 << 16;
export const SPAGE_SIZE = 1 << 12;
export const NUM_LV1ENTRIES = 4096;
export const NUM_LV2ENTRIES = SECT_SIZE / SPAGE_SIZE;
export const SPAGES_PER_LPAGE = LPAGE_SIZE / SPAGE_SIZE;
export const LV1TABLE_SIZE = NUM_LV1ENTRIES * 4;
export const LV2TABLE_SIZE = NUM_LV2ENTRIES * 4;

/** SYSMMU_LV1_PROT[] / SYSMMU_V5_LV1_PROT[], indexed by prot & (IOMMU_READ | IOMMU_WRITE). */
export const LV1_PROT: Readonly<Record<SysmmuPgEnt, readonly number[]>> = {
  v1: [0, (1 << 15) | (1 << 10), 1 << 10, 1 << 10],
  v5: [0, 1 << 4, 2 << 4, 3 << 4],
};
/** SYSMMU_LV2_PROT[] / SYSMMU_V5_LV2_PROT[] */
export const LV2_PROT: Readonly<Record<SysmmuPgEnt, readonly number[]>> = {
  v1: [0, (1 << 9) | (1 << 4), 1 << 4, 1 << 4],
  v5: [0, 1 << 2, 2 << 2, 3 << 2],
};
/** PG_ENT_SHIFT */
export const PG_ENT_SHIFT: Readonly<Record<SysmmuPgEnt, number>> = { v1: 0, v5: 4 };

const TWO32 = 2 ** 32;
const shr = (pa: number, shift: number): number => Math.floor(pa / 2 ** shift) % TWO32;
const shl = (ent: number, shift: number): number => (ent >>> 0) * 2 ** shift;

/** mk_lv1ent_sect(): (pa >> PG_ENT_SHIFT) | LV1_PROT[prot] | 2, stored as a u32. */
export const mkLv1entSect = (v: SysmmuPgEnt, pa: number, prot: number): number =>
  (shr(pa, PG_ENT_SHIFT[v]) | LV1_PROT[v][prot & 3] | 2) >>> 0;
/** mk_lv1ent_page(): (pa >> PG_ENT_SHIFT) | 1. */
export const mkLv1entPage = (v: SysmmuPgEnt, pa: number): number => (shr(pa, PG_ENT_SHIFT[v]) | 1) >>> 0;
/** mk_lv2ent_lpage() */
export const mkLv2entLpage = (v: SysmmuPgEnt, pa: number, prot: number): number =>
  (shr(pa, PG_ENT_SHIFT[v]) | LV2_PROT[v][prot & 3] | 1) >>> 0;
/** mk_lv2ent_spage() */
export const mkLv2entSpage = (v: SysmmuPgEnt, pa: number, prot: number): number =>
  (shr(pa, PG_ENT_SHIFT[v]) | LV2_PROT[v][prot & 3] | 2) >>> 0;

/** section_phys(): sect_to_phys(ent) & SECT_MASK. */
export const sectionPhys = (v: SysmmuPgEnt, ent: number): number => {
  const p = shl(ent, PG_ENT_SHIFT[v]);
  return p - (p % SECT_SIZE);
};
/** lpage_phys() */
export const lpagePhys = (v: SysmmuPgEnt, ent: number): number => {
  const p = shl(ent, PG_ENT_SHIFT[v]);
  return p - (p % LPAGE_SIZE);
};
/** spage_phys() */
export const spagePhys = (v: SysmmuPgEnt, ent: number): number => {
  const p = shl(ent, PG_ENT_SHIFT[v]);
  return p - (p % SPAGE_SIZE);
};
/** lv2table_base(): sect_to_phys(ent & 0xFFFFFFC0). */
export const lv2tableBase = (v: SysmmuPgEnt, ent: number): number => shl(ent & 0xffff_ffc0, PG_ENT_SHIFT[v]);

/** lv1ent_offset() of a sysmmu_iova_t (IOVA bits above 31 are dropped). */
export const lv1entOffset = (iova: number): number => Math.floor((iova % TWO32) / SECT_SIZE);
/** lv2ent_offset() */
export const lv2entOffset = (iova: number): number => Math.floor((iova % SECT_SIZE) / SPAGE_SIZE);

/** The exynos layout: the generic data, the encoding, and ZERO_LV2LINK's value. */
export interface ExynosLayout extends PgtableLayout {
  readonly pgEnt: SysmmuPgEnt;
  /** mk_lv1ent_page(virt_to_phys(zero_lv2_table)) */
  readonly zeroLv2Link: number;
}

/** The access bits of each level, for decoding and the hardware's check. */
const accessMask = (v: SysmmuPgEnt, lvl: 1 | 2): number =>
  (lvl === 1 ? LV1_PROT[v] : LV2_PROT[v]).reduce((a, b) => a | b, 0);

function decoder(v: SysmmuPgEnt, zeroLink: number): (depth: number, pte: bigint) => DecodedEntry {
  return (depth, pte64) => {
    const ent = Number(pte64 & 0xffff_ffffn);
    const type = ent & 3;
    const empty: DecodedEntry = { kind: 'empty', oa: 0, size: 0, attrs: 0n, name: 'empty' };
    if (depth === 0) {
      if (type === 0) return empty;
      if (type === 3) return { kind: 'invalid', oa: 0, size: 0, attrs: 0n, name: 'invalid' };
      if (type === 1)
        return {
          kind: 'table',
          oa: lv2tableBase(v, ent),
          size: SECT_SIZE,
          attrs: 0n,
          name: ent === zeroLink ? 'zero lv2 link' : 'table',
        };
      return {
        kind: 'leaf',
        oa: sectionPhys(v, ent),
        size: SECT_SIZE,
        attrs: BigInt(ent & accessMask(v, 1)),
        name: 'section',
      };
    }
    if (type === 0) return empty;
    const large = type === 1;
    return {
      kind: 'leaf',
      oa: large ? lpagePhys(v, ent) : spagePhys(v, ent),
      size: large ? LPAGE_SIZE : SPAGE_SIZE,
      attrs: BigInt(ent & accessMask(v, 2)),
      name: large ? 'large page' : 'small page',
    };
  };
}

/**
 * The layout for one encoding, with ZERO_LV2LINK for a zero level-2 table at
 * `zeroLv2` (what exynos_iommu_init() allocated; a standalone table without
 * a kernel names physical 0, where no table memory is). IOVAs are 32 bits
 * (sysmmu_iova_t); output addresses 32 (v1) or 36 (v5) bits.
 */
export function exynosSysmmuAlloc(
  v: SysmmuPgEnt,
  input: PgtableCfgInput,
  zeroLv2 = 0,
): FormatAllocResult | { reason: string } {
  const ias = input.ias ?? 32;
  if (ias !== 32) return { reason: `ias ${ias}: sysmmu_iova_t is 32 bits` };
  const all = SPAGE_SIZE + LPAGE_SIZE + SECT_SIZE;
  const bitmap = input.pgsize_bitmap === undefined ? all : Number(BigInt(input.pgsize_bitmap) & BigInt(all));
  const pgsizes = [SPAGE_SIZE, LPAGE_SIZE, SECT_SIZE].filter((s) => bitmap & s);
  const oas = v === 'v5' ? 36 : 32;
  const lv1Rules =
    v === 'v1'
      ? [
          [
            { ifAll: IOMMU_READ, ifNone: IOMMU_WRITE, set: BigInt(LV1_PROT.v1[1]) },
            { ifAll: IOMMU_WRITE, set: BigInt(LV1_PROT.v1[3]) },
          ],
        ]
      : [
          [{ ifAll: IOMMU_READ, set: BigInt(LV1_PROT.v5[1]) }],
          [{ ifAll: IOMMU_WRITE, set: BigInt(LV1_PROT.v5[2]) }],
        ];
  const lv2Rules =
    v === 'v1'
      ? [
          [
            { ifAll: IOMMU_READ, ifNone: IOMMU_WRITE, set: BigInt(LV2_PROT.v1[1]) },
            { ifAll: IOMMU_WRITE, set: BigInt(LV2_PROT.v1[3]) },
          ],
        ]
      : [
          [{ ifAll: IOMMU_READ, set: BigInt(LV2_PROT.v5[1]) }],
          [{ ifAll: IOMMU_WRITE, set: BigInt(LV2_PROT.v5[2]) }],
        ];
  // CFG_EAP: the access bits are checked. v1: AP[0] allows reads, and writes unless APX; v5: one bit each.
  const access = (lvl: 1 | 2) => {
    const rd = v === 'v1' ? (lvl === 1 ? 1 << 10 : 1 << 4) : lvl === 1 ? 1 << 4 : 1 << 2;
    const wr = v === 'v1' ? (lvl === 1 ? 1 << 15 : 1 << 9) : lvl === 1 ? 1 << 5 : 1 << 3;
    return {
      read: [{ mask: BigInt(rd), value: BigInt(rd) }],
      write:
        v === 'v1'
          ? [{ mask: BigInt(rd | wr), value: BigInt(rd) }]
          : [{ mask: BigInt(wr), value: BigInt(wr) }],
    };
  };
  const levels: LevelLayout[] = [
    {
      level: 1,
      shift: 20,
      indexBits: 12,
      tableBytes: LV1TABLE_SIZE,
      entriesPerPage: NUM_LV1ENTRIES,
      leafSize: pgsizes.includes(SECT_SIZE),
      leafName: 'section',
      leafBits: 2n,
      kinds: ['invalid', 'table', 'leaf', 'invalid'],
      contiguous: 0,
      prot: lv1Rules,
      access: access(1),
    },
    {
      level: 2,
      shift: 12,
      indexBits: 8,
      tableBytes: LV2TABLE_SIZE,
      entriesPerPage: NUM_LV2ENTRIES,
      leafSize: pgsizes.includes(SPAGE_SIZE),
      leafName: 'small page',
      leafBits: 2n,
      kinds: ['invalid', 'leaf', 'leaf', 'leaf'],
      contiguous: pgsizes.includes(LPAGE_SIZE) ? SPAGES_PER_LPAGE : 0,
      prot: lv2Rules,
      access: access(2),
    },
  ];
  const zeroLv2Link = mkLv1entPage(v, zeroLv2);
  const layout: ExynosLayout = {
    fmt: v === 'v5' ? 'EXYNOS_SYSMMU_V5' : 'EXYNOS_SYSMMU_V1',
    pgEnt: v,
    zeroLv2Link,
    granule: SPAGE_SIZE,
    pteBytes: 4,
    rules: 'exynos-iommu',
    tableLimit: 2 ** oas,
    ias,
    oas,
    quirks: 0,
    pgsizes,
    levels,
    typeField: { lsb: 0, width: 2 },
    present: 3n,
    tableBits: 1n,
    // A link's level-2 table: [31:6] << PG_ENT_SHIFT.
    oa:
      v === 'v1'
        ? { direct: 0xffff_ffc0n, moved: [] }
        : {
            direct: 0n,
            moved: [
              { paBit: 10, pteBit: 6, width: 22 },
              { paBit: 32, pteBit: 28, width: 4 },
            ],
          },
    attrMask: BigInt(accessMask(v, 2)),
    prot: lv2Rules,
    dirty: null,
    fields:
      v === 'v1'
        ? [
            { name: 'AP0', lsb: 10, width: 1, on: 'leaf' },
            { name: 'APX', lsb: 15, width: 1, on: 'leaf' },
          ]
        : [
            { name: 'RW(lv1)', lsb: 4, width: 2, on: 'leaf' },
            { name: 'RW(lv2)', lsb: 2, width: 2, on: 'leaf' },
          ],
    decode: decoder(v, zeroLv2Link),
    leafAttrs: (prot, pgsize) => BigInt(pgsize >= SECT_SIZE ? LV1_PROT[v][prot & 3] : LV2_PROT[v][prot & 3]),
  };
  return { layout, regs: {}, coherent_walk: false };
}
