// SPDX-License-Identifier: GPL-2.0-only
/**
 * ACPI's route to a fwspec (drivers/acpi/scan.c acpi_iommu_configure_id()):
 * IORT first, then VIOT, each tried only if the one before failed with
 * something other than -EPROBE_DEFER. The table parsers register themselves
 * in k.acpiIommuConfigurers when the platform has the table; a machine
 * without IORT and VIOT (an x86 machine with DMAR or IVRS, whose drivers find
 * their devices themselves) gets -ENODEV here, as in the kernel.
 */
import type { Device } from '../../base/device.js';
import type { Kernel } from '../../kernel/kernel.js';
import { ENODEV, EPROBE_DEFER, errnoName } from '../../kernel/errno.js';
import { mutex_lock, mutex_unlock } from '../../kernel/mutex.js';
import { dev_iommu_fwspec_get } from '../../iommu/dev-iommu.js';
import { iommu_probe_device } from '../../iommu/probe.js';
import { withProbeContext } from '../../iommu/subsys.js';

/** An ACPI table that can describe a device's IOMMU: iort_iommu_configure_id(), viot_iommu_configure(). */
export interface AcpiIommuConfigurer {
  readonly name: 'IORT' | 'VIOT';
  configure(k: Kernel, dev: Device, id: number | null): number;
}

/** acpi_iommu_configure_id() */
export function acpi_iommu_configure_id(k: Kernel, dev: Device, id: number | null): number {
  const lock = k.iommu.probe_device_lock;
  mutex_lock(k.printk, lock, 'acpi_iommu_configure_id');
  if (dev_iommu_fwspec_get(dev)) {
    mutex_unlock(k.printk, lock, 'acpi_iommu_configure_id');
    return 0;
  }
  const dev_iommu_present = dev.iommu !== null;
  let err = -ENODEV;
  for (const c of k.acpiIommuConfigurers) {
    err = c.configure(k, dev, id);
    if (err === 0 || err === -EPROBE_DEFER) {
      dev.history.push(`acpi_iommu_configure_id(): ${c.name} gave ${errnoName(err)}`);
      break;
    }
  }
  mutex_unlock(k.printk, lock, 'acpi_iommu_configure_id');
  // Up to v6.14 a successful parse is replayed into the IOMMU core at driver bind;
  // bcb81ac6ae3c (v6.15) deleted the ACPI replay altogether.
  void dev_iommu_present;
  const replay = k.profile.firmwareConfigure === 'bind-replay';
  if (!err && dev.bus && replay)
    err = withProbeContext(k, 'replay at driver bind', () => iommu_probe_device(k, dev));
  return err;
}
