// SPDX-License-Identifier: GPL-2.0-only
// The short fuzz run of `npm test` (the long one is `npm run fuzz`): every parser fed mutants of real
// inputs gives an InputError or a model, never another exception, within the time limit; the
// mutants reach both answers (the run is not all rejects); the same seed gives the same run; a
// planted crash is caught with its input.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fuzz } from '../../src/fuzz/fuzz.js';
import { Rng, fixAcpiChecksum, mutateBytes, mutateJson } from '../../src/fuzz/mutate.js';
import { ModelFinding, fuzzTargets, type FuzzTarget } from '../../src/fuzz/targets.js';
import { InputError } from '../../src/input/input-error.js';

const targets = fuzzTargets();
/** A fresh seed per run (printed on failure), so that CI explores beyond the fixed one. */
const runSeed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

describe('fuzz targets', () => {
  it('cover every parser of untrusted input, each with real seeds', () => {
    expect(targets.map((t) => t.name)).toEqual([
      'FDT',
      'DMAR',
      'IVRS',
      'IORT',
      'VIOT',
      'lspci',
      'platform',
      'scenario',
      'snapshot',
      'sysfs',
    ]);
    for (const t of targets) expect(t.seeds.length, t.name).toBeGreaterThan(0);
  });

  it.each(targets.map((t) => [t.name, t] as const))(
    '%s: mutants give InputError or a model, never a crash or a slow input',
    (_name, t) => {
      for (const seed of [1, runSeed]) {
        // Fewer of the slow ones: lspci's text is long, snapshots are repacked, sysfs folders written.
        const inputs = { lspci: 300, snapshot: 1000, sysfs: 500 }[t.name] ?? 1500;
        const s = fuzz(t, { inputs, seed });
        expect(s.findings.map((f) => `${f.kind} (seed ${seed}, input ${f.index}): ${f.message}`)).toEqual([]);
        expect(s.slowestMs).toBeLessThan(1000);
        expect(s.found).toBe(0);
        // Both answers are reached, and accepted mutants are booted (or run) to the end with the leak
        // check: checked on the fixed seed, where the counts do not vary.
        if (seed === 1) {
          expect(s.outcomes.rejected).toBeGreaterThan(0);
          expect(s.outcomes.parsed).toBeGreaterThan(0);
          expect(s.outcomes.booted).toBeGreaterThan(0);
        }
      }
    },
  );
});

describe('the fuzzer', () => {
  it('is deterministic: the same seed gives the same inputs and outcomes', () => {
    const t = targets.find((x) => x.name === 'DMAR')!;
    const a = fuzz(t, { inputs: 200, seed: 42 });
    const b = fuzz(t, { inputs: 200, seed: 42 });
    expect(a.outcomes).toEqual(b.outcomes);
    const r1 = new Rng(9);
    const r2 = new Rng(9);
    const seed = t.seeds[0].bytes;
    for (let i = 0; i < 50; i++) expect(t.mutate(seed, r1)).toEqual(t.mutate(seed, r2));
  });

  it('catches an exception that is not an InputError, and a slow input, with the input', () => {
    const planted: FuzzTarget = {
      name: 'planted',
      seeds: [{ file: 'seed.bin', bytes: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }],
      mutate: mutateBytes,
      run(input) {
        if (input.length === 0) throw new TypeError('empty input reached the model');
        if (input.length > 8) throw new InputError('<fuzz>', 'offset 8', 'trailing bytes');
        if (input[0] === 0xff) {
          const until = performance.now() + 3;
          while (performance.now() < until);
        }
        return 'parsed';
      },
    };
    const s = fuzz(planted, { inputs: 3000, seed: 3, slowMs: 2 });
    const crash = s.findings.find((f) => f.kind === 'exception');
    expect(crash?.message).toMatch(/^TypeError: empty input reached the model/);
    expect(crash?.input).toEqual(new Uint8Array(0));
    expect(s.findings.some((f) => f.kind === 'slow' && f.input[0] === 0xff)).toBe(true);
    expect(s.outcomes.rejected).toBeGreaterThan(0);
  });

  it("reports a booted input's leak as a model finding, counted past the ones it keeps", () => {
    // The platform target's boot, fed a leak: a ModelFinding, not an InputError.
    const leaky: FuzzTarget = {
      name: 'leaky',
      seeds: [{ file: 'seed.bin', bytes: Uint8Array.of(0) }],
      mutate: (b) => b,
      run(_input, deep) {
        if (deep) throw new ModelFinding('leak: iommu_group of 0000:00:01.0 from iommu_group_alloc');
        return 'parsed';
      },
    };
    const s = fuzz(leaky, { inputs: 400, seed: 8, keep: 3 });
    expect(s.findings).toHaveLength(3);
    expect(s.findings[0]).toMatchObject({
      kind: 'model',
      rngSeed: 8,
      message: expect.stringMatching(/^leak: /),
    });
    expect(s.found).toBeGreaterThan(20);
    expect(s.found + s.outcomes.parsed).toBe(400);
  });

  it('sets an ACPI checksum right, and mutates JSON by structure', () => {
    const t = fixAcpiChecksum(Uint8Array.from({ length: 40 }, (_, i) => i * 7));
    expect(t.reduce((a, b) => (a + b) & 0xff, 0)).toBe(0);
    const rng = new Rng(5);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(JSON.stringify(mutateJson({ a: [1, { b: 'x' }], c: true }, rng)));
    // Many different structures, each still JSON.
    expect(seen.size).toBeGreaterThan(50);
  });
});

describe('fuzz findings, kept as regression fixtures (test/fuzz/regressions/TARGET/)', () => {
  const dir = fileURLToPath(new URL('./regressions/', import.meta.url));
  const cases = readdirSync(dir).flatMap((t) => readdirSync(join(dir, t)).map((f) => [t, f] as const));

  it('are there', () => expect(cases.length).toBeGreaterThanOrEqual(2));

  it.each(cases)('%s/%s: an InputError or a clean boot, booted to the end', (target, file) => {
    const t = targets.find((x) => x.name === target)!;
    const input = new Uint8Array(readFileSync(join(dir, target, file)));
    try {
      t.run(input, true);
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
    }
  });

  it('say what was wrong', () => {
    const run = (target: string, file: string) => {
      const t = targets.find((x) => x.name === target)!;
      try {
        return t.run(new Uint8Array(readFileSync(join(dir, target, file))), true);
      } catch (e) {
        return (e as Error).message;
      }
    };
    // A driver named "__proto__" is a client driver like any unknown name (it was Object.prototype).
    expect(run('platform', 'driver-named-proto.json')).toBe('booted');
    // pcieport listed on the virtio bus (1M-input run, seed 1, input 487226): it threw "no pci bus".
    expect(run('platform', 'model-driver-on-another-bus.json')).toMatch(
      /drivers\[0\]\.bus: pcieport is a driver of the pci bus, not of virtio$/,
    );
    expect(run('scenario', 'fwspec-for-a-device-never-added.json')).toMatch(
      /steps\[0\]\.dev: a fwspec is set up for 10300000\.crypto, which no later step adds/,
    );
  });
});
