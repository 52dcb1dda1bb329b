// SPDX-License-Identifier: GPL-2.0-only
/**
 * A PCI segment described as JSON, for writing platforms by hand: the root
 * bus number and a flat list of functions, each with its BDF, its kind (which
 * fixes the header type and the PCIe port type), IDs, and for bridges the
 * secondary bus they lead to. The hierarchy follows from `secondary`.
 *
 *   {
 *     "root": 0,
 *     "functions": [
 *       { "bdf": "00:00.0", "type": "conventional", "vendor": "8086", "device": "29c0", "class": "060000" },
 *       { "bdf": "00:06.0", "type": "root-port", "vendor": "1b36", "device": "000c", "secondary": 5,
 *         "acs": { "cap": "0x5f" } },
 *       { "bdf": "05:00.0", "type": "endpoint", "vendor": "1af4", "device": "1044", "driver": "virtio-pci" }
 *     ]
 *   }
 *
 * Numbers that are IDs or register values may be given as hex strings
 * ("8086", "0x8086") or as numbers. Unknown keys are errors, so typos show.
 */
import { z } from 'zod';
import { acsFlagBits, type AcsFlagName } from './acs-regs.js';

/** The kinds of function, as the JSON names them. */
export const pciFunctionTypes = [
  'endpoint',
  'legacy-endpoint',
  'rc-endpoint',
  'rc-event-collector',
  'root-port',
  'upstream-port',
  'downstream-port',
  'pcie-pci-bridge',
  'pci-pcie-bridge',
  'pci-bridge',
  'conventional',
] as const;
export type PciFunctionType = (typeof pciFunctionTypes)[number];

const hexText = (digits: number) => new RegExp(`^(0x)?[0-9a-fA-F]{1,${digits}}$`);

/** A hex string or a number, up to `bits` wide. */
const hexNumber = (bits: 16 | 24, what: string) =>
  z
    .union([
      z
        .number()
        .int()
        .min(0)
        .max(2 ** bits - 1),
      z
        .string()
        .regex(
          hexText(bits / 4),
          `${what}: a ${bits}-bit hex number such as "${bits === 16 ? '8086' : '0c0330'}"`,
        ),
    ])
    .transform((v) => (typeof v === 'number' ? v : parseInt(v, 16)));

const busNumber = z.number().int().min(0).max(0xff);

const acsFlags = z
  .union([
    z.number().int().min(0).max(0xffff),
    z.string().regex(hexText(4), 'a 16-bit hex number such as "0x5f"'),
    z.array(z.enum(Object.keys(acsFlagBits) as [AcsFlagName, ...AcsFlagName[]])),
  ])
  .transform((v) =>
    typeof v === 'number'
      ? v
      : typeof v === 'string'
        ? parseInt(v, 16)
        : v.reduce((mask, name) => mask | acsFlagBits[name], 0),
  );

/** "BB:DD.F" or "SSSS:BB:DD.F". */
export const BDF_RE = /^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([01][0-9a-fA-F])\.([0-7])$/;
/** "DD.F" or "BB:DD.F" (a dma_alias_mask devfn on the function's own bus). */
export const DEVFN_RE = /^(?:([0-9a-fA-F]{2}):)?([01][0-9a-fA-F])\.([0-7])$/;

const bdf = z
  .string()
  .regex(BDF_RE, 'a PCI address "BB:DD.F" or "SSSS:BB:DD.F" (device 00-1f, function 0-7)');

export const PciFunctionSchema = z.strictObject({
  bdf,
  type: z.enum(pciFunctionTypes),
  vendor: hexNumber(16, 'vendor'),
  device: hexNumber(16, 'device'),
  subsystemVendor: hexNumber(16, 'subsystemVendor').optional(),
  subsystemDevice: hexNumber(16, 'subsystemDevice').optional(),
  /** The 24-bit class code, e.g. "0c0330". */
  class: hexNumber(24, 'class').optional(),
  /** The header's multifunction bit on function 0 (default: set when the slot has other functions). */
  multifunction: z.boolean().optional(),
  /** Bridges: the bus behind them. */
  secondary: busNumber.optional(),
  /** Bridges: the last bus number behind them (default: the highest bus below). */
  subordinate: busNumber.optional(),
  /** The ACS extended capability: its capability register and the control value firmware left (default 0). */
  acs: z
    .strictObject({
      cap: acsFlags,
      ctrl: acsFlags.optional(),
      /** Where the capability sits in config space (default 0x148, as in QEMU's pcie-root-port). */
      offset: z.number().int().min(0x100).max(0xffc).optional(),
      /**
       * The control value seen on a running machine (lspci, sysfs), after the kernel's own
       * enabling. Only recorded, for comparison: the model starts from `ctrl`.
       */
      observedCtrl: acsFlags.optional(),
    })
    .optional(),
  /** The PASID capability's Max PASID Width (0: only PASID 0). */
  pasidWidth: z.number().int().min(0).max(20).optional(),
  /** The function has an ATS extended capability (recorded; not modelled yet). */
  ats: z.boolean().optional(),
  /** The function has a PRI (Page Request Interface) extended capability (recorded; not modelled yet). */
  pri: z.boolean().optional(),
  /** A bridge with a Standard Hot-Plug Controller capability (shpchp can drive it). */
  shpc: z.boolean().optional(),
  untrusted: z.boolean().optional(),
  /** A port facing the outside of the machine (Thunderbolt): functions below it are untrusted. */
  externalFacing: z.boolean().optional(),
  /** Extra DMA requester IDs on the function's own bus ("DD.F" or "BB:DD.F"), as pci_add_dma_alias() adds. */
  aliases: z.array(z.string().regex(DEVFN_RE, 'a devfn "DD.F" or "BB:DD.F"')).optional(),
  /** dev_flags to set by hand. */
  flags: z.array(z.enum(['pcie-bridge-alias', 'bridge-xlate-root'])).optional(),
  /** SR-IOV: this function is a VF of the given PF. */
  physfn: bdf.optional(),
  /** The driver that would bind (Device.match_driver). */
  driver: z.string().min(1).optional(),
  /** Free text for people (what QEMU device this is). */
  label: z.string().optional(),
});

export const PciTopologySchema = z.strictObject({
  segment: z.number().int().min(0).max(0xffff).optional(),
  /** The root bus number. */
  root: busNumber,
  /** The last bus number the host bridge decodes (default 0xff). */
  rootSubordinate: busNumber.optional(),
  functions: z.array(PciFunctionSchema),
});

/** The JSON as written. */
export type PciTopologyJson = z.input<typeof PciTopologySchema>;
export type PciFunctionJson = z.input<typeof PciFunctionSchema>;
/** The JSON with numbers parsed. */
export type PciTopologyDesc = z.output<typeof PciTopologySchema>;
export type PciFunctionDesc = z.output<typeof PciFunctionSchema>;

/** What each kind means for the header and the PCI Express capability. */
export interface PciFunctionKind {
  /** PCI_EXP_TYPE_*, or null for a conventional PCI function (no PCIe capability). */
  readonly pcieType: number | null;
  /** A bridge (header type 1), which needs `secondary`. */
  readonly bridge: boolean;
}

export const pciFunctionKinds = {
  endpoint: { pcieType: 0x0, bridge: false },
  'legacy-endpoint': { pcieType: 0x1, bridge: false },
  'rc-endpoint': { pcieType: 0x9, bridge: false },
  'rc-event-collector': { pcieType: 0xa, bridge: false },
  'root-port': { pcieType: 0x4, bridge: true },
  'upstream-port': { pcieType: 0x5, bridge: true },
  'downstream-port': { pcieType: 0x6, bridge: true },
  'pcie-pci-bridge': { pcieType: 0x7, bridge: true },
  'pci-pcie-bridge': { pcieType: 0x8, bridge: true },
  'pci-bridge': { pcieType: null, bridge: true },
  conventional: { pcieType: null, bridge: false },
} as const satisfies Record<PciFunctionType, PciFunctionKind>;
