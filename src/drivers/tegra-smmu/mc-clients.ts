// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Tegra210 memory controller's clients (tegra210_mc_clients[] in
 * drivers/memory/tegra/tegra210.c, Linux 6.12): the client ID the MC reports
 * in MC_ERR_STATUS, the name tegra30_mc_handle_irq() prints, and the
 * swgroup. The kernel's table has no direction; `write` follows the client
 * names (the *w, *wr, *wa, *wb clients write, the rest read), and the fault
 * model uses it to pick the client a device's write or read comes from.
 * Only the Tegra210 table is modelled (the arm64 SoC whose MC has an SMMU).
 */

/** struct tegra_mc_client, the parts the fault report uses. */
export interface TegraMcClient {
  readonly id: number;
  readonly name: string;
  /** The swgroup's dt-bindings name (TEGRA_SWGROUP_*, lower case). */
  readonly swgroup: string;
  readonly write: boolean;
}

// prettier-ignore
export const tegra210McClients: readonly TegraMcClient[] = [
  { id: 0x00, name: 'ptcr', swgroup: 'ptc', write: false },
  { id: 0x01, name: 'display0a', swgroup: 'dc', write: false },
  { id: 0x02, name: 'display0ab', swgroup: 'dcb', write: false },
  { id: 0x03, name: 'display0b', swgroup: 'dc', write: false },
  { id: 0x04, name: 'display0bb', swgroup: 'dcb', write: false },
  { id: 0x05, name: 'display0c', swgroup: 'dc', write: false },
  { id: 0x06, name: 'display0cb', swgroup: 'dcb', write: false },
  { id: 0x0e, name: 'afir', swgroup: 'afi', write: false },
  { id: 0x0f, name: 'avpcarm7r', swgroup: 'avpc', write: false },
  { id: 0x10, name: 'displayhc', swgroup: 'dc', write: false },
  { id: 0x11, name: 'displayhcb', swgroup: 'dcb', write: false },
  { id: 0x15, name: 'hdar', swgroup: 'hda', write: false },
  { id: 0x16, name: 'host1xdmar', swgroup: 'hc', write: false },
  { id: 0x17, name: 'host1xr', swgroup: 'hc', write: false },
  { id: 0x1c, name: 'nvencsrd', swgroup: 'nvenc', write: false },
  { id: 0x1d, name: 'ppcsahbdmar', swgroup: 'ppcs', write: false },
  { id: 0x1e, name: 'ppcsahbslvr', swgroup: 'ppcs', write: false },
  { id: 0x1f, name: 'satar', swgroup: 'sata', write: false },
  { id: 0x27, name: 'mpcorer', swgroup: 'mpcore', write: false },
  { id: 0x2b, name: 'nvencswr', swgroup: 'nvenc', write: true },
  { id: 0x31, name: 'afiw', swgroup: 'afi', write: true },
  { id: 0x32, name: 'avpcarm7w', swgroup: 'avpc', write: true },
  { id: 0x35, name: 'hdaw', swgroup: 'hda', write: true },
  { id: 0x36, name: 'host1xw', swgroup: 'hc', write: true },
  { id: 0x39, name: 'mpcorew', swgroup: 'mpcore', write: true },
  { id: 0x3b, name: 'ppcsahbdmaw', swgroup: 'ppcs', write: true },
  { id: 0x3c, name: 'ppcsahbslvw', swgroup: 'ppcs', write: true },
  { id: 0x3d, name: 'sataw', swgroup: 'sata', write: true },
  { id: 0x44, name: 'ispra', swgroup: 'isp2', write: false },
  { id: 0x46, name: 'ispwa', swgroup: 'isp2', write: true },
  { id: 0x47, name: 'ispwb', swgroup: 'isp2', write: true },
  { id: 0x4a, name: 'xusb_hostr', swgroup: 'xusb_host', write: false },
  { id: 0x4b, name: 'xusb_hostw', swgroup: 'xusb_host', write: true },
  { id: 0x4c, name: 'xusb_devr', swgroup: 'xusb_dev', write: false },
  { id: 0x4d, name: 'xusb_devw', swgroup: 'xusb_dev', write: true },
  { id: 0x4e, name: 'isprab', swgroup: 'isp2b', write: false },
  { id: 0x50, name: 'ispwab', swgroup: 'isp2b', write: true },
  { id: 0x51, name: 'ispwbb', swgroup: 'isp2b', write: true },
  { id: 0x54, name: 'tsecsrd', swgroup: 'tsec', write: false },
  { id: 0x55, name: 'tsecswr', swgroup: 'tsec', write: true },
  { id: 0x56, name: 'a9avpscr', swgroup: 'a9avp', write: false },
  { id: 0x57, name: 'a9avpscw', swgroup: 'a9avp', write: true },
  { id: 0x58, name: 'gpusrd', swgroup: 'gpu', write: false },
  { id: 0x59, name: 'gpuswr', swgroup: 'gpu', write: true },
  { id: 0x5a, name: 'displayt', swgroup: 'dc', write: false },
  { id: 0x60, name: 'sdmmcra', swgroup: 'sdmmc1a', write: false },
  { id: 0x61, name: 'sdmmcraa', swgroup: 'sdmmc2a', write: false },
  { id: 0x62, name: 'sdmmcr', swgroup: 'sdmmc3a', write: false },
  { id: 0x64, name: 'sdmmcwa', swgroup: 'sdmmc1a', write: true },
  { id: 0x65, name: 'sdmmcwaa', swgroup: 'sdmmc2a', write: true },
  { id: 0x66, name: 'sdmmcw', swgroup: 'sdmmc3a', write: true },
  { id: 0x67, name: 'sdmmcwab', swgroup: 'sdmmc4a', write: true },
  { id: 0x6c, name: 'vicsrd', swgroup: 'vic', write: false },
  { id: 0x6d, name: 'vicswr', swgroup: 'vic', write: true },
  { id: 0x72, name: 'viw', swgroup: 'vi', write: true },
  { id: 0x73, name: 'displayd', swgroup: 'dc', write: false },
  { id: 0x78, name: 'nvdecsrd', swgroup: 'nvdec', write: false },
  { id: 0x79, name: 'nvdecswr', swgroup: 'nvdec', write: true },
  { id: 0x7a, name: 'aper', swgroup: 'ape', write: false },
  { id: 0x7b, name: 'apew', swgroup: 'ape', write: true },
  { id: 0x7e, name: 'nvjpgsrd', swgroup: 'nvjpg', write: false },
  { id: 0x7f, name: 'nvjpgswr', swgroup: 'nvjpg', write: true },
  { id: 0x80, name: 'sesrd', swgroup: 'se', write: false },
  { id: 0x81, name: 'seswr', swgroup: 'se', write: true },
  { id: 0x82, name: 'axiapr', swgroup: 'axiap', write: false },
  { id: 0x83, name: 'axiapw', swgroup: 'axiap', write: true },
  { id: 0x84, name: 'etrr', swgroup: 'etr', write: false },
  { id: 0x85, name: 'etrw', swgroup: 'etr', write: true },
  { id: 0x86, name: 'tsecsrdb', swgroup: 'tsecb', write: false },
  { id: 0x87, name: 'tsecswrb', swgroup: 'tsecb', write: true },
  { id: 0x88, name: 'gpusrd2', swgroup: 'gpu', write: false },
  { id: 0x89, name: 'gpuswr2', swgroup: 'gpu', write: true },
];
