// SPDX-License-Identifier: GPL-2.0-only
// The Apple DART driver (drivers/iommu/apple-dart.c, Linux 6.12) on the
// Mac mini M1 device tree (t8103-j274, built from the 6.12 source) and on
// small trees built here. Expectations come from the 6.12 source:
//  - apple_dart_probe(): instance "apple-dart.<dev_name>", the "DART [...]
//    initialized" line; -EINVAL for a missing or small MMIO window, -ENODEV
//    without an interrupt;
//  - apple_dart_of_xlate(): one cell (else -EINVAL), no fwspec IDs, at most
//    MAX_DARTS_PER_DEVICE (2) DARTs that agree on bypass support and page size;
//  - apple_dart_device_group(): masters sharing a (DART, SID) share a group
//    (sid2group), a PCI group's members are merged when on one DART;
//  - apple_dart_def_domain_type(): 16 KiB DART pages on a 4 KiB kernel force
//    identity, a DART without bypass wants DMA;
//  - apple_dart_get_resv_regions(): the PCIe MSI doorbell page with CONFIG_PCIE_APPLE.
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { failNthPoints } from '../support/fail-nth.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boot, loadInputs, type BootResult } from '../../src/api.js';
import type { Kconfig } from '../../src/kernel/kconfig.js';
import type { ProfileName } from '../../src/profile/profile.js';
import { parseFdt } from '../../src/firmware/fdt/fdt-parse.js';
import { allNodes, getProperty } from '../../src/firmware/fdt/fdt.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { iommu_paging_domain_alloc, iommu_domain_free } from '../../src/iommu/domain-alloc.js';
import { IS_ERR, PTR_ERR, EINVAL } from '../../src/kernel/errno.js';
import { teardown } from '../../src/checker/teardown.js';
import { device_del, put_device } from '../../src/base/core.js';
import { appleDartOf } from '../../src/drivers/apple-dart/apple-dart.js';
import { buildFdt, type TreeSpec } from '../support/fdt-build.js';
import { deviceNamed as dev, groupPartition as partition } from '../support/boot-result.js';

const J274 = fileURLToPath(
  new URL('../../../shared/fixtures/dtb/built-6.12-t8103-j274.dtb', import.meta.url),
);
const DART_Y: Partial<Kconfig> = { APPLE_DART: 'y' };

type Opts = { profile?: ProfileName; kconfig?: Partial<Kconfig>; pci?: unknown; failNth?: number };

function bootFile(path: string, o: Opts = {}): BootResult {
  const { desc, file, firmware } = loadInputs([path], { kconfig: o.kconfig ?? DART_Y });
  return boot(o.pci ? { ...desc, pci: o.pci } : desc, {
    profile: o.profile ?? 'v6.12',
    file,
    firmware,
    failNth: o.failNth,
  });
}

const groupOf = (r: BootResult, name: string) => r.groups.find((g) => g.devices.includes(name));
/** The group partition: each group's members, sorted. */

/** The t8103 PCIe topology behind the three root ports (Wi-Fi/BT, xHCI, Ethernet on j274). */
const j274Pci = {
  root: 0,
  rootSubordinate: 3,
  functions: [
    { bdf: '00:00.0', type: 'root-port', vendor: '106b', device: '100c', secondary: 1 },
    { bdf: '00:01.0', type: 'root-port', vendor: '106b', device: '100c', secondary: 2 },
    { bdf: '00:02.0', type: 'root-port', vendor: '106b', device: '100c', secondary: 3 },
    { bdf: '01:00.0', type: 'endpoint', vendor: '14e4', device: '4425', class: '028000' },
    { bdf: '01:00.1', type: 'endpoint', vendor: '14e4', device: '5f69', class: '0d1100' },
    { bdf: '02:00.0', type: 'endpoint', vendor: '1b73', device: '1100', class: '0c0330' },
    { bdf: '03:00.0', type: 'endpoint', vendor: '14e4', device: '1686', class: '020000' },
  ],
};

/** One root port with a two-function device below it. */
const j274Like = {
  root: 0,
  functions: [
    { bdf: '00:00.0', type: 'root-port', vendor: '106b', device: '100c', secondary: 1 },
    { bdf: '01:00.0', type: 'endpoint', vendor: '14e4', device: '4425', class: '028000' },
    { bdf: '01:00.1', type: 'endpoint', vendor: '14e4', device: '5f69', class: '0d1100' },
  ],
};

describe('t8103-j274 (Mac mini M1), platform masters', () => {
  const fdt = parseFdt(readFileSync(J274), J274);
  const dartNodes = [...allNodes(fdt)].filter((n) =>
    new TextDecoder().decode(getProperty(n, 'compatible')?.value).includes('apple,t8103-dart'),
  );
  const masters = [...allNodes(fdt)].filter((n) => getProperty(n, 'iommus'));

  it('the fixture has four DARTs and one `iommus` master (the SIO DMA controller, SID 2)', () => {
    expect(dartNodes.map((n) => n.path)).toEqual([
      '/soc/iommu@235004000',
      '/soc/iommu@681008000',
      '/soc/iommu@682008000',
      '/soc/iommu@683008000',
    ]);
    expect(masters.map((n) => n.path)).toEqual(['/soc/dma-controller@238200000']);
  });

  it.each(['y', 'm'] as const)(
    'APPLE_DART=%s: every DART registers; the DMA controller is in a group of its own',
    (b) => {
      const r = bootFile(J274, { kconfig: { APPLE_DART: b } });
      // apple_dart_probe(): iommu_device_sysfs_add(..., "apple-dart.%s", dev_name(&pdev->dev)).
      expect(r.iommus.map((i) => i.name)).toEqual([
        'apple-dart.235004000.iommu',
        'apple-dart.681008000.iommu',
        'apple-dart.682008000.iommu',
        'apple-dart.683008000.iommu',
      ]);
      // dev_info() at the end of probe: t8103 has 16 streams (max_sid_count), 16 KiB pages
      // on a 4 KiB kernel force bypass.
      for (const d of ['235004000', '681008000', '682008000', '683008000'])
        expect(r.log).toContain(
          `${d}.iommu: DART [pagesize 4000, 16 streams, bypass support: 1, bypass forced: 1] initialized`,
        );
      const dma = dev(r, '238200000.dma-controller');
      expect(dma.iommu).toBe('apple-dart.235004000.iommu');
      // apple_dart_of_xlate() keeps the SID in its own cfg: the fwspec has no IDs.
      expect(dma.fwspec).toMatchObject({ fwnode: '/soc/iommu@235004000', ids: [] });
      expect(dma.history).toContain(
        'apple_dart_of_xlate(): SID 2 on apple-dart.235004000.iommu (/soc/dma-controller@238200000 iommus[0])',
      );
      // Deferred at each retry until the module loads: one line, counted.
      if (b === 'm') expect(dma.history[0]).toMatch(/^of_iommu_configure\(\): -EPROBE_DEFER \(×\d+\)$/);
      // Only masters are grouped; the DARTs and the PCIe controller (iommu-map only) are not.
      expect(partition(r)).toEqual([['238200000.dma-controller']]);
      for (const d of ['235004000.iommu', '681008000.iommu', '690000000.pcie']) {
        expect(dev(r, d).iommu).toBeNull();
        expect(dev(r, d).group).toBeNull();
      }
      // apple_dart_def_domain_type(): pgsize 0x4000 > PAGE_SIZE -> IOMMU_DOMAIN_IDENTITY.
      expect(groupOf(r, '238200000.dma-controller')?.type).toBe('identity');
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
      expect(r.warnings).toEqual([]);
    },
  );

  it('Debian (APPLE_DART=n): no instance; the DMA controller waits, then binds without an IOMMU', () => {
    const r = bootFile(J274, { kconfig: {} });
    expect(r.iommus).toEqual([]);
    expect(r.groups).toEqual([]);
    // No driver claims the DART nodes (the stand-ins skip IOMMUs a modelled driver claims).
    expect(dev(r, '235004000.iommu').driver).toBeNull();
    const dma = dev(r, '238200000.dma-controller');
    expect(dma.driver).toBe('of:apple,t8103-admac');
    expect(dma.iommu).toBeNull();
    expect(dma.fwspec).toBeNull();
    expect(dma.history.at(-1)).toBe('of_iommu_configure(): -ETIMEDOUT');
    expect(r.leaks).toEqual([]);
  });

  it('every profile: the same instances and partition, nothing leaked', () => {
    for (const profile of ['v6.4', 'v6.7', 'v6.8', 'v6.12', 'v6.15', 'v6.18'] as const) {
      const r = bootFile(J274, { profile, pci: j274Pci });
      expect(r.iommus.length, profile).toBe(4);
      expect(partition(r), profile).toEqual([
        ['0000:01:00.0', '0000:01:00.1'],
        ['0000:02:00.0'],
        ['0000:03:00.0'],
        ['238200000.dma-controller'],
      ]);
      expect(r.leaks, profile).toEqual([]);
      expect(r.invariantViolations, profile).toEqual([]);
      expect(r.warnings, profile).toEqual([]);
    }
  });

  it('v6.12 groups the master when its driver binds; v6.15 at the DART registration', () => {
    const a = bootFile(J274, { profile: 'v6.12' });
    const b = bootFile(J274, { profile: 'v6.15' });
    expect(dev(a, '238200000.dma-controller').probedAt).toBe('replay at driver bind');
    expect(dev(b, '238200000.dma-controller').probedAt).toBe('registration of apple-dart.235004000.iommu');
    expect(partition(a)).toEqual(partition(b));
    expect(b.leaks).toEqual([]);
    expect(b.invariantViolations).toEqual([]);
  });

  it('with 16 KiB pages (CONFIG_ARM64_16K_PAGES) bypass is not forced: the default DMA domain', () => {
    const r = bootFile(J274, { kconfig: { APPLE_DART: 'y', ARM64_16K_PAGES: true } });
    expect(r.log).toContain(
      '235004000.iommu: DART [pagesize 4000, 16 streams, bypass support: 1, bypass forced: 0] initialized',
    );
    // def_domain_type() returns 0 (bypass supported): the arm64 default, strict DMA.
    expect(groupOf(r, '238200000.dma-controller')?.type).toBe('DMA');
    expect(r.leaks).toEqual([]);
    expect(r.invariantViolations).toEqual([]);
  });
});

describe('t8103-j274 with its PCIe functions (iommu-map, mask 0xff00: one DART per root port, SID 1)', () => {
  it('v6.12/v6.15: each port behind its DART; Wi-Fi and Bluetooth share (DART 681008000, SID 1)', () => {
    for (const profile of ['v6.12', 'v6.15'] as const) {
      const r = bootFile(J274, { pci: j274Pci, profile });
      const expected: Record<string, string | null> = {
        // RIDs 0x0000, 0x0008, 0x0010 masked to 0: no iommu-map entry, no IOMMU.
        '0000:00:00.0': null,
        '0000:00:01.0': null,
        '0000:00:02.0': null,
        '0000:01:00.0': 'apple-dart.681008000.iommu',
        '0000:01:00.1': 'apple-dart.681008000.iommu',
        '0000:02:00.0': 'apple-dart.682008000.iommu',
        '0000:03:00.0': 'apple-dart.683008000.iommu',
      };
      for (const [name, iommu] of Object.entries(expected)) {
        expect(dev(r, name).iommu, `${profile} ${name}`).toBe(iommu);
        // The fwspec names the DART's node ("apple-dart.681008000.iommu" is /soc/iommu@681008000).
        if (iommu)
          expect(dev(r, name).fwspec).toMatchObject({ fwnode: `/soc/iommu@${iommu.split('.')[1]}`, ids: [] });
      }
      expect(partition(r)).toEqual([
        ['0000:01:00.0', '0000:01:00.1'],
        ['0000:02:00.0'],
        ['0000:03:00.0'],
        ['238200000.dma-controller'],
      ]);
      // 01:00.1 found 01:00.0's group through sid2group, before pci_device_group().
      expect(groupOf(r, '0000:01:00.1')?.why).toContain(
        '0000:01:00.1: shares apple-dart.681008000.iommu SID 1 (apple_dart_device_group sid2group)',
      );
      // Without CONFIG_PCIE_APPLE (Debian) there is no doorbell region.
      expect(groupOf(r, '0000:03:00.0')?.reservedRegions).toEqual([]);
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
    }
  });

  it('CONFIG_PCIE_APPLE reserves the MSI doorbell page for PCI masters only', () => {
    const r = bootFile(J274, { pci: j274Pci, kconfig: { APPLE_DART: 'y', PCIE_APPLE: true } });
    // DOORBELL_ADDR = 0xfffff000 & PAGE_MASK, PAGE_SIZE long, IOMMU_RESV_MSI.
    const msi = [{ start: '0x00000000fffff000', end: '0x00000000ffffffff', type: 'msi' }];
    for (const n of ['0000:01:00.0', '0000:02:00.0', '0000:03:00.0'])
      expect(groupOf(r, n)?.reservedRegions).toEqual(msi);
    expect(groupOf(r, '238200000.dma-controller')?.reservedRegions).toEqual([]);
    const r16 = bootFile(J274, {
      pci: j274Pci,
      kconfig: { APPLE_DART: 'y', PCIE_APPLE: true, ARM64_16K_PAGES: true },
    });
    expect(groupOf(r16, '0000:02:00.0')?.reservedRegions).toEqual([
      { start: '0x00000000ffffc000', end: '0x00000000ffffffff', type: 'msi' },
    ]);
  });

  it('APPLE_DART=n: the functions behind the map wait for their DART, then bind without one', () => {
    const r = bootFile(J274, { pci: j274Pci, kconfig: {} });
    expect(r.groups).toEqual([]);
    for (const n of ['0000:01:00.0', '0000:02:00.0', '0000:03:00.0']) {
      expect(dev(r, n).iommu).toBeNull();
      expect(dev(r, n).history.at(-1)).toBe('of_iommu_configure(): -ETIMEDOUT');
    }
    expect(dev(r, '0000:00:00.0').history).toEqual(['of_iommu_configure(): -ENODEV']);
  });
});

// ---- small trees

const be32 = (...v: number[]) => {
  const b = new Uint8Array(v.length * 4);
  v.forEach((x, i) => new DataView(b.buffer).setUint32(i * 4, x >>> 0));
  return b;
};
const str = (...s: string[]) =>
  Uint8Array.from(
    s
      .join('\0')
      .split('')
      .map((c) => c.charCodeAt(0))
      .concat(0),
  );
const AIC = 1;

interface DartSpec {
  addr: number;
  phandle: number;
  compatible?: string;
  size?: number;
  reg?: boolean;
  irq?: boolean;
  cells?: number;
  status?: string;
}
function dartNode(d: DartSpec): TreeSpec {
  const props: [string, Uint8Array][] = [['compatible', str(d.compatible ?? 'apple,t8103-dart')]];
  if (d.reg !== false) props.push(['reg', be32(0, d.addr, 0, d.size ?? 0x4000)]);
  if (d.irq !== false) props.push(['interrupts', be32(0, 0x27b, 4)]);
  props.push(['#iommu-cells', be32(d.cells ?? 1)], ['phandle', be32(d.phandle)]);
  if (d.status) props.push(['status', str(d.status)]);
  return { name: `iommu@${d.addr.toString(16)}`, props, children: [] };
}
function masterNode(addr: number, iommus: number[]): TreeSpec {
  return {
    name: `dma@${addr.toString(16)}`,
    props: [
      ['compatible', str('test,dma')],
      ['reg', be32(0, addr, 0, 0x1000)],
      ['iommus', be32(...iommus)],
    ],
    children: [],
  };
}
function tree(children: TreeSpec[]): Uint8Array {
  return buildFdt({
    name: '',
    props: [
      ['#address-cells', be32(2)],
      ['#size-cells', be32(2)],
      ['interrupt-parent', be32(AIC)],
    ],
    children: [
      {
        name: 'soc',
        props: [
          ['compatible', str('simple-bus')],
          ['#address-cells', be32(2)],
          ['#size-cells', be32(2)],
          ['ranges', new Uint8Array(0)],
        ],
        children: [
          {
            name: 'interrupt-controller@23b100000',
            props: [
              ['compatible', str('apple,aic')],
              ['reg', be32(2, 0x3b100000, 0, 0x10000)],
              ['#interrupt-cells', be32(3)],
              ['interrupt-controller', new Uint8Array(0)],
              ['phandle', be32(AIC)],
            ],
            children: [],
          },
          ...children,
        ],
      },
    ],
  });
}
const dir = scratchDir('apple-dart-');
let seq = 0;
function bootTree(children: TreeSpec[], o: Opts = {}): BootResult {
  const p = join(dir, `t${seq++}.dtb`);
  writeFileSync(p, tree(children));
  return bootFile(p, o);
}

describe('apple_dart_device_group(): sid2group', () => {
  it('masters on the same (DART, SID) share a group; another SID is alone', () => {
    const r = bootTree([
      dartNode({ addr: 0x10000000, phandle: 10 }),
      masterNode(0x20000000, [10, 3]),
      masterNode(0x20001000, [10, 3]),
      masterNode(0x20002000, [10, 4]),
    ]);
    expect(partition(r)).toEqual([['20000000.dma', '20001000.dma'], ['20002000.dma']]);
    expect(groupOf(r, '20001000.dma')?.why).toContain(
      '20001000.dma: shares apple-dart.10000000.iommu SID 3 (apple_dart_device_group sid2group)',
    );
    expect(r.leaks).toEqual([]);
    expect(r.invariantViolations).toEqual([]);
  });

  it('removing the last member releases the group, which clears its sid2group entries', () => {
    const p = join(dir, `t${seq++}.dtb`);
    writeFileSync(
      p,
      tree([dartNode({ addr: 0x10000000, phandle: 10 }), masterNode(0x20000000, [10, 1, 10, 7])]),
    );
    const { desc, file, firmware } = loadInputs([p], { kconfig: DART_Y });
    const { k } = bootPlatform(desc, { profile: 'v6.12', file, firmware });
    const dart = appleDartOf(k, k.base.ofPhandles.get(10)!)!;
    const master = [...k.base.devices].find((d) => d.name === '20000000.dma')!;
    const group = master.iommu_group!;
    expect(dart.sid2group.flatMap((g, sid) => (g ? [sid] : []))).toEqual([1, 7]);
    expect(dart.sid2group[1]).toBe(group);
    // apple_dart_release_group() runs from the group's release (iommu_group_set_iommudata()).
    device_del(k, master);
    expect(group.released).toBe(true);
    expect(dart.sid2group.every((g) => g === null)).toBe(true);
    put_device(k, master);
    teardown(k);
    expect(k.alloc.liveAllocations()).toEqual([]);
  });

  it('two DARTs per master (as t600x SIO DMA): both SIDs recorded; a master on either stream joins', () => {
    const r = bootTree([
      dartNode({ addr: 0x10000000, phandle: 10, compatible: 'apple,t6000-dart' }),
      dartNode({ addr: 0x10004000, phandle: 11, compatible: 'apple,t6000-dart' }),
      masterNode(0x20000000, [10, 2, 11, 2]),
      masterNode(0x20001000, [11, 2]),
    ]);
    const m = dev(r, '20000000.dma');
    // probe_device() returns the first DART's instance; the fwspec keeps the first fwnode.
    expect(m.iommu).toBe('apple-dart.10000000.iommu');
    expect(m.fwspec).toMatchObject({ fwnode: '/soc/iommu@10000000', ids: [] });
    expect(dev(r, '20001000.dma').iommu).toBe('apple-dart.10004000.iommu');
    expect(partition(r)).toEqual([['20000000.dma', '20001000.dma']]);
    expect(r.leaks).toEqual([]);
  });

  it('streams in different groups, or grouped and ungrouped, refuse the master with -EINVAL', () => {
    const r = bootTree([
      dartNode({ addr: 0x10000000, phandle: 10 }),
      dartNode({ addr: 0x10004000, phandle: 11 }),
      masterNode(0x20000000, [10, 2]),
      // DART 10 SID 2 is grouped, DART 11 SID 5 is not: "group && group != stream_group".
      masterNode(0x20001000, [10, 2, 11, 5]),
      // The other order passes: NULL first, then the group.
      masterNode(0x20002000, [11, 6, 10, 2]),
    ]);
    const bad = dev(r, '20001000.dma');
    expect(bad.iommu).toBeNull();
    expect(bad.group).toBeNull();
    expect(bad.history).toContain(
      'apple_dart_device_group(): -EINVAL, apple-dart.10004000.iommu SID 5 is in no group but apple-dart.10000000.iommu SID 2 is in group 0',
    );
    expect(partition(r)).toEqual([['20000000.dma', '20002000.dma']]);
    expect(r.leaks).toEqual([]);
    expect(r.invariantViolations).toEqual([]);
  });

  it('a SID at or past num_streams is kept but ignored by sid2group (16 streams on t8103, 256 on t8110)', () => {
    const t8103 = bootTree([
      dartNode({ addr: 0x10000000, phandle: 10 }),
      masterNode(0x20000000, [10, 20]),
      masterNode(0x20001000, [10, 20]),
    ]);
    expect(dev(t8103, '20000000.dma').iommu).toBe('apple-dart.10000000.iommu');
    expect(partition(t8103)).toEqual([['20000000.dma'], ['20001000.dma']]);
    const t8110 = bootTree([
      dartNode({ addr: 0x10000000, phandle: 10, compatible: 'apple,t8110-dart' }),
      masterNode(0x20000000, [10, 20]),
      masterNode(0x20001000, [10, 20]),
    ]);
    expect(t8110.log).toContain(
      '10000000.iommu: DART [pagesize 4000, 256 streams, bypass support: 1, bypass forced: 1] initialized',
    );
    expect(partition(t8110)).toEqual([['20000000.dma', '20001000.dma']]);
  });

  it('a SID past the 256-bit sidmap is a WARN (the kernel writes past the bitmap), not a crash', () => {
    const r = bootTree([dartNode({ addr: 0x10000000, phandle: 10 }), masterNode(0x20000000, [10, 300])]);
    expect(r.warnings.map((w) => w.site)).toEqual(['apple_dart_of_xlate']);
    expect(dev(r, '20000000.dma').iommu).toBe('apple-dart.10000000.iommu');
  });
});

describe('apple_dart_of_xlate(): refusals', () => {
  it('#iommu-cells other than 1 gives -EINVAL before anything is allocated', () => {
    for (const cells of [0, 2]) {
      const iommus = cells === 0 ? [10] : [10, 1, 2];
      const r = bootTree([
        dartNode({ addr: 0x10000000, phandle: 10, cells }),
        masterNode(0x20000000, iommus),
      ]);
      const m = dev(r, '20000000.dma');
      expect(m.iommu).toBeNull();
      expect(m.fwspec).toBeNull();
      expect(m.history).toContain('of_iommu_configure(): -EINVAL');
      expect(r.iommus.map((i) => i.name)).toEqual(['apple-dart.10000000.iommu']);
      expect(r.leaks).toEqual([]);
    }
  });

  it('a phandle to a disabled DART: -ENODEV, no instance, the master binds without IOMMU', () => {
    const r = bootTree([
      dartNode({ addr: 0x10000000, phandle: 10, status: 'disabled' }),
      masterNode(0x20000000, [10, 1]),
    ]);
    expect(r.iommus).toEqual([]);
    expect(dev(r, '20000000.dma').history).toEqual(['of_iommu_configure(): -ENODEV']);
    expect(dev(r, '20000000.dma').driver).toBe('of:test,dma');
  });

  it('a third DART is -EINVAL; 6.12 then loses the master cfg (a known kernel bug)', () => {
    const r = bootTree([
      dartNode({ addr: 0x10000000, phandle: 10 }),
      dartNode({ addr: 0x10004000, phandle: 11 }),
      dartNode({ addr: 0x10008000, phandle: 12 }),
      masterNode(0x20000000, [10, 1, 11, 1, 12, 1]),
    ]);
    const m = dev(r, '20000000.dma');
    expect(m.iommu).toBeNull();
    expect(m.fwspec).toBeNull();
    expect(m.history).toContain('apple_dart_of_xlate(): -EINVAL, a third DART (apple-dart.10008000.iommu)');
    expect(r.leaks).toEqual([
      {
        type: 'apple_dart_master_cfg',
        origin: 'apple_dart_of_xlate',
        owner: '20000000.dma',
        knownBug: 'apple-dart-master-cfg-leak',
      },
    ]);
  });

  it('DARTs that disagree on bypass support (t8103 and its USB4 DART) are -EINVAL', () => {
    const r = bootTree([
      dartNode({ addr: 0x10000000, phandle: 10 }),
      dartNode({ addr: 0x10004000, phandle: 11, compatible: 'apple,t8103-usb4-dart' }),
      masterNode(0x20000000, [10, 1, 11, 1]),
      masterNode(0x20001000, [10, 2, 10, 3]),
    ]);
    expect(dev(r, '20000000.dma').iommu).toBeNull();
    expect(dev(r, '20000000.dma').history).toContain('of_iommu_configure(): -EINVAL');
    // Two SIDs on one DART are one stream map: fine.
    expect(dev(r, '20001000.dma').iommu).toBe('apple-dart.10000000.iommu');
    expect(r.leaks.map((l) => l.knownBug)).toEqual(['apple-dart-master-cfg-leak']);
  });

  it('a second DART not yet registered defers, and each attempt loses a cfg (6.12)', () => {
    // The second DART cannot probe (no interrupt): the master waits until the timeout.
    const r = bootTree([
      dartNode({ addr: 0x10000000, phandle: 10 }),
      dartNode({ addr: 0x10004000, phandle: 11, irq: false }),
      masterNode(0x20000000, [10, 1, 11, 1]),
    ]);
    const m = dev(r, '20000000.dma');
    expect(m.iommu).toBeNull();
    expect(m.history.at(-1)).toBe('of_iommu_configure(): -ETIMEDOUT');
    const lost = r.leaks.filter((l) => l.knownBug === 'apple-dart-master-cfg-leak');
    expect(lost.length).toBe(m.history.filter((h) => h.startsWith('apple_dart_of_xlate(): SID 1')).length);
    expect(lost.length).toBeGreaterThan(1);
    expect(r.leaks.filter((l) => !l.knownBug)).toEqual([]);
  });
});

describe('apple_dart_probe(): what the DART node must provide', () => {
  it('a window under 0x4000: -EINVAL, "MMIO region too small"', () => {
    const r = bootTree([
      dartNode({ addr: 0x10000000, phandle: 10, size: 0x1000 }),
      masterNode(0x20000000, [10, 1]),
    ]);
    expect(r.iommus).toEqual([]);
    expect(r.log).toContain(
      '10000000.iommu: MMIO region too small ([mem 0x10000000-0x10000fff flags 0x200])',
    );
    expect(dev(r, '10000000.iommu').driver).toBeNull();
    expect(dev(r, '20000000.dma').history.at(-1)).toBe('of_iommu_configure(): -ETIMEDOUT');
    expect(r.leaks).toEqual([]);
  });

  it('no `reg`: -EINVAL from devm_ioremap_resource(); no interrupt: -ENODEV', () => {
    const r = bootTree([
      dartNode({ addr: 0x10000000, phandle: 10, reg: false }),
      dartNode({ addr: 0x10004000, phandle: 11, irq: false }),
    ]);
    expect(r.iommus).toEqual([]);
    // Without `reg` the device is named after its path (of_device_make_bus_id()).
    expect(r.log).toContain('soc:iommu@10000000: error -EINVAL: invalid resource (null)');
    expect(r.log).toContain('soc:iommu@10000000: probe with driver apple-dart failed with error -22');
    expect(r.log).toContain('10004000.iommu: error -ENXIO: IRQ index 0 not found');
    // call_driver_probe(): -ENODEV only declines the device.
    expect(r.log).toContain('10004000.iommu: probe with driver apple-dart rejects match -19');
    expect(r.log.some((l) => l.includes('DART ['))).toBe(false);
    expect(r.leaks).toEqual([]);
  });
});

describe('domains', () => {
  it('a DART without bypass on a 4 KiB kernel: identity is forced but cannot attach', () => {
    const tree = [
      dartNode({ addr: 0x10000000, phandle: 10, compatible: 'apple,t8103-usb4-dart' }),
      masterNode(0x20000000, [10, 1]),
    ];
    const a = bootTree(tree, { profile: 'v6.12' });
    expect(a.log).toContain(
      '10000000.iommu: DART [pagesize 4000, 64 streams, bypass support: 0, bypass forced: 1] initialized',
    );
    // apple_dart_attach_dev_identity() is -EINVAL: the first attach of the default domain
    // WARNs (iommu_setup_default_domain()) and the probe unwinds.
    expect(a.warnings.map((w) => w.site)).toEqual(['iommu_setup_default_domain']);
    expect(a.iommus.map((i) => i.name)).toEqual(['apple-dart.10000000.iommu']);
    expect(dev(a, '20000000.dma').group).toBeNull();
    expect(dev(a, '20000000.dma').history.at(-1)).toBe(
      'of_iommu_configure() replayed iommu_probe_device(): -EINVAL',
    );
    // v6.15 probes the master during the DART's registration walk, whose failure fails the
    // registration and so the DART's probe; the master then times out.
    const b = bootTree(tree, { profile: 'v6.15' });
    expect(b.iommus).toEqual([]);
    expect(b.log).toContain('10000000.iommu: probe with driver apple-dart failed with error -22');
    expect(dev(b, '20000000.dma').history.at(-1)).toBe('of_iommu_configure(): -ETIMEDOUT');
    for (const r of [a, b]) {
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
    }
  });

  it('a DART without bypass on a 16 KiB kernel asks for DMA', () => {
    const r = bootTree(
      [
        dartNode({ addr: 0x10000000, phandle: 10, compatible: 'apple,t8103-usb4-dart' }),
        masterNode(0x20000000, [10, 1]),
      ],
      { kconfig: { APPLE_DART: 'y', ARM64_16K_PAGES: true, IOMMU_DEFAULT_PASSTHROUGH: true } },
    );
    expect(groupOf(r, '20000000.dma')?.type).toBe('DMA');
    expect(groupOf(r, '20000000.dma')?.typeWhy).toContain(
      '20000000.dma: apple-dart def_domain_type() asks for DMA',
    );
    expect(r.leaks).toEqual([]);
  });

  it('paging domains: -EINVAL when DART pages exceed PAGE_SIZE, else narrowed to the DART page size', () => {
    for (const big of [false, true]) {
      const { desc, file, firmware } = loadInputs([J274], {
        kconfig: { APPLE_DART: 'y', ARM64_16K_PAGES: big },
      });
      const { k } = bootPlatform(desc, { profile: 'v6.12', file, firmware });
      const master = [...k.base.devices].find((d) => d.name === '238200000.dma-controller')!;
      const dom = iommu_paging_domain_alloc(k, master);
      if (!big) {
        expect(IS_ERR(dom) && PTR_ERR(dom)).toBe(-EINVAL);
      } else {
        expect(IS_ERR(dom)).toBe(false);
        if (!IS_ERR(dom)) {
          expect(dom.pgsize_bitmap).toBe(0x4000);
          iommu_domain_free(k, dom);
        }
      }
      teardown(k);
      expect(k.alloc.liveAllocations()).toEqual([]);
    }
  });
});

describe('PCI groups behind one DART (apple_dart_merge_master_cfg)', () => {
  function pcieTree(map: number[]): TreeSpec[] {
    return [
      dartNode({ addr: 0x10000000, phandle: 10 }),
      dartNode({ addr: 0x10004000, phandle: 11 }),
      {
        name: 'pcie@30000000',
        props: [
          ['compatible', str('test,pcie')],
          ['device_type', str('pci')],
          ['reg', be32(0, 0x30000000, 0, 0x1000000)],
          ['#address-cells', be32(3)],
          ['#size-cells', be32(2)],
          ['iommu-map', be32(...map)],
        ],
        children: [],
      },
    ];
  }
  // Two functions of one root-complex device without ACS: pci_device_group() gives the second
  // the first one's group (get_pci_function_alias_group()).
  const pci = {
    root: 0,
    functions: [
      { bdf: '00:00.0', type: 'rc-endpoint', vendor: '14e4', device: '4425', class: '028000' },
      { bdf: '00:00.1', type: 'rc-endpoint', vendor: '14e4', device: '5f69', class: '0d1100' },
    ],
  };

  it('two functions, two SIDs on one DART: the PCI group is shared and its cfg copy merged', () => {
    // RID 0 -> SID 4, RID 1 -> SID 5, both on DART 10.
    const r = bootTree(pcieTree([0, 10, 4, 2]), { pci });
    expect(partition(r)).toEqual([['0000:00:00.0', '0000:00:00.1']]);
    expect(groupOf(r, '0000:00:00.1')?.why).toContain(
      '0000:00:00.1: apple-dart.10000000.iommu SIDs [5] recorded in sid2group',
    );
    expect(r.leaks).toEqual([]);
    expect(r.invariantViolations).toEqual([]);
  });

  it('functions behind root ports without their own stream get a group each (sid2group aside)', () => {
    // As on j274 but with SIDs 4 and 5: the root port has no IOMMU, hence no group to share.
    const r = bootTree(pcieTree([0x100, 10, 4, 2]), { pci: j274Like });
    expect(partition(r)).toEqual([['0000:01:00.0'], ['0000:01:00.1']]);
  });

  it('two functions on two DARTs: "Failed to merge DART IOMMU groups.", the second is refused', () => {
    const r = bootTree(pcieTree([0, 10, 4, 1, 1, 11, 4, 1]), { pci });
    expect(r.log).toContain('0000:00:00.1: Failed to merge DART IOMMU groups.');
    expect(dev(r, '0000:00:00.0').iommu).toBe('apple-dart.10000000.iommu');
    expect(dev(r, '0000:00:00.1').iommu).toBeNull();
    expect(partition(r)).toEqual([['0000:00:00.0']]);
    expect(r.leaks).toEqual([]);
    expect(r.invariantViolations).toEqual([]);
  });
});

describe('fail-nth', () => {
  // Every driver path that allocates: DARTs, master cfgs, group copies and their merge, a shared
  // (DART, SID), a two-DART master, and a refused one (whose lost cfg is the known bug).
  const mixed = () => [
    dartNode({ addr: 0x10000000, phandle: 10 }),
    dartNode({ addr: 0x10004000, phandle: 11 }),
    dartNode({ addr: 0x10008000, phandle: 12, compatible: 'apple,t8103-usb4-dart' }),
    masterNode(0x20000000, [10, 2, 11, 2]),
    masterNode(0x20001000, [11, 2]),
    masterNode(0x20002000, [10, 3, 12, 3]),
    {
      name: 'pcie@30000000',
      props: [
        ['compatible', str('test,pcie')],
        ['device_type', str('pci')],
        ['reg', be32(0, 0x30000000, 0, 0x1000000)],
        ['#address-cells', be32(3)],
        ['#size-cells', be32(2)],
        ['iommu-map', be32(0, 10, 4, 2)],
      ],
      children: [],
    } satisfies TreeSpec,
  ];
  const rcPair = {
    root: 0,
    functions: [
      { bdf: '00:00.0', type: 'rc-endpoint', vendor: '14e4', device: '4425', class: '028000' },
      { bdf: '00:00.1', type: 'rc-endpoint', vendor: '14e4', device: '5f69', class: '0d1100' },
    ],
  };
  const cases: [string, (n?: number) => BootResult][] = [
    ['v6.12 j274 + PCI', (n) => bootFile(J274, { profile: 'v6.12', pci: j274Pci, failNth: n })],
    ['v6.12 small tree', (n) => bootTree(mixed(), { profile: 'v6.12', pci: rcPair, failNth: n })],
    ['v6.15 small tree', (n) => bootTree(mixed(), { profile: 'v6.15', pci: rcPair, failNth: n })],
  ];
  it.each(cases)(
    '%s: each allocation failed in turn (a spread on big boots: test/support/fail-nth.ts) leaves no unknown leak or broken invariant',
    (_n, run) => {
      const base = run();
      expect(base.allocations).toBeGreaterThan(20);
      let injected = 0;
      for (const n of failNthPoints(base.allocations)) {
        const r = run(n);
        if (r.failNth?.injected) injected++;
        expect(
          r.leaks.filter((l) => !l.knownBug),
          `fail-nth ${n}`,
        ).toEqual([]);
        expect(
          r.invariantViolations.filter((v) => !v.knownBug),
          `fail-nth ${n}`,
        ).toEqual([]);
      }
      expect(injected).toBe(failNthPoints(base.allocations).length);
    },
    120_000,
  );

  it("v6.15: a failed probe in the second DART's walk strands the two-DART master's group (known bug)", () => {
    // 20000000.dma is probed into DART 10000000's instance during DART 10004000's registration
    // walk; when 20001000.dma's probe then fails (-ENOMEM), bus_iommu_probe() returns before
    // any default domain is set up, and unregistering DART 10004000 does not release 20000000.dma.
    const tree = () => [
      dartNode({ addr: 0x10000000, phandle: 10 }),
      dartNode({ addr: 0x10004000, phandle: 11 }),
      masterNode(0x20000000, [10, 2, 11, 2]),
      masterNode(0x20001000, [11, 2]),
    ];
    const base = bootTree(tree(), { profile: 'v6.15' });
    const stranded: number[] = [];
    for (const n of failNthPoints(base.allocations)) {
      const r = bootTree(tree(), { profile: 'v6.15', failNth: n });
      const i3 = r.invariantViolations.filter((v) => v.invariant === 'I3');
      if (i3.length === 0) continue;
      stranded.push(n);
      expect(i3.map((v) => v.knownBug)).toEqual(['bus-probe-strands-groups']);
      // Any allocation of the second master's probe during that walk.
      expect(r.failNth?.injected?.owner).toBe('20001000.dma');
      expect(r.iommus.map((i) => i.name)).toEqual(['apple-dart.10000000.iommu']);
      expect(dev(r, '20000000.dma').iommu).toBe('apple-dart.10000000.iommu');
      expect(groupOf(r, '20000000.dma')?.type).toBe('unknown');
    }
    expect(stranded.length).toBeGreaterThan(0);
  });
});
