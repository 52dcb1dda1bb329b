// SPDX-License-Identifier: GPL-2.0-only
/**
 * VT-d cache invalidation as 6.12 issues it: drivers/iommu/intel/cache.c
 * (cache tags, calculate_psi_aligned_address(), cache_tag_flush_range(),
 * cache_tag_flush_all(), cache_tag_flush_range_np(), the qi_batch), and the
 * iommu->flush callbacks and iommu_flush_write_buffer() of iommu.c/dmar.c.
 *
 * A paging domain has one cache tag per (unit, domain ID) it is attached
 * through (cache_tag_assign_domain() at attach, refcounted by users); an
 * invalidation walks the tags and batches one descriptor per tag, submitted
 * per unit with qi_submit_sync(), which appends a wait descriptor. A domain
 * attached nowhere has no tags, so its flushes send nothing.
 *
 * What a descriptor does, in the model's IOTLB (src/iommu/iotlb.ts) of the
 * unit: a page-selective invalidation (PSI) with address mask am drops the
 * 2^am pages at its aligned address, one command; a domain-selective one
 * (DSI) drops the whole domain, one command; a context-cache invalidation is
 * one command that the IOTLB model has nothing cached for. Each
 * qi_submit_sync() is one sync. Units without queued invalidation flush
 * through registers, one wait each. The kinds are also counted on the unit
 * (IntelIommu.inv). Device-TLB (ATS) tags are not modelled: QEMU's
 * intel-iommu has no device-iotlb by default (ECAP.DT clear), so no device
 * gets one.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { Allocation } from '../../kernel/alloc.js';
import type { Device } from '../../base/device.js';
import type { IommuDomain } from '../../iommu/domain.js';
import type { DmarDomain } from './domain.js';
import type { IntelIommu, QiDesc } from './state.js';
import { ENOMEM } from '../../kernel/errno.js';
import {
  QI_MAX_BATCHED_DESC_COUNT,
  cap_caching_mode,
  cap_max_amask_val,
  cap_pgsel_inv,
  cap_rwbf,
} from './hw.js';
import { MAX_AGAW_PFN_WIDTH } from './hw.js';
import { devInfo } from './state.js';

/** IOMMU_NO_PASID */
export const IOMMU_NO_PASID = 0;

/** struct cache_tag (CACHE_TAG_IOTLB only: see the file header). */
export interface CacheTag {
  readonly unit: IntelIommu;
  readonly did: number;
  readonly pasid: number;
  users: number;
  readonly mem: Allocation;
}

/** struct qi_batch */
export interface QiBatch {
  readonly mem: Allocation;
  descs: QiDesc[];
}

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);
/** ULONG_MAX: "every page" in cache_tag_flush_all()'s pages argument. */
export const ULONG_MAX = (1n << 64n) - 1n;

/** aligned_nrpages(): the 4K pages [host_addr, host_addr + size) touches. */
function aligned_nrpages(host: bigint, size: bigint): bigint {
  return U64(U64((host & 0xfffn) + size + 0xfffn) & ~0xfffn) >> 12n;
}

/** __roundup_pow_of_two() */
function roundupPow2(n: bigint): bigint {
  let p = 1n;
  while (p < n) p <<= 1n;
  return p;
}

const ilog2 = (n: bigint): number => n.toString(2).length - 1;

/** __ffs() of a nonzero 64-bit value. */
function ffs64(v: bigint): number {
  let n = 0;
  while (!((v >> BigInt(n)) & 1n)) n++;
  return n;
}

/**
 * calculate_psi_aligned_address(): a PSI covers a naturally aligned power of
 * two of pages; when the range is not aligned to its own rounded size, the
 * mask grows until one aligned block holds both ends. start and end are
 * inclusive byte addresses (unsigned long).
 */
export function calculate_psi_aligned_address(
  start: bigint,
  end: bigint,
): { addr: bigint; pages: bigint; mask: number } {
  const pages = aligned_nrpages(start, U64(end - start + 1n));
  let aligned = roundupPow2(pages);
  const bitmask = aligned - 1n;
  let mask = ilog2(aligned);
  const pfn = start >> 12n;
  if (bitmask & pfn) {
    const endPfn = U64(pfn + pages - 1n);
    const shared = U64(~(pfn ^ endPfn)) & U64(~bitmask);
    mask = shared ? ffs64(shared) : MAX_AGAW_PFN_WIDTH;
    aligned = 1n << BigInt(mask);
  }
  const align = U64(4096n << BigInt(mask));
  return { addr: start & U64(~U64(align - 1n)), pages: aligned, mask };
}

/** The model's domain a domain ID stands for on a unit (its "no domain" when none). */
function didDomain(unit: IntelIommu, did: number): IommuDomain {
  return unit.did_domains.get(did) ?? unit.iommu.noDomain;
}

/** One descriptor's effect on the unit's IOTLB model and counts. */
function apply(unit: IntelIommu, d: QiDesc): void {
  const tlb = unit.iommu.iotlb;
  switch (d.type) {
    case 'iotlb':
      if (d.gran === 'psi') {
        const start = Number(d.addr);
        tlb.invalidateRange(didDomain(unit, d.did), start, start + 4096 * 2 ** d.am - 1, 4096, 1);
        unit.inv.psi++;
      } else {
        tlb.invalidateAll(didDomain(unit, d.did));
        unit.inv.dsi++;
      }
      return;
    case 'piotlb':
      if (d.npages === ULONG_MAX) tlb.invalidateAll(didDomain(unit, d.did));
      else {
        const start = Number(d.addr);
        const span = 4096 * Number(roundupPow2(d.npages));
        tlb.invalidateRange(didDomain(unit, d.did), start, start + span - 1, 4096, 1);
      }
      unit.inv.piotlb++;
      return;
    case 'cc':
      // A context-cache invalidation: a command, nothing the IOTLB model caches.
      tlb.commands++;
      unit.inv.cc++;
      return;
  }
}

/** qi_submit_sync(): the descriptors, then a wait descriptor the CPU polls. */
export function qi_submit_sync(unit: IntelIommu, descs: readonly QiDesc[]): void {
  for (const d of descs) apply(unit, d);
  unit.iommu.iotlb.sync();
  unit.inv.waits++;
  unit.inv.last = [...descs];
}

/** iommu->flush.flush_context(): device-selective context-cache invalidation. */
export function flush_context(unit: IntelIommu, did: number, sid: number): void {
  // qi_flush_context() or __iommu_flush_context(): either way one invalidation, waited for.
  qi_submit_sync(unit, [{ type: 'cc', did, sid }]);
}

/** iommu->flush.flush_iotlb() with DMA_TLB_DSI_FLUSH. */
export function flush_iotlb_dsi(unit: IntelIommu, did: number): void {
  qi_submit_sync(unit, [{ type: 'iotlb', gran: 'dsi', did, addr: 0n, am: 0, ih: 0 }]);
}

/**
 * iommu_flush_write_buffer(): only units that need it (CAP.RWBF; the
 * chipset quirk that forces it is not modelled).
 */
export function iommu_flush_write_buffer(unit: IntelIommu): void {
  if (!cap_rwbf(unit.regs.cap)) return;
  unit.inv.wbf++;
}

/** qi_batch_flush_descs() */
function qi_batch_flush_descs(unit: IntelIommu | null, batch: QiBatch | null): void {
  if (!unit || !batch || batch.descs.length === 0) return;
  const descs = batch.descs;
  batch.descs = [];
  qi_submit_sync(unit, descs);
}

/** qi_batch_add_*() through qi_batch_increment_index(): a full batch is submitted at once. */
function qi_batch_add(unit: IntelIommu, batch: QiBatch, d: QiDesc): void {
  batch.descs.push(d);
  if (batch.descs.length === QI_MAX_BATCHED_DESC_COUNT) qi_batch_flush_descs(unit, batch);
}

/**
 * cache_tag_flush_iotlb(): first stage, a PASID-based invalidation (npages
 * ULONG_MAX for the whole PASID, none for 0); second stage, a PSI unless
 * the unit has no PSI, the mask is above CAP.MAMV or everything goes: then
 * a DSI. Register-based units flush at once.
 */
function cache_tag_flush_iotlb(
  domain: DmarDomain,
  tag: CacheTag,
  addr: bigint,
  pages: bigint,
  mask: number,
  ih: number,
): void {
  const unit = tag.unit;
  const batch = domain.qi_batch!;
  if (domain.use_first_level) {
    if (pages === 0n) return;
    let a = addr;
    if (pages !== ULONG_MAX) {
      // qi_desc_piotlb(): the address must be aligned to the rounded-up size.
      const align = 4096n << BigInt(ilog2(roundupPow2(pages)));
      a = addr - (addr % align);
    }
    qi_batch_add(unit, batch, { type: 'piotlb', did: tag.did, pasid: tag.pasid, addr: a, npages: pages, ih });
    return;
  }
  let d: QiDesc = { type: 'iotlb', gran: 'psi', did: tag.did, addr, am: mask, ih };
  if (!cap_pgsel_inv(unit.regs.cap) || mask > cap_max_amask_val(unit.regs.cap) || pages === ULONG_MAX)
    d = { type: 'iotlb', gran: 'dsi', did: tag.did, addr: 0n, am: 0, ih: 0 };
  if (unit.qi) qi_batch_add(unit, batch, d);
  else qi_submit_sync(unit, [d]); // __iommu_flush_iotlb(): the register write, polled until done
}

/** The walk every cache_tag_flush_*() shares: a batch per unit, submitted when the unit changes and at the end. */
function forEachTag(domain: DmarDomain, fn: (tag: CacheTag) => void): void {
  let unit: IntelIommu | null = null;
  for (const tag of domain.cache_tags) {
    if (unit && unit !== tag.unit) qi_batch_flush_descs(unit, domain.qi_batch);
    unit = tag.unit;
    fn(tag);
  }
  qi_batch_flush_descs(unit, domain.qi_batch);
}

/** cache_tag_flush_range(): [start, end] (inclusive) changed in the domain's tables; ih: no table was freed. */
export function cache_tag_flush_range(domain: DmarDomain, start: bigint, end: bigint, ih: number): void {
  const { addr, pages, mask } = calculate_psi_aligned_address(start, end);
  forEachTag(domain, (tag) => cache_tag_flush_iotlb(domain, tag, addr, pages, mask, ih));
}

/** cache_tag_flush_all(): everything the domain's tags may cache. */
export function cache_tag_flush_all(domain: DmarDomain): void {
  forEachTag(domain, (tag) => cache_tag_flush_iotlb(domain, tag, 0n, ULONG_MAX, 0, 0));
}

/**
 * cache_tag_flush_range_np(): new mappings in [start, end]. Only units in
 * caching mode cache non-present entries (second stage); the others need at
 * most a write-buffer flush.
 */
export function cache_tag_flush_range_np(domain: DmarDomain, start: bigint, end: bigint): void {
  const { addr, pages, mask } = calculate_psi_aligned_address(start, end);
  forEachTag(domain, (tag) => {
    if (!cap_caching_mode(tag.unit.regs.cap) || domain.use_first_level) {
      iommu_flush_write_buffer(tag.unit);
      return;
    }
    cache_tag_flush_iotlb(domain, tag, addr, pages, mask, 0);
  });
}

/** domain_qi_batch_alloc(): once per domain, freed with it. */
function domain_qi_batch_alloc(k: Kernel, domain: DmarDomain): number {
  if (domain.qi_batch) return 0;
  const mem = k.alloc.alloc('qi_batch', domain.label, 'domain_qi_batch_alloc');
  if (!mem) return -ENOMEM;
  domain.qi_batch = { mem, descs: [] };
  return 0;
}

/** cache_tag_assign(): a new tag, or one more user of the matching one (the new one freed again). */
function cache_tag_assign(k: Kernel, domain: DmarDomain, did: number, dev: Device, pasid: number): number {
  const unit = devInfo(dev)!.unit;
  const mem = k.alloc.alloc('cache_tag', domain.label, 'cache_tag_assign');
  if (!mem) return -ENOMEM;
  const match = domain.cache_tags.find((t) => t.did === did && t.pasid === pasid && t.unit === unit);
  if (match) {
    match.users++;
    k.alloc.free(mem, 'cache_tag_assign');
    return 0;
  }
  domain.cache_tags.push({ unit, did, pasid, users: 1, mem });
  return 0;
}

/** cache_tag_unassign() */
function cache_tag_unassign(k: Kernel, domain: DmarDomain, did: number, dev: Device, pasid: number): void {
  const unit = devInfo(dev)!.unit;
  const i = domain.cache_tags.findIndex((t) => t.did === did && t.pasid === pasid && t.unit === unit);
  if (i < 0) return;
  const tag = domain.cache_tags[i];
  if (--tag.users === 0) {
    domain.cache_tags.splice(i, 1);
    k.alloc.free(tag.mem, 'cache_tag_unassign');
  }
}

/** cache_tag_assign_domain(): the device's unit and the domain's ID there now cache this domain. */
export function cache_tag_assign_domain(k: Kernel, domain: DmarDomain, did: number, dev: Device): number {
  const ret = domain_qi_batch_alloc(k, domain);
  if (ret) return ret;
  return cache_tag_assign(k, domain, did, dev, IOMMU_NO_PASID);
}

/** cache_tag_unassign_domain() */
export function cache_tag_unassign_domain(k: Kernel, domain: DmarDomain, did: number, dev: Device): void {
  cache_tag_unassign(k, domain, did, dev, IOMMU_NO_PASID);
}
