// SPDX-License-Identifier: GPL-2.0-only
// A VFIO user's path on the ground-truth x86-q35-vtd-switch machine (VT-d,
// an e1000e and a virtio-pci device behind a switch without ACS in one
// group, another virtio-pci device alone): driverctl set-override to
// vfio-pci, open the VFIO device cdev, VFIO_DEVICE_BIND_IOMMUFD, attach to
// an IOAS, see the MSI window as a hole in IOVA_RANGES, DMA through the
// domain into the process. Binding fails while another member of the group
// is driven by a kernel driver (the "my NIC shares a group" problem).
import { describe, expect, it } from 'vitest';
import { EINVAL, ENODEV, EPERM } from '../../src/kernel/errno.js';
import { loadPlatform } from '../../src/platform/load.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { UserProcess } from '../../src/mm/user-mm.js';
import { Iommufd } from '../../src/iommufd/api.js';
import type { IommufdDevice } from '../../src/iommufd/device.js';
import type { HwptPaging } from '../../src/iommufd/hw-pagetable.js';
import type { Device } from '../../src/base/device.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { vfio_pci_set_override } from '../../src/vfio/pci.js';
import {
  vfioDeviceAttachPt,
  vfioDeviceBindIommufd,
  vfioDeviceDetachPt,
  vfioDeviceOpen,
} from '../../src/vfio/device-cdev.js';
import { dmaRead, dmaWrite } from '../../src/dma/device-dma.js';
import { IOMMU_DOMAIN_BLOCKED } from '../../src/iommu/domain.js';
import { activeUnits } from '../../src/drivers/intel/state.js';
import type { VtdRegs } from '../../src/drivers/intel/hw.js';
import { expectCleanUnwinds, finishRun } from '../support/fail-nth.js';

const P = 4096;

function boot(failNth?: number) {
  const { desc, file } = loadPlatform('x86-q35-vtd-switch');
  const { k } = bootPlatform(desc, { file, profile: 'v6.12', failNth });
  const proc = new UserProcess(k);
  const dev = (name: string): Device => [...k.base.devices].find((d) => d.name === name)!;
  return { k, proc, dev };
}

const open = (k: Kernel, proc: UserProcess) => Iommufd.open(k, proc) as Iommufd;

describe('VFIO devices on iommufd', () => {
  it('a device alone in its group: bind, attach to an IOAS, the MSI hole, DMA into the process, close', () => {
    const { k, proc, dev } = boot();
    const nic = dev('0000:05:00.0');
    expect(nic.driver?.name).toBe('virtio-pci');
    // Not a VFIO device yet: no cdev.
    expect(vfioDeviceOpen(proc, nic)).toBe(-ENODEV);
    expect(vfio_pci_set_override(k, nic)).toBe(0);
    expect(nic.driver?.name).toBe('vfio-pci');
    // vfio-pci took no default-domain reference: the group is free for a user-space owner.
    expect(nic.iommu_group!.owner_cnt).toBe(0);

    const fd = open(k, proc);
    const vfd = vfioDeviceOpen(proc, nic);
    expect(vfd).toBeGreaterThan(2);
    const { errno, devId } = vfioDeviceBindIommufd(proc, vfd, fd.file);
    expect(errno).toBe(0);
    expect(vfioDeviceBindIommufd(proc, vfd, fd.file).errno).toBe(-EINVAL); // bound once
    const group = nic.iommu_group!;
    expect(group.owner).toBe(fd.file.ctx);
    expect(group.domain!.type).toBe(IOMMU_DOMAIN_BLOCKED);

    const ioas = fd.ioasAlloc().id;
    const att = vfioDeviceAttachPt(proc, vfd, ioas);
    expect(att.errno).toBe(0);
    const hwpt = fd.file.ctx.peek(att.ptId, 'HWPT_PAGING') as HwptPaging;
    // QEMU's VT-d has no snoop control (ECAP.SC clear): nothing asks the domain to force snooping.
    expect(hwpt.enforceCacheCoherency).toBe(false);
    expect(group.domain).toBe(hwpt.domain);
    // The interrupt window is reserved in the IOAS (IOVA_RANGES has a hole there), and QEMU's
    // VT-d (aw-bits 39) gives the domain a 39-bit aperture.
    const ranges = fd.iovaRanges(ioas).ranges;
    expect(ranges).toEqual([
      [0n, 0xfedfffffn],
      [0xfef00000n, (1n << 39n) - 1n],
    ]);
    // iopt_check_iova(): a fixed IOVA over a reserved range is -EINVAL.
    expect(fd.ioasMap({ ioasId: ioas, userVa: 0, length: P, iova: 0xfee00000 }).errno).toBe(-EINVAL);

    // DMA through the VT-d domain lands in the process's memory.
    const buf = proc.mmap(4 * P);
    const { iova } = fd.ioasMap({ ioasId: ioas, userVa: buf, length: 4 * P });
    expect(dmaWrite(k, nic, Number(iova) + 10, Uint8Array.of(0xca, 0xfe)).ok).toBe(true);
    expect(proc.read(buf + 10, 2)).toEqual(Uint8Array.of(0xca, 0xfe));
    expect(proc.write(buf + P, Uint8Array.of(7))).toBe(0);
    expect(dmaRead(k, nic, Number(iova) + P, 1).data).toEqual(Uint8Array.of(7));
    // The device, holding the context, outlives close(/dev/iommu) until its own fd closes.
    expect(fd.destroy(devId)).toBe(-16); // EBUSY: VFIO holds it
    fd.close();
    expect(fd.file.ctx.isReleased).toBe(false);
    expect(proc.close(vfd)).toBe(0);
    expect(fd.file.ctx.isReleased).toBe(true);
    expect(group.owner).toBeNull();
    expect(group.domain).toBe(group.default_domain);
    expect(proc.accounting.mmPinnedVm).toBe(0);
  });

  it('a group shared with a device a kernel driver still drives: EPERM until that one is given to vfio-pci too', () => {
    const { k, proc, dev } = boot();
    const e1000e = dev('0000:03:00.0');
    const other = dev('0000:04:00.0');
    expect(e1000e.iommu_group).toBe(other.iommu_group);
    expect(vfio_pci_set_override(k, e1000e)).toBe(0);
    const fd = open(k, proc);
    const vfd = vfioDeviceOpen(proc, e1000e);
    // virtio-pci on 04:00.0 uses the group's default domain: the claim fails.
    expect(vfioDeviceBindIommufd(proc, vfd, fd.file).errno).toBe(-EPERM);
    expect(e1000e.iommu_group!.owner).toBeNull();
    // The PCIe ports in the group are driver_managed_dma: only 04:00.0 is in the way.
    expect(vfio_pci_set_override(k, other)).toBe(0);
    expect(vfioDeviceBindIommufd(proc, vfd, fd.file).errno).toBe(0);
    // A second device of the group binds to the same context and shares the attachment.
    const vfd2 = vfioDeviceOpen(proc, other);
    expect(vfioDeviceBindIommufd(proc, vfd2, fd.file).errno).toBe(0);
    const ioas = fd.ioasAlloc().id;
    const a = vfioDeviceAttachPt(proc, vfd, ioas);
    const b = vfioDeviceAttachPt(proc, vfd2, ioas);
    expect(a.errno).toBe(0);
    expect(b).toEqual({ errno: 0, ptId: a.ptId });
    // Meanwhile no kernel driver can take the group's default domain.
    const idev = [...fd.file.ctx.entries()].find((o) => o.type === 'DEVICE') as IommufdDevice;
    expect(idev.igroup.attach.get(0)!.devices.length).toBe(2);
    // Replace onto a manual HWPT, detach one, close both.
    const h = fd.hwptAlloc(idev.id, ioas);
    expect(h.errno).toBe(0);
    expect(vfioDeviceAttachPt(proc, vfd, h.id)).toEqual({ errno: 0, ptId: h.id });
    expect(vfioDeviceDetachPt(proc, vfd2)).toBe(0);
    expect(proc.close(vfd)).toBe(0);
    expect(proc.close(vfd2)).toBe(0);
    fd.close();
    expect(e1000e.iommu_group!.owner).toBeNull();
  });

  it('every allocation of the VFIO path can fail without a leak', () => {
    const body = (failNth?: number) => {
      const { k, proc, dev } = boot(failNth);
      const nic = dev('0000:05:00.0');
      if (nic && vfio_pci_set_override(k, nic) === 0) {
        const fd = Iommufd.open(k, proc);
        if (typeof fd !== 'number') {
          const vfd = vfioDeviceOpen(proc, nic);
          vfioDeviceBindIommufd(proc, vfd, fd.file);
          const ioas = fd.ioasAlloc().id;
          vfioDeviceAttachPt(proc, vfd, ioas);
          const buf = proc.mmap(2 * P);
          fd.ioasMap({ ioasId: ioas, userVa: buf, length: 2 * P });
          fd.close();
          proc.close(vfd);
        }
      }
      return k;
    };
    const total = body().alloc.attempts;
    const { injected } = expectCleanUnwinds((n) => finishRun(body(n)), total);
    expect(injected).toBeGreaterThan(0);
  });
});

describe('snoop control on VT-d', () => {
  it('with ECAP.SC, enforce_cache_coherency makes the second-stage leaves carry SNP (bit 11); without it the HWPT is not forced', () => {
    const { k, proc, dev } = boot();
    // QEMU's VT-d has no snoop control; this unit gets it (ECAP bit 7).
    for (const unit of activeUnits(k))
      (unit as { regs: VtdRegs }).regs = { ...unit.regs, ecap: unit.regs.ecap | 0x80n };
    const nic = dev('0000:05:00.0');
    expect(vfio_pci_set_override(k, nic)).toBe(0);
    const fd = open(k, proc);
    const vfd = vfioDeviceOpen(proc, nic);
    expect(vfioDeviceBindIommufd(proc, vfd, fd.file).errno).toBe(0);
    const ioas = fd.ioasAlloc().id;
    const att = vfioDeviceAttachPt(proc, vfd, ioas);
    expect(att.errno).toBe(0);
    const hwpt = fd.file.ctx.peek(att.ptId, 'HWPT_PAGING') as HwptPaging;
    // The device can enforce cache coherency, so iommufd asked before anything was mapped.
    expect(hwpt.enforceCacheCoherency).toBe(true);
    const buf = proc.mmap(2 * P);
    const { iova } = fd.ioasMap({ ioasId: ioas, userVa: buf, length: 2 * P });
    const leaves = hwpt.domain!.pgtable!.leaves().filter((l) => BigInt(l.iova) >= iova);
    expect(leaves.length).toBe(2);
    for (const l of leaves) expect((l.pte >> 11n) & 1n).toBe(1n);
    // DMA still lands in the process.
    expect(dmaWrite(k, nic, Number(iova), Uint8Array.of(9)).ok).toBe(true);
    expect(proc.read(buf, 1)).toEqual(Uint8Array.of(9));
  });
});
