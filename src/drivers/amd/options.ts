// SPDX-License-Identifier: GPL-2.0-only
/**
 * The amd_iommu= command-line option as parse_amd_iommu_options()
 * (drivers/iommu/amd/init.c, 6.12) reads it: comma-separated words, each
 * matched by its prefix (strncmp), so "offset" is "off". Unknown words are
 * reported with the rest of the string. The messages are printed once per
 * kernel, at the first look (the kernel parses at __setup time).
 */
import type { Kernel } from '../../kernel/kernel.js';
import { AMD_IOMMU_PGSIZES, AMD_IOMMU_PGSIZES_V2 } from '../../pgtable/formats/amd.js';

/** amd_iommu_pgsize_bitmap's three values (AMD_IOMMU_PGSIZES_4K is PAGE_SIZE). */
export const AMD_IOMMU_PGSIZES_NUM = Number(AMD_IOMMU_PGSIZES);
export const AMD_IOMMU_PGSIZES_V2_NUM = Number(AMD_IOMMU_PGSIZES_V2);
export const AMD_IOMMU_PGSIZES_4K = 0x1000;

export interface AmdIommuOptions {
  /** amd_iommu_disabled */
  readonly off: boolean;
  /** "fullflush": iommu_set_dma_strict() at parse time. */
  readonly fullflush: boolean;
  readonly forceIsolation: boolean;
  /** amd_iommu_pgtable as asked for (init may fall back to v1). */
  readonly pgtable: 'v1' | 'v2';
  /** amd_iommu_pgsize_bitmap: the v1 table's page sizes. */
  readonly pgsizeBitmap: number;
}

const parsed = new WeakMap<Kernel, AmdIommuOptions>();

/** parse_amd_iommu_options() over the command line's amd_iommu= (the last one given). */
export function amd_iommu_options(k: Kernel): AmdIommuOptions {
  const done = parsed.get(k);
  if (done) return done;
  let off = false;
  let fullflush = false;
  let forceIsolation = false;
  let pgtable: 'v1' | 'v2' = 'v1';
  let pgsizeBitmap = AMD_IOMMU_PGSIZES_NUM;
  const str = k.cmdline.params.get('amd_iommu');
  let rest = str ?? '';
  while (rest.length > 0) {
    const is = (word: string) => rest.startsWith(word);
    if (is('fullflush')) {
      k.printk.log('warn', 'AMD-Vi', 'amd_iommu=fullflush deprecated; use iommu.strict=1 instead');
      fullflush = true;
    } else if (is('force_enable')) {
      // amd_iommu_force_enable: IVRS quirk overrides, not modelled
    } else if (is('off')) off = true;
    else if (is('force_isolation')) forceIsolation = true;
    else if (is('pgtbl_v1')) pgtable = 'v1';
    else if (is('pgtbl_v2')) pgtable = 'v2';
    else if (is('irtcachedis')) {
      // interrupt remapping table cache: not modelled
    } else if (is('nohugepages')) {
      k.printk.log('info', 'AMD-Vi', 'Restricting V1 page-sizes to 4KiB');
      pgsizeBitmap = AMD_IOMMU_PGSIZES_4K;
    } else if (is('v2_pgsizes_only')) {
      k.printk.log('info', 'AMD-Vi', 'Restricting V1 page-sizes to 4KiB/2MiB/1GiB');
      pgsizeBitmap = AMD_IOMMU_PGSIZES_V2_NUM;
    } else k.printk.log('info', 'AMD-Vi', `Unknown option - '${rest}'`);
    // Past this word and the commas after it.
    const comma = rest.indexOf(',');
    rest = comma < 0 ? '' : rest.slice(comma).replace(/^,+/, '');
  }
  const o: AmdIommuOptions = { off, fullflush, forceIsolation, pgtable, pgsizeBitmap };
  parsed.set(k, o);
  return o;
}
