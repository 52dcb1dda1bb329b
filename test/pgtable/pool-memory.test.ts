// SPDX-License-Identifier: GPL-2.0-only
// The memory a TableMemory pool lives in (memory.ts poolMemory()) and the
// WebAssembly instances over it (wasm-path.ts): a pool starts with room for
// 64 MiB of tables and grows past it without invalidating a view; tables
// that share a pool share one instance per format; and running out of
// address space for pools is a readable error.
import { describe, expect, it, vi } from 'vitest';
import { IOMMU_READ, IOMMU_WRITE, TableMemory, createPageTable } from '../../src/pgtable/index.js';
import type * as WasmModule from '../../src/lib/wasm-module.js';
import type { WasmPath } from '../../src/pgtable/wasm-path.js';

const RW = IOMMU_READ | IOMMU_WRITE;
const wasmOf = (t: object) => (t as { wasm: WasmPath | null }).wasm;

describe('TableMemory pools', () => {
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
