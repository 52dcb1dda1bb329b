// SPDX-License-Identifier: GPL-2.0-only
// The DMAR parser's values (QEMU tables, the iasl template, the synthetic
// table with every structure and scope type), its notes, the scope path
// walk against the kernel's path matching (property), and the conversion to
// the Intel driver's DmarTable: against a hand-built topology, against what
// real Linux 6.12 gave every groundtruth scenario (which devices got an
// IOMMU), and against the table the x86-q35-vtd-switch platform describes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Device } from '../../../src/base/device.js';
import { PciDev } from '../../../src/pci/pci-dev.js';
import { InputError } from '../../../src/input/input-error.js';
import type { DmarTable } from '../../../src/drivers/intel/dmar.js';
import { type DmarDrhd, parseDmar } from '../../../src/firmware/acpi/dmar-parse.js';
import {
  type DmarNotifyInfo,
  type PciFunctionLookup,
  dmarMatchPciPath,
  dmarResolveScopePath,
  dmarToDriverTable,
} from '../../../src/firmware/acpi/dmar-to-driver.js';
import { loadPlatform } from '../../../src/platform/load.js';
import { bootPlatform } from '../../../src/platform/boot.js';
import { acpiTable, dmarHeader, dmarScope, drhd, rmrr } from './build.js';
import { type LspciFunction, groundtruthHas, iommuOf, lspciFunctions, tableBytes } from './tables.js';
import { GROUNDTRUTH_DIR } from './iasl.js';
import { existsSync, readdirSync } from 'node:fs';

describe('parseDmar: QEMU and iasl tables', () => {
  it('q35-vtd-pxb: header, one DRHD, its scopes', () => {
    const d = parseDmar(tableBytes('q35-vtd-pxb.DMAR'), 'q35-vtd-pxb.DMAR.dat');
    expect(d.hostAddressWidth).toBe(39);
    expect(d.widthField).toBe(0x26);
    expect([d.intrRemap, d.x2apicOptOut, d.dmaCtrlPlatformOptIn]).toEqual([true, false, false]);
    expect(d.structures).toHaveLength(1);
    const u = d.structures[0] as DmarDrhd;
    expect(u).toMatchObject({
      kind: 'drhd',
      offset: 0x30,
      length: 0x68,
      includePciAll: false,
      size: 0,
      registerSetSize: 4096n,
      segment: 0,
      registerBase: 0xfed90000n,
    });
    expect(
      u.scopes.map(
        (s) =>
          `${s.kind} ${s.enumerationId} ${s.startBus.toString(16)}:${s.path.map((p) => `${p.device}.${p.function}`).join('/')}`,
      ),
    ).toEqual([
      'ioapic 0 ff:0.0',
      'endpoint 0 0:0.0',
      'bridge 0 0:1.0',
      'bridge 0 0:2.0',
      'endpoint 0 0:3.0',
      'endpoint 0 0:4.0',
      'endpoint 0 0:5.0',
      'endpoint 0 0:31.0',
      'endpoint 0 0:31.2',
      'endpoint 0 0:31.3',
      'bridge 0 80:0.0',
    ]);
    expect(d.notes).toEqual([]);
  });

  it('iasl template: INCLUDE_PCI_ALL DRHD, RMRR, ATSR, RHSA', () => {
    const d = parseDmar(tableBytes('iasl-template.DMAR'), 't.dat');
    expect(d.hostAddressWidth).toBe(48);
    expect(d.structures.map((s) => s.kind)).toEqual(['drhd', 'rmrr', 'atsr', 'rhsa']);
    expect(d.structures[0]).toMatchObject({ includePciAll: true, registerBase: 0n });
    expect(d.structures[1]).toMatchObject({ baseAddress: 0n, endAddress: 0xfffn, segment: 0 });
    expect(d.structures[2]).toMatchObject({ allPorts: false, segment: 0 });
    expect(d.structures[3]).toMatchObject({ registerBase: 0n, proximityDomain: 0 });
  });
});

describe('parseDmar: the synthetic table', () => {
  const d = parseDmar(tableBytes('synthetic-everything.DMAR'), 'everything.DMAR.dat');

  it('reads the flags, every structure type and every scope type', () => {
    expect([d.hostAddressWidth, d.intrRemap, d.x2apicOptOut, d.dmaCtrlPlatformOptIn]).toEqual([
      39,
      true,
      true,
      true,
    ]);
    expect(d.structures.map((s) => s.kind)).toEqual([
      'drhd',
      'drhd',
      'drhd',
      'rmrr',
      'atsr',
      'atsr',
      'rhsa',
      'andd',
      'satc',
      'unknown',
    ]);
    const [a, b, c] = d.structures as DmarDrhd[];
    expect(a.scopes.map((s) => s.kind)).toEqual([
      'endpoint',
      'bridge',
      'endpoint',
      'ioapic',
      'hpet',
      'namespace',
    ]);
    expect(a.scopes[2].path).toEqual([
      { device: 0x1c, function: 0 },
      { device: 0, function: 0 },
    ]);
    expect(a.scopes[3]).toMatchObject({ enumerationId: 2, startBus: 0xf0 });
    expect(a.scopes[5]).toMatchObject({ type: 5, enumerationId: 1 });
    expect(b).toMatchObject({
      includePciAll: true,
      size: 2,
      registerSetSize: 0x4000n,
      registerBase: 0xfed91000n,
    });
    expect(c).toMatchObject({ segment: 1, registerBase: 0xfed92000n });
    expect(d.structures[3]).toMatchObject({ baseAddress: 0x7c000000n, endAddress: 0x7c7fffffn });
    expect(d.structures[4]).toMatchObject({ allPorts: true, scopes: [] });
    expect(d.structures[5]).toMatchObject({ allPorts: false });
    expect(d.structures[6]).toMatchObject({ kind: 'rhsa', registerBase: 0xfed90000n, proximityDomain: 1 });
    expect(d.structures[7]).toMatchObject({ kind: 'andd', deviceNumber: 1, objectName: '\\_SB.PCI0.I2C0' });
    expect(d.structures[8]).toMatchObject({ kind: 'satc', flags: 1, atcRequired: true, segment: 0 });
    expect(d.structures[9]).toMatchObject({ kind: 'unknown', type: 7, raw: [0x11, 0x22, 0x33, 0x44] });
  });

  it('keeps the reserved structure with a note, as the kernel skips it', () => {
    expect(d.notes).toEqual([
      'offset 0x11f: DMAR structure type 7 is reserved; the kernel skips it ("Unknown DMAR structure type"), kept raw',
    ]);
  });
});

describe('parseDmar: what the kernel warns about or refuses', () => {
  const table = (...structs: number[][]) => acpiTable('DMAR', 1, [...dmarHeader(38, 0), ...structs.flat()]);

  it('notes a bad RMRR, a reserved scope type, an odd scope length, a width below 12, no DRHD', () => {
    const t = acpiTable('DMAR', 1, [
      ...dmarHeader(10, 0),
      ...rmrr(0, 0x1234n, 0x1000n, [
        dmarScope(9, 0, 0, [[1, 0]]),
        [...dmarScope(1, 0, 0, [[2, 0]]), 0].map((b, i) => (i === 1 ? 9 : b)),
      ]),
    ]);
    const notes = parseDmar(t, 'n.dat').notes;
    expect(notes).toHaveLength(5);
    expect(notes[0]).toMatch(/Host Address Width field 10 .*Invalid DMAR haw/);
    expect(notes[1]).toMatch(/bad RMRR/);
    expect(notes[2]).toMatch(/device scope type 9 is reserved/);
    expect(notes[3]).toMatch(/device scope length 0x9 leaves an odd byte/);
    expect(notes[4]).toMatch(/No DRHD structure/);
  });

  it('an ANDD name without its NUL is an InputError (the kernel fails the table)', () => {
    const t = table([4, 0, 12, 0, 0, 0, 0, 1, 0x41, 0x42, 0x43, 0x44]);
    const e = (() => {
      try {
        parseDmar(t, 'a.dat');
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toBe(
      'a.dat: offset 0x38: ANDD Device Name is not NUL-terminated within the 4 bytes before the end of the ANDD at 0x3c',
    );
  });

  it('a zero-length device scope is an InputError (dmar_alloc_dev_scope() would loop)', () => {
    const t = table(drhd(0, 0, 0, 0n, [[1, 0, 0, 0, 0, 0]]));
    expect(() => parseDmar(t, 's.dat')).toThrow(
      's.dat: offset 0x40: device scope (type 1) length 0x0: a zero-length device scope (dmar_alloc_dev_scope() would loop forever)',
    );
  });
});

/** A PCI tree: bus -> functions, bridges with a secondary bus. */
interface Fn {
  readonly bus: number;
  readonly devfn: number;
  readonly secondary?: number;
}

function lookupOf(fns: readonly Fn[], segment = 0): PciFunctionLookup {
  return (seg, bus, devfn) =>
    seg === segment ? (fns.find((f) => f.bus === bus && f.devfn === devfn) ?? null) : null;
}

/** The device's path from its root bus, as dmar_alloc_pci_notify_info() builds it. */
function notifyInfo(fns: readonly Fn[], f: Fn): DmarNotifyInfo {
  const path: { bus: number; device: number; function: number }[] = [];
  let cur: Fn | undefined = f;
  let root = f.bus;
  while (cur) {
    path.unshift({ bus: cur.bus, device: cur.devfn >> 3, function: cur.devfn & 7 });
    root = cur.bus;
    const bus: number = cur.bus;
    cur = fns.find((b) => b.secondary === bus);
  }
  return { rootBus: root, path };
}

/** Random trees: root bus 0, bridges get fresh bus numbers. */
const trees = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 7 }), fc.boolean(), fc.nat()), {
    minLength: 1,
    maxLength: 24,
  })
  .map((spec) => {
    const fns: Fn[] = [];
    const buses = [0];
    let next = 1;
    for (const [dev, fn, bridge, pick] of spec) {
      const bus = buses[pick % buses.length];
      const devfn = (dev << 3) | fn;
      if (fns.some((f) => f.bus === bus && f.devfn === devfn)) continue;
      if (bridge && next < 256) {
        fns.push({ bus, devfn, secondary: next });
        buses.push(next++);
      } else fns.push({ bus, devfn });
    }
    return fns;
  });

describe('scope paths: the walk and the kernel match agree', () => {
  it('the walk follows secondary buses; missing hops and non-bridges stop it', () => {
    const fns: Fn[] = [
      { bus: 0, devfn: 0x1c << 3, secondary: 1 },
      { bus: 1, devfn: 0, secondary: 2 },
      { bus: 2, devfn: 0x08 },
      { bus: 0, devfn: 0x10 },
    ];
    const l = lookupOf(fns);
    const p = (...hops: [number, number][]) => hops.map(([device, fn]) => ({ device, function: fn }));
    expect(dmarResolveScopePath(0, 0, p([0x1c, 0], [0, 0], [1, 0]), l)).toEqual({
      segment: 0,
      bus: 2,
      devfn: 8,
    });
    expect(dmarResolveScopePath(0, 0, p([0x1c, 0]), l)).toEqual({ segment: 0, bus: 0, devfn: 0xe0 });
    expect(dmarResolveScopePath(0, 0, p([0x02, 0], [0, 0]), l)).toBeNull(); // 00:02.0 is no bridge
    expect(dmarResolveScopePath(0, 0, p([0x1c, 0], [3, 0]), l)).toBeNull();
    expect(dmarResolveScopePath(0, 0, [], l)).toBeNull();
    expect(dmarResolveScopePath(1, 0, p([0x1c, 0]), l)).toBeNull();
    // A one-hop path on a non-root bus matches (the RMRR fallback); a longer one only from a root bus.
    const root = { isRootBus: (_s: number, b: number) => b === 0 };
    expect(dmarResolveScopePath(0, 2, p([1, 0]), l, root)).toEqual({ segment: 0, bus: 2, devfn: 8 });
    expect(dmarResolveScopePath(0, 1, p([0, 0], [1, 0]), l, root)).toBeNull();
    expect(dmarResolveScopePath(0, 1, p([0, 0], [1, 0]), l)).toEqual({ segment: 0, bus: 2, devfn: 8 });
  });

  it('dmar_match_pci_path(): exact, the one-hop fallback, and no match', () => {
    const info: DmarNotifyInfo = {
      rootBus: 0,
      path: [
        { bus: 0, device: 0x1c, function: 0 },
        { bus: 1, device: 0, function: 0 },
      ],
    };
    expect(
      dmarMatchPciPath(info, 0, [
        { device: 0x1c, function: 0 },
        { device: 0, function: 0 },
      ]),
    ).toBe('exact');
    expect(dmarMatchPciPath(info, 1, [{ device: 0, function: 0 }])).toBe('fallback');
    expect(dmarMatchPciPath(info, 0, [{ device: 0, function: 0 }])).toBeNull();
    expect(
      dmarMatchPciPath(info, 1, [
        { device: 0x1c, function: 0 },
        { device: 0, function: 0 },
      ]),
    ).toBeNull();
  });

  it('property: for any tree, the walk (root-bus rule on) finds a device exactly when the kernel matches it', () => {
    fc.assert(
      fc.property(
        trees,
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.integer({ min: 0, max: 5 })), { maxLength: 12 }),
        (fns, mutations) => {
          const l = lookupOf(fns);
          const isRootBus = (_s: number, b: number) => b === 0;
          // Scopes: every device's own path, its one-hop form, and mutated copies.
          const scopes: { bus: number; path: { device: number; function: number }[] }[] = [];
          for (const f of fns) {
            const info = notifyInfo(fns, f);
            scopes.push({
              bus: info.rootBus,
              path: info.path.map(({ device, function: fn }) => ({ device, function: fn })),
            });
            scopes.push({ bus: f.bus, path: [{ device: f.devfn >> 3, function: f.devfn & 7 }] });
          }
          for (const [i, what, v] of mutations) {
            const s = scopes[i % scopes.length];
            if (!s) continue;
            const path = s.path.map((p) => ({ ...p }));
            if (what === 0) scopes.push({ bus: (s.bus + v) & 0xff, path });
            else if (what === 1 && path.length)
              path[v % path.length].function = (path[v % path.length].function + 1) & 7;
            else if (what === 2) path.pop();
            else path.push({ device: v, function: 0 });
            if (what) scopes.push({ bus: s.bus, path });
          }
          for (const s of scopes) {
            const walked = dmarResolveScopePath(0, s.bus, s.path, l, { isRootBus });
            for (const f of fns) {
              const kernel = dmarMatchPciPath(notifyInfo(fns, f), s.bus, s.path) !== null;
              const found = walked !== null && walked.bus === f.bus && walked.devfn === f.devfn;
              if (kernel !== found) return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** Devices for a topology, with header type and class for the scope type check. */
function devicesFor(
  fns: readonly (LspciFunction | (Fn & { segment?: number; headerType?: number; classCode?: number }))[],
) {
  const out = new Map<string, Device>();
  for (const f of fns) {
    const seg = f.segment ?? 0;
    const name = `${seg.toString(16).padStart(4, '0')}:${f.bus.toString(16).padStart(2, '0')}:${(f.devfn >> 3).toString(16).padStart(2, '0')}.${f.devfn & 7}`;
    const d = new Device(name);
    d.pci = new PciDev(d, seg, f.bus, f.devfn);
    d.pci.hdr_type = f.headerType ?? (f.secondary === undefined ? 0 : 1);
    d.pci.classCode = f.classCode ?? (f.secondary === undefined ? 0x020000 : 0x060400);
    out.set(name, d);
  }
  return out;
}

function resolverFor(fns: readonly (Fn & { segment?: number })[], devices: Map<string, Device>) {
  return (segment: number, bus: number, path: readonly { device: number; function: number }[]) => {
    const t = dmarResolveScopePath(
      segment,
      bus,
      path,
      (s, b, df) => fns.find((f) => (f.segment ?? 0) === s && f.bus === b && f.devfn === df) ?? null,
    );
    if (!t) return null;
    const name = `${segment.toString(16).padStart(4, '0')}:${t.bus.toString(16).padStart(2, '0')}:${(t.devfn >> 3).toString(16).padStart(2, '0')}.${t.devfn & 7}`;
    return devices.get(name) ?? null;
  };
}

const view = (t: DmarTable) => ({
  haw: t.haw,
  drhds: t.drhds.map((d) => ({
    segment: d.segment,
    base: d.reg_base_addr,
    includeAll: d.include_all,
    devices: d.devices.map((s) => `${s.text} -> ${s.dev?.name ?? '-'}`),
  })),
  rmrrs: t.rmrrs.map((r) => ({
    range: [r.base_address, r.end_address],
    devices: r.devices.map((s) => `${s.text} -> ${s.dev?.name ?? '-'}`),
  })),
});

describe('dmarToDriverTable()', () => {
  const fns = [
    { bus: 0, devfn: 0x00, classCode: 0x060000 },
    { bus: 0, devfn: 0x10, classCode: 0x030000 },
    { bus: 0, devfn: 0xa0, classCode: 0x0c0330 },
    { bus: 0, devfn: 0xa8 },
    { bus: 0, devfn: 0xe0, secondary: 1 },
    { bus: 1, devfn: 0x00 },
    { bus: 0, devfn: 0xf8, classCode: 0x060100 },
    { segment: 1, bus: 0, devfn: 0 },
  ];
  const devices = devicesFor(fns);
  const resolve = resolverFor(fns, devices);

  it('binds the synthetic table to a topology: paths, segments, texts, ANDD names', () => {
    const t = dmarToDriverTable(parseDmar(tableBytes('synthetic-everything.DMAR'), 'e.dat'), resolve);
    expect(view(t)).toEqual({
      haw: 39,
      drhds: [
        {
          segment: 0,
          base: 0xfed90000n,
          includeAll: false,
          devices: [
            'endpoint 00:02.0 -> 0000:00:02.0',
            'bridge 00:1c.0 -> 0000:00:1c.0',
            'endpoint 00:1c.0/00.0 -> 0000:01:00.0',
            'ioapic id 2 (f0:1f.0) -> -',
            'hpet id 0 (00:1f.7) -> -',
            'namespace id 1 (\\_SB.PCI0.I2C0) -> -',
          ],
        },
        { segment: 0, base: 0xfed91000n, includeAll: true, devices: ['ioapic id 8 (f0:1f.0) -> -'] },
        {
          segment: 1,
          base: 0xfed92000n,
          includeAll: false,
          devices: ['endpoint 0001:00:00.0 -> 0001:00:00.0'],
        },
      ],
      rmrrs: [
        {
          range: [0x7c000000n, 0x7c7fffffn],
          devices: ['endpoint 00:14.0 -> 0000:00:14.0', 'endpoint 00:1c.0/00.0 -> 0000:01:00.0'],
        },
      ],
    });
    expect(t.drhds.every((d) => d.passThrough && !d.translationPreEnabled)).toBe(true);
    expect(t.notes).toEqual([]);
  });

  it('a device named by two DRHDs is bound in the later one (the kernel lists them in reverse)', () => {
    const dmar = parseDmar(
      acpiTable('DMAR', 1, [
        ...dmarHeader(38, 0),
        ...drhd(0, 0, 0, 0xa000n, [dmarScope(1, 0, 0, [[2, 0]])]),
        ...drhd(0, 0, 0, 0xb000n, [dmarScope(1, 0, 0, [[2, 0]])]),
        ...drhd(0, 0, 0, 0xa000n, [dmarScope(1, 0, 0, [[0x14, 0]])]),
      ]),
      'two.dat',
    );
    const t = dmarToDriverTable(dmar, resolve, { passThrough: false, translationPreEnabled: true });
    expect(view(t).drhds.map((d) => d.devices)).toEqual([
      ['endpoint 00:02.0 -> -'],
      ['endpoint 00:02.0 -> 0000:00:02.0'],
    ]);
    expect(t.drhds[0]).toMatchObject({ passThrough: false, translationPreEnabled: true });
    expect(t.notes).toEqual([
      'offset 0x60: DRHD for segment 0 at 0xa000 repeats an earlier one; the kernel keeps the first',
      'offset 0x40: endpoint 00:02.0 is 0000:00:02.0, already bound by another unit (a device is in one DRHD only)',
    ]);
  });

  it('a scope of the wrong type fails the device everywhere; INCLUDE_PCI_ALL scopes stay unbound', () => {
    const dmar = parseDmar(
      acpiTable('DMAR', 1, [
        ...dmarHeader(38, 0),
        ...drhd(0, 0, 0, 0xa000n, [dmarScope(1, 0, 0, [[0x1c, 0]]), dmarScope(2, 0, 0, [[0x02, 0]])]),
        ...drhd(1, 0, 0, 0xb000n, [dmarScope(1, 0, 0, [[0x14, 0]])]),
        ...rmrr(0, 0x1000n, 0x1fffn, [dmarScope(2, 0, 0, [[0x1c, 0]]), dmarScope(1, 0, 0, [[0x1f, 0]])]),
      ]),
      'types.dat',
    );
    const t = dmarToDriverTable(dmar, resolve);
    expect(view(t).drhds.map((d) => d.devices)).toEqual([
      ['endpoint 00:1c.0 -> -', 'bridge 00:02.0 -> -'],
      ['endpoint 00:14.0 -> -'],
    ]);
    // 00:1f.0 is an ISA bridge with a type-0 header: a bridge scope would fail it, an endpoint scope fits.
    expect(view(t).rmrrs[0].devices).toEqual(['bridge 00:1c.0 -> -', 'endpoint 00:1f.0 -> 0000:00:1f.0']);
    expect(t.notes.filter((n) => /does not match/.test(n))).toHaveLength(2);
    expect(t.notes).toContain(
      "offset 0x50: the INCLUDE_PCI_ALL DRHD's PCI scopes are not bound (dmar_pci_bus_add_dev() skips the unit)",
    );
  });

  it("a scope of the wrong type in an RMRR ends that device's RMRR walk (RMRRs in reverse table order)", () => {
    const dmar = parseDmar(
      acpiTable('DMAR', 1, [
        ...dmarHeader(38, 0),
        ...drhd(0, 0, 0, 0xa000n, [dmarScope(1, 0, 0, [[0x02, 0]])]),
        ...rmrr(0, 0x1000n, 0x1fffn, [dmarScope(1, 0, 0, [[0x02, 0]])]),
        ...rmrr(0, 0x3000n, 0x3fffn, [dmarScope(2, 0, 0, [[0x02, 0]])]),
        ...rmrr(0, 0x5000n, 0x5fffn, [dmarScope(1, 0, 0, [[0x14, 0]])]),
      ]),
      'rmrr.dat',
    );
    const t = dmarToDriverTable(dmar, resolve);
    expect(view(t).drhds[0].devices).toEqual(['endpoint 00:02.0 -> 0000:00:02.0']);
    expect(view(t).rmrrs.map((r) => r.devices)).toEqual([
      ['endpoint 00:02.0 -> -'],
      ['bridge 00:02.0 -> -'],
      ['endpoint 00:14.0 -> 0000:00:14.0'],
    ]);
    expect(t.notes).toEqual([
      'offset 0x80: bridge 00:02.0: a bridge scope names a device that is not a bridge; the kernel stops binding 0000:00:02.0 to RMRRs here ("Device scope type does not match")',
    ]);
  });

  it('refuses a table the kernel refuses', () => {
    const dmar = parseDmar(acpiTable('DMAR', 1, [...dmarHeader(9, 0)]), 'haw.dat');
    expect(() => dmarToDriverTable(dmar, resolve)).toThrow(
      'haw.dat: offset 0x24: Host Address Width 10: parse_dmar_table() refuses the table ("Invalid DMAR haw")',
    );
  });
});

describe('dmarToDriverTable() against real Linux 6.12 (groundtruth)', () => {
  const scenarios = existsSync(GROUNDTRUTH_DIR)
    ? readdirSync(GROUNDTRUTH_DIR).filter((s) => groundtruthHas(s, 'DMAR.dat') && iommuOf(s).size > 0)
    : [];

  it.skipIf(scenarios.length === 0)('finds every groundtruth scenario with a DMAR', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(4);
  });

  for (const s of scenarios)
    it(`${s}: the devices the DMAR covers are the devices that got dmar0`, () => {
      const fns = lspciFunctions(s);
      const devices = devicesFor(fns);
      const t = dmarToDriverTable(
        parseDmar(tableBytes(`groundtruth-${s}.DMAR`), `${s}/DMAR.dat`),
        resolverFor(fns, devices),
      );
      // device_lookup_iommu(): a scope is the device, or a bridge scope's bus range holds it, or INCLUDE_ALL.
      const covered = fns
        .filter((f) =>
          t.drhds.some(
            (d) =>
              d.include_all ||
              d.devices.some((sc) => {
                if (!sc.dev) return false;
                if (sc.dev.name === f.name) return true;
                const b = fns.find((x) => x.name === sc.dev!.name)!;
                return b.secondary !== undefined && f.bus >= b.secondary && f.bus <= b.subordinate!;
              }),
          ),
        )
        .map((f) => f.name);
      expect(covered).toEqual([...iommuOf(s).keys()].sort());
      expect(t.notes).toEqual([]);
    });

  it.skipIf(!scenarios.includes('x86-q35-vtd-switch'))(
    'x86-q35-vtd-switch: the binary DMAR gives the table the platform file describes',
    () => {
      const booted = bootPlatform(loadPlatform('x86-q35-vtd-switch').desc, { profile: 'v6.12' });
      const fromPlatform = (booted.k.driverState.get('intel-iommu') as { table: DmarTable }).table;
      const byBdf = new Map([...booted.devices.values()].filter((d) => d.pci).map((d) => [d.pci!.name, d]));
      const t = dmarToDriverTable(
        parseDmar(tableBytes('groundtruth-x86-q35-vtd-switch.DMAR'), 'DMAR.dat'),
        (segment, bus, path) => {
          const r = dmarResolveScopePath(segment, bus, path, (s, b, df) => {
            const d = [...byBdf.values()].find(
              (x) => x.pci!.segment === s && x.pci!.busNr === b && x.pci!.devfn === df,
            );
            return d ? { secondary: d.pci!.subordinate?.number } : null;
          });
          return r
            ? ([...byBdf.values()].find((x) => x.pci!.busNr === r.bus && x.pci!.devfn === r.devfn) ?? null)
            : null;
        },
      );
      const shape = (x: DmarTable) => ({
        haw: x.haw,
        drhds: x.drhds.map((d) => ({
          base: d.reg_base_addr,
          includeAll: d.include_all,
          scopes: d.devices.map((sc) => [sc.type, sc.dev]),
        })),
        rmrrs: x.rmrrs.length,
      });
      expect(shape(t)).toEqual(shape(fromPlatform));
    },
  );
});
