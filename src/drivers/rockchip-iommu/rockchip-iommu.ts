// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Rockchip IOMMU as the IOMMU core sees it (drivers/iommu/rockchip-iommu.c,
 * Linux 6.12), built in (builtin_platform_driver, Kconfig ROCKCHIP_IOMMU).
 *
 * - Probe (rk_iommu_probe()): one instance per `rockchip,iommu` (v1) or
 *   `rockchip,rk3568-iommu` (v2) node, named after its platform device
 *   ("ff8f3f00.iommu") and keyed by the node. Every `reg` window is one MMU
 *   the instance drives; a node with none has no resources at all (an OF
 *   platform device's resources are its `reg` windows only), and the probe
 *   reads bases[0] through ZERO_SIZE_PTR (an oops). The two variants may
 *   not be mixed in one system (WARN, -EINVAL). Missing "aclk"/"iface"
 *   clocks are logged and tolerated.
 * - Clients (rk_iommu_of_xlate()): `#iommu-cells` is 0 and no fwspec ID is
 *   ever added; instead each `iommus` entry allocates a fresh rk_iommudata
 *   (devm, on the first instance's device, `dma_dev`; on the entry's own
 *   instance from v6.15, see rkPerInstanceData()) naming that entry's
 *   instance and makes it the device's private data. A master listing
 *   several IOMMUs keeps the fwspec of the first (iommu_fwspec_init() leaves
 *   an existing one alone) but is probed into the LAST one's instance.
 * - probe_device(): the instance of the private data (-ENODEV without);
 *   device_group(): generic_single_device_group(), one group per instance.
 * - Domains: a static identity domain and 32-bit paging domains; no blocked
 *   domain, no def_domain_type(), no reserved regions. Each instance follows
 *   one domain at a time (iommu->domain); release_device() does not detach,
 *   so freeing the last member's default domain WARNs that the instance is
 *   still on the domain's list (rk_iommu_domain_free()).
 * - Paging domains translate (domain.ts: the DT/PT tables, map/unmap with the
 *   IOTLB zaps, the fault lines of rk_iommu_irq()).
 *
 * Not modelled (invisible to the core): registers, IRQ requests, runtime PM
 * (an instance on a paging domain counts as powered: its master is the one
 * doing DMA), device links, "rockchip,disable-mmu-reset" (it only skips the
 * hardware reset when paging is enabled).
 */
import type { Allocation } from '../../kernel/alloc.js';
import type { Device } from '../../base/device.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuDriverEntry } from '../registry.js';
import { EFAULT, EINVAL, ENODEV, ENOENT, ENOMEM, ERR_PTR } from '../../kernel/errno.js';
import type { IommuDomain } from '../../iommu/domain.js';
import { IOMMU_DOMAIN_IDENTITY, staticDomain } from '../../iommu/domain.js';
import type { RkVariant } from '../../pgtable/formats/rockchip.js';
import { RK_IOMMU_PGSIZE_BITMAP } from '../../pgtable/formats/rockchip.js';
import {
  RkIommuDomain,
  rk_iommu_disable,
  rk_iommu_domain_free,
  rk_iommu_domain_ops,
  rk_iommu_enable,
  rk_iommu_irq_lines,
  rk_iommu_paging_domain_alloc,
} from './domain.js';
import {
  IommuDevice,
  iommu_device_register,
  iommu_device_sysfs_add,
  iommu_device_sysfs_remove,
} from '../../iommu/iommu-device.js';
import { generic_single_device_group } from '../../iommu/group.js';
import { platform_get_mem_resource } from '../../base/platform.js';
import { of_match_node } from '../../firmware/of/of-base.js';
import { put_device } from '../../base/core.js';
import { clk_bulk_get, of_address_count } from '../../firmware/of/of-resources.js';
import { of_irq_count } from '../../firmware/of/of-irq.js';
import { of_find_device_by_node } from '../../firmware/of/of-platform.js';

/** rk_iommu_dt_ids: the compatible and its ops variant (the match data). */
const RK_IOMMU_DT_IDS: Readonly<Record<string, RkVariant>> = {
  'rockchip,iommu': 'v1',
  'rockchip,rk3568-iommu': 'v2',
};
const RK_IOMMU_OF_MATCH = Object.keys(RK_IOMMU_DT_IDS);

/** iommu_data_ops_v1 (32-bit tables) or _v2 (40-bit) by compatible. */

/** rk_iommu_clocks */
const RK_IOMMU_CLOCKS = ['aclk', 'iface'] as const;

/** struct rk_iommu, as far as the core can tell. */
export interface RkIommu {
  readonly dev: Device;
  readonly iommu: IommuDevice;
  /** The descriptor layout of its ops (rk_ops). */
  variant: RkVariant;
  /** One per `reg` window. */
  num_mmu: number;
  num_irq: number;
  /** 0 when the clocks could not be had (older device trees). */
  num_clocks: number;
  /** iommu->domain: the identity domain or the paging domain it translates for. */
  domain: IommuDomain;
  /** The device's devres list: freed when it unbinds (the driver has no remove()). */
  readonly devres: Allocation[];
}

/** struct rk_iommudata: a master's private data, one per of_xlate() call. */
interface RkIommuData {
  readonly iommu: RkIommu;
  readonly mem: Allocation;
}

/** The driver's statics: dma_dev and rk_ops. */
interface RkState {
  /** The first instance's device: DMA for page tables, and the devres owner of every rk_iommudata. */
  dma_dev: Device | null;
  /** The variant of the first probe (null: none yet, or a device without OF match data). */
  rk_ops: RkVariant | null;
}

function rkState(k: Kernel): RkState {
  let st = k.driverState.get('rockchip-iommu') as RkState | undefined;
  if (!st) k.driverState.set('rockchip-iommu', (st = { dma_dev: null, rk_ops: null }));
  return st;
}

/** rk_iommu_from_dev() */
function rk_iommu_from_dev(dev: Device): RkIommu | null {
  return (dev.iommu?.priv as RkIommuData | null | undefined)?.iommu ?? null;
}

/** rk_iommu_identity_attach(): take the instance off its paging domain, paging disabled. */
function rk_iommu_identity_attach(_k: Kernel, identity: IommuDomain, dev: Device): number {
  const iommu = rk_iommu_from_dev(dev);
  if (!iommu) return -ENODEV;
  if (iommu.domain === identity) return 0;
  const old = iommu.domain;
  iommu.domain = identity;
  if (old instanceof RkIommuDomain) {
    old.detach(iommu);
    rk_iommu_disable(iommu, old);
  }
  return 0;
}

/** rk_identity_domain */
const rk_identity_domain: IommuDomain = staticDomain(
  IOMMU_DOMAIN_IDENTITY,
  'rockchip-iommu identity',
  (k, domain, dev) => rk_iommu_identity_attach(k, domain, dev),
);

/** rk_iommu_attach_device(): a device without an instance ("virtual" DRM devices) is accepted as is. */
function rk_iommu_attach_device(k: Kernel, domain: IommuDomain, dev: Device): number {
  const iommu = rk_iommu_from_dev(dev);
  if (!iommu) return 0;
  if (iommu.domain === domain) return 0;
  const ret = rk_iommu_identity_attach(k, rk_identity_domain, dev);
  if (ret) return ret;
  iommu.domain = domain;
  (domain as RkIommuDomain).attach(iommu);
  // rk_iommu_enable(), as for an instance whose master keeps it runtime-active.
  rk_iommu_enable(iommu, domain as RkIommuDomain);
  return 0;
}

/**
 * Where the driver keeps per-master data and maps page tables: up to v6.14
 * the global dma_dev (the first instance to register); from the probe-path
 * kernels (v6.15) each master's own instance, since of_xlate() may now run
 * while the first instance is still registering and dma_dev is still NULL
 * (the rk3568 crash reported against "iommu: Get DT/ACPI parsing into the
 * proper probe path" in March 2025, fixed by allocating on the instance).
 */
function rkPerInstanceData(k: Kernel): boolean {
  return k.profile.firmwareConfigure === 'probe-path';
}

/** rk_iommu_domain_alloc_paging(): NULL is -ENOMEM to the core. */
function rk_iommu_domain_alloc_paging(k: Kernel, dev: Device | null): IommuDomain | null {
  // Up to v6.14 nothing is allocated before an instance registered (no dma_dev);
  // later kernels map the tables through the device's own instance.
  const dma_dev = rkPerInstanceData(k) ? (dev ? rk_iommu_from_dev(dev)?.dev : null) : rkState(k).dma_dev;
  if (!dma_dev) return null;
  // rk_ops was set by the first probe, which dma_dev's registration implies.
  return rk_iommu_paging_domain_alloc(k, rkState(k).rk_ops ?? 'v1');
}

/** of_find_device_by_node() + platform_get_drvdata(): the instance bound to that node. */
function rk_iommu_of_node_drvdata(k: Kernel, np: Device['fwnode']): RkIommu | null {
  const iommu_dev = of_find_device_by_node(k, np);
  if (!iommu_dev) return null;
  const data = (iommu_dev.driverData as RkIommu | undefined) ?? null;
  put_device(k, iommu_dev); // platform_device_put()
  return data;
}

export const rk_iommu_ops: IommuOps = {
  name: 'rockchip-iommu',
  owner: null,
  pgsize_bitmap: RK_IOMMU_PGSIZE_BITMAP,
  identity_domain: rk_identity_domain,
  default_domain_ops: {
    attach_dev: rk_iommu_attach_device,
    free: rk_iommu_domain_free,
    ...rk_iommu_domain_ops,
  },
  domain_alloc_paging: rk_iommu_domain_alloc_paging,

  /**
   * rk_iommu_probe_device(): only a device that of_xlate() gave private data.
   * Its device link to the instance (runtime PM only) is all that
   * rk_iommu_release_device() undoes, so the model has no release_device():
   * the private data stays, devm on dma_dev.
   */
  probe_device(_k, dev) {
    const iommu = rk_iommu_from_dev(dev);
    if (!iommu) return ERR_PTR(-ENODEV);
    return iommu.iommu;
  },

  /** generic_single_device_group(): every master of one instance shares its group. */
  device_group: generic_single_device_group,

  /** rk_iommu_of_xlate(): no IDs; the entry's instance becomes the device's private data. */
  of_xlate(k, dev, args) {
    // Only called for a registered instance, so its platform device is bound.
    const iommu = rk_iommu_of_node_drvdata(k, args.np)!;
    // devm_kzalloc(dma_dev) (or, from v6.15, on the instance's own device).
    const dma_dev = rkPerInstanceData(k) ? iommu.dev : rkState(k).dma_dev;
    const owner = dma_dev?.driverData as RkIommu | undefined;
    if (!owner) {
      k.printk.warn(true, 'rk_iommu_of_xlate', 'devm_kzalloc() on a NULL dma_dev', dev.name);
      return -ENODEV;
    }
    const mem = k.alloc.alloc('rk_iommudata', dev, 'rk_iommu_of_xlate');
    if (!mem) return -ENOMEM;
    owner.devres.push(mem);
    const previous = rk_iommu_from_dev(dev);
    dev.iommu!.priv = { iommu, mem } satisfies RkIommuData;
    dev.addHistory(
      previous && previous !== iommu
        ? `rk_iommu_of_xlate(): ${args.source} names ${iommu.iommu.name}, replacing ${previous.iommu.name} as the device's IOMMU`
        : `rk_iommu_of_xlate(): ${args.source} names ${iommu.iommu.name}`,
    );
    return 0;
  },
};

/** Frees what devm allocated for the device: devres_release_all() at unbind or failed probe. */
function devres_release_all(k: Kernel, devres: Allocation[], site: string): void {
  for (const a of devres.splice(0).reverse()) k.alloc.free(a, site);
}

/**
 * pdev->num_resources and platform_irq_count(): of_device_alloc() makes one
 * resource per `reg` window and none for interrupts (a device without an OF
 * node: the MMIO window given to it); the interrupts are counted apart.
 */
function rk_iommu_resources(k: Kernel, dev: Device): { num_reg: number; num_irq: number } {
  const np = dev.fwnode?.kind === 'of' ? dev.fwnode : null;
  if (!np) return { num_reg: platform_get_mem_resource(dev) ? 1 : 0, num_irq: 0 };
  return { num_reg: of_address_count(np), num_irq: of_irq_count(k, np) };
}

/** rk_iommu_probe() */
function rk_iommu_probe(k: Kernel, dev: Device): number {
  const st = rkState(k);
  const devres: Allocation[] = [];
  const fail = (ret: number): number => {
    devres_release_all(k, devres, 'rk_iommu_probe');
    return ret;
  };

  const mem = k.alloc.alloc('rk_iommu', dev, 'rk_iommu_probe');
  if (!mem) return -ENOMEM;
  devres.push(mem);
  const iommu: RkIommu = {
    dev,
    iommu: new IommuDevice(dev.name, dev),
    variant: 'v1',
    num_mmu: 0,
    num_irq: 0,
    num_clocks: RK_IOMMU_CLOCKS.length,
    domain: rk_identity_domain,
    devres,
  };
  iommu.iommu.priv = iommu;
  // rk_iommu_irq(): what the instance prints for a page fault.
  iommu.iommu.faultReporter = (_dev, f) => rk_iommu_irq_lines(iommu, f);
  dev.driverData = iommu; // platform_set_drvdata()

  // of_device_get_match_data(); the first probe fixes rk_ops for the system.
  const match = of_match_node(RK_IOMMU_OF_MATCH, dev.fwnode);
  const ops: RkVariant | null = match ? RK_IOMMU_DT_IDS[match] : null;
  if (!st.rk_ops) st.rk_ops = ops;
  if (k.printk.warn(st.rk_ops !== ops, 'rk_iommu_probe', 'WARN_ON(rk_ops != ops)', dev.name))
    return fail(-EINVAL);
  iommu.variant = ops ?? 'v1';

  const { num_reg, num_irq } = rk_iommu_resources(k, dev);
  const num_res = num_reg;
  if (num_res === 0) {
    // devm_kcalloc(dev, 0, …) is ZERO_SIZE_PTR, and bases[0] is read through it below.
    k.printk.log(
      'err',
      dev.name,
      'Unable to handle kernel paging request at virtual address 0000000000000010',
    );
    k.printk.warn(
      true,
      'rk_iommu_probe',
      'Oops: iommu->bases[0] read through ZERO_SIZE_PTR (no resources)',
      dev.name,
    );
    return fail(-EFAULT);
  }
  const bases = k.alloc.alloc('rk_iommu bases', dev, 'rk_iommu_probe');
  if (!bases) return fail(-ENOMEM);
  devres.push(bases);
  // platform_get_resource(IORESOURCE_MEM, i) + devm_ioremap_resource() for i < num_resources:
  // every resource is a `reg` window, and mapping one cannot fail in the model.
  iommu.num_mmu = num_reg;

  iommu.num_irq = num_irq; // platform_irq_count()

  const clocks = k.alloc.alloc('rk_iommu clocks', dev, 'rk_iommu_probe');
  if (!clocks) return fail(-ENOMEM);
  devres.push(clocks);
  // devm_clk_bulk_get(): clocks are optional for older device trees (-ENOENT), but each miss is logged.
  let err = clk_bulk_get(k, dev, RK_IOMMU_CLOCKS);
  if (err === -ENOENT) iommu.num_clocks = 0;
  else if (err) return fail(err);

  err = iommu_device_sysfs_add(k, iommu.iommu);
  if (err) return fail(err);
  err = iommu_device_register(k, iommu.iommu, rk_iommu_ops, dev);
  if (err) {
    iommu_device_sysfs_remove(k, iommu.iommu);
    return fail(err);
  }
  // The first registered instance does the DMA API work for every domain.
  if (!st.dma_dev) st.dma_dev = dev;
  return 0;
}

/** No remove() in the driver: unbinding only releases its devres. */
function rk_iommu_unbind(k: Kernel, dev: Device): void {
  const iommu = dev.driverData as RkIommu | undefined;
  if (iommu) devres_release_all(k, iommu.devres, 'devres_release_all');
  dev.driverData = undefined;
}

export function rkIommuDriver(k: Kernel): DeviceDriver {
  const bus = k.base.buses.get('platform');
  if (!bus) throw new Error('rockchip-iommu: no platform bus');
  return {
    name: 'rk_iommu',
    bus,
    of_match_table: RK_IOMMU_OF_MATCH,
    probe: rk_iommu_probe,
    remove: rk_iommu_unbind,
  };
}

export const rockchipIommuEntry: IommuDriverEntry = {
  name: 'rk_iommu',
  config: 'ROCKCHIP_IOMMU',
  of_match_table: RK_IOMMU_OF_MATCH,
  create: rkIommuDriver,
};
