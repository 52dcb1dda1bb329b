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
import { Fwnode } from '../../base/fwnode.js';
import { iommu_fwspec_add_ids, iommu_fwspec_init } from '../../iommu/fwspec.js';
import { iommu_ops_from_fwnode } from '../../iommu/iommu-device.js';

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
  let err = -ENODEV;
  for (const c of k.acpiIommuConfigurers) {
    err = c.configure(k, dev, id);
    if (err === 0 || err === -EPROBE_DEFER) {
      dev.addHistory(`acpi_iommu_configure_id(): ${c.name} gave ${errnoName(err)}`);
      break;
    }
  }
  mutex_unlock(k.printk, lock, 'acpi_iommu_configure_id');
  // Up to v6.14 a successful parse is replayed into the IOMMU core at driver bind;
  // bcb81ac6ae3c (v6.15) deleted the ACPI replay altogether.
  const replay = k.profile.firmwareConfigure === 'bind-replay';
  if (!err && dev.bus && replay)
    err = withProbeContext(k, 'replay at driver bind', () => iommu_probe_device(k, dev));
  return err;
}

/** acpi_alloc_fwnode_static(): an ACPI-kind fwnode no ACPI device stands behind. */
export function acpi_alloc_fwnode_static(name: string): Fwnode {
  const f = new Fwnode('acpi', name);
  f.acpiStatic = true;
  return f;
}

/** acpi_iommu_fwspec_init() (drivers/acpi/scan.c): the fwspec for the instance, then the one ID. */
export function acpi_iommu_fwspec_init(
  k: Kernel,
  dev: Device,
  id: number,
  fwnode: Fwnode,
  source = '',
): number {
  // Up to v6.10 the caller passes the ops it looked up (fwspec->ops).
  const ops = k.profile.fwspecInit === 'with-ops' ? iommu_ops_from_fwnode(k, fwnode) : null;
  const ret = iommu_fwspec_init(k, dev, fwnode, ops);
  if (ret) return ret;
  return iommu_fwspec_add_ids(k, dev, [id], source);
}
