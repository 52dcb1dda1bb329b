// SPDX-License-Identifier: GPL-2.0-only
/**
 * PCI vendor IDs that the ACS and DMA alias quirk tables name
 * (include/linux/pci_ids.h PCI_VENDOR_ID_*).
 */
export const PCI_VENDOR_ID_LOONGSON = 0x0014;
export const PCI_VENDOR_ID_ATI = 0x1002;
export const PCI_VENDOR_ID_AMD = 0x1022;
export const PCI_VENDOR_ID_TTI = 0x1103;
export const PCI_VENDOR_ID_RICOH = 0x1180;
export const PCI_VENDOR_ID_AMCC = 0x10e8;
export const PCI_VENDOR_ID_PLX = 0x10b5;
export const PCI_VENDOR_ID_BROADCOM = 0x14e4;
export const PCI_VENDOR_ID_CAVIUM = 0x177d;
export const PCI_VENDOR_ID_QCOM = 0x17cb;
export const PCI_VENDOR_ID_SOLARFLARE = 0x1924;
export const PCI_VENDOR_ID_NXP = 0x1957;
export const PCI_VENDOR_ID_JMICRON = 0x197b;
export const PCI_VENDOR_ID_MARVELL_EXT = 0x1b4b;
export const PCI_VENDOR_ID_ASMEDIA = 0x1b21;
export const PCI_VENDOR_ID_AMAZON_ANNAPURNA_LABS = 0x1c36;
export const PCI_VENDOR_ID_ZHAOXIN = 0x1d17;
export const PCI_VENDOR_ID_HXT = 0x1dbf;
export const PCI_VENDOR_ID_AMPERE = 0x1def;
export const PCI_VENDOR_ID_GLENFLY = 0x6766;
export const PCI_VENDOR_ID_INTEL = 0x8086;
export const PCI_VENDOR_ID_WANGXUN = 0x8088;
export const PCI_VENDOR_ID_ADAPTEC2 = 0x9005;
/** Emulex (BE3-R and Skyhawk-R appear with two vendor IDs in the ACS table). */
export const PCI_VENDOR_ID_EMULEX_BE3R = 0x19a2;
export const PCI_VENDOR_ID_EMULEX = 0x10df;
export const PCI_VENDOR_ID_REDHAT_QUMRANET = 0x1af4;
export const PCI_VENDOR_ID_REDHAT = 0x1b36;
