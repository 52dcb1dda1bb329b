#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-only
/**
 * The iommu-lab command line. Exit codes: 0 success; 1 the run found what it
 * checks for (a scenario that does not match its expectation, a leak that is
 * not a known kernel bug, a broken invariant, a snapshot whose model differs
 * from the machine); 2 bad input or usage.
 */
import { Command, CommanderError, Option } from 'commander';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  boot,
  bootAnyInputs,
  bootInputs,
  bootSnapshot,
  scenario as runScenarioApi,
  type BootResult,
} from '../api.js';
import { explainDevice } from '../report/explain.js';
import { InputError } from '../input/input-error.js';
import { profileNames, type ProfileName } from '../profile/profile.js';
import { profiles, DEFAULT_PROFILE } from '../profile/profiles.js';
import { DEFAULT_PLATFORM, builtinPlatformNames, packageRoot } from '../platform/load.js';
import { builtinScenarioNames, loadScenario } from '../scenario/load.js';
import { diffRuns } from '../report/diff.js';
import { formatAgreement, formatBoot, formatDiff, formatScenario, safe } from './text.js';
import { isSnapshotPath } from '../snapshot/snapshot.js';
import { hasTopologyEdits } from '../platform/what-if.js';
import { renderReport } from '../report/report.js';
import { colourEnabled, colourize } from './colour.js';
import { progress, type Progress } from './progress.js';
import { availableParallelism } from 'node:os';
import { sweepJobs } from '../sweep/jobs.js';
import { iommufdFailNthTests } from '../iommufd/fail-nth.js';
import { runSweep } from '../sweep/pool.js';
import { formatSweep, summarize } from '../sweep/format.js';
import type { ScenarioResult } from '../scenario/run.js';
import type { BindPolicy } from '../platform/stock-drivers.js';
import type { InputsOptions } from '../platform/firmware.js';
import { parseKconfigAssignment, type Kconfig } from '../kernel/kconfig.js';

/** The collection script `iommu-lab snapshot` hands out (shipped in the package). */
const SNAPSHOT_SCRIPT = join(packageRoot, 'snapshot', 'iommu-snapshot.sh');

const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string })
  .version;

function profileOption(): Option {
  return new Option('-p, --profile <version>', 'kernel profile')
    .choices([...profileNames])
    .default(DEFAULT_PROFILE);
}

/** An option value parser for a whole number from 1. */
function wholeNumber(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
      throw new CommanderError(2, 'iommu-lab.wholeNumber', `${flag} takes a whole number from 1, not "${v}"`);
    return n;
  };
}

/**
 * Writes an -o file; a path that cannot be written (no such folder, a
 * folder, no permission) is the user's input at fault: an InputError, exit 2.
 */
function writeOutput(file: string, data: string, mode?: number): void {
  try {
    writeFileSync(file, data);
    if (mode !== undefined) chmodSync(file, mode);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why: Record<string, string> = {
      ENOENT: 'its folder does not exist',
      EISDIR: 'it is a folder',
      EACCES: 'permission denied',
      EROFS: 'read-only file system',
      ENOTDIR: 'a part of its path is not a folder',
    };
    throw new InputError(file, '', `cannot write the output: ${why[err.code ?? ''] ?? err.message}`);
  }
}

function failNthOption(): Option {
  return new Option('--fail-nth <n>', "fail the Nth allocation (like the kernel's fail-nth)").argParser(
    wholeNumber('--fail-nth'),
  );
}

function bindOption(): Option {
  return new Option(
    '--bind <devices>',
    'which devices have their driver loaded: all (default for firmware inputs), none (built-in drivers only), or a comma list (0000:01:00.0,ff3d0000.iommu)',
  ).argParser((v): BindPolicy => {
    if (v === 'all' || v === 'none') return v;
    const list = v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    if (list.length === 0)
      throw new CommanderError(2, 'iommu-lab.bind', '--bind takes all, none or a comma list of devices');
    return list;
  });
}

function kconfigOption(): Option {
  return new Option(
    '--kconfig <NAME=y|m|n>',
    'a Kconfig option over the distribution default (repeatable): EXYNOS_IOMMU=y, ARM_SMMU_LEGACY_DT_BINDINGS=y …',
  ).argParser((v: string, prev: Partial<Kconfig> | undefined) => {
    const a = parseKconfigAssignment(v);
    if (typeof a === 'string') throw new CommanderError(2, 'iommu-lab.kconfig', `--kconfig: ${a}`);
    return { ...prev, [a.key]: a.value };
  });
}

/** The options that describe the machine booted from loose inputs, and the what-ifs on any platform. */
interface MachineOptions {
  arch?: 'x86_64' | 'arm64' | 'arm';
  hypervisor?: boolean;
  acsRequest?: 'firmware' | 'before-enumeration' | 'after-enumeration';
  bind?: BindPolicy;
  kconfig?: Partial<Kconfig>;
  acs?: string[];
  remove?: string[];
  add?: string[];
}

/** A comma list, repeatable: every name given. */
function names(v: string, prev: string[] | undefined): string[] {
  return [
    ...(prev ?? []),
    ...v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ];
}

function addMachineOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--arch <arch>', 'architecture, when the inputs do not say').choices([
        'x86_64',
        'arm64',
        'arm',
      ]),
    )
    .option('--hypervisor', 'the machine is a virtual machine (AMD-Vi then forces strict invalidation)')
    .addOption(
      new Option('--acs-request <when>', 'when pci_request_acs() happens, as a what-if').choices([
        'firmware',
        'before-enumeration',
        'after-enumeration',
      ]),
    )
    .addOption(bindOption())
    .addOption(kconfigOption())
    .option(
      '--acs <devices>',
      'what-if: these PCI functions have ACS, enabled (comma list, repeatable)',
      names,
    )
    .option('--remove <devices>', 'what-if: remove these PCI functions, and all behind a bridge', names)
    .option(
      '--add <BDF=VVVV:DDDD>',
      'what-if: add a PCI function (an endpoint; BDF=TYPE:VVVV:DDDD for legacy-endpoint, rc-endpoint, conventional) on an existing bus (repeatable)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    );
}

function machineOf(o: MachineOptions): InputsOptions {
  return {
    arch: o.arch,
    hypervisor: o.hypervisor,
    acsRequest: o.acsRequest,
    bind: o.bind,
    kconfig: o.kconfig,
    edits: { acs: o.acs, remove: o.remove, add: o.add },
  };
}

function print(json: boolean, value: unknown, text: () => string): void {
  if (json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  else process.stdout.write((colourEnabled(process.stdout) ? colourize(text()) : text()) + '\n');
}

function bootFindings(r: BootResult): boolean {
  return r.leaks.some((l) => !l.knownBug) || r.invariantViolations.some((v) => !v.knownBug);
}

function scenarioFindings(r: ScenarioResult): boolean {
  return (
    (r.expectation !== null && !r.expectation.ok) ||
    r.leaks.some((l) => !l.knownBug) ||
    r.invariantViolations.some((v) => !v.knownBug)
  );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A built-in scenario name, or a JSON file with a "steps" array (a platform has none). */
function isScenario(name: string): boolean {
  if (builtinScenarioNames().includes(name)) return true;
  if (!name.endsWith('.json')) return false;
  try {
    const data = JSON.parse(readFileSync(name, 'utf8')) as unknown;
    return typeof data === 'object' && data !== null && Array.isArray((data as { steps?: unknown }).steps);
  } catch {
    return false; // the platform loader reports unreadable files
  }
}

/** Whether the options change the machine (the what-ifs a comparison run applies). */
function isWhatIf(o: InputsOptions): boolean {
  return (
    hasTopologyEdits(o.edits ?? {}) ||
    o.kconfig !== undefined ||
    o.bind !== undefined ||
    o.acsRequest !== undefined
  );
}

/** The what-ifs in words, for the label of the run they apply to. */
function whatIfWords(o: InputsOptions): string[] {
  const out: string[] = [];
  if (o.edits?.acs?.length) out.push(`--acs ${o.edits.acs.join(',')}`);
  if (o.edits?.remove?.length) out.push(`--remove ${o.edits.remove.join(',')}`);
  for (const a of o.edits?.add ?? []) out.push(`--add ${a}`);
  for (const [k, v] of Object.entries(o.kconfig ?? {}))
    out.push(`CONFIG_${k}=${v === true ? 'y' : v === false ? 'n' : String(v)}`);
  if (o.bind) out.push(`--bind ${Array.isArray(o.bind) ? o.bind.join(',') : o.bind}`);
  if (o.acsRequest) out.push(`--acs-request ${o.acsRequest}`);
  return out;
}

export function buildProgram(): Command {
  const program = new Command();
  // Set before the subcommands are added, so that they inherit it.
  program.exitOverride();
  program.configureOutput({ writeErr: (str) => process.stderr.write(str) });
  program
    .name('iommu-lab')
    .description(
      "The Linux kernel's IOMMU subsystem as an executable model: boot a platform under a kernel version and see which IOMMU each device got, its group, its default domain, and any WARN or leak.",
    )
    .version(version)
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Examples:
  iommu-lab boot                                   # the built-in ${DEFAULT_PLATFORM} platform under ${DEFAULT_PROFILE}
  iommu-lab boot ${DEFAULT_PLATFORM} --profile v6.12 --cmdline iommu.passthrough=1
  iommu-lab scenario seed-mock-ops --profile v6.8  # the seed bug: the mock device gets Intel's ops
  iommu-lab diff --profile v6.7 --profile v6.8 seed-mock-ops
  iommu-lab snapshot -o iommu-snapshot.sh          # then, on a real machine: sudo sh iommu-snapshot.sh
  iommu-lab boot iommu-snapshot-*.tar.gz           # that machine modelled, and compared with its live groups
  iommu-lab report -o report.html                  # the topology as a page: click a device for why
  iommu-lab diff --acs 0000:00:03.0                # what ACS on that root port would split
  iommu-lab profiles

Exit codes: 0 success; 1 a finding (expectation mismatch, leak that is not a known kernel bug,
broken invariant, a snapshot's model differing from the machine); 2 bad input or usage.`,
    );

  const bootCmd = program
    .command('boot')
    .description(
      'boot a platform, or firmware files and a PCI dump, and print its IOMMU groups, devices, WARNs and leaks',
    )
    .argument(
      '[inputs...]',
      `a built-in platform (${builtinPlatformNames().join(', ')}) or a platform JSON file; or firmware (ACPI DMAR, IVRS, VIOT, IORT tables; a device-tree blob, gzipped or not) and a PCI dump (lspci -D -xxxx text, or a copy of /sys/bus/pci/devices), recognised by content; or a snapshot of a real machine (iommu-lab snapshot), booted under its own kernel and command line and compared with its live groups`,
    )
    .addOption(profileOption())
    .option(
      '--cmdline <args>',
      'extra kernel command line (iommu.passthrough=1, iommu.strict=0, intel_iommu=off …)',
    );
  addMachineOptions(bootCmd)
    .addOption(failNthOption())
    .option('--json', 'print the result as JSON (docs/JSON.md)')
    .option('-v, --verbose', 'say why: group reasons, default-type decisions, each device history')
    .addHelpText(
      'after',
      `\nExamples:\n  iommu-lab boot\n  iommu-lab boot arm64-dt-smmuv3-mini --profile v6.15 --json\n  iommu-lab boot my-board.json --cmdline iommu.strict=1 -v\n  iommu-lab boot DMAR.dat lspci.txt --cmdline intel_iommu=on\n  iommu-lab boot IVRS.dat /sys/bus/pci/devices --hypervisor\n  iommu-lab boot IORT.dat lspci.txt --profile v6.15\n  iommu-lab boot system.dtb.gz lspci.txt\n  iommu-lab boot board.dtb --kconfig EXYNOS_IOMMU=y --bind none --profile v6.15\n  iommu-lab boot iommu-snapshot-20261205.tar.gz             # a real machine: model vs live groups\n  iommu-lab boot iommu-snapshot-20261205.tar.gz --profile v6.18 --cmdline iommu.passthrough=1`,
    )
    .action(
      (
        inputs: string[],
        o: MachineOptions & {
          profile: ProfileName;
          cmdline?: string;
          failNth?: number;
          json?: boolean;
          verbose?: boolean;
        },
      ) => {
        if (inputs.length === 1 && isSnapshotPath(inputs[0])) {
          // A real machine: its own kernel and command line unless --profile says otherwise.
          const s = bootSnapshot(inputs[0], {
            profile: bootCmd.getOptionValueSource('profile') === 'default' ? undefined : o.profile,
            cmdline: o.cmdline,
            failNth: o.failNth,
            ...machineOf(o),
          });
          print(
            !!o.json,
            {
              ...s.result,
              machine: { profile: s.machine.profile, notes: s.machine.notes },
              agreement: s.agreement,
            },
            () => formatBoot(s.result, !!o.verbose) + formatAgreement(s.machine.notes, s.agreement),
          );
          // A what-if is expected to differ from the machine; the machine as it is, not.
          if (bootFindings(s.result) || (!s.agreement.agrees && !s.machine.whatIf)) process.exitCode = 1;
          return;
        }
        const r = bootInputs(inputs.length ? inputs : [DEFAULT_PLATFORM], {
          profile: o.profile,
          cmdline: o.cmdline,
          failNth: o.failNth,
          ...machineOf(o),
        });
        print(!!o.json, r, () => formatBoot(r, !!o.verbose));
        if (bootFindings(r)) process.exitCode = 1;
      },
    );

  program
    .command('scenario')
    .description('run a scenario (steps on a platform) and compare with what it expects for the kernel')
    .argument('[scenario]', 'a built-in scenario name or a scenario JSON file')
    .addOption(
      new Option('-p, --profile <version>', 'kernel profile, or "all"')
        .choices([...profileNames, 'all'])
        .default(DEFAULT_PROFILE),
    )
    .option('--cmdline <args>', 'extra kernel command line')
    .addOption(failNthOption())
    .option('--list', 'list the built-in scenarios')
    .option('--json', 'print the result as JSON')
    .option('-v, --verbose', 'say why, as for boot')
    .addHelpText(
      'after',
      `\nExamples:\n  iommu-lab scenario --list\n  iommu-lab scenario seed-mock-ops --profile all\n  iommu-lab scenario release-leak --profile v6.4 --json\n  iommu-lab scenario probe-defer --fail-nth 12`,
    )
    .action(
      (
        name: string | undefined,
        o: {
          profile: ProfileName | 'all';
          cmdline?: string;
          failNth?: number;
          list?: boolean;
          json?: boolean;
          verbose?: boolean;
        },
      ) => {
        if (o.list || !name) {
          const rows = builtinScenarioNames().map((n) => {
            const { scenario } = loadScenario(n);
            return {
              name: n,
              title: scenario.title,
              platform: typeof scenario.platform === 'string' ? scenario.platform : scenario.platform.name,
            };
          });
          print(!!o.json, rows, () =>
            rows.map((r) => `${r.name.padEnd(22)} ${r.title}  [${r.platform}]`).join('\n'),
          );
          return;
        }
        const { scenario, file } = loadScenario(name);
        const list = o.profile === 'all' ? (scenario.profiles ?? [...profileNames]) : [o.profile];
        const bar = progress(list.length, `${name} under`);
        const results = list.map((p) => {
          const r = runScenarioApi(scenario, { profile: p, failNth: o.failNth, cmdline: o.cmdline, file });
          bar.tick(p);
          return r;
        });
        bar.done();
        print(!!o.json, o.profile === 'all' ? results : results[0], () =>
          results.map((r) => formatScenario(r, !!o.verbose)).join('\n\n'),
        );
        if (results.some(scenarioFindings)) process.exitCode = 1;
      },
    );

  program
    .command('sweep')
    .description(
      "rerun scenarios, platform boots and iommufd's fail-nth selftest bodies failing their 1st, 2nd, … Nth allocation, on every core, and report leaks, broken invariants, exceptions and errnos the kernel cannot return there",
    )
    .argument(
      '[names...]',
      `built-in scenarios (${builtinScenarioNames().join(', ')}), platforms (${builtinPlatformNames().join(', ')}) and iommufd's fail-nth selftests (${iommufdFailNthTests.map((t) => `iommufd:${t}`).join(', ')}), or scenario and platform JSON files; default: every built-in one`,
    )
    .addOption(
      new Option(
        '-p, --profile <version>',
        'kernel profile, or "all" (a scenario: the profiles it is meant for)',
      )
        .choices([...profileNames, 'all'])
        .default(DEFAULT_PROFILE),
    )
    .addOption(
      new Option(
        '--only <kind>',
        "only the scenarios, the platform boots, or iommufd's fail-nth tests",
      ).choices(['scenarios', 'boots', 'iommufd']),
    )
    .option('-j, --jobs <n>', 'worker threads (default: one per core)', wholeNumber('--jobs'))
    .option('--limit <n>', 'at most this many fail points per job', wholeNumber('--limit'))
    .option('--json', 'print every job and the totals as JSON')
    .addHelpText(
      'after',
      `\nExit codes: 0 no findings; 1 findings; 2 bad input or usage.\n\nExamples:\n  iommu-lab sweep                                  # every built-in scenario and platform, ${DEFAULT_PROFILE}\n  iommu-lab sweep seed-mock-ops --profile all\n  iommu-lab sweep --only boots --limit 50 -j 2\n  iommu-lab sweep iommufd:map_domain iommufd:device\n  iommu-lab sweep my-scenario.json --json`,
    )
    .action(
      async (
        names: string[],
        o: { profile: ProfileName | 'all'; only?: string; jobs?: number; limit?: number; json?: boolean },
      ) => {
        const jobs = sweepJobs(names, o.profile, o.only);
        const workers = o.jobs ?? availableParallelism();
        const start = performance.now();
        let bar: Progress | null = null;
        const { results, workers: used } = await runSweep(jobs, {
          workers,
          limit: o.limit,
          onProgress: (phase, done, total, job) => {
            if (phase === 'baseline') return;
            bar ??= progress(total, 'sweep');
            bar.tick(`${job.kind} ${job.name} ${job.profile}`);
            if (done === total) bar.done();
          },
        });
        const summary = summarize(results, (performance.now() - start) / 1000, used);
        print(!!o.json, { jobs: results, summary }, () => formatSweep(results, summary));
        if (summary.findings > 0) process.exitCode = 1;
      },
    );

  const diffCmd = program
    .command('diff')
    .description(
      'what changes between two runs: two kernel profiles, two command lines, or a what-if (ACS on a port, a device removed or added, a Kconfig option, other drivers) on a platform, firmware files, a snapshot or a scenario',
    )
    .argument(
      '[inputs...]',
      'a platform or scenario (built-in or a JSON file), firmware files and a PCI dump, or a snapshot, as for boot',
    )
    .option('-p, --profile <version>', 'a kernel profile; give it twice to compare two', collect, [])
    .option(
      '--cmdline <args>',
      'an extra command line; once for both runs, or twice (one per run)',
      collect,
      [],
    );
  addMachineOptions(diffCmd)
    .option('--json', 'print the differences as JSON')
    .addHelpText(
      'after',
      `\nThe what-if options (--acs, --remove, --add, --kconfig, --bind, --acs-request) apply to the second run.\n\nExamples:\n  iommu-lab diff --profile v6.7 --profile v6.8 seed-mock-ops\n  iommu-lab diff --profile v6.12 --profile v6.15 probe-defer\n  iommu-lab diff --profile v6.12 --profile v6.12 --cmdline '' --cmdline iommu.passthrough=1\n  iommu-lab diff x86-q35-vtd-switch --acs 0000:00:03.0           # ACS on the root port: what splits\n  iommu-lab diff DMAR.dat lspci.txt --remove 0000:00:1f.3\n  iommu-lab diff iommu-snapshot.tar.gz --kconfig PCIE_ACS_OVERRIDE=y --cmdline '' --cmdline pcie_acs_override=downstream`,
    )
    .action(
      (inputs: string[], o: MachineOptions & { profile?: string[]; cmdline?: string[]; json?: boolean }) => {
        const ps = o.profile ?? [];
        if (ps.length > 2)
          throw new CommanderError(2, 'iommu-lab.diff', 'diff takes at most two --profile options');
        for (const p of ps)
          if (!(profileNames as readonly string[]).includes(p))
            throw new CommanderError(
              2,
              'iommu-lab.diff',
              `unknown profile "${p}" (${profileNames.join(', ')})`,
            );
        const cl = o.cmdline ?? [];
        if (cl.length > 2)
          throw new CommanderError(2, 'iommu-lab.diff', 'diff takes at most two --cmdline options');
        const cmd = [cl[0], cl.length > 1 ? cl[1] : cl[0]];
        const prof = [ps[0], ps.length > 1 ? ps[1] : ps[0]] as (ProfileName | undefined)[];
        const machine = machineOf(o);
        const whatIf = isWhatIf(machine);
        if (ps.length < 2 && cl.length < 2 && !whatIf)
          throw new CommanderError(
            2,
            'iommu-lab.diff',
            'nothing to compare: give two --profile, two --cmdline, or a what-if (--acs, --remove, --add, --kconfig, --bind, --acs-request)',
          );
        const paths = inputs.length ? inputs : [DEFAULT_PLATFORM];
        const base: InputsOptions = { arch: machine.arch, hypervisor: machine.hypervisor };
        const describe = (p: ProfileName, c: string | undefined, extra: string[]) =>
          [p, c ? `"${c}"` : '', ...extra].filter(Boolean).join(' ');
        let a, b, la, lb;
        if (paths.length === 1 && isScenario(paths[0])) {
          if (whatIf)
            throw new CommanderError(
              2,
              'iommu-lab.diff',
              'the what-if options apply to platforms, not scenarios',
            );
          const { scenario, file } = loadScenario(paths[0]);
          const [pa, pb] = prof.map((p) => p ?? DEFAULT_PROFILE);
          a = runScenarioApi(scenario, { profile: pa, cmdline: cmd[0], file });
          b = runScenarioApi(scenario, { profile: pb, cmdline: cmd[1], file });
          la = describe(pa, cmd[0], []);
          lb = describe(pb, cmd[1], []);
        } else {
          const runA = bootAnyInputs(paths, base, prof[0], cmd[0]);
          const runB = bootAnyInputs(paths, { ...base, ...machine }, prof[1], cmd[1]);
          a = runA.result;
          b = runB.result;
          la = describe(runA.profile, cmd[0], []);
          lb = describe(runB.profile, cmd[1], whatIfWords(machine));
        }
        const entries = diffRuns(a, b);
        print(!!o.json, { a: la, b: lb, differences: entries }, () => formatDiff(la, lb, entries));
      },
    );

  const explainCmd = program
    .command('explain')
    .description(
      'why a device is in its group, with what IOMMU, default domain and reserved regions, and what would split it',
    )
    .argument('<device>', 'the device: a PCI address (0000:03:00.0 or 03:00.0) or a device name')
    .argument('[inputs...]', 'the platform, as for boot (default: the built-in platform)')
    .addOption(profileOption())
    .option('--cmdline <args>', 'extra kernel command line');
  addMachineOptions(explainCmd)
    .option('--json', 'print the explanation as JSON')
    .addHelpText(
      'after',
      `\nExamples:\n  iommu-lab explain 0000:03:00.0\n  iommu-lab explain 05:00.0 DMAR.dat lspci.txt --cmdline intel_iommu=on\n  iommu-lab explain 0000:01:00.0 iommu-snapshot-20261205.tar.gz`,
    )
    .action(
      (
        device: string,
        inputs: string[],
        o: MachineOptions & {
          profile: ProfileName;
          cmdline?: string;
          json?: boolean;
        },
      ) => {
        const paths = inputs.length ? inputs : [DEFAULT_PLATFORM];
        // A snapshot boots under its machine's kernel and command line unless the options say otherwise.
        const a = bootAnyInputs(
          paths,
          machineOf(o),
          explainCmd.getOptionValueSource('profile') === 'default' ? undefined : o.profile,
          o.cmdline,
        );
        const run = (d: typeof a.desc) =>
          boot(d, { profile: a.profile, cmdline: a.cmdline, file: a.file, firmware: a.firmware });
        const e = explainDevice(a.result, a.desc, device, run);
        const profile = a.profile;
        print(!!o.json, e, () =>
          [`${safe(e.device.name)} under ${profile}`, '', ...e.story.map(safe)].join('\n'),
        );
      },
    );

  program
    .command('snapshot')
    .description(
      "print (or write) the shell script that collects a real machine's firmware, PCI config space, drivers and live IOMMU groups into an archive for `iommu-lab boot`",
    )
    .option('-o, --output <file>', 'write the script to this file (executable) instead of printing it')
    .addHelpText(
      'after',
      `\nExamples:\n  iommu-lab snapshot -o iommu-snapshot.sh && sudo sh iommu-snapshot.sh   # on the machine\n  iommu-lab snapshot | ssh root@host sh -s - /tmp/host.tar.gz              # over ssh\n  iommu-lab boot iommu-snapshot-20261205-101500.tar.gz                    # anywhere: model vs machine\n\nThe archive holds the ACPI DMAR/IVRS/IORT/VIOT tables, /sys/firmware/fdt, every PCI function's\nconfig space and driver, the kernel release and command line, and /sys/kernel/iommu_groups.`,
    )
    .action((o: { output?: string }) => {
      const script = readFileSync(SNAPSHOT_SCRIPT, 'utf8');
      if (!o.output) {
        process.stdout.write(script);
        return;
      }
      writeOutput(o.output, script, 0o755);
      process.stderr.write(
        `iommu-lab: wrote ${o.output}; run it as root on the machine: sudo sh ${o.output}\n`,
      );
    });

  const reportCmd = program
    .command('report')
    .description(
      'write one self-contained HTML page of a boot: the topology graph with groups as clusters (click a device for its explanation), the groups, a what-if or kernel comparison, WARNs and leaks',
    )
    .argument(
      '[inputs...]',
      'the platform, as for boot: built-in, JSON, firmware files and a PCI dump, or a snapshot',
    )
    .option('-o, --output <file>', 'write to this file (default: standard output)')
    .addOption(
      new Option('--format <format>', 'the page, or the topology graph alone')
        .choices(['html', 'dot', 'svg'])
        .default('html'),
    )
    .addOption(
      new Option('-p, --profile <version>', 'kernel profile (a snapshot: its own kernel by default)').choices(
        [...profileNames],
      ),
    )
    .option('--cmdline <args>', 'extra kernel command line')
    .addOption(
      new Option('--vs-profile <version>', 'compare with this kernel profile').choices([...profileNames]),
    )
    .option('--vs-cmdline <args>', 'compare with this extra command line');
  addMachineOptions(reportCmd)
    .addHelpText(
      'after',
      `\nThe what-if options (--acs, --remove, --add, --kconfig, --bind, --acs-request) and --vs-* make the\ncomparison run; the page shows the inputs as they are, and what the comparison changes.\n\nExamples:\n  iommu-lab report -o report.html                                  # the built-in platform\n  iommu-lab report iommu-snapshot.tar.gz -o machine.html           # a real machine, with its agreement\n  iommu-lab report x86-q35-vtd-switch --acs 0000:00:03.0 -o acs.html\n  iommu-lab report arm64-dt-smmuv3-mini --profile v6.4 --vs-profile v6.18 -o versions.html\n  iommu-lab report DMAR.dat lspci.txt --format svg -o topology.svg\n  iommu-lab report arm64-dt-smmuv3-mini --format dot | dot -Tpng > topology.png`,
    )
    .action(
      async (
        inputs: string[],
        o: MachineOptions & {
          output?: string;
          format: 'html' | 'dot' | 'svg';
          profile?: ProfileName;
          cmdline?: string;
          vsProfile?: ProfileName;
          vsCmdline?: string;
        },
      ) => {
        const machine = machineOf(o);
        const whatIf = isWhatIf(machine);
        const versus =
          whatIf || o.vsProfile || o.vsCmdline !== undefined
            ? {
                profile: o.vsProfile,
                cmdline: o.vsCmdline,
                whatIf: machine,
                label: (p: ProfileName, c: string | undefined) =>
                  [p, c ? `"${c}"` : '', ...whatIfWords(machine)].filter(Boolean).join(' '),
              }
            : null;
        let bar: Progress | null = null;
        const out = await renderReport(inputs.length ? inputs : [DEFAULT_PLATFORM], {
          onProgress: (done, total, device) => {
            bar ??= progress(total, 'explaining devices');
            bar.tick(device);
            if (done === total) bar.done();
          },
          profile: o.profile,
          cmdline: o.cmdline,
          machine: { arch: machine.arch, hypervisor: machine.hypervisor },
          versus,
          format: o.format,
          version,
        });
        if (!o.output) {
          process.stdout.write(out);
          return;
        }
        writeOutput(o.output, out);
        process.stderr.write(`iommu-lab: wrote ${o.output} (${Buffer.byteLength(out)} bytes)\n`);
      },
    );

  program
    .command('profiles')
    .description('list the kernel profiles and what sets each apart')
    .option('--json', 'print the profiles as JSON')
    .addHelpText(
      'after',
      `\nExamples:\n  iommu-lab profiles\n  iommu-lab profiles --json\n  iommu-lab scenario seed-mock-ops --profile all   # a scenario under every profile`,
    )
    .action((o: { json?: boolean }) => {
      const rows = profileNames.map((n) => profiles[n]);
      print(!!o.json, rows, () =>
        rows
          .map((p) => `${p.name.padEnd(6)} ${p.summary}${p.name === DEFAULT_PROFILE ? '  (default)' : ''}`)
          .join('\n'),
      );
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof InputError) {
      process.stderr.write(`iommu-lab: ${safe(e.message)}\n`);
      process.exitCode = 2;
    } else if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) {
        process.exitCode = 0;
      } else {
        if (e.code.startsWith('iommu-lab.')) process.stderr.write(`iommu-lab: ${e.message}\n`);
        process.exitCode = 2;
      }
    } else {
      throw e;
    }
  }
}

await main(process.argv);
