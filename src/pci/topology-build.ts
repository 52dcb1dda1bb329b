// SPDX-License-Identifier: GPL-2.0-only
/**
 * Building a PCI segment from its JSON description (topology-schema.ts): the
 * PciBus and PciDev objects in a kernel's PCI core, and a Device per
 * function, named "SSSS:BB:DD.F", with dev.pci set and dev.parent the
 * upstream bridge's Device (null on the root bus: the caller hangs those
 * below the host bridge). Functions are added in the kernel's scan order
 * (pci_scan_child_bus()), VFs last, so that ACS enabling, header fixups and
 * for_each_pci_dev() order are as at boot.
 *
 * `acsRequested` says whether an IOMMU driver called pci_request_acs()
 * before enumeration (DMAR, IVRS, IORT, VIOT: yes; a device tree: no, it
 * asks only at the first driver probe).
 */
import type { Kernel } from '../kernel/kernel.js';
import type { PciBus } from './pci-bus.js';
import type { PciCore } from './pci-core.js';
import type { PciTopologyPlan, PlannedFunction } from './topology-plan.js';
import { Device } from '../base/device.js';
import {
  PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT,
  PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS,
  PCI_HEADER_TYPE_BRIDGE,
  PciDev,
} from './pci-dev.js';
import { pci_core, pci_request_acs } from './pci-core.js';
import { pci_add_new_bus, pci_create_root_bus, pci_device_add, pci_setup_device } from './probe.js';
import { pci_add_dma_alias } from './dma-alias.js';
import { planPciTopology } from './topology-plan.js';
import { BDF_RE } from './topology-schema.js';
import { PciTopologyError, prefixIssues } from './topology-error.js';

export interface BuildPciOptions {
  /** pci_request_acs() was called before enumeration. */
  readonly acsRequested?: boolean;
  /** For error messages: the file the description came from. */
  readonly file?: string;
  /** For error messages: where the description sits in that file ("pci"). */
  readonly field?: string;
}

export interface PciTopology {
  readonly core: PciCore;
  readonly segment: number;
  readonly root: PciBus;
  /** The functions' Devices, in pci_device_add() order. */
  readonly devices: readonly Device[];
  /** The Device of "BB:DD.F" or "SSSS:BB:DD.F"; throws for an unknown address. */
  device(bdf: string): Device;
}

/** Where the PCI Express capability sits when one is present (its offset is not otherwise modelled). */
const PCIE_CAP_OFFSET = 0x40;
/** QEMU's pcie-root-port puts ACS at 0x148. */
const ACS_CAP_OFFSET = 0x148;

function newFunction(f: PlannedFunction, segment: number, bus: PciBus, pf: PciDev | null): PciDev {
  const d = f.desc;
  const dev = new Device(f.name);
  const pdev = new PciDev(dev, segment, f.bus, f.devfn);
  dev.pci = pdev;
  // pci_device_add(): 64K segments that never cross a 4G boundary.
  dev.dma_parms = { max_segment_size: 0x10000, segment_boundary_mask: 0xffffffff };
  dev.parent = pf ? pf.dev.parent : (bus.self?.dev ?? null);
  dev.match_driver = d.driver ?? null;
  pdev.vendor = d.vendor;
  pdev.device = d.device;
  pdev.subsystem_vendor = d.subsystemVendor ?? 0;
  pdev.subsystem_device = d.subsystemDevice ?? 0;
  pdev.classCode = d.class ?? (f.kind.bridge ? 0x060400 : 0);
  pdev.hdr_type = f.kind.bridge ? PCI_HEADER_TYPE_BRIDGE : 0;
  pdev.multifunction = f.multifunction;
  if (f.kind.pcieType !== null) {
    pdev.pcie_cap = PCIE_CAP_OFFSET;
    pdev.pcie_flags_reg = f.kind.pcieType << 4;
  }
  if (d.acs) {
    pdev.acs_cap = d.acs.offset ?? ACS_CAP_OFFSET;
    pdev.acsCapability = d.acs.cap;
    pdev.acsControl = d.acs.ctrl ?? 0;
  }
  pdev.pasidWidth = d.pasidWidth ?? null;
  pdev.shpc = d.shpc ?? false;
  pdev.untrusted = d.untrusted ?? false;
  pdev.external_facing = d.externalFacing ?? false;
  if (pf) {
    pdev.is_virtfn = true;
    pdev.physfn = pf;
  }
  for (const flag of d.flags ?? [])
    pdev.dev_flags |=
      flag === 'pcie-bridge-alias' ? PCI_DEV_FLAG_PCIE_BRIDGE_ALIAS : PCI_DEV_FLAGS_BRIDGE_XLATE_ROOT;
  return pdev;
}

/** Validates `input` and enumerates it into kernel k. Throws PciTopologyError naming the JSON path. */
export function buildPciTopology(k: Kernel, input: unknown, opts: BuildPciOptions = {}): PciTopology {
  const fail = (e: PciTopologyError) =>
    new PciTopologyError(prefixIssues(e.issues, opts.field ?? ''), opts.file);
  let plan: PciTopologyPlan;
  try {
    plan = planPciTopology(input);
  } catch (e) {
    throw e instanceof PciTopologyError ? fail(e) : e;
  }
  const core = pci_core(k);
  if (core.segments.get(plan.segment)?.buses.size)
    throw fail(
      new PciTopologyError([
        {
          path: 'segment',
          message: `segment ${plan.segment.toString(16).padStart(4, '0')} is already enumerated`,
        },
      ]),
    );
  if (opts.acsRequested) pci_request_acs(k);

  const pdevs = new Map<PlannedFunction, PciDev>();
  const add = (f: PlannedFunction, bus: PciBus, pf: PciDev | null) => {
    const pdev = newFunction(f, plan.segment, bus, pf);
    pci_setup_device(pdev, bus);
    // Aliases from firmware or an IOMMU driver (IVRS, say), before the grouping ever looks.
    for (const devfn of f.aliases) pci_add_dma_alias(pdev, devfn, 1);
    pci_device_add(pdev);
    pdevs.set(f, pdev);
    return pdev;
  };

  // pci_scan_child_bus(): every slot of a bus, then the buses behind its bridges.
  const scan = (bus: PciBus) => {
    const list = plan.busFunctions.get(bus.number) ?? [];
    for (const f of list) add(f, bus, null);
    for (const f of list)
      if (f.kind.bridge) scan(pci_add_new_bus(bus, pdevs.get(f)!, f.desc.secondary!, f.subordinate!));
  };
  const root = pci_create_root_bus(k, plan.segment, plan.root, plan.rootSubordinate);
  scan(root);

  // SR-IOV VFs, added when their PF enables them (virtfn_add_bus()).
  for (const f of plan.vfs) {
    const pf = pdevs.get(f.physfn!)!;
    const bus =
      f.bus === pf.busNr
        ? pf.bus
        : (core.segment(plan.segment).buses.get(f.bus) ?? pci_add_new_bus(pf.bus, null, f.bus, f.bus));
    add(f, bus, pf);
  }

  const devices = [...pdevs.values()].map((p) => p.dev);
  const byRid = new Map(devices.map((dev) => [(dev.pci!.busNr << 8) | dev.pci!.devfn, dev]));
  return {
    core,
    segment: plan.segment,
    root,
    devices,
    device(bdf: string): Device {
      const m = BDF_RE.exec(bdf);
      const seg = m?.[1] ? parseInt(m[1], 16) : plan.segment;
      const dev =
        m && seg === plan.segment
          ? byRid.get((parseInt(m[2], 16) << 8) | (parseInt(m[3], 16) << 3) | +m[4])
          : undefined;
      if (!dev) throw new RangeError(`no PCI function ${bdf} in segment ${plan.segment}`);
      return dev;
    },
  };
}
