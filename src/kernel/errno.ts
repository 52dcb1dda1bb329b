// SPDX-License-Identifier: GPL-2.0-only
/**
 * Kernel error numbers (include/uapi/asm-generic/errno-base.h, errno.h and
 * include/linux/errno.h) and the ERR_PTR convention.
 *
 * Modelled kernel functions return 0 or a negative errno exactly as the kernel
 * does; functions that return a pointer return the object or an ErrPtr.
 */

export const errnoNames = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  EDEADLK: 35,
  ENOTTY: 25,
  ESPIPE: 29,
  EPROTO: 71,
  EBADE: 52,
  EBADFD: 77,
  EOVERFLOW: 75,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  ETIMEDOUT: 110,
  ENOSYS: 38,
  EPROBE_DEFER: 517,
} as const;

export type ErrnoName = keyof typeof errnoNames;

export const EPERM = errnoNames.EPERM;
export const ENOENT = errnoNames.ENOENT;
export const ENXIO = errnoNames.ENXIO;
export const EIO = errnoNames.EIO;
export const EAGAIN = errnoNames.EAGAIN;
export const ENOMEM = errnoNames.ENOMEM;
export const EACCES = errnoNames.EACCES;
export const EFAULT = errnoNames.EFAULT;
export const EBUSY = errnoNames.EBUSY;
export const EEXIST = errnoNames.EEXIST;
export const ENODEV = errnoNames.ENODEV;
export const EINVAL = errnoNames.EINVAL;
export const ENOSPC = errnoNames.ENOSPC;
export const ENOTTY = errnoNames.ENOTTY;
export const ESPIPE = errnoNames.ESPIPE;
export const EBADF = errnoNames.EBADF;
export const EMSGSIZE = errnoNames.EMSGSIZE;
export const EDEADLK = errnoNames.EDEADLK;
export const E2BIG = errnoNames.E2BIG;
export const EOVERFLOW = errnoNames.EOVERFLOW;
export const EPROTO = errnoNames.EPROTO;
export const EBADE = errnoNames.EBADE;
export const EBADFD = errnoNames.EBADFD;
export const ERANGE = errnoNames.ERANGE;
export const EOPNOTSUPP = errnoNames.EOPNOTSUPP;
export const EADDRINUSE = errnoNames.EADDRINUSE;
export const ETIMEDOUT = errnoNames.ETIMEDOUT;
export const EPROBE_DEFER = errnoNames.EPROBE_DEFER;

const byNumber = new Map<number, ErrnoName>(
  Object.entries(errnoNames).map(([name, value]) => [value, name as ErrnoName]),
);

/** "0" for success, "-ENODEV" for -19, "-E123" for an unknown number. */
export function errnoName(ret: number): string {
  if (ret === 0) return '0';
  const name = byNumber.get(Math.abs(ret));
  const text = name ?? `E${Math.abs(ret)}`;
  return ret < 0 ? `-${text}` : text;
}

/** Parses "-ENODEV", "ENODEV", "0" or "-19" back to a number (negative for errors). */
export function parseErrno(text: string): number | undefined {
  const t = text.trim();
  if (t === '0') return 0;
  const m = /^-?(E[A-Z_0-9]+)$/.exec(t);
  if (m) {
    const v = (errnoNames as Record<string, number>)[m[1]];
    return v === undefined ? undefined : -v;
  }
  if (/^-\d+$/.test(t)) return Number(t);
  return undefined;
}

/** The kernel's ERR_PTR(): an error encoded where a pointer was expected. */
export class ErrPtr {
  constructor(readonly errno: number) {
    if (errno >= 0) throw new RangeError(`ERR_PTR(${errno}): errno must be negative`);
  }
  toString(): string {
    return `ERR_PTR(${errnoName(this.errno)})`;
  }
}

/** One ErrPtr per errno (they are immutable): a driver turning a million devices down makes none. */
const errPtrs = new Map<number, ErrPtr>();

export function ERR_PTR(errno: number): ErrPtr {
  let p = errPtrs.get(errno);
  if (!p) errPtrs.set(errno, (p = new ErrPtr(errno)));
  return p;
}

export function IS_ERR<T>(p: T | ErrPtr): p is ErrPtr {
  return p instanceof ErrPtr;
}

export function PTR_ERR(p: ErrPtr): number {
  return p.errno;
}
