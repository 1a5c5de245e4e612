// The image's pure codecs against the real tools: the GPT writer (src/image/gpt.ts) read back by
// util-linux sfdisk and gdisk's sgdisk, sfdisk's own tables read by our decoder, GRUB's real
// boot.img/core.img patched, and grubenv against grub-editenv. No image build, no QEMU: seconds.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync, truncateSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { decodeGptEntries, decodeGptHeader, decodePrimaryGpt, encodeGpt, type GptDisk } from '../../src/image/gpt.ts'
import { decodeGrubenv, encodeGrubenv, INITIAL_ENV, patchBootImage, patchCoreImage } from '../../src/image/grub.ts'
import { diskWithEphemeral, imageDisk, MiB } from '../../src/image/layout.ts'
import { skipReason } from '../helpers/requirements.ts'

const GRUB_PC = '/usr/lib/grub/i386-pc'
const skip = skipReason('the image codec integration tests', {
  programs: ['sfdisk', 'sgdisk', 'grub-editenv', 'grub-mkimage'],
  files: [`${GRUB_PC}/boot.img`, `${GRUB_PC}/diskboot.img`]
})

let dir = ''
before(() => { if (skip === undefined) dir = mkdtempSync(join(tmpdir(), 'anvil-image-gpt-')) })
after(() => { if (dir !== '') rmSync(dir, { recursive: true, force: true }) })

async function run (file: string, ...args: string[]): Promise<{ code: number, out: string }> {
  return await new Promise(resolve => {
    execFile(file, args, { timeout: 30_000, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr })
    })
  })
}

/** Writes `disk`'s tables into a sparse file of its size; returns the path. */
function writeDisk (name: string, disk: GptDisk): string {
  const path = join(dir, name)
  writeFileSync(path, '')
  truncateSync(path, disk.sectors * 512)
  const t = encodeGpt(disk)
  const fd = openSync(path, 'r+')
  writeSync(fd, Buffer.concat([t.protectiveMbr, t.primary]), 0, 34 * 512, 0)
  writeSync(fd, t.backup, 0, t.backup.length, t.backupOffset)
  closeSync(fd)
  return path
}

type SfdiskJson = { partitiontable: { label: string, id: string, firstlba: number, lastlba: number, sectorsize: number, partitions: Array<{ start: number, size: number, type: string, uuid: string, name: string }> } }

/** sfdisk --json, --verify and sgdisk -v on the file all agree with `disk`. */
async function crossCheck (path: string, disk: GptDisk): Promise<void> {
  const json = await run('sfdisk', '--json', path)
  assert.equal(json.code, 0, json.out)
  const t = (JSON.parse(json.out) as SfdiskJson).partitiontable
  assert.equal(t.label, 'gpt')
  assert.equal(t.id, disk.diskGuid)
  assert.equal(t.sectorsize, 512)
  assert.equal(t.firstlba, 34)
  assert.equal(t.lastlba, disk.sectors - 34)
  assert.deepEqual(t.partitions.map(p => ({ name: p.name, type: p.type, uuid: p.uuid, start: p.start, size: p.size })),
    disk.partitions.map(p => ({ name: p.name, type: p.typeGuid, uuid: p.partGuid, start: p.firstLba, size: p.lastLba - p.firstLba + 1 })))
  const verify = await run('sfdisk', '--verify', path)
  assert.equal(verify.code, 0, verify.out)
  assert.match(verify.out, /No errors detected/)
  assert.doesNotMatch(verify.out, /[Ww]arning|mismatch|corrupt/)
  const sg = await run('sgdisk', '-v', path)
  assert.equal(sg.code, 0, sg.out)
  assert.match(sg.out, /No problems found/)
}

test('sfdisk and sgdisk read the image\'s GPT back exactly: names, types, GUIDs, starts, sizes', { skip }, async () => {
  const disk = imageDisk('anvil-node', '0.1.0')
  await crossCheck(writeDisk('image.raw', disk), disk)
})

test('sfdisk and sgdisk accept the table the node writes on first boot (EPHEMERAL added, backup at the real end)', { skip }, async () => {
  const disk = diskWithEphemeral(imageDisk('anvil-node', '0.1.0'), (2048 * MiB) / 512, 'anvil-node', '0.1.0')
  await crossCheck(writeDisk('grown.raw', disk), disk)
})

test('a full entry array (128 partitions) and odd disk sizes read back the same', { skip }, async () => {
  const sectors = 128 * 2048 + 2048 + 34 + 77
  const disk: GptDisk = {
    sectors,
    diskGuid: 'DEADBEEF-0000-4000-8000-000000000000',
    partitions: Array.from({ length: 128 }, (_, i) => ({
      name: `P${i + 1}`,
      typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
      partGuid: `DEADBEEF-0000-4000-8000-${(i + 1).toString(16).toUpperCase().padStart(12, '0')}`,
      firstLba: 2048 + i * 2048,
      lastLba: 2048 + i * 2048 + 2047
    }))
  }
  await crossCheck(writeDisk('full.raw', disk), disk)
})

test('our decoder reads the primary and backup tables sfdisk writes', { skip }, async () => {
  const path = join(dir, 'sfdisk.raw')
  writeFileSync(path, '')
  truncateSync(path, 64 * MiB)
  const script = [
    'label: gpt', 'label-id: 01234567-89AB-CDEF-0123-456789ABCDEF', 'unit: sectors', 'first-lba: 34', '',
    'start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, uuid=11111111-2222-4333-8444-555555555555, name="BIOS"',
    'start=4096, size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=A1B2C3D4-E5F6-4789-8ABC-DEF012345678, name="EFI"', ''
  ].join('\n')
  const written = await new Promise<number>(resolve => {
    const child = execFile('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', path], { timeout: 30_000 }, (err) => resolve(err === null ? 0 : 1))
    child.stdin?.end(script)
  })
  assert.equal(written, 0)
  const bytes = readFileSync(path)
  const { header, partitions } = decodePrimaryGpt(bytes.subarray(0, 34 * 512))
  assert.equal(header.diskGuid, '01234567-89AB-CDEF-0123-456789ABCDEF')
  assert.deepEqual(partitions.map(p => [p.number, p.name, p.typeGuid, p.partGuid, p.firstLba, p.lastLba]), [
    [1, 'BIOS', '21686148-6449-6E6F-744E-656564454649', '11111111-2222-4333-8444-555555555555', 2048, 4095],
    [2, 'EFI', 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', 'A1B2C3D4-E5F6-4789-8ABC-DEF012345678', 4096, 69631]
  ])
  const last = (64 * MiB) / 512 - 1
  const backup = decodeGptHeader(bytes, last * 512, last)
  assert.equal(backup.alternateLba, 1)
  assert.deepEqual(decodeGptEntries(bytes, backup.entriesLba * 512, backup).map(p => p.name), ['BIOS', 'EFI'])
  // And sfdisk's bytes equal ours for the same table (same GUIDs, same LBAs, no attributes).
  const ours = encodeGpt({ sectors: last + 1, diskGuid: header.diskGuid, partitions })
  assert.deepEqual(bytes.subarray(512, 34 * 512), ours.primary)
})

test('GRUB\'s real boot.img and a fresh core.img patch as grub-bios-setup would for LBA 2048', { skip }, async () => {
  const code = patchBootImage(readFileSync(`${GRUB_PC}/boot.img`), 2048)
  assert.equal(code.readBigUInt64LE(0x5c), 2048n)
  assert.equal(code.readUInt16LE(0x66), 0x9090)
  const corePath = join(dir, 'core.img')
  const made = await run('grub-mkimage', '-O', 'i386-pc', '-d', GRUB_PC, '-p', '(,gpt2)/grub', '-o', corePath, 'biosdisk', 'part_gpt', 'fat', 'normal')
  assert.equal(made.code, 0, made.out)
  const raw = readFileSync(corePath)
  assert.deepEqual(raw.subarray(0, 0x1f4), readFileSync(`${GRUB_PC}/diskboot.img`).subarray(0, 0x1f4), 'core.img starts with diskboot.img')
  const core = patchCoreImage(raw, 2048)
  assert.equal(core.length % 512, 0)
  assert.equal(core.readBigUInt64LE(0x1f4), 2049n)
  assert.equal(core.readUInt16LE(0x1fc), core.length / 512 - 1)
  assert.equal(core.readUInt16LE(0x1fe), 0x0820)
})

test('grubenv: grub-editenv lists what we write, and we read what grub-editenv writes', { skip }, async () => {
  const ours = join(dir, 'grubenv.ours')
  writeFileSync(ours, encodeGrubenv(INITIAL_ENV))
  const list = await run('grub-editenv', ours, 'list')
  assert.equal(list.code, 0, list.out)
  assert.equal(list.out, 'ANVIL_ORDER=A B\nA_OK=0\nA_LEFT=3\nB_OK=0\nB_LEFT=0\n')
  const theirs = join(dir, 'grubenv.theirs')
  assert.equal((await run('grub-editenv', theirs, 'create')).code, 0)
  assert.equal((await run('grub-editenv', theirs, 'set', 'ANVIL_ORDER=B A', 'A_OK=1', 'B_LEFT=2')).code, 0)
  assert.deepEqual(decodeGrubenv(readFileSync(theirs)), { ANVIL_ORDER: 'B A', A_OK: '1', B_LEFT: '2' })
})
