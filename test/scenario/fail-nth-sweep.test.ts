// SPDX-License-Identifier: GPL-2.0-only
// The fail-nth sweep over every built-in scenario and profile: each run fails
// one more allocation until the scenario completes, and no run may leak
// (beyond known kernel bugs), break an invariant, throw, or return an errno
// the kernel's unwinding cannot produce there.
import { describe, expect, it } from 'vitest';
import { builtinScenarioNames, loadScenario, resolveBuiltinPlatform } from '../../src/scenario/load.js';
import { sweepScenario } from '../../src/checker/sweep.js';
import { profileNames } from '../../src/profile/profile.js';
import { runScenario } from '../../src/scenario/run.js';

describe('fail-nth sweep', () => {
  for (const name of builtinScenarioNames()) {
    const { scenario } = loadScenario(name);
    it.each(scenario.profiles ?? [...profileNames])(
      `${name} under %s unwinds cleanly at every fail point`,
      (profile) => {
        const r = sweepScenario(scenario, { profile, resolvePlatform: resolveBuiltinPlatform });
        expect(r.findings).toEqual([]);
        // Not vacuous: every allocation of the fault-free run was a fail point, each run reached it.
        expect(r.failPoints).toBeGreaterThan(5);
        expect(r.runs).toBe(r.failPoints + 1);
      },
    );
  }

  it('really injects: failing the mock device allocation makes mock-dev-create return -ENOMEM', () => {
    const { scenario } = loadScenario('seed-mock-ops');
    const base = runScenario(scenario, { profile: 'v6.18', resolvePlatform: resolveBuiltinPlatform });
    let found = false;
    for (let n = 1; n <= base.allocations && !found; n++) {
      const r = runScenario(scenario, {
        profile: 'v6.18',
        failNth: n,
        resolvePlatform: resolveBuiltinPlatform,
      });
      if (r.failNth?.injected?.type === 'mock_dev') {
        expect(r.steps[1]).toMatchObject({ op: 'mock-dev-create', result: '-ENOMEM' });
        found = true;
      }
    }
    expect(found).toBe(true);
  });

  it('reports the v6.18 iommu_mock_device_add() leak as a known kernel bug, not a model leak', () => {
    const { scenario } = loadScenario('seed-mock-ops');
    const base = runScenario(scenario, { profile: 'v6.18', resolvePlatform: resolveBuiltinPlatform });
    const leaks = [];
    for (let n = 1; n <= base.allocations; n++) {
      const r = runScenario(scenario, {
        profile: 'v6.18',
        failNth: n,
        resolvePlatform: resolveBuiltinPlatform,
      });
      leaks.push(...r.leaks);
    }
    expect(leaks.length).toBeGreaterThan(0);
    expect(new Set(leaks.map((l) => l.knownBug))).toEqual(
      new Set(['mock-device-add-fwspec-leak', 'mock-device-add-leak']),
    );
  });
});

describe('a kernel weakness the sweep found', () => {
  it('a DRHD whose registration failed still claims its devices in the next unit walk (I6, tagged as known)', () => {
    const { scenario } = loadScenario('drhd-registration-order');
    const base = runScenario(scenario, { profile: 'v6.12', resolvePlatform: resolveBuiltinPlatform });
    const tagged = [];
    for (let n = 1; n <= base.allocations; n++) {
      const r = runScenario(scenario, {
        profile: 'v6.12',
        failNth: n,
        checkInvariants: true,
        resolvePlatform: resolveBuiltinPlatform,
      });
      tagged.push(
        ...r.invariantViolations.filter((v) => v.knownBug === 'global-unit-probes-after-failed-register'),
      );
      expect(r.invariantViolations.filter((v) => !v.knownBug)).toEqual([]);
    }
    expect(tagged.length).toBeGreaterThan(0);
    expect(tagged[0]).toMatchObject({
      invariant: 'I6',
      message: expect.stringMatching(/still probed by unregistered dmar0/),
    });
  });
});
