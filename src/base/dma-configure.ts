// SPDX-License-Identifier: GPL-2.0-only
/**
 * The firmware half of a bus's dma_configure(): of_dma_configure_id()
 * (drivers/of/device.c) for a device-tree node and acpi_dma_configure_id()
 * (drivers/acpi/scan.c) for an ACPI companion. Only -EPROBE_DEFER makes the
 * driver bind wait; any other IOMMU error means "carry on without an IOMMU".
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from './device.js';
import type { Fwnode } from './fwnode.js';
import { EPROBE_DEFER } from '../kernel/errno.js';
import { of_iommu_configure } from '../firmware/of/of-iommu.js';
import { acpi_iommu_configure_id } from '../firmware/acpi/acpi-iommu.js';

/**
 * Configure DMA for `dev` from the firmware node that describes it: its own
 * node, or (PCI) the host bridge's. `id` is an input ID for buses that map
 * one (fsl-mc ICID), null otherwise.
 */
export function firmware_dma_configure(
  k: Kernel,
  dev: Device,
  id: number | null,
  node?: Fwnode | null,
): number {
  const np = node === undefined ? dev.fwnode : node;
  let ret = 0;
  if (np?.kind === 'of') ret = of_iommu_configure(k, dev, np, id);
  else if (np?.kind === 'acpi' && !np.acpiStatic) ret = acpi_iommu_configure_id(k, dev, id);
  else return 0;
  return ret === -EPROBE_DEFER ? ret : 0;
}
