import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApiApp } from './api-app.ts'
import { createLogger } from '../log/logger.ts'
import { makeInventory } from '../../test/helpers/inventory.ts'
import { SqliteImageStore } from '../db/image-store.ts'
import { ImageService } from '../images/image-service.ts'
import { CHUNK_SIZE, encodeManifest, type ImageManifest } from '../image/manifest.ts'
import { generateSecretKey } from '../signing/minisign.ts'
import { signManifest } from '../signing/manifest-signature.ts'

const TOKEN = 'test-token-0123456789abcdef'
const auth = { authorization: `Bearer ${TOKEN}` }
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const GUID = '00000000-0000-4000-8000-000000000001'.toUpperCase()

/** A manifest whose artifact is `artifact` (the catalogue checks its size and hash, never its contents). */
function manifestFor (artifact: Buffer, version: string): ImageManifest {
  const size = 8 * 1024 * 1024
  return {
    schema: 'anvil.dev/image/v1',
    name: 'anvil-node',
    version,
    arch: 'x86_64',
    created: '2026-12-01T00:00:00Z',
    securityVersion: 1,
    artifact: { file: `anvil-node-${version}.raw.zst`, compression: 'zstd', size, sha256: 'a'.repeat(64), chunkSize: CHUNK_SIZE, chunks: ['b'.repeat(64), 'c'.repeat(64)], compressedSize: artifact.length, compressedSha256: sha(artifact), frames: [artifact.length - 1, 1] },
    layout: { sectorSize: 512, minDiskBytes: size, diskGuid: GUID, partitions: [{ number: 1, name: 'ANVIL-A', typeGuid: GUID, partGuid: GUID, firstLba: 2048, lastLba: 4095 }], tables: { primary: { offset: 0, length: 17408 }, backup: { offset: size - 16896, length: 16896 } } },
    grubenv: { partition: 'ANVIL-A', offset: 2048 * 512, size: 1024 },
    slots: { A: 'ANVIL-A', B: 'ANVIL-A' }
  }
}

const inv = makeInventory()
const dir = mkdtempSync(join(tmpdir(), 'anvil-images-'))
const key = generateSecretKey()
const stranger = generateSecretKey()
const images = new ImageService({ store: new SqliteImageStore(inv.db), dir, trustedKeys: () => [key.publicKey], clock: inv.clock })
const app = buildApiApp({ machines: inv.machines, adminToken: TOKEN, log: createLogger('silent'), images, bootBaseUrl: () => 'http://10.77.0.1:8080' })
after(async () => { await app.close(); rmSync(dir, { recursive: true, force: true }) })

const post = async (manifest: Buffer, signature: string) => await app.inject({ method: 'POST', url: '/api/v1/images', headers: auth, payload: { manifest: manifest.toString('utf8'), signature } })
const put = async (version: string, body: Buffer) => await app.inject({ method: 'PUT', url: `/api/v1/images/anvil-node/${version}/artifact`, headers: { ...auth, 'content-type': 'application/octet-stream' }, payload: body })

test('a signed manifest is imported pending; its artifact is streamed, checked and kept; list and show', async () => {
  const artifact = randomBytes(300_000)
  const bytes = encodeManifest(manifestFor(artifact, '0.1.0'))
  const created = await post(bytes, signManifest(bytes, key, { name: 'anvil-node', version: '0.1.0' }))
  assert.equal(created.statusCode, 201, created.body)
  assert.equal(created.json().state, 'pending')
  assert.equal(created.json().upload, '/api/v1/images/anvil-node/0.1.0/artifact')
  assert.equal(created.json().keyId, key.keyId)
  const uploaded = await put('0.1.0', artifact)
  assert.equal(uploaded.statusCode, 200, uploaded.body)
  assert.equal(uploaded.json().state, 'ready')
  assert.deepEqual(readFileSync(join(dir, 'anvil-node-0.1.0.raw.zst')), artifact)
  assert.equal((await put('0.1.0', artifact)).json().error.code, 'ERR_IMAGE_EXISTS')
  assert.equal((await post(bytes, signManifest(bytes, key, { name: 'anvil-node', version: '0.1.0' }))).json().error.code, 'ERR_IMAGE_EXISTS', 'never modified in place')
  const list = (await app.inject({ url: '/api/v1/images', headers: auth })).json().items
  assert.deepEqual(list.map((i: { name: string, version: string }) => `${i.name}:${i.version}`), ['anvil-node:0.1.0'])
  assert.equal((await app.inject({ url: '/api/v1/images/anvil-node', headers: auth })).json().version, '0.1.0')
  assert.equal((await app.inject({ url: '/api/v1/images/anvil-node:0.1.0', headers: auth })).json().manifest.artifact.compressedSize, 300_000)
  assert.equal((await app.inject({ url: '/api/v1/images/anvil-node:9.9.9', headers: auth })).json().error.code, 'ERR_IMAGE_NOT_FOUND')
  const release = (await app.inject({ url: '/api/v1/images/anvil-node:0.1.0/release', headers: auth })).json()
  assert.deepEqual(release, { name: 'anvil-node', version: '0.1.0', manifest: bytes.toString('utf8'), signature: release.signature, artifactUrl: 'http://10.77.0.1:8080/images/anvil-node/0.1.0' })
  assert.ok(release.signature.startsWith('untrusted comment:'), 'the minisign signature file, as signed')
})

test('a flipped byte in the manifest or its signature, or a key Anvil does not trust, is refused before anything is stored', async () => {
  const artifact = randomBytes(1000)
  const bytes = encodeManifest(manifestFor(artifact, '0.2.0'))
  const signature = signManifest(bytes, key, { name: 'anvil-node', version: '0.2.0' })
  const flipped = Buffer.from(bytes)
  flipped[40] = (flipped[40] as number) ^ 0x01
  assert.equal((await post(flipped, signature)).statusCode, 422)
  const sigLines = signature.split('\n')
  const line = sigLines[1] as string
  sigLines[1] = line.slice(0, 20) + (line[20] === 'A' ? 'B' : 'A') + line.slice(21)
  assert.match((await post(bytes, sigLines.join('\n'))).json().error.code, /^ERR_SIGNATURE_/)
  const foreign = await post(bytes, signManifest(bytes, stranger, { name: 'anvil-node', version: '0.2.0' }))
  assert.equal(foreign.statusCode, 422)
  assert.equal(foreign.json().error.code, 'ERR_SIGNATURE_KEY_MISMATCH')
  const relabelled = await post(bytes, signManifest(bytes, key, { name: 'anvil-node', version: '0.3.0' }))
  assert.equal(relabelled.json().error.code, 'ERR_SIGNATURE_COMMENT_UNEXPECTED', 'a signature for another version does not fit')
  assert.equal((await app.inject({ url: '/api/v1/images/anvil-node:0.2.0', headers: auth })).statusCode, 404)
})

test('an artifact of the wrong size or hash is refused, nothing is kept, and the image stays pending', async () => {
  const artifact = randomBytes(5000)
  const bytes = encodeManifest(manifestFor(artifact, '0.4.0'))
  assert.equal((await post(bytes, signManifest(bytes, key, { name: 'anvil-node', version: '0.4.0' }))).statusCode, 201)
  const tampered = Buffer.from(artifact)
  tampered[4999] = (tampered[4999] as number) ^ 0xff
  assert.equal((await put('0.4.0', tampered)).json().error.code, 'ERR_IMAGE_HASH_MISMATCH')
  assert.equal((await put('0.4.0', artifact.subarray(0, 4000))).json().error.code, 'ERR_IMAGE_SIZE_MISMATCH')
  assert.equal((await put('0.4.0', Buffer.concat([artifact, Buffer.from('x')]))).json().error.code, 'ERR_IMAGE_SIZE_MISMATCH')
  assert.ok(!existsSync(join(dir, 'anvil-node-0.4.0.raw.zst')))
  assert.deepEqual(readdirSync(dir).filter(f => f.startsWith('.upload-')), [], 'no temporary file left behind')
  assert.equal((await app.inject({ url: '/api/v1/images/anvil-node:0.4.0', headers: auth })).json().state, 'pending')
  const early = await app.inject({ url: '/api/v1/images/anvil-node:0.4.0/release', headers: auth })
  assert.equal(early.statusCode, 409)
  assert.equal(early.json().error.code, 'ERR_IMAGE_NOT_READY', 'no release of an image without its artifact')
  assert.equal((await put('0.4.0', artifact)).json().state, 'ready')
})

test('agents fetch a ready artifact from the boot listener with Range; a pending one is refused', async () => {
  const { buildBootApp } = await import('./boot-app.ts')
  const { BootAssets } = await import('../boot/assets.ts')
  const { makeProvisioning } = await import('../../test/helpers/inventory.ts')
  const boot = buildBootApp({ machines: inv.machines, lifecycle: makeProvisioning(inv).lifecycle, images, assets: new BootAssets(dir), events: inv.timeline, baseUrl: () => 'http://10.77.0.1:8080', capabilities: { recheckSeconds: 30 }, log: createLogger('silent') })
  try {
    const artifact = randomBytes(70_000)
    const bytes = encodeManifest(manifestFor(artifact, '0.5.0'))
    await post(bytes, signManifest(bytes, key, { name: 'anvil-node', version: '0.5.0' }))
    assert.equal((await boot.inject({ url: '/images/anvil-node/0.5.0' })).json().error.code, 'ERR_IMAGE_NOT_READY')
    await put('0.5.0', artifact)
    const whole = await boot.inject({ url: '/images/anvil-node/0.5.0' })
    assert.equal(whole.statusCode, 200)
    assert.deepEqual(whole.rawPayload, artifact)
    const part = await boot.inject({ url: '/images/anvil-node/0.5.0', headers: { range: 'bytes=65536-' } })
    assert.equal(part.statusCode, 206)
    assert.deepEqual(part.rawPayload, artifact.subarray(65536))
    assert.equal((await boot.inject({ url: '/images/anvil-node/..%2f..%2fetc' })).statusCode, 400)
  } finally {
    await boot.close()
  }
})
