// SPDX-License-Identifier: GPL-2.0-only
// The modelled kernel runtime: the allocator (fail-nth, leaks, double free),
// the lowest-free id allocator, errno names, and the kernel command line.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Allocator } from '../../src/kernel/alloc.js';
import type { AllocOwner, Allocation } from '../../src/kernel/alloc.js';
import { Ida } from '../../src/kernel/ida.js';
import { errnoName, parseErrno, ERR_PTR, IS_ERR, PTR_ERR } from '../../src/kernel/errno.js';
import { kstrtobool, parseCmdline } from '../../src/kernel/cmdline.js';

describe('Allocator', () => {
  it('fails exactly the Nth attempt and records where', () => {
    const a = new Allocator(3, () => {});
    expect(a.alloc('x', 'o', 's1')).not.toBeNull();
    expect(a.alloc('y', 'o', 's2')).not.toBeNull();
    expect(a.alloc('z', 'dev0', 'site3')).toBeNull();
    expect(a.injected).toEqual({ nth: 3, type: 'z', site: 'site3', owner: 'dev0' });
    expect(a.alloc('w', 'o', 's4')).not.toBeNull();
    expect(a.attempts).toBe(4);
  });

  it('reports what is still live, and a double free', () => {
    const frees: string[] = [];
    const a = new Allocator(undefined, (x, site) => frees.push(`${x.type}@${site}`));
    const p = a.alloc('dev_iommu', 'd', 'dev_iommu_get')!;
    const q = a.alloc('iommu_fwspec', 'd', 'iommu_fwspec_init')!;
    a.free(p, 'dev_iommu_free');
    expect(a.liveAllocations().map((x) => x.type)).toEqual(['iommu_fwspec']);
    a.free(p, 'again');
    expect(frees).toEqual(['dev_iommu@again']);
    a.free(null, 'null is fine');
    a.free(q, 'x');
    expect(a.liveAllocations()).toEqual([]);
  });

  it('keeps every allocation in its owner history, repeats counted, none lost or reordered (property)', () => {
    // Ops: allocate a type at a site for an owner (a name, or an object keeping its own history),
    // free the i-th live one at a site, move the i-th live one to the object owner, or free a freed one.
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('alloc' as const),
        type: fc.constantFrom('t1', 't2'),
        site: fc.constantFrom('s1', 's2'),
        toObject: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('free' as const), i: fc.nat(), site: fc.constantFrom('f1', 'f2') }),
      fc.record({ kind: fc.constant('move' as const), i: fc.nat() }),
      fc.record({ kind: fc.constant('double' as const), i: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const doubles: string[] = [];
        const a = new Allocator(undefined, (x, site) => doubles.push(`${x.id}@${site}`));
        const obj: AllocOwner = { allocations: null, toString: () => 'obj' };
        type Entry = {
          mem: Allocation;
          owner: 'dev' | 'obj';
          type: string;
          site: string;
          freedBy: string | null;
        };
        const all: Entry[] = [];
        const live = () => all.filter((e) => e.freedBy === null);
        const wantDoubles: string[] = [];
        for (const o of ops) {
          if (o.kind === 'alloc') {
            const mem = a.alloc(o.type, o.toObject ? obj : 'dev', o.site)!;
            all.push({ mem, owner: o.toObject ? 'obj' : 'dev', type: o.type, site: o.site, freedBy: null });
          } else if (o.kind === 'free' && live().length) {
            const e = live()[o.i % live().length];
            a.free(e.mem, o.site);
            e.freedBy = o.site;
          } else if (o.kind === 'move' && live().length) {
            const e = live()[o.i % live().length];
            a.setOwner(e.mem, obj);
            // Re-filed: it now comes after everything the object owner had.
            all.splice(all.indexOf(e), 1);
            all.push({ ...e, owner: 'obj' });
          } else if (o.kind === 'double') {
            const freed = all.filter((e) => e.freedBy !== null);
            if (!freed.length) continue;
            const e = freed[o.i % freed.length];
            a.free(e.mem, 'again');
            wantDoubles.push(`${e.mem.id}@again`);
          }
        }
        const expand = (h: readonly Allocation[]) =>
          h.flatMap((x) => Array.from({ length: x.times }, () => `${x.type}/${x.site}/${x.freedBy}`));
        const want = (owner: string) =>
          all.filter((e) => e.owner === owner).map((e) => `${e.type}/${e.site}/${e.freedBy}`);
        expect(expand(a.history('dev'))).toEqual(want('dev'));
        expect(expand(a.history(obj))).toEqual(want('obj'));
        expect(expand(a.history('obj'))).toEqual(want('obj'));
        expect(a.liveAllocations().map((x) => x.id)).toEqual(
          live()
            .map((e) => e.mem.id)
            .sort((x, y) => x - y),
        );
        expect(a.liveTotal).toBe(live().length);
        expect(doubles).toEqual(wantDoubles);
      }),
    );
  });

  it('keeps an owner history bounded under a hot loop: every live allocation and the latest freed ones', () => {
    const a = new Allocator(undefined, () => {});
    const keep = a.alloc('iommufd_ioas', 'iommufd', 'iommufd_ioas_alloc')!;
    // Two kinds in turn, so that no free repeats the entry before it.
    for (let i = 0; i < 5000; i++)
      a.free(a.alloc(i % 2 ? 'iopt_area' : 'iopt_pages', 'iommufd', 'iopt_map_pages'), 'iopt_unmap_iova');
    const h = a.history('iommufd');
    expect(h).toContain(keep);
    expect(h.length).toBeLessThanOrEqual(2 * 1024);
    expect(h.at(-1)).toMatchObject({ type: 'iopt_area', freedBy: 'iopt_unmap_iova', times: 1 });
    expect(a.liveAllocations()).toEqual([keep]);
  });

  it('counts an allocation freed again and again as one history entry', () => {
    const a = new Allocator(undefined, () => {});
    for (let i = 0; i < 15; i++) a.free(a.alloc('dev_iommu', 'd', 'dev_iommu_get'), 'iommu_init_device');
    a.alloc('dev_iommu', 'd', 'dev_iommu_get');
    expect(a.history('d').map((h) => [h.freedBy, h.times])).toEqual([
      ['iommu_init_device', 15],
      [null, 1],
    ]);
  });
});

describe('Ida', () => {
  it('always hands out the lowest free id (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant<'a'>('a'), fc.nat(40)), { maxLength: 200 }), (ops) => {
        const ida = new Ida();
        const used = new Set<number>();
        for (const op of ops) {
          if (op === 'a') {
            let want = 0;
            while (used.has(want)) want++;
            expect(ida.alloc()).toBe(want);
            used.add(want);
          } else {
            expect(ida.free(op)).toBe(used.delete(op));
          }
        }
        expect(ida.size).toBe(used.size);
      }),
    );
  });
});

describe('errno', () => {
  it('names kernel results the way the kernel spells them', () => {
    expect(errnoName(0)).toBe('0');
    expect(errnoName(-19)).toBe('-ENODEV');
    expect(errnoName(-517)).toBe('-EPROBE_DEFER');
    expect(errnoName(-4242)).toBe('-E4242');
    expect(parseErrno('-EBUSY')).toBe(-16);
    expect(parseErrno('nonsense')).toBeUndefined();
    const e = ERR_PTR(-12);
    expect(IS_ERR(e)).toBe(true);
    expect(PTR_ERR(e)).toBe(-12);
    expect(() => ERR_PTR(0)).toThrow(RangeError);
  });
});

describe('kernel command line', () => {
  it('keeps the last occurrence of a parameter, and quoted values whole', () => {
    const c = parseCmdline('iommu.strict=0 quiet iommu.strict=1 foo="a b"');
    expect(c.params.get('iommu.strict')).toBe('1');
    expect(c.params.get('quiet')).toBe('');
    expect(c.params.get('foo')).toBe('a b');
  });
  it('reads booleans as kstrtobool() does', () => {
    expect(['1', 'y', 'Y', 't', 'on', 'ON'].map(kstrtobool)).toEqual(Array(6).fill(true));
    expect(['0', 'n', 'f', 'off', 'OFF'].map(kstrtobool)).toEqual(Array(5).fill(false));
    expect(['', 'o', 'maybe'].map(kstrtobool)).toEqual([undefined, undefined, undefined]);
  });
});
