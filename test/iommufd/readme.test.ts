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

it('the README mock-device example does what its comments say', async () => {
  const { bootMachine, iommufd_test_init } = await import('../../src/index.js');
  const m = bootMachine(['arm64-dt-smmuv3-mini'], { profile: 'v6.12' });
  expect(iommufd_test_init(m.kernel)).toBe(0);
  const proc = new UserProcess(m.kernel);
  const fd = Iommufd.open(m.kernel, proc) as Iommufd;
  const ioas = fd.ioasAlloc().id;
  expect(ioas).toBe(1);
  expect(fd.mockDomain(ioas)).toEqual({ errno: 0, stdevId: 2, hwptId: 4, idevId: 3 });
  const buf = proc.mmap(16 * 4096);
  const { iova } = fd.ioasMap({ ioasId: ioas, userVa: buf, length: 16 * 4096 });
  expect(fd.checkMap(4, iova, 16 * 4096, buf)).toBe(0);
  expect(fd.checkRefs(buf, 16 * 4096, 1)).toBe(0);
  expect(fd.hwptAlloc(3, ioas)).toEqual({ errno: 0, id: 5 });
  expect(fd.mockDomainReplace(2, 5)).toEqual({ errno: 0, hwptId: 5 });
  expect(fd.destroy(4)).toBe(-2);
  fd.close();
  expect(proc.accounting.mmPinnedVm).toBe(0);
  expect(m.finish().leaks).toEqual([]);
});
