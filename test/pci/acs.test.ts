// SPDX-License-Identifier: GPL-2.0-only
/** ACS: pci_acs_enabled() by port type and quirk, pci_acs_path_enabled(), and enabling at enumeration. */
import { describe, expect, it } from 'vitest';
import type { PciFunctionJson } from '../../src/pci/topology-schema.js';
import {
  PCI_ACS_CR,
  PCI_ACS_RR,
  PCI_ACS_SV,
  PCI_ACS_UF,
  acsVerdict,
  pci_acs_enabled,
  pci_acs_path_enabled,
} from '../../src/pci/acs.js';
import { REQ_ACS_FLAGS } from '../../src/pci/pci-device-group.js';
import { PCI_DEV_FLAGS_ACS_ENABLED_QUIRK } from '../../src/pci/pci-dev.js';
import { pci_dev_specific_acs_enabled } from '../../src/pci/acs-quirks.js';
import { pci_core, pci_request_acs } from '../../src/pci/pci-core.js';
import { buildPciTopology } from '../../src/pci/topology-build.js';
import { build, newKernel } from './helpers.js';

/** One function under test at 00:1c.0 or 01:00.0 (behind a bare root port), plus its siblings. */
function fn(json: Partial<PciFunctionJson> & Pick<PciFunctionJson, 'type'>, acsRequested = true) {
  const bridge = json.type === 'upstream-port' || json.type === 'endpoint' || json.type === 'legacy-endpoint';
  const f: PciFunctionJson = { vendor: '1234', device: '0001', bdf: bridge ? '01:00.0' : '00:1c.0', ...json };
  const functions: PciFunctionJson[] = [f];
  if (bridge)
    functions.push({ bdf: '00:01.0', type: 'root-port', vendor: '1234', device: '0002', secondary: 1 });
  if (f.type.endsWith('port') || f.type.endsWith('bridge')) f.secondary ??= 0x10;
  if (json.multifunction)
    functions.push({
      ...f,
      bdf: f.bdf.replace(/\.0$/, '.1'),
      multifunction: undefined,
      secondary: f.secondary === undefined ? undefined : 0x11,
    });
  const b = build({ root: 0, functions }, { acsRequested });
  return b.topo.device(f.bdf).pci!;
}

const QEMU_RP_ACS = { cap: '0x5f' };

describe('pci_acs_enabled by port type (no quirk)', () => {
  it.each([
    ['conventional', {}, false, 'conventional PCI'],
    ['pci-bridge', {}, false, 'conventional PCI'],
    ['pcie-pci-bridge', {}, false, 'PCIe-to-PCI bridge'],
    ['pci-pcie-bridge', {}, false, 'PCI-to-PCIe bridge'],
    ['rc-event-collector', {}, false, 'event collector'],
    ['root-port', {}, false, 'no ACS capability'],
    ['root-port', { acs: QEMU_RP_ACS }, true, 'ACS ctrl 0x001d provides SV|RR|CR|UF'],
    ['downstream-port', { acs: QEMU_RP_ACS }, true, 'provides'],
    ['endpoint', {}, true, 'single function'],
    ['rc-endpoint', {}, true, 'single function'],
    ['upstream-port', {}, true, 'single function'],
    ['endpoint', { multifunction: true }, false, 'no ACS capability'],
    ['endpoint', { multifunction: true, acs: { cap: ['RR', 'CR'] } }, true, 'ACS ctrl 0x000c provides'],
  ] as const)('%s %j -> %s', (type, extra, enabled, why) => {
    const pdev = fn({ type, ...extra } as PciFunctionJson);
    expect(pci_acs_enabled(pdev, REQ_ACS_FLAGS)).toBe(enabled);
    expect(acsVerdict(pdev, REQ_ACS_FLAGS).why).toContain(why);
  });

  it('counts controls missing from the capability as hard-wired, except Egress Control', () => {
    // A root port that implements only SV and RR, both enabled: CR and UF are not controllable.
    const pdev = fn({ type: 'root-port', acs: { cap: ['SV', 'RR'] } });
    expect(pdev.acsControl).toBe(PCI_ACS_SV | PCI_ACS_RR);
    expect(pci_acs_enabled(pdev, REQ_ACS_FLAGS)).toBe(true);
    expect(pci_acs_enabled(pdev, 0x20 /* EC */)).toBe(false);
  });
});

describe('ACS enabling at enumeration (pci_enable_acs)', () => {
  it('sets SV|RR|CR|UF within the capability when ACS was requested first (QEMU pcie-root-port: 0x001d)', () => {
    expect(fn({ type: 'root-port', acs: QEMU_RP_ACS }).acsControl).toBe(0x001d);
  });

  it('leaves the firmware value when ACS was not requested before enumeration (device tree)', () => {
    const pdev = fn({ type: 'root-port', acs: { cap: '0x5f', ctrl: '0x0004' } }, false);
    expect(pdev.acsControl).toBe(0x0004);
    expect(acsVerdict(pdev, REQ_ACS_FLAGS).why).toBe('ACS ctrl 0x0004 lacks SV|CR|UF (cap 0x005f)');
  });

  it('does not touch functions already enumerated when ACS is requested later', () => {
    const k = newKernel();
    const topo = buildPciTopology(k, {
      root: 0,
      functions: [
        { bdf: '00:1c.0', type: 'root-port', vendor: '1b36', device: '000c', secondary: 1, acs: QEMU_RP_ACS },
      ],
    });
    pci_request_acs(k);
    expect(pci_core(k).acs_enable).toBe(true);
    expect(topo.device('00:1c.0').pci!.acsControl).toBe(0);
  });

  it('adds Translation Blocking below an external-facing port, and with pci=noats', () => {
    const k = newKernel();
    const topo = buildPciTopology(
      k,
      {
        root: 0,
        functions: [
          {
            bdf: '00:07.0',
            type: 'root-port',
            vendor: '8086',
            device: '9a23',
            secondary: 1,
            externalFacing: true,
            acs: QEMU_RP_ACS,
          },
          {
            bdf: '01:00.0',
            type: 'upstream-port',
            vendor: '8086',
            device: '15ef',
            secondary: 2,
            acs: QEMU_RP_ACS,
          },
        ],
      },
      { acsRequested: true },
    );
    expect(topo.device('00:07.0').pci!.acsControl).toBe(0x001f);
    expect(topo.device('01:00.0').pci!.untrusted).toBe(true);
    expect(topo.device('01:00.0').pci!.acsControl).toBe(0x001f);

    const noats = build(
      {
        root: 0,
        functions: [
          {
            bdf: '00:1c.0',
            type: 'root-port',
            vendor: '1b36',
            device: '000c',
            secondary: 1,
            acs: QEMU_RP_ACS,
          },
        ],
      },
      { cmdline: 'pci=noats' },
    );
    expect(noats.topo.device('00:1c.0').pci!.acsControl).toBe(0x001f);
  });

  it('applies pci=config_acs= to the named function, starting from the firmware value', () => {
    const b = build(
      {
        root: 0,
        functions: [
          {
            bdf: '00:1c.0',
            type: 'root-port',
            vendor: '1b36',
            device: '000c',
            secondary: 1,
            acs: QEMU_RP_ACS,
          },
          {
            bdf: '00:1d.0',
            type: 'root-port',
            vendor: '1b36',
            device: '000c',
            secondary: 2,
            acs: QEMU_RP_ACS,
          },
        ],
      },
      // bit 0 (SV) is the last character: SV=1, TB=0, RR=1, CR=1, UF=0
      { cmdline: 'pci=config_acs=01101@0000:00:1d.0' },
    );
    expect(b.topo.device('00:1c.0').pci!.acsControl).toBe(0x001d);
    const pdev = b.topo.device('00:1d.0').pci!;
    expect(pdev.acsControl).toBe(0x000d);
    expect(pci_acs_enabled(pdev, REQ_ACS_FLAGS)).toBe(false);
    expect(b.k.printk.lines).toContainEqual({
      level: 'info',
      source: '0000:00:1d.0',
      message: 'Configured ACS to 0x000d',
    });
  });

  it('applies pci=disable_acs_redir= by vendor:device, clearing RR|CR|EC', () => {
    const b = build(
      {
        root: 0,
        functions: [
          {
            bdf: '00:1c.0',
            type: 'root-port',
            vendor: '1b36',
            device: '000c',
            secondary: 1,
            acs: { cap: '0x5f', ctrl: '0x7f' },
          },
        ],
      },
      { cmdline: 'pci=disable_acs_redir=pci:1b36:000c' },
    );
    expect(b.topo.device('00:1c.0').pci!.acsControl).toBe(0x0053);
  });

  it('matches a config_acs path through the upstream bridges', () => {
    const b = build(
      {
        root: 0,
        functions: [
          { bdf: '00:1c.0', type: 'root-port', vendor: '1b36', device: '000c', secondary: 1 },
          { bdf: '01:00.0', type: 'upstream-port', vendor: '10b5', device: '8747', secondary: 2 },
          {
            bdf: '02:08.0',
            type: 'downstream-port',
            vendor: '10b5',
            device: '8747',
            secondary: 3,
            acs: { cap: '0x1f' },
          },
        ],
      },
      { acsRequested: false, cmdline: 'pci=config_acs=11101@00:1c.0/00.0/08.0' },
    );
    expect(b.topo.device('02:08.0').pci!.acsControl).toBe(0x001d);
  });
});

describe('device-specific ACS quirks (pci_dev_acs_enabled[])', () => {
  const ich = (device: string, acsRequested: boolean) =>
    fn({ type: 'root-port', vendor: '8086', device, multifunction: true }, acsRequested);

  it('Intel PCH root ports without an ACS capability isolate once the enable quirk ran', () => {
    const on = ich('1c10', true);
    expect(on.dev_flags & PCI_DEV_FLAGS_ACS_ENABLED_QUIRK).toBeTruthy();
    expect(pci_acs_enabled(on, REQ_ACS_FLAGS)).toBe(true);
    expect(acsVerdict(on, REQ_ACS_FLAGS).why).toBe('pci_quirk_intel_pch_acs vouches for SV|RR|CR|UF');
    expect(on.bus.core.k.printk.lines.map((l) => l.message)).toContain(
      'Intel PCH root port ACS workaround enabled',
    );

    const off = ich('1c10', false);
    expect(pci_acs_enabled(off, REQ_ACS_FLAGS)).toBe(false);
    expect(acsVerdict(off, REQ_ACS_FLAGS).why).toBe('pci_quirk_intel_pch_acs denies SV|RR|CR|UF');
    // A root port ID not in the list: no opinion, so the standard rules (no capability) apply.
    expect(pci_dev_specific_acs_enabled(ich('a2b0', true), REQ_ACS_FLAGS)).toEqual({ ret: -25, quirk: null });
  });

  it('Intel Sunrise Point root ports keep ACS control in a dword the quirk enables', () => {
    const pdev = fn({ type: 'root-port', vendor: '8086', device: 'a110', acs: { cap: '0x1f' } });
    expect(pdev.acsControl).toBe(0x001d);
    expect(acsVerdict(pdev, REQ_ACS_FLAGS).why).toBe('pci_quirk_intel_spt_pch_acs vouches for SV|RR|CR|UF');
    const off = fn({ type: 'root-port', vendor: '8086', device: 'a110', acs: { cap: '0x1f' } }, false);
    expect(pci_acs_enabled(off, REQ_ACS_FLAGS)).toBe(false);
  });

  it('multifunction endpoints vetted for no peer-to-peer (Intel 82576, Solarflare) isolate their functions', () => {
    expect(
      pci_acs_enabled(
        fn({ type: 'endpoint', vendor: '8086', device: '10c9', multifunction: true }),
        REQ_ACS_FLAGS,
      ),
    ).toBe(true);
    expect(
      pci_acs_enabled(
        fn({ type: 'endpoint', vendor: '1924', device: '0a03', multifunction: true }),
        REQ_ACS_FLAGS,
      ),
    ).toBe(true);
    // The 82574L (e1000e) is not in the table.
    expect(
      pci_acs_enabled(
        fn({ type: 'endpoint', vendor: '8086', device: '10d3', multifunction: true }),
        REQ_ACS_FLAGS,
      ),
    ).toBe(false);
  });

  it('AMD southbridge functions provide RR|CR only on the root bus, multifunction, with an IVRS table', () => {
    const k = newKernel();
    pci_core(k).acpiTables.add('IVRS');
    const topo = buildPciTopology(k, {
      root: 0,
      functions: [
        { bdf: '00:14.0', type: 'conventional', vendor: '1002', device: '4385', multifunction: true },
        { bdf: '00:14.3', type: 'conventional', vendor: '1002', device: '439d' },
      ],
    });
    const smbus = topo.device('00:14.0').pci!;
    expect(pci_acs_enabled(smbus, REQ_ACS_FLAGS)).toBe(true);
    expect(pci_acs_enabled(smbus, PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF)).toBe(true);
    const noIvrs = build({
      root: 0,
      functions: [
        { bdf: '00:14.0', type: 'conventional', vendor: '1002', device: '4385', multifunction: true },
        { bdf: '00:14.3', type: 'conventional', vendor: '1002', device: '439d' },
      ],
    });
    expect(pci_acs_enabled(noIvrs.topo.device('00:14.0').pci!, REQ_ACS_FLAGS)).toBe(false);
  });

  it.each([
    ['Cavium ThunderX2 root port', { type: 'root-port', vendor: '177d', device: 'af84' }, true],
    ['Qualcomm QDF2xxx root port', { type: 'root-port', vendor: '17cb', device: '0400' }, true],
    ['Ampere root port', { type: 'root-port', vendor: '1def', device: 'e005' }, true],
    ['HiSilicon-era HXT root port', { type: 'root-port', vendor: '1dbf', device: '0401' }, true],
    ['Annapurna Labs root port', { type: 'root-port', vendor: '1c36', device: '0031' }, true],
    ['Zhaoxin root port in the list', { type: 'root-port', vendor: '1d17', device: '0717' }, true],
    ['Loongson root port', { type: 'root-port', vendor: '0014', device: '7a09' }, true],
    [
      'Intel RCiEP, multifunction',
      { type: 'rc-endpoint', vendor: '8086', device: '1234', multifunction: true },
      true,
    ],
  ] as const)('%s isolates without an ACS capability', (_what, json, enabled) => {
    expect(pci_acs_enabled(fn(json as PciFunctionJson), REQ_ACS_FLAGS)).toBe(enabled);
  });

  it('Zhaoxin ports outside the list and Wangxun NICs outside theirs are flatly not isolated', () => {
    const zx = fn({ type: 'root-port', vendor: '1d17', device: '0800', acs: QEMU_RP_ACS });
    expect(zx.acsControl).toBe(0x001d);
    expect(pci_acs_enabled(zx, REQ_ACS_FLAGS)).toBe(false);
    expect(pci_acs_enabled(fn({ type: 'endpoint', vendor: '8088', device: '0200' }), REQ_ACS_FLAGS)).toBe(
      false,
    );
    expect(
      pci_acs_enabled(
        fn({ type: 'endpoint', vendor: '8088', device: '1001', multifunction: true }),
        REQ_ACS_FLAGS,
      ),
    ).toBe(true);
  });

  it('Cavium devices that are not matching root ports get no opinion from the Cavium quirk', () => {
    expect(
      pci_dev_specific_acs_enabled(fn({ type: 'endpoint', vendor: '177d', device: 'af84' }), REQ_ACS_FLAGS)
        .ret,
    ).toBeLessThan(0);
  });
});

describe('pci_acs_path_enabled', () => {
  const b = build({
    root: 0,
    functions: [
      { bdf: '00:1c.0', type: 'root-port', vendor: '1b36', device: '000c', secondary: 1, acs: QEMU_RP_ACS },
      { bdf: '00:1d.0', type: 'root-port', vendor: '1b36', device: '000c', secondary: 4 },
      { bdf: '01:00.0', type: 'upstream-port', vendor: '10b5', device: '8747', secondary: 2 },
      {
        bdf: '02:08.0',
        type: 'downstream-port',
        vendor: '10b5',
        device: '8747',
        secondary: 3,
        acs: { cap: '0x1f' },
      },
      { bdf: '04:00.0', type: 'upstream-port', vendor: '10b5', device: '8747', secondary: 5 },
      {
        bdf: '05:08.0',
        type: 'downstream-port',
        vendor: '10b5',
        device: '8747',
        secondary: 6,
        acs: { cap: '0x1f' },
      },
    ],
  });
  const p = (bdf: string) => b.topo.device(bdf).pci!;

  it('holds up to the root bus only if every function on the way provides the flags', () => {
    expect(pci_acs_path_enabled(p('02:08.0'), null, REQ_ACS_FLAGS)).toBe(true);
    expect(pci_acs_path_enabled(p('05:08.0'), null, REQ_ACS_FLAGS)).toBe(false);
  });

  it('stops at `end`, and fails when the root bus comes first', () => {
    expect(pci_acs_path_enabled(p('05:08.0'), p('04:00.0'), REQ_ACS_FLAGS)).toBe(true);
    expect(pci_acs_path_enabled(p('05:08.0'), p('02:08.0'), REQ_ACS_FLAGS)).toBe(false);
  });
});
