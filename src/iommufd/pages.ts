// SPDX-License-Identifier: GPL-2.0-only
/**
 * Pinning of a pages object's user pages (drivers/iommu/iommufd/pages.c,
 * 6.12, reduced to what the model observes): a page is pinned once per
 * pages object however many domains (and later accesses) use it, counted
 * per page index; the first pin faults the page in (-EFAULT outside a
 * mapping, or a read-only one for a writable object). Accounting comes
 * after the pages are pinned and mapped, for all newly pinned pages at once
 * (pfn_reader_update_pinned() -> do_update_pinned()): the account mode's
 * counter against RLIMIT_MEMLOCK (-ENOMEM past it: the user's locked_vm for
 * 'user', the mm's for 'mm', nothing for 'none' with CAP_IPC_LOCK), and
 * always the mm's pinned_vm. The last unpin gives an accounted page back.
 */
import { EFAULT, ENOMEM, EPERM } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { iommufdShouldFail } from './should-fail.js';
import { USER_PAGE_SIZE } from '../mm/user-mm.js';
import type { IoptArea, IoptPages } from './io-pagetable.js';

const PAGE = BigInt(USER_PAGE_SIZE);

/** The user address of page `index` of a pages object, as a number (user space is below 2^47). */
const pageAddr = (pages: IoptPages, index: bigint): number => Number(pages.uptr + index * PAGE);

/**
 * Pin pages [first, last] of a pages object: their physical addresses, or
 * -EFAULT with nothing left pinned by this call. New pins are not accounted
 * yet (accountPinned()).
 */
export function pinPages(pages: IoptPages, first: bigint, last: bigint): number[] | number {
  const got: number[] = [];
  let userPin = false;
  for (let i = first; i <= last; i++) {
    const p = pages.pinned.get(i);
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
    const phys = pages.proc.physOf(pageAddr(pages, i), pages.writable);
    if (phys < 0) {
      if (first < i) unpinPages(pages, first, i - 1n);
      return -EFAULT;
    }
    pages.pinned.set(i, { phys, refs: 1, accounted: false });
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
  for (let i = first; i <= last; i++) if (pages.pinned.get(i)?.accounted === false) n++;
  if (n === 0) return true;
  if (iommufdShouldFail(pages.proc.k, 'pfn_reader_update_pinned')) return false;
  const proc = pages.proc;
  const limit = Math.floor(proc.rlimitMemlock / USER_PAGE_SIZE);
  const a = proc.accounting;
  if (pages.accountMode === 'user') {
    if (a.userLockedVm + n > limit) return false;
    a.userLockedVm += n;
  } else if (pages.accountMode === 'mm') {
    if (a.mmLockedVm + n > limit) return false;
    a.mmLockedVm += n;
  }
  a.mmPinnedVm += n;
  for (let i = first; i <= last; i++) {
    const p = pages.pinned.get(i);
    if (p) p.accounted = true;
  }
  return true;
}

/** Drop one pin of pages [first, last]; the last one unpins the page and gives back what it was charged. */
export function unpinPages(pages: IoptPages, first: bigint, last: bigint): void {
  const a = pages.proc.accounting;
  for (let i = first; i <= last; i++) {
    const p = pages.pinned.get(i);
    if (!p || --p.refs > 0) continue;
    pages.pinned.delete(i);
    pages.proc.unpin(p.phys);
    if (!p.accounted) continue;
    if (pages.accountMode === 'user') a.userLockedVm--;
    else if (pages.accountMode === 'mm') a.mmLockedVm--;
    a.mmPinnedVm--;
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
    for (let i = start; i <= last; i++) out.push(pages.pinned.get(i)!.phys);
    return out;
  };
  const same = pages.accesses.find((a) => a.start === start && a.last === last);
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
  pages.accesses.push({ start, last, users: 1, mem });
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
  const i = pages.accesses.findIndex((a) => a.start === start && a.last === last);
  if (k.printk.warn(i < 0, 'iopt_area_remove_access', 'WARN_ON(!access)')) return;
  const acc = pages.accesses[i];
  k.printk.warn(
    area.numAccesses === 0 || acc.users === 0,
    'iopt_area_remove_access',
    'WARN_ON(area->num_accesses == 0 || access->users == 0)',
  );
  area.numAccesses--;
  if (unlockArea) area.numLocks--;
  if (--acc.users) return;
  pages.accesses.splice(i, 1);
  unpinPages(pages, start, last);
  k.alloc.free(acc.mem, 'iopt_area_remove_access');
}
