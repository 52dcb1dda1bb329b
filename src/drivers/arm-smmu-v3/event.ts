// SPDX-License-Identifier: GPL-2.0-only
/**
 * An SMMUv3 event record for a faulting transaction, and the lines
 * arm_smmu_evtq_thread() prints for an event nobody handled ("event 0x10
 * received:" and the record's four 64-bit words). Field layout from
 * arm-smmu-v3.h (EVTQ_*). A transaction on a stream whose STE aborts
 * (the blocked domain) is terminated without an event.
 */
import type { IommuFault } from '../../iommu/translate.js';
import type { Device } from '../../base/device.js';
import { deviceSid } from '../../iommu/translate.js';

export const EVT_ID_TRANSLATION_FAULT = 0x10;
export const EVT_ID_ADDR_SIZE_FAULT = 0x11;
export const EVT_ID_PERMISSION_FAULT = 0x13;

/** EVTQ_1_RnW and EVTQ_1_CLASS (0b10: the input address faulted). */
const EVTQ_1_RnW = 1n << 35n;
const EVTQ_1_CLASS_IN = 2n << 40n;

const hex16 = (v: bigint): string => `\t0x${v.toString(16).padStart(16, '0')}`;

export function smmuV3EventLines(dev: Device, f: Omit<IommuFault, 'log'>): string[] {
  if (f.reason === 'blocked') return [];
  const id =
    f.reason === 'aperture'
      ? EVT_ID_ADDR_SIZE_FAULT
      : f.reason === 'permission'
        ? EVT_ID_PERMISSION_FAULT
        : EVT_ID_TRANSLATION_FAULT;
  const evt = [
    (BigInt(deviceSid(dev)) << 32n) | BigInt(id),
    EVTQ_1_CLASS_IN | (f.write ? 0n : EVTQ_1_RnW),
    BigInt(f.iova),
    0n,
  ];
  return [`event 0x${id.toString(16).padStart(2, '0')} received:`, ...evt.map(hex16)];
}
