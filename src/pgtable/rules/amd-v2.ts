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
import type { IoPgtable, MappedOut } from '../engine.js';
import { IOMMU_PROT_BITS, IOMMU_READ, IOMMU_WRITE } from '../prot.js';
import type { PgtableRules } from './rules.js';

const SZ_4K = 0x1000;
const SZ_2M = 0x200000;
const SZ_1G = 0x40000000;
const PSE = 1 << 7;
const PROT_MASK = (1 << IOMMU_PROT_BITS) - 1;

const levelBytes = (level: number): number => 2 ** (12 + 9 * level);
const index = (level: number, iova: number): number => Math.floor(iova / levelBytes(level)) % 512;
const present = (lo: number): boolean => (lo & 1) !== 0;
const large = (lo: number): boolean => (lo & PSE) !== 0;

let rT: Int32Array = new Int32Array(2);
let rJ = 0;
let updated = false;

/** page_size_to_level(). */
const pageSizeToLevel = (pgsize: number): number => (pgsize === SZ_1G ? 3 : pgsize === SZ_2M ? 2 : 1);

/** v2_alloc_pte(): the leaf's slot for iova, tables allocated and large pages cleared on the way. */
function v2AllocPte(e: IoPgtable, iova: number, pgsize: number): boolean {
  const f = e.f;
  const total = f.nLevels;
  let level = total - 1;
  const endLevel = pageSizeToLevel(pgsize);
  let t = e.pgd;
  let j = index(level, iova) << 1;
  while (level >= endLevel) {
    const lo = t[j];
    if (present(lo) && large(lo)) {
      // "Unmap large pte": the whole large page goes.
      t[j] = 0;
      t[j + 1] = 0;
      updated = true;
      continue;
    }
    if (!present(lo)) {
      const phys = e.allocTable(total - level);
      if (phys < 0) return false;
      // set_pgtable_attr()
      t[j] = f.tblLo | f.oaToLo(phys >>> 0, (phys - (phys >>> 0)) / 4294967296);
      t[j + 1] = f.tblHi | f.oaToHi(phys >>> 0, (phys - (phys >>> 0)) / 4294967296);
      continue;
    }
    level--;
    const next = e.tableAt(t[j], t[j + 1]);
    if (next === undefined) return false;
    t = next;
    j = index(level, iova) << 1;
  }
  // "Tear down existing pte entries"
  if (present(t[j])) {
    updated = true;
    const lo = t[j];
    const hi = t[j + 1];
    t[j] = 0;
    t[j + 1] = 0;
    if (pgsize === SZ_1G || pgsize === SZ_2M) {
      if (large(lo)) {
        e.warn(
          'v2_alloc_pte',
          'frees the page a large mapping pointed at as if it were a table (the model frees nothing)',
        );
      } else {
        const phys = f.oaOf(lo, hi);
        // free_pgtable(__pte, end_level - 1) for 1G, iommu_free_page() for 2M.
        if (pgsize === SZ_1G) freePgtable(e, phys, 2, total - (endLevel - 1));
        else e.freeTable(total - (endLevel - 1), phys);
      }
    }
  }
  rT = t;
  rJ = j;
  return true;
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
  if (!f.layout.pgsizes.includes(pgsize)) {
    e.warn('iommu_v2_map_pages', 'WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize)');
    return -EINVAL;
  }
  if (pgcount === 0) return -EINVAL;
  if ((prot & (IOMMU_READ | IOMMU_WRITE)) === 0) return -EINVAL;
  // __iommu_map() only passes aligned addresses.
  if (iova % pgsize !== 0 || paddr % pgsize !== 0 || iova < 0 || paddr < 0) return -EINVAL;
  const oIova = iova;
  const size = pgcount * pgsize;
  const p = prot & PROT_MASK;
  const d = f.last - (pgsize === SZ_1G ? 2 : pgsize === SZ_2M ? 1 : 0);
  // set_pte_attr()
  const attrLo = f.protLo[p] | f.leafLo[d];
  const attrHi = f.protHi[p] | f.leafHi[d];
  updated = false;
  let ret = 0;
  let mappedSize = 0;
  while (mappedSize < size) {
    if (!v2AllocPte(e, iova, pgsize)) {
      ret = -ENOMEM;
      break;
    }
    const lo = paddr >>> 0;
    rT[rJ] = attrLo | (lo & f.oaLo);
    rT[rJ + 1] = attrHi | (((paddr - lo) / 4294967296) & f.oaHi);
    iova += pgsize;
    paddr += pgsize;
    mappedSize += pgsize;
  }
  const tlb = e.tlb;
  if (updated && tlb !== null && tlb.tlb_flush_walk) tlb.tlb_flush_walk(oIova, size, SZ_4K);
  out.mapped += mappedSize;
  return ret;
}

let fSize = SZ_4K;

/** fetch_pte(): the entry for iova, stepping to each next level before looking at PS; fSize its page size. */
function fetchPte(e: IoPgtable, iova: number): boolean {
  let level = e.f.nLevels - 1;
  let t = e.pgd;
  let j = index(level, iova) << 1;
  fSize = SZ_4K;
  while (level) {
    if (!present(t[j])) return false;
    const next = e.tableAt(t[j], t[j + 1]);
    if (next === undefined) return false;
    t = next;
    j = index(level - 1, iova) << 1;
    if (large(t[j])) {
      if (level === 3) fSize = SZ_1G;
      else if (level === 2) fSize = SZ_2M;
      else return false;
      break;
    }
    level--;
  }
  rT = t;
  rJ = j;
  return true;
}

/** amd_iommu_unmap_pages() → iommu_v2_unmap_pages(): the bytes unmapped into arg[2]. */
function unmap(e: IoPgtable, pgcount: number): void {
  const a = e.arg;
  let iova = a[0];
  const pgsize = a[1];
  a[2] = 0;
  if (!Number.isInteger(iova) || !Number.isInteger(pgcount) || pgcount < 0 || iova < 0) return;
  if (!e.f.layout.pgsizes.includes(pgsize) || pgcount === 0) {
    e.warn('iommu_v2_unmap_pages', 'WARN_ON(!pgsize || (pgsize & cfg->pgsize_bitmap) != pgsize || !pgcount)');
    return;
  }
  if (iova % SZ_4K !== 0) return;
  const start = iova;
  const size = pgcount * pgsize;
  let unmapped = 0;
  while (unmapped < size) {
    if (!fetchPte(e, iova)) break;
    rT[rJ] = 0;
    rT[rJ + 1] = 0;
    iova = iova - (iova % fSize) + fSize;
    unmapped += fSize;
  }
  const tlb = e.tlb;
  if (unmapped && tlb !== null && tlb.tlb_add_page) tlb.tlb_add_page(start, unmapped);
  a[2] = unmapped;
}

/** iommu_v2_iova_to_phys(). */
function iovaToPhys(e: IoPgtable): void {
  const a = e.arg;
  const iova = a[0];
  a[1] = 0;
  if (!Number.isInteger(iova) || iova < 0 || iova >= 2 ** 53) return;
  if (!fetchPte(e, iova) || !present(rT[rJ])) return;
  const pa = e.f.oaOf(rT[rJ], rT[rJ + 1]);
  a[1] = pa - (pa % fSize) + (iova % fSize);
}

export const amdV2Rules: PgtableRules = { map, unmap, iovaToPhys };
