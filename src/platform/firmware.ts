// SPDX-License-Identifier: GPL-2.0-only
/**
 * Firmware and PCI dumps as users have them, turned into what boot needs:
 * binary ACPI tables (recognised by their signature) parsed, an `lspci -D
 * -xxxx` dump or a /sys/bus/pci/devices copy imported as PCI topology. Used
 * for a platform file's `lspci`/`acpi` fields and for `iommu-lab boot
 * DMAR.dat lspci.txt`, where each input is recognised by its content.
 */
import { readFileSync, statSync, existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { ParsedDmar } from '../firmware/acpi/dmar-parse.js';
import type { ParsedIvrs } from '../firmware/acpi/ivrs-parse.js';
import type { PlatformDesc } from './schema.js';
import type { Arch, Kconfig } from '../kernel/kconfig.js';
import type { BindPolicy } from './stock-drivers.js';
import type { TopologyEdits } from './what-if.js';
import { parseDmar } from '../firmware/acpi/dmar-parse.js';
import { parseIvrs } from '../firmware/acpi/ivrs-parse.js';
import { parseViot, type ParsedViot } from '../firmware/acpi/viot-parse.js';
import { parseIort, type ParsedIort } from '../firmware/acpi/iort-parse.js';
import { looksLikeDtb, parseFdt } from '../firmware/fdt/fdt-parse.js';
import type { Fdt } from '../firmware/fdt/fdt.js';
import { ofPlatformPopulate } from '../firmware/fdt/of-platform.js';
import { importLspci, importSysfsPciDir } from '../pci/import/index.js';
import { InputError } from '../input/input-error.js';
import { parsePlatform } from './load.js';

/** Parsed binary firmware a boot uses instead of the JSON descriptions. */
export interface PlatformFirmware {
  readonly dmar?: ParsedDmar;
  readonly ivrs?: ParsedIvrs;
  readonly viot?: ParsedViot;
  readonly iort?: ParsedIort;
  /** A flattened device tree: its nodes replace the JSON `of` nodes. */
  readonly fdt?: Fdt;
}

export type MutableFirmware = { -readonly [K in keyof PlatformFirmware]: PlatformFirmware[K] };

export type InputKind = 'acpi' | 'dtb' | 'lspci' | 'sysfs' | 'platform';

function readBytes(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, '', code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(e)}`);
  }
}

/** The ACPI tables iommu-lab parses. */
const ACPI_TABLE_FIELDS = { DMAR: 'dmar', IVRS: 'ivrs', VIOT: 'viot', IORT: 'iort' } as const;

const isAcpiTableRead = (sig: string): sig is keyof typeof ACPI_TABLE_FIELDS =>
  Object.hasOwn(ACPI_TABLE_FIELDS, sig);

/** The ACPI signature if the bytes start with a plausible ACPI table header. */
export function acpiSignature(bytes: Uint8Array): string | null {
  if (bytes.length < 4) return null;
  const sig = String.fromCharCode(...bytes.subarray(0, 4));
  // A table iommu-lab reads is taken for one however broken, so that its parser names what is
  // wrong (a truncated file, a Length field past its end) rather than "not a known kind of file".
  if (isAcpiTableRead(sig)) return sig;
  if (bytes.length < 36) return null;
  if (!/^[A-Z][A-Z0-9_]{3}$/.test(sig)) return null;
  // The header's length must fit the file (a dump may carry trailing bytes, never fewer).
  const len = (bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24)) >>> 0;
  return len >= 36 && len <= bytes.length ? sig : null;
}

/** What an input is, by its content (a folder is a sysfs PCI copy). */
export function classifyInput(path: string): { kind: InputKind; bytes?: Uint8Array; signature?: string } {
  if (!existsSync(path)) throw new InputError(path, '', 'no such file or folder');
  if (statSync(path).isDirectory()) return { kind: 'sysfs' };
  const bytes = readBytes(path);
  const signature = acpiSignature(bytes);
  if (signature) return { kind: 'acpi', bytes, signature };
  if (looksLikeDtb(bytes)) return { kind: 'dtb', bytes };
  const head = new TextDecoder().decode(bytes.subarray(0, 512)).trimStart();
  if (head.startsWith('{')) return { kind: 'platform', bytes };
  if (/^(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7] /.test(head))
    return { kind: 'lspci', bytes };
  throw new InputError(
    path,
    '',
    'not an ACPI table, a device-tree blob, an lspci -xxxx dump, a sysfs PCI folder or a platform JSON file',
  );
}

/** The table of that signature already read, if any. */
function acpiTableOf(fw: MutableFirmware, signature: string): { readonly file: string } | undefined {
  return isAcpiTableRead(signature) ? fw[ACPI_TABLE_FIELDS[signature]] : undefined;
}

/** Parse one binary ACPI table the model uses. */
export function parseAcpiInto(fw: MutableFirmware, signature: string, bytes: Uint8Array, file: string): void {
  if (signature === 'DMAR') fw.dmar = parseDmar(bytes, file);
  else if (signature === 'IVRS') fw.ivrs = parseIvrs(bytes, file);
  else if (signature === 'VIOT') fw.viot = parseViot(bytes, file);
  else if (signature === 'IORT') fw.iort = parseIort(bytes, file);
  else
    throw new InputError(
      file,
      'offset 0x0',
      `ACPI table ${signature} is not one iommu-lab reads yet (DMAR, IVRS, VIOT, IORT)`,
    );
}

/** Import a PCI dump (lspci text or sysfs folder) as the platform's PCI topology. */
export function importPci(path: string, kind: 'lspci' | 'sysfs', bytes?: Uint8Array): unknown[] {
  if (kind === 'sysfs') return importSysfsPciDir(path);
  const text = new TextDecoder().decode(bytes ?? readBytes(path));
  return importLspci(text, path);
}

export interface InputsOptions {
  readonly arch?: Arch;
  readonly hypervisor?: boolean;
  /** Override when pci_request_acs() happens (the platform's acsRequest). */
  readonly acsRequest?: 'firmware' | 'before-enumeration' | 'after-enumeration';
  /** Which devices get stock drivers (default for firmware inputs: all a stock kernel drives). */
  readonly bind?: BindPolicy;
  /** Kconfig options over the architecture's defaults (IOMMU drivers built or not, say). */
  readonly kconfig?: Partial<Kconfig>;
  /** Topology what-ifs: ACS on ports, functions removed or added (what-if.ts). */
  readonly edits?: TopologyEdits;
}

/**
 * A platform from loose inputs: ACPI tables and a PCI dump (or one platform
 * JSON file). The architecture follows from the tables (DMAR, IVRS: x86_64;
 * IORT, or a device tree without them: arm64) unless given.
 */
export function platformFromInputs(
  paths: readonly string[],
  opts: InputsOptions = {},
): { desc: PlatformDesc; file: string; firmware: PlatformFirmware } {
  const fw: MutableFirmware = {};
  let pci: unknown[] | undefined;
  let pciFile = '';
  for (const p of paths) {
    const c = classifyInput(p);
    if (c.kind === 'platform') {
      throw new InputError(p, '', 'a platform JSON file stands alone: give it as the only input');
    }
    if (c.kind === 'acpi') {
      const first = acpiTableOf(fw, c.signature!);
      if (first) throw new InputError(p, '', `a second ${c.signature} table (the first was ${first.file})`);
      parseAcpiInto(fw, c.signature!, c.bytes!, p);
    } else if (c.kind === 'dtb') {
      if (fw.fdt) throw new InputError(p, '', `a second device tree (the first was ${fw.fdt.file})`);
      fw.fdt = parseFdt(c.bytes!, p);
    } else {
      if (pci) throw new InputError(p, '', `a second PCI dump (the first was ${pciFile})`);
      pci = importPci(p, c.kind, c.bytes);
      pciFile = p;
    }
  }
  const name = paths.map((p) => basename(p)).join(' + ');
  return platformFromParts(fw, pci, pciFile, name, `Booted from ${paths.join(', ')}`, opts);
}

/**
 * A platform from parsed firmware and an imported PCI dump (loose files, or
 * a snapshot's). The architecture follows from the tables unless given.
 */
export function platformFromParts(
  fw: PlatformFirmware,
  pci: unknown[] | undefined,
  pciFile: string,
  name: string,
  description: string,
  opts: InputsOptions & { readonly defaultArch?: Arch } = {},
): { desc: PlatformDesc; file: string; firmware: PlatformFirmware } {
  // DMAR and IVRS only exist on x86, IORT only on Arm; VIOT exists on both, so alone it says
  // nothing (then the machine's own, or x86_64).
  // An x86 table says x86_64, an IORT arm64; a device tree says Arm unless the machine itself
  // (a snapshot's uname) says otherwise (x86 has device trees too, rarely).
  const x86Table = fw.dmar ?? fw.ivrs;
  const armTable = fw.iort;
  const arch: Arch =
    opts.arch ??
    (x86Table ? 'x86_64' : armTable ? 'arm64' : (opts.defaultArch ?? (fw.fdt ? 'arm64' : 'x86_64')));
  // An architecture given (--arch) against the tables: a VT-d or AMD-Vi table on Arm, an IORT off arm64.
  if (x86Table && armTable)
    throw new InputError(
      armTable.file,
      '',
      `an IORT (Arm) with ${x86Table.header.signature} from ${x86Table.file} (x86): no machine has both`,
    );
  if (x86Table && arch !== 'x86_64')
    throw new InputError(
      x86Table.file,
      '',
      `${x86Table.header.signature} is an x86 table, but the architecture is ${arch} (--arch)`,
    );
  if (armTable && arch !== 'arm64')
    throw new InputError(
      armTable.file,
      '',
      `IORT is an arm64 table, but the architecture is ${arch} (--arch)`,
    );
  const desc = parsePlatform(
    {
      name,
      description,
      arch,
      hypervisor: opts.hypervisor ?? false,
      bind: opts.bind ?? 'all',
      ...(pci ? { pci: pci.length === 1 ? pci[0] : pci } : {}),
      ...(fw.fdt ? dtDevices(fw.fdt, !!pci, pciFile) : {}),
    },
    name,
  );
  return { desc, file: name, firmware: fw };
}

/** The devices of_platform_default_populate() makes, and the PCI host bridge node. */
export function dtDevices(
  fdt: Fdt,
  withPci: boolean,
  pciFile: string,
): { devices: unknown[]; pciHostBridgeOf?: string } {
  const pop = ofPlatformPopulate(fdt);
  // PCI is enumerated by a host bridge driver bound to a device-tree node: without one, a PCI dump
  // has nowhere to go (the bootloader may enable the controllers the blob leaves disabled).
  if (withPci && !pop.pciHost)
    throw new InputError(
      fdt.file,
      'device_type',
      `no available PCI host bridge node (device_type = "pci") to put ${pciFile} under; are the controllers' status "disabled"?`,
    );
  const devices = pop.devices.map((d) => ({ name: d.name, bus: d.bus, of: d.of }));
  return { devices, ...(pop.pciHost ? { pciHostBridgeOf: pop.pciHost.path } : {}) };
}
