// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct pci_dev, as far as the IOMMU code reads it (include/linux/pci.h).
 */
import type { Device } from '../base/device.js';

export class PciDev {
  /** Set for devices behind an external-facing port (Thunderbolt): pdev->untrusted. */
  untrusted = false;
  /** The PASID capability's Max PASID Width, or null without the capability. */
  pasidWidth: number | null = null;

  constructor(
    readonly dev: Device,
    readonly segment: number,
    readonly busNr: number,
    readonly devfn: number,
  ) {}

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

  /** pci_name(): "SSSS:BB:DD.F" */
  get name(): string {
    const h = (v: number, n: number) => v.toString(16).padStart(n, '0');
    return `${h(this.segment, 4)}:${h(this.busNr, 2)}:${h(this.slot, 2)}.${this.func}`;
  }
}

/** PCI_DEVID(bus, devfn): the requester ID. */
export function PCI_DEVID(bus: number, devfn: number): number {
  return ((bus & 0xff) << 8) | (devfn & 0xff);
}
