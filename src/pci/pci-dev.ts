// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct pci_dev, as far as the IOMMU code reads it (include/linux/pci.h):
 * identity (vendor/device/class), the header type and multifunction bit, the
 * PCI Express capability's port type, the ACS extended capability, DMA alias
 * quirks (dma_alias_mask, dev_flags) and SR-IOV. Config space is not kept as
 * bytes: the registers the kernel reads are fields, named after them.
 */
import type { Device } from '../base/device.js';
import type { PciBus } from './pci-bus.js';

/** The dma_alias_mask of every function without aliases (the kernel's NULL mask). */
export const NO_DMA_ALIASES: ReadonlySet<number> = new Set();

/** PCI_EXP_FLAGS_TYPE values: the Device/Port Type of the PCI Express capability. */
export const PCI_EXP_TYPE_ENDPOINT = 0x0;
export const PCI_EXP_TYPE_LEG_END = 0x1;
export const PCI_EXP_TYPE_ROOT_PORT = 0x4;
export const PCI_EXP_TYPE_UPSTREAM = 0x5;
export const PCI_EXP_TYPE_DOWNSTREAM = 0x6;
/** PCIe to PCI/PCI-X bridge. */
export const PCI_EXP_TYPE_PCI_BRIDGE = 0x7;
/** PCI/PCI-X to PCIe bridge. */
export const PCI_EXP_TYPE_PCIE_BRIDGE = 0x8;
export const PCI_EXP_TYPE_RC_END = 0x9;
export const PCI_EXP_TYPE_RC_EC = 0xa;

/** PCI_HEADER_TYPE_* (the low 7 bits of the header type register). */
export const PCI_HEADER_TYPE_NORMAL = 0;
export const PCI_HEADER_TYPE_BRIDGE = 1;
export const PCI_HEADER_TYPE_CARDBUS = 2;

/** enum pci_dev_flags: the ones the IOMMU and ACS code test. */
export const PCI_DEV_FLAGS_ACS_ENABLED_QUIRK = 1 << 3;
export const PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS = 1 << 5;
export const PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT = 1 << 9;

/** PCI_ANY_ID in quirk tables. */
export const PCI_ANY_ID = 0xffff;

/** Number of devfns on a bus (MAX_NR_DEVFNS). */
export const MAX_NR_DEVFNS = 256;

export class PciDev {
  /** Set for devices behind an external-facing port (Thunderbolt): pdev->untrusted. */
  untrusted = false;
  /** The PASID capability's Max PASID Width, or null without the capability. */
  pasidWidth: number | null = null;
  /** The function has a Standard Hot-Plug Controller capability (shpc_capable()). */
  shpc = false;

  vendor = 0xffff;
  device = 0xffff;
  subsystem_vendor = 0;
  subsystem_device = 0;
  /** pdev->class: 24-bit class code (base class, sub-class, programming interface). */
  classCode = 0;
  /** PCI_HEADER_TYPE_* without the multifunction bit. */
  hdr_type = PCI_HEADER_TYPE_NORMAL;
  /** The header's multifunction bit, forced on for functions other than 0 by pci_scan_slot(). */
  multifunction = false;
  /** Offset of the PCI Express capability, 0 without one (pci_pcie_cap()). */
  pcie_cap = 0;
  /** The PCI Express Capabilities Register (its Device/Port Type field is bits 7:4). */
  pcie_flags_reg = 0;
  /** Offset of the ACS extended capability, 0 without one (dev->acs_cap). */
  acs_cap = 0;
  /** The ACS Capability Register (PCI_ACS_CAP). */
  acsCapability = 0;
  /**
   * The ACS Control Register (PCI_ACS_CTRL). For the Intel Sunrise/Union Point
   * root ports that keep it in a dword at offset 8, this is that dword.
   */
  acsControl = 0;
  /** enum pci_dev_flags bits. */
  dev_flags = 0;
  /**
   * dma_alias_mask: devfns on this device's bus that it also issues DMA as.
   * NULL in the kernel until the first pci_add_dma_alias(); one shared empty
   * set here, replaced by the device's own at that point.
   */
  dma_alias_mask: ReadonlySet<number> = NO_DMA_ALIASES;
  /** The bus behind this bridge, when it is one (pdev->subordinate). */
  subordinate: PciBus | null = null;
  /** Set on ports facing the outside of the machine (pdev->external_facing). */
  external_facing = false;
  is_virtfn = false;
  /** The physical function of a VF (pdev->physfn). */
  physfn: PciDev | null = null;
  /** What pci_real_dma_dev() returns when the platform overrides it (x86 VMD), else null. */
  real_dma_dev: PciDev | null = null;
  private attachedBus: PciBus | null = null;

  constructor(
    readonly dev: Device,
    readonly segment: number,
    readonly busNr: number,
    readonly devfn: number,
  ) {}

  /** pdev->bus. Only functions placed in a topology have one. */
  get bus(): PciBus {
    if (!this.attachedBus) throw new Error(`${this.name} is not on a PCI bus (no topology was built)`);
    return this.attachedBus;
  }

  /** The bus numbers this bridge forwards, [secondary, subordinate], or null when it is not a bridge with a bus. */
  get subordinateRange(): readonly [number, number] | null {
    return this.subordinate ? [this.subordinate.number, this.subordinate.subordinate] : null;
  }

  /** Whether pdev->bus is set. */
  get onBus(): boolean {
    return this.attachedBus !== null;
  }

  /** Puts the function on its bus (done once, by enumeration). */
  attachBus(bus: PciBus): void {
    if (bus.number !== this.busNr || bus.segment !== this.segment)
      throw new RangeError(`${this.name} cannot sit on bus ${bus.name}`);
    this.attachedBus = bus;
  }

  /** pci_max_pasids(): 1 << width with an enabled-able PASID capability, else -EINVAL (0 here). */
  maxPasids(): number {
    return this.pasidWidth === null ? 0 : 2 ** this.pasidWidth;
  }

  /** PCI_SLOT() */
  get slot(): number {
    return this.devfn >> 3;
  }

  /** PCI_FUNC() */
  get func(): number {
    return this.devfn & 7;
  }

  /** pci_name(): the device's name, "SSSS:BB:DD.F" (pci_setup_device() sets it from the address). */
  get name(): string {
    return this.dev.name;
  }

  toString(): string {
    return this.name;
  }
}

/** PCI_DEVID(bus, devfn): the requester ID. */
export function PCI_DEVID(bus: number, devfn: number): number {
  return ((bus & 0xff) << 8) | (devfn & 0xff);
}

/** PCI_DEVFN(slot, func) */
export function PCI_DEVFN(slot: number, func: number): number {
  return ((slot & 0x1f) << 3) | (func & 0x07);
}

/** pci_dev_id(): the function's own requester ID. */
export function pci_dev_id(pdev: PciDev): number {
  return PCI_DEVID(pdev.busNr, pdev.devfn);
}

/** pci_is_pcie() */
export function pci_is_pcie(pdev: PciDev): boolean {
  return pdev.pcie_cap !== 0;
}

/** pci_pcie_type(): reads 0 (PCI_EXP_TYPE_ENDPOINT) for a conventional PCI function, as the kernel does. */
export function pci_pcie_type(pdev: PciDev): number {
  return (pdev.pcie_flags_reg & 0xf0) >> 4;
}

/** pcie_downstream_port() (drivers/pci/pci.h) */
export function pcie_downstream_port(pdev: PciDev): boolean {
  const type = pci_pcie_type(pdev);
  return (
    type === PCI_EXP_TYPE_ROOT_PORT || type === PCI_EXP_TYPE_DOWNSTREAM || type === PCI_EXP_TYPE_PCIE_BRIDGE
  );
}

/** pci_physfn() */
export function pci_physfn(pdev: PciDev): PciDev {
  return pdev.is_virtfn && pdev.physfn ? pdev.physfn : pdev;
}

/** "BB:DD.F" / "DD.F" for log lines. */
export function devfnName(devfn: number): string {
  return `${(devfn >> 3).toString(16).padStart(2, '0')}.${devfn & 7}`;
}

/** The requester ID as "BB:DD.F". */
export function ridName(rid: number): string {
  return `${((rid >> 8) & 0xff).toString(16).padStart(2, '0')}:${devfnName(rid & 0xff)}`;
}
