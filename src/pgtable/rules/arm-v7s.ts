// SPDX-License-Identifier: GPL-2.0-only
/**
 * drivers/iommu/io-pgtable-arm-v7s.c's map/unmap rules (Linux 6.12) over the
 * shared engine: arm_v7s_map_pages(), __arm_v7s_map(), arm_v7s_init_pte(),
 * arm_v7s_install_table(), arm_v7s_unmap_pages(), __arm_v7s_unmap(),
 * arm_v7s_split_cont(), arm_v7s_split_blk_unmap(), arm_v7s_iova_to_phys().
 * The descriptor data is formats/arm-v7s.ts. Depth 0 is the kernel's level 1.
 *
 * Where these rules differ from io-pgtable-arm's (engine.ts):
 * - map_pages and unmap_pages go page by page from the pgd for all of pgcount,
 *   never stopping at a table boundary; map_pages with pgcount 0 is -EINVAL.
 * - A 64K or 16M leaf is 16 identical "contiguous" entries (a large page or
 *   a supersection), written and cleared as a group.
 * - Unmapping part of a contiguous group first rewrites it as 16 ordinary
 *   entries (arm_v7s_split_cont()); unmapping part of a section installs a
 *   level-2 table of the unmap's size (arm_v7s_split_blk_unmap()). As 6.12
 *   writes it, that table's entries carry the section's attributes but not
 *   its address: piece i maps physical i * size, not section + i * size.
 *   And after a supersection was split for a sub-section unmap, the section
 *   replacement compares against the group's first entry, so it only
 *   succeeds in the supersection's first MiB: elsewhere the unmap returns 0
 *   and leaves 16 sections behind. Both are kept, as the kernel has them.
 * Like the engine, sizes outside pgsize_bitmap and unaligned addresses
 * (which __iommu_map()/__iommu_unmap() never pass; the kernel does not check)
 * are refused, without a WARN.
 */
import { EEXIST, EINVAL, ENOMEM, ERANGE } from '../../kernel/errno.js';
import type { IoPgtable, MappedOut } from '../engine.js';
import {
  ARM_V7S_CONT_PAGES,
  contToPte,
  isCont,
  isTable,
  lvlMask,
  mtkHigh,
  oaMask,
  pteToCont,
  pteToProt,
  toMtk,
  v7sProtToPte,
} from '../formats/arm-v7s.js';
import { IO_PGTABLE_QUIRK_ARM_MTK_EXT } from '../formats/arm-v7s.js';
import { IOMMU_PROT_BITS, IOMMU_READ, IOMMU_WRITE } from '../prot.js';
import type { PgtableRules } from './rules.js';

const TWO32 = 4294967296;

const PROT_MASK = (1 << IOMMU_PROT_BITS) - 1;
const SZ_4K = 0x1000;
const SZ_1M = 0x100000;

const lvlIdx = (e: IoPgtable, iova: number, d: number): number => {
  const f = e.f;
  const s = f.shift[d];
  return ((iova >>> s) | (((iova - (iova >>> 0)) / 4294967296) << (32 - s))) & f.idxMask[d];
};

/** paddr_to_iopte(): the level's address bits, MediaTek's bits 32..34 with MTK_EXT. */
function paddrToIopte(e: IoPgtable, pa: number, lvl: number): number {
  const pte = (pa & lvlMask(lvl)) >>> 0;
  return e.f.layout.quirks & IO_PGTABLE_QUIRK_ARM_MTK_EXT ? toMtk(pa, pte) : pte;
}

const mtkOf = (e: IoPgtable): boolean => (e.f.layout.quirks & IO_PGTABLE_QUIRK_ARM_MTK_EXT) !== 0;

/** The level-2 table a level-1 table descriptor points at. */
const l2Of = (e: IoPgtable, pte: number): Int32Array | undefined => e.tableAt(pte, 0);

/** arm_v7s_map_pages(). */
function map(e: IoPgtable, pgcount: number, prot: number, out: MappedOut): number {
  const a = e.arg;
  let iova = a[0];
  let paddr = a[1];
  const pgsize = a[2];
  const f = e.f;
  if (!Number.isInteger(iova) || !Number.isInteger(paddr) || !Number.isInteger(pgcount) || pgcount < 0)
    return -EINVAL;
  if (pgsize !== SZ_4K && pgsize !== 0x10000 && pgsize !== SZ_1M && pgsize !== 0x1000000) return -EINVAL;
  if (!f.layout.pgsizes.includes(pgsize)) return -EINVAL;
  if (iova % pgsize !== 0 || paddr % pgsize !== 0) return -EINVAL;
  if (!(iova >= 0 && iova < f.iasLimit && paddr >= 0 && paddr < f.oasLimit)) {
    e.warn('arm_v7s_map_pages', 'WARN_ON(iova >= (1ULL << cfg.ias) || paddr >= (1ULL << cfg.oas))');
    return -ERANGE;
  }
  if ((prot & (IOMMU_READ | IOMMU_WRITE)) === 0) return -EINVAL;
  let ret = -EINVAL;
  for (let n = 0; n < pgcount; n++) {
    a[0] = iova;
    a[1] = paddr;
    ret = __map(e, pgsize, prot & PROT_MASK);
    if (ret) break;
    iova += pgsize;
    paddr += pgsize;
    out.mapped += pgsize;
  }
  return ret;
}

/** __arm_v7s_map() for arg[0] (iova) and arg[1] (paddr), from the pgd. */
function __map(e: IoPgtable, size: number, prot: number): number {
  const iova = e.arg[0];
  const idx = lvlIdx(e, iova, 0);
  const pgd = e.pgd;
  if (size >= SZ_1M) return initPte(e, pgd, idx, 0, size / SZ_1M, prot);
  let pte = pgd[idx];
  let t: Int32Array | undefined;
  if (pte === 0) {
    const phys = e.allocTable(1);
    if (phys < 0) return -ENOMEM;
    t = e.memory.view(phys);
    // arm_v7s_install_table() (cmpxchg from 0): theirs wins a race.
    if (!installTable(e, pgd, idx, phys, 0)) {
      e.freeTable(1, phys);
      pte = pgd[idx];
    }
  }
  if (pte !== 0) {
    if (!isTable(pte, 1)) {
      e.warn('__arm_v7s_map', 'WARN_ON(!selftest_running): -EEXIST, a section maps this IOVA (unmap first)');
      return -EEXIST;
    }
    t = l2Of(e, pte);
  }
  if (t === undefined) {
    e.warn('__arm_v7s_map', 'not a table descriptor');
    return -EINVAL;
  }
  return initPte(e, t, lvlIdx(e, iova, 1), 1, size / SZ_4K, prot);
}

/** arm_v7s_install_table(): cmpxchg a table descriptor for `child` over `cur`. */
function installTable(e: IoPgtable, t: Int32Array, idx: number, child: number, cur: number): boolean {
  if (t[idx] !== cur) return false;
  const f = e.f;
  t[idx] = f.tblLo | f.oaToLo(child >>> 0, (child - (child >>> 0)) / 4294967296);
  return true;
}

/** arm_v7s_init_pte(): n entries at depth d from idx, for arg[0] (iova) and arg[1] (paddr). */
function initPte(e: IoPgtable, t: Int32Array, idx: number, d: number, n: number, prot: number): number {
  const iova = e.arg[0];
  const paddr = e.arg[1];
  const lvl = d + 1;
  const sz = e.f.blockSize[d];
  for (let i = 0; i < n; i++) {
    const cur = t[idx + i];
    if (isTable(cur, lvl)) {
      // A table in the way of a section goes first, with what it maps.
      e.arg[0] = iova + i * sz;
      if (__unmap(e, sz, d, t, false) !== sz) {
        e.warn('arm_v7s_init_pte', 'WARN_ON(__arm_v7s_unmap(...) != sz)');
        return -EINVAL;
      }
    } else if (cur !== 0) {
      e.warn('arm_v7s_init_pte', 'WARN_ON(!selftest_running): -EEXIST, a leaf maps this IOVA (unmap first)');
      return -EEXIST;
    }
  }
  const f = e.f;
  let pte = f.protLo[(d << IOMMU_PROT_BITS) | prot] | f.leafLo[d];
  if (n > 1) pte = pteToCont(pte, lvl);
  pte = pte | paddrToIopte(e, paddr, lvl) | 0;
  // One entry repeated n times: a contiguous group has one output address.
  for (let i = 0; i < n; i++) t[idx + i] = pte;
  return 0;
}

/** arm_v7s_unmap_pages(): the bytes unmapped into arg[2]. */
function unmap(e: IoPgtable, pgcount: number): void {
  const a = e.arg;
  let iova = a[0];
  const pgsize = a[1];
  a[2] = 0;
  if (!Number.isInteger(iova) || !Number.isInteger(pgcount) || pgcount < 0) return;
  if (!e.f.layout.pgsizes.includes(pgsize) || iova % pgsize !== 0) return;
  if (!(iova >= 0 && iova < e.f.iasLimit)) {
    e.warn('arm_v7s_unmap_pages', 'WARN_ON(iova >= (1ULL << data->iop.cfg.ias))');
    return;
  }
  let unmapped = 0;
  for (let n = 0; n < pgcount; n++) {
    a[0] = iova;
    if (__unmap(e, pgsize, 0, e.pgd, true) === 0) break;
    unmapped += pgsize;
    iova += pgsize;
  }
  a[2] = unmapped;
}

/** __arm_v7s_unmap() of arg[0] (iova) and `size` from table t at depth d: the bytes unmapped. */
function __unmap(e: IoPgtable, size: number, d: number, t: Int32Array, gather: boolean): number {
  const f = e.f;
  for (;;) {
    const iova = e.arg[0];
    if (d > 1) {
      e.warn('__arm_v7s_unmap', 'WARN_ON(lvl > 2)');
      return 0;
    }
    const lvl = d + 1;
    const n = Math.floor(size / f.blockSize[d]);
    const idx = lvlIdx(e, iova, d);
    for (let i = 0; i < Math.max(n, 1); i++) {
      if ((t[idx + i] & 3) === 0) {
        e.warn('__arm_v7s_unmap', 'WARN_ON(!ARM_V7S_PTE_IS_VALID(pte[i]))');
        return 0;
      }
    }
    let first = t[idx];
    // Part of a contiguous group: rewrite the group as 16 ordinary entries first.
    if (n <= 1 && isCont(first, lvl)) first = splitCont(e, iova, idx, d, t);
    if (n > 0) {
      const blk = f.blockSize[d];
      const tlb = e.tlb;
      let va = iova;
      for (let i = 0; i < n; i++, va += blk) {
        const pte = i === 0 ? first : t[idx + i];
        t[idx + i] = 0;
        if (isTable(pte, lvl)) {
          if (tlb !== null && tlb.tlb_flush_walk) tlb.tlb_flush_walk(va, blk, f.blockSize[d + 1]);
          e.freeTable(d + 1, f.oaOf(pte, 0));
        } else if (gather && tlb !== null && tlb.tlb_add_page) {
          tlb.tlb_add_page(va, blk);
        }
      }
      return size;
    }
    if (lvl === 1 && !isTable(first, 1)) return splitBlkUnmap(e, size, first, t, idx, gather);
    const next = l2Of(e, first);
    if (next === undefined) {
      e.warn('__arm_v7s_unmap', 'not a table descriptor');
      return 0;
    }
    t = next;
    d++;
  }
}

/**
 * arm_v7s_split_cont(): the 16 entries of the group holding idx become
 * ordinary entries with consecutive addresses; returns the group's first
 * entry as rewritten (the kernel's return value, which callers then use).
 */
function splitCont(e: IoPgtable, iova: number, idx: number, d: number, t: Int32Array): number {
  const lvl = d + 1;
  const size = e.f.blockSize[d];
  const base = idx - (idx & (ARM_V7S_CONT_PAGES - 1));
  const pte = contToPte(t[idx] >>> 0, lvl);
  for (let i = 0; i < ARM_V7S_CONT_PAGES; i++) t[base + i] = (pte + i * size) | 0;
  const tlb = e.tlb;
  if (tlb !== null && tlb.tlb_flush_walk)
    tlb.tlb_flush_walk(iova, size * ARM_V7S_CONT_PAGES, size * ARM_V7S_CONT_PAGES);
  return pte | 0;
}

/**
 * arm_v7s_split_blk_unmap(): a level-2 table replaces the section at
 * parent[pj], holding pieces of the unmap's size with the section's
 * attributes (arm_v7s_pte_to_prot() then _prot_to_pte() at level 2) but, as
 * 6.12 has it, addresses counted from 0, minus the piece being unmapped.
 */
function splitBlkUnmap(
  e: IoPgtable,
  size: number,
  blk: number,
  parent: Int32Array,
  pj: number,
  gather: boolean,
): number {
  const iova = e.arg[0];
  const phys = e.allocTable(1);
  if (phys < 0) return 0;
  const t = e.memory.view(phys) as Int32Array;
  const numPtes = 256;
  const n = size / SZ_4K;
  const unmapIdx = lvlIdx(e, iova, 1);
  let pte = v7sProtToPte(pteToProt(blk >>> 0, 1), 2, e.f.layout.quirks);
  if (n > 1) pte = pteToCont(pte, 2);
  for (let i = 0; i < numPtes; i += n, pte += size) {
    if (i === unmapIdx) continue;
    for (let k = 0; k < n; k++) t[i + k] = pte | 0;
  }
  if (!installTable(e, parent, pj, phys, blk)) {
    e.freeTable(1, phys);
    const cur = parent[pj];
    if (!isTable(cur, 1)) return 0;
    const theirs = l2Of(e, cur);
    if (theirs === undefined) return 0;
    return __unmap(e, size, 1, theirs, gather);
  }
  const tlb = e.tlb;
  if (tlb !== null && tlb.tlb_add_page) tlb.tlb_add_page(iova, size);
  return size;
}

/** arm_v7s_iova_to_phys() of arg[0] into arg[1]. */
function iovaToPhys(e: IoPgtable): void {
  const a = e.arg;
  let iova = a[0];
  a[1] = 0;
  if (!Number.isInteger(iova)) return;
  if (iova < 0 || iova >= 2 ** 53) iova = Number(BigInt.asUintN(32, BigInt(iova)));
  let pte = e.pgd[lvlIdx(e, iova, 0)];
  let lvl = 1;
  if (isTable(pte, 1)) {
    const t = l2Of(e, pte);
    if (t === undefined) return;
    pte = t[lvlIdx(e, iova, 1)];
    lvl = 2;
  }
  if ((pte & 3) === 0) return;
  let mask = lvlMask(lvl);
  if (isCont(pte, lvl)) mask = (mask * ARM_V7S_CONT_PAGES) >>> 0;
  // iova & ~mask: the offset inside the leaf (the kernel's u32 mask keeps only low bits).
  // iopte_to_paddr() of the words here: a call returning the address would box it when not inlined.
  let pa = ((pte & oaMask(pte, lvl, false)) >>> 0) + (((iova >>> 0) & ~mask) >>> 0);
  if (mtkOf(e)) pa += mtkHigh(pte) * TWO32;
  a[1] = pa;
}

export const armV7sRules: PgtableRules = { map, unmap, iovaToPhys };
