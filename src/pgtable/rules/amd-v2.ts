// SPDX-License-Identifier: GPL-2.0-only
/**
 * drivers/iommu/amd/io_pgtable_v2.c's rules (Linux 6.12), AMD_IOMMU_V2 (x86-64
 * 4- or 5-level paging), over the shared engine: iommu_v2_map_pages() with
 * v2_alloc_pte() and free_pgtable(), iommu_v2_unmap_pages() with fetch_pte(),
 * iommu_v2_iova_to_phys(), and the amd/iommu.c wrappers. Levels are the
 * driver's PM levels (0 holds 4K entries; the root is at gpt_level - 1).
 *
 * Where the semantics differ from io-pgtable-arm's (engine.ts):
 * - A map replaces: a large page above the new leaf is cleared (the rest of
 *   it is gone; no table takes its other pieces), and whatever is at the new
 *   leaf's slot is torn down. That tear-down frees the slot's old contents
 *   as a table for a 2M or 1G map, whatever it was: over an existing 2M or
 *   1G page the kernel frees the page that mapping pointed at. The model
 *   records a WARN there and frees only real tables.
 * - Unmap never splits: the leaf covering the IOVA goes and counts at its
 *   size; a 4K hole in an existing table counts as unmapped (fetch_pte()
 *   returns the empty entry); a hole higher up ends the unmap. Tables are
 *   never freed by an unmap.
 * - The IOVA is not checked against the table's reach: bits above it are
 *   ignored (cfg->ias says 52 for 4-level tables, which reach 48).
 * - One call does all of pgcount; *mapped counts even when it fails part way.
 */
import { EINVAL, ENOMEM } from '../../kernel/errno.js';
import type { CompiledFormat } from '../compiled.js';
import type { IoPgtable, MappedOut } from '../engine.js';
import { IOMMU_PROT_BITS, IOMMU_READ, IOMMU_WRITE } from '../prot.js';
import type { PgtableRules } from './rules.js';
import { alignDown, tableOf, wHi } from './rules.js';

const TWO32 = 4294967296;
const SZ_4K = 0x1000;
const SZ_2M = 0x200000;
const SZ_1G = 0x40000000;
const PSE = 1 << 7;
const PROT_MASK = (1 << IOMMU_PROT_BITS) - 1;
/** Below this, adding a page size to an IOVA is exact: the next page is the next entry. */
const MAX_EXACT = 2 ** 53;

/*
 * Depth d is the engine's index into the layout's levels: PM level
 * nLevels - 1 - d. An IOVA travels as its two 32-bit words (the low one as
 * int32), so that no call boxes it.
 */

/** PM_LEVEL_INDEX() at depth d of the IOVA (lo, hi). */
const index = (f: CompiledFormat, d: number, lo: number, hi: number): number => {
  const s = f.shift[d];
  return ((s >= 32 ? hi >>> (s - 32) : (lo >>> s) | (hi << (32 - s))) & f.idxMask[d]) << 1;
};
const present = (lo: number): boolean => (lo & 1) !== 0;
const large = (lo: number): boolean => (lo & PSE) !== 0;

/** What v2_alloc_pte() and fetch_pte() found: the table and word index of the entry, and its depth. */
let rT: Int32Array = new Int32Array(2);
let rJ = 0;
let rD = 0;
/** The TLB needs flushing after the map. */
let updated = false;

/** The depth leaves of pgsize sit at (page_size_to_level()), or -1 when pgsize_bitmap has no such size. */
function leafDepth(f: CompiledFormat, pgsize: number): number {
  for (let d = f.last; d >= 0; d--) if (f.blockSize[d] === pgsize) return f.leafOk[d] === 1 ? d : -1;
  return -1;
}

/** v2_alloc_pte(): the leaf's slot at depth dLeaf for the IOVA (lo, hi), tables allocated and large pages cleared on the way. */
function v2AllocPte(e: IoPgtable, lo: number, hi: number, dLeaf: number): boolean {
  const f = e.f;
  let d = 0;
  let t = e.pgd;
  let j = index(f, 0, lo, hi);
  while (d < dLeaf) {
    const plo = t[j];
    if (present(plo) && large(plo)) {
      // "Unmap large pte": the whole large page goes.
      t[j] = 0;
      t[j + 1] = 0;
      updated = true;
      continue;
    }
    if (!present(plo)) {
      const phys = e.allocTable(d + 1);
      if (phys < 0) return false;
      // set_pgtable_attr()
      t[j] = f.tblLo | f.oaToLo(phys >>> 0, wHi(phys));
      t[j + 1] = f.tblHi | f.oaToHi(phys >>> 0, wHi(phys));
      continue;
    }
    d++;
    const next = tableOf(e, t[j], t[j + 1]);
    if (next === undefined) return false;
    t = next;
    j = index(f, d, lo, hi);
  }
  tearDown(e, t, j, dLeaf);
  rT = t;
  rJ = j;
  return true;
}

/** v2_alloc_pte()'s "Tear down existing pte entries" of the slot t[j] at depth dLeaf. */
function tearDown(e: IoPgtable, t: Int32Array, j: number, dLeaf: number): void {
  const f = e.f;
  if (present(t[j])) {
    updated = true;
    const plo = t[j];
    const phi = t[j + 1];
    t[j] = 0;
    t[j + 1] = 0;
    if (dLeaf < f.last) {
      if (large(plo)) {
        e.warn(
          'v2_alloc_pte',
          'frees the page a large mapping pointed at as if it were a table (the model frees nothing)',
        );
      } else {
        const phys = f.oaOf(plo, phi);
        // free_pgtable(__pte, end_level - 1) for 1G, iommu_free_page() for 2M.
        if (dLeaf === f.last - 2) freePgtable(e, phys, 2, dLeaf + 1);
        else e.freeTable(dLeaf + 1, phys);
      }
    }
  }
}

/** free_pgtable(): a table of PM level `level` (its entries' level) and the tables under it. */
function freePgtable(e: IoPgtable, phys: number, level: number, depth: number): void {
  const t = e.memory.view(phys);
  if (t !== undefined) {
    for (let j = 0; j < 1024; j += 2) {
      const lo = t[j];
      if (!present(lo) || large(lo)) continue;
      const child = e.f.oaOf(lo, t[j + 1]);
      if (level > 2) freePgtable(e, child, level - 1, depth + 1);
      else e.freeTable(depth + 1, child);
    }
  }
  e.freeTable(depth, phys);
}

/** amd_iommu_map_pages() → iommu_v2_map_pages(). */
function map(e: IoPgtable, pgcount: number, prot: number, out: MappedOut): number {
  const a = e.arg;
  let iova = a[0];
  let paddr = a[1];
  const pgsize = a[2];
  const f = e.f;
  if (!Number.isInteger(iova) || !Number.isInteger(paddr) || !Number.isInteger(pgcount) || pgcount < 0)
    return -EINVAL;
  const dLeaf = leafDepth(f, pgsize);
  if (dLeaf < 0) {
    e.warn('iommu_v2_map_pages', 'WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize)');
    return -EINVAL;
  }
  if (pgcount === 0) return -EINVAL;
  if ((prot & (IOMMU_READ | IOMMU_WRITE)) === 0) return -EINVAL;
  // __iommu_map() only passes aligned addresses (pgsize is at most 1G here).
  const mask = pgsize - 1;
  if ((iova & mask) !== 0 || (paddr & mask) !== 0 || iova < 0 || paddr < 0) return -EINVAL;
  const oIova = iova;
  const size = pgcount * pgsize;
  const p = prot & PROT_MASK;
  // set_pte_attr()
  const attrLo = f.protLo[p] | f.leafLo[dLeaf];
  const attrHi = f.protHi[p] | f.leafHi[dLeaf];
  updated = false;
  let ret = 0;
  let mappedSize = 0;
  let t: Int32Array | null = null;
  let j = 0;
  while (mappedSize < size) {
    if (t !== null && j + 2 < 1024 && iova < MAX_EXACT) {
      // v2_alloc_pte() for the next page of the same table would walk down the same entries (this loop changes
      // nothing above the leaves) to the next slot: only its tear-down of the slot is left to do.
      j += 2;
      tearDown(e, t, j, dLeaf);
    } else {
      if (!v2AllocPte(e, iova | 0, wHi(iova), dLeaf)) {
        ret = -ENOMEM;
        break;
      }
      t = rT;
      j = rJ;
    }
    const lo = paddr >>> 0;
    t[j] = attrLo | (lo & f.oaLo);
    t[j + 1] = attrHi | (((paddr - lo) / TWO32) & f.oaHi);
    iova += pgsize;
    paddr += pgsize;
    mappedSize += pgsize;
  }
  const tlb = e.tlb;
  if (updated && tlb !== null && tlb.tlb_flush_walk) tlb.tlb_flush_walk(oIova, size, SZ_4K);
  out.mapped += mappedSize;
  return ret;
}

/**
 * fetch_pte(): the entry for the IOVA (lo, hi), stepping to each next level
 * before looking at PS (rT, rJ); its page size is blockSize[rD].
 */
const fetchPte = (e: IoPgtable, lo: number, hi: number): boolean => fetchFrom(e, e.pgd, 0, lo, hi);

/** fetch_pte() from table t at depth d, the root or a table it stepped down to. */
function fetchFrom(e: IoPgtable, t: Int32Array, d: number, lo: number, hi: number): boolean {
  const f = e.f;
  let j = index(f, d, lo, hi);
  for (;;) {
    if (d > 0 && large(t[j])) {
      // PS means 1G at PM level 2, 2M at level 1; anywhere else fetch_pte() gives up.
      if (f.blockSize[d] !== SZ_1G && f.blockSize[d] !== SZ_2M) return false;
      break;
    }
    if (d === f.last) break;
    if (!present(t[j])) return false;
    const next = tableOf(e, t[j], t[j + 1]);
    if (next === undefined) return false;
    t = next;
    d++;
    j = index(f, d, lo, hi);
  }
  rT = t;
  rJ = j;
  rD = d;
  return true;
}

/** amd_iommu_unmap_pages() → iommu_v2_unmap_pages(): the bytes unmapped into arg[2]. */
function unmap(e: IoPgtable, pgcount: number): void {
  const a = e.arg;
  let iova = a[0];
  const pgsize = a[1];
  a[2] = 0;
  if (!Number.isInteger(iova) || !Number.isInteger(pgcount) || pgcount < 0 || iova < 0) return;
  if (leafDepth(e.f, pgsize) < 0 || pgcount === 0) {
    e.warn('iommu_v2_unmap_pages', 'WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize || !pgcount)');
    return;
  }
  if ((iova & (SZ_4K - 1)) !== 0) return;
  const start = iova;
  const size = pgcount * pgsize;
  let unmapped = 0;
  let t: Int32Array | null = null;
  let j = 0;
  let d = 0;
  while (unmapped < size) {
    // The next page of the table the last one was in: fetch_pte() would step down the same entries (an unmap
    // clears nothing above the pages) back to this table.
    const found =
      t !== null && j + 2 < 1024 && iova < MAX_EXACT
        ? fetchFrom(e, t, d, iova | 0, wHi(iova))
        : fetchPte(e, iova | 0, wHi(iova));
    if (!found) break;
    t = rT;
    j = rJ;
    d = rD;
    t[j] = 0;
    t[j + 1] = 0;
    const pg = e.f.blockSize[d];
    iova = alignDown(iova, pg) + pg;
    unmapped += pg;
  }
  const tlb = e.tlb;
  if (unmapped && tlb !== null && tlb.tlb_add_page) tlb.tlb_add_page(start, unmapped);
  a[2] = unmapped;
}

/** iommu_v2_iova_to_phys(): the page's address, with the IOVA's offset in the page. */
function iovaToPhys(e: IoPgtable): void {
  const a = e.arg;
  const iova = a[0];
  a[1] = 0;
  if (!Number.isInteger(iova) || iova < 0 || iova >= 2 ** 53) return;
  const lo = iova | 0;
  const hi = wHi(iova);
  if (!fetchPte(e, lo, hi) || !present(rT[rJ])) return;
  const f = e.f;
  const mLo = f.offLo[rD];
  const mHi = f.offHi[rD];
  const pLo = rT[rJ] & f.oaLo;
  const pHi = rT[rJ + 1] & f.oaHi;
  a[1] = (((pLo & ~mLo) | (lo & mLo)) >>> 0) + (((pHi & ~mHi) | (hi & mHi)) >>> 0) * TWO32;
}

export const amdV2Rules: PgtableRules = { map, unmap, iovaToPhys };
