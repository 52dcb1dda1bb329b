// SPDX-License-Identifier: GPL-2.0-only
/**
 * From a parsed IVRS to what the AMD-Vi driver model consumes
 * (src/drivers/amd/iommu.ts IvrsTable), computed the way
 * drivers/iommu/amd/init.c builds its per-segment tables:
 *
 * - get_highest_supported_ivhd_type(): the kernel uses one IVHD type only.
 *   It scans the blocks from the first while their type is at most 40h and
 *   keeps the type of the last block whose device ID (the u16 at +4, read
 *   from IVMDs too) equals the first block's; init_iommu_all() then takes
 *   the blocks of exactly that type. A type that is not an IVHD type fails
 *   initialisation.
 * - find_last_devid_acpi() / find_last_devid_from_ivhd(): last_bdf per
 *   segment, the highest device ID named by select, range end, alias select
 *   or extended select entries of the used IVHDs of that segment, 0xffff when
 *   one has "select all"; an IVHD naming no device ID fails initialisation.
 * - init_iommu_from_acpi(): each entry sets the rlookup table entry of its
 *   device IDs to its IOMMU (later IVHDs overwrite earlier ones): select,
 *   select all (0..last_bdf), ranges (start entry then range end, for alias
 *   ranges the alias too), alias select (device and alias), extended forms,
 *   special IOAPIC/HPET (the used device ID; a variety other than IOAPIC or
 *   HPET fails add_special_device() and initialisation), ACPI HID (IVHD 40h
 *   only, non-empty HID). Alias entries fill alias_table[devid] = alias.
 * - init_iommu_one_late(): each IOMMU's own device ID is then removed from
 *   rlookup ("Make sure IOMMU is not considered to translate itself").
 * - init_memory_definitions() / init_unity_map_range(): IVMDs with the unity
 *   or exclusion flag become unity maps; 20h covers 0..last_bdf of its
 *   segment, 21h one device, 22h device..aux; addresses are page aligned and
 *   exclusion ranges are read/write unity maps.
 *
 * Each unit's `ranges` are the final rlookup entries that point at it, so
 * the driver's rlookup fill gives exactly the kernel's table. The other
 * results are in optional fields the driver does not read yet.
 * Command-line overrides (ivrs_ioapic=, ivrs_hpet=, ivrs_acpihid=) and the
 * DMI quirks (amd_iommu_apply_ivrs_quirks()) are not modelled.
 */
import type { IvhdUnit, IvrsTable } from '../../drivers/amd/iommu.js';
import type { Ivhd, ParsedIvrs } from './ivrs-parse.js';
import {
  IVHD_DEV_ACPI_HID,
  IVHD_DEV_ALIAS,
  IVHD_DEV_ALIAS_RANGE,
  IVHD_DEV_ALL,
  IVHD_DEV_EXT_SELECT,
  IVHD_DEV_EXT_SELECT_RANGE,
  IVHD_DEV_RANGE_END,
  IVHD_DEV_SELECT,
  IVHD_DEV_SELECT_RANGE_START,
  IVHD_DEV_SPECIAL,
  IVMD_TYPE_ALL,
  IVMD_TYPE_RANGE,
  IVMD_TYPE_SELECT,
  IVHD_TYPES,
} from './ivrs-parse.js';
import { hex } from './acpi-table.js';

/** ACPI_IVHD_TYPE_MAX_SUPPORTED */
export const ACPI_IVHD_TYPE_MAX_SUPPORTED = 0x40;

export interface IvrsSpecialDevice {
  readonly variety: 'ioapic' | 'hpet';
  /** IOAPIC ID or HPET number (the entry's handle). */
  readonly id: number;
  readonly segment: number;
  readonly devid: number;
  /** The unit's label. */
  readonly unit: string;
}

export interface IvrsAcpiHidDevice {
  readonly hid: string;
  /** The UID as the kernel matches it. */
  readonly uid: string;
  readonly segment: number;
  readonly devid: number;
  readonly unit: string;
}

export interface IvrsUnityMap {
  /** Offset of the IVMD. */
  readonly offset: number;
  readonly segment: number;
  readonly devidStart: number;
  readonly devidEnd: number;
  /** PAGE_ALIGN(start) */
  readonly addressStart: bigint;
  /** addressStart + PAGE_ALIGN(length): exclusive. */
  readonly addressEnd: bigint;
  /** flags >> 1: bit 0 read (IR), bit 1 write (IW); 3 for exclusion ranges. */
  readonly prot: number;
  readonly exclusion: boolean;
}

/** What an IVHD unit carries beyond IvhdUnit (optional, for the driver to adopt later). */
export interface AmdIvhdUnitExtras {
  readonly ivhdType?: number;
  /** Offset of the IVHD in the table. */
  readonly offset?: number;
  /** The IOMMU's own requester ID (removed from rlookup). */
  readonly iommuDevid?: number;
  readonly baseAddress?: bigint;
  readonly capabilityOffset?: number;
  /** IVHD flags (iommu->acpi_flags). */
  readonly flags?: number;
  readonly efr?: bigint | null;
  /** devid -> alias as this IVHD's entries wrote them, in entry order. */
  readonly aliases?: readonly (readonly [number, number])[];
}

export interface AmdIvrsTableExtras {
  /** The IVHD type the kernel uses, null without any block. */
  readonly targetIvhdType?: number | null;
  /** last_bdf per PCI segment. */
  readonly lastBdf?: readonly { readonly segment: number; readonly lastBdf: number }[];
  /** The final alias_table entries that differ from the device ID. */
  readonly aliases?: readonly { readonly segment: number; readonly devid: number; readonly alias: number }[];
  readonly specialDevices?: readonly IvrsSpecialDevice[];
  readonly acpiHidDevices?: readonly IvrsAcpiHidDevice[];
  readonly unityMaps?: readonly IvrsUnityMap[];
  /** Why the kernel's AMD-Vi initialisation fails on this table; then there are no units. */
  readonly initError?: string | null;
  readonly notes?: readonly string[];
}

export type AmdIvhdUnit = IvhdUnit & Required<AmdIvhdUnitExtras>;

export interface AmdIvrsTable extends IvrsTable, Required<AmdIvrsTableExtras> {
  readonly ivhds: readonly AmdIvhdUnit[];
}

export interface IvrsDriverOptions {
  /** Running under a hypervisor (CPUID, not in IVRS). Default false. */
  readonly hypervisor?: boolean;
}

/** get_highest_supported_ivhd_type(), over the parsed blocks; null for a table without blocks. */
export function getHighestSupportedIvhdType(ivrs: ParsedIvrs): number | null {
  const first = ivrs.blocks[0];
  if (!first) return null;
  let last = first.type;
  for (const b of ivrs.blocks) {
    if (b.type > ACPI_IVHD_TYPE_MAX_SUPPORTED) break;
    if (b.deviceId === first.deviceId) last = b.type;
  }
  return last;
}

/** find_last_devid_from_ivhd(): -1 for an IVHD naming no device ID (the kernel's -EINVAL). */
export function findLastDevidFromIvhd(ivhd: Ivhd): number {
  let last = -1;
  for (const e of ivhd.entries) {
    switch (e.type) {
      case IVHD_DEV_ALL:
        return 0xffff;
      case IVHD_DEV_SELECT:
      case IVHD_DEV_RANGE_END:
      case IVHD_DEV_ALIAS:
      case IVHD_DEV_EXT_SELECT:
        if (e.deviceId > last) last = e.deviceId;
        break;
    }
  }
  return last;
}

const h2 = (n: number) => n.toString(16).padStart(2, '0');

/** "00:01.0", with "SSSS:" for segments other than 0. */
export function devidName(segment: number, devid: number): string {
  const seg = segment ? `${segment.toString(16).padStart(4, '0')}:` : '';
  return `${seg}${h2(devid >> 8)}:${h2((devid >> 3) & 0x1f)}.${devid & 7}`;
}

const PAGE_MASK = 0xfffn;
const U64 = (1n << 64n) - 1n;
const PAGE_ALIGN = (x: bigint) => (x + PAGE_MASK) & ~PAGE_MASK & U64;

/** Per segment, device ID -> unit index (rlookup_table), -1 for none. */
function rangesOf(table: Int32Array, unit: number): [number, number][] {
  const out: [number, number][] = [];
  for (let d = 0; d < table.length; d++) {
    if (table[d] !== unit) continue;
    const last = out[out.length - 1];
    if (last && last[1] === d - 1) last[1] = d;
    else out.push([d, d]);
  }
  return out;
}

/**
 * The driver's IvrsTable for a parsed IVRS, with the kernel's rules (see the
 * file header). A table the kernel fails on gives no units and `initError`.
 */
export function ivrsToDriverTable(ivrs: ParsedIvrs, opts: IvrsDriverOptions = {}): AmdIvrsTable {
  const notes: string[] = [];
  const hypervisor = opts.hypervisor ?? false;
  const failed = (initError: string, targetIvhdType: number | null): AmdIvrsTable => ({
    ivhds: [],
    hypervisor,
    targetIvhdType,
    lastBdf: [],
    aliases: [],
    specialDevices: [],
    acpiHidDevices: [],
    unityMaps: [],
    initError,
    notes,
  });

  const target = getHighestSupportedIvhdType(ivrs);
  if (target === null) return failed('the IVRS has no IVHD', null);
  if (!(IVHD_TYPES as readonly number[]).includes(target))
    return failed(
      `get_highest_supported_ivhd_type() picks type ${hex(target)}, which is not an IVHD type: init_iommu_one() fails`,
      target,
    );
  const used = ivrs.blocks.filter((b): b is Ivhd => b.kind === 'ivhd' && b.type === target);
  for (const b of ivrs.blocks)
    if (b.kind === 'ivhd' && b.type !== target)
      notes.push(
        `offset ${hex(b.offset)}: IVHD type ${hex(b.type)} is not used (the kernel uses type ${hex(target)})`,
      );

  // find_last_devid_acpi(), per segment.
  const lastBdf = new Map<number, number>();
  /** last_bdf of a segment, or the IVHD that names no device ID. */
  const lastBdfOf = (segment: number): number | Ivhd => {
    let v = lastBdf.get(segment);
    if (v !== undefined) return v;
    v = 0;
    for (const h of used) {
      if (h.segment !== segment) continue;
      const l = findLastDevidFromIvhd(h);
      if (l < 0) return h;
      if (l > v) v = l;
    }
    lastBdf.set(segment, v);
    return v;
  };

  // Per segment: rlookup_table (device ID -> unit index, -1 none), alias_table (-1: the device itself).
  const rlookup = new Map<number, Int32Array>();
  const aliasTable = new Map<number, Int32Array>();
  const specialDevices: IvrsSpecialDevice[] = [];
  const acpiHidDevices: IvrsAcpiHidDevice[] = [];
  const unitAliases: [number, number][][] = [];
  const labels: string[] = [];

  for (const [index, h] of used.entries()) {
    const seg = h.segment;
    const label = `IVHD ${devidName(seg, h.deviceId)}`;
    labels.push(label);
    const mine: [number, number][] = [];
    unitAliases.push(mine);
    const last = lastBdfOf(seg);
    if (typeof last !== 'number')
      return failed(
        `offset ${hex(last.offset)}: the IVHD names no device ID (find_last_devid_from_ivhd() returns -EINVAL, so segment ${seg} cannot be set up): AMD-Vi initialisation fails`,
        target,
      );
    let rl = rlookup.get(seg);
    if (!rl) rlookup.set(seg, (rl = new Int32Array(0x10000).fill(-1)));
    let at = aliasTable.get(seg);
    if (!at) aliasTable.set(seg, (at = new Int32Array(0x10000).fill(-1)));
    const set = (devid: number) => (rl[devid & 0xffff] = index);
    const setAlias = (devid: number, alias: number) => {
      at[devid] = alias;
      mine.push([devid, alias]);
    };
    let devidStart = 0;
    let devidTo = 0;
    let alias = false;
    for (const e of h.entries) {
      switch (e.type) {
        case IVHD_DEV_ALL:
          for (let d = 0; d <= last; d++) set(d);
          break;
        case IVHD_DEV_SELECT:
        case IVHD_DEV_EXT_SELECT:
          set(e.deviceId);
          break;
        case IVHD_DEV_SELECT_RANGE_START:
        case IVHD_DEV_EXT_SELECT_RANGE:
          devidStart = e.deviceId;
          alias = false;
          break;
        case IVHD_DEV_ALIAS:
          if (e.kind !== 'aliasSelect') break;
          set(e.deviceId);
          set(e.aliasId);
          setAlias(e.deviceId, e.aliasId);
          break;
        case IVHD_DEV_ALIAS_RANGE:
          if (e.kind !== 'aliasRangeStart') break;
          devidStart = e.deviceId;
          devidTo = e.aliasId;
          alias = true;
          break;
        case IVHD_DEV_RANGE_END:
          if (devidStart > e.deviceId)
            notes.push(
              `offset ${hex(e.offset)}: range end ${hex(e.deviceId)} is below its start ${hex(devidStart)}: the range is empty`,
            );
          for (let d = devidStart; d <= e.deviceId; d++) {
            if (alias) {
              setAlias(d, devidTo);
              set(devidTo);
            }
            set(d);
          }
          break;
        case IVHD_DEV_SPECIAL: {
          if (e.kind !== 'special') break;
          if (typeof e.variety === 'number')
            return failed(
              `offset ${hex(e.offset)}: special device variety ${e.variety} (add_special_device() returns -EINVAL): AMD-Vi initialisation fails`,
              target,
            );
          specialDevices.push({
            variety: e.variety,
            id: e.handle,
            segment: seg,
            devid: e.usedId,
            unit: label,
          });
          set(e.usedId);
          break;
        }
        case IVHD_DEV_ACPI_HID: {
          if (e.kind !== 'acpiHid' || h.type !== 0x40 || !e.hid) break;
          acpiHidDevices.push({ hid: e.hid, uid: e.kernelUid, segment: seg, devid: e.deviceId, unit: label });
          set(e.deviceId);
          break;
        }
      }
    }
  }
  // init_iommu_one_late(): the IOMMU does not translate itself.
  for (const h of used) rlookup.get(h.segment)![h.deviceId] = -1;

  const ivhds: AmdIvhdUnit[] = used.map((h, index) => {
    return {
      segment: h.segment,
      label: labels[index],
      ranges: rangesOf(rlookup.get(h.segment)!, index),
      ivhdType: h.type,
      offset: h.offset,
      iommuDevid: h.deviceId,
      baseAddress: h.baseAddress,
      capabilityOffset: h.capabilityOffset,
      flags: h.flags,
      efr: h.efr ?? null,
      aliases: unitAliases[index],
    };
  });

  const aliases: { segment: number; devid: number; alias: number }[] = [];
  for (const [segment, at] of [...aliasTable].sort((a, b) => a[0] - b[0]))
    at.forEach((alias, devid) => {
      if (alias >= 0 && alias !== devid) aliases.push({ segment, devid, alias });
    });

  // init_memory_definitions()
  const unityMaps: IvrsUnityMap[] = [];
  for (const b of ivrs.blocks) {
    if (b.kind !== 'ivmd' || !(b.unity || b.exclusion)) continue;
    const last = lastBdfOf(b.segment);
    if (typeof last !== 'number') {
      notes.push(
        `offset ${hex(b.offset)}: IVMD for segment ${b.segment}: the segment cannot be set up, dropped`,
      );
      continue;
    }
    const [devidStart, devidEnd] =
      b.type === IVMD_TYPE_SELECT
        ? [b.deviceId, b.deviceId]
        : b.type === IVMD_TYPE_ALL
          ? [0, last]
          : b.type === IVMD_TYPE_RANGE
            ? [b.deviceId, b.auxData]
            : [0, -1];
    const addressStart = PAGE_ALIGN(b.startAddress);
    unityMaps.push({
      offset: b.offset,
      segment: b.segment,
      devidStart,
      devidEnd,
      addressStart,
      addressEnd: (addressStart + PAGE_ALIGN(b.memoryLength)) & U64,
      prot: b.exclusion ? 3 : b.flags >> 1,
      exclusion: b.exclusion,
    });
  }

  return {
    ivhds,
    hypervisor,
    targetIvhdType: target,
    lastBdf: [...lastBdf].sort((a, b) => a[0] - b[0]).map(([segment, lastBdf]) => ({ segment, lastBdf })),
    aliases,
    specialDevices,
    acpiHidDevices,
    unityMaps,
    initError: null,
    notes,
  };
}
