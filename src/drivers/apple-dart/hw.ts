// SPDX-License-Identifier: GPL-2.0-only
/**
 * Apple DART variants as data (drivers/iommu/apple-dart.c, Linux 6.12: struct
 * apple_dart_hw and apple_dart_of_match), and what each variant's own ID
 * registers report, which the model has no registers to read.
 *
 * The match data decides the register layout (not modelled) and, for the
 * T8020/T6000 types, the number of streams (max_sid_count). What
 * apple_dart_probe() reads from the hardware:
 *  - DART_PARAMS1 page shift: every DART Apple ships translates 16 KiB
 *    pages (shift 14). On a 4 KiB-page kernel that exceeds PAGE_SIZE, which
 *    is why the driver then forces bypass ("bypass forced: 1");
 *  - DART_PARAMS2 bypass bit: set on the SIO and PCIe DARTs the upstream
 *    device trees describe. The USB4 DART layout has no TCR bypass encoding
 *    (tcr_bypass 0), and the model takes its bit as clear;
 *  - T8110 only: DART_T8110_PARAMS4 stream count. The model takes the
 *    variant's max_sid_count (256), the most the driver accepts.
 */

/** enum dart_type */
export type DartType = 'T8020' | 'T6000' | 'T8110';

/** DART_MAX_STREAMS: the size of sid2group[] and of each sidmap. */
export const DART_MAX_STREAMS = 256;
/** MAX_DARTS_PER_DEVICE: stream maps per master. */
export const MAX_DARTS_PER_DEVICE = 2;
/** The smallest MMIO window probe accepts. */
export const DART_MIN_MMIO_SIZE = 0x4000n;

/** struct apple_dart_hw, the fields the core-visible model uses. */
export interface AppleDartHw {
  readonly type: DartType;
  /** The page-table format alloc_io_pgtable_ops() is asked for. */
  readonly fmt: 'APPLE_DART' | 'APPLE_DART2';
  readonly max_sid_count: number;
}

/** What the variant's ID registers report (see the file comment). */
export interface AppleDartParams {
  /** DART_PARAMS1_PAGE_SHIFT */
  readonly pageShift: number;
  /** DART_PARAMS2_BYPASS_SUPPORT */
  readonly bypassSupport: boolean;
  /** T8110: DART_T8110_PARAMS4_NUM_SIDS; T8020/T6000 do not read it. */
  readonly numSids: number;
}

export interface AppleDartVariant {
  readonly hw: AppleDartHw;
  readonly params: AppleDartParams;
}

const apple_dart_hw_t8103: AppleDartHw = { type: 'T8020', fmt: 'APPLE_DART', max_sid_count: 16 };
const apple_dart_hw_t8103_usb4: AppleDartHw = { type: 'T8020', fmt: 'APPLE_DART', max_sid_count: 64 };
const apple_dart_hw_t6000: AppleDartHw = { type: 'T6000', fmt: 'APPLE_DART2', max_sid_count: 16 };
const apple_dart_hw_t8110: AppleDartHw = { type: 'T8110', fmt: 'APPLE_DART2', max_sid_count: 256 };

/** apple_dart_of_match, in the driver's order, with each variant's reported parameters. */
export const appleDartVariants = {
  'apple,t8103-dart': {
    hw: apple_dart_hw_t8103,
    params: { pageShift: 14, bypassSupport: true, numSids: 0 },
  },
  'apple,t8103-usb4-dart': {
    hw: apple_dart_hw_t8103_usb4,
    params: { pageShift: 14, bypassSupport: false, numSids: 0 },
  },
  'apple,t8110-dart': {
    hw: apple_dart_hw_t8110,
    params: { pageShift: 14, bypassSupport: true, numSids: 256 },
  },
  'apple,t6000-dart': {
    hw: apple_dart_hw_t6000,
    params: { pageShift: 14, bypassSupport: true, numSids: 0 },
  },
} as const satisfies Record<string, AppleDartVariant>;

export type AppleDartCompatible = keyof typeof appleDartVariants;

export const APPLE_DART_OF_MATCH = Object.keys(appleDartVariants) as AppleDartCompatible[];
