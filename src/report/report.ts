// SPDX-License-Identifier: GPL-2.0-only
/**
 * What `iommu-lab report` makes of its inputs: the boot (snapshot-aware),
 * every device's explanation, optionally a second run (another profile or
 * command line, or the what-ifs) and its differences, then the page
 * (html.ts) or the graph alone (graph.ts) as DOT or SVG.
 */
import { boot, bootAnyInputs } from '../api.js';
import type { InputsOptions } from '../platform/firmware.js';
import type { ProfileName } from '../profile/profile.js';
import { explainDevice } from './explain.js';
import { diffRuns } from './diff.js';
import { topologyGraph, topologySvg } from './graph.js';
import { reportHtml } from './html.js';

export interface ReportOptions {
  readonly profile?: ProfileName;
  readonly cmdline?: string;
  /** The machine as given (architecture, hypervisor). */
  readonly machine?: InputsOptions;
  /** The second run: another profile or command line, and what-ifs; null for none. */
  readonly versus?: {
    readonly profile?: ProfileName;
    readonly cmdline?: string;
    readonly whatIf?: InputsOptions;
    /** Its label ("v6.12 --acs 0000:00:03.0"). */
    readonly label: (profile: ProfileName, cmdline: string | undefined) => string;
  } | null;
  readonly format: 'html' | 'dot' | 'svg';
  readonly version: string;
  /** Called as each device's explanation is done (devices explained, of how many). */
  readonly onProgress?: (done: number, total: number, device: string) => void;
}

export async function renderReport(paths: readonly string[], o: ReportOptions): Promise<string> {
  const a = bootAnyInputs(paths, o.machine ?? {}, o.profile, o.cmdline);
  const graph = topologyGraph(a.result);
  if (o.format === 'dot') return graph.dot;
  const svg = await topologySvg(graph.dot);
  if (o.format === 'svg') return svg;
  const reboot = (d: typeof a.desc) =>
    boot(d, { profile: a.profile, cmdline: a.cmdline, file: a.file, firmware: a.firmware });
  const stories = new Map(
    a.result.devices.map((d, i) => {
      const story = explainDevice(a.result, a.desc, d.name, reboot).story;
      o.onProgress?.(i + 1, a.result.devices.length, d.name);
      return [d.name, story];
    }),
  );
  let diff;
  if (o.versus) {
    const v = o.versus;
    const b = bootAnyInputs(
      paths,
      { ...(o.machine ?? {}), ...(v.whatIf ?? {}) },
      v.profile ?? o.profile,
      v.cmdline ?? o.cmdline,
    );
    diff = {
      a: `${a.profile}${o.cmdline ? ` "${o.cmdline}"` : ''}`,
      b: v.label(b.profile, v.cmdline ?? o.cmdline),
      entries: diffRuns(a.result, b.result),
    };
  }
  return reportHtml({
    result: a.result,
    svg,
    deviceIds: graph.deviceIds,
    stories,
    ...(diff ? { diff } : {}),
    ...(a.snapshot
      ? { agreement: { notes: a.snapshot.machine.notes, agreement: a.snapshot.agreement } }
      : {}),
    version: o.version,
  });
}
