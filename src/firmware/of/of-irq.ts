// SPDX-License-Identifier: GPL-2.0-only
/**
 * A device-tree node's interrupts (drivers/of/irq.c, Linux 6.12):
 * of_irq_parse_one() of one specifier, `interrupts-extended` first (each entry
 * sized by its controller's #interrupt-cells), else `interrupts` in units of
 * the #interrupt-cells of the node's interrupt parent (of_irq_find_parent():
 * its `interrupt-parent`, or the nearest ancestor's, up to a node that has
 * #interrupt-cells); of_irq_count() of the specifiers that parse; of_irq_get()
 * as platform_get_irq() uses it. Drivers that size themselves by their
 * interrupts (arm-smmu counts its context banks' interrupts) read the count.
 *
 * Not modelled: interrupt-map translation (of_irq_parse_raw()) and the irq
 * domains: a specifier that parses maps, as if its controller's driver were
 * bound (so the -EPROBE_DEFER of a missing domain never occurs).
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Fwnode } from '../../base/fwnode.js';
import { EINVAL } from '../../kernel/errno.js';
import { of_find_node_by_phandle, of_parse_phandle_with_args } from './of-base.js';

function u32(np: Fwnode, name: string): number | undefined {
  const v = np.properties.get(name);
  return Array.isArray(v) && typeof v[0] === 'number' ? v[0] : undefined;
}

/** of_irq_find_parent(): the interrupt controller `interrupts` of `np` are for, or null. */
export function of_irq_find_parent(k: Kernel, np: Fwnode): Fwnode | null {
  let child: Fwnode | null = np;
  // Bounded by the depth of the tree plus the phandle hops the tree can make (a loop ends it).
  const seen = new Set<Fwnode>();
  while (child && !seen.has(child)) {
    seen.add(child);
    const ph = u32(child, 'interrupt-parent');
    const p: Fwnode | null = ph !== undefined ? of_find_node_by_phandle(k, ph) : child.parent;
    if (!p) return null;
    if (p.properties.has('#interrupt-cells')) return p;
    child = p;
  }
  return null;
}

/**
 * of_irq_parse_one(np, index): 0 when the index-th specifier parses, else
 * -EINVAL. A zero #interrupt-cells parses nothing (the kernel would take
 * every index).
 */
export function of_irq_parse_one(k: Kernel, np: Fwnode, index: number): number {
  if (typeof of_parse_phandle_with_args(k, np, 'interrupts-extended', '#interrupt-cells', index) !== 'number')
    return 0;
  const parent = of_irq_find_parent(k, np);
  const intsize = parent ? u32(parent, '#interrupt-cells') : undefined;
  if (!intsize) return -EINVAL;
  const ints = np.properties.get('interrupts');
  return Array.isArray(ints) && ints.length >= (index + 1) * intsize ? 0 : -EINVAL;
}

/** of_irq_count(): how many specifiers of_irq_parse_one() parses, from index 0 on. */
export function of_irq_count(k: Kernel, np: Fwnode): number {
  let n = 0;
  while (of_irq_parse_one(k, np, n) === 0) n++;
  return n;
}

/**
 * of_irq_get(np, index): a Linux IRQ number (> 0) or a negative errno. The
 * model has no irq domains to allocate virqs from: index + 1 stands for the
 * number irq_create_of_mapping() would give.
 */
export function of_irq_get(k: Kernel, np: Fwnode, index: number): number {
  const ret = of_irq_parse_one(k, np, index);
  return ret ? ret : index + 1;
}
