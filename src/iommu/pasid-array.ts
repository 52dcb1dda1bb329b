// SPDX-License-Identifier: GPL-2.0-only
/**
 * group->pasid_array: the xarray of what is attached at each PASID of a
 * group (IOMMU_NO_PASID for the RID when iommufd attaches), the domain and
 * the attach handle stored with it (iommu_attach_handle_get() finds both).
 *
 * Like an empty xarray, an empty one costs nothing: the map behind it is
 * made at the first store. Every group of a platform has one, and almost
 * none of them is ever used.
 */
import type { IommuDomain } from './domain.js';

interface PasidEntry {
  readonly domain: IommuDomain;
  readonly handle: unknown;
}

export class PasidArray {
  private entries: Map<number, PasidEntry> | null = null;

  /** How many PASIDs hold something (0: xa_empty()). */
  get size(): number {
    return this.entries?.size ?? 0;
  }

  has(pasid: number): boolean {
    return this.entries?.has(pasid) ?? false;
  }

  /** The domain stored at `pasid` (xa_load()). */
  get(pasid: number): IommuDomain | undefined {
    return this.entries?.get(pasid)?.domain;
  }

  /** The domain and its handle stored at `pasid`, or null. */
  entry(pasid: number): PasidEntry | null {
    return this.entries?.get(pasid) ?? null;
  }

  /** xa_store(): replaces what was there. */
  set(pasid: number, domain: IommuDomain, handle: unknown): void {
    (this.entries ??= new Map()).set(pasid, { domain, handle });
  }

  /** xa_erase() */
  delete(pasid: number): void {
    this.entries?.delete(pasid);
  }
}
