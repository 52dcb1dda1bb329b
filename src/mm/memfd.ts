// SPDX-License-Identifier: GPL-2.0-only
/**
 * memfd_create(2) files (mm/memfd.c over shmem): anonymous memory that is a
 * file. Its pages belong to the file, so every shared mapping of it sees the
 * same frames, and a driver can pin them by file offset without any user
 * address (memfd_pin_folios(), what IOMMU_IOAS_MAP_FILE uses). ftruncate(2)
 * sets the size; a page at or past the end cannot be mapped (SIGBUS: the
 * model's -EFAULT) or pinned (-EINVAL). Pages are 4 KiB (no MFD_HUGETLB).
 * Its pages live as long as any reference to the file (user-mm.ts get_file()).
 */
import { EINVAL } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import type { FileMapping, ModelFile } from './user-mm.js';
import { USER_PAGE_SIZE, allocUserFrame } from './user-mm.js';

export class MemfdFile implements ModelFile {
  readonly name: string;
  /** i_size in bytes. */
  size = 0;
  /** Page index -> frame, for pages touched so far (the shmem page cache). */
  private readonly frames = new Map<number, number>();

  constructor(
    readonly k: Kernel,
    name: string,
  ) {
    this.name = `memfd:${name}`;
  }

  /** ftruncate(): the new size; pages past it leave the page cache (pins keep their frames). */
  truncate(size: number): number {
    if (!Number.isSafeInteger(size) || size < 0) return -EINVAL;
    const keep = Math.ceil(size / USER_PAGE_SIZE);
    for (const i of [...this.frames.keys()]) if (i >= keep) this.frames.delete(i);
    this.size = size;
    return 0;
  }

  /**
   * The frame of page `index` (shmem_get_folio(), allocating it), or -EINVAL
   * past the end: for a mapping, a page holding no byte of the file; for a
   * pin (memfd_pin_folios(): the range's last byte must be inside the file,
   * `whole`), a page not entirely inside it.
   */
  pageFrame(index: number, whole = false): number {
    if (!Number.isSafeInteger(index) || index < 0) return -EINVAL;
    if ((whole ? (index + 1) * USER_PAGE_SIZE - 1 : index * USER_PAGE_SIZE) >= this.size) return -EINVAL;
    let f = this.frames.get(index);
    if (f === undefined) {
      f = allocUserFrame(this.k, USER_PAGE_SIZE);
      this.frames.set(index, f);
    }
    return f;
  }

  /** The last reference (descriptor, mapping or holder: get_file()/fput()) is gone: the pages go. */
  release(): void {
    this.frames.clear();
  }

  /** shmem_mmap(): shared mappings see the file's pages; a page past the end faults. */
  mmap(pgoff: number): FileMapping {
    return { physOf: (i) => this.pageFrame(pgoff + i) };
  }
}
