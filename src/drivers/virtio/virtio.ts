// SPDX-License-Identifier: GPL-2.0-only
/**
 * The virtio bus and the virtio-pci transport, as far as an IOMMU cares
 * (drivers/virtio/virtio.c register_virtio_device(), drivers/virtio/
 * virtio_pci_common.c virtio_pci_probe()): binding virtio-pci to a PCI
 * function adds a `virtioN` device on the virtio bus, a child of the PCI
 * device, whose device ID says what it is (1 net, 2 block, 4 rng, 23 iommu …).
 * The virtio bus is not one of iommu_buses[]: virtio devices DMA as their PCI
 * parent.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { BusType } from '../../base/bus.js';
import type { DeviceDriver, PciDeviceId } from '../../base/driver.js';
import { Device } from '../../base/device.js';
import { bus_register, createBus } from '../../base/bus.js';
import { device_add, device_unregister } from '../../base/core.js';
import { ENOMEM } from '../../kernel/errno.js';

export const VIRTIO_ID_IOMMU = 23;
const PCI_VENDOR_ID_REDHAT_QUMRANET = 0x1af4;

/** Transitional (pre-1.0) PCI device IDs and the virtio device each one is. */
const transitional: Readonly<Record<number, number>> = {
  0x1000: 1, // net
  0x1001: 2, // block
  0x1002: 5, // balloon
  0x1003: 3, // console
  0x1004: 8, // scsi
  0x1005: 4, // rng
  0x1009: 9, // 9p
};

/** The virtio device ID a virtio-pci function carries: modern 0x1040 + id, or the transitional table. */
export function virtioDeviceId(pciDevice: number): number | null {
  if (pciDevice >= 0x1040 && pciDevice <= 0x107f) return pciDevice - 0x1040;
  return transitional[pciDevice] ?? null;
}

/** The virtio bus, registered on first use. */
export function virtioBus(k: Kernel): BusType {
  let bus = k.base.buses.get('virtio');
  if (!bus) {
    bus = createBus('virtio', {
      match: (dev, drv) => drv.virtio_ids?.includes(virtioInfo.get(dev)?.id ?? -1) ?? false,
    });
    bus_register(k, bus);
  }
  return bus;
}

interface VirtioInfo {
  readonly id: number;
  readonly index: number;
}
const virtioInfo = new WeakMap<Device, VirtioInfo>();

/** The virtio device ID of a device on the virtio bus. */
export function virtio_device_id(dev: Device): number | null {
  return virtioInfo.get(dev)?.id ?? null;
}

/** register_virtio_device(): virtioN (the lowest free index), a child of the transport's device. */
function register_virtio_device(k: Kernel, parent: Device, id: number): Device | number {
  const bus = virtioBus(k);
  const used = new Set([...bus.devices].map((d) => virtioInfo.get(d)?.index));
  let index = 0;
  while (used.has(index)) index++;
  const mem = k.alloc.alloc('virtio_pci_device', parent, 'virtio_pci_probe');
  if (!mem) return -ENOMEM;
  const dev = new Device(`virtio${index}`);
  dev.mem = mem;
  dev.bus = bus;
  dev.parent = parent;
  dev.release = (kk, d) => {
    kk.alloc.free(d.mem, 'virtio_pci_release_dev');
    d.mem = null;
  };
  virtioInfo.set(dev, { id, index });
  const ret = device_add(k, dev);
  if (ret) {
    k.alloc.free(mem, 'virtio_pci_probe');
    return ret;
  }
  return dev;
}

/** The virtio-pci driver: Red Hat/Qumranet 1af4:1000-107f. */
export function virtioPciDriver(k: Kernel, name = 'virtio-pci'): DeviceDriver {
  const bus = k.base.buses.get('pci');
  if (!bus) throw new Error('virtio-pci: no pci bus');
  const ids: PciDeviceId[] = [];
  for (let d = 0x1000; d <= 0x107f; d++) ids.push({ vendor: PCI_VENDOR_ID_REDHAT_QUMRANET, device: d });
  return {
    name,
    bus,
    pci_id_table: ids,
    probe(kk, dev) {
      const id = virtioDeviceId(dev.pci?.device ?? -1);
      if (id === null) return -19; // -ENODEV: not a virtio device ID we know
      const vdev = register_virtio_device(kk, dev, id);
      if (typeof vdev === 'number') return vdev;
      dev.driverData = vdev;
      return 0;
    },
    remove(kk, dev) {
      const vdev = dev.driverData as Device | undefined;
      if (vdev && vdev.state === 'registered') device_unregister(kk, vdev);
      dev.driverData = undefined;
    },
  };
}
