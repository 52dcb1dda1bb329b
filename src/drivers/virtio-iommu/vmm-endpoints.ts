// SPDX-License-Identifier: GPL-2.0-only
/**
 * The other side of a virtio-iommu: the VMM that emulates it answers a
 * PROBE request only for an endpoint it translates. QEMU keys its IOMMU
 * address spaces by requester ID as the IOMMU sees it on the wire
 * (pci_device_iommu_address_space(): a function behind a conventional
 * bridge is seen with the bridge's ID, behind a PCIe-to-PCI bridge with
 * (secondary bus, 00.0)), and its firmware tables map each BDF to the
 * endpoint ID of the same value. So a function whose own ID is hidden by a
 * bridge is unknown: PROBE for it answers VIRTIO_IOMMU_S_NOENT.
 *
 * Those are the rules Linux's pci_for_each_dma_alias() applies too, so the
 * last ID its walk reports for a function is the ID QEMU routes; quirk
 * aliases (which QEMU does not know) come earlier in the walk and are not
 * counted. A function is probed about its own ID (fwspec->ids[0]), so the
 * VMM knows it exactly when that is its wire ID.
 */
import type { PciDev } from '../../pci/pci-dev.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { ViommuProbeInfo } from './virtio-iommu.js';
import {
  type Fdt,
  allNodes,
  fdtCompatible,
  fdtNodeAvailable,
  nAddrCells,
  nSizeCells,
  propU32s,
} from '../../firmware/fdt/fdt.js';
import { of_read_number } from '../../firmware/of/of-base.js';
import { pci_for_each_dma_alias } from '../../pci/search.js';

/**
 * The ID a function's DMA carries when it reaches the IOMMU, which is the
 * endpoint the VMM knows it by: the last ID a bridge reports in its alias
 * walk, or its own.
 */
export function vmmWireRequesterId(pdev: PciDev): number {
  let wire = -1;
  pci_for_each_dma_alias(pdev, (p, alias) => {
    // The first call is the function's own ID; its quirk aliases follow (same device, skipped);
    // each bridge that takes the transactions over reports itself.
    if (wire < 0 || p !== pdev) wire = alias;
    return 0;
  });
  return wire;
}

/**
 * virtio_iommu_mr() != NULL: QEMU has an IOMMU address space for the ID,
 * which is the wire ID of some PCI function of the machine.
 */
export function vmmKnowsEndpoint(k: Kernel, id: number): boolean {
  for (const d of k.base.devices) if (d.pci && vmmWireRequesterId(d.pci) === id) return true;
  return false;
}

/**
 * The endpoint ID a device's DMA reaches the virtio-iommu with
 * (virtio_iommu_get_bdf() of its IOMMU address space): the wire requester
 * ID of a PCI function; for anything else, its first fwspec ID.
 */
export function vmmEndpointOf(dev: Device): number {
  if (dev.pci) return vmmWireRequesterId(dev.pci);
  return dev.iommu?.fwspec?.ids[0] ?? 0;
}

/**
 * What QEMU's virtio-iommu reports as reserved in its PROBE replies when
 * nobody said (hw/i386/pc.c, hw/arm/virt.c set its reserved regions): on
 * x86 the interrupt window 0xfee00000-0xfeefffff; on the Arm virt machine
 * the MSI doorbell, the GICv2m frame, which a device tree names
 * (`arm,gic-v2m-frame`), else virt's fixed 0x08020000 page. Used for
 * machines booted from firmware files, where the VMM is QEMU.
 */
export function qemuVirtioIommuProbe(k: Kernel, fdt: Fdt | null): ViommuProbeInfo {
  if (k.arch === 'x86_64') return { resv: [{ start: 0xfee00000n, end: 0xfeefffffn, type: 'msi' }] };
  const v2m = fdt
    ? [...allNodes(fdt)].find((n) => fdtCompatible(n, 'arm,gic-v2m-frame') && fdtNodeAvailable(n))
    : undefined;
  const reg = v2m ? propU32s(v2m, 'reg') : undefined;
  if (v2m && reg) {
    const na = nAddrCells(v2m);
    const ns = nSizeCells(v2m);
    if (na > 0 && ns > 0 && reg.length >= na + ns) {
      const start = of_read_number(reg, 0, na);
      return { resv: [{ start, end: start + of_read_number(reg, na, ns) - 1n, type: 'msi' }] };
    }
  }
  return { resv: [{ start: 0x8020000n, end: 0x8020fffn, type: 'msi' }] };
}
