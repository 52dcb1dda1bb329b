// SPDX-License-Identifier: GPL-2.0-only
/**
 * Importing a copy of /sys/bus/pci/devices: one entry per function, named
 * "SSSS:BB:DD.F", each holding the binary `config` file (256 or 4096 bytes
 * when read as root; 64 otherwise, which is refused). The directory itself
 * works as well, since the entries there are links to the function's folder.
 * Entries whose names start with a dot are skipped; any other name is an
 * error, so that pointing at the wrong folder says so.
 *
 * For example:
 *
 *   for d in /sys/bus/pci/devices/*; do
 *     mkdir -p pci/${d##*\/} && cat $d/config > pci/${d##*\/}/config
 *   done
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../input/input-error.js';
import { PCI_CFG_SPACE_EXP_SIZE } from '../config/config-regs.js';
import { formatBdf, parseBdf } from '../config/decode.js';
import {
  importPciConfigs,
  type ConfigSource,
  type PciImportOptions,
  type PciTopologyInput,
} from './from-config.js';

const ENTRY_RE = /^[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/;

const reason = (e: unknown) =>
  e instanceof Error && 'code' in e ? String((e as NodeJS.ErrnoException).code) : String(e);

/** The functions of the folder, as config sources in name order. */
export function readSysfsPciDir(dir: string): ConfigSource[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new InputError(
      dir,
      '',
      `cannot list the folder (${reason(e)}): expected a copy of /sys/bus/pci/devices`,
    );
  }
  const out: ConfigSource[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const entry = join(dir, name);
    if (ENTRY_RE.test(name) && name.indexOf(':') > 4)
      throw new InputError(
        entry,
        '',
        `PCI domain ${name.split(':')[0]} is beyond 0xffff (VMD domains are not modelled)`,
      );
    const addr = ENTRY_RE.test(name) ? parseBdf(name) : null;
    if (!addr)
      throw new InputError(
        entry,
        '',
        'not a PCI function: entries of /sys/bus/pci/devices are named SSSS:BB:DD.F (device 00-1f)',
      );
    const bdf = formatBdf(addr.segment, addr.bus, addr.devfn);
    const file = join(entry, 'config');
    let bytes: Uint8Array;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new InputError(file, '', 'not a file: expected the binary config space');
      // sysfs gives the size; refuse anything larger before reading it.
      if (st.size > PCI_CFG_SPACE_EXP_SIZE)
        throw new InputError(file, '', `${st.size} bytes: config space is 256 or 4096 bytes`);
      bytes = new Uint8Array(readFileSync(file));
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(file, '', `cannot read the function's config space (${reason(e)})`);
    }
    if (bytes.length > PCI_CFG_SPACE_EXP_SIZE)
      throw new InputError(file, '', `${bytes.length} bytes: config space is 256 or 4096 bytes`);
    out.push({
      bdf,
      bytes,
      file,
      where: (off?: number) =>
        off === undefined ? bdf : `${bdf} offset 0x${off.toString(16).padStart(2, '0')}`,
    });
  }
  if (!out.length)
    throw new InputError(dir, '', 'no SSSS:BB:DD.F entries: expected a copy of /sys/bus/pci/devices');
  return out;
}

/**
 * A copy of /sys/bus/pci/devices to PCI topology descriptions, one per
 * segment. Throws InputError naming the config file, the function and the offset.
 */
export function importSysfsPciDir(dir: string, opts: PciImportOptions = {}): PciTopologyInput[] {
  return importPciConfigs(readSysfsPciDir(dir), opts);
}
