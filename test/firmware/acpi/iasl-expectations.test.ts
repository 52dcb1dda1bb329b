// SPDX-License-Identifier: GPL-2.0-only
// Every ACPI table we have (shared/fixtures/acpi, the DMAR and IVRS of every
// groundtruth scenario, synthetic/) parses, and every field agrees with
// `iasl -d`, offset, length, name and value, through the disassemblies
// committed under iasl/ (gen-iasl-expectations.sh). This iasl does not know
// VIOT: only its 36-byte header is compared here. Where iasl is installed
// it is also run on each table and must still print the committed text.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { FieldTrace } from '../../../src/firmware/acpi/acpi-table.js';
import {
  committedNames,
  compareWithIasl,
  FIXTURES_DIR,
  iaslAvailable,
  parseDsl,
  readCommitted,
  runIasl,
  sourceFixtures,
} from './iasl.js';
import { parseAny } from './tables.js';
import { existsSync } from 'node:fs';

const names = committedNames();
const sources = new Map(sourceFixtures().map((f) => [f.name, f]));
const haveIasl = iaslAvailable();
if (!haveIasl)
  console.warn(
    'iasl (acpica-tools) is not installed: the live `iasl -d` checks are skipped; the committed disassemblies are still compared',
  );

describe('the committed iasl expectations', () => {
  it('exist for every table, and only for those', () => {
    expect(names.length).toBeGreaterThanOrEqual(18);
    for (const name of sources.keys()) expect(names).toContain(name);
    if (existsSync(FIXTURES_DIR)) expect([...sources.keys()].sort()).toEqual(names);
  });
});

for (const name of names) {
  describe(name, () => {
    const text = readCommitted(name);
    const dsl = parseDsl(text);
    const signature = name.slice(name.lastIndexOf('.') + 1);
    const source = sources.get(name);

    it('was disassembled from the table as it is now', () => {
      expect(dsl.fields.length).toBeGreaterThan(8);
      if (source) expect(dsl.raw).toEqual(new Uint8Array(readFileSync(source.source)));
    });

    const full = signature === 'DMAR' || signature === 'IVRS' || signature === 'IORT';
    it(`parses, and agrees with iasl field by field${full ? '' : ' (header)'}`, () => {
      const trace: FieldTrace[] = [];
      parseAny(signature, dsl.raw, `${name}.dat`, trace);
      const limit = full ? Infinity : 36;
      expect(compareWithIasl(dsl, trace, dsl.raw, limit)).toEqual([]);
      // Not vacuous: most iasl fields were matched one to one.
      const compared = dsl.fields.filter((d) => d.offset < limit).length;
      expect(trace.filter((t) => t.offset < limit).length).toBeGreaterThanOrEqual(compared * 0.9);
    });

    it.skipIf(!haveIasl)('iasl -d today prints the committed text (skipped without iasl)', () => {
      expect(runIasl(name, source?.source ?? dsl.raw)).toBe(text);
    });
  });
}
