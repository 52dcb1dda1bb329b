// SPDX-License-Identifier: GPL-2.0-only
// TableMemory hands out zeroed blocks whatever the memory held before: a
// page freed full of descriptors and taken back as smaller blocks (or the
// other way round) must read as zeros. Before this held, a 2 KiB iommufd
// mock table allocated where an older table had lived showed a stale leaf,
// and mock_domain_free() WARNed on seed-mock-ops under every kernel that
// attaches a mock paging domain.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TableMemory } from '../../src/pgtable/memory.js';
import { scenario } from '../../src/api.js';
import { loadScenario } from '../../src/scenario/load.js';

const zeros = (m: TableMemory, phys: number, bytes: number) => {
  for (let a = phys; a < phys + bytes; a += 4) if (m.read32(a) !== 0) return false;
  return true;
};

describe('TableMemory blocks come back zeroed', () => {
  it('a page full of words, freed, comes back as 512-byte and 2 KiB blocks of zeros, and whole', () => {
    const m = new TableMemory();
    const page = m.alloc(4096);
    m.view(page)!.fill(-1);
    m.free(page, 4096);
    const small = [m.alloc(512), m.alloc(2048)];
    expect(small.every((p) => p >= page && p < page + 4096)).toBe(true);
    expect(zeros(m, small[0], 512) && zeros(m, small[1], 2048)).toBe(true);
    for (const p of small) m.view(p)!.fill(7);
    m.free(small[0], 512);
    m.free(small[1], 2048);
    const back = [m.alloc(2048), m.alloc(512)];
    expect(back.every((p) => zeros(m, p, p === back[0] ? 2048 : 512))).toBe(true);
  });

  it('any sequence of allocations and frees of any sizes: every block handed out reads as zeros', () => {
    const sizes = [512, 1024, 2048, 4096, 8192, 16384];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.constantFrom(...sizes), fc.nat()), { maxLength: 80 }),
        (ops) => {
          const m = new TableMemory();
          const live: [number, number][] = [];
          for (const [alloc, size, pick] of ops) {
            if (alloc || live.length === 0) {
              const p = m.alloc(size);
              if (!zeros(m, p, size)) return false;
              m.view(p)!.fill(-1);
              live.push([p, size]);
            } else {
              const [p, s] = live.splice(pick % live.length, 1)[0];
              m.free(p, s);
            }
          }
          return true;
        },
      ),
      { numRuns: 200 },
    );
  });

  it('seed-mock-ops frees its mock paging domain empty under every profile: no WARN', () => {
    const { scenario: sc, file } = loadScenario('seed-mock-ops');
    for (const profile of ['v6.4', 'v6.7', 'v6.8', 'v6.12', 'v6.15', 'v6.18'] as const)
      expect(scenario(sc, { profile, file }).warnings, profile).toEqual([]);
  });
});
