// SPDX-License-Identifier: GPL-2.0-only
/**
 * One modelled kernel: its profile (version), configuration, allocator, log
 * and the global state of the driver core and the IOMMU core. Every modelled
 * function takes it as its first argument, so several kernels (two profiles
 * being diffed, say) run side by side in one process without sharing state.
 */
import { Clock } from './timer.js';
import type { Device } from '../base/device.js';
import type { BusType } from '../base/bus.js';
import type { Fwnode } from '../base/fwnode.js';
import type { KernelProfile } from '../profile/profile.js';
import type { IommuDevice } from '../iommu/iommu-device.js';
import type { IommuGroup } from '../iommu/group.js';
import type { DefaultDomainDecision } from '../iommu/default-domain.js';
import type { Kconfig, Arch } from './kconfig.js';
import type { AcpiIommuConfigurer } from '../firmware/acpi/acpi-iommu.js';
import type { KnownBugEvent } from '../checker/known-bugs.js';
import { Allocator } from './alloc.js';
import { Printk } from './printk.js';
import { Mutex } from './mutex.js';
import { Ida } from './ida.js';
import { parseCmdline, type Cmdline } from './cmdline.js';
import { defaultKconfig } from './kconfig.js';
import { run_deferred_probe } from '../base/dd.js';

export interface KernelOptions {
  readonly profile: KernelProfile;
  readonly arch?: Arch;
  readonly kconfig?: Partial<Kconfig>;
  readonly cmdline?: string;
  /** Fail the Nth allocation (1-based), as /proc/self/fail-nth. */
  readonly failNth?: number;
}

/** The IOMMU core's globals (drivers/iommu/iommu.c). */
export interface IommuCoreState {
  /** iommu_device_list, in registration order. */
  readonly device_list: IommuDevice[];
  /** Which path is probing right now, recorded on each device it probes ("device_add", "registration of dmar0", "replay at driver bind"). */
  probeContext: string;
  /** Registrations so far (orders the instance list for invariant I7). */
  registrations: number;
  /** iommu_buses[]: the buses the core's notifier watches (set by iommu_subsys_init()). */
  buses: BusType[];
  readonly probe_device_lock: Mutex;
  readonly group_ida: Ida;
  /** Live groups by id, for reports. */
  readonly groups: Map<number, IommuGroup>;
  /** How each group's default domain type was decided. */
  readonly decisions: WeakMap<IommuGroup, DefaultDomainDecision>;
}

/** The IOMMU core's run-time configuration: iommu_def_domain_type and friends. */
export interface IommuConfig {
  def_domain_type: number;
  iommu_dma_strict: boolean;
  /** IOMMU_CMD_LINE_DMA_API / IOMMU_CMD_LINE_STRICT */
  cmd_line_dma_api: boolean;
  cmd_line_strict: boolean;
  iommu_dma_forcedac: boolean;
  /** Plain words: where def_domain_type came from. */
  defaultTypeReason: string;
  readonly CONFIG_IOMMU_DMA: boolean;
  readonly CONFIG_ARM_DMA_USE_IOMMU: boolean;
}

/** The driver core's globals (drivers/base). */
export interface DriverCoreState {
  readonly buses: Map<string, BusType>;
  /** Every registered device, in device_add() order. */
  readonly devices: Set<Device>;
  /** deferred_probe_pending_list */
  readonly deferred: Set<Device>;
  deferredTriggered: boolean;
  /** The deferred-probe timeout has expired (fw_devlink / deferred_probe_timeout=). */
  deferredProbeTimedOut: boolean;
  /** OF nodes by phandle (drivers/of: of_find_node_by_phandle()). */
  readonly ofPhandles: Map<number, Fwnode>;
}

export class Kernel {
  readonly profile: KernelProfile;
  readonly arch: Arch;
  readonly kconfig: Kconfig;
  readonly cmdline: Cmdline;
  readonly printk = new Printk();
  readonly alloc: Allocator;
  readonly base: DriverCoreState;
  readonly iommu: IommuCoreState;
  readonly config: IommuConfig;
  /** The ACPI tables that can build a fwspec (IORT, VIOT), in the order acpi_iommu_configure_id() tries them. */
  readonly acpiIommuConfigurers: AcpiIommuConfigurer[] = [];
  /** Kernel bugs a profile reproduced during this run (checker/known-bugs.ts). */
  readonly knownBugEvents: KnownBugEvent[] = [];
  /** Driver-model cleanups teardown runs last (a global driver's own structures). */
  readonly teardownHooks: (() => void)[] = [];
  /** Per-driver state (the driver's static variables), by driver name. */
  readonly driverState = new Map<string, unknown>();
  /** Virtual time and timers (the flush queue's timeout). */
  readonly clock = new Clock();

  constructor(opts: KernelOptions) {
    this.profile = opts.profile;
    this.arch = opts.arch ?? 'x86_64';
    this.kconfig = { ...defaultKconfig(this.arch), ...opts.kconfig };
    this.cmdline = parseCmdline(opts.cmdline ?? '');
    this.alloc = new Allocator(opts.failNth, (a, site) =>
      this.printk.warn(true, site, `double free of ${a.type} (allocated by ${a.site} for ${a.owner})`),
    );
    this.base = {
      buses: new Map(),
      devices: new Set(),
      deferred: new Set(),
      deferredTriggered: false,
      deferredProbeTimedOut: false,
      ofPhandles: new Map(),
    };
    this.iommu = {
      device_list: [],
      registrations: 0,
      probeContext: 'boot',
      buses: [],
      probe_device_lock: new Mutex('iommu_probe_device_lock'),
      group_ida: new Ida(),
      groups: new Map(),
      decisions: new WeakMap(),
    };
    this.config = {
      def_domain_type: 0,
      iommu_dma_strict: this.kconfig.IOMMU_DEFAULT_DMA_STRICT,
      cmd_line_dma_api: false,
      cmd_line_strict: false,
      iommu_dma_forcedac: false,
      defaultTypeReason: '',
      CONFIG_IOMMU_DMA: this.kconfig.IOMMU_DMA,
      CONFIG_ARM_DMA_USE_IOMMU: this.kconfig.ARM_DMA_USE_IOMMU,
    };
  }

  /** The deferred-probe workqueue, run to completion at the end of a top-level operation. */
  runDeferredProbe(): void {
    run_deferred_probe(this);
  }
}
