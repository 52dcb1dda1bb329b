// SPDX-License-Identifier: GPL-2.0-only
/**
 * iommu-lab's public API: boot platforms and run scenarios under a kernel
 * profile, read the results as data, diff two runs, sweep fail-nth. The
 * modelled kernel itself (src/kernel, src/base, src/iommu, …) is importable
 * from its modules for deeper work; this file is the stable surface.
 */
export { boot, bootByName, bootInputs, bootSnapshot, bootSnapshotArchive, scenario } from './api.js';
export { platformFromInputs, classifyInput } from './platform/firmware.js';
export type { PlatformFirmware, InputsOptions } from './platform/firmware.js';
export { importLspci, importSysfsPciDir } from './pci/import/index.js';
export { parseDmar } from './firmware/acpi/dmar-parse.js';
export { parseIvrs } from './firmware/acpi/ivrs-parse.js';
export type { BootResult, BootRunOptions, ScenarioRunOptions, SnapshotBoot } from './api.js';
export { readSnapshot, readSnapshotArchive } from './snapshot/snapshot.js';
export type { MachineSnapshot } from './snapshot/snapshot.js';

export { loadPlatform, parsePlatform, builtinPlatformNames, DEFAULT_PLATFORM } from './platform/load.js';
export type { PlatformDesc, PlatformInput } from './platform/schema.js';
export { loadScenario, parseScenario, builtinScenarioNames } from './scenario/load.js';
export type { Scenario, ScenarioInput, Step } from './scenario/schema.js';
export type { ScenarioResult, StepResult, ExpectationReport } from './scenario/run.js';

export { profiles, getProfile, DEFAULT_PROFILE } from './profile/profiles.js';
export { profileNames } from './profile/profile.js';
export type { KernelProfile, ProfileName } from './profile/profile.js';

export { diffRuns } from './report/diff.js';
export type { DiffEntry } from './report/diff.js';
export type { Snapshot, GroupJson, DeviceJson } from './report/snapshot.js';

export { sweepScenario } from './checker/sweep.js';
export type { SweepResult, SweepFinding } from './checker/sweep.js';
export { knownBugs } from './checker/known-bugs.js';
export type { Leak } from './checker/teardown.js';
export type { InvariantViolation } from './checker/invariants.js';

export { InputError } from './input/input-error.js';
export { errnoName, parseErrno } from './kernel/errno.js';

export {
  createPageTable,
  allocPageTable,
  alloc_io_pgtable_ops,
  PageTable,
  TableMemory,
  pgtableFormats,
  pgtableFormatNames,
  formatWalkTrace,
  IOMMU_READ,
  IOMMU_WRITE,
  IOMMU_CACHE,
  IOMMU_NOEXEC,
  IOMMU_MMIO,
  IOMMU_PRIV,
  IOMMU_DIRTY_NO_CLEAR,
  IO_PGTABLE_QUIRK_ARM_NS,
  IO_PGTABLE_QUIRK_ARM_OUTER_WBWA,
  IO_PGTABLE_QUIRK_ARM_HD,
} from './pgtable/index.js';
export type {
  Addr,
  MapResult,
  MappedOut,
  PgtableCfg,
  ResolvedCfg,
  PgtableFormat,
  PgtableFormatName,
  PgtableLayout,
  IommuFlushOps,
  PgtableWarning,
  WalkTrace,
  WalkStep,
  LeafInfo,
} from './pgtable/index.js';

export { bootMachine } from './machine.js';
export type { Machine } from './machine.js';
export type { DmaResult } from './dma/device-dma.js';
export type { IommuFault, FaultReason } from './iommu/translate.js';
export type { DmaDataDirection } from './dma/dma-iommu.js';

// iommufd: /dev/iommu for a modelled user process.
export { Kernel } from './kernel/kernel.js';
export { UserProcess, PROT_READ, PROT_WRITE } from './mm/user-mm.js';
export type { MmapOptions } from './mm/user-mm.js';
export { openIommufd, iommufdIoctl, NotModelledError } from './iommufd/main.js';
export type { IommufdFile, IommufdCtx } from './iommufd/main.js';
export { Iommufd } from './iommufd/api.js';
export { iommufd_test_init, iommufd_test_exit } from './drivers/iommufd-selftest/mock.js';
export { vfio_pci_set_override } from './vfio/pci.js';
export {
  vfioDeviceOpen,
  vfioDeviceBindIommufd,
  vfioDeviceAttachPt,
  vfioDeviceDetachPt,
} from './vfio/device-cdev.js';
export type { IoctlResult, MapArgs, CopyArgs } from './iommufd/api.js';
export {
  structs as iommufdStructs,
  IOCTL_OPS as iommufdIoctlOps,
  ioctlNumber as iommufdIoctlNumber,
  pack as iommufdPack,
  decode as iommufdDecode,
} from './iommufd/uapi.js';
