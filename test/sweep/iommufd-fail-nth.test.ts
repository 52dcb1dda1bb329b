// SPDX-License-Identifier: GPL-2.0-only
// iommufd's own fail-nth selftest (iommufd_fail_nth.c) as sweep jobs: every
// body passes without a fault and leaves nothing behind; each fail point of
// two bodies, run here one by one, unwinds without a leak, a broken
// invariant or a pinned page, and surfaces as an errno the kernel's fail
// points give; the sweep's checks catch what a broken unwind would show;
// fail-nth is armed where the C arms it (Allocator.armFailNth()).
import { describe, expect, it } from 'vitest';
import { startJob, type CallsRunLike, type JobLoaders } from '../../src/checker/sweep.js';
import {
  iommufdFailNthProfiles,
  iommufdFailNthTests,
  runIommufdFailNth,
} from '../../src/iommufd/fail-nth.js';
import { Allocator } from '../../src/kernel/alloc.js';
import { resolveBuiltinPlatform, loadScenario } from '../../src/scenario/load.js';
import { sweepJobs } from '../../src/sweep/jobs.js';

describe('iommufd fail-nth bodies', () => {
  it('are the seven of the C file, and each passes without a fault, leaving nothing', () => {
    expect(iommufdFailNthTests).toEqual([
      'basic',
      'map_domain',
      'map_two_domains',
      'access_rw',
      'access_pin',
      'access_pin_domain',
      'device',
    ]);
    for (const t of iommufdFailNthTests) {
      const r = runIommufdFailNth(t, { profile: 'v6.12' });
      expect([t, r.result, r.refsCheck, r.leaks, r.invariantViolations]).toEqual([t, 0, 0, [], []]);
      expect(r.calls.every((c) => c.errno === 0)).toBe(true);
      expect(r.allocations, t).toBeGreaterThan(0);
    }
  });

  it.each(['map_domain', 'access_pin'])(
    '%s: every fail point unwinds cleanly, with an errno a fail point gives',
    (t) => {
      const base = runIommufdFailNth(t, { profile: 'v6.12' });
      const errnos = new Set<number>();
      for (let n = 1; n <= base.allocations; n++) {
        const r = runIommufdFailNth(t, { profile: 'v6.12', nth: n });
        expect(r.failNth?.injected, `${t} #${n}`).not.toBeNull();
        expect([r.leaks, r.invariantViolations, r.refsCheck]).toEqual([[], [], 0]);
        const failed = r.calls.find((c) => c.errno !== 0);
        if (failed) {
          expect(failed.unwind, `${t} #${n}: ${failed.op} ${failed.errno}`).toContain(failed.errno);
          errnos.add(failed.errno);
          expect(r.result).toBe(-1);
        }
      }
      // Past the last allocation nothing fails any more: where the sweep stops.
      expect(
        runIommufdFailNth(t, { profile: 'v6.12', nth: base.allocations + 1 }).failNth?.injected,
      ).toBeNull();
      expect(errnos.has(-12)).toBe(true);
    },
  );

  it('the sweep flags a leak, pinned pages, an errno no fail point gives, and a body that fails unfaulted', () => {
    const ok: CallsRunLike = {
      result: 0,
      calls: [
        { op: 'IOMMU_IOAS_ALLOC', errno: 0, unwind: [-12] },
        { op: 'IOMMU_IOAS_MAP', errno: 0, unwind: [-12, -2] },
      ],
      refsCheck: 0,
      allocations: 6,
      failNth: null,
      leaks: [],
      invariantViolations: [],
    };
    const injected = { type: 'iopt_area', site: 'iopt_alloc_area', owner: 'ioas 1' };
    const run = (nth?: number): CallsRunLike => {
      if (nth === undefined) return ok;
      const base = { ...ok, failNth: { injected }, result: -1 };
      if (nth === 1) return { ...base, calls: [ok.calls[0], { ...ok.calls[1], errno: -12 }] };
      if (nth === 2)
        return { ...base, leaks: [{ type: 'iopt_area', owner: 'ioas 1', origin: 'iopt_alloc_area' }] };
      if (nth === 3) return { ...base, refsCheck: -22 };
      // -EINVAL: an errno of some fail point, but not of this call's.
      if (nth === 4) return { ...base, calls: [ok.calls[0], { ...ok.calls[1], errno: -22 }] };
      return { ...base, failNth: { injected: null } };
    };
    const loaders: JobLoaders = {
      loadScenario: () => loadScenario('probe-defer').scenario,
      resolvePlatform: resolveBuiltinPlatform,
      boot: () => {
        throw new Error('no boot here');
      },
      iommufd: (_t, _p, nth) => run(nth),
    };
    const j = startJob({ kind: 'iommufd', name: 'x', profile: 'v6.12' }, loaders);
    expect(j.allocations).toBe(6);
    expect(j.baselineFindings).toEqual([]);
    expect(j.point(1)).toEqual([]);
    expect(j.point(2)?.map((f) => [f.kind, f.message])).toEqual([
      ['leak', 'iopt_area of ioas 1 from iopt_alloc_area'],
    ]);
    expect(j.point(3)?.map((f) => f.kind)).toEqual(['leak']);
    expect(j.point(4)?.[0]).toMatchObject({
      kind: 'errno',
      message: 'call 1 IOMMU_IOAS_MAP returned -22 (without the fault: 0)',
      at: 'iopt_area in iopt_alloc_area (ioas 1)',
    });
    expect(j.point(5)).toBeNull();
    const stuck = startJob(
      { kind: 'iommufd', name: 'x', profile: 'v6.12' },
      {
        ...loaders,
        iommufd: () => ({
          ...ok,
          result: -1,
          calls: [{ op: 'IOMMU_GET_HW_INFO', errno: -25, unwind: [-12] }],
        }),
      },
    );
    expect(stuck.baselineFindings[0]).toMatchObject({
      kind: 'errno',
      message: 'without a fault the body stops at IOMMU_GET_HW_INFO (-25)',
    });
  });

  it('sweep names: iommufd:NAME, --only iommufd, and the profiles each body is meant for', () => {
    expect(sweepJobs(['iommufd:device'], 'v6.12')).toEqual([
      { kind: 'iommufd', name: 'device', profile: 'v6.12' },
    ]);
    expect(sweepJobs([], 'v6.12', 'iommufd').map((j) => j.name)).toEqual([...iommufdFailNthTests]);
    expect(sweepJobs(['iommufd:device'], 'all').map((j) => j.profile)).toEqual(
      iommufdFailNthProfiles('device'),
    );
    expect(iommufdFailNthProfiles('device')).not.toContain('v6.4');
    expect(iommufdFailNthProfiles('basic')).toContain('v6.4');
    // Without a kind, every built-in job: the iommufd bodies among them.
    expect(sweepJobs([], 'v6.12').filter((j) => j.kind === 'iommufd').length).toBe(7);
  });
});

describe('Allocator.armFailNth (writing /proc/self/task/TID/fail-nth)', () => {
  it('fails the Nth attempt from where it is armed; 0 disarms', () => {
    const a = new Allocator(undefined, () => {});
    for (let i = 0; i < 3; i++) expect(a.alloc('x', 'o', 's')).not.toBeNull();
    a.armFailNth(2);
    expect(a.alloc('x', 'o', 'first')).not.toBeNull();
    expect(a.alloc('y', 'o', 'second')).toBeNull();
    expect(a.injected).toEqual({ nth: 5, type: 'y', site: 'second', owner: 'o' });
    a.armFailNth(1);
    a.armFailNth(0);
    expect(a.alloc('x', 'o', 's')).not.toBeNull();
  });
});
