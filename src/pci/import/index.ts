// SPDX-License-Identifier: GPL-2.0-only
/**
 * PCI topology import from what a running machine shows: lspci -xxx/-xxxx
 * text and copies of /sys/bus/pci/devices, both through the config-space
 * decoder (../config/decode.ts) to the PCI topology JSON.
 */
export {
  importPciConfigs,
  type ConfigSource,
  type PciImportOptions,
  type PciTopologyInput,
} from './from-config.js';
export { importLspci, parseLspci, lspciWhere, safeLabel, type LspciFunction } from './lspci.js';
export { importSysfsPciDir, readSysfsPciDir } from './sysfs.js';
export {
  decodeConfig,
  parseBdf,
  formatBdf,
  type DecodedPciConfig,
  type DecodeConfigOptions,
  type PciCapabilityRef,
} from '../config/decode.js';
