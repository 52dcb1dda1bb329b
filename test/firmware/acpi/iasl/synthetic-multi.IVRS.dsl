/*
 * Intel ACPI Component Architecture
 * AML/ASL+ Disassembler version 20200925 (64-bit version)
 * Copyright (c) 2000 - 2020 Intel Corporation
 * 
 * Disassembly of synthetic-multi.IVRS.dat
 *
 * ACPI Data Table [IVRS]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "IVRS"    [I/O Virtualization Reporting Structure]
[004h 0004   4]                 Table Length : 000000B8
[008h 0008   1]                     Revision : 01
[009h 0009   1]                     Checksum : 6A
[00Ah 0010   6]                       Oem ID : "IOMMUL"
[010h 0016   8]                 Oem Table ID : "SYNTHTIC"
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "TEST"
[020h 0032   4]        Asl Compiler Revision : 20261125

[024h 0036   4]          Virtualization Info : 00002800
[028h 0040   8]                     Reserved : 0000000000000000

[030h 0048   1]                Subtable Type : 10 [Hardware Definition Block]
[031h 0049   1]                        Flags : D1
[032h 0050   2]                       Length : 001C
[034h 0052   2]                     DeviceId : 0002

[036h 0054   2]            Capability Offset : 0040
[038h 0056   8]                 Base Address : 00000000FED80000
[040h 0064   2]            PCI Segment Group : 0000
[042h 0066   2]          Virtualization Info : 0000
[044h 0068   4]            Feature Reporting : 00000000

[048h 0072   1]                   Entry Type : 01
[049h 0073   2]                    Device ID : 0000
[04Bh 0075   1]                 Data Setting : 00

[04Ch 0076   1]                Subtable Type : 10 [Hardware Definition Block]
[04Dh 0077   1]                        Flags : D1
[04Eh 0078   2]                       Length : 002C
[050h 0080   2]                     DeviceId : 0008

[052h 0082   2]            Capability Offset : 0040
[054h 0084   8]                 Base Address : 00000000FED81000
[05Ch 0092   2]            PCI Segment Group : 0000
[05Eh 0094   2]          Virtualization Info : 0000
[060h 0096   4]            Feature Reporting : 00000000

[064h 0100   1]                   Entry Type : 02
[065h 0101   2]                    Device ID : 0008
[067h 0103   1]                 Data Setting : 00

[068h 0104   1]                   Entry Type : 03
[069h 0105   2]                    Device ID : 0100
[06Bh 0107   1]                 Data Setting : 00

[06Ch 0108   1]                   Entry Type : 04
[06Dh 0109   2]                    Device ID : 01FF
[06Fh 0111   1]                 Data Setting : 00

[070h 0112   1]                   Entry Type : 42
[071h 0113   2]                    Device ID : 0210
[073h 0115   1]                 Data Setting : 00
[074h 0116   1]                     Reserved : 00
[075h 0117   2]        Source Used Device ID : 0200
[077h 0119   1]                     Reserved : 00

[078h 0120   1]                Subtable Type : 10 [Hardware Definition Block]
[079h 0121   1]                        Flags : D1
[07Ah 0122   2]                       Length : 0020
[07Ch 0124   2]                     DeviceId : 0002

[07Eh 0126   2]            Capability Offset : 0040
[080h 0128   8]                 Base Address : 00000000FED82000
[088h 0136   2]            PCI Segment Group : 0001
[08Ah 0138   2]          Virtualization Info : 0000
[08Ch 0140   4]            Feature Reporting : 00000000

[090h 0144   1]                   Entry Type : 02
[091h 0145   2]                    Device ID : 0010
[093h 0147   1]                 Data Setting : 00

[094h 0148   1]                   Entry Type : 02
[095h 0149   2]                    Device ID : 0002
[097h 0151   1]                 Data Setting : 00

[098h 0152   1]                Subtable Type : 20 [Memory Definition Block]
[099h 0153   1]                        Flags : 01
[09Ah 0154   2]                       Length : 0020
[09Ch 0156   2]                     DeviceId : 0000

[09Eh 0158   2]               Auxiliary Data : 0000
[0A0h 0160   8]                     Reserved : 0000000000000001
[0A8h 0168   8]                Start Address : 0000000000100000
[0B0h 0176   8]                Memory Length : 0000000000001000

Raw Table Data: Length 184 (0xB8)

    0000: 49 56 52 53 B8 00 00 00 01 6A 49 4F 4D 4D 55 4C  // IVRS.....jIOMMUL
    0010: 53 59 4E 54 48 54 49 43 01 00 00 00 54 45 53 54  // SYNTHTIC....TEST
    0020: 25 11 26 20 00 28 00 00 00 00 00 00 00 00 00 00  // %.& .(..........
    0030: 10 D1 1C 00 02 00 40 00 00 00 D8 FE 00 00 00 00  // ......@.........
    0040: 00 00 00 00 00 00 00 00 01 00 00 00 10 D1 2C 00  // ..............,.
    0050: 08 00 40 00 00 10 D8 FE 00 00 00 00 00 00 00 00  // ..@.............
    0060: 00 00 00 00 02 08 00 00 03 00 01 00 04 FF 01 00  // ................
    0070: 42 10 02 00 00 00 02 00 10 D1 20 00 02 00 40 00  // B......... ...@.
    0080: 00 20 D8 FE 00 00 00 00 01 00 00 00 00 00 00 00  // . ..............
    0090: 02 10 00 00 02 02 00 00 20 01 20 00 00 00 00 00  // ........ . .....
    00A0: 01 00 00 00 00 00 00 00 00 00 10 00 00 00 00 00  // ................
    00B0: 00 10 00 00 00 00 00 00                          // ........
