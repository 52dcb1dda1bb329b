// SPDX-License-Identifier: GPL-2.0-only
// Byte mutations of every real and synthetic table (fast-check): the
// parsers and the conversions to the drivers' tables either give a result
// or throw InputError, never another exception and never a hang. Most
// mutations are made with the checksum fixed up afterwards, so that they
// reach the structure parsers instead of stopping at the checksum.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InputError } from '../../../src/input/input-error.js';
import { acpiChecksum } from '../../../src/firmware/acpi/acpi-table.js';
import { type ParsedDmar, parseDmar } from '../../../src/firmware/acpi/dmar-parse.js';
import { dmarToDriverTable } from '../../../src/firmware/acpi/dmar-to-driver.js';
import { type ParsedIvrs, parseIvrs } from '../../../src/firmware/acpi/ivrs-parse.js';
import { ivrsToDriverTable } from '../../../src/firmware/acpi/ivrs-to-driver.js';
import { parseAny, tableCases } from './tables.js';

const cases = tableCases();

/** Parse, then convert: a result, or an InputError (returned). Anything else propagates. */
function run(signature: string, bytes: Uint8Array): InputError | null {
  try {
    const p = parseAny(signature, bytes, 'fuzz.dat');
    if (signature === 'DMAR') dmarToDriverTable(p as ParsedDmar, () => null);
    if (signature === 'IVRS') ivrsToDriverTable(p as ParsedIvrs);
    return null;
  } catch (e) {
    if (e instanceof InputError) {
      expect(e.file).toBe('fuzz.dat');
      return e;
    }
    throw e;
  }
}

function fixChecksum(t: Uint8Array): Uint8Array {
  t[9] = 0;
  t[9] = (0x100 - acpiChecksum(t, Math.min(t.length, t[4] | (t[5] << 8)))) & 0xff;
  return t;
}

const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
  minLength: 1,
  maxLength: 8,
});

describe('fuzzed ACPI tables give a parse or an InputError', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: byte changes, checksum fixed', (_name, c) => {
    fc.assert(
      fc.property(mutation, (changes) => {
        const t = c.bytes.slice();
        for (const [at, v] of changes) {
          const i = 10 + (at % (t.length - 10)); // keep the signature and length: reach the body
          t[i] = v;
        }
        run(c.signature, fixChecksum(t));
      }),
      { numRuns: 300 },
    );
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: any byte, checksum left alone', (_name, c) => {
    fc.assert(
      fc.property(mutation, (changes) => {
        const t = c.bytes.slice();
        for (const [at, v] of changes) t[at % t.length] = v;
        const e = run(c.signature, t);
        if (e && acpiChecksum(t) !== 0 && t.subarray(0, 8).join() === c.bytes.subarray(0, 8).join())
          expect(e.problem).toMatch(/^Checksum/);
      }),
      { numRuns: 150 },
    );
  });

  it.each(
    cases.filter((c) => c.signature === 'DMAR' || c.signature === 'IVRS').map((c) => [c.name, c] as const),
  )('%s: bytes inserted and removed, length and checksum fixed', (_name, c) => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.integer({ min: -8, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }),
        (at, cut, insert) => {
          const body = Array.from(c.bytes.subarray(36));
          const pos = at % (body.length + 1);
          if (cut > 0) body.splice(pos, cut);
          else body.splice(pos, 0, ...insert);
          const t = new Uint8Array([...c.bytes.subarray(0, 36), ...body]);
          t[4] = t.length & 0xff;
          t[5] = (t.length >> 8) & 0xff;
          run(c.signature, fixChecksum(t));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random tables with a valid header: a parse or an InputError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('DMAR', 'IVRS'),
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        (sig, body) => {
          const t = new Uint8Array(36 + body.length);
          t.set([...sig].map((ch) => ch.charCodeAt(0)));
          t[4] = t.length;
          t.set(body, 36);
          run(sig, fixChecksum(t));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the unmutated tables convert (DMAR to the Intel table, IVRS to the AMD table)', () => {
    for (const c of cases) {
      if (c.signature === 'DMAR')
        expect(dmarToDriverTable(parseDmar(c.bytes, c.name), () => null).drhds.length).toBeGreaterThan(0);
      if (c.signature === 'IVRS')
        expect(ivrsToDriverTable(parseIvrs(c.bytes, c.name)).targetIvhdType).toBe(
          c.name.includes('types') ? 0x40 : 0x10,
        );
    }
  });
});
