// SPDX-License-Identifier: GPL-2.0-only
/**
 * vEVENT queues (drivers/iommu/iommufd/eventq.c, v6.15 on:
 * iommufd_veventq_alloc(), the vEVENTQ file's read/release,
 * iommufd_viommu_report_event() and iommufd_vevent_handler()).
 *
 * A vIOMMU has at most one queue per event type. The driver reports events
 * (for the VM: a vSMMU's event records, with the VM's device ids); each
 * waits on the queue as a record { header { flags, sequence }, payload }
 * until user space read()s it. A queue holds at most `depth` events: past
 * that, events are dropped and one LOST_EVENTS header (no payload) sits at
 * the tail, taking a sequence number each time a loss happens, so the
 * reader sees the gap. Sequence numbers count modulo 2^31.
 */
import type { Allocation } from '../kernel/alloc.js';
import { EEXIST, EFAULT, EINVAL, ENOMEM, EOPNOTSUPP } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import type { UserProcess } from '../mm/user-mm.js';
import { EventqFile } from './eventq.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';
import type { IommufdViommu } from './viommu.js';
import { getViommu } from './viommu.js';
import type { Handler } from './ucmd.js';
import { n32 } from './ucmd.js';

/** IOMMU_VEVENTQ_TYPE_DEFAULT: no driver reports it. */
export const IOMMU_VEVENTQ_TYPE_DEFAULT = 0;
/** IOMMU_VEVENTQ_FLAG_LOST_EVENTS: the header that marks dropped events. */
export const IOMMU_VEVENTQ_FLAG_LOST_EVENTS = 1 << 0;
/** sizeof(struct iommufd_vevent_header) */
export const VEVENT_HEADER_SIZE = 8;

/** struct iommufd_vevent: a queued event (or the queue's lost-events header). */
interface Vevent {
  flags: number;
  sequence: number;
  readonly data: Uint8Array;
  readonly mem: Allocation | null;
}

/** struct iommufd_veventq */
export interface IommufdVeventq extends IommufdObject {
  readonly type: 'VEVENTQ';
  readonly viommu: IommufdViommu;
  readonly veventqType: number;
  readonly depth: number;
  /** Events waiting to be read, oldest first; the lost-events header can be the last. */
  readonly deliver: Vevent[];
  /** Events queued (the lost-events header not counted). */
  numEvents: number;
  /** The next sequence number. */
  sequence: number;
  readonly lostEventsHeader: Vevent;
}

/** iommufd_viommu_find_veventq() */
function findVeventq(viommu: IommufdViommu, type: number): IommufdVeventq | null {
  return viommu.veventqs.find((q) => q.veventqType === type) ?? null;
}

/**
 * iommufd_vevent_handler(): a trailing lost-events header is taken off
 * first, then the new record (which may be that header again) goes to the
 * tail with the next sequence number.
 */
function veventHandler(q: IommufdVeventq, v: Vevent): void {
  if (q.deliver[q.deliver.length - 1] === q.lostEventsHeader) q.deliver.pop();
  q.deliver.push(v);
  v.sequence = q.sequence;
  q.sequence = (q.sequence + 1) & 0x7fffffff;
}

/**
 * iommufd_viommu_report_event(): a driver's event of `type` for the VM:
 * -EOPNOTSUPP without a queue of that type; when the queue is full (or the
 * record cannot be allocated, -ENOMEM) the loss is recorded instead.
 */
export function iommufd_viommu_report_event(
  k: Kernel,
  viommu: IommufdViommu,
  type: number,
  data: Uint8Array,
): number {
  const q = findVeventq(viommu, type);
  if (!q) return -EOPNOTSUPP;
  if (q.numEvents === q.depth) {
    veventHandler(q, q.lostEventsHeader);
    return 0;
  }
  const mem = k.alloc.alloc('iommufd_vevent', 'iommufd', 'iommufd_viommu_report_event');
  if (!mem) {
    veventHandler(q, q.lostEventsHeader);
    return -ENOMEM;
  }
  veventHandler(q, { flags: 0, sequence: 0, data: data.slice(), mem });
  q.numEvents++;
  return 0;
}

/** The vEVENTQ file ("[iommufd-viommu-event]"): read() only. */
class VeventqFile extends EventqFile {
  readonly name = '[iommufd-viommu-event]';
  constructor(
    ctx: IommufdCtx,
    private readonly q: IommufdVeventq,
  ) {
    super(ctx, q);
  }

  /**
   * iommufd_veventq_fops_read(): whole records while they fit (a header, and
   * its payload unless it is the lost-events one); a record that does not
   * fit stays queued.
   */
  read(buf: number, count: number, proc: UserProcess): number {
    const q = this.q;
    const k = this.ctx.k;
    let done = 0;
    let rc = 0;
    while (q.deliver.length) {
      const cur = q.deliver[0];
      const lost = cur === q.lostEventsHeader;
      // iommufd_veventq_deliver_fetch() copies the lost-events header out before unlinking it.
      const copy = lost ? k.alloc.alloc('iommufd_vevent', 'iommufd', 'iommufd_veventq_deliver_fetch') : null;
      if (lost && !copy) break;
      const fits =
        done < count &&
        VEVENT_HEADER_SIZE <= count - done &&
        (lost || VEVENT_HEADER_SIZE + cur.data.length <= count - done);
      if (!fits) {
        k.alloc.free(copy, 'iommufd_veventq_fops_read');
        break;
      }
      const hdr = new Uint8Array(VEVENT_HEADER_SIZE);
      const dv = new DataView(hdr.buffer);
      dv.setUint32(0, cur.flags, true);
      dv.setUint32(4, cur.sequence, true);
      if (proc.write(buf + done, hdr)) {
        k.alloc.free(copy, 'iommufd_veventq_fops_read');
        rc = -EFAULT;
        break;
      }
      // The header counts as read even when its payload then cannot be copied (the event stays queued).
      done += VEVENT_HEADER_SIZE;
      if (cur.data.length && proc.write(buf + done, cur.data)) {
        k.alloc.free(copy, 'iommufd_veventq_fops_read');
        rc = -EFAULT;
        break;
      }
      q.deliver.shift();
      done += cur.data.length;
      if (lost) {
        k.alloc.free(copy, 'iommufd_veventq_fops_read');
      } else {
        q.numEvents--;
        k.alloc.free(cur.mem, 'iommufd_veventq_fops_read');
      }
    }
    return done === 0 ? rc : done;
  }
}

/** iommufd_veventq_abort() / _destroy(): queued events freed, off the vIOMMU. */
function veventqDestroy(k: Kernel, q: IommufdVeventq): void {
  for (const v of q.deliver.splice(0))
    if (v !== q.lostEventsHeader) k.alloc.free(v.mem, 'iommufd_veventq_abort');
  q.numEvents = 0;
  const list = q.viommu.veventqs;
  const i = list.indexOf(q);
  if (i >= 0) list.splice(i, 1);
  q.viommu.users--;
}

export const veventqHandlers: Readonly<Record<string, Handler>> = {
  /** iommufd_veventq_alloc() */
  IOMMU_VEVENTQ_ALLOC: (u) => {
    const c = u.cmd;
    const ctx = u.ctx;
    const k = ctx.k;
    const type = n32(c.type);
    if (c.flags || c.__reserved || type === IOMMU_VEVENTQ_TYPE_DEFAULT) return -EOPNOTSUPP;
    const depth = n32(c.veventq_depth);
    if (!depth) return -EINVAL;
    const viommu = getViommu(ctx, n32(c.viommu_id));
    if (typeof viommu === 'number') return viommu;
    if (findVeventq(viommu, type)) return -EEXIST;
    const q = ctx.allocObject((id, mem: Allocation): IommufdVeventq => {
      const v: IommufdVeventq = {
        id,
        type: 'VEVENTQ',
        users: 1,
        mem,
        viommu,
        veventqType: type,
        depth,
        deliver: [],
        numEvents: 0,
        sequence: 0,
        lostEventsHeader: {
          flags: IOMMU_VEVENTQ_FLAG_LOST_EVENTS,
          sequence: 0,
          data: new Uint8Array(0),
          mem: null,
        },
        destroy: () => veventqDestroy(k, v),
      };
      return v;
    }, 'veventq');
    if (typeof q === 'number') return q;
    viommu.users++;
    viommu.veventqs.push(q);
    c.out_veventq_id = q.id;
    const fd = new VeventqFile(ctx, q).install();
    c.out_veventq_fd = fd;
    const rc = u.respond();
    if (rc) {
      ctx.proc.close(fd); // put_unused_fd() + fput(): the file's release drops its holds
      ctx.abortAndDestroy(q);
      return rc;
    }
    ctx.finalize(q);
    return 0;
  },
};
