// SPDX-License-Identifier: GPL-2.0-only
/**
 * The PCI core's globals for one modelled kernel (drivers/pci/pci.c,
 * probe.c, search.c): pci_acs_enable (set by pci_request_acs()), the pci=
 * options that touch ACS (noats, config_acs=, disable_acs_redir=), the root
 * buses, and every function in pci_device_add() order (for_each_pci_dev()).
 *
 * Functions are indexed per segment by (bus << 8 | devfn) so that
 * pci_get_domain_bus_and_slot() is a map lookup. The state hangs off the
 * Kernel through a WeakMap, so several kernels never share it.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { PciBus } from './pci-bus.js';
import type { PciDev } from './pci-dev.js';
import { PCI_DEVID } from './pci-dev.js';
import { parseAcsOverride, type AcsOverride } from './acs-override.js';

/** One PCI segment (domain): its buses and functions. */
export interface PciSegment {
  readonly number: number;
  readonly buses: Map<number, PciBus>;
  /** Functions by PCI_DEVID(bus, devfn). */
  readonly functions: Map<number, PciDev>;
}

export class PciCore {
  /** pci_acs_enable: an IOMMU driver asked for ACS (pci_request_acs()). */
  acs_enable = false;
  /** pcie_ats_disabled: "pci=noats". */
  ats_disabled = false;
  /** "pci=config_acs=" (null when absent). */
  config_acs_param: string | null = null;
  /** "pci=disable_acs_redir=" (null when absent). */
  disable_acs_redir_param: string | null = null;
  /** pcie_acs_override= under the out-of-tree patch (null: no patch, or no parameter). */
  readonly acsOverride: AcsOverride | null;
  /** ACPI tables the firmware provides, by signature ("IVRS", "DMAR"...): the AMD SB quirk looks for IVRS. */
  readonly acpiTables = new Set<string>();
  /** pci_root_buses */
  readonly rootBuses: PciBus[] = [];
  readonly segments = new Map<number, PciSegment>();
  /** Every function in pci_device_add() order: the order of for_each_pci_dev(). */
  readonly devices: PciDev[] = [];

  constructor(readonly k: Kernel) {
    const pci = k.cmdline.params.get('pci');
    if (pci !== undefined) parsePciParam(this, pci);
    this.acsOverride = parseAcsOverride(k);
  }

  segment(number: number): PciSegment {
    let seg = this.segments.get(number);
    if (!seg) {
      seg = { number, buses: new Map(), functions: new Map() };
      this.segments.set(number, seg);
    }
    return seg;
  }

  /** Records a newly added function (pci_device_add()'s list_add_tail()s). */
  addDevice(pdev: PciDev): void {
    this.segment(pdev.segment).functions.set(PCI_DEVID(pdev.busNr, pdev.devfn), pdev);
    pdev.bus.devices.push(pdev);
    this.devices.push(pdev);
  }

  addBus(bus: PciBus): void {
    this.segment(bus.segment).buses.set(bus.number, bus);
    if (bus.parent) bus.parent.children.push(bus);
    else this.rootBuses.push(bus);
  }
}

const cores = new WeakMap<Kernel, PciCore>();

/** The PCI core state of kernel k, created on first use. */
export function pci_core(k: Kernel): PciCore {
  let core = cores.get(k);
  if (!core) {
    core = new PciCore(k);
    cores.set(k, core);
  }
  return core;
}

/**
 * pci_setup(): the "pci=" options that matter for ACS, comma-separated. A
 * config_acs= or disable_acs_redir= value keeps its ';' separators; a comma
 * ends it, as in the kernel.
 */
function parsePciParam(core: PciCore, value: string): void {
  for (const opt of value.split(',')) {
    if (opt.startsWith('noats')) core.ats_disabled = true;
    else if (opt.startsWith('disable_acs_redir=')) core.disable_acs_redir_param = opt.slice(18);
    else if (opt.startsWith('config_acs=')) core.config_acs_param = opt.slice(11);
  }
}

/** pci_find_bus() */
export function pci_find_bus(k: Kernel, domain: number, busnr: number): PciBus | null {
  return pci_core(k).segments.get(domain)?.buses.get(busnr) ?? null;
}

/** pci_get_domain_bus_and_slot() (without the reference count). */
export function pci_get_domain_bus_and_slot(
  k: Kernel,
  domain: number,
  bus: number,
  devfn: number,
): PciDev | null {
  return pci_core(k).segments.get(domain)?.functions.get(PCI_DEVID(bus, devfn)) ?? null;
}

/** pci_get_slot(): a function on the given bus (without the reference count). */
export function pci_get_slot(bus: PciBus, devfn: number): PciDev | null {
  return bus.core.segments.get(bus.segment)?.functions.get(PCI_DEVID(bus.number, devfn)) ?? null;
}

/** pci_request_acs(): ask for ACS to be enabled on functions enumerated from now on. */
export function pci_request_acs(k: Kernel): void {
  pci_core(k).acs_enable = true;
}
