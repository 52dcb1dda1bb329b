// SPDX-License-Identifier: GPL-2.0-only
/**
 * `iommu-lab report`: one self-contained HTML page of a boot. The topology
 * graph (report/graph.ts) inline as SVG, each device clickable for its
 * explanation (report/explain.ts), the groups as a table, the differences
 * of a what-if or another kernel (report/diff.ts), a snapshot's agreement
 * with its machine, and the WARNs and leaks.
 *
 * Nothing is fetched when the page is viewed: styles and the small script
 * are inline and a Content-Security-Policy forbids every other source.
 * Every string that reaches the page (device names and labels can come from
 * a firmware blob someone else made) is HTML-escaped in the markup, set with
 * textContent by the script, and kept out of the embedded JSON's closing tag.
 */
import type { BootResult } from '../api.js';
import type { DiffEntry } from './diff.js';
import type { MachineAgreement } from '../snapshot/machine.js';

export interface ReportInput {
  readonly result: BootResult;
  /** The graph as SVG, and each device's node id in it. */
  readonly svg: string;
  readonly deviceIds: ReadonlyMap<string, string>;
  /** The explanation of each device, by name (lines, as `iommu-lab explain` prints them). */
  readonly stories: ReadonlyMap<string, readonly string[]>;
  /** A second run and what differs from this one. */
  readonly diff?: { readonly a: string; readonly b: string; readonly entries: readonly DiffEntry[] };
  /** A snapshot's comparison with its machine. */
  readonly agreement?: { readonly notes: readonly string[]; readonly agreement: MachineAgreement };
  /** The iommu-lab version, for the footer. */
  readonly version: string;
}

const ESC: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text for HTML markup and attributes: markup characters escaped, control characters (a terminal's escapes) dropped. */
export function escapeHtml(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]/gu, ' ').replace(/[&<>"']/g, (c) => ESC[c]);
}

/** JSON for a <script type="application/json"> element: no "</script>" or "<!--" can end or open anything. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const STYLE = `
:root { font-family: system-ui, sans-serif; color: #1d2430; background: #fafbfc; }
body { margin: 0; }
header { padding: 12px 20px; background: #24313f; color: #fff; }
header h1 { margin: 0; font-size: 18px; }
header p { margin: 4px 0 0; font-size: 13px; color: #cfd8e3; }
main { display: flex; gap: 16px; padding: 16px 20px; align-items: flex-start; }
#graph { flex: 1 1 auto; overflow: auto; background: #fff; border: 1px solid #d9dee5; border-radius: 6px; max-height: 80vh; }
#graph svg { display: block; }
#graph g.node.device { cursor: pointer; }
#graph g.node.selected polygon, #graph g.node.selected path { stroke: #d9480f; stroke-width: 2.5; }
#details { flex: 0 0 380px; background: #fff; border: 1px solid #d9dee5; border-radius: 6px; padding: 12px; font-size: 13px; }
#details h2 { font-size: 15px; margin: 0 0 8px; word-break: break-all; }
#details ul { padding-left: 16px; margin: 6px 0; }
#details li { margin: 2px 0; white-space: pre-wrap; }
section { padding: 0 20px 16px; }
section h2 { font-size: 16px; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
th, td { border: 1px solid #d9dee5; padding: 4px 8px; text-align: left; vertical-align: top; }
button.dev { border: none; background: none; color: #0b5cad; cursor: pointer; padding: 0; font: inherit; text-decoration: underline; }
.ok { color: #1c7c3a; } .bad { color: #b42318; } .muted { color: #6b7280; }
footer { padding: 8px 20px 20px; font-size: 12px; color: #6b7280; }
`;

/** The page's own script: clicking a device (in the graph or a table) shows its story. */
const SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var panel = document.getElementById('details');
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  function show(id) {
    var d = data.devices[id];
    if (!d) return;
    panel.replaceChildren();
    panel.appendChild(el('h2', d.name));
    var facts = el('ul');
    [['bus', d.bus], ['driver', d.driver], ['IOMMU', d.iommu], ['group', d.group === null ? null : String(d.group)], ['probed at', d.probedAt]]
      .forEach(function (f) { facts.appendChild(el('li', f[0] + ': ' + (f[1] === null || f[1] === undefined ? '-' : f[1]))); });
    panel.appendChild(facts);
    var story = el('ul');
    story.id = 'story';
    d.story.forEach(function (line) { story.appendChild(el('li', line)); });
    panel.appendChild(story);
    document.querySelectorAll('#graph g.node.selected').forEach(function (g) { g.classList.remove('selected'); });
    var node = document.getElementById(id);
    if (node) node.classList.add('selected');
    panel.dataset.device = d.name;
  }
  Object.keys(data.devices).forEach(function (id) {
    var g = document.getElementById(id);
    if (!g) return;
    g.classList.add('device');
    g.addEventListener('click', function () { show(id); });
  });
  document.querySelectorAll('button.dev').forEach(function (b) { b.addEventListener('click', function () { show(b.dataset.dev); }); });
})();
`;

/** The whole page. */
export function reportHtml(input: ReportInput): string {
  const r = input.result;
  const e = escapeHtml;
  const devButton = (name: string) => {
    const id = input.deviceIds.get(name);
    return id ? `<button class="dev" data-dev="${e(id)}">${e(name)}</button>` : e(name);
  };
  const data = {
    devices: Object.fromEntries(
      r.devices.map((d) => [
        input.deviceIds.get(d.name)!,
        {
          name: d.name,
          bus: d.bus,
          driver: d.driver,
          iommu: d.iommu,
          group: d.group,
          probedAt: d.probedAt,
          story: input.stories.get(d.name) ?? [],
        },
      ]),
    ),
  };
  const groupRows = r.groups
    .map(
      (g) =>
        `<tr data-group="${g.id}"><td>${g.id}</td><td>${e(g.type)}</td><td>${g.devices.map(devButton).join('<br>')}</td><td>${g.reservedRegions.map((x) => e(`${x.start}-${x.end} ${x.type}`)).join('<br>')}</td></tr>`,
    )
    .join('\n');
  const list = (items: string[], none: string) =>
    items.length ? `<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>` : `<p class="ok">${e(none)}</p>`;
  const diff = input.diff
    ? `<section id="diff"><h2>What changes: ${e(input.diff.a)} → ${e(input.diff.b)}</h2>${
        input.diff.entries.length
          ? `<table><tr><th>what</th><th>subject</th><th>${e(input.diff.a)}</th><th>${e(input.diff.b)}</th></tr>${input.diff.entries
              .map(
                (d) =>
                  `<tr><td>${e(d.kind)}</td><td>${e(d.subject)}</td><td>${e(d.a)}</td><td>${e(d.b)}</td></tr>`,
              )
              .join('')}</table>`
          : '<p class="ok">no differences</p>'
      }</section>`
    : '';
  const ag = input.agreement;
  const agreement = ag
    ? `<section id="agreement"><h2>Compared with the machine's live groups: <span class="${ag.agreement.agrees ? 'ok' : 'bad'}">${ag.agreement.agrees ? 'the model agrees' : 'the model differs'}</span></h2>${list(
        [
          ...ag.notes.map((n) => `note: ${e(n)}`),
          ...ag.agreement.summary.map(e),
          ...ag.agreement.groups.flatMap((g) => g.differences.map((d) => e(d))),
          ...ag.agreement.iommuLinks.map((l) =>
            e(
              `${l.device}: iommu link ${l.live ?? '(none)'} on the machine, ${l.model ?? '(none)'} in the model`,
            ),
          ),
        ],
        'nothing to report',
      )}</section>`
    : '';
  const warnings = list(
    r.warnings.map((w) => e(`${w.site}: ${w.message}${w.device ? ` (${w.device})` : ''}`)),
    'none',
  );
  const leaks = list(
    r.leaks.map((l) =>
      e(
        `${l.type} of ${l.owner}, allocated in ${l.origin}${l.knownBug ? ` [known kernel bug: ${l.knownBug}]` : ''}`,
      ),
    ),
    'none',
  );
  const title = `${r.platform} under ${r.profile}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>iommu-lab: ${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>iommu-lab: ${e(title)}</h1>
<p>${r.cmdline ? `command line "${e(r.cmdline)}" · ` : ''}${r.iommus.length} IOMMU instance${r.iommus.length === 1 ? '' : 's'} · ${r.groups.length} group${r.groups.length === 1 ? '' : 's'} · ${r.devices.length} devices · ${r.warnings.length} WARN${r.warnings.length === 1 ? '' : 's'} · ${r.leaks.length} leak${r.leaks.length === 1 ? '' : 's'}</p>
</header>
<main>
<div id="graph">${input.svg.replace(/^<\?xml[^>]*>\s*/, '').replace(/<!DOCTYPE[^>]*>\s*/, '')}</div>
<aside id="details"><p class="muted">Click a device, in the graph or in the table below, to see why it is where it is.</p></aside>
</main>
<section id="groups"><h2>IOMMU groups</h2>${r.groups.length ? `<table><tr><th>group</th><th>type</th><th>devices</th><th>reserved regions</th></tr>\n${groupRows}</table>` : '<p class="muted">no groups</p>'}</section>
${diff}
${agreement}
<section id="warnings"><h2>WARNs</h2>${warnings}</section>
<section id="leaks"><h2>Leaks</h2>${leaks}</section>
<footer>iommu-lab ${e(input.version)}: the Linux kernel's IOMMU subsystem as an executable model. This page needs no network.</footer>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
