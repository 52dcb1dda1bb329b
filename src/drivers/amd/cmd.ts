// SPDX-License-Identifier: GPL-2.0-only
/**
 * An AMD-Vi unit's command buffer as drivers/iommu/amd/iommu.c (6.12) fills
 * it: build_inv_iommu_pages() with build_inv_address()'s encoding,
 * build_inv_dte(), build_completion_wait(), iommu_queue_command() (which
 * marks that a wait is needed) and iommu_completion_wait() (which queues a
 * COMPLETION_WAIT only when a command was queued since the last one).
 *
 * Each INVALIDATE_IOMMU_PAGES is applied to the instance's Iotlb
 * (src/iommu/iotlb.ts): the range its address encodes (a page, or with the
 * S bit the naturally aligned power of two its low one bits give), one
 * command; "all pages" empties the domain. Every queued COMPLETION_WAIT is
 * one sync. INVALIDATE_DEVTAB_ENTRY commands are kept in the log and the
 * per-type counts only. Addresses and sizes are u64 here (bigint), as the
 * kernel computes them, including the wrap of an empty gather's range.
 */
import type { IommuDomain } from '../../iommu/domain.js';
import type { IommuDevice } from '../../iommu/iommu-device.js';

export const U64 = (1n << 64n) - 1n;
const PAGE_SIZE = 4096n;
const PAGE_MASK = U64 & ~(PAGE_SIZE - 1n);
/** CMD_INV_IOMMU_ALL_PAGES_ADDRESS */
export const CMD_INV_IOMMU_ALL_PAGES_ADDRESS = 0x7fffffffffffffffn;
/** CMD_INV_IOMMU_PAGES_SIZE_MASK, _PDE_MASK, _GN_MASK (bits of the address dwords) */
export const CMD_INV_IOMMU_PAGES_SIZE_MASK = 0x01n;
export const CMD_INV_IOMMU_PAGES_PDE_MASK = 0x02n;
export const CMD_INV_IOMMU_PAGES_GN_MASK = 0x04n;

export type AmdCommand =
  | { readonly op: 'COMPLETION_WAIT'; readonly data: number }
  | { readonly op: 'INVALIDATE_DEVTAB_ENTRY'; readonly devid: number }
  | {
      readonly op: 'INVALIDATE_IOMMU_PAGES';
      readonly domid: number;
      /** data[3]:data[2]: the encoded address with the S, PDE and GN bits. */
      readonly address: bigint;
      readonly pasid: number;
    };

export type AmdCommandOp = AmdCommand['op'];

/** How many commands the log keeps (the oldest go first). */
const LOG_MAX = 4096;

/** The command buffer's state: iommu->need_sync, cmd_sem_val, and what was sent. */
export class AmdCmdBuf {
  needSync = false;
  semVal = 0;
  readonly log: AmdCommand[] = [];
  readonly counts: Record<AmdCommandOp, number> = {
    COMPLETION_WAIT: 0,
    INVALIDATE_DEVTAB_ENTRY: 0,
    INVALIDATE_IOMMU_PAGES: 0,
  };

  push(cmd: AmdCommand): void {
    if (this.log.length >= LOG_MAX) this.log.splice(0, this.log.length - LOG_MAX + 1);
    this.log.push(cmd);
    this.counts[cmd.op]++;
  }
}

/** fls64(x) - 1 for x != 0: the index of the highest set bit. */
function msb(x: bigint): number {
  return x.toString(2).length - 1;
}

/** iommu_num_pages(addr, len, PAGE_SIZE) in u64 arithmetic. */
function iommu_num_pages(address: bigint, size: bigint): bigint {
  return (((address & (PAGE_SIZE - 1n)) + size + PAGE_SIZE - 1n) & U64) / PAGE_SIZE;
}

/**
 * build_inv_address(): one page as is; more pages as the start with every bit
 * below the highest one that differs between start and end set, plus S; a
 * range across bit 51 becomes "all pages".
 */
export function build_inv_address(address: bigint, size: bigint): bigint {
  address &= U64;
  if (iommu_num_pages(address, size) === 1n) return address & PAGE_MASK;
  const end = (address + size - 1n) & U64;
  const msbDiff = msb(end ^ address);
  if (msbDiff > 51) address = CMD_INV_IOMMU_ALL_PAGES_ADDRESS;
  else address |= (1n << BigInt(msbDiff)) - 1n;
  return (address & PAGE_MASK) | CMD_INV_IOMMU_PAGES_SIZE_MASK;
}

/**
 * The range an INVALIDATE_IOMMU_PAGES address names: [start, last], or null
 * for all of the domain's pages.
 */
export function invRange(encoded: bigint): { start: bigint; last: bigint } | null {
  const a = encoded & PAGE_MASK;
  if (!(encoded & CMD_INV_IOMMU_PAGES_SIZE_MASK)) return { start: a, last: a + PAGE_SIZE - 1n };
  let b = 12n;
  while (b < 64n && (a >> b) & 1n) b++;
  if (b >= 63n) return null;
  const size = 1n << (b + 1n);
  const start = a & ~(size - 1n);
  return { start, last: start + size - 1n };
}

/** iommu_queue_command(): into the buffer; a wait is owed from now on. */
export function iommu_queue_command(buf: AmdCmdBuf, cmd: AmdCommand): void {
  buf.push(cmd);
  buf.needSync = true;
}

/**
 * build_inv_iommu_pages() + iommu_queue_command(), applied to the IOTLB of
 * `iommu` for `domain` (the domain the domain ID stands for).
 */
export function queue_inv_iommu_pages(
  iommu: IommuDevice,
  buf: AmdCmdBuf,
  domain: IommuDomain | null,
  address: bigint,
  size: bigint,
  domid: number,
  pasid: number | null,
): void {
  let enc = build_inv_address(address, size) | CMD_INV_IOMMU_PAGES_PDE_MASK;
  if (pasid !== null) enc |= CMD_INV_IOMMU_PAGES_GN_MASK;
  iommu_queue_command(buf, { op: 'INVALIDATE_IOMMU_PAGES', domid, address: enc, pasid: pasid ?? 0 });
  const tlb = iommu.iotlb;
  const r = invRange(enc);
  if (r === null) {
    if (domain) tlb.invalidateAll(domain);
    else tlb.commands++;
    return;
  }
  const pages = Number((r.last - r.start + 1n) / PAGE_SIZE);
  if (domain && r.last < BigInt(Number.MAX_SAFE_INTEGER))
    tlb.invalidateRange(domain, Number(r.start), Number(r.last), Number(PAGE_SIZE), 1);
  else {
    // Past the model's addresses (below 2^53): nothing can be cached there.
    tlb.commands++;
    tlb.pages += pages;
  }
}

/** iommu_flush_dte(): INVALIDATE_DEVTAB_ENTRY for one device ID. */
export function iommu_flush_dte(buf: AmdCmdBuf, devid: number): void {
  iommu_queue_command(buf, { op: 'INVALIDATE_DEVTAB_ENTRY', devid });
}

/** iommu_completion_wait(): a COMPLETION_WAIT when something was queued since the last one. */
export function iommu_completion_wait(iommu: IommuDevice, buf: AmdCmdBuf): void {
  if (!buf.needSync) return;
  buf.semVal++;
  buf.push({ op: 'COMPLETION_WAIT', data: buf.semVal });
  buf.needSync = false;
  iommu.iotlb.sync();
}
