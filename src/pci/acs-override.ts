// SPDX-License-Identifier: GPL-2.0-only
/**
 * The out-of-tree "ACS override" patch many VFIO users run (Alex
 * Williamson's 2013 "pci: Enable overrides for missing ACS capabilities",
 * carried by the linux-zen, Liquorix, CachyOS and Proxmox VE kernels; never
 * merged): `pcie_acs_override=` makes functions without an ACS capability
 * claim they isolate, so the IOMMU groups split where the hardware may in
 * fact let devices talk to each other behind the IOMMU's back.
 *
 * The patch adds pcie_acs_override_setup() (an early_param: comma-separated
 * `downstream`, `multifunction`, `id:VVVV:DDDD`, up to 16 ids) and
 * pcie_acs_overrides(), the last entry of pci_dev_acs_enabled[] (any vendor,
 * any device), so every in-tree quirk has its say first. It answers "all
 * controls provided" for a PCIe function without an ACS capability that is
 * one of the ids, or a root or downstream port under `downstream`, or a
 * multifunction endpoint (or upstream port, legacy or RC endpoint) under
 * `multifunction`; otherwise it has no opinion.
 *
 * Modelled behind Kconfig PCIE_ACS_OVERRIDE (`--kconfig PCIE_ACS_OVERRIDE=y`,
 * "a kernel with the patch"). A mainline kernel does not know the parameter
 * and says so at boot, which the model prints too.
 */
import type { Kernel } from '../kernel/kernel.js';
import { ENOTTY } from '../kernel/errno.js';
import type { PciDev } from './pci-dev.js';
import {
  PCI_EXP_TYPE_DOWNSTREAM,
  PCI_EXP_TYPE_ENDPOINT,
  PCI_EXP_TYPE_LEG_END,
  PCI_EXP_TYPE_RC_END,
  PCI_EXP_TYPE_ROOT_PORT,
  PCI_EXP_TYPE_UPSTREAM,
  pci_is_pcie,
  pci_pcie_type,
} from './pci-dev.js';

/** The patch's NUM_ACS_IDS. */
const NUM_ACS_IDS = 16;

export interface AcsOverride {
  /** acs_on_downstream */
  readonly downstream: boolean;
  /** acs_on_multifunction */
  readonly multifunction: boolean;
  /** acs_on_ids[] */
  readonly ids: readonly { readonly vendor: number; readonly device: number }[];
}

/**
 * pcie_acs_override_setup(): the parameter's options, or null when the kernel
 * does not have the patch (then the boot log says the parameter is unknown).
 */
export function parseAcsOverride(k: Kernel): AcsOverride | null {
  const param = k.cmdline.params.get('pcie_acs_override');
  if (param === undefined) return null;
  const value: string = param;
  if (!k.kconfig.PCIE_ACS_OVERRIDE) {
    // init/main.c's print_unknown_bootoptions(): an unknown parameter with a value goes to init's environment.
    k.printk.log(
      'info',
      'kernel',
      `Unknown kernel command line parameters "pcie_acs_override=${value}", will be passed to user space.`,
    );
    return null;
  }
  let downstream = false;
  let multifunction = false;
  const ids: { vendor: number; device: number }[] = [];
  // kstrtol(opt, 16) of the (at most) 4 characters snprintf(opt, 5, …) keeps: a sign, a 0x
  // prefix and a final newline allowed, else -EINVAL; stored in an unsigned short.
  const hex4 = (s: string): number | null => {
    const m = /^([+-]?)(?:0[xX])?([0-9a-fA-F]+)\n?$/.exec(s.slice(0, 4));
    if (!m) return null;
    const v = parseInt(m[2], 16);
    return (m[1] === '-' ? -v : v) & 0xffff;
  };
  // The patch walks the string: at each option's start it tests the words by prefix (with no
  // else, so unknown options pass without a word), parses an id, then skips past the next comma.
  for (let p = 0; p < value.length;) {
    const here = value.slice(p);
    if (here.startsWith('downstream')) downstream = true;
    if (here.startsWith('multifunction')) multifunction = true;
    if (here.startsWith('id:')) p = parseId(p + 3);
    const comma = value.indexOf(',', p);
    p = comma < 0 ? value.length : comma + 1;
  }
  /** One id: at p (just past "id:"); where the patch's pointer ends. */
  function parseId(p: number): number {
    // max_acs_id >= NUM_ACS_IDS - 1: the last slot is never used.
    if (ids.length >= NUM_ACS_IDS - 1) {
      k.printk.log('warn', 'kernel', `Out of PCIe ACS override slots (${NUM_ACS_IDS})`);
      return p - 3;
    }
    const vendor = hex4(value.slice(p));
    if (vendor === null) {
      k.printk.log('warn', 'kernel', 'PCIe ACS ID parse error -22');
      return p;
    }
    const colon = value.indexOf(':', p);
    if (colon < 0) {
      k.printk.log('warn', 'kernel', 'PCIe ACS invalid ID');
      return value.length;
    }
    const device = hex4(value.slice(colon + 1));
    if (device === null) {
      k.printk.log('warn', 'kernel', 'PCIe ACS ID parse error -22');
      return colon + 1;
    }
    ids.push({ vendor, device });
    return colon + 1;
  }
  if (downstream || multifunction || ids.length)
    k.printk.log(
      'warn',
      'kernel',
      'Warning: PCIe ACS overrides enabled; This may allow non-IOMMU protected peer-to-peer DMA',
    );
  return { downstream, multifunction, ids };
}

/** pcie_acs_overrides(): 1 (every control provided) or -ENOTTY (no opinion), with the reason. */
export function pcieAcsOverrides(o: AcsOverride, pdev: PciDev): { ret: number; why: string } {
  const none = { ret: -ENOTTY, why: '' };
  // Never for conventional PCI, nor for a function that has the capability.
  if (!pci_is_pcie(pdev) || pdev.acs_cap) return none;
  const hex4 = (v: number) => v.toString(16).padStart(4, '0');
  if (o.ids.some((i) => i.vendor === pdev.vendor && i.device === pdev.device))
    return { ret: 1, why: `pcie_acs_override=id:${hex4(pdev.vendor)}:${hex4(pdev.device)}` };
  switch (pci_pcie_type(pdev)) {
    case PCI_EXP_TYPE_DOWNSTREAM:
    case PCI_EXP_TYPE_ROOT_PORT:
      if (o.downstream) return { ret: 1, why: 'pcie_acs_override=downstream' };
      break;
    case PCI_EXP_TYPE_ENDPOINT:
    case PCI_EXP_TYPE_UPSTREAM:
    case PCI_EXP_TYPE_LEG_END:
    case PCI_EXP_TYPE_RC_END:
      if (o.multifunction && pdev.multifunction) return { ret: 1, why: 'pcie_acs_override=multifunction' };
  }
  return none;
}
