// SPDX-License-Identifier: GPL-2.0-only
/**
 * Which client drivers a stock distribution kernel (Debian 6.12) binds, for
 * a machine booted from its firmware and PCI dump, where nobody listed the
 * drivers: `--bind all` (the default for such inputs), `--bind none`, or
 * `--bind DEV,DEV,…` for those devices only.
 *
 * Binding matters to the IOMMU model because on kernels up to v6.14 a
 * device-tree, IORT or VIOT device gets its fwspec and its group only when a
 * driver binds, and because a bound driver uses the group's default domain.
 * Which driver it is matters less, so the table is short:
 *  - built in, registered at device_initcall in link order: pcieport,
 *    shpchp, virtio-pci and intel-agp (x86), with their own id tables and probes
 *    (pcieport and shpchp try every PCI bridge and decline the ones they do
 *    not drive, after dma_configure);
 *  - modules, loaded after the initcalls as udev meets their devices:
 *    virtio_iommu when the kernel builds it and a virtio-iommu function
 *    exists; for every other PCI function (not host bridges, bridges or the
 *    AMD-Vi function) a module named from a small ID/class table, else
 *    "pci:VVVV:DDDD";
 *  - a device-tree device (not an IOMMU a modelled driver claims, not a bus
 *    node) gets a built-in stand-in named after its first compatible
 *    ("of:rockchip,rk3399-vop-big").
 * The policy says which devices have their module (or stand-in) loaded:
 * all of them, none, or those listed. Built-in drivers are part of the
 * kernel and try every device they match whatever the policy.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import type { DeviceDriver } from '../base/driver.js';
import type { PciDev } from '../pci/pci-dev.js';
import type { BusType } from '../base/bus.js';
import type { Fwnode } from '../base/fwnode.js';
import {
  of_compatible_list,
  of_device_is_available,
  of_device_is_compatible,
  of_match_node,
} from '../firmware/of/of-base.js';
import { of_platform_depopulate, of_platform_populate } from '../firmware/of/of-platform.js';
import { iommuPlatformDrivers } from '../drivers/registry.js';
import { InputError } from '../input/input-error.js';
import { pcieportDriver } from '../drivers/pcieport.js';
import { shpchpDriver } from '../drivers/shpchp.js';
import { agpIntelDriver } from '../drivers/agp-intel.js';
import { virtioBus, virtioPciDriver } from '../drivers/virtio/virtio.js';
import { virtioIommuDriver, type ViommuProbeInfo } from '../drivers/virtio-iommu/virtio-iommu.js';

/** `--bind`: which devices have their stock module loaded: all, none (built-in drivers only), or those named. */
export type BindPolicy = 'all' | 'none' | string[];

/** Debian's modules by (vendor, device), for the devices QEMU machines have. */
const byId: Readonly<Record<string, string>> = {
  '8086:100e': 'e1000',
  '8086:100f': 'e1000',
  '8086:10d3': 'e1000e',
  '8086:2918': 'lpc_ich',
  '8086:2922': 'ahci',
  '8086:2930': 'i801_smbus',
  '1b36:000d': 'xhci_hcd',
  '1b36:0010': 'nvme',
};

/** Modules by class code (base class, sub-class, programming interface), then by base and sub-class. */
const byClass: Readonly<Record<number, string>> = {
  0x010601: 'ahci',
  0x010802: 'nvme',
  0x0c0300: 'uhci_hcd',
  0x0c0310: 'ohci-pci',
  0x0c0320: 'ehci-pci',
  0x0c0330: 'xhci_hcd',
  0x0403: 'snd_hda_intel',
};

const hex4 = (v: number) => v.toString(16).padStart(4, '0');

/** The virtio-iommu PCI function (virtio device ID 23, modern only). */
const VIRTIO_IOMMU_PCI_DEVICE = 0x1057;

/**
 * The module a stock kernel loads for a PCI function, or null when a built-in
 * driver (pcieport, shpchp, intel-agp, virtio-pci) or nothing drives it.
 */
export function stockPciModule(pdev: PciDev): string | null {
  const base = pdev.classCode >>> 16;
  const sub = (pdev.classCode >>> 8) & 0xff;
  if (base === 0x06 && (sub === 0x00 || sub === 0x04 || sub === 0x09)) return null;
  if (pdev.subordinate) return null;
  if (base === 0x08 && sub === 0x06) return null; // the IOMMU's own function (AMD-Vi)
  if (pdev.vendor === 0x1af4 && pdev.device >= 0x1000 && pdev.device <= 0x107f) return null; // virtio-pci
  return (
    byId[`${hex4(pdev.vendor)}:${hex4(pdev.device)}`] ??
    byClass[pdev.classCode] ??
    byClass[pdev.classCode >>> 8] ??
    `pci:${hex4(pdev.vendor)}:${hex4(pdev.device)}`
  );
}

/** The compatible a device-tree node's stand-in matches, or null for bus nodes and the IOMMUs modelled drivers claim. */
export function stockOfDriver(np: Fwnode): string | null {
  const compatible = of_compatible_list(np);
  if (compatible.length === 0) return null;
  if (of_match_node(['simple-bus', 'simple-mfd', 'isa', 'arm,amba-bus'], np)) return null;
  const claimed = iommuPlatformDrivers.flatMap((e) => [
    ...e.of_match_table,
    ...(e.companions ?? []).flatMap((c) => c.of_match_table),
  ]);
  if (of_match_node(claimed, np)) return null;
  return compatible[0];
}

/** A device named on the command line: "01:00.0" is in segment 0000. */
function normaliseName(name: string): string {
  return /^[0-9a-fA-F]{2}:[01][0-9a-fA-F]\.[0-7]$/.test(name) ? `0000:${name.toLowerCase()}` : name;
}

/** A PCI module bound by name: the devices given its name as override. */
function byName(name: string, dev: Device): DeviceDriver {
  return { name, bus: dev.bus!, probe: () => 0 };
}

export interface StockContext {
  /** The function's host bridge is an ACPI device (its hot-plug follows ACPI's rules). */
  readonly acpiHost: (dev: Device) => boolean;
  /** What the VMM's virtio-iommu reports in PROBE replies, when the machine has one. */
  readonly virtioIommuVmm: ViommuProbeInfo | null;
  /** Where the policy came from, for errors. */
  readonly file: string;
}

export interface StockDrivers {
  readonly builtin: DeviceDriver[];
  readonly modules: DeviceDriver[];
}

/**
 * The stock drivers for `devices` (in add order) under `policy`. Names in a
 * list that match no device are an input error. Devices whose platform
 * description already names a driver keep it.
 */
export function stockDrivers(
  k: Kernel,
  devices: readonly Device[],
  policy: BindPolicy,
  ctx: StockContext,
): StockDrivers {
  const wanted = policy === 'all' ? null : new Set(policy === 'none' ? [] : policy.map(normaliseName));
  if (wanted) {
    const names = new Set(devices.map((d) => d.name));
    for (const n of wanted)
      if (!names.has(n))
        throw new InputError(
          ctx.file,
          'bind',
          `no device ${n} (name devices as "0000:01:00.0" or "ff3d0000.iommu")`,
        );
  }
  const builtin: DeviceDriver[] = [];
  const modules: DeviceDriver[] = [];
  const standIns = new Map<string, DeviceDriver>();
  const named = new Map<string, DeviceDriver>();
  const pci = devices.filter((d) => d.pci);
  if (pci.length > 0) {
    // Link order: drivers/pci, drivers/virtio, drivers/char.
    builtin.push(
      pcieportDriver(k),
      shpchpDriver(k, (dev) => !(ctx.acpiHost(dev) && k.arch === 'x86_64')),
    );
    if (pci.some((d) => d.pci!.vendor === 0x1af4)) {
      virtioBus(k);
      builtin.push(virtioPciDriver(k));
    }
    if (k.arch === 'x86_64') builtin.push(agpIntelDriver(k));
    // The virtio device's module loads with its PCI function's.
    const viommu = pci.some(
      (d) =>
        d.pci!.vendor === 0x1af4 &&
        d.pci!.device === VIRTIO_IOMMU_PCI_DEVICE &&
        (!wanted || wanted.has(d.name)),
    );
    if (viommu && k.kconfig.VIRTIO_IOMMU !== 'n')
      (k.kconfig.VIRTIO_IOMMU === 'y' ? builtin : modules).push(virtioIommuDriver(k, ctx.virtioIommuVmm));
  }
  for (const dev of devices) {
    if (!dev.bus || dev.match_driver !== null) continue;
    if (wanted && !wanted.has(dev.name)) continue;
    if (dev.pci) {
      const name = stockPciModule(dev.pci);
      if (!name) continue;
      dev.match_driver = name;
      if (!named.has(name)) {
        const drv = byName(name, dev);
        named.set(name, drv);
        modules.push(drv);
      }
    } else if (dev.fwnode?.kind === 'of') {
      // A stand-in matches by compatible, as its module's of_match_table would: loaded for one
      // device, it binds every device of that compatible, the children its probe populates too.
      const compat = stockOfDriver(dev.fwnode);
      if (!compat) continue;
      standIn(standIns, dev.bus, compat);
      if (!populatesChildren(dev.fwnode)) continue;
      for (const child of dev.fwnode.children) {
        const c = stockOfDriver(child);
        const bus = k.base.buses.get(of_device_is_compatible(child, 'arm,primecell') ? 'amba' : 'platform');
        if (c && bus && of_device_is_available(child)) standIn(standIns, bus, c);
      }
    }
  }
  return { builtin: [...builtin, ...standIns.values()], modules };
}

/** The stand-in driver for one compatible on one bus, made once. */
function standIn(standIns: Map<string, DeviceDriver>, bus: BusType, compat: string): void {
  const key = `${bus.name} ${compat}`;
  if (standIns.has(key)) return;
  standIns.set(key, {
    name: `of:${compat}`,
    bus,
    of_match_table: [compat],
    probe(k, dev) {
      // The drivers that make devices of their node's children at probe.
      if (dev.fwnode && populatesChildren(dev.fwnode))
        dev.driverData = of_platform_populate(k, dev.fwnode, dev);
      return 0;
    },
    remove(k, dev) {
      if (Array.isArray(dev.driverData)) of_platform_depopulate(k, dev.driverData as Device[]);
    },
  });
}

/**
 * Drivers whose probe populates their node's children as platform devices
 * (of_platform_populate()): host1x_probe() (Tegra display and multimedia
 * engines), msm_mdss's mdss_probe() (Qualcomm display), MediaTek's
 * multi-core video decoder (is_subdev_supported) and JPEG masters
 * (mtk_jpeg_probe()).
 */
const POPULATES_CHILDREN: readonly RegExp[] = [
  /^nvidia,tegra(20|30|114|124|210|186|194|234)-host1x$/,
  /^qcom,(?:[a-z0-9]+-)?mdss$/,
  /^mediatek,mt(8192|8186|8195)-vcodec-dec$/,
  /^mediatek,mt8195-jpg(enc|dec)$/,
];

function populatesChildren(np: Fwnode): boolean {
  const first = of_compatible_list(np)[0];
  return first !== undefined && POPULATES_CHILDREN.some((re) => re.test(first));
}
