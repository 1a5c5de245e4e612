import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { CodedError } from '../lib/errors.ts'
import { ChunkVerifier, chunkHashes, type ChunkedDigest } from './chunks.ts'

const CHUNK = 16
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Feeds `bytes` in pieces of `split` bytes (0: all at once); the error and the offset reached when it was thrown. */
function feed (digest: ChunkedDigest, bytes: Buffer, split = 0): { error: CodedError | undefined, offset: number, fed: number } {
  const v = new ChunkVerifier({ ...digest, name: 'slot.img' })
  let fed = 0
  try {
    const step = split === 0 ? Math.max(bytes.length, 1) : split
    for (let at = 0; at < bytes.length; at += step) {
      fed = Math.min(at + step, bytes.length)
      v.update(bytes.subarray(at, at + step))
    }
    fed = bytes.length
    assert.deepEqual(v.finish(), { size: digest.size, sha256: digest.sha256 })
    return { error: undefined, offset: v.offset, fed }
  } catch (err) {
    assert.ok(err instanceof CodedError, String(err))
    assert.throws(() => { v.update(Buffer.alloc(1)) }, (again) => again === err, 'a failed verifier stays failed')
    assert.throws(() => v.finish(), (again) => again === err)
    return { error: err, offset: v.offset, fed }
  }
}

const corrupt = (b: Buffer, at: number): Buffer => {
  const c = Buffer.from(b)
  c[at] = (c[at] as number) ^ 0x80
  return c
}

test('chunkHashes: buffer and stream agree, chunk by chunk, for sizes around the chunk size', async () => {
  for (const size of [0, 1, 15, 16, 17, 40, 48]) {
    const bytes = randomBytes(size)
    const d = await chunkHashes(bytes, CHUNK)
    const expected = Array.from({ length: Math.ceil(size / CHUNK) }, (_, i) => sha(bytes.subarray(i * CHUNK, (i + 1) * CHUNK)))
    assert.deepEqual(d, { chunkSize: CHUNK, chunks: expected, size, sha256: sha(bytes) })
    const pieces = [bytes.subarray(0, 3), bytes.subarray(3, 20), bytes.subarray(20)]
    assert.deepEqual(await chunkHashes(Readable.from(pieces), CHUNK), d)
  }
  await assert.rejects(chunkHashes(Readable.from(['text']), CHUNK), TypeError)
})

test('an untouched artifact verifies whatever the read sizes', async () => {
  for (const size of [0, 5, 16, 40, 48]) {
    const bytes = randomBytes(size)
    const d = await chunkHashes(bytes, CHUNK)
    for (const split of [0, 1, 7, 16, 33]) assert.equal(feed(d, bytes, split).error, undefined, `${size} bytes read ${split} at a time`)
  }
})

test('a corrupted byte fails its chunk the moment the chunk is complete, naming chunk and offset', async () => {
  const size = 40 // chunks [0,16) [16,32) [32,40)
  const bytes = randomBytes(size)
  const d = await chunkHashes(bytes, CHUNK)
  const cases = [
    { what: 'the first byte', at: 0, chunk: 0, start: 0, end: 16 },
    { what: 'the last byte of a chunk', at: 15, chunk: 0, start: 0, end: 16 },
    { what: 'the first byte of the next chunk', at: 16, chunk: 1, start: 16, end: 32 },
    { what: 'the last byte of a middle chunk', at: 31, chunk: 1, start: 16, end: 32 },
    { what: 'the last byte of the file (a short last chunk)', at: 39, chunk: 2, start: 32, end: 40 }
  ]
  for (const c of cases) {
    for (const split of [0, 1, 5, 16]) {
      const { error, fed } = feed(d, corrupt(bytes, c.at), split)
      assert.equal(error?.code, 'ERR_IMAGE_CHUNK_MISMATCH', `${c.what}, read ${split} at a time`)
      assert.deepEqual({ chunk: error.details?.chunk, offset: error.details?.offset, length: error.details?.length }, { chunk: c.chunk, offset: c.start, length: c.end - c.start })
      assert.match(error.message, new RegExp(`^slot.img: chunk ${c.chunk} \\(bytes ${c.start} to ${c.end - 1}\\)`))
      if (split === 1) assert.equal(fed, c.end, 'thrown by the update that completed the chunk, before any later byte')
    }
  }
  // The whole file's last byte where the size is a multiple of the chunk size.
  const even = randomBytes(48)
  const { error } = feed(await chunkHashes(even, CHUNK), corrupt(even, 47), 1)
  assert.deepEqual([error?.code, error?.details?.chunk, error?.details?.offset], ['ERR_IMAGE_CHUNK_MISMATCH', 2, 32])
})

test('a short file is ERR_IMAGE_SIZE_MISMATCH at finish; a long one at the first byte too many', async () => {
  const bytes = randomBytes(40)
  const d = await chunkHashes(bytes, CHUNK)
  for (const short of [bytes.subarray(0, 39), bytes.subarray(0, 32), bytes.subarray(0, 0)]) {
    const { error } = feed(d, short, 1)
    assert.equal(error?.code, 'ERR_IMAGE_SIZE_MISMATCH')
    assert.deepEqual(error.details, { expected: 40, actual: short.length })
  }
  for (const split of [0, 1, 40]) {
    const { error, fed } = feed(d, Buffer.concat([bytes, Buffer.from('xy')]), split)
    assert.equal(error?.code, 'ERR_IMAGE_SIZE_MISMATCH', `read ${split} at a time`)
    if (split === 1) assert.equal(fed, 41, 'thrown by the first byte past the size')
  }
  // A corrupted chunk before the excess is reported as what it is.
  assert.equal(feed(d, Buffer.concat([corrupt(bytes, 3), Buffer.from('xy')])).error?.code, 'ERR_IMAGE_CHUNK_MISMATCH')
})

test('an empty artifact: no chunks; any byte is too many', async () => {
  const d = await chunkHashes(Buffer.alloc(0), CHUNK)
  assert.deepEqual(d.chunks, [])
  assert.equal(feed(d, Buffer.alloc(0)).error, undefined)
  assert.equal(feed(d, Buffer.alloc(1)).error?.code, 'ERR_IMAGE_SIZE_MISMATCH')
  assert.equal(feed(await chunkHashes(randomBytes(3), CHUNK), Buffer.alloc(0)).error?.code, 'ERR_IMAGE_SIZE_MISMATCH')
})

test('chunks that match but a whole sha256 that does not: ERR_IMAGE_HASH_MISMATCH at finish', async () => {
  const bytes = randomBytes(40)
  const d = { ...await chunkHashes(bytes, CHUNK), sha256: sha(Buffer.from('other')) }
  const { error } = feed(d, bytes)
  assert.equal(error?.code, 'ERR_IMAGE_HASH_MISMATCH')
  assert.equal(error.details?.actual, sha(bytes))
})

test('an inconsistent digest is refused before any byte is read', async () => {
  const d = await chunkHashes(randomBytes(40), CHUNK)
  for (const bad of [{ ...d, chunks: d.chunks.slice(1) }, { ...d, chunkSize: 0 }, { ...d, size: -1 }, { ...d, size: 1.5 },
    { ...d, sha256: d.sha256.toUpperCase() }, { ...d, chunks: [...d.chunks.slice(0, 2), 'zz'] }, { ...d, size: 49 }]) {
    assert.throws(() => new ChunkVerifier(bad), { code: 'ERR_INVALID_ARG_VALUE' })
  }
  await assert.rejects(chunkHashes(Buffer.alloc(1), 0), { code: 'ERR_INVALID_ARG_VALUE' })
  const v = new ChunkVerifier(await chunkHashes(Buffer.alloc(0), CHUNK))
  v.finish()
  assert.throws(() => { v.update(Buffer.alloc(0)) }, /after finish/)
})
