// SPDX-License-Identifier: GPL-2.0-only
/**
 * The fuzz loop: mutants of a target's seeds, each run and timed; an
 * InputError is the expected answer to bad input, anything else thrown (or
 * an input running past the time limit) is a finding, kept with the input
 * that caused it. Deterministic: the same seed gives the same inputs.
 */
import { InputError } from '../input/input-error.js';
import type { FuzzTarget, Outcome } from './targets.js';
import { BOOT_EVERY, ModelFinding } from './targets.js';
import { Rng } from './mutate.js';

export interface FuzzFinding {
  readonly target: string;
  /** The seed file the input was mutated from, and the input's index in the run. */
  readonly seed: string;
  /** The run's random seed and the input's index in it: together they give the input again. */
  readonly rngSeed: number;
  readonly index: number;
  /**
   * exception: the model threw; model: a boot leaked or broke an invariant;
   * slow: past the time limit; hang: still running at the hang limit, so its
   * worker was stopped (guard.ts).
   */
  readonly kind: 'exception' | 'model' | 'slow' | 'hang';
  readonly message: string;
  readonly ms: number;
  readonly input: Uint8Array;
}

export interface FuzzStats {
  readonly target: string;
  readonly seeds: number;
  readonly inputs: number;
  readonly outcomes: Readonly<Record<Outcome, number>>;
  /** Inputs that were findings (an input both thrown on and slow counts once), kept or not. */
  readonly found: number;
  /** The first findings (FuzzOptions.keep). */
  readonly findings: FuzzFinding[];
  /** The slowest input, in ms. */
  readonly slowestMs: number;
  readonly seconds: number;
}

export interface FuzzOptions {
  /** Inputs 0..inputs-1 of the seed's sequence are run (from `from` on). */
  readonly inputs: number;
  readonly seed?: number;
  /** The first input to run; those before it are generated and skipped (a run restarted after a hang). */
  readonly from?: number;
  /** Where the index of the input being run is kept (-1 between runs), for a watcher in another thread. */
  readonly current?: Int32Array;
  /** An input taking longer than this is a finding (default 1000 ms). */
  readonly slowMs?: number;
  /** Stop keeping findings after this many (default 20); `found` still counts them. */
  readonly keep?: number;
  /** Called every 1024 inputs with the stats so far. */
  readonly onProgress?: (done: number, sofar: FuzzStats) => void;
  /** Called with each finding kept, as it is found (a worker stopped later keeps it). */
  readonly onFinding?: (f: FuzzFinding) => void;
}

/** Draws what input i of the sequence is: its seed, its bytes, whether it is booted too. */
function draw(target: FuzzTarget, rng: Rng) {
  const seed = target.seeds[rng.below(target.seeds.length)];
  const input = target.mutate(seed.bytes, rng);
  const deep = rng.below(BOOT_EVERY) === 0;
  return { seed, input, deep };
}

/** Input `index` of seed `rngSeed`'s sequence, generated again (for a hang, whose worker is gone). */
export function inputAt(
  target: FuzzTarget,
  rngSeed: number,
  index: number,
): { seed: string; input: Uint8Array } {
  const rng = new Rng(rngSeed);
  for (let i = 0; ; i++) {
    const d = draw(target, rng);
    if (i === index) return { seed: d.seed.file, input: d.input };
  }
}

/** The fuzz loop, in this thread, to the end. */
export function fuzz(target: FuzzTarget, opts: FuzzOptions): FuzzStats {
  const steps = fuzzSteps(target, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The fuzz loop for a long run: it returns to the event loop every 1024
 * inputs. Node's synchronous zlib calls leave their error and close events
 * queued for it (nodejs/node#1668): in a loop that never returns to it each
 * corrupt gzip stream kept ~9 KB, and a million snapshot mutants grew a
 * worker by gigabytes.
 */
export async function fuzzYielding(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzStats> {
  const steps = fuzzSteps(target, opts);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The loop itself, pausing (a yield) after every 1024 inputs. */
function* fuzzSteps(target: FuzzTarget, opts: FuzzOptions): Generator<void, FuzzStats> {
  const rng = new Rng(opts.seed ?? 1);
  const slowMs = opts.slowMs ?? 1000;
  const keep = opts.keep ?? 20;
  const outcomes = { rejected: 0, parsed: 0, booted: 0 };
  const findings: FuzzFinding[] = [];
  const rngSeed = opts.seed ?? 1;
  let found = 0;
  let slowest = 0;
  const start = performance.now();
  const from = opts.from ?? 0;
  const stats = (): FuzzStats => ({
    target: target.name,
    seeds: target.seeds.length,
    inputs: opts.inputs - from,
    outcomes: { ...outcomes },
    found,
    findings: findings.slice(),
    slowestMs: slowest,
    seconds: (performance.now() - start) / 1000,
  });
  for (let i = 0; i < opts.inputs; i++) {
    // Kept before the mutation too: a mutator that loops is a hang as well.
    if (opts.current) Atomics.store(opts.current, 0, i);
    const { seed, input, deep } = draw(target, rng);
    if (i < from) continue;
    const t0 = performance.now();
    let outcome: Outcome | null = null;
    let error: unknown = null;
    try {
      outcome = target.run(input, deep);
    } catch (e) {
      if (e instanceof InputError) outcome = 'rejected';
      else error = e;
    }
    const ms = performance.now() - t0;
    if (ms > slowest) slowest = ms;
    if (outcome !== null) outcomes[outcome]++;
    const finding = (kind: FuzzFinding['kind'], message: string) => {
      found++;
      if (findings.length >= keep) return;
      const f: FuzzFinding = {
        target: target.name,
        seed: seed.file,
        rngSeed,
        index: i,
        kind,
        message,
        ms,
        input,
      };
      findings.push(f);
      opts.onFinding?.(f);
    };
    if (error instanceof ModelFinding) finding('model', error.message);
    else if (error !== null)
      finding('exception', error instanceof Error ? (error.stack ?? error.message) : String(error));
    else if (ms > slowMs) finding('slow', `${ms.toFixed(0)} ms (limit ${slowMs} ms)`);
    if (opts.current) Atomics.store(opts.current, 0, -1);
    if ((i & 1023) === 1023) {
      opts.onProgress?.(i + 1 - from, stats());
      yield;
    }
  }
  target.dispose?.();
  return stats();
}
