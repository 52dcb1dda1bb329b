// SPDX-License-Identifier: GPL-2.0-only
/**
 * Property test: on random topologies (root ports, switches, PCIe-to-PCI and
 * conventional bridges, multifunction slots, ACS capabilities with random
 * firmware settings, DMA aliases), probing every function in bus order
 * through pci_device_group() yields exactly the connected components of a
 * relation computed here from the description alone:
 *
 *  - a function is tied to every bridge that takes its DMA over (conventional
 *    and PCIe-to-PCI bridges above it);
 *  - from the topmost of those (or itself), to every bridge above whose ACS
 *    path to the root bus does not provide SV|RR|CR|UF, up to the first that does;
 *  - a function that stands for itself is tied to same-bus functions it
 *    DMA-aliases or that alias it, and to its non-isolated multifunction siblings.
 *
 * ACS isolation is recomputed here too: enabled controls are the firmware's,
 * plus SV|RR|CR|UF within the capability when ACS was requested before
 * enumeration. Vendor 1234 keeps every quirk out of the way.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { PciFunctionJson } from '../../src/pci/topology-schema.js';
import { pci_for_each_dma_alias } from '../../src/pci/search.js';
import { build, partition, probeGroups } from './helpers.js';

type Kind =
  | 'endpoint'
  | 'rc-endpoint'
  | 'conventional'
  | 'root-port'
  | 'upstream-port'
  | 'downstream-port'
  | 'pcie-pci-bridge'
  | 'pci-bridge';

interface Node {
  readonly name: string;
  readonly bus: number;
  readonly devfn: number;
  readonly kind: Kind;
  readonly mf: boolean;
  readonly cap: number;
  readonly ctrl: number;
  readonly aliases: number[];
  readonly parent: Node | null;
  secondary?: number;
}

const BRIDGES: readonly Kind[] = [
  'root-port',
  'upstream-port',
  'downstream-port',
  'pcie-pci-bridge',
  'pci-bridge',
];
const PCIE: readonly Kind[] = [
  'endpoint',
  'rc-endpoint',
  'root-port',
  'upstream-port',
  'downstream-port',
  'pcie-pci-bridge',
];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (v: number, n: number) => v.toString(16).padStart(n, '0');

/** A random, valid topology: its nodes (for the oracle) and its JSON (for the model). */
function generate(seed: number): { nodes: Node[]; functions: PciFunctionJson[] } {
  const r = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const distinct = (n: number, from: number, to: number) => {
    const s = new Set<number>();
    while (s.size < n) s.add(from + Math.floor(r() * (to - from + 1)));
    return [...s].sort((a, b) => a - b);
  };
  const nodes: Node[] = [];
  let nextBus = 1;

  const allowed = (ctx: Kind | 'root', depth: number): readonly Kind[] => {
    const b = depth < 3 && nextBus < 60;
    switch (ctx) {
      case 'root':
        return [
          'endpoint',
          'rc-endpoint',
          'conventional',
          ...(b ? (['root-port', 'root-port', 'pci-bridge', 'pcie-pci-bridge'] as const) : []),
        ];
      case 'root-port':
      case 'downstream-port':
        return ['endpoint', 'endpoint', ...(b ? (['upstream-port', 'pcie-pci-bridge'] as const) : [])];
      case 'upstream-port':
        return b ? ['downstream-port'] : [];
      default:
        return ['conventional', ...(b ? (['pci-bridge'] as const) : [])];
    }
  };

  const genBus = (bus: number, parent: Node | null, depth: number) => {
    const ctx = parent?.kind ?? 'root';
    const kinds = allowed(ctx, depth);
    if (!kinds.length) return;
    const oneSlot = ctx === 'root-port' || ctx === 'downstream-port';
    const slots = oneSlot ? [0] : distinct(1 + Math.floor(r() * (depth === 0 ? 5 : 3)), 0, 31);
    const onBus: Node[] = [];
    for (const slot of slots) {
      const fns = r() < 0.35 ? [0, ...distinct(1 + Math.floor(r() * 2), 1, 7)] : [0];
      for (const fn of fns) {
        const kind = pick(kinds);
        const pcie = PCIE.includes(kind);
        const mf = fns.length > 1 || r() < 0.05;
        const port = kind === 'root-port' || kind === 'downstream-port';
        const withAcs = pcie && kind !== 'pcie-pci-bridge' && r() < (port ? 0.75 : mf ? 0.4 : 0.1);
        const cap = withAcs ? pick([0x1d, 0x5f, 0x5f, 0x1f, 0x0c, 0x11, 0x5c]) : 0;
        const node: Node = {
          name: `0000:${hex(bus, 2)}:${hex(slot, 2)}.${fn}`,
          bus,
          devfn: (slot << 3) | fn,
          kind,
          mf,
          cap,
          ctrl: cap & pick([0, 0, 0x1d, 0x04, 0x7f]),
          aliases: [],
          parent,
        };
        onBus.push(node);
        nodes.push(node);
      }
    }
    for (const n of onBus)
      if (r() < 0.12) {
        const target = r() < 0.8 ? pick(onBus).devfn : Math.floor(r() * 256);
        if (target !== n.devfn) n.aliases.push(target);
      }
    for (const n of onBus)
      if (BRIDGES.includes(n.kind)) {
        n.secondary = nextBus++;
        genBus(n.secondary, n, depth + 1);
      }
  };
  genBus(0, null, 0);

  const functions = nodes.map((n): PciFunctionJson => {
    const f: PciFunctionJson = { bdf: n.name, type: n.kind, vendor: '1234', device: hex(n.devfn, 4) };
    if ((n.devfn & 7) === 0) f.multifunction = n.mf;
    if (n.secondary !== undefined) f.secondary = n.secondary;
    if (n.cap) f.acs = { cap: n.cap, ctrl: n.ctrl };
    if (n.aliases.length) f.aliases = n.aliases.map((d) => `${hex(d >> 3, 2)}.${d & 7}`);
    return f;
  });
  return { nodes, functions };
}

/** The relation's connected components, as sorted lists of short BDFs. */
function oracle(nodes: readonly Node[], acsRequested: boolean): string[][] {
  const REQ = 0x1d; // SV|RR|CR|UF
  const ctrl = (n: Node) => (acsRequested ? n.ctrl | (n.cap & REQ) : n.ctrl);
  const provides = (n: Node) => n.cap !== 0 && (REQ & n.cap & ~ctrl(n)) === 0;
  const isolated = (n: Node): boolean => {
    switch (n.kind) {
      case 'conventional':
      case 'pci-bridge':
      case 'pcie-pci-bridge':
        return false;
      case 'root-port':
      case 'downstream-port':
        return provides(n);
      default:
        return !n.mf || provides(n);
    }
  };
  const pathIsolated = (b: Node | null): boolean => b === null || (isolated(b) && pathIsolated(b.parent));

  const up = new Map<Node, Node>(nodes.map((n) => [n, n]));
  const find = (n: Node): Node => (up.get(n) === n ? n : find(up.get(n)!));
  const union = (a: Node, b: Node) => up.set(find(a), find(b));

  for (const d of nodes) {
    let last = d;
    for (let b = d.parent; b; b = b.parent)
      if (b.kind === 'pci-bridge' || b.kind === 'pcie-pci-bridge') {
        union(d, b);
        last = b;
      }
    let rep = last;
    for (let b = last.parent; b && !pathIsolated(b); b = b.parent) {
      union(d, b);
      rep = b;
    }
    if (rep !== d) continue;
    for (const x of nodes) {
      if (x === d || x.bus !== d.bus) continue;
      const alias = d.aliases.includes(x.devfn) || x.aliases.includes(d.devfn);
      const sibling = x.devfn >> 3 === d.devfn >> 3 && d.mf && !isolated(d) && !isolated(x);
      if (alias || sibling) union(d, x);
    }
  }
  const comps = new Map<Node, string[]>();
  for (const n of nodes) comps.set(find(n), [...(comps.get(find(n)) ?? []), n.name.slice(5)]);
  return [...comps.values()].map((c) => c.sort()).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

describe('pci_device_group on random topologies', () => {
  it('partitions functions into the components of the isolation relation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean(), (seed, acsRequested) => {
        const { nodes, functions } = generate(seed);
        const b = build({ root: 0, functions }, { acsRequested });
        const groups = probeGroups(b);
        expect(partition(groups)).toEqual(oracle(nodes, acsRequested));

        // One reason per member, and fresh ids 0..n-1 in probe order.
        const distinct = [...new Set(groups.values())];
        for (const g of distinct)
          expect(g.reasons).toHaveLength([...groups.values()].filter((x) => x === g).length);
        expect(distinct.map((g) => g.id)).toEqual(distinct.map((_, i) => i));
      }),
      { numRuns: 300 },
    );
  });

  it('walks DMA aliases as the oracle expects, and groups functions seen under one bridge ID together', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const { nodes, functions } = generate(seed);
        const b = build({ root: 0, functions });
        const groups = probeGroups(b);
        const byLastOwner = new Map<string, Set<number>>();
        for (const n of nodes) {
          const dev = b.topo.device(n.name);
          const seen: string[] = [];
          pci_for_each_dma_alias(dev.pci!, (pdev, alias) => {
            seen.push(`${pdev.name} ${hex(alias, 4)}`);
            return 0;
          });
          // Own ID, the mask in devfn order, then each bridge that takes the DMA over.
          const expected = [`${n.name} ${hex((n.bus << 8) | n.devfn, 4)}`];
          for (const devfn of [...n.aliases].sort((x, y) => x - y))
            expected.push(`${n.name} ${hex((n.bus << 8) | devfn, 4)}`);
          let last = n;
          for (let p = n.parent; p; p = p.parent) {
            if (p.kind === 'pci-bridge') expected.push(`${p.name} ${hex((p.bus << 8) | p.devfn, 4)}`);
            else if (p.kind === 'pcie-pci-bridge') expected.push(`${p.name} ${hex(p.secondary! << 8, 4)}`);
            else continue;
            last = p;
          }
          expect(seen).toEqual(expected);
          if (last !== n)
            byLastOwner.set(last.name, (byLastOwner.get(last.name) ?? new Set()).add(groups.get(dev)!.id));
        }
        for (const ids of byLastOwner.values()) expect(ids.size).toBe(1);
      }),
      { numRuns: 200 },
    );
  });
});

/** Every group of `finer` lies inside one group of `coarser`. */
function refines(finer: string[][], coarser: string[][]): boolean {
  const owner = new Map<string, number>();
  coarser.forEach((g, i) => g.forEach((d) => owner.set(d, i)));
  return finer.every((g) => new Set(g.map((d) => owner.get(d))).size === 1);
}

describe('grouping is monotone in isolation', () => {
  it('adding ACS never merges groups: requesting ACS, or giving one more function ACS, only splits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.nat(), (seed, pick) => {
        const { functions } = generate(seed);
        const before = partition(probeGroups(build({ root: 0, functions })));
        const requested = partition(probeGroups(build({ root: 0, functions }, { acsRequested: true })));
        expect(refines(requested, before)).toBe(true);

        const pcie = functions.filter((f) => PCIE.includes(f.type as Kind));
        if (pcie.length === 0) return;
        const target = pcie[pick % pcie.length];
        const more = functions.map((f) => (f === target ? { ...f, acs: { cap: 0x1f, ctrl: 0x1d } } : f));
        const after = partition(probeGroups(build({ root: 0, functions: more })));
        expect(refines(after, before)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('a function always shares its group with the same-bus functions it DMA-aliases', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const { nodes, functions } = generate(seed);
        const b = build({ root: 0, functions });
        const groups = probeGroups(b);
        for (const n of nodes) {
          for (const devfn of n.aliases) {
            const peer = nodes.find((x) => x.bus === n.bus && x.devfn === devfn);
            if (peer) expect(groups.get(b.topo.device(peer.name))).toBe(groups.get(b.topo.device(n.name)));
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
