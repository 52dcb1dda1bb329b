// SPDX-License-Identifier: GPL-2.0-only
// IORT Reserved Memory Ranges become a device's reserved regions
// (iort_iommu_get_resv_regions() and the RMR helpers in
// drivers/acpi/arm64/iort.c): a named component behind an SMMUv3, an RMR
// node whose mapping covers its stream ID, booted through a platform file
// with the binary table. Expectations from the kernel source: only tables of
// revision 5 or later count; remap-permitted nodes give direct-relaxable
// regions, others direct; a descriptor not 64K-aligned is page-aligned with
// a FW_BUG line; a mapping covering other stream IDs gives nothing.
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../support/scratch.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootByName } from '../../../src/api.js';
import { acpiTable, ascii, iortIdMap as idMap, iortNode as node, u32, u64, u8, zeros } from './build.js';

const ITS = 0x30;
const SMMU = 0x48;
const NC = 0xa0;
const RMR = 0xe0;

/** An SMMUv3 at 0x9050000 with an ITS behind it, a named component \_SB.ETH0 as stream 0x10, and one RMR node. */
function table(revision: number, rmrFlags: number, rmrStream: number, descs: [bigint, bigint][]): Uint8Array {
  const its = node(0, 1, [...u32(1), ...u32(0)]);
  const smmuBody = [
    ...u64(0x9050000n),
    ...u32(0),
    ...u32(0),
    ...u64(0n),
    ...u32(0),
    ...zeros(16),
    ...u32(0),
    ...u32(0),
  ];
  const smmu = node(4, 4, smmuBody, [idMap(0, 0xffff, 0, ITS)]);
  const nc = node(
    1,
    4,
    [...u32(0), ...u32(1), 0, 0, 0, 0, ...u8(48), ...ascii('\\_SB.ETH0', 10), 0],
    [idMap(0, 0, 0x10, SMMU, 1)],
    44,
  );
  const rmr = node(
    6,
    3,
    [
      ...u32(rmrFlags),
      ...u32(descs.length),
      ...u32(28),
      ...descs.flatMap(([b, l]) => [...u64(b), ...u64(l), ...u32(0)]),
    ],
    [idMap(rmrStream, 0, rmrStream, SMMU, 1)],
  );
  const nodes = [its, smmu, nc, rmr];
  expect([ITS, SMMU, NC, RMR]).toEqual(
    nodes.map((_, i) => 0x30 + nodes.slice(0, i).reduce((s, n) => s + n.length, 0)),
  );
  return acpiTable('IORT', revision, [...u32(nodes.length), ...u32(48), ...u32(0), ...nodes.flat()]);
}

function boot(iort: Uint8Array) {
  const dir = scratchDir('iommu-lab-rmr-');
  writeFileSync(join(dir, 'IORT.dat'), iort);
  writeFileSync(
    join(dir, 'board.json'),
    JSON.stringify({
      name: 'rmr-board',
      arch: 'arm64',
      acpi: { IORT: 'IORT.dat' },
      devices: [{ name: 'eth0', acpi: '\\_SB.ETH0', driver: 'eth' }],
      drivers: [{ name: 'eth', bus: 'platform' }],
    }),
  );
  return bootByName(join(dir, 'board.json'), { profile: 'v6.12' });
}

const resvOf = (r: ReturnType<typeof boot>) =>
  r.groups.find((g) => g.devices.includes('eth0'))?.reservedRegions ?? [];

describe('IORT RMR nodes as reserved regions', () => {
  it('a remap-permitted RMR covering the stream gives direct-relaxable regions beside the SMMUv3 MSI window', () => {
    const r = boot(table(5, 0x1, 0x10, [[0x80000000n, 0x100000n]]));
    expect(r.devices.find((d) => d.name === 'eth0')?.fwspec?.ids).toEqual([0x10]);
    expect(resvOf(r)).toEqual([
      { start: '0x0000000008000000', end: '0x00000000080fffff', type: 'msi' },
      { start: '0x0000000080000000', end: '0x00000000800fffff', type: 'direct-relaxable' },
    ]);
  });

  it('without the remap flag the region is direct; a descriptor off 64K is page-aligned with a FW_BUG line', () => {
    const r = boot(table(5, 0x0, 0x10, [[0x90000800n, 0x1000n]]));
    expect(resvOf(r)).toContainEqual({
      start: '0x0000000090000000',
      end: '0x0000000090001fff',
      type: 'direct',
    });
    expect(r.log).toContain(
      'ACPI: IORT: [Firmware Bug]: RMR descriptor[0x90000800 - 0x900017ff] not aligned to 64K, continue with [0x90000000 - 0x90001fff]',
    );
  });

  it('overlapping descriptors are reported and kept', () => {
    const r = boot(
      table(5, 0x1, 0x10, [
        [0x80000000n, 0x20000n],
        [0x80010000n, 0x20000n],
      ]),
    );
    expect(r.log).toContain(
      'ACPI: IORT: [Firmware Bug]: RMR descriptor[0x80000000 - 0x8001ffff] overlaps, continue anyway',
    );
    expect(resvOf(r).filter((x) => x.type === 'direct-relaxable').length).toBeGreaterThan(0);
  });

  it('an RMR for another stream, or a table older than revision 5, gives nothing', () => {
    expect(resvOf(boot(table(5, 0x1, 0x11, [[0x80000000n, 0x100000n]]))).map((x) => x.type)).toEqual(['msi']);
    expect(resvOf(boot(table(3, 0x1, 0x10, [[0x80000000n, 0x100000n]]))).map((x) => x.type)).toEqual(['msi']);
  });
});
