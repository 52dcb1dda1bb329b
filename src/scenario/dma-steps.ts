// SPDX-License-Identifier: GPL-2.0-only
/**
 * The scenario steps that move data: the DMA API a driver calls (masks,
 * dma_map_page/unmap, coherent buffers), iommu_map/unmap on a domain a
 * scenario owns (what VFIO does for user space), the CPU and the device
 * touching memory, and time passing. Each returns the kernel's errno, or for
 * a device access 0 / -EFAULT (the IOMMU faulted it) / -EIO (the data read
 * differs from `expect`), with a line saying what happened.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { Device } from '../base/device.js';
import type { IommuDomain } from '../iommu/domain.js';
import type { DmaCoherent } from '../dma/dma-iommu-alloc.js';
import type { DmaDataDirection } from '../dma/dma-iommu.js';
import type { Step } from './schema.js';
import { EFAULT, EINVAL, EIO, ENOENT, ENOMEM } from '../kernel/errno.js';
import {
  dma_alloc_attrs,
  dma_free_attrs,
  dma_map_page_attrs,
  dma_mapping_error,
  dma_set_mask_and_coherent,
  dma_unmap_page_attrs,
} from '../dma/mapping.js';
import { iommu_map, iommu_unmap } from '../iommu/map.js';
import { dmaRead, dmaWrite } from '../dma/device-dma.js';
import { physMem } from '../mm/phys-mem.js';
import { DMA_MAPPING_ERROR } from '../dma/scatterlist.js';
import {
  IOMMU_CACHE,
  IOMMU_MMIO,
  IOMMU_NOEXEC,
  IOMMU_PRIV,
  IOMMU_READ,
  IOMMU_WRITE,
} from '../pgtable/prot.js';
import { InputError } from '../input/input-error.js';

export type DmaStep = Extract<
  Step,
  {
    op:
      | 'dma-set-mask'
      | 'dma-map'
      | 'dma-unmap'
      | 'dma-alloc'
      | 'dma-free'
      | 'iommu-map'
      | 'iommu-unmap'
      | 'cpu-write'
      | 'dma-write'
      | 'dma-read'
      | 'advance-time';
  }
>;

export const dmaStepOps: ReadonlySet<string> = new Set<DmaStep['op']>([
  'dma-set-mask',
  'dma-map',
  'dma-unmap',
  'dma-alloc',
  'dma-free',
  'iommu-map',
  'iommu-unmap',
  'cpu-write',
  'dma-write',
  'dma-read',
  'advance-time',
]);

interface Mapping {
  readonly dev: Device;
  readonly handle: number;
  readonly size: number;
  readonly dir: DmaDataDirection;
}

/** What DMA steps name: mappings and coherent buffers. */
export interface DmaCtx {
  readonly maps: Map<string, Mapping>;
  readonly bufs: Map<string, { dev: Device; buf: DmaCoherent }>;
}

export interface DmaStepEnv {
  readonly k: Kernel;
  readonly file: string;
  readonly declared: ReadonlySet<string>;
  dev(name: string, where: string): Device;
  domain(name: string): IommuDomain | undefined;
  readonly dma: DmaCtx;
}

const PROT: Readonly<Record<string, number>> = {
  read: IOMMU_READ,
  write: IOMMU_WRITE,
  cache: IOMMU_CACHE,
  noexec: IOMMU_NOEXEC,
  mmio: IOMMU_MMIO,
  priv: IOMMU_PRIV,
};

const hex = (v: number): string => `0x${v.toString(16)}`;

function bytes(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** A step's named thing that may legitimately be missing (its creating step failed): -ENOENT. */
class Missing extends Error {}

function lookup<T>(env: DmaStepEnv, m: Map<string, T>, name: string, where: string, what: string): T {
  const v = m.get(name);
  if (v !== undefined) return v;
  if (env.declared.has(name)) throw new Missing(name);
  throw new InputError(env.file, where, `no ${what} named "${name}"`);
}

/** The IOVA a device access targets. */
function target(
  env: DmaStepEnv,
  step: { iova?: number; map?: string; offset: number },
  where: string,
): number {
  if (step.iova !== undefined && step.map !== undefined)
    throw new InputError(env.file, where, 'give either "iova" or "map", not both');
  if (step.iova !== undefined) return step.iova + step.offset;
  if (step.map === undefined) throw new InputError(env.file, where, 'a device access needs "iova" or "map"');
  const m = env.dma.maps.get(step.map) ?? env.dma.bufs.get(step.map);
  if (m === undefined) {
    if (env.declared.has(step.map)) throw new Missing(step.map);
    throw new InputError(env.file, `${where}.map`, `no dma-map or dma-alloc named "${step.map}"`);
  }
  return ('handle' in m ? m.handle : m.buf.dma_handle) + step.offset;
}

export function runDmaStep(env: DmaStepEnv, step: DmaStep, where: string): { ret: number; target: string } {
  try {
    return dmaStep(env, step, where);
  } catch (e) {
    if (e instanceof Missing) return { ret: -ENOENT, target: e.message };
    throw e;
  }
}

function dmaStep(env: DmaStepEnv, step: DmaStep, where: string): { ret: number; target: string } {
  const k = env.k;
  switch (step.op) {
    case 'dma-set-mask': {
      const d = env.dev(step.dev, `${where}.dev`);
      return { ret: dma_set_mask_and_coherent(d, step.bits), target: `${d.name}: ${step.bits}-bit` };
    }
    case 'dma-map': {
      const d = env.dev(step.dev, `${where}.dev`);
      const h = dma_map_page_attrs(k, d, step.phys, step.size, step.dir);
      const ret = step.checkError ? dma_mapping_error(k, d, h) : h === DMA_MAPPING_ERROR ? -ENOMEM : 0;
      if (ret) return { ret, target: `${d.name}: ${hex(step.phys)}+${hex(step.size)} not mapped` };
      env.dma.maps.set(step.as, { dev: d, handle: h, size: step.size, dir: step.dir });
      return { ret: 0, target: `${d.name}: ${hex(step.phys)}+${hex(step.size)} at DMA ${hex(h)}` };
    }
    case 'dma-unmap': {
      const m = lookup(env, env.dma.maps, step.map, `${where}.map`, 'dma-map');
      // The name stays: a device may still use the address (the bug to show), a second unmap is a double unmap.
      dma_unmap_page_attrs(k, m.dev, m.handle, step.size ?? m.size, step.dir ?? m.dir);
      return { ret: 0, target: `${m.dev.name}: DMA ${hex(m.handle)}` };
    }
    case 'dma-alloc': {
      const d = env.dev(step.dev, `${where}.dev`);
      const buf = dma_alloc_attrs(k, d, step.size);
      if (!buf) return { ret: -ENOMEM, target: d.name };
      env.dma.bufs.set(step.as, { dev: d, buf });
      return {
        ret: 0,
        target: `${d.name}: ${hex(step.size)} bytes at DMA ${hex(buf.dma_handle)}, pages ${buf.pages.map(hex).join(' ')}`,
      };
    }
    case 'dma-free': {
      const b = lookup(env, env.dma.bufs, step.buf, `${where}.buf`, 'dma-alloc');
      dma_free_attrs(k, b.dev, b.buf);
      env.dma.bufs.delete(step.buf);
      return { ret: 0, target: `${b.dev.name}: DMA ${hex(b.buf.dma_handle)}` };
    }
    case 'iommu-map': {
      const dom = env.domain(step.domain);
      if (!dom) return missingDomain(env, step.domain, where);
      const prot = step.prot.reduce((p, n) => p | PROT[n], 0);
      return {
        ret: iommu_map(k, dom, step.iova, step.phys, step.size, prot),
        target: `${hex(step.iova)} -> ${hex(step.phys)}`,
      };
    }
    case 'iommu-unmap': {
      const dom = env.domain(step.domain);
      if (!dom) return missingDomain(env, step.domain, where);
      const n = iommu_unmap(k, dom, step.iova, step.size);
      return { ret: 0, target: `${hex(step.iova)}: ${hex(n)} bytes unmapped` };
    }
    case 'cpu-write': {
      if ((step.phys === undefined) === (step.buf === undefined))
        throw new InputError(env.file, where, 'a cpu-write needs "phys" or "buf"');
      const data = bytes(step.data);
      if (step.phys !== undefined) {
        physMem(k).write(step.phys + step.offset, data);
        return { ret: 0, target: `${data.length} bytes at ${hex(step.phys + step.offset)}` };
      }
      const b = lookup(env, env.dma.bufs, step.buf!, `${where}.buf`, 'dma-alloc').buf;
      if (step.offset + data.length > b.pages.length * 4096)
        return { ret: -EINVAL, target: 'past the buffer' };
      // The buffer's CPU view is its pages in order.
      for (let i = 0; i < data.length;) {
        const o = step.offset + i;
        const n = Math.min(4096 - (o % 4096), data.length - i);
        physMem(k).write(b.pages[Math.floor(o / 4096)] + (o % 4096), data.subarray(i, i + n));
        i += n;
      }
      return { ret: 0, target: `${data.length} bytes into ${step.buf}+${hex(step.offset)}` };
    }
    case 'dma-write': {
      const d = env.dev(step.dev, `${where}.dev`);
      const iova = target(env, step, where);
      const r = dmaWrite(k, d, iova, bytes(step.data));
      if (!r.ok) return { ret: -EFAULT, target: `${d.name}: ${r.fault.reason} at ${hex(r.fault.iova)}` };
      return {
        ret: 0,
        target: `${d.name}: ${step.data.length / 2} bytes at ${hex(iova)} -> ${r.phys.map(hex).join(' ')}`,
      };
    }
    case 'dma-read': {
      const d = env.dev(step.dev, `${where}.dev`);
      const iova = target(env, step, where);
      const r = dmaRead(k, d, iova, step.length);
      if (!r.ok) return { ret: -EFAULT, target: `${d.name}: ${r.fault.reason} at ${hex(r.fault.iova)}` };
      const got = toHex(r.data);
      if (step.expect !== undefined && got !== step.expect.toLowerCase())
        return { ret: -EIO, target: `${d.name}: read ${got}, expected ${step.expect}` };
      return {
        ret: 0,
        target: `${d.name}: read ${got.length > 64 ? `${got.slice(0, 64)}…` : got} at ${hex(iova)}`,
      };
    }
    case 'advance-time':
      k.clock.advance(step.ms);
      return { ret: 0, target: `t=${k.clock.now} ms` };
  }
}

function missingDomain(env: DmaStepEnv, name: string, where: string): { ret: number; target: string } {
  if (env.declared.has(name)) return { ret: -ENOENT, target: name };
  throw new InputError(env.file, `${where}.domain`, `no domain named "${name}"`);
}
