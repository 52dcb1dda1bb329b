// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommu_user_data, struct iommu_user_data_array and
 * iommu_copy_struct_from_user(), iommu_copy_struct_from_user_array(),
 * iommu_copy_struct_from_full_user_array() and iommu_copy_struct_to_user()
 * (include/linux/iommu.h, 6.12 and later): driver-specific data a user passes with
 * IOMMU_HWPT_ALLOC or IOMMU_HWPT_INVALIDATE, by type, user pointer and
 * length. The driver names the struct it expects and the last field its
 * first version had: another type, data shorter than that first version or
 * longer than the driver's struct is -EINVAL; an unmapped pointer -EFAULT;
 * fields past what the user gave read as zero.
 */
import { E2BIG, EFAULT, EINVAL } from '../kernel/errno.js';

export interface IommuUserData {
  /** enum iommu_hwpt_data_type */
  readonly type: number;
  readonly len: number;
  /** copy_from_user() of `len` bytes at the user pointer: the bytes or -EFAULT. */
  read(len: number): Uint8Array | number;
  /** copy_to_user() at the user pointer: 0 or -EFAULT (data a driver hands back, v6.16 on). */
  write?(bytes: Uint8Array): number;
}

/** An array of driver-specific entries (IOMMU_HWPT_INVALIDATE's requests). */
export interface IommuUserDataArray {
  readonly type: number;
  readonly entryLen: number;
  /** In: entries given; out: entries the driver handled. */
  entryNum: number;
  /** copy_from_user() of `len` bytes at byte `offset` of the array. */
  read(offset: number, len: number): Uint8Array | number;
}

/** __iommu_copy_struct_from_user(): `size` bytes of the driver's struct, or an errno. */
export function iommu_copy_struct_from_user(
  data: IommuUserData,
  type: number,
  size: number,
  minLen: number,
): Uint8Array | number {
  if (data.type !== type) return -EINVAL;
  if (data.len < minLen || size < data.len) return -EINVAL;
  const got = data.read(data.len);
  if (typeof got === 'number') return got;
  const out = new Uint8Array(size);
  out.set(got);
  return out;
}

/** __iommu_copy_struct_from_user_array(): entry `index` of the array as the driver's struct. */
export function iommu_copy_struct_from_user_array(
  array: IommuUserDataArray,
  type: number,
  index: number,
  size: number,
  minLen: number,
): Uint8Array | number {
  if (index >= array.entryNum || !array.entryNum) return -EINVAL;
  return iommu_copy_struct_from_user(
    { type: array.type, len: array.entryLen, read: (n) => array.read(array.entryLen * index, n) },
    type,
    size,
    minLen,
  );
}

/**
 * copy_struct_from_user() of one entry: what the user gave, zeros past it;
 * past the driver's struct the user's bytes must be zero (-E2BIG).
 */
function copyStructFromUser(
  read: (off: number, len: number) => Uint8Array | number,
  size: number,
  userLen: number,
): Uint8Array | number {
  if (userLen > size) {
    const tail = read(size, userLen - size);
    if (typeof tail === 'number') return tail;
    if (tail.some((b) => b !== 0)) return -E2BIG;
  }
  const got = read(0, Math.min(size, userLen));
  if (typeof got === 'number') return got;
  const out = new Uint8Array(size);
  out.set(got);
  return out;
}

/**
 * iommu_copy_struct_from_full_user_array() (v6.14 on): every entry as the
 * driver's struct of `size` bytes, an entry length other than that taken
 * the way copy_struct_from_user() takes a struct size; another type and an
 * empty array are -EINVAL.
 */
export function iommu_copy_struct_from_full_user_array(
  array: IommuUserDataArray,
  size: number,
  type: number,
): Uint8Array[] | number {
  if (array.type !== type) return -EINVAL;
  if (!array.entryNum) return -EINVAL;
  const out: Uint8Array[] = [];
  for (let i = 0; i < array.entryNum; i++) {
    const e = copyStructFromUser(
      (off, len) => array.read(array.entryLen * i + off, len),
      size,
      array.entryLen,
    );
    if (typeof e === 'number') return e;
    out.push(e);
  }
  return out;
}

/**
 * __iommu_copy_struct_to_user() (v6.16 on): the driver's struct back into
 * the user's data (of that type: else -EINVAL; shorter than its first
 * version: -EINVAL), min(len, size) bytes and zeros in the rest.
 */
export function iommu_copy_struct_to_user(
  data: IommuUserData,
  src: Uint8Array,
  type: number,
  minLen: number,
): number {
  if (data.type !== type) return -EINVAL;
  if (data.len < minLen) return -EINVAL;
  if (!data.write) return -EFAULT;
  const out = new Uint8Array(data.len);
  out.set(src.subarray(0, Math.min(data.len, src.length)));
  return data.write(out);
}
