// SPDX-License-Identifier: GPL-2.0-only
/**
 * Matching a PCI function against a kernel-parameter string
 * (drivers/pci/pci.c pci_dev_str_match(), pci_dev_str_match_path()):
 *
 *   [<domain>:]<bus>:<device>.<func>[/<device>.<func>]*
 *   pci:<vendor>:<device>[:<subvendor>:<subdevice>]      (0 matches anything)
 *
 * Numbers are hex, as sscanf("%x") reads them (a "0x" prefix is accepted).
 */
import type { PciDev } from './pci-dev.js';
import { PCI_DEVFN } from './pci-dev.js';
import { pci_upstream_bridge } from './pci-bus.js';
import { EINVAL } from '../kernel/errno.js';

export interface StrMatch {
  /** 1: matches, 0: does not, -EINVAL: cannot be parsed. */
  readonly ret: number;
  /** Where the matched text ends in the input (the kernel's *endptr). */
  readonly end: number;
}

const HEX = '(?:0[xX])?[0-9a-fA-F]+';

/** pci_dev_str_match_path(): text is the path up to the next ';'. */
function matchPath(pdev: PciDev, text: string): number {
  let dev: PciDev | null = pdev;
  const parts = text.split('/');
  const head = parts.shift()!;
  for (const hop of parts.reverse()) {
    const m = new RegExp(`^(${HEX})\\.(${HEX})$`).exec(hop);
    if (!m) return -EINVAL;
    if (dev.devfn !== PCI_DEVFN(parseInt(m[1], 16), parseInt(m[2], 16))) return 0;
    dev = pci_upstream_bridge(dev);
    if (!dev) return 0;
  }
  let m = new RegExp(`^(${HEX}):(${HEX}):(${HEX})\\.(${HEX})$`).exec(head);
  let seg = 0;
  let nums: number[];
  if (m) {
    seg = parseInt(m[1], 16);
    nums = [m[2], m[3], m[4]].map((s) => parseInt(s, 16));
  } else {
    m = new RegExp(`^(${HEX}):(${HEX})\\.(${HEX})$`).exec(head);
    if (!m) return -EINVAL;
    nums = [m[1], m[2], m[3]].map((s) => parseInt(s, 16));
  }
  const [bus, slot, func] = nums;
  return seg === dev.segment && bus === dev.busNr && dev.devfn === PCI_DEVFN(slot, func) ? 1 : 0;
}

/** pci_dev_str_match(): does text (from `start`) name pdev? */
export function pci_dev_str_match(pdev: PciDev, text: string, start = 0): StrMatch {
  const p = text.slice(start);
  if (p.startsWith('pci:')) {
    const m = new RegExp(`^pci:(${HEX}):(${HEX})(?::(${HEX}):(${HEX}))?`).exec(p);
    if (!m) return { ret: -EINVAL, end: start };
    const [vendor, device, subVendor, subDevice] = [m[1], m[2], m[3] ?? '0', m[4] ?? '0'].map(
      (s) => parseInt(s, 16) & 0xffff,
    );
    const ok =
      (!vendor || vendor === pdev.vendor) &&
      (!device || device === pdev.device) &&
      (!subVendor || subVendor === pdev.subsystem_vendor) &&
      (!subDevice || subDevice === pdev.subsystem_device);
    return { ret: ok ? 1 : 0, end: start + m[0].length };
  }
  const semi = p.indexOf(';');
  const path = semi < 0 ? p : p.slice(0, semi);
  const ret = matchPath(pdev, path);
  return { ret, end: start + path.length };
}
