// SPDX-License-Identifier: GPL-2.0-only
/**
 * The line mtk_iommu_isr() (drivers/iommu/mtk_iommu.c, Linux 6.12) prints
 * for a translation fault, from the registers it reads, which the model
 * fills the way the M4U reports a fault of a master's transaction:
 *
 *   fault type=0x%x iova=0x%llx pa=0x%llx master=0x%x(larb=%d port=%d) layer=%d %s
 *
 * - type: REG_MMU_FAULT_ST1; the model reports every fault as MMU0's
 *   translation fault (bit 0). The M4U's two MMUs are not modelled, and
 *   with IO_PGTABLE_QUIRK_NO_PERMS there are no permission faults.
 * - iova: REG_MMU0_FAULT_VA holds VA[31:12], VA[34:32] in [11:9], PA[34:32]
 *   in [8:6], the write bit [1] and the layer bit [0]. With IOVA_34_EN the
 *   handler keeps VA[31:12] and puts VA[34:32] on top (a page-aligned IOVA);
 *   without it, it prints the register as read, low bits and all. Either
 *   way it takes PA[34:32] from fault_iova after that, so with IOVA_34_EN
 *   they always read 0 (kept as 6.12 has it).
 * - pa: REG_MMU0_INVLD_PA, the physical address of an invalid-PA fault; 0
 *   for a translation fault.
 * - master: REG_MMU0_INT_ID, which the M4U fills with the transaction's
 *   common ID, sub-common ID and port (bit layout per the plat_data flags);
 *   the handler turns the first two back into a larb with larbid_remap. The
 *   model inverts that: the IDs of the first entry of larbid_remap that names
 *   the master's larb. An INFRA M4U's masters have no larb (the handler
 *   prints MTK_INVALID_LARBID and port 0); their ID, an AXI ID the model has
 *   no value for, is taken as 0.
 * - layer: the walk level that faulted, taken as 1 when the level-1
 *   descriptor was a table (the fault is at level 2), else 0.
 * report_iommu_fault() finds no handler on the bank's domain (the DMA API
 * installs none), so the line is always printed. The handler then clears
 * the interrupt and flushes the whole TLB (mtk_iommu_tlb_flush_all()).
 * dev_err_ratelimited()'s rate limit is not modelled.
 */
import type { IommuFault } from '../../iommu/translate.js';
import type { PageTable } from '../../pgtable/page-table.js';
import {
  HAS_SUB_COMM_2BITS,
  HAS_SUB_COMM_3BITS,
  INT_ID_PORT_WIDTH_6,
  IOVA_34_EN,
  MTK_INVALID_LARBID,
  MTK_IOMMU_HAS_FLAG,
  MTK_IOMMU_IS_TYPE,
  MTK_IOMMU_TYPE_MM,
  MTK_LARB_COM_MAX,
  type MtkIommuPlatData,
} from './plat-data.js';

/** F_INT_TRANSLATION_FAULT's bit in REG_MMU_FAULT_ST1 for MMU0. */
const F_REG_MMU0_TRANSLATION_FAULT = 0x1;
const F_MMU_INVAL_VA_31_12_MASK = 0xfffff000;
const F_MMU_FAULT_VA_WRITE_BIT = 1 << 1;
const F_MMU_FAULT_VA_LAYER_BIT = 1 << 0;

/** larbid_remap[comm][sub], 0 where the source gives no entry. */
function remap(pd: MtkIommuPlatData, comm: number, sub: number): number {
  return pd.larbid_remap[comm]?.[sub] ?? 0;
}

/** The sub-common IDs an interrupt ID can carry with these flags. */
function subCommons(pd: MtkIommuPlatData): number {
  if (MTK_IOMMU_HAS_FLAG(pd, HAS_SUB_COMM_2BITS)) return 4;
  if (MTK_IOMMU_HAS_FLAG(pd, HAS_SUB_COMM_3BITS)) return 8;
  return 1;
}

/** The common and sub-common IDs of a larb: the first larbid_remap entry naming it ((0, 0) if none does). */
function commonIdsOf(pd: MtkIommuPlatData, larb: number): [number, number] {
  const subs = subCommons(pd);
  for (let comm = 0; comm < MTK_LARB_COM_MAX; comm++) {
    const row = pd.larbid_remap[comm] ?? [];
    for (let sub = 0; sub < Math.min(subs, row.length); sub++) if (row[sub] === larb) return [comm, sub];
  }
  return [0, 0];
}

/**
 * REG_MMU0_INT_ID for a transaction of (larb, port), and what the handler
 * decodes from it: F_MMU_INT_ID_COMM_ID/_SUB_COMM_ID/_PORT_ID (2-bit
 * sub-commons), the _EXT variants (3-bit), _WID_6 (INT_ID_PORT_WIDTH_6),
 * else F_MMU_INT_ID_LARB_ID/_PORT_ID, then larbid_remap.
 */
export function mtkFaultMaster(
  pd: MtkIommuPlatData,
  larb: number,
  port: number,
): { regval: number; larb: number; port: number } {
  if (!MTK_IOMMU_IS_TYPE(pd, MTK_IOMMU_TYPE_MM)) return { regval: 0, larb: MTK_INVALID_LARBID, port: 0 };
  let regval: number;
  let fault_larb: number;
  let sub_comm = 0;
  let fault_port: number;
  if (MTK_IOMMU_HAS_FLAG(pd, HAS_SUB_COMM_2BITS) || MTK_IOMMU_HAS_FLAG(pd, HAS_SUB_COMM_3BITS)) {
    const [comm, sub] = commonIdsOf(pd, larb);
    const ext = !MTK_IOMMU_HAS_FLAG(pd, HAS_SUB_COMM_2BITS);
    regval = ((comm << (ext ? 10 : 9)) | (sub << 7) | ((port & 0x1f) << 2)) >>> 0;
    fault_larb = ext ? (regval >>> 10) & 0x7 : (regval >>> 9) & 0x7;
    sub_comm = ext ? (regval >>> 7) & 0x7 : (regval >>> 7) & 0x3;
    fault_port = (regval >>> 2) & 0x1f;
  } else if (MTK_IOMMU_HAS_FLAG(pd, INT_ID_PORT_WIDTH_6)) {
    const [comm] = commonIdsOf(pd, larb);
    regval = ((comm << 8) | ((port & 0x3f) << 2)) >>> 0;
    fault_port = (regval >>> 2) & 0x3f;
    fault_larb = (regval >>> 8) & 0x7;
  } else {
    const [comm] = commonIdsOf(pd, larb);
    regval = ((comm << 7) | ((port & 0x1f) << 2)) >>> 0;
    fault_port = (regval >>> 2) & 0x1f;
    fault_larb = (regval >>> 7) & 0x7;
  }
  return { regval, larb: remap(pd, fault_larb, sub_comm), port: fault_port };
}

/** mtk_iommu_isr()'s line for a fault at f.iova of a master on (larb, port) whose domain's table is `pgtable`. */
export function mtkIsrLine(
  pd: MtkIommuPlatData,
  f: Omit<IommuFault, 'log'>,
  larb: number,
  port: number,
  pgtable: PageTable | null,
): string {
  const layer = pgtable?.walkTrace(f.iova).steps[0]?.kind === 'table' ? 1 : 0;
  const va = f.iova;
  const vaHigh = Math.floor(va / 2 ** 32) & 0x7;
  // REG_MMU0_FAULT_VA as the M4U writes it (PA[34:32] of a translation fault: 0).
  const reg =
    ((va & F_MMU_INVAL_VA_31_12_MASK) |
      (vaHigh << 9) |
      (f.write ? F_MMU_FAULT_VA_WRITE_BIT : 0) |
      (layer ? F_MMU_FAULT_VA_LAYER_BIT : 0)) >>>
    0;
  let fault_iova = reg;
  if (MTK_IOMMU_HAS_FLAG(pd, IOVA_34_EN))
    fault_iova = ((reg & F_MMU_INVAL_VA_31_12_MASK) >>> 0) + vaHigh * 2 ** 32;
  const pa34_32 = (fault_iova >>> 6) & 0x7;
  const fault_pa = 0 + pa34_32 * 2 ** 32;
  const m = mtkFaultMaster(pd, larb, port);
  return (
    `fault type=0x${F_REG_MMU0_TRANSLATION_FAULT.toString(16)} iova=0x${fault_iova.toString(16)} ` +
    `pa=0x${fault_pa.toString(16)} master=0x${m.regval.toString(16)}(larb=${m.larb} port=${m.port}) ` +
    `layer=${layer} ${f.write ? 'write' : 'read'}`
  );
}
