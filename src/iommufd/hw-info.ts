// SPDX-License-Identifier: GPL-2.0-only
/**
 * IOMMU_GET_HW_INFO (drivers/iommu/iommufd/device.c iommufd_get_hw_info(),
 * 6.12): what a VMM asks about a bound device's IOMMU to build a matching
 * virtual one: the driver's register struct (ops->hw_info()) copied into the
 * user's buffer (truncated to it, the rest of the buffer zeroed), the length
 * the kernel has, the dirty-tracking capability and the PASID width.
 */
import { EFAULT, ENODEV, EOPNOTSUPP, IS_ERR, PTR_ERR } from '../kernel/errno.js';
import { dev_iommu_ops } from '../iommu/domain-alloc.js';
import { device_iommu_capable, getDevice } from './device.js';
import type { Handler } from './ucmd.js';
import { copyToUser } from './user-arg.js';
import { n32, n64 } from './ucmd.js';

/** enum iommu_hw_info_type */
export const IOMMU_HW_INFO_TYPE_NONE = 0;
/** enum iommufd_hw_capabilities */
export const IOMMU_HW_CAP_DIRTY_TRACKING = 1n << 0n;

export const hwInfoHandlers: Readonly<Record<string, Handler>> = {
  /** iommufd_get_hw_info() */
  IOMMU_GET_HW_INFO: (u) => {
    const c = u.cmd;
    const k = u.ctx.k;
    if (c.flags || c.__reserved || c.__reserved_1 || c.__reserved_2) return -EOPNOTSUPP;
    const idev = getDevice(u.ctx, n32(c.dev_id));
    if (typeof idev === 'number') return idev;
    const ops = dev_iommu_ops(idev.dev);
    let data: Uint8Array = new Uint8Array(0);
    let mem = null;
    if (ops.hw_info) {
      const r = ops.hw_info(k, idev.dev);
      if (IS_ERR(r)) return PTR_ERR(r);
      mem = r.mem;
      if (
        k.printk.warn(
          r.type === IOMMU_HW_INFO_TYPE_NONE,
          'iommufd_get_hw_info',
          'WARN_ON_ONCE(out_data_type == IOMMU_HW_INFO_TYPE_NONE)',
        )
      ) {
        k.alloc.free(mem, 'iommufd_get_hw_info');
        return -ENODEV;
      }
      c.out_data_type = r.type;
      data = r.data;
    } else {
      c.out_data_type = IOMMU_HW_INFO_TYPE_NONE;
    }
    const userLen = n32(c.data_len);
    const copyLen = Math.min(userLen, data.length);
    const ptr = n64(c.data_uptr);
    let rc = 0;
    // copy_to_user() of what fits, clear_user() of the rest of the user's buffer.
    if (copyLen && copyToUser(u.ctx.proc, ptr, data.subarray(0, copyLen))) rc = -EFAULT;
    else if (copyLen < userLen && copyToUser(u.ctx.proc, ptr, new Uint8Array(userLen - copyLen), copyLen))
      rc = -EFAULT;
    k.alloc.free(mem, 'iommufd_get_hw_info');
    if (rc) return rc;
    c.data_len = data.length;
    c.out_capabilities = device_iommu_capable(k, idev.dev, 'DIRTY_TRACKING')
      ? IOMMU_HW_CAP_DIRTY_TRACKING
      : 0n;
    const maxPasids = idev.dev.iommu?.max_pasids ?? 0;
    c.out_max_pasid_log2 = maxPasids ? Math.floor(Math.log2(maxPasids)) : 0;
    return u.respond();
  },
};
