import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { checkCompressedHash, fetchResumable } from './install-fetch.ts'
import { chunkMatches, overlap, stateFitProblem, writablePieces } from './install-plan.ts'

const MIB = 1024 * 1024

test('writablePieces: a range minus the held table ranges, in order', () => {
  const primary = { start: 0, end: 17408 }
  const backup = { start: 100_000, end: 116_896 }
  assert.deepEqual(writablePieces(0, 4 * MIB, [primary]), [{ start: 17408, end: 4 * MIB }])
  assert.deepEqual(writablePieces(0, 200_000, [backup, primary]), [{ start: 17408, end: 100_000 }, { start: 116_896, end: 200_000 }])
  assert.deepEqual(writablePieces(110_000, 116_896, [backup]), [], 'wholly inside a held range')
  assert.deepEqual(writablePieces(116_896, 120_000, [backup]), [{ start: 116_896, end: 120_000 }], 'touching is not overlapping')
  assert.equal(overlap(0, 10, { start: 10, end: 20 }), undefined)
  assert.deepEqual(overlap(5, 15, { start: 10, end: 20 }), { start: 10, end: 15 })
})

test('stateFitProblem: two copies must fit the partition without overlapping each other', () => {
  assert.equal(stateFitProblem({ start: 0, end: 16 * MIB }, 5000), undefined)
  assert.match(stateFitProblem({ start: 0, end: 8 * MIB + 100 }, 5000) ?? '', /too small/)
  assert.match(stateFitProblem({ start: 0, end: 32 * MIB }, 9 * MIB) ?? '', /overlap/)
})

/** A server answering every request with `answer`. */
async function serve (answer: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ url: string, close: () => Promise<void> }> {
  const server = createServer(answer)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/a`, close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => { resolve() })) } }
}

const body = Buffer.alloc(300_000, 7)
const expect = { size: body.length, sha256: createHash('sha256').update(body).digest('hex') }

test('fetch: a server whose artifact is longer than the manifest says → ERR_IMAGE_SIZE_MISMATCH at once', async (t) => {
  const s = await serve((_req, res) => { res.end(Buffer.concat([body, Buffer.from('x')])) })
  t.after(s.close)
  await assert.rejects(fetchResumable(s.url, expect, async () => {}), { code: 'ERR_IMAGE_SIZE_MISMATCH' })
})

test('fetch: a resume the server answers with the whole (changed) file → ERR_IMAGE_FETCH, never spliced', async (t) => {
  let n = 0
  const s = await serve((_req, res) => {
    res.setHeader('Content-Length', body.length)
    if (n++ === 0) res.write(body.subarray(0, 1000), () => { res.socket?.destroy() })
    else res.end(body)
  })
  t.after(s.close)
  const lines: string[] = []
  await assert.rejects(fetchResumable(s.url, expect, async () => {}, { backoff: async () => {}, log: (l) => lines.push(l) }), { code: 'ERR_IMAGE_FETCH', message: /resume at byte 1000: the server answered 200/ })
  assert.equal(lines.length, 1)
})

test('fetch: bytes fed in order, and the digest of what was fed; a wrong digest is ERR_IMAGE_HASH_MISMATCH', async (t) => {
  const s = await serve((_req, res) => { res.end(body) })
  t.after(s.close)
  const got: Buffer[] = []
  const sha = await fetchResumable(s.url, expect, async (b) => { got.push(b) })
  assert.ok(Buffer.concat(got).equals(body))
  checkCompressedHash(expect, sha)
  assert.throws(() => { checkCompressedHash({ ...expect, sha256: '0'.repeat(64) }, sha) }, { code: 'ERR_IMAGE_HASH_MISMATCH' })
})

test('fetch: only plain http URLs', async () => {
  await assert.rejects(fetchResumable('https://127.0.0.1/x', expect, async () => {}), { code: 'ERR_IMAGE_FETCH' })
  await assert.rejects(fetchResumable('http://u:p@127.0.0.1/x', expect, async () => {}), { code: 'ERR_IMAGE_FETCH' })
})

test('chunkMatches: a zero chunk is checked by comparison, any other by SHA-256; both give the hash\'s answer', () => {
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
  for (const n of [4 << 20, 512, 1]) {
    const zero = Buffer.alloc(n)
    assert.equal(chunkMatches(zero, sha(zero)), true)
    const one = Buffer.alloc(n)
    one[n - 1] = 1
    assert.equal(chunkMatches(one, sha(zero)), false, 'a non-zero chunk where the manifest says zeroes')
    assert.equal(chunkMatches(one, sha(one)), true)
    assert.equal(chunkMatches(zero, sha(one)), false, 'zeroes where the manifest says data')
  }
  const data = Buffer.from('anvil')
  assert.equal(chunkMatches(data, sha(data)), true)
  assert.equal(chunkMatches(data, sha(Buffer.from('anvim'))), false)
})
