// SPDX-License-Identifier: GPL-2.0-only
// Every x86 machine in shared/groundtruth booted from its own firmware
// (DMAR.dat or IVRS.dat, as the guest read them) and its real `lspci -D
// -xxxx` dump, with the kernel command line it was booted with: the same
// groups (ids, members, type, reserved regions) and the same IOMMU per device
// as Linux 6.12.117 printed. The guests ran under QEMU TCG: a hypervisor.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bootInputs } from '../../src/api.js';

const root = fileURLToPath(new URL('../../../shared/groundtruth/', import.meta.url));

interface Expected {
  cmdline: string;
  groups: Map<number, { type: string; devices: string[]; resv: string[] }>;
  iommuOf: Map<string, string>;
}

function parseExpected(path: string): Expected {
  const e: Expected = { cmdline: '', groups: new Map(), iommuOf: new Map() };
  let cur: { type: string; devices: string[]; resv: string[] } | null = null;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# cmdline: (.*)$/.exec(line))) e.cmdline = m[1].trim();
    else if ((m = /^group (\d+) type=(\S+)/.exec(line)))
      e.groups.set(Number(m[1]), (cur = { type: m[2], devices: [], resv: [] }));
    else if ((m = /^ {2}dev (\S+)/.exec(line))) cur!.devices.push(m[1]);
    else if ((m = /^ {2}resv (.+)$/.exec(line))) cur!.resv.push(m[1]);
    else if ((m = /^iommu-of (\S+) -> (\S+)/.exec(line))) e.iommuOf.set(m[1], m[2]);
  }
  return e;
}

const scenarios = readdirSync(root).filter(
  (d) =>
    d.startsWith('x86-') && (existsSync(join(root, d, 'DMAR.dat')) || existsSync(join(root, d, 'IVRS.dat'))),
);

describe('x86 groundtruth, booted from firmware files and lspci dumps', () => {
  it('covers every DMAR and IVRS machine', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(6);
  });

  for (const name of scenarios) {
    it(`${name} gives what Linux 6.12 gave`, () => {
      const dir = join(root, name);
      const want = parseExpected(join(dir, 'expected.txt'));
      const table = existsSync(join(dir, 'DMAR.dat')) ? join(dir, 'DMAR.dat') : join(dir, 'IVRS.dat');
      const r = bootInputs([table, join(dir, 'lspci.txt')], {
        profile: 'v6.12',
        cmdline: want.cmdline,
        hypervisor: true,
      });
      const got = new Map(
        r.groups.map((g) => [
          g.id,
          {
            type: g.type,
            devices: [...g.devices].sort(),
            resv: g.reservedRegions.map((x) => `${x.start} ${x.end} ${x.type}`),
          },
        ]),
      );
      expect(got).toEqual(
        new Map([...want.groups].map(([id, g]) => [id, { ...g, devices: [...g.devices].sort() }])),
      );
      expect(new Map(r.devices.filter((d) => d.iommu).map((d) => [d.name, d.iommu]))).toEqual(want.iommuOf);
      expect(r.leaks).toEqual([]);
      expect(r.warnings).toEqual([]);
    });
  }
});
