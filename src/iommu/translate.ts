// SPDX-License-Identifier: GPL-2.0-only
/**
 * What the IOMMU hardware does with one DMA transaction: find the domain the
 * device is attached to, look the address up in the instance's IOTLB, walk
 * the page table on a miss, and either give the physical address or raise a
 * fault. Driver-independent; each driver only words the fault the way its
 * hardware reports it (IommuDevice.faultReporter).
 *
 *  - no IOMMU (the device was never probed by one): the address is physical;
 *  - identity: passes through; blocked: every access faults;
 *  - paging: outside the aperture faults; a cached translation is used as is
 *    (a stale one, whose page-table entry is gone or changed, is recorded:
 *    the bug a missing invalidation causes, or the window DMA-FQ allows); a
 *    walk that finds no leaf faults "unmapped", a leaf without the access
 *    faults "permission". A write through a writable-clean leaf (hardware
 *    dirty tracking) marks it dirty. A domain whose hardware keeps its own
 *    translations (ops->hw_translate) is asked instead of a walk.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import type { IommuDomain } from './domain.js';
import type { IommuDevice } from './iommu-device.js';
import { IOMMU_DOMAIN_BLOCKED, IOMMU_DOMAIN_IDENTITY, domainTypeSysfs } from './domain.js';
import { ACCESS_DIRTIES, ACCESS_LEAF, ACCESS_READ, ACCESS_WRITE } from '../pgtable/engine.js';
import { iommu_iova_to_phys } from './map.js';
import { IOMMU_READ, IOMMU_WRITE } from '../pgtable/prot.js';

export type FaultReason = 'blocked' | 'unmapped' | 'permission' | 'aperture';

export interface IommuFault {
  readonly device: string;
  /** The IOMMU instance that reported it. */
  readonly iommu: string;
  readonly domain: string;
  /** The domain's type as sysfs spells it: DMA, DMA-FQ, identity, blocked, unmanaged. */
  readonly domainType: string;
  readonly iova: number;
  readonly write: boolean;
  readonly reason: FaultReason;
  /** The lines the kernel prints for it. */
  readonly log: readonly string[];
}

/** The device's stream/requester ID as its IOMMU sees it (the first fwspec ID, or the PCI RID). */
export function deviceSid(dev: Device): number {
  const fw = dev.iommu?.fwspec;
  if (fw && fw.ids.length > 0) return fw.ids[0];
  if (dev.pci) return (dev.pci.busNr << 8) | dev.pci.devfn;
  return 0;
}

const PAGE = 4096;

/** One translated page: the physical address, or the fault. */
export type TranslateResult = { readonly phys: number } | { readonly fault: IommuFault };

function fault(
  k: Kernel,
  dev: Device,
  iommu: IommuDevice,
  domain: IommuDomain,
  iova: number,
  write: boolean,
  reason: FaultReason,
): { fault: IommuFault } {
  const base = {
    device: dev.name,
    iommu: iommu.name,
    domain: domain.label,
    domainType: domainTypeSysfs(domain.type),
    iova,
    write,
    reason,
  };
  const log = iommu.faultReporter
    ? iommu.faultReporter(dev, base)
    : [
        `${iommu.name}: ${write ? 'write' : 'read'} fault at 0x${iova.toString(16)} from ${dev.name}: ${reason}`,
      ];
  const f: IommuFault = { ...base, log };
  iommu.faults.push(f);
  const printer = iommu.faultLogDevice?.(dev) ?? iommu.name;
  for (const line of log) k.printk.log('err', printer, line);
  return { fault: f };
}

/** The domain the hardware has the device in. */
function currentDomain(dev: Device): IommuDomain | null {
  return dev.hwDomain ?? dev.iommu_group?.domain ?? null;
}

/** Translate the access at `iova` (within one 4K page) for `dev`. */
export function iommuTranslate(k: Kernel, dev: Device, iova: number, write: boolean): TranslateResult {
  const iommu = dev.iommu?.iommu_dev ?? null;
  if (!iommu) return { phys: iova };
  const domain = currentDomain(dev);
  if (!domain || domain.type === IOMMU_DOMAIN_BLOCKED) {
    const d = domain ?? iommu.noDomain;
    return fault(k, dev, iommu, d, iova, write, 'blocked');
  }
  if (domain.type === IOMMU_DOMAIN_IDENTITY) return { phys: iova };
  const g = domain.geometry;
  if (g && g.force_aperture && (iova < g.aperture_start || iova > g.aperture_end))
    return fault(k, dev, iommu, domain, iova, write, 'aperture');
  const pt = domain.pgtable;
  if (!pt && domain.ops?.hw_translate) {
    // The hardware keeps its own translations (virtio-iommu): it answers, with permissions.
    const m = domain.ops.hw_translate(k, domain, dev, iova);
    if (!m) return fault(k, dev, iommu, domain, iova, write, 'unmapped');
    if (!(m.prot & (write ? IOMMU_WRITE : IOMMU_READ)))
      return fault(k, dev, iommu, domain, iova, write, 'permission');
    return { phys: m.phys };
  }
  if (!pt) {
    // A driver modelled without page tables: its iova_to_phys() decides, with no permissions.
    const phys = iommu_iova_to_phys(k, domain, iova);
    return phys ? { phys } : fault(k, dev, iommu, domain, iova, write, 'unmapped');
  }
  const access = pt.access(iova);
  const walked = access & ACCESS_LEAF ? pt.lastPhys : -1;
  const tlb = domain.iommu?.iotlb ?? null;
  const off = iova % PAGE;
  const cached = tlb?.lookup(domain, iova);
  if (cached) {
    const tableWrite = (access & ACCESS_WRITE) !== 0;
    const tableRead = (access & ACCESS_READ) !== 0;
    if (
      walked < 0 ||
      walked - (walked % PAGE) !== cached.phys ||
      tableWrite !== cached.write ||
      tableRead !== cached.read
    )
      tlb!.staleUses.push({
        domain: domain.label,
        domainType: domainTypeSysfs(domain.type),
        iova,
        cachedPhys: cached.phys + off,
        tablePhys: walked < 0 ? null : walked,
        device: dev.name,
      });
    // The cached entry carries the leaf's permissions: a hit checks them as the walk would.
    if (!(write ? cached.write : cached.read)) return fault(k, dev, iommu, domain, iova, write, 'permission');
    return { phys: cached.phys + off };
  }
  if (!(access & ACCESS_LEAF)) return fault(k, dev, iommu, domain, iova, write, 'unmapped');
  if (!(access & (write ? ACCESS_WRITE : ACCESS_READ)))
    return fault(k, dev, iommu, domain, iova, write, 'permission');
  if (write && access & ACCESS_DIRTIES) pt.markDirty(iova);
  tlb?.fill(
    domain,
    iova,
    walked - (walked % PAGE),
    (access & ACCESS_READ) !== 0,
    (access & ACCESS_WRITE) !== 0,
  );
  return { phys: walked };
}
