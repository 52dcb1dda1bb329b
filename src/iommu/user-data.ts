// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommu_user_data, struct iommu_user_data_array and
 * iommu_copy_struct_from_user(), iommu_copy_struct_from_user_array()
 * (include/linux/iommu.h, 6.12): driver-specific data a user passes with
 * IOMMU_HWPT_ALLOC or IOMMU_HWPT_INVALIDATE, by type, user pointer and
 * length. The driver names the struct it expects and the last field its
 * first version had: another type, data shorter than that first version or
 * longer than the driver's struct is -EINVAL; an unmapped pointer -EFAULT;
 * fields past what the user gave read as zero.
 */
import { EINVAL } from '../kernel/errno.js';

export interface IommuUserData {
  /** enum iommu_hwpt_data_type */
  readonly type: number;
  readonly len: number;
  /** copy_from_user() of `len` bytes at the user pointer: the bytes or -EFAULT. */
  read(len: number): Uint8Array | number;
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
