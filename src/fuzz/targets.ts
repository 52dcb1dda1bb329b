// SPDX-License-Identifier: GPL-2.0-only
/**
 * What the fuzzer feeds: each parser iommu-lab reads untrusted input with,
 * its seeds (real inputs: the shared fixtures when they are beside the
 * repository or given with --seeds, else the inputs the built-in platforms
 * ship), how a seed is mutated, and what is run on a mutant: the parser, and
 * for one accepted mutant in BOOT_EVERY the whole boot (probe, groups,
 * teardown, leak report) on what it parsed. An InputError is the documented
 * outcome for bad input; anything else thrown is a finding.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { boot } from '../api.js';
import type { BootLike } from '../checker/sweep.js';
import { runFindings } from '../checker/sweep.js';
import { parseFdt } from '../firmware/fdt/fdt-parse.js';
import { importLspci } from '../pci/import/lspci.js';
import type { MutableFirmware } from '../platform/firmware.js';
import { parseAcpiInto, platformFromParts } from '../platform/firmware.js';
import { builtinPlatformNames, packageRoot, parsePlatform } from '../platform/load.js';
import { builtinScenarioNames, parseScenario, resolveBuiltinPlatform } from '../scenario/load.js';
import { runScenario } from '../scenario/run.js';
import type { Rng } from './mutate.js';
import { fixAcpiChecksum, mutateBytes, mutateJson, mutateText } from './mutate.js';
import { snapshotTarget } from './snapshot-target.js';
import { sysfsTarget } from './sysfs-target.js';

/** One accepted mutant in this many is booted (or run, for scenarios) as well as parsed. */
export const BOOT_EVERY = 8;

/** What a mutant did: rejected with an InputError, accepted, or accepted and booted. */
export type Outcome = 'rejected' | 'parsed' | 'booted';

export interface FuzzTarget {
  readonly name: string;
  readonly seeds: readonly { readonly file: string; readonly bytes: Uint8Array }[];
  mutate(seed: Uint8Array, rng: Rng): Uint8Array;
  /** Runs one input; throws InputError for bad input. `deep`: boot what it parsed too. */
  run(input: Uint8Array, deep: boolean): Outcome;
  /** Frees what the runs kept (a scratch folder); called once the run is over. */
  dispose?(): void;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const FILE = '<fuzz>';

/** The files of a folder whose names match, or none when it is not there. */
export function filesIn(dir: string, match: RegExp): { file: string; bytes: Uint8Array }[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((f) => match.test(f))
    .sort()
    .map((f) => ({ file: join(dir, f), bytes: new Uint8Array(readFileSync(join(dir, f))) }));
}

/** Where the seeds come from: a fixtures folder (acpi/, dtb/) and the package's own inputs. */
export function defaultSeedDir(): string {
  return join(packageRoot, '..', 'shared', 'fixtures');
}

/**
 * What a boot or scenario run reported that the model must never do,
 * whatever its input: a leak or a broken invariant that is not a known
 * kernel bug. Thrown so that the fuzz loop records it as a finding.
 */
export class ModelFinding extends Error {
  override readonly name = 'ModelFinding';
}

/** Throws ModelFinding for a run's leaks and broken invariants that are not known kernel bugs. */
export function expectClean(r: BootLike): void {
  const bad = runFindings(0, r).map((f) => `${f.kind}: ${f.message}`);
  if (bad.length > 0) throw new ModelFinding(bad.join('; '));
}

/** Boots a platform made of what a parser read, and checks what the boot and its teardown left. */
export function bootParts(fw: MutableFirmware, pci: unknown[] | undefined): void {
  const { desc, firmware } = platformFromParts(fw, pci, FILE, 'fuzz', 'fuzz');
  expectClean(boot(desc, { firmware }));
}

function acpiTarget(signature: string, seedDir: string): FuzzTarget {
  const fwDir = join(packageRoot, 'platforms', 'firmware');
  const own = existsSync(fwDir)
    ? readdirSync(fwDir).flatMap((d) => filesIn(join(fwDir, d), new RegExp(`^${signature}\\.dat$`)))
    : [];
  return {
    name: signature,
    seeds: [...filesIn(join(seedDir, 'acpi'), new RegExp(`\\.${signature}\\.(dat|aml)$`)), ...own],
    // Half the mutants get their checksum set right, to reach the structure checks.
    mutate: (seed, rng) =>
      rng.below(2) === 0 ? fixAcpiChecksum(mutateBytes(seed, rng)) : mutateBytes(seed, rng),
    run(input, deep) {
      const fw: MutableFirmware = {};
      parseAcpiInto(fw, signature, input, FILE);
      if (!deep) return 'parsed';
      bootParts(fw, undefined);
      return 'booted';
    },
  };
}

function fdtTarget(seedDir: string): FuzzTarget {
  return {
    name: 'FDT',
    seeds: filesIn(join(seedDir, 'dtb'), /\.dtb$/),
    mutate: mutateBytes,
    run(input, deep) {
      const fdt = parseFdt(input, FILE);
      if (!deep) return 'parsed';
      bootParts({ fdt }, undefined);
      return 'booted';
    },
  };
}

function lspciTarget(seedDir: string): FuzzTarget {
  // The built-in platforms' dumps, and the groundtruth machines' beside the fixtures.
  const gt = join(seedDir, '..', 'groundtruth');
  const dirs = [
    ...builtinPlatformNames().map((n) => join(packageRoot, 'platforms', 'firmware', n)),
    ...(existsSync(gt) ? readdirSync(gt).map((d) => join(gt, d)) : []),
  ];
  const seeds = dirs.flatMap((d) => filesIn(d, /^lspci\.txt$/));
  return {
    name: 'lspci',
    seeds,
    mutate: (seed, rng) => enc.encode(mutateText(dec.decode(seed), rng)),
    run(input, deep) {
      const pci = importLspci(dec.decode(input), FILE);
      if (!deep) return 'parsed';
      bootParts({}, pci);
      return 'booted';
    },
  };
}

/** A JSON input: mutated as a value, parsed by `parse`, run by `use` when deep. */
function jsonTarget(
  name: string,
  files: readonly string[],
  parse: (v: unknown) => unknown,
  use: (parsed: unknown) => void,
): FuzzTarget {
  return {
    name,
    seeds: files.map((file) => ({ file, bytes: new Uint8Array(readFileSync(file)) })),
    mutate: (seed, rng) =>
      rng.below(8) === 0
        ? enc.encode(mutateText(dec.decode(seed), rng))
        : enc.encode(JSON.stringify(mutateJson(JSON.parse(dec.decode(seed)), rng))),
    run(input, deep) {
      let v: unknown;
      try {
        v = JSON.parse(dec.decode(input));
      } catch {
        return 'rejected';
      }
      const parsed = parse(v);
      if (!deep) return 'parsed';
      use(parsed);
      return 'booted';
    },
  };
}

export function fuzzTargets(seedDir = defaultSeedDir()): FuzzTarget[] {
  const platformFiles = builtinPlatformNames().map((n) => join(packageRoot, 'platforms', `${n}.json`));
  const scenarioFiles = builtinScenarioNames().map((n) => join(packageRoot, 'scenarios', `${n}.json`));
  return [
    fdtTarget(seedDir),
    ...['DMAR', 'IVRS', 'IORT', 'VIOT'].map((s) => acpiTarget(s, seedDir)),
    lspciTarget(seedDir),
    jsonTarget(
      'platform',
      platformFiles,
      (v) => parsePlatform(v, FILE),
      // File references (lspci, acpi) resolve against the package, as the built-in ones do.
      (desc) =>
        expectClean(
          boot(desc as ReturnType<typeof parsePlatform>, {
            file: join(packageRoot, 'platforms', 'fuzz.json'),
          }),
        ),
    ),
    jsonTarget(
      'scenario',
      scenarioFiles,
      (v) => parseScenario(v, FILE),
      (sc) =>
        expectClean(
          runScenario(sc as ReturnType<typeof parseScenario>, {
            profile: 'v6.12',
            checkInvariants: true,
            resolvePlatform: resolveBuiltinPlatform,
          }),
        ),
    ),
    snapshotTarget(seedDir),
    sysfsTarget(seedDir),
  ].filter((t) => t.seeds.length > 0);
}
