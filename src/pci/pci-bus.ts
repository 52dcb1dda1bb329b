// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct pci_bus (include/linux/pci.h): a bus number in a segment, the bridge
 * that leads to it (`self`, null on a root bus and on the virtual buses that
 * SR-IOV adds for VFs), its parent bus, and its functions in the order they
 * were added (bus->devices). A root bus has no parent: pci_is_root_bus().
 */
import type { PciCore } from './pci-core.js';
import type { PciDev } from './pci-dev.js';
import { pci_physfn } from './pci-dev.js';

export class PciBus {
  /** bus->devices, in pci_device_add() order. */
  readonly devices: PciDev[] = [];
  /** bus->children */
  readonly children: PciBus[] = [];
  /** The bus number range this bus decodes: bus->busn_res.end. */
  subordinate: number;

  constructor(
    readonly core: PciCore,
    readonly segment: number,
    /** bus->number: the secondary bus number of the bridge leading here. */
    readonly number: number,
    /** bus->parent, null for a root bus. */
    readonly parent: PciBus | null,
    /** bus->self: the bridge leading to this bus, null for a root bus or a virtual bus. */
    readonly self: PciDev | null,
    subordinate: number,
  ) {
    this.subordinate = subordinate;
  }

  /** bus->primary: the number of the bus the bridge sits on. */
  get primary(): number {
    return this.parent ? this.parent.number : 0;
  }

  /** The secondary bus number, which is bus->number. */
  get secondary(): number {
    return this.number;
  }

  /** "SSSS:BB", as /sys/class/pci_bus names it. */
  get name(): string {
    return `${this.segment.toString(16).padStart(4, '0')}:${this.number.toString(16).padStart(2, '0')}`;
  }

  toString(): string {
    return this.name;
  }
}

/** pci_is_root_bus() */
export function pci_is_root_bus(bus: PciBus): boolean {
  return bus.parent === null;
}

/** pci_domain_nr() */
export function pci_domain_nr(bus: PciBus): number {
  return bus.segment;
}

/** pci_upstream_bridge(): the bridge above the function (above its PF for a VF), null on a root bus. */
export function pci_upstream_bridge(pdev: PciDev): PciDev | null {
  const dev = pci_physfn(pdev);
  if (pci_is_root_bus(dev.bus)) return null;
  return dev.bus.self;
}

/** The root bus above a function (find_pci_root_bus()). */
export function pci_find_root_bus(pdev: PciDev): PciBus {
  let bus = pdev.bus;
  while (bus.parent) bus = bus.parent;
  return bus;
}
