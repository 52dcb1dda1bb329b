// SPDX-License-Identifier: GPL-2.0-only
// IOAS_MAP / IOAS_UNMAP / IOAS_ALLOW_IOVAS through the ABI against a simple
// oracle: a sorted array of areas and the kernel's allocation rule written
// as a plain walk over it (iopt_alloc_iova(): windows, ALIGN_UP | page
// offset, first hole that fits). Random sequences near 0 and near U64_MAX;
// every errno, every IOVA returned and the final set of areas must agree.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EEXIST, EINVAL, ENOENT, ENOSPC, EOVERFLOW } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { profiles } from '../../src/profile/profiles.js';
import { UserProcess } from '../../src/mm/user-mm.js';
import { Iommufd } from '../../src/iommufd/api.js';
import type { IommufdIoas } from '../../src/iommufd/main.js';
import { U64_MAX } from '../../src/iommufd/uapi.js';

const P = 4096n;
const HP = 2n * 1024n * 1024n;

class Oracle {
  areas: [bigint, bigint][] = [];
  allowed: [bigint, bigint][] = [];

  private hits(s: bigint, l: bigint) {
    return this.areas.some(([a, b]) => a <= l && b >= s);
  }

  map(uva: bigint, length: bigint, iova: bigint | null): { errno: number; iova: bigint } {
    // iopt_alloc_pages(), then the fixed or automatic IOVA.
    if (length === 0n || length > U64_MAX - P) return { errno: -EINVAL, iova: 0n };
    if (uva + length > U64_MAX) return { errno: -EOVERFLOW, iova: 0n };
    if (iova !== null) {
      if (iova + length - 1n > U64_MAX) return { errno: -EOVERFLOW, iova: 0n };
      if (this.hits(iova, iova + length - 1n)) return { errno: -EEXIST, iova: 0n };
    } else {
      const got = this.alloc(uva, length);
      if (got < 0n) return { errno: Number(got), iova: 0n };
      iova = got;
    }
    this.areas.push([iova, iova + length - 1n]);
    this.areas.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    return { errno: 0, iova };
  }

  private alloc(uva: bigint, length: bigint): bigint {
    if (length >= U64_MAX / 2n) return BigInt(-EOVERFLOW);
    let align = 1n;
    while (align < length) align <<= 1n;
    if (uva !== 0n && (uva & -uva) < align) align = uva & -uva;
    if (align >= HP) align = HP;
    const off = uva % P;
    const fit = (s: bigint, l: bigint): bigint | null => {
      if (s + align - 1n > U64_MAX) return null;
      const a = ((s + align - 1n) & ~(align - 1n)) | off;
      return a >= l || l - a < length - 1n ? null : a;
    };
    // Allowed ranges that touch are one window (interval_tree_for_each_span()).
    const merged: [bigint, bigint][] = [];
    for (const [s, l] of this.allowed) {
      const top = merged[merged.length - 1];
      if (top && s <= top[1] + 1n) top[1] = l > top[1] ? l : top[1];
      else merged.push([s, l]);
    }
    const windows: [bigint, bigint][] = this.allowed.length
      ? merged
          .map(([s, l]): [bigint, bigint] => [s > P ? s : P, l < U64_MAX - P ? l : U64_MAX - P])
          .filter(([s, l]) => s <= l)
      : [[P, U64_MAX - P]];
    for (const [ws, wl] of windows) {
      const start = fit(ws, wl);
      if (start === null) continue;
      // Holes of the areas inside [start, wl], ascending.
      let at = start;
      for (const [s, l] of [...this.areas, [U64_MAX + 1n, U64_MAX + 1n] as [bigint, bigint]]) {
        if (l < at) continue;
        const holeLast = (s - 1n < wl ? s - 1n : wl) as bigint;
        if (s > at && holeLast >= at) {
          const got = fit(at, holeLast);
          if (got !== null) return got;
        }
        if (s > wl) break;
        at = l + 1n;
        if (at > wl) break;
      }
    }
    return BigInt(-ENOSPC);
  }

  unmap(iova: bigint, length: bigint): { errno: number; length: bigint } {
    const all = iova === 0n && length === U64_MAX;
    if (!all && (iova >= U64_MAX || length >= U64_MAX)) return { errno: -EOVERFLOW, length: 0n };
    if (length === 0n) return { errno: -EINVAL, length: 0n };
    const last = all ? U64_MAX : iova + length - 1n;
    if (last > U64_MAX) return { errno: -EOVERFLOW, length: 0n };
    let unmapped = 0n;
    for (;;) {
      const i = this.areas.findIndex(([s, l]) => s <= last && l >= iova);
      if (i < 0) break;
      const [s, l] = this.areas[i];
      if (s < iova || l > last) return { errno: -ENOENT, length: 0n };
      this.areas.splice(i, 1);
      unmapped += l - s + 1n;
    }
    if (!all && unmapped === 0n) return { errno: -ENOENT, length: 0n };
    return { errno: 0, length: unmapped };
  }
}

// IOVAs near 0, in the middle and near the top; lengths from a byte to a few huge pages.
const base = fc.constantFrom(0n, P, 0x1_0000n, 1n << 32n, U64_MAX - 64n * P + 1n);
const offset = fc.integer({ min: 0, max: 40 }).map((k) => BigInt(k) * P);
const length = fc.oneof(
  fc.integer({ min: 1, max: 8 }).map((k) => BigInt(k) * P),
  fc.constantFrom(1n, 0x100n, HP, 3n * HP, 0n, U64_MAX - 1n),
);
const uva = fc.constantFrom(0n, 0x7f00_0000_0000n, 0x7f00_0000_1010n, 0x7f00_0020_0000n);
const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('auto' as const), uva, length }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('fixed' as const), uva, length, base, offset }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('unmap' as const), length, base, offset }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('all' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('allow' as const),
      ranges: fc.array(fc.tuple(base, offset, fc.integer({ min: 1, max: 64 })), { maxLength: 2 }),
    }),
  },
);

describe('IOAS map/unmap against the oracle', () => {
  it('errnos, IOVAs and areas agree on random sequences', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        const k = new Kernel({ profile: profiles['v6.12'] });
        const fd = Iommufd.open(k, new UserProcess(k)) as Iommufd;
        const { id } = fd.ioasAlloc();
        const o = new Oracle();
        for (const x of ops) {
          if (x.k === 'auto')
            expect(fd.ioasMap({ ioasId: id, userVa: x.uva, length: x.length })).toEqual(
              o.map(x.uva, x.length, null),
            );
          else if (x.k === 'fixed') {
            const iova = (x.base + x.offset) & U64_MAX;
            const got = fd.ioasMap({ ioasId: id, userVa: x.uva, length: x.length, iova });
            const want = o.map(x.uva, x.length, iova);
            expect(got.errno).toBe(want.errno);
            if (want.errno === 0) expect(got.iova).toBe(want.iova);
          } else if (x.k === 'unmap') {
            const iova = (x.base + x.offset) & U64_MAX;
            const got = fd.ioasUnmap(id, iova, x.length);
            const want = o.unmap(iova, x.length);
            expect(got.errno).toBe(want.errno);
            if (want.errno === 0) expect(got.length).toBe(want.length);
          } else if (x.k === 'all') expect(fd.ioasUnmap(id, 0n, U64_MAX)).toEqual(o.unmap(0n, U64_MAX));
          else {
            const ranges = x.ranges
              .map(([b, off, n]): [bigint, bigint] => [
                (b + off) & U64_MAX,
                ((b + off) & U64_MAX) + BigInt(n) * P,
              ])
              .filter(([, l]) => l <= U64_MAX);
            const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : 1));
            const overlap = sorted.some((r, i) => i > 0 && r[0] <= sorted[i - 1][1]);
            const errno = fd.allowIovas(id, ranges);
            expect(errno).toBe(overlap ? -EINVAL : 0);
            if (!overlap) o.allowed = sorted;
          }
          // The same areas, in order, after every step (the pages leftovers never leak: checked at close).
          const ioas = fd.file.ctx.peek(id, 'IOAS') as IommufdIoas;
          expect([...ioas.iopt.areas].map((n) => [n.start, n.last])).toEqual(o.areas);
        }
        fd.close();
        expect(k.alloc.liveAllocations()).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
