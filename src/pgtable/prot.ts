// SPDX-License-Identifier: GPL-2.0-only
/**
 * The protection flags a caller passes to map_pages (include/linux/iommu.h),
 * also the prot of reserved regions (src/iommu/resv-regions.ts re-exports
 * them), and the read_and_clear_dirty flag.
 */

export const IOMMU_READ = 1 << 0;
export const IOMMU_WRITE = 1 << 1;
/** DMA cache coherency. */
export const IOMMU_CACHE = 1 << 2;
export const IOMMU_NOEXEC = 1 << 3;
/** Device memory, e.g. MSI doorbells. */
export const IOMMU_MMIO = 1 << 4;
/** The other privilege level from the default (io-pgtable-arm: no AP[1] "unprivileged" bit). */
export const IOMMU_PRIV = 1 << 5;

/** All the prot bits a format's prot→PTE mapping looks at (prot_to_pte tables have this many entries). */
export const IOMMU_PROT_BITS = 6;

/** read_and_clear_dirty(): report dirty leaves but leave them dirty. */
export const IOMMU_DIRTY_NO_CLEAR = 1 << 0;
