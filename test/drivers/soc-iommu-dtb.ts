// SPDX-License-Identifier: GPL-2.0-only
// Small device trees for the SoC IOMMU driver tests (rockchip-iommu,
// exynos-iommu): a root with 1-cell addresses and sizes, a GIC (3 interrupt
// cells, the root's interrupt-parent) and a clock controller (1 clock
// cell), plus whatever IOMMU and master nodes a test adds. Written out as
// DTB files so that they boot through the public API like the fixtures.
import { writeFileSync } from 'node:fs';
import { scratchDir } from '../support/scratch.js';
import { join } from 'node:path';
import { buildFdt, type TreeSpec } from '../support/fdt-build.js';

export const GIC_PHANDLE = 1;
export const CLK_PHANDLE = 2;

export const cells = (...v: number[]): Uint8Array => {
  const b = new Uint8Array(v.length * 4);
  v.forEach((x, i) => new DataView(b.buffer).setUint32(i * 4, x));
  return b;
};
export const str = (...s: string[]): Uint8Array =>
  Uint8Array.from(s.flatMap((x) => [...x].map((c) => c.charCodeAt(0)).concat(0)));
export const empty = (): Uint8Array => new Uint8Array(0);

export type Props = Record<string, Uint8Array>;

export function node(name: string, props: Props, children: TreeSpec[] = []): TreeSpec {
  return { name, props: Object.entries(props), children };
}

/** One interrupt: SPI `n`, level high. */
export const spi = (n: number): Uint8Array => cells(0, n, 4);
/** `clocks` entries on the clock controller, one per id. */
export const clocks = (...ids: number[]): Uint8Array => cells(...ids.flatMap((id) => [CLK_PHANDLE, id]));

/** The root: the GIC, the clock controller and `nodes`. */
export function socTree(nodes: TreeSpec[]): TreeSpec {
  return node(
    '',
    {
      compatible: str('test,soc'),
      '#address-cells': cells(1),
      '#size-cells': cells(1),
      'interrupt-parent': cells(GIC_PHANDLE),
    },
    [
      node('interrupt-controller@1000', {
        compatible: str('arm,gic-400'),
        reg: cells(0x1000, 0x1000),
        'interrupt-controller': empty(),
        '#interrupt-cells': cells(3),
        phandle: cells(GIC_PHANDLE),
      }),
      node('clock-controller@2000', {
        compatible: str('test,cru'),
        reg: cells(0x2000, 0x1000),
        '#clock-cells': cells(1),
        phandle: cells(CLK_PHANDLE),
      }),
      ...nodes,
    ],
  );
}

const dir = scratchDir('iommu-lab-soc-');
let seq = 0;

/** Writes the tree as a DTB and returns its path. */
export function writeDtb(spec: TreeSpec): string {
  const p = join(dir, `soc${seq++}.dtb`);
  writeFileSync(p, buildFdt(spec));
  return p;
}
