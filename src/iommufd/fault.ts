// SPDX-License-Identifier: GPL-2.0-only
/**
 * Fault queues: I/O page faults delivered to user space
 * (drivers/iommu/iommufd/fault.c, 6.12: iommufd_fault_alloc(),
 * iommufd_fault_iopf_handler(), the fault file's read/write/release,
 * iommufd_fault_iopf_enable()/_disable(), iommufd_auto_response_faults()).
 *
 * IOMMU_FAULT_QUEUE_ALLOC makes a FAULT object and a file descriptor. A HWPT
 * allocated with it (IOMMU_HWPT_FAULT_ID_VALID; a nested one in 6.12)
 * routes its devices' page requests there: read() returns each group's
 * faults as struct iommu_hwpt_pgfault records with a cookie, write() takes
 * struct iommu_hwpt_page_response answers by cookie. Groups nobody answered
 * are answered INVALID when their device detaches or the queue goes.
 */
import type { Allocation } from '../kernel/alloc.js';
import { EFAULT, EINVAL, EOPNOTSUPP, ESPIPE } from '../kernel/errno.js';
import type { IopfGroup } from '../iommu/io-pgfault.js';
import {
  IOMMU_DEV_FEAT_IOPF,
  IOMMU_PAGE_RESP_INVALID,
  IOMMU_PAGE_RESP_SUCCESS,
  iommu_dev_disable_feature,
  iommu_dev_enable_feature,
  iopf_free_group,
  iopf_group_dequeue,
  iopf_group_response,
} from '../iommu/io-pgfault.js';
import type { UserProcess } from '../mm/user-mm.js';
import { EventqFile } from './eventq.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';
import type { IommufdAttachHandle, IommufdDevice } from './device.js';
import type { IommufdHwpt } from './hw-pagetable.js';
import { encode, layout } from './uapi.js';
import type { Handler } from './ucmd.js';

/** struct iommu_hwpt_pgfault: one record read from the fault fd. */
export const pgfaultLayout = layout('iommu_hwpt_pgfault', [
  ['flags', 'u32'],
  ['dev_id', 'u32'],
  ['pasid', 'u32'],
  ['grpid', 'u32'],
  ['perm', 'u32'],
  ['__reserved', 'u32'],
  ['addr', 'u64'],
  ['length', 'u32'],
  ['cookie', 'u32'],
]);
/** struct iommu_hwpt_page_response: one answer written to the fault fd. */
export const pageResponseLayout = layout('iommu_hwpt_page_response', [
  ['cookie', 'u32'],
  ['code', 'u32'],
]);

/** struct iommufd_fault */
export interface IommufdFault extends IommufdObject {
  readonly type: 'FAULT';
  /** Groups waiting to be read. */
  readonly deliver: IopfGroup[];
  /** Groups read and waiting for an answer, by cookie (xa_alloc from 1). */
  readonly response: Map<number, IopfGroup>;
}

/** iommufd_get_fault() */
export function getFault(ctx: IommufdCtx, id: number): IommufdFault | number {
  return ctx.get(id, 'FAULT') as IommufdFault | number;
}

function answerAndFree(ctx: IommufdCtx, g: IopfGroup, code: number): void {
  iopf_group_response(ctx.k, g, code);
  iopf_free_group(ctx.k, g);
}

/** The lowest free cookie from 1 (xa_alloc with XA_FLAGS_ALLOC1). */
function allocCookie(m: Map<number, IopfGroup>): number {
  let c = 1;
  while (m.has(c)) c++;
  return c;
}

/** The fault file: read() and write() of records, release() dropping its hold on the object and the context. */
class FaultFile extends EventqFile {
  readonly name = '[iommufd-pgfault]';
  constructor(
    ctx: IommufdCtx,
    private readonly fault: IommufdFault,
  ) {
    super(ctx, fault);
  }

  /** iommufd_fault_fops_read(): whole groups only (-EINVAL when the first does not fit). */
  read(buf: number, count: number, proc: UserProcess): number {
    const size = pgfaultLayout.size;
    if (count % size) return -ESPIPE;
    const f = this.fault;
    let done = 0;
    let rc = 0;
    while (f.deliver.length) {
      const g = f.deliver[0];
      if (done >= count || g.faults.length * size > count - done) {
        if (done === 0) rc = -EINVAL;
        break;
      }
      f.deliver.shift();
      g.cookie = allocCookie(f.response);
      f.response.set(g.cookie, g);
      const idev = (g.attach!.handle as IommufdAttachHandle).idev;
      let groupDone = done;
      for (const evt of g.faults) {
        const rec = new Uint8Array(size);
        encode(
          pgfaultLayout,
          {
            flags: evt.prm.flags,
            dev_id: idev.id,
            pasid: evt.prm.pasid,
            grpid: evt.prm.grpid,
            perm: evt.prm.perm,
            addr: evt.prm.addr,
            length: 0,
            cookie: g.cookie,
          },
          rec,
        );
        if (proc.write(buf + groupDone, rec)) {
          f.response.delete(g.cookie);
          f.deliver.unshift(g);
          rc = -EFAULT;
          break;
        }
        groupDone += size;
      }
      if (rc) break;
      done = groupDone;
    }
    return done === 0 ? rc : done;
  }

  /** iommufd_fault_fops_write(): answers by cookie, SUCCESS or INVALID, until one is bad. */
  write(buf: number, count: number, proc: UserProcess): number {
    const size = pageResponseLayout.size;
    if (count % size) return -ESPIPE;
    let done = 0;
    let rc = 0;
    while (count > done) {
      const bytes = proc.read(buf + done, size);
      if (typeof bytes === 'number') {
        rc = -EFAULT;
        break;
      }
      const dv = new DataView(bytes.buffer, bytes.byteOffset, size);
      const cookie = dv.getUint32(0, true);
      const code = dv.getUint32(4, true);
      if (code !== IOMMU_PAGE_RESP_SUCCESS && code !== IOMMU_PAGE_RESP_INVALID) {
        rc = -EINVAL;
        break;
      }
      const g = this.fault.response.get(cookie);
      if (!g) {
        rc = -EINVAL;
        break;
      }
      this.fault.response.delete(cookie);
      answerAndFree(this.ctx, g, code);
      done += size;
    }
    return done === 0 ? rc : done;
  }
}

/** iommufd_fault_destroy(): every group still held is answered INVALID. */
function faultDestroy(ctx: IommufdCtx, fault: IommufdFault): void {
  for (const g of fault.deliver.splice(0)) answerAndFree(ctx, g, IOMMU_PAGE_RESP_INVALID);
  for (const [c, g] of [...fault.response]) {
    fault.response.delete(c);
    answerAndFree(ctx, g, IOMMU_PAGE_RESP_INVALID);
  }
}

/** iommufd_fault_iopf_handler(): the group waits on the HWPT's fault queue for user space. */
export function iommufdFaultIopfHandler(g: IopfGroup): number {
  const hwpt = g.attach!.domain.fault_data as IommufdHwpt;
  iopf_group_dequeue(g);
  hwpt.fault!.deliver.push(g);
  return 0;
}

/** iommufd_fault_iopf_enable(): the first user turns IOPF on for the device. */
export function iommufdFaultIopfEnable(idev: IommufdDevice): number {
  if (++idev.iopfEnabled > 1) return 0;
  const rc = iommu_dev_enable_feature(idev.igroup.ictx.k, idev.dev, IOMMU_DEV_FEAT_IOPF);
  if (rc) idev.iopfEnabled--;
  return rc;
}

/** iommufd_fault_iopf_disable() */
export function iommufdFaultIopfDisable(idev: IommufdDevice): void {
  const k = idev.igroup.ictx.k;
  if (k.printk.warn(idev.iopfEnabled === 0, 'iommufd_fault_iopf_disable', 'WARN_ON(idev->iopf_enabled == 0)'))
    return;
  if (--idev.iopfEnabled === 0) iommu_dev_disable_feature(k, idev.dev, IOMMU_DEV_FEAT_IOPF);
}

/** iommufd_auto_response_faults(): the groups that came through `handle` are answered INVALID. */
export function iommufdAutoResponseFaults(hwpt: IommufdHwpt, handle: IommufdAttachHandle | null): void {
  const fault = hwpt.fault;
  if (!fault) return;
  const ctx = handle?.idev.igroup.ictx;
  if (!ctx) return;
  for (const g of [...fault.deliver]) {
    if (g.attach?.handle !== handle) continue;
    fault.deliver.splice(fault.deliver.indexOf(g), 1);
    answerAndFree(ctx, g, IOMMU_PAGE_RESP_INVALID);
  }
  for (const [c, g] of [...fault.response]) {
    if (g.attach?.handle !== handle) continue;
    fault.response.delete(c);
    answerAndFree(ctx, g, IOMMU_PAGE_RESP_INVALID);
  }
}

export const faultHandlers: Readonly<Record<string, Handler>> = {
  /** iommufd_fault_alloc(): the FAULT object and its descriptor. */
  IOMMU_FAULT_QUEUE_ALLOC: (u) => {
    const ctx = u.ctx;
    if (u.cmd.flags) return -EOPNOTSUPP;
    const fault = ctx.allocObject((id, mem: Allocation): IommufdFault => {
      const f: IommufdFault = {
        id,
        type: 'FAULT',
        users: 1,
        mem,
        deliver: [],
        response: new Map(),
        destroy: () => faultDestroy(ctx, f),
      };
      return f;
    }, 'fault');
    if (typeof fault === 'number') return fault;
    const fd = new FaultFile(ctx, fault).install();
    u.cmd.out_fault_id = fault.id;
    u.cmd.out_fault_fd = fd;
    u.respond();
    ctx.finalize(fault);
    return 0;
  },
};
