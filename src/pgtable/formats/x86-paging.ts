// SPDX-License-Identifier: GPL-2.0-only
/**
 * The x86-64 paging entry fields (Intel SDM vol. 3 §4.5) that two IOMMU
 * table formats reuse: VT-d first-stage tables and AMD v2 tables. Only the
 * execute-disable bit is named differently by the two specs (XD, NX).
 */
import type { PteField } from '../format.js';

export function x86PagingFields(executeDisable: 'XD' | 'NX'): readonly PteField[] {
  const common = (on: 'leaf' | 'table'): PteField[] => [
    { name: 'P', lsb: 0, width: 1, on },
    { name: 'RW', lsb: 1, width: 1, on },
    { name: 'US', lsb: 2, width: 1, on },
    { name: 'A', lsb: 5, width: 1, on },
  ];
  return [
    ...common('leaf'),
    { name: 'D', lsb: 6, width: 1, on: 'leaf' },
    { name: 'PS', lsb: 7, width: 1, on: 'leaf' },
    { name: executeDisable, lsb: 63, width: 1, on: 'leaf' },
    ...common('table'),
  ];
}
