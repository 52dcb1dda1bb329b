// SPDX-License-Identifier: GPL-2.0-only
// The committed synthetic tables (synthetic/*.dat, disassembled by iasl into
// iasl/synthetic-*.dsl) are exactly what build.ts makes. With
// IOMMU_LAB_WRITE_SYNTHETIC=1 (gen-iasl-expectations.sh sets it) they are
// rewritten first.
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticTables } from './build.js';
import { SYNTHETIC_DIR } from './iasl.js';
import { acpiChecksum } from '../../../src/firmware/acpi/acpi-table.js';

describe('synthetic ACPI tables', () => {
  if (process.env.IOMMU_LAB_WRITE_SYNTHETIC === '1') {
    mkdirSync(SYNTHETIC_DIR, { recursive: true });
    for (const [name, build] of Object.entries(syntheticTables))
      writeFileSync(join(SYNTHETIC_DIR, name), build());
  }
  for (const [name, build] of Object.entries(syntheticTables))
    it(`synthetic/${name} is what build.ts makes, with a valid checksum`, () => {
      const bytes = build();
      expect(acpiChecksum(bytes)).toBe(0);
      expect(new Uint8Array(readFileSync(join(SYNTHETIC_DIR, name)))).toEqual(bytes);
    });
});
