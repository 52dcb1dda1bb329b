// SPDX-License-Identifier: GPL-2.0-only
/** Index sequences the benches share. */

/** A fixed pseudo-random sequence of integers below n (xorshift32), made before timing. */
export function randomIndices(n: number, count: number): Float64Array {
  const out = new Float64Array(count);
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % n;
  }
  return out;
}
