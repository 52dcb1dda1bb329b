// SPDX-License-Identifier: GPL-2.0-only
// explain: the story of a device's group in words, and what-ifs computed by
// booting again with ACS isolation where the chain breaks.
import { describe, expect, it } from 'vitest';
import { boot, loadInputs } from '../../src/api.js';
import { explainDevice } from '../../src/report/explain.js';
import type { PlatformDesc } from '../../src/platform/schema.js';

function explain(name: string) {
  const { desc, file, firmware } = loadInputs(['x86-q35-vtd-switch']);
  const run = (d: PlatformDesc) => boot(d, { profile: 'v6.12', file, firmware });
  return explainDevice(run(desc), desc, name, run);
}

describe('explain', () => {
  it('tells why the NIC behind the switch shares a group of six, and which isolation would shrink it', () => {
    const e = explain('03:00.0');
    expect(e.device.name).toBe('0000:03:00.0');
    expect(e.group?.devices).toHaveLength(6);
    expect(e.story.join('\n')).toContain('upstream bridge 0000:02:00.0 does not isolate (no ACS capability)');
    expect(e.story.join('\n')).toContain('DMAR');
    // ACS on the ioh3420 root port alone leaves the NIC with its downstream port only.
    expect(e.splits).toContainEqual({
      port: '0000:00:03.0',
      hasAcsCapability: false,
      groupAfter: ['0000:02:00.0', '0000:03:00.0'],
    });
  });

  it('says a multifunction device of conventional PCI functions cannot be split by ACS', () => {
    const e = explain('0000:00:1f.2');
    expect(e.splits).toEqual([]);
    expect(e.story.at(-1)).toMatch(/would split this group/);
  });

  it('names the device it cannot find, with the devices it knows', () => {
    expect(() => explain('07:00.0')).toThrow(/no device "07:00.0" \(devices: 0000:00:00.0/);
  });
});
