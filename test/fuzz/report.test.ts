// SPDX-License-Identifier: GPL-2.0-only
// What `npm run fuzz` tells while it runs (src/fuzz/report.ts, guard.ts's
// callbacks, main.ts): a run stopped half way has said how far it got and
// left its findings on disk. Progress on a non-terminal is a line per tenth
// of the inputs or per minute; on a terminal one line redrawn; a finding
// reaches the main thread (and its files) as its worker posts it, and a
// hang as its worker is stopped, both before the sequence ends.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { FuzzFinding } from '../../src/fuzz/fuzz.js';
import { runGuarded } from '../../src/fuzz/guard.js';
import { FuzzProgress, writeFinding } from '../../src/fuzz/report.js';
import { scratchDir } from '../support/scratch.js';

/** A sink and a clock a test controls. */
function fakeSink(isTTY: boolean) {
  const out: string[] = [];
  let t = 0;
  return {
    out,
    sink: { isTTY, write: (s: string) => out.push(s) },
    now: () => t,
    advance: (ms: number) => (t += ms),
  };
}

describe('fuzz progress', () => {
  it('off a terminal, writes a line each tenth of the inputs and at least each minute, not each report', () => {
    const f = fakeSink(false);
    const p = new FuzzProgress('sysfs', 100_000, f.sink, f.now);
    for (let done = 1024; done <= 100_000; done += 1024) {
      f.advance(1000);
      p.update(done, 0);
    }
    // 97 reports, one line per tenth crossed (10%..90%; 100% is the summary row's).
    expect(f.out).toHaveLength(9);
    expect(f.out[0]).toBe('sysfs: 10240/100000 inputs (10%), 1024 inputs/s, 0 findings, 00:10\n');
    expect(f.out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    // A slow target: five minutes within one tenth still gives a line a minute.
    const g = fakeSink(false);
    const q = new FuzzProgress('lspci', 1_000_000, g.sink, g.now);
    for (let i = 1; i <= 10; i++) {
      g.advance(30_000);
      q.update(i * 1024, i > 5 ? 1 : 0);
    }
    expect(g.out.map((l) => l.trim())).toEqual([
      'lspci: 2048/1000000 inputs (0%), 34 inputs/s, 0 findings, 01:00',
      'lspci: 4096/1000000 inputs (0%), 34 inputs/s, 0 findings, 02:00',
      'lspci: 6144/1000000 inputs (0%), 34 inputs/s, 1 finding, 03:00',
      'lspci: 8192/1000000 inputs (0%), 34 inputs/s, 1 finding, 04:00',
      'lspci: 10240/1000000 inputs (1%), 34 inputs/s, 1 finding, 05:00',
    ]);
  });

  it('on a terminal, redraws one line and clears it at the end', () => {
    const f = fakeSink(true);
    const p = new FuzzProgress('FDT', 4096, f.sink, f.now);
    f.advance(3_723_000);
    p.update(2048, 2);
    p.end();
    expect(f.out).toEqual([
      '\rFDT: 2048/4096 inputs (50%), 1 inputs/s, 2 findings, 1:02:03\x1b[K',
      '\r\x1b[K',
    ]);
  });
});

describe('findings as they arrive', () => {
  it('a posted finding and a hang each reach the main thread before the sequence ends', async () => {
    const events: string[] = [];
    const r = await runGuarded({
      workerUrl: new URL('./hang-worker.mjs', import.meta.url),
      workerData: (from) => ({ inputs: 20, from, hangAt: [9], findAt: [3, 8, 15] }),
      inputs: 20,
      hangMs: 300,
      pollMs: 50,
      onProgress: (n, found) => events.push(`progress ${n}, ${found} found`),
      onFinding: (f) => events.push(`finding ${f.index}`),
      onHang: (i) => events.push(`hang ${i}`),
    });
    expect(r.hangs).toEqual([9]);
    // Progress every 4 inputs of each worker run (4, 8, then from 10 on again 14, 18); the count
    // of findings goes on from what the stopped run found, its hang included.
    expect(events).toEqual([
      'finding 3',
      'progress 4, 1 found',
      'progress 8, 1 found',
      'finding 8',
      'hang 9',
      'progress 14, 3 found',
      'finding 15',
      'progress 18, 4 found',
    ]);
  });

  it('writeFinding() keeps the input and what happened under target, seed and index', () => {
    const out = scratchDir('fuzz-findings-');
    const f: FuzzFinding = {
      target: 'IVRS',
      seed: 'amd-ivrs.dat',
      rngSeed: 2,
      index: 77,
      kind: 'slow',
      message: 'took 1204.5 ms\nsecond line',
      ms: 1204.5,
      input: Uint8Array.of(0x49, 0x56, 0x52, 0x53),
    };
    const bin = writeFinding(join(out, 'nested'), f);
    expect(bin).toBe(join(out, 'nested', 'IVRS-s2-77.bin'));
    expect([...readFileSync(bin)]).toEqual([0x49, 0x56, 0x52, 0x53]);
    expect(readFileSync(join(out, 'nested', 'IVRS-s2-77.txt'), 'utf8')).toBe(
      'slow (1204.5 ms), input 77 of seed 2, mutated from amd-ivrs.dat\ntook 1204.5 ms\nsecond line\n',
    );
  });
});

describe('npm run fuzz, off a terminal', () => {
  const main = fileURLToPath(new URL('../../dist/fuzz/main.js', import.meta.url));

  it('prints progress lines to stderr and the summary row to stdout', () => {
    const out = scratchDir('fuzz-out-');
    const r = spawnSync(
      process.execPath,
      [main, '--target', 'DMAR', '--inputs', '4096', '-j', '1', '--out', out],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    // Reports at 1024, 2048 and 3072 inputs: 25%, 50% and 75% each cross a tenth.
    expect(lines.map((l) => l.replace(/, \d+ inputs\/s.*/, ''))).toEqual([
      'DMAR: 1024/4096 inputs (25%)',
      'DMAR: 2048/4096 inputs (50%)',
      'DMAR: 3072/4096 inputs (75%)',
    ]);
    expect(r.stdout).toMatch(/^DMAR +3 +4096 /m);
    expect(readdirSync(out)).toEqual([]);
    // A findings folder it made itself and found nothing for is not left behind.
    const fresh = join(out, 'findings');
    expect(
      spawnSync(process.execPath, [main, '--target', 'DMAR', '--inputs', '10', '-j', '1', '--out', fresh])
        .status,
    ).toBe(0);
    expect(existsSync(fresh)).toBe(false);
  });

  it('refuses a findings folder it cannot write before it starts, with exit 2', () => {
    const file = join(scratchDir('fuzz-notdir-'), 'plain');
    writeFileSync(file, '');
    const r = spawnSync(
      process.execPath,
      [main, '--target', 'DMAR', '--inputs', '10', '--out', join(file, 'x')],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^--out .*plain\/x: cannot write findings there \(ENOTDIR\)/);
  });

  it('refuses an unknown target with exit 2, naming it', () => {
    const r = spawnSync(process.execPath, [main, '--target', 'dmar'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown target 'dmar'");
  });
});
