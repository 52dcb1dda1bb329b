// SPDX-License-Identifier: GPL-2.0-only
/**
 * An AMD-Vi IO_PAGE_FAULT event and the lines iommu_print_event() ->
 * amd_iommu_report_page_fault() (drivers/iommu/amd/iommu.c, 6.12) print
 * for it.
 *
 * The event is what the hardware writes: the requester ID the transaction
 * carried to the IOMMU (a function behind a conventional PCI bridge is seen
 * as the bridge, behind a PCIe-to-PCI bridge as its secondary bus 00.0: the
 * last ID pci_for_each_dma_alias() reports), the domain ID of the device
 * table entry at that ID, the address, and the flags: RW (0x20) for a
 * write, PR (0x10) when the page was present, PE (0x40) for a permission
 * violation; I (0x08) stays clear for a DMA.
 *
 * The driver looks the requester ID up as a PCI function. With its
 * iommu_dev_data: a device out of any domain (the blocked domain) gives the
 * two "not attached" lines; otherwise, as no fault handler is installed on
 * the kernel's DMA domains, pci_err() prints the event on that function,
 * limited by its own dev_data->rs. Without one, one line names the device
 * ID. Every line is rate limited as the kernel limits it (10 per 5 s, then
 * "callbacks suppressed").
 *
 * QEMU 7.2's amd-iommu, which the ground truth ran, writes less: no domain
 * ID, its access flags in place of the spec's, and only the devfn as the
 * device ID (amdvi_page_fault()). The model reports what hardware reports.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { IommuFault } from '../../iommu/translate.js';
import type { AmdIommu, AmdState, Ratelimit } from './state.js';
import { pci_for_each_dma_alias } from '../../pci/search.js';
import { pci_get_domain_bus_and_slot } from '../../pci/pci-core.js';
import { devData } from './state.js';

export const EVENT_FLAG_I = 0x008;
export const EVENT_FLAG_PR = 0x010;
export const EVENT_FLAG_RW = 0x020;
export const EVENT_FLAG_PE = 0x040;

/** DEFAULT_RATELIMIT_INTERVAL (5 * HZ, in the clock's milliseconds) and _BURST */
const RATELIMIT_INTERVAL = 5000;
const RATELIMIT_BURST = 10;

/** ___ratelimit(): true to print; when a new interval starts, what was held back is counted first. */
function ratelimit(k: Kernel, rs: Ratelimit, func: string): boolean {
  const now = k.clock.now;
  if (rs.begin === null) rs.begin = now;
  if (now > rs.begin + RATELIMIT_INTERVAL) {
    if (rs.missed) {
      k.printk.log('warn', 'kernel', `${func}: ${rs.missed} callbacks suppressed`);
      rs.missed = 0;
    }
    rs.begin = now;
    rs.printed = 0;
  }
  if (RATELIMIT_BURST > rs.printed) {
    rs.printed++;
    return true;
  }
  rs.missed++;
  return false;
}

function newRatelimit(): Ratelimit {
  return { begin: null, printed: 0, missed: 0 };
}

/** The requester ID the device's DMA reaches the IOMMU with. */
function wireRequesterId(dev: Device): number {
  const pdev = dev.pci!;
  let wire = -1;
  pci_for_each_dma_alias(pdev, (p, alias) => {
    // Its own ID first, its quirk aliases (the same function) after; each bridge that takes over reports itself.
    if (wire < 0 || p !== pdev) wire = alias;
    return 0;
  });
  return wire;
}

/** The hardware's flags for the fault. */
function eventFlags(f: Omit<IommuFault, 'log'>): number {
  let flags = f.write ? EVENT_FLAG_RW : 0;
  if (f.reason === 'permission') flags |= EVENT_FLAG_PR | EVENT_FLAG_PE;
  return flags;
}

const h = (v: number, w: number): string => v.toString(16).padStart(w, '0');
const bdf = (seg: number, devid: number): string =>
  `${h(seg, 4)}:${h(devid >> 8, 2)}:${h((devid >> 3) & 0x1f, 2)}.${devid & 7}`;

/** The event as the unit would log it. */
interface AmdEvent {
  readonly seg: number;
  readonly devid: number;
  readonly domid: number;
  readonly address: number;
  readonly flags: number;
}

function eventOf(u: AmdIommu, dev: Device, f: Omit<IommuFault, 'log'>): AmdEvent | null {
  if (!dev.pci) return null;
  const devid = wireRequesterId(dev);
  return {
    seg: dev.pci.segment,
    devid,
    domid: u.dte.get(devid)?.domid ?? 0,
    address: f.iova,
    flags: eventFlags(f),
  };
}

/**
 * The fault's lines and the source they are printed under (the PCI function
 * for pci_err(), the "AMD-Vi" prefix for pr_err()).
 */
export function amd_iommu_report_page_fault(
  k: Kernel,
  s: AmdState,
  u: AmdIommu,
  dev: Device,
  f: Omit<IommuFault, 'log'>,
): { source: string; lines: string[] } {
  const e = eventOf(u, dev, f);
  if (!e) return { source: 'AMD-Vi', lines: [] };
  const site = (name: string): Ratelimit => {
    let rs = s.ratelimits.get(name);
    if (!rs) s.ratelimits.set(name, (rs = newRatelimit()));
    return rs;
  };
  const fn = 'amd_iommu_report_page_fault';
  const addr = `0x${e.address.toString(16)}`;
  const pdev = pci_get_domain_bus_and_slot(k, e.seg, e.devid >> 8, e.devid & 0xff);
  const dd = pdev ? devData(pdev.dev) : null;
  if (dd) {
    if (!(e.flags & EVENT_FLAG_I) && !dd.domain) {
      const lines: string[] = [];
      if (ratelimit(k, site('not-attached'), fn))
        lines.push('Event logged [Device not attached to domain properly]');
      if (ratelimit(k, site('not-attached-device'), fn))
        lines.push(`  device=${bdf(e.seg, e.devid)} domain=0x${h(e.domid, 4)}`);
      return { source: 'AMD-Vi', lines };
    }
    let rs = dd.unit.rs.get(e.devid);
    if (!rs) dd.unit.rs.set(e.devid, (rs = newRatelimit()));
    if (!ratelimit(k, rs, fn)) return { source: pdev!.dev.name, lines: [] };
    return {
      source: pdev!.dev.name,
      lines: [
        `Event logged [IO_PAGE_FAULT domain=0x${h(e.domid, 4)} address=${addr} flags=0x${h(e.flags, 4)}]`,
      ],
    };
  }
  if (!ratelimit(k, site('no-dev-data'), fn)) return { source: 'AMD-Vi', lines: [] };
  return {
    source: 'AMD-Vi',
    lines: [
      `Event logged [IO_PAGE_FAULT device=${bdf(e.seg, e.devid)} domain=0x${h(e.domid, 4)} address=${addr} flags=0x${h(e.flags, 4)}]`,
    ],
  };
}
