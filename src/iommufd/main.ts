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
 * to the VFIO compatibility handler (not modelled yet: -ENOTTY, which is
 * what it answers for commands it does not know); the leading u32 size is
 * read first (-EFAULT when the bytes are shorter than 4); a table slot whose
 * number is not exactly the command is -ENOTTY (-ENOIOCTLCMD); a size below
 * the command's min_size is -EINVAL; a size past the kernel struct needs
 * zeros in the extra bytes (-E2BIG, copy_struct_from_user()), and bytes
 * missing from a shorter struct read as zero.
 *
 * The table of commands is the kernel profile's (iommufdLastCmd); the
 * struct layouts and the commands' behaviour are 6.12's, and commands
 * newer than 6.12 pass the generic checks and then throw NotModelledError.
 *
 * The object table is ctx.ts; the commands are ioas.ts (the IOAS commands,
 * OPTION, VFIO_IOAS), hw-pagetable.ts (HWPT_ALLOC, HWPT_INVALIDATE),
 * dirty.ts (HWPT_SET_DIRTY_TRACKING, HWPT_GET_DIRTY_BITMAP), hw-info.ts
 * (GET_HW_INFO), fault.ts (FAULT_QUEUE_ALLOC and the fault file), and
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
  minSize,
  structs,
} from './uapi.js';
import type { Handler, Ucmd } from './ucmd.js';
import { NotModelledError, n32 } from './ucmd.js';

export { IommufdCtx, NotModelledError };
export type { IommufdObject, IommufdObjectType } from './ctx.js';
export type { IommufdIoas } from './ioas.js';
export { ioasAlloc } from './ioas.js';

/** An open /dev/iommu. */
export interface IommufdFile {
  readonly ctx: IommufdCtx;
  /** ioctl(fd, cmd, arg): 0 or a negative errno; outputs are written into `arg`. */
  ioctl(cmd: number, arg: Uint8Array): number;
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
  return {
    ctx,
    ioctl: (cmd, arg) => (closed ? -EBADF : iommufdIoctl(ctx, cmd, arg)),
    close: () => {
      if (closed) return;
      closed = true;
      ctx.filePut();
      ctx.flushRelease();
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

const tables = new Map<string, OpTable>();

/**
 * iommufd_ioctl_ops[] of the kernel: the profile's commands (0x80 to its
 * iommufdLastCmd), and IOMMU_TEST_CMD in a kernel built with
 * CONFIG_IOMMUFD_TEST.
 */
function tableOf(lastCmd: number, test: boolean): OpTable {
  const key = `${lastCmd}/${test}`;
  let t = tables.get(key);
  if (!t) {
    const ops = IOCTL_OPS.filter((o) => o.nr <= lastCmd);
    t = buildTable(test ? [...ops, TEST_CMD_OP] : ops);
    tables.set(key, t);
  }
  return t;
}

/** iommufd_fops_ioctl() */
export function iommufdIoctl(ctx: IommufdCtx, cmd: number, arg: Uint8Array): number {
  const table = tableOf(ctx.k.profile.iommufdLastCmd, ctx.k.kconfig.IOMMUFD_TEST);
  const nr = ioctlNr(cmd);
  if (nr < IOMMUFD_CMD_BASE || nr - IOMMUFD_CMD_BASE >= table.len) return -ENOTTY; // iommufd_vfio_ioctl()
  if (arg.length < 4) return -EFAULT; // get_user(ucmd.user_size)
  const userSize = new DataView(arg.buffer, arg.byteOffset, 4).getUint32(0, true);
  const slot = table.bySlot.get(nr - IOMMUFD_CMD_BASE);
  if (!slot || iommufdCmd(slot.op.nr) !== cmd) return -ENOTTY;
  const op = slot.op;
  if (userSize < slot.minSize) return -EINVAL;
  const l = structs[op.struct];
  const buf = new Uint8Array(l.size);
  const rc = copyStructFromUser(buf, arg, userSize);
  if (rc) return rc;
  const decoded = decode(l, buf);
  const u: Ucmd = {
    ctx,
    cmd: decoded,
    bytes: buf,
    // iommufd_ucmd_respond(): min(user_size, kernel size) bytes back.
    respond: () => {
      encode(l, decoded, buf);
      arg.set(buf.subarray(0, Math.min(userSize, l.size)));
      return 0;
    },
    respondField: (name) => {
      encode(l, decoded, buf);
      const f = l.byName.get(name)!;
      arg.set(buf.subarray(f.offset, fieldEnd(f)), f.offset);
      return 0;
    },
  };
  return handlerOf(op)(u);
}

/** copy_struct_from_user(): what the user's size holds, zeros past it, -E2BIG for non-zero bytes past the kernel's. */
function copyStructFromUser(dst: Uint8Array, arg: Uint8Array, userSize: number): number {
  if (arg.length < userSize) return -EFAULT;
  if (userSize > dst.length) {
    for (let i = dst.length; i < userSize; i++) if (arg[i] !== 0) return -E2BIG;
  }
  dst.set(arg.subarray(0, Math.min(userSize, dst.length)));
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
  IOMMU_TEST_CMD: iommufdTest,
};
