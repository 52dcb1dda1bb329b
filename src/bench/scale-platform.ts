// SPDX-License-Identifier: GPL-2.0-only
/**
 * A generated SR-IOV-style x86 platform of any size, for the scale
 * benchmark: per PCI segment a host bridge, root ports with ACS, and below
 * each root port one physical function whose virtual functions fill the
 * root port's bus range (virtfn_add_bus() puts VFs on buses of their own,
 * behind no bridge); one VT-d unit per segment with INCLUDE_PCI_ALL. With
 * ACS on the root ports every VF is isolated: a group per function.
 */
import type { PlatformInput } from '../platform/schema.js';

export interface ScalePlatformOptions {
  /** PCI segments, each with its own VT-d unit. */
  readonly segments: number;
  /** Root ports per segment (each with one PF), at most 248. */
  readonly rootPorts: number;
  /** Bus numbers per root port: the PF and its VFs fill them, 256 functions each (less the PF). */
  readonly busesPerPort: number;
}

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');

/** Functions the platform has: per segment a host bridge, and per root port itself, a PF and its VFs. */
export function scaleFunctionCount(o: ScalePlatformOptions): number {
  return o.segments * (1 + o.rootPorts * (1 + 256 * o.busesPerPort));
}

export function scalePlatform(o: ScalePlatformOptions): PlatformInput {
  if (o.rootPorts < 1 || o.rootPorts > 248 || 1 + o.rootPorts * o.busesPerPort > 256)
    throw new RangeError(
      `${o.rootPorts} root ports of ${o.busesPerPort} buses do not fit a segment's 256 buses`,
    );
  const pci = Array.from({ length: o.segments }, (_, segment) => {
    const functions: Record<string, unknown>[] = [
      { bdf: '00:00.0', type: 'conventional', vendor: '8086', device: '29c0', class: '060000' },
    ];
    for (let r = 0; r < o.rootPorts; r++) {
      const devfn = 8 + r;
      const secondary = 1 + r * o.busesPerPort;
      const pf = `${hex(secondary, 2)}:00.0`;
      functions.push({
        bdf: `00:${hex(devfn >> 3, 2)}.${devfn & 7}`,
        type: 'root-port',
        vendor: '8086',
        device: '7075',
        class: '060400',
        secondary,
        subordinate: secondary + o.busesPerPort - 1,
        acs: { cap: '0x5f' },
      });
      functions.push({ bdf: pf, type: 'endpoint', vendor: '8086', device: '1592', class: '020000' });
      for (let b = 0; b < o.busesPerPort; b++)
        for (let fn = b === 0 ? 1 : 0; fn < 256; fn++)
          functions.push({
            bdf: `${hex(secondary + b, 2)}:${hex(fn >> 3, 2)}.${fn & 7}`,
            type: 'endpoint',
            vendor: '8086',
            device: '1889',
            class: '020000',
            physfn: pf,
          });
    }
    return { segment, root: 0, functions };
  });
  return {
    name: `scale-${scaleFunctionCount(o)}`,
    description: `Generated: ${o.segments} PCI segments, each a VT-d unit with INCLUDE_PCI_ALL and ${o.rootPorts} root ports with ACS, each above one SR-IOV physical function whose VFs fill ${o.busesPerPort} buses.`,
    arch: 'x86_64',
    cmdline: 'intel_iommu=on iommu=pt',
    pci,
    dmar: {
      drhds: Array.from({ length: o.segments }, (_, segment) => ({
        base: `0x${hex(0xfed90000 + segment * 0x1000, 8)}`,
        segment,
        includePciAll: true,
      })),
    },
  } as PlatformInput;
}
