// SPDX-License-Identifier: GPL-2.0-only
/**
 * Access Control Services as the IOMMU grouping reads them
 * (drivers/pci/pci.c pci_acs_enabled(), pci_acs_flags_enabled(),
 * pci_acs_path_enabled()).
 *
 * pci_acs_enabled() asks "does this function provide these controls?", first
 * of the device-specific quirks (acs-quirks.ts), then of the capability, by
 * port type: conventional PCI and PCIe<->PCI bridges never isolate, root and
 * downstream ports need the controls enabled, other functions only matter
 * when they are multifunction. Controls missing from the capability register
 * count as hard-wired on (except Egress Control).
 *
 * acsVerdict() is the same decision with a plain-words reason, so that the
 * explanation can never drift from the answer.
 */
import type { PciDev } from './pci-dev.js';
import {
  PCI_EXP_TYPE_DOWNSTREAM,
  PCI_EXP_TYPE_ENDPOINT,
  PCI_EXP_TYPE_LEG_END,
  PCI_EXP_TYPE_PCIE_BRIDGE,
  PCI_EXP_TYPE_PCI_BRIDGE,
  PCI_EXP_TYPE_RC_EC,
  PCI_EXP_TYPE_RC_END,
  PCI_EXP_TYPE_ROOT_PORT,
  PCI_EXP_TYPE_UPSTREAM,
  pci_is_pcie,
  pci_pcie_type,
} from './pci-dev.js';
import { pci_is_root_bus } from './pci-bus.js';
import { pci_dev_specific_acs_enabled } from './acs-quirks.js';
import { PCI_ACS_EC, acsFlagsText } from './acs-regs.js';

export * from './acs-regs.js';
export { pci_request_acs } from './pci-core.js';

const hex4 = (v: number) => `0x${v.toString(16).padStart(4, '0')}`;

export interface AcsVerdict {
  readonly enabled: boolean;
  /** Why, in plain words: "no ACS capability", "ACS ctrl 0x001d provides SV|RR|CR|UF"... */
  readonly why: string;
}

/** pci_acs_flags_enabled(), with its reason. */
function acsFlagsVerdict(pdev: PciDev, acs_flags: number): AcsVerdict {
  if (!pdev.acs_cap) return { enabled: false, why: 'no ACS capability' };
  const needed = acs_flags & (pdev.acsCapability | PCI_ACS_EC);
  const missing = needed & ~pdev.acsControl;
  if (missing)
    return {
      enabled: false,
      why: `ACS ctrl ${hex4(pdev.acsControl)} lacks ${acsFlagsText(missing)} (cap ${hex4(pdev.acsCapability)})`,
    };
  return { enabled: true, why: `ACS ctrl ${hex4(pdev.acsControl)} provides ${acsFlagsText(acs_flags)}` };
}

/** pci_acs_flags_enabled() */
export function pci_acs_flags_enabled(pdev: PciDev, acs_flags: number): boolean {
  return acsFlagsVerdict(pdev, acs_flags).enabled;
}

/** pci_acs_enabled()'s decision with its reason. */
export function acsVerdict(pdev: PciDev, acs_flags: number): AcsVerdict {
  const quirk = pci_dev_specific_acs_enabled(pdev, acs_flags);
  if (quirk.ret >= 0) {
    const enabled = quirk.ret > 0;
    return {
      enabled,
      why: `${quirk.quirk} ${enabled ? 'vouches for' : 'denies'} ${acsFlagsText(acs_flags)}`,
    };
  }
  if (!pci_is_pcie(pdev)) return { enabled: false, why: 'conventional PCI: the shared bus cannot isolate' };

  switch (pci_pcie_type(pdev)) {
    case PCI_EXP_TYPE_PCIE_BRIDGE:
      return { enabled: false, why: 'PCI-to-PCIe bridge: treated as conventional PCI' };
    case PCI_EXP_TYPE_PCI_BRIDGE:
      return { enabled: false, why: 'PCIe-to-PCI bridge: ACS never applies' };
    case PCI_EXP_TYPE_RC_EC:
      return { enabled: false, why: 'root complex event collector: ACS never applies' };
    case PCI_EXP_TYPE_DOWNSTREAM:
    case PCI_EXP_TYPE_ROOT_PORT:
      return acsFlagsVerdict(pdev, acs_flags);
    case PCI_EXP_TYPE_ENDPOINT:
    case PCI_EXP_TYPE_UPSTREAM:
    case PCI_EXP_TYPE_LEG_END:
    case PCI_EXP_TYPE_RC_END:
      if (!pdev.multifunction) break;
      return acsFlagsVerdict(pdev, acs_flags);
  }
  return { enabled: true, why: 'single function: no peer-to-peer to control' };
}

/** pci_acs_enabled(): does the function provide (or not need) every control in acs_flags? */
export function pci_acs_enabled(pdev: PciDev, acs_flags: number): boolean {
  return acsVerdict(pdev, acs_flags).enabled;
}

/**
 * The first function from start up to end (or the root bus when end is null)
 * that fails pci_acs_enabled(), or null when pci_acs_path_enabled() holds.
 * A walk reaching the root bus before `end` fails at the root bus function.
 */
export function acsPathBlocker(start: PciDev, end: PciDev | null, acs_flags: number): PciDev | null {
  let parent: PciDev | null = start;
  let pdev: PciDev | undefined;
  do {
    // A bridge on a virtual (bridge-less) bus: the kernel would dereference NULL; report the walk as broken.
    if (!parent) return pdev!;
    pdev = parent;
    if (!pci_acs_enabled(pdev, acs_flags)) return pdev;
    if (pci_is_root_bus(pdev.bus)) return end === null ? null : pdev;
    parent = pdev.bus.self;
  } while (pdev !== end);
  return null;
}

/** pci_acs_path_enabled(): ACS holds on every function from start up to end (null: up to the root bus). */
export function pci_acs_path_enabled(start: PciDev, end: PciDev | null, acs_flags: number): boolean {
  return acsPathBlocker(start, end, acs_flags) === null;
}
