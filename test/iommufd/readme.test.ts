// SPDX-License-Identifier: GPL-2.0-only
// The README's iommufd example, through the package's entry point, with the results it states.
import { expect, it } from 'vitest';
import { Kernel, profiles, UserProcess, Iommufd } from '../../src/index.js';

it('the README example does what its comments say', () => {
  const k = new Kernel({ profile: profiles['v6.12'] });
  const proc = new UserProcess(k);
  const fd = Iommufd.open(k, proc) as Iommufd;
  const { id } = fd.ioasAlloc();
  expect({ errno: 0, id }).toEqual({ errno: 0, id: 1 });
  const buf = proc.mmap(2 * 1024 * 1024, { hugePages: true });
  expect(fd.ioasMap({ ioasId: id, userVa: buf, length: 8192 })).toEqual({ errno: 0, iova: 8192n });
  expect(fd.ioasUnmap(id, 0n, (1n << 64n) - 1n)).toEqual({ errno: 0, length: 8192n });
  fd.close();
  expect(k.alloc.liveAllocations()).toEqual([]);
});
