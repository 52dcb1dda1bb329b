/*
 * Intel ACPI Component Architecture
 * AML/ASL+ Disassembler version 20200925 (64-bit version)
 * Copyright (c) 2000 - 2020 Intel Corporation
 * 
 * Disassembly of synthetic-types.IVRS.dat
 *
 * ACPI Data Table [IVRS]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "IVRS"    [I/O Virtualization Reporting Structure]
[004h 0004   4]                 Table Length : 0000020F
[008h 0008   1]                     Revision : 02
[009h 0009   1]                     Checksum : A5
[00Ah 0010   6]                       Oem ID : "IOMMUL"
[010h 0016   8]                 Oem Table ID : "SYNTHTIC"
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "TEST"
[020h 0032   4]        Asl Compiler Revision : 20261125

[024h 0036   4]          Virtualization Info : 00603043
[028h 0040   8]                     Reserved : 0000000000000000

[030h 0048   1]                Subtable Type : 10 [Hardware Definition Block]
[031h 0049   1]                        Flags : B0
[032h 0050   2]                       Length : 0020
[034h 0052   2]                     DeviceId : 0002

[036h 0054   2]            Capability Offset : 0040
[038h 0056   8]                 Base Address : 00000000FED80000
[040h 0064   2]            PCI Segment Group : 0000
[042h 0066   2]          Virtualization Info : 0000
[044h 0068   4]            Feature Reporting : 80048F6E

[048h 0072   1]                   Entry Type : 01
[049h 0073   2]                    Device ID : 0000
[04Bh 0075   1]                 Data Setting : 00

[04Ch 0076   1]                   Entry Type : 02
[04Dh 0077   2]                    Device ID : 0002
[04Fh 0079   1]                 Data Setting : 00

[050h 0080   1]                Subtable Type : 11 [Hardware Definition Block]
[051h 0081   1]                        Flags : 90
[052h 0082   2]                       Length : 007C
[054h 0084   2]                     DeviceId : 0002

[056h 0086   2]            Capability Offset : 0040
[058h 0088   8]                 Base Address : 00000000FED80000
[060h 0096   2]            PCI Segment Group : 0000
[062h 0098   2]          Virtualization Info : 1F05
[064h 0100   4]                   Attributes : 00000040
[068h 0104   8]                    EFR Image : 246577EFA2254AFA
[070h 0112   8]                     Reserved : 0000000000000001

[078h 0120   1]                   Entry Type : 02
[079h 0121   2]                    Device ID : 0000
[07Bh 0123   1]                 Data Setting : D7

[07Ch 0124   1]                   Entry Type : 03
[07Dh 0125   2]                    Device ID : 0008
[07Fh 0127   1]                 Data Setting : 00

[080h 0128   1]                   Entry Type : 04
[081h 0129   2]                    Device ID : 0010
[083h 0131   1]                 Data Setting : 00

[084h 0132   1]                   Entry Type : 42
[085h 0133   2]                    Device ID : 0100
[087h 0135   1]                 Data Setting : 00
[088h 0136   1]                     Reserved : 00
[089h 0137   2]        Source Used Device ID : 00F8
[08Bh 0139   1]                     Reserved : 00

[08Ch 0140   1]                   Entry Type : 43
[08Dh 0141   2]                    Device ID : 0200
[08Fh 0143   1]                 Data Setting : 00
[090h 0144   1]                     Reserved : 00
[091h 0145   2]        Source Used Device ID : 0018
[093h 0147   1]                     Reserved : 00

[094h 0148   1]                   Entry Type : 04
[095h 0149   2]                    Device ID : 02FF
[097h 0151   1]                 Data Setting : 00

[098h 0152   1]                   Entry Type : 46
[099h 0153   2]                    Device ID : 0020
[09Bh 0155   1]                 Data Setting : 00
[09Ch 0156   4]                Extended Data : 80000000

[0A0h 0160   1]                   Entry Type : 47
[0A1h 0161   2]                    Device ID : 0300
[0A3h 0163   1]                 Data Setting : 00
[0A4h 0164   4]                Extended Data : 00000000

[0A8h 0168   1]                   Entry Type : 04
[0A9h 0169   2]                    Device ID : 030F
[0ABh 0171   1]                 Data Setting : 00

[0ACh 0172   1]                   Entry Type : 48
[0ADh 0173   2]                    Device ID : 0000
[0AFh 0175   1]                 Data Setting : D7
[0B0h 0176   1]                       Handle : 21
[0B1h 0177   2]        Source Used Device ID : 00A0
[0B3h 0179   1]                      Variety : 01

[0B4h 0180   1]                   Entry Type : 48
[0B5h 0181   2]                    Device ID : 0000
[0B7h 0183   1]                 Data Setting : 00
[0B8h 0184   1]                       Handle : 00
[0B9h 0185   2]        Source Used Device ID : 00A5
[0BBh 0187   1]                      Variety : 02

[0BCh 0188   1]                   Entry Type : 00
[0BDh 0189   2]                    Device ID : 0000
[0BFh 0191   1]                 Data Setting : 00

[0C0h 0192   1]                   Entry Type : 40
[0C1h 0193   2]                    Device ID : 0000
[0C3h 0195   1]                 Data Setting : 00
[0C4h 0196   4]                Extended Data : 00000000

[0C8h 0200   1]                   Entry Type : 02
[0C9h 0201   2]                    Device ID : 0002
[0CBh 0203   1]                 Data Setting : 00

[0CCh 0204   1]                Subtable Type : 40 [Unknown Subtable Type]
[0CDh 0205   1]                        Flags : 90
[0CEh 0206   2]                       Length : 00C3
[0D0h 0208   2]                     DeviceId : 0002

**** Unknown IVRS subtable type 0x40

[18Fh 0399   1]                Subtable Type : 20 [Memory Definition Block]
[190h 0400   1]                        Flags : 07
[191h 0401   2]                       Length : 0020
[193h 0403   2]                     DeviceId : 0000

[195h 0405   2]               Auxiliary Data : 0000
[197h 0407   8]                     Reserved : 0000000000000000
[19Fh 0415   8]                Start Address : 00000000000E0000
[1A7h 0423   8]                Memory Length : 0000000000001000

[1AFh 0431   1]                Subtable Type : 21 [Memory Definition Block]
[1B0h 0432   1]                        Flags : 08
[1B1h 0433   2]                       Length : 0020
[1B3h 0435   2]                     DeviceId : 0020

[1B5h 0437   2]               Auxiliary Data : 0000
[1B7h 0439   8]                     Reserved : 0000000000000000
[1BFh 0447   8]                Start Address : 0000000000ABC123
[1C7h 0455   8]                Memory Length : 0000000000000800

[1CFh 0463   1]                Subtable Type : 22 [Memory Definition Block]
[1D0h 0464   1]                        Flags : 05
[1D1h 0465   2]                       Length : 0020
[1D3h 0467   2]                     DeviceId : 0100

[1D5h 0469   2]               Auxiliary Data : 01FF
[1D7h 0471   8]                     Reserved : 0000000000000000
[1DFh 0479   8]                Start Address : 0000000000001000
[1E7h 0487   8]                Memory Length : 0000000000002000

[1EFh 0495   1]                Subtable Type : 22 [Memory Definition Block]
[1F0h 0496   1]                        Flags : 02
[1F1h 0497   2]                       Length : 0020
[1F3h 0499   2]                     DeviceId : 0300

[1F5h 0501   2]               Auxiliary Data : 030F
[1F7h 0503   8]                     Reserved : 0000000000000000
[1FFh 0511   8]                Start Address : 0000000000009000
[207h 0519   8]                Memory Length : 0000000000001000

Raw Table Data: Length 527 (0x20F)

    0000: 49 56 52 53 0F 02 00 00 02 A5 49 4F 4D 4D 55 4C  // IVRS......IOMMUL
    0010: 53 59 4E 54 48 54 49 43 01 00 00 00 54 45 53 54  // SYNTHTIC....TEST
    0020: 25 11 26 20 43 30 60 00 00 00 00 00 00 00 00 00  // %.& C0`.........
    0030: 10 B0 20 00 02 00 40 00 00 00 D8 FE 00 00 00 00  // .. ...@.........
    0040: 00 00 00 00 6E 8F 04 80 01 00 00 00 02 02 00 00  // ....n...........
    0050: 11 90 7C 00 02 00 40 00 00 00 D8 FE 00 00 00 00  // ..|...@.........
    0060: 00 00 05 1F 40 00 00 00 FA 4A 25 A2 EF 77 65 24  // ....@....J%..we$
    0070: 01 00 00 00 00 00 00 00 02 00 00 D7 03 08 00 00  // ................
    0080: 04 10 00 00 42 00 01 00 00 F8 00 00 43 00 02 00  // ....B.......C...
    0090: 00 18 00 00 04 FF 02 00 46 20 00 00 00 00 00 80  // ........F ......
    00A0: 47 00 03 00 00 00 00 00 04 0F 03 00 48 00 00 D7  // G...........H...
    00B0: 21 A0 00 01 48 00 00 00 00 A5 00 02 00 00 00 00  // !...H...........
    00C0: 40 00 00 00 00 00 00 00 02 02 00 00 40 90 C3 00  // @...........@...
    00D0: 02 00 40 00 00 00 D8 FE 00 00 00 00 00 00 05 1F  // ..@.............
    00E0: 40 00 00 00 FA 4A 25 A2 EF 77 65 24 01 00 00 00  // @....J%..we$....
    00F0: 00 00 00 00 02 00 00 D7 03 08 00 00 04 10 00 00  // ................
    0100: 42 00 01 00 00 F8 00 00 43 00 02 00 00 18 00 00  // B.......C.......
    0110: 04 FF 02 00 46 20 00 00 00 00 00 80 47 00 03 00  // ....F ......G...
    0120: 00 00 00 00 04 0F 03 00 48 00 00 D7 21 A0 00 01  // ........H...!...
    0130: 48 00 00 00 00 A5 00 02 00 00 00 00 40 00 00 00  // H...........@...
    0140: 00 00 00 00 02 02 00 00 F0 A6 00 40 41 4D 44 49  // ...........@AMDI
    0150: 30 30 32 30 50 4E 50 30 43 30 31 00 02 04 49 44  // 0020PNP0C01...ID
    0160: 30 30 F0 A7 00 00 41 4D 44 49 30 30 33 30 00 00  // 00....AMDI0030..
    0170: 00 00 00 00 00 00 01 01 05 F0 A8 00 00 41 4D 44  // .............AMD
    0180: 49 30 30 34 30 00 00 00 00 00 00 00 00 00 00 20  // I0040.......... 
    0190: 07 20 00 00 00 00 00 00 00 00 00 00 00 00 00 00  // . ..............
    01A0: 00 0E 00 00 00 00 00 00 10 00 00 00 00 00 00 21  // ...............!
    01B0: 08 20 00 20 00 00 00 00 00 00 00 00 00 00 00 23  // . . ...........#
    01C0: C1 AB 00 00 00 00 00 00 08 00 00 00 00 00 00 22  // ..............."
    01D0: 05 20 00 00 01 FF 01 00 00 00 00 00 00 00 00 00  // . ..............
    01E0: 10 00 00 00 00 00 00 00 20 00 00 00 00 00 00 22  // ........ ......"
    01F0: 02 20 00 00 03 0F 03 00 00 00 00 00 00 00 00 00  // . ..............
    0200: 90 00 00 00 00 00 00 00 10 00 00 00 00 00 00     // ...............
