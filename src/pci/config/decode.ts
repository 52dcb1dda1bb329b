// SPDX-License-Identifier: GPL-2.0-only
/**
 * Decoding one PCI function's configuration space, as dumped on a running
 * machine (lspci -xxx/-xxxx, /sys/bus/pci/devices/*\/config), into the facts
 * the PCI topology JSON needs: IDs, class, header type and multifunction
 * bit, a bridge's bus numbers, the standard capability list (PCI Express
 * capability and its Device/Port Type, a bridge's subsystem IDs) and the
 * extended list (ACS, PASID, ATS, PRI, SR-IOV).
 *
 * The list walks follow the kernel's (__pci_find_next_cap_ttl(),
 * pci_find_next_ext_capability()): a standard list only when PCI_STATUS
 * says there is one, pointers with their two low bits masked, an ID of 0xff
 * ending the standard list; the extended list only for a PCI Express
 * function with 4096 bytes (pci_cfg_space_size()), and none when its first
 * header reads 0 or all ones. Where the kernel stops a walk silently on a
 * bad pointer or after a time-to-live, this decoder refuses the dump with an
 * InputError naming the file, the function and the offset: a list that
 * cycles, a pointer into the header or past the end, a register that lies
 * beyond the bytes dumped. Each walk remembers the offsets it visited, so it
 * ends after at most one step per dword of config space.
 *
 * The register layouts are data (config-regs.ts); readReg() is the one way
 * a register is read.
 */
import { InputError } from '../../input/input-error.js';
import { BDF_RE, pciFunctionKinds, pciFunctionTypes, type PciFunctionType } from '../topology-schema.js';
import {
  PASID_MAX_WIDTH,
  PCI_CAP_ID_EXP,
  PCI_CAP_ID_SHPC,
  PCI_CAP_ID_SSVID,
  PCI_CAP_MIN_OFFSET,
  PCI_CFG_SPACE_EXP_SIZE,
  PCI_CFG_SPACE_SIZE,
  PCI_EXT_CAP_ID_ACS,
  PCI_EXT_CAP_ID_ATS,
  PCI_EXT_CAP_ID_PASID,
  PCI_EXT_CAP_ID_PRI,
  PCI_EXT_CAP_ID_SRIOV,
  PCI_HEADER_TYPE_MASK,
  PCI_HEADER_TYPE_MFD,
  PCI_STATUS_CAP_LIST,
  PCI_STD_HEADER_SIZEOF,
  bridgeHeader,
  capabilityNames,
  capabilityRegs,
  commonHeader,
  configFields,
  extCapabilityNames,
  extCapabilityRegs,
  headerTypes,
  normalHeader,
  type ConfigField,
  type ConfigReg,
} from './config-regs.js';

/** A capability found in one of the lists. */
export interface PciCapabilityRef {
  readonly id: number;
  /** From the tables ("Access Control Services"), or "unknown". */
  readonly name: string;
  readonly offset: number;
  /** Extended capabilities: the capability version. */
  readonly version?: number;
}

/** What a function's configuration space says. */
export interface DecodedPciConfig {
  /** "SSSS:BB:DD.F", lower case. */
  readonly bdf: string;
  readonly segment: number;
  readonly bus: number;
  readonly devfn: number;
  /** Bytes dumped: 256 or 4096. */
  readonly size: number;
  /** 0xffff for an SR-IOV VF, whose ID registers read all ones (the PF's SR-IOV capability has them). */
  readonly vendor: number;
  readonly device: number;
  readonly revision: number;
  /** The 24-bit class code (base class, sub-class, programming interface). */
  readonly classCode: number;
  /** PCI_HEADER_TYPE without the multifunction bit: 0 or 1. */
  readonly headerType: number;
  /** The header's multifunction bit. */
  readonly multifunction: boolean;
  /** Type 0: the header's subsystem IDs; type 1: those of the SSVID capability, null without one. */
  readonly subsystemVendor: number | null;
  readonly subsystemDevice: number | null;
  /** Type 1 headers: the bus numbers. */
  readonly bridge: {
    readonly primary: number;
    readonly secondary: number;
    readonly subordinate: number;
  } | null;
  /** The standard list, in list order. */
  readonly capabilities: readonly PciCapabilityRef[];
  /** The extended list, in list order (empty for 256-byte dumps and non-PCIe functions). */
  readonly extCapabilities: readonly PciCapabilityRef[];
  /** The PCI Express capability: its offset, version and Device/Port Type (PCI_EXP_TYPE_*). */
  readonly pcie: { readonly offset: number; readonly version: number; readonly portType: number } | null;
  /** The JSON kind: from the PCIe port type, else conventional or pci-bridge by header type. */
  readonly type: PciFunctionType;
  /** ACS: the capability and control registers as dumped. */
  readonly acs: { readonly offset: number; readonly cap: number; readonly ctrl: number } | null;
  /** PASID: Max PASID Width. */
  readonly pasid: { readonly offset: number; readonly maxWidth: number } | null;
  readonly ats: { readonly offset: number } | null;
  readonly pri: { readonly offset: number } | null;
  /** A Standard Hot-Plug Controller capability (shpchp drives the bridge). */
  readonly shpc: boolean;
  /** SR-IOV: where the VFs are (routing ID offset and stride from the PF) and whether they are enabled. */
  readonly sriov: {
    readonly offset: number;
    readonly enabled: boolean;
    readonly totalVFs: number;
    readonly numVFs: number;
    readonly vfOffset: number;
    readonly vfStride: number;
    readonly vfDevice: number;
  } | null;
}

export interface DecodeConfigOptions {
  /**
   * How an error names a place in the dump: the function plus an offset, or
   * the function as a whole (offset undefined). Default "SSSS:BB:DD.F offset 0x148".
   */
  readonly where?: (offset?: number) => string;
}

const hex = (v: number, n = 2) => `0x${v.toString(16).padStart(n, '0')}`;

/** "SSSS:BB:DD.F" or "BB:DD.F" (segment 0) as numbers, or null. */
export function parseBdf(bdf: string): { segment: number; bus: number; devfn: number } | null {
  const m = BDF_RE.exec(bdf);
  if (!m) return null;
  return {
    segment: m[1] ? parseInt(m[1], 16) : 0,
    bus: parseInt(m[2], 16),
    devfn: (parseInt(m[3], 16) << 3) | parseInt(m[4], 10),
  };
}

/** "SSSS:BB:DD.F" */
export function formatBdf(segment: number, bus: number, devfn: number): string {
  const h = (v: number, n: number) => v.toString(16).padStart(n, '0');
  return `${h(segment, 4)}:${h(bus, 2)}:${h(devfn >> 3, 2)}.${devfn & 7}`;
}

const getField = (value: number, f: ConfigField) => (value & f.mask) >>> f.shift;

/**
 * Decodes `bytes` (256 or 4096 bytes of config space) of function `bdf`.
 * Throws InputError naming `file`, the function and the offset for anything
 * the topology cannot be built from.
 */
export function decodeConfig(
  bytes: Uint8Array,
  bdf: string,
  file: string,
  opts: DecodeConfigOptions = {},
): DecodedPciConfig {
  const addr = parseBdf(bdf);
  if (!addr)
    throw new InputError(
      file,
      '',
      `"${bdf}" is not a PCI address "SSSS:BB:DD.F" (device 00-1f, function 0-7)`,
    );
  const name = formatBdf(addr.segment, addr.bus, addr.devfn);
  const where = opts.where ?? ((off?: number) => (off === undefined ? name : `${name} offset ${hex(off)}`));
  function fail(off: number | undefined, problem: string): never {
    throw new InputError(file, where(off), problem);
  }

  const size = bytes.length;
  if (size === PCI_STD_HEADER_SIZEOF || size === 2 * PCI_STD_HEADER_SIZEOF)
    fail(
      undefined,
      `only the first ${size} bytes of config space were dumped (lspci -x, or read without root): ` +
        'the capabilities need all 4096, read as root (sudo lspci -D -xxxx, or a copy of /sys/bus/pci/devices)',
    );
  if (size !== PCI_CFG_SPACE_SIZE && size !== PCI_CFG_SPACE_EXP_SIZE)
    fail(undefined, `${size} bytes of config space; expected 256 or 4096`);

  /** Reads `r` at `base` + its offset, or fails naming `what` when the dump ends first. */
  const readReg = (base: number, r: ConfigReg, what: string): number => {
    const off = base + r.offset;
    if (off + r.size > size)
      fail(
        base,
        `${what}: ${r.name} at ${hex(off)} lies beyond the end of the ${size} bytes of config space`,
      );
    let v = 0;
    for (let i = r.size - 1; i >= 0; i--) v = v * 256 + bytes[off + i];
    return v;
  };

  // The header.
  const vendor = readReg(0, commonHeader.vendor, 'header');
  const device = readReg(0, commonHeader.device, 'header');
  const classRevision = readReg(0, commonHeader.classRevision, 'header');
  const headerByte = readReg(0, commonHeader.headerType, 'header');
  const headerType = headerByte & PCI_HEADER_TYPE_MASK;
  const multifunction = (headerByte & PCI_HEADER_TYPE_MFD) !== 0;
  if (headerType === 2)
    fail(commonHeader.headerType.offset, 'header type 2 (CardBus bridge): CardBus is not modelled');
  if (headerType !== 0 && headerType !== 1)
    fail(
      commonHeader.headerType.offset,
      `header type ${hex(headerType)} is not one of ${Object.entries(headerTypes)
        .map(([n, t]) => `${n} (${t})`)
        .join(', ')}${vendor === 0xffff ? '; the function reads all ones, as if absent' : ''}`,
    );

  const capabilities = walkCapabilities();
  const findCap = (id: number) => capabilities.find((c) => c.id === id) ?? null;

  // PCI Express: the first capability with the ID, as pci_find_capability() returns it.
  let pcie: DecodedPciConfig['pcie'] = null;
  const exp = findCap(PCI_CAP_ID_EXP);
  if (exp) {
    const flags = readReg(exp.offset, capabilityRegs[PCI_CAP_ID_EXP].flags, 'PCI Express capability');
    pcie = {
      offset: exp.offset,
      version: getField(flags, configFields.pcieVersion),
      portType: getField(flags, configFields.pciePortType),
    };
  }
  const bridgeHdr = headerType === 1;
  let type: PciFunctionType = bridgeHdr ? 'pci-bridge' : 'conventional';
  if (pcie) {
    const port = pcie.portType;
    const t = pciFunctionTypes.find((n) => pciFunctionKinds[n].pcieType === port);
    if (!t)
      fail(
        pcie.offset + capabilityRegs[PCI_CAP_ID_EXP].flags.offset,
        `PCI Express capability: Device/Port Type ${hex(port, 1)} is reserved`,
      );
    type = t;
    if (pciFunctionKinds[type].bridge !== bridgeHdr)
      fail(
        commonHeader.headerType.offset,
        `header type ${headerType} (${headerTypes[headerType]}) does not fit the PCI Express ` +
          `capability's Device/Port Type ${hex(port, 1)} (${type}, ${pciFunctionKinds[type].bridge ? 'a bridge' : 'not a bridge'})`,
      );
  }

  // Subsystem IDs: in the type 0 header, or a bridge's SSVID capability (pci_setup_device()).
  let subsystemVendor: number | null = null;
  let subsystemDevice: number | null = null;
  if (!bridgeHdr) {
    subsystemVendor = readReg(0, normalHeader.subsystemVendor, 'header');
    subsystemDevice = readReg(0, normalHeader.subsystemDevice, 'header');
  } else {
    const ssvid = findCap(PCI_CAP_ID_SSVID);
    if (ssvid) {
      const regs = capabilityRegs[PCI_CAP_ID_SSVID];
      subsystemVendor = readReg(ssvid.offset, regs.vendor, 'Subsystem ID capability');
      subsystemDevice = readReg(ssvid.offset, regs.device, 'Subsystem ID capability');
    }
  }

  // A bridge's bus numbers, checked as pci_scan_bridge_extend() would find them "broken".
  let bridge: DecodedPciConfig['bridge'] = null;
  if (bridgeHdr) {
    const primary = readReg(0, bridgeHeader.primary, 'bridge header');
    const secondary = readReg(0, bridgeHeader.secondary, 'bridge header');
    const subordinate = readReg(0, bridgeHeader.subordinate, 'bridge header');
    bridge = { primary, secondary, subordinate };
    const bus = addr.bus;
    if (secondary === 0 && subordinate === 0)
      fail(
        bridgeHeader.secondary.offset,
        'the bridge has no bus numbers (secondary and subordinate 0): firmware left it unconfigured; ' +
          'renumbering as the kernel would is not modelled, so dump a booted machine',
      );
    if (secondary <= bus)
      fail(
        bridgeHeader.secondary.offset,
        `secondary bus ${hex(secondary)} is not above the bridge's own bus ${hex(bus)}`,
      );
    if (subordinate < secondary)
      fail(
        bridgeHeader.subordinate.offset,
        `subordinate bus ${hex(subordinate)} is below the secondary bus ${hex(secondary)}`,
      );
    // The kernel accepts a primary bus number hard-wired to 0.
    if (primary !== bus && primary !== 0)
      fail(
        bridgeHeader.primary.offset,
        `primary bus ${hex(primary)} is not the bus ${hex(bus)} the bridge sits on`,
      );
  }

  // The extended list: PCI Express functions with 4096 bytes only (pci_cfg_space_size()).
  const extCapabilities = pcie && size === PCI_CFG_SPACE_EXP_SIZE ? walkExtCapabilities() : [];
  const findExt = (id: number) => extCapabilities.find((c) => c.id === id) ?? null;

  let acs: DecodedPciConfig['acs'] = null;
  const acsRef = findExt(PCI_EXT_CAP_ID_ACS);
  if (acsRef) {
    const regs = extCapabilityRegs[PCI_EXT_CAP_ID_ACS];
    acs = {
      offset: acsRef.offset,
      cap: readReg(acsRef.offset, regs.cap, 'ACS capability'),
      ctrl: readReg(acsRef.offset, regs.ctrl, 'ACS capability'),
    };
  }

  let pasid: DecodedPciConfig['pasid'] = null;
  const pasidRef = findExt(PCI_EXT_CAP_ID_PASID);
  if (pasidRef) {
    const r = extCapabilityRegs[PCI_EXT_CAP_ID_PASID].cap;
    const maxWidth = getField(readReg(pasidRef.offset, r, 'PASID capability'), configFields.pasidMaxWidth);
    if (maxWidth > PASID_MAX_WIDTH)
      fail(
        pasidRef.offset + r.offset,
        `PASID capability: Max PASID Width ${maxWidth} is reserved (at most ${PASID_MAX_WIDTH})`,
      );
    pasid = { offset: pasidRef.offset, maxWidth };
  }

  const presence = (id: typeof PCI_EXT_CAP_ID_ATS | typeof PCI_EXT_CAP_ID_PRI, what: string) => {
    const ref = findExt(id);
    if (!ref) return null;
    // The capability must be whole even if only its presence is used.
    for (const r of Object.values(extCapabilityRegs[id])) readReg(ref.offset, r, what);
    return { offset: ref.offset };
  };
  const ats = presence(PCI_EXT_CAP_ID_ATS, 'ATS capability');
  const pri = presence(PCI_EXT_CAP_ID_PRI, 'PRI capability');

  let sriov: DecodedPciConfig['sriov'] = null;
  const sriovRef = findExt(PCI_EXT_CAP_ID_SRIOV);
  if (sriovRef) {
    const regs = extCapabilityRegs[PCI_EXT_CAP_ID_SRIOV];
    const rd = (r: ConfigReg) => readReg(sriovRef.offset, r, 'SR-IOV capability');
    sriov = {
      offset: sriovRef.offset,
      enabled: getField(rd(regs.ctrl), configFields.sriovVfEnable) !== 0,
      totalVFs: rd(regs.totalVFs),
      numVFs: rd(regs.numVFs),
      vfOffset: rd(regs.vfOffset),
      vfStride: rd(regs.vfStride),
      vfDevice: rd(regs.vfDevice),
    };
  }

  return {
    bdf: name,
    segment: addr.segment,
    bus: addr.bus,
    devfn: addr.devfn,
    size,
    vendor,
    device,
    revision: classRevision & 0xff,
    classCode: classRevision >>> 8,
    headerType,
    multifunction,
    subsystemVendor,
    subsystemDevice,
    bridge,
    capabilities,
    extCapabilities,
    pcie,
    type,
    acs,
    pasid,
    ats,
    pri,
    shpc: findCap(PCI_CAP_ID_SHPC) !== null,
    sriov,
  };

  /** The standard list from PCI_CAPABILITY_LIST (__pci_find_next_cap_ttl()), every entry. */
  function walkCapabilities(): PciCapabilityRef[] {
    const out: PciCapabilityRef[] = [];
    const status = readReg(0, commonHeader.status, 'header');
    if (!(status & PCI_STATUS_CAP_LIST)) return out;
    const seen = new Set<number>();
    let from = commonHeader.capabilityList.offset;
    let pos = readReg(0, commonHeader.capabilityList, 'header');
    while (pos !== 0) {
      const what =
        from === commonHeader.capabilityList.offset ? 'PCI_CAPABILITY_LIST' : 'next capability pointer';
      if (pos < PCI_CAP_MIN_OFFSET)
        fail(
          from,
          `${what} ${hex(pos)} points into the header (capabilities start at ${hex(PCI_CAP_MIN_OFFSET)})`,
        );
      pos &= ~3;
      if (seen.has(pos))
        fail(from, `${what} ${hex(pos)} leads back to a capability already listed: the list cycles`);
      seen.add(pos);
      const id = bytes[pos];
      // An ID of 0xff ends the kernel's walk (the read returned all ones).
      if (id === 0xff) break;
      out.push({ id, name: capabilityNames[id] ?? 'unknown', offset: pos });
      from = pos + 1;
      pos = bytes[pos + 1];
    }
    return out;
  }

  /** The extended list from PCI_CFG_SPACE_SIZE (pci_find_next_ext_capability()), every entry. */
  function walkExtCapabilities(): PciCapabilityRef[] {
    const out: PciCapabilityRef[] = [];
    const headerReg: ConfigReg = { offset: 0, size: 4, name: 'extended capability header' };
    let pos = PCI_CFG_SPACE_SIZE;
    let header = readReg(pos, headerReg, 'extended capability');
    // No extended capabilities: all zero, or all ones as pci_cfg_space_size_ext() reads it.
    if (header === 0 || header === 0xffffffff) return out;
    const seen = new Set<number>([pos]);
    while (true) {
      const id = getField(header, configFields.extCapId);
      out.push({
        id,
        name: extCapabilityNames[id] ?? 'unknown',
        offset: pos,
        version: getField(header, configFields.extCapVersion),
      });
      const next = getField(header, configFields.extCapNext);
      if (next === 0) break;
      if (next < PCI_CFG_SPACE_SIZE)
        fail(
          pos,
          `extended capability ${hex(id, 4)} (${out[out.length - 1].name}): next pointer ${hex(next)} points below ${hex(PCI_CFG_SPACE_SIZE)}`,
        );
      if (seen.has(next))
        fail(
          pos,
          `extended capability ${hex(id, 4)} (${out[out.length - 1].name}): next pointer ${hex(next)} leads back to a capability already listed: the list cycles`,
        );
      seen.add(next);
      pos = next;
      header = readReg(pos, headerReg, 'extended capability');
    }
    return out;
  }
}
