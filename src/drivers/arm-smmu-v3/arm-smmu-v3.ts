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
 */
import type { Device } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { IommuDriverEntry } from '../registry.js';
import type { Allocation } from '../../kernel/alloc.js';
import { EINVAL, ENODEV, ENOMEM, ERR_PTR } from '../../kernel/errno.js';
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

/** struct arm_smmu_device, the parts the probe path reads. */
export interface ArmSmmuDevice {
  readonly iommu: IommuDevice;
  readonly base: bigint;
  /** The stream table's SID tree: stream ID -> owning device. */
  readonly streams: Map<number, Device>;
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
      dev.history.push(`arm_smmu_insert_master(): ${msg}`);
      for (const s of added) master.smmu.streams.delete(s);
      return graceful ? -ENODEV : -EINVAL;
    }
    master.smmu.streams.set(sid, dev);
    added.push(sid);
  }
  master.streams = added;
  return 0;
}

function arm_smmu_domain_free(k: Kernel, domain: IommuDomain): void {
  k.alloc.free(domain.mem, 'arm_smmu_domain_free');
  domain.mem = null;
}

export const arm_smmu_ops: IommuOps = {
  name: 'arm-smmu-v3',
  owner: 'arm_smmu_v3',
  pgsize_bitmap: 0x40201000, // 4K | 2M | 1G until the domain is finalised
  identity_domain: staticDomain(IOMMU_DOMAIN_IDENTITY, 'arm-smmu-v3 identity'),
  blocked_domain: staticDomain(IOMMU_DOMAIN_BLOCKED, 'arm-smmu-v3 blocked'),
  default_domain_ops: { attach_dev: () => 0, free: arm_smmu_domain_free },
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
    const mem = k.alloc.alloc('arm_smmu_master', dev.name, 'arm_smmu_probe_device');
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
  domain_alloc_paging(k) {
    const mem = k.alloc.alloc('arm_smmu_domain', 'arm-smmu-v3', 'arm_smmu_domain_alloc_paging');
    if (!mem) return ERR_PTR(-ENOMEM);
    const d = new IommuDomain(0, null, 'arm-smmu-v3 paging');
    d.mem = mem;
    return d;
  },
  capable: () => true,
};

/** arm_smmu_device_probe(): the SMMU's own platform device binding. */
function arm_smmu_device_probe(k: Kernel, dev: Device): number {
  const mem = k.alloc.alloc('arm_smmu_device', dev.name, 'arm_smmu_device_probe');
  if (!mem) return -ENOMEM;
  // platform_get_resource(pdev, IORESOURCE_MEM, 0): the DT `reg` or the IORT node's base.
  const base = platform_get_mem_resource(dev)?.start ?? 0n;
  const iommu = new IommuDevice(`smmu3.0x${base.toString(16).padStart(16, '0')}`, dev);
  const smmu: ArmSmmuDevice = { iommu, base, streams: new Map() };
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
