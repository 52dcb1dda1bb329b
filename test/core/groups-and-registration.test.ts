// SPDX-License-Identifier: GPL-2.0-only
// Group helpers (one group per instance, fsl-mc containers), registration
// failing as a whole when a group's default domain cannot be decided, and
// unregistering: devices fully released, the singleton group dropped.
import { describe, expect, it } from 'vitest';
import { Kit } from '../support/core-kit.js';
import { IOMMU_DOMAIN_IDENTITY } from '../../src/iommu/domain.js';
import { iommu_device_unregister } from '../../src/iommu/iommu-device.js';
import { checkInvariants } from '../../src/checker/invariants.js';

describe('group helpers', () => {
  it('generic_single_device_group() puts every device of an instance in one group, held by the instance', () => {
    const kit = new Kit();
    kit.register();
    const a = kit.add('a', { single: true });
    const b = kit.add('b', { single: true });
    expect(kit.group(a)).toBe(kit.group(b));
    expect(kit.group(a).refcount).toBe(3); // two members and the instance
    iommu_device_unregister(kit.k, kit.iommu);
    expect(a.iommu_group).toBeNull();
    expect(kit.k.iommu.groups.size).toBe(0);
    expect(kit.k.alloc.liveAllocations().filter((x) => x.type.startsWith('iommu_group'))).toEqual([]);
  });

  it('fsl_mc_device_group(): objects share their DPRC container group', () => {
    const kit = new Kit();
    kit.register();
    const dprc = kit.add('dprc.1', { container: 'dprc.1' });
    const ni = kit.add('dpni.0', { container: 'dprc.1' });
    const io = kit.add('dpio.0', { container: 'dprc.1' });
    expect(kit.group(ni)).toBe(kit.group(dprc));
    expect(kit.group(io)).toBe(kit.group(dprc));
    expect(checkInvariants(kit.k)).toEqual([]);
  });
});

describe('registration', () => {
  it('fails as a whole (-EINVAL) when an untrusted device is found in a group whose driver wants identity', () => {
    const kit = new Kit();
    kit.add('ext', { untrusted: true, opinion: IOMMU_DOMAIN_IDENTITY });
    kit.add('ok');
    expect(kit.register()).toBe(-22);
    expect(kit.iommu.listed).toBe(false);
    expect([...kit.k.base.devices].map((d) => d.iommu_group)).toEqual([null, null]);
    expect(checkInvariants(kit.k)).toEqual([]);
  });

  it('unregistering releases every device it probed, fwspec and all, and lists nothing afterwards', () => {
    const kit = new Kit();
    kit.register();
    const a = kit.add('a');
    expect(a.iommu).not.toBeNull();
    iommu_device_unregister(kit.k, kit.iommu);
    expect(a.iommu).toBeNull();
    expect(a.iommu_group).toBeNull();
    expect(kit.k.iommu.device_list).toEqual([]);
    expect(kit.k.alloc.liveAllocations().map((x) => x.type)).toEqual(['device_private']);
  });
});
