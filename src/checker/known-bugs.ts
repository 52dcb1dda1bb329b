// SPDX-License-Identifier: GPL-2.0-only
/**
 * Kernel bugs the model reproduces on purpose. Where a profile's code path
 * leaks or loses an object exactly as that kernel does, the path records an
 * event naming the bug and the objects concerned; the leak report then says
 * "known kernel bug" for those objects instead of blaming the model.
 */
import type { Kernel } from '../kernel/kernel.js';

export const knownBugs = {
  'release-without-group-leak': {
    title: 'iommu_release_device() returns early for a device without a group',
    detail:
      'v6.4 and v6.5: "if (!dev->iommu || !group) return;" leaves dev_iommu, the fwspec and its fwnode reference behind ' +
      '(introduced by "iommu: Same critical region for device release and removal"; fixed in v6.6 by ' +
      '"iommu: Always destroy the iommu_group during iommu_release_device()").',
  },
  'mock-device-add-leak': {
    title: 'iommu_mock_device_add() frees only the fwspec when device_add() fails',
    detail:
      'v6.18: the error path calls iommu_fwspec_free(), leaving dev->iommu allocated (reported with a fix using ' +
      'dev_iommu_free() in 2026).',
  },
  'mock-device-add-fwspec-leak': {
    title: 'iommu_mock_device_add() returns without freeing dev->iommu when iommu_fwspec_init() fails',
    detail:
      'v6.18: iommu_fwspec_init() can fail with -ENOMEM after dev_iommu_get() succeeded (the fwspec allocation); ' +
      'iommu_mock_device_add() returns the error as is and mock_dev_create() puts the device, so dev->iommu leaks. ' +
      "Found by this model's fail-nth sweep; the same function as the 2026 device_add() report.",
  },
  'global-unit-probes-after-failed-register': {
    title: 'a global driver unit whose registration failed still claims devices',
    detail:
      'Intel VT-d and AMD-Vi ignore iommu_device_register() failures and refuse a device only while its unit has no ops; ' +
      "a failed registration leaves iommu->ops set, so a later unit's bus walk probes the failed unit's devices into an " +
      "instance that is not on iommu_device_list (invariant I6). Found by this model's fail-nth sweep.",
  },
  'group-without-default-domain': {
    title: 'v6.4 leaves a group without a default domain when allocating one fails',
    detail:
      'v6.4 ignores iommu_alloc_default_domain() failures on hot-plug and skips such groups in bus_iommu_probe(): ' +
      'the devices stay in a group with no domain (invariant I3). v6.5 made the failure unwind the probe.',
  },
  'init-device-frees-seeded-fwspec': {
    title: "iommu_init_device()'s unwind frees a fwspec that bus code set up",
    detail:
      'Any failure after dev_iommu_get() ends in dev_iommu_free(), which also frees a fwspec created before device_add() ' +
      "(Jason Gunthorpe's objection in the seed thread): the device stays on its bus without it.",
  },
  'ipmmu-register-failure-sysfs-leak': {
    title: 'ipmmu_probe() keeps its sysfs device when iommu_device_register() fails',
    detail:
      'v6.12 ipmmu-vmsa.c returns the error without iommu_device_sysfs_remove(): /sys/class/iommu/<name> stays ' +
      "while devres frees the ipmmu_vmsa_device its drvdata points into. Found by this model's fail-nth sweep.",
  },
  'apple-dart-master-cfg-leak': {
    title: "apple_dart_of_xlate()'s per-master stream map is lost when of_iommu_configure() fails",
    detail:
      'v6.12 apple-dart.c: of_xlate() allocates the master cfg and hangs it off dev->iommu (dev_iommu_priv_set()); ' +
      'when a later `iommus` entry fails (a third DART, mismatched page size or bypass support, an unavailable or ' +
      'not yet registered DART), of_iommu_configure() calls dev_iommu_free(), which frees dev->iommu but not ' +
      'its priv, and release_device() never runs. Found by reading the 6.12 source for this model.',
  },
  'bus-probe-strands-groups': {
    title: 'bus_iommu_probe() returns on a probe error before the groups it collected get a default domain',
    detail:
      'v6.5 on: when probe_iommu_group() fails for one device, the walk returns at once; the groups already on ' +
      'its local group_list keep their members but no default domain (and stay linked to the dead list head). ' +
      "The failed registration's iommu_device_unregister() releases only the devices of that instance, so a " +
      'member another instance probed stays stranded: an Apple DART master whose first DART is already ' +
      "registered, probed during its second DART's walk. Found by this model's fail-nth sweep.",
  },
  'tegra-smmu-domain-pd-leak': {
    title: "tegra_smmu_domain_free() never frees the domain's page directory",
    detail:
      'v6.12 tegra-smmu.c: domain_alloc_paging() allocates a page for the page directory (as->pd), but ' +
      'tegra_smmu_domain_free() frees only the use counts, the page-table array and the domain ' +
      '("TODO: free page directory and page tables"), so every freed paging domain loses its page directory.',
  },
  'mtk-iommu-pgtable-never-freed': {
    title: "mtk_iommu's shared ARM v7s page table is never freed",
    detail:
      'v6.12 mtk_iommu.c: the first domain finalised on an M4U list allocates the io-pgtable (alloc_io_pgtable_ops()) ' +
      'that every later domain of the list shares through data->share_dom; no path calls free_io_pgtable_ops(): ' +
      'mtk_iommu_domain_free() only kfree()s the domain (leaving share_dom dangling when it was the first) and ' +
      'mtk_iommu_remove() does not look at it, so the tables outlive the driver.',
  },
  'exynos-owner-leak': {
    title: 'exynos_iommu_of_xlate() allocates a per-master owner that nothing frees',
    detail:
      'v6.12 exynos-iommu.c: the struct exynos_iommu_owner kzalloc()ed by the first of_xlate() of a master lives ' +
      'only in dev->iommu->priv; exynos_iommu_release_device() never kfree()s it, and dev_iommu_free() (device ' +
      'removal, a failed of_iommu_configure() or probe) drops the pointer.',
  },
} as const;

export type KnownBugId = keyof typeof knownBugs;

export interface KnownBugEvent {
  readonly bug: KnownBugId;
  readonly device: string;
  /** Allocation ids of the objects the bug leaks or loses. */
  readonly allocations: readonly number[];
}

/** The invariant each bug breaks on purpose, if any (checker/invariants.ts tags those violations). */
export const knownBugInvariant: Partial<Record<KnownBugId, string>> = {
  'global-unit-probes-after-failed-register': 'I6',
  'group-without-default-domain': 'I3',
  'bus-probe-strands-groups': 'I3',
};

export function recordKnownBug(
  k: Kernel,
  bug: KnownBugId,
  device: string,
  allocations: readonly number[],
): void {
  k.knownBugEvents.push({ bug, device, allocations });
}
