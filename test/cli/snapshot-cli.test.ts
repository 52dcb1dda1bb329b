// SPDX-License-Identifier: GPL-2.0-only
// `iommu-lab snapshot` and `iommu-lab boot SNAPSHOT` as users run them (the
// built dist/cli/main.js): the script printed or written, a groundtruth
// machine's snapshot booted and compared with its live groups (exit 0 when
// they agree), a what-if (still 0: it is meant to differ), and a machine the
// model does not match (exit 1, the differences named).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { groundTruthSysroot } from '../support/sysroot.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const script = fileURLToPath(new URL('../../snapshot/iommu-snapshot.sh', import.meta.url));
const gtRoot = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The snapshot the CLI's own script makes of a groundtruth machine. */
function snapshot(name: string, edit?: (root: string) => void): string {
  const dir = scratchDir('iommu-snapshot-cli-');
  const sh = join(dir, 'collect.sh');
  expect(run('snapshot', '-o', sh).code).toBe(0);
  groundTruthSysroot(join(gtRoot, name), join(dir, 'root'));
  edit?.(join(dir, 'root'));
  const out = join(dir, `${name}.tar.gz`);
  execFileSync('sh', [sh, out], { env: { ...process.env, SYSROOT: join(dir, 'root') }, stdio: 'ignore' });
  return out;
}

describe('iommu-lab snapshot', () => {
  it('prints the shipped script, or writes it executable with -o', () => {
    const r = run('snapshot');
    expect(r.code).toBe(0);
    expect(r.out).toBe(readFileSync(script, 'utf8'));
    const file = join(scratchDir(), 's.sh');
    const w = run('snapshot', '-o', file);
    expect(w.code).toBe(0);
    expect(w.err).toBe(`iommu-lab: wrote ${file}; run it as root on the machine: sudo sh ${file}\n`);
    expect(readFileSync(file, 'utf8')).toBe(r.out);
    expect(statSync(file).mode & 0o111).toBe(0o111);
  });
});

describe('iommu-lab boot SNAPSHOT', () => {
  it('models the machine under its own kernel and command line and says the model agrees (exit 0)', () => {
    const snap = snapshot('x86-q35-vtd-switch');
    const r = run('boot', snap);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe(
      `snapshot ${snap} under v6.12, cmdline "console=ttyS0 quiet panic=-1 intel_iommu=on"`,
    );
    expect(r.out).toContain(
      [
        "compared with the machine's live /sys/kernel/iommu_groups: the model agrees",
        '  groups: 5 of 5 agree (members, type, reserved regions)',
        '  iommu links: 12 of 12 agree',
        '  drivers bound: 12 of 12 PCI functions agree',
      ].join('\n'),
    );
    const j = JSON.parse(run('boot', snap, '--json').out);
    expect(j.agreement.agrees).toBe(true);
    expect(j.machine).toEqual({ profile: 'v6.12', notes: [] });
    expect(j.groups.length).toBe(5);
  });

  it('a what-if differs from the machine and says so, exit 0', () => {
    const snap = snapshot('arm64-virt-smmuv3-acpi-switch');
    const r = run('boot', snap, '--cmdline', 'iommu.passthrough=1');
    expect(r.code).toBe(0);
    expect(r.out).toContain("compared with the machine's live /sys/kernel/iommu_groups: the model differs");
    expect(r.out).toContain('  note: what-if: command line plus "iommu.passthrough=1"');
    expect(r.out).toMatch(/machine group 0: type DMA on the machine, identity in the model/);
  });

  it('a machine the model does not match exits 1 and names the difference', () => {
    const snap = snapshot('x86-q35-vtd-multifunction-default', (root) =>
      writeFileSync(join(root, 'sys/kernel/iommu_groups/1/type'), 'identity\n'),
    );
    const r = run('boot', snap);
    expect(r.code).toBe(1);
    expect(r.out).toContain('machine group 1: type identity on the machine, DMA-FQ in the model');
  });

  it('explain takes a snapshot too, under the machine kernel', () => {
    const snap = snapshot('x86-q35-vtd-switch');
    const r = run('explain', '0000:03:00.0', snap);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('0000:03:00.0 under v6.12');
    expect(r.out).toContain('Group 1 has 6 devices');
  });

  it('a corrupt archive is one readable line, exit 2', () => {
    const snap = snapshot('x86-q35-vtd-switch');
    const bytes = execFileSync('gzip', ['-dc', snap]);
    bytes[148] ^= 1; // the first header's checksum field
    const bad = join(scratchDir(), 'bad.tar');
    writeFileSync(bad, bytes);
    const r = run('boot', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^iommu-lab: ${bad}: offset 0x0 \\(tar header field chksum\\): `));
    expect(r.err.trim().split('\n').length).toBe(1);
  });
});
