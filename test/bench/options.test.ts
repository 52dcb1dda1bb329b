// SPDX-License-Identifier: GPL-2.0-only
// `npm run bench`'s command line: --help, and unknown sections or formats refused with the usage
// (exit 2) before anything is measured. The measuring itself is not a test (it prints figures).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../../dist/bench/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });

describe('bench options', () => {
  it('--help prints the sections and exits 0', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--only SECTION');
    expect(r.stdout).toContain('pgtable, iova, iommufd, scale');
  });

  it('refuses an unknown section or format, naming it, with exit 2', () => {
    const r = run('--only', 'pgtable', '--only', 'tlb', '--format', 'arm-64-lpae-s1-8k');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown section 'tlb', format 'arm-64-lpae-s1-8k'");
    expect(r.stdout).toBe('');
  });

  it('refuses a --rounds that is not a whole number from 1, with exit 2', () => {
    for (const bad of ['0', 'three', '1e1', '2.5']) {
      const r = run('--only', 'iova', '--rounds', bad);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--rounds wants a whole number from 1, not '${bad}'`);
      expect(r.stdout).toBe('');
    }
  });

  it('refuses an option it does not know', () => {
    const r = run('--fast');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--fast'/);
    expect(r.stderr).toContain('usage: npm run bench');
  });
});
