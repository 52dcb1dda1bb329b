// SPDX-License-Identifier: GPL-2.0-only
/**
 * How a sweep job finds what it runs: built-in scenarios and platforms by
 * name, or files (checker/sweep.ts takes these as parameters so that the
 * checker does not depend on the public API above it).
 */
import { bootByName } from '../api.js';
import type { JobLoaders } from '../checker/sweep.js';
import { runIommufdFailNth } from '../iommufd/fail-nth.js';
import { loadScenario, resolveBuiltinPlatform } from '../scenario/load.js';

export const sweepLoaders: JobLoaders = {
  loadScenario: (name) => loadScenario(name).scenario,
  resolvePlatform: resolveBuiltinPlatform,
  boot: (name, profile, failNth) => bootByName(name, { profile, failNth }),
  iommufd: (test, profile, nth) => runIommufdFailNth(test, { profile, nth }),
};
