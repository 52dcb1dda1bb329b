/*
 * Intel ACPI Component Architecture
 * AML/ASL+ Disassembler version 20200925 (64-bit version)
 * Copyright (c) 2000 - 2020 Intel Corporation
 * 
 * Disassembly of q35-virtio-iommu-pxb.VIOT.dat
 *
 * ACPI Data Table [VIOT]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "VIOT"    
[004h 0004   4]                 Table Length : 00000070
[008h 0008   1]                     Revision : 00
[009h 0009   1]                     Checksum : 81
[00Ah 0010   6]                       Oem ID : "BOCHS "
[010h 0016   8]                 Oem Table ID : "BXPC    "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "BXPC"
[020h 0032   4]        Asl Compiler Revision : 00000001


**** Unknown ACPI table signature [VIOT]


Raw Table Data: Length 112 (0x70)

    0000: 56 49 4F 54 70 00 00 00 00 81 42 4F 43 48 53 20  // VIOTp.....BOCHS 
    0010: 42 58 50 43 20 20 20 20 01 00 00 00 42 58 50 43  // BXPC    ....BXPC
    0020: 01 00 00 00 03 00 30 00 00 00 00 00 00 00 00 00  // ......0.........
    0030: 03 00 10 00 00 00 08 00 00 00 00 00 00 00 00 00  // ................
    0040: 01 00 18 00 00 00 00 00 00 00 00 00 00 00 FF 03  // ................
    0050: 30 00 00 00 00 00 00 00 01 00 18 00 00 80 00 00  // 0...............
    0060: 00 00 00 00 00 80 FF 81 30 00 00 00 00 00 00 00  // ........0.......
