// SPDX-License-Identifier: GPL-2.0-only
// flat`…` reads exactly as the template literal it replaces.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { flat } from '../../src/lib/flat-string.js';

describe('flat template strings', () => {
  it('equal the plain template literal (property)', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.oneof(fc.string(), fc.integer()),
        fc.string(),
        fc.double(),
        (a, b, c, d) => {
          expect(flat`${a}: ${b} (${c}) ${d}`).toBe(`${a}: ${b} (${c}) ${d}`);
          expect(flat`no values`).toBe('no values');
        },
      ),
    );
  });
});
