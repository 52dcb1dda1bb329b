// SPDX-License-Identifier: GPL-2.0-only
/**
 * The SMMUv1/v2 stream map (drivers/iommu/arm/arm-smmu/arm-smmu.c
 * arm_smmu_find_sme(), arm_smmu_master_alloc_smes(), arm_smmu_free_sme(),
 * arm_smmu_master_free_smes()): Stream Match Registers (ID, mask) each
 * steering the streams they match to one Stream-to-Context register. A
 * master's fwspec IDs (SID in bits 15:0, mask in 31:16) each claim an entry:
 * one that already covers them entirely is shared (its use count grows),
 * one that only partly overlaps them is refused (-EINVAL, since some stream
 * would match twice), else the first free entry is taken (-ENOSPC when none
 * is left). The S2CR also remembers the group of the masters that share it,
 * which is how arm-smmu puts such masters in one group, and what it does with
 * the streams (arm_smmu_master_install_s2crs()): translate through a context
 * bank, bypass, or fault; a freed entry goes back to its initial type
 * (s2cr_init_val: fault with disable_bypass, else bypass).
 */
import type { IommuGroup } from '../../iommu/group.js';
import { EEXIST, EINVAL, ENOSPC } from '../../kernel/errno.js';

/** ARM_SMMU_SMR_ID / ARM_SMMU_SMR_MASK in a fwspec ID. */
export const smrId = (fwid: number): number => fwid & 0xffff;
export const smrMask = (fwid: number): number => (fwid >>> 16) & 0xffff;

export interface Smr {
  id: number;
  mask: number;
  valid: boolean;
}

/** enum arm_smmu_s2cr_type */
export type S2crType = 'TRANS' | 'BYPASS' | 'FAULT';

export interface S2cr {
  /** Masters' stream IDs using this entry. */
  count: number;
  type: S2crType;
  /** The context bank of a TRANS entry. */
  cbndx: number;
  /** The group of the masters behind it (arm_smmu_device_group() remembers it here). */
  group: IommuGroup | null;
}

export interface StreamMap {
  /** null: stream indexing (no SMRs), the SID is the S2CR index. */
  readonly smrs: Smr[] | null;
  readonly s2crs: S2cr[];
  /** s2cr_init_val's type: FAULT with disable_bypass (CONFIG_ARM_SMMU_DISABLE_BYPASS_BY_DEFAULT). */
  readonly initType: S2crType;
}

/** A master's entries, one per fwspec ID (INVALID_SMENDX = -1 until allocated). */
export type SmeIndices = number[];

export function newStreamMap(
  numMappingGroups: number,
  streamMatching: boolean,
  initType: S2crType = 'FAULT',
): StreamMap {
  return {
    smrs: streamMatching
      ? Array.from({ length: numMappingGroups }, () => ({ id: 0, mask: 0, valid: false }))
      : null,
    s2crs: Array.from({ length: numMappingGroups }, () => ({
      count: 0,
      type: initType,
      cbndx: 0,
      group: null,
    })),
    initType,
  };
}

/** arm_smmu_find_sme(): the entry to use for (id, mask), or -EINVAL / -ENOSPC. */
export function arm_smmu_find_sme(map: StreamMap, id: number, mask: number): number {
  const smrs = map.smrs;
  if (!smrs) return id;
  let free = -ENOSPC;
  for (let i = 0; i < smrs.length; i++) {
    const s = smrs[i];
    if (!s.valid) {
      if (free < 0) free = i;
      continue;
    }
    // Covered entirely by an existing entry: share it.
    if ((mask & s.mask) === mask && ((id ^ s.id) & ~s.mask & 0xffff) === 0) return i;
    // Any other overlap would let some stream ID match two entries.
    if (((id ^ s.id) & ~(s.mask | mask) & 0xffff) === 0) return -EINVAL;
  }
  return free;
}

/** arm_smmu_free_sme(): true when the entry fell out of use. */
function arm_smmu_free_sme(map: StreamMap, idx: number): boolean {
  const s2cr = map.s2crs[idx];
  if (--s2cr.count) return false;
  // Back to s2cr_init_val.
  s2cr.group = null;
  s2cr.type = map.initType;
  s2cr.cbndx = 0;
  if (map.smrs) map.smrs[idx].valid = false;
  return true;
}

/**
 * arm_smmu_master_alloc_smes(): an entry for each fwspec ID, all or none.
 * Returns the indices, or a negative errno with nothing held.
 */
export function arm_smmu_master_alloc_smes(map: StreamMap, ids: readonly number[]): SmeIndices | number {
  const idx: SmeIndices = ids.map(() => -1);
  for (let i = 0; i < ids.length; i++) {
    const sid = smrId(ids[i]);
    const mask = smrMask(ids[i]);
    // The same master naming one entry twice is caught by the index already being set.
    let ret = idx[i] !== -1 ? -EEXIST : arm_smmu_find_sme(map, sid, mask);
    if (ret >= 0 && ret >= map.s2crs.length) ret = -ENOSPC; // stream indexing beyond the table
    if (ret < 0) {
      for (let j = i - 1; j >= 0; j--) arm_smmu_free_sme(map, idx[j]);
      return ret;
    }
    if (map.smrs && map.s2crs[ret].count === 0) map.smrs[ret] = { id: sid, mask, valid: true };
    map.s2crs[ret].count++;
    idx[i] = ret;
  }
  return idx;
}

/** arm_smmu_master_free_smes() */
export function arm_smmu_master_free_smes(map: StreamMap, idx: SmeIndices): void {
  for (const i of idx) if (i >= 0) arm_smmu_free_sme(map, i);
}

/** arm_smmu_master_install_s2crs(): point a master's entries at a context bank, or bypass or fault them. */
export function arm_smmu_master_install_s2crs(
  map: StreamMap,
  idx: SmeIndices,
  type: S2crType,
  cbndx: number,
): void {
  for (const i of idx) {
    const s2cr = map.s2crs[i];
    s2cr.type = type;
    s2cr.cbndx = cbndx;
  }
}
