// SPDX-License-Identifier: GPL-2.0-only
/**
 * Checking a PCI topology description against what a kernel would actually
 * enumerate, before anything is built, and turning it into a plan: which
 * functions sit on which bus, in scan order.
 *
 * The rules are the hierarchy's (drivers/pci/probe.c): a bridge's secondary
 * bus is above its own bus number and belongs to it alone, and its
 * [secondary, subordinate] range holds only buses below it; a function sits
 * on the root bus or on some bridge's secondary bus; a slot is scanned from
 * function 0 and only further if function 0 is multifunction
 * (pci_scan_slot()); below a PCIe downstream port only device 0 is scanned
 * (only_one_child()), after set_pcie_port_type()'s direction fix; a VF sits
 * on its PF's bus or on a virtual bus above it that no bridge leads to.
 */
import type { PciFunctionDesc, PciFunctionKind } from './topology-schema.js';
import { BDF_RE, DEVFN_RE, PciTopologySchema, pciFunctionKinds } from './topology-schema.js';
import { PciTopologyError, type PciTopologyIssue } from './topology-error.js';
import { formatPath } from '../input/input-error.js';

export interface PlannedFunction {
  /** Index in the JSON functions array. */
  readonly index: number;
  readonly desc: PciFunctionDesc;
  readonly bus: number;
  readonly devfn: number;
  /** "SSSS:BB:DD.F" */
  readonly name: string;
  readonly kind: PciFunctionKind;
  /** The PCIe port type after set_pcie_port_type()'s correction (null: conventional PCI). */
  pcieType: number | null;
  /** The header's multifunction bit as the kernel ends up with it. */
  multifunction: boolean;
  /** dma_alias_mask devfns from the description. */
  readonly aliases: number[];
  /** The PF of a VF. */
  physfn: PlannedFunction | null;
  /** Bridges: the last bus number behind them. */
  subordinate: number | null;
}

export interface PciTopologyPlan {
  readonly segment: number;
  readonly root: number;
  readonly rootSubordinate: number;
  /** Functions by JSON index. */
  readonly functions: readonly PlannedFunction[];
  /** The non-VF functions of each bus, by devfn (the scan order of a bus). */
  readonly busFunctions: ReadonlyMap<number, readonly PlannedFunction[]>;
  /** VFs, in the order their PFs are scanned. */
  readonly vfs: readonly PlannedFunction[];
}

const hex2 = (v: number) => `0x${v.toString(16).padStart(2, '0')}`;
const hex4 = (v: number) => v.toString(16).padStart(4, '0');
const at = (i: number, field: string) => `functions[${i}].${field}`;
/** "a root-port", "an endpoint" */
const a = (type: string) => `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;

/** pcie_downstream_port() on a planned type. */
const isDownstreamPort = (t: number | null) => t === 0x4 || t === 0x6 || t === 0x8;

/** Validates the description and returns the plan, or throws PciTopologyError listing every problem. */
export function planPciTopology(input: unknown): PciTopologyPlan {
  const parsed = PciTopologySchema.safeParse(input);
  if (!parsed.success)
    throw new PciTopologyError(
      parsed.error.issues.map((i) => ({
        path: formatPath(i.path),
        message:
          i.code === 'unrecognized_keys'
            ? `unknown field ${i.keys.map((k) => `"${k}"`).join(', ')}`
            : i.message,
      })),
    );
  const d = parsed.data;
  const issues: PciTopologyIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  const segment = d.segment ?? 0;
  const root = d.root;
  const rootSubordinate = d.rootSubordinate ?? 0xff;
  if (rootSubordinate < root)
    add('rootSubordinate', `${hex2(rootSubordinate)} is below the root bus ${hex2(root)}`);

  // Each function on its own: address, kind, fields that only some kinds have.
  const byRid = new Map<number, PlannedFunction>();
  const functions = d.functions.map((desc, i) => {
    const m = BDF_RE.exec(desc.bdf)!;
    const seg = m[1] ? parseInt(m[1], 16) : segment;
    const bus = parseInt(m[2], 16);
    const devfn = (parseInt(m[3], 16) << 3) | parseInt(m[4], 10);
    const name = `${hex4(segment)}:${m[2].toLowerCase()}:${m[3].toLowerCase()}.${m[4]}`;
    if (seg !== segment)
      add(at(i, 'bdf'), `segment ${hex4(seg)} is not the topology's segment ${hex4(segment)}`);
    const kind = pciFunctionKinds[desc.type];
    const f: PlannedFunction = {
      index: i,
      desc,
      bus,
      devfn,
      name,
      kind,
      pcieType: kind.pcieType,
      multifunction: false,
      aliases: [],
      physfn: null,
      subordinate: null,
    };
    const other = byRid.get((bus << 8) | devfn);
    if (other) add(at(i, 'bdf'), `${name} is already functions[${other.index}]`);
    else byRid.set((bus << 8) | devfn, f);
    if (bus > rootSubordinate || bus < root)
      add(
        at(i, 'bdf'),
        `bus ${hex2(bus)} is outside the host bridge's range ${hex2(root)}-${hex2(rootSubordinate)}`,
      );

    if (!kind.bridge && desc.secondary !== undefined)
      add(at(i, 'secondary'), `${a(desc.type)} is not a bridge and has no secondary bus`);
    if (!kind.bridge && desc.subordinate !== undefined)
      add(at(i, 'subordinate'), `${a(desc.type)} is not a bridge and has no subordinate bus`);
    if (kind.bridge && desc.secondary === undefined)
      add(at(i, 'secondary'), `${a(desc.type)} needs the number of the bus behind it`);
    if (kind.pcieType === null && desc.acs)
      add(at(i, 'acs'), 'ACS is a PCI Express extended capability; a conventional PCI function has none');
    if (kind.pcieType === null && desc.pasidWidth !== undefined)
      add(
        at(i, 'pasidWidth'),
        'PASID is a PCI Express extended capability; a conventional PCI function has none',
      );
    desc.aliases?.forEach((text, j) => {
      const am = DEVFN_RE.exec(text)!;
      if (am[1] !== undefined && parseInt(am[1], 16) !== bus)
        add(
          at(i, `aliases[${j}]`),
          `DMA aliases are devfns on the function's own bus ${hex2(bus)}, not on bus ${hex2(parseInt(am[1], 16))}`,
        );
      else f.aliases.push((parseInt(am[2], 16) << 3) | parseInt(am[3], 10));
    });
    return f;
  });

  // The bus tree: which bridge leads to which bus.
  const busBridge = new Map<number, PlannedFunction>();
  for (const f of functions) {
    const s = f.desc.secondary;
    if (!f.kind.bridge || s === undefined) continue;
    const owner = busBridge.get(s);
    if (s === root) add(at(f.index, 'secondary'), `bus ${hex2(s)} is the root bus`);
    else if (s <= f.bus)
      add(
        at(f.index, 'secondary'),
        `bus ${hex2(s)} must be greater than the bridge's own bus ${hex2(f.bus)}`,
      );
    else if (owner)
      add(at(f.index, 'secondary'), `bus ${hex2(s)} is already the secondary bus of ${owner.name}`);
    else busBridge.set(s, f);
  }

  // SR-IOV: VFs hang off their PF, possibly on a virtual bus.
  const virtualBuses = new Map<number, number>();
  for (const f of functions) {
    if (f.desc.physfn === undefined) continue;
    const m = BDF_RE.exec(f.desc.physfn)!;
    const pf = byRid.get((parseInt(m[2], 16) << 8) | (parseInt(m[3], 16) << 3) | parseInt(m[4], 10));
    if (!pf || (m[1] && parseInt(m[1], 16) !== segment)) {
      add(at(f.index, 'physfn'), `no function ${f.desc.physfn} in this topology`);
      continue;
    }
    if (pf.desc.physfn !== undefined) add(at(f.index, 'physfn'), `${pf.name} is itself a VF`);
    if (f.kind.bridge || f.kind.pcieType === null)
      add(at(f.index, 'type'), `a VF is a PCI Express function that is not a bridge, not ${a(f.desc.type)}`);
    if (f.desc.multifunction) add(at(f.index, 'multifunction'), 'a VF is never multifunction');
    f.physfn = pf;
    if (f.bus === pf.bus) continue;
    const parent = virtualBuses.get(f.bus);
    if (f.bus < pf.bus) add(at(f.index, 'bdf'), `a VF's bus cannot be below its PF's bus ${hex2(pf.bus)}`);
    else if (f.bus === root || busBridge.has(f.bus))
      add(
        at(f.index, 'bdf'),
        `bus ${hex2(f.bus)} is a real bus; a VF off its PF's bus needs a bus no bridge leads to`,
      );
    else if (parent !== undefined && parent !== pf.bus)
      add(at(f.index, 'bdf'), `virtual bus ${hex2(f.bus)} already hangs off bus ${hex2(parent)}`);
    else virtualBuses.set(f.bus, pf.bus);
  }

  // Every other function must sit on a bus the scan reaches.
  for (const f of functions)
    if (!f.physfn && f.bus !== root && !busBridge.has(f.bus))
      add(
        at(f.index, 'bdf'),
        `bus ${hex2(f.bus)} is neither the root bus ${hex2(root)} nor the secondary bus of any bridge`,
      );

  // set_pcie_port_type(): parents sit on lower buses, so an ascending pass sees them first.
  for (const f of [...functions].sort((a, b) => a.bus - b.bus)) {
    const up = busBridge.get((f.physfn ?? f).bus);
    if (!up || f.pcieType === null) continue;
    if (f.pcieType === 0x6 && isDownstreamPort(up.pcieType)) f.pcieType = 0x5;
    else if (f.pcieType === 0x5 && up.pcieType === 0x5) f.pcieType = 0x6;
  }

  checkSlots(functions, busBridge, add);
  computeSubordinates(functions, busBridge, virtualBuses, rootSubordinate, add);
  if (issues.length) throw new PciTopologyError(issues);

  const busFunctions = new Map<number, PlannedFunction[]>();
  for (const f of functions) {
    if (f.physfn) continue;
    const list = busFunctions.get(f.bus) ?? [];
    list.push(f);
    busFunctions.set(f.bus, list);
  }
  for (const list of busFunctions.values()) list.sort((a, b) => a.devfn - b.devfn);
  const order = scanOrder(root, busFunctions);
  const vfs = functions
    .filter((f) => f.physfn)
    .sort((a, b) => order.get(a.physfn!)! - order.get(b.physfn!)! || a.bus - b.bus || a.devfn - b.devfn);
  return { segment, root, rootSubordinate, functions, busFunctions, vfs };
}

/** pci_scan_slot() and only_one_child(): what the scan would miss. Also fixes the multifunction bits. */
function checkSlots(
  functions: readonly PlannedFunction[],
  busBridge: ReadonlyMap<number, PlannedFunction>,
  add: (path: string, message: string) => void,
): void {
  const slots = new Map<number, PlannedFunction[]>();
  for (const f of functions) {
    if (f.physfn) continue;
    const key = (f.bus << 8) | (f.devfn & ~7);
    slots.set(key, [...(slots.get(key) ?? []), f]);
  }
  for (const list of slots.values()) {
    const fn0 = list.find((f) => (f.devfn & 7) === 0);
    const others = list.filter((f) => f !== fn0);
    for (const f of others) {
      if (!fn0)
        add(
          at(f.index, 'bdf'),
          `${f.name} has no function 0 in its slot; the kernel scans a slot from function 0`,
        );
      if (f.desc.multifunction === false)
        add(
          at(f.index, 'multifunction'),
          'functions other than 0 are always multifunction (pci_scan_slot())',
        );
      f.multifunction = true;
    }
    if (fn0) {
      if (fn0.desc.multifunction === false && others.length)
        add(
          at(fn0.index, 'multifunction'),
          `function 0 is single-function, so ${others.map((f) => f.name).join(', ')} would never be scanned`,
        );
      fn0.multifunction = fn0.desc.multifunction ?? others.length > 0;
    }
    const up = busBridge.get(list[0].bus);
    if (up && up.pcieType !== null && isDownstreamPort(up.pcieType))
      for (const f of list)
        if (f.devfn >> 3 !== 0)
          add(at(f.index, 'bdf'), `below ${up.name} (a PCIe downstream port) only device 00 is scanned`);
  }
}

/** Fills in each bridge's subordinate bus and checks that bus ranges nest. */
function computeSubordinates(
  functions: readonly PlannedFunction[],
  busBridge: ReadonlyMap<number, PlannedFunction>,
  virtualBuses: ReadonlyMap<number, number>,
  rootSubordinate: number,
  add: (path: string, message: string) => void,
): void {
  // The parent of each known non-root bus.
  const parentOf = new Map<number, number>(virtualBuses);
  for (const [bus, bridge] of busBridge) parentOf.set(bus, bridge.bus);
  const highestBelow = (bus: number): number => {
    let max = bus;
    for (const [child, parent] of parentOf) if (parent === bus) max = Math.max(max, highestBelow(child));
    const bridge = busBridge.get(bus);
    if (bridge?.desc.subordinate !== undefined) max = Math.max(max, bridge.desc.subordinate);
    return max;
  };
  const isBelow = (bus: number, top: number): boolean => {
    for (let b: number | undefined = bus; b !== undefined; b = parentOf.get(b)) if (b === top) return true;
    return false;
  };
  for (const [secondary, bridge] of busBridge) {
    const below = highestBelow(secondary);
    const explicit = bridge.desc.subordinate;
    if (explicit !== undefined && explicit < below)
      add(
        at(bridge.index, 'subordinate'),
        `${hex2(explicit)} is below bus ${hex2(below)}, which is behind this bridge`,
      );
    const sub = Math.max(below, explicit ?? 0);
    bridge.subordinate = sub;
    if (sub > rootSubordinate)
      add(
        at(bridge.index, 'subordinate'),
        `bus ${hex2(sub)} is beyond the host bridge's last bus ${hex2(rootSubordinate)}`,
      );
    for (const bus of parentOf.keys())
      if (bus >= secondary && bus <= sub && !isBelow(bus, secondary)) {
        const owner = busBridge.get(bus)?.name ?? 'a VF';
        const field = explicit !== undefined ? 'subordinate' : 'secondary';
        add(
          at(bridge.index, field),
          `bus ${hex2(bus)} (behind ${owner}) falls in this bridge's range ${hex2(secondary)}-${hex2(sub)} but is not below it`,
        );
      }
  }
  for (const f of functions)
    if (f.kind.bridge && f.subordinate === null) f.subordinate = f.desc.secondary ?? null;
}

/** The pci_scan_child_bus() order: a bus's functions, then each bridge's bus in turn. */
function scanOrder(
  root: number,
  busFunctions: ReadonlyMap<number, readonly PlannedFunction[]>,
): Map<PlannedFunction, number> {
  const order = new Map<PlannedFunction, number>();
  const scan = (bus: number) => {
    const list = busFunctions.get(bus) ?? [];
    for (const f of list) order.set(f, order.size);
    for (const f of list) if (f.kind.bridge && f.desc.secondary !== undefined) scan(f.desc.secondary);
  };
  scan(root);
  return order;
}
