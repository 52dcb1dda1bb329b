// SPDX-License-Identifier: GPL-2.0-only
// The red-black tree under the IOVA allocator (src/dma/iova-tree.ts): random
// inserts and erases keep lib/rbtree.c's rules (checked by validate()), the
// in-order walk is sorted, nodes keep their index across rebalancing, and the
// pool reuses freed nodes instead of growing.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IovaTree, RB_NULL } from '../../src/dma/iova-tree.js';

function insert(t: IovaTree, key: number): number {
  let cur = t.root;
  let parent = RB_NULL;
  let left = true;
  while (cur !== RB_NULL) {
    parent = cur;
    left = key < t.lo(cur);
    cur = left ? t.left(cur) : t.right(cur);
  }
  const n = t.allocNode(key, key);
  t.linkNode(n, parent, left);
  t.insertColor(n);
  return n;
}

function inOrder(t: IovaTree): number[] {
  const out: number[] = [];
  for (let n = t.first(); n !== RB_NULL; n = t.next(n)) out.push(t.lo(n));
  return out;
}

function reverseOrder(t: IovaTree): number[] {
  const out: number[] = [];
  for (let n = t.last(); n !== RB_NULL; n = t.prev(n)) out.push(t.lo(n));
  return out;
}

describe('IovaTree', () => {
  it('keeps the red-black rules, order and node identity through random inserts and erases', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 300 }),
        (keys, erases) => {
          const t = new IovaTree(2);
          const byKey = new Map<number, number>();
          for (const k of keys) {
            byKey.set(k, insert(t, k));
            t.validate();
          }
          for (const e of erases) {
            if (byKey.size === 0) break;
            const live = [...byKey.keys()];
            const k = live[e % live.length];
            const n = byKey.get(k)!;
            t.erase(n);
            t.freeNode(n);
            byKey.delete(k);
            t.validate();
          }
          const sorted = [...byKey.keys()].sort((a, b) => a - b);
          expect(inOrder(t)).toEqual(sorted);
          expect(reverseOrder(t)).toEqual([...sorted].reverse());
          for (const [k, n] of byKey) expect(t.lo(n)).toBe(k);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('stays balanced on sorted inserts (height within 2 log2(n + 1))', () => {
    const t = new IovaTree();
    const n = 1 << 14;
    for (let i = 0; i < n; i++) insert(t, i);
    const blackHeight = t.validate();
    const depth = (x: number): number =>
      x === RB_NULL ? 0 : 1 + Math.max(depth(t.left(x)), depth(t.right(x)));
    expect(depth(t.root)).toBeLessThanOrEqual(2 * Math.log2(n + 1));
    expect(blackHeight).toBeGreaterThan(10);
  });

  it('reuses freed nodes before growing the pool, and refuses a double free', () => {
    const t = new IovaTree(4);
    const ns = [10, 20, 30, 40].map((k) => insert(t, k));
    expect(t.poolCapacity).toBe(4);
    t.erase(ns[1]);
    t.freeNode(ns[1]);
    expect(t.isLive(ns[1])).toBe(false);
    expect(insert(t, 25)).toBe(ns[1]);
    expect(t.poolCapacity).toBe(4);
    insert(t, 50);
    expect(t.poolCapacity).toBe(8);
    expect(inOrder(t)).toEqual([10, 25, 30, 40, 50]);
    t.erase(ns[0]);
    t.freeNode(ns[0]);
    expect(() => t.freeNode(ns[0])).toThrow(/freed twice/);
  });
});
