// SPDX-License-Identifier: GPL-2.0-only
/**
 * The build configuration options the modelled code reads. Defaults are the
 * common distribution settings for the architecture: Debian's 6.12 configs
 * (amd64 lazy invalidation, arm64 strict; on arm64 the SMMUs, Rockchip,
 * Tegra and Qualcomm IOMMUs built in, MediaTek and virtio-iommu as modules,
 * Apple DART, Exynos and Renesas IPMMU not built).
 */

/** A tristate option: built in, a module, or not built. */
export type Tristate = 'y' | 'm' | 'n';

/**
 * The IOMMU drivers' own options (drivers/iommu/Kconfig), and TEGRA_MC, the
 * memory-controller driver (drivers/memory/tegra) the Tegra SMMU lives in.
 */
export const iommuDriverOptions = [
  'ARM_SMMU',
  'ARM_SMMU_V3',
  'QCOM_IOMMU',
  'ROCKCHIP_IOMMU',
  'MTK_IOMMU',
  'APPLE_DART',
  'EXYNOS_IOMMU',
  'IPMMU_VMSA',
  'TEGRA_IOMMU_SMMU',
  'TEGRA_MC',
  'VIRTIO_IOMMU',
] as const;
export type IommuDriverOption = (typeof iommuDriverOptions)[number];

export interface Kconfig extends Readonly<Record<IommuDriverOption, Tristate>> {
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
  /** CONFIG_ARM_SMMU_LEGACY_DT_BINDINGS: arm-smmu honours `mmu-masters` (Debian: not set). */
  readonly ARM_SMMU_LEGACY_DT_BINDINGS: boolean;
  /** CONFIG_ARM_SMMU_DISABLE_BYPASS_BY_DEFAULT: unmatched streams fault (Debian: y). */
  readonly ARM_SMMU_DISABLE_BYPASS_BY_DEFAULT: boolean;
  /** CONFIG_ARM_SMMU_QCOM: the Qualcomm implementation hooks of arm-smmu (Debian: y). */
  readonly ARM_SMMU_QCOM: boolean;
  /** CONFIG_PCIE_APPLE (y or m): apple-dart reserves the PCIe MSI doorbell (Debian: not set, no ARCH_APPLE). */
  readonly PCIE_APPLE: boolean;
  /** CONFIG_ARM64_16K_PAGES: PAGE_SIZE is 16 KiB, else 4 KiB (Debian: 4K); read by apple-dart. */
  readonly ARM64_16K_PAGES: boolean;
  /** CONFIG_VFIO_NOIOMMU: VFIO's unsafe no-IOMMU mode exists (Debian: y); iommufd's VFIO_CHECK_EXTENSION reports it. */
  readonly VFIO_NOIOMMU: boolean;
  /**
   * The out-of-tree ACS override patch (pcie_acs_override=; linux-zen, Liquorix, CachyOS and
   * Proxmox VE kernels carry it, mainline and Debian do not): src/pci/acs-override.ts.
   */
  readonly PCIE_ACS_OVERRIDE: boolean;
}

export type Arch = 'x86_64' | 'arm64' | 'arm';

/** Debian 6.12 arm64 (config-6.12.117+deb12-arm64). */
const armIommuDrivers: Record<IommuDriverOption, Tristate> = {
  ARM_SMMU: 'y',
  ARM_SMMU_V3: 'y',
  QCOM_IOMMU: 'y',
  ROCKCHIP_IOMMU: 'y',
  MTK_IOMMU: 'm',
  APPLE_DART: 'n',
  EXYNOS_IOMMU: 'n',
  IPMMU_VMSA: 'n',
  TEGRA_IOMMU_SMMU: 'y',
  TEGRA_MC: 'y',
  VIRTIO_IOMMU: 'm',
};

/** PAGE_SIZE: Debian's kernels use 4 KiB pages; an arm64 CONFIG_ARM64_16K_PAGES kernel (Asahi) 16 KiB. */
export function kernelPageSize(kconfig: Kconfig): number {
  return kconfig.ARM64_16K_PAGES ? 0x4000 : 0x1000;
}

export function defaultKconfig(arch: Arch): Kconfig {
  const x86 = arch === 'x86_64';
  const drivers = x86
    ? ({
        ...Object.fromEntries(iommuDriverOptions.map((o) => [o, 'n'])),
        VIRTIO_IOMMU: 'm',
      } as Record<IommuDriverOption, Tristate>)
    : armIommuDrivers;
  return {
    ...drivers,
    IOMMU_DEFAULT_PASSTHROUGH: false,
    IOMMU_DEFAULT_DMA_STRICT: !x86,
    IOMMU_DMA: arch !== 'arm',
    ARM_DMA_USE_IOMMU: arch === 'arm',
    IOMMUFD_TEST: true,
    MEM_ENCRYPT_ACTIVE: false,
    INTEL_IOMMU_DEFAULT_ON: true,
    ARM_SMMU_LEGACY_DT_BINDINGS: false,
    ARM_SMMU_DISABLE_BYPASS_BY_DEFAULT: !x86,
    ARM_SMMU_QCOM: !x86,
    PCIE_APPLE: false,
    ARM64_16K_PAGES: false,
    VFIO_NOIOMMU: true,
    PCIE_ACS_OVERRIDE: false,
  };
}

/** Parse "NAME=y|m|n" (CONFIG_ prefix optional) into a Kconfig override, or an error message. */
export function parseKconfigAssignment(
  text: string,
): { key: keyof Kconfig; value: Tristate | boolean } | string {
  const m = /^(?:CONFIG_)?([A-Z0-9_]+)=(y|m|n)$/.exec(text.trim());
  if (!m) return `"${text}" is not NAME=y, NAME=m or NAME=n`;
  const key = m[1] as keyof Kconfig;
  const sample = defaultKconfig('arm64');
  if (!(key in sample)) return `${m[1]} is not an option iommu-lab reads (${Object.keys(sample).join(', ')})`;
  const tristate = (iommuDriverOptions as readonly string[]).includes(key);
  if (!tristate && m[2] === 'm') return `${m[1]} is a bool: y or n`;
  return { key, value: tristate ? (m[2] as Tristate) : m[2] === 'y' };
}
