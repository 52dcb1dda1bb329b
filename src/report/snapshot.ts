// SPDX-License-Identifier: GPL-2.0-only
/**
 * What a booted model looks like from user space: /sys/kernel/iommu_groups
 * (type, devices, reserved_regions), each device's `iommu` link and fwspec,
 * the WARNs. This is the stable JSON shape `--json` prints (docs/JSON.md).
 */
import { dmaJson, iotlbJson, type DmaJson, type IotlbJson } from './dma-report.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import { domainTypeSysfs } from '../iommu/domain.js';
import {
  iommu_get_group_resv_regions,
  iommu_get_resv_regions,
  resvTypeString,
} from '../iommu/resv-regions.js';
import { dev_has_iommu } from '../iommu/dev-iommu.js';

export interface ReservedRegionJson {
  readonly start: string;
  readonly end: string;
  readonly type: string;
}

export interface GroupJson {
  readonly id: number;
  /** The group's sysfs `name`, when its driver gave one (iommu_group_set_name()), else null. */
  readonly name: string | null;
  /** The group's sysfs `type`: DMA, DMA-FQ, identity, blocked, unmanaged, or unknown with no default domain. */
  readonly type: string;
  /** The domain currently attached, when it is not the default one (an owner's, say). */
  readonly domain: string | null;
  readonly devices: string[];
  readonly reservedRegions: ReservedRegionJson[];
  readonly owner: { readonly count: number; readonly claimed: boolean };
  /** Why these devices share the group, in plain words. */
  readonly why: string[];
  /** How the default domain type was decided. */
  readonly typeWhy: string[];
}

export interface DeviceJson {
  readonly name: string;
  readonly bus: string | null;
  /** The driver-core parent (a PCI function's bridge or host bridge, a platform device's parent), or null. */
  readonly parent: string | null;
  readonly driver: string | null;
  /** The sysfs name of the IOMMU instance that probed it (its `iommu` link). */
  readonly iommu: string | null;
  readonly group: number | null;
  /** Where the IOMMU core probed it: "device_add", "registration of dmar0", "replay at driver bind". */
  readonly probedAt: string | null;
  /** The fwspec: the IOMMU's firmware node, the IDs, and the binding each batch of IDs came from. */
  readonly fwspec: {
    readonly fwnode: string | null;
    readonly ids: number[];
    readonly sources: string[];
  } | null;
  /** Where its MSIs go when firmware says (the controller, the ID it sees, why) and whether they are isolated. */
  readonly msi: {
    readonly controller: string | null;
    readonly id: number | null;
    readonly source: string;
    readonly isolated: boolean;
  } | null;
  readonly history: string[];
  /** The reserved regions its IOMMU driver reports for it, with where each comes from. */
  readonly reservedRegions: {
    readonly start: string;
    readonly end: string;
    readonly type: string;
    readonly source: string;
  }[];
  /**
   * The IOMMU objects made for this device: what, who allocated it, who
   * freed it (null: still live), and how many in a row were allocated and
   * freed that way.
   */
  readonly objects: {
    readonly type: string;
    readonly allocatedBy: string;
    readonly freedBy: string | null;
    readonly times: number;
  }[];
}

export interface WarningJson {
  readonly site: string;
  readonly message: string;
  readonly device: string | null;
}

export interface Snapshot {
  readonly profile: string;
  readonly iommus: {
    readonly name: string;
    readonly driver: string;
    readonly fwnode: string | null;
    /**
     * Invalidations sent to it and its IOTLB's hits (src/iommu/iotlb.ts);
     * absent while all are zero (a boot that mapped nothing).
     */
    readonly iotlb?: IotlbJson;
  }[];
  readonly groups: GroupJson[];
  readonly devices: DeviceJson[];
  readonly warnings: WarningJson[];
  /** Device DMA: faults and stale IOTLB uses. */
  readonly dma: DmaJson;
}

export function hex64(v: bigint): string {
  return '0x' + BigInt.asUintN(64, v).toString(16).padStart(16, '0');
}

/** What the driver core and bus code allocate for every device: not IOMMU state. */
const notIommuState = new Set(['device_private', 'platform_object', 'mock_dev']);

function deviceJson(k: Kernel, dev: Device): DeviceJson {
  const resv = dev_has_iommu(dev) ? iommu_get_resv_regions(k, dev) : [];
  const fwspec = dev.iommu?.fwspec ?? null;
  return {
    name: dev.name,
    bus: dev.bus?.name ?? null,
    parent: dev.parent?.name ?? null,
    driver: dev.driver?.name ?? null,
    iommu: dev_has_iommu(dev) ? dev.iommu!.iommu_dev!.name : null,
    group: dev.iommu_group?.id ?? null,
    probedAt: dev_has_iommu(dev) ? dev.iommuProbedAt : null,
    fwspec: fwspec
      ? { fwnode: fwspec.iommu_fwnode?.name ?? null, ids: [...fwspec.ids], sources: [...fwspec.sources] }
      : null,
    msi: dev.msi ? { ...dev.msi, isolated: dev.msiIsolated } : null,
    history: [...dev.history],
    reservedRegions: resv.map((r) => ({
      start: hex64(r.start),
      end: hex64(r.start + r.length - 1n),
      type: resvTypeString(r.type),
      source: r.source,
    })),
    objects: k.alloc
      .history(dev)
      .filter((a) => !notIommuState.has(a.type))
      .map((a) => ({ type: a.type, allocatedBy: a.site, freedBy: a.freedBy, times: a.times })),
  };
}

/** Read the model's state as user space would see it. Reads only: allocates nothing in the model. */
export function snapshot(k: Kernel): Snapshot {
  const groups = [...k.iommu.groups.values()]
    .sort((a, b) => a.id - b.id)
    .map((g): GroupJson => {
      const def = g.default_domain;
      return {
        id: g.id,
        name: g.name,
        type: def ? domainTypeSysfs(def.type) : 'unknown',
        domain: g.domain && g.domain !== def ? g.domain.label : null,
        devices: g.devices.map((gd) => gd.dev.name),
        reservedRegions: iommu_get_group_resv_regions(k, g).map((r) => ({
          start: hex64(r.start),
          end: hex64(r.start + r.length - 1n),
          type: resvTypeString(r.type),
        })),
        owner: { count: g.owner_cnt, claimed: g.owner !== null },
        why: [...new Set(g.reasons)],
        typeWhy: k.iommu.decisions.get(g)?.reasons ?? [],
      };
    });
  // Devices on a bus, as /sys/bus/*/devices lists them (a PCI host bridge has no bus).
  const devices = [...k.base.devices]
    .filter((d) => d.bus !== null)
    .map((d) => deviceJson(k, d))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    profile: k.profile.name,
    iommus: k.iommu.device_list.map((i) => {
      const iotlb = iotlbJson(k, i.name)!;
      const used = Object.values(iotlb).some((v) => v !== 0);
      return {
        name: i.name,
        driver: i.ops?.name ?? '?',
        fwnode: i.fwnode?.name ?? null,
        ...(used ? { iotlb } : {}),
      };
    }),
    groups,
    devices,
    warnings: k.printk.warnings.map((w) => ({ site: w.site, message: w.message, device: w.device ?? null })),
    dma: dmaJson(k),
  };
}
