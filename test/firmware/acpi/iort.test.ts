// SPDX-License-Identifier: GPL-2.0-only
// The IORT parser: the QEMU virt tables read as the kernel would see them
// (field values are checked against iasl in iasl-expectations.test.ts; here
// the structure: node kinds, ID mappings and where they point), node kinds
// iasl's template lacks (SMMUv1/v2 interrupt arrays, RMR descriptors, a
// named component with mappings) built byte by byte, and malformed tables
// giving InputErrors that name the offset and the field.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/input/input-error.js';
import { type IortNode, parseIort } from '../../../src/firmware/acpi/iort-parse.js';
import {
  acpiTable,
  ascii,
  type Bytes,
  iortIdMap as idMap,
  iortNode as node,
  u32,
  u64,
  u8,
  zeros,
} from './build.js';
import { tableBytes } from './tables.js';
import { Kernel } from '../../../src/kernel/kernel.js';
import { profiles } from '../../../src/profile/profiles.js';
import { iort_node_map_id } from '../../../src/firmware/acpi/iort.js';

function iort(nodes: Bytes[], count = nodes.length): Uint8Array {
  return acpiTable('IORT', 5, [...u32(count), ...u32(48), ...u32(0), ...nodes.flat()]);
}
function fail(t: Uint8Array): string {
  try {
    parseIort(t, 'IORT.dat');
  } catch (e) {
    if (e instanceof InputError) return e.message;
    throw e;
  }
  throw new Error('parsed');
}
const kinds = (ns: readonly IortNode[]) => ns.map((n) => `${n.kind}@${n.offset.toString(16)}`);

describe('QEMU virt IORT tables', () => {
  it('virt-smmuv3: ITS group, SMMUv3, root complex whose RIDs go to the SMMU and the SMMU to the ITS', () => {
    const p = parseIort(tableBytes('virt-smmuv3.IORT'), 'virt-smmuv3.IORT.dat');
    expect(kinds(p.nodes)).toEqual(['its-group@30', 'smmu-v3@48', 'root-complex@a0']);
    const [its, smmu, rc] = p.nodes;
    expect(its.kind === 'its-group' && its.identifiers).toEqual([0]);
    expect(smmu.kind === 'smmu-v3' && smmu.baseAddress).toBe(0x9050000n);
    expect(smmu.mappings.map((m) => [m.inputBase, m.idCount, m.outputReference])).toEqual([
      [0, 0xffff, 0x30],
    ]);
    expect(rc.kind === 'root-complex' && rc.pciSegmentNumber).toBe(0);
    expect(rc.kind === 'root-complex' && rc.memoryAddressLimit).toBe(0x40);
    expect(rc.revision).toBe(3);
    expect(rc.kind === 'root-complex' && rc.pasidCapabilities).toBeNull();
    // Every mapping of the RC lands on the SMMU or the ITS group.
    expect(new Set(rc.mappings.map((m) => m.outputReference))).toEqual(
      new Set([0x30, 0x48].filter((o) => rc.mappings.some((m) => m.outputReference === o))),
    );
    expect(rc.mappings.every((m) => m.outputReference === 0x48 || m.outputReference === 0x30)).toBe(true);
    expect(p.notes).toEqual([]);
  });

  it('virt-smmuv3-pxb: the extra host bridge ranges: RIDs 0x8000.. to the SMMU with the QEMU count 0x200 (for 512 IDs), the rest to the ITS', () => {
    const p = parseIort(tableBytes('virt-smmuv3-pxb.IORT'), 'virt-smmuv3-pxb.IORT.dat');
    const rc = p.nodes[2];
    expect(rc.mappings.map((m) => [m.inputBase, m.idCount, m.outputBase, m.outputReference])).toEqual([
      [0, 0x400, 0, 0x48],
      [0x8000, 0x200, 0x8000, 0x48],
      [0x400, 0x7c00, 0x400, 0x30],
      [0x8200, 0x7dff, 0x8200, 0x30],
    ]);
  });

  it('the iasl template: every node kind it has, a named component with its name, NULL references noted', () => {
    const p = parseIort(tableBytes('iasl-template.IORT'), 'iasl-template.IORT.dat');
    expect(p.nodes.map((n) => n.kind)).toEqual([
      'its-group',
      'named-component',
      'root-complex',
      'smmu',
      'smmu-v3',
      'pmcg',
    ]);
    const nc = p.nodes[1];
    expect(nc.kind === 'named-component' && nc.deviceName).toBe('\\_SB.PCI0.DEV0');
    const smmu = p.nodes[3];
    expect(smmu.kind === 'smmu' && smmu.globalInterrupts).toEqual({
      nsgIrpt: 0,
      nsgIrptFlags: 0,
      nsgCfgIrpt: 0,
      nsgCfgIrptFlags: 0,
    });
    expect(p.notes.filter((n) => n.includes('NULL Output Reference')).length).toBe(5);
  });
});

describe('node kinds built by hand', () => {
  const its = node(0, 1, [...u32(2), ...u32(7), ...u32(9)]); // at 0x30, 28 bytes
  const smmuV2 = node(
    3,
    3,
    [
      ...u64(0x2b400000n),
      ...u64(0x10000n),
      ...u32(3),
      ...u32(1),
      ...u32(60),
      ...u32(2),
      ...u32(76),
      ...u32(1),
      ...u32(92),
      ...u32(100),
      ...u32(1),
      ...u32(101),
      ...u32(1),
      ...u32(200),
      ...u32(1),
      ...u32(201),
      ...u32(0),
      ...u32(300),
      ...u32(4),
    ],
    [idMap(0, 0x10, 0x100, 0x30)],
  );
  const rmr = node(
    6,
    3,
    [
      ...u32(1),
      ...u32(2),
      ...u32(28),
      ...u64(0x80000000n),
      ...u64(0x100000n),
      ...u32(0),
      ...u64(0x90000000n),
      ...u64(0x2000n),
      ...u32(0),
    ],
    [idMap(0x42, 0, 0x42, 0x30, 1)],
  );
  const nc = node(
    1,
    4,
    [...u32(0), ...u32(1), 0, 0, 0, 0, ...u8(48), ...ascii('\\_SB.ETH0', 10), 0],
    [idMap(0, 0, 0x10, 0x30, 1)],
    44,
  );

  it('SMMUv1/v2 interrupt arrays, RMR descriptors, a named component with a single mapping', () => {
    const p = parseIort(iort([its, smmuV2, rmr, nc]), 'IORT.dat');
    expect(kinds(p.nodes)).toEqual(['its-group@30', 'smmu@4c', 'rmr@c4', 'named-component@11c']);
    const [g, s, r, n] = p.nodes;
    expect(g.kind === 'its-group' && g.identifiers).toEqual([7, 9]);
    expect(
      s.kind === 'smmu' && [s.model, s.contextInterrupts, s.pmuInterrupts, s.globalInterrupts.nsgIrpt],
    ).toEqual([3, [200, 201], [300], 100]);
    expect(s.mappings[0].outputBase).toBe(0x100);
    expect(r.kind === 'rmr' && r.descriptors.map((d) => [d.baseAddress, d.length])).toEqual([
      [0x80000000n, 0x100000n],
      [0x90000000n, 0x2000n],
    ]);
    expect(n.kind === 'named-component' && [n.deviceName, n.memoryAddressLimit, n.mappings[0].flags]).toEqual(
      ['\\_SB.ETH0', 48, 1],
    );
  });

  it('errors name the offset and the field', () => {
    expect(fail(iort([its], 2))).toMatch(
      /offset 0x24: Node Count 2 does not match the 1 node .*IORT node pointer overflows/,
    );
    expect(fail(iort([node(4, 4, zeros(52), [idMap(0, 1, 0, 0x99)])]))).toBe(
      'IORT.dat: offset 0x80: SMMUv3 ID mapping Output Reference 0x99 is not the offset of any node (nodes start at 0x30)',
    );
    const shortMaps = node(2, 3, zeros(20), [idMap(0, 1, 0, 0x30)]);
    shortMaps[8] = 3; // three mappings claimed, one present
    expect(fail(iort([shortMaps]))).toMatch(
      /offset 0x54: PCI root complex ID mapping: 3 entries of 20 bytes at Mapping Offset 0x24 do not fit in the node at 0x30, which ends at 0x68/,
    );
    expect(fail(iort([node(4, 4, zeros(20))]))).toMatch(
      /offset 0x30: SMMUv3 length 0x24 is shorter than its 68-byte header/,
    );
    const inside = node(4, 4, zeros(52), [idMap(0, 1, 0, 0x30)]);
    inside[12] = 8;
    expect(fail(iort([inside]))).toMatch(
      /SMMUv3 Mapping Offset 0x8 points inside the node's 68-byte fixed part|do not fit/,
    );
    const bad = iort([its]);
    bad[40] = 0x10;
    bad[9] = (bad[9] + 0x20) & 0xff; // keep the checksum right
    expect(fail(bad)).toMatch(/offset 0x28: Node Offset 0x10 is outside the table's nodes area/);
    const nameless = node(1, 4, [...u32(0), ...zeros(8), ...u8(0), ...ascii('ABC', 3)]);
    expect(fail(iort([nameless]))).toMatch(/named component Device Name is not NUL-terminated/);
  });
});

describe('iort_node_map_id(): RIDs through the mappings to an SMMU', () => {
  const SMMU = new Set([3, 4]);
  const k = () => new Kernel({ profile: profiles['v6.12'], arch: 'arm64' });
  const its = node(0, 1, [...u32(1), ...u32(0)]); // 0x30, 24 bytes
  const smmu = node(4, 4, zeros(52), [idMap(0, 0xffff, 0, 0x30)]); // 0x48
  const table = (rcMaps: Bytes[]) => parseIort(iort([its, smmu, node(2, 3, zeros(20), rcMaps)]), 'IORT.dat');
  const rcOf = (p: ReturnType<typeof parseIort>) => p.nodes[2];

  it('QEMU virt: RIDs of buses 0-3 reach the SMMUv3 with stream ID = RID; from 0x400 on they bypass it to the ITS', () => {
    const p = parseIort(tableBytes('virt-smmuv3.IORT'), 'virt-smmuv3.IORT.dat');
    for (const rid of [0, 0x8, 0x100, 0x3ff]) {
      const m = iort_node_map_id(k(), p, p.nodes[2], rid, SMMU);
      expect(m && [m.node.kind, m.id]).toEqual(['smmu-v3', rid]);
    }
    // 0x400 is the off-by-one end of [0, 0x400] and the start of the ITS range, which wins.
    const kk = k();
    expect(iort_node_map_id(kk, p, p.nodes[2], 0x400, SMMU)).toBeNull();
    expect(kk.printk.lines.some((l) => l.message.includes('applying workaround'))).toBe(true);
    expect(iort_node_map_id(k(), p, p.nodes[2], 0x8000, SMMU)).toBeNull();
  });

  it('the off-by-one end of a range yields to the next range that starts there (with FW_BUG lines)', () => {
    // [0x0, 0x100] -> base 0x1000 (count 0x100: 257 IDs by the letter), [0x100, 0x1ff] -> base 0x5000.
    const p = table([idMap(0, 0x100, 0x1000, 0x48), idMap(0x100, 0xff, 0x5000, 0x48)]);
    const kk = k();
    expect(iort_node_map_id(kk, p, rcOf(p), 0x100, SMMU)?.id).toBe(0x5000);
    expect(kk.printk.lines.map((l) => l.message)).toEqual([
      expect.stringMatching(/conflicting mapping for input ID 0x100/),
      expect.stringMatching(/applying workaround/),
    ]);
    // Without a following range the last ID keeps the first mapping's output.
    const q = table([idMap(0, 0x100, 0x1000, 0x48)]);
    expect(iort_node_map_id(k(), q, rcOf(q), 0x100, SMMU)?.id).toBe(0x1100);
    expect(iort_node_map_id(k(), q, rcOf(q), 0x101, SMMU)).toBeNull();
  });

  it('a real conflict (not at the start of the next range) keeps the first match', () => {
    const p = table([idMap(0, 0x10, 0x1000, 0x48), idMap(0x8, 0x10, 0x5000, 0x48)]);
    expect(iort_node_map_id(k(), p, rcOf(p), 0x10, SMMU)?.id).toBe(0x1010);
  });

  it('a single mapping gives its output base for any input; NULL references end the walk', () => {
    const p = table([idMap(0, 0, 0x42, 0x48, 1)]);
    expect(iort_node_map_id(k(), p, rcOf(p), 0x1234, SMMU)?.id).toBe(0x42);
    const n = table([idMap(0, 0xffff, 0, 0)]);
    const kk = k();
    expect(iort_node_map_id(kk, n, rcOf(n), 1, SMMU)).toBeNull();
    expect(kk.printk.lines.at(-1)?.message).toMatch(/ID map has NULL parent reference/);
  });

  it('an RC mapping straight to the ITS reaches no SMMU', () => {
    const p = table([idMap(0, 0xffff, 0, 0x30)]);
    expect(iort_node_map_id(k(), p, rcOf(p), 5, SMMU)).toBeNull();
  });
});
