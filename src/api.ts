// SPDX-License-Identifier: GPL-2.0-only
/**
 * The public entry points: boot a platform or run a scenario under a profile
 * and get the result as plain data (the same objects `--json` prints).
 */
import { InputError } from './input/input-error.js';
import type { ProfileName } from './profile/profile.js';
import type { PlatformDesc } from './platform/schema.js';
import type { Scenario } from './scenario/schema.js';
import type { Snapshot } from './report/snapshot.js';
import type { Leak } from './checker/teardown.js';
import type { InvariantViolation } from './checker/invariants.js';
import type { ScenarioResult } from './scenario/run.js';
import { bootPlatform } from './platform/boot.js';
import { snapshot } from './report/snapshot.js';
import { teardown, leakReport } from './checker/teardown.js';
import { checkInvariants } from './checker/invariants.js';
import { runScenario } from './scenario/run.js';
import { loadPlatform } from './platform/load.js';
import { resolveBuiltinPlatform } from './scenario/load.js';
import { DEFAULT_PROFILE } from './profile/profiles.js';
import { existsSync, statSync } from 'node:fs';
import {
  classifyInput,
  platformFromInputs,
  type InputsOptions,
  type PlatformFirmware,
} from './platform/firmware.js';
import { runRecord, type RunRecord } from './report/run-record.js';
import { applyTopologyEdits } from './platform/what-if.js';
import {
  isSnapshotPath,
  readSnapshot,
  readSnapshotArchive,
  type MachineSnapshot,
} from './snapshot/snapshot.js';
import {
  compareWithMachine,
  machineFromSnapshot,
  type MachineAgreement,
  type SnapshotMachine,
} from './snapshot/machine.js';

export interface BootResult extends Snapshot, RunRecord {
  readonly platform: string;
  readonly cmdline: string;
  /** Objects still allocated after teardown. */
  readonly leaks: Leak[];
  readonly invariantViolations: InvariantViolation[];
}

export interface BootRunOptions {
  readonly profile?: ProfileName;
  readonly cmdline?: string;
  readonly failNth?: number;
  readonly file?: string;
  /** Parsed binary ACPI tables (from loadPlatform() or platformFromInputs()). */
  readonly firmware?: PlatformFirmware;
}

/** Boot a platform description, read its state, tear it down and report leaks. */
export function boot(desc: PlatformDesc, opts: BootRunOptions = {}): BootResult {
  const bp = bootPlatform(desc, { ...opts, profile: opts.profile ?? DEFAULT_PROFILE });
  const k = bp.k;
  const violations = checkInvariants(k);
  const snap = snapshot(k);
  teardown(k);
  return {
    ...snap,
    ...runRecord(k, opts.failNth),
    platform: desc.name,
    cmdline: k.cmdline.raw,
    leaks: leakReport(k),
    invariantViolations: violations,
  };
}

/** Boot a built-in platform by name, or a platform JSON file by path. */
export function bootByName(nameOrPath: string, opts: BootRunOptions = {}): BootResult {
  const { desc, file, firmware } = loadPlatform(nameOrPath);
  return boot(desc, { ...opts, file, firmware });
}

/**
 * Boot from what a machine provides: binary ACPI tables (DMAR, IVRS) and a
 * PCI dump (`lspci -D -xxxx` text or a /sys/bus/pci/devices copy), each
 * recognised by its content; or a single platform JSON file or built-in name.
 */
export function bootInputs(paths: readonly string[], opts: BootRunOptions & InputsOptions = {}): BootResult {
  const { desc, file, firmware } = loadInputs(paths, opts);
  return boot(desc, { ...opts, file, firmware });
}

/** The platform `bootInputs()` would boot: one platform (name or JSON file), or loose firmware files. */
export function loadInputs(
  paths: readonly string[],
  opts: InputsOptions = {},
): { desc: PlatformDesc; file: string; firmware: PlatformFirmware } {
  let loaded: { desc: PlatformDesc; file: string; firmware: PlatformFirmware };
  const p = paths[0];
  if (paths.length === 1 && isSnapshotPath(p)) {
    const m = machineFromSnapshot(readSnapshot(p), opts);
    return { desc: m.desc, file: m.file, firmware: m.firmware };
  }
  if (
    paths.length === 1 &&
    (!existsSync(p) || (!statSync(p).isDirectory() && classifyInput(p).kind === 'platform'))
  ) {
    loaded = loadPlatform(p);
    if (opts.arch && opts.arch !== loaded.desc.arch)
      throw new InputError(
        loaded.file,
        'arch',
        `the platform is ${loaded.desc.arch}: --arch ${opts.arch} is for firmware files that do not say`,
      );
    if (opts.hypervisor) loaded = { ...loaded, desc: { ...loaded.desc, hypervisor: true } };
  } else {
    loaded = platformFromInputs(paths, opts);
  }
  if (opts.acsRequest) loaded = { ...loaded, desc: { ...loaded.desc, acsRequest: opts.acsRequest } };
  if (opts.bind) loaded = { ...loaded, desc: { ...loaded.desc, bind: opts.bind } };
  if (opts.kconfig)
    loaded = { ...loaded, desc: { ...loaded.desc, kconfig: { ...loaded.desc.kconfig, ...opts.kconfig } } };
  if (opts.edits) loaded = { ...loaded, desc: applyTopologyEdits(loaded.desc, opts.edits, loaded.file) };
  return loaded;
}

export interface SnapshotBoot {
  /** The model's boot of the machine (under the machine's kernel and command line unless opts change them). */
  readonly result: BootResult;
  readonly machine: SnapshotMachine;
  readonly snapshot: MachineSnapshot;
  /** Where the model and the machine's live IOMMU groups agree or differ. */
  readonly agreement: MachineAgreement;
}

/**
 * Boot a snapshot of a real machine (snapshot/iommu-snapshot.sh's archive or
 * folder) and compare the result with the machine's own groups. `profile`
 * and `cmdline` are what-ifs over the machine's kernel and command line.
 */
export function bootSnapshot(path: string, opts: BootRunOptions & InputsOptions = {}): SnapshotBoot {
  return bootReadSnapshot(readSnapshot(path), opts);
}

/**
 * bootSnapshot() of an archive's bytes (.tar or .tar.gz) rather than a file,
 * for an archive uploaded or received over a network: nothing touches the
 * disk. `name` names it in errors.
 */
export function bootSnapshotArchive(
  archive: Uint8Array,
  name: string,
  opts: BootRunOptions & InputsOptions = {},
): SnapshotBoot {
  return bootReadSnapshot(readSnapshotArchive(archive, name), opts);
}

function bootReadSnapshot(snap: MachineSnapshot, opts: BootRunOptions & InputsOptions): SnapshotBoot {
  const b = bootMachineSnapshot(snap, opts, opts.profile, opts.cmdline, opts.failNth);
  return { result: b.result, machine: b.machine, snapshot: snap, agreement: b.agreement };
}

/** A read snapshot booted (profile and cmdline: what-ifs over the machine's) and compared with its machine. */
function bootMachineSnapshot(
  snap: MachineSnapshot,
  opts: InputsOptions,
  profile: ProfileName | undefined,
  cmdline: string | undefined,
  failNth?: number,
) {
  const machine = machineFromSnapshot(snap, { ...opts, profile, cmdline });
  const run = {
    profile: machine.profile,
    cmdline: machine.cmdline,
    file: machine.file,
    firmware: machine.firmware,
  };
  const result = boot(machine.desc, { ...run, failNth });
  return { result, machine, run, agreement: compareWithMachine(result, snap) };
}

/** A boot of any inputs, with what it was booted from (so that it can be booted again, modified). */
export interface InputsBoot {
  readonly result: BootResult;
  readonly desc: PlatformDesc;
  readonly file: string;
  readonly firmware: PlatformFirmware;
  readonly profile: ProfileName;
  readonly cmdline: string | undefined;
  /** For a snapshot: how it was modelled, and the model against the machine. */
  readonly snapshot?: { readonly machine: SnapshotMachine; readonly agreement: MachineAgreement };
}

/**
 * Boot a built-in platform, a platform file, firmware files with a PCI dump,
 * or a snapshot (under its machine's kernel and command line unless profile
 * or cmdline say otherwise), with the what-ifs in opts.
 */
export function bootAnyInputs(
  paths: readonly string[],
  opts: InputsOptions,
  profile?: ProfileName,
  cmdline?: string,
): InputsBoot {
  if (paths.length === 1 && isSnapshotPath(paths[0])) {
    const b = bootMachineSnapshot(readSnapshot(paths[0]), opts, profile, cmdline);
    return {
      result: b.result,
      desc: b.machine.desc,
      ...b.run,
      snapshot: { machine: b.machine, agreement: b.agreement },
    };
  }
  const { desc, file, firmware } = loadInputs(paths, opts);
  const p = profile ?? DEFAULT_PROFILE;
  return {
    result: boot(desc, { profile: p, cmdline, file, firmware }),
    desc,
    file,
    firmware,
    profile: p,
    cmdline,
  };
}

export interface ScenarioRunOptions {
  readonly profile?: ProfileName;
  readonly failNth?: number;
  readonly cmdline?: string;
  readonly checkInvariants?: boolean;
  readonly file?: string;
}

/** Run a validated scenario under one profile. */
export function scenario(sc: Scenario, opts: ScenarioRunOptions = {}): ScenarioResult {
  return runScenario(sc, {
    profile: opts.profile ?? DEFAULT_PROFILE,
    failNth: opts.failNth,
    cmdline: opts.cmdline,
    checkInvariants: opts.checkInvariants ?? true,
    resolvePlatform: resolveBuiltinPlatform,
    file: opts.file,
  });
}
