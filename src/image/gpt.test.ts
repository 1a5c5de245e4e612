import { test } from 'node:test'
import assert from 'node:assert/strict'
import { crc32 } from 'node:zlib'
import { MalformedPacketError } from '../lib/errors.ts'
import {
  BACKUP_TABLE_BYTES, decodeGptEntries, decodeGptHeader, decodePrimaryGpt, encodeGpt, encodeProtectiveMbr,
  ENTRY_SECTORS, FIRST_USABLE_LBA, GptAttribute, lastUsableLba, PRIMARY_TABLE_BYTES, SECTOR_SIZE, type GptDisk
} from './gpt.ts'

const DISK: GptDisk = {
  sectors: 131072, // 64 MiB
  diskGuid: '11111111-2222-3333-4444-555555555555',
  partitions: [
    { name: 'BIOS', typeGuid: '21686148-6449-6E6F-744E-656564454649', partGuid: 'AAAAAAAA-0000-0000-0000-000000000001', firstLba: 2048, lastLba: 4095 },
    { name: 'EFI', typeGuid: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', partGuid: 'AAAAAAAA-0000-0000-0000-000000000002', firstLba: 4096, lastLba: 69631, attributes: GptAttribute.required }
  ]
}

/** The disk's first 34 sectors as an installer would write them. */
function primaryBytes (disk: GptDisk = DISK): Buffer {
  const t = encodeGpt(disk)
  return Buffer.concat([t.protectiveMbr, t.primary])
}

test('CRC32 is the one UEFI uses (§5.3.2: the IEEE 802.3 polynomial): check value of "123456789"', () => {
  assert.equal(crc32('123456789'), 0xcbf43926)
})

test('the protective MBR has one 0xEE record over the whole disk and 0x55AA (§5.2.3)', () => {
  const mbr = encodeProtectiveMbr(DISK.sectors, Buffer.alloc(440, 0xcc))
  assert.equal(mbr.length, 512)
  assert.ok(mbr.subarray(0, 440).every(b => b === 0xcc), 'boot code kept')
  assert.deepEqual([...mbr.subarray(440, 446)], [0, 0, 0, 0, 0, 0], 'disk signature and reserved bytes zero')
  //                         boot  startCHS   type  endCHS (LBA 131071 = C 8 H 40 S 32: 28 20 08)  startLBA  size
  assert.equal(mbr.subarray(446, 462).toString('hex'), '00' + '000200' + 'ee' + '282008' + '01000000' + 'ffff0100')
  assert.ok(mbr.subarray(462, 510).every(b => b === 0), 'three empty records')
  assert.equal(mbr.readUInt16LE(510), 0xaa55)
  // Beyond CHS and beyond 32 bits.
  assert.equal(encodeProtectiveMbr(2 ** 33).subarray(446 + 5, 446 + 16).toString('hex'), 'ffffff' + '01000000' + 'ffffffff')
})

test('the primary header (§5.3.2) names itself, the backup, the usable range and the entries', () => {
  const t = encodeGpt(DISK)
  const h = t.primary.subarray(0, 512)
  assert.equal(h.toString('latin1', 0, 8), 'EFI PART')
  assert.equal(h.readUInt32LE(8), 0x00010000, 'revision 1.0')
  assert.equal(h.readUInt32LE(12), 92, 'header size')
  assert.equal(h.readUInt32LE(20), 0, 'reserved')
  assert.equal(h.readBigUInt64LE(24), 1n, 'MyLBA')
  assert.equal(h.readBigUInt64LE(32), BigInt(DISK.sectors - 1), 'AlternateLBA')
  assert.equal(h.readBigUInt64LE(40), 34n, 'FirstUsableLBA')
  assert.equal(h.readBigUInt64LE(48), BigInt(DISK.sectors - 34), 'LastUsableLBA')
  assert.equal(h.subarray(56, 72).toString('hex'), '11111111' + '2222' + '3333' + '4444' + '555555555555', 'DiskGUID (these fields read the same either way round)')
  assert.equal(h.readBigUInt64LE(72), 2n, 'PartitionEntryLBA')
  assert.equal(h.readUInt32LE(80), 128)
  assert.equal(h.readUInt32LE(84), 128)
  assert.equal(h.readUInt32LE(88), crc32(t.primary.subarray(512)), 'entry array CRC')
  const zeroed = Buffer.from(h.subarray(0, 92))
  zeroed.writeUInt32LE(0, 16)
  assert.equal(h.readUInt32LE(16), crc32(zeroed), 'header CRC over 92 bytes with the field zeroed')
  assert.ok(h.subarray(92).every(b => b === 0), 'rest of the block zero')
})

test('an entry (§5.3.3) holds type, unique GUID, inclusive LBAs, attributes and a UTF-16LE name', () => {
  const e = encodeGpt(DISK).primary.subarray(512 + 128, 512 + 256) // entry 2
  assert.equal(e.subarray(0, 16).toString('hex'), '28732ac11ff8d211ba4b00a0c93ec93b')
  assert.equal(e.subarray(16, 32).toString('hex'), 'aaaaaaaa000000000000000000000002')
  assert.equal(e.readBigUInt64LE(32), 4096n)
  assert.equal(e.readBigUInt64LE(40), 69631n)
  assert.equal(e.readBigUInt64LE(48), 1n)
  assert.equal(e.subarray(56, 62).toString('hex'), '450046004900') // "EFI"
  assert.ok(e.subarray(62).every(b => b === 0))
  assert.ok(encodeGpt(DISK).primary.subarray(512 + 256).every(b => b === 0), 'entries 3..128 unused')
})

test('the backup is the same entry array followed by a header with the LBAs swapped', () => {
  const t = encodeGpt(DISK)
  assert.equal(t.primary.length, PRIMARY_TABLE_BYTES - SECTOR_SIZE)
  assert.equal(t.backup.length, BACKUP_TABLE_BYTES)
  assert.equal(t.backupOffset, (DISK.sectors - 33) * 512)
  assert.deepEqual(t.backup.subarray(0, ENTRY_SECTORS * 512), t.primary.subarray(512))
  const disk = Buffer.alloc(DISK.sectors * 512)
  t.backup.copy(disk, t.backupOffset)
  const backup = decodeGptHeader(disk, (DISK.sectors - 1) * 512, DISK.sectors - 1)
  assert.equal(backup.alternateLba, 1)
  assert.equal(backup.entriesLba, DISK.sectors - 33)
  assert.deepEqual(decodeGptEntries(disk, backup.entriesLba * 512, backup).map(p => p.name), ['BIOS', 'EFI'])
})

test('decode(encode(disk)) gives the disk back', () => {
  const { header, partitions } = decodePrimaryGpt(primaryBytes())
  assert.equal(header.diskGuid, DISK.diskGuid)
  assert.equal(header.firstUsableLba, FIRST_USABLE_LBA)
  assert.equal(header.lastUsableLba, lastUsableLba(DISK.sectors))
  assert.deepEqual(partitions, DISK.partitions.map((p, i) => ({ number: i + 1, attributes: 0n, ...p })))
})

test('the encoding is a function of the disk alone: the same bytes twice', () => {
  assert.deepEqual(primaryBytes(), primaryBytes())
})

test('every truncated prefix and every flipped bit of the header is refused with MalformedPacketError', () => {
  const full = primaryBytes()
  for (let n = 0; n < full.length; n += 97) assert.throws(() => decodePrimaryGpt(full.subarray(0, n)), MalformedPacketError, `prefix of ${n}`)
  for (const at of [512, 512 + 16, 512 + 24, 512 + 91, 1024, 1024 + 200, full.length - 1]) {
    const bad = Buffer.from(full)
    bad[at] = (bad[at] ?? 0) ^ 0x01
    assert.throws(() => decodePrimaryGpt(bad), MalformedPacketError, `bit flipped at ${at}`)
  }
})

test('invalid disks are refused before anything is encoded', () => {
  const p0 = DISK.partitions[0]
  const p1 = DISK.partitions[1]
  assert.ok(p0 !== undefined && p1 !== undefined)
  const bad: Array<[string, GptDisk]> = [
    ['overlap', { ...DISK, partitions: [p0, { ...p1, firstLba: 4095 }] }],
    ['before first usable', { ...DISK, partitions: [{ ...p0, firstLba: 33 }] }],
    ['after last usable', { ...DISK, partitions: [{ ...p0, lastLba: DISK.sectors - 33 }] }],
    ['reversed', { ...DISK, partitions: [{ ...p0, firstLba: 5000, lastLba: 4999 }] }],
    ['duplicate GUID', { ...DISK, partitions: [p0, { ...p1, partGuid: p0.partGuid }] }],
    ['disk GUID reused', { ...DISK, partitions: [{ ...p0, partGuid: DISK.diskGuid }] }],
    ['zero type', { ...DISK, partitions: [{ ...p0, typeGuid: '00000000-0000-0000-0000-000000000000' }] }],
    ['long name', { ...DISK, partitions: [{ ...p0, name: 'x'.repeat(37) }] }],
    ['non-ASCII name', { ...DISK, partitions: [{ ...p0, name: 'É' }] }],
    ['tiny disk', { ...DISK, sectors: 67, partitions: [] }],
    ['bad disk GUID', { ...DISK, diskGuid: 'nope' }],
    ['129 partitions', { ...DISK, partitions: Array.from({ length: 129 }, () => p0) }]
  ]
  for (const [why, disk] of bad) assert.throws(() => encodeGpt(disk), /GPT:/, why)
  assert.throws(() => encodeGpt(DISK, { bootCode: Buffer.alloc(441) }), /boot code/)
})
