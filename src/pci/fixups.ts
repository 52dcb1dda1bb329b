// SPDX-License-Identifier: GPL-2.0-only
/**
 * The DECLARE_PCI_FIXUP_HEADER quirks that change how a function's DMA is
 * seen (drivers/pci/quirks.c, Linux 6.12), as a table: which vendor/device
 * (and subsystem) they match, and what they do to dma_alias_mask or
 * dev_flags. One function, pci_fixup_header(), applies every match.
 *
 * Not modelled: quirk_switchtec_ntb_dma_alias(), which reads the aliases from
 * the switch's MMIO registers (give them as "aliases" in the topology).
 */
import type { PciDev } from './pci-dev.js';
import {
  PCI_DEVFN,
  PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT,
  PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS,
  PCI_EXP_TYPE_PCI_BRIDGE,
  PCI_HEADER_TYPE_BRIDGE,
  pci_is_pcie,
  pci_pcie_type,
} from './pci-dev.js';
import { pci_is_root_bus } from './pci-bus.js';
import { pci_add_dma_alias } from './dma-alias.js';
import * as id from './ids.js';

type FixupAction =
  /** quirk_dma_func0_alias(): functions other than 0 DMA as function 0. */
  | { readonly kind: 'func0-alias' }
  /** quirk_dma_func1_alias(): functions other than 1 DMA as function 1 (maybe a ghost). */
  | { readonly kind: 'func1-alias' }
  /** quirk_fixed_dma_alias(), quirk_mic_x200_dma_alias(), quirk_pex_vca_alias(), quirk_plx_ntb_dma_alias(): [devfn, count] ranges. */
  | { readonly kind: 'aliases'; readonly ranges: readonly (readonly [number, number])[] }
  /** quirk_use_pcie_bridge_dma_alias(): a PCIe-to-PCI bridge that hides its PCIe capability. */
  | { readonly kind: 'pcie-bridge-alias' }
  /** quirk_bridge_cavm_thrx2_pcie_root(): the IOMMU sits at this bridge, aliases stop here. */
  | { readonly kind: 'bridge-xlate-root' };

export interface HeaderFixup {
  readonly fn: string;
  readonly vendor: number;
  readonly devices: readonly number[];
  /** Only with this subsystem vendor/device (PCI_DEVICE_SUB). */
  readonly sub?: readonly [number, number];
  readonly action: FixupAction;
}

const vcaSlots = Array.from({ length: 0x20 }, (_, slot) => [PCI_DEVFN(slot, 0), 5] as const);

export const pciHeaderFixups: readonly HeaderFixup[] = [
  {
    fn: 'quirk_dma_func0_alias',
    vendor: id.PCI_VENDOR_ID_RICOH,
    devices: [0xe832, 0xe476],
    action: { kind: 'func0-alias' },
  },
  {
    fn: 'quirk_dma_func0_alias',
    vendor: id.PCI_VENDOR_ID_GLENFLY,
    devices: [0x3d40, 0x3d41],
    action: { kind: 'func0-alias' },
  },
  {
    fn: 'quirk_dma_func1_alias',
    vendor: id.PCI_VENDOR_ID_MARVELL_EXT,
    devices: [
      0x9120, 0x9123, 0x9125, 0x9128, 0x9130, 0x9170, 0x9172, 0x917a, 0x9182, 0x9183, 0x91a0, 0x9215, 0x9220,
      0x9230, 0x9235,
    ],
    action: { kind: 'func1-alias' },
  },
  {
    fn: 'quirk_dma_func1_alias',
    vendor: id.PCI_VENDOR_ID_TTI,
    devices: [0x0642, 0x0645],
    action: { kind: 'func1-alias' },
  },
  {
    fn: 'quirk_dma_func1_alias',
    vendor: id.PCI_VENDOR_ID_JMICRON,
    devices: [0x2392],
    action: { kind: 'func1-alias' },
  },
  // Lite-On Plextor M6E (Marvell 88SS9183)
  { fn: 'quirk_dma_func1_alias', vendor: 0x1c28, devices: [0x0122], action: { kind: 'func1-alias' } },
  // Adaptec 3405 and 3805: the DMA engine is a hidden device at 01.0
  {
    fn: 'quirk_fixed_dma_alias',
    vendor: id.PCI_VENDOR_ID_ADAPTEC2,
    devices: [0x0285],
    sub: [id.PCI_VENDOR_ID_ADAPTEC2, 0x02bb],
    action: { kind: 'aliases', ranges: [[PCI_DEVFN(1, 0), 1]] },
  },
  {
    fn: 'quirk_fixed_dma_alias',
    vendor: id.PCI_VENDOR_ID_ADAPTEC2,
    devices: [0x0285],
    sub: [id.PCI_VENDOR_ID_ADAPTEC2, 0x02bc],
    action: { kind: 'aliases', ranges: [[PCI_DEVFN(1, 0), 1]] },
  },
  // ASM1083/1085, Tundra 8113, ITE 8892/8893, Intel 82801
  {
    fn: 'quirk_use_pcie_bridge_dma_alias',
    vendor: id.PCI_VENDOR_ID_ASMEDIA,
    devices: [0x1080],
    action: { kind: 'pcie-bridge-alias' },
  },
  {
    fn: 'quirk_use_pcie_bridge_dma_alias',
    vendor: 0x10e3,
    devices: [0x8113],
    action: { kind: 'pcie-bridge-alias' },
  },
  {
    fn: 'quirk_use_pcie_bridge_dma_alias',
    vendor: 0x1283,
    devices: [0x8892, 0x8893],
    action: { kind: 'pcie-bridge-alias' },
  },
  {
    fn: 'quirk_use_pcie_bridge_dma_alias',
    vendor: id.PCI_VENDOR_ID_INTEL,
    devices: [0x244e],
    action: { kind: 'pcie-bridge-alias' },
  },
  {
    fn: 'quirk_mic_x200_dma_alias',
    vendor: id.PCI_VENDOR_ID_INTEL,
    devices: [0x2260, 0x2264],
    action: {
      kind: 'aliases',
      ranges: [
        [PCI_DEVFN(0x10, 0), 1],
        [PCI_DEVFN(0x11, 0), 1],
        [PCI_DEVFN(0x12, 3), 1],
      ],
    },
  },
  {
    fn: 'quirk_pex_vca_alias',
    vendor: id.PCI_VENDOR_ID_INTEL,
    devices: [0x2954, 0x2955, 0x2956, 0x2958, 0x2959, 0x295a],
    action: { kind: 'aliases', ranges: vcaSlots },
  },
  {
    fn: 'quirk_bridge_cavm_thrx2_pcie_root',
    vendor: id.PCI_VENDOR_ID_BROADCOM,
    devices: [0x9000, 0x9084],
    action: { kind: 'bridge-xlate-root' },
  },
  {
    fn: 'quirk_plx_ntb_dma_alias',
    vendor: id.PCI_VENDOR_ID_PLX,
    devices: [0x87b0, 0x87b1],
    action: { kind: 'aliases', ranges: [[0, 256]] },
  },
];

function applyFixup(pdev: PciDev, action: FixupAction): void {
  switch (action.kind) {
    case 'func0-alias':
      if (pdev.func !== 0) pci_add_dma_alias(pdev, PCI_DEVFN(pdev.slot, 0), 1);
      return;
    case 'func1-alias':
      if (pdev.func !== 1) pci_add_dma_alias(pdev, PCI_DEVFN(pdev.slot, 1), 1);
      return;
    case 'aliases':
      for (const [devfn, nr] of action.ranges) pci_add_dma_alias(pdev, devfn, nr);
      return;
    case 'pcie-bridge-alias': {
      const up = pdev.bus.self;
      if (
        !pci_is_root_bus(pdev.bus) &&
        pdev.hdr_type === PCI_HEADER_TYPE_BRIDGE &&
        !pci_is_pcie(pdev) &&
        up !== null &&
        pci_is_pcie(up) &&
        pci_pcie_type(up) !== PCI_EXP_TYPE_PCI_BRIDGE
      )
        pdev.dev_flags |= PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS;
      return;
    }
    case 'bridge-xlate-root':
      pdev.dev_flags |= PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT;
      return;
  }
}

/** The header fixups matching pdev, in table order. */
export function headerFixupsFor(pdev: PciDev): HeaderFixup[] {
  return pciHeaderFixups.filter(
    (f) =>
      f.vendor === pdev.vendor &&
      f.devices.includes(pdev.device) &&
      (!f.sub || (f.sub[0] === pdev.subsystem_vendor && f.sub[1] === pdev.subsystem_device)),
  );
}

/** pci_fixup_device(pci_fixup_header, dev): run the DMA-relevant header quirks. */
export function pci_fixup_header(pdev: PciDev): void {
  for (const f of headerFixupsFor(pdev)) applyFixup(pdev, f.action);
}
