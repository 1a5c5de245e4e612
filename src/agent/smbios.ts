import { MalformedPacketError } from '../lib/errors.ts'
import { chassisTypeName, ipmiInterfaceName, memoryTypeName } from './smbios-names.ts'

// Pure SMBIOS decoder (DMTF DSP0134 3.7.0) for the two files Linux exposes in
// /sys/firmware/dmi/tables: the entry point and the structure table ("DMI"). No fs here.

/** What the entry point says about the table that follows it. */
export type SmbiosEntryPoint = {
  major: number
  minor: number
  /** 2.1: exact table length; 3.0: maximum table size. */
  tableLength: number
  /** 2.1 only: the number of structures; undefined for 3.0 (the table ends at type 127). */
  structureCount: number | undefined
}

/** One structure: the formatted area (header included) and its string set (1-based numbering). */
export type SmbiosStructure = { type: number, handle: number, formatted: Buffer, strings: string[] }

/** The structures the agent reports, decoded. Strings absent in the table are ''. */
export type SmbiosInfo = {
  version: string
  bios: { vendor: string, version: string, date: string } | undefined
  system: {
    uuid: string, manufacturer: string, product: string, version: string, serial: string, sku: string, family: string
  } | undefined
  baseboard: { manufacturer: string, product: string, version: string, serial: string, assetTag: string } | undefined
  chassis: { manufacturer: string, type: string, version: string, serial: string, assetTag: string } | undefined
  processors: Array<{ socket: string, manufacturer: string, version: string, populated: boolean, cores: number, threads: number }>
  memoryDevices: Array<{
    locator: string, bank: string, sizeBytes: number, speedMts: number, type: string, manufacturer: string, serial: string, partNumber: string
  }>
  ipmi: { interfaceType: string, specVersion: string, baseAddress: bigint, addressSpace: 'io' | 'memory' } | undefined
}

const MIB = 1024 * 1024

/**
 * Decodes /sys/firmware/dmi/tables/smbios_entry_point.
 *
 * DSP0134 §5.2.1 (32-bit, "_SM_"):  00 anchor(4) 04 checksum 05 length 06 major 07 minor
 *   08 max structure size(2) 0A ep revision 0B formatted(5) 10 "_DMI_" 15 checksum
 *   16 table length(2) 18 table address(4) 1C structure count(2) 1E BCD revision
 * DSP0134 §5.2.2 (64-bit, "_SM3_"): 00 anchor(5) 05 checksum 06 length 07 major 08 minor
 *   09 docrev 0A ep revision 0B reserved 0C table max size(4) 10 table address(8)
 */
export function decodeEntryPoint (buf: Buffer): SmbiosEntryPoint {
  if (buf.length >= 5 && buf.toString('latin1', 0, 5) === '_SM3_') {
    need(buf, 0x18, 'SMBIOS 3.0 entry point')
    const length = buf[0x06] as number
    if (length < 0x18) throw new MalformedPacketError(`SMBIOS 3.0 entry point length ${length} < 24`, 0x06)
    need(buf, length, 'SMBIOS 3.0 entry point')
    checksum(buf, 0, length, 'SMBIOS 3.0 entry point')
    return { major: buf[0x07] as number, minor: buf[0x08] as number, tableLength: buf.readUInt32LE(0x0c), structureCount: undefined }
  }
  if (buf.length >= 4 && buf.toString('latin1', 0, 4) === '_SM_') {
    need(buf, 0x1f, 'SMBIOS 2.1 entry point')
    const length = buf[0x05] as number
    if (length < 0x1f) throw new MalformedPacketError(`SMBIOS 2.1 entry point length ${length} < 31`, 0x05)
    need(buf, length, 'SMBIOS 2.1 entry point')
    checksum(buf, 0, length, 'SMBIOS 2.1 entry point')
    if (buf.toString('latin1', 0x10, 0x15) !== '_DMI_') throw new MalformedPacketError('no _DMI_ intermediate anchor', 0x10)
    checksum(buf, 0x10, 0x0f, 'SMBIOS intermediate entry point')
    return {
      major: buf[0x06] as number,
      minor: buf[0x07] as number,
      tableLength: buf.readUInt16LE(0x16),
      structureCount: buf.readUInt16LE(0x1c)
    }
  }
  throw new MalformedPacketError('no _SM_ or _SM3_ anchor', 0)
}

/**
 * Splits the structure table. DSP0134 §6.1.2: each structure is a 4-byte header (type, length,
 * handle), `length` bytes of formatted area in all, then a string set of NUL-terminated strings
 * ended by one more NUL (two NULs when there are no strings). §7.45: type 127 ends the table.
 */
export function decodeStructures (table: Buffer, entry: SmbiosEntryPoint): SmbiosStructure[] {
  const end = entry.structureCount === undefined ? Math.min(table.length, entry.tableLength) : entry.tableLength
  if (table.length < end) throw new MalformedPacketError(`table is ${table.length} bytes, entry point says ${end}`, table.length)
  const out: SmbiosStructure[] = []
  let at = 0
  for (;;) {
    if (entry.structureCount !== undefined && out.length === entry.structureCount) return out
    if (at + 4 > end) throw new MalformedPacketError('truncated structure header (no end-of-table structure)', at)
    const type = table[at] as number
    const length = table[at + 1] as number
    if (length < 4) throw new MalformedPacketError(`structure length ${length} < 4`, at + 1)
    if (at + length > end) throw new MalformedPacketError(`structure type ${type} overruns the table`, at)
    const formatted = table.subarray(at, at + length)
    const { strings, next } = stringSet(table, at + length, end)
    out.push({ type, handle: table.readUInt16LE(at + 2), formatted, strings })
    at = next
    if (type === 127) return out
  }
}

/** Decodes both files into the facts the agent reports. */
export function decodeSmbios (entryPointFile: Buffer, tableFile: Buffer): SmbiosInfo {
  const entry = decodeEntryPoint(entryPointFile)
  const info: SmbiosInfo = {
    version: `${entry.major}.${entry.minor}`,
    bios: undefined,
    system: undefined,
    baseboard: undefined,
    chassis: undefined,
    processors: [],
    memoryDevices: [],
    ipmi: undefined
  }
  for (const s of decodeStructures(tableFile, entry)) {
    const f = new Fields(s)
    switch (s.type) {
      case 0: info.bios ??= { vendor: f.str(0x04), version: f.str(0x05), date: f.str(0x08) }; break
      case 1: info.system ??= decodeSystem(f, entry); break
      case 2: info.baseboard ??= { manufacturer: f.str(0x04), product: f.str(0x05), version: f.str(0x06), serial: f.str(0x07), assetTag: f.str(0x08) }; break
      case 3: info.chassis ??= { manufacturer: f.str(0x04), type: chassisTypeName(f.u8(0x05) ?? 2), version: f.str(0x06), serial: f.str(0x07), assetTag: f.str(0x08) }; break
      case 4: info.processors.push(decodeProcessor(f)); break
      case 17: { const d = decodeMemoryDevice(f); if (d !== undefined) info.memoryDevices.push(d); break }
      case 38: info.ipmi ??= decodeIpmi(f); break
      default: break
    }
  }
  return info
}

/** DSP0134 §7.2 System Information (type 1); §7.2.1 UUID byte order. */
function decodeSystem (f: Fields, entry: SmbiosEntryPoint): NonNullable<SmbiosInfo['system']> {
  return {
    manufacturer: f.str(0x04),
    product: f.str(0x05),
    version: f.str(0x06),
    serial: f.str(0x07),
    uuid: f.uuid(0x08, entry.major > 2 || (entry.major === 2 && entry.minor >= 6)),
    sku: f.str(0x19),
    family: f.str(0x1a)
  }
}

/** DSP0134 §7.5 Processor Information (type 4): status bit 6 = socket populated; 3.0 counts at 2Ah/2Eh. */
function decodeProcessor (f: Fields): SmbiosInfo['processors'][number] {
  const cores = f.u8(0x23) ?? 0
  const threads = f.u8(0x25) ?? 0
  return {
    socket: f.str(0x04),
    manufacturer: f.str(0x07),
    version: f.str(0x10),
    populated: ((f.u8(0x18) ?? 0) & 0x40) !== 0,
    cores: cores === 0xff ? (f.u16(0x2a) ?? cores) : cores,
    threads: threads === 0xff ? (f.u16(0x2e) ?? threads) : threads
  }
}

/**
 * DSP0134 §7.18 Memory Device (type 17). Size at 0Ch: 0 = empty slot, FFFFh = unknown, bit 15 set
 * = KiB units, 7FFFh = see Extended Size at 1Ch (bits 30:0, MiB). Speed at 15h in MT/s; FFFFh =
 * see Extended Speed at 54h (3.3+).
 */
function decodeMemoryDevice (f: Fields): SmbiosInfo['memoryDevices'][number] | undefined {
  const size = f.u16(0x0c) ?? 0
  if (size === 0) return undefined
  let sizeBytes = 0
  if (size === 0x7fff) sizeBytes = ((f.u32(0x1c) ?? 0) & 0x7fffffff) * MIB
  else if (size !== 0xffff) sizeBytes = (size & 0x8000) !== 0 ? (size & 0x7fff) * 1024 : size * MIB
  const speed = f.u16(0x15) ?? 0
  return {
    locator: f.str(0x10),
    bank: f.str(0x11),
    sizeBytes,
    speedMts: speed === 0xffff ? ((f.u32(0x54) ?? 0) & 0x7fffffff) : speed,
    type: memoryTypeName(f.u8(0x12) ?? 2),
    manufacturer: f.str(0x17),
    serial: f.str(0x18),
    partNumber: f.str(0x1a)
  }
}

/** DSP0134 §7.39 IPMI Device Information (type 38): base address bit 0 set = I/O space. */
function decodeIpmi (f: Fields): SmbiosInfo['ipmi'] {
  const rev = f.u8(0x05) ?? 0
  const base = f.u64(0x08) ?? 0n
  return {
    interfaceType: ipmiInterfaceName(f.u8(0x04) ?? 0),
    specVersion: `${rev >> 4}.${rev & 0x0f}`,
    baseAddress: base & ~1n,
    addressSpace: (base & 1n) === 1n ? 'io' : 'memory'
  }
}

/** Field access within one formatted area: a field past `length` belongs to a later version and reads as undefined. */
class Fields {
  readonly #s: SmbiosStructure
  constructor (s: SmbiosStructure) { this.#s = s }

  #has (off: number, n: number): boolean { return off + n <= this.#s.formatted.length }
  u8 (off: number): number | undefined { return this.#has(off, 1) ? this.#s.formatted[off] : undefined }
  u16 (off: number): number | undefined { return this.#has(off, 2) ? this.#s.formatted.readUInt16LE(off) : undefined }
  u32 (off: number): number | undefined { return this.#has(off, 4) ? this.#s.formatted.readUInt32LE(off) : undefined }
  u64 (off: number): bigint | undefined { return this.#has(off, 8) ? this.#s.formatted.readBigUInt64LE(off) : undefined }

  /** DSP0134 §6.1.3: a string field holds a 1-based index into the string set; 0 means none. */
  str (off: number): string {
    const n = this.u8(off) ?? 0
    return n === 0 ? '' : (this.#s.strings[n - 1] ?? '')
  }

  /**
   * DSP0134 §7.2.1: since 2.6 the first three UUID fields are little-endian (as RFC 4122 fields
   * encoded by EFI); all FFh = not present, all 00h = not set.
   */
  uuid (off: number, littleEndianFields: boolean): string {
    if (!this.#has(off, 16)) return ''
    const raw = this.#s.formatted.subarray(off, off + 16)
    if (raw.every((b) => b === 0xff) || raw.every((b) => b === 0)) return ''
    const b = Buffer.from(raw)
    if (littleEndianFields) {
      b.subarray(0, 4).reverse()
      b.subarray(4, 6).reverse()
      b.subarray(6, 8).reverse()
    }
    const h = b.toString('hex')
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }
}

function stringSet (table: Buffer, start: number, end: number): { strings: string[], next: number } {
  const strings: string[] = []
  let at = start
  for (;;) {
    const nul = table.indexOf(0, at)
    if (nul < 0 || nul >= end) throw new MalformedPacketError('unterminated string set', at)
    if (nul === at) {
      // An empty string ends the set; with no strings at all the set is two NULs (§6.1.3).
      const next = strings.length === 0 ? at + 2 : at + 1
      if (next > end) throw new MalformedPacketError('unterminated string set', at)
      if (strings.length === 0 && table[at + 1] !== 0) throw new MalformedPacketError('string set of no strings must be two NULs', at + 1)
      return { strings, next }
    }
    strings.push(table.toString('latin1', at, nul).trim())
    at = nul + 1
  }
}

function need (buf: Buffer, n: number, what: string): void {
  if (buf.length < n) throw new MalformedPacketError(`truncated ${what}: need ${n} bytes, have ${buf.length}`, buf.length)
}

function checksum (buf: Buffer, start: number, length: number, what: string): void {
  let sum = 0
  for (let i = start; i < start + length; i++) sum = (sum + (buf[i] as number)) & 0xff
  if (sum !== 0) throw new MalformedPacketError(`${what} checksum does not sum to zero`, start)
}
