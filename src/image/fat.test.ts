import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MalformedPacketError } from '../lib/errors.ts'
import { clusterOffset, decodeFatGeometry, parseMshowfat } from './fat.ts'

/** A FAT32 boot sector as mkfs.vfat -F 32 -s 1 makes it for the 64 MiB ESP: 32 reserved, 2 FATs of 1009 sectors. */
function fat32Boot (): Buffer {
  const b = Buffer.alloc(512)
  b.writeUInt16LE(512, 11)
  b[13] = 1
  b.writeUInt16LE(32, 14)
  b[16] = 2
  b.writeUInt16LE(0, 17)
  b.writeUInt16LE(0, 22)
  b.writeUInt32LE(1009, 36)
  b.writeUInt16LE(0xaa55, 510)
  return b
}

test('cluster N of a FAT32 filesystem starts after the reserved sectors and both FATs', () => {
  const g = decodeFatGeometry(fat32Boot())
  assert.deepEqual(g, { bytesPerSector: 512, sectorsPerCluster: 1, dataStartSector: 32 + 2 * 1009 })
  assert.equal(clusterOffset(g, 2), 2050 * 512)
  assert.equal(clusterOffset(g, 4), 2052 * 512)
  assert.throws(() => clusterOffset(g, 1), RangeError)
})

test('FAT16 geometry counts the fixed root directory', () => {
  const b = fat32Boot()
  b[13] = 4
  b.writeUInt16LE(4, 14)
  b.writeUInt16LE(512, 17) // 512 root entries = 32 sectors
  b.writeUInt16LE(64, 22)
  assert.equal(decodeFatGeometry(b).dataStartSector, 4 + 2 * 64 + 32)
})

test('a sector that is not a FAT boot sector is refused', () => {
  assert.throws(() => decodeFatGeometry(Buffer.alloc(512)), MalformedPacketError)
  const b = fat32Boot()
  b[13] = 3
  assert.throws(() => decodeFatGeometry(b), MalformedPacketError)
  assert.throws(() => decodeFatGeometry(b.subarray(0, 100)), MalformedPacketError)
})

test('mshowfat output gives the first cluster and whether the file is one run', () => {
  assert.deepEqual(parseMshowfat('::/grub/grubenv <4-5>\n'), { first: 4, contiguous: true })
  assert.deepEqual(parseMshowfat('::/grub/grubenv <4>\n'), { first: 4, contiguous: true })
  assert.deepEqual(parseMshowfat('::/x <4-5> <9-10>\n'), { first: 4, contiguous: false })
  assert.equal(parseMshowfat('::/empty\n'), undefined)
})
