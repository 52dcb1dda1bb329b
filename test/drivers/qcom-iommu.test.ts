// SPDX-License-Identifier: GPL-2.0-only
// The Qualcomm IOMMU (Linux 6.12 drivers/iommu/arm/arm-smmu/qcom_iommu.c),
// booted from Debian's DragonBoard 410c (apq8016-sbc) DTB and from small
// trees for what the fixture does not show. Expectations come from the
// kernel source:
//  - qcom_iommu_device_probe(): ctxs[] sized by the largest child ASID; the
//    "iface" and "bus" clocks and qcom,iommu-secure-id are required; the
//    context banks are populated as children (qcom_iommu_ctx_probe() files
//    each under get_asid(): reg / 0x1000 unless qcom,ctx-asid); the instance
//    is named dev_name(dev): "1ef0000.iommu" for apps_iommu, and
//    "soc@0:iommu@1f08000" for gpu_iommu, which has no `reg`
//    (of_device_make_bus_id() then joins node names up to /soc@0);
//  - qcom_iommu_of_xlate(): one cell, the ASID; asid > max_asid or a bank
//    that did not probe: WARN and -EINVAL; entries on two IOMMUs: WARN and
//    -EINVAL; the wrong cell count: an error line and -EINVAL;
//  - device_group = generic_device_group: one group per master; no
//    get_resv_regions, so no reserved regions.
// Debian's arm64 config builds QCOM_IOMMU in (it is a bool).
import { describe, expect, it } from 'vitest';
import { failNthPoints } from '../support/fail-nth.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bootInputs, loadInputs } from '../../src/api.js';
import type { BootResult } from '../../src/api.js';
import { parseFdt } from '../../src/firmware/fdt/fdt-parse.js';
import { allNodes, fdtNodeAvailable, getProperty } from '../../src/firmware/fdt/fdt.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { driver_register } from '../../src/base/driver.js';
import { device_release_driver } from '../../src/base/dd.js';
import { qcomIommuDriver } from '../../src/drivers/qcom-iommu/qcom-iommu.js';
import { qcomIommuCtxDriver } from '../../src/drivers/qcom-iommu/qcom-iommu-ctx.js';
import { snapshot } from '../../src/report/snapshot.js';
import { checkInvariants } from '../../src/checker/invariants.js';
import { teardown, leakReport } from '../../src/checker/teardown.js';
import { iommu_paging_domain_alloc, iommu_domain_free } from '../../src/iommu/domain-alloc.js';
import { iommu_attach_device, iommu_detach_group } from '../../src/iommu/attach.js';
import { IS_ERR } from '../../src/kernel/errno.js';
import { dtbFile, gic, node, root } from '../support/dt.js';
import type { TreeSpec } from '../support/fdt-build.js';
import { deviceNamed as dev } from '../support/boot-result.js';

const FIXTURE = fileURLToPath(
  new URL('../../../shared/fixtures/dtb/arm64-6.12-apq8016-sbc.dtb', import.meta.url),
);
const APPS = '1ef0000.iommu';
const GPU = 'soc@0:iommu@1f08000';

const logHas = (r: BootResult, re: RegExp) => r.log.some((l) => re.test(l));

/** Each master of the fixture: its node, its device (null: never populated), and what 6.12 gives it. */
const MASTERS = [
  // iommus = <&apps_iommu 4>: mdp5 sits under the qcom,mdss node, which is no bus: the boot makes
  // no device for it, the MDSS driver's probe does (mdss_probe() calls of_platform_populate()).
  {
    path: '/soc@0/display-subsystem@1a00000/display-controller@1a01000',
    dev: '1a01000.display-controller',
    iommu: APPS,
    ids: [4],
  },
  // <&apps_iommu 3>: context bank iommu-ctx@3000 (qcom,msm-iommu-v1-sec)
  { path: '/soc@0/camss@1b0ac00', dev: '1b0ac00.camss', iommu: APPS, ids: [3] },
  // <&gpu_iommu 1 &gpu_iommu 2>: two banks of one IOMMU
  { path: '/soc@0/gpu@1c00000', dev: '1c00000.gpu', iommu: GPU, ids: [1, 2] },
  // <&apps_iommu 5>: iommu-ctx@5000 (-sec)
  { path: '/soc@0/video-codec@1d00000', dev: '1d00000.video-codec', iommu: APPS, ids: [5] },
] as const;
const CTX_DEVICES = [
  // apps_iommu: ranges <0 0x1e20000 0x20000>, banks at 0x3000, 0x4000, 0x5000
  '1e23000.iommu-ctx',
  '1e24000.iommu-ctx',
  '1e25000.iommu-ctx',
  // gpu_iommu: ranges <0 0x1f08000 0x10000>, banks at 0x1000, 0x2000
  '1f09000.iommu-ctx',
  '1f0a000.iommu-ctx',
];

describe('DragonBoard 410c (apq8016-sbc) fixture', () => {
  it('the expectation list covers every node with an iommus binding', () => {
    const fdt = parseFdt(readFileSync(FIXTURE), FIXTURE);
    const withIommus = [...allNodes(fdt)].filter((n) => getProperty(n, 'iommus'));
    expect(withIommus.map((n) => n.path).sort()).toEqual(MASTERS.map((m) => m.path).sort());
    expect(withIommus.every((n) => fdtNodeAvailable(n))).toBe(true);
  });

  it.each(['v6.12', 'v6.15'] as const)(
    "%s, Debian's config (QCOM_IOMMU=y): two instances, the context banks, an ASID per bank",
    (profile) => {
      const r = bootInputs([FIXTURE], { profile });
      expect(r.iommus).toEqual([
        { name: APPS, driver: 'qcom-iommu', fwnode: '/soc@0/iommu@1ef0000' },
        { name: GPU, driver: 'qcom-iommu', fwnode: '/soc@0/iommu@1f08000' },
      ]);
      for (const name of CTX_DEVICES) expect(dev(r, name).driver).toBe('qcom-iommu-ctx');
      for (const m of MASTERS) {
        const d = dev(r, m.dev);
        expect(d.iommu).toBe(m.iommu);
        expect(d.fwspec).toMatchObject({
          fwnode: `/soc@0/${m.iommu === APPS ? 'iommu@1ef0000' : 'iommu@1f08000'}`,
          ids: m.ids,
        });
        expect(d.driver).toMatch(/^of:/);
      }
      // generic_device_group(): every master alone, DMA domains, no reserved regions. 6.12 makes
      // the groups as the masters bind (in tree order); v6.15 in each IOMMU's registration walk,
      // the apps IOMMU's masters first, then at device_add for the display controller the MDSS
      // stand-in populates once bound.
      expect(r.groups.map((g) => g.devices)).toEqual(
        profile === 'v6.12'
          ? [['1a01000.display-controller'], ['1b0ac00.camss'], ['1c00000.gpu'], ['1d00000.video-codec']]
          : [['1b0ac00.camss'], ['1d00000.video-codec'], ['1c00000.gpu'], ['1a01000.display-controller']],
      );
      expect(r.groups.every((g) => g.type === 'DMA' && g.reservedRegions.length === 0)).toBe(true);
      expect(r.devices.filter((d) => d.iommu).map((d) => d.probedAt)).toEqual(
        profile === 'v6.12'
          ? Array(4).fill('replay at driver bind')
          : [
              'device_add',
              'registration of 1ef0000.iommu',
              'registration of soc@0:iommu@1f08000',
              'registration of 1ef0000.iommu',
            ],
      );
      // The context banks are bound before the IOMMU registers (qcom_iommu_init() order): no WARN.
      expect(r.warnings).toEqual([]);
      expect(r.leaks).toEqual([]);
      expect(r.invariantViolations).toEqual([]);
    },
  );

  it('v6.15 in qcom_iommu_init() order (context banks first): masters probed from the registration walk', () => {
    // QCOM_IOMMU=n keeps the boot from registering the drivers; the masters wait (no timeout),
    // then the two drivers are registered in the kernel's order.
    const { desc, file, firmware } = loadInputs([FIXTURE], { kconfig: { QCOM_IOMMU: 'n' } });
    const { k } = bootPlatform(desc, { profile: 'v6.15', file, firmware, deferredProbeTimeout: false });
    expect(k.base.deferred.size).toBe(4);
    driver_register(k, qcomIommuCtxDriver(k));
    driver_register(k, qcomIommuDriver(k));
    k.runDeferredProbe();
    const snap = snapshot(k);
    expect(snap.warnings).toEqual([]);
    const masters = snap.devices.filter((d) => d.iommu);
    expect(masters.map((d) => [d.name, d.iommu, d.fwspec?.ids, d.probedAt])).toEqual([
      ['1a01000.display-controller', APPS, [4], `registration of ${APPS}`],
      ['1b0ac00.camss', APPS, [3], `registration of ${APPS}`],
      ['1c00000.gpu', GPU, [1, 2], `registration of ${GPU}`],
      ['1d00000.video-codec', APPS, [5], `registration of ${APPS}`],
    ]);
    expect(checkInvariants(k)).toEqual([]);
    teardown(k);
    expect(leakReport(k)).toEqual([]);
  });

  it('unbinding the IOMMU with clients probed: sysfs goes first, so unlinking them dereferences NULL (WARN for the oops)', () => {
    const { desc, file, firmware } = loadInputs([FIXTURE]);
    const { k, devices } = bootPlatform(desc, { profile: 'v6.12', file, firmware });
    const apps = [...k.base.devices].find((d) => d.name === APPS)!;
    expect(devices.get('1b0ac00.camss')?.iommu_group).not.toBeNull();
    device_release_driver(k, apps);
    const w = snapshot(k).warnings.filter((x) => x.site === 'iommu_device_unlink');
    // qcom_iommu_device_remove(): iommu_device_sysfs_remove() before iommu_device_unregister().
    expect(w.map((x) => x.device).sort()).toEqual([
      '1a01000.display-controller',
      '1b0ac00.camss',
      '1d00000.video-codec',
    ]);
    expect(devices.get('1b0ac00.camss')?.iommu_group).toBeNull();
  });

  it('QCOM_IOMMU=n: no instance, no context banks; the masters time out and bind without an IOMMU', () => {
    const r = bootInputs([FIXTURE], { profile: 'v6.12', kconfig: { QCOM_IOMMU: 'n' } });
    expect(r.iommus).toEqual([]);
    expect(r.groups).toEqual([]);
    for (const name of CTX_DEVICES) expect(r.devices.some((d) => d.name === name)).toBe(false);
    for (const m of MASTERS) {
      const d = dev(r, m.dev);
      expect(d.driver).toMatch(/^of:/);
      expect(d.iommu).toBeNull();
      expect(d.fwspec).toBeNull();
      expect(d.history.join('\n')).toMatch(/ETIMEDOUT/);
    }
    expect(r.leaks).toEqual([]);
  });

  it('domains: identity on iommu.passthrough=1; a paging domain stays with its first IOMMU', () => {
    const pt = bootInputs([FIXTURE], { profile: 'v6.12', cmdline: 'iommu.passthrough=1' });
    expect(pt.groups.map((g) => g.type)).toEqual(['identity', 'identity', 'identity', 'identity']);

    const { desc, file, firmware } = loadInputs([FIXTURE]);
    const { k, devices } = bootPlatform(desc, { profile: 'v6.12', file, firmware });
    const camss = devices.get('1b0ac00.camss')!;
    const venus = devices.get('1d00000.video-codec')!;
    const gpu = devices.get('1c00000.gpu')!;
    const d = iommu_paging_domain_alloc(k, camss);
    if (IS_ERR(d)) throw new Error('no domain');
    expect(iommu_attach_device(k, d, camss)).toBe(0);
    // The 4K granule of ARM_32_LPAE_S1 leaves 4K of the driver's 4K | 64K | 1M | 16M.
    expect(d.pgsize_bitmap).toBe(0x1000);
    expect(iommu_attach_device(k, d, venus)).toBe(0); // the same IOMMU (apps_iommu)
    expect(iommu_attach_device(k, d, gpu)).toBe(-22); // qcom_iommu_attach_dev(): another IOMMU
    iommu_detach_group(k, venus.iommu_group!);
    iommu_detach_group(k, camss.iommu_group!);
    iommu_domain_free(k, d);
    expect(checkInvariants(k)).toEqual([]);
    teardown(k);
    expect(leakReport(k)).toEqual([]);
  });
});

// ---- small trees: a qcom,msm-iommu-v1 with context banks under a /soc@0 simple-bus

const IOMMU = 0x10;
const IOMMU2 = 0x11;
const GCC = 0x20;

type Props = Record<string, number | number[] | string | string[] | true>;

function ctx(offset: number, props: Props = {}, compatible = 'qcom,msm-iommu-v1-ns'): TreeSpec {
  return node(`iommu-ctx@${offset.toString(16)}`, {
    compatible,
    reg: [offset, 0x1000],
    interrupts: [0, 70, 4],
    ...props,
  });
}

function qcomIommu(addr: number, phandle: number, banks: TreeSpec[], props: Props = {}): TreeSpec {
  return node(
    `iommu@${addr.toString(16)}`,
    {
      '#address-cells': 1,
      '#size-cells': 1,
      '#iommu-cells': 1,
      compatible: ['qcom,msm8916-iommu', 'qcom,msm-iommu-v1'],
      ranges: [0, addr, 0x10000],
      reg: [addr + 0x10000, 0x1000],
      clocks: [GCC, 1, GCC, 2],
      'clock-names': ['iface', 'bus'],
      'qcom,iommu-secure-id': 17,
      phandle,
      ...props,
    },
    banks,
  );
}

function master(iommus: number[], name = 'camss@1b0ac00'): TreeSpec {
  const addr = Number.parseInt(name.split('@')[1], 16);
  return node(name, { compatible: `test,${name.split('@')[0]}`, reg: [addr, 0x1000], iommus });
}

function qcomTree(children: TreeSpec[]): string {
  return dtbFile(
    root(
      [
        gic(),
        node(
          'soc@0',
          { compatible: 'simple-bus', '#address-cells': 1, '#size-cells': 1, ranges: [0, 0, 0, 0xffffffff] },
          [
            node('clock-controller@1800000', {
              compatible: 'qcom,gcc-msm8916',
              reg: [0x1800000, 0x80000],
              '#clock-cells': 1,
              phandle: GCC,
            }),
            ...children,
          ],
        ),
      ],
      { compatible: ['test,board', 'qcom,apq8016'] },
    ),
  );
}

const BANKS = [ctx(0x1000), ctx(0x2000)];

describe('malformed and unusual trees', () => {
  it('a good tree: the bank names come from reg through the IOMMU ranges', () => {
    const r = bootInputs([qcomTree([qcomIommu(0x1e00000, IOMMU, BANKS), master([IOMMU, 2])])], {
      profile: 'v6.12',
    });
    expect(r.iommus.map((i) => i.name)).toEqual(['1e10000.iommu']);
    expect(dev(r, '1e01000.iommu-ctx').driver).toBe('qcom-iommu-ctx');
    expect(dev(r, '1e02000.iommu-ctx').driver).toBe('qcom-iommu-ctx');
    expect(dev(r, '1b0ac00.camss').fwspec?.ids).toEqual([2]);
    expect(r.warnings).toEqual([]);
  });

  it('#iommu-cells = <2>: "incorrect number of iommu params", -EINVAL, no IOMMU', () => {
    const r = bootInputs(
      [qcomTree([qcomIommu(0x1e00000, IOMMU, BANKS, { '#iommu-cells': 2 }), master([IOMMU, 1, 0])])],
      { profile: 'v6.12' },
    );
    expect(
      logHas(
        r,
        /1b0ac00\.camss: incorrect number of iommu params found for iommu@1e00000 \(found 2, expected 1\)/,
      ),
    ).toBe(true);
    expect(dev(r, '1b0ac00.camss').iommu).toBeNull();
    expect(dev(r, '1b0ac00.camss').fwspec).toBeNull();
    expect(r.warnings).toEqual([]);
    expect(r.leaks).toEqual([]);
  });

  it('an ASID above the largest bank: WARN_ON(asid > max_asid), -EINVAL', () => {
    const r = bootInputs([qcomTree([qcomIommu(0x1e00000, IOMMU, BANKS), master([IOMMU, 3])])], {
      profile: 'v6.12',
    });
    expect(r.warnings.map((w) => [w.site, w.message, w.device])).toEqual([
      ['qcom_iommu_of_xlate', 'WARN_ON(asid > qcom_iommu->max_asid)', '1b0ac00.camss'],
    ]);
    expect(dev(r, '1b0ac00.camss').iommu).toBeNull();
    expect(r.leaks).toEqual([]);
  });

  it('a disabled bank still counts for max_asid but has no context: WARN_ON(ctxs[asid] == NULL)', () => {
    const r = bootInputs(
      [
        qcomTree([
          qcomIommu(0x1e00000, IOMMU, [ctx(0x1000), ctx(0x4000, { status: 'disabled' })]),
          master([IOMMU, 4]),
        ]),
      ],
      { profile: 'v6.12' },
    );
    expect(r.devices.some((d) => d.name === '1e04000.iommu-ctx')).toBe(false);
    expect(r.warnings.map((w) => w.message)).toEqual(['WARN_ON(qcom_iommu->ctxs[asid] == NULL)']);
    expect(dev(r, '1b0ac00.camss').iommu).toBeNull();
  });

  it('a bank without interrupts fails to probe (-ENXIO): its ASID is refused', () => {
    const noIrq = ctx(0x2000);
    noIrq.props = noIrq.props.filter(([name]) => name !== 'interrupts');
    const r = bootInputs(
      [qcomTree([qcomIommu(0x1e00000, IOMMU, [ctx(0x1000), noIrq]), master([IOMMU, 2])])],
      {
        profile: 'v6.12',
      },
    );
    expect(logHas(r, /1e02000\.iommu-ctx: error -ENXIO: IRQ index 0 not found/)).toBe(true);
    expect(dev(r, '1e02000.iommu-ctx').driver).toBeNull();
    expect(r.warnings.map((w) => w.message)).toEqual(['WARN_ON(qcom_iommu->ctxs[asid] == NULL)']);
  });

  it('qcom,ctx-asid overrides reg / 0x1000', () => {
    const r = bootInputs(
      [qcomTree([qcomIommu(0x1e00000, IOMMU, [ctx(0x1000, { 'qcom,ctx-asid': 7 })]), master([IOMMU, 7])])],
      { profile: 'v6.12' },
    );
    expect(dev(r, '1b0ac00.camss').iommu).toBe('1e10000.iommu');
    expect(dev(r, '1b0ac00.camss').fwspec?.ids).toEqual([7]);
    // ASID 1 (the bank's reg / 0x1000) is now no bank: max_asid is 7 but ctxs[1] is empty.
    const r1 = bootInputs(
      [qcomTree([qcomIommu(0x1e00000, IOMMU, [ctx(0x1000, { 'qcom,ctx-asid': 7 })]), master([IOMMU, 1])])],
      { profile: 'v6.12' },
    );
    expect(r1.warnings.map((w) => w.message)).toEqual(['WARN_ON(qcom_iommu->ctxs[asid] == NULL)']);
  });

  it('a qcom,ctx-asid far out sizes ctxs[] past what kmalloc gives: a page-allocator WARN and -ENOMEM', () => {
    const r = bootInputs(
      [
        qcomTree([
          qcomIommu(0x1e00000, IOMMU, [ctx(0x1000, { 'qcom,ctx-asid': 0x7fffffff })]),
          master([IOMMU, 1]),
        ]),
      ],
      { profile: 'v6.12' },
    );
    expect(r.warnings.map((w) => [w.site, w.device])).toEqual([['__alloc_pages', '1e10000.iommu']]);
    expect(logHas(r, /1e10000\.iommu: probe with driver qcom-iommu failed with error -12/)).toBe(true);
    expect(r.iommus).toEqual([]);
    expect(dev(r, '1b0ac00.camss').iommu).toBeNull();
    expect(r.leaks).toEqual([]);
  });

  it('entries on two IOMMUs: WARN_ON(qcom_iommu != dev_iommu_priv_get(dev)), no IOMMU at all', () => {
    const r = bootInputs(
      [
        qcomTree([
          qcomIommu(0x1e00000, IOMMU, BANKS),
          qcomIommu(0x1f00000, IOMMU2, BANKS, { 'qcom,iommu-secure-id': 18 }),
          master([IOMMU, 1, IOMMU2, 1]),
        ]),
      ],
      { profile: 'v6.12' },
    );
    expect(r.iommus.map((i) => i.name)).toEqual(['1e10000.iommu', '1f10000.iommu']);
    expect(r.warnings.map((w) => w.message)).toEqual(['WARN_ON(qcom_iommu != dev_iommu_priv_get(dev))']);
    expect(dev(r, '1b0ac00.camss').iommu).toBeNull();
    expect(dev(r, '1b0ac00.camss').fwspec).toBeNull();
    expect(r.leaks).toEqual([]);
  });

  it('a phandle to a disabled IOMMU: of_iommu_xlate() gives -ENODEV at once', () => {
    const r = bootInputs(
      [qcomTree([qcomIommu(0x1e00000, IOMMU, BANKS, { status: 'disabled' }), master([IOMMU, 1])])],
      { profile: 'v6.12' },
    );
    expect(r.iommus).toEqual([]);
    expect(dev(r, '1b0ac00.camss').iommu).toBeNull();
    expect(dev(r, '1b0ac00.camss').history.join('\n')).not.toMatch(/ETIMEDOUT/);
  });

  it('no qcom,iommu-secure-id: -ENODEV, the banks are never populated, the master times out', () => {
    const bad = qcomIommu(0x1e00000, IOMMU, BANKS);
    bad.props = bad.props.filter(([name]) => name !== 'qcom,iommu-secure-id');
    const r = bootInputs([qcomTree([bad, master([IOMMU, 1])])], { profile: 'v6.12' });
    expect(logHas(r, /1e10000\.iommu: missing qcom,iommu-secure-id property/)).toBe(true);
    expect(r.iommus).toEqual([]);
    expect(r.devices.some((d) => d.name.endsWith('iommu-ctx'))).toBe(false);
    expect(dev(r, '1b0ac00.camss').history.join('\n')).toMatch(/ETIMEDOUT/);
    expect(r.leaks).toEqual([]);
  });

  it('no "bus" clock: "failed to get bus clock", -ENOENT', () => {
    const r = bootInputs(
      [
        qcomTree([
          qcomIommu(0x1e00000, IOMMU, BANKS, { 'clock-names': ['iface', 'core'] }),
          master([IOMMU, 1]),
        ]),
      ],
      { profile: 'v6.12' },
    );
    expect(logHas(r, /1e10000\.iommu: failed to get bus clock/)).toBe(true);
    expect(logHas(r, /1e10000\.iommu: probe with driver qcom-iommu failed with error -2/)).toBe(true);
    expect(r.iommus).toEqual([]);
    expect(r.leaks).toEqual([]);
  });
});

describe('fail-nth', () => {
  const small = qcomTree([
    qcomIommu(0x1e00000, IOMMU, BANKS),
    master([IOMMU, 1, IOMMU, 2]),
    master([IOMMU, 2], 'video-codec@1d00000'),
  ]);
  it.each([
    ['fixture', 'v6.12', FIXTURE],
    ['fixture', 'v6.15', FIXTURE],
    ['small tree', 'v6.12', small],
    ['small tree', 'v6.15', small],
  ] as const)(
    '%s, %s: each allocation failed in turn (a spread on big boots: test/support/fail-nth.ts) leaves no leak and no invariant broken',
    (_n, profile, f) => {
      const base = bootInputs([f], { profile });
      expect(base.allocations).toBeGreaterThan(20);
      let injected = 0;
      for (const n of failNthPoints(base.allocations)) {
        const r = bootInputs([f], { profile, failNth: n });
        if (r.failNth?.injected) injected++;
        expect(r.leaks.filter((l) => !l.knownBug)).toEqual([]);
        expect(r.invariantViolations.filter((v) => !v.knownBug)).toEqual([]);
      }
      expect(injected).toBe(failNthPoints(base.allocations).length);
    },
  );
});
