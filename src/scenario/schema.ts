// SPDX-License-Identifier: GPL-2.0-only
/**
 * The scenario format: a platform, the profiles it is meant for, and steps
 * that drive the modelled kernel through its public entry points. Each step
 * records the kernel's return value. Documented in docs/SCENARIO.md.
 */
import { z } from 'zod';
import { PlatformSchema } from '../platform/schema.js';
import { profileNames } from '../profile/profile.js';

const ref = z.string().min(1);
const errnoOrZero = z.string().regex(/^(0|-E[A-Z0-9_]+)$/, '"0" or an errno such as "-ENODEV"');

export const StepSchema = z.discriminatedUnion('op', [
  /** Load the iommufd selftest module: iommufd_test_init(). */
  z.strictObject({ op: z.literal('load-mock') }),
  /** Unload it: iommufd_test_exit(). */
  z.strictObject({ op: z.literal('unload-mock') }),
  /** mock_dev_create(flags): the device is then known by `as`. */
  z.strictObject({ op: z.literal('mock-dev-create'), as: ref, flags: z.number().int().min(0).default(0) }),
  /** mock_dev_destroy() */
  z.strictObject({ op: z.literal('mock-dev-destroy'), dev: ref }),
  /** device_add() a device the platform defines with present: false. */
  z.strictObject({ op: z.literal('device-add'), dev: ref }),
  /** device_unregister(): hot-unplug. */
  z.strictObject({ op: z.literal('device-del'), dev: ref }),
  /** Bus code sets up a fwspec before device_add(): iommu_fwspec_init() for the named node's instance + IDs. */
  z.strictObject({
    op: z.literal('seed-fwspec'),
    dev: ref,
    iommu: z.string(),
    ids: z.array(z.number().int().min(0)).default([]),
  }),
  /** Register a driver the platform lists with load: "manual" (an IOMMU driver module, say). */
  z.strictObject({ op: z.literal('driver-register'), driver: ref }),
  /** driver_unregister(): unbinds its devices (an IOMMU driver unregisters its instances). */
  z.strictObject({ op: z.literal('driver-unregister'), driver: ref }),
  /** device_release_driver(). */
  z.strictObject({ op: z.literal('unbind'), dev: ref }),
  /** device_attach(): try to bind the device to its driver. */
  z.strictObject({ op: z.literal('bind'), dev: ref }),
  /** iommu_device_claim_dma_owner(): what VFIO/iommufd do before user DMA. */
  z.strictObject({ op: z.literal('claim-dma-owner'), dev: ref, owner: z.string().default('user') }),
  /** iommu_device_release_dma_owner() */
  z.strictObject({ op: z.literal('release-dma-owner'), dev: ref }),
  /** iommufd_device_bind()'s IOMMU-core checks and claim. */
  z.strictObject({
    op: z.literal('iommufd-bind'),
    dev: ref,
    as: ref.optional(),
    owner: z.string().default('iommufd'),
  }),
  /** iommufd_device_unbind() */
  z.strictObject({ op: z.literal('iommufd-unbind'), bind: ref }),
  /** iommu_paging_domain_alloc() + iommu_attach_group(): the domain is known by `as`. */
  z.strictObject({ op: z.literal('attach-paging-domain'), dev: ref, as: ref }),
  /** iommu_detach_group() + iommu_domain_free(). */
  z.strictObject({ op: z.literal('detach-domain'), dev: ref, domain: ref }),
  /** echo TYPE > /sys/kernel/iommu_groups/N/type */
  z.strictObject({
    op: z.literal('set-group-type'),
    dev: ref,
    type: z.enum(['identity', 'DMA', 'DMA-FQ', 'auto']),
  }),
  /** The deferred-probe timeout expires (drivers waiting for an IOMMU give up waiting). */
  z.strictObject({ op: z.literal('deferred-probe-timeout') }),
]);

export type Step = z.output<typeof StepSchema>;

const DeviceExpect = z.strictObject({
  iommu: z.string().nullable().optional(),
  group: z.union([z.number().int(), z.null(), z.literal('own'), z.literal('any')]).optional(),
  driver: z.string().nullable().optional(),
  fwspec: z.boolean().optional(),
  groupType: z.string().optional(),
  /** A substring of one of the device's history lines (what happened to it, in words). */
  history: z.string().optional(),
  /** Where the IOMMU core probed it: a prefix of "device_add", "registration of …", "replay at driver bind". */
  probedAt: z.string().optional(),
});

/** What a profile should produce: checked by `iommu-lab scenario` and the tests. */
export const ExpectSchema = z.strictObject({
  steps: z.array(errnoOrZero).optional(),
  devices: z.record(z.string(), DeviceExpect).optional(),
  leaks: z
    .array(
      z.strictObject({
        type: z.string(),
        origin: z.string().optional(),
        knownBug: z.string().nullable().optional(),
      }),
    )
    .optional(),
  warnings: z.array(z.string()).optional(),
  /** Substrings each of which some kernel log line must contain. */
  log: z.array(z.string()).optional(),
  /** The registered IOMMU instances, in list order. */
  iommus: z.array(z.string()).optional(),
});

export const ScenarioSchema = z.strictObject({
  name: z.string().min(1),
  title: z.string().default(''),
  description: z.string().default(''),
  /** A built-in platform's name, or an inline platform description. */
  platform: z.union([z.string(), PlatformSchema]),
  /** Changes to the platform for this scenario: drivers loaded differently ("manual": by a step). */
  overrides: z
    .strictObject({ driverLoad: z.record(z.string(), z.enum(['builtin', 'module', 'manual'])).default({}) })
    .default({ driverLoad: {} }),
  /** The profiles the scenario is about (default: all). */
  profiles: z.array(z.enum(profileNames)).optional(),
  steps: z.array(StepSchema),
  /** Expectations per profile name; "*" applies to every profile without its own. */
  expect: z.partialRecord(z.enum([...profileNames, '*']), ExpectSchema).optional(),
});

export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type ScenarioExpect = z.output<typeof ExpectSchema>;
