// SPDX-License-Identifier: GPL-2.0-only
/**
 * Arm SMMUv3 as the IOMMU core sees it (drivers/iommu/arm/arm-smmu-v3/
 * arm-smmu-v3.c): a platform driver whose probe registers an instance named
 * smmu3.<base> keyed by the SMMU's own fwnode; clients reach it only through
 * a fwspec (of_xlate() adds one stream ID per `iommus` entry or mapped RID).
 * probe_device() inserts the device's stream IDs in the instance's stream
 * tree and refuses a stream another device already owns, as
 * arm_smmu_insert_master() does (-EINVAL, or -ENODEV from v6.16: the profile's
 * smmuV3AliasedStream).
 *
 * Paging domains translate: a domain is finalised on the SMMU of its first
 * device (at allocation when the core names the device, else at the first
 * attach), with an LPAE stage-1 table (stage 2 when the SMMU lacks stage 1)
 * sized from the SMMU's ID registers, and an ASID; attaching it to a device
 * behind another SMMU is -EINVAL. Invalidation is gathered and sent as one
 * range per sync (arm_smmu_flush_ops, arm_smmu_iotlb_sync()).
 */
import { smmuV3EventLines } from './event.js';
import type { Device } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { IommuDriverEntry } from '../registry.js';
import type { Allocation } from '../../kernel/alloc.js';
import { EBUSY, EINVAL, ENODEV, ENOMEM, ENOSPC, ERR_PTR } from '../../kernel/errno.js';
import {
  IOMMU_DOMAIN_BLOCKED,
  IOMMU_DOMAIN_IDENTITY,
  IommuDomain,
  staticDomain,
} from '../../iommu/domain.js';
import {
  IommuDevice,
  iommu_device_register,
  iommu_device_sysfs_add,
  iommu_device_sysfs_remove,
  iommu_device_unregister,
  iommu_from_fwnode,
} from '../../iommu/iommu-device.js';
import { dev_iommu_fwspec_get } from '../../iommu/dev-iommu.js';
import { iommu_fwspec_add_ids } from '../../iommu/fwspec.js';
import { generic_device_group } from '../../iommu/group.js';
import { pci_device_group } from '../../pci/pci-device-group.js';
import { softwareMsiRegion } from '../../iommu/resv-regions.js';
import { iommu_dma_get_resv_regions } from '../../iommu/dma-resv.js';
import { platform_get_mem_resource } from '../../base/platform.js';
import {
  IOTLB_GATHER_RANGE,
  IOTLB_GATHER_RIL,
  io_pgtable_domain_free,
  io_pgtable_domain_init,
  io_pgtable_domain_ops,
} from '../../iommu/io-pgtable-domain.js';
import { ARM64_VA_BITS, smmuV3Hw, type SmmuV3Hw } from './hw.js';

/** struct arm_smmu_device, the parts the probe path reads. */
export interface ArmSmmuDevice {
  readonly iommu: IommuDevice;
  readonly base: bigint;
  /** The stream table's SID tree: stream ID -> owning device. */
  readonly streams: Map<number, Device>;
  /** What arm_smmu_device_hw_probe() read from the ID registers. */
  readonly hw: SmmuV3Hw;
  /** smmu->vmid_map */
  readonly vmids: Set<number>;
}

/** The global ASID space (arm_smmu_asid_xa): ASID -> domain. */
const asidXa = new WeakMap<Kernel, Map<number, IommuDomain>>();

/** struct arm_smmu_domain */
class ArmSmmuDomain extends IommuDomain {
  smmu: ArmSmmuDevice | null = null;
  stage: 'S1' | 'S2' = 'S1';
  /** cd.asid (stage 1) or s2_cfg.vmid (stage 2) */
  asid = 0;
  vmid = 0;
}

interface Master {
  readonly smmu: ArmSmmuDevice;
  readonly mem: Allocation;
  streams: number[];
}

function smmuOf(k: Kernel, iommu: IommuDevice | null): ArmSmmuDevice | null {
  return (iommu?.priv as ArmSmmuDevice | undefined) ?? null;
}

/** arm_smmu_insert_master(): a stream another device owns is refused with -EINVAL. */
function arm_smmu_insert_master(k: Kernel, dev: Device, master: Master, ids: readonly number[]): number {
  const added: number[] = [];
  for (const sid of ids) {
    const existing = master.smmu.streams.get(sid);
    if (existing === dev) continue; // bridged PCI devices may repeat a stream ID
    if (existing) {
      const graceful = k.profile.smmuV3AliasedStream === 'enodev';
      const msg = graceful
        ? `Aliasing StreamID 0x${sid.toString(16)} (from ${existing.name}) unsupported, expect DMA to be broken`
        : `stream ${sid} already in tree from dev ${existing.name}`;
      k.printk.log('warn', dev.name, msg);
      dev.addHistory(`arm_smmu_insert_master(): ${msg}`);
      for (const s of added) master.smmu.streams.delete(s);
      return graceful ? -ENODEV : -EINVAL;
    }
    master.smmu.streams.set(sid, dev);
    added.push(sid);
  }
  master.streams = added;
  return 0;
}

/** arm_smmu_domain_finalise(): the table, the domain's page sizes and aperture, its ASID or VMID. */
function arm_smmu_domain_finalise(k: Kernel, d: ArmSmmuDomain, smmu: ArmSmmuDevice): number {
  const hw = smmu.hw;
  // Only the stages the SMMU implements.
  if (!hw.s1) d.stage = 'S2';
  if (!hw.s2) d.stage = 'S1';
  const s1 = d.stage === 'S1';
  const ret = io_pgtable_domain_init(k, d, smmu.iommu, {
    // ARM_64_LPAE_S1/S2: the SMMU's page sizes go in, the CPU's 4K page picks the granule.
    format: s1 ? 'arm-64-lpae-s1-4k' : 'arm-64-lpae-s2-4k',
    style: hw.ril ? IOTLB_GATHER_RIL : IOTLB_GATHER_RANGE,
    pgsize_bitmap: hw.pgsize_bitmap,
    coherent_walk: hw.coherent,
    ias: s1 ? Math.min(hw.vax ? 52 : 48, ARM64_VA_BITS) : hw.ias,
    oas: s1 ? hw.ias : hw.oas,
  });
  if (ret) return ret;
  if (s1) {
    // arm_smmu_domain_finalise_s1(): the lowest free ASID from 1.
    let xa = asidXa.get(k);
    if (!xa) asidXa.set(k, (xa = new Map()));
    let asid = 1;
    while (xa.has(asid) && asid < 2 ** hw.asidBits) asid++;
    if (asid >= 2 ** hw.asidBits) {
      io_pgtable_domain_free(k, d);
      return -EBUSY; // xa_alloc() found no free ASID
    }
    xa.set(asid, d);
    d.asid = asid;
  } else {
    // arm_smmu_domain_finalise_s2(): VMID 0 stays for bypass STEs.
    const used = new Set(smmu.vmids);
    let vmid = 1;
    while (used.has(vmid) && vmid < 2 ** hw.vmidBits) vmid++;
    if (vmid >= 2 ** hw.vmidBits) {
      io_pgtable_domain_free(k, d);
      return -ENOSPC; // ida_alloc_range()
    }
    smmu.vmids.add(vmid);
    d.vmid = vmid;
  }
  d.smmu = smmu;
  return 0;
}

/** arm_smmu_domain_free_paging(): the table, then the ASID or VMID. */
function arm_smmu_domain_free(k: Kernel, domain: IommuDomain): void {
  const d = domain as ArmSmmuDomain;
  io_pgtable_domain_free(k, d);
  if (d.stage === 'S1' && d.asid) asidXa.get(k)?.delete(d.asid);
  if (d.stage === 'S2' && d.vmid) d.smmu?.vmids.delete(d.vmid);
  k.alloc.free(domain.mem, 'arm_smmu_domain_free');
  domain.mem = null;
}

/** arm_smmu_attach_dev(), the part that picks the domain's SMMU. */
function arm_smmu_attach_dev(k: Kernel, domain: IommuDomain, dev: Device): number {
  const master = dev.iommu?.priv as Master | null;
  if (!master) return -ENODEV;
  const d = domain as ArmSmmuDomain;
  if (!d.smmu) return arm_smmu_domain_finalise(k, d, master.smmu);
  if (d.smmu !== master.smmu) return -EINVAL;
  return 0;
}

export const arm_smmu_ops: IommuOps = {
  name: 'arm-smmu-v3',
  owner: 'arm_smmu_v3',
  pgsize_bitmap: 0x40201000, // 4K | 2M | 1G until the domain is finalised
  identity_domain: staticDomain(IOMMU_DOMAIN_IDENTITY, 'arm-smmu-v3 identity'),
  blocked_domain: staticDomain(IOMMU_DOMAIN_BLOCKED, 'arm-smmu-v3 blocked'),
  default_domain_ops: {
    attach_dev: arm_smmu_attach_dev,
    free: arm_smmu_domain_free,
    ...io_pgtable_domain_ops,
  },
  /** arm_smmu_probe_device() */
  probe_device(k, dev) {
    const fwspec = dev_iommu_fwspec_get(dev);
    // Only reached with a fwspec naming an SMMUv3. While fwspec->ops existed
    // (to v6.10) the driver checked them: an empty fwspec still waiting for
    // its instance (ops NULL) is not this driver's.
    if (!fwspec) return ERR_PTR(-ENODEV);
    if (k.profile.fwspecInit === 'with-ops' && fwspec.ops !== arm_smmu_ops) return ERR_PTR(-ENODEV);
    const smmu = smmuOf(k, iommu_from_fwnode(k, fwspec.iommu_fwnode));
    if (!smmu) return ERR_PTR(-ENODEV);
    const mem = k.alloc.alloc('arm_smmu_master', dev, 'arm_smmu_probe_device');
    if (!mem) return ERR_PTR(-ENOMEM);
    const master: Master = { smmu, mem, streams: [] };
    dev.iommu!.priv = master;
    const ret = arm_smmu_insert_master(k, dev, master, fwspec.ids);
    if (ret) {
      k.alloc.free(mem, 'arm_smmu_probe_device');
      dev.iommu!.priv = null;
      return ERR_PTR(ret);
    }
    return smmu.iommu;
  },
  /** arm_smmu_release_device() */
  release_device(k, dev) {
    const master = dev.iommu?.priv as Master | null;
    if (!master) return;
    for (const sid of master.streams) master.smmu.streams.delete(sid);
    k.alloc.free(master.mem, 'arm_smmu_release_device');
    dev.iommu!.priv = null;
  },
  /** arm_smmu_device_group(): PCI RID aliases may share; everything else alone. */
  device_group(k, dev) {
    return dev.pci ? pci_device_group(k, dev) : generic_device_group(k, dev);
  },
  /** arm_smmu_of_xlate(): one stream ID per entry. */
  of_xlate(k, dev, args) {
    return iommu_fwspec_add_ids(k, dev, args.args.slice(0, 1), args.source);
  },
  /** arm_smmu_get_resv_regions(): the software MSI window, then iommu-dma's regions. */
  get_resv_regions(k, dev, list) {
    list.push(softwareMsiRegion());
    iommu_dma_get_resv_regions(k, dev, list);
  },
  /** arm_smmu_domain_alloc_paging(): finalised at once on the device's SMMU when the core names one. */
  domain_alloc_paging(k, dev) {
    const mem = k.alloc.alloc('arm_smmu_domain', 'arm-smmu-v3', 'arm_smmu_domain_alloc_paging');
    if (!mem) return ERR_PTR(-ENOMEM);
    const d = new ArmSmmuDomain(0, null, 'arm-smmu-v3 paging');
    d.mem = mem;
    const master = dev?.iommu?.priv as Master | null | undefined;
    if (master) {
      const ret = arm_smmu_domain_finalise(k, d, master.smmu);
      if (ret) {
        k.alloc.free(mem, 'arm_smmu_domain_alloc_paging');
        return ERR_PTR(ret);
      }
    }
    return d;
  },
  capable: () => true,
};

/** arm_smmu_device_probe(): the SMMU's own platform device binding. */
function arm_smmu_device_probe(k: Kernel, dev: Device): number {
  const mem = k.alloc.alloc('arm_smmu_device', dev, 'arm_smmu_device_probe');
  if (!mem) return -ENOMEM;
  // platform_get_resource(pdev, IORESOURCE_MEM, 0): the DT `reg` or the IORT node's base.
  const base = platform_get_mem_resource(dev)?.start ?? 0n;
  const iommu = new IommuDevice(`smmu3.0x${base.toString(16).padStart(16, '0')}`, dev);
  iommu.faultReporter = smmuV3EventLines;
  const smmu: ArmSmmuDevice = { iommu, base, streams: new Map(), hw: smmuV3Hw(), vmids: new Set() };
  iommu.priv = smmu;
  dev.driverData = { smmu, mem };
  let ret = iommu_device_sysfs_add(k, iommu);
  if (ret) {
    k.alloc.free(mem, 'arm_smmu_device_probe');
    return ret;
  }
  ret = iommu_device_register(k, iommu, arm_smmu_ops, dev);
  if (ret) {
    iommu_device_sysfs_remove(k, iommu);
    k.alloc.free(mem, 'arm_smmu_device_probe');
    return ret;
  }
  return 0;
}

/** arm_smmu_device_remove() */
function arm_smmu_device_remove(k: Kernel, dev: Device): void {
  const data = dev.driverData as { smmu: ArmSmmuDevice; mem: Allocation } | undefined;
  if (!data) return;
  iommu_device_unregister(k, data.smmu.iommu);
  iommu_device_sysfs_remove(k, data.smmu.iommu);
  k.alloc.free(data.mem, 'arm_smmu_device_remove');
  dev.driverData = undefined;
}

/** arm_smmu_of_match */
const ARM_SMMU_V3_OF_MATCH = ['arm,smmu-v3'];

export function armSmmuV3Driver(k: Kernel): DeviceDriver {
  const bus = k.base.buses.get('platform');
  if (!bus) throw new Error('arm-smmu-v3: no platform bus');
  return {
    name: 'arm-smmu-v3',
    bus,
    of_match_table: ARM_SMMU_V3_OF_MATCH,
    probe: arm_smmu_device_probe,
    remove: arm_smmu_device_remove,
  };
}

export const armSmmuV3Entry: IommuDriverEntry = {
  name: 'arm-smmu-v3',
  config: 'ARM_SMMU_V3',
  of_match_table: ARM_SMMU_V3_OF_MATCH,
  create: armSmmuV3Driver,
};
