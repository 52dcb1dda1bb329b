// SPDX-License-Identifier: GPL-2.0-only
/**
 * The build configuration options the modelled code reads. Defaults are the
 * common distribution settings for the architecture (Debian's 6.12 configs:
 * amd64 lazy, arm64 strict).
 */

export interface Kconfig {
  /** CONFIG_IOMMU_DEFAULT_PASSTHROUGH (else translated). */
  readonly IOMMU_DEFAULT_PASSTHROUGH: boolean;
  /** CONFIG_IOMMU_DEFAULT_DMA_STRICT (else DMA_LAZY): iommu_dma_strict's initial value. */
  readonly IOMMU_DEFAULT_DMA_STRICT: boolean;
  /** CONFIG_IOMMU_DMA: the DMA API over IOMMU domains. */
  readonly IOMMU_DMA: boolean;
  /** CONFIG_ARM_DMA_USE_IOMMU (arm32). */
  readonly ARM_DMA_USE_IOMMU: boolean;
  /** CONFIG_IOMMUFD_TEST: the selftest mock driver can be loaded. */
  readonly IOMMUFD_TEST: boolean;
  /** cc_platform_has(CC_ATTR_MEM_ENCRYPT): SEV/TDX guests. */
  readonly MEM_ENCRYPT_ACTIVE: boolean;
  /** CONFIG_INTEL_IOMMU_DEFAULT_ON (Debian: y). */
  readonly INTEL_IOMMU_DEFAULT_ON: boolean;
}

export type Arch = 'x86_64' | 'arm64' | 'arm';

export function defaultKconfig(arch: Arch): Kconfig {
  return {
    IOMMU_DEFAULT_PASSTHROUGH: false,
    IOMMU_DEFAULT_DMA_STRICT: arch !== 'x86_64',
    IOMMU_DMA: arch !== 'arm',
    ARM_DMA_USE_IOMMU: arch === 'arm',
    IOMMUFD_TEST: true,
    MEM_ENCRYPT_ACTIVE: false,
    INTEL_IOMMU_DEFAULT_ON: true,
  };
}
