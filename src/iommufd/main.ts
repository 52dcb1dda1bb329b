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
 * Objects (iommufd_object_alloc(), _finalize(), _abort(), _remove()): ids
 * are the lowest free in [1, 2^31 - 1] (xa_alloc with XA_FLAGS_ALLOC1 and
 * xa_limit_31b), reserved at allocation and visible to lookups only once
 * finalized; `users` starts at 1 (the table's) and each dependent object
 * holds one, so DESTROY of an object someone uses is -EBUSY.
 *
 * Modelled commands: DESTROY, IOAS_ALLOC, IOAS_ALLOW_IOVAS, IOAS_COPY,
 * IOAS_IOVA_RANGES, IOAS_MAP, IOAS_UNMAP, OPTION, VFIO_IOAS, and with CONFIG_IOMMUFD_TEST
 * IOMMU_TEST_CMD's ADD_RESERVED and SET_TEMP_MEMORY_LIMIT. The rest of 6.12's table
 * (HWPT_ALLOC, GET_HW_INFO, the dirty-tracking and invalidate
 * commands, FAULT_QUEUE_ALLOC) passes the generic checks and then throws a
 * NotModelledError naming the command rather than answering wrongly.
 */
import type { Allocation } from '../kernel/alloc.js';
import {
  E2BIG,
  EBADF,
  EBUSY,
  EFAULT,
  EINVAL,
  EMSGSIZE,
  ENOENT,
  ENODEV,
  ENOMEM,
  ENOTTY,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
} from '../kernel/errno.js';
import { Ida } from '../kernel/ida.js';
import type { Kernel } from '../kernel/kernel.js';
import type { UserProcess } from '../mm/user-mm.js';
import { userPtr } from '../mm/user-mm.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../pgtable/prot.js';
import type { PagesListElm } from './io-pagetable.js';
import { IoPagetable, ULONG_MAX } from './io-pagetable.js';
import type { Decoded, IoctlOp } from './uapi.js';
import {
  IOCTL_OPS,
  IOMMUFD_CMD_BASE,
  IOMMU_TEST_OP,
  TEST_CMD_OP,
  testCmds,
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
  fieldEnd,
  iommufdCmd,
  ioctlNr,
  minSize,
  structs,
} from './uapi.js';

/** A command of 6.12's table the model does not implement yet. */
export class NotModelledError extends Error {
  constructor(command: string) {
    super(`iommufd: ${command} is not modelled yet`);
    this.name = 'NotModelledError';
  }
}

/** enum iommufd_object_type (the ones that exist so far). */
export type IommufdObjectType = 'IOAS';

export interface IommufdObject {
  readonly id: number;
  readonly type: IommufdObjectType;
  /** refcount users: 1 for the table, one per dependent object or driver reference. */
  users: number;
  readonly mem: Allocation;
}

/** struct iommufd_ioas */
export interface IommufdIoas extends IommufdObject {
  readonly type: 'IOAS';
  readonly iopt: IoPagetable;
}

const XA_LIMIT_31B = 2 ** 31 - 1;

/** struct iommufd_ctx */
export class IommufdCtx {
  /** id -> object, or null while reserved (allocated, not finalized). */
  private readonly objects = new Map<number, IommufdObject | null>();
  private readonly ids = new Ida();
  accountMode: 'user' | 'mm' = 'user';
  /** CAP_SYS_RESOURCE of the opener (RLIMIT_MODE needs it). */
  capSysResource = true;
  /** ictx->vfio_ioas: the IOAS VFIO compatibility uses (IOMMU_VFIO_IOAS), or null. */
  vfioIoas: IommufdIoas | null = null;
  /** iommufd_test_memory_limit as IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT left it (65536 by default; a module global in the kernel). */
  testMemoryLimit = 65536;
  private readonly mem: Allocation;

  constructor(
    readonly k: Kernel,
    readonly proc: UserProcess,
    mem: Allocation,
  ) {
    this.mem = mem;
  }

  /** Objects in the table, finalized ones. */
  get objectCount(): number {
    let n = 0;
    for (const o of this.objects.values()) if (o) n++;
    return n;
  }

  /** _iommufd_object_alloc(): the object with a reserved id, or -ENOMEM (the kzalloc) or -EBUSY (no id left). */
  allocObject<T extends IommufdObject>(make: (id: number, mem: Allocation) => T, type: string): T | number {
    const mem = this.k.alloc.alloc(`iommufd ${type}`, 'iommufd', '_iommufd_object_alloc');
    if (!mem) return -ENOMEM;
    if (this.ids.size >= XA_LIMIT_31B) {
      // xa_alloc() with no free id under xa_limit_31b.
      this.k.alloc.free(mem, '_iommufd_object_alloc');
      return -EBUSY;
    }
    const id = this.ids.alloc() + 1;
    this.objects.set(id, null);
    return make(id, mem);
  }

  /** iommufd_object_finalize(): lookups find it from now on. */
  finalize(obj: IommufdObject): void {
    this.objects.set(obj.id, obj);
  }

  /** iommufd_object_abort_and_destroy() */
  abortAndDestroy(obj: IommufdObject): void {
    this.destroyObject(obj);
    this.objects.delete(obj.id);
    this.ids.free(obj.id - 1);
  }

  /** iommufd_get_object(): the finalized object of that id and type, or -ENOENT. */
  get(id: number, type: IommufdObjectType): IommufdObject | number {
    const obj = this.objects.get(id);
    return obj && obj.type === type ? obj : -ENOENT;
  }

  /** iommufd_object_remove() from IOMMU_DESTROY: -ENOENT, -EBUSY while used, else destroyed. */
  remove(id: number): number {
    const obj = this.objects.get(id);
    if (!obj) return -ENOENT;
    if (obj.users !== 1) return -EBUSY;
    this.objects.delete(id);
    if (this.vfioIoas === obj) this.vfioIoas = null;
    this.ids.free(id - 1);
    this.destroyObject(obj);
    return 0;
  }

  private destroyObject(obj: IommufdObject): void {
    switch (obj.type) {
      case 'IOAS':
        (obj as IommufdIoas).iopt.destroy();
        break;
    }
    this.k.alloc.free(obj.mem, 'iommufd_object_remove');
  }

  /** iommufd_fops_release(): destroy every object with users 1, again and again, until none is left. */
  release(): void {
    while (this.objectCount > 0) {
      let destroyed = 0;
      for (const [id, obj] of [...this.objects]) {
        if (!obj || obj.users !== 1) continue;
        this.objects.delete(id);
        this.ids.free(id - 1);
        this.destroyObject(obj);
        destroyed++;
      }
      if (destroyed === 0) {
        this.k.printk.warn(true, 'iommufd_fops_release', 'WARN_ON(!destroyed): a users count never drops');
        break;
      }
    }
    this.k.alloc.free(this.mem, 'iommufd_fops_release');
  }
}

/** An open /dev/iommu. */
export interface IommufdFile {
  readonly ctx: IommufdCtx;
  /** ioctl(fd, cmd, arg): 0 or a negative errno; outputs are written into `arg`. */
  ioctl(cmd: number, arg: Uint8Array): number;
  /** close(fd): releases every object and pin. Further ioctls are -EBADF. */
  close(): void;
}

/** struct iommufd_ucmd: the command's struct in kernel memory, and where to respond. */
interface Ucmd {
  readonly ctx: IommufdCtx;
  readonly cmd: Decoded;
  /** The struct as copied in (a union member's fields are decoded from these). */
  readonly bytes: Uint8Array;
  respond(): number;
  /** copy_to_user() of one field of the struct. */
  respondField(name: string): number;
}

type Handler = (u: Ucmd) => number;

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
      ctx.release();
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

/** iommufd_ioctl_ops[]: 6.12's commands, and IOMMU_TEST_CMD in a kernel built with CONFIG_IOMMUFD_TEST. */
const TABLES = { plain: buildTable(IOCTL_OPS), test: buildTable([...IOCTL_OPS, TEST_CMD_OP]) };

/** iommufd_fops_ioctl() */
export function iommufdIoctl(ctx: IommufdCtx, cmd: number, arg: Uint8Array): number {
  const table = ctx.k.kconfig.IOMMUFD_TEST ? TABLES.test : TABLES.plain;
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

const n32 = (v: number | bigint): number => Number(v);
const n64 = (v: number | bigint): bigint => BigInt(v);

/** iommufd_get_ioas() */
function getIoas(ctx: IommufdCtx, id: number): IommufdIoas | number {
  return ctx.get(id, 'IOAS') as IommufdIoas | number;
}

/** conv_iommu_prot() */
function convIommuProt(flags: number): number {
  let prot = IOMMU_CACHE;
  if (flags & IOMMU_IOAS_MAP_WRITEABLE) prot |= IOMMU_WRITE;
  if (flags & IOMMU_IOAS_MAP_READABLE) prot |= IOMMU_READ;
  return prot;
}

const MAP_FLAGS = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE;

/** iommufd_ioas_alloc(): the IOAS object (not yet finalized) or an errno. */
export function ioasAlloc(ctx: IommufdCtx): IommufdIoas | number {
  return ctx.allocObject(
    (id, mem): IommufdIoas => ({
      id,
      type: 'IOAS',
      users: 1,
      mem,
      iopt: new IoPagetable(ctx.k, `ioas ${id}`),
    }),
    'ioas',
  );
}

/** Range i of the iommu_iova_range array at a user pointer, or -EFAULT (copy_from_user()). */
function readIovaRange(ctx: IommufdCtx, ptr: bigint, i: number): readonly [bigint, bigint] | number {
  const l = structs.iova_range;
  const base = userPtr(ptr);
  const bytes = base < 0 ? -EFAULT : ctx.proc.read(base + i * l.size, l.size);
  if (typeof bytes === 'number') return bytes;
  const r = decode(l, bytes);
  return [n64(r.start), n64(r.last)];
}

const HANDLERS: Readonly<Record<string, Handler>> = {
  /** iommufd_destroy() */
  IOMMU_DESTROY: (u) => u.ctx.remove(n32(u.cmd.id)),

  IOMMU_TEST_CMD: iommufdTest,

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
    const ptr = userPtr(n64(c.allowed_iovas));
    c.num_iovas = 0;
    c.out_iova_alignment = ioas.iopt.iovaAlignment;
    const l = structs.iova_range;
    let n = 0;
    for (const [start, last] of ioas.iopt.usableRanges()) {
      if (n < max) {
        const bytes = new Uint8Array(l.size);
        encode(l, { start, last }, bytes);
        if (ptr < 0 || u.ctx.proc.write(ptr + n * l.size, bytes)) return -EFAULT;
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
    const iopt = ioas.iopt;
    const prot = convIommuProt(flags);
    const uptr = n64(c.user_va);
    const length = n64(c.length);
    const pages = iopt.allocPages(uptr, length, !!(prot & IOMMU_WRITE), u.ctx.proc);
    if (typeof pages === 'number') return pages;
    if (u.ctx.accountMode === 'mm' && pages.accountMode === 'user') pages.accountMode = 'mm';
    const list: PagesListElm[] = [
      { pages, startByte: uptr - pages.uptr, length, area: null, areaMem: null, mem: null },
    ];
    const got = iopt.mapPages(list, length, n64(c.iova), prot, !(flags & IOMMU_IOAS_MAP_FIXED_IOVA));
    iopt.freePagesList(list);
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

/** The selftest's iommufd_test(): the IOMMU_TEST_OP_* the model handles; unknown ops are -EOPNOTSUPP. */
function iommufdTest(u: Ucmd): number {
  const op = n32(u.cmd.op);
  switch (op) {
    case IOMMU_TEST_OP.ADD_RESERVED: {
      // iommufd_test_add_reserved(): a reservation owned by nobody, kept until the IOAS goes.
      const c = decode(testCmds.add_reserved, u.bytes);
      const start = n64(c.start);
      const length = n64(c.length);
      if (length === 0n) return -EINVAL;
      if (start + length - 1n > ULONG_MAX) return -EOVERFLOW;
      const ioas = getIoas(u.ctx, n32(c.id));
      if (typeof ioas === 'number') return ioas;
      return ioas.iopt.reserveIova(start, start + length - 1n, null);
    }
    case IOMMU_TEST_OP.SET_TEMP_MEMORY_LIMIT: {
      // Only caps the kernel's internal batch buffers; it cannot be below one element.
      const c = decode(testCmds.memory_limit, u.bytes);
      if (n32(c.limit) < 8 + 4) return -EINVAL;
      u.ctx.testMemoryLimit = n32(c.limit);
      return 0;
    }
    default: {
      const name = Object.entries(IOMMU_TEST_OP).find(([, v]) => v === op)?.[0];
      if (name === undefined) return -EOPNOTSUPP;
      throw new NotModelledError(`IOMMU_TEST_CMD op IOMMU_TEST_OP_${name}`);
    }
  }
}

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
