// SPDX-License-Identifier: GPL-2.0-only
/**
 * The PCI grouping against what Linux 6.12.117 computed under QEMU 7.2
 * (/work/shared/groundtruth). Each topology is transcribed by hand from the
 * scenario's README.md and lspci.txt (IDs, header types, PCIe port types,
 * ACS capability 0x005f on QEMU's pcie-root-port, none elsewhere). The
 * assertion is the partition of PCI functions into groups; as the probe
 * order is the kernel's, the group numbers agree as well.
 */
import { describe, expect, it } from 'vitest';
import type { PciFunctionJson } from '../../src/pci/topology-schema.js';
import { build, devs, groupIds, partition, probeGroups } from './helpers.js';

/** q35's own functions: the MCH host bridge and the ICH9 LPC/SATA/SMBus (conventional, multifunction). */
const q35: PciFunctionJson[] = [
  { bdf: '00:00.0', type: 'conventional', vendor: '8086', device: '29c0', class: '060000' },
  {
    bdf: '00:1f.0',
    type: 'conventional',
    vendor: '8086',
    device: '2918',
    class: '060100',
    multifunction: true,
  },
  { bdf: '00:1f.2', type: 'conventional', vendor: '8086', device: '2922', class: '010601' },
  { bdf: '00:1f.3', type: 'conventional', vendor: '8086', device: '2930', class: '0c0500' },
];
/** QEMU pcie-root-port: ACS capability at 0x148 with SV|TB|RR|CR|UF|DT. */
const qemuRootPort = { type: 'root-port', vendor: '1b36', device: '000c', acs: { cap: '0x5f' } } as const;

describe('x86-q35-vtd-switch (DMAR, intel_iommu=on)', () => {
  const b = build(
    {
      root: 0,
      functions: [
        ...q35,
        {
          bdf: '00:03.0',
          type: 'root-port',
          vendor: '8086',
          device: '3420',
          secondary: 1,
          label: 'ioh3420 rp1',
        },
        { bdf: '00:06.0', ...qemuRootPort, secondary: 5, label: 'pcie-root-port rp2' },
        {
          bdf: '01:00.0',
          type: 'upstream-port',
          vendor: '104c',
          device: '8232',
          secondary: 2,
          label: 'x3130-upstream',
        },
        {
          bdf: '02:00.0',
          type: 'downstream-port',
          vendor: '104c',
          device: '8233',
          secondary: 3,
          label: 'dn1',
        },
        {
          bdf: '02:01.0',
          type: 'downstream-port',
          vendor: '104c',
          device: '8233',
          secondary: 4,
          label: 'dn2',
        },
        { bdf: '03:00.0', type: 'endpoint', vendor: '8086', device: '10d3', driver: 'e1000e' },
        { bdf: '04:00.0', type: 'endpoint', vendor: '1af4', device: '1041', driver: 'virtio-pci' },
        { bdf: '05:00.0', type: 'endpoint', vendor: '1af4', device: '1044', driver: 'virtio-pci' },
      ],
    },
    { acsRequested: true }, // DMAR: pci_request_acs() before enumeration
  );
  // DMAR probes every function its scopes cover, in bus order, at IOMMU init.
  const groups = probeGroups(b);

  it('enables ACS on the pcie-root-port as the kernel did (ACSCtl 0x001d)', () => {
    expect(b.topo.device('00:06.0').pci!.acsControl).toBe(0x001d);
    expect(b.topo.device('00:03.0').pci!.acs_cap).toBe(0);
  });

  it('puts the non-ACS root port, the switch and both endpoints in one group', () => {
    expect(partition(groups)).toEqual([
      ['00:00.0'],
      ['00:03.0', '01:00.0', '02:00.0', '02:01.0', '03:00.0', '04:00.0'],
      ['00:06.0'],
      ['00:1f.0', '00:1f.2', '00:1f.3'],
      ['05:00.0'],
    ]);
  });

  it('numbers the groups as Linux did', () => {
    expect(groupIds(groups)).toEqual({
      '00:00.0': 0,
      '00:03.0': 1,
      '00:06.0': 2,
      '00:1f.0': 3,
      '00:1f.2': 3,
      '00:1f.3': 3,
      '01:00.0': 1,
      '02:00.0': 1,
      '02:01.0': 1,
      '03:00.0': 1,
      '04:00.0': 1,
      '05:00.0': 4,
    });
  });
});

describe('x86-q35-vtd-multifunction-default (DMAR, VT-d on by default)', () => {
  const b = build(
    {
      root: 0,
      functions: [
        ...q35,
        // QEMU gives virtio devices on the PCIe root bus no PCIe capability.
        { bdf: '00:05.0', type: 'conventional', vendor: '1af4', device: '1000', multifunction: true },
        { bdf: '00:05.1', type: 'conventional', vendor: '1af4', device: '1005' },
        { bdf: '00:05.2', type: 'conventional', vendor: '1af4', device: '1002' },
        { bdf: '00:07.0', ...qemuRootPort, secondary: 1 },
        {
          bdf: '01:00.0',
          type: 'endpoint',
          vendor: '8086',
          device: '10d3',
          multifunction: true,
          driver: 'e1000e',
        },
        { bdf: '01:00.1', type: 'endpoint', vendor: '1af4', device: '1048', driver: 'virtio-pci' },
        { bdf: '01:00.2', type: 'endpoint', vendor: '1af4', device: '1044', driver: 'virtio-pci' },
      ],
    },
    { acsRequested: true },
  );
  const groups = probeGroups(b);

  it('shares a group among multifunction functions without ACS, and keeps the ACS root port alone', () => {
    expect(partition(groups)).toEqual([
      ['00:00.0'],
      ['00:05.0', '00:05.1', '00:05.2'],
      ['00:07.0'],
      ['00:1f.0', '00:1f.2', '00:1f.3'],
      ['01:00.0', '01:00.1', '01:00.2'],
    ]);
    expect(groupIds(groups)['01:00.2']).toBe(4);
  });
});

describe('x86-q35-vtd-bridge-strict (DMAR, conventional PCI-PCI bridge)', () => {
  const b = build(
    {
      root: 0,
      functions: [
        ...q35,
        {
          bdf: '00:09.0',
          type: 'pci-bridge',
          vendor: '1b36',
          device: '0001',
          secondary: 1,
          label: 'pci-bridge br1',
        },
        { bdf: '00:0a.0', ...qemuRootPort, secondary: 2 },
        { bdf: '01:01.0', type: 'conventional', vendor: '8086', device: '100e', driver: 'e1000' },
        { bdf: '01:02.0', type: 'conventional', vendor: '1af4', device: '1000', driver: 'virtio-pci' },
        { bdf: '01:03.0', type: 'conventional', vendor: '1af4', device: '1005', driver: 'virtio-pci' },
        { bdf: '02:00.0', type: 'endpoint', vendor: '8086', device: '10d3', driver: 'e1000e' },
      ],
    },
    { acsRequested: true },
  );
  const groups = probeGroups(b);

  it('groups the bridge with every device behind it', () => {
    expect(partition(groups)).toEqual([
      ['00:00.0'],
      ['00:09.0', '01:01.0', '01:02.0', '01:03.0'],
      ['00:0a.0'],
      ['00:1f.0', '00:1f.2', '00:1f.3'],
      ['02:00.0'],
    ]);
    expect(groupIds(groups)['02:00.0']).toBe(4);
  });

  it('explains why the devices behind the bridge joined it', () => {
    const g = groups.get(b.topo.device('01:02.0'))!;
    expect(g.reasons).toContain(
      "0000:01:02.0: its DMA carries 00:09.0, the ID of bridge 0000:00:09.0, which takes the transactions over; joins 0000:00:09.0's group",
    );
  });
});

describe('arm64-virt-virtio-iommu-dt-multifunction-passthrough (device tree: ACS never requested in time)', () => {
  const b = build(
    {
      root: 0,
      functions: [
        { bdf: '00:00.0', type: 'conventional', vendor: '1b36', device: '0008', class: '060000' },
        { bdf: '00:01.0', type: 'conventional', vendor: '1af4', device: '1057', label: 'virtio-iommu' },
        { bdf: '00:05.0', type: 'conventional', vendor: '1af4', device: '1000', multifunction: true },
        { bdf: '00:05.1', type: 'conventional', vendor: '1af4', device: '1005' },
        { bdf: '00:05.2', type: 'conventional', vendor: '1af4', device: '1002' },
        { bdf: '00:07.0', ...qemuRootPort, secondary: 1 },
        { bdf: '01:00.0', type: 'endpoint', vendor: '8086', device: '10d3', multifunction: true },
        { bdf: '01:00.1', type: 'endpoint', vendor: '1af4', device: '1048' },
        { bdf: '01:00.2', type: 'endpoint', vendor: '1af4', device: '1044' },
      ],
    },
    { acsRequested: false }, // of_iommu_configure() asks only at the first driver probe
  );
  // Groups are made at driver probe: built-in pcieport and virtio-pci first, e1000e (a module) last.
  const groups = probeGroups(
    b,
    devs(b, '00:07.0', '00:05.0', '00:05.1', '00:05.2', '01:00.1', '01:00.2', '01:00.0'),
  );

  it('leaves ACSCtl at 0x0000, so the root port shares its group with the endpoint', () => {
    expect(b.topo.device('00:07.0').pci!.acsControl).toBe(0);
    expect(partition(groups)).toEqual([
      ['00:05.0', '00:05.1', '00:05.2'],
      ['00:07.0', '01:00.0', '01:00.1', '01:00.2'],
    ]);
    expect(groupIds(groups)).toMatchObject({ '00:07.0': 0, '00:05.0': 1, '01:00.0': 0 });
  });
});
