// SPDX-License-Identifier: GPL-2.0-only
// The FDT parser against dtc: every DTB in shared/fixtures/dtb (two of them
// gzip-compressed QEMU dumps) printed as source must be byte for byte what
// `dtc -I dtb -O dts` prints, node for node and property for property. The
// committed oracle is the SHA-256 of dtc 1.6.1's output (regenerate with
// gen-dtc-expectations.sh); where dtc is installed the texts are compared
// directly too, so a difference shows as a diff.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parseFdt } from '../../../src/firmware/fdt/fdt-parse.js';
import { fdtToSource } from '../../../src/firmware/fdt/fdt-source.js';
import {
  allNodes,
  fdtNodeAvailable,
  findNodeByPath,
  nAddrCells,
  nodePhandle,
  nSizeCells,
  propString,
  propStrings,
  propU32s,
} from '../../../src/firmware/fdt/fdt.js';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/dtb/', import.meta.url));
const here = fileURLToPath(new URL('./dtc/', import.meta.url));
const oracle = JSON.parse(readFileSync(here + 'expectations.json', 'utf8')) as {
  sha256: Record<string, string>;
};
const files = readdirSync(fixtures).sort();

function dtcAvailable(): boolean {
  try {
    execFileSync('dtc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const haveDtc = dtcAvailable();

describe('DTB fixtures decompile exactly as dtc does', () => {
  it('the oracle covers every fixture', () => {
    expect(files.length).toBe(17);
    expect(Object.keys(oracle.sha256).sort()).toEqual(files);
  });

  it.each(files)('%s', (f) => {
    const raw = readFileSync(fixtures + f);
    const src = fdtToSource(parseFdt(raw, f));
    expect(createHash('sha256').update(src).digest('hex')).toBe(oracle.sha256[f]);
    if (haveDtc) {
      const blob = f.endsWith('.gz') ? gunzipSync(raw) : raw;
      const want = execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', '-'], {
        input: blob,
        encoding: 'utf8',
      });
      expect(src).toBe(want);
    }
  });

  it('edge values of dtc type guessing (strings vs cells vs bytes, escapes, memreserve) match', () => {
    const src = fdtToSource(parseFdt(readFileSync(here + 'edge.dtb'), 'edge.dtb'));
    expect(src).toBe(readFileSync(here + 'edge.out.dts', 'utf8'));
    expect(src).toContain('half = "a";');
    expect(src).toContain('onenul = [00];');
  });
});

describe('tree API on real trees', () => {
  it('QEMU virt (gzip): header, paths, cells, phandles, strings', () => {
    const fdt = parseFdt(readFileSync(fixtures + 'qemu-virt-smmuv3.dtb.gz'), 'qemu-virt-smmuv3.dtb.gz');
    expect(fdt.version).toBe(17);
    const smmu = [...allNodes(fdt)].find((n) => propStrings(n, 'compatible')?.includes('arm,smmu-v3'));
    expect(smmu).toBeDefined();
    expect(smmu!.path).toMatch(/^\/smmuv3@[0-9a-f]+$/);
    expect(findNodeByPath(fdt, smmu!.path)).toBe(smmu);
    expect(propU32s(smmu!, '#iommu-cells')).toEqual([1]);
    const ph = nodePhandle(smmu!);
    expect(ph).not.toBe(0);
    expect(fdt.phandles.get(ph)).toBe(smmu);
    const pcie = [...allNodes(fdt)].find((n) => propString(n, 'device_type') === 'pci')!;
    const map = propU32s(pcie, 'iommu-map')!;
    expect(map.length % 4).toBe(0);
    expect(map[1]).toBe(ph); // <rid-base &smmu iommu-base length>
    // The root says #address-cells = <2>, #size-cells = <2>; PCI children use 3/2.
    expect(nAddrCells(smmu!)).toBe(2);
    expect(nSizeCells(smmu!)).toBe(2);
    expect(fdtNodeAvailable(smmu!)).toBe(true);
  });

  it('every phandle property is indexed, aliases resolve, disabled nodes are unavailable (rk3399)', () => {
    const f = 'arm64-6.12-rk3399-rockpro64.dtb';
    const fdt = parseFdt(readFileSync(fixtures + f), f);
    const withPh = [...allNodes(fdt)].filter((n) => nodePhandle(n) !== 0);
    expect(fdt.phandles.size).toBe(withPh.length);
    const aliases = findNodeByPath(fdt, '/aliases')!;
    const [alias, target] = [aliases.properties[0].name, propString(aliases, aliases.properties[0].name)!];
    expect(findNodeByPath(fdt, alias)).toBe(findNodeByPath(fdt, target));
    const disabled = [...allNodes(fdt)].filter((n) => propString(n, 'status') === 'disabled');
    expect(disabled.length).toBeGreaterThan(0);
    expect(disabled.every((n) => !fdtNodeAvailable(n))).toBe(true);
    const iommus = [...allNodes(fdt)].filter((n) =>
      propStrings(n, 'compatible')?.some((c) => c.includes('iommu')),
    );
    expect(iommus.length).toBeGreaterThan(0);
  });
});
