// SPDX-License-Identifier: GPL-2.0-only
// Fault queues through /dev/iommu, re-expressing the selftest's iopf test
// (iommufd.c, test_cmd_trigger_iopf() in iommufd_utils.h): a nested HWPT
// with a fault queue, a page request raised by the mock device, read from
// the fault descriptor as struct iommu_hwpt_pgfault and answered with
// struct iommu_hwpt_page_response; what the driver is told; the answers the
// kernel gives itself on detach; who holds the queue.
import { describe, expect, it } from 'vitest';
import { EBUSY, EINVAL, ENOENT, EOPNOTSUPP } from '../../src/kernel/errno.js';
import { mockState } from '../../src/drivers/iommufd-selftest/mock.js';
import { IOMMU_HWPT_DATA_SELFTEST } from '../../src/drivers/iommufd-selftest/mock-domain.js';
import type { IommufdDevice } from '../../src/iommufd/device.js';
import { IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_FAULT_ID_VALID } from '../../src/iommufd/hw-pagetable.js';
import { pageResponseLayout, pgfaultLayout } from '../../src/iommufd/fault.js';
import { decode, encode } from '../../src/iommufd/uapi.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';
import { mockDeviceOnIoas, mockMachine } from '../support/iommufd.js';

const ESPIPE = 29;
const PERM_RW = 3;
const data = new Uint8Array(4);

const setup = (failNth?: number) => mockMachine({ failNth });

/** A mock device on an IOAS, a nest parent, and a nested HWPT with a fault queue. */
function fixture() {
  const s = mockDeviceOnIoas();
  const { fd, ioas, dev } = s;
  const fault = fd.faultAlloc();
  expect(fault.errno).toBe(0);
  const parent = fd.hwptAlloc(dev.idevId, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
  const call = (faultId: number, flags = IOMMU_HWPT_FAULT_ID_VALID) => {
    const buf = s.proc.mmap(4096);
    s.proc.write(buf, data);
    const r = fd.call('IOMMU_HWPT_ALLOC', 'hwpt_alloc', {
      flags,
      dev_id: dev.idevId,
      pt_id: parent.id,
      data_type: IOMMU_HWPT_DATA_SELFTEST,
      data_len: 4,
      data_uptr: BigInt(buf),
      fault_id: faultId,
    });
    return { errno: r.errno, id: Number(r.out.out_hwpt_id) };
  };
  const iopf = call(fault.id);
  expect(iopf.errno).toBe(0);
  const buf = s.proc.mmap(4096);
  return { ...s, fd, ioas, dev, fault, parent, iopf, call, buf };
}

type Fx = ReturnType<typeof fixture>;
const readFaults = (f: Fx, count: number) => {
  const n = f.proc.sysRead(f.fault.fd, f.buf, count);
  const recs = [];
  for (let i = 0; n > 0 && i < n / pgfaultLayout.size; i++)
    recs.push(
      decode(pgfaultLayout, f.proc.read(f.buf + i * pgfaultLayout.size, pgfaultLayout.size) as Uint8Array),
    );
  return { n, recs };
};
const respond = (f: Fx, answers: [number, number][]) => {
  answers.forEach(([cookie, code], i) => {
    const b = new Uint8Array(pageResponseLayout.size);
    encode(pageResponseLayout, { cookie, code }, b);
    f.proc.write(f.buf + 2048 + i * 8, b);
  });
  return f.proc.sysWrite(f.fault.fd, f.buf + 2048, answers.length * 8);
};

describe('page faults to user space', () => {
  it('test_cmd_trigger_iopf: one request, read as a record, answered; the driver hears the answer', () => {
    const f = fixture();
    expect(f.fd.mockDomainReplace(f.dev.stdevId, f.iopf.id).errno).toBe(0);
    expect(f.fd.triggerIopf(f.dev.idevId, { pasid: 1, grpid: 2, perm: PERM_RW, addr: 0xdeadbeaf })).toBe(0);
    const { n, recs } = readFaults(f, 40);
    expect(n).toBe(40);
    expect(recs[0]).toMatchObject({
      flags: 3, // LAST_PAGE | PASID_VALID
      dev_id: f.dev.idevId,
      pasid: 1,
      grpid: 2,
      perm: PERM_RW,
      addr: 0xdeadbeafn,
      length: 0,
      cookie: 1,
    });
    expect(respond(f, [[1, 0]])).toBe(8);
    expect(mockState(f.k)!.pageResponses).toEqual([
      { dev: 'iommufd_mock0', resp: { pasid: 1, grpid: 2, code: 0 } },
    ]);
    // Answered once: the same cookie again, an unknown code.
    expect(respond(f, [[1, 0]])).toBe(-EINVAL);
    expect(f.fd.triggerIopf(f.dev.idevId, { grpid: 5 })).toBe(0);
    const second = readFaults(f, 80);
    expect(second.n).toBe(40);
    expect(second.recs[0]).toMatchObject({ flags: 2, pasid: 0, grpid: 5, cookie: 1 });
    expect(respond(f, [[1, 7]])).toBe(-EINVAL);
    expect(respond(f, [[1, 1]])).toBe(8);
  });

  it('reads and writes come in whole records; a buffer too small for the first group is EINVAL', () => {
    const f = fixture();
    f.fd.mockDomainReplace(f.dev.stdevId, f.iopf.id);
    expect(readFaults(f, 40).n).toBe(0); // nothing pending
    expect(f.proc.sysRead(f.fault.fd, f.buf, 39)).toBe(-ESPIPE);
    expect(f.proc.sysWrite(f.fault.fd, f.buf, 7)).toBe(-ESPIPE);
    f.fd.triggerIopf(f.dev.idevId, { grpid: 1 });
    f.fd.triggerIopf(f.dev.idevId, { grpid: 2 });
    expect(f.proc.sysRead(f.fault.fd, f.buf, 0)).toBe(-EINVAL);
    // Two groups, room for one: the second stays queued.
    const one = readFaults(f, 40);
    expect(one.recs.map((r) => r.grpid)).toEqual([1]);
    const two = readFaults(f, 400);
    expect(two.recs.map((r) => [r.grpid, r.cookie])).toEqual([[2, 2]]);
    // A bad answer after a good one: the good one counts.
    expect(
      respond(f, [
        [1, 0],
        [9, 0],
      ]),
    ).toBe(8);
    expect(f.proc.sysRead(99, f.buf, 40)).toBe(-9);
  });

  it('faults nobody answered are answered INVALID when the device moves away or the queue goes', () => {
    const f = fixture();
    f.fd.mockDomainReplace(f.dev.stdevId, f.iopf.id);
    f.fd.triggerIopf(f.dev.idevId, { grpid: 1 }); // read, not answered
    readFaults(f, 40);
    f.fd.triggerIopf(f.dev.idevId, { grpid: 2 }); // not even read
    const log = mockState(f.k)!.pageResponses;
    expect(f.fd.mockDomainReplace(f.dev.stdevId, f.parent.id).errno).toBe(0);
    expect(log.map((l) => [l.resp.grpid, l.resp.code])).toEqual([
      [2, 1],
      [1, 1],
    ]);
    // Not attached to a fault-capable domain any more: the request is refused at once (INVALID).
    expect(f.fd.triggerIopf(f.dev.idevId, { grpid: 3 })).toBe(0);
    expect(log.at(-1)!.resp).toEqual({ pasid: 0, grpid: 3, code: 1 });
    expect(readFaults(f, 40).n).toBe(0);
    // IOPF went off with the last fault-capable attachment.
    const idev = f.fd.file.ctx.peek(f.dev.idevId, 'DEVICE') as IommufdDevice;
    expect(idev.iopfEnabled).toBe(0);
    expect(idev.dev.iommu!.fault_param).toBeNull();
  });

  it('the checks: flags, a paging HWPT cannot have a queue in 6.12, unknown fault ids; who holds whom', () => {
    const f = fixture();
    expect(f.fd.call('IOMMU_FAULT_QUEUE_ALLOC', 'fault_alloc', { flags: 1 }).errno).toBe(-EOPNOTSUPP);
    expect(f.fd.hwptAlloc(f.dev.idevId, f.ioas, IOMMU_HWPT_FAULT_ID_VALID).errno).toBe(-EOPNOTSUPP);
    expect(f.call(99).errno).toBe(-ENOENT);
    expect(f.call(f.ioas).errno).toBe(-ENOENT);
    // The open descriptor and the HWPT each hold the queue.
    expect(f.fd.destroy(f.fault.id)).toBe(-EBUSY);
    expect(f.proc.close(f.fault.fd)).toBe(0);
    expect(f.fd.destroy(f.fault.id)).toBe(-EBUSY);
    expect(f.fd.destroy(f.iopf.id)).toBe(0);
    expect(f.fd.destroy(f.fault.id)).toBe(0);
  });

  it('an open fault descriptor keeps the context after close(/dev/iommu); closing it releases everything', () => {
    const f = fixture();
    f.fd.mockDomainReplace(f.dev.stdevId, f.iopf.id);
    f.fd.triggerIopf(f.dev.idevId, { grpid: 4 });
    f.fd.close();
    expect(f.fd.file.ctx.isReleased).toBe(false);
    expect(f.proc.close(f.fault.fd)).toBe(0);
    expect(f.fd.file.ctx.isReleased).toBe(true);
    expect(mockState(f.k)!.pageResponses.at(-1)!.resp).toEqual({ pasid: 0, grpid: 4, code: 1 });
    expect(
      f.k.alloc.liveAllocations().filter((x) => /iommufd|iopf_group|iopf_fault|fault_param/.test(x.type)),
    ).toEqual([]);
  });

  it('every allocation of a fault body can fail without a leak', () => {
    const body = (failNth?: number) => {
      const s = setup(failNth);
      if (s.fd && s.loaded === 0) {
        const fd = s.fd;
        const ioas = fd.ioasAlloc().id;
        const dev = fd.mockDomain(ioas);
        const fault = fd.faultAlloc();
        const parent = fd.hwptAlloc(dev.idevId, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT);
        const buf = s.proc.mmap(4096);
        s.proc.write(buf, data);
        const h = fd.call('IOMMU_HWPT_ALLOC', 'hwpt_alloc', {
          flags: IOMMU_HWPT_FAULT_ID_VALID,
          dev_id: dev.idevId,
          pt_id: parent.id,
          data_type: IOMMU_HWPT_DATA_SELFTEST,
          data_len: 4,
          data_uptr: BigInt(buf),
          fault_id: fault.id,
        });
        fd.mockDomainReplace(dev.stdevId, Number(h.out.out_hwpt_id));
        fd.triggerIopf(dev.idevId, { grpid: 1 });
        fd.triggerIopf(dev.idevId, { grpid: 2 });
        s.proc.sysRead(fault.fd, buf, 40);
        fd.close();
        if (fault.errno === 0) s.proc.close(fault.fd);
      } else s.fd?.close();
      return s.k;
    };
    const total = body().alloc.attempts;
    const { injected } = expectCleanUnwinds((n) => finishRun(body(n)), total);
    expect(injected).toBeGreaterThan(0);
  });
});
