// SPDX-License-Identifier: GPL-2.0-only
/**
 * Test helpers for the PCI model: a v6.12 kernel, building a topology, and
 * probing functions through pci_device_group() the way the IOMMU core does
 * (dev->iommu_group set to the returned group), then reading the partition.
 */
import { Kernel } from '../../src/kernel/kernel.js';
import { profiles } from '../../src/profile/profiles.js';
import { IommuGroup } from '../../src/iommu/group.js';
import type { Device } from '../../src/base/device.js';
import { buildPciTopology, type PciTopology } from '../../src/pci/topology-build.js';
import type { PciTopologyJson } from '../../src/pci/topology-schema.js';
import { pci_device_group } from '../../src/pci/pci-device-group.js';

export function newKernel(cmdline = ''): Kernel {
  return new Kernel({ profile: profiles['v6.12'], cmdline });
}

export interface Built {
  readonly k: Kernel;
  readonly topo: PciTopology;
}

export function build(json: PciTopologyJson, opts: { acsRequested?: boolean; cmdline?: string } = {}): Built {
  const k = newKernel(opts.cmdline);
  const topo = buildPciTopology(k, json, { acsRequested: opts.acsRequested ?? true });
  return { k, topo };
}

/** Probe `devices` (default: all, in bus order) through pci_device_group(). */
export function probeGroups(b: Built, devices: readonly Device[] = b.topo.devices): Map<Device, IommuGroup> {
  const out = new Map<Device, IommuGroup>();
  for (const dev of devices) {
    const group = pci_device_group(b.k, dev);
    if (!(group instanceof IommuGroup)) throw new Error(`${dev.name}: ${String(group)}`);
    dev.iommu_group = group;
    out.set(dev, group);
  }
  return out;
}

/** "0000:00:1f.0" -> "00:1f.0" */
const short = (name: string) => name.replace(/^0000:/, '');

/** The partition as sorted lists of short BDFs, sorted by first member. */
export function partition(groups: ReadonlyMap<Device, IommuGroup>): string[][] {
  const byGroup = new Map<IommuGroup, string[]>();
  for (const [dev, g] of groups) byGroup.set(g, [...(byGroup.get(g) ?? []), short(dev.name)]);
  return [...byGroup.values()].map((m) => m.sort()).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** Group id per short BDF. */
export function groupIds(groups: ReadonlyMap<Device, IommuGroup>): Record<string, number> {
  return Object.fromEntries([...groups].map(([dev, g]) => [short(dev.name), g.id]));
}

/** The devices of the given short BDFs, in that order. */
export function devs(b: Built, ...bdfs: string[]): Device[] {
  return bdfs.map((bdf) => b.topo.device(bdf));
}
