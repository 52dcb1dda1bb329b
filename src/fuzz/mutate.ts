// SPDX-License-Identifier: GPL-2.0-only
/**
 * Structured mutation of real inputs, deterministic from a seed: byte flips,
 * "interesting" values written over 8-, 16- and 32-bit fields (0, 1, -1,
 * the sign bits, the input's own length and around it), truncation,
 * extension, chunks deleted, duplicated or moved, and, for ACPI tables, the
 * checksum set right again half the time so that the mutant reaches the
 * parser's structure checks instead of stopping at the checksum. Text
 * inputs mutate by lines and characters; JSON by values (a subtree replaced,
 * deleted or duplicated).
 *
 * Why written here: fast-check generates values from arbitraries, and a
 * mutation engine over real binaries (what AFL and libFuzzer do in C) has no
 * maintained JavaScript equivalent that runs in-process and deterministically.
 */

/** mulberry32: a small, fast, seedable generator; good enough to pick mutations. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }
}

function interesting(len: number): number[] {
  return [
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0x8000,
    0xffff,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    len,
    len - 1,
    len + 1,
    4096,
  ];
}

/** One mutation of a byte string. */
function mutateOnce(b: Uint8Array, rng: Rng): Uint8Array {
  const len = b.length;
  switch (rng.below(9)) {
    case 0: {
      // Flip a bit.
      if (len === 0) return b;
      const out = b.slice();
      out[rng.below(len)] ^= 1 << rng.below(8);
      return out;
    }
    case 1:
    case 2: {
      // An interesting value over a field of 1, 2 or 4 bytes, little-endian, at a random or aligned offset.
      if (len === 0) return b;
      const out = b.slice();
      const width = rng.pick([1, 2, 4]);
      const at = rng.below(2) === 0 ? rng.below(len) : rng.below(Math.ceil(len / width)) * width;
      const v = rng.pick(interesting(len));
      for (let i = 0; i < width && at + i < len; i++) out[at + i] = (v >>> (8 * i)) & 0xff;
      return out;
    }
    case 3: {
      // Random bytes over a short run.
      if (len === 0) return b;
      const out = b.slice();
      const at = rng.below(len);
      for (let i = 0, n = 1 + rng.below(8); i < n && at + i < len; i++) out[at + i] = rng.below(256);
      return out;
    }
    case 4:
      // Truncate.
      return b.slice(0, rng.below(len + 1));
    case 5: {
      // Extend with zeroes or random bytes.
      const extra = new Uint8Array(1 + rng.below(64));
      if (rng.below(2) === 0) for (let i = 0; i < extra.length; i++) extra[i] = rng.below(256);
      const out = new Uint8Array(len + extra.length);
      out.set(b);
      out.set(extra, len);
      return out;
    }
    case 6: {
      // Delete a chunk.
      if (len === 0) return b;
      const at = rng.below(len);
      const n = 1 + rng.below(Math.min(64, len - at));
      const out = new Uint8Array(len - n);
      out.set(b.subarray(0, at));
      out.set(b.subarray(at + n), at);
      return out;
    }
    case 7: {
      // Duplicate a chunk in place.
      if (len === 0) return b;
      const at = rng.below(len);
      const n = 1 + rng.below(Math.min(64, len - at));
      const out = new Uint8Array(len + n);
      out.set(b.subarray(0, at + n));
      out.set(b.subarray(at, at + n), at + n);
      out.set(b.subarray(at + n), at + 2 * n);
      return out;
    }
    default: {
      // Copy a chunk over another place.
      if (len < 2) return b;
      const out = b.slice();
      const from = rng.below(len);
      const to = rng.below(len);
      const n = 1 + rng.below(Math.min(32, len - Math.max(from, to)));
      out.copyWithin(to, from, from + n);
      return out;
    }
  }
}

/** 1 to 4 mutations of a byte string (the input is not changed). */
export function mutateBytes(b: Uint8Array, rng: Rng): Uint8Array {
  let out = b;
  for (let i = 0, n = 1 + rng.below(4); i < n; i++) out = mutateOnce(out, rng);
  return out;
}

/** Sets an ACPI table's checksum byte (offset 9) so that its bytes sum to 0 mod 256. */
export function fixAcpiChecksum(b: Uint8Array): Uint8Array {
  if (b.length < 10) return b;
  const out = b.slice();
  out[9] = 0;
  let sum = 0;
  for (const x of out) sum = (sum + x) & 0xff;
  out[9] = (256 - sum) & 0xff;
  return out;
}

/** Text mutations: a line deleted, duplicated or swapped, a character changed, or byte mutations. */
export function mutateText(text: string, rng: Rng): string {
  const lines = text.split('\n');
  switch (rng.below(5)) {
    case 0:
      lines.splice(rng.below(lines.length), 1);
      return lines.join('\n');
    case 1: {
      const i = rng.below(lines.length);
      lines.splice(i, 0, lines[i]);
      return lines.join('\n');
    }
    case 2: {
      const i = rng.below(lines.length);
      const j = rng.below(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return lines.join('\n');
    }
    case 3: {
      const i = rng.below(text.length + 1);
      const c = rng.pick([
        '0',
        'f',
        'F',
        ' ',
        ':',
        '\t',
        '.',
        'x',
        '-',
        '\u00e9',
        '\u0000',
        '\u001b[2J',
        'ffffffff',
      ]);
      return text.slice(0, i) + c + text.slice(i + rng.below(3));
    }
    default:
      return new TextDecoder().decode(mutateBytes(new TextEncoder().encode(text), rng));
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const JSON_ATOMS: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 53,
  -(2 ** 31),
  4294967296,
  '',
  'x',
  '0x1000',
  '__proto__',
  [],
  {},
];

/** A path to a random node of a JSON value, and its parent. */
function nodes(v: Json, out: { parent: Json[] | { [k: string]: Json }; key: string | number }[] = []) {
  if (Array.isArray(v))
    v.forEach((x, i) => {
      out.push({ parent: v, key: i });
      nodes(x, out);
    });
  else if (v !== null && typeof v === 'object')
    for (const k of Object.keys(v)) {
      out.push({ parent: v, key: k });
      nodes(v[k], out);
    }
  return out;
}

/** Structural JSON mutations: a value replaced by an atom or another subtree, deleted, or duplicated. */
export function mutateJson(value: unknown, rng: Rng): unknown {
  const v = structuredClone(value) as Json;
  for (let m = 0, n = 1 + rng.below(3); m < n; m++) {
    const all = nodes(v);
    if (all.length === 0) return rng.pick(JSON_ATOMS);
    const { parent, key } = rng.pick(all);
    const set = (x: Json) => ((parent as Record<string | number, Json>)[key] = x);
    switch (rng.below(4)) {
      case 0:
        set(structuredClone(rng.pick(JSON_ATOMS)));
        break;
      case 1: {
        const o = rng.pick(all);
        set(structuredClone((o.parent as Record<string | number, Json>)[o.key] ?? null));
        break;
      }
      case 2:
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        break;
      default:
        if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(parent[key as number]));
        else parent[`${String(key)}_`] = structuredClone(parent[key as string]);
    }
  }
  return v;
}
