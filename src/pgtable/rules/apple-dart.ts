// SPDX-License-Identifier: GPL-2.0-only
/**
 * drivers/iommu/io-pgtable-dart.c's map/unmap rules (Linux 6.12) over the
 * shared engine: dart_map_pages(), dart_init_pte(), dart_install_table(),
 * dart_unmap_pages(), dart_get_l2(), dart_iova_to_phys(). The descriptor
 * data is formats/apple-dart.ts; depth 0 is the L1 tables (all TTBRs'),
 * depth 1 the L2 tables of pages.
 *
 * Where these rules differ from io-pgtable-arm's (engine.ts):
 * - one page size only, and no blocks: a size other than pgsize_bitmap is a
 *   WARN and -EINVAL (map) or 0 (unmap); nothing is ever split;
 * - map refuses the whole call (-EEXIST, with the WARN, nothing written)
 *   when any entry it would write has the valid bit; only the valid bit is
 *   looked at;
 * - unmap of an IOVA whose L1 entry is empty is a WARN and 0; inside an L2
 *   table it stops at the first empty entry with a WARN, returning what it
 *   cleared so far;
 * - L2 tables are never freed until the whole table is (apple_dart_free_pgtable());
 * - no IOVA range check: bits above the TTBR index are ignored (an IOVA
 *   past ias aliases a lower one), as the kernel's index macros do.
 * Like the engine, unaligned addresses (which __iommu_map()/__iommu_unmap()
 * never pass; the kernel does not check) are refused without a WARN.
 */
import { EEXIST, EINVAL, ENOMEM, ERANGE } from '../../kernel/errno.js';
import type { IoPgtable, MappedOut } from '../engine.js';
import { IOMMU_PROT_BITS, IOMMU_READ, IOMMU_WRITE } from '../prot.js';
import type { PgtableRules } from './rules.js';
import { wHi, wLo } from './rules.js';

const PROT_MASK = (1 << IOMMU_PROT_BITS) - 1;
/** APPLE_DART_PTE_VALID, in the low word. */
const VALID = 1;

/** The L2 table an L1 entry points at (iopte_deref()), or undefined for an empty or corrupt one. */
function l2Of(e: IoPgtable, t: Int32Array, j: number): Int32Array | undefined {
  const lo = t[j];
  const hi = t[j + 1];
  if (lo === 0 && hi === 0) return undefined;
  return e.tableAt(lo, hi);
}

/** dart_map_pages() of arg[0] (iova), arg[1] (paddr), arg[2] (pgsize). */
function map(e: IoPgtable, pgcount: number, prot: number, out: MappedOut): number {
  const a = e.arg;
  const iova = a[0];
  const paddr = a[1];
  const pgsize = a[2];
  const f = e.f;
  if (!Number.isInteger(iova) || !Number.isInteger(paddr) || !Number.isInteger(pgcount) || pgcount < 0)
    return -EINVAL;
  if (iova < 0) return -EINVAL;
  if (pgsize !== f.layout.granule) {
    e.warn('dart_map_pages', 'WARN_ON(pgsize != cfg->pgsize_bitmap)');
    return -EINVAL;
  }
  if (!(paddr >= 0 && paddr < f.oasLimit)) {
    e.warn('dart_map_pages', 'WARN_ON(paddr >> cfg->oas)');
    return -ERANGE;
  }
  if ((prot & (IOMMU_READ | IOMMU_WRITE)) === 0) return -EINVAL;
  if (iova % pgsize !== 0 || paddr % pgsize !== 0) return -EINVAL;

  const iLo = wLo(iova);
  const iHi = wHi(iova);
  const pgd = e.pgd;
  const j1 = f.index(0, iLo, iHi) << 1;
  if (pgd[j1] === 0 && pgd[j1 + 1] === 0) {
    // No L2 table: allocate one and install it (cmpxchg from 0; a racing
    // installer's table would win, and ours would go back).
    const phys = e.allocTable(1);
    if (phys < 0) return -ENOMEM;
    pgd[j1] = f.tblLo | f.oaToLo(wLo(phys), wHi(phys));
    pgd[j1 + 1] = f.tblHi | f.oaToHi(wLo(phys), wHi(phys));
  }
  const t = l2Of(e, pgd, j1);
  if (t === undefined) {
    e.warn('dart_map_pages', 'the L1 entry is not a table descriptor');
    return -EINVAL;
  }
  const per = f.entriesPerPage[1];
  const idx = f.index(1, iLo, iHi);
  const max = per - idx;
  const n = pgcount < max ? pgcount : max;
  // dart_init_pte(): any valid entry in the way refuses the whole run.
  for (let i = 0, j = idx << 1; i < n; i++, j += 2)
    if (t[j] & VALID) {
      e.warn('dart_init_pte', 'WARN_ON(ptep[i] & APPLE_DART_PTE_VALID): -EEXIST, unmap first');
      return -EEXIST;
    }
  const p = (1 << IOMMU_PROT_BITS) | (prot & PROT_MASK);
  const pLo = f.protLo[p] | f.leafLo[1];
  const pHi = f.protHi[p] | f.leafHi[1];
  for (let i = 0, j = idx << 1; i < n; i++, j += 2) {
    const pa = paddr + i * pgsize;
    const aLo = wLo(pa);
    const aHi = wHi(pa);
    t[j] = pLo | f.oaToLo(aLo, aHi);
    t[j + 1] = pHi | f.oaToHi(aLo, aHi);
  }
  out.mapped += n * pgsize;
  return 0;
}

/** dart_unmap_pages() of arg[0] (iova), arg[1] (pgsize): the bytes unmapped into arg[2]. */
function unmap(e: IoPgtable, pgcount: number): void {
  const a = e.arg;
  const iova = a[0];
  const pgsize = a[1];
  a[2] = 0;
  const f = e.f;
  if (!Number.isInteger(iova) || !Number.isInteger(pgcount) || pgcount < 0 || iova < 0) return;
  if (pgsize !== f.layout.granule || pgcount === 0) {
    e.warn('dart_unmap_pages', 'WARN_ON(pgsize != cfg->pgsize_bitmap || !pgcount)');
    return;
  }
  if (iova % pgsize !== 0) return;
  const iLo = wLo(iova);
  const iHi = wHi(iova);
  const t = l2Of(e, e.pgd, f.index(0, iLo, iHi) << 1);
  if (t === undefined) {
    e.warn('dart_unmap_pages', 'WARN_ON(!ptep): no L2 table for this IOVA');
    return;
  }
  const per = f.entriesPerPage[1];
  const idx = f.index(1, iLo, iHi);
  const max = per - idx;
  const n = pgcount < max ? pgcount : max;
  const tlb = e.tlb;
  let i = 0;
  for (let j = idx << 1; i < n; i++, j += 2) {
    if (t[j] === 0 && t[j + 1] === 0) {
      e.warn('dart_unmap_pages', 'WARN_ON(!pte)');
      break;
    }
    t[j] = 0;
    t[j + 1] = 0;
    if (tlb !== null && tlb.tlb_add_page) tlb.tlb_add_page(iova + i * pgsize, pgsize);
  }
  a[2] = i * pgsize;
}

/** dart_iova_to_phys() of arg[0] into arg[1]. */
function iovaToPhys(e: IoPgtable): void {
  const a = e.arg;
  let iova = a[0];
  a[1] = 0;
  if (!Number.isInteger(iova)) return;
  // An unsigned long the number does not hold as is: only bits below the TTBR index's top matter.
  if (iova < 0 || iova >= 2 ** 53) iova = Number(BigInt.asUintN(48, BigInt(iova)));
  const f = e.f;
  const iLo = wLo(iova);
  const iHi = wHi(iova);
  const t = l2Of(e, e.pgd, f.index(0, iLo, iHi) << 1);
  if (t === undefined) return;
  const j = f.index(1, iLo, iHi) << 1;
  const lo = t[j];
  const hi = t[j + 1];
  if (lo === 0 && hi === 0) return;
  a[1] = f.oaOf(lo, hi) + (iova % f.layout.granule);
}

export const appleDartRules: PgtableRules = { map, unmap, iovaToPhys };
