// SPDX-License-Identifier: GPL-2.0-only
// Small device trees for tests, written like DTS: node('iommu@1000', { compatible:
// 'arm,mmu-500', reg: [0, 0x1000, 0, 0x1000], 'dma-coherent': true }, [...children]).
// Numbers and number arrays are cells, strings and string arrays are string
// lists, `true` an empty property. dtbFile() writes the blob to a fresh
// temporary file, since boots read their inputs from files.
import { writeFileSync } from 'node:fs';
import { scratchDir } from './scratch.js';
import { join } from 'node:path';
import { buildFdt, type TreeSpec } from './fdt-build.js';

export type DtValue = number | number[] | string | string[] | true;

function encode(v: DtValue): Uint8Array {
  if (v === true) return new Uint8Array(0);
  if (typeof v === 'number' || (Array.isArray(v) && typeof v[0] === 'number')) {
    const list = typeof v === 'number' ? [v] : (v as number[]);
    const b = new Uint8Array(list.length * 4);
    list.forEach((x, i) => new DataView(b.buffer).setUint32(i * 4, x >>> 0));
    return b;
  }
  const list = typeof v === 'string' ? [v] : (v as string[]);
  return Uint8Array.from(list.flatMap((s) => [...[...s].map((c) => c.charCodeAt(0)), 0]));
}

export function node(name: string, props: Record<string, DtValue> = {}, children: TreeSpec[] = []): TreeSpec {
  return { name, props: Object.entries(props).map(([k, v]) => [k, encode(v)]), children };
}

/** A root node with 2 address and 2 size cells, interrupts going to phandle 1 (gic()), around `children`. */
export function root(children: TreeSpec[], props: Record<string, DtValue> = {}): TreeSpec {
  return node(
    '',
    { '#address-cells': 2, '#size-cells': 2, compatible: 'test,board', 'interrupt-parent': 1, ...props },
    children,
  );
}

export function dtbFile(tree: TreeSpec, name = 'test.dtb'): string {
  const dir = scratchDir('iommu-lab-dt-');
  const path = join(dir, name);
  writeFileSync(path, buildFdt(tree));
  return path;
}

/** A GIC with three interrupt cells, phandle 1, for nodes that count their interrupts. */
export function gic(): TreeSpec {
  return node('interrupt-controller@8000000', {
    compatible: 'arm,gic-400',
    '#interrupt-cells': 3,
    'interrupt-controller': true,
    reg: [0, 0x8000000, 0, 0x10000],
    phandle: 1,
  });
}

/** `interrupts` cells for n SPIs. */
export function spis(n: number, first = 32): number[] {
  return Array.from({ length: n }, (_, i) => [0, first + i, 4]).flat();
}
