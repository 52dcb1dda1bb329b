// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Renesas VMSA-compatible IPMMU as the IOMMU core sees it
 * (drivers/iommu/ipmmu-vmsa.c, 6.12):
 *  - ipmmu_probe() binds every IPMMU node. On R-Car Gen3/Gen4 and RZ/G2
 *    (features with has_cache_leaf_nodes) the node without
 *    `renesas,ipmmu-main` is the root (IPMMU-MM: it owns the translation
 *    contexts, needs its IRQ, reserves context 0 and registers nothing); the
 *    others are cache IPMMUs, which defer until a root is bound (any bound
 *    root: the phandle in `renesas,ipmmu-main` is not read) and then register
 *    an instance named after their device ("e6740000.iommu"). On Gen2
 *    (renesas,ipmmu-vmsa) every IPMMU is its own root and registers.
 *  - ipmmu_of_xlate() first asks ipmmu_device_is_allowed() (soc-match.ts): a
 *    refused master gets -ENODEV. Otherwise it adds the cell (the uTLB) to
 *    the fwspec, ignoring that call's result, and keeps the first IPMMU
 *    named in dev_iommu priv (the IPMMU device's drvdata), which is all
 *    probe_device() looks at. 6.12 sets that drvdata only after registering;
 *    v6.15 sets it before (the profile's ipmmuDrvdata).
 *  - groups: generic_single_device_group() (arm64, or arm with IOMMU_DMA):
 *    one group per IPMMU instance for all its masters; generic_device_group()
 *    on arm without IOMMU_DMA. No reserved regions, no def_domain_type; an
 *    identity domain; paging domains take a context of the root at their
 *    first attach (-EBUSY when all are taken) and stay with that IPMMU.
 *  - a paging domain (ipmmu_domain_init_context()) is an ARM_32_LPAE_S1 table
 *    with the NS quirk, 4K/2M/1G pages, 32-bit IOVAs (the aperture), 40-bit
 *    output and a non-coherent walk. Its TLB is only ever flushed whole
 *    (IMCTR.FLUSH, ipmmu_flush_ops has no tlb_add_page): at context setup,
 *    for a freed table, at every iotlb_sync() and flush_iotlb_all(), and
 *    when the context is torn down (then waited for). A fault is what
 *    ipmmu_domain_irq() prints: "Unhandled fault: status ... iova ...".
 *
 * Not modelled: register programming (contexts, uTLBs), the arm32
 * ARM-mapping path of probe_finalize() (only without IOMMU_DMA), suspend, the
 * rate limit of the fault line.
 */
import type { Device } from '../../base/device.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { Fwnode } from '../../base/fwnode.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { IommuDriverEntry } from '../registry.js';
import { EBUSY, EINVAL, ENODEV, ENOMEM, ENXIO, EPROBE_DEFER, ERR_PTR } from '../../kernel/errno.js';
import { IOMMU_DOMAIN_IDENTITY, IommuDomain, staticDomain } from '../../iommu/domain.js';
import {
  IommuDevice,
  iommu_device_register,
  iommu_device_sysfs_add,
  iommu_device_sysfs_remove,
  iommu_device_unregister,
} from '../../iommu/iommu-device.js';
import { dev_iommu_fwspec_get } from '../../iommu/dev-iommu.js';
import { iommu_fwspec_add_ids } from '../../iommu/fwspec.js';
import { generic_device_group, generic_single_device_group } from '../../iommu/group.js';
import { of_match_node } from '../../firmware/of/of-base.js';
import { recordKnownBug } from '../../checker/known-bugs.js';
import { ipmmu_device_is_allowed } from './soc-match.js';
import { devm_platform_ioremap_resource, platform_get_irq } from '../../base/platform.js';
import { of_find_device_by_node } from '../../firmware/of/of-platform.js';
import { put_device } from '../../base/core.js';
import type { IommuFault } from '../../iommu/translate.js';
import type { IotlbStyle } from '../../iommu/io-pgtable-domain.js';
import {
  IOTLB_CONTEXT,
  io_pgtable_domain_free,
  io_pgtable_domain_init,
  io_pgtable_domain_ops,
} from '../../iommu/io-pgtable-domain.js';
import { IO_PGTABLE_QUIRK_ARM_NS } from '../../pgtable/formats/arm-lpae.js';

const IPMMU_CTX_MAX = 16;
const SZ_4K = 0x1000;
const SZ_2M = 0x200000;
const SZ_1G = 0x40000000;

/** struct ipmmu_features, the fields that decide what the core sees. */
interface IpmmuFeatures {
  readonly name: string;
  readonly has_cache_leaf_nodes: boolean;
  readonly number_of_contexts: number;
  readonly num_utlbs: number;
  readonly reserved_context: boolean;
}

const ipmmu_features_default: IpmmuFeatures = {
  name: 'default',
  has_cache_leaf_nodes: false,
  number_of_contexts: 1, // "software only tested with one context"
  num_utlbs: 32,
  reserved_context: false,
};

const ipmmu_features_rcar_gen3: IpmmuFeatures = {
  name: 'rcar_gen3',
  has_cache_leaf_nodes: true,
  number_of_contexts: 8,
  num_utlbs: 48,
  reserved_context: true,
};

const ipmmu_features_rcar_gen4: IpmmuFeatures = {
  name: 'rcar_gen4',
  has_cache_leaf_nodes: true,
  number_of_contexts: 16,
  num_utlbs: 64,
  reserved_context: true,
};

/** ipmmu_of_ids[]: compatible -> features. */
const ipmmu_of_ids: Readonly<Record<string, IpmmuFeatures>> = {
  'renesas,ipmmu-vmsa': ipmmu_features_default,
  'renesas,ipmmu-r8a774a1': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a774b1': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a774c0': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a774e1': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a7795': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a7796': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a77961': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a77965': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a77970': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a77980': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a77990': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a77995': ipmmu_features_rcar_gen3,
  'renesas,ipmmu-r8a779a0': ipmmu_features_rcar_gen4,
  'renesas,rcar-gen4-ipmmu-vmsa': ipmmu_features_rcar_gen4,
};
const IPMMU_OF_MATCH = Object.keys(ipmmu_of_ids);

/** struct ipmmu_vmsa_device: the platform device's drvdata. */
export class IpmmuVmsaDevice {
  readonly iommu: IommuDevice;
  root: IpmmuVmsaDevice | null = null;
  readonly num_ctx: number;
  /** The context bitmap (meaningful on a root). */
  readonly ctx: boolean[];
  readonly domains: (IpmmuVmsaDomain | null)[];
  /** utlb_ctx[]: uTLB -> context it is enabled for (IPMMU_CTX_INVALID: absent). */
  readonly utlb_ctx = new Map<number, number>();
  /** iommu_device_register() succeeded (a Gen3/Gen4 root never registers). */
  registered = false;

  constructor(
    readonly dev: Device,
    readonly mem: Allocation,
    readonly features: IpmmuFeatures,
  ) {
    this.num_ctx = Math.min(IPMMU_CTX_MAX, features.number_of_contexts);
    this.ctx = new Array<boolean>(this.num_ctx).fill(false);
    this.domains = new Array<IpmmuVmsaDomain | null>(this.num_ctx).fill(null);
    this.iommu = new IommuDevice(dev.name, dev); // iommu_device_sysfs_add(..., "%s", dev_name())
    this.iommu.priv = this;
    this.iommu.faultReporter = ipmmu_domain_irq_lines;
    // dev_err_ratelimited(domain->mmu->dev, ...): the IPMMU the domain was first attached through.
    this.iommu.faultLogDevice = (d) => {
      const domain = d.hwDomain ?? d.iommu_group?.domain;
      return domain instanceof IpmmuVmsaDomain && domain.mmu ? domain.mmu.dev.name : dev.name;
    };
  }
}

/** IMSTR bits ipmmu_domain_irq() reads. */
const IMSTR_PF = 1 << 1;
const IMSTR_TF = 1 << 0;

/**
 * ipmmu_domain_irq() for a transaction that faulted in a paging domain: a
 * permission fault (IMSTR.PF) or a translation fault (IMSTR.TF, also for an
 * IOVA beyond the 32-bit context), reported with IMELAR/IMEUAR's address
 * when no fault handler takes it.
 */
function ipmmu_domain_irq_lines(dev: Device, f: Omit<IommuFault, 'log'>): string[] {
  const domain = dev.hwDomain ?? dev.iommu_group?.domain;
  if (!(domain instanceof IpmmuVmsaDomain) || !domain.mmu || f.reason === 'blocked') return [];
  const status = f.reason === 'permission' ? IMSTR_PF : IMSTR_TF;
  return [`Unhandled fault: status 0x${status.toString(16).padStart(8, '0')} iova 0x${f.iova.toString(16)}`];
}

/** ipmmu_is_root() */
function ipmmu_is_root(mmu: IpmmuVmsaDevice): boolean {
  return mmu.root === mmu;
}

/** struct ipmmu_vmsa_domain */
class IpmmuVmsaDomain extends IommuDomain {
  /** The IPMMU of the first device attached (set by ipmmu_attach_device()). */
  mmu: IpmmuVmsaDevice | null = null;
  context_id = 0;
}

/** ipmmu_flush_ops: tlb_flush_all and tlb_flush_walk flush the whole context; no tlb_add_page. */
const IPMMU_IOTLB: IotlbStyle = { ...IOTLB_CONTEXT, walk: 'all' };

/** The driver's klist_devices: the IPMMUs bound to it, in bind order (per kernel). */
function boundList(k: Kernel): IpmmuVmsaDevice[] {
  let list = k.driverState.get('ipmmu-vmsa') as IpmmuVmsaDevice[] | undefined;
  if (!list) k.driverState.set('ipmmu-vmsa', (list = []));
  return list;
}

/** ipmmu_find_root(): the last bound IPMMU that is its own root, as __ipmmu_check_device() keeps overwriting. */
function ipmmu_find_root(k: Kernel): IpmmuVmsaDevice | null {
  let root: IpmmuVmsaDevice | null = null;
  for (const mmu of boundList(k)) if (ipmmu_is_root(mmu)) root = mmu;
  return root;
}

/** to_ipmmu(): the IPMMU ipmmu_of_xlate() filed in dev_iommu priv. */
function to_ipmmu(dev: Device): IpmmuVmsaDevice | null {
  const priv = dev.iommu?.priv;
  return priv instanceof IpmmuVmsaDevice ? priv : null;
}

/** ipmmu_domain_allocate_context(): the first free context of the root, or -EBUSY. */
function ipmmu_domain_allocate_context(root: IpmmuVmsaDevice, domain: IpmmuVmsaDomain): number {
  const id = root.ctx.indexOf(false);
  if (id < 0) return -EBUSY;
  root.ctx[id] = true;
  root.domains[id] = domain;
  return id;
}

/** ipmmu_domain_free_context() */
function ipmmu_domain_free_context(root: IpmmuVmsaDevice, context_id: number): void {
  root.ctx[context_id] = false;
  root.domains[context_id] = null;
}

/** ipmmu_domain_init_context(): a root context and a page table. */
function ipmmu_domain_init_context(k: Kernel, domain: IpmmuVmsaDomain): number {
  const mmu = domain.mmu!;
  const root = mmu.root!;
  const ret = ipmmu_domain_allocate_context(root, domain);
  if (ret < 0) return ret;
  domain.context_id = ret;
  // The IPMMU faults secure accesses unless every table and page is marked NS.
  const err = io_pgtable_domain_init(k, domain, mmu.iommu, {
    format: 'arm-32-lpae-s1',
    style: IPMMU_IOTLB,
    quirks: IO_PGTABLE_QUIRK_ARM_NS,
    pgsize_bitmap: SZ_1G | SZ_2M | SZ_4K,
    ias: 32,
    oas: 40,
    coherent_walk: false,
  });
  if (err) {
    ipmmu_domain_free_context(root, domain.context_id);
    return -EINVAL; // the driver's choice of errno for a failed page-table allocation
  }
  // ipmmu_domain_setup_context(): TTBR, TTBCR, MAIR, then IMCTR with FLUSH (not waited for).
  mmu.iommu.iotlb.invalidateAll(domain);
  return 0;
}

/** ipmmu_attach_device() */
function ipmmu_attach_device(k: Kernel, d: IommuDomain, dev: Device): number {
  const mmu = to_ipmmu(dev);
  const domain = d as IpmmuVmsaDomain;
  if (!mmu) {
    k.printk.log('err', dev.name, 'Cannot attach to IPMMU');
    return -ENXIO;
  }
  let ret = 0;
  if (!domain.mmu) {
    // First use: the domain takes a context on this IPMMU's root.
    domain.mmu = mmu;
    ret = ipmmu_domain_init_context(k, domain);
    if (ret < 0) {
      k.printk.log('err', dev.name, 'Unable to initialize IPMMU context');
      domain.mmu = null;
    } else {
      k.printk.log('info', dev.name, `Using IPMMU context ${domain.context_id}`);
    }
  } else if (domain.mmu !== mmu) {
    ret = -EINVAL; // no domain spans two IPMMUs
  } else {
    k.printk.log('info', dev.name, `Reusing IPMMU context ${domain.context_id}`);
  }
  if (ret < 0) return ret;
  for (const utlb of dev_iommu_fwspec_get(dev)?.ids ?? []) mmu.utlb_ctx.set(utlb, domain.context_id); // ipmmu_utlb_enable()
  return 0;
}

/** ipmmu_iommu_identity_attach(): the device's uTLBs leave the paging domain. */
function ipmmu_iommu_identity_attach(_k: Kernel, identity: IommuDomain, dev: Device): number {
  const cur = dev.iommu_group?.domain ?? null; // iommu_get_domain_for_dev()
  if (cur === identity || !cur || !(cur instanceof IpmmuVmsaDomain)) return 0;
  for (const utlb of dev_iommu_fwspec_get(dev)?.ids ?? []) cur.mmu?.utlb_ctx.delete(utlb); // ipmmu_utlb_disable()
  return 0;
}

/** ipmmu_domain_free(): give the context back, free the page table and the domain. */
function ipmmu_domain_free(k: Kernel, d: IommuDomain): void {
  const domain = d as IpmmuVmsaDomain;
  if (domain.mmu) {
    // ipmmu_domain_destroy_context(): IMCTR = FLUSH (the context off), wait, free the context.
    domain.mmu.iommu.iotlb.invalidateAll(domain);
    domain.mmu.iommu.iotlb.sync();
    ipmmu_domain_free_context(domain.mmu.root!, domain.context_id);
  }
  io_pgtable_domain_free(k, domain);
  k.alloc.free(domain.mem, 'ipmmu_domain_free');
  domain.mem = null;
}

export const ipmmu_ops: IommuOps = {
  name: 'ipmmu-vmsa',
  owner: null, // bool Kconfig: always built in
  pgsize_bitmap: SZ_1G | SZ_2M | SZ_4K,
  identity_domain: staticDomain(IOMMU_DOMAIN_IDENTITY, 'ipmmu-vmsa identity', ipmmu_iommu_identity_attach),
  // ipmmu_map(), ipmmu_unmap(), ipmmu_iova_to_phys() through the table; ipmmu_iotlb_sync() and
  // ipmmu_flush_iotlb_all() flush the context once it has one.
  default_domain_ops: { attach_dev: ipmmu_attach_device, free: ipmmu_domain_free, ...io_pgtable_domain_ops },
  /** ipmmu_domain_alloc_paging(): the context waits for the first attach. */
  domain_alloc_paging(k) {
    const mem = k.alloc.alloc('ipmmu_vmsa_domain', 'ipmmu-vmsa', 'ipmmu_domain_alloc_paging');
    if (!mem) return null;
    const d = new IpmmuVmsaDomain(0, null, 'ipmmu-vmsa paging');
    d.mem = mem;
    return d;
  },
  /** ipmmu_probe_device(): only devices of_xlate() let through. */
  probe_device(k, dev) {
    // Up to v6.10 the fwspec carried the ops: one naming another driver is not this one's.
    if (k.profile.fwspecInit === 'with-ops' && dev_iommu_fwspec_get(dev)?.ops !== ipmmu_ops)
      return ERR_PTR(-ENODEV);
    const mmu = to_ipmmu(dev);
    if (!mmu) return ERR_PTR(-ENODEV);
    return mmu.iommu;
  },
  /** ipmmu_release_device(): turn the device's uTLBs off. */
  release_device(_k, dev) {
    const mmu = to_ipmmu(dev);
    for (const utlb of dev_iommu_fwspec_get(dev)?.ids ?? []) mmu?.utlb_ctx.delete(utlb);
  },
  /** The FIXME'd choice: a group per device only for the arm32 DMA-mapping path. */
  device_group(k, dev) {
    return k.arch === 'arm' && !k.kconfig.IOMMU_DMA
      ? generic_device_group(k, dev)
      : generic_single_device_group(k, dev);
  },
  /** ipmmu_of_xlate() */
  of_xlate(k, dev, spec) {
    if (!ipmmu_device_is_allowed(dev, spec.np)) return -ENODEV;
    // The cell count is not checked: with #iommu-cells = 0 the kernel reads an
    // uninitialised args[0]; the model reads 0. The result is not checked either.
    iommu_fwspec_add_ids(k, dev, [spec.args[0] ?? 0], spec.source);
    // Only the first entry's IPMMU is kept.
    if (to_ipmmu(dev)) return 0;
    return ipmmu_init_platform_device(k, dev, spec.np);
  },
};

/** ipmmu_init_platform_device(): dev_iommu priv = the IPMMU device's drvdata. */
function ipmmu_init_platform_device(k: Kernel, dev: Device, np: Fwnode): number {
  const ipmmu_pdev = of_find_device_by_node(k, np);
  if (!ipmmu_pdev) return -ENODEV;
  const data = ipmmu_pdev.driverData;
  dev.iommu!.priv = data instanceof IpmmuVmsaDevice ? data : null;
  put_device(k, ipmmu_pdev);
  return 0;
}

/** ipmmu_probe() */
function ipmmu_probe(k: Kernel, dev: Device): number {
  const mem = k.alloc.alloc('ipmmu_vmsa_device', dev, 'ipmmu_probe'); // devm_kzalloc()
  if (!mem) {
    k.printk.log('err', dev.name, 'cannot allocate device data');
    return -ENOMEM;
  }
  const compat = of_match_node(IPMMU_OF_MATCH, dev.fwnode); // of_device_get_match_data()
  const mmu = new IpmmuVmsaDevice(dev, mem, ipmmu_of_ids[compat ?? 'renesas,ipmmu-vmsa']);
  const fail = (ret: number): number => {
    k.alloc.free(mem, 'devres_release_all');
    return ret;
  };
  // dma_set_mask_and_coherent(40 bits) cannot fail on arm64.
  let ret = devm_platform_ioremap_resource(k, dev);
  if (ret) return fail(ret);

  // A root: no cache-leaf design, or no renesas,ipmmu-main. A cache IPMMU takes whichever root is bound.
  const main = dev.fwnode?.properties.get('renesas,ipmmu-main') !== undefined;
  mmu.root = !mmu.features.has_cache_leaf_nodes || !main ? mmu : ipmmu_find_root(k);
  if (!mmu.root) return fail(-EPROBE_DEFER);

  if (ipmmu_is_root(mmu)) {
    // Only a root takes the fault interrupt, and without one it cannot probe.
    const irq = platform_get_irq(k, dev, 0);
    if (irq < 0) return fail(irq);
    // devm_request_irq() and ipmmu_device_reset(): hardware.
    if (mmu.features.reserved_context) {
      k.printk.log('info', dev.name, 'IPMMU context 0 is reserved');
      mmu.ctx[0] = true;
    }
  }

  // From d9d3cede4167 (v6.15) the drvdata masters are handed is set before registering.
  const drvdataFirst = k.profile.ipmmuDrvdata === 'before-register';
  if (drvdataFirst) dev.driverData = mmu;
  // Registered: every Gen2 IPMMU; on Gen3/Gen4 only the cache IPMMUs, never the root (IPMMU-MM).
  if (!mmu.features.has_cache_leaf_nodes || !ipmmu_is_root(mmu)) {
    ret = iommu_device_sysfs_add(k, mmu.iommu);
    if (ret) {
      dev.driverData = undefined;
      return fail(ret);
    }
    ret = iommu_device_register(k, mmu.iommu, ipmmu_ops, dev);
    if (ret) {
      dev.driverData = undefined;
      if (drvdataFirst) iommu_device_sysfs_remove(k, mmu.iommu);
      // 6.12 returns without iommu_device_sysfs_remove(): the sysfs device stays.
      else if (mmu.iommu.sysfs)
        recordKnownBug(k, 'ipmmu-register-failure-sysfs-leak', dev.name, [mmu.iommu.sysfs.id]);
      return fail(ret);
    }
    mmu.registered = true;
  }
  dev.driverData = mmu; // platform_set_drvdata(): 6.12 only now, after registering
  boundList(k).push(mmu); // driver_bound(): on the driver's klist
  return 0;
}

/** ipmmu_remove() */
function ipmmu_remove(k: Kernel, dev: Device): void {
  const mmu = dev.driverData;
  if (!(mmu instanceof IpmmuVmsaDevice)) return;
  // The driver removes and unregisters unconditionally: a Gen3/Gen4 root never registered, so
  // the kernel's iommu_device_sysfs_remove() dereferences its NULL iommu->dev (an oops on unbind).
  if (mmu.registered) {
    iommu_device_sysfs_remove(k, mmu.iommu);
    iommu_device_unregister(k, mmu.iommu);
    mmu.registered = false;
  } else {
    k.printk.log(
      'err',
      dev.name,
      'Unable to handle kernel NULL pointer dereference: ipmmu_remove() of an IPMMU that never registered',
    );
  }
  // arm_iommu_release_mapping(): arm32 only; ipmmu_device_reset(): hardware.
  const list = boundList(k);
  const i = list.indexOf(mmu);
  if (i >= 0) list.splice(i, 1);
  dev.driverData = undefined;
  k.alloc.free(mmu.mem, 'devres_release_all');
}

export function ipmmuVmsaDriver(k: Kernel): DeviceDriver {
  const bus = k.base.buses.get('platform');
  if (!bus) throw new Error('ipmmu-vmsa: no platform bus');
  return {
    name: 'ipmmu-vmsa',
    bus,
    of_match_table: IPMMU_OF_MATCH,
    probe: ipmmu_probe,
    remove: ipmmu_remove,
  };
}

export const ipmmuVmsaEntry: IommuDriverEntry = {
  name: 'ipmmu-vmsa',
  config: 'IPMMU_VMSA',
  of_match_table: IPMMU_OF_MATCH,
  create: ipmmuVmsaDriver,
};
