// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct scatterlist as the DMA API uses it (include/linux/scatterlist.h):
 * each entry names a page, an offset into it and a length; a successful
 * dma_map_sg() fills dma_address/dma_length of the first `count` entries
 * (merged segments may be fewer than the entries). Addresses are numbers.
 */

export interface Scatterlist {
  /** page_to_phys(sg_page(sg)): the physical address of the entry's first page. */
  page: number;
  offset: number;
  length: number;
  /** sg_dma_address() / sg_dma_len() */
  dma_address: number;
  dma_length: number;
}

/** DMA_MAPPING_ERROR (~(dma_addr_t)0), as the model's numbers hold it. */
export const DMA_MAPPING_ERROR = -1;

/** sg_init_table() + sg_set_page() for each (phys, length): the page is phys rounded down to 4K. */
export function sg_from_buffers(bufs: readonly { phys: number; length: number }[]): Scatterlist[] {
  return bufs.map(({ phys, length }) => {
    const page = Math.floor(phys / 4096) * 4096;
    return { page, offset: phys - page, length, dma_address: DMA_MAPPING_ERROR, dma_length: 0 };
  });
}

/** sg_phys() */
export function sg_phys(s: Scatterlist): number {
  return s.page + s.offset;
}
