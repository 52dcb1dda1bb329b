// SPDX-License-Identifier: GPL-2.0-only
// Table memory is raw descriptors an emulator, a test or a bug may overwrite.
// Whatever a corrupted word says, every format's map, unmap, iova_to_phys,
// walk trace, hardware access, leaf dump and free must return (errnos,
// zeros, WARNs), never throw: a descriptor pointing where no table of its
// level lives is followed by the kernel, which then frees garbage; the model
// WARNs ("nothing freed") and frees nothing.
import { firstRegionWords } from '../support/pool-words.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IOMMU_READ, IOMMU_WRITE, createPageTable, pgtableFormatNames } from '../../src/pgtable/index.js';

const RW = IOMMU_READ | IOMMU_WRITE;

describe.each(pgtableFormatNames)('%s with corrupted table words', (name) => {
  it('every operation returns, whatever the words say', () => {
    const sizes = createPageTable(name).layout.pgsizes.filter((s) => s <= 2 ** 30);
    const op = fc.oneof(
      fc.record({
        op: fc.constant('corrupt' as const),
        word: fc.nat(4095),
        value: fc.integer({ min: -2147483648, max: 2147483647 }),
      }),
      fc.record({
        op: fc.constantFrom('map' as const, 'unmap' as const, 'read' as const),
        s: fc.nat(sizes.length - 1),
        k: fc.nat(5),
        count: fc.constantFrom(1, 2, 511),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const t = createPageTable(name);
        for (const o of ops) {
          if (o.op === 'corrupt') {
            firstRegionWords(t.memory)[o.word] = o.value;
            continue;
          }
          const size = sizes[o.s];
          const iova = o.k * size;
          if (o.op === 'map') expect(t.mapPages(iova, iova, size, o.count, RW).errno).toBeLessThanOrEqual(0);
          else if (o.op === 'unmap') expect(t.unmapPages(iova, size, o.count)).toBeGreaterThanOrEqual(0);
          else {
            expect(t.iovaToPhys(iova)).toBeGreaterThanOrEqual(0);
            expect(t.walkTrace(iova).steps.length).toBeGreaterThan(0);
            t.access(iova);
          }
        }
        t.leaves();
        t.free();
      }),
      { numRuns: 100 },
    );
  });
});

it('an unmap of a 1G entry that a corrupted word turned into a table descriptor WARNs instead of freeing it', () => {
  // Found by test/pgtable/fast-path.test.ts: the pgd's first word made a "table" at 0x58822000, where no table lives.
  const t = createPageTable('arm-32-lpae-s2');
  firstRegionWords(t.memory)[0] = 1484926427;
  const live = t.memory.liveAllocations;
  expect(t.unmapPages(0, 2 ** 30, 511)).toBe(2 ** 30);
  // The next entry is empty: the kernel's WARN_ON(!pte) ends the unmap after the first.
  expect(t.warnings.map((w) => w.message)).toEqual([
    '0x58822000 is not a level-1 table: nothing freed',
    'WARN_ON(!pte)',
  ]);
  expect(t.memory.liveAllocations).toBe(live);
  expect(t.mapPages(0, 0, 4096, 1, RW).errno).toBe(0);
});

it('a VT-d descriptor with bit 63 set (first stage: execute-disable) gives an address without it, as dma_pte_addr() does', () => {
  // Found by the property above (seed -917855951): the pgd's first entry corrupted to 0xffffffff02683885, a
  // "512G superpage", translated to a negative number.
  for (const name of ['intel-vtd-fs', 'intel-vtd-ss'] as const) {
    const t = createPageTable(name);
    const w = firstRegionWords(t.memory);
    w[1] = -1;
    w[0] = 0x02683885;
    expect(t.iovaToPhys(0), name).toBe(Number(0x7fffffff02683000n));
    expect(t.walkTrace(0).phys, name).toBe(Number(0x7fffffff02683000n));
    t.free();
  }
});
