// SPDX-License-Identifier: GPL-2.0-only
// Every built-in scenario under every profile it is about: the expectations
// its file states per kernel version hold, invariants hold after every step,
// and the facts the seed thread is about are asserted here directly too.
import { describe, expect, it } from 'vitest';
import { builtinScenarioNames, loadScenario } from '../../src/scenario/load.js';
import { scenario as run } from '../../src/api.js';
import { profileNames, type ProfileName } from '../../src/profile/profile.js';

const names = builtinScenarioNames();

describe('built-in scenarios', () => {
  it('include the six historical cases of the reference', () => {
    for (const n of [
      'seed-mock-ops',
      'release-leak',
      'init-unwind-fwspec',
      'probe-defer',
      'unregister-bound',
      'two-global-drivers',
    ]) {
      expect(names).toContain(n);
    }
  });

  for (const name of names) {
    const { scenario } = loadScenario(name);
    const list = scenario.profiles ?? [...profileNames];
    describe.each(list)(`${name} under %s`, (profile) => {
      const r = run(scenario, { profile: profile as ProfileName, checkInvariants: true });
      it('states an expectation for this profile and meets it', () => {
        expect(r.expectation).not.toBeNull();
        expect(r.expectation!.mismatches).toEqual([]);
      });
      it('keeps the invariants after every step', () => {
        expect(r.invariantViolations).toEqual([]);
      });
      it('leaks nothing that is not a known kernel bug', () => {
        expect(r.leaks.filter((l) => !l.knownBug)).toEqual([]);
      });
    });
  }
});

describe('the seed: which iommu_ops a mock device gets', () => {
  const { scenario } = loadScenario('seed-mock-ops');
  const mockOf = (profile: ProfileName) => {
    const r = run(scenario, { profile });
    return { r, mock: r.devices.find((d) => d.name === r.aliases.mock)! };
  };

  it.each(['v6.8', 'v6.12', 'v6.15'] as const)('%s probes it with Intel ops, which refuse it', (p) => {
    const { r, mock } = mockOf(p);
    expect(mock.history).toContain('intel-iommu probe_device() returned -ENODEV');
    expect(mock.group).toBeNull();
    expect(r.steps.map((s) => s.result)).toEqual(['0', '0', '-ENODEV', '-EINVAL', '-ENODEV']);
    // Intel registered first, the mock second: list order decides.
    expect(r.iommus.map((i) => i.name)).toEqual(['dmar0', 'iommufd_selftest_iommu']);
  });

  it.each(['v6.7', 'v6.18'] as const)('%s gives it the mock ops and a group of its own', (p) => {
    const { r, mock } = mockOf(p);
    expect(mock.iommu).toBe('iommufd_selftest_iommu');
    const g = r.groups.find((x) => x.id === mock.group)!;
    expect(g.devices).toEqual([mock.name]);
    expect(g.type).toBe('blocked');
  });

  it('v6.18 reaches the mock through a software-node fwspec set before device_add', () => {
    const { mock } = mockOf('v6.18');
    expect(mock.fwspec).toEqual({ fwnode: 'iommufd_selftest_iommu-swnode', ids: [], sources: [] });
    expect(mock.history[0]).toMatch(/iommu_mock_device_add/);
  });

  it('v6.4 builds the group by hand: no default domain, never probed by the core', () => {
    const { r, mock } = mockOf('v6.4');
    expect(mock.probedAt).toBeNull();
    expect(r.groups.find((x) => x.id === mock.group)!.type).toBe('unknown');
  });
});

describe('release-leak names what leaked and why', () => {
  const { scenario } = loadScenario('release-leak');
  it('v6.4 leaks dev_iommu and the fwspec of each removed device, as a known kernel bug', () => {
    const r = run(scenario, { profile: 'v6.4' });
    const eth = r.leaks.filter((l) => l.owner === '10000000.ethernet');
    expect(eth.map((l) => [l.type, l.origin, l.knownBug])).toEqual([
      ['dev_iommu', 'dev_iommu_get', 'release-without-group-leak'],
      ['iommu_fwspec', 'iommu_fwspec_init', 'release-without-group-leak'],
    ]);
  });
  it('v6.7 frees them in iommu_release_device()', () => {
    expect(run(scenario, { profile: 'v6.7' }).leaks).toEqual([]);
  });
});

describe('who created and who freed the fwspec and dev_iommu', () => {
  it('init-unwind-fwspec: bus code made the fwspec, iommu_init_device() freed it with dev_iommu', () => {
    const { scenario } = loadScenario('init-unwind-fwspec');
    const r = run(scenario, { profile: 'v6.12' });
    const crypto = r.devices.find((d) => d.name === '10300000.crypto')!;
    expect(crypto.objects.filter((o) => o.type === 'dev_iommu' || o.type === 'iommu_fwspec')).toEqual([
      { type: 'dev_iommu', allocatedBy: 'dev_iommu_get', freedBy: 'iommu_init_device', times: 1 },
      { type: 'iommu_fwspec', allocatedBy: 'iommu_fwspec_init', freedBy: 'iommu_init_device', times: 1 },
    ]);
  });

  it('probe-defer under v6.8: the empty fwspec of the first bind attempt is freed and rebuilt at the retry', () => {
    const { scenario } = loadScenario('probe-defer');
    const r = run(scenario, { profile: 'v6.8' });
    const eth = r.devices.find((d) => d.name === '10000000.ethernet')!;
    const fwspecs = eth.objects.filter((o) => o.type === 'iommu_fwspec');
    // Two bind attempts deferred, each freeing its empty fwspec: one entry, counted twice.
    expect(fwspecs).toEqual([
      { type: 'iommu_fwspec', allocatedBy: 'iommu_fwspec_init', freedBy: 'iommu_fwspec_free', times: 2 },
      { type: 'iommu_fwspec', allocatedBy: 'iommu_fwspec_init', freedBy: null, times: 1 },
    ]);
  });
});
