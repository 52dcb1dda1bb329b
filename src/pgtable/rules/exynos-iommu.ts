// SPDX-License-Identifier: GPL-2.0-only
/**
 * drivers/iommu/exynos-iommu.c's map/unmap rules (Linux 6.12) over the
 * shared engine: exynos_iommu_map() (lv1set_section(), alloc_lv2entry(),
 * lv2set_page()), exynos_iommu_unmap() and exynos_iommu_iova_to_phys(). The
 * descriptors are formats/exynos-sysmmu.ts. Depth 0 is level 1.
 *
 * Where these rules differ from io-pgtable-arm's (engine.ts):
 * - One call maps or unmaps one page of pgsize whatever the count.
 * - Anything in the way of a map is -EADDRINUSE with a WARN and a pr_err()
 *   ("exynos_iommu_map: Failed(-98) to map …"): a section over a section
 *   ("Trying mapping on 1MiB@… that is mapped"), over a level-2 table that
 *   still maps something (the same; an empty one is freed and replaced),
 *   a page inside a section ("… mapped with 1MiB page"), a page over a page
 *   (WARN_ON(!lv2ent_fault()); a large page clears the entries it wrote).
 *   The count of free level-2 entries per section (domain->lv2entcnt) is
 *   what says a table is empty.
 * - Unmapping a hole succeeds: a fault at level 1 unmaps min(size, 1 MiB),
 *   at level 2 4 KiB. Unmapping less than a section or a large page that is
 *   there is a WARN, a pr_err() and 0. A section unmapped becomes
 *   ZERO_LV2LINK again. Level-2 tables are only freed when a section
 *   replaces them (or with the domain).
 * - The IOVA is 32 bits (sysmmu_iova_t); output address bits above 31 (v1)
 *   or 35 (v5) are dropped. No prot check: IOMMU_READ | IOMMU_WRITE pick an
 *   access-bit pattern, none gives an entry that allows nothing.
 * - The driver's TLB work rides on the table's flush callbacks:
 *   tlb_flush_walk(iova, 1 MiB) when a level-2 table replaces ZERO_LV2LINK
 *   (sysmmu_tlb_invalidate_flpdcache()), tlb_add_page(iova, size) after every
 *   unmap (exynos_iommu_tlb_invalidate_entry()).
 * Sizes other than 4 KiB, 64 KiB and 1 MiB and unaligned addresses are
 * refused without a WARN, as the other families do.
 */
import { EADDRINUSE, EINVAL, ENOMEM } from '../../kernel/errno.js';
import type { IoPgtable, MappedOut } from '../engine.js';
import type { ExynosLayout, SysmmuPgEnt } from '../formats/exynos-sysmmu.js';
import {
  LPAGE_SIZE,
  NUM_LV1ENTRIES,
  NUM_LV2ENTRIES,
  SECT_SIZE,
  SPAGES_PER_LPAGE,
  SPAGE_SIZE,
  lpagePhys,
  lv1entOffset,
  lv2entOffset,
  lv2tableBase,
  mkLv1entPage,
  mkLv1entSect,
  mkLv2entLpage,
  mkLv2entSpage,
  sectionPhys,
  spagePhys,
} from '../formats/exynos-sysmmu.js';
import { IOMMU_READ, IOMMU_WRITE } from '../prot.js';
import type { PgtableRules } from './rules.js';

const layoutOf = (e: IoPgtable): ExynosLayout => e.f.layout as ExynosLayout;

/** domain->lv2entcnt: free level-2 entries per section (kzalloc'd: 0 until a table is made). */
const lv2entcnt = new WeakMap<IoPgtable, Int16Array>();
function counters(e: IoPgtable): Int16Array {
  let c = lv2entcnt.get(e);
  if (!c) lv2entcnt.set(e, (c = new Int16Array(NUM_LV1ENTRIES)));
  return c;
}

/** domain->lv2entcnt[lv1 index] */
export function exynosLv2entcnt(e: IoPgtable, lv1: number): number {
  return counters(e)[lv1];
}

/** The pr_err() lines a table's last call printed, until the caller takes them. */
const printed = new WeakMap<IoPgtable, string[]>();
function pr_err(e: IoPgtable, line: string): void {
  const l = printed.get(e);
  if (l) l.push(line);
  else printed.set(e, [line]);
}

/** The kernel log lines (pr_err()) the last map_pages or unmap_pages printed, taken once. */
export function exynosTakePrinted(e: IoPgtable): string[] {
  const l = printed.get(e) ?? [];
  printed.delete(e);
  return l;
}

const hex = (v: number): string => `0x${v.toString(16)}`;

/* lv1ent_*() and lv2ent_*() on an entry's value. */
const lv1entZero = (e: IoPgtable, ent: number): boolean => ent >>> 0 === layoutOf(e).zeroLv2Link;
const lv1entFault = (e: IoPgtable, ent: number): boolean =>
  lv1entZero(e, ent) || (ent & 3) === 0 || (ent & 3) === 3;
const lv1entPage = (e: IoPgtable, ent: number): boolean => !lv1entZero(e, ent) && (ent & 3) === 1;
const lv1entSection = (ent: number): boolean => (ent & 3) === 2;
const lv2entFault = (ent: number): boolean => (ent & 3) === 0;
const lv2entSmall = (ent: number): boolean => (ent & 2) === 2;
const lv2entLarge = (ent: number): boolean => (ent & 3) === 1;

/** page_entry(): the level-2 table a level-1 link points at. */
function lv2Table(e: IoPgtable, v: SysmmuPgEnt, ent: number): Int32Array | undefined {
  return e.memory.view(lv2tableBase(v, ent));
}

/** lv1set_section() */
function lv1setSection(e: IoPgtable, idx: number, iova: number, paddr: number, prot: number): number {
  const v = layoutOf(e).pgEnt;
  const ent = e.pgd[idx];
  if (lv1entSection(ent)) {
    e.warn('lv1set_section', `Trying mapping on 1MiB@${hex(iova)} that is mapped`);
    return -EADDRINUSE;
  }
  const cnt = counters(e);
  if (lv1entPage(e, ent)) {
    if (cnt[idx] !== NUM_LV2ENTRIES) {
      e.warn('lv1set_section', `Trying mapping on 1MiB@${hex(iova)} that is mapped`);
      return -EADDRINUSE;
    }
    // kmem_cache_free(lv2table_kmem_cache, page_entry(sent, 0))
    e.freeTable(1, lv2tableBase(v, ent));
    cnt[idx] = 0;
  }
  e.pgd[idx] = mkLv1entSect(v, paddr, prot) | 0;
  // The FLPD-cache flush that follows tests lv1ent_page_zero() on the section just written: never.
  return 0;
}

/** alloc_lv2entry(): the level-2 table under the IOVA, made when the level-1 entry is a fault. */
function allocLv2entry(e: IoPgtable, idx: number, iova: number): Int32Array | number {
  const v = layoutOf(e).pgEnt;
  const ent = e.pgd[idx];
  if (lv1entSection(ent)) {
    e.warn('alloc_lv2entry', `Trying mapping on ${hex(iova)} mapped with 1MiB page`);
    return -EADDRINUSE;
  }
  if (lv1entFault(e, ent)) {
    const needFlushFlpdCache = lv1entZero(e, ent);
    // kmem_cache_zalloc(lv2table_kmem_cache, GFP_ATOMIC)
    const phys = e.allocTable(1);
    if (phys < 0) return -ENOMEM;
    e.pgd[idx] = mkLv1entPage(v, phys) | 0;
    counters(e)[idx] = NUM_LV2ENTRIES;
    if (needFlushFlpdCache) e.tlb?.tlb_flush_walk?.(iova - (iova % SECT_SIZE), SECT_SIZE, SECT_SIZE);
  }
  const t = lv2Table(e, v, e.pgd[idx]);
  if (t === undefined) {
    e.warn('alloc_lv2entry', 'a level-1 link whose table is not in table memory');
    return -EINVAL;
  }
  return t;
}

/** lv2set_page() */
function lv2setPage(
  e: IoPgtable,
  t: Int32Array,
  idx1: number,
  j: number,
  paddr: number,
  size: number,
  prot: number,
): number {
  const v = layoutOf(e).pgEnt;
  const cnt = counters(e);
  if (size === SPAGE_SIZE) {
    if (!lv2entFault(t[j])) {
      e.warn('lv2set_page', 'WARN_ON(!lv2ent_fault(pent))');
      return -EADDRINUSE;
    }
    t[j] = mkLv2entSpage(v, paddr, prot) | 0;
    cnt[idx1] -= 1;
    return 0;
  }
  const pte = mkLv2entLpage(v, paddr, prot) | 0;
  for (let i = 0; i < SPAGES_PER_LPAGE; i++) {
    if (!lv2entFault(t[j + i])) {
      e.warn('lv2set_page', 'WARN_ON(!lv2ent_fault(pent))');
      for (let k = 0; k < i; k++) t[j + k] = 0;
      return -EADDRINUSE;
    }
    t[j + i] = pte;
  }
  cnt[idx1] -= SPAGES_PER_LPAGE;
  return 0;
}

const validSize = (e: IoPgtable, size: number): boolean => e.f.layout.pgsizes.includes(size);

/** exynos_iommu_map() of arg[0] (iova), arg[1] (paddr), arg[2] (pgsize); the count is ignored. */
function map(e: IoPgtable, _pgcount: number, prot: number, out: MappedOut): number {
  const a = e.arg;
  const l_iova = a[0];
  const paddr = a[1];
  const size = a[2];
  if (!Number.isInteger(l_iova) || !Number.isInteger(paddr) || l_iova < 0 || paddr < 0) return -EINVAL;
  if (!validSize(e, size) || l_iova % size !== 0 || paddr % size !== 0) return -EINVAL;
  const iova = l_iova % 2 ** 32;
  const p = prot & (IOMMU_READ | IOMMU_WRITE);
  const idx = lv1entOffset(iova);
  let ret: number;
  if (size === SECT_SIZE) {
    ret = lv1setSection(e, idx, iova, paddr, p);
  } else {
    const t = allocLv2entry(e, idx, iova);
    ret = typeof t === 'number' ? t : lv2setPage(e, t, idx, lv2entOffset(iova), paddr, size, p);
  }
  if (ret) {
    pr_err(e, `exynos_iommu_map: Failed(${ret}) to map ${hex(size)} bytes @ ${hex(iova)}`);
    return ret;
  }
  out.mapped += size;
  return 0;
}

/** exynos_iommu_unmap()'s err: path: the WARN_ON() that sent it there, then the pr_err(). */
function unmapTooSmall(e: IoPgtable, size: number, iova: number, errPgsize: number, cond: string): void {
  e.warn('exynos_iommu_unmap', cond);
  pr_err(
    e,
    `exynos_iommu_unmap: Failed: size(${hex(size)}) @ ${hex(iova)} is smaller than page size ${hex(errPgsize)}`,
  );
}

/** exynos_iommu_unmap() of arg[0] (iova) and arg[1] (pgsize): the bytes into arg[2]. */
function unmap(e: IoPgtable, _pgcount: number): void {
  const a = e.arg;
  a[2] = 0;
  if (!Number.isInteger(a[0]) || a[0] < 0) return;
  let size = a[1];
  if (!validSize(e, size) || a[0] % size !== 0) return;
  const iova = a[0] % 2 ** 32;
  const L = layoutOf(e);
  const idx = lv1entOffset(iova);
  const ent = e.pgd[idx];
  if (lv1entSection(ent)) {
    if (size < SECT_SIZE) return unmapTooSmall(e, size, iova, SECT_SIZE, 'WARN_ON(size < SECT_SIZE)');
    // workaround for h/w bug in System MMU v3.3
    e.pgd[idx] = L.zeroLv2Link | 0;
    size = SECT_SIZE;
  } else if (lv1entFault(e, ent)) {
    if (size > SECT_SIZE) size = SECT_SIZE;
  } else {
    const t = lv2Table(e, L.pgEnt, ent);
    if (t === undefined) return;
    const j = lv2entOffset(iova);
    const cnt = counters(e);
    if (lv2entFault(t[j])) {
      size = SPAGE_SIZE;
    } else if (lv2entSmall(t[j])) {
      t[j] = 0;
      size = SPAGE_SIZE;
      cnt[idx] += 1;
    } else {
      if (size < LPAGE_SIZE) return unmapTooSmall(e, size, iova, LPAGE_SIZE, 'WARN_ON(size < LPAGE_SIZE)');
      for (let i = 0; i < SPAGES_PER_LPAGE && j + i < NUM_LV2ENTRIES; i++) t[j + i] = 0;
      size = LPAGE_SIZE;
      cnt[idx] += SPAGES_PER_LPAGE;
    }
  }
  // exynos_iommu_tlb_invalidate_entry()
  e.tlb?.tlb_add_page?.(iova, size);
  a[2] = size;
}

/** exynos_iommu_iova_to_phys() of arg[0] into arg[1]. */
function iovaToPhys(e: IoPgtable): void {
  const a = e.arg;
  a[1] = 0;
  let iova = a[0];
  if (!Number.isInteger(iova)) return;
  if (iova < 0 || iova >= 2 ** 53) iova = Number(BigInt.asUintN(32, BigInt(iova)));
  iova %= 2 ** 32;
  const L = layoutOf(e);
  const ent = e.pgd[lv1entOffset(iova)];
  if (lv1entSection(ent)) {
    a[1] = sectionPhys(L.pgEnt, ent) + (iova % SECT_SIZE);
  } else if (lv1entPage(e, ent)) {
    const t = lv2Table(e, L.pgEnt, ent);
    if (t === undefined) return;
    const pte = t[lv2entOffset(iova)];
    if (lv2entLarge(pte)) a[1] = lpagePhys(L.pgEnt, pte) + (iova % LPAGE_SIZE);
    else if (lv2entSmall(pte)) a[1] = spagePhys(L.pgEnt, pte) + (iova % SPAGE_SIZE);
  }
}

/**
 * exynos_iommu_domain_free(), the tables: each level-2 table a level-1 entry
 * links to (lv1ent_page(): not ZERO_LV2LINK, which is shared), then level 1.
 */
function freeAll(e: IoPgtable): void {
  const v = layoutOf(e).pgEnt;
  for (let i = 0; i < NUM_LV1ENTRIES; i++) {
    const ent = e.pgd[i];
    if (lv1entPage(e, ent)) e.freeTable(1, lv2tableBase(v, ent));
  }
  e.freeTable(0, e.pgdPhys);
}

export const exynosIommuRules: PgtableRules = { map, unmap, iovaToPhys, freeAll };
