// SPDX-License-Identifier: GPL-2.0-only
/**
 * A user process's address space, as iommufd sees it: anonymous mappings
 * (mmap(MAP_ANONYMOUS), optionally backed by 2 MiB huge pages), munmap, and
 * reads and writes through user pointers that fail with -EFAULT outside a
 * mapping (copy_from_user()/copy_to_user()). A page gets a physical frame of
 * the machine's memory (phys-mem.ts) the first time it is touched, so a
 * device that DMAs through an IOMMU mapping of it writes the bytes the
 * process then reads. It also carries what pinning is accounted against:
 * RLIMIT_MEMLOCK, CAP_IPC_LOCK, the user's and the mm's locked_vm and the
 * mm's pinned_vm (mm/mmap.c, mm/gup.c, drivers/iommu/iommufd/pages.c).
 *
 * Addresses are numbers (user space is below 2^47); the iommufd layer turns
 * the ABI's u64 pointers into them and treats anything else as -EFAULT.
 */
import { EBADF, EFAULT, EINVAL, ENODEV, ENOMEM } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { physMem } from './phys-mem.js';
import { MemfdFile } from './memfd.js';

export const USER_PAGE_SIZE = 4096;
export const USER_HUGE_PAGE_SIZE = 2 * 1024 * 1024;
/** TASK_SIZE on x86-64 with 4-level paging: user addresses are below it. */
export const TASK_SIZE = 2 ** 47 - USER_PAGE_SIZE;
/** Where the model's mmap() starts handing out addresses, downwards (mmap_base). */
const MMAP_BASE = 0x7f00_0000_0000;
/** Frames for user pages come from here up, apart from kernel allocations. */
const USER_FRAME_BASE = 0x100_0000_0000;

export const PROT_READ = 1;
export const PROT_WRITE = 2;

export interface MmapOptions {
  /** PROT_READ | PROT_WRITE; default both. */
  readonly prot?: number;
  /** Back the mapping with 2 MiB pages (MAP_HUGETLB): its address and length are 2 MiB aligned. */
  readonly hugePages?: boolean;
}

/**
 * What a file's mmap() gives a VMA (vm_operations_struct and the pages
 * behind it): the physical address of each page of the mapping, and
 * open()/close() as VMAs are split or go away.
 */
export interface FileMapping {
  /** The physical address of page `pageIndex` (from the mapping's start), faulting it in. */
  physOf(pageIndex: number): number;
  /** vm_ops->open(): another VMA now maps part of it (a split). */
  open?(): void;
  /** vm_ops->close(): a VMA mapping it is gone. */
  close?(): void;
}

/** An open file of the process: what close() of its last descriptor releases. */
export interface ModelFile {
  readonly name: string;
  release(): void;
  /** mmap(2) of the file from page `pgoff`: its mapping, or a negative errno. */
  mmap?(pgoff: number, length: number, shared: boolean, exec: boolean): FileMapping | number;
  /** read(2) into the calling process's memory at buf: bytes read or a negative errno. */
  read?(buf: number, count: number, proc: UserProcess): number;
  /** write(2) from the calling process's memory at buf: bytes written or a negative errno. */
  write?(buf: number, count: number, proc: UserProcess): number;
}

interface Vma {
  readonly start: number;
  readonly end: number;
  readonly prot: number;
  readonly pageSize: number;
  /** A file mapping's pages, the page of the mapping the VMA starts at, and its file (vm_file, held). */
  readonly map?: FileMapping;
  readonly pgoff?: number;
  readonly file?: ModelFile;
}

/** A new physical frame of `size` bytes for user memory (anonymous pages, memfd pages). */
export function allocUserFrame(k: Kernel, size: number): number {
  let f = nextFrame.get(k);
  if (!f) nextFrame.set(k, (f = { next: USER_FRAME_BASE }));
  const frame = Math.ceil(f.next / size) * size;
  f.next = frame + size;
  return frame;
}

/** References to each open file beyond none: descriptors, mappings, holders (get_file()/fput()). */
const fileRefs = new WeakMap<ModelFile, number>();

/** get_file(): one more reference to an open file. */
export function get_file(f: ModelFile): ModelFile {
  fileRefs.set(f, (fileRefs.get(f) ?? 0) + 1);
  return f;
}

/** fput(): the last reference runs the file's release(). */
export function fput(f: ModelFile): void {
  const n = (fileRefs.get(f) ?? 0) - 1;
  if (n > 0) {
    fileRefs.set(f, n);
    return;
  }
  fileRefs.delete(f);
  f.release();
}

/** page_ref_count() / GUP_PIN_COUNTING_BIAS of each user frame, per modelled machine. */
const pinCounts = new WeakMap<Kernel, Map<number, number>>();

/** Physical frames handed to user pages, per modelled machine. */
const nextFrame = new WeakMap<Kernel, { next: number }>();

export class UserProcess {
  /** VMAs in address order, never overlapping. */
  private readonly vmas: Vma[] = [];
  /** Page (address / page size of its VMA) -> frame, for pages touched so far. */
  private readonly frames = new Map<number, number>();
  private mmapTop = MMAP_BASE;
  /** RLIMIT_MEMLOCK in bytes (the common default is 8 MiB). */
  rlimitMemlock = 8 * 1024 * 1024;
  /** The process has CAP_IPC_LOCK (pins are then not accounted). */
  capIpcLock = false;
  /** user_struct.locked_vm, mm.locked_vm and mm.pinned_vm, in pages. */
  readonly accounting = { userLockedVm: 0, mmLockedVm: 0, mmPinnedVm: 0 };
  /** FOLL_PIN pins per 4 KiB frame, machine-wide (a page's refcount is the page's, whoever maps it). */
  private get pins(): Map<number, number> {
    let m = pinCounts.get(this.k);
    if (!m) pinCounts.set(this.k, (m = new Map()));
    return m;
  }
  /** The file table: descriptors from 3 up (0-2 are the standard streams). */
  private readonly files = new Map<number, ModelFile>();

  constructor(readonly k: Kernel) {}

  /** mmap(NULL, length, prot, MAP_PRIVATE | MAP_ANONYMOUS [| MAP_HUGETLB]): the address, or -ENOMEM/-EINVAL. */
  mmap(length: number, opts: MmapOptions = {}): number {
    const pageSize = opts.hugePages ? USER_HUGE_PAGE_SIZE : USER_PAGE_SIZE;
    if (!Number.isSafeInteger(length) || length <= 0) return -EINVAL;
    const len = Math.ceil(length / pageSize) * pageSize;
    const start = Math.floor((this.mmapTop - len) / pageSize) * pageSize;
    if (start < USER_PAGE_SIZE) return -ENOMEM;
    this.mmapTop = start;
    this.insertVma({ start, end: start + len, prot: opts.prot ?? PROT_READ | PROT_WRITE, pageSize });
    return start;
  }

  /**
   * mmap(NULL, length, prot, MAP_SHARED, fd, offset): the file's own
   * mapping (its mmap() decides what the pages are), or a negative errno:
   * -EBADF for a descriptor not open, -ENODEV for a file without mmap,
   * -EINVAL for an unaligned offset or an empty length. Private file
   * mappings (copy-on-write) are not modelled.
   */
  mmapFile(
    fd: number,
    length: number,
    offset: number,
    opts: { prot?: number; shared?: boolean } = {},
  ): number {
    const f = this.files.get(fd);
    if (!f) return -EBADF;
    if (!Number.isSafeInteger(length) || length <= 0) return -EINVAL;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % USER_PAGE_SIZE) return -EINVAL;
    if (!f.mmap) return -ENODEV;
    const shared = opts.shared ?? true;
    const len = Math.ceil(length / USER_PAGE_SIZE) * USER_PAGE_SIZE;
    const map = f.mmap(offset / USER_PAGE_SIZE, len, shared, false);
    if (typeof map === 'number') return map;
    if (!shared) {
      map.close?.();
      throw new Error('iommu-lab: MAP_PRIVATE mappings of files are not modelled');
    }
    const start = this.mmapTop - len;
    if (start < USER_PAGE_SIZE) {
      map.close?.();
      return -ENOMEM;
    }
    this.mmapTop = start;
    const prot = opts.prot ?? PROT_READ | PROT_WRITE;
    this.insertVma({
      start,
      end: start + len,
      prot,
      pageSize: USER_PAGE_SIZE,
      map,
      pgoff: 0,
      file: get_file(f),
    });
    return start;
  }

  /** mmap(addr, length, …, MAP_FIXED): maps at a chosen page-aligned address, replacing what was there. */
  mmapFixed(addr: number, length: number, opts: MmapOptions = {}): number {
    const pageSize = opts.hugePages ? USER_HUGE_PAGE_SIZE : USER_PAGE_SIZE;
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(length) || length <= 0) return -EINVAL;
    if (addr % pageSize !== 0 || addr + length > TASK_SIZE) return -EINVAL;
    const len = Math.ceil(length / pageSize) * pageSize;
    this.munmap(addr, len);
    this.insertVma({ start: addr, end: addr + len, prot: opts.prot ?? PROT_READ | PROT_WRITE, pageSize });
    return addr;
  }

  /** munmap(): 0, or -EINVAL for an unaligned or empty range. Pages unmapped lose their contents. */
  munmap(addr: number, length: number): number {
    if (!Number.isSafeInteger(addr) || addr % USER_PAGE_SIZE !== 0 || !(length > 0)) return -EINVAL;
    const end = addr + Math.ceil(length / USER_PAGE_SIZE) * USER_PAGE_SIZE;
    const kept: Vma[] = [];
    for (const v of this.vmas) {
      if (v.end <= addr || v.start >= end) {
        kept.push(v);
        continue;
      }
      if (!v.map)
        for (let p = Math.max(v.start, addr); p < Math.min(v.end, end); p += v.pageSize)
          this.frames.delete(p / v.pageSize);
      const before = v.start < addr;
      const after = v.end > end;
      if (before) kept.push({ ...v, end: addr });
      if (after) kept.push({ ...v, start: end, pgoff: (v.pgoff ?? 0) + (end - v.start) / USER_PAGE_SIZE });
      // The split-off piece is a new VMA (vm_ops->open, another vm_file reference); a VMA wholly gone is closed.
      if (before && after) {
        v.map?.open?.();
        if (v.file) get_file(v.file);
      } else if (!before && !after) {
        v.map?.close?.();
        if (v.file) fput(v.file);
      }
    }
    this.vmas.splice(0, this.vmas.length, ...kept.sort((a, b) => a.start - b.start));
    return 0;
  }

  /** The mapping containing addr, if any (find_vma() narrowed to containment). */
  private vmaAt(addr: number): Vma | undefined {
    let lo = 0;
    let hi = this.vmas.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.vmas[mid];
      if (addr < v.start) hi = mid - 1;
      else if (addr >= v.end) lo = mid + 1;
      else return v;
    }
    return undefined;
  }

  private insertVma(v: Vma): void {
    let i = this.vmas.findIndex((x) => x.start > v.start);
    if (i < 0) i = this.vmas.length;
    this.vmas.splice(i, 0, v);
  }

  /**
   * The physical address backing user address addr (faulting the page in),
   * or -EFAULT outside a mapping or, for a write, in a read-only one.
   */
  physOf(addr: number, write = false): number {
    const v = Number.isSafeInteger(addr) && addr >= 0 ? this.vmaAt(addr) : undefined;
    if (v === undefined || (write && !(v.prot & PROT_WRITE))) return -EFAULT;
    if (v.map) {
      const idx = (v.pgoff ?? 0) + Math.floor((addr - v.start) / USER_PAGE_SIZE);
      const p = v.map.physOf(idx);
      return p < 0 ? -EFAULT : p + (addr % USER_PAGE_SIZE);
    }
    const page = Math.floor(addr / v.pageSize);
    let frame = this.frames.get(page);
    if (frame === undefined) {
      frame = allocUserFrame(this.k, v.pageSize);
      this.frames.set(page, frame);
    }
    return frame + (addr - page * v.pageSize);
  }

  /** get_unused_fd_flags() + fd_install(): the lowest free descriptor now refers to `file`. */
  installFd(file: ModelFile): number {
    let fd = 3;
    while (this.files.has(fd)) fd++;
    this.files.set(fd, get_file(file));
    return fd;
  }

  /** memfd_create(name, 0): a descriptor for a new empty memfd (MemfdFile). */
  memfdCreate(name: string): number {
    return this.installFd(new MemfdFile(this.k, name));
  }

  /** ftruncate(fd, size): -EBADF for a descriptor not open, -EINVAL for a file without a size to set. */
  ftruncate(fd: number, size: number): number {
    const f = this.files.get(fd);
    if (!f) return -EBADF;
    return f instanceof MemfdFile ? f.truncate(size) : -EINVAL;
  }

  /** fget(): the open file behind a descriptor, if any. */
  fget(fd: number): ModelFile | undefined {
    return this.files.get(fd);
  }

  /** read(fd, buf, count): -EBADF for a descriptor not open, -EINVAL for a file that cannot be read. */
  sysRead(fd: number, buf: number, count: number): number {
    const f = this.files.get(fd);
    if (!f) return -EBADF;
    return f.read ? f.read(buf, count, this) : -EINVAL;
  }

  /** write(fd, buf, count) */
  sysWrite(fd: number, buf: number, count: number): number {
    const f = this.files.get(fd);
    if (!f) return -EBADF;
    return f.write ? f.write(buf, count, this) : -EINVAL;
  }

  /** close(fd): the descriptor's reference goes; the file's release() runs with its last one. -EBADF for a descriptor not open. */
  close(fd: number): number {
    const f = this.files.get(fd);
    if (!f) return -EBADF;
    this.files.delete(fd);
    fput(f);
    return 0;
  }

  /** pin_user_pages() of the 4 KiB page at physical address phys (one more FOLL_PIN). */
  pin(phys: number): void {
    const f = Math.floor(phys / USER_PAGE_SIZE);
    this.pins.set(f, (this.pins.get(f) ?? 0) + 1);
  }

  /** unpin_user_page() */
  unpin(phys: number): void {
    const f = Math.floor(phys / USER_PAGE_SIZE);
    const n = (this.pins.get(f) ?? 0) - 1;
    if (n > 0) this.pins.set(f, n);
    else this.pins.delete(f);
  }

  /**
   * get_user_pages_fast() of the page at addr, as a refcount check sees it:
   * its frame, its FOLL_PIN count and whether it is part of a compound (huge)
   * page; -EFAULT outside a mapping.
   */
  pageInfo(addr: number): { phys: number; pins: number; compound: boolean } | number {
    const phys = this.physOf(addr);
    if (phys < 0) return phys;
    const frame = Math.floor(phys / USER_PAGE_SIZE);
    return { phys, pins: this.pins.get(frame) ?? 0, compound: this.vmaAt(addr)!.pageSize > USER_PAGE_SIZE };
  }

  /** copy_from_user(): the bytes, or -EFAULT when any of them is not mapped readable. */
  read(addr: number, length: number): Uint8Array | number {
    if (!Number.isSafeInteger(length) || length < 0) return -EFAULT;
    const out = new Uint8Array(length);
    const mem = physMem(this.k);
    for (let done = 0; done < length;) {
      const phys = this.physOf(addr + done);
      if (phys < 0) return -EFAULT;
      const n = Math.min(length - done, USER_PAGE_SIZE - ((addr + done) % USER_PAGE_SIZE));
      out.set(mem.read(phys, n), done);
      done += n;
    }
    return out;
  }

  /** copy_to_user(): 0, or -EFAULT (bytes before the fault are written, as the kernel's copy leaves them). */
  write(addr: number, bytes: Uint8Array): number {
    const mem = physMem(this.k);
    for (let done = 0; done < bytes.length;) {
      const phys = this.physOf(addr + done, true);
      if (phys < 0) return -EFAULT;
      const n = Math.min(bytes.length - done, USER_PAGE_SIZE - ((addr + done) % USER_PAGE_SIZE));
      mem.write(phys, bytes.subarray(done, done + n));
      done += n;
    }
    return 0;
  }
}

/** A u64 user pointer from the ABI as a user address, or -1 when no user address can be that. */
export function userPtr(v: bigint): number {
  return v < BigInt(TASK_SIZE) ? Number(v) : -1;
}
