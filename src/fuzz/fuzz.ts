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
  /** exception: the model threw; model: a boot leaked or broke an invariant; slow: past the time limit. */
  readonly kind: 'exception' | 'model' | 'slow';
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
  readonly inputs: number;
  readonly seed?: number;
  /** An input taking longer than this is a finding (default 1000 ms). */
  readonly slowMs?: number;
  /** Stop keeping findings after this many (default 20); `found` still counts them. */
  readonly keep?: number;
  readonly onProgress?: (done: number) => void;
}

export function fuzz(target: FuzzTarget, opts: FuzzOptions): FuzzStats {
  const rng = new Rng(opts.seed ?? 1);
  const slowMs = opts.slowMs ?? 1000;
  const keep = opts.keep ?? 20;
  const outcomes = { rejected: 0, parsed: 0, booted: 0 };
  const findings: FuzzFinding[] = [];
  const rngSeed = opts.seed ?? 1;
  let found = 0;
  let slowest = 0;
  const start = performance.now();
  for (let i = 0; i < opts.inputs; i++) {
    const seed = target.seeds[rng.below(target.seeds.length)];
    const input = target.mutate(seed.bytes, rng);
    const deep = rng.below(BOOT_EVERY) === 0;
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
      if (findings.length < keep)
        findings.push({ target: target.name, seed: seed.file, rngSeed, index: i, kind, message, ms, input });
    };
    if (error instanceof ModelFinding) finding('model', error.message);
    else if (error !== null)
      finding('exception', error instanceof Error ? (error.stack ?? error.message) : String(error));
    else if (ms > slowMs) finding('slow', `${ms.toFixed(0)} ms (limit ${slowMs} ms)`);
    if (opts.onProgress && (i & 1023) === 1023) opts.onProgress(i + 1);
  }
  return {
    target: target.name,
    seeds: target.seeds.length,
    inputs: opts.inputs,
    outcomes,
    found,
    findings,
    slowestMs: slowest,
    seconds: (performance.now() - start) / 1000,
  };
}
