// SPDX-License-Identifier: GPL-2.0-only
/**
 * A real machine's snapshot as a platform to boot, and the boot compared
 * with what the machine itself showed.
 *
 * The platform: the snapshot's ACPI tables and device tree, its PCI config
 * spaces as the PCI topology, the machine's architecture (when the tables do
 * not say) and hypervisor flag. The drivers: the stock kernel's built-in
 * ones, and a module for every function that had a driver bound on the
 * machine (`--bind` with that list), since on a kernel up to v6.14 binding
 * is what gives a device-tree, IORT or VIOT device its group. The kernel: the
 * profile nearest at or below the machine's release, with its command line
 * (`--profile` and `--cmdline` are what-ifs on top).
 */
import type { BootResult } from '../api.js';
import type { PlatformDesc } from '../platform/schema.js';
import type { PlatformFirmware } from '../platform/firmware.js';
import { parseAcpiInto, platformFromParts, type InputsOptions } from '../platform/firmware.js';
import { parseFdt } from '../firmware/fdt/fdt-parse.js';
import { importPciConfigs } from '../pci/import/from-config.js';
import type { Arch } from '../kernel/kconfig.js';
import { profileNames, type ProfileName } from '../profile/profile.js';
import type { MachineSnapshot, SnapshotGroup } from './snapshot.js';
import { applyTopologyEdits } from '../platform/what-if.js';

/** `uname -m` to the model's architectures. */
const ARCHES: Readonly<Record<string, Arch>> = {
  x86_64: 'x86_64',
  aarch64: 'arm64',
  arm64: 'arm64',
  armv7l: 'arm',
  armv8l: 'arm',
  arm: 'arm',
};

/**
 * The profile for a kernel release ("6.12.117+deb12-amd64"): the newest
 * profile at or below it, with a note when the release is older than every
 * profile or not a release at all.
 */
export function profileForRelease(release: string | null): { profile: ProfileName; note: string | null } {
  const m = release ? /^(\d+)\.(\d+)/.exec(release) : null;
  const newest = profileNames[profileNames.length - 1];
  if (!m) return { profile: newest, note: `no kernel release in the snapshot: modelled as ${newest}` };
  const rel = Number(m[1]) * 1000 + Number(m[2]);
  const at = (p: string) => {
    const [a, b] = p.slice(1).split('.').map(Number);
    return a * 1000 + b;
  };
  const below = profileNames.filter((p) => at(p) <= rel);
  if (below.length === 0)
    return {
      profile: profileNames[0],
      note: `kernel ${release} is older than every profile: modelled as ${profileNames[0]}`,
    };
  const p = below[below.length - 1];
  return {
    profile: p,
    note: at(p) === rel ? null : `kernel ${release} modelled as ${p}, the profile before it`,
  };
}

export interface SnapshotMachine {
  readonly desc: PlatformDesc;
  readonly file: string;
  readonly firmware: PlatformFirmware;
  readonly profile: ProfileName;
  readonly cmdline: string;
  /** How the snapshot was turned into a model, for the user. */
  readonly notes: readonly string[];
  /** Whether options changed the machine (then the model is not expected to agree with it). */
  readonly whatIf: boolean;
}

/** The platform, profile and command line a snapshot boots with (opts: what-ifs over the machine's own). */
export function machineFromSnapshot(
  s: MachineSnapshot,
  opts: InputsOptions & { readonly profile?: ProfileName; readonly cmdline?: string } = {},
): SnapshotMachine {
  const notes: string[] = [];
  const fw: { -readonly [K in keyof PlatformFirmware]: PlatformFirmware[K] } = {};
  for (const t of s.acpi) parseAcpiInto(fw, t.signature, t.bytes, t.file);
  if (s.fdt) fw.fdt = parseFdt(s.fdt.bytes, s.fdt.file);
  const pci = s.pci.length
    ? importPciConfigs(s.pci.map((f) => ({ bdf: f.bdf, bytes: f.config, file: f.file })))
    : undefined;
  const bound = s.pci.filter((f) => f.driver !== null).map((f) => f.bdf);
  const machineArch = s.arch ? ARCHES[s.arch] : undefined;
  if (s.arch && !machineArch) notes.push(`architecture ${s.arch} is not modelled: taken from the firmware`);
  const { desc, firmware } = platformFromParts(
    fw,
    pci,
    `${s.source}:iommu-snapshot/pci`,
    `snapshot ${s.source}`,
    `The machine ${s.source} was taken from (kernel ${s.release ?? 'unknown'})`,
    {
      ...opts,
      hypervisor: opts.hypervisor ?? s.hypervisor,
      bind: opts.bind ?? (bound.length ? bound : 'none'),
      defaultArch: machineArch,
    },
  );
  const chosen = profileForRelease(s.release);
  if (!opts.profile && chosen.note) notes.push(chosen.note);
  if (opts.profile && opts.profile !== chosen.profile)
    notes.push(
      `what-if: ${opts.profile} instead of ${chosen.profile} (the machine runs ${s.release ?? 'an unknown kernel'})`,
    );
  if (opts.cmdline) notes.push(`what-if: command line plus "${opts.cmdline}"`);
  if (opts.bind) notes.push(`what-if: --bind ${Array.isArray(opts.bind) ? opts.bind.join(',') : opts.bind}`);
  if (opts.acsRequest) notes.push(`what-if: ACS requested ${opts.acsRequest}`);
  if (opts.kconfig && Object.keys(opts.kconfig).length)
    notes.push(
      `what-if: ${Object.entries(opts.kconfig)
        .map(([k, v]) => `CONFIG_${k}=${String(v)}`)
        .join(' ')}`,
    );
  if (opts.arch) notes.push(`what-if: --arch ${opts.arch}`);
  if (opts.hypervisor !== undefined && opts.hypervisor !== s.hypervisor)
    notes.push(`what-if: ${opts.hypervisor ? 'under' : 'not under'} a hypervisor`);
  for (const [what, list] of [
    ['ACS enabled on', opts.edits?.acs],
    ['removed', opts.edits?.remove],
    ['added', opts.edits?.add],
  ] as const)
    if (list?.length) notes.push(`what-if: ${what} ${list.join(', ')}`);
  const acsRequest = opts.acsRequest ? { acsRequest: opts.acsRequest } : {};
  const kconfig = opts.kconfig ? { kconfig: { ...desc.kconfig, ...opts.kconfig } } : {};
  const edited = applyTopologyEdits({ ...desc, ...acsRequest, ...kconfig }, opts.edits ?? {}, desc.name);
  return {
    desc: edited,
    file: desc.name,
    firmware,
    profile: opts.profile ?? chosen.profile,
    cmdline: [s.cmdline, opts.cmdline].filter(Boolean).join(' '),
    notes,
    whatIf: notes.some((n) => n.startsWith('what-if')),
  };
}

export interface GroupAgreement {
  /** The machine's group, or null for a group only the model has. */
  readonly live: {
    readonly id: number;
    readonly type: string | null;
    readonly devices: readonly string[];
  } | null;
  /** The model's group holding the same first device, or null. */
  readonly model: { readonly id: number; readonly type: string; readonly devices: readonly string[] } | null;
  readonly sameDevices: boolean;
  readonly sameType: boolean;
  readonly sameReservedRegions: boolean;
  /** What differs, in words (empty when they agree). */
  readonly differences: readonly string[];
}

export interface MachineAgreement {
  /** Whether the model agrees with the machine on every group (members, type, reserved regions) and IOMMU link. */
  readonly agrees: boolean;
  readonly groups: readonly GroupAgreement[];
  /** Devices whose iommu link differs: the machine's and the model's (null: none). */
  readonly iommuLinks: readonly {
    readonly device: string;
    readonly live: string | null;
    readonly model: string | null;
  }[];
  /** PCI functions bound on the machine and not in the model, or the other way round. */
  readonly drivers: readonly {
    readonly device: string;
    readonly live: string | null;
    readonly model: string | null;
  }[];
  /** One line per counted kind: "groups 4/5 agree" … */
  readonly summary: readonly string[];
}

const sortNames = (xs: readonly string[]) => [...xs].sort();
const regionKey = (r: { start: string; end: string; type: string }) =>
  `${BigInt(r.start)} ${BigInt(r.end)} ${r.type}`;

/** The model's boot of a snapshot against the groups, links and drivers the machine showed. */
export function compareWithMachine(r: BootResult, s: MachineSnapshot): MachineAgreement {
  const modelOf = new Map<string, (typeof r.groups)[number]>();
  for (const g of r.groups) for (const d of g.devices) modelOf.set(d, g);
  const usedModel = new Set<number>();
  const groups: GroupAgreement[] = s.groups.map((lg: SnapshotGroup) => {
    const liveDevs = sortNames(lg.devices.map((d) => d.name));
    const mg = liveDevs.map((d) => modelOf.get(d)).find((g) => g !== undefined) ?? null;
    if (mg) usedModel.add(mg.id);
    const modelDevs = mg ? sortNames(mg.devices) : [];
    const sameDevices = mg !== null && modelDevs.join() === liveDevs.join();
    const sameType = mg !== null && lg.type !== null && mg.type === lg.type;
    const liveResv = lg.reservedRegions.map(regionKey).join('|');
    const sameReservedRegions = mg !== null && mg.reservedRegions.map(regionKey).join('|') === liveResv;
    const differences: string[] = [];
    if (liveDevs.length === 0) differences.push("the machine's group lists no devices");
    else if (!mg) differences.push(`the model put none of ${liveDevs.join(', ')} in a group`);
    else {
      if (!sameDevices) {
        const missing = liveDevs.filter((d) => !modelDevs.includes(d));
        const extra = modelDevs.filter((d) => !liveDevs.includes(d));
        if (missing.length) differences.push(`the model's group ${mg.id} lacks ${missing.join(', ')}`);
        if (extra.length) differences.push(`the model's group ${mg.id} also holds ${extra.join(', ')}`);
      }
      if (!sameType)
        differences.push(`type ${lg.type ?? '(unreadable)'} on the machine, ${mg.type} in the model`);
      if (!sameReservedRegions)
        differences.push(
          `reserved regions differ: machine [${lg.reservedRegions.map((x) => `${x.start}-${x.end} ${x.type}`).join(', ')}], model [${mg.reservedRegions.map((x) => `${x.start}-${x.end} ${x.type}`).join(', ')}]`,
        );
    }
    return {
      live: { id: lg.id, type: lg.type, devices: liveDevs },
      model: mg ? { id: mg.id, type: mg.type, devices: modelDevs } : null,
      sameDevices,
      sameType,
      sameReservedRegions,
      differences,
    };
  });
  for (const mg of r.groups)
    if (!usedModel.has(mg.id))
      groups.push({
        live: null,
        model: { id: mg.id, type: mg.type, devices: sortNames(mg.devices) },
        sameDevices: false,
        sameType: false,
        sameReservedRegions: false,
        differences: [
          `the model's group ${mg.id} (${sortNames(mg.devices).join(', ')}) is none of the machine's`,
        ],
      });

  const liveLink = new Map<string, string | null>();
  for (const g of s.groups) for (const d of g.devices) liveLink.set(d.name, d.iommu);
  for (const f of s.pci) if (!liveLink.has(f.bdf)) liveLink.set(f.bdf, f.iommu);
  const modelLink = new Map(r.devices.map((d) => [d.name, d.iommu]));
  const iommuLinks = [
    ...new Set([...liveLink.keys(), ...r.devices.filter((d) => d.iommu).map((d) => d.name)]),
  ]
    .sort()
    .map((device) => ({ device, live: liveLink.get(device) ?? null, model: modelLink.get(device) ?? null }))
    .filter((x) => x.live !== x.model);

  const modelDriver = new Map(r.devices.filter((d) => d.bus === 'pci').map((d) => [d.name, d.driver]));
  const drivers = s.pci
    .map((f) => ({ device: f.bdf, live: f.driver, model: modelDriver.get(f.bdf) ?? null }))
    .filter((x) => (x.live === null) !== (x.model === null));

  const ok = groups.filter((g) => g.differences.length === 0).length;
  const linksTotal = liveLink.size;
  const summary = [
    `groups: ${ok} of ${groups.length} agree (members, type, reserved regions)`,
    `iommu links: ${linksTotal - iommuLinks.filter((x) => liveLink.has(x.device)).length} of ${linksTotal} agree`,
    `drivers bound: ${s.pci.length - drivers.length} of ${s.pci.length} PCI functions agree`,
  ];
  const sameIds = groups.every((g) => !g.live || !g.model || g.live.id === g.model.id);
  if (ok === groups.length && !sameIds) summary.push('group numbers differ (the order groups were made in)');
  return { agrees: ok === groups.length && iommuLinks.length === 0, groups, iommuLinks, drivers, summary };
}
