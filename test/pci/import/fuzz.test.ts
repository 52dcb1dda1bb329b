// SPDX-License-Identifier: GPL-2.0-only
/**
 * Fuzzing the import with mutations of the real groundtruth dumps: of the
 * lspci text (characters, lines, truncation, junk) and of the config bytes
 * (bit flips, byte writes at the header's pointers and bus numbers, random
 * capability chains that may cycle, truncation). Every outcome must be a
 * result that buildPciTopology() accepts, or an InputError; never another
 * exception. Every walk is bounded by construction (visited offsets), so
 * there is nothing to time.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { importLspci, parseLspci, type LspciFunction } from '../../../src/pci/import/lspci.js';
import { importPciConfigs, type PciTopologyInput } from '../../../src/pci/import/from-config.js';
import { decodeConfig } from '../../../src/pci/config/decode.js';
import { buildPciTopology } from '../../../src/pci/topology-build.js';
import { InputError } from '../../../src/input/input-error.js';
import { newKernel } from '../helpers.js';
import { lspciPath, lspciText, renderLspci, scenarios } from './helpers.js';

const texts = new Map(scenarios.map((s) => [s, lspciText(s)]));
const dumps = new Map(scenarios.map((s) => [s, parseLspci(lspciText(s), lspciPath(s))]));

type Outcome = 'ok' | 'input-error';

/** Runs an import: an InputError is fine, anything else is thrown; a result must build. */
function outcome(run: () => PciTopologyInput[]): Outcome {
  let topos: PciTopologyInput[];
  try {
    topos = run();
  } catch (e) {
    if (e instanceof InputError) return 'input-error';
    throw e;
  }
  const k = newKernel();
  for (const t of topos) buildPciTopology(k, t, { acsRequested: true });
  return 'ok';
}

function decodeOutcome(run: () => unknown): Outcome {
  try {
    run();
    return 'ok';
  } catch (e) {
    if (e instanceof InputError) return 'input-error';
    throw e;
  }
}

// ---- text mutations ----

type TextMutation =
  | { kind: 'char'; at: number; ch: string }
  | { kind: 'delete-lines'; at: number; count: number }
  | { kind: 'duplicate-line'; at: number }
  | { kind: 'swap-lines'; a: number; b: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; s: string };

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('char' as const),
    at: fc.nat(),
    ch: fc.constantFrom(...'0123456789abcdef:. \n\t-xZ'),
  }),
  fc.record({
    kind: fc.constant('delete-lines' as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), s: fc.string({ maxLength: 40 }) }),
);

function mutateText(text: string, m: TextMutation): string {
  const lines = text.split('\n');
  const li = (i: number) => i % lines.length;
  switch (m.kind) {
    case 'char': {
      const at = m.at % (text.length || 1);
      return text.slice(0, at) + m.ch + text.slice(at + 1);
    }
    case 'delete-lines':
      lines.splice(li(m.at), m.count);
      return lines.join('\n');
    case 'duplicate-line':
      lines.splice(li(m.at), 0, lines[li(m.at)]);
      return lines.join('\n');
    case 'swap-lines': {
      const [a, b] = [li(m.a), li(m.b)];
      [lines[a], lines[b]] = [lines[b], lines[a]];
      return lines.join('\n');
    }
    case 'truncate':
      return text.slice(0, m.at % (text.length + 1));
    case 'insert': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + m.s + text.slice(at);
    }
  }
}

// ---- config byte mutations ----

type ByteMutation =
  | { kind: 'flip'; fn: number; offset: number; bit: number }
  | { kind: 'set'; fn: number; offset: number; value: number }
  | { kind: 'cap-chain'; fn: number; offsets: number[]; ids: number[]; loopTo: number | null }
  | { kind: 'ext-chain'; fn: number; offsets: number[]; ids: number[]; loopTo: number | null }
  | { kind: 'truncate'; fn: number; length: number };

/** Offsets worth hitting: the header's IDs, status, header type, bus numbers, capability pointer. */
const interesting = fc.oneof(
  fc.constantFrom(0x00, 0x01, 0x06, 0x0e, 0x18, 0x19, 0x1a, 0x34),
  fc.integer({ min: 0x00, max: 0xff }),
  fc.integer({ min: 0x100, max: 0xfff }),
);

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    fn: fc.nat(),
    offset: interesting,
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant('set' as const),
    fn: fc.nat(),
    offset: interesting,
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('cap-chain' as const),
    fn: fc.nat(),
    offsets: fc.array(fc.integer({ min: 0x00, max: 0xff }), { minLength: 1, maxLength: 8 }),
    ids: fc.array(fc.constantFrom(0x01, 0x05, 0x0d, 0x10, 0x11, 0xff, 0x00), { minLength: 8, maxLength: 8 }),
    loopTo: fc.option(fc.nat({ max: 7 })),
  }),
  fc.record({
    kind: fc.constant('ext-chain' as const),
    fn: fc.nat(),
    offsets: fc.array(fc.integer({ min: 0x00, max: 0xfff }), { minLength: 1, maxLength: 6 }),
    ids: fc.array(fc.constantFrom(0x0d, 0x0f, 0x10, 0x13, 0x1b, 0x01, 0xffff), {
      minLength: 6,
      maxLength: 6,
    }),
    loopTo: fc.option(fc.nat({ max: 5 })),
  }),
  fc.record({
    kind: fc.constant('truncate' as const),
    fn: fc.nat(),
    length: fc.integer({ min: 0, max: 4096 }),
  }),
);

const w8 = (b: Uint8Array, off: number, v: number) => {
  if (off < b.length) b[off] = v & 0xff;
};
const w32 = (b: Uint8Array, off: number, v: number) => {
  for (let i = 0; i < 4; i++) w8(b, off + i, v >>> (8 * i));
};

/** The functions with one mutation applied (bytes copied, never shared with the originals). */
function mutateBytes(functions: readonly LspciFunction[], m: ByteMutation): LspciFunction[] {
  const out = functions.map((f) => ({ ...f, bytes: f.bytes.slice() }));
  const f = out[m.fn % out.length];
  const b = f.bytes;
  switch (m.kind) {
    case 'flip':
      if (m.offset < b.length) b[m.offset] ^= 1 << m.bit;
      break;
    case 'set':
      w8(b, m.offset, m.value);
      break;
    case 'cap-chain': {
      w8(b, 0x06, b[0x06] | 0x10);
      w8(b, 0x34, m.offsets[0]);
      m.offsets.forEach((off, i) => {
        const next =
          i + 1 < m.offsets.length
            ? m.offsets[i + 1]
            : m.loopTo !== null
              ? m.offsets[m.loopTo % m.offsets.length]
              : 0;
        w8(b, off & ~3, m.ids[i]);
        w8(b, (off & ~3) + 1, next);
      });
      break;
    }
    case 'ext-chain': {
      // The first extended capability is always at 0x100; the rest where the pointers say.
      const offs = [0x100, ...m.offsets];
      offs.forEach((off, i) => {
        const next = i + 1 < offs.length ? offs[i + 1] : m.loopTo !== null ? offs[m.loopTo % offs.length] : 0;
        w32(b, off & ~3, m.ids[i % m.ids.length] | (1 << 16) | ((next & 0xfff) << 20));
      });
      break;
    }
    case 'truncate':
      f.bytes = b.slice(0, m.length);
      break;
  }
  return out;
}

const scenario = fc.constantFrom(...scenarios);

describe('fuzzing the lspci text', () => {
  it('mutated text imports and builds, or is an InputError', () => {
    const seen = new Set<Outcome>();
    fc.assert(
      fc.property(scenario, fc.array(textMutation, { minLength: 1, maxLength: 5 }), (s, ms) => {
        const text = ms.reduce(mutateText, texts.get(s)!);
        seen.add(outcome(() => importLspci(text, 'fuzz.txt')));
      }),
      { numRuns: 400 },
    );
    expect([...seen].sort()).toEqual(['input-error', 'ok']);
  });
});

describe('fuzzing the config bytes', () => {
  it('mutated bytes decode, import and build, or are an InputError, through both importers alike', () => {
    const seen = new Set<Outcome>();
    fc.assert(
      fc.property(scenario, fc.array(byteMutation, { minLength: 1, maxLength: 4 }), (s, ms) => {
        const functions = ms.reduce(mutateBytes, dumps.get(s)!);
        for (const f of functions) decodeOutcome(() => decodeConfig(f.bytes, f.bdf, 'fuzz'));
        const sources = functions.map((f) => ({ bdf: f.bdf, bytes: f.bytes, file: 'fuzz' }));
        const direct = outcome(() => importPciConfigs(sources));
        seen.add(direct);
        // lspci prints whole rows only: compare when every dump is whole rows.
        // lspci text also refuses a dump whose every function is at most 256 bytes though one is
        // PCI Express (lspci -xxx), which a sysfs copy, with the kernel's own sizes, may be.
        const xxx =
          functions.every((f) => f.bytes.length <= 256) &&
          functions.some(
            (f) =>
              decodeOutcome(() => decodeConfig(f.bytes, f.bdf, 'fuzz')) === 'ok' &&
              decodeConfig(f.bytes, f.bdf, 'fuzz').pcie !== null,
          );
        if (functions.every((f) => f.bytes.length % 16 === 0 && f.bytes.length > 0))
          expect(outcome(() => importLspci(renderLspci(functions), 'fuzz.txt'))).toBe(
            xxx ? 'input-error' : direct,
          );
      }),
      { numRuns: 300 },
    );
    expect([...seen].sort()).toEqual(['input-error', 'ok']);
  });

  it('a standard capability list that returns to an earlier entry is always refused as a cycle', () => {
    fc.assert(
      fc.property(
        scenario,
        fc.nat(),
        fc.uniqueArray(fc.integer({ min: 0x10, max: 0x3f }), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        (s, fn, dwords, loop) => {
          const offsets = dwords.map((d) => d * 4);
          const functions = dumps.get(s)!;
          const f = functions[fn % functions.length];
          const b = f.bytes.slice();
          b[0x06] |= 0x10;
          b[0x34] = offsets[0];
          offsets.forEach((off, i) => {
            b[off] = 0x09; // vendor-specific: no registers read
            b[off + 1] = i + 1 < offsets.length ? offsets[i + 1] : offsets[loop % offsets.length];
          });
          expect(() => decodeConfig(b, f.bdf, 'fuzz')).toThrow(/the list cycles/);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an extended capability list that returns to an earlier entry is always refused as a cycle', () => {
    const pcie = [...dumps.values()]
      .flat()
      .filter((f) => f.bytes.length === 4096 && decodeConfig(f.bytes, f.bdf, 'x').pcie);
    fc.assert(
      fc.property(
        fc.constantFrom(...pcie),
        fc.uniqueArray(fc.integer({ min: 0x41, max: 0x3ff }), { minLength: 1, maxLength: 10 }),
        fc.nat(),
        (f, dwords, loop) => {
          const offsets = [0x100, ...dwords.map((d) => d * 4)];
          const b = f.bytes.slice();
          offsets.forEach((off, i) => {
            const next = i + 1 < offsets.length ? offsets[i + 1] : offsets[loop % offsets.length];
            w32(b, off, 0x0b | (1 << 16) | (next << 20)); // vendor-specific: no registers read
          });
          expect(() => decodeConfig(b, f.bdf, 'fuzz')).toThrow(/the list cycles/);
        },
      ),
      { numRuns: 200 },
    );
  });
});
