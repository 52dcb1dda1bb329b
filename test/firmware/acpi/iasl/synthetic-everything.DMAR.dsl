/*
 * Intel ACPI Component Architecture
 * AML/ASL+ Disassembler version 20200925 (64-bit version)
 * Copyright (c) 2000 - 2020 Intel Corporation
 * 
 * Disassembly of synthetic-everything.DMAR.dat
 *
 * ACPI Data Table [DMAR]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "DMAR"    [DMA Remapping table]
[004h 0004   4]                 Table Length : 00000127
[008h 0008   1]                     Revision : 02
[009h 0009   1]                     Checksum : AE
[00Ah 0010   6]                       Oem ID : "IOMMUL"
[010h 0016   8]                 Oem Table ID : "SYNTHTIC"
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "TEST"
[020h 0032   4]        Asl Compiler Revision : 20261125

[024h 0036   1]           Host Address Width : 26
[025h 0037   1]                        Flags : 07
[026h 0038  10]                     Reserved : 00 00 00 00 00 00 00 00 00 00

[030h 0048   2]                Subtable Type : 0000 [Hardware Unit Definition]
[032h 0050   2]                       Length : 0042

[034h 0052   1]                        Flags : 00
[035h 0053   1]                     Reserved : 00
[036h 0054   2]           PCI Segment Number : 0000
[038h 0056   8]        Register Base Address : 00000000FED90000

[040h 0064   1]            Device Scope Type : 01 [PCI Endpoint Device]
[041h 0065   1]                 Entry Length : 08
[042h 0066   2]                     Reserved : 0000
[044h 0068   1]               Enumeration ID : 00
[045h 0069   1]               PCI Bus Number : 00

[046h 0070   2]                     PCI Path : 02,00


[048h 0072   1]            Device Scope Type : 02 [PCI Bridge Device]
[049h 0073   1]                 Entry Length : 08
[04Ah 0074   2]                     Reserved : 0000
[04Ch 0076   1]               Enumeration ID : 00
[04Dh 0077   1]               PCI Bus Number : 00

[04Eh 0078   2]                     PCI Path : 1C,00


[050h 0080   1]            Device Scope Type : 01 [PCI Endpoint Device]
[051h 0081   1]                 Entry Length : 0A
[052h 0082   2]                     Reserved : 0000
[054h 0084   1]               Enumeration ID : 00
[055h 0085   1]               PCI Bus Number : 00

[056h 0086   2]                     PCI Path : 1C,00

[058h 0088   2]                     PCI Path : 00,00


[05Ah 0090   1]            Device Scope Type : 03 [IOAPIC Device]
[05Bh 0091   1]                 Entry Length : 08
[05Ch 0092   2]                     Reserved : 0000
[05Eh 0094   1]               Enumeration ID : 02
[05Fh 0095   1]               PCI Bus Number : F0

[060h 0096   2]                     PCI Path : 1F,00


[062h 0098   1]            Device Scope Type : 04 [Message-capable HPET Device]
[063h 0099   1]                 Entry Length : 08
[064h 0100   2]                     Reserved : 0000
[066h 0102   1]               Enumeration ID : 00
[067h 0103   1]               PCI Bus Number : 00

[068h 0104   2]                     PCI Path : 1F,07


[06Ah 0106   1]            Device Scope Type : 05 [Namespace Device]
[06Bh 0107   1]                 Entry Length : 08
[06Ch 0108   2]                     Reserved : 0000
[06Eh 0110   1]               Enumeration ID : 01
[06Fh 0111   1]               PCI Bus Number : 00

[070h 0112   2]                     PCI Path : 15,00


[072h 0114   2]                Subtable Type : 0000 [Hardware Unit Definition]
[074h 0116   2]                       Length : 0018

[076h 0118   1]                        Flags : 01
[077h 0119   1]                     Reserved : 02
[078h 0120   2]           PCI Segment Number : 0000
[07Ah 0122   8]        Register Base Address : 00000000FED91000

[082h 0130   1]            Device Scope Type : 03 [IOAPIC Device]
[083h 0131   1]                 Entry Length : 08
[084h 0132   2]                     Reserved : 0000
[086h 0134   1]               Enumeration ID : 08
[087h 0135   1]               PCI Bus Number : F0

[088h 0136   2]                     PCI Path : 1F,00


[08Ah 0138   2]                Subtable Type : 0000 [Hardware Unit Definition]
[08Ch 0140   2]                       Length : 0018

[08Eh 0142   1]                        Flags : 00
[08Fh 0143   1]                     Reserved : 00
[090h 0144   2]           PCI Segment Number : 0001
[092h 0146   8]        Register Base Address : 00000000FED92000

[09Ah 0154   1]            Device Scope Type : 01 [PCI Endpoint Device]
[09Bh 0155   1]                 Entry Length : 08
[09Ch 0156   2]                     Reserved : 0000
[09Eh 0158   1]               Enumeration ID : 00
[09Fh 0159   1]               PCI Bus Number : 00

[0A0h 0160   2]                     PCI Path : 00,00


[0A2h 0162   2]                Subtable Type : 0001 [Reserved Memory Region]
[0A4h 0164   2]                       Length : 002A

[0A6h 0166   2]                     Reserved : 0000
[0A8h 0168   2]           PCI Segment Number : 0000
[0AAh 0170   8]                 Base Address : 000000007C000000
[0B2h 0178   8]          End Address (limit) : 000000007C7FFFFF

[0BAh 0186   1]            Device Scope Type : 01 [PCI Endpoint Device]
[0BBh 0187   1]                 Entry Length : 08
[0BCh 0188   2]                     Reserved : 0000
[0BEh 0190   1]               Enumeration ID : 00
[0BFh 0191   1]               PCI Bus Number : 00

[0C0h 0192   2]                     PCI Path : 14,00


[0C2h 0194   1]            Device Scope Type : 01 [PCI Endpoint Device]
[0C3h 0195   1]                 Entry Length : 0A
[0C4h 0196   2]                     Reserved : 0000
[0C6h 0198   1]               Enumeration ID : 00
[0C7h 0199   1]               PCI Bus Number : 00

[0C8h 0200   2]                     PCI Path : 1C,00

[0CAh 0202   2]                     PCI Path : 00,00


[0CCh 0204   2]                Subtable Type : 0002 [Root Port ATS Capability]
[0CEh 0206   2]                       Length : 0008

[0D0h 0208   1]                        Flags : 01
[0D1h 0209   1]                     Reserved : 00
[0D2h 0210   2]           PCI Segment Number : 0000

[0D4h 0212   2]                Subtable Type : 0002 [Root Port ATS Capability]
[0D6h 0214   2]                       Length : 0010

[0D8h 0216   1]                        Flags : 00
[0D9h 0217   1]                     Reserved : 00
[0DAh 0218   2]           PCI Segment Number : 0000

[0DCh 0220   1]            Device Scope Type : 02 [PCI Bridge Device]
[0DDh 0221   1]                 Entry Length : 08
[0DEh 0222   2]                     Reserved : 0000
[0E0h 0224   1]               Enumeration ID : 00
[0E1h 0225   1]               PCI Bus Number : 00

[0E2h 0226   2]                     PCI Path : 1C,00


[0E4h 0228   2]                Subtable Type : 0003 [Remapping Hardware Static Affinity]
[0E6h 0230   2]                       Length : 0014

[0E8h 0232   4]                     Reserved : 00000000
[0ECh 0236   8]                 Base Address : 00000000FED90000
[0F4h 0244   4]             Proximity Domain : 00000001

[0F8h 0248   2]                Subtable Type : 0004 [ACPI Namespace Device Declaration]
[0FAh 0250   2]                       Length : 0017

[0FCh 0252   3]                     Reserved : 000000
[0FFh 0255   1]                Device Number : 01
[100h 0256  15]                  Device Name : "\_SB.PCI0.I2C0"

[10Fh 0271   2]                Subtable Type : 0005 [Unknown Subtable Type]
[111h 0273   2]                       Length : 0010


**** Unknown DMAR subtable type 0x5


Raw Table Data: Length 295 (0x127)

    0000: 44 4D 41 52 27 01 00 00 02 AE 49 4F 4D 4D 55 4C  // DMAR'.....IOMMUL
    0010: 53 59 4E 54 48 54 49 43 01 00 00 00 54 45 53 54  // SYNTHTIC....TEST
    0020: 25 11 26 20 26 07 00 00 00 00 00 00 00 00 00 00  // %.& &...........
    0030: 00 00 42 00 00 00 00 00 00 00 D9 FE 00 00 00 00  // ..B.............
    0040: 01 08 00 00 00 00 02 00 02 08 00 00 00 00 1C 00  // ................
    0050: 01 0A 00 00 00 00 1C 00 00 00 03 08 00 00 02 F0  // ................
    0060: 1F 00 04 08 00 00 00 00 1F 07 05 08 00 00 01 00  // ................
    0070: 15 00 00 00 18 00 01 02 00 00 00 10 D9 FE 00 00  // ................
    0080: 00 00 03 08 00 00 08 F0 1F 00 00 00 18 00 00 00  // ................
    0090: 01 00 00 20 D9 FE 00 00 00 00 01 08 00 00 00 00  // ... ............
    00A0: 00 00 01 00 2A 00 00 00 00 00 00 00 00 7C 00 00  // ....*........|..
    00B0: 00 00 FF FF 7F 7C 00 00 00 00 01 08 00 00 00 00  // .....|..........
    00C0: 14 00 01 0A 00 00 00 00 1C 00 00 00 02 00 08 00  // ................
    00D0: 01 00 00 00 02 00 10 00 00 00 00 00 02 08 00 00  // ................
    00E0: 00 00 1C 00 03 00 14 00 00 00 00 00 00 00 D9 FE  // ................
    00F0: 00 00 00 00 01 00 00 00 04 00 17 00 00 00 00 01  // ................
    0100: 5C 5F 53 42 2E 50 43 49 30 2E 49 32 43 30 00 05  // \_SB.PCI0.I2C0..
    0110: 00 10 00 01 00 00 00 01 08 00 00 00 00 02 00 07  // ................
    0120: 00 08 00 11 22 33 44                             // ...."3D
