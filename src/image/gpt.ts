import { crc32 } from 'node:zlib'
import { CodedError, MalformedPacketError } from '../lib/errors.ts'
import { guidFromBytes, guidToBytes, isGuid } from './guid.ts'

/**
 * A GUID Partition Table writer and reader, pure: Buffers in, Buffers out, no files. It serves the
 * image build (boot-assets/build-image.sh) and, later, the installer and the node, which rewrite
 * the tables for the real disk size. Section numbers are those of the UEFI Specification 2.10,
 * chapter 5 "GUID Partition Table (GPT) Disk Layout". 512-byte logical blocks only (the image's
 * sector size; 4Kn disks would need their own image).
 *
 *   LBA 0          protective MBR (§5.2.3)
 *   LBA 1          primary GPT header (§5.3.2)
 *   LBA 2..33      primary partition entry array: 128 entries × 128 bytes (§5.3.3)
 *   LBA 34..N-34   usable: the partitions
 *   LBA N-33..N-2  backup partition entry array (same bytes as the primary one)
 *   LBA N-1        backup GPT header (MyLBA and AlternateLBA swapped, its own CRC)
 */

/** Bytes per logical block. */
export const SECTOR_SIZE = 512
/** Entries in the array (§5.3.2: the array must reserve at least 16,384 bytes). */
export const ENTRY_COUNT = 128
/** Bytes per entry (§5.3.3: 128 × 2^n; 128 is what every tool writes). */
export const ENTRY_SIZE = 128
/** Sectors the entry array takes: 128 × 128 / 512 = 32. */
export const ENTRY_SECTORS = (ENTRY_COUNT * ENTRY_SIZE) / SECTOR_SIZE
/** First usable LBA: PMBR, header, entry array. */
export const FIRST_USABLE_LBA = 2 + ENTRY_SECTORS
/** Bytes of LBA 0..33: what an installer writes last (PMBR + primary header + entries). */
export const PRIMARY_TABLE_BYTES = FIRST_USABLE_LBA * SECTOR_SIZE
/** Bytes of LBA N-33..N-1: the backup entries and header at the end of the disk. */
export const BACKUP_TABLE_BYTES = (ENTRY_SECTORS + 1) * SECTOR_SIZE

const SIGNATURE = 'EFI PART'
const REVISION = 0x00010000 // §5.3.2: revision 1.0
const HEADER_SIZE = 92
const NAME_UNITS = 36 // §5.3.3: PartitionName, 72 bytes of UTF-16LE

/** Common attribute bits (§5.3.3 Table 5.8). */
export const GptAttribute = { required: 1n << 0n, noBlockIo: 1n << 1n, legacyBiosBootable: 1n << 2n } as const

/** One partition: entry N of the array is `partitions[N-1]`; LBAs are inclusive. */
export type GptPartition = {
  readonly name: string
  readonly typeGuid: string
  readonly partGuid: string
  readonly firstLba: number
  readonly lastLba: number
  readonly attributes?: bigint
}

/** A whole disk's table: its size in sectors, its GUID and its partitions. */
export type GptDisk = { readonly sectors: number, readonly diskGuid: string, readonly partitions: readonly GptPartition[] }

/** The encoded tables, each placed at a fixed byte offset of the disk. */
export type GptTables = {
  /** LBA 0: 512 bytes. */
  readonly protectiveMbr: Buffer
  /** LBA 1..33: header + entry array, at byte 512. */
  readonly primary: Buffer
  /** LBA N-33..N-1: entry array + header, at byte `backupOffset`. */
  readonly backup: Buffer
  readonly backupOffset: number
}

/** The last LBA that partitions may use on a disk of `sectors` sectors. */
export function lastUsableLba (sectors: number): number {
  return sectors - 2 - ENTRY_SECTORS
}

function fail (message: string): never {
  throw new CodedError('ERR_INVALID_ARG_VALUE', `GPT: ${message}`)
}

function validate (disk: GptDisk): void {
  if (!Number.isSafeInteger(disk.sectors) || disk.sectors < FIRST_USABLE_LBA + 1 + ENTRY_SECTORS + 1) fail(`a disk of ${disk.sectors} sectors is too small`)
  if (!isGuid(disk.diskGuid)) fail(`disk GUID ${disk.diskGuid} is not a GUID`)
  if (disk.partitions.length > ENTRY_COUNT) fail(`${disk.partitions.length} partitions, at most ${ENTRY_COUNT}`)
  const last = lastUsableLba(disk.sectors)
  const sorted = [...disk.partitions].sort((a, b) => a.firstLba - b.firstLba)
  const guids = new Set<string>([disk.diskGuid.toUpperCase()])
  for (const [i, p] of sorted.entries()) {
    if (!isGuid(p.typeGuid) || !isGuid(p.partGuid)) fail(`partition ${p.name}: bad GUID`)
    if (/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(p.typeGuid)) fail(`partition ${p.name}: the zero type GUID marks an unused entry`)
    if (guids.has(p.partGuid.toUpperCase())) fail(`partition ${p.name}: GUID ${p.partGuid} is not unique`)
    guids.add(p.partGuid.toUpperCase())
    if (p.name.length > NAME_UNITS || [...p.name].some(c => c.charCodeAt(0) > 0x7e || c.charCodeAt(0) < 0x20)) fail(`partition name ${JSON.stringify(p.name)}: at most ${NAME_UNITS} printable ASCII characters`)
    if (!Number.isSafeInteger(p.firstLba) || !Number.isSafeInteger(p.lastLba) || p.firstLba > p.lastLba) fail(`partition ${p.name}: bad range ${p.firstLba}..${p.lastLba}`)
    if (p.firstLba < FIRST_USABLE_LBA || p.lastLba > last) fail(`partition ${p.name}: ${p.firstLba}..${p.lastLba} outside the usable ${FIRST_USABLE_LBA}..${last}`)
    const prev = sorted[i - 1]
    if (prev !== undefined && prev.lastLba >= p.firstLba) fail(`partitions ${prev.name} and ${p.name} overlap`)
  }
}

/** §5.3.3: the partition entry array, 128 entries, unused ones all zero. */
function encodeEntries (partitions: readonly GptPartition[]): Buffer {
  const buf = Buffer.alloc(ENTRY_COUNT * ENTRY_SIZE)
  partitions.forEach((p, i) => {
    const at = i * ENTRY_SIZE
    guidToBytes(p.typeGuid).copy(buf, at) //           0  PartitionTypeGUID
    guidToBytes(p.partGuid).copy(buf, at + 16) //      16 UniquePartitionGUID
    buf.writeBigUInt64LE(BigInt(p.firstLba), at + 32) // 32 StartingLBA
    buf.writeBigUInt64LE(BigInt(p.lastLba), at + 40) //  40 EndingLBA (inclusive)
    buf.writeBigUInt64LE(p.attributes ?? 0n, at + 48) // 48 Attributes
    buf.write(p.name, at + 56, NAME_UNITS * 2, 'utf16le') // 56 PartitionName, zero-padded
  })
  return buf
}

/** §5.3.2: one header sector; the CRC covers HeaderSize bytes with its own field zeroed. */
function encodeHeader (disk: GptDisk, myLba: number, alternateLba: number, entriesLba: number, entriesCrc: number): Buffer {
  const h = Buffer.alloc(SECTOR_SIZE)
  h.write(SIGNATURE, 0, 'latin1') //                    0  Signature
  h.writeUInt32LE(REVISION, 8) //                       8  Revision
  h.writeUInt32LE(HEADER_SIZE, 12) //                   12 HeaderSize
  //                                                    16 HeaderCRC32 (below), 20 Reserved (zero)
  h.writeBigUInt64LE(BigInt(myLba), 24) //              24 MyLBA
  h.writeBigUInt64LE(BigInt(alternateLba), 32) //       32 AlternateLBA
  h.writeBigUInt64LE(BigInt(FIRST_USABLE_LBA), 40) //   40 FirstUsableLBA
  h.writeBigUInt64LE(BigInt(lastUsableLba(disk.sectors)), 48) // 48 LastUsableLBA
  guidToBytes(disk.diskGuid).copy(h, 56) //             56 DiskGUID
  h.writeBigUInt64LE(BigInt(entriesLba), 72) //         72 PartitionEntryLBA
  h.writeUInt32LE(ENTRY_COUNT, 80) //                   80 NumberOfPartitionEntries
  h.writeUInt32LE(ENTRY_SIZE, 84) //                    84 SizeOfPartitionEntry
  h.writeUInt32LE(entriesCrc, 88) //                    88 PartitionEntryArrayCRC32
  h.writeUInt32LE(crc32(h.subarray(0, HEADER_SIZE)), 16)
  return h
}

/** §5.2.3: a CHS address for the PMBR's EndingCHS, or FF FF FF when beyond 1023/254/63 (255 heads, 63 sectors per track). */
function chs (lba: number): Buffer {
  const cylinder = Math.floor(lba / (255 * 63))
  if (cylinder > 1023) return Buffer.from([0xff, 0xff, 0xff])
  const head = Math.floor(lba / 63) % 255
  const sector = (lba % 63) + 1
  return Buffer.from([head, ((cylinder >> 2) & 0xc0) | sector, cylinder & 0xff])
}

/**
 * §5.2.3 Protective MBR: boot code (bytes 0..439; GRUB's boot.img for BIOS machines, zero
 * otherwise), a zero disk signature, one partition record of type 0xEE from LBA 1 over the whole
 * disk (or 0xFFFFFFFF sectors), BootIndicator 0 (UEFI ignores a PMBR marked bootable; SeaBIOS does
 * not need the mark), and 0x55AA.
 */
export function encodeProtectiveMbr (sectors: number, bootCode?: Buffer): Buffer {
  const mbr = Buffer.alloc(SECTOR_SIZE)
  if (bootCode !== undefined) {
    if (bootCode.length > 440) fail(`boot code of ${bootCode.length} bytes, at most 440`)
    bootCode.copy(mbr, 0)
  }
  const rec = 446
  mbr[rec] = 0x00 //                               BootIndicator
  Buffer.from([0x00, 0x02, 0x00]).copy(mbr, rec + 1) // StartingCHS: LBA 1
  mbr[rec + 4] = 0xee //                           OSType: GPT protective
  chs(sectors - 1).copy(mbr, rec + 5) //           EndingCHS
  mbr.writeUInt32LE(1, rec + 8) //                 StartingLBA
  mbr.writeUInt32LE(Math.min(sectors - 1, 0xffffffff), rec + 12) // SizeInLBA
  mbr.writeUInt16LE(0xaa55, 510)
  return mbr
}

/** Encodes the protective MBR and both tables for `disk`; `bootCode` goes into the PMBR's first 440 bytes. */
export function encodeGpt (disk: GptDisk, options: { bootCode?: Buffer } = {}): GptTables {
  validate(disk)
  const entries = encodeEntries(disk.partitions)
  const entriesCrc = crc32(entries)
  const lastLba = disk.sectors - 1
  const backupEntriesLba = lastLba - ENTRY_SECTORS
  const primaryHeader = encodeHeader(disk, 1, lastLba, 2, entriesCrc)
  const backupHeader = encodeHeader(disk, lastLba, 1, backupEntriesLba, entriesCrc)
  return {
    protectiveMbr: encodeProtectiveMbr(disk.sectors, options.bootCode),
    primary: Buffer.concat([primaryHeader, entries]),
    backup: Buffer.concat([entries, backupHeader]),
    backupOffset: backupEntriesLba * SECTOR_SIZE
  }
}

/** A decoded header (§5.3.2), CRCs already checked. */
export type GptHeader = {
  readonly myLba: number
  readonly alternateLba: number
  readonly firstUsableLba: number
  readonly lastUsableLba: number
  readonly diskGuid: string
  readonly entriesLba: number
  readonly entryCount: number
  readonly entrySize: number
  readonly entriesCrc: number
}

function u64 (buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedPacketError('GPT: LBA beyond 2^53', at)
  return Number(v)
}

/** Decodes the header sector at `offset` of `buf`, which must sit at LBA `expectedLba`. */
export function decodeGptHeader (buf: Buffer, offset: number, expectedLba: number): GptHeader {
  if (buf.length < offset + SECTOR_SIZE) throw new MalformedPacketError('GPT: header sector truncated', buf.length)
  if (buf.toString('latin1', offset, offset + 8) !== SIGNATURE) throw new MalformedPacketError('GPT: no "EFI PART" signature', offset)
  const size = buf.readUInt32LE(offset + 12)
  if (size < HEADER_SIZE || size > SECTOR_SIZE) throw new MalformedPacketError(`GPT: header size ${size}`, offset + 12)
  const copy = Buffer.from(buf.subarray(offset, offset + size))
  copy.writeUInt32LE(0, 16)
  if (crc32(copy) !== buf.readUInt32LE(offset + 16)) throw new MalformedPacketError('GPT: header CRC32 mismatch', offset + 16)
  const header: GptHeader = {
    myLba: u64(buf, offset + 24),
    alternateLba: u64(buf, offset + 32),
    firstUsableLba: u64(buf, offset + 40),
    lastUsableLba: u64(buf, offset + 48),
    diskGuid: guidFromBytes(buf, offset + 56),
    entriesLba: u64(buf, offset + 72),
    entryCount: buf.readUInt32LE(offset + 80),
    entrySize: buf.readUInt32LE(offset + 84),
    entriesCrc: buf.readUInt32LE(offset + 88)
  }
  if (header.myLba !== expectedLba) throw new MalformedPacketError(`GPT: MyLBA ${header.myLba}, expected ${expectedLba}`, offset + 24)
  if (header.entrySize < 128 || header.entrySize % 128 !== 0 || header.entryCount === 0 || header.entryCount * header.entrySize > 1 << 20) {
    throw new MalformedPacketError(`GPT: ${header.entryCount} entries of ${header.entrySize} bytes`, offset + 80)
  }
  return header
}

/** Decodes the entry array at `offset` of `buf` (CRC checked); used entries only, with their number. */
export function decodeGptEntries (buf: Buffer, offset: number, header: GptHeader): Array<GptPartition & { readonly number: number }> {
  const length = header.entryCount * header.entrySize
  if (buf.length < offset + length) throw new MalformedPacketError('GPT: entry array truncated', buf.length)
  if (crc32(buf.subarray(offset, offset + length)) !== header.entriesCrc) throw new MalformedPacketError('GPT: entry array CRC32 mismatch', offset)
  const out: Array<GptPartition & { readonly number: number }> = []
  for (let i = 0; i < header.entryCount; i++) {
    const at = offset + i * header.entrySize
    const typeGuid = guidFromBytes(buf, at)
    if (typeGuid === '00000000-0000-0000-0000-000000000000') continue
    const name = buf.toString('utf16le', at + 56, at + 56 + NAME_UNITS * 2).replace(/\0.*$/s, '')
    out.push({ number: i + 1, name, typeGuid, partGuid: guidFromBytes(buf, at + 16), firstLba: u64(buf, at + 32), lastLba: u64(buf, at + 40), attributes: buf.readBigUInt64LE(at + 48) })
  }
  return out
}

/** Decodes the primary table from the first 34 sectors of a disk (PMBR signature, header at LBA 1, entries). */
export function decodePrimaryGpt (first: Buffer): { header: GptHeader, partitions: Array<GptPartition & { readonly number: number }> } {
  if (first.length < SECTOR_SIZE || first.readUInt16LE(510) !== 0xaa55) throw new MalformedPacketError('GPT: no 0x55AA in LBA 0', 510)
  if (first[446 + 4] !== 0xee) throw new MalformedPacketError('GPT: LBA 0 is not a protective MBR', 446 + 4)
  const header = decodeGptHeader(first, SECTOR_SIZE, 1)
  return { header, partitions: decodeGptEntries(first, header.entriesLba * SECTOR_SIZE, header) }
}
