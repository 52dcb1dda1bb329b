// SPDX-License-Identifier: GPL-2.0-only
/**
 * Finding and validating platform descriptions: the built-in ones shipped in
 * the package's platforms/ folder, or a JSON file a user gives.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, basename } from 'node:path';
import { PlatformSchema, type PlatformDesc } from './schema.js';
import { InputError, fromZod, parseJsonText } from '../input/input-error.js';

/** The package root (two levels above this file in src/ and in dist/). */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
const platformsDir = join(packageRoot, 'platforms');

/** The platform everything defaults to: real Linux's answer for it is in shared/groundtruth. */
export const DEFAULT_PLATFORM = 'x86-q35-vtd-switch';

export function builtinPlatformNames(): string[] {
  if (!existsSync(platformsDir)) return [];
  return readdirSync(platformsDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

/** Validate a platform description already parsed from JSON. */
export function parsePlatform(data: unknown, file: string): PlatformDesc {
  const r = PlatformSchema.safeParse(data);
  if (!r.success) throw fromZod(file, r.error);
  return r.data;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, '', code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(e)}`);
  }
}

/** A built-in platform by name, or a JSON file by path. */
export function loadPlatform(nameOrPath: string): { desc: PlatformDesc; file: string } {
  const builtin = join(platformsDir, `${nameOrPath}.json`);
  const isBuiltin = !nameOrPath.includes('/') && !nameOrPath.endsWith('.json') && existsSync(builtin);
  if (!isBuiltin && !nameOrPath.includes('/') && !nameOrPath.endsWith('.json')) {
    throw new InputError(
      nameOrPath,
      '',
      `no built-in platform of that name (built-in: ${builtinPlatformNames().join(', ')}); give a path to a JSON file instead`,
    );
  }
  const file = isBuiltin ? builtin : nameOrPath;
  return { desc: parsePlatform(parseJsonText(file, readText(file)), file), file };
}

export { readText };
