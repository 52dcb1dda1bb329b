// SPDX-License-Identifier: GPL-2.0-only
// /dev/iommu's command table per kernel version: each version appended
// commands at the end of iommufd_ioctl_ops[], so a command newer than the
// kernel is -ENOTTY there, while the same bytes work on a newer profile.
// Commands not modelled yet pass the generic checks and say so.
import { describe, expect, it } from 'vitest';
import { EINVAL, ENOENT, ENOTTY, EOPNOTSUPP } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { profiles } from '../../src/profile/profiles.js';
import type { ProfileName } from '../../src/profile/profile.js';
import { UserProcess } from '../../src/mm/user-mm.js';
import { Iommufd } from '../../src/iommufd/api.js';
import { NotModelledError } from '../../src/iommufd/main.js';
import type { StructName } from '../../src/iommufd/uapi.js';
import { IOCTL_OPS, ioctlNumber, pack, structs } from '../../src/iommufd/uapi.js';

const open = (profile: ProfileName, test = true) => {
  const k = new Kernel({ profile: profiles[profile], kconfig: { IOMMUFD_TEST: test } });
  return Iommufd.open(k, new UserProcess(k)) as Iommufd;
};

/** What a command with an all-zero struct gets: an errno, or 'not modelled'. */
const outcome = (fd: Iommufd, name: string): number | 'not modelled' => {
  const op = IOCTL_OPS.find((o) => o.name === name)!;
  try {
    return fd.file.ioctl(ioctlNumber(name), pack(structs[op.struct as StructName], {}));
  } catch (e) {
    if (e instanceof NotModelledError) return 'not modelled';
    throw e;
  }
};

describe('the command table follows the kernel version', () => {
  const cases: [ProfileName, string, number | 'not modelled'][] = [
    // v6.4: the IOAS commands only.
    ['v6.4', 'IOMMU_IOAS_UNMAP', -ENOENT],
    ['v6.4', 'IOMMU_HWPT_ALLOC', -ENOTTY],
    ['v6.4', 'IOMMU_GET_HW_INFO', -ENOTTY],
    // v6.7: HWPT_ALLOC and dirty tracking, no invalidation yet.
    ['v6.7', 'IOMMU_HWPT_ALLOC', -ENOENT],
    ['v6.7', 'IOMMU_HWPT_GET_DIRTY_BITMAP', -ENOENT],
    ['v6.7', 'IOMMU_HWPT_INVALIDATE', -ENOTTY],
    // v6.8: HWPT_INVALIDATE; no fault queues.
    ['v6.8', 'IOMMU_HWPT_INVALIDATE', -ENOENT],
    ['v6.8', 'IOMMU_FAULT_QUEUE_ALLOC', -ENOTTY],
    // v6.12: fault queues; nothing of the vIOMMU family.
    ['v6.12', 'IOMMU_FAULT_QUEUE_ALLOC', 0],
    ['v6.12', 'IOMMU_VIOMMU_ALLOC', -ENOTTY],
    ['v6.12', 'IOMMU_IOAS_MAP_FILE', -ENOTTY],
    // v6.15: the vIOMMU family (type 0 is IOMMU_*_TYPE_DEFAULT: -EOPNOTSUPP); no HW queues.
    ['v6.15', 'IOMMU_VIOMMU_ALLOC', -EOPNOTSUPP],
    ['v6.15', 'IOMMU_VDEVICE_ALLOC', -ENOENT],
    ['v6.15', 'IOMMU_VEVENTQ_ALLOC', -EOPNOTSUPP],
    ['v6.15', 'IOMMU_HW_QUEUE_ALLOC', -ENOTTY],
    ['v6.18', 'IOMMU_HW_QUEUE_ALLOC', -EOPNOTSUPP],
    ['v6.18', 'IOMMU_IOAS_CHANGE_PROCESS', 0],
    ['v6.18', 'IOMMU_IOAS_MAP_FILE', -EINVAL],
  ];
  it.each(cases)('%s: %s → %s', (profile, name, want) => {
    expect(outcome(open(profile), name)).toBe(want);
  });

  it('without CONFIG_IOMMUFD_TEST the table is just as long: the same numbers are ENOTTY', () => {
    expect(outcome(open('v6.7', false), 'IOMMU_HWPT_INVALIDATE')).toBe(-ENOTTY);
    expect(outcome(open('v6.8', false), 'IOMMU_HWPT_INVALIDATE')).toBe(-ENOENT);
  });

  it('the generic checks still run first for commands the model does not implement', () => {
    const fd = open('v6.18');
    const b = pack(structs.viommu_alloc, {});
    new DataView(b.buffer).setUint32(0, 20, true); // below min_size (out_viommu_id ends at 24)
    expect(fd.file.ioctl(ioctlNumber('IOMMU_VIOMMU_ALLOC'), b)).toBe(-EINVAL);
  });
});
