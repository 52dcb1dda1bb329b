// SPDX-License-Identifier: GPL-2.0-only
/**
 * The topology of a boot as a Graphviz graph: host bridges, bridges and
 * devices in their driver-core tree (a PCI function under its bridge), the
 * IOMMU instances, and each IOMMU group drawn as a cluster around its
 * devices with an edge from the instance that translates it. Laid out and
 * drawn by Graphviz (the @viz-js/viz WebAssembly build, so no program needs
 * to be installed and nothing goes over the network).
 *
 * Node and cluster ids are made here ("d3", "group-2", "iommu-0"), never from
 * names; every name or driver string (which may come from a firmware blob)
 * is quoted for DOT and bounded, and Graphviz escapes it for SVG.
 */
import type { BootResult } from '../api.js';

export interface TopologyGraph {
  /** The graph in DOT. */
  readonly dot: string;
  /** The node id ("d3") of each device, by name. */
  readonly deviceIds: ReadonlyMap<string, string>;
}

/** A DOT quoted string of arbitrary text: no control characters, bounded, quotes and backslashes escaped. */
export function dotString(text: string): string {
  const clean = text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ').slice(0, 120);
  return `"${clean.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Two lines of a node's label. */
const label = (a: string, b: string | null) =>
  b ? `${dotString(a).slice(0, -1)}\\n${dotString(b).slice(1)}` : dotString(a);

/** The colour of a group's cluster by its default domain type. */
const GROUP_FILL: Readonly<Record<string, string>> = {
  DMA: '#e3eefc',
  'DMA-FQ': '#e3f4e8',
  identity: '#fdf0d8',
  blocked: '#f6dede',
  unmanaged: '#ece3f8',
};

export function topologyGraph(r: BootResult): TopologyGraph {
  const deviceIds = new Map(r.devices.map((d, i) => [d.name, `d${i}`]));
  const lines: string[] = [
    'digraph topology {',
    '  graph [rankdir=LR, compound=true, fontname="Helvetica", fontsize=11, nodesep=0.2, ranksep=0.5];',
    '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
    '  edge [color="#8a94a6", arrowsize=0.6];',
  ];
  // Parents that are not devices on a bus: the PCI host bridges (pci0000:00) and the like.
  const hosts = [
    ...new Set(r.devices.map((d) => d.parent).filter((p): p is string => !!p && !deviceIds.has(p))),
  ];
  const hostIds = new Map(hosts.map((h, i) => [h, `h${i}`]));
  for (const [h, id] of hostIds)
    lines.push(
      `  ${id} [id=${dotString(`host-${id}`)}, label=${label(h, 'host bridge')}, shape=folder, fillcolor="#eef0f3"];`,
    );
  r.iommus.forEach((i, n) =>
    lines.push(
      `  i${n} [id="iommu-${n}", label=${label(i.name, i.driver)}, shape=hexagon, fillcolor="#fbe3c4"];`,
    ),
  );
  const byName = new Map(r.devices.map((d) => [d.name, d]));
  const node = (name: string) => {
    const d = byName.get(name)!;
    const id = deviceIds.get(name)!;
    const fill = d.iommu ? '#ffffff' : '#f1f1f1';
    return `${id} [id="${id}", label=${label(d.name, d.driver)}, fillcolor="${fill}"];`;
  };
  const grouped = new Set<string>();
  for (const g of r.groups) {
    lines.push(
      `  subgraph cluster_g${g.id} {`,
      `    id="group-${g.id}"; label=${dotString(`group ${g.id} · ${g.type}`)}; style="rounded,filled"; fillcolor="${GROUP_FILL[g.type] ?? '#f3f3f3'}"; color="#9aa7b8";`,
    );
    for (const m of g.devices) {
      if (!deviceIds.has(m)) continue;
      grouped.add(m);
      lines.push(`    ${node(m)}`);
    }
    lines.push('  }');
  }
  for (const d of r.devices) if (!grouped.has(d.name)) lines.push(`  ${node(d.name)}`);
  // The driver-core tree.
  for (const d of r.devices) {
    if (!d.parent) continue;
    const from = deviceIds.get(d.parent) ?? hostIds.get(d.parent)!;
    lines.push(`  ${from} -> ${deviceIds.get(d.name)!};`);
  }
  // Each group's IOMMU, to the group (the instance of its first member that has one).
  const iommuIndex = new Map(r.iommus.map((i, n) => [i.name, n]));
  for (const g of r.groups) {
    const member = g.devices.map((m) => byName.get(m)).find((d) => d?.iommu);
    const n = member ? (iommuIndex.get(member.iommu!) ?? -1) : -1;
    if (n < 0 || !deviceIds.has(member!.name)) continue;
    lines.push(
      `  i${n} -> ${deviceIds.get(member!.name)!} [lhead=cluster_g${g.id}, style=dashed, color="#d08a2b", constraint=false];`,
    );
  }
  lines.push('}');
  return { dot: lines.join('\n') + '\n', deviceIds };
}

/** The graph drawn as SVG by Graphviz. */
export async function topologySvg(dot: string): Promise<string> {
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  return viz.renderString(dot, { format: 'svg' });
}
