// SPDX-License-Identifier: GPL-2.0-only
/**
 * The IOMMU core's invariants I1-I8 (shared/docs/kernel-core.md §7), checked
 * on a settled kernel, i.e. between public operations. A violation is a
 * finding about the model (or about the kernel behaviour a profile encodes),
 * reported with the objects involved; nothing is thrown.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import { dev_has_iommu } from '../iommu/dev-iommu.js';
import { __iommu_probe_device } from '../iommu/probe.js';
import { mutex_lock, mutex_unlock } from '../kernel/mutex.js';
import { knownBugInvariant, type KnownBugId } from './known-bugs.js';

export type InvariantId = 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'I6' | 'I7' | 'I8';

export interface InvariantViolation {
  readonly invariant: InvariantId;
  readonly message: string;
  /** Set when a kernel bug the profile reproduces breaks the invariant (checker/known-bugs.ts). */
  readonly knownBug: KnownBugId | null;
}

function iommuBusDevices(k: Kernel): Device[] {
  const out: Device[] = [];
  for (const bus of k.iommu.buses) for (const dev of bus.devices) out.push(dev);
  return out;
}

/** Check I1-I8; `deep` also replays the probe of every grouped device (I5). */
export function checkInvariants(k: Kernel, deep = true): InvariantViolation[] {
  const v: InvariantViolation[] = [];
  const add = (invariant: InvariantId, message: string, device?: string) => {
    const bug =
      device === undefined
        ? undefined
        : k.knownBugEvents.find((e) => e.device === device && knownBugInvariant[e.bug] === invariant);
    v.push({ invariant, message, knownBug: bug?.bug ?? null });
  };
  const devices = [...k.base.devices];

  // I1: dev->iommu_group is set iff the device is listed exactly once in that group;
  //     a device a driver probed has a group.
  for (const dev of devices) {
    const g = dev.iommu_group;
    if (g) {
      const n = g.devices.filter((gd) => gd.dev === dev).length;
      if (n !== 1) add('I1', `${dev.name}: in group ${g.id}'s list ${n} times`);
      if (g.released) add('I1', `${dev.name}: points at released group ${g.id}`);
    } else if (dev_has_iommu(dev)) {
      add('I1', `${dev.name}: probed by ${dev.iommu!.iommu_dev!.name} but has no group`);
    }
  }
  for (const g of k.iommu.groups.values()) {
    for (const gd of g.devices) {
      if (gd.dev.iommu_group !== g)
        add(
          'I1',
          `group ${g.id} lists ${gd.dev.name}, whose iommu_group is ${gd.dev.iommu_group?.id ?? 'NULL'}`,
        );
    }
  }

  // I2: a fwspec only exists under dev_iommu, and every live dev_iommu/fwspec hangs off a device.
  const held = new Set<number>();
  for (const dev of devices) {
    if (dev.iommu) {
      held.add(dev.iommu.mem.id);
      if (dev.iommu.fwspec) held.add(dev.iommu.fwspec.mem.id);
    }
  }
  // Objects a known kernel bug leaked are reported as leaks at teardown, not here.
  const knownLost = new Set(k.knownBugEvents.flatMap((e) => e.allocations));
  for (const a of k.alloc.liveAllocations()) {
    if ((a.type === 'dev_iommu' || a.type === 'iommu_fwspec') && !held.has(a.id) && !knownLost.has(a.id)) {
      const registered = devices.some((d) => d.name === a.owner);
      // A removed device's leftovers are a leak (reported at teardown), not a broken link.
      if (registered) add('I2', `${a.type} of ${a.owner} (from ${a.site}) is not reachable from the device`);
    }
  }

  // I3: a populated group with a probed member has a default domain and a current domain;
  //     an empty group has none of its domains.
  for (const g of k.iommu.groups.values()) {
    if (g.devices.length > 0) {
      const probed = g.devices.some((gd) => dev_has_iommu(gd.dev));
      if (probed && !g.driverManaged && (!g.default_domain || !g.domain)) {
        add(
          'I3',
          `group ${g.id}: members but default_domain=${g.default_domain?.label ?? 'NULL'} domain=${g.domain?.label ?? 'NULL'}`,
          // the member a known bug was recorded for, so the violation can be attributed to it
          g.devices.find((gd) => k.knownBugEvents.some((e) => e.device === gd.dev.name))?.dev.name ??
            g.devices[0].dev.name,
        );
      }
    } else if (g.default_domain || g.blocking_domain || g.domain) {
      add('I3', `group ${g.id}: empty but still has domains`);
    }
    // I4: no owner without a count.
    if (g.owner_cnt === 0 && g.owner !== null) add('I4', `group ${g.id}: owner set with owner_cnt 0`);
    if (g.owner_cnt < 0) add('I4', `group ${g.id}: owner_cnt ${g.owner_cnt}`);
  }

  // I5: probing a grouped device again returns 0 and changes nothing.
  if (deep && !k.iommu.probe_device_lock.held) {
    for (const dev of devices) {
      if (!dev.iommu_group) continue;
      const before = {
        group: dev.iommu_group,
        iommu: dev.iommu,
        attempts: k.alloc.attempts,
        n: dev.iommu_group.devices.length,
      };
      mutex_lock(k.printk, k.iommu.probe_device_lock, 'checkInvariants');
      const ret = __iommu_probe_device(k, dev, null);
      mutex_unlock(k.printk, k.iommu.probe_device_lock, 'checkInvariants');
      if (ret !== 0 && ret !== -19) add('I5', `${dev.name}: replayed probe returned ${ret}`);
      if (
        dev.iommu_group !== before.group ||
        dev.iommu !== before.iommu ||
        k.alloc.attempts !== before.attempts ||
        before.group.devices.length !== before.n
      ) {
        add('I5', `${dev.name}: replayed probe changed the device's IOMMU state`);
      }
    }
  }

  // I6: no device on an IOMMU bus is still probed by an unregistered instance.
  for (const dev of iommuBusDevices(k)) {
    const inst = dev.iommu?.iommu_dev;
    if (inst && !inst.listed) add('I6', `${dev.name}: still probed by unregistered ${inst.name}`, dev.name);
  }

  // I7: the instance list is in registration order.
  let last = -1;
  for (const iommu of k.iommu.device_list) {
    if (iommu.registeredSeq <= last) add('I7', `${iommu.name} is out of registration order`);
    last = iommu.registeredSeq;
  }

  // I8: every device that device_add() accepted is still on its bus (nothing IOMMU-side undid it).
  for (const dev of devices) {
    if (dev.state !== 'registered') add('I8', `${dev.name}: in the device list but not registered`);
    else if (dev.bus && !dev.bus.devices.has(dev))
      add('I8', `${dev.name}: registered but not on bus ${dev.bus.name}`);
  }
  return v;
}
