// SPDX-License-Identifier: GPL-2.0-only
/**
 * Accesses: in-kernel users of an IOAS without DMA (drivers/iommu/iommufd/
 * device.c iommufd_access_create(), _destroy(), _attach(), _replace(),
 * iommufd_access_change_ioas(), iommufd_access_pin_pages(),
 * iommufd_access_unpin_pages(), iommufd_access_rw(), 6.12). Emulated
 * devices (mdev, vfio-ap, vfio-ccw) read and write guest memory through one;
 * the selftest drives one from user space (selftest.ts).
 *
 * An access attached to an IOAS holds a `users` reference on it and sits on
 * its io_pagetable's access list, raising the IOAS's IOVA alignment to a
 * page when it pins pages. Pins are per page range; unmapping an area some
 * access holds first asks every access on the IOAS to let go (its unmap
 * callback), so an unmap never leaves a pin behind.
 */
import type { Allocation } from '../kernel/alloc.js';
import { EBUSY, EINVAL, ENOENT, ENOMEM, EOVERFLOW, EPERM } from '../kernel/errno.js';
import { IOMMU_READ, IOMMU_WRITE } from '../pgtable/prot.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';
import type { IoptAccess } from './io-pagetable.js';
import { IoPagetable, PAGE_SIZE, ULONG_MAX } from './io-pagetable.js';
import { getIoas, type IommufdIoas } from './ioas.js';
import { addAccess, removeAccess, rwPages } from './pages.js';

/** IOMMUFD_ACCESS_RW_WRITE (include/linux/iommufd.h) */
export const IOMMUFD_ACCESS_RW_WRITE = 1 << 0;

/** struct iommufd_access_ops */
export interface IommufdAccessOps {
  readonly needsPinPages: boolean;
  unmap?(iova: bigint, length: bigint): void;
}

/** struct iommufd_access */
export interface IommufdAccess extends IommufdObject {
  readonly type: 'ACCESS';
  readonly ctx: IommufdCtx;
  readonly ops: IommufdAccessOps;
  /** The IOAS pins and reads go to; null when detached (or while moving). */
  ioas: IommufdIoas | null;
  /** The IOAS unpins go to: the old one until a move completes. */
  ioasUnpin: IommufdIoas | null;
  /** Its entry on the IOAS's access list. */
  listId: number;
  /** How the io_pagetable sees it. */
  readonly iopt: IoptAccess;
  /**
   * The core's own access (v6.17, a HW queue's): not in the object table,
   * not holding the context, and what it pins is locked against unmap.
   */
  readonly internal: boolean;
}

/** iommufd_access_change_ioas(): onto the new IOAS first, then off the old one (its pins dropped by unmap). */
function changeIoas(access: IommufdAccess, next: IommufdIoas | null): number {
  const cur = access.ioas;
  if (cur !== access.ioasUnpin) return -EBUSY;
  if (cur === next) return 0;
  access.ioas = null;
  const oldId = access.listId;
  if (next) {
    const id = next.iopt.addAccess(access.iopt);
    if (id < 0) {
      access.ioas = cur;
      return id;
    }
    access.listId = id;
    next.users++;
  }
  if (cur) {
    access.ops.unmap?.(0n, ULONG_MAX);
    cur.iopt.removeAccess(access.iopt, oldId);
    cur.users--;
  }
  access.ioas = next;
  access.ioasUnpin = next;
  return 0;
}

/** The access's fields; `destroy` is iommufd_access_destroy_object(). */
function makeAccess(
  ctx: IommufdCtx,
  id: number,
  mem: Allocation,
  ops: IommufdAccessOps,
  internal: boolean,
): IommufdAccess {
  const a: IommufdAccess = {
    id,
    type: 'ACCESS',
    users: 1,
    mem,
    ctx,
    ops,
    ioas: null,
    ioasUnpin: null,
    listId: -1,
    internal,
    iopt: {
      iovaAlignment: ops.needsPinPages ? PAGE_SIZE : 1n,
      unmap: (iova, length) => ops.unmap?.(iova, length),
    },
    destroy: () => {
      if (a.ioas)
        ctx.k.printk.warn(
          changeIoas(a, null) !== 0,
          'iommufd_access_destroy_object',
          'WARN_ON(iommufd_access_change_ioas())',
        );
      if (!internal) ctx.filePut();
    },
  };
  return a;
}

/** iommufd_access_create(): the ACCESS object, finalized, held by the calling driver. */
export function iommufdAccessCreate(ctx: IommufdCtx, ops: IommufdAccessOps): IommufdAccess | number {
  const access = ctx.allocObject((id, mem) => makeAccess(ctx, id, mem, ops, false), 'access');
  if (typeof access === 'number') return access;
  access.users++; // the driver's, until iommufd_access_destroy()
  ctx.fileGet();
  ctx.finalize(access);
  return access;
}

/** The ops of an internal access: it pins, and nothing asks it to let go (its areas are locked). */
const INTERNAL_ACCESS_OPS: IommufdAccessOps = { needsPinPages: true };

/** iommufd_access_create_internal() (v6.17) */
export function iommufdAccessCreateInternal(ctx: IommufdCtx): IommufdAccess | number {
  const mem = ctx.k.alloc.alloc('iommufd access', 'iommufd', 'iommufd_access_create_internal');
  if (!mem) return -ENOMEM;
  return makeAccess(ctx, 0, mem, INTERNAL_ACCESS_OPS, true);
}

/** iommufd_access_destroy_internal() */
export function iommufdAccessDestroyInternal(access: IommufdAccess): void {
  access.destroy();
  access.ctx.k.alloc.free(access.mem, 'iommufd_access_destroy_internal');
}

/** iommufd_access_attach_internal(): onto the IOAS (held). */
export function iommufdAccessAttachInternal(access: IommufdAccess, ioas: IommufdIoas): number {
  if (
    access.ctx.k.printk.warn(access.ioas !== null, 'iommufd_access_attach_internal', 'WARN_ON(access->ioas)')
  )
    return -EINVAL;
  return changeIoas(access, ioas);
}

/** iommufd_access_detach_internal() */
export function iommufdAccessDetachInternal(access: IommufdAccess): void {
  if (!access.ioas) return;
  access.ctx.k.printk.warn(
    changeIoas(access, null) !== 0,
    'iommufd_access_detach_internal',
    'WARN_ON(iommufd_access_change_ioas())',
  );
}

/** iommufd_access_destroy(): iommufd_object_destroy_user(). */
export function iommufdAccessDestroy(access: IommufdAccess): void {
  const rc = access.ctx.remove(access.id, access);
  access.ctx.k.printk.warn(
    rc !== 0,
    'iommufd_object_destroy_user',
    'WARN_ON(ret): the access is still in use',
  );
}

/** iommufd_access_change_ioas_id() */
function changeIoasId(access: IommufdAccess, id: number): number {
  const ioas = getIoas(access.ctx, id);
  if (typeof ioas === 'number') return ioas;
  return changeIoas(access, ioas);
}

/** iommufd_access_attach(): the first IOAS (-EINVAL with a WARN when already attached). */
export function iommufdAccessAttach(access: IommufdAccess, ioasId: number): number {
  if (access.ctx.k.printk.warn(access.ioas !== null, 'iommufd_access_attach', 'WARN_ON(access->ioas)'))
    return -EINVAL;
  return changeIoasId(access, ioasId);
}

/** iommufd_access_replace(): move an attached access (-ENOENT when it is not). */
export function iommufdAccessReplace(access: IommufdAccess, ioasId: number): number {
  if (!access.ioas) return -ENOENT;
  return changeIoasId(access, ioasId);
}

/** The range's last IOVA, or an errno (check_add_overflow(iova, length - 1)). */
function lastOf(iova: bigint, length: bigint): bigint | number {
  if (!length) return -EINVAL;
  const last = iova + length - 1n;
  return last > ULONG_MAX ? -EOVERFLOW : last;
}

const areaProtOk = (prot: number, flags: number): boolean =>
  (prot & (flags & IOMMUFD_ACCESS_RW_WRITE ? IOMMU_WRITE : IOMMU_READ)) !== 0;

/** iommufd_access_unpin_pages(): undo a pin of exactly that range. */
export function iommufdAccessUnpinPages(access: IommufdAccess, iova: bigint, length: bigint): void {
  const k = access.ctx.k;
  const last = lastOf(iova, length);
  if (k.printk.warn(typeof last === 'number', 'iommufd_access_unpin_pages', 'WARN_ON(!length || overflow)'))
    return;
  if (k.printk.warn(!access.ioasUnpin, 'iommufd_access_unpin_pages', 'WARN_ON(!access->ioas_unpin)')) return;
  const iopt = access.ioasUnpin!.iopt;
  const r = iopt.contigAreas(iova, last as bigint, (node, cur, l) => {
    removeAccess(
      k,
      node.value,
      IoPagetable.iovaToIndex(node, cur),
      IoPagetable.iovaToIndex(node, l),
      access.internal,
    );
    return 0;
  });
  k.printk.warn(!r.done, 'iommufd_access_unpin_pages', 'WARN_ON(!iopt_area_contig_done(&iter))');
}

/**
 * iommufd_access_pin_pages(): the frames behind [iova, iova + length),
 * which must be whole user pages in areas not being unmapped (-EINVAL),
 * with the right permission (-EPERM) and mapped throughout (-ENOENT).
 */
export function iommufdAccessPinPages(
  access: IommufdAccess,
  iova: bigint,
  length: bigint,
  flags: number,
): number[] | number {
  const k = access.ctx.k;
  if (
    k.printk.warn(
      access.iopt.iovaAlignment !== PAGE_SIZE || (!access.internal && !access.ops.unmap),
      'iommufd_access_pin_pages',
      "WARN_ON(access->iova_alignment != PAGE_SIZE || !access->ops->unmap): the driver's ops cannot pin",
    )
  )
    return -EINVAL;
  const last = lastOf(iova, length);
  if (typeof last === 'number') return last;
  if (!access.ioas) return -ENOENT;
  const iopt = access.ioas.iopt;
  const out: number[] = [];
  const r = iopt.contigAreas(iova, last, (node, cur, l) => {
    const area = node.value;
    // iopt_area_contig_is_aligned(): the piece starts on a page, and ends on one unless it is the last.
    const aligned =
      IoPagetable.startByte(node, cur) % PAGE_SIZE === 0n &&
      (l === last || IoPagetable.startByte(node, node.last) % PAGE_SIZE === PAGE_SIZE - 1n);
    if (area.preventAccess || !aligned) return -EINVAL;
    if (!areaProtOk(area.iommuProt, flags)) return -EPERM;
    const got = addAccess(
      k,
      area,
      IoPagetable.iovaToIndex(node, cur),
      IoPagetable.iovaToIndex(node, l),
      (flags & IOMMUFD_ACCESS_RW_WRITE) !== 0,
      access.internal,
    );
    if (typeof got === 'number') return got;
    out.push(...got);
    return 0;
  });
  const rc = r.rc || (r.done ? 0 : -ENOENT);
  if (!rc) return out;
  // err_remove: what was pinned before the failing piece.
  if (iova < r.cur)
    iopt.contigAreas(iova, r.cur - 1n, (node, cur, l) => {
      removeAccess(
        k,
        node.value,
        IoPagetable.iovaToIndex(node, cur),
        IoPagetable.iovaToIndex(node, l),
        access.internal,
      );
      return 0;
    });
  return rc;
}

/**
 * iommufd_access_rw(): copy between `data` and [iova, iova + length) of the
 * IOAS through the areas' user memory (-EFAULT where it is not there).
 */
export function iommufdAccessRw(
  access: IommufdAccess,
  iova: bigint,
  data: Uint8Array,
  flags: number,
): number {
  const last = lastOf(iova, BigInt(data.length));
  if (typeof last === 'number') return last;
  if (!access.ioas) return -ENOENT;
  const write = (flags & IOMMUFD_ACCESS_RW_WRITE) !== 0;
  let off = 0;
  const r = access.ioas.iopt.contigAreas(iova, last, (node, cur, l) => {
    const area = node.value;
    if (area.preventAccess) return -EINVAL;
    if (!areaProtOk(area.iommuProt, flags)) return -EPERM;
    const pages = area.pages!;
    if (flags & IOMMUFD_ACCESS_RW_WRITE && !pages.writable) return -EPERM;
    const n = Number(l - cur + 1n);
    const rc = rwPages(pages, IoPagetable.startByte(node, cur), data.subarray(off, off + n), write);
    if (rc) return rc;
    off += n;
    return 0;
  });
  return r.rc || (r.done ? 0 : -ENOENT);
}
