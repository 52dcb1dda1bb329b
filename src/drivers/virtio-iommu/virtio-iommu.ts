// SPDX-License-Identifier: GPL-2.0-only
/**
 * virtio-iommu (drivers/iommu/virtio-iommu.c, Linux 6.12): a virtio driver
 * whose probe registers an IOMMU instance named after the transport's PCI
 * device ("0000:00:01.0") and keyed by that device's fwnode, which ACPI VIOT
 * (or the device tree) gave it. Endpoints reach it through a fwspec holding
 * their endpoint IDs. The instance is looked up with driver_find_device() on
 * the virtio-iommu driver, so only once its own probe has completed.
 *
 * Everything the driver does to the device is a request on the request
 * virtqueue, answered by the device (vmm-device.ts, QEMU's): PROBE at
 * probe_device (reserved regions; without an MSI bypass window the driver
 * adds the software MSI window), ATTACH at attach_dev, DETACH at
 * release_device, MAP per map_pages call and UNMAP per unmap_pages call.
 * ATTACH, DETACH and PROBE are sent and waited for one at a time
 * (viommu_send_req_sync()); MAP and UNMAP are only queued
 * (viommu_add_req()) and reach the device when the queue is kicked: at
 * iotlb_sync_map, iotlb_sync and flush_iotlb_all (viommu_sync_req()), at the
 * next synchronous request, or when the queue is full. Under DMA-FQ an UNMAP
 * therefore waits in the queue until the flush queue flushes (or anything
 * else kicks), and the device translates the old mapping until then.
 *
 * Domains (6.12 has the legacy domain_alloc()): allocated bare, finalised at
 * the first attach with the instance's page sizes, input range and a domain
 * ID from the config's domain range (viommu_domain_finalise()); identity
 * domains bypass with VIRTIO_IOMMU_F_BYPASS_CONFIG, otherwise they are
 * identity-mapped around the endpoint's reserved regions. The driver keeps
 * its own interval tree of mappings (viommu_iova_to_phys() reads it, and
 * viommu_replay_mappings() re-sends it when a domain gets its first
 * endpoint again); the device keeps its own.
 *
 * Counting: each UNMAP request is an invalidation (Iotlb.commands, with its
 * granule pages), each viommu_sync_req() a sync (Iotlb.syncs); every request
 * by type, and every kick, in viommuRequestStats().
 *
 * Not modelled: the indirect-descriptor allocations of the virtqueue, the
 * IDA's own memory, config-space change notifications.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { IommuResvRegion } from '../../iommu/resv-regions.js';
import type { IommuDomainGeometry, IommuDomainOps } from '../../iommu/domain.js';
import type { IommuIotlbGather } from '../../iommu/map.js';
import {
  EFAULT,
  EINVAL,
  EIO,
  ENODEV,
  ENOENT,
  ENOMEM,
  ENOSPC,
  errnoNames,
  EOVERFLOW,
  ERANGE,
  ERR_PTR,
} from '../../kernel/errno.js';
import {
  IOMMU_DOMAIN_DMA,
  IOMMU_DOMAIN_IDENTITY,
  IOMMU_DOMAIN_UNMANAGED,
  IommuDomain,
  domainTypeSysfs,
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
import {
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_READ,
  IOMMU_RESV_MSI,
  IOMMU_RESV_RESERVED,
  IOMMU_WRITE,
  iommu_alloc_resv_region,
  softwareMsiRegion,
} from '../../iommu/resv-regions.js';
import { iommu_dma_get_resv_regions } from '../../iommu/dma-resv.js';
import { kernelPageSize } from '../../kernel/kconfig.js';
import { VIRTIO_ID_IOMMU, virtioBus } from '../virtio/virtio.js';
import { IntervalTree } from './interval-tree.js';
import { vmmEndpointOf, vmmKnowsEndpoint } from './vmm-endpoints.js';
import { viommu_fault_handler } from './fault.js';
import {
  type ViommuDeviceConfig,
  type ViommuRequest,
  type ViommuResvProp,
  ViommuVmm,
  VIRTIO_F_VERSION_1,
  VIRTIO_IOMMU_ATTACH_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_F_MMIO,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_MAP_F_MMIO,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_RESV_MEM_T_MSI,
  VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
  VIRTIO_IOMMU_S_FAULT,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_NOMEM,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_RANGE,
  VIRTIO_IOMMU_S_UNSUPP,
  qemuViommuConfig,
} from './vmm-device.js';

/** What the device answers to PROBE requests (VIRTIO_IOMMU_F_PROBE): reserved regions per endpoint. */
export interface ViommuProbeInfo {
  readonly resv: readonly {
    readonly start: bigint;
    readonly end: bigint;
    readonly type: 'msi' | 'reserved';
  }[];
}

/** Requests sent to one instance, by type, and how often the queue was kicked (__viommu_sync_req()). */
export interface ViommuRequestStats {
  attach: number;
  detach: number;
  map: number;
  unmap: number;
  probe: number;
  kicks: number;
}

/** A request on the queue (struct viommu_request): its buffer and, once the device answered, its status. */
interface PendingRequest {
  readonly req: ViommuRequest;
  readonly mem: Allocation;
  status: number | null;
  props: ViommuResvProp[] | undefined;
}

/** struct viommu_dev */
interface Viommu {
  readonly iommu: IommuDevice;
  readonly vdev: Device;
  /** devm_kzalloc() of the viommu_dev, and of the event buffers (viommu_fill_evtq()). */
  readonly mem: Allocation;
  readonly evts: Allocation;
  /** The device behind the virtqueues. */
  readonly vmm: ViommuVmm;
  /** The negotiated features. */
  readonly features: ReadonlySet<number>;
  /** domain_ids (struct ida) */
  readonly domain_ids: Set<number>;
  readonly geometry: IommuDomainGeometry;
  readonly pgsize_bitmap: bigint;
  readonly first_domain: number;
  readonly last_domain: number;
  readonly map_flags: number;
  readonly probe_size: number;
  /** viommu->requests: added, not yet completed. */
  readonly requests: PendingRequest[];
  readonly stats: ViommuRequestStats;
}

/** struct viommu_endpoint */
interface ViommuEndpoint {
  readonly dev: Device;
  readonly viommu: Viommu;
  readonly mem: Allocation;
  vdomain: ViommuDomain | null;
  /** Sorted by start, as viommu_add_resv_mem() keeps them. */
  readonly resv_regions: IommuResvRegion[];
}

/** struct viommu_mapping */
interface ViommuMapping {
  readonly paddr: number;
  readonly flags: number;
  readonly mem: Allocation;
}

/** struct viommu_domain */
class ViommuDomain extends IommuDomain {
  viommu: Viommu | null = null;
  id = 0;
  map_flags = 0;
  readonly mappings = new IntervalTree<ViommuMapping>();
  nr_endpoints = 0;
  bypass = false;
}

/** The driver's feature table (features[] in virtio-iommu.c); the transport adds VIRTIO_F_VERSION_1. */
const driverFeatures = new Set([
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_F_MMIO,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_F_VERSION_1,
]);

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** viommu_get_req_errno() */
function viommu_get_req_errno(status: number): number {
  switch (status) {
    case VIRTIO_IOMMU_S_OK:
      return 0;
    case VIRTIO_IOMMU_S_UNSUPP:
      return -errnoNames.ENOSYS;
    case VIRTIO_IOMMU_S_INVAL:
      return -EINVAL;
    case VIRTIO_IOMMU_S_RANGE:
      return -ERANGE;
    case VIRTIO_IOMMU_S_NOENT:
      return -ENOENT;
    case VIRTIO_IOMMU_S_FAULT:
      return -EFAULT;
    case VIRTIO_IOMMU_S_NOMEM:
      return -ENOMEM;
    default:
      return -EIO;
  }
}

/** __viommu_sync_req(): kick, and the device completes every request in the queue, in order. */
function __viommu_sync_req(k: Kernel, viommu: Viommu): number {
  viommu.stats.kicks++;
  for (const p of viommu.requests) {
    const r = viommu.vmm.handle(p.req);
    p.status = r.status;
    p.props = r.props;
    k.alloc.free(p.mem, '__viommu_sync_req');
  }
  viommu.requests.length = 0;
  return 0;
}

/** viommu_sync_req(): what the IOTLB ops call; counted as the instance's sync. */
function viommu_sync_req(k: Kernel, viommu: Viommu): number {
  viommu.iommu.iotlb.sync();
  return __viommu_sync_req(k, viommu);
}

/**
 * __viommu_add_req(): the request's buffer (kzalloc), on the queue; a full
 * queue (-ENOSPC from virtqueue_add_sgs()) is synced and the add retried.
 */
function __viommu_add_req(k: Kernel, viommu: Viommu, req: ViommuRequest): PendingRequest | number {
  const mem = k.alloc.alloc('viommu_request', viommu.vdev, '__viommu_add_req');
  if (!mem) return -ENOMEM;
  if (viommu.requests.length >= viommu.vmm.config.queue_size) __viommu_sync_req(k, viommu);
  const p: PendingRequest = { req, mem, status: null, props: undefined };
  viommu.requests.push(p);
  viommu.stats[req.type]++;
  return p;
}

/** viommu_add_req(): queued, not kicked. */
function viommu_add_req(k: Kernel, viommu: Viommu, req: ViommuRequest): number {
  const p = __viommu_add_req(k, viommu, req);
  return typeof p === 'number' ? p : 0;
}

/** viommu_send_req_sync(): queued, kicked, and the request's own status as an errno. */
function viommu_send_req_sync(
  k: Kernel,
  viommu: Viommu,
  req: ViommuRequest,
): { ret: number; props?: ViommuResvProp[] } {
  const p = __viommu_add_req(k, viommu, req);
  if (typeof p === 'number') return { ret: p };
  __viommu_sync_req(k, viommu);
  return { ret: viommu_get_req_errno(p.status ?? VIRTIO_IOMMU_S_OK), props: p.props };
}

/** viommu_add_mapping(): a node in the driver's tree (kzalloc, GFP_ATOMIC). */
function viommu_add_mapping(
  k: Kernel,
  vdomain: ViommuDomain,
  iova: number,
  end: number,
  paddr: number,
  flags: number,
): number {
  const mem = k.alloc.alloc('viommu_mapping', vdomain.label, 'viommu_add_mapping');
  if (!mem) return -ENOMEM;
  vdomain.mappings.insert(iova, end, { paddr, flags, mem });
  return 0;
}

/**
 * viommu_del_mappings(): whole mappings overlapping [iova, end], in order,
 * stopping at one that starts before iova (a MAP is never split); the bytes
 * removed.
 */
function viommu_del_mappings(k: Kernel, vdomain: ViommuDomain, iova: number, end: number): number {
  let unmapped = 0;
  let next = vdomain.mappings.iterFirst(iova, end);
  while (next) {
    const node = next;
    next = vdomain.mappings.iterNext(node, iova, end);
    if (node.start < iova) break;
    unmapped += node.last - node.start + 1;
    vdomain.mappings.remove(node);
    k.alloc.free(node.value.mem, 'viommu_del_mappings');
  }
  return unmapped;
}

const alignDown = (v: number, a: number): number => v - (v % a);
const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/** viommu_domain_map_identity(): identity mappings over the aperture, around the endpoint's reserved regions. */
function viommu_domain_map_identity(k: Kernel, vdev: ViommuEndpoint, vdomain: ViommuDomain): number {
  const flags = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
  const granule = Number(lowBit64(BigInt(vdomain.pgsize_bitmap)));
  const g = vdomain.geometry!;
  let iova = alignUp(g.aperture_start, granule);
  const limit = alignDown(g.aperture_end + 1, granule) - 1;
  let ret = 0;
  for (const resv of vdev.resv_regions) {
    const resv_start = alignDown(Number(resv.start), granule);
    const resv_end = alignUp(Number(resv.start + resv.length), granule) - 1;
    if (resv_end < iova || resv_start > limit) continue;
    if (resv_start > iova) {
      ret = viommu_add_mapping(k, vdomain, iova, resv_start - 1, iova, flags);
      if (ret) break;
    }
    if (resv_end >= limit) return 0;
    iova = resv_end + 1;
  }
  if (!ret) ret = viommu_add_mapping(k, vdomain, iova, limit, iova, flags);
  if (!ret) return 0;
  viommu_del_mappings(k, vdomain, 0, iova);
  return ret;
}

/** viommu_replay_mappings(): MAP every mapping in the driver's tree again, waiting for each. */
function viommu_replay_mappings(k: Kernel, vdomain: ViommuDomain): number {
  const viommu = vdomain.viommu!;
  for (const n of vdomain.mappings) {
    const { ret } = viommu_send_req_sync(k, viommu, {
      type: 'map',
      domain: vdomain.id,
      virt_start: n.start,
      virt_end: n.last,
      phys_start: n.value.paddr,
      flags: n.value.flags,
    });
    if (ret) return ret;
  }
  return 0;
}

/** The lowest set bit of a 64-bit mask (1UL << __ffs()). */
function lowBit64(v: bigint): bigint {
  return v & -v;
}

/** ida_alloc_range(): the lowest free ID in [min, max], or -ENOSPC. */
function ida_alloc_range(ids: Set<number>, min: number, max: number): number {
  for (let id = min; id <= max; id++) {
    if (!ids.has(id)) {
      ids.add(id);
      return id;
    }
  }
  return -ENOSPC;
}

/** viommu_domain_finalise(): at the first attach, once the instance is known. */
function viommu_domain_finalise(k: Kernel, vdev: ViommuEndpoint, vdomain: ViommuDomain): number {
  const viommu = vdev.viommu;
  const pageSize = kernelPageSize(k.kconfig);
  const granule = lowBit64(viommu.pgsize_bitmap);
  if (granule > BigInt(pageSize)) {
    k.printk.log(
      'err',
      vdev.dev.name,
      `granule 0x${granule.toString(16)} larger than system page size 0x${pageSize.toString(16)}`,
    );
    return -ENODEV;
  }
  const id = ida_alloc_range(viommu.domain_ids, viommu.first_domain, viommu.last_domain);
  if (id < 0) return id;
  vdomain.id = id;
  vdomain.pgsize_bitmap = Number(viommu.pgsize_bitmap);
  vdomain.geometry = viommu.geometry;
  vdomain.map_flags = viommu.map_flags;
  vdomain.viommu = viommu;
  vdomain.iommu = viommu.iommu;
  if (vdomain.type === IOMMU_DOMAIN_IDENTITY) {
    if (viommu.features.has(VIRTIO_IOMMU_F_BYPASS_CONFIG)) {
      vdomain.bypass = true;
      return 0;
    }
    const ret = viommu_domain_map_identity(k, vdev, vdomain);
    if (ret) {
      viommu.domain_ids.delete(vdomain.id);
      vdomain.viommu = null;
      vdomain.iommu = null;
      return ret;
    }
  }
  return 0;
}

/** viommu_domain_free(): the driver's mappings and the domain ID go; the device was told nothing. */
function viommu_domain_free(k: Kernel, domain: IommuDomain): void {
  const vdomain = domain as ViommuDomain;
  viommu_del_mappings(k, vdomain, 0, Infinity);
  if (vdomain.viommu) vdomain.viommu.domain_ids.delete(vdomain.id);
  k.alloc.free(domain.mem, 'viommu_domain_free');
  domain.mem = null;
}

/** viommu_attach_dev() */
function viommu_attach_dev(k: Kernel, domain: IommuDomain, dev: Device): number {
  const vdomain = domain as ViommuDomain;
  const fwspec = dev_iommu_fwspec_get(dev);
  const vdev = dev.iommu?.priv as ViommuEndpoint | null;
  if (!fwspec || !vdev) return -ENODEV;
  let ret = 0;
  if (!vdomain.viommu) ret = viommu_domain_finalise(k, vdev, vdomain);
  else if (vdomain.viommu !== vdev.viommu) ret = -EINVAL;
  if (ret) return ret;
  // The device detaches the endpoint from its old domain (dropping that domain if it empties);
  // the driver keeps the old domain and its mappings for a later reattach.
  if (vdev.vdomain) vdev.vdomain.nr_endpoints--;
  const flags = vdomain.bypass ? VIRTIO_IOMMU_ATTACH_F_BYPASS : 0;
  for (const id of fwspec.ids) {
    ret = viommu_send_req_sync(k, vdomain.viommu!, {
      type: 'attach',
      domain: vdomain.id,
      endpoint: id,
      flags,
    }).ret;
    if (ret) return ret;
  }
  if (!vdomain.nr_endpoints) {
    // The first endpoint: the device's domain is new, replay what the driver has (the SW MSI page, …).
    ret = viommu_replay_mappings(k, vdomain);
    if (ret) return ret;
  }
  vdomain.nr_endpoints++;
  vdev.vdomain = vdomain;
  return 0;
}

/** viommu_detach_dev(): at release; a failed DETACH only WARNs. */
function viommu_detach_dev(k: Kernel, vdev: ViommuEndpoint): void {
  const vdomain = vdev.vdomain;
  if (!vdomain) return;
  const fwspec = dev_iommu_fwspec_get(vdev.dev);
  for (const id of fwspec?.ids ?? []) {
    const { ret } = viommu_send_req_sync(k, vdev.viommu, {
      type: 'detach',
      domain: vdomain.id,
      endpoint: id,
    });
    k.printk.warn(ret !== 0, 'viommu_detach_dev', 'WARN_ON(viommu_send_req_sync(...))', vdev.dev.name);
  }
  vdomain.nr_endpoints--;
  vdev.vdomain = null;
}

/** viommu_map_pages(): one MAP request for the whole run, queued once the domain has endpoints. */
function viommu_map_pages(
  k: Kernel,
  domain: IommuDomain,
  iova: number,
  paddr: number,
  pgsize: number,
  pgcount: number,
  prot: number,
  out: { mapped: number },
): number {
  const vdomain = domain as ViommuDomain;
  const size = pgsize * pgcount;
  const end = iova + size - 1;
  const flags =
    (prot & IOMMU_READ ? VIRTIO_IOMMU_MAP_F_READ : 0) |
    (prot & IOMMU_WRITE ? VIRTIO_IOMMU_MAP_F_WRITE : 0) |
    (prot & IOMMU_MMIO ? VIRTIO_IOMMU_MAP_F_MMIO : 0);
  // Before finalise map_flags is 0: nothing can be mapped yet.
  if (flags & ~vdomain.map_flags) return -EINVAL;
  let ret = viommu_add_mapping(k, vdomain, iova, end, paddr, flags);
  if (ret) return ret;
  if (vdomain.nr_endpoints) {
    ret = viommu_add_req(k, vdomain.viommu!, {
      type: 'map',
      domain: vdomain.id,
      virt_start: iova,
      virt_end: end,
      phys_start: paddr,
      flags,
    });
    if (ret) {
      viommu_del_mappings(k, vdomain, iova, end);
      return ret;
    }
  }
  out.mapped += size;
  return 0;
}

/** viommu_unmap_pages(): whole mappings only; one UNMAP request for what went, queued. */
function viommu_unmap_pages(
  k: Kernel,
  domain: IommuDomain,
  iova: number,
  pgsize: number,
  pgcount: number,
  _gather: IommuIotlbGather,
): number {
  const vdomain = domain as ViommuDomain;
  const size = pgsize * pgcount;
  const unmapped = viommu_del_mappings(k, vdomain, iova, iova + size - 1);
  if (unmapped < size) return 0;
  // After the last detach the device dropped the domain's mappings itself.
  if (!vdomain.nr_endpoints) return unmapped;
  const viommu = vdomain.viommu!;
  const ret = viommu_add_req(k, viommu, {
    type: 'unmap',
    domain: vdomain.id,
    virt_start: iova,
    virt_end: iova + unmapped - 1,
  });
  if (ret) return 0;
  // The UNMAP is this driver's invalidation: one command for the range, counted in granules.
  viommu.iommu.iotlb.invalidateRange(
    domain,
    iova,
    iova + unmapped - 1,
    Number(lowBit64(viommu.pgsize_bitmap)),
    1,
  );
  return unmapped;
}

/** viommu_iova_to_phys(): from the driver's own tree. */
function viommu_iova_to_phys(_k: Kernel, domain: IommuDomain, iova: number): number {
  const n = (domain as ViommuDomain).mappings.iterFirst(iova, iova);
  return n ? n.value.paddr + (iova - n.start) : 0;
}

/** viommu_iotlb_sync(): kicks whatever the domain's instance has queued. */
function viommu_iotlb_sync(k: Kernel, domain: IommuDomain): void {
  const viommu = (domain as ViommuDomain).viommu;
  // The kernel dereferences vdomain->viommu unconditionally.
  if (k.printk.warn(!viommu, 'viommu_iotlb_sync', 'BUG: kernel NULL pointer dereference: vdomain->viommu'))
    return;
  viommu_sync_req(k, viommu!);
}

/** viommu_iotlb_sync_map(): nothing to kick before the domain has endpoints. */
function viommu_iotlb_sync_map(k: Kernel, domain: IommuDomain): number {
  const vdomain = domain as ViommuDomain;
  if (!vdomain.nr_endpoints) return 0;
  return viommu_sync_req(k, vdomain.viommu!);
}

/** viommu_flush_iotlb_all() */
function viommu_flush_iotlb_all(k: Kernel, domain: IommuDomain): void {
  const vdomain = domain as ViommuDomain;
  if (!vdomain.nr_endpoints) return;
  viommu_sync_req(k, vdomain.viommu!);
}

/**
 * The device's side of a DMA (not a kernel function): QEMU translates with
 * its own tree, for the endpoint ID the access carries. A translation the
 * driver's tree no longer has (an UNMAP still queued) is recorded as a
 * stale use, as an IOTLB entry outliving its page-table entry would be.
 */
function viommu_hw_translate(
  k: Kernel,
  domain: IommuDomain,
  dev: Device,
  iova: number,
): { phys: number; prot: number } | null {
  const viommu = (dev.iommu?.priv as ViommuEndpoint | null)?.viommu;
  if (!viommu) return null;
  const t = viommu.vmm.translate(vmmEndpointOf(dev), iova);
  if (t.kind === 'bypass') return { phys: iova, prot: IOMMU_READ | IOMMU_WRITE };
  if (t.kind === 'fault') return null;
  const own = viommu_iova_to_phys(k, domain, iova);
  if (own !== t.phys)
    viommu.iommu.iotlb.staleUses.push({
      domain: domain.label,
      domainType: domainTypeSysfs(domain.type),
      iova,
      cachedPhys: t.phys,
      tablePhys: own || null,
      device: dev.name,
    });
  return {
    phys: t.phys,
    prot:
      (t.flags & VIRTIO_IOMMU_MAP_F_READ ? IOMMU_READ : 0) |
      (t.flags & VIRTIO_IOMMU_MAP_F_WRITE ? IOMMU_WRITE : 0),
  };
}

const viommu_domain_ops: IommuDomainOps = {
  attach_dev: viommu_attach_dev,
  map_pages: viommu_map_pages,
  unmap_pages: viommu_unmap_pages,
  iova_to_phys: viommu_iova_to_phys,
  flush_iotlb_all: viommu_flush_iotlb_all,
  iotlb_sync: viommu_iotlb_sync,
  iotlb_sync_map: viommu_iotlb_sync_map,
  free: viommu_domain_free,
  hw_translate: viommu_hw_translate,
};

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

/**
 * viommu_add_resv_mem(): one RESV_MEM property as a reserved region, kept
 * sorted by start. -EOVERFLOW for a range whose size does not fit.
 */
function viommu_add_resv_mem(k: Kernel, vdev: ViommuEndpoint, prop: ViommuResvProp): number {
  const start = U64(prop.start);
  const end = U64(prop.end);
  const size = U64(end - start + 1n);
  if (size < U64(end - start)) return -EOVERFLOW;
  let region: IommuResvRegion;
  switch (prop.subtype) {
    case VIRTIO_IOMMU_RESV_MEM_T_MSI:
      region = iommu_alloc_resv_region(
        start,
        size,
        IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_MMIO,
        IOMMU_RESV_MSI,
        'virtio-iommu PROBE reply (msi)',
      );
      break;
    default:
      if (prop.subtype !== VIRTIO_IOMMU_RESV_MEM_T_RESERVED)
        k.printk.log('warn', vdev.dev.name, `unknown resv mem subtype 0x${prop.subtype.toString(16)}`);
      region = iommu_alloc_resv_region(
        start,
        size,
        0,
        IOMMU_RESV_RESERVED,
        'virtio-iommu PROBE reply (reserved)',
      );
  }
  const at = vdev.resv_regions.findIndex((r) => r.start > region.start);
  vdev.resv_regions.splice(at < 0 ? vdev.resv_regions.length : at, 0, region);
  return 0;
}

/** VIRTIO_IOMMU_PROBE_T_RESV_MEM */
const VIRTIO_IOMMU_PROBE_T_RESV_MEM = 1;

/** viommu_probe_endpoint(): PROBE for fwspec->ids[0] only, its properties parsed in turn. */
function viommu_probe_endpoint(k: Kernel, viommu: Viommu, vdev: ViommuEndpoint): number {
  const fwspec = dev_iommu_fwspec_get(vdev.dev);
  if (!fwspec || fwspec.ids.length === 0) return -EINVAL;
  const buf = k.alloc.alloc('viommu probe request', vdev.dev, 'viommu_probe_endpoint');
  if (!buf) return -ENOMEM;
  const r = viommu_send_req_sync(k, viommu, { type: 'probe', endpoint: fwspec.ids[0] });
  let ret = r.ret;
  if (ret === -ENOENT)
    vdev.dev.addHistory(
      `viommu_probe_endpoint(): the device answers NOENT for endpoint 0x${fwspec.ids[0].toString(16)}, which it has no address space for`,
    );
  if (!ret) {
    for (const prop of r.props ?? []) {
      ret = viommu_add_resv_mem(k, vdev, prop);
      if (ret)
        k.printk.log(
          'err',
          vdev.dev.name,
          `failed to parse viommu prop 0x${VIRTIO_IOMMU_PROBE_T_RESV_MEM.toString(16)}`,
        );
    }
  }
  k.alloc.free(buf, 'viommu_probe_endpoint');
  return ret;
}

/** The per-kernel viommu_ops (a static struct whose pgsize_bitmap every probe overwrites). */
function viommuOps(k: Kernel): IommuOps & { pgsize_bitmap: number } {
  const key = 'virtio-iommu ops';
  const have = k.driverState.get(key) as (IommuOps & { pgsize_bitmap: number }) | undefined;
  if (have) return have;
  const ops: IommuOps & { pgsize_bitmap: number } = {
    name: 'virtio-iommu',
    owner: 'virtio_iommu',
    pgsize_bitmap: 0,
    default_domain_ops: viommu_domain_ops,
    /** viommu_probe_device() */
    probe_device(kk, dev) {
      const fwspec = dev_iommu_fwspec_get(dev);
      if (!fwspec) return ERR_PTR(-ENODEV);
      const viommu = viommu_get_by_fwnode(kk, fwspec.iommu_fwnode);
      if (!viommu) return ERR_PTR(-ENODEV);
      const mem = kk.alloc.alloc('viommu_endpoint', dev, 'viommu_probe_device');
      if (!mem) return ERR_PTR(-ENOMEM);
      const vdev: ViommuEndpoint = { dev, viommu, mem, vdomain: null, resv_regions: [] };
      dev.iommu!.priv = vdev;
      if (viommu.probe_size) {
        const ret = viommu_probe_endpoint(kk, viommu, vdev);
        if (ret) {
          dev.iommu!.priv = null;
          kk.alloc.free(mem, 'viommu_probe_device');
          return ERR_PTR(ret);
        }
      }
      return viommu.iommu;
    },
    /** viommu_release_device() */
    release_device(kk, dev) {
      const vdev = dev.iommu?.priv as ViommuEndpoint | null;
      if (vdev) {
        viommu_detach_dev(kk, vdev);
        kk.alloc.free(vdev.mem, 'viommu_release_device');
      }
      if (dev.iommu) dev.iommu.priv = null;
    },
    device_group(kk, dev) {
      return dev.pci ? pci_device_group(kk, dev) : generic_device_group(kk, dev);
    },
    /** viommu_get_resv_regions() */
    get_resv_regions(kk, dev, list) {
      const vdev = dev.iommu?.priv as ViommuEndpoint | null;
      const own = vdev?.resv_regions ?? [];
      list.push(...own.map((r) => ({ ...r })));
      if (!own.some((r) => r.type === IOMMU_RESV_MSI))
        list.push(softwareMsiRegion('software MSI window (no MSI bypass from PROBE)'));
      iommu_dma_get_resv_regions(kk, dev, list);
    },
    /** viommu_of_xlate(): one endpoint ID. */
    of_xlate(kk, dev, args) {
      return iommu_fwspec_add_ids(kk, dev, args.args.slice(0, 1), args.source);
    },
    /** viommu_domain_alloc(): a bare domain, finalised at its first attach. */
    domain_alloc(kk, type) {
      if (type !== IOMMU_DOMAIN_UNMANAGED && type !== IOMMU_DOMAIN_DMA && type !== IOMMU_DOMAIN_IDENTITY)
        return null;
      const mem = kk.alloc.alloc('viommu_domain', 'virtio-iommu', 'viommu_domain_alloc');
      if (!mem) return null;
      const d = new ViommuDomain(type, null, 'virtio-iommu domain');
      d.mem = mem;
      return d;
    },
    /** viommu_capable() */
    capable: (_kk, _dev, cap) => cap === 'CACHE_COHERENCY' || cap === 'DEFERRED_FLUSH',
  };
  k.driverState.set(key, ops);
  return ops;
}

/** order_base_2() of a u64 */
function order_base_2(n: bigint): number {
  if (n <= 1n) return 0;
  return (n - 1n).toString(2).length;
}

/**
 * viommu_probe(): features, config space, the event buffers, then the
 * instance named and keyed after the PCI (or platform) transport device.
 */
function viommu_probe(k: Kernel, vdev: Device, cfg: ViommuDeviceConfig): number {
  const parent = vdev.parent;
  if (!parent) return -ENODEV;
  // virtio_dev_probe(): the features both sides have.
  const features = new Set([...cfg.features].filter((f) => driverFeatures.has(f)));
  if (!features.has(VIRTIO_F_VERSION_1) || !features.has(VIRTIO_IOMMU_F_MAP_UNMAP)) return -ENODEV;
  const mem = k.alloc.alloc('viommu_dev', vdev, 'viommu_probe');
  if (!mem) return -ENOMEM;
  const pgsize_bitmap = cfg.page_size_mask;
  if (!pgsize_bitmap) {
    k.alloc.free(mem, 'viommu_probe');
    return -EINVAL;
  }
  let map_flags = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
  const input = features.has(VIRTIO_IOMMU_F_INPUT_RANGE) ? cfg.input_range : { start: 0n, end: U64(-1n) };
  const domains = features.has(VIRTIO_IOMMU_F_DOMAIN_RANGE)
    ? cfg.domain_range
    : { start: 0, end: 0xffffffff };
  const probe_size = features.has(VIRTIO_IOMMU_F_PROBE) ? cfg.probe_size : 0;
  if (features.has(VIRTIO_IOMMU_F_MMIO)) map_flags |= VIRTIO_IOMMU_MAP_F_MMIO;
  const ops = viommuOps(k);
  ops.pgsize_bitmap = Number(pgsize_bitmap);
  // virtio_device_ready(): the device starts from reset.
  const vmm = new ViommuVmm(cfg, (id) => cfg.endpoints === 'any' || vmmKnowsEndpoint(k, id));
  vmm.reset();
  const evts = k.alloc.alloc('viommu event buffers', vdev, 'viommu_fill_evtq');
  if (!evts) {
    vmm.reset();
    k.alloc.free(mem, 'viommu_probe');
    return -ENOMEM;
  }
  const iommu = new IommuDevice(parent.name, parent);
  const v: Viommu = {
    iommu,
    vdev,
    mem,
    evts,
    vmm,
    features,
    domain_ids: new Set(),
    geometry: { aperture_start: Number(input.start), aperture_end: Number(input.end), force_aperture: true },
    pgsize_bitmap,
    first_domain: domains.start,
    last_domain: domains.end,
    map_flags,
    probe_size,
    requests: [],
    stats: { attach: 0, detach: 0, map: 0, unmap: 0, probe: 0, kicks: 0 },
  };
  // The device reports faults on its event queue; viommu_event_handler() prints them on vdev.
  iommu.faultReporter = (dev, f) => {
    const ev = vmm.faultEvent(vmmEndpointOf(dev), f.iova, f.write);
    return ev ? viommu_fault_handler(k, ev) : [];
  };
  iommu.faultLogDevice = () => vdev.name;
  iommu.priv = v;
  vdev.driverData = v;
  const ret = iommu_device_sysfs_add(k, iommu);
  if (ret) {
    vmm.reset();
    k.alloc.free(evts, 'viommu_probe');
    k.alloc.free(mem, 'viommu_probe');
    vdev.driverData = undefined;
    return ret;
  }
  // The kernel ignores iommu_device_register()'s result.
  const reg = iommu_device_register(k, iommu, ops, parent);
  if (reg) vdev.addHistory(`iommu_device_register() returned ${reg}, ignored by viommu_probe()`);
  k.printk.log('info', vdev.name, `input address: ${order_base_2(input.end)} bits`);
  k.printk.log('info', vdev.name, `page mask: 0x${pgsize_bitmap.toString(16)}`);
  return 0;
}

/** viommu_remove(): then devres frees the viommu_dev and the event buffers. */
function viommu_remove(k: Kernel, vdev: Device): void {
  const v = vdev.driverData as Viommu | undefined;
  if (!v) return;
  iommu_device_sysfs_remove(k, v.iommu);
  iommu_device_unregister(k, v.iommu);
  // virtio_reset_device(): the device forgets its domains and endpoints.
  v.vmm.reset();
  k.printk.log('info', vdev.name, 'device removed');
  k.alloc.free(v.evts, 'viommu_remove');
  k.alloc.free(v.mem, 'viommu_remove');
  vdev.driverData = undefined;
}

/**
 * The virtio_iommu driver. `probeInfo` is what the device answers to PROBE
 * (null: no PROBE feature); `device` overrides QEMU 7.2's device (features,
 * config space, queue size).
 */
export function virtioIommuDriver(
  k: Kernel,
  probeInfo: ViommuProbeInfo | null = null,
  device: Partial<ViommuDeviceConfig> = {},
): DeviceDriver {
  const cfg: ViommuDeviceConfig = { ...qemuViommuConfig(probeInfo), ...device };
  return {
    name: 'virtio_iommu',
    bus: virtioBus(k),
    virtio_ids: [VIRTIO_ID_IOMMU],
    probe: (kk, vdev) => viommu_probe(kk, vdev, cfg),
    remove: viommu_remove,
  };
}

/** The requests an instance has sent, by type, and its kicks (null: not a virtio-iommu). */
export function viommuRequestStats(iommu: IommuDevice): Readonly<ViommuRequestStats> | null {
  return iommu.ops?.name === 'virtio-iommu' ? ((iommu.priv as Viommu | null)?.stats ?? null) : null;
}

/** The device behind a virtio-iommu instance (null: not a virtio-iommu). */
export function viommuDevice(iommu: IommuDevice): ViommuVmm | null {
  return iommu.ops?.name === 'virtio-iommu' ? ((iommu.priv as Viommu | null)?.vmm ?? null) : null;
}

/** A virtio-iommu domain's ID, and the number of mappings in the driver's tree (null: not one). */
export function viommuDomainInfo(
  domain: IommuDomain,
): { id: number; mappings: number; bypass: boolean } | null {
  return domain instanceof ViommuDomain
    ? { id: domain.id, mappings: domain.mappings.size, bypass: domain.bypass }
    : null;
}
