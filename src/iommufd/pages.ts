// SPDX-License-Identifier: GPL-2.0-only
/**
 * Pinning of a pages object's user pages (drivers/iommu/iommufd/pages.c,
 * 6.12, reduced to what the model observes): a page is pinned once per
 * pages object however many domains (and later accesses) use it, counted
 * per page index; the first pin faults the page in (-EFAULT outside a
 * mapping, or a read-only one for a writable object) and charges it to the
 * account mode's counter against RLIMIT_MEMLOCK (-ENOMEM past it:
 * incr_user_locked_vm() for 'user', the mm's locked_vm for 'mm', nothing
 * for 'none' with CAP_IPC_LOCK), and always to the mm's pinned_vm; the last
 * unpin gives it back (pfn_reader / iopt_pages_fill_xarray / unpin paths).
 */
import { EFAULT, ENOMEM } from '../kernel/errno.js';
import type { UserProcess } from '../mm/user-mm.js';
import { USER_PAGE_SIZE } from '../mm/user-mm.js';
import type { IoptPages } from './io-pagetable.js';

const PAGE = BigInt(USER_PAGE_SIZE);

/** The user address of page `index` of a pages object, as a number (user space is below 2^47). */
const pageAddr = (pages: IoptPages, index: bigint): number => Number(pages.uptr + index * PAGE);

/** Charge one page to the object's account; false when RLIMIT_MEMLOCK says no. */
function account(proc: UserProcess, pages: IoptPages): boolean {
  const limit = Math.floor(proc.rlimitMemlock / USER_PAGE_SIZE);
  const a = proc.accounting;
  if (pages.accountMode === 'user') {
    if (a.userLockedVm + 1 > limit) return false;
    a.userLockedVm++;
  } else if (pages.accountMode === 'mm') {
    if (a.mmLockedVm + 1 > limit) return false;
    a.mmLockedVm++;
  }
  a.mmPinnedVm++;
  return true;
}

function unaccount(proc: UserProcess, pages: IoptPages): void {
  const a = proc.accounting;
  if (pages.accountMode === 'user') a.userLockedVm--;
  else if (pages.accountMode === 'mm') a.mmLockedVm--;
  a.mmPinnedVm--;
}

/**
 * Pin pages [first, last] of a pages object: their physical addresses, or
 * a negative errno with nothing left pinned by this call.
 */
export function pinPages(pages: IoptPages, first: bigint, last: bigint): number[] | number {
  const got: number[] = [];
  for (let i = first; i <= last; i++) {
    const p = pages.pinned.get(i);
    if (p) {
      p.refs++;
      got.push(p.phys);
      continue;
    }
    const phys = pages.proc.physOf(pageAddr(pages, i), pages.writable);
    if (phys < 0 || !account(pages.proc, pages)) {
      if (first < i) unpinPages(pages, first, i - 1n);
      return phys < 0 ? -EFAULT : -ENOMEM;
    }
    pages.pinned.set(i, { phys, refs: 1 });
    got.push(phys);
  }
  return got;
}

/** Drop one pin of pages [first, last]; the last one unpins and unaccounts the page. */
export function unpinPages(pages: IoptPages, first: bigint, last: bigint): void {
  for (let i = first; i <= last; i++) {
    const p = pages.pinned.get(i);
    if (!p) continue;
    if (--p.refs === 0) {
      pages.pinned.delete(i);
      unaccount(pages.proc, pages);
    }
  }
}
