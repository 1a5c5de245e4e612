import { request, type IncomingMessage } from 'node:http'
import { CodedError } from '../lib/errors.ts'
import type { Range } from './wipe-plan.ts'

// The artifact download: the byte ranges of the frames the install needs (install-plan.ts
// framePlan), each one HTTP GET with `Range` from the server's boot listener, resumed with the
// next byte not yet fed after a dropped connection. The decompressor keeps running on the same
// input: it sees the ranges' bytes in order, exactly once. `If-Range` with the first answer's
// ETag makes a server whose artifact changed meanwhile answer 200 (refused) instead of splicing
// two files. A byte past a range's end is refused at once. Nothing here proves the bytes: every
// chunk they decompress to is checked against the signed manifest before it is written.

/** What the manifest says of the compressed artifact: its size (every Content-Range must agree). */
export type CompressedExpect = { readonly size: number }

export type FetchOptions = {
  log?: (line: string) => void
  signal?: AbortSignal
  /** Attempts in a row that bring no new byte before giving up (default 8). */
  maxAttempts?: number
  /** Waits before attempt `n` (2, 3, …) after a failure; default 0.5 s doubling to 8 s. */
  backoff?: (attempt: number) => Promise<void>
  /** A connection silent this long is dropped and resumed (default 30 s). */
  idleTimeoutMs?: number
  /** Called with the bytes received so far (all ranges). */
  onBytes?: (done: number) => void
}

const DEFAULT_ATTEMPTS = 8

/**
 * Fetches the byte `ranges` of `url` (http only; sorted, disjoint) into `sink` in order, resuming
 * after drops; throws ERR_IMAGE_FETCH, ERR_IMAGE_SIZE_MISMATCH or ERR_AGENT_CANCELLED.
 */
export async function fetchRanges (url: string, expect: CompressedExpect, ranges: readonly Range[], sink: (bytes: Buffer) => Promise<void>, options: FetchOptions = {}): Promise<void> {
  const target = parseHttpUrl(url)
  const maxAttempts = options.maxAttempts ?? DEFAULT_ATTEMPTS
  const backoff = options.backoff ?? defaultBackoff
  const total = ranges.reduce((n, r) => n + r.end - r.start, 0)
  let etag: string | undefined
  let failures = 0
  let fed = 0
  for (const range of ranges) {
    if (range.start < 0 || range.end > expect.size || range.start >= range.end) throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `frame range ${range.start}-${range.end} lies outside the ${expect.size}-byte artifact`, { expected: expect.size })
    let offset = range.start
    while (offset < range.end) {
      cancelled(options.signal)
      const before = offset
      try {
        const res = await get(target, { start: offset, end: range.end }, etag, options)
        etag ??= headerOf(res, 'etag')
        checkResponse(res, { start: offset, end: range.end }, expect.size)
        for await (const piece of res as AsyncIterable<Buffer>) {
          cancelled(options.signal)
          if (offset + piece.length > range.end) {
            res.destroy()
            throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `the server sent more than bytes ${range.start}-${range.end - 1} of the artifact`, { expected: range.end - range.start })
          }
          offset += piece.length
          fed += piece.length
          options.onBytes?.(fed)
          await sink(piece)
        }
        if (offset < range.end) throw new Error(`the response ended after byte ${offset}`)
      } catch (err) {
        if (err instanceof CodedError) throw err
        cancelled(options.signal)
        failures = offset > before ? 1 : failures + 1
        const why = (err as Error).message
        if (failures >= maxAttempts) {
          throw new CodedError('ERR_IMAGE_FETCH', `${url}: ${why}; gave up after ${failures} attempts without progress, at byte ${offset} of ${expect.size} (${fed} of the ${total} bytes fetched)`, { offset, attempts: failures })
        }
        options.log?.(`install: download interrupted at byte ${offset} of ${expect.size} (${why}); resuming from byte ${offset} (attempt ${failures + 1} of ${maxAttempts})`)
        await backoff(failures + 1)
      }
    }
  }
}

type Target = { readonly host: string, readonly port: number, readonly path: string, readonly url: string }

function parseHttpUrl (url: string): Target {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new CodedError('ERR_IMAGE_FETCH', 'the image URL is not a URL')
  }
  if (u.protocol !== 'http:' || u.username !== '' || u.password !== '') throw new CodedError('ERR_IMAGE_FETCH', `the image URL must be plain http:// without credentials (the signature protects the bytes), not ${u.protocol}`)
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80), path: `${u.pathname}${u.search}`, url }
}

/** One GET of bytes [range.start, range.end); resolves with the response head, or rejects (connection errors, HTTP status). */
async function get (t: Target, range: Range, etag: string | undefined, options: FetchOptions): Promise<IncomingMessage> {
  const headers: Record<string, string> = { accept: 'application/octet-stream', range: `bytes=${range.start}-${range.end - 1}` }
  if (etag !== undefined) headers['if-range'] = etag
  return await new Promise((resolve, reject) => {
    const req = request({ host: t.host, port: t.port, path: t.path, method: 'GET', headers, agent: false, signal: options.signal, timeout: options.idleTimeoutMs ?? 30_000 })
    req.on('timeout', () => { req.destroy(new Error('no data for too long')) })
    req.on('error', reject)
    req.on('response', (res) => {
      const status = res.statusCode ?? 0
      if (status >= 500 || status === 408 || status === 429) {
        res.resume()
        reject(new Error(`HTTP ${status}`))
      } else if (status !== 200 && status !== 206) {
        res.resume()
        reject(new CodedError('ERR_IMAGE_FETCH', `${t.url}: HTTP ${status}`, { status }))
      } else {
        resolve(res)
      }
    })
    req.end()
  })
}

/**
 * The answer must be exactly the bytes asked for, of an artifact of the manifest's size: a 206
 * whose Content-Range starts where we are. A 200 (the whole file) is taken only when the whole
 * file was asked for; otherwise it means Range is unsupported or, after If-Range, that the
 * artifact changed.
 */
function checkResponse (res: IncomingMessage, range: Range, size: number): void {
  const status = res.statusCode ?? 0
  if (status === 200 && range.start === 0 && range.end === size) {
    const length = headerOf(res, 'content-length')
    if (length !== undefined && Number(length) !== size) {
      res.destroy()
      throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `the server's artifact has ${length} bytes, the manifest's compressedSize is ${size}`, { expected: size, actual: Number(length) })
    }
    return
  }
  const got = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headerOf(res, 'content-range') ?? '')
  if (status !== 206 || got === null || Number(got[1]) !== range.start) {
    res.destroy()
    throw new CodedError('ERR_IMAGE_FETCH', `bytes ${range.start}-${range.end - 1}: the server answered ${status} ${headerOf(res, 'content-range') ?? 'without Content-Range'} (the artifact changed, or Range is not supported)`, { status, offset: range.start })
  }
  if (Number(got[3]) !== size) {
    res.destroy()
    throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `the server's artifact has ${got[3] ?? '?'} bytes, the manifest's compressedSize is ${size}`, { expected: size, actual: Number(got[3]) })
  }
}

function headerOf (res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function cancelled (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new CodedError('ERR_AGENT_CANCELLED', 'the install was cancelled')
}

async function defaultBackoff (attempt: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.min(8000, 250 * 2 ** (attempt - 1))))
}
