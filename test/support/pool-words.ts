// SPDX-License-Identifier: GPL-2.0-only
import type { TableMemory } from '../../src/pgtable/memory.js';

/** The words of a table memory's first region (its first 2 MiB), as a test corrupts them. */
export function firstRegionWords(mem: TableMemory): Int32Array {
  const b = mem.regions()[0].bytes;
  return new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
}
