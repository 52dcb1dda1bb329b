// SPDX-License-Identifier: GPL-2.0-only
/**
 * Reading a built PCI hierarchy back: a tree for people (like `lspci -t`
 * with the facts the grouping uses: port type, multifunction, ACS, DMA
 * aliases) and the JSON description of its current state, which builds an
 * identical hierarchy again (ACS control as it is now, after enabling).
 */
import type { PciBus } from './pci-bus.js';
import type { PciDev } from './pci-dev.js';
import {
  PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT,
  PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS,
  pci_is_pcie,
  pci_pcie_type,
} from './pci-dev.js';
import type { PciFunctionJson, PciFunctionType, PciTopologyJson } from './topology-schema.js';
import { pciFunctionKinds, pciFunctionTypes } from './topology-schema.js';

const hex = (v: number, n: number) => v.toString(16).padStart(n, '0');

/** The JSON kind of a function, from its header type and PCIe port type. */
export function pciFunctionType(pdev: PciDev): PciFunctionType {
  const pcieType = pci_is_pcie(pdev) ? pci_pcie_type(pdev) : null;
  const bridge = pdev.hdr_type === 1;
  const t = pciFunctionTypes.find(
    (n) => pciFunctionKinds[n].pcieType === pcieType && pciFunctionKinds[n].bridge === bridge,
  );
  return t ?? (bridge ? 'pci-bridge' : 'conventional');
}

/** "00:1c.0" */
function shortBdf(pdev: PciDev): string {
  return `${hex(pdev.busNr, 2)}:${hex(pdev.slot, 2)}.${pdev.func}`;
}

function facts(pdev: PciDev): string {
  const out = [`${pciFunctionType(pdev)} ${hex(pdev.vendor, 4)}:${hex(pdev.device, 4)}`];
  if (pdev.multifunction) out.push('multifunction');
  if (pdev.acs_cap) out.push(`ACS cap 0x${hex(pdev.acsCapability, 4)} ctrl 0x${hex(pdev.acsControl, 4)}`);
  if (pdev.dma_alias_mask.size)
    out.push(
      `aliases ${[...pdev.dma_alias_mask]
        .sort((a, b) => a - b)
        .map((d) => `${hex(d >> 3, 2)}.${d & 7}`)
        .join(',')}`,
    );
  if (pdev.dev_flags & PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS) out.push('pcie-bridge-alias');
  if (pdev.dev_flags & PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT) out.push('bridge-xlate-root');
  if (pdev.is_virtfn && pdev.physfn) out.push(`VF of ${shortBdf(pdev.physfn)}`);
  if (pdev.untrusted) out.push('untrusted');
  if (pdev.external_facing) out.push('external-facing');
  if (pdev.subordinate)
    out.push(`-> [${hex(pdev.subordinate.number, 2)}-${hex(pdev.subordinate.subordinate, 2)}]`);
  return out.join(', ');
}

/** A tree of the hierarchy under `bus`, one function per line. */
export function describePciTopology(bus: PciBus): string {
  const lines: string[] = [`${bus.name}${bus.parent ? '' : ' (root bus)'}`];
  const walk = (b: PciBus, indent: string) => {
    const virtual = b.children.filter((c) => !c.self);
    b.devices.forEach((pdev, i) => {
      const last = i === b.devices.length - 1 && virtual.length === 0;
      lines.push(`${indent}${last ? '└─' : '├─'} ${shortBdf(pdev)} ${facts(pdev)}`);
      if (pdev.subordinate) walk(pdev.subordinate, indent + (last ? '   ' : '│  '));
    });
    virtual.forEach((v, i) => {
      const last = i === virtual.length - 1;
      lines.push(`${indent}${last ? '└─' : '├─'} bus ${hex(v.number, 2)} (virtual)`);
      walk(v, indent + (last ? '   ' : '│  '));
    });
  };
  walk(bus, '');
  return lines.join('\n');
}

/** One function as JSON, with every field stated. */
function functionJson(pdev: PciDev): PciFunctionJson {
  const f: PciFunctionJson = {
    bdf: `${hex(pdev.segment, 4)}:${shortBdf(pdev)}`,
    type: pciFunctionType(pdev),
    vendor: hex(pdev.vendor, 4),
    device: hex(pdev.device, 4),
    class: hex(pdev.classCode, 6),
  };
  if (pdev.subsystem_vendor) f.subsystemVendor = hex(pdev.subsystem_vendor, 4);
  if (pdev.subsystem_device) f.subsystemDevice = hex(pdev.subsystem_device, 4);
  if (!pdev.is_virtfn && pdev.func === 0) f.multifunction = pdev.multifunction;
  if (pdev.subordinate) {
    f.secondary = pdev.subordinate.number;
    f.subordinate = pdev.subordinate.subordinate;
  }
  if (pdev.acs_cap) f.acs = { cap: pdev.acsCapability, ctrl: pdev.acsControl, offset: pdev.acs_cap };
  if (pdev.pasidWidth !== null) f.pasidWidth = pdev.pasidWidth;
  if (pdev.untrusted) f.untrusted = true;
  if (pdev.external_facing) f.externalFacing = true;
  if (pdev.dma_alias_mask.size)
    f.aliases = [...pdev.dma_alias_mask].sort((a, b) => a - b).map((d) => `${hex(d >> 3, 2)}.${d & 7}`);
  const flags: ('pcie-bridge-alias' | 'bridge-xlate-root')[] = [];
  if (pdev.dev_flags & PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS) flags.push('pcie-bridge-alias');
  if (pdev.dev_flags & PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT) flags.push('bridge-xlate-root');
  if (flags.length) f.flags = flags;
  if (pdev.is_virtfn && pdev.physfn) f.physfn = pdev.physfn.name;
  if (pdev.dev.match_driver) f.driver = pdev.dev.match_driver;
  return f;
}

/** The JSON description of the hierarchy under root bus `root`, in scan order. */
export function pciTopologyJson(root: PciBus): PciTopologyJson {
  const functions: PciFunctionJson[] = [];
  const walk = (b: PciBus) => {
    for (const pdev of b.devices) functions.push(functionJson(pdev));
    for (const c of b.children) walk(c);
  };
  walk(root);
  return { segment: root.segment, root: root.number, rootSubordinate: root.subordinate, functions };
}
