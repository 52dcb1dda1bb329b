// SPDX-License-Identifier: GPL-2.0-only
/**
 * The kernel versions the model knows, as data. See profile.ts for what each
 * field means and where it is read.
 */
import type { KernelProfile, ProfileName } from './profile.js';
import { profileNames } from './profile.js';

const v6_4: KernelProfile = {
  name: 'v6.4',
  iommufdLastCmd: 0x88,
  summary:
    'bus ops; iommu_release_device() returns early without a group (leaks dev_iommu and fwspec); the mock is not a driver',
  opsLookup: 'bus',
  release: 'early-return-without-group',
  registerRejectsSecondDriver: true,
  firmwareConfigure: 'bind-replay',
  fwspecInit: 'with-ops',
  ready: 'none',
  smmuV3AliasedStream: 'einval',
  armSmmuLookup: 'bound-device',
  ipmmuDrvdata: 'after-register',
  probePathRecheck: false,
  defDomainConflict: 'global-default',
  staticDefaultDomainIsOpinion: false,
  useDefaultDomainDefers: false,
  releaseDomain: false,
  nullDomainIsPlatformDma: true,
  probeShape: 'v6.4',
  mock: {
    isDriver: false,
    registration: 'bus-ops',
    probeChecksBus: false,
    naming: 'group-id',
    devFlagsMask: 0,
    iopf: false,
  },
};

const v6_7: KernelProfile = {
  ...v6_4,
  name: 'v6.7',
  iommufdLastCmd: 0x8c,
  summary: 'bus ops; a second driver with other ops gets -EBUSY; the mock is a real driver found by its bus',
  release: 'free-remaining',
  defDomainConflict: 'identity-wins',
  nullDomainIsPlatformDma: false,
  probeShape: 'consolidated',
  mock: {
    isDriver: true,
    registration: 'bus-ops',
    probeChecksBus: false,
    naming: 'atomic-counter',
    devFlagsMask: 0b1,
    iopf: false,
  },
};

const v6_8: KernelProfile = {
  ...v6_7,
  name: 'v6.8',
  iommufdLastCmd: 0x8d,
  summary: 'bus ops retired: fwspec->ops, else the first instance without a fwnode (the seed bug)',
  opsLookup: 'fwspec-ops-or-first-global',
  registerRejectsSecondDriver: false,
  staticDefaultDomainIsOpinion: true,
  mock: {
    isDriver: true,
    registration: 'null-fwnode',
    probeChecksBus: true,
    naming: 'ida',
    devFlagsMask: 0b1,
    iopf: false,
  },
};

const v6_12: KernelProfile = {
  ...v6_8,
  name: 'v6.12',
  iommufdLastCmd: 0x8e,
  summary:
    'ops from the fwspec fwnode; firmware configured (and the device replayed) at driver bind (as Debian 6.12.117, with the -EPROBE_DEFER backport)',
  opsLookup: 'fwnode',
  fwspecInit: 'resolve-or-defer',
  releaseDomain: true,
  useDefaultDomainDefers: true,
  mock: {
    isDriver: true,
    registration: 'null-fwnode',
    probeChecksBus: true,
    naming: 'ida',
    devFlagsMask: 0b11,
    iopf: true,
  },
};

const v6_15: KernelProfile = {
  ...v6_12,
  name: 'v6.15',
  iommufdLastCmd: 0x93,
  summary: 'firmware configured from the probe path (iommu_init_device runs dma_configure); ready flag',
  firmwareConfigure: 'probe-path',
  ready: 'register',
  armSmmuLookup: 'registered-instance',
  ipmmuDrvdata: 'before-register',
  // MOCK_FLAGS_DEVICE_PASID came with iommufd's PASID attach (v6.15).
  mock: { ...v6_12.mock, devFlagsMask: 0b111 },
};

const v6_18: KernelProfile = {
  ...v6_15,
  name: 'v6.18',
  iommufdLastCmd: 0x94,
  summary: 'the mock IOMMU has a software node and mock devices get a fwspec before device_add',
  ready: 'register-and-register-bus',
  smmuV3AliasedStream: 'enodev',
  probePathRecheck: true,
  mock: {
    isDriver: true,
    registration: 'swnode-fwspec',
    probeChecksBus: true,
    naming: 'ida',
    devFlagsMask: 0b111,
    iopf: true,
  },
};

export const profiles: Readonly<Record<ProfileName, KernelProfile>> = {
  'v6.4': v6_4,
  'v6.7': v6_7,
  'v6.8': v6_8,
  'v6.12': v6_12,
  'v6.15': v6_15,
  'v6.18': v6_18,
};

/** The newest profile: the default everywhere a profile is optional. */
export const DEFAULT_PROFILE: ProfileName = 'v6.18';

export function isProfileName(s: string): s is ProfileName {
  return (profileNames as readonly string[]).includes(s);
}

export function getProfile(name: string): KernelProfile | undefined {
  return isProfileName(name) ? profiles[name] : undefined;
}
