// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommu_fwspec: the firmware-derived description of how a device
 * reaches its IOMMU (which instance, by fwnode, and the driver-private IDs).
 * Mirrors iommu_fwspec_init(), iommu_fwspec_add_ids() and iommu_fwspec_free()
 * in drivers/iommu/iommu.c, per profile (KernelProfile.fwspecInit, ready).
 */
import type { Allocation } from '../kernel/alloc.js';
import type { Device } from '../base/device.js';
import type { Fwnode } from '../base/fwnode.js';
import type { Kernel } from '../kernel/kernel.js';
import type { IommuOps } from './ops.js';
import { EINVAL, ENOMEM, EPROBE_DEFER } from '../kernel/errno.js';
import { dev_iommu_fwspec_get, dev_iommu_get } from './dev-iommu.js';
import { fwnode_handle_get, fwnode_handle_put } from './fwnode-ref.js';
import { iommu_from_fwnode, iommu_ops_from_fwnode } from './iommu-device.js';

export const IOMMU_FWSPEC_PCI_RC_ATS = 1 << 0;
export const IOMMU_FWSPEC_PCI_RC_CANWBS = 1 << 1;

export class IommuFwspec {
  /** v6.8 to v6.10 only: the ops given to iommu_fwspec_init(), possibly NULL. */
  ops: IommuOps | null = null;
  flags = 0;
  ids: number[] = [];
  /** Made before device_add() by bus code (a pre-seeded fwspec), not by firmware parsing at probe. */
  seededByBus = false;
  /** Where the IDs came from, for "explain": one entry per add_ids call. */
  readonly sources: string[] = [];

  constructor(
    public mem: Allocation,
    readonly iommu_fwnode: Fwnode | null,
  ) {}

  get num_ids(): number {
    return this.ids.length;
  }
}

/** The slab size classes kmalloc() rounds to: krealloc() moves only past one. */
const kmallocSizes = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
function kmallocSize(bytes: number): number {
  return kmallocSizes.find((s) => s >= bytes) ?? bytes;
}

/** sizeof(struct iommu_fwspec) + n ids: the ops pointer exists only with fwspec->ops. */
function fwspecBytes(k: Kernel, nIds: number): number {
  const header = k.profile.fwspecInit === 'with-ops' ? 24 : 16;
  return header + 4 * Math.max(nIds, 1);
}

/** iommu_fwspec_ops(): the ops for the fwspec's instance (or the first global one). */
export function iommu_fwspec_ops(k: Kernel, fwspec: IommuFwspec | null): IommuOps | null {
  return iommu_ops_from_fwnode(k, fwspec ? fwspec.iommu_fwnode : null);
}

/**
 * iommu_fwspec_init(). `ops` is used only by profiles whose kernel took it as
 * an argument ('with-ops'); the others resolve the instance from the fwnode.
 */
export function iommu_fwspec_init(
  k: Kernel,
  dev: Device,
  iommu_fwnode: Fwnode | null,
  ops: IommuOps | null = null,
): number {
  let fwspec = dev_iommu_fwspec_get(dev);
  if (k.profile.fwspecInit === 'with-ops') {
    if (fwspec) return ops === fwspec.ops ? 0 : -EINVAL;
  } else {
    const iommu = iommu_from_fwnode(k, iommu_fwnode);
    if (!iommu) return -EPROBE_DEFER;
    // v6.15+: a device without dev_iommu must wait until registration finished.
    if (k.profile.ready !== 'none' && !dev.iommu && !iommu.ready) return -EPROBE_DEFER;
    if (fwspec) return iommu.ops === iommu_fwspec_ops(k, fwspec) ? 0 : -EINVAL;
  }

  const param = dev_iommu_get(k, dev);
  if (!param) return -ENOMEM;
  const mem = k.alloc.alloc('iommu_fwspec', dev, 'iommu_fwspec_init');
  if (!mem) return -ENOMEM;
  if (k.profile.fwspecInit === 'with-ops') {
    // of_node_get(to_of_node(fwnode)): only an OF node gains a reference here,
    // while dev_iommu_free() puts any fwnode (the asymmetry fixed in v6.11).
    if (iommu_fwnode?.kind === 'of') fwnode_handle_get(iommu_fwnode);
  } else {
    fwnode_handle_get(iommu_fwnode);
  }
  fwspec = new IommuFwspec(mem, iommu_fwnode);
  if (k.profile.fwspecInit === 'with-ops') fwspec.ops = ops;
  param.fwspec = fwspec;
  return 0;
}

/** iommu_fwspec_free(): frees only the fwspec; dev->iommu stays. */
export function iommu_fwspec_free(k: Kernel, dev: Device): void {
  const fwspec = dev_iommu_fwspec_get(dev);
  if (!fwspec || !dev.iommu) return;
  fwnode_handle_put(k, fwspec.iommu_fwnode);
  k.alloc.free(fwspec.mem, 'iommu_fwspec_free');
  dev.iommu.fwspec = null;
}

/**
 * iommu_fwspec_add_ids(): -EINVAL without a fwspec; krealloc() when the IDs
 * outgrow the slab object, which moves the fwspec (cached pointers go stale).
 */
export function iommu_fwspec_add_ids(k: Kernel, dev: Device, ids: readonly number[], source = ''): number {
  const fwspec = dev_iommu_fwspec_get(dev);
  if (!fwspec) return -EINVAL;
  const newNum = fwspec.num_ids + ids.length;
  if (newNum > 1 && kmallocSize(fwspecBytes(k, newNum)) > kmallocSize(fwspecBytes(k, fwspec.num_ids))) {
    const mem = k.alloc.alloc('iommu_fwspec', dev, 'iommu_fwspec_add_ids');
    if (!mem) return -ENOMEM;
    k.alloc.free(fwspec.mem, 'iommu_fwspec_add_ids');
    fwspec.mem = mem;
  }
  fwspec.ids.push(...ids.map((id) => id >>> 0));
  if (source) fwspec.sources.push(source);
  return 0;
}
