// SPDX-License-Identifier: GPL-2.0-only
/**
 * The iommufd commands as typed calls, for people who do not want struct
 * bytes: each method packs the uAPI struct, calls the same ioctl() a VMM
 * would, and unpacks what the kernel wrote back. Arrays the ABI passes by
 * user pointer (IOVA ranges) go through a scratch mapping of the process,
 * so every call exercises exactly the byte path.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { UserProcess } from '../mm/user-mm.js';
import type { IommufdFile } from './main.js';
import { openIommufd } from './main.js';
import {
  VFIO_CHECK_EXTENSION,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_DMA_UNMAP_FLAG_ALL,
  VFIO_IOMMU_MAP_DMA,
  VFIO_IOMMU_UNMAP_DMA,
  VFIO_SET_IOMMU,
  iommufdVfioCompatIoasCreate,
  vfioStructs,
} from './vfio-compat.js';
import type { Decoded, StructName } from './uapi.js';
import {
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_READABLE,
  IOMMU_IOAS_MAP_WRITEABLE,
  decode,
  encode,
  ioctlNumber,
  IOMMU_TEST_OP,
  pack,
  structs,
  testCmds,
} from './uapi.js';

type TestCmdName = keyof typeof testCmds;

/** A command's result: errno 0 or negative, and the struct as the kernel left it. */
export interface IoctlResult {
  readonly errno: number;
  readonly out: Decoded;
}

export interface MapArgs {
  readonly ioasId: number;
  readonly userVa: bigint | number;
  readonly length: bigint | number;
  /** A fixed IOVA (IOMMU_IOAS_MAP_FIXED_IOVA); absent, the kernel picks one. */
  readonly iova?: bigint | number;
  /** Default read and write. */
  readonly readable?: boolean;
  readonly writeable?: boolean;
}

export interface CopyArgs {
  readonly srcIoasId: number;
  readonly dstIoasId: number;
  readonly srcIova: bigint | number;
  readonly length: bigint | number;
  readonly dstIova?: bigint | number;
  readonly readable?: boolean;
  readonly writeable?: boolean;
}

const mapFlags = (a: { iova?: unknown; dstIova?: unknown; readable?: boolean; writeable?: boolean }) =>
  (a.iova !== undefined || a.dstIova !== undefined ? IOMMU_IOAS_MAP_FIXED_IOVA : 0) |
  (a.readable === false ? 0 : IOMMU_IOAS_MAP_READABLE) |
  (a.writeable === false ? 0 : IOMMU_IOAS_MAP_WRITEABLE);

export class Iommufd {
  private constructor(
    readonly file: IommufdFile,
    readonly proc: UserProcess,
  ) {}

  /** open("/dev/iommu") for a process: the handle, or a negative errno. */
  static open(k: Kernel, proc: UserProcess): Iommufd | number {
    const f = openIommufd(k, proc);
    return typeof f === 'number' ? f : new Iommufd(f, proc);
  }

  /** Any command by name with its struct's fields. */
  call(name: string, struct: StructName, values: Decoded): IoctlResult {
    const l = structs[struct];
    const bytes = pack(l, values);
    const errno = this.file.ioctl(ioctlNumber(name), bytes);
    return { errno, out: decode(l, bytes) };
  }

  ioasAlloc(): { errno: number; id: number } {
    const r = this.call('IOMMU_IOAS_ALLOC', 'ioas_alloc', {});
    return { errno: r.errno, id: Number(r.out.out_ioas_id) };
  }

  destroy(id: number): number {
    return this.call('IOMMU_DESTROY', 'destroy', { id }).errno;
  }

  ioasMap(a: MapArgs): { errno: number; iova: bigint } {
    const r = this.call('IOMMU_IOAS_MAP', 'ioas_map', {
      flags: mapFlags(a),
      ioas_id: a.ioasId,
      user_va: BigInt(a.userVa),
      length: BigInt(a.length),
      iova: BigInt(a.iova ?? 0),
    });
    return { errno: r.errno, iova: r.out.iova as bigint };
  }

  ioasCopy(a: CopyArgs): { errno: number; iova: bigint } {
    const r = this.call('IOMMU_IOAS_COPY', 'ioas_copy', {
      flags: mapFlags(a),
      dst_ioas_id: a.dstIoasId,
      src_ioas_id: a.srcIoasId,
      length: BigInt(a.length),
      dst_iova: BigInt(a.dstIova ?? 0),
      src_iova: BigInt(a.srcIova),
    });
    return { errno: r.errno, iova: r.out.dst_iova as bigint };
  }

  /** IOAS_UNMAP; `length` comes back as the bytes unmapped. */
  ioasUnmap(
    ioasId: number,
    iova: bigint | number,
    length: bigint | number,
  ): { errno: number; length: bigint } {
    const r = this.call('IOMMU_IOAS_UNMAP', 'ioas_unmap', {
      ioas_id: ioasId,
      iova: BigInt(iova),
      length: BigInt(length),
    });
    return { errno: r.errno, length: r.out.length as bigint };
  }

  /** IOAS_IOVA_RANGES with room for `room` ranges (the kernel says how many there are). */
  iovaRanges(
    ioasId: number,
    room = 16,
  ): { errno: number; num: number; alignment: bigint; ranges: [bigint, bigint][] } {
    const l = structs.iova_range;
    const buf = this.scratch(Math.max(1, room) * l.size);
    const r = this.call('IOMMU_IOAS_IOVA_RANGES', 'ioas_iova_ranges', {
      ioas_id: ioasId,
      num_iovas: room,
      allowed_iovas: BigInt(buf),
    });
    const num = Number(r.out.num_iovas);
    const ranges: [bigint, bigint][] = [];
    const bytes = this.proc.read(buf, Math.min(num, room) * l.size);
    if (typeof bytes !== 'number')
      for (let i = 0; i < Math.min(num, room); i++) {
        const d = decode(l, bytes.subarray(i * l.size, (i + 1) * l.size));
        ranges.push([d.start as bigint, d.last as bigint]);
      }
    this.proc.munmap(buf, Math.max(1, room) * l.size);
    return { errno: r.errno, num, alignment: r.out.out_iova_alignment as bigint, ranges };
  }

  /** IOAS_ALLOW_IOVAS with these inclusive ranges (empty: no restriction). */
  allowIovas(ioasId: number, ranges: readonly (readonly [bigint | number, bigint | number])[]): number {
    const l = structs.iova_range;
    const size = Math.max(1, ranges.length) * l.size;
    const buf = this.scratch(size);
    const bytes = new Uint8Array(ranges.length * l.size);
    ranges.forEach(([start, last], i) =>
      encode(l, { start: BigInt(start), last: BigInt(last) }, bytes.subarray(i * l.size)),
    );
    this.proc.write(buf, bytes);
    const r = this.call('IOMMU_IOAS_ALLOW_IOVAS', 'ioas_allow_iovas', {
      ioas_id: ioasId,
      num_iovas: ranges.length,
      allowed_iovas: BigInt(buf),
    });
    this.proc.munmap(buf, size);
    return r.errno;
  }

  /** IOMMU_OPTION: op 'get' returns the value, 'set' sets it. */
  option(optionId: number, op: 'get' | 'set', objectId = 0, val = 0n): { errno: number; val: bigint } {
    const r = this.call('IOMMU_OPTION', 'option', {
      option_id: optionId,
      op: op === 'get' ? 1 : 0,
      object_id: objectId,
      val64: val,
    });
    return { errno: r.errno, val: r.out.val64 as bigint };
  }

  /** IOMMU_HWPT_ALLOC of a paging HWPT on an IOAS for a device (no driver data). */
  hwptAlloc(devId: number, ptId: number, flags = 0): { errno: number; id: number } {
    const r = this.call('IOMMU_HWPT_ALLOC', 'hwpt_alloc', { flags, dev_id: devId, pt_id: ptId });
    return { errno: r.errno, id: Number(r.out.out_hwpt_id) };
  }

  /**
   * IOMMU_HWPT_ALLOC with driver data: `data` is written to scratch user
   * memory and passed with its type (a nested HWPT when `ptId` is a paging
   * HWPT; the mock wants IOMMU_HWPT_DATA_SELFTEST and a u32 iotlb value).
   */
  hwptAllocData(
    devId: number,
    ptId: number,
    dataType: number,
    data: Uint8Array,
    flags = 0,
    faultId = 0,
  ): { errno: number; id: number } {
    const buf = this.scratch(Math.max(1, data.length));
    this.proc.write(buf, data);
    const r = this.call('IOMMU_HWPT_ALLOC', 'hwpt_alloc', {
      flags,
      dev_id: devId,
      pt_id: ptId,
      data_type: dataType,
      data_len: data.length,
      data_uptr: BigInt(buf),
      fault_id: faultId,
    });
    this.proc.munmap(buf, Math.max(1, data.length));
    return { errno: r.errno, id: Number(r.out.out_hwpt_id) };
  }

  /**
   * IOMMU_HWPT_INVALIDATE with `entries` (each entry's bytes, entryLen apart)
   * at a user pointer (0 for none): the errno and how many the driver handled.
   */
  hwptInvalidate(
    hwptId: number,
    dataType: number,
    entries: readonly Uint8Array[],
    entryLen: number,
    entryNum = entries.length,
    pointer = true,
  ): { errno: number; num: number } {
    const size = Math.max(1, entries.length * entryLen);
    const buf = this.scratch(size);
    entries.forEach((e, i) => this.proc.write(buf + i * entryLen, e.subarray(0, entryLen)));
    const r = this.call('IOMMU_HWPT_INVALIDATE', 'hwpt_invalidate', {
      hwpt_id: hwptId,
      data_uptr: pointer ? BigInt(buf) : 0n,
      data_type: dataType,
      entry_len: entryLen,
      entry_num: entryNum,
    });
    this.proc.munmap(buf, size);
    return { errno: r.errno, num: Number(r.out.entry_num) };
  }

  /** IOMMU_TEST_OP_MD_CHECK_IOTLB: slot `slot` of the mock nested HWPT's IOTLB holds `value`. */
  checkIotlb(hwptId: number, slot: number, value: number): number {
    return this.testCmd('check_iotlb', IOMMU_TEST_OP.MD_CHECK_IOTLB, {
      id: hwptId,
      iotlb_id: slot,
      iotlb: value,
    }).errno;
  }

  /** One IOMMU_TEST_CMD op with its union member's fields (CONFIG_IOMMUFD_TEST). */
  testCmd(member: TestCmdName, op: number, values: Decoded): IoctlResult {
    const l = testCmds[member];
    const bytes = pack(l, { ...values, op });
    const errno = this.file.ioctl(ioctlNumber('IOMMU_TEST_CMD'), bytes);
    return { errno, out: decode(l, bytes) };
  }

  /**
   * IOMMU_TEST_OP_MOCK_DOMAIN(_FLAGS): a mock device bound to this iommufd and
   * attached to `ptId` (an IOAS or a HWPT). The selftest must be loaded
   * (iommufd_test_init()). Destroying `stdevId` undoes it.
   */
  mockDomain(
    ptId: number,
    devFlags?: number,
  ): { errno: number; stdevId: number; hwptId: number; idevId: number } {
    const r =
      devFlags === undefined
        ? this.testCmd('mock_domain', IOMMU_TEST_OP.MOCK_DOMAIN, { id: ptId })
        : this.testCmd('mock_domain_flags', IOMMU_TEST_OP.MOCK_DOMAIN_FLAGS, {
            id: ptId,
            dev_flags: devFlags,
          });
    return {
      errno: r.errno,
      stdevId: Number(r.out.out_stdev_id),
      hwptId: Number(r.out.out_hwpt_id),
      idevId: Number(r.out.out_idev_id),
    };
  }

  /** IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: the selftest device moves to `ptId`; the HWPT it lands on comes back. */
  mockDomainReplace(stdevId: number, ptId: number): { errno: number; hwptId: number } {
    const r = this.testCmd('mock_domain_replace', IOMMU_TEST_OP.MOCK_DOMAIN_REPLACE, {
      id: stdevId,
      pt_id: ptId,
    });
    return { errno: r.errno, hwptId: Number(r.out.pt_id) };
  }

  /** IOMMU_TEST_OP_MD_CHECK_MAP: the mock domain of `hwptId` maps [iova, iova + length) to the user buffer. */
  checkMap(hwptId: number, iova: bigint | number, length: bigint | number, userVa: bigint | number): number {
    return this.testCmd('check_map', IOMMU_TEST_OP.MD_CHECK_MAP, {
      id: hwptId,
      iova: BigInt(iova),
      length: BigInt(length),
      uptr: BigInt(userVa),
    }).errno;
  }

  /** IOMMU_TEST_OP_MD_CHECK_REFS: every page of the user range is pinned `refs` times. */
  checkRefs(userVa: bigint | number, length: bigint | number, refs: number): number {
    return this.testCmd('check_refs', IOMMU_TEST_OP.MD_CHECK_REFS, {
      length: BigInt(length),
      uptr: BigInt(userVa),
      refs,
    }).errno;
  }

  /** IOMMU_HWPT_SET_DIRTY_TRACKING */
  setDirtyTracking(hwptId: number, enable: boolean): number {
    return this.call('IOMMU_HWPT_SET_DIRTY_TRACKING', 'hwpt_set_dirty_tracking', {
      hwpt_id: hwptId,
      flags: enable ? 1 : 0,
    }).errno;
  }

  /**
   * IOMMU_HWPT_GET_DIRTY_BITMAP into the bitmap at user address `data`
   * (one bit per page_size from iova); `noClear` keeps the dirty bits.
   */
  getDirtyBitmap(a: {
    hwptId: number;
    iova: bigint | number;
    length: bigint | number;
    pageSize: bigint | number;
    data: bigint | number;
    noClear?: boolean;
  }): number {
    return this.call('IOMMU_HWPT_GET_DIRTY_BITMAP', 'hwpt_get_dirty_bitmap', {
      hwpt_id: a.hwptId,
      flags: a.noClear ? 1 : 0,
      iova: BigInt(a.iova),
      length: BigInt(a.length),
      page_size: BigInt(a.pageSize),
      data: BigInt(a.data),
    }).errno;
  }

  /** IOMMU_GET_HW_INFO with a `dataLen`-byte buffer: the driver's struct as the kernel copied it. */
  hwInfo(
    devId: number,
    dataLen = 64,
  ): {
    errno: number;
    type: number;
    dataLen: number;
    data: Uint8Array;
    capabilities: bigint;
    maxPasidLog2: number;
  } {
    const buf = this.scratch(Math.max(1, dataLen));
    const r = this.call('IOMMU_GET_HW_INFO', 'hw_info', {
      dev_id: devId,
      data_len: dataLen,
      data_uptr: BigInt(buf),
    });
    const data = this.proc.read(buf, dataLen);
    this.proc.munmap(buf, Math.max(1, dataLen));
    return {
      errno: r.errno,
      type: Number(r.out.out_data_type),
      dataLen: Number(r.out.data_len),
      data: typeof data === 'number' ? new Uint8Array(0) : data,
      capabilities: r.out.out_capabilities as bigint,
      maxPasidLog2: Number(r.out.out_max_pasid_log2),
    };
  }

  /** IOMMU_TEST_OP_DIRTY: mark the mock entries of the set bits of the user bitmap dirty; how many were. */
  mockDirty(a: {
    hwptId: number;
    iova: bigint | number;
    length: bigint | number;
    pageSize: bigint | number;
    bitmap: bigint | number;
  }): { errno: number; nrDirty: number } {
    const r = this.testCmd('dirty', IOMMU_TEST_OP.DIRTY, {
      id: a.hwptId,
      iova: BigInt(a.iova),
      length: BigInt(a.length),
      page_size: BigInt(a.pageSize),
      uptr: BigInt(a.bitmap),
    });
    return { errno: r.errno, nrDirty: Number(r.out.out_nr_dirty) };
  }

  /** IOMMU_TEST_OP_CREATE_ACCESS on an IOAS: the access's file descriptor (close it with proc.close(fd)). */
  createAccess(ioasId: number, needsPinPages = true): { errno: number; fd: number } {
    const r = this.testCmd('create_access', IOMMU_TEST_OP.CREATE_ACCESS, {
      id: ioasId,
      flags: needsPinPages ? 1 : 0,
    });
    return { errno: r.errno, fd: Number(r.out.out_access_fd) };
  }

  /** IOMMU_TEST_OP_ACCESS_PAGES: pin through the access (checked against the user buffer when given); the item's id. */
  accessPages(
    accessFd: number,
    iova: bigint | number,
    length: bigint | number,
    userVa: bigint | number = 0,
    flags = 0,
  ): { errno: number; id: number } {
    const r = this.testCmd('access_pages', IOMMU_TEST_OP.ACCESS_PAGES, {
      id: accessFd,
      flags,
      iova: BigInt(iova),
      length: BigInt(length),
      uptr: BigInt(userVa),
    });
    return { errno: r.errno, id: Number(r.out.out_access_pages_id) };
  }

  /** IOMMU_TEST_OP_DESTROY_ACCESS_PAGES */
  destroyAccessPages(accessFd: number, itemId: number): number {
    return this.testCmd('destroy_access_pages', IOMMU_TEST_OP.DESTROY_ACCESS_PAGES, {
      id: accessFd,
      access_pages_id: itemId,
    }).errno;
  }

  /** IOMMU_TEST_OP_ACCESS_RW: copy between the user buffer and the IOAS (MOCK_ACCESS_RW_WRITE: into the IOAS). */
  accessRw(
    accessFd: number,
    iova: bigint | number,
    length: bigint | number,
    userVa: bigint | number,
    flags = 0,
  ): number {
    return this.testCmd('access_rw', IOMMU_TEST_OP.ACCESS_RW, {
      id: accessFd,
      iova: BigInt(iova),
      length: BigInt(length),
      uptr: BigInt(userVa),
      flags,
    }).errno;
  }

  /** IOMMU_TEST_OP_ACCESS_REPLACE_IOAS */
  accessReplaceIoas(accessFd: number, ioasId: number): number {
    return this.testCmd('access_replace_ioas', IOMMU_TEST_OP.ACCESS_REPLACE_IOAS, {
      id: accessFd,
      ioas_id: ioasId,
    }).errno;
  }

  /** IOMMU_FAULT_QUEUE_ALLOC: the FAULT object's id and its descriptor in the process. */
  faultAlloc(): { errno: number; id: number; fd: number } {
    const r = this.call('IOMMU_FAULT_QUEUE_ALLOC', 'fault_alloc', {});
    return { errno: r.errno, id: Number(r.out.out_fault_id), fd: Number(r.out.out_fault_fd) };
  }

  /** IOMMU_TEST_OP_TRIGGER_IOPF: the device raises a page request (always 0 once the device exists). */
  triggerIopf(
    devId: number,
    a: { pasid?: number; grpid?: number; perm?: number; addr?: bigint | number } = {},
  ): number {
    return this.testCmd('trigger_iopf', IOMMU_TEST_OP.TRIGGER_IOPF, {
      dev_id: devId,
      pasid: a.pasid ?? 0,
      grpid: a.grpid ?? 0,
      perm: a.perm ?? 0,
      addr: BigInt(a.addr ?? 0),
    }).errno;
  }

  /** What VFIO_GROUP_SET_CONTAINER does with an iommufd: make (or keep) the compatibility IOAS. */
  vfioCompatIoasCreate(): number {
    return iommufdVfioCompatIoasCreate(this.file.ctx);
  }

  /** VFIO_CHECK_EXTENSION on the iommufd used as a container: 1, 0 or a negative errno. */
  vfioCheckExtension(ext: number): number {
    return this.file.ioctl(VFIO_CHECK_EXTENSION, ext);
  }

  /** VFIO_SET_IOMMU (VFIO_TYPE1_IOMMU or VFIO_TYPE1v2_IOMMU). */
  vfioSetIommu(type: number): number {
    return this.file.ioctl(VFIO_SET_IOMMU, type);
  }

  /** VFIO_IOMMU_MAP_DMA of user memory at a fixed IOVA, readable and writeable unless told otherwise. */
  vfioMapDma(a: {
    vaddr: bigint | number;
    iova: bigint | number;
    size: bigint | number;
    read?: boolean;
    write?: boolean;
  }): number {
    const l = vfioStructs.dma_map;
    const b = new Uint8Array(l.size);
    encode(
      l,
      {
        argsz: l.size,
        flags:
          (a.read === false ? 0 : VFIO_DMA_MAP_FLAG_READ) | (a.write === false ? 0 : VFIO_DMA_MAP_FLAG_WRITE),
        vaddr: BigInt(a.vaddr),
        iova: BigInt(a.iova),
        size: BigInt(a.size),
      },
      b,
    );
    return this.file.ioctl(VFIO_IOMMU_MAP_DMA, b);
  }

  /** VFIO_IOMMU_UNMAP_DMA of a range (or everything, with `all` and a zero range); the size unmapped. */
  vfioUnmapDma(iova: bigint | number, size: bigint | number, all = false): { errno: number; size: bigint } {
    const l = vfioStructs.dma_unmap;
    const b = new Uint8Array(l.size);
    encode(
      l,
      { argsz: l.size, flags: all ? VFIO_DMA_UNMAP_FLAG_ALL : 0, iova: BigInt(iova), size: BigInt(size) },
      b,
    );
    const errno = this.file.ioctl(VFIO_IOMMU_UNMAP_DMA, b);
    return { errno, size: decode(l, b).size as bigint };
  }

  /**
   * IOMMU_IOAS_MAP_FILE (v6.13 on): bytes [start, start + length) of the
   * file behind descriptor `fd` (a memfd) at `iova`, or where the kernel
   * picks.
   */
  ioasMapFile(a: {
    ioasId: number;
    fd: number;
    start: bigint | number;
    length: bigint | number;
    iova?: bigint | number;
    readable?: boolean;
    writeable?: boolean;
  }): { errno: number; iova: bigint } {
    const r = this.call('IOMMU_IOAS_MAP_FILE', 'ioas_map_file', {
      flags: mapFlags(a),
      ioas_id: a.ioasId,
      fd: a.fd,
      start: BigInt(a.start),
      length: BigInt(a.length),
      iova: BigInt(a.iova ?? 0),
    });
    return { errno: r.errno, iova: r.out.iova as bigint };
  }

  /**
   * IOMMU_IOAS_CHANGE_PROCESS (v6.14 on) from `caller`, a process that now
   * holds the file: it takes over the accounting of every (file) mapping.
   */
  changeProcess(caller: UserProcess): number {
    const l = structs.ioas_change_process;
    return this.file.ioctl(ioctlNumber('IOMMU_IOAS_CHANGE_PROCESS'), pack(l, {}), caller);
  }

  /**
   * IOMMU_VIOMMU_ALLOC over the nest-parent HWPT `hwptId` for the device's
   * IOMMU; with `data`, the driver's struct at a user pointer, returned as
   * the driver rewrote it (v6.16 on).
   */
  viommuAlloc(
    devId: number,
    hwptId: number,
    type: number,
    data?: Uint8Array,
  ): { errno: number; id: number; data: Uint8Array | null } {
    const len = data?.length ?? 0;
    const buf = len ? this.scratch(len) : 0;
    if (data && len) this.proc.write(buf, data);
    const r = this.call('IOMMU_VIOMMU_ALLOC', 'viommu_alloc', {
      type,
      dev_id: devId,
      hwpt_id: hwptId,
      data_len: len,
      data_uptr: BigInt(buf),
    });
    let out: Uint8Array | null = null;
    if (len) {
      const got = this.proc.read(buf, len);
      out = typeof got === 'number' ? null : got;
      this.proc.munmap(buf, len);
    }
    return { errno: r.errno, id: Number(r.out.out_viommu_id), data: out };
  }

  /** IOMMU_VDEVICE_ALLOC: the device is `virtId` to the VM on that vIOMMU. */
  vdeviceAlloc(viommuId: number, devId: number, virtId: bigint | number): { errno: number; id: number } {
    const r = this.call('IOMMU_VDEVICE_ALLOC', 'vdevice_alloc', {
      viommu_id: viommuId,
      dev_id: devId,
      virt_id: BigInt(virtId),
    });
    return { errno: r.errno, id: Number(r.out.out_vdevice_id) };
  }

  /** IOMMU_VEVENTQ_ALLOC: the queue's id and its descriptor (read() it for events). */
  veventqAlloc(viommuId: number, type: number, depth: number): { errno: number; id: number; fd: number } {
    const r = this.call('IOMMU_VEVENTQ_ALLOC', 'veventq_alloc', {
      viommu_id: viommuId,
      type,
      veventq_depth: depth,
    });
    return { errno: r.errno, id: Number(r.out.out_veventq_id), fd: Number(r.out.out_veventq_fd) };
  }

  /**
   * read() of a vEVENTQ descriptor into a buffer of `count` bytes: the
   * errno (or 0), and the records read: { flags, sequence, payload }.
   */
  readVevents(
    fd: number,
    count: number,
    payloadLen: number,
  ): { errno: number; events: { flags: number; sequence: number; payload: Uint8Array }[] } {
    const buf = this.scratch(Math.max(1, count));
    const n = this.proc.sysRead(fd, buf, count);
    const events: { flags: number; sequence: number; payload: Uint8Array }[] = [];
    if (n > 0) {
      const bytes = this.proc.read(buf, n) as Uint8Array;
      const dv = new DataView(bytes.buffer, bytes.byteOffset, n);
      for (let at = 0; at < n;) {
        const flags = dv.getUint32(at, true);
        const sequence = dv.getUint32(at + 4, true);
        const len = flags & 1 ? 0 : payloadLen; // IOMMU_VEVENTQ_FLAG_LOST_EVENTS has no payload
        events.push({ flags, sequence, payload: bytes.slice(at + 8, at + 8 + len) });
        at += 8 + len;
      }
    }
    this.proc.munmap(buf, Math.max(1, count));
    return { errno: n < 0 ? n : 0, events };
  }

  /** IOMMU_HW_QUEUE_ALLOC (v6.17 on): a queue at `iova` of the vIOMMU's nest-parent IOAS. */
  hwQueueAlloc(
    viommuId: number,
    type: number,
    index: number,
    iova: bigint | number,
    length: bigint | number,
  ): { errno: number; id: number } {
    const r = this.call('IOMMU_HW_QUEUE_ALLOC', 'hw_queue_alloc', {
      viommu_id: viommuId,
      type,
      index,
      nesting_parent_iova: BigInt(iova),
      length: BigInt(length),
    });
    return { errno: r.errno, id: Number(r.out.out_hw_queue_id) };
  }

  /** IOMMU_TEST_OP_DEV_CHECK_CACHE: slot `slot` of the mock device's cache holds `value`. */
  checkDevCache(idevId: number, slot: number, value: number): number {
    return this.testCmd('check_dev_cache', IOMMU_TEST_OP.DEV_CHECK_CACHE, {
      id: idevId,
      cache_id: slot,
      cache: value,
    }).errno;
  }

  /** IOMMU_TEST_OP_TRIGGER_VEVENT: the mock device reports an event through its vIOMMU. */
  triggerVevent(devId: number): number {
    return this.testCmd('trigger_vevent', IOMMU_TEST_OP.TRIGGER_VEVENT, { dev_id: devId }).errno;
  }

  close(): void {
    this.file.close();
  }

  private scratch(bytes: number): number {
    const at = this.proc.mmap(bytes);
    if (at < 0) throw new Error(`iommufd api: no scratch memory for ${bytes} bytes`);
    return at;
  }
}
