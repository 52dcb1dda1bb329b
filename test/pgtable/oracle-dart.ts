// SPDX-License-Identifier: GPL-2.0-only
// What io-pgtable-dart.c (6.12) does to a table's contents, written from the
// kernel's rules: one page size (anything else WARNs), an L2 table allocated
// at the first map into its L1 entry and never freed by unmap; map refuses
// the whole run (-EEXIST, WARN) when any entry it would write is valid, and
// stops at the end of the L2 table; unmap WARNs and returns 0 without an L2
// table, and stops with a WARN at the first empty entry. The attribute bits
// are dart_prot_to_pte()'s plus what dart_init_pte() always adds (the whole
// page as subpage window, SP_DIS = bit 1, valid).
import type { PgtableLayout } from '../../src/pgtable/index.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../../src/pgtable/index.js';
import type { MapAnswer } from './oracle.js';
import { EEXIST, EINVAL, ERANGE, Oracle, RW } from './oracle.js';

export class DartOracle extends Oracle {
  /** L1 entries (TTBR index and L1 index together) that hold an L2 table. */
  private readonly l2 = new Set<number>();
  private readonly page: number;
  private readonly per: number;
  private readonly l1Span: number;
  private readonly l1Entries: number;
  private readonly dart2: boolean;
  private readonly oasLimit: number;

  constructor(layout: PgtableLayout) {
    super(layout);
    this.page = layout.granule;
    this.per = layout.granule / 8;
    this.l1Span = this.page * this.per;
    // Every TTBR's L1 table: bits_per_level + tbl_bits of index.
    const tblBits = Math.max(0, layout.ias - Math.log2(this.page) - 2 * Math.log2(this.per));
    this.l1Entries = this.per * 2 ** tblBits;
    this.dart2 = layout.fmt === 'APPLE_DART2';
    this.oasLimit = 2 ** layout.oas;
  }

  tableCount(): number {
    return 1 + this.l2.size;
  }

  private l1(iova: number): number {
    return Math.floor(iova / this.l1Span) % this.l1Entries;
  }

  /** The leaf's bits other than the address: APPLE_DART*_PTE_PROT_* from prot, then 0xfff << 40 | bit 1 | valid. */
  private attrs(prot: number): bigint {
    let a = 0n;
    if (this.dart2) {
      if (!(prot & IOMMU_WRITE)) a |= 1n << 2n;
      if (!(prot & IOMMU_READ)) a |= 1n << 3n;
      if (!(prot & IOMMU_CACHE)) a |= 1n << 1n;
    } else {
      if (!(prot & IOMMU_WRITE)) a |= 1n << 7n;
      if (!(prot & IOMMU_READ)) a |= 1n << 8n;
    }
    return a | (0xfffn << 40n) | 2n | 1n;
  }

  map(iova: number, pa: number, size: number, count: number, prot: number): MapAnswer {
    if (size !== this.page) {
      this.warns++;
      return { errno: EINVAL, mapped: 0 };
    }
    if (pa >= this.oasLimit) {
      this.warns++;
      return { errno: ERANGE, mapped: 0 };
    }
    if (!(prot & RW)) return { errno: EINVAL, mapped: 0 };
    if (iova % size || pa % size) return { errno: EINVAL, mapped: 0 };
    this.l2.add(this.l1(iova));
    const idx = Math.floor(iova / size) % this.per;
    const n = Math.min(count, this.per - idx);
    for (let i = 0; i < n; i++)
      if (this.leaves.has(iova + i * size)) {
        this.warns++;
        return { errno: EEXIST, mapped: 0 };
      }
    for (let i = 0; i < n; i++)
      this.leaves.set(iova + i * size, { size, pa: pa + i * size, prot, attrs: this.attrs(prot) });
    return { errno: 0, mapped: n * size };
  }

  unmap(iova: number, size: number, count: number): number {
    if (size !== this.page || count === 0) {
      this.warns++;
      return 0;
    }
    if (iova % size) return 0;
    if (!this.l2.has(this.l1(iova))) {
      this.warns++;
      return 0;
    }
    const idx = Math.floor(iova / size) % this.per;
    const n = Math.min(count, this.per - idx);
    let i = 0;
    for (; i < n; i++) {
      if (!this.leaves.delete(iova + i * size)) {
        this.warns++;
        break;
      }
    }
    return i * size;
  }
}
