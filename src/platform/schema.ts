// SPDX-License-Identifier: GPL-2.0-only
/**
 * The platform description format: a machine's firmware and devices as JSON,
 * validated with zod so that a bad file gets an error naming the field.
 * Documented in docs/PLATFORM.md. Firmware that has a binary form (DTB, ACPI
 * tables, lspci dumps) is read by its own parser; this format describes the
 * same model by hand and carries what the binaries do not (which drivers a
 * machine has, the kernel command line).
 */
import { z } from 'zod';
import { parseErrno } from '../kernel/errno.js';
import type { IommuDriverOption } from '../kernel/kconfig.js';

/** A tristate Kconfig option: built in, a module, not built. */
const Tristate = z.enum(['y', 'm', 'n']);

const hex = z
  .union([
    z.string().regex(/^(0x)?[0-9a-fA-F]+$/, 'a hex string such as "0xfed90000"'),
    z.number().int().nonnegative(),
  ])
  .transform((v) => (typeof v === 'number' ? BigInt(v) : BigInt(v.startsWith('0x') ? v : '0x' + v)));

const errnoText = z.string().regex(/^-E[A-Z0-9_]+$/, 'an errno such as "-ENODEV"');

/** A cell: a number, or "&label"/"&/path" for a node's phandle (as dtc's &label). */
const Cell = z.union([
  z.number().int().min(0).max(0xffffffff),
  z.string().regex(/^&.+/, 'a "&label" or "&/path" reference'),
]);

export const OfNodeSchema = z.strictObject({
  path: z.string().regex(/^\/([^/]+(\/[^/]+)*)?$/, 'an absolute node path such as "/soc/iommu@1000"'),
  label: z.string().optional(),
  compatible: z.union([z.string(), z.array(z.string())]).optional(),
  status: z.string().optional(),
  /** Other properties: cells, a string, or true for an empty (boolean) property. */
  props: z.record(z.string(), z.union([z.array(Cell), z.string(), z.literal(true)])).optional(),
});

const DmarScopeSchema = z.strictObject({
  type: z.enum(['endpoint', 'bridge', 'ioapic', 'hpet', 'namespace']),
  /** PCI scopes: the function the path ends at, "00:1f.0" or "0000:00:1f.0". */
  bdf: z.string().optional(),
  /** IOAPIC/HPET enumeration id, ACPI namespace device number. */
  id: z.number().int().optional(),
});

/**
 * A VT-d unit's registers, which DMAR does not carry, as dmesg prints them
 * ("DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260206 ecap f00f4a"):
 * absent, the unit is QEMU's intel-iommu (drivers/intel/hw.ts).
 */
const VtdRegisters = {
  /** VER: major << 4 | minor (0x10 for "ver 1:0"). */
  ver: z.number().int().min(0).max(0xff).optional(),
  cap: hex.optional(),
  /** With ecap given, its PT bit (not passThrough) says whether pass-through works. */
  ecap: hex.optional(),
};

export const DmarSchema = z.strictObject({
  haw: z.number().int().min(32).max(64).default(39),
  drhds: z.array(
    z.strictObject({
      base: hex,
      segment: z.number().int().min(0).max(0xffff).default(0),
      includePciAll: z.boolean().default(false),
      passThrough: z.boolean().default(true),
      translationPreEnabled: z.boolean().default(false),
      ...VtdRegisters,
      scopes: z.array(DmarScopeSchema).default([]),
    }),
  ),
  rmrrs: z
    .array(
      z.strictObject({
        base: hex,
        end: hex,
        segment: z.number().int().default(0),
        scopes: z.array(DmarScopeSchema),
      }),
    )
    .default([]),
});

export const IvrsSchema = z.strictObject({
  ivhds: z.array(
    z.strictObject({
      /** The IOMMU's own PCI function. */
      bdf: z.string(),
      segment: z.number().int().min(0).max(0xffff).default(0),
      /** Device-ID ranges this unit translates, as "00:00.0-00:1f.7" or single "00:14.0". */
      devices: z.array(z.string()),
    }),
  ),
  /** Running under a hypervisor (CPUID): AMD-Vi then forces strict invalidation. */
  hypervisor: z.boolean().default(false),
});

export const PlatformDeviceSchema = z.strictObject({
  name: z.string().min(1),
  bus: z.enum(['platform', 'amba', 'fsl-mc']).default('platform'),
  /** The device-tree node describing it. */
  of: z.string().optional(),
  /** Its ACPI companion's path (\\_SB.PCI0.XHC0), when ACPI describes it. */
  acpi: z.string().optional(),
  /** The parent device (by name): an fsl-mc object's DPRC container, or the fsl-mc root's platform device. */
  parent: z.string().optional(),
  /** fsl-mc objects: the ICID that `iommu-map` translates. */
  icid: z.number().int().min(0).max(0xffff).optional(),
  /** fsl-mc objects: a DPRC container; drivers grouping with fsl_mc_device_group() (arm-smmu v2) put its children in its group. */
  container: z.boolean().optional(),
  /** Present from boot (default), or left for a scenario to add. */
  present: z.boolean().default(true),
  /** The driver that binds it, when that driver is loaded. */
  driver: z.string().optional(),
});

const hex16 = z
  .union([
    z.number().int().min(0).max(0xffff),
    z.string().regex(/^(0x)?[0-9a-fA-F]{1,4}$/, 'a 16-bit hex number such as "8086"'),
  ])
  .transform((v) => (typeof v === 'number' ? v : parseInt(v, 16)));
const hex24 = z
  .union([
    z.number().int().min(0).max(0xffffff),
    z.string().regex(/^(0x)?[0-9a-fA-F]{1,6}$/, 'a 24-bit hex number such as "060400"'),
  ])
  .transform((v) => (typeof v === 'number' ? v : parseInt(v, 16)));

export const DriverSchema = z.strictObject({
  name: z.string().min(1),
  bus: z.enum(['platform', 'pci', 'amba', 'fsl-mc', 'virtio']),
  /** PCI drivers: the id table (struct pci_device_id) the driver matches devices with; omitted fields match anything. */
  ids: z
    .array(
      z.strictObject({
        vendor: hex16.optional(),
        device: hex16.optional(),
        class: hex24.optional(),
        classMask: hex24.optional(),
      }),
    )
    .optional(),
  /** virtio_iommu: the reserved regions the device reports in its PROBE replies (QEMU x86: the MSI window). */
  probeResv: z.array(z.strictObject({ start: hex, end: hex, type: z.enum(['msi', 'reserved']) })).optional(),
  /** builtin: registered at device_initcall; module: after late_initcall; manual: by a scenario step. */
  load: z.enum(['builtin', 'module', 'manual']).default('builtin'),
  /** What the driver's own probe() returns ("-ENODEV" for a driver that refuses). */
  probe: errnoText
    .refine((e) => parseErrno(e) !== undefined, 'an errno the model knows (-ENODEV, -EBUSY, -ENOMEM, …)')
    .optional(),
  /** drv->driver_managed_dma (vfio-pci). */
  driverManagedDma: z.boolean().default(false),
});

export const PlatformSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().default(''),
  arch: z.enum(['x86_64', 'arm64', 'arm']).default('x86_64'),
  cmdline: z.string().default(''),
  kconfig: z
    .strictObject({
      IOMMU_DEFAULT_PASSTHROUGH: z.boolean(),
      IOMMU_DEFAULT_DMA_STRICT: z.boolean(),
      IOMMU_DMA: z.boolean(),
      ARM_DMA_USE_IOMMU: z.boolean(),
      IOMMUFD_TEST: z.boolean(),
      MEM_ENCRYPT_ACTIVE: z.boolean(),
      INTEL_IOMMU_DEFAULT_ON: z.boolean(),
      ARM_SMMU_LEGACY_DT_BINDINGS: z.boolean(),
      ARM_SMMU_DISABLE_BYPASS_BY_DEFAULT: z.boolean(),
      ARM_SMMU_QCOM: z.boolean(),
      PCIE_APPLE: z.boolean(),
      ARM64_16K_PAGES: z.boolean(),
      VFIO_NOIOMMU: z.boolean(),
      ARM_SMMU: Tristate,
      ARM_SMMU_V3: Tristate,
      QCOM_IOMMU: Tristate,
      ROCKCHIP_IOMMU: Tristate,
      MTK_IOMMU: Tristate,
      APPLE_DART: Tristate,
      EXYNOS_IOMMU: Tristate,
      IPMMU_VMSA: Tristate,
      TEGRA_IOMMU_SMMU: Tristate,
      TEGRA_MC: Tristate,
      VIRTIO_IOMMU: Tristate,
    } satisfies Record<IommuDriverOption, typeof Tristate> & Record<string, z.ZodType>)
    .partial()
    .default({}),
  of: z.array(OfNodeSchema).default([]),
  /**
   * The PCI topology: one segment's description, or several (validated by the
   * PCI topology builder, which names its own fields).
   */
  pci: z.unknown().optional(),
  /**
   * A flattened device tree (gzip or not), relative to this file, instead of `of`: its nodes are
   * the tree, and the devices it populates come before `devices` (which may hang fsl-mc objects
   * under its fsl-mc node's device, as the MC firmware would report them).
   */
  dtb: z.string().optional(),
  /** Instead of `pci`: an `lspci -D -xxxx` dump, or a copy of /sys/bus/pci/devices (a folder), relative to this file. */
  lspci: z.string().optional(),
  /** Binary ACPI tables as the firmware provides them (files relative to this file), instead of `dmar`/`ivrs`. */
  acpi: z
    .strictObject({
      DMAR: z.string().optional(),
      IVRS: z.string().optional(),
      VIOT: z.string().optional(),
      IORT: z.string().optional(),
    })
    .optional(),
  /** The machine is a virtual machine (the CPUID hypervisor bit): AMD-Vi then forces strict invalidation. */
  hypervisor: z.boolean().default(false),
  /**
   * When pci_request_acs() happens relative to PCI enumeration: 'firmware' (default: as the
   * IOMMU firmware code does it: DMAR, IVRS, IORT and VIOT before, a device tree only at the
   * first driver bind), or forced 'before-enumeration' / 'after-enumeration' for a what-if.
   */
  acsRequest: z.enum(['firmware', 'before-enumeration', 'after-enumeration']).default('firmware'),
  /** The node describing the PCI host bridge ("/pcie@10000000") for DT platforms. */
  pciHostBridgeOf: z.string().optional(),
  dmar: DmarSchema.optional(),
  /** With `acpi.DMAR`: the register state of its units (matched by register base), which the table does not carry. */
  dmarUnits: z
    .array(
      z.strictObject({
        base: hex,
        passThrough: z.boolean().optional(),
        translationPreEnabled: z.boolean().optional(),
        ...VtdRegisters,
      }),
    )
    .optional(),
  ivrs: IvrsSchema.optional(),
  devices: z.array(PlatformDeviceSchema).default([]),
  drivers: z.array(DriverSchema).default([]),
  /**
   * Stock drivers for the devices no listed driver takes: "all" a stock kernel drives, "none", or
   * the named devices ("0000:01:00.0", "ff3d0000.iommu"). Absent: only the listed drivers.
   */
  bind: z.union([z.enum(['all', 'none']), z.array(z.string().min(1))]).optional(),
});

export type PlatformDesc = z.output<typeof PlatformSchema>;
export type PlatformInput = z.input<typeof PlatformSchema>;
export type OfNodeDesc = z.output<typeof OfNodeSchema>;
