// SPDX-License-Identifier: GPL-2.0-only
/**
 * VFIO type1 compatibility on /dev/iommu (drivers/iommu/iommufd/
 * vfio_compat.c, 6.12): a VMM written for the VFIO container API can use an
 * iommufd as its container. The container ioctls (VFIO_GET_API_VERSION,
 * VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU, VFIO_IOMMU_GET_INFO,
 * VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA) act on one IOAS, the
 * compatibility IOAS: set by IOMMU_VFIO_IOAS, or created when VFIO attaches
 * a group to the "container" (iommufd_vfio_compat_ioas_create()). Without
 * it they are -ENODEV. TYPE1 (v1) is emulated by turning large pages off,
 * so that unmapping inside a mapping can cut it; an unknown number is
 * -ENOTTY (-ENOIOCTLCMD).
 *
 * Not modelled: VFIO's no-IOMMU mode (set by vfio for a no-iommu device,
 * which the model has no VFIO group code to attach).
 */
import { EFAULT, EINVAL, ENODEV, ENOTTY } from '../kernel/errno.js';
import { IOMMU_CACHE, IOMMU_READ, IOMMU_WRITE } from '../pgtable/prot.js';
import type { IommufdCtx } from './ctx.js';
import { PAGE_SIZE, ULONG_MAX } from './io-pagetable.js';
import type { IommufdIoas } from './ioas.js';
import { ioasAlloc, ioptMapUserPages } from './ioas.js';
import { decode, encode, layout } from './uapi.js';
import type { UserArg } from './user-arg.js';

/** VFIO_TYPE is ';' like IOMMUFD_TYPE; VFIO_BASE 100 sits below the iommufd table. */
const VFIO_BASE = 100;
export const vfioCmd = (n: number): number => (0x3b << 8) | (VFIO_BASE + n);
export const VFIO_GET_API_VERSION = vfioCmd(0);
export const VFIO_CHECK_EXTENSION = vfioCmd(1);
export const VFIO_SET_IOMMU = vfioCmd(2);
export const VFIO_IOMMU_GET_INFO = vfioCmd(12);
export const VFIO_IOMMU_MAP_DMA = vfioCmd(13);
export const VFIO_IOMMU_UNMAP_DMA = vfioCmd(14);
export const VFIO_IOMMU_DIRTY_PAGES = vfioCmd(17);

export const VFIO_API_VERSION = 0;
/** Extensions and IOMMU types (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU). */
export const VFIO_TYPE1_IOMMU = 1;
export const VFIO_TYPE1v2_IOMMU = 3;
export const VFIO_DMA_CC_IOMMU = 4;
export const VFIO_TYPE1_NESTING_IOMMU = 6;
export const VFIO_NOIOMMU_IOMMU = 8;
export const VFIO_UNMAP_ALL = 9;
export const VFIO_UPDATE_VADDR = 10;

export const VFIO_DMA_MAP_FLAG_READ = 1 << 0;
export const VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;
export const VFIO_DMA_UNMAP_FLAG_ALL = 1 << 1;
export const VFIO_IOMMU_INFO_PGSIZES = 1 << 0;
export const VFIO_IOMMU_INFO_CAPS = 1 << 1;
export const VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
export const VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;

/** The container structs (include/uapi/linux/vfio.h). */
export const vfioStructs = {
  dma_map: layout('vfio_iommu_type1_dma_map', [
    ['argsz', 'u32'],
    ['flags', 'u32'],
    ['vaddr', 'u64'],
    ['iova', 'u64'],
    ['size', 'u64'],
  ]),
  dma_unmap: layout('vfio_iommu_type1_dma_unmap', [
    ['argsz', 'u32'],
    ['flags', 'u32'],
    ['iova', 'u64'],
    ['size', 'u64'],
  ]),
  info: layout('vfio_iommu_type1_info', [
    ['argsz', 'u32'],
    ['flags', 'u32'],
    ['iova_pgsizes', 'u64'],
    ['cap_offset', 'u32'],
    ['pad', 'u32'],
  ]),
  cap_header: layout('vfio_info_cap_header', [
    ['id', 'u16'],
    ['version', 'u16'],
    ['next', 'u32'],
  ]),
  cap_iova_range: layout('vfio_iommu_type1_info_cap_iova_range', [
    ['id', 'u16'],
    ['version', 'u16'],
    ['next', 'u32'],
    ['nr_iovas', 'u32'],
    ['reserved', 'u32'],
  ]),
  iova_range: layout('vfio_iova_range', [
    ['start', 'u64'],
    ['end', 'u64'],
  ]),
  dma_avail: layout('vfio_iommu_type1_info_dma_avail', [
    ['id', 'u16'],
    ['version', 'u16'],
    ['next', 'u32'],
    ['avail', 'u32'],
  ]),
} as const;

/** get_compat_ioas(): the compatibility IOAS, or -ENODEV. */
function getCompatIoas(ctx: IommufdCtx): IommufdIoas | number {
  return ctx.vfioIoas ?? -ENODEV;
}

/**
 * iommufd_vfio_compat_ioas_create(): what VFIO does when a group joins an
 * iommufd used as a container: a new IOAS becomes the compatibility one,
 * unless one is already set.
 */
export function iommufdVfioCompatIoasCreate(ctx: IommufdCtx): number {
  const ioas = ioasAlloc(ctx);
  if (typeof ioas === 'number') return ioas;
  if (ctx.vfioIoas) {
    ctx.abort(ioas);
    return 0;
  }
  ctx.vfioIoas = ioas;
  ctx.finalize(ioas);
  return 0;
}

/** The first `minsz` bytes of the argument as a struct (zeros past what the layout reads). */
function readStruct(arg: UserArg, l: (typeof vfioStructs)[keyof typeof vfioStructs], minsz: number) {
  const got = arg.read(0, minsz);
  if (typeof got === 'number') return -EFAULT;
  const buf = new Uint8Array(l.size);
  buf.set(got);
  return decode(l, buf);
}

/** iommufd_vfio_map_dma(): a fixed-IOVA map of the user's memory into the compatibility IOAS. */
function mapDma(ctx: IommufdCtx, arg: UserArg): number {
  const l = vfioStructs.dma_map;
  const map = readStruct(arg, l, l.size);
  if (typeof map === 'number') return map;
  const flags = Number(map.flags);
  if (Number(map.argsz) < l.size || flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))
    return -EINVAL;
  let prot = IOMMU_CACHE;
  if (flags & VFIO_DMA_MAP_FLAG_READ) prot |= IOMMU_READ;
  if (flags & VFIO_DMA_MAP_FLAG_WRITE) prot |= IOMMU_WRITE;
  const ioas = getCompatIoas(ctx);
  if (typeof ioas === 'number') return ioas;
  const got = ioptMapUserPages(
    ctx,
    ioas.iopt,
    map.vaddr as bigint,
    map.size as bigint,
    map.iova as bigint,
    prot,
    false,
  );
  return typeof got === 'number' ? got : 0;
}

/** iommufd_vfio_unmap_dma(): by range (cutting mappings under TYPE1), or everything; the size unmapped comes back. */
function unmapDma(ctx: IommufdCtx, arg: UserArg): number {
  const l = vfioStructs.dma_unmap;
  const unmap = readStruct(arg, l, l.size);
  if (typeof unmap === 'number') return unmap;
  const flags = Number(unmap.flags);
  if (Number(unmap.argsz) < l.size || flags & ~VFIO_DMA_UNMAP_FLAG_ALL) return -EINVAL;
  const ioas = getCompatIoas(ctx);
  if (typeof ioas === 'number') return ioas;
  const iova = unmap.iova as bigint;
  const size = unmap.size as bigint;
  let rc: number;
  let unmapped = 0n;
  if (flags & VFIO_DMA_UNMAP_FLAG_ALL) {
    if (iova !== 0n || size !== 0n) return -EINVAL;
    const r = ioas.iopt.unmapRange(0n, ULONG_MAX);
    rc = r.rc;
    unmapped = r.unmapped;
  } else {
    if (ioas.iopt.disableLargePages) {
      // Cut at the last byte and just before the first (not before 0), as unsigned longs.
      const cuts = [(iova + size - 1n) & ULONG_MAX, (iova - 1n) & ULONG_MAX];
      rc = ioas.iopt.cutIova(iova ? cuts : cuts.slice(0, 1));
      if (rc) return rc;
    }
    const r = ioas.iopt.unmapIova(iova, size);
    rc = r.rc;
    unmapped = r.unmapped;
  }
  unmap.size = unmapped;
  const out = new Uint8Array(l.size);
  encode(l, unmap, out);
  if (arg.write(0, out)) rc = -EFAULT;
  return rc;
}

/** iommufd_vfio_cc_iommu(): 1 when every HWPT of the compatibility IOAS enforces cache coherency. */
function ccIommu(ctx: IommufdCtx): number {
  const ioas = getCompatIoas(ctx);
  if (typeof ioas === 'number') return ioas;
  return ioas.hwptList.every((h) => h.enforceCacheCoherency) ? 1 : 0;
}

/** iommufd_vfio_check_extension() */
function checkExtension(ctx: IommufdCtx, type: number): number {
  switch (type) {
    case VFIO_TYPE1_IOMMU:
    case VFIO_TYPE1v2_IOMMU:
    case VFIO_UNMAP_ALL:
      return 1; // !no_iommu_mode
    case VFIO_NOIOMMU_IOMMU:
      return ctx.k.kconfig.VFIO_NOIOMMU ? 1 : 0;
    case VFIO_DMA_CC_IOMMU:
      return ccIommu(ctx);
    case VFIO_TYPE1_NESTING_IOMMU:
    case VFIO_UPDATE_VADDR:
    default:
      return 0;
  }
}

/** iommufd_vfio_set_iommu(): TYPE1 or TYPE1v2 on the compatibility IOAS; TYPE1 turns large pages off. */
function setIommu(ctx: IommufdCtx, type: number): number {
  // VFIO_NOIOMMU_IOMMU is only accepted in no-iommu mode, which nothing here sets.
  if (type !== VFIO_TYPE1_IOMMU && type !== VFIO_TYPE1v2_IOMMU) return -EINVAL;
  const ioas = getCompatIoas(ctx);
  if (typeof ioas === 'number') return ioas;
  return type === VFIO_TYPE1_IOMMU ? ioas.iopt.disableLarge() : 0;
}

/** iommufd_get_pagesizes(): what every domain can map, at least a CPU page and the IOAS alignment. */
function getPagesizes(ioas: IommufdIoas): bigint {
  let bitmap = ULONG_MAX;
  for (const d of ioas.iopt.domains) bitmap &= BigInt(d.pgsize_bitmap);
  const mask = ~(PAGE_SIZE - 1n) & ULONG_MAX;
  if (bitmap & ~mask & ULONG_MAX) {
    bitmap &= mask;
    bitmap |= PAGE_SIZE;
  }
  return bitmap > ioas.iopt.iovaAlignment ? bitmap : ioas.iopt.iovaAlignment;
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

/**
 * iommufd_vfio_iommu_get_info(): the page sizes, then the capability chain
 * (DMA_AVAIL, then IOVA_RANGE with the IOAS's usable ranges) after the
 * struct, each cap written only where the user's argsz has room; argsz
 * comes back as the size that holds them all.
 */
function getInfo(ctx: IommufdCtx, arg: UserArg): number {
  const l = vfioStructs.info;
  const minsz0 = 16; // offsetofend(iova_pgsizes)
  const info = readStruct(arg, l, minsz0);
  if (typeof info === 'number') return info;
  const argsz = Number(info.argsz);
  if (argsz < minsz0) return -EINVAL;
  const minsz = Math.min(argsz, l.size);
  const ioas = getCompatIoas(ctx);
  if (typeof ioas === 'number') return ioas;
  info.flags = VFIO_IOMMU_INFO_PGSIZES;
  info.iova_pgsizes = getPagesizes(ioas);
  info.cap_offset = 0;

  // Each filler writes its cap at `at` when `avail` holds it, and returns its size.
  const fillDmaAvail = (at: number | null, avail: number): number => {
    const c = vfioStructs.dma_avail;
    if (at !== null && avail >= c.size) {
      const b = new Uint8Array(c.size);
      encode(c, { id: VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version: 1, next: 0, avail: 0xffffffff }, b);
      if (arg.write(at, b)) return -EFAULT;
    }
    return c.size;
  };
  const fillIova = (at: number | null, avail: number): number => {
    const h = vfioStructs.cap_iova_range;
    const r = vfioStructs.iova_range;
    let n = 0;
    for (const [start, last] of ioas.iopt.usableRanges()) {
      if (at !== null && avail >= h.size + (n + 1) * r.size) {
        const b = new Uint8Array(r.size);
        encode(r, { start, end: last }, b);
        if (arg.write(at + h.size + n * r.size, b)) return -EFAULT;
      }
      n++;
    }
    if (at !== null && avail >= h.size + n * r.size) {
      const b = new Uint8Array(h.size);
      encode(
        h,
        { id: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version: 1, next: 0, nr_iovas: n, reserved: 0 },
        b,
      );
      if (arg.write(at, b)) return -EFAULT;
    }
    return h.size + n * r.size;
  };

  let total = l.size;
  let lastCap: number | null = null;
  for (const fill of [fillDmaAvail, fillIova]) {
    let size = argsz > total ? fill(total, argsz - total) : fill(null, 0);
    if (size < 0) return size;
    size = align8(size);
    if (lastCap !== null && argsz >= total) {
      // put_user(total, &last_cap->next)
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, total, true);
      if (arg.write(lastCap + 4, b)) return -EFAULT;
    }
    lastCap = total;
    total += size;
  }
  if (argsz >= total) info.cap_offset = l.size;
  info.argsz = total;
  info.flags = Number(info.flags) | VFIO_IOMMU_INFO_CAPS;
  const out = new Uint8Array(l.size);
  encode(l, info, out);
  return arg.write(0, out.subarray(0, minsz)) ? -EFAULT : 0;
}

/**
 * iommufd_vfio_ioctl(): the container ioctls. `intArg` is the ioctl's
 * integer argument (VFIO_SET_IOMMU, VFIO_CHECK_EXTENSION); `arg` the user
 * memory it points at for the others.
 */
export function iommufdVfioIoctl(ctx: IommufdCtx, cmd: number, arg: UserArg, intArg: number | null): number {
  const needInt = (name: string): number => {
    if (intArg === null) throw new TypeError(`${name} takes an integer argument, not struct bytes`);
    return intArg;
  };
  switch (cmd) {
    case VFIO_GET_API_VERSION:
      return VFIO_API_VERSION;
    case VFIO_SET_IOMMU:
      return setIommu(ctx, needInt('VFIO_SET_IOMMU'));
    case VFIO_CHECK_EXTENSION:
      return checkExtension(ctx, needInt('VFIO_CHECK_EXTENSION'));
    case VFIO_IOMMU_GET_INFO:
      return getInfo(ctx, arg);
    case VFIO_IOMMU_MAP_DMA:
      return mapDma(ctx, arg);
    case VFIO_IOMMU_UNMAP_DMA:
      return unmapDma(ctx, arg);
    case VFIO_IOMMU_DIRTY_PAGES:
    default:
      return -ENOTTY; // -ENOIOCTLCMD, which the VFS turns into -ENOTTY
  }
}
