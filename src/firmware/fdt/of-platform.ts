// SPDX-License-Identifier: GPL-2.0-only
/**
 * Which devices a device tree makes at boot (drivers/of/platform.c
 * of_platform_default_populate_init() with of_platform_bus_create(), strict):
 * every available child of the root with a `compatible` becomes a platform
 * device (an `arm,primecell` an amba device; an OPP table none), and the
 * children of a bus node (simple-bus, simple-mfd, isa, arm,amba-bus) are
 * populated the same way; before the tree, the /reserved-memory nodes that
 * want a device, /firmware's children (the Qualcomm SCM, say) and a /chosen
 * framebuffer. Names follow of_device_make_bus_id(): the node's translated `reg`
 * address in hex and its name without unit address ("9050000.smmuv3"),
 * else node names joined with ':' up to the first ancestor that has one
 * (src/firmware/of/of-address.ts, shared with the run-time population of
 * src/firmware/of/of-platform.ts).
 *
 * The result is the platform description's `devices` list (each pointing at
 * its node by path) and the PCI host bridge node, whose bus the PCI
 * topology (from an lspci dump) hangs under.
 */
import type { Fdt, FdtNode } from './fdt.js';
import { ofMakeBusId, ofTranslateReg } from '../of/of-address.js';
import { OF_DEFAULT_BUS_MATCH_TABLE, OF_SKIPPED_NODE_TABLE } from '../of/of-platform.js';
import {
  fdtCompatible,
  fdtNodeAvailable,
  fdtNodeReader,
  getProperty,
  propString,
  propStrings,
} from './fdt.js';

export interface DtDevice {
  readonly name: string;
  readonly bus: 'platform' | 'amba';
  /** The node's path. */
  readonly of: string;
  readonly compatible: readonly string[];
}

export interface DtPopulation {
  readonly devices: DtDevice[];
  /** The first available PCI host bridge node (device_type = "pci"), if any. */
  readonly pciHost: FdtNode | null;
}

/** of_translate_address() for the first `reg` entry (of-address.ts); null is OF_BAD_ADDR. */
export function translateReg(np: FdtNode): bigint | null {
  return ofTranslateReg(fdtNodeReader, np);
}

/** of_device_make_bus_id() (of-address.ts) */
export function ofDeviceBusId(np: FdtNode): string {
  return ofMakeBusId(fdtNodeReader, np);
}

/** reserved_mem_matches: /reserved-memory nodes that do get a device. */
const RESERVED_MEM_MATCHES = [
  'phram',
  'qcom,rmtfs-mem',
  'qcom,cmd-db',
  'qcom,smem',
  'ramoops',
  'nvmem-rmem',
  'google,open-dice',
];

/**
 * of_platform_default_populate_init(): the reserved-memory nodes that want a
 * device, then /firmware's children, then a /chosen simple-framebuffer, then
 * the whole tree (of_platform_bus_create(), strict). A node gets one device
 * (OF_POPULATED), and a bus is walked once (OF_POPULATED_BUS).
 */
export function ofPlatformPopulate(fdt: Fdt): DtPopulation {
  const devices: DtDevice[] = [];
  const populated = new Set<FdtNode>();
  const populatedBus = new Set<FdtNode>();
  let pciHost: FdtNode | null = null;
  /** of_platform_device_create_pdata() / of_amba_device_create(): false when no device was made. */
  const deviceCreate = (np: FdtNode, bus: 'platform' | 'amba'): boolean => {
    if (!fdtNodeAvailable(np) || populated.has(np)) return false;
    populated.add(np);
    const compatible = propStrings(np, 'compatible') ?? [];
    devices.push({ name: ofDeviceBusId(np), bus, of: np.path, compatible });
    if (!pciHost && propString(np, 'device_type') === 'pci') pciHost = np;
    return true;
  };
  /** of_platform_bus_create() */
  const busCreate = (np: FdtNode): void => {
    if (!getProperty(np, 'compatible')) return;
    if (fdtCompatible(np, ...OF_SKIPPED_NODE_TABLE) || populatedBus.has(np)) return;
    if (fdtCompatible(np, 'arm,primecell')) {
      deviceCreate(np, 'amba');
      return;
    }
    if (!deviceCreate(np, 'platform') || !fdtCompatible(np, ...OF_DEFAULT_BUS_MATCH_TABLE)) return;
    np.children.forEach(busCreate);
    populatedBus.add(np);
  };
  const child = (np: FdtNode | undefined, name: string) => np?.children.find((c) => c.name === name);
  const reserved = child(fdt.root, 'reserved-memory');
  for (const n of reserved?.children ?? [])
    if (fdtCompatible(n, ...RESERVED_MEM_MATCHES)) deviceCreate(n, 'platform');
  child(fdt.root, 'firmware')?.children.forEach(busCreate);
  const fb = child(fdt.root, 'chosen')?.children.find((c) => fdtCompatible(c, 'simple-framebuffer'));
  if (fb) deviceCreate(fb, 'platform');
  fdt.root.children.forEach(busCreate);
  return { devices, pciHost };
}
