// SPDX-License-Identifier: GPL-2.0-only
/**
 * Intel VT-d as the IOMMU core sees it (drivers/iommu/intel/iommu.c): a
 * "global" driver. Every DRHD unit registers an instance named dmar<N> with
 * no fwnode; every registration walks every bus, and intel_iommu_probe_device()
 * claims only devices a unit's scopes cover (device_lookup_iommu()), returning
 * -ENODEV for anything else (a mock device, a device behind no unit) and for
 * devices of a unit not registered yet (iommu->iommu.ops still NULL).
 */
import { dmarFaultLines } from './fault.js';
import type { Device } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { IommuResvRegion } from '../../iommu/resv-regions.js';
import type { DmarDrhdUnit, DmarTable } from './dmar.js';
import type { Allocation } from '../../kernel/alloc.js';
import { is_downstream_to_pci_bridge } from './dmar.js';
import { ENODEV, ENOMEM, ERR_PTR, errnoName } from '../../kernel/errno.js';
import {
  IOMMU_DOMAIN_BLOCKED,
  IOMMU_DOMAIN_DMA,
  IOMMU_DOMAIN_IDENTITY,
  IOMMU_DOMAIN_UNMANAGED,
  IommuDomain,
  staticDomain,
} from '../../iommu/domain.js';
import {
  IommuDevice,
  iommu_device_register,
  iommu_device_sysfs_add,
  iommu_device_sysfs_remove,
} from '../../iommu/iommu-device.js';
import { generic_device_group } from '../../iommu/group.js';
import { recordKnownBug } from '../../checker/known-bugs.js';
import {
  IOMMU_READ,
  IOMMU_RESV_DIRECT,
  IOMMU_RESV_DIRECT_RELAXABLE,
  IOMMU_RESV_MSI,
  IOMMU_WRITE,
  iommu_alloc_resv_region,
} from '../../iommu/resv-regions.js';
import { pci_device_group } from '../../pci/pci-device-group.js';

const IOAPIC_RANGE_START = 0xfee00000n;
const IOAPIC_RANGE_END = 0xfeefffffn;
const PCI_CLASS_BRIDGE_ISA = 0x0601;
const SZ_4K = 4096;

/** struct intel_iommu: one DRHD unit's instance. */
export interface IntelIommu {
  readonly seq_id: number;
  /** init_no_remapping_devices(): no active scope device and not INCLUDE_PCI_ALL: never registered. */
  readonly ignored: boolean;
  readonly drhd: DmarDrhdUnit;
  readonly iommu: IommuDevice;
}

interface IntelState {
  readonly table: DmarTable;
  /**
   * dmar_drhd_units in list order: dmar_register_drhd_unit() puts explicit
   * units at the head (so in reverse table order) and INCLUDE_PCI_ALL units at
   * the tail. Lookups and registration walk this order; names (seq_id) follow
   * the table.
   */
  readonly units: IntelIommu[];
  readonly ops: IommuOps;
}

function state(k: Kernel): IntelState | undefined {
  return k.driverState.get('intel-iommu') as IntelState | undefined;
}

/** is_kdump_kernel(): booted by kexec to dump a crashed kernel (elfcorehdr= on the command line). */
function is_kdump_kernel(k: Kernel): boolean {
  return k.cmdline.params.has('elfcorehdr');
}

/** device_lookup_iommu(): the unit whose scopes cover the device; an ignored unit is a dummy (NULL). */
export function device_lookup_iommu(k: Kernel, dev: Device): IntelIommu | null {
  const st = state(k);
  if (!st) return null;
  let target = dev;
  let segment = 0;
  const pdev = dev.pci;
  if (pdev) {
    // VFs are not in scope tables: look the PF up instead.
    target = pdev.physfn?.dev ?? dev;
    segment = pdev.segment;
  }
  for (const unit of st.units) {
    const drhd = unit.drhd;
    if (pdev && segment !== drhd.segment) continue;
    for (const scope of drhd.devices) {
      if (!scope.dev) continue;
      if (scope.dev === target || is_downstream_to_pci_bridge(target, scope.dev)) {
        if (unit.ignored) return null;
        const how = scope.dev === target ? 'names it' : 'is a bridge above it';
        dev.history.push(`DMAR: ${unit.iommu.name}'s scope "${scope.text}" ${how}`);
        return unit;
      }
    }
    if (pdev && drhd.include_all) {
      if (unit.ignored) return null;
      dev.history.push(`DMAR: ${unit.iommu.name} has INCLUDE_PCI_ALL for segment ${drhd.segment}`);
      return unit;
    }
  }
  return null;
}

/** device_rmrr_is_relaxable(): USB and graphics RMRRs may be dropped for VFIO. */
function device_rmrr_is_relaxable(dev: Device): boolean {
  const cls = dev.pci?.classCode;
  if (cls === undefined) return false;
  return cls >> 8 === 0x0c03 || cls >> 16 === 0x03;
}

/** intel_iommu_get_resv_regions(): RMRRs, the ISA bridge's 16 MiB, and the IOAPIC/MSI window. */
function intel_iommu_get_resv_regions(k: Kernel, dev: Device, list: IommuResvRegion[]): void {
  const st = state(k)!;
  const prot = IOMMU_READ | IOMMU_WRITE;
  st.table.rmrrs.forEach((rmrr, n) => {
    for (const scope of rmrr.devices) {
      if (!scope.dev || (scope.dev !== dev && !is_downstream_to_pci_bridge(dev, scope.dev))) continue;
      const type = device_rmrr_is_relaxable(dev) ? IOMMU_RESV_DIRECT_RELAXABLE : IOMMU_RESV_DIRECT;
      const length = rmrr.end_address - rmrr.base_address + 1n;
      list.push(
        iommu_alloc_resv_region(rmrr.base_address, length, prot, type, `RMRR ${n} (scope ${scope.text})`),
      );
    }
  });
  // CONFIG_INTEL_IOMMU_FLOPPY_WA (Debian: y)
  if (dev.pci && dev.pci.classCode >> 8 === PCI_CLASS_BRIDGE_ISA) {
    list.push(
      iommu_alloc_resv_region(
        0n,
        1n << 24n,
        prot,
        IOMMU_RESV_DIRECT_RELAXABLE,
        'ISA bridge floppy workaround',
      ),
    );
  }
  list.push(
    iommu_alloc_resv_region(
      IOAPIC_RANGE_START,
      IOAPIC_RANGE_END - IOAPIC_RANGE_START + 1n,
      0,
      IOMMU_RESV_MSI,
      'IOAPIC/MSI window',
    ),
  );
}

function intel_iommu_domain_free(k: Kernel, domain: IommuDomain): void {
  k.alloc.free(domain.mem, 'intel_iommu_domain_free');
  domain.mem = null;
}

function makeIntelOps(): IommuOps {
  const blocking = staticDomain(IOMMU_DOMAIN_BLOCKED, 'intel blocking');
  const identity = staticDomain(IOMMU_DOMAIN_IDENTITY, 'intel identity');
  const ops: IommuOps = {
    name: 'intel-iommu',
    owner: null,
    pgsize_bitmap: SZ_4K,
    blocked_domain: blocking,
    release_domain: blocking,
    identity_domain: identity,
    default_domain_ops: {
      /** intel_iommu_attach_device(): the device now has a domain (info->domain). */
      attach_dev: (_k, _d, dev) => {
        const info = dev.iommu?.priv as { hasDomain?: boolean } | null;
        if (info) info.hasDomain = true;
        return 0;
      },
      free: intel_iommu_domain_free,
    },
    /** intel_iommu_probe_device() */
    probe_device(k, dev) {
      const unit = device_lookup_iommu(k, dev);
      if (!unit || !unit.iommu.ops) return ERR_PTR(-ENODEV);
      if (!unit.iommu.listed) recordKnownBug(k, 'global-unit-probes-after-failed-register', dev.name, []);
      const mem = k.alloc.alloc('device_domain_info', dev.name, 'intel_iommu_probe_device');
      if (!mem) return ERR_PTR(-ENOMEM);
      dev.iommu!.priv = { unit, mem };
      return unit.iommu;
    },
    /** intel_iommu_release_device() */
    release_device(k, dev) {
      const info = dev.iommu?.priv as { mem: Allocation } | null;
      if (info) k.alloc.free(info.mem, 'intel_iommu_release_device');
      if (dev.iommu) dev.iommu.priv = null;
    },
    /** intel_iommu_device_group() */
    device_group(k, dev) {
      return dev.pci ? pci_device_group(k, dev) : generic_device_group(k, dev);
    },
    get_resv_regions: intel_iommu_get_resv_regions,
    /**
     * intel_iommu_is_attach_deferred(): translation the firmware (or the
     * crashed kernel) left on, with no domain attached yet. init_dmars()
     * turns pre-enabled translation off unless this is a kdump kernel.
     */
    is_attach_deferred(k, dev) {
      const info = dev.iommu?.priv as { unit: IntelIommu; hasDomain?: boolean } | null;
      return is_kdump_kernel(k) && !!info?.unit.drhd.translationPreEnabled && !info.hasDomain;
    },
    /** device_def_domain_type() */
    def_domain_type(_k, dev) {
      const info = dev.iommu?.priv as { unit: IntelIommu } | null;
      if (info && !info.unit.drhd.passThrough) return IOMMU_DOMAIN_DMA;
      return 0;
    },
    /** intel_iommu_domain_alloc() for paging types */
    domain_alloc(k, type) {
      if (type !== IOMMU_DOMAIN_DMA && type !== IOMMU_DOMAIN_UNMANAGED) return null;
      const mem = k.alloc.alloc('dmar_domain', 'intel-iommu', 'intel_iommu_domain_alloc');
      if (!mem) return null;
      const d = new IommuDomain(type, null, 'intel paging');
      d.mem = mem;
      return d;
    },
    capable: () => true,
  };
  return ops;
}

/** detect_intel_iommu(): VT-d will be used, so ACS is requested before PCI enumeration. */
export function detect_intel_iommu(k: Kernel): boolean {
  return !dmar_disabled(k);
}

/** The "DMAR: IOMMU enabled/disabled" decision (intel_iommu_setup(), CONFIG_INTEL_IOMMU_DEFAULT_ON). */
function dmar_disabled(k: Kernel): boolean {
  const opt = k.cmdline.params.get('intel_iommu');
  let disabled = !k.kconfig.INTEL_IOMMU_DEFAULT_ON;
  for (const word of (opt ?? '').split(',')) {
    if (word === 'on') disabled = false;
    if (word === 'off') disabled = true;
  }
  return disabled;
}

/**
 * intel_iommu_init(): unless disabled, one instance per DRHD (dmar0, dmar1…
 * in table order), each sysfs-added and registered with no fwnode; each
 * registration walks every bus. -ENODEV when VT-d is disabled.
 */
export function intel_iommu_init(k: Kernel, table: DmarTable): number {
  if (dmar_disabled(k)) {
    k.printk.log('info', 'DMAR', 'IOMMU disabled');
    return -ENODEV;
  }
  k.printk.log('info', 'DMAR', 'IOMMU enabled');
  const ops = makeIntelOps();
  const st: IntelState = { table, units: [], ops };
  k.driverState.set('intel-iommu', st);
  const mems: Allocation[] = [];
  let seq_id = 0;
  for (const drhd of table.drhds) {
    // alloc_iommu(): a unit that cannot be allocated is dropped ("DMAR: Failed to parse").
    const mem = k.alloc.alloc('intel_iommu', `DRHD ${drhd.reg_base_addr.toString(16)}`, 'alloc_iommu');
    if (!mem) {
      k.printk.log('err', 'DMAR', `DRHD at ${drhd.reg_base_addr.toString(16)}: cannot allocate the unit`);
      continue;
    }
    mems.push(mem);
    const ignored = !drhd.include_all && !drhd.devices.some((d) => d.dev !== null);
    const unit: IntelIommu = { seq_id, drhd, ignored, iommu: new IommuDevice(`dmar${seq_id}`) };
    unit.iommu.faultReporter = dmarFaultLines;
    unit.iommu.priv = unit;
    if (drhd.include_all) st.units.push(unit);
    else st.units.unshift(unit);
    k.printk.log('info', 'DMAR', `dmar${seq_id}: reg_base_addr ${drhd.reg_base_addr.toString(16)}`);
    seq_id++;
  }
  // The kernel never frees its units; the model's teardown does, so that leaks stand out.
  k.teardownHooks.push(() => {
    for (const u of st.units) iommu_device_sysfs_remove(k, u.iommu);
    for (const m of mems) k.alloc.free(m, 'teardown');
    k.driverState.delete('intel-iommu');
  });
  // The kernel ignores both results here: a unit that fails simply probes nothing.
  for (const unit of st.units) {
    if (unit.ignored) {
      k.printk.log('info', 'DMAR', `${unit.iommu.name}: no device in its scope: ignored`);
      continue;
    }
    if (iommu_device_sysfs_add(k, unit.iommu))
      k.printk.log('err', 'DMAR', `${unit.iommu.name}: sysfs_add failed`);
    const ret = iommu_device_register(k, unit.iommu, ops, null);
    if (ret)
      k.printk.log('err', 'DMAR', `${unit.iommu.name}: iommu_device_register() returned ${errnoName(ret)}`);
  }
  return 0;
}
