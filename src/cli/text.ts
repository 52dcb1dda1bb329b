// SPDX-License-Identifier: GPL-2.0-only
/**
 * Plain-text rendering of results for the terminal. Firmware-derived strings
 * are printed with control characters escaped, so a hostile node name cannot
 * move the cursor or change the terminal's state.
 */
import type { BootResult } from '../api.js';
import type { ScenarioResult } from '../scenario/run.js';
import type { Snapshot } from '../report/snapshot.js';
import type { DiffEntry } from '../report/diff.js';
import type { MachineAgreement } from '../snapshot/machine.js';
import type { Leak } from '../checker/teardown.js';
import { knownBugs } from '../checker/known-bugs.js';

/** C0 and C1 control characters (ESC, BEL, …), built from code points so no raw control sits in the source. */
const CONTROL = new RegExp(
  `[${String.fromCharCode(0)}-${String.fromCharCode(0x1f)}${String.fromCharCode(0x7f)}-${String.fromCharCode(0x9f)}]`,
  'g',
);

/** Escape control characters as \xNN. */
export function safe(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function snapshotLines(s: Snapshot, verbose: boolean): string[] {
  const out: string[] = [];
  out.push(
    `IOMMU instances: ${s.iommus.length ? s.iommus.map((i) => `${safe(i.name)} (${i.driver}${i.fwnode ? `, fwnode ${safe(i.fwnode)}` : ', no fwnode'})`).join(', ') : 'none'}`,
  );
  out.push('');
  for (const g of s.groups) {
    out.push(
      `group ${g.id}${g.name ? ` "${safe(g.name)}"` : ''}  type=${g.type}${g.domain ? `  attached: ${g.domain}` : ''}${g.owner.claimed ? '  owned (DMA claimed)' : ''}`,
    );
    for (const d of g.devices) out.push(`  dev  ${safe(d)}`);
    for (const r of g.reservedRegions) out.push(`  resv ${r.start} ${r.end} ${r.type}`);
    if (verbose) {
      for (const w of g.why) out.push(`  why  ${safe(w)}`);
      for (const w of g.typeWhy) out.push(`  type ${safe(w)}`);
    }
  }
  if (s.groups.length === 0) {
    // Say why when the answer is in the inputs: no devices at all (firmware tables without a PCI
    // dump), or no instance (the log says what stopped the drivers).
    const why =
      s.devices.length === 0
        ? ': there are no devices (firmware tables alone describe none: give a PCI dump too)'
        : s.iommus.length === 0
          ? ': no IOMMU instance was registered (`explain DEVICE` says why)'
          : '';
    out.push(`no IOMMU groups${why}`);
  }
  out.push('');
  out.push('devices:');
  const width = Math.max(0, ...s.devices.map((d) => d.name.length));
  for (const d of s.devices) {
    const fw = d.fwspec
      ? `fwspec ${safe(d.fwspec.fwnode ?? '(null)')} ids [${d.fwspec.ids.map((i) => '0x' + i.toString(16)).join(' ')}]`
      : 'no fwspec';
    out.push(
      `  ${safe(d.name).padEnd(width)}  ${(d.bus ?? '-').padEnd(8)} driver=${d.driver ?? '-'}  iommu=${d.iommu ?? '-'}  group=${d.group ?? '-'}  ${fw}${d.probedAt ? `  (probed at ${d.probedAt})` : ''}`,
    );
    if (verbose) {
      for (const h of d.history) out.push(`      ${safe(h)}`);
      for (const o of d.objects)
        out.push(
          `      ${o.type}: allocated by ${o.allocatedBy}, ${o.freedBy ? `freed by ${o.freedBy}` : 'live'}${o.times > 1 ? ` (×${o.times})` : ''}`,
        );
    }
  }
  return out;
}

function leakLines(leaks: readonly Leak[]): string[] {
  if (leaks.length === 0) return ['leaks: none'];
  return [
    `leaks: ${leaks.length}`,
    ...leaks.map(
      (l) =>
        `  ${l.type} of ${safe(l.owner)}, allocated by ${l.origin}${l.knownBug ? `  [known kernel bug: ${knownBugs[l.knownBug].title}]` : ''}`,
    ),
  ];
}

/** DMA in the run: invalidation counts per instance, faults with the driver's lines, stale IOTLB uses, DMA-API debug. */
function dmaLines(
  r: Snapshot & { readonly dmaDebug: readonly { device: string; message: string }[] },
): string[] {
  const out: string[] = [];
  for (const i of r.iommus)
    if (i.iotlb)
      out.push(
        `IOTLB ${safe(i.name)}: ${i.iotlb.commands} invalidation commands (${i.iotlb.pages} pages), ${i.iotlb.syncs} syncs; ${i.iotlb.hits} hits, ${i.iotlb.misses} misses`,
      );
  for (const f of r.dma.faults) {
    out.push(
      `DMA fault: ${safe(f.device)} ${f.access} at ${f.iova}: ${f.reason} (${f.domainType} domain ${safe(f.domain)})`,
    );
    for (const l of f.log) out.push(`  ${safe(l.replace(/\t/g, '    '))}`);
  }
  for (const u of r.dma.staleIotlbUses)
    out.push(
      `stale IOTLB use: ${safe(u.device)} at ${u.iova} went to ${u.cachedPhys}; the table says ${u.tablePhys ?? 'unmapped'}${u.lazyWindow ? ' (the DMA-FQ window, by design)' : ' (a missing invalidation)'}`,
    );
  for (const e of r.dmaDebug) out.push(`DMA-API debug: ${safe(e.device)}: ${safe(e.message)}`);
  return out.length ? [...out, ''] : [];
}

function warningLines(ws: Snapshot['warnings']): string[] {
  if (ws.length === 0) return ['WARNs: none'];
  return [
    `WARNs: ${ws.length}`,
    ...ws.map((w) => `  ${w.site}: ${safe(w.message)}${w.device ? ` (${safe(w.device)})` : ''}`),
  ];
}

export function formatBoot(r: BootResult, verbose: boolean): string {
  const out = [
    `${safe(r.platform)} under ${r.profile}${r.cmdline ? `, cmdline "${safe(r.cmdline)}"` : ''}`,
    '',
  ];
  out.push(
    ...snapshotLines(r, verbose),
    '',
    ...dmaLines(r),
    ...warningLines(r.warnings),
    ...leakLines(r.leaks),
  );
  if (r.invariantViolations.length)
    out.push(
      `invariant violations: ${r.invariantViolations.length}`,
      ...r.invariantViolations.map(
        (v) =>
          `  ${v.invariant}: ${safe(v.message)}${v.knownBug ? `  [known kernel bug: ${knownBugs[v.knownBug].title}]` : ''}`,
      ),
    );
  if (r.failNth)
    out.push(
      `fail-nth ${r.failNth.nth}: ${r.failNth.injected ? `failed ${r.failNth.injected.type} in ${r.failNth.injected.site} (${safe(r.failNth.injected.owner)})` : `not reached (the run made ${r.allocations} allocations)`}`,
    );
  return out.join('\n');
}

/** A snapshot's boot: the notes on how it was modelled, then where the model and the machine agree. */
export function formatAgreement(notes: readonly string[], a: MachineAgreement): string {
  const out = [
    '',
    `compared with the machine's live /sys/kernel/iommu_groups: ${a.agrees ? 'the model agrees' : 'the model differs'}`,
  ];
  for (const n of notes) out.push(`  note: ${safe(n)}`);
  for (const line of a.summary) out.push(`  ${line}`);
  for (const g of a.groups) {
    if (!g.differences.length) continue;
    const which = g.live ? `machine group ${g.live.id}` : `model group ${g.model!.id}`;
    for (const d of g.differences) out.push(`  ${which}: ${safe(d)}`);
  }
  for (const l of a.iommuLinks)
    out.push(
      `  ${safe(l.device)}: iommu link ${safe(l.live ?? '(none)')} on the machine, ${safe(l.model ?? '(none)')} in the model`,
    );
  for (const d of a.drivers)
    out.push(
      `  ${safe(d.device)}: driver ${safe(d.live ?? '(none)')} on the machine, ${safe(d.model ?? '(none)')} in the model`,
    );
  return out.join('\n');
}

export function formatScenario(r: ScenarioResult, verbose: boolean): string {
  const out = [`scenario ${safe(r.scenario)} under ${r.profile}`, ''];
  r.steps.forEach((s, i) =>
    out.push(`  step ${i}: ${s.op.padEnd(22)} ${safe(s.target).padEnd(28)} -> ${s.result}`),
  );
  if (r.steps.length === 0) out.push('  (no steps: the boot is the scenario)');
  out.push(
    '',
    ...snapshotLines(r, verbose),
    '',
    ...dmaLines(r),
    ...warningLines(r.warnings),
    ...leakLines(r.leaks),
  );
  if (r.invariantViolations.length) {
    out.push(
      `invariant violations: ${r.invariantViolations.length}`,
      ...r.invariantViolations.map(
        (v) =>
          `  after step ${v.afterStep}: ${v.invariant}: ${safe(v.message)}${v.knownBug ? `  [known kernel bug: ${knownBugs[v.knownBug].title}]` : ''}`,
      ),
    );
  }
  if (r.failNth)
    out.push(
      `fail-nth ${r.failNth.nth}: ${r.failNth.injected ? `failed ${r.failNth.injected.type} in ${r.failNth.injected.site} (${safe(r.failNth.injected.owner)})` : `not reached (the run made ${r.allocations} allocations)`}`,
    );
  if (r.expectation) {
    out.push(
      r.expectation.ok ? 'expectation: as the scenario expects for this kernel' : 'expectation: MISMATCH',
      ...r.expectation.mismatches.map((m) => `  ${safe(m)}`),
    );
  }
  return out.join('\n');
}

export function formatDiff(a: string, b: string, entries: readonly DiffEntry[]): string {
  if (entries.length === 0) return `no differences between ${a} and ${b}`;
  const out = [`differences between ${a} (-) and ${b} (+):`];
  for (const e of entries) {
    out.push(`  ${e.kind} ${safe(e.subject)}`, `    - ${safe(e.a)}`, `    + ${safe(e.b)}`);
  }
  return out.join('\n');
}
