// SPDX-License-Identifier: GPL-2.0-only
/**
 * The iommufd selftest's mock domain (drivers/iommu/iommufd/selftest.c,
 * Linux 6.12): no page table at all, but an xarray of pfns indexed by
 * IOVA / MOCK_IO_PAGE_SIZE (half a CPU page: 2K on a 4K kernel), each entry a
 * value entry holding pfn | MOCK_PFN_* flags. The model keeps the xarray as
 * what it is, a radix tree of 64-slot nodes in table memory with the
 * xarray's own entry encoding: a value entry is (v << 1) | 1, an internal
 * node pointer is node | 2 (xa_mk_value(), xa_mk_node()). The tree grows a
 * level on top when an index needs it and drops nodes that become empty, as
 * xas_expand() and xas_delete_node() do; it never shrinks its height (the
 * kernel's xas_shrink() does, which nothing outside the xarray sees).
 *
 * Flags (in v): MOCK_PFN_START_IOVA and MOCK_PFN_LAST_IOVA are the same bit
 * (53), set on the first and the last entry a map_pages call stores;
 * MOCK_PFN_DIRTY_IOVA (54) is the selftest's "hardware" dirty bit;
 * MOCK_PFN_HUGE_IOVA (55) marks entries stored for a page size above 2K.
 * The domain's pgsize_bitmap is 2K, with 1M (MOCK_HUGE_PAGE_SIZE) for a
 * MOCK_FLAGS_DEVICE_HUGE_IOVA device. The algorithm is rules/iommufd-mock.ts.
 */
import type { DecodedEntry, FormatAllocResult, LevelLayout, PgtableCfgInput } from '../format.js';
import { GENMASK, bitmapSizes } from '../format.js';

export const MOCK_IO_PAGE_SIZE = 2048;
export const MOCK_HUGE_PAGE_SIZE = 512 * MOCK_IO_PAGE_SIZE;
/** MOCK_PFN_MASK = ULONG_MAX / MOCK_IO_PAGE_SIZE: pfn bits 0..52 of the value. */
export const MOCK_PFN_BITS = 53;
export const MOCK_PFN_START_IOVA = 1n << 53n;
export const MOCK_PFN_LAST_IOVA = MOCK_PFN_START_IOVA;
export const MOCK_PFN_DIRTY_IOVA = 1n << 54n;
export const MOCK_PFN_HUGE_IOVA = 1n << 55n;
/** MOCK_APERTURE_START / _LAST (iommufd_test.h): the domain geometry iommufd keeps IOVAs in. */
export const MOCK_APERTURE_START = 1 << 24;
export const MOCK_APERTURE_LAST = 2 ** 31 - 1;

/** XA_CHUNK_SHIFT: 64 slots per node. */
export const XA_CHUNK_SHIFT = 6;
/** Nodes from the root to a leaf for indexes below 2^53 / 2K: 7 levels of 6 bits. */
const XA_LEVELS = 7;

/** The value v of an entry (xa_to_value()), and the PTE (entry) of a value. */
export const xaToValue = (entry: bigint): bigint => entry >> 1n;
export const xaMkValue = (v: bigint): bigint => (v << 1n) | 1n;

const PFN_MASK = (1n << BigInt(MOCK_PFN_BITS)) - 1n;
const FLAGS = MOCK_PFN_START_IOVA | MOCK_PFN_DIRTY_IOVA | MOCK_PFN_HUGE_IOVA;

function decode(depth: number, pte: bigint): DecodedEntry {
  if (pte === 0n) return { kind: 'empty', oa: 0, size: 0, attrs: 0n, name: 'empty' };
  const size = 2 ** (11 + XA_CHUNK_SHIFT * (XA_LEVELS - 1 - depth));
  if ((pte & 3n) === 2n) return { kind: 'table', oa: Number(pte & ~3n), size, attrs: 0n, name: 'node' };
  if (!(pte & 1n) || depth !== XA_LEVELS - 1)
    return { kind: 'invalid', oa: 0, size, attrs: 0n, name: 'invalid' };
  const v = xaToValue(pte);
  return {
    kind: 'leaf',
    oa: Number(v & PFN_MASK) * MOCK_IO_PAGE_SIZE,
    size: MOCK_IO_PAGE_SIZE,
    attrs: v & FLAGS,
    name: 'value entry',
  };
}

/** mock_domain_alloc_paging(): the xarray and the domain's pgsize_bitmap. */
export function iommufdMockAlloc(
  input: PgtableCfgInput,
  defaults: { pgsize_bitmap: bigint },
): FormatAllocResult | { reason: string } {
  const bitmap = input.pgsize_bitmap === undefined ? defaults.pgsize_bitmap : BigInt(input.pgsize_bitmap);
  if (input.quirks) return { reason: 'the mock domain takes no quirks' };
  const allowed = BigInt(MOCK_IO_PAGE_SIZE) | BigInt(MOCK_HUGE_PAGE_SIZE);
  if (!(bitmap & BigInt(MOCK_IO_PAGE_SIZE)) || bitmap & ~allowed)
    return {
      reason:
        'the mock domain has MOCK_IO_PAGE_SIZE, and MOCK_HUGE_PAGE_SIZE with MOCK_FLAGS_DEVICE_HUGE_IOVA',
    };
  const levels: LevelLayout[] = [];
  for (let d = 0; d < XA_LEVELS; d++) {
    const last = d === XA_LEVELS - 1;
    levels.push({
      level: XA_LEVELS - 1 - d,
      shift: 11 + XA_CHUNK_SHIFT * (XA_LEVELS - 1 - d),
      indexBits: XA_CHUNK_SHIFT,
      tableBytes: 8 << XA_CHUNK_SHIFT,
      entriesPerPage: 1 << XA_CHUNK_SHIFT,
      leafSize: last,
      leafName: 'value entry',
      leafBits: 1n,
      // xa_is_node(): bits [1:0] == 2; xa_is_value(): bit 0; only the bottom nodes hold values here.
      kinds: last ? ['invalid', 'leaf', 'invalid', 'leaf'] : ['invalid', 'invalid', 'table', 'invalid'],
      contiguous: 0,
    });
  }
  return {
    layout: {
      fmt: 'IOMMUFD_MOCK',
      granule: MOCK_IO_PAGE_SIZE,
      pteBytes: 8,
      rules: 'iommufd-mock',
      ias: 53,
      oas: 53,
      quirks: 0,
      pgsizes: bitmapSizes(bitmap),
      levels,
      // An empty xarray with one node: indexes 0..63 (xas_expand() adds levels above it).
      topDepth: XA_LEVELS - 1,
      typeField: { lsb: 0, width: 2 },
      present: (1n << 64n) - 1n,
      tableBits: 2n,
      oa: { direct: GENMASK(52, 2), moved: [] },
      attrMask: FLAGS << 1n,
      prot: [],
      dirty: {
        mask: MOCK_PFN_DIRTY_IOVA << 1n,
        value: MOCK_PFN_DIRTY_IOVA << 1n,
        cleanSet: 0n,
        cleanClear: MOCK_PFN_DIRTY_IOVA << 1n,
      },
      fields: [
        { name: 'START/LAST', lsb: 54, width: 1, on: 'leaf' },
        { name: 'DIRTY', lsb: 55, width: 1, on: 'leaf' },
        { name: 'HUGE', lsb: 56, width: 1, on: 'leaf' },
      ],
      decode,
      // The mock keeps no protection: a leaf's bits are its position's flags (the oracle knows them).
      leafAttrs: () => 0n,
    },
    regs: { aperture_start: MOCK_APERTURE_START, aperture_last: MOCK_APERTURE_LAST },
    coherent_walk: true,
  };
}
