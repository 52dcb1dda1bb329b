// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Tegra SMMU as the IOMMU core sees it (drivers/iommu/tegra-smmu.c,
 * Linux 6.12). It has no platform device of its own: tegra_mc_probe() calls
 * tegra_smmu_probe(), which registers one instance on the MC's device, named
 * after it ("70019000.memory-controller") and keyed by the MC's fwnode.
 *
 * A master names its swgroup in one `iommus` cell. of_xlate() adds that ID
 * and points dev->iommu's private data at the SMMU. probe_device() then walks
 * the master's `iommus` again itself (tegra_smmu_configure(): fwspec init,
 * which finds the fwspec already there, and of_xlate() once more), so from
 * 6.12's of_iommu_configure() path every swgroup appears twice in the fwspec.
 * Groups: one per swgroup, except that the swgroups of one of the SoC's named
 * groups (Tegra210 "display": DC and DCB) share one, which gets that name.
 * def_domain_type() asks for identity for every device, so the default
 * domains are the static identity domain; paging domains (an owner's, or the
 * core's stand-in blocking domain) take one ASID while attached, and
 * translate through their page directory (domain.ts).
 */
import type { Device } from '../../base/device.js';
import type { Fwnode } from '../../base/fwnode.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { IommuOps, OfPhandleArgs } from '../../iommu/ops.js';
import type { TegraSmmuGroupSoc, TegraSmmuSoc } from './soc.js';
import { ENODEV, ENOENT, ENOMEM, ENOSPC, ERR_PTR, IS_ERR, type ErrPtr } from '../../kernel/errno.js';
import { dev_fwnode } from '../../base/device.js';
import type { IommuDomain } from '../../iommu/domain.js';
import { IOMMU_DOMAIN_IDENTITY, staticDomain } from '../../iommu/domain.js';
import {
  IommuDevice,
  iommu_device_register,
  iommu_device_sysfs_add,
  iommu_device_sysfs_remove,
} from '../../iommu/iommu-device.js';
import { dev_iommu_fwspec_get } from '../../iommu/dev-iommu.js';
import { iommu_fwspec_add_ids, iommu_fwspec_free, iommu_fwspec_init } from '../../iommu/fwspec.js';
import {
  generic_device_group,
  iommu_group_ref_get,
  iommu_group_set_iommudata,
  iommu_group_set_name,
} from '../../iommu/group.js';
import { pci_device_group } from '../../pci/pci-device-group.js';
import { of_parse_phandle_with_args } from '../../firmware/of/of-base.js';
import { of_find_device_by_node } from '../../firmware/of/of-platform.js';
import { put_device } from '../../base/core.js';
import { devm_kfree, devm_kzalloc } from './devres.js';
import type { TegraSmmuAs } from './domain.js';
import {
  tegra_mc_fault_lines,
  tegra_smmu_as_flush_new,
  tegra_smmu_domain_alloc_paging,
  tegra_smmu_domain_free,
  tegra_smmu_domain_ops,
  to_smmu_as,
} from './domain.js';
import { TegraMc, TegraSmmu, type TegraSmmuGroup } from './structs.js';

/** PAGE_SHIFT of the SMMU's page tables (SMMU_PTE_SHIFT). */
const SMMU_PTE_SHIFT = 12;

/** dev_iommu_priv_get(): the SMMU that of_xlate() recorded. */
function dev_smmu(dev: Device): TegraSmmu | null {
  const priv = dev.iommu?.priv;
  return priv instanceof TegraSmmu ? priv : null;
}

/** The swgroup's name in the SoC's table, else its number, for reports. */
function swgroupName(soc: TegraSmmuSoc, swgroup: number): string {
  return soc.swgroups.find((s) => s.swgroup === swgroup)?.name ?? String(swgroup);
}

// ---- ASIDs and swgroup enables (tegra_smmu_as_prepare() and friends, without the registers)

/** tegra_smmu_alloc_asid(): the lowest free ASID, -ENOSPC when all are taken. */
function tegra_smmu_alloc_asid(smmu: TegraSmmu): number {
  const id = smmu.asids.indexOf(false);
  if (id < 0) return -ENOSPC;
  smmu.asids[id] = true;
  return id;
}

/** tegra_smmu_find_swgroup() */
function tegra_smmu_find_swgroup(smmu: TegraSmmu, swgroup: number): boolean {
  return smmu.soc.swgroups.some((s) => s.swgroup === swgroup);
}

/** tegra_smmu_enable(): a swgroup without an ASID register is only warned about. */
function tegra_smmu_enable(k: Kernel, smmu: TegraSmmu, swgroup: number): void {
  if (!tegra_smmu_find_swgroup(smmu, swgroup))
    k.printk.log('warn', 'kernel', `tegra_smmu_enable group from swgroup ${swgroup} not found`);
}

/**
 * tegra_smmu_as_prepare(): the first user takes an ASID, once the page
 * directory's address fits the SMMU's frame numbers (smmu_dma_addr_valid(),
 * else -ENOMEM), and flushes the directory's cache line and the ASID's TLB
 * entries before pointing SMMU_PTB_DATA at it. (The DMA mapping of the page
 * directory cannot fail in the model.)
 */
function tegra_smmu_as_prepare(smmu: TegraSmmu, as: TegraSmmuAs): number {
  if (as.use_count > 0) {
    as.use_count++;
    return 0;
  }
  const pd = as.table.cfg.ttbr;
  if (Math.floor(pd / 2 ** SMMU_PTE_SHIFT) > smmu.pfn_mask) return -ENOMEM;
  const id = tegra_smmu_alloc_asid(smmu);
  if (id < 0) return id;
  as.id = id;
  tegra_smmu_as_flush_new(smmu, as);
  as.smmu = smmu;
  as.iommu = smmu.iommu;
  as.use_count++;
  return 0;
}

/** tegra_smmu_as_unprepare(): the last user gives the ASID back. */
function tegra_smmu_as_unprepare(smmu: TegraSmmu, as: TegraSmmuAs): void {
  if (--as.use_count > 0) return;
  smmu.asids[as.id] = false;
  as.smmu = null;
  // The ASID is flushed whole when it is handed out again.
  smmu.iommu.iotlb.drop(as);
  as.iommu = null;
}

/** tegra_smmu_attach_dev(): one ASID use per fwspec ID (so two for a 6.12 master). */
function tegra_smmu_attach_dev(k: Kernel, domain: IommuDomain, dev: Device): number {
  const fwspec = dev_iommu_fwspec_get(dev);
  const smmu = dev_smmu(dev);
  const as = to_smmu_as(domain);
  if (!fwspec) return -ENOENT;
  if (!smmu || !as) return -ENODEV; // not a Tegra master or domain: never reached in the kernel
  let index = 0;
  for (; index < fwspec.num_ids; index++) {
    const err = tegra_smmu_as_prepare(smmu, as);
    if (err) {
      while (index--) tegra_smmu_as_unprepare(smmu, as); // tegra_smmu_disable() touches registers only
      return err;
    }
    tegra_smmu_enable(k, smmu, fwspec.ids[index]);
  }
  if (index === 0) return -ENODEV;
  return 0;
}

/**
 * tegra_smmu_identity_attach(): leaving a paging domain releases its ASID
 * uses; from no domain or the identity domain there is nothing to undo.
 */
function tegra_smmu_identity_attach(_k: Kernel, identity: IommuDomain, dev: Device): number {
  const domain = dev.iommu_group?.domain ?? null; // iommu_get_domain_for_dev()
  const fwspec = dev_iommu_fwspec_get(dev);
  if (!fwspec) return -ENODEV;
  if (domain === identity || !domain) return 0;
  const as = to_smmu_as(domain);
  // The kernel trusts the group's domain to be one of its attached paging domains.
  if (!as?.smmu) return 0;
  const smmu = as.smmu;
  for (let index = 0; index < fwspec.num_ids; index++) tegra_smmu_as_unprepare(smmu, as);
  return 0;
}

const tegra_smmu_identity_domain = staticDomain(
  IOMMU_DOMAIN_IDENTITY,
  'tegra-smmu identity',
  tegra_smmu_identity_attach,
);

// ---- finding the SMMU from a master's `iommus`

/**
 * tegra_smmu_find(): the SMMU of the MC bound to `np`, or null while there is
 * no such device, its MC driver has not probed, or the MC has no SMMU. (The
 * kernel takes any device's drvdata for a struct tegra_mc; the model only
 * accepts an MC's.)
 */
function tegra_smmu_find(k: Kernel, np: Fwnode): TegraSmmu | null {
  const pdev = of_find_device_by_node(k, np);
  if (!pdev) return null;
  put_device(k, pdev);
  const mc = pdev.driverData;
  if (!(mc instanceof TegraMc)) return null;
  return mc.smmu;
}

/** tegra_smmu_configure(): fwspec for the MC's fwnode (usually there already), then of_xlate(). */
function tegra_smmu_configure(k: Kernel, smmu: TegraSmmu, dev: Device, args: OfPhandleArgs): number {
  const ops = smmu.iommu.ops!;
  let err = iommu_fwspec_init(k, dev, dev_fwnode(smmu.dev), ops);
  if (err < 0) {
    k.printk.log('err', dev.name, `failed to initialize fwspec: ${err}`);
    return err;
  }
  err = ops.of_xlate!(k, dev, args);
  if (err < 0) {
    k.printk.log('err', dev.name, `failed to parse SW group ID: ${err}`);
    iommu_fwspec_free(k, dev);
    return err;
  }
  return 0;
}

/** tegra_smmu_find_group(): the SoC's named group that lists this swgroup. */
function tegra_smmu_find_group(smmu: TegraSmmu, swgroup: number): TegraSmmuGroupSoc | null {
  return smmu.soc.groups.find((g) => g.swgroups.includes(swgroup)) ?? null;
}

/** tegra_smmu_group_release(): the group is gone, so it leaves smmu->groups (its memory stays devm). */
function tegra_smmu_group_release(data: unknown): void {
  const group = data as TegraSmmuGroup;
  const i = group.smmu.groups.indexOf(group);
  if (i >= 0) group.smmu.groups.splice(i, 1);
}

export const tegra_smmu_ops: IommuOps = {
  name: 'tegra-smmu',
  owner: null,
  pgsize_bitmap: 0x1000, // SZ_4K
  identity_domain: tegra_smmu_identity_domain,
  default_domain_ops: {
    attach_dev: tegra_smmu_attach_dev,
    free: tegra_smmu_domain_free,
    ...tegra_smmu_domain_ops,
  },

  /** tegra_smmu_def_domain_type(): identity for everyone. */
  def_domain_type: () => IOMMU_DOMAIN_IDENTITY,

  /** tegra_smmu_domain_alloc_paging(): the MC's address width sizes the frame numbers. */
  domain_alloc_paging: (k, dev) =>
    tegra_smmu_domain_alloc_paging(k, (dev && dev_smmu(dev)?.mc.soc.num_address_bits) ?? 32),

  /**
   * tegra_smmu_probe_device(): configure every `iommus` entry that names a
   * probed MC with an SMMU (stopping at the first malformed entry), then
   * accept the device only if some of_xlate() recorded the SMMU.
   */
  probe_device(k, dev) {
    const np = dev.fwnode?.kind === 'of' ? dev.fwnode : null;
    for (let index = 0; np !== null; index++) {
      const args = of_parse_phandle_with_args(k, np, 'iommus', '#iommu-cells', index);
      if (typeof args === 'number') break;
      const smmu = tegra_smmu_find(k, args.np);
      if (smmu) {
        const err = tegra_smmu_configure(k, smmu, dev, {
          np: args.np,
          args: args.args,
          source: `${np.name} iommus[${index}] (again, tegra_smmu_probe_device)`,
        });
        if (err < 0) return ERR_PTR(err);
      }
    }
    const smmu = dev_smmu(dev);
    if (!smmu) return ERR_PTR(-ENODEV);
    return smmu.iommu;
  },

  /**
   * tegra_smmu_device_group(): the group of the first fwspec ID's swgroup,
   * or of its named SoC group, made on first use.
   */
  device_group(k, dev) {
    const fwspec = dev_iommu_fwspec_get(dev)!;
    const smmu = dev_smmu(dev)!;
    const swgroup = fwspec.ids[0];
    const soc = tegra_smmu_find_group(smmu, swgroup);
    const name = swgroupName(smmu.soc, swgroup);
    const what = name === String(swgroup) ? `swgroup ${swgroup}` : `swgroup ${name} (${swgroup})`;

    const found = smmu.groups.find((g) => g.swgroup === swgroup || (soc !== null && g.soc === soc));
    if (found) {
      found.group.reasons.push(
        soc
          ? `${dev.name}: ${what} is in the SoC group "${soc.name}" (tegra_smmu_device_group)`
          : `${dev.name}: ${what} already has this group (tegra_smmu_device_group)`,
      );
      return iommu_group_ref_get(found.group);
    }

    const mem = devm_kzalloc(k, smmu.dev, 'tegra_smmu_group', 'tegra_smmu_device_group');
    if (!mem) return null;
    const grp = dev.pci ? pci_device_group(k, dev) : generic_device_group(k, dev);
    if (IS_ERR(grp)) {
      devm_kfree(k, smmu.dev, mem, 'tegra_smmu_device_group');
      return null;
    }
    const group: TegraSmmuGroup = { swgroup, soc, group: grp, mem, smmu };
    iommu_group_set_iommudata(grp, group, tegra_smmu_group_release);
    // The name is best effort: iommu_group_set_name()'s result is not checked.
    if (soc) iommu_group_set_name(k, grp, soc.name);
    grp.reasons.push(
      soc
        ? `${dev.name}: ${what} opens the SoC group "${soc.name}" (swgroups ${soc.swgroups
            .map((s) => swgroupName(smmu.soc, s))
            .join(', ')}) (tegra_smmu_device_group)`
        : `${dev.name}: ${what} gets a group of its own (tegra_smmu_device_group)`,
    );
    smmu.groups.push(group);
    return grp;
  },

  /** tegra_smmu_of_xlate(): the swgroup is the one cell; the MC's SMMU becomes the private data. */
  of_xlate(k, dev, args) {
    const iommu_pdev = of_find_device_by_node(k, args.np);
    const mc = iommu_pdev?.driverData;
    if (iommu_pdev) put_device(k, iommu_pdev);
    // Only reached for a registered instance, which a probed MC made: the kernel does not check.
    if (!(mc instanceof TegraMc)) return -ENODEV;
    dev.iommu!.priv = mc.smmu;
    // The kernel reads args[0] whatever #iommu-cells said; with no cell the model reads 0.
    const id = args.args[0] ?? 0;
    return iommu_fwspec_add_ids(k, dev, [id], args.source);
  },
};

/** BIT_MASK(nr) - 1 on a 64-bit kernel: the PFN bits the MC can address. */
function pfnMask(num_address_bits: number): number {
  return 2 ** ((num_address_bits - SMMU_PTE_SHIFT) % 64) - 1;
}

/** (1 << fls(lines)) - 1 */
function tlbMask(num_tlb_lines: number): number {
  return 2 ** (32 - Math.clz32(num_tlb_lines)) - 1;
}

/**
 * tegra_smmu_probe(): called from tegra_mc_probe(). mc->smmu is set before
 * registration so that the probes registration triggers can find it through
 * the MC's drvdata. Everything is devm on the MC's device. (Register set-up,
 * the AHB SMMU enable and debugfs are hardware and debugging work.)
 */
export function tegra_smmu_probe(k: Kernel, dev: Device, soc: TegraSmmuSoc, mc: TegraMc): TegraSmmu | ErrPtr {
  if (!devm_kzalloc(k, dev, 'tegra_smmu', 'tegra_smmu_probe')) return ERR_PTR(-ENOMEM);
  // iommu_device_sysfs_add(&smmu->iommu, dev, NULL, dev_name(dev))
  const smmu = new TegraSmmu(dev, soc, mc, new IommuDevice(dev.name, dev));
  mc.smmu = smmu;
  // No interrupt of its own: the MC's handler reports translation faults (tegra30_mc_handle_irq()).
  smmu.iommu.faultReporter = (master, f) =>
    tegra_mc_fault_lines(mc.soc, master.hwDomain ?? master.iommu_group?.domain ?? null, master, f);
  if (!devm_kzalloc(k, dev, 'tegra_smmu asids', 'tegra_smmu_probe')) return ERR_PTR(-ENOMEM);

  smmu.pfn_mask = pfnMask(mc.soc.num_address_bits);
  k.printk.log(
    'debug',
    dev.name,
    `address bits: ${mc.soc.num_address_bits}, PFN mask: 0x${smmu.pfn_mask.toString(16)}`,
  );
  smmu.tlb_mask = tlbMask(soc.num_tlb_lines);
  k.printk.log('debug', dev.name, `TLB lines: ${soc.num_tlb_lines}, mask: 0x${smmu.tlb_mask.toString(16)}`);

  let err = iommu_device_sysfs_add(k, smmu.iommu);
  if (err) return ERR_PTR(err);
  err = iommu_device_register(k, smmu.iommu, tegra_smmu_ops, dev);
  if (err) {
    iommu_device_sysfs_remove(k, smmu.iommu);
    return ERR_PTR(err);
  }
  return smmu;
}
