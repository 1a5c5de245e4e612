import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { prng } from '../lib/prng.ts'
import { mdSuperblockOffsets, probeDevice, type ReadAt } from './probe.ts'

const MIB = 1024 * 1024
const reader = (img: Buffer): ReadAt => async (offset, length) => img.subarray(offset, offset + length)
const image = (size: number, write: (img: Buffer) => void): Buffer => { const b = Buffer.alloc(size); write(b); return b }
const head = (vm: string, dev: string): Buffer => readFileSync(new URL(`../../test/fixtures/agent/${vm}/dev/${dev}`, import.meta.url))

test('captured disk heads: GPT, MBR, ext4 (mkfs.ext4) and swap (mkswap)', async () => {
  assert.deepEqual(await probeDevice(reader(head('vm1', 'vda')), 64 * MIB), { partitionTable: 'gpt', signatures: [] })
  assert.deepEqual(await probeDevice(reader(head('vm1', 'vda1')), 32 * MIB), { partitionTable: '', signatures: ['ext4'] })
  assert.deepEqual(await probeDevice(reader(head('vm1', 'vda2')), 16 * MIB), { partitionTable: '', signatures: ['swap'] })
  assert.deepEqual(await probeDevice(reader(head('vm1', 'nvme0n1')), 32 * MIB), { partitionTable: 'dos', signatures: [] })
})

test('signatures at the start of a device, each at its documented offset', async () => {
  const cases: Array<[string, (b: Buffer) => void]> = [
    ['xfs', (b) => b.write('XFSB', 0)],
    ['btrfs', (b) => b.write('_BHRfS_M', 65536 + 0x40)],
    ['iso9660', (b) => b.write('CD001', 32769)],
    ['LVM2_member', (b) => { b.write('LABELONE', 512); b.write('LVM2 001', 512 + 0x18) }],
    ['swap', (b) => b.write('SWAPSPACE2', 4096 - 10)],
    ['ext2', (b) => b.writeUInt16LE(0xef53, 1024 + 0x38)],
    ['ext3', (b) => { b.writeUInt16LE(0xef53, 1024 + 0x38); b.writeUInt32LE(0x4, 1024 + 0x5c) }],
    ['ext4', (b) => { b.writeUInt16LE(0xef53, 1024 + 0x38); b.writeUInt32LE(0x4, 1024 + 0x5c); b.writeUInt32LE(0x240, 1024 + 0x60) }]
  ]
  for (const [name, write] of cases) {
    const r = await probeDevice(reader(image(MIB, write)), MIB)
    assert.deepEqual(r, { partitionTable: '', signatures: [name] }, name)
  }
})

test('a FAT boot sector is vfat, not an MBR', async () => {
  const img = image(MIB, (b) => { b[0] = 0xeb; b.write('FAT32   ', 82); b.writeUInt16LE(0xaa55, 510) })
  assert.deepEqual(await probeDevice(reader(img), MIB), { partitionTable: '', signatures: ['vfat'] })
})

test('MD superblocks 0.90 (end, 64 KiB aligned), 1.0 (end − 8 KiB), 1.1 (0) and 1.2 (4 KiB)', async () => {
  const size = 10 * MIB + 12345 // not aligned, so the alignment rules matter
  const at = mdSuperblockOffsets(size)
  assert.equal(at.v090, 10 * MIB - 64 * 1024)
  assert.equal(at.v10 % 4096, 0)
  assert.ok(size - at.v10 >= 8192 && size - at.v10 < 8192 + 4096)
  for (const off of [at.v090, at.v10, at.v11, at.v12]) {
    const img = image(size, (b) => b.writeUInt32LE(0xa92b4efc, off))
    assert.deepEqual((await probeDevice(reader(img), size)).signatures, ['linux_raid_member'], `offset ${off}`)
  }
})

test('a blank device and a tiny device report nothing', async () => {
  assert.deepEqual(await probeDevice(reader(Buffer.alloc(MIB)), MIB), { partitionTable: '', signatures: [] })
  assert.deepEqual(await probeDevice(reader(Buffer.alloc(100)), 100), { partitionTable: '', signatures: [] })
})

test('fuzz: random device contents never make the probe throw', async () => {
  const seed = 0xd15c
  const rand = prng(seed)
  for (let i = 0; i < 300; i++) {
    const size = Math.floor(rand() * 200_000)
    const img = Buffer.alloc(size)
    if (size > 0) for (let k = 0; k < 64; k++) img[Math.floor(rand() * size)] = Math.floor(rand() * 256)
    await probeDevice(reader(img), size + Math.floor(rand() * 1000) - 500)
  }
})
