// SPDX-License-Identifier: GPL-2.0-only
// The scale benchmark's generated platform (src/bench/scale-platform.ts) is
// what it says, checked at a small size through the public API: every
// function present, the VFs on buses behind no bridge, each function its own
// group (ACS on the root ports, VFs single-function), each segment's
// functions on its own VT-d unit, identity default domains (iommu=pt), and
// a teardown without leaks. measureScale() counts what the boot made.
import { describe, expect, it } from 'vitest';
import { boot } from '../../src/api.js';
import { measureScale } from '../../src/bench/scale.js';
import { scaleFunctionCount, scalePlatform } from '../../src/bench/scale-platform.js';
import { parsePlatform } from '../../src/platform/load.js';

const small = { segments: 2, rootPorts: 3, busesPerPort: 2 };

describe('the generated SR-IOV platform', () => {
  it('boots every function into a group of its own, each segment on its own VT-d unit', () => {
    const n = scaleFunctionCount(small);
    expect(n).toBe(2 * (1 + 3 * (1 + 512)));
    const r = boot(parsePlatform(scalePlatform(small), 'generated'), { profile: 'v6.12' });
    expect(r.leaks).toEqual([]);
    expect(r.invariantViolations).toEqual([]);
    const pci = r.devices.filter((d) => d.bus === 'pci');
    expect(pci.length).toBe(n);
    expect(r.groups.length).toBe(n);
    expect(r.groups.every((g) => g.devices.length === 1 && g.type === 'identity')).toBe(true);
    // A VF on the second bus of segment 1's third root port: behind dmar1.
    const vf = pci.find((d) => d.name === '0001:06:00.3')!;
    expect(vf.iommu).toBe('dmar1');
    expect(pci.find((d) => d.name === '0000:01:1f.7')!.iommu).toBe('dmar0');
  });

  it('measureScale() counts the functions, groups and IOMMU units the boot made', () => {
    const m = measureScale(small);
    expect([m.functions, m.groups, m.iommus]).toEqual([
      scaleFunctionCount(small),
      scaleFunctionCount(small),
      2,
    ]);
    expect(m.bootMs).toBeGreaterThan(0);
  });

  it("refuses a shape that does not fit a segment's 256 buses", () => {
    expect(() => scalePlatform({ segments: 1, rootPorts: 64, busesPerPort: 4 })).toThrow(/do not fit/);
  });
});
