// The node image build (boot-assets/build-image.sh), twice: once into boot-assets/images (skipped
// by the script when its inputs are unchanged; the lab test then boots that image), once more with
// --force into a temporary directory, from a different temporary directory, with another umask and
// time zone. The two must be byte-identical (reproducibility), and the artifact must be what its
// manifest says: size, SHA-256, every 4 MiB chunk, the GPT (sfdisk, sgdisk), the ESP's and slot A's
// files (mtools), grubenv at the recorded offset, slot B and STATE zero.
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { REPO_ROOT } from '../../lab/anvil.ts'
import { decodeGrubenv, grubCfg, INITIAL_ENV } from '../../src/image/grub.ts'
import { decodeManifest, type ImageManifest } from '../../src/image/manifest.ts'
import { skipReason } from '../helpers/requirements.ts'

const IMAGES = join(REPO_ROOT, 'boot-assets/images')
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version
const BASE = `anvil-node-${VERSION}`
const skip = skipReason('the image build test', {
  programs: ['grub-mkimage', 'mkfs.vfat', 'mcopy', 'mshowfat', 'mdir', 'mksquashfs', 'cpio', 'zstd', 'strip', 'depmod', 'modprobe',
    'apt-get', 'dpkg-deb', 'ipmitool', 'sfdisk', 'sgdisk'],
  files: ['/bin/busybox', '/usr/lib/grub/i386-pc/boot.img', '/usr/lib/grub/x86_64-efi/linux.mod', join(REPO_ROOT, 'node_modules/tsx/package.json')]
})

async function run (file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number } = {}): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(file, args, { timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 << 20, env: options.env ?? process.env, cwd: options.cwd ?? REPO_ROOT }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`))
      else resolve(stdout + stderr)
    })
  })
}

async function sha256File (path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

let dir = ''
let second = ''
let raw = ''
let manifest: ImageManifest | undefined
const seconds: Record<string, number> = {}

before(async () => {
  if (skip !== undefined) return
  dir = mkdtempSync(join(tmpdir(), 'anvil-image-build-'))
  second = join(dir, 'second')
  let t = performance.now()
  const first = await run('bash', ['boot-assets/build-image.sh'], { timeoutMs: 900_000 })
  seconds.first = (performance.now() - t) / 1000
  console.log(`# first build (${seconds.first.toFixed(1)} s): ${first.trim().split('\n').at(-1) ?? ''}`)
  // The second: forced, elsewhere, from another cwd and TMPDIR, another umask and time zone.
  t = performance.now()
  const out = await run('bash', ['-c', 'umask 077 && exec bash "$0" --force --out "$1"', join(REPO_ROOT, 'boot-assets/build-image.sh'), second],
    { timeoutMs: 900_000, cwd: dir, env: { ...process.env, TZ: 'Pacific/Chatham', TMPDIR: dir } })
  seconds.second = (performance.now() - t) / 1000
  console.log(`# second build, --force (${seconds.second.toFixed(1)} s): ${out.trim().split('\n').at(-1) ?? ''}`)
  manifest = decodeManifest(readFileSync(join(IMAGES, `${BASE}.manifest.json`)))
  raw = join(dir, 'image.raw')
  await run('zstd', ['-q', '-d', '-f', join(IMAGES, `${BASE}.raw.zst`), '-o', raw], { timeoutMs: 120_000 })
})

after(() => { if (dir !== '') rmSync(dir, { recursive: true, force: true }) })

test('two builds of the same inputs are byte-identical (artifact, manifest, checksums)', { skip }, async () => {
  for (const f of [`${BASE}.raw.zst`, `${BASE}.manifest.json`, 'SHA256SUMS']) {
    assert.equal(await sha256File(join(second, f)), await sha256File(join(IMAGES, f)), f)
  }
  assert.ok(existsSync(join(IMAGES, 'PROVENANCE')) && existsSync(join(second, 'PROVENANCE')))
  await run('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], { cwd: IMAGES })
  const provenance = readFileSync(join(IMAGES, 'PROVENANCE'), 'utf8')
  for (const key of ['build:', 'kernel:', 'node:', 'debian:', 'layout:', 'image:', 'phases']) assert.match(provenance, new RegExp(`^${key}`, 'm'))
})

test('the artifact is what the manifest says: sizes, SHA-256 of the whole and of every 4 MiB chunk', { skip }, async () => {
  assert.ok(manifest !== undefined)
  const { artifact } = manifest
  assert.equal(artifact.file, `${BASE}.raw.zst`)
  assert.equal(readFileSync(join(IMAGES, artifact.file)).length, artifact.compressedSize)
  assert.equal(await sha256File(join(IMAGES, artifact.file)), artifact.compressedSha256)
  const whole = createHash('sha256')
  const chunks: string[] = []
  let size = 0
  let pending = Buffer.alloc(0)
  for await (const piece of createReadStream(raw, { highWaterMark: 1 << 20 })) {
    const b = piece as Buffer
    whole.update(b)
    size += b.length
    pending = Buffer.concat([pending, b])
    while (pending.length >= artifact.chunkSize) {
      chunks.push(createHash('sha256').update(pending.subarray(0, artifact.chunkSize)).digest('hex'))
      pending = pending.subarray(artifact.chunkSize)
    }
  }
  if (pending.length > 0) chunks.push(createHash('sha256').update(pending).digest('hex'))
  assert.equal(size, artifact.size)
  assert.equal(whole.digest('hex'), artifact.sha256)
  assert.deepEqual(chunks, artifact.chunks)
  assert.equal(manifest.version, VERSION)
})

test('the artifact is one zstd frame per chunk: each frame alone decompresses to its chunk', { skip }, async () => {
  assert.ok(manifest !== undefined)
  const { artifact } = manifest
  const zst = readFileSync(join(IMAGES, artifact.file))
  assert.equal(artifact.frames.length, artifact.chunks.length)
  const seen = new Set<string>()
  let at = 0
  for (const [i, length] of artifact.frames.entries()) {
    const frame = zst.subarray(at, at + length)
    at += length
    const hash = artifact.chunks[i] ?? ''
    if (seen.has(hash)) continue // identical chunks have identical frames: one of each is enough
    seen.add(hash)
    const out = spawnSync('zstd', ['-q', '-d', '-c'], { input: frame, maxBuffer: 2 * artifact.chunkSize })
    assert.equal(out.status, 0, `frame ${i}: ${out.stderr.toString()}`)
    assert.equal(createHash('sha256').update(out.stdout).digest('hex'), hash, `frame ${i} decompresses to chunk ${i}`)
  }
  assert.equal(at, artifact.compressedSize)
  assert.ok(seen.size < artifact.chunks.length / 4, 'most chunks are the same (zero) chunk')
})

test('sfdisk and sgdisk read the layout the manifest records, tables where it says', { skip }, async () => {
  assert.ok(manifest !== undefined)
  type Part = { start: number, size: number, type: string, uuid: string, name: string }
  const t = (JSON.parse(await run('sfdisk', ['--json', raw])) as { partitiontable: { id: string, partitions: Part[] } }).partitiontable
  assert.equal(t.id, manifest.layout.diskGuid)
  assert.deepEqual(t.partitions.map(p => [p.name, p.type, p.uuid, p.start, p.start + p.size - 1]),
    manifest.layout.partitions.map(p => [p.name, p.typeGuid, p.partGuid, p.firstLba, p.lastLba]))
  assert.match(await run('sgdisk', ['-v', raw]), /No problems found/)
  const { primary, backup } = manifest.layout.tables
  const bytes = readFileSync(raw)
  assert.equal(bytes.toString('latin1', 512, 520), 'EFI PART')
  assert.equal(bytes.toString('latin1', backup.offset + backup.length - 512, backup.offset + backup.length - 504), 'EFI PART')
  assert.equal(primary.offset, 0)
  // GRUB's boot code in LBA 0 points at core.img at the BIOS partition's first sector; core.img's blocklist at the next.
  const bios = manifest.layout.partitions.find(p => p.name === 'BIOS')
  assert.ok(bios !== undefined)
  assert.equal(bytes.readBigUInt64LE(0x5c), BigInt(bios.firstLba))
  assert.equal(bytes.readBigUInt64LE(bios.firstLba * 512 + 0x1f4), BigInt(bios.firstLba + 1))
  // Slot B and STATE are zeros in the image.
  for (const name of ['ANVIL-B', 'ANVIL-STATE']) {
    const p = manifest.layout.partitions.find(x => x.name === name)
    assert.ok(p !== undefined)
    assert.ok(bytes.subarray(p.firstLba * 512, (p.lastLba + 1) * 512).every(b => b === 0), `${name} is zero`)
  }
})

test('the ESP holds BOOTX64.EFI, grub.cfg and grubenv at the manifest\'s offset; slot A the kernel and initramfs', { skip }, async () => {
  assert.ok(manifest !== undefined)
  const m = manifest
  const part = (name: string): { firstLba: number } => {
    const p = m.layout.partitions.find(x => x.name === name)
    assert.ok(p !== undefined, name)
    return p
  }
  const esp = `${raw}@@${part('EFI').firstLba * 512}`
  const slot = `${raw}@@${part('ANVIL-A').firstLba * 512}`
  const env = { ...process.env, MTOOLSRC: '/dev/null', MTOOLS_SKIP_CHECK: '1' }
  assert.match(await run('mdir', ['-b', '-i', esp, '::/EFI/BOOT'], { env }), /BOOTX64\.EFI/)
  assert.equal(await run('mtype', ['-i', esp, '::/grub/grub.cfg'], { env }), grubCfg())
  const bytes = readFileSync(raw)
  assert.deepEqual(decodeGrubenv(bytes.subarray(m.grubenv.offset, m.grubenv.offset + m.grubenv.size)), { ...INITIAL_ENV })
  const listing = await run('mdir', ['-b', '-i', slot, '::/'], { env })
  for (const f of ['vmlinuz', 'initramfs.img', 'slot.json']) assert.match(listing, new RegExp(`::/${f.replace('.', '\\.')}`))
  const slotJson = JSON.parse(await run('mtype', ['-i', slot, '::/slot.json'], { env })) as { version: string, kernel: { sha256: string } }
  assert.equal(slotJson.version, VERSION)
  const kernel = join(dir, 'vmlinuz')
  await run('mcopy', ['-n', '-i', slot, '::/vmlinuz', kernel], { env })
  assert.equal(await sha256File(kernel), slotJson.kernel.sha256)
})
