// SPDX-License-Identifier: GPL-2.0-only
/**
 * Device-specific ACS (drivers/pci/quirks.c pci_dev_acs_enabled[],
 * pci_dev_specific_acs_enabled(), pci_dev_acs_ops[],
 * pci_dev_specific_enable_acs(), Linux 6.12).
 *
 * Every quirk in the kernel's table answers the same question the same way:
 * "is this one of mine?" (else no opinion, -ENOTTY/-ENODEV, or a flat "no"),
 * then "are the requested controls among those the hardware provides?"
 * (pci_acs_ctrl_enabled()). So a quirk here is a description, `AcsQuirk`, and
 * one function, evalAcsQuirk(), runs them all. The table keeps the kernel's
 * order: the first quirk with an opinion wins.
 *
 * Two quirks also enable ACS at enumeration (pci_dev_acs_ops[]): the Intel PCH
 * root ports without an ACS capability (modelled as always succeeding: the
 * RCBA/UPDCR and MPC registers are not modelled) and the Sunrise/Union Point
 * root ports, whose control register is the dword at offset 8.
 */
import type { PciDev } from './pci-dev.js';
import { pcieAcsOverrides } from './acs-override.js';
import {
  PCI_ANY_ID,
  PCI_DEV_FLAGS_ACS_ENABLED_QUIRK,
  PCI_EXP_TYPE_DOWNSTREAM,
  PCI_EXP_TYPE_RC_END,
  PCI_EXP_TYPE_ROOT_PORT,
  pci_is_pcie,
  pci_pcie_type,
} from './pci-dev.js';
import { pci_is_root_bus } from './pci-bus.js';
import {
  PCI_ACS_CR,
  PCI_ACS_DT,
  PCI_ACS_EC,
  PCI_ACS_RR,
  PCI_ACS_SV,
  PCI_ACS_TB,
  PCI_ACS_UF,
} from './acs-regs.js';
import * as id from './ids.js';
import { ENODEV, ENOTTY } from '../kernel/errno.js';

const SV_RR_CR_UF = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;

/** Device IDs: single values and inclusive [first, last] ranges (a `case a ... b:`). */
type IdSet = readonly (number | readonly [number, number])[];

export interface AcsQuirk {
  /** Only multifunction functions on a root bus, with this ACPI table present; others get -ENODEV. */
  readonly rootBusMultifunctionWithTable?: string;
  /** PCIe port types the quirk speaks for; other functions (and conventional PCI) get -ENOTTY. */
  readonly types?: readonly number[];
  /** Device IDs the quirk knows; `otherIds` says what the rest get. */
  readonly ids?: IdSet;
  /** For a device ID outside `ids`: no opinion (-ENOTTY) or a flat "not isolated" (0). */
  readonly otherIds?: 'no-opinion' | 'not-isolated';
  /** Needs the ACS capability (else -ENOTTY); the flags it lacks are dropped as pci_acs_flags_enabled() does. */
  readonly readsAcsCap?: boolean;
  /** Only these of the requested flags are considered (acs_flags &= mask). */
  readonly considers?: number;
  /**
   * The controls the hardware provides: a fixed mask, the ACS control
   * register, or SV|RR|CR|UF once the enable quirk has run
   * (PCI_DEV_FLAGS_ACS_ENABLED_QUIRK), nothing before.
   */
  readonly provides: number | 'acs-ctrl' | 'enabled-by-quirk';
}

const intelPchRootPortIds: IdSet = [
  [0x3b42, 0x3b51], // Ibexpeak
  [0x1c10, 0x1c1f], // Cougarpoint
  [0x1e10, 0x1e1f], // Pantherpoint
  [0x8c10, 0x8c1f], // Lynxpoint-H
  [0x9c10, 0x9c1b], // Lynxpoint-LP
  [0x9c90, 0x9c9b], // Wildcat
  ...[0x1d10, 0x1d12, 0x1d14, 0x1d16, 0x1d18, 0x1d1a, 0x1d1c, 0x1d1e], // Patsburg (X79)
  [0x8d10, 0x8d1e], // Wellsburg (X99)
  ...[0x8c90, 0x8c92, 0x8c94, 0x8c96, 0x8c98, 0x8c9a, 0x8c9c, 0x8c9e], // Lynx Point (9 series)
];

/** One entry per kernel quirk function, named after it. */
export const acsQuirks = {
  pci_quirk_amd_sb_acs: {
    rootBusMultifunctionWithTable: 'IVRS',
    considers: PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC | PCI_ACS_DT,
    provides: PCI_ACS_RR | PCI_ACS_CR,
  },
  pci_quirk_cavium_acs: {
    types: [PCI_EXP_TYPE_ROOT_PORT],
    ids: [[0xa000, 0xa7ff], 0xaf84, 0xb884], // ThunderX1, ThunderX2, ThunderX3
    otherIds: 'no-opinion',
    provides: SV_RR_CR_UF,
  },
  pci_quirk_xgene_acs: { provides: SV_RR_CR_UF },
  pci_quirk_zhaoxin_pcie_ports_acs: {
    types: [PCI_EXP_TYPE_ROOT_PORT, PCI_EXP_TYPE_DOWNSTREAM],
    ids: [[0x0710, 0x071e], 0x0721, [0x0723, 0x0752]],
    otherIds: 'not-isolated',
    provides: SV_RR_CR_UF,
  },
  pci_quirk_intel_pch_acs: {
    types: [PCI_EXP_TYPE_ROOT_PORT],
    ids: intelPchRootPortIds,
    otherIds: 'no-opinion',
    provides: 'enabled-by-quirk',
  },
  pci_quirk_qcom_rp_acs: { provides: SV_RR_CR_UF },
  pci_quirk_nxp_rp_acs: { provides: SV_RR_CR_UF },
  pci_quirk_al_acs: { types: [PCI_EXP_TYPE_ROOT_PORT], provides: SV_RR_CR_UF },
  pci_quirk_intel_spt_pch_acs: {
    types: [PCI_EXP_TYPE_ROOT_PORT],
    // Sunrise Point-H, Union Point, 7th/8th gen mobile
    ids: [
      [0xa110, 0xa11f],
      [0xa167, 0xa16a],
      [0xa290, 0xa29f],
      [0xa2e7, 0xa2ee],
      [0x9d10, 0x9d1b],
    ],
    otherIds: 'no-opinion',
    readsAcsCap: true,
    provides: 'acs-ctrl',
  },
  pci_quirk_mf_endpoint_acs: {
    provides: PCI_ACS_SV | PCI_ACS_TB | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF | PCI_ACS_DT,
  },
  pci_quirk_rciep_acs: { types: [PCI_EXP_TYPE_RC_END], provides: SV_RR_CR_UF },
  pci_quirk_brcm_acs: { provides: SV_RR_CR_UF },
  pci_quirk_loongson_acs: { provides: SV_RR_CR_UF },
  pci_quirk_wangxun_nic_acs: {
    // EM, SP, AML
    ids: [[0x0100, 0x010f], 0x1001, 0x2001, 0x5010, 0x5025, 0x5040, 0x5110, 0x5125, 0x5140],
    otherIds: 'not-isolated',
    provides: SV_RR_CR_UF,
  },
} as const satisfies Record<string, AcsQuirk>;

export type AcsQuirkName = keyof typeof acsQuirks;

interface AcsQuirkRow {
  readonly vendor: number;
  readonly device: number;
  readonly quirk: AcsQuirkName;
}

const rows = (vendor: number, devices: readonly number[], quirk: AcsQuirkName): AcsQuirkRow[] =>
  devices.map((device) => ({ vendor, device, quirk }));

/** pci_dev_acs_enabled[], in the kernel's order. */
export const pciDevAcsEnabled: readonly AcsQuirkRow[] = [
  ...rows(id.PCI_VENDOR_ID_ATI, [0x4385, 0x439c, 0x4383, 0x439d, 0x4384, 0x4399], 'pci_quirk_amd_sb_acs'),
  ...rows(id.PCI_VENDOR_ID_AMD, [0x780f, 0x7809], 'pci_quirk_amd_sb_acs'),
  ...rows(id.PCI_VENDOR_ID_SOLARFLARE, [0x0903, 0x0923, 0x0a03], 'pci_quirk_mf_endpoint_acs'),
  // 82580, 82576, 82575, I350, 82571 (not the quads), I219
  ...rows(
    id.PCI_VENDOR_ID_INTEL,
    [
      0x10c6, 0x10db, 0x10dd, 0x10e1, 0x10f1, 0x10f7, 0x10f8, 0x10f9, 0x10fa, 0x10fb, 0x10fc, 0x1507, 0x1514,
      0x151c, 0x1529, 0x152a, 0x154d, 0x154f, 0x1551, 0x1558, 0x1509, 0x150e, 0x150f, 0x1510, 0x1511, 0x1516,
      0x1527, 0x10c9, 0x10e6, 0x10e7, 0x10e8, 0x150a, 0x150d, 0x1518, 0x1526, 0x10a7, 0x10a9, 0x10d6, 0x1521,
      0x1522, 0x1523, 0x1524, 0x105e, 0x105f, 0x1060, 0x10d9, 0x15b7, 0x15b8,
    ],
    'pci_quirk_mf_endpoint_acs',
  ),
  ...rows(id.PCI_VENDOR_ID_INTEL, [PCI_ANY_ID], 'pci_quirk_rciep_acs'),
  // QDF2xxx, SA8775P, Hamoa, Glymur root ports; HXT SD4800 has the same design
  ...rows(id.PCI_VENDOR_ID_QCOM, [0x0400, 0x0401, 0x0115, 0x0111, 0x0120], 'pci_quirk_qcom_rp_acs'),
  ...rows(id.PCI_VENDOR_ID_HXT, [0x0401], 'pci_quirk_qcom_rp_acs'),
  ...rows(id.PCI_VENDOR_ID_INTEL, [PCI_ANY_ID], 'pci_quirk_intel_pch_acs'),
  ...rows(id.PCI_VENDOR_ID_INTEL, [PCI_ANY_ID], 'pci_quirk_intel_spt_pch_acs'),
  ...rows(id.PCI_VENDOR_ID_EMULEX_BE3R, [0x0710], 'pci_quirk_mf_endpoint_acs'),
  ...rows(id.PCI_VENDOR_ID_EMULEX, [0x0720], 'pci_quirk_mf_endpoint_acs'),
  ...rows(id.PCI_VENDOR_ID_CAVIUM, [PCI_ANY_ID], 'pci_quirk_cavium_acs'),
  ...rows(id.PCI_VENDOR_ID_CAVIUM, [0xa026, 0xa059, 0xa060], 'pci_quirk_mf_endpoint_acs'),
  ...rows(id.PCI_VENDOR_ID_AMCC, [0xe004], 'pci_quirk_xgene_acs'),
  ...rows(
    id.PCI_VENDOR_ID_AMPERE,
    [0xe005, 0xe006, 0xe007, 0xe008, 0xe009, 0xe00a, 0xe00b, 0xe00c],
    'pci_quirk_xgene_acs',
  ),
  ...rows(
    id.PCI_VENDOR_ID_BROADCOM,
    [0x16d7, 0x1750, 0x1751, 0x1752, 0x1760, 0x1761, 0x1762, 0x1763],
    'pci_quirk_mf_endpoint_acs',
  ),
  ...rows(id.PCI_VENDOR_ID_BROADCOM, [0xd714], 'pci_quirk_brcm_acs'),
  ...rows(
    id.PCI_VENDOR_ID_LOONGSON,
    [0x3c09, 0x3c19, 0x3c29, 0x7a09, 0x7a19, 0x7a29, 0x7a39, 0x7a49, 0x7a59, 0x7a69],
    'pci_quirk_loongson_acs',
  ),
  ...rows(id.PCI_VENDOR_ID_AMAZON_ANNAPURNA_LABS, [0x0031], 'pci_quirk_al_acs'),
  ...rows(id.PCI_VENDOR_ID_ZHAOXIN, [0x3038, 0x3104, 0x9083], 'pci_quirk_mf_endpoint_acs'),
  // LX2xx0A/C/E/N and LX2xx2A/C/E/N root ports
  ...rows(
    id.PCI_VENDOR_ID_NXP,
    [
      0x8d81, 0x8da1, 0x8d83, 0x8d80, 0x8da0, 0x8d82, 0x8d90, 0x8db0, 0x8d92, 0x8d91, 0x8db1, 0x8d93, 0x8d89,
      0x8da9, 0x8d8b, 0x8d88, 0x8da8, 0x8d8a, 0x8d98, 0x8db8, 0x8d9a, 0x8d99, 0x8db9, 0x8d9b,
    ],
    'pci_quirk_nxp_rp_acs',
  ),
  ...rows(id.PCI_VENDOR_ID_ZHAOXIN, [PCI_ANY_ID], 'pci_quirk_zhaoxin_pcie_ports_acs'),
  ...rows(id.PCI_VENDOR_ID_WANGXUN, [PCI_ANY_ID], 'pci_quirk_wangxun_nic_acs'),
];

function idIn(set: IdSet, device: number): boolean {
  return set.some((e) => (typeof e === 'number' ? e === device : device >= e[0] && device <= e[1]));
}

/** Is the function one of the PCIe port types the quirk speaks for? */
function typeMatches(q: AcsQuirk, pdev: PciDev): boolean {
  return !q.types || (pci_is_pcie(pdev) && q.types.includes(pci_pcie_type(pdev)));
}

/** Is the function one of the quirk's ports and IDs (the kernel's *_match() helpers)? */
function quirkMatchesPort(q: AcsQuirk, pdev: PciDev): boolean {
  return typeMatches(q, pdev) && (!q.ids || idIn(q.ids, pdev.device));
}

/** Runs one quirk: -ENOTTY/-ENODEV for no opinion, 0 for "not provided", 1 for "provided". */
export function evalAcsQuirk(q: AcsQuirk, pdev: PciDev, acs_flags: number): number {
  if (q.rootBusMultifunctionWithTable !== undefined) {
    if (!pdev.multifunction || !pci_is_root_bus(pdev.bus)) return -ENODEV;
    if (!pdev.bus.core.acpiTables.has(q.rootBusMultifunctionWithTable)) return -ENODEV;
  }
  if (!typeMatches(q, pdev)) return -ENOTTY;
  if (q.ids && !idIn(q.ids, pdev.device)) return q.otherIds === 'not-isolated' ? 0 : -ENOTTY;
  let flags = acs_flags;
  if (q.readsAcsCap) {
    if (!pdev.acs_cap) return -ENOTTY;
    flags &= pdev.acsCapability | PCI_ACS_EC;
  }
  if (q.considers !== undefined) flags &= q.considers;
  let provided: number;
  if (q.provides === 'acs-ctrl') provided = pdev.acsControl;
  else if (q.provides === 'enabled-by-quirk')
    provided = pdev.dev_flags & PCI_DEV_FLAGS_ACS_ENABLED_QUIRK ? SV_RR_CR_UF : 0;
  else provided = q.provides;
  // pci_acs_ctrl_enabled()
  return (flags & provided) === flags ? 1 : 0;
}

function rowMatches(row: { vendor: number; device: number }, pdev: PciDev): boolean {
  return (
    (row.vendor === pdev.vendor || row.vendor === PCI_ANY_ID) &&
    (row.device === pdev.device || row.device === PCI_ANY_ID)
  );
}

/**
 * pci_dev_specific_acs_enabled(): the first quirk with an opinion, named, or
 * -ENOTTY. Under the out-of-tree ACS override patch its pcie_acs_overrides()
 * is the table's last entry (any vendor, any device).
 */
export function pci_dev_specific_acs_enabled(
  pdev: PciDev,
  acs_flags: number,
): { readonly ret: number; readonly quirk: string | null } {
  for (const row of pciDevAcsEnabled) {
    if (!rowMatches(row, pdev)) continue;
    const ret = evalAcsQuirk(acsQuirks[row.quirk], pdev, acs_flags);
    if (ret >= 0) return { ret, quirk: row.quirk };
  }
  const override = pdev.bus.core.acsOverride;
  if (override) {
    const o = pcieAcsOverrides(override, pdev);
    if (o.ret >= 0) return { ret: o.ret, quirk: `pcie_acs_overrides (${o.why})` };
  }
  return { ret: -ENOTTY, quirk: null };
}

/** What an enable quirk does to a matching function at enumeration. */
interface AcsEnableQuirk {
  /** The pci_dev_acs_enabled[] quirk whose match the enabler shares. */
  readonly match: 'pci_quirk_intel_pch_acs' | 'pci_quirk_intel_spt_pch_acs';
  /** pci_quirk_enable_intel_pch_acs() / pci_quirk_enable_intel_spt_pch_acs() */
  readonly fn: string;
  readonly action: 'set-acs-enabled-quirk-flag' | 'std-bits-in-acs-ctrl';
  readonly message: string;
}

/** pci_dev_acs_ops[] (the enable_acs halves). */
export const pciDevAcsOps: readonly (AcsEnableQuirk & { vendor: number; device: number })[] = [
  {
    vendor: id.PCI_VENDOR_ID_INTEL,
    device: PCI_ANY_ID,
    match: 'pci_quirk_intel_pch_acs',
    fn: 'pci_quirk_enable_intel_pch_acs',
    action: 'set-acs-enabled-quirk-flag',
    message: 'Intel PCH root port ACS workaround enabled',
  },
  {
    vendor: id.PCI_VENDOR_ID_INTEL,
    device: PCI_ANY_ID,
    match: 'pci_quirk_intel_spt_pch_acs',
    fn: 'pci_quirk_enable_intel_spt_pch_acs',
    action: 'std-bits-in-acs-ctrl',
    message: 'Intel SPT PCH root port ACS workaround enabled',
  },
];

/**
 * pci_dev_specific_enable_acs(): 0 when a quirk enabled ACS its own way
 * (the standard enabling is then skipped), -ENOTTY otherwise.
 * `tb` says whether Translation Blocking is wanted too.
 */
export function pci_dev_specific_enable_acs(pdev: PciDev, tb: boolean, log: (msg: string) => void): number {
  for (const op of pciDevAcsOps) {
    if (!rowMatches(op, pdev)) continue;
    if (!quirkMatchesPort(acsQuirks[op.match], pdev)) continue;
    if (op.action === 'set-acs-enabled-quirk-flag') {
      pdev.dev_flags |= PCI_DEV_FLAGS_ACS_ENABLED_QUIRK;
    } else {
      if (!pdev.acs_cap) continue;
      pdev.acsControl |= pdev.acsCapability & (SV_RR_CR_UF | (tb ? PCI_ACS_TB : 0));
    }
    log(op.message);
    return 0;
  }
  return -ENOTTY;
}
