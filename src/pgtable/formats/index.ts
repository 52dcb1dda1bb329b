// SPDX-License-Identifier: GPL-2.0-only
/**
 * The registered page-table formats, by name. Each is a kernel format
 * (enum io_pgtable_fmt) with the cfg a driver typically creates it with; a
 * caller's cfg overrides any of it. The generic test suite runs against
 * every entry here.
 */
import type { PgtableCfgInput, PgtableFormat } from '../format.js';
import { armLpaeAlloc } from './arm-lpae.js';

const SZ_4K = 1n << 12n;
const SZ_16K = 1n << 14n;
const SZ_64K = 1n << 16n;
const SZ_2M = 1n << 21n;
const SZ_32M = 1n << 25n;
const SZ_512M = 1n << 29n;
const SZ_1G = 1n << 30n;

function armLpae(stage: 1 | 2, pgsize_bitmap: bigint, granule: string): PgtableFormat {
  const defaults = { pgsize_bitmap, ias: 48, oas: 48 };
  return {
    name: `arm-64-lpae-s${stage}-${granule}`,
    fmt: `ARM_64_LPAE_S${stage}`,
    description: `ARM 64-bit LPAE stage ${stage}, ${granule.toUpperCase()} granule (io-pgtable-arm.c)`,
    defaults,
    alloc: (cfg: PgtableCfgInput) => armLpaeAlloc(stage, cfg, defaults),
  };
}

export const pgtableFormats = {
  'arm-64-lpae-s1-4k': armLpae(1, SZ_4K | SZ_2M | SZ_1G, '4k'),
  'arm-64-lpae-s1-16k': armLpae(1, SZ_16K | SZ_32M, '16k'),
  'arm-64-lpae-s1-64k': armLpae(1, SZ_64K | SZ_512M, '64k'),
  'arm-64-lpae-s2-4k': armLpae(2, SZ_4K | SZ_2M | SZ_1G, '4k'),
  'arm-64-lpae-s2-16k': armLpae(2, SZ_16K | SZ_32M, '16k'),
  'arm-64-lpae-s2-64k': armLpae(2, SZ_64K | SZ_512M, '64k'),
} as const satisfies Record<string, PgtableFormat>;

export type PgtableFormatName = keyof typeof pgtableFormats;
export const pgtableFormatNames = Object.keys(pgtableFormats) as PgtableFormatName[];
