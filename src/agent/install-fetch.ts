import { createHash } from 'node:crypto'
import { request, type IncomingMessage } from 'node:http'
import { CodedError } from '../lib/errors.ts'

// The artifact download: one HTTP GET of the compressed image from the server's boot listener,
// resumed with `Range: bytes=N-` after a dropped connection. The compressed stream cannot be
// re-entered mid-frame, so the decompressor keeps running on the same input and a resume asks
// for exactly the next byte it has not been fed; `If-Range` with the first answer's ETag makes a
// server whose artifact changed meanwhile answer 200 (refused) instead of splicing two files.
// The compressed bytes are counted and hashed as they arrive: a byte past `size` is refused at
// once; the whole sha256 is returned for the caller to compare once the decompressed chunks were
// judged (a chunk mismatch names the place, so it is the better error and must come first).

/** What the manifest says of the compressed artifact. */
export type CompressedExpect = { readonly size: number, readonly sha256: string }

export type FetchOptions = {
  log?: (line: string) => void
  signal?: AbortSignal
  /** Attempts in a row that bring no new byte before giving up (default 8). */
  maxAttempts?: number
  /** Waits before attempt `n` (2, 3, …) after a failure; default 0.5 s doubling to 8 s. */
  backoff?: (attempt: number) => Promise<void>
  /** A connection silent this long is dropped and resumed (default 30 s). */
  idleTimeoutMs?: number
  /** Called with the compressed bytes received so far. */
  onBytes?: (done: number) => void
}

const DEFAULT_ATTEMPTS = 8

/**
 * Fetches `url` (http only) into `sink` in order, resuming after drops; resolves to the sha256
 * of the bytes fed (see checkCompressedHash); throws ERR_IMAGE_FETCH, ERR_IMAGE_SIZE_MISMATCH or ERR_AGENT_CANCELLED.
 */
export async function fetchResumable (url: string, expect: CompressedExpect, sink: (bytes: Buffer) => Promise<void>, options: FetchOptions = {}): Promise<string> {
  const target = parseHttpUrl(url)
  const hash = createHash('sha256')
  const maxAttempts = options.maxAttempts ?? DEFAULT_ATTEMPTS
  const backoff = options.backoff ?? defaultBackoff
  let offset = 0
  let etag: string | undefined
  let failures = 0
  while (offset < expect.size) {
    cancelled(options.signal)
    const before = offset
    try {
      const res = await get(target, offset, etag, options)
      etag ??= headerOf(res, 'etag')
      checkResponse(res, offset, expect.size)
      for await (const piece of res as AsyncIterable<Buffer>) {
        cancelled(options.signal)
        if (offset + piece.length > expect.size) {
          res.destroy()
          throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `the compressed artifact is longer than the manifest's ${expect.size} bytes`, { expected: expect.size })
        }
        hash.update(piece)
        offset += piece.length
        options.onBytes?.(offset)
        await sink(piece)
      }
      if (offset < expect.size) throw new Error(`the response ended after byte ${offset}`)
    } catch (err) {
      if (err instanceof CodedError) throw err
      cancelled(options.signal)
      failures = offset > before ? 1 : failures + 1
      const why = (err as Error).message
      if (failures >= maxAttempts) {
        throw new CodedError('ERR_IMAGE_FETCH', `${url}: ${why}; gave up after ${failures} attempts without progress, at byte ${offset} of ${expect.size}`, { offset, attempts: failures })
      }
      options.log?.(`install: download interrupted at byte ${offset} of ${expect.size} (${why}); resuming from byte ${offset} (attempt ${failures + 1} of ${maxAttempts})`)
      await backoff(failures + 1)
    }
  }
  return hash.digest('hex')
}

/** Throws ERR_IMAGE_HASH_MISMATCH unless the compressed bytes hash to the manifest's compressedSha256. */
export function checkCompressedHash (expect: CompressedExpect, actual: string): void {
  if (actual !== expect.sha256) {
    throw new CodedError('ERR_IMAGE_HASH_MISMATCH', 'the compressed artifact\'s sha256 is not the manifest\'s compressedSha256', { expected: expect.sha256, actual })
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

/** One GET from `offset`; resolves with the response head, or rejects (connection errors, HTTP status). */
async function get (t: Target, offset: number, etag: string | undefined, options: FetchOptions): Promise<IncomingMessage> {
  const headers: Record<string, string> = { accept: 'application/octet-stream' }
  if (offset > 0) {
    headers.range = `bytes=${offset}-`
    if (etag !== undefined) headers['if-range'] = etag
  }
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

/** A resume must continue exactly at `offset`; the first answer must announce the manifest's size. */
function checkResponse (res: IncomingMessage, offset: number, size: number): void {
  const status = res.statusCode ?? 0
  const length = headerOf(res, 'content-length')
  if (offset === 0 && status === 200) {
    if (length !== undefined && Number(length) !== size) {
      res.destroy()
      throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `the server's artifact has ${length} bytes, the manifest's compressedSize is ${size}`, { expected: size, actual: Number(length) })
    }
    return
  }
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headerOf(res, 'content-range') ?? '')
  if (status !== 206 || range === null || Number(range[1]) !== offset) {
    res.destroy()
    throw new CodedError('ERR_IMAGE_FETCH', `resume at byte ${offset}: the server answered ${status} ${headerOf(res, 'content-range') ?? 'without Content-Range'} (the artifact changed, or Range is not supported)`, { status, offset })
  }
  if (Number(range[3]) !== size) {
    res.destroy()
    throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `the server's artifact has ${range[3] ?? '?'} bytes, the manifest's compressedSize is ${size}`, { expected: size, actual: Number(range[3]) })
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
