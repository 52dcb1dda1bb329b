// SPDX-License-Identifier: GPL-2.0-only
// The Rockchip IOMMU (Linux 6.12 drivers/iommu/rockchip-iommu.c), booted from
// the RockPro64 (rk3399) DTB Debian ships and from small trees. Expectations
// come from the kernel source, function by function:
//  - rk_iommu_probe(): iommu_device_sysfs_add(..., dev_name(dev)), so an
//    instance is named after its platform device ("ff8f3f00.iommu") and
//    registered on it (fwnode = the IOMMU node); only available nodes are
//    populated (of_platform_bus_create()), so a disabled IOMMU has none;
//  - rk_iommu_of_xlate(): #iommu-cells 0, no fwspec ID; the entry's instance
//    becomes the master's private data (the last entry wins), while
//    iommu_fwspec_init() keeps the first entry's node in the fwspec;
//  - rk_iommu_probe_device(): the private data's instance (sysfs link);
//  - generic_single_device_group(): one group per instance;
//  - no def_domain_type(): the Kconfig default (Debian: DMA, strict).
import { describe, expect, it } from 'vitest';
import { failNthPoints } from '../support/fail-nth.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bootInputs, type BootResult } from '../../src/api.js';
import { parseFdt } from '../../src/firmware/fdt/fdt-parse.js';
import { allNodes, fdtNodeAvailable, nodePhandle, propU32s } from '../../src/firmware/fdt/fdt.js';
import type { ProfileName } from '../../src/profile/profile.js';
import type { Kconfig } from '../../src/kernel/kconfig.js';
import { cells, clocks, empty, node, socTree, spi, str, writeDtb, type Props } from './soc-iommu-dtb.js';
import { deviceNamed as dev, groupPartition as partition } from '../support/boot-result.js';

const FIXTURE = fileURLToPath(
  new URL('../../../shared/fixtures/dtb/arm64-6.12-rk3399-rockpro64.dtb', import.meta.url),
);

const boot = (path: string, profile: ProfileName = 'v6.12', kconfig: Partial<Kconfig> = {}) =>
  bootInputs([path], { profile, kconfig });
const clean = (r: BootResult) => {
  expect(r.leaks.filter((l) => !l.knownBug)).toEqual([]);
  expect(r.invariantViolations).toEqual([]);
};

/**
 * Every `iommus` master of the RockPro64 tree, read from its DTS: master node,
 * IOMMU node, whether the master is enabled, and the device name
 * of_device_make_bus_id() gives it. isp0/isp1 are disabled on this board.
 */
const RK3399_MASTERS = [
  { master: '/video-codec@ff650000', iommu: '/iommu@ff650800', on: true, name: 'ff650000.video-codec' },
  { master: '/video-codec@ff660000', iommu: '/iommu@ff660480', on: true, name: 'ff660000.video-codec' },
  { master: '/vop@ff8f0000', iommu: '/iommu@ff8f3f00', on: true, name: 'ff8f0000.vop' },
  { master: '/vop@ff900000', iommu: '/iommu@ff903f00', on: true, name: 'ff900000.vop' },
  { master: '/isp0@ff910000', iommu: '/iommu@ff914000', on: false, name: 'ff910000.isp0' },
  { master: '/isp1@ff920000', iommu: '/iommu@ff924000', on: false, name: 'ff920000.isp1' },
];
/** The enabled rockchip,iommu nodes, in tree order; iommu@ff670800 is disabled. */
const RK3399_INSTANCES = [
  'ff650800.iommu',
  'ff660480.iommu',
  'ff8f3f00.iommu',
  'ff903f00.iommu',
  'ff914000.iommu',
  'ff924000.iommu',
];
const instanceOf = (iommuNode: string) => `${iommuNode.slice('/iommu@'.length)}.iommu`;

describe('rk3399-rockpro64: every `iommus` master', () => {
  const fdt = parseFdt(readFileSync(FIXTURE), FIXTURE);

  it('the table above is every `iommus` user of the tree, each with one 0-cell entry', () => {
    const byPhandle = new Map([...allNodes(fdt)].map((n) => [nodePhandle(n), n]));
    const found = [...allNodes(fdt)]
      .filter((n) => propU32s(n, 'iommus'))
      .map((n) => {
        const [ph, ...rest] = propU32s(n, 'iommus')!;
        const target = byPhandle.get(ph)!;
        expect(rest).toEqual([]);
        expect(propU32s(target, '#iommu-cells')).toEqual([0]);
        return { master: n.path, iommu: target.path, on: fdtNodeAvailable(n) };
      });
    expect(found).toEqual(RK3399_MASTERS.map(({ master, iommu, on }) => ({ master, iommu, on })));
    const rkNodes = [...allNodes(fdt)].filter((n) => n.properties.some((p) => p.name === '#iommu-cells'));
    expect(rkNodes.filter(fdtNodeAvailable).map((n) => instanceOf(n.path))).toEqual(RK3399_INSTANCES);
    expect(rkNodes.filter((n) => !fdtNodeAvailable(n)).map((n) => n.path)).toEqual(['/iommu@ff670800']);
  });

  it.each(['v6.12', 'v6.15'] as const)(
    '%s (Debian: ROCKCHIP_IOMMU=y): each master in its own instance, one group per instance, DMA',
    (profile) => {
      const r = boot(FIXTURE, profile);
      expect(r.iommus).toEqual(
        RK3399_INSTANCES.map((name) => ({
          name,
          driver: 'rockchip-iommu',
          fwnode: `/iommu@${name.slice(0, -'.iommu'.length)}`,
        })),
      );
      for (const name of RK3399_INSTANCES) expect(dev(r, name).driver).toBe('rk_iommu');
      expect(r.devices.some((d) => d.name.startsWith('ff670800.'))).toBe(false);
      for (const m of RK3399_MASTERS) {
        if (!m.on) {
          // A disabled master is never populated: no device, nothing to probe.
          expect(r.devices.some((d) => d.name === m.name)).toBe(false);
          continue;
        }
        const d = dev(r, m.name);
        expect(d.iommu).toBe(instanceOf(m.iommu));
        expect(d.fwspec).toMatchObject({ fwnode: m.iommu, ids: [] });
        expect(d.driver).toMatch(/^of:rockchip,/);
        // 6.12: fwspec and probe when the stand-in driver binds; 6.15: at the instance's registration.
        expect(d.probedAt).toBe(
          profile === 'v6.12' ? 'replay at driver bind' : `registration of ${instanceOf(m.iommu)}`,
        );
        expect(d.history.join('\n')).toContain(`rk_iommu_of_xlate(): ${m.master} iommus[0] names ${d.iommu}`);
      }
      // generic_single_device_group(): one group per instance; here one master each.
      expect(partition(r)).toEqual([
        ['ff650000.video-codec'],
        ['ff660000.video-codec'],
        ['ff8f0000.vop'],
        ['ff900000.vop'],
      ]);
      for (const g of r.groups) {
        expect(g.type).toBe('DMA');
        expect(g.reservedRegions).toEqual([]);
        expect(g.why.join('\n')).toContain('generic_single_device_group');
      }
      // The ISPs' instances register with nothing behind them.
      expect(r.devices.filter((d) => d.iommu === 'ff914000.iommu' || d.iommu === 'ff924000.iommu')).toEqual(
        [],
      );
      expect(r.log.some((l) => l.includes('Failed to get clk'))).toBe(false);
      clean(r);
      // rk_iommu_release_device() does not detach: freeing each emptied group's default domain
      // at removal finds its instance still on rk_domain->iommus.
      const warns = r.warnings.filter((w) => w.site === 'rk_iommu_domain_free');
      expect(warns.map((w) => w.message.split(': still attached to ')[1]).sort()).toEqual([
        'ff650800.iommu',
        'ff660480.iommu',
        'ff8f3f00.iommu',
        'ff903f00.iommu',
      ]);
      expect(r.warnings.length).toBe(warns.length);
    },
  );

  it('ROCKCHIP_IOMMU=n: the masters wait for the deferred-probe timeout and bind without an IOMMU', () => {
    const r = boot(FIXTURE, 'v6.12', { ROCKCHIP_IOMMU: 'n' });
    expect(r.iommus).toEqual([]);
    for (const name of RK3399_INSTANCES) expect(dev(r, name).driver).toBeNull();
    for (const m of RK3399_MASTERS.filter((x) => x.on)) {
      const d = dev(r, m.name);
      expect(d).toMatchObject({ iommu: null, group: null, fwspec: null });
      expect(d.driver).toMatch(/^of:rockchip,/);
      expect(r.log).toContain(`${m.name}: deferred probe timeout, ignoring dependency`);
    }
    expect(r.groups).toEqual([]);
    expect(r.leaks).toEqual([]);
  });
});

/** A property value that removes the property (rkIommu's `over`). */
const DROP = Uint8Array.of();

/** A rockchip,iommu node at `addr` with one MMU window, its interrupt and both clocks. */
function rkIommu(addr: number, phandle: number, over: Props = {}, compatible = 'rockchip,iommu') {
  const props: Props = {
    compatible: str(compatible),
    reg: cells(addr, 0x100),
    interrupts: spi(addr & 0xff),
    clocks: clocks(1, 2),
    'clock-names': str('aclk', 'iface'),
    '#iommu-cells': cells(0),
    phandle: cells(phandle),
    ...over,
  };
  for (const [k, v] of Object.entries(over)) if (v === DROP) delete props[k];
  return node(`iommu@${addr.toString(16)}`, props);
}
const master = (name: string, addr: number, iommus: Uint8Array, compatible = 'rockchip,rk3399-vop-lit') =>
  node(`${name}@${addr.toString(16)}`, { compatible: str(compatible), reg: cells(addr, 0x1000), iommus });

describe('rockchip-iommu on small trees', () => {
  it('generic_single_device_group(): the masters of one instance share its group', () => {
    const r = boot(
      writeDtb(
        socTree([
          rkIommu(0x10000, 10),
          rkIommu(0x20000, 11),
          master('vop', 0x30000, cells(10)),
          master('vpu', 0x40000, cells(10), 'rockchip,rk3399-vpu'),
          master('vdec', 0x50000, cells(11), 'rockchip,rk3399-vdec'),
        ]),
      ),
    );
    expect(dev(r, '30000.vop').iommu).toBe('10000.iommu');
    expect(dev(r, '40000.vpu').iommu).toBe('10000.iommu');
    expect(dev(r, '50000.vdec').iommu).toBe('20000.iommu');
    expect(partition(r)).toEqual([['30000.vop', '40000.vpu'], ['50000.vdec']]);
    clean(r);
  });

  it.each(['v6.12', 'v6.15'] as const)(
    '%s: a master listing two IOMMUs keeps the first in its fwspec but is probed into the last',
    (profile) => {
      const r = boot(
        writeDtb(
          socTree([
            rkIommu(0x10000, 10),
            rkIommu(0x20000, 11),
            master('vop', 0x30000, cells(10, 11)),
            master('vdec', 0x50000, cells(11), 'rockchip,rk3399-vdec'),
          ]),
        ),
        profile,
      );
      const vop = dev(r, '30000.vop');
      // iommu_fwspec_init() keeps the fwspec the first entry made (same ops: 0).
      expect(vop.fwspec).toMatchObject({ fwnode: '/iommu@10000', ids: [] });
      // Each rk_iommu_of_xlate() replaces the private data: the last entry's instance.
      expect(vop.iommu).toBe('20000.iommu');
      expect(vop.history.join('\n')).toContain('names 20000.iommu, replacing 10000.iommu');
      // ...and so the last instance's single group, with that instance's own master.
      expect(partition(r)).toEqual([['30000.vop', '50000.vdec']]);
      clean(r);
    },
  );

  it('an `iommus` entry naming a disabled IOMMU: of_iommu_xlate() -ENODEV, the master binds without one', () => {
    const r = boot(
      writeDtb(
        socTree([rkIommu(0x10000, 10, { status: str('disabled') }), master('vop', 0x30000, cells(10))]),
      ),
    );
    expect(r.iommus).toEqual([]);
    expect(dev(r, '30000.vop')).toMatchObject({
      iommu: null,
      fwspec: null,
      driver: 'of:rockchip,rk3399-vop-lit',
    });
    expect(r.log.some((l) => l.startsWith('30000.vop: deferred probe timeout'))).toBe(false);
    clean(r);
  });

  it('#iommu-cells = <1>: an entry without the cell is malformed, one with it is accepted and the cell ignored', () => {
    const tree = (iommus: Uint8Array) =>
      writeDtb(socTree([rkIommu(0x10000, 10, { '#iommu-cells': cells(1) }), master('vop', 0x30000, iommus)]));
    const short = boot(tree(cells(10)));
    expect(short.iommus.map((i) => i.name)).toEqual(['10000.iommu']);
    expect(dev(short, '30000.vop')).toMatchObject({ iommu: null, fwspec: null, group: null });
    // of_parse_phandle_with_args() reports the malformed list against the master's node.
    expect(short.log.some((l) => l.startsWith('OF: /vop@30000') && l.includes('#iommu-cells'))).toBe(true);
    clean(short);
    const withCell = boot(tree(cells(10, 7)));
    // rk_iommu_of_xlate() never reads args: no ID reaches the fwspec.
    expect(dev(withCell, '30000.vop')).toMatchObject({
      iommu: '10000.iommu',
      fwspec: { fwnode: '/iommu@10000', ids: [] },
    });
    clean(withCell);
  });

  it('no #iommu-cells on the IOMMU: the entry cannot be parsed, no IOMMU for the master', () => {
    const r = boot(
      writeDtb(socTree([rkIommu(0x10000, 10, { '#iommu-cells': DROP }), master('vop', 0x30000, cells(10))])),
    );
    expect(dev(r, '30000.vop')).toMatchObject({ iommu: null, fwspec: null });
    expect(r.log.some((l) => l.startsWith('OF: /vop@30000') && l.includes('#iommu-cells'))).toBe(true);
    clean(r);
  });

  it('devm_clk_bulk_get(): a missing clock is logged, then tolerated (older device trees)', () => {
    const r = boot(
      writeDtb(
        socTree([
          rkIommu(0x10000, 10, { clocks: DROP, 'clock-names': DROP }),
          rkIommu(0x20000, 11, { clocks: clocks(1), 'clock-names': str('aclk') }),
          master('vop', 0x30000, cells(10)),
          master('vdec', 0x50000, cells(11), 'rockchip,rk3399-vdec'),
        ]),
      ),
    );
    expect(r.log).toContain("10000.iommu: error -ENOENT: Failed to get clk 'aclk'");
    expect(r.log).toContain("20000.iommu: error -ENOENT: Failed to get clk 'iface'");
    expect(r.iommus.map((i) => i.name)).toEqual(['10000.iommu', '20000.iommu']);
    expect(dev(r, '30000.vop').iommu).toBe('10000.iommu');
    expect(dev(r, '50000.vdec').iommu).toBe('20000.iommu');
    clean(r);
  });

  it('no `reg` but interrupts: still no resources (of_device_alloc() makes none for IRQs), so the same oops', () => {
    const r = boot(
      writeDtb(socTree([rkIommu(0x10000, 10, { reg: DROP }), master('vop', 0x30000, cells(10))])),
    );
    // Without `reg` the device is named after its node (of_device_make_bus_id()).
    expect(r.log).toContain(
      'iommu@10000: Unable to handle kernel paging request at virtual address 0000000000000010',
    );
    expect(dev(r, 'iommu@10000').driver).toBeNull();
    expect(r.iommus).toEqual([]);
    expect(dev(r, '30000.vop')).toMatchObject({
      iommu: null,
      fwspec: null,
      driver: 'of:rockchip,rk3399-vop-lit',
    });
    expect(r.log).toContain('30000.vop: deferred probe timeout, ignoring dependency');
    clean(r);
  });

  it('no resources at all: bases[] is ZERO_SIZE_PTR and bases[0] is read through it (oops)', () => {
    const r = boot(
      writeDtb(
        socTree([
          node('iommu@10000', {
            compatible: str('rockchip,iommu'),
            '#iommu-cells': cells(0),
            phandle: cells(10),
          }),
          master('vop', 0x30000, cells(10)),
        ]),
      ),
    );
    expect(r.warnings.map((w) => w.site)).toContain('rk_iommu_probe');
    expect(r.log).toContain(
      'iommu@10000: Unable to handle kernel paging request at virtual address 0000000000000010',
    );
    expect(dev(r, 'iommu@10000').driver).toBeNull();
    expect(dev(r, '30000.vop').iommu).toBeNull();
    clean(r);
  });

  it('v1 and v2 blocks in one system: the second variant WARNs and fails with -EINVAL', () => {
    const r = boot(
      writeDtb(
        socTree([
          rkIommu(0x10000, 10),
          rkIommu(0x20000, 11, {}, 'rockchip,rk3568-iommu'),
          master('vop', 0x30000, cells(10)),
          master('vdec', 0x50000, cells(11), 'rockchip,rk3399-vdec'),
        ]),
      ),
    );
    expect(r.warnings).toContainEqual({
      site: 'rk_iommu_probe',
      message: 'WARN_ON(rk_ops != ops)',
      device: '20000.iommu',
    });
    expect(r.log).toContain('20000.iommu: probe with driver rk_iommu failed with error -22');
    expect(r.iommus.map((i) => i.name)).toEqual(['10000.iommu']);
    expect(dev(r, '30000.vop').iommu).toBe('10000.iommu');
    expect(dev(r, '50000.vdec')).toMatchObject({ iommu: null, fwspec: null });
    expect(r.log).toContain('50000.vdec: deferred probe timeout, ignoring dependency');
    clean(r);
  });

  it('rk3568-style fallback compatible: the v2 entry matches through the second compatible', () => {
    const r = boot(
      writeDtb(
        socTree([
          node('iommu@10000', {
            compatible: str('rockchip,rk3588-iommu', 'rockchip,rk3568-iommu'),
            reg: cells(0x10000, 0x100),
            interrupts: spi(1),
            clocks: clocks(1, 2),
            'clock-names': str('aclk', 'iface'),
            '#iommu-cells': cells(0),
            phandle: cells(10),
            'rockchip,disable-mmu-reset': empty(),
          }),
          master('vop', 0x30000, cells(10), 'rockchip,rk3588-vop'),
        ]),
      ),
    );
    expect(r.iommus).toEqual([{ name: '10000.iommu', driver: 'rockchip-iommu', fwnode: '/iommu@10000' }]);
    expect(dev(r, '30000.vop').iommu).toBe('10000.iommu');
    clean(r);
  });
});

describe('fail-nth over the rk3399 boot', () => {
  it('v6.12: each allocation failed in turn (a spread on big boots: test/support/fail-nth.ts) leaves no leak and no invariant broken', () => {
    const base = boot(FIXTURE);
    expect(base.allocations).toBeGreaterThan(100);
    let injected = 0;
    const rkSites = new Set<string>();
    for (const n of failNthPoints(base.allocations)) {
      const r = bootInputs([FIXTURE], { profile: 'v6.12', failNth: n });
      if (r.failNth?.injected) injected++;
      const at = r.failNth?.injected;
      if (at && at.site.startsWith('rk_iommu')) rkSites.add(`${at.site} ${at.type}`);
      // The DT page comes from the page-table pool (iommu_alloc_page()), owned by the domain.
      if (at && at.owner === 'rockchip-iommu paging' && at.type === 'io-pgtable table')
        rkSites.add(`${at.site} ${at.type}`);
      expect(r.leaks.filter((l) => !l.knownBug)).toEqual([]);
      expect(r.invariantViolations.filter((v) => !v.knownBug)).toEqual([]);
    }
    expect(injected).toBe(failNthPoints(base.allocations).length);
    // The driver's own allocations were among those failed: probe, of_xlate, paging domains.
    expect([...rkSites].sort()).toEqual([
      'iommu_alloc_pages_node io-pgtable table',
      'rk_iommu_domain_alloc_paging rk_iommu_domain',
      'rk_iommu_of_xlate rk_iommudata',
      'rk_iommu_probe rk_iommu',
      'rk_iommu_probe rk_iommu bases',
      'rk_iommu_probe rk_iommu clocks',
    ]);
  });
});
