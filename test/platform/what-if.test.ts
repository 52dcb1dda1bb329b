// SPDX-License-Identifier: GPL-2.0-only
// Topology what-ifs (src/platform/what-if.ts) through the public API and the
// CLI's diff, on the built-in x86-q35-vtd-switch (real Linux 6.12 gave its
// groups): ACS on the root port above the switch splits its group the way
// pci_device_group() walks the ACS path; removing the switch's upstream port
// takes everything behind it; adding a second function to a slot makes it
// multifunction without ACS, so the two share a group. Names that match no
// function, a bus that does not exist, a taken address and a malformed spec
// are input errors; the platform itself is left unchanged.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { boot, bootByName, loadInputs } from '../../src/api.js';
import { applyTopologyEdits, type TopologyEdits } from '../../src/platform/what-if.js';
import { inputError } from '../support/input-error.js';
import { VTD_SWITCH_GROUPS, VTD_SWITCH_ROOT_PORT_ISOLATED } from '../support/vtd-switch.js';

const groupsWith = (edits: TopologyEdits) => {
  const { desc, file, firmware } = loadInputs(['x86-q35-vtd-switch'], { edits });
  const r = boot(desc, { profile: 'v6.12', file, firmware });
  return { groups: r.groups.map((g) => g.devices.join(' ')), r };
};

describe('topology what-ifs', () => {
  it('ACS on the root port: the switch parts from it, and each downstream port keeps its endpoint', () => {
    const { groups, r } = groupsWith({ acs: ['00:03.0'] });
    expect(groups).toEqual(VTD_SWITCH_ROOT_PORT_ISOLATED);
    const up = r.groups.find((g) => g.devices.includes('0000:01:00.0'))!;
    expect(up.why).toEqual([
      '0000:01:00.0: a new group (the ACS path from 0000:00:03.0 to the root bus provides SV|RR|CR|UF; single function)',
    ]);
    // The built-in platform is untouched.
    expect(
      bootByName('x86-q35-vtd-switch', { profile: 'v6.12' }).groups.map((g) => g.devices.join(' ')),
    ).toEqual(VTD_SWITCH_GROUPS);
  });

  it('removing the switch upstream port removes the switch and what is behind it', () => {
    const { groups, r } = groupsWith({ remove: ['0000:01:00.0'] });
    expect(groups).toEqual([
      '0000:00:00.0',
      '0000:00:03.0',
      '0000:00:06.0',
      '0000:00:1f.0 0000:00:1f.2 0000:00:1f.3',
      '0000:05:00.0',
    ]);
    expect(r.devices.filter((d) => d.bus === 'pci').map((d) => d.name)).not.toContain('0000:04:00.0');
  });

  it('a function added to a slot makes it multifunction without ACS: the two share a group', () => {
    const { groups, r } = groupsWith({ add: ['0000:05:00.1=8086:10d3'] });
    expect(groups.at(-1)).toBe('0000:05:00.0 0000:05:00.1');
    expect(r.groups.at(-1)!.why).toContain(
      "0000:05:00.1: shares 0000:05:00.0's group: multifunction sibling without ACS isolation",
    );
    // A legacy endpoint as function 1 of 04:00: same story, in the switch's group.
    const legacy = groupsWith({ add: ['0000:04:00.1=legacy-endpoint:8086:1010'] });
    expect(legacy.groups[1]).toBe(
      '0000:00:03.0 0000:01:00.0 0000:02:00.0 0000:02:01.0 0000:03:00.0 0000:04:00.0 0000:04:00.1',
    );
    // On the root bus at 00:10.0 no DMAR device scope covers it (no INCLUDE_PCI_ALL unit): no IOMMU, no group.
    const outside = groupsWith({ add: ['00:10.0=conventional:8086:7010'] });
    expect(outside.groups).toEqual(VTD_SWITCH_GROUPS);
    expect(outside.r.devices.find((d) => d.name === '0000:00:10.0')).toMatchObject({
      iommu: null,
      group: null,
    });
  });

  it('bad what-ifs are input errors naming the option', () => {
    const err = (edits: TopologyEdits) => inputError(() => groupsWith(edits));
    expect(err({ acs: ['0000:09:00.0'] }).where).toBe('--acs');
    expect(err({ acs: ['0000:09:00.0'] }).problem).toBe('no PCI function 0000:09:00.0 on this platform');
    expect(err({ remove: ['1f.7'] }).problem).toBe('no PCI function 1f.7 on this platform');
    expect(err({ add: ['0000:07:00.0=8086:10d3'] }).problem).toBe(
      "no bus 07 for 0000:07:00.0: the root bus or a bridge's secondary",
    );
    expect(err({ add: ['0000:05:00.0=8086:10d3'] }).problem).toBe(
      '0000:05:00.0 is already a function on this platform',
    );
    expect(err({ add: ['05:00.1'] }).problem).toBe(
      '"05:00.1" is not BDF=VVVV:DDDD or BDF=TYPE:VVVV:DDDD (0000:03:00.1=10de:10f0)',
    );
    expect(err({ add: ['05:00.1=gpu:10de:10f0'] }).problem).toMatch(
      /^"gpu" is not a function type --add makes/,
    );
    expect(err({ add: ['00:10.0=root-port:8086:3420'] }).problem).toMatch(/bridges need a bus behind them/);
    expect(err({ add: ['0001:00:05.0=8086:1234'] }).problem).toBe('no PCI segment 0001 for 0001:00:05.0');
    // A description not yet checked against its schema: an input error, not a crash.
    const { desc } = loadInputs(['x86-q35-vtd-switch']);
    for (const pci of [{ root: 0 }, { root: 0, functions: [{ bdf: 5 }] }, [null]])
      expect(
        inputError(() => applyTopologyEdits({ ...desc, pci }, { acs: ['00:01.0'] }, 'bad.json')).where,
      ).toBe('pci');
  });
});

describe('iommu-lab diff with a what-if', () => {
  const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

  it('names the run the what-if applies to and what changed: groups, their users, devices', () => {
    const r = run('diff', '--profile', 'v6.12', '--remove', '0000:02:00.0', '--json');
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect([j.a, j.b]).toEqual(['v6.12', 'v6.12 --remove 0000:02:00.0']);
    expect(j.differences).toEqual([
      {
        kind: 'group',
        subject: '{0000:00:03.0 0000:01:00.0 0000:02:00.0 0000:02:01.0 0000:03:00.0 0000:04:00.0}',
        a: 'DMA-FQ, in use by 2 kernel drivers',
        b: '-',
      },
      {
        kind: 'group',
        subject: '{0000:00:03.0 0000:01:00.0 0000:02:01.0 0000:04:00.0}',
        a: '-',
        b: 'DMA-FQ, in use by 1 kernel driver',
      },
      {
        kind: 'device',
        subject: '0000:02:00.0',
        a: 'iommu dmar0, grouped, driver pcieport, probed at registration of dmar0',
        b: 'absent',
      },
      {
        kind: 'device',
        subject: '0000:03:00.0',
        a: 'iommu dmar0, grouped, driver e1000e, probed at registration of dmar0',
        b: 'absent',
      },
    ]);
  });

  it('the ACS override, as a Kconfig what-if and a second command line', () => {
    const r = run(
      'diff',
      '--kconfig',
      'PCIE_ACS_OVERRIDE=y',
      '--cmdline',
      '',
      '--cmdline',
      'pcie_acs_override=downstream',
    );
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(
      'differences between v6.18 (-) and v6.18 "pcie_acs_override=downstream" CONFIG_PCIE_ACS_OVERRIDE=y (+):',
    );
    expect(r.stdout).toContain('  group {0000:02:01.0}');
  });

  it('nothing to compare, or a what-if on a scenario, is a usage error', () => {
    const none = run('diff');
    expect(none.status).toBe(2);
    expect(none.stderr).toBe(
      'iommu-lab: nothing to compare: give two --profile, two --cmdline, or a what-if (--acs, --remove, --add, --kconfig, --bind, --acs-request)\n',
    );
    const sc = run('diff', 'seed-mock-ops', '--acs', '00:03.0');
    expect(sc.status).toBe(2);
    expect(sc.stderr).toBe('iommu-lab: the what-if options apply to platforms, not scenarios\n');
  });
});
