// SPDX-License-Identifier: GPL-2.0-only
/**
 * A minimal machine for core tests: a platform bus watched by the IOMMU core
 * and a test IOMMU driver (like the kernel selftests' mock) whose per-device
 * answers a test sets: which devices it accepts, its def_domain_type opinion,
 * its reserved regions, and which group each device joins.
 */
import { Kernel } from '../../src/kernel/kernel.js';
import { profiles } from '../../src/profile/profiles.js';
import type { ProfileName } from '../../src/profile/profile.js';
import { bus_register } from '../../src/base/bus.js';
import { createPlatformBus } from '../../src/base/platform.js';
import { Device } from '../../src/base/device.js';
import { device_add } from '../../src/base/core.js';
import { iommu_subsys_init } from '../../src/iommu/subsys.js';
import { IommuDevice, iommu_device_register } from '../../src/iommu/iommu-device.js';
import {
  IommuDomain,
  IOMMU_DOMAIN_BLOCKED,
  IOMMU_DOMAIN_IDENTITY,
  staticDomain,
} from '../../src/iommu/domain.js';
import type { IommuGroup } from '../../src/iommu/group.js';
import {
  fsl_mc_device_group,
  generic_device_group,
  generic_single_device_group,
  iommu_group_get,
} from '../../src/iommu/group.js';
import { ENODEV, ERR_PTR, ENOMEM } from '../../src/kernel/errno.js';
import type { IommuOps } from '../../src/iommu/ops.js';
import type { IommuResvRegion } from '../../src/iommu/resv-regions.js';
import type { Kconfig } from '../../src/kernel/kconfig.js';

export interface KitDeviceSpec {
  /** def_domain_type() answer (0, IOMMU_DOMAIN_IDENTITY, IOMMU_DOMAIN_DMA). */
  opinion?: number;
  /** Join the group of this device instead of a new one. */
  sameGroupAs?: string;
  resv?: IommuResvRegion[];
  untrusted?: boolean;
  /** Not behind this IOMMU: probe_device() says -ENODEV. */
  foreign?: boolean;
  /** Group by instance (generic_single_device_group()). */
  single?: boolean;
  /** Group as fsl-mc does, under this container device. */
  container?: string;
}

export class Kit {
  readonly k: Kernel;
  readonly iommu = new IommuDevice('testiommu0');
  readonly specs = new Map<string, KitDeviceSpec>();
  readonly ops: IommuOps;

  constructor(profile: ProfileName = 'v6.18', cmdline = '', kconfig: Partial<Kconfig> = {}) {
    this.k = new Kernel({ profile: profiles[profile], arch: 'arm64', cmdline, kconfig });
    const bus = createPlatformBus();
    bus_register(this.k, bus);
    iommu_subsys_init(this.k, [bus]);
    const specs = this.specs;
    const inst = this.iommu;
    this.ops = {
      name: 'test-iommu',
      owner: null,
      pgsize_bitmap: 4096,
      identity_domain: staticDomain(IOMMU_DOMAIN_IDENTITY, 'test identity'),
      blocked_domain: staticDomain(IOMMU_DOMAIN_BLOCKED, 'test blocked'),
      default_domain_ops: {
        attach_dev: () => 0,
        free: (kk, d) => {
          kk.alloc.free(d.mem, 'test_domain_free');
          d.mem = null;
        },
      },
      probe_device: (_k, dev) =>
        specs.has(dev.name) && !specs.get(dev.name)!.foreign ? inst : ERR_PTR(-ENODEV),
      device_group: (kk, dev) => {
        const spec = specs.get(dev.name);
        if (spec?.single) return generic_single_device_group(kk, dev);
        if (spec?.container) {
          const cont = [...kk.base.devices].find((d) => d.name === spec.container) ?? dev;
          return fsl_mc_device_group(kk, dev, cont);
        }
        const other = spec?.sameGroupAs;
        const peer = other ? [...kk.base.devices].find((d) => d.name === other) : undefined;
        return (peer && iommu_group_get(peer)) || generic_device_group(kk, dev);
      },
      def_domain_type: (_k, dev) => specs.get(dev.name)?.opinion ?? 0,
      get_resv_regions: (_k, dev, list) =>
        list.push(...(specs.get(dev.name)?.resv ?? []).map((r) => ({ ...r }))),
      domain_alloc_paging: (kk) => {
        const mem = kk.alloc.alloc('test_domain', 'test', 'test_domain_alloc_paging');
        if (!mem) return ERR_PTR(-ENOMEM);
        const d = new IommuDomain(0, null, 'test paging');
        d.mem = mem;
        return d;
      },
      capable: () => true,
    };
  }

  register(): number {
    return iommu_device_register(this.k, this.iommu, this.ops, null);
  }

  add(name: string, spec: KitDeviceSpec = {}): Device {
    this.specs.set(name, spec);
    const dev = new Device(name);
    dev.bus = this.k.base.buses.get('platform')!;
    dev.release = () => {};
    if (spec.untrusted) {
      // untrusted is a PCI property; a bare object with the flag is all the core reads.
      dev.pci = { untrusted: true, maxPasids: () => 0 } as unknown as Device['pci'];
    }
    device_add(this.k, dev);
    return dev;
  }

  group(dev: Device): IommuGroup {
    if (!dev.iommu_group) throw new Error(`${dev.name} has no group`);
    return dev.iommu_group;
  }
}
