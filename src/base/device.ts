// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct device, as far as the IOMMU core sees it (include/linux/device.h).
 * Field names follow the kernel's so that the model reads like the source.
 */
import type { Allocation, OwnerHistory } from '../kernel/alloc.js';
import type { Fwnode } from './fwnode.js';
import type { BusType } from './bus.js';
import type { DeviceDriver } from './driver.js';
import type { DevIommu } from '../iommu/dev-iommu.js';
import type { IommuGroup } from '../iommu/group.js';
import type { IommuDomain } from '../iommu/domain.js';
import type { PciDev } from '../pci/pci-dev.js';
import type { Kernel } from '../kernel/kernel.js';

export type DeviceState = 'initialized' | 'registered' | 'deleted';

export class Device {
  bus: BusType | null = null;
  parent: Device | null = null;
  /** dev->fwnode: the device's firmware node (OF node, ACPI companion or swnode). */
  fwnode: Fwnode | null = null;
  driver: DeviceDriver | null = null;
  /** dev->iommu: allocated lazily by dev_iommu_get(), freed by dev_iommu_free(). */
  iommu: DevIommu | null = null;
  /** dev->iommu_group: the membership reference from device_group(). */
  iommu_group: IommuGroup | null = null;
  /** The domain the IOMMU hardware last attached this device to (attach_dev() succeeded). */
  hwDomain: IommuDomain | null = null;
  /** dev->dma_iommu: iommu-dma ops installed (iommu_setup_dma_ops()). */
  dma_iommu = false;
  /** *dev->dma_mask and dev->coherent_dma_mask as DMA_BIT_MASK(n) widths (32 until the driver sets them). */
  dma_mask_bits = 32;
  coherent_dma_mask_bits = 32;
  /** dev->bus_dma_limit: what the interconnect allows (0: no limit). */
  bus_dma_limit = 0;
  /** dev_is_dma_coherent(): mappings get IOMMU_CACHE. */
  dma_coherent = true;
  /** dev->dma_parms: PCI functions get 64K segments that do not cross 4G; null means the defaults (64K, no boundary). */
  dma_parms: { max_segment_size: number; segment_boundary_mask: number } | null = null;
  /** dev->p: the driver core's private data, allocated by device_add(). */
  p: Allocation | null = null;
  /** The struct this device is embedded in, when allocated by model code. */
  mem: Allocation | null = null;
  /** dev->release(), called when the last reference goes. */
  release: ((k: Kernel, dev: Device) => void) | null = null;
  state: DeviceState = 'initialized';
  /** The kref on the device's kobject. */
  refcount = 1;
  /** Set for PCI functions: to_pci_dev(). */
  pci: PciDev | null = null;
  /** Its MSIs cannot be forged by DMA (interrupt remapping / ITS): msi_device_has_isolated_msi(). */
  msiIsolated = true;
  /** Where its MSIs go, when firmware says (the MSI controller's node, the ID it sees, and why). */
  msi: { readonly controller: string | null; readonly id: number | null; readonly source: string } | null =
    null;
  /** Which driver (by name) would match this device: the bus's id tables, reduced to a name. */
  match_driver: string | null = null;
  /** Driver probe was deferred and the device sits on the deferred list. */
  deferred = false;
  /** Which path the IOMMU core probed this device on (see IommuCoreState.probeContext). */
  iommuProbedAt: string | null = null;
  /** On its driver's klist_devices: driver_bound() ran (driver_find_device() finds it). */
  bound = false;
  /** dev_get_drvdata(): the bound driver's private data. */
  driverData: unknown = undefined;
  /** What the modelled allocator handed out for this device (Allocator.history()). */
  allocations: OwnerHistory | null = null;
  /**
   * Kernel log of where this device's IOMMU configuration happened (for
   * "explain"): the lines in order, a line added again right after itself
   * followed by how many times in all (a number, not a line).
   */
  private readonly lines: (string | number)[] = [];

  constructor(public name: string) {}

  /** Where this device's IOMMU configuration happened, oldest first (for "explain"). */
  get history(): readonly string[] {
    const out: string[] = [];
    for (const l of this.lines)
      if (typeof l === 'number') out[out.length - 1] += ` (×${l})`;
      else out.push(l);
    return out;
  }

  /**
   * Add a line to the history. The same line again right after itself is
   * counted, not added: a device behind the last of many IOMMU instances is
   * turned down once by each instance registered before its own. Nothing is
   * made per repeat (a million devices, each turned down a dozen times, would
   * otherwise make a dozen million strings that each outlive a whole walk).
   */
  addHistory(line: string): void {
    const n = this.lines.length;
    const last = this.lines[n - 1];
    if (line === last) this.lines.push(2);
    else if (typeof last === 'number' && line === this.lines[n - 2]) this.lines[n - 1] = last + 1;
    else this.lines.push(line);
  }

  /** The latest line of the history that starts with `prefix` (as added, without its count). */
  lastHistory(prefix: string): string | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const l = this.lines[i];
      if (typeof l === 'string' && l.startsWith(prefix)) return l;
    }
    return undefined;
  }

  toString(): string {
    return this.name;
  }
}

/** The lines sharedHistoryLine() made, by what each is about. */
const sharedLines = new WeakMap<object, Map<string | number, string>>();

/**
 * A history line that many devices have word for word (a driver's -ENODEV
 * on each walk by an instance that does not serve them, a DMAR scope that
 * covers a segment), made once per thing it is about (`about`, the ops or
 * the DMAR unit, and a `variant` of it) and shared: on a platform with many
 * IOMMU instances every device collects one such line per instance
 * registered before its own, and a million functions would otherwise build
 * and hold a copy each.
 *
 * `make` gets what it needs as arguments, not by closing over its caller's
 * variables: a closure there makes the caller allocate a context on every
 * call (and on every turn of a loop whose variables it captures), which was
 * most of what a million-function boot allocated.
 */
export function sharedHistoryLine<A extends object, V extends string | number>(
  about: A,
  variant: V,
  make: (about: A, variant: V) => string,
): string {
  let lines = sharedLines.get(about);
  if (!lines) sharedLines.set(about, (lines = new Map()));
  let line = lines.get(variant);
  if (line === undefined) lines.set(variant, (line = make(about, variant)));
  return line;
}

/** dev_fwnode() */
export function dev_fwnode(dev: Device): Fwnode | null {
  return dev.fwnode;
}

/** dev_is_pci() */
export function dev_is_pci(dev: Device): boolean {
  return dev.pci !== null;
}

/** device_is_registered() */
export function device_is_registered(dev: Device): boolean {
  return dev.state === 'registered';
}
