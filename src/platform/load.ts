// SPDX-License-Identifier: GPL-2.0-only
/**
 * Finding and validating platform descriptions: the built-in ones shipped in
 * the package's platforms/ folder, or a JSON file a user gives.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, basename, dirname, resolve } from 'node:path';
import { classifyInput, dtDevices, importPci, parseAcpiInto, type PlatformFirmware } from './firmware.js';
import { PlatformDeviceSchema, PlatformSchema, type PlatformDesc } from './schema.js';
import { parseFdt } from '../firmware/fdt/fdt-parse.js';
import { InputError, fromZod, parseJsonText } from '../input/input-error.js';

/** The package root (two levels above this file in src/ and in dist/). */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
const platformsDir = join(packageRoot, 'platforms');

/** The platform everything defaults to: real Linux's answer for it is in shared/groundtruth. */
export const DEFAULT_PLATFORM = 'x86-q35-vtd-switch';

export function builtinPlatformNames(): string[] {
  if (!existsSync(platformsDir)) return [];
  return readdirSync(platformsDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}

/** Validate a platform description already parsed from JSON. */
export function parsePlatform(data: unknown, file: string): PlatformDesc {
  // A scenario given where a platform goes: say so, not which of its fields a platform lacks.
  if (data !== null && typeof data === 'object' && 'steps' in data && 'platform' in data)
    throw new InputError(
      file,
      '',
      'this is a scenario (it has platform and steps), not a platform: run it with `iommu-lab scenario FILE`, or compare it with `iommu-lab diff`',
    );
  const r = PlatformSchema.safeParse(data);
  if (!r.success) throw fromZod(file, r.error);
  return r.data;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, '', code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(e)}`);
  }
}

/**
 * Read what a platform file points at (`lspci`, `acpi`), relative to the file:
 * the PCI dump becomes its `pci` description, the tables are parsed.
 */
function loadReferenced(
  desc: PlatformDesc,
  file: string,
): { desc: PlatformDesc; firmware: PlatformFirmware } {
  const dir = dirname(file);
  const firmware: {
    dmar?: PlatformFirmware['dmar'];
    ivrs?: PlatformFirmware['ivrs'];
    viot?: PlatformFirmware['viot'];
    fdt?: PlatformFirmware['fdt'];
  } = {};
  let out = desc;
  if (desc.dtb !== undefined) {
    if (desc.of.length > 0) throw new InputError(file, 'dtb', 'give either "of" or "dtb", not both');
    const path = resolve(dir, desc.dtb);
    const c = classifyInput(path);
    if (c.kind !== 'dtb') throw new InputError(file, 'dtb', `${desc.dtb} is not a device-tree blob`);
    firmware.fdt = parseFdt(c.bytes!, path);
    const dt = dtDevices(
      firmware.fdt,
      desc.pci !== undefined || desc.lspci !== undefined,
      desc.lspci ?? 'pci',
    );
    out = {
      ...out,
      devices: [...PlatformDeviceSchema.array().parse(dt.devices), ...out.devices],
      pciHostBridgeOf: out.pciHostBridgeOf ?? dt.pciHostBridgeOf,
    };
  }
  if (desc.lspci !== undefined) {
    if (desc.pci !== undefined) throw new InputError(file, 'lspci', 'give either "pci" or "lspci", not both');
    const path = resolve(dir, desc.lspci);
    const c = classifyInput(path);
    if (c.kind !== 'lspci' && c.kind !== 'sysfs')
      throw new InputError(file, 'lspci', `${desc.lspci} is not an lspci -xxxx dump or a sysfs PCI folder`);
    const pci = importPci(path, c.kind, c.bytes);
    out = { ...out, pci: pci.length === 1 ? pci[0] : pci };
  }
  for (const [sig, rel] of Object.entries(desc.acpi ?? {})) {
    if (rel === undefined) continue;
    if (sig === 'DMAR' && desc.dmar)
      throw new InputError(file, 'acpi.DMAR', 'give either "dmar" or "acpi.DMAR", not both');
    if (sig === 'IVRS' && desc.ivrs)
      throw new InputError(file, 'acpi.IVRS', 'give either "ivrs" or "acpi.IVRS", not both');
    const path = resolve(dir, rel);
    const c = classifyInput(path);
    if (c.kind !== 'acpi' || c.signature !== sig)
      throw new InputError(file, `acpi.${sig}`, `${rel} is not an ACPI ${sig} table`);
    parseAcpiInto(firmware, sig, c.bytes!, path);
  }
  checkFirmwareArch(desc, file);
  return { desc: out, firmware };
}

/**
 * A platform file's IOMMU tables against its "arch", as platformFromParts()
 * checks loose files against --arch: DMAR and IVRS are x86's, IORT is
 * arm64's, and no machine has both kinds.
 */
function checkFirmwareArch(desc: PlatformDesc, file: string): void {
  const x86 = desc.acpi?.DMAR
    ? 'acpi.DMAR'
    : desc.acpi?.IVRS
      ? 'acpi.IVRS'
      : desc.dmar
        ? 'dmar'
        : desc.ivrs
          ? 'ivrs'
          : null;
  const table = x86?.replace('acpi.', '').toUpperCase();
  const iort = desc.acpi?.IORT ? 'acpi.IORT' : null;
  if (x86 && iort)
    throw new InputError(file, iort, `an IORT (Arm) with ${table} in "${x86}" (x86): no machine has both`);
  if (x86 && desc.arch !== 'x86_64')
    throw new InputError(file, x86, `${table} is an x86 table, but "arch" is ${desc.arch}`);
  if (iort && desc.arch !== 'arm64')
    throw new InputError(file, iort, `IORT is an arm64 table, but "arch" is ${desc.arch}`);
}

/** A built-in platform by name, or a JSON file by path. */
export function loadPlatform(nameOrPath: string): {
  desc: PlatformDesc;
  file: string;
  firmware: PlatformFirmware;
} {
  const builtin = join(platformsDir, `${nameOrPath}.json`);
  const isBuiltin = !nameOrPath.includes('/') && !nameOrPath.endsWith('.json') && existsSync(builtin);
  if (!isBuiltin && !nameOrPath.includes('/') && !nameOrPath.endsWith('.json')) {
    throw new InputError(
      nameOrPath,
      '',
      `no built-in platform of that name (built-in: ${builtinPlatformNames().join(', ')}); give a path to a JSON file instead`,
    );
  }
  const file = isBuiltin ? builtin : nameOrPath;
  const raw = parseJsonText(file, readText(file));
  // A device tree means Arm unless the file says otherwise.
  const withArch =
    raw && typeof raw === 'object' && !Array.isArray(raw) && 'dtb' in raw && !('arch' in raw)
      ? { ...raw, arch: 'arm64' }
      : raw;
  const parsed = parsePlatform(withArch, file);
  return { ...loadReferenced(parsed, file), file };
}

export { readText };
