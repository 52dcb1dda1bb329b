// SPDX-License-Identifier: GPL-2.0-only
/**
 * The descriptor of an event queue object (drivers/iommu/iommufd/eventq.c:
 * iommufd_eventq_init() and the release both queue files share): it holds
 * its object (so IOMMU_DESTROY of it is -EBUSY while it is open) and the
 * context, and gives both back when its last reference goes. The fault
 * queue (fault.ts) and the vEVENT queue (veventq.ts) add their read() and
 * write().
 */
import type { ModelFile } from '../mm/user-mm.js';
import type { IommufdCtx, IommufdObject } from './ctx.js';

export abstract class EventqFile implements ModelFile {
  abstract readonly name: string;

  constructor(
    protected readonly ctx: IommufdCtx,
    private readonly obj: IommufdObject,
  ) {}

  /** iommufd_eventq_init(): the holds taken, a descriptor in the calling process. */
  install(): number {
    this.obj.users++;
    this.ctx.fileGet();
    return this.ctx.proc.installFd(this);
  }

  /** iommufd_eventq_fops_release() */
  release(): void {
    this.obj.users--;
    this.ctx.filePut();
    this.ctx.flushRelease();
  }
}
