// SPDX-License-Identifier: GPL-2.0-only
// The WebAssembly writer of src/lib/wasm-module.ts: constants survive the LEB128 encodings, memory
// accesses land where their offsets say, and the module validates (V8 compiles it).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModuleBuilder, compileModule, instantiate, newSharedMemory } from '../../src/lib/wasm-module.js';

const memory = { module: 'env', name: 'memory', initial: 1, maximum: 4, shared: true } as const;

describe('wasm-module', () => {
  it('encodes i32, i64 and f64 constants exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.bigInt(), fc.double(), (a, b, c) => {
        const mod = new ModuleBuilder(memory);
        mod.func('a', [], ['i32']).i32(a);
        mod.func('b', [], ['i64']).i64(b);
        mod.func('c', [], ['f64']).f64(c);
        const w = instantiate(compileModule(mod.bytes()), newSharedMemory(1, 4)) as unknown as {
          a(): number;
          b(): bigint;
          c(): number;
        };
        expect(w.a()).toBe(a);
        expect(w.b()).toBe(BigInt.asIntN(64, b));
        expect(Object.is(w.c(), c)).toBe(true);
      }),
    );
  });

  it('reads and writes the shared memory at offset + address, seen by a view taken before it grew', () => {
    const mem = newSharedMemory(1, 4);
    const view = new Int32Array(mem.buffer);
    const mod = new ModuleBuilder(memory);
    // put(addr, v): i64 store at addr + 16; get(addr): i32 load8_u at addr + 16.
    mod.func('put', ['i32', 'f64'], []).get(0).get(1).op('i64.trunc_sat_f64_s').mem('i64.store', 16);
    mod.func('get', ['i32'], ['i32']).get(0).mem('i32.load8_u', 16);
    const w = instantiate(compileModule(mod.bytes()), mem);
    w.put(8, 0x1_2345_6789);
    expect([view[6], view[7]]).toEqual([0x23456789, 1]);
    expect(w.get(8)).toBe(0x89);
    mem.grow(1);
    w.put(65536, 7);
    expect(new Int32Array(mem.buffer)[(65536 + 16) >> 2]).toBe(7);
    expect(view[6]).toBe(0x23456789);
  });

  it('branches and loops: sum of 1..n', () => {
    const mod = new ModuleBuilder(memory);
    const f = mod.func('sum', ['i32'], ['i32']);
    const acc = f.local('i32');
    f.block().loop();
    f.get(0).op('i32.eqz').brIf(1);
    f.get(acc).get(0).op('i32.add').set(acc);
    f.get(0).i32(1).op('i32.sub').set(0).br(0);
    f.end().end();
    f.get(acc);
    const w = instantiate(compileModule(mod.bytes()), newSharedMemory(1, 4));
    expect(w.sum(100)).toBe(5050);
    expect(w.sum(0)).toBe(0);
  });
});
