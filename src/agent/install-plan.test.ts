import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fetchRanges } from './install-fetch.ts'
import { chunkMatches, framePlan, overlap, stateFitProblem, writablePieces } from './install-plan.ts'

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

const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251))
const expect = { size: body.length }
const whole = [{ start: 0, end: body.length }]

/** Answers Range requests (bytes=a-b) with 206, others with the whole body. */
function ranged (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, file = body): void {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
  res.setHeader('ETag', '"v1"')
  if (m === null) { res.end(file); return }
  const a = Number(m[1])
  const b = Math.min(Number(m[2]), file.length - 1)
  res.statusCode = 206
  res.setHeader('Content-Range', `bytes ${a}-${b}/${file.length}`)
  res.end(file.subarray(a, b + 1))
}

test('fetch: a server whose artifact has another size than the manifest says → ERR_IMAGE_SIZE_MISMATCH at once', async (t) => {
  const s = await serve((req, res) => { ranged(req, res, Buffer.concat([body, Buffer.from('x')])) })
  t.after(s.close)
  await assert.rejects(fetchRanges(s.url, expect, whole, async () => {}), { code: 'ERR_IMAGE_SIZE_MISMATCH' })
})

test('fetch: a server sending more than the range asked for → ERR_IMAGE_SIZE_MISMATCH', async (t) => {
  const s = await serve((_req, res) => {
    res.statusCode = 206
    res.setHeader('Content-Range', `bytes 100-199/${body.length}`)
    res.end(body.subarray(100, 300))
  })
  t.after(s.close)
  await assert.rejects(fetchRanges(s.url, expect, [{ start: 100, end: 200 }], async () => {}), { code: 'ERR_IMAGE_SIZE_MISMATCH' })
})

test('fetch: a resume the server answers with the whole (changed) file → ERR_IMAGE_FETCH, never spliced', async (t) => {
  let n = 0
  const s = await serve((req, res) => {
    if (n++ === 0) {
      res.statusCode = 206
      res.setHeader('ETag', '"v1"')
      res.setHeader('Content-Range', `bytes 0-${body.length - 1}/${body.length}`)
      res.setHeader('Content-Length', body.length)
      res.write(body.subarray(0, 1000), () => { res.socket?.destroy() })
    } else {
      assert.equal(req.headers['if-range'], '"v1"', 'the resume carries the first answer\'s ETag')
      res.end(body)
    }
  })
  t.after(s.close)
  const lines: string[] = []
  await assert.rejects(fetchRanges(s.url, expect, whole, async () => {}, { backoff: async () => {}, log: (l) => lines.push(l) }), { code: 'ERR_IMAGE_FETCH', message: /bytes 1000-299999: the server answered 200/ })
  assert.equal(lines.length, 1)
})

test('fetch: only the ranges asked for, in order, each byte once, through cut connections', async (t) => {
  let cuts = 0
  const asked: string[] = []
  const s = await serve((req, res) => {
    asked.push(req.headers.range ?? '')
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
    const a = Number(m?.[1])
    const b = Number(m?.[2])
    res.statusCode = 206
    res.setHeader('ETag', '"v1"')
    res.setHeader('Content-Range', `bytes ${a}-${b}/${body.length}`)
    res.setHeader('Content-Length', b + 1 - a)
    if (a === 10 || a === 200_000) { // the first answer of each long range is cut after 3000 bytes
      cuts++
      res.write(body.subarray(a, a + 3000), () => { res.socket?.destroy() })
    } else {
      res.end(body.subarray(a, b + 1))
    }
  })
  t.after(s.close)
  const ranges = [{ start: 10, end: 20_000 }, { start: 150_000, end: 150_001 }, { start: 200_000, end: body.length }]
  const got: Buffer[] = []
  let seen = 0
  await fetchRanges(s.url, expect, ranges, async (b) => { got.push(b) }, { backoff: async () => {}, onBytes: (n) => { seen = n } })
  assert.ok(Buffer.concat(got).equals(Buffer.concat(ranges.map((r) => body.subarray(r.start, r.end)))))
  assert.equal(seen, 19_990 + 1 + 100_000)
  assert.equal(cuts, 2)
  assert.deepEqual(asked, ['bytes=10-19999', 'bytes=3010-19999', 'bytes=150000-150000', 'bytes=200000-299999', 'bytes=203000-299999'])
})

test('fetch: a range outside the artifact is refused before any request', async () => {
  await assert.rejects(fetchRanges('http://127.0.0.1:9/x', expect, [{ start: 0, end: body.length + 1 }], async () => {}), { code: 'ERR_IMAGE_SIZE_MISMATCH' })
})

test('fetch: only plain http URLs', async () => {
  await assert.rejects(fetchRanges('https://127.0.0.1/x', expect, whole, async () => {}), { code: 'ERR_IMAGE_FETCH' })
  await assert.rejects(fetchRanges('http://u:p@127.0.0.1/x', expect, whole, async () => {}), { code: 'ERR_IMAGE_FETCH' })
})

test('framePlan: zero chunks are written from zeroes; the others fetched by their frames, neighbours merged', () => {
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
  const C = 4 * MIB
  const zero = sha(Buffer.alloc(C))
  const size = 5 * C + 1024 // the last chunk is short, and all zero
  const artifact = {
    file: 'x.raw.zst',
    compression: 'zstd' as const,
    size,
    sha256: 'a'.repeat(64),
    chunkSize: C,
    chunks: ['1'.repeat(64), '2'.repeat(64), zero, zero, '3'.repeat(64), sha(Buffer.alloc(1024))],
    frames: [100, 200, 10, 10, 300, 5],
    compressedSize: 625,
    compressedSha256: 'b'.repeat(64)
  }
  const plan = framePlan(artifact)
  assert.deepEqual(plan.zeroRuns, [{ start: 2 * C, end: 4 * C }, { start: 5 * C, end: size }])
  assert.deepEqual(plan.data.map((d) => [d.index, d.start, d.end, d.frame.start, d.frame.end]), [[0, 0, C, 0, 100], [1, C, 2 * C, 100, 300], [4, 4 * C, 5 * C, 320, 620]])
  assert.deepEqual(plan.fetch, [{ start: 0, end: 300 }, { start: 320, end: 620 }])
  assert.equal(plan.fetchBytes, 600)
  assert.equal(plan.dataBytes, 3 * C)
  // A short last chunk of zeroes is not the 4 MiB zero chunk's hash: judged by its own length.
  assert.deepEqual(framePlan({ ...artifact, chunks: [...artifact.chunks.slice(0, 5), zero] }).data.at(-1)?.index, 5)
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
