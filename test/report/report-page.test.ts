// SPDX-License-Identifier: GPL-2.0-only
// The report's graph and page without a browser: a cluster per group with
// its members, the driver-core tree, the IOMMU instances, each from a real
// boot of the built-in platforms; and names from untrusted firmware (quotes,
// backslashes, markup, control characters) that can break nothing: the DOT
// stays one statement per node, the SVG and the page hold no markup of
// theirs, the embedded JSON cannot close its script element.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bootByName, type BootResult } from '../../src/api.js';
import { dotString, topologyGraph, topologySvg } from '../../src/report/graph.js';
import { escapeHtml, reportHtml } from '../../src/report/html.js';

const EVIL = 'evil"\\</script><img src=x onerror=alert(1)>\u001b[31m\u2028';

/** A real boot with one device renamed as a hostile firmware blob could name it. */
function withEvilDevice(r: BootResult): BootResult {
  const old = r.devices[0].name;
  const rename = (n: string) => (n === old ? EVIL : n);
  return {
    ...r,
    devices: r.devices.map((d) => ({ ...d, name: rename(d.name), parent: d.parent && rename(d.parent) })),
    groups: r.groups.map((g) => ({ ...g, devices: g.devices.map(rename) })),
  };
}

describe('topology graph', () => {
  it('one cluster per group holding exactly its members, every device, the tree and the IOMMUs', () => {
    for (const name of ['x86-q35-vtd-switch', 'arm64-dt-smmuv3-mini', 'x86-dmar-and-ivrs']) {
      const r = bootByName(name, { profile: 'v6.12' });
      const { dot, deviceIds } = topologyGraph(r);
      for (const g of r.groups) {
        const body = new RegExp(`subgraph cluster_g${g.id} \\{\\n([^}]*)\\n  \\}`).exec(dot)?.[1] ?? '';
        const members = [...body.matchAll(/^ {4}(d\d+) \[/gm)].map((m) => m[1]).sort();
        expect(members, `${name} group ${g.id}`).toEqual(g.devices.map((d) => deviceIds.get(d)!).sort());
        expect(body).toContain(`id="group-${g.id}"; label="group ${g.id} · ${g.type}"`);
      }
      for (const d of r.devices)
        expect(dot).toContain(`${deviceIds.get(d.name)} [id="${deviceIds.get(d.name)}"`);
      r.iommus.forEach((i, n) =>
        expect(dot).toContain(`i${n} [id="iommu-${n}", label="${i.name}\\n${i.driver}"`),
      );
    }
    const r = bootByName('x86-q35-vtd-switch', { profile: 'v6.12' });
    const { dot, deviceIds } = topologyGraph(r);
    // 03:00.0 hangs off the downstream port 02:00.0, which hangs off the switch's upstream port.
    expect(dot).toContain(`  ${deviceIds.get('0000:02:00.0')} -> ${deviceIds.get('0000:03:00.0')};`);
    expect(dot).toContain(`  h0 [id="host-h0", label="pci0000:00\\nhost bridge"`);
  });

  it('quotes any name for DOT', () => {
    expect(dotString('a"b\\c\nd')).toBe('"a\\"b\\\\c d"');
    expect(dotString('x'.repeat(500)).length).toBe(122);
  });

  it('a hostile device name stays text: in the DOT, in the SVG, in the page and its JSON', async () => {
    const r = withEvilDevice(bootByName('x86-q35-vtd-switch', { profile: 'v6.12' }));
    const { dot, deviceIds } = topologyGraph(r);
    expect(dot.split('\n').filter((l) => l.includes('evil')).length).toBe(1);
    const svg = await topologySvg(dot);
    expect(svg).not.toMatch(/<img|<\/script/);
    expect(svg).toContain('evil&quot;\\&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
    const html = reportHtml({
      result: r,
      svg,
      deviceIds,
      stories: new Map([[EVIL, [`${EVIL} is translated`]]]),
      version: 'test',
    });
    expect(html).not.toContain('<img');
    expect(html.match(/<\/script>/g)!.length).toBe(2); // the JSON's and the script's own
    expect(html).not.toContain('\u001b');
    const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1];
    expect(JSON.parse(json).devices[deviceIds.get(EVIL)!].name).toBe(EVIL);
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('iommu-lab report formats', () => {
  const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

  it('html (the default) to standard output, the graph alone as DOT or as SVG', () => {
    const html = run('report', '--profile', 'v6.12');
    expect(html.status).toBe(0);
    expect(html.stdout.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html.stdout).toContain(
      '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';',
    );
    const dot = run('report', 'arm64-dt-smmuv3-mini', '--format', 'dot');
    expect(dot.stdout.startsWith('digraph topology {\n')).toBe(true);
    expect(dot.stdout).toContain('subgraph cluster_g0 {');
    const svg = run('report', '--format', 'svg');
    expect(svg.stdout.startsWith('<?xml version="1.0" encoding="UTF-8" standalone="no"?>')).toBe(true);
    expect(svg.stdout).toContain('<g id="group&#45;1" class="cluster">');
    const bad = run('report', '--format', 'png');
    expect(bad.status).toBe(2);
  });
});
