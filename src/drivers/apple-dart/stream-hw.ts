// SPDX-License-Identifier: GPL-2.0-only
/**
 * What apple-dart.c (Linux 6.12) programs per stream, and its TLB
 * invalidations: apple_dart_hw_enable_translation(), _disable_dma(),
 * _enable_bypass(), _set_ttbr(), _clear_ttbr(), _clear_all_ttbrs(),
 * apple_dart_t8020_hw_invalidate_tlb() / apple_dart_t8110_hw_invalidate_tlb(),
 * apple_dart_hw_reset() and apple_dart_domain_flush_tlb().
 *
 * A stream's TCR is kept as what the driver made of it (translate, bypass,
 * or DMA disabled) and its TTBRs as the values written, one flat array of
 * num_streams * ttbr_count registers as DART_TTBR() addresses them; nothing
 * else of the register file is modelled. The translation itself is the
 * domain's page table (src/iommu/translate.ts); the TTBRs only tell the
 * fault handler's "NO TTBR" apart.
 *
 * Invalidation counts, on the DART's Iotlb: a T8020/T6000 stream command
 * (STREAM_SELECT = the whole sidmap, then INVALIDATE, then a poll of the
 * busy bit) is one command and one wait for any number of streams; a T8110
 * sends one TLB_CMD FLUSH_SID per stream, each polled.
 */
import type { Device } from '../../base/device.js';
import type { IommuDevice } from '../../iommu/iommu-device.js';
import type { IommuDomain } from '../../iommu/domain.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { AppleDartHw } from './hw.js';

/** What TCR says for a stream. */
export type DartTcr = 'disabled' | 'translate' | 'bypass';

/** The parts of struct apple_dart the stream programming reads. */
export interface DartStreamHw {
  readonly dev: Device;
  readonly hw: AppleDartHw;
  readonly num_streams: number;
  readonly supports_bypass: boolean;
  readonly iommu: IommuDevice;
  /** TCR per stream. */
  readonly tcr: DartTcr[];
  /** The TTBR registers, DART_TTBR(dart, sid, idx) = [sid * ttbr_count + idx]. */
  readonly ttbrRegs: number[];
}

/** struct apple_dart_stream_map: a DART and a bitmap of its streams. */
export interface DartStreamMap {
  readonly dart: DartStreamHw;
  readonly sidmap: Uint8Array;
}

/** for_each_set_bit(sid, stream_map->sidmap, dart->num_streams) */
export function streamSids(map: DartStreamMap): number[] {
  const sids: number[] = [];
  for (let sid = 0; sid < map.dart.num_streams; sid++) if (map.sidmap[sid]) sids.push(sid);
  return sids;
}

/** apple_dart_hw_enable_translation() */
export function apple_dart_hw_enable_translation(map: DartStreamMap): void {
  for (const sid of streamSids(map)) map.dart.tcr[sid] = 'translate';
}

/** apple_dart_hw_disable_dma() */
export function apple_dart_hw_disable_dma(map: DartStreamMap): void {
  for (const sid of streamSids(map)) map.dart.tcr[sid] = 'disabled';
}

/** apple_dart_hw_enable_bypass(): tcr_bypass, which is 0 (DMA disabled) on the USB4 DART. */
export function apple_dart_hw_enable_bypass(k: Kernel, map: DartStreamMap): void {
  k.printk.warn(
    !map.dart.supports_bypass,
    'apple_dart_hw_enable_bypass',
    'WARN_ON(!stream_map->dart->supports_bypass)',
    map.dart.dev.name,
  );
  for (const sid of streamSids(map)) map.dart.tcr[sid] = map.dart.hw.tcr_bypass ? 'bypass' : 'disabled';
}

/** DART_TTBR(dart, sid, idx) as an index into ttbrRegs (past the last stream: no register). */
const ttbrIndex = (dart: DartStreamHw, sid: number, idx: number): number =>
  dart.hw.ttbr.ttbr_count * sid + idx;

/** apple_dart_hw_set_ttbr(): valid | (paddr >> ttbr_shift) << ttbr_addr_field_shift, in each stream's register idx. */
export function apple_dart_hw_set_ttbr(k: Kernel, map: DartStreamMap, idx: number, paddr: number): void {
  const enc = map.dart.hw.ttbr;
  k.printk.warn(
    paddr % 2 ** enc.ttbr_shift !== 0,
    'apple_dart_hw_set_ttbr',
    `WARN_ON(paddr & ((1 << dart->hw->ttbr_shift) - 1)): 0x${paddr.toString(16)}`,
    map.dart.dev.name,
  );
  const value =
    (enc.ttbr_valid | ((Math.floor(paddr / 2 ** enc.ttbr_shift) << enc.ttbr_addr_field_shift) >>> 0)) >>> 0;
  for (const sid of streamSids(map)) {
    const r = ttbrIndex(map.dart, sid, idx);
    if (r < map.dart.ttbrRegs.length) map.dart.ttbrRegs[r] = value;
  }
}

/** apple_dart_hw_clear_ttbr() */
export function apple_dart_hw_clear_ttbr(map: DartStreamMap, idx: number): void {
  for (const sid of streamSids(map)) {
    const r = ttbrIndex(map.dart, sid, idx);
    if (r < map.dart.ttbrRegs.length) map.dart.ttbrRegs[r] = 0;
  }
}

/** apple_dart_hw_clear_all_ttbrs() */
export function apple_dart_hw_clear_all_ttbrs(map: DartStreamMap): void {
  for (let i = 0; i < map.dart.hw.ttbr.ttbr_count; i++) apple_dart_hw_clear_ttbr(map, i);
}

/** One invalidation command on the DART (whatever it held for `domain` goes) and its poll. */
function invalidationCommand(dart: DartStreamHw, domain: IommuDomain | null): void {
  const tlb = dart.iommu.iotlb;
  if (domain) tlb.invalidateAll(domain);
  // No domain (apple_dart_hw_reset()): the command is sent all the same.
  else tlb.commands++;
  tlb.sync();
}

/**
 * hw->invalidate_tlb(stream_map): apple_dart_t8020_hw_stream_command() or
 * apple_dart_t8110_hw_tlb_command(); `domain` is the domain whose
 * translations the streams were using, if any.
 */
export function apple_dart_invalidate_tlb(map: DartStreamMap, domain: IommuDomain | null): void {
  if (map.dart.hw.invalidate === 'stream-command') invalidationCommand(map.dart, domain);
  else for (let n = streamSids(map).length; n > 0; n--) invalidationCommand(map.dart, domain);
}

/**
 * apple_dart_hw_reset() after the lock-down check (the model takes the
 * DART as unlocked): every stream's DMA off and TTBRs cleared, then one
 * invalidation of all streams.
 */
export function apple_dart_hw_reset(dart: DartStreamHw): number {
  const sidmap = new Uint8Array(dart.num_streams).fill(1);
  const map: DartStreamMap = { dart, sidmap };
  apple_dart_hw_disable_dma(map);
  apple_dart_hw_clear_all_ttbrs(map);
  // Streams enabled globally, pending errors cleared: registers the model does not keep.
  apple_dart_invalidate_tlb(map, null);
  return 0;
}
