// SPDX-License-Identifier: GPL-2.0-only
/**
 * What every run reports besides its snapshot: the WARNs (teardown's
 * included), the fail-nth outcome, how many allocations it made (what a
 * sweep iterates over) and the kernel log.
 */
import { dmaDebug, type DmaDebugError } from '../checker/dma-debug.js';
import type { Kernel } from '../kernel/kernel.js';
import type { WarningJson } from './snapshot.js';

export interface RunRecord {
  readonly warnings: WarningJson[];
  readonly failNth: {
    readonly nth: number;
    readonly injected: { type: string; site: string; owner: string } | null;
  } | null;
  readonly allocations: number;
  /** The kernel log, "source: message" per line. */
  readonly log: string[];
  /** What DMA-API debugging found (kernel/dma/debug.c's checks), teardown included. */
  readonly dmaDebug: DmaDebugError[];
}

export function runRecord(k: Kernel, failNth: number | undefined): RunRecord {
  const injected = k.alloc.injected;
  return {
    warnings: k.printk.warnings.map((w) => ({ site: w.site, message: w.message, device: w.device ?? null })),
    failNth: failNth
      ? {
          nth: failNth,
          injected: injected ? { type: injected.type, site: injected.site, owner: injected.owner } : null,
        }
      : null,
    allocations: k.alloc.attempts,
    log: k.printk.lines.map((l) => `${l.source}: ${l.message}`),
    dmaDebug: [...dmaDebug(k).errors],
  };
}
