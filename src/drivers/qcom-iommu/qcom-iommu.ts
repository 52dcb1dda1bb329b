// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Qualcomm "secure" IOMMU as the IOMMU core sees it (drivers/iommu/arm/
 * arm-smmu/qcom_iommu.c, 6.12), found on msm8916/apq8016 and msm8953:
 *  - qcom_iommu_device_probe() binds a qcom,msm-iommu-v1/-v2 node: it sizes
 *    ctxs[] from the largest ASID among its children, needs the "iface" and
 *    "bus" clocks and `qcom,iommu-secure-id`, populates its context-bank
 *    children (bound by the qcom-iommu-ctx companion, qcom-iommu-ctx.ts), and
 *    registers an instance named after its device (dev_name(), so
 *    "1ef0000.iommu", or "soc@0:iommu@1f08000" for a node without `reg`);
 *  - qcom_iommu_of_xlate() takes one cell, the ASID, which must be at most
 *    max_asid and name a context bank that probed (else WARN and -EINVAL);
 *    every entry of a master must point at the same IOMMU (else WARN and
 *    -EINVAL); the IOMMU is kept in dev_iommu priv for probe_device();
 *  - groups: generic_device_group(), one per master; no reserved regions,
 *    no def_domain_type, an identity domain and paging domains (one
 *    ARM_32_LPAE_S1 page table each, made at first attach; a domain stays
 *    with the IOMMU it was first attached through).
 *  - paging domains (qcom_iommu_init_domain()): the ops' page sizes (4K, 64K,
 *    1M, 16M, of which ARM_32_LPAE_S1 keeps 4K), 32-bit IOVAs, 40-bit output,
 *    a non-coherent walk; the context banks are those of the first master's
 *    ASIDs (qcom_domain->fwspec), and every TLB operation goes to each of
 *    them: a TLBIVAL per unmapped page and bank, a TLBSYNC per bank at
 *    iotlb_sync(), which is all flush_iotlb_all() does too (no invalidation).
 *    A fault is printed by the bank the stream uses, as qcom_iommu_fault()
 *    does (fault.ts of arm-smmu has the register layout).
 *
 * Not modelled: the secure-world SCM calls (qcom_iommu_sec_ptbl_init() at
 * probe when a -sec bank exists, qcom_scm_restore_sec_cfg() at first attach:
 * the model assumes the firmware answers), context-bank register
 * programming (so a second master attached to a finalised domain translates
 * through it, where the kernel never programs that master's banks), clocks beyond their `clock-names` and `clocks` entries, runtime PM and
 * the device link probe_device() makes (it fails only on -ENOMEM inside the
 * driver core or a dependency cycle).
 */
import type { Device } from '../../base/device.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { IommuOps } from '../../iommu/ops.js';
import type { IommuDriverEntry } from '../registry.js';
import type { IommuFault } from '../../iommu/translate.js';
import { EINVAL, ENODEV, ENOMEM, ENXIO, ERR_PTR } from '../../kernel/errno.js';
import {
  IOTLB_PER_PAGE,
  io_pgtable_domain_free,
  io_pgtable_domain_init,
  io_pgtable_domain_ops,
} from '../../iommu/io-pgtable-domain.js';
import { deviceSid } from '../../iommu/translate.js';
import { contextFaultInfo, faultLevel } from '../arm-smmu/fault.js';
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
import { generic_device_group } from '../../iommu/group.js';
import { QCOM_IOMMU_DRVDATA, type QcomIommuCtx, get_asid, qcomIommuCtxEntry } from './qcom-iommu-ctx.js';
import { of_node_full_name } from '../../firmware/of/of-address.js';
import {
  of_find_device_by_node,
  of_platform_depopulate,
  of_platform_populate,
} from '../../firmware/of/of-platform.js';
import { clk_get } from '../../firmware/of/of-resources.js';
import { put_device } from '../../base/core.js';

const SZ_4K = 0x1000;
const SZ_64K = 0x10000;
const SZ_1M = 0x100000;
const SZ_16M = 0x1000000;
/**
 * KMALLOC_MAX_SIZE on arm64 with 4 KiB pages: one MAX_PAGE_ORDER (10) block.
 * A larger devm_kzalloc() makes the page allocator WARN and fail.
 */
const KMALLOC_MAX_SIZE = 4 * 1024 * 1024;

/** struct qcom_iommu_dev: the platform device's drvdata. */
export class QcomIommuDev {
  readonly [QCOM_IOMMU_DRVDATA] = true as const;
  readonly iommu: IommuDevice;
  /** u32 qcom,iommu-secure-id */
  sec_id = 0;
  /** u8: the largest context-bank ASID (truncated as the kernel's u8 is). */
  readonly max_asid: number;
  /** ctxs[max_asid + 1] (sized from the int before truncation), indexed by ASID. */
  readonly ctxs: (QcomIommuCtx | null)[];
  /** What devm_of_platform_populate() made: undone by devres at unbind. */
  children: Device[] = [];
  populateDevres: Allocation | null = null;

  constructor(
    readonly dev: Device,
    readonly mem: Allocation,
    maxAsid: number,
  ) {
    this.max_asid = maxAsid & 0xff;
    this.ctxs = new Array<QcomIommuCtx | null>(maxAsid + 1).fill(null);
    this.iommu = new IommuDevice(dev.name, dev); // iommu_device_sysfs_add(..., dev_name(dev))
    this.iommu.priv = this;
    this.iommu.faultReporter = (d, f) => qcom_iommu_fault_lines(this, d, f);
    // dev_err_ratelimited(ctx->dev, ...): the context bank the stream goes through.
    this.iommu.faultLogDevice = (d) => this.ctxs[deviceSid(d)]?.dev.name ?? dev.name;
  }
}

/**
 * qcom_iommu_fault() for a transaction that faulted in the domain of its
 * context bank (the first ASID of the master): the line it prints when
 * report_iommu_fault() finds no handler. The banks are AArch32
 * long-descriptor contexts (TCR.EAE): FSR.FORMAT is 1.
 */
function qcom_iommu_fault_lines(q: QcomIommuDev, dev: Device, f: Omit<IommuFault, 'log'>): string[] {
  const ctx = q.ctxs[deviceSid(dev)];
  const domain = ctx?.domain;
  if (!ctx || !(domain instanceof QcomIommuDomain) || f.reason === 'blocked') return [];
  const cfi = contextFaultInfo({
    permission: f.reason === 'permission',
    write: f.write,
    format: 1,
    level: faultLevel(domain, f.iova, f.reason, false),
    iova: f.iova,
    sid: ctx.asid,
  });
  return [
    `Unhandled context fault: fsr=0x${cfi.fsr.toString(16)}, iova=0x${f.iova.toString(16).padStart(16, '0')}, fsynr=0x${cfi.fsynr.toString(16)}, cb=${ctx.asid}`,
  ];
}

/** struct qcom_iommu_domain */
class QcomIommuDomain extends IommuDomain {
  /** qcom_domain->iommu: set by the first attach (qcom_iommu_init_domain()). */
  qiommu: QcomIommuDev | null = null;
  /** qcom_domain->fwspec: the first attached device's context banks. */
  ids: readonly number[] = [];
}

function qcomOf(dev: Device): QcomIommuDev | null {
  const priv = dev.iommu?.priv;
  return priv instanceof QcomIommuDev ? priv : null;
}

/** qcom_iommu_init_domain(): finalise the domain for this IOMMU at its first attach. */
function qcom_iommu_init_domain(
  k: Kernel,
  domain: QcomIommuDomain,
  qcom_iommu: QcomIommuDev,
  dev: Device,
): number {
  if (domain.qiommu) return 0;
  const fwspec = dev_iommu_fwspec_get(dev);
  domain.qiommu = qcom_iommu;
  domain.ids = [...(fwspec?.ids ?? [])];
  // alloc_io_pgtable_ops(ARM_32_LPAE_S1): the table keeps 4K of the ops' 4K | 64K | 1M | 16M;
  // the domain's page sizes and aperture (2^32) come from it. Its failure logs
  // "failed to allocate pagetable ops" on the IOMMU's device.
  const ret = io_pgtable_domain_init(k, domain, qcom_iommu.iommu, {
    format: 'arm-32-lpae-s1',
    style: IOTLB_PER_PAGE,
    pgsize_bitmap: qcom_iommu_ops.pgsize_bitmap,
    ias: 32,
    oas: 40,
    coherent_walk: false,
    contexts: domain.ids.length,
  });
  if (ret) {
    domain.qiommu = null;
    return -ENOMEM;
  }
  for (const id of domain.ids) {
    const ctx = qcom_iommu.ctxs[id];
    if (!ctx) continue;
    // qcom_scm_restore_sec_cfg(sec_id, asid) on first use: the model assumes the firmware accepts.
    ctx.secure_init = true;
    ctx.domain = domain;
  }
  return 0;
}

/** qcom_iommu_attach_dev() */
function qcom_iommu_attach_dev(k: Kernel, d: IommuDomain, dev: Device): number {
  const qcom_iommu = qcomOf(dev);
  if (!qcom_iommu) {
    k.printk.log('err', dev.name, 'cannot attach to IOMMU, is it on the same bus?');
    return -ENXIO;
  }
  const domain = d as QcomIommuDomain;
  const ret = qcom_iommu_init_domain(k, domain, qcom_iommu, dev);
  if (ret < 0) return ret;
  // No domain spans two IOMMUs.
  if (domain.qiommu !== qcom_iommu) return -EINVAL;
  return 0;
}

/** qcom_iommu_identity_attach(): turn off the banks of the paging domain the device leaves. */
function qcom_iommu_identity_attach(k: Kernel, identity: IommuDomain, dev: Device): number {
  const cur = dev.iommu_group?.domain ?? null; // iommu_get_domain_for_dev()
  if (cur === identity || !cur || !(cur instanceof QcomIommuDomain)) return 0;
  if (k.printk.warn(!cur.qiommu, 'qcom_iommu_identity_attach', 'WARN_ON(!qcom_domain->iommu)', dev.name))
    return -EINVAL;
  for (const id of dev_iommu_fwspec_get(dev)?.ids ?? []) {
    const ctx = cur.qiommu!.ctxs[id];
    if (ctx) ctx.domain = null;
  }
  return 0;
}

/** qcom_iommu_domain_free() */
function qcom_iommu_domain_free(k: Kernel, d: IommuDomain): void {
  const domain = d as QcomIommuDomain;
  if (domain.qiommu) io_pgtable_domain_free(k, domain);
  k.alloc.free(domain.mem, 'qcom_iommu_domain_free');
  domain.mem = null;
}

/** qcom_iommu_flush_iotlb_all() (also iotlb_sync()): qcom_iommu_tlb_sync(), a TLBSYNC per bank. */
function qcom_iommu_flush_iotlb_all(_k: Kernel, d: IommuDomain): void {
  const domain = d as QcomIommuDomain;
  if (!domain.pgtable) return;
  for (let i = 0; i < domain.ids.length; i++) domain.iommu!.iotlb.sync();
}

export const qcom_iommu_ops: IommuOps = {
  name: 'qcom-iommu',
  owner: null, // bool Kconfig: always built in
  pgsize_bitmap: SZ_4K | SZ_64K | SZ_1M | SZ_16M,
  identity_domain: staticDomain(IOMMU_DOMAIN_IDENTITY, 'qcom-iommu identity', qcom_iommu_identity_attach),
  default_domain_ops: {
    attach_dev: qcom_iommu_attach_dev,
    free: qcom_iommu_domain_free,
    ...io_pgtable_domain_ops,
    iotlb_sync: qcom_iommu_flush_iotlb_all,
    flush_iotlb_all: qcom_iommu_flush_iotlb_all,
  },
  /** qcom_iommu_capable() */
  capable: (_k, _dev, cap) => cap === 'CACHE_COHERENCY' || cap === 'NOEXEC',
  /** qcom_iommu_domain_alloc_paging(): the page table waits for the first attach. */
  domain_alloc_paging(k) {
    const mem = k.alloc.alloc('qcom_iommu_domain', 'qcom-iommu', 'qcom_iommu_domain_alloc_paging');
    if (!mem) return null;
    const d = new QcomIommuDomain(0, null, 'qcom-iommu paging');
    d.mem = mem;
    return d;
  },
  /** qcom_iommu_probe_device(): only masters of_xlate() filed an IOMMU for. */
  probe_device(k, dev) {
    // Up to v6.10 the fwspec carried the ops: one naming another driver is not this one's.
    if (k.profile.fwspecInit === 'with-ops' && dev_iommu_fwspec_get(dev)?.ops !== qcom_iommu_ops)
      return ERR_PTR(-ENODEV);
    const qcom_iommu = qcomOf(dev);
    if (!qcom_iommu) return ERR_PTR(-ENODEV);
    return qcom_iommu.iommu;
  },
  device_group: generic_device_group,
  /** qcom_iommu_of_xlate() */
  of_xlate(k, dev, spec) {
    if (spec.args.length !== 1) {
      k.printk.log(
        'err',
        dev.name,
        `incorrect number of iommu params found for ${of_node_full_name(spec.np)} (found ${spec.args.length}, expected 1)`,
      );
      return -EINVAL;
    }
    const asid = spec.args[0] >>> 0;
    const iommu_pdev = of_find_device_by_node(k, spec.np);
    if (k.printk.warn(!iommu_pdev, 'qcom_iommu_of_xlate', 'WARN_ON(!iommu_pdev)', dev.name)) return -EINVAL;
    const data = iommu_pdev!.driverData; // platform_get_drvdata()
    put_device(k, iommu_pdev!);
    if (
      k.printk.warn(!(data instanceof QcomIommuDev), 'qcom_iommu_of_xlate', 'no qcom_iommu drvdata', dev.name)
    )
      return -EINVAL;
    const qcom_iommu = data as QcomIommuDev;
    // The ASID the DT names must be a context bank that probed.
    if (
      k.printk.warn(
        asid > qcom_iommu.max_asid,
        'qcom_iommu_of_xlate',
        'WARN_ON(asid > qcom_iommu->max_asid)',
        dev.name,
      ) ||
      k.printk.warn(
        !qcom_iommu.ctxs[asid],
        'qcom_iommu_of_xlate',
        'WARN_ON(qcom_iommu->ctxs[asid] == NULL)',
        dev.name,
      )
    )
      return -EINVAL;
    const param = dev.iommu!;
    if (!param.priv) {
      param.priv = qcom_iommu;
    } else if (
      // Several context banks are fine, several IOMMUs are not.
      k.printk.warn(
        param.priv !== qcom_iommu,
        'qcom_iommu_of_xlate',
        'WARN_ON(qcom_iommu != dev_iommu_priv_get(dev))',
        dev.name,
      )
    ) {
      return -EINVAL;
    }
    return iommu_fwspec_add_ids(k, dev, [asid], spec.source);
  },
};

/** devres teardown of a probe that failed or a device that unbinds: children, then the structure. */
function qcom_iommu_devres_release(k: Kernel, dev: Device, q: QcomIommuDev): void {
  dev.driverData = undefined;
  of_platform_depopulate(k, q.children);
  q.children = [];
  if (q.populateDevres) k.alloc.free(q.populateDevres, 'devres_release_all');
  q.populateDevres = null;
  k.alloc.free(q.mem, 'devres_release_all');
}

/** qcom_iommu_device_probe() */
function qcom_iommu_device_probe(k: Kernel, dev: Device): number {
  const np = dev.fwnode;
  if (!np) return -ENODEV;
  // The largest ASID among the children (all of them, available or not) sizes ctxs[].
  let max_asid = 0;
  for (const child of np.children) max_asid = Math.max(max_asid, get_asid(child));
  // struct_size(qcom_iommu, ctxs, max_asid + 1): a pointer per ASID (the header's bytes neglected).
  // An ASID the tree puts far out (qcom,ctx-asid, or a large `reg`) asks for more than kmalloc gives.
  if ((max_asid + 1) * 8 > KMALLOC_MAX_SIZE) {
    k.printk.warnOnce(true, '__alloc_pages', 'WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER)', dev.name);
    return -ENOMEM;
  }
  const mem = k.alloc.alloc('qcom_iommu_dev', dev, 'qcom_iommu_device_probe'); // devm_kzalloc()
  if (!mem) return -ENOMEM;
  const q = new QcomIommuDev(dev, mem, max_asid);
  const fail = (ret: number): number => {
    qcom_iommu_devres_release(k, dev, q);
    return ret;
  };
  // `reg` (the local registers) is optional: the GPU's IOMMU on msm8916 has none.
  // devm_clk_get_optional(dev, "tbu") can only fail where the provider fails.
  for (const clk of ['iface', 'bus']) {
    const ret = clk_get(k, dev, clk); // devm_clk_get()
    if (ret) {
      k.printk.log('err', dev.name, `failed to get ${clk} clock`);
      return fail(ret);
    }
  }
  const secId = np.properties.get('qcom,iommu-secure-id');
  if (!Array.isArray(secId) || secId.length === 0) {
    k.printk.log('err', dev.name, 'missing qcom,iommu-secure-id property');
    return fail(-ENODEV);
  }
  q.sec_id = secId[0] >>> 0;
  // A -sec bank (qcom_iommu_has_secure_context()) makes qcom_iommu_sec_ptbl_init() ask the
  // secure world for its page table once per boot: SCM calls the model assumes succeed.
  dev.driverData = q; // platform_set_drvdata()

  // devm_of_platform_populate(): the context banks, bound now by qcom-iommu-ctx if it is registered.
  q.populateDevres = k.alloc.alloc('devres (of_platform_populate)', dev, 'devm_of_platform_populate');
  if (!q.populateDevres) {
    k.printk.log('err', dev.name, 'Failed to populate iommu contexts');
    return fail(-ENOMEM);
  }
  q.children = of_platform_populate(k, np, dev);

  let ret = iommu_device_sysfs_add(k, q.iommu);
  if (ret) {
    k.printk.log('err', dev.name, 'Failed to register iommu in sysfs');
    return fail(ret);
  }
  ret = iommu_device_register(k, q.iommu, qcom_iommu_ops, dev);
  if (ret) {
    k.printk.log('err', dev.name, 'Failed to register iommu');
    iommu_device_sysfs_remove(k, q.iommu);
    return fail(ret);
  }
  return 0;
}

/** qcom_iommu_device_remove(), then devres (the context banks, the structure). */
function qcom_iommu_device_remove(k: Kernel, dev: Device): void {
  const q = dev.driverData;
  if (!(q instanceof QcomIommuDev)) return;
  // The driver drops its sysfs device before unregistering: releasing a client still probed
  // then unlinks it from iommu->dev, which is NULL by now (iommu_device_unlink() WARNs).
  iommu_device_sysfs_remove(k, q.iommu);
  iommu_device_unregister(k, q.iommu);
  qcom_iommu_devres_release(k, dev, q);
}

/** qcom_iommu_of_match */
const QCOM_IOMMU_OF_MATCH = ['qcom,msm-iommu-v1', 'qcom,msm-iommu-v2'];

export function qcomIommuDriver(k: Kernel): DeviceDriver {
  const bus = k.base.buses.get('platform');
  if (!bus) throw new Error('qcom-iommu: no platform bus');
  return {
    name: 'qcom-iommu',
    bus,
    of_match_table: QCOM_IOMMU_OF_MATCH,
    probe: qcom_iommu_device_probe,
    remove: qcom_iommu_device_remove,
  };
}

/** qcom_iommu_init() registers the context-bank driver (a `before` companion), then the IOMMU driver. */
export const qcomIommuEntry: IommuDriverEntry = {
  name: 'qcom-iommu',
  config: 'QCOM_IOMMU',
  of_match_table: QCOM_IOMMU_OF_MATCH,
  create: qcomIommuDriver,
  companions: [qcomIommuCtxEntry],
};
