// SPDX-License-Identifier: GPL-2.0-only
// Bad blobs give an InputError naming the file, the byte offset and the
// field — each check once, by hand — and no mutation or truncation of a
// real DTB gives anything else (fast-check). Random trees written by the
// test writer (test/support/fdt-build.ts) read back identical.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../../src/input/input-error.js';
import { MAX_FDT_BYTES, parseFdt } from '../../../src/firmware/fdt/fdt-parse.js';
import type { FdtNode } from '../../../src/firmware/fdt/fdt.js';
import { buildFdt, type TreeSpec } from '../../support/fdt-build.js';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/dtb/', import.meta.url));
const juno = new Uint8Array(readFileSync(fixtures + 'arm64-6.12-juno-r1.dtb'));

function setU32(b: Uint8Array, off: number, v: number): Uint8Array {
  new DataView(b.buffer, b.byteOffset).setUint32(off, v);
  return b;
}
function u32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset).getUint32(off);
}
function fail(b: Uint8Array): InputError {
  try {
    parseFdt(b, 'bad.dtb');
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('parsed without error');
}

const tiny: TreeSpec = {
  name: '',
  props: [['compatible', Uint8Array.from([0x61, 0])]],
  children: [{ name: 'a@1', props: [['reg', Uint8Array.from([0, 0, 0, 1])]], children: [] }],
};

describe('bad blobs name file, offset and field', () => {
  it('wrong magic', () => {
    expect(fail(setU32(juno.slice(), 0, 0x12345678)).message).toBe(
      'bad.dtb: offset 0x0: magic: not a flattened device tree (want 0xd00dfeed)',
    );
  });
  it('truncated file', () => {
    const e = fail(juno.slice(0, 1000));
    expect(e.message).toBe(
      `bad.dtb: offset 0x3e8: totalsize: header says ${juno.length} bytes but the file ends after 1000`,
    );
  });
  it('a header cut short', () => {
    expect(fail(juno.slice(0, 20)).message).toMatch(/offset 0x14: header: file ends after 20 bytes/);
  });
  it('unsupported version', () => {
    expect(fail(setU32(juno.slice(), 20, 3)).message).toMatch(
      /offset 0x14: version: version 3 .* not supported/,
    );
  });
  it('strings block outside the blob', () => {
    expect(fail(setU32(juno.slice(), 32, 0x7fffffff)).message).toMatch(
      /offset 0x20: size_dt_strings: block 0x69b0\+0x7fffffff lies outside/,
    );
  });
  it('structure block before the header', () => {
    expect(fail(setU32(juno.slice(), 8, 8)).message).toMatch(
      /offset 0x8: off_dt_struct: block 0x8\+.* lies outside/,
    );
  });
  it('property name offset outside the strings block', () => {
    const b = buildFdt(tiny);
    const propTag = u32(b, 8) + 8; // after BEGIN_NODE + "\0" padded
    expect(u32(b, propTag)).toBe(3);
    setU32(b, propTag + 8, 0x1000);
    expect(fail(b).message).toBe(
      `bad.dtb: offset ${'0x' + (propTag + 8).toString(16)}: nameoff: 0x1000 is outside the strings block (size 0x${u32(b, 32).toString(16)})`,
    );
  });
  it('property value longer than the structure block', () => {
    const b = buildFdt(tiny);
    const propTag = u32(b, 8) + 8;
    setU32(b, propTag + 4, 0x10000);
    expect(fail(b).message).toMatch(/: len: property value of 65536 bytes runs past the structure block/);
  });
  it('unknown token', () => {
    const b = buildFdt(tiny);
    setU32(b, u32(b, 8), 7);
    expect(fail(b).message).toBe(`bad.dtb: offset 0x${u32(b, 8).toString(16)}: token: unknown token 0x7`);
  });
  it('a node left open', () => {
    const b = buildFdt(tiny);
    const endTag = u32(b, 8) + u32(b, 36) - 4;
    setU32(b, endTag - 4, 4); // the root's FDT_END_NODE becomes FDT_NOP
    expect(fail(b).message).toMatch(/: FDT_END: 1 node\(s\) still open \(innermost \/\)/);
  });
  it('no FDT_END', () => {
    const b = buildFdt(tiny);
    setU32(b, u32(b, 8) + u32(b, 36) - 4, 4);
    expect(fail(b).message).toMatch(/: structure block: ends without an FDT_END token/);
  });
  it('a reservation map without terminator', () => {
    const b = buildFdt(tiny, [[0x1000n, 0x1000n]]);
    const small = Uint8Array.from(b.slice(0, 56));
    setU32(small, 4, 56);
    setU32(small, 8, 56);
    setU32(small, 12, 56);
    setU32(small, 32, 0);
    setU32(small, 36, 0);
    expect(fail(small).message).toMatch(/offset 0x38: memory reservation block: runs past the blob/);
  });
  it('broken gzip', () => {
    const gz = gzipSync(juno).subarray(0, 100);
    expect(fail(gz).message).toMatch(/^bad\.dtb: not a valid gzip stream/);
  });
  it('a gzip bomb: refused once it unpacks past the limit, not held in memory', () => {
    // 65 MiB of zeros in ~64 KiB: the blob's header first, so that only the size gives it away.
    const blob = new Uint8Array(MAX_FDT_BYTES + 2 ** 20);
    blob.set(juno.subarray(0, 40));
    const bomb = gzipSync(blob, { level: 1 });
    expect(bomb.length).toBeLessThan(2 ** 20);
    expect(fail(bomb).message).toBe(
      `bad.dtb: unpacks to more than ${MAX_FDT_BYTES} bytes: not a device tree`,
    );
  });
});

const name = fc.stringMatching(/^[a-z][a-z0-9,_-]{0,10}(@[0-9a-f]{1,8})?$/);
const value = fc.uint8Array({ maxLength: 24 });
const tree: fc.Memo<TreeSpec> = fc.memo((depth: number) =>
  fc.record({
    name,
    props: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[#a-z][a-z0-9,#-]{0,12}$/), value), {
      maxLength: 5,
      selector: (p) => p[0],
    }),
    children: depth <= 1 ? fc.constant([]) : fc.array(tree(depth - 1), { maxLength: 3 }),
  }),
);

function shape(n: FdtNode): TreeSpec {
  return {
    name: n.name,
    props: n.properties.map((p) => [p.name, p.value] as [string, Uint8Array]),
    children: n.children.map(shape),
  };
}

describe('properties', () => {
  it('a written tree reads back the same, with its reservations', () => {
    fc.assert(
      fc.property(
        tree(4),
        fc.array(
          fc.tuple(
            fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
            fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).filter((s) => s > 0n),
          ),
          { maxLength: 3 },
        ),
        (t, rsv) => {
          const root = { ...t, name: '' };
          const fdt = parseFdt(buildFdt(root, rsv), 'rt.dtb');
          expect(shape(fdt.root)).toEqual(root);
          expect(fdt.memReserve.map((r) => [r.address, r.size])).toEqual(rsv);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('mutated or truncated real blobs parse or give an InputError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(juno.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.option(fc.nat(juno.length), { nil: undefined }),
        (changes, cut) => {
          const b = juno.slice(0, cut ?? juno.length);
          for (const [at, v] of changes) if (at < b.length) b[at] = v;
          try {
            parseFdt(b, 'fuzz.dtb');
          } catch (e) {
            expect(e).toBeInstanceOf(InputError);
            expect((e as InputError).file).toBe('fuzz.dtb');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
