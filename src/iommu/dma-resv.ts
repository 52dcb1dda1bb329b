// SPDX-License-Identifier: GPL-2.0-only
/**
 * iommu_dma_get_resv_regions() (drivers/iommu/dma-iommu.c) and the OF part it
 * calls, of_iommu_get_resv_regions() (drivers/iommu/of_iommu.c): a device's
 * `memory-region` phandles whose node carries `iommu-addresses` for this
 * device become reserved regions: DIRECT when the IOVA range equals the
 * physical `reg`, RESERVED otherwise; and, for ACPI, the IORT's reserved
 * memory ranges (firmware/acpi/iort-resv.ts).
 */
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuResvRegion } from './resv-regions.js';
import {
  IOMMU_CACHE,
  IOMMU_READ,
  IOMMU_RESV_DIRECT,
  IOMMU_RESV_RESERVED,
  IOMMU_WRITE,
  iommu_alloc_resv_region,
} from './resv-regions.js';
import type { Fwnode } from '../base/fwnode.js';
import { of_find_node_by_phandle, of_read_number } from '../firmware/of/of-base.js';
import { iort_iommu_get_resv_regions } from '../firmware/acpi/iort-resv.js';

/** of_n_addr_cells()/of_n_size_cells(): from the nearest parent that says, else 2 and 1. */
function nCells(np: Fwnode, name: '#address-cells' | '#size-cells'): number {
  for (let p = np.parent; p; p = p.parent) {
    const v = p.properties.get(name);
    if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  }
  return name === '#address-cells' ? 2 : 1;
}

/**
 * of_iommu_get_resv_regions(): for each `memory-region`, walk its
 * `iommu-addresses` (<&dev iova length>…). Like the kernel, a phandle naming
 * another device is skipped on its own, without its address cells.
 */
function of_iommu_get_resv_regions(k: Kernel, dev: Device, list: IommuResvRegion[]): void {
  const np = dev.fwnode;
  if (np?.kind !== 'of') return;
  const regions = np.properties.get('memory-region');
  if (!Array.isArray(regions)) return;
  for (const ph of regions) {
    const rnode = of_find_node_by_phandle(k, ph);
    if (!rnode) continue;
    const reg = rnode.properties.get('reg');
    let physStart = 0n;
    let physEnd = 0n;
    if (Array.isArray(reg)) {
      const ac = nCells(rnode, '#address-cells');
      const sc = nCells(rnode, '#size-cells');
      physStart = of_read_number(reg, 0, ac);
      physEnd = physStart + of_read_number(reg, ac, sc) - 1n;
    }
    const maps = rnode.properties.get('iommu-addresses');
    if (!Array.isArray(maps)) continue;
    let i = 0;
    while (i < maps.length) {
      const target = of_find_node_by_phandle(k, maps[i++]);
      if (target !== np || !target) continue;
      const ac = nCells(target, '#address-cells');
      const sc = nCells(target, '#size-cells');
      const iova = of_read_number(maps, i, ac);
      const length = of_read_number(maps, i + ac, sc);
      i += ac + sc;
      if (length === 0n) {
        k.printk.log('warn', dev.name, 'Cannot reserve IOVA region of 0 size');
        continue;
      }
      // iommu_resv_region_get_type()
      let type = IOMMU_RESV_RESERVED;
      if (physStart < physEnd) {
        if (iova === physStart && iova + length - 1n === physEnd) type = IOMMU_RESV_DIRECT;
        else k.printk.log('warn', dev.name, `treating non-direct mapping ${rnode.name} as reservation`);
      }
      const prot = IOMMU_READ | IOMMU_WRITE | (np.properties.has('dma-coherent') ? IOMMU_CACHE : 0);
      list.push(iommu_alloc_resv_region(iova, length, prot, type, `memory-region ${rnode.name}`));
    }
  }
}

/** iommu_dma_get_resv_regions(): IORT's for a fwspec that is not from a device tree, then the DT's. */
export function iommu_dma_get_resv_regions(k: Kernel, dev: Device, list: IommuResvRegion[]): void {
  const fwspec = dev.iommu?.fwspec ?? null;
  if (fwspec && fwspec.iommu_fwnode?.kind !== 'of') iort_iommu_get_resv_regions(k, dev, list);
  of_iommu_get_resv_regions(k, dev, list);
}
