// SPDX-License-Identifier: GPL-2.0-only
/**
 * The sysfs-folder fuzz target: a copy of /sys/bus/pci/devices, read by
 * importSysfsPciDir() from a real folder, since what it must survive is
 * what a folder can hold (links to anywhere, loops, devices, folders where
 * files should be) as much as what the files hold. A mutant is a tar of the
 * folder (so that a finding is kept as one file), unpacked by run() into a
 * scratch folder: files, folders and symbolic links, never outside it
 * (readTar() refuses paths that climb out, and nothing is created through a
 * link: safeDir()). Seeds: the pci/ folders of the snapshot seeds, real
 * config spaces of the groundtruth machines.
 *
 * Mutations: a config space's bytes (or its size: 64, 256, 4096, 4097
 * bytes), entries renamed (a device past 0x1f, a domain past 0xffff, a
 * dot-file, a name that is no BDF), dropped or doubled, a config made a
 * folder or a link (to /etc/passwd, /dev/zero, /proc/kcore, itself, a
 * missing file), a function made a link to a folder that loops back.
 */
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importSysfsPciDir } from '../pci/import/sysfs.js';
import type { TarWriteEntry } from '../snapshot/tar-write.js';
import { writeTar } from '../snapshot/tar-write.js';
import { readTar } from '../snapshot/tar.js';
import type { Rng } from './mutate.js';
import { mutateBytes } from './mutate.js';
import { snapshotSeeds, unpackSeed } from './snapshot-target.js';
import type { FuzzTarget } from './targets.js';
import { bootParts } from './targets.js';

/** The pci/ folder of a snapshot archive, as tar entries relative to it. */
function pciFolderOf(snapshot: Uint8Array): TarWriteEntry[] {
  return unpackSeed(snapshot).entries.flatMap((e) => {
    const m = /^iommu-snapshot\/pci\/([^/]+\/config)$/.exec(e.path);
    return m && e.type === '0' ? [{ path: m[1], data: e.data }] : [];
  });
}

const NAMES = [
  '0000:00:20.0',
  '10000:00:00.0',
  '0000:00:1f.8',
  '.hidden',
  'zz:00:00.0',
  '0000:00:00.0 ',
  'constructor',
];
const LINKS = ['/etc/passwd', '/dev/zero', '/proc/kcore', 'config', 'missing', '../../..'];
const SIZES = [0, 64, 255, 256, 4096, 4097];

function mutateFolder(entries: readonly TarWriteEntry[], rng: Rng): TarWriteEntry[] {
  const out = entries.slice();
  for (let n = 1 + rng.below(3); n > 0 && out.length > 0; n--) {
    const i = rng.below(out.length);
    const e = out[i];
    const fn = e.path.split('/')[0];
    switch (rng.below(6)) {
      case 0:
      case 1: {
        // Half the time at the size it had, to get past the size check to the decoding.
        const old = e.data ?? new Uint8Array(0);
        let data = mutateBytes(old, rng);
        if (rng.below(2) === 0 && data.length !== old.length) {
          const same = new Uint8Array(old.length);
          same.set(data.subarray(0, old.length));
          data = same;
        }
        out[i] = { ...e, data };
        break;
      }
      case 2: {
        const data = new Uint8Array(SIZES[rng.below(SIZES.length)]);
        data.set((e.data ?? new Uint8Array(0)).subarray(0, data.length));
        out[i] = { ...e, data };
        break;
      }
      case 3:
        out[i] = { ...e, path: `${NAMES[rng.below(NAMES.length)]}/config` };
        break;
      case 4:
        if (rng.below(2) === 0) out.splice(i, 1);
        else out.push({ ...e, path: `${fn.slice(0, -1)}${rng.below(8)}/config` });
        break;
      default: {
        const which = rng.below(3);
        if (which === 0) out[i] = { path: e.path, type: '2', link: LINKS[rng.below(LINKS.length)] };
        else if (which === 1) out[i] = { path: e.path, type: '5' };
        // The function's folder a link to the folder holding it: a loop for a reader that follows links.
        else out[i] = { path: fn, type: '2', link: '..' };
      }
    }
  }
  return out;
}

/**
 * The folder `rel` names under root, made where missing, one component at a
 * time; null when a component is a link or not a folder. Nothing is ever
 * created through a link: a mutant may plant one to anywhere (/etc) and
 * then name a file below it or of the same name, and the fuzzer runs as
 * whoever runs the tests, root in many containers. (It did: a first version
 * that made folders recursively and wrote files plainly wrote a config space
 * over /etc/passwd through a link the same mutant had made.)
 */
function safeDir(root: string, rel: readonly string[]): string | null {
  let at = root;
  for (const part of rel) {
    at = join(at, part);
    try {
      mkdirSync(at);
    } catch {
      // There already: a folder of ours is fine, anything else is not.
    }
    const st = lstatSync(at, { throwIfNoEntry: false });
    if (!st || st.isSymbolicLink() || !st.isDirectory()) return null;
  }
  return at;
}

/** Unpacks a mutant into a fresh folder: files, folders and links (anything else is left out), never through a link. */
function unpackInto(root: string, tar: Uint8Array): void {
  for (const e of readTar(tar, '<fuzz>.tar')) {
    const parts = e.path.split('/');
    const dir = safeDir(root, e.kind === 'dir' ? parts : parts.slice(0, -1));
    if (dir === null || e.kind === 'dir') continue;
    const at = join(dir, parts[parts.length - 1]);
    try {
      // 'wx': O_CREAT | O_EXCL, which fails on anything already there, a link included.
      if (e.kind === 'file') writeFileSync(at, e.data, { flag: 'wx' });
      else if (e.kind === 'symlink') symlinkSync(linkOf(tar, e.offset), at);
    } catch {
      // Two entries for one path (a file where a folder is, a link twice): the first one stays.
    }
  }
}

/** A link entry's target: its header's linkname field. */
function linkOf(tar: Uint8Array, offset: number): string {
  const field = tar.subarray(offset + 157, offset + 257);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
}

/** The scratch folders' names: this prefix, the process id, a random part (a stopped worker's is removed by main.ts). */
export const SCRATCH_PREFIX = 'iommu-lab-fuzz-sysfs-';

export function sysfsTarget(seedDir: string): FuzzTarget {
  const seeds = snapshotSeeds(seedDir).flatMap((s) => {
    const entries = pciFolderOf(s.bytes);
    return entries.length > 0 ? [{ file: `${s.file}:pci/`, bytes: writeTar(entries) }] : [];
  });
  const folders = new WeakMap<Uint8Array, TarWriteEntry[]>();
  let scratch: string | null = null;
  return {
    name: 'sysfs',
    seeds,
    mutate(seed, rng) {
      let entries = folders.get(seed);
      if (entries === undefined) {
        entries = readTar(seed, 'seed').map((e) => ({ path: e.path, data: e.data }));
        folders.set(seed, entries);
      }
      return writeTar(mutateFolder(entries, rng));
    },
    run(input, deep) {
      scratch ??= mkdtempSync(join(tmpdir(), `${SCRATCH_PREFIX}${process.pid}-`));
      const root = join(scratch, 'devices');
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root);
      unpackInto(root, input);
      const pci = importSysfsPciDir(root);
      if (!deep) return 'parsed';
      bootParts({}, pci);
      return 'booted';
    },
    dispose() {
      if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
      scratch = null;
    },
  };
}
