// SPDX-License-Identifier: GPL-2.0-only
/**
 * From the configuration space of every function of a running machine to
 * the PCI topology JSON (topology-schema.ts), one description per PCI
 * segment, which buildPciTopology() enumerates as the kernel would.
 *
 * The tree comes from the bridges' secondary and subordinate bus numbers;
 * a segment's root bus is the lowest bus no bridge's range covers. Each
 * function's kind comes from its header type and PCI Express port type,
 * its ACS, PASID, ATS and PRI from the extended capabilities. SR-IOV VFs,
 * whose ID registers read all ones, are recognised from their PF's SR-IOV
 * capability (routing ID offset and stride) and get `physfn`.
 *
 * ACS control: a dump shows the control register after the kernel enabled
 * ACS itself (0x1d on QEMU's pcie-root-port under DMAR), but the model
 * decides the enabling, so by default the imported `ctrl` is 0 ("what
 * firmware left" is unknown) and the dumped value goes to `observedCtrl`.
 * `acsControl: 'observed'` keeps the dumped value as `ctrl`.
 *
 * Every description is checked with planPciTopology() before it is
 * returned; its complaints come back as InputErrors naming the function's
 * place in the dump, so what this returns builds.
 */
import { InputError } from '../../input/input-error.js';
import { planPciTopology } from '../topology-plan.js';
import { PciTopologyError } from '../topology-error.js';
import type { PciFunctionJson, PciTopologyJson } from '../topology-schema.js';
import { decodeConfig, type DecodedPciConfig } from '../config/decode.js';
import { bridgeHeader, commonHeader } from '../config/config-regs.js';

/** One function's dump, wherever it came from. */
export interface ConfigSource {
  /** "SSSS:BB:DD.F" or "BB:DD.F". */
  readonly bdf: string;
  readonly bytes: Uint8Array;
  /** The file errors name. */
  readonly file: string;
  /** Free text for the JSON `label` (lspci's device name). */
  readonly label?: string;
  /** How errors name a place: the function plus an offset, or the function itself (offset undefined). */
  readonly where?: (offset?: number) => string;
}

export interface PciImportOptions {
  /**
   * The ACS control register to import: 'zero' (default) as firmware is
   * assumed to leave it, the dumped value only in `acs.observedCtrl`;
   * 'observed' the dumped value.
   */
  readonly acsControl?: 'zero' | 'observed';
}

/** A PCI topology description as the importers return it: valid input for buildPciTopology(). */
export interface PciTopologyInput extends PciTopologyJson {
  segment: number;
  root: number;
  functions: PciFunctionJson[];
}

interface Imported {
  readonly src: ConfigSource;
  readonly cfg: DecodedPciConfig;
  /** How errors name a place in this function's dump. */
  readonly where: (offset?: number) => string;
  readonly rid: number;
  physfn: Imported | null;
}

const hex = (v: number, n: number) => v.toString(16).padStart(n, '0');
const shortBdf = (c: DecodedPciConfig) => c.bdf.slice(5);

/** Where a function's JSON fields sit in its config space, for naming planPciTopology()'s complaints. */
function fieldOffset(c: DecodedPciConfig, field: string): number | undefined {
  switch (field) {
    case 'secondary':
      return bridgeHeader.secondary.offset;
    case 'subordinate':
      return bridgeHeader.subordinate.offset;
    case 'multifunction':
      return commonHeader.headerType.offset;
    case 'type':
      return c.pcie?.offset ?? commonHeader.headerType.offset;
    case 'acs':
      return c.acs?.offset;
    case 'pasidWidth':
      return c.pasid?.offset;
    default:
      return undefined;
  }
}

/** Decodes every function and returns one topology description per segment, by segment. */
export function importPciConfigs(
  sources: readonly ConfigSource[],
  opts: PciImportOptions = {},
): PciTopologyInput[] {
  const fail = (f: Imported, off: number | undefined, problem: string): never => {
    throw new InputError(f.src.file, f.where(off), problem);
  };
  if (!sources.length) throw new InputError('<pci import>', '', 'no PCI functions to import');

  const all: Imported[] = [];
  const byAddr = new Map<string, Imported>();
  for (const src of sources) {
    const cfg = decodeConfig(src.bytes, src.bdf, src.file, src.where ? { where: src.where } : {});
    const where =
      src.where ?? ((off?: number) => (off === undefined ? cfg.bdf : `${cfg.bdf} offset 0x${hex(off, 2)}`));
    const f: Imported = { src, cfg, where, rid: (cfg.bus << 8) | cfg.devfn, physfn: null };
    const other = byAddr.get(cfg.bdf);
    if (other) fail(f, undefined, `${cfg.bdf} appears twice (also ${other.where()} of ${other.src.file})`);
    byAddr.set(cfg.bdf, f);
    all.push(f);
  }

  // SR-IOV: a VF's routing ID is its PF's plus First VF Offset plus a multiple of VF Stride.
  const pfs = all.filter((f) => f.cfg.sriov?.enabled && f.cfg.sriov.numVFs > 0);
  for (const f of all) {
    for (const pf of pfs) {
      const s = pf.cfg.sriov!;
      if (pf === f || pf.cfg.segment !== f.cfg.segment) continue;
      const delta = f.rid - pf.rid - s.vfOffset;
      const index = s.vfStride ? delta / s.vfStride : delta === 0 ? 0 : -1;
      if (Number.isInteger(index) && index >= 0 && index < s.numVFs) {
        f.physfn = pf;
        break;
      }
    }
    if (f.cfg.vendor === 0xffff && !f.physfn)
      fail(
        f,
        commonHeader.vendor.offset,
        'vendor ID 0xffff: the function reads as absent, and no PF with SR-IOV enabled has it as a VF',
      );
  }

  const segments = new Map<number, Imported[]>();
  for (const f of all) {
    const list = segments.get(f.cfg.segment) ?? [];
    list.push(f);
    segments.set(f.cfg.segment, list);
  }
  return [...segments.keys()]
    .sort((a, b) => a - b)
    .map((segment) => segmentTopology(segment, segments.get(segment)!, opts, fail));
}

function segmentTopology(
  segment: number,
  list: Imported[],
  opts: PciImportOptions,
  fail: (f: Imported, off: number | undefined, problem: string) => never,
): PciTopologyInput {
  list.sort((a, b) => a.rid - b.rid);
  const bridges = list.filter((f) => f.cfg.bridge);
  const behindBridge = (bus: number) =>
    bridges.some((b) => b.cfg.bridge!.secondary <= bus && bus <= b.cfg.bridge!.subordinate);

  // The root bus: the lowest bus of a function (not a VF) that no bridge's range covers.
  const tops = list.filter((f) => !f.physfn && !behindBridge(f.cfg.bus));
  if (!tops.length)
    fail(list[0], undefined, `every bus of segment ${hex(segment, 4)} is behind some bridge: no root bus`);
  const root = tops[0].cfg.bus;
  const stray = tops.find((f) => f.cfg.bus !== root);
  if (stray)
    fail(
      stray,
      undefined,
      `bus 0x${hex(stray.cfg.bus, 2)} is not behind any bridge and is not the root bus 0x${hex(root, 2)}: ` +
        'a segment with several host bridges (root buses) is not modelled',
    );

  // pci_scan_slot(): a single-function function 0 hides the rest of its slot.
  for (const f of list) {
    if (f.physfn || (f.cfg.devfn & 7) !== 0 || f.cfg.multifunction) continue;
    const sibling = list.find(
      (g) => g !== f && !g.physfn && g.cfg.bus === f.cfg.bus && g.cfg.devfn >> 3 === f.cfg.devfn >> 3,
    );
    if (sibling)
      fail(
        f,
        commonHeader.headerType.offset,
        `function 0 is not multifunction (header type bit 7 clear), so the kernel would not scan ${sibling.cfg.bdf}`,
      );
  }

  const functions = list.map((f) => functionJson(f, opts));
  const topo: PciTopologyInput = { segment, root, functions };
  try {
    planPciTopology(topo);
  } catch (e) {
    if (!(e instanceof PciTopologyError)) throw e;
    const first = e.issues[0];
    const m = /^functions\[(\d+)\](?:\.([A-Za-z]+))?/.exec(first?.path ?? '');
    const more = e.issues.length > 1 ? ` (and ${e.issues.length - 1} more)` : '';
    const f = m ? list[+m[1]] : list[0];
    const problem = `${first?.message ?? 'invalid topology'}${more}`;
    fail(f, m ? fieldOffset(f.cfg, m[2] ?? '') : undefined, m ? problem : `${first?.path}: ${problem}`);
  }
  return topo;
}

function functionJson(f: Imported, opts: PciImportOptions): PciFunctionJson {
  const c = f.cfg;
  const pf = f.physfn?.cfg;
  const vendor = c.vendor === 0xffff && pf ? pf.vendor : c.vendor;
  const device = c.device === 0xffff && pf ? pf.sriov!.vfDevice : c.device;
  const out: PciFunctionJson = {
    bdf: shortBdf(c),
    type: c.type,
    vendor: hex(vendor, 4),
    device: hex(device, 4),
  };
  if (c.subsystemVendor || c.subsystemDevice) {
    out.subsystemVendor = hex(c.subsystemVendor ?? 0, 4);
    out.subsystemDevice = hex(c.subsystemDevice ?? 0, 4);
  }
  out.class = hex(c.classCode, 6);
  if (!pf && (c.devfn & 7) === 0 && c.multifunction) out.multifunction = true;
  if (c.bridge) {
    out.secondary = c.bridge.secondary;
    out.subordinate = c.bridge.subordinate;
  }
  if (c.acs)
    out.acs = {
      cap: `0x${hex(c.acs.cap, 4)}`,
      ctrl: `0x${hex(opts.acsControl === 'observed' ? c.acs.ctrl : 0, 4)}`,
      offset: c.acs.offset,
      observedCtrl: `0x${hex(c.acs.ctrl, 4)}`,
    };
  if (c.pasid) out.pasidWidth = c.pasid.maxWidth;
  if (c.ats) out.ats = true;
  if (c.pri) out.pri = true;
  if (c.shpc) out.shpc = true;
  if (pf) out.physfn = shortBdf(pf);
  if (f.src.label) out.label = f.src.label;
  return out;
}
