// SPDX-License-Identifier: GPL-2.0-only
/**
 * Pinning of a pages object's user pages (drivers/iommu/iommufd/pages.c,
 * 6.12, reduced to what the model observes): a page is pinned once per
 * pages object however many domains (and later accesses) use it, counted
 * per page index; the first pin faults the page in (-EFAULT outside a
 * mapping, or a read-only one for a writable object) or, for a file's
 * pages (IOMMU_IOAS_MAP_FILE), takes the file's page (-EINVAL past its end). Accounting comes
 * after the pages are pinned and mapped, for all newly pinned pages at once
 * (pfn_reader_update_pinned() -> do_update_pinned()): the account mode's
 * counter against RLIMIT_MEMLOCK (-ENOMEM past it: the user's locked_vm for
 * 'user', the mm's for 'mm', nothing for 'none' with CAP_IPC_LOCK), and
 * always the mm's pinned_vm. The last unpin gives an accounted page back.
 */
import { EFAULT, EINVAL, ENOMEM, EPERM } from '../kernel/errno.js';
import { MemfdFile } from '../mm/memfd.js';
import { physMem } from '../mm/phys-mem.js';
import type { Kernel } from '../kernel/kernel.js';
import { iommufdShouldFail } from './should-fail.js';
import type { UserProcess } from '../mm/user-mm.js';
import { USER_PAGE_SIZE } from '../mm/user-mm.js';
import type { IoptArea, IoptPages } from './io-pagetable.js';

const PAGE = BigInt(USER_PAGE_SIZE);

/** The user address of page `index` of a pages object, as a number (user space is below 2^47). */
const pageAddr = (pages: IoptPages, index: bigint): number => Number(pages.uptr + index * PAGE);

/**
 * The frame behind page `index`: for user memory faulting it in
 * (pfn_reader_user_pin(): -EFAULT outside a mapping, or a read-only one for
 * a writable object); for a file its page-cache page (memfd_pin_folios():
 * -EINVAL at or past the end of the file, or for a file that is not a
 * memfd). A pin needs the whole page inside the file.
 */
function pageFrame(pages: IoptPages, index: bigint): number {
  if (!pages.file) {
    const phys = pages.proc.physOf(pageAddr(pages, index), pages.writable);
    return phys < 0 ? -EFAULT : phys;
  }
  if (!(pages.file instanceof MemfdFile)) return -EINVAL;
  return pages.file.pageFrame(Number(pages.uptr / PAGE + index), true);
}

/**
 * iopt_pages_rw_access(): copy between `data` and the object's bytes from
 * `byte` (user memory through the process; a file's pages directly, as the
 * slow path's pinning reads them). 0 or an errno.
 */
export function rwPages(pages: IoptPages, byte: bigint, data: Uint8Array, write: boolean): number {
  if (!pages.file) {
    const at = Number(pages.uptr + byte);
    if (write) return pages.proc.write(at, data) ? -EFAULT : 0;
    const got = pages.proc.read(at, data.length);
    if (typeof got === 'number') return got;
    data.set(got);
    return 0;
  }
  const mem = physMem(pages.proc.k);
  for (let done = 0; done < data.length;) {
    const b = byte + BigInt(done);
    const frame = pageFrame(pages, b / PAGE);
    if (frame < 0) return frame;
    const off = Number(b % PAGE);
    const n = Math.min(data.length - done, USER_PAGE_SIZE - off);
    if (write) mem.write(frame + off, data.subarray(done, done + n));
    else data.set(mem.read(frame + off, n), done);
    done += n;
  }
  return 0;
}

/**
 * Pin pages [first, last] of a pages object: their physical addresses, or
 * -EFAULT with nothing left pinned by this call. New pins are not accounted
 * yet (accountPinned()).
 */
export function pinPages(pages: IoptPages, first: bigint, last: bigint): number[] | number {
  const got: number[] = [];
  let userPin = false;
  for (let i = first; i <= last; i++) {
    const p = pages.pinned?.get(i);
    if (p) {
      p.refs++;
      got.push(p.phys);
      continue;
    }
    // pfn_reader_user_pin(): the first page that must come from user memory.
    if (!userPin) {
      userPin = true;
      if (iommufdShouldFail(pages.proc.k, 'pfn_reader_user_pin')) {
        if (first < i) unpinPages(pages, first, i - 1n);
        return -EFAULT;
      }
    }
    const phys = pageFrame(pages, i);
    if (phys < 0) {
      if (first < i) unpinPages(pages, first, i - 1n);
      return phys;
    }
    (pages.pinned ??= new Map()).set(i, { phys, refs: 1, accounted: false });
    pages.proc.pin(phys);
    got.push(phys);
  }
  return got;
}

/**
 * do_update_pinned(): charge the pages of [first, last] not accounted yet,
 * all at once; false (nothing charged) when RLIMIT_MEMLOCK says no.
 */
export function accountPinned(pages: IoptPages, first: bigint, last: bigint): boolean {
  let n = 0;
  for (let i = first; i <= last; i++) if (pages.pinned?.get(i)?.accounted === false) n++;
  if (n === 0) return true;
  if (iommufdShouldFail(pages.proc.k, 'pfn_reader_update_pinned')) return false;
  if (!updatePinned(pages.proc, pages.accountMode, n, true)) return false;
  for (let i = first; i <= last; i++) {
    const p = pages.pinned?.get(i);
    if (p) p.accounted = true;
  }
  return true;
}

/**
 * do_update_pinned() against a process: the accounting mode's counter
 * (the user's locked_vm, or the mm's; an increase past RLIMIT_MEMLOCK is
 * refused: false) and always the mm's pinned_vm.
 */
export function updatePinned(
  proc: UserProcess,
  mode: IoptPages['accountMode'],
  n: number,
  inc: boolean,
): boolean {
  const a = proc.accounting;
  const limit = Math.floor(proc.rlimitMemlock / USER_PAGE_SIZE);
  const d = inc ? n : -n;
  if (mode === 'user') {
    if (inc && a.userLockedVm + n > limit) return false;
    a.userLockedVm += d;
  } else if (mode === 'mm') {
    if (inc && a.mmLockedVm + n > limit) return false;
    a.mmLockedVm += d;
  }
  a.mmPinnedVm += d;
  return true;
}

/** pages->npinned as far as it was charged: the pinned pages accounted so far. */
export function accountedPages(pages: IoptPages): number {
  let n = 0;
  for (const p of pages.pinned?.values() ?? []) if (p.accounted) n++;
  return n;
}

/** Drop one pin of pages [first, last]; the last one unpins the page and gives back what it was charged. */
export function unpinPages(pages: IoptPages, first: bigint, last: bigint): void {
  for (let i = first; i <= last; i++) {
    const p = pages.pinned?.get(i);
    if (!p || --p.refs > 0) continue;
    pages.pinned!.delete(i);
    pages.proc.unpin(p.phys);
    if (p.accounted) updatePinned(pages.proc, pages.accountMode, 1, false);
  }
}

/**
 * iopt_area_add_access(): an access pins pages [start, last] of the area's
 * pages object. An exact repeat of a range already pinned by an access just
 * counts another user; otherwise the pages are pinned (reusing domain pins)
 * and accounted at once (-ENOMEM past RLIMIT_MEMLOCK). The frames, in order.
 */
export function addAccess(
  k: Kernel,
  area: IoptArea,
  start: bigint,
  last: bigint,
  write: boolean,
  lockArea = false,
): number[] | number {
  const pages = area.pages!;
  if (write && !pages.writable) return -EPERM;
  const frames = (): number[] => {
    const out: number[] = [];
    for (let i = start; i <= last; i++) out.push(pages.pinned!.get(i)!.phys);
    return out;
  };
  const same = pages.accesses?.find((a) => a.start === start && a.last === last);
  if (same) {
    area.numAccesses++;
    if (lockArea) area.numLocks++;
    same.users++;
    return frames();
  }
  const mem = k.alloc.alloc('iopt_pages_access', 'iommufd', 'iopt_area_add_access');
  if (!mem) return -ENOMEM;
  // iopt_pages_fill_xarray(): pin, then charge what was newly pinned.
  const got = pinPages(pages, start, last);
  if (typeof got === 'number') {
    k.alloc.free(mem, 'iopt_area_add_access');
    return got;
  }
  if (!accountPinned(pages, start, last)) {
    unpinPages(pages, start, last);
    k.alloc.free(mem, 'iopt_area_add_access');
    return -ENOMEM;
  }
  (pages.accesses ??= []).push({ start, last, users: 1, mem });
  area.numAccesses++;
  if (lockArea) area.numLocks++;
  return got;
}

/** iopt_area_remove_access(): one user of the exact range goes; the last unpins it. */
export function removeAccess(
  k: Kernel,
  area: IoptArea,
  start: bigint,
  last: bigint,
  unlockArea = false,
): void {
  const pages = area.pages!;
  const i = (pages.accesses ?? []).findIndex((a) => a.start === start && a.last === last);
  if (k.printk.warn(i < 0, 'iopt_area_remove_access', 'WARN_ON(!access)')) return;
  const acc = pages.accesses![i];
  k.printk.warn(
    area.numAccesses === 0 || acc.users === 0,
    'iopt_area_remove_access',
    'WARN_ON(area->num_accesses == 0 || access->users == 0)',
  );
  area.numAccesses--;
  if (unlockArea) area.numLocks--;
  if (--acc.users) return;
  pages.accesses!.splice(i, 1);
  unpinPages(pages, start, last);
  k.alloc.free(acc.mem, 'iopt_area_remove_access');
}
