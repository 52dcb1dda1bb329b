// SPDX-License-Identifier: GPL-2.0-only
/**
 * drivers/iommu/rockchip-iommu.c's map/unmap rules (Linux 6.12) over the
 * shared engine: rk_iommu_map() with rk_dte_get_page_table() and
 * rk_iommu_map_iova(), rk_iommu_unmap() with rk_iommu_unmap_iova(), and
 * rk_iommu_iova_to_phys(). The descriptors are formats/rockchip.ts. Depth 0
 * is the directory table, depth 1 the page tables.
 *
 * Where these rules differ from io-pgtable-arm's (engine.ts):
 * - One call maps or unmaps one page of pgsize (4 KiB to 4 MiB) as that many
 *   4 KiB entries of one page table; pgcount is ignored, so *mapped is pgsize
 *   and the core calls again for the rest.
 * - An entry already valid in the way of a map is -EADDRINUSE, not -EEXIST,
 *   without a WARN: the entries this call wrote are invalidated again (their
 *   valid bit cleared) and a pr_err() names the conflict.
 * - Unmapping only clears the valid bit: address and flags stay in the entry.
 *   It stops at the first entry that is not valid and returns what it
 *   cleared; a DTE that is not valid unmaps nothing (0). Page tables are
 *   never freed before the domain is.
 * - The IOVA is 32 bits: its bits above 31 are dropped from the indexes (no
 *   range check, no WARN); output address bits the variant cannot hold are
 *   dropped too.
 * - No prot check: a map without IOMMU_READ or IOMMU_WRITE writes a valid
 *   entry that allows nothing.
 * Like the engine, sizes outside pgsize_bitmap and unaligned addresses (which
 * __iommu_map()/__iommu_unmap() never pass; the kernel does not check) are
 * refused without a WARN. The IOTLB zaps (rk_iommu_zap_iova()) are the
 * driver's: they depend on the instances attached to the domain.
 */
import { EADDRINUSE, EINVAL, ENOMEM } from '../../kernel/errno.js';
import type { IoPgtable, MappedOut } from '../engine.js';
import type { RkLayout, RkOps } from '../formats/rockchip.js';
import {
  NUM_PT_ENTRIES,
  SPAGE_SIZE,
  rkDtePtAddress,
  rkDtePtAddressV2,
  rkIovaDteIndex,
  rkIovaPageOffset,
  rkIovaPteIndex,
  rkMkPteInvalid,
  rkOps,
  RK_DTE_PT_VALID,
  RK_PTE_PAGE_VALID,
} from '../formats/rockchip.js';
import type { PgtableRules } from './rules.js';

const opsOf = (e: IoPgtable): RkOps => rkOps[(e.f.layout as RkLayout).rkVariant];

/** %pad / %pa on arm64: "0x" and 16 hex digits. */
const pad64 = (v: number): string => `0x${v.toString(16).padStart(16, '0')}`;

/** The pr_err() lines a table's last map printed, until the caller takes them. */
const printed = new WeakMap<IoPgtable, string[]>();

/** The kernel log lines (pr_err()) the last map_pages printed, taken once. */
export function rkTakePrinted(e: IoPgtable): string[] {
  const lines = printed.get(e) ?? [];
  printed.delete(e);
  return lines;
}

/** rk_dte_get_page_table(): the page table under the IOVA's DTE, allocated if the DTE is not valid. */
function dteGetPageTable(e: IoPgtable, iova: number): Int32Array | number {
  const idx = rkIovaDteIndex(iova);
  let dte = e.pgd[idx] >>> 0;
  if (!(dte & RK_DTE_PT_VALID)) {
    // iommu_alloc_page(GFP_ATOMIC | rk_ops->gfp_flags); the DMA mapping cannot fail here.
    const phys = e.allocTable(1);
    if (phys < 0) return -ENOMEM;
    dte = opsOf(e).mk_dtentries(phys);
    e.pgd[idx] = dte | 0;
  }
  const t = e.tableAt(dte | 0, 0);
  if (t === undefined) {
    e.warn('rk_dte_get_page_table', 'a valid DTE whose page table is not in table memory');
    return -EINVAL;
  }
  return t;
}

const validSize = (e: IoPgtable, size: number): boolean => e.f.layout.pgsizes.includes(size);

/** rk_iommu_map() of arg[0] (iova), arg[1] (paddr), arg[2] (pgsize); pgcount is ignored. */
function map(e: IoPgtable, _pgcount: number, prot: number, out: MappedOut): number {
  const a = e.arg;
  const iova = a[0];
  let paddr = a[1];
  const size = a[2];
  if (!Number.isInteger(iova) || !Number.isInteger(paddr) || iova < 0 || paddr < 0) return -EINVAL;
  if (!validSize(e, size) || iova % size !== 0 || paddr % size !== 0) return -EINVAL;
  const pt = dteGetPageTable(e, iova);
  if (typeof pt === 'number') return pt;
  const ops = opsOf(e);
  const first = rkIovaPteIndex(iova);
  const total = size / SPAGE_SIZE;
  // rk_iommu_map_iova()
  let count = 0;
  for (; count < total; count++) {
    const pte = pt[first + count] >>> 0;
    if (pte & RK_PTE_PAGE_VALID) break;
    pt[first + count] = ops.mk_ptentries(paddr, prot) | 0;
    paddr += SPAGE_SIZE;
  }
  if (count === total) {
    out.mapped += size;
    return 0;
  }
  // unwind: invalidate what this call wrote, and say which entry was in the way.
  for (let i = 0; i < count; i++) pt[first + i] = rkMkPteInvalid(pt[first + i] >>> 0) | 0;
  const at = iova + count * SPAGE_SIZE;
  const pagePhys = ops.pt_address(pt[first + count] >>> 0);
  printed.set(e, [
    `iova: ${pad64(at)} already mapped to ${pad64(pagePhys)} cannot remap to phys: ${pad64(paddr)} prot: 0x${prot.toString(16)}`,
  ]);
  return -EADDRINUSE;
}

/** rk_iommu_unmap() of arg[0] (iova) and arg[1] (pgsize): the bytes cleared into arg[2]. */
function unmap(e: IoPgtable, _pgcount: number): void {
  const a = e.arg;
  const iova = a[0];
  const size = a[1];
  a[2] = 0;
  if (!Number.isInteger(iova) || iova < 0) return;
  if (!validSize(e, size) || iova % size !== 0) return;
  const dte = e.pgd[rkIovaDteIndex(iova)];
  // Just return 0 if iova is unmapped
  if (!(dte & RK_DTE_PT_VALID)) return;
  const pt = e.tableAt(dte, 0);
  if (pt === undefined) return;
  // rk_iommu_unmap_iova(): clear the valid bits up to the first entry that has none.
  const first = rkIovaPteIndex(iova);
  const total = Math.min(size / SPAGE_SIZE, NUM_PT_ENTRIES - first);
  let count = 0;
  for (; count < total; count++) {
    const pte = pt[first + count] >>> 0;
    if (!(pte & RK_PTE_PAGE_VALID)) break;
    pt[first + count] = rkMkPteInvalid(pte) | 0;
  }
  a[2] = count * SPAGE_SIZE;
}

/** rk_iommu_iova_to_phys() of arg[0] into arg[1]. */
function iovaToPhys(e: IoPgtable): void {
  const a = e.arg;
  let iova = a[0];
  a[1] = 0;
  if (!Number.isInteger(iova)) return;
  if (iova < 0 || iova >= 2 ** 53) iova = Number(BigInt.asUintN(32, BigInt(iova)));
  const dte = e.pgd[rkIovaDteIndex(iova)];
  if (!(dte & RK_DTE_PT_VALID)) return;
  const pt = e.tableAt(dte, 0);
  if (pt === undefined) return;
  const pte = pt[rkIovaPteIndex(iova)] >>> 0;
  if (!(pte & RK_PTE_PAGE_VALID)) return;
  // rk_ops->pt_address(), called directly: through the ops object V8 may not inline it, and a
  // call returning an address of 2^30 or more boxes it.
  const v2 = (e.f.layout as RkLayout).rkVariant === 'v2';
  a[1] = (v2 ? rkDtePtAddressV2(pte) : rkDtePtAddress(pte)) + rkIovaPageOffset(iova);
}

export const rockchipIommuRules: PgtableRules = { map, unmap, iovaToPhys };
