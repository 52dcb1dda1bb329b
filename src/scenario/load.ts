// SPDX-License-Identifier: GPL-2.0-only
/**
 * Finding and validating scenarios: the built-in ones in the package's
 * scenarios/ folder, or a JSON file a user gives.
 */
import { readdirSync, existsSync } from 'node:fs';
import { join, basename } from 'node:path';
import { ScenarioSchema, type Scenario } from './schema.js';
import { fromZod, InputError, parseJsonText } from '../input/input-error.js';
import { packageRoot, readText, loadPlatform } from '../platform/load.js';
import type { PlatformDesc } from '../platform/schema.js';

const scenariosDir = join(packageRoot, 'scenarios');

export function builtinScenarioNames(): string[] {
  if (!existsSync(scenariosDir)) return [];
  return readdirSync(scenariosDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

export function parseScenario(data: unknown, file: string): Scenario {
  // A platform given where a scenario goes: say so, not which of its fields a scenario lacks.
  if (data !== null && typeof data === 'object' && !('steps' in data) && ('pci' in data || 'devices' in data))
    throw new InputError(
      file,
      '',
      'this is a platform (it has pci or devices and no steps), not a scenario: boot it with `iommu-lab boot FILE`',
    );
  const r = ScenarioSchema.safeParse(data);
  if (!r.success) throw fromZod(file, r.error);
  return r.data;
}

export function loadScenario(nameOrPath: string): { scenario: Scenario; file: string } {
  const builtin = join(scenariosDir, `${nameOrPath}.json`);
  const looksLikePath = nameOrPath.includes('/') || nameOrPath.endsWith('.json');
  if (!looksLikePath && !existsSync(builtin)) {
    throw new InputError(
      nameOrPath,
      '',
      `no built-in scenario of that name (see: iommu-lab scenario --list)`,
    );
  }
  const file = looksLikePath ? nameOrPath : builtin;
  return { scenario: parseScenario(parseJsonText(file, readText(file)), file), file };
}

/** Built-in platform names resolve to their descriptions. */
export function resolveBuiltinPlatform(name: string): PlatformDesc {
  return loadPlatform(name).desc;
}
