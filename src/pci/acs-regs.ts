// SPDX-License-Identifier: GPL-2.0-only
/**
 * The ACS extended capability's register bits (include/uapi/linux/pci_regs.h
 * PCI_ACS_*), by name, and their display.
 */

/** PCI_ACS_* bits of the ACS Capability and Control registers. */
export const PCI_ACS_SV = 0x0001;
export const PCI_ACS_TB = 0x0002;
export const PCI_ACS_RR = 0x0004;
export const PCI_ACS_CR = 0x0008;
export const PCI_ACS_UF = 0x0010;
export const PCI_ACS_EC = 0x0020;
export const PCI_ACS_DT = 0x0040;

export const acsFlagBits = {
  SV: PCI_ACS_SV,
  TB: PCI_ACS_TB,
  RR: PCI_ACS_RR,
  CR: PCI_ACS_CR,
  UF: PCI_ACS_UF,
  EC: PCI_ACS_EC,
  DT: PCI_ACS_DT,
} as const;
export type AcsFlagName = keyof typeof acsFlagBits;
export const acsFlagNames = Object.keys(acsFlagBits) as AcsFlagName[];

/** "SV|RR|CR|UF", or "none". */
export function acsFlagsText(mask: number): string {
  const names = acsFlagNames.filter((n) => mask & acsFlagBits[n]);
  return names.length ? names.join('|') : 'none';
}
