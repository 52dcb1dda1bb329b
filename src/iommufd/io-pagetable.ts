// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct io_pagetable (drivers/iommu/iommufd/io_pagetable.c, 6.12): an
 * IOAS's IOVA space. Areas (slices of pages objects, never overlapping) in
 * an ordered tree; reserved ranges (an owner each: a domain's aperture, a
 * device's reserved regions, the selftest's ADD_RESERVED), which may
 * overlap; the allowed ranges ALLOW_IOVAS set; the IOVA alignment its
 * domains and accesses need. The automatic IOVA allocator
 * (iopt_alloc_iova()), the fixed-IOVA check, area creation, unmap without
 * splitting, and the gathering of pages for IOAS_COPY follow the kernel's
 * order of checks and errnos.
 *
 * Every kzalloc() the kernel makes here (areas, pages, allowed and reserved
 * nodes, copy list elements) is a tracked allocation, so fail-nth reaches
 * each and a leak names it. IOVAs and lengths are bigint: the ABI's u64
 * edge cases (U64_MAX, ranges ending at the top) must stay exact.
 *
 * Domains (iopt_table_add_domain()/_remove_domain()): each brings its
 * smallest page as the IOVA alignment and reserves what lies outside its
 * aperture; every area is pinned (pages.ts) and mapped into every domain,
 * at MAP time and when a domain joins, and unmapped and unpinned again.
 * Without a domain an IOAS pins nothing and MAP only records the user VA
 * (lazy pinning). HWPT objects that add domains through the ABI, and
 * accesses, are later layers.
 */
import type { Allocation } from '../kernel/alloc.js';
import {
  EADDRINUSE,
  EBUSY,
  EDEADLK,
  EEXIST,
  EINVAL,
  ENOENT,
  ENOMEM,
  ENOSPC,
  EOVERFLOW,
  EPERM,
} from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { RangeTree } from '../lib/range-tree.js';
import { Ida } from '../kernel/ida.js';
import type { RangeNode } from '../lib/range-tree.js';
import { IOMMU_WRITE } from '../pgtable/prot.js';
import type { IommuDomain } from '../iommu/domain.js';
import { iommu_map, iommu_unmap } from '../iommu/map.js';
import type { ModelFile, UserProcess } from '../mm/user-mm.js';
import { fput, get_file } from '../mm/user-mm.js';
import type { Device } from '../base/device.js';
import {
  IOMMU_RESV_DIRECT_RELAXABLE,
  IOMMU_RESV_MSI,
  IOMMU_RESV_SW_MSI,
  iommu_get_resv_regions,
} from '../iommu/resv-regions.js';
import { accountPinned, pinPages, unpinPages } from './pages.js';
import { iommufdShouldFail } from './should-fail.js';

export const ULONG_MAX = (1n << 64n) - 1n;
export const PAGE_SIZE = 4096n;
/** HPAGE_SIZE: the largest alignment iopt_alloc_iova() asks for (CONFIG_TRANSPARENT_HUGEPAGE). */
export const HPAGE_SIZE = 2n * 1024n * 1024n;

/** struct iopt_pages: a user VA range (page aligned), shared by the areas that slice it. */
export interface IoptPages {
  /** The process it is charged to (source_mm, source_user); for user memory also whose memory it is. */
  proc: UserProcess;
  /** IOPT_ADDRESS_FILE: the file whose pages these are (held), or null for user memory (IOPT_ADDRESS_USER). */
  readonly file: ModelFile | null;
  /** uptr aligned down to a page; for a file, the file offset aligned down (pages->start). */
  readonly uptr: bigint;
  readonly npages: bigint;
  readonly writable: boolean;
  accountMode: 'none' | 'user' | 'mm';
  kref: number;
  readonly mem: Allocation;
  /** Pinned pages by index: their frame and how many users (domain fills, accesses) hold them (made on first pin). */
  pinned: Map<bigint, { phys: number; refs: number; accounted: boolean }> | null;
  /** pages->access_itree: the page ranges accesses pinned, each with its users (made on first access). */
  accesses: IoptPagesAccess[] | null;
}

/** struct iopt_pages_access: one pinned page range of a pages object, shared by exact repeats. */
export interface IoptPagesAccess {
  readonly start: bigint;
  readonly last: bigint;
  users: number;
  readonly mem: Allocation;
}

/** What the io_pagetable knows of an iommufd_access on its access_list. */
export interface IoptAccess {
  /** access->iova_alignment: PAGE_SIZE for an access that pins pages, else 1. */
  readonly iovaAlignment: bigint;
  /** access->ops->unmap(): stop using [iova, iova + length) and unpin it before returning. */
  unmap(iova: bigint, length: bigint): void;
}

/** struct iopt_area */
export interface IoptArea {
  pages: IoptPages | null;
  /** Byte offset of the area's first byte in its pages object. */
  readonly startByte: bigint;
  readonly pageOffset: bigint;
  readonly iommuProt: number;
  readonly mem: Allocation;
  /** Accesses holding pins in the area (area->num_accesses). */
  numAccesses: number;
  /** An unmap is waiting for the accesses to let go: no new pins or reads (area->prevent_access). */
  preventAccess: boolean;
  /** Pins of internal accesses (a HW queue's memory, v6.17): the area cannot be unmapped (area->num_locks). */
  numLocks: number;
}

/** struct iopt_pages_list: one slice of a pages object for a new area (or an IOAS_COPY source). */
export interface PagesListElm {
  pages: IoptPages | null;
  startByte: bigint;
  length: bigint;
  area: RangeNode<IoptArea> | null;
  areaMem: Allocation | null;
  readonly mem: Allocation | null;
}

interface Reserved {
  readonly start: bigint;
  readonly last: bigint;
  readonly owner: unknown;
  readonly mem: Allocation;
}

interface Allowed {
  readonly start: bigint;
  readonly last: bigint;
  readonly mem: Allocation;
}

/** check_add_overflow(a, b) for unsigned long: the sum, or null when it wraps. */
const addNoWrap = (a: bigint, b: bigint): bigint | null => (a + b > ULONG_MAX ? null : a + b);

/** __ffs64() for a non-zero value: its lowest set bit as a power of two. */
const lowBit = (v: bigint): bigint => v & -v;

/** roundup_pow_of_two() */
function roundupPow2(v: bigint): bigint {
  let p = 1n;
  while (p < v) p <<= 1n;
  return p;
}

export class IoPagetable {
  readonly areas = new RangeTree<IoptArea>();
  private reserved: Reserved[] = [];
  private allowed: Allowed[] = [];
  iovaAlignment = 1n;
  disableLargePages = false;
  /** The domains of the HWPT_PAGINGs on this IOAS (iopt->domains), in insertion order. */
  readonly domains: IommuDomain[] = [];
  /** iopt->access_list: the accesses attached, by their id in it (xa_limit_16b). */
  readonly accessList = new Map<number, IoptAccess>();
  private readonly accessIds = new Ida();

  constructor(
    private readonly k: Kernel,
    /** Owner name for tracked allocations ("ioas 1"). */
    readonly owner: string,
  ) {}

  private kzalloc(type: string, site: string): Allocation | null {
    return this.k.alloc.alloc(type, this.owner, site);
  }

  /** iopt_reserved_iter_first(): whether a reserved range intersects [start, last]. */
  private reservedHits(start: bigint, last: bigint): boolean {
    return this.reserved.some((r) => r.start <= last && r.last >= start);
  }

  /** iopt_allowed_iter_first() */
  private allowedHits(start: bigint, last: bigint): boolean {
    return this.allowed.some((r) => r.start <= last && r.last >= start);
  }

  /** The reserved ranges merged and sorted: what interval_tree_for_each_span() sees as "used". */
  private reservedSpans(): [bigint, bigint][] {
    return mergeSpans(this.reserved);
  }

  /** The IOVA ranges IOAS_IOVA_RANGES reports: the holes of the reserved ranges in [0, ULONG_MAX]. */
  usableRanges(): [bigint, bigint][] {
    const out: [bigint, bigint][] = [];
    let at = 0n;
    for (const [s, l] of this.reservedSpans()) {
      if (s > at) out.push([at, s - 1n]);
      if (l === ULONG_MAX) return out;
      at = l + 1n;
    }
    out.push([at, ULONG_MAX]);
    return out;
  }

  /**
   * __alloc_iova_check_range(): ALIGN_UP(start) | page_offset fits length
   * before last; the aligned start, or null.
   */
  private static checkRange(start: bigint, last: bigint, length: bigint, align: bigint, pageOffset: bigint) {
    const up = addNoWrap(start, align - 1n);
    if (up === null) return null;
    const aligned = (up & ~(align - 1n)) | pageOffset;
    if (aligned >= last || last - aligned < length - 1n) return null;
    return aligned;
  }

  /** iopt_alloc_iova(): the lowest fitting IOVA (never 0), or a negative errno as a number. */
  allocIova(uptr: bigint, length: bigint): bigint | number {
    const pageOffset = uptr % PAGE_SIZE;
    if (length === 0n || length >= ULONG_MAX / 2n) return -EOVERFLOW;
    let align = roundupPow2(length);
    if (uptr !== 0n && lowBit(uptr) < align) align = lowBit(uptr);
    if (align >= HPAGE_SIZE) align = HPAGE_SIZE;
    if (align < this.iovaAlignment) return -EINVAL;

    // interval_tree_for_each_span() over the allowed tree: touching ranges are one span.
    const windows: [bigint, bigint][] =
      this.allowed.length === 0
        ? [[PAGE_SIZE, ULONG_MAX - PAGE_SIZE]]
        : mergeSpans(this.allowed)
            .map(([s, l]): [bigint, bigint] => [
              s > PAGE_SIZE ? s : PAGE_SIZE,
              l < ULONG_MAX - PAGE_SIZE ? l : ULONG_MAX - PAGE_SIZE,
            ])
            .filter(([s, l]) => s <= l);
    const reserved = this.reservedSpans();
    for (const [ws, wl] of windows) {
      const start = IoPagetable.checkRange(ws, wl, length, align, pageOffset);
      if (start === null) continue;
      let found: bigint | null = null;
      // interval_tree_for_each_double_span() over reserved and areas: the holes of both, ascending.
      this.areas.findHole(start, wl, length, (hs, hl) => {
        for (const [s, l] of subtract(hs, hl, reserved)) {
          const at = IoPagetable.checkRange(s, l, length, align, pageOffset);
          if (at !== null) {
            found = at;
            return true;
          }
        }
        return false;
      });
      if (found !== null) return found;
    }
    return -ENOSPC;
  }

  /** iopt_check_iova() */
  checkIova(iova: bigint, length: bigint): number {
    if (iova & (this.iovaAlignment - 1n)) return -EINVAL;
    const last = addNoWrap(iova, length - 1n);
    if (last === null) return -EOVERFLOW;
    if (this.reservedHits(iova, last)) return -EINVAL;
    if (this.areas.firstIntersecting(iova, last)) return -EEXIST;
    return 0;
  }

  /** iopt_alloc_user_pages(): a pages object for a user VA range, or an errno. */
  allocPages(uptr: bigint, length: bigint, writable: boolean, proc: UserProcess): IoptPages | number {
    if (length > ULONG_MAX - PAGE_SIZE || length === 0n) return -EINVAL;
    if (addNoWrap(uptr, length) === null) return -EOVERFLOW;
    return this.newPages(uptr, length, writable, proc, null);
  }

  /**
   * iopt_alloc_file_pages() (v6.13 on): a pages object for bytes [start,
   * start + length) of a file, which it holds (get_file()); or an errno.
   */
  allocFilePages(
    file: ModelFile,
    start: bigint,
    length: bigint,
    writable: boolean,
    proc: UserProcess,
  ): IoptPages | number {
    if (length && addNoWrap(start, length - 1n) === null) return -EOVERFLOW;
    if (length > ULONG_MAX - PAGE_SIZE || length === 0n) return -EINVAL;
    const pages = this.newPages(start, length, writable, proc, file);
    if (typeof pages !== 'number') get_file(file);
    return pages;
  }

  /** iopt_alloc_pages(): the kzalloc and the fields. */
  private newPages(
    uptr: bigint,
    length: bigint,
    writable: boolean,
    proc: UserProcess,
    file: ModelFile | null,
  ): IoptPages | number {
    const mem = this.kzalloc('iopt_pages', 'iopt_alloc_pages');
    if (!mem) return -ENOMEM;
    const base = uptr - (uptr % PAGE_SIZE);
    return {
      proc,
      file,
      uptr: base,
      npages: (length + (uptr - base) + PAGE_SIZE - 1n) / PAGE_SIZE,
      writable,
      accountMode: proc.capIpcLock ? 'none' : 'user',
      kref: 1,
      mem,
      pinned: null,
      accesses: null,
    };
  }

  /** iopt_put_pages(): the last reference frees it (and lets go of its file). */
  putPages(pages: IoptPages): void {
    if (--pages.kref !== 0) return;
    if (pages.file) fput(pages.file);
    this.k.alloc.free(pages.mem, 'iopt_release_pages');
  }

  /**
   * iopt_map_pages(): areas for the slices in `list` at `iova` (or an
   * allocated IOVA when `alloc`), then the domains filled (none yet). On
   * success the areas own the list's pages references; the IOVA used, or an
   * errno (the caller frees the list either way: iopt_free_pages_list()).
   */
  mapPages(
    list: PagesListElm[],
    length: bigint,
    iova: bigint,
    prot: number,
    alloc: boolean,
  ): bigint | number {
    // iopt_alloc_area_pages()
    for (const elm of list) {
      elm.areaMem = this.kzalloc('iopt_area', 'iopt_area_alloc');
      if (!elm.areaMem) return -ENOMEM;
    }
    if (length & (this.iovaAlignment - 1n) || length === 0n) return -EINVAL;
    if (alloc) {
      const first = list[0];
      const got = this.allocIova(first.pages!.uptr + first.startByte, length);
      if (typeof got === 'number') return got;
      iova = got;
    } else {
      const rc = this.checkIova(iova, length);
      if (rc) return rc;
    }
    let at = iova;
    for (const elm of list) {
      const rc = this.insertArea(elm, at, prot);
      if (rc) return rc;
      at += elm.length;
    }
    // iopt_fill_domains_pages(): every domain gets every new area, or none does.
    for (let i = 0; i < list.length; i++) {
      const rc = this.fillAreaDomains(list[i].area!, list[i].pages!);
      if (rc) {
        for (let u = 0; u < i; u++) this.unfillAreaDomains(list[u].area!, list[u].pages!);
        return rc;
      }
    }
    // Publish: the areas take the list's pages.
    for (const elm of list) {
      const area = elm.area!;
      area.value.pages = elm.pages;
      elm.pages = null;
      elm.area = null;
      elm.areaMem = null;
    }
    return iova;
  }

  /** iopt_insert_area(): the area is in the tree with no pages yet, so it reserves its IOVA. */
  private insertArea(elm: PagesListElm, iova: bigint, prot: number): number {
    const pages = elm.pages!;
    if (prot & IOMMU_WRITE && !pages.writable) return -EPERM;
    const pageOffset = elm.startByte % PAGE_SIZE;
    if (pageOffset & (this.iovaAlignment - 1n)) return -EINVAL;
    const last = addNoWrap(iova, elm.length - 1n);
    if (last === null) return -EOVERFLOW;
    const lastByte = addNoWrap(elm.startByte, elm.length - 1n);
    if (lastByte === null) return -EOVERFLOW;
    if (lastByte / PAGE_SIZE >= pages.npages) return -EOVERFLOW;
    elm.area = this.areas.insert(iova, last, {
      pages: null,
      startByte: elm.startByte,
      pageOffset,
      iommuProt: prot,
      mem: elm.areaMem!,
      numAccesses: 0,
      preventAccess: false,
      numLocks: 0,
    });
    return 0;
  }

  /** iopt_free_pages_list(): abort the areas not published, drop the pages references, free the elements. */
  freePagesList(list: PagesListElm[]): void {
    for (const elm of list) {
      if (elm.area) this.areas.remove(elm.area);
      if (elm.areaMem) this.k.alloc.free(elm.areaMem, 'iopt_abort_area');
      if (elm.pages) this.putPages(elm.pages);
      if (elm.mem) this.k.alloc.free(elm.mem, 'iopt_free_pages_list');
    }
    list.length = 0;
  }

  /**
   * iopt_unmap_iova_range(): removes every area inside [start, last]; an
   * area sticking out ends it with -ENOENT, keeping what was removed.
   */
  unmapRange(start: bigint, last: bigint): { rc: number; unmapped: bigint } {
    let unmapped = 0n;
    let tries = 0;
    for (let node = this.areas.firstIntersecting(start, last); node;) {
      const area = node.value;
      if (!area.pages) return { rc: -EBUSY, unmapped };
      if (node.start < start || node.last > last) return { rc: -ENOENT, unmapped };
      // Locked by an object still alive (a HW queue's memory).
      if (area.numLocks) return { rc: -EBUSY, unmapped };
      if (node.start !== start) tries = 0;
      if (area.numAccesses) {
        // iommufd_access_notify_unmap(): every access must let go of the area, then look again.
        start = node.start;
        area.preventAccess = true;
        this.notifyUnmap(node.start, node.last - node.start + 1n);
        if (this.k.printk.warn(++tries > 100, 'iopt_unmap_iova_range', 'WARN_ON(tries > 100)'))
          return { rc: -EDEADLK, unmapped };
        node = this.areas.firstIntersecting(start, last);
        continue;
      }
      const pages = area.pages;
      area.pages = null;
      this.unfillAreaDomains(node, pages);
      const areaLast = node.last;
      this.areas.remove(node);
      this.k.alloc.free(area.mem, 'iopt_abort_area');
      this.putPages(pages);
      unmapped += areaLast - node.start + 1n;
      if (areaLast >= last) break;
      start = areaLast + 1n;
      node = this.areas.firstIntersecting(start, last);
    }
    return { rc: 0, unmapped };
  }

  /** iommufd_access_notify_unmap(): each attached access's unmap callback, in id order. */
  private notifyUnmap(iova: bigint, length: bigint): void {
    for (const id of [...this.accessList.keys()].sort((a, b) => a - b))
      this.accessList.get(id)?.unmap(iova, length);
  }

  /** iopt_add_access(): an id on the access list (-EBUSY past 2^16), then the alignment with it (-EADDRINUSE). */
  addAccess(access: IoptAccess): number {
    if (this.accessIds.size >= 1 << 16) return -EBUSY; // xa_alloc() with xa_limit_16b full
    const id = this.accessIds.alloc();
    this.accessList.set(id, access);
    const rc = this.calculateAlignment();
    if (rc) {
      this.accessList.delete(id);
      this.accessIds.free(id);
      return rc;
    }
    return id;
  }

  /** iopt_remove_access() */
  removeAccess(access: IoptAccess, id: number): void {
    this.k.printk.warn(
      this.accessList.get(id) !== access,
      'iopt_remove_access',
      'WARN_ON(xa_erase() != access)',
    );
    this.accessList.delete(id);
    this.accessIds.free(id);
    this.k.printk.warn(
      this.calculateAlignment() !== 0,
      'iopt_remove_access',
      'WARN_ON(iopt_calculate_iova_alignment())',
    );
  }

  /** iopt_area_iova_to_index(): the page index in the area's pages object of the byte behind iova. */
  static iovaToIndex(node: RangeNode<IoptArea>, iova: bigint): bigint {
    return (node.value.startByte + (iova - node.start)) / PAGE_SIZE;
  }

  /** iopt_area_start_byte() */
  static startByte(node: RangeNode<IoptArea>, iova: bigint): bigint {
    return node.value.startByte + (iova - node.start);
  }

  /**
   * iopt_for_each_contig_area() with the area nodes: fn(node, cur, last)
   * for each published area covering [iova, lastIova] in order; returns
   * fn's error, or whether the range was covered (done) and where it
   * stopped (cur), for callers that unwind.
   */
  contigAreas(
    iova: bigint,
    lastIova: bigint,
    fn: (node: RangeNode<IoptArea>, cur: bigint, last: bigint) => number,
  ): { rc: number; done: boolean; cur: bigint } {
    let cur = iova;
    let node = this.areas.firstIntersecting(iova, iova);
    while (node && node.start <= cur && node.value.pages) {
      const last: bigint = lastIova < node.last ? lastIova : node.last;
      const rc = fn(node, cur, last);
      if (rc) return { rc, done: false, cur };
      if (last === lastIova) return { rc: 0, done: true, cur };
      cur = last + 1n;
      node = this.areas.next(node);
    }
    return { rc: 0, done: false, cur };
  }

  /**
   * iopt_area_split(): the area holding `iova` becomes two at iova + 1,
   * sharing its pages (no domain or pin changes: the cut must be at the IOAS
   * alignment in both IOVA and user bytes, -EINVAL, and not through an area
   * an access holds, -EINVAL, or one being unmapped, -EBUSY). A cut at either
   * end of the area changes nothing.
   */
  private areaSplit(node: RangeNode<IoptArea>, iova: bigint): number {
    const area = node.value;
    const start = node.start;
    const last = node.last;
    const align = this.iovaAlignment;
    const newStart = iova + 1n;
    if (iova === start || iova === last) return 0;
    if (!area.pages || area.preventAccess) return -EBUSY;
    const startByte = IoPagetable.startByte(node, newStart);
    if (newStart & (align - 1n) || startByte & (align - 1n)) return -EINVAL;
    const lhsMem = this.kzalloc('iopt_area', 'iopt_area_alloc');
    if (!lhsMem) return -ENOMEM;
    const rhsMem = this.kzalloc('iopt_area', 'iopt_area_alloc');
    if (!rhsMem) {
      this.k.alloc.free(lhsMem, 'iopt_area_split');
      return -ENOMEM;
    }
    // Accesses' pins are not tracked finely enough to split; nor are large pages in a domain.
    if (area.numAccesses || (this.domains.length > 0 && !this.disableLargePages)) {
      this.k.alloc.free(rhsMem, 'iopt_area_split');
      this.k.alloc.free(lhsMem, 'iopt_area_split');
      return -EINVAL;
    }
    const pages = area.pages;
    this.areas.remove(node);
    const half = (from: bigint, to: bigint, mem: Allocation): IoptArea => ({
      pages,
      startByte: IoPagetable.startByte(node, from),
      pageOffset: IoPagetable.startByte(node, from) % PAGE_SIZE,
      iommuProt: area.iommuProt,
      mem,
      numAccesses: 0,
      preventAccess: false,
      numLocks: 0,
    });
    this.areas.insert(start, iova, half(start, iova, lhsMem));
    this.areas.insert(newStart, last, half(newStart, last, rhsMem));
    pages.kref++;
    this.k.alloc.free(area.mem, 'iopt_area_split');
    return 0;
  }

  /** iopt_cut_iova(): split the areas holding each IOVA there; the first failure stops it. */
  cutIova(iovas: readonly bigint[]): number {
    for (const iova of iovas) {
      const node = this.areas.firstIntersecting(iova, iova);
      if (!node) continue;
      const rc = this.areaSplit(node, iova);
      if (rc) return rc;
    }
    return 0;
  }

  /** iopt_unmap_iova() */
  unmapIova(iova: bigint, length: bigint): { rc: number; unmapped: bigint } {
    if (length === 0n) return { rc: -EINVAL, unmapped: 0n };
    const last = addNoWrap(iova, length - 1n);
    if (last === null) return { rc: -EOVERFLOW, unmapped: 0n };
    return this.unmapRange(iova, last);
  }

  /**
   * iopt_for_each_contig_area(): fn(cur, last) for each published area
   * covering [iova, lastIova] one after the other, clipped to the range; an
   * error from fn stops it; a hole or an unpublished area is -EINVAL
   * (!iopt_area_contig_done()).
   */
  forEachContigArea(iova: bigint, lastIova: bigint, fn: (cur: bigint, last: bigint) => number): number {
    const r = this.contigAreas(iova, lastIova, (_n, cur, last) => fn(cur, last));
    return r.rc || (r.done ? 0 : -EINVAL);
  }

  /** The areas with pages, in IOVA order, as [start, last]. */
  *publishedAreas(): IterableIterator<{ readonly start: bigint; readonly last: bigint }> {
    for (const node of this.areas) if (node.value.pages) yield { start: node.start, last: node.last };
  }

  /** iopt_get_pages(): the slices backing [iova, iova + length), which must be covered contiguously. */
  getPages(iova: bigint, length: bigint, list: PagesListElm[]): number {
    if (length === 0n) return -EINVAL;
    const lastIova = addNoWrap(iova, length - 1n);
    if (lastIova === null) return -EOVERFLOW;
    // iopt_for_each_contig_area(): areas one after the other from iova, none missing, all published.
    const r = this.contigAreas(iova, lastIova, (node, cur, last) => {
      const mem = this.kzalloc('iopt_pages_list', 'iopt_get_pages');
      if (!mem) return -ENOMEM;
      const pages = node.value.pages!;
      pages.kref++;
      list.push({
        pages,
        startByte: IoPagetable.startByte(node, cur),
        length: last - cur + 1n,
        area: null,
        areaMem: null,
        mem,
      });
      return 0;
    });
    if (r.rc || !r.done) {
      this.freePagesList(list);
      return r.rc || -ENOENT;
    }
    return 0;
  }

  /** iopt_reserve_iova(): -EADDRINUSE over an area or an allowed range. */
  reserveIova(start: bigint, last: bigint, owner: unknown): number {
    if (this.areas.firstIntersecting(start, last) || this.allowedHits(start, last)) return -EADDRINUSE;
    const mem = this.kzalloc('iopt_reserved', 'iopt_reserve_iova');
    if (!mem) return -ENOMEM;
    this.reserved.push({ start, last, owner, mem });
    return 0;
  }

  /** __iopt_remove_reserved_iova(): every range of one owner goes. */
  removeReserved(owner: unknown): void {
    for (const r of this.reserved)
      if (r.owner === owner) this.k.alloc.free(r.mem, 'iopt_remove_reserved_iova');
    this.reserved = this.reserved.filter((r) => r.owner !== owner);
  }

  /**
   * iopt_table_enforce_dev_resv_regions(): each of the device's reserved
   * regions (iommu_get_resv_regions(), the relaxable direct maps skipped)
   * becomes a reservation owned by the device, -EADDRINUSE over an area or an
   * allowed range. With `swMsi` the software MSI window's start is reported
   * there; a driver giving both hardware and software MSI regions, or two
   * software windows, is a WARN and -EINVAL. On failure the device's
   * reservations made so far are removed.
   */
  enforceDevResvRegions(dev: Device, swMsi: { start: bigint | null } | null): number {
    if (iommufdShouldFail(this.k, 'iopt_table_enforce_dev_resv_regions')) return -EINVAL;
    let hw = 0;
    let sw = 0;
    let rc = 0;
    for (const r of iommu_get_resv_regions(this.k, dev)) {
      if (r.type === IOMMU_RESV_DIRECT_RELAXABLE) continue;
      if (swMsi && r.type === IOMMU_RESV_MSI) hw++;
      if (swMsi && r.type === IOMMU_RESV_SW_MSI) {
        swMsi.start = r.start;
        sw++;
      }
      rc = this.reserveIova(r.start, r.start + r.length - 1n, dev);
      if (rc) break;
    }
    if (
      !rc &&
      (this.k.printk.warn(
        sw > 0 && hw > 0,
        'iopt_table_enforce_dev_resv_regions',
        'WARN_ON(num_sw_msi && num_hw_msi)',
      ) ||
        this.k.printk.warn(sw > 1, 'iopt_table_enforce_dev_resv_regions', 'WARN_ON(num_sw_msi > 1)'))
    )
      rc = -EINVAL;
    if (rc) this.removeReserved(dev);
    return rc;
  }

  /**
   * iommufd_ioas_load_iovas() + iopt_set_allow_iova(): the new allowed
   * list, range by range as `read(i)` copies each from user memory (an
   * errno stops there): start < last and no overlap with the ranges before
   * it (-EINVAL), a node each (-ENOMEM); then swapped in atomically, unless
   * one intersects a reserved range (-EADDRINUSE, the old list stays).
   */
  setAllowIova(num: number, read: (i: number) => readonly [bigint, bigint] | number): number {
    const fresh = new RangeTree<Allocation>();
    const drop = () => {
      for (const n of fresh) this.k.alloc.free(n.value, 'iommufd_ioas_allow_iovas');
    };
    for (let i = 0; i < num; i++) {
      const r = read(i);
      if (typeof r === 'number') {
        drop();
        return r;
      }
      const [start, last] = r;
      if (start >= last || fresh.firstIntersecting(start, last)) {
        drop();
        return -EINVAL;
      }
      const mem = this.kzalloc('iopt_allowed', 'iommufd_ioas_load_iovas');
      if (!mem) {
        drop();
        return -ENOMEM;
      }
      fresh.insert(start, last, mem);
    }
    const list: Allowed[] = [...fresh].map((n) => ({ start: n.start, last: n.last, mem: n.value }));
    if (list.some((a) => this.reservedHits(a.start, a.last))) {
      drop();
      return -EADDRINUSE;
    }
    for (const a of this.allowed) this.k.alloc.free(a.mem, 'iommufd_ioas_allow_iovas');
    this.allowed = list;
    return 0;
  }

  /** Every area aligned to `align` (iova, length, page offset), or -EADDRINUSE: iopt_check_iova_alignment(). */
  private checkAlignment(align: bigint): number {
    for (const n of this.areas)
      if (
        n.start & (align - 1n) ||
        (n.last - n.start + 1n) & (align - 1n) ||
        n.value.pageOffset & (align - 1n)
      )
        return -EADDRINUSE;
    return 0;
  }

  /** iopt_calculate_iova_alignment(): the largest of the domains' smallest pages and the accesses' alignments. */
  private calculateAlignment(): number {
    let want = this.disableLargePages ? PAGE_SIZE : 1n;
    for (const d of this.domains) {
      const min = lowBit(BigInt(d.pgsize_bitmap));
      if (min > want) want = min;
    }
    for (const a of this.accessList.values()) if (a.iovaAlignment > want) want = a.iovaAlignment;
    if (want > this.iovaAlignment) {
      const rc = this.checkAlignment(want);
      if (rc) return rc;
    }
    this.iovaAlignment = want;
    return 0;
  }

  /** iopt_disable_large_pages() */
  disableLarge(): number {
    if (this.disableLargePages) return 0;
    if (this.domains.length > 0 && this.areas.size > 0) return -EINVAL;
    this.disableLargePages = true;
    const rc = this.calculateAlignment();
    if (rc) this.disableLargePages = false;
    return rc;
  }

  /** iopt_enable_large_pages() */
  enableLarge(): void {
    this.disableLargePages = false;
    this.calculateAlignment();
  }

  /**
   * The pieces of an area as the domain maps them: [iova, phys, bytes] per
   * run inside one user page (batch_to_domain(), one page at a time).
   */
  private *chunks(node: RangeNode<IoptArea>, phys: readonly number[]): Generator<[bigint, number, bigint]> {
    const area = node.value;
    let iova = node.start;
    let byte = area.startByte;
    const end = node.last;
    let i = 0;
    while (iova <= end) {
      const inPage = byte % PAGE_SIZE;
      let n = PAGE_SIZE - inPage;
      if (n > end - iova + 1n) n = end - iova + 1n;
      yield [iova, phys[i++] + Number(inPage), n];
      iova += n;
      byte += n;
    }
  }

  /** The page indexes of the pages object an area covers. */
  private static pageSpan(node: RangeNode<IoptArea>): [bigint, bigint] {
    const a = node.value;
    return [a.startByte / PAGE_SIZE, (a.startByte + (node.last - node.start)) / PAGE_SIZE];
  }

  /**
   * batch_to_domain(): the pieces as one iommu_map() per physically
   * contiguous run, so the domain can use its large pages; with large pages
   * disabled, one per page (batch_iommu_map_small()).
   */
  private *runs(node: RangeNode<IoptArea>, phys: readonly number[]): Generator<[bigint, number, bigint]> {
    let run: [bigint, number, bigint] | null = null;
    for (const c of this.chunks(node, phys)) {
      if (run && !this.disableLargePages && run[1] + Number(run[2]) === c[1]) {
        run[2] += c[2];
        continue;
      }
      if (run) yield run;
      run = [...c];
    }
    if (run) yield run;
  }

  /** iopt_area_fill_domain(): pin the area's pages and map them into one domain; undone on failure. */
  private fillArea(node: RangeNode<IoptArea>, pages: IoptPages, domain: IommuDomain): number {
    const [first, last] = IoPagetable.pageSpan(node);
    const phys = pinPages(pages, first, last);
    if (typeof phys === 'number') return phys;
    for (const [iova, pa, n] of this.runs(node, phys)) {
      const rc = iommu_map(this.k, domain, Number(iova), pa, Number(n), node.value.iommuProt);
      if (rc) {
        if (iova > node.start) iommu_unmap(this.k, domain, Number(node.start), Number(iova - node.start));
        unpinPages(pages, first, last);
        return rc;
      }
    }
    // pfn_reader_update_pinned(): charged once everything is pinned and mapped.
    if (!accountPinned(pages, first, last)) {
      iommu_unmap(this.k, domain, Number(node.start), Number(node.last - node.start + 1n));
      unpinPages(pages, first, last);
      return -ENOMEM;
    }
    return 0;
  }

  /** iopt_area_unfill_domain(): unmap the area from one domain and drop its pins. */
  private unfillArea(node: RangeNode<IoptArea>, pages: IoptPages, domain: IommuDomain): void {
    iommu_unmap(this.k, domain, Number(node.start), Number(node.last - node.start + 1n));
    const [first, last] = IoPagetable.pageSpan(node);
    unpinPages(pages, first, last);
  }

  /** iopt_area_fill_domains(): the area into every domain, or into none. */
  private fillAreaDomains(node: RangeNode<IoptArea>, pages: IoptPages): number {
    for (let i = 0; i < this.domains.length; i++) {
      const rc = this.fillArea(node, pages, this.domains[i]);
      if (rc) {
        for (let u = 0; u < i; u++) this.unfillArea(node, pages, this.domains[u]);
        return rc;
      }
    }
    return 0;
  }

  /** iopt_area_unfill_domains() */
  private unfillAreaDomains(node: RangeNode<IoptArea>, pages: IoptPages): void {
    for (const d of this.domains) this.unfillArea(node, pages, d);
  }

  /**
   * iopt_table_add_domain(): the domain's smallest page becomes the IOAS's
   * alignment (never above PAGE_SIZE: -EINVAL; existing areas must conform:
   * -EADDRINUSE), its aperture's outside is reserved (-EADDRINUSE over an
   * area or allowed range), and every area is pinned and mapped into it.
   */
  addDomain(domain: IommuDomain): number {
    if (this.domains.includes(domain)) {
      this.k.printk.warn(true, 'iopt_table_add_domain', 'WARN_ON(iter_domain == domain)');
      return -EEXIST;
    }
    let align = lowBit(BigInt(domain.pgsize_bitmap));
    if (align < this.iovaAlignment) align = this.iovaAlignment;
    if (align > PAGE_SIZE) return -EINVAL;
    if (align !== this.iovaAlignment) {
      const rc = this.checkAlignment(align);
      if (rc) return rc;
    }
    const g = domain.geometry;
    const apStart = BigInt(g?.aperture_start ?? 0);
    const apEnd = g ? BigInt(g.aperture_end) : ULONG_MAX;
    let rc = 0;
    if (apStart !== 0n) rc = this.reserveIova(0n, apStart - 1n, domain);
    if (!rc && apEnd < ULONG_MAX) rc = this.reserveIova(apEnd + 1n, ULONG_MAX, domain);
    if (rc) {
      this.removeReserved(domain);
      return rc;
    }
    // iopt_fill_domain(): every published area, undone on the first failure.
    const done: RangeNode<IoptArea>[] = [];
    for (const node of this.areas) {
      if (!node.value.pages) continue;
      rc = this.fillArea(node, node.value.pages, domain);
      if (rc) {
        for (const d of done) this.unfillArea(d, d.value.pages!, domain);
        this.removeReserved(domain);
        return rc;
      }
      done.push(node);
    }
    this.iovaAlignment = align;
    this.domains.push(domain);
    return 0;
  }

  /** iopt_table_remove_domain(): unmap everything from it, drop its reservations, recompute the alignment. */
  removeDomain(domain: IommuDomain): void {
    const i = this.domains.indexOf(domain);
    if (i < 0) {
      this.k.printk.warn(true, 'iopt_table_remove_domain', 'WARN_ON(iter_domain != domain)');
      return;
    }
    // The tail entry takes the removed one's slot, keeping the array dense.
    const tail = this.domains.pop()!;
    if (tail !== domain) this.domains[i] = tail;
    for (const node of this.areas) if (node.value.pages) this.unfillArea(node, node.value.pages, domain);
    this.removeReserved(domain);
    if (this.calculateAlignment())
      this.k.printk.warn(true, 'iopt_table_remove_domain', 'WARN_ON(iopt_calculate_iova_alignment(iopt))');
  }

  /** iommufd_ioas_destroy(): unmap everything, then iopt_destroy_table() frees the rest. */
  destroy(): void {
    this.unmapRange(0n, ULONG_MAX);
    for (const r of this.reserved) this.k.alloc.free(r.mem, 'iopt_destroy_table');
    for (const a of this.allowed) this.k.alloc.free(a.mem, 'iopt_destroy_table');
    this.reserved = [];
    this.allowed = [];
  }
}

/** interval_tree_for_each_span()'s used spans: ranges sorted, overlapping or touching ones joined. */
function mergeSpans(
  ranges: readonly { readonly start: bigint; readonly last: bigint }[],
): [bigint, bigint][] {
  const rs = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const r of rs) {
    const top = out[out.length - 1];
    if (top && r.start <= top[1] + 1n) {
      if (r.last > top[1]) top[1] = r.last;
    } else out.push([r.start, r.last]);
  }
  return out;
}

/** [hs, hl] minus sorted, merged spans: the pieces left, ascending. */
function subtract(hs: bigint, hl: bigint, spans: readonly (readonly [bigint, bigint])[]): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  let at = hs;
  for (const [s, l] of spans) {
    if (l < at) continue;
    if (s > hl) break;
    if (s > at) out.push([at, s - 1n]);
    if (l >= hl) return out;
    at = l + 1n;
  }
  if (at <= hl) out.push([at, hl]);
  return out;
}
