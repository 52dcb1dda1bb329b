// SPDX-License-Identifier: GPL-2.0-only
/**
 * Turning ACS on at enumeration (drivers/pci/pci.c pci_acs_init(),
 * pci_enable_acs(), pci_std_enable_acs(), __pci_config_acs(); Linux 6.12).
 *
 * Each function gets this once, from pci_init_capabilities() when it is
 * added. Only if an IOMMU driver called pci_request_acs() before that moment
 * does the kernel set SV, RR, CR and UF (and TB for untrusted or
 * external-facing ports, or with pci=noats), each only if the capability
 * register has it. So QEMU's pcie-root-port (ACS cap 0x005f) ends up with
 * ACSCtl 0x001d under DMAR/IVRS/IORT/VIOT, and keeps 0x0000 under a device
 * tree, where of_iommu_configure() requests ACS only at the first driver
 * probe, after enumeration. pci=config_acs= and pci=disable_acs_redir= apply
 * whether or not ACS was requested, starting from the firmware's value.
 */
import type { PciDev } from './pci-dev.js';
import {
  PCI_ACS_CR,
  PCI_ACS_DT,
  PCI_ACS_EC,
  PCI_ACS_RR,
  PCI_ACS_SV,
  PCI_ACS_TB,
  PCI_ACS_UF,
} from './acs-regs.js';
import { acsQuirks, evalAcsQuirk, pci_dev_specific_enable_acs } from './acs-quirks.js';
import { pci_dev_str_match } from './pci-str-match.js';
import { PCI_VENDOR_ID_INTEL } from './ids.js';
import { ENOTTY } from '../kernel/errno.js';

interface PciAcs {
  cap: number;
  ctrl: number;
  fw_ctrl: number;
}

const log = (pdev: PciDev, level: 'info' | 'err', msg: string) =>
  pdev.bus.core.k.printk.log(level, pdev.name, msg);

const hex = (v: number) => `0x${v.toString(16).padStart(4, '0')}`;

/** Whether the function is a Sunrise/Union Point root port with its ACS control in a dword. */
function isSptRootPort(pdev: PciDev): boolean {
  return (
    pdev.vendor === PCI_VENDOR_ID_INTEL && evalAcsQuirk(acsQuirks.pci_quirk_intel_spt_pch_acs, pdev, 0) >= 0
  );
}

/** pci_dev_specific_disable_acs_redir(): only the SPT quirk has one. */
function pci_dev_specific_disable_acs_redir(pdev: PciDev): number {
  if (!isSptRootPort(pdev)) return -ENOTTY;
  pdev.acsControl &= ~(PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC);
  log(pdev, 'info', 'Intel SPT PCH root port workaround: disabled ACS redirect');
  return 0;
}

/** pci_std_enable_acs() */
function pci_std_enable_acs(pdev: PciDev, caps: PciAcs): void {
  caps.ctrl |= caps.cap & (PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF);
  if (pdev.bus.core.ats_disabled || pdev.external_facing || pdev.untrusted)
    caps.ctrl |= caps.cap & PCI_ACS_TB;
}

/**
 * __pci_config_acs(): applies "flags@device;flags@device..." (config_acs=,
 * acs_mask 0) or "device;device..." with a fixed mask (disable_acs_redir=)
 * to the first entry naming the function. Flag strings are read right to
 * left, bit 0 (SV) last: '1' sets, '0' clears, 'x' keeps the firmware value.
 */
function __pci_config_acs(
  pdev: PciDev,
  caps: PciAcs,
  p: string | null,
  acs_mask: number,
  acs_flags: number,
): void {
  if (p === null) return;
  let flags = acs_flags;
  let mask = acs_mask;
  let pos = 0;
  let ret = 0;
  while (pos < p.length) {
    if (!acs_mask) {
      const at = p.indexOf('@', pos);
      if (at < 0) return log(pdev, 'err', 'ACS Flags missing');
      mask = 0;
      flags = 0;
      for (let i = at - 1, bit = 0; i >= pos; i--) {
        const c = p[i];
        if (c === '0') mask |= 1 << bit++;
        else if (c === '1') {
          mask |= 1 << bit;
          flags |= 1 << bit++;
        } else if (c === 'x' || c === 'X') bit++;
        else return log(pdev, 'err', 'Invalid ACS flags... Ignoring');
      }
      pos = at + 1;
    }
    const allowed = PCI_ACS_SV | PCI_ACS_TB | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF | PCI_ACS_EC | PCI_ACS_DT;
    if (mask & ~allowed) return log(pdev, 'err', 'Invalid ACS flags specified');
    const m = pci_dev_str_match(pdev, p, pos);
    ret = m.ret;
    pos = m.end;
    if (ret < 0) {
      pdev.bus.core.k.printk.log('info', 'PCI', "Can't parse ACS command line parameter");
      break;
    }
    if (ret === 1) break;
    if (p[pos] !== ';' && p[pos] !== ',') break;
    pos++;
  }
  if (ret !== 1) return;
  if (!pci_dev_specific_disable_acs_redir(pdev)) return;
  caps.ctrl = ((caps.fw_ctrl & ~mask) | (flags & mask)) & 0xffff;
  log(pdev, 'info', `Configured ACS to ${hex(caps.ctrl)}`);
}

/** pci_enable_acs() */
export function pci_enable_acs(pdev: PciDev): void {
  const core = pdev.bus.core;
  let enable_acs = false;
  if (core.acs_enable) {
    const tb = core.ats_disabled || pdev.external_facing || pdev.untrusted;
    if (pci_dev_specific_enable_acs(pdev, tb, (msg) => log(pdev, 'info', msg))) enable_acs = true;
  }
  if (!pdev.acs_cap) return;

  const caps: PciAcs = { cap: pdev.acsCapability, ctrl: pdev.acsControl, fw_ctrl: pdev.acsControl };
  if (enable_acs) pci_std_enable_acs(pdev, caps);
  __pci_config_acs(
    pdev,
    caps,
    core.disable_acs_redir_param,
    PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC,
    ~(PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_EC) & 0xffff,
  );
  __pci_config_acs(pdev, caps, core.config_acs_param, 0, 0);
  // The SPT root ports' control is the dword their quirks already wrote; the
  // word the kernel writes back at PCI_ACS_CTRL is not modelled for them.
  if (!isSptRootPort(pdev)) pdev.acsControl = caps.ctrl;
}

/** pci_acs_init(): called for every function as it is added (pci_init_capabilities()). */
export function pci_acs_init(pdev: PciDev): void {
  // dev->acs_cap was found when the capability list was read; enable even without
  // one, since the Intel PCH quirk provides ACS without the capability.
  pci_enable_acs(pdev);
}
