// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommufd_ucmd (drivers/iommu/iommufd/iommufd_private.h): what a
 * command handler gets: the context, the decoded struct the user passed,
 * and how to copy results back (iommufd_ucmd_respond()).
 */
import type { IommufdCtx } from './ctx.js';
import type { Decoded } from './uapi.js';

export interface Ucmd {
  readonly ctx: IommufdCtx;
  readonly cmd: Decoded;
  /** The struct as copied in (a union member's fields are decoded from these). */
  readonly bytes: Uint8Array;
  /** iommufd_ucmd_respond(): the whole struct, min(user size, kernel size) bytes. */
  respond(): number;
  /** copy_to_user() of one field of the struct. */
  respondField(name: string): number;
}

export type Handler = (u: Ucmd) => number;

/** A command of 6.12's table (or a test op) the model does not implement yet. */
export class NotModelledError extends Error {
  constructor(command: string) {
    super(`iommufd: ${command} is not modelled yet`);
    this.name = 'NotModelledError';
  }
}

/** A u32 field as a number; a u64 field as a bigint. */
export const n32 = (v: number | bigint): number => Number(v);
export const n64 = (v: number | bigint): bigint => BigInt(v);
