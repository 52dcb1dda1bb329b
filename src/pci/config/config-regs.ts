// SPDX-License-Identifier: GPL-2.0-only
/**
 * PCI configuration space layout as data (include/uapi/linux/pci_regs.h):
 * the header registers the IOMMU code depends on, the capability IDs of the
 * standard list (from PCI_CAPABILITY_LIST) and of the extended list (from
 * 0x100), and the registers read inside the capabilities that are decoded.
 * decode.ts has the one algorithm that reads them.
 */

/** A register: its offset (from the header or from the capability's start) and its width in bytes. */
export interface ConfigReg {
  readonly offset: number;
  readonly size: 1 | 2 | 4;
  /** The name used in error messages ("PCI_SECONDARY_BUS"). */
  readonly name: string;
}

const reg = (offset: number, size: 1 | 2 | 4, name: string): ConfigReg => ({ offset, size, name });

/** PCI_CFG_SPACE_SIZE and PCI_CFG_SPACE_EXP_SIZE. */
export const PCI_CFG_SPACE_SIZE = 256;
export const PCI_CFG_SPACE_EXP_SIZE = 4096;
/** What lspci -x (or an unprivileged read of sysfs config) shows: the standard header only. */
export const PCI_STD_HEADER_SIZEOF = 64;

/** The header registers of every function (type 0 and type 1 alike). */
export const commonHeader = {
  vendor: reg(0x00, 2, 'PCI_VENDOR_ID'),
  device: reg(0x02, 2, 'PCI_DEVICE_ID'),
  status: reg(0x06, 2, 'PCI_STATUS'),
  /** PCI_CLASS_REVISION: revision in bits 7:0, the 24-bit class code above. */
  classRevision: reg(0x08, 4, 'PCI_CLASS_REVISION'),
  headerType: reg(0x0e, 1, 'PCI_HEADER_TYPE'),
  capabilityList: reg(0x34, 1, 'PCI_CAPABILITY_LIST'),
} as const;

/** Type 0 (normal) header. */
export const normalHeader = {
  subsystemVendor: reg(0x2c, 2, 'PCI_SUBSYSTEM_VENDOR_ID'),
  subsystemDevice: reg(0x2e, 2, 'PCI_SUBSYSTEM_ID'),
} as const;

/** Type 1 (PCI-to-PCI bridge) header: the bus numbers. */
export const bridgeHeader = {
  primary: reg(0x18, 1, 'PCI_PRIMARY_BUS'),
  secondary: reg(0x19, 1, 'PCI_SECONDARY_BUS'),
  subordinate: reg(0x1a, 1, 'PCI_SUBORDINATE_BUS'),
} as const;

/** PCI_STATUS_CAP_LIST: the function has a capability list at PCI_CAPABILITY_LIST. */
export const PCI_STATUS_CAP_LIST = 0x10;
/** PCI_HEADER_TYPE_MASK and PCI_HEADER_TYPE_MFD. */
export const PCI_HEADER_TYPE_MASK = 0x7f;
export const PCI_HEADER_TYPE_MFD = 0x80;

/** The header types, as the kernel's pci_setup_device() knows them. */
export const headerTypes: Readonly<Record<number, string>> = {
  0: 'normal',
  1: 'PCI-to-PCI bridge',
  2: 'CardBus bridge',
};

/** PCI_CAP_ID_*: the standard capability list (IDs 0x00-0xff; the list starts at 0x40 or above). */
/** Standard Hot-Plug Controller (SHPC) */
export const PCI_CAP_ID_SHPC = 0x0c;
export const PCI_CAP_ID_SSVID = 0x0d;
export const PCI_CAP_ID_EXP = 0x10;
export const capabilityNames: Readonly<Record<number, string>> = {
  0x01: 'Power Management',
  0x02: 'AGP',
  0x03: 'VPD',
  0x04: 'Slot ID',
  0x05: 'MSI',
  0x06: 'CompactPCI Hot Swap',
  0x07: 'PCI-X',
  0x08: 'HyperTransport',
  0x09: 'Vendor Specific',
  0x0a: 'Debug port',
  0x0b: 'CompactPCI Central Resource Control',
  0x0c: 'PCI Standard Hot-Plug Controller',
  [PCI_CAP_ID_SSVID]: 'Bridge Subsystem Vendor/Device ID',
  0x0e: 'AGP 8x',
  0x0f: 'Secure Device',
  [PCI_CAP_ID_EXP]: 'PCI Express',
  0x11: 'MSI-X',
  0x12: 'SATA Data/Index Configuration',
  0x13: 'Advanced Features',
  0x14: 'Enhanced Allocation',
  0x15: 'Flattening Portal Bridge',
};
/** The lowest offset a standard capability may sit at (the header ends at 0x40). */
export const PCI_CAP_MIN_OFFSET = 0x40;

/** PCI_EXT_CAP_ID_*: the extended capability list, from PCI_CFG_SPACE_SIZE (0x100). */
export const PCI_EXT_CAP_ID_ACS = 0x000d;
export const PCI_EXT_CAP_ID_ATS = 0x000f;
export const PCI_EXT_CAP_ID_SRIOV = 0x0010;
export const PCI_EXT_CAP_ID_PRI = 0x0013;
export const PCI_EXT_CAP_ID_PASID = 0x001b;
export const extCapabilityNames: Readonly<Record<number, string>> = {
  0x0001: 'Advanced Error Reporting',
  0x0002: 'Virtual Channel',
  0x0003: 'Device Serial Number',
  0x0004: 'Power Budgeting',
  0x0005: 'Root Complex Link Declaration',
  0x0006: 'Root Complex Internal Link Control',
  0x0007: 'Root Complex Event Collector Endpoint Association',
  0x0008: 'Multi-Function Virtual Channel',
  0x0009: 'Virtual Channel (MFVC present)',
  0x000a: 'Root Complex Register Block',
  0x000b: 'Vendor-Specific Extended',
  0x000c: 'Configuration Access Correlation',
  [PCI_EXT_CAP_ID_ACS]: 'Access Control Services',
  0x000e: 'Alternative Routing-ID Interpretation',
  [PCI_EXT_CAP_ID_ATS]: 'Address Translation Services',
  [PCI_EXT_CAP_ID_SRIOV]: 'Single Root I/O Virtualization',
  0x0011: 'Multi-Root I/O Virtualization',
  0x0012: 'Multicast',
  [PCI_EXT_CAP_ID_PRI]: 'Page Request Interface',
  0x0015: 'Resizable BAR',
  0x0016: 'Dynamic Power Allocation',
  0x0017: 'TPH Requester',
  0x0018: 'Latency Tolerance Reporting',
  0x0019: 'Secondary PCI Express',
  0x001a: 'Protocol Multiplexing',
  [PCI_EXT_CAP_ID_PASID]: 'Process Address Space ID',
  0x001c: 'LN Requester',
  0x001d: 'Downstream Port Containment',
  0x001e: 'L1 PM Substates',
  0x001f: 'Precision Time Measurement',
  0x0023: 'Designated Vendor-Specific',
  0x0024: 'VF Resizable BAR',
  0x0025: 'Data Link Feature',
  0x0026: 'Physical Layer 16.0 GT/s',
  0x0027: 'Lane Margining at the Receiver',
  0x002a: 'Physical Layer 32.0 GT/s',
  0x002e: 'Data Object Exchange',
  0x0030: 'Integrity and Data Encryption',
};
/** A header is 4 bytes, and the smallest extended capability 8 (the kernel's TTL assumes as much). */
export const PCI_EXT_CAP_MIN_SIZE = 8;

/**
 * The registers read inside each decoded capability, relative to the
 * capability's start. Every register here must lie in the dump, or the
 * capability is truncated.
 */
export const capabilityRegs = {
  /** Standard list, PCI_CAP_ID_EXP: PCI_EXP_FLAGS (version bits 3:0, Device/Port Type bits 7:4). */
  [PCI_CAP_ID_EXP]: { flags: reg(0x02, 2, 'PCI_EXP_FLAGS') },
  /** Standard list, PCI_CAP_ID_SSVID: a bridge's subsystem IDs. */
  [PCI_CAP_ID_SSVID]: {
    vendor: reg(0x04, 2, 'PCI_SSVID_VENDOR_ID'),
    device: reg(0x06, 2, 'PCI_SSVID_DEVICE_ID'),
  },
} as const;

export const extCapabilityRegs = {
  [PCI_EXT_CAP_ID_ACS]: { cap: reg(0x04, 2, 'PCI_ACS_CAP'), ctrl: reg(0x06, 2, 'PCI_ACS_CTRL') },
  [PCI_EXT_CAP_ID_ATS]: { cap: reg(0x04, 2, 'PCI_ATS_CAP'), ctrl: reg(0x06, 2, 'PCI_ATS_CTRL') },
  [PCI_EXT_CAP_ID_PRI]: { ctrl: reg(0x04, 2, 'PCI_PRI_CTRL'), status: reg(0x06, 2, 'PCI_PRI_STATUS') },
  [PCI_EXT_CAP_ID_PASID]: { cap: reg(0x04, 2, 'PCI_PASID_CAP'), ctrl: reg(0x06, 2, 'PCI_PASID_CTRL') },
  [PCI_EXT_CAP_ID_SRIOV]: {
    ctrl: reg(0x08, 2, 'PCI_SRIOV_CTRL'),
    totalVFs: reg(0x0e, 2, 'PCI_SRIOV_TOTAL_VF'),
    numVFs: reg(0x10, 2, 'PCI_SRIOV_NUM_VF'),
    vfOffset: reg(0x14, 2, 'PCI_SRIOV_VF_OFFSET'),
    vfStride: reg(0x16, 2, 'PCI_SRIOV_VF_STRIDE'),
    vfDevice: reg(0x1a, 2, 'PCI_SRIOV_VF_DID'),
  },
} as const;

/** A bit field of a register value: (value & mask) >> shift. */
export interface ConfigField {
  readonly mask: number;
  readonly shift: number;
}
const field = (mask: number): ConfigField => ({ mask, shift: Math.log2(mask & -mask) });

/** Fields inside the registers above. */
export const configFields = {
  /** PCI_EXP_FLAGS_VERS */
  pcieVersion: field(0x000f),
  /** PCI_EXP_FLAGS_TYPE: the Device/Port Type. */
  pciePortType: field(0x00f0),
  /** PCI_PASID_CAP_WIDTH: Max PASID Width. */
  pasidMaxWidth: field(0x1f00),
  /** PCI_SRIOV_CTRL_VFE: VF Enable. */
  sriovVfEnable: field(0x0001),
  /** The extended capability header: ID, version, next pointer (PCI_EXT_CAP_ID/VER/NEXT). */
  extCapId: field(0x0000ffff),
  extCapVersion: field(0x000f0000),
  /** The low two bits of the next pointer are reserved; the kernel masks them (PCI_EXT_CAP_NEXT). */
  extCapNext: { mask: 0xffc00000, shift: 20 } as ConfigField,
} as const;

/** The largest Max PASID Width the PCIe specification allows (larger values are reserved). */
export const PASID_MAX_WIDTH = 20;
