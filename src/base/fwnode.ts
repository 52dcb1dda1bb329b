// SPDX-License-Identifier: GPL-2.0-only
/**
 * Firmware nodes (include/linux/fwnode.h): the handle a device and an IOMMU
 * instance are matched by. Three kinds matter to the IOMMU core:
 *  - 'of'     a device-tree node (drivers/of), static for the life of the model;
 *  - 'acpi'   an ACPI namespace device (the companion), or an IORT/VIOT-made fwnode;
 *  - 'swnode' a software node (drivers/base/swnode.c), allocated and refcounted.
 * The reference count is modelled because the fwspec holds one
 * (fwnode_handle_get() in iommu_fwspec_init()) and dev_iommu_free() drops it.
 */
import type { Allocation } from '../kernel/alloc.js';

export type FwnodeKind = 'of' | 'acpi' | 'swnode';

export interface FwnodeProperty {
  readonly name: string;
  readonly value: readonly number[] | string | boolean;
}

export class Fwnode {
  refcount = 1;
  /** For software nodes: the allocation behind fwnode_create_software_node(). */
  mem: Allocation | null = null;
  /** Set once fwnode_remove_software_node() dropped the creator's reference. */
  removed = false;
  readonly properties = new Map<string, FwnodeProperty['value']>();
  /**
   * An ACPI fwnode no ACPI device stands behind (acpi_alloc_fwnode_static():
   * what IORT gives an SMMU, VIOT a virtio-iommu): has_acpi_companion() is
   * false for a device that has it.
   */
  acpiStatic = false;
  /** Device-tree structure (OF nodes only). */
  parent: Fwnode | null = null;
  readonly children: Fwnode[] = [];

  constructor(
    readonly kind: FwnodeKind,
    /** Full path for OF ("/soc/iommu@1000"), ACPI path ("\\_SB.PCI0"), or swnode name. */
    readonly name: string,
  ) {}

  toString(): string {
    return this.name;
  }
}

/** is_of_node() etc. */
export function is_of_node(f: Fwnode | null | undefined): boolean {
  return f?.kind === 'of';
}
export function is_acpi_device_node(f: Fwnode | null | undefined): boolean {
  return f?.kind === 'acpi';
}
export function is_software_node(f: Fwnode | null | undefined): boolean {
  return f?.kind === 'swnode';
}

/** device_property_read_u32() on a node: the first cell, or undefined. */
export function fwnode_property_read_u32(f: Fwnode | null, name: string): number | undefined {
  const v = f?.properties.get(name);
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}
