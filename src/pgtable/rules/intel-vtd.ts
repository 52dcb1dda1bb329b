// SPDX-License-Identifier: GPL-2.0-only
/**
 * drivers/iommu/intel/iommu.c's page-table rules (Linux 6.12), for second-
 * and first-stage tables alike, over the shared engine. VT-d does not use
 * io-pgtable: intel_iommu_map_pages(), intel_iommu_unmap_pages() and
 * intel_iommu_iova_to_phys() are domain ops, and this file follows them and
 * what they call: pfn_to_dma_pte(), __domain_mapping(),
 * hardware_largepage_caps(), switch_to_super_page(), dma_pfn_level_pte(),
 * dma_pte_clear_range(), dma_pte_free_level(), dma_pte_free_pagetable(),
 * domain_unmap(), dma_pte_clear_level(), dma_pte_list_pagetables() and
 * intel_iommu_read_and_clear_dirty(). Levels are VT-d's (1 = 4K entries,
 * agaw + 2 = the pgd); depth = levels - level.
 *
 * Where the semantics differ from io-pgtable-arm's (engine.ts):
 * - Clearing and freeing are separate passes over a pfn range:
 *   domain_unmap() clears every entry the range covers whole and frees the
 *   tables under them, and recurses into the partly covered ones; an unmap
 *   never splits a superpage. It first rounds the size up to the leaf (or
 *   the hole) it finds at the IOVA, so unmapping part of a superpage unmaps
 *   all of it and returns its size, and unmapping in a hole returns the
 *   hole's size; it returns the size whatever was mapped, never 0 but for an
 *   IOVA past the domain's width.
 * - Map picks its own page sizes (hardware_largepage_caps(): a superpage
 *   wherever the IOVA, the address and the remaining length allow, whatever
 *   pgsize says), handles all of pgcount in one call across table pages, and
 *   reports *mapped only when it succeeds.
 * - A leaf in the way of a 4K map is a WARN (pr_crit "DMA PTE ... already
 *   set") and stays, and the map still succeeds; a superpage map first
 *   clears and frees whatever is in its range (switch_to_super_page()), so
 *   it replaces tables and superpages silently.
 * - pfn_to_dma_pte() with a target level, and dma_pte_clear_level() over a
 *   partly covered superpage, follow a superpage's output address as if it
 *   were a table: the kernel then writes into that memory. The model records
 *   a WARN there and writes nothing.
 * - Freed tables go back at once (the kernel queues them until the IOTLB
 *   flush); unmapping the whole address space would also free the pgd (and
 *   the next map would dereference NULL): the model keeps it, with a WARN.
 */
import { EFAULT, EINVAL, ENOMEM, EOPNOTSUPP } from '../../kernel/errno.js';
import type { DirtyRecord, IoPgtable, MappedOut } from '../engine.js';
import { IOMMU_DIRTY_NO_CLEAR, IOMMU_PROT_BITS, IOMMU_READ, IOMMU_WRITE } from '../prot.js';
import type { PgtableRules } from './rules.js';
import { alignDown, lowestBit, tableOf, wHi } from './rules.js';

const TWO32 = 4294967296;
const SZ_4K = 4096;
const LARGE_PAGE_LO = 1 << 7;
const SL_DIRTY_LO = 1 << 9;
const PROT_MASK = (1 << IOMMU_PROT_BITS) - 1;
const MAX_PFN = 2 ** 52 - 1;

/*
 * Pfns are numbers. One goes to a function V8 may not inline either as its
 * two 32-bit words (the low one as int32: pfnToDmaPte(), dmaPfnLevelPte()),
 * or in the engine's `arg` array, which the range functions read on entry:
 * V8 boxes a number of 2^31 or more passed as an argument (an allocation),
 * and the pfns of 48-bit IOVAs are that large.
 */

/** pfn_to_dma_pte()'s result: the table and word index of the entry, and its level. */
let rT: Int32Array = new Int32Array(2);
let rJ = 0;
let rLevel = 0;
const WALK_OK = 0;
const WALK_UNSUPPORTED = 1;
const WALK_NOMEM = 2;
const WALK_INTO_SUPERPAGE = 3;

const LEVEL_PAGES = Float64Array.from({ length: 8 }, (_, level) => 2 ** ((level - 1) * 9));
/** level_size(level) in pages: 512^(level-1). */
const levelPages = (level: number): number => LEVEL_PAGES[level];

/** pfn_level_offset(): the index of the entry for a pfn (given as its words) at a level. */
function offset(lo: number, hi: number, level: number): number {
  const s = (level - 1) * 9;
  return (s === 0 ? lo : s < 32 ? (lo >>> s) | (hi << (32 - s)) : hi >>> (s - 32)) & 511;
}

const present = (t: Int32Array, j: number): boolean => (t[j] & 3) !== 0;
const superpage = (t: Int32Array, j: number): boolean => (t[j] & LARGE_PAGE_LO) !== 0;

/** domain_pfn_supported(): pfn below 2^(agaw width - 12). */
const pfnSupported = (e: IoPgtable, pfn: number): boolean => pfn >= 0 && pfn < e.f.blockSize[0] / 8;

/**
 * pfn_to_dma_pte(): the entry for the pfn (lo, hi) at `target` (allocating
 * tables on the way), or with target 0 the entry where a lookup stops (a
 * superpage, a hole, or level 1). Sets rT/rJ/rLevel.
 */
function pfnToDmaPte(e: IoPgtable, lo: number, hi: number, target: number): number {
  if (!pfnSupported(e, (lo >>> 0) + hi * TWO32)) return WALK_UNSUPPORTED;
  const f = e.f;
  const total = f.nLevels;
  let t = e.pgd;
  let level = total;
  for (;;) {
    const j = offset(lo, hi, level) << 1;
    if (target === 0 && (superpage(t, j) || !present(t, j))) {
      rT = t;
      rJ = j;
      rLevel = level;
      return WALK_OK;
    }
    if (level === target) {
      rT = t;
      rJ = j;
      rLevel = level;
      return WALK_OK;
    }
    if (!present(t, j)) {
      const d = total - level;
      const phys = e.allocTable(d + 1);
      if (phys < 0) return WALK_NOMEM;
      t[j] = f.tblLo | f.oaToLo(phys >>> 0, wHi(phys));
      t[j + 1] = f.tblHi | f.oaToHi(phys >>> 0, wHi(phys));
    }
    if (level === 1) {
      rT = t;
      rJ = j;
      rLevel = level;
      return WALK_OK;
    }
    // The kernel takes dma_pte_addr() of whatever is there: a superpage's output is no table.
    if (superpage(t, j)) return WALK_INTO_SUPERPAGE;
    const next = tableOf(e, t[j], t[j + 1]);
    if (next === undefined) return WALK_INTO_SUPERPAGE;
    t = next;
    level--;
  }
}

/** hardware_largepage_caps(): the largest superpage level the alignment and length allow. */
function largepageCaps(e: IoPgtable, ivPfn: number, phPfn: number, pages: number): number {
  let support = e.f.layout.pgsizes.length - 1;
  let level = 1;
  let a = ivPfn;
  let b = phPfn;
  let n = pages;
  while (support && (a & 511) === 0 && (b & 511) === 0) {
    n = Math.floor(n / 512);
    if (!n) break;
    a /= 512;
    b /= 512;
    level++;
    support--;
  }
  return level;
}

/** intel_iommu_map_pages() → intel_iommu_map() → __domain_mapping(). */
function map(e: IoPgtable, pgcount: number, prot: number, out: MappedOut): number {
  const a = e.arg;
  const iova = a[0];
  const paddr = a[1];
  const pgsize = a[2];
  if (!Number.isInteger(iova) || !Number.isInteger(paddr) || !Number.isInteger(pgcount) || pgcount < 0)
    return -EINVAL;
  if (pgsize !== SZ_4K && pgsize !== 0x200000 && pgsize !== 0x40000000) return -EINVAL;
  const mask = pgsize - 1;
  if ((iova & mask) !== 0 || (paddr & mask) !== 0 || iova < 0 || paddr < 0) return -EINVAL;
  const size = pgcount * pgsize;
  // intel_iommu_map(): "iommu width (%d) is not sufficient for the mapped address" (pr_err).
  if (iova + size > e.f.iasLimit) return -EFAULT;
  const nr = size / SZ_4K;
  const ivPfn = iova / SZ_4K;
  if (!pfnSupported(e, ivPfn + nr - 1)) return -EINVAL;
  if ((prot & (IOMMU_READ | IOMMU_WRITE)) === 0) return -EINVAL;
  a[0] = ivPfn;
  a[1] = paddr / SZ_4K;
  a[2] = nr;
  const ret = domainMapping(e, prot & PROT_MASK);
  if (ret === 0) out.mapped += size;
  return ret;
}

/** __domain_mapping(): arg[2] pages from pfn arg[0] to pfn arg[1], superpages where hardware_largepage_caps() allows. */
function domainMapping(e: IoPgtable, prot: number): number {
  let ivPfn = e.arg[0];
  let phPfn = e.arg[1];
  let nr = e.arg[2];
  const f = e.f;
  const attrLo = f.protLo[prot];
  const attrHi = f.protHi[prot];
  let t: Int32Array | null = null;
  let j = 0;
  let lvl = 1;
  let lvlPgs = 1;
  let warned = false;
  while (nr > 0) {
    if (t === null) {
      lvl = largepageCaps(e, ivPfn, phPfn, nr);
      const st = pfnToDmaPte(e, ivPfn | 0, wHi(ivPfn), lvl);
      if (st === WALK_NOMEM) return -ENOMEM;
      lvlPgs = levelPages(lvl);
      if (st !== WALK_OK) {
        if (!warned)
          e.warn(
            'pfn_to_dma_pte',
            'walks into a superpage’s output as if it were a table (the kernel writes PTEs there; the model writes nothing)',
          );
        warned = true;
        nr -= lvlPgs;
        ivPfn += lvlPgs;
        phPfn += lvlPgs;
        continue;
      }
      t = rT;
      j = rJ;
      if (lvl > 1) {
        // nr_pte_to_next_page(): the entries left in this table page.
        const toPageEnd = 512 - (j >> 1);
        const remove = Math.min(alignDown(nr, lvlPgs), toPageEnd * lvlPgs);
        e.arg[0] = ivPfn;
        e.arg[1] = ivPfn + remove - 1;
        switchToSuperPage(e, lvl);
      }
    }
    // try_cmpxchg64_local(&pte->val, 0, pteval): a set entry stays, with pr_crit and WARN_ON(1).
    if (t[j] !== 0 || t[j + 1] !== 0) {
      e.warn('__domain_mapping', 'WARN_ON(1): pr_crit "ERROR: DMA PTE for vPFN 0x… already set"');
    } else {
      const pa = phPfn * SZ_4K;
      const pLo = pa >>> 0;
      t[j] = attrLo | (lvl > 1 ? LARGE_PAGE_LO : 0) | (pLo & f.oaLo);
      t[j + 1] = attrHi | (((pa - pLo) / TWO32) & f.oaHi);
    }
    nr -= lvlPgs;
    ivPfn += lvlPgs;
    phPfn += lvlPgs;
    j += 2;
    if (nr === 0 || j === 1024 || (lvl > 1 && nr < lvlPgs)) t = null;
  }
  return 0;
}

/** switch_to_super_page(): clear and free whatever is under each superpage about to be written, pfns arg[0] to arg[1]. */
function switchToSuperPage(e: IoPgtable, level: number): void {
  let startPfn = e.arg[0];
  const endPfn = e.arg[1];
  const lvlPgs = levelPages(level);
  if (alignDown(startPfn, lvlPgs) !== startPfn || alignDown(endPfn + 1, lvlPgs) !== endPfn + 1) {
    e.warn(
      'switch_to_super_page',
      'WARN_ON(!IS_ALIGNED(start_pfn, lvl_pages) || !IS_ALIGNED(end_pfn + 1, lvl_pages))',
    );
    return;
  }
  let t: Int32Array | null = null;
  let j = 0;
  const tlb = e.tlb;
  while (startPfn <= endPfn) {
    if (t === null) {
      // The kernel would dereference NULL on an allocation failure here; the model stops.
      if (pfnToDmaPte(e, startPfn | 0, wHi(startPfn), level) !== WALK_OK) return;
      t = rT;
      j = rJ;
    }
    if (present(t, j)) {
      e.arg[0] = startPfn;
      e.arg[1] = startPfn + lvlPgs - 1;
      dmaPteFreePagetable(e, level + 1);
      // cache_tag_flush_range(): the IOTLB and paging-structure caches for the range.
      if (tlb !== null && tlb.tlb_flush_walk)
        tlb.tlb_flush_walk(startPfn * SZ_4K, (endPfn - startPfn + 1) * SZ_4K, SZ_4K);
    }
    j += 2;
    startPfn += lvlPgs;
    if (j === 1024) t = null;
  }
}

/** dma_pte_free_pagetable(): clear the leaves of pfns arg[0] to arg[1], then free the tables below retainLevel it covers. */
function dmaPteFreePagetable(e: IoPgtable, retainLevel: number): void {
  const startPfn = e.arg[0];
  const lastPfn = e.arg[1];
  dmaPteClearRange(e);
  e.arg[0] = 0;
  e.arg[1] = startPfn;
  e.arg[2] = lastPfn;
  dmaPteFreeLevel(e, e.f.nLevels, retainLevel, e.pgd);
}

/** dma_pfn_level_pte() for level 1 of the pfn (lo, hi): the 4K entry, a superpage above it, or false at a hole (level in rLevel). */
function dmaPfnLevelPte(e: IoPgtable, lo: number, hi: number): boolean {
  let t = e.pgd;
  for (let total = e.f.nLevels; ; total--) {
    const j = offset(lo, hi, total) << 1;
    if (total === 1 || superpage(t, j)) {
      rT = t;
      rJ = j;
      rLevel = total;
      return true;
    }
    if (!present(t, j)) {
      rLevel = total;
      return false;
    }
    const next = tableOf(e, t[j], t[j + 1]);
    if (next === undefined) {
      rLevel = total;
      return false;
    }
    t = next;
  }
}

/** dma_pte_clear_range(): clear the leaves (4K entries and superpages) from pfn arg[0] to arg[1]. */
function dmaPteClearRange(e: IoPgtable): void {
  let startPfn = e.arg[0];
  const lastPfn = e.arg[1];
  if (!pfnSupported(e, lastPfn)) {
    e.warn('dma_pte_clear_range', 'WARN_ON(!domain_pfn_supported(domain, last_pfn))');
    return;
  }
  if (startPfn > lastPfn) {
    e.warn('dma_pte_clear_range', 'WARN_ON(start_pfn > last_pfn)');
    return;
  }
  do {
    if (!dmaPfnLevelPte(e, startPfn | 0, wHi(startPfn))) {
      // align_to_level(start_pfn + 1, large_page + 1): past the whole table the hole is in.
      const span = levelPages(rLevel + 1);
      startPfn = Math.ceil((startPfn + 1) / span) * span;
      continue;
    }
    const t = rT;
    let j = rJ;
    const step = levelPages(rLevel);
    do {
      t[j] = 0;
      t[j + 1] = 0;
      startPfn += step;
      j += 2;
    } while (startPfn <= lastPfn && j !== 1024);
  } while (startPfn && startPfn <= lastPfn);
}

/**
 * dma_pte_free_level(): from pfn arg[0] of table t on, free the tables below
 * retainLevel that pfns arg[1] to arg[2] cover whole.
 */
function dmaPteFreeLevel(e: IoPgtable, level: number, retainLevel: number, t: Int32Array): void {
  const startPfn = e.arg[1];
  const lastPfn = e.arg[2];
  let pfn = Math.max(startPfn, e.arg[0]);
  let j = offset(pfn | 0, wHi(pfn), level) << 1;
  const size = levelPages(level);
  const d = e.f.nLevels - level;
  do {
    if (present(t, j) && !superpage(t, j)) {
      const levelPfn = alignDown(pfn, size);
      const childPhys = e.f.oaOf(t[j], t[j + 1]);
      const child = e.memory.view(childPhys);
      if (level > 2 && child !== undefined) {
        e.arg[0] = levelPfn;
        e.arg[1] = startPfn;
        e.arg[2] = lastPfn;
        dmaPteFreeLevel(e, level - 1, retainLevel, child);
      }
      if (level < retainLevel && !(startPfn > levelPfn || lastPfn < levelPfn + size - 1)) {
        t[j] = 0;
        t[j + 1] = 0;
        if (child !== undefined) e.freeTable(d + 1, childPhys);
      }
    }
    pfn += size;
    j += 2;
  } while (j !== 1024 && pfn <= lastPfn);
}

/** intel_iommu_unmap_pages() → intel_iommu_unmap(): the bytes unmapped into arg[2]. */
function unmap(e: IoPgtable, pgcount: number): void {
  const a = e.arg;
  const iova = a[0];
  const pgsize = a[1];
  a[2] = 0;
  if (!Number.isInteger(iova) || !Number.isInteger(pgcount) || pgcount < 0 || !Number.isInteger(pgsize))
    return;
  // __iommu_unmap() passes 4K-aligned IOVAs and a power-of-two size; pgsize 0 has no __ffs().
  if (iova < 0 || (iova & (SZ_4K - 1)) !== 0 || pgsize <= 0) {
    if (pgsize <= 0) e.warn('intel_iommu_unmap_pages', '__ffs(0): a size __iommu_unmap() never passes');
    return;
  }
  let size = pgcount * lowestBit(pgsize);
  // "Cope with horrid API which requires us to unmap more than the size argument if it happens to be a large-page mapping."
  const startPfn = iova / SZ_4K;
  if (pfnToDmaPte(e, startPfn | 0, wHi(startPfn), 0) !== WALK_OK) return;
  const leaf = levelPages(rLevel) * SZ_4K;
  if (size < leaf) size = leaf;
  a[0] = startPfn;
  a[1] = Math.floor((iova + size - 1) / SZ_4K);
  domainUnmap(e);
  const tlb = e.tlb;
  if (tlb !== null && tlb.tlb_add_page) tlb.tlb_add_page(iova, size);
  a[2] = size;
}

/** domain_unmap(): clear what pfns arg[0] to arg[1] cover, free the tables under it. */
function domainUnmap(e: IoPgtable): void {
  const startPfn = e.arg[0];
  const lastPfn = e.arg[1];
  if (!pfnSupported(e, lastPfn)) {
    e.warn('domain_unmap', 'WARN_ON(!domain_pfn_supported(domain, last_pfn))');
    return;
  }
  if (startPfn > lastPfn) {
    e.warn('domain_unmap', 'WARN_ON(start_pfn > last_pfn)');
    return;
  }
  e.arg[0] = 0;
  e.arg[1] = startPfn;
  e.arg[2] = lastPfn;
  dmaPteClearLevel(e, e.f.nLevels, e.pgd);
  const maxPfn = Math.min(e.f.iasLimit / SZ_4K - 1, MAX_PFN);
  if (startPfn === 0 && lastPfn === maxPfn)
    e.warn('domain_unmap', 'unmapping the whole space frees the pgd (the model keeps it)');
}

/**
 * dma_pte_clear_level(): from pfn arg[0] of table t on, entries pfns arg[1]
 * to arg[2] cover whole are cleared (their tables freed), the others
 * recursed into. A recursion that is the table's last step (the range ends
 * in that entry) goes on in this loop instead, the kernel's tail call.
 */
function dmaPteClearLevel(e: IoPgtable, level: number, t: Int32Array): void {
  const startPfn = e.arg[1];
  const lastPfn = e.arg[2];
  const f = e.f;
  let pfn = Math.max(startPfn, e.arg[0]);
  for (;;) {
    let j = offset(pfn | 0, wHi(pfn), level) << 1;
    const size = levelPages(level);
    let tail: Int32Array | undefined;
    do {
      const levelPfn = alignDown(pfn, size);
      if (present(t, j)) {
        if (startPfn <= levelPfn && lastPfn >= levelPfn + size - 1) {
          if (level > 1 && !superpage(t, j)) listPagetables(e, level - 1, f.oaOf(t[j], t[j + 1]));
          t[j] = 0;
          t[j + 1] = 0;
        } else if (level > 1) {
          const child = superpage(t, j) ? undefined : tableOf(e, t[j], t[j + 1]);
          if (child === undefined) {
            e.warn(
              'dma_pte_clear_level',
              'recurses into a superpage’s output as if it were a table (the kernel clears PTEs there; the model does nothing)',
            );
          } else if (lastPfn < levelPfn + size || j + 2 === 1024) {
            tail = child;
            pfn = Math.max(startPfn, levelPfn);
            break;
          } else {
            e.arg[0] = levelPfn;
            e.arg[1] = startPfn;
            e.arg[2] = lastPfn;
            dmaPteClearLevel(e, level - 1, child);
          }
        }
      }
      pfn = levelPfn + size;
      j += 2;
    } while (j !== 1024 && pfn <= lastPfn);
    if (tail === undefined) return;
    t = tail;
    level--;
  }
}

/** dma_pte_list_pagetables(): the table at `phys` (level `level`) and every table under it go. */
function listPagetables(e: IoPgtable, level: number, phys: number): void {
  const t = e.memory.view(phys);
  if (t !== undefined && level > 1) {
    for (let j = 0; j < 1024; j += 2)
      if (present(t, j) && !superpage(t, j)) listPagetables(e, level - 1, e.f.oaOf(t[j], t[j + 1]));
  }
  e.freeTable(e.f.nLevels - level, phys);
}

/** intel_iommu_iova_to_phys(). */
function iovaToPhys(e: IoPgtable): void {
  const a = e.arg;
  const iova = a[0];
  a[1] = 0;
  if (!Number.isInteger(iova) || iova < 0 || iova >= 2 ** 53) return;
  const pfn = Math.floor(iova / SZ_4K);
  if (pfnToDmaPte(e, pfn | 0, wHi(pfn), 0) !== WALK_OK || !present(rT, rJ)) return;
  const size = levelPages(rLevel) * SZ_4K;
  // dma_pte_addr() + the offset in the level's size (the address from its words here: a call
  // returning it would box the number when V8 does not inline it).
  const f = e.f;
  a[1] = ((rT[rJ] & f.oaLo) >>> 0) + (rT[rJ + 1] & f.oaHi) * TWO32 + (iova - alignDown(iova, size));
}

/** intel_iommu_read_and_clear_dirty(): second-stage leaves with the dirty bit (9), from iova to iova + size - 1. */
function readAndClearDirty(
  e: IoPgtable,
  iova: number,
  size: number,
  flags: number,
  record: DirtyRecord,
): number {
  // Only second-stage domains get intel_dirty_ops (intel_iommu_domain_alloc_user()).
  if (!e.f.layout.dirty) return -EOPNOTSUPP;
  const end = iova + size - 1;
  do {
    const pfn = Math.floor(iova / SZ_4K);
    const st = pfnToDmaPte(e, pfn | 0, wHi(pfn), 0);
    if (st !== WALK_OK) return -EINVAL;
    const pgsize = levelPages(rLevel) * SZ_4K;
    if (present(rT, rJ) && rT[rJ] & SL_DIRTY_LO) {
      if (!(flags & IOMMU_DIRTY_NO_CLEAR)) rT[rJ] &= ~SL_DIRTY_LO;
      record(iova, pgsize);
    }
    iova += pgsize;
  } while (iova < end);
  return 0;
}

export const intelVtdRules: PgtableRules = { map, unmap, iovaToPhys, readAndClearDirty };
