// SPDX-License-Identifier: GPL-2.0-only
// AMD-Vi from a binary IVRS: unity maps (IVMD) become direct reserved regions,
// exclusion ranges reserved ones; devices the IVHD does not cover get no IOMMU.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { boot } from '../../src/api.js';
import { parsePlatform } from '../../src/platform/load.js';
import { parseIvrs } from '../../src/firmware/acpi/ivrs-parse.js';

const file = new URL('../firmware/acpi/synthetic/types.IVRS.dat', import.meta.url).pathname;
const ivrs = parseIvrs(new Uint8Array(readFileSync(file)), file);

const desc = parsePlatform(
  {
    name: 'amd-ivmd',
    arch: 'x86_64',
    pci: {
      root: 0,
      functions: [
        { bdf: '00:00.0', type: 'conventional', vendor: '1022', device: '1480', class: '060000' },
        { bdf: '00:01.0', type: 'rc-endpoint', vendor: '1022', device: '1234', class: '020000' },
        { bdf: '00:05.0', type: 'rc-endpoint', vendor: '1022', device: '1235', class: '020000' },
      ],
    },
  },
  't.json',
);

describe('AMD-Vi from a binary IVRS', () => {
  const r = boot(desc, { firmware: { ivrs } });
  const dev = (n: string) => r.devices.find((d) => d.name === n)!;

  it('registers the IVHD unit and covers exactly the device IDs its entries name', () => {
    expect(r.iommus.map((i) => i.name)).toEqual(['ivhd0']);
    expect(dev('0000:00:01.0').iommu).toBe('ivhd0');
    expect(dev('0000:00:05.0').iommu).toBeNull(); // device ID 0x28 is in no IVHD entry
  });

  it('turns an IVMD unity map into a direct region, beside the MSI and HyperTransport windows', () => {
    expect(dev('0000:00:01.0').reservedRegions.map((x) => [x.start, x.end, x.type])).toEqual([
      ['0x00000000000e0000', '0x00000000000e0fff', 'direct'],
      ['0x00000000fee00000', '0x00000000feefffff', 'msi'],
      ['0x000000fd00000000', '0x000000ffffffffff', 'reserved'],
    ]);
  });
});
