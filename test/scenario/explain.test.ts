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

describe('explain for devices a fwspec describes', () => {
  const gt = new URL('../../../shared/groundtruth/arm64-virt-smmuv3-dt-bridge/', import.meta.url).pathname;
  const dtExplain = (name: string) => {
    const { desc, file, firmware } = loadInputs([gt + 'system.dtb.gz', gt + 'lspci.txt']);
    const run = (d: PlatformDesc) => boot(d, { profile: 'v6.12', file, firmware });
    return explainDevice(run(desc), desc, name, run);
  };

  it('names the iommu-map entry that gave the stream ID and the MSI controller that is not isolating', () => {
    const story = dtExplain('02:00.0').story.join('\n');
    expect(story).toContain('Its fwspec names /smmuv3@9050000 with IDs [0x200].');
    expect(story).toContain('  from /pcie@10000000 iommu-map entry 0: id 0x200 -> 0x200');
    expect(story).toContain('Its MSIs go to /intc@8000000/v2m@8020000 as ID 0x200');
    expect(story).toContain('allow_unsafe_interrupts=1');
  });

  it("tells why a function behind the conventional bridge has no IOMMU: its alias is another device's stream", () => {
    const e = dtExplain('01:02.0');
    expect(e.device.iommu).toBeNull();
    expect(e.story).toContain('  arm_smmu_insert_master(): stream 72 already in tree from dev 0000:00:09.0');
  });

  it('a platform master on a Juno: which iommus entry, and the stream entry it shares with its neighbour', () => {
    const juno = new URL('../../../shared/fixtures/dtb/arm64-6.12-juno-r1.dtb', import.meta.url).pathname;
    const { desc, file, firmware } = loadInputs([juno]);
    const run = (d: PlatformDesc) => boot(d, { profile: 'v6.12', file, firmware });
    const story = explainDevice(run(desc), desc, '7ffc0000.usb', run).story.join('\n');
    expect(story).toContain('from /usb@7ffc0000 iommus[0]');
    expect(story).toContain('7ffc0000.usb: its streams share S2CR 0 with the group');
    // No msi-parent on the Juno's USB: no MSI domain, so not isolated either.
    expect(story).toContain('not isolated');
  });
});
