// SPDX-License-Identifier: GPL-2.0-only
/**
 * AMD-Vi as the IOMMU core sees it (drivers/iommu/amd/iommu.c, init.c): a
 * global driver. Each IVHD unit registers an instance named ivhd<N> with no
 * fwnode; amd_iommu_probe_device() accepts only PCI functions whose device ID
 * the unit's IVHD entries cover (check_device(), rlookup_amd_iommu()) and
 * returns -ENODEV for others and for units not registered yet. Under a
 * hypervisor the driver forces strict invalidation (iommu_set_dma_strict()).
 * The IVRS model here comes from a platform description; the binary IVRS
 * parser fills the same structure.
 */
import { amdIoPageFaultLines } from './event.js';
import type { Device } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { Allocation } from '../../kernel/alloc.js';
import { EINVAL, ENODEV, ENOMEM, ERR_PTR, errnoName } from '../../kernel/errno.js';
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
  IOMMU_RESV_MSI,
  IOMMU_RESV_RESERVED,
  IOMMU_WRITE,
  iommu_alloc_resv_region,
} from '../../iommu/resv-regions.js';
import { pci_device_group } from '../../pci/pci-device-group.js';
import { iommu_set_dma_strict } from '../../iommu/subsys.js';
import { PCI_DEVID } from '../../pci/pci-dev.js';

const MSI_RANGE_START = 0xfee00000n;
const MSI_RANGE_END = 0xfeefffffn;
const HT_RANGE_START = 0xfd00000000n;
const HT_RANGE_END = 0xffffffffffn;

/** One IVHD: the unit's segment and the device-ID ranges its entries cover (inclusive). */
export interface IvhdUnit {
  readonly segment: number;
  readonly label: string;
  readonly ranges: readonly (readonly [number, number])[];
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
  /** Why the kernel's IVRS parsing fails for this table (then nothing registers). */
  readonly initError?: string | null;
}

interface AmdIommu {
  readonly index: number;
  readonly unit: IvhdUnit;
  readonly iommu: IommuDevice;
}

interface AmdState {
  readonly units: AmdIommu[];
  readonly unityMaps: readonly UnityMap[];
  /** rlookup tables: per segment, device ID -> unit. */
  readonly rlookup: Map<number, Map<number, AmdIommu>>;
}

function state(k: Kernel): AmdState | undefined {
  return k.driverState.get('amd-iommu') as AmdState | undefined;
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
  return state(k)?.rlookup.get(id.seg)?.get(id.devid) ?? null;
}

function amd_domain_free(k: Kernel, domain: IommuDomain): void {
  k.alloc.free(domain.mem, 'amd_iommu_domain_free');
  domain.mem = null;
}

export function makeAmdOps(): IommuOps {
  return {
    name: 'amd-iommu',
    owner: null,
    pgsize_bitmap: 0xfffff000, // AMD_IOMMU_PGSIZES (v1 page table)
    blocked_domain: staticDomain(IOMMU_DOMAIN_BLOCKED, 'amd blocked'),
    default_domain_ops: { attach_dev: () => 0, free: amd_domain_free },
    /** amd_iommu_probe_device() */
    probe_device(k, dev) {
      if (!get_device_sbdf_id(dev)) return ERR_PTR(-ENODEV); // check_device()
      const unit = rlookup_amd_iommu(k, dev);
      if (!unit) return ERR_PTR(-ENODEV);
      if (!unit.iommu.ops) return ERR_PTR(-ENODEV); // not registered yet
      if (!unit.iommu.listed) recordKnownBug(k, 'global-unit-probes-after-failed-register', dev.name, []);
      if (!dev.iommu!.priv) {
        const mem = k.alloc.alloc('iommu_dev_data', dev.name, 'iommu_init_device (amd)');
        if (!mem) return ERR_PTR(-ENOMEM);
        dev.iommu!.priv = { unit, mem };
      }
      return unit.iommu;
    },
    release_device(k, dev) {
      const data = dev.iommu?.priv as { mem: Allocation } | null;
      if (data) k.alloc.free(data.mem, 'amd_iommu_release_device');
      if (dev.iommu) dev.iommu.priv = null;
    },
    /** amd_iommu_device_group(): PCI grouping, else per device (acpihid groups come with IVRS). */
    device_group(k, dev) {
      return dev.pci ? pci_device_group(k, dev) : generic_device_group(k, dev);
    },
    /** amd_iommu_get_resv_regions(): unity maps (IVMD) come with IVRS; the MSI and HyperTransport windows. */
    get_resv_regions(k, dev, list) {
      const id = get_device_sbdf_id(dev);
      if (!id) return;
      // IVMD unity maps covering the device: direct, or reserved for an exclusion range.
      for (const m of state(k)?.unityMaps ?? []) {
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
    /** amd_iommu_domain_alloc(): identity and paging domains alike are protection domains. */
    domain_alloc(k, type) {
      if (type !== IOMMU_DOMAIN_IDENTITY && type !== IOMMU_DOMAIN_UNMANAGED && type !== IOMMU_DOMAIN_DMA)
        return null;
      const mem = k.alloc.alloc('protection_domain', 'amd-iommu', 'amd_iommu_domain_alloc');
      if (!mem) return null;
      const d = new IommuDomain(type, null, type === IOMMU_DOMAIN_IDENTITY ? 'amd identity' : 'amd paging');
      d.mem = mem;
      return d;
    },
    /**
     * amd_iommu_def_domain_type(): DMA for untrusted devices; identity for
     * PASID-capable (IOMMUv2) devices unless memory encryption is active.
     */
    def_domain_type(k, dev) {
      if (!dev.iommu?.priv) return 0;
      if (dev.pci?.untrusted) return IOMMU_DOMAIN_DMA;
      if (dev.pci && dev.pci.pasidWidth !== null && !k.kconfig.MEM_ENCRYPT_ACTIVE)
        return IOMMU_DOMAIN_IDENTITY;
      return 0;
    },
    capable: () => true,
  };
}

/** amd_iommu_detect(): AMD-Vi will be used (not amd_iommu=off), so ACS is requested early. */
export function amd_iommu_detect(k: Kernel): boolean {
  return k.cmdline.params.get('amd_iommu') !== 'off';
}

/**
 * amd_iommu_init() as far as the core is concerned: strict mode under a
 * hypervisor, then each IVHD registered in table order as ivhd<N>.
 */
export function amd_iommu_init(k: Kernel, table: IvrsTable & IvrsTableExtras): number {
  if (!amd_iommu_detect(k)) {
    k.printk.log('info', 'AMD-Vi', 'AMD IOMMU disabled');
    return -ENODEV;
  }
  if (table.initError) {
    k.printk.log('err', 'AMD-Vi', `IVRS: ${table.initError}`);
    return -EINVAL;
  }
  const st: AmdState = { units: [], rlookup: new Map(), unityMaps: table.unityMaps ?? [] };
  k.driverState.set('amd-iommu', st);
  const ops = makeAmdOps();
  const mems: Allocation[] = [];
  table.ivhds.forEach((unit, index) => {
    const mem = k.alloc.alloc('amd_iommu', unit.label, 'init_iommu_one');
    if (!mem) return;
    mems.push(mem);
    const amd: AmdIommu = { index, unit, iommu: new IommuDevice(`ivhd${index}`) };
    amd.iommu.faultReporter = amdIoPageFaultLines;
    amd.iommu.priv = amd;
    st.units.push(amd);
    let seg = st.rlookup.get(unit.segment);
    if (!seg) st.rlookup.set(unit.segment, (seg = new Map()));
    for (const [a, b] of unit.ranges) for (let d = a; d <= b; d++) seg.set(d, amd);
  });
  k.teardownHooks.push(() => {
    for (const u of st.units) iommu_device_sysfs_remove(k, u.iommu);
    for (const m of mems) k.alloc.free(m, 'teardown');
    k.driverState.delete('amd-iommu');
  });
  if (table.hypervisor) iommu_set_dma_strict(k, 'AMD-Vi runs under a hypervisor (amd_iommu_init_dma_ops)');
  for (const amd of st.units) {
    // iommu_init_pci(): a failed sysfs add fails the whole AMD-Vi init.
    const rc = iommu_device_sysfs_add(k, amd.iommu);
    if (rc) return rc;
    const ret = iommu_device_register(k, amd.iommu, ops, null);
    if (ret)
      k.printk.log('err', 'AMD-Vi', `${amd.iommu.name}: iommu_device_register() returned ${errnoName(ret)}`);
  }
  return 0;
}
