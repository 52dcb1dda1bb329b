// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Qualcomm IOMMU's context banks (drivers/iommu/arm/arm-smmu/
 * qcom_iommu.c, 6.12): the child nodes of a qcom,msm-iommu-v1/-v2 node
 * (compatible qcom,msm-iommu-v{1,2}-{ns,sec}) become platform devices when the
 * IOMMU probes (devm_of_platform_populate()), and the "qcom-iommu-ctx" driver
 * binds them: qcom_iommu_ctx_probe() files each bank in its parent IOMMU's
 * ctxs[] under its ASID, which is what qcom_iommu_of_xlate() checks a
 * master's ASID against. get_asid() gives the ASID: the `qcom,ctx-asid`
 * property if present, else the bank's `reg` offset / 0x1000.
 *
 * Not modelled: the fault IRQ handler and clearing the bank's FSR (hardware),
 * runtime PM of the parent.
 */
import type { Device } from '../../base/device.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { Fwnode } from '../../base/fwnode.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { CompanionDriver } from '../registry.js';
import type { IommuDomain } from '../../iommu/domain.js';
import { ENODEV, ENOMEM } from '../../kernel/errno.js';
import { of_device_is_compatible } from '../../firmware/of/of-base.js';
import { devm_platform_ioremap_resource, platform_get_irq } from '../../base/platform.js';

/** struct qcom_iommu_ctx */
export interface QcomIommuCtx {
  readonly dev: Device;
  readonly mem: Allocation;
  /** u8: the ASID, 1:1 with the context bank number. */
  asid: number;
  /** A qcom,msm-iommu-v2-sec bank: the secure world programs it, never Linux. */
  readonly secured_ctx: boolean;
  /** qcom_scm_restore_sec_cfg() ran for it (first attach). */
  secure_init: boolean;
  /** The domain the bank is programmed for. */
  domain: IommuDomain | null;
}

/** The parts of struct qcom_iommu_dev a context bank reads through its parent's drvdata. */
export interface QcomIommuCtxTable {
  /** ctxs[], indexed by ASID. */
  readonly ctxs: (QcomIommuCtx | null)[];
}

/** The brand qcom_iommu_device_probe() puts on its drvdata, so a bank can tell it is under one. */
export const QCOM_IOMMU_DRVDATA = Symbol('qcom_iommu_dev');

function parentTable(dev: Device): QcomIommuCtxTable | null {
  const data = dev.parent?.driverData as (QcomIommuCtxTable & { [QCOM_IOMMU_DRVDATA]?: true }) | undefined;
  return data?.[QCOM_IOMMU_DRVDATA] ? data : null;
}

function u32(np: Fwnode, name: string): number | undefined {
  const v = np.properties.get(name);
  return Array.isArray(v) && v.length > 0 ? v[0] >>> 0 : undefined;
}

/**
 * get_asid(): `qcom,ctx-asid` if present, else reg[0] / 0x1000; -ENODEV
 * without `reg`. The kernel keeps the result in an int, so a u32 property
 * above INT_MAX comes back negative, like an error.
 */
export function get_asid(np: Fwnode): number {
  const reg = u32(np, 'reg');
  if (reg === undefined) return -ENODEV;
  const val = u32(np, 'qcom,ctx-asid');
  if (val !== undefined) return val | 0;
  return Math.floor(reg / 0x1000);
}

/** qcom_iommu_ctx_probe() */
function qcom_iommu_ctx_probe(k: Kernel, dev: Device): number {
  const np = dev.fwnode;
  const table = parentTable(dev);
  const mem = k.alloc.alloc('qcom_iommu_ctx', dev, 'qcom_iommu_ctx_probe'); // devm_kzalloc()
  if (!mem) return -ENOMEM;
  const fail = (ret: number): number => {
    k.alloc.free(mem, 'devres_release_all');
    dev.driverData = undefined;
    return ret;
  };
  let ret = devm_platform_ioremap_resource(k, dev);
  if (ret) return fail(ret);
  const irq = platform_get_irq(k, dev, 0);
  if (irq < 0) return fail(irq);
  const ctx: QcomIommuCtx = {
    dev,
    mem,
    asid: 0,
    secured_ctx: of_device_is_compatible(np, 'qcom,msm-iommu-v2-sec'),
    secure_init: false,
    domain: null,
  };
  dev.driverData = ctx; // platform_set_drvdata()
  ret = np ? get_asid(np) : -ENODEV;
  if (ret < 0) {
    k.printk.log('err', dev.name, 'missing reg property');
    return fail(ret);
  }
  ctx.asid = ret & 0xff; // u8
  k.printk.log('debug', dev.name, `found asid ${ctx.asid}`);
  // dev_get_drvdata(dev->parent): a bank outside a probed qcom_iommu is a NULL dereference.
  if (
    k.printk.warn(
      !table,
      'qcom_iommu_ctx_probe',
      'Unable to handle kernel NULL pointer dereference: the parent has no qcom_iommu drvdata',
      dev.name,
    )
  )
    return fail(-ENODEV);
  table!.ctxs[ctx.asid] = ctx;
  return 0;
}

/** qcom_iommu_ctx_remove(), then devres frees the bank. */
function qcom_iommu_ctx_remove(k: Kernel, dev: Device): void {
  const ctx = dev.driverData as QcomIommuCtx | undefined;
  if (!ctx) return;
  dev.driverData = undefined;
  const table = parentTable(dev);
  if (table && table.ctxs[ctx.asid] === ctx) table.ctxs[ctx.asid] = null;
  k.alloc.free(ctx.mem, 'devres_release_all');
}

/** ctx_of_match */
const CTX_OF_MATCH = [
  'qcom,msm-iommu-v1-ns',
  'qcom,msm-iommu-v1-sec',
  'qcom,msm-iommu-v2-ns',
  'qcom,msm-iommu-v2-sec',
];

export function qcomIommuCtxDriver(k: Kernel): DeviceDriver {
  const bus = k.base.buses.get('platform');
  if (!bus) throw new Error('qcom-iommu-ctx: no platform bus');
  return {
    name: 'qcom-iommu-ctx',
    bus,
    of_match_table: CTX_OF_MATCH,
    probe: qcom_iommu_ctx_probe,
    remove: qcom_iommu_ctx_remove,
  };
}

/** qcom_iommu_ctx_driver, registered by qcom_iommu_init() with the IOMMU driver. */
export const qcomIommuCtxEntry: CompanionDriver = {
  // qcom_iommu_init() registers the context-bank driver first.
  before: true,
  name: 'qcom-iommu-ctx',
  of_match_table: CTX_OF_MATCH,
  create: qcomIommuCtxDriver,
};
