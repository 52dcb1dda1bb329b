// SPDX-License-Identifier: GPL-2.0-only
/** What `iommu-lab sweep NAME…` runs: each name as a scenario, a platform boot or an iommufd fail-nth test, under the profiles asked for. */
import { readFileSync } from 'node:fs';
import type { SweepJob } from '../checker/sweep.js';
import { InputError } from '../input/input-error.js';
import { iommufdFailNthProfiles, iommufdFailNthTests } from '../iommufd/fail-nth.js';
import { builtinPlatformNames, loadPlatform } from '../platform/load.js';
import { profileNames, type ProfileName } from '../profile/profile.js';
import { builtinScenarioNames, loadScenario } from '../scenario/load.js';

/** Whether a JSON file holds a scenario (it has steps) rather than a platform. */
function isScenarioFile(path: string): boolean {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(path, '', e instanceof Error ? e.message : String(e));
  }
  return typeof data === 'object' && data !== null && Array.isArray((data as { steps?: unknown }).steps);
}

/**
 * The jobs for these names (none: every built-in scenario and platform, or
 * those of one kind), each loaded once here so that a bad name or file is an
 * input error before any worker starts. "all": a scenario's own profiles
 * (every one when it names none), every profile for a boot, those an
 * iommufd test's calls exist in.
 */
export function sweepJobs(names: readonly string[], profile: ProfileName | 'all', only?: string): SweepJob[] {
  const scenarios = builtinScenarioNames();
  const platforms = builtinPlatformNames();
  const iommufd = iommufdFailNthTests.map((t) => `${IOMMUFD_PREFIX}${t}`);
  const kindOf = { scenarios: 'scenario', boots: 'boot', iommufd: 'iommufd' } as const;
  const targets: { kind: SweepJob['kind']; name: string }[] =
    names.length > 0
      ? names.map((name) => {
          if (scenarios.includes(name)) return { kind: 'scenario', name };
          if (platforms.includes(name)) return { kind: 'boot', name };
          if (iommufd.includes(name)) return { kind: 'iommufd', name: name.slice(IOMMUFD_PREFIX.length) };
          if (!name.endsWith('.json'))
            throw new InputError(
              name,
              '',
              'not a built-in scenario or platform, an iommufd fail-nth test (iommufd:NAME), nor a JSON file',
            );
          return { kind: isScenarioFile(name) ? 'scenario' : 'boot', name };
        })
      : [
          ...scenarios.map((name) => ({ kind: 'scenario' as const, name })),
          ...platforms.map((name) => ({ kind: 'boot' as const, name })),
          ...iommufdFailNthTests.map((name) => ({ kind: 'iommufd' as const, name })),
        ];
  return targets
    .filter((t) => only === undefined || kindOf[only as keyof typeof kindOf] === t.kind)
    .flatMap((t) => {
      const own =
        t.kind === 'scenario'
          ? loadScenario(t.name).scenario.profiles
          : t.kind === 'boot'
            ? (loadPlatform(t.name), undefined)
            : iommufdFailNthProfiles(t.name);
      // A profile asked for by name: an iommufd test not meant for it runs only when named too.
      const list =
        profile === 'all'
          ? (own ?? [...profileNames])
          : t.kind === 'iommufd' && names.length === 0 && !own?.includes(profile)
            ? []
            : [profile];
      return list.map((p) => ({ kind: t.kind, name: t.name, profile: p }));
    });
}

/** How iommufd's fail-nth tests are named on the command line: iommufd:basic, iommufd:map_domain, … */
export const IOMMUFD_PREFIX = 'iommufd:';
