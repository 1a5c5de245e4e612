import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CHUNK_SIZE, decodeManifest, encodeManifest, IMAGE_SCHEMA, type ImageManifest } from './manifest.ts'

const H = (c: string): string => c.repeat(64)

function manifest (): ImageManifest {
  const size = 2 * CHUNK_SIZE + 512
  return {
    schema: IMAGE_SCHEMA,
    name: 'anvil-node',
    version: '0.1.0',
    arch: 'x86_64',
    created: '2026-12-01T21:14:35Z',
    securityVersion: 1,
    artifact: { file: 'anvil-node-0.1.0.raw.zst', compression: 'zstd', size, sha256: H('a'), chunkSize: CHUNK_SIZE, chunks: [H('1'), H('2'), H('3')], compressedSize: 1000, compressedSha256: H('b'), frames: [400, 500, 100] },
    layout: {
      sectorSize: 512,
      minDiskBytes: size,
      diskGuid: '14F57FDE-AC70-52B9-A197-F4B5ED6B8388',
      partitions: [
        { number: 1, name: 'EFI', typeGuid: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', partGuid: '2671B6A1-9583-505C-A04B-BFF0ED2DA5DB', firstLba: 2048, lastLba: 4095 },
        { number: 2, name: 'ANVIL-A', typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', partGuid: '4BC52CED-6DB0-59CC-BD8E-5B39C0768669', firstLba: 4096, lastLba: 8191 },
        { number: 3, name: 'ANVIL-B', typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', partGuid: '1E396308-848F-523B-AB0E-C0045E686C71', firstLba: 8192, lastLba: 12287 }
      ],
      tables: { primary: { offset: 0, length: 17408 }, backup: { offset: size - 16896, length: 16896 } }
    },
    grubenv: { partition: 'EFI', offset: 2048 * 512 + 4096, size: 1024 },
    slots: { A: 'ANVIL-A', B: 'ANVIL-B' }
  }
}

/** The same object with every object's keys in reverse order. */
function shuffled (v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shuffled)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, shuffled(x)]))
}

test('the bytes are canonical: schema key order, 2-space JSON, final newline, whatever order the object had', () => {
  const bytes = encodeManifest(manifest())
  assert.deepEqual(encodeManifest(shuffled(manifest()) as ImageManifest), bytes)
  const text = bytes.toString('utf8')
  assert.ok(text.startsWith('{\n  "schema": "anvil.dev/image/v1",\n  "name": "anvil-node",\n  "version": "0.1.0",\n  "arch": "x86_64",\n  "created"'))
  assert.ok(text.endsWith('}\n'))
  assert.deepEqual(Object.keys(JSON.parse(text).artifact), ['file', 'compression', 'size', 'sha256', 'chunkSize', 'chunks', 'compressedSize', 'compressedSha256', 'frames'])
})

test('decode(encode(m)) is m', () => {
  assert.deepEqual(decodeManifest(encodeManifest(manifest())), manifest())
})

test('inconsistent or foreign manifests are refused with ERR_VALIDATION and the path', () => {
  const cases: Array<[string, (m: ImageManifest) => unknown]> = [
    ['artifact.chunks', m => ({ ...m, artifact: { ...m.artifact, chunks: [H('1')] } })],
    ['artifact.chunkSize', m => ({ ...m, artifact: { ...m.artifact, chunkSize: 1 << 20 } })],
    ['artifact.sha256', m => ({ ...m, artifact: { ...m.artifact, sha256: H('A') } })],
    ['schema', m => ({ ...m, schema: 'anvil.dev/image/v2' })],
    ['version', m => ({ ...m, version: 'latest' })],
    ['layout.partitions', m => ({ ...m, layout: { ...m.layout, partitions: [{ ...m.layout.partitions[0], lastLba: 1e9 }] } })],
    ['slots', m => ({ ...m, slots: { A: 'ANVIL-A', B: 'ANVIL-C' } })],
    ['layout.tables', m => ({ ...m, layout: { ...m.layout, tables: { ...m.layout.tables, backup: { offset: 0, length: 1 } } } })],
    ['extra', m => ({ ...m, extra: true })]
  ]
  for (const [why, mutate] of cases) {
    assert.throws(() => decodeManifest(Buffer.from(JSON.stringify(mutate(manifest())))), (err: unknown) => err instanceof Error && 'code' in err && err.code === 'ERR_VALIDATION', why)
  }
  assert.throws(() => decodeManifest(Buffer.from('{')), /not JSON/)
})
