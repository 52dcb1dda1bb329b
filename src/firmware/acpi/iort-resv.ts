// SPDX-License-Identifier: GPL-2.0-only
/**
 * Reserved regions an IORT gives a device (drivers/acpi/arm64/iort.c
 * iort_iommu_get_resv_regions(), iort_find_rmrs(), iort_node_get_rmr_info(),
 * iort_rmr_has_dev(), iort_get_rmrs(), iort_rmr_alloc(),
 * iort_rmr_desc_check_overlap()).
 *
 * Reserved Memory Range nodes (tables of revision 5 on, ARM DEN 0049E.d)
 * name memory that firmware-owned DMA keeps using: each of their ID mappings
 * that points at the device's SMMU and covers one of its stream IDs makes
 * every descriptor of the node a direct region (relaxable when the node
 * permits remapping). A PCI function qualifies only when its host bridge
 * preserved the firmware's PCI configuration (the _DSM the model does not
 * read: never). Descriptors not 64K-aligned are page-aligned with a FW_BUG.
 *
 * Not modelled: the ITS doorbell regions of HiSilicon Hi161x SMMUv3s
 * (iort_iommu_msi_get_resv_regions()), which need the ITS base addresses
 * from the MADT.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { IommuResvRegion } from '../../iommu/resv-regions.js';
import {
  IOMMU_CACHE,
  IOMMU_MMIO,
  IOMMU_PRIV,
  IOMMU_READ,
  IOMMU_RESV_DIRECT,
  IOMMU_RESV_DIRECT_RELAXABLE,
  IOMMU_WRITE,
  iommu_alloc_resv_region,
} from '../../iommu/resv-regions.js';
import { dev_iommu_fwspec_get } from '../../iommu/dev-iommu.js';
import { iortState } from './iort.js';
import type { IortNode } from './iort-parse.js';

const ACPI_IORT_RMR_REMAP_PERMITTED = 1 << 0;
const ACPI_IORT_RMR_ACCESS_PRIVILEGE = 1 << 1;
/** Access attributes (bits 9:2): 0-3 device memory, 5 normal inner/outer write-back. */
const rmrAccessAttributes = (flags: number) => (flags >>> 2) & 0xff;
const ACPI_IORT_RMR_ATTR_DEVICE_GRE = 0x03;
const ACPI_IORT_RMR_ATTR_NORMAL_IWB_OWB = 0x05;

const SZ_64K = 0x10000n;
const PAGE_SIZE = 0x1000n;
const hex = (v: bigint) => `0x${v.toString(16)}`;

/** iort_rmr_has_dev(): one of the device's stream IDs is in [start, start + count] (count is "IDs minus one"). */
function iort_rmr_has_dev(dev: Device, ids: readonly number[], start: number, count: number): boolean {
  if (dev.pci) return false; // host->preserve_config is never set in the model
  return ids.some((id) => id >= start && id <= start + count);
}

/** iort_rmr_desc_check_overlap() */
function checkOverlap(k: Kernel, descs: readonly { baseAddress: bigint; length: bigint }[]): void {
  descs.forEach((d, i) => {
    if (d.length === 0n) {
      k.printk.log(
        'err',
        'ACPI: IORT',
        `[Firmware Bug]: RMR descriptor[${hex(d.baseAddress)}] with zero length, continue anyway`,
      );
      return;
    }
    const end = d.baseAddress + d.length - 1n;
    for (const e of descs.slice(i + 1)) {
      const eEnd = e.baseAddress + e.length - 1n;
      if (d.baseAddress <= eEnd && end >= e.baseAddress)
        k.printk.log(
          'err',
          'ACPI: IORT',
          `[Firmware Bug]: RMR descriptor[${hex(d.baseAddress)} - ${hex(end)}] overlaps, continue anyway`,
        );
    }
  });
}

/** iort_get_rmrs(): one region per descriptor, typed by the node's flags. */
function iort_get_rmrs(k: Kernel, node: Extract<IortNode, { kind: 'rmr' }>, list: IommuResvRegion[]): void {
  checkOverlap(k, node.descriptors);
  const type = node.flags & ACPI_IORT_RMR_REMAP_PERMITTED ? IOMMU_RESV_DIRECT_RELAXABLE : IOMMU_RESV_DIRECT;
  let prot = IOMMU_READ | IOMMU_WRITE;
  if (node.flags & ACPI_IORT_RMR_ACCESS_PRIVILEGE) prot |= IOMMU_PRIV;
  const attr = rmrAccessAttributes(node.flags);
  if (attr <= ACPI_IORT_RMR_ATTR_DEVICE_GRE) prot |= IOMMU_MMIO;
  else if (attr === ACPI_IORT_RMR_ATTR_NORMAL_IWB_OWB) prot |= IOMMU_CACHE;
  for (const d of node.descriptors) {
    let addr = d.baseAddress;
    let size = d.length;
    if (addr % SZ_64K !== 0n || size % SZ_64K !== 0n) {
      // iort_rmr_alloc(): page-align base and size.
      const offset = d.baseAddress % PAGE_SIZE;
      addr -= offset;
      size = ((size + offset + PAGE_SIZE - 1n) / PAGE_SIZE) * PAGE_SIZE;
      k.printk.log(
        'err',
        'ACPI: IORT',
        `[Firmware Bug]: RMR descriptor[${hex(d.baseAddress)} - ${hex(d.baseAddress + d.length - 1n)}] not aligned to 64K, continue with [${hex(addr)} - ${hex(addr + size - 1n)}]`,
      );
    }
    list.push(iommu_alloc_resv_region(addr, size, prot, type, `IORT RMR node 0x${node.offset.toString(16)}`));
  }
}

/** iort_iommu_get_resv_regions(): the RMRs of the device's SMMU that cover its stream IDs. */
export function iort_iommu_get_resv_regions(k: Kernel, dev: Device, list: IommuResvRegion[]): void {
  const st = iortState(k);
  const fwspec = dev_iommu_fwspec_get(dev);
  if (!st || !fwspec || st.table.header.revision < 5) return;
  // iort_get_iort_node(): the IORT node behind the SMMU's static fwnode.
  let iommuOffset = -1;
  for (const [offset, f] of st.fwnodes) if (f === fwspec.iommu_fwnode) iommuOffset = offset;
  if (iommuOffset < 0) return;
  for (const node of st.table.nodes) {
    if (node.kind !== 'rmr') continue;
    if (node.mappings.length === 0) {
      k.printk.log(
        'err',
        'ACPI: IORT',
        `[Firmware Bug]: Invalid ID mapping, skipping RMR node 0x${node.offset.toString(16)}`,
      );
      continue;
    }
    if (!node.rmrOffset || !node.rmrCount) continue;
    const hit = node.mappings.some(
      (m) => m.outputReference === iommuOffset && iort_rmr_has_dev(dev, fwspec.ids, m.outputBase, m.idCount),
    );
    if (hit) iort_get_rmrs(k, node, list);
  }
}
