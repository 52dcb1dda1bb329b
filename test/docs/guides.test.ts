// SPDX-License-Identifier: GPL-2.0-only
// The walkthroughs in docs/guide/ are run as written: in each ```console
// block every "$ iommu-lab …" line is run (through a shell, so pipes work)
// and what it prints must be the lines under it, exactly; each ```js block
// is run against the built package and must print the ```text block that
// follows it. A guide that drifts from what the code does fails here.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';

const guides = fileURLToPath(new URL('../../docs/guide/', import.meta.url));
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const index = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

interface Example {
  readonly kind: 'console' | 'js';
  readonly code: string;
  readonly expected: string;
  readonly line: number;
}

/** The runnable examples of one guide, in order. */
function examples(text: string): Example[] {
  const out: Example[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '```console') {
      let cmd: { code: string; line: number; expected: string[] } | null = null;
      const flush = () =>
        cmd &&
        out.push({ kind: 'console', code: cmd.code, expected: cmd.expected.join('\n'), line: cmd.line });
      for (i++; lines[i] !== '```'; i++) {
        if (lines[i].startsWith('$ ')) {
          flush();
          cmd = { code: lines[i].slice(2), line: i + 1, expected: [] };
        } else cmd?.expected.push(lines[i]);
      }
      flush();
    } else if (lines[i] === '```js') {
      const start = i + 1;
      const code: string[] = [];
      for (i++; lines[i] !== '```'; i++) code.push(lines[i]);
      // The output block follows after one blank line.
      expect(lines[i + 2], `the js block at line ${start} is followed by a text block`).toBe('```text');
      const expected: string[] = [];
      for (i += 3; lines[i] !== '```'; i++) expected.push(lines[i]);
      out.push({ kind: 'js', code: code.join('\n'), expected: expected.join('\n'), line: start });
    }
  }
  return out;
}

const files = readdirSync(guides).filter((f) => f.endsWith('.md'));

describe('the guides in docs/guide run as written', () => {
  it('there are the three walkthroughs', () => {
    expect(files.sort()).toEqual(['core-change.md', 'translation-engine.md', 'why-this-group.md']);
  });

  for (const f of files) {
    it(`${f}: every command and snippet prints what the guide shows`, () => {
      const dir = scratchDir('iommu-lab-guide-');
      const all = examples(readFileSync(join(guides, f), 'utf8'));
      expect(all.length).toBeGreaterThan(2);
      for (const ex of all) {
        let printed: string;
        if (ex.kind === 'console') {
          expect(ex.code.startsWith('iommu-lab '), `${f}:${ex.line}`).toBe(true);
          const shell = ex.code.replace(/^iommu-lab /, `"${process.execPath}" "${cli}" `);
          const r = spawnSync('sh', ['-c', `${shell} 2>&1`], { cwd: dir, encoding: 'utf8' });
          printed = r.stdout;
        } else {
          const file = join(dir, 'snippet.mjs');
          writeFileSync(file, ex.code.replaceAll("from 'iommu-lab'", `from '${index}'`));
          const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' });
          printed = r.stdout + r.stderr;
        }
        expect(printed.replace(/\n+$/, ''), `${f}:${ex.line}: ${ex.code.split('\n')[0]}`).toBe(ex.expected);
      }
    });
  }
});
