// SPDX-License-Identifier: GPL-2.0-only
// Model-based tests of the core: random sequences of what drivers, VFIO and hotplug do (unbind, bind,
// claim and release DMA ownership, attach and detach paging domains, unregister and register the
// IOMMU driver, remove a device), on real platforms under every profile, shrunk by fast-check to the
// shortest failing sequence. Whatever errnos the steps return, no run may throw, leak (beyond known
// kernel bugs) or break an invariant after any step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bootByName } from '../../src/api.js';
import { InputError } from '../../src/input/input-error.js';
import { profileNames } from '../../src/profile/profile.js';
import { resolveBuiltinPlatform } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import type { Scenario } from '../../src/scenario/schema.js';
import { parseScenario } from '../../src/scenario/load.js';

const PLATFORMS: Record<string, string> = {
  'x86-q35-vtd-switch': 'intel-iommu',
  'arm64-dt-smmuv3-mini': 'arm-smmu-v3',
};

describe.each(Object.entries(PLATFORMS))('random core operations on %s', (platform, iommuDriver) => {
  // The devices with a driver bound at boot: what the operations act on.
  const devices = bootByName(platform)
    .devices.filter((d) => d.driver !== null && d.driver !== iommuDriver)
    .map((d) => d.name);

  it('never throw, leak or break an invariant (property, shrunk)', () => {
    expect(devices.length).toBeGreaterThan(1);
    const dev = fc.constantFrom(...devices);
    const domain = fc.constantFrom('d0', 'd1', 'd2');
    const step = fc.oneof(
      fc.record({ op: fc.constant('unbind'), dev }),
      fc.record({ op: fc.constant('bind'), dev }),
      fc.record({ op: fc.constant('claim-dma-owner'), dev, owner: fc.constantFrom('vfio', 'iommufd') }),
      fc.record({ op: fc.constant('release-dma-owner'), dev }),
      fc.record({ op: fc.constant('attach-paging-domain'), dev, as: domain }),
      fc.record({ op: fc.constant('detach-domain'), dev, domain }),
      fc.record({ op: fc.constant('driver-unregister'), driver: fc.constant(iommuDriver) }),
      fc.record({ op: fc.constant('driver-register'), driver: fc.constant(iommuDriver) }),
      fc.record({ op: fc.constant('device-del'), dev }),
    );
    let ran = 0;
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 12 }),
        fc.constantFrom(...profileNames),
        (steps, profile) => {
          let sc: Scenario;
          try {
            sc = parseScenario({ name: 'random', title: 'random', platform, steps }, '<random>');
          } catch (e) {
            // A sequence the scenario format refuses (a domain named twice, one detached before it
            // exists): not a case.
            if (e instanceof InputError) return fc.pre(false);
            throw e;
          }
          let r;
          try {
            r = runScenario(sc, { profile, checkInvariants: true, resolvePlatform: resolveBuiltinPlatform });
          } catch (e) {
            if (e instanceof InputError) return fc.pre(false);
            throw e;
          }
          ran++;
          expect(r.leaks.filter((l) => !l.knownBug)).toEqual([]);
          expect(r.invariantViolations.filter((v) => !v.knownBug)).toEqual([]);
          expect(r.steps).toHaveLength(steps.length);
        },
      ),
      { numRuns: 60 },
    );
    // Most generated sequences were valid cases, not skipped.
    expect(ran).toBeGreaterThan(30);
  });
});

describe('what the random sequences found', () => {
  const run = (steps: unknown[]) =>
    runScenario(parseScenario({ name: 'r', title: 'r', platform: 'x86-q35-vtd-switch', steps }, '<r>'), {
      profile: 'v6.4',
      checkInvariants: true,
      resolvePlatform: resolveBuiltinPlatform,
    });

  it('a name given twice is refused: the second attach would have dropped the first domain, still attached', () => {
    expect(() =>
      run([
        { op: 'attach-paging-domain', dev: '0000:05:00.0', as: 'd0' },
        { op: 'attach-paging-domain', dev: '0000:00:03.0', as: 'd0' },
      ]),
    ).toThrow('steps[1].as: "d0" already names what steps[0] made');
  });

  it('detaching through a device whose group is not attached to the domain is -EINVAL, and frees nothing', () => {
    const r = run([
      { op: 'attach-paging-domain', dev: '0000:05:00.0', as: 'd0' },
      { op: 'detach-domain', dev: '0000:00:03.0', domain: 'd0' },
      { op: 'detach-domain', dev: '0000:05:00.0', domain: 'd0' },
    ]);
    expect(r.steps.map((s) => s.result)).toEqual(['0', '-EINVAL', '0']);
    expect(r.leaks.filter((l) => !l.knownBug)).toEqual([]);
    expect(r.invariantViolations).toEqual([]);
  });
});
