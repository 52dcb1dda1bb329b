// SPDX-License-Identifier: GPL-2.0-only
/**
 * A snapshot of a real machine, as snapshot/iommu-snapshot.sh collects it
 * (`iommu-lab snapshot` prints the script): a .tar.gz (or .tar) holding one
 * folder, iommu-snapshot/, or that folder unpacked:
 *
 *   FORMAT                      "iommu-lab-snapshot 1"
 *   release, arch, cmdline      the kernel release, `uname -m`, /proc/cmdline
 *   hypervisor                  1 under a hypervisor, else 0
 *   acpi/{DMAR,IVRS,IORT,VIOT}  the ACPI tables the machine has
 *   fdt                         /sys/firmware/fdt
 *   pci/SSSS:BB:DD.F/config     each PCI function's config space, and the
 *   pci/…/{driver,iommu,iommu_group}  names those sysfs links point at
 *   iommu_groups/N/{type,reserved_regions}  as sysfs shows them
 *   iommu_groups/N/devices      "DEVICE IOMMU" per member (IOMMU: the name
 *                               its iommu link points at, or nothing)
 *
 * Read in memory (src/snapshot/tar.ts), with size limits; the ACPI tables,
 * device tree and config spaces go to the same parsers as loose files do,
 * each named "ARCHIVE:iommu-snapshot/PATH" in errors.
 */
import {
  closeSync,
  existsSync,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { InputError } from '../input/input-error.js';
import { DEFAULT_TAR_LIMITS, readTar } from './tar.js';

export const SNAPSHOT_FORMAT = 'iommu-lab-snapshot 1';
const TOP = 'iommu-snapshot';
const PCI_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;

export interface SnapshotPciFunction {
  readonly bdf: string;
  readonly config: Uint8Array;
  /** Where the config space came from, for errors. */
  readonly file: string;
  /** The bound driver's name, or null. */
  readonly driver: string | null;
  /** The name the function's iommu link points at (dmar0, ivhd0, smmu3.0x…), or null. */
  readonly iommu: string | null;
  /** The function's IOMMU group, or null. */
  readonly group: number | null;
}

export interface SnapshotRegion {
  readonly start: string;
  readonly end: string;
  readonly type: string;
}

export interface SnapshotGroup {
  readonly id: number;
  /** The group's type file (DMA, DMA-FQ, identity, …), or null where it could not be read. */
  readonly type: string | null;
  readonly devices: readonly { readonly name: string; readonly iommu: string | null }[];
  readonly reservedRegions: readonly SnapshotRegion[];
}

export interface MachineSnapshot {
  /** The archive or folder it was read from. */
  readonly source: string;
  readonly release: string | null;
  readonly arch: string | null;
  readonly cmdline: string;
  readonly hypervisor: boolean;
  readonly acpi: readonly { readonly signature: string; readonly bytes: Uint8Array; readonly file: string }[];
  readonly fdt: { readonly bytes: Uint8Array; readonly file: string } | null;
  readonly pci: readonly SnapshotPciFunction[];
  readonly groups: readonly SnapshotGroup[];
}

/** The largest a snapshot may unpack to (its tar data, and so its gzip output). */
const MAX_BYTES = DEFAULT_TAR_LIMITS.maxBytes;

/**
 * Whether a path is a snapshot: a tar archive (gzipped or not: its first
 * header's "ustar" magic), or a folder holding FORMAT. A gzipped device tree
 * is not one.
 */
export function isSnapshotPath(path: string): boolean {
  if (!existsSync(path)) return false;
  if (statSync(path).isDirectory())
    return existsSync(join(path, 'FORMAT')) || existsSync(join(path, TOP, 'FORMAT'));
  // The first 4 KiB only: every input goes through here, dumps and blobs included.
  let head = new Uint8Array(4096);
  const fd = openSync(path, 'r');
  try {
    head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    try {
      // The start of the stream is enough: a sync flush gives what the first bytes hold.
      head = new Uint8Array(gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).subarray(0, 512));
    } catch {
      return false;
    }
  }
  return head.length >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar';
}

/** The files of an archive or folder, by path relative to iommu-snapshot/. */
function filesOf(path: string): Map<string, { bytes: Uint8Array; file: string }> {
  const out = new Map<string, { bytes: Uint8Array; file: string }>();
  if (statSync(path).isDirectory()) {
    const base = existsSync(join(path, 'FORMAT')) ? path : join(path, TOP);
    let total = 0;
    const walk = (dir: string, rel: string) => {
      for (const name of readdirSync(dir).sort()) {
        const full = join(dir, name);
        // Symbolic links are not followed: a folder from an untrusted machine may loop or point anywhere.
        const st = lstatSync(full);
        const r = rel ? `${rel}/${name}` : name;
        if (st.isDirectory()) walk(full, r);
        else if (st.isFile()) {
          total += st.size;
          if (total > MAX_BYTES)
            throw new InputError(full, '', `more than ${MAX_BYTES} bytes in the folder: not a snapshot`);
          out.set(r, { bytes: new Uint8Array(readFileSync(full)), file: full });
        }
      }
    };
    walk(base, '');
    return out;
  }
  return filesOfArchive(new Uint8Array(readFileSync(path)), path);
}

/** The files of an archive's bytes (gzipped or not), by path relative to iommu-snapshot/. */
function filesOfArchive(archive: Uint8Array, path: string): Map<string, { bytes: Uint8Array; file: string }> {
  const out = new Map<string, { bytes: Uint8Array; file: string }>();
  let bytes = archive;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes, { maxOutputLength: MAX_BYTES + 2 ** 20 }));
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      throw new InputError(
        path,
        '',
        (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
          ? `unpacks to more than ${MAX_BYTES} bytes: not a snapshot`
          : `not a readable gzip file (${m})`,
      );
    }
  }
  for (const e of readTar(bytes, path)) {
    if (e.kind !== 'file') continue;
    if (!e.path.startsWith(`${TOP}/`)) continue;
    out.set(e.path.slice(TOP.length + 1), { bytes: e.data, file: `${path}:${e.path}` });
  }
  return out;
}

const dec = new TextDecoder();

/** Reads a snapshot archive or folder. Throws InputError naming the file and what is wrong. */
export function readSnapshot(path: string): MachineSnapshot {
  if (!existsSync(path)) throw new InputError(path, '', 'no such file or folder');
  return snapshotOf(filesOf(path), path);
}

/**
 * Reads a snapshot archive from its bytes (a .tar or .tar.gz); `source`
 * names it in errors. Throws InputError naming the entry and what is wrong.
 */
export function readSnapshotArchive(archive: Uint8Array, source: string): MachineSnapshot {
  return snapshotOf(filesOfArchive(archive, source), source);
}

/** The snapshot its files describe. */
function snapshotOf(files: Map<string, { bytes: Uint8Array; file: string }>, path: string): MachineSnapshot {
  const fmt = files.get('FORMAT');
  if (!fmt) throw new InputError(path, '', `no ${TOP}/FORMAT: not a snapshot made by iommu-snapshot.sh`);
  const format = dec.decode(fmt.bytes).trim();
  if (format !== SNAPSHOT_FORMAT)
    throw new InputError(fmt.file, '', `"${format}": this iommu-lab reads "${SNAPSHOT_FORMAT}"`);
  const textOf = (p: string): string | null => {
    const f = files.get(p);
    return f ? dec.decode(f.bytes).trim() : null;
  };

  const acpi = ['DMAR', 'IVRS', 'IORT', 'VIOT'].flatMap((signature) => {
    const f = files.get(`acpi/${signature}`);
    return f && f.bytes.length ? [{ signature, bytes: f.bytes, file: f.file }] : [];
  });
  const fdtFile = files.get('fdt');

  const pci: SnapshotPciFunction[] = [];
  for (const [p, f] of files) {
    const m = /^pci\/([^/]+)\/config$/.exec(p);
    if (!m) continue;
    const bdf = m[1].toLowerCase();
    if (!PCI_RE.test(bdf))
      throw new InputError(f.file, '', `"${m[1]}" is not a PCI function name (SSSS:BB:DD.F)`);
    const group = textOf(`pci/${m[1]}/iommu_group`);
    if (group !== null && !/^\d+$/.test(group))
      throw new InputError(
        files.get(`pci/${m[1]}/iommu_group`)!.file,
        '',
        `"${group}" is not a group number`,
      );
    pci.push({
      bdf,
      config: f.bytes,
      file: f.file,
      driver: textOf(`pci/${m[1]}/driver`) || null,
      iommu: textOf(`pci/${m[1]}/iommu`) || null,
      group: group === null ? null : Number(group),
    });
  }
  pci.sort((a, b) => (a.bdf < b.bdf ? -1 : 1));

  const groups: SnapshotGroup[] = [];
  for (const [p, f] of files) {
    const m = /^iommu_groups\/([^/]+)\/devices$/.exec(p);
    if (!m) continue;
    if (!/^\d+$/.test(m[1])) throw new InputError(f.file, '', `"${m[1]}" is not a group number`);
    const devices = dec
      .decode(f.bytes)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const [name, iommu] = l.split(/\s+/);
        return { name, iommu: iommu || null };
      });
    const resvFile = files.get(`iommu_groups/${m[1]}/reserved_regions`);
    const reservedRegions = resvFile
      ? dec
          .decode(resvFile.bytes)
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .map((l, i) => {
            const r = /^(0x[0-9a-f]+) (0x[0-9a-f]+) (\S+)$/i.exec(l);
            if (!r) throw new InputError(resvFile.file, `line ${i + 1}`, `"${l}" is not "START END TYPE"`);
            return { start: r[1].toLowerCase(), end: r[2].toLowerCase(), type: r[3] };
          })
      : [];
    groups.push({ id: Number(m[1]), type: textOf(`iommu_groups/${m[1]}/type`), devices, reservedRegions });
  }
  groups.sort((a, b) => a.id - b.id);

  return {
    source: path,
    release: textOf('release'),
    arch: textOf('arch'),
    cmdline: textOf('cmdline') ?? '',
    hypervisor: textOf('hypervisor') === '1',
    acpi,
    fdt: fdtFile && fdtFile.bytes.length ? { bytes: fdtFile.bytes, file: fdtFile.file } : null,
    pci,
    groups,
  };
}
