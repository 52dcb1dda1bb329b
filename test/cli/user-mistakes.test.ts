// SPDX-License-Identifier: GPL-2.0-only
// What a user gets for the mistakes a review of the CLI made on purpose:
// each is a readable error naming the file or option (exit 2), or a model
// that says why, never a stack trace or groups silently wrong. And x86's
// iommu=off, which earlier boots ignored.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bootByName, bootInputs, loadInputs } from '../../src/api.js';
import { scratchDir } from '../support/scratch.js';
import { inputError } from '../support/input-error.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const gt = (machine: string, file: string) => join('..', 'shared', 'groundtruth', machine, file);
const vtd = (file: string) => gt('x86-q35-vtd-switch', file);

describe('output files that cannot be written', () => {
  it('report and snapshot -o into a missing folder or onto a folder: one line, exit 2', () => {
    const dir = scratchDir('cli-out-');
    for (const [cmd, out, why] of [
      ['report', join(dir, 'nodir', 'r.html'), 'its folder does not exist'],
      ['report', dir, 'it is a folder'],
      ['snapshot', join(dir, 'nodir', 's.sh'), 'its folder does not exist'],
    ]) {
      const r = run(cmd, '-o', out);
      expect(r.code, `${cmd} -o ${out}`).toBe(2);
      expect(r.err).toBe(`iommu-lab: ${out}: cannot write the output: ${why}\n`);
    }
  });

  it('report counts what it wrote in bytes, not characters', () => {
    const out = join(scratchDir('cli-report-'), 'r.html');
    const r = run('report', '-o', out);
    expect(r.code).toBe(0);
    expect(r.err).toBe(`iommu-lab: wrote ${out} (${statSync(out).size} bytes)\n`);
    // The page has characters of more than one byte, so the two counts differ.
    expect(readFileSync(out, 'utf8').length).toBeLessThan(statSync(out).size);
  });

  it("report --help's examples run: two profiles compared on a platform", () => {
    const help = run('report', '--help').out;
    expect(help).toContain('iommu-lab report arm64-dt-smmuv3-mini --profile v6.4 --vs-profile v6.18');
    const out = join(scratchDir('cli-versions-'), 'v.html');
    const r = run('report', 'arm64-dt-smmuv3-mini', '--profile', 'v6.4', '--vs-profile', 'v6.18', '-o', out);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('probed at replay at driver bind');
  });
});

describe('a file given to the wrong command', () => {
  it('a scenario to boot, and a platform to scenario, are named for what they are', () => {
    const s = run('boot', 'scenarios/seed-mock-ops.json');
    expect(s.code).toBe(2);
    expect(s.err).toContain('this is a scenario (it has platform and steps), not a platform');
    const p = run('scenario', 'platforms/x86-two-drhd.json');
    expect(p.code).toBe(2);
    expect(p.err).toContain('this is a platform (it has pci or devices and no steps), not a scenario');
  });
});

describe('firmware inputs that are broken or contradict each other', () => {
  const dmar = readFileSync(vtd('DMAR.dat'));

  it('a truncated DMAR is a DMAR whose parser names the length, not an unknown file', () => {
    const dir = scratchDir('cli-acpi-');
    const short = join(dir, 'short.dat');
    writeFileSync(short, dmar.subarray(0, 100));
    expect(inputError(() => loadInputs([short, vtd('lspci.txt')])).message).toBe(
      `${short}: offset 0x4: Table Length 0x78 is more than the 0x64 bytes in the file: the table is truncated`,
    );
    const tiny = join(dir, 'tiny.dat');
    writeFileSync(tiny, dmar.subarray(0, 10));
    expect(inputError(() => loadInputs([tiny, vtd('lspci.txt')])).message).toContain(
      'the file ends after 10 bytes, inside the 36-byte ACPI table header',
    );
  });

  it('a gzip holding neither a device tree nor a snapshot says so', () => {
    const gz = join(scratchDir('cli-gz-'), 'hello.tar.gz');
    writeFileSync(gz, gzipSync(Buffer.from('hello\n')));
    expect(inputError(() => loadInputs([gz])).message).toContain(
      'in the unpacked gzip: it holds neither a device tree nor a snapshot archive',
    );
  });

  it('two DMARs, an x86 table under --arch arm64, IORT with DMAR, --arch on a platform', () => {
    const iort = gt('arm64-virt-smmuv3-acpi-switch', 'IORT.dat');
    expect(inputError(() => loadInputs([vtd('DMAR.dat'), vtd('DMAR.dat'), vtd('lspci.txt')])).problem).toBe(
      `a second DMAR table (the first was ${vtd('DMAR.dat')})`,
    );
    expect(inputError(() => loadInputs([vtd('DMAR.dat'), vtd('lspci.txt')], { arch: 'arm64' })).problem).toBe(
      'DMAR is an x86 table, but the architecture is arm64 (--arch)',
    );
    expect(
      inputError(() => loadInputs([iort, gt('arm64-virt-smmuv3-acpi-switch', 'lspci.txt')], { arch: 'arm' }))
        .problem,
    ).toBe('IORT is an arm64 table, but the architecture is arm (--arch)');
    expect(inputError(() => loadInputs([iort, vtd('DMAR.dat'), vtd('lspci.txt')])).problem).toContain(
      'an IORT (Arm) with DMAR',
    );
    expect(inputError(() => loadInputs(['x86-q35-vtd-switch'], { arch: 'arm64' })).problem).toBe(
      'the platform is x86_64: --arch arm64 is for firmware files that do not say',
    );
  });

  it('a platform file whose tables contradict its "arch", or each other, names the field', () => {
    const dir = scratchDir('cli-arch-');
    const iort = resolve(gt('arm64-virt-smmuv3-acpi-switch', 'IORT.dat'));
    const dmarFile = resolve(vtd('DMAR.dat'));
    const platform = (body: object) => {
      const f = join(dir, `p${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(f, JSON.stringify({ name: 'p', ...body }));
      return f;
    };
    const e1 = inputError(() => loadInputs([platform({ arch: 'arm64', acpi: { DMAR: dmarFile } })]));
    expect([e1.where, e1.problem]).toEqual(['acpi.DMAR', 'DMAR is an x86 table, but "arch" is arm64']);
    const e2 = inputError(() => loadInputs([platform({ acpi: { IORT: iort } })]));
    expect([e2.where, e2.problem]).toEqual(['acpi.IORT', 'IORT is an arm64 table, but "arch" is x86_64']);
    const e3 = inputError(() =>
      loadInputs([platform({ arch: 'arm64', acpi: { IORT: iort, DMAR: dmarFile } })]),
    );
    expect([e3.where, e3.problem]).toEqual([
      'acpi.IORT',
      'an IORT (Arm) with DMAR in "acpi.DMAR" (x86): no machine has both',
    ]);
    // The right arch loads.
    expect(loadInputs([platform({ arch: 'arm64', acpi: { IORT: iort } })]).desc.arch).toBe('arm64');
  });

  it('tables without a PCI dump boot to no devices, and boot says that is why there are no groups', () => {
    const r = run('boot', vtd('DMAR.dat'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('no IOMMU groups: there are no devices (firmware tables alone describe none');
  });

  it('--acs on a conventional PCI function names the option, not a JSON field', () => {
    const r = run('diff', '--acs', '0000:00:1f.0');
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      '--acs: 0000:00:1f.0 is a conventional PCI function (conventional): ACS is a PCI Express extended capability',
    );
  });
});

describe("x86's iommu=off (no_iommu)", () => {
  it('stops VT-d and AMD-Vi: no instance, no group, and explain says why', () => {
    for (const name of ['x86-q35-vtd-switch', 'x86-two-drhd', 'x86-dmar-and-ivrs']) {
      const on = bootByName(name, { profile: 'v6.12' });
      expect(on.iommus.length, name).toBeGreaterThan(0);
      const off = bootByName(name, { profile: 'v6.12', cmdline: 'iommu=off' });
      expect(off.iommus, name).toEqual([]);
      expect(off.groups, name).toEqual([]);
      expect(off.leaks, name).toEqual([]);
    }
    const amd = bootInputs(
      [gt('x86-q35-amdvi-bridge', 'IVRS.dat'), gt('x86-q35-amdvi-bridge', 'lspci.txt')],
      {
        cmdline: 'iommu=off',
      },
    );
    expect(amd.iommus).toEqual([]);
    expect(amd.log).toContain('model: AMD-Vi not detected: iommu=off on the command line (no_iommu)');
    // Prefixes count, as strncmp() does; "pt" alongside still sets the default type only.
    expect(bootByName('x86-q35-vtd-switch', { cmdline: 'iommu=offline' }).iommus).toEqual([]);
    expect(bootByName('x86-q35-vtd-switch', { cmdline: 'iommu=pt' }).groups[0].type).toBe('identity');
    const r = run('explain', '0000:01:00.0', '--cmdline', 'iommu=off');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'No IOMMU instance was registered on this machine:\n  model: VT-d not set up: iommu=off on the command line (no_iommu)',
    );
  });

  it('counts every iommu= on the line, as each occurrence runs iommu_setup()', () => {
    expect(bootByName('x86-two-drhd', { cmdline: 'iommu=off iommu=pt' }).iommus).toEqual([]);
    expect(bootByName('x86-two-drhd', { cmdline: 'iommu=pt iommu=nopt' }).groups[0].type).toBe('DMA-FQ');
  });

  it('is not a parameter on Arm: neither off nor pt changes anything there', () => {
    const on = bootByName('arm64-dt-smmuv3-mini');
    expect(on.groups.map((g) => g.type)).not.toContain('identity');
    for (const cmdline of ['iommu=off', 'iommu=pt']) {
      const r = bootByName('arm64-dt-smmuv3-mini', { cmdline });
      expect(r.groups, cmdline).toEqual(on.groups);
      expect(r.iommus, cmdline).toEqual(on.iommus);
    }
  });
});

describe('wording', () => {
  it('the value given for iommu.passthrough is the one quoted back', () => {
    const r = bootByName('x86-q35-vtd-switch', { cmdline: 'iommu.passthrough=yes' });
    expect(r.groups[0].typeWhy.join('\n')).toContain('iommu.passthrough=yes on the command line');
  });
});
