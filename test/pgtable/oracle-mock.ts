// SPDX-License-Identifier: GPL-2.0-only
// What iommufd/selftest.c's mock domain (6.12) does: an xarray of 2K entries
// (here a Map by index) holding pfn | MOCK_PFN_* flags. Map stores every
// entry of every page (the first and the last of a call flagged START/LAST,
// all of a page above 2K flagged HUGE), WARNs on an entry already there and
// overwrites it; unmap erases everything in its range and returns its size,
// WARNing (without the huge page size) when its first or last entry was not
// a start or end of a map; iova_to_phys WARNs inside a page and on no entry.
// Its nodes: 64-slot, the tree's height grown as indexes need and nodes
// emptied by an erase freed (the xarray's own xas_expand()/xas_delete_node()).
import type { PgtableLayout } from '../../src/pgtable/index.js';
import type { MapAnswer } from './oracle.js';
import { EINVAL, Oracle } from './oracle.js';

const PAGE = 2048;
const START = 1n << 53n;
const HUGE = 1n << 55n;

export class MockOracle extends Oracle {
  private readonly entries = new Map<number, { pa: number; flags: bigint }>();
  private height = 1;
  private readonly checks: boolean;

  constructor(layout: PgtableLayout) {
    super(layout);
    this.checks = !layout.pgsizes.includes(512 * PAGE);
  }

  tableCount(): number {
    // The root, and each node below it that holds an entry under it.
    let n = 1;
    for (let h = 1; h < this.height; h++)
      n += new Set([...this.entries.keys()].map((i) => Math.floor(i / 64 ** h))).size;
    return n;
  }

  map(iova: number, pa: number, size: number, count: number): MapAnswer {
    if (iova % PAGE) this.warns++;
    if (size % PAGE || size <= 0) {
      this.warns++;
      return { errno: EINVAL, mapped: 0 };
    }
    let flags = START;
    let mapped = 0;
    for (let n = count; n; n--) {
      for (let cur = 0; cur !== size; cur += PAGE) {
        if (n === 1 && cur + PAGE === size) flags = START;
        if (size !== PAGE) flags |= HUGE;
        const index = Math.floor(iova / PAGE);
        while (index > 64 ** this.height - 1) this.height++;
        if (this.entries.has(index)) this.warns++;
        this.entries.set(index, { pa: pa - (pa % PAGE), flags });
        iova += PAGE;
        pa += PAGE;
        mapped += PAGE;
        flags = 0n;
      }
    }
    this.sync();
    return { errno: 0, mapped };
  }

  unmap(iova: number, size: number, count: number): number {
    if (iova % PAGE) this.warns++;
    if (size % PAGE || size <= 0) {
      this.warns++;
      return 0;
    }
    let first = true;
    let ret = 0;
    for (let n = count; n; n--) {
      for (let cur = 0; cur !== size; cur += PAGE) {
        const index = Math.floor(iova / PAGE);
        const ent = this.entries.get(index);
        this.entries.delete(index);
        if (this.checks) {
          if (first) {
            if (ent && !(ent.flags & START)) this.warns++;
            first = false;
          }
          if (n === 1 && cur + PAGE === size && ent && !(ent.flags & START)) this.warns++;
        }
        iova += PAGE;
        ret += PAGE;
      }
    }
    this.sync();
    return ret;
  }

  override lookup(iova: number): number {
    if (iova % PAGE) this.warns++;
    const ent = this.entries.get(Math.floor(iova / PAGE));
    if (!ent) {
      this.warns++;
      return 0;
    }
    return ent.pa;
  }

  private sync(): void {
    this.leaves.clear();
    for (const [i, e] of this.entries)
      this.leaves.set(i * PAGE, { size: PAGE, pa: e.pa, prot: 0, attrs: e.flags });
  }
}
