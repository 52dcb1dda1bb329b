// SPDX-License-Identifier: GPL-2.0-only
/**
 * AMD-Vi as the IOMMU core sees it (drivers/iommu/amd/iommu.c, init.c,
 * 6.12): a global driver. Each IVHD unit registers an instance named
 * ivhd<N> with no fwnode; amd_iommu_probe_device() accepts only PCI
 * functions whose device ID the unit's IVHD entries cover (check_device(),
 * rlookup_amd_iommu()) and returns -ENODEV for others and for units not
 * registered yet.
 *
 * At init each unit's registers (hw.ts) decide the globals: a unit that
 * caches non-present entries (NpCache: QEMU's, under a hypervisor) makes
 * the driver strict ("Using strict mode due to virtualization") and flush
 * every map; amd_iommu=pgtbl_v2 stands only if GIOSup and GT are there.
 * Domains are protection domains (domain.ts), faults IO_PAGE_FAULT events
 * (event.ts), invalidations commands in each unit's buffer (cmd.ts).
 * The IVRS model here comes from a platform description; the binary IVRS
 * parser fills the same structure.
 */
import { x86_iommu_setup } from '../../kernel/x86-iommu-param.js';
import type { Device } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuCap, IommuOps } from '../../iommu/ops.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { AmdIommu, AmdState, DevData } from './state.js';
import { EINVAL, ENODEV, ENOMEM, ERR_PTR, errnoName } from '../../kernel/errno.js';
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
  IOMMU_RESV_MSI,
  IOMMU_RESV_RESERVED,
  IOMMU_WRITE,
  iommu_alloc_resv_region,
} from '../../iommu/resv-regions.js';
import { pci_device_group } from '../../pci/pci-device-group.js';
import { iommu_default_passthrough, iommu_set_dma_strict } from '../../iommu/subsys.js';
import { PCI_DEVID } from '../../pci/pci-dev.js';
import { Ida } from '../../kernel/ida.js';
import { amdState, devData } from './state.js';
import {
  aliasOf,
  amd_domain_ops,
  amd_iommu_domain_alloc,
  blocked_domain_attach_device,
  clone_aliases,
  detach_device,
} from './domain.js';
import { pci_add_dma_alias } from '../../pci/dma-alias.js';
import { amd_iommu_report_page_fault } from './event.js';
import { AmdCmdBuf, iommu_completion_wait } from './cmd.js';
import { amd_iommu_options } from './options.js';
import {
  FEATURE_EPHSUP,
  FEATURE_GIOSUP,
  FEATURE_GT,
  FEATURE_HDSUP,
  FEATURE_PPR,
  IOMMU_CAP_NPCACHE,
  amdIommuHw,
  extendedFeaturesLine,
  featureGlx,
  featurePasmax,
} from './hw.js';

const MSI_RANGE_START = 0xfee00000n;
const MSI_RANGE_END = 0xfeefffffn;
const HT_RANGE_START = 0xfd00000000n;
const HT_RANGE_END = 0xffffffffffn;

/** One IVHD: the unit's segment and the device-ID ranges its entries cover (inclusive). */
export interface IvhdUnit {
  readonly segment: number;
  readonly label: string;
  readonly ranges: readonly (readonly [number, number])[];
  /** The EFR image of an IVHD 11h/40h (null or absent for 10h). */
  readonly efr?: bigint | null;
  readonly efr2?: bigint;
}

/** An IVMD unity map (amd_iommu_unity_map): [start, end) identity-mapped, or excluded. */
export interface UnityMap {
  readonly segment: number;
  readonly devidStart: number;
  readonly devidEnd: number;
  readonly addressStart: bigint;
  /** Exclusive. */
  readonly addressEnd: bigint;
  /** bit 0 read, bit 1 write. */
  readonly prot: number;
  readonly exclusion: boolean;
}

export interface IvrsTable {
  readonly ivhds: readonly IvhdUnit[];
  readonly hypervisor: boolean;
}

/** What a parsed binary IVRS adds (firmware/acpi/ivrs-to-driver.ts). */
export interface IvrsTableExtras {
  /** IVMD blocks. */
  readonly unityMaps?: readonly UnityMap[];
  /** alias_table entries that differ from the device ID. */
  readonly aliases?: readonly { readonly segment: number; readonly devid: number; readonly alias: number }[];
  /** Why the kernel's IVRS parsing fails for this table (then nothing registers). */
  readonly initError?: string | null;
}

/** get_device_sbdf_id(): PCI functions only (ACPI HID devices come with the IVRS parser). */
function get_device_sbdf_id(dev: Device): { seg: number; devid: number } | null {
  if (!dev.pci) return null;
  return { seg: dev.pci.segment, devid: PCI_DEVID(dev.pci.busNr, dev.pci.devfn) };
}

/** rlookup_amd_iommu() */
function rlookup_amd_iommu(k: Kernel, dev: Device): AmdIommu | null {
  const id = get_device_sbdf_id(dev);
  if (!id) return null;
  return amdState(k)?.rlookup.get(id.seg)?.get(id.devid) ?? null;
}

/** amd_iommu_gt_ppr_supported() */
function gt_ppr_supported(s: AmdState): boolean {
  return (s.efr & FEATURE_GT) !== 0n && (s.efr & FEATURE_PPR) !== 0n && (s.efr & FEATURE_EPHSUP) !== 0n;
}

/** amd_iommu_pasid_supported(): the model's CPU has no LA57, and SNP is off. */
function amd_iommu_pasid_supported(s: AmdState): boolean {
  return gt_ppr_supported(s);
}

/** iommu_init_device(): the device's iommu_dev_data with the capabilities it is used with. */
function iommu_init_device(k: Kernel, s: AmdState, unit: AmdIommu, dev: Device): DevData | null {
  const mem = k.alloc.alloc('iommu_dev_data', dev, 'iommu_init_device (amd)');
  if (!mem) return null;
  const pdev = dev.pci!;
  // By default PASID-capable functions are set up for passthrough, unless amd_iommu=force_isolation.
  const caps = (iommu_default_passthrough(k) || !s.options.forceIsolation) && gt_ppr_supported(s);
  const pasidSup = caps && pdev.pasidWidth !== null;
  // amd_iommu_probe_device(): max_pasids when both sides do PASIDs.
  const maxPasids =
    amd_iommu_pasid_supported(s) && pasidSup ? Math.min(unit.iommu.max_pasids, pdev.maxPasids()) : 0;
  const dd: DevData = {
    unit,
    devid: PCI_DEVID(pdev.busNr, pdev.devfn),
    mem,
    dev,
    domain: null,
    gcr3: null,
    pasidSup,
    maxPasids,
  };
  return dd;
}

/**
 * setup_aliases(): an IVRS alias on the device's own bus becomes a PCI DMA
 * alias (the IVRS may know a quirk the PCI code does not); then the entry
 * is cloned to the aliases.
 */
function setup_aliases(k: Kernel, s: AmdState, dd: DevData): void {
  const pdev = dd.dev.pci!;
  const alias = aliasOf(s, dd);
  if (alias !== dd.devid && alias >> 8 === pdev.busNr) pci_add_dma_alias(pdev, alias & 0xff, 1);
  clone_aliases(k, dd.unit, dd);
}

/**
 * iommu_ignore_device(): the device ID leaves the rlookup table and its
 * entry is zeroed, so the unit never claims the function again (the alias
 * walk that follows finds no unit and does nothing).
 */
function iommu_ignore_device(s: AmdState, unit: AmdIommu, dev: Device): void {
  const id = get_device_sbdf_id(dev)!;
  s.rlookup.get(id.seg)?.delete(id.devid);
  unit.dte.delete(id.devid);
}

/** amd_iommu_capable() */
function amd_iommu_capable(k: Kernel, dev: Device, cap: IommuCap): boolean {
  switch (cap) {
    case 'CACHE_COHERENCY':
    case 'ENFORCE_CACHE_COHERENCY':
    case 'DEFERRED_FLUSH':
      return true;
    case 'NOEXEC':
      return false;
    case 'PRE_BOOT_PROTECTION':
      return false; // amdr_ivrs_remap_support: IVinfo DMA remap, not passed to the driver
    case 'DIRTY_TRACKING': {
      const u = rlookup_amd_iommu(k, dev);
      return !!u && (u.hw.efr & FEATURE_HDSUP) !== 0n;
    }
  }
}

export function makeAmdOps(): IommuOps {
  return {
    name: 'amd-iommu',
    owner: null,
    // 6.12's amd_iommu_ops has no pgsize_bitmap: each domain takes its table's.
    pgsize_bitmap: 0,
    blocked_domain: staticDomain(IOMMU_DOMAIN_BLOCKED, 'amd-iommu blocked', blocked_domain_attach_device),
    default_domain_ops: amd_domain_ops,
    /** amd_iommu_probe_device() */
    probe_device(k, dev) {
      if (!get_device_sbdf_id(dev)) return ERR_PTR(-ENODEV); // check_device()
      const unit = rlookup_amd_iommu(k, dev);
      if (!unit) return ERR_PTR(-ENODEV);
      if (!unit.iommu.ops) return ERR_PTR(-ENODEV); // not registered yet
      if (!unit.iommu.listed) recordKnownBug(k, 'global-unit-probes-after-failed-register', dev.name, []);
      if (dev.iommu!.priv) return unit.iommu;
      const s = amdState(k)!;
      const dd = iommu_init_device(k, s, unit, dev);
      if (dd) {
        dev.iommu!.priv = dd;
        setup_aliases(k, s, dd);
      } else {
        k.printk.log('err', dev.name, 'Failed to initialize - trying to proceed anyway');
        iommu_ignore_device(s, unit, dev);
      }
      iommu_completion_wait(unit.iommu, unit.cmd);
      return dd ? unit.iommu : ERR_PTR(-ENOMEM);
    },
    /** amd_iommu_release_device() -> amd_iommu_uninit_device(): out of its domain first. */
    release_device(k, dev) {
      const dd = devData(dev);
      if (!dd) return;
      if (dd.domain) detach_device(k, dd);
      iommu_completion_wait(dd.unit.iommu, dd.unit.cmd);
      k.alloc.free(dd.mem, 'amd_iommu_release_device');
      dev.iommu!.priv = null;
    },
    /** amd_iommu_device_group(): PCI grouping, else per device (acpihid groups come with IVRS). */
    device_group(k, dev) {
      return dev.pci ? pci_device_group(k, dev) : generic_device_group(k, dev);
    },
    /** amd_iommu_get_resv_regions(): unity maps (IVMD), the MSI and HyperTransport windows. */
    get_resv_regions(k, dev, list) {
      const id = get_device_sbdf_id(dev);
      if (!id) return;
      // IVMD unity maps covering the device: direct, or reserved for an exclusion range.
      for (const m of amdState(k)?.unityMaps ?? []) {
        if (m.segment !== id.seg || id.devid < m.devidStart || id.devid > m.devidEnd) continue;
        const prot = (m.prot & 1 ? IOMMU_READ : 0) | (m.prot & 2 ? IOMMU_WRITE : 0);
        const type = m.exclusion ? IOMMU_RESV_RESERVED : IOMMU_RESV_DIRECT;
        list.push(
          iommu_alloc_resv_region(
            m.addressStart,
            m.addressEnd - m.addressStart,
            prot,
            type,
            `IVMD unity map ${m.exclusion ? '(exclusion range)' : ''}`.trim(),
          ),
        );
      }
      list.push(
        iommu_alloc_resv_region(
          MSI_RANGE_START,
          MSI_RANGE_END - MSI_RANGE_START + 1n,
          0,
          IOMMU_RESV_MSI,
          'MSI window',
        ),
      );
      list.push(
        iommu_alloc_resv_region(
          HT_RANGE_START,
          HT_RANGE_END - HT_RANGE_START + 1n,
          0,
          IOMMU_RESV_RESERVED,
          'HyperTransport range',
        ),
      );
    },
    /** amd_iommu_domain_alloc(): identity, DMA and unmanaged domains are all protection domains. */
    domain_alloc(k, type) {
      return amd_iommu_domain_alloc(k, type);
    },
    /**
     * amd_iommu_def_domain_type(): DMA for untrusted devices; identity for
     * devices set up for PASIDs unless memory encryption is active.
     */
    def_domain_type(k, dev) {
      const dd = devData(dev);
      if (!dd) return 0;
      if (dev.pci?.untrusted) return IOMMU_DOMAIN_DMA;
      if (dd.pasidSup && !k.kconfig.MEM_ENCRYPT_ACTIVE) return IOMMU_DOMAIN_IDENTITY;
      return 0;
    },
    capable: amd_iommu_capable,
  };
}

/** amd_iommu_detect(): AMD-Vi will be used (no iommu=off, no amd_iommu=off), so ACS is requested early. */
export function amd_iommu_detect(k: Kernel): boolean {
  if (x86_iommu_setup(k).noIommu) {
    k.printk.log('info', 'model', 'AMD-Vi not detected: iommu=off on the command line (no_iommu)');
    return false;
  }
  return !amd_iommu_options(k).off;
}

/** The per-segment alias tables from the IVRS (init_iommu_from_acpi()'s alias entries). */
function aliasTables(table: IvrsTableExtras): Map<number, Map<number, number>> {
  const out = new Map<number, Map<number, number>>();
  for (const a of table.aliases ?? []) {
    let seg = out.get(a.segment);
    if (!seg) out.set(a.segment, (seg = new Map()));
    seg.set(a.devid, a.alias);
  }
  return out;
}

/**
 * iommu_init_pci() for one unit, the parts that decide the driver's globals:
 * the EFR (the first unit's), NpCache (strict mode), v2 tables' support, the
 * GLX and PASID limits.
 */
function iommu_init_pci_features(k: Kernel, s: AmdState, amd: AmdIommu): void {
  if (!s.efr && !s.efr2) {
    s.efr = amd.hw.efr;
    s.efr2 = amd.hw.efr2;
  }
  if (s.efr & FEATURE_GT) {
    amd.iommu.max_pasids = 2 ** (featurePasmax(s.efr) + 1) - 1;
    const glx = featureGlx(s.efr);
    s.maxGlx = s.maxGlx === -1 ? glx : Math.min(s.maxGlx, glx);
  }
  if (amd.hw.cap & (1 << IOMMU_CAP_NPCACHE)) {
    k.printk.log('info', 'AMD-Vi', 'Using strict mode due to virtualization');
    iommu_set_dma_strict(k, 'AMD-Vi: the IOMMU caches non-present entries (a virtual IOMMU)');
    s.npCache = true;
  }
  if (s.pgtable === 'v2' && (!(s.efr & FEATURE_GIOSUP) || !(s.efr & FEATURE_GT))) {
    k.printk.log('warn', 'AMD-Vi', 'Cannot enable v2 page table for DMA-API. Fallback to v1.');
    s.pgtable = 'v1';
  }
}

/** print_iommu_info(), the lines the model knows. */
function print_iommu_info(k: Kernel, s: AmdState): void {
  if (s.efr) k.printk.log('info', 'AMD-Vi', extendedFeaturesLine(s.efr, s.efr2));
  if (s.pgtable === 'v2')
    k.printk.log('info', 'AMD-Vi', `V2 page table enabled (Paging mode : ${s.gptLevel} level)`);
}

/**
 * amd_iommu_init() as far as the core is concerned: the domain-ID bitmap,
 * then each IVHD in table order set up (iommu_init_pci()) and registered as
 * ivhd<N>.
 */
export function amd_iommu_init(k: Kernel, table: IvrsTable & IvrsTableExtras): number {
  const options = amd_iommu_options(k);
  if (options.off) {
    k.printk.log('info', 'AMD-Vi', 'AMD IOMMU disabled');
    return -ENODEV;
  }
  if (table.initError) {
    k.printk.log('err', 'AMD-Vi', `IVRS: ${table.initError}`);
    return -EINVAL;
  }
  // amd_iommu=fullflush (the kernel does it while parsing the command line).
  if (options.fullflush) iommu_set_dma_strict(k, 'amd_iommu=fullflush');
  const pdIds = new Ida();
  pdIds.alloc(); // domain ID 0 is never handed out
  const s: AmdState = {
    units: [],
    rlookup: new Map(),
    unityMaps: table.unityMaps ?? [],
    aliasTable: aliasTables(table),
    pdIds,
    domids: new Map(),
    options,
    efr: 0n,
    efr2: 0n,
    npCache: false,
    pgtable: options.pgtable,
    gptLevel: 4,
    maxGlx: -1,
    ratelimits: new Map(),
  };
  k.driverState.set('amd-iommu', s);
  const ops = makeAmdOps();
  const mems: Allocation[] = [];
  table.ivhds.forEach((unit, index) => {
    const mem = k.alloc.alloc('amd_iommu', unit.label, 'init_iommu_one');
    if (!mem) return;
    mems.push(mem);
    const amd: AmdIommu = {
      index,
      unit,
      iommu: new IommuDevice(`ivhd${index}`),
      hw: amdIommuHw(unit, table.hypervisor),
      cmd: new AmdCmdBuf(),
      dte: new Map(),
      rs: new Map(),
    };
    // The event log's IO_PAGE_FAULTs, printed under the function or prefix the driver uses.
    let source = amd.iommu.name;
    amd.iommu.faultReporter = (dev, f) => {
      const r = amd_iommu_report_page_fault(k, s, amd, dev, f);
      source = r.source;
      return r.lines;
    };
    amd.iommu.faultLogDevice = () => source;
    amd.iommu.priv = amd;
    s.units.push(amd);
    let seg = s.rlookup.get(unit.segment);
    if (!seg) s.rlookup.set(unit.segment, (seg = new Map()));
    for (const [a, b] of unit.ranges) for (let d = a; d <= b; d++) seg.set(d, amd);
  });
  k.teardownHooks.push(() => {
    for (const u of s.units) iommu_device_sysfs_remove(k, u.iommu);
    for (const m of mems) k.alloc.free(m, 'teardown');
    k.driverState.delete('amd-iommu');
  });
  for (const amd of s.units) {
    iommu_init_pci_features(k, s, amd);
    // iommu_init_pci(): a failed sysfs add fails the whole AMD-Vi init.
    const rc = iommu_device_sysfs_add(k, amd.iommu);
    if (rc) return rc;
    const ret = iommu_device_register(k, amd.iommu, ops, null);
    if (ret)
      k.printk.log('err', 'AMD-Vi', `${amd.iommu.name}: iommu_device_register() returned ${errnoName(ret)}`);
  }
  print_iommu_info(k, s);
  return 0;
}
