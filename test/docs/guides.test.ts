// SPDX-License-Identifier: GPL-2.0-only
// The walkthroughs in docs/guide/ and the examples of the reference pages in
// docs/ are run as written: in each ```console block every "$ iommu-lab …"
// line is run (through a shell, so pipes work) and what it prints must be
// the lines under it, exactly (a line "…" stands for any lines); each ```js
// block is run against the built package and must print the ```text block
// that follows it. A block under "<!-- file: NAME -->" is written to NAME
// first, so that the commands can use it. A page that drifts from what the
// code does fails here.
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
  readonly kind: 'console' | 'js' | 'file';
  readonly code: string;
  readonly expected: string;
  readonly line: number;
}

/** The runnable examples of one guide, in order. */
function examples(text: string): Example[] {
  const out: Example[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const file = /^<!-- file: (\S+) -->$/.exec(lines[i]);
    if (file) {
      // The fenced block after it (one blank line between).
      const body: string[] = [];
      for (i += 3; lines[i] !== '```'; i++) body.push(lines[i]);
      out.push({ kind: 'file', code: file[1], expected: body.join('\n'), line: i });
    } else if (lines[i] === '```console') {
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
const docs = fileURLToPath(new URL('../../docs/', import.meta.url));
const pages = [
  ...readdirSync(docs)
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(docs, f)),
  ...files.map((f) => join(guides, f)),
];

/** Whether printed lines are the expected ones, where an expected line "…" stands for any lines. */
function matches(printed: string, expected: string): boolean {
  if (!expected.split('\n').includes('…')) return printed === expected;
  const got = printed.split('\n');
  const segments = expected.split(/^…$/m).map((seg) => seg.replace(/^\n|\n$/g, '').split('\n'));
  let at = 0;
  for (let s = 0; s < segments.length; s++) {
    const seg = segments[s];
    if (seg.length === 1 && seg[0] === '') continue;
    const fits = (from: number) => seg.every((l, k) => got[from + k] === l);
    let found = -1;
    if (s === 0) found = fits(0) ? 0 : -1;
    else
      for (let from = at; from + seg.length <= got.length && found < 0; from++) if (fits(from)) found = from;
    if (found < 0) return false;
    at = found + seg.length;
    if (s === segments.length - 1 && at !== got.length) return false;
  }
  return true;
}

describe('the guides and the examples in docs/ run as written', () => {
  it('there are the three walkthroughs, and the reference pages have examples too', () => {
    expect(files.sort()).toEqual(['core-change.md', 'translation-engine.md', 'why-this-group.md']);
    const withExamples = pages.filter((p) =>
      examples(readFileSync(p, 'utf8')).some((e) => e.kind !== 'file'),
    );
    expect(withExamples.map((p) => p.slice(docs.length)).sort()).toEqual([
      'PLATFORM.md',
      'SCENARIO.md',
      'guide/core-change.md',
      'guide/translation-engine.md',
      'guide/why-this-group.md',
    ]);
  });

  for (const page of pages) {
    const f = page.slice(docs.length);
    const all = examples(readFileSync(page, 'utf8'));
    if (all.length === 0) continue;
    it(`${f}: every command and snippet prints what the page shows`, () => {
      const dir = scratchDir('iommu-lab-guide-');
      for (const ex of all) {
        let printed: string;
        if (ex.kind === 'file') {
          writeFileSync(join(dir, ex.code), ex.expected);
          continue;
        }
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
        const got = printed.replace(/\n+$/, '');
        if (!matches(got, ex.expected))
          expect(got, `${f}:${ex.line}: ${ex.code.split('\n')[0]}`).toBe(ex.expected);
      }
    });
  }
});
