// SPDX-License-Identifier: GPL-2.0-only
// Temporary folders for the files tests write (blobs, tables, platform files,
// since boots read their inputs from files), removed after each test file
// (test/support/setup.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

export function scratchDir(prefix = 'iommu-lab-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeScratchDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
