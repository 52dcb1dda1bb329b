// SPDX-License-Identifier: GPL-2.0-only
/**
 * File-backed mappings and moving them to another process
 * (drivers/iommu/iommufd/ioas.c, v6.13 on: iommufd_ioas_map_file() with
 * iopt_map_file_pages(), and iommufd_ioas_change_process() with
 * need_charge_update(), charge_current() and change_mm()).
 *
 * IOMMU_IOAS_MAP_FILE maps bytes of a file (a memfd) by file offset, not by
 * user address: the pages object holds the file, and its pages are pinned
 * from the page cache as a domain or an access needs them (past the file's
 * end: -EINVAL). Such mappings do not depend on the mapping process's
 * address space, which is what lets a VMM hand the iommufd to a new process
 * (live update) and move the pinned-page accounting there with
 * IOMMU_IOAS_CHANGE_PROCESS: refused (-EINVAL, nothing changed) while any
 * IOAS has a mapping of user memory; the new process is charged first (its
 * RLIMIT_MEMLOCK: -ENOMEM, nothing changed), then the old one uncharged.
 */
import { EBADF, EINVAL, ENOMEM, EOPNOTSUPP, EOVERFLOW } from '../kernel/errno.js';
import { IOMMU_WRITE } from '../pgtable/prot.js';
import type { IommufdIoas } from './ioas.js';
import { MAP_FLAGS, convIommuProt, getIoas, ioptMapCommon } from './ioas.js';
import type { IoptPages } from './io-pagetable.js';
import { ULONG_MAX } from './io-pagetable.js';
import { accountedPages, updatePinned } from './pages.js';
import { IOMMU_IOAS_MAP_FIXED_IOVA, IOMMU_IOAS_MAP_READABLE, IOMMU_IOAS_MAP_WRITEABLE } from './uapi.js';
import type { Handler } from './ucmd.js';
import { n32, n64 } from './ucmd.js';

/** The pages object of every area of every IOAS of the context, each once, in IOAS and IOVA order. */
function allPages(ioases: IommufdIoas[]): { pages: IoptPages[]; userMemory: boolean } {
  const seen = new Set<IoptPages>();
  let userMemory = false;
  for (const ioas of ioases)
    for (let node = ioas.iopt.areas.first(); node; node = ioas.iopt.areas.next(node)) {
      const p = node.value.pages;
      if (!p) continue;
      if (!p.file) userMemory = true;
      seen.add(p);
    }
  return { pages: [...seen], userMemory };
}

export const ioasFileHandlers: Readonly<Record<string, Handler>> = {
  /** iommufd_ioas_map_file() */
  IOMMU_IOAS_MAP_FILE: (u) => {
    const c = u.cmd;
    const ctx = u.ctx;
    const flags = n32(c.flags);
    if (flags & ~MAP_FLAGS) return -EOPNOTSUPP;
    const length = n64(c.length);
    if (n64(c.iova) >= ULONG_MAX || length >= ULONG_MAX) return -EOVERFLOW;
    if (!(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) return -EINVAL;
    const ioas = getIoas(ctx, n32(c.ioas_id));
    if (typeof ioas === 'number') return ioas;
    // iopt_map_file_pages(): fget(), the pages object holding the file, then iopt_map_common().
    const file = ctx.proc.fget(n32(c.fd));
    if (!file) return -EBADF;
    const prot = convIommuProt(flags);
    const start = n64(c.start);
    const pages = ioas.iopt.allocFilePages(file, start, length, !!(prot & IOMMU_WRITE), ctx.proc);
    if (typeof pages === 'number') return pages;
    const got = ioptMapCommon(
      ctx,
      ioas.iopt,
      pages,
      start - pages.uptr,
      length,
      n64(c.iova),
      prot,
      !(flags & IOMMU_IOAS_MAP_FIXED_IOVA),
    );
    if (typeof got === 'number') return got;
    c.iova = got;
    return u.respond();
  },

  /** iommufd_ioas_change_process(): the calling process is the new owner of every mapping's accounting. */
  IOMMU_IOAS_CHANGE_PROCESS: (u) => {
    const ctx = u.ctx;
    if (u.cmd.__reserved) return -EOPNOTSUPP;
    const cur = ctx.proc;
    // iommufd_take_all_iova_rwsem(): every IOAS of the context.
    const ioases = [...ctx.entries()].filter((o): o is IommufdIoas => o.type === 'IOAS');
    const { pages, userMemory } = allPages(ioases);
    if (userMemory) return -EINVAL;
    // need_charge_update(): each process is its own mm and user here.
    const moving = pages.filter((p) => p.accountMode !== 'none' && p.proc !== cur);
    const modes = ['user', 'mm'] as const;
    const counts = modes.map((m) =>
      moving.filter((p) => p.accountMode === m).reduce((n, p) => n + accountedPages(p), 0),
    );
    // charge_current(): all of it to the caller first, undone if a mode does not fit.
    for (let i = 0; i < modes.length; i++) {
      if (!counts[i] || updatePinned(cur, modes[i], counts[i], true)) continue;
      for (let j = 0; j < i; j++) if (counts[j]) updatePinned(cur, modes[j], counts[j], false);
      return -ENOMEM;
    }
    for (const p of moving) updatePinned(p.proc, p.accountMode, accountedPages(p), false);
    // change_mm()
    for (const p of pages) p.proc = cur;
    return 0;
  },
};
