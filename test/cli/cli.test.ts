// SPDX-License-Identifier: GPL-2.0-only
// The command line as users run it (the built dist/cli/main.js): the README's
// main command, the documented JSON shape, scenario and diff output, and exit
// codes with readable errors instead of stack traces.
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('iommu-lab CLI', () => {
  it('boot with no argument runs the built-in platform and prints its groups', () => {
    const r = run('boot');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^x86-q35-vtd-switch under v6\.18/);
    expect(r.out).toContain('group 3  type=DMA-FQ');
    expect(r.out).toContain('resv 0x0000000000000000 0x0000000000ffffff direct-relaxable');
    expect(r.out).toContain('leaks: none');
  });

  it('boot --json has the documented shape', () => {
    const r = run('boot', '--json', '--profile', 'v6.12');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.profile).toBe('v6.12');
    expect(j.groups[0]).toEqual({
      id: 0,
      name: null,
      type: 'DMA-FQ',
      domain: null,
      devices: ['0000:00:00.0'],
      reservedRegions: [{ start: '0x00000000fee00000', end: '0x00000000feefffff', type: 'msi' }],
      owner: { count: 0, claimed: false },
      why: expect.any(Array),
      typeWhy: expect.any(Array),
    });
    const nic = j.devices.find((d: { name: string }) => d.name === '0000:03:00.0');
    expect(nic).toMatchObject({
      name: '0000:03:00.0',
      bus: 'pci',
      driver: 'e1000e',
      iommu: 'dmar0',
      group: 1,
      fwspec: null,
    });
    expect(j.warnings).toEqual([]);
    expect(j.leaks).toEqual([]);
  });

  it('scenario --list names the built-in scenarios', () => {
    const r = run('scenario', '--list');
    expect(r.code).toBe(0);
    for (const n of [
      'seed-mock-ops',
      'release-leak',
      'init-unwind-fwspec',
      'probe-defer',
      'unregister-bound',
      'two-global-drivers',
    ]) {
      expect(r.out).toContain(n);
    }
  });

  it('scenario --json reports each step as 0 or an errno name', () => {
    const r = run('scenario', 'seed-mock-ops', '--profile', 'v6.8', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.steps.map((s: { op: string; result: string }) => [s.op, s.result])).toEqual([
      ['load-mock', '0'],
      ['mock-dev-create', '0'],
      ['claim-dma-owner', '-ENODEV'],
      ['iommufd-bind', '-EINVAL'],
      ['attach-paging-domain', '-ENODEV'],
    ]);
    expect(j.expectation.ok).toBe(true);
  });

  it('scenario --fail-nth reports what it failed', () => {
    const r = run('scenario', 'probe-defer', '--profile', 'v6.12', '--fail-nth', '3', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).failNth).toMatchObject({
      nth: 3,
      injected: { type: expect.any(String), site: expect.any(String) },
    });
  });

  it('diff shows what changed between two kernels', () => {
    const r = run('diff', '--profile', 'v6.7', '--profile', 'v6.8', 'seed-mock-ops', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.differences).toContainEqual({
      kind: 'step',
      subject: '3 iommufd-bind iommufd_mock1',
      a: '0',
      b: '-EINVAL',
    });
  });

  it('bad input exits 2 with one readable line', () => {
    const dir = scratchDir('iommu-lab-cli-');
    const p = join(dir, 'bad.json');
    writeFileSync(p, JSON.stringify({ name: 'x', devices: [{ name: 'a', bus: 'usb' }] }));
    const r = run('boot', p);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      new RegExp(`^iommu-lab: ${p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: devices\\[0\\]\\.bus: `),
    );
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('usage errors exit 2; --help and --version exit 0', () => {
    expect(run('boot', '--profile', 'v9.9').code).toBe(2);
    expect(run('diff', '--profile', 'v6.7').code).toBe(2);
    const h = run('--help');
    expect(h.code).toBe(0);
    expect(h.out).toContain('Exit codes');
    expect(run('--version').code).toBe(0);
  });

  it('a scenario whose expectation fails exits 1', () => {
    const dir = scratchDir('iommu-lab-cli-');
    const p = join(dir, 'wrong.json');
    writeFileSync(
      p,
      JSON.stringify({
        name: 'wrong',
        platform: 'x86-q35-vtd-switch',
        steps: [{ op: 'load-mock' }],
        expect: { '*': { steps: ['-ENODEV'] } },
      }),
    );
    const r = run('scenario', p);
    expect(r.code).toBe(1);
    expect(r.out).toContain('expectation: MISMATCH');
  });
});

describe('iommu-lab with real firmware files', () => {
  const gt = fileURLToPath(
    new URL('../../../shared/groundtruth/x86-q35-vtd-bridge-strict/', import.meta.url),
  );

  it('boot DMAR.dat lspci.txt recognises each input and reproduces the groups', () => {
    const r = run(
      'boot',
      join(gt, 'DMAR.dat'),
      join(gt, 'lspci.txt'),
      '--cmdline',
      'intel_iommu=on iommu.strict=1',
      '--json',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.platform).toBe('DMAR.dat + lspci.txt');
    expect(new Set(j.groups.map((g: { type: string }) => g.type))).toEqual(new Set(['DMA']));
  });

  it('explain prints the chain in words', () => {
    const r = run('explain', '01:01.0', join(gt, 'DMAR.dat'), join(gt, 'lspci.txt'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^0000:01:01\.0 under v6\.18/);
    expect(r.out).toContain('Group');
  });

  it('boots an Arm device tree (gzipped DTB) with its lspci dump; a corrupt DTB is named with its offset', () => {
    const arm = join(gt, '..', 'arm64-virt-smmuv3-dt-bridge');
    const r = run('boot', join(arm, 'system.dtb.gz'), join(arm, 'lspci.txt'), '--profile', 'v6.12', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.iommus.map((i: { name: string }) => i.name)).toEqual(['smmu3.0x0000000009050000']);
    expect(j.devices.find((d: { name: string }) => d.name === '9050000.smmuv3').driver).toBe('arm-smmu-v3');
    const dir = scratchDir('iommu-lab-cli-');
    const bad = join(dir, 'bad.dtb');
    const blob = gunzipSync(readFileSync(join(arm, 'system.dtb.gz')));
    writeFileSync(bad, blob.subarray(0, 200));
    const e = run('boot', bad, join(arm, 'lspci.txt'));
    expect(e.code).toBe(2);
    expect(e.err).toMatch(
      /bad\.dtb: offset 0xc8: totalsize: header says \d+ bytes but the file ends after 200/,
    );
  });

  it('an input that is none of the known kinds is named', () => {
    const dir = scratchDir('iommu-lab-cli-');
    const p = join(dir, 'notes.txt');
    writeFileSync(p, 'hello\n');
    const r = run('boot', p, join(gt, 'lspci.txt'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('not an ACPI table, a device-tree blob, an lspci -xxxx dump');
  });
});
