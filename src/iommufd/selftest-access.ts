// SPDX-License-Identifier: GPL-2.0-only
/**
 * The selftest's accesses (drivers/iommu/iommufd/selftest.c, 6.12:
 * struct selftest_access, iommufd_test_create_access(),
 * iommufd_test_access_pages(), iommufd_test_access_rw(),
 * iommufd_test_access_item_destroy(), iommufd_test_access_replace_ioas(),
 * iommufd_test_access_unmap(), iommufd_test_staccess_release()).
 *
 * CREATE_ACCESS makes an access on an IOAS and gives user space a file
 * descriptor for it; the other ACCESS_* ops take that descriptor in `id`
 * (-EBADFD for anything else). Each ACCESS_PAGES pin is an item with an id
 * (0, 1, 2 … per access); an unmap touching an item's range drops it (the
 * unmap callback), and closing the descriptor drops them all and destroys
 * the access.
 */
import { EBADE, EBADFD, EFAULT, ENOENT, ENOMEM, EOPNOTSUPP } from '../kernel/errno.js';
import type { Allocation } from '../kernel/alloc.js';
import type { ModelFile } from '../mm/user-mm.js';
import { USER_PAGE_SIZE, userPtr } from '../mm/user-mm.js';
import type { IommufdAccess } from './access.js';
import {
  iommufdAccessAttach,
  iommufdAccessCreate,
  iommufdAccessDestroy,
  iommufdAccessPinPages,
  iommufdAccessReplace,
  iommufdAccessRw,
  iommufdAccessUnpinPages,
} from './access.js';
import type { IommufdCtx } from './ctx.js';
import { ULONG_MAX } from './io-pagetable.js';
import { decode, encode, testCmds } from './uapi.js';
import type { Ucmd } from './ucmd.js';
import { copyFromUser, copyToUser } from './user-arg.js';
import { n32, n64 } from './ucmd.js';

/** iommufd_test.h */
export const MOCK_FLAGS_ACCESS_WRITE = 1 << 0;
export const MOCK_FLAGS_ACCESS_SYZ = 1 << 16;

/**
 * iommufd_test_syz_conv_iova(): for syzkaller, the u64 IOVA read as
 * { u32 nth_area, u32 offset }: that offset into the access's IOAS's nth
 * area, or 0 when there is no such area (or no IOAS).
 */
function syzConvIova(access: IommufdAccess, v: bigint): bigint {
  const areas = access.ioas?.iopt.areas;
  if (!areas) return 0n;
  let nth = Number(v & 0xffffffffn);
  for (let node = areas.first(); node; node = areas.next(node))
    if (nth-- === 0) return node.start + (v >> 32n);
  return 0n;
}
export const MOCK_ACCESS_RW_WRITE = 1 << 0;
export const MOCK_ACCESS_RW_SLOW_PATH = 1 << 2;
export const MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0;

const MAX_ACCESS = 16n * 1024n * 1024n;
const PAGE = BigInt(USER_PAGE_SIZE);

interface AccessItem {
  readonly iova: bigint;
  readonly length: bigint;
  readonly id: number;
  readonly mem: Allocation;
}

/** struct selftest_access: the file's private data. */
class SelftestAccess implements ModelFile {
  readonly name = '[iommufd_test_staccess]';
  access: IommufdAccess | null = null;
  readonly items: AccessItem[] = [];
  nextId = 0;
  needsPinPages = false;

  constructor(
    readonly ctx: IommufdCtx,
    readonly mem: Allocation,
  ) {}

  /** iommufd_test_access_unmap(): every item touching the range is unpinned and dropped. */
  unmap(iova: bigint, length: bigint): void {
    const last = iova + length - 1n;
    for (const item of [...this.items]) {
      if (iova > item.iova + item.length - 1n || last < item.iova) continue;
      this.items.splice(this.items.indexOf(item), 1);
      iommufdAccessUnpinPages(this.access!, item.iova, item.length);
      this.ctx.k.alloc.free(item.mem, 'iommufd_test_access_unmap');
    }
  }

  /** iommufd_test_staccess_release() */
  release(): void {
    if (this.access) {
      this.unmap(0n, ULONG_MAX);
      iommufdAccessDestroy(this.access);
    }
    this.ctx.k.alloc.free(this.mem, 'iommufd_test_staccess_release');
    this.ctx.flushRelease();
  }
}

/** iommufd_access_get(): the selftest access behind a descriptor of the process, or -EBADFD. */
function accessGet(ctx: IommufdCtx, fd: number): SelftestAccess | number {
  const f = ctx.proc.fget(fd);
  return f instanceof SelftestAccess && f.access ? f : -EBADFD;
}

/** iommufd_test_create_access(): an access on the IOAS and its descriptor. */
export function testCreateAccess(u: Ucmd): number {
  const c = decode(testCmds.create_access, u.bytes);
  const ctx = u.ctx;
  const flags = n32(c.flags);
  if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) return -EOPNOTSUPP;
  const mem = ctx.k.alloc.alloc('selftest_access', 'iommufd', 'iommufd_test_alloc_access');
  if (!mem) return -ENOMEM;
  const st = new SelftestAccess(ctx, mem);
  st.needsPinPages = (flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) !== 0;
  const access = iommufdAccessCreate(ctx, {
    needsPinPages: st.needsPinPages,
    unmap: (iova, length) => st.unmap(iova, length),
  });
  if (typeof access === 'number') {
    ctx.k.alloc.free(mem, 'iommufd_test_create_access');
    return access;
  }
  const rc = iommufdAccessAttach(access, n32(c.id));
  if (rc) {
    iommufdAccessDestroy(access);
    ctx.k.alloc.free(mem, 'iommufd_test_create_access');
    return rc;
  }
  st.access = access;
  c.out_access_fd = ctx.proc.installFd(st);
  encode(testCmds.create_access, c, u.bytes);
  return u.respond();
}

/** iommufd_test_access_replace_ioas() */
export function testAccessReplaceIoas(u: Ucmd): number {
  const c = decode(testCmds.access_replace_ioas, u.bytes);
  const st = accessGet(u.ctx, n32(c.id));
  if (typeof st === 'number') return st;
  return iommufdAccessReplace(st.access!, n32(c.ioas_id));
}

/**
 * iommufd_test_access_pages(): pin [iova, iova + length) through the access;
 * with a user pointer, each pinned page must be the one behind it (-EBADE).
 */
export function testAccessPages(u: Ucmd): number {
  const c = decode(testCmds.access_pages, u.bytes);
  const ctx = u.ctx;
  const length = n64(c.length);
  const flags = n32(c.flags);
  let iova = n64(c.iova);
  const uptr = n64(c.uptr);
  if (length > MAX_ACCESS) return -ENOMEM;
  if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ)) return -EOPNOTSUPP;
  const st = accessGet(ctx, n32(c.id));
  if (typeof st === 'number') return st;
  if (!st.needsPinPages) return -EOPNOTSUPP;
  if (flags & MOCK_FLAGS_ACCESS_SYZ) iova = syzConvIova(st.access!, iova);
  const k = ctx.k;
  const arr = k.alloc.alloc('access pages array', 'iommufd', 'iommufd_test_access_pages');
  if (!arr) return -ENOMEM;
  const done = (rc: number) => {
    k.alloc.free(arr, 'iommufd_test_access_pages');
    return rc;
  };
  const frames = iommufdAccessPinPages(st.access!, iova, length, flags & MOCK_FLAGS_ACCESS_WRITE);
  if (typeof frames === 'number') return done(frames);
  if (uptr) {
    // iommufd_test_check_pages(): from the user page holding the first byte.
    const base = userPtr(uptr - (iova % PAGE));
    for (let i = 0; i < frames.length; i++) {
      const info = base < 0 ? -EFAULT : ctx.proc.pageInfo(base + i * USER_PAGE_SIZE);
      let rc = 0;
      if (typeof info === 'number') rc = info;
      else if (info.phys - (info.phys % USER_PAGE_SIZE) !== frames[i]) rc = -EBADE;
      if (rc) {
        iommufdAccessUnpinPages(st.access!, iova, length);
        return done(rc);
      }
    }
  }
  const mem = k.alloc.alloc('selftest_access_item', 'iommufd', 'iommufd_test_access_pages');
  if (!mem) {
    iommufdAccessUnpinPages(st.access!, iova, length);
    return done(-ENOMEM);
  }
  const item: AccessItem = { iova, length, id: st.nextId++, mem };
  st.items.push(item);
  c.out_access_pages_id = item.id;
  encode(testCmds.access_pages, c, u.bytes);
  return done(u.respond());
}

/** iommufd_test_access_item_destroy(): unpin one item (-ENOENT when an unmap already dropped it). */
export function testDestroyAccessPages(u: Ucmd): number {
  const c = decode(testCmds.destroy_access_pages, u.bytes);
  const st = accessGet(u.ctx, n32(c.id));
  if (typeof st === 'number') return st;
  const i = st.items.findIndex((it) => it.id === n32(c.access_pages_id));
  if (i < 0) return -ENOENT;
  const [item] = st.items.splice(i, 1);
  iommufdAccessUnpinPages(st.access!, item.iova, item.length);
  u.ctx.k.alloc.free(item.mem, 'iommufd_test_access_item_destroy');
  return 0;
}

/** iommufd_test_access_rw(): copy between the user buffer and the IOAS through the access. */
export function testAccessRw(u: Ucmd): number {
  const c = decode(testCmds.access_rw, u.bytes);
  const ctx = u.ctx;
  const length = n64(c.length);
  const flags = n32(c.flags);
  if (length > MAX_ACCESS) return -ENOMEM;
  if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH | MOCK_FLAGS_ACCESS_SYZ)) return -EOPNOTSUPP;
  const st = accessGet(ctx, n32(c.id));
  if (typeof st === 'number') return st;
  const k = ctx.k;
  const tmp = k.alloc.alloc('access rw buffer', 'iommufd', 'iommufd_test_access_rw');
  if (!tmp) return -ENOMEM;
  const ubuf = n64(c.uptr);
  let data: Uint8Array = new Uint8Array(Number(length));
  let rc = 0;
  if (flags & MOCK_ACCESS_RW_WRITE) {
    const got = copyFromUser(ctx.proc, ubuf, data.length);
    if (typeof got === 'number') rc = got;
    else data = got;
  }
  const iova = flags & MOCK_FLAGS_ACCESS_SYZ ? syzConvIova(st.access!, n64(c.iova)) : n64(c.iova);
  if (!rc) rc = iommufdAccessRw(st.access!, iova, data, flags & MOCK_ACCESS_RW_WRITE);
  if (!rc && !(flags & MOCK_ACCESS_RW_WRITE) && copyToUser(ctx.proc, ubuf, data)) rc = -EFAULT;
  k.alloc.free(tmp, 'iommufd_test_access_rw');
  return rc;
}
