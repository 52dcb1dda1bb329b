// SPDX-License-Identifier: GPL-2.0-only
// A machine for the iommufd tests: arm64-dt-smmuv3-mini booted under a
// profile (default v6.12), the selftest loaded as iommufd.ko with
// CONFIG_IOMMUFD_TEST loads it, a process, and /dev/iommu open. Under
// fail-nth any of those can fail: `fd` is null when open() did, `loaded`
// is iommufd_test_init()'s result.
import { loadPlatform } from '../../src/platform/load.js';
import { bootPlatform } from '../../src/platform/boot.js';
import { iommufd_test_init } from '../../src/drivers/iommufd-selftest/mock.js';
import { UserProcess } from '../../src/mm/user-mm.js';
import { Iommufd } from '../../src/iommufd/api.js';
import type { ProfileName } from '../../src/profile/profile.js';
import { expect } from 'vitest';

export function mockMachine(opts: { failNth?: number; profile?: ProfileName; platform?: string } = {}) {
  const { desc, file } = loadPlatform(opts.platform ?? 'arm64-dt-smmuv3-mini');
  const { k } = bootPlatform(desc, { file, profile: opts.profile ?? 'v6.12', failNth: opts.failNth });
  const loaded = iommufd_test_init(k);
  const proc = new UserProcess(k);
  const fd = Iommufd.open(k, proc);
  return { k, proc, fd: typeof fd === 'number' ? null : fd, loaded };
}

/** The selftests' usual start: a loaded mock, an IOAS and one mock device attached to it. */
export function mockDeviceOnIoas() {
  const m = mockMachine();
  expect(m.loaded).toBe(0);
  const fd = m.fd!;
  const ioas = fd.ioasAlloc().id;
  const dev = fd.mockDomain(ioas);
  expect(dev.errno).toBe(0);
  return { ...m, fd, ioas, dev };
}

/** A little-endian u32 as bytes (the mock's driver data structs are u32 fields). */
export const u32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
};
