// SPDX-License-Identifier: GPL-2.0-only
/** `iommu-lab sweep`'s summary: a line per job, its findings, the totals. */
import type { JobResult, SweepFinding } from '../checker/sweep.js';

export interface SweepSummary {
  readonly jobs: number;
  readonly runs: number;
  readonly failPoints: number;
  readonly findings: number;
  /** Findings by kind. */
  readonly byKind: Readonly<Record<SweepFinding['kind'], number>>;
  readonly seconds: number;
  readonly workers: number;
}

export function summarize(results: readonly JobResult[], seconds: number, workers: number): SweepSummary {
  const byKind = { leak: 0, invariant: 0, exception: 0, errno: 0 };
  for (const r of results) for (const f of r.findings) byKind[f.kind]++;
  return {
    jobs: results.length,
    runs: results.reduce((a, r) => a + r.runs, 0),
    failPoints: results.reduce((a, r) => a + r.failPoints, 0),
    findings: results.reduce((a, r) => a + r.findings.length, 0),
    byKind,
    seconds,
    workers,
  };
}

/** The first line of an exception's stack, or the message: the summary stays readable. */
const firstLine = (s: string) => s.split('\n')[0];

export function formatSweep(results: readonly JobResult[], s: SweepSummary): string {
  const label = (r: JobResult) => `${r.job.kind} ${r.job.name}`;
  const width = Math.max(...results.map((r) => label(r).length), 10);
  const lines = results.flatMap((r) => [
    `  ${label(r).padEnd(width)}  ${r.job.profile.padEnd(6)} ${String(r.failPoints).padStart(5)} fail points ${String(r.runs).padStart(6)} runs  ${r.findings.length === 0 ? 'ok' : `${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}`}`,
    ...r.findings.map((f) => `    #${f.nth} ${f.kind} (failed: ${f.at}): ${firstLine(f.message)}`),
  ]);
  const kinds = Object.entries(s.byKind)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return [
    ...lines,
    `${s.jobs} job${s.jobs === 1 ? '' : 's'}, ${s.failPoints} fail points, ${s.runs} runs on ${s.workers} worker${s.workers === 1 ? '' : 's'} in ${s.seconds.toFixed(1)} s: ${s.findings === 0 ? 'no findings' : `${s.findings} finding${s.findings === 1 ? '' : 's'} (${kinds})`}`,
  ].join('\n');
}
