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
 *    variant's max_sid_count (256), the most the driver accepts;
 *  - T8110 only: DART_T8110_PARAMS3 VA and PA widths (ias, oas). No fixture
 *    has a T8110 DART; the model takes a 36-bit VA (the widest one TTBR of a
 *    16 KiB two-level table covers, and the most 6.12's tables serve: later
 *    kernels add a third level for DARTs reporting more) and a 42-bit PA
 *    (APPLE_DART2's output width).
 * The T8020/T6000 types have ias 32 and the match data's oas.
 *
 * The register encodings the driver computes values from are data too: how
 * a TTBR holds a table address (apple_dart_hw_set_ttbr()), whether TCR has a
 * bypass encoding, and where the error register keeps the stream and which
 * code means what (apple_dart_t8020_irq(), apple_dart_t8110_irq()).
 */

/** enum dart_type */
export type DartType = 'T8020' | 'T6000' | 'T8110';

/** DART_MAX_STREAMS: the size of sid2group[] and of each sidmap. */
export const DART_MAX_STREAMS = 256;
/** MAX_DARTS_PER_DEVICE: stream maps per master. */
export const MAX_DARTS_PER_DEVICE = 2;
/** The smallest MMIO window probe accepts. */
export const DART_MIN_MMIO_SIZE = 0x4000n;

/** How a TTBR register holds a table address: ttbr_valid | (paddr >> ttbr_shift) << ttbr_addr_field_shift. */
export interface DartTtbrEncoding {
  readonly ttbr_valid: number;
  readonly ttbr_shift: number;
  readonly ttbr_addr_field_shift: number;
  /** TTBRs per stream. */
  readonly ttbr_count: number;
}

/** The error register: where the stream index sits, and the error codes (DART_T8020_ERROR_* / DART_T8110_ERROR_*). */
export interface DartErrorLayout {
  readonly streamLsb: number;
  readonly streamWidth: number;
  readonly flag: number;
  /** code -> the name the interrupt handler prints, in its test order. */
  readonly codes: readonly (readonly [number, string])[];
}

/** struct apple_dart_hw, the fields the model uses. */
export interface AppleDartHw {
  readonly type: DartType;
  /** The page-table format alloc_io_pgtable_ops() is asked for. */
  readonly fmt: 'APPLE_DART' | 'APPLE_DART2';
  readonly max_sid_count: number;
  /** Output address size (T8020/T6000; T8110 reads it from PARAMS3). */
  readonly oas: number;
  readonly ttbr: DartTtbrEncoding;
  /** tcr_bypass != 0: TCR can put a stream in bypass. */
  readonly tcr_bypass: boolean;
  /** invalidate_tlb: one stream command for a whole sidmap (T8020) or a TLB command per SID (T8110). */
  readonly invalidate: 'stream-command' | 'per-sid';
  readonly error: DartErrorLayout;
}

const T8020_ERRORS: DartErrorLayout = {
  streamLsb: 24, // DART_T8020_ERROR_STREAM GENMASK(27, 24)
  streamWidth: 4,
  flag: 0x8000_0000,
  codes: [
    [1 << 4, 'READ FAULT'],
    [1 << 3, 'WRITE FAULT'],
    [1 << 2, 'NO PTE FOR IOVA'],
    [1 << 1, 'NO PMD FOR IOVA'],
    [1 << 0, 'NO TTBR FOR IOVA'],
  ],
};

const T8110_ERRORS: DartErrorLayout = {
  streamLsb: 20, // DART_T8110_ERROR_STREAM GENMASK(27, 20)
  streamWidth: 8,
  flag: 0x8000_0000,
  codes: [
    [1 << 5, 'READ FAULT'],
    [1 << 4, 'WRITE FAULT'],
    [1 << 3, 'NO PTE FOR IOVA'],
    [1 << 2, 'NO PMD FOR IOVA'],
    [1 << 1, 'NO PGD FOR IOVA'],
    [1 << 0, 'NO TTBR FOR IOVA'],
  ],
};

/** DART_T8020_TTBR_VALID, _SHIFT, _ADDR_FIELD_SHIFT; four TTBRs per stream. */
const T8020_TTBR: DartTtbrEncoding = {
  ttbr_valid: 0x8000_0000,
  ttbr_shift: 12,
  ttbr_addr_field_shift: 0,
  ttbr_count: 4,
};
/** DART_T8110_TTBR_VALID, _SHIFT, _ADDR_FIELD_SHIFT; one TTBR per stream. */
const T8110_TTBR: DartTtbrEncoding = {
  ttbr_valid: 1,
  ttbr_shift: 14,
  ttbr_addr_field_shift: 2,
  ttbr_count: 1,
};

/** What the variant's ID registers report (see the file comment). */
export interface AppleDartParams {
  /** DART_PARAMS1_PAGE_SHIFT */
  readonly pageShift: number;
  /** DART_PARAMS2_BYPASS_SUPPORT */
  readonly bypassSupport: boolean;
  /** T8110: DART_T8110_PARAMS4_NUM_SIDS; T8020/T6000 do not read it. */
  readonly numSids: number;
  /** T8110: DART_T8110_PARAMS3_VA_WIDTH and _PA_WIDTH; T8020/T6000 do not read them (0). */
  readonly vaWidth: number;
  readonly paWidth: number;
}

export interface AppleDartVariant {
  readonly hw: AppleDartHw;
  readonly params: AppleDartParams;
}

const t8020Common = {
  ttbr: T8020_TTBR,
  invalidate: 'stream-command',
  error: T8020_ERRORS,
} as const;

const apple_dart_hw_t8103: AppleDartHw = {
  type: 'T8020',
  fmt: 'APPLE_DART',
  max_sid_count: 16,
  oas: 36,
  tcr_bypass: true,
  ...t8020Common,
};
/** The USB4 DART: TTBRs at another offset, and no TCR bypass encoding (tcr_bypass = 0). */
const apple_dart_hw_t8103_usb4: AppleDartHw = {
  type: 'T8020',
  fmt: 'APPLE_DART',
  max_sid_count: 64,
  oas: 36,
  tcr_bypass: false,
  ...t8020Common,
};
const apple_dart_hw_t6000: AppleDartHw = {
  type: 'T6000',
  fmt: 'APPLE_DART2',
  max_sid_count: 16,
  oas: 42,
  tcr_bypass: true,
  ...t8020Common,
};
const apple_dart_hw_t8110: AppleDartHw = {
  type: 'T8110',
  fmt: 'APPLE_DART2',
  max_sid_count: 256,
  oas: 0, // read from DART_T8110_PARAMS3
  tcr_bypass: true,
  ttbr: T8110_TTBR,
  invalidate: 'per-sid',
  error: T8110_ERRORS,
};

/** apple_dart_of_match, in the driver's order, with each variant's reported parameters. */
export const appleDartVariants = {
  'apple,t8103-dart': {
    hw: apple_dart_hw_t8103,
    params: { pageShift: 14, bypassSupport: true, numSids: 0, vaWidth: 0, paWidth: 0 },
  },
  'apple,t8103-usb4-dart': {
    hw: apple_dart_hw_t8103_usb4,
    params: { pageShift: 14, bypassSupport: false, numSids: 0, vaWidth: 0, paWidth: 0 },
  },
  'apple,t8110-dart': {
    hw: apple_dart_hw_t8110,
    params: { pageShift: 14, bypassSupport: true, numSids: 256, vaWidth: 36, paWidth: 42 },
  },
  'apple,t6000-dart': {
    hw: apple_dart_hw_t6000,
    params: { pageShift: 14, bypassSupport: true, numSids: 0, vaWidth: 0, paWidth: 0 },
  },
} as const satisfies Record<string, AppleDartVariant>;

export type AppleDartCompatible = keyof typeof appleDartVariants;

export const APPLE_DART_OF_MATCH = Object.keys(appleDartVariants) as AppleDartCompatible[];
