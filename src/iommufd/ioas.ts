// SPDX-License-Identifier: GPL-2.0-only
/**
 * The IOAS commands (drivers/iommu/iommufd/ioas.c, 6.12): IOAS_ALLOC,
 * IOAS_IOVA_RANGES, IOAS_ALLOW_IOVAS, IOAS_MAP, IOAS_COPY, IOAS_UNMAP,
 * OPTION (RLIMIT_MODE for the context, HUGE_PAGES for an IOAS) and
 * VFIO_IOAS (vfio_compat.c), each over the IOAS's io_pagetable
 * (io-pagetable.ts).
 */
import {
  EBUSY,
  EFAULT,
  EINVAL,
  EMSGSIZE,
  ENODEV,
  ENOENT,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
} from '../kernel/errno.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../pgtable/prot.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';
import type { PagesListElm, IoptPages } from './io-pagetable.js';
import { IoPagetable, ULONG_MAX } from './io-pagetable.js';
import type { HwptPaging } from './hw-pagetable.js';
import type { Decoded } from './uapi.js';
import {
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_READABLE,
  IOMMU_IOAS_MAP_WRITEABLE,
  IOMMU_OPTION_HUGE_PAGES,
  IOMMU_OPTION_OP_GET,
  IOMMU_OPTION_OP_SET,
  IOMMU_OPTION_RLIMIT_MODE,
  IOMMU_VFIO_IOAS_CLEAR,
  IOMMU_VFIO_IOAS_GET,
  IOMMU_VFIO_IOAS_SET,
  U64_MAX,
  decode,
  encode,
  structs,
} from './uapi.js';
import type { Handler } from './ucmd.js';
import { copyFromUser, copyToUser } from './user-arg.js';
import { n32, n64 } from './ucmd.js';

/** struct iommufd_ioas */
export interface IommufdIoas extends IommufdObject {
  readonly type: 'IOAS';
  readonly iopt: IoPagetable;
  /** ioas->hwpt_list: the paging HWPTs whose domains hold this IOAS's mappings, oldest first. */
  readonly hwptList: HwptPaging[];
}

/**
 * iopt_map_user_pages(): a pages object for the user range and an area for
 * it at `iova` (or an allocated IOVA when `alloc`), filled into every
 * domain. The IOVA used, or an errno.
 */
export function ioptMapUserPages(
  ctx: IommufdCtx,
  iopt: IoPagetable,
  uptr: bigint,
  length: bigint,
  iova: bigint,
  prot: number,
  alloc: boolean,
): bigint | number {
  const pages = iopt.allocPages(uptr, length, !!(prot & IOMMU_WRITE), ctx.proc);
  if (typeof pages === 'number') return pages;
  return ioptMapCommon(ctx, iopt, pages, uptr - pages.uptr, length, iova, prot, alloc);
}

/** iopt_map_common(): the context's accounting mode, one area for the whole object. */
export function ioptMapCommon(
  ctx: IommufdCtx,
  iopt: IoPagetable,
  pages: IoptPages,
  startByte: bigint,
  length: bigint,
  iova: bigint,
  prot: number,
  alloc: boolean,
): bigint | number {
  if (ctx.accountMode === 'mm' && pages.accountMode === 'user') pages.accountMode = 'mm';
  const list: PagesListElm[] = [{ pages, startByte, length, area: null, areaMem: null, mem: null }];
  const got = iopt.mapPages(list, length, iova, prot, alloc);
  iopt.freePagesList(list);
  return got;
}

/** iommufd_get_ioas() */
export function getIoas(ctx: IommufdCtx, id: number): IommufdIoas | number {
  return ctx.get(id, 'IOAS') as IommufdIoas | number;
}

/** conv_iommu_prot() */
export function convIommuProt(flags: number): number {
  let prot = IOMMU_CACHE;
  if (flags & IOMMU_IOAS_MAP_WRITEABLE) prot |= IOMMU_WRITE;
  if (flags & IOMMU_IOAS_MAP_READABLE) prot |= IOMMU_READ;
  return prot;
}

export const MAP_FLAGS = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;

/** iommufd_ioas_alloc(): the IOAS object (not yet finalized) or an errno. */
export function ioasAlloc(ctx: IommufdCtx): IommufdIoas | number {
  return ctx.allocObject((id, mem): IommufdIoas => {
    const iopt = new IoPagetable(ctx.k, `ioas ${id}`);
    return {
      id,
      type: 'IOAS',
      users: 1,
      mem,
      iopt,
      hwptList: [],
      // iommufd_ioas_destroy(): every area unmapped, then the table's reservations freed.
      destroy: () => iopt.destroy(),
    };
  }, 'ioas');
}

/** Range i of the iommu_iova_range array at a user pointer, or -EFAULT (copy_from_user()). */
function readIovaRange(ctx: IommufdCtx, ptr: bigint, i: number): readonly [bigint, bigint] | number {
  const l = structs.iova_range;
  const bytes = copyFromUser(ctx.proc, ptr, l.size, i * l.size);
  if (typeof bytes === 'number') return bytes;
  const r = decode(l, bytes);
  return [n64(r.start), n64(r.last)];
}

/** The IOAS commands and the ones about the context (ioas.c, main.c, vfio_compat.c). */
export const ioasHandlers: Readonly<Record<string, Handler>> = {
  /** iommufd_vfio_ioas(): which IOAS the VFIO compatibility ioctls act on. */
  IOMMU_VFIO_IOAS: (u) => {
    const c = u.cmd;
    if (c.__reserved) return -EOPNOTSUPP;
    switch (n32(c.op)) {
      case IOMMU_VFIO_IOAS_GET: {
        // get_compat_ioas(): none set is -ENODEV.
        const ioas = u.ctx.vfioIoas;
        if (!ioas) return -ENODEV;
        c.ioas_id = ioas.id;
        return u.respond();
      }
      case IOMMU_VFIO_IOAS_SET: {
        const ioas = getIoas(u.ctx, n32(c.ioas_id));
        if (typeof ioas === 'number') return ioas;
        u.ctx.vfioIoas = ioas;
        return 0;
      }
      case IOMMU_VFIO_IOAS_CLEAR:
        u.ctx.vfioIoas = null;
        return 0;
      default:
        return -EOPNOTSUPP;
    }
  },

  /** iommufd_ioas_alloc_ioctl() */
  IOMMU_IOAS_ALLOC: (u) => {
    if (u.cmd.flags) return -EOPNOTSUPP;
    const ioas = ioasAlloc(u.ctx);
    if (typeof ioas === 'number') return ioas;
    u.cmd.out_ioas_id = ioas.id;
    const rc = u.respond();
    if (rc) {
      u.ctx.abortAndDestroy(ioas);
      return rc;
    }
    u.ctx.finalize(ioas);
    return 0;
  },

  /** iommufd_ioas_iova_ranges(): the holes of the reserved ranges; -EMSGSIZE when they did not all fit. */
  IOMMU_IOAS_IOVA_RANGES: (u) => {
    const c = u.cmd;
    if (c.__reserved) return -EOPNOTSUPP;
    const ioas = getIoas(u.ctx, n32(c.ioas_id));
    if (typeof ioas === 'number') return ioas;
    const max = n32(c.num_iovas);
    const ptr = n64(c.allowed_iovas);
    c.num_iovas = 0;
    c.out_iova_alignment = ioas.iopt.iovaAlignment;
    const l = structs.iova_range;
    let n = 0;
    for (const [start, last] of ioas.iopt.usableRanges()) {
      if (n < max) {
        const bytes = new Uint8Array(l.size);
        encode(l, { start, last }, bytes);
        if (copyToUser(u.ctx.proc, ptr, bytes, n * l.size)) return -EFAULT;
      }
      n++;
    }
    c.num_iovas = n;
    const rc = u.respond();
    if (rc) return rc;
    return n > max ? -EMSGSIZE : 0;
  },

  /** iommufd_ioas_allow_iovas() */
  IOMMU_IOAS_ALLOW_IOVAS: (u) => {
    const c = u.cmd;
    if (c.__reserved) return -EOPNOTSUPP;
    const ioas = getIoas(u.ctx, n32(c.ioas_id));
    if (typeof ioas === 'number') return ioas;
    const ptr = n64(c.allowed_iovas);
    return ioas.iopt.setAllowIova(n32(c.num_iovas), (i) => readIovaRange(u.ctx, ptr, i));
  },

  /** iommufd_ioas_map() + iopt_map_user_pages() */
  IOMMU_IOAS_MAP: (u) => {
    const c = u.cmd;
    const flags = n32(c.flags);
    if (flags & ~MAP_FLAGS || c.__reserved) return -EOPNOTSUPP;
    if (n64(c.iova) >= ULONG_MAX || n64(c.length) >= ULONG_MAX) return -EOVERFLOW;
    if (!(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) return -EINVAL;
    const ioas = getIoas(u.ctx, n32(c.ioas_id));
    if (typeof ioas === 'number') return ioas;
    const got = ioptMapUserPages(
      u.ctx,
      ioas.iopt,
      n64(c.user_va),
      n64(c.length),
      n64(c.iova),
      convIommuProt(flags),
      !(flags & IOMMU_IOAS_MAP_FIXED_IOVA),
    );
    if (typeof got === 'number') return got;
    c.iova = got;
    return u.respond();
  },

  /** iommufd_ioas_copy() */
  IOMMU_IOAS_COPY: (u) => {
    const c = u.cmd;
    const flags = n32(c.flags);
    if (flags & ~MAP_FLAGS) return -EOPNOTSUPP;
    const length = n64(c.length);
    if (length >= ULONG_MAX || n64(c.src_iova) >= ULONG_MAX || n64(c.dst_iova) >= ULONG_MAX)
      return -EOVERFLOW;
    if (!(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE))) return -EINVAL;
    const src = getIoas(u.ctx, n32(c.src_ioas_id));
    if (typeof src === 'number') return src;
    const list: PagesListElm[] = [];
    const rc = src.iopt.getPages(n64(c.src_iova), length, list);
    if (rc) return rc;
    const dst = getIoas(u.ctx, n32(c.dst_ioas_id));
    if (typeof dst === 'number') {
      src.iopt.freePagesList(list);
      return dst;
    }
    const got = dst.iopt.mapPages(
      list,
      length,
      n64(c.dst_iova),
      convIommuProt(flags),
      !(flags & IOMMU_IOAS_MAP_FIXED_IOVA),
    );
    // The list's leftovers (all of it on failure) go back through the destination's table.
    dst.iopt.freePagesList(list);
    if (typeof got === 'number') return got;
    c.dst_iova = got;
    return u.respond();
  },

  /** iommufd_ioas_unmap(): [0, U64_MAX] unmaps all; nothing unmapped otherwise is -ENOENT. */
  IOMMU_IOAS_UNMAP: (u) => {
    const c = u.cmd;
    const ioas = getIoas(u.ctx, n32(c.ioas_id));
    if (typeof ioas === 'number') return ioas;
    const iova = n64(c.iova);
    const length = n64(c.length);
    let unmapped: bigint;
    if (iova === 0n && length === U64_MAX) {
      const r = ioas.iopt.unmapRange(0n, ULONG_MAX);
      if (r.rc) return r.rc;
      unmapped = r.unmapped;
    } else {
      if (iova >= ULONG_MAX || length >= ULONG_MAX) return -EOVERFLOW;
      const r = ioas.iopt.unmapIova(iova, length);
      if (r.rc) return r.rc;
      if (r.unmapped === 0n) return -ENOENT;
      unmapped = r.unmapped;
    }
    c.length = unmapped;
    return u.respond();
  },

  /** iommufd_option(): RLIMIT_MODE for the context, HUGE_PAGES for an IOAS; only val64 goes back. */
  IOMMU_OPTION: (u) => {
    const c = u.cmd;
    if (c.__reserved) return -EOPNOTSUPP;
    let rc: number;
    switch (n32(c.option_id)) {
      case IOMMU_OPTION_RLIMIT_MODE:
        rc = optionRlimitMode(u.ctx, c);
        break;
      case IOMMU_OPTION_HUGE_PAGES: {
        // iommufd_ioas_option()
        const ioas = getIoas(u.ctx, n32(c.object_id));
        if (typeof ioas === 'number') return ioas;
        rc = optionHugePages(ioas, c);
        break;
      }
      default:
        return -EOPNOTSUPP;
    }
    if (rc) return rc;
    return u.respondField('val64');
  },
};

/** iommufd_option_rlimit_mode() */
function optionRlimitMode(ctx: IommufdCtx, c: Decoded): number {
  if (c.object_id) return -EOPNOTSUPP;
  if (n32(c.op) === IOMMU_OPTION_OP_GET) {
    c.val64 = ctx.accountMode === 'mm' ? 1n : 0n;
    return 0;
  }
  if (n32(c.op) === IOMMU_OPTION_OP_SET) {
    if (!ctx.capSysResource) return -EPERM;
    if (ctx.objectCount > 0) return -EBUSY;
    if (c.val64 === 0n) ctx.accountMode = 'user';
    else if (c.val64 === 1n) ctx.accountMode = 'mm';
    else return -EINVAL;
    return 0;
  }
  return -EOPNOTSUPP;
}

/** iommufd_ioas_option_huge_pages() */
function optionHugePages(ioas: IommufdIoas, c: Decoded): number {
  if (n32(c.op) === IOMMU_OPTION_OP_GET) {
    c.val64 = ioas.iopt.disableLargePages ? 0n : 1n;
    return 0;
  }
  if (n32(c.op) === IOMMU_OPTION_OP_SET) {
    if (c.val64 === 0n) return ioas.iopt.disableLarge();
    if (c.val64 === 1n) {
      ioas.iopt.enableLarge();
      return 0;
    }
    return -EINVAL;
  }
  return -EOPNOTSUPP;
}
