// SPDX-License-Identifier: GPL-2.0-only
// Reader for shared/groundtruth/*/expected.txt: what real Linux printed for a
// QEMU machine (groups with type, members and reserved regions; each device's
// IOMMU; each device's bound driver; the kernel command line).
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { BootResult } from '../../src/api.js';

export interface GroundTruth {
  cmdline: string;
  groups: Map<number, { type: string; devices: string[]; resv: string[] }>;
  iommuOf: Map<string, string>;
  driver: Map<string, string | null>;
}

export function parseExpected(path: string): GroundTruth {
  const e: GroundTruth = { cmdline: '', groups: new Map(), iommuOf: new Map(), driver: new Map() };
  let cur: { type: string; devices: string[]; resv: string[] } | null = null;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# cmdline: (.*)$/.exec(line))) e.cmdline = m[1].trim();
    else if ((m = /^group (\d+) type=(\S+)/.exec(line)))
      e.groups.set(Number(m[1]), (cur = { type: m[2], devices: [], resv: [] }));
    else if ((m = /^ {2}dev (\S+)/.exec(line))) cur!.devices.push(m[1]);
    else if ((m = /^ {2}resv (.+)$/.exec(line))) cur!.resv.push(m[1]);
    else if ((m = /^iommu-of (\S+) -> (\S+)/.exec(line))) e.iommuOf.set(m[1], m[2]);
    else if ((m = /^driver (\S+) (\S+)/.exec(line))) e.driver.set(m[1], m[2] === '(none)' ? null : m[2]);
  }
  return e;
}

/**
 * A boot against what the machine printed: the same groups (ids, sorted
 * members, type, reserved regions), the same IOMMU per device and the same
 * driver per PCI function.
 */
export function expectGroundTruth(r: BootResult, want: GroundTruth): void {
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
  expect(new Map(r.devices.filter((d) => d.bus === 'pci').map((d) => [d.name, d.driver]))).toEqual(
    want.driver,
  );
}

/** The virtio-iommu module as the guests loaded it, its PROBE replies giving one MSI window. */
export function virtioIommuModule(msiStart: string, msiEnd: string) {
  return {
    name: 'virtio_iommu',
    bus: 'virtio',
    load: 'module',
    probeResv: [{ start: msiStart, end: msiEnd, type: 'msi' }],
  };
}
