// SPDX-License-Identifier: GPL-2.0-only
/**
 * Builds the device-tree model (Fwnodes of kind 'of') from a platform
 * description's `of` nodes: paths become a tree, `&label`/`&/path` cells
 * become phandles (allocated for nodes that are referenced and have none),
 * and every node is registered for of_find_node_by_phandle().
 */
import type { Kernel } from '../kernel/kernel.js';
import type { OfNodeDesc } from './schema.js';
import { Fwnode } from '../base/fwnode.js';
import { InputError } from '../input/input-error.js';

export function buildOfTree(k: Kernel, nodes: readonly OfNodeDesc[], file: string): Map<string, Fwnode> {
  const byPath = new Map<string, Fwnode>();
  const byLabel = new Map<string, Fwnode>();
  const root = new Fwnode('of', '/');
  byPath.set('/', root);
  const ensure = (path: string): Fwnode => {
    let n = byPath.get(path);
    if (n) return n;
    const cut = path.lastIndexOf('/');
    const parent = ensure(cut <= 0 ? '/' : path.slice(0, cut));
    n = new Fwnode('of', path);
    n.parent = parent;
    parent.children.push(n);
    byPath.set(path, n);
    return n;
  };
  nodes.forEach((d, i) => {
    if (byPath.has(d.path) && d.path !== '/') {
      throw new InputError(file, `of[${i}].path`, `node ${d.path} is described twice`);
    }
    const n = ensure(d.path);
    if (d.label) {
      if (byLabel.has(d.label))
        throw new InputError(file, `of[${i}].label`, `label "${d.label}" is used twice`);
      byLabel.set(d.label, n);
    }
  });
  let nextPhandle = 1;
  const used = new Set<number>();
  nodes.forEach((d, i) => {
    const ph = d.props?.phandle;
    if (Array.isArray(ph) && typeof ph[0] === 'number') {
      if (used.has(ph[0]))
        throw new InputError(file, `of[${i}].props.phandle`, `phandle ${ph[0]} is used twice`);
      used.add(ph[0]);
      byPath.get(d.path)!.properties.set('phandle', [ph[0]]);
      k.base.ofPhandles.set(ph[0], byPath.get(d.path)!);
    }
  });
  const phandleOf = (ref: string, where: string): number => {
    const name = ref.slice(1);
    const target = name.startsWith('/') ? byPath.get(name) : byLabel.get(name);
    if (!target) throw new InputError(file, where, `reference ${ref} names no node`);
    const existing = target.properties.get('phandle');
    if (Array.isArray(existing)) return existing[0];
    while (used.has(nextPhandle)) nextPhandle++;
    const ph = nextPhandle++;
    used.add(ph);
    target.properties.set('phandle', [ph]);
    k.base.ofPhandles.set(ph, target);
    return ph;
  };
  nodes.forEach((d, i) => {
    const n = byPath.get(d.path)!;
    if (d.compatible !== undefined)
      n.properties.set('compatible', Array.isArray(d.compatible) ? d.compatible.join('\0') : d.compatible);
    if (d.status !== undefined) n.properties.set('status', d.status);
    for (const [name, value] of Object.entries(d.props ?? {})) {
      if (name === 'phandle') continue;
      if (Array.isArray(value)) {
        n.properties.set(
          name,
          value.map((c, j) => (typeof c === 'string' ? phandleOf(c, `of[${i}].props.${name}[${j}]`) : c)),
        );
      } else {
        n.properties.set(name, value);
      }
    }
  });
  return byPath;
}
