// SPDX-License-Identifier: GPL-2.0-only
// fwspec lifetime rules (init per profile, add_ids reallocation, the fwspec
// dying with dev_iommu) and the invariant checker catching broken states.
import { describe, expect, it } from 'vitest';
import { Kit } from '../support/core-kit.js';
import { Fwnode } from '../../src/base/fwnode.js';
import { Device } from '../../src/base/device.js';
import { iommu_fwspec_add_ids, iommu_fwspec_free, iommu_fwspec_init } from '../../src/iommu/fwspec.js';
import { dev_iommu_free } from '../../src/iommu/dev-iommu.js';
import { mutex_lock, mutex_unlock } from '../../src/kernel/mutex.js';
import { checkInvariants } from '../../src/checker/invariants.js';
import type { Kernel } from '../../src/kernel/kernel.js';

function locked<T>(k: Kernel, fn: () => T): T {
  mutex_lock(k.printk, k.iommu.probe_device_lock, 'test');
  try {
    return fn();
  } finally {
    mutex_unlock(k.printk, k.iommu.probe_device_lock, 'test');
  }
}

describe('iommu_fwspec_init', () => {
  it('v6.11 on: nothing is allocated for an instance not registered yet (-EPROBE_DEFER)', () => {
    const kit = new Kit('v6.12');
    const node = new Fwnode('of', '/smmu');
    const dev = new Device('client');
    const before = kit.k.alloc.attempts;
    expect(locked(kit.k, () => iommu_fwspec_init(kit.k, dev, node))).toBe(-517);
    expect(dev.iommu).toBeNull();
    expect(kit.k.alloc.attempts).toBe(before);
  });

  it('v6.8: an instance not registered yet still gets an empty fwspec with NULL ops', () => {
    const kit = new Kit('v6.8');
    const node = new Fwnode('of', '/smmu');
    const dev = new Device('client');
    expect(locked(kit.k, () => iommu_fwspec_init(kit.k, dev, node, null))).toBe(0);
    expect(dev.iommu!.fwspec!.ops).toBeNull();
    expect(dev.iommu!.fwspec!.iommu_fwnode).toBe(node);
    // A second init with different ops is refused.
    expect(locked(kit.k, () => iommu_fwspec_init(kit.k, dev, node, kit.ops))).toBe(-22);
  });

  it('takes a fwnode reference that dev_iommu_free() drops with the fwspec', () => {
    const kit = new Kit('v6.18');
    const node = new Fwnode('swnode', 'mock-node');
    kit.iommu.fwnode = node;
    kit.register();
    const dev = new Device('client');
    expect(locked(kit.k, () => iommu_fwspec_init(kit.k, dev, node))).toBe(0);
    expect(node.refcount).toBe(2);
    locked(kit.k, () => dev_iommu_free(kit.k, dev));
    expect(node.refcount).toBe(1);
    expect(kit.k.alloc.liveAllocations()).toEqual([]);
  });

  it('iommu_fwspec_free() keeps dev_iommu', () => {
    const kit = new Kit('v6.18');
    const node = new Fwnode('of', '/smmu');
    kit.iommu.fwnode = node;
    kit.register();
    const dev = new Device('client');
    locked(kit.k, () => iommu_fwspec_init(kit.k, dev, node));
    iommu_fwspec_free(kit.k, dev);
    expect(dev.iommu).not.toBeNull();
    expect(dev.iommu!.fwspec).toBeNull();
  });
});

describe('iommu_fwspec_add_ids', () => {
  it('reallocates only when the ids outgrow the slab object (v6.11+: the 5th id)', () => {
    const kit = new Kit('v6.18');
    const node = new Fwnode('of', '/smmu');
    kit.iommu.fwnode = node;
    kit.register();
    const dev = new Device('client');
    expect(iommu_fwspec_add_ids(kit.k, dev, [1])).toBe(-22); // no fwspec
    locked(kit.k, () => iommu_fwspec_init(kit.k, dev, node));
    const first = dev.iommu!.fwspec!.mem;
    for (const id of [1, 2, 3, 4]) expect(iommu_fwspec_add_ids(kit.k, dev, [id])).toBe(0);
    expect(dev.iommu!.fwspec!.mem).toBe(first);
    expect(iommu_fwspec_add_ids(kit.k, dev, [5])).toBe(0);
    expect(dev.iommu!.fwspec!.mem).not.toBe(first);
    expect(dev.iommu!.fwspec!.ids).toEqual([1, 2, 3, 4, 5]);
    expect(kit.k.alloc.isLive(first)).toBe(false);
  });
});

describe('the invariant checker', () => {
  it('finds nothing wrong in a healthy model, and names each broken invariant', () => {
    const kit = new Kit();
    kit.register();
    const a = kit.add('a');
    const g = kit.group(a);
    expect(checkInvariants(kit.k)).toEqual([]);
    g.owner = { stale: true };
    expect(checkInvariants(kit.k).map((v) => v.invariant)).toEqual(['I4']);
    g.owner = null;
    g.devices.push(g.devices[0]);
    expect(checkInvariants(kit.k, false).map((v) => v.invariant)).toContain('I1');
    g.devices.pop();
    const saved = g.default_domain;
    g.default_domain = null;
    expect(checkInvariants(kit.k, false).map((v) => v.invariant)).toContain('I3');
    g.default_domain = saved;
    kit.iommu.listed = false;
    expect(checkInvariants(kit.k, false).map((v) => v.invariant)).toContain('I6');
  });
});
