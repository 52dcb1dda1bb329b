// SPDX-License-Identifier: GPL-2.0-only
// Lookups on a boot's result that the driver tests share: a device by name
// (a missing one fails the test with its name) and the group partition (each
// group's device names sorted, the groups in sorted order).
import type { BootResult } from '../../src/api.js';

export type Booted = Pick<BootResult, 'devices' | 'groups'>;

export function deviceNamed(r: Booted, name: string): BootResult['devices'][number] {
  const d = r.devices.find((x) => x.name === name);
  if (!d) throw new Error(`no device ${name}`);
  return d;
}

export function groupPartition(r: Booted): string[][] {
  return r.groups.map((g) => [...g.devices].sort()).sort();
}
