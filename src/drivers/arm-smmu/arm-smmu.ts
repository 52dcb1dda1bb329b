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
 * The probe reads the SMMU's ID registers (hw.ts: the board's values where
 * the model knows them, Juno's MMU-401s, else stated defaults) as
 * arm_smmu_device_cfg_probe() does: stages, context formats and page sizes,
 * address sizes, stream-match groups and context banks, with its log lines.
 * Paging domains are finalised at their first attach (context.ts: stage,
 * format, io-pgtable, context bank, ASID/VMID, fault IRQ) and then map,
 * unmap and translate through their io-pgtable; identity and blocked
 * domains set the master's S2CRs to bypass or fault. A faulting transaction
 * is reported as arm_smmu_context_fault() prints it (fault.ts).
 *
 * Not modelled: the register writes themselves, runtime PM, the global fault
 * handler (a stream whose S2CR faults, the blocked domain, reports nothing),
 * IORT RMR bypass SMRs ("preserved N boot mappings" is printed for DT SMMUs
 * only, where it is always 0), Qualcomm's S2CR bypass emulation and boot-time
 * SMRs (firmware-dependent), the rate limit of the fault lines, and
 * arm_smmu_ops.pgsize_bitmap, which the kernel widens per probed SMMU (the
 * ops here are shared by every modelled kernel).
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
  type IommuDomain,
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
import { devm_ioremap_resource, platform_get_irq, platform_get_mem_resource } from '../../base/platform.js';
import { io_pgtable_domain_ops } from '../../iommu/io-pgtable-domain.js';
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
  arm_smmu_master_install_s2crs,
  newStreamMap,
  smrId,
  smrMask,
  type S2crType,
  type SmeIndices,
  type StreamMap,
} from './stream-map.js';
import { arm_smmu_register_legacy_master } from './legacy.js';
import {
  FEAT_COHERENT_WALK,
  FEAT_STREAM_MATCH,
  FEAT_TRANS_OPS,
  arm_smmu_device_cfg_probe,
  armSmmuIdRegs,
  type ArmSmmuHw,
  type ArmSmmuIdRegs,
} from './hw.js';
import {
  ArmSmmuDomain,
  arm_smmu_destroy_domain_context,
  arm_smmu_init_domain_context,
  armSmmuFaultLines,
} from './context.js';
import { faultLevel } from './fault.js';

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
  /** The ID registers it was probed with, and what arm_smmu_device_cfg_probe() made of them. */
  readonly idregs: ArmSmmuIdRegs;
  readonly hw: ArmSmmuHw;
  /** smmu->pgsize_bitmap (an implementation's init_context may narrow it). */
  pgsize_bitmap: number;
  /** smmu->context_map: the context banks in use. */
  readonly context_map: boolean[];
  /** The context interrupts (smmu->irqs[], num_context_irqs of them). */
  readonly irqs: number[];
  /** smmu->irptndx: SMMUv1 hands its context interrupts out round robin. */
  irptndx: number;
  /** Cavium erratum 27704: this SMMU's ASIDs and VMIDs start here. */
  readonly cavium_id_base: number;
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
  /** cavium_cfg_probe()'s static context_count. */
  cavium_context_count: number;
}

function state(k: Kernel): ArmSmmuState {
  let st = k.driverState.get('arm-smmu') as ArmSmmuState | undefined;
  if (!st) {
    st = { using_legacy_binding: false, using_generic_binding: false, driver: null, cavium_context_count: 0 };
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

/** arm_smmu_domain_free(): the context (assumed detached), then the structure. */
function arm_smmu_domain_free(k: Kernel, domain: IommuDomain): void {
  arm_smmu_destroy_domain_context(k, domain as ArmSmmuDomain);
  k.alloc.free(domain.mem, 'arm_smmu_domain_free');
  domain.mem = null;
}

/** arm_smmu_attach_dev(): finalise the domain on the master's SMMU, point its S2CRs at the context bank. */
function arm_smmu_attach_dev(k: Kernel, domain: IommuDomain, dev: Device): number {
  const cfg = dev.iommu?.priv as MasterCfg | null;
  if (!cfg) return -ENODEV;
  const d = domain as ArmSmmuDomain;
  const ret = arm_smmu_init_domain_context(k, d, cfg.smmu, dev);
  if (ret < 0) return ret;
  // No domain spans two SMMUs.
  if (d.smmu !== cfg.smmu) return -EINVAL;
  arm_smmu_master_install_s2crs(cfg.smmu.map, cfg.smendx, 'TRANS', d.cfg.cbndx);
  return 0;
}

/** arm_smmu_attach_dev_type(): the identity (bypass) and blocked (fault) domains. */
function arm_smmu_attach_dev_type(dev: Device, type: S2crType): number {
  const cfg = dev.iommu?.priv as MasterCfg | null;
  if (!cfg) return -ENODEV;
  arm_smmu_master_install_s2crs(cfg.smmu.map, cfg.smendx, type, 0);
  return 0;
}

/**
 * arm_smmu_iova_to_phys(): an SMMU with address translation operations
 * translates a stage-1 IOVA itself (arm_smmu_iova_to_phys_hard(): ATS1PR,
 * then PAR, which holds PA[39:12]); otherwise the table is walked in software.
 */
function arm_smmu_iova_to_phys(k: Kernel, domain: IommuDomain, iova: number): number {
  const d = domain as ArmSmmuDomain;
  const t = d.pgtable;
  if (!t || !d.smmu) return 0;
  const phys = t.iovaToPhys(iova);
  if (!(d.smmu.hw.features & FEAT_TRANS_OPS) || d.stage !== 'S1') return phys;
  if (!phys) {
    // PAR.F with the fault status code of a translation fault at the walk's level (0b0001LL).
    const level = faultLevel(d, iova, 'unmapped', d.cfg.fmt === 'AARCH64');
    const par = 1 + 2 * (4 + level);
    k.printk.log('err', d.smmu.dev.name, 'translation fault!');
    k.printk.log('err', d.smmu.dev.name, `PAR = 0x${par.toString(16)}`);
    return 0;
  }
  return (Math.floor(phys / 0x1000) % 2 ** 28) * 0x1000 + (iova % 0x1000);
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
  const mem = k.alloc.alloc('arm_smmu_master_cfg', dev, 'arm_smmu_probe_device');
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
  identity_domain: staticDomain(IOMMU_DOMAIN_IDENTITY, 'arm-smmu identity', (_k, _d, dev) =>
    arm_smmu_attach_dev_type(dev, 'BYPASS'),
  ),
  blocked_domain: staticDomain(IOMMU_DOMAIN_BLOCKED, 'arm-smmu blocked', (_k, _d, dev) =>
    arm_smmu_attach_dev_type(dev, 'FAULT'),
  ),
  default_domain_ops: {
    attach_dev: arm_smmu_attach_dev,
    free: arm_smmu_domain_free,
    ...io_pgtable_domain_ops,
    /** arm_smmu_iotlb_sync(): wait for the context's (or, SMMUv1 stage 2, the global) TLBIs. */
    iotlb_sync(_k, domain) {
      const smmu = (domain as ArmSmmuDomain).smmu;
      if (smmu) smmu.iommu.iotlb.sync();
    },
    iova_to_phys: arm_smmu_iova_to_phys,
  },
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
  /** arm_smmu_domain_alloc_paging(): nothing meaningful until a master is attached. */
  domain_alloc_paging(k) {
    const mem = k.alloc.alloc('arm_smmu_domain', 'arm-smmu', 'arm_smmu_domain_alloc_paging');
    if (!mem) return ERR_PTR(-ENOMEM);
    const d = new ArmSmmuDomain(0, null, 'arm-smmu paging');
    d.mem = mem;
    return d;
  },
  /** arm_smmu_capable() */
  capable(_k, dev, cap) {
    const cfg = dev.iommu?.priv as MasterCfg | null;
    if (cap === 'CACHE_COHERENCY')
      return ((cfg?.smmu.hw.features ?? 0) & FEAT_COHERENT_WALK) !== 0 || dev.dma_coherent;
    return cap === 'NOEXEC' || cap === 'DEFERRED_FLUSH';
  },
};

/** Where the probe's configuration comes from: the DT node or the IORT node. */
interface ProbeConfig {
  readonly version: ArmSmmuVersion;
  readonly model: ArmSmmuModel;
  readonly legacy: boolean;
  readonly globalIrqs: number;
  readonly numIrqs: number;
  /** ARM_SMMU_FEAT_COHERENT_WALK from `dma-coherent` or the IORT flags. */
  readonly coherent: boolean;
  /** The context interrupts by index (ACPI: their GSIVs); DT ones come from platform_get_irq(). */
  readonly acpiContextIrqs: readonly number[] | null;
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
  return {
    version,
    model,
    legacy,
    globalIrqs: gi[0],
    numIrqs: of_irq_count(k, np),
    coherent: np.properties.has('dma-coherent'),
    acpiContextIrqs: null,
  };
}

/** ACPI_IORT_SMMU_COHERENT_WALK in the IORT SMMU node's flags. */
const ACPI_IORT_SMMU_COHERENT_WALK = 1 << 1;

/** arm_smmu_device_acpi_probe(): the IORT node's model; one global interrupt counts. */
function arm_smmu_device_acpi_probe(k: Kernel, dev: Device): ProbeConfig | number {
  const node = iortSmmuNodeOf(k, dev);
  if (!node) return -ENODEV;
  const data = ARM_SMMU_IORT_MODELS[node.model];
  if (!data) return -ENODEV;
  // iort's arm_smmu_count_resources(): the global fault interrupt plus the context interrupts.
  return {
    ...data,
    legacy: false,
    globalIrqs: 1,
    numIrqs: 1 + node.contextInterrupts.length,
    coherent: (node.flags & ACPI_IORT_SMMU_COHERENT_WALK) !== 0,
    acpiContextIrqs: node.contextInterrupts,
  };
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
  const mem = k.alloc.alloc('arm_smmu_device', dev, 'arm_smmu_device_probe');
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
  // The context interrupts (smmu->irqs[]), then the ID registers (arm_smmu_device_cfg_probe()).
  const irqs: number[] = [];
  for (let i = 0; i < contextIrqs; i++) {
    const irq = cfg.acpiContextIrqs ? cfg.acpiContextIrqs[i] : platform_get_irq(k, dev, cfg.globalIrqs + i);
    if (irq < 0) return fail(irq);
    irqs.push(irq);
  }
  const ioaddr = res.start;
  const regSize = Number(res.end - res.start + 1n);
  const compatible = np ? String(np.properties.get('compatible') ?? '').split('\0') : [];
  let rootNode = np;
  while (rootNode?.parent) rootNode = rootNode.parent;
  const board = rootNode ? String(rootNode.properties.get('compatible') ?? '').split('\0') : [];
  const idregs = armSmmuIdRegs({
    model: cfg.model,
    version: cfg.version,
    compatible,
    board,
    base: ioaddr,
    regSize,
    contextIrqs,
  });
  const probed = arm_smmu_device_cfg_probe(idregs, cfg.version, cfg.coherent, regSize, {
    hook: impl.cfg_probe,
    compatible,
  });
  for (const l of probed.lines) k.printk.log(l.level, dev.name, l.msg);
  if (!probed.cfg) return fail(probed.err);
  const hw = probed.cfg;
  let cavium_id_base = 0;
  if (impl.cfg_probe === 'cavium') {
    // Cavium CN88xx erratum #27704: ASIDs and VMIDs unique across SMMUs.
    cavium_id_base = st.cavium_context_count;
    st.cavium_context_count += hw.num_context_banks;
  }
  if (cfg.version === 'v2') {
    if (hw.num_context_banks > irqs.length) {
      k.printk.log(
        'err',
        dev.name,
        `found only ${irqs.length} context irq(s) but ${hw.num_context_banks} required`,
      );
      return fail(-ENODEV);
    }
    // Superfluous interrupts are ignored.
    irqs.length = hw.num_context_banks;
  }
  // The global fault interrupts (devm_request_irq() of each: the model assumes they succeed).
  if (np)
    for (let i = 0; i < cfg.globalIrqs; i++) {
      const irq = platform_get_irq(k, dev, i);
      if (irq < 0) return fail(irq);
    }
  const iommu = new IommuDevice(`smmu.0x${ioaddr.toString(16).padStart(16, '0')}`, dev);
  iommu.faultReporter = armSmmuFaultLines;
  iommu.faultLogDevice = () => dev.name; // dev_err(smmu->dev, ...)
  // arm_smmu_test_smr_masks(): the model's SMRs keep every ID and mask bit written.
  const streamid_mask = hw.streamid_mask;
  const smmu: ArmSmmuDevice = {
    iommu,
    dev,
    ioaddr,
    version: cfg.version,
    model: cfg.model,
    impl,
    legacy: cfg.legacy,
    streamid_mask,
    smr_mask_mask: streamid_mask,
    // s2cr_init_val: fault with disable_bypass (CONFIG_ARM_SMMU_DISABLE_BYPASS_BY_DEFAULT), else bypass.
    map: newStreamMap(
      hw.num_mapping_groups,
      (hw.features & FEAT_STREAM_MATCH) !== 0,
      k.kconfig.ARM_SMMU_DISABLE_BYPASS_BY_DEFAULT ? 'FAULT' : 'BYPASS',
    ),
    mem,
    idregs,
    hw,
    pgsize_bitmap: hw.pgsize_bitmap,
    context_map: new Array<boolean>(hw.num_context_banks).fill(false),
    irqs,
    irptndx: 0,
    cavium_id_base,
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
  // arm_smmu_rmr_install_bypass_smr(): IORT RMRs only; a DT SMMU preserves none.
  if (np) k.printk.log('info', dev.name, '\tpreserved 0 boot mappings');
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
