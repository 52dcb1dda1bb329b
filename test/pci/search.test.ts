// SPDX-License-Identifier: GPL-2.0-only
/** pci_for_each_dma_alias(): which requester IDs a function's DMA can carry, in the kernel's order. */
import { describe, expect, it } from 'vitest';
import type { PciFunctionJson } from '../../src/pci/topology-schema.js';
import { pci_for_each_dma_alias } from '../../src/pci/search.js';
import { pci_devs_are_dma_aliases } from '../../src/pci/dma-alias.js';
import { ridName } from '../../src/pci/pci-dev.js';
import { build } from './helpers.js';

/** [owner, alias RID] pairs the walk reports for `bdf`. */
function aliases(functions: PciFunctionJson[], bdf: string): string[] {
  const b = build({ root: 0, functions });
  const out: string[] = [];
  pci_for_each_dma_alias(b.topo.device(bdf).pci!, (pdev, alias) => {
    out.push(`${pdev.name.slice(5)} as ${ridName(alias)}`);
    return 0;
  });
  return out;
}

const rp = (bdf: string, secondary: number): PciFunctionJson => ({
  bdf,
  type: 'root-port',
  vendor: '1b36',
  device: '000c',
  secondary,
});

describe('pci_for_each_dma_alias', () => {
  it('passes PCIe IDs through root and switch ports unchanged', () => {
    const fns: PciFunctionJson[] = [
      rp('00:1c.0', 1),
      { bdf: '01:00.0', type: 'upstream-port', vendor: '10b5', device: '8747', secondary: 2 },
      { bdf: '02:08.0', type: 'downstream-port', vendor: '10b5', device: '8747', secondary: 3 },
      { bdf: '03:00.0', type: 'endpoint', vendor: '15b3', device: '1017' },
    ];
    expect(aliases(fns, '03:00.0')).toEqual(['03:00.0 as 03:00.0']);
  });

  it('tags DMA from behind a PCIe-to-PCI bridge with its secondary bus and devfn 00.0', () => {
    const fns: PciFunctionJson[] = [
      rp('00:1c.0', 1),
      { bdf: '01:00.0', type: 'pcie-pci-bridge', vendor: '1b36', device: '000e', secondary: 2 },
      { bdf: '02:05.0', type: 'conventional', vendor: '1234', device: '0001' },
    ];
    expect(aliases(fns, '02:05.0')).toEqual(['02:05.0 as 02:05.0', '01:00.0 as 02:00.0']);
  });

  it('gives DMA from behind a conventional bridge the bridge ID, and a PCI-to-PCIe bridge likewise', () => {
    const fns: PciFunctionJson[] = [
      rp('00:1c.0', 1),
      { bdf: '01:00.0', type: 'pcie-pci-bridge', vendor: '1b36', device: '000e', secondary: 2 },
      { bdf: '02:01.0', type: 'pci-bridge', vendor: '1b36', device: '0001', secondary: 3 },
      { bdf: '03:00.0', type: 'pci-pcie-bridge', vendor: '1234', device: '0002', secondary: 4 },
      { bdf: '04:00.0', type: 'endpoint', vendor: '1234', device: '0003' },
    ];
    expect(aliases(fns, '04:00.0')).toEqual([
      '04:00.0 as 04:00.0',
      '03:00.0 as 03:00.0',
      '02:01.0 as 02:01.0',
      '01:00.0 as 02:00.0',
    ]);
  });

  it('applies quirk_use_pcie_bridge_dma_alias to an ASMedia bridge hiding its PCIe capability', () => {
    const fns: PciFunctionJson[] = [
      rp('00:1c.0', 1),
      { bdf: '01:00.0', type: 'pci-bridge', vendor: '1b21', device: '1080', secondary: 2 },
      { bdf: '02:03.0', type: 'conventional', vendor: '1234', device: '0001' },
    ];
    expect(aliases(fns, '02:03.0')).toEqual(['02:03.0 as 02:03.0', '01:00.0 as 02:00.0']);
  });

  it('does not apply it on the root bus, where the condition fails', () => {
    const fns: PciFunctionJson[] = [
      { bdf: '00:1e.0', type: 'pci-bridge', vendor: '8086', device: '244e', secondary: 1 },
      { bdf: '01:00.0', type: 'conventional', vendor: '1234', device: '0001' },
    ];
    expect(aliases(fns, '01:00.0')).toEqual(['01:00.0 as 01:00.0', '00:1e.0 as 00:1e.0']);
  });

  it('stops at a bridge flagged as the translation root (quirk_bridge_cavm_thrx2_pcie_root)', () => {
    const fns: PciFunctionJson[] = [
      { bdf: '00:00.0', type: 'pci-bridge', vendor: '14e4', device: '9000', secondary: 1 },
      { bdf: '01:00.0', type: 'pci-bridge', vendor: '1b36', device: '0001', secondary: 2 },
      { bdf: '02:00.0', type: 'conventional', vendor: '1234', device: '0001' },
    ];
    // 01:00.0 aliases, then 00:00.0 (the xlate root) ends the walk without aliasing.
    expect(aliases(fns, '02:00.0')).toEqual(['02:00.0 as 02:00.0', '01:00.0 as 01:00.0']);
  });

  it('reports dma_alias_mask entries after the own ID, in devfn order (quirk and firmware aliases)', () => {
    const fns: PciFunctionJson[] = [
      { bdf: '00:00.0', type: 'conventional', vendor: '8086', device: '29c0' },
      // Ricoh e832: function 1 DMAs as function 0 (quirk_dma_func0_alias)
      { bdf: '00:02.0', type: 'conventional', vendor: '1180', device: 'e832', multifunction: true },
      { bdf: '00:02.1', type: 'conventional', vendor: '1180', device: 'e832', aliases: ['00:07.0'] },
    ];
    expect(aliases(fns, '00:02.1')).toEqual([
      '00:02.1 as 00:02.1',
      '00:02.1 as 00:02.0',
      '00:02.1 as 00:07.0',
    ]);
    expect(aliases(fns, '00:02.0')).toEqual(['00:02.0 as 00:02.0']);
  });

  it('aliases every devfn for a PLX NTB', () => {
    const fns: PciFunctionJson[] = [{ bdf: '00:03.0', type: 'endpoint', vendor: '10b5', device: '87b0' }];
    expect(aliases(fns, '00:03.0')).toHaveLength(257);
  });

  it('starts from the platform real DMA device when there is one (pci_real_dma_dev(), x86 VMD)', () => {
    const b = build({
      root: 0,
      functions: [
        { bdf: '00:0e.0', type: 'rc-endpoint', vendor: '8086', device: '467f' },
        rp('00:1c.0', 1),
        { bdf: '01:00.0', type: 'endpoint', vendor: '144d', device: 'a808' },
      ],
    });
    const nvme = b.topo.device('01:00.0').pci!;
    const vmd = b.topo.device('00:0e.0').pci!;
    nvme.real_dma_dev = vmd;
    const seen: string[] = [];
    pci_for_each_dma_alias(nvme, (pdev, alias) => {
      seen.push(`${pdev.name.slice(5)} as ${ridName(alias)}`);
      return 0;
    });
    expect(seen).toEqual(['00:0e.0 as 00:0e.0']);
    expect(pci_devs_are_dma_aliases(nvme, vmd)).toBe(true);
  });

  it('stops at the first non-zero callback return and returns it', () => {
    const b = build({
      root: 0,
      functions: [
        { bdf: '00:09.0', type: 'pci-bridge', vendor: '1b36', device: '0001', secondary: 1 },
        { bdf: '01:01.0', type: 'conventional', vendor: '1234', device: '0001' },
      ],
    });
    const seen: number[] = [];
    const ret = pci_for_each_dma_alias(b.topo.device('01:01.0').pci!, (_p, alias) => {
      seen.push(alias);
      return 7;
    });
    expect(ret).toBe(7);
    expect(seen).toEqual([0x0108]);
  });
});
