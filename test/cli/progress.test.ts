// SPDX-License-Identifier: GPL-2.0-only
// The progress line: drawn in place on a terminal, never under CI, into a
// pipe or for a single item; a report run in a real pseudo-terminal
// (util-linux `script`) shows it and erases it, the same run through a pipe
// has nothing but its "wrote" line on stderr.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { progress } from '../../src/cli/progress.js';
import { scratchDir } from '../support/scratch.js';

const ESC = String.fromCharCode(0x1b);
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, write: (s: string) => chunks.push(s), chunks };
}

describe('progress', () => {
  it('draws n/total with a bar on a terminal, in place, and erases itself', () => {
    const s = sink(true);
    const p = progress(4, 'explaining devices', s, {});
    p.tick('a');
    p.tick('b');
    p.done();
    expect(s.chunks).toEqual([
      `\r${ESC}[Kexplaining devices [                        ] 0/4 `,
      `\r${ESC}[Kexplaining devices [######                  ] 1/4 a`,
      `\r${ESC}[Kexplaining devices [############            ] 2/4 b`,
      `\r${ESC}[K`,
    ]);
  });

  it('a label from firmware cannot reach the terminal as escape sequences', () => {
    const s = sink(true);
    progress(2, 'x', s, {}).tick(`usb${ESC}]0;PWNED\u0007${ESC}[31mRED`);
    expect(s.chunks[1]).toBe(`\r${ESC}[Kx [############            ] 1/2 usb\\x1b]0;PWNED\\x07\\x1b[31mRED`);
  });

  it('says nothing into a pipe, under CI, or for one item', () => {
    for (const [s, env, n] of [
      [sink(false), {}, 5],
      [sink(true), { CI: 'true' }, 5],
      [sink(true), {}, 1],
    ] as const) {
      const p = progress(n, 'x', s, env);
      p.tick();
      p.done();
      expect(s.chunks).toEqual([]);
    }
  });

  it.skipIf(!existsSync('/usr/bin/script'))(
    'a report in a pseudo-terminal shows it; through a pipe it does not',
    () => {
      const out = join(scratchDir(), 'r.html');
      const env = { ...process.env };
      delete env.CI;
      const tty = execFileSync(
        'script',
        ['-qec', `"${process.execPath}" "${cli}" report -o "${out}"`, '/dev/null'],
        {
          env,
          encoding: 'utf8',
        },
      );
      expect(tty).toContain('explaining devices [########################] 14/14 virtio1');
      expect(tty).toContain(`\r${ESC}[Kiommu-lab: wrote ${out}`);
      const piped = spawnSync(process.execPath, [cli, 'report', '-o', out], { env, encoding: 'utf8' });
      expect(piped.stderr).toMatch(/^iommu-lab: wrote \S+ \(\d+ bytes\)\n$/);
    },
  );
});
