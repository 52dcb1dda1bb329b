// SPDX-License-Identifier: GPL-2.0-only
// iommu_insert_resv_region(): merging against a simple oracle (property), and
// the sysfs reserved_regions format.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { iommu_insert_resv_region, type IommuResvRegion } from '../../src/iommu/resv-regions.js';

/** Oracle: per type, the union of [start, end] intervals, touching ones joined. */
function oracle(regions: { start: number; end: number; type: number }[]): string[] {
  const out: string[] = [];
  for (const type of new Set(regions.map((r) => r.type))) {
    const rs = regions.filter((r) => r.type === type).sort((a, b) => a.start - b.start);
    let cur: { start: number; end: number } | null = null;
    for (const r of rs) {
      if (cur && r.start <= cur.end + 1) cur.end = Math.max(cur.end, r.end);
      else {
        if (cur) out.push(`${type}:${cur.start}-${cur.end}`);
        cur = { start: r.start, end: r.end };
      }
    }
    if (cur) out.push(`${type}:${cur.start}-${cur.end}`);
  }
  return out.sort();
}

describe('iommu_insert_resv_region', () => {
  it('merges overlapping or adjacent regions of one type only, keeping the list sorted (property)', () => {
    const region = fc.record({
      start: fc.nat(200),
      len: fc.integer({ min: 1, max: 40 }),
      type: fc.integer({ min: 0, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(region, { maxLength: 25 }), (rs) => {
        let list: IommuResvRegion[] = [];
        for (const r of rs)
          list = iommu_insert_resv_region(
            { start: BigInt(r.start), length: BigInt(r.len), prot: 0, type: r.type, source: '' },
            list,
          );
        const got = list.map((r) => `${r.type}:${r.start}-${r.start + r.length - 1n}`).sort();
        expect(got).toEqual(
          oracle(rs.map((r) => ({ start: r.start, end: r.start + r.len - 1, type: r.type }))),
        );
        for (let i = 1; i < list.length; i++) {
          const a = list[i - 1];
          const b = list[i];
          expect(a.start < b.start || (a.start === b.start && a.type <= b.type)).toBe(true);
        }
      }),
    );
  });

  it('does not merge an msi window into an adjacent direct region', () => {
    let list: IommuResvRegion[] = [];
    list = iommu_insert_resv_region({ start: 0n, length: 0x1000n, prot: 0, type: 0, source: '' }, list);
    list = iommu_insert_resv_region({ start: 0x1000n, length: 0x1000n, prot: 0, type: 3, source: '' }, list);
    expect(list.map((r) => [r.start, r.length, r.type])).toEqual([
      [0n, 0x1000n, 0],
      [0x1000n, 0x1000n, 3],
    ]);
  });
});
