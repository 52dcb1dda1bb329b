/*
 * Intel ACPI Component Architecture
 * AML/ASL+ Disassembler version 20200925 (64-bit version)
 * Copyright (c) 2000 - 2020 Intel Corporation
 * 
 * Disassembly of q35-amdvi-pxb.IVRS.dat
 *
 * ACPI Data Table [IVRS]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "IVRS"    [I/O Virtualization Reporting Structure]
[004h 0004   4]                 Table Length : 0000009C
[008h 0008   1]                     Revision : 01
[009h 0009   1]                     Checksum : 85
[00Ah 0010   6]                       Oem ID : "BOCHS "
[010h 0016   8]                 Oem Table ID : "BXPC    "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "BXPC"
[020h 0032   4]        Asl Compiler Revision : 00000001

[024h 0036   4]          Virtualization Info : 00002800
[028h 0040   8]                     Reserved : 0000000000000000

[030h 0048   1]                Subtable Type : 10 [Hardware Definition Block]
[031h 0049   1]                        Flags : D1
[032h 0050   2]                       Length : 006C
[034h 0052   2]                     DeviceId : 0008

[036h 0054   2]            Capability Offset : 0040
[038h 0056   8]                 Base Address : 00000000FED80000
[040h 0064   2]            PCI Segment Group : 0000
[042h 0066   2]          Virtualization Info : 0000
[044h 0068   4]            Feature Reporting : 00000044

[048h 0072   1]                   Entry Type : 02
[049h 0073   2]                    Device ID : 0000
[04Bh 0075   1]                 Data Setting : 00

[04Ch 0076   1]                   Entry Type : 02
[04Dh 0077   2]                    Device ID : 0008
[04Fh 0079   1]                 Data Setting : 00

[050h 0080   1]                   Entry Type : 02
[051h 0081   2]                    Device ID : 0010
[053h 0083   1]                 Data Setting : 00

[054h 0084   1]                   Entry Type : 03
[055h 0085   2]                    Device ID : 0100
[057h 0087   1]                 Data Setting : 00

[058h 0088   1]                   Entry Type : 04
[059h 0089   2]                    Device ID : 01FF
[05Bh 0091   1]                 Data Setting : 00

[05Ch 0092   1]                   Entry Type : 02
[05Dh 0093   2]                    Device ID : 0011
[05Fh 0095   1]                 Data Setting : 00

[060h 0096   1]                   Entry Type : 02
[061h 0097   2]                    Device ID : 0200
[063h 0099   1]                 Data Setting : 00

[064h 0100   1]                   Entry Type : 43
[065h 0101   2]                    Device ID : 0300
[067h 0103   1]                 Data Setting : 00
[068h 0104   1]                     Reserved : 00
[069h 0105   2]        Source Used Device ID : 0300
[06Bh 0107   1]                     Reserved : 00

[06Ch 0108   1]                   Entry Type : 04
[06Dh 0109   2]                    Device ID : 03FF
[06Fh 0111   1]                 Data Setting : 00

[070h 0112   1]                   Entry Type : 02
[071h 0113   2]                    Device ID : 0018
[073h 0115   1]                 Data Setting : 00

[074h 0116   1]                   Entry Type : 02
[075h 0117   2]                    Device ID : 0020
[077h 0119   1]                 Data Setting : 00

[078h 0120   1]                   Entry Type : 02
[079h 0121   2]                    Device ID : 0028
[07Bh 0123   1]                 Data Setting : 00

[07Ch 0124   1]                   Entry Type : 02
[07Dh 0125   2]                    Device ID : 00F8
[07Fh 0127   1]                 Data Setting : 00

[080h 0128   1]                   Entry Type : 02
[081h 0129   2]                    Device ID : 00FA
[083h 0131   1]                 Data Setting : 00

[084h 0132   1]                   Entry Type : 02
[085h 0133   2]                    Device ID : 00FB
[087h 0135   1]                 Data Setting : 00

[088h 0136   1]                   Entry Type : 02
[089h 0137   2]                    Device ID : 8000
[08Bh 0139   1]                 Data Setting : 00

[08Ch 0140   1]                   Entry Type : 03
[08Dh 0141   2]                    Device ID : 8100
[08Fh 0143   1]                 Data Setting : 00

[090h 0144   1]                   Entry Type : 04
[091h 0145   2]                    Device ID : 81FF
[093h 0147   1]                 Data Setting : 00

[094h 0148   1]                   Entry Type : 48
[095h 0149   2]                    Device ID : 0000
[097h 0151   1]                 Data Setting : 00
[098h 0152   1]                       Handle : 00
[099h 0153   2]        Source Used Device ID : 00A0
[09Bh 0155   1]                      Variety : 01

Raw Table Data: Length 156 (0x9C)

    0000: 49 56 52 53 9C 00 00 00 01 85 42 4F 43 48 53 20  // IVRS......BOCHS 
    0010: 42 58 50 43 20 20 20 20 01 00 00 00 42 58 50 43  // BXPC    ....BXPC
    0020: 01 00 00 00 00 28 00 00 00 00 00 00 00 00 00 00  // .....(..........
    0030: 10 D1 6C 00 08 00 40 00 00 00 D8 FE 00 00 00 00  // ..l...@.........
    0040: 00 00 00 00 44 00 00 00 02 00 00 00 02 08 00 00  // ....D...........
    0050: 02 10 00 00 03 00 01 00 04 FF 01 00 02 11 00 00  // ................
    0060: 02 00 02 00 43 00 03 00 00 00 03 00 04 FF 03 00  // ....C...........
    0070: 02 18 00 00 02 20 00 00 02 28 00 00 02 F8 00 00  // ..... ...(......
    0080: 02 FA 00 00 02 FB 00 00 02 00 80 00 03 00 81 00  // ................
    0090: 04 FF 81 00 48 00 00 00 00 A0 00 01              // ....H.......
