// SPDX-License-Identifier: GPL-2.0-only
/**
 * /dev/iommu (drivers/iommu/iommufd/main.c, ioas.c; 6.12): open() makes an
 * iommufd_ctx with its object table; ioctl() takes the command number and
 * the bytes of its uAPI struct exactly as include/uapi/linux/iommufd.h lays
 * them out, runs the kernel's generic checks in the kernel's order, then the
 * command, and writes the outputs back into those bytes; close() destroys
 * every object, leaves first.
 *
 * Generic checks (iommufd_fops_ioctl()): an _IOC_NR outside the table goes
 * to the VFIO compatibility handler (vfio-compat.ts: -ENOTTY for commands
 * it does not know); the leading u32 size is read first (-EFAULT where it
 * cannot be); a table slot whose
 * number is not exactly the command is -ENOTTY (-ENOIOCTLCMD); a size below
 * the command's min_size is -EINVAL; a size past the kernel struct needs
 * zeros in the extra bytes (-E2BIG, copy_struct_from_user()), and bytes
 * missing from a shorter struct read as zero.
 *
 * The table of commands is the kernel profile's (iommufdLastCmd), and so is
 * what its commands do where releases differ (features.ts); a struct that
 * grew is as long as that kernel's (uapi.ts kernelSize()). Commands without
 * a handler pass the generic checks and then throw NotModelledError.
 *
 * The object table is ctx.ts; the commands are ioas.ts (the IOAS commands,
 * OPTION, VFIO_IOAS), hw-pagetable.ts (HWPT_ALLOC, HWPT_INVALIDATE),
 * dirty.ts (HWPT_SET_DIRTY_TRACKING, HWPT_GET_DIRTY_BITMAP), hw-info.ts
 * (GET_HW_INFO), fault.ts (FAULT_QUEUE_ALLOC and the fault file), and
 * viommu.ts (VIOMMU_ALLOC, VDEVICE_ALLOC), veventq.ts (VEVENTQ_ALLOC and
 * its file), hw-queue.ts (HW_QUEUE_ALLOC),
 * selftest.ts (IOMMU_TEST_CMD with CONFIG_IOMMUFD_TEST); device.ts and
 * access.ts are the in-kernel APIs drivers (and the selftest) use.
 */
import { E2BIG, EBADF, EFAULT, EINVAL, ENOMEM, ENOTTY } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import type { UserProcess } from '../mm/user-mm.js';
import { IommufdCtx } from './ctx.js';
import { hwptHandlers } from './hw-pagetable.js';
import { dirtyHandlers } from './dirty.js';
import { hwInfoHandlers } from './hw-info.js';
import { faultHandlers } from './fault.js';
import { ioasHandlers } from './ioas.js';
import { iommufdTest } from './selftest.js';
import { viommuHandlers } from './viommu.js';
import { ioasFileHandlers } from './ioas-file.js';
import { veventqHandlers } from './veventq.js';
import { hwQueueHandlers } from './hw-queue.js';
import { iommufdFopsMmap } from './mmap.js';
import type { IoctlOp } from './uapi.js';
import {
  IOCTL_OPS,
  IOMMUFD_CMD_BASE,
  TEST_CMD_OP,
  decode,
  encode,
  fieldEnd,
  iommufdCmd,
  ioctlNr,
  kernelSize,
  minSize,
  structs,
} from './uapi.js';
import type { Handler, Ucmd } from './ucmd.js';
import { NotModelledError, n32 } from './ucmd.js';
import type { UserArg } from './user-arg.js';
import { bytesArg, userAddrArg } from './user-arg.js';
import { iommufdVfioIoctl } from './vfio-compat.js';

export { IommufdCtx, NotModelledError };
export type { IommufdObject, IommufdObjectType } from './ctx.js';
export type { IommufdIoas } from './ioas.js';
export { ioasAlloc } from './ioas.js';

/** An open /dev/iommu. */
export interface IommufdFile {
  readonly ctx: IommufdCtx;
  /** Its descriptor in the process (for mmap() through UserProcess.mmapFile()). */
  readonly fd: number;
  /**
   * ioctl(fd, cmd, arg): 0 (or a command's positive result) or a negative
   * errno. `arg` is the struct's bytes (outputs are written back into them),
   * or a user address of the process, or an integer argument. `caller`: the
   * ioctl comes from another process holding the file (its memory and
   * descriptors are the ones used).
   */
  ioctl(cmd: number, arg: Uint8Array | number, caller?: UserProcess): number;
  /**
   * close(fd): releases every object and pin, or, while an access (a
   * selftest access fd) still holds the context, when that goes. Further
   * ioctls are -EBADF.
   */
  close(): void;
}

/** iommufd_fops_open(): a new context, or -ENOMEM. */
export function openIommufd(k: Kernel, proc: UserProcess): IommufdFile | number {
  const mem = k.alloc.alloc('iommufd_ctx', 'iommufd', 'iommufd_fops_open');
  if (!mem) return -ENOMEM;
  const ctx = new IommufdCtx(k, proc, mem);
  let closed = false;
  const fd = proc.installFd({
    name: '/dev/iommu',
    // iommufd_fops_release(), once the last reference (accesses, event files, devices) is gone.
    release: () => {
      closed = true;
      ctx.filePut();
      ctx.flushRelease();
    },
    mmap: (pgoff, length, shared, exec) => iommufdFopsMmap(ctx, pgoff, length, shared, exec),
  });
  return {
    ctx,
    fd,
    ioctl: (cmd, arg, caller) => {
      if (closed) return -EBADF;
      return caller ? ctx.runAs(caller, () => iommufdIoctl(ctx, cmd, arg)) : iommufdIoctl(ctx, cmd, arg);
    },
    close: () => {
      if (!closed) proc.close(fd);
    },
  };
}

interface OpTable {
  readonly len: number;
  readonly bySlot: ReadonlyMap<number, { readonly op: IoctlOp; readonly minSize: number }>;
}

function buildTable(ops: readonly IoctlOp[]): OpTable {
  return {
    len: Math.max(...ops.map((o) => o.nr)) - IOMMUFD_CMD_BASE + 1,
    bySlot: new Map(ops.map((o) => [o.nr - IOMMUFD_CMD_BASE, { op: o, minSize: minSize(o) }])),
  };
}

const tables = new Map<number, OpTable>();

/**
 * iommufd_ioctl_ops[] of the kernel: the profile's commands (0x80 to its
 * iommufdLastCmd), and IOMMU_TEST_CMD in a kernel built with
 * CONFIG_IOMMUFD_TEST.
 */
function tableOf(lastCmd: number, test: boolean): OpTable {
  const key = test ? lastCmd : -lastCmd;
  let t = tables.get(key);
  if (!t) {
    const ops = IOCTL_OPS.filter((o) => o.nr <= lastCmd);
    t = buildTable(test ? [...ops, TEST_CMD_OP] : ops);
    tables.set(key, t);
  }
  return t;
}

/**
 * iommufd_fops_ioctl(): `arg` is the bytes at the ioctl's pointer, or a user
 * address of the process (or, for VFIO_SET_IOMMU and VFIO_CHECK_EXTENSION,
 * the integer argument).
 */
export function iommufdIoctl(ctx: IommufdCtx, cmd: number, arg: Uint8Array | number): number {
  const table = tableOf(ctx.k.profile.iommufdLastCmd, ctx.k.kconfig.IOMMUFD_TEST);
  const nr = ioctlNr(cmd);
  const a = typeof arg === 'number' ? userAddrArg(ctx.proc, arg) : bytesArg(arg);
  if (nr < IOMMUFD_CMD_BASE || nr - IOMMUFD_CMD_BASE >= table.len)
    return iommufdVfioIoctl(ctx, cmd, a, typeof arg === 'number' ? arg : null);
  const head = a.read(0, 4); // get_user(ucmd.user_size)
  if (typeof head === 'number') return -EFAULT;
  const userSize = (head[0] | (head[1] << 8) | (head[2] << 16) | (head[3] << 24)) >>> 0;
  const slot = table.bySlot.get(nr - IOMMUFD_CMD_BASE);
  if (!slot || iommufdCmd(slot.op.nr) !== cmd) return -ENOTTY;
  const op = slot.op;
  if (userSize < slot.minSize) return -EINVAL;
  const l = structs[op.struct];
  const ksize = kernelSize(op, ctx.k.profile.iommufdLastCmd);
  const buf = new Uint8Array(l.size);
  const rc = copyStructFromUser(buf.subarray(0, ksize), a, userSize);
  if (rc) return rc;
  const decoded = decode(l, buf);
  const u: Ucmd = {
    ctx,
    cmd: decoded,
    bytes: buf,
    // iommufd_ucmd_respond(): min(user_size, kernel size) bytes back.
    respond: () => {
      encode(l, decoded, buf);
      return a.write(0, buf.subarray(0, Math.min(userSize, ksize))) ? -EFAULT : 0;
    },
    respondField: (name) => {
      encode(l, decoded, buf);
      const f = l.byName.get(name)!;
      return a.write(f.offset, buf.subarray(f.offset, fieldEnd(f))) ? -EFAULT : 0;
    },
  };
  return handlerOf(op)(u);
}

/**
 * copy_struct_from_user(): past the kernel's struct the user's bytes must be
 * zero (check_zeroed_user(): -E2BIG, or -EFAULT where they cannot be read,
 * whichever comes first), then what the user's size holds, zeros past it.
 */
function copyStructFromUser(dst: Uint8Array, arg: UserArg, userSize: number): number {
  for (let at = dst.length; at < userSize;) {
    const n = Math.min(4096, userSize - at);
    const chunk = arg.read(at, n);
    if (typeof chunk === 'number') {
      for (let i = at; i < at + n; i++) {
        const b = arg.read(i, 1);
        if (typeof b === 'number') return -EFAULT;
        if (b[0] !== 0) return -E2BIG;
      }
    } else if (chunk.some((x) => x !== 0)) {
      return -E2BIG;
    }
    at += n;
  }
  const got = arg.read(0, Math.min(userSize, dst.length));
  if (typeof got === 'number') return -EFAULT;
  dst.set(got);
  return 0;
}

function handlerOf(op: IoctlOp): Handler {
  const h = HANDLERS[op.name];
  if (h) return h;
  return () => {
    throw new NotModelledError(op.name);
  };
}

/** iommufd_ioctl_ops[]'s handlers, by command name. */
const HANDLERS: Readonly<Record<string, Handler>> = {
  /** iommufd_destroy() */
  IOMMU_DESTROY: (u) => u.ctx.remove(n32(u.cmd.id)),
  ...ioasHandlers,
  ...hwptHandlers,
  ...dirtyHandlers,
  ...hwInfoHandlers,
  ...faultHandlers,
  ...ioasFileHandlers,
  ...viommuHandlers,
  ...veventqHandlers,
  ...hwQueueHandlers,
  IOMMU_TEST_CMD: iommufdTest,
};
