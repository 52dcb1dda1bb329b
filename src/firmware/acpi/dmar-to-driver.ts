// SPDX-License-Identifier: GPL-2.0-only
/**
 * From a parsed DMAR to the DmarTable the Intel driver model consumes
 * (src/drivers/intel/dmar.ts), binding device scopes to present devices the
 * way drivers/iommu/intel/dmar.c does when PCI adds a device
 * (dmar_pci_bus_add_dev(), dmar_insert_dev_scope(), dmar_match_pci_path(),
 * and intel/iommu.c dmar_iommu_notify_scope_dev() for RMRRs).
 *
 * Two pure pieces can be tested without the PCI model:
 * - dmarResolveScopePath(): a scope's path walked from its start bus through
 *   each (device, function), following each bridge's secondary bus, as the
 *   interrupt-remapping code reads it (irq_remapping.c ir_parse_one_*_scope())
 *   and as older kernels bound every scope;
 * - dmarMatchPciPath(): the 6.12 comparison of a device's path from its root
 *   bus with a scope (exact match, or the one-hop "RMRR entry is broken"
 *   fallback on the device's own bus).
 *
 * Binding rules mirrored: scopes of INCLUDE_PCI_ALL units are never bound
 * (dmar_pci_bus_add_dev() skips them); a device is bound in the first DRHD
 * of the kernel's unit list that names it, where units without
 * INCLUDE_PCI_ALL are in reverse table order (dmar_register_drhd_unit() adds
 * them at the head); a scope whose type does not fit the device (an endpoint
 * scope naming a bridge, a bridge scope naming a non-bridge that is not of
 * class 06xx, "Device scope type does not match") in a DRHD fails the
 * device, which is then bound nowhere, and in an RMRR ends the device's
 * RMRR walk (RMRRs are listed in reverse table order, list_add() in
 * dmar_parse_one_rmrr()); a DRHD with the segment and register
 * base of an earlier one is the same unit (dmar_find_dmaru()) and is dropped.
 * The result keeps table order for drhds and rmrrs.
 */
import type { Device } from '../../base/device.js';
import type { DmarDevScope, DmarDrhdUnit, DmarRmrrUnit, DmarTable } from '../../drivers/intel/dmar.js';
import type {
  DmarDeviceScopeEntry,
  DmarDrhd,
  DmarPciPathEntry,
  DmarRmrr,
  DmarScopeKind,
  ParsedDmar,
} from './dmar-parse.js';
import { InputError } from '../../input/input-error.js';
import { hex } from './acpi-table.js';

/** What the walk needs to know about a PCI function: the secondary bus if it is a bridge. */
export type PciFunctionLookup = (
  segment: number,
  bus: number,
  devfn: number,
) => { readonly secondary?: number } | null;

export interface ScopePathTarget {
  readonly segment: number;
  readonly bus: number;
  readonly devfn: number;
}

export interface ResolveOptions {
  /**
   * Whether a bus is a root bus. When given, a path of more than one hop
   * must start on a root bus, as dmar_match_pci_path() requires in 6.12
   * (one-hop paths match on any bus, the FW_BUG fallback).
   */
  readonly isRootBus?: (segment: number, bus: number) => boolean;
}

/**
 * The function a scope path names: from the start bus, each hop but the last
 * must be a bridge present on the current bus, whose secondary bus is where
 * the next hop is looked up. Null when a hop is missing, an intermediate hop
 * is not a bridge, or the path is empty.
 */
export function dmarResolveScopePath(
  segment: number,
  startBus: number,
  path: readonly DmarPciPathEntry[],
  lookup: PciFunctionLookup,
  opts: ResolveOptions = {},
): ScopePathTarget | null {
  if (path.length === 0) return null;
  if (path.length > 1 && opts.isRootBus && !opts.isRootBus(segment, startBus)) return null;
  let bus = startBus;
  for (let i = 0; i < path.length; i++) {
    const { device, function: fn } = path[i];
    if (device > 0x1f || fn > 7) return null;
    const devfn = (device << 3) | fn;
    const f = lookup(segment, bus, devfn);
    if (!f) return null;
    if (i === path.length - 1) return { segment, bus, devfn };
    if (f.secondary === undefined) return null;
    bus = f.secondary;
  }
  return null;
}

/** struct dmar_pci_notify_info as far as matching goes: the device's path from its root bus. */
export interface DmarNotifyInfo {
  /** The root bus number (info->bus). */
  readonly rootBus: number;
  /** One hop per level, root first: the bus each function is on and its device/function. */
  readonly path: readonly { readonly bus: number; readonly device: number; readonly function: number }[];
}

/**
 * dmar_match_pci_path(): 'exact' when the scope starts at the device's root
 * bus and lists every hop; 'fallback' for a one-hop scope naming the device
 * on its own bus (the kernel logs "RMRR entry for device ... is broken -
 * applying workaround"); null otherwise.
 */
export function dmarMatchPciPath(
  info: DmarNotifyInfo,
  bus: number,
  path: readonly DmarPciPathEntry[],
): 'exact' | 'fallback' | null {
  if (
    info.rootBus === bus &&
    info.path.length === path.length &&
    path.every((p, i) => p.device === info.path[i].device && p.function === info.path[i].function)
  )
    return 'exact';
  if (path.length !== 1 || info.path.length === 0) return null;
  const last = info.path[info.path.length - 1];
  return bus === last.bus && path[0].device === last.device && path[0].function === last.function
    ? 'fallback'
    : null;
}

/** Resolves an endpoint or bridge scope to a present device, or null. */
export type DmarScopeResolver = (
  segment: number,
  startBus: number,
  path: readonly DmarPciPathEntry[],
) => Device | null;

/** A DRHD unit's register state, which DMAR does not carry: what dmesg prints for the unit at `base`. */
export interface DmarUnitRegisters {
  readonly base: bigint;
  readonly ver?: number;
  readonly cap?: bigint;
  readonly ecap?: bigint;
  readonly passThrough?: boolean;
  readonly translationPreEnabled?: boolean;
}

export interface DmarDriverOptions {
  /** ecap.PT of every unit (register state, not in DMAR). Default true, as platform files default. */
  readonly passThrough?: boolean;
  /** DMA_GSTS_TES left on by firmware. Default false. */
  readonly translationPreEnabled?: boolean;
  /** Per unit, by register base: its VER/CAP/ECAP and the two flags above. */
  readonly units?: readonly DmarUnitRegisters[];
}

export interface DmarDriverTable extends DmarTable {
  /** Why a scope stayed unbound or a unit was dropped. */
  readonly notes: readonly string[];
}

const h2 = (n: number) => n.toString(16).padStart(2, '0');

/** What the firmware wrote, for reports: "endpoint 00:1f.2", "bridge 00:1c.0/00.0", "ioapic id 0 (ff:00.0)". */
export function dmarScopeText(
  segment: number,
  s: DmarDeviceScopeEntry,
  anddNames?: Map<number, string>,
): string {
  const seg = segment ? `${segment.toString(16).padStart(4, '0')}:` : '';
  const hops = s.path.map((p) => `${h2(p.device)}.${p.function.toString(16)}`).join('/');
  const where = `${seg}${h2(s.startBus)}:${hops || '(no path)'}`;
  switch (s.kind) {
    case 'endpoint':
    case 'bridge':
      return `${s.kind} ${where}`;
    case 'namespace': {
      const name = anddNames?.get(s.enumerationId);
      return `namespace id ${s.enumerationId}${name ? ` (${name})` : ''}`;
    }
    case 'ioapic':
    case 'hpet':
      return `${s.kind} id ${s.enumerationId} (${where})`;
    case 'reserved':
      return `type ${s.type} ${where}`;
  }
}

const PCI_HEADER_TYPE_NORMAL = 0;
const PCI_BASE_CLASS_BRIDGE = 0x06;

/** The type check of dmar_insert_dev_scope(): null if it fits, else the reason. */
function scopeTypeMismatch(kind: DmarScopeKind, dev: Device): string | null {
  const pdev = dev.pci;
  if (!pdev) return null;
  if (kind === 'endpoint' && pdev.hdr_type !== PCI_HEADER_TYPE_NORMAL)
    return 'an endpoint scope names a bridge';
  if (
    kind === 'bridge' &&
    pdev.hdr_type === PCI_HEADER_TYPE_NORMAL &&
    pdev.classCode >> 16 !== PCI_BASE_CLASS_BRIDGE
  )
    return 'a bridge scope names a device that is not a bridge';
  return null;
}

interface Binding {
  readonly dev: Device;
  readonly text: string;
}

/**
 * The driver's DmarTable for a parsed DMAR: DRHDs and RMRRs in table order,
 * scopes bound to the devices `resolve` returns under the kernel's rules
 * (see the file header). Throws InputError when the kernel would refuse the
 * table (a host address width below 12).
 */
export function dmarToDriverTable(
  dmar: ParsedDmar,
  resolve: DmarScopeResolver,
  opts: DmarDriverOptions = {},
): DmarDriverTable {
  if (dmar.widthField < 11)
    throw new InputError(
      dmar.file,
      'offset 0x24',
      `Host Address Width ${dmar.hostAddressWidth}: parse_dmar_table() refuses the table ("Invalid DMAR haw")`,
    );
  const notes: string[] = [];
  const anddNames = new Map<number, string>();
  for (const s of dmar.structures) if (s.kind === 'andd') anddNames.set(s.deviceNumber, s.objectName);

  // dmar_find_dmaru(): a second DRHD for the same unit is not registered.
  const drhds: DmarDrhd[] = [];
  for (const s of dmar.structures) {
    if (s.kind !== 'drhd') continue;
    if (drhds.some((d) => d.segment === s.segment && d.registerBase === s.registerBase)) {
      notes.push(
        `offset ${hex(s.offset)}: DRHD for segment ${s.segment} at ${hex(s.registerBase)} repeats an earlier one; the kernel keeps the first`,
      );
      continue;
    }
    drhds.push(s);
  }
  const rmrrs = dmar.structures.filter((s): s is DmarRmrr => s.kind === 'rmrr');

  // Resolve every PCI scope once: scope -> device.
  const resolved = new Map<DmarDeviceScopeEntry, Device>();
  const pciScopes = (segment: number, scopes: readonly DmarDeviceScopeEntry[]) => {
    for (const s of scopes) {
      if (s.kind !== 'endpoint' && s.kind !== 'bridge') continue;
      const dev = resolve(segment, s.startBus, s.path);
      if (dev) resolved.set(s, dev);
    }
  };
  for (const d of drhds) if (!d.includePciAll) pciScopes(d.segment, d.scopes);
  for (const r of rmrrs) pciScopes(r.segment, r.scopes);

  // dmar_pci_bus_add_dev(), per device: the first DRHD in list order that names it.
  const listOrder = drhds.filter((d) => !d.includePciAll).reverse();
  const bound = new Map<DmarDeviceScopeEntry, Binding>();
  const failed = new Set<Device>();
  const devices = new Set(resolved.values());
  for (const dev of devices) {
    let fail: string | null = null;
    for (const d of listOrder) {
      const s = d.scopes.find((x) => resolved.get(x) === dev);
      if (!s) continue;
      fail = scopeTypeMismatch(s.kind, dev);
      if (fail) {
        notes.push(
          `offset ${hex(s.offset)}: ${dmarScopeText(d.segment, s)}: ${fail}; the kernel fails ${dev.name} ("Device scope type does not match")`,
        );
        failed.add(dev);
      } else bound.set(s, { dev, text: dmarScopeText(d.segment, s) });
      break;
    }
    if (fail) continue;
    // dmar_iommu_notify_scope_dev(): each RMRR on its own, in list order (reverse table order);
    // a type mismatch ends the walk with -EINVAL, the bindings made so far stay.
    for (const r of [...rmrrs].reverse()) {
      const s = r.scopes.find((x) => resolved.get(x) === dev);
      if (!s) continue;
      const bad = scopeTypeMismatch(s.kind, dev);
      if (bad) {
        notes.push(
          `offset ${hex(s.offset)}: ${dmarScopeText(r.segment, s)}: ${bad}; the kernel stops binding ${dev.name} to RMRRs here ("Device scope type does not match")`,
        );
        break;
      }
      bound.set(s, { dev, text: dmarScopeText(r.segment, s) });
    }
  }

  const scopesOf = (
    segment: number,
    scopes: readonly DmarDeviceScopeEntry[],
    includeAll: boolean,
    owner: 'DRHD' | 'RMRR',
  ) => {
    const out: DmarDevScope[] = [];
    for (const s of scopes) {
      if (s.kind === 'reserved') continue;
      const text = dmarScopeText(segment, s, anddNames);
      const b = bound.get(s);
      const dev = b && !failed.has(b.dev) ? b.dev : null;
      if (!dev && (s.kind === 'endpoint' || s.kind === 'bridge') && !includeAll) {
        const got = resolved.get(s);
        if (!got)
          notes.push(`offset ${hex(s.offset)}: ${text} names no present device: the scope stays inactive`);
        else if (!failed.has(got) && owner === 'DRHD')
          notes.push(
            `offset ${hex(s.offset)}: ${text} is ${got.name}, already bound by another unit (a device is in one DRHD only)`,
          );
      }
      out.push({ type: s.kind, text, dev });
    }
    return out;
  };

  const drhdUnits: DmarDrhdUnit[] = drhds.map((d) => {
    if (d.includePciAll && d.scopes.some((s) => s.kind === 'endpoint' || s.kind === 'bridge'))
      notes.push(
        `offset ${hex(d.offset)}: the INCLUDE_PCI_ALL DRHD's PCI scopes are not bound (dmar_pci_bus_add_dev() skips the unit)`,
      );
    const regs = opts.units?.find((u) => u.base === d.registerBase);
    return {
      segment: d.segment,
      reg_base_addr: d.registerBase,
      include_all: d.includePciAll,
      devices: scopesOf(d.segment, d.scopes, d.includePciAll, 'DRHD'),
      passThrough: regs?.passThrough ?? opts.passThrough ?? true,
      translationPreEnabled: regs?.translationPreEnabled ?? opts.translationPreEnabled ?? false,
      ...(regs?.ver !== undefined && { ver: regs.ver }),
      ...(regs?.cap !== undefined && { cap: regs.cap }),
      ...(regs?.ecap !== undefined && { ecap: regs.ecap }),
    };
  });
  const rmrrUnits: DmarRmrrUnit[] = rmrrs.map((r) => ({
    base_address: r.baseAddress,
    end_address: r.endAddress,
    devices: scopesOf(r.segment, r.scopes, false, 'RMRR'),
  }));
  return { haw: dmar.hostAddressWidth, drhds: drhdUnits, rmrrs: rmrrUnits, notes };
}
