// SPDX-License-Identifier: GPL-2.0-only
/**
 * The MediaTek SMI drivers (drivers/memory/mtk-smi.c, v6.12, module mtk-smi,
 * Kconfig MTK_SMI, selected by MTK_IOMMU): "mtk-smi-common" binds the SMI
 * common and sub-common nodes, "mtk-smi-larb" the local arbiters (larbs)
 * that the multimedia masters sit behind. The M4U waits for every larb it
 * lists to be bound (mtk_iommu_mm_dts_parse() defers otherwise) and makes
 * them the components of its aggregate; a larb in turn waits for its SMI
 * (sub-)common's driver data and links to it.
 *
 * What is modelled is what decides binding: the MMIO resource, the required
 * clocks by name, the `mediatek,smi` link to the (sub-)common (deferring until
 * it has probed), component_add(), and the larb's component bind, which learns
 * its larb ID from the M4U (mtk_smi_larb_bind()). Register programming
 * (runtime-PM resume, port configuration, bus_sel) is not.
 */
import type { Allocation } from '../../kernel/alloc.js';
import type { Device } from '../../base/device.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { CompanionDriver } from '../registry.js';
import { put_device } from '../../base/core.js';
import { EINVAL, ENODEV, ENOENT, ENOMEM, EPROBE_DEFER } from '../../kernel/errno.js';
import { of_match_node } from '../../firmware/of/of-base.js';
import { devm_platform_ioremap_resource } from '../../base/platform.js';
import { of_parse_phandle } from './of-lookup.js';
import { of_find_device_by_node } from '../../firmware/of/of-platform.js';
import { clk_bulk_get, clk_get } from '../../firmware/of/of-resources.js';
import { device_link_add, device_link_remove } from './device-link.js';
import { component_add, component_del, type ComponentOps } from './component.js';

/** struct mtk_smi_larb_iommu (include/soc/mediatek/smi.h): what the M4U keeps per larb ID. */
export interface MtkSmiLarbIommu {
  dev: Device | null;
  /** The ports whose M4U translation is enabled (MTK_SMI_MMU_EN bits). */
  mmu: number;
  /** Per port: the IOVA region's upper 32 bits (its "bank"). */
  readonly bank: number[];
}

type SmiType = 'MTK_SMI_GEN1' | 'MTK_SMI_GEN2' | 'MTK_SMI_GEN2_SUB_COMM';

/** struct mtk_smi_common_plat, the fields probe reads. */
interface MtkSmiCommonPlat {
  readonly type: SmiType;
  readonly has_gals: boolean;
}

const gen1: MtkSmiCommonPlat = { type: 'MTK_SMI_GEN1', has_gals: false };
const gen2: MtkSmiCommonPlat = { type: 'MTK_SMI_GEN2', has_gals: false };
const gen2Gals: MtkSmiCommonPlat = { type: 'MTK_SMI_GEN2', has_gals: true };
const subCommGals: MtkSmiCommonPlat = { type: 'MTK_SMI_GEN2_SUB_COMM', has_gals: true };

/** mtk_smi_common_of_ids[] */
const mtk_smi_common_of_ids: readonly (readonly [string, MtkSmiCommonPlat])[] = [
  ['mediatek,mt2701-smi-common', gen1],
  ['mediatek,mt2712-smi-common', gen2],
  ['mediatek,mt6779-smi-common', gen2Gals],
  ['mediatek,mt6795-smi-common', gen2],
  ['mediatek,mt8167-smi-common', gen2],
  ['mediatek,mt8173-smi-common', gen2],
  ['mediatek,mt8183-smi-common', gen2Gals],
  ['mediatek,mt8186-smi-common', gen2Gals],
  ['mediatek,mt8188-smi-common-vdo', gen2],
  ['mediatek,mt8188-smi-common-vpp', gen2],
  ['mediatek,mt8192-smi-common', gen2Gals],
  ['mediatek,mt8195-smi-common-vdo', gen2Gals],
  ['mediatek,mt8195-smi-common-vpp', gen2Gals],
  ['mediatek,mt8195-smi-sub-common', subCommGals],
  ['mediatek,mt8365-smi-common', gen2],
];

/** mtk_smi_larb_of_ids[] (the per-SoC larb_gen only programs registers). */
const mtk_smi_larb_of_ids: readonly string[] = [
  'mediatek,mt2701-smi-larb',
  'mediatek,mt2712-smi-larb',
  'mediatek,mt6779-smi-larb',
  'mediatek,mt6795-smi-larb',
  'mediatek,mt8167-smi-larb',
  'mediatek,mt8173-smi-larb',
  'mediatek,mt8183-smi-larb',
  'mediatek,mt8186-smi-larb',
  'mediatek,mt8188-smi-larb',
  'mediatek,mt8192-smi-larb',
  'mediatek,mt8195-smi-larb',
];

/** mtk_smi_common_clks[] and mtk_smi_larb_clks[]: the first N are required, the next M optional. */
const mtk_smi_common_clks = ['apb', 'smi', 'gals0', 'gals1'];
const MTK_SMI_COM_REQ_CLK_NR = 2;
const MTK_SMI_COM_GALS_REQ_CLK_NR = 4;
const MTK_SMI_SUB_COM_GALS_REQ_CLK_NR = 3;
const mtk_smi_larb_clks = ['apb', 'smi', 'gals'];
const MTK_SMI_LARB_REQ_CLK_NR = 2;
const MTK_SMI_LARB_OPT_CLK_NR = 1;

/** struct mtk_smi (a common) */
export interface MtkSmiCommon {
  readonly mem: Allocation;
  readonly plat: MtkSmiCommonPlat;
  /** A sub-common's SMI common (referenced and linked). */
  smi_common_dev: Device | null;
}

/** struct mtk_smi_larb */
export interface MtkSmiLarb {
  readonly mem: Allocation;
  smi_common_dev: Device | null;
  /** Learnt at component bind: the larb ID the M4U gave it (-1 before). */
  larbid: number;
  /** larb->mmu / larb->bank: the M4U's entry for this larb, once bound. */
  mmu: MtkSmiLarbIommu | null;
}

/** mtk_smi_dts_clk_init(): the required clocks must exist; the optional ones may be missing. */
function mtk_smi_dts_clk_init(
  k: Kernel,
  dev: Device,
  clks: readonly string[],
  required: number,
  optional: number,
): number {
  const ret = clk_bulk_get(k, dev, clks.slice(0, required)); // devm_clk_bulk_get()
  if (ret) return ret;
  return clk_bulk_get(k, dev, clks.slice(required, required + optional), true); // devm_clk_bulk_get_optional()
}

/**
 * mtk_smi_device_link_common(): find the SMI (sub-)common named by
 * `mediatek,smi`, wait for its driver data, link to it. Returns the common
 * (still referenced) or a negative errno.
 */
function mtk_smi_device_link_common(k: Kernel, dev: Device): Device | number {
  const smi_com_node = of_parse_phandle(k, dev.fwnode, 'mediatek,smi', 0);
  if (!smi_com_node) return -EINVAL;
  const smi_com_pdev = of_find_device_by_node(k, smi_com_node);
  if (!smi_com_pdev) {
    k.printk.log('err', dev.name, 'Failed to get the smi_common device');
    return -EINVAL;
  }
  // The SMI common is the supplier: it must have probed (platform_get_drvdata()).
  if (!smi_com_pdev.driverData) {
    put_device(k, smi_com_pdev);
    return -EPROBE_DEFER;
  }
  if (!device_link_add(k, dev, smi_com_pdev)) {
    k.printk.log('err', dev.name, 'Unable to link smi-common dev');
    put_device(k, smi_com_pdev);
    return -ENODEV;
  }
  return smi_com_pdev;
}

/** mtk_smi_larb_bind(): the M4U's larb table tells the larb its ID. */
function mtk_smi_larb_bind(_k: Kernel, dev: Device, _master: Device, data: unknown): number {
  const larb = dev.driverData as MtkSmiLarb;
  const larb_mmu = data as readonly MtkSmiLarbIommu[];
  const i = larb_mmu.findIndex((l) => l.dev === dev);
  if (i < 0) return -ENODEV;
  larb.larbid = i;
  larb.mmu = larb_mmu[i];
  return 0;
}

/** mtk_smi_larb_component_ops: unbind does nothing, the M4U staying enabled. */
export const mtk_smi_larb_component_ops: ComponentOps = {
  name: 'mtk_smi_larb_component_ops',
  bind: mtk_smi_larb_bind,
  unbind: () => undefined,
};

/** mtk_smi_larb_probe() */
function mtk_smi_larb_probe(k: Kernel, dev: Device): number {
  const mem = k.alloc.alloc('mtk_smi_larb', dev, 'mtk_smi_larb_probe');
  if (!mem) return -ENOMEM;
  let ret = devm_platform_ioremap_resource(k, dev);
  if (!ret)
    ret = mtk_smi_dts_clk_init(k, dev, mtk_smi_larb_clks, MTK_SMI_LARB_REQ_CLK_NR, MTK_SMI_LARB_OPT_CLK_NR);
  if (ret) {
    k.alloc.free(mem, 'mtk_smi_larb_probe');
    return ret;
  }
  const common = mtk_smi_device_link_common(k, dev);
  if (typeof common === 'number') {
    k.alloc.free(mem, 'mtk_smi_larb_probe');
    return common;
  }
  const larb: MtkSmiLarb = { mem, smi_common_dev: common, larbid: -1, mmu: null };
  dev.driverData = larb; // platform_set_drvdata(), before component_add() may bind it
  ret = component_add(k, dev, mtk_smi_larb_component_ops);
  if (ret) {
    device_link_remove(k, dev, common);
    put_device(k, common);
    dev.driverData = undefined;
    k.alloc.free(mem, 'mtk_smi_larb_probe');
    return ret;
  }
  return 0;
}

/** mtk_smi_larb_remove() */
function mtk_smi_larb_remove(k: Kernel, dev: Device): void {
  const larb = dev.driverData as MtkSmiLarb | undefined;
  if (!larb) return;
  device_link_remove(k, dev, larb.smi_common_dev);
  component_del(k, dev, mtk_smi_larb_component_ops);
  if (larb.smi_common_dev) put_device(k, larb.smi_common_dev);
  dev.driverData = undefined;
  k.alloc.free(larb.mem, 'mtk_smi_larb_remove');
}

/** mtk_smi_common_probe() */
function mtk_smi_common_probe(k: Kernel, dev: Device): number {
  const compat = of_match_node(
    mtk_smi_common_of_ids.map(([c]) => c),
    dev.fwnode,
  );
  const plat = mtk_smi_common_of_ids.find(([c]) => c === compat)?.[1] ?? gen2;
  const mem = k.alloc.alloc('mtk_smi', dev, 'mtk_smi_common_probe');
  if (!mem) return -ENOMEM;
  let required = MTK_SMI_COM_REQ_CLK_NR;
  if (plat.has_gals) {
    if (plat.type === 'MTK_SMI_GEN2') required = MTK_SMI_COM_GALS_REQ_CLK_NR;
    else if (plat.type === 'MTK_SMI_GEN2_SUB_COMM') required = MTK_SMI_SUB_COM_GALS_REQ_CLK_NR;
  }
  // A common has no optional clocks: the gals clocks beyond its count are not looked up.
  let ret = mtk_smi_dts_clk_init(k, dev, mtk_smi_common_clks, required, 0);
  // Gen1 maps the always-on base and needs the "async" clock; gen2 maps its base.
  if (!ret) ret = devm_platform_ioremap_resource(k, dev);
  if (!ret && plat.type === 'MTK_SMI_GEN1' && clk_get(k, dev, 'async')) ret = -ENOENT;
  if (ret) {
    k.alloc.free(mem, 'mtk_smi_common_probe');
    return ret;
  }
  const common: MtkSmiCommon = { mem, plat, smi_common_dev: null };
  // A sub-common links to its SMI common.
  if (plat.type === 'MTK_SMI_GEN2_SUB_COMM') {
    const c = mtk_smi_device_link_common(k, dev);
    if (typeof c === 'number') {
      k.alloc.free(mem, 'mtk_smi_common_probe');
      return c;
    }
    common.smi_common_dev = c;
  }
  dev.driverData = common; // platform_set_drvdata(): what larbs wait for
  return 0;
}

/** mtk_smi_common_remove() */
function mtk_smi_common_remove(k: Kernel, dev: Device): void {
  const common = dev.driverData as MtkSmiCommon | undefined;
  if (!common) return;
  if (common.plat.type === 'MTK_SMI_GEN2_SUB_COMM') device_link_remove(k, dev, common.smi_common_dev);
  if (common.smi_common_dev) put_device(k, common.smi_common_dev);
  dev.driverData = undefined;
  k.alloc.free(common.mem, 'mtk_smi_common_remove');
}

function platformBus(k: Kernel) {
  const bus = k.base.buses.get('platform');
  if (!bus) throw new Error('mtk-smi: no platform bus');
  return bus;
}

const COMMON_OF_MATCH = mtk_smi_common_of_ids.map(([c]) => c);

/** mtk_smi_common_driver, then mtk_smi_larb_driver (smidrivers[], registered in that order). */
export const mtkSmiCompanions: readonly CompanionDriver[] = [
  {
    name: 'mtk-smi-common',
    of_match_table: COMMON_OF_MATCH,
    create: (k: Kernel): DeviceDriver => ({
      name: 'mtk-smi-common',
      bus: platformBus(k),
      of_match_table: COMMON_OF_MATCH,
      probe: mtk_smi_common_probe,
      remove: mtk_smi_common_remove,
    }),
  },
  {
    name: 'mtk-smi-larb',
    of_match_table: mtk_smi_larb_of_ids,
    create: (k: Kernel): DeviceDriver => ({
      name: 'mtk-smi-larb',
      bus: platformBus(k),
      of_match_table: mtk_smi_larb_of_ids,
      probe: mtk_smi_larb_probe,
      remove: mtk_smi_larb_remove,
    }),
  },
];
