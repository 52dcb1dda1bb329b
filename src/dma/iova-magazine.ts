// SPDX-License-Identifier: GPL-2.0-only
/**
 * The storage of the IOVA range caches (drivers/iommu/iova.c, Linux 6.12):
 * `struct iova_magazine`, the per-CPU `struct iova_cpu_rcache` (a loaded and a
 * previous magazine) and the per-size `struct iova_rcache` with its depot of
 * full magazines, plus iova_domain_init_rcaches()'s allocations and
 * free_iova_rcaches(). Nothing here touches the IOVA tree; the parts that do
 * (iova_magazine_free_pfns, alloc_iova_fast, free_iova_fast, …) are in
 * src/dma/iova-rcache.ts.
 *
 * A magazine is an index into one Float64Array of 128-slot records: slot 0 is
 * the kernel's union of `size` (pfns held) and `next` (the depot link, only
 * while the magazine sits in the depot, where it is always full), slots 1..127
 * are pfns[]. Magazines freed to the pool are reused, so a cache operation
 * allocates no JS object; the pool only grows (doubling) when more magazines
 * are live than ever before.
 *
 * "Per CPU" is an explicit cpu number: rcache r's data for cpu c is at
 * r * nrCpus + c. Every possible CPU is online (for_each_online_cpu and
 * num_online_cpus() both see nrCpus); a CPU going away is iova_cpuhp_dead().
 * The depot's delayed work (iova_depot_work_func, 100 ms after it is
 * scheduled) is a pending flag that the caller fires with
 * iova_depot_run_work() when it wants time to pass.
 */

/** log2 of the largest cached range size, in granules (sizes 1..32 are cached). */
export const IOVA_RANGE_CACHE_MAX_SIZE = 6;
/** pfns per magazine (so that the C struct is 1 KiB). */
export const IOVA_MAG_SIZE = 127;
const MAG_STRIDE = IOVA_MAG_SIZE + 1;
export const MAG_NULL = -1;

/** The allocations the IOVA code makes, for failure injection (GFP_ATOMIC / GFP_KERNEL returning NULL). */
export type IovaMemType = 'iova' | 'iova_magazine' | 'iova_rcaches' | 'iova_cpu_rcaches';

/** iovad->rcaches: IOVA_RANGE_CACHE_MAX_SIZE `struct iova_rcache`s and their per-CPU parts. */
export class IovaRcaches {
  /** Magazine records (see the file comment). Replaced when the pool grows. */
  mags: Float64Array;
  /** Magazines allocated and not freed (iova_magazine_alloc - iova_magazine_free). */
  magLive = 0;
  /** `struct iova_cpu_rcache` loaded / prev per (rcache, cpu); MAG_NULL where not allocated. */
  readonly loaded: Int32Array;
  readonly prev: Int32Array;
  /** Per rcache: head of the depot list, depot_size, whether cpu_rcaches was allocated, work pending. */
  readonly depot: Int32Array;
  readonly depot_size: Int32Array;
  readonly hasCpuRcaches: Uint8Array;
  readonly workPending: Uint8Array;
  private magCap: number;
  private magUsed = 0;
  private magFree = MAG_NULL;

  constructor(readonly nrCpus: number) {
    const n = IOVA_RANGE_CACHE_MAX_SIZE * nrCpus;
    this.loaded = new Int32Array(n).fill(MAG_NULL);
    this.prev = new Int32Array(n).fill(MAG_NULL);
    this.depot = new Int32Array(IOVA_RANGE_CACHE_MAX_SIZE).fill(MAG_NULL);
    this.depot_size = new Int32Array(IOVA_RANGE_CACHE_MAX_SIZE);
    this.hasCpuRcaches = new Uint8Array(IOVA_RANGE_CACHE_MAX_SIZE);
    this.workPending = new Uint8Array(IOVA_RANGE_CACHE_MAX_SIZE);
    this.magCap = Math.max(16, 2 * n);
    this.mags = new Float64Array(this.magCap * MAG_STRIDE);
  }

  /** iova_magazine_alloc() once the allocation itself succeeded: an empty magazine. */
  magazineAlloc(): number {
    let m = this.magFree;
    if (m !== MAG_NULL) {
      this.magFree = this.mags[m * MAG_STRIDE];
    } else {
      if (this.magUsed === this.magCap) {
        const grown = new Float64Array(this.magCap * 2 * MAG_STRIDE);
        grown.set(this.mags);
        this.mags = grown;
        this.magCap *= 2;
      }
      m = this.magUsed++;
    }
    this.magLive++;
    this.mags[m * MAG_STRIDE] = 0;
    return m;
  }

  /** iova_magazine_free(); MAG_NULL is ignored, as kmem_cache_free(NULL) is. */
  magazineFree(m: number): void {
    if (m === MAG_NULL) return;
    this.mags[m * MAG_STRIDE] = this.magFree;
    this.magFree = m;
    this.magLive--;
  }

  /** mag->size */
  size(m: number): number {
    return this.mags[m * MAG_STRIDE];
  }

  /** The pfns a magazine holds, oldest push first (for tests and reports; allocates). */
  pfns(m: number): number[] {
    const b = m * MAG_STRIDE;
    return Array.from(this.mags.subarray(b + 1, b + 1 + this.mags[b]));
  }

  /** iova_magazine_full() */
  full(m: number): boolean {
    return this.mags[m * MAG_STRIDE] === IOVA_MAG_SIZE;
  }

  /** iova_magazine_empty() */
  empty(m: number): boolean {
    return this.mags[m * MAG_STRIDE] === 0;
  }

  /**
   * iova_magazine_pop(): the newest pfn not above limitPfn, searching down
   * from the top; the hole is filled with the top pfn. 0 when every pfn in the
   * magazine is above the limit (the caller then goes to the tree).
   */
  pop(m: number, limitPfn: number): number {
    const a = this.mags;
    const b = m * MAG_STRIDE;
    let i = a[b] - 1;
    while (a[b + 1 + i] > limitPfn) {
      if (i === 0) return 0;
      i--;
    }
    const pfn = a[b + 1 + i];
    const top = a[b] - 1;
    a[b + 1 + i] = a[b + 1 + top];
    a[b] = top;
    return pfn;
  }

  /** iova_magazine_push() */
  push(m: number, pfn: number): void {
    const a = this.mags;
    const b = m * MAG_STRIDE;
    const s = a[b];
    a[b + 1 + s] = pfn;
    a[b] = s + 1;
  }

  /** iova_depot_pop(): the depot's newest magazine, full again (its size overwrote `next`). */
  depotPop(r: number): number {
    const m = this.depot[r];
    this.depot[r] = this.mags[m * MAG_STRIDE];
    this.mags[m * MAG_STRIDE] = IOVA_MAG_SIZE;
    this.depot_size[r]--;
    return m;
  }

  /** iova_depot_push(): a full magazine onto the depot; `next` overwrites its size. */
  depotPush(r: number, m: number): void {
    this.mags[m * MAG_STRIDE] = this.depot[r];
    this.depot[r] = m;
    this.depot_size[r]++;
  }
}

/**
 * iova_domain_init_rcaches()'s allocations: the rcache array (kcalloc), then
 * fill_iova_rcaches(). `fail` decides whether an allocation returns NULL.
 * null (-ENOMEM) on the first failure, with nothing left allocated.
 */
export function alloc_iova_rcaches(nrCpus: number, fail: (what: IovaMemType) => boolean): IovaRcaches | null {
  if (fail('iova_rcaches')) return null;
  const rc = new IovaRcaches(nrCpus);
  return fill_iova_rcaches(rc, fail) ? rc : null;
}

/**
 * For each size, the per-CPU area (__alloc_percpu) and each CPU's loaded and
 * prev magazines (both are tried before the check, as the kernel does). On a
 * failure everything built so far is freed (free_iova_rcaches) and false is
 * returned.
 */
export function fill_iova_rcaches(rc: IovaRcaches, fail: (what: IovaMemType) => boolean): boolean {
  for (let i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) {
    if (fail('iova_cpu_rcaches')) {
      free_iova_rcaches(rc);
      return false;
    }
    rc.hasCpuRcaches[i] = 1;
    for (let cpu = 0; cpu < rc.nrCpus; cpu++) {
      const k = i * rc.nrCpus + cpu;
      rc.loaded[k] = fail('iova_magazine') ? MAG_NULL : rc.magazineAlloc();
      rc.prev[k] = fail('iova_magazine') ? MAG_NULL : rc.magazineAlloc();
      if (rc.loaded[k] === MAG_NULL || rc.prev[k] === MAG_NULL) {
        free_iova_rcaches(rc);
        return false;
      }
    }
  }
  return true;
}

/**
 * free_iova_rcaches(): every magazine goes back, up to the first size whose
 * per-CPU area was never allocated; pending depot work is cancelled. The pfns
 * the magazines held are not given back to the tree (the caller is tearing the
 * domain down).
 */
export function free_iova_rcaches(rc: IovaRcaches): void {
  for (let i = 0; i < IOVA_RANGE_CACHE_MAX_SIZE; i++) {
    if (!rc.hasCpuRcaches[i]) break;
    for (let cpu = 0; cpu < rc.nrCpus; cpu++) {
      const k = i * rc.nrCpus + cpu;
      rc.magazineFree(rc.loaded[k]);
      rc.magazineFree(rc.prev[k]);
      rc.loaded[k] = MAG_NULL;
      rc.prev[k] = MAG_NULL;
    }
    rc.hasCpuRcaches[i] = 0;
    rc.workPending[i] = 0; // cancel_delayed_work_sync
    while (rc.depot[i] !== MAG_NULL) rc.magazineFree(rc.depotPop(i));
  }
}
