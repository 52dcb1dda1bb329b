// SPDX-License-Identifier: GPL-2.0-only
/**
 * What virtio-iommu prints for a fault event the device put on its event
 * queue (drivers/iommu/virtio-iommu.c viommu_event_handler(),
 * viommu_fault_handler()): "<reason> fault from EP <endpoint> at <address>
 * [RWX]" when the event carries an address, "<reason> fault from EP
 * <endpoint>" when not, through dev_err_ratelimited() on the virtio device.
 *
 * dev_err_ratelimited() keeps one ratelimit_state per call site (static in
 * the macro, so shared by every virtio-iommu instance): at most
 * DEFAULT_RATELIMIT_BURST (10) lines per DEFAULT_RATELIMIT_INTERVAL (5 s);
 * the first call after an interval with suppressed lines prints
 * "viommu_fault_handler: N callbacks suppressed" first (lib/ratelimit.c
 * ___ratelimit()). Time is the kernel's virtual clock.
 */
import type { Kernel } from '../../kernel/kernel.js';
import {
  type ViommuFaultEvent,
  VIRTIO_IOMMU_FAULT_F_ADDRESS,
  VIRTIO_IOMMU_FAULT_F_EXEC,
  VIRTIO_IOMMU_FAULT_F_READ,
  VIRTIO_IOMMU_FAULT_F_WRITE,
  VIRTIO_IOMMU_FAULT_R_DOMAIN,
  VIRTIO_IOMMU_FAULT_R_MAPPING,
} from './vmm-device.js';

/** DEFAULT_RATELIMIT_INTERVAL (5 * HZ), in the clock's milliseconds, and DEFAULT_RATELIMIT_BURST. */
const RATELIMIT_INTERVAL_MS = 5000;
const RATELIMIT_BURST = 10;

/** struct ratelimit_state */
interface RatelimitState {
  begin: number | null;
  printed: number;
  missed: number;
}

/** The two dev_err_ratelimited() call sites of viommu_fault_handler(), per kernel. */
const sites = new WeakMap<Kernel, { address: RatelimitState; noAddress: RatelimitState }>();

/** ___ratelimit(): whether to print; logs the "callbacks suppressed" line when an interval rolls over. */
function ratelimit(k: Kernel, rs: RatelimitState, func: string): boolean {
  const now = k.clock.now;
  if (rs.begin === null) rs.begin = now;
  if (now > rs.begin + RATELIMIT_INTERVAL_MS) {
    if (rs.missed) {
      k.printk.log('warn', func, `${rs.missed} callbacks suppressed`);
      rs.missed = 0;
    }
    rs.begin = now;
    rs.printed = 0;
  }
  if (rs.printed < RATELIMIT_BURST) {
    rs.printed++;
    return true;
  }
  rs.missed++;
  return false;
}

/** printf's %#llx: 0 prints as "0", anything else with its 0x. */
const hashHex = (v: number): string => (v === 0 ? '0' : `0x${v.toString(16)}`);

/** viommu_fault_handler(): the line dev_err_ratelimited() prints for the event ([] when ratelimited). */
export function viommu_fault_handler(k: Kernel, fault: ViommuFaultEvent): string[] {
  let st = sites.get(k);
  if (!st) {
    const fresh = (): RatelimitState => ({ begin: null, printed: 0, missed: 0 });
    sites.set(k, (st = { address: fresh(), noAddress: fresh() }));
  }
  const reason =
    fault.reason === VIRTIO_IOMMU_FAULT_R_DOMAIN
      ? 'domain'
      : fault.reason === VIRTIO_IOMMU_FAULT_R_MAPPING
        ? 'page'
        : 'unknown';
  const ep = fault.endpoint >>> 0;
  if (fault.flags & VIRTIO_IOMMU_FAULT_F_ADDRESS) {
    if (!ratelimit(k, st.address, 'viommu_fault_handler')) return [];
    const rwx =
      (fault.flags & VIRTIO_IOMMU_FAULT_F_READ ? 'R' : '') +
      (fault.flags & VIRTIO_IOMMU_FAULT_F_WRITE ? 'W' : '') +
      (fault.flags & VIRTIO_IOMMU_FAULT_F_EXEC ? 'X' : '');
    return [`${reason} fault from EP ${ep} at ${hashHex(fault.address)} [${rwx}]`];
  }
  if (!ratelimit(k, st.noAddress, 'viommu_fault_handler')) return [];
  return [`${reason} fault from EP ${ep}`];
}
