// SPDX-License-Identifier: GPL-2.0-only
/**
 * pci_device_group() (drivers/iommu/iommu.c, with get_pci_alias_or_group(),
 * get_pci_alias_group(), get_pci_function_alias_group(); Linux 6.12): the
 * IOMMU group of a PCI function, from topology, ACS and DMA aliases.
 *
 *  1. Walk the function's DMA aliases (search.ts). The first one whose
 *     function already has a group gives the answer; otherwise the last
 *     alias's function is what the IOMMU sees.
 *  2. From there walk up while the bridge above does not isolate (ACS
 *     SV|RR|CR|UF along the whole path to the root bus); each such bridge
 *     stands for the function, and its group, if any, is the answer.
 *  3. Look for a group among same-bus DMA aliases of that function, and
 *     (4) among its multifunction siblings that are not ACS-isolated,
 *     recursively, with a 256-bit devfn bitmap so that each devfn is visited
 *     once (not cleared between 3 and 4).
 *  5. Otherwise allocate a new group.
 *
 * The group's `reasons` gets one line per call saying which of these decided.
 */
import { flat } from '../lib/flat-string.js';
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import type { PciDev } from './pci-dev.js';
import { IommuGroup, iommu_group_alloc, iommu_group_get } from '../iommu/group.js';
import { EINVAL, ERR_PTR, type ErrPtr } from '../kernel/errno.js';
import { PCI_EXP_TYPE_PCI_BRIDGE, pci_is_pcie, pci_pcie_type, ridName } from './pci-dev.js';
import { pci_is_root_bus } from './pci-bus.js';
import { PCI_ACS_CR, PCI_ACS_RR, PCI_ACS_SV, PCI_ACS_UF, acsFlagsText } from './acs-regs.js';
import { acsPathBlocker, acsVerdict, pci_acs_enabled } from './acs.js';
import { pci_devs_are_dma_aliases } from './dma-alias.js';
import { pci_for_each_dma_alias } from './search.js';

/** REQ_ACS_FLAGS: no spoofed requester IDs, no redirected requests or completions, everything goes upstream. */
export const REQ_ACS_FLAGS = PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF;

/** One hop of the alias/sibling search, for the explanation. */
interface Step {
  readonly kind: 'alias' | 'function';
  readonly dev: PciDev;
}

/** The search state: the kernel's devfns bitmap, plus where the search went. */
interface Search {
  readonly devfns: Uint32Array;
  readonly trail: Step[];
  holder: PciDev | null;
}

function test_and_set_bit(nr: number, bitmap: Uint32Array): boolean {
  const word = nr >> 5;
  const bit = 1 << (nr & 31);
  const old = (bitmap[word] & bit) !== 0;
  bitmap[word] |= bit;
  return old;
}

/** get_pci_function_alias_group(): non-isolated functions in the same slot, and their aliases. */
function get_pci_function_alias_group(pdev: PciDev, s: Search): IommuGroup | null {
  if (!pdev.multifunction || pci_acs_enabled(pdev, REQ_ACS_FLAGS)) return null;
  for (const tmp of pdev.bus.devices) {
    if (tmp === pdev || tmp.slot !== pdev.slot || pci_acs_enabled(tmp, REQ_ACS_FLAGS)) continue;
    s.trail.push({ kind: 'function', dev: tmp });
    const group = get_pci_alias_group(tmp, s);
    if (group) return group;
    s.trail.pop();
  }
  return null;
}

/** get_pci_alias_group(): pdev's group, or that of a same-bus function it aliases or that aliases it. */
function get_pci_alias_group(pdev: PciDev, s: Search): IommuGroup | null {
  if (test_and_set_bit(pdev.devfn & 0xff, s.devfns)) return null;
  const found = iommu_group_get(pdev.dev);
  if (found) {
    s.holder = pdev;
    return found;
  }
  for (const tmp of pdev.bus.devices) {
    if (tmp === pdev || !pci_devs_are_dma_aliases(pdev, tmp)) continue;
    s.trail.push({ kind: 'alias', dev: tmp });
    const group = get_pci_alias_group(tmp, s) ?? get_pci_function_alias_group(tmp, s);
    if (group) return group;
    s.trail.pop();
  }
  return null;
}

/** Why a bridge's transactions carry `alias` rather than the function's own ID. */
function aliasCause(owner: PciDev, alias: number, start: PciDev): string {
  if (owner === start) return `its own requester ID ${ridName(alias)}`;
  if (start.real_dma_dev === owner)
    return `${owner.name}'s requester ID ${ridName(alias)} (the platform's real DMA device)`;
  if (pci_is_pcie(owner) && pci_pcie_type(owner) === PCI_EXP_TYPE_PCI_BRIDGE)
    return `${ridName(alias)}, as PCIe-to-PCI bridge ${owner.name} tags it`;
  if (owner.subordinate && alias >> 8 === owner.subordinate.number)
    return `${ridName(alias)}, as bridge ${owner.name} (a PCIe-to-PCI bridge in disguise) tags it`;
  return `${ridName(alias)}, the ID of bridge ${owner.name}, which takes the transactions over`;
}

/** "does not isolate (why)" for the bridge above, naming the function where the ACS path breaks. */
function bridgeVerdict(bridge: PciDev): string {
  const blocker = acsPathBlocker(bridge, null, REQ_ACS_FLAGS)!;
  const why = acsVerdict(blocker, REQ_ACS_FLAGS).why;
  return blocker === bridge ? `(${why})` : `(ACS path broken at ${blocker.name}: ${why})`;
}

function trailText(trail: readonly Step[]): string {
  const one = (st: Step, named: boolean) =>
    st.kind === 'function'
      ? `multifunction sibling${named ? ` ${st.dev.name}` : ''} without ACS isolation`
      : `DMA alias${named ? ` ${st.dev.name}` : ''}`;
  if (trail.length === 0) return 'its own';
  if (trail.length === 1) return one(trail[0], false);
  return trail.map((st) => one(st, true)).join(', then ');
}

/** The functions on the ACS path from `from` up that a quirk vouches for (not their ACS capability), as " (…)". */
function quirkedOnPath(from: PciDev): string {
  const named: string[] = [];
  for (let f: PciDev | null = from; f; f = f.bus.self) {
    const why = acsVerdict(f, REQ_ACS_FLAGS).why;
    if (why.includes(' vouches for ')) named.push(`${f.name}: ${why}`);
  }
  return named.length ? ` (${named.join('; ')})` : '';
}

/** Why a new group: what isolates the function that stands for dev. */
function isolationText(pdev: PciDev, isolatedBy: PciDev | null): string {
  const above = isolatedBy
    ? `the ACS path from ${isolatedBy.name} to the root bus provides ${acsFlagsText(REQ_ACS_FLAGS)}${quirkedOnPath(isolatedBy)}`
    : `${pdev.name} sits on the root bus`;
  const fn = !pdev.multifunction
    ? 'single function'
    : pci_acs_enabled(pdev, REQ_ACS_FLAGS)
      ? `multifunction, isolated: ${acsVerdict(pdev, REQ_ACS_FLAGS).why}`
      : 'multifunction, but no sibling or alias has a group yet';
  return `${above}; ${fn}`;
}

/** pci_device_group(): find or allocate the group for a PCI function. */
export function pci_device_group(k: Kernel, dev: Device): IommuGroup | ErrPtr {
  if (k.printk.warn(!dev.pci, 'pci_device_group', 'WARN_ON(!dev_is_pci(dev))', dev.name))
    return ERR_PTR(-EINVAL);
  const start = dev.pci!;
  const how: string[] = [];
  const done = (group: IommuGroup | ErrPtr, last: string): IommuGroup | ErrPtr => {
    if (group instanceof IommuGroup) group.reasons.push(flat`${dev.name}: ${[...how, last].join('; ')}`);
    return group;
  };

  // 1. The DMA alias chain (get_pci_alias_or_group()).
  let data: { pdev: PciDev; alias: number; group: IommuGroup | null } = {
    pdev: start,
    alias: -1,
    group: null,
  };
  if (
    pci_for_each_dma_alias(start, (pdev, alias) => {
      data = { pdev, alias, group: iommu_group_get(pdev.dev) };
      return data.group !== null ? 1 : 0;
    })
  ) {
    const holder = data.pdev;
    return done(
      data.group!,
      holder === start
        ? 'already in this group'
        : `its DMA carries ${aliasCause(holder, data.alias, start)}; joins ${holder.name}'s group`,
    );
  }
  let pdev = data.pdev;
  if (pdev !== start) how.push(`its DMA carries ${aliasCause(pdev, data.alias, start)}`);

  // 2. Up to the first bridge whose ACS path isolates.
  let isolatedBy: PciDev | null = null;
  for (let bus = pdev.bus; !pci_is_root_bus(bus); bus = bus.parent!) {
    if (!bus.self) continue;
    if (acsPathBlocker(bus.self, null, REQ_ACS_FLAGS) === null) {
      isolatedBy = bus.self;
      break;
    }
    how.push(`upstream bridge ${bus.self.name} does not isolate ${bridgeVerdict(bus.self)}`);
    pdev = bus.self;
    const group = iommu_group_get(pdev.dev);
    if (group) return done(group, `shares ${pdev.name}'s group`);
  }

  // 3 and 4. Aliases and non-isolated sibling functions of the function that stands for dev.
  const s: Search = { devfns: new Uint32Array(8), trail: [], holder: null };
  const group = get_pci_alias_group(pdev, s) ?? get_pci_function_alias_group(pdev, s);
  if (group) {
    const who = pdev === start ? '' : `${pdev.name} `;
    return done(group, `${who}shares ${s.holder!.name}'s group: ${trailText(s.trail)}`);
  }

  // 5. A new group.
  const subject =
    pdev === start ? 'a new group' : `a new group: ${pdev.name} stands for it and has no group yet`;
  return done(iommu_group_alloc(k), `${subject} (${isolationText(pdev, isolatedBy)})`);
}
