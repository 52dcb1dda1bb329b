// SPDX-License-Identifier: GPL-2.0-only
// The in-memory tar reader (src/snapshot/tar.ts) against GNU tar (the
// oracle for what a sound archive holds), and against archives crafted to be
// wrong: a bad checksum, a truncated entry, a path that is absolute or
// climbs out, too many entries, too much data, a gzip bomb. Every bad input
// is an InputError naming the archive, the header's offset and the field;
// random corruption of a real archive gives that or a sound reading, never
// another exception.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { InputError } from '../../src/input/input-error.js';
import { readTar } from '../../src/snapshot/tar.js';
import { readSnapshot } from '../../src/snapshot/snapshot.js';
import { inputError } from '../support/input-error.js';

/** One ustar header block (POSIX magic), with its checksum. */
function header(name: string, size: number, type = '0', prefix = ''): Uint8Array {
  const b = new Uint8Array(512);
  const put = (off: number, s: string) => b.set(new TextEncoder().encode(s), off);
  put(0, name);
  put(100, '0000644\0');
  put(124, `${size.toString(8).padStart(11, '0')}\0`);
  put(156, type);
  put(257, 'ustar\0');
  put(263, '00');
  put(345, prefix);
  put(148, '        ');
  const sum = b.reduce((a, x) => a + x, 0);
  put(148, `${sum.toString(8).padStart(6, '0')}\0 `);
  return b;
}

/** An archive of (name, data) entries, as a writer lays them out, with the two zero blocks at the end. */
function archive(entries: [string, Uint8Array | string][], opts: { end?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, d] of entries) {
    const data = typeof d === 'string' ? new TextEncoder().encode(d) : d;
    parts.push(header(name, data.length));
    const padded = new Uint8Array(Math.ceil(data.length / 512) * 512);
    padded.set(data);
    parts.push(padded);
  }
  if (opts.end !== false) parts.push(new Uint8Array(1024));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('readTar against GNU tar', () => {
  it('reads what GNU tar wrote: files, folders, a long name, a ustar prefix', () => {
    const dir = scratchDir('tar-test-');
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(40)}`;
    mkdirSync(join(dir, 'top/sub'), { recursive: true });
    mkdirSync(join(dir, 'top', long), { recursive: true });
    writeFileSync(join(dir, 'top/a'), 'alpha\n');
    writeFileSync(join(dir, 'top/sub/b'), new Uint8Array(1500).fill(7));
    writeFileSync(join(dir, 'top', long, 'c'), 'deep');
    for (const format of ['gnu', 'posix', 'ustar']) {
      const file = join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-C', dir, '-cf', file, 'top']);
      const entries = readTar(new Uint8Array(readFileSync(file)), file);
      const files = new Map(entries.filter((e) => e.kind === 'file').map((e) => [e.path, e.data]));
      const listed = execFileSync('tar', ['-tf', file], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l && !l.endsWith('/'));
      expect([...files.keys()].sort()).toEqual(listed.sort());
      expect(new TextDecoder().decode(files.get('top/a'))).toBe('alpha\n');
      expect(files.get('top/sub/b')).toEqual(new Uint8Array(1500).fill(7));
      expect(new TextDecoder().decode(files.get(`top/${long}/c`))).toBe('deep');
      expect(entries.some((e) => e.kind === 'dir' && e.path === 'top/sub')).toBe(true);
    }
  });

  it('pax records count bytes: a name with non-ASCII letters reads as written', () => {
    const dir = scratchDir('tar-test-');
    mkdirSync(join(dir, 'top'));
    const name = `${'é'.repeat(60)}/café`.slice(0, 80);
    mkdirSync(join(dir, 'top', name.split('/')[0]));
    writeFileSync(join(dir, 'top', `${name.split('/')[0]}/café`), 'x');
    const file = join(dir, 'p.tar');
    execFileSync('tar', ['--format=posix', '-C', dir, '-cf', file, 'top']);
    const files = readTar(new Uint8Array(readFileSync(file)), file).filter((e) => e.kind === 'file');
    expect(files.map((e) => e.path)).toEqual([`top/${name.split('/')[0]}/café`]);
  });

  it('joins a POSIX ustar prefix to the name', () => {
    const a = new Uint8Array([
      ...header('config', 3, '0', 'iommu-snapshot/pci/0000:00:01.0'),
      ...new Uint8Array(512),
      ...new Uint8Array(1024),
    ]);
    a.set([1, 2, 3], 512);
    expect(readTar(a, 'x.tar').map((e) => [e.path, [...e.data]])).toEqual([
      ['iommu-snapshot/pci/0000:00:01.0/config', [1, 2, 3]],
    ]);
  });
});

describe('readTar refuses what is not a sound archive, saying where', () => {
  it('a header whose checksum does not match', () => {
    const a = archive([
      ['a', 'x'],
      ['b', 'y'],
    ]);
    a[1024] ^= 0x01; // the second header's name
    const e = inputError(() => readTar(a, 'bad.tar'));
    expect(e.file).toBe('bad.tar');
    expect(e.where).toBe('offset 0x400 (tar header field chksum)');
    expect(e.problem).toMatch(/^checksum \d+ but the header sums to \d+: not a tar archive, or corrupt$/);
  });

  it('an entry whose data runs past the end, and a header cut short', () => {
    const a = archive([['a', new Uint8Array(2000)]], { end: false });
    const e = inputError(() => readTar(a.subarray(0, 1536), 'cut.tar'));
    expect(e.where).toBe('offset 0x0 (tar header field size)');
    expect(e.problem).toBe('2000 bytes of data, but the archive ends 1024 bytes after the header');
    const half = inputError(() =>
      readTar(
        new Uint8Array([...archive([['a', 'x']], { end: false }), ...header('b', 0).subarray(0, 100)]),
        'half.tar',
      ),
    );
    expect(half.where).toBe('offset 0x400');
    expect(half.problem).toBe('truncated: 100 bytes where a 512-byte header should be');
  });

  it('paths that are absolute or climb out with ..', () => {
    expect(inputError(() => readTar(archive([['/etc/passwd', 'x']]), 'abs.tar')).problem).toBe(
      '"/etc/passwd" is an absolute path',
    );
    const up = inputError(() => readTar(archive([['iommu-snapshot/../../x', 'x']]), 'up.tar'));
    expect(up.where).toBe('offset 0x0 (tar header field name)');
    expect(up.problem).toBe('"iommu-snapshot/../../x" climbs out of the archive with ".."');
  });

  it('too many entries or too many bytes', () => {
    const many = archive(Array.from({ length: 5 }, (_, i): [string, string] => [`f${i}`, 'x']));
    expect(inputError(() => readTar(many, 'many.tar', { maxEntries: 4, maxBytes: 1e6 })).problem).toBe(
      'more than 4 entries: not a snapshot',
    );
    expect(inputError(() => readTar(many, 'big.tar', { maxEntries: 10, maxBytes: 3 })).where).toBe(
      'offset 0xc00 (tar header field size)',
    );
  });

  it('a gzip bomb, a file that is not gzip, a snapshot without FORMAT or of another version', () => {
    const dir = scratchDir('tar-test-');
    const bomb = join(dir, 'bomb.tar.gz');
    writeFileSync(bomb, gzipSync(new Uint8Array(300 * 2 ** 20)));
    expect(inputError(() => readSnapshot(bomb)).problem).toMatch(
      /^unpacks to more than \d+ bytes: not a snapshot$/,
    );
    const notGzip = join(dir, 'x.tar.gz');
    writeFileSync(notGzip, new Uint8Array([0x1f, 0x8b, 1, 2, 3]));
    expect(inputError(() => readSnapshot(notGzip)).problem).toMatch(/^not a readable gzip file/);
    const noFormat = join(dir, 'nf.tar');
    writeFileSync(noFormat, archive([['iommu-snapshot/cmdline', 'quiet']]));
    expect(inputError(() => readSnapshot(noFormat)).problem).toBe(
      'no iommu-snapshot/FORMAT: not a snapshot made by iommu-snapshot.sh',
    );
    const v2 = join(dir, 'v2.tar');
    writeFileSync(v2, archive([['iommu-snapshot/FORMAT', 'iommu-lab-snapshot 2\n']]));
    const e = inputError(() => readSnapshot(v2));
    expect(e.file).toBe(`${v2}:iommu-snapshot/FORMAT`);
    expect(e.problem).toBe('"iommu-lab-snapshot 2": this iommu-lab reads "iommu-lab-snapshot 1"');
  });

  it('random corruption of a real snapshot gives an InputError or a sound reading, nothing else', () => {
    const good = archive([
      ['iommu-snapshot/FORMAT', 'iommu-lab-snapshot 1\n'],
      ['iommu-snapshot/cmdline', 'quiet intel_iommu=on\n'],
      ['iommu-snapshot/iommu_groups/0/devices', '0000:00:01.0 dmar0\n'],
      ['iommu-snapshot/iommu_groups/0/reserved_regions', '0x00000000fee00000 0x00000000feefffff msi\n'],
    ]);
    const dir = scratchDir('tar-test-');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          maxLength: 8,
        }),
        fc.nat({ max: good.length }),
        (flips, cut) => {
          const a = good.slice(0, cut || good.length);
          for (const [at, v] of flips) if (at < a.length) a[at] = v;
          const file = join(dir, 'c.tar');
          writeFileSync(file, a);
          try {
            readSnapshot(file);
          } catch (e) {
            if (!(e instanceof InputError)) throw e;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
