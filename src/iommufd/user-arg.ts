// SPDX-License-Identifier: GPL-2.0-only
/**
 * An ioctl's argument as the kernel sees it: user memory at `arg`, read with
 * copy_from_user() and written with copy_to_user(), each of which can fault.
 * Callers of the model give either the bytes at the pointer (a Uint8Array:
 * reading or writing past its end faults) or a user address in the process.
 */
import { EFAULT } from '../kernel/errno.js';
import type { UserProcess } from '../mm/user-mm.js';
import type { IommuUserData } from '../iommu/user-data.js';
import { userPtr } from '../mm/user-mm.js';

export interface UserArg {
  /** copy_from_user() of `len` bytes at arg + off, or -EFAULT. */
  read(off: number, len: number): Uint8Array | number;
  /** copy_to_user() at arg + off: 0 or -EFAULT. */
  write(off: number, bytes: Uint8Array): number;
}

/** copy_from_user() at a u64 user pointer from a struct (plus `off`): the bytes or -EFAULT. */
export function copyFromUser(proc: UserProcess, uptr: bigint, len: number, off = 0): Uint8Array | number {
  const p = userPtr(uptr);
  return p < 0 ? -EFAULT : proc.read(p + off, len);
}

/** copy_to_user() at a u64 user pointer from a struct (plus `off`): 0 or -EFAULT. */
export function copyToUser(proc: UserProcess, uptr: bigint, bytes: Uint8Array, off = 0): number {
  const p = userPtr(uptr);
  return p < 0 ? -EFAULT : proc.write(p + off, bytes);
}

/** The bytes at the pointer, as the caller handed them over. */
export function bytesArg(b: Uint8Array): UserArg {
  return {
    read: (off, len) => (off < 0 || len < 0 || off + len > b.length ? -EFAULT : b.slice(off, off + len)),
    write: (off, bytes) => {
      if (off < 0 || off + bytes.length > b.length) return -EFAULT;
      b.set(bytes, off);
      return 0;
    },
  };
}

/** A user address of the process. */
export function userAddrArg(proc: UserProcess, addr: number): UserArg {
  return {
    read: (off, len) => proc.read(addr + off, len),
    write: (off, bytes) => proc.write(addr + off, bytes),
  };
}

/** struct iommu_user_data of a command: driver data of `type` at a u64 user pointer, read and written in the process. */
export function userDataAt(proc: UserProcess, type: number, uptr: bigint, len: number): IommuUserData {
  return {
    type,
    len,
    read: (n) => copyFromUser(proc, uptr, n),
    write: (bytes) => copyToUser(proc, uptr, bytes),
  };
}
