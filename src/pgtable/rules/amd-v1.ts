// SPDX-License-Identifier: GPL-2.0-only
/**
 * drivers/iommu/amd/io_pgtable.c's rules (Linux 6.12), AMD_IOMMU_V1, over
 * the shared engine: iommu_v1_map_pages() with alloc_pte(),
 * increase_address_space(), first_pte_l7() and free_clear_pte()/free_sub_pt();
 * iommu_v1_unmap_pages() with fetch_pte(); iommu_v1_iova_to_phys();
 * iommu_v1_read_and_clear_dirty(); and the amd_iommu_map_pages()/
 * amd_iommu_unmap_pages() wrappers of amd/iommu.c (prot conversion, the
 * gather). Levels are the kernel's (0 holds 4K entries); the root is at
 * level mode - 1 and depth = 4 - level.
 *
 * Where the semantics differ from io-pgtable-arm's (engine.ts):
 * - A map replaces whatever is there: leaves of the same size silently (no
 *   flush: `updated` stays false), a table under the new leaf with everything
 *   it maps (freed, then flushed), and a larger leaf above the new one by a
 *   new empty table (the rest of the larger mapping is gone). There is no
 *   -EEXIST and no WARN.
 * - Pages of non-level sizes are 2^n replicated next-level-7 entries.
 * - Unmap never splits: fetch_pte() finds the leaf covering the IOVA and the
 *   whole leaf goes, counted at its size, so unmapping part of a large page
 *   returns more than asked for. At level 0 fetch_pte() does not look at the
 *   present bit: unmapping a 4K hole in an existing table "unmaps" 4K. A hole
 *   higher up stops the unmap there. Tables are never freed by an unmap.
 * - The root grows a level when an IOVA or a page size needs it; the DTE then
 *   points at the new root (the table's ttbr changes).
 * - One map_pages/unmap_pages call does all of pgcount, across table pages.
 * Sizes that are not powers of two and unaligned addresses, which the kernel
 * BUG()s on and the core never passes, are refused (-EINVAL, 0).
 */
import { EINVAL, ENOMEM } from '../../kernel/errno.js';
import type { CompiledFormat } from '../compiled.js';
import type { DirtyRecord, IoPgtable, MappedOut } from '../engine.js';
import { IOMMU_DIRTY_NO_CLEAR, IOMMU_READ, IOMMU_WRITE } from '../prot.js';
import type { PgtableRules } from './rules.js';
import { alignDown, ffs, isAligned, isPow2, pow2, tableOf, wHi } from './rules.js';

const TWO32 = 4294967296;
const LEVELS = 5;
const PR = 1;
/* High-word bits: FC 60, IR 61, IW 62. */
const FC_HI = 1 << 28;
const IR_HI = 1 << 29;
const IW_HI = 1 << 30;
const HD_LO = 1 << 6;
/* PM_ADDR_MASK: bits 12..51. */
const ADDR_LO = ~0xfff;
const ADDR_HI = 0xfffff;

/*
 * An IOVA travels between the functions below as its two 32-bit words (the
 * low one as int32), so that no call boxes it; sizes travel as their log2.
 */

const depthOf = (level: number): number => LEVELS - 1 - level;
/** The current mode (number of levels). */
const modeOf = (e: IoPgtable): number => LEVELS - e.top;
/** PM_LEVEL_SIZE(mode): the last address a table of that mode covers. */
const PM_LEVEL_SIZE = Float64Array.from({ length: 8 }, (_, mode) =>
  mode < 6 ? 2 ** (12 + 9 * mode) - 1 : Infinity,
);
/** PM_LEVEL_SHIFT(level). */
const levelShift = (level: number): number => 12 + 9 * level;
/**
 * PM_LEVEL_INDEX(level, address), as the word index of the entry. A negative
 * address (only read_and_clear_dirty lets one through) indexes as the
 * model's division always has: mostly before the table, where nothing is.
 */
const index = (f: CompiledFormat, level: number, lo: number, hi: number): number =>
  hi >= 0
    ? f.index(depthOf(level), lo, hi) << 1
    : (Math.floor(((lo >>> 0) + hi * TWO32) / f.blockSize[depthOf(level)]) % 512) << 1;
const nextLevel = (lo: number): number => (lo >>> 9) & 7;
const present = (lo: number): boolean => (lo & PR) !== 0;
/** PAGE_SIZE_PTE_COUNT(): the entries a page of 2^shift bytes takes. */
const pteCount = (shift: number): number => 1 << ((shift - 12) % 9);

/** PTE_PAGE_SIZE() of a next-level-7 entry, as its log2: 1 + the first zero address bit from 12. */
function ptePageShift(lo: number, hi: number): number {
  let b = 12;
  while (b < 52 && ((b < 32 ? lo >>> b : hi >>> (b - 32)) & 1) === 1) b++;
  return b + 1;
}

/** PM_LEVEL_PDE(level, phys) into t[j]. */
function writePde(t: Int32Array, j: number, level: number, phys: number): void {
  t[j] = (phys & ADDR_LO) | (level << 9) | PR;
  t[j + 1] = ((phys - (phys >>> 0)) / TWO32) | IR_HI | IW_HI;
}

/** The table a PDE points at. */
const childOf = (e: IoPgtable, t: Int32Array, j: number) => tableOf(e, t[j] & ADDR_LO, t[j + 1] & ADDR_HI);

/** increase_address_space(): a new root whose first entry is the old one. */
function increaseAddressSpace(e: IoPgtable, address: number, pageSizeLevel: number): boolean {
  const mode = modeOf(e);
  if (e.top === 0) {
    // Mode 6 (the kernel's WARN_ON_ONCE(mode == PAGE_MODE_6_LEVEL) is one level further) serves IOVAs past 2^53.
    e.warn('increase_address_space', 'a sixth level is not modelled (IOVAs stop below 2^53)');
    return false;
  }
  const phys = e.allocTable(e.top - 1);
  if (phys < 0) return false;
  if (address <= PM_LEVEL_SIZE[mode] && mode - 1 >= pageSizeLevel) {
    e.freeTable(e.top - 1, phys);
    return true;
  }
  const root = e.memory.view(phys) as Int32Array;
  writePde(root, 0, mode, e.pgdPhys);
  e.pgd = root;
  e.pgdPhys = phys;
  e.top--;
  return true;
}

/** alloc_pte()'s result: the table and word index of the first entry to write. */
let rT: Int32Array = new Int32Array(2);
let rJ = 0;
/** alloc_pte() and free_clear_pte() set it: the TLB needs flushing after the map. */
let updated = false;

/** alloc_pte(): the entry at the page size's level for the IOVA (lo, hi), tables allocated on the way. */
function allocPte(e: IoPgtable, lo: number, hi: number, shift: number): boolean {
  const f = e.f;
  const endLvl = Math.floor((shift - 12) / 9);
  const last = (lo >>> 0) + hi * TWO32 + (pow2(shift) - 1);
  while (last > PM_LEVEL_SIZE[modeOf(e)] || modeOf(e) - 1 < endLvl)
    if (!increaseAddressSpace(e, last, endLvl)) return false;
  let level = modeOf(e) - 1;
  let t = e.pgd;
  let j = index(f, level, lo, hi);
  while (level > endLvl) {
    const plo = t[j];
    const phi = t[j + 1];
    const pl = nextLevel(plo);
    if (present(plo) && pl === 7) {
      // A series of large PTEs: clear those still matching the one met (first_pte_l7()).
      const cnt = pteCount(ptePageShift(plo, phi));
      const first = j - (j % (2 * cnt));
      for (let i = 0; i < cnt; i++) {
        const k = first + 2 * i;
        if (t[k] === plo && t[k + 1] === phi) {
          t[k] = 0;
          t[k + 1] = 0;
        }
      }
      updated = true;
      continue;
    }
    if (!present(plo) || pl === 0) {
      const phys = e.allocTable(depthOf(level - 1));
      if (phys < 0) return false;
      // cmpxchg over what was read: a page there is dropped, not freed (it is no table).
      writePde(t, j, level, phys);
      if (present(plo)) updated = true;
      continue;
    }
    // "No level skipping support yet"
    if (pl !== level) return false;
    level--;
    const next = childOf(e, t, j);
    if (next === undefined) return false;
    t = next;
    j = index(f, level, lo, hi);
  }
  rT = t;
  rJ = j;
  return true;
}

/** free_clear_pte(): clear an entry; a PDE's tables go (free_sub_pt()). */
function freeClearPte(e: IoPgtable, t: Int32Array, j: number): void {
  const lo = t[j];
  const hi = t[j + 1];
  t[j] = 0;
  t[j + 1] = 0;
  if (!present(lo)) return;
  const mode = nextLevel(lo);
  if (mode === 0 || mode === 7) return;
  freeSubPt(e, fromAddr(lo, hi), mode);
  updated = true;
}

const fromAddr = (lo: number, hi: number): number => ((lo & ADDR_LO) >>> 0) + (hi & ADDR_HI) * TWO32;

/** free_sub_pt() / free_pt_lvl(): a table pointed at by a PDE of level `mode`, and its tables. */
function freeSubPt(e: IoPgtable, phys: number, mode: number): void {
  const t = e.memory.view(phys);
  if (t !== undefined && mode >= 2) {
    for (let j = 0; j < 1024; j += 2) {
      const lo = t[j];
      if (!present(lo)) continue;
      const m = nextLevel(lo);
      if (m === 0 || m === 7) continue;
      freeSubPt(e, fromAddr(lo, t[j + 1]), mode - 1);
    }
  }
  e.freeTable(depthOf(mode - 1), phys);
}

/** amd_iommu_map_pages() → iommu_v1_map_pages(). */
function map(e: IoPgtable, pgcount: number, prot: number, out: MappedOut): number {
  const a = e.arg;
  let iova = a[0];
  let paddr = a[1];
  const pgsize = a[2];
  if (!Number.isInteger(iova) || !Number.isInteger(paddr) || !Number.isInteger(pgcount) || pgcount < 0)
    return -EINVAL;
  // BUG_ON(!IS_ALIGNED(iova, pgsize)), BUG_ON(!IS_ALIGNED(paddr, pgsize)), and alloc_pte()'s BUG_ON(!is_power_of_2()).
  if (
    !isPow2(pgsize) ||
    pgsize < 4096 ||
    !isAligned(iova, pgsize) ||
    !isAligned(paddr, pgsize) ||
    iova < 0 ||
    paddr < 0
  )
    return -EINVAL;
  if ((prot & (IOMMU_READ | IOMMU_WRITE)) === 0) return -EINVAL;
  const shift = ffs(pgsize);
  const oIova = iova;
  const size = pgcount * pgsize;
  const count = pteCount(shift);
  updated = false;
  let ret = 0;
  let hiBits = FC_HI;
  if (prot & IOMMU_READ) hiBits |= IR_HI;
  if (prot & IOMMU_WRITE) hiBits |= IW_HI;
  let t: Int32Array | null = null;
  let j = 0;
  for (; pgcount > 0; pgcount--) {
    if (t !== null && j + 2 * count < 1024) {
      // alloc_pte() for the next page of the same table would walk down the same entries (this loop changes
      // nothing above the pages) to the next slots.
      j += 2 * count;
    } else {
      if (!allocPte(e, iova | 0, wHi(iova), shift)) {
        ret = -ENOMEM;
        break;
      }
      t = rT;
      j = rJ;
    }
    for (let i = 0; i < count; i++) freeClearPte(e, t, j + 2 * i);
    let lo: number;
    let hi: number;
    if (count > 1) {
      // PAGE_SIZE_PTE(): the address with ones below the size's top bit, next level 7.
      const enc = (paddr + (pgsize / 2 - 1)) & ADDR_LO;
      lo = enc | (7 << 9) | PR;
      hi = ((paddr - (paddr >>> 0)) / TWO32) | hiBits;
      if (pgsize >= 0x200000000) hi |= (pgsize / 2 - 1) / TWO32;
    } else {
      lo = (paddr & ADDR_LO) | PR;
      hi = ((paddr - (paddr >>> 0)) / TWO32) | hiBits;
    }
    for (let i = 0; i < count; i++) {
      t[j + 2 * i] = lo;
      t[j + 2 * i + 1] = hi;
    }
    iova += pgsize;
    paddr += pgsize;
    out.mapped += pgsize;
  }
  // amd_iommu_domain_flush_pages(dom, o_iova, size) when something was replaced.
  const tlb = e.tlb;
  if (updated && tlb !== null && tlb.tlb_flush_walk) tlb.tlb_flush_walk(oIova, size, 4096);
  return ret;
}

/** fetch_pte()'s result besides rT/rJ: log2 of the page size (-1: past the root's reach, the kernel's 0). */
let fShift = -1;

/** fetch_pte(): the entry mapping the IOVA (lo, hi) (the first of its series), or false. */
function fetchPte(e: IoPgtable, lo: number, hi: number): boolean {
  fShift = -1;
  const mode = modeOf(e);
  if ((lo >>> 0) + hi * TWO32 > PM_LEVEL_SIZE[mode]) return false;
  return fetchFrom(e, e.pgd, mode - 1, lo, hi);
}

/** The level of the table fetch_pte() found its entry in. */
let rLevel = 0;

/** fetch_pte() from table t at `level` down, the root or a table it stepped down to. */
function fetchFrom(e: IoPgtable, t: Int32Array, level: number, lo: number, hi: number): boolean {
  const f = e.f;
  let j = index(f, level, lo, hi);
  fShift = levelShift(level);
  while (level > 0) {
    const plo = t[j];
    if (!present(plo)) return false;
    const pl = nextLevel(plo);
    if (pl === 7 || pl === 0) break;
    if (pl !== level) return false;
    level--;
    const next = childOf(e, t, j);
    if (next === undefined) return false;
    t = next;
    j = index(f, level, lo, hi);
    fShift = levelShift(level);
  }
  if (nextLevel(t[j]) === 7) {
    fShift = ptePageShift(t[j], t[j + 1]);
    j -= j % (2 * pteCount(fShift));
  }
  rT = t;
  rJ = j;
  rLevel = level;
  return true;
}

/** amd_iommu_unmap_pages() → iommu_v1_unmap_pages(): the bytes unmapped into arg[2]. */
function unmap(e: IoPgtable, pgcount: number): void {
  const a = e.arg;
  let iova = a[0];
  const pgsize = a[1];
  a[2] = 0;
  if (!Number.isInteger(iova) || !Number.isInteger(pgcount) || pgcount < 0 || iova < 0) return;
  // BUG_ON(!is_power_of_2(pgsize)); __iommu_unmap() passes IOVAs aligned to the smallest page.
  if (!isPow2(pgsize) || (iova & 4095) !== 0) return;
  const start = iova;
  const size = pgcount * pgsize;
  let unmapped = 0;
  let t: Int32Array | null = null;
  let level = 0;
  let tableEnd = 0;
  while (unmapped < size) {
    // Inside the table the last page was in, and within the root's reach, fetch_pte() would step down the same
    // entries (an unmap clears nothing above the pages) back to this table.
    const found =
      t !== null && iova < tableEnd && iova <= PM_LEVEL_SIZE[modeOf(e)]
        ? fetchFrom(e, t, level, iova | 0, wHi(iova))
        : fetchPte(e, iova | 0, wHi(iova));
    if (!found) break;
    if (rT !== t) {
      t = rT;
      level = rLevel;
      const span = pow2(levelShift(level) + 9);
      tableEnd = alignDown(iova, span) + span;
    }
    const unmapSize = pow2(fShift);
    const cnt = pteCount(fShift);
    for (let i = 0; i < 2 * cnt; i++) rT[rJ + i] = 0;
    iova = alignDown(iova, unmapSize) + unmapSize;
    unmapped += unmapSize;
  }
  // amd_iommu_iotlb_gather_add_page() for what was unmapped.
  const tlb = e.tlb;
  if (unmapped && tlb !== null && tlb.tlb_add_page) tlb.tlb_add_page(start, unmapped);
  a[2] = unmapped;
}

/** iommu_v1_iova_to_phys(). */
function iovaToPhys(e: IoPgtable): void {
  const a = e.arg;
  const iova = a[0];
  a[1] = 0;
  if (!Number.isInteger(iova) || iova < 0 || iova >= 2 ** 53) return;
  if (!fetchPte(e, iova | 0, wHi(iova)) || !present(rT[rJ])) return;
  const size = pow2(fShift);
  const pa = fromAddr(rT[rJ], rT[rJ + 1]);
  a[1] = alignDown(pa, size) + (iova - alignDown(iova, size));
}

/** iommu_v1_read_and_clear_dirty(): pages with HD set in any of their entries (pte_test_and_clear_dirty()). */
function readAndClearDirty(
  e: IoPgtable,
  iova: number,
  size: number,
  flags: number,
  record: DirtyRecord,
): number {
  const end = iova + size - 1;
  do {
    const found = fetchPte(e, iova | 0, wHi(iova));
    if (!found || !present(rT[rJ])) {
      // Past the root's reach the kernel steps 4K at a time to the end and finds nothing: stop there.
      if (fShift < 0) break;
      iova += pow2(fShift);
      continue;
    }
    const pgsize = pow2(fShift);
    const cnt = pteCount(fShift);
    let dirty = false;
    for (let i = 0; i < cnt; i++) {
      const j = rJ + 2 * i;
      if (rT[j] & HD_LO) {
        dirty = true;
        if (flags & IOMMU_DIRTY_NO_CLEAR) break;
        rT[j] &= ~HD_LO;
      }
    }
    if (dirty) record(iova, pgsize);
    iova += pgsize;
  } while (iova < end);
  return 0;
}

export const amdV1Rules: PgtableRules = { map, unmap, iovaToPhys, readAndClearDirty };
