// SPDX-License-Identifier: GPL-2.0-only
/**
 * The one allocator every modelled kernel object goes through (kzalloc,
 * krealloc, kfree, ida_alloc …). It records, for each live object, its type,
 * its owner (the device or object it hangs off) and the kernel function that
 * allocated it, so that:
 *  - teardown reports every object still live as a leak, by type and origin;
 *  - any run can fail its Nth allocation, like the kernel's fail-nth
 *    (Documentation/fault-injection/fault-injection.rst): allocation number N
 *    (1-based, counted from when the kernel model was created) returns NULL;
 *  - a double free is caught and reported, not silently accepted.
 */

export interface Allocation {
  /** Unique, increasing: the order of successful allocations. */
  readonly id: number;
  /** What was allocated: 'dev_iommu', 'iommu_fwspec', 'iommu_group', … */
  readonly type: string;
  /** Whose it is: a device name, "group 3", an IOMMU instance name. */
  owner: string;
  /** The kernel function that allocated it, e.g. 'dev_iommu_get'. */
  readonly site: string;
  freed: boolean;
  /** The kernel function that freed it, once freed. */
  freedBy: string | null;
  /** Which allocator (modelled machine) it came from. */
  readonly heap: number;
}

export interface InjectedFailure {
  readonly nth: number;
  readonly type: string;
  readonly site: string;
  readonly owner: string;
}

/** Freed allocations an owner's history keeps. */
const HISTORY_FREED = 256;
const HISTORY_COMPACT_MIN = 1024;
const FORGOTTEN: Allocation = { id: 0, type: '', owner: '', site: '', freed: true, freedBy: null, heap: 0 };
let heaps = 0;

export class Allocator {
  /** Allocation attempts so far (successful or not): what fail-nth counts. */
  attempts = 0;
  private nextId = 1;
  /** Allocations live now (byOwner holds them all, with `freed` telling). */
  private liveCount = 0;
  private readonly heap = ++heaps;
  /** Set when the armed failure fired. */
  injected: InjectedFailure | undefined;
  /**
   * Allocations by owner: who created and who freed each object. Every live
   * one is kept, and the most recent HISTORY_FREED freed ones: a hot loop
   * (an IOAS mapping and unmapping for ever) must not grow the model's own
   * memory without bound.
   */
  private readonly byOwner = new Map<string, Allocation[]>();
  /** Per owner, the list length at which it is next compacted (doubling: amortised O(1) per allocation). */
  private readonly compactAt = new Map<string, number>();

  /** The attempt that fails (0: none): failNth, or where armFailNth() put it. */
  private failAt: number;

  constructor(
    /** Fail the Nth attempt (1-based); 0 or undefined never fails. */
    readonly failNth: number | undefined,
    private readonly onDoubleFree: (a: Allocation, site: string) => void,
  ) {
    this.failAt = failNth ?? 0;
  }

  /**
   * Writing N to /proc/self/task/TID/fail-nth now: the Nth attempt from here
   * fails (0 disarms), as the iommufd fail-nth selftest arms it after its
   * setup (fail_nth_enable()) and disarms it before its teardown.
   */
  armFailNth(nth: number): void {
    this.failAt = nth > 0 ? this.attempts + nth : 0;
  }

  /** kzalloc(): returns null when fail-nth selects this attempt. */
  alloc(type: string, owner: string, site: string): Allocation | null {
    this.attempts += 1;
    if (this.failAt > 0 && this.attempts === this.failAt) {
      this.injected = { nth: this.attempts, type, site, owner };
      return null;
    }
    const a: Allocation = {
      id: this.nextId++,
      type,
      owner,
      site,
      freed: false,
      freedBy: null,
      heap: this.heap,
    };
    this.liveCount++;
    this.remember(a);
    return a;
  }

  /**
   * An allocation the model does not track one by one (a struct iova from
   * its kmem_cache, on the DMA hot path): it counts as an attempt for
   * fail-nth; false means fail-nth selected it and it returned NULL. Its
   * owner keeps the accounting (put_iova_domain() frees them all).
   */
  attempt(type: string, owner: string, site: string): boolean {
    this.attempts += 1;
    if (this.failAt > 0 && this.attempts === this.failAt) {
      this.injected = { nth: this.attempts, type, site, owner };
      return false;
    }
    return true;
  }

  private remember(a: Allocation): void {
    let list = this.byOwner.get(a.owner);
    if (!list) this.byOwner.set(a.owner, (list = []));
    list.push(a);
    if (list.length >= (this.compactAt.get(a.owner) ?? HISTORY_COMPACT_MIN)) this.compact(a.owner, list);
  }

  /** Drop all but the most recent HISTORY_FREED freed allocations of an owner's history. */
  private compact(owner: string, list: Allocation[]): void {
    let freed = 0;
    for (let i = list.length - 1; i >= 0; i--)
      if (list[i].freed && ++freed > HISTORY_FREED) list[i] = FORGOTTEN;
    let w = 0;
    for (const x of list) if (x !== FORGOTTEN) list[w++] = x;
    list.length = w;
    this.compactAt.set(owner, Math.max(HISTORY_COMPACT_MIN, 2 * w));
  }

  /** Re-file an allocation under a new owner (its owner became known after allocation). */
  setOwner(a: Allocation, owner: string): void {
    const list = this.byOwner.get(a.owner);
    const i = list?.indexOf(a) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
    a.owner = owner;
    this.remember(a);
  }

  /** What was allocated for `owner`, in allocation order, with who freed it: every live one and the latest freed ones. */
  history(owner: string): readonly Allocation[] {
    return this.byOwner.get(owner) ?? [];
  }

  /** kfree(); freeing NULL is allowed, freeing twice is reported. */
  free(a: Allocation | null | undefined, site: string): void {
    if (!a) return;
    if (a.freed || a.heap !== this.heap) {
      this.onDoubleFree(a, site);
      return;
    }
    a.freed = true;
    a.freedBy = site;
    this.liveCount--;
  }

  isLive(a: Allocation): boolean {
    return !a.freed && a.heap === this.heap;
  }

  /** How many allocations are live. */
  get liveTotal(): number {
    return this.liveCount;
  }

  /** Everything still allocated, oldest first. */
  liveAllocations(): Allocation[] {
    const out: Allocation[] = [];
    for (const list of this.byOwner.values()) for (const a of list) if (!a.freed) out.push(a);
    return out.sort((x, y) => x.id - y.id);
  }
}
