// SPDX-License-Identifier: GPL-2.0-only
/**
 * virtio-iommu (drivers/iommu/virtio-iommu.c): a virtio driver whose probe
 * registers an IOMMU instance named after the transport's PCI device
 * ("0000:00:01.0") and keyed by that device's fwnode, which ACPI VIOT (or the
 * device tree) gave it. Endpoints reach it through a fwspec holding their
 * endpoint ID. The instance is looked up with driver_find_device() on the
 * virtio-iommu driver, so only once its own probe has completed.
 * Reserved regions come from the device's PROBE replies; without an MSI
 * bypass window the driver adds the software MSI window.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { IommuResvRegion } from '../../iommu/resv-regions.js';
import { ENODEV, ENOENT, ENOMEM, ERR_PTR } from '../../kernel/errno.js';
import { vmmWireRequesterId } from './vmm-endpoints.js';
import {
  IOMMU_DOMAIN_DMA,
  IOMMU_DOMAIN_IDENTITY,
  IOMMU_DOMAIN_UNMANAGED,
  IommuDomain,
} from '../../iommu/domain.js';
import {
  IommuDevice,
  iommu_device_register,
  iommu_device_sysfs_add,
  iommu_device_sysfs_remove,
  iommu_device_unregister,
} from '../../iommu/iommu-device.js';
import { dev_iommu_fwspec_get } from '../../iommu/dev-iommu.js';
import { iommu_fwspec_add_ids } from '../../iommu/fwspec.js';
import { generic_device_group } from '../../iommu/group.js';
import { pci_device_group } from '../../pci/pci-device-group.js';
import { IOMMU_RESV_MSI, iommu_alloc_resv_region, softwareMsiRegion } from '../../iommu/resv-regions.js';
import { iommu_dma_get_resv_regions } from '../../iommu/dma-resv.js';
import { VIRTIO_ID_IOMMU, virtioBus } from '../virtio/virtio.js';

/** What the device answers to PROBE requests (VIRTIO_IOMMU_F_PROBE): reserved regions per endpoint. */
export interface ViommuProbeInfo {
  readonly resv: readonly {
    readonly start: bigint;
    readonly end: bigint;
    readonly type: 'msi' | 'reserved';
  }[];
}

interface Viommu {
  readonly iommu: IommuDevice;
  readonly vdev: Device;
  readonly mem: Allocation;
  readonly probe: ViommuProbeInfo | null;
}

interface Endpoint {
  readonly mem: Allocation;
  readonly resv: IommuResvRegion[];
}

/**
 * viommu_get_by_fwnode(): the virtio-iommu whose transport device has the
 * fwnode. Up to v6.14 it is driver_find_device() on the virtio-iommu driver,
 * which only sees devices whose probe completed; with the v6.15 probe path
 * (clients probed during the instance's own registration) it became
 * bus_find_device() on the virtio bus [version inferred from the change's
 * purpose].
 */
function viommu_get_by_fwnode(k: Kernel, fwnode: unknown): Viommu | null {
  const bus = k.base.buses.get('virtio');
  if (!bus) return null;
  const byBus = k.profile.firmwareConfigure === 'probe-path';
  for (const dev of bus.devices) {
    const v = dev.driverData as Viommu | undefined;
    if (!v || v.vdev.parent?.fwnode !== fwnode) continue;
    if (byBus || (dev.bound && dev.driver?.name === 'virtio_iommu')) return v;
  }
  return null;
}

function viommu_domain_free(k: Kernel, domain: IommuDomain): void {
  k.alloc.free(domain.mem, 'viommu_domain_free');
  domain.mem = null;
}

export const viommu_ops: IommuOps = {
  name: 'virtio-iommu',
  owner: 'virtio_iommu',
  pgsize_bitmap: 0xfffff000,
  default_domain_ops: { attach_dev: () => 0, free: viommu_domain_free },
  /** viommu_probe_device() */
  probe_device(k, dev) {
    const fwspec = dev_iommu_fwspec_get(dev);
    if (!fwspec) return ERR_PTR(-ENODEV);
    const viommu = viommu_get_by_fwnode(k, fwspec.iommu_fwnode);
    if (!viommu) return ERR_PTR(-ENODEV);
    const mem = k.alloc.alloc('viommu_endpoint', dev.name, 'viommu_probe_device');
    if (!mem) return ERR_PTR(-ENOMEM);
    // viommu_probe_endpoint() asks about fwspec->ids[0] only; for an endpoint the VMM does not
    // route, the reply is VIRTIO_IOMMU_S_NOENT and the probe fails with -ENOENT (silently).
    if (viommu.probe && dev.pci && vmmWireRequesterId(dev.pci) !== fwspec.ids[0]) {
      k.alloc.free(mem, 'viommu_probe_device');
      dev.history.push(
        `viommu_probe_endpoint(): the VMM answers NOENT for endpoint 0x${fwspec.ids[0].toString(16)}, which it does not route (hidden behind a bridge)`,
      );
      return ERR_PTR(-ENOENT);
    }
    // The device's reserved regions, as its PROBE reply lists them.
    const resv = (viommu.probe?.resv ?? []).map((r) =>
      iommu_alloc_resv_region(
        r.start,
        r.end - r.start + 1n,
        0,
        r.type === 'msi' ? IOMMU_RESV_MSI : 2 /* IOMMU_RESV_RESERVED */,
        `virtio-iommu PROBE reply (${r.type})`,
      ),
    );
    const ep: Endpoint = { mem, resv };
    dev.iommu!.priv = ep;
    return viommu.iommu;
  },
  release_device(k, dev) {
    const ep = dev.iommu?.priv as Endpoint | null;
    if (ep) k.alloc.free(ep.mem, 'viommu_release_device');
    if (dev.iommu) dev.iommu.priv = null;
  },
  device_group(k, dev) {
    return dev.pci ? pci_device_group(k, dev) : generic_device_group(k, dev);
  },
  /** viommu_get_resv_regions() */
  get_resv_regions(k, dev, list) {
    const ep = dev.iommu?.priv as Endpoint | null;
    const own = ep?.resv ?? [];
    list.push(...own.map((r) => ({ ...r })));
    if (!own.some((r) => r.type === IOMMU_RESV_MSI)) {
      list.push(softwareMsiRegion('software MSI window (no MSI bypass from PROBE)'));
    }
    iommu_dma_get_resv_regions(k, dev, list);
  },
  /** viommu_of_xlate(): one endpoint ID. */
  of_xlate(k, dev, args) {
    return iommu_fwspec_add_ids(k, dev, args.args.slice(0, 1), args.source);
  },
  /** viommu_domain_alloc() */
  domain_alloc(k, type) {
    if (type !== IOMMU_DOMAIN_UNMANAGED && type !== IOMMU_DOMAIN_DMA && type !== IOMMU_DOMAIN_IDENTITY)
      return null;
    const mem = k.alloc.alloc('viommu_domain', 'virtio-iommu', 'viommu_domain_alloc');
    if (!mem) return null;
    const d = new IommuDomain(type, null, 'virtio-iommu domain');
    d.mem = mem;
    return d;
  },
  capable: () => true,
};

/** viommu_probe(): register the instance, named and keyed after the PCI (or platform) transport device. */
function viommu_probe(k: Kernel, vdev: Device, probeInfo: ViommuProbeInfo | null): number {
  const parent = vdev.parent;
  if (!parent) return -ENODEV;
  const mem = k.alloc.alloc('viommu_dev', vdev.name, 'viommu_probe');
  if (!mem) return -ENOMEM;
  const iommu = new IommuDevice(parent.name, parent);
  const v: Viommu = { iommu, vdev, mem, probe: probeInfo };
  vdev.driverData = v;
  let ret = iommu_device_sysfs_add(k, iommu);
  if (ret) {
    k.alloc.free(mem, 'viommu_probe');
    vdev.driverData = undefined;
    return ret;
  }
  // The kernel ignores iommu_device_register()'s result here.
  ret = iommu_device_register(k, iommu, viommu_ops, parent);
  if (ret) k.printk.log('err', vdev.name, `iommu_device_register() returned ${ret}`);
  k.printk.log('info', vdev.name, 'input address: 64 bits');
  return 0;
}

function viommu_remove(k: Kernel, vdev: Device): void {
  const v = vdev.driverData as Viommu | undefined;
  if (!v) return;
  iommu_device_sysfs_remove(k, v.iommu);
  iommu_device_unregister(k, v.iommu);
  k.alloc.free(v.mem, 'viommu_remove');
  vdev.driverData = undefined;
}

/** The virtio_iommu driver; `probeInfo` is what the device answers to PROBE (null: no PROBE feature). */
export function virtioIommuDriver(k: Kernel, probeInfo: ViommuProbeInfo | null = null): DeviceDriver {
  return {
    name: 'virtio_iommu',
    bus: virtioBus(k),
    virtio_ids: [VIRTIO_ID_IOMMU],
    probe: (kk, vdev) => viommu_probe(kk, vdev, probeInfo),
    remove: viommu_remove,
  };
}
