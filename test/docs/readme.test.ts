// SPDX-License-Identifier: GPL-2.0-only
// Every `node dist/cli/main.js …` command of the README's shell blocks, run
// as written in a folder holding the files it names: a snapshot the shipped
// script made of the groundtruth q35 machine, that machine's DMAR and lspci
// dump, an arm64 machine's IORT or device tree with its dump, Juno's and an
// Exynos board's device trees from shared/fixtures. Each must exit 0 with
// nothing on stderr but a "wrote" line, print what its command prints first
// (a boot's platform line, a scenario's header, a diff, an explanation), and
// write the file it names. The lines that are not iommu-lab (npm, sudo) are
// the user's part and not run.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { groundTruthSysroot } from '../support/sysroot.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const gt = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));
const dtbs = fileURLToPath(new URL('../../../shared/fixtures/dtb/', import.meta.url));

/** The README's iommu-lab commands, without their comments. */
function readmeCommands(): string[] {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks
    .flatMap((b) => b.split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.includes('node dist/cli/main.js '))
    .map((l) => l.slice(l.indexOf('node dist/cli/main.js ')));
}

/** A folder with the files a command names: x86 for DMAR, arm64 for IORT and the device tree. */
function folderFor(cmd: string, snapshot: string): string {
  const dir = scratchDir('iommu-lab-readme-');
  copyFileSync(snapshot, join(dir, 'iommu-snapshot-20261205-101500.tar.gz'));
  const from = cmd.includes('IORT.dat')
    ? 'arm64-virt-smmuv3-acpi-switch'
    : cmd.includes('system.dtb')
      ? 'arm64-virt-smmuv3-dt-bridge'
      : 'x86-q35-vtd-switch';
  for (const f of ['DMAR.dat', 'IORT.dat', 'lspci.txt'])
    if (existsSync(join(gt, from, f))) copyFileSync(join(gt, from, f), join(dir, f));
  if (from === 'arm64-virt-smmuv3-dt-bridge')
    writeFileSync(join(dir, 'system.dtb'), gunzipSync(readFileSync(join(gt, from, 'system.dtb.gz'))));
  copyFileSync(join(dtbs, 'arm64-6.12-juno-r1.dtb'), join(dir, 'juno-r1.dtb'));
  copyFileSync(join(dtbs, 'arm64-6.12-exynos5433-tm2.dtb'), join(dir, 'board.dtb'));
  return dir;
}

/** What a command prints first. */
function firstLine(cmd: string): RegExp {
  const sub = cmd.split(/\s+/)[2];
  switch (sub) {
    case 'boot':
      return /^\S.* under v6\.\d+/;
    case 'scenario':
      return /^scenario \S+ under v6\.\d+$/;
    case 'diff':
      return /^(differences between|no differences between) /;
    case 'explain':
      return /^\S+ under v6\.\d+$/;
    case 'profiles':
      return /^v6\.4 /;
    case 'sweep':
      return /^ {2}(scenario|boot) \S+ +v6\.\d+ +\d+ fail points/;
    default:
      throw new Error(`no first line known for "${sub}"`);
  }
}

describe("the README's commands", () => {
  const commands = readmeCommands();

  it('are many, and cover every subcommand', () => {
    expect(commands.length).toBeGreaterThan(25);
    const subs = new Set(commands.map((c) => c.split(/\s+/)[2]));
    expect([...subs].sort()).toEqual([
      'boot',
      'diff',
      'explain',
      'profiles',
      'report',
      'scenario',
      'snapshot',
      'sweep',
    ]);
  });

  it('run as written and print or write what they say', () => {
    // The snapshot the README's own first steps make, of a machine whose groups real Linux printed.
    const made = scratchDir('iommu-lab-readme-');
    const script = join(made, 'iommu-snapshot.sh');
    execFileSync(process.execPath, [join(root, 'dist/cli/main.js'), 'snapshot', '-o', script], {
      stdio: 'ignore',
    });
    groundTruthSysroot(join(gt, 'x86-q35-vtd-switch'), join(made, 'root'));
    const snapshot = join(made, 'snap.tar.gz');
    execFileSync('sh', [script, snapshot], {
      env: { ...process.env, SYSROOT: join(made, 'root') },
      stdio: 'ignore',
    });

    for (const cmd of commands) {
      const dir = folderFor(cmd, snapshot);
      const shell = cmd.replace(
        'node dist/cli/main.js ',
        `"${process.execPath}" "${join(root, 'dist/cli/main.js')}" `,
      );
      const r = spawnSync('sh', ['-c', shell], { cwd: dir, encoding: 'utf8' });
      expect(r.status, `${cmd}\n${r.stderr}`).toBe(0);
      const out = /-o (\S+)/.exec(cmd)?.[1];
      if (out) {
        expect(statSync(join(dir, out)).size, cmd).toBeGreaterThan(1000);
        expect(r.stderr, cmd).toMatch(/^iommu-lab: wrote /);
        continue;
      }
      expect(r.stderr, cmd).toBe('');
      expect(r.stdout.split('\n')[0], cmd).toMatch(firstLine(cmd));
    }
  });
});
