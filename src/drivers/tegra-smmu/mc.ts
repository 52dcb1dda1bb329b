// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Tegra memory-controller platform driver, "tegra-mc"
 * (drivers/memory/tegra/mc.c, Linux 6.12), up to where it hands over to the
 * SMMU: tegra_mc_probe() allocates the MC, sets it as drvdata, maps its
 * registers, takes its interrupt, and, when CONFIG_TEGRA_IOMMU_SMMU is set
 * and the SoC data has an SMMU, calls tegra_smmu_probe(). An SMMU that fails
 * is logged and dropped; the MC stays bound either way.
 *
 * Left out as hardware work that the IOMMU core cannot see: the DMA mask,
 * the clock, latency allowances, EMC timings, the reset controller and the
 * interconnect provider (their failures are only logged, or cannot happen
 * without hardware).
 */
import type { Device } from '../../base/device.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { Kernel } from '../../kernel/kernel.js';
import { ENODEV, ENOMEM, IS_ERR } from '../../kernel/errno.js';
import { devm_platform_ioremap_resource, platform_get_irq } from '../../base/platform.js';
import { of_match_node } from '../../firmware/of/of-base.js';
import { devm_kzalloc, devres_release_all } from './devres.js';
import { tegraMcOfMatch, type TegraMcSoc } from './soc.js';
import { TegraMc } from './structs.js';
import { tegra_smmu_probe } from './smmu.js';

/**
 * The unwind really_probe() does after a failed probe: the devres go and
 * drvdata is cleared, so tegra_smmu_find() no longer sees the MC.
 */
function probe_failed(k: Kernel, dev: Device, err: number): number {
  devres_release_all(k, dev, 'really_probe');
  dev.driverData = undefined;
  return err;
}

/** tegra_mc_probe() */
function tegra_mc_probe(k: Kernel, dev: Device, table: readonly TegraMcSoc[]): number {
  // of_device_get_match_data()
  const compatible = of_match_node(
    table.map((s) => s.compatible),
    dev.fwnode,
  );
  const soc = table.find((s) => s.compatible === compatible);
  if (!soc) return -ENODEV;

  if (!devm_kzalloc(k, dev, 'tegra_mc', 'tegra_mc_probe')) return -ENOMEM;
  const mc = new TegraMc(dev, soc);
  dev.driverData = mc; // platform_set_drvdata()

  const ret = devm_platform_ioremap_resource(k, dev);
  if (ret) return probe_failed(k, dev, ret);

  // tegra30_mc_ops.handle_irq: platform_get_irq(pdev, 0)
  if (soc.handles_irq) {
    const irq = platform_get_irq(k, dev, 0);
    if (irq < 0) return probe_failed(k, dev, irq);
  }

  if (k.kconfig.TEGRA_IOMMU_SMMU !== 'n' && soc.smmu) {
    const smmu = tegra_smmu_probe(k, dev, soc.smmu, mc);
    if (IS_ERR(smmu)) {
      k.printk.log('err', dev.name, `failed to probe SMMU: ${smmu.errno}`);
      mc.smmu = null;
    } else {
      mc.smmu = smmu;
    }
  }
  return 0;
}

/**
 * What unbinding the MC does. tegra_mc_driver has no .remove and sets
 * suppress_bind_attrs, so the kernel never unbinds it; the model's teardown
 * still deletes the device, and __device_release_driver() then only releases
 * its devres (the MC, the SMMU, its ASID bitmap and group records). The SMMU
 * instance stays registered (tegra_smmu_remove() has no caller), as in the
 * kernel; the teardown unregisters what is still listed.
 */
function tegra_mc_unbind(k: Kernel, dev: Device): void {
  devres_release_all(k, dev, 'devres_release_all');
  dev.driverData = undefined;
}

/** tegra_mc_driver, with the of_match_table the kernel's ARCH_TEGRA_*_SOC options give this architecture. */
export function tegraMcDriver(k: Kernel): DeviceDriver {
  const bus = k.base.buses.get('platform');
  if (!bus) throw new Error('tegra-mc: no platform bus');
  const table = tegraMcOfMatch(k.arch);
  return {
    name: 'tegra-mc',
    bus,
    of_match_table: table.map((s) => s.compatible),
    probe: (kk, dev) => tegra_mc_probe(kk, dev, table),
    remove: tegra_mc_unbind,
  };
}
