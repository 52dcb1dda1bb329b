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
/** An address or size: a JSON number below 2^53, or a hex string "0x…" (converted to a number). */
const addr = z.union([
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  z
    .string()
    .regex(/^0x[0-9a-fA-F]{1,14}$/, 'a hex string such as "0x80000000" (below 2^53)')
    .transform((s) => Number(BigInt(s))),
]);
/** Bytes as hex pairs, "deadbeef". */
const hexBytes = z.string().regex(/^([0-9a-fA-F]{2})+$/, 'bytes as hex pairs, such as "deadbeef"');
const dmaDir = z.enum(['bidirectional', 'to-device', 'from-device']);
/** Where a device access goes: an IOVA, or a DMA handle a dma-map/dma-alloc step named (plus an offset). */
const dmaTarget = {
  iova: addr.optional(),
  map: ref.optional(),
  offset: addr.default(0),
};

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
  /** dma_set_mask_and_coherent(dev, DMA_BIT_MASK(bits)) */
  z.strictObject({ op: z.literal('dma-set-mask'), dev: ref, bits: z.number().int().min(1).max(64) }),
  /** dma_map_page() of [phys, phys + size): the handle is then known by `as`. */
  z.strictObject({
    op: z.literal('dma-map'),
    dev: ref,
    as: ref,
    phys: addr,
    size: addr,
    dir: dmaDir,
    /** false: the driver never calls dma_mapping_error() on the handle (a bug dma-debug reports at unmap). */
    checkError: z.boolean().default(true),
  }),
  /** dma_unmap_page() of a dma-map (its size and direction unless given: a driver bug to reproduce). */
  z.strictObject({ op: z.literal('dma-unmap'), map: ref, size: addr.optional(), dir: dmaDir.optional() }),
  /** dma_alloc_coherent(): the buffer is known by `as`. */
  z.strictObject({ op: z.literal('dma-alloc'), dev: ref, as: ref, size: addr }),
  /** dma_free_coherent() */
  z.strictObject({ op: z.literal('dma-free'), buf: ref }),
  /** iommu_map() into a domain an attach-paging-domain step named. */
  z.strictObject({
    op: z.literal('iommu-map'),
    domain: ref,
    iova: addr,
    phys: addr,
    size: addr,
    prot: z.array(z.enum(['read', 'write', 'cache', 'noexec', 'mmio', 'priv'])).default(['read', 'write']),
  }),
  /** iommu_unmap(): the step's result is 0, its target says how much was unmapped. */
  z.strictObject({ op: z.literal('iommu-unmap'), domain: ref, iova: addr, size: addr }),
  /** The CPU writes memory: at a physical address, or into a dma-alloc buffer (`buf` + offset). */
  z.strictObject({
    op: z.literal('cpu-write'),
    phys: addr.optional(),
    buf: ref.optional(),
    offset: addr.default(0),
    data: hexBytes,
  }),
  /** The device writes: 0, or -EFAULT when the IOMMU faults it (the fault is in the result's dma.faults). */
  z.strictObject({ op: z.literal('dma-write'), dev: ref, ...dmaTarget, data: hexBytes }),
  /** The device reads `length` bytes: 0, -EFAULT on a fault, -EIO when `expect` is given and differs. */
  z.strictObject({
    op: z.literal('dma-read'),
    dev: ref,
    ...dmaTarget,
    length: addr,
    expect: hexBytes.optional(),
  }),
  /** Time passes (timers run: the flush queue's 10 ms timeout, say). */
  z.strictObject({ op: z.literal('advance-time'), ms: z.number().min(0) }),
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
  /** The DMA faults, in order: device and reason ("unmapped", "permission", "aperture", "blocked"). */
  faults: z
    .array(z.strictObject({ dev: ref, reason: z.enum(['unmapped', 'permission', 'aperture', 'blocked']) }))
    .optional(),
  /** Stale IOTLB uses (a DMA through a translation the table no longer has). */
  staleIotlbUses: z.number().int().min(0).optional(),
  /** Substrings each of which some DMA-API debug finding must contain; [] means none. */
  dmaDebug: z.array(z.string()).optional(),
});

export const ScenarioSchema = z.strictObject({
  name: z.string().min(1),
  title: z.string().default(''),
  description: z.string().default(''),
  /** A built-in platform's name, or an inline platform description. */
  platform: z.union([z.string(), PlatformSchema]),
  /** Changes to the platform for this scenario: drivers loaded differently ("manual": by a step), kernel parameters. */
  overrides: z
    .strictObject({
      driverLoad: z.record(z.string(), z.enum(['builtin', 'module', 'manual'])).default({}),
      /** Kernel parameters added after the platform's own (iommu.strict=0, say). */
      cmdline: z.string().default(''),
    })
    .default({ driverLoad: {}, cmdline: '' }),
  /** The profiles the scenario is about (default: all). */
  profiles: z.array(z.enum(profileNames)).optional(),
  steps: z.array(StepSchema),
  /** Expectations per profile name; "*" applies to every profile without its own. */
  expect: z.partialRecord(z.enum([...profileNames, '*']), ExpectSchema).optional(),
});

export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type ScenarioExpect = z.output<typeof ExpectSchema>;
