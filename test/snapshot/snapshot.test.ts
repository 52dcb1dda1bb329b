// SPDX-License-Identifier: GPL-2.0-only
// Snapshot -> boot round trips on every shared/groundtruth machine: the
// machine's /sys and /proc files rebuilt from the folder (test/support/
// sysroot.ts), the shipped snapshot/iommu-snapshot.sh run on them by a real
// POSIX shell with the system's tar, and the archive booted: under the
// machine's own kernel (6.12) and command line the model must agree with
// the live groups Linux printed (members, type, reserved regions, group
// numbers), every iommu link and every bound driver. A what-if and an edited
// machine must be reported as differences; GNU tar's own extraction of the
// archive must read the same as the in-memory reader.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { bootSnapshot } from '../../src/api.js';
import { profileForRelease } from '../../src/snapshot/machine.js';
import { isSnapshotPath, readSnapshot } from '../../src/snapshot/snapshot.js';
import { parseExpected } from '../support/groundtruth.js';
import { groundTruthSysroot } from '../support/sysroot.js';

const gtRoot = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));
const script = fileURLToPath(new URL('../../snapshot/iommu-snapshot.sh', import.meta.url));
const machines = readdirSync(gtRoot).filter((d) => /^(x86|arm64)-/.test(d));

/** Runs the collection script on the groundtruth machine `name` (edited first, if asked); the archive's path. */
function snapshotOf(name: string, edit?: (root: string) => void): { archive: string } {
  const tmp = scratchDir('iommu-snapshot-test-');
  const root = join(tmp, 'root');
  groundTruthSysroot(join(gtRoot, name), root);
  edit?.(root);
  const archive = join(tmp, `${name}.tar.gz`);
  execFileSync('sh', [script, archive], {
    env: { ...process.env, SYSROOT: root, TMPDIR: tmp },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { archive };
}

describe('snapshot -> boot on the groundtruth machines', () => {
  it('covers all twelve machines', () => {
    expect(machines.length).toBe(12);
  });

  for (const name of machines) {
    it(`${name}: the model of its snapshot agrees with its live groups`, () => {
      const { archive } = snapshotOf(name);
      const want = parseExpected(join(gtRoot, name, 'expected.txt'));
      const s = bootSnapshot(archive);
      expect(s.machine.profile).toBe('v6.12');
      expect(s.machine.notes).toEqual([]);
      expect(s.result.cmdline).toBe(want.cmdline);
      expect(s.snapshot.groups.map((g) => g.id)).toEqual([...want.groups.keys()].sort((a, b) => a - b));
      expect(s.agreement.groups.map((g) => g.differences)).toEqual(s.snapshot.groups.map(() => []));
      expect(s.agreement.iommuLinks).toEqual([]);
      expect(s.agreement.drivers).toEqual([]);
      expect(s.agreement.agrees).toBe(true);
      // Numbered as the machine numbered them.
      for (const g of s.agreement.groups) expect(g.model!.id).toBe(g.live!.id);
      expect(s.result.leaks).toEqual([]);
    });
  }

  it('GNU tar unpacks the archive to the same snapshot the in-memory reader reads', () => {
    const { archive } = snapshotOf('x86-q35-amdvi-bridge');
    const dir = scratchDir('iommu-snapshot-x-');
    execFileSync('tar', ['-xzf', archive, '-C', dir]);
    expect(isSnapshotPath(dir)).toBe(true);
    expect(isSnapshotPath(join(dir, 'iommu-snapshot'))).toBe(true);
    // A gzipped device tree, a plain one and a folder of something else are not snapshots.
    const dtb = fileURLToPath(
      new URL('../../../shared/fixtures/dtb/qemu-virt-smmuv3.dtb.gz', import.meta.url),
    );
    expect(isSnapshotPath(dtb)).toBe(false);
    expect(isSnapshotPath(join(gtRoot, 'arm64-virt-smmuv3-dt-bridge'))).toBe(false);
    const fromArchive = readSnapshot(archive);
    const fromFolder = readSnapshot(dir);
    const strip = (s: typeof fromArchive) => ({
      ...s,
      source: '',
      acpi: s.acpi.map((t) => ({ ...t, file: '' })),
      pci: s.pci.map((f) => ({ ...f, file: '' })),
    });
    expect(strip(fromFolder)).toEqual(strip(fromArchive));
    expect(fromArchive.acpi.map((t) => t.signature)).toEqual(['IVRS']);
    expect(fromArchive.hypervisor).toBe(true);
    expect(fromArchive.arch).toBe('x86_64');
    expect(fromArchive.pci.find((f) => f.bdf === '0000:01:01.0')?.driver).toBe('e1000');
    expect(fromArchive.pci.find((f) => f.bdf === '0000:00:09.0')?.driver).toBe(null);
    expect(bootSnapshot(dir).agreement.agrees).toBe(true);
  });

  it('a what-if (passthrough under v6.18) is booted and its differences named, group by group', () => {
    const { archive } = snapshotOf('x86-q35-vtd-switch');
    const s = bootSnapshot(archive, { profile: 'v6.18', cmdline: 'iommu.passthrough=1' });
    expect(s.machine.whatIf).toBe(true);
    expect(s.machine.notes).toEqual([
      'what-if: v6.18 instead of v6.12 (the machine runs 6.12.117+deb12-amd64)',
      'what-if: command line plus "iommu.passthrough=1"',
    ]);
    expect(s.result.profile).toBe('v6.18');
    expect(s.agreement.agrees).toBe(false);
    expect(s.agreement.groups.map((g) => g.differences)).toEqual(
      s.snapshot.groups.map(() => ['type DMA-FQ on the machine, identity in the model']),
    );
    expect(s.agreement.summary[0]).toBe('groups: 0 of 5 agree (members, type, reserved regions)');
  });

  it('an unpacked snapshot folder is read without following symbolic links (a loop, a link out)', () => {
    const { archive } = snapshotOf('x86-q35-vtd-switch');
    const dir = scratchDir('iommu-snapshot-links-');
    execFileSync('tar', ['-xzf', archive, '-C', dir]);
    execFileSync('ln', ['-s', '.', join(dir, 'iommu-snapshot', 'loop')]);
    execFileSync('ln', ['-s', '/etc', join(dir, 'iommu-snapshot', 'pci', 'etc')]);
    expect(bootSnapshot(dir).agreement.agrees).toBe(true);
  });

  it('topology what-ifs on a snapshot: ACS on the root port, named in the notes, the split reported', () => {
    const { archive } = snapshotOf('x86-q35-vtd-switch');
    const s = bootSnapshot(archive, { edits: { acs: ['0000:00:03.0'] } });
    expect(s.machine.notes).toEqual(['what-if: ACS enabled on 0000:00:03.0']);
    expect(s.machine.whatIf).toBe(true);
    expect(s.result.groups.length).toBe(8);
    const sw = s.agreement.groups.find((g) => g.live?.devices.includes('0000:01:00.0'))!;
    expect(sw.differences).toEqual([
      "the model's group 1 lacks 0000:01:00.0, 0000:02:00.0, 0000:02:01.0, 0000:03:00.0, 0000:04:00.0",
    ]);
  });

  it('a machine that differs from the model is reported: another member, another type, a missing link', () => {
    const { archive } = snapshotOf('x86-q35-vtd-bridge-strict', (root) => {
      const g = join(root, 'sys/kernel/iommu_groups');
      writeFileSync(join(g, '2/type'), 'identity\n');
      execFileSync('ln', [
        '-s',
        join(root, 'sys/devices/pci0000:00/0000:02:00.0'),
        join(g, '2/devices/0000:02:00.0'),
      ]);
      execFileSync('rm', [
        join(g, '4/devices/0000:02:00.0'),
        join(root, 'sys/devices/pci0000:00/0000:00:0a.0/iommu'),
      ]);
    });
    const s = bootSnapshot(archive);
    expect(s.machine.whatIf).toBe(false);
    expect(s.agreement.agrees).toBe(false);
    const byLive = new Map(s.agreement.groups.map((g) => [g.live?.id ?? -1, g.differences]));
    expect(byLive.get(2)).toEqual([
      "the model's group 2 lacks 0000:02:00.0",
      'type identity on the machine, DMA in the model',
    ]);
    expect(byLive.get(4)).toEqual(["the machine's group lists no devices"]);
    expect(byLive.get(-1)).toEqual(["the model's group 4 (0000:02:00.0) is none of the machine's"]);
    expect(s.agreement.iommuLinks).toEqual([{ device: '0000:00:0a.0', live: null, model: 'dmar0' }]);
  });
});

describe('the kernel profile a snapshot boots under', () => {
  it('is the newest profile at or below the release, with a note when it is not that release', () => {
    expect(profileForRelease('6.12.117+deb12-amd64')).toEqual({ profile: 'v6.12', note: null });
    expect(profileForRelease('6.14.2-arch1')).toEqual({
      profile: 'v6.12',
      note: 'kernel 6.14.2-arch1 modelled as v6.12, the profile before it',
    });
    expect(profileForRelease('6.18.0')).toEqual({ profile: 'v6.18', note: null });
    expect(profileForRelease('7.1.0').profile).toBe('v6.18');
    expect(profileForRelease('5.15.0-91-generic')).toEqual({
      profile: 'v6.4',
      note: 'kernel 5.15.0-91-generic is older than every profile: modelled as v6.4',
    });
    expect(profileForRelease(null).note).toBe('no kernel release in the snapshot: modelled as v6.18');
  });
});

describe('the collection script', () => {
  it('is POSIX sh (dash parses it) and says what it wrote', () => {
    execFileSync('sh', ['-n', script]);
    const tmp = scratchDir('iommu-snapshot-test-');
    groundTruthSysroot(join(gtRoot, 'arm64-virt-smmuv3-dt-bridge'), join(tmp, 'root'));
    const out = join(tmp, 'a.tar.gz');
    const r = execFileSync('sh', ['-c', `sh "${script}" "${out}" 2>&1`], {
      env: { ...process.env, SYSROOT: join(tmp, 'root') },
      encoding: 'utf8',
    });
    expect(r).toContain(`iommu-snapshot: wrote ${out}: 7 PCI functions, 2 IOMMU groups`);
    const list = execFileSync('tar', ['-tzf', out], { encoding: 'utf8' }).split('\n');
    for (const f of ['iommu-snapshot/FORMAT', 'iommu-snapshot/fdt', 'iommu-snapshot/pci/0000:00:09.0/driver'])
      expect(list).toContain(f);
    expect(readSnapshot(out).fdt?.bytes).toEqual(
      new Uint8Array(readFileSync(join(tmp, 'root/sys/firmware/fdt'))),
    );
  });
});
