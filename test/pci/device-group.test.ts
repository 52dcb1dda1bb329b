// SPDX-License-Identifier: GPL-2.0-only
/** pci_device_group(): which functions share an IOMMU group, and why. */
import { describe, expect, it } from 'vitest';
import type { PciFunctionJson } from '../../src/pci/topology-schema.js';
import { pci_device_group } from '../../src/pci/pci-device-group.js';
import { Device } from '../../src/base/device.js';
import { ErrPtr } from '../../src/kernel/errno.js';
import { build, devs, newKernel, partition, probeGroups } from './helpers.js';

const rootPort = (bdf: string, secondary: number, acs = false): PciFunctionJson => ({
  bdf,
  type: 'root-port',
  vendor: '1b36',
  device: '000c',
  secondary,
  ...(acs ? { acs: { cap: '0x5f' } } : {}),
});
const ep = (bdf: string, extra: Partial<PciFunctionJson> = {}): PciFunctionJson => ({
  bdf,
  type: 'endpoint',
  vendor: '1234',
  device: '0001',
  ...extra,
});

/** A switch below root port 00:1c.0: 01:00.0 up, 02:00.0 and 02:01.0 down, an endpoint below each. */
function switchTopology(opts: { rpAcs: boolean; dspAcs: boolean }): PciFunctionJson[] {
  const dsp = (bdf: string, secondary: number): PciFunctionJson => ({
    bdf,
    type: 'downstream-port',
    vendor: '10b5',
    device: '8747',
    secondary,
    ...(opts.dspAcs ? { acs: { cap: '0x1f' } } : {}),
  });
  return [
    rootPort('00:1c.0', 1, opts.rpAcs),
    { bdf: '01:00.0', type: 'upstream-port', vendor: '10b5', device: '8747', secondary: 2 },
    dsp('02:00.0', 3),
    dsp('02:01.0', 4),
    ep('03:00.0'),
    ep('04:00.0'),
  ];
}

describe('pci_device_group', () => {
  it('groups everything below a switch without ACS with its root port', () => {
    const b = build({ root: 0, functions: switchTopology({ rpAcs: false, dspAcs: false }) });
    expect(partition(probeGroups(b))).toEqual([
      ['00:1c.0', '01:00.0', '02:00.0', '02:01.0', '03:00.0', '04:00.0'],
    ]);
  });

  it('below an ACS root port, groups each ACS-less downstream port with what is below it', () => {
    // The single-function upstream port passes pci_acs_enabled(), so the path above each
    // downstream port isolates; the endpoints stop at their downstream port.
    const b = build({ root: 0, functions: switchTopology({ rpAcs: true, dspAcs: false }) });
    expect(partition(probeGroups(b))).toEqual([
      ['00:1c.0'],
      ['01:00.0'],
      ['02:00.0', '03:00.0'],
      ['02:01.0', '04:00.0'],
    ]);
  });

  it('isolates every function when ACS holds along the whole path', () => {
    const b = build({ root: 0, functions: switchTopology({ rpAcs: true, dspAcs: true }) });
    expect(partition(probeGroups(b))).toEqual([
      ['00:1c.0'],
      ['01:00.0'],
      ['02:00.0'],
      ['02:01.0'],
      ['03:00.0'],
      ['04:00.0'],
    ]);
  });

  it('breaks isolation for the whole switch when only the root port lacks ACS', () => {
    const b = build({ root: 0, functions: switchTopology({ rpAcs: false, dspAcs: true }) });
    const groups = probeGroups(b);
    expect(partition(groups)).toEqual([['00:1c.0', '01:00.0', '02:00.0', '02:01.0', '03:00.0', '04:00.0']]);
    expect(groups.get(b.topo.device('03:00.0'))!.reasons).toContain(
      "0000:03:00.0: upstream bridge 0000:02:00.0 does not isolate (ACS path broken at 0000:00:1c.0: no ACS capability); shares 0000:02:00.0's group",
    );
  });

  it('keeps functions of an ACS-less multifunction endpoint together, and apart with ACS', () => {
    const shared = build({
      root: 0,
      functions: [
        rootPort('00:1c.0', 1, true),
        ep('01:00.0', { multifunction: true }),
        ep('01:00.1'),
        ep('01:00.3'),
      ],
    });
    const groups = probeGroups(shared);
    expect(partition(groups)).toEqual([['00:1c.0'], ['01:00.0', '01:00.1', '01:00.3']]);
    expect(groups.get(shared.topo.device('01:00.1'))!.reasons).toContain(
      "0000:01:00.1: shares 0000:01:00.0's group: multifunction sibling without ACS isolation",
    );

    const acs = { cap: ['RR', 'CR', 'DT'] as ('RR' | 'CR' | 'DT')[] };
    const isolated = build({
      root: 0,
      functions: [
        rootPort('00:1c.0', 1, true),
        ep('01:00.0', { multifunction: true, acs }),
        ep('01:00.1', { acs }),
        ep('01:00.3'),
      ],
    });
    // 01:00.3 has no ACS: it cannot find an ACS-isolated sibling's group, and they cannot find its.
    expect(partition(probeGroups(isolated))).toEqual([['00:1c.0'], ['01:00.0'], ['01:00.1'], ['01:00.3']]);
  });

  it('groups everything behind a PCIe-to-PCI bridge with the bridge', () => {
    const b = build({
      root: 0,
      functions: [
        rootPort('00:1c.0', 1, true),
        { bdf: '01:00.0', type: 'pcie-pci-bridge', vendor: '1b36', device: '000e', secondary: 2 },
        { bdf: '02:01.0', type: 'conventional', vendor: '1234', device: '0001' },
        { bdf: '02:02.0', type: 'conventional', vendor: '1234', device: '0002' },
        { bdf: '02:03.0', type: 'pci-bridge', vendor: '1b36', device: '0001', secondary: 3 },
        { bdf: '03:00.0', type: 'conventional', vendor: '1234', device: '0003' },
      ],
    });
    const groups = probeGroups(b);
    expect(partition(groups)).toEqual([['00:1c.0'], ['01:00.0', '02:01.0', '02:02.0', '02:03.0', '03:00.0']]);
    expect(groups.get(b.topo.device('02:01.0'))!.reasons).toContain(
      "0000:02:01.0: its DMA carries 02:00.0, as PCIe-to-PCI bridge 0000:01:00.0 tags it; joins 0000:01:00.0's group",
    );
  });

  it('gives devices behind a bridge that is never grouped groups of their own, as the kernel does', () => {
    const b = build({
      root: 0,
      functions: [
        rootPort('00:1c.0', 1, true),
        { bdf: '01:00.0', type: 'pcie-pci-bridge', vendor: '1b36', device: '000e', secondary: 2 },
        { bdf: '02:01.0', type: 'conventional', vendor: '1234', device: '0001' },
        { bdf: '02:02.0', type: 'conventional', vendor: '1234', device: '0002' },
      ],
    });
    const groups = probeGroups(b, devs(b, '02:01.0', '02:02.0'));
    expect(partition(groups)).toEqual([['02:01.0'], ['02:02.0']]);
    expect(groups.get(b.topo.device('02:02.0'))!.reasons[0]).toMatch(
      /^0000:02:02.0: its DMA carries 02:00.0, .*; a new group: 0000:01:00.0 stands for it and has no group yet/,
    );
  });

  it('joins functions linked by DMA alias quirks, across slots', () => {
    const b = build({
      root: 0,
      functions: [
        ep('00:02.0', { type: 'rc-endpoint' }),
        ep('00:03.0', { type: 'rc-endpoint', aliases: ['00:02.0'] }), // as an IVRS alias entry would
        ep('00:04.0', { type: 'rc-endpoint' }),
        // Adaptec 3405: its DMA engine hides at 01.0; 00:01.0 is some other function here.
        ep('00:01.0', { type: 'rc-endpoint' }),
        ep('00:05.0', {
          type: 'rc-endpoint',
          vendor: '9005',
          device: '0285',
          subsystemVendor: '9005',
          subsystemDevice: '02bb',
        }),
      ],
    });
    const groups = probeGroups(b);
    expect(partition(groups)).toEqual([['00:01.0', '00:05.0'], ['00:02.0', '00:03.0'], ['00:04.0']]);
    expect(groups.get(b.topo.device('00:05.0'))!.reasons).toContain(
      "0000:00:05.0: shares 0000:00:01.0's group: DMA alias",
    );
  });

  it('follows aliases into the aliased function’s non-isolated siblings', () => {
    const b = build({
      root: 0,
      functions: [
        ep('00:02.0', { type: 'conventional', multifunction: true }),
        ep('00:02.1', { type: 'conventional' }),
        ep('00:06.0', { type: 'conventional', aliases: ['02.1'] }),
      ],
    });
    // Probe 00:02.0 first, then 00:06.0: its alias 00:02.1 has no group yet, but 00:02.1's sibling has.
    const groups = probeGroups(b, devs(b, '00:02.0', '00:06.0', '00:02.1'));
    expect(partition(groups)).toEqual([['00:02.0', '00:02.1', '00:06.0']]);
    expect(groups.get(b.topo.device('00:06.0'))!.reasons).toContain(
      "0000:00:06.0: shares 0000:00:02.0's group: DMA alias 0000:00:02.1, then multifunction sibling 0000:00:02.0 without ACS isolation",
    );
  });

  it('isolates Intel PCH root ports by quirk under DMAR but not under a device tree', () => {
    const pch: PciFunctionJson[] = [
      {
        bdf: '00:1c.0',
        type: 'root-port',
        vendor: '8086',
        device: '8c10',
        secondary: 1,
        multifunction: true,
      },
      { bdf: '00:1c.2', type: 'root-port', vendor: '8086', device: '8c14', secondary: 2 },
      ep('01:00.0'),
      ep('02:00.0'),
    ];
    expect(partition(probeGroups(build({ root: 0, functions: pch }, { acsRequested: true })))).toEqual([
      ['00:1c.0'],
      ['00:1c.2'],
      ['01:00.0'],
      ['02:00.0'],
    ]);
    expect(partition(probeGroups(build({ root: 0, functions: pch }, { acsRequested: false })))).toEqual([
      ['00:1c.0', '00:1c.2', '01:00.0', '02:00.0'],
    ]);
  });

  it('gives SR-IOV VFs behind an ACS root port groups of their own, including on a virtual bus', () => {
    const b = build({
      root: 0,
      functions: [
        rootPort('00:1c.0', 1, true),
        ep('01:00.0', { vendor: '8086', device: '1572', driver: 'i40e' }),
        ep('01:02.0', { vendor: '8086', device: '154c', physfn: '01:00.0' }),
        ep('01:02.1', { vendor: '8086', device: '154c', physfn: '01:00.0' }),
        ep('02:00.0', { vendor: '8086', device: '154c', physfn: '01:00.0' }),
      ],
    });
    const groups = probeGroups(b);
    expect(partition(groups)).toEqual([['00:1c.0'], ['01:00.0'], ['01:02.0'], ['01:02.1'], ['02:00.0']]);
    const vf = b.topo.device('02:00.0');
    expect(vf.pci!.bus.self).toBeNull();
    expect(vf.parent).toBe(b.topo.device('00:1c.0'));
  });

  it('returns the group an alias already has, with a reference', () => {
    const b = build({
      root: 0,
      functions: [
        { bdf: '00:09.0', type: 'pci-bridge', vendor: '1b36', device: '0001', secondary: 1 },
        ep('01:01.0', { type: 'conventional' }),
      ],
    });
    const groups = probeGroups(b);
    const g = groups.get(b.topo.device('00:09.0'))!;
    expect(groups.get(b.topo.device('01:01.0'))).toBe(g);
    expect(g.refcount).toBe(2);
  });

  it('warns and fails with -EINVAL for a device that is not PCI', () => {
    const k = newKernel();
    const ret = pci_device_group(k, new Device('platform-dev'));
    expect(ret).toBeInstanceOf(ErrPtr);
    expect((ret as ErrPtr).errno).toBe(-22);
    expect(k.printk.warnings[0]).toMatchObject({ site: 'pci_device_group' });
  });
});
