// SPDX-License-Identifier: GPL-2.0-only
/**
 * I/O page faults (drivers/iommu/io-pgfault.c, 6.12): a device's page
 * requests (PCIe PRI, or the selftest's TRIGGER_IOPF) reported by its IOMMU
 * driver go to the fault handler of the domain attached where they came
 * from (the RID, or a PASID), grouped by group id: requests before the last
 * of a group wait on the device's partial list; the last makes an
 * iopf_group that the handler (iommufd's, which queues it for user space)
 * must answer with iopf_group_response(), which the driver's page_response()
 * sends to the device.
 *
 * A device takes page requests once its driver added it to an IOPF queue
 * (iommu_dev_enable_feature(IOMMU_DEV_FEAT_IOPF) -> iopf_queue_add_device());
 * removing it answers whatever is pending with INVALID.
 */
import type { Allocation } from '../kernel/alloc.js';
import type { Device } from '../base/device.js';
import type { Kernel } from '../kernel/kernel.js';
import { EBUSY, EINVAL, ENODEV, ENOMEM } from '../kernel/errno.js';
import type { IommuDomain } from './domain.js';
import { IOMMU_DOMAIN_NESTED } from './domain.js';
import { dev_iommu_ops } from './domain-alloc.js';
import { IOMMU_NO_PASID } from './attach.js';
import { iommu_attach_handle_get } from './pasid.js';

/** enum iommu_fault_type */
export const IOMMU_FAULT_PAGE_REQ = 1;
/** struct iommu_fault_page_request flags */
export const IOMMU_FAULT_PAGE_REQUEST_PASID_VALID = 1 << 0;
export const IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE = 1 << 1;
/** Permissions asked for (IOMMU_FAULT_PERM_*). */
export const IOMMU_FAULT_PERM_READ = 1 << 0;
export const IOMMU_FAULT_PERM_WRITE = 1 << 1;
/** enum iommu_page_response_code */
export const IOMMU_PAGE_RESP_SUCCESS = 0;
export const IOMMU_PAGE_RESP_INVALID = 1;
export const IOMMU_PAGE_RESP_FAILURE = 2;
/** enum iommu_dev_features */
export const IOMMU_DEV_FEAT_IOPF = 2;

/** struct iommu_fault_page_request */
export interface IommuFaultPrm {
  readonly flags: number;
  readonly pasid: number;
  readonly grpid: number;
  readonly perm: number;
  readonly addr: bigint;
}

/** struct iopf_fault */
export interface IopfFault {
  readonly type: number;
  readonly prm: IommuFaultPrm;
  /** A partial fault's kzalloc (the last fault of a group lives in the group). */
  readonly mem: Allocation | null;
}

/** struct iommu_page_response, as a driver's page_response() gets it. */
export interface IommuPageResponse {
  readonly pasid: number;
  readonly grpid: number;
  readonly code: number;
}

/** The attach handle a fault is routed by: the domain and what its attacher stored with it. */
export interface IommuAttachHandle {
  readonly domain: IommuDomain;
  readonly handle: unknown;
}

/** struct iopf_queue */
export interface IopfQueue {
  readonly name: string;
  readonly devices: Set<IommuFaultParam>;
  readonly mem: Allocation;
}

/** struct iommu_fault_param: a device on an IOPF queue. */
export interface IommuFaultParam {
  readonly dev: Device;
  readonly queue: IopfQueue;
  users: number;
  /** Requests waiting for the last one of their group. */
  readonly partial: IopfFault[];
  /** Groups reported and not yet handed over or answered (fault_param->faults). */
  readonly faults: Set<IopfGroup>;
  readonly mem: Allocation;
}

/** struct iopf_group */
export interface IopfGroup {
  readonly faultParam: IommuFaultParam;
  readonly lastFault: IopfFault;
  /** The partial faults of the group in order, then the last one. */
  readonly faults: IopfFault[];
  attach: IommuAttachHandle | null;
  /** The group's kzalloc; null for the on-stack abort group. */
  readonly mem: Allocation | null;
  /** iommufd's response cookie, once user space read it. */
  cookie: number;
}

/** iopf_queue_alloc() */
export function iopf_queue_alloc(k: Kernel, name: string): IopfQueue | null {
  const mem = k.alloc.alloc('iopf_queue', name, 'iopf_queue_alloc');
  return mem ? { name, devices: new Set(), mem } : null;
}

/** iopf_queue_free(): every device must be gone. */
export function iopf_queue_free(k: Kernel, queue: IopfQueue): void {
  for (const p of [...queue.devices]) iopf_queue_remove_device(k, queue, p.dev);
  k.alloc.free(queue.mem, 'iopf_queue_free');
}

/** iopf_queue_add_device(): -ENODEV without a page_response op, -EBUSY when already on a queue. */
export function iopf_queue_add_device(k: Kernel, queue: IopfQueue, dev: Device): number {
  const ops = dev_iommu_ops(dev);
  if (!ops.page_response) return -ENODEV;
  const param = dev.iommu!;
  if (param.fault_param) return -EBUSY;
  const mem = k.alloc.alloc('iommu_fault_param', dev, 'iopf_queue_add_device');
  if (!mem) return -ENOMEM;
  const fp: IommuFaultParam = { dev, queue, users: 1, partial: [], faults: new Set(), mem };
  queue.devices.add(fp);
  param.fault_param = fp;
  return 0;
}

/** iopf_put_dev_fault_param() */
function putFaultParam(k: Kernel, fp: IommuFaultParam): void {
  if (--fp.users === 0) k.alloc.free(fp.mem, 'iopf_put_dev_fault_param');
}

/** iopf_queue_remove_device(): partial faults dropped, pending groups answered INVALID. */
export function iopf_queue_remove_device(k: Kernel, queue: IopfQueue, dev: Device): void {
  const fp = dev.iommu?.fault_param ?? null;
  if (
    k.printk.warn(
      !fp || fp.queue !== queue,
      'iopf_queue_remove_device',
      'WARN_ON(!fault_param || fault_param->queue != queue)',
    )
  )
    return;
  const ops = dev_iommu_ops(dev);
  for (const f of fp!.partial.splice(0)) k.alloc.free(f.mem, 'iopf_queue_remove_device');
  for (const g of [...fp!.faults]) {
    ops.page_response!(k, dev, g.lastFault, respOf(g.lastFault, IOMMU_PAGE_RESP_INVALID));
    fp!.faults.delete(g);
    iopf_free_group(k, g);
  }
  queue.devices.delete(fp!);
  dev.iommu!.fault_param = null;
  putFaultParam(k, fp!);
}

const respOf = (f: IopfFault, code: number): IommuPageResponse => ({
  pasid: f.prm.pasid,
  grpid: f.prm.grpid,
  code,
});

/** __iopf_free_group(): the partial faults, and the group's reference on the fault param. */
function freeGroupFaults(k: Kernel, g: IopfGroup): void {
  for (const f of g.faults)
    if (!(f.prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE)) k.alloc.free(f.mem, 'iopf_free_group');
  putFaultParam(k, g.faultParam);
}

/** iopf_free_group() */
export function iopf_free_group(k: Kernel, g: IopfGroup): void {
  freeGroupFaults(k, g);
  k.alloc.free(g.mem, 'iopf_free_group');
}

/** iopf_group_response(): the driver answers the device for the whole group. */
export function iopf_group_response(k: Kernel, g: IopfGroup, code: number): void {
  const dev = g.faultParam.dev;
  dev_iommu_ops(dev).page_response!(k, dev, g.lastFault, respOf(g.lastFault, code));
  g.faultParam.faults.delete(g);
}

/** iopf_group_dequeue(): the handler took the group off the pending list; it must answer it later. */
export function iopf_group_dequeue(g: IopfGroup): void {
  g.faultParam.faults.delete(g);
}

/**
 * find_fault_handler(): the handle attached at the fault's PASID (or the
 * RID's nested domain, for drivers whose user owns the PASID table), or at
 * the RID; only if its domain has a fault handler.
 */
function findFaultHandler(dev: Device, prm: IommuFaultPrm): IommuAttachHandle | null {
  const group = dev.iommu_group;
  if (!group) return null;
  let h: IommuAttachHandle | null;
  if (prm.flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) {
    h = iommu_attach_handle_get(group, prm.pasid);
    if (!h) {
      if (!dev_iommu_ops(dev).user_pasid_table) return null;
      h = iommu_attach_handle_get(group, IOMMU_NO_PASID);
      if (h && h.domain.type !== IOMMU_DOMAIN_NESTED) h = null;
      if (!h) return null;
    }
  } else {
    h = iommu_attach_handle_get(group, IOMMU_NO_PASID);
    if (!h) return null;
  }
  return h.domain.iopf_handler ? h : null;
}

/**
 * iommu_report_device_fault(): route a page request. No handler (or no
 * fault param) answers it INVALID at once (-EINVAL); a request that is not
 * the last of its group waits; the last makes the group (an allocation
 * failure, or a handler refusing it, answers FAILURE).
 */
export function iommu_report_device_fault(k: Kernel, dev: Device, type: number, prm: IommuFaultPrm): number {
  const ops = dev_iommu_ops(dev);
  const evt: IopfFault = { type, prm, mem: null };
  const attach = findFaultHandler(dev, prm);
  const fp = attach ? (dev.iommu!.fault_param ?? null) : null;
  if (!attach || k.printk.warn(!fp, 'iommu_report_device_fault', 'WARN_ON(!iopf_param)')) {
    if (type === IOMMU_FAULT_PAGE_REQ) ops.page_response!(k, dev, evt, respOf(evt, IOMMU_PAGE_RESP_INVALID));
    return -EINVAL;
  }
  fp!.users++;
  if (!(prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE)) {
    // report_partial_fault()
    const mem = k.alloc.alloc('iopf_fault', dev, 'report_partial_fault');
    if (mem) fp!.partial.push({ type, prm, mem });
    putFaultParam(k, fp!);
    return mem ? 0 : -ENOMEM;
  }
  // iopf_group_alloc(): on failure the on-stack abort group, which still answers the request.
  const mem = k.alloc.alloc('iopf_group', dev, 'iopf_group_alloc');
  const faults = fp!.partial.filter((f) => f.prm.grpid === prm.grpid);
  for (const f of faults) fp!.partial.splice(fp!.partial.indexOf(f), 1);
  const g: IopfGroup = {
    faultParam: fp!,
    lastFault: evt,
    faults: [...faults, evt],
    attach: null,
    mem,
    cookie: 0,
  };
  fp!.faults.add(g);
  if (mem) {
    g.attach = attach;
    if (attach!.domain.iopf_handler!(g) === 0) return 0;
  }
  k.printk.log('warn', dev.name, `iopf with pasid ${prm.pasid} aborted`);
  iopf_group_response(k, g, IOMMU_PAGE_RESP_FAILURE);
  if (mem) iopf_free_group(k, g);
  else freeGroupFaults(k, g);
  return 0;
}

/** iommu_dev_enable_feature() / iommu_dev_disable_feature(): the driver's dev_(en|dis)able_feat. */
export function iommu_dev_enable_feature(k: Kernel, dev: Device, feat: number): number {
  const ops = dev.iommu?.iommu_dev?.ops;
  return ops?.dev_enable_feat ? ops.dev_enable_feat(k, dev, feat) : -ENODEV;
}

export function iommu_dev_disable_feature(k: Kernel, dev: Device, feat: number): number {
  const ops = dev.iommu?.iommu_dev?.ops;
  return ops?.dev_disable_feat ? ops.dev_disable_feat(k, dev, feat) : -EBUSY;
}
