// SPDX-License-Identifier: GPL-2.0-only
/**
 * Which masters the Renesas IPMMU accepts (drivers/iommu/ipmmu-vmsa.c
 * ipmmu_device_is_allowed(), 6.12), and the SoC identity it asks
 * soc_device_match() (drivers/base/soc.c) about. That identity is the soc
 * device renesas_soc_init() (drivers/soc/renesas/renesas-soc.c) registers at
 * early_initcall from the root node's `compatible`: the family and the
 * soc_id (the part after "renesas,") of the first root compatible its table
 * lists.
 *
 * Two things the model cannot read from a device tree:
 *  - the revision ("ES2.0"), which renesas_soc_init() reads from the PRR
 *    register: the model has none, so a revision-qualified entry (r8a7795
 *    ES2.*) never matches, as soc_device_match_attr() does for a soc device
 *    without a revision;
 *  - which SoCs the kernel was built for: each table entry sits under its
 *    CONFIG_ARCH_R8A*; the model assumes the machine's own SoC is built in
 *    (it is for the fixture: Debian's arm64 config has ARCH_R8A774A1=y but no
 *    other R-Car Gen3/Gen4 or RZ/G2 SoC, and without its ARCH option a
 *    board has no clock driver either). A kernel without it registers no soc
 *    device, and then every master would be allowed.
 */
import type { Device } from '../../base/device.js';
import type { Fwnode } from '../../base/fwnode.js';
import { dev_is_pci } from '../../base/device.js';
import { of_compatible_list } from '../../firmware/of/of-base.js';

/** struct soc_device_attribute, the fields these lists use. */
export interface SocDeviceAttribute {
  readonly family?: string;
  readonly soc_id?: string;
  readonly revision?: string;
}

const RCAR_GEN3 = 'R-Car Gen3';
const RCAR_GEN4 = 'R-Car Gen4';
const RZ_G2 = 'RZ/G2';

/**
 * renesas_socs[]: the entries whose family is one ipmmu-vmsa.c opts in (the
 * others only ever make ipmmu_device_is_allowed() say yes, as no soc device
 * does), with the family of their struct renesas_soc.
 */
const renesas_socs: Readonly<Record<string, string>> = {
  'renesas,r8a774a1': RZ_G2,
  'renesas,r8a774b1': RZ_G2,
  'renesas,r8a774c0': RZ_G2,
  'renesas,r8a774e1': RZ_G2,
  'renesas,r8a7795': RCAR_GEN3,
  'renesas,r8a779m0': RCAR_GEN3,
  'renesas,r8a779m1': RCAR_GEN3,
  'renesas,r8a779m8': RCAR_GEN3,
  'renesas,r8a779mb': RCAR_GEN3,
  'renesas,r8a7796': RCAR_GEN3,
  'renesas,r8a77961': RCAR_GEN3,
  'renesas,r8a779m2': RCAR_GEN3,
  'renesas,r8a779m3': RCAR_GEN3,
  'renesas,r8a77965': RCAR_GEN3,
  'renesas,r8a779m4': RCAR_GEN3,
  'renesas,r8a779m5': RCAR_GEN3,
  'renesas,r8a77970': RCAR_GEN3,
  'renesas,r8a77980': RCAR_GEN3,
  'renesas,r8a77990': RCAR_GEN3,
  'renesas,r8a779m6': RCAR_GEN3,
  'renesas,r8a77995': RCAR_GEN3,
  'renesas,r8a779m7': RCAR_GEN3,
  'renesas,r8a779a0': RCAR_GEN4,
  'renesas,r8a779f0': RCAR_GEN4,
  'renesas,r8a779g0': RCAR_GEN4,
  'renesas,r8a779h0': RCAR_GEN4,
};

/** soc_needs_opt_in[] */
export const soc_needs_opt_in: readonly SocDeviceAttribute[] = [
  { family: RCAR_GEN3 },
  { family: RCAR_GEN4 },
  { family: RZ_G2 },
];

/** soc_denylist[] */
export const soc_denylist: readonly SocDeviceAttribute[] = [
  { soc_id: 'r8a774a1' },
  { soc_id: 'r8a7795', revision: 'ES2.*' },
  { soc_id: 'r8a7796' },
];

/** devices_allowlist[]: the SDHI controllers, by device name. */
export const devices_allowlist: readonly string[] = [
  'ee100000.mmc',
  'ee120000.mmc',
  'ee140000.mmc',
  'ee160000.mmc',
];

/** of_root, from any node of the tree. */
function of_root(np: Fwnode): Fwnode {
  let n = np;
  while (n.parent) n = n.parent;
  return n;
}

/**
 * The soc device renesas_soc_init() registers for this tree: of_match_node()
 * on the root (its first compatible the table knows), soc_id after the
 * comma; null when it registers none.
 */
export function renesas_soc(np: Fwnode): SocDeviceAttribute | null {
  const match = of_compatible_list(of_root(np)).find((c) => c in renesas_socs);
  if (!match) return null;
  return { family: renesas_socs[match], soc_id: match.slice(match.indexOf(',') + 1) };
}

/** glob_match() (lib/glob.c), for the patterns these tables use: '*', '?' and literals. */
function glob_match(pat: string, str: string): boolean {
  const re = new RegExp(
    '^' +
      pat
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
        .join('') +
      '$',
    's',
  );
  return re.test(str);
}

/** soc_device_match_attr(): every field the entry names must glob-match a field the soc device has. */
function soc_device_match_attr(soc: SocDeviceAttribute, match: SocDeviceAttribute): boolean {
  for (const key of ['family', 'revision', 'soc_id'] as const) {
    const want = match[key];
    if (want === undefined) continue;
    const have = soc[key];
    if (have === undefined || !glob_match(want, have)) return false;
  }
  return true;
}

/** soc_device_match(): the first entry the machine's soc device matches, or null. */
export function soc_device_match(
  soc: SocDeviceAttribute | null,
  matches: readonly SocDeviceAttribute[],
): SocDeviceAttribute | null {
  if (!soc) return null;
  return matches.find((m) => soc_device_match_attr(soc, m)) ?? null;
}

/**
 * ipmmu_device_is_allowed(): SoCs outside R-Car Gen3/Gen4 and RZ/G2 allow
 * every master; on those, a denied SoC allows none, and otherwise only PCI
 * devices and the allowlisted SDHI controllers. `np` is any node of the tree
 * (the soc device comes from its root).
 */
export function ipmmu_device_is_allowed(dev: Device, np: Fwnode): boolean {
  const soc = renesas_soc(np);
  if (!soc_device_match(soc, soc_needs_opt_in)) return true;
  if (soc_device_match(soc, soc_denylist)) return false;
  if (dev_is_pci(dev)) return true;
  return devices_allowlist.includes(dev.name);
}
