import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodeGpt, lastUsableLba } from './gpt.ts'
import { ANVIL_NAMESPACE, diskGuid, diskWithEphemeral, fatVolumeId, GRUB_PARTITION, imageDisk, MiB, partitionBytes, PartitionName } from './layout.ts'
import { CHUNK_SIZE } from './manifest.ts'

test('the image layout: names and numbers GRUB and the node rely on', () => {
  const disk = imageDisk('anvil-node', '0.1.0')
  assert.deepEqual(disk.partitions.map(p => p.name), ['BIOS', 'EFI', 'ANVIL-A', 'ANVIL-B', 'ANVIL-STATE'])
  assert.equal(GRUB_PARTITION.efi, `gpt${disk.partitions.findIndex(p => p.name === PartitionName.efi) + 1}`)
  assert.equal(GRUB_PARTITION.A, `gpt${disk.partitions.findIndex(p => p.name === PartitionName.slotA) + 1}`)
  assert.equal(GRUB_PARTITION.B, `gpt${disk.partitions.findIndex(p => p.name === PartitionName.slotB) + 1}`)
  assert.equal(disk.sectors * 512, 1112 * MiB)
  encodeGpt(disk) // valid
})

test('every partition after BIOS is a whole number of 4 MiB chunks, so a slot can be checked with the chunk list alone', () => {
  const disk = imageDisk('anvil-node', '0.1.0')
  for (const p of disk.partitions.filter(x => x.name !== PartitionName.bios)) {
    const { offset, size } = partitionBytes(disk, p.name as PartitionName)
    assert.equal(offset % CHUNK_SIZE, 0, `${p.name} starts on a chunk`)
    assert.equal(size % CHUNK_SIZE, 0, `${p.name} is whole chunks`)
  }
  assert.deepEqual(partitionBytes(disk, PartitionName.slotA), { offset: 68 * MiB, size: 512 * MiB })
})

test('GUIDs are v5 UUIDs of name and version: fixed for a version, different across versions', () => {
  // Literal values: a change here changes every image's bytes and must be deliberate.
  assert.equal(ANVIL_NAMESPACE, 'CD2561DB-CBC7-54C0-825A-FF0F92349858')
  const a = imageDisk('anvil-node', '0.1.0')
  assert.equal(a.diskGuid, '14F57FDE-AC70-52B9-A197-F4B5ED6B8388')
  assert.equal(a.diskGuid, diskGuid('anvil-node', '0.1.0'))
  assert.equal(a.partitions[2]?.partGuid, '4BC52CED-6DB0-59CC-BD8E-5B39C0768669')
  assert.deepEqual(imageDisk('anvil-node', '0.1.0'), a)
  const b = imageDisk('anvil-node', '0.1.1')
  assert.notEqual(a.diskGuid, b.diskGuid)
  const all = [a.diskGuid, ...a.partitions.map(p => p.partGuid), b.diskGuid, ...b.partitions.map(p => p.partGuid)]
  assert.equal(new Set(all).size, all.length)
  assert.match(fatVolumeId('anvil-node', '0.1.0', 'ANVIL-EFI'), /^[0-9A-F]{8}$/)
})

test('on first boot EPHEMERAL takes the rest of a bigger disk, MiB-aligned, and the backup moves to its end', () => {
  const image = imageDisk('anvil-node', '0.1.0')
  const sectors = (2 * 1024 * MiB) / 512 + 7 // 2 GiB and an odd tail
  const grown = diskWithEphemeral(image, sectors, 'anvil-node', '0.1.0')
  assert.deepEqual(grown.partitions.slice(0, 5), image.partitions)
  const eph = grown.partitions[5]
  assert.ok(eph !== undefined)
  assert.equal(eph.name, 'ANVIL-EPHEMERAL')
  assert.equal(eph.firstLba * 512, 1108 * MiB)
  assert.equal((eph.lastLba + 1) % 2048, 0)
  assert.ok(eph.lastLba <= lastUsableLba(sectors))
  assert.equal(encodeGpt(grown).backupOffset, (sectors - 33) * 512)
  assert.throws(() => diskWithEphemeral(image, image.sectors, 'anvil-node', '0.1.0'), /less than 64 MiB/)
})
