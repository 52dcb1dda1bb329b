// SPDX-License-Identifier: GPL-2.0-only
/**
 * An AMD-Vi IO_PAGE_FAULT event as amd_iommu_report_page_fault()
 * (drivers/iommu/amd/iommu.c, 6.12) prints it for a device it knows. The
 * flags are the event's: PR (0x10) when the page was present, RW (0x20) for
 * a write, PE (0x40) for a permission violation.
 */
import type { IommuFault } from '../../iommu/translate.js';
import type { Device } from '../../base/device.js';

const EVENT_FLAG_PR = 0x10;
const EVENT_FLAG_RW = 0x20;
const EVENT_FLAG_PE = 0x40;

export function amdIoPageFaultLines(_dev: Device, f: Omit<IommuFault, 'log'>): string[] {
  let flags = f.write ? EVENT_FLAG_RW : 0;
  if (f.reason === 'permission') flags |= EVENT_FLAG_PR | EVENT_FLAG_PE;
  return [
    `Event logged [IO_PAGE_FAULT domain=0x0000 address=0x${f.iova.toString(16)} flags=0x${flags.toString(16).padStart(4, '0')}]`,
  ];
}
