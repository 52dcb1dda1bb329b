// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Samsung Exynos System MMU as the IOMMU core sees it
 * (drivers/iommu/exynos-iommu.c, Linux 6.12), built in when EXYNOS_IOMMU=y
 * (Debian arm64 leaves it out: masters then wait for the deferred-probe
 * timeout and bind without an IOMMU).
 *
 * - Probe (exynos_sysmmu_probe()): one instance per `samsung,exynos-sysmmu`
 *   node, named after its platform device ("13a00000.sysmmu") and keyed by
 *   the node. It needs a `reg` window (-EINVAL), interrupt 0 (-ENXIO, which
 *   the driver core takes as "not mine") and either the "sysmmu" clock or
 *   both "aclk" and "pclk" (-ENOSYS).
 * - Clients (exynos_iommu_of_xlate()): `#iommu-cells` is 0 and no fwspec ID
 *   is added. The first entry of a master allocates its owner (its private
 *   data); each entry appends that sysmmu to the owner's controller list,
 *   once. The fwspec keeps the first sysmmu's node.
 * - probe_device(): -ENODEV without an owner, else the FIRST controller's
 *   instance: that is where the core links the device, though a paging
 *   domain is programmed into every controller of the owner.
 * - device_group(): generic_device_group(), a group per master.
 * - Domains: a static identity domain and paging domains (a 16 KiB level-1
 *   table and its level-2 counters) that translate (domain.ts); no blocked
 *   domain, no def_domain_type(), no reserved regions. release_device()
 *   detaches to identity.
 * - The hardware version (__sysmmu_get_version()) is data by SoC; the first
 *   System MMU to probe fixes the page-table entry encoding (PG_ENT_SHIFT).
 * - The owner is never freed (known bug exynos-owner-leak).
 *
 * Not modelled (invisible to the core): registers, IRQ requests, runtime PM
 * (a System MMU on a paging domain counts as active), device links, the
 * 36-bit DMA mask of v5+ (no page-table page is above 4 GiB in the model).
 */
import type { Allocation } from '../../kernel/alloc.js';
import type { Device } from '../../base/device.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuDriverEntry } from '../registry.js';
import { ENODEV, ENOMEM, ERR_PTR, errnoNames } from '../../kernel/errno.js';
import type { IommuDomain } from '../../iommu/domain.js';
import { IOMMU_DOMAIN_IDENTITY, staticDomain } from '../../iommu/domain.js';
import {
  IommuDevice,
  iommu_device_register,
  iommu_device_sysfs_add,
  iommu_device_sysfs_remove,
} from '../../iommu/iommu-device.js';
import { generic_device_group } from '../../iommu/group.js';
import { devm_ioremap_resource, platform_get_irq, platform_get_mem_resource } from '../../base/platform.js';
import { put_device } from '../../base/core.js';
import { clk_get, of_address_count } from '../../firmware/of/of-resources.js';
import { of_find_device_by_node } from '../../firmware/of/of-platform.js';
import { recordKnownBug } from '../../checker/known-bugs.js';
import type { SysmmuPgEnt } from '../../pgtable/formats/exynos-sysmmu.js';
import type { ExynosIommuDomain } from './domain.js';
import {
  MMU_MAJ_VER,
  exynos_iommu_domain_free_tables,
  exynos_iommu_domain_ops,
  exynos_iommu_init,
  exynos_iommu_paging_domain_alloc,
  exynos_sysmmu_irq_lines,
  sysmmuVersion,
  type ExynosInit,
} from './domain.js';

const ENOSYS = errnoNames.ENOSYS;

/** SECT_SIZE | LPAGE_SIZE | SPAGE_SIZE: 1 MiB sections, 64 KiB and 4 KiB pages. */
const EXYNOS_PGSIZE_BITMAP = (1 << 20) | (1 << 16) | (1 << 12);

/** sysmmu_of_match */
const SYSMMU_OF_MATCH = ['samsung,exynos-sysmmu'];

/** struct sysmmu_drvdata, as far as the core can tell. */
export interface SysmmuDrvdata {
  /** The System MMU's own device. */
  readonly sysmmu: Device;
  readonly iommu: IommuDevice;
  /** The master whose owner list holds it (the last one to list it). */
  master: Device | null;
  /** Whose controller list it is on (its owner_node). */
  owner: ExynosIommuOwner | null;
  /** The paging domain it translates for, if any. */
  domain: ExynosIommuDomain | null;
  /** data->version: MAKE_MMU_VER() of what REG_MMU_VERSION read. */
  readonly version: number;
  /** data->active: paging enabled (__sysmmu_enable()), until __sysmmu_disable(). */
  active: boolean;
  /** devm_kzalloc(): freed when the sysmmu unbinds (the driver has no remove()). */
  readonly mem: Allocation;
}

/** struct exynos_iommu_owner: a master's private data. */
interface ExynosIommuOwner {
  /** Its System MMUs, in `iommus` order. */
  readonly controllers: SysmmuDrvdata[];
  /** The domain the master is attached to: the identity domain or a paging one. */
  domain: IommuDomain;
  readonly mem: Allocation;
}

/** The driver's statics. */
interface ExynosState {
  /** The first sysmmu that got as far as registering: used to map page tables. */
  dma_dev: Device | null;
  /** PG_ENT_SHIFT (with LV1_PROT and LV2_PROT): set by the first probe. */
  pgEnt: SysmmuPgEnt | null;
  /** What exynos_iommu_init() allocated. */
  init: ExynosInit | null;
}

function exynosState(k: Kernel): ExynosState {
  let st = k.driverState.get('exynos-iommu') as ExynosState | undefined;
  if (!st) k.driverState.set('exynos-iommu', (st = { dma_dev: null, pgEnt: null, init: null }));
  return st;
}

/** dev_iommu_priv_get() for a master; has_sysmmu() is "not null". */
function ownerOf(dev: Device): ExynosIommuOwner | null {
  return (dev.iommu?.priv as ExynosIommuOwner | null | undefined) ?? null;
}

/** exynos_iommu_identity_attach(): every client of the master's domain goes back to bypass. */
function exynos_iommu_identity_attach(_k: Kernel, identity: IommuDomain, dev: Device): number {
  const owner = ownerOf(dev);
  if (!owner) return -ENODEV; // the kernel dereferences the owner: only probed masters get here
  if (owner.domain === identity) return 0;
  const domain = owner.domain as ExynosIommuDomain;
  // __sysmmu_disable() of the master's System MMUs.
  for (const data of owner.controllers) data.active = false;
  // Not only this master's System MMUs: the whole client list of the domain is emptied.
  for (const data of [...domain.clients]) {
    data.domain = null;
    domain.removeClient(data);
  }
  owner.domain = identity;
  return 0;
}

/** exynos_identity_domain */
const exynos_identity_domain: IommuDomain = staticDomain(
  IOMMU_DOMAIN_IDENTITY,
  'exynos-iommu identity',
  (k, domain, dev) => exynos_iommu_identity_attach(k, domain, dev),
);

/** exynos_iommu_attach_device(): every controller of the owner joins the domain. */
function exynos_iommu_attach_device(k: Kernel, domain: IommuDomain, dev: Device): number {
  const err = exynos_iommu_identity_attach(k, exynos_identity_domain, dev);
  if (err) return err;
  const owner = ownerOf(dev)!;
  const exynos = domain as ExynosIommuDomain;
  for (const data of owner.controllers) {
    data.domain = exynos;
    exynos.addClient(data);
  }
  owner.domain = domain;
  // __sysmmu_enable() of each (its page-table base and TLB flush are the power-up, not counted).
  for (const data of owner.controllers) data.active = true;
  return 0;
}

/** exynos_iommu_domain_alloc_paging(): NULL is -ENOMEM to the core. */
function exynos_iommu_domain_alloc_paging(k: Kernel): IommuDomain | null {
  const st = exynosState(k);
  // BUG_ON(PG_ENT_SHIFT < 0 || !dma_dev): a paging domain is only asked for once a System MMU registered.
  if (
    k.printk.warn(
      !st.dma_dev || !st.pgEnt || !st.init,
      'exynos_iommu_domain_alloc_paging',
      'BUG_ON(PG_ENT_SHIFT < 0 || !dma_dev)',
    )
  )
    return null;
  return exynos_iommu_paging_domain_alloc(k, st.pgEnt!, st.init!);
}

/** exynos_iommu_domain_free(): WARNs if a System MMU still translates through it, disables and drops them. */
function exynos_iommu_domain_free(k: Kernel, domain: IommuDomain): void {
  const d = domain as ExynosIommuDomain;
  k.printk.warn(
    d.clients.size > 0,
    'exynos_iommu_domain_free',
    `WARN_ON(!list_empty(&domain->clients)): ${[...d.clients].map((c) => c.iommu.name).join(', ')}`,
  );
  for (const data of [...d.clients]) {
    data.active = false; // __sysmmu_disable()
    data.domain = null;
    d.removeClient(data);
  }
  exynos_iommu_domain_free_tables(k, d);
}

export const exynos_iommu_ops: IommuOps = {
  name: 'exynos-iommu',
  owner: null,
  pgsize_bitmap: EXYNOS_PGSIZE_BITMAP,
  identity_domain: exynos_identity_domain,
  default_domain_ops: {
    attach_dev: exynos_iommu_attach_device,
    free: exynos_iommu_domain_free,
    ...exynos_iommu_domain_ops,
  },
  domain_alloc_paging: (k) => exynos_iommu_domain_alloc_paging(k),
  device_group: generic_device_group,

  /**
   * exynos_iommu_probe_device(): the owner's first System MMU. (Each one also
   * gets a runtime-PM device link to the master: not modelled.)
   */
  probe_device(_k, dev) {
    const owner = ownerOf(dev);
    if (!owner) return ERR_PTR(-ENODEV);
    return owner.controllers[0].iommu;
  },

  /** exynos_iommu_release_device(): back to identity first; the owner stays allocated. */
  release_device(k, dev) {
    k.printk.warn(
      exynos_iommu_identity_attach(k, exynos_identity_domain, dev) !== 0,
      'exynos_iommu_release_device',
      'WARN_ON(exynos_iommu_identity_attach())',
      dev.name,
    );
  },

  /** exynos_iommu_of_xlate(): the System MMU joins the master's owner list. */
  of_xlate(k, dev, spec) {
    const sysmmu = of_find_device_by_node(k, spec.np);
    if (!sysmmu) return -ENODEV;
    const data = (sysmmu.driverData as SysmmuDrvdata | undefined) ?? null;
    put_device(k, sysmmu);
    if (!data) return -ENODEV;
    let owner = ownerOf(dev);
    if (!owner) {
      const mem = k.alloc.alloc('exynos_iommu_owner', dev, 'exynos_iommu_of_xlate');
      if (!mem) return -ENOMEM;
      // Nothing ever kfree()s it: released with dev->iommu, or lost when of_iommu_configure() fails.
      recordKnownBug(k, 'exynos-owner-leak', dev.name, [mem.id]);
      owner = { controllers: [], domain: exynos_identity_domain, mem };
      dev.iommu!.priv = owner;
    }
    if (owner.controllers.includes(data)) return 0;
    // list_add_tail() of an owner_node already on another master's list: the kernel
    // corrupts that list; the model moves the System MMU over.
    if (data.owner && data.owner !== owner) {
      const old = data.owner.controllers;
      old.splice(old.indexOf(data), 1);
    }
    owner.controllers.push(data);
    data.owner = owner;
    data.master = dev;
    dev.addHistory(
      `exynos_iommu_of_xlate(): ${spec.source} adds ${data.iommu.name} to the owner's controllers`,
    );
    return 0;
  },
};

/** Clock lookups by name on the device's node (devm_clk_get_optional()): present or not. */
function clkPresent(k: Kernel, dev: Device, name: string): boolean {
  return clk_get(k, dev, name) === 0;
}

/** exynos_sysmmu_probe() */
function exynos_sysmmu_probe(k: Kernel, dev: Device): number {
  const site = 'exynos_sysmmu_probe';
  const mem = k.alloc.alloc('sysmmu_drvdata', dev, site);
  if (!mem) return -ENOMEM;
  const fail = (ret: number): number => {
    k.alloc.free(mem, site); // devres_release_all()
    return ret;
  };
  const np = dev.fwnode?.kind === 'of' ? dev.fwnode : null;
  // platform_get_resource(IORESOURCE_MEM, 0) + devm_ioremap_resource(): of_device_alloc() made
  // memory resources only of whole `reg` entries (of_address_count()).
  const res = np && of_address_count(np) === 0 ? null : platform_get_mem_resource(dev);
  let ret = devm_ioremap_resource(k, dev, res);
  if (ret) return fail(ret);
  // platform_get_irq(pdev, 0); the handler itself is not modelled.
  const irq = platform_get_irq(k, dev, 0);
  if (irq <= 0) return fail(irq);
  // devm_clk_get_optional() for "sysmmu", "aclk" and "pclk": one or the pair is needed.
  const clk = clkPresent(k, dev, 'sysmmu');
  const aclk = clkPresent(k, dev, 'aclk');
  const pclk = clkPresent(k, dev, 'pclk');
  if (!clk && (!aclk || !pclk)) {
    k.printk.log('err', dev.name, 'Failed to get device clock(s)!');
    return fail(-ENOSYS);
  }

  const data: SysmmuDrvdata = {
    sysmmu: dev,
    iommu: new IommuDevice(dev.name, dev),
    master: null,
    owner: null,
    domain: null,
    version: sysmmuVersion(dev), // __sysmmu_get_version()
    active: false,
    mem,
  };
  data.iommu.priv = data;
  // exynos_sysmmu_irq()
  data.iommu.faultReporter = (_dev, f) => exynos_sysmmu_irq_lines(data, f);
  ret = iommu_device_sysfs_add(k, data.iommu);
  if (ret) return fail(ret);
  dev.driverData = data; // platform_set_drvdata()

  // The first System MMU's version picks the entry encoding for all (PG_ENT_SHIFT).
  const st = exynosState(k);
  if (!st.pgEnt) st.pgEnt = MMU_MAJ_VER(data.version) < 5 ? 'v1' : 'v5';
  // The first System MMU past this point does the DMA API work for page tables.
  if (!st.dma_dev) st.dma_dev = dev;

  ret = iommu_device_register(k, data.iommu, exynos_iommu_ops, dev);
  if (ret) {
    iommu_device_sysfs_remove(k, data.iommu);
    return fail(ret);
  }
  return 0;
}

/** No remove() in the driver: unbinding only releases its devres. */
function exynos_sysmmu_unbind(k: Kernel, dev: Device): void {
  const data = dev.driverData as SysmmuDrvdata | undefined;
  if (data) k.alloc.free(data.mem, 'devres_release_all');
  dev.driverData = undefined;
}

/**
 * exynos_iommu_init() and the driver it registers. When its kmem_cache or
 * zero level-2 table cannot be allocated it returns before
 * platform_driver_register(): the model's driver then matches nothing.
 */
export function exynosSysmmuDriver(k: Kernel): DeviceDriver {
  const bus = k.base.buses.get('platform');
  if (!bus) throw new Error('exynos-iommu: no platform bus');
  const init = exynos_iommu_init(k);
  exynosState(k).init = init;
  return {
    name: 'exynos-sysmmu',
    bus,
    of_match_table: init ? SYSMMU_OF_MATCH : [],
    probe: exynos_sysmmu_probe,
    remove: exynos_sysmmu_unbind,
  };
}

export const exynosIommuEntry: IommuDriverEntry = {
  name: 'exynos-sysmmu',
  config: 'EXYNOS_IOMMU',
  of_match_table: SYSMMU_OF_MATCH,
  create: exynosSysmmuDriver,
};
