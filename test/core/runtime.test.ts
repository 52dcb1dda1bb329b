// SPDX-License-Identifier: GPL-2.0-only
// The modelled kernel runtime: the allocator (fail-nth, leaks, double free),
// the lowest-free id allocator, errno names, and the kernel command line.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Allocator } from '../../src/kernel/alloc.js';
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
