// SPDX-License-Identifier: GPL-2.0-only
/** What `iommu-lab sweep NAME…` runs: each name as a scenario or a platform boot, under the profiles asked for. */
import { readFileSync } from 'node:fs';
import type { SweepJob } from '../checker/sweep.js';
import { InputError } from '../input/input-error.js';
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
 * (every one when it names none), every profile for a boot.
 */
export function sweepJobs(names: readonly string[], profile: ProfileName | 'all', only?: string): SweepJob[] {
  const scenarios = builtinScenarioNames();
  const platforms = builtinPlatformNames();
  const targets: { kind: 'scenario' | 'boot'; name: string }[] =
    names.length > 0
      ? names.map((name) => {
          if (scenarios.includes(name)) return { kind: 'scenario', name };
          if (platforms.includes(name)) return { kind: 'boot', name };
          if (!name.endsWith('.json'))
            throw new InputError(name, '', 'not a built-in scenario or platform, nor a JSON file');
          return { kind: isScenarioFile(name) ? 'scenario' : 'boot', name };
        })
      : [
          ...(only === 'boots' ? [] : scenarios.map((name) => ({ kind: 'scenario' as const, name }))),
          ...(only === 'scenarios' ? [] : platforms.map((name) => ({ kind: 'boot' as const, name }))),
        ];
  return targets
    .filter((t) => only === undefined || (only === 'boots') === (t.kind === 'boot'))
    .flatMap((t) => {
      const own =
        t.kind === 'scenario' ? loadScenario(t.name).scenario.profiles : (loadPlatform(t.name), undefined);
      const list = profile === 'all' ? (own ?? [...profileNames]) : [profile];
      return list.map((p) => ({ kind: t.kind, name: t.name, profile: p }));
    });
}
