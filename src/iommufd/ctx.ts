// SPDX-License-Identifier: GPL-2.0-only
/**
 * struct iommufd_ctx and its object table (drivers/iommu/iommufd/main.c,
 * 6.12: _iommufd_object_alloc(), iommufd_object_finalize(),
 * iommufd_object_abort(), iommufd_object_abort_and_destroy(),
 * iommufd_get_object(), iommufd_object_remove(), iommufd_fops_release()).
 *
 * Ids are the lowest free in [1, 2^31 - 1] (xa_alloc with XA_FLAGS_ALLOC1
 * and xa_limit_31b), reserved at allocation and visible to lookups only once
 * finalized. `users` starts at 1 (the table's); each dependent object and
 * each driver holding an object adds one, so removing an object someone
 * uses is -EBUSY. The short-term references an ioctl takes while it runs
 * (iommufd_get_object()/iommufd_put_object()) are not modelled: nothing runs
 * concurrently, so they are always dropped before anyone could observe them.
 */
import type { Allocation } from '../kernel/alloc.js';
import { EBUSY, ENOENT, ENOMEM } from '../kernel/errno.js';
import { Ida } from '../kernel/ida.js';
import type { Kernel } from '../kernel/kernel.js';
import type { UserProcess } from '../mm/user-mm.js';
import { iommufdShouldFail } from './should-fail.js';
import type { IommufdGroup } from './device.js';
import type { IommufdIoas } from './ioas.js';
import type { IommufdMmap } from './mmap.js';

/** enum iommufd_object_type (the ones the model has). */
export type IommufdObjectType =
  | 'IOAS'
  | 'DEVICE'
  | 'HWPT_PAGING'
  | 'HWPT_NESTED'
  | 'FAULT'
  | 'ACCESS'
  | 'VIOMMU'
  | 'VDEVICE'
  | 'VEVENTQ'
  | 'HW_QUEUE'
  | 'SELFTEST';

export interface IommufdObject {
  readonly id: number;
  readonly type: IommufdObjectType;
  /** refcount users: 1 for the table, one per dependent object or driver reference. */
  users: number;
  readonly mem: Allocation;
  /** iommufd_object_ops[type].destroy(): releases what the object holds (not its memory). */
  destroy(): void;
}

const XA_LIMIT_31B = 2 ** 31 - 1;

/** struct iommufd_ctx */
export class IommufdCtx {
  /** id -> object, or null while reserved (allocated, not finalized). */
  private readonly objects = new Map<number, IommufdObject | null>();
  private readonly ids = new Ida();
  /** ictx->groups: iommufd's per-iommu_group state, by group id (device.ts). */
  readonly groups = new Map<number, IommufdGroup>();
  accountMode: 'user' | 'mm' = 'user';
  /** CAP_SYS_RESOURCE of the opener (RLIMIT_MODE needs it). */
  capSysResource = true;
  /** ictx->mt_mmap: driver ranges user space can mmap() through the file, by offset (mmap.ts). */
  readonly mmaps: IommufdMmap[] = [];
  /** ictx->vfio_ioas: the IOAS VFIO compatibility uses (IOMMU_VFIO_IOAS), or null. */
  vfioIoas: IommufdIoas | null = null;
  /** References to the /dev/iommu file: the descriptor's and one per access (iommufd_ctx_get()). */
  private fileRefs = 1;
  private releasePending = false;
  private released = false;
  /** iommufd_test_memory_limit as IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT left it (65536 by default; a module global in the kernel). */
  testMemoryLimit = 65536;
  private readonly mem: Allocation;

  /**
   * `current`: the process whose system call is running (user pointers and
   * descriptors are its); the opener unless an ioctl comes from another
   * process holding the file (runAs()).
   */
  proc: UserProcess;

  constructor(
    readonly k: Kernel,
    proc: UserProcess,
    mem: Allocation,
  ) {
    this.proc = proc;
    this.mem = mem;
  }

  /** Run a system call of another process that holds the file (after fork() or SCM_RIGHTS). */
  runAs<T>(caller: UserProcess, fn: () => T): T {
    const saved = this.proc;
    this.proc = caller;
    try {
      return fn();
    } finally {
      this.proc = saved;
    }
  }

  /** Objects in the table, finalized ones. */
  get objectCount(): number {
    let n = 0;
    for (const o of this.objects.values()) if (o) n++;
    return n;
  }

  /** The finalized objects, by id. */
  *entries(): IterableIterator<IommufdObject> {
    for (const o of this.objects.values()) if (o) yield o;
  }

  /** _iommufd_object_alloc(): the object with a reserved id, or -ENOMEM (the kzalloc) or -EBUSY (no id left). */
  allocObject<T extends IommufdObject>(make: (id: number, mem: Allocation) => T, type: string): T | number {
    const mem = this.k.alloc.alloc(`iommufd ${type}`, 'iommufd', '_iommufd_object_alloc');
    if (!mem) return -ENOMEM;
    if (this.ids.size >= XA_LIMIT_31B) {
      // xa_alloc() with no free id under xa_limit_31b.
      this.k.alloc.free(mem, '_iommufd_object_alloc');
      return -EBUSY;
    }
    const id = this.ids.alloc() + 1;
    this.objects.set(id, null);
    return make(id, mem);
  }

  /** iommufd_object_finalize(): lookups find it from now on. */
  finalize(obj: IommufdObject): void {
    this.objects.set(obj.id, obj);
  }

  /** iommufd_object_abort(): the id and the memory go back; nothing the object holds is released. */
  abort(obj: IommufdObject): void {
    this.objects.delete(obj.id);
    this.ids.free(obj.id - 1);
    this.k.alloc.free(obj.mem, 'iommufd_object_abort');
  }

  /** iommufd_object_abort_and_destroy() */
  abortAndDestroy(obj: IommufdObject): void {
    obj.destroy();
    this.abort(obj);
  }

  /**
   * iommufd_get_object(): the finalized object of that id and type ('ANY'
   * for any), or -ENOENT. With CONFIG_IOMMUFD_TEST every lookup is also a
   * fault-injection point (iommufd_should_fail(): -ENOENT).
   */
  get(id: number, type: IommufdObjectType | 'ANY'): IommufdObject | number {
    if (iommufdShouldFail(this.k, 'iommufd_get_object')) return -ENOENT;
    return this.peek(id, type);
  }

  /** The object of that id and type without a lookup's side effects (for reports and tests). */
  peek(id: number, type: IommufdObjectType | 'ANY'): IommufdObject | number {
    const obj = this.objects.get(id);
    return obj && (type === 'ANY' || obj.type === type) ? obj : -ENOENT;
  }

  /**
   * iommufd_object_remove(): with `held`, the caller's own reference is
   * dropped first (iommufd_object_destroy_user() for a driver's object,
   * iommufd_object_put_and_try_destroy() for an automatic HWPT) and stays
   * dropped when someone else still uses it (-EBUSY); without it, IOMMU_DESTROY
   * of an id: -ENOENT, -EBUSY while used, else destroyed.
   */
  remove(id: number, held: IommufdObject | null = null, tombstone = false): number {
    const obj = this.objects.get(id);
    if (held) {
      held.users--;
      if (this.k.printk.warn(obj !== held, 'iommufd_object_remove', 'WARN_ON(obj != to_destroy)'))
        return -ENOENT;
    } else if (!obj) {
      return -ENOENT;
    }
    if (obj!.users !== 1) return -EBUSY;
    this.destroyEntry(obj!, 'iommufd_object_remove', tombstone);
    return 0;
  }

  /**
   * The object leaves the table (and the VFIO compat slot), its destroy
   * runs, its memory goes. A tombstone (REMOVE_OBJ_TOMBSTONE, v6.16 on)
   * keeps the id taken and invisible until the context is released.
   */
  private destroyEntry(obj: IommufdObject, site: string, tombstone = false): void {
    obj.users = 0;
    if (tombstone) this.objects.set(obj.id, null);
    else this.objects.delete(obj.id);
    if (this.vfioIoas === obj) this.vfioIoas = null;
    if (!tombstone) this.ids.free(obj.id - 1);
    obj.destroy();
    this.k.alloc.free(obj.mem, site);
  }

  /** iommufd_ctx_get(): an access keeps the file (and so every object) alive. */
  fileGet(): void {
    this.fileRefs++;
  }

  /** fput() of the file: the last reference releases the context, once the caller is done (flushRelease()). */
  filePut(): void {
    if (--this.fileRefs === 0) this.releasePending = true;
  }

  /** The deferred fput's release (task work in the kernel), if the last reference went. */
  flushRelease(): void {
    if (!this.releasePending || this.released) return;
    this.released = true;
    this.release();
  }

  /** The context was released: every object destroyed, its memory freed. */
  get isReleased(): boolean {
    return this.released;
  }

  /**
   * iommufd_fops_release(): destroy every object whose only user is the
   * table, again and again (a destroy drops the users it held), until none
   * is left.
   */
  release(): void {
    while (this.objectCount > 0) {
      let destroyed = 0;
      for (const obj of [...this.objects.values()]) {
        if (!obj || obj.users !== 1) continue;
        this.destroyEntry(obj, 'iommufd_fops_release');
        destroyed++;
      }
      if (destroyed === 0) {
        this.k.printk.warn(true, 'iommufd_fops_release', 'WARN_ON(!destroyed): a users count never drops');
        break;
      }
    }
    // Tombstoned ids go with the table.
    for (const [id, o] of [...this.objects]) {
      if (o) continue;
      this.objects.delete(id);
      this.ids.free(id - 1);
    }
    this.k.alloc.free(this.mem, 'iommufd_fops_release');
  }
}
