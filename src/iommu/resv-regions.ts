// SPDX-License-Identifier: GPL-2.0-only
/**
 * Reserved regions (drivers/iommu/iommu.c iommu_get_resv_regions(),
 * iommu_insert_resv_region(), iommu_get_group_resv_regions(),
 * iommu_group_show_resv_regions()), and the software MSI window several
 * drivers reserve (MSI_IOVA_BASE).
 *
 * Regions are transient value lists, built on demand from the drivers'
 * get_resv_regions() and never kept, so they are not tracked allocations.
 * Addresses are bigint: this is a parser/API edge, not a hot path.
 */
import {
  IOMMU_CACHE,
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_PRIV,
  IOMMU_READ,
  IOMMU_WRITE,
} from '../pgtable/prot.js';
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuGroup } from './group.js';
import { dev_has_iommu } from './dev-iommu.js';

/** enum iommu_resv_type, in the kernel's order (the sort tie-break uses it). */
export const IOMMU_RESV_DIRECT = 0;
export const IOMMU_RESV_DIRECT_RELAXABLE = 1;
export const IOMMU_RESV_RESERVED = 2;
export const IOMMU_RESV_MSI = 3;
export const IOMMU_RESV_SW_MSI = 4;

/** The protection flags (include/linux/iommu.h), defined once with the page tables that read them. */
export { IOMMU_READ, IOMMU_WRITE, IOMMU_CACHE, IOMMU_NOEXEC, IOMMU_MMIO, IOMMU_PRIV };

/** iommu_group_resv_type_string[] */
const typeString = ['direct', 'direct-relaxable', 'reserved', 'msi', 'msi'] as const;
export type ResvTypeString = (typeof typeString)[number];

export interface IommuResvRegion {
  start: bigint;
  length: bigint;
  readonly prot: number;
  readonly type: number;
  /** Where it came from: "RMRR 0", "ISA bridge", "software MSI window", "memory-region /reserved/fb". */
  readonly source: string;
}

export function resvTypeString(type: number): ResvTypeString {
  return typeString[type] ?? 'reserved';
}

/** iommu_alloc_resv_region() */
export function iommu_alloc_resv_region(
  start: bigint,
  length: bigint,
  prot: number,
  type: number,
  source: string,
): IommuResvRegion {
  return { start, length, prot, type, source };
}

/** MSI_IOVA_BASE / MSI_IOVA_LENGTH: the software MSI window arm-smmu, arm-smmu-v3 and virtio-iommu reserve. */
export const MSI_IOVA_BASE = 0x8000000n;
export const MSI_IOVA_LENGTH = 0x100000n;

/**
 * The software MSI window as those drivers' get_resv_regions() allocate it:
 * iommu_alloc_resv_region(MSI_IOVA_BASE, MSI_IOVA_LENGTH, IOMMU_WRITE |
 * IOMMU_NOEXEC | IOMMU_MMIO, IOMMU_RESV_SW_MSI). The kernel has no such
 * helper (each driver makes the call itself); the model writes it once.
 */
export function softwareMsiRegion(source = 'software MSI window (MSI_IOVA_BASE)'): IommuResvRegion {
  return iommu_alloc_resv_region(
    MSI_IOVA_BASE,
    MSI_IOVA_LENGTH,
    IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_MMIO,
    IOMMU_RESV_SW_MSI,
    source,
  );
}

/** iommu_get_resv_regions(): the driver's regions for one probed device. */
export function iommu_get_resv_regions(k: Kernel, dev: Device): IommuResvRegion[] {
  const list: IommuResvRegion[] = [];
  const ops = dev.iommu?.iommu_dev?.ops;
  ops?.get_resv_regions?.(k, dev, list);
  return list;
}

/**
 * iommu_insert_resv_region(): insert sorted by start (ties by type), then
 * merge overlapping or adjacent regions of the new region's type only.
 */
export function iommu_insert_resv_region(nr: IommuResvRegion, regions: IommuResvRegion[]): IommuResvRegion[] {
  const copy = { ...nr };
  let at = regions.findIndex(
    (it) => copy.start < it.start || (copy.start === it.start && copy.type <= it.type),
  );
  if (at < 0) at = regions.length;
  const list = [...regions.slice(0, at), copy, ...regions.slice(at)].map((r) => ({ ...r }));
  const stack: IommuResvRegion[] = [];
  for (const iter of list) {
    if (iter.type !== nr.type) {
      stack.push(iter);
      continue;
    }
    let top: IommuResvRegion | undefined;
    for (let i = stack.length - 1; i >= 0; i--) {
      if (stack[i].type === iter.type) {
        top = stack[i];
        break;
      }
    }
    if (!top) {
      stack.push(iter);
      continue;
    }
    const topEnd = top.start + top.length - 1n;
    const iterEnd = iter.start + iter.length - 1n;
    if (iter.start > topEnd + 1n) stack.push(iter);
    else top.length = (topEnd > iterEnd ? topEnd : iterEnd) - top.start + 1n;
  }
  return stack;
}

/** iommu_get_group_resv_regions(): stops at the first member without a probed IOMMU. */
export function iommu_get_group_resv_regions(k: Kernel, group: IommuGroup): IommuResvRegion[] {
  let regions: IommuResvRegion[] = [];
  for (const gdev of group.devices) {
    if (!dev_has_iommu(gdev.dev)) break;
    for (const r of iommu_get_resv_regions(k, gdev.dev)) regions = iommu_insert_resv_region(r, regions);
  }
  return regions;
}

function hex16(v: bigint): string {
  return '0x' + BigInt.asUintN(64, v).toString(16).padStart(16, '0');
}

/** The group's sysfs reserved_regions file, line by line. */
export function iommu_group_show_resv_regions(k: Kernel, group: IommuGroup): string[] {
  return iommu_get_group_resv_regions(k, group).map(
    (r) => `${hex16(r.start)} ${hex16(r.start + r.length - 1n)} ${resvTypeString(r.type)}`,
  );
}
