// SPDX-License-Identifier: GPL-2.0-only
/**
 * IOMMU page tables: formats as data, one engine (io-pgtable-arm.c's
 * algorithm, and each other 6.12 family's rules in rules/), tables in
 * typed-array memory an emulator can walk.
 *
 *   const t = createPageTable('arm-64-lpae-s1-4k');
 *   t.mapPages(0x100000, 0x80000000, 4096, 1, IOMMU_READ | IOMMU_WRITE); // { mapped: 4096, errno: 0 }
 *   t.iovaToPhys(0x100123);                                              // 0x80000123
 *   t.unmapPages(0x100000, 4096, 1);                                     // 4096
 *   t.free();
 *
 * format.ts describes a format, formats/ holds the registered ones,
 * engine.ts maps and unmaps, walk.ts traces, memory.ts holds the tables.
 */
export { createPageTable, allocPageTable, alloc_io_pgtable_ops, PageTable } from './page-table.js';
export type { MapResult, PgtableCfg, ResolvedCfg } from './page-table.js';
export type { Addr, IommuFlushOps, PgtableWarning, MappedOut, DirtyRecord } from './engine.js';
export { ACCESS_LEAF, ACCESS_READ, ACCESS_WRITE, ACCESS_DIRTIES } from './engine.js';
export { TableMemory } from './memory.js';
export type { TableMemoryOptions } from './memory.js';
export { pgtableFormats, pgtableFormatNames } from './formats/index.js';
export { IO_PGTABLE_QUIRK_ARM_MTK_EXT, IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT } from './formats/arm-v7s.js';
export type { PgtableFormatName } from './formats/index.js';
export type {
  PgtableFormat,
  PgtableLayout,
  LevelLayout,
  PgtableCfgInput,
  ProtRule,
  ProtChoice,
  OaEncoding,
  DirtyDesc,
  PteField,
  EntryKind,
  DecodedEntry,
  PgtableRulesName,
  AccessDesc,
  PteMatch,
} from './format.js';
export { formatWalkTrace } from './walk.js';
export type { WalkTrace, WalkStep, StepKind, LeafInfo } from './walk.js';
export {
  IOMMU_READ,
  IOMMU_WRITE,
  IOMMU_CACHE,
  IOMMU_NOEXEC,
  IOMMU_MMIO,
  IOMMU_PRIV,
  IOMMU_DIRTY_NO_CLEAR,
} from './prot.js';
export {
  IO_PGTABLE_QUIRK_ARM_NS,
  IO_PGTABLE_QUIRK_NO_PERMS,
  IO_PGTABLE_QUIRK_ARM_TTBR1,
  IO_PGTABLE_QUIRK_ARM_OUTER_WBWA,
  IO_PGTABLE_QUIRK_ARM_HD,
} from './formats/arm-lpae.js';
