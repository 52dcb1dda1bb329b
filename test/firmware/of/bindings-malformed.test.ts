// SPDX-License-Identifier: GPL-2.0-only
// Broken IOMMU bindings in device trees, booted through the whole engine:
// each gets the kernel's answer (an errno from the OF helpers, the kernel's
// log line, the device bound without an IOMMU), never an exception, a hang
// or a silently wrong IOMMU. Rules from drivers/of/base.c
// (of_phandle_iterator_next(), of_phandle_iterator_args(), of_map_id()) and
// drivers/iommu/of_iommu.c.
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../support/scratch.js';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bootInputs, type BootResult } from '../../../src/api.js';
import { InputError } from '../../../src/input/input-error.js';
import { dtbFile, gic, node, root, spis } from '../../support/dt.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/dtb/', import.meta.url));
const lspci = fileURLToPath(
  new URL('../../../../shared/groundtruth/arm64-virt-smmuv3-dt-bridge/lspci.txt', import.meta.url),
);

const smmu = (props: Record<string, number | number[] | string | true> = {}) =>
  node('iommu@10000000', {
    compatible: 'arm,mmu-500',
    reg: [0, 0x10000000, 0, 0x10000],
    '#iommu-cells': 1,
    '#global-interrupts': 1,
    interrupts: spis(2),
    phandle: 2,
    ...props,
  });
const master = (iommus: number[], extra: Record<string, number | number[] | string | true> = {}) =>
  node('dev@20000000', { compatible: 'test,master', reg: [0, 0x20000000, 0, 0x1000], iommus, ...extra });

function dev(r: BootResult, name = '20000000.dev') {
  return r.devices.find((d) => d.name === name)!;
}

describe('iommus lists that do not parse', () => {
  it('a phandle to no node: -EINVAL, the device binds without an IOMMU', () => {
    const r = bootInputs([dtbFile(root([gic(), smmu(), master([0x77, 5])]))], { profile: 'v6.12' });
    expect(r.log).toContain('OF: /dev@20000000: could not find phandle 119');
    expect(dev(r).driver).toBe('of:test,master');
    expect(dev(r).iommu).toBeNull();
    // of_iommu_configure_dev() stops at the parse error with its initial -ENODEV.
    expect(dev(r).history).toContain('of_iommu_configure(): -ENODEV');
  });

  it('a huge #iommu-cells: the list is too short for it, nothing is read past its end', () => {
    const r = bootInputs([dtbFile(root([gic(), smmu({ '#iommu-cells': 0xffffffff }), master([2, 5])]))], {
      profile: 'v6.12',
    });
    expect(r.log).toContain('OF: /dev@20000000: #iommu-cells = -1 found 1');
    expect(dev(r).iommu).toBeNull();
    expect(r.leaks).toEqual([]);
  });

  it('#iommu-cells above MAX_PHANDLE_ARGS: WARN, and only the first 16 cells reach of_xlate()', () => {
    const cells = Array.from({ length: 20 }, (_, i) => (i === 1 ? 0x3 : i === 0 ? 0x40 : 0xdead));
    const r = bootInputs([dtbFile(root([gic(), smmu({ '#iommu-cells': 20 }), master([2, ...cells])]))], {
      profile: 'v6.12',
    });
    expect(r.warnings.some((w) => w.site === 'of_phandle_iterator_args')).toBe(true);
    // arm_smmu_of_xlate() reads cell 0 (SID) and cell 1 (mask).
    expect(dev(r).fwspec?.ids).toEqual([0x30040]);
  });

  it('a missing #iommu-cells on the target: "could not get", -EINVAL', () => {
    const r = bootInputs([dtbFile(root([gic(), smmu({ '#iommu-cells': [] as number[] }), master([2, 5])]))], {
      profile: 'v6.12',
    });
    expect(r.log.some((l) => l.includes('could not get #iommu-cells for /iommu@10000000'))).toBe(true);
    expect(dev(r).iommu).toBeNull();
  });
});

describe('cycles and self-references end', () => {
  it('a device whose iommus names itself waits for an IOMMU that never registers, then binds at the timeout', () => {
    const self = node('dev@20000000', {
      compatible: 'test,master',
      reg: [0, 0x20000000, 0, 0x1000],
      '#iommu-cells': 0,
      phandle: 7,
      iommus: [7],
    });
    const r = bootInputs([dtbFile(root([gic(), self]))], { profile: 'v6.12' });
    expect(dev(r).driver).toBe('of:test,master');
    expect(dev(r).history).toContain('of_iommu_configure(): -ETIMEDOUT');
  });

  it('an interrupt-parent cycle: no interrupt controller is found, the SMMU counts no interrupts', () => {
    const a = node('a', { 'interrupt-parent': 9, phandle: 8 });
    const b = node('b', { 'interrupt-parent': 8, phandle: 9 });
    const r = bootInputs([dtbFile(root([a, b, smmu({ 'interrupt-parent': 8 })]))], { profile: 'v6.12' });
    expect(r.log).toContain('10000000.iommu: found 0 interrupts but expected at least 2');
    expect(r.iommus).toEqual([]);
  });

  it('two nodes claiming one phandle: the first in tree order wins (of_find_node_by_phandle)', () => {
    const twin = node('iommu@30000000', {
      compatible: 'arm,mmu-500',
      reg: [0, 0x30000000, 0, 0x10000],
      '#iommu-cells': 1,
      '#global-interrupts': 1,
      interrupts: spis(2),
      phandle: 2,
    });
    const r = bootInputs([dtbFile(root([gic(), smmu(), twin, master([2, 5])]))], { profile: 'v6.12' });
    expect(dev(r).iommu).toBe('smmu.0x0000000010000000');
  });
});

/** A PCI host with an iommu-map, and the ground truth's PCI functions under it. */
function pciHost(map: number[], extra: Record<string, number | number[]> = {}) {
  return node('pcie@40000000', {
    compatible: 'pci-host-ecam-generic',
    device_type: 'pci',
    '#address-cells': 3,
    '#size-cells': 2,
    reg: [0, 0x40000000, 0, 0x10000000],
    'iommu-map': map,
    ...extra,
  });
}

describe('iommu-map problems (of_map_id())', () => {
  it('a length that is not whole entries: "Bad iommu-map length", -EINVAL, no IOMMU', () => {
    const r = bootInputs([dtbFile(root([gic(), smmu(), pciHost([0, 2, 0, 0x10000, 7])])), lspci], {
      profile: 'v6.12',
    });
    expect(r.log.some((l) => l.includes('Error: Bad iommu-map length: 20'))).toBe(true);
    expect(r.devices.filter((d) => d.bus === 'pci' && d.iommu)).toEqual([]);
  });

  it('an id-base with bits outside iommu-map-mask: -EFAULT', () => {
    const r = bootInputs(
      [dtbFile(root([gic(), smmu(), pciHost([0x100, 2, 0, 0x100], { 'iommu-map-mask': 0xff })])), lspci],
      { profile: 'v6.12' },
    );
    expect(r.log.some((l) => l.includes('Invalid iommu-map, iommu-map-mask: 0xff, id-base: 0x100'))).toBe(
      true,
    );
    expect(r.devices.filter((d) => d.bus === 'pci' && d.iommu)).toEqual([]);
  });

  it('a zero-length entry (the LS1088A map before U-Boot fills it): no translation, the functions bypass', () => {
    const r = bootInputs([dtbFile(root([gic(), smmu(), pciHost([0, 2, 0, 0])])), lspci], {
      profile: 'v6.12',
    });
    expect(r.log.some((l) => l.includes('no iommu-map translation for id 0x50'))).toBe(true);
    expect(r.devices.filter((d) => d.bus === 'pci' && d.iommu)).toEqual([]);
    expect(r.devices.find((d) => d.name === '0000:02:00.0')?.driver).toBe('e1000e');
  });

  it('the real LS1088A-RDB leaves every PCIe controller disabled: a PCI dump has no host to go under', () => {
    expect(() =>
      bootInputs([fixtures + 'arm64-6.12-fsl-ls1088a-rdb.dtb', lspci], { profile: 'v6.12' }),
    ).toThrow(/arm64-6\.12-fsl-ls1088a-rdb\.dtb: device_type: no available PCI host bridge node/);
  });
});

describe('whole boots of damaged real blobs', () => {
  const blobs = ['arm64-6.12-juno-r1.dtb', 'arm64-6.12-sdm845-db845c.dtb'].map((f) =>
    readFileSync(fixtures + f),
  );
  const qemu = gunzipSync(readFileSync(fixtures + 'qemu-virt-smmuv3.dtb.gz')).subarray(0, 0x2000);
  const dir = scratchDir('iommu-lab-fuzz-');

  it('a byte changed in the structure block boots or is an InputError, never another exception', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: blobs.length - 1 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (which, pos, byte) => {
          const blob = Uint8Array.from(blobs[which]);
          const at = 0x40 + (pos % (blob.length - 0x40));
          blob[at] = byte;
          const path = join(dir, `m${which}.dtb`);
          writeFileSync(path, blob);
          try {
            const r = bootInputs([path], { profile: 'v6.12' });
            expect(r.invariantViolations.filter((v) => !v.knownBug)).toEqual([]);
          } catch (e) {
            expect(e).toBeInstanceOf(InputError);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a blob cut short is an InputError naming the file', () => {
    const path = join(dir, 'cut.dtb');
    writeFileSync(path, qemu);
    expect(() => bootInputs([path], { profile: 'v6.12' })).toThrow(InputError);
  });
});
