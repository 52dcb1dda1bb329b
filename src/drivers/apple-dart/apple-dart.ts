// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Apple DART IOMMU driver as the IOMMU core sees it
 * (drivers/iommu/apple-dart.c, Linux 6.12).
 *
 * Each DART is a platform device whose probe registers an instance named
 * "apple-dart.<dev_name>", keyed by the DART's own node. A master lists up
 * to MAX_DARTS_PER_DEVICE DARTs, one cell each: the stream ID (SID).
 * of_xlate() adds no fwspec IDs; it records the SIDs in a per-master cfg
 * (a SID bitmap per DART) hung off dev->iommu. Masters that share a
 * (DART, SID) share a group through each DART's sid2group[] table; the
 * first of them gets a generic (or PCI) group, which keeps a copy of its
 * cfg so that the group's release clears the table again.
 *
 * The default domain follows the DART, not the device: a DART whose page
 * size exceeds the kernel's PAGE_SIZE cannot back the DMA API and forces
 * identity (bypass); one without bypass support wants DMA. Paging domains
 * (apple_dart_finalize_domain()) are refused on such DARTs with -EINVAL.
 *
 * Paging domains translate: finalised on the first DART of their first
 * device (at allocation when the core names the device, else at its first
 * attach) with an APPLE_DART or APPLE_DART2 table (io-pgtable-dart,
 * src/pgtable/formats/apple-dart.ts) of the DART's page size and address
 * widths, aperture [0, 2^ias - 1]. Attaching writes each stream's TTBRs,
 * turns translation on and invalidates the streams. The table asks nothing
 * of the TLB (no iommu_flush_ops): the driver invalidates every stream of
 * the domain, whole, after each map (iotlb_sync_map), at each iotlb_sync and
 * flush_iotlb_all (stream-hw.ts counts how). No IOMMU_CAP_DEFERRED_FLUSH, so
 * no DMA-FQ. Faults print the interrupt handler's line (fault.ts).
 *
 * Hardware parameters the driver reads from registers come from hw.ts; of
 * the register file, only each stream's TCR state and TTBR values are kept
 * (stream-hw.ts); the lock-down check in apple_dart_hw_reset() is taken as
 * passing and request_irq() as succeeding.
 */
import { kernelPageSize } from '../../kernel/kconfig.js';
import type { Device } from '../../base/device.js';
import type { Fwnode } from '../../base/fwnode.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { IommuOps, OfPhandleArgs } from '../../iommu/ops.js';
import type { IommuFault } from '../../iommu/translate.js';
import type { DevIommu } from '../../iommu/dev-iommu.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { IommuDriverEntry } from '../registry.js';
import { EINVAL, ENODEV, ENOMEM, ERR_PTR, IS_ERR, type ErrPtr } from '../../kernel/errno.js';
import { Mutex, mutex_lock, mutex_unlock } from '../../kernel/mutex.js';
import {
  IOMMU_DOMAIN_BLOCKED,
  IOMMU_DOMAIN_DMA,
  IOMMU_DOMAIN_IDENTITY,
  IommuDomain,
  staticDomain,
  type IommuDomainOps,
} from '../../iommu/domain.js';
import {
  IommuDevice,
  iommu_device_register,
  iommu_device_sysfs_add,
  iommu_device_sysfs_remove,
  iommu_device_unregister,
  iommu_from_fwnode,
} from '../../iommu/iommu-device.js';
import {
  type IommuGroup,
  generic_device_group,
  iommu_group_get_iommudata,
  iommu_group_put,
  iommu_group_ref_get,
  iommu_group_set_iommudata,
} from '../../iommu/group.js';
import { pci_device_group } from '../../pci/pci-device-group.js';
import {
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_RESV_MSI,
  IOMMU_WRITE,
  iommu_alloc_resv_region,
  type IommuResvRegion,
} from '../../iommu/resv-regions.js';
import { iommu_dma_get_resv_regions } from '../../iommu/dma-resv.js';
import {
  devm_ioremap_resource,
  platform_get_irq,
  platform_get_mem_resource,
  type MemResource,
} from '../../base/platform.js';
import { of_match_node } from '../../firmware/of/of-base.js';
import { recordKnownBug } from '../../checker/known-bugs.js';
import {
  IOTLB_CONTEXT,
  io_pgtable_domain_free,
  io_pgtable_domain_init,
  io_pgtable_domain_ops,
} from '../../iommu/io-pgtable-domain.js';
import { dartTtbrs } from '../../pgtable/formats/apple-dart.js';
import {
  apple_dart_hw_clear_ttbr,
  apple_dart_hw_disable_dma,
  apple_dart_hw_enable_bypass,
  apple_dart_hw_enable_translation,
  apple_dart_hw_reset,
  apple_dart_hw_set_ttbr,
  apple_dart_invalidate_tlb,
  type DartStreamHw,
  type DartTcr,
} from './stream-hw.js';
import { apple_dart_error_code, apple_dart_fault_line } from './fault.js';
import {
  APPLE_DART_OF_MATCH,
  DART_MAX_STREAMS,
  DART_MIN_MMIO_SIZE,
  MAX_DARTS_PER_DEVICE,
  appleDartVariants,
  type AppleDartCompatible,
  type AppleDartHw,
} from './hw.js';

/** struct apple_dart: one probed DART. */
export interface AppleDart extends DartStreamHw {
  readonly dev: Device;
  readonly hw: AppleDartHw;
  readonly mem: Allocation;
  readonly pgsize: number;
  /** Input and output address sizes: 32 and the match data's on T8020/T6000, PARAMS3 on T8110. */
  readonly ias: number;
  readonly oas: number;
  readonly num_streams: number;
  readonly supports_bypass: boolean;
  /** sid2group[]: the group each stream belongs to (no reference held). */
  readonly sid2group: (IommuGroup | null)[];
  readonly iommu: IommuDevice;
  readonly tcr: DartTcr[];
  readonly ttbrRegs: number[];
}

/** struct apple_dart_stream_map: one DART and a SID bitmap of DART_MAX_STREAMS bits. */
interface StreamMap {
  dart: AppleDart | null;
  readonly sidmap: Uint8Array;
}

/** struct apple_dart_master_cfg: hung off dev->iommu by of_xlate(), copied into groups. */
export interface AppleDartMasterCfg {
  readonly stream_maps: StreamMap[];
  readonly mem: Allocation;
}

/** Driver state that the kernel keeps in statics, per modelled kernel. */
interface DartGlobals {
  /** apple_dart_groups_lock */
  readonly groupsLock: Mutex;
  /** Every master cfg of_xlate() allocated, with the dev_iommu it was hung off. */
  readonly masterCfgs: { cfg: AppleDartMasterCfg; param: DevIommu; dev: string }[];
}

const globals = new WeakMap<Kernel, DartGlobals>();

function dartGlobals(k: Kernel): DartGlobals {
  let g = globals.get(k);
  if (!g) {
    g = { groupsLock: new Mutex('apple_dart_groups_lock'), masterCfgs: [] };
    globals.set(k, g);
  }
  return g;
}

function pageSize(k: Kernel): number {
  return kernelPageSize(k.kconfig);
}

function newStreamMaps(): StreamMap[] {
  return Array.from({ length: MAX_DARTS_PER_DEVICE }, () => ({
    dart: null,
    sidmap: new Uint8Array(DART_MAX_STREAMS),
  }));
}

/** for_each_stream_map(): the maps in use, stopping at the first without a DART. */
function usedStreamMaps(maps: readonly StreamMap[]): (StreamMap & { dart: AppleDart })[] {
  const out: (StreamMap & { dart: AppleDart })[] = [];
  for (const m of maps) {
    if (!m.dart) break;
    out.push(m as StreamMap & { dart: AppleDart });
  }
  return out;
}

/** for_each_set_bit(sid, map->sidmap, dart->num_streams) */
function setSids(map: StreamMap & { dart: AppleDart }): number[] {
  const sids: number[] = [];
  for (let sid = 0; sid < map.dart.num_streams; sid++) if (map.sidmap[sid]) sids.push(sid);
  return sids;
}

function masterCfg(dev: Device): AppleDartMasterCfg | null {
  return (dev.iommu?.priv as AppleDartMasterCfg | null | undefined) ?? null;
}

function describeStreams(cfg: AppleDartMasterCfg): string {
  return usedStreamMaps(cfg.stream_maps)
    .map((m) => `${m.dart.iommu.name} SIDs [${setSids(m).join(', ')}]`)
    .join(', ');
}

// ---- domains

/** struct apple_dart_domain; its io-pgtable is domain.pgtable. */
export class AppleDartDomain extends IommuDomain {
  finalized = false;
  readonly stream_maps = newStreamMaps();
}

/**
 * apple_dart_finalize_domain(): -EINVAL when the DART's pages exceed
 * PAGE_SIZE; else, once, the domain takes the master's stream maps and an
 * io-pgtable of the DART's format, page size and address widths (-ENOMEM
 * when alloc_io_pgtable_ops() fails); pgsize_bitmap and the aperture
 * [0, DMA_BIT_MASK(ias)] come from it.
 */
function apple_dart_finalize_domain(k: Kernel, dom: AppleDartDomain, cfg: AppleDartMasterCfg): number {
  const dart = cfg.stream_maps[0].dart!;
  if (dart.pgsize > pageSize(k)) return -EINVAL;
  if (dom.finalized) return 0;
  for (let i = 0; i < MAX_DARTS_PER_DEVICE; i++) {
    dom.stream_maps[i].dart = cfg.stream_maps[i].dart;
    dom.stream_maps[i].sidmap.set(cfg.stream_maps[i].sidmap);
  }
  const ret = io_pgtable_domain_init(k, dom, dart.iommu, {
    format: dart.hw.fmt === 'APPLE_DART' ? 'apple-dart' : 'apple-dart2',
    style: IOTLB_CONTEXT, // unused: no flush ops
    noFlushOps: true,
    pgsize_bitmap: dart.pgsize,
    ias: dart.ias,
    oas: dart.oas,
    coherent_walk: true,
  });
  if (ret) return -ENOMEM;
  dom.finalized = true;
  return 0;
}

/** apple_dart_domain_flush_tlb(): each DART of the domain invalidates the domain's streams. */
function apple_dart_domain_flush_tlb(dom: AppleDartDomain): void {
  for (const m of usedStreamMaps(dom.stream_maps)) apple_dart_invalidate_tlb(m, dom);
}

/**
 * apple_dart_setup_translation(): the stream map's TTBRs get the table's
 * (the rest cleared), translation goes on, the streams are invalidated.
 */
function apple_dart_setup_translation(
  k: Kernel,
  dom: AppleDartDomain,
  map: StreamMap & { dart: AppleDart },
): void {
  const t = dom.pgtable!;
  const ttbrs = dartTtbrs(t.cfg.ttbr, t.cfg.regs, t.cfg.granule);
  let i = 0;
  for (; i < ttbrs.length; i++) apple_dart_hw_set_ttbr(k, map, i, ttbrs[i]);
  for (; i < map.dart.hw.ttbr.ttbr_count; i++) apple_dart_hw_clear_ttbr(map, i);
  apple_dart_hw_enable_translation(map);
  apple_dart_invalidate_tlb(map, dom);
}

/** apple_dart_mod_streams(add): the domain's DARTs must be the master's. */
function apple_dart_domain_add_streams(dom: AppleDartDomain, cfg: AppleDartMasterCfg): number {
  for (let i = 0; i < MAX_DARTS_PER_DEVICE; i++)
    if (dom.stream_maps[i].dart !== cfg.stream_maps[i].dart) return -EINVAL;
  for (const m of usedStreamMaps(dom.stream_maps)) {
    const src = cfg.stream_maps[dom.stream_maps.indexOf(m)].sidmap;
    for (let sid = 0; sid < m.dart.num_streams; sid++) m.sidmap[sid] |= src[sid];
  }
  return 0;
}

/** apple_dart_attach_dev_paging(): finalise, add the master's streams, program each of its stream maps. */
function apple_dart_attach_dev_paging(k: Kernel, domain: IommuDomain, dev: Device): number {
  const cfg = masterCfg(dev)!;
  const dom = domain as AppleDartDomain;
  let ret = apple_dart_finalize_domain(k, dom, cfg);
  if (ret) return ret;
  ret = apple_dart_domain_add_streams(dom, cfg);
  if (ret) return ret;
  for (const m of usedStreamMaps(cfg.stream_maps)) apple_dart_setup_translation(k, dom, m);
  return 0;
}

/** apple_dart_domain_free(): the io-pgtable, if finalised, then the domain. */
function apple_dart_domain_free(k: Kernel, domain: IommuDomain): void {
  io_pgtable_domain_free(k, domain);
  k.alloc.free(domain.mem, 'apple_dart_domain_free');
  domain.mem = null;
}

/** apple_dart_attach_dev_identity(): only a DART with bypass support can pass DMA through; TCR bypass. */
function apple_dart_attach_dev_identity(k: Kernel, _domain: IommuDomain, dev: Device): number {
  const cfg = masterCfg(dev)!;
  if (!cfg.stream_maps[0].dart!.supports_bypass) return -EINVAL;
  for (const m of usedStreamMaps(cfg.stream_maps)) apple_dart_hw_enable_bypass(k, m);
  return 0;
}

const apple_dart_identity_domain = staticDomain(
  IOMMU_DOMAIN_IDENTITY,
  'apple-dart identity',
  apple_dart_attach_dev_identity,
);

/** apple_dart_attach_dev_blocked(): DMA off on each stream; always succeeds. */
function apple_dart_attach_dev_blocked(_k: Kernel, _domain: IommuDomain, dev: Device): number {
  for (const m of usedStreamMaps(masterCfg(dev)!.stream_maps)) apple_dart_hw_disable_dma(m);
  return 0;
}

const apple_dart_blocked_domain = staticDomain(
  IOMMU_DOMAIN_BLOCKED,
  'apple-dart blocked',
  apple_dart_attach_dev_blocked,
);

/**
 * The default_domain_ops: apple_dart_map_pages() (-ENODEV before
 * finalisation), _unmap_pages(), _iova_to_phys() straight to the table;
 * apple_dart_iotlb_sync(), _iotlb_sync_map() and _flush_iotlb_all() each
 * invalidate the domain's streams whole.
 */
const apple_dart_domain_ops: IommuDomainOps = {
  attach_dev: apple_dart_attach_dev_paging,
  free: apple_dart_domain_free,
  map_pages: io_pgtable_domain_ops.map_pages,
  unmap_pages: io_pgtable_domain_ops.unmap_pages,
  iova_to_phys: io_pgtable_domain_ops.iova_to_phys,
  flush_iotlb_all: (_k, domain) => apple_dart_domain_flush_tlb(domain as AppleDartDomain),
  iotlb_sync: (_k, domain) => apple_dart_domain_flush_tlb(domain as AppleDartDomain),
  iotlb_sync_map: (_k, domain) => {
    apple_dart_domain_flush_tlb(domain as AppleDartDomain);
    return 0;
  },
};

// ---- iommu_ops

/** apple_dart_of_xlate(): one cell, the SID, into this DART's bitmap in the master's cfg. */
function apple_dart_of_xlate(k: Kernel, dev: Device, args: OfPhandleArgs): number {
  const dart = (iommu_from_fwnode(k, args.np)?.priv as AppleDart | undefined) ?? null;
  // of_iommu_xlate() only calls here once the DART registered: its drvdata is set.
  if (k.printk.warn(!dart, 'apple_dart_of_xlate', `no probed DART for ${args.np.name}`, dev.name))
    return -ENODEV;
  if (args.args.length !== 1) return -EINVAL;
  const sid = args.args[0] >>> 0;
  const param = dev.iommu!;
  let cfg = masterCfg(dev);
  if (!cfg) {
    const mem = k.alloc.alloc('apple_dart_master_cfg', dev, 'apple_dart_of_xlate');
    if (!mem) return -ENOMEM;
    cfg = { stream_maps: newStreamMaps(), mem };
    dartGlobals(k).masterCfgs.push({ cfg, param, dev: dev.name });
  }
  param.priv = cfg;

  const cfg_dart = cfg.stream_maps[0].dart;
  if (cfg_dart) {
    if (cfg_dart.supports_bypass !== dart!.supports_bypass) return -EINVAL;
    if (cfg_dart.pgsize !== dart!.pgsize) return -EINVAL;
  }

  const setBit = (map: StreamMap): number => {
    // set_bit() on a DART_MAX_STREAMS-bit map: a larger SID writes past it.
    if (
      k.printk.warn(
        sid >= DART_MAX_STREAMS,
        'apple_dart_of_xlate',
        `SID ${sid} from ${args.source} is past the ${DART_MAX_STREAMS}-bit sidmap: set_bit() corrupts the master cfg`,
        dev.name,
      )
    )
      return 0;
    map.sidmap[sid] = 1;
    dev.addHistory(`apple_dart_of_xlate(): SID ${sid} on ${dart!.iommu.name} (${args.source})`);
    return 0;
  };
  const same = cfg.stream_maps.find((m) => m.dart === dart);
  if (same) return setBit(same);
  const free = cfg.stream_maps.find((m) => !m.dart);
  if (free) {
    free.dart = dart;
    return setBit(free);
  }
  dev.addHistory(`apple_dart_of_xlate(): -EINVAL, a third DART (${dart!.iommu.name})`);
  return -EINVAL;
}

/** apple_dart_probe_device(): the first DART's instance (the PM device links are not modelled). */
function apple_dart_probe_device(_k: Kernel, dev: Device): IommuDevice | ErrPtr {
  const cfg = masterCfg(dev);
  if (!cfg) return ERR_PTR(-ENODEV);
  return cfg.stream_maps[0].dart!.iommu;
}

/** apple_dart_release_device() */
function apple_dart_release_device(k: Kernel, dev: Device): void {
  const cfg = masterCfg(dev);
  if (!cfg) return;
  k.alloc.free(cfg.mem, 'apple_dart_release_device');
  dev.iommu!.priv = null;
}

/** apple_dart_release_group(): the group's sid2group entries go, with its cfg copy. */
function apple_dart_release_group(k: Kernel, groupCfg: AppleDartMasterCfg): void {
  const lock = dartGlobals(k).groupsLock;
  mutex_lock(k.printk, lock, 'apple_dart_release_group');
  for (const m of usedStreamMaps(groupCfg.stream_maps))
    for (const sid of setSids(m)) m.dart.sid2group[sid] = null;
  k.alloc.free(groupCfg.mem, 'apple_dart_release_group');
  mutex_unlock(k.printk, lock, 'apple_dart_release_group');
}

/**
 * apple_dart_merge_master_cfg(): a PCI group's members must all sit behind
 * one single DART; their SIDs are merged into the group's copy.
 */
function apple_dart_merge_master_cfg(dst: AppleDartMasterCfg, src: AppleDartMasterCfg): number {
  if (src.stream_maps[1].dart || dst.stream_maps[1].dart) return -EINVAL;
  if (src.stream_maps[0].dart !== dst.stream_maps[0].dart) return -EINVAL;
  const n = dst.stream_maps[0].dart!.num_streams;
  for (let sid = 0; sid < n; sid++) dst.stream_maps[0].sidmap[sid] |= src.stream_maps[0].sidmap[sid];
  return 0;
}

/** apple_dart_device_group() */
function apple_dart_device_group(k: Kernel, dev: Device): IommuGroup | ErrPtr {
  const cfg = masterCfg(dev)!;
  const lock = dartGlobals(k).groupsLock;
  mutex_lock(k.printk, lock, 'apple_dart_device_group');
  const res = device_group_locked(k, dev, cfg);
  mutex_unlock(k.printk, lock, 'apple_dart_device_group');
  return res;
}

function device_group_locked(k: Kernel, dev: Device, cfg: AppleDartMasterCfg): IommuGroup | ErrPtr {
  // Every stream of the master must map to one group (or none yet); the walk
  // compares each entry with the last one seen, so "none" after a group is a mismatch.
  let group: IommuGroup | null = null;
  let from = '';
  for (const m of usedStreamMaps(cfg.stream_maps)) {
    for (const sid of setSids(m)) {
      const stream_group = m.dart.sid2group[sid];
      if (group && group !== stream_group) {
        dev.addHistory(
          `apple_dart_device_group(): -EINVAL, ${m.dart.iommu.name} SID ${sid} is in ` +
            `${stream_group ? `group ${stream_group.id}` : 'no group'} but ${from} is in group ${group.id}`,
        );
        return ERR_PTR(-EINVAL);
      }
      group = stream_group;
      from = `${m.dart.iommu.name} SID ${sid}`;
    }
  }
  if (group) {
    group.reasons.push(`${dev.name}: shares ${from} (apple_dart_device_group sid2group)`);
    return iommu_group_ref_get(group);
  }

  const made = dev.pci ? pci_device_group(k, dev) : generic_device_group(k, dev);
  if (IS_ERR(made)) return ERR_PTR(-ENOMEM);

  const groupCfg = iommu_group_get_iommudata(made) as AppleDartMasterCfg | null;
  if (groupCfg) {
    const ret = apple_dart_merge_master_cfg(groupCfg, cfg);
    if (ret) {
      k.printk.log('err', dev.name, 'Failed to merge DART IOMMU groups.');
      iommu_group_put(k, made);
      return ERR_PTR(ret);
    }
  } else {
    const mem = k.alloc.alloc('apple_dart_master_cfg (group copy)', made, 'apple_dart_device_group');
    if (!mem) {
      iommu_group_put(k, made);
      return ERR_PTR(-ENOMEM);
    }
    const copy: AppleDartMasterCfg = { stream_maps: newStreamMaps(), mem };
    cfg.stream_maps.forEach((m, i) => {
      copy.stream_maps[i].dart = m.dart;
      copy.stream_maps[i].sidmap.set(m.sidmap);
    });
    iommu_group_set_iommudata(made, copy, (data) => apple_dart_release_group(k, data as AppleDartMasterCfg));
  }
  for (const m of usedStreamMaps(cfg.stream_maps)) for (const sid of setSids(m)) m.dart.sid2group[sid] = made;
  made.reasons.push(`${dev.name}: ${describeStreams(cfg)} recorded in sid2group`);
  return made;
}

/** apple_dart_def_domain_type(): the first DART decides. */
function apple_dart_def_domain_type(k: Kernel, dev: Device): number {
  const dart = masterCfg(dev)!.stream_maps[0].dart!;
  if (dart.pgsize > pageSize(k)) return IOMMU_DOMAIN_IDENTITY;
  if (!dart.supports_bypass) return IOMMU_DOMAIN_DMA;
  return 0;
}

/** CONFIG_PCIE_APPLE_MSI_DOORBELL_ADDR's default. */
const PCIE_APPLE_MSI_DOORBELL_ADDR = 0xfffff000n;

/** apple_dart_get_resv_regions(): the PCIe MSI doorbell page, then iommu-dma's regions. */
function apple_dart_get_resv_regions(k: Kernel, dev: Device, list: IommuResvRegion[]): void {
  if (k.kconfig.PCIE_APPLE && dev.pci) {
    const page = BigInt(pageSize(k));
    // DOORBELL_ADDR: the doorbell rounded down to a page.
    const doorbell = PCIE_APPLE_MSI_DOORBELL_ADDR & ~(page - 1n);
    list.push(
      iommu_alloc_resv_region(
        doorbell,
        page,
        IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_MMIO,
        IOMMU_RESV_MSI,
        'Apple PCIe MSI doorbell (DOORBELL_ADDR)',
      ),
    );
  }
  iommu_dma_get_resv_regions(k, dev, list);
}

/** apple_dart_domain_alloc_paging(): finalised at once when a device is given. */
function apple_dart_domain_alloc_paging(k: Kernel, dev: Device | null): IommuDomain | ErrPtr | null {
  const mem = k.alloc.alloc('apple_dart_domain', dev ?? 'apple-dart', 'apple_dart_domain_alloc_paging');
  if (!mem) return null;
  const dom = new AppleDartDomain(0, null, 'apple-dart paging');
  dom.mem = mem;
  if (dev) {
    const ret = apple_dart_finalize_domain(k, dom, masterCfg(dev)!);
    if (ret) {
      apple_dart_domain_free(k, dom);
      return ERR_PTR(ret);
    }
  }
  return dom;
}

export const apple_dart_iommu_ops: IommuOps = {
  name: 'apple-dart',
  owner: 'apple_dart',
  identity_domain: apple_dart_identity_domain,
  blocked_domain: apple_dart_blocked_domain,
  domain_alloc_paging: apple_dart_domain_alloc_paging,
  probe_device: apple_dart_probe_device,
  release_device: apple_dart_release_device,
  device_group: apple_dart_device_group,
  of_xlate: apple_dart_of_xlate,
  def_domain_type: apple_dart_def_domain_type,
  get_resv_regions: apple_dart_get_resv_regions,
  pgsize_bitmap: -1, // -1UL: finalisation narrows each domain to its DART's page size
  default_domain_ops: apple_dart_domain_ops,
};

// ---- the fault interrupt

/**
 * apple_dart_t8020_irq() / apple_dart_t8110_irq() for a transaction of
 * `master` that faulted on `dart`: the stream is the master's lowest SID on
 * that DART; no line for a stream whose DMA is off.
 */
function apple_dart_irq_lines(dart: AppleDart, master: Device, f: Omit<IommuFault, 'log'>): string[] {
  const cfg = masterCfg(master);
  const map = cfg ? usedStreamMaps(cfg.stream_maps).find((m) => m.dart === dart) : undefined;
  if (!map) return [];
  const sid = setSids(map)[0] ?? 0;
  const domain = master.hwDomain ?? master.iommu_group?.domain ?? null;
  const enc = dart.hw.ttbr;
  const code = apple_dart_error_code(
    dart.hw,
    f,
    (idx) => ((dart.ttbrRegs[enc.ttbr_count * sid + idx] ?? 0) & enc.ttbr_valid) !== 0,
    domain?.pgtable ?? null,
  );
  return code === null ? [] : [apple_dart_fault_line(dart.hw, sid, code, f.iova)];
}

// ---- the DART's own platform driver

/** "%pr": a raw resource, "[mem 0x…-0x… flags 0x200]". */
function formatRawMemResource(res: MemResource): string {
  const hex = (v: bigint) => `0x${v.toString(16).padStart(8, '0')}`;
  const range = res.start === res.end ? hex(res.start) : `${hex(res.start)}-${hex(res.end)}`;
  return `[mem ${range} flags 0x200]`;
}

interface DartDriverData {
  readonly dart: AppleDart;
}

/** apple_dart_probe() */
function apple_dart_probe(k: Kernel, dev: Device): number {
  const compatible = of_match_node(APPLE_DART_OF_MATCH, dev.fwnode) as AppleDartCompatible | null;
  if (!compatible) return -ENODEV;
  const { hw, params } = appleDartVariants[compatible];

  // devm_kzalloc(): devres frees it when probe fails or the driver unbinds.
  const mem = k.alloc.alloc('apple_dart', dev, 'apple_dart_probe');
  if (!mem) return -ENOMEM;
  const fail = (ret: number): number => {
    k.alloc.free(mem, 'apple_dart_probe');
    return ret;
  };

  // devm_platform_get_and_ioremap_resource(pdev, 0, &res)
  const res = platform_get_mem_resource(dev);
  let ret = devm_ioremap_resource(k, dev, res);
  if (ret || !res) return fail(ret);
  if (res.end - res.start + 1n < DART_MIN_MMIO_SIZE) {
    k.printk.log('err', dev.name, `MMIO region too small (${formatRawMemResource(res)})`);
    return fail(-EINVAL);
  }
  if (platform_get_irq(k, dev, 0) < 0) return fail(-ENODEV);
  // devm_clk_bulk_get_all() and clk_bulk_prepare_enable(): clocks are not modelled.

  const pgsize = 1 << params.pageShift;
  const t8110 = hw.type === 'T8110';
  const num_streams = t8110 ? params.numSids : hw.max_sid_count;
  if (num_streams > DART_MAX_STREAMS) {
    k.printk.log('err', dev.name, `Too many streams (${num_streams} > ${DART_MAX_STREAMS})`);
    return fail(-EINVAL);
  }

  const iommu = new IommuDevice(`apple-dart.${dev.name}`, dev);
  const dart: AppleDart = {
    dev,
    hw,
    mem,
    pgsize,
    ias: t8110 ? params.vaWidth : 32,
    oas: t8110 ? params.paWidth : hw.oas,
    num_streams,
    supports_bypass: params.bypassSupport,
    sid2group: Array.from({ length: DART_MAX_STREAMS }, () => null),
    iommu,
    tcr: new Array<DartTcr>(num_streams).fill('disabled'),
    ttbrRegs: new Array<number>(num_streams * hw.ttbr.ttbr_count).fill(0),
  };
  iommu.priv = dart;
  // apple_dart_hw_reset(): the lock-down bit is taken as clear.
  apple_dart_hw_reset(dart);
  // request_irq(): the shared fault handler, as succeeding.
  iommu.faultReporter = (master, f) => apple_dart_irq_lines(dart, master, f);
  iommu.faultLogDevice = () => dev.name; // dev_err_ratelimited(dart->dev, ...)
  dev.driverData = { dart } satisfies DartDriverData;

  ret = iommu_device_sysfs_add(k, iommu);
  if (ret) {
    dev.driverData = undefined;
    return fail(ret);
  }
  ret = iommu_device_register(k, iommu, apple_dart_iommu_ops, dev);
  if (ret) {
    iommu_device_sysfs_remove(k, iommu);
    dev.driverData = undefined;
    return fail(ret);
  }
  const forced = pgsize > pageSize(k);
  k.printk.log(
    'info',
    dev.name,
    `DART [pagesize ${pgsize.toString(16)}, ${num_streams} streams, bypass support: ${dart.supports_bypass ? 1 : 0}, ` +
      `bypass forced: ${forced ? 1 : 0}] initialized`,
  );
  return 0;
}

/** apple_dart_remove(): reset (every stream off, invalidated), then unregister. */
function apple_dart_remove(k: Kernel, dev: Device): void {
  const data = dev.driverData as DartDriverData | undefined;
  if (!data) return;
  apple_dart_hw_reset(data.dart);
  iommu_device_unregister(k, data.dart.iommu);
  iommu_device_sysfs_remove(k, data.dart.iommu);
  k.alloc.free(data.dart.mem, 'apple_dart_remove');
  dev.driverData = undefined;
}

/**
 * At teardown: a master cfg still allocated whose dev_iommu is gone was
 * dropped by dev_iommu_free() without release_device(), as 6.12 does after a
 * failed of_iommu_configure().
 */
function recordLostMasterCfgs(k: Kernel): void {
  for (const { cfg, param, dev } of dartGlobals(k).masterCfgs) {
    if (!cfg.mem.freed && param.mem.freed) recordKnownBug(k, 'apple-dart-master-cfg-leak', dev, [cfg.mem.id]);
  }
}

export function appleDartDriver(k: Kernel): DeviceDriver {
  const bus = k.base.buses.get('platform');
  if (!bus) throw new Error('apple-dart: no platform bus');
  k.teardownHooks.push(() => recordLostMasterCfgs(k));
  return {
    name: 'apple-dart',
    bus,
    of_match_table: APPLE_DART_OF_MATCH,
    probe: apple_dart_probe,
    remove: apple_dart_remove,
  };
}

export const appleDartEntry: IommuDriverEntry = {
  name: 'apple-dart',
  config: 'APPLE_DART',
  of_match_table: APPLE_DART_OF_MATCH,
  create: appleDartDriver,
};

/** For tests and reports: the DART a node probed into, if any. */
export function appleDartOf(k: Kernel, np: Fwnode): AppleDart | null {
  return (iommu_from_fwnode(k, np)?.priv as AppleDart | undefined) ?? null;
}
