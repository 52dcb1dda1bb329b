// SPDX-License-Identifier: GPL-2.0-only
/**
 * The kernel's use of a parsed IORT (drivers/acpi/arm64/iort.c):
 *
 *  - acpi_iort_init(), from acpi_init() before the ACPI namespace scan (so
 *    before PCI enumeration): iort_init_platform_devices() walks the nodes;
 *    the first root complex with an ID mapping into an SMMU asks for ACS
 *    (iort_enable_acs()), and every SMMU, SMMUv3 and PMCG node gets a static
 *    fwnode (iort_set_fwnode()) and a platform device named after its driver
 *    with an automatic id ("arm-smmu-v3.0.auto"), its MMIO base as resource
 *    0 and that fwnode as its own (iort_add_platform_device()).
 *  - iort_iommu_configure_id(), the IORT half of acpi_iommu_configure_id():
 *    a PCI device is mapped, DMA alias by DMA alias, from the root complex of
 *    its segment through the ID mappings to an SMMU (iort_node_map_id(),
 *    iort_id_map() with the tolerance for the off-by-one Output Count some
 *    firmware, QEMU's included, writes); a platform device is found as the
 *    named component with its ACPI path and mapped the same way
 *    (iort_nc_iommu_map()). Each (SMMU, stream ID) becomes a fwspec ID
 *    (iort_iommu_xlate(), acpi_iommu_fwspec_init()).
 *
 * iort.c's kzalloc()s are __init and never freed: not counted by the
 * model's allocator. Both SMMU drivers are taken as built in (Debian's
 * arm64 config); PMCG devices are created but no PMU driver is modelled.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Device } from '../../base/device.js';
import type { Fwnode } from '../../base/fwnode.js';
import type { PciDev } from '../../pci/pci-dev.js';
import {
  ACPI_IORT_NODE_ITS_GROUP,
  ACPI_IORT_NODE_NAMED_COMPONENT,
  ACPI_IORT_NODE_PCI_ROOT_COMPLEX,
  ACPI_IORT_NODE_PMCG,
  ACPI_IORT_NODE_SMMU,
  ACPI_IORT_NODE_SMMU_V3,
  IORT_ID_SINGLE_MAPPING,
  type IortIdMapping,
  type IortNode,
  type ParsedIort,
  iortNodeName,
} from './iort-parse.js';
import { type AcpiIommuConfigurer, acpi_alloc_fwnode_static, acpi_iommu_fwspec_init } from './acpi-iommu.js';
import { hex } from './acpi-table.js';
import { dev_is_pci } from '../../base/device.js';
import { device_add, put_device } from '../../base/core.js';
import { platform_device_alloc_auto, setPlatformMmioBase } from '../../base/platform.js';
import { EAGAIN, ENODEV, ENXIO, EPROBE_DEFER } from '../../kernel/errno.js';
import { pci_request_acs } from '../../pci/acs.js';
import { pci_domain_nr } from '../../pci/pci-bus.js';
import { pci_for_each_dma_alias } from '../../pci/search.js';
import { dev_iommu_fwspec_get } from '../../iommu/dev-iommu.js';
import { IOMMU_FWSPEC_PCI_RC_ATS } from '../../iommu/fwspec.js';
import { iommu_ops_from_fwnode } from '../../iommu/iommu-device.js';

/** IORT_IOMMU_TYPE: the node types that are IOMMUs. */
const IORT_IOMMU_TYPES: ReadonlySet<number> = new Set([ACPI_IORT_NODE_SMMU, ACPI_IORT_NODE_SMMU_V3]);
/** IORT_MSI_TYPE */
const IORT_MSI_TYPES: ReadonlySet<number> = new Set([ACPI_IORT_NODE_ITS_GROUP]);
/** MAX_NESTED_MAPPINGS: how many nodes a translation may cross. */
const MAX_NESTED_MAPPINGS = 16;
/** The ATS attribute bit of a root complex: ACPI_IORT_ATS_SUPPORTED. */
const ACPI_IORT_ATS_SUPPORTED = 1;

/** The drivers iort_add_platform_device() names the devices after (iort_dev_config). */
const PLATFORM_DRIVER_NAME: Record<number, string> = {
  [ACPI_IORT_NODE_SMMU_V3]: 'arm-smmu-v3',
  [ACPI_IORT_NODE_SMMU]: 'arm-smmu',
  [ACPI_IORT_NODE_PMCG]: 'arm-smmu-v3-pmcg',
};

/** iort.c's static state for one kernel. */
export interface IortState {
  readonly table: ParsedIort;
  /** iort_fwnode_list: node offset -> its static fwnode. */
  readonly fwnodes: Map<number, Fwnode>;
  /** The platform devices iort_init_platform_devices() made, by node offset. */
  readonly devices: Map<number, Device>;
}

const states = new WeakMap<Kernel, IortState>();

export function iortState(k: Kernel): IortState | null {
  return states.get(k) ?? null;
}

/** The SMMUv1/v2 node an IORT-made platform device stands for (its platform data), or null. */
export function iortSmmuNodeOf(k: Kernel, dev: Device): Extract<IortNode, { kind: 'smmu' }> | null {
  const st = iortState(k);
  if (!st) return null;
  for (const [offset, d] of st.devices) {
    if (d !== dev) continue;
    const node = st.table.byOffset.get(offset);
    return node?.kind === 'smmu' ? node : null;
  }
  return null;
}

/** iort_enable_acs(): a root complex mapping into an SMMU means the PCI core must enable ACS. */
function iort_enable_acs(k: Kernel, table: ParsedIort, node: IortNode): boolean {
  if (node.type !== ACPI_IORT_NODE_PCI_ROOT_COMPLEX) return false;
  for (const m of node.mappings) {
    if (!m.outputReference) continue;
    const parent = table.byOffset.get(m.outputReference);
    if (parent && IORT_IOMMU_TYPES.has(parent.type)) {
      pci_request_acs(k);
      return true;
    }
  }
  return false;
}

/** acpi_iort_init() with iort_init_platform_devices(). */
export function acpi_iort_init(k: Kernel, table: ParsedIort): IortState {
  const st: IortState = { table, fwnodes: new Map(), devices: new Map() };
  states.set(k, st);
  let acsEnabled = false;
  for (const node of table.nodes) {
    if (!acsEnabled) acsEnabled = iort_enable_acs(k, table, node);
    const drv = PLATFORM_DRIVER_NAME[node.type];
    if (!drv) continue;
    const fwnode = acpi_alloc_fwnode_static(`IORT ${iortNodeName(node.type)} node ${hex(node.offset)}`);
    st.fwnodes.set(node.offset, fwnode);
    // iort_add_platform_device(): platform_device_alloc(name, PLATFORM_DEVID_AUTO).
    const dev = platform_device_alloc_auto(k, drv);
    if (!dev) {
      k.printk.log('err', 'ACPI: IORT', `failed to create platform device for node ${hex(node.offset)}`);
      continue;
    }
    const base =
      node.kind === 'smmu-v3' || node.kind === 'smmu'
        ? node.baseAddress
        : node.kind === 'pmcg'
          ? node.page0BaseAddress
          : 0n;
    setPlatformMmioBase(dev, base, node.kind === 'smmu' ? node.span : 0x20000n);
    dev.fwnode = fwnode;
    // platform_match() falls back to pdev->name, the driver's name.
    dev.match_driver = drv;
    const ret = device_add(k, dev);
    if (ret) {
      put_device(k, dev);
      continue;
    }
    st.devices.set(node.offset, dev);
  }
  return st;
}

/** iort_get_fwnode() */
function iort_get_fwnode(st: IortState, node: IortNode): Fwnode | null {
  return st.fwnodes.get(node.offset) ?? null;
}

/**
 * iort_get_id_mapping_index(): the mapping an SMMUv3 or PMCG uses for its
 * own MSIs, which a translation through it must skip; -1 when none.
 */
function iort_get_id_mapping_index(node: IortNode): number {
  if (node.kind === 'smmu-v3') {
    if (node.mappings.length === 0 || node.revision < 1) return -1;
    // All four interrupts wired: no MSIs, so no mapping for them.
    if (node.eventGsiv && node.priGsiv && node.gerrGsiv && node.syncGsiv) return -1;
    return node.idMappingIndex < node.mappings.length ? node.idMappingIndex : -1;
  }
  if (node.kind === 'pmcg') return node.overflowGsiv || node.mappings.length === 0 ? -1 : 0;
  return -1;
}

type MapResult = { out: number } | { err: number; out?: number };

/** iort_id_map(): one mapping applied to an input ID. -EAGAIN: matched the (off-by-one) last ID. */
function iort_id_map(
  k: Kernel,
  m: IortIdMapping,
  type: number,
  idIn: number,
  checkOverlap: boolean,
): MapResult {
  if (m.flags & IORT_ID_SINGLE_MAPPING) {
    if (type === ACPI_IORT_NODE_NAMED_COMPONENT || type === ACPI_IORT_NODE_PCI_ROOT_COMPLEX)
      return { out: m.outputBase };
    k.printk.log(
      'warn',
      'ACPI: IORT',
      `[Firmware Bug]: [map ${hex(m.offset)}] SINGLE MAPPING flag not allowed for node type ${type}, skipping ID map`,
    );
    return { err: -ENXIO };
  }
  // id_count is "the number of IDs minus one"; the test admits input_base + id_count.
  if (idIn < m.inputBase || idIn > m.inputBase + m.idCount) return { err: -ENXIO };
  if (checkOverlap) {
    k.printk.log(
      'err',
      'ACPI: IORT',
      `[Firmware Bug]: [map ${hex(m.offset)}] conflicting mapping for input ID ${hex(idIn)}`,
    );
    if (idIn !== m.inputBase) return { err: -ENXIO };
    k.printk.log('err', 'ACPI: IORT', '[Firmware Bug]: applying workaround.');
  }
  const out = (m.outputBase + (idIn - m.inputBase)) >>> 0;
  // The last ID of a range that another range may start with: let a later match win.
  if (m.idCount > 0 && idIn === m.inputBase + m.idCount) return { err: -EAGAIN, out };
  return { out };
}

/**
 * iort_node_map_id(): follow ID mappings from `node` until a node of the
 * wanted types; the node and the output ID, or null.
 */
export function iort_node_map_id(
  k: Kernel,
  table: ParsedIort,
  start: IortNode,
  idIn: number,
  types: ReadonlySet<number>,
): { node: IortNode; id: number } | null {
  let node: IortNode | undefined = start;
  let id = idIn;
  for (let level = 0; node && level < MAX_NESTED_MAPPINGS; level++) {
    if (types.has(node.type)) return { node, id };
    if (node.mappings.length === 0) return null;
    if (!node.mappings[0].outputReference) {
      nullParentReference(k, node);
      return null;
    }
    const index =
      node.type === ACPI_IORT_NODE_SMMU_V3 || node.type === ACPI_IORT_NODE_PMCG
        ? iort_get_id_mapping_index(node)
        : -1;
    let outRef = 0;
    let next: number | null = null;
    let mapped = id;
    for (let i = 0; i < node.mappings.length; i++) {
      if (i === index) continue;
      const m: IortIdMapping = node.mappings[i];
      const r: MapResult = iort_id_map(k, m, node.type, id, outRef !== 0);
      if ('out' in r && !('err' in r)) {
        mapped = r.out;
        next = m.outputReference;
        break;
      }
      if ('err' in r && r.out !== undefined) {
        mapped = r.out;
        outRef = m.outputReference;
      }
    }
    if (next === null) {
      if (!outRef) return null;
      next = outRef;
    }
    id = mapped;
    node = table.byOffset.get(next);
  }
  return null;
}

/** The FW_BUG line for a mapping whose Output Reference is 0. */
function nullParentReference(k: Kernel, node: IortNode): void {
  k.printk.log(
    'err',
    'ACPI: IORT',
    `[Firmware Bug]: [node ${hex(node.offset)} type ${node.type}] ID map has NULL parent reference`,
  );
}

/** iort_node_get_id(): the index-th mapping of a node, for single mappings only. */
function iort_node_get_id(
  k: Kernel,
  table: ParsedIort,
  node: IortNode,
  index: number,
): { parent: IortNode; id: number } | null {
  const m = node.mappings[index];
  if (!m) return null;
  if (!m.outputReference) {
    nullParentReference(k, node);
    return null;
  }
  const parent = table.byOffset.get(m.outputReference);
  if (!parent || !(m.flags & IORT_ID_SINGLE_MAPPING)) return null;
  const ok = [
    ACPI_IORT_NODE_NAMED_COMPONENT,
    ACPI_IORT_NODE_PCI_ROOT_COMPLEX,
    ACPI_IORT_NODE_SMMU_V3,
    ACPI_IORT_NODE_PMCG,
  ];
  return ok.includes(node.type) ? { parent, id: m.outputBase } : null;
}

/** iort_iommu_driver_enabled(): the SMMU's driver is built (built in or a module). */
function iort_iommu_driver_enabled(k: Kernel, node: IortNode): boolean {
  if (node.kind === 'smmu-v3') return k.kconfig.ARM_SMMU_V3 !== 'n';
  if (node.kind === 'smmu') return k.kconfig.ARM_SMMU !== 'n';
  k.printk.log('warn', 'ACPI: IORT', `IORT node type ${node.type} does not describe an SMMU`);
  return false;
}

/** iort_iommu_xlate(): the stream ID into the device's fwspec for the SMMU's fwnode. */
function iort_iommu_xlate(
  k: Kernel,
  st: IortState,
  dev: Device,
  node: IortNode | null,
  streamid: number,
  source: string,
): number {
  if (!node || !iort_iommu_driver_enabled(k, node)) return -ENODEV;
  const fwnode = iort_get_fwnode(st, node);
  if (!fwnode) return -ENODEV;
  // Up to v6.10 the ops were looked up first; the SMMU drivers are built in, so defer.
  if (k.profile.fwspecInit === 'with-ops' && !iommu_ops_from_fwnode(k, fwnode)) return -EPROBE_DEFER;
  return acpi_iommu_fwspec_init(k, dev, streamid, fwnode, source);
}

/** The root complex of a PCI segment (iort_match_node_callback() for PCI). */
function rootComplexOf(table: ParsedIort, segment: number): IortNode | null {
  return table.nodes.find((n) => n.kind === 'root-complex' && n.pciSegmentNumber === segment) ?? null;
}

/** iort_iommu_configure_id() */
export function iort_iommu_configure_id(k: Kernel, st: IortState, dev: Device, idIn: number | null): number {
  const table = st.table;
  if (dev_is_pci(dev)) {
    const pdev: PciDev = dev.pci!;
    const rc = rootComplexOf(table, pci_domain_nr(pdev.bus));
    if (!rc) return -ENODEV;
    const err = pci_for_each_dma_alias(pdev, (_p, alias) => {
      const m = iort_node_map_id(k, table, rc, alias, IORT_IOMMU_TYPES);
      const source = m
        ? `IORT root complex ${hex(rc.offset)}: RID ${hex(alias)} -> ${iortNodeName(m.node.type)} ${hex(m.node.offset)} stream ${hex(m.id)}`
        : '';
      return iort_iommu_xlate(k, st, dev, m?.node ?? null, m?.id ?? 0, source);
    });
    const fwspec = dev_iommu_fwspec_get(dev);
    if (fwspec && rc.kind === 'root-complex' && rc.atsAttribute & ACPI_IORT_ATS_SUPPORTED)
      fwspec.flags |= IOMMU_FWSPEC_PCI_RC_ATS;
    return err;
  }
  // A named component: the node whose Device Name is the device's ACPI path.
  const path = dev.fwnode?.kind === 'acpi' && !dev.fwnode.acpiStatic ? dev.fwnode.name : null;
  const nc = path
    ? table.nodes.find((n) => n.kind === 'named-component' && n.deviceName === path)
    : undefined;
  if (!nc) return -ENODEV;
  if (idIn !== null) {
    // iort_nc_iommu_map_id()
    const m = iort_node_map_id(k, table, nc, idIn, IORT_IOMMU_TYPES);
    return m
      ? iort_iommu_xlate(k, st, dev, m.node, m.id, `IORT named component ${path}: ID ${hex(idIn)}`)
      : -ENODEV;
  }
  // iort_nc_iommu_map(): every mapping of the named component in turn, until one fails.
  let err = -ENODEV;
  for (let i = 0; ; i++) {
    const first = iort_node_get_id(k, table, nc, i);
    if (!first) break;
    const m: { node: IortNode; id: number } | null = IORT_IOMMU_TYPES.has(first.parent.type)
      ? { node: first.parent, id: first.id }
      : iort_node_map_id(k, table, first.parent, first.id, IORT_IOMMU_TYPES);
    if (!m) break;
    err = iort_iommu_xlate(k, st, dev, m.node, m.id, `IORT named component ${path} mapping ${i}`);
    if (err) break;
  }
  return err;
}

/** The IORT entry of k.acpiIommuConfigurers. */
export function makeIortConfigurer(): AcpiIommuConfigurer {
  return {
    name: 'IORT',
    configure(k, dev, id) {
      const st = iortState(k);
      return st ? iort_iommu_configure_id(k, st, dev, id) : -ENODEV;
    },
  };
}

/**
 * iort_get_device_domain() for a PCI function (pci_msi_get_device_domain()):
 * its requester ID (the last DMA alias) through the root complex's mappings
 * to an ITS group, whose GICv3 ITS isolates MSIs. Sets the device's MSI
 * fields; a RID that reaches no ITS leaves it without an MSI domain.
 */
export function iort_msi_configure(k: Kernel, dev: Device): void {
  const st = iortState(k);
  if (!st || !dev.pci) return;
  const rc = rootComplexOf(st.table, pci_domain_nr(dev.pci.bus));
  if (!rc) return;
  let rid = (dev.pci.bus.number << 8) | dev.pci.devfn;
  pci_for_each_dma_alias(dev.pci, (_p, alias) => {
    rid = alias;
    return 0;
  });
  const m = iort_node_map_id(k, st.table, rc, rid, IORT_MSI_TYPES);
  dev.msiIsolated = m !== null;
  dev.msi = m
    ? {
        controller: `IORT ITS group ${hex(m.node.offset)}`,
        id: m.id,
        source: `IORT root complex ${hex(rc.offset)}: RID ${hex(rid)} -> DeviceID ${hex(m.id)}`,
      }
    : null;
}
