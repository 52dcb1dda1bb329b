// SPDX-License-Identifier: GPL-2.0-only
/**
 * The iommufd selftest mock domain's ops (drivers/iommu/iommufd/selftest.c,
 * Linux 6.12) over the shared engine: mock_domain_map_pages(),
 * mock_domain_unmap_pages(), mock_domain_iova_to_phys() and
 * mock_domain_read_and_clear_dirty() with mock_test_and_clear_dirty(), on
 * the xarray of formats/iommufd-mock.ts (xa_store(), xa_erase(), xa_load():
 * xas_expand() to grow, xas_delete_node() to drop emptied nodes).
 *
 * Where the semantics differ from io-pgtable-arm's (engine.ts):
 * - Every page size is MOCK_IO_PAGE_SIZE entries: a 1M page is 512 entries
 *   marked MOCK_PFN_HUGE_IOVA (the flag, not the structure, makes it huge).
 * - The first and last entry of a map_pages call carry MOCK_PFN_START_IOVA
 *   (= _LAST_IOVA); without the huge page size, unmap_pages WARNs when the
 *   first or last entry it erases was not a start or an end of a map call.
 * - A map over a mapped entry stores anyway, with WARN_ON(old); nothing is
 *   refused. No protection is kept or checked.
 * - unmap_pages erases every entry of the range and returns its whole size,
 *   mapped or not; iova_to_phys WARNs for an IOVA inside a page or with no
 *   entry, and returns the page's address without the offset.
 * - A failed xa_store() (a node allocation) erases what this call stored
 *   and returns -ENOMEM, with *mapped still counting it.
 * Not modelled: iommufd_should_fail()'s -ENOENT (iommufd's own fault
 * injection), and a page size that is not a multiple of 2K, on which the
 * kernel loops for ever: the model WARNs as it does and stops.
 */
import { EINVAL, ENOMEM } from '../../kernel/errno.js';
import type { DirtyRecord, IoPgtable, MappedOut } from '../engine.js';
import { IOMMU_DIRTY_NO_CLEAR } from '../prot.js';
import type { PgtableRules } from './rules.js';
import { alignDown, tableOf, wHi } from './rules.js';

const PAGE = 2048;
const HUGE = 512 * PAGE;
const TWO32 = 4294967296;
/* Flags in the entry's high word: value bit 53 (START/LAST), 54 (DIRTY), 55 (HUGE) are entry bits 54..56. */
const START_HI = 1 << 22;
const DIRTY_HI = 1 << 23;
const HUGE_HI = 1 << 24;
/* The pfn in the entry: value bits 0..52 are entry bits 1..53. */
const PFN_HI_MASK = (1 << 21) - 1;

/** The xarray's height covers indexes below 64^height; the root is at depth 7 - height. */
const MAX_INDEX = Float64Array.from({ length: 8 }, (_, top) => 2 ** (6 * (7 - top)) - 1);
const maxIndex = (top: number): number => MAX_INDEX[top];
/** As truthy as x % MOCK_IO_PAGE_SIZE for any number x, and equal to it for x >= 0, without fmod. */
const pageOffset = (x: number): number => x - Math.floor(x / PAGE) * PAGE;

/*
 * The xarray's index is iova / MOCK_IO_PAGE_SIZE. The functions below take
 * the page's IOVA (a multiple of the page size) as its two 32-bit words, the
 * low one as int32: V8 boxes a number of 2^31 or more passed as an argument.
 */

/** The entry for an index, as the leaf node holding it and the word index (rT, rJ). */
let rT: Int32Array = new Int32Array(2);
let rJ = 0;

/** Walk to the leaf node's slot for the page at (lo, hi) (rT, rJ), creating nodes if `create`; false if absent or out of memory. */
function slotOf(e: IoPgtable, lo: number, hi: number, create: boolean): boolean {
  const f = e.f;
  const index = ((lo >>> 0) + hi * TWO32) / PAGE;
  if (index > maxIndex(e.top)) {
    if (!create) return false;
    // xas_expand(): new roots on top, the old root in slot 0 (an xarray has no empty node: an empty root goes).
    while (index > maxIndex(e.top)) {
      const phys = e.allocTable(e.top - 1);
      if (phys < 0) return false;
      const root = e.memory.view(phys) as Int32Array;
      if (isEmpty(e.pgd, 0)) {
        e.freeTable(e.top, e.pgdPhys);
      } else {
        root[0] = (e.pgdPhys & ~3) | 2;
        root[1] = (e.pgdPhys - (e.pgdPhys >>> 0)) / TWO32;
      }
      e.pgd = root;
      e.pgdPhys = phys;
      e.top--;
    }
  }
  let t = e.pgd;
  for (let d = e.top; ; d++) {
    const j = f.index(d, lo, hi) << 1;
    if (d === f.last) {
      rT = t;
      rJ = j;
      return true;
    }
    if (t[j] === 0 && t[j + 1] === 0) {
      if (!create) return false;
      const phys = e.allocTable(d + 1);
      if (phys < 0) return false;
      t[j] = (phys & ~3) | 2;
      t[j + 1] = (phys - (phys >>> 0)) / TWO32;
    }
    const next = tableOf(e, t[j], t[j + 1]);
    if (next === undefined) return false;
    t = next;
  }
}

/** The nodes and slots of the last erase's path, by depth. */
const pathT: Int32Array[] = [];
const pathJ = new Int32Array(8);

/**
 * xa_erase(): clear the entry; nodes left empty go, bottom up
 * (xas_delete_node()); the root stays. Returns what was there, as loadHi() reads it.
 */
function erase(e: IoPgtable, lo: number, hi: number): number {
  const f = e.f;
  if (((lo >>> 0) + hi * TWO32) / PAGE > maxIndex(e.top)) return -1;
  let t = e.pgd;
  let bottom = f.last;
  for (let d = e.top; ; d++) {
    const j = f.index(d, lo, hi) << 1;
    pathT[d] = t;
    pathJ[d] = j;
    if (d === f.last) break;
    const next = t[j] === 0 && t[j + 1] === 0 ? undefined : tableOf(e, t[j], t[j + 1]);
    if (next === undefined) {
      // No entry; nodes a failed store left empty on the way still go.
      bottom = d;
      break;
    }
    t = next;
  }
  let old = -1;
  if (bottom === f.last) {
    const j = pathJ[bottom];
    if (t[j] !== 0 || t[j + 1] !== 0) old = t[j + 1] >>> 0;
    t[j] = 0;
    t[j + 1] = 0;
  }
  for (let d = bottom; d > e.top && isEmpty(pathT[d], pathJ[d]); d--) {
    const parent = pathT[d - 1];
    const j = pathJ[d - 1];
    const phys = f.oaOf(parent[j], parent[j + 1]);
    parent[j] = 0;
    parent[j + 1] = 0;
    e.freeTable(d, phys);
  }
  return old;
}

/** Whether a node holds no entry. The scan starts at word `from` (the slot just cleared), where the neighbours of sequential mappings are. */
function isEmpty(t: Int32Array, from: number): boolean {
  for (let i = from; i < t.length; i++) if (t[i] !== 0) return false;
  for (let i = 0; i < from; i++) if (t[i] !== 0) return false;
  return true;
}

/** mock_domain_map_pages(). */
function map(e: IoPgtable, pgcount: number, _prot: number, out: MappedOut): number {
  const a = e.arg;
  let iova = a[0];
  let paddr = a[1];
  const pgsize = a[2];
  if (!Number.isInteger(iova) || !Number.isInteger(paddr) || !Number.isInteger(pgcount) || pgcount < 0)
    return -EINVAL;
  if (iova < 0 || paddr < 0 || iova >= 2 ** 53) return -EINVAL;
  if (pageOffset(iova)) e.warn('mock_domain_map_pages', 'WARN_ON(iova % MOCK_IO_PAGE_SIZE)');
  // A size that is not a positive integer (NaN, Infinity) would make the page loop below endless.
  if (!Number.isSafeInteger(pgsize) || pageOffset(pgsize) || pgsize <= 0) {
    e.warn('mock_domain_map_pages', 'WARN_ON(pgsize % MOCK_IO_PAGE_SIZE) (the kernel then loops for ever)');
    return -EINVAL;
  }
  const startIova = iova;
  let flags = START_HI;
  let t: Int32Array | null = null;
  let j = 0;
  for (; pgcount; pgcount--) {
    for (let cur = 0; cur !== pgsize; cur += PAGE) {
      if (pgcount === 1 && cur + PAGE === pgsize) flags = START_HI;
      if (pgsize !== PAGE) flags |= HUGE_HI;
      if (t !== null && j + 2 < t.length) {
        // xa_store() of the next index in the same node walks down the same nodes (stores change none of them).
        j += 2;
      } else {
        const at = alignDown(iova, PAGE);
        if (!slotOf(e, at | 0, wHi(at), true)) {
          // xa_store() failed: erase what this call stored, keep *mapped as it is.
          for (let s = startIova; s !== iova; s += PAGE) {
            const sAt = alignDown(s, PAGE);
            erase(e, sAt | 0, wHi(sAt));
          }
          return -ENOMEM;
        }
        t = rT;
        j = rJ;
      }
      if (t[j] !== 0 || t[j + 1] !== 0) e.warn('mock_domain_map_pages', 'WARN_ON(old)');
      // xa_mk_value((paddr / MOCK_IO_PAGE_SIZE) | flags)
      const pfn = Math.floor(paddr / PAGE);
      const pLo = pfn >>> 0;
      const pHi = (pfn - pLo) / TWO32;
      t[j] = (pLo << 1) | 1;
      t[j + 1] = (pHi << 1) | (pLo >>> 31) | flags;
      iova += PAGE;
      paddr += PAGE;
      out.mapped += PAGE;
      flags = 0;
    }
  }
  return 0;
}

/** The value's flags and whether there is an entry, for the page at (lo, hi) (absent: -1). */
function loadHi(e: IoPgtable, lo: number, hi: number): number {
  if (!slotOf(e, lo, hi, false) || (rT[rJ] === 0 && rT[rJ + 1] === 0)) return -1;
  return rT[rJ + 1] >>> 0;
}

/** mock_domain_unmap_pages(): the bytes "unmapped" (all of them) into arg[2]. */
function unmap(e: IoPgtable, pgcount: number): void {
  const a = e.arg;
  let iova = a[0];
  const pgsize = a[1];
  a[2] = 0;
  if (!Number.isInteger(iova) || !Number.isInteger(pgcount) || pgcount < 0 || iova < 0 || iova >= 2 ** 53)
    return;
  if (pageOffset(iova)) e.warn('mock_domain_unmap_pages', 'WARN_ON(iova % MOCK_IO_PAGE_SIZE)');
  // A size that is not a positive integer (NaN, Infinity) would make the page loop below endless.
  if (!Number.isSafeInteger(pgsize) || pageOffset(pgsize) || pgsize <= 0) {
    e.warn('mock_domain_unmap_pages', 'WARN_ON(pgsize % MOCK_IO_PAGE_SIZE) (the kernel then loops for ever)');
    return;
  }
  const checks = !e.f.layout.pgsizes.includes(HUGE);
  let first = true;
  let ret = 0;
  for (; pgcount; pgcount--) {
    for (let cur = 0; cur !== pgsize; cur += PAGE) {
      const at = alignDown(iova, PAGE);
      const ent = erase(e, at | 0, wHi(at));
      if (checks) {
        if (first) {
          if (ent !== -1 && !(ent & START_HI))
            e.warn('mock_domain_unmap_pages', 'WARN_ON(ent && !(xa_to_value(ent) & MOCK_PFN_START_IOVA))');
          first = false;
        }
        if (pgcount === 1 && cur + PAGE === pgsize && ent !== -1 && !(ent & START_HI))
          e.warn('mock_domain_unmap_pages', 'WARN_ON(ent && !(xa_to_value(ent) & MOCK_PFN_LAST_IOVA))');
      }
      iova += PAGE;
      ret += PAGE;
    }
  }
  a[2] = ret;
}

/** mock_domain_iova_to_phys(): the page's address, no offset. */
function iovaToPhys(e: IoPgtable): void {
  const a = e.arg;
  const iova = a[0];
  a[1] = 0;
  if (!Number.isInteger(iova) || iova < 0 || iova >= 2 ** 53) return;
  if (pageOffset(iova)) e.warn('mock_domain_iova_to_phys', 'WARN_ON(iova % MOCK_IO_PAGE_SIZE)');
  const at = alignDown(iova, PAGE);
  if (loadHi(e, at | 0, wHi(at)) === -1) {
    e.warn('mock_domain_iova_to_phys', 'WARN_ON(!ent)');
    return;
  }
  // (xa_to_value(ent) & MOCK_PFN_MASK) * MOCK_IO_PAGE_SIZE
  const pLo = (rT[rJ] >>> 1) | ((rT[rJ + 1] & 1) << 31);
  const pHi = (rT[rJ + 1] >>> 1) & PFN_HI_MASK;
  a[1] = ((pLo >>> 0) + pHi * TWO32) * PAGE;
}

/** mock_domain_read_and_clear_dirty() and mock_test_and_clear_dirty(). */
function readAndClearDirty(
  e: IoPgtable,
  iova: number,
  size: number,
  flags: number,
  record: DirtyRecord,
): number {
  const end = iova + size;
  do {
    const at = alignDown(iova, PAGE);
    const ent = loadHi(e, at | 0, wHi(at));
    if (ent === -1) {
      iova += PAGE;
      continue;
    }
    const pgsize = ent & HUGE_HI ? HUGE : PAGE;
    const head = iova - (iova % pgsize);
    let dirty = false;
    for (let cur = head; cur < head + pgsize - 1; cur += PAGE) {
      const v = loadHi(e, cur | 0, wHi(cur));
      if (v === -1 || !(v & DIRTY_HI)) continue;
      dirty = true;
      if (!(flags & IOMMU_DIRTY_NO_CLEAR)) rT[rJ + 1] &= ~DIRTY_HI;
    }
    if (dirty) record(iova, pgsize);
    iova += pgsize;
  } while (iova < end);
  return 0;
}

export const iommufdMockRules: PgtableRules = { map, unmap, iovaToPhys, readAndClearDirty };
