// SPDX-License-Identifier: GPL-2.0-only
/**
 * A VT-d DMA-remapping fault as dmar_fault_do_one() (drivers/iommu/intel/
 * dmar.c, 6.12) prints it: the request type, the source ID as bus:dev.fn,
 * the address and the fault reason with its text. A non-present leaf has
 * neither R nor W, so it reports the access it lacks (0x06 for a read,
 * 0x05 for a write); an address beyond the domain's width is 0x04; a
 * device with no context (blocked) 0x02.
 */
import type { IommuFault } from '../../iommu/translate.js';
import type { Device } from '../../base/device.js';
import { deviceSid } from '../../iommu/translate.js';

/** dma_remap_fault_reasons[] (the entries the model raises). */
const REASONS: Readonly<Record<number, string>> = {
  0x2: 'Present bit in context entry is clear',
  0x4: 'Access beyond MGAW',
  0x5: 'PTE Write access is not set',
  0x6: 'PTE Read access is not set',
};

export function dmarFaultLines(dev: Device, f: Omit<IommuFault, 'log'>): string[] {
  const reason = f.reason === 'blocked' ? 0x2 : f.reason === 'aperture' ? 0x4 : f.write ? 0x5 : 0x6;
  const sid = deviceSid(dev);
  const bdf = `${(sid >> 8).toString(16).padStart(2, '0')}:${((sid >> 3) & 0x1f).toString(16).padStart(2, '0')}.${sid & 7}`;
  return [
    `[${f.write ? 'DMA Write' : 'DMA Read'} NO_PASID] Request device [${bdf}] fault addr 0x${f.iova.toString(16)} [fault reason 0x${reason.toString(16).padStart(2, '0')}] ${REASONS[reason]}`,
  ];
}
