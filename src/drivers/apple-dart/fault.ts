// SPDX-License-Identifier: GPL-2.0-only
/**
 * The line apple_dart_t8020_irq() / apple_dart_t8110_irq() (Linux 6.12)
 * print for a faulting transaction:
 *
 *   translation fault: status:0x%x stream:%d code:0x%x (%s) at 0x%llx
 *
 * status is the error register (the error flag, the stream index field,
 * the error code), the stream is that field read back (4 bits on a T8020,
 * so a SID of 16 or more shows modulo 16), the code one DART_*_ERROR_* bit
 * and its name, the address the faulting IOVA.
 *
 * Which code the hardware raises is the model's reading of the walk the
 * DART does, stream by stream: a TTBR index past the stream's valid TTBRs
 * is NO TTBR; an empty L1 entry NO PMD (the L1 table holds the pointers to
 * the tables of PTEs); an empty L2 entry NO PTE; a leaf whose "no write" or
 * "no read" bit refuses the access WRITE FAULT or READ FAULT. A stream with
 * DMA disabled (the blocked domain) is taken to be dropped without an
 * error interrupt, as the register description gives no code for it.
 * dev_err_ratelimited()'s rate limit is not modelled.
 */
import type { IommuFault } from '../../iommu/translate.js';
import type { PageTable } from '../../pgtable/page-table.js';
import type { AppleDartHw } from './hw.js';

/** The error code for a fault, from the reason and the stream's TTBRs and table. */
export function apple_dart_error_code(
  hw: AppleDartHw,
  f: Omit<IommuFault, 'log'>,
  ttbrValid: (idx: number) => boolean,
  pgtable: PageTable | null,
): number | null {
  const code = (name: string): number => hw.error.codes.find(([, n]) => n === name)![0];
  switch (f.reason) {
    case 'blocked':
      return null;
    case 'permission':
      return code(f.write ? 'WRITE FAULT' : 'READ FAULT');
    case 'unmapped':
    case 'aperture': {
      if (!pgtable) return code('NO TTBR FOR IOVA');
      // dart_get_table(): the IOVA bits above the L1 index pick the TTBR.
      const bpl = Math.log2(pgtable.cfg.granule) - 3;
      const tbl = Math.floor(f.iova / 2 ** (3 * bpl + 3));
      if (tbl >= hw.ttbr.ttbr_count || !ttbrValid(tbl)) return code('NO TTBR FOR IOVA');
      const first = pgtable.walkTrace(f.iova).steps[0];
      return code(first?.kind === 'table' ? 'NO PTE FOR IOVA' : 'NO PMD FOR IOVA');
    }
  }
}

/** The handler's line for error code `code` on stream `sid` at `iova`. */
export function apple_dart_fault_line(hw: AppleDartHw, sid: number, code: number, iova: number): string {
  const e = hw.error;
  const stream = sid & (2 ** e.streamWidth - 1);
  const status = (e.flag | (stream << e.streamLsb) | code) >>> 0;
  const name = e.codes.find(([c]) => c === code)?.[1] ?? 'unknown';
  return (
    `translation fault: status:0x${status.toString(16)} stream:${stream} ` +
    `code:0x${code.toString(16)} (${name}) at 0x${iova.toString(16)}`
  );
}
