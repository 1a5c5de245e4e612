// Names for SMBIOS enumerated fields (DMTF DSP0134 3.7.0), kept apart from the decoder so that
// smbios.ts stays about layout.

/** DSP0134 §7.4.1 System Enclosure or Chassis Types (bits 6:0 of type 3 offset 05h). */
const CHASSIS_TYPES: readonly string[] = [
  '', 'Other', 'Unknown', 'Desktop', 'Low Profile Desktop', 'Pizza Box', 'Mini Tower', 'Tower',
  'Portable', 'Laptop', 'Notebook', 'Hand Held', 'Docking Station', 'All in One', 'Sub Notebook',
  'Space-saving', 'Lunch Box', 'Main Server Chassis', 'Expansion Chassis', 'SubChassis',
  'Bus Expansion Chassis', 'Peripheral Chassis', 'RAID Chassis', 'Rack Mount Chassis',
  'Sealed-case PC', 'Multi-system chassis', 'Compact PCI', 'Advanced TCA', 'Blade',
  'Blade Enclosure', 'Tablet', 'Convertible', 'Detachable', 'IoT Gateway', 'Embedded PC',
  'Mini PC', 'Stick PC'
]

/** DSP0134 §7.18.2 Memory Device — Type (type 17 offset 12h). */
const MEMORY_TYPES: Readonly<Record<number, string>> = {
  0x01: 'Other',
  0x02: 'Unknown',
  0x03: 'DRAM',
  0x04: 'EDRAM',
  0x05: 'VRAM',
  0x06: 'SRAM',
  0x07: 'RAM',
  0x08: 'ROM',
  0x09: 'FLASH',
  0x0a: 'EEPROM',
  0x0b: 'FEPROM',
  0x0c: 'EPROM',
  0x0d: 'CDRAM',
  0x0e: '3DRAM',
  0x0f: 'SDRAM',
  0x10: 'SGRAM',
  0x11: 'RDRAM',
  0x12: 'DDR',
  0x13: 'DDR2',
  0x14: 'DDR2 FB-DIMM',
  0x18: 'DDR3',
  0x19: 'FBD2',
  0x1a: 'DDR4',
  0x1b: 'LPDDR',
  0x1c: 'LPDDR2',
  0x1d: 'LPDDR3',
  0x1e: 'LPDDR4',
  0x1f: 'Logical non-volatile device',
  0x20: 'HBM',
  0x21: 'HBM2',
  0x22: 'DDR5',
  0x23: 'LPDDR5',
  0x24: 'HBM3'
}

/** DSP0134 §7.39.1 IPMI Device Information — BMC Interface Type (type 38 offset 04h). */
const IPMI_INTERFACES: readonly string[] = ['Unknown', 'KCS', 'SMIC', 'BT', 'SSIF']

/** The chassis type name for the byte at type 3 offset 05h (bit 7 is the lock flag). */
export function chassisTypeName (raw: number): string {
  const code = raw & 0x7f
  return CHASSIS_TYPES[code] ?? `Unknown (0x${code.toString(16)})`
}

/** The memory type name for type 17 offset 12h. */
export function memoryTypeName (code: number): string {
  return MEMORY_TYPES[code] ?? `Unknown (0x${code.toString(16)})`
}

/** The IPMI interface name for type 38 offset 04h. */
export function ipmiInterfaceName (code: number): string {
  return IPMI_INTERFACES[code] ?? `Unknown (0x${code.toString(16)})`
}
