// SPDX-License-Identifier: GPL-2.0-only
// The out-of-tree ACS override patch (src/pci/acs-override.ts): a mainline
// kernel does not know pcie_acs_override= and says so, changing nothing; a
// patched one (Kconfig PCIE_ACS_OVERRIDE) splits the groups where functions
// without an ACS capability are vouched for: root and downstream ports
// (downstream), multifunction PCIe endpoints (multifunction), listed IDs
// (id:VVVV:DDDD, 15 of the 16 slots); conventional PCI and functions with an
// ACS capability are never overridden; the in-tree quirks still come first.
// The option parsing follows the patch's pointer walk, warnings included.
import { describe, expect, it } from 'vitest';
import { boot, bootByName, loadInputs } from '../../src/api.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { profiles } from '../../src/profile/profiles.js';
import { parseAcsOverride } from '../../src/pci/acs-override.js';
import { VTD_SWITCH_GROUPS, VTD_SWITCH_ROOT_PORT_ISOLATED } from '../support/vtd-switch.js';

const groupsOf = (cmdline: string, patched: boolean) => {
  const { desc, file, firmware } = loadInputs(['x86-q35-vtd-switch'], {
    kconfig: { PCIE_ACS_OVERRIDE: patched },
  });
  const r = boot(desc, { profile: 'v6.12', cmdline, file, firmware });
  return { groups: r.groups.map((g) => g.devices.join(' ')), log: r.log, r };
};

describe('pcie_acs_override=', () => {
  it('a mainline kernel does not know it: the groups stay, the boot log says it goes to user space', () => {
    const { groups, log } = groupsOf('pcie_acs_override=downstream,multifunction', false);
    expect(groups).toEqual(VTD_SWITCH_GROUPS);
    expect(log).toContain(
      'kernel: Unknown kernel command line parameters "pcie_acs_override=downstream,multifunction", will be passed to user space.',
    );
  });

  it('downstream: the root port and the switch ports without ACS isolate, every function its own group', () => {
    const { groups, log } = groupsOf('pcie_acs_override=downstream', true);
    expect(groups).toEqual([
      '0000:00:00.0',
      '0000:00:03.0',
      '0000:00:06.0',
      // ICH9's functions are conventional PCI (no PCIe capability): never overridden.
      '0000:00:1f.0 0000:00:1f.2 0000:00:1f.3',
      '0000:01:00.0',
      '0000:02:00.0',
      '0000:02:01.0',
      '0000:03:00.0',
      '0000:04:00.0',
      '0000:05:00.0',
    ]);
    expect(log).toContain(
      'kernel: Warning: PCIe ACS overrides enabled; This may allow non-IOMMU protected peer-to-peer DMA',
    );
  });

  it('id: vouches for that vendor:device only; multifunction alone changes nothing on this machine', () => {
    expect(
      bootByName('x86-q35-vtd-switch', { profile: 'v6.12' }).groups.map((g) => g.devices.join(' ')),
    ).toEqual(VTD_SWITCH_GROUPS);
    expect(groupsOf('pcie_acs_override=multifunction', true).groups).toEqual(VTD_SWITCH_GROUPS);
    // QEMU's ioh3420 root port (00:03.0) is 8086:3420: vouched for, it parts from the switch below it.
    const id = groupsOf('pcie_acs_override=id:8086:3420', true);
    expect(id.groups).toEqual(VTD_SWITCH_ROOT_PORT_ISOLATED);
  });

  it('parses as the patch does: prefixes, 15 usable id slots, parse errors, unknown words ignored', () => {
    const k = (v: string, patched = true) =>
      new Kernel({
        profile: profiles['v6.12'],
        cmdline: `pcie_acs_override=${v}`,
        kconfig: { PCIE_ACS_OVERRIDE: patched },
      });
    const lines = (kk: Kernel) => kk.printk.lines.map((l) => l.message);

    const a = k('downstreamXYZ,foo,multifunction');
    expect(parseAcsOverride(a)).toEqual({ downstream: true, multifunction: true, ids: [] });

    const ids = Array.from({ length: 17 }, (_, i) => `id:10de:${(0x1000 + i).toString(16)}`).join(',');
    const b = k(ids);
    const parsed = parseAcsOverride(b)!;
    expect(parsed.ids.length).toBe(15);
    expect(parsed.ids[14]).toEqual({ vendor: 0x10de, device: 0x100e });
    expect(lines(b).filter((l) => l === 'Out of PCIe ACS override slots (16)').length).toBe(2);

    const none = { downstream: false, multifunction: false, ids: [] };
    for (const [v, line] of [
      ['id:10d:1234', 'PCIe ACS ID parse error -22'], // kstrtol("10d:")
      ['id:8086:zz', 'PCIe ACS ID parse error -22'],
      ['id:8086', 'PCIe ACS invalid ID'],
    ]) {
      const c = k(v);
      expect(parseAcsOverride(c)).toEqual(none);
      expect(lines(c)).toEqual([line]);
    }
    // kstrtol(): a 0x prefix and a sign are accepted; the value goes into an unsigned short.
    expect(parseAcsOverride(k('id:0x80:0x10'))!.ids).toEqual([{ vendor: 0x80, device: 0x10 }]);
    expect(parseAcsOverride(k('id:-001:+abc'))!.ids).toEqual([{ vendor: 0xffff, device: 0xabc }]);
    expect(parseAcsOverride(k('id:-1:+abc'))!.ids).toEqual([]); // kstrtol("-1:+")
    // The patch looks for the device's colon past the comma: "id:8086,id:1234:5678" lists 8086:1234.
    expect(parseAcsOverride(k('id:8086,id:1234:5678'))!.ids).toEqual([{ vendor: 0x8086, device: 0x1234 }]);
    expect(parseAcsOverride(k('downstream', false))).toBe(null);
    expect(parseAcsOverride(new Kernel({ profile: profiles['v6.12'] }))).toBe(null);
  });

  it('explain names the override as what vouched for the port', () => {
    const { r } = groupsOf('pcie_acs_override=downstream', true);
    const rp = r.groups.find((g) => g.devices.includes('0000:01:00.0'))!;
    expect(rp.why).toEqual([
      '0000:01:00.0: a new group (the ACS path from 0000:00:03.0 to the root bus provides SV|RR|CR|UF (0000:00:03.0: pcie_acs_overrides (pcie_acs_override=downstream) vouches for SV|RR|CR|UF); single function)',
    ]);
  });
});
