// SPDX-License-Identifier: GPL-2.0-only
/**
 * The iommufd part of `npm run bench`: IOAS_MAP and IOAS_UNMAP through the
 * ABI (struct bytes in, ioctl, struct bytes out) with 1k to 100k live
 * areas, and the ratio to the smallest count (issue 6's target: within 2x
 * at 100k). Areas lie back to back; each step unmaps a random one and maps
 * a page again, with an automatic IOVA (the allocator must find that one
 * hole among all the areas) or with the IOVA given.
 */
import { Kernel } from '../kernel/kernel.js';
import { UserProcess } from '../mm/user-mm.js';
import { Iommufd } from '../iommufd/api.js';
import { profiles } from '../profile/profiles.js';
import { randomIndices } from './random.js';

const P = 4096n;
const COUNTS = [1_000, 10_000, 100_000];
/** Timed pairs per round, rounds per pattern (the median is printed). */
const OPS = 4_000;
const ROUNDS = 7;

const now = () => Number(process.hrtime.bigint());

function fail(what: string): never {
  throw new Error(`bench: ${what} did not do what it should`);
}

/** ns per (unmap + map) pair for each pattern at `live` areas. */
function measure(live: number): [number, number] {
  const k = new Kernel({ profile: profiles['v6.12'] });
  const fd = Iommufd.open(k, new UserProcess(k));
  if (typeof fd === 'number') fail('open');
  const { id } = fd.ioasAlloc();
  // Areas of one page back to back from 4K: [P, 2P), [2P, 3P), … no hole until the end.
  for (let i = 0; i < live; i++)
    if (fd.ioasMap({ ioasId: id, userVa: 0n, length: P, iova: P + BigInt(i) * P }).errno) fail('populate');
  const idx = randomIndices(live, 2000 + 2 * ROUNDS * OPS);
  // Unmap a random area, then map a page with an automatic IOVA: the allocator must find that one hole.
  const autoLoop = (n: number, from = 0) => {
    for (let i = from; i < from + n; i++) {
      const iova = P + BigInt(idx[i]) * P;
      if (fd.ioasUnmap(id, iova, P).errno) fail('unmap');
      const m = fd.ioasMap({ ioasId: id, userVa: 0n, length: P });
      if (m.errno || m.iova !== iova) fail(`automatic map into the hole at ${iova}`);
    }
  };
  // The same with the IOVA given.
  const fixedLoop = (n: number, from = 0) => {
    for (let i = from; i < from + n; i++) {
      const iova = P + BigInt(idx[i]) * P;
      if (fd.ioasUnmap(id, iova, P).errno) fail('unmap');
      if (fd.ioasMap({ ioasId: id, userVa: 0n, length: P, iova }).errno) fail('fixed map');
    }
  };
  autoLoop(2000);
  fixedLoop(2000);
  // Rounds of each pattern in turn (the random indices go on from round to round); the median per ioctl.
  const samples: [number[], number[]] = [[], []];
  for (let r = 0, at = 2000; r < ROUNDS; r++)
    [autoLoop, fixedLoop].forEach((loop, p) => {
      const t0 = now();
      loop(OPS, at);
      samples[p].push((now() - t0) / OPS / 2);
      at += OPS;
    });
  const [auto, fixed] = samples.map((s) => s.sort((a, b) => a - b)[s.length >> 1]);
  fd.close();
  if (k.alloc.liveAllocations().length) fail('close');
  return [auto, fixed];
}

export function runIommufdBench(print: (line: string) => void): void {
  print(
    'iommufd: IOAS_MAP / IOAS_UNMAP through the ABI with n live areas (ns per ioctl, ratio to the smallest n)',
  );
  print('live   | unmap + automatic-IOVA map              | unmap + fixed-IOVA map');
  // A throwaway run first, so that the smallest count is not measured while the JIT warms up.
  measure(COUNTS[0]);
  const rows = COUNTS.map((n) => [n, ...measure(n)] as const);
  const [, a0, f0] = rows[0];
  for (const [n, a, f] of rows)
    print(
      `${`${n / 1000}k`.padEnd(7)}| ${`${a.toFixed(0)} ns ${(a / a0).toFixed(2)}x`.padEnd(41)}| ${f.toFixed(0)} ns ${(f / f0).toFixed(2)}x`,
    );
}
