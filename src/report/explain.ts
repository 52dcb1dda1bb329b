// SPDX-License-Identifier: GPL-2.0-only
/**
 * "Why is my device in this group, and what would change it?" The device's
 * story from a booted model (its IOMMU and how it was found, its fwspec, its
 * group and the chain that formed it, the default domain type and why, its
 * reserved regions and their sources), plus what-ifs computed by booting the
 * platform again: ACS isolation on each function that stands in the way.
 */
import type { BootResult } from '../api.js';
import type { PlatformDesc } from '../platform/schema.js';
import type { DeviceJson, GroupJson } from './snapshot.js';
import { InputError } from '../input/input-error.js';
import { applyTopologyEdits } from '../platform/what-if.js';
import { BDF_RE } from '../pci/topology-schema.js';

export interface SplitWhatIf {
  /** The function given ACS isolation in the what-if ("a + b" when it takes several at once). */
  readonly port: string;
  /** Whether the real device has an ACS capability (enable it) or not (only a quirk or override could). */
  readonly hasAcsCapability: boolean;
  /** The device's group members in that what-if (itself included). */
  readonly groupAfter: string[];
}

export interface Explanation {
  readonly device: DeviceJson;
  readonly group: GroupJson | null;
  /** Functions on the device's path whose isolation would shrink its group, with the resulting group. */
  readonly splits: SplitWhatIf[];
  /** Plain-words summary, one line each. */
  readonly story: string[];
}

interface PciFunctionEntry {
  bdf: string;
  acs?: { cap: unknown; ctrl?: unknown; offset?: number; observedCtrl?: unknown };
  [k: string]: unknown;
}

function canonBdf(text: string, segment: number): string | null {
  const m = BDF_RE.exec(text);
  if (!m) return null;
  const seg = m[1] ? parseInt(m[1], 16) : segment;
  return `${seg.toString(16).padStart(4, '0')}:${m[2].toLowerCase()}:${m[3].toLowerCase()}.${m[4]}`;
}

function segmentsOf(desc: PlatformDesc): { segment?: number; functions: PciFunctionEntry[] }[] {
  if (!desc.pci) return [];
  return (Array.isArray(desc.pci) ? desc.pci : [desc.pci]) as {
    segment?: number;
    functions: PciFunctionEntry[];
  }[];
}

/** A copy of the platform where one PCI function has ACS SV|RR|CR|UF capability and control (the --acs what-if). */
function withAcsOn(desc: PlatformDesc, bdf: string): PlatformDesc {
  return applyTopologyEdits(desc, { acs: [bdf] }, desc.name);
}

function findPciEntry(desc: PlatformDesc, bdf: string): PciFunctionEntry | undefined {
  for (const seg of segmentsOf(desc)) {
    const f = seg.functions.find((x) => canonBdf(x.bdf, seg.segment ?? 0) === bdf);
    if (f) return f;
  }
  return undefined;
}

/** "share a group only with A, B", or "be alone in its group". */
const shareWith = (others: readonly string[]): string =>
  others.length ? `share a group only with ${others.join(', ')}` : 'be alone in its group';

/**
 * Explain one device. `reboot` boots a (modified) platform the same way the
 * given result was booted (profile, command line, firmware).
 */
export function explainDevice(
  result: BootResult,
  desc: PlatformDesc,
  name: string,
  reboot: (desc: PlatformDesc) => BootResult,
): Explanation {
  const device = result.devices.find(
    (d) => d.name === name || d.name.endsWith(`:${name}`) || d.name === `0000:${name}`,
  );
  if (!device) {
    throw new InputError(
      result.platform,
      '',
      `no device "${name}" (devices: ${result.devices.map((d) => d.name).join(', ')})`,
    );
  }
  const group = result.groups.find((g) => g.id === device.group) ?? null;
  const story: string[] = [];
  if (!device.iommu) {
    // The last attempt, from the firmware parse to the driver's answer.
    const last = device.history;
    const from = last
      .map((h) => h.startsWith('of_iommu_configure():') || h.startsWith('acpi_iommu_configure'))
      .lastIndexOf(true);
    const tail = from >= 0 ? last.slice(from) : last.slice(-1);
    story.push(`${device.name} has no IOMMU${tail.length ? ':' : ': no IOMMU driver claimed it.'}`);
    for (const h of tail) story.push(`  ${h}`);
    if (result.iommus.length === 0) {
      // Nothing registered at all: what the log says about why (intel_iommu=off, iommu=off …).
      const why = result.log.filter((l) => /^[^:]+: .*\b(disabled|not detected|not set up)\b/i.test(l));
      story.push(
        `No IOMMU instance was registered on this machine${why.length ? ':' : ' (no firmware table or node describes one that a driver set up).'}`,
      );
      for (const l of why) story.push(`  ${l}`);
    }
  } else {
    const inst = result.iommus.find((i) => i.name === device.iommu);
    story.push(
      `${device.name} is translated by ${device.iommu} (${inst?.driver ?? '?'}), probed at ${device.probedAt ?? '?'}${
        inst && !inst.fwnode ? ': a global driver, which finds its devices in its own firmware tables' : ''
      }.`,
    );
  }
  // How its IOMMU found it: the firmware table entry or binding that named it.
  const found = device.history
    .filter((h) => /^(DMAR:|IVRS:|of_iommu_configure|acpi_iommu_configure)/.test(h))
    .at(-1);
  if (device.iommu && found) story.push(`  ${found}`);
  if (device.fwspec) {
    story.push(
      `Its fwspec names ${device.fwspec.fwnode ?? '(no node)'} with IDs [${device.fwspec.ids.map((i) => '0x' + i.toString(16)).join(', ')}].`,
    );
    // Which binding gave which IDs: an `iommus` entry, an iommu-map entry, an IORT or VIOT mapping.
    for (const s of device.fwspec.sources) story.push(`  from ${s}`);
  }
  if (device.msi) {
    story.push(
      device.msi.controller
        ? `Its MSIs go to ${device.msi.controller}${device.msi.id !== null ? ` as ID 0x${device.msi.id.toString(16)}` : ''} (${device.msi.source}).`
        : `Its MSIs have no controller: ${device.msi.source}.`,
    );
    if (!device.msi.isolated)
      story.push(
        '  They are not isolated (no GICv3 ITS or interrupt remapping): VFIO and iommufd refuse the group unless allow_unsafe_interrupts=1.',
      );
  }
  if (group) {
    story.push(
      group.devices.length === 1
        ? `It is alone in group ${group.id}: user space can take it by itself.`
        : `Group ${group.id} has ${group.devices.length} devices: ${group.devices.join(', ')}. User space must take them all, and no kernel driver may use any of them.`,
    );
    for (const w of group.why) story.push(`  ${w}`);
    story.push(`Default domain: ${group.type}.`);
    for (const w of group.typeWhy) story.push(`  ${w}`);
  }
  for (const r of device.reservedRegions) story.push(`Reserved ${r.start}-${r.end} ${r.type}: ${r.source}.`);

  const splits: SplitWhatIf[] = [];
  if (group && group.devices.length > 1 && device.bus === 'pci') {
    const candidates = new Set<string>([device.name]);
    for (const w of group.why)
      for (const m of w.matchAll(/([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])/g)) candidates.add(m[1]);
    // ACS is a PCI Express capability: conventional functions and bridges cannot have it.
    const canHaveAcs = (bdf: string) => {
      const t = findPciEntry(desc, bdf)?.type;
      return t !== undefined && t !== 'conventional' && t !== 'pci-bridge' && t !== 'legacy-endpoint';
    };
    for (const bdf of candidates) {
      if (!canHaveAcs(bdf)) continue;
      const entry = findPciEntry(desc, bdf)!;
      const after = reboot(withAcsOn(desc, bdf));
      const d = after.devices.find((x) => x.name === device.name);
      const g = after.groups.find((x) => x.id === d?.group);
      const members = g ? [...g.devices].sort() : [];
      if (g && members.length < group.devices.length) {
        splits.push({ port: bdf, hasAcsCapability: entry.acs !== undefined, groupAfter: members });
      }
    }
    if (splits.length === 0) {
      // No single port is enough: isolate every function on the chain at once.
      const ports = [...candidates].filter(canHaveAcs);
      let all = desc;
      for (const b of ports) all = withAcsOn(all, b);
      const after = reboot(all);
      const d = after.devices.find((x) => x.name === device.name);
      const g = after.groups.find((x) => x.id === d?.group);
      if (g && g.devices.length < group.devices.length) {
        splits.push({
          port: ports.join(' + '),
          hasAcsCapability: ports.every((b) => findPciEntry(desc, b)?.acs !== undefined),
          groupAfter: [...g.devices].sort(),
        });
      }
    }
    for (const s of splits) {
      story.push(
        `With ACS isolation on ${s.port}, ${device.name} would ${shareWith(s.groupAfter.filter((x) => x !== device.name))}${
          s.hasAcsCapability
            ? ' (it has the ACS capability: the kernel enables it when an IOMMU asks for ACS before PCI enumeration).'
            : ' (it has no ACS capability: only a kernel quirk, or the out-of-tree pcie_acs_override=, could claim it).'
        }`,
      );
    }
    if (splits.length === 0) {
      story.push(
        'No ACS isolation on the PCI Express functions involved would split this group (conventional PCI, DMA aliases or multifunction devices without ACS keep it together).',
      );
    }
  }
  return { device, group, splits, story };
}
