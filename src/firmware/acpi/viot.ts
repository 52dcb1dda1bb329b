// SPDX-License-Identifier: GPL-2.0-only
/**
 * The kernel's use of a parsed VIOT (drivers/acpi/viot.c): what
 * acpi_viot_early_init() and acpi_viot_init() leave behind, and
 * viot_iommu_configure(), the VIOT half of acpi_iommu_configure_id().
 *
 *  - acpi_viot_early_init(), before PCI enumeration: a VIOT is present, so
 *    pci_request_acs().
 *  - acpi_viot_init(), after the PCI bus scan and the ACPI namespace scan
 *    (it is the last step of acpi_init()): viot_parse_node() for every node.
 *    Each PCI range and MMIO endpoint goes on viot_pci_ranges or
 *    viot_mmio_endpoints (list_add(): at the head, so the last node of the
 *    table is tried first), pointing at its struct viot_iommu, made once per
 *    IOMMU node by viot_get_iommu(). A virtio-pci IOMMU is the PCI function
 *    at (segment, BDF) (viot_get_pci_iommu_fwnode()): its fwnode, or, for a
 *    function ACPI does not describe, a new static ACPI fwnode
 *    (acpi_alloc_fwnode_static()) made its primary fwnode
 *    (set_primary_fwnode()). A virtio-mmio IOMMU is the ACPI device whose
 *    resources hold the base address (viot_get_mmio_iommu_fwnode(),
 *    acpi_resource_consumer()). An endpoint whose IOMMU cannot be found is
 *    dropped with "No IOMMU node found". The virtio-iommu driver registers
 *    its instance with the transport's device as hwdev, so iommu->fwnode is
 *    that same fwnode and iommu_fwspec_init() finds the instance by it.
 *  - viot_iommu_configure(): a PCI device is looked up by each of its DMA
 *    aliases in turn (the first range that holds the alias's segment and
 *    BDF gives endpoint ID ((segment - segment_start) << 16) + BDF -
 *    bdf_start + endpoint_start), a platform device by the start of its
 *    first MMIO resource.
 *
 * The kernel keeps these lists in static variables; here they hang off the
 * Kernel through a WeakMap. The kzalloc()s of struct viot_iommu and
 * viot_endpoint and of the static fwnode are __init, never freed, and not
 * counted by the model's allocator (so fail-nth cannot reach them).
 * CONFIG_VIRTIO_IOMMU is taken as enabled.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { PciDev } from '../../pci/pci-dev.js';
import { type AcpiIommuConfigurer, acpi_alloc_fwnode_static, acpi_iommu_fwspec_init } from './acpi-iommu.js';
import type { ParsedViot, ViotIommuNode } from './viot-parse.js';
import { type Device, dev_fwnode, dev_is_pci } from '../../base/device.js';
import type { Fwnode } from '../../base/fwnode.js';
import { EINVAL, ENODEV, EPROBE_DEFER } from '../../kernel/errno.js';
import { pci_get_domain_bus_and_slot, pci_core } from '../../pci/pci-core.js';
import { pci_request_acs } from '../../pci/acs.js';
import { dev_is_platform, platform_get_mem_resource } from '../../base/platform.js';
import { pci_domain_nr } from '../../pci/pci-bus.js';
import { pci_for_each_dma_alias } from '../../pci/search.js';
import { ridName } from '../../pci/pci-dev.js';
import { iommu_ops_from_fwnode } from '../../iommu/iommu-device.js';
import { hex } from './acpi-table.js';

/** struct viot_iommu: one IOMMU node the endpoints point at, with the fwnode that names its instance. */
export type ViotIommu =
  | {
      readonly kind: 'pci';
      /** Node offset within the table. */
      readonly offset: number;
      readonly segment: number;
      /** bus << 8 | devfn */
      readonly bdf: number;
      /** The virtio-pci function. */
      readonly pdev: PciDev;
      readonly fwnode: Fwnode;
    }
  | {
      readonly kind: 'mmio';
      readonly offset: number;
      readonly base: bigint;
      readonly fwnode: Fwnode;
    };

/** struct viot_endpoint for a PCI range. */
export interface ViotPciRange {
  readonly kind: 'pci';
  /** Offset of the PCI range node, for messages. */
  readonly offset: number;
  readonly segment_start: number;
  readonly segment_end: number;
  readonly bdf_start: number;
  readonly bdf_end: number;
  /** endpoint_start */
  readonly endpoint_id: number;
  readonly viommu: ViotIommu;
}

/** struct viot_endpoint for an MMIO endpoint. */
export interface ViotMmioEndpoint {
  readonly kind: 'mmio';
  readonly offset: number;
  readonly address: bigint;
  readonly endpoint_id: number;
  readonly viommu: ViotIommu;
}

/** viot.c's static state. */
export interface ViotState {
  /** The table acpi_get_table() finds (set by acpi_viot_early_init()). */
  table: ParsedViot | null;
  /** acpi_viot_init() ran. */
  initialized: boolean;
  readonly viot_iommus: ViotIommu[];
  /** In list order: the last PCI range node of the table first. */
  readonly viot_pci_ranges: ViotPciRange[];
  readonly viot_mmio_endpoints: ViotMmioEndpoint[];
}

/** acpi_resource_consumer(): the fwnode of the ACPI device whose resources hold `address`, or null. */
export type AcpiResourceConsumer = (k: Kernel, address: bigint) => Fwnode | null;

export interface ViotInitOptions {
  /** How a virtio-mmio IOMMU's base is found (default: defaultAcpiResourceConsumer). */
  readonly acpi_resource_consumer?: AcpiResourceConsumer;
}

const states = new WeakMap<Kernel, ViotState>();

/** viot.c's state for kernel k, created empty on first use. */
export function viotState(k: Kernel): ViotState {
  let st = states.get(k);
  if (!st) {
    st = { table: null, initialized: false, viot_iommus: [], viot_pci_ranges: [], viot_mmio_endpoints: [] };
    states.set(k, st);
  }
  return st;
}

/**
 * acpi_resource_consumer() as far as the model knows ACPI devices: the
 * first registered device with an ACPI fwnode whose MMIO resource holds
 * `address`.
 */
export const defaultAcpiResourceConsumer: AcpiResourceConsumer = (k, address) => {
  for (const dev of k.base.devices) {
    if (dev.fwnode?.kind !== 'acpi') continue;
    const r = platform_get_mem_resource(dev);
    if (r && r.start <= address && address <= r.end) return dev.fwnode;
  }
  return null;
};

// ---- acpi_viot_early_init(), acpi_viot_init()

/**
 * acpi_viot_early_init(): with a VIOT, ACS is requested before the PCI
 * functions are enumerated. Also records the table for acpi_viot_init().
 */
export function acpi_viot_early_init(k: Kernel, table: ParsedViot | null): void {
  if (!table) return;
  viotState(k).table = table;
  pci_core(k).acpiTables.add('VIOT');
  pci_request_acs(k);
}

/** The same as acpi_viot_early_init(), under the name the platform code asked for. */
export const acpiViotEarlyInit = acpi_viot_early_init;

/** viot_get_pci_iommu_fwnode(): 0 and the viommu, or -ENODEV. */
function viot_get_pci_iommu_fwnode(
  k: Kernel,
  node: ViotIommuNode & { kind: 'virtio-iommu-pci' },
): ViotIommu | number {
  const pdev = pci_get_domain_bus_and_slot(k, node.segment, node.bdf >> 8, node.bdf & 0xff);
  if (!pdev) {
    k.printk.log(
      'err',
      'ACPI: VIOT',
      `Could not find PCI IOMMU (node ${hex(node.offset)}: ${node.segment.toString(16).padStart(4, '0')}:${ridName(node.bdf)})`,
    );
    return -ENODEV;
  }
  const dev = pdev.dev;
  if (!dev_fwnode(dev)) {
    // PCI functions are not necessarily described by ACPI: set_primary_fwnode() on a device without one.
    dev.fwnode = acpi_alloc_fwnode_static(`VIOT fwnode of ${dev.name}`);
    dev.addHistory(
      `acpi_viot_init(): VIOT node ${hex(node.offset)} gave this virtio-iommu a static ACPI fwnode`,
    );
  }
  return {
    kind: 'pci',
    offset: node.offset,
    segment: node.segment,
    bdf: node.bdf,
    pdev,
    fwnode: dev_fwnode(dev)!,
  };
}

/** viot_get_mmio_iommu_fwnode(): 0 and the viommu, or -EINVAL. */
function viot_get_mmio_iommu_fwnode(
  k: Kernel,
  node: ViotIommuNode & { kind: 'virtio-iommu-mmio' },
  consumer: AcpiResourceConsumer,
): ViotIommu | number {
  const fwnode = consumer(k, node.baseAddress);
  if (!fwnode) {
    k.printk.log(
      'err',
      'ACPI: VIOT',
      `Could not find MMIO IOMMU (node ${hex(node.offset)}: ${hex(node.baseAddress)})`,
    );
    return -EINVAL;
  }
  return { kind: 'mmio', offset: node.offset, base: node.baseAddress, fwnode };
}

/** viot_get_iommu(): the viommu of the IOMMU node at `offset`, made on first use; null when it cannot be. */
function viot_get_iommu(
  k: Kernel,
  st: ViotState,
  table: ParsedViot,
  offset: number,
  consumer: AcpiResourceConsumer,
): ViotIommu | null {
  const known = st.viot_iommus.find((v) => v.offset === offset);
  if (known) return known;
  const node = table.nodes.find((n) => n.offset === offset);
  let ret: ViotIommu | number;
  if (node?.kind === 'virtio-iommu-pci') ret = viot_get_pci_iommu_fwnode(k, node);
  else if (node?.kind === 'virtio-iommu-mmio') ret = viot_get_mmio_iommu_fwnode(k, node, consumer);
  else ret = -EINVAL; // parseViot() lets no such table through
  if (typeof ret === 'number') return null;
  st.viot_iommus.unshift(ret);
  return ret;
}

/**
 * acpi_viot_init(): builds viot_pci_ranges and viot_mmio_endpoints from the
 * table (given here, or recorded by acpi_viot_early_init()). Runs once per
 * kernel: later calls return the state as it is. Call it after the PCI
 * functions (and the ACPI platform devices) exist, as acpi_init() does.
 */
export function acpi_viot_init(
  k: Kernel,
  table: ParsedViot | null = null,
  opts: ViotInitOptions = {},
): ViotState {
  const st = viotState(k);
  if (st.initialized) return st;
  if (table) st.table = table;
  if (!st.table) return st; // acpi_get_table(): AE_NOT_FOUND
  st.initialized = true;
  const consumer = opts.acpi_resource_consumer ?? defaultAcpiResourceConsumer;
  // viot_parse_node(), for each node in order. parseViot() has already refused what would make
  // it fail (bounds, short nodes), so every node here parses.
  for (const node of st.table.nodes) {
    switch (node.kind) {
      case 'virtio-iommu-pci':
      case 'virtio-iommu-mmio':
        continue;
      case 'unknown':
        k.printk.log('warn', 'ACPI: VIOT', `Unsupported node ${node.type.toString(16)}`);
        continue;
      case 'pci-range': {
        const viommu = viot_get_iommu(k, st, st.table, node.outputNode, consumer);
        if (!viommu) {
          k.printk.log('warn', 'ACPI: VIOT', `No IOMMU node found (PCI range at ${hex(node.offset)})`);
          continue;
        }
        st.viot_pci_ranges.unshift({
          kind: 'pci',
          offset: node.offset,
          segment_start: node.segmentStart,
          segment_end: node.segmentEnd,
          bdf_start: node.bdfStart,
          bdf_end: node.bdfEnd,
          endpoint_id: node.endpointStart,
          viommu,
        });
        continue;
      }
      case 'mmio': {
        const viommu = viot_get_iommu(k, st, st.table, node.outputNode, consumer);
        if (!viommu) {
          k.printk.log('warn', 'ACPI: VIOT', `No IOMMU node found (MMIO endpoint at ${hex(node.offset)})`);
          continue;
        }
        st.viot_mmio_endpoints.unshift({
          kind: 'mmio',
          offset: node.offset,
          address: node.baseAddress,
          endpoint_id: node.endpointId,
          viommu,
        });
        continue;
      }
    }
  }
  return st;
}

/**
 * The fwnode acpi_viot_init() gave an IOMMU node (by node or by offset), the
 * one the virtio-iommu instance must be registered with; null when no
 * endpoint points at the node or its device was not found. Runs
 * acpi_viot_init() with `table` first if it has not run.
 */
export function viotIommuFwnode(
  k: Kernel,
  table: ParsedViot,
  iommuNode: ViotIommuNode | number,
  opts: ViotInitOptions = {},
): Fwnode | null {
  const st = acpi_viot_init(k, table, opts);
  const offset = typeof iommuNode === 'number' ? iommuNode : iommuNode.offset;
  return st.viot_iommus.find((v) => v.offset === offset)?.fwnode ?? null;
}

// ---- viot_iommu_configure()

/** viot_dev_iommu_init() */
function viot_dev_iommu_init(
  k: Kernel,
  dev: Device,
  viommu: ViotIommu | null,
  epid: number,
  source: string,
): number {
  if (!viommu) return -ENODEV;
  // "We're not translating ourself"
  if (dev_fwnode(dev) === viommu.fwnode) {
    dev.addHistory(
      `viot_iommu_configure(): -EINVAL, this is the virtio-iommu of VIOT node ${hex(viommu.offset)}`,
    );
    return -EINVAL;
  }
  // Up to v6.10 the ops were looked up here first: no registered instance yet means defer,
  // before any fwspec exists (later kernels defer inside iommu_fwspec_init()).
  if (k.profile.fwspecInit === 'with-ops' && !iommu_ops_from_fwnode(k, viommu.fwnode)) return -EPROBE_DEFER;
  return acpi_iommu_fwspec_init(k, dev, epid, viommu.fwnode, source);
}

/** The endpoint ID of `devId` in a PCI range (u32 arithmetic, as in the kernel). */
export function viotPciEndpointId(range: ViotPciRange, domain: number, devId: number): number {
  return ((domain - range.segment_start) * 0x10000 + devId - range.bdf_start + range.endpoint_id) >>> 0;
}

/** The first range in list order holding (domain, devId), as viot_pci_dev_iommu_init() looks. */
export function viotFindPciRange(st: ViotState, domain: number, devId: number): ViotPciRange | null {
  return (
    st.viot_pci_ranges.find(
      (ep) =>
        domain >= ep.segment_start &&
        domain <= ep.segment_end &&
        devId >= ep.bdf_start &&
        devId <= ep.bdf_end,
    ) ?? null
  );
}

/** viot_pci_dev_iommu_init(): the pci_for_each_dma_alias() callback, for one alias. */
function viot_pci_dev_iommu_init(
  k: Kernel,
  st: ViotState,
  pdev: PciDev,
  dev_id: number,
  aliased_dev: Device,
): number {
  const domain_nr = pci_domain_nr(pdev.bus);
  const ep = viotFindPciRange(st, domain_nr, dev_id);
  if (!ep) {
    if (st.table)
      aliased_dev.addHistory(
        `viot_iommu_configure(): -ENODEV, no VIOT PCI range holds alias ${pdev.segment.toString(16).padStart(4, '0')}:${ridName(dev_id)}`,
      );
    return -ENODEV;
  }
  const epid = viotPciEndpointId(ep, domain_nr, dev_id);
  const source = `VIOT PCI range at ${hex(ep.offset)}: alias ${ridName(dev_id)} is endpoint ${hex(epid)}`;
  return viot_dev_iommu_init(k, aliased_dev, ep.viommu, epid, source);
}

/** viot_mmio_dev_iommu_init() */
function viot_mmio_dev_iommu_init(k: Kernel, st: ViotState, dev: Device): number {
  const mem = platform_get_mem_resource(dev);
  if (!mem) return -ENODEV;
  const ep = st.viot_mmio_endpoints.find((e) => e.address === mem.start);
  if (!ep) return -ENODEV;
  const source = `VIOT MMIO endpoint at ${hex(ep.offset)}: base ${hex(ep.address)} is endpoint ${hex(ep.endpoint_id)}`;
  return viot_dev_iommu_init(k, dev, ep.viommu, ep.endpoint_id, source);
}

/**
 * viot_iommu_configure(): 0 with the device's fwspec set up, or
 *  -ENODEV   no range holds a DMA alias (the first such alias ends the walk),
 *            no MMIO endpoint has the device's base, it has no MMIO
 *            resource, or it is neither PCI nor platform;
 *  -EINVAL   the device is the virtio-iommu itself;
 *  -EPROBE_DEFER  the virtio-iommu instance is not registered yet
 *            (iommu_fwspec_init()), or any other error of it and of
 *            iommu_fwspec_add_ids().
 * Uses the lists as acpi_viot_init() left them (empty without a VIOT).
 */
export function viot_iommu_configure(k: Kernel, dev: Device): number {
  const st = viotState(k);
  if (dev_is_pci(dev)) {
    return pci_for_each_dma_alias(dev.pci!, (pdev, alias) =>
      viot_pci_dev_iommu_init(k, st, pdev, alias, dev),
    );
  }
  if (dev_is_platform(dev)) return viot_mmio_dev_iommu_init(k, st, dev);
  return -ENODEV;
}

/**
 * The VIOT entry of k.acpiIommuConfigurers. The first configure() on a
 * kernel runs acpi_viot_init() with `table` if the platform did not (the
 * kernel has always run it by the time a driver binds).
 */
export function makeViotConfigurer(table: ParsedViot, opts: ViotInitOptions = {}): AcpiIommuConfigurer {
  return {
    name: 'VIOT',
    configure(k, dev) {
      acpi_viot_init(k, table, opts);
      return viot_iommu_configure(k, dev);
    },
  };
}
