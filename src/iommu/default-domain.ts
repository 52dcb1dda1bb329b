// SPDX-License-Identifier: GPL-2.0-only
/**
 * Default domains (drivers/iommu/iommu.c iommu_get_def_domain_type(),
 * iommu_get_default_domain_type(), iommu_group_alloc_default_domain(),
 * iommu_setup_default_domain(), iommu_create_device_direct_mappings(),
 * iommu_group_store_type()).
 *
 * The type is decided for the whole group: the drivers' opinions
 * (def_domain_type or a static default_domain), untrusted devices, the
 * Kconfig/command-line default (k.config.def_domain_type) and an explicit
 * target from sysfs. The decision is recorded on the group for "explain".
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuGroup } from './group.js';
import { EACCES, EINVAL, EPERM, ERR_PTR, IS_ERR, PTR_ERR, type ErrPtr } from '../kernel/errno.js';
import { lockdep_assert_held, mutex_lock, mutex_unlock } from '../kernel/mutex.js';
import {
  IOMMU_DOMAIN_DMA,
  IOMMU_DOMAIN_DMA_FQ,
  IOMMU_DOMAIN_IDENTITY,
  domainTypeSysfs,
  iommu_domain_type_str,
  iommu_is_dma_domain,
  type IommuDomain,
} from './domain.js';
import { iommu_group_first_dev } from './group.js';
import { __iommu_group_domain_alloc, dev_iommu_ops, iommu_domain_free } from './domain-alloc.js';
import {
  IOMMU_SET_DOMAIN_MUST_SUCCEED,
  __iommu_group_set_domain,
  __iommu_group_set_domain_internal,
} from './attach.js';
import { IOMMU_RESV_DIRECT, IOMMU_RESV_DIRECT_RELAXABLE, iommu_get_resv_regions } from './resv-regions.js';
import { iommu_setup_dma_ops } from './dma-ops.js';
import { iommu_flush_iotlb_all, iommu_iova_to_phys, iommu_map } from './map.js';

/** Why the group got the type it got, for reports. */
export interface DefaultDomainDecision {
  readonly requested: number;
  readonly reasons: string[];
}

/** iommu_get_def_domain_type(): merge one member's driver opinion into cur. */
function iommu_get_def_domain_type(
  k: Kernel,
  group: IommuGroup,
  dev: Device,
  cur: number,
  why: string[],
): number {
  const ops = dev_iommu_ops(dev);
  let type: number;
  if (ops.default_domain && k.profile.staticDefaultDomainIsOpinion) {
    type = ops.default_domain.type;
    why.push(`${dev.name}: ${ops.name} declares a static default domain (${domainTypeSysfs(type)})`);
  } else if (ops.def_domain_type) {
    type = ops.def_domain_type(k, dev);
    if (type) why.push(`${dev.name}: ${ops.name} def_domain_type() asks for ${domainTypeSysfs(type)}`);
  } else {
    return cur;
  }
  if (!type || cur === type) return cur;
  if (!cur) return type;
  if (k.profile.defDomainConflict === 'global-default') {
    const other = group.devices.find((g) => g.dev !== dev)?.dev.name ?? '?';
    k.printk.log(
      'warn',
      dev.name,
      `Device needs domain type ${iommu_domain_type_str(type)}, but device ${other} in the same iommu group requires type ${iommu_domain_type_str(cur)} - using default`,
    );
    why.push('conflicting driver opinions in the group: the global default is used');
    return 0;
  }
  k.printk.log(
    'err',
    dev.name,
    `IOMMU driver error, requesting conflicting def_domain_type, ${iommu_domain_type_str(cur)} and ${iommu_domain_type_str(type)}, for devices in group ${group.id}.`,
  );
  why.push(`conflicting driver opinions in the group: identity wins`);
  return type === IOMMU_DOMAIN_IDENTITY ? type : cur;
}

/**
 * iommu_get_default_domain_type(): 0 means "the global default"; -1 is a
 * refusal (setup then fails with -EINVAL).
 */
export function iommu_get_default_domain_type(
  k: Kernel,
  group: IommuGroup,
  target_type: number,
  why: string[],
): number {
  lockdep_assert_held(k.printk, group.mutex, 'iommu_get_default_domain_type');
  let driver_type = 0;
  let untrusted: Device | null = null;
  if (k.config.CONFIG_ARM_DMA_USE_IOMMU) {
    driver_type = IOMMU_DOMAIN_IDENTITY;
    why.push('CONFIG_ARM_DMA_USE_IOMMU: identity, arm32 DMA ops install their own domain later');
  }
  for (const gdev of group.devices) {
    driver_type = iommu_get_def_domain_type(k, group, gdev.dev, driver_type, why);
    if (gdev.dev.pci?.untrusted) {
      if (
        k.printk.warn(
          k.config.CONFIG_ARM_DMA_USE_IOMMU,
          'iommu_get_default_domain_type',
          'untrusted device on ARM32',
        )
      )
        return -1;
      untrusted = gdev.dev;
    }
  }
  if (!k.config.CONFIG_IOMMU_DMA) {
    if (
      k.printk.warn(
        driver_type === IOMMU_DOMAIN_DMA,
        'iommu_get_default_domain_type',
        'DMA domain without CONFIG_IOMMU_DMA',
      )
    )
      return -1;
    if (!driver_type) {
      driver_type = IOMMU_DOMAIN_IDENTITY;
      why.push('no CONFIG_IOMMU_DMA: identity');
    }
  }
  if (untrusted) {
    if (driver_type && driver_type !== IOMMU_DOMAIN_DMA) {
      k.printk.log(
        'err',
        untrusted.name,
        `Device is not trusted, but driver is overriding group ${group.id} to ${iommu_domain_type_str(driver_type)}, refusing to probe.`,
      );
      why.push(
        `${untrusted.name} is untrusted but the driver wants ${domainTypeSysfs(driver_type)}: refused`,
      );
      return -1;
    }
    driver_type = IOMMU_DOMAIN_DMA;
    why.push(`${untrusted.name} is untrusted (external-facing port): DMA`);
  }
  if (target_type) {
    if (driver_type && target_type !== driver_type) {
      why.push(
        `requested ${domainTypeSysfs(target_type)} conflicts with the driver's ${domainTypeSysfs(driver_type)}`,
      );
      return -1;
    }
    return target_type;
  }
  return driver_type;
}

/** __iommu_group_alloc_default_domain(): reuse the current default if it already has the type. */
function __iommu_group_alloc_default_domain(
  k: Kernel,
  group: IommuGroup,
  req_type: number,
): IommuDomain | ErrPtr {
  if (group.default_domain && group.default_domain.type === req_type) return group.default_domain;
  return __iommu_group_domain_alloc(k, group, req_type);
}

/** iommu_group_alloc_default_domain(): req_type 0 is "auto". */
function iommu_group_alloc_default_domain(
  k: Kernel,
  group: IommuGroup,
  req_type: number,
  why: string[],
): IommuDomain | ErrPtr {
  const ops = dev_iommu_ops(iommu_group_first_dev(group));
  lockdep_assert_held(k.printk, group.mutex, 'iommu_group_alloc_default_domain');
  if (ops.default_domain) {
    // v6.7 accepts only "auto" (0); from v6.8 the request must be its type.
    const ok = k.profile.staticDefaultDomainIsOpinion ? req_type === ops.default_domain.type : req_type === 0;
    if (!ok) return ERR_PTR(-EINVAL);
    why.push(`${ops.name} forces its static default domain (ops->default_domain)`);
    return ops.default_domain;
  }
  if (req_type) return __iommu_group_alloc_default_domain(k, group, req_type);
  const def = k.config.def_domain_type;
  why.push(
    `no driver preference: the global default, ${domainTypeSysfs(def)} (${k.config.defaultTypeReason})`,
  );
  let dom = __iommu_group_alloc_default_domain(k, group, def);
  if (!IS_ERR(dom)) return dom;
  if (def === IOMMU_DOMAIN_DMA) return ERR_PTR(-EINVAL);
  dom = __iommu_group_alloc_default_domain(k, group, IOMMU_DOMAIN_DMA);
  if (IS_ERR(dom)) return dom;
  k.printk.log(
    'warn',
    'iommu',
    `Failed to allocate default IOMMU domain of type ${def} for group (null) - Falling back to IOMMU_DOMAIN_DMA`,
  );
  why.push(`${domainTypeSysfs(def)} could not be allocated: fell back to DMA`);
  return dom;
}

/**
 * iommu_create_device_direct_mappings(): marks require_direct for a DIRECT
 * region and, in DMA-API domains, identity-maps DIRECT and DIRECT_RELAXABLE
 * ranges (page aligned to the smallest page size) that are not mapped yet.
 */
export function iommu_create_device_direct_mappings(k: Kernel, domain: IommuDomain, dev: Device): number {
  const pgsize = domain.pgsize_bitmap ? domain.pgsize_bitmap & -domain.pgsize_bitmap : 0;
  if (
    k.printk.warnOnce(
      iommu_is_dma_domain(domain) && !pgsize,
      'iommu_create_device_direct_mappings',
      'DMA domain without page sizes',
    )
  )
    return -EINVAL;
  const regions = iommu_get_resv_regions(k, dev);
  for (const r of regions) {
    if (r.type === IOMMU_RESV_DIRECT) dev.iommu!.require_direct = true;
    if (
      (r.type !== IOMMU_RESV_DIRECT && r.type !== IOMMU_RESV_DIRECT_RELAXABLE) ||
      !iommu_is_dma_domain(domain)
    )
      continue;
    const pg = BigInt(pgsize);
    const start = ((r.start + pg - 1n) / pg) * pg;
    const end = ((r.start + r.length + pg - 1n) / pg) * pg;
    if (end <= start) continue;
    const covered = domain.directMappings.some((m) => m.start <= start && m.end >= end - 1n);
    if (!covered) domain.directMappings.push({ start, end: end - 1n });
    if (!domain.ops?.map_pages) continue; // a driver modelled without page tables: recorded only
    // Identity-map the pages not mapped yet, in runs (the addresses are below 2^53 here).
    const s0 = Number(start);
    const e0 = Number(end);
    let run = 0;
    for (let addr = s0; addr <= e0; addr += pgsize) {
      if (addr !== e0 && iommu_iova_to_phys(k, domain, addr) === 0) {
        run += pgsize;
        continue;
      }
      if (run) {
        const ret = iommu_map(k, domain, addr - run, addr - run, run, r.prot);
        if (ret) return ret;
        run = 0;
      }
    }
  }
  if (regions.length > 0 && iommu_is_dma_domain(domain)) iommu_flush_iotlb_all(k, domain);
  return 0;
}

/**
 * iommu_setup_default_domain(): allocate the default domain of the decided
 * type, install direct mappings, attach (the first attach must succeed), and
 * free the old default domain.
 */
export function iommu_setup_default_domain(k: Kernel, group: IommuGroup, target_type: number): number {
  lockdep_assert_held(k.printk, group.mutex, 'iommu_setup_default_domain');
  const old_dom = group.default_domain;
  const why: string[] = [];
  const req_type = iommu_get_default_domain_type(k, group, target_type, why);
  if (req_type < 0) {
    k.iommu.decisions.set(group, { requested: -1, reasons: why });
    return -EINVAL;
  }
  const dom = iommu_group_alloc_default_domain(k, group, req_type, why);
  if (IS_ERR(dom)) {
    why.push(`allocation failed: ${PTR_ERR(dom)}`);
    k.iommu.decisions.set(group, { requested: req_type, reasons: why });
    return PTR_ERR(dom);
  }
  k.iommu.decisions.set(group, { requested: req_type, reasons: why });
  if (group.default_domain === dom) return 0;

  let direct_failed = false;
  for (const gdev of group.devices) {
    if (iommu_create_device_direct_mappings(k, dom, gdev.dev)) direct_failed = true;
  }
  group.default_domain = dom;
  let ret: number;
  if (!group.domain) {
    ret = __iommu_group_set_domain_internal(k, group, dom, IOMMU_SET_DOMAIN_MUST_SUCCEED);
    if (
      k.printk.warn(
        ret !== 0,
        'iommu_setup_default_domain',
        `first attach of the default domain failed (${ret})`,
      )
    ) {
      if (old_dom) iommu_domain_free(k, old_dom);
      return ret;
    }
  } else {
    ret = __iommu_group_set_domain(k, group, dom);
    if (ret) {
      if (old_dom) {
        iommu_domain_free(k, dom);
        group.default_domain = old_dom;
      }
      return ret;
    }
  }
  if (direct_failed) {
    for (const gdev of group.devices) {
      ret = iommu_create_device_direct_mappings(k, dom, gdev.dev);
      if (ret) {
        if (old_dom) {
          __iommu_group_set_domain_internal(k, group, old_dom, IOMMU_SET_DOMAIN_MUST_SUCCEED);
          iommu_domain_free(k, dom);
          group.default_domain = old_dom;
        }
        return ret;
      }
    }
  }
  if (old_dom) iommu_domain_free(k, old_dom);
  return 0;
}

/**
 * iommu_group_store_type(): `echo identity|DMA|DMA-FQ|auto > type`.
 * `capable` models CAP_SYS_ADMIN and CAP_SYS_RAWIO.
 */
export function iommu_group_store_type(k: Kernel, group: IommuGroup, buf: string, capable = true): number {
  if (!capable) return -EACCES;
  if (!group.default_domain) return -EINVAL;
  const types: Record<string, number> = {
    identity: IOMMU_DOMAIN_IDENTITY,
    DMA: IOMMU_DOMAIN_DMA,
    'DMA-FQ': IOMMU_DOMAIN_DMA_FQ,
    auto: 0,
  };
  const req_type = types[buf.trim()];
  if (req_type === undefined) return -EINVAL;
  mutex_lock(k.printk, group.mutex, 'iommu_group_store_type');
  let ret: number;
  if (req_type === IOMMU_DOMAIN_DMA_FQ && group.default_domain.type === IOMMU_DOMAIN_DMA) {
    // DMA -> DMA-FQ is done live, with the driver bound (iommu_dma_init_fq()).
    group.default_domain.type = IOMMU_DOMAIN_DMA_FQ;
    ret = 0;
  } else if (group.owner_cnt || group.devices.length === 0) {
    ret = -EPERM;
  } else {
    ret = iommu_setup_default_domain(k, group, req_type);
    if (!ret) for (const gdev of group.devices) iommu_setup_dma_ops(k, gdev.dev);
  }
  mutex_unlock(k.printk, group.mutex, 'iommu_group_store_type');
  return ret;
}
