// SPDX-License-Identifier: GPL-2.0-only
/**
 * The registered page-table formats, by name. Each is a kernel format
 * (enum io_pgtable_fmt) with the cfg a driver typically creates it with; a
 * caller's cfg overrides any of it. The generic test suite runs against
 * every entry here.
 */
import type { PgtableCfgInput, PgtableFormat } from '../format.js';
import {
  IO_PGTABLE_QUIRK_ARM_NS,
  IO_PGTABLE_QUIRK_NO_PERMS,
  armLpae32Alloc,
  armLpaeAlloc,
} from './arm-lpae.js';
import { IO_PGTABLE_QUIRK_ARM_MTK_EXT, IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT, armV7sAlloc } from './arm-v7s.js';
import { AMD_IOMMU_PGSIZES, AMD_IOMMU_PGSIZES_V2, amdV1Alloc, amdV2Alloc } from './amd.js';
import { appleDartAlloc } from './apple-dart.js';
import { INTEL_VTD_QUIRK_FORCE_SNOOP, intelVtdAlloc } from './intel-vtd.js';
import { MOCK_HUGE_PAGE_SIZE, MOCK_IO_PAGE_SIZE, iommufdMockAlloc } from './iommufd-mock.js';
import { RK_IOMMU_PGSIZE_BITMAP, rockchipAlloc, type RkVariant } from './rockchip.js';
import { tegraSmmuAlloc } from './tegra-smmu.js';
import { exynosSysmmuAlloc, type SysmmuPgEnt } from './exynos-sysmmu.js';

const SZ_4K = 1n << 12n;
const SZ_16K = 1n << 14n;
const SZ_64K = 1n << 16n;
const SZ_1M = 1n << 20n;
const SZ_16M = 1n << 24n;
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
    // SMMUs with 40- and 32-bit input addresses: other start levels and pgd sizes.
    variants: [{ ias: 40 }, { ias: 32 }],
    alloc: (cfg: PgtableCfgInput) => armLpaeAlloc(stage, cfg, defaults),
  };
}

/** ARM_32_LPAE_S1/S2 (qcom_iommu, ipmmu-vmsa, arm-smmu contexts without AArch64 tables). */
function armLpae32(stage: 1 | 2): PgtableFormat {
  const defaults = { pgsize_bitmap: SZ_4K | SZ_2M | SZ_1G, ias: stage === 1 ? 32 : 40, oas: 40 };
  return {
    name: `arm-32-lpae-s${stage}`,
    fmt: `ARM_32_LPAE_S${stage}`,
    description: `ARM 32-bit LPAE (long-descriptor) stage ${stage}, 4K granule (io-pgtable-arm.c)`,
    defaults,
    // ipmmu-vmsa sets the NS quirk at stage 1; a smaller SMMU input size at stage 2.
    variants: stage === 1 ? [{ quirks: IO_PGTABLE_QUIRK_ARM_NS }, { oas: 32 }] : [{ ias: 32 }],
    alloc: (cfg: PgtableCfgInput) => armLpae32Alloc(stage, cfg, defaults),
  };
}

const v7sDefaults = { pgsize_bitmap: SZ_4K | SZ_64K | SZ_1M | SZ_16M, ias: 32, oas: 32 };

/** ARM_V7S as mtk_iommu_domain_finalise() creates it (with and without the MediaTek extensions). */
const armV7s: PgtableFormat = {
  name: 'arm-v7s',
  fmt: 'ARM_V7S',
  description: 'ARM v7 short descriptors, 4K/64K/1M/16M (io-pgtable-arm-v7s.c)',
  defaults: v7sDefaults,
  variants: [
    { quirks: IO_PGTABLE_QUIRK_ARM_NS },
    // mt8192-class: 34-bit IOVAs, 35-bit output, tables above 4 GiB.
    {
      quirks:
        IO_PGTABLE_QUIRK_ARM_NS |
        IO_PGTABLE_QUIRK_NO_PERMS |
        IO_PGTABLE_QUIRK_ARM_MTK_EXT |
        IO_PGTABLE_QUIRK_ARM_MTK_TTBR_EXT,
      ias: 34,
      oas: 35,
    },
  ],
  alloc: (cfg: PgtableCfgInput) => armV7sAlloc(cfg, v7sDefaults),
};

const vtdDefaults = { pgsize_bitmap: SZ_4K | SZ_2M | SZ_1G, ias: 48, oas: 52 };

/** A VT-d second-stage paging domain: 4-level (48-bit), 2M and 1G superpages, as most server IOMMUs have it. */
const intelVtdSecond: PgtableFormat = {
  name: 'intel-vtd-ss',
  fmt: 'INTEL_VTD_SECOND_STAGE',
  description: 'Intel VT-d second-stage (intel/iommu.c: pfn_to_dma_pte, __domain_mapping, domain_unmap)',
  defaults: vtdDefaults,
  variants: [
    // Client parts: 39-bit, 3 levels, 2M superpages only.
    { ias: 39, pgsize_bitmap: SZ_4K | SZ_2M },
    // 5-level, and snoop control forced (intel_iommu_enforce_cache_coherency()).
    { ias: 57, quirks: INTEL_VTD_QUIRK_FORCE_SNOOP },
  ],
  alloc: (cfg: PgtableCfgInput) => intelVtdAlloc('second', cfg, vtdDefaults),
};

/** A VT-d first-stage paging domain (the default for DMA domains in scalable mode). */
const intelVtdFirst: PgtableFormat = {
  name: 'intel-vtd-fs',
  fmt: 'INTEL_VTD_FIRST_STAGE',
  description: 'Intel VT-d first-stage, x86-64 4/5-level paging (intel/iommu.c, intel/pasid.h)',
  defaults: vtdDefaults,
  variants: [{ ias: 57 }, { pgsize_bitmap: SZ_4K | SZ_2M }],
  alloc: (cfg: PgtableCfgInput) => intelVtdAlloc('first', cfg, vtdDefaults),
};

const amdV1Defaults = { pgsize_bitmap: AMD_IOMMU_PGSIZES, ias: 52, oas: 52 };

/** AMD v1 host tables with amd_iommu_pgsize_bitmap as booted. */
const amdV1: PgtableFormat = {
  name: 'amd-v1',
  fmt: 'AMD_IOMMU_V1',
  description: 'AMD IOMMU v1 host page tables (amd/io_pgtable.c)',
  defaults: amdV1Defaults,
  // amd_iommu=v2_pgsizes_only, amd_iommu=nohugepages
  variants: [{ pgsize_bitmap: AMD_IOMMU_PGSIZES_V2 }, { pgsize_bitmap: SZ_4K }],
  alloc: (cfg: PgtableCfgInput) => amdV1Alloc(cfg, amdV1Defaults),
};

/** AMD v2 (x86-64 paging) tables: 4-level, or 5-level with amd_iommu_gpt_level 5 (ias 57). */
const amdV2: PgtableFormat = {
  name: 'amd-v2',
  fmt: 'AMD_IOMMU_V2',
  description: 'AMD IOMMU v2 (x86-64 4/5-level) page tables (amd/io_pgtable_v2.c)',
  defaults: { pgsize_bitmap: AMD_IOMMU_PGSIZES_V2, ias: 52, oas: 52 },
  variants: [{ ias: 57 }],
  alloc: (cfg: PgtableCfgInput) => amdV2Alloc(cfg),
};

const mockDefaults = { pgsize_bitmap: BigInt(MOCK_IO_PAGE_SIZE), ias: 53, oas: 53 };

/** The iommufd selftest's mock domain; a MOCK_FLAGS_DEVICE_HUGE_IOVA device adds 1M pages. */
const iommufdMock: PgtableFormat = {
  name: 'iommufd-mock',
  fmt: 'IOMMUFD_MOCK',
  description: 'iommufd selftest mock domain: an xarray of pfns (iommufd/selftest.c)',
  defaults: mockDefaults,
  variants: [{ pgsize_bitmap: BigInt(MOCK_IO_PAGE_SIZE + MOCK_HUGE_PAGE_SIZE) }],
  alloc: (cfg: PgtableCfgInput) => iommufdMockAlloc(cfg, mockDefaults),
};

/** A rk_iommu_domain's tables (the driver's own two levels, not io-pgtable), one format per descriptor variant. */
function rockchip(variant: RkVariant): PgtableFormat {
  return {
    name: `rockchip-iommu-${variant}`,
    fmt: `ROCKCHIP_IOMMU_${variant.toUpperCase()}`,
    description: `Rockchip IOMMU ${variant} DT/PT, 4K pages, ${variant === 'v1' ? 32 : 40}-bit output (rockchip-iommu.c)`,
    defaults: { pgsize_bitmap: BigInt(RK_IOMMU_PGSIZE_BITMAP), ias: 32, oas: variant === 'v1' ? 32 : 40 },
    variants: [],
    alloc: (cfg: PgtableCfgInput) => rockchipAlloc(variant, cfg),
  };
}

const dart1Defaults = { pgsize_bitmap: SZ_16K, ias: 32, oas: 36 };

/** APPLE_DART as apple_dart_finalize_domain() creates it on a t8103 DART (16K pages, ias 32, oas 36). */
const appleDart: PgtableFormat = {
  name: 'apple-dart',
  fmt: 'APPLE_DART',
  description: 'Apple DART (t8103), 2 levels under up to 4 TTBRs (io-pgtable-dart.c)',
  defaults: dart1Defaults,
  // A 4K-page DART: 9 index bits a level, so a 32-bit IOVA needs all four TTBRs.
  variants: [{ pgsize_bitmap: SZ_4K }, { ias: 36 }],
  alloc: (cfg: PgtableCfgInput) => appleDartAlloc('APPLE_DART', cfg, dart1Defaults),
};

const dart2Defaults = { pgsize_bitmap: SZ_16K, ias: 32, oas: 42 };

/** APPLE_DART2 as on t6000 (ias 32, oas 42); a 38-bit VA width (T8110's PARAMS3) takes four TTBRs. */
const appleDart2: PgtableFormat = {
  name: 'apple-dart2',
  fmt: 'APPLE_DART2',
  description: 'Apple DART2 (t6000, t8110): paddr >> 4 in the PTE (io-pgtable-dart.c)',
  defaults: dart2Defaults,
  variants: [{ ias: 38 }],
  alloc: (cfg: PgtableCfgInput) => appleDartAlloc('APPLE_DART2', cfg, dart2Defaults),
};

/** A tegra_smmu_as's page directory and tables: Tegra114 to Tegra210 (34-bit MC); Tegra30's MC has 32 bits. */
const tegraSmmu: PgtableFormat = {
  name: 'tegra-smmu',
  fmt: 'TEGRA_SMMU',
  description: 'Tegra SMMU page directory and tables, 4K pages (tegra-smmu.c)',
  defaults: { pgsize_bitmap: SZ_4K, ias: 32, oas: 34 },
  variants: [{ oas: 32 }],
  alloc: (cfg: PgtableCfgInput) => tegraSmmuAlloc(cfg, { oas: 34 }),
};

/**
 * An exynos_iommu_domain's tables in one entry encoding (PG_ENT_SHIFT 0 for
 * System MMU v1..v3, 4 for v5 and later). ZERO_LV2LINK names a zero level-2
 * table at `zeroLv2` (the driver passes the one exynos_iommu_init() allocated;
 * registered, physical 0).
 */
export function exynosSysmmuFormat(v: SysmmuPgEnt, zeroLv2 = 0): PgtableFormat {
  return {
    name: `exynos-sysmmu-${v}`,
    fmt: `EXYNOS_SYSMMU_${v.toUpperCase()}`,
    description: `Exynos System MMU ${v === 'v1' ? 'v1..v3' : 'v5+'} lv1/lv2, 4K/64K/1M (exynos-iommu.c)`,
    defaults: { pgsize_bitmap: SZ_4K | SZ_64K | SZ_1M, ias: 32, oas: v === 'v1' ? 32 : 36 },
    variants: [],
    alloc: (cfg: PgtableCfgInput) => exynosSysmmuAlloc(v, cfg, zeroLv2),
  };
}

export const pgtableFormats = {
  'arm-64-lpae-s1-4k': armLpae(1, SZ_4K | SZ_2M | SZ_1G, '4k'),
  'arm-64-lpae-s1-16k': armLpae(1, SZ_16K | SZ_32M, '16k'),
  'arm-64-lpae-s1-64k': armLpae(1, SZ_64K | SZ_512M, '64k'),
  'arm-64-lpae-s2-4k': armLpae(2, SZ_4K | SZ_2M | SZ_1G, '4k'),
  'arm-64-lpae-s2-16k': armLpae(2, SZ_16K | SZ_32M, '16k'),
  'arm-64-lpae-s2-64k': armLpae(2, SZ_64K | SZ_512M, '64k'),
  'arm-32-lpae-s1': armLpae32(1),
  'arm-32-lpae-s2': armLpae32(2),
  'arm-v7s': armV7s,
  'intel-vtd-ss': intelVtdSecond,
  'intel-vtd-fs': intelVtdFirst,
  'amd-v1': amdV1,
  'amd-v2': amdV2,
  'iommufd-mock': iommufdMock,
  'apple-dart': appleDart,
  'apple-dart2': appleDart2,
  'rockchip-iommu-v1': rockchip('v1'),
  'rockchip-iommu-v2': rockchip('v2'),
  'tegra-smmu': tegraSmmu,
  'exynos-sysmmu-v1': exynosSysmmuFormat('v1'),
  'exynos-sysmmu-v5': exynosSysmmuFormat('v5'),
} as const satisfies Record<string, PgtableFormat>;

export type PgtableFormatName = keyof typeof pgtableFormats;
export const pgtableFormatNames = Object.keys(pgtableFormats) as PgtableFormatName[];
