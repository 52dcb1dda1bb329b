// SPDX-License-Identifier: GPL-2.0-only
// iommu_get_default_domain_type() and friends, through the real probe path:
// the global default from Kconfig and the command line, the drivers'
// def_domain_type opinions and their conflicts (per profile), untrusted
// devices, and the sysfs `type` file.
import { describe, expect, it } from 'vitest';
import { Kit } from '../support/core-kit.js';
import { IOMMU_DOMAIN_DMA, IOMMU_DOMAIN_IDENTITY, domainTypeSysfs } from '../../src/iommu/domain.js';
import { iommu_group_store_type } from '../../src/iommu/default-domain.js';
import { iommu_device_use_default_domain } from '../../src/iommu/ownership.js';

const typeOf = (kit: Kit, name: string) => {
  const dev = [...kit.k.base.devices].find((d) => d.name === name)!;
  return domainTypeSysfs(kit.group(dev).default_domain!.type);
};

describe('the global default domain type', () => {
  it.each([
    ['', {}, 'DMA'],
    ['', { IOMMU_DEFAULT_DMA_STRICT: false }, 'DMA-FQ'],
    ['iommu.strict=0', {}, 'DMA-FQ'],
    ['iommu.passthrough=1', {}, 'identity'],
    ['iommu.passthrough=1 iommu.passthrough=0', {}, 'DMA'],
    ['', { IOMMU_DEFAULT_PASSTHROUGH: true }, 'identity'],
    ['', { IOMMU_DEFAULT_PASSTHROUGH: true, MEM_ENCRYPT_ACTIVE: true }, 'DMA'],
  ])('cmdline "%s" with %o gives %s', (cmdline, kconfig, want) => {
    const kit = new Kit('v6.18', cmdline, kconfig);
    kit.register();
    kit.add('a');
    expect(typeOf(kit, 'a')).toBe(want);
  });
});

describe("drivers' def_domain_type opinions", () => {
  it('a lone opinion wins over the global default', () => {
    const kit = new Kit('v6.18', 'iommu.passthrough=1');
    kit.register();
    kit.add('a', { opinion: IOMMU_DOMAIN_DMA });
    expect(typeOf(kit, 'a')).toBe('DMA');
  });

  it('conflicting opinions in one group: identity wins from v6.5, with a driver-error message', () => {
    const kit = new Kit('v6.12');
    kit.add('a', { opinion: IOMMU_DOMAIN_DMA });
    kit.add('b', { opinion: IOMMU_DOMAIN_IDENTITY, sameGroupAs: 'a' });
    kit.register(); // the registration walk decides once for the whole group
    expect(typeOf(kit, 'a')).toBe('identity');
    expect(kit.k.printk.lines.some((l) => l.message.includes('requesting conflicting def_domain_type'))).toBe(
      true,
    );
  });

  it('v6.4 falls back to the global default on a conflict instead', () => {
    const kit = new Kit('v6.4');
    kit.add('a', { opinion: IOMMU_DOMAIN_DMA });
    kit.add('b', { opinion: IOMMU_DOMAIN_IDENTITY, sameGroupAs: 'a' });
    kit.register();
    expect(typeOf(kit, 'a')).toBe('DMA');
    expect(kit.k.printk.lines.some((l) => l.message.includes('using default'))).toBe(true);
  });

  it('an untrusted device forces DMA over passthrough, and refuses a driver that wants identity', () => {
    const kit = new Kit('v6.18', 'iommu.passthrough=1');
    kit.register();
    const u = kit.add('ext', { untrusted: true });
    expect(typeOf(kit, 'ext')).toBe('DMA');
    const refused = kit.add('ext2', { untrusted: true, opinion: IOMMU_DOMAIN_IDENTITY });
    expect(refused.iommu_group).toBeNull(); // -EINVAL from iommu_setup_default_domain(): probe unwound
    expect(refused.iommu).toBeNull();
    expect(u.iommu_group).not.toBeNull();
  });
});

describe('the sysfs type file', () => {
  it('changes an unused group, refuses a group a driver uses (-EPERM), and moves DMA to DMA-FQ live', () => {
    const kit = new Kit('v6.18');
    kit.register();
    const a = kit.add('a');
    const g = kit.group(a);
    expect(iommu_group_store_type(kit.k, g, 'bogus')).toBe(-22);
    expect(iommu_group_store_type(kit.k, g, 'identity', false)).toBe(-13);
    expect(iommu_group_store_type(kit.k, g, 'identity')).toBe(0);
    expect(domainTypeSysfs(g.default_domain!.type)).toBe('identity');
    expect(iommu_group_store_type(kit.k, g, 'DMA')).toBe(0);
    expect(iommu_device_use_default_domain(kit.k, a)).toBe(0); // a driver binds
    expect(iommu_group_store_type(kit.k, g, 'identity')).toBe(-1);
    expect(iommu_group_store_type(kit.k, g, 'DMA-FQ')).toBe(0);
    expect(domainTypeSysfs(g.default_domain!.type)).toBe('DMA-FQ');
  });
});
