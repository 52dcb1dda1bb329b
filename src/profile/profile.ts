// SPDX-License-Identifier: GPL-2.0-only
/**
 * Kernel profiles: how one kernel version's IOMMU core behaves, as data.
 *
 * Each field names one behaviour that changed between versions and is read
 * where that behaviour lives (the field's comment names the files;
 * docs/ARCHITECTURE.md lists every reader). Nothing in the model tests a
 * version number.
 */

export const profileNames = ['v6.4', 'v6.7', 'v6.8', 'v6.12', 'v6.15', 'v6.18'] as const;
export type ProfileName = (typeof profileNames)[number];

export interface KernelProfile {
  readonly name: ProfileName;
  /** One line: what characterises this version for the probe path. */
  readonly summary: string;

  /**
   * How __iommu_probe_device() picks the iommu_ops (iommu/probe.ts, probeOps()):
   *  - 'bus': dev->bus->iommu_ops, set by registration (up to v6.7);
   *  - 'fwspec-ops-or-first-global': fwspec->ops, else the first instance
   *    registered without a fwnode (v6.8 to v6.10, after "iommu: Retire bus ops");
   *  - 'fwnode': the instance registered with the fwspec's fwnode, NULL fwnode
   *    meaning the first global instance (v6.11 on, fwspec->ops removed).
   */
  readonly opsLookup: 'bus' | 'fwspec-ops-or-first-global' | 'fwnode';

  /**
   * iommu_release_device() (iommu/release.ts):
   *  - 'early-return-without-group': v6.4's `if (!dev->iommu || !group) return;`,
   *    which leaks dev_iommu and fwspec of a device that never joined a group;
   *  - 'free-remaining': v6.6 on ("iommu: Always destroy the iommu_group during
   *    iommu_release_device()"): leave the group if any, then free what is left.
   *    (v6.5 still returned early; no v6.5 profile is modelled.)
   */
  readonly release: 'early-return-without-group' | 'free-remaining';

  /**
   * iommu_device_register() refuses a second, different iommu_ops on a bus that
   * already has ops (v6.1 to v6.7: "Temporarily enforce global restriction to a
   * single driver") with -EBUSY (iommu/iommu-device.ts).
   */
  readonly registerRejectsSecondDriver: boolean;

  /**
   * Where firmware (DT/ACPI) is turned into a fwspec (base/dma-configure.ts,
   * iommu/probe.ts):
   *  - 'bind-replay': bus dma_configure at driver bind, which then replays
   *    iommu_probe_device() (up to v6.14);
   *  - 'probe-path': iommu_init_device() runs bus->dma_configure() itself, so
   *    the fwspec is built at device_add or at IOMMU registration (v6.15 on).
   */
  readonly firmwareConfigure: 'bind-replay' | 'probe-path';

  /**
   * iommu_fwspec_init() (iommu/fwspec.ts):
   *  - 'with-ops': (dev, fwnode, ops); of_iommu_xlate() creates a fwspec even
   *    when the instance is not registered yet (ops NULL) and defers (to v6.10);
   *  - 'resolve-or-defer': (dev, fwnode); no registered instance means
   *    -EPROBE_DEFER before anything is allocated (v6.11 on).
   */
  readonly fwspecInit: 'with-ops' | 'resolve-or-defer';

  /**
   * iommu_device->ready (da33e87bd2bf): set only once registration's bus walks
   * succeeded; iommu_fwspec_init() defers a device without dev->iommu until
   * then (iommu/iommu-device.ts, iommu/fwspec.ts). v6.15 sets it in
   * iommu_device_register() only; v6.18 in iommu_device_register_bus() too.
   */
  readonly ready: 'none' | 'register' | 'register-and-register-bus';

  /**
   * arm_smmu_insert_master() on a stream ID another device already owns:
   * 'einval' ("stream N already in tree", -EINVAL) up to v6.15, where the
   * probe path made it abort bus_iommu_probe() and so the SMMU's whole
   * registration; 'enodev' ("Aliasing StreamID ... unsupported, expect DMA
   * to be broken", -ENODEV, 2d00c34d665b / b00d24997a11, v6.16) after.
   */
  readonly smmuV3AliasedStream: 'einval' | 'enodev';

  /**
   * How arm_smmu_probe_device() finds its SMMU from the fwspec (drivers/
   * arm-smmu/arm-smmu.ts):
   *  - 'bound-device': the arm-smmu device with that fwnode must have finished
   *    binding, else -EPROBE_DEFER "smmu dev has not bound yet" (6.12, the
   *    CVE-2024-56568 fix, also in 6.6.y/6.1.y);
   *  - 'registered-instance': the SMMU whose registration walk is running is
   *    found too. [Version inferred: under the v6.15 probe path the walk
   *    configures clients, and the deferral would abort every arm-smmu
   *    registration through probe_iommu_group(); later kernels run arm-smmu
   *    with clients probed from that walk.]
   */
  readonly armSmmuLookup: 'bound-device' | 'registered-instance';

  /**
   * When ipmmu_probe() sets its drvdata (drivers/ipmmu-vmsa/ipmmu-vmsa.ts),
   * which ipmmu_of_xlate() hands masters as their IPMMU:
   *  - 'after-register': 6.12's order; under the v6.15 probe path a master
   *    configured from the registration walk gets a NULL IPMMU, probe_device()
   *    refuses it and it is probed late at bind (Geert Uytterhoeven's R-Car
   *    Gen3 report on bcb81ac6ae3c);
   *  - 'before-register': d9d3cede4167 "iommu/ipmmu-vmsa: Register in a
   *    sensible order" (v6.15-rc2), which also removes the sysfs device when
   *    iommu_device_register() fails (6.12 leaks it).
   */
  readonly ipmmuDrvdata: 'after-register' | 'before-register';

  /**
   * v6.15's iommu_init_device() calls dma_configure() whenever no driver is
   * bound; 0c8e9c148e29 (v6.16, 6.15.y) skips it when a fwspec exists and
   * returns -ENODEV without freeing when another walk finished the device.
   */
  readonly probePathRecheck: boolean;

  /**
   * How a group's driver opinions combine (iommu/default-domain.ts):
   *  - 'global-default': v6.4, a conflict falls back to the global default
   *    ("Device needs domain type …, using default");
   *  - 'identity-wins': v6.5 on, a conflict is a driver error and identity wins.
   */
  readonly defDomainConflict: 'global-default' | 'identity-wins';

  /** v6.8-rc3 on (83b3836bf83f): a driver's static ops->default_domain counts as its opinion. */
  readonly staticDefaultDomainIsOpinion: boolean;

  /**
   * iommu_device_use_default_domain() returns -EPROBE_DEFER while the group
   * has no default domain yet (iommu/ownership.ts).
   */
  readonly useDefaultDomainDefers: boolean;

  /**
   * v6.4: a NULL group domain is legal and means "the platform's DMA ops"
   * (ops->set_platform_dma_ops()), used by drivers without default domains
   * such as the v6.4 selftest mock; from v6.7 (IOMMU_DOMAIN_PLATFORM replaced
   * set_platform_dma_ops) a NULL new domain is a WARN.
   */
  readonly nullDomainIsPlatformDma: boolean;

  /**
   * The shape of the probe tail (iommu/probe.ts, iommu/bus-probe.ts):
   *  - 'v6.4': before the v6.5/v6.6 consolidation: the sysfs link is made
   *    after the group and its failure ignored; a failed default-domain
   *    allocation is ignored (hot-plug) or the group skipped (bus walk); the
   *    first attach is to the default domain and only if nobody owns the group;
   *  - 'consolidated': iommu_init_device()/iommu_setup_default_domain() as in
   *    v6.6 on: every failure unwinds the probe.
   */
  readonly probeShape: 'v6.4' | 'consolidated';

  /** ops->release_domain is attached before release_device() (iommu/probe.ts). */
  readonly releaseDomain: boolean;

  /**
   * The last command of /dev/iommu's ioctl table (iommufd/main.ts): each
   * version appended commands, so the table is 0x80 to this. 0x88 (v6.2:
   * the IOAS commands, OPTION, VFIO_IOAS), 0x8c (v6.7: HWPT_ALLOC,
   * GET_HW_INFO, dirty tracking), 0x8d (v6.8: HWPT_INVALIDATE), 0x8e (v6.11:
   * FAULT_QUEUE_ALLOC), 0x93 (v6.15: IOAS_MAP_FILE, VIOMMU_ALLOC,
   * VDEVICE_ALLOC, IOAS_CHANGE_PROCESS from v6.13, VEVENTQ_ALLOC), 0x94
   * (v6.17: HW_QUEUE_ALLOC). A number past it is -ENOTTY.
   */
  readonly iommufdLastCmd: number;

  /** The iommufd selftest mock driver (drivers/iommufd-selftest). */
  readonly mock: {
    /** The mock is a real IOMMU driver on its own bus (v6.6 on). */
    readonly isDriver: boolean;
    /**
     * How the mock instance is found for a mock device:
     *  - 'bus-ops': iommu_device_register_bus() sets the mock bus's iommu_ops;
     *  - 'null-fwnode': registered with no fwnode, found only if it is the first global instance;
     *  - 'swnode-fwspec': registered with a software node, and mock devices get a
     *    fwspec for it before device_add() (iommu_mock_device_add()).
     */
    readonly registration: 'bus-ops' | 'null-fwnode' | 'swnode-fwspec';
    /** mock_probe_device() returns -ENODEV for devices not on the mock bus. */
    readonly probeChecksBus: boolean;
    /**
     * How mock devices are named: 'group-id' (v6.4: after their hand-made group),
     * 'atomic-counter' (v6.6/v6.7: mock_dev_num, from 1, decremented on release),
     * 'ida' (v6.8 on: the lowest free id from 0).
     */
    readonly naming: 'group-id' | 'atomic-counter' | 'ida';
    /** The dev_flags mock_dev_create() accepts (MOCK_FLAGS_DEVICE_*); others are -EINVAL. */
    readonly devFlagsMask: number;
    /** The mock takes page faults: an IOPF queue, page_response, dev_enable_feat (v6.11 on). */
    readonly iopf: boolean;
  };
}
