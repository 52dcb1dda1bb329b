// SPDX-License-Identifier: GPL-2.0-only
// `iommu-lab sweep`: jobs from names, the fail-point runs split into tasks (in this thread, and on
// worker threads through the built CLI), findings carried back with their fail point, the summary.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BootLike, JobLoaders } from '../../src/checker/sweep.js';
import { startJob, sweepScenario } from '../../src/checker/sweep.js';
import { loadScenario, resolveBuiltinPlatform } from '../../src/scenario/load.js';
import { formatSweep, summarize } from '../../src/sweep/format.js';
import { sweepJobs } from '../../src/sweep/jobs.js';
import { runSweep } from '../../src/sweep/pool.js';
import { InputError } from '../../src/input/input-error.js';
import { scratchDir } from '../support/scratch.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('sweep jobs', () => {
  it('takes built-in scenarios and platforms by name, and every one of a kind with --only', () => {
    expect(sweepJobs(['probe-defer', 'x86-vtd-rmrr'], 'v6.12')).toEqual([
      { kind: 'scenario', name: 'probe-defer', profile: 'v6.12' },
      { kind: 'boot', name: 'x86-vtd-rmrr', profile: 'v6.12' },
    ]);
    const boots = sweepJobs([], 'v6.8', 'boots');
    expect(boots.length).toBeGreaterThanOrEqual(6);
    expect(boots.every((j) => j.kind === 'boot' && j.profile === 'v6.8')).toBe(true);
    // "all": a scenario's own profiles.
    const own = loadScenario('seed-mock-ops').scenario.profiles;
    expect(sweepJobs(['seed-mock-ops'], 'all').map((j) => j.profile)).toEqual(own ?? expect.any(Array));
  });

  it('refuses a name that is neither, before running anything', () => {
    expect(() => sweepJobs(['no-such-thing'], 'v6.12')).toThrow(InputError);
  });

  it('reads a scenario file by its steps, a platform file otherwise', () => {
    const dir = scratchDir('sweep-jobs');
    const sc = join(dir, 'sc.json');
    writeFileSync(sc, JSON.stringify(loadScenario('probe-defer').scenario));
    expect(sweepJobs([sc], 'v6.12')[0].kind).toBe('scenario');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"steps": [');
    expect(() => sweepJobs([bad], 'v6.12')).toThrow(/bad\.json/);
  });
});

describe('sweep runs', () => {
  it('in ranges, finds what the one-by-one sweep finds, run for run', async () => {
    const { scenario } = loadScenario('probe-defer');
    const one = sweepScenario(scenario, {
      profile: 'v6.12',
      resolvePlatform: resolveBuiltinPlatform,
      limit: 40,
    });
    const {
      results: [r],
    } = await runSweep([{ kind: 'scenario', name: 'probe-defer', profile: 'v6.12' }], {
      workers: 1,
      limit: 40,
    });
    expect(r.failPoints).toBe(one.failPoints);
    expect(r.runs).toBe(one.runs);
    expect(r.findings).toEqual(one.findings);
    expect(r.runs).toBe(41);
  });

  it("reports a boot's leak and broken invariant at the fail point that caused them, and an exception", () => {
    // A stand-in boot whose 3rd fail point leaks, 5th breaks an invariant, 7th throws: the plumbing.
    const boot = (_n: string, _p: string, nth?: number): BootLike => {
      if (nth === 7) throw new Error('model bug');
      return {
        allocations: 9,
        failNth: nth === undefined ? null : { injected: { type: 'kmalloc', site: 'probe', owner: 'dev' } },
        leaks: nth === 3 ? [{ type: 'iommu_group', owner: 'dev', origin: 'iommu_group_alloc' }] : [],
        invariantViolations: nth === 5 ? [{ invariant: 'group-members', message: 'dev in two groups' }] : [],
      };
    };
    const loaders: JobLoaders = {
      loadScenario: () => loadScenario('probe-defer').scenario,
      resolvePlatform: resolveBuiltinPlatform,
      boot,
      iommufd: () => {
        throw new Error('no iommufd job here');
      },
    };
    const j = startJob({ kind: 'boot', name: 'x', profile: 'v6.12' }, loaders);
    expect(j.allocations).toBe(9);
    expect(j.baselineFindings).toEqual([]);
    expect(j.point(3)).toEqual([
      {
        nth: 3,
        at: 'kmalloc in probe (dev)',
        kind: 'leak',
        message: 'iommu_group of dev from iommu_group_alloc',
      },
    ]);
    expect(j.point(5)?.[0]).toMatchObject({ kind: 'invariant', message: 'group-members: dev in two groups' });
    expect(j.point(7)?.[0]).toMatchObject({ nth: 7, kind: 'exception' });
    expect(j.point(4)).toEqual([]);
    const summary = summarize(
      [
        {
          job: { kind: 'boot', name: 'x', profile: 'v6.12' },
          failPoints: 9,
          runs: 10,
          findings: [...j.point(3)!, ...j.point(7)!],
        },
      ],
      1.5,
      2,
    );
    expect(summary.byKind).toEqual({ leak: 1, invariant: 0, exception: 1, errno: 0 });
    const text = formatSweep(
      [
        {
          job: { kind: 'boot', name: 'x', profile: 'v6.12' },
          failPoints: 9,
          runs: 10,
          findings: [...j.point(3)!],
        },
      ],
      summary,
    );
    expect(text).toContain(
      '#3 leak (failed: kmalloc in probe (dev)): iommu_group of dev from iommu_group_alloc',
    );
    expect(text).toMatch(/2 findings \(1 leak, 1 exception\)$/);
  });
});

describe('iommu-lab sweep', () => {
  it('splits the fail points over worker threads and finds the same as one thread', () => {
    const args = ['sweep', 'probe-defer', 'x86-two-drhd', '--limit', '70', '--json'];
    const a = run(...args, '-j', '2');
    const b = run(...args, '-j', '1');
    expect(a.status).toBe(0);
    expect(b.status).toBe(0);
    const pa = JSON.parse(a.stdout) as {
      jobs: unknown[];
      summary: { runs: number; workers: number; findings: number };
    };
    const pb = JSON.parse(b.stdout) as typeof pa;
    expect(pa.jobs).toEqual(pb.jobs);
    expect(pa.summary).toMatchObject({ runs: 142, findings: 0, workers: 2 });
    expect(pb.summary.workers).toBe(1);
  });

  it('prints a line per job and the totals', () => {
    const r = run('sweep', 'probe-defer', '--limit', '5', '-j', '1');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ {2}scenario probe-defer +v6\.\d+ +\d+ fail points +6 runs +ok$/m);
    expect(r.stdout).toMatch(/^1 job, \d+ fail points, 6 runs on 1 worker in [\d.]+ s: no findings$/m);
  });

  it('refuses bad names and counts with exit 2', () => {
    const r = run('sweep', 'no-such-scenario');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no-such-scenario');
    expect(run('sweep', '-j', '0').status).toBe(2);
    expect(run('sweep', '--limit', 'x').stderr).toContain('--limit takes a whole number from 1, not "x"');
  });
});
