// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommu_dma_cookie (drivers/iommu/dma-iommu.c, 6.12): what a DMA-API
 * domain carries for iommu-dma: the IOVA domain its addresses come from (set
 * up by the first device's iommu_dma_init_domain()), the flush queue of a
 * DMA-FQ domain, and the options chosen for it. iommu_get_dma_cookie()
 * allocates it with the domain; iommu_put_dma_cookie() frees it, the IOVA
 * tree and the queue with it.
 */
import type { Allocation } from '../kernel/alloc.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuDomain } from '../iommu/domain.js';
import type { IovaDomain } from './iova.js';
import type { IovaFq } from './flush-queue.js';
import type { TimerList } from '../kernel/timer.js';
import { put_iova_domain } from './iova.js';
import { iommu_dma_free_fq } from './flush-queue.js';
import { EEXIST, EINVAL, ENOMEM } from '../kernel/errno.js';
import { IOMMU_DOMAIN_UNMANAGED } from '../iommu/domain.js';

/** IOVA_DEFAULT_FQ_SIZE / IOVA_SINGLE_FQ_SIZE, and their timeouts in ms. */
export const IOVA_DEFAULT_FQ_SIZE = 256;
export const IOVA_SINGLE_FQ_SIZE = 32768;
export const IOVA_DEFAULT_FQ_TIMEOUT = 10;
export const IOVA_SINGLE_FQ_TIMEOUT = 1000;

/** struct iommu_dma_options */
export interface IommuDmaOptions {
  qt: 'per-cpu' | 'single';
  fq_size: number;
  fq_timeout: number;
}

export class IommuDmaCookie {
  /** The IOVA domain, once iommu_dma_init_domain() ran (its start_pfn is then nonzero). */
  iovad: IovaDomain | null = null;
  options: IommuDmaOptions = {
    qt: 'per-cpu',
    fq_size: IOVA_DEFAULT_FQ_SIZE,
    fq_timeout: IOVA_DEFAULT_FQ_TIMEOUT,
  };
  /** cookie->fq_domain: set once the flush queue exists; unmaps are then queued. */
  fq_domain: IommuDomain | null = null;
  /** One queue per CPU (the model runs on CPU 0 unless told otherwise), or the single queue. */
  fqs: IovaFq[] = [];
  fq_flush_start_cnt = 0;
  fq_flush_finish_cnt = 0;
  fq_timer: TimerList | null = null;
  fq_timer_on = false;
  /** Flushes of the whole domain the queue has issued (for reports). */
  fq_flushes = 0;
  /** IOMMU_DMA_MSI_COOKIE (iommu_get_msi_cookie()): MSI pages only, no IOVA domain, from msiIova up. */
  msiOnly = false;
  msiIova = 0n;
  /** cookie->msi_page_list: one entry per granule of the hardware MSI windows. */
  readonly msiPages: { iova: number; mem: Allocation }[] = [];

  constructor(readonly mem: Allocation) {}
}

/** iommu_get_dma_cookie(): -EEXIST when the domain has one, -ENOMEM when it cannot be allocated. */
export function iommu_get_dma_cookie(k: Kernel, domain: IommuDomain): number {
  if (domain.iova_cookie) return -EEXIST;
  const mem = k.alloc.alloc('iommu_dma_cookie', domain.label, 'iommu_get_dma_cookie');
  if (!mem) return -ENOMEM;
  domain.iova_cookie = new IommuDmaCookie(mem);
  return 0;
}

/**
 * iommu_get_msi_cookie(): for a domain whose IOVAs its user manages (VFIO,
 * iommufd), only the MSI doorbell pages, mapped from `base` up.
 */
export function iommu_get_msi_cookie(k: Kernel, domain: IommuDomain, base: bigint): number {
  if (domain.type !== IOMMU_DOMAIN_UNMANAGED) return -EINVAL;
  if (domain.iova_cookie) return -EEXIST;
  const mem = k.alloc.alloc('iommu_dma_msi_cookie', domain.label, 'iommu_get_msi_cookie');
  if (!mem) return -ENOMEM;
  const cookie = new IommuDmaCookie(mem);
  cookie.msiOnly = true;
  cookie.msiIova = base;
  domain.iova_cookie = cookie;
  return 0;
}

/** iommu_put_dma_cookie(): the queue, every IOVA, then the cookie. */
export function iommu_put_dma_cookie(k: Kernel, domain: IommuDomain): void {
  const cookie = domain.iova_cookie;
  if (!cookie) return;
  if (cookie.iovad) {
    iommu_dma_free_fq(k, cookie);
    put_iova_domain(cookie.iovad);
  }
  for (const m of cookie.msiPages.splice(0)) k.alloc.free(m.mem, 'iommu_put_dma_cookie');
  k.alloc.free(cookie.mem, 'iommu_put_dma_cookie');
  domain.iova_cookie = null;
}
