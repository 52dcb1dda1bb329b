// SPDX-License-Identifier: GPL-2.0-only
// The memory a TableMemory pool lives in (memory.ts poolMemory()) and the
// WebAssembly instances over it (wasm-path.ts): a pool starts with room for
// 64 MiB of tables and grows past it without invalidating a view; tables
// that share a pool share one instance per format; a disposed pool's memory
// goes, zeroed, to the next; and running out of address space for pools is
// a readable error.
import { describe, expect, it, vi } from 'vitest';
import { IOMMU_READ, IOMMU_WRITE, TableMemory, createPageTable } from '../../src/pgtable/index.js';
import type * as WasmModule from '../../src/lib/wasm-module.js';
import { POOL_START } from '../../src/pgtable/memory.js';
import type { WasmPath } from '../../src/pgtable/wasm-path.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const wasmOf = (t: object) => (t as { wasm: WasmPath | null }).wasm;

describe('TableMemory pools', () => {
  it('a table with a pool of its own gives the pool back when freed', () => {
    const t = createPageTable('arm-64-lpae-s1-4k');
    const mem = t.memory.wasmMemory;
    t.free();
    expect(new TableMemory().wasmMemory).toBe(mem);
    const shared = new TableMemory();
    createPageTable('arm-64-lpae-s1-4k', { memory: shared }).free();
    // A pool given in cfg.memory is the caller's: it stays theirs.
    expect(shared.alloc(4096)).toBeGreaterThan(0);
  });

  it('tables sharing a pool share one WebAssembly instance per format; separate pools do not', () => {
    const memory = new TableMemory();
    const a = createPageTable('arm-64-lpae-s1-4k', { memory });
    const b = createPageTable('arm-64-lpae-s1-4k', { memory });
    const s2 = createPageTable('arm-64-lpae-s2-4k', { memory });
    const other = createPageTable('arm-64-lpae-s1-4k');
    expect(wasmOf(a)).not.toBeNull();
    expect(wasmOf(b)).toBe(wasmOf(a));
    expect(wasmOf(s2)).not.toBe(wasmOf(a));
    expect(wasmOf(other)).not.toBe(wasmOf(a));
    // One instance, two roots: each table's mappings are its own.
    expect(a.mapPages(0x1000, 0x8000_0000, 4096, 1, RW).errno).toBe(0);
    expect(b.mapPages(0x1000, 0x9000_0000, 4096, 1, RW).errno).toBe(0);
    expect(a.iovaToPhys(0x1008)).toBe(0x8000_0008);
    expect(b.iovaToPhys(0x1008)).toBe(0x9000_0008);
    expect(a.unmapPages(0x1000, 4096, 1)).toBe(4096);
    expect(a.iovaToPhys(0x1008)).toBe(0);
    expect(b.iovaToPhys(0x1008)).toBe(0x9000_0008);
    for (const t of [a, b, s2, other]) t.free();
    expect(memory.liveAllocations).toBe(0);
  });

  it('a pool grown past its first 64 MiB keeps every view, and the WebAssembly walk reads the new tables', () => {
    const memory = new TableMemory();
    const first = createPageTable('arm-64-lpae-s1-4k', { memory });
    expect(first.mapPages(0x20_0000, 0x1_2345_6000, 4096, 1, RW).errno).toBe(0);
    const firstRoot = memory.tableWords(first.pgdPhys)!;
    const rootWords = Array.from(firstRoot);
    // Pages until the pool is past the 64 MiB the memory starts with: no free page left below.
    const filler: number[] = [];
    while (memory.poolBytes <= 64 << 20) filler.push(memory.alloc(4096));
    expect(filler.every((p) => p > 0)).toBe(true);
    const late = createPageTable('arm-64-lpae-s1-4k', { memory });
    expect(late.pgdPhys - memory.base).toBeGreaterThan(64 << 20);
    // The walk must be the WebAssembly one's: count what it handled.
    const inner = late as unknown as { wasm: WasmPath };
    const wp = inner.wasm;
    let handled = 0;
    inner.wasm = {
      ...wp,
      walk: (pgd, iova) => {
        const r = wp.walk(pgd, iova);
        if (r >= 0) handled++;
        return r;
      },
    };
    expect(late.mapPages(0x4000_0000, 0x2_0000_0000, 4096, 4, RW).errno).toBe(0);
    expect(late.iovaToPhys(0x4000_3010)).toBe(0x2_0000_3010);
    expect(late.iovaToPhys(0x4000_4000)).toBe(0);
    expect(handled).toBe(2);
    // Views taken before the growth still read the same memory.
    expect(Array.from(firstRoot)).toEqual(rootWords);
    expect(first.iovaToPhys(0x20_0010)).toBe(0x1_2345_6010);
    filler.forEach((p) => memory.free(p, 4096));
    first.free();
    late.free();
    expect(memory.liveAllocations).toBe(0);
  });

  it('a disposed pool with nothing live lends its memory, zeroed, to the next pool; one with live tables keeps it', () => {
    const first = new TableMemory();
    const t = createPageTable('arm-64-lpae-s1-4k', { memory: first });
    expect(t.mapPages(0x1000, 0x8000_0000, 4096, 1, RW).errno).toBe(0);
    const root = t.pgdPhys;
    expect(Array.from(first.tableWords(root)!).some((w) => w !== 0)).toBe(true);
    t.free();
    first.dispose();
    expect(() => first.alloc(4096)).toThrow(/after dispose/);
    const second = new TableMemory();
    expect(second.wasmMemory).toBe(first.wasmMemory);
    // Zeroed by dispose() itself, before anything is allocated again: the pool, the orders map.
    const raw = new Int32Array(second.wasmMemory.buffer, POOL_START + (root - second.base), 1024);
    expect(raw.every((w) => w === 0)).toBe(true);
    expect(second.isLive(root)).toBe(false);
    // The same addresses as a fresh pool's, and nothing of the old tables left in them.
    const again = createPageTable('arm-64-lpae-s1-4k', { memory: second });
    expect(again.pgdPhys).toBe(root);
    expect(Array.from(second.tableWords(root)!).every((w) => w === 0)).toBe(true);
    expect(again.iovaToPhys(0x1000)).toBe(0);
    const leaked = createPageTable('arm-64-lpae-s1-4k', { memory: second });
    expect(leaked.mapPages(0x2000, 0x9000_0000, 4096, 1, RW).errno).toBe(0);
    again.free();
    second.dispose();
    const third = new TableMemory();
    expect(third.wasmMemory).not.toBe(second.wasmMemory);
    // The leaked table still reads its own memory.
    createPageTable('arm-64-lpae-s1-4k', { memory: third }).mapPages(0x2000, 0x7000_0000, 4096, 1, RW);
    expect(leaked.iovaToPhys(0x2008)).toBe(0x9000_0008);
  });

  it("no address space left for a pool: an error that says what to do, not V8's", async () => {
    vi.resetModules();
    vi.doMock('../../src/lib/wasm-module.js', async (load) => ({
      ...(await load<typeof WasmModule>()),
      newSharedMemory: () => {
        throw new RangeError('WebAssembly.Memory(): could not allocate memory');
      },
    }));
    try {
      const { TableMemory: Fresh } = await import('../../src/pgtable/memory.js');
      expect(() => new Fresh()).toThrow(
        /no virtual address space left for another pool.*share one \(\{ memory \}\)/,
      );
    } finally {
      vi.doUnmock('../../src/lib/wasm-module.js');
      vi.resetModules();
    }
  });
});
