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
  /**
   * How many allocations this history entry stands for: the same type for
   * the same owner, allocated and freed by the same functions, one after the
   * other, is one entry (a device turned down by each IOMMU instance that
   * registers before its own gets and frees a dev_iommu each time).
   */
  times: number;
}

/** An allocation and the owner history it is filed in. */
interface Tracked extends Allocation {
  filed: OwnerHistory | null;
}

/** What was allocated for one owner, in allocation order (see Allocator.history()). */
export class OwnerHistory {
  readonly records: Tracked[] = [];
  /** The length at which the list is next compacted (doubling: amortised O(1) per allocation). */
  compactAt = HISTORY_COMPACT_MIN;
  constructor(
    /** The allocator it belongs to. */
    readonly heap: number,
    /** Whose it is, by name (the name the first allocation had). */
    readonly owner: string,
  ) {}
}

/**
 * An owner that keeps its own allocation history (a device): filing an
 * allocation under it is a field access, not a lookup by name in a table of
 * every owner (on a million-function platform, a table of two million names
 * that every probe of every device went through).
 */
export interface AllocOwner {
  allocations: OwnerHistory | null;
  /** Its name in reports: a device's name, "group 3". */
  toString(): string;
}

const ownerName = (o: AllocOwner | string): string => (typeof o === 'string' ? o : o.toString());

export interface InjectedFailure {
  readonly nth: number;
  readonly type: string;
  readonly site: string;
  readonly owner: string;
}

/** Freed allocations an owner's history keeps. */
const HISTORY_FREED = 256;
const HISTORY_COMPACT_MIN = 1024;
let heaps = 0;
const FORGOTTEN: Tracked = {
  id: 0,
  type: '',
  owner: '',
  site: '',
  freed: true,
  freedBy: null,
  heap: 0,
  times: 1,
  filed: null,
};

export class Allocator {
  /** Allocation attempts so far (successful or not): what fail-nth counts. */
  attempts = 0;
  private nextId = 1;
  /** Allocations live now (the owner histories hold them all, with `freed` telling). */
  private liveCount = 0;
  private readonly heap = ++heaps;
  /** Set when the armed failure fired. */
  injected: InjectedFailure | undefined;
  /**
   * Allocations by owner: who created and who freed each object. Every live
   * one is kept, and the most recent HISTORY_FREED freed ones: a hot loop
   * (an IOAS mapping and unmapping for ever) must not grow the model's own
   * memory without bound. Owners named by a string are filed here; owners
   * that keep their own (AllocOwner) are listed in `owners`.
   */
  private readonly byName = new Map<string, OwnerHistory>();
  private readonly owners: OwnerHistory[] = [];

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
  alloc(type: string, owner: AllocOwner | string, site: string): Allocation | null {
    this.attempts += 1;
    if (this.failAt > 0 && this.attempts === this.failAt) {
      this.injected = { nth: this.attempts, type, site, owner: ownerName(owner) };
      return null;
    }
    const a: Tracked = {
      id: this.nextId++,
      type,
      owner: ownerName(owner),
      site,
      freed: false,
      freedBy: null,
      heap: this.heap,
      times: 1,
      filed: null,
    };
    this.liveCount++;
    this.remember(a, owner);
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

  /** The history `owner` is filed in, made on its first allocation (null: none yet and `make` unset). */
  private historyOf(owner: AllocOwner | string, make: boolean): OwnerHistory | null {
    let h: OwnerHistory | null | undefined;
    if (typeof owner === 'string') {
      h = this.byName.get(owner);
      if (!h && make) this.byName.set(owner, (h = new OwnerHistory(this.heap, owner)));
    } else {
      h = owner.allocations;
      // An owner another allocator (another modelled machine) filed under is one by name here.
      if (h && h.heap !== this.heap) return this.historyOf(owner.toString(), make);
      if (!h && make)
        this.owners.push((owner.allocations = h = new OwnerHistory(this.heap, owner.toString())));
    }
    return h ?? null;
  }

  private remember(a: Tracked, owner: AllocOwner | string): void {
    const h = this.historyOf(owner, true)!;
    h.records.push(a);
    a.filed = h;
    if (h.records.length >= h.compactAt) this.compact(h);
  }

  /** Drop all but the most recent HISTORY_FREED freed allocations of an owner's history. */
  private compact(h: OwnerHistory): void {
    const list = h.records;
    let freed = 0;
    for (let i = list.length - 1; i >= 0; i--)
      if (list[i].freed && ++freed > HISTORY_FREED) list[i] = FORGOTTEN;
    let w = 0;
    for (const x of list) if (x !== FORGOTTEN) list[w++] = x;
    list.length = w;
    h.compactAt = Math.max(HISTORY_COMPACT_MIN, 2 * w);
  }

  /** Re-file an allocation under a new owner (its owner became known after allocation). */
  setOwner(a: Allocation, owner: AllocOwner | string): void {
    const t = a as Tracked;
    const list = t.filed?.records;
    const i = list?.indexOf(t) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
    t.owner = ownerName(owner);
    this.remember(t, owner);
  }

  /**
   * What was allocated for `owner`, in allocation order, with who freed it:
   * every live one and the latest freed ones. Given an owner that keeps its
   * own, what was filed under its name too; given a name, what every owner
   * of that name kept (a search of them all: for tests and reports).
   */
  history(owner: AllocOwner | string): readonly Allocation[] {
    const name = ownerName(owner);
    const lists: (readonly Tracked[])[] = [];
    const byName = this.byName.get(name);
    if (byName) lists.push(byName.records);
    if (typeof owner !== 'string') {
      const own = this.historyOf(owner, false);
      if (own && own !== byName) lists.push(own.records);
    } else {
      for (const h of this.owners) if (h.owner === name) lists.push(h.records);
    }
    return lists.length === 1 ? lists[0] : lists.flat().sort((x, y) => x.id - y.id);
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
    // The same allocation and free as the entry before: count it there.
    const t = a as Tracked;
    const list = t.filed?.records;
    const n = list?.length ?? 0;
    if (list && n >= 2 && list[n - 1] === t) {
      const prev = list[n - 2];
      if (prev.freed && prev.type === t.type && prev.site === t.site && prev.freedBy === site) {
        prev.times += t.times;
        list.pop();
        t.filed = null;
      }
    }
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
    for (const h of this.byName.values()) for (const a of h.records) if (!a.freed) out.push(a);
    for (const h of this.owners) for (const a of h.records) if (!a.freed) out.push(a);
    return out.sort((x, y) => x.id - y.id);
  }
}
