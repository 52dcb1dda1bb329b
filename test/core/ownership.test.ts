// SPDX-License-Identifier: GPL-2.0-only
// DMA ownership: kernel drivers (use_default_domain) against VFIO/iommufd
// claims, firmware direct mappings that forbid the blocking domain, hot-add
// into an owned group, and what the core leaves when the group empties.
import { describe, expect, it } from 'vitest';
import { Kit } from '../support/core-kit.js';
import {
  iommu_device_claim_dma_owner,
  iommu_device_release_dma_owner,
  iommu_device_use_default_domain,
  iommu_device_unuse_default_domain,
  iommu_group_claim_dma_owner,
} from '../../src/iommu/ownership.js';
import { IOMMU_RESV_DIRECT, IOMMU_RESV_DIRECT_RELAXABLE } from '../../src/iommu/resv-regions.js';
import { device_unregister } from '../../src/base/core.js';
import { checkInvariants } from '../../src/checker/invariants.js';

describe('DMA ownership', () => {
  it('a bound kernel driver keeps VFIO out (-EPERM), and a claimed group keeps drivers out (-EBUSY)', () => {
    const kit = new Kit();
    kit.register();
    const a = kit.add('a');
    const b = kit.add('b', { sameGroupAs: 'a' });
    const vfio = { who: 'vfio' };
    expect(iommu_device_use_default_domain(kit.k, a)).toBe(0);
    expect(iommu_device_claim_dma_owner(kit.k, b, vfio)).toBe(-1);
    iommu_device_unuse_default_domain(kit.k, a);
    expect(iommu_device_claim_dma_owner(kit.k, b, vfio)).toBe(0);
    const g = kit.group(a);
    expect(g.domain).toBe(g.blocking_domain);
    expect(iommu_device_use_default_domain(kit.k, a)).toBe(-16);
    expect(iommu_device_claim_dma_owner(kit.k, a, vfio)).toBe(0); // same owner, other device
    expect(iommu_device_claim_dma_owner(kit.k, a, { who: 'other' })).toBe(-1);
    expect(iommu_group_claim_dma_owner(kit.k, g, vfio)).toBe(-1);
    iommu_device_release_dma_owner(kit.k, a);
    expect(g.owner_cnt).toBe(1);
    iommu_device_release_dma_owner(kit.k, b);
    expect(g.owner).toBeNull();
    expect(g.domain).toBe(g.default_domain);
    expect(checkInvariants(kit.k)).toEqual([]);
  });

  it('a device without a group cannot be claimed (-ENODEV)', () => {
    const kit = new Kit();
    kit.register();
    const orphan = kit.add('not-mine', { foreign: true });
    expect(orphan.iommu).toBeNull();
    expect(iommu_device_claim_dma_owner(kit.k, orphan, {})).toBe(-19);
  });

  it('a DIRECT (RMRR-like) region forbids the blocking domain: claiming fails with -EINVAL; a relaxable one does not', () => {
    const kit = new Kit();
    kit.register();
    const fb = { start: 0x80000000n, length: 0x100000n, prot: 3, source: 'test RMRR' };
    const gpu = kit.add('gpu', { resv: [{ ...fb, type: IOMMU_RESV_DIRECT }] });
    expect(gpu.iommu!.require_direct).toBe(true);
    expect(kit.group(gpu).default_domain!.directMappings).toEqual([{ start: 0x80000000n, end: 0x800fffffn }]);
    expect(iommu_device_claim_dma_owner(kit.k, gpu, {})).toBe(-22);
    expect(
      kit.k.printk.lines.some((l) =>
        l.message.startsWith('Firmware has requested this device have a 1:1 IOMMU mapping'),
      ),
    ).toBe(true);
    const usb = kit.add('usb', { resv: [{ ...fb, type: IOMMU_RESV_DIRECT_RELAXABLE }] });
    expect(iommu_device_claim_dma_owner(kit.k, usb, {})).toBe(0);
  });

  it('a device hot-added into an owned group is attached to the owner domain, not the default', () => {
    const kit = new Kit();
    kit.register();
    const a = kit.add('a');
    expect(iommu_device_claim_dma_owner(kit.k, a, { v: 1 })).toBe(0);
    const b = kit.add('b', { sameGroupAs: 'a' });
    const g = kit.group(a);
    expect(b.iommu_group).toBe(g);
    expect(b.hwDomain).toBe(g.blocking_domain);
  });

  it('removing the last device of a group still owned WARNs, and the group is released', () => {
    const kit = new Kit();
    kit.register();
    const a = kit.add('a');
    const g = kit.group(a);
    expect(iommu_device_claim_dma_owner(kit.k, a, {})).toBe(0);
    device_unregister(kit.k, a);
    expect(kit.k.printk.warnings.map((w) => w.site)).toEqual(['__iommu_group_free_device']);
    expect(g.released).toBe(true);
    expect(kit.k.iommu.groups.size).toBe(0);
  });
});
