// SPDX-License-Identifier: GPL-2.0-only
/**
 * The deprecated arm,smmu `mmu-masters` binding
 * (drivers/iommu/arm/arm-smmu/arm-smmu.c arm_smmu_register_legacy_master(),
 * __find_legacy_master_phandle(), dev_get_dev_node()), compiled in only with
 * CONFIG_ARM_SMMU_LEGACY_DT_BINDINGS. The SMMU node lists its masters as
 * `<&master sid…>` entries sized by each master's `#stream-id-cells`; a PCI
 * function is looked up by its host controller's node, and its stream ID is
 * its requester ID as the SMMU sees it (the last alias pci_for_each_dma_alias()
 * reports), whatever the list says. The SMMUs searched are the devices bound
 * to the arm-smmu driver: an SMMU still in its own probe (its registration
 * walk) is not among them.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { Fwnode } from '../../base/fwnode.js';
import type { DeviceDriver } from '../../base/driver.js';
import type { IommuOps } from '../../iommu/ops.js';
import { ENODEV, ENOMEM, EINVAL } from '../../kernel/errno.js';
import { of_find_node_by_phandle } from '../../firmware/of/of-base.js';
import { iommu_fwspec_add_ids, iommu_fwspec_init } from '../../iommu/fwspec.js';
import { pci_for_each_dma_alias } from '../../pci/search.js';
import { pci_get_host_bridge_device } from '../../pci/pci-driver.js';

/** dev_get_dev_node(): a PCI function's host controller node, else the device's own. */
function dev_get_dev_node(dev: Device): Fwnode | null {
  if (dev.pci) return pci_get_host_bridge_device(dev)?.fwnode ?? null;
  return dev.fwnode?.kind === 'of' ? dev.fwnode : null;
}

/**
 * of_for_each_phandle() over `mmu-masters` with `#stream-id-cells`: the
 * arguments of the entry naming `np`, null when none does, or -EINVAL for a
 * list that does not parse (a phandle to nowhere, a master without
 * #stream-id-cells, a list cut short).
 */
function findInMmuMasters(k: Kernel, smmuNode: Fwnode, np: Fwnode): number[] | null | number {
  const list = smmuNode.properties.get('mmu-masters');
  if (!Array.isArray(list)) return null;
  let i = 0;
  while (i < list.length) {
    const target = of_find_node_by_phandle(k, list[i++]);
    if (!target) return -EINVAL;
    const n = target.properties.get('#stream-id-cells');
    if (!Array.isArray(n) || typeof n[0] !== 'number') return -EINVAL;
    if (i + n[0] > list.length) return -EINVAL;
    const args = list.slice(i, i + n[0]);
    i += n[0];
    if (target === np) return args;
  }
  return null;
}

/**
 * arm_smmu_register_legacy_master(): a fwspec (NULL fwnode) with the master's
 * stream IDs and the SMMU device that lists it, or a negative errno.
 */
export function arm_smmu_register_legacy_master(
  k: Kernel,
  dev: Device,
  driver: DeviceDriver,
  ops: IommuOps,
): { smmuDev: Device } | number {
  const np = dev_get_dev_node(dev);
  if (!np || !np.properties.has('#stream-id-cells')) return -ENODEV;
  let found: { smmuDev: Device; args: number[] } | null = null;
  // driver_for_each_device(): only SMMUs whose probe completed.
  for (const smmuDev of driver.bus.devices) {
    if (smmuDev.driver !== driver || !smmuDev.bound || !smmuDev.fwnode) continue;
    const hit = findInMmuMasters(k, smmuDev.fwnode, np);
    if (typeof hit === 'number') return hit;
    if (hit) {
      found = { smmuDev, args: hit };
      break;
    }
  }
  if (!found) return -ENODEV;
  let sids = found.args;
  let source = `${found.smmuDev.fwnode!.name} mmu-masters entry for ${np.name}`;
  if (dev.pci) {
    // "mmu-masters" assumes Stream ID == Requester ID: the last alias the walk reports.
    let rid = 0;
    pci_for_each_dma_alias(dev.pci, (_p, alias) => {
      rid = alias;
      return 0;
    });
    sids = [rid];
    source = `${found.smmuDev.fwnode!.name} mmu-masters lists host ${np.name}: stream ID = requester ID 0x${rid.toString(16)}`;
  }
  // Since v6.11 the fwspec names no instance (NULL: the first global one); before, it carried the
  // SMMU's node and the arm-smmu ops.
  const err =
    k.profile.fwspecInit === 'with-ops'
      ? iommu_fwspec_init(k, dev, found.smmuDev.fwnode, ops)
      : iommu_fwspec_init(k, dev, null);
  if (err) return err;
  const mem = k.alloc.alloc('legacy sids', dev, 'arm_smmu_register_legacy_master');
  if (!mem) return -ENOMEM;
  const ret = iommu_fwspec_add_ids(k, dev, sids, source);
  k.alloc.free(mem, 'arm_smmu_register_legacy_master');
  return ret ? ret : { smmuDev: found.smmuDev };
}
