// SPDX-License-Identifier: GPL-2.0-only
/**
 * Domain allocation and freeing (drivers/iommu/iommu.c __iommu_domain_alloc(),
 * __iommu_group_domain_alloc(), iommu_paging_domain_alloc(),
 * iommu_domain_free(); drivers/iommu/dma-iommu.c iommu_get_dma_cookie()).
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuOps } from './ops.js';
import type { IommuGroup } from './group.js';
import { ENODEV, ENOMEM, EOPNOTSUPP, ERR_PTR, IS_ERR, type ErrPtr } from '../kernel/errno.js';
import {
  IOMMU_DOMAIN_ALLOC_FLAGS,
  IOMMU_DOMAIN_BLOCKED,
  IOMMU_DOMAIN_IDENTITY,
  IOMMU_DOMAIN_UNMANAGED,
  __IOMMU_DOMAIN_PAGING,
  iommu_is_dma_domain,
  type IommuDomain,
} from './domain.js';
import { iommu_group_first_dev } from './group.js';
import { dev_has_iommu } from './dev-iommu.js';
import { iommu_get_dma_cookie, iommu_put_dma_cookie } from '../dma/cookie.js';

/** dev_iommu_ops(): the ops of the instance that probed the device. */
export function dev_iommu_ops(dev: Device): IommuOps {
  return dev.iommu!.iommu_dev!.ops!;
}

/** __iommu_domain_alloc() */
export function __iommu_domain_alloc(
  k: Kernel,
  ops: IommuOps,
  dev: Device | null,
  type: number,
): IommuDomain | ErrPtr {
  const alloc_type = type & IOMMU_DOMAIN_ALLOC_FLAGS;
  let domain: IommuDomain | ErrPtr | null;
  if (alloc_type === IOMMU_DOMAIN_IDENTITY && ops.identity_domain) return ops.identity_domain;
  else if (alloc_type === IOMMU_DOMAIN_BLOCKED && ops.blocked_domain) return ops.blocked_domain;
  else if (type & __IOMMU_DOMAIN_PAGING && ops.domain_alloc_paging) domain = ops.domain_alloc_paging(k, dev);
  else if (ops.domain_alloc) domain = ops.domain_alloc(k, alloc_type);
  else return ERR_PTR(-EOPNOTSUPP);

  if (domain === null) return ERR_PTR(-ENOMEM);
  if (IS_ERR(domain)) return domain;
  domain.type = type;
  domain.owner = ops;
  if (!domain.pgsize_bitmap) domain.pgsize_bitmap = ops.pgsize_bitmap;
  if (!domain.ops) domain.ops = ops.default_domain_ops ?? null;
  if (iommu_is_dma_domain(domain)) {
    const rc = iommu_get_dma_cookie(k, domain);
    if (rc) {
      iommu_domain_free(k, domain);
      return ERR_PTR(rc);
    }
  }
  return domain;
}

/** __iommu_group_domain_alloc(): allocated with the first member's ops. */
export function __iommu_group_domain_alloc(k: Kernel, group: IommuGroup, type: number): IommuDomain | ErrPtr {
  const dev = iommu_group_first_dev(group);
  return __iommu_domain_alloc(k, dev_iommu_ops(dev), dev, type);
}

/** iommu_paging_domain_alloc() */
export function iommu_paging_domain_alloc(k: Kernel, dev: Device): IommuDomain | ErrPtr {
  if (!dev_has_iommu(dev)) return ERR_PTR(-ENODEV);
  return __iommu_domain_alloc(k, dev_iommu_ops(dev), dev, IOMMU_DOMAIN_UNMANAGED);
}

/** iommu_domain_free(): a static domain (no ops->free) is left alone. */
export function iommu_domain_free(k: Kernel, domain: IommuDomain): void {
  iommu_put_dma_cookie(k, domain);
  domain.ops?.free?.(k, domain);
}
