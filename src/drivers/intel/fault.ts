// SPDX-License-Identifier: GPL-2.0-only
/**
 * A VT-d DMA-remapping fault, as the unit records it and dmar_fault()
 * (drivers/iommu/intel/dmar.c, 6.12) reports it through dmar_fault_do_one():
 *
 *   DMAR: DRHD: handling fault status reg 2
 *   DMAR: [DMA Write NO_PASID] Request device [00:05.0] fault addr 0x7ffff000 [fault reason 0x05] PTE Write access is not set
 *
 * The record is QEMU's (hw/i386/intel_iommu.c, 7.2): the requester ID the
 * transaction carried on the wire (a device behind a conventional bridge is
 * seen as the bridge), the page address (dma_frcd_page_addr() drops the
 * offset), read or write, and the reason: a leaf without the access is 0x06
 * for a read and 0x05 for a write (a missing leaf has neither R nor W), an
 * address past the context's width 0x04, a cleared context entry (the
 * blocked domain) 0x02, or 0x01 when the bus never got a context table.
 * QEMU records faults in the unit's fault recording registers in turn
 * (FRI), one interrupt each; with no PASID, "NO_PASID". The fault-status
 * line and each record go through dmar_fault()'s one rate limit
 * (DEFAULT_RATELIMIT_BURST 10 per DEFAULT_RATELIMIT_INTERVAL 5 s, shared by
 * every unit), and the record loop spends one more check finding no next
 * record: three per fault, so the fourth fault of a burst prints its status
 * but not its record, later ones nothing, until the interval has passed
 * ("dmar_fault: N callbacks suppressed"). CONFIG_DMAR_DEBUG (off in Debian)
 * would add a PTE dump. Scalable-mode fault reasons (0x30 and up) are not
 * modelled.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { IommuFault } from '../../iommu/translate.js';
import type { IntelIommu, RatelimitState } from './state.js';
import { deviceSid } from '../../iommu/translate.js';
import { vmmWireRequesterId } from '../virtio-iommu/vmm-endpoints.js';
import { cap_num_fault_regs } from './hw.js';

/** dma_remap_fault_reasons[] */
const dma_remap_fault_reasons = [
  'Software',
  'Present bit in root entry is clear',
  'Present bit in context entry is clear',
  'Invalid context entry',
  'Access beyond MGAW',
  'PTE Write access is not set',
  'PTE Read access is not set',
  'Next page table ptr is invalid',
  'Root table address invalid',
  'Context table ptr is invalid',
  'non-zero reserved fields in RTP',
  'non-zero reserved fields in CTP',
  'non-zero reserved fields in PTE',
  'PCE for translation request specifies blocking',
];

/** DMA_FSTS_PPF: a primary fault is pending. */
const DMA_FSTS_PPF = 1 << 1;
/** DEFAULT_RATELIMIT_INTERVAL (5 * HZ), in the model's milliseconds, and DEFAULT_RATELIMIT_BURST. */
const RATELIMIT_INTERVAL_MS = 5000;
const RATELIMIT_BURST = 10;

/**
 * ___ratelimit(): true to go ahead. The message about what was suppressed
 * comes with the first call after the interval ends.
 */
function ratelimit(k: Kernel, rs: RatelimitState, func: string, out: string[]): boolean {
  const now = k.clock.now;
  if (rs.begin === null) rs.begin = now;
  if (now > rs.begin + RATELIMIT_INTERVAL_MS) {
    if (rs.missed) {
      out.push(`${func}: ${rs.missed} callbacks suppressed`);
      rs.missed = 0;
    }
    rs.begin = now;
    rs.printed = 0;
  }
  if (rs.printed < RATELIMIT_BURST) {
    rs.printed++;
    return true;
  }
  rs.missed++;
  return false;
}

const h2 = (n: number): string => n.toString(16).padStart(2, '0');

/** The requester ID QEMU's unit sees: the last ID of the DMA alias walk (QEMU's address space), else the device's own. */
function wireSid(dev: Device): number {
  return dev.pci ? vmmWireRequesterId(dev.pci) : deviceSid(dev);
}

/** The fault reason QEMU records for what the model's walk found. */
function faultReason(unit: IntelIommu, sid: number, f: Omit<IommuFault, 'log'>): number {
  switch (f.reason) {
    case 'blocked':
      // vtd_dev_to_context_entry(): no root entry for the bus, or no context entry.
      return unit.context.has(sid >> 8) ? 0x2 : 0x1;
    case 'aperture':
      return 0x4;
    case 'unmapped':
    case 'permission':
      return f.write ? 0x5 : 0x6;
  }
}

/** dmar_get_fault_reason() for DMA-remapping reasons. */
function reasonText(reason: number): string {
  return dma_remap_fault_reasons[reason] ?? 'Unknown';
}

/**
 * The unit records the fault and interrupts; dmar_fault() reads the status
 * and the record and prints what its rate limit lets through. Returns the
 * lines, as the kernel log shows them without the "DMAR: " prefix.
 */
export function dmar_fault(
  k: Kernel,
  unit: IntelIommu,
  rs: RatelimitState,
  dev: Device,
  f: Omit<IommuFault, 'log'>,
): string[] {
  const sid = wireSid(dev);
  const reason = faultReason(unit, sid, f);
  // vtd_report_dmar_fault(): the next recording register, FRI in the status.
  const fri = unit.next_frcd;
  unit.next_frcd = (fri + 1) % cap_num_fault_regs(unit.regs.cap);
  const fault_status = DMA_FSTS_PPF | (fri << 8);
  const out: string[] = [];
  if (ratelimit(k, rs, 'dmar_fault', out))
    out.push(`DRHD: handling fault status reg ${fault_status.toString(16)}`);
  // The record at FRI, then the next register, which holds nothing.
  const printRecord = ratelimit(k, rs, 'dmar_fault', out);
  if (printRecord) {
    const addr = f.iova - (f.iova % 4096);
    out.push(
      `[${f.write ? 'DMA Write' : 'DMA Read'} NO_PASID] Request device [${h2(sid >> 8)}:${h2((sid >> 3) & 0x1f)}.${sid & 7}] fault addr 0x${addr.toString(16)} [fault reason 0x${h2(reason)}] ${reasonText(reason)}`,
    );
  }
  ratelimit(k, rs, 'dmar_fault', out);
  return out;
}
