// SPDX-License-Identifier: GPL-2.0-only
/**
 * Topology what-ifs on any platform before it boots (`--acs`, `--remove`,
 * `--add`): the questions a VFIO user asks of a machine.
 *  - ACS on a port: the function's ACS capability (made if it has none)
 *    gains Source Validation, Request and Completion Redirect and Upstream
 *    Forwarding (the controls pci_device_group() asks of a path), all enabled,
 *    as firmware that enables ACS leaves them; explain's "what would split
 *    it" asks the same question.
 *  - A function removed: it and, for a bridge, everything behind it.
 *  - A function added: an endpoint (PCIe, legacy, root-complex integrated,
 *    or conventional PCI) at a free address on a bus that exists.
 * The edits apply to the platform's PCI topology description (built-in,
 * JSON, imported from lspci or sysfs, or a snapshot's); names are PCI
 * addresses ("0000:01:00.0" or "01:00.0"), and one that names no function
 * is an input error.
 */
import { InputError } from '../input/input-error.js';
import type { PlatformDesc } from './schema.js';
import type { PciFunctionJson, PciTopologyJson } from '../pci/topology-schema.js';
import type { PciFunctionKind, PciFunctionType } from '../pci/topology-schema.js';
import { pciFunctionKinds } from '../pci/topology-schema.js';
import {
  PCI_ACS_CR,
  PCI_ACS_RR,
  PCI_ACS_SV,
  PCI_ACS_UF,
  acsFlagBits,
  type AcsFlagName,
} from '../pci/acs-regs.js';

/** The function types --add makes: the ones with no bus behind them. */
const ADDABLE: readonly PciFunctionType[] = ['endpoint', 'legacy-endpoint', 'rc-endpoint', 'conventional'];

export interface TopologyEdits {
  /** Functions that get an enabled ACS capability. */
  readonly acs?: readonly string[];
  /** Functions removed (with everything behind a bridge). */
  readonly remove?: readonly string[];
  /** Functions added: "BDF=VVVV:DDDD" (an endpoint) or "BDF=TYPE:VVVV:DDDD". */
  readonly add?: readonly string[];
}

/** The controls pci_device_group() asks of a path (REQ_ACS_FLAGS): what --acs gives and enables. */
const REQ_ACS = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;

/** An `acs` field's value in any of the forms the schema takes (a number, hex text, flag names). */
function acsValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseInt(v, 16) || 0;
  if (Array.isArray(v)) return v.reduce((m: number, n) => m | (acsFlagBits[n as AcsFlagName] ?? 0), 0);
  return 0;
}

const full = (segment: number, bdf: string) => {
  const b = bdf.toLowerCase();
  return /^[0-9a-f]{4}:/.test(b) ? b : `${segment.toString(16).padStart(4, '0')}:${b}`;
};

const busOf = (bdf: string) => parseInt(bdf.split(':').at(-2)!, 16);

/** Whether any edit is asked for. */
export function hasTopologyEdits(e: TopologyEdits): boolean {
  return !!(e.acs?.length || e.remove?.length || e.add?.length);
}

/** The platform with the edits applied (a new description; the input is not changed). */
export function applyTopologyEdits(desc: PlatformDesc, edits: TopologyEdits, file: string): PlatformDesc {
  if (!hasTopologyEdits(edits)) return desc;
  if (desc.pci === undefined)
    throw new InputError(
      file,
      'pci',
      'the platform has no PCI topology for --acs, --remove or --add to edit',
    );
  const segments = (
    Array.isArray(desc.pci) ? structuredClone(desc.pci) : [structuredClone(desc.pci)]
  ) as PciTopologyJson[];
  // The description is checked against its schema only at boot: edit nothing that is not a topology.
  for (const t of segments)
    if (
      !t ||
      typeof t !== 'object' ||
      !Array.isArray(t.functions) ||
      !t.functions.every((f) => f && typeof f === 'object' && typeof f.bdf === 'string')
    )
      throw new InputError(
        file,
        'pci',
        'not a PCI topology (boot without what-ifs names the field at fault)',
      );
  const segOf = (t: PciTopologyJson) => t.segment ?? 0;
  const find = (name: string, option: string) => {
    const want = full(0, name);
    for (const t of segments) {
      const i = t.functions.findIndex((f) => full(segOf(t), f.bdf) === want);
      if (i >= 0) return { t, i, f: t.functions[i] };
    }
    throw new InputError(file, option, `no PCI function ${name} on this platform`);
  };

  for (const name of edits.acs ?? []) {
    const { f } = find(name, '--acs');
    const kind = pciFunctionKinds[f.type as PciFunctionType] as PciFunctionKind | undefined;
    if (kind && kind.pcieType === null)
      throw new InputError(
        file,
        '--acs',
        `${name} is a conventional PCI function (${f.type}): ACS is a PCI Express extended capability it cannot have`,
      );
    // The capability gains the four controls, all enabled; what a running machine showed no longer applies.
    f.acs = { ...(f.acs ?? {}), cap: acsValue(f.acs?.cap) | REQ_ACS, ctrl: REQ_ACS, observedCtrl: undefined };
  }

  const removed = new Set<string>();
  for (const name of edits.remove ?? []) {
    const { t } = find(name, '--remove');
    // The function, and for a bridge every bus below it (bridges behind bridges too).
    const seg = segOf(t);
    const gone = new Set([full(seg, name)]);
    const buses = new Set<number>();
    for (let grew = true; grew;) {
      grew = false;
      for (const f of t.functions) {
        const b = full(seg, f.bdf);
        if (!gone.has(b) && buses.has(busOf(b))) {
          gone.add(b);
          grew = true;
        }
        if (gone.has(b) && f.secondary !== undefined) {
          if (!buses.has(f.secondary)) {
            buses.add(f.secondary);
            grew = true;
          }
        }
      }
    }
    t.functions = t.functions.filter((f) => !gone.has(full(seg, f.bdf)));
    for (const g of gone) removed.add(g);
  }

  for (const spec of edits.add ?? []) {
    const m = /^([0-9a-fA-F:.]+)=(?:([a-z-]+):)?([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$/.exec(spec);
    if (!m)
      throw new InputError(
        file,
        '--add',
        `"${spec}" is not BDF=VVVV:DDDD or BDF=TYPE:VVVV:DDDD (0000:03:00.1=10de:10f0)`,
      );
    const [, bdf, type = 'endpoint', vendor, device] = m;
    if (!(ADDABLE as readonly string[]).includes(type))
      throw new InputError(
        file,
        '--add',
        `"${type}" is not a function type --add makes (${ADDABLE.join(', ')}; bridges need a bus behind them: edit a platform file)`,
      );
    if (!/^(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[01][0-9a-fA-F]\.[0-7]$/.test(bdf))
      throw new InputError(file, '--add', `"${bdf}" is not a PCI address (0000:03:00.1)`);
    const want = full(0, bdf);
    const t = segments.find((s) => want.startsWith(full(segOf(s), '00:00.0').slice(0, 5)));
    if (!t) throw new InputError(file, '--add', `no PCI segment ${want.slice(0, 4)} for ${bdf}`);
    const seg = segOf(t);
    if (t.functions.some((f) => full(seg, f.bdf) === want))
      throw new InputError(file, '--add', `${bdf} is already a function on this platform`);
    const bus = busOf(want);
    const busExists = bus === t.root || t.functions.some((f) => f.secondary === bus);
    if (!busExists)
      throw new InputError(
        file,
        '--add',
        `no bus ${bus.toString(16).padStart(2, '0')} for ${bdf}: the root bus or a bridge's secondary`,
      );
    const f: PciFunctionJson = {
      bdf: want.slice(5),
      type: type as PciFunctionJson['type'],
      vendor,
      device,
      label: 'added by --add',
    };
    t.functions.push(f);
  }

  const bind = Array.isArray(desc.bind) ? desc.bind.filter((n) => !removed.has(full(0, n))) : desc.bind;
  return { ...desc, pci: Array.isArray(desc.pci) ? segments : segments[0], bind } as PlatformDesc;
}
