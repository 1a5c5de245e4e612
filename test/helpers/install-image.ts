// Test support for the agent's install: a small synthetic node image (real GPT, seeded random
// partitions, real chunk hashes, compressed by the real zstd, signed), a fake machine root whose
// disk is a regular file, and an HTTP server with Range that can cut or stall a response.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeGpt, type GptPartition } from '../../src/image/gpt.ts'
import { CHUNK_SIZE, encodeManifest, IMAGE_SCHEMA, type ImageManifest } from '../../src/image/manifest.ts'
import { prng } from '../../src/lib/prng.ts'
import type { InstallTask } from '../../src/proto/generated/anvil/provisioning/v1/InstallTask.ts'
import { signConfig } from '../../src/signing/config-signature.ts'
import { signManifest } from '../../src/signing/manifest-signature.ts'
import { encodePublicKeyString, generateSecretKey, type SecretKey } from '../../src/signing/minisign.ts'
import { chunkHashes } from '../../src/signing/chunks.ts'
import { FrameCache, zstdArgs } from '../../src/image/zstd-frame.ts'
import { parseRange } from '../../src/http/static-file.ts'

export const MIB = 1024 * 1024
const SECTOR = 512
const LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4'

/** name, start MiB, size MiB, MiB of seeded random data at its start (the rest zero). */
const PARTS = [
  { name: 'BIOS', type: '21686148-6449-6E6F-744E-656564454649', start: 1, size: 1, random: 1 },
  { name: 'EFI', type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', start: 2, size: 2, random: 2 },
  { name: 'ANVIL-A', type: LINUX, start: 4, size: 8, random: 5 },
  { name: 'ANVIL-B', type: LINUX, start: 12, size: 4, random: 0 },
  { name: 'ANVIL-STATE', type: '8DA63339-0007-60C0-C436-083AC8230908', start: 16, size: 16, random: 0 }
] as const
/** STATE ends at 32 MiB; the backup table sits in the last 33 sectors of a 36 MiB image. */
export const IMAGE_MIB = 36
export const MIN_DISK_BYTES = 48 * MIB
/** 1 MiB of random bytes between STATE and the backup table, in the last chunk. */
export const LAST_CHUNK_RANDOM = 33 * MIB
const guid = (n: number): string => `6A6CA201-0000-4000-8000-${n.toString(16).toUpperCase().padStart(12, '0')}`

export type TestImage = {
  raw: Buffer
  compressed: Buffer
  manifest: ImageManifest
  manifestBytes: Buffer
  manifestSignature: string
  imageKey: SecretKey
  configKey: SecretKey
  state: { start: number, end: number }
}

function random (bytes: number, seed: number): Buffer {
  const next = prng(seed)
  const b = Buffer.alloc(bytes)
  for (let i = 0; i + 4 <= bytes; i += 4) b.writeUInt32LE(Math.floor(next() * 2 ** 32), i)
  return b
}

/** Builds the image (about 8 MiB of random data in 36 MiB) and signs its manifest. */
export async function buildTestImage (): Promise<TestImage> {
  const size = IMAGE_MIB * MIB
  const raw = Buffer.alloc(size)
  const partitions: GptPartition[] = PARTS.map((p, i) => ({ name: p.name, typeGuid: p.type, partGuid: guid(i + 1), firstLba: p.start * MIB / SECTOR, lastLba: (p.start + p.size) * MIB / SECTOR - 1 }))
  PARTS.forEach((p, i) => { if (p.random > 0) random(p.random * MIB, 1000 + i).copy(raw, p.start * MIB) })
  // Unpartitioned bytes are image bytes too (covered by the chunks): random ones give the last chunk literals to corrupt.
  random(MIB, 999).copy(raw, LAST_CHUNK_RANDOM)
  const tables = encodeGpt({ sectors: size / SECTOR, diskGuid: guid(0xd15c), partitions }, { bootCode: random(440, 7) })
  Buffer.concat([tables.protectiveMbr, tables.primary]).copy(raw, 0)
  tables.backup.copy(raw, tables.backupOffset)
  // One frame per chunk, as the image build makes them (src/image/zstd-frame.ts). Uncompressed
  // literals keep every non-repeating byte of the image verbatim in the .zst, so a test can flip
  // the compressed byte that decompresses into a chosen place (a table, a chunk).
  const digest = await chunkHashes(raw, CHUNK_SIZE)
  const cache = new FrameCache(zstdArgs(3, ['--no-compress-literals']))
  const frames: Buffer[] = []
  for (const [i, sha256] of digest.chunks.entries()) frames.push(await cache.frame(raw.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE), sha256))
  const compressed = Buffer.concat(frames)
  const manifest: ImageManifest = {
    schema: IMAGE_SCHEMA,
    name: 'anvil-node',
    version: '0.1.0',
    arch: 'x86_64',
    created: '2026-01-01T00:00:00Z',
    securityVersion: 1,
    artifact: {
      file: 'anvil-node-0.1.0.raw.zst',
      compression: 'zstd',
      size,
      sha256: digest.sha256,
      chunkSize: CHUNK_SIZE,
      chunks: [...digest.chunks],
      compressedSize: compressed.length,
      compressedSha256: createHash('sha256').update(compressed).digest('hex'),
      frames: frames.map((f) => f.length)
    },
    layout: {
      sectorSize: 512,
      minDiskBytes: MIN_DISK_BYTES,
      diskGuid: guid(0xd15c),
      partitions: partitions.map((p, i) => ({ number: i + 1, name: p.name, typeGuid: p.typeGuid, partGuid: p.partGuid, firstLba: p.firstLba, lastLba: p.lastLba })),
      tables: { primary: { offset: 0, length: 34 * SECTOR }, backup: { offset: tables.backupOffset, length: 33 * SECTOR } }
    },
    grubenv: { partition: 'EFI', offset: 2 * MIB + 4096, size: 1024 },
    slots: { A: 'ANVIL-A', B: 'ANVIL-B' }
  }
  const manifestBytes = encodeManifest(manifest)
  const imageKey = generateSecretKey()
  return {
    raw,
    compressed,
    manifest,
    manifestBytes,
    manifestSignature: signManifest(manifestBytes, imageKey, { name: 'anvil-node', version: '0.1.0' }),
    imageKey,
    configKey: generateSecretKey(),
    state: { start: 16 * MIB, end: 32 * MIB }
  }
}

export const MACHINE_ID = 'm-0123456789abcdef'
export const CONFIG_YAML = 'apiVersion: anvil.dev/v1alpha1\nkind: MachineConfig\nhostname: node-1\n# secret: s3cr3t-join-token\n'
export const NODE_TOKEN = 'node-token-do-not-log-0123456789'

/** An install task for the test image at `url`, with a config signed for MACHINE_ID generation 3. */
export function installTask (img: TestImage, url: string, disk: { name: string, serial: string, wwn: string, sizeBytes: number }, over: Partial<InstallTask> = {}): InstallTask {
  const config = Buffer.from(CONFIG_YAML, 'utf8')
  return {
    imageName: 'anvil-node',
    imageVersion: '0.1.0',
    imageUrl: url,
    manifest: img.manifestBytes,
    manifestSignature: img.manifestSignature,
    imageKeys: [encodePublicKeyString(img.imageKey.publicKey)],
    disk: disk.name,
    diskSerial: disk.serial,
    diskWwn: disk.wwn,
    diskSizeBytes: disk.sizeBytes,
    config,
    configSignature: signConfig(config, img.configKey, { machineId: MACHINE_ID, generation: 3, expiresAt: new Date(Date.now() + 3600_000) }),
    configKey: encodePublicKeyString(img.configKey.publicKey),
    machineId: MACHINE_ID,
    configGeneration: 3,
    nodeToken: NODE_TOKEN,
    ...over
  }
}

/**
 * A machine root: ROOT/dev/NAME a regular file of `mib` MiB holding `initial` (an old GPT and a
 * pattern, say), ROOT/sys/block/NAME with size, serial and wwid, an empty /proc/mounts.
 */
export function fakeMachine (disk: { name: string, serial: string, wwn: string, mib: number }, initial: Buffer): string {
  const root = mkdtempSync(join(tmpdir(), 'anvil-install-'))
  mkdirSync(join(root, 'dev'))
  mkdirSync(join(root, 'proc'))
  writeFileSync(join(root, 'proc/mounts'), '')
  writeFileSync(join(root, 'dev', disk.name), initial)
  const sys = join(root, 'sys/block', disk.name)
  mkdirSync(join(sys, 'device'), { recursive: true })
  writeFileSync(join(sys, 'size'), `${disk.mib * MIB / SECTOR}\n`)
  writeFileSync(join(sys, 'device/serial'), `${disk.serial}\n`)
  writeFileSync(join(sys, 'wwid'), `${disk.wwn}\n`)
  writeFileSync(join(sys, 'ro'), '0\n')
  return root
}

/** An old disk: a pattern with a valid GPT of one partition over the whole disk (backup at its end). */
export function oldDisk (mib: number): Buffer {
  const b = Buffer.alloc(mib * MIB, 0xa5)
  const sectors = mib * MIB / SECTOR
  const t = encodeGpt({ sectors, diskGuid: guid(0x01d), partitions: [{ name: 'old-root', typeGuid: LINUX, partGuid: guid(0x01e), firstLba: 2048, lastLba: sectors - 2048 }] })
  Buffer.concat([t.protectiveMbr, t.primary]).copy(b, 0)
  t.backup.copy(b, t.backupOffset)
  return b
}

/** How a served response misbehaves: cut the connection, or stall, after `afterBytes` body bytes. */
export type Fault = { kind: 'cut' | 'stall', afterBytes: number }

export type ImageServer = {
  url: (path: string) => string
  /** Range headers of every request, in order. */
  ranges: Array<string | undefined>
  /** Resolves when a stalled response reached its stall point. */
  stalled: Promise<void>
  close: () => Promise<void>
}

/** Serves `files` (path → bytes) with Range, ETag and If-Range; `faults[i]` applies to the i-th response. */
export async function serveImages (files: Map<string, Buffer>, faults: Fault[] = []): Promise<ImageServer> {
  const ranges: Array<string | undefined> = []
  let onStall: () => void = () => {}
  const stalled = new Promise<void>((resolve) => { onStall = resolve })
  let n = 0
  const server: Server = createServer((req, res) => {
    const body = files.get(req.url ?? '')
    ranges.push(req.headers.range)
    const fault = faults[n++]
    if (body === undefined) { res.statusCode = 404; res.end(); return }
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`
    const ifRange = req.headers['if-range']
    const range = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, body.length) : undefined
    if (range === 'unsatisfiable') { res.statusCode = 416; res.end(); return }
    const start = range?.start ?? 0
    const end = range === undefined ? body.length : range.end + 1
    res.setHeader('ETag', etag)
    res.setHeader('Accept-Ranges', 'bytes')
    res.setHeader('Content-Length', end - start)
    if (range !== undefined) {
      res.statusCode = 206
      res.setHeader('Content-Range', `bytes ${start}-${end - 1}/${body.length}`)
    }
    const part = body.subarray(start, end)
    if (fault === undefined) { res.end(part); return }
    res.write(part.subarray(0, fault.afterBytes), () => {
      if (fault.kind === 'cut') res.socket?.destroy()
      else onStall()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    ranges,
    stalled,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

/** `sfdisk --json FILE`: the partition table it reads, or undefined when it finds none. */
export function sfdiskTable (file: string): { partitions: Array<{ name?: string, start: number, size: number }> } | undefined {
  const r = spawnSync('sfdisk', ['--json', file], { encoding: 'utf8' })
  if (r.status !== 0) return undefined
  return (JSON.parse(r.stdout) as { partitiontable: { partitions: Array<{ name?: string, start: number, size: number }> } }).partitiontable
}
