// SPDX-License-Identifier: GPL-2.0-only
/**
 * Arm SMMUv1/v2 and MMU-400/401/500 as the IOMMU core sees it
 * (drivers/iommu/arm/arm-smmu/arm-smmu.c): a platform driver, probed from a
 * device-tree node or an IORT SMMU node, that registers an instance named
 * smmu.<base> keyed by its own fwnode (or by none with the legacy
 * `mmu-masters` binding, which makes it a "global" instance).
 *
 * Clients reach it through their fwspec: of_xlate() packs each `iommus`
 * entry into one ID (stream ID in bits 15:0; the SMR mask from the second
 * cell, else the SMMU's `stream-match-mask`, in bits 31:16). probe_device()
 * checks the IDs against the SMMU's widths and claims stream map entries
 * (stream-map.ts); masters whose streams share an entry share a group.
 *
 * Not modelled: the ID registers. The model takes the widest configuration
 * the architecture allows for every SMMU: 15-bit stream IDs and SMR masks
 * (ID0.NUMSIDB = 15), 16-bit ones on SMMUv2 (ID0.EXIDS), stream matching
 * with 128 SMRs (the architectural ceiling of ID0.NUMSMRG), and as many
 * context banks as it has context interrupts. Hardware that is narrower
 * refuses IDs the model accepts.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { Fwnode } from '../../base/fwnode.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { IommuDriverEntry } from '../registry.js';
import { EINVAL, ENODEV, ENOMEM, EPROBE_DEFER, ERR_PTR } from '../../kernel/errno.js';
import {
  IOMMU_DOMAIN_BLOCKED,
  IOMMU_DOMAIN_IDENTITY,
  IommuDomain,
  staticDomain,
} from '../../iommu/domain.js';
import {
  IommuDevice,
  iommu_device_register,
  iommu_device_sysfs_add,
  iommu_device_sysfs_remove,
  iommu_device_unregister,
  iommu_from_fwnode,
} from '../../iommu/iommu-device.js';
import { dev_iommu_fwspec_get } from '../../iommu/dev-iommu.js';
import { iommu_fwspec_add_ids, iommu_fwspec_free } from '../../iommu/fwspec.js';
import {
  fsl_mc_device_group,
  generic_device_group,
  iommu_group_ref_get,
  IommuGroup,
} from '../../iommu/group.js';
import { pci_device_group } from '../../pci/pci-device-group.js';
import { dev_is_fsl_mc, fsl_mc_cont_dev } from '../../base/fsl-mc.js';
import { softwareMsiRegion } from '../../iommu/resv-regions.js';
import { iommu_dma_get_resv_regions } from '../../iommu/dma-resv.js';
import { devm_ioremap_resource, platform_get_mem_resource } from '../../base/platform.js';
import { of_match_node } from '../../firmware/of/of-base.js';
import { of_irq_count } from '../../firmware/of/of-irq.js';
import { iortSmmuNodeOf } from '../../firmware/acpi/iort.js';
import {
  ARM_SMMU_IORT_MODELS,
  ARM_SMMU_OF_MATCH,
  arm_smmu_impl_init,
  qcom_smmu_wants_identity,
  type ArmSmmuImpl,
  type ArmSmmuModel,
  type ArmSmmuVersion,
} from './arm-smmu-impl.js';
import {
  arm_smmu_master_alloc_smes,
  arm_smmu_master_free_smes,
  newStreamMap,
  smrId,
  smrMask,
  type SmeIndices,
  type StreamMap,
} from './stream-map.js';
import { arm_smmu_register_legacy_master } from './legacy.js';

/**
 * The widest configuration arm_smmu_device_cfg_probe() and
 * arm_smmu_test_smr_masks() can find: ID0.NUMSIDB = 15, or 16 bits when an
 * SMMUv2 has ID0.EXIDS; ID0.SMS with 128 SMRs.
 */
const assumedStreamidMask = (version: ArmSmmuVersion) => (version === 'v2' ? 0xffff : 0x7fff);
const ASSUMED_MAPPING_GROUPS = 128;

/** struct arm_smmu_device, the parts the core observes. */
export interface ArmSmmuDevice {
  readonly iommu: IommuDevice;
  readonly dev: Device;
  readonly ioaddr: bigint;
  readonly version: ArmSmmuVersion;
  readonly model: ArmSmmuModel;
  readonly impl: ArmSmmuImpl;
  readonly legacy: boolean;
  readonly streamid_mask: number;
  readonly smr_mask_mask: number;
  readonly map: StreamMap;
  readonly mem: Allocation;
}

/** struct arm_smmu_master_cfg */
interface MasterCfg {
  readonly smmu: ArmSmmuDevice;
  readonly mem: Allocation;
  smendx: SmeIndices;
}

/** The driver's statics: which binding style the first SMMU chose, and the driver itself. */
interface ArmSmmuState {
  using_legacy_binding: boolean;
  using_generic_binding: boolean;
  driver: DeviceDriver | null;
}

function state(k: Kernel): ArmSmmuState {
  let st = k.driverState.get('arm-smmu') as ArmSmmuState | undefined;
  if (!st) {
    st = { using_legacy_binding: false, using_generic_binding: false, driver: null };
    k.driverState.set('arm-smmu', st);
  }
  return st;
}

/**
 * arm_smmu_get_by_fwnode(): a bound arm-smmu device with that fwnode, through
 * its drvdata; with the profile's 'registered-instance' lookup, also the SMMU
 * whose registration is running.
 */
function arm_smmu_get_by_fwnode(k: Kernel, fwnode: Fwnode | null): ArmSmmuDevice | null {
  const drv = state(k).driver;
  if (!drv || !fwnode) return null;
  for (const dev of drv.bus.devices)
    if (dev.driver === drv && dev.bound && dev.fwnode === fwnode)
      return (dev.driverData as ArmSmmuDevice | undefined) ?? null;
  if (k.profile.armSmmuLookup === 'registered-instance') {
    const iommu = iommu_from_fwnode(k, fwnode);
    if (iommu?.ops === arm_smmu_ops) return iommu.priv as ArmSmmuDevice;
  }
  return null;
}

function arm_smmu_domain_free(k: Kernel, domain: IommuDomain): void {
  k.alloc.free(domain.mem, 'arm_smmu_domain_free');
  domain.mem = null;
}

/** arm_smmu_probe_device() */
function arm_smmu_probe_device(k: Kernel, dev: Device) {
  const st = state(k);
  let smmu: ArmSmmuDevice | null;
  if (st.using_legacy_binding) {
    // Without CONFIG_ARM_SMMU_LEGACY_DT_BINDINGS the lookup is a stub that finds nothing.
    const r = k.kconfig.ARM_SMMU_LEGACY_DT_BINDINGS
      ? arm_smmu_register_legacy_master(k, dev, st.driver!, arm_smmu_ops)
      : -ENODEV;
    if (typeof r === 'number') {
      iommu_fwspec_free(k, dev);
      return ERR_PTR(r);
    }
    smmu = r.smmuDev.driverData as ArmSmmuDevice;
  } else {
    const fwspec = dev_iommu_fwspec_get(dev);
    // While fwspec->ops existed (to v6.10), a fwspec for another driver was not ours.
    if (!fwspec || (k.profile.fwspecInit === 'with-ops' && fwspec.ops !== arm_smmu_ops))
      return ERR_PTR(-ENODEV);
    smmu = arm_smmu_get_by_fwnode(k, fwspec.iommu_fwnode);
    if (!smmu) {
      // The instance registered before its platform device finished binding.
      k.printk.log('debug', dev.name, 'smmu dev has not bound yet');
      return ERR_PTR(-EPROBE_DEFER);
    }
  }
  const fwspec = dev_iommu_fwspec_get(dev)!;
  for (const id of fwspec.ids) {
    const sid = smrId(id);
    const mask = smrMask(id);
    let msg: string | null = null;
    if (sid & ~smmu.streamid_mask)
      msg = `stream ID 0x${sid.toString(16)} out of range for SMMU (0x${smmu.streamid_mask.toString(16)})`;
    else if (mask & ~smmu.smr_mask_mask)
      msg = `SMR mask 0x${mask.toString(16)} out of range for SMMU (0x${smmu.smr_mask_mask.toString(16)})`;
    if (msg) {
      k.printk.log('err', dev.name, msg);
      iommu_fwspec_free(k, dev);
      return ERR_PTR(-EINVAL);
    }
  }
  const mem = k.alloc.alloc('arm_smmu_master_cfg', dev.name, 'arm_smmu_probe_device');
  if (!mem) {
    iommu_fwspec_free(k, dev);
    return ERR_PTR(-ENOMEM);
  }
  const idx = arm_smmu_master_alloc_smes(smmu.map, fwspec.ids);
  if (typeof idx === 'number') {
    k.alloc.free(mem, 'arm_smmu_probe_device');
    iommu_fwspec_free(k, dev);
    k.printk.log('debug', dev.name, `arm_smmu_master_alloc_smes() returned ${idx}`);
    return ERR_PTR(idx);
  }
  const cfg: MasterCfg = { smmu, mem, smendx: idx };
  dev.iommu!.priv = cfg;
  return smmu.iommu;
}

/** arm_smmu_device_group(): the group of a shared stream map entry, else by bus. */
function arm_smmu_device_group(k: Kernel, dev: Device) {
  const cfg = dev.iommu!.priv as MasterCfg;
  const s2crs = cfg.smmu.map.s2crs;
  let group: IommuGroup | null = null;
  for (const idx of cfg.smendx) {
    const g = s2crs[idx].group;
    if (group && g && g !== group) return ERR_PTR(-EINVAL);
    group = g;
  }
  if (group) {
    const names = cfg.smendx.map((i) => `S2CR ${i}`).join(', ');
    group.reasons.push(
      `${dev.name}: its streams share ${names} with the group's devices (arm_smmu_device_group)`,
    );
    return iommu_group_ref_get(group);
  }
  const g = dev.pci
    ? pci_device_group(k, dev)
    : dev_is_fsl_mc(dev)
      ? fsl_mc_device_group(k, dev, fsl_mc_cont_dev(dev))
      : generic_device_group(k, dev);
  if (g instanceof IommuGroup) for (const idx of cfg.smendx) s2crs[idx].group = g;
  return g;
}

export const arm_smmu_ops: IommuOps = {
  name: 'arm-smmu',
  owner: null,
  pgsize_bitmap: 0x40201000, // 4K | 2M | 1G, narrowed per domain format
  identity_domain: staticDomain(IOMMU_DOMAIN_IDENTITY, 'arm-smmu identity'),
  blocked_domain: staticDomain(IOMMU_DOMAIN_BLOCKED, 'arm-smmu blocked'),
  default_domain_ops: { attach_dev: () => 0, free: arm_smmu_domain_free },
  probe_device: arm_smmu_probe_device,
  /** arm_smmu_release_device() */
  release_device(k, dev) {
    const cfg = dev.iommu?.priv as MasterCfg | null;
    if (!cfg) return;
    arm_smmu_master_free_smes(cfg.smmu.map, cfg.smendx);
    k.alloc.free(cfg.mem, 'arm_smmu_release_device');
    dev.iommu!.priv = null;
  },
  device_group: arm_smmu_device_group,
  /** arm_smmu_of_xlate(): SID, then the mask from the entry or the SMMU node's stream-match-mask. */
  of_xlate(k, dev, args) {
    let fwid = 0;
    if (args.args.length > 0) fwid |= args.args[0] & 0xffff;
    const smm = args.np.properties.get('stream-match-mask');
    if (args.args.length > 1) fwid |= (args.args[1] & 0xffff) << 16;
    else if (Array.isArray(smm) && typeof smm[0] === 'number') fwid |= (smm[0] & 0xffff) << 16;
    return iommu_fwspec_add_ids(k, dev, [fwid >>> 0], args.source);
  },
  /** arm_smmu_get_resv_regions(): the software MSI window, then iommu-dma's regions. */
  get_resv_regions(k, dev, list) {
    list.push(softwareMsiRegion());
    iommu_dma_get_resv_regions(k, dev, list);
  },
  /** arm_smmu_def_domain_type(): identity with the legacy binding, else the implementation's opinion. */
  def_domain_type(k, dev) {
    if (state(k).using_legacy_binding) return IOMMU_DOMAIN_IDENTITY;
    const cfg = dev.iommu?.priv as MasterCfg | null;
    if (cfg?.smmu.impl.qcomClients && dev.fwnode?.kind === 'of' && qcom_smmu_wants_identity(dev.fwnode))
      return IOMMU_DOMAIN_IDENTITY;
    return 0;
  },
  domain_alloc_paging(k) {
    const mem = k.alloc.alloc('arm_smmu_domain', 'arm-smmu', 'arm_smmu_domain_alloc_paging');
    if (!mem) return ERR_PTR(-ENOMEM);
    const d = new IommuDomain(0, null, 'arm-smmu paging');
    d.mem = mem;
    return d;
  },
  capable: (_k, _dev, cap) => cap === 'NOEXEC' || cap === 'DEFERRED_FLUSH',
};

/** Where the probe's configuration comes from: the DT node or the IORT node. */
interface ProbeConfig {
  readonly version: ArmSmmuVersion;
  readonly model: ArmSmmuModel;
  readonly legacy: boolean;
  readonly globalIrqs: number;
  readonly numIrqs: number;
}

/** arm_smmu_device_dt_probe(): version and model from the match, the binding style, the interrupts. */
function arm_smmu_device_dt_probe(k: Kernel, dev: Device): ProbeConfig | number {
  const np = dev.fwnode!;
  const gi = np.properties.get('#global-interrupts');
  if (!Array.isArray(gi) || typeof gi[0] !== 'number') {
    k.printk.log('err', dev.name, 'missing #global-interrupts property');
    return -ENODEV;
  }
  const compat = of_match_node(Object.keys(ARM_SMMU_OF_MATCH), np);
  if (!compat) return -ENODEV;
  const { version, model } = ARM_SMMU_OF_MATCH[compat];
  const st = state(k);
  const legacy = np.properties.has('mmu-masters');
  if (legacy && !st.using_generic_binding) {
    if (!st.using_legacy_binding)
      k.printk.log(
        'info',
        'arm-smmu',
        `deprecated "mmu-masters" DT property in use; ${k.kconfig.ARM_SMMU_LEGACY_DT_BINDINGS ? 'DMA API' : 'SMMU'} support unavailable`,
      );
    st.using_legacy_binding = true;
  } else if (!legacy && !st.using_legacy_binding) {
    st.using_generic_binding = true;
  } else {
    k.printk.log('err', dev.name, 'not probing due to mismatched DT properties');
    return -ENODEV;
  }
  return { version, model, legacy, globalIrqs: gi[0], numIrqs: of_irq_count(k, np) };
}

/** arm_smmu_device_acpi_probe(): the IORT node's model; one global interrupt counts. */
function arm_smmu_device_acpi_probe(k: Kernel, dev: Device): ProbeConfig | number {
  const node = iortSmmuNodeOf(k, dev);
  if (!node) return -ENODEV;
  const data = ARM_SMMU_IORT_MODELS[node.model];
  if (!data) return -ENODEV;
  // iort's arm_smmu_count_resources(): the global fault interrupt plus the context interrupts.
  return { ...data, legacy: false, globalIrqs: 1, numIrqs: 1 + node.contextInterrupts.length };
}

/** The Qualcomm secure channel is up: a bound qcom,scm device (qcom_scm_is_available()). */
function qcom_scm_is_available(k: Kernel): boolean {
  for (const dev of k.base.devices) {
    const c = dev.fwnode?.kind === 'of' ? dev.fwnode.properties.get('compatible') : undefined;
    if (typeof c === 'string' && c.split('\0').includes('qcom,scm') && dev.bound) return true;
  }
  return false;
}

/** arm_smmu_device_probe() */
function arm_smmu_device_probe(k: Kernel, dev: Device): number {
  const st = state(k);
  // devm_kzalloc() comes first, before the binding style is decided; devres frees it on failure.
  const mem = k.alloc.alloc('arm_smmu_device', dev.name, 'arm_smmu_device_probe');
  if (!mem) {
    k.printk.log('err', dev.name, 'failed to allocate arm_smmu_device');
    return -ENOMEM;
  }
  const fail = (ret: number): number => {
    k.alloc.free(mem, 'arm_smmu_device_probe');
    return ret;
  };
  const cfg =
    dev.fwnode?.kind === 'of' ? arm_smmu_device_dt_probe(k, dev) : arm_smmu_device_acpi_probe(k, dev);
  if (typeof cfg === 'number') return fail(cfg);
  // devm_platform_get_and_ioremap_resource(pdev, 0, &res)
  const res = platform_get_mem_resource(dev);
  const ioret = devm_ioremap_resource(k, dev, res);
  if (ioret || !res) return fail(ioret);
  const np = dev.fwnode?.kind === 'of' ? dev.fwnode : null;
  const impl = arm_smmu_impl_init(np, cfg.model, k.kconfig.ARM_SMMU_QCOM);
  if (impl.warn) k.printk.warn(true, 'qcom_smmu_impl_init', `${impl.warn} for: ${dev.name}`, dev.name);
  if (impl.needsScm && !qcom_scm_is_available(k)) {
    k.printk.log('debug', dev.name, 'qcom_scm not ready');
    return fail(-EPROBE_DEFER);
  }
  const contextIrqs = cfg.numIrqs - cfg.globalIrqs;
  if (contextIrqs <= 0) {
    k.printk.log(
      'err',
      dev.name,
      `found ${cfg.numIrqs} interrupts but expected at least ${cfg.globalIrqs + 1}`,
    );
    return fail(-ENODEV);
  }
  // arm_smmu_device_cfg_probe()'s banner (dev_notice).
  k.printk.log('info', dev.name, 'probing hardware configuration...');
  k.printk.log('info', dev.name, `SMMUv${cfg.version === 'v2' ? 2 : 1} with:`);
  const ioaddr = res.start;
  const iommu = new IommuDevice(`smmu.0x${ioaddr.toString(16).padStart(16, '0')}`, dev);
  const smmu: ArmSmmuDevice = {
    iommu,
    dev,
    ioaddr,
    version: cfg.version,
    model: cfg.model,
    impl,
    legacy: cfg.legacy,
    streamid_mask: assumedStreamidMask(cfg.version),
    smr_mask_mask: assumedStreamidMask(cfg.version),
    map: newStreamMap(ASSUMED_MAPPING_GROUPS, true),
    mem,
  };
  iommu.priv = smmu;
  let ret = iommu_device_sysfs_add(k, iommu);
  if (ret) {
    k.printk.log('err', dev.name, 'Failed to register iommu in sysfs');
    return fail(ret);
  }
  // The legacy binding registers without a fwnode: a global instance.
  ret = iommu_device_register(k, iommu, arm_smmu_ops, st.using_legacy_binding ? null : dev);
  if (ret) {
    k.printk.log('err', dev.name, 'Failed to register iommu');
    iommu_device_sysfs_remove(k, iommu);
    return fail(ret);
  }
  dev.driverData = smmu; // platform_set_drvdata()
  return 0;
}

/** arm_smmu_device_remove() */
function arm_smmu_device_remove(k: Kernel, dev: Device): void {
  const smmu = dev.driverData as ArmSmmuDevice | undefined;
  if (!smmu) return;
  iommu_device_unregister(k, smmu.iommu);
  iommu_device_sysfs_remove(k, smmu.iommu);
  k.alloc.free(smmu.mem, 'arm_smmu_device_remove');
  dev.driverData = undefined;
}

/** arm_smmu_of_match, by compatible. */
const ARM_SMMU_OF_MATCH_TABLE = Object.keys(ARM_SMMU_OF_MATCH);

export function armSmmuDriver(k: Kernel): DeviceDriver {
  const bus = k.base.buses.get('platform');
  if (!bus) throw new Error('arm-smmu: no platform bus');
  const drv: DeviceDriver = {
    name: 'arm-smmu',
    bus,
    of_match_table: ARM_SMMU_OF_MATCH_TABLE,
    probe: arm_smmu_device_probe,
    remove: arm_smmu_device_remove,
  };
  state(k).driver = drv;
  return drv;
}

export const armSmmuEntry: IommuDriverEntry = {
  name: 'arm-smmu',
  config: 'ARM_SMMU',
  of_match_table: ARM_SMMU_OF_MATCH_TABLE,
  create: armSmmuDriver,
};
