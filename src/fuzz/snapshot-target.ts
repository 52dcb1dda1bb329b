// SPDX-License-Identifier: GPL-2.0-only
/**
 * The snapshot-archive fuzz target: archives made by
 * snapshot/iommu-snapshot.sh (test/fuzz/seeds/snapshot/, from the
 * groundtruth machines, and any under the seed folder's snapshots/),
 * mutated at three levels and read by readSnapshotArchive(); one accepted
 * mutant in BOOT_EVERY is booted and compared with its machine.
 *
 * - the gzip stream's bytes (the decompressor's checks and size limit);
 * - the tar's bytes, their header checksums set right again half the time
 *   so that a mutant reaches the field checks (size, type, names);
 * - the archive's entries, repacked by writeTar(): a file's content
 *   mutated as what it is (ACPI tables with their checksum fixed, config
 *   spaces and device trees as bytes, the rest as text), entries dropped,
 *   doubled or added, paths renamed to what an archive from an untrusted
 *   machine may hold (absolute, climbing out with "..", a long name, a
 *   bad BDF or group number), and types changed to links pointing out of
 *   the archive, devices, FIFOs and pax records naming another path.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { bootSnapshotArchive } from '../api.js';
import { packageRoot } from '../platform/load.js';
import { readSnapshotArchive } from '../snapshot/snapshot.js';
import { HEADER, readTar } from '../snapshot/tar.js';
import type { TarWriteEntry } from '../snapshot/tar-write.js';
import { paxRecord, writeTar } from '../snapshot/tar-write.js';
import type { Rng } from './mutate.js';
import { fixAcpiChecksum, mutateBytes, mutateText } from './mutate.js';
import type { FuzzTarget } from './targets.js';
import { expectClean, filesIn } from './targets.js';

const FILE = '<fuzz>.tar';
const enc = new TextEncoder();
const dec = new TextDecoder();
const TOP = 'iommu-snapshot';

/** Paths an archive from an untrusted machine may hold instead of a good one. */
const HOSTILE_PATHS = (p: string): string[] => [
  `../${p}`,
  `/${p}`,
  `${p}/../../../etc/passwd`,
  `${TOP}/../../${p.split('/').pop()}`,
  `./${p}`,
  p.replace(/\//g, '//'),
  `${TOP}/${'a'.repeat(120)}/${'b'.repeat(120)}/${p.split('/').pop()}`,
  `${TOP}/pci/0000:00:1f.8/config`,
  `${TOP}/pci/10000:00:00.0/config`,
  `${TOP}/pci/ffffffff:ff:1f.7/config`,
  `${TOP}/pci/0000:00:20.0/config`,
  `${TOP}/pci/../config`,
  `${TOP}/iommu_groups/-1/devices`,
  `${TOP}/iommu_groups/99999999999999999999/devices`,
  `${TOP}/iommu_groups/1e3/devices`,
  `${TOP}/iommu_groups/__proto__/devices`,
  `${TOP}/acpi/constructor`,
  `${TOP}/FORMAT\0x`,
];

/** Files a snapshot may hold, with plausible and odd contents. */
const EXTRA_FILES: readonly [string, () => Uint8Array][] = [
  [`${TOP}/release`, () => enc.encode('6.18.0-rc1\n')],
  [`${TOP}/release`, () => enc.encode('x'.repeat(5000))],
  [`${TOP}/arch`, () => enc.encode('riscv64\n')],
  [`${TOP}/cmdline`, () => enc.encode('intel_iommu=on iommu=pt iommu.strict=0 pci=noacs\n')],
  [`${TOP}/hypervisor`, () => enc.encode('1\n')],
  [`${TOP}/pci/0000:00:05.0/config`, () => new Uint8Array(256).fill(0xff)],
  [`${TOP}/pci/0000:00:05.0/config`, () => new Uint8Array(4097)],
  [`${TOP}/pci/0000:00:05.0/config`, () => new Uint8Array(64)],
  [`${TOP}/pci/0000:00:05.0/iommu_group`, () => enc.encode('7\n')],
  [`${TOP}/iommu_groups/7/devices`, () => enc.encode('0000:00:05.0 dmar0\n0000:00:05.0 dmar0\n')],
  [`${TOP}/iommu_groups/7/reserved_regions`, () => enc.encode('0xfee00000 0xfeefffff msi\n')],
  [`${TOP}/iommu_groups/7/type`, () => enc.encode('blocked\n')],
  [`${TOP}/acpi/DMAR`, () => new Uint8Array(0)],
  [
    `${TOP}/acpi/IVRS`,
    () => fixAcpiChecksum(enc.encode('IVRS\x30\0\0\0\x02\0BOCHS BXPC    \x01\0\0\0BXPC\x01\0\0\0')),
  ],
  [`${TOP}/fdt`, () => Uint8Array.of(0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0, 8)],
];

/** Type flags to turn an entry into, with what they carry. */
const TYPES: readonly [string, string, Uint8Array][] = [
  ['2', '../../../etc/passwd', new Uint8Array(0)],
  ['2', '/etc/shadow', new Uint8Array(0)],
  ['2', '.', new Uint8Array(0)],
  ['1', `${TOP}/FORMAT`, new Uint8Array(0)],
  ['5', '', new Uint8Array(0)],
  ['3', '', new Uint8Array(0)],
  ['6', '', new Uint8Array(0)],
  ['7', '', new Uint8Array(0)],
  ['x', '', paxRecord('path', '../../outside/config')],
  ['x', '', paxRecord('path', `${TOP}/pci/0000:00:02.0/config`)],
  ['x', '', enc.encode('99 path=x\n')],
  ['L', '', enc.encode('/etc/passwd\0')],
  ['L', '', enc.encode(`${TOP}/FORMAT\0`)],
  ['g', '', paxRecord('path', '/abs/x')],
];

const isBinary = (path: string) => /\/(acpi\/[A-Z]{4}|fdt|config)$/.test(path);

/** 1 to 3 changes to an archive's entries. */
function mutateEntries(entries: TarWriteEntry[], rng: Rng): TarWriteEntry[] {
  const out = entries.slice();
  const pick = () => rng.below(out.length);
  for (let n = 1 + rng.below(3); n > 0; n--) {
    if (out.length === 0) break;
    const i = pick();
    const e = out[i];
    switch (rng.below(7)) {
      case 0:
      case 1: {
        // The commonest change: one file's content, mutated as what it is.
        const data = e.data ?? new Uint8Array(0);
        let next: Uint8Array;
        if (isBinary(e.path)) {
          next = mutateBytes(data, rng);
          if (e.path.includes('/acpi/') && rng.below(2) === 0) next = fixAcpiChecksum(next);
        } else next = enc.encode(mutateText(dec.decode(data), rng));
        out[i] = { ...e, data: next };
        break;
      }
      case 2:
        out.splice(i, 1);
        break;
      case 3:
        out.splice(rng.below(out.length + 1), 0, {
          ...e,
          data: mutateBytes(e.data ?? new Uint8Array(0), rng),
        });
        break;
      case 4: {
        const paths = HOSTILE_PATHS(e.path);
        out[i] = { ...e, path: paths[rng.below(paths.length)] };
        break;
      }
      case 5: {
        const [type, link, data] = TYPES[rng.below(TYPES.length)];
        out.splice(rng.below(2) === 0 ? i : i + 1, rng.below(2), {
          path: e.path,
          type,
          link,
          data,
        });
        break;
      }
      default: {
        const [path, make] = EXTRA_FILES[rng.below(EXTRA_FILES.length)];
        out.splice(rng.below(out.length + 1), 0, { path, data: make() });
      }
    }
  }
  return out;
}

/**
 * Sets every header's checksum right again, walking the headers as a reader
 * does, up to the first whose size field no longer parses.
 */
export function fixTarChecksums(tar: Uint8Array): Uint8Array {
  const out = tar.slice();
  const [ck, ckLen] = HEADER.chksum;
  const [sz, szLen] = HEADER.size;
  for (let at = 0; at + 512 <= out.length;) {
    const block = out.subarray(at, at + 512);
    if (block.every((b) => b === 0)) break;
    block.fill(0x20, ck, ck + ckLen);
    const sum = block.reduce((a, x) => a + x, 0);
    block.set(enc.encode(`${sum.toString(8).padStart(6, '0')}\0 `), ck);
    const size = dec
      .decode(block.subarray(sz, sz + szLen))
      .replace(/\0.*$/s, '')
      .trim();
    if (!/^[0-7]{1,11}$/.test(size)) break;
    at += 512 + Math.ceil(parseInt(size, 8) / 512) * 512;
  }
  return out;
}

const unpacked = new WeakMap<Uint8Array, { tar: Uint8Array; entries: TarWriteEntry[] }>();

/** A seed archive's tar bytes and entries, unpacked once (the sysfs target reads its pci/ folder from them). */
export function unpackSeed(seed: Uint8Array): { tar: Uint8Array; entries: TarWriteEntry[] } {
  let u = unpacked.get(seed);
  if (u === undefined) {
    const tar = seed[0] === 0x1f && seed[1] === 0x8b ? new Uint8Array(gunzipSync(seed)) : seed;
    const entries = readTar(tar, 'seed').map((e) => ({
      path: e.path,
      type: e.kind === 'dir' ? '5' : e.kind === 'symlink' ? '2' : '0',
      data: e.data,
    }));
    unpacked.set(seed, (u = { tar, entries }));
  }
  return u;
}

function mutateSnapshot(seed: Uint8Array, rng: Rng): Uint8Array {
  const r = rng.below(8);
  if (r === 0 && seed[0] === 0x1f && seed[1] === 0x8b) return mutateBytes(seed, rng);
  const { tar, entries } = unpackSeed(seed);
  let out: Uint8Array;
  if (r <= 2) {
    out = mutateBytes(tar, rng);
    if (rng.below(2) === 0) out = fixTarChecksums(out);
  } else out = writeTar(mutateEntries(entries, rng));
  // A quarter gzipped: the reader's gunzip is exercised by the first case's streams too.
  return rng.below(4) === 0 ? new Uint8Array(gzipSync(out, { level: 1 })) : out;
}

/** The seed archives: the repository's (test/fuzz/seeds/snapshot/) and any in the seed folder's snapshots/. */
export function snapshotSeeds(seedDir: string): { file: string; bytes: Uint8Array }[] {
  const own = join(packageRoot, 'test', 'fuzz', 'seeds', 'snapshot');
  return [join(seedDir, 'snapshots'), own]
    .filter((d) => existsSync(d))
    .flatMap((d) => filesIn(d, /\.tar(\.gz)?$/));
}

/** The snapshot target; no seeds when no seed archive is found. */
export function snapshotTarget(seedDir: string): FuzzTarget {
  const seeds = snapshotSeeds(seedDir);
  return {
    name: 'snapshot',
    seeds,
    mutate: mutateSnapshot,
    run(input, deep) {
      readSnapshotArchive(input, FILE);
      if (!deep) return 'parsed';
      expectClean(bootSnapshotArchive(input, FILE).result);
      return 'booted';
    },
  };
}
