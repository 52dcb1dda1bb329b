// SPDX-License-Identifier: GPL-2.0-only
/**
 * `npm run fuzz`: every parser (fuzzTargets()) fed mutants of real inputs,
 * a million per target by default, split over worker threads with a
 * different seed each; shows progress as it goes (report.ts: a line per
 * tenth or per minute when stderr is not a terminal), writes each finding's
 * input and message into the findings folder the moment it is found (to
 * become a regression fixture under test/fuzz/regressions/TARGET/), and
 * prints per target the inputs, what became of them, the findings and the
 * slowest input. Exit 1 when anything was found.
 */
import { accessSync, constants, mkdirSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { FuzzFinding, FuzzStats } from './fuzz.js';
import { inputAt } from './fuzz.js';
import { runGuarded } from './guard.js';
import { FuzzProgress, findingBase, writeFinding } from './report.js';
import { SCRATCH_PREFIX } from './sysfs-target.js';
import type { FuzzTarget } from './targets.js';
import { defaultSeedDir, fuzzTargets } from './targets.js';

const USAGE = `usage: npm run fuzz [-- [--target NAME]... [--inputs N] [--seed N] [-j N] [--seeds DIR] [--out DIR] [--hang-ms N]]
  --target NAME   fuzz only these (${fuzzTargets()
    .map((t) => t.name)
    .join(', ')})
  --inputs N      inputs per target (default 1000000)
  --seed N        first random seed (default 1; worker w uses seed + w)
  -j N            worker threads per target (default: one per core)
  --seeds DIR     fixtures folder with acpi/ and dtb/ (default ../shared/fixtures beside the package)
  --out DIR       where findings are written (default fuzz-findings)
  --hang-ms N     an input still running after N ms is a hang: its worker is stopped and the
                  sequence goes on from the next input (default 20000; over 1000 ms is a finding anyway)`;

function options() {
  try {
    const { values } = parseArgs({
      options: {
        target: { type: 'string', multiple: true },
        inputs: { type: 'string', default: '1000000' },
        seed: { type: 'string', default: '1' },
        j: { type: 'string' },
        seeds: { type: 'string', default: defaultSeedDir() },
        out: { type: 'string', default: 'fuzz-findings' },
        'hang-ms': { type: 'string', default: '20000' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    const num = (v: string, what: string, min: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min)
        throw new Error(`${what} takes a whole number from ${min}, not "${v}"`);
      return n;
    };
    const names = fuzzTargets(values.seeds).map((t) => t.name);
    const targets = values.target ?? names;
    const bad = targets.filter((t) => !names.includes(t));
    if (bad.length > 0) throw new Error(`unknown target ${bad.map((b) => `'${b}'`).join(', ')}`);
    return {
      targets,
      inputs: num(values.inputs, '--inputs', 1),
      seed: num(values.seed, '--seed', 0),
      workers: values.j === undefined ? availableParallelism() : num(values.j, '-j', 1),
      seedDir: values.seeds,
      out: values.out,
      hangMs: num(values['hang-ms'], '--hang-ms', 1),
    };
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

/**
 * One target on `workers` threads (each its own seed's sequence, hang-guarded):
 * their stats merged. Each finding is written to `out` as it arrives and
 * progress is shown as the workers report it (report.ts).
 */
const total = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

async function fuzzOnWorkers(
  target: FuzzTarget,
  o: ReturnType<typeof options>,
): Promise<{ stats: FuzzStats; written: Set<string> }> {
  const { inputs, seed, workers, hangMs } = o;
  const share = (w: number) => Math.floor(inputs / workers) + (w < inputs % workers ? 1 : 0);
  const done = new Array<number>(workers).fill(0);
  const found = new Array<number>(workers).fill(0);
  const progress = new FuzzProgress(target.name, inputs, process.stderr);
  const written = new Set<string>();
  const hangs: FuzzFinding[] = [];
  const arrived = (f: FuzzFinding) => {
    const file = writeFinding(o.out, f);
    written.add(file);
    progress.end();
    process.stderr.write(`${target.name}: ${f.kind} at input ${f.index} of seed ${f.rngSeed}: ${file}\n`);
  };
  const runs = await Promise.all(
    Array.from({ length: workers }, (_, w) =>
      runGuarded({
        workerUrl: new URL('./worker.js', import.meta.url),
        workerData: (from) => ({
          target: target.name,
          inputs: share(w),
          seed: seed + w,
          seedDir: o.seedDir,
          from,
        }),
        inputs: share(w),
        hangMs,
        onProgress: (n, f) => {
          done[w] = n;
          found[w] = f;
          progress.update(total(done), total(found));
        },
        onFinding: arrived,
        onHang: (index) => {
          // A hung input is generated again here: its worker is gone.
          const { seed: from, input } = inputAt(target, seed + w, index);
          const f: FuzzFinding = {
            target: target.name,
            seed: from,
            rngSeed: seed + w,
            index,
            kind: 'hang',
            message: `still running after ${hangMs} ms: its worker was stopped`,
            ms: hangMs,
            input,
          };
          hangs.push(f);
          arrived(f);
        },
      }),
    ),
  );
  progress.end();
  const parts = runs.flatMap((r) => r.parts);
  const sum = (f: (p: FuzzStats) => number) => parts.reduce((a, p) => a + f(p), 0);
  const stats: FuzzStats = {
    target: target.name,
    seeds: target.seeds.length,
    inputs,
    outcomes: {
      rejected: sum((p) => p.outcomes.rejected),
      parsed: sum((p) => p.outcomes.parsed),
      booted: sum((p) => p.outcomes.booted),
    },
    found: sum((p) => p.found) + hangs.length,
    findings: [...hangs, ...parts.flatMap((p) => p.findings)],
    slowestMs: Math.max(0, ...parts.map((p) => p.slowestMs)),
    seconds: Math.max(...runs.map((r) => r.parts.reduce((a, p) => a + p.seconds, 0))),
  };
  return { stats, written };
}

/**
 * The findings folder, made before the run so that a folder that cannot be
 * written is said at once (exit 2), not by the first finding; returns
 * whether it was made here (and so is removed again if nothing is found).
 */
function findingsFolder(out: string): boolean {
  try {
    const made = mkdirSync(out, { recursive: true }) !== undefined;
    accessSync(out, constants.W_OK);
    return made;
  } catch (e) {
    console.error(
      `--out ${out}: cannot write findings there (${(e as NodeJS.ErrnoException).code ?? e})\n${USAGE}`,
    );
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const o = options();
  const madeOut = findingsFolder(o.out);
  console.log(
    `iommu-lab fuzz (node ${process.version}; ${o.inputs} inputs per target, seeds ${o.seed}..${o.seed + o.workers - 1}, ${o.workers} workers)`,
  );
  console.log('target    seeds     inputs   rejected     parsed   booted  findings  slowest   inputs/s');
  let found = 0;
  for (const name of o.targets) {
    const target = fuzzTargets(o.seedDir).find((t) => t.name === name)!;
    const { stats: s, written } = await fuzzOnWorkers(target, o);
    console.log(
      `${name.padEnd(9)}${String(s.seeds).padStart(6)}${String(s.inputs).padStart(11)}${String(s.outcomes.rejected).padStart(11)}${String(s.outcomes.parsed).padStart(11)}${String(s.outcomes.booted).padStart(9)}${String(s.found).padStart(10)}${`${s.slowestMs.toFixed(0)} ms`.padStart(9)}${String(Math.round(s.inputs / s.seconds)).padStart(11)}`,
    );
    found += s.found;
    // Written as they arrived (a worker's stats hold copies of what it posted, matched by file name).
    for (const f of s.findings) {
      const bin = `${findingBase(o.out, f)}.bin`;
      const file = written.has(bin) ? bin : writeFinding(o.out, f);
      console.log(`  ${f.kind}: ${f.message.split('\n')[0]}  (input: ${file})`);
    }
  }
  // A worker stopped by the hang guard never removed its scratch folder.
  for (const d of readdirSync(tmpdir()))
    if (d.startsWith(`${SCRATCH_PREFIX}${process.pid}-`))
      rmSync(join(tmpdir(), d), { recursive: true, force: true });
  if (madeOut && readdirSync(o.out).length === 0) rmdirSync(o.out);
  if (found > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
