// SPDX-License-Identifier: GPL-2.0-only
/**
 * Booting a platform description, in the kernel's initcall order:
 *
 *   core/subsys   buses registered, iommu_subsys_init() (notifiers, default type)
 *   early ACPI    DMAR/IVRS detected: pci_request_acs() before enumeration
 *   subsys        PCI enumeration (ACS enabled as requested), device_add per function
 *   arch          of_platform_populate(): platform devices added
 *   rootfs        the global IOMMU drivers (Intel VT-d, AMD-Vi) register
 *   device        built-in drivers register and bind (IOMMU platform drivers too)
 *   late          the deferred-probe list is retried
 *   modules       module drivers register and bind, deferred probe again
 *
 * The result keeps the kernel model and what scenarios need to refer to.
 */
import { dma_debug_add_bus } from '../checker/dma-debug.js';
import type { Device } from '../base/device.js';
import type { DeviceDriver } from '../base/driver.js';
import type { Fwnode } from '../base/fwnode.js';
import type { BusType } from '../base/bus.js';
import type { PlatformDesc } from './schema.js';
import type { ProfileName } from '../profile/profile.js';
import type { DmarDevScope, DmarTable } from '../drivers/intel/dmar.js';
import type { IvrsTable } from '../drivers/amd/iommu.js';
import { Kernel } from '../kernel/kernel.js';
import { profiles, DEFAULT_PROFILE } from '../profile/profiles.js';
import { bus_register, createBus } from '../base/bus.js';
import { createPlatformBus, platform_device_alloc } from '../base/platform.js';
import { device_add, put_device } from '../base/core.js';
import { driver_register } from '../base/driver.js';
import { deferred_probe_timeout, driver_deferred_probe_trigger } from '../base/dd.js';
import { iommu_subsys_init } from '../iommu/subsys.js';
import { detect_intel_iommu, intel_iommu_init } from '../drivers/intel/iommu.js';
import { amd_iommu_detect, amd_iommu_init } from '../drivers/amd/iommu.js';
import { iommuDriverEntry, iommuPlatformDrivers } from '../drivers/registry.js';
import { stockDrivers } from './stock-drivers.js';
import { qemuVirtioIommuProbe } from '../drivers/virtio-iommu/vmm-endpoints.js';
import { of_match_node } from '../firmware/of/of-base.js';
import { virtioBus, virtioPciDriver } from '../drivers/virtio/virtio.js';
import { virtioIommuDriver } from '../drivers/virtio-iommu/virtio-iommu.js';
import { pcieportDriver } from '../drivers/pcieport.js';
import { InputError } from '../input/input-error.js';
import { Fwnode as FwnodeClass } from '../base/fwnode.js';
import { createFslMcBus, setFslMcInfo } from '../base/fsl-mc.js';
import { buildOfTree } from './of-tree.js';
import { createHostBridge, createPciBus, pci_get_host_bridge_device } from '../pci/pci-driver.js';
import { buildPciTopology } from '../pci/topology-build.js';
import { pci_core, pci_get_domain_bus_and_slot } from '../pci/pci-core.js';
import {
  dmarResolveScopePath,
  dmarToDriverTable,
  type DmarScopeResolver,
  type DmarUnitRegisters,
} from '../firmware/acpi/dmar-to-driver.js';
import type { ParsedDmar } from '../firmware/acpi/dmar-parse.js';
import { ivrsToDriverTable } from '../firmware/acpi/ivrs-to-driver.js';
import { acpi_viot_early_init, acpi_viot_init, makeViotConfigurer } from '../firmware/acpi/viot.js';
import { acpi_iort_init, iort_msi_configure, makeIortConfigurer } from '../firmware/acpi/iort.js';
import { of_msi_configure } from '../firmware/of/of-msi.js';
import { fdtToOfNodes } from '../firmware/fdt/fdt-to-of.js';
import { of_pci_find_child_device } from '../firmware/of/of-base.js';
import type { PlatformFirmware } from './firmware.js';
import { pci_request_acs } from '../pci/acs.js';
import { errnoNames, parseErrno } from '../kernel/errno.js';

/**
 * pci_release_dev(): the model does not track struct pci_dev as an
 * allocation (PCI enumeration is not under fail-nth here), so there is
 * nothing to free beyond what the driver core already freed.
 */
function pciReleaseDev(): void {}

/**
 * dmar_pci_bus_add_dev()'s scope matching: walk the scope's path from its start
 * bus through bridges to a present PCI function.
 */
function dmarScopeResolver(k: Kernel): DmarScopeResolver {
  const lookup = (seg: number, bus: number, devfn: number) => {
    const pdev = pci_get_domain_bus_and_slot(k, seg, bus, devfn);
    if (!pdev) return null;
    return pdev.subordinate ? { secondary: pdev.subordinate.number } : {};
  };
  return (seg, startBus, path) => {
    const t = dmarResolveScopePath(seg, startBus, path, lookup);
    return t ? (pci_get_domain_bus_and_slot(k, t.segment, t.bus, t.devfn)?.dev ?? null) : null;
  };
}

export interface BootOptions {
  readonly profile?: ProfileName;
  /** Appended to the platform's own command line (later parameters win). */
  readonly cmdline?: string;
  readonly failNth?: number;
  /** Where the description came from, for error messages. */
  readonly file?: string;
  /** Binary ACPI tables, parsed, used instead of the description's `dmar`/`ivrs`. */
  readonly firmware?: PlatformFirmware;
  /**
   * Let the deferred-probe timeout expire at the end of boot (default): what still waits binds
   * without its IOMMU. A scenario turns it off and expires it in a step of its own.
   */
  readonly deferredProbeTimeout?: boolean;
}

export interface BootedPlatform {
  readonly k: Kernel;
  readonly desc: PlatformDesc;
  /** Every device the platform defines, present or not, by name. */
  readonly devices: Map<string, Device>;
  /** Drivers by name: registered ones and those left for a scenario to load. */
  readonly drivers: Map<string, DeviceDriver>;
  readonly ofNodes: Map<string, Fwnode>;
}

/** The drivers the model implements beyond "a client driver that binds", and the bus each drives. */
const driverFactories: Record<
  string,
  { readonly bus: string; readonly make: (k: Kernel, d: PlatformDesc['drivers'][number]) => DeviceDriver }
> = {
  'virtio-pci': { bus: 'pci', make: (k, d) => virtioPciDriver(k, d.name) },
  pcieport: { bus: 'pci', make: (k, d) => pcieportDriver(k, d.name) },
  virtio_iommu: {
    bus: 'virtio',
    make: (k, d) => virtioIommuDriver(k, d.probeResv ? { resv: d.probeResv } : null),
  },
};

function clientDriver(k: Kernel, d: PlatformDesc['drivers'][number]): DeviceDriver {
  const bus = k.base.buses.get(d.bus);
  if (!bus) throw new Error(`no ${d.bus} bus`);
  const probeRet = d.probe === undefined ? 0 : (parseErrno(d.probe) ?? -errnoNames.EINVAL);
  return {
    name: d.name,
    bus,
    probe: () => probeRet,
    driver_managed_dma: d.driverManagedDma,
    pci_id_table: d.ids?.map((id) => ({
      vendor: id.vendor,
      device: id.device,
      class: id.class,
      class_mask: id.classMask,
    })),
  };
}

function parseBdf(text: string, segment: number): string {
  const parts = text.split(':');
  return parts.length === 3
    ? text.toLowerCase()
    : `${segment.toString(16).padStart(4, '0')}:${text.toLowerCase()}`;
}

function dmarScopes(
  scopes: readonly { type: DmarDevScope['type']; bdf?: string; id?: number }[],
  segment: number,
  devices: Map<string, Device>,
): DmarDevScope[] {
  return scopes.map((s) => {
    if (s.bdf !== undefined) {
      const name = parseBdf(s.bdf, segment);
      return { type: s.type, text: `${s.type} ${name}`, dev: devices.get(name) ?? null };
    }
    return { type: s.type, text: `${s.type} id ${s.id ?? 0}`, dev: null };
  });
}

function dmarFromDesc(desc: NonNullable<PlatformDesc['dmar']>, devices: Map<string, Device>): DmarTable {
  return {
    haw: desc.haw,
    drhds: desc.drhds.map((d) => ({
      segment: d.segment,
      reg_base_addr: d.base,
      include_all: d.includePciAll,
      passThrough: d.passThrough,
      translationPreEnabled: d.translationPreEnabled,
      ...(d.ver !== undefined && { ver: d.ver }),
      ...(d.cap !== undefined && { cap: d.cap }),
      ...(d.ecap !== undefined && { ecap: d.ecap }),
      devices: dmarScopes(d.scopes, d.segment, devices),
    })),
    rmrrs: desc.rmrrs.map((r) => ({
      base_address: r.base,
      end_address: r.end,
      devices: dmarScopes(r.scopes, r.segment, devices),
    })),
  };
}

/** The platform file's dmarUnits, each of which must name a DRHD of the binary DMAR. */
function dmarUnitsFor(desc: PlatformDesc, dmar: ParsedDmar, file: string): DmarUnitRegisters[] | undefined {
  const units = desc.dmarUnits;
  if (units === undefined) return undefined;
  const bases = new Set(dmar.structures.flatMap((s) => (s.kind === 'drhd' ? [s.registerBase] : [])));
  units.forEach((u, i) => {
    if (!bases.has(u.base))
      throw new InputError(
        file,
        `dmarUnits[${i}].base`,
        `0x${u.base.toString(16)} is not the register base of a DRHD in ${dmar.file}`,
      );
  });
  return units;
}

function devidOf(text: string, file: string, where: string): number {
  const m = /^(?:[0-9a-fA-F]{4}:)?([0-9a-fA-F]{2}):([01][0-9a-fA-F])\.([0-7])$/.exec(text);
  if (!m) throw new InputError(file, where, `"${text}" is not a PCI address BB:DD.F`);
  return (parseInt(m[1], 16) << 8) | (parseInt(m[2], 16) << 3) | parseInt(m[3], 10);
}

function ivrsFromDesc(desc: NonNullable<PlatformDesc['ivrs']>, file: string, hypervisor: boolean): IvrsTable {
  return {
    hypervisor: desc.hypervisor || hypervisor,
    ivhds: desc.ivhds.map((u, i) => ({
      segment: u.segment,
      label: `IVHD ${u.bdf}`,
      ranges: u.devices.map((r, j) => {
        const where = `ivrs.ivhds[${i}].devices[${j}]`;
        const [a, b] = r.split('-');
        const lo = devidOf(a, file, where);
        const hi = b === undefined ? lo : devidOf(b, file, where);
        if (hi < lo) throw new InputError(file, where, `range ${r} ends before it starts`);
        return [lo, hi] as const;
      }),
    })),
  };
}

/** A platform or amba device as driver matching sees it: its node and the driver name it asks for. */
interface MatchCandidate {
  readonly node: Fwnode | null;
  readonly name: string | null;
}

/**
 * The IOMMU platform drivers to register at one initcall level: each built
 * driver (Kconfig y or m) that some candidate device matches, with its
 * companions in their order, unless the platform lists a driver of that name.
 */
function iommuDriversFor(
  k: Kernel,
  listed: ReadonlyMap<string, DeviceDriver>,
  candidates: readonly MatchCandidate[],
  level: 'arch' | 'device',
): { builtin: DeviceDriver[]; module: DeviceDriver[] } {
  const out = { builtin: [] as DeviceDriver[], module: [] as DeviceDriver[] };
  for (const entry of iommuPlatformDrivers) {
    const built = k.kconfig[entry.config];
    if (built === 'n' || listed.has(entry.name) || (entry.initcall ?? 'device') !== level) continue;
    const matches = candidates.some(
      (c) =>
        c.name === entry.name || (c.node?.kind === 'of' && !!of_match_node(entry.of_match_table, c.node)),
    );
    if (!matches) continue;
    const list = built === 'y' ? out.builtin : out.module;
    const companions = (entry.companions ?? []).filter((c) => !listed.has(c.name));
    for (const c of companions) if (c.before) list.push(c.create(k));
    list.push(entry.create(k));
    for (const c of companions) if (!c.before) list.push(c.create(k));
  }
  return out;
}

/** Boot a validated platform description under a profile. Throws InputError for inconsistent descriptions. */
export function bootPlatform(desc: PlatformDesc, opts: BootOptions = {}): BootedPlatform {
  const file = opts.file ?? `<platform ${desc.name}>`;
  const profile = profiles[opts.profile ?? DEFAULT_PROFILE];
  const k = new Kernel({
    profile,
    arch: desc.arch,
    kconfig: desc.kconfig,
    cmdline: [desc.cmdline, opts.cmdline ?? ''].filter(Boolean).join(' '),
    failNth: opts.failNth,
  });

  // Buses, in iommu_buses[] order: platform, pci, amba, fsl-mc.
  const platformBus = createPlatformBus();
  bus_register(k, platformBus);
  const iommuBuses: BusType[] = [platformBus];
  if (desc.pci) {
    const pciBus = createPciBus();
    bus_register(k, pciBus);
    dma_debug_add_bus(k, pciBus); // pci_driver_init()
    iommuBuses.push(pciBus);
  }
  if (desc.devices.some((d) => d.bus === 'amba')) {
    const amba = createBus('amba', {
      dma_configure: platformBus.dma_configure,
      dma_cleanup: platformBus.dma_cleanup,
      match: platformBus.match,
    });
    bus_register(k, amba);
    iommuBuses.push(amba);
  }
  if (desc.devices.some((d) => d.bus === 'fsl-mc')) {
    const mc = createFslMcBus();
    bus_register(k, mc);
    iommuBuses.push(mc);
  }
  iommu_subsys_init(k, iommuBuses);

  // A device-tree blob replaces the JSON `of` nodes (unflatten_device_tree()).
  const dtb = opts.firmware?.fdt;
  const ofNodes = dtb ? fdtToOfNodes(k, dtb) : buildOfTree(k, desc.of, file);
  const acpiNodes = new Map<string, Fwnode>();
  const acpiNode = (path: string): Fwnode => {
    let n = acpiNodes.get(path);
    if (!n) acpiNodes.set(path, (n = new FwnodeClass('acpi', path)));
    return n;
  };
  const devices = new Map<string, Device>();

  // ACPI DMAR/IVRS, from the binary tables or the JSON descriptions.
  const fw = opts.firmware ?? {};
  const hasDmar = !!(fw.dmar ?? desc.dmar);
  const hasIvrs = !!(fw.ivrs ?? desc.ivrs);
  // The ACPI tables the firmware provides (the AMD southbridge ACS quirk looks for IVRS).
  // acpi_viot_early_init(): a VIOT asks for ACS before enumeration too.
  if (fw.viot) acpi_viot_early_init(k, fw.viot);
  // acpi_iort_init() (acpi_arm_init(), before the namespace scan): SMMU platform devices, and
  // ACS requested when a root complex maps into an SMMU. IORT is asked before VIOT.
  if (fw.iort) {
    acpi_iort_init(k, fw.iort);
    k.acpiIommuConfigurers.unshift(makeIortConfigurer());
  }
  if (hasDmar) pci_core(k).acpiTables.add('DMAR');
  if (hasIvrs) pci_core(k).acpiTables.add('IVRS');
  // x86 pci_iommu_alloc(): amd_iommu_detect() then detect_intel_iommu(); each claims the one
  // x86_init.iommu.iommu_init hook, so with both tables VT-d's init is the one that runs. The
  // first to detect asks for ACS (detect_intel_iommu() only if nothing was detected before it).
  let x86IommuInit: 'amd' | 'intel' | null = null;
  if (hasIvrs && amd_iommu_detect(k)) {
    x86IommuInit = 'amd';
    pci_request_acs(k);
  }
  if (hasDmar) {
    if (detect_intel_iommu(k) && x86IommuInit === null) pci_request_acs(k);
    x86IommuInit = 'intel';
  }
  // The what-if: ACS requested before enumeration whatever the firmware says, or only after it
  // (so enumeration enables nothing, as on a device-tree machine).
  if (desc.acsRequest === 'before-enumeration') pci_request_acs(k);
  if (desc.acsRequest === 'after-enumeration') pci_core(k).acs_enable = false;

  const acsRequested = pci_core(k).acs_enable;
  if (desc.pci) {
    const hostNode = desc.pciHostBridgeOf ? ofNodes.get(desc.pciHostBridgeOf) : undefined;
    if (desc.pciHostBridgeOf && !hostNode)
      throw new InputError(file, 'pciHostBridgeOf', `no node ${desc.pciHostBridgeOf} in "of"`);
    const segments = Array.isArray(desc.pci) ? desc.pci : [desc.pci];
    segments.forEach((seg, i) => {
      const field = Array.isArray(desc.pci) ? `pci[${i}]` : 'pci';
      const built = buildPciTopology(k, seg, { acsRequested, file, field });
      // An ACPI host bridge (PNP0A08, always on x86; on Arm when the firmware is ACPI): its
      // companion routes PCI devices to IORT/VIOT.
      const acpiFirmware = desc.arch === 'x86_64' || (!hostNode && !!(fw.iort ?? fw.viot));
      const acpiHost = acpiFirmware ? acpiNode(`\\_SB.PCI${i}`) : null;
      const hb = createHostBridge(built.segment, built.root.number, hostNode ?? acpiHost);
      hb.release = pciReleaseDev;
      device_add(k, hb);
      for (const dev of built.devices) {
        if (!dev.parent) dev.parent = hb;
        dev.release ??= pciReleaseDev;
        devices.set(dev.name, dev);
        dev.bus = k.base.buses.get('pci')!;
        // pci_set_of_node(): a root-bus function takes the host bridge node's child whose `reg`
        // names its devfn (a virtio-iommu's node, say, that clients' iommu-map points at).
        if (hostNode && dev.pci && dev.pci.bus.parent === null && !dev.fwnode)
          dev.fwnode = of_pci_find_child_device(hostNode, dev.pci.devfn);
        // pci_set_msi_domain(), from pci_device_add(): the host's msi-parent or msi-map, or IORT's ITS.
        if (hostNode) of_msi_configure(k, dev, hostNode);
        else if (fw.iort && acpiHost) iort_msi_configure(k, dev);
        device_add(k, dev);
      }
    });
  }

  // arch_initcall drivers (the Tegra memory controller) register before the devices are added.
  const listedNames = new Map(desc.drivers.map((d) => [d.name, null as unknown as DeviceDriver]));
  const archDrivers = iommuDriversFor(
    k,
    listedNames,
    desc.devices.map((d) => ({ node: d.of ? (ofNodes.get(d.of) ?? null) : null, name: d.driver ?? null })),
    'arch',
  );
  for (const drv of archDrivers.builtin) driver_register(k, drv); // a module still waits for udev

  desc.devices.forEach((d, i) => {
    if (devices.has(d.name))
      throw new InputError(file, `devices[${i}].name`, `device ${d.name} is defined twice`);
    // of_platform_device_create(): a platform_device allocation per node.
    const dev = platform_device_alloc(k, d.name);
    if (!dev) return; // -ENOMEM: of_platform_populate() carries on without it
    dev.bus = k.base.buses.get(d.bus)!;
    dev.match_driver = d.driver ?? null;
    if (d.of && d.acpi)
      throw new InputError(file, `devices[${i}]`, 'a device is described by DT or by ACPI, not both');
    if (d.of) {
      const np = ofNodes.get(d.of);
      if (!np) throw new InputError(file, `devices[${i}].of`, `no node ${d.of} in "of"`);
      dev.fwnode = np;
      // of_msi_configure() in of_platform_device_create_pdata(), for trees from a blob.
      if (dtb) of_msi_configure(k, dev, np);
    }
    if (d.acpi) dev.fwnode = acpiNode(d.acpi);
    if (d.parent) {
      const parent = devices.get(d.parent);
      if (!parent)
        throw new InputError(file, `devices[${i}].parent`, `no device ${d.parent} before this one`);
      dev.parent = parent;
    }
    if (d.bus === 'fsl-mc') setFslMcInfo(dev, { icid: d.icid ?? 0, isContainer: d.container ?? false });
    else if (d.icid !== undefined || d.container !== undefined) {
      throw new InputError(file, `devices[${i}]`, '"icid" and "container" are for fsl-mc devices');
    }
    devices.set(d.name, dev);
    if (d.present) device_add(k, dev);
  });

  if (desc.acsRequest === 'after-enumeration') pci_request_acs(k);

  // acpi_viot_init(): now that PCI exists, bind VIOT nodes to devices; acpi_iommu_configure_id() asks it.
  if (fw.viot) {
    acpi_viot_init(k, fw.viot);
    k.acpiIommuConfigurers.push(makeViotConfigurer(fw.viot));
  }

  // Devices a scenario never added are still allocated: teardown puts them.
  k.teardownHooks.push(() => {
    for (const dev of devices.values())
      if (dev.state === 'initialized' && dev.refcount > 0) put_device(k, dev);
  });

  // pci_iommu_init() (rootfs_initcall): the one x86 IOMMU driver detection picked.
  // pci_iommu_init() (rootfs_initcall): the one x86 IOMMU driver detection picked.
  if (x86IommuInit === 'intel') {
    const table = fw.dmar
      ? dmarToDriverTable(fw.dmar, dmarScopeResolver(k), { units: dmarUnitsFor(desc, fw.dmar, file) })
      : dmarFromDesc(desc.dmar!, devices);
    intel_iommu_init(k, table);
  }
  const ivrs = fw.ivrs
    ? ivrsToDriverTable(fw.ivrs, { hypervisor: desc.hypervisor })
    : desc.ivrs
      ? ivrsFromDesc(desc.ivrs, file, desc.hypervisor)
      : null;
  if (x86IommuInit === 'amd') amd_iommu_init(k, ivrs!);
  else if (ivrs && x86IommuInit === 'intel') {
    k.printk.log(
      'info',
      'model',
      'IVRS present but VT-d took x86_init.iommu.iommu_init: AMD-Vi is not initialised',
    );
  }

  if (desc.drivers.some((d) => d.bus === 'virtio')) virtioBus(k);
  const drivers = new Map<string, DeviceDriver>();
  desc.drivers.forEach((d, i) => {
    if (drivers.has(d.name))
      throw new InputError(file, `drivers[${i}].name`, `driver ${d.name} is listed twice`);
    if (!k.base.buses.has(d.bus))
      throw new InputError(file, `drivers[${i}].bus`, `the platform has no ${d.bus} bus`);
    // Own properties only: a platform file's driver named "__proto__" or "toString" is a client driver.
    const model = Object.hasOwn(driverFactories, d.name) ? driverFactories[d.name] : undefined;
    const iommu = iommuDriverEntry(d.name);
    // A driver the model implements drives its own bus, whatever the file says.
    const own = model?.bus ?? (iommu ? 'platform' : d.bus);
    if (own !== d.bus)
      throw new InputError(
        file,
        `drivers[${i}].bus`,
        `${d.name} is a driver of the ${own} bus, not of ${d.bus}`,
      );
    drivers.set(d.name, model?.make(k, d) ?? iommu?.create(k) ?? clientDriver(k, d));
  });
  const builtins = desc.drivers.filter((d) => d.load === 'builtin').map((d) => drivers.get(d.name)!);
  const modules = desc.drivers.filter((d) => d.load === 'module').map((d) => drivers.get(d.name)!);

  // The IOMMU drivers the kernel was built with, for the IOMMU devices this machine has (an IORT's
  // SMMU, a device tree's IOMMU nodes), unless the platform lists them itself.
  for (const drv of [...archDrivers.builtin, ...archDrivers.module]) drivers.set(drv.name, drv);
  const { builtin: iommuBuiltins, module: iommuModules } = iommuDriversFor(
    k,
    drivers,
    [...k.base.devices]
      .filter((d) => d.bus?.name === 'platform' || d.bus?.name === 'amba')
      .map((d) => ({ node: d.fwnode, name: d.match_driver })),
    'device',
  );
  // Stock client drivers, when the platform asks for them (--bind); listed drivers win.
  const stock = desc.bind
    ? stockDrivers(k, [...k.base.devices], desc.bind, {
        acpiHost: (dev) => pci_get_host_bridge_device(dev)?.fwnode?.kind === 'acpi',
        virtioIommuVmm: qemuVirtioIommuProbe(k, dtb ?? null),
        file,
      })
    : { builtin: [], modules: [] };
  const unlisted = (d: DeviceDriver) => !drivers.has(d.name);
  const stockBuiltins = stock.builtin.filter(unlisted);
  const stockModules = stock.modules.filter(unlisted);
  // device_initcall in link order: drivers/pci, drivers/virtio and drivers/char, then drivers/iommu,
  // then the rest.
  const early = new Set(['pcieport', 'shpchp', 'virtio-pci', 'agpgart-intel']);
  const initcalls = [
    ...[...stockBuiltins, ...builtins].filter((d) => early.has(d.name)),
    ...iommuBuiltins,
    ...[...stockBuiltins, ...builtins].filter((d) => !early.has(d.name)),
  ];
  for (const drv of initcalls) {
    drivers.set(drv.name, drv);
    driver_register(k, drv);
  }
  driver_deferred_probe_trigger(k); // deferred_probe_initcall()
  k.runDeferredProbe();
  for (const drv of [...archDrivers.module, ...iommuModules, ...modules, ...stockModules]) {
    drivers.set(drv.name, drv);
    driver_register(k, drv);
  }
  k.runDeferredProbe();
  // deferred_probe_timeout_work_func(), deferred_probe_timeout seconds after boot: what still waits
  // (for an IOMMU whose driver was never built, say) stops waiting and binds without it.
  if (opts.deferredProbeTimeout !== false && k.base.deferred.size > 0) deferred_probe_timeout(k);
  return { k, desc, devices, drivers, ofNodes };
}
