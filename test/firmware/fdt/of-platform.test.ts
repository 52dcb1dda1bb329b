// SPDX-License-Identifier: GPL-2.0-only
// of_platform_default_populate() on real trees: which nodes become devices,
// on which bus, under which names (of_device_make_bus_id()), and where the
// PCI host bridge is. Names checked against what Linux printed for the same
// QEMU machine ("arm-smmu-v3 9050000.smmuv3" in its log) and the kernel's
// naming of nested nodes.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseFdt } from '../../../src/firmware/fdt/fdt-parse.js';
import { ofDeviceBusId, ofPlatformPopulate, translateReg } from '../../../src/firmware/fdt/of-platform.js';
import { findNodeByPath } from '../../../src/firmware/fdt/fdt.js';
import { buildFdt } from '../../support/fdt-build.js';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/dtb/', import.meta.url));
const cells = (...v: number[]) => {
  const b = new Uint8Array(v.length * 4);
  v.forEach((x, i) => new DataView(b.buffer).setUint32(i * 4, x));
  return b;
};
const str = (s: string) => Uint8Array.from([...s].map((c) => c.charCodeAt(0)).concat(0));

describe('of_platform_default_populate()', () => {
  it('QEMU virt: the SMMU, the PCIe host and the PL011 (amba), named as Linux names them', () => {
    const fdt = parseFdt(readFileSync(fixtures + 'qemu-virt-smmuv3.dtb.gz'), 'virt.dtb');
    const pop = ofPlatformPopulate(fdt);
    const byName = new Map(pop.devices.map((d) => [d.name, d]));
    expect(byName.get('9050000.smmuv3')?.bus).toBe('platform');
    expect(byName.get('9000000.pl011')?.bus).toBe('amba');
    expect(byName.get('4010000000.pcie')?.of).toBe(pop.pciHost?.path);
    // Nodes without compatible (chosen, memory, cpus) make no device.
    expect(
      pop.devices.some((d) => d.of === '/chosen' || d.of.startsWith('/memory') || d.of === '/cpus'),
    ).toBe(false);
  });

  it('disabled nodes are skipped; simple-bus children are populated with ranges translated', () => {
    const fdt = parseFdt(
      buildFdt({
        name: '',
        props: [
          ['#address-cells', cells(2)],
          ['#size-cells', cells(2)],
        ],
        children: [
          {
            name: 'soc',
            props: [
              ['compatible', str('simple-bus')],
              ['#address-cells', cells(1)],
              ['#size-cells', cells(1)],
              ['ranges', cells(0, 0, 0x40000000, 0x10000000)],
            ],
            children: [
              {
                name: 'iommu@1000',
                props: [
                  ['compatible', str('vendor,iommu')],
                  ['reg', cells(0x1000, 0x100)],
                ],
                children: [],
              },
              {
                name: 'dma@2000',
                props: [
                  ['compatible', str('vendor,dma')],
                  ['reg', cells(0x2000, 0x100)],
                  ['status', str('disabled')],
                ],
                children: [],
              },
              { name: 'leds', props: [['compatible', str('gpio-leds')]], children: [] },
            ],
          },
          { name: 'nocompat@5', props: [['reg', cells(0, 5, 0, 1)]], children: [] },
        ],
      }),
      'synthetic.dtb',
    );
    const pop = ofPlatformPopulate(fdt);
    expect(pop.devices.map((d) => d.name)).toEqual(['soc', '40001000.iommu', 'soc:leds']);
    expect(translateReg(findNodeByPath(fdt, '/soc/iommu@1000')!)).toBe(0x40001000n);
    expect(ofDeviceBusId(findNodeByPath(fdt, '/soc/leds')!)).toBe('soc:leds');
    expect(pop.pciHost).toBeNull();
  });
});
