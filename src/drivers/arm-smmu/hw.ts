// SPDX-License-Identifier: GPL-2.0-only
/**
 * An SMMUv1/v2's ID registers as data, and what arm_smmu_device_cfg_probe()
 * (drivers/iommu/arm/arm-smmu/arm-smmu.c, 6.12) makes of them: the stages,
 * the context formats and page sizes, the address sizes, the stream map and
 * context bank counts, and the dev_notice() lines it prints on the way.
 *
 * Where the values come from (the model has no register file):
 *  - Juno (root compatible arm,juno*): each MMU-401 as a Juno r2 prints it
 *    (LKFT boot log of next-20211217, posted to linux-kernel in Dec 2021;
 *    r1 and r2 carry the same SMMUs): stage 2 only, 40-bit IPA and PA,
 *    page sizes 0x60211000 (AArch64 64K plus AArch32 long descriptors, no
 *    short descriptors), CTTW set, and per instance the stream match groups
 *    and context banks below. NUMSIDB is not printed; 15 bits are assumed.
 *  - Any other instance: the model's defaults per implementation, stated in
 *    `assumedIdRegs()`: MMU-401 as on Juno; MMU-400 and generic SMMUv1 with
 *    both stages and AArch32 formats (MMU-400 TRM: 40-bit addresses);
 *    MMU-500 from its TRM (both stages and nesting, AArch64 4K/64K and
 *    AArch32, 48-bit sizes, no ATOS); generic SMMUv2 with every format and
 *    ATOS. All with 128 stream match groups and (SMMUv1) 128 context banks,
 *    the architectural ceilings, or on SMMUv2 as many context banks as the
 *    node has context interrupts (what the probe allows), 16-bit stream
 *    IDs on SMMUv2 (ID0.EXIDS) and 15-bit on SMMUv1, CTTW set, and an
 *    SMMU_TOP that matches the node's `reg` size.
 */
import type { ArmSmmuVersion, ArmSmmuModel } from './arm-smmu-impl.js';
import { ENODEV } from '../../kernel/errno.js';

export interface ArmSmmuIdRegs {
  /* ID0 */
  readonly s1ts: boolean;
  readonly s2ts: boolean;
  readonly nts: boolean;
  readonly sms: boolean;
  /** ATOSNS: no address translation operations. */
  readonly atosns: boolean;
  readonly ptfsNoAarch32: boolean;
  readonly ptfsNoAarch32s: boolean;
  readonly cttw: boolean;
  readonly numsidb: number;
  readonly exids: boolean;
  readonly numsmrg: number;
  /* ID1 */
  readonly pagesize64k: boolean;
  readonly numpagendxb: number;
  readonly nums2cb: number;
  readonly numcb: number;
  /* ID2: IAS, OAS and UBS as their encodings (0: 32 bits … 5: 48 bits). */
  readonly ias: number;
  readonly oas: number;
  readonly ubs: number;
  readonly ptfs4k: boolean;
  readonly ptfs16k: boolean;
  readonly ptfs64k: boolean;
  readonly vmid16: boolean;
  /** Where these values come from, for reports. */
  readonly source: string;
}

/** ARM_SMMU_FEAT_* */
export const FEAT_COHERENT_WALK = 1 << 0;
export const FEAT_STREAM_MATCH = 1 << 1;
export const FEAT_TRANS_S1 = 1 << 2;
export const FEAT_TRANS_S2 = 1 << 3;
export const FEAT_TRANS_NESTED = 1 << 4;
export const FEAT_TRANS_OPS = 1 << 5;
export const FEAT_VMID16 = 1 << 6;
export const FEAT_FMT_AARCH64_4K = 1 << 7;
export const FEAT_FMT_AARCH64_16K = 1 << 8;
export const FEAT_FMT_AARCH64_64K = 1 << 9;
export const FEAT_FMT_AARCH32_L = 1 << 10;
export const FEAT_FMT_AARCH32_S = 1 << 11;
export const FEAT_EXIDS = 1 << 12;

/** The encoding arm_smmu_id_size_to_bits() decodes. */
const SIZE_BITS = [32, 36, 40, 42, 44, 48];
export function arm_smmu_id_size_to_bits(size: number): number {
  return SIZE_BITS[size] ?? 48;
}
const sizeField = (bits: number): number => SIZE_BITS.indexOf(bits);

/** NUMPAGENDXB and PAGESIZE that make SMMU_TOP (2 * NUMPAGE pages) equal to the node's `reg` size. */
function pageGeometry(regSize: number): { pagesize64k: boolean; numpagendxb: number } {
  for (const [pagesize64k, pgshift] of [
    [false, 12],
    [true, 16],
  ] as const)
    for (let n = 0; n < 8; n++)
      if (2 * 2 ** (n + 1) * 2 ** pgshift === regSize) return { pagesize64k, numpagendxb: n };
  return { pagesize64k: false, numpagendxb: 7 };
}

/** Juno's MMU-401s as the kernel prints them: [stream match groups, context banks]. */
const JUNO_MMU401: Readonly<Record<string, readonly [number, number]>> = {
  '0x2b500000': [32, 4], // PCIe
  '0x2b600000': [2, 1], // CoreSight ETR
  '0x7fb00000': [16, 4], // DMA-330
  '0x7fb10000': [2, 1], // HDLCD 0
  '0x7fb20000': [2, 1], // HDLCD 1
  '0x7fb30000': [2, 1], // USB
};

const MMU401_COMMON = {
  s1ts: false,
  s2ts: true,
  nts: false,
  sms: true,
  atosns: false,
  ptfsNoAarch32: false,
  ptfsNoAarch32s: true,
  cttw: true,
  numsidb: 15,
  exids: false,
  nums2cb: 0,
  ias: sizeField(40),
  oas: sizeField(40),
  ubs: sizeField(40),
  ptfs4k: false,
  ptfs16k: false,
  ptfs64k: false,
  vmid16: false,
} as const;

export interface IdRegsQuery {
  readonly model: ArmSmmuModel;
  readonly version: ArmSmmuVersion;
  readonly compatible: readonly string[];
  /** The root node's compatible (the board). */
  readonly board: readonly string[];
  readonly base: bigint;
  readonly regSize: number;
  readonly contextIrqs: number;
}

/** The ID registers of one instance: the board's, where the model knows them, else the defaults. */
export function armSmmuIdRegs(q: IdRegsQuery): ArmSmmuIdRegs {
  const key = `0x${q.base.toString(16)}`;
  const juno = q.board.some((c) => c === 'arm,juno' || c.startsWith('arm,juno-'));
  const known = juno && q.compatible.includes('arm,mmu-401') ? JUNO_MMU401[key] : undefined;
  if (known) {
    const [numsmrg, numcb] = known;
    return {
      ...MMU401_COMMON,
      ...pageGeometry(q.regSize),
      numsmrg,
      numcb,
      nums2cb: numcb,
      source: 'Juno MMU-401 (Juno r2 boot log)',
    };
  }
  return assumedIdRegs(q);
}

/** The defaults for an instance the model has no values for (see the file comment). */
export function assumedIdRegs(q: IdRegsQuery): ArmSmmuIdRegs {
  // SMMUv2 needs a context interrupt per bank; SMMUv1 shares them, so the architectural ceiling.
  const numcb = q.version === 'v2' ? Math.max(1, Math.min(q.contextIrqs, 128)) : 128;
  const common = { ...pageGeometry(q.regSize), numsmrg: 128, numcb, sms: true, cttw: true };
  if (q.compatible.includes('arm,mmu-401') && q.version !== 'v2')
    return { ...MMU401_COMMON, ...common, nums2cb: numcb, source: 'assumed: MMU-401 as on Juno' };
  if (q.version !== 'v2')
    return {
      ...common,
      s1ts: true,
      s2ts: true,
      nts: true,
      atosns: false,
      ptfsNoAarch32: false,
      ptfsNoAarch32s: false,
      numsidb: 15,
      exids: false,
      nums2cb: 0,
      ias: sizeField(40),
      oas: sizeField(40),
      ubs: sizeField(40),
      ptfs4k: false,
      ptfs16k: false,
      ptfs64k: false,
      vmid16: false,
      source: 'assumed: SMMUv1 / MMU-400',
    };
  const mmu500 = q.model === 'mmu-500';
  return {
    ...common,
    s1ts: true,
    s2ts: true,
    nts: true,
    atosns: mmu500,
    ptfsNoAarch32: false,
    ptfsNoAarch32s: false,
    numsidb: 15,
    exids: true,
    nums2cb: 0,
    ias: sizeField(48),
    oas: sizeField(48),
    ubs: sizeField(48),
    ptfs4k: true,
    ptfs16k: !mmu500,
    ptfs64k: true,
    vmid16: true,
    source: mmu500 ? 'assumed: MMU-500 (TRM)' : 'assumed: SMMUv2',
  };
}

const SZ_4K = 0x1000;
const SZ_16K = 0x4000;
const SZ_64K = 0x10000;
const SZ_1M = 0x100000;
const SZ_2M = 0x200000;
const SZ_16M = 0x1000000;
const SZ_32M = 0x2000000;
const SZ_512M = 0x20000000;
const SZ_1G = 0x40000000;

/** What arm_smmu_device_cfg_probe() leaves in struct arm_smmu_device. */
export interface ArmSmmuHw {
  features: number;
  streamid_mask: number;
  num_mapping_groups: number;
  num_context_banks: number;
  num_s2_context_banks: number;
  ipa_size: number;
  pa_size: number;
  va_size: number;
  pgsize_bitmap: number;
}

/** A cfg_probe result: the configuration, the dev_notice()/dev_err() lines, or an errno with them. */
export interface CfgProbeResult {
  readonly cfg: ArmSmmuHw | null;
  readonly err: number;
  readonly lines: readonly { readonly level: 'info' | 'warn' | 'err'; readonly msg: string }[];
}

/** The parts of the implementation's cfg_probe the model applies (arm-smmu-impl.c, arm-smmu-qcom.c). */
export interface CfgProbeImpl {
  readonly hook?: 'cavium' | 'qcom' | 'qcom-adreno-v2' | 'mrvl';
  readonly compatible: readonly string[];
}

/**
 * arm_smmu_device_cfg_probe() on the ID registers; `coherentFw` is the node's
 * dma-coherent (ARM_SMMU_FEAT_COHERENT_WALK set by the DT or IORT probe),
 * `regSize` the MMIO resource size (smmu->numpage before ID1 is read).
 */
export function arm_smmu_device_cfg_probe(
  id: ArmSmmuIdRegs,
  version: ArmSmmuVersion,
  coherentFw: boolean,
  regSize: number,
  impl: CfgProbeImpl,
): CfgProbeResult {
  const lines: { level: 'info' | 'warn' | 'err'; msg: string }[] = [];
  const notice = (msg: string) => lines.push({ level: 'info', msg });
  const fail = (err: number, msg: string): CfgProbeResult => {
    lines.push({ level: 'err', msg });
    return { cfg: null, err, lines };
  };
  notice('probing hardware configuration...');
  notice(`SMMUv${version === 'v2' ? 2 : 1} with:`);
  let features = coherentFw ? FEAT_COHERENT_WALK : 0;
  // force_stage (module parameter) is 0: both stages as the hardware has them.
  if (id.s1ts) {
    features |= FEAT_TRANS_S1;
    notice('\tstage 1 translation');
  }
  if (id.s2ts) {
    features |= FEAT_TRANS_S2;
    notice('\tstage 2 translation');
  }
  if (id.nts) {
    features |= FEAT_TRANS_NESTED;
    notice('\tnested translation');
  }
  if (!(features & (FEAT_TRANS_S1 | FEAT_TRANS_S2))) return fail(-ENODEV, '\tno translation support!');
  if (id.s1ts && (version !== 'v2' || !id.atosns)) {
    features |= FEAT_TRANS_OPS;
    notice('\taddress translation ops');
  }
  // The firmware's word on coherency wins over IDR0.CTTW.
  if (coherentFw || id.cttw) notice(`\t${coherentFw ? '' : 'non-'}coherent table walk`);
  if (coherentFw !== id.cttw) notice('\t(IDR0.CTTW overridden by FW configuration)');
  let size: number;
  if (version === 'v2' && id.exids) {
    features |= FEAT_EXIDS;
    size = 1 << 16;
  } else {
    size = 2 ** id.numsidb;
  }
  const streamid_mask = size - 1;
  if (id.sms) {
    features |= FEAT_STREAM_MATCH;
    size = id.numsmrg;
    if (size === 0) return fail(-ENODEV, 'stream-matching supported, but no SMRs present!');
    notice(`\tstream matching with ${size} register groups`);
  }
  const num_mapping_groups = size;
  if (version !== 'v2' || !id.ptfsNoAarch32) {
    features |= FEAT_FMT_AARCH32_L;
    if (!id.ptfsNoAarch32s) features |= FEAT_FMT_AARCH32_S;
  }
  // ID1: SMMU_TOP against the mapped region.
  const pgshift = id.pagesize64k ? 16 : 12;
  const numpage = 2 ** (id.numpagendxb + 1);
  const top = 2 * numpage * 2 ** pgshift;
  if (regSize !== top)
    lines.push({
      level: 'warn',
      msg: `SMMU address space size (0x${top.toString(16)}) differs from mapped region size (0x${regSize.toString(16)})!`,
    });
  const num_s2_context_banks = id.nums2cb;
  let num_context_banks = id.numcb;
  if (num_s2_context_banks > num_context_banks)
    return fail(-ENODEV, 'impossible number of S2 context banks!');
  notice(`\t${num_context_banks} context banks (${num_s2_context_banks} stage-2 only)`);
  // ID2
  const ipa_size = arm_smmu_id_size_to_bits(id.ias);
  const pa_size = arm_smmu_id_size_to_bits(id.oas);
  if (id.vmid16) features |= FEAT_VMID16;
  let va_size: number;
  if (version !== 'v2') {
    va_size = ipa_size;
    if (version === 'v1-64k') features |= FEAT_FMT_AARCH64_64K;
  } else {
    va_size = arm_smmu_id_size_to_bits(id.ubs);
    if (id.ptfs4k) features |= FEAT_FMT_AARCH64_4K;
    if (id.ptfs16k) features |= FEAT_FMT_AARCH64_16K;
    if (id.ptfs64k) features |= FEAT_FMT_AARCH64_64K;
  }
  // impl->cfg_probe
  const is = (c: string) => impl.compatible.includes(c);
  switch (impl.hook) {
    case 'cavium':
      notice('\tenabling workaround for Cavium erratum 27704');
      break;
    case 'qcom':
      // qcom_smmu_cfg_probe(): banks TZ takes; the S2CR bypass probe finds a working bypass.
      if (is('qcom,msm8998-smmu-v2') && num_context_banks === 13) num_context_banks = 12;
      else if (is('qcom,sdm630-smmu-v2')) {
        if (num_context_banks === 21) num_context_banks = 7;
        else if (num_context_banks === 14) num_context_banks = 13;
      }
      break;
    case 'qcom-adreno-v2':
      features &= ~FEAT_FMT_AARCH64_16K;
      if (is('qcom,sdm630-smmu-v2') && num_context_banks === 5) num_context_banks = 2;
      break;
    case 'mrvl':
      // Armada-AP806 erratum #582743: no AArch64 formats.
      features &= ~(FEAT_FMT_AARCH64_4K | FEAT_FMT_AARCH64_16K | FEAT_FMT_AARCH64_64K);
      break;
    default:
      break;
  }
  let pgsize_bitmap = 0;
  if (features & FEAT_FMT_AARCH32_S) pgsize_bitmap |= SZ_4K | SZ_64K | SZ_1M | SZ_16M;
  if (features & (FEAT_FMT_AARCH32_L | FEAT_FMT_AARCH64_4K)) pgsize_bitmap |= SZ_4K | SZ_2M | SZ_1G;
  if (features & FEAT_FMT_AARCH64_16K) pgsize_bitmap |= SZ_16K | SZ_32M;
  if (features & FEAT_FMT_AARCH64_64K) pgsize_bitmap |= SZ_64K | SZ_512M;
  pgsize_bitmap >>>= 0;
  notice(`\tSupported page sizes: 0x${pgsize_bitmap.toString(16).padStart(8, '0')}`);
  if (features & FEAT_TRANS_S1) notice(`\tStage-1: ${va_size}-bit VA -> ${ipa_size}-bit IPA`);
  if (features & FEAT_TRANS_S2) notice(`\tStage-2: ${ipa_size}-bit IPA -> ${pa_size}-bit PA`);
  return {
    cfg: {
      features,
      streamid_mask,
      num_mapping_groups,
      num_context_banks,
      num_s2_context_banks,
      ipa_size,
      pa_size,
      va_size,
      pgsize_bitmap,
    },
    err: 0,
    lines,
  };
}
