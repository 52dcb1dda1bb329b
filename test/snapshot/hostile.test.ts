// SPDX-License-Identifier: GPL-2.0-only
// Snapshot archives and folders from a machine the user does not trust
// (issue 8's security item): the archive is read in memory and nothing
// reaches the disk; a path that is absolute or climbs out, directly, through
// a pax record or a GNU long name, is refused naming the entry; links are
// never followed, in an archive or a folder (sizes: tar.test.ts). The
// archives are a real one (test/fuzz/seeds/snapshot/, made by
// snapshot/iommu-snapshot.sh from a groundtruth machine) edited with
// writeTar(), whose output GNU tar must read as written.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bootSnapshotArchive } from '../../src/api.js';
import { readSnapshot, readSnapshotArchive } from '../../src/snapshot/snapshot.js';
import type { TarWriteEntry } from '../../src/snapshot/tar-write.js';
import { paxRecord, writeTar } from '../../src/snapshot/tar-write.js';
import { readTar } from '../../src/snapshot/tar.js';
import { inputError } from '../support/input-error.js';
import { scratchDir } from '../support/scratch.js';

const seedFile = fileURLToPath(
  new URL('../fuzz/seeds/snapshot/x86-q35-amdvi-bridge.tar.gz', import.meta.url),
);
const seed = new Uint8Array(readFileSync(seedFile));
const entries = (): TarWriteEntry[] =>
  readTar(new Uint8Array(gunzipSync(seed)), seedFile).map((e) => ({
    path: e.path,
    type: e.kind === 'dir' ? '5' : '0',
    data: e.data,
  }));
const enc = new TextEncoder();
const CONFIG = 'iommu-snapshot/pci/0000:00:01.0/config';

describe("writeTar (the fuzzer's packer) against GNU tar", () => {
  it('files, a folder, a symbolic link, a ustar prefix and a GNU long name read back as written', () => {
    const long = `top/${'x'.repeat(150)}/${'y'.repeat(150)}/z`;
    const prefixed = `top/${'p'.repeat(120)}/file`;
    const tar = writeTar([
      { path: 'top', type: '5' },
      { path: 'top/a', data: enc.encode('alpha\n') },
      { path: prefixed, data: new Uint8Array(700).fill(3) },
      { path: long, data: enc.encode('deep') },
      { path: 'top/link', type: '2', link: 'a' },
    ]);
    const dir = scratchDir('tar-write-');
    const file = join(dir, 'w.tar');
    writeFileSync(file, tar);
    const listed = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(listed.map((l) => l.split(/\s+/).slice(5).join(' '))).toEqual([
      'top/',
      'top/a',
      prefixed,
      long,
      'top/link -> a',
    ]);
    expect(listed.map((l) => l[0])).toEqual(['d', '-', '-', '-', 'l']);
    execFileSync('tar', ['-xf', file, '-C', dir]);
    expect(readFileSync(join(dir, long), 'utf8')).toBe('deep');
    expect(readFileSync(join(dir, prefixed))).toEqual(Buffer.alloc(700, 3));
    const back = readTar(tar, file);
    expect(back.map((e) => [e.path, e.kind])).toEqual([
      ['top', 'dir'],
      ['top/a', 'file'],
      [prefixed, 'file'],
      [long, 'file'],
      ['top/link', 'symlink'],
    ]);
  });
});

describe('a hostile snapshot archive', () => {
  it('the seed itself boots, and the same bytes edited by writeTar read the same', () => {
    const a = readSnapshotArchive(seed, 'seed.tar.gz');
    const b = readSnapshotArchive(writeTar(entries()), 'repacked.tar');
    expect(b.pci.map((f) => f.bdf)).toEqual(a.pci.map((f) => f.bdf));
    expect(b.groups).toEqual(a.groups);
    expect(a.pci.some((f) => f.bdf === '0000:00:01.0')).toBe(true);
    const s = bootSnapshotArchive(seed, 'seed.tar.gz');
    expect(s.agreement.agrees).toBe(true);
    expect(s.result.leaks).toEqual([]);
  });

  it('paths climbing out through a pax record or a GNU long name are refused, naming the entry', () => {
    const pax = [
      ...entries(),
      { path: 'PaxHeaders/x', type: 'x', data: paxRecord('path', '../../outside/config') },
      { path: 'iommu-snapshot/innocent', data: enc.encode('x') },
    ];
    const e = inputError(() => readSnapshotArchive(writeTar(pax), 'pax.tar'));
    expect(e.file).toBe('pax.tar');
    expect(e.where).toMatch(/^offset 0x[0-9a-f]+ \(tar header field name\)$/);
    expect(e.problem).toBe('"../../outside/config" climbs out of the archive with ".."');
    const long = [...entries(), { path: `/${'a'.repeat(300)}/config`, data: enc.encode('x') }];
    expect(inputError(() => readSnapshotArchive(writeTar(long), 'long.tar')).problem).toMatch(
      /^"\/a{300}\/config" is an absolute path$/,
    );
  });

  it('a link in the archive is never followed: a config that is a link to /etc/passwd is no config', () => {
    const linked = entries().map((e) =>
      e.path === CONFIG ? { path: CONFIG, type: '2', link: '/etc/passwd' } : e,
    );
    const s = readSnapshotArchive(writeTar(linked), 'link.tar');
    expect(s.pci.some((f) => f.bdf === '0000:00:01.0')).toBe(false);
    const hard = entries().map((e) =>
      e.path === CONFIG ? { path: CONFIG, type: '1', link: '/etc/passwd' } : e,
    );
    expect(readSnapshotArchive(writeTar(hard), 'hard.tar').pci.some((f) => f.bdf === '0000:00:01.0')).toBe(
      false,
    );
  });

  it('a snapshot folder: links are not followed, whatever they point at', () => {
    const dir = scratchDir('hostile-folder-');
    execFileSync('tar', ['-xzf', seedFile, '-C', dir]);
    const root = join(dir, 'iommu-snapshot');
    const cfg = join(root, 'pci', '0000:00:01.0', 'config');
    const before = readSnapshot(root);
    rmSync(cfg);
    symlinkSync('/etc/passwd', cfg);
    // A link to a folder that loops back, and one leading out of the snapshot.
    symlinkSync(root, join(root, 'pci', 'loop'));
    symlinkSync('/', join(root, 'acpi', 'root'));
    const after = readSnapshot(root);
    expect(after.pci.map((f) => f.bdf)).toEqual(
      before.pci.map((f) => f.bdf).filter((b) => b !== '0000:00:01.0'),
    );
  });
});
