// SPDX-License-Identifier: GPL-2.0-only
// A device's history (what "explain" and the JSON output tell): lines in
// order, a line added again right after itself counted instead of repeated.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Device } from '../../src/base/device.js';

/** The oracle: runs of equal lines, each written once with its count when above one. */
function runLength(lines: readonly string[]): string[] {
  const out: { line: string; n: number }[] = [];
  for (const l of lines) {
    const last = out.at(-1);
    if (last?.line === l) last.n++;
    else out.push({ line: l, n: 1 });
  }
  return out.map((r) => (r.n > 1 ? `${r.line} (×${r.n})` : r.line));
}

describe('device history', () => {
  it('reads as the lines added, runs counted (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'a (×2)', 'c', 'ab'), { maxLength: 40 }), (lines) => {
        const dev = new Device('d');
        for (const l of lines) dev.addHistory(l);
        expect(dev.history).toEqual(runLength(lines));
        for (const p of ['a', 'b', 'c', 'a ('])
          expect(dev.lastHistory(p)).toBe([...lines].reverse().find((l) => l.startsWith(p)));
      }),
    );
  });

  it('says how often a driver turned the device down', () => {
    const dev = new Device('0000:01:00.0');
    dev.addHistory('DMAR: dmar3 has INCLUDE_PCI_ALL for segment 3');
    for (let i = 0; i < 3; i++) dev.addHistory('intel-iommu probe_device() returned -ENODEV');
    expect(dev.history).toEqual([
      'DMAR: dmar3 has INCLUDE_PCI_ALL for segment 3',
      'intel-iommu probe_device() returned -ENODEV (×3)',
    ]);
    dev.addHistory('probed by intel-iommu');
    expect(dev.history.at(-2)).toBe('intel-iommu probe_device() returned -ENODEV (×3)');
  });
});
