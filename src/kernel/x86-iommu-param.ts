// SPDX-License-Identifier: GPL-2.0-only
/**
 * x86's `iommu=` early parameter (arch/x86/kernel/pci-dma.c iommu_setup()):
 * comma-separated words, each tested as a prefix of what is left of the
 * string (strncmp), so "offline" counts as "off". The words the model acts
 * on: `off` sets no_iommu, after which neither AMD-Vi (amd_iommu_detect())
 * nor VT-d (detect_intel_iommu(), intel_iommu_init()) is set up; `pt` and
 * `nopt` set the default domain type, the later word winning; `usedac`
 * ends the parse. Every iommu= on the line is parsed in turn, as
 * early_param() handlers run per occurrence. The rest
 * (force, merge, soft, panic, GART options …) concern DMA paths the model
 * does not have. Other architectures have no such parameter.
 */
import type { Kernel } from './kernel.js';

export interface X86IommuParam {
  /** no_iommu */
  readonly noIommu: boolean;
  /** The last of pt (true) and nopt (false); null when neither was given. */
  readonly passthrough: boolean | null;
}

const parsed = new WeakMap<Kernel, X86IommuParam>();

/**
 * iommu_setup() over the command line's iommu= (none, and every non-x86
 * machine: nothing set), parsed once per kernel as the kernel does at boot.
 */
export function x86_iommu_setup(k: Kernel): X86IommuParam {
  let done = parsed.get(k);
  if (!done) parsed.set(k, (done = parse(k)));
  return done;
}

function parse(k: Kernel): X86IommuParam {
  let noIommu = false;
  let passthrough: boolean | null = null;
  if (k.arch !== 'x86_64') return { noIommu, passthrough };
  // Once per iommu= on the line: nothing clears no_iommu once an occurrence set it.
  for (const value of k.cmdline.all.get('iommu') ?? []) {
    let p = value;
    while (p.length > 0) {
      if (p.startsWith('off')) noIommu = true;
      if (p.startsWith('pt')) passthrough = true;
      if (p.startsWith('nopt')) passthrough = false;
      // "usedac" ends this occurrence's parse.
      if (p.startsWith('usedac')) break;
      const comma = p.indexOf(',');
      p = comma < 0 ? '' : p.slice(comma + 1);
    }
  }
  return { noIommu, passthrough };
}
