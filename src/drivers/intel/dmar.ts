// SPDX-License-Identifier: GPL-2.0-only
/**
 * The DMAR model the Intel driver works from (drivers/iommu/intel/dmar.c):
 * DRHD units with their device scopes and INCLUDE_PCI_ALL, and RMRRs. Scopes
 * are resolved to present devices ("active" scopes, as dmar_pci_bus_add_dev()
 * fills them when PCI enumerates); a scope naming nothing present stays
 * inactive. The platform loader builds this from a platform description; the
 * binary ACPI DMAR parser feeds the same structure.
 */
import type { Device } from '../../base/device.js';

export type DmarScopeType = 'endpoint' | 'bridge' | 'ioapic' | 'hpet' | 'namespace';

export interface DmarDevScope {
  readonly type: DmarScopeType;
  /** What the firmware wrote, for reports: "00:1c.0", "IOAPIC id 0". */
  readonly text: string;
  /** The present device it resolved to, if any. */
  readonly dev: Device | null;
}

export interface DmarDrhdUnit {
  readonly segment: number;
  readonly reg_base_addr: bigint;
  readonly include_all: boolean;
  readonly devices: readonly DmarDevScope[];
  /** ecap.PT: hardware pass-through; without it device_def_domain_type() forces DMA. */
  readonly passThrough: boolean;
  /** Firmware left translation on (DMA_GSTS_TES): attaches are deferred until first use. */
  readonly translationPreEnabled: boolean;
  /**
   * The unit's VER, CAP and ECAP registers (not in DMAR): absent, the unit
   * is QEMU's intel-iommu (hw.ts), with ECAP.PT as passThrough says.
   */
  readonly ver?: number;
  readonly cap?: bigint;
  readonly ecap?: bigint;
}

export interface DmarRmrrUnit {
  readonly base_address: bigint;
  readonly end_address: bigint;
  readonly devices: readonly DmarDevScope[];
}

export interface DmarTable {
  readonly haw: number;
  readonly drhds: readonly DmarDrhdUnit[];
  readonly rmrrs: readonly DmarRmrrUnit[];
}

/**
 * is_downstream_to_pci_bridge(): `dev` sits below the PCI bridge `bridge`,
 * i.e. on a bus in its [secondary, subordinate] range, same segment.
 */
export function is_downstream_to_pci_bridge(dev: Device, bridge: Device): boolean {
  const b = bridge.pci;
  const d = dev.pci;
  if (!b?.subordinate || !d) return false;
  const bus = b.subordinate;
  return d.segment === b.segment && d.busNr >= bus.number && d.busNr <= bus.subordinate;
}
