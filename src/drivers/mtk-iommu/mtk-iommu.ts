// SPDX-License-Identifier: GPL-2.0-only
/**
 * The MediaTek M4U driver as the IOMMU core sees it (drivers/iommu/
 * mtk_iommu.c, v6.12; module mtk_iommu, Kconfig MTK_IOMMU).
 *
 * One platform device per M4U instance, registered as "mtk-iommu.<base>".
 * A multimedia (MM) M4U serves masters behind SMI local arbiters (larbs): it
 * lists them in `mediatek,larbs`, defers until each is bound, and makes them
 * the components of its aggregate (component.ts, mtk-smi.ts). An INFRA M4U
 * serves PCIe and other peripheral masters directly. A master's `iommus`
 * cell is MTK_M4U_ID(larb, port) = larb << 5 | port; an MM master may use
 * ports of one larb only, and gets a stateless device link to that larb.
 *
 * Groups are not per device: every IOVA region (or, on an INFRA M4U with
 * banks, every bank) is one group, kept in the first instance's m4u_group[]
 * of the instance's hw_list. Instances with SHARE_PGTABLE (mt8195 vdo and
 * vpp, say) are on one global list, so masters of both M4Us that fall in the
 * same region share one group. Each master is told the regions that lie
 * inside its own as reserved (the CCU windows inside 8G~12G on mt8192-class
 * SoCs).
 *
 * Paging domains translate through one ARM v7s table per M4U list
 * (mtk_iommu_domain_finalise()): the first domain finalised on the list's
 * first data allocates it with the quirks the plat_data asks for (NS,
 * NO_PERMS, MTK_EXT, MTK_TTBR_EXT with PGTABLE_PA_35_EN), a 32- or 34-bit
 * IOVA and a 32-, 33- or 35-bit output; every later domain shares it
 * (share_dom) and only takes its IOVA region as aperture. Nothing frees it
 * (a known kernel leak, recorded at teardown). The table asks nothing of the
 * TLB: iotlb_sync and iotlb_sync_map send one range command per M4U of the
 * list, each polled (mtk_iommu_tlb_flush_range_sync(), tlb.ts),
 * flush_iotlb_all one "invalidate all". Faults print mtk_iommu_isr()'s line
 * (isr.ts).
 *
 * Not modelled: registers, runtime PM (an M4U counts as in use once one of
 * its banks was initialised for a master), and 4GB mode's strap (taken as
 * clear, so enable_4GB stays false).
 */
import type { Allocation } from '../../kernel/alloc.js';
import type { Device } from '../../base/device.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { IommuDriverEntry } from '../registry.js';
import type { IommuResvRegion } from '../../iommu/resv-regions.js';
import { EEXIST, EINVAL, ENODEV, ENOENT, ENOMEM, EPROBE_DEFER, ERR_PTR } from '../../kernel/errno.js';
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
import { IommuGroup, iommu_group_alloc, iommu_group_ref_get } from '../../iommu/group.js';
import {
  IOMMU_READ,
  IOMMU_RESV_RESERVED,
  IOMMU_WRITE,
  iommu_alloc_resv_region,
} from '../../iommu/resv-regions.js';
import { dev_err_probe, put_device } from '../../base/core.js';
import { dev_is_pci } from '../../base/device.js';
import { of_device_is_available, of_match_node } from '../../firmware/of/of-base.js';
import { devm_ioremap_resource, platform_get_irq, platform_get_mem_resource } from '../../base/platform.js';
import type { Fwnode } from '../../base/fwnode.js';
import { fwnode_property_read_u32 } from '../../base/fwnode.js';
import {
  CFG_IFA_MASTER_IN_ATF,
  HAS_4GB_MODE,
  HAS_BCLK,
  IOVA_34_EN,
  PGTABLE_PA_35_EN,
  MTK_IOMMU_BANK_MAX,
  MTK_IOMMU_BANK_SZ,
  MTK_IOMMU_GROUP_MAX,
  MTK_IOMMU_HAS_FLAG,
  MTK_IOMMU_IS_TYPE,
  MTK_IOMMU_TYPE_INFRA,
  MTK_IOMMU_TYPE_MM,
  MTK_LARB_NR_MAX,
  MTK_M4U_TO_LARB,
  MTK_M4U_TO_PORT,
  SHARE_PGTABLE,
  mtk_iommu_of_ids,
  type MtkIommuPlatData,
} from './plat-data.js';
import {
  formatMemResource,
  of_count_phandles,
  of_parse_phandle,
  syscon_regmap_lookup_by_compatible,
  syscon_regmap_lookup_by_phandle,
} from './of-lookup.js';
import { of_find_device_by_node } from '../../firmware/of/of-platform.js';
import { clk_get } from '../../firmware/of/of-resources.js';
import { device_link_add, device_link_remove } from './device-link.js';
import {
  component_bind_all,
  component_master_add_with_match,
  component_master_del,
  component_match_add,
  component_unbind_all,
  type ComponentMasterOps,
  type ComponentMatch,
} from './component.js';
import { mtkSmiCompanions, type MtkSmiLarbIommu } from './mtk-smi.js';
import type { IommuFault } from '../../iommu/translate.js';
import { IOTLB_CONTEXT, io_pgtable_domain_init } from '../../iommu/io-pgtable-domain.js';
import {
  IO_PGTABLE_QUIRK_ARM_MTK_EXT,
  IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT,
  IO_PGTABLE_QUIRK_ARM_NS,
  IO_PGTABLE_QUIRK_NO_PERMS,
} from '../../pgtable/index.js';
import { dma_set_mask_and_coherent } from '../../dma/mapping.js';
import { recordKnownBug } from '../../checker/known-bugs.js';
import { mtkIsrLine } from './isr.js';
import { MTK_PGTABLE_OWNER, mtk_iommu_domain_ops, mtk_iommu_tlb_flush_all } from './tlb.js';

/** struct mtk_iommu_bank_data */
export interface MtkIommuBank {
  readonly id: number;
  readonly irq: number;
  /** The domain the bank's hardware was initialised with (never cleared, as in the kernel). */
  m4u_dom: MtkIommuDomain | null;
  /** devm_request_irq() at the bank's first attach. */
  irqMem: Allocation | null;
}

/** struct mtk_iommu_data */
export interface MtkIommuData {
  readonly dev: Device;
  readonly plat_data: MtkIommuPlatData;
  readonly iommu: IommuDevice;
  readonly mem: Allocation;
  readonly protect: Allocation;
  readonly bankMem: Allocation;
  /** Indexed by bank id; disabled banks are null. */
  readonly bank: (MtkIommuBank | null)[];
  /** One group per IOVA region (or bank): used only in the first data of a hw_list. */
  readonly m4u_group: (IommuGroup | null)[];
  /** Indexed by larb id: the larb devices of `mediatek,larbs` (referenced). */
  readonly larb_imu: MtkSmiLarbIommu[];
  smicomm_dev: Device | null;
  /** The first finalised domain, whose page table later domains share (not cleared when freed). */
  share_dom: MtkIommuDomain | null;
  /** m4ulist for SHARE_PGTABLE instances, else the instance's own list. */
  hw_list: MtkIommuData[];
  enable_4GB: boolean;
}

/** struct mtk_iommu_domain; dom->iop is domain.pgtable (shared with share_dom's). */
export class MtkIommuDomain extends IommuDomain {
  /** Set at the first attach: the bank (of the attaching device's instance) it was finalised on. */
  bank: MtkIommuBank | null = null;
  /** domain->geometry, from the IOVA region it was finalised for. */
  aperture: { readonly start: bigint; readonly end: bigint } | null = null;
  /** The data whose bank it was finalised on (dom->bank->parent_data). */
  parent: MtkIommuData | null = null;
  /** kfree()d: a share_dom pointing here dangles. */
  freed = false;
}

interface MtkIommuState {
  /** m4ulist: every instance whose plat_data says hw_list = &m4ulist, in probe order. */
  readonly m4ulist: MtkIommuData[];
}

/** mtk_iommu_of_ids[]: the compatibles. */
const MTK_IOMMU_OF_MATCH = mtk_iommu_of_ids.map(([c]) => c);

function driverState(k: Kernel): MtkIommuState {
  let s = k.driverState.get('mtk-iommu') as MtkIommuState | undefined;
  if (!s) k.driverState.set('mtk-iommu', (s = { m4ulist: [] }));
  return s;
}

const BIT = (n: number): number => (1 << n) >>> 0;

/** The ports of a fwspec as a bit mask (portid_msk). */
function portMask(ids: readonly number[]): number {
  let msk = 0;
  for (const id of ids) msk = (msk | BIT(MTK_M4U_TO_PORT(id))) >>> 0;
  return msk;
}

function privOf(dev: Device): MtkIommuData {
  return dev.iommu!.priv as MtkIommuData;
}

/** mtk_iommu_get_frst_data() */
function mtk_iommu_get_frst_data(hw_list: readonly MtkIommuData[]): MtkIommuData | null {
  return hw_list[0] ?? null;
}

/** mtk_iommu_get_bank_id(): the first enabled bank serving one of the device's ports, else 0. */
function mtk_iommu_get_bank_id(dev: Device, plat_data: MtkIommuPlatData): number {
  if (plat_data.banks_num === 1) return 0;
  const portmsk = portMask(dev_iommu_fwspec_get(dev)!.ids);
  for (let i = 0; i < plat_data.banks_num && i < MTK_IOMMU_BANK_MAX; i++) {
    if (!plat_data.banks_enable[i]) continue;
    if ((portmsk & plat_data.banks_portmsk[i]) >>> 0) return i;
  }
  return 0;
}

/**
 * mtk_iommu_get_iova_region_id(): the first region whose mask for the first
 * ID's larb holds every port of the device; -EINVAL when none does.
 */
function mtk_iommu_get_iova_region_id(k: Kernel, dev: Device, plat_data: MtkIommuPlatData): number {
  if (plat_data.iova_region.length === 1) return 0;
  const ids = dev_iommu_fwspec_get(dev)!.ids;
  const larbid = MTK_M4U_TO_LARB(ids[0]);
  const portidmsk = portMask(ids);
  for (let i = 0; i < plat_data.iova_region.length; i++) {
    const rgn_larb_msk = plat_data.iova_region_larb_msk?.[i];
    if (!rgn_larb_msk) continue;
    if ((rgn_larb_msk[larbid] & portidmsk) >>> 0 === portidmsk) return i;
  }
  k.printk.log('err', dev.name, `Can NOT find the region for larb(${larbid}-${portidmsk.toString(16)}).`);
  return -EINVAL;
}

/** mtk_iommu_get_group_id(): a non-zero bank is the group; otherwise the IOVA region is. */
function mtk_iommu_get_group_id(k: Kernel, dev: Device, plat_data: MtkIommuPlatData): number {
  const bankid = mtk_iommu_get_bank_id(dev, plat_data);
  if (bankid) return bankid;
  return mtk_iommu_get_iova_region_id(k, dev, plat_data);
}

/**
 * mtk_iommu_config(): enable or disable translation for the device's ports:
 * MM in the larb's table (the SMI larb programs it at resume), INFRA in the
 * peripheral config (or through ATF). A PCI device must have exactly one ID.
 */
function mtk_iommu_config(
  k: Kernel,
  data: MtkIommuData,
  dev: Device,
  enable: boolean,
  regionid: number,
): number {
  const fwspec = dev_iommu_fwspec_get(dev)!;
  const portid_msk = portMask(fwspec.ids);
  let ret = 0;
  if (MTK_IOMMU_IS_TYPE(data.plat_data, MTK_IOMMU_TYPE_MM)) {
    // Every port is on the first ID's larb (mtk_iommu_probe_device() made sure).
    const larb_mmu = data.larb_imu[MTK_M4U_TO_LARB(fwspec.ids[0])];
    const region = data.plat_data.iova_region[regionid];
    for (let p = 0; p < 32; p++) if (portid_msk & BIT(p)) larb_mmu.bank[p] = Number(region.iova_base >> 32n);
    larb_mmu.mmu = (enable ? larb_mmu.mmu | portid_msk : larb_mmu.mmu & ~portid_msk) >>> 0;
  } else if (MTK_IOMMU_IS_TYPE(data.plat_data, MTK_IOMMU_TYPE_INFRA)) {
    // With CFG_IFA_MASTER_IN_ATF an SMC does it (firmware's answer: success); else a regmap write.
    if (
      !MTK_IOMMU_HAS_FLAG(data.plat_data, CFG_IFA_MASTER_IN_ATF) &&
      dev_is_pci(dev) &&
      fwspec.num_ids !== 1
    ) {
      k.printk.log('err', dev.name, 'PCI dev can only have one port.');
      return -ENODEV;
    }
    ret = 0;
  }
  return ret;
}

/**
 * mtk_iommu_domain_finalise(): share the first domain's page table, or
 * allocate it (ARM_V7S with the plat_data's quirks and address sizes); the
 * aperture is the region.
 */
function mtk_iommu_domain_finalise(
  k: Kernel,
  dom: MtkIommuDomain,
  data: MtkIommuData,
  region_id: number,
): number {
  const share_dom = data.share_dom;
  if (share_dom) {
    // A share_dom that was freed is read all the same (its memory still holds iop and cfg).
    if (share_dom.freed)
      data.dev.addHistory(
        'mtk_iommu_domain_finalise(): share_dom was freed: its iop and cfg are read from freed memory',
      );
    dom.pgtable = share_dom.pgtable;
    dom.pgsize_bitmap = share_dom.pgsize_bitmap;
  } else {
    let quirks = IO_PGTABLE_QUIRK_ARM_NS | IO_PGTABLE_QUIRK_NO_PERMS | IO_PGTABLE_QUIRK_ARM_MTK_EXT;
    if (MTK_IOMMU_HAS_FLAG(data.plat_data, PGTABLE_PA_35_EN)) quirks |= IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT;
    const oas = MTK_IOMMU_HAS_FLAG(data.plat_data, HAS_4GB_MODE) ? (data.enable_4GB ? 33 : 32) : 35;
    const ret = io_pgtable_domain_init(k, dom, data.iommu, {
      format: 'arm-v7s',
      style: IOTLB_CONTEXT, // unused: no flush ops
      noFlushOps: true,
      quirks,
      pgsize_bitmap: mtk_iommu_ops.pgsize_bitmap,
      ias: MTK_IOMMU_HAS_FLAG(data.plat_data, IOVA_34_EN) ? 34 : 32,
      oas,
      // The cfg's other fields stay 0: a non-coherent walk.
      coherent_walk: false,
    });
    if (ret) {
      k.printk.log('err', data.dev.name, 'Failed to alloc io pgtable');
      return -ENOMEM;
    }
    data.share_dom = dom;
  }
  const region = data.plat_data.iova_region[region_id];
  dom.aperture = { start: region.iova_base, end: region.iova_base + region.size - 1n };
  dom.geometry = {
    aperture_start: Number(dom.aperture.start),
    aperture_end: Number(dom.aperture.end),
    force_aperture: true,
  };
  return 0;
}

/** mtk_iommu_hw_init(): for the model, the bank's interrupt request (devm_request_irq()). */
function mtk_iommu_hw_init(k: Kernel, data: MtkIommuData, bank: MtkIommuBank): number {
  const mem = k.alloc.alloc('mtk_iommu irq', data.dev, 'mtk_iommu_hw_init');
  if (!mem) {
    k.printk.log('err', data.dev.name, `Failed @ IRQ-${bank.irq} Request`);
    return -ENODEV;
  }
  bank.irqMem = mem;
  return 0;
}

/** mtk_iommu_attach_device() */
function mtk_iommu_attach_device(k: Kernel, domain: IommuDomain, dev: Device): number {
  const data = privOf(dev);
  const dom = domain as MtkIommuDomain;
  const region_id = mtk_iommu_get_iova_region_id(k, dev, data.plat_data);
  if (region_id < 0) return region_id;
  const bankid = mtk_iommu_get_bank_id(dev, data.plat_data);
  if (!dom.bank) {
    // In the shared-page-table case the page table lives with the list's first data.
    const ret = mtk_iommu_domain_finalise(k, dom, mtk_iommu_get_frst_data(data.hw_list)!, region_id);
    if (ret) return ret;
    dom.bank = data.bank[bankid];
    dom.parent = data;
    // The translations this domain's first M4U caches.
    dom.iommu = data.iommu;
  }
  const bank = data.bank[bankid]!;
  if (!bank.m4u_dom) {
    // pm_runtime_resume_and_get() succeeds: runtime PM is not modelled.
    const ret = mtk_iommu_hw_init(k, data, bank);
    if (ret) return ret;
    bank.m4u_dom = dom;
  }
  // Above 4G the master's DMA addresses need 34 bits.
  if (region_id > 0) {
    const ret = dma_set_mask_and_coherent(dev, 34);
    if (ret) {
      k.printk.log('err', data.dev.name, `Failed to set dma_mask for ${dev.name}(${ret}).`);
      return ret;
    }
  }
  return mtk_iommu_config(k, data, dev, true, region_id);
}

/** mtk_iommu_identity_attach(): turn translation off unless already identity (or nothing). */
function mtk_iommu_identity_attach(k: Kernel, identity: IommuDomain, dev: Device): number {
  const domain = dev.iommu_group?.domain ?? null;
  if (domain === identity || !domain) return 0;
  mtk_iommu_config(k, privOf(dev), dev, false, 0);
  return 0;
}

/** mtk_iommu_domain_free(): kfree() only; the shared page table stays (and a share_dom pointing here dangles). */
function mtk_iommu_domain_free(k: Kernel, domain: IommuDomain): void {
  const dom = domain as MtkIommuDomain;
  dom.iommu?.iotlb.drop(dom);
  dom.freed = true;
  k.alloc.free(domain.mem, 'mtk_iommu_domain_free');
  domain.mem = null;
}

/** SZ_4K | SZ_64K | SZ_1M | SZ_16M */
const MTK_PGSIZE_BITMAP = 0x1000 | 0x10000 | 0x100000 | 0x1000000;

export const mtk_iommu_ops: IommuOps = {
  name: 'mtk-iommu',
  owner: 'mtk_iommu',
  pgsize_bitmap: MTK_PGSIZE_BITMAP,
  identity_domain: staticDomain(IOMMU_DOMAIN_IDENTITY, 'mtk-iommu identity', mtk_iommu_identity_attach),
  default_domain_ops: {
    attach_dev: mtk_iommu_attach_device,
    free: mtk_iommu_domain_free,
    ...mtk_iommu_domain_ops,
  },

  /** mtk_iommu_domain_alloc_paging(): NULL on failure, as the kernel's kzalloc(). */
  domain_alloc_paging(k, dev) {
    const mem = k.alloc.alloc('mtk_iommu_domain', dev ?? 'mtk-iommu', 'mtk_iommu_domain_alloc_paging');
    if (!mem) return null;
    const dom = new MtkIommuDomain(0, null, MTK_PGTABLE_OWNER);
    dom.mem = mem;
    return dom;
  },

  /**
   * mtk_iommu_probe_device(): an INFRA master is taken as it is; an MM master
   * must use one larb the instance lists, and is linked to it.
   */
  probe_device(k, dev) {
    const fwspec = dev_iommu_fwspec_get(dev);
    const data = dev.iommu?.priv as MtkIommuData | null;
    if (!fwspec || !data) return ERR_PTR(-ENODEV); // not reachable: of_xlate() set both
    if (!MTK_IOMMU_IS_TYPE(data.plat_data, MTK_IOMMU_TYPE_MM)) return data.iommu;
    const larbid = MTK_M4U_TO_LARB(fwspec.ids[0]);
    if (larbid >= MTK_LARB_NR_MAX) return ERR_PTR(-EINVAL);
    for (const id of fwspec.ids.slice(1)) {
      const larbidx = MTK_M4U_TO_LARB(id);
      if (larbid !== larbidx) {
        k.printk.log('err', dev.name, `Can only use one larb. Fail@larb${larbid}-${larbidx}.`);
        return ERR_PTR(-EINVAL);
      }
    }
    const larbdev = data.larb_imu[larbid].dev;
    if (!larbdev) return ERR_PTR(-EINVAL);
    if (!device_link_add(k, dev, larbdev)) k.printk.log('err', dev.name, `Unable to link ${larbdev.name}`);
    return data.iommu;
  },

  /** mtk_iommu_release_device(): an MM master's link to its larb goes. */
  release_device(k, dev) {
    const data = dev.iommu?.priv as MtkIommuData | null;
    const fwspec = dev_iommu_fwspec_get(dev);
    if (!data || !fwspec || !MTK_IOMMU_IS_TYPE(data.plat_data, MTK_IOMMU_TYPE_MM)) return;
    device_link_remove(k, dev, data.larb_imu[MTK_M4U_TO_LARB(fwspec.ids[0])].dev);
  },

  /**
   * mtk_iommu_device_group(): the group of the device's region (or bank),
   * created on first use in the first data of the instance's hw_list and
   * referenced after that.
   */
  device_group(k, dev) {
    const c_data = privOf(dev);
    const data = mtk_iommu_get_frst_data(c_data.hw_list);
    if (!data) return ERR_PTR(-ENODEV);
    const groupid = mtk_iommu_get_group_id(k, dev, data.plat_data);
    if (groupid < 0) return ERR_PTR(groupid);
    const bankid = mtk_iommu_get_bank_id(dev, data.plat_data);
    const what = bankid
      ? `bank ${bankid}`
      : `IOVA region ${groupid} (${data.plat_data.iova_region[groupid].name})`;
    const group = data.m4u_group[groupid];
    if (!group) {
      const g = iommu_group_alloc(k);
      if (g instanceof IommuGroup) {
        data.m4u_group[groupid] = g;
        g.reasons.push(
          `${dev.name}: one group per ${bankid ? 'bank' : 'IOVA region'} of ${data.iommu.name}` +
            `${MTK_IOMMU_HAS_FLAG(data.plat_data, SHARE_PGTABLE) ? ' (m4ulist: shared by every SHARE_PGTABLE instance)' : ''}:` +
            ` ${what} (mtk_iommu_device_group)`,
        );
      }
      return g;
    }
    if (group.released) {
      // m4u_group[] is never cleared: the group was freed when its last device left, and the
      // kernel now takes a reference on freed memory. Modelled as the freed memory left as it
      // was: the refcount saturates with a WARN, and the core's sysfs link to the deleted group
      // fails, so the device is not added (iommu_group_alloc_device() returns -ENOENT).
      k.printk.warnOnce(
        true,
        'refcount_warn_saturate',
        'refcount_t: addition on 0; use-after-free.',
        dev.name,
      );
      k.printk.log('err', dev.name, `Failed to add to iommu group ${group.id}: ${-ENOENT}`);
      return ERR_PTR(-ENOENT);
    }
    group.reasons.push(`${dev.name}: ${what} of ${data.iommu.name} (mtk_iommu_device_group)`);
    return iommu_group_ref_get(group);
  },

  /** mtk_iommu_of_xlate(): one cell; the first entry names the instance (dev_iommu_priv). */
  of_xlate(k, dev, args) {
    if (args.args.length !== 1) {
      k.printk.log('err', dev.name, `invalid #iommu-cells(${args.args.length}) property for IOMMU`);
      return -EINVAL;
    }
    if (!dev.iommu!.priv) {
      const m4updev = of_find_device_by_node(k, args.np);
      if (k.printk.warn(!m4updev, 'mtk_iommu_of_xlate', 'WARN_ON(!m4updev)', dev.name)) return -EINVAL;
      dev.iommu!.priv = m4updev!.driverData ?? null;
      put_device(k, m4updev!);
    }
    return iommu_fwspec_add_ids(k, dev, args.args.slice(0, 1), args.source);
  },

  /**
   * mtk_iommu_get_resv_regions(): every region lying strictly inside the
   * device's own region is reserved (RESERVED, read/write).
   */
  get_resv_regions(k, dev, list: IommuResvRegion[]) {
    const data = privOf(dev);
    const regionid = mtk_iommu_get_iova_region_id(k, dev, data.plat_data);
    if (regionid < 0) return;
    const regions = data.plat_data.iova_region;
    const curdom = regions[regionid];
    for (const resv of regions) {
      if (resv.iova_base <= curdom.iova_base || resv.iova_base + resv.size >= curdom.iova_base + curdom.size)
        continue;
      list.push(
        iommu_alloc_resv_region(
          resv.iova_base,
          resv.size,
          IOMMU_WRITE | IOMMU_READ,
          IOMMU_RESV_RESERVED,
          `IOVA region ${regions.indexOf(resv)} (${resv.name}) inside region ${regionid} (${curdom.name})`,
        ),
      );
    }
  },
};

/** The aggregate: mtk_iommu_bind()/mtk_iommu_unbind() bind the larbs with the larb table. */
const mtk_iommu_com_ops: ComponentMasterOps = {
  name: 'mtk_iommu_com_ops',
  bind: (k, dev) => component_bind_all(k, dev, (dev.driverData as MtkIommuData).larb_imu),
  unbind: (k, dev) => component_unbind_all(k, dev, (dev.driverData as MtkIommuData).larb_imu),
};

/** Drop the larb references mtk_iommu_mm_dts_parse() took. */
function putLarbs(k: Kernel, data: MtkIommuData): void {
  for (let i = MTK_LARB_NR_MAX - 1; i >= 0; i--) {
    const d = data.larb_imu[i].dev;
    if (!d) continue;
    data.larb_imu[i].dev = null;
    put_device(k, d);
  }
}

/**
 * mtk_iommu_mm_dts_parse(): every available larb of `mediatek,larbs` must be
 * bound; all must hang off one SMI common, which is linked to the M4U.
 */
function mtk_iommu_mm_dts_parse(k: Kernel, dev: Device, data: MtkIommuData): ComponentMatch | number {
  const np = dev.fwnode;
  const larb_nr = of_count_phandles(np, 'mediatek,larbs');
  if (larb_nr < 0) return larb_nr;
  if (larb_nr === 0 || larb_nr > MTK_LARB_NR_MAX) return -EINVAL;

  let frst_avail_smicomm_node: Fwnode | null = null;
  let match: ComponentMatch | null = null;
  const fail = (ret: number): number => {
    putLarbs(k, data);
    return ret;
  };
  for (let i = 0; i < larb_nr; i++) {
    const larbnode = of_parse_phandle(k, np, 'mediatek,larbs', i);
    if (!larbnode) return fail(-EINVAL);
    if (!of_device_is_available(larbnode)) continue;
    // The ids are consecutive when there is no mediatek,larb-id.
    const id = fwnode_property_read_u32(larbnode, 'mediatek,larb-id') ?? i;
    if (id >= MTK_LARB_NR_MAX) return fail(-EINVAL);
    const plarbdev = of_find_device_by_node(k, larbnode);
    if (!plarbdev) return fail(-ENODEV);
    if (data.larb_imu[id].dev) {
      put_device(k, plarbdev);
      return fail(-EEXIST);
    }
    data.larb_imu[id].dev = plarbdev;
    if (!plarbdev.driver) return fail(-EPROBE_DEFER);
    // The SMI common from the larb: a sub-common has its own mediatek,smi.
    const smi_subcomm_node = of_parse_phandle(k, larbnode, 'mediatek,smi', 0);
    if (!smi_subcomm_node) return fail(-EINVAL);
    const smicomm_node = of_parse_phandle(k, smi_subcomm_node, 'mediatek,smi', 0) ?? smi_subcomm_node;
    // Every larb of one M4U must reach the same SMI common.
    if (!frst_avail_smicomm_node) {
      frst_avail_smicomm_node = smicomm_node;
    } else if (frst_avail_smicomm_node !== smicomm_node) {
      k.printk.log('err', dev.name, `mediatek,smi property is not right @larb${id}.`);
      return fail(-EINVAL);
    }
    match = component_match_add(match, plarbdev);
  }
  if (!frst_avail_smicomm_node || !match) return fail(-EINVAL);
  const pcommdev = of_find_device_by_node(k, frst_avail_smicomm_node);
  if (!pcommdev) return fail(-ENODEV);
  data.smicomm_dev = pcommdev;
  const link = device_link_add(k, pcommdev, dev);
  put_device(k, pcommdev);
  if (!link) {
    k.printk.log('err', dev.name, `Unable to link ${pcommdev.name}.`);
    return fail(-EINVAL);
  }
  return match;
}

/** The plat_data for the device's node (of_device_get_match_data()). */
function matchData(dev: Device): MtkIommuPlatData {
  const compat = of_match_node(MTK_IOMMU_OF_MATCH, dev.fwnode);
  return mtk_iommu_of_ids.find(([c]) => c === compat)![1];
}

/** The devm allocations of a failed or removed probe (devres_release_all()). */
function devm_release(k: Kernel, data: MtkIommuData, site: string): void {
  for (const bank of data.bank) {
    if (bank?.irqMem) k.alloc.free(bank.irqMem, site);
    if (bank) bank.irqMem = null;
  }
  k.alloc.free(data.bankMem, site);
  k.alloc.free(data.protect, site);
  k.alloc.free(data.mem, site);
}

/** mtk_iommu_probe() */
function mtk_iommu_probe(k: Kernel, dev: Device): number {
  const mem = k.alloc.alloc('mtk_iommu_data', dev, 'mtk_iommu_probe');
  if (!mem) return -ENOMEM;
  const plat_data = matchData(dev);
  // The protect buffer: what the hardware reads on a translation fault.
  const protect = k.alloc.alloc('mtk_iommu protect buffer', dev, 'mtk_iommu_probe');
  if (!protect) {
    k.alloc.free(mem, 'mtk_iommu_probe');
    return -ENOMEM;
  }
  const early = (ret: number): number => {
    k.alloc.free(protect, 'mtk_iommu_probe');
    k.alloc.free(mem, 'mtk_iommu_probe');
    return ret;
  };

  if (MTK_IOMMU_HAS_FLAG(plat_data, HAS_4GB_MODE)) {
    let ret = syscon_regmap_lookup_by_phandle(k, dev.fwnode, 'mediatek,infracfg');
    if (ret) {
      // Legacy trees: the infracfg syscon by compatible, for mt2712 and mt8173 only.
      const legacy =
        plat_data.m4u_plat === 'M4U_MT2712'
          ? 'mediatek,mt2712-infracfg'
          : plat_data.m4u_plat === 'M4U_MT8173'
            ? 'mediatek,mt8173-infracfg'
            : null;
      ret = syscon_regmap_lookup_by_compatible(dev.fwnode, legacy);
      if (ret) return early(ret);
    }
    // REG_INFRA_MISC's F_DDR_4GB_SUPPORT_EN is a hardware strap: taken as clear.
  }

  const banks_num = plat_data.banks_num;
  const res = platform_get_mem_resource(dev);
  if (!res) return early(-EINVAL);
  if (res.end - res.start + 1n < BigInt(banks_num) * MTK_IOMMU_BANK_SZ) {
    k.printk.log('err', dev.name, `banknr ${banks_num}. res ${formatMemResource(res)} is not enough.`);
    return early(-EINVAL);
  }
  const ioret = devm_ioremap_resource(k, dev, res);
  if (ioret) return early(ioret);
  const ioaddr = res.start;

  const bankMem = k.alloc.alloc('mtk_iommu_bank_data', dev, 'mtk_iommu_probe');
  if (!bankMem) return early(-ENOMEM);
  const banks: (MtkIommuBank | null)[] = [];
  for (let i = 0; i < banks_num; i++) {
    if (!plat_data.banks_enable[i]) {
      banks.push(null);
      continue;
    }
    const irq = platform_get_irq(k, dev, i);
    if (irq < 0) {
      k.alloc.free(bankMem, 'mtk_iommu_probe');
      return early(irq);
    }
    banks.push({ id: i, irq, m4u_dom: null, irqMem: null });
  }
  const iommu = new IommuDevice(`mtk-iommu.0x${ioaddr.toString(16).padStart(16, '0')}`, dev);
  const data: MtkIommuData = {
    dev,
    plat_data,
    iommu,
    mem,
    protect,
    bankMem,
    bank: banks,
    m4u_group: new Array<IommuGroup | null>(MTK_IOMMU_GROUP_MAX).fill(null),
    larb_imu: Array.from({ length: MTK_LARB_NR_MAX }, () => ({
      dev: null,
      mmu: 0,
      bank: new Array<number>(32).fill(0),
    })),
    smicomm_dev: null,
    share_dom: null,
    hw_list: [],
    enable_4GB: false,
  };
  iommu.priv = data;
  iommu.faultReporter = (master, f) => mtk_iommu_isr(k, data, master, f);
  iommu.faultLogDevice = () => dev.name; // dev_err_ratelimited(bank->parent_dev, ...)
  const fail = (ret: number): number => {
    devm_release(k, data, 'mtk_iommu_probe');
    return ret;
  };

  if (MTK_IOMMU_HAS_FLAG(plat_data, HAS_BCLK)) {
    const ret = clk_get(k, dev, 'bclk');
    if (ret) return fail(ret);
  }
  // PGTABLE_PA_35_EN: dma_set_mask(dev, DMA_BIT_MASK(35)) succeeds on arm64.

  let match: ComponentMatch | null = null;
  if (MTK_IOMMU_IS_TYPE(plat_data, MTK_IOMMU_TYPE_MM)) {
    const m = mtk_iommu_mm_dts_parse(k, dev, data);
    if (typeof m === 'number') return fail(dev_err_probe(k, dev, m, 'mm dts parse fail'));
    match = m;
  } else if (
    MTK_IOMMU_IS_TYPE(plat_data, MTK_IOMMU_TYPE_INFRA) &&
    !MTK_IOMMU_HAS_FLAG(plat_data, CFG_IFA_MASTER_IN_ATF)
  ) {
    const ret = syscon_regmap_lookup_by_compatible(dev.fwnode, plat_data.pericfg_comp_str ?? null);
    if (ret) return fail(ret);
  }

  dev.driverData = data; // platform_set_drvdata()
  data.hw_list = MTK_IOMMU_HAS_FLAG(plat_data, SHARE_PGTABLE) ? driverState(k).m4ulist : [];
  data.hw_list.push(data);

  const out_list_del = (ret: number): number => {
    data.hw_list.splice(data.hw_list.indexOf(data), 1);
    if (MTK_IOMMU_IS_TYPE(plat_data, MTK_IOMMU_TYPE_MM)) {
      device_link_remove(k, data.smicomm_dev, dev);
      putLarbs(k, data);
    }
    dev.driverData = undefined;
    return fail(ret);
  };
  let ret = iommu_device_sysfs_add(k, iommu);
  if (ret) return out_list_del(ret);
  ret = iommu_device_register(k, iommu, mtk_iommu_ops, dev);
  if (ret) {
    iommu_device_sysfs_remove(k, iommu);
    return out_list_del(ret);
  }
  if (match) {
    ret = component_master_add_with_match(k, dev, mtk_iommu_com_ops, match);
    if (ret) {
      iommu_device_unregister(k, iommu);
      iommu_device_sysfs_remove(k, iommu);
      return out_list_del(ret);
    }
  }
  return 0;
}

/** mtk_iommu_remove() */
function mtk_iommu_remove(k: Kernel, dev: Device): void {
  const data = dev.driverData as MtkIommuData | undefined;
  if (!data) return;
  iommu_device_sysfs_remove(k, data.iommu);
  iommu_device_unregister(k, data.iommu);
  data.hw_list.splice(data.hw_list.indexOf(data), 1);
  if (MTK_IOMMU_IS_TYPE(data.plat_data, MTK_IOMMU_TYPE_MM)) {
    device_link_remove(k, data.smicomm_dev, dev);
    component_master_del(k, dev, mtk_iommu_com_ops);
    putLarbs(k, data);
  }
  // devm_free_irq() for the banks that were initialised, then the devm allocations.
  devm_release(k, data, 'mtk_iommu_remove');
  dev.driverData = undefined;
}

/**
 * mtk_iommu_isr() of the bank serving `master`: its line (isr.ts), then a
 * flush of the whole TLB. A bank whose interrupt was never requested (no
 * master attached yet) has no handler: nothing is printed.
 */
function mtk_iommu_isr(k: Kernel, data: MtkIommuData, master: Device, f: Omit<IommuFault, 'log'>): string[] {
  const fwspec = dev_iommu_fwspec_get(master);
  const bank = data.bank[mtk_iommu_get_bank_id(master, data.plat_data)];
  if (!fwspec || !bank?.irqMem || f.reason === 'blocked') return [];
  const id = fwspec.ids[0];
  const domain = master.hwDomain ?? master.iommu_group?.domain ?? null;
  const line = mtkIsrLine(
    data.plat_data,
    f,
    MTK_M4U_TO_LARB(id),
    MTK_M4U_TO_PORT(id),
    domain?.pgtable ?? null,
  );
  mtk_iommu_tlb_flush_all(data, bank.m4u_dom);
  return [line];
}

/** At teardown: the tables of the shared page table are still allocated, as the kernel leaves them. */
function recordSharedPgtableLeak(k: Kernel): void {
  const ids = k.alloc
    .liveAllocations()
    .filter((a) => a.type === 'io-pgtable table' && a.owner === MTK_PGTABLE_OWNER)
    .map((a) => a.id);
  if (ids.length) recordKnownBug(k, 'mtk-iommu-pgtable-never-freed', 'mtk-iommu', ids);
}

export function mtkIommuDriver(k: Kernel): DeviceDriver {
  const bus = k.base.buses.get('platform');
  if (!bus) throw new Error('mtk-iommu: no platform bus');
  k.teardownHooks.push(() => recordSharedPgtableLeak(k));
  return {
    name: 'mtk-iommu',
    bus,
    of_match_table: MTK_IOMMU_OF_MATCH,
    probe: mtk_iommu_probe,
    remove: mtk_iommu_remove,
  };
}

/** The instance data behind an M4U platform device (for reports and tests). */
export function mtkIommuData(dev: Device): MtkIommuData | null {
  const d = dev.driverData as MtkIommuData | undefined;
  return d && d.dev === dev && d.iommu instanceof IommuDevice ? d : null;
}

export const mtkIommuEntry: IommuDriverEntry = {
  name: 'mtk-iommu',
  config: 'MTK_IOMMU',
  of_match_table: MTK_IOMMU_OF_MATCH,
  create: mtkIommuDriver,
  companions: mtkSmiCompanions,
};
