// SPDX-License-Identifier: GPL-2.0-only
/**
 * IOMMU core start-up (drivers/iommu/iommu.c iommu_subsys_init(), the
 * early_params iommu.passthrough= and iommu.strict=, iommu_set_dma_strict(),
 * iommu_set_default_passthrough()/translated(), iommu_bus_notifier()).
 */
import { x86_iommu_setup } from '../kernel/x86-iommu-param.js';
import type { BusType, NotifierBlock, BusNotifyAction } from '../base/bus.js';
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import { NOTIFY_DONE, NOTIFY_OK, bus_register_notifier } from '../base/bus.js';
import { kstrtobool } from '../kernel/cmdline.js';
import {
  IOMMU_DOMAIN_DMA,
  IOMMU_DOMAIN_DMA_FQ,
  IOMMU_DOMAIN_IDENTITY,
  iommu_domain_type_str,
} from './domain.js';
import { iommu_probe_device } from './probe.js';
import { iommu_release_device } from './release.js';

/** The buses iommu_buses[] lists, when the platform has them (config-gated in the kernel). */
export const IOMMU_BUS_NAMES = ['platform', 'pci', 'amba', 'fsl-mc', 'host1x-context', 'cdx'] as const;

/** iommu_bus_notifier(): probe on ADD_DEVICE, release on REMOVED_DEVICE; nothing can fail device_add(). */
export function iommu_bus_notifier_call(k: Kernel, action: BusNotifyAction, dev: Device): number {
  if (action === 'ADD_DEVICE') {
    const ret = withProbeContext(k, 'device_add', () => iommu_probe_device(k, dev));
    return ret ? NOTIFY_DONE : NOTIFY_OK;
  }
  if (action === 'REMOVED_DEVICE') {
    iommu_release_device(k, dev);
    return NOTIFY_OK;
  }
  return 0;
}

/** Run `fn` with the probe context set (restored afterwards). */
export function withProbeContext<T>(k: Kernel, context: string, fn: () => T): T {
  const saved = k.iommu.probeContext;
  k.iommu.probeContext = context;
  try {
    return fn();
  } finally {
    k.iommu.probeContext = saved;
  }
}

export function makeIommuBusNotifier(): NotifierBlock {
  return { name: 'iommu_bus_notifier', notifier_call: iommu_bus_notifier_call };
}

/** iommu_set_default_passthrough() */
export function iommu_set_default_passthrough(k: Kernel, cmd_line: boolean, reason: string): void {
  if (cmd_line) k.config.cmd_line_dma_api = true;
  k.config.def_domain_type = IOMMU_DOMAIN_IDENTITY;
  k.config.defaultTypeReason = reason;
}

/** iommu_set_default_translated() */
export function iommu_set_default_translated(k: Kernel, cmd_line: boolean, reason: string): void {
  if (cmd_line) k.config.cmd_line_dma_api = true;
  k.config.def_domain_type = IOMMU_DOMAIN_DMA;
  k.config.defaultTypeReason = reason;
}

/** iommu_default_passthrough() */
export function iommu_default_passthrough(k: Kernel): boolean {
  return k.config.def_domain_type === IOMMU_DOMAIN_IDENTITY;
}

/** iommu_set_dma_strict(): drivers (AMD under a hypervisor, say) force strict invalidation. */
export function iommu_set_dma_strict(k: Kernel, reason: string): void {
  k.config.iommu_dma_strict = true;
  if (k.config.def_domain_type === IOMMU_DOMAIN_DMA_FQ) {
    k.config.def_domain_type = IOMMU_DOMAIN_DMA;
    k.config.defaultTypeReason += `; strict because ${reason}`;
  }
}

/** The early_params: iommu.passthrough=, iommu.strict=, iommu.forcedac=. */
function iommu_early_params(k: Kernel): void {
  const p = k.cmdline.params;
  const pt = p.get('iommu.passthrough');
  if (pt !== undefined) {
    const v = kstrtobool(pt);
    if (v === true) iommu_set_default_passthrough(k, true, `iommu.passthrough=${pt} on the command line`);
    else if (v === false)
      iommu_set_default_translated(k, true, `iommu.passthrough=${pt} on the command line`);
  }
  const strict = p.get('iommu.strict');
  if (strict !== undefined) {
    const v = kstrtobool(strict);
    if (v !== undefined) {
      k.config.iommu_dma_strict = v;
      k.config.cmd_line_strict = true;
    }
  }
  // x86 `iommu=pt|nopt` (arch/x86/kernel/pci-dma.c iommu_setup()).
  const x86 = x86_iommu_setup(k).passthrough;
  if (x86 === true) iommu_set_default_passthrough(k, true, 'iommu=pt on the command line');
  if (x86 === false) iommu_set_default_translated(k, true, 'iommu=nopt on the command line');
  const forcedac = p.get('iommu.forcedac');
  if (forcedac !== undefined) k.config.iommu_dma_forcedac = kstrtobool(forcedac) ?? false;
}

/**
 * iommu_subsys_init(): settle the default domain type and register the bus
 * notifier on each of iommu_buses[] that exists. `buses` is in the kernel's
 * iommu_buses[] order.
 */
export function iommu_subsys_init(k: Kernel, buses: BusType[]): void {
  iommu_early_params(k);
  if (!k.config.cmd_line_dma_api) {
    if (k.kconfig.IOMMU_DEFAULT_PASSTHROUGH)
      iommu_set_default_passthrough(k, false, 'CONFIG_IOMMU_DEFAULT_PASSTHROUGH');
    else iommu_set_default_translated(k, false, 'the Kconfig default (CONFIG_IOMMU_DEFAULT_DMA_*)');
    if (iommu_default_passthrough(k) && k.kconfig.MEM_ENCRYPT_ACTIVE) {
      k.printk.log('info', 'iommu', 'Memory encryption detected - Disabling default IOMMU Passthrough');
      iommu_set_default_translated(k, false, 'memory encryption forces translation');
    }
  }
  if (!iommu_default_passthrough(k) && !k.config.iommu_dma_strict) {
    k.config.def_domain_type = IOMMU_DOMAIN_DMA_FQ;
    k.config.defaultTypeReason += k.config.cmd_line_strict ? ', lazy by iommu.strict=0' : ', lazy by Kconfig';
  } else if (!iommu_default_passthrough(k)) {
    k.config.defaultTypeReason += k.config.cmd_line_strict
      ? ', strict by iommu.strict=1'
      : ', strict by Kconfig';
  }
  k.printk.log(
    'info',
    'iommu',
    `Default domain type: ${iommu_domain_type_str(k.config.def_domain_type)}${k.config.cmd_line_dma_api ? ' (set via kernel command line)' : ''}`,
  );
  if (!iommu_default_passthrough(k)) {
    k.printk.log(
      'info',
      'iommu',
      `DMA domain TLB invalidation policy: ${k.config.iommu_dma_strict ? 'strict' : 'lazy'} mode${k.config.cmd_line_strict ? ' (set via kernel command line)' : ''}`,
    );
  }
  k.iommu.buses = buses;
  for (const bus of buses) bus_register_notifier(k, bus, makeIommuBusNotifier());
}
