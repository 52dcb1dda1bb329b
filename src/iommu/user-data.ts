// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommu_user_data and iommu_copy_struct_from_user()
 * (include/linux/iommu.h, 6.12): driver-specific data a user passes with
 * IOMMU_HWPT_ALLOC, by type, user pointer and length. The driver names the
 * struct it expects and the last field it needs; shorter data is -EINVAL,
 * another type is -EINVAL, and the copy is copy_struct_from_user()'s (bytes
 * past the driver's struct must be zero: -E2BIG; an unmapped pointer: -EFAULT).
 */
import { E2BIG, EINVAL } from '../kernel/errno.js';

export interface IommuUserData {
  /** enum iommu_hwpt_data_type */
  readonly type: number;
  readonly len: number;
  /** copy_from_user() of `len` bytes at the user pointer: the bytes or -EFAULT. */
  read(len: number): Uint8Array | number;
}

/**
 * iommu_copy_struct_from_user(): `size` bytes of the driver's struct (zeros
 * past what the user gave), or -EINVAL / -E2BIG / -EFAULT.
 */
export function iommu_copy_struct_from_user(
  data: IommuUserData,
  type: number,
  size: number,
  minLen: number,
): Uint8Array | number {
  if (data.type !== type) return -EINVAL;
  if (data.len < minLen) return -EINVAL;
  const got = data.read(data.len);
  if (typeof got === 'number') return got;
  for (let i = size; i < got.length; i++) if (got[i] !== 0) return -E2BIG;
  const out = new Uint8Array(size);
  out.set(got.subarray(0, Math.min(size, got.length)));
  return out;
}
