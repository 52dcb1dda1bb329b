// SPDX-License-Identifier: GPL-2.0-only
// The fuzzer's hang guard (src/fuzz/guard.ts) on a worker that loops for
// ever on chosen inputs: each hang is reported by index, its worker
// stopped, and the sequence goes on from the next input; and the pieces it
// relies on: fuzz()'s `from` runs the same inputs as a whole run from there,
// and inputAt() gives again the input a run had at an index. And the sysfs
// target, which writes mutants to disk, never writes through a link one
// planted (a first version overwrote /etc/passwd that way, as root).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fuzz, inputAt } from '../../src/fuzz/fuzz.js';
import { runGuarded } from '../../src/fuzz/guard.js';
import { mutateBytes } from '../../src/fuzz/mutate.js';
import type { FuzzTarget } from '../../src/fuzz/targets.js';
import { fuzzTargets } from '../../src/fuzz/targets.js';
import { InputError } from '../../src/input/input-error.js';
import { writeTar } from '../../src/snapshot/tar-write.js';
import { scratchDir } from '../support/scratch.js';

describe('the hang guard', () => {
  it('stops a worker stuck on an input, reports the input, and goes on from the next', async () => {
    const starts: number[] = [];
    const r = await runGuarded({
      workerUrl: new URL('./hang-worker.mjs', import.meta.url),
      workerData: (from) => {
        starts.push(from);
        return { inputs: 20, from, hangAt: [5, 12] };
      },
      inputs: 20,
      hangMs: 300,
      pollMs: 50,
    });
    expect(r.hangs).toEqual([5, 12]);
    expect(starts).toEqual([0, 6, 13]);
    // A stopped worker counts as of its last progress report (every 4 inputs): 4, 4, then all 7.
    expect(r.parts.map((p) => p.outcomes.parsed)).toEqual([4, 4, 7]);
  });

  it('a sequence without a hang is one worker run', async () => {
    const r = await runGuarded({
      workerUrl: new URL('./hang-worker.mjs', import.meta.url),
      workerData: (from) => ({ inputs: 9, from, hangAt: [] }),
      inputs: 9,
      hangMs: 300,
      pollMs: 50,
    });
    expect(r.hangs).toEqual([]);
    expect(r.parts.map((p) => p.outcomes.parsed)).toEqual([9]);
  });
});

describe('restarting a fuzz sequence', () => {
  const recorded: Uint8Array[] = [];
  const target: FuzzTarget = {
    name: 'recorder',
    seeds: [
      { file: 'a', bytes: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) },
      { file: 'b', bytes: Uint8Array.of(9, 9, 9, 9) },
    ],
    mutate: mutateBytes,
    run(input) {
      recorded.push(input);
      return 'parsed';
    },
  };

  it('from N runs the inputs a whole run has from N; inputAt() gives any of them again', () => {
    recorded.length = 0;
    fuzz(target, { inputs: 60, seed: 7 });
    const whole = recorded.slice();
    recorded.length = 0;
    const s = fuzz(target, { inputs: 60, seed: 7, from: 41 });
    expect(recorded).toEqual(whole.slice(41));
    expect(s.inputs).toBe(19);
    for (const i of [0, 17, 41, 59]) expect(inputAt(target, 7, i).input).toEqual(whole[i]);
    expect(inputAt(target, 8, 17).input).not.toEqual(whole[17]);
  });

  it('keeps the index it runs where another thread can read it, and -1 between inputs', () => {
    const current = new Int32Array(new SharedArrayBuffer(4));
    const seen: number[] = [];
    const watched: FuzzTarget = {
      ...target,
      run: () => {
        seen.push(Atomics.load(current, 0));
        return 'parsed';
      },
    };
    fuzz(watched, { inputs: 5, seed: 1, from: 2, current });
    expect(seen).toEqual([2, 3, 4]);
    expect(Atomics.load(current, 0)).toBe(-1);
  });
});

describe('the sysfs target writes nothing outside its scratch folder', () => {
  it('a mutant planting links out and then naming files through them or at them changes nothing outside', () => {
    const outside = scratchDir('sysfs-outside-');
    const victim = join(outside, 'passwd');
    writeFileSync(victim, 'root:x:0:0\n');
    const t = fuzzTargets().find((x) => x.name === 'sysfs')!;
    const config = new Uint8Array(256).fill(0xab);
    const tar = writeTar([
      // A function folder that is a link to a folder outside, then a config below it.
      { path: '0000:00:01.0', type: '2', link: outside },
      { path: '0000:00:01.0/config', data: config },
      // A config that is a link to a file outside, then the config again under the same name.
      { path: '0000:00:02.0/config', type: '2', link: victim },
      { path: '0000:00:02.0/config', data: config },
      // A folder of links: one up, and a file through it.
      { path: '0000:00:03.0', type: '2', link: '..' },
      { path: '0000:00:03.0/config', data: config },
    ]);
    try {
      t.run(tar, false);
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
    } finally {
      t.dispose?.();
    }
    expect(readdirSync(outside).sort()).toEqual(['passwd']);
    expect(readFileSync(victim, 'utf8')).toBe('root:x:0:0\n');
  });
});
