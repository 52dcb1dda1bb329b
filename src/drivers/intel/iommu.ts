// SPDX-License-Identifier: GPL-2.0-only
/**
 * Intel VT-d as the IOMMU core sees it (drivers/iommu/intel/iommu.c, 6.12):
 * a "global" driver. Every DRHD unit registers an instance named dmar<N> with
 * no fwnode; every registration walks every bus, and intel_iommu_probe_device()
 * claims only devices a unit's scopes cover (device_lookup_iommu()), returning
 * -ENODEV for anything else (a mock device, a device behind no unit) and for
 * devices of a unit not registered yet (iommu->iommu.ops still NULL).
 *
 * Each unit has its capability registers (hw.ts: QEMU's intel-iommu unless
 * the DRHD says otherwise), from which alloc_iommu() takes its agaw; paging
 * domains (domain.ts) translate through the VT-d page-table formats and are
 * invalidated as cache.c does (cache.ts); faults are reported as
 * dmar_fault() prints them (fault.ts).
 */
import { x86_iommu_setup } from '../../kernel/x86-iommu-param.js';
import { dmar_fault } from './fault.js';
import type { Device } from '../../base/device.js';
import { sharedHistoryLine } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { IommuResvRegion } from '../../iommu/resv-regions.js';
import type { DmarTable } from './dmar.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { DeviceDomainInfo, IntelIommu, IntelState } from './state.js';
import { is_downstream_to_pci_bridge } from './dmar.js';
import { ENODEV, ENOMEM, ERR_PTR, errnoName } from '../../kernel/errno.js';
import {
  IOMMU_DOMAIN_BLOCKED,
  IOMMU_DOMAIN_DMA,
  IOMMU_DOMAIN_IDENTITY,
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
import { pci_real_dma_dev } from '../../pci/dma-alias.js';
import {
  DEFAULT_DOMAIN_ADDRESS_WIDTH,
  DMAR_VER_MAJOR,
  DMAR_VER_MINOR,
  FLPT_DEFAULT_DID,
  MAX_AGAW_WIDTH,
  __iommu_calculate_agaw,
  cap_sagaw,
  ecap_pass_through,
  ecap_qis,
  ecap_sc_support,
  ecap_slads,
  ecap_slts,
  ecap_smpwc,
  ecap_smts,
  vtdRegs,
} from './hw.js';
import {
  blocking_domain_attach_dev,
  device_block_translation,
  dmar_domain_ops,
  identity_domain_attach_dev,
  intel_iommu_domain_alloc,
} from './domain.js';
import { devInfo, intelState, sm_supported } from './state.js';

export type { IntelIommu } from './state.js';

/**
 * CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON as Debian's amd64 6.12
 * config is believed to have it: not set (intel_iommu=sm_on turns scalable
 * mode on). It makes no difference on QEMU 7.2's intel-iommu, which has no
 * scalable mode unless asked (x-scalable-mode=on).
 */
const SCALABLE_MODE_DEFAULT_ON = false;

const IOAPIC_RANGE_START = 0xfee00000n;
const IOAPIC_RANGE_END = 0xfeefffffn;
const PCI_CLASS_BRIDGE_ISA = 0x0601;
const SZ_4K = 4096;

/** is_kdump_kernel(): booted by kexec to dump a crashed kernel (elfcorehdr= on the command line). */
function is_kdump_kernel(k: Kernel): boolean {
  return k.cmdline.params.has('elfcorehdr');
}

/**
 * Which DMAR entry covers the device goes in its history when it is not the
 * one the last lookup found: a device whose unit registers last is looked up
 * by each unit's registration walk before, and finds the same entry each time.
 */
function noteScope(dev: Device, line: string): void {
  if (dev.lastHistory('DMAR: ') !== line) dev.addHistory(line);
}

/** device_lookup_iommu(): the unit whose scopes cover the device; an ignored unit is a dummy (NULL). */
export function device_lookup_iommu(k: Kernel, dev: Device): IntelIommu | null {
  const st = intelState(k);
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
    for (let i = 0; i < drhd.devices.length; i++) {
      const scope = drhd.devices[i];
      if (!scope.dev) continue;
      const names = scope.dev === target;
      if (names || is_downstream_to_pci_bridge(target, scope.dev)) {
        if (unit.ignored) return null;
        noteScope(dev, sharedHistoryLine(unit, 2 * i + (names ? 0 : 1), scopeLine));
        return unit;
      }
    }
    if (pdev && drhd.include_all) {
      if (unit.ignored) return null;
      noteScope(dev, sharedHistoryLine(unit, INCLUDE_ALL, scopeLine));
      return unit;
    }
  }
  return null;
}

/** The variant of scopeLine() that says the unit covers its whole segment. */
const INCLUDE_ALL = -1;

/** Which DMAR entry of a unit covers a device: INCLUDE_ALL, or 2 × the scope's index, + 1 for a bridge above it. */
function scopeLine(unit: IntelIommu, which: number): string {
  if (which === INCLUDE_ALL)
    return `DMAR: ${unit.iommu.name} has INCLUDE_PCI_ALL for segment ${unit.drhd.segment}`;
  const scope = unit.drhd.devices[which >> 1];
  return `DMAR: ${unit.iommu.name}'s scope "${scope.text}" ${which & 1 ? 'is a bridge above it' : 'names it'}`;
}

/** device_rmrr_is_relaxable(): USB and graphics RMRRs may be dropped for VFIO. */
function device_rmrr_is_relaxable(dev: Device): boolean {
  const cls = dev.pci?.classCode;
  if (cls === undefined) return false;
  return cls >> 8 === 0x0c03 || cls >> 16 === 0x03;
}

/** intel_iommu_get_resv_regions(): RMRRs, the ISA bridge's 16 MiB, and the IOAPIC/MSI window. */
function intel_iommu_get_resv_regions(k: Kernel, dev: Device, list: IommuResvRegion[]): void {
  const st = intelState(k)!;
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

/** intel_iommu_capable() */
function intel_iommu_capable(k: Kernel, dev: Device, cap: string): boolean {
  const info = devInfo(dev);
  switch (cap) {
    case 'CACHE_COHERENCY':
    case 'DEFERRED_FLUSH':
      return true;
    case 'PRE_BOOT_PROTECTION':
      // dmar_platform_optin(): the DMAR's DMA_CTRL_PLATFORM_OPT_IN_FLAG, not in the model's table.
      return false;
    case 'ENFORCE_CACHE_COHERENCY':
      return !!info && ecap_sc_support(info.unit.regs.ecap);
    case 'DIRTY_TRACKING':
      // ssads_supported()
      return (
        !!info &&
        sm_supported(k, info.unit) &&
        ecap_slads(info.unit.regs.ecap) &&
        ecap_smpwc(info.unit.regs.ecap)
      );
    default:
      return false;
  }
}

function makeIntelOps(): IommuOps {
  const blocking = staticDomain(IOMMU_DOMAIN_BLOCKED, 'intel blocking', (k, _d, dev) =>
    blocking_domain_attach_dev(k, dev),
  );
  const identity = staticDomain(IOMMU_DOMAIN_IDENTITY, 'intel identity', (k, _d, dev) =>
    identity_domain_attach_dev(k, dev),
  );
  const ops: IommuOps = {
    name: 'intel-iommu',
    owner: null,
    pgsize_bitmap: SZ_4K,
    blocked_domain: blocking,
    release_domain: blocking,
    identity_domain: identity,
    default_domain_ops: dmar_domain_ops,
    /** intel_iommu_probe_device(): the device's unit and requester ID (its real DMA device's). */
    probe_device(k, dev) {
      const unit = device_lookup_iommu(k, dev);
      if (!unit || !unit.iommu.ops) return ERR_PTR(-ENODEV);
      if (!unit.iommu.listed) recordKnownBug(k, 'global-unit-probes-after-failed-register', dev.name, []);
      const mem = k.alloc.alloc('device_domain_info', dev, 'intel_iommu_probe_device');
      if (!mem) return ERR_PTR(-ENOMEM);
      const pdev = dev.pci ? pci_real_dma_dev(dev.pci) : null;
      const info: DeviceDomainInfo = {
        unit,
        mem,
        dev,
        bus: pdev?.busNr ?? 0,
        devfn: pdev?.devfn ?? 0,
        domain: null,
        domain_attached: false,
      };
      dev.iommu!.priv = info;
      return unit.iommu;
    },
    /**
     * intel_iommu_release_device(). Kernels whose core does not attach
     * ops->release_domain first (the profiles up to v6.8) detached the
     * device here (dmar_remove_one_dev_info()), with the same effect.
     */
    release_device(k, dev) {
      const info = devInfo(dev);
      if (info && !k.profile.releaseDomain) device_block_translation(k, dev);
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
      const info = devInfo(dev);
      return is_kdump_kernel(k) && !!info?.unit.drhd.translationPreEnabled && !info.domain;
    },
    /** device_def_domain_type(): without hardware pass-through, translated. */
    def_domain_type(_k, dev) {
      const info = devInfo(dev);
      if (info && !ecap_pass_through(info.unit.regs.ecap)) return IOMMU_DOMAIN_DMA;
      return 0;
    },
    /** intel_iommu_domain_alloc(): 6.12's VT-d allocates paging domains by type. */
    domain_alloc: intel_iommu_domain_alloc,
    capable: intel_iommu_capable,
  };
  return ops;
}

/** detect_intel_iommu(): VT-d will be used, so ACS is requested before PCI enumeration. */
export function detect_intel_iommu(k: Kernel): boolean {
  return !x86_iommu_setup(k).noIommu && !dmar_disabled(k);
}

/** The "DMAR: IOMMU enabled/disabled" decision (intel_iommu_setup(), CONFIG_INTEL_IOMMU_DEFAULT_ON). */
function dmar_disabled(k: Kernel): boolean {
  return intel_iommu_setup(k).disabled;
}

/** intel_iommu_setup(): the intel_iommu= words the model acts on. */
function intel_iommu_setup(k: Kernel): {
  disabled: boolean;
  sm: boolean;
  superpage: boolean;
  notes: string[];
} {
  const opt = k.cmdline.params.get('intel_iommu');
  let disabled = !k.kconfig.INTEL_IOMMU_DEFAULT_ON;
  let sm = SCALABLE_MODE_DEFAULT_ON;
  let superpage = true;
  const notes: string[] = [];
  for (const word of (opt ?? '').split(',')) {
    if (word === 'on') disabled = false;
    if (word === 'off') disabled = true;
    if (word === 'sp_off') {
      notes.push('Disable supported super page');
      superpage = false;
    }
    if (word === 'sm_on') {
      notes.push('Enable scalable mode if hardware supports');
      sm = true;
    }
    if (word === 'sm_off') {
      notes.push('Scalable mode is disallowed');
      sm = false;
    }
  }
  return { disabled, sm, superpage, notes };
}

/**
 * alloc_iommu()'s checks of the unit's widths: no SAGAW (and no first-stage
 * alternative) or no agaw the kernel can use leaves the unit ignored.
 */
function unitWidths(k: Kernel, name: string, regs: ReturnType<typeof vtdRegs>, sm: boolean) {
  const smOn = sm && ecap_smts(regs.ecap);
  if (!cap_sagaw(regs.cap) && (!ecap_smts(regs.ecap) || ecap_slts(regs.ecap))) {
    k.printk.log('info', 'DMAR', `${name}: No supported address widths. Not attempting DMA translation.`);
    return { agaw: -1, msagaw: -1, ignored: true };
  }
  const agaw = __iommu_calculate_agaw(regs, smOn, DEFAULT_DOMAIN_ADDRESS_WIDTH);
  if (agaw < 0) {
    k.printk.log('err', 'DMAR', `Cannot get a valid agaw for iommu (seq_id = ${name.slice(4)})`);
    return { agaw: -1, msagaw: -1, ignored: true };
  }
  const msagaw = __iommu_calculate_agaw(regs, smOn, MAX_AGAW_WIDTH);
  if (msagaw < 0) {
    k.printk.log('err', 'DMAR', `Cannot get a valid max agaw for iommu (seq_id = ${name.slice(4)})`);
    return { agaw: -1, msagaw: -1, ignored: true };
  }
  return { agaw, msagaw, ignored: false };
}

/**
 * intel_iommu_init(): unless disabled, one instance per DRHD (dmar0, dmar1…
 * in table order), each sysfs-added and registered with no fwnode; each
 * registration walks every bus. -ENODEV when VT-d is disabled.
 */
export function intel_iommu_init(k: Kernel, table: DmarTable): number {
  const setup = intel_iommu_setup(k);
  for (const n of setup.notes) k.printk.log('info', 'DMAR', n);
  // no_iommu (x86 iommu=off) stops it here as intel_iommu=off does: the table parsed, nothing set up.
  if (x86_iommu_setup(k).noIommu) {
    k.printk.log('info', 'model', 'VT-d not set up: iommu=off on the command line (no_iommu)');
    return -ENODEV;
  }
  if (setup.disabled) {
    k.printk.log('info', 'DMAR', 'IOMMU disabled');
    return -ENODEV;
  }
  k.printk.log('info', 'DMAR', 'IOMMU enabled');
  const ops = makeIntelOps();
  const st: IntelState = {
    table,
    units: [],
    ops,
    sm: setup.sm,
    superpage: setup.superpage,
    faultRs: { begin: null, printed: 0, missed: 0 },
  };
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
    const name = `dmar${seq_id}`;
    const regs = vtdRegs(drhd);
    const widths = unitWidths(k, name, regs, setup.sm);
    // init_no_remapping_devices(): no active device in scope and not INCLUDE_PCI_ALL.
    const noDevice = !drhd.include_all && !drhd.devices.some((d) => d.dev !== null);
    const unit: IntelIommu = {
      seq_id,
      drhd,
      ignored: widths.ignored || noDevice,
      iommu: new IommuDevice(name),
      regs,
      agaw: widths.agaw,
      msagaw: widths.msagaw,
      qi: ecap_qis(regs.ecap),
      // iommu_init_domains(): 0 marks "no ID", FLPT_DEFAULT_DID is pass-through's and first stage's.
      domain_ids: new Set([0, FLPT_DEFAULT_DID]),
      did_domains: new Map(),
      context: new Map(),
      inv: { psi: 0, dsi: 0, piotlb: 0, cc: 0, waits: 0, wbf: 0, last: [] },
      next_frcd: 0,
    };
    unit.iommu.faultReporter = (dev, f) => dmar_fault(k, unit, st.faultRs, dev, f);
    // dmar.c prints with pr_err() under pr_fmt "DMAR: ".
    unit.iommu.faultLogDevice = () => 'DMAR';
    unit.iommu.priv = unit;
    if (drhd.include_all) st.units.push(unit);
    else st.units.unshift(unit);
    k.printk.log(
      'info',
      'DMAR',
      `${name}: reg_base_addr ${drhd.reg_base_addr.toString(16)} ver ${DMAR_VER_MAJOR(regs.ver)}:${DMAR_VER_MINOR(regs.ver)} cap ${regs.cap.toString(16)} ecap ${regs.ecap.toString(16)}`,
    );
    seq_id++;
  }
  // The kernel never frees its units; the model's teardown does, so that leaks stand out.
  k.teardownHooks.push(() => {
    for (const u of st.units) {
      iommu_device_sysfs_remove(k, u.iommu);
      // free_context_table()
      for (const ctx of u.context.values()) k.alloc.free(ctx.mem, 'free_context_table');
      u.context.clear();
    }
    for (const m of mems) k.alloc.free(m, 'teardown');
    k.driverState.delete('intel-iommu');
  });
  // init_dmars(): each unit in use picks its invalidation interface.
  for (const unit of st.units) {
    if (unit.ignored) continue;
    k.printk.log(
      'info',
      'DMAR',
      `${unit.iommu.name}: Using ${unit.qi ? 'Queued' : 'Register based'} invalidation`,
    );
  }
  // The kernel ignores both results here: a unit that fails simply probes nothing.
  for (const unit of st.units) {
    if (unit.ignored) {
      if (unit.agaw >= 0) k.printk.log('info', 'DMAR', `${unit.iommu.name}: no device in its scope: ignored`);
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
