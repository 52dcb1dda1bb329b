// SPDX-License-Identifier: GPL-2.0-only
/**
 * The IOVA range caches of drivers/iommu/iova.c (Linux 6.12), the part that
 * talks to the tree: iova_domain_init_rcaches(), alloc_iova_fast() and
 * free_iova_fast() with iova_rcache_get()/iova_rcache_insert(), the depot's
 * delayed work (iova_depot_work_func), iova_magazine_free_pfns(),
 * free_cpu_cached_iovas(), free_global_cached_iovas() and the CPU-hotplug
 * callback iova_cpuhp_dead(). The magazine and depot storage is in
 * src/dma/iova-magazine.ts.
 *
 * Ranges of up to 2^(IOVA_RANGE_CACHE_MAX_SIZE - 1) = 32 pfns are cached by
 * order: a free puts the pfn in the freeing CPU's loaded magazine (or its
 * prev, swapping them, or into the depot when both are full), and an
 * allocation of the same order takes the newest one that fits under the
 * limit, before the tree is searched. The tree keeps the cached ranges
 * allocated the whole time, so what a cache hands out never overlaps anything.
 */

import {
  IOVA_MAG_SIZE,
  IOVA_RANGE_CACHE_MAX_SIZE,
  MAG_NULL,
  alloc_iova_rcaches,
  type IovaRcaches,
} from './iova-magazine.js';
import {
  type IovaDomain,
  alloc_iova,
  free_iova,
  free_iova_pfns,
  iova_pfn_lo,
  order_base_2,
  roundup_pow_of_two,
} from './iova.js';

const MAG_STRIDE = IOVA_MAG_SIZE + 1;
const NO_FAIL = (): boolean => false;
/** Sizes below this are rounded up to a power of two by alloc_iova_fast(). */
const ROUNDUP_BELOW = 2 ** (IOVA_RANGE_CACHE_MAX_SIZE - 1);

/** iova_domain_init_rcaches(): 0, or -ENOMEM with the domain left without caches. */
export function iova_domain_init_rcaches(iovad: IovaDomain): number {
  const rc = alloc_iova_rcaches(iovad.nrCpus, iovad.failAlloc ?? NO_FAIL);
  if (!rc) return -12; // -ENOMEM
  iovad.rcaches = rc;
  return 0;
}

/** iova_rcache_range(): the largest size in bytes the caches serve, for PAGE_SIZE pages. */
export function iova_rcache_range(pageSize = 4096): number {
  return pageSize * 2 ** (IOVA_RANGE_CACHE_MAX_SIZE - 1);
}

function rcachesOf(iovad: IovaDomain, fn: string): IovaRcaches {
  // The kernel dereferences iovad->rcaches unconditionally here (an oops when NULL).
  if (!iovad.rcaches) throw new Error(`${fn}: the domain has no rcaches (iova_domain_init_rcaches not done)`);
  return iovad.rcaches;
}

function checkCpu(iovad: IovaDomain, cpu: number): void {
  if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < iovad.nrCpus))
    throw new RangeError(`cpu ${cpu} out of 0..${iovad.nrCpus - 1}`);
}

/** iova_magazine_free_pfns(): give every pfn in the magazine back to the tree; the magazine is empty after. */
function iova_magazine_free_pfns(iovad: IovaDomain, rc: IovaRcaches, m: number): void {
  const b = m * MAG_STRIDE;
  free_iova_pfns(iovad, rc.mags, b + 1, rc.mags[b]);
  rc.mags[b] = 0;
}

/** schedule_delayed_work(&rcache->work, IOVA_DEPOT_DELAY): a no-op when already pending. */
function schedule_depot_work(rc: IovaRcaches, r: number): void {
  rc.workPending[r] = 1;
}

/**
 * __iova_rcache_insert(): push pfn into this CPU's loaded magazine; when it
 * is full use prev (swapping the two); when both are full move loaded to the
 * depot, schedule the depot trim and start a fresh magazine. false when that
 * fresh magazine cannot be allocated.
 */
function rcache_insert(iovad: IovaDomain, rc: IovaRcaches, r: number, cpu: number, pfn: number): boolean {
  const k = r * rc.nrCpus + cpu;
  let loaded = rc.loaded[k];
  if (rc.full(loaded)) {
    const prev = rc.prev[k];
    if (!rc.full(prev)) {
      rc.prev[k] = loaded;
      rc.loaded[k] = prev;
      loaded = prev;
    } else {
      if (iovad.failAlloc !== undefined && iovad.failAlloc('iova_magazine')) return false;
      const fresh = rc.magazineAlloc();
      rc.depotPush(r, loaded);
      schedule_depot_work(rc, r);
      rc.loaded[k] = fresh;
      loaded = fresh;
    }
  }
  rc.push(loaded, pfn);
  return true;
}

/**
 * __iova_rcache_get(): from this CPU's loaded magazine, else its prev
 * (swapped in), else a full magazine from the depot (replacing the empty
 * loaded one); the newest pfn not above limit_pfn. 0 when none.
 */
function rcache_get(rc: IovaRcaches, r: number, cpu: number, limit_pfn: number): number {
  const k = r * rc.nrCpus + cpu;
  let loaded = rc.loaded[k];
  if (rc.empty(loaded)) {
    const prev = rc.prev[k];
    if (!rc.empty(prev)) {
      rc.prev[k] = loaded;
      rc.loaded[k] = prev;
      loaded = prev;
    } else if (rc.depot[r] !== MAG_NULL) {
      rc.magazineFree(loaded);
      loaded = rc.depotPop(r);
      rc.loaded[k] = loaded;
    } else return 0;
  }
  return rc.pop(loaded, limit_pfn);
}

/**
 * alloc_iova_fast(): size pfns at or below limit_pfn, from the rcache if one
 * of that order fits, else from the tree (size-aligned). Sizes under 32 are
 * rounded up to a power of two first, so that a freed range goes back to the
 * cache it came from. When the tree has no room and flush_rcache is set, every
 * cached range goes back to the tree and the tree is tried once more. Returns
 * the pfn, or 0 on failure.
 */
export function alloc_iova_fast(
  iovad: IovaDomain,
  size: number,
  limit_pfn: number,
  flush_rcache: boolean,
  cpu = 0,
): number {
  const rc = rcachesOf(iovad, 'alloc_iova_fast');
  checkCpu(iovad, cpu);
  if (size < ROUNDUP_BELOW) size = roundup_pow_of_two(size);

  // iova_rcache_get()
  const r = order_base_2(size);
  if (r < IOVA_RANGE_CACHE_MAX_SIZE) {
    const pfn = rcache_get(rc, r, cpu, limit_pfn + 1 - size);
    if (pfn !== 0) return pfn;
  }

  for (;;) {
    const iova = alloc_iova(iovad, size, limit_pfn, true);
    if (iova !== null) return iova_pfn_lo(iovad, iova);
    if (!flush_rcache) return 0;
    flush_rcache = false;
    for (let c = 0; c < rc.nrCpus; c++) free_cpu_cached_iovas(iovad, c);
    free_global_cached_iovas(iovad);
  }
}

/**
 * free_iova_fast(): cache the range [pfn, pfn + size) on this CPU, or free it
 * to the tree (free_iova) when its order is not cached or no magazine could be
 * had.
 */
export function free_iova_fast(iovad: IovaDomain, pfn: number, size: number, cpu = 0): void {
  const rc = rcachesOf(iovad, 'free_iova_fast');
  checkCpu(iovad, cpu);
  const r = order_base_2(size);
  if (r < IOVA_RANGE_CACHE_MAX_SIZE && rcache_insert(iovad, rc, r, cpu, pfn)) return;
  free_iova(iovad, pfn);
}

/** free_cpu_cached_iovas(): give everything in one CPU's magazines back to the tree. */
export function free_cpu_cached_iovas(iovad: IovaDomain, cpu: number): void {
  const rc = rcachesOf(iovad, 'free_cpu_cached_iovas');
  checkCpu(iovad, cpu);
  for (let r = 0; r < IOVA_RANGE_CACHE_MAX_SIZE; r++) {
    const k = r * rc.nrCpus + cpu;
    iova_magazine_free_pfns(iovad, rc, rc.loaded[k]);
    iova_magazine_free_pfns(iovad, rc, rc.prev[k]);
  }
}

/** free_global_cached_iovas(): empty every depot into the tree and free its magazines. */
export function free_global_cached_iovas(iovad: IovaDomain): void {
  const rc = rcachesOf(iovad, 'free_global_cached_iovas');
  for (let r = 0; r < IOVA_RANGE_CACHE_MAX_SIZE; r++) {
    while (rc.depot[r] !== MAG_NULL) {
      const m = rc.depotPop(r);
      iova_magazine_free_pfns(iovad, rc, m);
      rc.magazineFree(m);
    }
  }
}

/** iova_cpuhp_dead(): a CPU went offline; its cached ranges go back to the tree. */
export function iova_cpuhp_dead(iovad: IovaDomain, cpu: number): number {
  free_cpu_cached_iovas(iovad, cpu);
  return 0;
}

/**
 * Let IOVA_DEPOT_DELAY pass: every pending iova_depot_work_func runs once.
 * Each trims its depot by one magazine (its pfns back to the tree) while the
 * depot holds more magazines than there are online CPUs, and then schedules
 * itself again. Returns how many works ran.
 */
export function iova_depot_run_work(iovad: IovaDomain): number {
  const rc = rcachesOf(iovad, 'iova_depot_work_func');
  let ran = 0;
  for (let r = 0; r < IOVA_RANGE_CACHE_MAX_SIZE; r++) {
    if (!rc.workPending[r]) continue;
    rc.workPending[r] = 0;
    ran++;
    if (rc.depot_size[r] > rc.nrCpus) {
      const m = rc.depotPop(r);
      iova_magazine_free_pfns(iovad, rc, m);
      rc.magazineFree(m);
      schedule_depot_work(rc, r);
    }
  }
  return ran;
}
