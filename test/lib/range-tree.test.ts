// SPDX-License-Identifier: GPL-2.0-only
// The io_pagetable area tree (src/lib/range-tree.ts) against a sorted array:
// random inserts, removals and queries over ranges near 0 and near U64_MAX,
// every answer and the whole contents compared after every step; overlapping
// inserts refused with nothing changed (at the default fanout, and at fanout 4,
// where a few dozen ranges already split and merge nodes over several levels);
// and 200k ranges, where the hole search must reach the few long holes without
// reading every range on the way.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RangeNode, RangeTree } from '../../src/lib/range-tree.js';

const U64_MAX = (1n << 64n) - 1n;

type Hole = [bigint, bigint];

/** What an accept() callback does with the holes it is offered. */
type AcceptMode =
  | { kind: 'first' }
  | { kind: 'never' }
  | { kind: 'kth'; k: number }
  /** iopt_alloc_iova()'s test: an address aligned to 2^shift with minLength bytes of the hole from it. */
  | { kind: 'align'; shift: bigint };

/** A fresh accept() for one search, recording every hole it is offered. */
function acceptor(mode: AcceptMode, minLength: bigint) {
  const calls: Hole[] = [];
  const accept = (start: bigint, last: bigint): boolean => {
    calls.push([start, last]);
    switch (mode.kind) {
      case 'first':
        return true;
      case 'never':
        return false;
      case 'kth':
        return calls.length === mode.k + 1;
      case 'align': {
        const a = 1n << mode.shift;
        const at = ((start + a - 1n) / a) * a;
        return at + minLength - 1n <= last;
      }
    }
  };
  return { calls, accept };
}

/** The oracle: disjoint ranges in an array, sorted when asked. */
class Oracle {
  readonly live: RangeNode<number>[] = [];

  sorted(): RangeNode<number>[] {
    return [...this.live].sort((a, b) => (a.start < b.start ? -1 : 1));
  }

  overlaps(start: bigint, last: bigint): boolean {
    return this.live.some((n) => n.start <= last && start <= n.last);
  }

  firstIntersecting(start: bigint, last: bigint): RangeNode<number> | null {
    if (start > last) return null;
    return this.sorted().find((n) => n.start <= last && start <= n.last) ?? null;
  }

  /** Every hole of [lo, hi], by a scan. */
  holes(lo: bigint, hi: bigint): Hole[] {
    const out: Hole[] = [];
    let at = lo;
    for (const n of this.sorted()) {
      if (n.last < lo || n.start > hi) continue;
      if (n.start > at) out.push([at, n.start - 1n]);
      at = n.last + 1n;
    }
    if (lo <= hi && at <= hi) out.push([at, hi]);
    return out;
  }

  /** What findHole() must do: offer the long enough holes in order until one is taken. */
  findHole(lo: bigint, hi: bigint, minLength: bigint, mode: AcceptMode) {
    const { calls, accept } = acceptor(mode, minLength);
    const found = this.holes(lo, hi)
      .filter(([s, l]) => l - s + 1n >= minLength)
      .some(([s, l]) => accept(s, l));
    return { found, calls };
  }
}

const dump = (t: RangeTree<number>) => [...t].map((n) => [n.start, n.last, n.value]);

/** The tree matches the oracle: contents in order, size, ends, every hole. */
function expectSame(tree: RangeTree<number>, oracle: Oracle): void {
  const sorted = oracle.sorted();
  expect(dump(tree)).toEqual(sorted.map((n) => [n.start, n.last, n.value]));
  expect([...tree].every((n, i) => n === sorted[i])).toBe(true);
  expect(tree.size).toBe(sorted.length);
  expect(tree.first()).toBe(sorted[0] ?? null);
  expect(tree.lastNode()).toBe(sorted.at(-1) ?? null);
  const { calls, accept } = acceptor({ kind: 'never' }, 1n);
  expect(tree.findHole(0n, U64_MAX, 1n, accept)).toBe(false);
  expect(calls).toEqual(oracle.holes(0n, U64_MAX));
}

type Op =
  | { op: 'insert'; start: bigint; last: bigint }
  | { op: 'remove'; pick: number }
  | { op: 'removeStale'; pick: number }
  | { op: 'intersect'; start: bigint; last: bigint }
  | { op: 'hole'; lo: bigint; hi: bigint; minLength: bigint; mode: AcceptMode };

function run(ops: Op[], fanout?: number): void {
  const tree = new RangeTree<number>({ fanout });
  const oracle = new Oracle();
  const removed: RangeNode<number>[] = [];
  let serial = 0;
  for (const o of ops) {
    switch (o.op) {
      case 'insert':
        if (oracle.overlaps(o.start, o.last)) {
          expect(() => tree.insert(o.start, o.last, -1)).toThrow(RangeError);
        } else {
          const n = tree.insert(o.start, o.last, serial);
          expect([n.start, n.last, n.value]).toEqual([o.start, o.last, serial]);
          oracle.live.push(n);
          serial++;
        }
        break;
      case 'remove': {
        if (oracle.live.length === 0) continue;
        const [n] = oracle.live.splice(o.pick % oracle.live.length, 1);
        tree.remove(n);
        removed.push(n);
        break;
      }
      case 'removeStale':
        if (removed.length === 0) continue;
        expect(() => tree.remove(removed[o.pick % removed.length])).toThrow();
        break;
      case 'intersect':
        expect(tree.firstIntersecting(o.start, o.last)).toBe(oracle.firstIntersecting(o.start, o.last));
        break;
      case 'hole': {
        const want = oracle.findHole(o.lo, o.hi, o.minLength, o.mode);
        const { calls, accept } = acceptor(o.mode, o.minLength);
        expect(tree.findHole(o.lo, o.hi, o.minLength, accept)).toBe(want.found);
        expect(calls).toEqual(want.calls);
        break;
      }
    }
    expectSame(tree, oracle);
  }
}

const sortPair = ([a, b]: [bigint, bigint]): [bigint, bigint] => (a <= b ? [a, b] : [b, a]);
const mode: fc.Arbitrary<AcceptMode> = fc.oneof(
  fc.constant({ kind: 'first' as const }),
  fc.constant({ kind: 'never' as const }),
  fc.record({ kind: fc.constant('kth' as const), k: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ kind: fc.constant('align' as const), shift: fc.bigInt({ min: 0n, max: 5n }) }),
);

/** Operations over a universe of points, ranges of up to maxLen bytes from them, and hole lengths. */
function opsOver(point: fc.Arbitrary<bigint>, maxLen: bigint, minLength: fc.Arbitrary<bigint>) {
  const range = fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(point, fc.bigInt({ min: 1n, max: maxLen }))
        .map(([s, len]): [bigint, bigint] => [s, s + len - 1n > U64_MAX ? U64_MAX : s + len - 1n]),
    },
    { weight: 2, arbitrary: fc.tuple(point, point).map(sortPair) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<[bigint, bigint]>(
        [0n, 0n],
        [U64_MAX, U64_MAX],
        [0n, U64_MAX],
        [1n, U64_MAX - 1n],
      ),
    },
  );
  // Mostly lo <= hi; sometimes an empty (reversed) query.
  const span = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(point, point).map(sortPair) },
    fc.tuple(point, point),
  );
  return fc.oneof(
    { weight: 6, arbitrary: range.map(([start, last]): Op => ({ op: 'insert', start, last })) },
    { weight: 3, arbitrary: fc.nat().map((pick): Op => ({ op: 'remove', pick })) },
    { weight: 1, arbitrary: fc.nat().map((pick): Op => ({ op: 'removeStale', pick })) },
    { weight: 3, arbitrary: span.map(([start, last]): Op => ({ op: 'intersect', start, last })) },
    {
      weight: 6,
      arbitrary: fc
        .tuple(span, minLength, mode)
        .map(([[lo, hi], minLength, mode]): Op => ({ op: 'hole', lo, hi, minLength, mode })),
    },
  );
}

// Fanout 4 splits and merges nodes every few operations, so a few dozen ranges make a deep tree.
describe.each([{ fanout: 4 }, { fanout: undefined }])(
  'RangeTree against a sorted array (fanout $fanout)',
  ({ fanout }) => {
    const runF = (ops: Op[]) => run(ops, fanout);
    it('ranges near 0 and near U64_MAX: inserts, removals, intersections and hole searches agree after every step', () => {
      const TOP = U64_MAX - 47n;
      const point = fc.oneof(fc.bigInt({ min: 0n, max: 47n }), fc.bigInt({ min: TOP, max: U64_MAX }));
      const minLength = fc.oneof(
        { weight: 6, arbitrary: fc.bigInt({ min: 1n, max: 12n }) },
        { weight: 1, arbitrary: fc.constantFrom(1n << 63n, U64_MAX - 60n, U64_MAX, 1n << 64n) },
      );
      fc.assert(fc.property(fc.array(opsOver(point, 8n, minLength), { maxLength: 60 }), runF), {
        numRuns: 400,
      });
    });

    it('deeper trees: a few hundred ranges in 0..4000, hole searches of every length', () => {
      const point = fc.bigInt({ min: 0n, max: 4000n });
      const minLength = fc.bigInt({ min: 1n, max: 200n });
      const ops = fc.array(opsOver(point, 40n, minLength), { minLength: 100, maxLength: 300 });
      fc.assert(fc.property(ops, runF), { numRuns: 100 });
    });
  },
);

describe('RangeTree edge cases', () => {
  it('an overlapping insert throws RangeError and leaves the tree unchanged; touching ranges go in', () => {
    const tree = new RangeTree<number>();
    tree.insert(0n, 0n, 0);
    tree.insert(0x1000n, 0x1fffn, 1);
    tree.insert(0x3000n, 0x3fffn, 2);
    tree.insert(U64_MAX - 0xfffn, U64_MAX, 3);
    const before = dump(tree);
    const holesBefore = acceptor({ kind: 'never' }, 1n);
    tree.findHole(0n, U64_MAX, 1n, holesBefore.accept);
    const overlapping: [bigint, bigint][] = [
      [0n, 0n],
      [0n, U64_MAX],
      [0x1000n, 0x1fffn],
      [0xfffn, 0x1000n],
      [0x1fffn, 0x2000n],
      [0x1800n, 0x1800n],
      [0x2000n, 0x3000n],
      [0x500n, 0x5000n],
      [U64_MAX, U64_MAX],
      [U64_MAX - 0x1000n, U64_MAX - 0xfffn],
    ];
    for (const [s, l] of overlapping) {
      expect(() => tree.insert(s, l, 9)).toThrow(RangeError);
      expect(dump(tree)).toEqual(before);
      expect(tree.size).toBe(4);
      const holes = acceptor({ kind: 'never' }, 1n);
      tree.findHole(0n, U64_MAX, 1n, holes.accept);
      expect(holes.calls).toEqual(holesBefore.calls);
    }
    tree.insert(1n, 0xfffn, 4);
    tree.insert(0x2000n, 0x2fffn, 5);
    tree.insert(U64_MAX - 0x1000n, U64_MAX - 0x1000n, 6);
    expect(dump(tree)).toEqual([
      [0n, 0n, 0],
      [1n, 0xfffn, 4],
      [0x1000n, 0x1fffn, 1],
      [0x2000n, 0x2fffn, 5],
      [0x3000n, 0x3fffn, 2],
      [U64_MAX - 0x1000n, U64_MAX - 0x1000n, 6],
      [U64_MAX - 0xfffn, U64_MAX, 3],
    ]);
  });

  it('invalid bounds throw RangeError and change nothing', () => {
    const tree = new RangeTree<string>();
    tree.insert(5n, 9n, 'a');
    for (const [s, l] of [
      [3n, 2n],
      [-1n, 0n],
      [0n, 1n << 64n],
      [1n << 64n, 1n << 64n],
    ])
      expect(() => tree.insert(s, l, 'x')).toThrow(RangeError);
    expect([...tree].map((n) => n.value)).toEqual(['a']);
    expect(() => tree.findHole(0n, 10n, 0n, () => true)).toThrow(RangeError);
    expect(() => tree.findHole(-1n, 10n, 1n, () => true)).toThrow(RangeError);
    expect(() => tree.findHole(0n, 1n << 64n, 1n, () => true)).toThrow(RangeError);
  });

  it('remove() and next() refuse a node that is not in the tree', () => {
    const a = new RangeTree<number>();
    const b = new RangeTree<number>();
    const n = a.insert(0n, 9n, 1);
    const m = b.insert(0n, 9n, 2);
    expect(() => a.remove(m)).toThrow();
    expect(() => a.remove({ start: 0n, last: 9n, value: 1 })).toThrow();
    expect(() => a.next(m)).toThrow();
    a.remove(n);
    expect(() => a.remove(n)).toThrow();
    expect(a.size).toBe(0);
    expect(b.size).toBe(1);
    expect(a.first()).toBe(null);
    expect(a.lastNode()).toBe(null);
  });

  it('the whole 64-bit space: a hole of 2^64 bytes, and none past a range that ends at U64_MAX', () => {
    const tree = new RangeTree<number>();
    const all = acceptor({ kind: 'first' }, 1n << 64n);
    expect(tree.findHole(0n, U64_MAX, 1n << 64n, all.accept)).toBe(true);
    expect(all.calls).toEqual([[0n, U64_MAX]]);
    tree.insert(U64_MAX, U64_MAX, 0);
    const top = acceptor({ kind: 'never' }, 1n);
    expect(tree.findHole(U64_MAX - 2n, U64_MAX, 1n, top.accept)).toBe(false);
    expect(top.calls).toEqual([[U64_MAX - 2n, U64_MAX - 1n]]);
    expect(tree.firstIntersecting(0n, U64_MAX)?.value).toBe(0);
    expect(tree.firstIntersecting(U64_MAX, U64_MAX - 1n)).toBe(null);
    tree.insert(0n, U64_MAX - 1n, 1);
    expect(tree.findHole(0n, U64_MAX, 1n, () => true)).toBe(false);
  });

  it('a hole of exactly 2^53 bytes or more is found (its length is rounded once, so never below the minimum)', () => {
    const tree = new RangeTree<number>();
    tree.insert(0n, 0n, 0);
    tree.insert(2n ** 53n + 1n, 2n ** 53n + 1n, 1);
    const a = acceptor({ kind: 'first' }, 2n ** 53n);
    expect(tree.findHole(0n, 2n ** 54n, 2n ** 53n, a.accept)).toBe(true);
    expect(a.calls).toEqual([[1n, 2n ** 53n]]);
    for (const extra of [3n, 1n << 20n, (1n << 40n) + 7n]) {
      const t = new RangeTree<number>({ fanout: 4 });
      const len = 2n ** 60n + extra;
      for (let i = 0n; i < 20n; i++) t.insert(i * 2n, i * 2n, Number(i)); // holes of 1 byte, for depth
      t.insert(40n + len, 40n + len, 99);
      const b = acceptor({ kind: 'first' }, len);
      expect(t.findHole(0n, U64_MAX, len, b.accept)).toBe(true);
      expect(b.calls).toEqual([[39n, 39n + len]]);
    }
  });

  it('a node removed while iterating does not stop the walk', () => {
    const tree = new RangeTree<number>();
    for (let i = 0n; i < 10n; i++) tree.insert(i * 10n, i * 10n + 4n, Number(i));
    const seen: number[] = [];
    for (const n of tree) {
      seen.push(n.value);
      if (n.value % 2 === 0) tree.remove(n);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...tree].map((n) => n.value)).toEqual([1, 3, 5, 7, 9]);
  });
});

describe('RangeTree at 200k ranges: the hole search prunes', () => {
  const PAGE = 0x1000n;
  const SLACK = 16n;
  const N = 200_000;
  const BASE = 1n << 40n;
  // Each page is followed by a 16-byte hole; these pages by a longer one.
  const WIDE = new Map([
    [50_000, PAGE],
    [120_000, 3n * PAGE],
    [170_000, 2n * PAGE],
  ]);
  const tree = new RangeTree<number>();
  const nodes: RangeNode<number>[] = [];
  for (let i = 0, at = BASE; i < N; i++) {
    nodes.push(tree.insert(at, at + PAGE - 1n, i));
    at += PAGE + (WIDE.get(i) ?? SLACK);
  }
  const END = nodes[N - 1].last;
  /** The hole after page i. */
  const after = (i: number): Hole => [nodes[i].last + 1n, nodes[i + 1].start - 1n];

  // Count every read of a node's bounds: a search that walked the ranges would read each one.
  let reads = 0;
  for (const n of nodes)
    for (const key of ['start', 'last'] as const) {
      const v = n[key];
      Object.defineProperty(n, key, {
        get() {
          reads++;
          return v;
        },
      });
    }

  const search = (lo: bigint, hi: bigint, minLength: bigint, mode: AcceptMode) => {
    const { calls, accept } = acceptor(mode, minLength);
    reads = 0;
    const found = tree.findHole(lo, hi, minLength, accept);
    return { found, calls, reads };
  };
  /** Far fewer bound reads than ranges (a search that walked them would make 200k): under 200 per hole visited. */
  const FEW = 1000;

  it('holds 200k ranges in order', () => {
    expect(tree.size).toBe(N);
    let i = 0;
    let inOrder = true;
    for (const n of tree) inOrder &&= n === nodes[i++];
    expect(inOrder).toBe(true);
    expect(i).toBe(N);
    expect(tree.first()).toBe(nodes[0]);
    expect(tree.lastNode()).toBe(nodes[N - 1]);
  });

  it('a length that fits only past the last range: one accept() call, a few hundred reads', () => {
    const r = search(BASE, U64_MAX, 4n * PAGE, { kind: 'first' });
    expect(r.found).toBe(true);
    expect(r.calls).toEqual([[END + 1n, U64_MAX]]);
    expect(r.reads).toBeLessThan(FEW);
  });

  it('a length that fits only in the 3-page hole (or past the end) gets that hole first', () => {
    const r = search(BASE, U64_MAX, 3n * PAGE, { kind: 'first' });
    expect(r.calls).toEqual([after(120_000)]);
    expect(r.reads).toBeLessThan(FEW);
    const tight = search(BASE, END, 3n * PAGE, { kind: 'never' });
    expect(tight.found).toBe(false);
    expect(tight.calls).toEqual([after(120_000)]);
    expect(tight.reads).toBeLessThan(FEW);
  });

  it('every hole longer than the 16-byte ones, declined: four calls, not 200k', () => {
    for (const minLength of [SLACK + 1n, PAGE]) {
      const r = search(BASE, U64_MAX, minLength, { kind: 'never' });
      expect(r.found).toBe(false);
      expect(r.calls).toEqual([after(50_000), after(120_000), after(170_000), [END + 1n, U64_MAX]]);
      expect(r.reads).toBeLessThan(FEW);
    }
  });

  it('a search bounded inside the ranges, clipped at both ends', () => {
    const lo = nodes[50_000].last - 7n;
    const hi = nodes[150_000].start + 7n;
    const r = search(lo, hi, PAGE, { kind: 'never' });
    expect(r.calls).toEqual([after(50_000), after(120_000)]);
    const small = search(lo, hi, 8n, { kind: 'kth', k: 2 });
    expect(small.found).toBe(true);
    expect(small.calls).toEqual([after(50_000), after(50_001), after(50_002)]);
    expect(small.reads).toBeLessThan(FEW);
  });

  it('a search that ends early stops there: the 16-byte holes past hi are not walked', () => {
    const r = search(BASE, nodes[10].last, SLACK, { kind: 'never' });
    expect(r.calls).toEqual(Array.from({ length: 10 }, (_, i) => after(i)));
    expect(r.reads).toBeLessThan(FEW);
  });

  it('the 16-byte holes are all there when asked for: any one is reached directly', () => {
    const lo = nodes[100_000].start;
    const r = search(lo, U64_MAX, SLACK, { kind: 'first' });
    expect(r.calls).toEqual([after(100_000)]);
    expect(r.reads).toBeLessThan(FEW);
  });

  it('a run of pages removed opens a hole the next search finds; put back, it is gone', () => {
    const run = nodes.slice(80_000, 80_004);
    for (const n of run) tree.remove(n);
    const hole: Hole = [nodes[79_999].last + 1n, nodes[80_004].start - 1n];
    const r = search(BASE, U64_MAX, 4n * PAGE, { kind: 'first' });
    expect(r.calls).toEqual([hole]);
    expect(r.reads).toBeLessThan(FEW);
    for (const n of run) nodes[n.value] = tree.insert(n.start, n.last, n.value);
    expect(search(BASE, U64_MAX, 4n * PAGE, { kind: 'first' }).calls).toEqual([[END + 1n, U64_MAX]]);
    expect(tree.size).toBe(N);
  });
});
