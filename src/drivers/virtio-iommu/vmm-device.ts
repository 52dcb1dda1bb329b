// SPDX-License-Identifier: GPL-2.0-only
/**
 * The virtio-iommu device as the VMM implements it (QEMU 7.2,
 * hw/virtio/virtio-iommu.c), the other end of the driver's request queue:
 * what it offers (features and config space, as data), what it does with
 * each request it pops (ATTACH, DETACH, MAP, UNMAP, PROBE, answered with a
 * VIRTIO_IOMMU_S_* status) and how it translates a device's DMA.
 *
 * State, as QEMU keeps it: endpoints by ID, each attached to at most one
 * domain; domains by ID, each a bypass flag and a mapping tree (an interval
 * tree here, a GTree ordered by interval there: a lookup is O(log n)). A
 * domain is created by the first ATTACH naming it and goes, mappings and
 * all, when its last endpoint leaves. A reset (the driver's probe and
 * remove) forgets everything.
 *
 * Translation (virtio_iommu_translate() with virtio_iommu_switch_address_space()):
 * an endpoint with no domain follows config.bypass (QEMU's boot-bypass
 * property, on by default; Linux 6.12 never writes it), one in a bypass
 * domain passes through. Otherwise the device's reserved regions come first
 * (MSI passes, anything else faults), then the domain's mappings with their
 * READ/WRITE flags. A fault becomes an event on the event queue carrying the
 * reason, flags, endpoint and address: VIRTIO_IOMMU_FAULT_F_ADDRESS alone
 * for a missing mapping, with F_READ or F_WRITE for a permission fault.
 * QEMU looks a translation up with the key [addr, addr + 1], which also
 * matches a mapping that starts right after addr; the model looks up addr
 * alone (the difference shows only for an access starting at the last byte
 * of a mapping that another mapping follows, where QEMU's answer depends on
 * its tree's shape).
 *
 * Host-side memory is not the guest kernel's: nothing here is a tracked
 * allocation.
 */
import type { ViommuProbeInfo } from './virtio-iommu.js';
import { IntervalTree } from './interval-tree.js';

// Feature bits (include/uapi/linux/virtio_iommu.h, virtio_config.h).
export const VIRTIO_IOMMU_F_INPUT_RANGE = 0;
export const VIRTIO_IOMMU_F_DOMAIN_RANGE = 1;
export const VIRTIO_IOMMU_F_MAP_UNMAP = 2;
export const VIRTIO_IOMMU_F_BYPASS = 3;
export const VIRTIO_IOMMU_F_PROBE = 4;
export const VIRTIO_IOMMU_F_MMIO = 5;
export const VIRTIO_IOMMU_F_BYPASS_CONFIG = 6;
export const VIRTIO_F_VERSION_1 = 32;

// Request statuses.
export const VIRTIO_IOMMU_S_OK = 0;
export const VIRTIO_IOMMU_S_IOERR = 1;
export const VIRTIO_IOMMU_S_UNSUPP = 2;
export const VIRTIO_IOMMU_S_DEVERR = 3;
export const VIRTIO_IOMMU_S_INVAL = 4;
export const VIRTIO_IOMMU_S_RANGE = 5;
export const VIRTIO_IOMMU_S_NOENT = 6;
export const VIRTIO_IOMMU_S_FAULT = 7;
export const VIRTIO_IOMMU_S_NOMEM = 8;

export const VIRTIO_IOMMU_ATTACH_F_BYPASS = 1 << 0;

export const VIRTIO_IOMMU_MAP_F_READ = 1 << 0;
export const VIRTIO_IOMMU_MAP_F_WRITE = 1 << 1;
export const VIRTIO_IOMMU_MAP_F_MMIO = 1 << 2;
const VIRTIO_IOMMU_MAP_F_MASK = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE | VIRTIO_IOMMU_MAP_F_MMIO;

export const VIRTIO_IOMMU_RESV_MEM_T_RESERVED = 0;
export const VIRTIO_IOMMU_RESV_MEM_T_MSI = 1;

export const VIRTIO_IOMMU_FAULT_R_UNKNOWN = 0;
export const VIRTIO_IOMMU_FAULT_R_DOMAIN = 1;
export const VIRTIO_IOMMU_FAULT_R_MAPPING = 2;
export const VIRTIO_IOMMU_FAULT_F_READ = 1 << 0;
export const VIRTIO_IOMMU_FAULT_F_WRITE = 1 << 1;
export const VIRTIO_IOMMU_FAULT_F_EXEC = 1 << 2;
export const VIRTIO_IOMMU_FAULT_F_ADDRESS = 1 << 8;

/** sizeof(struct virtio_iommu_probe_resv_mem): a 4-byte property head, subtype, padding, start, end. */
const RESV_MEM_PROP_SIZE = 24;

/** What the device offers: its feature bits and its config space (struct virtio_iommu_config). */
export interface ViommuDeviceConfig {
  /** Offered feature bits (VIRTIO_IOMMU_F_*, VIRTIO_F_VERSION_1). */
  readonly features: ReadonlySet<number>;
  readonly page_size_mask: bigint;
  readonly input_range: { readonly start: bigint; readonly end: bigint };
  readonly domain_range: { readonly start: number; readonly end: number };
  readonly probe_size: number;
  /** config.bypass after reset (QEMU's boot-bypass property). */
  readonly bypass: boolean;
  /** The reserved regions the device reports in PROBE replies and honours when translating. */
  readonly resv: ViommuProbeInfo['resv'];
  /**
   * Which endpoint IDs the device knows: 'pci-wire', QEMU's (one per PCI
   * requester ID as the IOMMU sees it on the wire: vmm-endpoints.ts);
   * 'any', a device that answers for every ID.
   */
  readonly endpoints: 'pci-wire' | 'any';
  /** Requests the request queue holds before the driver has to kick it (QEMU: 256, one descriptor each). */
  readonly queue_size: number;
}

/**
 * virtio_iommu_device_realize() of QEMU 7.2: TARGET_PAGE_MASK (4K on x86_64
 * and aarch64), the whole 64-bit input range, 32-bit domain IDs, a 512-byte
 * PROBE buffer, boot-bypass on, every feature but VIRTIO_IOMMU_F_BYPASS.
 * `probe` null: a device without VIRTIO_IOMMU_F_PROBE, whose endpoint
 * knowledge is not modelled.
 */
export function qemuViommuConfig(probe: ViommuProbeInfo | null): ViommuDeviceConfig {
  const features = new Set([
    VIRTIO_F_VERSION_1,
    VIRTIO_IOMMU_F_INPUT_RANGE,
    VIRTIO_IOMMU_F_DOMAIN_RANGE,
    VIRTIO_IOMMU_F_MAP_UNMAP,
    VIRTIO_IOMMU_F_MMIO,
    VIRTIO_IOMMU_F_BYPASS_CONFIG,
  ]);
  if (probe) features.add(VIRTIO_IOMMU_F_PROBE);
  return {
    features,
    page_size_mask: 0xfffffffffffff000n,
    input_range: { start: 0n, end: 0xffffffffffffffffn },
    domain_range: { start: 0, end: 0xffffffff },
    probe_size: 512,
    bypass: true,
    resv: probe?.resv ?? [],
    endpoints: probe ? 'pci-wire' : 'any',
    queue_size: 256,
  };
}

/** The requests, as struct virtio_iommu_req_* carry them (addresses as numbers, ULLONG_MAX as 2^64). */
export type ViommuRequest =
  | { readonly type: 'attach'; readonly domain: number; readonly endpoint: number; readonly flags: number }
  | { readonly type: 'detach'; readonly domain: number; readonly endpoint: number }
  | {
      readonly type: 'map';
      readonly domain: number;
      readonly virt_start: number;
      readonly virt_end: number;
      readonly phys_start: number;
      readonly flags: number;
    }
  | {
      readonly type: 'unmap';
      readonly domain: number;
      readonly virt_start: number;
      readonly virt_end: number;
    }
  | { readonly type: 'probe'; readonly endpoint: number };

/** A VIRTIO_IOMMU_PROBE_T_RESV_MEM property of a PROBE reply. */
export interface ViommuResvProp {
  readonly subtype: number;
  readonly start: bigint;
  readonly end: bigint;
}

/** struct virtio_iommu_fault, as the event queue delivers it. */
export interface ViommuFaultEvent {
  readonly reason: number;
  readonly flags: number;
  readonly endpoint: number;
  readonly address: number;
}

interface VmmMapping {
  readonly phys: number;
  readonly flags: number;
}

interface VmmDomain {
  readonly id: number;
  readonly bypass: boolean;
  readonly mappings: IntervalTree<VmmMapping>;
  readonly endpoints: Set<VmmEndpoint>;
}

interface VmmEndpoint {
  readonly id: number;
  domain: VmmDomain | null;
}

/** What the device makes of an access: pass it through, translate it by a mapping, or fault. */
export type VmmTranslation =
  | { readonly kind: 'bypass' }
  | { readonly kind: 'map'; readonly phys: number; readonly flags: number }
  | { readonly kind: 'fault'; readonly reason: number };

export class ViommuVmm {
  private readonly endpoints = new Map<number, VmmEndpoint>();
  private readonly domains = new Map<number, VmmDomain>();
  /** Requests handled, by type, and their statuses (for tests and reports). */
  readonly handled: { type: ViommuRequest['type']; status: number }[] = [];

  constructor(
    readonly config: ViommuDeviceConfig,
    /** virtio_iommu_mr(): whether an IOMMU address space exists for this endpoint ID. */
    private readonly knows: (endpoint: number) => boolean,
  ) {}

  /** virtio_iommu_device_reset(): every domain and endpoint goes. */
  reset(): void {
    this.endpoints.clear();
    this.domains.clear();
  }

  /** virtio_iommu_handle_command() for one request: its status, and a PROBE's properties. */
  handle(req: ViommuRequest): { status: number; props?: ViommuResvProp[] } {
    const r = this.dispatch(req);
    this.handled.push({ type: req.type, status: r.status });
    return r;
  }

  private dispatch(req: ViommuRequest): { status: number; props?: ViommuResvProp[] } {
    switch (req.type) {
      case 'attach':
        return { status: this.attach(req.domain, req.endpoint, req.flags) };
      case 'detach':
        return { status: this.detach(req.domain, req.endpoint) };
      case 'map':
        return { status: this.map(req.domain, req.virt_start, req.virt_end, req.phys_start, req.flags) };
      case 'unmap':
        return { status: this.unmap(req.domain, req.virt_start, req.virt_end) };
      case 'probe':
        return this.probe(req.endpoint);
    }
  }

  /** virtio_iommu_get_endpoint(): created on first use, if the ID has an address space. */
  private getEndpoint(id: number): VmmEndpoint | null {
    let ep = this.endpoints.get(id);
    if (ep) return ep;
    if (!this.knows(id)) return null;
    ep = { id, domain: null };
    this.endpoints.set(id, ep);
    return ep;
  }

  /** virtio_iommu_detach_endpoint_from_domain(); the domain goes with its last endpoint. */
  private leave(ep: VmmEndpoint): void {
    const d = ep.domain;
    if (!d) return;
    d.endpoints.delete(ep);
    ep.domain = null;
    if (d.endpoints.size === 0) this.domains.delete(d.id);
  }

  /** virtio_iommu_attach() */
  private attach(domainId: number, epId: number, flags: number): number {
    if (flags & ~VIRTIO_IOMMU_ATTACH_F_BYPASS) return VIRTIO_IOMMU_S_INVAL;
    const ep = this.getEndpoint(epId);
    if (!ep) return VIRTIO_IOMMU_S_NOENT;
    this.leave(ep);
    const bypass = (flags & VIRTIO_IOMMU_ATTACH_F_BYPASS) !== 0;
    let d = this.domains.get(domainId);
    // virtio_iommu_get_domain(): an existing domain with the other bypass setting is refused.
    if (d && d.bypass !== bypass) return VIRTIO_IOMMU_S_INVAL;
    if (!d) {
      d = { id: domainId, bypass, mappings: new IntervalTree(), endpoints: new Set() };
      this.domains.set(domainId, d);
    }
    d.endpoints.add(ep);
    ep.domain = d;
    return VIRTIO_IOMMU_S_OK;
  }

  /** virtio_iommu_detach() */
  private detach(domainId: number, epId: number): number {
    const ep = this.endpoints.get(epId);
    if (!ep) return VIRTIO_IOMMU_S_NOENT;
    if (!ep.domain || ep.domain.id !== domainId) return VIRTIO_IOMMU_S_INVAL;
    this.leave(ep);
    return VIRTIO_IOMMU_S_OK;
  }

  /** virtio_iommu_map(): an overlap with an existing mapping is refused. */
  private map(domainId: number, start: number, end: number, phys: number, flags: number): number {
    if (flags & ~VIRTIO_IOMMU_MAP_F_MASK) return VIRTIO_IOMMU_S_INVAL;
    const d = this.domains.get(domainId);
    if (!d) return VIRTIO_IOMMU_S_NOENT;
    if (d.bypass) return VIRTIO_IOMMU_S_INVAL;
    if (d.mappings.iterFirst(start, end)) return VIRTIO_IOMMU_S_INVAL;
    d.mappings.insert(start, end, { phys, flags });
    return VIRTIO_IOMMU_S_OK;
  }

  /** virtio_iommu_unmap(): whole mappings inside the range go; one sticking out stops it with S_RANGE. */
  private unmap(domainId: number, start: number, end: number): number {
    const d = this.domains.get(domainId);
    if (!d) return VIRTIO_IOMMU_S_NOENT;
    if (d.bypass) return VIRTIO_IOMMU_S_INVAL;
    for (let n = d.mappings.iterFirst(start, end); n; n = d.mappings.iterFirst(start, end)) {
      if (!(start <= n.start && end >= n.last)) return VIRTIO_IOMMU_S_RANGE;
      d.mappings.remove(n);
    }
    return VIRTIO_IOMMU_S_OK;
  }

  /** virtio_iommu_probe() with virtio_iommu_fill_resv_mem_prop() */
  private probe(epId: number): { status: number; props?: ViommuResvProp[] } {
    if (!this.knows(epId)) return { status: VIRTIO_IOMMU_S_NOENT };
    if (this.config.resv.length * RESV_MEM_PROP_SIZE > this.config.probe_size)
      return { status: VIRTIO_IOMMU_S_INVAL };
    return {
      status: VIRTIO_IOMMU_S_OK,
      props: this.config.resv.map((r) => ({
        subtype: r.type === 'msi' ? VIRTIO_IOMMU_RESV_MEM_T_MSI : VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
        start: r.start,
        end: r.end,
      })),
    };
  }

  /** virtio_iommu_translate() (and the address-space switch before it) for endpoint `sid`. */
  translate(sid: number, addr: number): VmmTranslation {
    const ep = this.endpoints.get(sid);
    // virtio_iommu_device_bypassed(): the IOMMU region is switched off, DMA goes straight to memory.
    const bypassed = ep?.domain ? ep.domain.bypass : this.config.bypass;
    if (bypassed) return { kind: 'bypass' };
    if (!ep) return { kind: 'fault', reason: VIRTIO_IOMMU_FAULT_R_UNKNOWN };
    for (const r of this.config.resv) {
      if (BigInt(addr) >= r.start && BigInt(addr) <= r.end)
        return r.type === 'msi'
          ? { kind: 'bypass' }
          : { kind: 'fault', reason: VIRTIO_IOMMU_FAULT_R_MAPPING };
    }
    if (!ep.domain) return { kind: 'fault', reason: VIRTIO_IOMMU_FAULT_R_DOMAIN };
    const n = ep.domain.mappings.iterFirst(addr, addr);
    if (!n) return { kind: 'fault', reason: VIRTIO_IOMMU_FAULT_R_MAPPING };
    return { kind: 'map', phys: n.value.phys + (addr - n.start), flags: n.value.flags };
  }

  /**
   * The fault event virtio_iommu_translate() reports for an access, or null
   * when the access goes through.
   */
  faultEvent(sid: number, addr: number, write: boolean): ViommuFaultEvent | null {
    const t = this.translate(sid, addr);
    if (t.kind === 'bypass') return null;
    if (t.kind === 'fault')
      return { reason: t.reason, flags: VIRTIO_IOMMU_FAULT_F_ADDRESS, endpoint: sid, address: addr };
    const need = write ? VIRTIO_IOMMU_MAP_F_WRITE : VIRTIO_IOMMU_MAP_F_READ;
    if (t.flags & need) return null;
    return {
      reason: VIRTIO_IOMMU_FAULT_R_MAPPING,
      flags: VIRTIO_IOMMU_FAULT_F_ADDRESS | (write ? VIRTIO_IOMMU_FAULT_F_WRITE : VIRTIO_IOMMU_FAULT_F_READ),
      endpoint: sid,
      address: addr,
    };
  }

  /** The domain an endpoint is attached to on the device side, and whether it bypasses. */
  endpointDomain(sid: number): { id: number; bypass: boolean; mappings: number } | null {
    const d = this.endpoints.get(sid)?.domain;
    return d ? { id: d.id, bypass: d.bypass, mappings: d.mappings.size } : null;
  }

  /** The device's domains, by ID. */
  domainIds(): number[] {
    return [...this.domains.keys()].sort((a, b) => a - b);
  }
}
