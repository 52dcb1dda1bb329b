// SPDX-License-Identifier: GPL-2.0-only
/**
 * From device-tree bindings to a fwspec (drivers/iommu/of_iommu.c
 * of_iommu_configure(), of_iommu_xlate(), of_iommu_configure_dev(),
 * of_iommu_configure_dev_id()), per profile:
 *  - fwspecInit 'with-ops' (up to v6.10): the ops are looked up first; an
 *    unregistered instance still gets an empty fwspec (ops NULL) that marks
 *    what the device waits for, and the next attempt starts from scratch;
 *  - 'resolve-or-defer' (v6.11 on): nothing is allocated until the instance
 *    is registered; a failed parse frees what it made.
 * The replay of iommu_probe_device() at the end happens at driver bind up to
 * v6.14; from v6.15 only when called outside the probe path.
 */
import type { Device } from '../../base/device.js';
import type { Fwnode } from '../../base/fwnode.js';
import type { Kernel } from '../../kernel/kernel.js';
import { ENODEV, EPROBE_DEFER, errnoName } from '../../kernel/errno.js';
import { mutex_lock, mutex_unlock } from '../../kernel/mutex.js';
import { dev_iommu_free, dev_iommu_fwspec_get } from '../../iommu/dev-iommu.js';
import { iommu_fwspec_free, iommu_fwspec_init, IOMMU_FWSPEC_PCI_RC_ATS } from '../../iommu/fwspec.js';
import { iommu_ops_from_fwnode } from '../../iommu/iommu-device.js';
import { iommu_probe_device } from '../../iommu/probe.js';
import { withProbeContext } from '../../iommu/subsys.js';
import {
  of_device_is_available,
  of_map_id,
  of_parse_phandle_with_args,
  type PhandleArgs,
} from './of-base.js';
import { driver_deferred_probe_check_state } from '../../base/dd.js';
import { pci_for_each_dma_alias } from '../../pci/search.js';
import { pci_request_acs } from '../../pci/acs.js';

/** of_iommu_xlate() */
function of_iommu_xlate(k: Kernel, dev: Device, spec: PhandleArgs, source: string): number {
  const fwnode = spec.np;
  if (k.profile.fwspecInit === 'with-ops') {
    const ops = iommu_ops_from_fwnode(k, fwnode);
    if ((ops && !ops.of_xlate) || !of_device_is_available(fwnode)) return -ENODEV;
    const ret = iommu_fwspec_init(k, dev, fwnode, ops);
    if (ret) return ret;
    // The otherwise empty fwspec names the instance the device waits for.
    if (!ops) return driver_deferred_probe_check_state(k, dev);
    if (ops.moduleGoing) return -ENODEV;
    return ops.of_xlate!(k, dev, { np: fwnode, args: spec.args, source });
  }
  if (!of_device_is_available(fwnode)) return -ENODEV;
  const ret = iommu_fwspec_init(k, dev, fwnode);
  if (ret === -EPROBE_DEFER) return driver_deferred_probe_check_state(k, dev);
  if (ret) return ret;
  const ops = iommu_ops_from_fwnode(k, fwnode)!;
  if (!ops.of_xlate || ops.moduleGoing) return -ENODEV;
  return ops.of_xlate(k, dev, { np: fwnode, args: spec.args, source });
}

/** of_iommu_configure_dev_id(): one id through `iommu-map`/`iommu-map-mask`. */
function of_iommu_configure_dev_id(k: Kernel, master: Fwnode, dev: Device, id: number): number {
  const m = of_map_id(k, master, id, 'iommu-map', 'iommu-map-mask');
  if (typeof m === 'number') return m;
  // No matching entry: of_iommu_xlate() sees no node, which is never available.
  if (!m.target) return -ENODEV;
  return of_iommu_xlate(
    k,
    dev,
    { np: m.target, args: [m.id_out] },
    `${master.name} iommu-map entry ${m.entry}: id 0x${id.toString(16)} -> 0x${m.id_out.toString(16)}`,
  );
}

/** of_iommu_configure_dev(): every `iommus` entry, stopping at the first error. */
function of_iommu_configure_dev(k: Kernel, master: Fwnode, dev: Device): number {
  let err = -ENODEV;
  for (let idx = 0; ; idx++) {
    const spec = of_parse_phandle_with_args(k, master, 'iommus', '#iommu-cells', idx);
    if (typeof spec === 'number') break;
    err = of_iommu_xlate(k, dev, spec, `${master.name} iommus[${idx}]`);
    if (err) break;
  }
  return err;
}

/**
 * of_iommu_configure(dev, master_np, id): 0, -ENODEV (no IOMMU: carry on),
 * -EPROBE_DEFER (wait for the IOMMU driver) or another error.
 */
export function of_iommu_configure(k: Kernel, dev: Device, master: Fwnode | null, id: number | null): number {
  if (!master) return -ENODEV;
  const lock = k.iommu.probe_device_lock;
  mutex_lock(k.printk, lock, 'of_iommu_configure');
  const existing = dev_iommu_fwspec_get(dev);
  if (existing) {
    if (k.profile.fwspecInit !== 'with-ops' || existing.ops) {
      mutex_unlock(k.printk, lock, 'of_iommu_configure');
      return 0;
    }
    iommu_fwspec_free(k, dev); // the deferred case: start again from scratch
  }
  const dev_iommu_present = dev.iommu !== null;

  let err: number;
  if (dev.pci) {
    pci_request_acs(k);
    err = pci_for_each_dma_alias(dev.pci, (_pdev, alias) => of_iommu_configure_dev_id(k, master, dev, alias));
    const fwspec = dev_iommu_fwspec_get(dev);
    if (fwspec && master.properties.get('ats-supported') !== undefined)
      fwspec.flags |= IOMMU_FWSPEC_PCI_RC_ATS;
  } else if (id !== null) {
    err = of_iommu_configure_dev_id(k, master, dev, id);
  } else {
    err = of_iommu_configure_dev(k, master, dev);
  }

  if (k.profile.fwspecInit !== 'with-ops') {
    if (err && dev_iommu_present) iommu_fwspec_free(k, dev);
    else if (err && dev.iommu) dev_iommu_free(k, dev, 'of_iommu_configure');
  }
  mutex_unlock(k.printk, lock, 'of_iommu_configure');
  if (err === 0) dev.addHistory(`of_iommu_configure(): fwspec built from ${master.name}`);
  else dev.addHistory(`of_iommu_configure(): ${errnoName(err)}`);

  if (k.profile.fwspecInit === 'with-ops' && (err === -ENODEV || err === -EPROBE_DEFER)) return err;
  // The replay: up to v6.14 always (driver bind); from v6.15 only outside the probe path.
  const replay = k.profile.firmwareConfigure === 'bind-replay' || !dev_iommu_present;
  if (!err && dev.bus && replay) {
    err = withProbeContext(k, 'replay at driver bind', () => iommu_probe_device(k, dev));
    dev.addHistory(`of_iommu_configure() replayed iommu_probe_device(): ${errnoName(err)}`);
  }
  if (err && err !== -EPROBE_DEFER) k.printk.log('debug', dev.name, `Adding to IOMMU failed: ${err}`);
  return err;
}
