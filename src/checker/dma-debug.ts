// SPDX-License-Identifier: GPL-2.0-only
/**
 * DMA-API debugging (kernel/dma/debug.c, 6.12) as a checker: every mapping a
 * driver makes through the DMA API is remembered until it is unmapped, and
 * the mistakes CONFIG_DMA_API_DEBUG catches are reported with its words:
 * unmapping what was never mapped, with another size, direction or
 * function, without having checked dma_mapping_error(), and a PCI driver
 * unbinding with mappings still live (dma_debug_add_bus() is only called for
 * the PCI bus). Debian kernels are built without it, so findings are kept
 * apart from the kernel log (KernelDmaDebug.errors), not printed.
 */
import type { BusType } from '../base/bus.js';
import { NOTIFY_DONE, bus_register_notifier } from '../base/bus.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import type { DmaDataDirection } from '../dma/dma-iommu.js';

export type DmaDebugType = 'single' | 'scatter-gather' | 'coherent' | 'resource';

interface Entry {
  readonly type: DmaDebugType;
  readonly dev_addr: number;
  readonly size: number;
  readonly direction: DmaDataDirection;
  /** MAP_ERR_NOT_CHECKED until dma_mapping_error() looked at the handle. */
  checked: boolean;
}

export interface DmaDebugError {
  readonly device: string;
  readonly message: string;
}

const dir2name: Readonly<Record<DmaDataDirection, string>> = {
  bidirectional: 'DMA_BIDIRECTIONAL',
  'to-device': 'DMA_TO_DEVICE',
  'from-device': 'DMA_FROM_DEVICE',
  none: 'DMA_NONE',
};

const hex = (v: number): string => `0x${v.toString(16).padStart(16, '0')}`;

export class DmaDebug {
  readonly errors: DmaDebugError[] = [];
  private readonly entries = new Map<Device, Map<number, Entry[]>>();

  private err(dev: Device, message: string): void {
    this.errors.push({ device: dev.name, message: `DMA-API: ${dev.name}: ${message}` });
  }

  /** add_dma_entry() */
  add(dev: Device, type: DmaDebugType, dev_addr: number, size: number, direction: DmaDataDirection): void {
    let m = this.entries.get(dev);
    if (!m) this.entries.set(dev, (m = new Map()));
    let list = m.get(dev_addr);
    if (!list) m.set(dev_addr, (list = []));
    // Coherent buffers need no error check: MAP_ERR_CHECK_NOT_APPLICABLE.
    list.push({ type, dev_addr, size, direction, checked: type === 'coherent' });
  }

  /** debug_dma_mapping_error(): mark the mapping's error as checked. */
  mappingError(dev: Device, dev_addr: number): void {
    for (const e of this.entries.get(dev)?.get(dev_addr) ?? []) e.checked = true;
  }

  /** check_unmap(): the entry must exist and match what the driver says it unmaps. */
  unmap(
    dev: Device,
    type: DmaDebugType,
    dev_addr: number,
    size: number,
    direction: DmaDataDirection | null,
  ): void {
    const m = this.entries.get(dev);
    const list = m?.get(dev_addr);
    if (!list || list.length === 0) {
      this.err(
        dev,
        `device driver tries to free DMA memory it has not allocated [device address=${hex(dev_addr)}] [size=${size} bytes]`,
      );
      return;
    }
    // hash_bucket_find(): the best match, by size then direction.
    const i = Math.max(
      0,
      list.findIndex((e) => e.size === size && (direction === null || e.direction === direction)),
    );
    const e = list.splice(i, 1)[0];
    if (list.length === 0) m!.delete(dev_addr);
    if (e.size !== size)
      this.err(
        dev,
        `device driver frees DMA memory with different size [device address=${hex(dev_addr)}] [map size=${e.size} bytes] [unmap size=${size} bytes]`,
      );
    if (e.type !== type)
      this.err(
        dev,
        `device driver frees DMA memory with wrong function [device address=${hex(dev_addr)}] [size=${e.size} bytes] [mapped as ${e.type}] [unmapped as ${type}]`,
      );
    if (direction !== null && e.direction !== direction)
      this.err(
        dev,
        `device driver frees DMA memory with different direction [device address=${hex(dev_addr)}] [size=${e.size} bytes] [mapped with ${dir2name[e.direction]}] [unmapped with ${dir2name[direction]}]`,
      );
    if (!e.checked)
      this.err(
        dev,
        `device driver failed to check map error[device address=${hex(dev_addr)}] [size=${e.size} bytes] [mapped as ${e.type}]`,
      );
  }

  /** Live mappings of a device. */
  count(dev: Device): number {
    let n = 0;
    for (const l of this.entries.get(dev)?.values() ?? []) n += l.length;
    return n;
  }

  /** dma_debug_device_change(BUS_NOTIFY_UNBOUND_DRIVER) */
  unbound(dev: Device): void {
    const m = this.entries.get(dev);
    const n = this.count(dev);
    if (!m || n === 0) return;
    let last: Entry | undefined;
    for (const l of m.values()) last = l[l.length - 1] ?? last;
    this.err(
      dev,
      `device driver has pending DMA allocations while released from device [count=${n}]\nOne of leaked entries details: [device address=${hex(last!.dev_addr)}] [size=${last!.size} bytes] [mapped with ${dir2name[last!.direction]}] [mapped as ${last!.type}]`,
    );
  }
}

/** dma_debug_add_bus(): check for live mappings when a driver unbinds from a device of this bus. */
export function dma_debug_add_bus(k: Kernel, bus: BusType): void {
  bus_register_notifier(k, bus, {
    name: 'dma_debug_device_change',
    notifier_call: (kk, action, dev) => {
      if (action === 'UNBOUND_DRIVER') dmaDebug(kk).unbound(dev);
      return NOTIFY_DONE;
    },
  });
}

const states = new WeakMap<Kernel, DmaDebug>();

/** The kernel's DMA-API debug state. */
export function dmaDebug(k: Kernel): DmaDebug {
  let d = states.get(k);
  if (!d) states.set(k, (d = new DmaDebug()));
  return d;
}
