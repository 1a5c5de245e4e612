import { createReadStream } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ResolvedAsset } from '../boot/assets.ts'

/** A single byte range, inclusive, as RFC 9110 §14.1.2 defines it. */
export type ByteRange = { readonly start: number, readonly end: number }

/**
 * Parses a Range header for a file of `size` bytes. Returns undefined to serve the whole file
 * (no header, a unit other than bytes, or several ranges: RFC 9110 §14.2 lets a server ignore
 * Range), 'unsatisfiable' for a range wholly past the end (416). A returned range always has
 * 0 <= start <= end < size.
 */
export function parseRange (header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (m === null) return undefined
  const [, a = '', b = ''] = m
  if (a === '' && b === '') return undefined
  if (a === '') {
    const suffix = Number(b)
    if (suffix === 0) return 'unsatisfiable'
    // RFC 9110 §14.1.2: on a zero-length representation a non-zero suffix-range is the one
    // satisfiable form, yet it selects no byte, which no Content-Range (§14.4) can state; so
    // Range is ignored (§14.2) and the empty file is sent whole, 200. The int-range forms
    // (bytes=0-) fall to start >= size below: unsatisfiable, 416 with bytes */0 (§15.5.17).
    if (size === 0) return undefined
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(a)
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
  if (start >= size) return 'unsatisfiable'
  if (end < start) return undefined
  return { start, end }
}

/** A strong validator from size and modification time (the asset is replaced, never edited). */
export function etagOf (asset: ResolvedAsset): string {
  return `"${asset.size.toString(16)}-${Math.floor(asset.mtimeMs).toString(16)}"`
}

const CHUNK = 1 << 20 // 1 MiB reads: measured here at ~nginx rate; 64 KiB reads were ~2x slower

/**
 * Sends a boot asset on the raw response with Range, ETag, If-None-Match and If-Range: from
 * `cached` (the whole file in memory) with one write, else streamed from disk in 1 MiB chunks.
 * Returns the number of body bytes it set out to send.
 */
export function sendAsset (req: IncomingMessage, res: ServerResponse, asset: ResolvedAsset, cached?: Buffer): number {
  const etag = etagOf(asset)
  const lastModified = new Date(asset.mtimeMs).toUTCString()
  res.setHeader('ETag', etag)
  res.setHeader('Last-Modified', lastModified)
  res.setHeader('Accept-Ranges', 'bytes')
  res.setHeader('Content-Type', 'application/octet-stream')
  const inm = req.headers['if-none-match']
  if (inm !== undefined && inm.split(',').some(t => t.trim() === etag || t.trim() === '*')) {
    res.statusCode = 304
    res.end()
    return 0
  }
  const ifRange = req.headers['if-range']
  const rangeAllowed = ifRange === undefined || ifRange === etag || ifRange === lastModified
  const range = rangeAllowed ? parseRange(req.headers.range, asset.size) : undefined
  if (range === 'unsatisfiable') {
    res.statusCode = 416
    res.setHeader('Content-Range', `bytes */${asset.size}`)
    res.end()
    return 0
  }
  const start = range?.start ?? 0
  const end = range?.end ?? asset.size - 1
  const length = asset.size === 0 ? 0 : end - start + 1
  res.statusCode = range === undefined ? 200 : 206
  if (range !== undefined) res.setHeader('Content-Range', `bytes ${start}-${end}/${asset.size}`)
  res.setHeader('Content-Length', length)
  if (req.method === 'HEAD' || length === 0) {
    res.end()
    return 0
  }
  if (cached !== undefined && cached.length === asset.size) {
    // A view, not a copy: the socket takes it as one write, the kernel copies once.
    res.end(cached.subarray(start, end + 1))
    return length
  }
  const stream = createReadStream(asset.path, { start, end, highWaterMark: CHUNK })
  stream.on('error', () => res.destroy())
  res.on('close', () => stream.destroy())
  stream.pipe(res)
  return length
}
