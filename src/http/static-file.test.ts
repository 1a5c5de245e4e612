import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseRange, sendAsset } from './static-file.ts'

test('parseRange: int-range, suffix-range, clamping, and what is ignored (RFC 9110 §14.1.2, §14.2)', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 })
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 })
  assert.deepEqual(parseRange('bytes=90-500', 100), { start: 90, end: 99 }, 'last-pos past the end is clamped')
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 })
  assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 99 }, 'a suffix longer than the file is the whole file')
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable')
  assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable')
  assert.equal(parseRange(undefined, 100), undefined)
  assert.equal(parseRange('bytes=9-0', 100), undefined, 'last-pos before first-pos: invalid, ignored')
  assert.equal(parseRange('bytes=0-1,5-6', 100), undefined)
  assert.equal(parseRange('items=0-1', 100), undefined)
})

test('parseRange on a zero-length file never yields a range: int-ranges are unsatisfiable, a suffix-range is ignored', () => {
  for (const h of ['bytes=0-', 'bytes=0-0', 'bytes=0-99', 'bytes=5-']) assert.equal(parseRange(h, 0), 'unsatisfiable', h)
  assert.equal(parseRange('bytes=-0', 0), 'unsatisfiable')
  // §14.1.2 calls a non-zero suffix satisfiable even here, but it selects no byte: serve the empty file (200).
  for (const h of ['bytes=-1', 'bytes=-500']) assert.equal(parseRange(h, 0), undefined, h)
})

test('sendAsset: Range on an empty asset gets 416 or a plain 200, never a 206 with an impossible Content-Range', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'anvil-static-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const path = join(dir, 'empty.bin')
  await writeFile(path, '')
  const st = await stat(path)
  const asset = { path, size: st.size, mtimeMs: st.mtimeMs }
  const server = createServer((req, res) => { sendAsset(req, res, asset) })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  t.after(() => { server.close() })
  const { port } = server.address() as AddressInfo
  const get = async (range: string | undefined): Promise<{ status: number, headers: Record<string, unknown>, body: string }> =>
    await new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', headers: range === undefined ? {} : { range } }, (res) => {
        let body = ''
        res.setEncoding('latin1')
        res.on('data', (c: string) => { body += c })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
      })
      req.on('error', reject)
      req.end()
    })
  const plain = await get(undefined)
  assert.deepEqual([plain.status, plain.headers['content-length'], plain.body], [200, '0', ''])
  for (const range of ['bytes=0-', 'bytes=0-0', 'bytes=-0']) {
    const r = await get(range)
    assert.deepEqual([r.status, r.headers['content-range'], r.body], [416, 'bytes */0', ''], range)
  }
  const suffix = await get('bytes=-5')
  assert.deepEqual([suffix.status, suffix.headers['content-range'], suffix.headers['content-length'], suffix.body], [200, undefined, '0', ''])
})
