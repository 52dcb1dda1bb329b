// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Tegra memory controllers whose SoC data carries an SMMU, as data
 * (drivers/memory/tegra/tegra30.c, tegra114.c, tegra124.c, tegra210.c and the
 * dt-bindings headers include/dt-bindings/memory/tegra*-mc.h, Linux 6.12).
 *
 * What the IOMMU side reads from it: the swgroup IDs a master's `iommus`
 * cell names (the dt-bindings TEGRA_SWGROUP_* numbers), the swgroups the SMMU
 * has an ASID register for (struct tegra_smmu_swgroup, by name), the named
 * groups several swgroups share (struct tegra_smmu_group_soc), the ASID
 * count, the TLB lines and the MC's address width, and (Tegra210) the memory
 * clients the MC names in its fault lines (mc-clients.ts). Register offsets,
 * the clients' SMMU enable bits and latency settings are hardware
 * programming and are left out.
 *
 * Which compatibles tegra_mc_of_match holds depends on the ARCH_TEGRA_*_SOC
 * options: Tegra30, 114 and 124 exist only for 32-bit Arm, Tegra132 and 210
 * only for arm64 (drivers/soc/tegra/Kconfig); Debian's arm64 6.12 config
 * enables 132 and 210 (186, 194 and 234 are off, and their MCs have no SMMU
 * data anyway: they sit behind an arm-smmu).
 */
import type { Arch } from '../../kernel/kconfig.js';
import { tegra210McClients } from './mc-clients.js';

/** struct tegra_smmu_swgroup: a swgroup with its own ASID register. */
export interface TegraSmmuSwgroup {
  readonly name: string;
  readonly swgroup: number;
}

/** struct tegra_smmu_group_soc: swgroups that share one IOMMU group, and the group's name. */
export interface TegraSmmuGroupSoc {
  readonly name: string;
  readonly swgroups: readonly number[];
}

/** struct tegra_smmu_soc, the parts the IOMMU core can observe. */
export interface TegraSmmuSoc {
  readonly swgroups: readonly TegraSmmuSwgroup[];
  readonly groups: readonly TegraSmmuGroupSoc[];
  readonly num_tlb_lines: number;
  readonly num_asids: number;
}

/** struct tegra_mc_soc, the parts tegra_mc_probe() and tegra_smmu_probe() read. */
export interface TegraMcSoc {
  /** The of_match_table entry that selects it. */
  readonly compatible: string;
  /** The architecture whose ARCH_TEGRA_*_SOC option can build it in. */
  readonly arch: Arch;
  readonly num_address_bits: number;
  /** ops->handle_irq is set (tegra30_mc_ops): the probe needs IRQ 0. */
  readonly handles_irq: boolean;
  readonly smmu: TegraSmmuSoc | null;
  /** The memory clients tegra30_mc_handle_irq() names (modelled for Tegra210 only; else empty). */
  readonly clients: readonly McClient[];
}

/** struct tegra_mc_client: ID, name, swgroup number, and whether it writes. */
export interface McClient {
  readonly id: number;
  readonly name: string;
  readonly swgroup: number;
  readonly write: boolean;
}

/** include/dt-bindings/memory/tegra30-mc.h */
// prettier-ignore
const TEGRA30_SWGROUP = {
  ptc: 0, dc: 1, dcb: 2, epp: 3, g2: 4, mpe: 5, vi: 6, afi: 7, avpc: 8, nv: 9, nv2: 10,
  hda: 11, hc: 12, ppcs: 13, sata: 14, vde: 15, mpcorelp: 16, mpcore: 17, isp: 18,
} as const;

/** include/dt-bindings/memory/tegra114-mc.h */
// prettier-ignore
const TEGRA114_SWGROUP = {
  ptc: 0, dc: 1, dcb: 2, epp: 3, g2: 4, avpc: 5, nv: 6, hda: 7, hc: 8, msenc: 9, ppcs: 10,
  vde: 11, mpcorelp: 12, mpcore: 13, vi: 14, isp: 15, xusb_host: 16, xusb_dev: 17,
  emucif: 18, tsec: 19,
} as const;

/** include/dt-bindings/memory/tegra124-mc.h (Tegra132 uses the same numbers) */
// prettier-ignore
const TEGRA124_SWGROUP = {
  ptc: 0, dc: 1, dcb: 2, afi: 3, avpc: 4, hda: 5, hc: 6, msenc: 7, ppcs: 8, sata: 9,
  vde: 10, mpcorelp: 11, mpcore: 12, isp2: 13, xusb_host: 14, xusb_dev: 15, isp2b: 16,
  tsec: 17, a9avp: 18, gpu: 19, sdmmc1a: 20, sdmmc2a: 21, sdmmc3a: 22, sdmmc4a: 23,
  vic: 24, vi: 25,
} as const;

/** include/dt-bindings/memory/tegra210-mc.h */
// prettier-ignore
const TEGRA210_SWGROUP = {
  ptc: 0, dc: 1, dcb: 2, afi: 3, avpc: 4, hda: 5, hc: 6, nvenc: 7, ppcs: 8, sata: 9,
  mpcore: 10, isp2: 11, xusb_host: 12, xusb_dev: 13, isp2b: 14, tsec: 15, a9avp: 16,
  gpu: 17, sdmmc1a: 18, sdmmc2a: 19, sdmmc3a: 20, sdmmc4a: 21, vic: 22, vi: 23,
  nvdec: 24, ape: 25, nvjpg: 26, se: 27, axiap: 28, etr: 29, tsecb: 30, nv: 31, nv2: 32,
  ppcs1: 33, dc1: 34, ppcs2: 35, hc1: 36, se1: 37, tsec1: 38, tsecb1: 39, nvdec1: 40,
} as const;

/** A swgroup table in the driver's order, each entry named as its dt-bindings macro. */
function swgroups<T extends Record<string, number>>(
  ids: T,
  ...names: (keyof T & string)[]
): TegraSmmuSwgroup[] {
  return names.map((name) => ({ name, swgroup: ids[name] }));
}

/** tegra30_swgroups[], tegra30_groups[] */
const tegra30Smmu: TegraSmmuSoc = {
  // prettier-ignore
  swgroups: swgroups(TEGRA30_SWGROUP,
    'dc', 'dcb', 'epp', 'g2', 'mpe', 'vi', 'afi', 'avpc', 'nv', 'nv2', 'hda', 'hc', 'ppcs',
    'sata', 'vde', 'isp'),
  groups: [
    {
      name: 'drm',
      swgroups: [
        TEGRA30_SWGROUP.dc,
        TEGRA30_SWGROUP.dcb,
        TEGRA30_SWGROUP.g2,
        TEGRA30_SWGROUP.nv,
        TEGRA30_SWGROUP.nv2,
      ],
    },
  ],
  num_tlb_lines: 16,
  num_asids: 4,
};

/** tegra114_swgroups[], tegra114_groups[] */
const tegra114Smmu: TegraSmmuSoc = {
  // prettier-ignore
  swgroups: swgroups(TEGRA114_SWGROUP,
    'dc', 'dcb', 'epp', 'g2', 'avpc', 'nv', 'hda', 'hc', 'msenc', 'ppcs', 'vde', 'vi', 'isp',
    'xusb_host', 'xusb_dev', 'tsec'),
  groups: [
    {
      name: 'drm',
      swgroups: [TEGRA114_SWGROUP.dc, TEGRA114_SWGROUP.dcb, TEGRA114_SWGROUP.g2, TEGRA114_SWGROUP.nv],
    },
  ],
  num_tlb_lines: 32,
  num_asids: 4,
};

/** tegra124_swgroups[] and tegra124_groups[], shared by tegra124_smmu_soc and tegra132_smmu_soc */
// prettier-ignore
const tegra124Swgroups = swgroups(TEGRA124_SWGROUP,
  'dc', 'dcb', 'afi', 'avpc', 'hda', 'hc', 'msenc', 'ppcs', 'sata', 'vde', 'isp2',
  'xusb_host', 'xusb_dev', 'isp2b', 'tsec', 'a9avp', 'gpu', 'sdmmc1a', 'sdmmc2a', 'sdmmc3a',
  'sdmmc4a', 'vic', 'vi');
const tegra124Groups: TegraSmmuGroupSoc[] = [
  { name: 'drm', swgroups: [TEGRA124_SWGROUP.dc, TEGRA124_SWGROUP.dcb, TEGRA124_SWGROUP.vic] },
];
const tegra124Smmu: TegraSmmuSoc = {
  swgroups: tegra124Swgroups,
  groups: tegra124Groups,
  num_tlb_lines: 32,
  num_asids: 128,
};

/** tegra210_swgroups[], tegra210_groups[] */
const tegra210Smmu: TegraSmmuSoc = {
  // prettier-ignore
  swgroups: swgroups(TEGRA210_SWGROUP,
    'afi', 'avpc', 'dc', 'dcb', 'hc', 'hda', 'isp2', 'nvenc', 'nv', 'nv2', 'ppcs', 'sata',
    'vi', 'vic', 'xusb_host', 'xusb_dev', 'a9avp', 'tsec', 'ppcs1', 'dc1', 'sdmmc1a',
    'sdmmc2a', 'sdmmc3a', 'sdmmc4a', 'isp2b', 'gpu', 'ppcs2', 'nvdec', 'ape', 'se', 'nvjpg',
    'hc1', 'se1', 'axiap', 'etr', 'tsecb', 'tsec1', 'tsecb1', 'nvdec1'),
  groups: [{ name: 'display', swgroups: [TEGRA210_SWGROUP.dc, TEGRA210_SWGROUP.dcb] }],
  num_tlb_lines: 48,
  num_asids: 128,
};

/** tegra_mc_of_match[] entries whose SoC data has an SMMU, in the table's order. */
export const tegraMcSocs: readonly TegraMcSoc[] = [
  {
    compatible: 'nvidia,tegra30-mc',
    arch: 'arm',
    num_address_bits: 32,
    handles_irq: true,
    smmu: tegra30Smmu,
    clients: [],
  },
  {
    compatible: 'nvidia,tegra114-mc',
    arch: 'arm',
    num_address_bits: 32,
    handles_irq: true,
    smmu: tegra114Smmu,
    clients: [],
  },
  {
    compatible: 'nvidia,tegra124-mc',
    arch: 'arm',
    num_address_bits: 34,
    handles_irq: true,
    smmu: tegra124Smmu,
    clients: [],
  },
  {
    compatible: 'nvidia,tegra132-mc',
    arch: 'arm64',
    num_address_bits: 34,
    handles_irq: true,
    smmu: tegra124Smmu,
    clients: [],
  },
  {
    compatible: 'nvidia,tegra210-mc',
    arch: 'arm64',
    num_address_bits: 34,
    handles_irq: true,
    smmu: tegra210Smmu,
    clients: tegra210McClients.map((c) => ({
      ...c,
      swgroup: TEGRA210_SWGROUP[c.swgroup as keyof typeof TEGRA210_SWGROUP],
    })),
  },
];

/** tegra_mc_of_match as built for an architecture (its ARCH_TEGRA_*_SOC options). */
export function tegraMcOfMatch(arch: Arch): TegraMcSoc[] {
  return tegraMcSocs.filter((s) => s.arch === arch);
}
