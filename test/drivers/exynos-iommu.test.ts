// SPDX-License-Identifier: GPL-2.0-only
// The Samsung Exynos System MMU (Linux 6.12 drivers/iommu/exynos-iommu.c),
// booted from the Galaxy S6-era TM2 (exynos5433) DTB Debian ships and from
// small trees. Expectations come from the kernel source:
//  - exynos_sysmmu_probe(): iommu_device_sysfs_add(..., dev_name(sysmmu)), one
//    instance per System MMU, registered on its own device (fwnode = its
//    node); it needs `reg` (-EINVAL), IRQ 0 (-ENXIO) and the "sysmmu" clock
//    or both "aclk" and "pclk" (-ENOSYS);
//  - exynos_iommu_of_xlate(): 0 cells, no fwspec ID; every entry's System MMU
//    goes on the master's owner list, in `iommus` order; iommu_fwspec_init()
//    keeps the first entry's node;
//  - exynos_iommu_probe_device(): the owner's FIRST System MMU is the instance
//    the core sees (sysfs link), whatever else the owner lists;
//  - generic_device_group(): a group per master;
//  - no def_domain_type(): the Kconfig default (DMA on arm64);
//  - the owner is never freed: known bug exynos-owner-leak.
// Debian builds EXYNOS_IOMMU=n: then the masters wait for the deferred-probe
// timeout and bind without an IOMMU.
import { describe, expect, it } from 'vitest';
import { failNthPoints } from '../support/fail-nth.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bootInputs, type BootResult } from '../../src/api.js';
import { parseFdt } from '../../src/firmware/fdt/fdt-parse.js';
import {
  allNodes,
  fdtCompatible,
  fdtNodeAvailable,
  nodePhandle,
  propU32s,
} from '../../src/firmware/fdt/fdt.js';
import type { ProfileName } from '../../src/profile/profile.js';
import type { Kconfig } from '../../src/kernel/kconfig.js';
import { cells, clocks, node, socTree, spi, str, writeDtb, type Props } from './soc-iommu-dtb.js';
import { deviceNamed as dev, groupPartition as partition } from '../support/boot-result.js';

const FIXTURE = fileURLToPath(
  new URL('../../../shared/fixtures/dtb/arm64-6.12-exynos5433-tm2.dtb', import.meta.url),
);

const boot = (
  path: string,
  profile: ProfileName = 'v6.12',
  kconfig: Partial<Kconfig> = { EXYNOS_IOMMU: 'y' },
) => bootInputs([path], { profile, kconfig });
/** Leaks other than the owners exynos_iommu_of_xlate() never frees are findings. */
const ownerLeaks = (r: BootResult) => {
  expect(r.leaks.filter((l) => l.knownBug !== 'exynos-owner-leak')).toEqual([]);
  expect(r.invariantViolations).toEqual([]);
  return r.leaks.map((l) => `${l.type} ${l.origin} ${l.owner}`).sort();
};

/** Every `iommus` master of the TM2 tree (from its DTS), with its System MMUs in order. */
const TM2_MASTERS = [
  { master: '/soc@0/decon@13800000', name: '13800000.decon', sysmmus: ['13a00000', '13a10000'] },
  { master: '/soc@0/decon@13880000', name: '13880000.decon', sysmmus: ['13a20000', '13a30000'] },
  { master: '/soc@0/video-scaler@13c00000', name: '13c00000.video-scaler', sysmmus: ['13c80000'] },
  { master: '/soc@0/video-scaler@13c10000', name: '13c10000.video-scaler', sysmmus: ['13c90000'] },
  { master: '/soc@0/video-scaler@13c20000', name: '13c20000.video-scaler', sysmmus: ['13ca0000'] },
  { master: '/soc@0/scaler@15000000', name: '15000000.scaler', sysmmus: ['15040000'] },
  { master: '/soc@0/scaler@15010000', name: '15010000.scaler', sysmmus: ['15050000'] },
  { master: '/soc@0/codec@15020000', name: '15020000.codec', sysmmus: ['15060000'] },
  { master: '/soc@0/codec@152e0000', name: '152e0000.codec', sysmmus: ['15200000', '15210000'] },
];
const SYSMMUS = TM2_MASTERS.flatMap((m) => m.sysmmus).sort();
const sysmmuNode = (addr: string) => `/soc@0/sysmmu@${addr}`;

describe('exynos5433-tm2: every `iommus` master', () => {
  const fdt = parseFdt(readFileSync(FIXTURE), FIXTURE);

  it('the table above is every `iommus` user; every System MMU is enabled and has 0 cells', () => {
    const byPhandle = new Map([...allNodes(fdt)].map((n) => [nodePhandle(n), n]));
    const found = [...allNodes(fdt)]
      .filter((n) => propU32s(n, 'iommus'))
      .map((n) => {
        expect(fdtNodeAvailable(n)).toBe(true);
        const targets = propU32s(n, 'iommus')!.map((ph) => byPhandle.get(ph)!);
        for (const t of targets) {
          expect(fdtCompatible(t, 'samsung,exynos-sysmmu')).toBe(true);
          expect(propU32s(t, '#iommu-cells')).toEqual([0]);
          expect(fdtNodeAvailable(t)).toBe(true);
        }
        return { master: n.path, sysmmus: targets.map((t) => t.path) };
      });
    expect(found).toEqual(TM2_MASTERS.map((m) => ({ master: m.master, sysmmus: m.sysmmus.map(sysmmuNode) })));
    const all = [...allNodes(fdt)].filter((n) => fdtCompatible(n, 'samsung,exynos-sysmmu'));
    expect(all.map((n) => n.path).sort()).toEqual(SYSMMUS.map(sysmmuNode));
  });

  it.each(['v6.12', 'v6.15'] as const)(
    '%s, EXYNOS_IOMMU=y: one instance per System MMU; each master on its first one, in a group of its own',
    (profile) => {
      const r = boot(FIXTURE, profile);
      expect(r.iommus.map((i) => i.name).sort()).toEqual(SYSMMUS.map((a) => `${a}.sysmmu`));
      for (const i of r.iommus) {
        expect(i.driver).toBe('exynos-iommu');
        expect(i.fwnode).toBe(sysmmuNode(i.name.slice(0, -'.sysmmu'.length)));
        expect(dev(r, i.name).driver).toBe('exynos-sysmmu');
      }
      for (const m of TM2_MASTERS) {
        const d = dev(r, m.name);
        // exynos_iommu_probe_device(): list_first_entry(&owner->controllers).
        expect(d.iommu).toBe(`${m.sysmmus[0]}.sysmmu`);
        expect(d.fwspec).toMatchObject({ fwnode: sysmmuNode(m.sysmmus[0]), ids: [] });
        expect(d.driver).toMatch(/^of:samsung,/);
        // Every System MMU joined the owner, in `iommus` order.
        const adds = d.history.filter((h) => h.startsWith('exynos_iommu_of_xlate()'));
        expect(adds.slice(-m.sysmmus.length)).toEqual(
          m.sysmmus.map(
            (a, i) =>
              `exynos_iommu_of_xlate(): ${m.master} iommus[${i}] adds ${a}.sysmmu to the owner's controllers`,
          ),
        );
        // 6.12: probed when the stand-in binds. 6.15: during the registration walk of the last
        // System MMU it lists (iommu_fwspec_init() defers until each one is registered).
        expect(d.probedAt).toBe(
          profile === 'v6.12' ? 'replay at driver bind' : `registration of ${m.sysmmus.at(-1)}.sysmmu`,
        );
      }
      // The second System MMUs of decon, decon-tv and MFC never appear as anybody's instance.
      for (const a of ['13a10000', '13a30000', '15210000'])
        expect(r.devices.filter((d) => d.iommu === `${a}.sysmmu`)).toEqual([]);
      // generic_device_group(): every master alone.
      expect(partition(r)).toEqual(TM2_MASTERS.map((m) => [m.name]).sort());
      for (const g of r.groups) {
        expect(g.type).toBe('DMA');
        expect(g.reservedRegions).toEqual([]);
      }
      expect(r.warnings).toEqual([]);
      const leaks = ownerLeaks(r);
      // One owner per master, never freed; 6.15 also loses the owners of the masters whose
      // configuration deferred after the first entry (dev_iommu_free() drops them).
      for (const m of TM2_MASTERS)
        expect(leaks).toContain(`exynos_iommu_owner exynos_iommu_of_xlate ${m.name}`);
      if (profile === 'v6.12') expect(leaks.length).toBe(TM2_MASTERS.length);
      else expect(leaks.length).toBe(TM2_MASTERS.length + 3);
    },
  );

  it('Debian (EXYNOS_IOMMU=n): no instance; every master waits for the timeout and binds without one', () => {
    const r = boot(FIXTURE, 'v6.12', {});
    expect(r.iommus).toEqual([]);
    for (const a of SYSMMUS) expect(dev(r, `${a}.sysmmu`).driver).toBeNull();
    for (const m of TM2_MASTERS) {
      expect(dev(r, m.name)).toMatchObject({ iommu: null, group: null, fwspec: null });
      expect(dev(r, m.name).driver).toMatch(/^of:samsung,/);
      expect(r.log).toContain(`${m.name}: deferred probe timeout, ignoring dependency`);
    }
    expect(r.groups).toEqual([]);
    expect(r.leaks).toEqual([]);
    expect(r.invariantViolations).toEqual([]);
  });
});

/** A System MMU at `addr`: one window, IRQ, "aclk" + "pclk" (as on exynos5433). */
function sysmmu(addr: number, phandle: number, over: Props = {}) {
  const props: Props = {
    compatible: str('samsung,exynos-sysmmu'),
    reg: cells(addr, 0x1000),
    interrupts: spi(addr >> 16),
    clocks: clocks(1, 2),
    'clock-names': str('aclk', 'pclk'),
    '#iommu-cells': cells(0),
    phandle: cells(phandle),
    ...over,
  };
  for (const [k, v] of Object.entries(over)) if (v === DROP) delete props[k];
  return node(`sysmmu@${addr.toString(16)}`, props);
}
/** A property value that removes the property (sysmmu's `over`). */
const DROP = Uint8Array.of();
const master = (name: string, addr: number, iommus: Uint8Array) =>
  node(`${name}@${addr.toString(16)}`, {
    compatible: str('samsung,exynos5433-gsc'),
    reg: cells(addr, 0x1000),
    iommus,
  });

describe('exynos-iommu on small trees', () => {
  it('the FIRST entry is the instance: `iommus = <&s2 &s1>` is probed into s2', () => {
    const r = boot(
      writeDtb(socTree([sysmmu(0x100000, 10), sysmmu(0x110000, 11), master('gsc', 0x200000, cells(11, 10))])),
    );
    expect(dev(r, '200000.gsc')).toMatchObject({
      iommu: '110000.sysmmu',
      fwspec: { fwnode: '/sysmmu@110000', ids: [] },
    });
    expect(ownerLeaks(r)).toEqual(['exynos_iommu_owner exynos_iommu_of_xlate 200000.gsc']);
  });

  it('a master whose System MMU never probed: of_xlate() is never reached (-EPROBE_DEFER, then timeout)', () => {
    const r = boot(
      writeDtb(
        socTree([
          sysmmu(0x100000, 10, { clocks: DROP, 'clock-names': DROP }),
          master('gsc', 0x200000, cells(10)),
        ]),
      ),
    );
    expect(r.log).toContain('100000.sysmmu: Failed to get device clock(s)!');
    expect(r.log).toContain('100000.sysmmu: probe with driver exynos-sysmmu failed with error -38');
    expect(r.iommus).toEqual([]);
    expect(dev(r, '200000.gsc')).toMatchObject({
      iommu: null,
      fwspec: null,
      driver: 'of:samsung,exynos5433-gsc',
    });
    expect(r.log).toContain('200000.gsc: deferred probe timeout, ignoring dependency');
    // No owner was ever allocated: the deferral comes from iommu_fwspec_init(), before of_xlate().
    expect(ownerLeaks(r)).toEqual([]);
  });

  it('a master whose second System MMU failed: the first entry allocates an owner on every attempt, then the timeout', () => {
    const r = boot(
      writeDtb(
        socTree([
          sysmmu(0x100000, 10),
          sysmmu(0x110000, 11, { clocks: clocks(1), 'clock-names': str('aclk') }),
          master('gsc', 0x200000, cells(10, 11)),
        ]),
      ),
    );
    expect(r.log).toContain('110000.sysmmu: Failed to get device clock(s)!');
    expect(r.iommus.map((i) => i.name)).toEqual(['100000.sysmmu']);
    expect(dev(r, '200000.gsc')).toMatchObject({ iommu: null, fwspec: null, group: null });
    expect(r.log).toContain('200000.gsc: deferred probe timeout, ignoring dependency');
    // Each failed of_iommu_configure() frees dev->iommu and with it the only pointer to the owner.
    const leaks = ownerLeaks(r);
    expect(leaks.length).toBeGreaterThanOrEqual(2);
    expect(new Set(leaks)).toEqual(new Set(['exynos_iommu_owner exynos_iommu_of_xlate 200000.gsc']));
  });

  it('the "sysmmu" clock alone is enough; "aclk" without "pclk" is not', () => {
    const r = boot(
      writeDtb(
        socTree([
          sysmmu(0x100000, 10, { clocks: clocks(1), 'clock-names': str('sysmmu') }),
          sysmmu(0x110000, 11, { clocks: clocks(1), 'clock-names': str('aclk') }),
        ]),
      ),
    );
    expect(r.iommus.map((i) => i.name)).toEqual(['100000.sysmmu']);
    expect(r.log).toContain('110000.sysmmu: Failed to get device clock(s)!');
    expect(dev(r, '110000.sysmmu').driver).toBeNull();
  });

  it('no `reg`: devm_ioremap_resource(NULL) is -EINVAL', () => {
    const r = boot(
      writeDtb(socTree([sysmmu(0x100000, 10, { reg: DROP }), master('gsc', 0x200000, cells(10))])),
    );
    expect(r.log).toContain('sysmmu@100000: error -EINVAL: invalid resource (null)');
    expect(r.log).toContain('sysmmu@100000: probe with driver exynos-sysmmu failed with error -22');
    expect(r.iommus).toEqual([]);
    expect(dev(r, '200000.gsc').iommu).toBeNull();
  });

  it('no interrupt: platform_get_irq() -ENXIO, which the driver core takes as a quiet "no match"', () => {
    const r = boot(writeDtb(socTree([sysmmu(0x100000, 10, { interrupts: DROP })])));
    expect(r.log).toContain('100000.sysmmu: error -ENXIO: IRQ index 0 not found');
    expect(r.log).toContain('100000.sysmmu: probe with driver exynos-sysmmu rejects match -6');
    expect(r.log.some((l) => l.includes('failed with error'))).toBe(false);
    expect(r.iommus).toEqual([]);
  });

  it('a disabled System MMU: of_iommu_xlate() -ENODEV at once, no waiting', () => {
    const r = boot(
      writeDtb(
        socTree([sysmmu(0x100000, 10, { status: str('disabled') }), master('gsc', 0x200000, cells(10))]),
      ),
    );
    expect(dev(r, '200000.gsc')).toMatchObject({
      iommu: null,
      fwspec: null,
      driver: 'of:samsung,exynos5433-gsc',
    });
    expect(r.log.some((l) => l.includes('deferred probe timeout'))).toBe(false);
    expect(ownerLeaks(r)).toEqual([]);
  });

  it('#iommu-cells = <1> with a 0-cell entry: malformed, no IOMMU', () => {
    const r = boot(
      writeDtb(
        socTree([sysmmu(0x100000, 10, { '#iommu-cells': cells(1) }), master('gsc', 0x200000, cells(10))]),
      ),
    );
    expect(r.iommus.map((i) => i.name)).toEqual(['100000.sysmmu']);
    expect(dev(r, '200000.gsc')).toMatchObject({ iommu: null, fwspec: null });
    expect(ownerLeaks(r)).toEqual([]);
  });

  it('two masters on one System MMU: one instance for both, but generic_device_group() splits them', () => {
    const r = boot(
      writeDtb(
        socTree([
          sysmmu(0x100000, 10),
          master('gsc', 0x200000, cells(10)),
          master('gsc', 0x210000, cells(10)),
        ]),
      ),
    );
    expect(dev(r, '200000.gsc').iommu).toBe('100000.sysmmu');
    expect(dev(r, '210000.gsc').iommu).toBe('100000.sysmmu');
    expect(partition(r)).toEqual([['200000.gsc'], ['210000.gsc']]);
    expect(ownerLeaks(r).length).toBe(2);
  });
});

describe('fail-nth over the exynos5433 boot', () => {
  it('v6.12, EXYNOS_IOMMU=y: each allocation failed in turn (a spread on big boots: test/support/fail-nth.ts) leaves only the known owner leak', () => {
    const base = boot(FIXTURE);
    expect(base.allocations).toBeGreaterThan(100);
    let injected = 0;
    const sites = new Set<string>();
    for (const n of failNthPoints(base.allocations)) {
      const r = bootInputs([FIXTURE], { profile: 'v6.12', kconfig: { EXYNOS_IOMMU: 'y' }, failNth: n });
      const at = r.failNth?.injected;
      if (at) injected++;
      if (at && at.site.startsWith('exynos')) sites.add(`${at.site} ${at.type}`);
      // The level-1 table comes from the page-table pool (iommu_alloc_pages()), owned by the domain.
      if (at && at.owner === 'exynos-iommu paging' && at.type === 'io-pgtable table')
        sites.add(`${at.site} ${at.type}`);
      expect(r.leaks.filter((l) => l.knownBug !== 'exynos-owner-leak')).toEqual([]);
      expect(r.invariantViolations.filter((v) => !v.knownBug)).toEqual([]);
    }
    expect(injected).toBe(failNthPoints(base.allocations).length);
    expect([...sites].sort()).toEqual([
      'exynos_iommu_domain_alloc_paging exynos_iommu_domain',
      'exynos_iommu_domain_alloc_paging exynos_iommu_domain lv2entcnt',
      'exynos_iommu_of_xlate exynos_iommu_owner',
      'exynos_sysmmu_probe sysmmu_drvdata',
      'iommu_alloc_pages_node io-pgtable table',
    ]);
  });
});
